/* SPDX-License-Identifier: MIT */
/* The live progress line or the plain progress lines; see console.h. */
#include "console.h"

#include <unistd.h>

#include "../common/log.h"
#include "../common/poison.h"

/* Carriage return, then ANSI "erase to the end of the line". */
#define CLEAR_LINE "\r\033[K"

void
console_init(struct console *c, FILE *fp, int fd, bool force_plain)
{
    c->fp = fp;
    c->tty = !force_plain && isatty(fd) == 1;
    c->drawn = false;
    log_set_clear_line(c->tty);
}

void
console_fini(struct console *c)
{
    console_clear(c);
    if (c->tty) {
        log_set_clear_line(false);
    }
}

const char *
console_format(const struct console_tick *t, char *out, size_t outlen)
{
    (void)snprintf(out, outlen,
                   "progress: %u/%us users=%llu rps=%llu p99=%.1fms "
                   "errors=%llu agents=%zu/%zu",
                   (unsigned)t->elapsed_s, (unsigned)t->duration_s,
                   (unsigned long long)t->users, (unsigned long long)t->rps,
                   t->p99_ms, (unsigned long long)t->errors, t->alive,
                   t->total);
    return out;
}

void
console_progress(struct console *c, const struct console_tick *t)
{
    char line[256];

    (void)console_format(t, line, sizeof(line));
    if (c->tty) {
        (void)fprintf(c->fp, CLEAR_LINE "%s", line);
        c->drawn = true;
    } else {
        (void)fprintf(c->fp, "%s\n", line);
    }
    (void)fflush(c->fp);
}

void
console_clear(struct console *c)
{
    if (c->tty && c->drawn) {
        (void)fputs(CLEAR_LINE, c->fp);
        (void)fflush(c->fp);
        c->drawn = false;
    }
}
