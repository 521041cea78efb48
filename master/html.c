/* SPDX-License-Identifier: MIT */
/*
 * The HTML report: tables and SVG charts written by hand. Escaping, finite
 * coordinates and "no data" instead of invented zeros are this file's job;
 * see html.h for what the document holds.
 */
#include "html.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/hist.h"
#include "../common/ops.h"
#include "../common/poison.h"
#include "../common/utf8.h"

#ifndef KS_VERSION
#define KS_VERSION "unknown"
#endif

/* --- writer -------------------------------------------------------------- */

int
html_escape(struct buf *out, const char *s)
{
    int rv = 0;

    if (s == NULL) {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p && rv == 0;
         p++) {
        const char *ent = NULL;
        if (*p >= 0x80) {
            size_t n = utf8_seq_len(p, true);
            if (n > 0) {
                rv = buf_append(out, p, n);
                p += n - 1;
            }
            continue;
        }
        switch (*p) {
        case '&':
            ent = "&amp;";
            break;
        case '<':
            ent = "&lt;";
            break;
        case '>':
            ent = "&gt;";
            break;
        case '"':
            ent = "&quot;";
            break;
        case '\'':
            ent = "&#39;";
            break;
        case '\t':
            ent = "&#9;";
            break;
        case '\n':
            ent = "&#10;";
            break;
        case '\r':
            ent = "&#13;";
            break;
        default:
            if (*p >= 0x20 && *p != 0x7f) {
                rv = buf_append(out, p, 1);
            }
            break;
        }
        if (ent != NULL) {
            rv = buf_append(out, ent, strlen(ent));
        }
    }
    return rv;
}

static void
htext(struct buf_writer *w, const char *s)
{
    if (buf_writer_error(w) == 0) {
        buf_writer_fail(w, html_escape(w->b, s));
    }
}

/* --- numbers ------------------------------------------------------------- */

static double
fin(double x)
{
    return isfinite(x) ? x : 0.0;
}

static double
ms_of(uint64_t us)
{
    return (double)us / 1000.0;
}

/* The smallest of 1, 2, 5 x 10^k that is >= v (v > 0), else 1. */
static double
nice_up(double v)
{
    double e = 0.0;
    double f = 0.0;

    if (!isfinite(v) || v <= 0.0) {
        return 1.0;
    }
    e = pow(10.0, floor(log10(v)));
    f = v / e;
    if (f <= 1.0 + 1e-9) {
        return e;
    }
    if (f <= 2.0 + 1e-9) {
        return 2.0 * e;
    }
    if (f <= 5.0 + 1e-9) {
        return 5.0 * e;
    }
    return 10.0 * e;
}

/* Decimals that show a tick step without noise (0 for steps >= 1). */
static int
decimals_of(double step)
{
    int d = 0;

    if (step > 0.0 && step < 1.0) {
        d = (int)ceil(-log10(step) - 1e-9);
    }
    return d > 6 ? 6 : d;
}

/* --- charts -------------------------------------------------------------- */

/* The viewBox and the plot area inside it (user units). */
#define CH_W   960.0
#define CH_H   320.0
#define CH_L   78.0 /* room for the y tick labels and the y title */
#define CH_R   40.0 /* room for the last x label */
#define CH_T   40.0 /* room for the legend */
#define CH_B   56.0 /* room for the x tick labels and the x title */
#define CH_PW  (CH_W - CH_L - CH_R)
#define CH_PH  (CH_H - CH_T - CH_B)
#define CH_MAX 4096 /* points per series at most; more are decimated */

struct chart {
    double x0, x1; /* data range on x (x1 > x0) */
    double y1;     /* data range on y is 0 .. y1 (y1 > 0) */
};

/* User-space coordinates, always finite and inside the plot area. */
static double
cx(const struct chart *c, double x)
{
    double f = fin((x - c->x0) / (c->x1 - c->x0));

    f = f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
    return CH_L + f * CH_PW;
}

static double
cy(const struct chart *c, double y)
{
    double f = fin(y / c->y1);

    f = f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
    return CH_T + CH_PH - f * CH_PH;
}

/* A line style: colour plus a dash pattern and width, so that lines are
 * told apart without colour. */
struct style {
    const char *label;
    const char *stroke;
    const char *dash; /* "" for solid */
    double width;
};

static void
style_attrs(struct buf_writer *w, const struct style *s)
{
    buf_putf(w, " fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"", s->stroke,
             s->width);
    if (s->dash[0] != '\0') {
        buf_putf(w, " stroke-dasharray=\"%s\"", s->dash);
    }
}

/* Sets c->y1 to top (> 0) rounded up to a whole number of steps, the
 * step being the nice_up value that gives about five ticks; returns the
 * step (for chart_yticks). */
static double
chart_y_scale(struct chart *c, double top)
{
    double step = nice_up(top / 5.0);

    c->y1 = step * ceil(top / step);
    return step;
}

/* Opens a chart: figure, svg, title, frame. */
static void
chart_open(struct buf_writer *w, const char *title)
{
    buf_put(w, "<figure class=\"chart\"><svg viewBox=\"0 0 960 320\" "
               "role=\"img\"><title>");
    htext(w, title);
    buf_put(w, "</title>\n");
    buf_putf(w,
             "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
             "height=\"%.1f\"/>\n",
             CH_L, CH_T, CH_PW, CH_PH);
}

/* Axis titles (with their units). */
static void
chart_titles(struct buf_writer *w, const char *x_title, const char *y_title)
{
    buf_putf(
        w, "<text class=\"axt\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
        CH_L + CH_PW / 2.0, CH_H - 12.0);
    htext(w, x_title);
    buf_putf(w,
             "</text>\n<text class=\"axt\" x=\"16\" y=\"%.1f\" "
             "text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">",
             CH_T + CH_PH / 2.0, CH_T + CH_PH / 2.0);
    htext(w, y_title);
    buf_put(w, "</text>\n");
}

static void
chart_close(struct buf_writer *w, const char *caption)
{
    buf_put(w, "</svg><figcaption>");
    htext(w, caption);
    buf_put(w, "</figcaption></figure>\n");
}

/* A chart without data: the frame, the axis titles and "no data". */
static void
chart_empty(struct buf_writer *w, const char *title, const char *x_title,
            const char *y_title, const char *caption)
{
    chart_open(w, title);
    chart_titles(w, x_title, y_title);
    buf_putf(w,
             "<text class=\"nodata\" x=\"%.1f\" y=\"%.1f\" "
             "text-anchor=\"middle\">no data</text>\n",
             CH_L + CH_PW / 2.0, CH_T + CH_PH / 2.0);
    chart_close(w, caption);
}

/* Horizontal grid lines and y tick labels from 0 to c->y1 by step. */
static void
chart_yticks(struct buf_writer *w, const struct chart *c, double step)
{
    int d = decimals_of(step);

    for (int i = 0; i <= 20; i++) {
        double v = step * (double)i;
        double y = 0.0;
        if (v > c->y1 * (1.0 + 1e-9)) {
            break;
        }
        y = cy(c, v);
        buf_putf(w,
                 "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                 "y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                 "text-anchor=\"end\">%.*f</text>\n",
                 CH_L, y, CH_L + CH_PW, y, CH_L - 6.0, y + 4.0, d, v);
    }
}

/* One x tick: a grid line and its label. */
static void
chart_xtick(struct buf_writer *w, const struct chart *c, double x,
            const char *label)
{
    double px = cx(c, x);

    buf_putf(w,
             "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
             "y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
             "text-anchor=\"middle\">",
             px, CH_T, px, CH_T + CH_PH, px, CH_T + CH_PH + 16.0);
    htext(w, label);
    buf_put(w, "</text>\n");
}

