/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of common/hist: the index layout, the 3-significant-digit
 * error bound, percentiles against sorted ground truth, exact merging over
 * 1..10 parts, the wire export/import and the empty and OOM cases.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "../../common/alloc.h"
#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../common/rng.h"

#include "../../common/poison.h"

#define MAX_HISTS 12

/* Everything a test allocates hangs here, so teardown frees it even after a
 * failed assertion. */
struct fx {
    struct hist *h[MAX_HISTS];
    uint64_t *data;
    uint64_t *sorted;
    struct hist_bucket *b1;
    struct hist_bucket *b2;
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    alloc_fail_after(-1);
    for (int i = 0; i < MAX_HISTS; i++) {
        hist_free(f->h[i]);
    }
    xfree(f->data);
    xfree(f->sorted);
    xfree(f->b1);
    xfree(f->b2);
    xfree(f);
    return 0;
}

/* Creates f->h[0..n-1]. */
static void
new_hists(struct fx *f, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(hist_new(&f->h[i]), 0);
        assert_non_null(f->h[i]);
    }
}

/* A heavy-tailed value: log-uniform over 2^0 .. 2^(64 - minshift). */
static uint64_t
rand_value(struct rng *r, unsigned minshift)
{
    return rng_next(r) >> rng_range(r, minshift, 63);
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ceil(n * num / (100 * den)), at least 1: the rank of percentile num/den
 * computed in integers, independently of the histogram's floating point. */
static uint64_t
exact_rank(uint64_t n, uint64_t num, uint64_t den)
{
    uint64_t r = (n * num + 100 * den - 1) / (100 * den);
    return r == 0 ? 1 : r;
}

/* Exports h into a new array (freed by the caller's fixture). */
static size_t
export_all(const struct hist *h, struct hist_bucket **out)
{
    size_t n = hist_nonzero(h);
    struct hist_bucket *b = xcalloc(n + 1, sizeof(*b));

    assert_non_null(b);
    xfree(*out);
    *out = b;
    assert_int_equal(hist_export(h, b, n), n);
    return n;
}

/* --- layout --- */

static void
test_index_boundaries(void **state)
{
    static const struct {
        uint64_t v;
        uint32_t index;
    } cases[] = {
        {0, 0},
        {1, 1},
        {1023, 1023},
        {1024, 1024},
        {2047, 2047},
        {2048, 2048},
        {2049, 2048},
        {2050, 2049},
        {4095, 3071},
        {4096, 3072},
        {4099, 3072},
        {4100, 3073},
        {1ULL << 31, 22 * 1024},
        {(1ULL << 31) + (1ULL << 21) - 1, 22 * 1024},
        {(1ULL << 31) + (1ULL << 21), 22 * 1024 + 1},
        {HIST_MAX_US - 1, HIST_BUCKETS - 1},
        {HIST_MAX_US, HIST_BUCKETS - 1},
        {HIST_MAX_US + 1, HIST_BUCKETS - 1},
        {UINT64_MAX, HIST_BUCKETS - 1},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(hist_index_of(cases[i].v), cases[i].index);
    }
    assert_int_equal(hist_lowest_of(0), 0);
    assert_int_equal(hist_highest_of(0), 0);
    assert_int_equal(hist_lowest_of(2047), 2047);
    assert_int_equal(hist_highest_of(2047), 2047);
    assert_int_equal(hist_lowest_of(2048), 2048);
    assert_int_equal(hist_highest_of(2048), 2049);
    assert_int_equal(hist_lowest_of(3071), 4094);
    assert_int_equal(hist_highest_of(3071), 4095);
    assert_int_equal(hist_lowest_of(22 * 1024), 1ULL << 31);
    assert_int_equal(hist_highest_of(HIST_BUCKETS - 1), HIST_MAX_US);
    assert_int_equal(hist_lowest_of(HIST_BUCKETS - 1),
                     HIST_MAX_US + 1 - (1ULL << 21));
    /* Out of range indexes name no values. */
    assert_int_equal(hist_lowest_of(HIST_BUCKETS), 0);
    assert_int_equal(hist_highest_of(HIST_BUCKETS), 0);
    assert_int_equal(hist_highest_of(UINT32_MAX), 0);
}

static void
test_index_round_trip(void **state)
{
    (void)state;

    for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo = hist_lowest_of(i), hi = hist_highest_of(i);

        assert_true(lo <= hi);
        assert_int_equal(hist_index_of(lo), i);
        assert_int_equal(hist_index_of(hi), i);
        /* Contiguous: no value falls between two indexes. */
        if (i + 1 < HIST_BUCKETS) {
            assert_int_equal(hist_lowest_of(i + 1), hi + 1);
        }
        /* The width is a power of two that never exceeds lo / 1024. */
        if (i >= 2048) {
            assert_true((hi - lo + 1) * 1024 <= lo);
        } else {
            assert_int_equal(lo, hi);
        }
    }
}

