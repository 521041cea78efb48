/* SPDX-License-Identifier: MIT */
/*
 * A log-linear latency histogram after HdrHistogram's layout: values in
 * microseconds from 1 us to HIST_MAX_US, recorded with 3 significant digits
 * (the bucket that holds v has a width of at most v/1024, so any value read
 * back is within 0.1 % of the true one). Counts are exact integers, so two
 * histograms add losslessly: the same requests recorded on 1 or 10 agents
 * merge into the same histogram, bucket for bucket, and give the same
 * percentiles. The layout is fixed by the constants below; the master and the
 * agents must agree on it (it is part of the wire protocol, see
 * proto/PROTOCOL.md).
 *
 * Layout: sub-bucket count 2048 (half = 1024). Bucket 0 holds values
 * 0..2047 in steps of 1; bucket b >= 1 holds [1024 << b, 2048 << b) in
 * steps of (1 << b). A value v maps to index
 *     b = max(0, floor(log2(v | 2047)) - 10)      (bucket)
 *     s = v >> b                                  (sub-bucket, 1024..2047
 *                                                  when b >= 1)
 *     index = b == 0 ? v : 1024 * (b + 1) + (s - 1024)
 * and HIST_BUCKETS indexes cover 0..HIST_MAX_US. Values above HIST_MAX_US
 * are clamped to it and counted in hist_clamped().
 *
 * Thread-safety: none; each histogram has one writer. Not allocated on the
 * hot path: hist_record() only increments.
 */
#ifndef COMMON_HIST_H
#define COMMON_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Highest trackable value: 2^32 - 1 us (about 71.6 minutes). */
#define HIST_MAX_US 4294967295ULL
/* Sub-bucket resolution: 2^11 sub-buckets, half of them per bucket. */
#define HIST_SUB_BITS 11
/* Buckets 0..21 cover up to 2^32 - 1: (21 + 1 + 1) * 1024 indexes. */
#define HIST_BUCKETS (23u * 1024u)

struct hist;

/* One non-empty bucket, as exported for the wire. */
struct hist_bucket {
    uint32_t index; /* 0 .. HIST_BUCKETS - 1 */
    uint64_t count; /* > 0 */
};

/* Allocates an empty histogram into *out. Returns 0 or E_NOMEM (then *out
 * is untouched). Free with hist_free. */
int hist_new(struct hist **out);

/* Frees h; NULL is a no-op. */
void hist_free(struct hist *h);

/* Empties h (all counts zero, min/max reset). */
void hist_reset(struct hist *h);

/* Records one value in us. Values above HIST_MAX_US are clamped. */
void hist_record(struct hist *h, uint64_t value_us);

/* Records count copies of value_us. */
void hist_record_n(struct hist *h, uint64_t value_us, uint64_t count);

/* Adds every count of src into dst (exact). */
void hist_add(struct hist *dst, const struct hist *src);

/* Total number of recorded values. */
uint64_t hist_count(const struct hist *h);

/* Number of values that were clamped to HIST_MAX_US. */
uint64_t hist_clamped(const struct hist *h);

/* Smallest and largest recorded value, exact (not bucketed); 0 when empty.
 * After hist_import the min/max are those of the buckets (lowest/highest
 * equivalent value), since exact values do not travel. */
uint64_t hist_min(const struct hist *h);
uint64_t hist_max(const struct hist *h);

/* Mean of the recorded values, each taken as the midpoint of its bucket,
 * (lowest + highest) / 2, and computed from the counts (O(HIST_BUCKETS)):
 * it depends only on the buckets, so it is the same after hist_add or
 * hist_import as for the histogram recorded in one piece. 0.0 when empty. */
double hist_mean(const struct hist *h);

/*
 * The value at percentile p (0 < p <= 100): the highest equivalent value of
 * the bucket holding the ceil(p/100 * count)-th value (HdrHistogram's
 * definition), capped at hist_max(). Returns 0 for an empty histogram.
 * p = 100 returns hist_max(); p <= 0 (or NaN) is taken as the 1st value.
 * A product p/100 * count within a relative 1e-15 of an integer counts as
 * that integer, so that the binary double 99.9 of 1000 values is the 999th.
 * O(HIST_BUCKETS).
 */
uint64_t hist_percentile(const struct hist *h, double p);

/* Map between values and indexes (exposed for tests and the wire).
 * hist_index_of(v) is the index that v is counted in (v clamped to
 * HIST_MAX_US first); hist_lowest_of(i) and hist_highest_of(i) are the
 * smallest and largest values that map to i (0 for i >= HIST_BUCKETS). */
uint32_t hist_index_of(uint64_t value_us);
uint64_t hist_lowest_of(uint32_t index);
uint64_t hist_highest_of(uint32_t index);

/* Number of non-empty buckets. */
size_t hist_nonzero(const struct hist *h);

/* Writes the non-empty buckets in increasing index order into out (room
 * for max entries). Returns the number written; if h has more than max
 * non-empty buckets, only the first max are written (call hist_nonzero
 * first to size out). */
size_t hist_export(const struct hist *h, struct hist_bucket *out, size_t max);

/* Adds n exported buckets into h (any order; a repeated index adds up).
 * Returns 0, or E_RANGE if an index is >= HIST_BUCKETS, a count is 0 or the
 * total would overflow 2^64 - 1 (then h is unchanged: validated first).
 * min/max become the lowest/highest equivalent values of the imported range
 * if h was empty, else are extended by them. hist_clamped() is not carried
 * by buckets and is left as it was. */
int hist_import(struct hist *h, const struct hist_bucket *b, size_t n);

#endif
