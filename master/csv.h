/* SPDX-License-Identifier: MIT */
/*
 * The two CSV files of a run, per interval (one second) rather than per
 * request, in <output_directory>:
 *
 *   metrics_YYYYmmdd_HHMMSS_performance.csv
 *     test,interval,timestamp,operation,requests,errors,error_rate,
 *     p50_ms,p90_ms,p99_ms,max_ms
 *   one row per (interval, operation) for every operation that completed
 *   a request during the test, plus one row with operation "all"; every
 *   row's percentiles are exact (per-op per-interval latency histograms
 *   are kept sparse by the aggregate). Cells with no data (percentiles and
 *   error_rate of an interval in which that operation completed nothing)
 *   are empty, never 0.
 *
 *   metrics_YYYYmmdd_HHMMSS_resources.csv
 *     test,interval,timestamp,agent,cpu_percent,rss_mb,net_bytes_sent,
 *     net_bytes_recv,open_connections,loop_lag_ms,target_memory_mb,
 *     host_cpu_percent,loop_lag_mean_ms
 *   one row per (interval, agent), then per interval with a target sample
 *   one row whose agent is "target" (cpu_percent: the target's, when its
 *   source gives CPU; target_memory_mb). Cells an agent did not send are
 *   empty, never 0. docs/resources.md says what each column means.
 *
 * timestamp is the interval's start in UTC (ISO 8601). Reads the
 * aggregate; never changes it. Not a JSON or HTML writer (report.c).
 */
#ifndef MASTER_CSV_H
#define MASTER_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "aggregate.h"

/* Largest CSV file built in memory (bytes): a 1-hour run with 100
 * agents is about 20 MB of resources rows. */
#define CSV_MAX_BYTES (512u * 1024u * 1024u)

#define CSV_PERFORMANCE_HEADER                                             \
    "test,interval,timestamp,operation,requests,errors,error_rate,p50_ms," \
    "p90_ms,p99_ms,max_ms"
#define CSV_RESOURCES_HEADER                                           \
    "test,interval,timestamp,agent,cpu_percent,rss_mb,net_bytes_sent," \
    "net_bytes_recv,open_connections,loop_lag_ms,target_memory_mb,"    \
    "host_cpu_percent,loop_lag_mean_ms"

/*
 * Appends the performance CSV (header line included) for test_name to
 * out; start_wall_ns is the load's start (CLOCK_REALTIME), interval k's
 * timestamp being start + k s. Borrows everything. Returns 0, E_TOOBIG or
 * E_NOMEM (out->len is then unspecified).
 */
int csv_performance(struct buf *out, const struct agg *a, const char *test_name,
                    uint64_t start_wall_ns);

/* Appends the resources CSV (header line included); as csv_performance. */
int csv_resources(struct buf *out, const struct agg *a, const char *test_name,
                  uint64_t start_wall_ns);

/* One test of a suite for csv_write_suite. Borrowed. */
struct csv_test {
    const struct agg *agg;
    const char *test_name;  /* the test column */
    uint64_t start_wall_ns; /* that test's load start */
};

/*
 * As csv_write for the n tests that ran in a suite (--test all): one
 * header, then each test's rows in order, each test's intervals counted
 * from its own start; the file names carry report_stamp(stamp_wall_ns)
 * (the first test's start, the JSON's stamp). Returns as csv_write.
 */
int csv_write_suite(const char *dir, const struct csv_test *t, size_t n,
                    uint64_t stamp_wall_ns, char *err, size_t errlen);

/*
 * Builds both files and writes them into dir (which must exist) as
 * metrics_<stamp>_performance.csv and metrics_<stamp>_resources.csv, stamp
 * being report_stamp(start_wall_ns), the JSON's. Each goes through a temp
 * file and a rename. Returns 0, E_IO, E_RANGE, E_TOOBIG or E_NOMEM, with
 * err (errlen bytes) saying what failed.
 */
int csv_write(const char *dir, const struct agg *a, const char *test_name,
              uint64_t start_wall_ns, char *err, size_t errlen);

#endif