static void
test_clamp(void **state)
{
    struct fx *f = *state;
    struct hist *h;

    new_hists(f, 1);
    h = f->h[0];
    hist_record(h, HIST_MAX_US);
    assert_int_equal(hist_clamped(h), 0);
    hist_record(h, HIST_MAX_US + 1);
    hist_record(h, UINT64_MAX);
    hist_record_n(h, 1ULL << 40, 5);
    assert_int_equal(hist_count(h), 8);
    assert_int_equal(hist_clamped(h), 7);
    assert_int_equal(hist_max(h), HIST_MAX_US);
    assert_int_equal(hist_min(h), HIST_MAX_US);
    assert_int_equal(hist_nonzero(h), 1);
    assert_int_equal(hist_percentile(h, 50.0), HIST_MAX_US);
    f->b1 = xcalloc(1, sizeof(*f->b1));
    assert_non_null(f->b1);
    assert_int_equal(hist_export(h, f->b1, 1), 1);
    assert_int_equal(f->b1[0].index, HIST_BUCKETS - 1);
    assert_int_equal(f->b1[0].count, 8);
}

/* Worst relative error of a value read back (the highest equivalent value
 * of its bucket) over every value below 70000, every power of two +-1 and
 * 2 million log-uniform random values. */
static void
test_relative_error(void **state)
{
    struct rng r;
    double worst = 0.0;
    (void)state;

    rng_seed(&r, 42);
    for (uint64_t k = 0; k < 70000 + 64 * 3 + 2000000; k++) {
        uint64_t v, hi, lo;
        if (k < 70000) {
            v = k;
        } else if (k < 70000 + 64 * 3) {
            uint64_t j = k - 70000;
            v = (1ULL << (j / 3 % 32)) + j % 3 - 1;
        } else {
            v = rand_value(&r, 32) | 1;
        }
        if (v == 0 || v > HIST_MAX_US) {
            continue;
        }
        lo = hist_lowest_of(hist_index_of(v));
        hi = hist_highest_of(hist_index_of(v));
        assert_true(lo <= v && v <= hi);
        /* (hi - v) / v <= 1/1024, in integers. */
        assert_true((hi - v) * 1024 <= v);
        if ((double)(hi - v) / (double)v > worst) {
            worst = (double)(hi - v) / (double)v;
        }
    }
    assert_true(worst <= 1.0 / 1024);
    /* The bound is nearly reached (at lo = 1024 << b, width 1 << b): a
     * layout with finer buckets would be fine, a coarser one is not. */
    assert_true(worst > 0.9 / 1024);
    print_message("hist: worst relative error %.6e (bound %.6e)\n", worst,
                  1.0 / 1024);
}

/* --- percentiles --- */

static const struct {
    uint64_t num, den; /* percentile num / den */
} pcts[] = {
    {1, 1},  {7, 1},    {25, 1},     {50, 1},       {90, 1},  {95, 1},
    {99, 1}, {999, 10}, {9999, 100}, {99999, 1000}, {100, 1}, {333333, 10000},
};

/* Fills f->data and f->sorted with n values and records them in h. */
static void
fill(struct fx *f, struct hist *h, size_t n, uint64_t seed, unsigned shift)
{
    struct rng r;

    xfree(f->data);
    xfree(f->sorted);
    f->data = xcalloc(n, sizeof(*f->data));
    f->sorted = xcalloc(n, sizeof(*f->sorted));
    assert_non_null(f->data);
    assert_non_null(f->sorted);
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        f->data[i] = rand_value(&r, shift);
        f->sorted[i] = f->data[i];
        hist_record(h, f->data[i]);
    }
    qsort(f->sorted, n, sizeof(*f->sorted), cmp_u64);
}

