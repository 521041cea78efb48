/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the master's pure parts: master/plan (the exact split of
 * users over agents, fields copied from the config, the seeded vector
 * dimension), master/aggregate (exact merge, dedupe, gaps, GOODBYE
 * comparison, validation) and master/report (verdict, number format, JSON).
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "../../agent/pattern.h"
#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/config.h"
#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../common/rng.h"
#include "../../master/aggregate.h"
#include "../../master/csv.h"
#include "../../master/junit.h"
#include "../../master/plan.h"
#include "../../master/report.h"

#include "../../common/poison.h"

#define FX_BUCKETS 8

/* Everything a test allocates hangs here; teardown frees it all. */
struct fx {
    struct config cfg;
    struct plan plan;
    struct agg *agg;
    struct hist *h[4];
    struct hist_bucket *b[FX_BUCKETS];
    struct buf out;
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    config_defaults(&f->cfg);
    buf_init(&f->out, 1u << 20);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    alloc_fail_after(-1);
    plan_fini(&f->plan);
    agg_free(f->agg);
    for (size_t i = 0; i < 4; i++) {
        hist_free(f->h[i]);
    }
    for (size_t i = 0; i < FX_BUCKETS; i++) {
        xfree(f->b[i]);
    }
    buf_fini(&f->out);
    xfree(f);
    return 0;
}

/* --- plan ---------------------------------------------------------------- */

static void
check_split(uint32_t users, uint32_t n)
{
    uint64_t sum = 0;
    uint32_t lo = UINT32_MAX;
    uint32_t hi = 0;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t share = 0;
        uint32_t base = 0;
        assert_int_equal(plan_share(users, n, i, &share, &base), 0);
        assert_int_equal(base, sum);
        assert_true(share == 0 ? i >= users : i < users || users >= n);
        lo = share < lo ? share : lo;
        hi = share > hi ? share : hi;
        sum += share;
    }
    assert_int_equal(sum, users);
    assert_true(hi - lo <= 1);
}

static void
test_share_exact(void **state)
{
    (void)state;
    for (uint32_t u = 0; u <= 200; u++) {
        for (uint32_t n = 1; n <= 40; n++) {
            check_split(u, n);
        }
    }
    check_split(1000000, 4096);
    check_split(UINT32_MAX, 7);
    check_split(3, 4096);
}

static void
test_share_values(void **state)
{
    uint32_t share = 99;
    uint32_t base = 99;

    (void)state;
    /* 10 users over 3 agents: 4, 3, 3 at 0, 4, 7. */
    assert_int_equal(plan_share(10, 3, 0, &share, &base), 0);
    assert_int_equal(share, 4);
    assert_int_equal(base, 0);
    assert_int_equal(plan_share(10, 3, 2, &share, &base), 0);
    assert_int_equal(share, 3);
    assert_int_equal(base, 7);
    /* 2 users over 5 agents: the last three get none. */
    assert_int_equal(plan_share(2, 5, 4, &share, &base), 0);
    assert_int_equal(share, 0);
    assert_int_equal(base, 2);
    share = 77;
    assert_int_equal(plan_share(10, 0, 0, &share, &base), E_INVAL);
    assert_int_equal(plan_share(10, 3, 3, &share, &base), E_INVAL);
    assert_int_equal(share, 77);
}

static void
test_build_fields(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_CONCURRENT, 3, 42, NULL};
    char err[128] = "";
    const struct proto_assign *a = NULL;

    f->cfg.concurrent.concurrent_users = 10;
    f->cfg.concurrent.duration_seconds = 30;
    f->cfg.concurrent.requests_per_user_per_second = 2.5;
    f->cfg.concurrent.think_time_ms = 250;
    f->cfg.params.request_timeout_seconds = 7;
    f->cfg.params.connection_timeout_seconds = 3;
    (void)snprintf(f->cfg.env.kato_processor_id, CONFIG_STR_MAX, "node-x");
    (void)snprintf(f->cfg.env.kato_base_url, CONFIG_STR_MAX,
                   "http://127.0.0.1:9");
    f->cfg.data.min_vector_size = 5;
    f->cfg.data.max_vector_size = 9;

    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_int_equal(f->plan.n_agents, 3);
    assert_int_equal(f->plan.n_active, 3);
    assert_int_equal(f->plan.total_users, 10);
    assert_int_equal(f->plan.duration_ms, 30000);
    assert_int_equal(f->plan.timeout_ms, 7000);
    for (uint32_t i = 0; i < 3; i++) {
        a = &f->plan.assign[i];
        assert_true(f->plan.has_assign[i]);
        assert_string_equal(a->test, "concurrent");
        assert_string_equal(a->url, "http://127.0.0.1:9");
        assert_string_equal(a->node_id, "node-x");
        assert_int_equal(a->duration_ms, 30000);
        assert_int_equal(a->agent_index, i);
        assert_int_equal(a->n_agents, 3);
        assert_int_equal(a->n_streams, 1);
        /* One closed constant stream of the mix, global values: each
         * agent takes its share itself. */
        assert_int_equal(a->streams[0].model, PROTO_MODEL_CLOSED);
        assert_int_equal(a->streams[0].requests, PROTO_REQ_MIX);
        assert_int_equal(a->streams[0].connections, PROTO_CONN_REUSE);
        assert_int_equal(a->streams[0].pattern, CONFIG_PATTERN_CONSTANT);
        assert_int_equal(a->streams[0].start_ms, 0);
        assert_int_equal(a->streams[0].duration_ms, 30000);
        assert_true(a->streams[0].initial == 10.0);
        assert_true(a->streams[0].peak == 10.0);
        assert_int_equal(a->streams[0].ramp_ms, 0);
        assert_int_equal(a->streams[0].n_stages, 0);
        assert_true(a->streams[0].rate_per_user == 2.5);
        assert_int_equal(a->streams[0].think_ms, 250);
        assert_int_equal(a->timeout_ms, 7000);
        assert_int_equal(a->connect_timeout_ms, 3000);
        assert_true(a->mix[OP_SESSION] == 0.0);
        for (int k = 1; k < OP_COUNT; k++) {
            assert_true(a->mix[k] == f->cfg.mix[k]);
        }
        assert_int_equal(a->data.max_string_length,
                         f->cfg.data.max_string_length);
        assert_true(a->vector_dim >= 5 && a->vector_dim <= 9);
        assert_int_equal(a->vector_dim, f->plan.vector_dim);
        assert_int_equal(a->seed, 42);
    }
    assert_string_equal(f->plan.result_name, "concurrent_requests");
    assert_int_equal(plan_agent_users(&f->plan, 0), 4);
    assert_int_equal(plan_agent_users(&f->plan, 1), 3);
    assert_int_equal(plan_agent_users(&f->plan, 2), 3);
    assert_int_equal(plan_agent_users(&f->plan, 3), 0);
}

