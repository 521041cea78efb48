/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the resource sampling: agent/resources' /proc parsers on
 * fixed text, a live sample of this process, the target CPU parsers of
 * agent/memsample, and master/saturation's rule and summary.
 */
#include "unit.h"

#include <string.h>

#include "../../agent/memsample.h"
#include "../../agent/resources.h"
#include "../../common/clock.h"
#include "../../common/err.h"
#include "../../master/aggregate.h"
#include "../../master/saturation.h"

#include "../../common/poison.h"

static void
test_pid_stat(void **state)
{
    /* A command name with a space and a ')' in it. */
    const char *t = "4242 (my a) proc) S 1 4242 4242 0 -1 4194560 1234 0 0 0 "
                    "150 25 0 0 20 0 3 0 100 123456 789 ...\n";
    uint64_t ticks = 0;

    (void)state;
    assert_int_equal(resources_parse_pid_stat(t, &ticks), 0);
    assert_int_equal(ticks, 175);
    assert_int_equal(resources_parse_pid_stat("4242 (x) S 1 2", &ticks),
                     E_PROTO);
    assert_int_equal(resources_parse_pid_stat("no paren", &ticks), E_PROTO);
}

static void
test_proc_stat(void **state)
{
    const char *t = "cpu  100 5 50 800 20 3 2 0 7 0\n"
                    "cpu0 50 2 25 400 10 1 1 0 0 0\n";
    uint64_t busy = 0, total = 0;

    (void)state;
    assert_int_equal(resources_parse_proc_stat(t, &busy, &total), 0);
    assert_int_equal(total, 980);
    assert_int_equal(busy, 160);
    assert_int_equal(resources_parse_proc_stat("cpu0 1 2 3", &busy, &total),
                     E_PROTO);
    assert_int_equal(resources_parse_proc_stat("cpu  1 2 3\n", &busy, &total),
                     E_PROTO);
}

static void
test_statm(void **state)
{
    uint64_t rss = 0;

    (void)state;
    assert_int_equal(
        resources_parse_statm("5000 1200 300 10 0 900 0\n", 4096, &rss), 0);
    assert_int_equal(rss, 1200u * 4096u);
    assert_int_equal(resources_parse_statm("5000\n", 4096, &rss), E_PROTO);
}

static void
test_net_dev(void **state)
{
    const char *t =
        "Inter-|   Receive                                                |  "
        "Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|"
        "bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo: 1000     10    0    0    0     0          0         0     "
        "1000      10    0    0    0     0       0          0\n"
        "  eth0:500 5 0 0 0 0 0 0 700 7 0 0 0 0 0 0\n";
    uint64_t rx = 0, tx = 0;

    (void)state;
    assert_int_equal(resources_parse_net_dev(t, &rx, &tx), 0);
    assert_int_equal(rx, 1500);
    assert_int_equal(tx, 1700);
    assert_int_equal(resources_parse_net_dev("Inter-|\n face |\n", &rx, &tx),
                     E_PROTO);
    assert_int_equal(resources_parse_net_dev("  lo: 1 2 3\n", &rx, &tx),
                     E_PROTO);
}

static void
test_centi(void **state)
{
    (void)state;
    assert_int_equal(resources_centi(1, 2), 5000);
    assert_int_equal(resources_centi(3, 1), 30000);
    assert_int_equal(resources_centi(0, 10), 0);
    assert_int_equal(resources_centi(5, 0), 0);
}

/* This process, live: a window too short gives nothing; after a busy
 * 300 ms the figures are plausible. */
static void
test_sample_live(void **state)
{
    struct resources r;
    struct resources_sample s;
    uint64_t t0 = clock_now_ns();
    volatile uint64_t x = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    resources_init(&r, t0);
    assert_int_equal(resources_sample(&r, t0 + 1000, &s), 1);
    while (clock_now_ns() < t0 + 300 * CLOCK_NS_PER_MS) {
        x = x + 1;
    }
    assert_int_equal(resources_sample(&r, clock_now_ns(), &s), 0);
    assert_true(s.window_ms >= 300 && s.window_ms < 5000);
    assert_true(s.rss_bytes > 1024u * 1024u);
    assert_true(s.rss_bytes < 1024ull * 1024u * 1024u);
    assert_true(s.cpu_centi <= 10000u + 2000u); /* one thread, tick slack */
    assert_true(s.host_cpu_centi <= 10000u);
}

