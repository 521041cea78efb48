/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of master/degrade: the sustained test's windows (a fifth of
 * the full-load span at each end, disjoint, "not enough data" when they
 * cannot be) and the exact p99 of each window from the aggregate's
 * per-interval histograms; plus the verdict's way into the report (a
 * violation, the JSON's "not enough data", the JUnit failure).
 */
#include "unit.h"

#include <string.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../master/aggregate.h"
#include "../../master/degrade.h"
#include "../../master/junit.h"
#include "../../master/report.h"

#include "../../common/poison.h"

/* --- windows ------------------------------------------------------------ */

static void
expect_windows(uint64_t dur_ms, uint64_t ramp_ms, uint32_t ff, uint32_t ft,
               uint32_t lf, uint32_t lt)
{
    struct degrade_windows w;

    memset(&w, 0xab, sizeof(w));
    assert_int_equal(degrade_windows(dur_ms, ramp_ms, &w), 0);
    assert_int_equal(w.first_from, ff);
    assert_int_equal(w.first_to, ft);
    assert_int_equal(w.last_from, lf);
    assert_int_equal(w.last_to, lt);
}

static void
test_windows_values(void **state)
{
    (void)state;
    /* 60 s, ramp 10 s: full load 50 s, fifths of 10 s. */
    expect_windows(60000, 10000, 10, 20, 50, 60);
    /* No ramp: 100 s in fifths of 20 s. */
    expect_windows(100000, 0, 0, 20, 80, 100);
    /* A partial ramp second is not full load: ramp 1.5 s -> from 2. */
    expect_windows(12000, 1500, 2, 4, 10, 12);
    /* A partial last second is not a full interval: 10.9 s -> 10. */
    expect_windows(10900, 0, 0, 2, 8, 10);
    /* Spans under 10 s: windows of one interval each. */
    expect_windows(6000, 1000, 1, 2, 5, 6);
    expect_windows(3000, 1000, 1, 2, 2, 3); /* L = 2: adjacent, disjoint */
    /* L = 7: w = 1, not 1.4 rounded up. */
    expect_windows(8000, 1000, 1, 2, 7, 8);
}

static void
test_windows_not_enough(void **state)
{
    struct degrade_windows w;

    (void)state;
    memset(&w, 0x5a, sizeof(w));
    assert_int_equal(degrade_windows(2000, 1000, &w), E_RANGE); /* L = 1 */
    assert_int_equal(degrade_windows(5000, 5000, &w), E_RANGE); /* L = 0 */
    assert_int_equal(degrade_windows(5000, 9000, &w), E_RANGE); /* ramp>n */
    assert_int_equal(degrade_windows(1999, 0, &w), E_RANGE);    /* n = 1 */
    assert_int_equal(degrade_windows(0, 0, &w), E_RANGE);
    /* 2.5 s with a 0.5 s ramp: n = 2, r = 1, L = 1. */
    assert_int_equal(degrade_windows(2500, 500, &w), E_RANGE);
    assert_int_equal(w.first_from, 0x5a5a5a5au); /* untouched */
    /* Disjoint for every length that has windows. */
    for (uint64_t n = 0; n < 400; n++) {
        for (uint64_t r = 0; r < 12; r++) {
            int rv = degrade_windows(n * 1000, r * 1000, &w);
            if (n < r + 2) {
                assert_int_equal(rv, E_RANGE);
                continue;
            }
            assert_int_equal(rv, 0);
            assert_true(w.first_from == r);
            assert_true(w.first_to <= w.last_from);
            assert_true(w.last_to == n);
            assert_int_equal(w.first_to - w.first_from,
                             w.last_to - w.last_from);
            assert_true(w.first_to - w.first_from >= 1);
            assert_true(w.first_to - w.first_from >= (n - r) / 5);
        }
    }
}

/* --- measure ------------------------------------------------------------ */

/* Merges one batch of agent 1 for interval k: count latencies of v_us
 * each (observe). */
static void
put(struct agg *a, uint64_t seq, uint32_t k, uint64_t v_us, uint64_t count)
{
    struct proto_batch b;
    struct hist_bucket lat = {hist_index_of(v_us), count};

    memset(&b, 0, sizeof(b));
    b.agent_id = 1;
    b.seq = seq;
    b.interval = k;
    b.op[OP_OBSERVE].requests = count;
    b.op[OP_OBSERVE].n_latency = 1;
    b.op[OP_OBSERVE].latency = &lat;
    b.op[OP_OBSERVE].n_service = 1;
    b.op[OP_OBSERVE].service = &lat;
    assert_int_equal(agg_merge(a, 1, &b), 0);
}

