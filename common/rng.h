/* SPDX-License-Identifier: MIT */
/*
 * A small, fast, seedable PRNG (xoshiro256** seeded through splitmix64).
 * Each virtual user owns one, so payloads are reproducible from the run's
 * seed and no lock is shared. Not for cryptography: see common/sha256.h and
 * rng_secure_bytes() for that.
 */
#ifndef COMMON_RNG_H
#define COMMON_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4]; /* private */
};

/* Seeds r deterministically from seed. Cannot fail. */
void rng_seed(struct rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* Uniform double in [0, 1). */
double rng_double(struct rng *r);

/* Uniform integer in [lo, hi] (inclusive); returns lo when hi <= lo. */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);

/* Fills p with n bytes from the kernel's CSPRNG (getrandom). Returns 0 or
 * E_IO. For nonces and tokens. */
int rng_secure_bytes(void *p, size_t n);

#endif
