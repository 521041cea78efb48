/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/payload: every body is valid JSON of KATO's observe
 * shape, within the configured counts, lengths and ranges, reproducible
 * from the seeds, and never longer than the advertised bound. A tiny
 * strict JSON reader below checks the shape; it accepts nothing else.
 */
#include "unit.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/payload.h"
#include "../../common/alloc.h"
#include "../../common/err.h"
#include "../../common/poison.h"

/* --- a strict reader for {"strings":[..],"vectors":[..],"emotives":{..}} */

#define MAX_SEEN 64

struct body {
    size_t n_strings;
    size_t min_len, max_len; /* of the strings */
    bool all_alnum;
    size_t n_vectors;  /* outer list length */
    size_t dim;        /* elements of the (last) vector */
    double vmin, vmax; /* over all vector elements */
    size_t n_emotives;
    double emin, emax;
    bool emotives_distinct;
    char emotive_seen[MAX_SEEN][16];
};

struct rd {
    const char *p;
    const char *end;
};

static void
ws(struct rd *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r')) {
        r->p++;
    }
}

static bool
eat(struct rd *r, char c)
{
    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return true;
    }
    return false;
}

/* A JSON string without escapes (the generator never needs them). */
static bool
str(struct rd *r, const char **s, size_t *len)
{
    ws(r);
    if (r->p >= r->end || *r->p != '"') {
        return false;
    }
    r->p++;
    *s = r->p;
    while (r->p < r->end && *r->p != '"') {
        if (*r->p == '\\' || (unsigned char)*r->p < 0x20) {
            return false;
        }
        r->p++;
    }
    if (r->p >= r->end) {
        return false;
    }
    *len = (size_t)(r->p - *s);
    r->p++;
    return true;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
num(struct rd *r, double *v)
{
    const char *s;
    char tmp[64];
    size_t n;

    ws(r);
    s = r->p;
    if (r->p < r->end && *r->p == '-') {
        r->p++;
    }
    if (r->p >= r->end) {
        return false;
    }
    if (*r->p == '0') {
        r->p++;
    } else if (*r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    } else {
        return false;
    }
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') {
            return false;
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) {
            r->p++;
        }
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') {
            return false;
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }
    n = (size_t)(r->p - s);
    if (n == 0 || n >= sizeof(tmp)) {
        return false;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *v = strtod(tmp, NULL);
    return true;
}

static bool
parse_strings(struct rd *r, struct body *b)
{
    const char *s;
    size_t len;

    if (!eat(r, '[')) {
        return false;
    }
    if (eat(r, ']')) {
        return true;
    }
    do {
        if (!str(r, &s, &len)) {
            return false;
        }
        b->n_strings++;
        if (len < b->min_len) {
            b->min_len = len;
        }
        if (len > b->max_len) {
            b->max_len = len;
        }
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9'))) {
                b->all_alnum = false;
            }
        }
    } while (eat(r, ','));
    return eat(r, ']');
}

static bool
parse_vectors(struct rd *r, struct body *b)
{
    double v;

    if (!eat(r, '[')) {
        return false;
    }
    if (eat(r, ']')) {
        return true;
    }
    do {
        if (!eat(r, '[')) {
            return false;
        }
        b->n_vectors++;
        b->dim = 0;
        if (!eat(r, ']')) {
            do {
                if (!num(r, &v)) {
                    return false;
                }
                b->dim++;
                b->vmin = fmin(b->vmin, v);
                b->vmax = fmax(b->vmax, v);
            } while (eat(r, ','));
            if (!eat(r, ']')) {
                return false;
            }
        }
    } while (eat(r, ','));
    return eat(r, ']');
}

static bool
parse_emotives(struct rd *r, struct body *b)
{
    const char *s;
    size_t len;
    double v;

    if (!eat(r, '{')) {
        return false;
    }
    if (eat(r, '}')) {
        return true;
    }
    do {
        if (!str(r, &s, &len) || !eat(r, ':') || !num(r, &v)) {
            return false;
        }
        if (len == 0 || len >= sizeof(b->emotive_seen[0]) ||
            b->n_emotives >= MAX_SEEN) {
            return false;
        }
        for (size_t i = 0; i < b->n_emotives; i++) {
            if (strlen(b->emotive_seen[i]) == len &&
                memcmp(b->emotive_seen[i], s, len) == 0) {
                b->emotives_distinct = false;
            }
        }
        memcpy(b->emotive_seen[b->n_emotives], s, len);
        b->emotive_seen[b->n_emotives][len] = '\0';
        b->n_emotives++;
        b->emin = fmin(b->emin, v);
        b->emax = fmax(b->emax, v);
    } while (eat(r, ','));
    return eat(r, '}');
}

