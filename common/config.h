/* SPDX-License-Identifier: MIT */
/*
 * stress_config.yaml: loading (libyaml) and validation into struct config.
 *
 * The schema is the original suite's (../shared/reference/kato-original.md
 * section 1: load_profiles, test_parameters, operations_mix, test_data,
 * monitoring, performance_thresholds, reporting, environment) plus
 * kato-stress's own `test_scenarios` section, which holds the parameters the
 * original hard-coded in Python: one subsection per test (concurrent,
 * sustained, burst, pool, memory, recovery; docs/tests-design.md section 5
 * says what each test does with them).
 *
 * Every key missing from the file keeps the default of config_defaults()
 * (the original's defaults). Unknown keys, wrong types, negative or zero
 * counts where a positive one is needed, an operations mix that does not
 * sum to 1 (within 1e-6), ranges with lo > hi, fractions outside [0, 1],
 * an unknown pattern/model/memory source name, a custom pattern without
 * stages, a `pid` memory source without a pid (or `cgroup` without a path,
 * `docker` without environment.docker_container_name), a burst longer than
 * its interval, a memory run too short for two samples after its warmup,
 * a recovery window longer than the baseline or the recovery time, a
 * sustained.profiles_for_all name that is not a profile (or is listed
 * twice): all are errors reported as "FILE:LINE:COL: message" (1-based,
 * from libyaml's marks). Nothing is partially applied: on error *c is left
 * as it was.
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
#define CONFIG_MAX_STAGES   32 /* test_scenarios.sustained.stages */

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

/*
 * The keys of performance_thresholds, as bits of thresholds.set and
 * op_thresholds.set: a key is checked when its bit is set (the file set
 * it; response_time_p99_max and max_error_rate are set by default).
 */
enum threshold_key {
    THR_P50 = 1u << 0,     /* response_time_p50_max */
    THR_P95 = 1u << 1,     /* response_time_p95_max */
    THR_P99 = 1u << 2,     /* response_time_p99_max */
    THR_P99_9 = 1u << 3,   /* response_time_p99_9_max */
    THR_MIN_RPS = 1u << 4, /* min_throughput_rps */
    THR_ERROR = 1u << 5,   /* max_error_rate */
    THR_MEMORY = 1u << 6,  /* max_memory_usage_mb */
    THR_CPU = 1u << 7,     /* max_cpu_usage_percent */
    THR_POOL = 1u << 8,    /* max_connection_pool_usage */
};

/* performance_thresholds.per_operation.<op>: the keys that make sense for
 * one operation (latency percentiles, throughput, error rate). */
