/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the memory test's pieces: master/memleak's least-squares
 * slope and R^2 and its verdict over an aggregate's samples, and
 * agent/memsample's parsers (VmRSS, memory.current, katosim's rss_kb,
 * Docker's memory_stats.usage).
 */
#include "unit.h"

#include <math.h>
#include <string.h>

#include "../../agent/memsample.h"
#include "../../common/alloc.h"
#include "../../common/err.h"
#include "../../master/aggregate.h"
#include "../../master/memleak.h"
#include "../../proto/proto.h"

#include "../../common/poison.h"

static void
test_fit_exact_line(void **state)
{
    const double x[] = {0.0, 1.0, 2.0, 3.0, 4.0};
    const double y[] = {10.0, 12.5, 15.0, 17.5, 20.0};
    double b = -1.0, r2 = -1.0;
    (void)state;

    assert_int_equal(memleak_fit(x, y, 5, &b, &r2), 0);
    assert_true(fabs(b - 2.5) < 1e-12);
    assert_true(fabs(r2 - 1.0) < 1e-12);
}

static void
test_fit_known_values(void **state)
{
    /* y = 1, 3, 2, 5: mean x 1.5, mean y 2.75, Sxy = 5.5, Sxx = 5,
     * slope 1.1; SS_tot = 8.75, SS_res = 2.7, R^2 = 1 - 2.7 / 8.75. */
    const double x[] = {0.0, 1.0, 2.0, 3.0};
    const double y[] = {1.0, 3.0, 2.0, 5.0};
    double b = 0.0, r2 = 0.0;
    (void)state;

    assert_int_equal(memleak_fit(x, y, 4, &b, &r2), 0);
    assert_true(fabs(b - 1.1) < 1e-12);
    assert_true(fabs(r2 - (1.0 - 2.7 / 8.75)) < 1e-12);
}

static void
test_fit_degenerate(void **state)
{
    const double x[] = {1.0, 1.0, 1.0};
    const double y[] = {1.0, 2.0, 3.0};
    const double xf[] = {0.0, 1.0, 2.0};
    const double yf[] = {7.0, 7.0, 7.0};
    double b = 42.0, r2 = 42.0;
    (void)state;

    assert_int_equal(memleak_fit(x, y, 1, &b, &r2), E_RANGE);
    assert_int_equal(memleak_fit(x, y, 3, &b, &r2), E_RANGE);
    assert_true(b == 42.0 && r2 == 42.0); /* untouched */
    /* Flat: slope 0, nothing explained. */
    assert_int_equal(memleak_fit(xf, yf, 3, &b, &r2), 0);
    assert_true(b == 0.0 && r2 == 0.0);
}

/* Merges a batch with one memory sample at interval k. */
static void
merge_sample(struct agg *a, uint32_t k, uint64_t t_ms, uint64_t bytes)
{
    struct proto_batch b;

    memset(&b, 0, sizeof(b));
    b.agent_id = 1;
    b.seq = k + 1;
    b.interval = k;
    b.mem_ms = t_ms;
    b.mem_bytes = bytes;
    assert_int_equal(agg_merge(a, 1, &b), 0);
}

static void
test_measure_verdicts(void **state)
{
    struct agg *a = NULL;
    struct memleak *m = xcalloc(1, sizeof(*m));
    uint64_t t = 0, by = 0;
    (void)state;

    assert_non_null(m);
    /* 2 MB/min: 1/30 MB a second from 100 MB; warmup 5 s. */
    assert_int_equal(agg_new(&a, 60), 0);
    assert_int_equal(agg_add_agent(a, 1, "a", 1), 0);
    for (uint32_t k = 0; k < 60; k++) {
        uint64_t mb_x30 = 3000u + k; /* MB x 30 */
        merge_sample(a, k, (uint64_t)k * 1000u,
                     mb_x30 * 1048576u / 30u + (k < 5 ? 50000000u : 0u));
    }
    assert_int_equal(agg_interval_mem(a, 7, &t, &by), 0);
    assert_int_equal(t, 7000);
    assert_int_equal(agg_interval_mem(a, 61, &t, &by), E_NOTFOUND);
    memleak_measure(a, 60, 5, 1.0, "pid", m);
    assert_int_equal(m->n, 60);
    assert_int_equal(m->n_fit, 55);
    assert_true(m->measured);
    assert_true(fabs(m->slope - 2.0) < 1e-3);
    assert_true(m->r2 > 0.999);
    assert_true(m->leak);
    assert_string_equal(memleak_verdict(m), "leak");
    /* Above a 3 MB/min threshold: no leak. */
    memleak_measure(a, 60, 5, 3.0, "pid", m);
    assert_false(m->leak);
    assert_string_equal(memleak_verdict(m), "no leak");
    /* The warmup swallows everything: not enough data. */
    memleak_measure(a, 60, 59, 1.0, "pid", m);
    assert_int_equal(m->n_fit, 1);
    assert_false(m->measured);
    assert_string_equal(memleak_verdict(m), "not enough data");
    agg_free(a);
    a = NULL;

    /* Noise around a flat line with a steep but unexplained slope is not
     * a leak: alternate +-40 MB, R^2 well under 0.5. */
    assert_int_equal(agg_new(&a, 20), 0);
    assert_int_equal(agg_add_agent(a, 1, "a", 1), 0);
    for (uint32_t k = 0; k < 20; k++) {
        uint64_t mb = (k % 2 ? 140u : 60u) + (k == 19 ? 20u : 0u);
        merge_sample(a, k, (uint64_t)k * 1000u, mb * 1048576u);
    }
    memleak_measure(a, 20, 0, 1.0, "metrics", m);
    assert_true(m->measured);
    assert_true(m->slope > 1.0);
    assert_true(m->r2 < MEMLEAK_MIN_R2);
    assert_false(m->leak);
    agg_free(a);
    xfree(m);
}

static void
test_parsers(void **state)
{
    uint64_t b = 0;
    (void)state;

    assert_int_equal(memsample_parse_status("Name:\tkatosim\nVmPeak:\t  "
                                            "9000 kB\nVmRSS:\t    5120 kB\n",
                                            &b),
                     0);
    assert_int_equal(b, 5120u * 1024u);
    assert_int_equal(memsample_parse_status("Name: x\nVmSize: 1 kB\n", &b),
                     E_PROTO);
    assert_int_equal(memsample_parse_number("123456789\n", &b), 0);
    assert_int_equal(b, 123456789u);
    assert_int_equal(memsample_parse_number("max\n", &b), E_PROTO);
    assert_int_equal(
        memsample_parse_metrics("{\"leaked_bytes\":0,\"rss_kb\":4096,", &b), 0);
    assert_int_equal(b, 4096u * 1024u);
    /* KATO's /metrics: memory as a percentage, no bytes. */
    assert_int_equal(memsample_parse_metrics(
                         "{\"resources\":{\"memory_percent\":12.5}}", &b),
                     E_PROTO);
    assert_int_equal(
        memsample_parse_docker("{\"read\":\"x\",\"memory_stats\":{\"stats\":"
                               "{\"cache\":1},\"usage\": 73400320,"
                               "\"limit\":2147483648}}",
                               &b),
        0);
    assert_int_equal(b, 73400320u);
    assert_int_equal(memsample_parse_docker("{\"usage\":5}", &b), E_PROTO);
}

int
memleak_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_exact_line),
        cmocka_unit_test(test_fit_known_values),
        cmocka_unit_test(test_fit_degenerate),
        cmocka_unit_test(test_measure_verdicts),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests_name("memleak", tests, NULL, NULL);
}