static void
test_target_cpu_parsers(void **state)
{
    uint64_t us = 0;

    (void)state;
    assert_int_equal(memsample_parse_cgroup_cpu("usage_usec 123456\n"
                                                "user_usec 100000\n",
                                                &us),
                     0);
    assert_int_equal(us, 123456);
    assert_int_equal(memsample_parse_cgroup_cpu("user_usec 5\n", &us), E_PROTO);
    assert_int_equal(memsample_parse_metrics_cpu("{\"rss_kb\":10,"
                                                 "\"cpu_us\": 250000}",
                                                 &us),
                     0);
    assert_int_equal(us, 250000);
    assert_int_equal(memsample_parse_metrics_cpu("{\"rss_kb\":10}", &us),
                     E_PROTO);
    assert_int_equal(memsample_parse_docker_cpu(
                         "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":"
                         "7000000,\"usage_in_kernelmode\":1}},"
                         "\"memory_stats\":{\"usage\":5}}",
                         &us),
                     0);
    assert_int_equal(us, 7000);
    assert_int_equal(memsample_parse_docker_cpu("{\"memory_stats\":{}}", &us),
                     E_PROTO);
}

static void
test_saturation_rule(void **state)
{
    struct agg_res r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.flags = PROTO_RES_AGENT | PROTO_RES_ENGINE;
    r.cpu_centi = 8999;
    assert_int_equal(saturation_interval(&r, 1), 0);
    r.cpu_centi = 9000; /* 90 % of one core, one worker */
    assert_int_equal(saturation_interval(&r, 1), SAT_WHY_CPU);
    assert_int_equal(saturation_interval(&r, 0), SAT_WHY_CPU); /* 0 -> 1 */
    assert_int_equal(saturation_interval(&r, 2), 0);           /* 45 % of two */
    r.cpu_centi = 18000;
    assert_int_equal(saturation_interval(&r, 2), SAT_WHY_CPU);
    r.cpu_centi = 0;
    r.host_cpu_centi = 9500;
    assert_int_equal(saturation_interval(&r, 1), SAT_WHY_HOST);
    r.host_cpu_centi = 9499;
    r.lag_max_us = 50000; /* not above 50 ms */
    assert_int_equal(saturation_interval(&r, 1), 0);
    r.lag_max_us = 50001;
    assert_int_equal(saturation_interval(&r, 1), SAT_WHY_LAG);
    /* Figures not sent do not count, whatever they hold. */
    r.flags = PROTO_RES_AGENT;
    assert_int_equal(saturation_interval(&r, 1), 0);
    r.flags = PROTO_RES_ENGINE;
    r.cpu_centi = 50000;
    assert_int_equal(saturation_interval(&r, 1), SAT_WHY_LAG);
}

/* Merges one batch of agent id for interval k with the given figures. */
static void
merge_res(struct agg *a, uint32_t id, uint32_t k, uint64_t cpu, uint64_t lag,
          uint64_t conns, uint64_t mem)
{
    struct proto_batch b;

    memset(&b, 0, sizeof(b));
    b.agent_id = id;
    b.seq = k + 1;
    b.interval = k;
    b.res = PROTO_RES_AGENT | PROTO_RES_ENGINE;
    b.cpu_centi = cpu;
    b.host_cpu_centi = 1000;
    b.rss_bytes = 10u * 1024u * 1024u + k;
    b.net_rx_bytes = 100;
    b.net_tx_bytes = 200;
    b.open_conns = conns;
    b.lag_max_us = lag;
    b.lag_mean_us = lag / 2;
    if (mem > 0) {
        b.mem_ms = 1000u * k + 1;
        b.mem_bytes = mem;
        if (k > 0) {
            b.res |= PROTO_RES_TCPU;
            b.target_cpu_centi = 2500u * k;
        }
    }
    assert_int_equal(agg_merge(a, id, &b), 0);
}

