/* SPDX-License-Identifier: MIT */
/* stderr logging with stable message ids; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poison.h"

static atomic_int min_level = LOG_INFO;
static char prefix[64];
static atomic_bool clear_line;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_set_level(enum log_level lvl)
{
    atomic_store(&min_level, (int)lvl);
}

void
log_set_clear_line(bool on)
{
    atomic_store(&clear_line, on);
}

void
log_set_prefix(const char *who)
{
    (void)snprintf(prefix, sizeof(prefix), "%s", who);
}

void
log_msg(enum log_level lvl, const char *id, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    if ((int)lvl < atomic_load(&min_level)) {
        return;
    }
    /* An out-of-range level is a caller bug; print it as an error rather
     * than index past level_names. */
    if ((int)lvl < LOG_DEBUG || (int)lvl > LOG_ERROR) {
        lvl = LOG_ERROR;
    }
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        ts.tv_sec = 0;
        ts.tv_nsec = 0;
    }
    n = 0;
    if (atomic_load(&clear_line)) {
        /* "\r" + ESC [ K: erase the live progress line first. */
        memcpy(line, "\r\033[K", 4);
        n = 4;
    }
    if (gmtime_r(&ts.tv_sec, &tm) != NULL) {
        n += strftime(line + n, sizeof(line) - n, "%Y-%m-%dT%H:%M:%S", &tm);
    }
    k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s%s%s %s ",
                 ts.tv_nsec / 1000000L, prefix, prefix[0] ? " " : "",
                 level_names[lvl], id != NULL ? id : "-");
    if (k > 0) {
        n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
    }
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0) {
        n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
    }
    if (n >= sizeof(line) - 1) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}
