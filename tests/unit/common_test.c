/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the small common modules: buf, rng, ops, err, alloc, log
 * and clock. The histogram has its own group (hist_test.c).
 */
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/clock.h"
#include "../../common/err.h"
#include "../../common/log.h"
#include "../../common/ops.h"
#include "../../common/rng.h"

#include "../../common/poison.h"

/* Freed by teardown, so a failed assertion leaks nothing. */
struct fx {
    struct buf b;
    void *p[16];
    int saved_stderr; /* -1, or stderr's original fd while captured */
    int pipe_fd[2];
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    buf_init(&f->b, 0);
    f->saved_stderr = -1;
    f->pipe_fd[0] = -1;
    f->pipe_fd[1] = -1;
    *state = f;
    return 0;
}

static void
restore_stderr(struct fx *f)
{
    if (f->saved_stderr >= 0) {
        (void)dup2(f->saved_stderr, STDERR_FILENO);
        (void)close(f->saved_stderr);
        f->saved_stderr = -1;
    }
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    alloc_fail_after(-1);
    restore_stderr(f);
    for (int i = 0; i < 2; i++) {
        if (f->pipe_fd[i] >= 0) {
            (void)close(f->pipe_fd[i]);
        }
    }
    log_set_level(LOG_INFO);
    log_set_prefix("");
    buf_fini(&f->b);
    for (size_t i = 0; i < sizeof(f->p) / sizeof(f->p[0]); i++) {
        xfree(f->p[i]);
    }
    xfree(f);
    return 0;
}

/* --- buf --- */

static void
test_buf_append(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;
    char expect[7001];

    buf_init(b, 1 << 20);
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(buf_append(b, "abc", 3), 0);
    assert_int_equal(buf_append(b, "def", 3), 0);
    assert_int_equal(buf_append(b, NULL, 0), 0);
    assert_int_equal(b->len, 6);
    assert_memory_equal(b->data, "abcdef", 6);
    /* Growth over many reallocations keeps every byte. */
    buf_reset(b);
    assert_int_equal(b->len, 0);
    for (int i = 0; i < 1000; i++) {
        char chunk[7];
        for (int j = 0; j < 7; j++) {
            chunk[j] = (char)('a' + (i * 7 + j) % 26);
            expect[i * 7 + j] = chunk[j];
        }
        assert_int_equal(buf_append(b, chunk, 7), 0);
    }
    assert_int_equal(b->len, 7000);
    assert_true(b->cap >= 7000);
    assert_memory_equal(b->data, expect, 7000);
    /* Truncation only shrinks, and keeps the storage. */
    buf_truncate(b, 7001);
    assert_int_equal(b->len, 7000);
    buf_truncate(b, 3);
    assert_int_equal(b->len, 3);
    assert_true(b->cap >= 7000);
    assert_memory_equal(b->data, expect, 3);
}

static void
test_buf_printf(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;
    char big[600];

    buf_init(b, 4096);
    assert_int_equal(buf_printf(b, "%d-%s", 42, "x"), 0);
    assert_int_equal(b->len, 4);
    assert_memory_equal(b->data, "42-x", 4);
    assert_int_equal(buf_printf(b, "%s", ""), 0);
    assert_int_equal(b->len, 4);
    assert_int_equal(buf_printf(b, "|%05u|", 7u), 0);
    assert_int_equal(b->len, 11);
    assert_memory_equal(b->data, "42-x|00007|", 11);
    /* Longer than the first allocation. */
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_printf(b, "%s!", big), 0);
    assert_int_equal(b->len, 11 + 599 + 1);
    assert_memory_equal(b->data + 11, big, 599);
    assert_int_equal(b->data[b->len - 1], '!');
}

