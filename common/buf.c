/* SPDX-License-Identifier: MIT */
/* Capped growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "err.h"
#include "poison.h"

void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
buf_fini(struct buf *b)
{
    xfree(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
}

/*
 * Makes room for n more bytes plus a NUL (buf_printf writes one). Every sum
 * is checked: with max near SIZE_MAX, len + n + 1 and the doubling could
 * otherwise wrap and "succeed" with a buffer too small.
 */
void
buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
    }
}

static int
reserve(struct buf *b, size_t n)
{
    size_t want, cap, limit;
    uint8_t *p;

    if (n > b->max || b->len > b->max - n || b->len + n == SIZE_MAX) {
        return E_TOOBIG;
    }
    want = b->len + n + 1;
    if (want <= b->cap) {
        return 0;
    }
    limit = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX; /* >= want */
    cap = b->cap ? b->cap : 256;
    while (cap < want) {
        cap = cap > limit / 2 ? limit : cap * 2;
    }
    if (cap > limit) {
        cap = limit;
    }
    p = xrealloc(b->data, cap);
    if (p == NULL) {
        return E_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    int rv = reserve(b, n);
    if (rv != 0) {
        return rv;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rv;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return E_INVAL;
    }
    rv = reserve(b, (size_t)n);
    if (rv != 0) {
        return rv;
    }
    va_start(ap, fmt);
    (void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* --- sticky-error writer --- */

void
buf_writer_init(struct buf_writer *w, struct buf *b)
{
    w->b = b;
    w->rv = 0;
}

int
buf_writer_error(const struct buf_writer *w)
{
    return w->rv;
}

void
buf_writer_fail(struct buf_writer *w, int rv)
{
    if (w->rv == 0) {
        w->rv = rv;
    }
}

void
buf_putn(struct buf_writer *w, const void *p, size_t n)
{
    if (w->rv == 0) {
        w->rv = buf_append(w->b, p, n);
    }
}

void
buf_put(struct buf_writer *w, const char *s)
{
    if (w->rv == 0) {
        w->rv = buf_append(w->b, s, strlen(s));
    }
}

void
buf_putf(struct buf_writer *w, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    if (w->rv != 0) {
        return;
    }
    /* buf_printf's two passes, inlined: a va_list cannot be forwarded to
     * a variadic function. */
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->rv = E_INVAL;
        return;
    }
    w->rv = reserve(w->b, (size_t)n);
    if (w->rv != 0) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf((char *)w->b->data + w->b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->b->len += (size_t)n;
}
