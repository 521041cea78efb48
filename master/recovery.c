/* SPDX-License-Identifier: MIT */
/*
 * Recovery time after the invalid phase (see recovery.h). The windows are
 * merged histograms, never averages of per-second percentiles.
 */
#include "recovery.h"

#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "../common/ops.h"
#include "../common/poison.h"

/* Merges intervals [from, to) into acc (reset first) and s. */
static void
span_fill(recovery_add_fn *add, void *ctx, uint32_t from, uint32_t to,
          struct hist *acc, struct recovery_span *s)
{
    memset(s, 0, sizeof(*s));
    s->from = from;
    s->to = to;
    hist_reset(acc);
    for (uint32_t k = from; k < to; k++) {
        uint64_t req = 0;
        uint64_t err = 0;
        if (add(ctx, k, acc, &req, &err) == 0) {
            s->requests += req;
            s->errors += err;
        }
    }
    s->error_rate =
        s->requests > 0 ? (double)s->errors / (double)s->requests : 0.0;
    s->p99_us = hist_percentile(acc, 99.0);
}

int
recovery_detect(const struct recovery_params *p, recovery_add_fn *add,
                void *ctx, struct recovery *out)
{
    struct hist *acc = NULL;
    uint64_t lim = 0;
    int rv = 0;

    memset(out, 0, sizeof(*out));
    out->window = p->window;
    out->margin = p->margin;
    if (p->window == 0 || p->baseline_from >= p->baseline_to ||
        p->baseline_to > p->phase_end || p->phase_end > p->end) {
        goto out;
    }
    if ((rv = hist_new(&acc)) != 0) {
        goto out;
    }
    span_fill(add, ctx, p->baseline_from, p->baseline_to, acc, &out->baseline);
    span_fill(add, ctx, p->baseline_to, p->phase_end, acc, &out->during);
    span_fill(add, ctx, p->phase_end, p->end, acc, &out->after);
    if (out->baseline.requests == 0 || out->baseline.p99_us == 0) {
        goto out;
    }
    out->measured = true;
    lim = (uint64_t)((double)out->baseline.p99_us * (1.0 + p->margin));
    if (lim < out->baseline.p99_us + RECOVERY_SLACK_US) {
        lim = out->baseline.p99_us + RECOVERY_SLACK_US;
    }
    out->p99_limit_us = lim;
    out->err_limit = out->baseline.error_rate * (1.0 + p->margin);
    for (uint32_t j = p->phase_end; j + p->window <= p->end; j++) {
        struct recovery_span w;
        span_fill(add, ctx, j, j + p->window, acc, &w);
        if (w.requests > 0 && w.p99_us <= out->p99_limit_us &&
            w.error_rate <= out->err_limit) {
            out->recovered = true;
            out->recovery_time_s = j - p->phase_end;
            out->first_ok = w;
            break;
        }
    }
out:
    hist_free(acc);
    return rv;
}

/* The aggregate as a recovery source: the baseline's operations of the
 * mix, without OP_INVALID (meant to fail) and without OP_SESSION (set-up:
 * the invalid stream's slots create theirs in the baseline's last second,
 * which would otherwise weigh on the baseline's p99). */
static int
agg_add(void *ctx, uint32_t k, struct hist *acc, uint64_t *req, uint64_t *err)
{
    const struct agg **pa = ctx;
    struct hist *scratch = NULL;
    int rv = hist_new(&scratch);

    *req = 0;
    *err = 0;
    for (int op = 0; rv == 0 && op < OP_COUNT; op++) {
        uint64_t r = 0;
        uint64_t e = 0;
        if (op == OP_INVALID || op == OP_SESSION) {
            continue;
        }
        if (agg_interval_op(pa[0], k, op, &r, &e) != 0) {
            continue;
        }
        *req += r;
        *err += e;
        if (r > 0 && agg_interval_hist(pa[0], k, op, false, scratch) == 0) {
            hist_add(acc, scratch);
        }
    }
    hist_free(scratch);
    return rv;
}

int
recovery_measure(const struct agg *a, const struct recovery_params *p,
                 struct recovery *out)
{
    const struct agg *ctx[1] = {a};

    return recovery_detect(p, agg_add, (void *)ctx, out);
}

