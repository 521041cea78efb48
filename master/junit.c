/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML: one testcase per test and per threshold checked. The escaping
 * is this file's job: names come from the config and messages quote them.
 */
#include "junit.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../common/poison.h"
#include "../common/utf8.h"

/* Escaped text for an attribute value or element content: & < > " ' as
 * entities, tab and line breaks as character references (attribute
 * values would otherwise normalise them), other control characters and
 * malformed UTF-8 removed. */
static void
xtext(struct buf_writer *w, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char one[8];
        if (*p >= 0x80) {
            size_t n = utf8_seq_len(p, true);
            if (n > 0) {
                memcpy(one, p, n);
                one[n] = '\0';
                buf_put(w, one);
                p += n - 1;
            }
            continue;
        }
        switch (*p) {
        case '&':
            buf_put(w, "&amp;");
            break;
        case '<':
            buf_put(w, "&lt;");
            break;
        case '>':
            buf_put(w, "&gt;");
            break;
        case '"':
            buf_put(w, "&quot;");
            break;
        case '\'':
            buf_put(w, "&apos;");
            break;
        case '\t':
            buf_put(w, "&#9;");
            break;
        case '\n':
            buf_put(w, "&#10;");
            break;
        case '\r':
            buf_put(w, "&#13;");
            break;
        default:
            if (*p >= 0x20 && *p != 0x7f) {
                one[0] = (char)*p;
                one[1] = '\0';
                buf_put(w, one);
            }
            break;
        }
    }
}

/* One testcase built before it is written, so the suite's counts can be
 * computed first. */
struct tc {
    char name[192];
    char failure[256]; /* "" when it passed */
    bool error;        /* failure[] is an <error> (interrupted), not a
                        * <failure> */
    bool skipped;
    char skip_why[320]; /* the skipped element's message */
    char out[512];      /* system-out: warnings of a passed case, or "" */
    double time_s;
    char sysout[256]; /* "" or a <system-out> line (saturation) */
};

/* Run status, requests completed, the checks, then at most one each of
 * degradation, recovery, memory and the burst/pool verdict, with room to
 * spare. */
#define TC_PER_TEST (REPORT_MAX_CHECKS + 8)

static const struct report_violation *
violation(const struct report_verdict *v, const char *metric)
{
    for (size_t i = 0; i < v->n_violations; i++) {
        if (strcmp(v->v[i].metric, metric) == 0) {
            return &v->v[i];
        }
    }
    return NULL;
}

/* The recovery and memory tests' verdicts as testcases after tc[0 .. n),
 * skipped when not measured; returns the new count. */
static size_t
recovery_memory_cases(const struct report_run *r,
                      const struct report_verdict *v, struct tc *tc, size_t n)
{
    const struct report_violation *x = NULL;

    if (v->recovery_checked) {
        (void)snprintf(tc[n].name, sizeof(tc[n].name),
                       "%s: recovered within max_recovery_seconds",
                       r->test_name);
        if (!v->rec.measured) {
            tc[n].skipped = true;
            (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why), "%s",
                           "not enough data");
        } else if ((x = violation(v, "recovery")) != NULL) {
            (void)snprintf(tc[n].failure, sizeof(tc[n].failure), "%s",
                           x->message);
        }
        n++;
    }
    if (v->mem != NULL) {
        (void)snprintf(tc[n].name, sizeof(tc[n].name),
                       "%s: memory growth <= %g MB/min", r->test_name,
                       v->mem->threshold);
        if (!v->mem->measured) {
            tc[n].skipped = true;
            (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why), "%s",
                           "not enough data");
        } else if ((x = violation(v, "memory_leak")) != NULL) {
            (void)snprintf(tc[n].failure, sizeof(tc[n].failure), "%s",
                           x->message);
        }
        n++;
    }
    return n;
}

/* Appends the baseline's metrics of s that regressed to out. */
static void
regressed(char *out, size_t n, const struct baseline_scope *s)
{
    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        const struct baseline_metric *m = &s->m[i];
        size_t used = strlen(out);
        if (m->verdict != BASELINE_REGRESSION || used + 1 >= n) {
            continue;
        }
        (void)snprintf(out + used, n - used, "%s%s%s%s %g -> %g",
                       used ? "; " : "", s->name, s->name[0] ? "." : "",
                       baseline_metric_name(i), m->base, m->cur);
    }
}

