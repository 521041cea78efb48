/* SPDX-License-Identifier: MIT */
/*
 * Memory growth over time and its leak verdict (see memleak.h).
 */
#include "memleak.h"

#include <math.h>
#include <string.h>

#include "../common/err.h"
#include "../common/poison.h"

#define MB (1024.0 * 1024.0)

int
memleak_fit(const double *x, const double *y, size_t n, double *slope,
            double *r2)
{
    double mx = 0.0, my = 0.0, sxx = 0.0, sxy = 0.0, syy = 0.0;
    double b = 0.0, ssr = 0.0;

    if (n < 2) {
        return E_RANGE;
    }
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (!(sxx > 0.0)) {
        return E_RANGE;
    }
    b = sxy / sxx;
    for (size_t i = 0; i < n; i++) {
        double e = y[i] - (my + b * (x[i] - mx));
        ssr += e * e;
    }
    *slope = b;
    *r2 = syy > 0.0 ? 1.0 - ssr / syy : 0.0;
    return 0;
}

void
memleak_measure(const struct agg *a, uint32_t n_intervals, uint32_t warmup_s,
                double threshold, const char *source, struct memleak *out)
{
    double x[MEMLEAK_MAX_SAMPLES];
    double y[MEMLEAK_MAX_SAMPLES];

    memset(out, 0, sizeof(*out));
    out->warmup_s = warmup_s;
    out->threshold = threshold;
    out->source = source;
    for (uint32_t k = 0; k < n_intervals; k++) {
        uint64_t t = 0;
        uint64_t b = 0;
        if (agg_interval_mem(a, k, &t, &b) != 0) {
            continue;
        }
        if (out->n == MEMLEAK_MAX_SAMPLES) {
            out->dropped++;
            continue;
        }
        out->s[out->n].t_ms = t;
        out->s[out->n].bytes = b;
        out->n++;
        if (t >= (uint64_t)warmup_s * 1000u) {
            x[out->n_fit] = (double)t / 60000.0;
            y[out->n_fit] = (double)b / MB;
            out->n_fit++;
        }
    }
    if (memleak_fit(x, y, out->n_fit, &out->slope, &out->r2) == 0) {
        out->measured = true;
        out->leak = out->slope > threshold && out->r2 >= MEMLEAK_MIN_R2;
    }
}

const char *
memleak_verdict(const struct memleak *m)
{
    if (!m->measured) {
        return "not enough data";
    }
    return m->leak ? "leak" : "no leak";
}

int
memleak_json(struct buf *out, const struct memleak *m)
{
    int rv = buf_printf(out,
                        "{\"verdict\":\"%s\",\"memory_source\":\"%s\","
                        "\"samples\":[",
                        memleak_verdict(m), m->source ? m->source : "");

    for (size_t i = 0; rv == 0 && i < m->n; i++) {
        rv = buf_printf(out, "%s[%.3f,%.3f]", i ? "," : "",
                        (double)m->s[i].t_ms / 1000.0,
                        (double)m->s[i].bytes / MB);
    }
    if (rv == 0) {
        rv = buf_printf(out,
                        "],\"samples_fitted\":%zu,\"samples_dropped\":%zu,"
                        "\"warmup_seconds\":%u,\"threshold_mb_per_min\":%.6g,"
                        "\"min_r2\":%.2f,",
                        m->n_fit, m->dropped, (unsigned)m->warmup_s,
                        m->threshold, MEMLEAK_MIN_R2);
    }
    if (rv == 0) {
        rv = m->measured && isfinite(m->slope) && isfinite(m->r2)
                 ? buf_printf(out, "\"slope_mb_per_min\":%.6f,\"r2\":%.6f",
                              m->slope, m->r2)
                 : buf_printf(out, "\"slope_mb_per_min\":null,\"r2\":null");
    }
    if (rv == 0 && m->n > 0) {
        rv = buf_printf(out, ",\"first_mb\":%.3f,\"last_mb\":%.3f",
                        (double)m->s[0].bytes / MB,
                        (double)m->s[m->n - 1].bytes / MB);
    }
    return rv == 0 ? buf_printf(out, "}") : rv;
}