static int
setup(void **state)
{
    struct agg *a = NULL;

    if (agg_new(&a, 10) != 0 || agg_add_agent(a, 1, "a", 1) != 0) {
        agg_free(a);
        return -1;
    }
    *state = a;
    return 0;
}

static int
teardown(void **state)
{
    agg_free(*state);
    return 0;
}

static void
test_measure_exact(void **state)
{
    struct agg *a = *state;
    struct degrade d;
    uint64_t seq = 1;

    /* 10 s, ramp 0: windows [0, 2) and [8, 10). Window 1: 100 values at
     * 1 ms in interval 0, and 1 at 50 ms in interval 1: p99 of the merged
     * 101 is the 100th value, 1 ms (averaging the two intervals' p99s
     * would say 25.5 ms). */
    put(a, seq++, 0, 1000, 100);
    put(a, seq++, 1, 50000, 1);
    for (uint32_t k = 2; k < 8; k++) {
        put(a, seq++, k, 900000, 50); /* outside both windows */
    }
    /* Window 2: 98 at 1 ms, then 2 at 40 ms: p99 is the 99th, 40 ms. */
    put(a, seq++, 8, 1000, 98);
    put(a, seq++, 9, 40000, 2);
    assert_int_equal(degrade_measure(a, 10000, 0, 1.5, &d), 0);
    assert_true(d.windows_ok);
    assert_true(d.measured);
    assert_int_equal(d.w.first_from, 0);
    assert_int_equal(d.w.last_to, 10);
    assert_int_equal(d.first_count, 101);
    assert_int_equal(d.last_count, 100);
    assert_int_equal(d.first_p99_us, hist_highest_of(hist_index_of(1000)));
    assert_int_equal(d.last_p99_us, hist_highest_of(hist_index_of(40000)));
    assert_true(d.value > 39.9 && d.value < 40.1);
    assert_true(d.violated);
    assert_true(d.max == 1.5);
    /* The same data under a looser limit passes. */
    assert_int_equal(degrade_measure(a, 10000, 0, 50.0, &d), 0);
    assert_true(d.measured);
    assert_false(d.violated);
}

static void
test_measure_noise_floor(void **state)
{
    struct agg *a = *state;
    struct degrade d;
    uint64_t seq = 1;

    /* 1 ms -> 4 ms is a ratio of 4 but a growth of 3 ms: noise, not
     * degradation (DEGRADE_MIN_GROWTH_US). */
    put(a, seq++, 0, 1000, 100);
    put(a, seq++, 1, 1000, 100);
    put(a, seq++, 8, 1000, 98);
    put(a, seq++, 9, 4000, 2);
    assert_int_equal(degrade_measure(a, 10000, 0, 1.5, &d), 0);
    assert_true(d.measured);
    assert_true(d.value > 3.9 && d.value < 4.1);
    assert_false(d.violated);
}

static void
test_measure_not_enough(void **state)
{
    struct agg *a = *state;
    struct degrade d;

    put(a, 1, 0, 1000, 10);
    put(a, 2, 1, 1000, 10);
    /* Too short for two windows after the ramp. */
    assert_int_equal(degrade_measure(a, 2000, 1000, 1.5, &d), 0);
    assert_false(d.windows_ok);
    assert_false(d.measured);
    assert_false(d.violated);
    /* Windows exist, but the last one holds nothing. */
    assert_int_equal(degrade_measure(a, 10000, 0, 1.5, &d), 0);
    assert_true(d.windows_ok);
    assert_false(d.measured);
    assert_int_equal(d.last_count, 0);
    assert_false(d.violated);
}

/* --- into the report ------------------------------------------------------ */