/* x ticks for a time axis from c->x0 to c->x1 seconds. */
static void
chart_xticks_time(struct buf_writer *w, const struct chart *c)
{
    double step = nice_up((c->x1 - c->x0) / 10.0);
    int d = decimals_of(step);

    for (int i = 0; i <= 40; i++) {
        double v = c->x0 + step * (double)i;
        char label[32];
        if (v > c->x1 * (1.0 + 1e-9)) {
            break;
        }
        (void)snprintf(label, sizeof(label), "%.*f", d, v);
        chart_xtick(w, c, v, label);
    }
}

/* A vertical marker at the load's end (x = end_s), when intervals follow
 * it: what comes after is the drain, not a drop in throughput. */
static void
chart_end(struct buf_writer *w, const struct chart *c, double end_s)
{
    double x = 0.0;

    if (!(end_s > c->x0) || end_s >= c->x1) {
        return;
    }
    x = cx(c, end_s);
    buf_putf(w,
             "<line class=\"end\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
             "y2=\"%.1f\" stroke-dasharray=\"3 3\"/><text class=\"tick\" "
             "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">end of load</text>\n",
             x, CH_T, x, CH_T + CH_PH, x - 4.0, CH_T + 14.0);
}

/* The legend in the top margin: a sample of each line and its label. */
static void
chart_legend(struct buf_writer *w, const struct style *s, size_t n)
{
    double x = CH_L;

    for (size_t i = 0; i < n; i++) {
        buf_putf(w, "<line x1=\"%.1f\" y1=\"18\" x2=\"%.1f\" y2=\"18\"", x,
                 x + 34.0);
        style_attrs(w, &s[i]);
        buf_putf(w, "/><text class=\"leg\" x=\"%.1f\" y=\"22\">", x + 40.0);
        htext(w, s[i].label);
        buf_put(w, "</text>\n");
        x += 60.0 + 7.0 * (double)strlen(s[i].label);
    }
}

/* One series as a path; a point whose ok[i] is false breaks the line (no
 * data there: never drawn as 0). At most CH_MAX points are drawn (every
 * k-th otherwise). */
static void
chart_path(struct buf_writer *w, const struct chart *c, const double *x,
           const double *y, const bool *ok, size_t n, const struct style *s)
{
    size_t every = n > CH_MAX ? (n + CH_MAX - 1) / CH_MAX : 1;
    bool pen = false;

    buf_put(w, "<path d=\"");
    for (size_t i = 0; i < n; i += every) {
        if (!ok[i]) {
            pen = false;
            continue;
        }
        buf_putf(w, "%s%.1f %.1f ", pen ? "L" : "M", cx(c, x[i]), cy(c, y[i]));
        pen = true;
    }
    buf_put(w, "\"");
    style_attrs(w, s);
    buf_put(w, " stroke-linejoin=\"round\"/>\n");
}

/* --- per-interval figures ------------------------------------------------ */

struct series {
    size_t n;
    double *t;            /* interval middle, s (k + 0.5) */
    double *req, *err;    /* requests/s, errors/s */
    double *lat[3], *svc; /* p50/p90/p99, service p50 (ms) */
    bool *any;            /* the interval holds latency values */
    bool *all;            /* always true: counts are known everywhere */
    double max_rps, max_ms;
    uint64_t n_err_intervals;
};

static void
series_fini(struct series *s)
{
    xfree(s->t);
    xfree(s->req);
    xfree(s->err);
    for (int i = 0; i < 3; i++) {
        xfree(s->lat[i]);
    }
    xfree(s->svc);
    xfree(s->any);
    xfree(s->all);
    memset(s, 0, sizeof(*s));
}

static int
series_load(struct series *s, const struct agg *a)
{
    static const double ps[3] = {50.0, 90.0, 99.0};
    size_t n = agg_n_intervals(a);
    size_t m = n > 0 ? n : 1;

    memset(s, 0, sizeof(*s));
    s->t = xcalloc(m, sizeof(double));
    s->req = xcalloc(m, sizeof(double));
    s->err = xcalloc(m, sizeof(double));
    s->svc = xcalloc(m, sizeof(double));
    s->any = xcalloc(m, sizeof(bool));
    s->all = xcalloc(m, sizeof(bool));
    for (int i = 0; i < 3; i++) {
        s->lat[i] = xcalloc(m, sizeof(double));
    }
    if (s->t == NULL || s->req == NULL || s->err == NULL || s->svc == NULL ||
        s->any == NULL || s->all == NULL || s->lat[0] == NULL ||
        s->lat[1] == NULL || s->lat[2] == NULL) {
        series_fini(s);
        return E_NOMEM;
    }
    s->n = n;
    for (size_t k = 0; k < n; k++) {
        uint64_t req = 0;
        uint64_t err = 0;
        uint64_t top = 0;
        uint32_t kk = (uint32_t)k;
        (void)agg_interval(a, kk, &req, &err);
        s->t[k] = (double)k + 0.5; /* interval k is [k, k + 1) s */
        /* Intervals are one second: the count is the rate. */
        s->req[k] = (double)req;
        s->err[k] = (double)err;
        s->all[k] = true;
        s->max_rps = s->req[k] > s->max_rps ? s->req[k] : s->max_rps;
        s->n_err_intervals += err > 0;
        if (agg_interval_percentile(a, kk, -1, false, 100.0, &top) != 0 ||
            top == 0) {
            continue; /* no latency in it: a gap in the lines */
        }
        s->any[k] = true;
        for (int i = 0; i < 3; i++) {
            uint64_t us = 0;
            (void)agg_interval_percentile(a, kk, -1, false, ps[i], &us);
            s->lat[i][k] = ms_of(us);
            s->max_ms = s->lat[i][k] > s->max_ms ? s->lat[i][k] : s->max_ms;
        }
        {
            uint64_t us = 0;
            (void)agg_interval_percentile(a, kk, -1, true, 50.0, &us);
            s->svc[k] = ms_of(us);
            s->max_ms = s->svc[k] > s->max_ms ? s->svc[k] : s->max_ms;
        }
    }
    return 0;
}

/* --- the three charts ---------------------------------------------------- */

static const char X_TIME[] = "time since the load's start (s)";

static void
chart_throughput(struct buf_writer *w, const struct series *s, double end_s)
{
    static const struct style st[] = {
        {"requests/s (all)", "#0969da", "", 2.0},
        {"errors/s (shaded seconds had errors)", "#cf222e", "6 3", 2.0},
    };
    const char *title = "Throughput over time";
    const char *cap = "Requests completed per one-second interval (drawn at "
                      "its middle); errors "
                      "per interval as the dashed line with square markers, "
                      "and every second that had errors shaded. After the "
                      "end of load, agents only drain what is in flight.";
    struct chart c;
    double step = 0.0;

    if (s->n == 0 || s->max_rps <= 0.0) {
        chart_empty(w, title, X_TIME, "requests per second (req/s)", cap);
        return;
    }
    c.x0 = 0.0;
    c.x1 = (double)s->n; /* the end of the last interval */
    step = chart_y_scale(&c, s->max_rps);
    chart_open(w, title);
    for (size_t k = 0; k < s->n; k++) {
        if (s->err[k] > 0.0) {
            double x = cx(&c, (double)k);
            double x2 = cx(&c, (double)k + 1.0);
            buf_putf(w,
                     "<rect class=\"errband\" x=\"%.1f\" y=\"%.1f\" "
                     "width=\"%.1f\" height=\"%.1f\"/>\n",
                     x, CH_T, x2 - x, CH_PH);
        }
    }
    chart_yticks(w, &c, step);
    chart_xticks_time(w, &c);
    chart_titles(w, X_TIME, "requests per second (req/s)");
    chart_end(w, &c, end_s);
    chart_legend(w, st, 2);
    chart_path(w, &c, s->t, s->req, s->all, s->n, &st[0]);
    if (s->n_err_intervals > 0) {
        chart_path(w, &c, s->t, s->err, s->all, s->n, &st[1]);
        for (size_t k = 0; k < s->n; k++) {
            if (s->err[k] > 0.0) {
                buf_putf(w,
                         "<rect class=\"errpt\" x=\"%.1f\" y=\"%.1f\" "
                         "width=\"7\" height=\"7\"/>\n",
                         cx(&c, s->t[k]) - 3.5, cy(&c, s->err[k]) - 3.5);
            }
        }
    }
    chart_close(w, cap);
}

