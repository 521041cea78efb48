/* SPDX-License-Identifier: MIT */
/*
 * Threshold verdict, console summary and results JSON. The JSON is written
 * by hand (escaping and finite numbers are this file's job); the files are
 * replaced atomically by rename.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/ops.h"
#include "../common/poison.h"
#include "../common/utf8.h"

#ifndef KS_VERSION
#define KS_VERSION "unknown"
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- numbers ----------------------------------------------------------- */

static double
us_to_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double
ratio(uint64_t num, uint64_t den)
{
    return den == 0 ? 0.0 : (double)num / (double)den;
}

static double
fin(double x)
{
    return isfinite(x) ? x : 0.0;
}

const char *
report_thousands(uint64_t n, char *out, size_t outlen)
{
    char digits[32];
    char tmp[48];
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t k = 0;

    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0) {
            tmp[k++] = ',';
        }
        tmp[k++] = digits[i];
    }
    tmp[k] = '\0';
    (void)snprintf(out, outlen, "%s", tmp);
    return out;
}

/* --- verdict ----------------------------------------------------------- */

static void add_violation(struct report_verdict *v, const char *metric,
                          double value, double threshold, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
add_violation(struct report_verdict *v, const char *metric, double value,
              double threshold, const char *fmt, ...)
{
    struct report_violation *x = NULL;
    va_list ap;

    if (v->n_violations >= REPORT_MAX_VIOLATIONS) {
        return;
    }
    x = &v->v[v->n_violations++];
    (void)snprintf(x->metric, sizeof(x->metric), "%s", metric);
    x->value = fin(value);
    x->threshold = fin(threshold);
    va_start(ap, fmt);
    (void)vsnprintf(x->message, sizeof(x->message), fmt, ap);
    va_end(ap);
}

/* One latency or rate key: its bit, config key, the summary's words and
 * the violation's metric (without the "<op>." prefix). */
struct key_def {
    uint32_t bit;
    const char *key;
    const char *label;  /* "P99 response time" */
    const char *metric; /* "response_time_p99" */
    double pct;         /* latency keys: the percentile, else 0 */
};

static const struct key_def latency_keys[] = {
    {THR_P50, "response_time_p50_max", "P50 response time", "response_time_p50",
     50.0},
    {THR_P95, "response_time_p95_max", "P95 response time", "response_time_p95",
     95.0},
    {THR_P99, "response_time_p99_max", "P99 response time", "response_time_p99",
     99.0},
    {THR_P99_9, "response_time_p99_9_max", "P99.9 response time",
     "response_time_p99_9", 99.9},
};

/* The limits of one scope (all operations or one) as the evaluation reads
 * them: the global struct and the per-op one share these keys. */
struct scope {
    uint32_t set;
    double lat_max[4]; /* latency_keys order, ms */
    double min_rps;
    double max_error_rate;
};

static struct report_threshold *
add_check(struct report_verdict *v, const char *key, const char *label, int op,
          const char *unit, double limit)
{
    struct report_threshold *c = NULL;

    if (v->n_checks >= REPORT_MAX_CHECKS) {
        return NULL;
    }
    c = &v->checks[v->n_checks++];
    memset(c, 0, sizeof(*c));
    c->key = key;
    c->label = label;
    c->op = op;
    c->unit = unit;
    c->limit = fin(limit);
    return c;
}

/* Marks c passed or failed by value (NULL c: the table was full). */
static bool
judge(struct report_threshold *c, double value, bool failed)
{
    if (c != NULL) {
        c->value = fin(value);
        c->state = failed ? REPORT_FAILED : REPORT_PASSED;
    }
    return failed;
}

static void
not_checked(struct report_threshold *c, const char *why)
{
    if (c != NULL) {
        c->state = REPORT_NOT_CHECKED;
        c->why = why;
    }
}

/*
 * Removes the recovery test's invalid requests (OP_INVALID) from *n, the
 * all-operations counts, and when there are some sets *out to a new
 * histogram of every other op's latency (free with hist_free). Returns 0
 * or E_NOMEM (then *out stays NULL; *n is adjusted all the same).
 */
static int
without_invalid(const struct agg *a, struct agg_counts *n, struct hist **out)
{
    struct agg_counts inv = agg_op_counts(a, OP_INVALID);
    struct hist *h = NULL;
    int rv = 0;

    if (inv.requests == 0) {
        return 0;
    }
    n->requests -= inv.requests;
    n->errors -= inv.errors;
    if ((rv = hist_new(&h)) != 0) {
        return rv;
    }
    for (int op = 0; op < OP_COUNT; op++) {
        if (op != OP_INVALID) {
            hist_add(h, agg_latency(a, op));
        }
    }
    *out = h;
    return 0;
}

/* Evaluates one scope: op -1 for all operations. */
static void
eval_scope(struct report_verdict *out, const struct agg *a,
           const struct scope *sc, int op, double duration_s, bool during_run,
           const char *test_name)
{
    struct agg_counts n = agg_op_counts(a, op);
    const struct hist *lat = agg_latency(a, op);
    struct hist *valid = NULL;
    /* "<op> " and "<op>.": the longest op name, "short_term_memory",
     * and its separator; so "<op>." and the longest metric,
     * "response_time_p99_9", always fit in a violation's metric[48]. */
    char pre[20] = "";
    char mpre[20] = "";

    /* The recovery test's invalid requests are meant to fail: the
     * all-operations scope is every other op (their histograms merged
     * exactly; on OOM the latency stays the all-ops one). */
    if (op < 0 && without_invalid(a, &n, &valid) == 0 && valid != NULL) {
        lat = valid;
    }
    const char *none = op < 0 ? "no request completed"
                              : "no request of this operation completed";

    if (op >= 0) {
        (void)snprintf(pre, sizeof(pre), "%s ", ops_name(op));
        (void)snprintf(mpre, sizeof(mpre), "%s.", ops_name(op));
    }
    for (size_t i = 0; i < NELEM(latency_keys); i++) {
        const struct key_def *k = &latency_keys[i];
        struct report_threshold *c = NULL;
        double ms = 0;
        char metric[48];
        if ((sc->set & k->bit) == 0 || !(sc->lat_max[i] > 0.0)) {
            continue;
        }
        c = add_check(out, k->key, k->metric + 14, op, "ms", sc->lat_max[i]);
        if (n.requests == 0) {
            not_checked(c, none);
            continue;
        }
        ms = us_to_ms(hist_percentile(lat, k->pct));
        if (judge(c, ms, ms > sc->lat_max[i])) {
            (void)snprintf(metric, sizeof(metric), "%s%s", mpre, k->metric);
            add_violation(out, metric, ms, sc->lat_max[i],
                          "%s: %s%s (%.1fms) exceeds threshold (%gms)",
                          test_name, pre, k->label, ms, sc->lat_max[i]);
        }
    }
    if ((sc->set & THR_MIN_RPS) != 0 && sc->min_rps > 0.0) {
        struct report_threshold *c = add_check(
            out, "min_throughput_rps", "throughput", op, "req/s", sc->min_rps);
        double rps = duration_s > 0 ? (double)n.requests / duration_s : 0.0;
        char metric[48];
        if (c != NULL) {
            c->at_least = true;
        }
        if (during_run) {
            not_checked(c, "checked at the end of the test");
        } else if (!(duration_s > 0)) {
            not_checked(c, "no duration");
        } else if (judge(c, rps, rps < sc->min_rps)) {
            (void)snprintf(metric, sizeof(metric), "%sthroughput", mpre);
            add_violation(out, metric, rps, sc->min_rps,
                          "%s: %sThroughput (%.1f req/s) below threshold "
                          "(%g req/s)",
                          test_name, pre, rps, sc->min_rps);
        }
    }
    if ((sc->set & THR_ERROR) != 0) {
        struct report_threshold *c =
            add_check(out, "max_error_rate", "error rate", op, "ratio",
                      sc->max_error_rate);
        double er = ratio(n.errors, n.requests);
        char metric[48];
        if (n.requests == 0) {
            not_checked(c, none);
        } else if (judge(c, er, er > sc->max_error_rate)) {
            (void)snprintf(metric, sizeof(metric), "%serror_rate", mpre);
            add_violation(out, metric, er, sc->max_error_rate,
                          "%s: %sError rate (%.2f%%) exceeds threshold "
                          "(%g%%)",
                          test_name, pre, er * 100.0,
                          sc->max_error_rate * 100.0);
        }
    }
    hist_free(valid);
}

void
report_evaluate(const struct agg *a, const struct thresholds *t,
                double duration_s, bool during_run, const char *test_name,
                struct report_verdict *out)
{
    struct agg_counts all = agg_op_counts(a, -1);
    struct agg_counts inv = agg_op_counts(a, OP_INVALID);
    struct scope sc;
    static const struct {
        uint32_t bit;
        const char *key;
        const char *label;
        const char *unit;
    } resource_keys[] = {
        {THR_MEMORY, "max_memory_usage_mb", "memory", "MB"},
        {THR_CPU, "max_cpu_usage_percent", "cpu", "%"},
        {THR_POOL, "max_connection_pool_usage", "connection pool", "ratio"},
    };
    const double resource_limits[] = {t->max_memory_usage_mb,
                                      t->max_cpu_usage_percent,
                                      t->max_connection_pool_usage};

    memset(out, 0, sizeof(*out));
    out->p99_max_ms =
        (t->set & THR_P99) != 0 ? fin(t->response_time_p99_max) : 0.0;
    out->max_error_rate = fin(t->max_error_rate);
    out->p99_ms = us_to_ms(hist_percentile(agg_latency(a, -1), 99.0));
    all.requests -= inv.requests; /* the recovery test's invalid requests */
    all.errors -= inv.errors;     /* are meant to fail: never counted here */
    out->error_rate = ratio(all.errors, all.requests);
    if (all.requests == 0 && !during_run) {
        add_violation(out, "requests", 0.0, 1.0, "%s: no request completed",
                      test_name);
    }
    memset(&sc, 0, sizeof(sc));
    sc.set = t->set;
    sc.lat_max[0] = t->response_time_p50_max;
    sc.lat_max[1] = t->response_time_p95_max;
    sc.lat_max[2] = t->response_time_p99_max;
    sc.lat_max[3] = t->response_time_p99_9_max;
    sc.min_rps = t->min_throughput_rps;
    sc.max_error_rate = t->max_error_rate;
    eval_scope(out, a, &sc, -1, duration_s, during_run, test_name);
    /* Judged at the end on the test's summary (report_check_resources):
     * a resource key that is set is listed, never passed silently. */
    for (size_t i = 0; i < NELEM(resource_keys); i++) {
        if ((t->set & resource_keys[i].bit) != 0) {
            not_checked(add_check(out, resource_keys[i].key,
                                  resource_keys[i].label, -1,
                                  resource_keys[i].unit, resource_limits[i]),
                        "resources are checked at the end");
        }
    }
    for (int op = 0; op < OP_COUNT; op++) {
        const struct op_thresholds *o = &t->per_op[op];
        if (o->set == 0) {
            continue;
        }
        memset(&sc, 0, sizeof(sc));
        sc.set = o->set;
        sc.lat_max[0] = o->response_time_p50_max;
        sc.lat_max[1] = o->response_time_p95_max;
        sc.lat_max[2] = o->response_time_p99_max;
        sc.lat_max[3] = o->response_time_p99_9_max;
        sc.min_rps = o->min_throughput_rps;
        sc.max_error_rate = o->max_error_rate;
        eval_scope(out, a, &sc, op, duration_s, during_run, test_name);
    }
}

void
report_check(const struct agg *a, const struct thresholds *t,
             const char *test_name, struct report_verdict *out)
{
    struct thresholds tt = *t;

    tt.set |= THR_P99 | THR_ERROR;
    report_evaluate(a, &tt, 0.0, false, test_name, out);
}

void
report_set_aborted(struct report_verdict *out, double at_s, const char *reason,
                   const char *test_name)
{
    out->aborted = true;
    out->abort_at_s = fin(at_s);
    (void)snprintf(out->abort_reason, sizeof(out->abort_reason), "%s", reason);
    if (out->n_violations == 0) {
        add_violation(out, "aborted", at_s, 0.0,
                      "%s: aborted at %.0fs (abort_on_fail): %s", test_name,
                      at_s, reason);
    }
}

void
report_add_violation(struct report_verdict *out, const char *metric,
                     double value, double threshold, const char *message)
{
    add_violation(out, metric, value, threshold, "%s", message);
}

void
report_check_degradation(struct report_verdict *out, const struct degrade *d,
                         const char *test_name)
{
    out->degradation_checked = true;
    out->deg = *d;
    if (d->measured && d->violated) {
        add_violation(out, "degradation", d->value, d->max,
                      "%s: p99 degradation (%.2fx, last fifth %.1fms over "
                      "first fifth %.1fms) exceeds threshold (%gx)",
                      test_name, d->value, us_to_ms(d->last_p99_us),
                      us_to_ms(d->first_p99_us), d->max);
    }
}

void
report_check_recovery(struct report_verdict *out, const struct recovery *r,
                      const char *test_name)
{
    out->recovery_checked = true;
    out->rec = *r;
    if (r->measured && !r->recovered) {
        add_violation(out, "recovery", 0.0, 0.0,
                      "%s: not recovered: no %us window after the invalid "
                      "phase had p99 <= %.1fms and error rate <= %.2f%%",
                      test_name, (unsigned)r->window, us_to_ms(r->p99_limit_us),
                      r->err_limit * 100.0);
    }
}

void
report_check_baseline(struct report_verdict *out,
                      const struct baseline_result *b, bool fail_on_regression,
                      const char *test_name)
{
    out->baseline = b;
    if (fail_on_regression && b->state == BASELINE_COMPARED &&
        b->regressions > 0) {
        add_violation(out, "baseline", (double)b->regressions, 0.0,
                      "%s: %zu metric%s regressed beyond %.0f%% of the "
                      "baseline (fail_on_regression)",
                      test_name, b->regressions, b->regressions == 1 ? "" : "s",
                      b->threshold * 100.0);
    }
}

void
report_check_memory(struct report_verdict *out, const struct memleak *m,
                    const char *test_name)
{
    out->mem = m;
    if (m->leak) {
        add_violation(out, "memory_leak", m->slope, m->threshold,
                      "%s: memory grows %.2f MB/min (R^2 %.2f) above the "
                      "leak threshold (%g MB/min)",
                      test_name, m->slope, m->r2, m->threshold);
    }
}

static struct report_threshold *
find_check(struct report_verdict *v, const char *key)
{
    for (size_t i = 0; i < v->n_checks; i++) {
        if (v->checks[i].op < 0 && strcmp(v->checks[i].key, key) == 0) {
            return &v->checks[i];
        }
    }
    return NULL;
}

void
report_check_resources(struct report_verdict *out, const struct saturation *s,
                       const char *test_name)
{
    struct report_threshold *c;

    out->sat = s;
    if ((c = find_check(out, "max_memory_usage_mb")) != NULL) {
        if (s->target.n_mem == 0) {
            not_checked(c, "no target memory sample (test_scenarios.memory."
                           "memory_source gave none)");
        } else if (judge(c, s->target.mem_max_mb,
                         s->target.mem_max_mb > c->limit)) {
            add_violation(out, "max_memory_usage_mb", s->target.mem_max_mb,
                          c->limit,
                          "%s: target memory %.1f MB exceeds "
                          "max_memory_usage_mb (%g MB)",
                          test_name, s->target.mem_max_mb, c->limit);
        }
    }
    if ((c = find_check(out, "max_cpu_usage_percent")) != NULL) {
        if (s->target.n_cpu == 0) {
            not_checked(c, s->target.n_mem == 0
                               ? "no target sample (test_scenarios.memory."
                                 "memory_source gave none)"
                               : "the target source gives no CPU figure "
                                 "(two samples with CPU time are needed)");
        } else if (judge(c, s->target.cpu_max_pct,
                         s->target.cpu_max_pct > c->limit)) {
            add_violation(out, "max_cpu_usage_percent", s->target.cpu_max_pct,
                          c->limit,
                          "%s: target CPU %.1f%% exceeds "
                          "max_cpu_usage_percent (%g%%)",
                          test_name, s->target.cpu_max_pct, c->limit);
        }
    }
    if ((c = find_check(out, "max_connection_pool_usage")) != NULL) {
        if (!s->pool_known) {
            not_checked(c, "no open-connection figures from the agents, or "
                           "connection_pool_size 0");
        } else if (judge(c, s->pool_usage, s->pool_usage > c->limit)) {
            add_violation(out, "max_connection_pool_usage", s->pool_usage,
                          c->limit,
                          "%s: connection pool usage %.2f exceeds "
                          "max_connection_pool_usage (%g)",
                          test_name, s->pool_usage, c->limit);
        }
    }
}

/* --- JSON writer --------------------------------------------------------- */

/* A JSON string: quotes, escapes, control characters as \u00XX. Valid
 * UTF-8 passes through; any other byte >= 0x80 (agent names and texts
 * are opaque bytes from the wire, paths come from the command line)
 * becomes U+FFFD, so the document is always valid JSON. */
static void
jstr(struct buf_writer *w, const char *s)
{
    buf_put(w, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p >= 0x80) {
            size_t n = utf8_seq_len(p, false);
            if (n == 0) {
                buf_put(w, "\\ufffd");
            } else {
                memcpy(esc, p, n);
                esc[n] = '\0';
                buf_put(w, esc);
                p += n - 1;
            }
            continue;
        }
        switch (*p) {
        case '"':
            buf_put(w, "\\\"");
            break;
        case '\\':
            buf_put(w, "\\\\");
            break;
        case '\n':
            buf_put(w, "\\n");
            break;
        case '\r':
            buf_put(w, "\\r");
            break;
        case '\t':
            buf_put(w, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                (void)snprintf(esc, sizeof(esc), "\\u%04x", *p);
            } else {
                esc[0] = (char)*p;
                esc[1] = '\0';
            }
            buf_put(w, esc);
            break;
        }
    }
    buf_put(w, "\"");
}

