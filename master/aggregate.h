/* SPDX-License-Identifier: MIT */
/*
 * The master's exact merge of the agents' BATCH messages: per-operation
 * latency and service-time histograms, counters, errors by key, per-interval
 * counts and sparse per-interval histograms, and the bookkeeping that says
 * whether the data is complete (duplicates dropped by (agent, seq), gaps in seq
 * and in intervals, each agent's GOODBYE totals compared with what was merged).
 * No I/O, no clocks: see docs/internals/metrics.md.
 *
 * Thread-safety: none; the master's one loop owns it.
 */
#ifndef MASTER_AGGREGATE_H
#define MASTER_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/hist.h"
#include "../common/ops.h"
#include "../proto/proto.h"

/* Batches that may arrive beyond the test's last interval (drain, clock
 * skew) before they stop being tracked per interval. */
#define AGG_INTERVAL_MARGIN 30u
/* Groups (struct proto_group: stream, group) one aggregate tracks. */
#define AGG_MAX_GROUPS 64u
/* Upper bound on agents one aggregate tracks. */
#define AGG_MAX_AGENTS 4096u

struct agg;

/* Totals of one operation (or of all, see agg_op_counts). */
struct agg_counts {
    uint64_t requests; /* completed: successes + errors */
    uint64_t errors;
    uint64_t bytes_sent;
    uint64_t bytes_recv;
};

/* Open-model arrivals, summed over every merged batch (struct proto_batch
 * says what each means). */
struct agg_arrivals {
    uint64_t late;    /* sent more than 1 ms after their intended time */
    uint64_t late_us; /* their total lateness */
    uint64_t unsent;  /* intended before their stream's end, never sent */
};

/* What agg_agent reports about one agent. name is borrowed from the agg
 * and valid until agg_free. */
struct agg_agent_info {
    uint32_t id;
    const char *name;
    uint32_t users;
    uint64_t requests; /* merged, all ops */
    uint64_t errors;
    uint64_t batches;     /* merged (duplicates excluded) */
    uint64_t duplicates;  /* re-sent seqs, ACKed but not merged */
    uint64_t highest_seq; /* highest seq merged, 0 when none */
    bool goodbye;         /* its GOODBYE arrived */
    bool totals_match;    /* GOODBYE totals equal the merged sums */
    size_t n_missing;     /* intervals it should have sent and did not */
    size_t n_missing_seq; /* seqs 1..max(last_seq, highest) not merged */
};

/* One agent's resource figures for one interval (docs/resources.md;
 * struct proto_batch says what each means). flags holds the
 * PROTO_RES_AGENT and PROTO_RES_ENGINE bits of the figures present. */
struct agg_res {
    uint32_t flags;
    uint64_t cpu_centi;      /* process CPU, 1/100 % of one core */
    uint64_t host_cpu_centi; /* host CPU, 1/100 % of all cores */
    uint64_t rss_bytes;
    uint64_t net_rx_bytes; /* during the interval's window */
    uint64_t net_tx_bytes;
    uint64_t open_conns; /* most connections open at once */
    uint64_t lag_max_us; /* worst loop lag of its workers */
    uint64_t lag_mean_us;
};

/*
 * Creates an aggregate for a test of duration_s seconds: per-interval
 * totals are kept for intervals 0 .. duration_s + AGG_INTERVAL_MARGIN - 1
 * (a batch past that is still merged into every total, and counted by
 * agg_late). Returns 0, E_INVAL (duration_s 0) or E_NOMEM; *out is set on
 * success only. Free with agg_free.
 */
int agg_new(struct agg **out, uint32_t duration_s);

/* Frees a; NULL is a no-op. */
void agg_free(struct agg *a);

/*
 * Registers an agent that takes part: its id (> 0, unique), its name
 * (copied, truncated to PROTO_NAME_MAX - 1) and its share of users.
 * Returns 0, E_INVAL (id 0 or already known), E_RANGE (more than
 * AGG_MAX_AGENTS) or E_NOMEM.
 */
int agg_add_agent(struct agg *a, uint32_t id, const char *name, uint32_t users);