/* Parses the whole body; true only for exactly the expected shape (each of
 * the three keys once, nothing after the object). */
static bool
parse_body(const char *s, size_t len, struct body *b)
{
    struct rd r = {s, s + len};
    bool seen[3] = {false, false, false};
    const char *k;
    size_t klen;

    memset(b, 0, sizeof(*b));
    b->min_len = SIZE_MAX;
    b->all_alnum = true;
    b->emotives_distinct = true;
    b->vmin = b->emin = INFINITY;
    b->vmax = b->emax = -INFINITY;
    if (!eat(&r, '{')) {
        return false;
    }
    do {
        int which;
        bool ok;
        if (!str(&r, &k, &klen) || !eat(&r, ':')) {
            return false;
        }
        if (klen == 7 && memcmp(k, "strings", 7) == 0) {
            which = 0;
            ok = parse_strings(&r, b);
        } else if (klen == 7 && memcmp(k, "vectors", 7) == 0) {
            which = 1;
            ok = parse_vectors(&r, b);
        } else if (klen == 8 && memcmp(k, "emotives", 8) == 0) {
            which = 2;
            ok = parse_emotives(&r, b);
        } else {
            return false;
        }
        if (!ok || seen[which]) {
            return false;
        }
        seen[which] = true;
    } while (eat(&r, ','));
    if (!eat(&r, '}')) {
        return false;
    }
    ws(&r);
    return r.p == r.end && seen[0] && seen[1] && seen[2];
}

/* --- fixtures ------------------------------------------------------------ */

static struct payload_cfg
defaults(void)
{
    struct payload_cfg c;
    memset(&c, 0, sizeof(c));
    c.min_strings_per_observation = 1;
    c.max_strings_per_observation = 10;
    c.min_string_length = 1;
    c.max_string_length = 50;
    c.string_vocabulary_size = 1000;
    c.vector_probability = 0.3;
    c.min_vector_size = 10;
    c.max_vector_size = 100;
    c.vector_value_min = 0.0;
    c.vector_value_max = 1.0;
    c.emotive_probability = 0.2;
    c.min_emotives = 1;
    c.max_emotives = 5;
    c.emotive_value_min = 0.0;
    c.emotive_value_max = 1.0;
    return c;
}

struct stats {
    size_t bodies, with_vec, with_emo;
    size_t min_strings, max_strings;
    size_t max_body;
};

/* Generates n bodies and asserts every per-body invariant; fills st. */
static void
run_many(const struct payload_cfg *c, uint32_t dim, uint64_t seed, size_t n,
         struct stats *st)
{
    struct payload_gen *g = NULL;
    struct rng r;
    size_t cap, len = 0;
    char *out;

    assert_int_equal(payload_gen_new(&g, c, dim, seed), 0);
    cap = payload_gen_max_size(g);
    assert_int_equal(cap, payload_max_size(c, dim));
    /* A guard zone after cap catches any write past the bound. */
    out = xmalloc(cap + 64);
    assert_non_null(out);
    memset(out + cap, 0x5a, 64);
    rng_seed(&r, seed + 1);
    memset(st, 0, sizeof(*st));
    st->min_strings = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        struct body b;
        assert_int_equal(payload_write(g, &r, out, cap, &len), 0);
        assert_true(len < cap);
        assert_int_equal(out[len], '\0');
        assert_int_equal(strlen(out), len);
        if (!parse_body(out, len, &b)) {
            fail_msg("not the observe shape: %s", out);
        }
        assert_true(b.n_strings >= 1);
        assert_true(b.n_strings >= c->min_strings_per_observation ||
                    c->min_strings_per_observation == 0);
        assert_true(b.n_strings <= c->max_strings_per_observation ||
                    c->max_strings_per_observation == 0);
        assert_true(b.all_alnum);
        assert_true(b.min_len >= 1);
        assert_true(b.max_len <=
                    (c->max_string_length > 12 ? c->max_string_length : 12));
        assert_true(b.n_vectors <= 1);
        if (b.n_vectors == 1) {
            assert_int_equal(b.dim, dim);
            assert_true(b.vmin >= c->vector_value_min - 1e-6);
            assert_true(b.vmax <= c->vector_value_max + 1e-6);
            st->with_vec++;
        }
        if (b.n_emotives > 0) {
            assert_true(b.n_emotives >= c->min_emotives);
            assert_true(b.n_emotives <= c->max_emotives);
            assert_true(b.emotives_distinct);
            assert_true(b.emin >= c->emotive_value_min - 1e-6);
            assert_true(b.emax <= c->emotive_value_max + 1e-6);
            st->with_emo++;
        }
        st->min_strings =
            b.n_strings < st->min_strings ? b.n_strings : st->min_strings;
        st->max_strings =
            b.n_strings > st->max_strings ? b.n_strings : st->max_strings;
        st->max_body = len > st->max_body ? len : st->max_body;
        st->bodies++;
    }
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal((unsigned char)out[cap + i], 0x5a);
    }
    xfree(out);
    payload_gen_free(g);
}

