/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the burst and pool tests' figures: the aggregate's exact
 * merge of per-group figures and peaks in flight over agents
 * (master/aggregate.h), and master/burstpool's per-burst drain and pool
 * verdicts on hand-made aggregates.
 */
#include "unit.h"

#include <string.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../master/aggregate.h"
#include "../../master/burstpool.h"
#include "../../master/plan.h"

#include "../../common/poison.h"

/* Everything a test allocates; teardown frees it. */
struct bfx {
    struct config cfg;
    struct plan plan;
    struct agg *agg;
    struct buf json, text;
};

static int
setup(void **state)
{
    struct bfx *f = xcalloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    config_defaults(&f->cfg);
    buf_init(&f->json, 1u << 16);
    buf_init(&f->text, 1u << 16);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct bfx *f = *state;

    plan_fini(&f->plan);
    agg_free(f->agg);
    buf_fini(&f->json);
    buf_fini(&f->text);
    xfree(f);
    return 0;
}

static struct proto_group
grp(uint32_t si, uint32_t g, uint64_t n, uint64_t e, uint64_t t0, uint64_t t1)
{
    struct proto_group x;

    memset(&x, 0, sizeof(x));
    x.stream = si;
    x.group = g;
    x.requests = n;
    x.errors = e;
    x.first_us = t0;
    x.last_us = t1;
    return x;
}

/* Merges one batch of agent id (seq, interval) holding groups and pif. */
static void
merge(struct agg *a, uint32_t id, uint64_t seq, uint32_t iv, uint64_t pif,
      const struct proto_group *g, uint32_t n)
{
    struct proto_batch b;

    memset(&b, 0, sizeof(b));
    b.agent_id = id;
    b.seq = seq;
    b.interval = iv;
    b.peak_in_flight = pif;
    b.n_groups = n;
    memcpy(b.groups, g, n * sizeof(*g));
    assert_int_equal(agg_merge(a, id, &b), 0);
}

/* Groups add up over batches and agents (requests, errors, classes), keep
 * the least first start and the greatest last completion; a duplicate
 * batch is not added twice; the peak in flight is the highest per-
 * interval sum over agents. */
static void
test_agg_groups(void **state)
{
    struct bfx *f = *state;
    struct proto_group g[2];
    struct proto_group out;

    assert_int_equal(agg_new(&f->agg, 10), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 1), 0);
    assert_int_equal(agg_add_agent(f->agg, 2, "b", 1), 0);
    g[0] = grp(1, 0, 3, 1, 100, 5000);
    g[0].e503 = 1;
    g[1] = grp(1, 1, 1, 0, 3000000, 3100000);
    merge(f->agg, 1, 1, 0, 5, g, 2);
    g[0] = grp(1, 0, 2, 1, 50, 7000);
    g[0].timeouts = 1;
    merge(f->agg, 2, 1, 0, 7, g, 1);
    g[0] = grp(1, 0, 1, 0, 900, 1200000);
    merge(f->agg, 1, 2, 1, 3, g, 1);
    {
        struct proto_batch dup;
        memset(&dup, 0, sizeof(dup));
        dup.agent_id = 1;
        dup.seq = 2;
        dup.interval = 1;
        dup.n_groups = 1;
        dup.groups[0] = g[0];
        assert_int_equal(agg_merge(f->agg, 1, &dup), 1); /* not again */
    }
    assert_int_equal(agg_group(f->agg, 1, 0, &out), 0);
    assert_int_equal(out.requests, 6);
    assert_int_equal(out.errors, 2);
    assert_int_equal(out.e503, 1);
    assert_int_equal(out.timeouts, 1);
    assert_int_equal(out.first_us, 50);
    assert_int_equal(out.last_us, 1200000);
    assert_int_equal(agg_group(f->agg, 1, 1, &out), 0);
    assert_int_equal(out.requests, 1);
    assert_int_equal(agg_group(f->agg, 0, 0, &out), E_NOTFOUND);
    assert_int_equal(agg_peak_in_flight(f->agg), 12);
}

/* A planned burst test (2 bursts of 200, 3 s apart, from 3 s): drain =
 * last completion - burst start; a burst short of its count fails the
 * verdict, and says which. No baseline data: recovery not measured. */