static void
test_build_sustained(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_SUSTAINED, 2, 9, "light"};
    const struct proto_stream *s;
    char err[128] = "";

    f->cfg.sustained.pattern = CONFIG_PATTERN_STEP;
    f->cfg.sustained.initial_users = 2;
    f->cfg.sustained.step_seconds = 3;
    f->cfg.sustained.step_size = 4;
    f->cfg.sustained.spike_interval_seconds = 20;
    f->cfg.sustained.spike_duration_seconds = 5;
    f->cfg.sustained.wave_period_seconds = 40;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(f->plan.result_name, "sustained_load_light");
    /* light: 10 users, 60 s, ramp-up 10 s, 1 req/s, think 1000 ms. */
    assert_int_equal(f->plan.total_users, 10);
    assert_int_equal(f->plan.duration_ms, 60000);
    for (uint32_t i = 0; i < 2; i++) {
        assert_string_equal(f->plan.assign[i].test, "sustained");
        assert_int_equal(f->plan.assign[i].agent_index, i);
        assert_int_equal(f->plan.assign[i].n_streams, 1);
        s = &f->plan.assign[i].streams[0];
        assert_int_equal(s->model, PROTO_MODEL_CLOSED);
        assert_int_equal(s->pattern, CONFIG_PATTERN_STEP);
        assert_int_equal(s->duration_ms, 60000);
        assert_true(s->initial == 2.0);
        assert_true(s->peak == 10.0);
        assert_int_equal(s->ramp_ms, 10000);
        assert_int_equal(s->step_ms, 3000);
        assert_true(s->step_size == 4.0);
        assert_int_equal(s->spike_interval_ms, 20000);
        assert_int_equal(s->spike_duration_ms, 5000);
        assert_int_equal(s->wave_period_ms, 40000);
        assert_true(s->rate_per_user == 1.0);
        assert_int_equal(s->think_ms, 1000);
    }
    assert_int_equal(
        plan_agent_users(&f->plan, 0) + plan_agent_users(&f->plan, 1), 10);
    plan_fini(&f->plan);

    /* No --profile: moderate (50 users); initial above the users is
     * capped. */
    o.profile = NULL;
    f->cfg.sustained.initial_users = 500;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(f->plan.result_name, "sustained_load_moderate");
    assert_true(f->plan.assign[0].streams[0].initial == 50.0);
    assert_true(f->plan.assign[0].streams[0].peak == 50.0);
    plan_fini(&f->plan);

    /* custom: the stages, in ms; the peak is the highest target. */
    f->cfg.sustained.pattern = CONFIG_PATTERN_CUSTOM;
    f->cfg.sustained.initial_users = 0;
    f->cfg.sustained.n_stages = 3;
    f->cfg.sustained.stages[0] = (struct config_stage){2, 6};
    f->cfg.sustained.stages[1] = (struct config_stage){3, 80};
    f->cfg.sustained.stages[2] = (struct config_stage){1, 0};
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    s = &f->plan.assign[1].streams[0];
    assert_int_equal(s->n_stages, 3);
    assert_int_equal(s->stages[1].duration_ms, 3000);
    assert_true(s->stages[1].target == 80.0);
    assert_true(s->initial == 0.0);
    assert_true(s->peak == 80.0);
    assert_int_equal(f->plan.total_users, 80);
    plan_fini(&f->plan);

    /* Refusals: an unknown profile. */
    o.profile = "nope";
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "nope"));
}

