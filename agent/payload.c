/* SPDX-License-Identifier: MIT */
/*
 * Observe-body generator; see payload.h. Writes JSON by hand into a caller
 * buffer that payload_max_size() bounds, so the hot path never allocates
 * and never needs escaping (every string is [A-Za-z0-9]).
 */
#include "payload.h"

#include <math.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/err.h"
#include "../common/poison.h"

/* The original's common words, in its order ("pattern" twice, as there). */
static const char *const common_words[] = {
    "the",       "and",     "a",       "to",       "of",      "in",
    "is",        "that",    "it",      "was",      "for",     "on",
    "with",      "as",      "at",      "by",       "from",    "be",
    "have",      "had",     "data",    "test",     "kato",    "observe",
    "learn",     "predict", "pattern", "sequence", "pattern", "memory",
    "processor", "system",  "analyze",
};
#define N_COMMON (sizeof(common_words) / sizeof(common_words[0]))

static const char *const emotive_names[PAYLOAD_EMOTIVES] = {
    "joy",        "sadness", "anger",        "fear",     "surprise",
    "disgust",    "trust",   "anticipation", "interest", "confusion",
    "excitement", "calm",    "stress",
};

#define VOCAB_WORD_MAX   12                  /* random words: 3..12 letters */
#define EMOTIVE_NAME_MAX 12                  /* "anticipation" */
#define VOCAB_SEED_SALT  0x766f636162756cULL /* "vocabul" */

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

struct payload_gen {
    struct payload_cfg cfg;
    uint32_t vector_dim;
    size_t max_size;
    uint32_t n_vocab;
    uint32_t *voff; /* word i is words[voff[i] .. voff[i] + vlen[i]) */
    uint8_t *vlen;
    char *words;
};

/* Characters that format_fixed6 writes for |v| <= maxabs, sign included. */
static size_t
fixed6_width(double maxabs)
{
    uint64_t ip = (uint64_t)(maxabs + 1.0);
    size_t digits = 1;
    while (ip >= 10) {
        ip /= 10;
        digits++;
    }
    return 1 + digits + 1 + 6;
}

/* Writes v with exactly 6 decimals ("-12.500000"); |v| < 1e13. Returns the
 * number of characters written (no NUL). */
static size_t
format_fixed6(double v, char *p)
{
    char tmp[32];
    size_t n = 0, k = 0;
    uint64_t scaled, ip, fp;
    int neg = v < 0;

    scaled = (uint64_t)((neg ? -v : v) * 1e6 + 0.5);
    ip = scaled / 1000000u;
    fp = scaled % 1000000u;
    if (neg && scaled != 0) {
        p[n++] = '-';
    }
    do {
        tmp[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip > 0);
    while (k > 0) {
        p[n++] = tmp[--k];
    }
    p[n++] = '.';
    for (int i = 5; i >= 0; i--) {
        p[n + (size_t)i] = (char)('0' + fp % 10);
        fp /= 10;
    }
    return n + 6;
}

static int
check_range(double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        return E_RANGE;
    }
    if (lo > hi) {
        return E_INVAL;
    }
    if (fabs(lo) > PAYLOAD_VALUE_MAX || fabs(hi) > PAYLOAD_VALUE_MAX) {
        return E_RANGE;
    }
    return 0;
}

static int
check_prob(double p)
{
    return (p >= 0.0 && p <= 1.0) ? 0 : E_INVAL;
}

static int
validate(const struct payload_cfg *c, uint32_t vector_dim)
{
    int rv = 0;

    if (c->min_strings_per_observation > c->max_strings_per_observation ||
        c->min_string_length > c->max_string_length ||
        c->min_emotives > c->max_emotives) {
        return E_INVAL;
    }
    if ((rv = check_prob(c->vector_probability)) != 0 ||
        (rv = check_prob(c->emotive_probability)) != 0) {
        return rv;
    }
    if ((rv = check_range(c->vector_value_min, c->vector_value_max)) != 0 ||
        (rv = check_range(c->emotive_value_min, c->emotive_value_max)) != 0) {
        return rv;
    }
    if (c->string_vocabulary_size > PAYLOAD_VOCAB_MAX ||
        c->max_strings_per_observation > PAYLOAD_STRINGS_MAX ||
        c->max_string_length > PAYLOAD_STRLEN_MAX ||
        vector_dim > PAYLOAD_DIM_MAX) {
        return E_RANGE;
    }
    return 0;
}

size_t
payload_max_size(const struct payload_cfg *c, uint32_t vector_dim)
{
    size_t n_str = c->max_strings_per_observation;
    size_t str_len = c->max_string_length;
    size_t n_emo = c->max_emotives;
    size_t vw = fixed6_width(
        fmax(fabs(c->vector_value_min), fabs(c->vector_value_max)));
    size_t ew = fixed6_width(
        fmax(fabs(c->emotive_value_min), fabs(c->emotive_value_max)));
    size_t total;

    if (n_str < 1) {
        n_str = 1;
    }
    if (str_len < VOCAB_WORD_MAX) {
        str_len = VOCAB_WORD_MAX; /* vocabulary words are up to 12 long */
    }
    if (n_emo > PAYLOAD_EMOTIVES) {
        n_emo = PAYLOAD_EMOTIVES;
    }
    /* {"strings":[ ],"vectors":[ [ ] ],"emotives":{ }} and the NUL */
    total = 64;
    total += n_str * (str_len + 3);               /* "s", */
    total += (size_t)vector_dim * (vw + 1);       /* v, */
    total += n_emo * (EMOTIVE_NAME_MAX + 4 + ew); /* "name":v, */
    return total;
}