/*
 * Merges one batch from agent_id (the authenticated sender; b->agent_id is
 * not trusted). The batch is validated first and merged whole or not at
 * all. Returns 0 (merged), 1 (a seq already merged: a duplicate, not
 * merged again; ACK it), E_NOTFOUND (unknown agent), E_RANGE (seq 0 or
 * above the bound, a histogram index or error key out of range, a zero
 * bucket or error count, errors above requests, errors by key not adding
 * up to errors, more than HIST_BUCKETS buckets in one histogram, a sum
 * that would overflow a 64-bit counter) or E_NOMEM (the interval's sparse
 * histograms could not grow; nothing merged). A rejected batch marks the
 * data incomplete. Borrows b.
 */
int agg_merge(struct agg *a, uint32_t agent_id, const struct proto_batch *b);

/*
 * Records agent_id's GOODBYE and compares its per-operation totals and
 * last_seq with what was merged for it; a mismatch is logged
 * (warn AGG-MISMATCH) and marks the data incomplete. Returns 0 (match),
 * 1 (mismatch) or E_NOTFOUND. A repeated GOODBYE is compared again.
 */
int agg_goodbye(struct agg *a, uint32_t agent_id,
                const struct proto_goodbye *g);

/*
 * Sets how many intervals each agent is expected to send (default: the
 * duration's). An interrupted run sets the number of whole seconds it ran,
 * so intervals that never existed are not reported missing. Values above
 * the duration are clamped to it.
 */
void agg_set_expected(struct agg *a, uint32_t n_intervals);

/* Latency (intended start, coordinated-omission corrected) and service
 * time histograms of op, or of all ops together when op is -1 (the sum of
 * the per-op histograms). NULL for any other op. Borrowed. */
const struct hist *agg_latency(const struct agg *a, int op);
const struct hist *agg_service(const struct agg *a, int op);

/* Totals of op, or of all ops when op is -1; zeroes for an invalid op. */
struct agg_counts agg_op_counts(const struct agg *a, int op);

/* Errors with key (ops.h errk) for op, or all ops when op is -1. */
uint64_t agg_errors(const struct agg *a, int op, uint32_t key);

/* Number of per-interval slots in use: highest interval seen + 1 (within
 * the bound), 0 before any batch. */
uint32_t agg_n_intervals(const struct agg *a);

/* Requests and errors that completed in interval k, summed over agents.
 * Returns 0, or E_RANGE when k is beyond the bound (then zeroes). */
int agg_interval(const struct agg *a, uint32_t k, uint64_t *requests,
                 uint64_t *errors);

/*
 * Requests and errors of op (or of all ops when op is -1) that completed
 * in interval k, summed over agents. Returns 0, E_RANGE (k beyond the
 * per-interval bound; then zeroes) or E_INVAL (any other op; zeroes).
 */
int agg_interval_op(const struct agg *a, uint32_t k, int op, uint64_t *requests,
                    uint64_t *errors);

/*
 * The value in us at percentile p (HdrHistogram's definition, as
 * hist_percentile) of interval k's merged histogram: latency of op, or of
 * all ops together when op is -1, when service is false; service time of
 * all ops when service is true (op must be -1: per-op service time is not
 * kept per interval). Exact: the result is the one hist_percentile gives
 * on a histogram into which every merged batch of that interval was
 * imported, so it does not depend on how the requests were split over
 * agents. p >= 100 gives the interval's max. *out_us is 0 for an interval
 * without values. Returns 0, E_RANGE (k beyond the per-interval bound) or
 * E_INVAL (bad op, or service with op != -1); *out_us is set on success
 * only. O(buckets held by the interval).
 */
int agg_interval_percentile(const struct agg *a, uint32_t k, int op,
                            bool service, double p, uint64_t *out_us);

/*
 * Resets scratch (caller-owned, borrowed) and imports interval k's
 * histogram into it (op and service as agg_interval_percentile): for
 * callers that need a whole histogram, and for tests. Returns 0, E_RANGE
 * or E_INVAL (scratch then untouched).
 */
int agg_interval_hist(const struct agg *a, uint32_t k, int op, bool service,
                      struct hist *scratch);

