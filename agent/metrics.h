/* SPDX-License-Identifier: MIT */
/*
 * One interval's measurements per operation, as a worker records them and
 * the control thread merges and ships them: counters, latency and service
 * histograms, error counts by key. Conversion to struct proto_batch uses
 * arrays preallocated once per run. Not thread-safe: one writer at a time,
 * ownership moves between threads through engine.c's rings.
 */
#ifndef AGENT_METRICS_H
#define AGENT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/hist.h"
#include "../common/ops.h"
#include "../proto/proto.h"

#define METRICS_MAX_GROUPS PROTO_MAX_GROUPS

/* One operation's figures. Fields are read-only outside metrics.c. */
struct metrics_op {
    uint64_t requests; /* completed: ok + errors */
    uint64_t errors;
    uint64_t bytes_sent;
    uint64_t bytes_recv;
    struct hist *latency;     /* us, from the intended start */
    struct hist *service;     /* us, from the actual send */
    uint64_t err[ERRK_SLOTS]; /* by errk_slot() */
};

/*
 * A metrics buffer. Embeddable so a worker can record without a call
 * through an opaque pointer; fields other than first/last/users_active and
 * the open-model counters are private to metrics.c.
 */
struct metrics {
    uint32_t first;        /* first interval recorded here */
    uint32_t last;         /* last interval (>= first) */
    uint32_t users_active; /* at the end of the buffer's last interval */
    /* Open streams, written by the worker directly (struct proto_batch
     * says what they mean): late arrivals, their lateness (us), unsent
     * arrivals. */
    uint64_t late;
    uint64_t late_us;
    uint64_t unsent;
    struct metrics_op op[OP_COUNT];
    /* The most requests in flight at once (the worker writes it; merged
     * buffers hold the sum: an upper bound). */
    uint64_t peak_in_flight;
    /* The worker's own load (docs/resources.md), written by the worker:
     * the most TCP connections its libcurl had open at once (merged
     * buffers: summed, an upper bound), and how late its loop woke
     * against its timer deadline: the worst (merged: the max) and the
     * sum and number of wake-ups whose deadline had come (merged:
     * added). */
    uint64_t peak_open;
    uint64_t lag_max_us;
    uint64_t lag_sum_us;
    uint64_t lag_n;
    /* Per-group figures (proto_group), private: metrics_record_group. */
    uint32_t n_groups;
    struct proto_group groups[METRICS_MAX_GROUPS];
    uint64_t groups_dropped; /* requests of groups beyond the bound */
};

/*
 * Records one finished request of group g of stream si (streams with
 * group_ms > 0): err_key as metrics_record, its intended start and its
 * completion in us from the run's start. A buffer holds
 * METRICS_MAX_GROUPS groups; a request of one more is counted in
 * groups_dropped only (a group spans at least a second, so a buffer of
 * one interval sees a few).
 */
void metrics_record_group(struct metrics *m, uint32_t si, uint32_t g,
                          uint32_t err_key, uint64_t intended_us,
                          uint64_t done_us);

/* Allocates an empty buffer (all histograms included) into *out. Returns 0
 * or E_NOMEM (*out untouched). Free with metrics_free. */
int metrics_new(struct metrics **out);

/* Frees m; NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Empties m (counters, histograms, first/last/users_active = 0). */
void metrics_reset(struct metrics *m);

/*
 * Records one finished request of op: err_key 0 for a success, else an
 * error key (ops.h). Latency and service time in us (latency is not
 * recorded when record_latency is false: a request aborted by the agent
 * has no meaningful latency). Bytes as counted on the wire. An invalid
 * err_key is counted as ERRK_OTHER.
 */
void metrics_record(struct metrics *m, int op, uint32_t err_key,
                    bool record_latency, uint64_t latency_us,
                    uint64_t service_us, uint64_t bytes_sent,
                    uint64_t bytes_recv);

/* Adds every count of src into dst, users_active included. */
void metrics_add(struct metrics *dst, const struct metrics *src);

/* Preallocated arrays that hold one exported batch. */
struct metrics_export;

/* Allocates the export arrays (error arrays at their bound, histogram
 * arrays grown on demand). Returns 0 or E_NOMEM. */
int metrics_export_new(struct metrics_export **out);

/* Frees x; NULL is a no-op. */
void metrics_export_free(struct metrics_export *x);

/*
 * Fills b->op[] (and b->users_active, the open-model counters, the peak
 * in flight, the groups, and the engine's figures: b->open_conns,
 * lag_max_us, lag_mean_us with PROTO_RES_ENGINE in b->res) from m. b's arrays
 * point into x and stay valid until the next call with x or
 * metrics_export_free(x); do not pass b to proto_msg_fini. Leaves agent_id, seq
 * and interval alone. Returns 0 or E_NOMEM (growing an array; b is then
 * unspecified).
 */
int metrics_to_batch(const struct metrics *m, struct metrics_export *x,
                     struct proto_batch *b);

#endif