/* The baseline comparison as one testcase after tc[0 .. n), when one was
 * made or the file was malformed (a missing file, the first run's normal
 * state, adds none): regressions are listed in system-out and fail the
 * case only with fail_on_regression (a "baseline" violation); a
 * malformed file is skipped with the reason. Returns the new count. */
static size_t
baseline_case(const struct report_run *r, const struct report_verdict *v,
              struct tc *tc, size_t n)
{
    const struct baseline_result *b = v->baseline;
    const struct report_violation *x = NULL;

    if (b == NULL || b->state == BASELINE_MISSING) {
        return n;
    }
    (void)snprintf(tc[n].name, sizeof(tc[n].name),
                   "%s: baseline deviation <= %g %%", r->test_name,
                   b->threshold * 100.0);
    if (b->state == BASELINE_INVALID) {
        tc[n].skipped = true;
        (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why),
                       "no comparison: %s", b->error);
    } else if (b->state == BASELINE_NO_TEST) {
        tc[n].skipped = true;
        (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why),
                       "not in the baseline file");
    } else if (b->regressions > 0) {
        char list[400];
        list[0] = '\0';
        regressed(list, sizeof(list), &b->all);
        for (size_t i = 0; i < b->n_ops; i++) {
            regressed(list, sizeof(list), &b->ops[i]);
        }
        if ((x = violation(v, "baseline")) != NULL) {
            /* The list (up to 399 bytes) goes to system-out, as above:
             * appended to the message it overran failure[] and was cut. */
            (void)snprintf(tc[n].failure, sizeof(tc[n].failure), "%s",
                           x->message);
            (void)snprintf(tc[n].out, sizeof(tc[n].out), "regressed: %s", list);
        } else {
            (void)snprintf(tc[n].out, sizeof(tc[n].out),
                           "warning: %zu metric(s) regressed beyond %g %% of "
                           "the baseline: %s",
                           b->regressions, b->threshold * 100.0, list);
        }
    }
    return n + 1;
}

/* Fills up to TC_PER_TEST testcases for one test; returns how many. */
static size_t
cases_of(const struct report_run *r, const struct report_verdict *v,
         struct tc *tc)
{
    const struct report_violation *x = NULL;
    bool none = violation(v, "requests") != NULL;
    size_t n = 0;