/*
 * Bytes held for the per-interval data: the fixed slots plus the sparse
 * bucket arrays. Each interval holds, per operation, one struct
 * hist_bucket per distinct latency bucket seen in it, and one per
 * distinct service-time bucket over all operations: never more than
 * (OP_COUNT + 1) * HIST_BUCKETS entries, and for real runs a few hundred,
 * not a dense histogram (184 KB) per interval.
 */
size_t agg_interval_bytes(const struct agg *a);

/* Number of registered agents, and the i-th (registration order).
 * agg_agent returns 0 or E_RANGE. */
size_t agg_n_agents(const struct agg *a);
int agg_agent(const struct agg *a, size_t i, struct agg_agent_info *out);

/*
 * Writes up to max of agent i's missing intervals (ascending) into out and
 * returns how many there are in total (may exceed max). An interval is
 * missing when it lies in 0 .. max(expected_last, highest received) and
 * no batch for it was merged; expected_last is the test's last interval,
 * agg_set_expected's count - 1 (by default duration_s - 1); with an
 * expected count of 0 only intervals up to the highest received count.
 * Returns 0 for an invalid i.
 */
size_t agg_agent_missing(const struct agg *a, size_t i, uint32_t *out,
                         size_t max);

/* The open-model arrival counters of every merged batch, summed. */
struct agg_arrivals agg_arrivals(const struct agg *a);

/*
 * The merged figures of group `group` of stream `stream` (streams with
 * group_ms > 0; docs/tests-design.md section 1) into *out: requests,
 * errors and their classes added over batches and agents, the least
 * first intended start and the greatest completion (us from the run's
 * start). Returns 0 or E_NOTFOUND (no request of that group completed;
 * *out untouched). At most AGG_MAX_GROUPS groups are kept.
 */
int agg_group(const struct agg *a, uint32_t stream, uint32_t group,
              struct proto_group *out);

/* The highest, over intervals, of the agents' peaks in flight summed
 * (each agent sends its workers' peaks summed): an upper bound of the
 * requests in flight at once over the fleet. 0 when none was sent. */
uint64_t agg_peak_in_flight(const struct agg *a);

/* The users active at the end of interval k, summed over the batches
 * merged for it (each agent's, adopted slices included; a lost agent's
 * missing batch counts nothing). 0 beyond the bound. */
uint64_t agg_interval_users(const struct agg *a, uint32_t k);

/* Batches merged past the per-interval bound, and batches rejected. */
uint64_t agg_late(const struct agg *a);
uint64_t agg_rejected(const struct agg *a);

/*
 * true when nothing is known to be missing: every agent sent GOODBYE with
 * matching totals, no seq and no interval is missing, nothing was
 * rejected.
 */
bool agg_complete(const struct agg *a);

/* Agent i's resource figures of interval k into *out. Returns 0, or
 * E_NOTFOUND (no sample for it: an old agent, a sample skipped, an
 * interval beyond the bound, an invalid i). */
int agg_agent_res(const struct agg *a, size_t i, uint32_t k,
                  struct agg_res *out);

/* Records agent id's worker threads (from its HELLO, capped by its
 * users: the engine runs no more workers than users), for the
 * saturation rule. Returns 0 or E_NOTFOUND. agg_agent_threads gives it
 * back for agent i (0: not known). */
int agg_set_agent_threads(struct agg *a, uint32_t id, uint32_t threads);
uint32_t agg_agent_threads(const struct agg *a, size_t i);

/* The target's CPU (1/100 % of one core) sampled with interval k's
 * target memory sample, when the source gives CPU. Returns 0 or
 * E_NOTFOUND. */
int agg_interval_tcpu(const struct agg *a, uint32_t k, uint64_t *centi);

/*
 * The target's memory sample that arrived with interval k's batch (one
 * agent samples, in every test: the last such batch's sample wins): when, in ms
 * since the run's start on that agent's clock, and the target's memory in
 * bytes. Returns 0, or E_NOTFOUND when interval k holds none (or is
 * beyond the bound); the out-params are written on success only.
 */
int agg_interval_mem(const struct agg *a, uint32_t k, uint64_t *t_ms,
                     uint64_t *bytes);

#endif
