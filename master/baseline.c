/* SPDX-License-Identifier: MIT */
/*
 * Baseline comparison: reads an earlier results JSON and compares it with
 * this run's, metric by metric; see baseline.h. The file is hostile input
 * (anyone may have edited it): every value is checked for its type and
 * finiteness before it is used, and nothing from it reaches the console
 * unsanitised.
 */
#include "baseline.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/err.h"
#include "../common/poison.h"

/* --- metrics ------------------------------------------------------------- */

struct metric_def {
    const char *name;     /* in the output */
    const char *all_key;  /* in "results" */
    const char *op_key;   /* in "operation_stats"/<op>; NULL: throughput */
    bool higher_is_worse; /* latency and errors; throughput is the other */
};

static const struct metric_def metrics[BASELINE_N_METRICS] = {
    {"p50_ms", "response_time_p50", "p50_ms", true},
    {"p95_ms", "response_time_p95", "p95_ms", true},
    {"p99_ms", "response_time_p99", "p99_ms", true},
    {"p99.9_ms", "response_time_p99.9", "p99.9_ms", true},
    {"throughput_rps", "throughput_rps", NULL, false},
    {"error_rate", "error_rate", "error_rate", true},
};

const char *
baseline_metric_name(int i)
{
    return i >= 0 && i < BASELINE_N_METRICS ? metrics[i].name : "?";
}

const char *
baseline_verdict_name(int verdict)
{
    switch (verdict) {
    case BASELINE_UNCHANGED:
        return "unchanged";
    case BASELINE_IMPROVEMENT:
        return "improvement";
    case BASELINE_REGRESSION:
        return "regression";
    default:
        return "not comparable";
    }
}

const char *
baseline_result_verdict(const struct baseline_result *r)
{
    switch (r->state) {
    case BASELINE_MISSING:
        return "no baseline file";
    case BASELINE_INVALID:
        return "invalid baseline file";
    case BASELINE_NO_TEST:
        return "not in baseline";
    default:
        break;
    }
    if (r->regressions > 0) {
        return "regression";
    }
    return r->improvements > 0 ? "improvement" : "unchanged";
}

/* A finite number member of obj. */
static bool
num_of(const struct json_val *obj, const char *key, double *out)
{
    const struct json_val *v = json_get(obj, key);

    if (v == NULL || v->type != JSON_NUMBER || !isfinite(v->num)) {
        return false;
    }
    *out = v->num;
    return true;
}

static void
judge(struct baseline_metric *m, bool have_b, double b, bool have_c, double c,
      bool higher_is_worse, double thr)
{
    bool worse = false;
    bool better = false;

    memset(m, 0, sizeof(*m));
    if (!have_b || !have_c) {
        m->verdict = BASELINE_NOT_COMPARABLE;
        return;
    }
    m->base = b;
    m->cur = c;
    if (b != 0.0) {
        double ch = (c - b) / fabs(b);
        if (isfinite(ch)) {
            m->has_change = true;
            m->change = ch;
            worse = higher_is_worse ? ch > thr : ch < -thr;
            better = higher_is_worse ? ch < -thr : ch > thr;
        }
    } else {
        /* No relative change from 0: any rise of a cost is a regression,
         * any throughput where there was none an improvement. */
        worse = higher_is_worse && c > 0.0;
        better = !higher_is_worse && c > 0.0;
    }
    m->verdict = worse    ? BASELINE_REGRESSION
                 : better ? BASELINE_IMPROVEMENT
                          : BASELINE_UNCHANGED;
}

/* Per-operation throughput: its count over the test's duration. */
static bool
op_rps(const struct json_val *op, const struct json_val *results, double *out)
{
    double n = 0.0;
    double dur = 0.0;

    if (!num_of(op, "count", &n) ||
        !num_of(results, "duration_seconds", &dur) || dur <= 0.0) {
        return false;
    }
    *out = n / dur;
    return isfinite(*out);
}