static void
jkey(struct buf_writer *w, bool *first, const char *k)
{
    if (!*first) {
        buf_put(w, ", ");
    }
    *first = false;
    jstr(w, k);
    buf_put(w, ": ");
}

static void
jkv_u64(struct buf_writer *w, bool *first, const char *k, uint64_t v)
{
    jkey(w, first, k);
    buf_putf(w, "%llu", (unsigned long long)v);
}

/* A finite number with prec decimals (NaN and inf become 0). */
static void
jkv_num(struct buf_writer *w, bool *first, const char *k, double v, int prec)
{
    jkey(w, first, k);
    buf_putf(w, "%.*f", prec, fin(v));
}

static void
jkv_ms(struct buf_writer *w, bool *first, const char *k, uint64_t us)
{
    jkv_num(w, first, k, us_to_ms(us), 3);
}

static void
jkv_str(struct buf_writer *w, bool *first, const char *k, const char *v)
{
    jkey(w, first, k);
    jstr(w, v ? v : "");
}

static void
jkv_bool(struct buf_writer *w, bool *first, const char *k, bool v)
{
    jkey(w, first, k);
    buf_put(w, v ? "true" : "false");
}

/* {"http_404": n, ...} for op (or all ops when op is -1). */
static void
json_errors(struct buf_writer *w, const struct agg *a, int op)
{
    bool first = true;

    buf_put(w, "{");
    for (int slot = 0; slot < ERRK_SLOTS; slot++) {
        uint32_t key = errk_from_slot(slot);
        uint64_t n = 0;
        char name[32];
        if (!errk_valid(key)) {
            continue;
        }
        n = agg_errors(a, op, key);
        if (n > 0) {
            jkv_u64(w, &first, errk_name(key, name, sizeof(name)), n);
        }
    }
    buf_put(w, "}");
}

