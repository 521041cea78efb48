/* SPDX-License-Identifier: MIT */
/*
 * The HTTP load engine: N worker threads, each owning one libcurl multi
 * handle, its share of the virtual users (round-robin) and its metrics.
 * Streams (up to PROTO_MAX_STREAMS side by side). Closed: each stream has
 * this agent's share of its peak users; every PATTERN_TICK_MS the
 * stream's pattern (pattern.h) sets how many of them are active. An
 * active user creates a KATO session, then loops over the operations mix
 * with think time and an optional per-user rate. Open: this agent's share
 * of max_in_flight connection slots, each with its own session, send the
 * agent's residue class of the global arrival sequence (pattern.h), one
 * request per arrival, measured from its intended time. Workers
 * share nothing; they hand finished intervals to the control thread through
 * per-worker bounded rings (docs/internals/worker-loop.md) and never block
 * on it. Scheduling and latency: docs/internals/scheduling.md.
 *
 * Thread-safety: engine_new, engine_start, engine_collect and engine_free
 * are for the one control thread; engine_stop, engine_users_active and
 * engine_in_flight may be called from any thread.
 */
#ifndef AGENT_ENGINE_H
#define AGENT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/proto.h"
#include "metrics.h"

/* Worker threads at most. */
#define ENGINE_MAX_THREADS 256
/* Users per agent at most. */
#define ENGINE_MAX_USERS 1000000u
/* Metrics buffers per worker (the live one included). */
#define ENGINE_NBUF 4
/* The longest a worker sleeps in curl_multi_poll, ms. */
#define ENGINE_POLL_MAX_MS 50

/* A test hook (docs/resources.md): when this environment variable holds
 * N (1..1000), every worker sleeps N ms after each poll, making its loop
 * late on purpose; engine_new reads it and logs a warning. */
#define ENGINE_TEST_LAG_ENV "KATO_STRESS_TEST_LOOP_LAG_MS"

/* How to stop. */
enum engine_stop {
    ENGINE_STOP_DRAIN = 1, /* stop starting requests, let in-flight ones
                              finish within their timeout, then abort */
    ENGINE_STOP_ABORT = 2  /* abort in-flight requests now */
};

/* engine_collect results (>= 0). */
enum engine_collect_rv {
    ENGINE_NOTHING = 0,  /* no interval is complete yet */
    ENGINE_INTERVAL = 1, /* interval *k is complete and merged into agg */
    ENGINE_FINISHED = 2  /* every worker is done, every interval collected */
};

struct engine;

/*
 * Checks that a is something this engine can run: agent_index < n_agents,
 * 1..PROTO_MAX_STREAMS streams, every stream of the operations mix
 * (others: E_INVAL, "request kind X is not implemented yet"), an open
 * stream with max_in_flight >= n_agents (each agent needs a slot),
 * 0 <= initial <= peak < 2^32, a valid rate, and 1..ENGINE_MAX_USERS
 * users and slots for this agent (E_RANGE above). Returns 0 or
 * E_INVAL/E_RANGE with one line in err. Pure; any thread.
 */
int engine_check(const struct proto_assign *a, char *err, size_t errlen);

/*
 * Builds an engine for assignment a (copied) with the given number of
 * worker threads (1..ENGINE_MAX_THREADS; fewer when there are fewer
 * users): allocates every user's easy handle and buffers, the payload
 * generator and the metrics buffers. No thread is started and no request
 * is sent. Returns 0 and sets *out (free with engine_free); E_INVAL or
 * E_RANGE for an assignment it cannot run (err says why); E_NOMEM; E_NET
 * when libcurl refuses a handle. err (errlen bytes) gets one line on
 * failure. curl_global_init must have run.
 */
int engine_new(struct engine **out, const struct proto_assign *a,
               uint32_t threads, char *err, size_t errlen);

/*
 * engine_new for a lost agent's slice this agent adopts (PROTOCOL.md
 * 3.14): a carries the slice as (agent_index, n_agents) = (index, count),
 * which engine_check's share rule then applies exactly; nothing runs
 * before from_ms (since the run's start): closed users are inactive,
 * open arrivals intended before it are not this engine's (not counted as
 * unsent). An open stream gets a connection slot even when the slice's
 * share of max_in_flight is 0. Start it with the run's start instant,
 * even mid-run. Returns as engine_new; E_INVAL "no users assigned" when
 * the slice holds no user and no open stream (nothing to run).
 */
int engine_new_adopted(struct engine **out, const struct proto_assign *a,
                       uint32_t threads, uint64_t from_ms, char *err,
                       size_t errlen);

/*
 * Starts the workers. start_ns is the local monotonic instant of the run's
 * start (interval 0 and every stream's start_ms count from there; each
 * stream's users are active only within [start_ms, start_ms +
 * duration_ms), as many as its pattern says). The load ends by itself at
 * start_ns + duration_ms. Returns 0, E_STATE if already started, or
 * E_NOMEM when a thread cannot be created (then the workers that did start
 * are stopped and joined, and the engine only reports ENGINE_FINISHED).
 */
int engine_start(struct engine *e, uint64_t start_ns);

/* Asks every worker to stop (see enum engine_stop; ABORT wins over DRAIN)
 * and wakes them. Thread-safe, non-blocking, idempotent. */
void engine_stop(struct engine *e, enum engine_stop how);

/*
 * Moves the workers' published buffers into agg (which the caller owns and
 * resets after each ENGINE_INTERVAL). Returns ENGINE_INTERVAL with *k set
 * when every worker has moved past interval *k (or finished): agg then
 * holds exactly the requests that completed in it (plus, when a worker's
 * ring overflowed, the following intervals that worker recorded in the
 * same buffer). Intervals come out in order 0, 1, 2, ... with none skipped.
 * Returns ENGINE_NOTHING when no interval is complete yet, ENGINE_FINISHED
 * once all threads are done and every interval has been returned (the
 * threads are joined then). Non-blocking.
 */
int engine_collect(struct engine *e, struct metrics *agg, uint32_t *k);

/* Closed users currently generating load (open slots are not users), and
 * requests handed to curl and not yet finished, summed over workers
 * (relaxed reads, for heartbeats). */
uint32_t engine_users_active(const struct engine *e);
uint32_t engine_in_flight(const struct engine *e);

/* Times a worker found its ring full and kept recording into the current
 * buffer (a sign the control thread fell behind). */
uint64_t engine_ring_overflows(const struct engine *e);

/* Stops (ABORT) and joins running workers, then frees everything. NULL is
 * a no-op. */
void engine_free(struct engine *e);

#endif