static void
chart_latency(struct buf_writer *w, const struct series *s, double end_s)
{
    static const struct style st[] = {
        {"p50", "#0969da", "", 2.0},
        {"p90", "#8250df", "10 3 2 3", 2.0},
        {"p99", "#cf222e", "2 3", 3.0},
        {"service time p50", "#57606a", "7 5", 1.6},
    };
    const char *title = "Latency percentiles over time";
    const char *cap =
        "Latency from each request's intended start (coordinated omission "
        "corrected) per one-second interval: p50 solid, p90 dash-dot, p99 "
        "dotted; service time (from the actual send) p50 dashed. Gaps are "
        "seconds in which no request completed.";
    struct chart c;
    double step = 0.0;

    if (s->n == 0 || s->max_ms <= 0.0) {
        chart_empty(w, title, X_TIME, "latency (ms)", cap);
        return;
    }
    c.x0 = 0.0;
    c.x1 = (double)s->n; /* the end of the last interval */
    step = chart_y_scale(&c, s->max_ms);
    chart_open(w, title);
    chart_yticks(w, &c, step);
    chart_xticks_time(w, &c);
    chart_titles(w, X_TIME, "latency (ms)");
    chart_end(w, &c, end_s);
    chart_legend(w, st, 4);
    chart_path(w, &c, s->t, s->svc, s->any, s->n, &st[3]);
    for (int i = 2; i >= 0; i--) {
        chart_path(w, &c, s->t, s->lat[i], s->any, s->n, &st[i]);
    }
    chart_close(w, cap);
}

/* The points of the results' percentile_spectrum, without 100 (the max:
 * at infinity on this axis, drawn as a line instead). */
static const double spectrum_p[] = {50.0, 75.0, 90.0,  95.0,
                                    99.0, 99.9, 99.99, 99.999};
#define N_SPECTRUM (sizeof(spectrum_p) / sizeof(spectrum_p[0]))

static void
chart_spectrum(struct buf_writer *w, const struct agg *a)
{
    static const struct style st[] = {
        {"latency", "#0969da", "", 2.2},
        {"service time", "#57606a", "7 5", 1.6},
        {"max latency", "#cf222e", "2 3", 1.6},
    };
    static const struct {
        double x;
        const char *label;
    } xt[] = {{0.30103, "50%"}, {1.0, "90%"},    {2.0, "99%"},
              {3.0, "99.9%"},   {4.0, "99.99%"}, {5.0, "99.999%"}};
    const char *title = "Percentile spectrum";
    const char *cap = "Latency at each percentile of the whole test, x "
                      "scaled as log10(1/(1-p)) like HdrHistogram's plots; "
                      "latency solid with round markers, service time "
                      "dashed with square markers, the maximum as a dotted "
                      "line.";
    const char *y_title = "latency (ms)";
    const char *x_title = "percentile (log scale of 1/(1-p))";
    const struct hist *lat = agg_latency(a, -1);
    const struct hist *svc = agg_service(a, -1);
    double x[N_SPECTRUM];
    double yl[N_SPECTRUM];
    double ys[N_SPECTRUM];
    bool ok[N_SPECTRUM];
    double top = 0.0;
    double step = 0.0;
    struct chart c;

    if (lat == NULL || hist_count(lat) == 0) {
        chart_empty(w, title, x_title, y_title, cap);
        return;
    }
    for (size_t i = 0; i < N_SPECTRUM; i++) {
        x[i] = log10(1.0 / (1.0 - spectrum_p[i] / 100.0));
        yl[i] = ms_of(hist_percentile(lat, spectrum_p[i]));
        ys[i] = svc != NULL ? ms_of(hist_percentile(svc, spectrum_p[i])) : 0;
        ok[i] = true;
        top = yl[i] > top ? yl[i] : top;
        top = ys[i] > top ? ys[i] : top;
    }
    top = ms_of(hist_max(lat)) > top ? ms_of(hist_max(lat)) : top;
    c.x0 = 0.2; /* just left of 50 %, where the spectrum starts */
    c.x1 = 5.0;
    step = chart_y_scale(&c, top);
    c.y1 = c.y1 > 0.0 ? c.y1 : 1.0;
    chart_open(w, title);
    chart_yticks(w, &c, step);
    for (size_t i = 0; i < sizeof(xt) / sizeof(xt[0]); i++) {
        chart_xtick(w, &c, xt[i].x, xt[i].label);
    }
    chart_titles(w, x_title, y_title);
    chart_legend(w, st, 3);
    buf_putf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", CH_L,
             cy(&c, ms_of(hist_max(lat))), CH_L + CH_PW,
             cy(&c, ms_of(hist_max(lat))));
    style_attrs(w, &st[2]);
    buf_put(w, "/>\n");
    if (svc != NULL && hist_count(svc) > 0) {
        chart_path(w, &c, x, ys, ok, N_SPECTRUM, &st[1]);
        for (size_t i = 0; i < N_SPECTRUM; i++) {
            buf_putf(w,
                     "<rect class=\"svcpt\" x=\"%.1f\" y=\"%.1f\" width=\"6\" "
                     "height=\"6\"/>\n",
                     cx(&c, x[i]) - 3.0, cy(&c, ys[i]) - 3.0);
        }
    }
    chart_path(w, &c, x, yl, ok, N_SPECTRUM, &st[0]);
    for (size_t i = 0; i < N_SPECTRUM; i++) {
        buf_putf(
            w, "<circle class=\"latpt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>\n",
            cx(&c, x[i]), cy(&c, yl[i]));
    }
    chart_close(w, cap);
}

/* --- tables -------------------------------------------------------------- */

static void
cell_u64(struct buf_writer *w, uint64_t v)
{
    char t[48];

    buf_putf(w, "<td>%s</td>", report_thousands(v, t, sizeof(t)));
}

static void
cell_ms(struct buf_writer *w, uint64_t us)
{
    buf_putf(w, "<td>%.2f</td>", ms_of(us));
}

/* "12.34 %" of num/den, or "n/a" when den is 0. */
static void
cell_pct(struct buf_writer *w, uint64_t num, uint64_t den)
{
    if (den == 0) {
        buf_put(w, "<td>n/a</td>");
    } else {
        buf_putf(w, "<td>%.2f %%</td>", fin(100.0 * (double)num / (double)den));
    }
}

static void
card(struct buf_writer *w, const char *key, const char *value, const char *cls)
{
    buf_put(w, "<div class=\"card\"><div class=\"k\">");
    htext(w, key);
    buf_putf(w, "</div><div class=\"v%s%s\">", cls[0] ? " " : "", cls);
    htext(w, value);
    buf_put(w, "</div></div>\n");
}