static void
test_buf_cap(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;
    uint8_t *data;

    buf_init(b, 10);
    assert_int_equal(buf_append(b, "12345678", 8), 0);
    data = b->data;
    assert_int_equal(buf_append(b, "abc", 3), E_TOOBIG);
    assert_int_equal(b->len, 8);
    assert_ptr_equal(b->data, data);
    assert_memory_equal(b->data, "12345678", 8);
    assert_int_equal(buf_printf(b, "%s", "abc"), E_TOOBIG);
    assert_int_equal(b->len, 8);
    assert_int_equal(buf_append(b, "9", 1), 0);
    assert_int_equal(buf_printf(b, "%d", 0), 0); /* exactly max */
    assert_int_equal(b->len, 10);
    assert_memory_equal(b->data, "1234567890", 10);
    assert_int_equal(buf_append(b, "x", 1), E_TOOBIG);
    assert_int_equal(buf_printf(b, "x"), E_TOOBIG);
    assert_int_equal(buf_append(b, "", 0), 0);
    assert_int_equal(b->len, 10);
    assert_memory_equal(b->data, "1234567890", 10);
    /* A zero cap takes nothing. */
    buf_fini(b);
    buf_init(b, 0);
    assert_int_equal(buf_append(b, "x", 1), E_TOOBIG);
    assert_int_equal(b->len, 0);
    assert_int_equal(buf_append(b, NULL, 0), 0);
    assert_int_equal(b->len, 0);
    /* A huge n is refused up front, without wrapping around. */
    buf_fini(b);
    buf_init(b, 100);
    assert_int_equal(buf_append(b, "abc", 3), 0);
    assert_int_equal(buf_append(b, "", SIZE_MAX), E_TOOBIG);
    assert_int_equal(buf_append(b, "", SIZE_MAX - 2), E_TOOBIG);
    assert_int_equal(b->len, 3);
}

static void
test_buf_writer_sticky(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;
    struct buf_writer w;
    char big[3000];

    /* Text of any length (the writers' old fixed 512/1024-byte format
     * buffers are gone), then the first error sticks. */
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(b, 3010);
    buf_writer_init(&w, b);
    buf_put(&w, "ab");
    buf_putn(&w, "cdef", 2);
    buf_putf(&w, "%d%s", 7, big);
    assert_int_equal(buf_writer_error(&w), 0);
    assert_int_equal(b->len, 5 + sizeof(big) - 1);
    assert_memory_equal(b->data, "abcd7yy", 7);
    buf_put(&w, "0123456789"); /* over the cap */
    assert_int_equal(buf_writer_error(&w), E_TOOBIG);
    assert_int_equal(b->len, 5 + sizeof(big) - 1);
    /* Later appends that would fit are skipped, and the error stays the
     * first one. */
    buf_put(&w, "z");
    buf_putn(&w, "z", 1);
    buf_putf(&w, "%s", "z");
    buf_writer_fail(&w, E_NOMEM);
    assert_int_equal(buf_writer_error(&w), E_TOOBIG);
    assert_int_equal(b->len, 5 + sizeof(big) - 1);
    /* buf_writer_fail(0) records nothing. */
    buf_writer_init(&w, b);
    buf_writer_fail(&w, 0);
    assert_int_equal(buf_writer_error(&w), 0);
    buf_writer_fail(&w, E_IO);
    assert_int_equal(buf_writer_error(&w), E_IO);
}

