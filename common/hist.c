/* SPDX-License-Identifier: MIT */
/*
 * The log-linear latency histogram of hist.h: one flat array of exact
 * uint64 counts indexed by hist_index_of(). It holds no sample window and
 * does not allocate after hist_new, so recording is a shift, a clz and an
 * increment.
 */
#include "hist.h"

#include <math.h>
#include <stdbool.h>

#include "alloc.h"
#include "err.h"
#include "poison.h"

/* Buckets >= 1 hold 1024 indexes each (half of the 2^11 sub-buckets). */
#define HALF_BITS  (HIST_SUB_BITS - 1)
#define HALF_COUNT (1u << HALF_BITS)
/* v | LOW_MASK puts every value below 2048 into bucket 0. */
#define LOW_MASK ((1ULL << HIST_SUB_BITS) - 1)

/*
 * min is UINT64_MAX and max 0 while total is 0, so that hist_record can take
 * the minimum and maximum without testing for emptiness; the getters report
 * 0 for an empty histogram.
 */
struct hist {
    uint64_t total;   /* sum of counts[] */
    uint64_t clamped; /* values recorded above HIST_MAX_US */
    uint64_t min;     /* exact smallest recorded value */
    uint64_t max;     /* exact largest recorded value (after clamping) */
    uint64_t counts[HIST_BUCKETS];
};

/* --- index mapping --- */

/*
 * The bucket of v is floor(log2(v | 2047)) - 10 and its sub-bucket v >> b;
 * the header's index 1024 * (b + 1) + (s - 1024) simplifies to
 * (b << 10) + s, which also holds for bucket 0 (index = v).
 */
static inline uint32_t
index_of(uint64_t v)
{
    unsigned b = (unsigned)(63 - __builtin_clzll(v | LOW_MASK)) - HALF_BITS;
    return (uint32_t)((b << HALF_BITS) + (v >> b));
}

/* The bucket (shift) of index i < HIST_BUCKETS. */
static inline unsigned
bucket_of_index(uint32_t i)
{
    return i < HALF_COUNT ? 0 : (i >> HALF_BITS) - 1;
}

uint32_t
hist_index_of(uint64_t value_us)
{
    return index_of(value_us > HIST_MAX_US ? HIST_MAX_US : value_us);
}

uint64_t
hist_lowest_of(uint32_t index)
{
    unsigned b;

    if (index >= HIST_BUCKETS) {
        return 0;
    }
    b = bucket_of_index(index);
    return (uint64_t)(index - (b << HALF_BITS)) << b;
}

uint64_t
hist_highest_of(uint32_t index)
{
    if (index >= HIST_BUCKETS) {
        return 0;
    }
    return hist_lowest_of(index) + (1ULL << bucket_of_index(index)) - 1;
}

/*
 * Every non-zero count lies in counts[index_of(min) .. index_of(max)]:
 * each writer (record, add, import) widens min and max over what it adds,
 * and min/max are values already clamped to HIST_MAX_US. Sets that range
 * and returns true, or returns false when h is empty (every count zero).
 * The loops below walk only that range, and write only counts that are
 * or become non-zero: a page of counts that never held one is never
 * written, so the kernel never backs it. An agent holds 4 buffers x 7
 * operations x 2 histograms per worker, 10 MB dense; writing all of them
 * each second (memset, or adding zeros) made all of it resident
 * (docs/internals/metrics.md, "Agent memory").
 */
static bool
used_range(const struct hist *h, uint32_t *lo, uint32_t *hi)
{
    if (h->total == 0) {
        return false;
    }
    *lo = index_of(h->min);
    *hi = index_of(h->max);
    return true;
}

/* --- life cycle --- */

int
hist_new(struct hist **out)
{
    struct hist *h = xcalloc(1, sizeof(*h));

    if (h == NULL) {
        return E_NOMEM;
    }
    h->min = UINT64_MAX;
    *out = h;
    return 0;
}

void
hist_free(struct hist *h)
{
    xfree(h);
}

void
hist_reset(struct hist *h)
{
    uint32_t lo, hi;

    if (used_range(h, &lo, &hi)) {
        for (uint32_t i = lo; i <= hi; i++) {
            if (h->counts[i] != 0) {
                h->counts[i] = 0;
            }
        }
    }
    h->total = 0;
    h->clamped = 0;
    h->min = UINT64_MAX;
    h->max = 0;
}

/* --- recording and merging --- */

void
hist_record_n(struct hist *h, uint64_t value_us, uint64_t count)
{
    uint64_t over = value_us > HIST_MAX_US;
    uint64_t v = over ? HIST_MAX_US : value_us;

    /* A zero count must not move min/max of what was never recorded. */
    if (count == 0) {
        return;
    }
    h->counts[index_of(v)] += count;
    h->total += count;
    h->clamped += over * count;
    h->min = v < h->min ? v : h->min;
    h->max = v > h->max ? v : h->max;
}