static void
test_burst_figures(void **state)
{
    struct bfx *f = *state;
    struct plan_opts o = {PLAN_TEST_BURST, 1, 1, NULL};
    struct burstpool_burst_result r;
    struct proto_group g[2];
    char err[256];

    f->cfg.burst.burst_size = 200;
    f->cfg.burst.burst_count = 2;
    f->cfg.burst.interval_seconds = 3;
    f->cfg.burst.burst_duration_ms = 100;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_int_equal(agg_new(&f->agg, 9), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 205), 0);
    g[0] = grp(1, 0, 200, 0, 3000000, 3100500);
    g[1] = grp(1, 1, 200, 0, 6000000, 6250000);
    merge(f->agg, 1, 1, 3, 200, g, 2);
    assert_int_equal(burstpool_burst(f->agg, &f->plan, 0.2, &r), 0);
    assert_int_equal(r.n_bursts, 2);
    assert_int_equal(r.pre_interval, 2);
    assert_false(r.pre_measured);
    assert_true(r.pass);
    assert_int_equal(r.b[0].requests, 200);
    assert_true(r.b[0].drained);
    assert_true(r.b[0].drain_ms > 100.49 && r.b[0].drain_ms < 100.51);
    assert_true(r.b[1].drain_ms > 249.99 && r.b[1].drain_ms < 250.01);
    assert_true(r.b[1].start_ms == 6000.0 && r.b[1].end_ms == 6100.0);
    assert_int_equal(burstpool_burst_write(&r, &f->json, &f->text), 0);
    assert_int_equal(buf_append(&f->text, "", 1), 0);
    assert_non_null(
        strstr((const char *)f->text.data, "Burst 2: 200/200 req, 0 errors"));
    assert_non_null(strstr((const char *)f->text.data, "Verdict: pass"));

    /* One request of burst 2 missing: not drained, fail. */
    agg_free(f->agg);
    assert_int_equal(agg_new(&f->agg, 9), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 205), 0);
    g[1].requests = 199;
    merge(f->agg, 1, 1, 3, 200, g, 2);
    assert_int_equal(burstpool_burst(f->agg, &f->plan, 0.2, &r), 0);
    assert_false(r.pass);
    assert_false(r.b[1].drained);
    assert_string_equal(r.reason,
                        "burst 2: 199 of 200 requests done before the next "
                        "burst");
}

/* Pool verdicts: 503s and refusals only with good probes: graceful; a
 * timeout: degraded; failing probes: fail. */
static void
test_pool_verdicts(void **state)
{
    struct bfx *f = *state;
    struct plan_opts o = {PLAN_TEST_POOL, 1, 1, NULL};
    struct burstpool_pool_result r;
    struct proto_group g[2];
    char err[256];

    f->cfg.params.connection_pool_size = 5;
    f->cfg.params.connection_pool_overflow = 5;
    assert_int_equal(plan_build(&f->plan, &f->cfg, &o, err, sizeof(err)), 0);
    assert_int_equal(agg_new(&f->agg, 20), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 22), 0);
    g[0] = grp(0, 0, 20, 16, 2000000, 2100000);
    g[0].e503 = 12;
    g[0].refused = 4;
    g[1] = grp(1, 0, 10, 0, 4000000, 6900000);
    merge(f->agg, 1, 1, 2, 20, g, 2);
    assert_int_equal(burstpool_pool(f->agg, &f->plan, 0.0, &r), 0);
    assert_int_equal(r.planned, 20);
    assert_int_equal(r.e503, 12);
    assert_int_equal(r.refused, 4);
    assert_int_equal(r.other, 0);
    assert_int_equal(r.peak_in_flight, 20);
    assert_true(r.probes_ok);
    assert_string_equal(r.verdict, "graceful");

    g[0] = grp(0, 0, 0, 0, 2000000, 2100000);
    g[0].timeouts = 1; /* a batch of one more timeout (count 0 is fine) */
    g[0].requests = 1;
    g[0].errors = 1;
    merge(f->agg, 1, 2, 3, 0, g, 1);
    assert_int_equal(burstpool_pool(f->agg, &f->plan, 0.0, &r), 0);
    assert_string_equal(r.verdict, "degraded");

    g[1] = grp(1, 0, 1, 1, 4000000, 6900000);
    merge(f->agg, 1, 3, 4, 0, &g[1], 1);
    assert_int_equal(burstpool_pool(f->agg, &f->plan, 0.0, &r), 0);
    assert_false(r.probes_ok);
    assert_string_equal(r.verdict, "fail");
    assert_int_equal(burstpool_pool_write(&r, &f->json, &f->text), 0);
}

int
burstpool_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_agg_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_verdicts, setup, teardown),
    };
    return cmocka_run_group_tests_name("burstpool", tests, NULL, NULL);
}