static void
test_percentiles_truth(void **state)
{
    static const size_t sizes[] = {1,   2,    3,    7,      10,    100,
                                   999, 1000, 1001, 100000, 250000};
    struct fx *f = *state;

    new_hists(f, 1);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        struct hist *h = f->h[0];

        hist_reset(h);
        fill(f, h, n, 1000 + s, 40); /* values up to 2^24 us (16.8 s) */
        assert_int_equal(hist_count(h), n);
        assert_int_equal(hist_min(h), f->sorted[0]);
        assert_int_equal(hist_max(h), f->sorted[n - 1]);
        for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
            double p = (double)pcts[k].num / (double)pcts[k].den;
            uint64_t rank = exact_rank(n, pcts[k].num, pcts[k].den);
            uint64_t truth = f->sorted[rank - 1];
            uint64_t got = hist_percentile(h, p);
            uint64_t want = hist_highest_of(hist_index_of(truth));

            want = want < f->sorted[n - 1] ? want : f->sorted[n - 1];
            /* Exactly HdrHistogram's answer ... */
            assert_int_equal(got, want);
            /* ... hence within 3 significant digits of the truth. */
            assert_true(got >= truth);
            assert_true((got - truth) * 1024 <= truth);
        }
        assert_int_equal(hist_percentile(h, 100.0), f->sorted[n - 1]);
        /* p <= 0 is the first value's bucket. */
        assert_int_equal(hist_percentile(h, 0.0), hist_percentile(h, 1e-9));
    }
}

static void
test_percentile_small(void **state)
{
    struct fx *f = *state;
    struct hist *h;

    new_hists(f, 1);
    h = f->h[0];
    /* 1..100 exactly: bucket 0 holds every value on its own. */
    for (uint64_t v = 1; v <= 100; v++) {
        hist_record(h, v);
    }
    assert_int_equal(hist_percentile(h, 1.0), 1);
    assert_int_equal(hist_percentile(h, 7.0), 7); /* 0.07 * 100 > 7 */
    assert_int_equal(hist_percentile(h, 50.0), 50);
    assert_int_equal(hist_percentile(h, 50.5), 51);
    assert_int_equal(hist_percentile(h, 99.0), 99);
    assert_int_equal(hist_percentile(h, 99.9), 100);
    assert_int_equal(hist_percentile(h, 100.0), 100);
    assert_int_equal(hist_percentile(h, 1e6), 100);
    /* 1000 values: 99.9 % is the 999th, though 99.9 is not binary. */
    hist_reset(h);
    hist_record_n(h, 5, 999);
    hist_record(h, 6);
    assert_int_equal(hist_percentile(h, 99.9), 5);
    assert_int_equal(hist_percentile(h, 99.91), 6);
    /* The cap: one value in a wide bucket reads back as itself. */
    hist_reset(h);
    hist_record(h, 1000001);
    assert_true(hist_highest_of(hist_index_of(1000001)) > 1000001);
    assert_int_equal(hist_percentile(h, 50.0), 1000001);
}

static void
test_record_n_and_mean(void **state)
{
    struct fx *f = *state;

    new_hists(f, 2);
    for (int k = 0; k < 7; k++) {
        hist_record(f->h[0], 3000);
    }
    hist_record(f->h[0], 10);
    hist_record_n(f->h[1], 3000, 7);
    hist_record_n(f->h[1], 10, 1);
    hist_record_n(f->h[1], 99999999, 0); /* a no-op: min/max stay */
    assert_int_equal(hist_count(f->h[1]), 8);
    assert_int_equal(hist_max(f->h[1]), 3000);
    assert_int_equal(export_all(f->h[0], &f->b1), 2);
    assert_int_equal(export_all(f->h[1], &f->b2), 2);
    assert_memory_equal(f->b1, f->b2, 2 * sizeof(*f->b1));
    /* 3000 lies in [3000, 3001]: midpoint 3000.5. */
    assert_true(hist_mean(f->h[0]) == (7 * 3000.5 + 10) / 8);
    assert_true(hist_mean(f->h[1]) == hist_mean(f->h[0]));
}

/* --- merging and the wire --- */