static void
test_buf_writer_nomem(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;
    struct buf_writer w;

    /* Every path through the allocator: the first growth fails for
     * buf_put, buf_putn and buf_putf alike, and nothing is appended after
     * it even once allocations work again. */
    for (int which = 0; which < 3; which++) {
        buf_fini(b);
        buf_init(b, 1 << 20);
        buf_writer_init(&w, b);
        alloc_fail_after(0);
        if (which == 0) {
            buf_put(&w, "abc");
        } else if (which == 1) {
            buf_putn(&w, "abc", 3);
        } else {
            buf_putf(&w, "%s", "abc");
        }
        assert_int_equal(buf_writer_error(&w), E_NOMEM);
        alloc_fail_after(-1);
        buf_put(&w, "def");
        buf_putf(&w, "%d", 1);
        assert_int_equal(buf_writer_error(&w), E_NOMEM);
        assert_int_equal(b->len, 0);
    }
    /* A failure in a later growth keeps what was written before it. */
    buf_fini(b);
    buf_init(b, 1 << 20);
    buf_writer_init(&w, b);
    buf_put(&w, "head");
    alloc_fail_after(0);
    for (int i = 0; i < 100 && buf_writer_error(&w) == 0; i++) {
        buf_putf(&w, "%064d", i);
    }
    alloc_fail_after(-1);
    assert_int_equal(buf_writer_error(&w), E_NOMEM);
    assert_true(b->len >= 4 && b->len <= b->cap);
    assert_memory_equal(b->data, "head", 4);
}

static void
test_buf_unbounded_max(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;

    /* With max = SIZE_MAX, len + n + 1 and the capacity doubling must not
     * wrap: each append must fail rather than "fit" in a small buffer. */
    buf_init(b, SIZE_MAX);
    assert_int_equal(buf_append(b, "abc", 3), 0);
    assert_int_equal(buf_append(b, "", SIZE_MAX - 3), E_TOOBIG);
    /* These need ~2^64 and ~2^63 bytes: the allocation is made to fail so
     * that no sanitizer sees a request of that size. */
    alloc_fail_after(0);
    assert_int_equal(buf_append(b, "", SIZE_MAX - 4), E_NOMEM);
    assert_int_equal(buf_append(b, "", SIZE_MAX / 2), E_NOMEM);
    alloc_fail_after(-1);
    assert_int_equal(b->len, 3);
    assert_memory_equal(b->data, "abc", 3);
}

static void
test_buf_nomem_and_reuse(void **state)
{
    struct fx *f = *state;
    struct buf *b = &f->b;
    char blk[200];
    size_t cap;

    memset(blk, 'q', sizeof(blk));
    buf_init(b, 1 << 16);
    alloc_fail_after(0);
    assert_int_equal(buf_append(b, "abc", 3), E_NOMEM);
    assert_int_equal(buf_printf(b, "%d", 5), E_NOMEM);
    alloc_fail_after(-1);
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(buf_append(b, blk, 200), 0);
    cap = b->cap;
    /* Growing past the first block fails cleanly, contents intact. */
    alloc_fail_after(0);
    assert_int_equal(buf_append(b, blk, 200), E_NOMEM);
    assert_int_equal(buf_append(b, blk, cap - 200 - 1), 0); /* fits */
    alloc_fail_after(-1);
    assert_int_equal(b->len, cap - 1);
    assert_int_equal(b->cap, cap);
    assert_memory_equal(b->data, blk, 200);
    /* reset keeps the storage, fini drops it, both leave b reusable. */
    buf_reset(b);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, cap);
    buf_fini(b);
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 0);
    assert_int_equal(b->max, 1 << 16);
    buf_fini(b); /* twice is harmless */
    assert_int_equal(buf_printf(b, "again %d", 1), 0);
    assert_int_equal(b->len, 7);
    assert_memory_equal(b->data, "again 1", 7);
}

/* --- rng --- */

static void
test_rng_determinism(void **state)
{
    struct rng a, b;
    int differ = 0;
    (void)state;

    /* xoshiro256** seeded by splitmix64: these pin the algorithm, so a run
     * seed reproduces the same payloads on every build. */
    rng_seed(&a, 0);
    assert_int_equal(rng_next(&a), 0x99ec5f36cb75f2b4ULL);
    assert_int_equal(rng_next(&a), 0xbf6e1f784956452aULL);
    assert_int_equal(rng_next(&a), 0x1a5f849d4933e6e0ULL);
    rng_seed(&a, 12345);
    assert_int_equal(rng_next(&a), 0xbe6a36374160d49bULL);

    rng_seed(&a, 777);
    rng_seed(&b, 777);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(rng_next(&a), rng_next(&b));
    }
    assert_true(rng_double(&a) == rng_double(&b));
    assert_int_equal(rng_range(&a, 3, 99), rng_range(&b, 3, 99));
    rng_seed(&b, 778);
    for (int i = 0; i < 100; i++) {
        differ += rng_next(&a) != rng_next(&b);
    }
    assert_true(differ >= 99);
}

