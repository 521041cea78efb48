/* SPDX-License-Identifier: MIT */
/*
 * Baseline comparison (reporting.baseline_comparison, issue 4 item 4): the
 * results of this run against those of an earlier one, read from a
 * results JSON that run wrote (typically a copy of its latest.json saved
 * as baseline.json). For each test present in both, and for each of its
 * operations present in both, six metrics are compared: the p50, p95,
 * p99 and p99.9 latency (ms), the throughput (requests/s; per operation
 * its count over the test's duration) and the error rate. A relative
 * change beyond deviation_threshold in the bad direction (latency or
 * error rate up, throughput down) is a regression, in the good direction
 * an improvement, else unchanged. A baseline of 0 has no relative change:
 * any rise from 0 of a latency or the error rate is a regression, any
 * throughput from 0 an improvement.
 *
 * Regressions are warnings: they change the exit code only when
 * fail_on_regression is set. A missing file is a note, a malformed one an
 * error message naming the file and where it broke; neither stops the
 * run's reports. Nothing here writes files; the comparison is pure over
 * two parsed documents, so hostile baseline files are fuzzed through it
 * (tests/fuzz/json_fuzz.c).
 */
#ifndef MASTER_BASELINE_H
#define MASTER_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../common/buf.h"
#include "../common/json.h"

/* Bounds of a baseline file: a results JSON of a one-hour test is about
 * 3 MB and 250 000 values. */
#define BASELINE_MAX_BYTES  (32u * 1024u * 1024u)
#define BASELINE_MAX_VALUES (2u * 1024u * 1024u)
#define BASELINE_N_METRICS  6  /* p50, p95, p99, p99.9, throughput, errors */
#define BASELINE_MAX_OPS    16 /* operations compared per test */

/* What became of the comparison of one test. */
enum baseline_state {
    BASELINE_MISSING = 1,  /* no baseline file: nothing compared */
    BASELINE_INVALID = 2,  /* the file could not be read or parsed */
    BASELINE_NO_TEST = 3,  /* the file has no entry for this test */
    BASELINE_COMPARED = 4, /* compared: see the metrics */
};

/* One metric's verdict. */
enum baseline_verdict {
    BASELINE_UNCHANGED = 0,
    BASELINE_IMPROVEMENT = 1,
    BASELINE_REGRESSION = 2,
    BASELINE_NOT_COMPARABLE = 3, /* missing (or not a finite number) on
                                  * one side */
};

struct baseline_metric {
    int verdict;     /* enum baseline_verdict */
    double base;     /* the baseline's value (valid unless not comparable) */
    double cur;      /* this run's value */
    bool has_change; /* base != 0 */
    double change;   /* (cur - base) / base */
};

/* The metrics of one scope: all operations, or one. */
struct baseline_scope {
    char name[32]; /* "" for all operations, else the operation */
    struct baseline_metric m[BASELINE_N_METRICS];
};

/* One test's comparison. Pointers are borrowed from the struct baseline
 * it was made with, which must outlive it. */
struct baseline_result {
    int state;                /* enum baseline_state */
    const char *file;         /* the baseline file's path */
    const char *error;        /* BASELINE_INVALID: why */
    double threshold;         /* deviation_threshold, a fraction */
    char base_status[24];     /* the baseline test's status */
    char base_started_at[40]; /* and its start, as that file says */
    struct baseline_scope all;
    size_t n_ops; /* operations present in both */
    struct baseline_scope ops[BASELINE_MAX_OPS];
    size_t regressions;  /* metrics, over all scopes */
    size_t improvements; /* likewise */
};

/* A loaded (or not) baseline file. Fields are private. */
struct baseline {
    int state; /* BASELINE_MISSING, BASELINE_INVALID or BASELINE_COMPARED
                * (loaded) */
    char file[4096];
    char error[4096 + 512]; /* names the file */
    double threshold;
    struct json_doc *doc; /* loaded: owned */
};

/*
 * Reads and parses path (at most BASELINE_MAX_BYTES and
 * BASELINE_MAX_VALUES) into b, with deviation threshold (a fraction,
 * >= 0). Never fails: b's state says what was found (missing; invalid,
 * with a message naming the file and the byte offset, line and column of
 * the fault, or the read error; loaded). A file whose top level is not an
 * object is invalid. Free with baseline_fini.
 */
void baseline_load(struct baseline *b, const char *path, double threshold);

/* Frees b's document; b is left zeroed. */
void baseline_fini(struct baseline *b);

/*
 * Compares the test test_name of the current results document cur (its
 * top-level object, {test: {"status", "results"}}, as report_json_suite
 * writes it; borrowed) with b's entry of the same name into *out (fully
 * overwritten). A state other than loaded is passed on (missing,
 * invalid); a test absent from either side is BASELINE_NO_TEST. Pure.
 */
void baseline_compare(const struct baseline *b, const struct json_val *cur,
                      const char *test_name, struct baseline_result *out);

/* "unchanged", "improvement", "regression", "not comparable". */
const char *baseline_verdict_name(int verdict);

/* The test's verdict: "regression" when any metric regressed, else
 * "improvement" when any improved, else "unchanged"; for a state other
 * than compared: "no baseline file", "invalid baseline file", "not in
 * baseline". */
const char *baseline_result_verdict(const struct baseline_result *r);

/* The metric's name as the JSON and the tables show it: "p50_ms",
 * "p95_ms", "p99_ms", "p99.9_ms", "throughput_rps", "error_rate"; i <
 * BASELINE_N_METRICS. */
const char *baseline_metric_name(int i);

/*
 * Appends the results' "baseline" value for r to out: {"file", "status"
 * ("compared", "missing", "invalid", "not in baseline"), "error" (invalid
 * only), "deviation_threshold", "verdict", "regressions",
 * "improvements", "baseline_status", "baseline_started_at", "metrics":
 * {name: {"baseline", "current", "change" (null without one), "verdict"}},
 * "operations": {op: {name: {...}}}}. Returns 0, E_TOOBIG or E_NOMEM.
 */
int baseline_json(struct buf *out, const struct baseline_result *r);

/*
 * Prints r's lines of the console's "Baseline Comparison" block for test
 * test_name to fp: the verdict with its counts, then one line per
 * regressed or improved metric. Returns 0 or E_IO.
 */
int baseline_summary(FILE *fp, const struct baseline_result *r,
                     const char *test_name);

#endif