static void
assert_same(struct fx *f, const struct hist *a, const struct hist *b)
{
    size_t na = export_all(a, &f->b1), nb = export_all(b, &f->b2);

    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(f->b1[i].index, f->b2[i].index);
        assert_int_equal(f->b1[i].count, f->b2[i].count);
    }
    assert_int_equal(hist_count(a), hist_count(b));
    assert_int_equal(hist_clamped(a), hist_clamped(b));
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
    assert_true(hist_mean(a) == hist_mean(b));
    for (int p10 = 0; p10 <= 1000; p10++) {
        assert_int_equal(hist_percentile(a, p10 / 10.0),
                         hist_percentile(b, p10 / 10.0));
    }
    for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
        double p = (double)pcts[k].num / (double)pcts[k].den;
        assert_int_equal(hist_percentile(a, p), hist_percentile(b, p));
    }
}

static void
test_merge_exact(void **state)
{
    static const int parts[] = {1, 2, 5, 10};
    const size_t n = 200000;
    struct fx *f = *state;
    struct rng r;

    new_hists(f, 1 + 10 + 1);
    /* Values up to 2^34 us: some are clamped, and must merge too. */
    fill(f, f->h[0], n, 7, 30);
    assert_true(hist_clamped(f->h[0]) > 0);
    rng_seed(&r, 99);
    for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
        struct hist *merged = f->h[11];

        hist_reset(merged);
        for (int j = 0; j < parts[k]; j++) {
            hist_reset(f->h[1 + j]);
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t j = rng_range(&r, 0, (uint64_t)parts[k] - 1);
            hist_record(f->h[1 + j], f->data[i]);
        }
        for (int j = 0; j < parts[k]; j++) {
            hist_add(merged, f->h[1 + j]);
        }
        assert_same(f, f->h[0], merged);
    }
}

static void
test_export_import(void **state)
{
    struct fx *f = *state;
    size_t n, half;

    new_hists(f, 3);
    fill(f, f->h[0], 50000, 11, 40);
    n = export_all(f->h[0], &f->b1);
    assert_true(n > 1000);
    assert_int_equal(hist_nonzero(f->h[0]), n);
    for (size_t i = 1; i < n; i++) {
        assert_true(f->b1[i - 1].index < f->b1[i].index);
        assert_true(f->b1[i].count > 0);
    }
    /* A short export writes the first max entries only. */
    assert_int_equal(hist_export(f->h[0], f->b1, 3), 3);
    assert_int_equal(export_all(f->h[0], &f->b1), n);

    assert_int_equal(hist_import(f->h[1], f->b1, n), 0);
    assert_int_equal(hist_count(f->h[1]), hist_count(f->h[0]));
    /* Exact values do not travel: min/max are the buckets' range. */
    assert_int_equal(hist_min(f->h[1]), hist_lowest_of(f->b1[0].index));
    assert_int_equal(hist_max(f->h[1]), hist_highest_of(f->b1[n - 1].index));
    assert_true(hist_mean(f->h[1]) == hist_mean(f->h[0]));
    for (int p = 1; p < 100; p++) {
        assert_int_equal(hist_percentile(f->h[1], p),
                         hist_percentile(f->h[0], p));
    }
    assert_int_equal(export_all(f->h[1], &f->b2), n);
    assert_memory_equal(f->b1, f->b2, n * sizeof(*f->b1));

    /* Two imports in halves (second half first) equal one import. */
    half = n / 2;
    assert_int_equal(hist_import(f->h[2], f->b1 + half, n - half), 0);
    assert_int_equal(hist_import(f->h[2], f->b1, half), 0);
    assert_int_equal(hist_min(f->h[2]), hist_min(f->h[1]));
    assert_int_equal(hist_max(f->h[2]), hist_max(f->h[1]));
    assert_int_equal(export_all(f->h[2], &f->b2), n);
    assert_memory_equal(f->b1, f->b2, n * sizeof(*f->b1));
}

/*
 * reset, add, export and the queries walk only the index range between
 * min and max (so that pages of counts nothing went into are never
 * written): a reset must still clear every count, whatever range came
 * before, and an add or import into a histogram whose range is elsewhere
 * must leave both ends counted.
 */
