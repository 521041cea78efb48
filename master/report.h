/* SPDX-License-Identifier: MIT */
/*
 * Results for people and for CI: the threshold verdict, the console
 * summary in the seed's format, and the results JSON
 * (<output_directory>/stress_test_results_YYYYmmdd_HHMMSS.json plus a copy
 * latest.json, each written to a temp file and renamed). Reads the
 * aggregate; never changes it.
 */
#ifndef MASTER_REPORT_H
#define MASTER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "aggregate.h"
#include "baseline.h"
#include "burstpool.h"
#include "degrade.h"
#include "memleak.h"
#include "recovery.h"
#include "saturation.h"

/* Every threshold key, global and per operation, plus "requests",
 * "degradation" and "aborted" fit. */
#define REPORT_MAX_VIOLATIONS 64
#define REPORT_MAX_CHECKS     64
#define REPORT_JSON_MAX       (64u * 1024u * 1024u) /* bytes */

/* What the run flow knows that the aggregate does not. Borrowed strings. */
struct report_run {
    const char *test_name;    /* "concurrent_requests" */
    const char *status;       /* "completed" | "failed" | "interrupted" |
                               * "aborted" (abort_on_fail) */
    const char *target;       /* base URL */
    const char *config_file;  /* "" for the built-in defaults */
    uint64_t started_wall_ns; /* CLOCK_REALTIME at the load's start */
    double duration_s;        /* the load's duration, for throughput */
    uint32_t users;
    uint64_t seed;
    uint32_t vector_dim;
};

struct report_violation {
    /* "response_time_p99", "error_rate", "requests", "throughput", ...;
     * per operation "<op>.response_time_p99" */
    char metric[48];
    double value;
    double threshold;
    char message[192]; /* the summary's line, without the indent */
};

/* What became of one threshold key. */
enum report_state {
    REPORT_PASSED = 0,
    REPORT_FAILED = 1,
    REPORT_NOT_CHECKED = 2, /* set, but there was nothing to check it on */
};

/* One threshold key the config set, global (op -1) or per operation. */
struct report_threshold {
    const char *key;   /* static: the config key, "response_time_p99_max" */
    const char *label; /* static: short words, "p99", "error rate" */
    int op;            /* -1: all operations; else enum op */
    const char *unit;  /* static: "ms", "req/s", "%", "MB", "" */
    bool at_least;     /* a minimum (min_throughput_rps), else a maximum */
    double limit;      /* in unit (an error rate as a fraction) */
    double value;      /* measured; 0 when not checked */
    int state;         /* enum report_state */
    const char *why;   /* static: why not checked, "no duration" */
};

/* The thresholds checked and what broke them. */
struct report_verdict {
    double p99_max_ms;     /* performance_thresholds.response_time_p99_max */
    double max_error_rate; /* performance_thresholds.max_error_rate */
    double p99_ms;         /* measured, corrected latency */
    double error_rate;     /* measured, errors / requests */
    size_t n_violations;
    struct report_violation v[REPORT_MAX_VIOLATIONS];
    bool degradation_checked; /* sustained: deg says what was found */
    struct degrade deg;
    size_t n_checks; /* every key set, in config order, then per op */
    struct report_threshold checks[REPORT_MAX_CHECKS];
    bool aborted;           /* abort_on_fail stopped the test early */
    double abort_at_s;      /* seconds into the load */
    char abort_reason[192]; /* the violation that stopped it */
    bool recovery_checked;  /* recovery: rec says what was found */
    struct recovery rec;
    const struct memleak *mem; /* memory test: borrowed; NULL otherwise */
    /* The resources (docs/resources.md): borrowed, NULL when not
     * summarized (report_check_resources). */
    const struct saturation *sat;
    /* A test's own figures (burst, pool: master/burstpool.h), borrowed,
     * NULL when none: extra_json is `"key": value` pairs written inside
     * "results" after the common keys, extra_summary lines printed after
     * the test's summary block. */
    const char *extra_json;
    const char *extra_summary;
    const char *test_verdict; /* "pass", "graceful", ...; NULL: none */
    /* The burst and pool tests' figures (burstpool.h), for the HTML
     * report; borrowed, NULL for other tests. */
    const struct burstpool_burst_result *burst;
    const struct burstpool_pool_result *pool;
    /* The baseline comparison (reporting.baseline_comparison), borrowed;
     * NULL when it is not enabled. */
    const struct baseline_result *baseline;
};

/*
 * One entry of a suite (--test all) as the writers see it: agg is NULL for
 * a test that did not run, whose run.status then says why
 * ("not_implemented", "not_run"); such an entry carries no numbers.
 * Borrowed.
 */
struct report_test {
    const struct agg *agg;
    struct report_run run;
    struct report_verdict verdict;
};

/*
 * report_evaluate at the end of a test whose duration is not known, with
 * response_time_p99_max and max_error_rate checked whatever t->set says
 * (as before per-key selection existed): min_throughput_rps, when set, is
 * not checked ("no duration"). Fills *out (fully overwritten). Pure.
 * The recovery test's invalid requests (OP_INVALID) are meant to fail:
 * they are left out of every all-operations check.
 */
void report_check(const struct agg *a, const struct thresholds *t,
                  const char *test_name, struct report_verdict *out);

/*
 * Evaluates every threshold key t sets (t->set, t->per_op[].set) on a,
 * the merged data of a test whose load ran duration_s seconds: the
 * response time percentiles (ms, checked when the limit is > 0),
 * min_throughput_rps (requests / duration_s, checked when > 0), the error
 * rate, for all operations and per operation, and "no request completed".
 * The resource keys (memory, CPU, connection pool) are listed as not
 * checked, "resources are checked at the end": report_check_resources
 * judges them on the test's summary. during_run
 * is for abort_on_fail's checks while the load runs: then a test without
 * a request yet, and the minimum throughput (known at the end only), are
 * not violations. Fills *out (fully overwritten). Pure.
 */
