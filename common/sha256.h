/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for the control
 * channel's challenge-response: the pre-shared token authenticates both
 * sides without crossing the wire. Pure, no allocation, no globals.
 */
#ifndef COMMON_SHA256_H
#define COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
    uint32_t h[8];     /* private */
    uint64_t nbytes;   /* private */
    uint8_t block[64]; /* private */
    size_t used;       /* private */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *p, size_t n);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN]);

/* One-shot SHA-256 of p[0..n). */
void sha256(const void *p, size_t n, uint8_t out[SHA256_LEN]);

/* HMAC-SHA-256 of msg under key (any key length). */
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                 uint8_t out[SHA256_LEN]);

/* Compares n bytes in time independent of where they differ. Returns 1
 * when equal, else 0. */
int sha256_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