/* --- tests --------------------------------------------------------------- */

static void
test_defaults_shape(void **state)
{
    struct payload_cfg c = defaults();
    struct stats st;
    (void)state;

    run_many(&c, 64, 42, 5000, &st);
    /* p = 0.3 and 0.2 over 5000 draws: far inside these bounds. */
    assert_in_range(st.with_vec, 1200, 1800);
    assert_in_range(st.with_emo, 750, 1250);
    assert_int_equal(st.min_strings, 1);
    assert_int_equal(st.max_strings, 10);
}

static void
test_exact_shape(void **state)
{
    struct payload_cfg c = defaults();
    struct payload_gen *g = NULL;
    struct rng r;
    char out[512];
    size_t len = 0;
    (void)state;

    c.min_strings_per_observation = c.max_strings_per_observation = 1;
    c.string_vocabulary_size = 1; /* only "the" */
    c.min_string_length = c.max_string_length = 3;
    c.vector_probability = 1.0;
    c.vector_value_min = c.vector_value_max = 0.25;
    c.emotive_probability = 1.0;
    c.min_emotives = c.max_emotives = 13;
    c.emotive_value_min = c.emotive_value_max = -1.5;
    assert_int_equal(payload_gen_new(&g, &c, 2, 7), 0);
    assert_true(payload_gen_max_size(g) <= sizeof(out));
    rng_seed(&r, 1);
    for (int i = 0; i < 50; i++) {
        struct body b;
        assert_int_equal(payload_write(g, &r, out, sizeof(out), &len), 0);
        assert_true(parse_body(out, len, &b));
        assert_int_equal(b.n_emotives, 13);
        assert_true(b.emotives_distinct);
        assert_true(strstr(out, "\"vectors\":[[0.250000,0.250000]]") != NULL);
        assert_true(strstr(out, "\"joy\":-1.500000") != NULL);
        assert_true(b.max_len == 3);
        if (strncmp(out, "{\"strings\":[\"the\"]", 18) == 0) {
            continue;
        }
        /* else a random 3-character string */
        assert_int_equal(out[12], '"');
        assert_int_equal(out[16], '"');
    }
    payload_gen_free(g);
}

static void
test_probability_zero(void **state)
{
    struct payload_cfg c = defaults();
    struct stats st;
    (void)state;

    c.vector_probability = 0.0;
    c.emotive_probability = 0.0;
    c.min_strings_per_observation = 0; /* still at least one string */
    c.max_strings_per_observation = 0;
    c.string_vocabulary_size = 0; /* only random strings */
    run_many(&c, 100, 3, 2000, &st);
    assert_int_equal(st.with_vec, 0);
    assert_int_equal(st.with_emo, 0);
    assert_int_equal(st.min_strings, 1);
    assert_int_equal(st.max_strings, 1);
}

static void
test_probability_one(void **state)
{
    struct payload_cfg c = defaults();
    struct stats st;
    (void)state;

    c.vector_probability = 1.0;
    c.emotive_probability = 1.0;
    c.min_strings_per_observation = c.max_strings_per_observation = 4;
    c.min_emotives = c.max_emotives = 2;
    c.vector_value_min = -1000.0;
    c.vector_value_max = 1000.0;
    run_many(&c, 768, 9, 300, &st);
    assert_int_equal(st.with_vec, 300);
    assert_int_equal(st.with_emo, 300);
    assert_int_equal(st.min_strings, 4);
    assert_int_equal(st.max_strings, 4);
}

static void
test_no_vector_dim(void **state)
{
    struct payload_cfg c = defaults();
    struct stats st;
    (void)state;

    c.vector_probability = 1.0;
    run_many(&c, 0, 5, 200, &st);
    assert_int_equal(st.with_vec, 0);
}