static void
test_rng_range_bounds(void **state)
{
    struct rng r;
    int seen[6] = {0};
    (void)state;

    rng_seed(&r, 1);
    assert_int_equal(rng_range(&r, 5, 5), 5);
    assert_int_equal(rng_range(&r, 9, 2), 9);
    assert_int_equal(rng_range(&r, UINT64_MAX, 0), UINT64_MAX);
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rng_range(&r, 5, 10);
        assert_true(v >= 5 && v <= 10);
        seen[v - 5]++;
    }
    for (int i = 0; i < 6; i++) {
        assert_true(seen[i] > 0);
    }
    for (int i = 0; i < 1000; i++) {
        uint64_t v = rng_range(&r, UINT64_MAX - 1, UINT64_MAX);
        assert_true(v >= UINT64_MAX - 1);
        (void)rng_range(&r, 0, UINT64_MAX); /* full range: any value */
        v = rng_range(&r, 1ULL << 40, (1ULL << 40) + 2);
        assert_true(v >= 1ULL << 40 && v <= (1ULL << 40) + 2);
    }
}

static void
test_rng_double(void **state)
{
    struct rng r;
    double sum = 0.0, lo = 1.0, hi = 0.0;
    const int n = 1000000;
    (void)state;

    rng_seed(&r, 2);
    for (int i = 0; i < n; i++) {
        double d = rng_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
        sum += d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    /* sd of the mean is 0.289 / 1000; 0.003 is > 10 sd. */
    assert_true(sum / n > 0.497 && sum / n < 0.503);
    assert_true(lo < 1e-4 && hi > 1.0 - 1e-4);
}

/* Pearson's chi-square of counts against a uniform expectation. */
static double
chi_square(const uint64_t *counts, int bins, uint64_t n)
{
    double expect = (double)n / bins, chi = 0.0;

    for (int i = 0; i < bins; i++) {
        double d = (double)counts[i] - expect;
        chi += d * d / expect;
    }
    return chi;
}

static void
test_rng_uniformity(void **state)
{
    struct rng r;
    uint64_t counts[100] = {0};
    uint64_t thirds[3] = {0};
    const uint64_t span = 3ULL << 62;
    double chi;
    (void)state;

    rng_seed(&r, 3);
    for (int i = 0; i < 100000; i++) {
        counts[rng_range(&r, 0, 99)]++;
    }
    /* 99 degrees of freedom: mean 99, sd 14; 200 is over 7 sd out. */
    chi = chi_square(counts, 100, 100000);
    assert_true(chi < 200.0);
    /* Also not suspiciously perfect. */
    assert_true(chi > 40.0);

    /* A span that does not divide 2^64: modulo reduction would put half
     * of the draws in the first third and a quarter in each other. */
    for (int i = 0; i < 30000; i++) {
        thirds[rng_range(&r, 0, span - 1) >> 62]++;
    }
    /* 2 degrees of freedom: 30 is p ~ 3e-7 (the biased one gives ~3700). */
    assert_true(chi_square(thirds, 3, 30000) < 30.0);
}

static void
test_rng_secure(void **state)
{
    uint8_t a[32], b[32], zero[32] = {0};
    (void)state;

    assert_int_equal(rng_secure_bytes(a, sizeof(a)), 0);
    assert_int_equal(rng_secure_bytes(b, sizeof(b)), 0);
    assert_int_equal(rng_secure_bytes(b, 0), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
}

/* --- ops --- */

static void
test_ops_names(void **state)
{
    static const char *const names[OP_COUNT] = {
        "create_session",    "observe",      "learn",   "predictions",
        "short_term_memory", "clear_memory", "invalid",
    };
    (void)state;

    for (int op = 0; op < OP_COUNT; op++) {
        assert_string_equal(ops_name(op), names[op]);
        assert_int_equal(ops_from_name(names[op]), op);
    }
    assert_int_equal(ops_from_name("observe"), OP_OBSERVE);
    assert_int_equal(ops_from_name("short_term_memory"), OP_STM);
    assert_null(ops_name(-1));
    assert_null(ops_name(OP_COUNT));
    assert_int_equal(ops_from_name("Observe"), -1);
    assert_int_equal(ops_from_name("observe "), -1);
    assert_int_equal(ops_from_name(""), -1);
    assert_int_equal(ops_from_name("clear-all"), -1);
    assert_int_equal(ops_from_name(NULL), -1);
}

static void
test_errk_slots(void **state)
{
    static const uint32_t invalid[] = {0,    1,    99,   600,       999,
                                       1000, 1007, 2000, UINT32_MAX};
    uint8_t used[ERRK_SLOTS] = {0};
    int valid = 0;
    (void)state;

    for (uint32_t key = 0; key < 1100; key++) {
        int slot = errk_slot(key);
        if (!errk_valid(key)) {
            assert_int_equal(slot, -1);
            continue;
        }
        valid++;
        assert_true(slot >= 0 && slot < ERRK_SLOTS);
        assert_int_equal(used[slot], 0); /* dense and one-to-one */
        used[slot] = 1;
        assert_int_equal(errk_from_slot(slot), key);
    }
    assert_int_equal(valid, 500 + 6);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        assert_false(errk_valid(invalid[i]));
        assert_int_equal(errk_slot(invalid[i]), -1);
    }
    assert_true(errk_valid(100) && errk_valid(599));
    assert_true(errk_valid(ERRK_CONNECT) && errk_valid(ERRK_MAX));
    /* Slots no key maps to give no valid key back. */
    for (int slot = -3; slot < ERRK_SLOTS + 3; slot++) {
        if (slot < 0 || slot >= ERRK_SLOTS || !used[slot]) {
            assert_false(errk_valid(errk_from_slot(slot)));
        }
    }
}

static void
test_errk_names(void **state)
{
    static const struct {
        uint32_t key;
        const char *name;
    } cases[] = {
        {100, "http_100"},
        {404, "http_404"},
        {503, "http_503"},
        {599, "http_599"},
        {ERRK_CONNECT, "connect_refused"},
        {ERRK_TIMEOUT, "timeout"},
        {ERRK_RESET, "reset"},
        {ERRK_DNS, "dns"},
        {ERRK_ABORTED, "aborted"},
        {ERRK_OTHER, "other"},
        {42, "invalid_42"},
        {ERRK_BASE, "invalid_1000"},
    };
    char out[32];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(out, 'X', sizeof(out));
        assert_ptr_equal(errk_name(cases[i].key, out, sizeof(out)), out);
        assert_string_equal(out, cases[i].name);
    }
    /* Truncated, still NUL-terminated. */
    assert_string_equal(errk_name(404, out, 5), "http");
    assert_string_equal(errk_name(ERRK_CONNECT, out, 4), "con");
}

