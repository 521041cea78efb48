/* SPDX-License-Identifier: MIT */
/*
 * The resources of one test as the reports see them (docs/resources.md):
 * per agent the max and mean of its CPU, its max RSS, network bytes, max
 * open connections and loop lag; the target's memory and CPU; the
 * connection pool usage; and the saturation rule that flags an agent
 * whose own limits may have shaped what it measured. Pure: reads an
 * aggregate, no I/O.
 */
#ifndef MASTER_SATURATION_H
#define MASTER_SATURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"

/* The rule's limits: process CPU of 90 % of one core per worker thread,
 * host CPU of 95 %, a worst loop lag above 50 ms; an agent is saturated
 * when any of them holds in SAT_MIN_INTERVALS intervals or more. */
#define SAT_CPU_PER_THREAD_CENTI 9000u
#define SAT_HOST_CPU_CENTI       9500u
#define SAT_LAG_US               50000u
#define SAT_MIN_INTERVALS        3u
/* Saturated intervals listed per agent (the count is exact). */
#define SAT_MAX_LISTED 32u

/* Why an interval counts (bits). */
enum sat_why {
    SAT_WHY_CPU = 1u,  /* process CPU >= 90 % x threads */
    SAT_WHY_HOST = 2u, /* host CPU >= 95 % */
    SAT_WHY_LAG = 4u,  /* loop lag max > 50 ms */
};

/* One agent's figures over the test. */
struct sat_agent {
    uint32_t id;
    const char *name; /* borrowed from the aggregate */
    uint32_t threads;
    uint32_t n_samples;               /* intervals with any figure */
    uint32_t n_cpu;                   /* intervals with a /proc sample */
    double cpu_max_pct, cpu_mean_pct; /* of one core */
    double host_cpu_max_pct;
    uint64_t rss_max_bytes;
    uint64_t net_rx_bytes, net_tx_bytes; /* summed over the samples */
    uint64_t conn_max;
    double lag_max_ms, lag_mean_ms; /* mean of the intervals' means */
    bool saturated;
    uint32_t why; /* enum sat_why bits over the saturated intervals */
    uint32_t n_sat;
    uint32_t sat_iv[SAT_MAX_LISTED];
};

/* The target's figures (agent 0's samples). */
struct sat_target {
    uint32_t n_mem;
    double mem_max_mb, mem_mean_mb;
    uint32_t n_cpu;
    double cpu_max_pct, cpu_mean_pct; /* of one core */
};

struct saturation {
    size_t n_agents;
    struct sat_agent *agents; /* n_agents */
    struct sat_target target;
    bool any_saturated;
    bool pool_known;   /* some agent sent its open connections */
    double pool_usage; /* max over intervals of the agents' open
                        * connections summed, / connection_pool_size */
    uint64_t pool_peak_conns;
};

/* The saturation rule for one interval's figures of an agent running
 * threads workers (0 taken as 1): enum sat_why bits, 0 when none holds. */
uint32_t saturation_interval(const struct agg_res *r, uint32_t threads);

/*
 * Summarizes a's resource figures over intervals 0 .. n_intervals - 1
 * into *out (fully overwritten; free with saturation_fini), with the pool
 * usage against pool_size (0: not known). Returns 0 or E_NOMEM.
 */
int saturation_summarize(const struct agg *a, uint32_t n_intervals,
                         uint32_t pool_size, struct saturation *out);

/* Releases out's arrays and zeroes it; a zeroed one is fine. */
void saturation_fini(struct saturation *s);

/* "cpu", "cpu+lag", ... for why bits, into buf; returns buf. */
const char *saturation_why(uint32_t why, char *buf, size_t len);

#endif