static void
json_op_stats(struct buf_writer *w, const struct agg *a)
{
    bool first = true;

    buf_put(w, "{");
    for (int op = 0; op < OP_COUNT; op++) {
        struct agg_counts c = agg_op_counts(a, op);
        const struct hist *h = agg_latency(a, op);
        const struct hist *s = agg_service(a, op);
        bool f2 = true;
        if (c.requests == 0) {
            continue;
        }
        jkey(w, &first, ops_name(op));
        buf_put(w, "{");
        jkv_u64(w, &f2, "count", c.requests);
        jkv_u64(w, &f2, "errors", c.errors);
        jkv_num(w, &f2, "error_rate", ratio(c.errors, c.requests), 6);
        jkv_num(w, &f2, "mean_ms", hist_mean(h) / 1000.0, 3);
        jkv_ms(w, &f2, "p50_ms", hist_percentile(h, 50.0));
        jkv_ms(w, &f2, "p95_ms", hist_percentile(h, 95.0));
        jkv_ms(w, &f2, "p99_ms", hist_percentile(h, 99.0));
        jkv_ms(w, &f2, "p99.9_ms", hist_percentile(h, 99.9));
        jkv_ms(w, &f2, "max_ms", hist_max(h));
        jkv_ms(w, &f2, "service_p99_ms", hist_percentile(s, 99.0));
        jkv_u64(w, &f2, "bytes_sent", c.bytes_sent);
        jkv_u64(w, &f2, "bytes_received", c.bytes_recv);
        buf_put(w, "}");
    }
    buf_put(w, "}");
}

