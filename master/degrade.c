/* SPDX-License-Identifier: MIT */
/*
 * Degradation windows and their exact p99s (see degrade.h). Not a
 * threshold checker: report.c turns a violated verdict into a violation.
 */
#include "degrade.h"

#include <string.h>

#include "../common/err.h"
#include "../common/hist.h"
#include "../common/poison.h"

int
degrade_windows(uint64_t duration_ms, uint64_t ramp_ms,
                struct degrade_windows *out)
{
    uint64_t n = duration_ms / 1000u;
    uint64_t r = ramp_ms / 1000u + (ramp_ms % 1000u != 0 ? 1u : 0u);
    uint64_t span = 0;
    uint64_t w = 0;

    if (n > UINT32_MAX || r >= n || n - r < 2) {
        return E_RANGE;
    }
    span = n - r;
    w = span / 5u;
    if (w == 0) {
        w = 1;
    }
    out->first_from = (uint32_t)r;
    out->first_to = (uint32_t)(r + w);
    out->last_from = (uint32_t)(n - w);
    out->last_to = (uint32_t)n;
    return 0;
}

/* Merges intervals [from, to) of a's all-operations latency into acc. */
static void
merge_window(const struct agg *a, uint32_t from, uint32_t to,
             struct hist *scratch, struct hist *acc)
{
    hist_reset(acc);
    for (uint32_t k = from; k < to; k++) {
        if (agg_interval_hist(a, k, -1, false, scratch) == 0) {
            hist_add(acc, scratch);
        }
    }
}

int
degrade_measure(const struct agg *a, uint64_t duration_ms, uint64_t ramp_ms,
                double max, struct degrade *out)
{
    struct hist *scratch = NULL;
    struct hist *acc = NULL;
    int rv = 0;

    memset(out, 0, sizeof(*out));
    out->max = max;
    if (degrade_windows(duration_ms, ramp_ms, &out->w) != 0) {
        goto out;
    }
    out->windows_ok = true;
    if ((rv = hist_new(&scratch)) != 0 || (rv = hist_new(&acc)) != 0) {
        goto out;
    }
    merge_window(a, out->w.first_from, out->w.first_to, scratch, acc);
    out->first_count = hist_count(acc);
    out->first_p99_us = hist_percentile(acc, 99.0);
    merge_window(a, out->w.last_from, out->w.last_to, scratch, acc);
    out->last_count = hist_count(acc);
    out->last_p99_us = hist_percentile(acc, 99.0);
    if (out->first_count == 0 || out->last_count == 0 ||
        out->first_p99_us == 0) {
        goto out;
    }
    out->measured = true;
    out->value = (double)out->last_p99_us / (double)out->first_p99_us;
    /* A ratio alone would call 1 ms -> 2 ms a degradation: at sub-ms and
     * few-ms latencies that is scheduler noise. A violation needs the p99
     * to have grown by DEGRADE_MIN_GROWTH_US as well. */
    out->violated =
        out->value > max &&
        out->last_p99_us >= out->first_p99_us + DEGRADE_MIN_GROWTH_US;
out:
    hist_free(scratch);
    hist_free(acc);
    return rv;
}