static void
compare_scope(struct baseline_result *out, struct baseline_scope *s,
              const struct json_val *b_obj, const struct json_val *b_res,
              const struct json_val *c_obj, const struct json_val *c_res)
{
    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        const struct metric_def *d = &metrics[i];
        double b = 0.0;
        double c = 0.0;
        bool hb = false;
        bool hc = false;
        if (s->name[0] == '\0') {
            hb = num_of(b_obj, d->all_key, &b);
            hc = num_of(c_obj, d->all_key, &c);
        } else if (d->op_key == NULL) {
            hb = op_rps(b_obj, b_res, &b);
            hc = op_rps(c_obj, c_res, &c);
        } else {
            hb = num_of(b_obj, d->op_key, &b);
            hc = num_of(c_obj, d->op_key, &c);
        }
        judge(&s->m[i], hb, b, hc, c, d->higher_is_worse, out->threshold);
        out->regressions += s->m[i].verdict == BASELINE_REGRESSION;
        out->improvements += s->m[i].verdict == BASELINE_IMPROVEMENT;
    }
}

/* Copies a string member of obj, printable ASCII only ('?' otherwise):
 * it is shown on the console. */
static void
copy_text(char *dst, size_t n, const struct json_val *obj, const char *key)
{
    const struct json_val *v = json_get(obj, key);
    size_t k = 0;

    if (v != NULL && v->type == JSON_STRING) {
        for (size_t i = 0; i < v->len && k + 1 < n; i++) {
            unsigned char c = (unsigned char)v->str[i];
            dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
    }
    dst[k] = '\0';
}

void
baseline_compare(const struct baseline *b, const struct json_val *cur,
                 const char *test_name, struct baseline_result *out)
{
    const struct json_val *be = NULL;
    const struct json_val *ce = NULL;
    const struct json_val *br = NULL;
    const struct json_val *cr = NULL;
    const struct json_val *bops = NULL;
    const struct json_val *cops = NULL;

    memset(out, 0, sizeof(*out));
    out->state = b->state;
    out->file = b->file;
    out->error = b->error;
    out->threshold = b->threshold;
    if (b->state != BASELINE_COMPARED) {
        return;
    }
    be = json_get(json_root(b->doc), test_name);
    ce = json_get(cur, test_name);
    br = json_get(be, "results");
    cr = json_get(ce, "results");
    if (br == NULL || cr == NULL || br->type != JSON_OBJECT ||
        cr->type != JSON_OBJECT) {
        out->state = BASELINE_NO_TEST;
        return;
    }
    copy_text(out->base_status, sizeof(out->base_status), be, "status");
    copy_text(out->base_started_at, sizeof(out->base_started_at), br,
              "started_at");
    compare_scope(out, &out->all, br, br, cr, cr);
    bops = json_get(br, "operation_stats");
    cops = json_get(cr, "operation_stats");
    if (bops == NULL || cops == NULL || cops->type != JSON_OBJECT) {
        return;
    }
    /* The current run's operations in its order; those the baseline
     * also has. */
    for (const struct json_val *op = cops->child;
         op != NULL && out->n_ops < BASELINE_MAX_OPS; op = op->next) {
        const struct json_val *bop = json_get(bops, op->key);
        struct baseline_scope *s = &out->ops[out->n_ops];
        if (bop == NULL || bop->type != JSON_OBJECT ||
            op->type != JSON_OBJECT || op->key_len == 0 ||
            op->key_len >= sizeof(s->name) || strlen(op->key) != op->key_len) {
            continue;
        }
        memcpy(s->name, op->key, op->key_len + 1);
        compare_scope(out, s, bop, br, op, cr);
        out->n_ops++;
    }
}

/* --- loading ------------------------------------------------------------- */

static void
say(struct baseline *b, int state, const char *what, const char *detail)
{
    b->state = state;
    (void)snprintf(b->error, sizeof(b->error), "%s: %s%s%s", b->file, what,
                   detail[0] ? ": " : "", detail);
}

/* Reads the whole regular file at b->file (at most BASELINE_MAX_BYTES)
 * into a new buffer; sets b's state and message when it cannot. */
static char *
read_all(struct baseline *b, size_t *len)
{
    struct stat st;
    char *data = NULL;
    char why[128];
    size_t got = 0;
    int fd = open(b->file, O_RDONLY | O_CLOEXEC);
    int e = errno;

    if (fd < 0) {
        if (e == ENOENT) {
            say(b, BASELINE_MISSING, "no such file", "");
            return NULL;
        }
        (void)strerror_r(e, why, sizeof(why));
        say(b, BASELINE_INVALID, "cannot open", why);
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        say(b, BASELINE_INVALID, "not a regular file", "");
        goto out;
    }
    if ((uint64_t)st.st_size > BASELINE_MAX_BYTES) {
        say(b, BASELINE_INVALID, "too large",
            "more than "
            "32 MiB (BASELINE_MAX_BYTES)");
        goto out;
    }
    data = xmalloc((size_t)st.st_size + 1);
    if (data == NULL) {
        say(b, BASELINE_INVALID, "cannot read", "out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            e = n < 0 ? errno : EIO;
            (void)strerror_r(e, why, sizeof(why));
            say(b, BASELINE_INVALID, "cannot read", why);
            xfree(data);
            data = NULL;
            goto out;
        }
        got += (size_t)n;
    }
    *len = got;
out:
    (void)close(fd);
    return data;
}

void
baseline_load(struct baseline *b, const char *path, double threshold)
{
    static const struct json_limits lim = {BASELINE_MAX_BYTES,
                                           BASELINE_MAX_VALUES, 64};
    char why[320];
    char *data = NULL;
    size_t len = 0;
    int rv = 0;

    memset(b, 0, sizeof(*b));
    (void)snprintf(b->file, sizeof(b->file), "%s", path);
    b->threshold = isfinite(threshold) && threshold >= 0.0 ? threshold : 0.0;
    data = read_all(b, &len);
    if (data == NULL) {
        return;
    }
    why[0] = '\0';
    rv = json_parse(&b->doc, data, len, &lim, why, sizeof(why));
    xfree(data);
    if (rv != 0) {
        b->doc = NULL;
        say(b, BASELINE_INVALID,
            rv == E_NOMEM ? "cannot parse" : "not valid JSON",
            why[0] ? why : err_str(rv));
        return;
    }
    if (json_root(b->doc)->type != JSON_OBJECT) {
        json_free(b->doc);
        b->doc = NULL;
        say(b, BASELINE_INVALID, "not a results JSON",
            "the top level is not an object, at byte 0 (line 1, column 1)");
        return;
    }
    b->state = BASELINE_COMPARED;
}

void
baseline_fini(struct baseline *b)
{
    json_free(b->doc);
    memset(b, 0, sizeof(*b));
}

/* --- output -------------------------------------------------------------- */

static void
jstr(struct buf_writer *w, const char *s)
{
    if (buf_writer_error(w) == 0) {
        buf_writer_fail(w, json_put_str(w->b, s, strlen(s)));
    }
}

static void
jnum(struct buf_writer *w, double v)
{
    buf_putf(w, "%.6f", isfinite(v) ? v : 0.0);
}

static void
json_scope(struct buf_writer *w, const struct baseline_scope *s)
{
    buf_put(w, "{");
    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        const struct baseline_metric *m = &s->m[i];
        buf_putf(w, "%s\"%s\": {", i ? ", " : "", metrics[i].name);
        if (m->verdict == BASELINE_NOT_COMPARABLE) {
            buf_put(w, "\"baseline\": null, \"current\": null, "
                       "\"change\": null");
        } else {
            buf_put(w, "\"baseline\": ");
            jnum(w, m->base);
            buf_put(w, ", \"current\": ");
            jnum(w, m->cur);
            buf_put(w, ", \"change\": ");
            if (m->has_change) {
                jnum(w, m->change);
            } else {
                buf_put(w, "null");
            }
        }
        buf_putf(w, ", \"verdict\": \"%s\"}",
                 baseline_verdict_name(m->verdict));
    }
    buf_put(w, "}");
}