static void
json_errors_by_op(struct buf_writer *w, const struct agg *a)
{
    bool first = true;

    buf_put(w, "{");
    for (int op = 0; op < OP_COUNT; op++) {
        if (agg_op_counts(a, op).errors == 0) {
            continue;
        }
        jkey(w, &first, ops_name(op));
        json_errors(w, a, op);
    }
    buf_put(w, "}");
}

static void
json_agents(struct buf_writer *w, const struct agg *a)
{
    buf_put(w, "[");
    for (size_t i = 0; i < agg_n_agents(a); i++) {
        struct agg_agent_info ai;
        bool f2 = true;
        size_t total = 0;
        if (agg_agent(a, i, &ai) != 0) {
            continue;
        }
        buf_put(w, i ? ", {" : "{");
        jkv_str(w, &f2, "name", ai.name);
        jkv_u64(w, &f2, "id", ai.id);
        jkv_u64(w, &f2, "users", ai.users);
        jkv_u64(w, &f2, "requests", ai.requests);
        jkv_u64(w, &f2, "errors", ai.errors);
        jkv_u64(w, &f2, "batches", ai.batches);
        jkv_u64(w, &f2, "duplicate_batches", ai.duplicates);
        jkv_bool(w, &f2, "goodbye", ai.goodbye);
        jkv_bool(w, &f2, "totals_match", ai.totals_match);
        jkv_u64(w, &f2, "missing_batches", ai.n_missing_seq);
        jkey(w, &f2, "missing_intervals");
        buf_put(w, "[");
        total = agg_agent_missing(a, i, NULL, 0);
        if (total > 0) {
            uint32_t *miss = xcalloc(total, sizeof(*miss));
            if (miss == NULL) {
                buf_writer_fail(w, E_NOMEM);
            } else {
                (void)agg_agent_missing(a, i, miss, total);
                for (size_t k = 0; k < total; k++) {
                    buf_putf(w, "%s%u", k ? ", " : "", (unsigned)miss[k]);
                }
                xfree(miss);
            }
        }
        buf_put(w, "]}");
    }
    buf_put(w, "]");
}

/* Interval k's latency p50/p90/p99/max and service-time p50/p99 (ms),
 * exact from the sparse per-interval histograms. */
static void
json_interval_pcts(struct buf_writer *w, const struct agg *a, uint32_t k,
                   bool *f)
{
    static const struct {
        const char *key;
        double p;
        bool service;
    } cols[] = {
        {"p50_ms", 50.0, false},        {"p90_ms", 90.0, false},
        {"p99_ms", 99.0, false},        {"max_ms", 100.0, false},
        {"service_p50_ms", 50.0, true}, {"service_p99_ms", 99.0, true},
    };

    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        uint64_t us = 0;
        (void)agg_interval_percentile(a, k, -1, cols[i].service, cols[i].p,
                                      &us);
        jkv_ms(w, f, cols[i].key, us);
    }
}

/* HdrHistogram's percentile distribution, in short: the latency at each
 * of these percentiles, {"50": ms, ..., "100": ms}. */
static void
json_spectrum(struct buf_writer *w, const struct hist *h)
{
    static const struct {
        const char *key;
        double p;
    } sp[] = {{"50", 50.0},     {"75", 75.0},       {"90", 90.0},
              {"95", 95.0},     {"99", 99.0},       {"99.9", 99.9},
              {"99.99", 99.99}, {"99.999", 99.999}, {"100", 100.0}};
    bool first = true;

    buf_put(w, "{");
    for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
        jkv_ms(w, &first, sp[i].key, hist_percentile(h, sp[i].p));
    }
    buf_put(w, "}");
}

static void
json_intervals(struct buf_writer *w, const struct agg *a)
{
    buf_put(w, "[");
    for (uint32_t k = 0; k < agg_n_intervals(a); k++) {
        uint64_t req = 0;
        uint64_t err = 0;
        bool f2 = true;
        bool f4 = true;
        if (agg_interval(a, k, &req, &err) != 0) {
            break;
        }
        buf_put(w, k ? ", {" : "{");
        jkv_u64(w, &f2, "t", k);
        jkv_u64(w, &f2, "requests", req);
        jkv_u64(w, &f2, "errors", err);
        jkv_u64(w, &f2, "users", agg_interval_users(a, k));
        json_interval_pcts(w, a, k, &f2);
        jkey(w, &f2, "operations");
        buf_put(w, "{");
        for (int op = 0; op < OP_COUNT; op++) {
            bool f3 = true;
            if (agg_interval_op(a, k, op, &req, &err) != 0 || req == 0) {
                continue;
            }
            jkey(w, &f4, ops_name(op));
            buf_put(w, "{");
            jkv_u64(w, &f3, "requests", req);
            jkv_u64(w, &f3, "errors", err);
            buf_put(w, "}");
        }
        buf_put(w, "}}");
    }
    buf_put(w, "]");
}

/* "passed", "failed" or "not checked: <why>" into out. */
static const char *
check_status(const struct report_threshold *c, char *out, size_t outlen)
{
    if (c->state == REPORT_NOT_CHECKED) {
        (void)snprintf(out, outlen, "not checked: %s",
                       c->why != NULL ? c->why : "no data");
    } else {
        (void)snprintf(out, outlen, "%s",
                       c->state == REPORT_FAILED ? "failed" : "passed");
    }
    return out;
}

/*
 * {"checked": {key: limit} of the global keys evaluated, "per_operation":
 * {op: {key: limit}}, "results": [every key set, with its status],
 * "violations": [...], "aborted": {...} when abort_on_fail stopped the
 * test, "passed"}.
 */
static void
json_thresholds(struct buf_writer *w, const struct report_verdict *v)
{
    bool first = true;
    bool f2 = true;
    char st[96];

    buf_put(w, "{");
    jkey(w, &first, "checked");
    buf_put(w, "{");
    for (size_t i = 0; i < v->n_checks; i++) {
        const struct report_threshold *c = &v->checks[i];
        if (c->op < 0 && c->state != REPORT_NOT_CHECKED) {
            jkv_num(w, &f2, c->key, c->limit,
                    strcmp(c->unit, "ms") == 0 ? 3 : 6);
        }
    }
    if (v->degradation_checked) {
        jkv_num(w, &f2, "max_degradation", v->deg.max, 3);
    }
    buf_put(w, "}");
    jkey(w, &first, "per_operation");
    buf_put(w, "{");
    f2 = true;
    for (int op = 0; op < OP_COUNT; op++) {
        bool f3 = true;
        for (size_t i = 0; i < v->n_checks; i++) {
            const struct report_threshold *c = &v->checks[i];
            if (c->op != op) {
                continue;
            }
            if (f3) {
                jkey(w, &f2, ops_name(op));
                buf_put(w, "{");
            }
            jkv_num(w, &f3, c->key, c->limit, 6);
        }
        if (!f3) {
            buf_put(w, "}");
        }
    }
    buf_put(w, "}");
    jkey(w, &first, "results");
    buf_put(w, "[");
    for (size_t i = 0; i < v->n_checks; i++) {
        const struct report_threshold *c = &v->checks[i];
        bool f3 = true;
        buf_put(w, i ? ", {" : "{");
        jkv_str(w, &f3, "key", c->key);
        jkv_str(w, &f3, "operation", c->op < 0 ? "all" : ops_name(c->op));
        jkv_num(w, &f3, "limit", c->limit, 6);
        jkv_str(w, &f3, "unit", c->unit);
        if (c->state != REPORT_NOT_CHECKED) {
            jkv_num(w, &f3, "value", c->value, 6);
        }
        jkv_str(w, &f3, "status", check_status(c, st, sizeof(st)));
        buf_put(w, "}");
    }
    buf_put(w, "]");
    jkey(w, &first, "violations");
    buf_put(w, "[");
    for (size_t i = 0; i < v->n_violations; i++) {
        bool f3 = true;
        buf_put(w, i ? ", {" : "{");
        jkv_str(w, &f3, "metric", v->v[i].metric);
        jkv_num(w, &f3, "value", v->v[i].value, 6);
        jkv_num(w, &f3, "threshold", v->v[i].threshold, 6);
        jkv_str(w, &f3, "message", v->v[i].message);
        buf_put(w, "}");
    }
    buf_put(w, "]");
    if (v->aborted) {
        bool f3 = true;
        jkey(w, &first, "aborted");
        buf_put(w, "{");
        jkv_num(w, &f3, "at_seconds", v->abort_at_s, 3);
        jkv_str(w, &f3, "violation", v->abort_reason);
        buf_put(w, "}");
    }
    jkv_bool(w, &first, "passed", v->n_violations == 0);
    buf_put(w, "}");
}