void report_evaluate(const struct agg *a, const struct thresholds *t,
                     double duration_s, bool during_run, const char *test_name,
                     struct report_verdict *out);

/*
 * Records that abort_on_fail stopped the test at_s seconds into its load
 * because of reason (copied): out->aborted, and a violation "aborted" when
 * the final evaluation found none (the data that tripped the abort may
 * have recovered by the last batch).
 */
void report_set_aborted(struct report_verdict *out, double at_s,
                        const char *reason, const char *test_name);

/*
 * Adds the sustained test's degradation verdict d (copied) to out: a
 * violation "degradation" when d->violated. A d that was not measured is
 * recorded as "not enough data", never as a number or a violation.
 */
void report_check_degradation(struct report_verdict *out,
                              const struct degrade *d, const char *test_name);

/*
 * Adds the recovery test's verdict r (copied) to out: a violation
 * "recovery" when it was measured and did not recover within the test's
 * max_recovery_seconds. "not enough data" is recorded, not a violation.
 */
void report_check_recovery(struct report_verdict *out, const struct recovery *r,
                           const char *test_name);

/*
 * Adds the memory test's verdict m (borrowed: it must outlive out's use)
 * to out: a violation "memory_leak" when m says leak.
 */
void report_check_memory(struct report_verdict *out, const struct memleak *m,
                         const char *test_name);

/*
 * Hangs the test's resource summary s (borrowed: it must outlive out's
 * use) on out and judges the resource keys report_evaluate listed:
 * max_memory_usage_mb against the target's highest memory sample,
 * max_cpu_usage_percent against the target's highest CPU (% of one
 * core), max_connection_pool_usage against s->pool_usage; a key without
 * data stays not checked with the precise reason. Saturation alone is
 * never a violation.
 */
void report_check_resources(struct report_verdict *out,
                            const struct saturation *s, const char *test_name);

/*
 * Hangs the baseline comparison b (borrowed: it must outlive out's use)
 * on out; with fail_on_regression, a test with regressions gets a
 * violation "baseline" (exit 1), else they are warnings only.
 */
void report_check_baseline(struct report_verdict *out,
                           const struct baseline_result *b,
                           bool fail_on_regression, const char *test_name);

/* Adds a test-specific violation (metric, value, limit, the summary's
 * line) to out; at most REPORT_MAX_VIOLATIONS are kept. */
void report_add_violation(struct report_verdict *out, const char *metric,
                          double value, double threshold, const char *message);

/* Formats n with thousands separators ("5,000") into out; returns out. */
const char *report_thousands(uint64_t n, char *out, size_t outlen);

/*
 * Appends the results JSON document (one object keyed by r->test_name)
 * to out. Every string is escaped, every number finite. Returns 0,
 * E_TOOBIG or E_NOMEM (out->len is then unspecified; reset it).
 */
int report_json(struct buf *out, const struct agg *a,
                const struct report_run *r, const struct report_verdict *v);

/*
 * Appends the results JSON of a suite: one object with an entry per test,
 * in order, each as report_json writes it; an entry without an aggregate
 * is {"status": <run.status>} only. Returns as report_json.
 */
int report_json_suite(struct buf *out, const struct report_test *t, size_t n);

/*
 * Creates dir (and its parents) when missing and checks that a file can be
 * created in it, so that a run whose results could not be saved is refused
 * before it starts. Returns 0, E_IO or E_RANGE, with err (errlen bytes)
 * naming the path and the reason.
 */
int report_prepare_dir(const char *dir, char *err, size_t errlen);

/*
 * Writes json[0..len) as <dir>/stress_test_results_<local time of
 * wall_ns as YYYYmmdd_HHMMSS>.json and <dir>/latest.json, creating dir
 * (and its parents) when missing. Each file is written to a temp file in
 * dir, then renamed over the final name. The first file's path goes to
 * path (pathlen bytes). Returns 0, E_IO (errno logged) or E_RANGE (path
 * too long); on failure err (errlen bytes) names the path and the reason.
 */
int report_write(const char *dir, const uint8_t *json, size_t len,
                 uint64_t wall_ns, char *path, size_t pathlen, char *err,
                 size_t errlen);

/*
 * The run's time stamp, the local time of wall_ns as YYYYmmdd_HHMMSS, into
 * out (outlen >= 16): every file of one run carries the same one. Returns
 * 0 or E_IO (out then holds "").
 */
int report_stamp(uint64_t wall_ns, char *out, size_t outlen);

/*
 * Writes data[0..len) as <dir>/<name> through a temp file in dir renamed
 * over the final name, so a reader never sees a partial file. dir must
 * exist (report_prepare_dir). Returns 0, E_IO or E_RANGE (path too long),
 * with err (errlen bytes) naming the path and the reason on failure.
 */
int report_write_file(const char *dir, const char *name, const uint8_t *data,
                      size_t len, char *err, size_t errlen);

/* Prints the console summary (seed format) to fp. Returns 0 or E_IO. */
int report_summary(FILE *fp, const struct agg *a, const struct report_run *r,
                   const struct report_verdict *v);

/*
 * Prints the summary of a suite in the seed's format: the banner once,
 * every test's block in order (a test without an aggregate shows only its
 * status), a line naming the tests that are not implemented yet, then
 * every test's threshold violations together, or the all-met line.
 * Returns 0 or E_IO.
 */
int report_summary_suite(FILE *fp, const struct report_test *t, size_t n);

#endif
