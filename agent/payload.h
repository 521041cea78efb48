/* SPDX-License-Identifier: MIT */
/*
 * Observe payloads: the JSON bodies a virtual user sends to
 * POST /sessions/{sid}/observe, after the original suite's DataGenerator
 * (reference/kato-original.md section 3) but in KATO v3's shape. Pure: no
 * I/O, no clocks, no globals; a generator is read-only once built, so every
 * worker thread may share one.
 */
#ifndef AGENT_PAYLOAD_H
#define AGENT_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/rng.h"

/* Bounds a configuration must stay within (E_RANGE otherwise). */
#define PAYLOAD_VOCAB_MAX   (1u << 20) /* string_vocabulary_size */
#define PAYLOAD_STRINGS_MAX 10000u     /* max_strings_per_observation */
#define PAYLOAD_STRLEN_MAX  65536u     /* max_string_length, bytes */
#define PAYLOAD_DIM_MAX     65536u     /* vector_dim */
#define PAYLOAD_VALUE_MAX   1e12       /* |value| of a vector or emotive */
#define PAYLOAD_BODY_MAX    (16u * 1024u * 1024u) /* largest body, bytes */

/* Number of emotive names the original samples from (joy ... stress). */
#define PAYLOAD_EMOTIVES 13u

struct payload_gen;

/*
 * Builds a generator for cfg and the node's vector dimension vector_dim
 * (0: never send a vector). The vocabulary (the original's 33 common words,
 * then random lowercase words of 3-12 letters up to
 * string_vocabulary_size) is built here, deterministically from seed, once
 * per run. cfg is copied.
 *
 * Returns 0 and sets *out (free with payload_gen_free); E_INVAL when a
 * range has lo > hi or a probability is outside [0, 1]; E_RANGE when a
 * count, length, dimension or value exceeds the PAYLOAD_* bounds or is not
 * finite; E_TOOBIG when payload_max_size() would exceed PAYLOAD_BODY_MAX;
 * E_NOMEM. On failure *out is untouched.
 */
int payload_gen_new(struct payload_gen **out, const struct payload_cfg *cfg,
                    uint32_t vector_dim, uint64_t seed);

/* Frees g; NULL is a no-op. */
void payload_gen_free(struct payload_gen *g);

/*
 * Upper bound, in bytes including the terminating NUL, of any body that a
 * generator for (cfg, vector_dim) can write. Only meaningful for a config
 * that payload_gen_new accepts. Pure.
 */
size_t payload_max_size(const struct payload_cfg *cfg, uint32_t vector_dim);

/* The bound above for g's own configuration. */
size_t payload_gen_max_size(const struct payload_gen *g);

/*
 * Writes one observe body into out[0..cap) and NUL-terminates it:
 *   {"strings":["w",...],"vectors":[[d floats]],"emotives":{"joy":0.5}}
 * Strings: n in [min, max] of them, at least one; each with probability
 * 0.7 a vocabulary word, else a random [A-Za-z0-9] string of a length in
 * [min_string_length, max_string_length] (at least 1). Vectors: with
 * vector_probability, a list of ONE vector of exactly vector_dim values in
 * [vector_value_min, vector_value_max], else []. Emotives: with
 * emotive_probability, m in [min_emotives, max_emotives] (at most 13)
 * distinct names, each a value in the emotive range, else {}. Numbers are
 * written with 6 decimals.
 *
 * All randomness comes from r (the user's own), so a body is reproducible
 * from the seeds. Returns 0 and sets *len (bytes, without the NUL), or
 * E_TOOBIG when cap < payload_gen_max_size(g) (nothing is written then).
 * Thread-safe for distinct r.
 */
int payload_write(const struct payload_gen *g, struct rng *r, char *out,
                  size_t cap, size_t *len);

#endif
