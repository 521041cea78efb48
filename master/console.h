/* SPDX-License-Identifier: MIT */
/*
 * The live progress of a run on the console. On a terminal one line is
 * redrawn in place every second ("\r", then erase to the end of the line)
 * and cleared before the summary; log lines erase it first (log.c's
 * clear-line mode) so they never print into it, and the next tick redraws
 * it. When the stream is not a terminal (a CI log, a pipe) every tick is a
 * plain "progress: ..." line. Not thread-safe: the run flow's thread only.
 */
#ifndef MASTER_CONSOLE_H
#define MASTER_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The console: caller storage; fields private (console_* only). */
struct console {
    FILE *fp;   /* borrowed, stderr in the master */
    bool tty;   /* redraw in place */
    bool drawn; /* a live line is on the screen */
};

/* One tick's figures. */
struct console_tick {
    uint32_t elapsed_s;  /* whole seconds of load so far */
    uint32_t duration_s; /* the test's planned duration */
    uint64_t users;      /* active users over the agents alive */
    uint64_t rps;        /* requests completed in the last interval */
    double p99_ms;       /* p99 latency of the last interval, ms */
    uint64_t errors;     /* errors so far */
    size_t alive;        /* agents alive */
    size_t total;        /* agents taking part */
};

/*
 * Initialises c to print on fp (borrowed; fd is its descriptor): live
 * mode when fd is a terminal and force_plain is false. Live mode also
 * turns on log.c's clear-line mode. Cannot fail.
 */
void console_init(struct console *c, FILE *fp, int fd, bool force_plain);

/* Leaves log.c's clear-line mode and clears the live line. */
void console_fini(struct console *c);

/*
 * Formats t as "progress: 3/20s users=8 rps=412 p99=12.3ms errors=0
 * agents=2/2" into out (outlen bytes, truncated to fit). Returns out.
 * Pure.
 */
const char *console_format(const struct console_tick *t, char *out,
                           size_t outlen);

/* Prints one tick: redraws the live line, or one plain line. */
void console_progress(struct console *c, const struct console_tick *t);

/* Erases the live line, if one is drawn (before the summary or any other
 * output of the run flow). A no-op when not live. */
void console_clear(struct console *c);

#endif
