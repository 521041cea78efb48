/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of master/html: escaping (markup, quotes, control characters,
 * malformed UTF-8), a test that completed nothing (no NaN or infinity,
 * every chart says "no data", no fake resource data), and a test with data
 * whose SVG coordinates are all finite and inside the viewBox, including an
 * interval without requests (a gap, not a zero) and a clamped latency.
 */
#include "unit.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/config.h"
#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../common/ops.h"
#include "../../master/aggregate.h"
#include "../../master/html.h"
#include "../../master/report.h"

#include "../../common/poison.h"

#define BK_ROOM 4096u
#define WALL_NS 1767225600000000000ull /* 2026-01-01 00:00:00 UTC */

struct fx {
    struct agg *agg;
    struct buf out;
    struct hist *lat;
    struct hist *svc;
    struct hist_bucket *bl;
    struct hist_bucket *bs;
    char *doc;                    /* NUL-terminated copy of out */
    const struct saturation *sat; /* hung on the verdict when set */
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    buf_init(&f->out, HTML_MAX_BYTES);
    if (hist_new(&f->lat) != 0 || hist_new(&f->svc) != 0) {
        return -1;
    }
    f->bl = xcalloc(BK_ROOM, sizeof(*f->bl));
    f->bs = xcalloc(BK_ROOM, sizeof(*f->bs));
    if (f->bl == NULL || f->bs == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    agg_free(f->agg);
    buf_fini(&f->out);
    hist_free(f->lat);
    hist_free(f->svc);
    xfree(f->bl);
    xfree(f->bs);
    xfree(f->doc);
    xfree(f);
    return 0;
}

/* html_escape(s) as a string in f->doc. */
static const char *
escaped(struct fx *f, const char *s)
{
    buf_reset(&f->out);
    assert_int_equal(html_escape(&f->out, s), 0);
    xfree(f->doc);
    f->doc = xcalloc(f->out.len + 1, 1);
    assert_non_null(f->doc);
    if (f->out.len > 0) {
        memcpy(f->doc, f->out.data, f->out.len);
    }
    return f->doc;
}

static void
test_escape(void **state)
{
    struct fx *f = *state;

    assert_string_equal(escaped(f, "<script>alert('x&y')</script>\""),
                        "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;"
                        "&quot;");
    assert_string_equal(escaped(f, "plain agent-1.host"), "plain agent-1.host");
    /* Tab and line breaks kept as references; other controls dropped. */
    assert_string_equal(escaped(f, "a\tb\nc\rd\x01\x1b\x7f"
                                   "e"),
                        "a&#9;b&#10;c&#13;de");
    /* Well-formed UTF-8 kept; stray, overlong, surrogate, cut short and
     * U+FFFE dropped. */
    assert_string_equal(escaped(f, "caf\xc3\xa9 \xe2\x9c\x94"), "caf\xc3\xa9 "
                                                                "\xe2\x9c\x94");
    assert_string_equal(escaped(f, "a\x80"
                                   "b\xc0\xafz\xed\xa0\x80y\xef\xbf\xbex\xe2"
                                   "\x9c"),
                        "abzyx");
    assert_string_equal(escaped(f, ""), "");
    assert_string_equal(escaped(f, NULL), "");
    /* The cap holds: a too-small buffer fails with E_TOOBIG. */
    {
        struct buf small;
        buf_init(&small, 4);
        assert_int_equal(html_escape(&small, "<<"), E_TOOBIG);
        buf_fini(&small);
    }
}

/* Renders the report of f->agg into f->doc (NUL-terminated). */
static void
render(struct fx *f, const char *status, double p99_max_ms)
{
    struct thresholds th;
    struct report_verdict v;
    struct report_run r;
    struct html_test t;

    memset(&th, 0, sizeof(th));
    th.response_time_p99_max = p99_max_ms;
    th.max_error_rate = 0.01;
    memset(&r, 0, sizeof(r));
    r.test_name = "concurrent_<requests>";
    r.status = status;
    r.target = "http://127.0.0.1:1/?a=1&b=<2>";
    r.config_file = "";
    r.started_wall_ns = WALL_NS;
    r.duration_s = 4.0;
    r.users = 3;
    r.seed = 7;
    report_check(f->agg, &th, r.test_name, &v);
    v.sat = f->sat;
    t.agg = f->agg;
    t.run = &r;
    t.verdict = &v;
    buf_reset(&f->out);
    assert_int_equal(html_report(&f->out, &t, 1, WALL_NS), 0);
    xfree(f->doc);
    f->doc = xcalloc(f->out.len + 1, 1);
    assert_non_null(f->doc);
    memcpy(f->doc, f->out.data, f->out.len);
}

static size_t
count(const char *doc, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(doc, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Occurrences of word as a token of its own (not inside "information"),
 * case-insensitive. */
static size_t
count_word(const char *doc, const char *word)
{
    size_t n = 0;
    size_t k = strlen(word);

    for (const char *p = doc; *p; p++) {
        if (strncasecmp(p, word, k) == 0 &&
            (p == doc || !isalpha((unsigned char)p[-1])) &&
            !isalpha((unsigned char)p[k])) {
            n++;
        }
    }
    return n;
}

/* Checks every geometric attribute (x y x1 y1 x2 y2 cx cy width height r
 * and path data) inside the SVGs: a finite number within the 960 x 320
 * viewBox. Returns how many numbers were checked. */
static size_t
check_coords(const char *doc)
{
    static const char *attrs[] = {" x=\"",     " y=\"",  " x1=\"",     " y1=\"",
                                  " x2=\"",    " y2=\"", " cx=\"",     " cy=\"",
                                  " width=\"", " r=\"",  " height=\"", " d=\""};
    size_t n = 0;

    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        size_t len = strlen(attrs[i]);
        for (const char *p = strstr(doc, attrs[i]); p;
             p = strstr(p + 1, attrs[i])) {
            const char *q = p + len;
            const char *end = strchr(q, '"');
            assert_non_null(end);
            while (q < end) {
                char *e = NULL;
                double v = 0.0;
                if (*q == 'M' || *q == 'L' || *q == ' ') {
                    q++;
                    continue;
                }
                v = strtod(q, &e);
                if (e == q) {
                    fail_msg("not a number in %.40s", p);
                }
                if (!isfinite(v) || v < 0.0 || v > 960.0) {
                    fail_msg("coordinate %g out of the viewBox in %.60s", v, p);
                }
                n++;
                q = e;
            }
        }
    }
    return n;
}

static void
test_empty(void **state)
{
    struct fx *f = *state;

    assert_int_equal(agg_new(&f->agg, 4), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "ag<1>&\"x\"", 2), 0);
    assert_int_equal(agg_add_agent(f->agg, 2, "ag2", 1), 0);
    render(f, "failed", 100.0);

    assert_int_equal(count_word(f->doc, "nan"), 0);
    assert_int_equal(count_word(f->doc, "inf"), 0);
    assert_int_equal(count_word(f->doc, "infinity"), 0);
    /* Throughput, latency, spectrum, agent CPU, target memory. */
    assert_int_equal(count(f->doc, "<svg"), 5);
    assert_int_equal(count(f->doc, ">no data</text>"), 5);
    assert_int_equal(count(f->doc, "<path"), 0);
    assert_true(check_coords(f->doc) > 10);
    /* Escaped everywhere, never raw. */
    assert_non_null(strstr(f->doc, "ag&lt;1&gt;&amp;&quot;x&quot;"));
    assert_null(strstr(f->doc, "ag<1>"));
    assert_non_null(strstr(f->doc, "concurrent_&lt;requests&gt;"));
    assert_null(strstr(f->doc, "<requests>"));
    assert_non_null(strstr(f->doc, "?a=1&amp;b=&lt;2&gt;"));
    assert_non_null(strstr(f->doc, "<p>No errors.</p>"));
    assert_non_null(strstr(f->doc, "No operation completed a request."));
    assert_non_null(strstr(f->doc, "Agent CPU over time"));
    assert_non_null(strstr(f->doc, "Target memory over time"));
    assert_non_null(strstr(f->doc, "FAIL")); /* no request completed */
    assert_non_null(strstr(f->doc, "n/a"));
    /* Self-contained: no script, no external reference but the target. */
    assert_null(strstr(f->doc, "<script"));
    assert_int_equal(count(f->doc, "http://"), 1); /* the target */
    assert_null(strstr(f->doc, "https://"));
    assert_null(strstr(f->doc, "src="));
    assert_null(strstr(f->doc, "href="));
    assert_null(strstr(f->doc, "@import"));
    assert_null(strstr(f->doc, "url("));
}

/* Merges one batch of agent id for interval k: n latencies spread around
 * base_us (plus one value of extra_us when non-zero), e of them errors
 * (HTTP 500), all as "observe". */
static void
merge(struct fx *f, uint32_t id, uint64_t seq, uint32_t k, uint64_t n,
      uint64_t base_us, uint64_t e, uint64_t extra_us)
{
    struct proto_batch b;
    struct proto_err_count ec = {500, e};

    hist_reset(f->lat);
    hist_reset(f->svc);
    for (uint64_t i = 0; i < n; i++) {
        hist_record(f->lat, base_us + 37 * i);
        hist_record(f->svc, base_us / 2 + 11 * i);
    }
    if (extra_us > 0) {
        hist_record(f->lat, extra_us);
        hist_record(f->svc, extra_us);
        n++;
    }
    memset(&b, 0, sizeof(b));
    b.seq = seq;
    b.interval = k;
    b.op[OP_OBSERVE].requests = n;
    b.op[OP_OBSERVE].errors = e;
    b.op[OP_OBSERVE].n_latency = hist_export(f->lat, f->bl, BK_ROOM);
    b.op[OP_OBSERVE].latency = f->bl;
    b.op[OP_OBSERVE].n_service = hist_export(f->svc, f->bs, BK_ROOM);
    b.op[OP_OBSERVE].service = f->bs;
    if (e > 0) {
        b.op[OP_OBSERVE].n_errors = 1;
        b.op[OP_OBSERVE].err = &ec;
    }
    assert_int_equal(agg_merge(f->agg, id, &b), 0);
}

static void
test_coords(void **state)
{
    struct fx *f = *state;

    assert_int_equal(agg_new(&f->agg, 4), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a1", 2), 0);
    assert_int_equal(agg_add_agent(f->agg, 2, "a2", 1), 0);
    merge(f, 1, 1, 0, 50, 2000, 0, 0);
    merge(f, 2, 1, 0, 40, 2500, 3, 0);
    /* Interval 1: nothing completed (a gap in the latency lines). */
    merge(f, 1, 2, 2, 60, 3000, 5, 0);
    merge(f, 2, 2, 2, 30, 1000, 0, HIST_MAX_US); /* clamped maximum */
    merge(f, 1, 3, 3, 10, 900, 0, 0);
    render(f, "completed", 100.0);

    assert_int_equal(count_word(f->doc, "nan"), 0);
    assert_int_equal(count_word(f->doc, "inf"), 0);
    assert_int_equal(count(f->doc, "<svg"), 5);
    /* The batches carry no resource figures: both resource charts. */
    assert_int_equal(count(f->doc, ">no data</text>"), 2);
    /* requests, errors; p99..p50 and service; spectrum latency and
     * service. */
    assert_int_equal(count(f->doc, "<path"), 2 + 4 + 2);
    assert_true(check_coords(f->doc) > 200);
    /* Moves per path, in order: throughput requests and errors (counts
     * are known for every interval: one line each), the latency chart's
     * service p50, p99, p90, p50 (interval 1 has no latency: a gap, so
     * two pieces each), the spectrum's service and latency. */
    {
        static const size_t want[] = {1, 1, 2, 2, 2, 2, 1, 1};
        size_t i = 0;
        for (const char *p = strstr(f->doc, "<path d=\""); p;
             p = strstr(p + 1, "<path d=\"")) {
            const char *end = strchr(p + 9, '"');
            size_t moves = 0;
            assert_non_null(end);
            for (const char *q = p + 9; q < end; q++) {
                moves += *q == 'M';
            }
            assert_true(i < sizeof(want) / sizeof(want[0]));
            assert_int_equal(moves, want[i]);
            i++;
        }
        assert_int_equal(i, sizeof(want) / sizeof(want[0]));
    }
    assert_non_null(strstr(f->doc, "http_500"));
    assert_non_null(strstr(f->doc, "observe"));
    assert_null(strstr(f->doc, "<p>No errors.</p>"));
    assert_non_null(strstr(f->doc, "class=\"errband\""));
    assert_non_null(strstr(f->doc, "class=\"errpt\""));
    assert_null(strstr(f->doc, "saturated agents"));
    /* 8 / 191 requests failed: above the 1 % limit. */
    assert_non_null(strstr(f->doc, "Error rate (4.19%) exceeds"));
}

/* The resources section: one CPU line per agent (a gap where an agent
 * sent no sample), the target's memory, and the saturation warning. */
static void
test_resources(void **state)
{
    struct fx *f = *state;
    struct saturation sat;

    assert_int_equal(agg_new(&f->agg, 4), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a1", 1), 0);
    assert_int_equal(agg_add_agent(f->agg, 2, "a2", 1), 0);
    for (uint32_t k = 0; k < 4; k++) {
        for (uint32_t id = 1; id <= 2; id++) {
            struct proto_batch b;
            memset(&b, 0, sizeof(b));
            b.seq = k + 1;
            b.interval = k;
            b.res = PROTO_RES_ENGINE;
            b.lag_max_us = id == 2 ? 90000 : 100; /* a2: late */
            if (!(id == 1 && k == 2)) {           /* a gap for a1 */
                b.res |= PROTO_RES_AGENT;
                b.cpu_centi = 1000u * (k + id);
                b.rss_bytes = 1u << 20;
            }
            if (id == 1) {
                b.mem_ms = 1000u * k + 1;
                b.mem_bytes = (10u + k) << 20;
            }
            assert_int_equal(agg_merge(f->agg, id, &b), 0);
        }
    }
    assert_int_equal(saturation_summarize(f->agg, 4, 10, &sat), 0);
    f->sat = &sat;
    render(f, "completed", 100.0);
    f->sat = NULL;
    saturation_fini(&sat);

    assert_int_equal(count(f->doc, "<svg"), 5);
    /* Throughput and latency have no requests; the spectrum neither. */
    assert_int_equal(count(f->doc, ">no data</text>"), 3);
    /* a1 (two pieces, one path), a2, the target. */
    assert_int_equal(count(f->doc, "<path"), 3);
    assert_non_null(strstr(f->doc, ">a1</text>"));
    assert_non_null(strstr(f->doc, ">a2</text>"));
    assert_non_null(strstr(f->doc, ">target</text>"));
    assert_true(check_coords(f->doc) > 20);
    assert_non_null(strstr(f->doc, "WARNING: saturated agents"));
    assert_non_null(strstr(f->doc, "intervals; their figures may understate "
                                   "the target): a2</p>"));
}

/* The test verdict sections (burst, pool, recovery, memory) and the
 * baseline comparison: present with their figures, hostile text escaped,
 * the memory chart drawn, and nothing when a verdict is absent. */
static void
test_verdict_sections(void **state)
{
    struct fx *f = *state;
    struct thresholds th;
    struct report_verdict *v = xcalloc(1, sizeof(*v));
    struct burstpool_burst_result *br = xcalloc(1, sizeof(*br));
    struct burstpool_pool_result *pr = xcalloc(1, sizeof(*pr));
    struct memleak *m = xcalloc(1, sizeof(*m));
    struct baseline_result *b = xcalloc(1, sizeof(*b));
    struct report_run r;
    struct html_test t;

    assert_non_null(v);
    assert_non_null(br);
    assert_non_null(pr);
    assert_non_null(m);
    assert_non_null(b);
    assert_int_equal(agg_new(&f->agg, 4), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "ag1", 2), 0);
    memset(&th, 0, sizeof(th));
    th.max_error_rate = 0.01;
    memset(&r, 0, sizeof(r));
    r.test_name = "t";
    r.status = "completed";
    r.target = "http://127.0.0.1:1";
    r.config_file = "";
    r.started_wall_ns = WALL_NS;
    r.duration_s = 4.0;
    report_check(f->agg, &th, r.test_name, v);

    br->n_bursts = 2;
    br->pre_measured = true;
    br->pre_p99_us = 1500;
    br->margin = 0.2;
    br->b[0].planned = 200;
    br->b[0].requests = 200;
    br->b[0].p99_us = 12345;
    br->b[0].drain_ms = 123.456;
    br->b[0].drained = true;
    br->b[0].recovery_measured = true;
    br->b[0].recovered = true;
    br->b[0].recovery_ms = 987.654;
    br->b[1].planned = 200;
    br->b[1].requests = 150;
    br->b[1].errors = 50;
    br->b[1].e503 = 50;
    br->b[1].drain_ms = -1.0;
    (void)snprintf(br->reason, sizeof(br->reason),
                   "burst 2 <not> drained & "
                   "gone");
    v->burst = br;
    pr->verdict = "degraded";
    pr->planned = 30;
    pr->requests = 30;
    pr->e503 = 7;
    pr->timeouts = 3;
    pr->probe_requests = 42;
    (void)snprintf(pr->reason, sizeof(pr->reason), "3 timeouts <x>");
    v->pool = pr;
    v->recovery_checked = true;
    v->rec.measured = true;
    v->rec.recovered = true;
    v->rec.recovery_time_s = 3;
    v->rec.window = 2;
    v->rec.p99_limit_us = 2500;
    v->rec.baseline.requests = 1234;
    m->n = 5;
    m->warmup_s = 1;
    for (size_t i = 0; i < m->n; i++) {
        m->s[i].t_ms = 1000 * i;
        m->s[i].bytes = (100 + 10 * i) * 1024 * 1024;
    }
    m->n_fit = 4;
    m->measured = true;
    m->slope = 600.0;
    m->r2 = 1.0;
    m->leak = true;
    m->threshold = 5.0;
    m->source = "pid<1>";
    v->mem = m;
    b->state = BASELINE_COMPARED;
    b->file = "/x/<base>&.json";
    b->threshold = 0.2;
    b->all.m[0].verdict = BASELINE_REGRESSION;
    b->all.m[0].base = 1.0;
    b->all.m[0].cur = 2.5;
    b->all.m[0].has_change = true;
    b->all.m[0].change = 1.5;
    b->n_ops = 1;
    (void)snprintf(b->ops[0].name, sizeof(b->ops[0].name), "observe");
    b->ops[0].m[2].verdict = BASELINE_NOT_COMPARABLE;
    b->regressions = 1;
    v->baseline = b;

    t.agg = f->agg;
    t.run = &r;
    t.verdict = v;
    buf_reset(&f->out);
    assert_int_equal(html_report(&f->out, &t, 1, WALL_NS), 0);
    xfree(f->doc);
    f->doc = xcalloc(f->out.len + 1, 1);
    assert_non_null(f->doc);
    memcpy(f->doc, f->out.data, f->out.len);

    assert_int_equal(count(f->doc, "<h3>Bursts</h3>"), 1);
    assert_non_null(strstr(f->doc, "<td>12.345</td>"));  /* p99 */
    assert_non_null(strstr(f->doc, "<td>123.456</td>")); /* drain */
    assert_non_null(strstr(f->doc, "<td>987.654</td>")); /* recovery */
    assert_non_null(strstr(f->doc, "burst 2 &lt;not&gt; drained &amp; gone"));
    assert_null(strstr(f->doc, "<not>"));
    assert_int_equal(count(f->doc, "<h3>Connection pool</h3>"), 1);
    assert_non_null(strstr(f->doc, "<td class=\"l\">503</td><td>7</td>"));
    assert_non_null(strstr(f->doc, "<td>42</td>"));
    assert_non_null(strstr(f->doc, "3 timeouts &lt;x&gt;"));
    assert_int_equal(count(f->doc, "<h3>Error recovery</h3>"), 1);
    assert_non_null(strstr(f->doc, "<b class=\"rtime\">3 s</b>"));
    assert_non_null(strstr(f->doc, "<td>1,234</td>"));
    assert_int_equal(count(f->doc, "<h3>Memory</h3>"), 1);
    assert_non_null(strstr(f->doc, "<td>600.000</td>"));
    assert_non_null(strstr(f->doc, "pid&lt;1&gt;"));
    assert_int_equal(count(f->doc, "class=\"mempt\""), 5);
    /* Throughput, latency, spectrum, memory and the two (empty)
     * resource charts. */
    assert_int_equal(count(f->doc, "<svg"), 6);
    assert_int_equal(count(f->doc, "<h3>Baseline comparison</h3>"), 1);
    assert_non_null(strstr(f->doc, "/x/&lt;base&gt;&amp;.json"));
    assert_non_null(strstr(f->doc, "<td>+150.0 %</td>"));
    assert_non_null(strstr(f->doc, "not comparable"));
    assert_int_equal(count_word(f->doc, "nan"), 0);
    assert_int_equal(count_word(f->doc, "inf"), 0);
    assert_true(check_coords(f->doc) > 10);

    /* A missing baseline file and no test verdicts: no such section. */
    memset(b, 0, sizeof(*b));
    b->state = BASELINE_MISSING;
    v->burst = NULL;
    v->pool = NULL;
    v->recovery_checked = false;
    v->mem = NULL;
    buf_reset(&f->out);
    assert_int_equal(html_report(&f->out, &t, 1, WALL_NS), 0);
    assert_int_equal(buf_append(&f->out, "", 1), 0);
    assert_null(strstr((const char *)f->out.data, "Baseline comparison"));
    assert_null(strstr((const char *)f->out.data, "<h3>Bursts"));
    assert_null(strstr((const char *)f->out.data, "<h3>Memory"));
    xfree(v);
    xfree(br);
    xfree(pr);
    xfree(m);
    xfree(b);
}

int
html_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coords, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdict_sections, setup, teardown),
    };

    return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
