/* SPDX-License-Identifier: MIT */
/*
 * The burst and pool tests' own figures and verdicts (docs/tests-design.md
 * 5.3 and 5.4), computed from a test's merged aggregate and its plan:
 * per-burst counts, latency, drain and recovery times; the pool blast's
 * failures by class, peak in flight and the probes. Pure (no I/O but the
 * caller's buffer), so it is unit-tested on hand-made aggregates.
 */
#ifndef MASTER_BURSTPOOL_H
#define MASTER_BURSTPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "aggregate.h"
#include "plan.h"

#define BURSTPOOL_MAX_BURSTS AGG_MAX_GROUPS
/* The baseline's p99 counts as back when within recovery_margin of its
 * pre-burst value, or within this much of it (us): a second of baseline
 * holds some 40 requests, so its p99 is about its slowest one, and on a
 * shared host one scheduling hiccup of a few ms would otherwise call a
 * recovered sub-millisecond service "not recovered". */
#define BURSTPOOL_RECOVERY_FLOOR_US 5000u

/* One burst's figures. Times in ms from the run's start. */
struct burstpool_burst {
    uint64_t planned;  /* burst_size */
    uint64_t requests; /* completed, of those intended in this burst */
    uint64_t errors, e503, refused, timeouts, resets;
    double start_ms, end_ms; /* planned window */
    bool drained;            /* every request done before the next burst */
    double drain_ms;         /* last completion - burst start; < 0: none */
    uint64_t p50_us, p99_us, max_us;     /* observes of its intervals */
    uint32_t from_interval, to_interval; /* those intervals, inclusive */
    bool recovery_measured;              /* a pre-burst p99 existed */
    bool recovered;
    double recovery_ms; /* burst end -> the first interval back within */
};

/* The burst test's result. */
struct burstpool_burst_result {
    uint32_t n_bursts;
    struct burstpool_burst b[BURSTPOOL_MAX_BURSTS];
    bool pre_measured;
    uint32_t pre_interval;
    uint64_t pre_p99_us; /* the baseline's p99 in pre_interval */
    double margin;
    bool pass;
    char reason[192];
};

/* The pool test's result. */
struct burstpool_pool_result {
    uint64_t planned; /* 2 x (pool size + overflow) */
    uint64_t requests, errors, e503, refused, timeouts, resets, other;
    uint64_t unsent;         /* blast arrivals never sent (whole test) */
    uint64_t peak_in_flight; /* agents' peaks summed: an upper bound */
    uint64_t probe_requests, probe_errors;
    bool probes_ok;
    const char *verdict; /* "graceful", "degraded", "fail" */
    char reason[192];
};

/*
 * The burst test's figures from a (merged) and p (its plan: stream 0 the
 * baseline, stream 1 the bursts, as plan_build makes them) with
 * recovery_margin. Recovery per burst: the first whole second after the
 * burst's end, before the next burst's start (the run's end for the
 * last), whose baseline p99 (every operation but observe and sessions:
 * the bursts send observes only) is at most pre x (1 + margin) or pre +
 * BURSTPOOL_RECOVERY_FLOOR_US; seconds without a baseline request do not
 * count. pass when every burst drained before the next and recovered.
 * Returns 0, E_INVAL (a plan of another shape) or E_NOMEM.
 */
int burstpool_burst(const struct agg *a, const struct plan *p, double margin,
                    struct burstpool_burst_result *out);

/*
 * The pool test's figures from a and p (stream 0 the blast, stream 1 the
 * probes). Probes succeed when they completed requests with an error rate
 * at most max_error_rate. Verdict: "fail" when the probes did not
 * succeed, else "degraded" when the blast saw a failure other than a 503
 * or a refusal, else "graceful". Returns 0 or E_INVAL.
 */
int burstpool_pool(const struct agg *a, const struct plan *p,
                   double max_error_rate, struct burstpool_pool_result *out);

/* Appends the burst test's `"key": value` pairs (verdict, bursts, ...)
 * and its summary lines to json and text. Returns 0 or E_NOMEM/E_TOOBIG. */
int burstpool_burst_write(const struct burstpool_burst_result *r,
                          struct buf *json, struct buf *text);

/* The same for the pool test. */
int burstpool_pool_write(const struct burstpool_pool_result *r,
                         struct buf *json, struct buf *text);

#endif
