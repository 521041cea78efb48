/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/config: the defaults, the repository's two config
 * files, every class of error with its exact "NAME:LINE:COL:" prefix, the
 * no-partial-apply rule, --quick, and an out-of-memory sweep.
 */
#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/alloc.h"
#include "../../common/config.h"
#include "../../common/err.h"
#include "../../common/poison.h"

#define ERRLEN 512

/* The repository root: KS_SOURCE_DIR, or the working directory (the runner
 * runs from the root). */
static void
repo_path(char *out, size_t outlen, const char *rel)
{
    const char *root = getenv("KS_SOURCE_DIR");

    if (root == NULL || root[0] == '\0') {
        root = ".";
    }
    (void)snprintf(out, outlen, "%s/%s", root, rel);
}

static int
load_str(struct config *c, const char *yaml, char *err)
{
    return config_load_string(c, "t.yaml", yaml, strlen(yaml), err, ERRLEN);
}

/*
 * Loads yaml (named "t.yaml") into a config filled with a byte pattern and
 * checks: E_CONFIG, the message starts with prefix ("t.yaml:L:C: "),
 * contains needle, and not one byte of the config changed.
 */
static void
expect_error_rv(const char *yaml, int want_rv, const char *prefix,
                const char *needle)
{
    struct config *c = xmalloc(sizeof(*c));
    struct config *snap = xmalloc(sizeof(*snap));
    char err[ERRLEN];
    int rv = 0;

    assert_non_null(c);
    assert_non_null(snap);
    memset(c, 0xA5, sizeof(*c));
    memcpy(snap, c, sizeof(*c));
    rv = load_str(c, yaml, err);
    if (rv != want_rv || strncmp(err, prefix, strlen(prefix)) != 0 ||
        strstr(err, needle) == NULL) {
        print_error("yaml:\n%s\nrv %d, err: %s\nwanted prefix '%s' and '%s'\n",
                    yaml, rv, err, prefix, needle);
    }
    assert_int_equal(rv, want_rv);
    assert_memory_equal(err, prefix, strlen(prefix));
    assert_non_null(strstr(err, needle));
    assert_memory_equal(c, snap, sizeof(*c));
    xfree(snap);
    xfree(c);
}

static void
expect_error(const char *yaml, const char *prefix, const char *needle)
{
    expect_error_rv(yaml, E_CONFIG, prefix, needle);
}

static void
expect_ok(const char *yaml, struct config *c)
{
    char err[ERRLEN];
    int rv = load_str(c, yaml, err);

    if (rv != 0) {
        print_error("yaml:\n%s\nrv %d, err: %s\n", yaml, rv, err);
    }
    assert_int_equal(rv, 0);
}

/* --- defaults and the repository's files ------------------------------- */

static void
check_std_profile(const struct config *c, const char *name, uint32_t users,
                  uint32_t dur, uint32_t ramp, double rps, uint32_t think)
{
    const struct load_profile *p = config_profile(c, name);

    if (p == NULL) {
        print_error("no profile %s\n", name);
    }
    assert_non_null(p);
    assert_string_equal(p->name, name);
    assert_int_equal(p->concurrent_users, users);
    assert_int_equal(p->duration_seconds, dur);
    assert_int_equal(p->ramp_up_seconds, ramp);
    assert_true(p->requests_per_user_per_second == rps);
    assert_int_equal(p->think_time_ms, think);
}

/* The test scenarios' defaults (docs/tests-design.md section 5). */
static void
check_scenario_defaults(const struct config *c)
{
    assert_int_equal(c->sustained.pattern, CONFIG_PATTERN_RAMP_UP);
    assert_int_equal(c->sustained.model, CONFIG_MODEL_CLOSED);
    assert_true(c->sustained.arrival_rate == 0);
    assert_int_equal(c->sustained.initial_users, 1);
    assert_int_equal(c->sustained.spike_interval_seconds, 60);
    assert_int_equal(c->sustained.spike_duration_seconds, 10);
    assert_int_equal(c->sustained.wave_period_seconds, 120);
    assert_int_equal(c->sustained.step_seconds, 30);
    assert_int_equal(c->sustained.step_size, 10);
    assert_int_equal(c->sustained.n_stages, 0);
    assert_true(c->sustained.max_degradation == 1.5);
    assert_int_equal(c->sustained.n_profiles_for_all, 2);
    assert_string_equal(c->sustained.profiles_for_all[0], "light");
    assert_string_equal(c->sustained.profiles_for_all[1], "moderate");

    assert_int_equal(c->burst.burst_size, 1000);
    assert_int_equal(c->burst.burst_duration_ms, 100);
    assert_int_equal(c->burst.burst_count, 5);
    assert_int_equal(c->burst.interval_seconds, 10);
    assert_int_equal(c->burst.baseline_users, 5);
    assert_true(c->burst.recovery_margin == 0.2);

    assert_int_equal(c->pool.probe_users, 2);
    assert_int_equal(c->pool.probe_seconds, 10);
    assert_int_equal(c->pool.large_strings, 100);

    assert_int_equal(c->memory.duration_minutes, 10);
    assert_int_equal(c->memory.concurrent_users, 10);
    assert_true(c->memory.requests_per_user_per_second == 2);
    assert_int_equal(c->memory.think_time_ms, 500);
    assert_int_equal(c->memory.sample_interval_seconds, 5);
    assert_int_equal(c->memory.warmup_seconds, 30);
    assert_int_equal(c->memory.memory_source, CONFIG_MEMORY_SOURCE_AUTO);
    assert_int_equal(c->memory.pid, 0);
    assert_string_equal(c->memory.cgroup_path, "");
    assert_true(c->memory.leak_threshold_mb_per_min == 1.0);

    assert_int_equal(c->recovery.concurrent_users, 10);
    assert_true(c->recovery.requests_per_user_per_second == 1);
    assert_int_equal(c->recovery.think_time_ms, 100);
    assert_int_equal(c->recovery.baseline_seconds, 30);
    assert_int_equal(c->recovery.invalid_requests, 100);
    assert_int_equal(c->recovery.invalid_concurrency, 50);
    assert_int_equal(c->recovery.max_recovery_seconds, 60);
    assert_int_equal(c->recovery.window_seconds, 5);
    assert_true(c->recovery.margin == 0.2);
}

/* Everything config_defaults() must say, from the reference section 1. */
static void
check_defaults(const struct config *c)
{
    static const char *const metrics[] = {
        "response_time_ms", "throughput_rps",     "error_rate",
        "success_rate",     "active_connections", "pending_requests",
        "memory_usage_mb",  "cpu_usage_percent",  "network_io_mbps"};
    static const double pcts[] = {50, 75, 90, 95, 99, 99.9};
    static const char *const pats[] = {"ERROR",     "CRITICAL", "Exception",
                                       "Traceback", "Failed",   "Timeout"};
    static const char *const formats[] = {"json", "html", "csv"};
    static const char *const incl[] = {
        "summary_statistics",    "response_time_distribution",
        "throughput_over_time",  "error_analysis",
        "resource_usage_graphs", "bottleneck_analysis",
        "recommendations"};

    assert_int_equal(c->n_profiles, 6);
    assert_string_equal(c->profiles[0].name, "light");
    assert_string_equal(c->profiles[5].name, "endurance");
    check_std_profile(c, "light", 10, 60, 10, 1, 1000);
    check_std_profile(c, "moderate", 50, 300, 30, 2, 500);
    check_std_profile(c, "heavy", 200, 600, 60, 5, 200);
    check_std_profile(c, "extreme", 500, 300, 120, 10, 100);
    check_std_profile(c, "burst", 300, 60, 5, 20, 50);
    check_std_profile(c, "endurance", 25, 3600, 60, 1, 2000);

    assert_int_equal(c->params.connection_timeout_seconds, 30);
    assert_int_equal(c->params.request_timeout_seconds, 10);
    assert_int_equal(c->params.max_retries, 3);
    assert_int_equal(c->params.retry_delay_ms, 100);
    assert_true(c->params.circuit_breaker_enabled);
    assert_true(c->params.circuit_breaker_failure_threshold == 0.5);
    assert_int_equal(c->params.circuit_breaker_timeout_seconds, 30);
    assert_int_equal(c->params.circuit_breaker_half_open_requests, 3);
    assert_int_equal(c->params.connection_pool_size, 100);
    assert_int_equal(c->params.connection_pool_overflow, 50);
    assert_true(c->params.connection_reuse);
    assert_int_equal(c->params.max_requests_per_second, 10000);
    assert_int_equal(c->params.rate_limit_burst_size, 1000);

    assert_true(c->mix[OP_SESSION] == 0);
    assert_true(c->mix[OP_OBSERVE] == 0.60);
    assert_true(c->mix[OP_LEARN] == 0.10);
    assert_true(c->mix[OP_PREDICTIONS] == 0.20);
    assert_true(c->mix[OP_STM] == 0.05);
    assert_true(c->mix[OP_CLEAR] == 0.05);

    assert_int_equal(c->data.min_strings_per_observation, 1);
    assert_int_equal(c->data.max_strings_per_observation, 10);
    assert_int_equal(c->data.min_string_length, 1);
    assert_int_equal(c->data.max_string_length, 50);
    assert_int_equal(c->data.string_vocabulary_size, 1000);
    assert_true(c->data.vector_probability == 0.3);
    assert_int_equal(c->data.min_vector_size, 10);
    assert_int_equal(c->data.max_vector_size, 100);
    assert_true(c->data.vector_value_min == 0.0);
    assert_true(c->data.vector_value_max == 1.0);
    assert_true(c->data.emotive_probability == 0.2);
    assert_int_equal(c->data.min_emotives, 1);
    assert_int_equal(c->data.max_emotives, 5);
    assert_true(c->data.emotive_value_min == 0.0);
    assert_true(c->data.emotive_value_max == 1.0);

    assert_int_equal(c->monitoring.metrics_sample_interval_seconds, 1);
    assert_int_equal(c->monitoring.report_interval_seconds, 10);
    assert_int_equal(c->monitoring.n_metrics_to_track, 9);
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(c->monitoring.metrics_to_track[i], metrics[i]);
    }
    assert_int_equal(c->monitoring.n_percentiles, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(c->monitoring.response_time_percentiles[i] == pcts[i]);
    }
    assert_true(c->monitoring.container_monitoring_enabled);
    assert_int_equal(c->monitoring.container_sample_interval_seconds, 5);
    assert_true(c->monitoring.container_track_logs);
    assert_int_equal(c->monitoring.n_log_error_patterns, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(c->monitoring.log_error_patterns[i], pats[i]);
    }

    assert_true(c->thresholds.response_time_p50_max == 20);
    assert_true(c->thresholds.response_time_p95_max == 50);
    assert_true(c->thresholds.response_time_p99_max == 100);
    assert_true(c->thresholds.response_time_p99_9_max == 500);
    assert_true(c->thresholds.min_throughput_rps == 1000);
    assert_true(c->thresholds.max_error_rate == 0.001);
    assert_true(c->thresholds.max_memory_usage_mb == 2000);
    assert_true(c->thresholds.max_cpu_usage_percent == 80);
    assert_true(c->thresholds.max_connection_pool_usage == 0.9);

    assert_int_equal(c->reporting.n_formats, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(c->reporting.formats[i], formats[i]);
    }
    assert_string_equal(c->reporting.output_directory, "./stress_test_results");
    assert_int_equal(c->reporting.n_include_in_report, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(c->reporting.include_in_report[i], incl[i]);
    }
    assert_true(c->reporting.baseline_enabled);
    assert_string_equal(c->reporting.baseline_file,
                        "./stress_test_results/baseline.json");
    assert_true(c->reporting.baseline_deviation_threshold == 0.2);
    assert_false(c->reporting.baseline_fail_on_regression);

    assert_string_equal(c->env.kato_base_url, "http://localhost:8000");
    assert_string_equal(c->env.kato_processor_id, "stress-test-processor");
    assert_string_equal(c->env.docker_container_name, "kato-stress-test");
    assert_string_equal(c->env.docker_network, "kato-network");
    assert_false(c->env.parallel_execution);
    assert_true(c->env.cleanup_between_tests);
    assert_int_equal(c->env.warmup_duration_seconds, 30);
    assert_int_equal(c->env.cooldown_duration_seconds, 30);

    assert_int_equal(c->concurrent.concurrent_users, 50);
    assert_int_equal(c->concurrent.duration_seconds, 60);
    assert_true(c->concurrent.requests_per_user_per_second == 1.0);
    assert_int_equal(c->concurrent.think_time_ms, 100);

    check_scenario_defaults(c);
}