/* --- err --- */

static void
test_err_table(void **state)
{
    static const struct {
        int code;
        const char *name;
        const char *str;
    } table[] = {
#define ERR_ROW_(n, v, m) {(v), "E_" #n, (m)},
        ERR_MAP(ERR_ROW_)
#undef ERR_ROW_
    };
    const size_t n = sizeof(table) / sizeof(table[0]);
    (void)state;

    assert_int_equal(n, 16);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(table[i].code, -(int)i); /* dense, 0 .. -15 */
        assert_string_equal(err_name(table[i].code), table[i].name);
        assert_string_equal(err_str(table[i].code), table[i].str);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(err_str(table[i].code),
                                    err_str(table[j].code));
        }
    }
    assert_string_equal(err_name(E_OK), "E_OK");
    assert_string_equal(err_str(E_OK), "success");
    assert_string_equal(err_name(E_NOMEM), "E_NOMEM");
    assert_string_equal(err_str(E_NOMEM), "out of memory");
    assert_string_equal(err_name(E_STATE), "E_STATE");
    assert_string_equal(err_str(E_TOOBIG), "input too large");
    assert_string_equal(err_name(1), "E_UNKNOWN");
    assert_string_equal(err_name(-16), "E_UNKNOWN");
    assert_string_equal(err_name(INT_MIN), "E_UNKNOWN");
    assert_string_equal(err_str(1), "unknown error");
    assert_string_equal(err_str(-16), "unknown error");
    assert_string_equal(err_str(INT_MAX), "unknown error");
}

