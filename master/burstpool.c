/* SPDX-License-Identifier: MIT */
/*
 * The burst and pool tests' figures and verdicts from a merged aggregate
 * (docs/tests-design.md 5.3, 5.4). No I/O: the caller prints and saves.
 */
#include "burstpool.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "../common/hist.h"
#include "../common/ops.h"
#include "../common/poison.h"

/* scratch = the merged latency histograms of intervals [from, to] of the
 * ops in want (others skipped); tmp is a second scratch. */
static void
merge_intervals(const struct agg *a, uint32_t from, uint32_t to,
                const bool want[OP_COUNT], struct hist *scratch,
                struct hist *tmp)
{
    hist_reset(scratch);
    for (uint32_t k = from; k <= to; k++) {
        for (int op = 0; op < OP_COUNT; op++) {
            if (want[op] && agg_interval_hist(a, k, op, false, tmp) == 0) {
                hist_add(scratch, tmp);
            }
        }
    }
}

static double
ms_of_us(uint64_t us)
{
    return (double)us / 1000.0;
}

int
burstpool_burst(const struct agg *a, const struct plan *p, double margin,
                struct burstpool_burst_result *out)
{
    const struct proto_stream *bs = NULL;
    struct hist *h = NULL;
    struct hist *tmp = NULL;
    bool base_ops[OP_COUNT];
    bool obs_ops[OP_COUNT];
    uint64_t limit_us = 0;
    int rv = 0;

    memset(out, 0, sizeof(*out));
    if (p->n_agents == 0 || p->assign[0].n_streams < 2 ||
        p->assign[0].streams[1].burst_size == 0) {
        return E_INVAL;
    }
    bs = &p->assign[0].streams[1];
    if ((rv = hist_new(&h)) != 0 || (rv = hist_new(&tmp)) != 0) {
        goto out;
    }
    for (int op = 0; op < OP_COUNT; op++) {
        base_ops[op] = op != OP_OBSERVE && op != OP_SESSION;
        obs_ops[op] = op == OP_OBSERVE;
    }
    out->margin = margin;
    out->pass = true;
    /* The pre-burst second: the one before the first burst (the burst
     * slots made their sessions at the run's start). */
    out->pre_interval =
        bs->start_ms >= 1000u ? (uint32_t)(bs->start_ms / 1000u) - 1u : 0u;
    merge_intervals(a, out->pre_interval, out->pre_interval, base_ops, h, tmp);
    out->pre_measured = hist_count(h) > 0;
    out->pre_p99_us = hist_percentile(h, 99.0);
    limit_us = (uint64_t)((double)out->pre_p99_us * (1.0 + margin));
    if (out->pre_p99_us + BURSTPOOL_RECOVERY_FLOOR_US > limit_us) {
        limit_us = out->pre_p99_us + BURSTPOOL_RECOVERY_FLOOR_US;
    }
    out->n_bursts = bs->burst_count < BURSTPOOL_MAX_BURSTS
                        ? bs->burst_count
                        : BURSTPOOL_MAX_BURSTS;
    for (uint32_t b = 0; b < out->n_bursts; b++) {
        struct burstpool_burst *x = &out->b[b];
        struct proto_group g;
        uint64_t start = bs->start_ms + (uint64_t)b * bs->burst_every_ms;
        uint64_t next = b + 1 < bs->burst_count ? start + bs->burst_every_ms
                                                : p->duration_ms;
        uint64_t last_ms = start;

        x->planned = bs->burst_size;
        x->start_ms = (double)start;
        x->end_ms = (double)(start + bs->burst_ms);
        x->drain_ms = -1.0;
        if (agg_group(a, 1, b, &g) == 0) {
            x->requests = g.requests;
            x->errors = g.errors;
            x->e503 = g.e503;
            x->refused = g.refused;
            x->timeouts = g.timeouts;
            x->resets = g.resets;
            x->drain_ms = ms_of_us(g.last_us) - (double)start;
            x->drained = x->requests == x->planned && g.last_us < next * 1000u;
            last_ms = g.last_us / 1000u;
        }
        x->from_interval = (uint32_t)(start / 1000u);
        x->to_interval = (uint32_t)(last_ms / 1000u);
        merge_intervals(a, x->from_interval, x->to_interval, obs_ops, h, tmp);
        x->p50_us = hist_percentile(h, 50.0);
        x->p99_us = hist_percentile(h, 99.0);
        x->max_us = hist_max(h);
        x->recovery_measured = out->pre_measured;
        for (uint64_t k = (start + bs->burst_ms + 999u) / 1000u;
             out->pre_measured && (k + 1) * 1000u <= next; k++) {
            merge_intervals(a, (uint32_t)k, (uint32_t)k, base_ops, h, tmp);
            if (hist_count(h) == 0) {
                continue; /* no evidence either way */
            }
            if (hist_percentile(h, 99.0) <= limit_us) {
                x->recovered = true;
                x->recovery_ms = (double)(k * 1000u) - x->end_ms;
                if (x->recovery_ms < 0.0) {
                    x->recovery_ms = 0.0;
                }
                break;
            }
        }
        if (out->pass && !x->drained) {
            out->pass = false;
            (void)snprintf(out->reason, sizeof(out->reason),
                           "burst %u: %llu of %llu requests done before the "
                           "next burst",
                           b + 1, (unsigned long long)x->requests,
                           (unsigned long long)x->planned);
        } else if (out->pass && x->recovery_measured && !x->recovered) {
            out->pass = false;
            (void)snprintf(out->reason, sizeof(out->reason),
                           "burst %u: the baseline p99 was not back within "
                           "%.0f%% of %.1fms before the next burst",
                           b + 1, margin * 100.0, ms_of_us(out->pre_p99_us));
        }
    }
    if (out->pass) {
        (void)snprintf(out->reason, sizeof(out->reason), "%s",
                       out->pre_measured
                           ? "every burst drained and the baseline recovered"
                           : "every burst drained (no pre-burst baseline: "
                             "recovery not measured)");
    }
out:
    hist_free(h);
    hist_free(tmp);
    return rv;
}