static void
test_defaults(void **state)
{
    struct config c;

    (void)state;
    memset(&c, 0x5A, sizeof(c));
    config_defaults(&c);
    check_defaults(&c);
    assert_string_equal(c.path, "");
    assert_null(config_profile(&c, "quick"));
    assert_null(config_profile(&c, "Light"));
}

static void
test_empty_is_defaults(void **state)
{
    static const char *const empties[] = {
        "", "\n", "# only a comment\n", "---\n", "--- ~\n", "---\n...\n"};
    struct config c;
    char err[ERRLEN];

    (void)state;
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        memset(&c, 0x5A, sizeof(c));
        assert_int_equal(load_str(&c, empties[i], err), 0);
        check_defaults(&c);
        assert_string_equal(c.path, "t.yaml");
    }
    /* NULL with length 0 is an empty buffer too. */
    assert_int_equal(config_load_string(&c, "n", NULL, 0, err, ERRLEN), 0);
    check_defaults(&c);
}

/* stress_config.yaml says "every key with its default": it must load to
 * exactly config_defaults(). */
static void
test_repo_stress_config(void **state)
{
    struct config c;
    char path[512];
    char err[ERRLEN];
    int rv = 0;

    (void)state;
    repo_path(path, sizeof(path), "stress_config.yaml");
    rv = config_load(&c, path, err, sizeof(err));
    if (rv != 0) {
        print_error("%s\n", err);
    }
    assert_int_equal(rv, 0);
    check_defaults(&c);
    assert_string_equal(c.path, path);
}

static void
test_repo_quick_config(void **state)
{
    static const char *const metrics[] = {"response_time_ms", "throughput_rps",
                                          "error_rate"};
    struct config c;
    char path[512];
    char err[ERRLEN];
    int rv = 0;

    (void)state;
    repo_path(path, sizeof(path), "quick_test_config.yaml");
    rv = config_load(&c, path, err, sizeof(err));
    if (rv != 0) {
        print_error("%s\n", err);
    }
    assert_int_equal(rv, 0);

    /* The six standard profiles, scaled down, then `quick` (new: last). */
    assert_int_equal(c.n_profiles, 7);
    assert_string_equal(c.profiles[6].name, "quick");
    check_std_profile(&c, "quick", 5, 5, 1, 1, 100);
    check_std_profile(&c, "light", 2, 5, 1, 1, 100);
    check_std_profile(&c, "moderate", 5, 10, 2, 2, 100);
    check_std_profile(&c, "heavy", 10, 10, 2, 5, 50);
    check_std_profile(&c, "extreme", 20, 10, 2, 10, 20);
    check_std_profile(&c, "burst", 15, 5, 1, 20, 10);
    check_std_profile(&c, "endurance", 3, 30, 2, 1, 200);

    assert_int_equal(c.concurrent.concurrent_users, 5);
    assert_int_equal(c.concurrent.duration_seconds, 5);
    assert_true(c.concurrent.requests_per_user_per_second == 1.0);
    assert_int_equal(c.concurrent.think_time_ms, 100);

    assert_int_equal(c.params.connection_timeout_seconds, 10);
    assert_int_equal(c.params.request_timeout_seconds, 5);
    assert_int_equal(c.params.max_retries, 1);
    assert_false(c.params.circuit_breaker_enabled);
    assert_true(c.params.circuit_breaker_failure_threshold == 0.5); /* kept */
    assert_int_equal(c.params.connection_pool_size, 10);
    assert_int_equal(c.params.connection_pool_overflow, 5);
    assert_int_equal(c.params.max_requests_per_second, 100);
    assert_int_equal(c.params.rate_limit_burst_size, 50);

    assert_true(c.mix[OP_OBSERVE] == 0.60);
    assert_true(c.mix[OP_STM] == 0.05);

    assert_int_equal(c.data.max_strings_per_observation, 3);
    assert_int_equal(c.data.max_string_length, 10);
    assert_int_equal(c.data.string_vocabulary_size, 100);
    assert_true(c.data.vector_probability == 0.1);
    assert_int_equal(c.data.min_vector_size, 5);
    assert_int_equal(c.data.max_vector_size, 10);
    assert_true(c.data.emotive_probability == 0.1);
    assert_int_equal(c.data.max_emotives, 2);

    assert_int_equal(c.monitoring.report_interval_seconds, 2);
    assert_int_equal(c.monitoring.n_metrics_to_track, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(c.monitoring.metrics_to_track[i], metrics[i]);
    }
    assert_int_equal(c.monitoring.n_percentiles, 3);
    assert_true(c.monitoring.response_time_percentiles[0] == 50);
    assert_true(c.monitoring.response_time_percentiles[1] == 95);
    assert_true(c.monitoring.response_time_percentiles[2] == 99);
    assert_false(c.monitoring.container_monitoring_enabled);
    assert_int_equal(c.monitoring.container_sample_interval_seconds, 5);

    assert_true(c.thresholds.response_time_p50_max == 50);
    assert_true(c.thresholds.response_time_p95_max == 100);
    assert_true(c.thresholds.response_time_p99_max == 200);
    assert_true(c.thresholds.min_throughput_rps ==
                1) /* a smoke floor: see the file */;
    assert_true(c.thresholds.max_error_rate == 0.05);

    assert_int_equal(c.reporting.n_formats, 2);
    assert_string_equal(c.reporting.formats[0], "json");
    assert_string_equal(c.reporting.formats[1], "csv");
    assert_int_equal(c.reporting.n_include_in_report, 2);
    assert_false(c.reporting.baseline_enabled);
    assert_string_equal(c.reporting.baseline_file,
                        "./stress_test_results/baseline.json");

    assert_string_equal(c.env.kato_base_url, "http://localhost:8000");
    assert_string_equal(c.env.docker_container_name, ""); /* null */
    assert_string_equal(c.env.docker_network, "kato-network");
    assert_int_equal(c.env.warmup_duration_seconds, 2);
    assert_int_equal(c.env.cooldown_duration_seconds, 2);

    /* Every test's scenario, sized for a short run. */
    assert_int_equal(c.sustained.pattern, CONFIG_PATTERN_RAMP_UP);
    assert_int_equal(c.sustained.model, CONFIG_MODEL_CLOSED);
    assert_int_equal(c.sustained.n_profiles_for_all, 2);
    assert_string_equal(c.sustained.profiles_for_all[1], "moderate");
    assert_int_equal(c.burst.burst_size, 100);
    assert_int_equal(c.burst.burst_duration_ms, 100);
    assert_int_equal(c.burst.burst_count, 2);
    assert_int_equal(c.burst.interval_seconds, 3);
    assert_int_equal(c.burst.baseline_users, 2);
    assert_true(c.burst.recovery_margin == 0.2); /* kept */
    assert_int_equal(c.pool.probe_users, 2);
    assert_int_equal(c.pool.probe_seconds, 3);
    assert_int_equal(c.pool.large_strings, 20);
    assert_int_equal(c.memory.duration_minutes, 1);
    assert_int_equal(c.memory.concurrent_users, 3);
    assert_int_equal(c.memory.sample_interval_seconds, 2);
    assert_int_equal(c.memory.warmup_seconds, 5);
    assert_int_equal(c.memory.memory_source, CONFIG_MEMORY_SOURCE_AUTO);
    assert_int_equal(c.recovery.concurrent_users, 3);
    assert_int_equal(c.recovery.baseline_seconds, 5);
    assert_int_equal(c.recovery.invalid_requests, 20);
    assert_int_equal(c.recovery.invalid_concurrency, 10);
    assert_int_equal(c.recovery.max_recovery_seconds, 15);
    assert_int_equal(c.recovery.window_seconds, 2);
    assert_true(c.recovery.margin == 0.2); /* kept */

    /* --quick changes nothing more in a file already this short. */
    {
        struct config q = c;
        config_apply_quick(&q);
        assert_int_equal(q.burst.burst_size, 100);
        assert_int_equal(q.burst.burst_count, 2);
        assert_int_equal(q.memory.duration_minutes, 1);
        assert_int_equal(q.recovery.invalid_requests, 20);
        assert_int_equal(q.pool.probe_seconds, 3);
    }
}

/* --- values that load ---------------------------------------------------- */