/* --- alloc --- */

/* One allocation of kind k % 4 into *slot; returns whether it succeeded. */
static int
alloc_one(void **slot, int k)
{
    void *p = NULL;

    switch (k % 4) {
    case 0:
        p = xmalloc(16);
        break;
    case 1:
        p = xcalloc(4, 8);
        break;
    case 2:
        p = xrealloc(NULL, 24);
        break;
    default:
        p = xstrdup("dup");
        break;
    }
    if (p != NULL) {
        *slot = p;
    }
    return p != NULL;
}

static void
test_alloc_fail_after(void **state)
{
    struct fx *f = *state;

    for (int n = 0; n <= 5; n++) {
        int i = 0;

        alloc_fail_after(n);
        for (; i < n; i++) {
            assert_true(alloc_one(&f->p[i], n + i));
        }
        /* The (n+1)th fails, whatever its kind, and so do later ones. */
        for (int k = 0; k < 4; k++) {
            assert_false(alloc_one(&f->p[i], k));
        }
        alloc_fail_after(-1);
        assert_true(alloc_one(&f->p[n], n));
        for (i = 0; i <= n; i++) {
            xfree(f->p[i]);
            f->p[i] = NULL;
        }
    }
    /* Any negative value disarms. */
    alloc_fail_after(0);
    alloc_fail_after(-7);
    assert_true(alloc_one(&f->p[0], 0));
}

static void
test_alloc_basics(void **state)
{
    struct fx *f = *state;
    uint8_t *p, *q;
    size_t i;

    p = xcalloc(100, 3);
    assert_non_null(p);
    f->p[0] = p;
    for (i = 0; i < 300; i++) {
        assert_int_equal(p[i], 0);
        p[i] = (uint8_t)i;
    }
    /* A failed realloc leaves the block as it was. */
    alloc_fail_after(0);
    assert_null(xrealloc(p, 1 << 20));
    alloc_fail_after(-1);
    for (i = 0; i < 300; i++) {
        assert_int_equal(p[i], (uint8_t)i);
    }
    q = xrealloc(p, 1 << 16);
    assert_non_null(q);
    f->p[0] = q;
    for (i = 0; i < 300; i++) {
        assert_int_equal(q[i], (uint8_t)i);
    }
    /* nmemb * size overflow is refused, not wrapped. */
    assert_null(xcalloc(SIZE_MAX / 2, 3));
    assert_null(xcalloc(SIZE_MAX, SIZE_MAX));
    f->p[1] = xstrdup("kato");
    assert_non_null(f->p[1]);
    assert_string_equal(f->p[1], "kato");
    f->p[2] = xstrdup("");
    assert_non_null(f->p[2]);
    assert_string_equal(f->p[2], "");
    xfree(NULL);
}

/* --- log --- */

/* Sends stderr into a pipe until restore_stderr(). */
static void
capture_stderr(struct fx *f)
{
    assert_int_equal(pipe(f->pipe_fd), 0);
    f->saved_stderr = dup(STDERR_FILENO);
    assert_true(f->saved_stderr >= 0);
    assert_true(dup2(f->pipe_fd[1], STDERR_FILENO) >= 0);
}