static void
test_build_sustained_open(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_SUSTAINED, 2, 9, "light"};
    const struct proto_stream *s;
    char err[160] = "";

    /* light: 10 users at 1 req/s: 10 arrivals/s, 10 slots (5 each). */
    f->cfg.sustained.model = CONFIG_MODEL_OPEN;
    f->cfg.sustained.pattern = CONFIG_PATTERN_RAMP_UP;
    f->cfg.sustained.initial_users = 2;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(f->plan.result_name, "sustained_load_light");
    assert_int_equal(f->plan.total_users, 10);
    assert_int_equal(f->plan.n_active, 2);
    for (uint32_t i = 0; i < 2; i++) {
        s = &f->plan.assign[i].streams[0];
        assert_int_equal(s->model, PROTO_MODEL_OPEN);
        assert_int_equal(s->pattern, CONFIG_PATTERN_RAMP_UP);
        assert_true(s->peak == 10.0);
        assert_true(s->initial == 2.0);
        assert_int_equal(s->max_in_flight, 10);
        assert_int_equal(s->ramp_ms, 10000);
        assert_true(s->rate_per_user == 0.0);
        assert_int_equal(s->think_ms, 0);
    }
    plan_fini(&f->plan);

    /* arrival_rate wins; initial is capped at it. */
    f->cfg.sustained.arrival_rate = 1.5;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_true(f->plan.assign[0].streams[0].peak == 1.5);
    assert_true(f->plan.assign[0].streams[0].initial == 1.5);
    plan_fini(&f->plan);

    /* No rate at all. */
    f->cfg.sustained.arrival_rate = 0;
    for (size_t i = 0; i < f->cfg.n_profiles; i++) {
        f->cfg.profiles[i].requests_per_user_per_second = 0;
    }
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "arrival_rate"));

    /* Fewer slots than agents: some agent would own arrivals and no slot. */
    f->cfg.sustained.arrival_rate = 100;
    o.n_agents = 11;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "10 connection slots"));
}

static void
test_build_fewer_users(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_CONCURRENT, 5, 1, NULL};
    char err[128] = "";
    uint32_t sum = 0;

    f->cfg.concurrent.concurrent_users = 2;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_int_equal(f->plan.n_active, 2);
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(f->plan.has_assign[i], i < 2);
        assert_int_equal(plan_agent_users(&f->plan, i), i < 2 ? 1 : 0);
        sum += plan_agent_users(&f->plan, i);
    }
    assert_int_equal(sum, 2);
}

static void
test_build_rejects(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_CONCURRENT, 2, 1, NULL};
    char err[128] = "";

    f->plan.n_agents = 12345; /* must stay untouched on failure */
    f->cfg.concurrent.concurrent_users = 0;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "concurrent_users"));
    assert_int_equal(f->plan.n_agents, 12345);

    f->cfg.concurrent.concurrent_users = 5;
    o.n_agents = 0;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    o.n_agents = PLAN_MAX_AGENTS + 1;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);

    o.n_agents = 2;
    o.test = PLAN_TEST_COUNT; /* every test is implemented: out of range */
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_string_equal(err, "test '?' is not implemented yet");

    o.test = PLAN_TEST_CONCURRENT;
    memset(f->cfg.env.kato_processor_id, 'n', PROTO_NAME_MAX);
    f->cfg.env.kato_processor_id[PROTO_NAME_MAX] = '\0';
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_RANGE);
    assert_non_null(strstr(err, "kato_processor_id"));
    f->cfg.env.kato_processor_id[PROTO_NAME_MAX - 1] = '\0';
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_int_equal(strlen(f->plan.assign[1].node_id), PROTO_NAME_MAX - 1);
}

static void
test_vector_dim_seeded(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_CONCURRENT, 1, 0, NULL};
    char err[128] = "";
    uint32_t first = 0;
    bool varied = false;

    /* KATO locks a node's dimension across runs: the run seed must not
     * change it, the node's name decides it. */
    f->cfg.data.min_vector_size = 10;
    f->cfg.data.max_vector_size = 100;
    for (uint64_t s = 0; s < 20; s++) {
        o.seed = s * 7919u;
        assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                         0);
        if (s == 0) {
            first = f->plan.vector_dim;
        }
        assert_true(f->plan.vector_dim >= 10 && f->plan.vector_dim <= 100);
        assert_int_equal(f->plan.vector_dim, first);
        plan_fini(&f->plan);
    }
    for (int n = 0; n < 20; n++) {
        (void)snprintf(f->cfg.env.kato_processor_id,
                       sizeof(f->cfg.env.kato_processor_id), "node-%d", n);
        assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                         0);
        assert_true(f->plan.vector_dim >= 10 && f->plan.vector_dim <= 100);
        varied = varied || f->plan.vector_dim != first;
        plan_fini(&f->plan);
    }
    assert_true(varied);
    f->cfg.data.min_vector_size = 16;
    f->cfg.data.max_vector_size = 16;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_int_equal(f->plan.vector_dim, 16);
}

static void
test_build_oom(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_CONCURRENT, 4, 3, NULL};
    char err[128] = "";
    int rv = E_NOMEM;

    for (long n = 0; n < 10 && rv == E_NOMEM; n++) {
        alloc_fail_after(n);
        rv = plan_build(&f->plan, &f->cfg, &o, err, sizeof(err));
        alloc_fail_after(-1);
        assert_true(rv == 0 || rv == E_NOMEM);
    }
    assert_int_equal(rv, 0);
    assert_int_equal(f->plan.n_agents, 4);
}

/* The recovery test: a closed baseline for the whole run and an open
 * stream of exactly invalid_requests invalid arrivals after the baseline,
 * on slots enough for every agent. */