static void
test_overrides(void **state)
{
    struct config c;
    const struct load_profile *p = NULL;

    (void)state;
    expect_ok(
        "load_profiles:\n"
        "  light:\n"
        "    concurrent_users: 7\n"
        "  mine: {concurrent_users: 3, duration_seconds: 4,\n"
        "         ramp_up_seconds: 0, requests_per_user_per_second: 0.5,\n"
        "         think_time_ms: 0}\n"
        "test_parameters:\n"
        "  circuit_breaker_enabled: no\n"
        "  connection_reuse: On\n"
        "  retry_delay_ms: +4294967295\n"
        "environment:\n"
        "  kato_base_url: 'https://kato.example:8443'\n"
        "  docker_container_name: ~\n"
        "  docker_network:\n"
        "  parallel_execution: YES\n"
        "  kato_processor_id: 12\n"
        "monitoring:\n"
        "  metrics_to_track: []\n"
        "  response_time_percentiles: [99.99, 100]\n"
        "test_data:\n"
        "  vector_dimension_range: [-1, 1e1]\n"
        "  min_strings_per_observation: 0\n"
        "  min_emotives: 5\n"
        "reporting:\n"
        "  formats: [junit]\n"
        "test_scenarios:\n"
        "  concurrent: {concurrent_users: 1, think_time_ms: 0}\n",
        &c);
    p = config_profile(&c, "light");
    assert_non_null(p);
    assert_int_equal(p->concurrent_users, 7);
    assert_int_equal(p->duration_seconds, 60); /* kept */
    assert_int_equal(p->think_time_ms, 1000);  /* kept */
    assert_int_equal(c.n_profiles, 7);
    p = config_profile(&c, "mine");
    assert_non_null(p);
    assert_ptr_equal(p, &c.profiles[6]);
    assert_int_equal(p->concurrent_users, 3);
    assert_int_equal(p->duration_seconds, 4);
    assert_true(p->requests_per_user_per_second == 0.5);
    assert_false(c.params.circuit_breaker_enabled);
    assert_true(c.params.connection_reuse);
    assert_int_equal(c.params.retry_delay_ms, 4294967295u);
    assert_string_equal(c.env.kato_base_url, "https://kato.example:8443");
    assert_string_equal(c.env.docker_container_name, "");
    assert_string_equal(c.env.docker_network, "");
    assert_true(c.env.parallel_execution);
    assert_string_equal(c.env.kato_processor_id, "12");
    assert_int_equal(c.monitoring.n_metrics_to_track, 0);
    assert_int_equal(c.monitoring.n_percentiles, 2);
    assert_true(c.monitoring.response_time_percentiles[0] == 99.99);
    assert_true(c.data.vector_value_min == -1);
    assert_true(c.data.vector_value_max == 10);
    assert_int_equal(c.data.min_strings_per_observation, 0);
    assert_int_equal(c.data.min_emotives, 5); /* == max: allowed */
    assert_int_equal(c.reporting.n_formats, 1);
    assert_string_equal(c.reporting.formats[0], "junit");
    assert_int_equal(c.concurrent.concurrent_users, 1);
    assert_int_equal(c.concurrent.duration_seconds, 60);
    assert_int_equal(c.concurrent.think_time_ms, 0);

    /* Null sections are empty sections. */
    expect_ok("load_profiles:\ntest_parameters:\nmonitoring:\n"
              "  container_monitoring:\n",
              &c);
    check_defaults(&c);
}

static void
test_mix(void **state)
{
    struct config c;

    (void)state;
    /* The first version's key name. */
    expect_ok("operations_mix:\n  observe: 0.5\n  learn: 0.1\n"
              "  predictions: 0.2\n  working_memory: 0.15\n"
              "  clear_memory: 0.05\n",
              &c);
    assert_true(c.mix[OP_STM] == 0.15);
    assert_true(c.mix[OP_OBSERVE] == 0.5);
    assert_true(c.mix[OP_SESSION] == 0);
    /* A mix replaces the default whole: keys left out count as 0. */
    expect_ok("operations_mix: {observe: 0.7, predictions: 0.3}\n", &c);
    assert_true(c.mix[OP_OBSERVE] == 0.7);
    assert_true(c.mix[OP_PREDICTIONS] == 0.3);
    assert_true(c.mix[OP_LEARN] == 0);
    assert_true(c.mix[OP_STM] == 0);
    assert_true(c.mix[OP_CLEAR] == 0);
    expect_error("operations_mix: {observe: 0.55, clear_memory: 0.10}\n",
                 "t.yaml:1:1: ", "operations_mix sums to 0.65");
    /* Within 1e-6 of 1 is fine; beyond is not. */
    expect_ok("operations_mix: {observe: 0.9999995}\n", &c);
    expect_error("operations_mix: {observe: 0.999998}\n",
                 "t.yaml:1:1: ", "operations_mix sums to 0.999998");
    /* Only the listed ops may be zero: all of them zero is a bad sum. */
    expect_error("operations_mix: {observe: 0, learn: 0, predictions: 0,\n"
                 "  short_term_memory: 0, clear_memory: 0}\n",
                 "t.yaml:1:1: ", "sums to 0");
}

static void
test_quick(void **state)
{
    struct config c;

    (void)state;
    config_defaults(&c);
    expect_ok("load_profiles:\n"
              "  tiny: {concurrent_users: 3, duration_seconds: 4,\n"
              "         ramp_up_seconds: 1, requests_per_user_per_second: 1,\n"
              "         think_time_ms: 5}\n"
              "test_scenarios:\n  concurrent: {concurrent_users: 4,\n"
              "    duration_seconds: 3}\n",
              &c);
    config_apply_quick(&c);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(c.profiles[i].duration_seconds, 10);
        assert_int_equal(c.profiles[i].ramp_up_seconds, 2);
        assert_int_equal(c.profiles[i].concurrent_users, 10);
    }
    /* Never lengthens: values under the caps stay. */
    check_std_profile(&c, "tiny", 3, 4, 1, 1, 5);
    assert_int_equal(c.concurrent.concurrent_users, 4);
    assert_int_equal(c.concurrent.duration_seconds, 3);
    /* Rates and think times are untouched. */
    check_std_profile(&c, "light", 10, 10, 2, 1, 1000);
    check_std_profile(&c, "burst", 10, 10, 2, 20, 50);

    config_defaults(&c);
    config_apply_quick(&c);
    assert_int_equal(c.concurrent.concurrent_users, 10);
    assert_int_equal(c.concurrent.duration_seconds, 5);
    assert_true(c.concurrent.requests_per_user_per_second == 1.0);
    assert_int_equal(c.env.cooldown_duration_seconds, 30);

    /* Every other test from its defaults. */
    assert_int_equal(c.burst.burst_count, 2);
    assert_int_equal(c.burst.interval_seconds, 3);
    assert_int_equal(c.burst.burst_size, 200);
    assert_int_equal(c.burst.burst_duration_ms, 100);
    assert_int_equal(c.burst.baseline_users, 5);
    assert_true(c.burst.recovery_margin == 0.2);
    assert_int_equal(c.pool.probe_seconds, 3);
    assert_int_equal(c.pool.probe_users, 2);
    assert_int_equal(c.pool.large_strings, 100);
    assert_int_equal(c.memory.duration_minutes, 1);
    assert_int_equal(c.memory.sample_interval_seconds, 2);
    assert_int_equal(c.memory.warmup_seconds, 5);
    assert_int_equal(c.memory.concurrent_users, 10);
    assert_true(c.memory.requests_per_user_per_second == 2);
    assert_true(c.memory.leak_threshold_mb_per_min == 1.0);
    assert_int_equal(c.recovery.baseline_seconds, 5);
    assert_int_equal(c.recovery.max_recovery_seconds, 15);
    assert_int_equal(c.recovery.window_seconds, 2);
    assert_int_equal(c.recovery.invalid_requests, 50);
    assert_int_equal(c.recovery.invalid_concurrency, 50);
    assert_int_equal(c.recovery.concurrent_users, 10);
    assert_true(c.recovery.margin == 0.2);
    /* The sustained test's shape is the profile's business: untouched. */
    assert_int_equal(c.sustained.pattern, CONFIG_PATTERN_RAMP_UP);
    assert_int_equal(c.sustained.spike_interval_seconds, 60);
    assert_int_equal(c.sustained.n_profiles_for_all, 2);

    /* Values under the caps stay; a long burst is cut to fit the new
     * interval, so the quick config is still one the loader accepts. */
    expect_ok(
        "test_scenarios:\n"
        "  burst: {burst_size: 50, burst_count: 1, interval_seconds: 60,\n"
        "          burst_duration_ms: 20000}\n"
        "  pool: {probe_seconds: 1}\n"
        "  memory: {sample_interval_seconds: 1, warmup_seconds: 0}\n"
        "  recovery: {baseline_seconds: 3, max_recovery_seconds: 4,\n"
        "             window_seconds: 1, invalid_requests: 7}\n",
        &c);
    config_apply_quick(&c);
    assert_int_equal(c.burst.burst_size, 50);
    assert_int_equal(c.burst.burst_count, 1);
    assert_int_equal(c.burst.interval_seconds, 3);
    assert_int_equal(c.burst.burst_duration_ms, 3000);
    assert_int_equal(c.pool.probe_seconds, 1);
    assert_int_equal(c.memory.sample_interval_seconds, 1);
    assert_int_equal(c.memory.warmup_seconds, 0);
    assert_int_equal(c.memory.duration_minutes, 1);
    assert_int_equal(c.recovery.baseline_seconds, 3);
    assert_int_equal(c.recovery.max_recovery_seconds, 4);
    assert_int_equal(c.recovery.window_seconds, 1);
    assert_int_equal(c.recovery.invalid_requests, 7);
}

/* --- test scenarios ------------------------------------------------------ */