static void
test_range_walk(void **state)
{
    static const uint64_t v[] = {0, 1, 2047, 2048, 123456, HIST_MAX_US};
    const size_t nv = sizeof(v) / sizeof(v[0]);
    struct fx *f = *state;
    struct hist_bucket b[8];

    new_hists(f, 3);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < nv; i++) {
            hist_record(f->h[0], v[i]);
        }
        hist_record(f->h[0], HIST_MAX_US + 5); /* clamped */
        assert_int_equal(hist_nonzero(f->h[0]), nv);
        assert_int_equal(hist_export(f->h[0], b, 8), nv);
        for (size_t i = 0; i < nv; i++) {
            assert_int_equal(b[i].index, hist_index_of(v[i]));
            /* 1 each, not round + 1: the reset cleared them all. */
            assert_int_equal(b[i].count, i + 1 == nv ? 2 : 1);
        }
        hist_reset(f->h[0]);
        assert_int_equal(hist_nonzero(f->h[0]), 0);
        assert_int_equal(hist_percentile(f->h[0], 50.0), 0);
    }
    /* Narrow ranges: one value, reset, then values on either side. */
    hist_record(f->h[1], 5000);
    hist_reset(f->h[1]);
    hist_record(f->h[1], 4000);
    hist_record(f->h[1], 6000);
    assert_int_equal(hist_nonzero(f->h[1]), 2);
    assert_int_equal(hist_percentile(f->h[1], 50.0),
                     hist_highest_of(hist_index_of(4000)));
    /* An add of a histogram whose range lies above dst's, and one below. */
    hist_record(f->h[2], 10);
    hist_add(f->h[1], f->h[2]);
    hist_reset(f->h[2]);
    hist_record(f->h[2], 1000000);
    hist_add(f->h[1], f->h[2]);
    assert_int_equal(hist_export(f->h[1], b, 8), 4);
    assert_int_equal(b[0].index, hist_index_of(10));
    assert_int_equal(b[3].index, hist_index_of(1000000));
    assert_int_equal(hist_count(f->h[1]), 4);
    /* After import too: its buckets widen the range. */
    hist_reset(f->h[2]);
    assert_int_equal(hist_import(f->h[2], b, 4), 0);
    assert_int_equal(hist_nonzero(f->h[2]), 4);
    hist_reset(f->h[2]);
    assert_int_equal(hist_nonzero(f->h[2]), 0);
    assert_int_equal(hist_import(f->h[2], b + 3, 1), 0);
    assert_int_equal(hist_export(f->h[2], b, 8), 1);
    assert_int_equal(b[0].count, 1);
}

static void
test_import_extends(void **state)
{
    struct fx *f = *state;
    struct hist_bucket b[2];
    struct hist *h;

    new_hists(f, 1);
    h = f->h[0];
    hist_record(h, 5000);
    hist_record(h, 6000);
    b[0].index = hist_index_of(100000);
    b[0].count = 2;
    b[1].index = hist_index_of(10);
    b[1].count = 3;
    assert_int_equal(hist_import(h, b, 2), 0);
    assert_int_equal(hist_count(h), 7);
    assert_int_equal(hist_min(h), 10);
    assert_int_equal(hist_max(h), hist_highest_of(hist_index_of(100000)));
    /* An import inside the range keeps the exact min/max. */
    b[0].index = hist_index_of(50);
    b[0].count = 1;
    assert_int_equal(hist_import(h, b, 1), 0);
    assert_int_equal(hist_min(h), 10);
    assert_int_equal(hist_max(h), hist_highest_of(hist_index_of(100000)));
    assert_int_equal(hist_count(h), 8);
    assert_int_equal(hist_import(h, b, 0), 0);
    assert_int_equal(hist_count(h), 8);
}