static void
iso8601(uint64_t wall_ns, char *out, size_t outlen)
{
    time_t t = (time_t)(wall_ns / CLOCK_NS_PER_S);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        (void)snprintf(out, outlen, "1970-01-01T00:00:00Z");
    }
}

/* {"status": "measured" | "not enough data", "value", "max", windows}:
 * a run too short for two disjoint windows, or a window without data,
 * has no number. */
static void
json_degradation(struct buf_writer *w, const struct degrade *d)
{
    bool f = true;

    buf_put(w, "{");
    jkv_str(w, &f, "status", d->measured ? "measured" : "not enough data");
    if (d->measured) {
        jkv_num(w, &f, "value", d->value, 4);
    } else {
        jkey(w, &f, "value");
        buf_put(w, "null");
    }
    jkv_num(w, &f, "max", d->max, 3);
    jkv_bool(w, &f, "violated", d->measured && d->violated);
    if (d->windows_ok) {
        bool f2 = true;
        bool f3 = true;
        jkey(w, &f, "first_window");
        buf_put(w, "{");
        jkv_u64(w, &f2, "from_interval", d->w.first_from);
        jkv_u64(w, &f2, "to_interval", d->w.first_to);
        jkv_u64(w, &f2, "requests", d->first_count);
        jkv_ms(w, &f2, "p99_ms", d->first_p99_us);
        buf_put(w, "}");
        jkey(w, &f, "last_window");
        buf_put(w, "{");
        jkv_u64(w, &f3, "from_interval", d->w.last_from);
        jkv_u64(w, &f3, "to_interval", d->w.last_to);
        jkv_u64(w, &f3, "requests", d->last_count);
        jkv_ms(w, &f3, "p99_ms", d->last_p99_us);
        buf_put(w, "}");
    }
    buf_put(w, "}");
}

/* "name": {"status", "results": {...}} of one test that ran. */
/* "resources": {...}, "saturated": bool, "saturation": [...] (the
 * object's members, after a comma). */
static void
json_resources(struct buf_writer *w, bool *f, const struct saturation *s)
{
    const struct sat_target *t = &s->target;
    bool g = true;
    char why[48];

    jkey(w, f, "resources");
    buf_put(w, "{");
    jkey(w, &g, "agents");
    buf_put(w, "[");
    for (size_t i = 0; i < s->n_agents; i++) {
        const struct sat_agent *x = &s->agents[i];
        bool h = true;
        buf_put(w, i > 0 ? ",{" : "{");
        jkv_str(w, &h, "agent", x->name);
        jkv_u64(w, &h, "threads", x->threads);
        jkv_u64(w, &h, "samples", x->n_samples);
        jkv_num(w, &h, "cpu_max_percent", x->cpu_max_pct, 2);
        jkv_num(w, &h, "cpu_mean_percent", x->cpu_mean_pct, 2);
        jkv_num(w, &h, "host_cpu_max_percent", x->host_cpu_max_pct, 2);
        jkv_num(w, &h, "rss_max_mb", (double)x->rss_max_bytes / 1048576.0, 3);
        jkv_u64(w, &h, "net_bytes_recv", x->net_rx_bytes);
        jkv_u64(w, &h, "net_bytes_sent", x->net_tx_bytes);
        jkv_u64(w, &h, "open_connections_max", x->conn_max);
        jkv_num(w, &h, "loop_lag_max_ms", x->lag_max_ms, 3);
        jkv_num(w, &h, "loop_lag_mean_ms", x->lag_mean_ms, 3);
        jkv_bool(w, &h, "saturated", x->saturated);
        buf_put(w, "}");
    }
    buf_put(w, "]");
    jkey(w, &g, "target");
    buf_put(w, "{");
    {
        bool h = true;
        jkv_u64(w, &h, "memory_samples", t->n_mem);
        if (t->n_mem > 0) {
            jkv_num(w, &h, "memory_max_mb", t->mem_max_mb, 3);
            jkv_num(w, &h, "memory_mean_mb", t->mem_mean_mb, 3);
        }
        jkv_u64(w, &h, "cpu_samples", t->n_cpu);
        if (t->n_cpu > 0) {
            jkv_num(w, &h, "cpu_max_percent", t->cpu_max_pct, 2);
            jkv_num(w, &h, "cpu_mean_percent", t->cpu_mean_pct, 2);
        }
    }
    buf_put(w, "}");
    if (s->pool_known) {
        jkv_u64(w, &g, "open_connections_peak", s->pool_peak_conns);
        jkv_num(w, &g, "connection_pool_usage", s->pool_usage, 4);
    }
    buf_put(w, "}");
    jkv_bool(w, f, "saturated", s->any_saturated);
    jkey(w, f, "saturation");
    buf_put(w, "[");
    g = true;
    for (size_t i = 0; i < s->n_agents; i++) {
        const struct sat_agent *x = &s->agents[i];
        bool h = true;
        if (!x->saturated) {
            continue;
        }
        buf_put(w, g ? "{" : ",{");
        g = false;
        jkv_str(w, &h, "agent", x->name);
        jkv_str(w, &h, "why", saturation_why(x->why, why, sizeof(why)));
        jkv_u64(w, &h, "n_intervals", x->n_sat);
        jkey(w, &h, "intervals");
        buf_put(w, "[");
        for (uint32_t k = 0; k < x->n_sat && k < SAT_MAX_LISTED; k++) {
            buf_putf(w, k > 0 ? ",%u" : "%u", (unsigned)x->sat_iv[k]);
        }
        buf_put(w, "]}");
    }
    buf_put(w, "]");
}

