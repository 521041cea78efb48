/* SPDX-License-Identifier: MIT */
/*
 * Diagnostic logging to stderr. Lines look like
 *   2026-11-28T15:20:34.123Z warn AGENT-LOST agent=local-2 missing_ms=3100
 * with a stable upper-case message id after the level, so people and scripts
 * can grep them. Thread-safe (one write(2) per line). The level threshold is
 * process-wide: the one piece of global state outside main.c, set once at
 * start-up.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO = 1,
    LOG_WARN = 2,
    LOG_ERROR = 3,
};

/* Sets the minimum level that is printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/* Prefixes every line with "who" (e.g. "master", "agent local-1"). Borrows
 * nothing: the string is copied (at most 63 bytes). */
void log_set_prefix(const char *who);

/* Clear-line mode, for a live progress line on a terminal: every line
 * then starts with "\r" and an ANSI erase-line, so it overwrites the
 * progress line instead of continuing it (the progress is redrawn on its
 * next tick). Off by default. */
void log_set_clear_line(bool on);

/* Prints one line: timestamp, prefix, level, id, then the formatted text. */
void log_msg(enum log_level lvl, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(id, ...) log_msg(LOG_DEBUG, (id), __VA_ARGS__)
#define log_info(id, ...)  log_msg(LOG_INFO, (id), __VA_ARGS__)
#define log_warn(id, ...)  log_msg(LOG_WARN, (id), __VA_ARGS__)
#define log_error(id, ...) log_msg(LOG_ERROR, (id), __VA_ARGS__)

#endif