static void
test_import_rejects(void **state)
{
    static const struct {
        uint32_t index;
        uint64_t count;
    } bad[] = {
        {HIST_BUCKETS, 1},
        {UINT32_MAX, 1},
        {7, 0},
    };
    struct fx *f = *state;
    struct hist_bucket b[3];
    struct hist *h;
    size_t n;

    new_hists(f, 2);
    h = f->h[0];
    fill(f, h, 1000, 3, 44);
    n = export_all(h, &f->b1);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        /* The bad entry comes last: nothing before it may be added. */
        b[0].index = 3;
        b[0].count = 1000;
        b[1].index = 20000;
        b[1].count = 1;
        b[2].index = bad[k].index;
        b[2].count = bad[k].count;
        assert_int_equal(hist_import(h, b, 3), E_RANGE);
        assert_int_equal(hist_import(f->h[1], b, 3), E_RANGE);
    }
    /* Counts whose sum overflows, alone or with what h holds. */
    b[0].index = 1;
    b[0].count = UINT64_MAX;
    b[1].index = 2;
    b[1].count = 1;
    assert_int_equal(hist_import(f->h[1], b, 2), E_RANGE);
    assert_int_equal(hist_import(h, b, 1), E_RANGE);

    assert_int_equal(hist_count(h), 1000);
    assert_int_equal(hist_min(h), f->sorted[0]);
    assert_int_equal(hist_max(h), f->sorted[999]);
    assert_int_equal(export_all(h, &f->b2), n);
    assert_memory_equal(f->b1, f->b2, n * sizeof(*f->b1));
    assert_int_equal(hist_count(f->h[1]), 0);
    assert_int_equal(hist_nonzero(f->h[1]), 0);
    assert_int_equal(hist_max(f->h[1]), 0);
    /* An empty h takes a single huge count. */
    assert_int_equal(hist_import(f->h[1], b, 1), 0);
    assert_int_equal(hist_count(f->h[1]), UINT64_MAX);
}

/* --- edge cases --- */

static void
assert_empty(const struct hist *h)
{
    struct hist_bucket b;

    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_clamped(h), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0.0);
    assert_int_equal(hist_percentile(h, 50.0), 0);
    assert_int_equal(hist_percentile(h, 99.9), 0);
    assert_int_equal(hist_percentile(h, 100.0), 0);
    assert_int_equal(hist_nonzero(h), 0);
    assert_int_equal(hist_export(h, &b, 1), 0);
}

static void
test_empty(void **state)
{
    struct fx *f = *state;

    new_hists(f, 2);
    assert_empty(f->h[0]);
    hist_add(f->h[0], f->h[1]);
    assert_empty(f->h[0]);
    /* Adding an empty histogram must not disturb min/max. */
    hist_record(f->h[0], 77);
    hist_record(f->h[0], HIST_MAX_US + 5);
    hist_add(f->h[0], f->h[1]);
    assert_int_equal(hist_min(f->h[0]), 77);
    assert_int_equal(hist_max(f->h[0]), HIST_MAX_US);
    /* Adding into an empty one copies them. */
    hist_add(f->h[1], f->h[0]);
    assert_int_equal(hist_min(f->h[1]), 77);
    assert_int_equal(hist_clamped(f->h[1]), 1);
    hist_reset(f->h[0]);
    assert_empty(f->h[0]);
    /* Reusable after a reset: min starts afresh. */
    hist_record(f->h[0], 500);
    assert_int_equal(hist_min(f->h[0]), 500);
    assert_int_equal(hist_max(f->h[0]), 500);
    hist_record(f->h[0], 0);
    assert_int_equal(hist_min(f->h[0]), 0);
    assert_int_equal(hist_percentile(f->h[0], 50.0), 0);
    hist_free(NULL);
}

static void
test_new_nomem(void **state)
{
    struct fx *f = *state;
    static char mark;
    struct hist *sentinel = (struct hist *)(void *)&mark;
    struct hist *h = sentinel;
    int rv;

    alloc_fail_after(0);
    rv = hist_new(&h);
    alloc_fail_after(-1);
    if (h != sentinel) {
        f->h[1] = h; /* freed by teardown */
    }
    assert_int_equal(rv, E_NOMEM);
    assert_ptr_equal(h, sentinel);
    assert_int_equal(hist_new(&f->h[0]), 0);
    assert_non_null(f->h[0]);
    assert_empty(f->h[0]);
}

int
hist_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_boundaries),
        cmocka_unit_test(test_index_round_trip),
        cmocka_unit_test_setup_teardown(test_clamp, setup, teardown),
        cmocka_unit_test(test_relative_error),
        cmocka_unit_test_setup_teardown(test_percentiles_truth, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_percentile_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_n_and_mean, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merge_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_extends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_nomem, setup, teardown),
    };
    return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
