/* SPDX-License-Identifier: MIT */
/*
 * The memory test's verdict (docs/tests-design.md 5.5): the target's
 * memory samples (one agent takes them, one per batch at most), a
 * least-squares line through those after warmup_seconds, its slope in
 * MB/min and R^2, and the verdict: "leak" when the slope exceeds the
 * threshold and the line explains the growth (R^2 >= MEMLEAK_MIN_R2),
 * else "no leak"; "not enough data" with fewer than two samples after
 * the warmup. memleak_fit is pure; memleak_measure reads the aggregate.
 */
#ifndef MASTER_MEMLEAK_H
#define MASTER_MEMLEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "aggregate.h"

#define MEMLEAK_MAX_SAMPLES 2048 /* kept per test; later ones are dropped */
#define MEMLEAK_MIN_R2      0.5

struct memleak_sample {
    uint64_t t_ms;  /* since the run's start (the sampling agent's clock) */
    uint64_t bytes; /* the target's memory */
};

struct memleak {
    size_t n;       /* samples kept */
    size_t dropped; /* beyond MEMLEAK_MAX_SAMPLES */
    struct memleak_sample s[MEMLEAK_MAX_SAMPLES];
    uint32_t warmup_s;
    size_t n_fit;       /* samples at or after the warmup */
    bool measured;      /* n_fit >= 2 and their times differ */
    double slope;       /* MB/min (MB = 2^20 bytes) */
    double r2;          /* 0 when the samples do not vary */
    double threshold;   /* leak_threshold_mb_per_min */
    bool leak;          /* measured, slope > threshold and r2 >= MIN_R2 */
    const char *source; /* config name of the source ("pid", ...) */
};

/*
 * Least squares of y over x (n points): *slope = cov(x, y) / var(x), *r2
 * = 1 - SS_res / SS_tot (0 when every y is the same: a flat line explains
 * nothing and has nothing to explain). Returns 0, or E_RANGE when n < 2
 * or every x is the same (outputs untouched). Pure.
 */
int memleak_fit(const double *x, const double *y, size_t n, double *slope,
                double *r2);

/*
 * Collects the samples of intervals 0 .. n_intervals - 1 from a (in
 * interval order), fits those taken at or after warmup_s (x in minutes,
 * y in MB) and fills *out (fully overwritten). source is borrowed.
 */
void memleak_measure(const struct agg *a, uint32_t n_intervals,
                     uint32_t warmup_s, double threshold, const char *source,
                     struct memleak *out);

/* "leak", "no leak" or "not enough data". */
const char *memleak_verdict(const struct memleak *m);

/*
 * Appends the results' memory_leak value: {"verdict", "memory_source",
 * "samples": [[seconds, MB], ...], "samples_fitted", "samples_dropped",
 * "warmup_seconds", "slope_mb_per_min", "r2" (null when not measured),
 * "threshold_mb_per_min", "min_r2", "first_mb", "last_mb"}. Returns 0,
 * E_TOOBIG or E_NOMEM.
 */
int memleak_json(struct buf *out, const struct memleak *m);

#endif
