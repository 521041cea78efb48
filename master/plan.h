/* SPDX-License-Identifier: MIT */
/*
 * The test plan: from the loaded config and the master's options, what each
 * agent is asked to do (one struct proto_assign per agent). Pure: no I/O, no
 * clocks, no globals, so it is unit-tested exhaustively.
 */
#ifndef MASTER_PLAN_H
#define MASTER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../proto/proto.h"

/* The tests the CLI knows. PLAN_TEST_CONCURRENT and PLAN_TEST_SUSTAINED
 * have a plan so far. */
enum plan_test {
    PLAN_TEST_CONCURRENT = 0,
    PLAN_TEST_SUSTAINED = 1,
    PLAN_TEST_BURST = 2,
    PLAN_TEST_POOL = 3,
    PLAN_TEST_MEMORY = 4,
    PLAN_TEST_RECOVERY = 5,
    PLAN_TEST_ALL = 6,
    PLAN_TEST_COUNT = 7
};

/* The burst test's fixed shape (tests-design 5.3): the bursts start this
 * late, so the baseline has a settled second (2 s .. 3 s: the baseline's
 * and the burst slots' sessions are made at the run's start) before the
 * first burst; baseline users send the mix at this rate each. */
#define PLAN_BURST_LEAD_MS       3000u
#define PLAN_BURST_BASELINE_RATE 10.0
/* The pool test's (5.4): the blast starts this late (its slots make their
 * sessions first), the probes start this long after it, each probe user
 * at this rate. */
#define PLAN_POOL_LEAD_MS    2000u
#define PLAN_POOL_BLAST_MS   2000u
#define PLAN_POOL_PROBE_RATE 5.0

/* Upper bound on agents in one run (also bounds the plan's allocation). */
#define PLAN_MAX_AGENTS 4096

/* Looks a --test name up ("concurrent", ..., "all"); returns the
 * enum plan_test value or -1. */
int plan_test_from_name(const char *name);

/* The --test name of t ("concurrent", ...), NULL when out of range. */
const char *plan_test_name(int t);

/* The name of t's results in the JSON and summary ("concurrent_requests"),
 * NULL when out of range. The sustained test's results are named
 * "sustained_load_<profile>" (struct plan's result_name). */
const char *plan_result_name(int t);

/* true when t can be run (every test). */
bool plan_test_implemented(int t);

/* The share of `users` virtual users that agent i of n runs:
 * floor(users / n) + (i < users % n). Over i = 0..n-1 the shares sum to
 * users exactly, and *base (the global index of agent i's first user) is
 * the sum of the earlier shares. n must be > 0 and i < n (else returns
 * E_INVAL and writes nothing). */
int plan_share(uint32_t users, uint32_t n, uint32_t i, uint32_t *share,
               uint32_t *base);

/*
 * What main hands the planner besides the config.
 */
struct plan_opts {
    int test;            /* enum plan_test; must be implemented */
    uint32_t n_agents;   /* agents that will take part, 1..PLAN_MAX_AGENTS */
    uint64_t seed;       /* run seed: every user's stream */
    const char *profile; /* sustained: a load profile of the config;
                          * NULL: "moderate" (the original's default) */
};

/*
 * A built plan. Fields are read-only for callers. assign[i] is for the
 * i-th agent in join order; every assignment carries the same streams
 * (global values) and its own agent_index, and each agent takes its share
 * itself (plan_share). When total_users < n_agents, agents
 * i >= total_users get a share of 0: has_assign[i] is false, they are sent
 * no ASSIGN, take no part in the test and are not waited for.
 */
struct plan {
    int test;                         /* enum plan_test */
    char result_name[PROTO_NAME_MAX]; /* "concurrent_requests",
                                       * "sustained_load_<profile>" */
    uint32_t n_agents;                /* entries in assign / has_assign */
    uint32_t n_active;                /* agents with a share > 0 */
    uint32_t total_users; /* users at the peak, all agents together; for
                           * an open stream its connection slots
                           * (max_in_flight) */
    uint64_t duration_ms; /* of the load */
    uint32_t timeout_ms;  /* per request */
    uint32_t vector_dim;  /* from the node's name: same node, same dim */
    uint64_t seed;
    struct proto_assign *assign; /* n_agents entries (owned) */
    bool *has_assign;            /* n_agents entries (owned) */
};

/* Agent i's users at the peak: its plan_share of p->total_users (0 when i
 * is out of range). */
uint32_t plan_agent_users(const struct plan *p, uint32_t i);

/*
 * Builds the plan for o->test from c into *p (caller storage, fully
 * overwritten). Returns 0; E_INVAL (test not implemented, n_agents 0 or
 * above PLAN_MAX_AGENTS, 0 users, 0 duration, a mix that is all zero, an
 * unknown profile, a sustained test with model open and no arrival rate,
 * or fewer connection slots (the profile's users) than agents);
 * E_RANGE (a string that does not fit the wire: node_id above
 * PROTO_NAME_MAX - 1 or url above PROTO_URL_MAX - 1 bytes, a duration or
 * timeout that overflows milliseconds); E_NOMEM. On failure err holds one
 * line saying why and *p is untouched. Borrows c and o.
 */
int plan_build(struct plan *p, const struct config *c,
               const struct plan_opts *o, char *err, size_t errlen);

/* The recovery test's invalid phase, in whole seconds: invalid_requests
 * at invalid_concurrency slots, ceil(requests / concurrency), at least 1
 * (invalid_requests arrivals spread evenly over it). */
uint32_t plan_invalid_seconds(const struct recovery_cfg *rc);

/* Releases what plan_build allocated and zeroes p. Safe on a zeroed p. */
void plan_fini(struct plan *p);

#endif