static void
json_entry(struct buf_writer *wp, bool *top, const struct agg *a,
           const struct report_run *r, const struct report_verdict *v)
{
    struct buf_writer w = *wp;
    const struct hist *lat = agg_latency(a, -1);
    const struct hist *svc = agg_service(a, -1);
    struct agg_counts all = agg_op_counts(a, -1);
    struct agg_arrivals arr = agg_arrivals(a);
    bool f = true;
    char when[40];

    iso8601(r->started_wall_ns, when, sizeof(when));
    jkey(&w, top, r->test_name);
    buf_put(&w, "{");
    jkv_str(&w, &f, "status", r->status);
    jkey(&w, &f, "results");
    f = true;
    buf_put(&w, "{");
    jkv_u64(&w, &f, "total_requests", all.requests);
    jkv_u64(&w, &f, "total_successes",
            all.requests > all.errors ? all.requests - all.errors : 0);
    jkv_u64(&w, &f, "total_failures", all.errors);
    jkv_num(&w, &f, "error_rate", ratio(all.errors, all.requests), 6);
    jkv_num(&w, &f, "throughput_rps",
            r->duration_s > 0 ? (double)all.requests / r->duration_s : 0.0, 3);
    jkv_num(&w, &f, "duration_seconds", r->duration_s, 3);
    jkv_u64(&w, &f, "users", r->users);
    jkv_num(&w, &f, "response_time_mean", hist_mean(lat) / 1000.0, 3);
    jkv_ms(&w, &f, "response_time_min", hist_min(lat));
    jkv_ms(&w, &f, "response_time_max", hist_max(lat));
    jkv_ms(&w, &f, "response_time_p50", hist_percentile(lat, 50.0));
    jkv_ms(&w, &f, "response_time_p75", hist_percentile(lat, 75.0));
    jkv_ms(&w, &f, "response_time_p90", hist_percentile(lat, 90.0));
    jkv_ms(&w, &f, "response_time_p95", hist_percentile(lat, 95.0));
    jkv_ms(&w, &f, "response_time_p99", hist_percentile(lat, 99.0));
    jkv_ms(&w, &f, "response_time_p99.9", hist_percentile(lat, 99.9));
    jkv_ms(&w, &f, "response_time_p99.99", hist_percentile(lat, 99.99));
    jkey(&w, &f, "percentile_spectrum");
    json_spectrum(&w, lat);
    jkv_ms(&w, &f, "service_time_p50", hist_percentile(svc, 50.0));
    jkv_ms(&w, &f, "service_time_p95", hist_percentile(svc, 95.0));
    jkv_ms(&w, &f, "service_time_p99", hist_percentile(svc, 99.0));
    jkv_ms(&w, &f, "service_time_p99.9", hist_percentile(svc, 99.9));
    /* Open model: arrivals sent late (no free slot, or the agent behind)
     * and never sent; 0 for closed streams. */
    jkv_u64(&w, &f, "late_arrivals", arr.late);
    jkv_num(&w, &f, "late_arrivals_total_ms", (double)arr.late_us / 1000.0, 3);
    jkv_u64(&w, &f, "unsent_arrivals", arr.unsent);
    jkv_u64(&w, &f, "bytes_sent", all.bytes_sent);
    jkv_u64(&w, &f, "bytes_received", all.bytes_recv);
    jkey(&w, &f, "operation_stats");
    json_op_stats(&w, a);
    jkey(&w, &f, "errors");
    json_errors(&w, a, -1);
    jkey(&w, &f, "errors_by_operation");
    json_errors_by_op(&w, a);
    jkey(&w, &f, "agents");
    json_agents(&w, a);
    jkey(&w, &f, "intervals");
    json_intervals(&w, a);
    jkv_str(&w, &f, "target", r->target);
    jkv_str(&w, &f, "config_file", r->config_file);
    jkv_str(&w, &f, "started_at", when);
    jkv_str(&w, &f, "tool_version", KS_VERSION);
    jkv_u64(&w, &f, "seed", r->seed);
    jkv_u64(&w, &f, "vector_dim", r->vector_dim);
    jkv_bool(&w, &f, "data_complete", agg_complete(a));
    jkv_u64(&w, &f, "rejected_batches", agg_rejected(a));
    if (v->degradation_checked) {
        jkey(&w, &f, "degradation");
        json_degradation(&w, &v->deg);
    }
    if (v->recovery_checked && buf_writer_error(&w) == 0) {
        jkey(&w, &f, "error_recovery");
        buf_writer_fail(&w, recovery_json(w.b, a, &v->rec));
    }
    if (v->mem != NULL && buf_writer_error(&w) == 0) {
        jkey(&w, &f, "memory_leak");
        buf_writer_fail(&w, memleak_json(w.b, v->mem));
    }
    if (v->sat != NULL) {
        json_resources(&w, &f, v->sat);
    }
    if (v->extra_json != NULL && v->extra_json[0] != '\0') {
        buf_put(&w, ",");
        buf_put(&w, v->extra_json);
    }
    if (v->baseline != NULL && buf_writer_error(&w) == 0) {
        jkey(&w, &f, "baseline");
        buf_writer_fail(&w, baseline_json(w.b, v->baseline));
    }
    jkey(&w, &f, "thresholds");
    json_thresholds(&w, v);
    buf_put(&w, "}}");
    buf_writer_fail(wp, buf_writer_error(&w));
}

int
report_json(struct buf *out, const struct agg *a, const struct report_run *r,
            const struct report_verdict *v)
{
    struct buf_writer w;
    bool top = true;

    buf_writer_init(&w, out);
    buf_put(&w, "{");
    json_entry(&w, &top, a, r, v);
    buf_put(&w, "}\n");
    return buf_writer_error(&w);
}

int
report_json_suite(struct buf *out, const struct report_test *t, size_t n)
{
    struct buf_writer w;
    bool top = true;

    buf_writer_init(&w, out);
    buf_put(&w, "{");
    for (size_t i = 0; i < n; i++) {
        if (t[i].agg != NULL) {
            json_entry(&w, &top, t[i].agg, &t[i].run, &t[i].verdict);
        } else {
            bool f = true;
            jkey(&w, &top, t[i].run.test_name);
            buf_put(&w, "{");
            jkv_str(&w, &f, "status", t[i].run.status);
            buf_put(&w, "}");
        }
    }
    buf_put(&w, "}\n");
    return buf_writer_error(&w);
}

/* --- files --------------------------------------------------------------- */

/* "what PATH: reason" into err (errlen bytes), for the user. */
static void
say_errno(char *err, size_t errlen, const char *what, const char *path, int e)
{
    char reason[128];

    if (err == NULL || errlen == 0) {
        return;
    }
    if (strerror_r(e, reason, sizeof(reason)) != 0) {
        (void)snprintf(reason, sizeof(reason), "errno %d", e);
    }
    (void)snprintf(err, errlen, "%s %s: %s", what, path, reason);
}

/* mkdir -p dir (mode 0755). */
static int
mkdir_p(const char *dir, char *err, size_t errlen)
{
    char tmp[4096];
    size_t n = strlen(dir);
    struct stat st;

    if (n == 0 || n >= sizeof(tmp)) {
        (void)snprintf(err, errlen,
                       "output directory '%s' is empty or too "
                       "long",
                       dir);
        return E_RANGE;
    }
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                log_error("REPORT-MKDIR", "dir=%s errno=%d", tmp, e);
                say_errno(err, errlen, "cannot create output directory", tmp,
                          e);
                return E_IO;
            }
            tmp[i] = c;
        }
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        say_errno(err, errlen, "cannot create output directory", dir, ENOTDIR);
        return E_IO;
    }
    return 0;
}