int
baseline_json(struct buf *out, const struct baseline_result *r)
{
    static const char *const status[] = {"", "missing", "invalid",
                                         "not in baseline", "compared"};
    struct buf_writer w;

    buf_writer_init(&w, out);
    buf_put(&w, "{\"file\": ");
    jstr(&w, r->file != NULL ? r->file : "");
    buf_putf(&w, ", \"status\": \"%s\"",
             r->state >= 1 && r->state <= 4 ? status[r->state] : "");
    if (r->state == BASELINE_INVALID) {
        buf_put(&w, ", \"error\": ");
        jstr(&w, r->error != NULL ? r->error : "");
    }
    buf_put(&w, ", \"deviation_threshold\": ");
    jnum(&w, r->threshold);
    buf_put(&w, ", \"verdict\": ");
    jstr(&w, baseline_result_verdict(r));
    if (r->state == BASELINE_COMPARED) {
        buf_putf(&w, ", \"regressions\": %zu, \"improvements\": %zu",
                 r->regressions, r->improvements);
        buf_put(&w, ", \"baseline_status\": ");
        jstr(&w, r->base_status);
        buf_put(&w, ", \"baseline_started_at\": ");
        jstr(&w, r->base_started_at);
        buf_put(&w, ", \"metrics\": ");
        json_scope(&w, &r->all);
        buf_put(&w, ", \"operations\": {");
        for (size_t i = 0; i < r->n_ops; i++) {
            buf_put(&w, i ? ", " : "");
            jstr(&w, r->ops[i].name);
            buf_put(&w, ": ");
            json_scope(&w, &r->ops[i]);
        }
        buf_put(&w, "}");
    }
    buf_put(&w, "}");
    return buf_writer_error(&w);
}

