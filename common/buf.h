/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer with a hard cap, on caller storage (curl's dynbuf
 * idea). The fields are private: touch them only through this API, except
 * reading data/len after a successful append.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* NULL until the first append */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes allocated */
    size_t max;    /* appends that would exceed this fail with E_TOOBIG */
};

/* Prepares b, empty, with a cap of max bytes. Cannot fail. */
void buf_init(struct buf *b, size_t max);

/* Frees the storage; b is left empty and reusable with the same max. */
void buf_fini(struct buf *b);

/* Empties b without freeing its storage. */
void buf_reset(struct buf *b);

/* Shrinks b to its first len bytes (no-op when len >= b->len); keeps the
 * storage. For undoing a partial append. */
void buf_truncate(struct buf *b, size_t len);

/* Appends n bytes. Returns 0, E_TOOBIG (len + n > max) or E_NOMEM; on
 * failure b is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Appends printf-style text (no NUL is kept in len). Same returns, plus
 * E_INVAL when the format fails. The arguments must not point into b's own
 * data: growing b moves it. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- sticky-error writer --- */

/*
 * A writer for documents built by many small appends (the results JSON,
 * the JUnit XML, the HTML report): once an append has failed, every later
 * one is skipped and the first error is kept, so the writer checks once,
 * at the end, instead of after every line. On caller storage; b is
 * borrowed and may be read (it is the caller's buffer); rv is private:
 * read it with buf_writer_error.
 */
struct buf_writer {
    struct buf *b; /* borrowed: where the appends go */
    int rv;        /* 0, or the first error */
};

/* Prepares w to append to b, with no error. Cannot fail. */
void buf_writer_init(struct buf_writer *w, struct buf *b);

/* The first error of w's appends (E_TOOBIG, E_NOMEM, E_INVAL or what
 * buf_writer_fail recorded), or 0. */
int buf_writer_error(const struct buf_writer *w);

/* Records rv as w's error when it is the first (rv != 0 and none yet);
 * for errors of helpers that append to w->b themselves. */
void buf_writer_fail(struct buf_writer *w, int rv);

/* Appends the NUL-terminated s (buf_append), unless w has failed. */
void buf_put(struct buf_writer *w, const char *s);

/* Appends n bytes of p (buf_append), unless w has failed. */
void buf_putn(struct buf_writer *w, const void *p, size_t n);

/* Appends printf-style text (buf_printf: any length up to the cap),
 * unless w has failed. The arguments must not point into w->b's data. */
void buf_putf(struct buf_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