int
report_prepare_dir(const char *dir, char *err, size_t errlen)
{
    char tmp[4096];
    int fd = -1;
    int rv = mkdir_p(dir, err, errlen);
    int k = 0;

    if (rv != 0) {
        return rv;
    }
    k = snprintf(tmp, sizeof(tmp), "%s/.results.XXXXXX", dir);
    if (k < 0 || (size_t)k >= sizeof(tmp)) {
        (void)snprintf(err, errlen, "output directory '%s' is too long", dir);
        return E_RANGE;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        say_errno(err, errlen, "cannot write in output directory", dir, e);
        return E_IO;
    }
    (void)close(fd);
    (void)unlink(tmp);
    return 0;
}

/* Writes data to dir/<tmp>, then renames it to final. */
static int
write_atomic(const char *dir, const char *final, const uint8_t *data,
             size_t len, char *err, size_t errlen)
{
    char tmp[4096];
    int fd = -1;
    int rv = 0;
    size_t off = 0;
    int k = snprintf(tmp, sizeof(tmp), "%s/.results.XXXXXX", dir);

    if (k < 0 || (size_t)k >= sizeof(tmp)) {
        return E_RANGE;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        log_error("REPORT-WRITE", "mkstemp in %s: errno=%d", dir, e);
        say_errno(err, errlen, "cannot write in output directory", dir, e);
        return E_IO;
    }
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            log_error("REPORT-WRITE", "file=%s errno=%d", tmp, e);
            say_errno(err, errlen, "cannot write", tmp, e);
            rv = E_IO;
            goto out;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        int e = errno;
        log_error("REPORT-WRITE", "file=%s errno=%d", tmp, e);
        say_errno(err, errlen, "cannot write", tmp, e);
        rv = E_IO;
        goto out;
    }
    if (close(fd) != 0) {
        int e = errno;
        fd = -1;
        log_error("REPORT-WRITE", "close %s errno=%d", tmp, e);
        say_errno(err, errlen, "cannot write", tmp, e);
        rv = E_IO;
        goto out;
    }
    fd = -1;
    if (rename(tmp, final) != 0) {
        int e = errno;
        log_error("REPORT-WRITE", "rename %s -> %s errno=%d", tmp, final, e);
        say_errno(err, errlen, "cannot rename to", final, e);
        rv = E_IO;
        goto out;
    }
out:
    if (fd >= 0) {
        (void)close(fd);
    }
    if (rv != 0) {
        (void)unlink(tmp);
    }
    return rv;
}

int
report_stamp(uint64_t wall_ns, char *out, size_t outlen)
{
    time_t t = (time_t)(wall_ns / CLOCK_NS_PER_S);
    struct tm tm;

    if (outlen == 0) {
        return E_IO;
    }
    if (localtime_r(&t, &tm) == NULL ||
        strftime(out, outlen, "%Y%m%d_%H%M%S", &tm) == 0) {
        out[0] = '\0';
        return E_IO;
    }
    return 0;
}

int
report_write_file(const char *dir, const char *name, const uint8_t *data,
                  size_t len, char *err, size_t errlen)
{
    char final[4096];
    int k = snprintf(final, sizeof(final), "%s/%s", dir, name);

    if (k < 0 || (size_t)k >= sizeof(final)) {
        (void)snprintf(err, errlen, "output directory '%s' is too long", dir);
        return E_RANGE;
    }
    return write_atomic(dir, final, data, len, err, errlen);
}

int
report_write(const char *dir, const uint8_t *json, size_t len, uint64_t wall_ns,
             char *path, size_t pathlen, char *err, size_t errlen)
{
    int rv = 0;
    char stamp[32];
    char final[4096];
    char latest[4096];
    int k = 0;

    if (report_stamp(wall_ns, stamp, sizeof(stamp)) != 0) {
        (void)snprintf(err, errlen, "cannot format the results' time stamp");
        return E_IO;
    }
    k = snprintf(final, sizeof(final), "%s/stress_test_results_%s.json", dir,
                 stamp);
    if (k < 0 || (size_t)k >= sizeof(final) || (size_t)k >= pathlen) {
        (void)snprintf(err, errlen, "output directory '%s' is too long", dir);
        return E_RANGE;
    }
    k = snprintf(latest, sizeof(latest), "%s/latest.json", dir);
    if (k < 0 || (size_t)k >= sizeof(latest)) {
        (void)snprintf(err, errlen, "output directory '%s' is too long", dir);
        return E_RANGE;
    }
    if ((rv = mkdir_p(dir, err, errlen)) != 0 ||
        (rv = write_atomic(dir, final, json, len, err, errlen)) != 0 ||
        (rv = write_atomic(dir, latest, json, len, err, errlen)) != 0) {
        return rv;
    }
    (void)snprintf(path, pathlen, "%s", final);
    return 0;
}

/* --- console ---------------------------------------------------------------
 */

/* "  Thresholds not checked: key (why), ..." when a key set could not be
 * checked; nothing otherwise. Returns fprintf's sign. */
static int
summary_not_checked(FILE *fp, const struct report_verdict *v)
{
    int k = 0;
    bool any = false;

    for (size_t i = 0; i < v->n_checks; i++) {
        const struct report_threshold *c = &v->checks[i];
        if (c->state != REPORT_NOT_CHECKED) {
            continue;
        }
        k |= fprintf(fp, "%s%s%s%s (%s)",
                     any ? ", " : "  Thresholds not checked: ",
                     c->op >= 0 ? ops_name(c->op) : "", c->op >= 0 ? "." : "",
                     c->key, c->why != NULL ? c->why : "no data");
        any = true;
    }
    if (any) {
        k |= fprintf(fp, "\n");
    }
    return k;
}