static int
build_vocab(struct payload_gen *g, uint64_t seed)
{
    uint32_t n = g->cfg.string_vocabulary_size;
    size_t bytes = (size_t)n * VOCAB_WORD_MAX;
    struct rng r;
    size_t used = 0;

    g->n_vocab = n;
    if (n == 0) {
        return 0;
    }
    g->voff = xcalloc(n, sizeof(*g->voff));
    g->vlen = xcalloc(n, sizeof(*g->vlen));
    g->words = xmalloc(bytes);
    if (g->voff == NULL || g->vlen == NULL || g->words == NULL) {
        return E_NOMEM;
    }
    rng_seed(&r, seed ^ VOCAB_SEED_SALT);
    for (uint32_t i = 0; i < n; i++) {
        size_t len;
        g->voff[i] = (uint32_t)used;
        if (i < N_COMMON) {
            len = strlen(common_words[i]);
            memcpy(g->words + used, common_words[i], len);
        } else {
            len = (size_t)rng_range(&r, 3, VOCAB_WORD_MAX);
            for (size_t k = 0; k < len; k++) {
                g->words[used + k] = (char)('a' + rng_range(&r, 0, 25));
            }
        }
        g->vlen[i] = (uint8_t)len;
        used += len;
    }
    return 0;
}

void
payload_gen_free(struct payload_gen *g)
{
    if (g == NULL) {
        return;
    }
    xfree(g->voff);
    xfree(g->vlen);
    xfree(g->words);
    xfree(g);
}

int
payload_gen_new(struct payload_gen **out, const struct payload_cfg *cfg,
                uint32_t vector_dim, uint64_t seed)
{
    struct payload_gen *g = NULL;
    int rv = validate(cfg, vector_dim);

    if (rv != 0) {
        goto out;
    }
    if (payload_max_size(cfg, vector_dim) > PAYLOAD_BODY_MAX) {
        rv = E_TOOBIG;
        goto out;
    }
    g = xcalloc(1, sizeof(*g));
    if (g == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    g->cfg = *cfg;
    g->vector_dim = vector_dim;
    g->max_size = payload_max_size(cfg, vector_dim);
    rv = build_vocab(g, seed);
    if (rv != 0) {
        goto out;
    }
    *out = g;
    g = NULL;
out:
    payload_gen_free(g);
    return rv;
}

size_t
payload_gen_max_size(const struct payload_gen *g)
{
    return g->max_size;
}

static double
uniform(struct rng *r, double lo, double hi)
{
    double v = lo + (hi - lo) * rng_double(r);
    return v > hi ? hi : v;
}

static inline void
put(char *out, size_t *n, const char *s, size_t len)
{
    memcpy(out + *n, s, len);
    *n += len;
}

#define PUT_LIT(out, n, lit) put((out), (n), (lit), sizeof(lit) - 1)

int
payload_write(const struct payload_gen *g, struct rng *r, char *out, size_t cap,
              size_t *len)
{
    const struct payload_cfg *c = &g->cfg;
    uint64_t n_str;
    size_t n = 0;

    if (cap < g->max_size) {
        return E_TOOBIG;
    }
    n_str = rng_range(r, c->min_strings_per_observation,
                      c->max_strings_per_observation);
    if (n_str < 1) {
        n_str = 1;
    }
    PUT_LIT(out, &n, "{\"strings\":[");
    for (uint64_t i = 0; i < n_str; i++) {
        if (i > 0) {
            out[n++] = ',';
        }
        out[n++] = '"';
        if (g->n_vocab > 0 && rng_double(r) < 0.7) {
            uint32_t w = (uint32_t)rng_range(r, 0, g->n_vocab - 1);
            put(out, &n, g->words + g->voff[w], g->vlen[w]);
        } else {
            uint64_t sl =
                rng_range(r, c->min_string_length, c->max_string_length);
            if (sl < 1) {
                sl = 1;
            }
            for (uint64_t k = 0; k < sl; k++) {
                out[n++] = alnum[rng_range(r, 0, sizeof(alnum) - 2)];
            }
        }
        out[n++] = '"';
    }
    PUT_LIT(out, &n, "],\"vectors\":[");
    if (g->vector_dim > 0 && rng_double(r) < c->vector_probability) {
        out[n++] = '[';
        for (uint32_t i = 0; i < g->vector_dim; i++) {
            if (i > 0) {
                out[n++] = ',';
            }
            n += format_fixed6(
                uniform(r, c->vector_value_min, c->vector_value_max), out + n);
        }
        out[n++] = ']';
    }
    PUT_LIT(out, &n, "],\"emotives\":{");
    if (c->max_emotives > 0 && rng_double(r) < c->emotive_probability) {
        uint8_t idx[PAYLOAD_EMOTIVES];
        uint64_t m = rng_range(r, c->min_emotives, c->max_emotives);
        if (m > PAYLOAD_EMOTIVES) {
            m = PAYLOAD_EMOTIVES;
        }
        for (uint8_t i = 0; i < PAYLOAD_EMOTIVES; i++) {
            idx[i] = i;
        }
        /* Partial Fisher-Yates: the first m entries are a uniform sample
         * without repetition, like Python's random.sample. */
        for (uint64_t i = 0; i < m; i++) {
            uint64_t j = rng_range(r, i, PAYLOAD_EMOTIVES - 1);
            uint8_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            if (i > 0) {
                out[n++] = ',';
            }
            out[n++] = '"';
            put(out, &n, emotive_names[idx[i]], strlen(emotive_names[idx[i]]));
            PUT_LIT(out, &n, "\":");
            n += format_fixed6(
                uniform(r, c->emotive_value_min, c->emotive_value_max),
                out + n);
        }
    }
    PUT_LIT(out, &n, "}}");
    out[n] = '\0';
    *len = n;
    return 0;
}
