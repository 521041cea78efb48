/* SPDX-License-Identifier: MIT */
/*
 * The test planner: config + options -> one assignment per agent. Pure
 * computation; the fleet sends what this builds.
 */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/err.h"
#include "../common/poison.h"
#include "../common/rng.h"

static const char *const test_names[PLAN_TEST_COUNT] = {
    "concurrent", "sustained", "burst", "pool", "memory", "recovery", "all",
};

static const char *const result_names[PLAN_TEST_COUNT] = {
    "concurrent_requests", "sustained_load", "burst_traffic", "connection_pool",
    "memory_leak",         "error_recovery", "all",
};

int
plan_test_from_name(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < PLAN_TEST_COUNT; i++) {
        if (strcmp(test_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
plan_test_name(int t)
{
    return (t >= 0 && t < PLAN_TEST_COUNT) ? test_names[t] : NULL;
}

const char *
plan_result_name(int t)
{
    return (t >= 0 && t < PLAN_TEST_COUNT) ? result_names[t] : NULL;
}

bool
plan_test_implemented(int t)
{
    return t == PLAN_TEST_CONCURRENT || t == PLAN_TEST_SUSTAINED ||
           t == PLAN_TEST_RECOVERY || t == PLAN_TEST_MEMORY ||
           t == PLAN_TEST_BURST || t == PLAN_TEST_POOL;
}

int
plan_share(uint32_t users, uint32_t n, uint32_t i, uint32_t *share,
           uint32_t *base)
{
    uint32_t q = 0;
    uint32_t r = 0;

    if (n == 0 || i >= n || share == NULL || base == NULL) {
        return E_INVAL;
    }
    q = users / n;
    r = users % n;
    *share = q + (i < r ? 1u : 0u);
    /* Earlier agents: i of them have q, min(i, r) of those one more. */
    *base = q * i + (i < r ? i : r);
    return 0;
}

uint32_t
plan_agent_users(const struct plan *p, uint32_t i)
{
    uint32_t share = 0;
    uint32_t base = 0;

    if (plan_share(p->total_users, p->n_agents, i, &share, &base) != 0) {
        return 0;
    }
    return share;
}

/* Copies src into a dst of dstlen bytes; E_RANGE when it does not fit. */
static int
copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);

    if (n >= dstlen) {
        return E_RANGE;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* FNV-1a: a stable 64-bit hash of a name. */
static uint64_t
node_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The concurrent test (tests-design 5.1): all users at once, constant,
 * for the duration. */
static int
stream_concurrent(const struct config *c, struct proto_stream *st, char *name,
                  size_t namelen, char *err, size_t errlen)
{
    const struct concurrent_cfg *cc = &c->concurrent;

    if (cc->concurrent_users == 0) {
        (void)snprintf(err, errlen,
                       "test_scenarios.concurrent.concurrent_users is 0");
        return E_INVAL;
    }
    if (cc->duration_seconds == 0) {
        (void)snprintf(err, errlen,
                       "test_scenarios.concurrent.duration_seconds is 0");
        return E_INVAL;
    }
    st->pattern = CONFIG_PATTERN_CONSTANT;
    st->duration_ms = (uint64_t)cc->duration_seconds * 1000u;
    st->initial = cc->concurrent_users;
    st->peak = cc->concurrent_users;
    st->rate_per_user = cc->requests_per_user_per_second;
    st->think_ms = cc->think_time_ms;
    (void)snprintf(name, namelen, "%s", result_names[PLAN_TEST_CONCURRENT]);
    return 0;
}

/*
 * Turns the sustained stream st (filled as for the closed model) into an
 * open one (tests-design 4 and 5.2): the pattern's values become
 * arrivals/s, from initial_users (capped at the peak) to arrival_rate, or
 * to users x requests_per_user_per_second when arrival_rate is 0 (custom
 * stages name their own rates); the profile's users become the global
 * connection slots (max_in_flight), each with its own session; think time
 * and per-user rate do not apply.
 */
static int
open_sustained(const struct sustained_cfg *sc, const struct load_profile *lp,
               struct proto_stream *st, char *err, size_t errlen)
{
    double rate = sc->arrival_rate > 0.0
                      ? sc->arrival_rate
                      : lp->concurrent_users * lp->requests_per_user_per_second;

    st->model = PROTO_MODEL_OPEN;
    st->max_in_flight = lp->concurrent_users;
    st->rate_per_user = 0.0;
    st->think_ms = 0;
    if (sc->pattern != CONFIG_PATTERN_CUSTOM) {
        if (!(rate > 0.0) || !(rate < 4294967296.0)) {
            (void)snprintf(err, errlen,
                           "test_scenarios.sustained: model open needs "
                           "arrival_rate or load_profiles.%s."
                           "requests_per_user_per_second > 0",
                           lp->name);
            return E_INVAL;
        }
        st->peak = rate;
        st->initial = sc->initial_users < rate ? sc->initial_users : rate;
    }
    return 0;
}

/*
 * The sustained test (tests-design 5.2): the profile's users, duration,
 * ramp-up, rate and think time, shaped by test_scenarios.sustained. The
 * pattern runs from initial_users (capped at the profile's users) to the
 * profile's users; a custom pattern's stages name their own targets, so
 * its peak is the highest of them (and of initial), which sizes the
 * agents' users.
 */
static int
stream_sustained(const struct config *c, const char *profile,
                 struct proto_stream *st, char *name, size_t namelen, char *err,
                 size_t errlen)
{
    const struct sustained_cfg *sc = &c->sustained;
    const struct load_profile *lp;
    const char *pname = profile != NULL ? profile : "moderate";
    int rv;

    lp = config_profile(c, pname);
    if (lp == NULL) {
        (void)snprintf(err, errlen, "unknown load profile '%s'", pname);
        return E_INVAL;
    }
    if (lp->concurrent_users == 0 || lp->duration_seconds == 0) {
        (void)snprintf(err, errlen,
                       "load_profiles.%s: concurrent_users and "
                       "duration_seconds must be > 0",
                       lp->name);
        return E_INVAL;
    }
    if (sc->n_stages > PROTO_MAX_STAGES) {
        (void)snprintf(err, errlen, "test_scenarios.sustained: %zu stages",
                       sc->n_stages);
        return E_RANGE;
    }
    st->pattern = (uint32_t)sc->pattern;
    st->duration_ms = (uint64_t)lp->duration_seconds * 1000u;
    st->peak = lp->concurrent_users;
    st->initial = sc->initial_users < lp->concurrent_users
                      ? sc->initial_users
                      : lp->concurrent_users;
    st->ramp_ms = (uint64_t)lp->ramp_up_seconds * 1000u;
    st->spike_interval_ms = (uint64_t)sc->spike_interval_seconds * 1000u;
    st->spike_duration_ms = (uint64_t)sc->spike_duration_seconds * 1000u;
    st->wave_period_ms = (uint64_t)sc->wave_period_seconds * 1000u;
    st->step_ms = (uint64_t)sc->step_seconds * 1000u;
    st->step_size = sc->step_size;
    st->n_stages = (uint32_t)sc->n_stages;
    for (size_t i = 0; i < sc->n_stages; i++) {
        st->stages[i].duration_ms =
            (uint64_t)sc->stages[i].duration_seconds * 1000u;
        st->stages[i].target = sc->stages[i].target;
    }
    if (sc->pattern == CONFIG_PATTERN_CUSTOM) {
        st->initial = sc->initial_users;
        st->peak = st->initial;
        for (size_t i = 0; i < sc->n_stages; i++) {
            if (st->stages[i].target > st->peak) {
                st->peak = st->stages[i].target;
            }
        }
        if (!(st->peak >= 1.0)) {
            (void)snprintf(err, errlen,
                           "test_scenarios.sustained: the custom stages "
                           "never reach one user");
            return E_INVAL;
        }
    }
    st->rate_per_user = lp->requests_per_user_per_second;
    st->think_ms = lp->think_time_ms;
    if (sc->model == CONFIG_MODEL_OPEN) {
        rv = open_sustained(sc, lp, st, err, errlen);
        if (rv != 0) {
            return rv;
        }
    }
    (void)snprintf(name, namelen, "%s_%s", result_names[PLAN_TEST_SUSTAINED],
                   lp->name);
    return 0;
}

/*
 * The recovery test (tests-design 5.6): a closed baseline stream of the mix
 * for the whole run (baseline, invalid phase, up to max_recovery_seconds),
 * and an open stream of invalid requests from baseline_seconds on:
 * invalid_requests arrivals evenly spread over plan_invalid_seconds at
 * invalid_concurrency connection slots (at least one per agent).
 */
static int
streams_recovery(const struct config *c, uint32_t n_agents,
                 struct proto_stream *base, struct proto_stream *inv,
                 char *name, size_t namelen, char *err, size_t errlen)
{
    const struct recovery_cfg *rc = &c->recovery;
    uint32_t phase_s = 0;

    if (rc->concurrent_users == 0 || rc->baseline_seconds == 0 ||
        rc->invalid_requests == 0 || rc->max_recovery_seconds == 0) {
        (void)snprintf(err, errlen,
                       "test_scenarios.recovery: concurrent_users, "
                       "baseline_seconds, invalid_requests and "
                       "max_recovery_seconds must be > 0");
        return E_INVAL;
    }
    if (rc->invalid_concurrency < n_agents) {
        (void)snprintf(err, errlen,
                       "test_scenarios.recovery.invalid_concurrency %u is "
                       "below the %u agents (each needs a slot)",
                       rc->invalid_concurrency, n_agents);
        return E_INVAL;
    }
    phase_s = plan_invalid_seconds(rc);
    base->pattern = CONFIG_PATTERN_CONSTANT;
    base->duration_ms =
        ((uint64_t)rc->baseline_seconds + phase_s + rc->max_recovery_seconds) *
        1000u;
    base->initial = rc->concurrent_users;
    base->peak = rc->concurrent_users;
    base->rate_per_user = rc->requests_per_user_per_second;
    base->think_ms = rc->think_time_ms;
    *inv = *base;
    inv->model = PROTO_MODEL_OPEN;
    inv->requests = PROTO_REQ_INVALID;
    inv->start_ms = (uint64_t)rc->baseline_seconds * 1000u;
    inv->duration_ms = (uint64_t)phase_s * 1000u;
    /* Evenly spaced arrivals k / rate while k / rate < D: a hair below
     * n / D so that k = n lands just past the end whatever the rounding,
     * and exactly n arrivals (k = 0 .. n - 1) are planned. */
    inv->initial =
        (double)rc->invalid_requests / (double)phase_s * (1.0 - 1e-9);
    inv->peak = inv->initial;
    inv->rate_per_user = 0.0;
    inv->think_ms = 0;
    inv->max_in_flight = rc->invalid_concurrency;
    (void)snprintf(name, namelen, "%s", result_names[PLAN_TEST_RECOVERY]);
    return 0;
}

/*
 * The memory test (tests-design 5.5): constant closed load of the mix for
 * duration_minutes; agent 0 samples the target's memory (assign_memory).
 */
static int
stream_memory(const struct config *c, struct proto_stream *st, char *name,
              size_t namelen, char *err, size_t errlen)
{
    const struct memory_cfg *mc = &c->memory;

    if (mc->concurrent_users == 0 || mc->duration_minutes == 0 ||
        mc->sample_interval_seconds == 0) {
        (void)snprintf(err, errlen,
                       "test_scenarios.memory: concurrent_users, "
                       "duration_minutes and sample_interval_seconds must "
                       "be > 0");
        return E_INVAL;
    }
    st->pattern = CONFIG_PATTERN_CONSTANT;
    st->duration_ms = mc->duration_seconds > 0
                          ? (uint64_t)mc->duration_seconds * 1000u
                          : (uint64_t)mc->duration_minutes * 60000u;
    st->initial = mc->concurrent_users;
    st->peak = mc->concurrent_users;
    st->rate_per_user = mc->requests_per_user_per_second;
    st->think_ms = mc->think_time_ms;
    (void)snprintf(name, namelen, "%s", result_names[PLAN_TEST_MEMORY]);
    return 0;
}

/* The target sampler's part of agent 0's assignment, in every test
 * (docs/resources.md): the source (auto names the container, which the
 * agent uses when its Docker socket exists), pid or path, and the
 * interval: the memory test's sample_interval_seconds, else
 * monitoring.metrics_sample_interval_seconds. */
static int
assign_memory(const struct config *c, bool memory_test, struct proto_assign *a,
              char *err, size_t errlen)
{
    const struct memory_cfg *mc = &c->memory;
    uint32_t iv_s = memory_test ? mc->sample_interval_seconds
                                : c->monitoring.metrics_sample_interval_seconds;
    const char *path = mc->memory_source == CONFIG_MEMORY_SOURCE_CGROUP
                           ? mc->cgroup_path
                           : c->env.docker_container_name;

    a->mem_source = (uint64_t)mc->memory_source + 1u;
    a->mem_pid = mc->pid;
    a->mem_interval_ms = (uint64_t)iv_s * 1000u;
    if (copy_str(a->mem_path, sizeof(a->mem_path), path) != 0) {
        (void)snprintf(err, errlen,
                       "test_scenarios.memory: the cgroup path or "
                       "container name is longer than %u bytes",
                       (unsigned)(PROTO_URL_MAX - 1));
        return E_RANGE;
    }
    return 0;
}

uint32_t
plan_invalid_seconds(const struct recovery_cfg *rc)
{
    uint32_t c = rc->invalid_concurrency > 0 ? rc->invalid_concurrency : 1;
    uint32_t s = rc->invalid_requests / c + (rc->invalid_requests % c != 0);

    return s > 0 ? s : 1;
}

/*
 * The burst test (tests-design 5.3): stream 0 a closed baseline of
 * baseline_users (the mix at PLAN_BURST_BASELINE_RATE req/s each) for the
 * whole test; stream 1 an open stream of observes from
 * PLAN_BURST_LEAD_MS on, burst_count bursts of burst_size arrivals spread
 * over burst_duration_ms, interval_seconds apart, one group per burst, on
 * burst_size connection slots (every arrival of a burst can be in flight
 * at once).
 */
static int
streams_burst(const struct config *c, const struct proto_stream *base,
              struct proto_stream *sts, uint32_t *n_st, char *err,
              size_t errlen)
{
    const struct burst_cfg *b = &c->burst;
    uint64_t every_ms = (uint64_t)b->interval_seconds * 1000u;
    struct proto_stream *bl = &sts[0];
    struct proto_stream *bs = &sts[1];

    if (b->burst_size == 0 || b->burst_count == 0 || b->interval_seconds == 0 ||
        b->baseline_users == 0 || b->burst_duration_ms > every_ms) {
        (void)snprintf(err, errlen,
                       "test_scenarios.burst: burst_size, burst_count, "
                       "interval_seconds and baseline_users must be > 0 and "
                       "burst_duration_ms at most the interval");
        return E_INVAL;
    }
    *bl = *base;
    bl->pattern = CONFIG_PATTERN_CONSTANT;
    bl->duration_ms = PLAN_BURST_LEAD_MS + b->burst_count * every_ms;
    bl->initial = b->baseline_users;
    bl->peak = b->baseline_users;
    bl->rate_per_user = PLAN_BURST_BASELINE_RATE;
    *bs = *base;
    bs->model = PROTO_MODEL_OPEN;
    bs->requests = PROTO_REQ_OBSERVE;
    bs->pattern = CONFIG_PATTERN_CONSTANT;
    bs->start_ms = PLAN_BURST_LEAD_MS;
    bs->duration_ms = b->burst_count * every_ms;
    bs->max_in_flight = b->burst_size;
    bs->burst_size = b->burst_size;
    bs->burst_count = b->burst_count;
    bs->burst_ms = b->burst_duration_ms;
    bs->burst_every_ms = every_ms;
    bs->group_ms = every_ms;
    *n_st = 2;
    return 0;
}

/*
 * The pool test (tests-design 5.4): stream 0 the blast, n = 2 x
 * (connection_pool_size + connection_pool_overflow) large observes
 * released at once from PLAN_POOL_LEAD_MS on, each on its own fresh
 * connection (n slots, one group); stream 1 the probes, probe_users
 * closed users of the mix at PLAN_POOL_PROBE_RATE req/s each for
 * probe_seconds, PLAN_POOL_BLAST_MS after the blast, one group.
 */
static int
streams_pool(const struct config *c, const struct proto_stream *base,
             struct proto_stream *sts, uint32_t *n_st, char *err, size_t errlen)
{
    const struct pool_cfg *pc = &c->pool;
    uint64_t n = 2u * ((uint64_t)c->params.connection_pool_size +
                       c->params.connection_pool_overflow);
    struct proto_stream *bl = &sts[0];
    struct proto_stream *pr = &sts[1];

    if (n == 0 || n > UINT32_MAX || pc->probe_users == 0 ||
        pc->probe_seconds == 0) {
        (void)snprintf(err, errlen,
                       "pool test: 2 x (connection_pool_size + "
                       "connection_pool_overflow), probe_users and "
                       "probe_seconds must be > 0");
        return E_INVAL;
    }
    *bl = *base;
    bl->model = PROTO_MODEL_OPEN;
    bl->requests = PROTO_REQ_LARGE_OBSERVE;
    bl->connections = PROTO_CONN_FRESH;
    bl->pattern = CONFIG_PATTERN_CONSTANT;
    bl->start_ms = PLAN_POOL_LEAD_MS;
    bl->duration_ms = PLAN_POOL_BLAST_MS;
    bl->max_in_flight = (uint32_t)n;
    bl->burst_size = (uint32_t)n;
    bl->burst_count = 1;
    bl->group_ms = PLAN_POOL_BLAST_MS;
    *pr = *base;
    pr->pattern = CONFIG_PATTERN_CONSTANT;
    pr->start_ms = PLAN_POOL_LEAD_MS + PLAN_POOL_BLAST_MS;
    pr->duration_ms = (uint64_t)pc->probe_seconds * 1000u;
    pr->initial = pc->probe_users;
    pr->peak = pc->probe_users;
    pr->rate_per_user = PLAN_POOL_PROBE_RATE;
    pr->group_ms = pr->duration_ms;
    *n_st = 2;
    return 0;
}

int
plan_build(struct plan *p, const struct config *c, const struct plan_opts *o,
           char *err, size_t errlen)
{
    int rv = 0;
    struct plan np;
    struct proto_stream st;
    struct proto_stream sts[PROTO_MAX_STREAMS];
    uint32_t n_st = 1;
    struct rng r;
    double mix_sum = 0.0;
    uint32_t timeout_ms = 0;
    uint32_t connect_ms = 0;

    memset(&np, 0, sizeof(np));
    memset(&st, 0, sizeof(st));
    memset(sts, 0, sizeof(sts));
    if (o->test < 0 || o->test >= PLAN_TEST_COUNT ||
        !plan_test_implemented(o->test)) {
        (void)snprintf(err, errlen, "test '%s' is not implemented yet",
                       plan_test_name(o->test) ? plan_test_name(o->test) : "?");
        rv = E_INVAL;
        goto out;
    }
    if (o->n_agents == 0 || o->n_agents > PLAN_MAX_AGENTS) {
        (void)snprintf(err, errlen, "agent count %u is not in 1..%u",
                       (unsigned)o->n_agents, (unsigned)PLAN_MAX_AGENTS);
        rv = E_INVAL;
        goto out;
    }
    /* One closed stream of the operations mix on keep-alive connections;
     * the test decides its shape. */
    st.model = PROTO_MODEL_CLOSED;
    st.requests = PROTO_REQ_MIX;
    st.connections = PROTO_CONN_REUSE;
    st.start_ms = 0;
    if (o->test == PLAN_TEST_SUSTAINED) {
        rv = stream_sustained(c, o->profile, &st, np.result_name,
                              sizeof(np.result_name), err, errlen);
    } else if (o->test == PLAN_TEST_MEMORY) {
        rv = stream_memory(c, &st, np.result_name, sizeof(np.result_name), err,
                           errlen);
    } else if (o->test == PLAN_TEST_RECOVERY) {
        sts[0] = st;
        rv = streams_recovery(c, o->n_agents, &sts[0], &sts[1], np.result_name,
                              sizeof(np.result_name), err, errlen);
        n_st = 2;
    } else if (o->test == PLAN_TEST_BURST || o->test == PLAN_TEST_POOL) {
        rv = o->test == PLAN_TEST_BURST
                 ? streams_burst(c, &st, sts, &n_st, err, errlen)
                 : streams_pool(c, &st, sts, &n_st, err, errlen);
        (void)snprintf(np.result_name, sizeof(np.result_name), "%s",
                       result_names[o->test]);
    } else {
        rv = stream_concurrent(c, &st, np.result_name, sizeof(np.result_name),
                               err, errlen);
    }
    if (rv != 0) {
        goto out;
    }
    if (n_st == 1) {
        sts[0] = st;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        if (i != OP_SESSION && c->mix[i] > 0.0) {
            mix_sum += c->mix[i];
        }
    }
    if (!(mix_sum > 0.0)) {
        (void)snprintf(err, errlen, "operations_mix has no operation");
        rv = E_INVAL;
        goto out;
    }
    /* Seconds to milliseconds: uint32 seconds always fit uint64 ms; the
     * per-request timeouts travel as uint32 ms. */
    if (c->params.request_timeout_seconds > UINT32_MAX / 1000u ||
        c->params.connection_timeout_seconds > UINT32_MAX / 1000u) {
        (void)snprintf(err, errlen, "test_parameters: timeout too large");
        rv = E_RANGE;
        goto out;
    }
    timeout_ms = c->params.request_timeout_seconds * 1000u;
    connect_ms = c->params.connection_timeout_seconds * 1000u;

    np.assign = xcalloc(o->n_agents, sizeof(*np.assign));
    np.has_assign = xcalloc(o->n_agents, sizeof(*np.has_assign));
    if (np.assign == NULL || np.has_assign == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        rv = E_NOMEM;
        goto out;
    }
    np.test = o->test;
    np.n_agents = o->n_agents;
    /* Closed: users at the peak (peak <= UINT32_MAX: from uint32); open:
     * connection slots, split the same way. */
    for (uint32_t si = 0; si < n_st; si++) {
        const struct proto_stream *x = &sts[si];
        uint64_t tot = (uint64_t)np.total_users + (x->model == PROTO_MODEL_OPEN
                                                       ? x->max_in_flight
                                                       : (uint32_t)x->peak);
        if (x->model == PROTO_MODEL_OPEN && x->max_in_flight < o->n_agents) {
            /* Every agent takes a residue class of the arrivals. */
            (void)snprintf(err, errlen,
                           "model open: %u connection slots (the profile's "
                           "users) for %u agents; give each agent one at "
                           "least",
                           x->max_in_flight, o->n_agents);
            rv = E_INVAL;
            goto out;
        }
        if (tot > UINT32_MAX) {
            (void)snprintf(err, errlen, "too many users");
            rv = E_RANGE;
            goto out;
        }
        np.total_users = (uint32_t)tot;
        if (x->start_ms + x->duration_ms > np.duration_ms) {
            np.duration_ms = x->start_ms + x->duration_ms;
        }
    }
    np.timeout_ms = timeout_ms;
    np.seed = o->seed;
    /*
     * One dimension for the whole node, from the node's name and not from
     * the run's seed: KATO locks a node's vector dimension on the first
     * vector it sees and answers 400 to any other, across runs too, so a
     * second run against the same node must use the same dimension.
     */
    rng_seed(&r, node_hash(c->env.kato_processor_id));
    np.vector_dim = (uint32_t)rng_range(&r, c->data.min_vector_size,
                                        c->data.max_vector_size);

    for (uint32_t i = 0; i < o->n_agents; i++) {
        struct proto_assign *a = &np.assign[i];
        uint32_t share = 0;
        uint32_t base = 0;

        rv = plan_share(np.total_users, o->n_agents, i, &share, &base);
        if (rv != 0) {
            (void)snprintf(err, errlen, "internal: bad share");
            goto out;
        }
        if (copy_str(a->test, sizeof(a->test), test_names[o->test]) != 0 ||
            copy_str(a->url, sizeof(a->url), c->env.kato_base_url) != 0) {
            (void)snprintf(err, errlen,
                           "environment.kato_base_url is longer than %u "
                           "bytes",
                           (unsigned)(PROTO_URL_MAX - 1));
            rv = E_RANGE;
            goto out;
        }
        if (copy_str(a->node_id, sizeof(a->node_id),
                     c->env.kato_processor_id) != 0) {
            (void)snprintf(err, errlen,
                           "environment.kato_processor_id is longer than %u "
                           "bytes",
                           (unsigned)(PROTO_NAME_MAX - 1));
            rv = E_RANGE;
            goto out;
        }
        a->duration_ms = np.duration_ms;
        a->timeout_ms = timeout_ms;
        a->connect_timeout_ms = connect_ms;
        for (int k = 0; k < OP_COUNT; k++) {
            a->mix[k] = k == OP_SESSION ? 0.0 : c->mix[k];
        }
        a->data = c->data;
        a->vector_dim = np.vector_dim;
        a->seed = o->seed;
        a->agent_index = i;
        a->n_agents = o->n_agents;
        a->n_streams = n_st;
        memcpy(a->streams, sts, sizeof(sts));
        a->large_strings = c->pool.large_strings;
        if (i == 0 && (rv = assign_memory(c, o->test == PLAN_TEST_MEMORY, a,
                                          err, errlen)) != 0) {
            goto out;
        }
        np.has_assign[i] = share > 0;
        if (share > 0) {
            np.n_active++;
        }
    }
    *p = np;
    memset(&np, 0, sizeof(np));
out:
    plan_fini(&np);
    return rv;
}

void
plan_fini(struct plan *p)
{
    xfree(p->assign);
    xfree(p->has_assign);
    memset(p, 0, sizeof(*p));
}