    memset(tc, 0, TC_PER_TEST * sizeof(*tc));
    (void)snprintf(tc[n].name, sizeof(tc[n].name), "%s", r->test_name);
    if (strcmp(r->status, "not_implemented") == 0 ||
        strcmp(r->status, "not_run") == 0) {
        /* No numbers and no thresholds: one skipped case saying why. */
        tc[n].skipped = true;
        (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why), "%s",
                       r->status[4] == 'i' ? "not implemented yet"
                                           : "not run (the suite stopped "
                                             "before it)");
        return 1;
    }
    tc[n].time_s = r->duration_s;
    if (v->sat != NULL && v->sat->any_saturated) {
        /* Said, never failed on: docs/resources.md. */
        size_t used = 0;
        for (size_t i = 0; i < v->sat->n_agents; i++) {
            const struct sat_agent *sa = &v->sat->agents[i];
            char why[48];
            int k;
            if (!sa->saturated || used >= sizeof(tc[n].sysout)) {
                continue;
            }
            k = snprintf(tc[n].sysout + used, sizeof(tc[n].sysout) - used,
                         "WARNING: agent %s saturated (%s) in %u "
                         "intervals\n",
                         sa->name, saturation_why(sa->why, why, sizeof(why)),
                         (unsigned)sa->n_sat);
            used += k > 0 ? (size_t)k : 0;
        }
    }
    if (strcmp(r->status, "interrupted") == 0) {
        /* An <error>: the test could not complete, which says nothing
         * of the target (CI tells errors from failures). */
        tc[n].error = true;
        (void)snprintf(tc[n].failure, sizeof(tc[n].failure),
                       "interrupted by a signal before the end of the test "
                       "(partial results)");
    } else if (strcmp(r->status, "aborted") == 0) {
        (void)snprintf(tc[n].failure, sizeof(tc[n].failure),
                       "aborted at %.0fs by abort_on_fail: %s", v->abort_at_s,
                       v->abort_reason);
    } else if (strcmp(r->status, "completed") != 0 &&
               v->abort_reason[0] != '\0') {
        (void)snprintf(tc[n].failure, sizeof(tc[n].failure), "status %s: %s",
                       r->status, v->abort_reason);
    } else if (strcmp(r->status, "completed") != 0) {
        (void)snprintf(tc[n].failure, sizeof(tc[n].failure),
                       "status %s: the run did not complete (agents lost or "
                       "control socket failed; see the master's log)",
                       r->status);
    }
    n++;

    (void)snprintf(tc[n].name, sizeof(tc[n].name), "%s: requests completed > 0",
                   r->test_name);
    if (none) {
        (void)snprintf(tc[n].failure, sizeof(tc[n].failure),
                       "no request completed");
    }
    n++;

    for (size_t i = 0; i < v->n_checks && n + 2 < TC_PER_TEST; i++) {
        const struct report_threshold *c = &v->checks[i];
        bool pct = strcmp(c->key, "max_error_rate") == 0; /* a fraction */
        double lim = pct ? c->limit * 100.0 : c->limit;
        double val = pct ? c->value * 100.0 : c->value;
        const char *unit = pct ? "%" : c->unit;
        (void)snprintf(tc[n].name, sizeof(tc[n].name), "%s: %s%s%s %s %g%s%s",
                       r->test_name, c->op >= 0 ? ops_name(c->op) : "",
                       c->op >= 0 ? "." : "", c->key,
                       c->at_least ? ">=" : "<=", lim, unit[0] ? " " : "",
                       unit);
        tc[n].time_s = 0.0;
        if (c->state == REPORT_NOT_CHECKED) {
            tc[n].skipped = true;
            (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why),
                           "not checked: %s", c->why ? c->why : "no data");
        } else if (c->state == REPORT_FAILED) {
            (void)snprintf(tc[n].failure, sizeof(tc[n].failure),
                           "%s%s%s %.*f %s %s %g %s",
                           c->op >= 0 ? ops_name(c->op) : "",
                           c->op >= 0 ? " " : "", c->label, pct ? 2 : 1, val,
                           unit, c->at_least ? "below" : "exceeds", lim, unit);
        }
        n++;
    }

    if (v->degradation_checked) {
        (void)snprintf(tc[n].name, sizeof(tc[n].name),
                       "%s: max_degradation <= %g", r->test_name, v->deg.max);
        if (none || !v->deg.measured) {
            tc[n].skipped = true;
            (void)snprintf(tc[n].skip_why, sizeof(tc[n].skip_why), "%s",
                           "not enough data");
        } else if ((x = violation(v, "degradation")) != NULL) {
            (void)snprintf(tc[n].failure, sizeof(tc[n].failure),
                           "p99 of the last fifth is %.2fx the first "
                           "fifth's, above %g",
                           x->value, x->threshold);
        }
        n++;
    }
    n = recovery_memory_cases(r, v, tc, n);
    if (v->test_verdict != NULL) {
        /* The burst and pool tests' verdict: only "fail" fails. */
        (void)snprintf(tc[n].name, sizeof(tc[n].name), "%s: verdict",
                       r->test_name);
        if ((x = violation(v, "burst")) != NULL ||
            (x = violation(v, "pool")) != NULL) {
            (void)snprintf(tc[n].failure, sizeof(tc[n].failure), "%s",
                           x->message);
        }
        n++;
    }
    n = baseline_case(r, v, tc, n);
    return n;
}

static void
iso_local(uint64_t wall_ns, char *out, size_t outlen)
{
    time_t t = (time_t)(wall_ns / CLOCK_NS_PER_S);
    struct tm tm;

    /* JUnit's schema: an ISO 8601 date-time without a zone. */
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        (void)snprintf(out, outlen, "1970-01-01T00:00:00");
    }
}