static void
test_scenario_overrides(void **state)
{
    struct config c;

    (void)state;
    expect_ok("test_scenarios:\n"
              "  sustained:\n"
              "    pattern: custom\n"
              "    model: open\n"
              "    arrival_rate: 250.5\n"
              "    initial_users: 0\n"
              "    spike_interval_seconds: 20\n"
              "    spike_duration_seconds: 20\n"
              "    wave_period_seconds: 40\n"
              "    step_seconds: 5\n"
              "    step_size: 3\n"
              "    stages:\n"
              "      - {duration_seconds: 30, target: 20}\n"
              "      - duration_seconds: 60\n"
              "        target: 0\n"
              "    max_degradation: 1\n"
              "    profiles_for_all: [heavy, mine, light]\n"
              "  burst:\n"
              "    burst_size: 10\n"
              "    burst_duration_ms: 2000\n"
              "    burst_count: 1\n"
              "    interval_seconds: 2\n"
              "    baseline_users: 1\n"
              "    recovery_margin: 1\n"
              "  pool: {probe_users: 4, probe_seconds: 1, large_strings: 7}\n"
              "  memory:\n"
              "    duration_minutes: 2\n"
              "    concurrent_users: 4\n"
              "    requests_per_user_per_second: 0\n"
              "    think_time_ms: 0\n"
              "    sample_interval_seconds: 1\n"
              "    warmup_seconds: 118\n"
              "    memory_source: cgroup\n"
              "    pid: 4242\n"
              "    cgroup_path: /sys/fs/cgroup/system.slice/kato.service\n"
              "    leak_threshold_mb_per_min: 0.25\n"
              "  recovery:\n"
              "    concurrent_users: 3\n"
              "    requests_per_user_per_second: 0.5\n"
              "    think_time_ms: 7\n"
              "    baseline_seconds: 4\n"
              "    invalid_requests: 9\n"
              "    invalid_concurrency: 100\n"
              "    max_recovery_seconds: 4\n"
              "    window_seconds: 4\n"
              "    margin: 0\n"
              /* A profile defined after the list that names it. */
              "load_profiles:\n"
              "  mine: {concurrent_users: 3, duration_seconds: 4,\n"
              "         ramp_up_seconds: 0, requests_per_user_per_second: 1,\n"
              "         think_time_ms: 5}\n",
              &c);
    assert_int_equal(c.sustained.pattern, CONFIG_PATTERN_CUSTOM);
    assert_int_equal(c.sustained.model, CONFIG_MODEL_OPEN);
    assert_true(c.sustained.arrival_rate == 250.5);
    assert_int_equal(c.sustained.initial_users, 0);
    assert_int_equal(c.sustained.spike_interval_seconds, 20);
    assert_int_equal(c.sustained.spike_duration_seconds, 20); /* == ok */
    assert_int_equal(c.sustained.wave_period_seconds, 40);
    assert_int_equal(c.sustained.step_seconds, 5);
    assert_int_equal(c.sustained.step_size, 3);
    assert_int_equal(c.sustained.n_stages, 2);
    assert_int_equal(c.sustained.stages[0].duration_seconds, 30);
    assert_int_equal(c.sustained.stages[0].target, 20);
    assert_int_equal(c.sustained.stages[1].duration_seconds, 60);
    assert_int_equal(c.sustained.stages[1].target, 0);
    assert_true(c.sustained.max_degradation == 1);
    assert_int_equal(c.sustained.n_profiles_for_all, 3);
    assert_string_equal(c.sustained.profiles_for_all[0], "heavy");
    assert_string_equal(c.sustained.profiles_for_all[1], "mine");
    assert_string_equal(c.sustained.profiles_for_all[2], "light");

    assert_int_equal(c.burst.burst_size, 10);
    assert_int_equal(c.burst.burst_duration_ms, 2000); /* == interval */
    assert_int_equal(c.burst.burst_count, 1);
    assert_int_equal(c.burst.interval_seconds, 2);
    assert_int_equal(c.burst.baseline_users, 1);
    assert_true(c.burst.recovery_margin == 1);

    assert_int_equal(c.pool.probe_users, 4);
    assert_int_equal(c.pool.probe_seconds, 1);
    assert_int_equal(c.pool.large_strings, 7);

    assert_int_equal(c.memory.duration_minutes, 2);
    assert_int_equal(c.memory.concurrent_users, 4);
    assert_true(c.memory.requests_per_user_per_second == 0);
    assert_int_equal(c.memory.think_time_ms, 0);
    assert_int_equal(c.memory.sample_interval_seconds, 1);
    assert_int_equal(c.memory.warmup_seconds, 118); /* 118 + 2 = 120 s */
    assert_int_equal(c.memory.memory_source, CONFIG_MEMORY_SOURCE_CGROUP);
    assert_int_equal(c.memory.pid, 4242);
    assert_string_equal(c.memory.cgroup_path,
                        "/sys/fs/cgroup/system.slice/kato.service");
    assert_true(c.memory.leak_threshold_mb_per_min == 0.25);

    assert_int_equal(c.recovery.concurrent_users, 3);
    assert_true(c.recovery.requests_per_user_per_second == 0.5);
    assert_int_equal(c.recovery.think_time_ms, 7);
    assert_int_equal(c.recovery.baseline_seconds, 4);
    assert_int_equal(c.recovery.invalid_requests, 9);
    assert_int_equal(c.recovery.invalid_concurrency, 100);
    assert_int_equal(c.recovery.max_recovery_seconds, 4);
    assert_int_equal(c.recovery.window_seconds, 4);
    assert_true(c.recovery.margin == 0);

    /* Partial sections keep the other defaults; every pattern, model and
     * source name loads; null and empty lists are empty. */
    for (int p = 0; p < CONFIG_PATTERN_COUNT; p++) {
        char yaml[256];
        if (p == CONFIG_PATTERN_CUSTOM) {
            continue;
        }
        (void)snprintf(yaml, sizeof(yaml),
                       "test_scenarios:\n  sustained: {pattern: %s}\n",
                       config_pattern_name(p));
        expect_ok(yaml, &c);
        assert_int_equal(c.sustained.pattern, p);
        assert_int_equal(c.sustained.step_size, 10);
    }
    expect_ok("test_scenarios:\n  memory: {memory_source: pid, pid: 1}\n", &c);
    assert_int_equal(c.memory.memory_source, CONFIG_MEMORY_SOURCE_PID);
    assert_int_equal(c.memory.pid, 1);
    expect_ok("test_scenarios:\n  memory: {memory_source: docker}\n", &c);
    assert_int_equal(c.memory.memory_source, CONFIG_MEMORY_SOURCE_DOCKER);
    expect_ok("test_scenarios:\n  memory: {memory_source: metrics}\n", &c);
    assert_int_equal(c.memory.memory_source, CONFIG_MEMORY_SOURCE_METRICS);
    expect_ok("test_scenarios:\n  memory: {memory_source: auto}\n"
              "environment: {docker_container_name: ~}\n",
              &c);
    assert_int_equal(c.memory.memory_source, CONFIG_MEMORY_SOURCE_AUTO);
    /* Stages without pattern custom are kept (and unused). */
    expect_ok("test_scenarios:\n  sustained:\n    profiles_for_all: []\n"
              "    stages: [{duration_seconds: 1, target: 4294967295}]\n",
              &c);
    assert_int_equal(c.sustained.pattern, CONFIG_PATTERN_RAMP_UP);
    assert_int_equal(c.sustained.n_profiles_for_all, 0);
    assert_int_equal(c.sustained.n_stages, 1);
    assert_int_equal(c.sustained.stages[0].target, 4294967295u);
    expect_ok("test_scenarios:\n  sustained:\n  burst:\n  pool:\n"
              "  memory:\n  recovery:\n",
              &c);
    check_defaults(&c);
}

static void
test_scenario_names(void **state)
{
    static const char *const patterns[] = {
        "constant", "ramp_up", "ramp_down", "spike", "wave",
        "random",   "poisson", "burst",     "step",  "custom"};
    static const char *const models[] = {"closed", "open"};
    static const char *const sources[] = {"auto", "pid", "cgroup", "docker",
                                          "metrics"};

    (void)state;
    assert_int_equal(CONFIG_PATTERN_COUNT, 10);
    for (int i = 0; i < CONFIG_PATTERN_COUNT; i++) {
        assert_string_equal(config_pattern_name(i), patterns[i]);
        assert_int_equal(config_pattern_from_name(patterns[i]), i);
    }
    assert_int_equal(config_pattern_from_name("ramp_up"),
                     CONFIG_PATTERN_RAMP_UP);
    assert_int_equal(config_pattern_from_name("custom"), CONFIG_PATTERN_CUSTOM);
    assert_null(config_pattern_name(-1));
    assert_null(config_pattern_name(CONFIG_PATTERN_COUNT));
    assert_int_equal(config_pattern_from_name("Constant"), -1);
    assert_int_equal(config_pattern_from_name("ramp-up"), -1);
    assert_int_equal(config_pattern_from_name(""), -1);
    assert_int_equal(config_pattern_from_name(NULL), -1);

    assert_int_equal(CONFIG_MODEL_COUNT, 2);
    for (int i = 0; i < CONFIG_MODEL_COUNT; i++) {
        assert_string_equal(config_model_name(i), models[i]);
        assert_int_equal(config_model_from_name(models[i]), i);
    }
    assert_int_equal(config_model_from_name("open"), CONFIG_MODEL_OPEN);
    assert_null(config_model_name(-1));
    assert_null(config_model_name(CONFIG_MODEL_COUNT));
    assert_int_equal(config_model_from_name("OPEN"), -1);
    assert_int_equal(config_model_from_name(NULL), -1);

    assert_int_equal(CONFIG_MEMORY_SOURCE_COUNT, 5);
    for (int i = 0; i < CONFIG_MEMORY_SOURCE_COUNT; i++) {
        assert_string_equal(config_memory_source_name(i), sources[i]);
        assert_int_equal(config_memory_source_from_name(sources[i]), i);
    }
    assert_int_equal(config_memory_source_from_name("cgroup"),
                     CONFIG_MEMORY_SOURCE_CGROUP);
    assert_null(config_memory_source_name(-1));
    assert_null(config_memory_source_name(CONFIG_MEMORY_SOURCE_COUNT));
    assert_int_equal(config_memory_source_from_name("proc"), -1);
    assert_int_equal(config_memory_source_from_name(NULL), -1);
}

/* distributed.on_agent_loss: rebalance by default, the three names, and
 * anything else refused at its position with the valid names. */
static void
test_distributed(void **state)
{
    struct config *c = xmalloc(sizeof(*c));

    (void)state;
    assert_non_null(c);
    config_defaults(c);
    assert_int_equal(c->distributed.on_agent_loss, CONFIG_LOSS_REBALANCE);
    expect_ok("distributed:\n  on_agent_loss: abort\n", c);
    assert_int_equal(c->distributed.on_agent_loss, CONFIG_LOSS_ABORT);
    expect_ok("distributed: {on_agent_loss: continue}\n", c);
    assert_int_equal(c->distributed.on_agent_loss, CONFIG_LOSS_CONTINUE);
    expect_ok("distributed: {on_agent_loss: rebalance}\n", c);
    assert_int_equal(c->distributed.on_agent_loss, CONFIG_LOSS_REBALANCE);
    xfree(c);
    assert_string_equal(config_agent_loss_name(CONFIG_LOSS_CONTINUE),
                        "continue");
    assert_null(config_agent_loss_name(CONFIG_LOSS_COUNT));
    assert_int_equal(config_agent_loss_from_name("abort"), CONFIG_LOSS_ABORT);
    assert_int_equal(config_agent_loss_from_name("Abort"), -1);
    expect_error("distributed:\n  on_agent_loss: retry\n", "t.yaml:2:18: ",
                 "unknown value 'retry' for distributed.on_agent_loss "
                 "(valid: rebalance, continue, abort)");
    expect_error("distributed:\n  on_agent_los: abort\n",
                 "t.yaml:2:3: ", "on_agent_los");
}