/* One test's block: name, status and, when it ran, its figures. */
static int
summary_block(FILE *fp, const struct report_test *t)
{
    const struct report_run *r = &t->run;
    const struct agg *a = t->agg;
    struct agg_counts all;
    const struct hist *lat = NULL;
    char n1[40];
    double rps = 0.0;
    int k = 0;

    k |= fprintf(fp, "%s:\n", r->test_name);
    k |= fprintf(fp, "  Status: %s\n", r->status);
    if (a == NULL) {
        return k < 0 ? E_IO : 0;
    }
    all = agg_op_counts(a, -1);
    lat = agg_latency(a, -1);
    rps = r->duration_s > 0 ? (double)all.requests / r->duration_s : 0.0;
    k |= fprintf(fp, "  Total Requests: %s\n",
                 report_thousands(all.requests, n1, sizeof(n1)));
    k |= fprintf(fp, "  Success Rate: %.2f%%\n",
                 all.requests ? 100.0 * (1.0 - ratio(all.errors, all.requests))
                              : 0.0);
    k |= fprintf(fp, "  P99 Response Time: %.1fms\n",
                 us_to_ms(hist_percentile(lat, 99.0)));
    k |= fprintf(fp, "  Throughput: %.1f req/s\n", fin(rps));
    for (int op = 0; op < OP_COUNT; op++) {
        struct agg_counts c = agg_op_counts(a, op);
        const struct hist *h = agg_latency(a, op);
        if (c.requests == 0) {
            continue;
        }
        k |= fprintf(fp,
                     "    %-18s %s req, %.2f%% errors, p50 %.1fms, "
                     "p99 %.1fms\n",
                     ops_name(op), report_thousands(c.requests, n1, sizeof(n1)),
                     100.0 * ratio(c.errors, c.requests),
                     us_to_ms(hist_percentile(h, 50.0)),
                     us_to_ms(hist_percentile(h, 99.0)));
    }
    if (t->verdict.degradation_checked) {
        const struct degrade *d = &t->verdict.deg;
        if (d->measured) {
            k |= fprintf(fp,
                         "  Degradation: %.2fx (p99 %.1fms in s %u-%u over "
                         "%.1fms in s %u-%u; max %gx)\n",
                         d->value, us_to_ms(d->last_p99_us),
                         (unsigned)d->w.last_from, (unsigned)d->w.last_to - 1,
                         us_to_ms(d->first_p99_us), (unsigned)d->w.first_from,
                         (unsigned)d->w.first_to - 1, d->max);
        } else {
            k |= fprintf(fp, "  Degradation: not enough data\n");
        }
    }
    if (t->verdict.aborted) {
        k |= fprintf(fp, "  Aborted: at %.0fs (abort_on_fail): %s\n",
                     t->verdict.abort_at_s, t->verdict.abort_reason);
    }
    k |= summary_not_checked(fp, &t->verdict);
    if (t->verdict.recovery_checked) {
        const struct recovery *rc = &t->verdict.rec;
        k |= fprintf(fp, "  Recovery: %s", recovery_verdict(rc));
        if (rc->recovered) {
            k |= fprintf(fp, " in %us", (unsigned)rc->recovery_time_s);
        }
        k |= fprintf(fp,
                     " (baseline p99 %.1fms, %.2f%% errors; invalid "
                     "requests %llu)\n",
                     us_to_ms(rc->baseline.p99_us),
                     100.0 * rc->baseline.error_rate,
                     (unsigned long long)agg_op_counts(a, OP_INVALID).requests);
    }
    if (t->verdict.mem != NULL) {
        const struct memleak *m = t->verdict.mem;
        k |= fprintf(fp, "  Memory: %s", memleak_verdict(m));
        if (m->measured) {
            k |= fprintf(fp, " (%+.2f MB/min, R^2 %.2f, threshold %g MB/min",
                         m->slope, m->r2, m->threshold);
        } else {
            k |= fprintf(fp, " (");
        }
        k |= fprintf(fp, "; %zu samples from %s)\n", m->n,
                     m->source ? m->source : "?");
    }
    if (t->verdict.extra_summary != NULL) {
        k |= fprintf(fp, "%s", t->verdict.extra_summary);
    }
    if (t->verdict.sat != NULL && t->verdict.sat->any_saturated) {
        const struct saturation *s = t->verdict.sat;
        char why[48];
        for (size_t i = 0; i < s->n_agents; i++) {
            const struct sat_agent *x = &s->agents[i];
            if (x->saturated) {
                k |= fprintf(fp,
                             "  WARNING: agent %s was saturated (%s) in %u "
                             "intervals: its figures may understate the "
                             "target\n",
                             x->name, saturation_why(x->why, why, sizeof(why)),
                             (unsigned)x->n_sat);
            }
        }
    }
    if (!agg_complete(a)) {
        k |= fprintf(fp, "  Data: INCOMPLETE (see agents[].missing_intervals "
                         "in the JSON)\n");
    }
    return k < 0 ? E_IO : 0;
}

/* The "Baseline Comparison" block after the verdict: one note line when
 * there is no baseline to compare with, else a line per test and one per
 * metric beyond the threshold. */
static int
baseline_block(FILE *fp, const struct report_test *t, size_t n)
{
    const struct baseline_result *first = NULL;
    int k = 0;

    for (size_t i = 0; i < n && first == NULL; i++) {
        if (t[i].agg != NULL) {
            first = t[i].verdict.baseline;
        }
    }
    if (first == NULL) {
        return 0;
    }
    if (first->state == BASELINE_MISSING) {
        k |= fprintf(fp,
                     "\nBaseline Comparison: none (no baseline file %s; "
                     "copy a run's latest.json there to compare the next "
                     "runs with it)\n",
                     first->file);
        return k < 0 ? E_IO : 0;
    }
    if (first->state == BASELINE_INVALID) {
        k |= fprintf(fp, "\nBaseline Comparison: not made: %s\n", first->error);
        return k < 0 ? E_IO : 0;
    }
    k |=
        fprintf(fp, "\nBaseline Comparison (%s, deviation threshold %.0f%%):\n",
                first->file, first->threshold * 100.0);
    for (size_t i = 0; i < n; i++) {
        if (t[i].agg != NULL && t[i].verdict.baseline != NULL &&
            baseline_summary(fp, t[i].verdict.baseline, t[i].run.test_name) !=
                0) {
            k = -1;
        }
    }
    return k < 0 ? E_IO : 0;
}

int
report_summary_suite(FILE *fp, const struct report_test *t, size_t n)
{
    size_t n_viol = 0;
    size_t n_missing = 0;
    int k = 0;
    int rv = 0;

    k |= fprintf(fp, "\n============================================\n"
                     "STRESS TEST SUMMARY\n"
                     "============================================\n");
    for (size_t i = 0; i < n; i++) {
        k |= fprintf(fp, "\n");
        if (summary_block(fp, &t[i]) != 0) {
            rv = E_IO;
        }
        n_viol += t[i].agg != NULL ? t[i].verdict.n_violations : 0;
        n_missing += strcmp(t[i].run.status, "not_implemented") == 0;
    }
    if (n_missing > 0) {
        k |= fprintf(fp, "\nNot implemented yet (not run, no results):");
        for (size_t i = 0; i < n; i++) {
            if (strcmp(t[i].run.status, "not_implemented") == 0) {
                k |= fprintf(fp, " %s", t[i].run.test_name);
            }
        }
        k |= fprintf(fp, "\n");
    }
    if (n_viol > 0) {
        k |= fprintf(fp, "\nThreshold Violations:\n");
        for (size_t i = 0; i < n; i++) {
            if (t[i].agg == NULL) {
                continue;
            }
            for (size_t j = 0; j < t[i].verdict.n_violations; j++) {
                k |= fprintf(fp, "  \xe2\x9a\xa0\xef\xb8\x8f  %s\n",
                             t[i].verdict.v[j].message);
            }
        }
    } else {
        k |= fprintf(fp, "\n\xe2\x9c\x85 All performance thresholds met!\n");
    }
    if (baseline_block(fp, t, n) != 0) {
        rv = E_IO;
    }
    if (k < 0 || fflush(fp) != 0) {
        rv = E_IO;
    }
    return rv;
}

int
report_summary(FILE *fp, const struct agg *a, const struct report_run *r,
               const struct report_verdict *v)
{
    struct report_test t;

    t.agg = a;
    t.run = *r;
    t.verdict = *v;
    return report_summary_suite(fp, &t, 1);
}
