/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the resource sampling: agent/resources' /proc parsers on
 * fixed text, a live sample of this process, the target CPU parsers of
 * agent/memsample, and master/saturation's rule.
 */
#include "unit.h"

#include <string.h>

#include "../../agent/memsample.h"
#include "../../agent/resources.h"
#include "../../common/clock.h"
#include "../../common/err.h"

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
    };
    return cmocka_run_group_tests_name("resources", tests, NULL, NULL);
}