static void
test_build_recovery(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_RECOVERY, 3, 7, NULL};
    char err[160] = "";
    const struct proto_stream *b = NULL;
    const struct proto_stream *v = NULL;
    struct pattern_arrivals it;
    uint64_t k = 0, t = 0, n = 0;

    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(f->plan.result_name, "error_recovery");
    /* 30 s baseline + 100 requests at 50 in flight (2 s) + 60 s. */
    assert_int_equal(f->plan.duration_ms, 92000);
    assert_int_equal(f->plan.n_active, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(f->plan.has_assign[i]);
        assert_int_equal(f->plan.assign[i].n_streams, 2);
    }
    b = &f->plan.assign[0].streams[0];
    v = &f->plan.assign[0].streams[1];
    assert_int_equal(b->model, PROTO_MODEL_CLOSED);
    assert_int_equal(b->requests, PROTO_REQ_MIX);
    assert_int_equal(b->start_ms, 0);
    assert_int_equal(b->duration_ms, 92000);
    assert_true(b->peak == 10.0 && b->rate_per_user == 1.0);
    assert_int_equal(b->think_ms, 100);
    assert_int_equal(v->model, PROTO_MODEL_OPEN);
    assert_int_equal(v->requests, PROTO_REQ_INVALID);
    assert_int_equal(v->start_ms, 30000);
    assert_int_equal(v->duration_ms, 2000);
    assert_int_equal(v->max_in_flight, 50);
    pattern_arrivals_init(&it, v, 7);
    while (n < 1000 && pattern_arrivals_next(&it, &k, &t)) {
        n++;
    }
    assert_int_equal(n, 100);
    /* Uneven: 7 at 3 in flight -> 3 s, still exactly 7 arrivals. */
    plan_fini(&f->plan);
    f->cfg.recovery.invalid_requests = 7;
    f->cfg.recovery.invalid_concurrency = 3;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    v = &f->plan.assign[0].streams[1];
    assert_int_equal(v->duration_ms, 3000);
    pattern_arrivals_init(&it, v, 7);
    for (n = 0; n < 1000 && pattern_arrivals_next(&it, &k, &t);) {
        n++;
    }
    assert_int_equal(n, 7);
    /* Fewer slots than agents: refused. */
    plan_fini(&f->plan);
    f->cfg.recovery.invalid_concurrency = 2;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "invalid_concurrency"));
}

static void
test_test_names(void **state)
{
    (void)state;
    assert_int_equal(plan_test_from_name("concurrent"), PLAN_TEST_CONCURRENT);
    assert_int_equal(plan_test_from_name("all"), PLAN_TEST_ALL);
    assert_int_equal(plan_test_from_name("bogus"), -1);
    assert_int_equal(plan_test_from_name(NULL), -1);
    assert_true(plan_test_implemented(PLAN_TEST_CONCURRENT));
    assert_true(plan_test_implemented(PLAN_TEST_SUSTAINED));
    assert_true(plan_test_implemented(PLAN_TEST_BURST));
    assert_true(plan_test_implemented(PLAN_TEST_POOL));
    assert_true(plan_test_implemented(PLAN_TEST_RECOVERY));
    assert_true(plan_test_implemented(PLAN_TEST_MEMORY));
    assert_string_equal(plan_result_name(PLAN_TEST_CONCURRENT),
                        "concurrent_requests");
    assert_null(plan_test_name(PLAN_TEST_COUNT));
}

/* --- aggregate --------------------------------------------------------------
 */

/* Exports h into the fixture's bucket slot k; returns the count. */
static size_t
export_to(struct fx *f, size_t k, const struct hist *h)
{
    size_t n = hist_nonzero(h);

    xfree(f->b[k]);
    f->b[k] = xcalloc(n ? n : 1, sizeof(*f->b[k]));
    assert_non_null(f->b[k]);
    assert_int_equal(hist_export(h, f->b[k], n), n);
    return n;
}

/* A batch with one op's latency from h (service = same buckets). */
static struct proto_batch
batch_of(struct fx *f, size_t slot, uint64_t seq, uint32_t interval, int op,
         const struct hist *h, uint64_t errors, struct proto_err_count *ec,
         size_t n_ec)
{
    struct proto_batch b;
    size_t n = export_to(f, slot, h);

    memset(&b, 0, sizeof(b));
    b.seq = seq;
    b.interval = interval;
    b.op[op].requests = hist_count(h);
    b.op[op].errors = errors;
    b.op[op].bytes_sent = 100 * hist_count(h);
    b.op[op].n_latency = n;
    b.op[op].latency = f->b[slot];
    b.op[op].n_service = n;
    b.op[op].service = f->b[slot];
    b.op[op].n_errors = n_ec;
    b.op[op].err = ec;
    return b;
}