static void
test_bound_tight_enough(void **state)
{
    struct payload_cfg c = defaults();
    struct stats st;
    size_t bound;
    (void)state;

    /* Largest case each time: the bound must hold and not be absurd. */
    c.min_strings_per_observation = c.max_strings_per_observation = 10;
    c.string_vocabulary_size = 0;
    c.min_string_length = c.max_string_length = 50;
    c.vector_probability = c.emotive_probability = 1.0;
    c.min_emotives = c.max_emotives = 13;
    c.vector_value_min = -99.0;
    c.vector_value_max = -99.0;
    run_many(&c, 100, 11, 50, &st);
    bound = payload_max_size(&c, 100);
    assert_true(st.max_body < bound);
    assert_true(bound < st.max_body + 400);
}

static void
test_deterministic(void **state)
{
    struct payload_cfg c = defaults();
    struct payload_gen *g1 = NULL, *g2 = NULL, *g3 = NULL;
    struct rng r1, r2, r3;
    char a[8192], b[8192], d[8192];
    size_t la = 0, lb = 0, ld = 0;
    int differ = 0;
    (void)state;

    assert_int_equal(payload_gen_new(&g1, &c, 32, 1234), 0);
    assert_int_equal(payload_gen_new(&g2, &c, 32, 1234), 0);
    assert_int_equal(payload_gen_new(&g3, &c, 32, 999), 0);
    assert_true(payload_gen_max_size(g1) <= sizeof(a));
    rng_seed(&r1, 77);
    rng_seed(&r2, 77);
    rng_seed(&r3, 77);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(payload_write(g1, &r1, a, sizeof(a), &la), 0);
        assert_int_equal(payload_write(g2, &r2, b, sizeof(b), &lb), 0);
        assert_int_equal(payload_write(g3, &r3, d, sizeof(d), &ld), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        /* Another run seed: another vocabulary, so some bodies differ. */
        differ += la != ld || memcmp(a, d, la) != 0;
    }
    assert_true(differ > 50);
    payload_gen_free(g1);
    payload_gen_free(g2);
    payload_gen_free(g3);
}

static void
test_small_buffer_refused(void **state)
{
    struct payload_cfg c = defaults();
    struct payload_gen *g = NULL;
    struct rng r;
    char out[16];
    size_t len = 12345;
    (void)state;

    assert_int_equal(payload_gen_new(&g, &c, 8, 1), 0);
    rng_seed(&r, 1);
    memset(out, 'x', sizeof(out));
    assert_int_equal(payload_write(g, &r, out, sizeof(out), &len), E_TOOBIG);
    assert_int_equal(len, 12345);
    assert_int_equal(out[0], 'x');
    payload_gen_free(g);
}

static void
test_invalid_configs(void **state)
{
    struct payload_gen *g = NULL;
    struct payload_cfg c;
    (void)state;

    c = defaults();
    c.min_strings_per_observation = 11;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_INVAL);
    c = defaults();
    c.vector_probability = 1.5;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_INVAL);
    c = defaults();
    c.emotive_value_min = 2.0;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_INVAL);
    c = defaults();
    c.vector_value_max = NAN;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_RANGE);
    c = defaults();
    c.vector_value_max = 1e13;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_RANGE);
    c = defaults();
    assert_int_equal(payload_gen_new(&g, &c, PAYLOAD_DIM_MAX + 1, 1), E_RANGE);
    c = defaults();
    c.string_vocabulary_size = PAYLOAD_VOCAB_MAX + 1;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_RANGE);
    c = defaults();
    c.max_strings_per_observation = PAYLOAD_STRINGS_MAX;
    c.max_string_length = PAYLOAD_STRLEN_MAX;
    assert_int_equal(payload_gen_new(&g, &c, 8, 1), E_TOOBIG);
    assert_null(g);
}

static void
test_oom(void **state)
{
    struct payload_cfg c = defaults();
    int ok = 0;
    (void)state;

    for (long n = 0; n < 8; n++) {
        struct payload_gen *g = NULL;
        int rv;
        alloc_fail_after(n);
        rv = payload_gen_new(&g, &c, 8, 1);
        alloc_fail_after(-1);
        if (rv == 0) {
            ok++;
            payload_gen_free(g);
        } else {
            assert_int_equal(rv, E_NOMEM);
            assert_null(g);
        }
    }
    assert_true(ok > 0);
}

int
payload_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_shape),
        cmocka_unit_test(test_exact_shape),
        cmocka_unit_test(test_probability_zero),
        cmocka_unit_test(test_probability_one),
        cmocka_unit_test(test_no_vector_dim),
        cmocka_unit_test(test_bound_tight_enough),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_small_buffer_refused),
        cmocka_unit_test(test_invalid_configs),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests_name("payload", tests, NULL, NULL);
}