const char *
recovery_verdict(const struct recovery *r)
{
    if (!r->measured) {
        return "not enough data";
    }
    return r->recovered ? "recovered" : "not recovered";
}

static int
span_json(struct buf *out, const char *key, const struct recovery_span *s)
{
    return buf_printf(out,
                      "\"%s\":{\"from_interval\":%u,\"to_interval\":%u,"
                      "\"requests\":%llu,\"errors\":%llu,\"error_rate\":%.6f,"
                      "\"p99_ms\":%.3f}",
                      key, (unsigned)s->from, (unsigned)s->to,
                      (unsigned long long)s->requests,
                      (unsigned long long)s->errors, s->error_rate,
                      (double)s->p99_us / 1000.0);
}

/* "invalid_requests": {requests, by_class, by_status} from OP_INVALID. */
static int
invalid_json(struct buf *out, const struct agg *a)
{
    struct agg_counts c = agg_op_counts(a, OP_INVALID);
    uint64_t cls[4] = {0, 0, 0, 0}; /* 4xx, 5xx, transport, other http */
    bool first = true;
    int rv = 0;

    for (uint32_t s = 100; s < 600; s++) {
        uint64_t n = agg_errors(a, OP_INVALID, s);
        cls[s >= 400 && s < 500 ? 0 : s >= 500 ? 1 : 3] += n;
    }
    for (uint32_t key = ERRK_BASE + 1; key <= ERRK_MAX; key++) {
        cls[2] += agg_errors(a, OP_INVALID, key);
    }
    rv = buf_printf(out,
                    "\"invalid_requests\":{\"requests\":%llu,\"by_class\":{"
                    "\"2xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,\"other_http\":"
                    "%llu,\"transport\":%llu},\"by_status\":{",
                    (unsigned long long)c.requests,
                    (unsigned long long)(c.requests - c.errors),
                    (unsigned long long)cls[0], (unsigned long long)cls[1],
                    (unsigned long long)cls[3], (unsigned long long)cls[2]);
    for (uint32_t key = 100; rv == 0 && key <= ERRK_MAX; key++) {
        char name[32];
        uint64_t n = 0;
        if (key >= 600 && key <= ERRK_BASE) {
            continue;
        }
        n = agg_errors(a, OP_INVALID, key);
        if (n == 0) {
            continue;
        }
        if (key < 600) {
            (void)snprintf(name, sizeof(name), "%u", (unsigned)key);
        } else {
            (void)errk_name(key, name, sizeof(name));
        }
        rv = buf_printf(out, "%s\"%s\":%llu", first ? "" : ",", name,
                        (unsigned long long)n);
        first = false;
    }
    return rv == 0 ? buf_printf(out, "}}") : rv;
}

int
recovery_json(struct buf *out, const struct agg *a, const struct recovery *r)
{
    int rv = buf_printf(out, "{\"verdict\":\"%s\",", recovery_verdict(r));

    if (rv == 0) {
        rv = span_json(out, "baseline", &r->baseline);
    }
    if (rv == 0 && (rv = buf_printf(out, ",")) == 0) {
        rv = span_json(out, "during", &r->during);
    }
    if (rv == 0 && (rv = buf_printf(out, ",")) == 0) {
        rv = span_json(out, "after", &r->after);
    }
    if (rv == 0 && (rv = buf_printf(out, ",")) == 0) {
        rv = invalid_json(out, a);
    }
    if (rv == 0) {
        rv = buf_printf(out,
                        ",\"window_seconds\":%u,\"margin\":%.6g,"
                        "\"p99_limit_ms\":%.3f,\"error_rate_limit\":%.6f,"
                        "\"recovery_time_seconds\":",
                        (unsigned)r->window, r->margin,
                        (double)r->p99_limit_us / 1000.0, r->err_limit);
    }
    if (rv == 0) {
        rv = r->recovered ? buf_printf(out, "%u", (unsigned)r->recovery_time_s)
                          : buf_printf(out, "null");
    }
    if (rv == 0 && r->recovered) {
        rv = buf_printf(out, ",");
        if (rv == 0) {
            rv = span_json(out, "first_recovered_window", &r->first_ok);
        }
    }
    return rv == 0 ? buf_printf(out, "}") : rv;
}