static void
test_agg_exact_merge(void **state)
{
    struct fx *f = *state;
    struct rng r;
    struct proto_batch b;
    struct proto_err_count ec[2] = {{404, 3}, {ERRK_TIMEOUT, 1}};
    const double ps[] = {50, 90, 99, 99.9, 99.99, 100};

    assert_int_equal(agg_new(&f->agg, 10), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 3), 0);
    assert_int_equal(agg_add_agent(f->agg, 2, "b", 2), 0);
    assert_int_equal(agg_add_agent(f->agg, 2, "dup", 2), E_INVAL);
    assert_int_equal(agg_add_agent(f->agg, 0, "zero", 2), E_INVAL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hist_new(&f->h[i]), 0);
    }
    /* h[2] holds everything; h[0] and h[1] the two agents' halves. */
    rng_seed(&r, 99);
    for (int i = 0; i < 20000; i++) {
        uint64_t v = 1 + rng_range(&r, 0, 2000000);
        hist_record(f->h[i % 3 == 0 ? 0 : 1], v);
        hist_record(f->h[2], v);
    }
    b = batch_of(f, 0, 1, 0, OP_OBSERVE, f->h[0], 4, ec, 2);
    assert_int_equal(agg_merge(f->agg, 1, &b), 0);
    b = batch_of(f, 1, 1, 0, OP_OBSERVE, f->h[1], 0, NULL, 0);
    b.agent_id = 1; /* not trusted: the sender's id counts */
    assert_int_equal(agg_merge(f->agg, 2, &b), 0);

    /* The reference: all values sent as one agent's batch (what travels
     * is buckets, so compare with an imported histogram). */
    assert_int_equal(hist_new(&f->h[3]), 0);
    {
        size_t n = export_to(f, 2, f->h[2]);
        assert_int_equal(hist_import(f->h[3], f->b[2], n), 0);
    }
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        assert_int_equal(
            hist_percentile(agg_latency(f->agg, OP_OBSERVE), ps[i]),
            hist_percentile(f->h[3], ps[i]));
        assert_int_equal(hist_percentile(agg_latency(f->agg, -1), ps[i]),
                         hist_percentile(f->h[3], ps[i]));
        assert_int_equal(hist_percentile(agg_service(f->agg, -1), ps[i]),
                         hist_percentile(f->h[3], ps[i]));
    }
    assert_true(hist_mean(agg_latency(f->agg, -1)) == hist_mean(f->h[3]));
    /* Exact values do not travel: max is its bucket's highest value. */
    assert_int_equal(hist_max(agg_latency(f->agg, -1)),
                     hist_highest_of(hist_index_of(hist_max(f->h[2]))));
    assert_int_equal(agg_op_counts(f->agg, OP_OBSERVE).requests, 20000);
    assert_int_equal(agg_op_counts(f->agg, -1).requests, 20000);
    assert_int_equal(agg_op_counts(f->agg, -1).errors, 4);
    assert_int_equal(agg_op_counts(f->agg, -1).bytes_sent, 2000000);
    assert_int_equal(agg_op_counts(f->agg, OP_LEARN).requests, 0);
    assert_int_equal(agg_errors(f->agg, OP_OBSERVE, 404), 3);
    assert_int_equal(agg_errors(f->agg, -1, ERRK_TIMEOUT), 1);
    assert_int_equal(agg_errors(f->agg, OP_LEARN, 404), 0);
    {
        uint64_t req = 0;
        uint64_t err = 0;
        assert_int_equal(agg_interval(f->agg, 0, &req, &err), 0);
        assert_int_equal(req, 20000);
        assert_int_equal(err, 4);
        assert_int_equal(agg_n_intervals(f->agg), 1);
    }
    {
        struct agg_agent_info ai;
        assert_int_equal(agg_agent(f->agg, 1, &ai), 0);
        assert_int_equal(ai.id, 2);
        assert_string_equal(ai.name, "b");
        assert_int_equal(ai.requests, hist_count(f->h[1]));
        assert_int_equal(ai.batches, 1);
        assert_int_equal(agg_agent(f->agg, 2, &ai), E_RANGE);
    }
}

static void
test_agg_dedupe_and_gaps(void **state)
{
    struct fx *f = *state;
    struct proto_batch b;
    struct proto_goodbye g;
    uint32_t miss[8];
    struct agg_agent_info ai;

    assert_int_equal(agg_new(&f->agg, 5), 0);
    assert_int_equal(agg_add_agent(f->agg, 7, "x", 1), 0);
    assert_int_equal(hist_new(&f->h[0]), 0);
    hist_record_n(f->h[0], 1500, 10);
    /* Intervals 0, 1, 3 with seqs 1, 2, 3; seq 2 re-sent. */
    b = batch_of(f, 0, 1, 0, OP_LEARN, f->h[0], 0, NULL, 0);
    assert_int_equal(agg_merge(f->agg, 7, &b), 0);
    b.seq = 2;
    b.interval = 1;
    assert_int_equal(agg_merge(f->agg, 7, &b), 0);
    assert_int_equal(agg_merge(f->agg, 7, &b), 1);
    b.seq = 3;
    b.interval = 3;
    assert_int_equal(agg_merge(f->agg, 7, &b), 0);
    assert_int_equal(agg_op_counts(f->agg, OP_LEARN).requests, 30);
    assert_int_equal(hist_count(agg_latency(f->agg, -1)), 30);

    assert_int_equal(agg_agent_missing(f->agg, 0, miss, 8), 2);
    assert_int_equal(miss[0], 2);
    assert_int_equal(miss[1], 4);
    assert_false(agg_complete(f->agg));
    agg_set_expected(f->agg, 3); /* as if interrupted after 3 s */
    assert_int_equal(agg_agent_missing(f->agg, 0, miss, 8), 1);
    assert_int_equal(miss[0], 2);
    agg_set_expected(f->agg, 5);

    memset(&g, 0, sizeof(g));
    g.last_seq = 3;
    g.requests[OP_LEARN] = 30;
    assert_int_equal(agg_goodbye(f->agg, 7, &g), 0);
    assert_int_equal(agg_agent(f->agg, 0, &ai), 0);
    assert_int_equal(ai.duplicates, 1);
    assert_int_equal(ai.batches, 3);
    assert_true(ai.goodbye);
    assert_true(ai.totals_match);
    assert_int_equal(ai.n_missing, 2);
    assert_false(agg_complete(f->agg)); /* intervals 2 and 4 missing */

    /* The missing intervals arrive: complete. */
    b.seq = 4;
    b.interval = 2;
    assert_int_equal(agg_merge(f->agg, 7, &b), 0);
    b.seq = 5;
    b.interval = 4;
    assert_int_equal(agg_merge(f->agg, 7, &b), 0);
    g.last_seq = 5;
    g.requests[OP_LEARN] = 50;
    assert_int_equal(agg_goodbye(f->agg, 7, &g), 0);
    assert_int_equal(agg_agent_missing(f->agg, 0, miss, 8), 0);
    assert_true(agg_complete(f->agg));

    /* A GOODBYE that claims more than arrived: mismatch, incomplete. */
    /* Fewer intervals expected (interrupted run): still none missing;
     * more than the duration is clamped. */
    agg_set_expected(f->agg, 2);
    assert_int_equal(agg_agent_missing(f->agg, 0, miss, 8), 0);
    agg_set_expected(f->agg, 100);
    assert_int_equal(agg_agent_missing(f->agg, 0, miss, 8), 0);

    g.last_seq = 6;
    assert_int_equal(agg_goodbye(f->agg, 7, &g), 1);
    assert_false(agg_complete(f->agg));
    assert_int_equal(agg_agent(f->agg, 0, &ai), 0);
    assert_int_equal(ai.n_missing_seq, 1);
    g.last_seq = 5;
    g.errors[OP_LEARN] = 1;
    assert_int_equal(agg_goodbye(f->agg, 7, &g), 1);
    assert_false(agg_complete(f->agg));
    assert_int_equal(agg_goodbye(f->agg, 8, &g), E_NOTFOUND);
}