static void
summary(struct buf_writer *w, const struct html_test *t)
{
    const struct agg *a = t->agg;
    const struct report_run *r = t->run;
    const struct hist *lat = agg_latency(a, -1);
    struct agg_counts all = agg_op_counts(a, -1);
    bool passed = t->verdict->n_violations == 0;
    bool st_ok = strcmp(r->status, "completed") == 0;
    char v[64];
    char n[48];
    static const struct {
        const char *key;
        double p;
    } pc[] = {{"p50", 50.0}, {"p95", 95.0}, {"p99", 99.0}, {"p99.9", 99.9}};

    buf_put(w, "<h3>Summary</h3>\n<div class=\"cards\">\n");
    card(w, "status", r->status, st_ok ? "pass" : "fail");
    card(w, "thresholds", passed ? "\xe2\x9c\x94 PASS" : "\xe2\x9c\x98 FAIL",
         passed ? "pass" : "fail");
    card(w, "total requests", report_thousands(all.requests, n, sizeof(n)), "");
    if (all.requests > 0) {
        (void)snprintf(v, sizeof(v), "%.2f %%",
                       fin(100.0 * (double)(all.requests - all.errors) /
                           (double)all.requests));
    } else {
        (void)snprintf(v, sizeof(v), "n/a");
    }
    card(w, "success rate", v, "");
    (void)snprintf(
        v, sizeof(v), "%.1f req/s",
        r->duration_s > 0.0 ? fin((double)all.requests / r->duration_s) : 0.0);
    card(w, "throughput", v, "");
    for (size_t i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
        if (all.requests > 0) {
            (void)snprintf(v, sizeof(v), "%.2f ms",
                           ms_of(hist_percentile(lat, pc[i].p)));
        } else {
            (void)snprintf(v, sizeof(v), "n/a");
        }
        card(w, pc[i].key, v, "");
    }
    if (all.requests > 0) {
        (void)snprintf(v, sizeof(v), "%.2f ms", ms_of(hist_max(lat)));
    } else {
        (void)snprintf(v, sizeof(v), "n/a");
    }
    card(w, "max", v, "");
    (void)snprintf(v, sizeof(v), "%.1f s", fin(r->duration_s));
    card(w, "duration", v, "");
    (void)snprintf(v, sizeof(v), "%u", (unsigned)r->users);
    card(w, "users", v, "");
    (void)snprintf(v, sizeof(v), "%zu", agg_n_agents(a));
    card(w, "agents", v, "");
    buf_put(w, "</div>\n");
    if (!agg_complete(a)) {
        buf_putf(w,
                 "<p class=\"note\">The data is incomplete: some batches or "
                 "intervals are missing (see Agents), %llu batch(es) were "
                 "rejected. Figures cover what was received.</p>\n",
                 (unsigned long long)agg_rejected(a));
    }
}

static void
threshold_row(struct buf_writer *w, const char *check, const char *value,
              const char *limit, const char *result)
{
    const char *cls = strcmp(result, "pass") == 0   ? "pass"
                      : strcmp(result, "fail") == 0 ? "fail"
                                                    : "";
    buf_put(w, "<tr><td class=\"l\">");
    htext(w, check);
    buf_put(w, "</td><td>");
    htext(w, value);
    buf_put(w, "</td><td>");
    htext(w, limit);
    buf_putf(w, "</td><td class=\"l %s\">", cls);
    htext(w, strcmp(result, "pass") == 0   ? "\xe2\x9c\x94 pass"
             : strcmp(result, "fail") == 0 ? "\xe2\x9c\x98 FAIL"
                                           : result);
    buf_put(w, "</td></tr>\n");
}

static bool
violated(const struct report_verdict *v, const char *metric)
{
    for (size_t i = 0; i < v->n_violations; i++) {
        if (strcmp(v->v[i].metric, metric) == 0) {
            return true;
        }
    }
    return false;
}

static void
thresholds(struct buf_writer *w, const struct html_test *t)
{
    const struct report_verdict *v = t->verdict;
    struct agg_counts all = agg_op_counts(t->agg, -1);
    bool none = all.requests == 0;
    char val[64];
    char lim[64];
    char n[48];

    buf_put(w, "<h3>Thresholds</h3>\n<table>\n<tr><th class=\"l\">check</th>"
               "<th>measured</th><th>limit</th><th class=\"l\">result</th></tr>"
               "\n");
    threshold_row(w, "requests completed",
                  report_thousands(all.requests, n, sizeof(n)), "> 0",
                  violated(v, "requests") ? "fail" : "pass");
    /* Every key the config set (report_evaluate), global then per op. */
    for (size_t i = 0; i < v->n_checks; i++) {
        const struct report_threshold *c = &v->checks[i];
        bool ratio = strcmp(c->unit, "ratio") == 0;
        const char *unit = ratio ? "%" : c->unit;
        double k = ratio ? 100.0 : 1.0;
        char name[96];
        char why[96];
        (void)snprintf(name, sizeof(name), "%s%s%s",
                       c->op >= 0 ? ops_name(c->op) : "", c->op >= 0 ? "." : "",
                       c->key);
        (void)snprintf(val, sizeof(val), "%.2f %s", fin(c->value * k), unit);
        (void)snprintf(lim, sizeof(lim), "%s %g %s",
                       c->at_least ? ">=" : "<=", fin(c->limit * k), unit);
        (void)snprintf(why, sizeof(why), "not checked: %s",
                       c->why != NULL ? c->why : "no data");
        threshold_row(
            w, name, c->state == REPORT_NOT_CHECKED ? (none ? "n/a" : "") : val,
            lim,
            c->state == REPORT_NOT_CHECKED ? why
            : c->state == REPORT_FAILED    ? "fail"
                                           : "pass");
    }
    buf_put(w, "</table>\n");
    for (size_t i = 0; i < v->n_violations; i++) {
        buf_put(w, "<p class=\"viol\">");
        htext(w, v->v[i].message);
        buf_put(w, "</p>\n");
    }
}

static void
op_table(struct buf_writer *w, const struct agg *a)
{
    bool any = false;

    buf_put(w, "<h3>Operations</h3>\n");
    for (int op = 0; op < OP_COUNT && !any; op++) {
        any = agg_op_counts(a, op).requests > 0;
    }
    if (!any) {
        buf_put(w, "<p>No operation completed a request.</p>\n");
        return;
    }
    buf_put(w, "<table>\n<tr><th class=\"l\">operation</th><th>requests</th>"
               "<th>errors</th><th>error rate</th><th>mean ms</th>"
               "<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>p99.9 ms</th>"
               "<th>max ms</th><th>service p99 ms</th></tr>\n");
    for (int op = 0; op < OP_COUNT; op++) {
        struct agg_counts c = agg_op_counts(a, op);
        const struct hist *h = agg_latency(a, op);
        if (c.requests == 0 || h == NULL) {
            continue;
        }
        buf_put(w, "<tr><td class=\"l\">");
        htext(w, ops_name(op));
        buf_put(w, "</td>");
        cell_u64(w, c.requests);
        cell_u64(w, c.errors);
        cell_pct(w, c.errors, c.requests);
        buf_putf(w, "<td>%.2f</td>", fin(hist_mean(h) / 1000.0));
        cell_ms(w, hist_percentile(h, 50.0));
        cell_ms(w, hist_percentile(h, 95.0));
        cell_ms(w, hist_percentile(h, 99.0));
        cell_ms(w, hist_percentile(h, 99.9));
        cell_ms(w, hist_max(h));
        cell_ms(w, hist_percentile(agg_service(a, op), 99.0));
        buf_put(w, "</tr>\n");
    }
    buf_put(w, "</table>\n");
}

