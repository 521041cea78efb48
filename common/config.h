/* SPDX-License-Identifier: MIT */
/*
 * stress_config.yaml: loading (libyaml) and validation into struct config.
 *
 * The schema is the original suite's (../shared/reference/kato-original.md
 * section 1: load_profiles, test_parameters, operations_mix, test_data,
 * monitoring, performance_thresholds, reporting, environment) plus
 * kato-stress's own `test_scenarios` section, which holds the parameters the
 * original hard-coded in Python (the concurrent test's users, duration,
 * rate and think time; the other tests follow in later issues).
 *
 * Every key missing from the file keeps the default of config_defaults()
 * (the original's defaults). Unknown keys, wrong types, negative or zero
 * counts where a positive one is needed, an operations mix that does not
 * sum to 1 (within 1e-6), ranges with lo > hi: all are errors reported as
 * "FILE:LINE:COL: message" (1-based, from libyaml's marks). Nothing is
 * partially applied: on error *c is left as it was.
 *
 * Thread-safety: none needed; loaded once in main before threads start.
 */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"

#define CONFIG_MAX_PROFILES 16
#define CONFIG_NAME_MAX     32
#define CONFIG_STR_MAX      256
#define CONFIG_MAX_LIST     16

struct load_profile {
    char name[CONFIG_NAME_MAX];
    uint32_t concurrent_users;
    uint32_t duration_seconds;
    uint32_t ramp_up_seconds;
    double requests_per_user_per_second; /* 0: unpaced (think time only) */
    uint32_t think_time_ms;
};

struct test_parameters {
    uint32_t connection_timeout_seconds;
    uint32_t request_timeout_seconds;
    uint32_t max_retries;
    uint32_t retry_delay_ms;
    bool circuit_breaker_enabled;
    double circuit_breaker_failure_threshold;
    uint32_t circuit_breaker_timeout_seconds;
    uint32_t circuit_breaker_half_open_requests;
    uint32_t connection_pool_size;
    uint32_t connection_pool_overflow;
    bool connection_reuse;
    uint32_t max_requests_per_second;
    uint32_t rate_limit_burst_size;
};

/* Payload generation (the original's test_data), shared with the wire's
 * assignment message so every agent generates the same kind of payload. */
struct payload_cfg {
    uint32_t min_strings_per_observation;
    uint32_t max_strings_per_observation;
    uint32_t min_string_length;
    uint32_t max_string_length;
    uint32_t string_vocabulary_size;
    double vector_probability;
    uint32_t min_vector_size; /* the node's one vector dimension is drawn */
    uint32_t max_vector_size; /* once per run from [min, max] */
    double vector_value_min;  /* vector_dimension_range[0] */
    double vector_value_max;  /* vector_dimension_range[1] */
    double emotive_probability;
    uint32_t min_emotives;
    uint32_t max_emotives;
    double emotive_value_min; /* emotive_value_range[0] */
    double emotive_value_max; /* emotive_value_range[1] */
};

struct monitoring {
    uint32_t metrics_sample_interval_seconds;
    uint32_t report_interval_seconds;
    size_t n_metrics_to_track;
    char metrics_to_track[CONFIG_MAX_LIST][CONFIG_NAME_MAX];
    size_t n_percentiles;
    double response_time_percentiles[CONFIG_MAX_LIST];
    bool container_monitoring_enabled;
    uint32_t container_sample_interval_seconds;
    bool container_track_logs;
    size_t n_log_error_patterns;
    char log_error_patterns[CONFIG_MAX_LIST][CONFIG_NAME_MAX];
};

struct thresholds {
    double response_time_p50_max; /* ms */
    double response_time_p95_max;
    double response_time_p99_max;
    double response_time_p99_9_max;
    double min_throughput_rps;
    double max_error_rate; /* fraction */
    double max_memory_usage_mb;
    double max_cpu_usage_percent;
    double max_connection_pool_usage; /* fraction */
};

struct reporting {
    size_t n_formats;
    char formats[CONFIG_MAX_LIST][CONFIG_NAME_MAX];
    char output_directory[CONFIG_STR_MAX];
    size_t n_include_in_report;
    char include_in_report[CONFIG_MAX_LIST][CONFIG_NAME_MAX];
    bool baseline_enabled;
    char baseline_file[CONFIG_STR_MAX];
    double baseline_deviation_threshold;
};

struct environment {
    char kato_base_url[CONFIG_STR_MAX];
    char kato_processor_id[CONFIG_STR_MAX]; /* used as the node_id */
    char docker_container_name[CONFIG_STR_MAX];
    char docker_network[CONFIG_STR_MAX];
    bool parallel_execution;
    bool cleanup_between_tests;
    uint32_t warmup_duration_seconds;
    uint32_t cooldown_duration_seconds;
};

/* test_scenarios.concurrent: N users at once for the duration. */
struct concurrent_cfg {
    uint32_t concurrent_users;           /* default 50 */
    uint32_t duration_seconds;           /* default 60 */
    double requests_per_user_per_second; /* default 1.0 */
    uint32_t think_time_ms;              /* default 100 */
};

struct config {
    char path[CONFIG_STR_MAX]; /* the file loaded, "" for defaults */
    size_t n_profiles;
    struct load_profile profiles[CONFIG_MAX_PROFILES];
    struct test_parameters params;
    double mix[OP_COUNT]; /* mix[OP_SESSION] is always 0 */
    struct payload_cfg data;
    struct monitoring monitoring;
    struct thresholds thresholds;
    struct reporting reporting;
    struct environment env;
    struct concurrent_cfg concurrent;
};

/* Fills c with the original suite's defaults (all six profiles, the
 * default mix, thresholds, ...) and the concurrent test's defaults.
 * Cannot fail. */
void config_defaults(struct config *c);

/*
 * Loads path over the defaults. Returns 0; E_IO when the file cannot be
 * read; E_CONFIG for a syntax or schema error. On failure err holds one
 * line, "PATH:LINE:COL: what is wrong" (or "PATH: reason" for I/O), and c
 * is unchanged.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Same as config_load, from a memory buffer; name is used in messages. */
int config_load_string(struct config *c, const char *name, const char *yaml,
                       size_t len, char *err, size_t errlen);

/* Returns the profile called name, or NULL. */
const struct load_profile *config_profile(const struct config *c,
                                          const char *name);

/*
 * --quick: shortens every test without touching the file: each duration
 * to at most 10 s, ramp-ups to at most 2 s, user counts to at most 10, and
 * the concurrent test to 10 users for 5 s.
 */
void config_apply_quick(struct config *c);

#endif
