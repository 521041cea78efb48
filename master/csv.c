/* SPDX-License-Identifier: MIT */
/*
 * Performance and resources CSV files: quoting, empty cells for unknown
 * values, one time stamp per run shared with the JSON.
 */
#include "csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../common/ops.h"
#include "../common/poison.h"
#include "report.h"

/* Appends s as one CSV field (RFC 4180): quoted when it holds a comma,
 * quote or line break, quotes doubled; other control characters (from
 * agent names, opaque bytes off the wire) become '?'. */
static int
field(struct buf *b, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    int rv = quote ? buf_append(b, "\"", 1) : 0;

    for (const unsigned char *p = (const unsigned char *)s; *p && rv == 0;
         p++) {
        if (*p == '"') {
            rv = buf_append(b, "\"\"", 2);
        } else if ((*p < 0x20 && *p != '\r' && *p != '\n') || *p == 0x7f) {
            rv = buf_append(b, "?", 1);
        } else {
            rv = buf_append(b, p, 1);
        }
    }
    if (rv == 0 && quote) {
        rv = buf_append(b, "\"", 1);
    }
    return rv;
}

/* "2025-01-02T03:04:05Z" of start + k s. */
static void
stamp_of(uint64_t start_wall_ns, uint32_t k, char *out, size_t outlen)
{
    time_t t = (time_t)(start_wall_ns / CLOCK_NS_PER_S) + (time_t)k;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        (void)snprintf(out, outlen, "%s", "");
    }
}

/* "test,k,timestamp," (the columns every row starts with). */
static int
row_start(struct buf *b, const char *test, uint32_t k, const char *when)
{
    int rv = field(b, test);

    if (rv == 0) {
        rv = buf_printf(b, ",%u,%s,", (unsigned)k, when);
    }
    return rv;
}

/* ",p50,p90,p99,max" in ms for op (-1 all) in interval k; empty cells when
 * the interval holds no latency for it. */
static int
pct_cells(struct buf *b, const struct agg *a, uint32_t k, int op)
{
    static const double ps[] = {50.0, 90.0, 99.0, 100.0};
    uint64_t top = 0;
    int rv = 0;

    if (agg_interval_percentile(a, k, op, false, 100.0, &top) != 0 ||
        top == 0) {
        /* No value (a 0 us bucket only is as good as none here). */
        return buf_append(b, ",,,,", 4);
    }
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]) && rv == 0; i++) {
        uint64_t us = 0;
        (void)agg_interval_percentile(a, k, op, false, ps[i], &us);
        rv = buf_printf(b, ",%.3f", (double)us / 1000.0);
    }
    return rv;
}

/* The performance rows of one test, without the header. */
static int
performance_rows(struct buf *out, const struct agg *a, const char *test_name,
                 uint64_t start_wall_ns)
{
    int rv = 0;

    for (uint32_t k = 0; k < agg_n_intervals(a) && rv == 0; k++) {
        char when[40];
        stamp_of(start_wall_ns, k, when, sizeof(when));
        /* Each op that ran at all during the test, then "all". */
        for (int op = 0; op <= OP_COUNT && rv == 0; op++) {
            int o = op < OP_COUNT ? op : -1;
            uint64_t req = 0;
            uint64_t err = 0;
            if (o >= 0 && agg_op_counts(a, o).requests == 0) {
                continue;
            }
            (void)agg_interval_op(a, k, o, &req, &err);
            rv = row_start(out, test_name, k, when);
            if (rv == 0) {
                rv = buf_printf(
                    out, "%s,%llu,%llu,", o >= 0 ? ops_name(o) : "all",
                    (unsigned long long)req, (unsigned long long)err);
            }
            if (rv == 0 && req > 0) {
                rv = buf_printf(out, "%.6f", (double)err / (double)req);
            }
            if (rv == 0) {
                rv = pct_cells(out, a, k, o);
            }
            if (rv == 0) {
                rv = buf_append(out, "\n", 1);
            }
        }
    }
    return rv;
}

int
csv_performance(struct buf *out, const struct agg *a, const char *test_name,
                uint64_t start_wall_ns)
{
    int rv = buf_append(out, CSV_PERFORMANCE_HEADER "\n",
                        strlen(CSV_PERFORMANCE_HEADER) + 1);

    return rv != 0 ? rv : performance_rows(out, a, test_name, start_wall_ns);
}

/* An agent's cells after its name: its /proc figures when it sent them,
 * its engine's when it sent them, else empty cells (never zeros). */