struct op_thresholds {
    uint32_t set; /* THR_* bits of the keys the file set; 0: none */
    double response_time_p50_max; /* ms */
    double response_time_p95_max;
    double response_time_p99_max;
    double response_time_p99_9_max;
    double min_throughput_rps;
    double max_error_rate; /* fraction */
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
    /* THR_* bits of the keys checked: the ones the file set, plus
     * THR_P99 | THR_ERROR which are always checked (built-in defaults). */
    uint32_t set;
    struct op_thresholds per_op[OP_COUNT]; /* indexed by enum op */
    bool abort_on_fail;           /* evaluate every second, stop on fail */
    uint32_t abort_delay_seconds; /* no abort before this, default 10 */
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
    /* Regressions beyond the threshold fail the run (exit 1, a JUnit
     * failure); default false: they are warnings (master/baseline.h). */
    bool baseline_fail_on_regression;
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

/*
 * How the load varies with time (docs/tests-design.md section 3): users
 * for the closed model, the arrival rate for the open one. The values are
 * explicit and append-only: they may travel on the wire.
 */
enum config_pattern {
    CONFIG_PATTERN_CONSTANT = 0,
    CONFIG_PATTERN_RAMP_UP = 1,
    CONFIG_PATTERN_RAMP_DOWN = 2,
    CONFIG_PATTERN_SPIKE = 3,
    CONFIG_PATTERN_WAVE = 4,
    CONFIG_PATTERN_RANDOM = 5,
    CONFIG_PATTERN_POISSON = 6,
    CONFIG_PATTERN_BURST = 7,
    CONFIG_PATTERN_STEP = 8,
    CONFIG_PATTERN_CUSTOM = 9,
    CONFIG_PATTERN_COUNT = 10
};

/* The load model (docs/tests-design.md section 4). */
enum config_model {
    CONFIG_MODEL_CLOSED = 0, /* virtual users, think time, per-user rate */
    CONFIG_MODEL_OPEN = 1,   /* arrivals at a rate, whatever the responses */
    CONFIG_MODEL_COUNT = 2
};

/* Where the memory test reads the target's memory (tests-design 5.5). */
enum config_memory_source {
    CONFIG_MEMORY_SOURCE_AUTO = 0,    /* docker if usable, else metrics */
    CONFIG_MEMORY_SOURCE_PID = 1,     /* /proc/PID/status VmRSS */
    CONFIG_MEMORY_SOURCE_CGROUP = 2,  /* memory.current of a cgroup v2 */
    CONFIG_MEMORY_SOURCE_DOCKER = 3,  /* Engine API container stats */
    CONFIG_MEMORY_SOURCE_METRICS = 4, /* the target's /metrics */
    CONFIG_MEMORY_SOURCE_COUNT = 5
};

/* One stage of the custom pattern: move linearly from the previous
 * target (the stream's initial value for the first stage) to target over
 * duration_seconds (k6's stages). */
struct config_stage {
    uint32_t duration_seconds; /* > 0 */
    uint32_t target;           /* users (closed) or requests/s (open) */
};

/* test_scenarios.sustained: the chosen load profile, shaped by a pattern. */
struct sustained_cfg {
    enum config_pattern pattern;     /* default ramp_up (the original's) */
    enum config_model model;         /* default closed */
    double arrival_rate;             /* open: requests/s; 0 = users x rate */
    uint32_t initial_users;          /* the pattern's low value; default 1 */
    uint32_t spike_interval_seconds; /* spike: period, default 60 */
    uint32_t spike_duration_seconds; /* spike: high part, default 10 */
    uint32_t wave_period_seconds;    /* wave: default 120 */
    uint32_t step_seconds;           /* step: default 30 */
    uint32_t step_size;              /* step: users per step, default 10 */
    size_t n_stages; /* 0..CONFIG_MAX_STAGES; > 0 when pattern is custom */
    struct config_stage stages[CONFIG_MAX_STAGES];
    double max_degradation; /* p99 last fifth / first full fifth, 1.5 */
    /* The profiles `--test all` runs, in order (default light, moderate);
     * each names a profile of this config, at most once. */
    size_t n_profiles_for_all;
    char profiles_for_all[CONFIG_MAX_LIST][CONFIG_NAME_MAX];
};

/* test_scenarios.burst: burst_count bursts of burst_size observes, each
 * released evenly within burst_duration_ms, interval_seconds apart, over a
 * light closed baseline of baseline_users. */
struct burst_cfg {
    uint32_t burst_size;        /* default 1000 */
    uint32_t burst_duration_ms; /* default 100; <= interval_seconds * 1000 */
    uint32_t burst_count;       /* default 5 */
    uint32_t interval_seconds;  /* default 10 */
    uint32_t baseline_users;    /* default 5 */
    double recovery_margin;     /* fraction of the pre-burst p99, 0.2 */
};

/* test_scenarios.pool: the blast's size is 2 x (test_parameters.
 * connection_pool_size + connection_pool_overflow); these are the probes
 * after it and the blast's body. */
struct pool_cfg {
    uint32_t probe_users;   /* default 2 */
    uint32_t probe_seconds; /* default 10 */
    uint32_t large_strings; /* strings per large observe, default 100 */
};

/* test_scenarios.memory: constant closed load while memory is sampled. */
struct memory_cfg {
    uint32_t duration_minutes;           /* default 10 */
    uint32_t concurrent_users;           /* default 10 */
    double requests_per_user_per_second; /* default 2 (0: unpaced) */
    uint32_t think_time_ms;              /* default 500 */
    uint32_t sample_interval_seconds;    /* default 5 */
    uint32_t warmup_seconds; /* samples before this are not fitted, 30 */
    enum config_memory_source memory_source; /* default auto */
    uint32_t pid;                            /* source pid: > 0 */
    char cgroup_path[CONFIG_STR_MAX];        /* source cgroup: not "" */
    double leak_threshold_mb_per_min;        /* default 1.0 */
    /* > 0: the run's length in seconds instead of duration_minutes (short
     * runs, tests); default 0 */
    uint32_t duration_seconds;
};

/* test_scenarios.recovery: a closed baseline, an invalid phase, then up to
 * max_recovery_seconds to get back within margin of the baseline. */
struct recovery_cfg {
    uint32_t concurrent_users;           /* default 10 */
    double requests_per_user_per_second; /* default 1 (0: unpaced) */
    uint32_t think_time_ms;              /* default 100 */
    uint32_t baseline_seconds;           /* default 30 */
    uint32_t invalid_requests;           /* default 100 */
    uint32_t invalid_concurrency;        /* in flight, default 50 */
    uint32_t max_recovery_seconds;       /* default 60 */
    uint32_t window_seconds;             /* rolling p99 window, default 5 */
    double margin; /* fraction of the baseline, default 0.2 */
};

/* What the master does when an agent is lost mid-test (docs/distributed.md,
 * "Lost agents"). */
enum config_agent_loss {
    CONFIG_LOSS_REBALANCE = 0, /* its slice moves to the survivors */
    CONFIG_LOSS_CONTINUE = 1,  /* its share is not run from then on */
    CONFIG_LOSS_ABORT = 2,     /* stop the test: failed, exit 3 */
    CONFIG_LOSS_COUNT = 3
};

/* distributed: (kato-stress's own section). */
struct distributed_cfg {
    enum config_agent_loss on_agent_loss; /* default rebalance */
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
    struct sustained_cfg sustained;
    struct burst_cfg burst;
    struct pool_cfg pool;
    struct memory_cfg memory;
    struct recovery_cfg recovery;
    struct distributed_cfg distributed;
};

/* Fills c with the original suite's defaults (all six profiles, the
 * default mix, thresholds, ...) and every test scenario's defaults (the
 * values in the struct comments above). Cannot fail. */
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
 * --quick: shortens every test without touching the file. Every value is
 * capped, never raised (a value already below its cap stays):
 *   - load profiles (the sustained test): duration 10 s, ramp-up 2 s,
 *     10 users;
 *   - concurrent: 10 users for 5 s;
 *   - burst: burst_count 2, interval_seconds 3, burst_size 200, and
 *     burst_duration_ms at most the new interval (3000) so the result
 *     still validates;
 *   - pool: probe_seconds 3;
 *   - memory: duration_minutes 1 (duration_seconds 60 when set),
 *     sample_interval_seconds 2, warmup_seconds 5;
 *   - recovery: baseline_seconds 5, max_recovery_seconds 15,
 *     window_seconds 2, invalid_requests 50.
 * Rates, think times, patterns, stages and thresholds are untouched.
 */
void config_apply_quick(struct config *c);

/* The config-file name of a pattern ("constant", "ramp_up", "ramp_down",
 * "spike", "wave", "random", "poisson", "burst", "step", "custom"); NULL
 * when p is out of range. */
const char *config_pattern_name(int p);

/* Looks a pattern name up (exact, case-sensitive); returns the
 * enum config_pattern value or -1. */
int config_pattern_from_name(const char *name);

/* "closed" or "open"; NULL when m is out of range. */
const char *config_model_name(int m);

/* Returns the enum config_model value of name, or -1. */
int config_model_from_name(const char *name);

/* "auto", "pid", "cgroup", "docker" or "metrics"; NULL when s is out of
 * range. */
const char *config_memory_source_name(int s);

/* Returns the enum config_memory_source value of name, or -1. */
int config_memory_source_from_name(const char *name);

/* "rebalance", "continue" or "abort"; NULL when p is out of range. */
const char *config_agent_loss_name(int p);

/* Returns the enum config_agent_loss value of name, or -1. */
int config_agent_loss_from_name(const char *name);

#endif