static void
test_agg_rejects(void **state)
{
    struct fx *f = *state;
    struct proto_batch b;
    struct proto_err_count bad_key = {42, 1};

    assert_int_equal(agg_new(&f->agg, 3), 0);
    assert_int_equal(agg_new(&f->agg, 0) == E_INVAL, 1);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 1), 0);
    assert_int_equal(hist_new(&f->h[0]), 0);
    hist_record_n(f->h[0], 900, 5);
    b = batch_of(f, 0, 1, 0, OP_STM, f->h[0], 0, NULL, 0);
    assert_int_equal(agg_merge(f->agg, 9, &b), E_NOTFOUND);
    b.seq = 0;
    assert_int_equal(agg_merge(f->agg, 1, &b), E_RANGE);
    b.seq = 1000000;
    assert_int_equal(agg_merge(f->agg, 1, &b), E_RANGE);
    b.seq = 1;
    f->b[0][0].index = HIST_BUCKETS;
    assert_int_equal(agg_merge(f->agg, 1, &b), E_RANGE);
    f->b[0][0].index = 5;
    f->b[0][0].count = 0;
    assert_int_equal(agg_merge(f->agg, 1, &b), E_RANGE);
    f->b[0][0].count = 5;
    b.op[OP_STM].err = &bad_key;
    b.op[OP_STM].n_errors = 1;
    assert_int_equal(agg_merge(f->agg, 1, &b), E_RANGE);
    /* Nothing of the rejected batches was merged. */
    assert_int_equal(agg_op_counts(f->agg, -1).requests, 0);
    assert_int_equal(hist_count(agg_latency(f->agg, -1)), 0);
    assert_int_equal(agg_rejected(f->agg), 6);
    b.op[OP_STM].n_errors = 0;
    assert_int_equal(agg_merge(f->agg, 1, &b), 0);
    assert_int_equal(agg_op_counts(f->agg, -1).requests, 5);
    /* Past the per-interval bound: counted in totals, flagged late. */
    b.seq = 2;
    b.interval = 3 + AGG_INTERVAL_MARGIN;
    assert_int_equal(agg_merge(f->agg, 1, &b), 0);
    assert_int_equal(agg_late(f->agg), 1);
    assert_int_equal(agg_op_counts(f->agg, -1).requests, 10);
    assert_int_equal(agg_n_intervals(f->agg), 1);
    assert_false(agg_complete(f->agg));
}

static void
test_agg_oom(void **state)
{
    struct fx *f = *state;
    int rv = E_NOMEM;

    for (long n = 0; n < 40 && rv == E_NOMEM; n++) {
        alloc_fail_after(n);
        rv = agg_new(&f->agg, 60);
        alloc_fail_after(-1);
        assert_true(rv == 0 || rv == E_NOMEM);
    }
    assert_int_equal(rv, 0);
    rv = E_NOMEM;
    for (long n = 0; n < 10 && rv == E_NOMEM; n++) {
        alloc_fail_after(n);
        rv = agg_add_agent(f->agg, 1, "a", 1);
        alloc_fail_after(-1);
        assert_true(rv == 0 || rv == E_NOMEM);
    }
    assert_int_equal(rv, 0);
    assert_int_equal(agg_n_agents(f->agg), 1);
}

/* --- report -----------------------------------------------------------------
 */

static void
test_report_thousands(void **state)
{
    char out[40];

    (void)state;
    assert_string_equal(report_thousands(0, out, sizeof(out)), "0");
    assert_string_equal(report_thousands(999, out, sizeof(out)), "999");
    assert_string_equal(report_thousands(1000, out, sizeof(out)), "1,000");
    assert_string_equal(report_thousands(5000, out, sizeof(out)), "5,000");
    assert_string_equal(report_thousands(1234567, out, sizeof(out)),
                        "1,234,567");
    assert_string_equal(report_thousands(UINT64_MAX, out, sizeof(out)),
                        "18,446,744,073,709,551,615");
}