/* One metric's value for a person: ms, req/s or a percentage. */
static void
fmt_value(char *out, size_t n, int i, double v)
{
    if (i == BASELINE_N_METRICS - 1) {
        (void)snprintf(out, n, "%.2f%%", v * 100.0);
    } else if (metrics[i].op_key == NULL) {
        (void)snprintf(out, n, "%.1f req/s", v);
    } else {
        (void)snprintf(out, n, "%.3fms", v);
    }
}

static int
scope_lines(FILE *fp, const struct baseline_scope *s)
{
    int k = 0;

    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        const struct baseline_metric *m = &s->m[i];
        char b[48];
        char c[48];
        char ch[32];
        if (m->verdict != BASELINE_REGRESSION &&
            m->verdict != BASELINE_IMPROVEMENT) {
            continue;
        }
        fmt_value(b, sizeof(b), i, m->base);
        fmt_value(c, sizeof(c), i, m->cur);
        if (m->has_change) {
            (void)snprintf(ch, sizeof(ch), "%+.1f%%", m->change * 100.0);
        } else {
            (void)snprintf(ch, sizeof(ch), "from 0");
        }
        k |= fprintf(fp, "    %s %s%s%s: %s -> %s (%s) %s\n",
                     m->verdict == BASELINE_REGRESSION
                         ? "\xe2\x9a\xa0\xef\xb8\x8f "
                         : "\xe2\x9c\x85",
                     s->name, s->name[0] ? "." : "", metrics[i].name, b, c, ch,
                     baseline_verdict_name(m->verdict));
    }
    return k;
}

int
baseline_summary(FILE *fp, const struct baseline_result *r,
                 const char *test_name)
{
    int k = 0;

    k |= fprintf(fp, "  %s: %s", test_name, baseline_result_verdict(r));
    if (r->state == BASELINE_COMPARED) {
        k |= fprintf(fp,
                     " (%zu regression%s, %zu improvement%s beyond %.0f%%; "
                     "baseline started %s)\n",
                     r->regressions, r->regressions == 1 ? "" : "s",
                     r->improvements, r->improvements == 1 ? "" : "s",
                     r->threshold * 100.0,
                     r->base_started_at[0] ? r->base_started_at : "?");
        k |= scope_lines(fp, &r->all);
        for (size_t i = 0; i < r->n_ops; i++) {
            k |= scope_lines(fp, &r->ops[i]);
        }
    } else {
        k |= fprintf(fp, "\n");
    }
    return k < 0 ? E_IO : 0;
}