int
burstpool_pool(const struct agg *a, const struct plan *p, double max_error_rate,
               struct burstpool_pool_result *out)
{
    struct proto_group g;
    uint64_t classified = 0;

    memset(out, 0, sizeof(*out));
    if (p->n_agents == 0 || p->assign[0].n_streams < 2) {
        return E_INVAL;
    }
    out->planned = p->assign[0].streams[0].burst_size;
    if (agg_group(a, 0, 0, &g) == 0) {
        out->requests = g.requests;
        out->errors = g.errors;
        out->e503 = g.e503;
        out->refused = g.refused;
        out->timeouts = g.timeouts;
        out->resets = g.resets;
    }
    classified = out->e503 + out->refused + out->timeouts + out->resets;
    out->other = out->errors > classified ? out->errors - classified : 0;
    out->unsent = agg_arrivals(a).unsent;
    out->peak_in_flight = agg_peak_in_flight(a);
    if (agg_group(a, 1, 0, &g) == 0) {
        out->probe_requests = g.requests;
        out->probe_errors = g.errors;
    }
    out->probes_ok = out->probe_requests > 0 &&
                     (double)out->probe_errors <=
                         max_error_rate * (double)out->probe_requests;
    if (!out->probes_ok) {
        out->verdict = "fail";
        (void)snprintf(out->reason, sizeof(out->reason),
                       "probes after the blast: %llu of %llu failed",
                       (unsigned long long)out->probe_errors,
                       (unsigned long long)out->probe_requests);
    } else if (out->timeouts + out->resets + out->other > 0 ||
               out->requests < out->planned) {
        out->verdict = "degraded";
        (void)snprintf(
            out->reason, sizeof(out->reason),
            "the blast saw %llu timeouts, %llu resets, %llu other "
            "failures, %llu of %llu completed; the probes "
            "succeeded",
            (unsigned long long)out->timeouts, (unsigned long long)out->resets,
            (unsigned long long)out->other, (unsigned long long)out->requests,
            (unsigned long long)out->planned);
    } else {
        out->verdict = "graceful";
        (void)snprintf(out->reason, sizeof(out->reason),
                       "every failure was a 503 or a refusal and the probes "
                       "succeeded");
    }
    return 0;
}

int
burstpool_burst_write(const struct burstpool_burst_result *r, struct buf *json,
                      struct buf *text)
{
    int rv = 0;