static void
error_table(struct buf_writer *w, const struct agg *a)
{
    struct agg_counts all = agg_op_counts(a, -1);
    bool has[OP_COUNT];

    buf_put(w, "<h3>Errors by class</h3>\n");
    if (all.errors == 0) {
        buf_put(w, "<p>No errors.</p>\n");
        return;
    }
    buf_put(w, "<table>\n<tr><th class=\"l\">class</th><th>errors</th>"
               "<th>share of requests</th>");
    for (int op = 0; op < OP_COUNT; op++) {
        has[op] = agg_op_counts(a, op).errors > 0;
        if (has[op]) {
            buf_put(w, "<th>");
            htext(w, ops_name(op));
            buf_put(w, "</th>");
        }
    }
    buf_put(w, "</tr>\n");
    for (int slot = 0; slot < ERRK_SLOTS; slot++) {
        uint32_t key = errk_from_slot(slot);
        char name[32];
        uint64_t n = 0;
        if (!errk_valid(key) || (n = agg_errors(a, -1, key)) == 0) {
            continue;
        }
        buf_put(w, "<tr><td class=\"l\">");
        htext(w, errk_name(key, name, sizeof(name)));
        buf_put(w, "</td>");
        cell_u64(w, n);
        cell_pct(w, n, all.requests);
        for (int op = 0; op < OP_COUNT; op++) {
            if (has[op]) {
                cell_u64(w, agg_errors(a, op, key));
            }
        }
        buf_put(w, "</tr>\n");
    }
    buf_put(w, "</table>\n");
}

#define MISSING_SHOWN 12

static void
agent_table(struct buf_writer *w, const struct agg *a)
{
    buf_put(w, "<h3>Agents</h3>\n");
    if (agg_n_agents(a) == 0) {
        buf_put(w, "<p>No agent took part.</p>\n");
        return;
    }
    buf_put(w, "<table>\n<tr><th class=\"l\">agent</th><th>id</th>"
               "<th>users</th><th>requests</th><th>errors</th><th>batches</th>"
               "<th>duplicate batches</th><th>missing batches</th>"
               "<th class=\"l\">goodbye</th><th class=\"l\">missing intervals"
               "</th></tr>\n");
    for (size_t i = 0; i < agg_n_agents(a); i++) {
        struct agg_agent_info ai;
        uint32_t miss[MISSING_SHOWN];
        size_t total = 0;
        if (agg_agent(a, i, &ai) != 0) {
            continue;
        }
        buf_put(w, "<tr><td class=\"l\">");
        htext(w, ai.name);
        buf_putf(w, "</td><td>%u</td><td>%u</td>", (unsigned)ai.id,
                 (unsigned)ai.users);
        cell_u64(w, ai.requests);
        cell_u64(w, ai.errors);
        cell_u64(w, ai.batches);
        cell_u64(w, ai.duplicates);
        cell_u64(w, ai.n_missing_seq);
        buf_put(w, !ai.goodbye ? "<td class=\"l fail\">none</td>"
                   : ai.totals_match
                       ? "<td class=\"l\">totals match</td>"
                       : "<td class=\"l fail\">totals differ</td>");
        total = agg_agent_missing(a, i, miss, MISSING_SHOWN);
        if (total == 0) {
            buf_put(w, "<td class=\"l\">none</td>");
        } else {
            size_t shown = total < MISSING_SHOWN ? total : MISSING_SHOWN;
            buf_putf(w, "<td class=\"l fail\">%zu: ", total);
            for (size_t k = 0; k < shown; k++) {
                buf_putf(w, "%s%u", k ? ", " : "", (unsigned)miss[k]);
            }
            buf_put(w, total > shown ? ", \xe2\x80\xa6</td>" : "</td>");
        }
        buf_put(w, "</tr>\n");
    }
    buf_put(w, "</table>\n");
}

/* --- test verdicts ------------------------------------------------------- */

static void
verdict_para(struct buf_writer *w, const char *verdict, bool bad,
             const char *reason)
{
    buf_putf(w, "<p class=\"verdict\">verdict: <span class=\"%s\">",
             bad ? "fail" : "pass");
    htext(w, verdict);
    buf_put(w, "</span>");
    if (reason != NULL && reason[0] != '\0') {
        buf_put(w, " \xe2\x80\x94 ");
        htext(w, reason);
    }
    buf_put(w, "</p>\n");
}

/* A cell with ms, or "n/a" for a negative value (none). */
static void
cell_ms_or_na(struct buf_writer *w, bool have, double ms)
{
    if (have) {
        buf_putf(w, "<td>%.3f</td>", fin(ms));
    } else {
        buf_put(w, "<td>n/a</td>");
    }
}

/* The burst test (docs/tests-design.md 5.3): one row per burst. */
static void
burst_section(struct buf_writer *w, const struct burstpool_burst_result *r)
{
    buf_put(w, "<h3>Bursts</h3>\n");
    verdict_para(w, r->pass ? "pass" : "fail", !r->pass, r->reason);
    if (r->pre_measured) {
        buf_putf(w,
                 "<p>Pre-burst baseline p99 (second %u): %.3f ms; recovered "
                 "when the baseline's p99 is back within %.0f %% of it.</p>\n",
                 (unsigned)r->pre_interval, ms_of(r->pre_p99_us),
                 fin(r->margin * 100.0));
    }
    buf_put(w, "<table class=\"bursts\">\n<tr><th>burst</th><th>size</th>"
               "<th>requests</th><th>errors</th><th>503</th>"
               "<th>refused</th><th>timeouts</th><th>p50 ms</th>"
               "<th>p99 ms</th><th>max ms</th><th>drain ms</th>"
               "<th class=\"l\">drained</th><th>recovery ms</th>"
               "<th class=\"l\">recovered</th></tr>\n");
    for (uint32_t i = 0; i < r->n_bursts; i++) {
        const struct burstpool_burst *x = &r->b[i];
        buf_putf(w, "<tr><td>%u</td>", (unsigned)(i + 1));
        cell_u64(w, x->planned);
        cell_u64(w, x->requests);
        cell_u64(w, x->errors);
        cell_u64(w, x->e503);
        cell_u64(w, x->refused);
        cell_u64(w, x->timeouts);
        /* Three decimals, as the JSON: the same figure reads the same. */
        cell_ms_or_na(w, true, ms_of(x->p50_us));
        cell_ms_or_na(w, true, ms_of(x->p99_us));
        cell_ms_or_na(w, true, ms_of(x->max_us));
        cell_ms_or_na(w, x->drain_ms >= 0.0, x->drain_ms);
        buf_putf(w, "<td class=\"l %s\">%s</td>", x->drained ? "pass" : "fail",
                 x->drained ? "yes" : "no");
        cell_ms_or_na(w, x->recovered, x->recovery_ms);
        buf_putf(w, "<td class=\"l %s\">%s</td></tr>\n",
                 x->recovered ? "pass" : "fail",
                 !x->recovery_measured ? "not measured"
                 : x->recovered        ? "yes"
                                       : "no");
    }
    buf_put(w, "</table>\n");
}