static void
test_report_verdict_and_json(void **state)
{
    struct fx *f = *state;
    struct proto_batch b;
    struct proto_err_count ec = {503, 2};
    struct report_verdict v;
    struct report_run rr;
    struct thresholds t;
    const char *js = NULL;

    assert_int_equal(agg_new(&f->agg, 2), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "we\"ird\nname", 1), 0);
    memset(&t, 0, sizeof(t));
    t.response_time_p99_max = 100;
    t.max_error_rate = 0.01;
    report_check(f->agg, &t, "concurrent_requests", &v);
    assert_int_equal(v.n_violations, 1); /* nothing measured */
    assert_string_equal(v.v[0].metric, "requests");

    assert_int_equal(hist_new(&f->h[0]), 0);
    hist_record_n(f->h[0], 5000, 98);  /* 5 ms */
    hist_record_n(f->h[0], 250000, 2); /* 250 ms */
    b = batch_of(f, 0, 1, 0, OP_PREDICTIONS, f->h[0], 2, &ec, 1);
    assert_int_equal(agg_merge(f->agg, 1, &b), 0);
    report_check(f->agg, &t, "concurrent_requests", &v);
    assert_int_equal(v.n_violations, 2);
    assert_string_equal(v.v[0].metric, "response_time_p99");
    assert_true(v.v[0].value > 249.0 && v.v[0].value < 251.0);
    assert_non_null(strstr(v.v[0].message, "exceeds threshold (100ms)"));
    assert_string_equal(v.v[1].metric, "error_rate");
    assert_true(v.error_rate > 0.0199 && v.error_rate < 0.0201);
    t.response_time_p99_max = 300;
    t.max_error_rate = 0.05;
    report_check(f->agg, &t, "concurrent_requests", &v);
    assert_int_equal(v.n_violations, 0);

    memset(&rr, 0, sizeof(rr));
    rr.test_name = "concurrent_requests";
    rr.status = "completed";
    rr.target = "http://127.0.0.1:1";
    rr.config_file = "a\\b.yaml";
    rr.started_wall_ns = 0;
    rr.duration_s = 2.0;
    rr.users = 1;
    assert_int_equal(report_json(&f->out, f->agg, &rr, &v), 0);
    assert_int_equal(buf_append(&f->out, "", 1), 0);
    js = (const char *)f->out.data;
    assert_non_null(strstr(js, "{\"concurrent_requests\": {\"status\": "
                               "\"completed\", \"results\": {"));
    assert_non_null(strstr(js, "\"total_requests\": 100,"));
    assert_non_null(strstr(js, "\"total_failures\": 2,"));
    assert_non_null(strstr(js, "\"error_rate\": 0.020000,"));
    assert_non_null(strstr(js, "\"throughput_rps\": 50.000,"));
    assert_non_null(strstr(js, "\"response_time_p99.9\": "));
    assert_non_null(strstr(js, "\"response_time_p99.99\": "));
    assert_non_null(strstr(js, "\"service_time_p99.9\": "));
    assert_non_null(strstr(js, "\"predictions\": {\"count\": 100,"));
    assert_non_null(strstr(js, "\"errors\": {\"http_503\": 2}"));
    assert_non_null(strstr(js, "\"errors_by_operation\": {\"predictions\": "
                               "{\"http_503\": 2}}"));
    assert_non_null(strstr(js, "\"name\": \"we\\\"ird\\nname\""));
    assert_non_null(strstr(js, "\"config_file\": \"a\\\\b.yaml\""));
    assert_non_null(strstr(js, "\"missing_intervals\": [1]"));
    assert_non_null(strstr(
        js, "\"intervals\": [{\"t\": 0, \"requests\": 100, \"errors\": 2, "
            "\"users\": 0, \"p50_ms\": 5.003, \"p90_ms\": 5.003, \"p99_ms\": "
            "250.111, "
            "\"max_ms\": 250.111, \"service_p50_ms\": 5.003, "
            "\"service_p99_ms\": 250.111, \"operations\": {\"predictions\": "
            "{\"requests\": 100, \"errors\": 2}}}]"));
    assert_non_null(strstr(js, "\"percentile_spectrum\": {\"50\": 5.003, "
                               "\"75\": 5.003, \"90\": 5.003, \"95\": "
                               "5.003, \"99\": 250.111, \"99.9\": 250.111, "
                               "\"99.99\": 250.111, \"99.999\": 250.111, "
                               "\"100\": 250.111}"));
    assert_non_null(strstr(js, "\"started_at\": \"1970-01-01T00:00:00Z\""));
    assert_non_null(strstr(js, "\"data_complete\": false"));
    assert_null(strstr(js, "nan"));
    assert_null(strstr(js, "inf"));
    /* The CSV and JUnit writers on the same data. */
    buf_reset(&f->out);
    assert_int_equal(csv_performance(&f->out, f->agg, "t,1", 0), 0);
    assert_int_equal(buf_append(&f->out, "", 1), 0);
    js = (const char *)f->out.data;
    assert_string_equal(
        js, CSV_PERFORMANCE_HEADER
        "\n"
        "\"t,1\",0,1970-01-01T00:00:00Z,predictions,100,2,0.020000,"
        "5.003,5.003,250.111,250.111\n"
        "\"t,1\",0,1970-01-01T00:00:00Z,all,100,2,0.020000,"
        "5.003,5.003,250.111,250.111\n");
    buf_reset(&f->out);
    assert_int_equal(csv_resources(&f->out, f->agg, "t", 0), 0);
    assert_int_equal(buf_append(&f->out, "", 1), 0);
    assert_string_equal((const char *)f->out.data,
                        CSV_RESOURCES_HEADER "\n"
                                             "t,0,1970-01-01T00:00:00Z,"
                                             "\"we\"\"ird\nname\",,,,,,,,,\n");
    buf_reset(&f->out);
    t.response_time_p99_max = 100;
    report_check(f->agg, &t, "a<&\"b\x01", &v);
    rr.test_name = "a<&\"b\x01";
    rr.status = "interrupted";
    assert_int_equal(junit_xml(&f->out, &rr, &v, 1, 0), 0);
    assert_int_equal(buf_append(&f->out, "", 1), 0);
    js = (const char *)f->out.data;
    /* The interrupted test is an error, its threshold a failure. */
    assert_non_null(strstr(js, "<testsuite name=\"kato-stress\" tests=\"4\" "
                               "failures=\"1\" errors=\"1\" skipped=\"0\""));
    assert_non_null(strstr(js, "<error message=\"interrupted by a signal"));
    assert_non_null(strstr(js, "type=\"interrupted\">"));
    assert_non_null(strstr(js, "classname=\"kato-stress.a&lt;&amp;&quot;b\" "
                               "name=\"a&lt;&amp;&quot;b\" time=\"2.000\">"));
    assert_non_null(strstr(js, "<failure message=\"p99 250.1 ms exceeds "
                               "100 ms\" type=\"threshold\">"));
    assert_null(strstr(js, "\x01"));
}

