/* SPDX-License-Identifier: MIT */
/*
 * The recovery test's verdict (docs/tests-design.md 5.6): the baseline's
 * p99 and error rate, the same figures during and after the invalid
 * phase, and the recovery time: the start of the first rolling window
 * after the invalid phase whose p99 and error rate are back within the
 * margin of the baseline's. Every window's histogram is merged exactly
 * from per-interval histograms of the baseline's operations (op invalid
 * and session creation never count). recovery_detect is pure over a callback
 * that supplies the intervals; recovery_measure reads them from the aggregate.
 */
#ifndef MASTER_RECOVERY_H
#define MASTER_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/hist.h"
#include "aggregate.h"

/* Below this the p99s are compared with an absolute slack (us): a
 * sub-millisecond p99 jitters by more than any margin on a shared host. */
#define RECOVERY_SLACK_US 1000u

/*
 * Adds interval k's latency histogram (of the baseline's operations) to
 * acc and its completed requests and errors to *req and *err. Returns 0
 * or a negative E_* (the interval then counts as empty).
 */
typedef int recovery_add_fn(void *ctx, uint32_t k, struct hist *acc,
                            uint64_t *req, uint64_t *err);

/* Where the phases are, in one-second intervals since the run's start. */
struct recovery_params {
    uint32_t baseline_from; /* first baseline interval (1: skips set-up) */
    uint32_t baseline_to;   /* the invalid phase starts here */
    uint32_t phase_end;     /* the invalid phase ends here (exclusive) */
    uint32_t end;           /* the baseline stream's last interval + 1 */
    uint32_t window;        /* rolling window, seconds (>= 1) */
    double margin;          /* fraction of the baseline, >= 0 */
};

/* One span's figures. */
struct recovery_span {
    uint32_t from, to; /* intervals [from, to) */
    uint64_t requests;
    uint64_t errors;
    double error_rate; /* errors / requests, 0 without requests */
    uint64_t p99_us;   /* 0 without latencies */
};

struct recovery {
    bool measured;  /* false: "not enough data" (no baseline request, or
                     * phases that do not fit) */
    bool recovered; /* a window within the margin was found */
    uint32_t recovery_time_s; /* recovered: its start - phase_end */
    uint32_t window;
    double margin;
    uint64_t p99_limit_us; /* a window's p99 must be <= this */
    double err_limit;      /* and its error rate <= this */
    struct recovery_span baseline, during, after;
    struct recovery_span first_ok; /* recovered: the window found */
};

/*
 * Finds the recovery (see the file comment) from intervals supplied by
 * add(ctx, k, ...) for k in [baseline_from, end). The limits are p99 <=
 * max(base_p99 * (1 + margin), base_p99 + RECOVERY_SLACK_US) and error
 * rate <= base_error_rate * (1 + margin) (a baseline without errors
 * allows none). Windows [j, j + window) for j = phase_end .. end - window
 * are tried in order; one without requests does not count as recovered.
 * out is fully overwritten. Returns 0 or E_NOMEM (out says not measured).
 * Pure apart from the callback.
 */
int recovery_detect(const struct recovery_params *p, recovery_add_fn *add,
                    void *ctx, struct recovery *out);

/*
 * recovery_detect over the aggregate: interval k's histogram is the merge
 * of the mix's ops (OP_OBSERVE .. OP_CLEAR): OP_INVALID is meant to fail,
 * and OP_SESSION is set-up (the invalid stream's slots create their
 * sessions in the baseline's last second). Returns as recovery_detect.
 */
int recovery_measure(const struct agg *a, const struct recovery_params *p,
                     struct recovery *out);

/*
 * Appends the results' error_recovery value to out: a JSON object with
 * baseline, during and after ({from_interval, to_interval, requests,
 * errors, error_rate, p99_ms}), the invalid requests by status class
 * (from a's OP_INVALID: 2xx/4xx/5xx/transport counts and each HTTP
 * status), recovery_time_seconds (null when not recovered), the limits
 * and verdict ("recovered", "not recovered", "not enough data"). Returns
 * 0, E_TOOBIG or E_NOMEM.
 */
int recovery_json(struct buf *out, const struct agg *a,
                  const struct recovery *r);

/* The verdict word of r. */
const char *recovery_verdict(const struct recovery *r);

#endif