/* The pool test (5.4): the blast's failures, the probes, the verdict. */
static void
pool_section(struct buf_writer *w, const struct burstpool_pool_result *r)
{
    buf_put(w, "<h3>Connection pool</h3>\n");
    verdict_para(w, r->verdict, strcmp(r->verdict, "fail") == 0, r->reason);
    buf_put(w, "<table class=\"pool\">\n<tr><th class=\"l\">blast</th>"
               "<th>count</th></tr>\n");
    {
        static const char *const names[] = {"planned requests",
                                            "completed",
                                            "errors",
                                            "503",
                                            "connection refused",
                                            "timeouts",
                                            "resets",
                                            "other errors",
                                            "never sent",
                                            "peak in flight (upper bound)",
                                            "probe requests",
                                            "probe errors"};
        const uint64_t vals[] = {
            r->planned, r->requests,       r->errors,         r->e503,
            r->refused, r->timeouts,       r->resets,         r->other,
            r->unsent,  r->peak_in_flight, r->probe_requests, r->probe_errors};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            buf_put(w, "<tr><td class=\"l\">");
            htext(w, names[i]);
            buf_put(w, "</td>");
            cell_u64(w, vals[i]);
            buf_put(w, "</tr>\n");
        }
    }
    buf_putf(w, "</table>\n<p>Probes %s.</p>\n",
             r->probes_ok ? "succeeded" : "did not succeed");
}

/* One line per agent (styles cycle) of its process CPU, and the target's
 * memory; gaps where nothing was sent (docs/resources.md). */
static void
span_row(struct buf_writer *w, const char *name, const struct recovery_span *s)
{
    buf_put(w, "<tr><td class=\"l\">");
    htext(w, name);
    buf_putf(w, "</td><td>%u\xe2\x80\x93%u</td>", (unsigned)s->from,
             (unsigned)s->to);
    cell_u64(w, s->requests);
    cell_u64(w, s->errors);
    cell_pct(w, s->errors, s->requests);
    cell_ms_or_na(w, true, ms_of(s->p99_us)); /* three decimals, as the JSON */
    buf_put(w, "</tr>\n");
}

/* The recovery test (5.6): spans, the invalid requests by status, the
 * recovery time and the verdict. */
static void
recovery_section(struct buf_writer *w, const struct agg *a,
                 const struct recovery *r)
{
    struct agg_counts inv = agg_op_counts(a, OP_INVALID);
    bool bad = r->measured && !r->recovered;

    buf_put(w, "<h3>Error recovery</h3>\n");
    verdict_para(w, recovery_verdict(r), bad, NULL);
    if (r->recovered) {
        buf_putf(w,
                 "<p>Recovery time: <b class=\"rtime\">%u s</b> after the "
                 "invalid phase (first %u s window with p99 &lt;= %.3f ms and "
                 "error rate &lt;= %.2f %%).</p>\n",
                 (unsigned)r->recovery_time_s, (unsigned)r->window,
                 ms_of(r->p99_limit_us), fin(r->err_limit * 100.0));
    } else if (r->measured) {
        buf_putf(w,
                 "<p>No %u s window after the invalid phase had p99 &lt;= "
                 "%.3f ms and error rate &lt;= %.2f %%.</p>\n",
                 (unsigned)r->window, ms_of(r->p99_limit_us),
                 fin(r->err_limit * 100.0));
    }
    buf_put(w, "<table class=\"spans\">\n<tr><th class=\"l\">span</th>"
               "<th>seconds</th><th>requests</th><th>errors</th>"
               "<th>error rate</th><th>p99 ms</th></tr>\n");
    span_row(w, "baseline", &r->baseline);
    span_row(w, "during", &r->during);
    span_row(w, "after", &r->after);
    buf_put(w, "</table>\n<table class=\"invalid\">\n<tr><th class=\"l\">"
               "invalid requests by status</th><th>count</th></tr>\n");
    buf_put(w, "<tr><td class=\"l\">sent</td>");
    cell_u64(w, inv.requests);
    buf_put(w, "</tr>\n<tr><td class=\"l\">accepted (2xx)</td>");
    cell_u64(w, inv.requests - inv.errors);
    buf_put(w, "</tr>\n");
    for (uint32_t key = 100; key <= ERRK_MAX; key++) {
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
            (void)snprintf(name, sizeof(name), "http_%u", (unsigned)key);
        } else {
            (void)errk_name(key, name, sizeof(name));
        }
        buf_put(w, "<tr><td class=\"l\">");
        htext(w, name);
        buf_put(w, "</td>");
        cell_u64(w, n);
        buf_put(w, "</tr>\n");
    }
    buf_put(w, "</table>\n");
}

/* The target's memory samples with the least-squares line over those
 * after the warmup. */
static void
chart_memory(struct buf_writer *w, const struct memleak *m)
{
    static const struct style st[] = {
        {"target memory", "#0969da", "", 2.0},
        {"least-squares fit", "#cf222e", "6 4", 2.0},
    };
    const char *title = "Target memory over time";
    const char *cap = "The target's memory (MB = 2^20 bytes) per sample; "
                      "dashed: the least-squares line over the samples "
                      "after the warmup, whose slope is the verdict's.";
    const char *xt = "time since the load's start (s)";
    double x[MEMLEAK_MAX_SAMPLES];
    double y[MEMLEAK_MAX_SAMPLES];
    bool ok[MEMLEAK_MAX_SAMPLES];
    double max_y = 0.0;
    double sx = 0.0;
    double sy = 0.0;
    size_t nf = 0;
    struct chart c;
    double step = 0.0;

    for (size_t i = 0; i < m->n; i++) {
        x[i] = (double)m->s[i].t_ms / 1000.0;
        y[i] = (double)m->s[i].bytes / (1024.0 * 1024.0);
        ok[i] = true;
        max_y = y[i] > max_y ? y[i] : max_y;
        if (x[i] >= (double)m->warmup_s) {
            sx += x[i];
            sy += y[i];
            nf++;
        }
    }
    if (m->n == 0 || max_y <= 0.0) {
        chart_empty(w, title, xt, "memory (MB)", cap);
        return;
    }
    c.x0 = 0.0;
    c.x1 = x[m->n - 1] > 1.0 ? x[m->n - 1] : 1.0;
    step = chart_y_scale(&c, max_y);
    chart_open(w, title);
    chart_yticks(w, &c, step);
    chart_xticks_time(w, &c);
    chart_titles(w, xt, "memory (MB)");
    chart_legend(w, st, m->measured && nf >= 2 ? 2 : 1);
    chart_path(w, &c, x, y, ok, m->n, &st[0]);
    for (size_t i = 0; i < m->n; i++) {
        buf_putf(w,
                 "<circle class=\"mempt\" cx=\"%.1f\" cy=\"%.1f\" "
                 "r=\"3\"/>\n",
                 cx(&c, x[i]), cy(&c, y[i]));
    }
    if (m->measured && nf >= 2) {
        /* The fit passes through the mean point; slope is per minute. */
        double mx = sx / (double)nf;
        double my = sy / (double)nf;
        double fx[2] = {(double)m->warmup_s, c.x1};
        double fy[2];
        bool fok[2] = {true, true};
        for (int i = 0; i < 2; i++) {
            fy[i] = my + m->slope * (fx[i] - mx) / 60.0;
        }
        chart_path(w, &c, fx, fy, fok, 2, &st[1]);
    }
    chart_close(w, cap);
}