static void
test_report_verdict(void **state)
{
    struct agg *a = *state;
    struct thresholds th;
    struct report_verdict v;
    struct report_run r;
    struct degrade d;
    struct buf b;

    memset(&th, 0, sizeof(th));
    th.max_error_rate = 0.5;
    put(a, 1, 0, 1000, 100);
    put(a, 2, 9, 30000, 100);
    assert_int_equal(degrade_measure(a, 10000, 0, 1.5, &d), 0);
    report_check(a, &th, "sustained_load_x", &v);
    assert_int_equal(v.n_violations, 0);
    report_check_degradation(&v, &d, "sustained_load_x");
    assert_int_equal(v.n_violations, 1);
    assert_string_equal(v.v[0].metric, "degradation");
    assert_true(v.v[0].threshold == 1.5);

    memset(&r, 0, sizeof(r));
    r.test_name = "sustained_load_x";
    r.status = "completed";
    r.target = "http://127.0.0.1:1";
    r.config_file = "";
    r.duration_s = 10.0;
    buf_init(&b, 1u << 24);
    assert_int_equal(report_json(&b, a, &r, &v), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data,
                           "\"degradation\": {\"status\": \"measured\""));
    assert_non_null(strstr((const char *)b.data, "\"max_degradation\""));
    buf_fini(&b);
    buf_init(&b, 1u << 24);
    assert_int_equal(junit_xml(&b, &r, &v, 1, 0), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data,
                           "name=\"sustained_load_x: max_degradation &lt;= "
                           "1.5\" time=\"0.000\">\n    <failure"));
    assert_non_null(strstr((const char *)b.data, "failures=\"1\""));
    buf_fini(&b);

    /* Not enough data: no number, no violation, a skipped JUnit case. */
    assert_int_equal(degrade_measure(a, 2000, 1000, 1.5, &d), 0);
    report_check(a, &th, "sustained_load_x", &v);
    report_check_degradation(&v, &d, "sustained_load_x");
    assert_int_equal(v.n_violations, 0);
    buf_init(&b, 1u << 24);
    assert_int_equal(report_json(&b, a, &r, &v), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data,
                           "\"degradation\": {\"status\": \"not enough data\", "
                           "\"value\": null"));
    buf_fini(&b);
    buf_init(&b, 1u << 24);
    assert_int_equal(junit_xml(&b, &r, &v, 1, 0), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(
        strstr((const char *)b.data, "<skipped message=\"not enough data\"/>"));
    buf_fini(&b);
}

/* A suite's JSON and JUnit: a test that did not run has its status only,
 * and one skipped testcase. */
static void
test_suite_entries(void **state)
{
    struct agg *a = *state;
    struct thresholds th;
    struct report_test t[2];
    struct report_run runs[2];
    struct report_verdict vs[2];
    struct buf b;

    memset(&th, 0, sizeof(th));
    th.max_error_rate = 0.5;
    memset(t, 0, sizeof(t));
    put(a, 1, 0, 1000, 10);
    t[0].agg = a;
    t[0].run.test_name = "concurrent_requests";
    t[0].run.status = "completed";
    t[0].run.target = "";
    t[0].run.config_file = "";
    t[0].run.duration_s = 1.0;
    report_check(a, &th, "concurrent_requests", &t[0].verdict);
    t[1].run.test_name = "burst_traffic";
    t[1].run.status = "not_implemented";
    buf_init(&b, 1u << 24);
    assert_int_equal(report_json_suite(&b, t, 2), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "{\"concurrent_requests\": "
                                                 "{\"status\": \"completed\""));
    assert_non_null(strstr((const char *)b.data,
                           ", \"burst_traffic\": {\"status\": "
                           "\"not_implemented\"}}\n"));
    buf_fini(&b);
    for (int i = 0; i < 2; i++) {
        runs[i] = t[i].run;
        vs[i] = t[i].verdict;
    }
    buf_init(&b, 1u << 24);
    assert_int_equal(junit_xml(&b, runs, vs, 2, 0), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "tests=\"4\" failures=\"0\" "
                                                 "errors=\"0\" skipped=\"1\""));
    assert_non_null(strstr((const char *)b.data,
                           "name=\"burst_traffic\" time=\"0.000\">\n    "
                           "<skipped message=\"not implemented yet\"/>"));
    buf_fini(&b);
}

int
degrade_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows_values),
        cmocka_unit_test(test_windows_not_enough),
        cmocka_unit_test_setup_teardown(test_measure_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_measure_noise_floor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_measure_not_enough, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_report_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suite_entries, setup, teardown),
    };
    return cmocka_run_group_tests_name("degrade", tests, NULL, NULL);
}
