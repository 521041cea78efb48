/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the config loader (config_load_string over the
 * defaults). Whatever the bytes, the loader must not crash, leak or read
 * past the buffer (libFuzzer's copy is exactly size bytes, no NUL), and:
 *   - on success the config keeps the rules config.h promises: the mix
 *     sums to 1, min <= max pairs, positive counts, bounded lists, enums in
 *     range, NUL-terminated strings, the cross-section rules;
 *   - on failure the message is one line that starts with "fuzz.yaml:",
 *     and the config is byte for byte what it was.
 * Not a unit test: built by `make fuzz`.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/config.h"
#include "../../common/err.h"
#include "../../common/ops.h"

#include "../../common/poison.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "fuzz.yaml"

/* An invariant broke: say which, then abort so libFuzzer keeps the input. */
static void
need(bool ok, const char *what)
{
    if (!ok) {
        (void)fprintf(stderr, "config_fuzz: invariant broken: %s\n", what);
        abort();
    }
}

static bool
terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool
prob(double p)
{
    return p >= 0.0 && p <= 1.0;
}

static void
check_mix(const struct config *c)
{
    double sum = 0;

    need(c->mix[OP_SESSION] == 0.0, "mix[create_session] is 0");
    for (int op = 0; op < OP_COUNT; op++) {
        need(prob(c->mix[op]), "every mix entry is in [0, 1]");
        sum += c->mix[op];
    }
    need(fabs(sum - 1.0) <= 1e-6, "the mix sums to 1 within 1e-6");
}

static void
check_profiles(const struct config *c)
{
    need(c->n_profiles >= 1 && c->n_profiles <= CONFIG_MAX_PROFILES,
         "1..CONFIG_MAX_PROFILES profiles");
    for (size_t i = 0; i < c->n_profiles; i++) {
        const struct load_profile *p = &c->profiles[i];
        need(terminated(p->name, sizeof(p->name)) && p->name[0] != '\0',
             "a profile has a terminated, non-empty name");
        need(p->concurrent_users > 0 && p->duration_seconds > 0,
             "a profile has users and a duration");
        need(isfinite(p->requests_per_user_per_second) &&
                 p->requests_per_user_per_second >= 0,
             "a profile's rate is finite and >= 0");
        need(config_profile(c, p->name) == p, "profile names are unique");
    }
}

static void
check_data(const struct payload_cfg *d)
{
    need(d->min_strings_per_observation <= d->max_strings_per_observation,
         "min_strings <= max_strings");
    need(d->max_strings_per_observation > 0, "max_strings > 0");
    need(d->min_string_length > 0 &&
             d->min_string_length <= d->max_string_length,
         "0 < min_string_length <= max_string_length");
    need(d->string_vocabulary_size > 0, "vocabulary > 0");
    need(d->min_vector_size > 0 && d->min_vector_size <= d->max_vector_size,
         "0 < min_vector_size <= max_vector_size");
    need(d->min_emotives <= d->max_emotives, "min_emotives <= max_emotives");
    need(isfinite(d->vector_value_min) && isfinite(d->vector_value_max) &&
             d->vector_value_min <= d->vector_value_max,
         "vector_dimension_range is finite, lo <= hi");
    need(isfinite(d->emotive_value_min) && isfinite(d->emotive_value_max) &&
             d->emotive_value_min <= d->emotive_value_max,
         "emotive_value_range is finite, lo <= hi");
    need(prob(d->vector_probability) && prob(d->emotive_probability),
         "payload probabilities are in [0, 1]");
}

static void
check_lists(const struct config *c)
{
    const struct monitoring *m = &c->monitoring;
    const struct reporting *r = &c->reporting;

    need(m->n_metrics_to_track <= CONFIG_MAX_LIST &&
             m->n_percentiles <= CONFIG_MAX_LIST &&
             m->n_log_error_patterns <= CONFIG_MAX_LIST &&
             r->n_formats <= CONFIG_MAX_LIST &&
             r->n_include_in_report <= CONFIG_MAX_LIST &&
             c->sustained.n_profiles_for_all <= CONFIG_MAX_LIST,
         "lists hold at most CONFIG_MAX_LIST items");
    for (size_t i = 0; i < m->n_percentiles; i++) {
        double p = m->response_time_percentiles[i];
        need(p > 0 && p <= 100, "percentiles are in (0, 100]");
    }
    for (size_t i = 0; i < m->n_metrics_to_track; i++) {
        need(terminated(m->metrics_to_track[i], CONFIG_NAME_MAX),
             "metric names are terminated");
    }
    for (size_t i = 0; i < m->n_log_error_patterns; i++) {
        need(terminated(m->log_error_patterns[i], CONFIG_NAME_MAX),
             "log patterns are terminated");
    }
    for (size_t i = 0; i < r->n_formats; i++) {
        need(terminated(r->formats[i], CONFIG_NAME_MAX),
             "formats are terminated");
    }
    for (size_t i = 0; i < r->n_include_in_report; i++) {
        need(terminated(r->include_in_report[i], CONFIG_NAME_MAX),
             "include_in_report items are terminated");
    }
    for (size_t i = 0; i < c->sustained.n_profiles_for_all; i++) {
        const char *n = c->sustained.profiles_for_all[i];
        need(terminated(n, CONFIG_NAME_MAX), "profiles_for_all terminated");
        need(config_profile(c, n) != NULL, "profiles_for_all names profiles");
        for (size_t j = 0; j < i; j++) {
            need(strcmp(c->sustained.profiles_for_all[j], n) != 0,
                 "profiles_for_all has no duplicate");
        }
    }
    need(terminated(r->output_directory, CONFIG_STR_MAX) &&
             r->output_directory[0] != '\0',
         "output_directory is set");
    need(terminated(r->baseline_file, CONFIG_STR_MAX),
         "baseline_file is terminated");
    need(terminated(c->env.kato_base_url, CONFIG_STR_MAX) &&
             (strncmp(c->env.kato_base_url, "http://", 7) == 0 ||
              strncmp(c->env.kato_base_url, "https://", 8) == 0),
         "kato_base_url is an http(s) URL");
    need(terminated(c->env.kato_processor_id, CONFIG_STR_MAX) &&
             c->env.kato_processor_id[0] != '\0',
         "kato_processor_id is set");
    need(terminated(c->env.docker_container_name, CONFIG_STR_MAX) &&
             terminated(c->env.docker_network, CONFIG_STR_MAX) &&
             terminated(c->memory.cgroup_path, CONFIG_STR_MAX),
         "environment strings are terminated");
}

static void
check_scenarios(const struct config *c)
{
    const struct test_parameters *p = &c->params;
    const struct sustained_cfg *s = &c->sustained;
    const struct burst_cfg *b = &c->burst;
    const struct memory_cfg *m = &c->memory;
    const struct recovery_cfg *r = &c->recovery;

    need(p->connection_timeout_seconds > 0 && p->request_timeout_seconds > 0 &&
             p->connection_pool_size > 0 && p->max_requests_per_second > 0,
         "test_parameters counts > 0");
    need(prob(p->circuit_breaker_failure_threshold),
         "circuit breaker threshold in [0, 1]");
    need(c->monitoring.metrics_sample_interval_seconds > 0 &&
             c->monitoring.report_interval_seconds > 0 &&
             c->monitoring.container_sample_interval_seconds > 0,
         "monitoring intervals > 0");
    need(prob(c->thresholds.max_error_rate) &&
             prob(c->thresholds.max_connection_pool_usage),
         "threshold fractions in [0, 1]");
    need(c->concurrent.concurrent_users > 0 &&
             c->concurrent.duration_seconds > 0,
         "concurrent users and duration > 0");
    need((unsigned)s->pattern < CONFIG_PATTERN_COUNT &&
             (unsigned)s->model < CONFIG_MODEL_COUNT,
         "sustained enums in range");
    need(s->spike_interval_seconds > 0 && s->spike_duration_seconds > 0 &&
             s->spike_duration_seconds <= s->spike_interval_seconds,
         "0 < spike_duration <= spike_interval");
    need(s->wave_period_seconds > 0 && s->step_seconds > 0 && s->step_size > 0,
         "wave and step counts > 0");
    need(s->n_stages <= CONFIG_MAX_STAGES, "at most CONFIG_MAX_STAGES stages");
    need(s->pattern != CONFIG_PATTERN_CUSTOM || s->n_stages > 0,
         "a custom pattern has stages");
    for (size_t i = 0; i < s->n_stages; i++) {
        need(s->stages[i].duration_seconds > 0, "stage durations > 0");
    }
    need(s->max_degradation >= 1.0 && isfinite(s->max_degradation),
         "max_degradation >= 1");
    need(b->burst_size > 0 && b->burst_duration_ms > 0 && b->burst_count > 0 &&
             b->interval_seconds > 0 && b->baseline_users > 0,
         "burst counts > 0");
    need(b->burst_duration_ms <= (uint64_t)b->interval_seconds * 1000,
         "a burst ends before the next");
    need(prob(b->recovery_margin), "burst recovery_margin in [0, 1]");
    need(c->pool.probe_users > 0 && c->pool.probe_seconds > 0 &&
             c->pool.large_strings > 0,
         "pool counts > 0");
    need(m->duration_minutes > 0 && m->concurrent_users > 0 &&
             m->sample_interval_seconds > 0,
         "memory counts > 0");
    need((unsigned)m->memory_source < CONFIG_MEMORY_SOURCE_COUNT,
         "memory source in range");
    need((uint64_t)m->warmup_seconds +
                 2 * (uint64_t)m->sample_interval_seconds <=
             (uint64_t)m->duration_minutes * 60,
         "two memory samples after the warmup");
    need(m->memory_source != CONFIG_MEMORY_SOURCE_PID || m->pid > 0,
         "a pid source has a pid");
    need(m->memory_source != CONFIG_MEMORY_SOURCE_CGROUP ||
             m->cgroup_path[0] != '\0',
         "a cgroup source has a path");
    need(m->memory_source != CONFIG_MEMORY_SOURCE_DOCKER ||
             c->env.docker_container_name[0] != '\0',
         "a docker source has a container");
    need(m->leak_threshold_mb_per_min > 0 &&
             isfinite(m->leak_threshold_mb_per_min),
         "leak threshold > 0");
    need(r->concurrent_users > 0 && r->baseline_seconds > 0 &&
             r->invalid_requests > 0 && r->invalid_concurrency > 0 &&
             r->max_recovery_seconds > 0 && r->window_seconds > 0,
         "recovery counts > 0");
    need(r->window_seconds <= r->baseline_seconds &&
             r->window_seconds <= r->max_recovery_seconds,
         "the recovery window fits the baseline and the recovery time");
    need(prob(r->margin), "recovery margin in [0, 1]");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config c;
    static struct config before;
    char err[512];
    int rv;

    config_defaults(&c);
    memcpy(&before, &c, sizeof(c));
    memset(err, 'x', sizeof(err));
    rv = config_load_string(&c, NAME, (const char *)data, size, err,
                            sizeof(err));
    need(terminated(err, sizeof(err)), "err is NUL-terminated");
    if (rv != 0) {
        need(rv == E_CONFIG || rv == E_NOMEM, "failure is E_CONFIG/E_NOMEM");
        need(strncmp(err, NAME ":", strlen(NAME ":")) == 0,
             "the error starts with \"fuzz.yaml:\"");
        need(strchr(err, '\n') == NULL, "the error is one line");
        need(memcmp(&c, &before, sizeof(c)) == 0,
             "a failed load leaves the config unchanged");
        return 0;
    }
    need(strcmp(c.path, NAME) == 0, "path is the name given");
    check_mix(&c);
    check_profiles(&c);
    check_data(&c.data);
    check_lists(&c);
    check_scenarios(&c);
    return 0;
}