/* Restores stderr and reads what was captured into out (NUL-terminated). */
static size_t
collect_stderr(struct fx *f, char *out, size_t outlen)
{
    size_t n = 0;
    ssize_t k;

    restore_stderr(f);
    (void)close(f->pipe_fd[1]);
    f->pipe_fd[1] = -1;
    while (n + 1 < outlen &&
           (k = read(f->pipe_fd[0], out + n, outlen - 1 - n)) > 0) {
        n += (size_t)k;
    }
    out[n] = '\0';
    (void)close(f->pipe_fd[0]);
    f->pipe_fd[0] = -1;
    return n;
}

static void
test_log_lines(void **state)
{
    struct fx *f = *state;
    char out[4096], longtext[2000];
    const char *line2;
    size_t n;

    memset(longtext, 'L', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    capture_stderr(f);
    log_debug("TEST-HIDDEN", "not shown at the default level");
    log_warn("TEST-ONE", "k=%d s=%s", 7, "v");
    log_set_prefix("agent a1");
    log_set_level(LOG_DEBUG);
    log_debug("TEST-TWO", "x");
    log_set_level(LOG_ERROR);
    log_warn("TEST-HIDDEN", "filtered");
    log_error("TEST-LONG", "%s", longtext);
    n = collect_stderr(f, out, sizeof(out));

    assert_null(strstr(out, "TEST-HIDDEN"));
    /* 2026-11-28T15:20:34.123Z warn TEST-ONE k=7 s=v */
    assert_true(n > 25);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[19], '.');
    assert_int_equal(out[23], 'Z');
    assert_memory_equal(out + 24, " warn TEST-ONE k=7 s=v\n", 23);
    line2 = strchr(out, '\n') + 1;
    assert_memory_equal(line2 + 24, " agent a1 debug TEST-TWO x\n", 27);
    /* The long line is cut to the 1024-byte line buffer, newline kept. */
    line2 = strchr(line2, '\n') + 1;
    assert_non_null(strstr(line2, " agent a1 error TEST-LONG LLL"));
    assert_int_equal(strlen(line2), 1023);
    assert_int_equal(line2[1022], '\n');
    assert_int_equal((size_t)(line2 - out) + 1023, n);
}

/* --- clock --- */

static void
test_clock(void **state)
{
    uint64_t t0, t1, prev, wall;
    (void)state;

    prev = clock_now_ns();
    for (int i = 0; i < 1000; i++) {
        uint64_t t = clock_now_ns();
        assert_true(t >= prev);
        prev = t;
    }
    t0 = clock_now_ns();
    clock_sleep_ns(3 * CLOCK_NS_PER_MS);
    t1 = clock_now_ns();
    assert_true(t1 - t0 >= 3 * CLOCK_NS_PER_MS);
    assert_true(t1 - t0 < 2 * CLOCK_NS_PER_S);
    clock_sleep_ns(0);
    wall = clock_wall_ns();
    /* After 2020-01-01 and before 2100-01-01. */
    assert_true(wall > 1577836800ULL * CLOCK_NS_PER_S);
    assert_true(wall < 4102444800ULL * CLOCK_NS_PER_S);
}

int
common_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_buf_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buf_printf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buf_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buf_writer_sticky, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_buf_writer_nomem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buf_unbounded_max, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_buf_nomem_and_reuse, setup,
                                        teardown),
        cmocka_unit_test(test_rng_determinism),
        cmocka_unit_test(test_rng_range_bounds),
        cmocka_unit_test(test_rng_double),
        cmocka_unit_test(test_rng_uniformity),
        cmocka_unit_test(test_rng_secure),
        cmocka_unit_test(test_ops_names),
        cmocka_unit_test(test_errk_slots),
        cmocka_unit_test(test_errk_names),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test_setup_teardown(test_alloc_fail_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_basics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_lines, setup, teardown),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
