/* SPDX-License-Identifier: MIT */
/* xoshiro256** (Blackman and Vigna), seeded with splitmix64; see rng.h. */
#include "rng.h"

#include <errno.h>
#include <sys/random.h>

#include "err.h"
#include "poison.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&x);
    }
}

uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double
rng_double(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/*
 * A plain rng_next() % span favours the low values whenever span does not
 * divide 2^64 (for span = 3 * 2^62, values below 2^62 come twice as often).
 * Draws below 2^64 mod span are rejected instead; each draw is rejected with
 * probability < 1/2, so 64 tries fail with probability < 2^-64, after which
 * the (then negligibly) biased draw is kept to bound the loop.
 */
uint64_t
rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span, threshold, x;

    if (hi <= lo) {
        return lo;
    }
    span = hi - lo + 1;
    if (span == 0) { /* full 64-bit range */
        return rng_next(r);
    }
    threshold = (0 - span) % span; /* 2^64 mod span */
    x = rng_next(r);
    for (int i = 0; i < 64 && x < threshold; i++) {
        x = rng_next(r);
    }
    return lo + x % span;
}

int
rng_secure_bytes(void *p, size_t n)
{
    unsigned char *q = p;
    while (n > 0) {
        ssize_t k = getrandom(q, n, 0);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return E_IO;
        }
        q += k;
        n -= (size_t)k;
    }
    return 0;
}