    rv = buf_printf(json,
                    "\"verdict\": \"%s\", \"verdict_reason\": \"%s\", "
                    "\"recovery_margin\": %.3f, \"pre_burst_interval\": %u, "
                    "\"pre_burst_p99_ms\": %.3f, \"bursts\": [",
                    r->pass ? "pass" : "fail", r->reason, r->margin,
                    r->pre_interval, ms_of_us(r->pre_p99_us));
    for (uint32_t i = 0; i < r->n_bursts && rv == 0; i++) {
        const struct burstpool_burst *x = &r->b[i];
        char drain[32], rec[32];
        if (x->drain_ms >= 0.0) {
            (void)snprintf(drain, sizeof(drain), "%.3f", x->drain_ms);
        } else {
            (void)snprintf(drain, sizeof(drain), "null");
        }
        if (x->recovered) {
            (void)snprintf(rec, sizeof(rec), "%.3f", x->recovery_ms);
        } else {
            (void)snprintf(rec, sizeof(rec), "null");
        }
        rv = buf_printf(
            json,
            "%s{\"burst\": %u, \"start_ms\": %.3f, \"end_ms\": %.3f, "
            "\"planned_requests\": %llu, \"requests\": %llu, \"errors\": "
            "%llu, \"errors_by_class\": {\"http_503\": %llu, "
            "\"connection_refused\": %llu, \"timeout\": %llu, \"reset\": "
            "%llu, \"other\": %llu}, \"latency_intervals\": [%u, %u], "
            "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
            "\"drain_ms\": %s, \"drained\": %s, \"recovery_ms\": %s, "
            "\"recovered\": %s}",
            i ? ", " : "", i + 1, x->start_ms, x->end_ms,
            (unsigned long long)x->planned, (unsigned long long)x->requests,
            (unsigned long long)x->errors, (unsigned long long)x->e503,
            (unsigned long long)x->refused, (unsigned long long)x->timeouts,
            (unsigned long long)x->resets,
            (unsigned long long)(x->errors - x->e503 - x->refused -
                                 x->timeouts - x->resets),
            x->from_interval, x->to_interval, ms_of_us(x->p50_us),
            ms_of_us(x->p99_us), ms_of_us(x->max_us), drain,
            x->drained ? "true" : "false", rec,
            !x->recovery_measured ? "null"
            : x->recovered        ? "true"
                                  : "false");
        if (rv == 0) {
            rv = buf_printf(text,
                            "  Burst %u: %llu/%llu req, %llu errors, p50 "
                            "%.1fms, p99 %.1fms, max %.1fms, drain %sms, "
                            "recovery %s%s\n",
                            i + 1, (unsigned long long)x->requests,
                            (unsigned long long)x->planned,
                            (unsigned long long)x->errors, ms_of_us(x->p50_us),
                            ms_of_us(x->p99_us), ms_of_us(x->max_us), drain,
                            rec, x->recovered ? "ms" : "");
        }
    }
    if (rv == 0) {
        rv = buf_printf(json, "]");
    }
    if (rv == 0) {
        rv = buf_printf(text, "  Verdict: %s (%s)\n", r->pass ? "pass" : "fail",
                        r->reason);
    }
    return rv;
}

int
burstpool_pool_write(const struct burstpool_pool_result *r, struct buf *json,
                     struct buf *text)
{
    int rv = buf_printf(
        json,
        "\"verdict\": \"%s\", \"verdict_reason\": \"%s\", \"pool\": "
        "{\"planned_requests\": %llu, \"requests\": %llu, \"errors\": %llu, "
        "\"http_503\": %llu, \"connection_refused\": %llu, \"timeouts\": "
        "%llu, \"resets\": %llu, \"other_errors\": %llu, \"unsent\": %llu, "
        "\"peak_in_flight\": %llu, \"peak_in_flight_note\": \"each agent's "
        "peak summed: an upper bound of the simultaneous total\", "
        "\"probe_requests\": %llu, \"probe_errors\": %llu, "
        "\"probes_succeeded\": %s}",
        r->verdict, r->reason, (unsigned long long)r->planned,
        (unsigned long long)r->requests, (unsigned long long)r->errors,
        (unsigned long long)r->e503, (unsigned long long)r->refused,
        (unsigned long long)r->timeouts, (unsigned long long)r->resets,
        (unsigned long long)r->other, (unsigned long long)r->unsent,
        (unsigned long long)r->peak_in_flight,
        (unsigned long long)r->probe_requests,
        (unsigned long long)r->probe_errors, r->probes_ok ? "true" : "false");
    if (rv == 0) {
        rv = buf_printf(
            text,
            "  Pool blast: %llu/%llu large observes, %llu x 503, %llu "
            "refused, %llu timeouts, %llu resets, %llu other; peak in flight "
            "<= %llu\n  Probes: %llu req, %llu errors\n  Verdict: %s (%s)\n",
            (unsigned long long)r->requests, (unsigned long long)r->planned,
            (unsigned long long)r->e503, (unsigned long long)r->refused,
            (unsigned long long)r->timeouts, (unsigned long long)r->resets,
            (unsigned long long)r->other, (unsigned long long)r->peak_in_flight,
            (unsigned long long)r->probe_requests,
            (unsigned long long)r->probe_errors, r->verdict, r->reason);
    }
    return rv;
}