static void
test_err_scenario_values(void **state)
{
    (void)state;
    /* Names: the value's position, the valid names listed. */
    expect_error("test_scenarios:\n  sustained:\n    pattern: sawtooth\n",
                 "t.yaml:3:14: ",
                 "unknown value 'sawtooth' for test_scenarios.sustained."
                 "pattern (valid: constant, ramp_up, ramp_down, spike, wave, "
                 "random, poisson, burst, step, custom)");
    expect_error("test_scenarios:\n  sustained: {pattern: Constant}\n",
                 "t.yaml:2:24: ", "unknown value 'Constant'");
    expect_error("test_scenarios:\n  sustained: {pattern: [spike]}\n",
                 "t.yaml:2:24: ",
                 "unknown value a sequence for test_scenarios.sustained."
                 "pattern");
    expect_error("test_scenarios:\n  sustained:\n    model:\n", "t.yaml:3:11: ",
                 "unknown value nothing (null) for test_scenarios.sustained."
                 "model (valid: closed, open)");
    expect_error("test_scenarios:\n  sustained: {model: half-open}\n",
                 "t.yaml:2:22: ", "(valid: closed, open)");
    expect_error("test_scenarios:\n  memory:\n    memory_source: proc\n",
                 "t.yaml:3:20: ",
                 "unknown value 'proc' for test_scenarios.memory.memory_source "
                 "(valid: auto, pid, cgroup, docker, metrics)");

    /* Numbers. */
    expect_error("test_scenarios:\n  sustained: {arrival_rate: -1}\n",
                 "t.yaml:2:29: ",
                 "test_scenarios.sustained.arrival_rate must not be negative");
    expect_error("test_scenarios:\n  sustained: {initial_users: 1.5}\n",
                 "t.yaml:2:30: ",
                 "expected a whole number for test_scenarios.sustained."
                 "initial_users");
    expect_error("test_scenarios:\n  sustained: {max_degradation: 0.9}\n",
                 "t.yaml:2:32: ",
                 "test_scenarios.sustained.max_degradation must be a ratio of "
                 "at least 1, got 0.9");
    expect_error("test_scenarios:\n  sustained: {max_degradation: x}\n",
                 "t.yaml:2:32: ",
                 "expected a number for test_scenarios.sustained."
                 "max_degradation");
    expect_error("test_scenarios:\n  burst: {recovery_margin: 1.5}\n",
                 "t.yaml:2:28: ",
                 "test_scenarios.burst.recovery_margin must be a fraction in "
                 "[0, 1], got 1.5");
    expect_error("test_scenarios:\n  recovery: {margin: -0.1}\n",
                 "t.yaml:2:22: ",
                 "test_scenarios.recovery.margin must be a fraction in [0, 1]");
    expect_error("test_scenarios:\n  memory: {leak_threshold_mb_per_min: 0}\n",
                 "t.yaml:2:39: ",
                 "test_scenarios.memory.leak_threshold_mb_per_min must be "
                 "positive, got 0");
    expect_error("test_scenarios:\n  memory: {leak_threshold_mb_per_min: "
                 "-2}\n",
                 "t.yaml:2:39: ", "must be positive, got -2");
    expect_error("test_scenarios:\n  memory: {pid: -1}\n", "t.yaml:2:17: ",
                 "test_scenarios.memory.pid must not be negative");
    expect_error("test_scenarios:\n  memory: {cgroup_path: [a]}\n",
                 "t.yaml:2:25: ",
                 "expected a string for test_scenarios.memory.cgroup_path");
    expect_error("test_scenarios:\n  memory: {requests_per_user_per_second: "
                 "-1}\n",
                 "t.yaml:2:42: ", "must not be negative");
    expect_error("test_scenarios:\n  recovery: {think_time_ms: 0.5}\n",
                 "t.yaml:2:29: ", "expected a whole number");
    expect_error("test_scenarios:\n  pool: 3\n", "t.yaml:2:9: ",
                 "expected a mapping for test_scenarios.pool, got '3'");

    /* Every count that must be positive. */
    {
        static const char *const zero[][2] = {
            {"sustained", "spike_interval_seconds"},
            {"sustained", "spike_duration_seconds"},
            {"sustained", "wave_period_seconds"},
            {"sustained", "step_seconds"},
            {"sustained", "step_size"},
            {"burst", "burst_size"},
            {"burst", "burst_duration_ms"},
            {"burst", "burst_count"},
            {"burst", "interval_seconds"},
            {"burst", "baseline_users"},
            {"pool", "probe_users"},
            {"pool", "probe_seconds"},
            {"pool", "large_strings"},
            {"memory", "duration_minutes"},
            {"memory", "concurrent_users"},
            {"memory", "sample_interval_seconds"},
            {"recovery", "concurrent_users"},
            {"recovery", "baseline_seconds"},
            {"recovery", "invalid_requests"},
            {"recovery", "invalid_concurrency"},
            {"recovery", "max_recovery_seconds"},
            {"recovery", "window_seconds"},
        };
        for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
            char yaml[256];
            char prefix[32];
            char needle[128];
            (void)snprintf(yaml, sizeof(yaml),
                           "test_scenarios:\n  %s:\n    %s: 0\n", zero[i][0],
                           zero[i][1]);
            (void)snprintf(prefix, sizeof(prefix),
                           "t.yaml:3:%zu: ", strlen(zero[i][1]) + 7);
            (void)snprintf(needle, sizeof(needle),
                           "test_scenarios.%s.%s must be positive, got 0",
                           zero[i][0], zero[i][1]);
            expect_error(yaml, prefix, needle);
        }
    }
}

static void
test_err_stages(void **state)
{
    char yaml[8192];
    size_t off = 0;
    struct config c;

    (void)state;
    /* custom needs stages: at the pattern when there are none... */
    expect_error("test_scenarios:\n  sustained:\n    pattern: custom\n",
                 "t.yaml:3:14: ",
                 "test_scenarios.sustained.pattern is custom but "
                 "test_scenarios.sustained.stages is empty");
    /* ...at the stages when they are there but empty. */
    expect_error("test_scenarios:\n  sustained:\n    stages: []\n"
                 "    pattern: custom\n",
                 "t.yaml:3:13: ", "stages is empty");
    expect_error("test_scenarios:\n  sustained:\n    pattern: custom\n"
                 "    stages:\n",
                 "t.yaml:4:12: ", "stages is empty");

    expect_error("test_scenarios:\n  sustained:\n    stages: 5\n",
                 "t.yaml:3:13: ",
                 "expected a sequence for test_scenarios.sustained.stages");
    expect_error("test_scenarios:\n  sustained:\n    stages: [5]\n",
                 "t.yaml:3:14: ",
                 "expected a mapping for test_scenarios.sustained.stages[0], "
                 "got '5'");
    expect_error("test_scenarios:\n  sustained:\n    stages:\n"
                 "      - {duration_seconds: 1, target: 1}\n"
                 "      - {target: 3}\n",
                 "t.yaml:5:9: ",
                 "test_scenarios.sustained.stages[1] lacks 'duration_seconds'");
    expect_error("test_scenarios:\n  sustained:\n    stages:\n"
                 "      - duration_seconds: 1\n",
                 "t.yaml:4:9: ", "stages[0] lacks 'target'");
    expect_error("test_scenarios:\n  sustained:\n    stages:\n"
                 "      - {duration_seconds: 0, target: 1}\n",
                 "t.yaml:4:28: ",
                 "test_scenarios.sustained.stages[0].duration_seconds must be "
                 "positive");
    expect_error("test_scenarios:\n  sustained:\n    stages:\n"
                 "      - {duration_seconds: 1, target: -1}\n",
                 "t.yaml:4:39: ",
                 "test_scenarios.sustained.stages[0].target must not be "
                 "negative");
    expect_error(
        "test_scenarios:\n  sustained:\n    stages:\n"
        "      - {duration_seconds: 1, target: 1, target: 2}\n",
        "t.yaml:4:42: ",
        "duplicate key 'target' in test_scenarios.sustained.stages[0]");

    /* CONFIG_MAX_STAGES stages load, one more does not (points at it). */
    off = (size_t)snprintf(yaml, sizeof(yaml),
                           "test_scenarios:\n  sustained:\n"
                           "    pattern: custom\n    stages:\n");
    for (int i = 0; i < CONFIG_MAX_STAGES; i++) {
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
                                "      - {duration_seconds: %d, target: %d}\n",
                                i + 1, i * 2);
    }
    expect_ok(yaml, &c);
    assert_int_equal(c.sustained.n_stages, CONFIG_MAX_STAGES);
    assert_int_equal(c.sustained.stages[31].duration_seconds, 32);
    assert_int_equal(c.sustained.stages[31].target, 62);
    (void)snprintf(yaml + off, sizeof(yaml) - off,
                   "      - {duration_seconds: 1, target: 1}\n");
    expect_error(yaml, "t.yaml:37:9: ",
                 "too many stages in test_scenarios.sustained.stages (at most "
                 "32)");
}

static void
test_err_scenario_rules(void **state)
{
    (void)state;
    /* Pairs: the max key when both are set, else the one set. */
    expect_error("test_scenarios:\n  sustained:\n"
                 "    spike_duration_seconds: 61\n",
                 "t.yaml:3:5: ",
                 "test_scenarios.sustained.spike_duration_seconds (61) is "
                 "greater than test_scenarios.sustained.spike_interval_seconds "
                 "(60)");
    expect_error("test_scenarios:\n  recovery:\n    window_seconds: 31\n",
                 "t.yaml:3:5: ",
                 "test_scenarios.recovery.window_seconds (31) is greater than "
                 "test_scenarios.recovery.baseline_seconds (30)");
    expect_error("test_scenarios:\n  recovery:\n    window_seconds: 10\n"
                 "    max_recovery_seconds: 9\n",
                 "t.yaml:4:5: ",
                 "test_scenarios.recovery.window_seconds (10) is greater than "
                 "test_scenarios.recovery.max_recovery_seconds (9)");

    /* A burst must fit in its interval: at burst_duration_ms. */
    expect_error("test_scenarios:\n  burst:\n    interval_seconds: 2\n"
                 "    burst_duration_ms: 2001\n",
                 "t.yaml:4:5: ",
                 "test_scenarios.burst.burst_duration_ms (2001) is longer "
                 "than test_scenarios.burst.interval_seconds (2 s = 2000 ms)");
    expect_error("test_scenarios:\n  burst: {burst_duration_ms: 4294967295}\n",
                 "t.yaml:2:11: ", "burst_duration_ms (4294967295) is longer");

    /* A memory source needs its key: at the memory_source value. */
    expect_error("test_scenarios:\n  memory:\n    memory_source: pid\n",
                 "t.yaml:3:20: ",
                 "test_scenarios.memory.memory_source pid needs "
                 "test_scenarios.memory.pid");
    expect_error("test_scenarios:\n  memory:\n    pid: 0\n"
                 "    memory_source: pid\n",
                 "t.yaml:4:20: ", "memory_source pid needs");
    expect_error("test_scenarios:\n  memory:\n    memory_source: cgroup\n",
                 "t.yaml:3:20: ",
                 "test_scenarios.memory.memory_source cgroup needs "
                 "test_scenarios.memory.cgroup_path");
    expect_error("test_scenarios:\n  memory: {cgroup_path: '',\n"
                 "    memory_source: cgroup}\n",
                 "t.yaml:3:20: ", "cgroup needs");
    expect_error("environment: {docker_container_name: ''}\n"
                 "test_scenarios:\n  memory:\n    memory_source: docker\n",
                 "t.yaml:4:20: ",
                 "test_scenarios.memory.memory_source docker needs "
                 "environment.docker_container_name");
    /* Enough samples after the warmup: at the first timing key set. */
    expect_error("test_scenarios:\n  memory:\n    duration_minutes: 1\n"
                 "    warmup_seconds: 51\n",
                 "t.yaml:4:5: ",
                 "test_scenarios.memory: warmup_seconds (51) + 2 x "
                 "sample_interval_seconds (5) is more than the duration (1 "
                 "min = 60 s)");
    expect_error("test_scenarios:\n  memory:\n    duration_minutes: 1\n"
                 "    sample_interval_seconds: 16\n",
                 "t.yaml:4:5: ", "sample_interval_seconds (16)");
    expect_error("test_scenarios:\n  memory:\n    warmup_seconds: 4294967295\n"
                 "    sample_interval_seconds: 4294967295\n",
                 "t.yaml:3:5: ", "is more than the duration (10 min = 600 s)");
}