void
hist_record(struct hist *h, uint64_t value_us)
{
    uint64_t over = value_us > HIST_MAX_US;
    uint64_t v = over ? HIST_MAX_US : value_us;

    h->counts[index_of(v)]++;
    h->total++;
    h->clamped += over;
    h->min = v < h->min ? v : h->min;
    h->max = v > h->max ? v : h->max;
}

void
hist_add(struct hist *dst, const struct hist *src)
{
    uint32_t lo, hi;

    if (!used_range(src, &lo, &hi)) {
        return;
    }
    for (uint32_t i = lo; i <= hi; i++) {
        if (src->counts[i] != 0) {
            dst->counts[i] += src->counts[i];
        }
    }
    dst->total += src->total;
    dst->clamped += src->clamped;
    dst->min = src->min < dst->min ? src->min : dst->min;
    dst->max = src->max > dst->max ? src->max : dst->max;
}

/* --- queries --- */

uint64_t
hist_count(const struct hist *h)
{
    return h->total;
}

uint64_t
hist_clamped(const struct hist *h)
{
    return h->clamped;
}

uint64_t
hist_min(const struct hist *h)
{
    return h->total == 0 ? 0 : h->min;
}

uint64_t
hist_max(const struct hist *h)
{
    return h->total == 0 ? 0 : h->max;
}

double
hist_mean(const struct hist *h)
{
    long double sum = 0.0L;
    uint32_t lo, hi;

    if (!used_range(h, &lo, &hi)) {
        return 0.0;
    }
    /* From the counts, not a running sum: the result depends only on the
     * buckets, so merged or imported histograms give the same mean. */
    for (uint32_t i = lo; i <= hi; i++) {
        if (h->counts[i] != 0) {
            long double mid = ((long double)hist_lowest_of(i) +
                               (long double)hist_highest_of(i)) /
                              2.0L;
            sum += mid * (long double)h->counts[i];
        }
    }
    return (double)(sum / (long double)h->total);
}

/*
 * The rank ceil(p / 100 * total), 1 .. total. p is a binary double, so
 * 99.9 is really 99.900000000000005684...; a product that lies within a
 * relative 1e-15 above an integer (ten times the worst representation error
 * of p, 2^-53) is taken to be that integer, or 99.9 % of 1000 values would
 * be the 1000th instead of the 999th.
 */
static uint64_t
rank_of(double p, uint64_t total)
{
    long double x = (long double)p * (long double)total / 100.0L;
    long double r = floorl(x);

    if (x - r > x * 1e-15L) {
        r += 1.0L;
    }
    if (!(r >= 1.0L)) { /* also catches NaN */
        return 1;
    }
    if (r >= (long double)total) {
        return total;
    }
    return (uint64_t)r;
}

uint64_t
hist_percentile(const struct hist *h, double p)
{
    uint64_t rank, cum = 0;
    uint32_t lo, hi;

    if (!used_range(h, &lo, &hi)) {
        return 0;
    }
    if (p >= 100.0) {
        return h->max;
    }
    rank = rank_of(p, h->total);
    for (uint32_t i = lo; i <= hi; i++) {
        cum += h->counts[i];
        if (cum >= rank) {
            uint64_t v = hist_highest_of(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max; /* not reached: the counts sum to total */
}

/* --- wire --- */

size_t
hist_nonzero(const struct hist *h)
{
    size_t n = 0;
    uint32_t lo, hi;

    if (!used_range(h, &lo, &hi)) {
        return 0;
    }
    for (uint32_t i = lo; i <= hi; i++) {
        n += h->counts[i] != 0;
    }
    return n;
}

size_t
hist_export(const struct hist *h, struct hist_bucket *out, size_t max)
{
    size_t n = 0;
    uint32_t lo, hi;

    if (!used_range(h, &lo, &hi)) {
        return 0;
    }
    for (uint32_t i = lo; i <= hi && n < max; i++) {
        if (h->counts[i] != 0) {
            out[n].index = i;
            out[n].count = h->counts[i];
            n++;
        }
    }
    return n;
}

int
hist_import(struct hist *h, const struct hist_bucket *b, size_t n)
{
    int rv = 0;
    uint64_t sum = 0, vlo, vhi;
    uint32_t lo = UINT32_MAX, hi = 0;

    /* Validate everything first: a rejected batch leaves h untouched. */
    for (size_t i = 0; i < n; i++) {
        if (b[i].index >= HIST_BUCKETS || b[i].count == 0 ||
            b[i].count > UINT64_MAX - sum) {
            rv = E_RANGE;
            goto out;
        }
        sum += b[i].count;
        lo = b[i].index < lo ? b[i].index : lo;
        hi = b[i].index > hi ? b[i].index : hi;
    }
    if (n == 0) {
        goto out;
    }
    if (sum > UINT64_MAX - h->total) {
        rv = E_RANGE;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        h->counts[b[i].index] += b[i].count;
    }
    /* An empty h has min UINT64_MAX and max 0, so this sets them. */
    vlo = hist_lowest_of(lo);
    vhi = hist_highest_of(hi);
    h->min = vlo < h->min ? vlo : h->min;
    h->max = vhi > h->max ? vhi : h->max;
    h->total += sum;
out:
    return rv;
}