/* Two agents over 5 s: agent 1 is late by > 50 ms in intervals 1, 2 and
 * 4 (saturated), agent 2 in two intervals only (not); pool usage is the
 * highest per-interval sum of open connections over the pool size. */
static void
test_saturation_summary(void **state)
{
    struct agg *a = NULL;
    struct saturation s;
    const uint64_t lag1[5] = {1000, 60000, 70000, 2000, 51000};
    const uint64_t lag2[5] = {60000, 60000, 0, 0, 0};

    (void)state;
    assert_int_equal(agg_new(&a, 5), 0);
    assert_int_equal(agg_add_agent(a, 1, "one", 10), 0);
    assert_int_equal(agg_add_agent(a, 2, "two", 10), 0);
    assert_int_equal(agg_set_agent_threads(a, 1, 2), 0);
    assert_int_equal(agg_set_agent_threads(a, 9, 2), E_NOTFOUND);
    for (uint32_t k = 0; k < 5; k++) {
        merge_res(a, 1, k, 5000 + 100 * k, lag1[k], 4 + k, 20u << 20);
        merge_res(a, 2, k, 3000, lag2[k], 3, 0);
    }
    assert_int_equal(saturation_summarize(a, 5, 20, &s), 0);
    assert_int_equal(s.n_agents, 2);
    assert_true(s.any_saturated);
    assert_true(s.agents[0].saturated);
    assert_int_equal(s.agents[0].why, SAT_WHY_LAG);
    assert_int_equal(s.agents[0].n_sat, 3);
    assert_int_equal(s.agents[0].sat_iv[0], 1);
    assert_int_equal(s.agents[0].sat_iv[1], 2);
    assert_int_equal(s.agents[0].sat_iv[2], 4);
    assert_int_equal(s.agents[0].threads, 2);
    assert_false(s.agents[1].saturated);
    assert_int_equal(s.agents[1].n_sat, 2);
    assert_true(s.agents[0].cpu_max_pct > 53.99 &&
                s.agents[0].cpu_max_pct < 54.01);
    assert_true(s.agents[0].cpu_mean_pct > 51.99 &&
                s.agents[0].cpu_mean_pct < 52.01);
    assert_int_equal(s.agents[0].rss_max_bytes, 10u * 1024u * 1024u + 4);
    assert_int_equal(s.agents[0].net_rx_bytes, 500);
    assert_int_equal(s.agents[0].net_tx_bytes, 1000);
    assert_int_equal(s.agents[0].conn_max, 8);
    assert_true(s.agents[0].lag_max_ms > 69.99 &&
                s.agents[0].lag_max_ms < 70.01);
    /* Pool: max over intervals of (4 + k) + 3 = 11, over 20. */
    assert_true(s.pool_known);
    assert_int_equal(s.pool_peak_conns, 11);
    assert_true(s.pool_usage > 0.5499 && s.pool_usage < 0.5501);
    /* Target: 20 MB every interval; CPU from the second sample on. */
    assert_int_equal(s.target.n_mem, 5);
    assert_true(s.target.mem_max_mb > 19.99 && s.target.mem_max_mb < 20.01);
    assert_int_equal(s.target.n_cpu, 4);
    assert_true(s.target.cpu_max_pct > 99.99 && s.target.cpu_max_pct < 100.01);
    saturation_fini(&s);
    /* Unknown pool size: not known. */
    assert_int_equal(saturation_summarize(a, 5, 0, &s), 0);
    assert_false(s.pool_known);
    saturation_fini(&s);
    agg_free(a);
}

int
resources_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pid_stat),
        cmocka_unit_test(test_proc_stat),
        cmocka_unit_test(test_statm),
        cmocka_unit_test(test_net_dev),
        cmocka_unit_test(test_centi),
        cmocka_unit_test(test_sample_live),
        cmocka_unit_test(test_target_cpu_parsers),
        cmocka_unit_test(test_saturation_rule),
        cmocka_unit_test(test_saturation_summary),
    };
    return cmocka_run_group_tests_name("resources", tests, NULL, NULL);
}