/* The burst test's plan (tests-design 5.3): a closed baseline for the
 * whole test and an open observe stream of exact bursts, one group per
 * burst, a slot per burst arrival. */
static void
test_plan_burst(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_BURST, 3, 7, NULL};
    char err[256] = "";
    const struct proto_stream *bl, *bs;

    f->cfg.burst.burst_size = 200;
    f->cfg.burst.burst_count = 2;
    f->cfg.burst.interval_seconds = 3;
    f->cfg.burst.burst_duration_ms = 100;
    f->cfg.burst.baseline_users = 5;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(f->plan.result_name, "burst_traffic");
    assert_int_equal(f->plan.duration_ms, PLAN_BURST_LEAD_MS + 6000u);
    assert_int_equal(f->plan.total_users, 205);
    assert_int_equal(f->plan.n_active, 3);
    assert_int_equal(f->plan.assign[2].n_streams, 2);
    bl = &f->plan.assign[2].streams[0];
    bs = &f->plan.assign[2].streams[1];
    assert_int_equal(bl->model, PROTO_MODEL_CLOSED);
    assert_int_equal(bl->requests, PROTO_REQ_MIX);
    assert_int_equal(bl->start_ms, 0);
    assert_int_equal(bl->duration_ms, f->plan.duration_ms);
    assert_true(bl->peak == 5.0);
    assert_int_equal(bs->model, PROTO_MODEL_OPEN);
    assert_int_equal(bs->requests, PROTO_REQ_OBSERVE);
    assert_int_equal(bs->start_ms, PLAN_BURST_LEAD_MS);
    assert_int_equal(bs->duration_ms, 6000);
    assert_int_equal(bs->burst_size, 200);
    assert_int_equal(bs->burst_count, 2);
    assert_int_equal(bs->burst_ms, 100);
    assert_int_equal(bs->burst_every_ms, 3000);
    assert_int_equal(bs->group_ms, 3000);
    assert_int_equal(bs->max_in_flight, 200);
    plan_fini(&f->plan);

    f->cfg.burst.burst_duration_ms = 3001; /* longer than the interval */
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "test_scenarios.burst"));
}

/* The pool test's plan (5.4): n = 2 x (pool + overflow) large observes at
 * once on fresh connections, n slots, then the probes. */
static void
test_plan_pool(void **state)
{
    struct fx *f = *state;
    struct plan_opts o = {PLAN_TEST_POOL, 2, 7, NULL};
    char err[256] = "";
    const struct proto_stream *b, *pr;

    f->cfg.params.connection_pool_size = 10;
    f->cfg.params.connection_pool_overflow = 5;
    f->cfg.pool.probe_users = 2;
    f->cfg.pool.probe_seconds = 3;
    f->cfg.pool.large_strings = 100;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(f->plan.result_name, "connection_pool");
    assert_int_equal(f->plan.assign[1].large_strings, 100);
    b = &f->plan.assign[1].streams[0];
    pr = &f->plan.assign[1].streams[1];
    assert_int_equal(b->model, PROTO_MODEL_OPEN);
    assert_int_equal(b->requests, PROTO_REQ_LARGE_OBSERVE);
    assert_int_equal(b->connections, PROTO_CONN_FRESH);
    assert_int_equal(b->max_in_flight, 30);
    assert_int_equal(b->burst_size, 30);
    assert_int_equal(b->burst_count, 1);
    assert_int_equal(b->burst_ms, 0);
    assert_int_equal(pr->model, PROTO_MODEL_CLOSED);
    assert_int_equal(pr->requests, PROTO_REQ_MIX);
    assert_int_equal(pr->start_ms, PLAN_POOL_LEAD_MS + PLAN_POOL_BLAST_MS);
    assert_int_equal(pr->duration_ms, 3000);
    assert_int_equal(pr->group_ms, 3000);
    assert_true(pr->peak == 2.0);
    assert_int_equal(f->plan.duration_ms,
                     PLAN_POOL_LEAD_MS + PLAN_POOL_BLAST_MS + 3000u);
}

int
plan_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_share_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_share_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_sustained_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_build_sustained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_fewer_users, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_build_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_dim_seeded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_build_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agg_exact_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agg_dedupe_and_gaps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_agg_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agg_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_thousands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_verdict_and_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plan_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_pool, setup, teardown),
    };
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
