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

#endif
