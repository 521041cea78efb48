/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 6.2) and
 * HMAC as specified in RFC 2104, written from the specifications. Portable
 * C, no allocation; not tuned for speed (the control channel hashes a few
 * hundred bytes per handshake).
 */
#include "sha256.h"

#include <string.h>

#include "poison.h"

#define BLOCK_LEN 64

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t
rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t
load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void
store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: one 512-bit block into the hash state. */
static void
compress(uint32_t h[8], const uint8_t block[BLOCK_LEN])
{
    uint32_t w[64];
    uint32_t a, b, c, d, e, f, g, hh;

    for (int t = 0; t < 16; t++) {
        w[t] = load_be32(block + (size_t)4 * (size_t)t);
    }
    for (int t = 16; t < 64; t++) {
        uint32_t s0 =
            rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 =
            rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = s1 + w[t - 7] + s0 + w[t - 16];
    }

    a = h[0];
    b = h[1];
    c = h[2];
    d = h[3];
    e = h[4];
    f = h[5];
    g = h[6];
    hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + big_s1 + ch + k256[t] + w[t];
        uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_s0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void
sha256_init(struct sha256 *c)
{
    /* FIPS 180-4 5.3.3: square roots of the first 8 primes. */
    static const uint32_t h0[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(c->h, h0, sizeof(c->h));
    c->nbytes = 0;
    c->used = 0;
    memset(c->block, 0, sizeof(c->block));
}

void
sha256_update(struct sha256 *c, const void *p, size_t n)
{
    const uint8_t *in = p;

    if (n == 0) {
        return; /* p may be NULL */
    }
    c->nbytes += n;
    if (c->used > 0) {
        size_t take = BLOCK_LEN - c->used;
        if (take > n) {
            take = n;
        }
        memcpy(c->block + c->used, in, take);
        c->used += take;
        in += take;
        n -= take;
        if (c->used < BLOCK_LEN) {
            return;
        }
        compress(c->h, c->block);
        c->used = 0;
    }
    while (n >= BLOCK_LEN) {
        compress(c->h, in);
        in += BLOCK_LEN;
        n -= BLOCK_LEN;
    }
    if (n > 0) {
        memcpy(c->block, in, n);
        c->used = n;
    }
}

void
sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN])
{
    /* FIPS 180-4 5.1.1: a 1 bit, zeros up to 448 mod 512, then the message
     * length in bits as a 64-bit big-endian integer. */
    uint64_t bits = c->nbytes * 8;

    c->block[c->used++] = 0x80;
    if (c->used > BLOCK_LEN - 8) {
        memset(c->block + c->used, 0, BLOCK_LEN - c->used);
        compress(c->h, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, BLOCK_LEN - 8 - c->used);
    store_be32(c->block + 56, (uint32_t)(bits >> 32));
    store_be32(c->block + 60, (uint32_t)bits);
    compress(c->h, c->block);
    for (int i = 0; i < 8; i++) {
        store_be32(out + (size_t)4 * (size_t)i, c->h[i]);
    }
    /* The context may have held key material (HMAC): leave nothing. */
    explicit_bzero(c, sizeof(*c));
}

void
sha256(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
    struct sha256 c;

    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final(&c, out);
}

void
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
            uint8_t out[SHA256_LEN])
{
    /* RFC 2104: H(K ^ opad || H(K ^ ipad || text)), where a key longer
     * than the block is replaced by its hash and K is zero-padded. */
    uint8_t k[BLOCK_LEN];
    uint8_t pad[BLOCK_LEN];
    uint8_t inner[SHA256_LEN];
    struct sha256 c;

    memset(k, 0, sizeof(k));
    if (keylen > BLOCK_LEN) {
        sha256(key, keylen, k);
    } else if (keylen > 0) {
        memcpy(k, key, keylen);
    }

    for (int i = 0; i < BLOCK_LEN; i++) {
        pad[i] = (uint8_t)(k[i] ^ 0x36);
    }
    sha256_init(&c);
    sha256_update(&c, pad, sizeof(pad));
    sha256_update(&c, msg, msglen);
    sha256_final(&c, inner);

    for (int i = 0; i < BLOCK_LEN; i++) {
        pad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    sha256_init(&c);
    sha256_update(&c, pad, sizeof(pad));
    sha256_update(&c, inner, sizeof(inner));
    sha256_final(&c, out);

    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
    explicit_bzero(inner, sizeof(inner));
}

int
sha256_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    /* Accumulate every difference so the time does not depend on where
     * the first one is; volatile keeps the compiler from stopping early. */
    volatile uint8_t diff = 0;

    for (size_t i = 0; i < n; i++) {
        diff = (uint8_t)(diff | (a[i] ^ b[i]));
    }
    return diff == 0;
}