static int
agent_cells(struct buf *out, const struct agg_res *r, bool have)
{
    bool p = have && (r->flags & PROTO_RES_AGENT) != 0;
    bool e = have && (r->flags & PROTO_RES_ENGINE) != 0;
    int rv = 0;

    if (p) {
        rv = buf_printf(out, ",%.2f,%.3f,%llu,%llu",
                        (double)r->cpu_centi / 100.0,
                        (double)r->rss_bytes / (1024.0 * 1024.0),
                        (unsigned long long)r->net_tx_bytes,
                        (unsigned long long)r->net_rx_bytes);
    } else {
        rv = buf_append(out, ",,,,", 4);
    }
    if (rv == 0 && e) {
        rv = buf_printf(out, ",%llu,%.3f,", (unsigned long long)r->open_conns,
                        (double)r->lag_max_us / 1000.0);
    } else if (rv == 0) {
        rv = buf_append(out, ",,,", 3);
    }
    if (rv == 0 && p) {
        rv = buf_printf(out, ",%.2f", (double)r->host_cpu_centi / 100.0);
    } else if (rv == 0) {
        rv = buf_append(out, ",", 1);
    }
    if (rv == 0 && e) {
        rv = buf_printf(out, ",%.3f\n", (double)r->lag_mean_us / 1000.0);
    } else if (rv == 0) {
        rv = buf_append(out, ",\n", 2);
    }
    return rv;
}

/* The resources rows of one test, without the header: per interval one
 * row per agent, then a "target" row when the target was sampled. */
static int
resources_rows(struct buf *out, const struct agg *a, const char *test_name,
               uint64_t start_wall_ns)
{
    int rv = 0;

    for (uint32_t k = 0; k < agg_n_intervals(a) && rv == 0; k++) {
        char when[40];
        uint64_t ms = 0, bytes = 0, centi = 0;
        stamp_of(start_wall_ns, k, when, sizeof(when));
        for (size_t i = 0; i < agg_n_agents(a) && rv == 0; i++) {
            struct agg_agent_info ai;
            struct agg_res r;
            bool have;
            if (agg_agent(a, i, &ai) != 0) {
                continue;
            }
            have = agg_agent_res(a, i, k, &r) == 0;
            rv = row_start(out, test_name, k, when);
            if (rv == 0) {
                rv = field(out, ai.name);
            }
            if (rv == 0) {
                rv = agent_cells(out, &r, have);
            }
        }
        if (rv == 0 && agg_interval_mem(a, k, &ms, &bytes) == 0) {
            rv = row_start(out, test_name, k, when);
            if (rv == 0) {
                rv = buf_append(out, "target,", 7);
            }
            if (rv == 0 && agg_interval_tcpu(a, k, &centi) == 0) {
                rv = buf_printf(out, "%.2f", (double)centi / 100.0);
            }
            if (rv == 0) {
                rv = buf_printf(out, ",,,,,,%.3f,,\n",
                                (double)bytes / (1024.0 * 1024.0));
            }
        }
    }
    return rv;
}

int
csv_resources(struct buf *out, const struct agg *a, const char *test_name,
              uint64_t start_wall_ns)
{
    int rv = buf_append(out, CSV_RESOURCES_HEADER "\n",
                        strlen(CSV_RESOURCES_HEADER) + 1);

    return rv != 0 ? rv : resources_rows(out, a, test_name, start_wall_ns);
}

/* Builds one file (header, then every test's rows with rows_fn) and
 * writes it as dir/name. */
static int
write_one(const char *dir, const char *name, const char *header,
          int (*rows_fn)(struct buf *, const struct agg *, const char *,
                         uint64_t),
          const struct csv_test *t, size_t n, char *err, size_t errlen)
{
    struct buf b;
    int rv = 0;

    buf_init(&b, CSV_MAX_BYTES);
    rv = buf_append(&b, header, strlen(header));
    if (rv == 0) {
        rv = buf_append(&b, "\n", 1);
    }
    for (size_t i = 0; i < n && rv == 0; i++) {
        rv = rows_fn(&b, t[i].agg, t[i].test_name, t[i].start_wall_ns);
    }
    if (rv != 0) {
        (void)snprintf(err, errlen, "cannot build %s: %s", name, err_str(rv));
    } else {
        rv = report_write_file(dir, name, b.data, b.len, err, errlen);
    }
    buf_fini(&b);
    return rv;
}

int
csv_write_suite(const char *dir, const struct csv_test *t, size_t n,
                uint64_t stamp_wall_ns, char *err, size_t errlen)
{
    char stamp[32];
    char name[96];
    int rv = report_stamp(stamp_wall_ns, stamp, sizeof(stamp));

    if (rv != 0) {
        (void)snprintf(err, errlen, "cannot format the results' time stamp");
        return rv;
    }
    (void)snprintf(name, sizeof(name), "metrics_%s_performance.csv", stamp);
    rv = write_one(dir, name, CSV_PERFORMANCE_HEADER, performance_rows, t, n,
                   err, errlen);
    if (rv == 0) {
        (void)snprintf(name, sizeof(name), "metrics_%s_resources.csv", stamp);
        rv = write_one(dir, name, CSV_RESOURCES_HEADER, resources_rows, t, n,
                       err, errlen);
    }
    return rv;
}

int
csv_write(const char *dir, const struct agg *a, const char *test_name,
          uint64_t start_wall_ns, char *err, size_t errlen)
{
    struct csv_test t;

    t.agg = a;
    t.test_name = test_name;
    t.start_wall_ns = start_wall_ns;
    return csv_write_suite(dir, &t, 1, start_wall_ns, err, errlen);
}