static void
test_err_profiles_for_all(void **state)
{
    struct config c;

    (void)state;
    expect_error("test_scenarios:\n  sustained:\n"
                 "    profiles_for_all: [light, quick]\n",
                 "t.yaml:3:31: ",
                 "test_scenarios.sustained.profiles_for_all[1]: unknown "
                 "profile 'quick' (known: light, moderate, heavy, extreme, "
                 "burst, endurance)");
    /* Checked after every profile is loaded: a later one counts... */
    expect_ok("test_scenarios:\n  sustained:\n"
              "    profiles_for_all: [quick]\n"
              "load_profiles:\n  quick: {concurrent_users: 1, "
              "duration_seconds: 1,\n    ramp_up_seconds: 0, "
              "requests_per_user_per_second: 1, think_time_ms: 0}\n",
              &c);
    assert_string_equal(c.sustained.profiles_for_all[0], "quick");
    /* ...and the message lists the file's profiles too. */
    expect_error("load_profiles:\n  quick: {concurrent_users: 1, "
                 "duration_seconds: 1,\n    ramp_up_seconds: 0, "
                 "requests_per_user_per_second: 1, think_time_ms: 0}\n"
                 "test_scenarios:\n  sustained:\n"
                 "    profiles_for_all:\n      - quick\n      - Light\n",
                 "t.yaml:8:9: ",
                 "unknown profile 'Light' (known: light, moderate, heavy, "
                 "extreme, burst, endurance, quick)");
    expect_error("test_scenarios:\n  sustained:\n"
                 "    profiles_for_all: [light, moderate, light]\n",
                 "t.yaml:3:41: ",
                 "test_scenarios.sustained.profiles_for_all[2]: profile "
                 "'light' is listed twice (first at 3:24");
    expect_error("test_scenarios:\n  sustained:\n"
                 "    profiles_for_all: light\n",
                 "t.yaml:3:23: ",
                 "expected a sequence for test_scenarios.sustained."
                 "profiles_for_all");
    expect_error("test_scenarios:\n  sustained:\n"
                 "    profiles_for_all: ['']\n",
                 "t.yaml:3:24: ",
                 "test_scenarios.sustained.profiles_for_all[0] must not be "
                 "empty");
}

/* --- errors -------------------------------------------------------------- */

static void
test_err_syntax(void **state)
{
    (void)state;
    expect_error("load_profiles:\n  light: [1, 2\n",
                 "t.yaml:3:1: ", "did not find expected ',' or ']'");
    expect_error("environment:\n\tkato_base_url: x\n",
                 "t.yaml:2:1: ", "found character that cannot start any token");
    expect_error("a: b: c\n", "t.yaml:1:5: ",
                 "mapping values are not allowed in this context");
    expect_error("environment: {}\n---\nenvironment: {}\n",
                 "t.yaml:2:1: ", "only one YAML document");
    expect_error("environment: &x {}\nreporting: *x\n",
                 "t.yaml:2:12: ", "aliases (*x) are not supported");
    expect_error("? [a]\n: 1\n",
                 "t.yaml:1:3: ", "mapping keys must be plain names");
    expect_error("environment:\n  kato_base_url: \"a\xff\"\n",
                 "t.yaml:2:20: ", "invalid");
}

static void
test_err_unknown_key(void **state)
{
    (void)state;
    expect_error("load_profiles:\n  light:\n    concurent_users: 5\n",
                 "t.yaml:3:5: ",
                 "unknown key 'concurent_users' in load_profiles.light "
                 "(valid: concurrent_users, duration_seconds, ");
    expect_error("load_profile:\n  light: {}\n", "t.yaml:1:1: ",
                 "unknown section 'load_profile' (valid: load_profiles, ");
    expect_error("monitoring:\n  container_monitoring:\n    enable: true\n",
                 "t.yaml:3:5: ",
                 "unknown key 'enable' in monitoring.container_monitoring");
    expect_error("operations_mix:\n  observe: 0.55\n  create_session: 0.05\n",
                 "t.yaml:3:3: ",
                 "unknown key 'create_session' in "
                 "operations_mix");
    expect_error("test_scenarios:\n  bursts:\n    users: 1\n", "t.yaml:2:3: ",
                 "unknown key 'bursts' in test_scenarios (valid: concurrent, "
                 "sustained, burst, pool, memory, recovery)");
    expect_error("test_scenarios:\n  burst:\n    users: 1\n", "t.yaml:3:5: ",
                 "unknown key 'users' in test_scenarios.burst (valid: "
                 "burst_size, burst_duration_ms, burst_count, "
                 "interval_seconds, baseline_users, recovery_margin)");
    expect_error("test_scenarios:\n  sustained: {patern: spike}\n",
                 "t.yaml:2:15: ",
                 "unknown key 'patern' in test_scenarios.sustained (valid: "
                 "pattern, model, arrival_rate, ");
    expect_error("test_scenarios:\n  pool: {probe_user: 1}\n", "t.yaml:2:10: ",
                 "unknown key 'probe_user' in test_scenarios.pool (valid: "
                 "probe_users, probe_seconds, large_strings)");
    expect_error("test_scenarios:\n  memory: {source: pid}\n", "t.yaml:2:12: ",
                 "unknown key 'source' in test_scenarios.memory (valid: "
                 "duration_minutes, ");
    expect_error("test_scenarios:\n  recovery: {margins: 0.1}\n",
                 "t.yaml:2:14: ",
                 "unknown key 'margins' in test_scenarios.recovery (valid: "
                 "concurrent_users, ");
    expect_error("test_scenarios:\n  sustained:\n    stages:\n"
                 "      - {duration_seconds: 5, target: 1, ramp: 2}\n",
                 "t.yaml:4:42: ",
                 "unknown key 'ramp' in test_scenarios.sustained.stages[0] "
                 "(valid: duration_seconds, target)");
    expect_error(
        "reporting:\n  baseline_comparison: {enabled: true, x: 1}\n",
        "t.yaml:2:40: ", "unknown key 'x' in reporting.baseline_comparison");
}

static void
test_err_type(void **state)
{
    (void)state;
    expect_error("load_profiles:\n  light:\n    think_time_ms: abc\n",
                 "t.yaml:3:20: ",
                 "expected a number for load_profiles.light.think_time_ms, "
                 "got 'abc'");
    expect_error("test_parameters:\n  connection_reuse: maybe\n",
                 "t.yaml:2:21: ",
                 "expected true or false for test_parameters.connection_reuse");
    expect_error("test_data: 5\n",
                 "t.yaml:1:12: ", "expected a mapping for test_data, got '5'");
    expect_error("load_profiles: [light]\n", "t.yaml:1:16: ",
                 "expected a mapping for load_profiles, got a sequence");
    expect_error("environment:\n  kato_base_url: [a]\n", "t.yaml:2:18: ",
                 "expected a string for environment.kato_base_url");
    expect_error("test_parameters:\n  max_retries: 1.5\n", "t.yaml:2:16: ",
                 "expected a whole number for test_parameters.max_retries");
    expect_error("test_parameters:\n  max_retries: 0x10\n", "t.yaml:2:16: ",
                 "expected a number for test_parameters.max_retries");
    expect_error("performance_thresholds:\n  max_memory_usage_mb: .inf\n",
                 "t.yaml:2:24: ",
                 "expected a number for "
                 "performance_thresholds.max_memory_usage_mb");
    expect_error("performance_thresholds:\n  max_memory_usage_mb: nan\n",
                 "t.yaml:2:24: ", "got 'nan'");
    expect_error("performance_thresholds:\n  min_throughput_rps: 1e999\n",
                 "t.yaml:2:23: ", "expected a number");
    expect_error("monitoring:\n  metrics_to_track: [a, {b: 1}]\n",
                 "t.yaml:2:25: ",
                 "expected a string for monitoring.metrics_to_track[1]");
    expect_error("monitoring:\n  metrics_to_track: cpu\n", "t.yaml:2:21: ",
                 "expected a sequence for monitoring.metrics_to_track");
    expect_error("reporting:\n  output_directory:\n", "t.yaml:2:20: ",
                 "expected a string for reporting.output_directory, got "
                 "nothing");
    expect_error("environment:\n  kato_base_url: ftp://x\n", "t.yaml:2:18: ",
                 "environment.kato_base_url must start with http://");
    expect_error("environment:\n  kato_processor_id: ''\n", "t.yaml:2:22: ",
                 "environment.kato_processor_id must not be empty");
    expect_error(
        "environment:\n  kato_processor_id: \"a\\0b\"\n",
        "t.yaml:2:22: ", "environment.kato_processor_id contains a NUL byte");
}

static void
test_err_numbers(void **state)
{
    (void)state;
    expect_error("load_profiles:\n  heavy:\n    ramp_up_seconds: -5\n",
                 "t.yaml:3:22: ",
                 "load_profiles.heavy.ramp_up_seconds must not be negative");
    expect_error("performance_thresholds:\n  min_throughput_rps: -1\n",
                 "t.yaml:2:23: ",
                 "performance_thresholds.min_throughput_rps must not be "
                 "negative");
    expect_error("load_profiles:\n  light:\n    concurrent_users: 0\n",
                 "t.yaml:3:23: ",
                 "load_profiles.light.concurrent_users must be positive");
    expect_error("test_scenarios:\n  concurrent:\n    duration_seconds: 0\n",
                 "t.yaml:3:23: ",
                 "test_scenarios.concurrent.duration_seconds must be "
                 "positive");
    expect_error("monitoring:\n  metrics_sample_interval_seconds: 0\n",
                 "t.yaml:2:36: ", "must be positive");
    expect_error("test_parameters:\n  retry_delay_ms: 4294967296\n",
                 "t.yaml:2:19: ",
                 "test_parameters.retry_delay_ms is out of range (at most "
                 "4294967295)");
    expect_error("test_parameters:\n  retry_delay_ms: "
                 "99999999999999999999999999\n",
                 "t.yaml:2:19: ", "out of range");
    expect_error("test_data:\n  vector_probability: 1.5\n", "t.yaml:2:23: ",
                 "test_data.vector_probability must be a probability in "
                 "[0, 1], got 1.5");
    expect_error("test_parameters:\n  circuit_breaker_failure_threshold: "
                 "-0.1\n",
                 "t.yaml:2:38: ", "must be a probability in [0, 1]");
    expect_error("operations_mix:\n  learn: 1.2\n", "t.yaml:2:10: ",
                 "operations_mix.learn must be a probability in [0, 1]");
    expect_error("monitoring:\n  response_time_percentiles: [50, 101]\n",
                 "t.yaml:2:35: ",
                 "monitoring.response_time_percentiles[1] must be in (0, "
                 "100]");
    expect_error("monitoring:\n  response_time_percentiles: [0]\n",
                 "t.yaml:2:31: ", "must be in (0, 100]");
}

