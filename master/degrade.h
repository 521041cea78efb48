/* SPDX-License-Identifier: MIT */
/*
 * The sustained test's degradation verdict (docs/tests-design.md 5.2):
 * p99 latency of the last fifth of the full-load part of the run over the
 * p99 of its first fifth, each window's per-interval histograms merged
 * exactly (never an average of percentiles). The window arithmetic is
 * pure; degrade_measure only reads the aggregate.
 */
#ifndef MASTER_DEGRADE_H
#define MASTER_DEGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include "aggregate.h"

/* Two disjoint windows of one-second intervals, each [from, to). */
struct degrade_windows {
    uint32_t first_from;
    uint32_t first_to;
    uint32_t last_from;
    uint32_t last_to;
};

/* The verdict of one run. */
/* The least growth of the p99, besides the ratio, that counts as
 * degradation: a 1 ms -> 3 ms p99 is noise of a shared machine, not a
 * service getting slower. */
#define DEGRADE_MIN_GROWTH_US 10000u

struct degrade {
    bool measured; /* false: "not enough data" (value and p99s are 0) */
    double value;  /* last p99 / first p99 */
    double max;    /* test_scenarios.sustained.max_degradation */
    bool violated; /* measured, value > max and the p99 grew by at least
                      DEGRADE_MIN_GROWTH_US */
    struct degrade_windows w; /* valid when windows_ok */
    bool windows_ok;          /* the run had two disjoint windows */
    uint64_t first_p99_us;
    uint64_t last_p99_us;
    uint64_t first_count; /* latencies merged into each window */
    uint64_t last_count;
};

/*
 * The windows of a run of duration_ms whose first ramp_ms are the ramp-up:
 * intervals are whole seconds 0 .. n-1 with n = duration_ms / 1000 (a
 * partial last second is not a full interval), full load starts at
 * interval r = ceil(ramp_ms / 1000), the full-load span is L = n - r, and
 * each window is w = max(1, floor(L / 5)) intervals: the first is
 * [r, r + w), the last [n - w, n). Returns 0, or E_RANGE when they would
 * not be disjoint (L < 2: "not enough data"; *out is then untouched).
 * Pure.
 */
int degrade_windows(uint64_t duration_ms, uint64_t ramp_ms,
                    struct degrade_windows *out);

/*
 * Measures the degradation of the run a aggregated: degrade_windows of
 * duration_ms (the load's length that actually ran: an interrupted run
 * passes its elapsed time) and ramp_ms, each window's latency histograms
 * (all operations) merged, their p99s and the ratio. out->measured is
 * false when the windows do not exist or either window holds no latency
 * (or a first p99 of 0). max is the limit the verdict compares with.
 * Returns 0 or E_NOMEM (out then says not measured).
 */
int degrade_measure(const struct agg *a, uint64_t duration_ms, uint64_t ramp_ms,
                    double max, struct degrade *out);

#endif