/* The memory test (5.5): slope, R^2, samples, verdict. */
static void
memory_section(struct buf_writer *w, const struct memleak *m)
{
    buf_put(w, "<h3>Memory</h3>\n");
    verdict_para(w, memleak_verdict(m), m->leak, NULL);
    buf_put(w, "<table class=\"memory\">\n<tr><th class=\"l\">figure</th>"
               "<th>value</th></tr>\n");
    if (m->measured) {
        buf_putf(w,
                 "<tr><td class=\"l\">slope (MB/min)</td><td>%.3f</td>"
                 "</tr>\n<tr><td class=\"l\">R\xc2\xb2</td><td>%.3f</td>"
                 "</tr>\n",
                 fin(m->slope), fin(m->r2));
    } else {
        buf_put(w, "<tr><td class=\"l\">slope (MB/min)</td><td>n/a</td>"
                   "</tr>\n<tr><td class=\"l\">R\xc2\xb2</td><td>n/a</td>"
                   "</tr>\n");
    }
    buf_putf(w,
             "<tr><td class=\"l\">threshold (MB/min)</td><td>%g</td></tr>\n"
             "<tr><td class=\"l\">samples</td><td>%zu</td></tr>\n"
             "<tr><td class=\"l\">samples fitted (after %u s warmup)</td>"
             "<td>%zu</td></tr>\n<tr><td class=\"l\">source</td>"
             "<td>",
             fin(m->threshold), m->n, (unsigned)m->warmup_s, m->n_fit);
    htext(w, m->source != NULL ? m->source : "");
    buf_put(w, "</td></tr>\n</table>\n");
    chart_memory(w, m);
}

/* --- baseline comparison ------------------------------------------------- */

static void
baseline_value(struct buf_writer *w, int i, double v)
{
    if (i == BASELINE_N_METRICS - 1) {
        buf_putf(w, "<td>%.4f %%</td>", fin(v * 100.0));
    } else if (i == BASELINE_N_METRICS - 2) {
        buf_putf(w, "<td>%.1f</td>", fin(v));
    } else {
        buf_putf(w, "<td>%.3f</td>", fin(v));
    }
}

static void
baseline_rows(struct buf_writer *w, const struct baseline_scope *s)
{
    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        const struct baseline_metric *m = &s->m[i];
        const char *cls = m->verdict == BASELINE_REGRESSION    ? "fail"
                          : m->verdict == BASELINE_IMPROVEMENT ? "pass"
                                                               : "";
        buf_put(w, "<tr><td class=\"l\">");
        htext(w, s->name[0] ? s->name : "all");
        buf_put(w, "</td><td class=\"l\">");
        htext(w, baseline_metric_name(i));
        buf_put(w, "</td>");
        if (m->verdict == BASELINE_NOT_COMPARABLE) {
            buf_put(w, "<td>n/a</td><td>n/a</td><td>n/a</td>");
        } else {
            baseline_value(w, i, m->base);
            baseline_value(w, i, m->cur);
            if (m->has_change) {
                buf_putf(w, "<td>%+.1f %%</td>", fin(m->change * 100.0));
            } else {
                buf_put(w, "<td>n/a</td>");
            }
        }
        buf_putf(w, "<td class=\"l %s\">%s</td></tr>\n", cls,
                 baseline_verdict_name(m->verdict));
    }
}

/* The comparison with the baseline file; nothing when there is none. */
static void
baseline_section(struct buf_writer *w, const struct baseline_result *b)
{
    if (b == NULL || b->state == BASELINE_MISSING) {
        return;
    }
    buf_put(w, "<h3>Baseline comparison</h3>\n<p class=\"meta\">baseline "
               "<code>");
    htext(w, b->file);
    buf_putf(w, "</code> \xc2\xb7 deviation threshold %.0f %%",
             fin(b->threshold * 100.0));
    if (b->state == BASELINE_COMPARED && b->base_started_at[0]) {
        buf_put(w, " \xc2\xb7 baseline started ");
        htext(w, b->base_started_at);
    }
    buf_put(w, "</p>\n");
    if (b->state == BASELINE_INVALID) {
        buf_put(w, "<p class=\"note\">No comparison: ");
        htext(w, b->error);
        buf_put(w, "</p>\n");
        return;
    }
    verdict_para(w, baseline_result_verdict(b), b->regressions > 0, NULL);
    if (b->state != BASELINE_COMPARED) {
        return;
    }
    buf_put(w, "<table class=\"baseline\">\n<tr><th class=\"l\">scope</th>"
               "<th class=\"l\">metric</th><th>baseline</th><th>current</th>"
               "<th>change</th><th class=\"l\">verdict</th></tr>\n");
    baseline_rows(w, &b->all);
    for (size_t i = 0; i < b->n_ops; i++) {
        baseline_rows(w, &b->ops[i]);
    }
    buf_put(w, "</table>\n<p class=\"meta\">Latency in ms, throughput in "
               "req/s, error rate in %. Regressions are warnings unless "
               "reporting.baseline_comparison.fail_on_regression is "
               "set.</p>\n");
}

/* Every verdict section the test has. */
static void
verdicts(struct buf_writer *w, const struct html_test *t)
{
    const struct report_verdict *v = t->verdict;

    if (v->burst != NULL) {
        burst_section(w, v->burst);
    }
    if (v->pool != NULL) {
        pool_section(w, v->pool);
    }
    if (v->recovery_checked) {
        recovery_section(w, t->agg, &v->rec);
    }
    if (v->mem != NULL) {
        memory_section(w, v->mem);
    }
    baseline_section(w, v->baseline);
}

static void
chart_resource(struct buf_writer *w, const struct agg *a, bool target)
{
    static const struct style st[] = {
        {"", "#0969da", "", 2.0},
        {"", "#8250df", "10 3 2 3", 2.0},
        {"", "#cf222e", "2 3", 2.5},
        {"", "#57606a", "7 5", 1.6},
    };
    const char *title =
        target ? "Target memory over time" : "Agent CPU over time";
    const char *y_title =
        target ? "target memory (MB)" : "process CPU (% of one core)";
    const char *cap =
        target ? "The target's memory as agent 0 sampled it (the source "
                 "of test_scenarios.memory.memory_source), MiB."
               : "Each agent's process CPU per one-second interval, in % "
                 "of one core (one line per agent; gaps: no sample).";
    size_t n = agg_n_intervals(a);
    size_t na = target ? 1 : agg_n_agents(a);
    double *x = xcalloc(n > 0 ? n : 1, sizeof(double));
    double *y = xcalloc((n > 0 ? n : 1) * (na > 0 ? na : 1), sizeof(double));
    bool *ok = xcalloc((n > 0 ? n : 1) * (na > 0 ? na : 1), sizeof(bool));
    double top = 0.0;
    bool any = false;
    struct chart c;
    double step;

    if (x == NULL || y == NULL || ok == NULL) {
        buf_writer_fail(w, E_NOMEM);
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        x[k] = (double)k + 0.5;
        for (size_t i = 0; i < na; i++) {
            struct agg_res r;
            uint64_t ms = 0, bytes = 0;
            double v = 0.0;
            if (target && agg_interval_mem(a, (uint32_t)k, &ms, &bytes) == 0) {
                v = (double)bytes / (1024.0 * 1024.0);
            } else if (!target && agg_agent_res(a, i, (uint32_t)k, &r) == 0 &&
                       (r.flags & PROTO_RES_AGENT) != 0) {
                v = (double)r.cpu_centi / 100.0;
            } else {
                continue;
            }
            y[i * n + k] = v;
            ok[i * n + k] = true;
            any = true;
            top = v > top ? v : top;
        }
    }
    if (!any) {
        chart_empty(w, title, X_TIME, y_title, cap);
        goto out;
    }
    if (top <= 0.0) {
        top = 1.0; /* an idle agent reads 0 % (CPU ticks are 1 %) */
    }
    c.x0 = 0.0;
    c.x1 = (double)n;
    step = chart_y_scale(&c, top);
    chart_open(w, title);
    chart_yticks(w, &c, step);
    chart_xticks_time(w, &c);
    chart_titles(w, X_TIME, y_title);
    for (size_t i = 0; i < na && i < 8; i++) {
        struct style s = st[i % 4];
        struct agg_agent_info ai;
        s.label =
            target ? "target" : (agg_agent(a, i, &ai) == 0 ? ai.name : "");
        chart_legend(w, &s, 1);
        chart_path(w, &c, x, y + i * n, ok + i * n, n, &s);
    }
    chart_close(w, cap);
out:
    xfree(x);
    xfree(y);
    xfree(ok);
}