static void
test_err_mix_sum(void **state)
{
    (void)state;
    expect_error("operations_mix:\n  observe: 0.5\n  learn: 0.6\n",
                 "t.yaml:1:1: ", "operations_mix sums to 1.1, not 1");
    expect_error("test_parameters:\n  max_retries: 1\n"
                 "operations_mix: {observe: 0.6, learn: 0.1, predictions: "
                 "0.2,\n  short_term_memory: 0.05, clear_memory: 0.04}\n",
                 "t.yaml:3:1: ", "operations_mix sums to 0.99");
}

static void
test_err_min_max(void **state)
{
    (void)state;
    /* Only min set: the message points at it. */
    expect_error("test_data:\n  min_strings_per_observation: 20\n",
                 "t.yaml:2:3: ",
                 "test_data.min_strings_per_observation (20) is greater than "
                 "test_data.max_strings_per_observation (10)");
    /* Both set: it points at max. */
    expect_error("test_data:\n  min_string_length: 10\n"
                 "  max_string_length: 5\n",
                 "t.yaml:3:3: ",
                 "test_data.min_string_length (10) is greater than "
                 "test_data.max_string_length (5)");
    expect_error("test_data:\n  max_vector_size: 5\n", "t.yaml:2:3: ",
                 "test_data.min_vector_size (10) is greater than "
                 "test_data.max_vector_size (5)");
    expect_error("test_data:\n  max_emotives: 2\n  min_emotives: 3\n",
                 "t.yaml:2:3: ",
                 "test_data.min_emotives (3) is greater than "
                 "test_data.max_emotives (2)");
    expect_error("test_data:\n  vector_dimension_range: [1.0, 0.5]\n",
                 "t.yaml:2:27: ",
                 "test_data.vector_dimension_range: min 1.0 is greater than "
                 "max 0.5");
    expect_error(
        "test_data:\n  emotive_value_range: [0.0]\n", "t.yaml:2:24: ",
        "expected a [min, max] pair for test_data.emotive_value_range, "
        "got 1 items");
    expect_error("test_data:\n  emotive_value_range: [0, 1, 2]\n",
                 "t.yaml:2:24: ", "got 3 items");
    expect_error("test_data:\n  emotive_value_range: 1\n",
                 "t.yaml:2:24: ", "expected a [min, max] pair");
    expect_error("test_data:\n  emotive_value_range: [a, 1]\n", "t.yaml:2:25: ",
                 "expected a number for test_data.emotive_value_range");
}

static void
test_err_duplicates(void **state)
{
    (void)state;
    expect_error("load_profiles:\n  light:\n    concurrent_users: 1\n"
                 "    concurrent_users: 2\n",
                 "t.yaml:4:5: ",
                 "duplicate key 'concurrent_users' in load_profiles.light "
                 "(first at 3:5)");
    expect_error("environment: {}\nenvironment: {}\n", "t.yaml:2:1: ",
                 "duplicate key 'environment' in the document (first at "
                 "1:1)");
    expect_error("load_profiles:\n  light: {}\n  light: {}\n", "t.yaml:3:3: ",
                 "duplicate key 'light' in load_profiles (first at 2:3)");
    expect_error("operations_mix:\n  short_term_memory: 0.05\n"
                 "  working_memory: 0.05\n",
                 "t.yaml:3:3: ",
                 "duplicate key 'working_memory' in operations_mix (first at "
                 "2:3 as 'short_term_memory'");
}

static void
test_err_profiles(void **state)
{
    static const char full[] =
        "{concurrent_users: 1, duration_seconds: 1, ramp_up_seconds: 0, "
        "requests_per_user_per_second: 0, think_time_ms: 0}\n";
    char yaml[4096];
    size_t off = 0;
    struct config c;

    (void)state;
    expect_error("load_profiles:\n  9lives: {}\n", "t.yaml:2:3: ",
                 "invalid profile name '9lives' in load_profiles");
    expect_error("load_profiles:\n  bad-name: {}\n",
                 "t.yaml:2:3: ", "invalid profile name 'bad-name'");
    expect_error("load_profiles:\n  "
                 "abcdefghijabcdefghijabcdefghij12: {}\n",
                 "t.yaml:2:3: ", "at most 31 characters");
    expect_error("load_profiles:\n  '': {}\n",
                 "t.yaml:2:3: ", "invalid profile name ''");
    expect_error("load_profiles:\n  mine:\n    concurrent_users: 5\n",
                 "t.yaml:2:3: ",
                 "new profile load_profiles.mine lacks 'duration_seconds'");
    expect_error("load_profiles:\n  mine:\n",
                 "t.yaml:2:3: ", "lacks 'concurrent_users'");

    /* 6 built in + 10 new = CONFIG_MAX_PROFILES: fine; one more is not. */
    off = (size_t)snprintf(yaml, sizeof(yaml), "load_profiles:\n");
    for (int i = 0; i < CONFIG_MAX_PROFILES - 6; i++) {
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "  p%d: %s", i,
                                full);
    }
    expect_ok(yaml, &c);
    assert_int_equal(c.n_profiles, CONFIG_MAX_PROFILES);
    assert_string_equal(c.profiles[CONFIG_MAX_PROFILES - 1].name, "p9");
    (void)snprintf(yaml + off, sizeof(yaml) - off, "  extra: %s", full);
    expect_error(yaml, "t.yaml:12:3: ", "too many load profiles: 'extra'");
}

static void
test_err_limits(void **state)
{
    char yaml[8192];
    size_t off = 0;
    struct config c;

    (void)state;
    /* CONFIG_MAX_LIST items load, one more does not (points at it). */
    off = (size_t)snprintf(yaml, sizeof(yaml),
                           "monitoring:\n  metrics_to_track:\n");
    for (int i = 0; i < CONFIG_MAX_LIST; i++) {
        off +=
            (size_t)snprintf(yaml + off, sizeof(yaml) - off, "    - m%d\n", i);
    }
    expect_ok(yaml, &c);
    assert_int_equal(c.monitoring.n_metrics_to_track, CONFIG_MAX_LIST);
    assert_string_equal(c.monitoring.metrics_to_track[15], "m15");
    (void)snprintf(yaml + off, sizeof(yaml) - off, "    - m16\n");
    expect_error(yaml, "t.yaml:19:7: ",
                 "too many items in monitoring.metrics_to_track (at most 16)");

    off = (size_t)snprintf(yaml, sizeof(yaml),
                           "monitoring:\n  response_time_percentiles: [1");
    for (int i = 2; i <= CONFIG_MAX_LIST + 1; i++) {
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, ",%d", i);
    }
    (void)snprintf(yaml + off, sizeof(yaml) - off, "]\n");
    expect_error(yaml, "t.yaml:2:70: ",
                 "too many items in monitoring.response_time_percentiles");

    /* Strings: CONFIG_STR_MAX - 1 bytes fit, CONFIG_STR_MAX do not. */
    off = (size_t)snprintf(yaml, sizeof(yaml),
                           "environment:\n  kato_processor_id: ");
    memset(yaml + off, 'x', CONFIG_STR_MAX - 1);
    (void)snprintf(yaml + off + CONFIG_STR_MAX - 1,
                   sizeof(yaml) - off - CONFIG_STR_MAX + 1, "\n");
    expect_ok(yaml, &c);
    assert_int_equal(strlen(c.env.kato_processor_id), CONFIG_STR_MAX - 1);
    memset(yaml + off, 'x', CONFIG_STR_MAX);
    (void)snprintf(yaml + off + CONFIG_STR_MAX,
                   sizeof(yaml) - off - CONFIG_STR_MAX, "\n");
    expect_error(yaml, "t.yaml:2:22: ",
                 "environment.kato_processor_id is too long (256 bytes, at "
                 "most 255)");
    /* List items are names: CONFIG_NAME_MAX - 1 bytes at most. */
    expect_error("monitoring:\n  container_monitoring:\n"
                 "    log_error_patterns: [abcdefghijabcdefghijabcdefghij12]\n",
                 "t.yaml:3:26: ",
                 "monitoring.container_monitoring.log_error_patterns[0] is "
                 "too long (32 bytes, at most 31)");
    expect_error("reporting:\n  formats: [json, pdf]\n", "t.yaml:2:19: ",
                 "unknown report format 'pdf' in reporting.formats");
    expect_error("reporting:\n  include_in_report: ['']\n", "t.yaml:2:23: ",
                 "reporting.include_in_report[0] must not be empty");
    expect_error("reporting:\n  baseline_comparison:\n"
                 "    fail_on_regression: maybe\n",
                 "t.yaml:3:25: ",
                 "expected true or false for "
                 "reporting.baseline_comparison.fail_on_regression");

    /* Nesting is bounded. */
    off = (size_t)snprintf(yaml, sizeof(yaml), "environment: ");
    for (int i = 0; i < 40; i++) {
        yaml[off++] = '[';
    }
    for (int i = 0; i < 40; i++) {
        yaml[off++] = ']';
    }
    yaml[off] = '\0';
    expect_error(yaml, "t.yaml:1:45: ", "nesting deeper than 32 levels");
}

static void
test_err_document(void **state)
{
    (void)state;
    expect_error("- a\n- b\n",
                 "t.yaml:1:1: ", "the document must be a mapping of sections");
    expect_error("hello\n", "t.yaml:1:1: ", "got 'hello'");
    expect_error("\n\n  'quoted'\n", "t.yaml:3:3: ", "must be a mapping");
}

/* Values quoted in a message may hold line breaks (a folded plain scalar,
 * a quoted "\n", a tab): the message stays one line, each control
 * character shown as '?'. Found by tests/fuzz/config_fuzz. */
static void
test_err_one_line(void **state)
{
    (void)state;
    expect_error(" SliP\n\nmin_string_length",
                 "t.yaml:1:2: ", "got 'SliP?min_string_length'");
    expect_error("test_data: {\"a\\nb\\tc\": 1}\n",
                 "t.yaml:1:13: ", "unknown key 'a?b?c'");
    expect_error("operations_mix: {\"x\\ry\": 1}\n", "t.yaml:1:18: ", "'x?y'");
}