int
junit_xml(struct buf *out, const struct report_run *runs,
          const struct report_verdict *verdicts, size_t n, uint64_t wall_ns)
{
    struct buf_writer w;
    size_t tests = 0;
    size_t failures = 0;
    size_t errors = 0;
    size_t skipped = 0;
    double time_s = 0.0;
    char when[40];
    struct tc tc[TC_PER_TEST];

    for (size_t i = 0; i < n; i++) {
        size_t m = cases_of(&runs[i], &verdicts[i], tc);
        for (size_t j = 0; j < m; j++) {
            tests++;
            failures +=
                tc[j].failure[0] != '\0' && !tc[j].skipped && !tc[j].error;
            errors += tc[j].error;
            skipped += tc[j].skipped;
        }
        time_s += runs[i].duration_s;
    }
    iso_local(wall_ns, when, sizeof(when));
    buf_writer_init(&w, out);
    buf_put(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    buf_putf(&w,
             "<testsuite name=\"kato-stress\" tests=\"%zu\" failures=\"%zu\" "
             "errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" "
             "timestamp=\"%s\">\n",
             tests, failures, errors, skipped, time_s, when);
    for (size_t i = 0; i < n; i++) {
        size_t m = cases_of(&runs[i], &verdicts[i], tc);
        for (size_t j = 0; j < m; j++) {
            buf_put(&w, "  <testcase classname=\"kato-stress.");
            xtext(&w, runs[i].test_name);
            buf_put(&w, "\" name=\"");
            xtext(&w, tc[j].name);
            buf_putf(&w, "\" time=\"%.3f\"", tc[j].time_s);
            /* The test's own lines (lost agents, burst and pool
             * figures) ride on its status case, for the CI log, after
             * the case's own warnings (saturation, baseline). */
            const char *extra =
                j == 0 && !tc[j].skipped ? verdicts[i].extra_summary : NULL;
            bool has_out = tc[j].sysout[0] != '\0' || tc[j].out[0] != '\0' ||
                           (extra != NULL && extra[0] != '\0');
            if (tc[j].skipped) {
                buf_put(&w, ">\n    <skipped message=\"");
                xtext(&w, tc[j].skip_why);
                buf_put(&w, "\"/>\n  </testcase>\n");
                continue;
            }
            if (tc[j].failure[0] == '\0' && !has_out) {
                buf_put(&w, "/>\n");
                continue;
            }
            buf_put(&w, ">\n");
            if (tc[j].failure[0] != '\0') {
                const char *el = tc[j].error ? "error" : "failure";
                buf_putf(&w, "    <%s message=\"", el);
                xtext(&w, tc[j].failure);
                buf_put(&w, "\" type=\"");
                buf_put(&w, tc[j].error ? "interrupted"
                            : j == 0    ? "status"
                                        : "threshold");
                buf_put(&w, "\">");
                xtext(&w, tc[j].failure);
                buf_putf(&w, "</%s>\n", el);
            }
            if (has_out) {
                buf_put(&w, "    <system-out>");
                xtext(&w, tc[j].sysout);
                xtext(&w, tc[j].out);
                xtext(&w, extra != NULL ? extra : "");
                buf_put(&w, "</system-out>\n");
            }
            buf_put(&w, "  </testcase>\n");
        }
    }
    buf_put(&w, "</testsuite>\n");
    return buf_writer_error(&w);
}

int
junit_write(const char *dir, const struct report_run *runs,
            const struct report_verdict *verdicts, size_t n, uint64_t wall_ns,
            char *err, size_t errlen)
{
    struct buf b;
    char stamp[32];
    char name[64];
    int rv = report_stamp(wall_ns, stamp, sizeof(stamp));

    if (rv != 0) {
        (void)snprintf(err, errlen, "cannot format the results' time stamp");
        return rv;
    }
    (void)snprintf(name, sizeof(name), "junit_%s.xml", stamp);
    buf_init(&b, JUNIT_MAX_BYTES);
    rv = junit_xml(&b, runs, verdicts, n, wall_ns);
    if (rv != 0) {
        (void)snprintf(err, errlen, "cannot build %s: %s", name, err_str(rv));
    } else {
        rv = report_write_file(dir, name, b.data, b.len, err, errlen);
    }
    buf_fini(&b);
    return rv;
}