static void
resources(struct buf_writer *w, const struct html_test *t)
{
    const struct saturation *sat = t->verdict != NULL ? t->verdict->sat : NULL;

    buf_put(w, "<h3>Resources</h3>\n");
    if (sat != NULL && sat->any_saturated) {
        buf_put(w,
                "<p class=\"note fail\">WARNING: saturated agents (their own "
                "CPU or event loop was at its limit in 3 or more "
                "intervals; their figures may understate the target):");
        for (size_t i = 0; i < sat->n_agents; i++) {
            if (sat->agents[i].saturated) {
                buf_put(w, " ");
                htext(w, sat->agents[i].name);
            }
        }
        buf_put(w, "</p>\n");
    }
    chart_resource(w, t->agg, false);
    chart_resource(w, t->agg, true);
}

/* --- document ------------------------------------------------------------ */

static const char CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',sans-serif;color:#1f2328;background:#fff;margin:0 auto;"
    "padding:20px 32px;max-width:1100px}\n"
    "h1{font-size:22px;margin:0 0 2px}\n"
    "h2{font-size:19px;border-bottom:2px solid #d0d7de;padding-bottom:4px;"
    "margin:26px 0 6px}\n"
    "h3{font-size:15px;margin:20px 0 8px}\n"
    ".meta{color:#57606a;margin:2px 0}\n"
    ".meta code{color:#1f2328}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(150px,1fr));gap:8px}\n"
    ".card{border:1px solid #d0d7de;border-radius:6px;padding:6px 10px}\n"
    ".card .k{font-size:11px;color:#57606a;text-transform:uppercase;"
    "letter-spacing:.04em}\n"
    ".card .v{font-size:18px;font-weight:600}\n"
    ".pass{color:#1a7f37}.fail{color:#cf222e;font-weight:600}\n"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums;"
    "margin:4px 0}\n"
    "th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right}\n"
    "th{background:#f6f8fa;font-weight:600}\n"
    "td.l,th.l{text-align:left}\n"
    ".note{background:#fff8c5;border:1px solid #d4a72c;padding:8px 12px;"
    "border-radius:6px}\n"
    ".viol{color:#cf222e;margin:4px 0}\n"
    ".verdict{font-weight:600}\n"
    "svg .mempt{fill:#0969da}\n"
    "figure{margin:10px 0 18px}\n"
    "figure svg{width:100%;max-width:960px;height:auto;display:block}\n"
    "figcaption{color:#57606a;font-size:12px;max-width:960px}\n"
    "svg text{font-family:inherit;fill:#1f2328}\n"
    "svg .plot{fill:#fff;stroke:#8c959f}\n"
    "svg .grid{stroke:#eaeef2}\n"
    "svg .end{stroke:#57606a;stroke-width:1.2}\n"
    "svg .tick{font-size:12px;fill:#57606a}\n"
    "svg .axt{font-size:13px}\n"
    "svg .leg{font-size:13px}\n"
    "svg .nodata{font-size:18px;fill:#57606a}\n"
    "svg .errband{fill:#cf222e;fill-opacity:.12}\n"
    "svg .errpt{fill:#cf222e}\n"
    "svg .latpt{fill:#0969da}\n"
    "svg .svcpt{fill:#57606a}\n";

static void
iso_utc(uint64_t wall_ns, char *out, size_t outlen)
{
    time_t t = (time_t)(wall_ns / CLOCK_NS_PER_S);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        (void)snprintf(out, outlen, "unknown");
    }
}

static int
one_test(struct buf_writer *w, const struct html_test *t, size_t idx)
{
    const struct report_run *r = t->run;
    struct series s;
    char when[48];
    int rv = series_load(&s, t->agg);

    if (rv != 0) {
        return rv;
    }
    iso_utc(r->started_wall_ns, when, sizeof(when));
    buf_putf(w, "<section id=\"test-%zu\">\n<h2>", idx + 1);
    htext(w, r->test_name);
    buf_put(w, "</h2>\n<p class=\"meta\">target <code>");
    htext(w, r->target);
    buf_put(w, "</code> \xc2\xb7 started ");
    htext(w, when);
    buf_put(w, " \xc2\xb7 config <code>");
    htext(w, r->config_file[0] ? r->config_file : "built-in defaults");
    buf_putf(w, "</code> \xc2\xb7 seed %llu</p>\n",
             (unsigned long long)r->seed);
    summary(w, t);
    thresholds(w, t);
    verdicts(w, t);
    buf_put(w, "<h3>Throughput</h3>\n");
    chart_throughput(w, &s, r->duration_s);
    buf_put(w, "<h3>Latency over time</h3>\n");
    chart_latency(w, &s, r->duration_s);
    buf_put(w, "<h3>Percentile spectrum</h3>\n");
    chart_spectrum(w, t->agg);
    op_table(w, t->agg);
    error_table(w, t->agg);
    agent_table(w, t->agg);
    resources(w, t);
    buf_put(w, "</section>\n");
    series_fini(&s);
    return 0;
}

int
html_report(struct buf *out, const struct html_test *tests, size_t n,
            uint64_t wall_ns)
{
    struct buf_writer w;
    char when[48];

    buf_writer_init(&w, out);
    iso_utc(wall_ns, when, sizeof(when));
    buf_put(&w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" "
                "content=\"width=device-width, initial-scale=1\"/>\n<title>"
                "kato-stress report ");
    htext(&w, when);
    buf_put(&w, "</title>\n<style>\n");
    buf_put(&w, CSS);
    buf_put(&w, "</style>\n</head>\n<body>\n<h1>kato-stress report</h1>\n"
                "<p class=\"meta\">run started ");
    htext(&w, when);
    buf_putf(&w, " \xc2\xb7 %zu test%s \xc2\xb7 kato-stress ", n,
             n == 1 ? "" : "s");
    htext(&w, KS_VERSION);
    buf_put(&w, "</p>\n");
    for (size_t i = 0; i < n && buf_writer_error(&w) == 0; i++) {
        buf_writer_fail(&w, one_test(&w, &tests[i], i));
    }
    buf_put(&w, "</body>\n</html>\n");
    return buf_writer_error(&w);
}

int
html_write(const char *dir, const struct html_test *tests, size_t n,
           uint64_t wall_ns, char *err, size_t errlen)
{
    struct buf b;
    char stamp[32];
    char name[64];
    int rv = report_stamp(wall_ns, stamp, sizeof(stamp));

    if (rv != 0) {
        (void)snprintf(err, errlen, "cannot format the results' time stamp");
        return rv;
    }
    (void)snprintf(name, sizeof(name), "report_%s.html", stamp);
    buf_init(&b, HTML_MAX_BYTES);
    rv = html_report(&b, tests, n, wall_ns);
    if (rv != 0) {
        (void)snprintf(err, errlen, "cannot build %s: %s", name, err_str(rv));
    } else {
        rv = report_write_file(dir, name, b.data, b.len, err, errlen);
    }
    buf_fini(&b);
    return rv;
}