/* The no-partial-apply rule with a real config: a good section before the
 * bad one must not leak into c. */
static void
test_unchanged_after_error(void **state)
{
    struct config c;
    struct config snap;
    char err[ERRLEN];
    int rv = 0;

    (void)state;
    config_defaults(&c);
    c.concurrent.concurrent_users = 123;
    memcpy(&snap, &c, sizeof(c));
    rv = load_str(&c,
                  "test_scenarios:\n  concurrent: {concurrent_users: 7}\n"
                  "load_profiles:\n  light: {concurrent_users: 1}\n"
                  "test_data: {max_emotives: x}\n",
                  err);
    assert_int_equal(rv, E_CONFIG);
    assert_memory_equal(&c, &snap, sizeof(c));
    assert_int_equal(c.concurrent.concurrent_users, 123);

    /* A small or absent error buffer is fine. */
    rv = config_load_string(&c, "t.yaml", "x: 1\n", 5, err, 4);
    assert_int_equal(rv, E_CONFIG);
    assert_string_equal(err, "t.y");
    rv = config_load_string(&c, "t.yaml", "x: 1\n", 5, NULL, 0);
    assert_int_equal(rv, E_CONFIG);
    assert_memory_equal(&c, &snap, sizeof(c));
}

/* --- files ---------------------------------------------------------------- */

static void
test_files(void **state)
{
    struct config c;
    struct config snap;
    char path[512];
    char want[600];
    char err[ERRLEN];
    char big[64];
    int rv = 0;

    (void)state;
    config_defaults(&c);
    memcpy(&snap, &c, sizeof(c));

    rv = config_load(&c, "/nonexistent-ks/config.yaml", err, sizeof(err));
    assert_int_equal(rv, E_IO);
    assert_string_equal(
        err, "/nonexistent-ks/config.yaml: No such file or directory");
    assert_memory_equal(&c, &snap, sizeof(c));

    repo_path(path, sizeof(path), "tests/data/config");
    rv = config_load(&c, path, err, sizeof(err));
    assert_int_equal(rv, E_IO);
    (void)snprintf(want, sizeof(want), "%s: Is a directory", path);
    assert_string_equal(err, want);

    memset(path, 'a', 300);
    path[300] = '\0';
    rv = config_load(&c, path, err, sizeof(err));
    assert_int_equal(rv, E_IO);
    assert_non_null(strstr(err, "File name too long"));
    assert_memory_equal(&c, &snap, sizeof(c));

    /* Errors in files carry the path as given. */
    repo_path(path, sizeof(path), "tests/data/config/unknown_key.yaml");
    rv = config_load(&c, path, err, sizeof(err));
    assert_int_equal(rv, E_CONFIG);
    (void)snprintf(want, sizeof(want),
                   "%s:9:5: unknown key 'concurent_users' in "
                   "load_profiles.moderate",
                   path);
    assert_memory_equal(err, want, strlen(want));

    repo_path(path, sizeof(path), "tests/data/config/syntax_error.yaml");
    rv = config_load(&c, path, err, sizeof(err));
    assert_int_equal(rv, E_CONFIG);
    (void)snprintf(want, sizeof(want), "%s:6:", path);
    assert_memory_equal(err, want, strlen(want));
    assert_memory_equal(&c, &snap, sizeof(c));

    /* Over the 1 MiB cap. */
    (void)snprintf(big, sizeof(big), "/tmp/ks_config_test_%ld.yaml",
                   (long)getpid());
    {
        FILE *f = fopen(big, "w");
        assert_non_null(f);
        for (int i = 0; i < 1100; i++) {
            char line[1024];
            memset(line, '#', sizeof(line) - 1);
            line[sizeof(line) - 2] = '\n';
            line[sizeof(line) - 1] = '\0';
            assert_true(fputs(line, f) >= 0);
        }
        assert_int_equal(fclose(f), 0);
    }
    rv = config_load(&c, big, err, sizeof(err));
    (void)remove(big);
    assert_int_equal(rv, E_CONFIG);
    assert_non_null(strstr(err, "larger than 1048576 bytes"));
    assert_memory_equal(&c, &snap, sizeof(c));
}

/* --- out of memory ------------------------------------------------------- */

static void
oom_sweep(bool from_file)
{
    struct config c;
    struct config snap;
    char path[512];
    char err[ERRLEN];
    char *text = NULL;
    size_t len = 0;
    int failures = 0;
    int rv = E_NOMEM;

    repo_path(path, sizeof(path), "stress_config.yaml");
    if (!from_file) {
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        text = xmalloc(1 << 16);
        assert_non_null(text);
        len = fread(text, 1, 1 << 16, f);
        assert_int_equal(fclose(f), 0);
        assert_true(len > 1000);
    }
    memset(&c, 0x3C, sizeof(c));
    memcpy(&snap, &c, sizeof(c));
    for (long n = 0; n < 100000 && rv != 0; n++) {
        alloc_fail_after(n);
        if (from_file) {
            rv = config_load(&c, path, err, sizeof(err));
        } else {
            rv = config_load_string(&c, "s.yaml", text, len, err, sizeof(err));
        }
        alloc_fail_after(-1);
        if (rv != 0) {
            failures++;
            assert_int_equal(rv, E_NOMEM);
            assert_non_null(strstr(err, "out of memory"));
            assert_memory_equal(&c, &snap, sizeof(c));
        }
    }
    assert_int_equal(rv, 0);
    assert_true(failures > 100); /* every node allocates */
    check_defaults(&c);
    xfree(text);
}

/* performance_thresholds: the keys the file set are recorded (p99 and the
 * error rate always are), per_operation by op name, abort_on_fail. */
static void
test_thresholds_keys(void **state)
{
    struct config c;
    char err[ERRLEN];

    (void)state;
    config_defaults(&c);
    assert_int_equal(c.thresholds.set, THR_P99 | THR_ERROR);
    assert_false(c.thresholds.abort_on_fail);
    assert_int_equal(c.thresholds.abort_delay_seconds, 10);
    for (int op = 0; op < OP_COUNT; op++) {
        assert_int_equal(c.thresholds.per_op[op].set, 0);
    }
    assert_int_equal(load_str(&c,
                              "performance_thresholds:\n"
                              "  response_time_p50_max: 7\n"
                              "  min_throughput_rps: 3\n"
                              "  max_cpu_usage_percent: 50\n"
                              "  abort_on_fail: true\n"
                              "  abort_delay_seconds: 1\n"
                              "  per_operation:\n"
                              "    observe: {response_time_p99_max: 50, "
                              "max_error_rate: 0.01}\n"
                              "    create_session: {min_throughput_rps: 2}\n",
                              err),
                     0);
    assert_int_equal(c.thresholds.set,
                     THR_P99 | THR_ERROR | THR_P50 | THR_MIN_RPS | THR_CPU);
    assert_true(c.thresholds.response_time_p50_max == 7);
    assert_true(c.thresholds.min_throughput_rps == 3);
    assert_true(c.thresholds.abort_on_fail);
    assert_int_equal(c.thresholds.abort_delay_seconds, 1);
    assert_int_equal(c.thresholds.per_op[OP_OBSERVE].set, THR_P99 | THR_ERROR);
    assert_true(c.thresholds.per_op[OP_OBSERVE].response_time_p99_max == 50);
    assert_true(c.thresholds.per_op[OP_OBSERVE].max_error_rate == 0.01);
    assert_int_equal(c.thresholds.per_op[OP_SESSION].set, THR_MIN_RPS);
    assert_true(c.thresholds.per_op[OP_SESSION].min_throughput_rps == 2);
    assert_int_equal(c.thresholds.per_op[OP_LEARN].set, 0);
}

static void
test_err_thresholds(void **state)
{
    (void)state;
    expect_error("performance_thresholds:\n"
                 "  per_operation:\n"
                 "    observ: {response_time_p99_max: 5}\n",
                 "t.yaml:3:5: ", "unknown operation 'observ'");
    expect_error("performance_thresholds:\n"
                 "  per_operation:\n"
                 "    observe: {max_memory_usage_mb: 5}\n",
                 "t.yaml:3:15: ", "max_memory_usage_mb");
    expect_error("performance_thresholds:\n"
                 "  per_operation:\n"
                 "    learn: {max_error_rate: 1.5}\n",
                 "t.yaml:3:29: ",
                 "performance_thresholds.per_operation.learn.max_error_rate "
                 "must be a probability");
    expect_error("performance_thresholds:\n"
                 "  per_operation:\n"
                 "    learn: {max_error_rate: 0.1}\n"
                 "    learn: {max_error_rate: 0.2}\n",
                 "t.yaml:4:5: ", "duplicate key 'learn'");
    expect_error("performance_thresholds:\n"
                 "  per_operation: [observe]\n",
                 "t.yaml:2:18: ", "per_operation");
    expect_error("performance_thresholds:\n"
                 "  abort_on_fail: maybe\n",
                 "t.yaml:2:18: ", "abort_on_fail");
    expect_error("performance_thresholds:\n"
                 "  abort_delay_seconds: -1\n",
                 "t.yaml:2:24: ", "abort_delay_seconds");
}

static void
test_oom_string(void **state)
{
    (void)state;
    oom_sweep(false);
}

static void
test_oom_file(void **state)
{
    (void)state;
    oom_sweep(true);
}

int
config_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_is_defaults),
        cmocka_unit_test(test_repo_stress_config),
        cmocka_unit_test(test_repo_quick_config),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_mix),
        cmocka_unit_test(test_quick),
        cmocka_unit_test(test_scenario_overrides),
        cmocka_unit_test(test_scenario_names),
        cmocka_unit_test(test_err_scenario_values),
        cmocka_unit_test(test_distributed),
        cmocka_unit_test(test_err_stages),
        cmocka_unit_test(test_err_scenario_rules),
        cmocka_unit_test(test_err_profiles_for_all),
        cmocka_unit_test(test_err_syntax),
        cmocka_unit_test(test_err_unknown_key),
        cmocka_unit_test(test_err_type),
        cmocka_unit_test(test_err_numbers),
        cmocka_unit_test(test_err_mix_sum),
        cmocka_unit_test(test_err_min_max),
        cmocka_unit_test(test_err_duplicates),
        cmocka_unit_test(test_err_profiles),
        cmocka_unit_test(test_err_limits),
        cmocka_unit_test(test_err_document),
        cmocka_unit_test(test_err_one_line),
        cmocka_unit_test(test_unchanged_after_error),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_thresholds_keys),
        cmocka_unit_test(test_err_thresholds),
        cmocka_unit_test(test_oom_string),
        cmocka_unit_test(test_oom_file),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
