/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for master/aggregate's per-interval data: the sparse
 * per-interval histograms give, for every interval, the percentiles a
 * dense histogram gives on the same buckets (merged exactly, in any bucket
 * order); the same requests split over 1, 2 or 5 agents give identical
 * per-interval percentiles and counts; the memory held stays sparse; the
 * getters check their bounds; a merge that cannot allocate merges nothing.
 */
#include "unit.h"

#include <stdbool.h>
#include <string.h>

#include "../../common/alloc.h"
#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../common/ops.h"
#include "../../common/poison.h"
#include "../../common/rng.h"
#include "../../master/aggregate.h"

#define N_INT   5              /* intervals in the simulated run */
#define MAX_AG  5              /* agents at most */
#define N_PS    10             /* percentiles compared */
#define N_SETS  (OP_COUNT + 2) /* each op, all ops, service of all ops */
#define BK_ROOM 4096u

static const double ps[N_PS] = {0.0,  1.0,  50.0,  75.0,   90.0,
                                99.0, 99.9, 99.99, 99.999, 100.0};

struct fx {
    struct agg *agg;
    struct hist *lat[MAX_AG][OP_COUNT]; /* one interval, per agent */
    struct hist *svc[MAX_AG][OP_COUNT];
    struct hist *ref[N_SETS]; /* dense merge of what was sent */
    struct hist *scratch;
    struct hist_bucket *bk[2 * OP_COUNT]; /* exported buckets of a batch */
    /* [agents 1/2/5][interval][set][p] and per-op counts */
    uint64_t pct[3][N_INT][N_SETS][N_PS];
    uint64_t req[3][N_INT][OP_COUNT];
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL || hist_new(&f->scratch) != 0) {
        return -1;
    }
    for (int a = 0; a < MAX_AG; a++) {
        for (int o = 0; o < OP_COUNT; o++) {
            if (hist_new(&f->lat[a][o]) != 0 || hist_new(&f->svc[a][o]) != 0) {
                return -1;
            }
        }
    }
    for (int s = 0; s < N_SETS; s++) {
        if (hist_new(&f->ref[s]) != 0) {
            return -1;
        }
    }
    for (int i = 0; i < 2 * OP_COUNT; i++) {
        f->bk[i] = xcalloc(BK_ROOM, sizeof(*f->bk[i]));
        if (f->bk[i] == NULL) {
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    agg_free(f->agg);
    hist_free(f->scratch);
    for (int a = 0; a < MAX_AG; a++) {
        for (int o = 0; o < OP_COUNT; o++) {
            hist_free(f->lat[a][o]);
            hist_free(f->svc[a][o]);
        }
    }
    for (int s = 0; s < N_SETS; s++) {
        hist_free(f->ref[s]);
    }
    for (int i = 0; i < 2 * OP_COUNT; i++) {
        xfree(f->bk[i]);
    }
    xfree(f);
    return 0;
}

/* agg_interval_percentile's (op, service) for set s. */
static int
set_op(int s)
{
    return s < OP_COUNT ? s : -1;
}

static bool
set_svc(int s)
{
    return s == OP_COUNT + 1;
}

/* Agent a's batch for interval k from f->lat[a] / f->svc[a]; the buckets
 * are also imported into the dense references. */
static struct proto_batch
batch_from(struct fx *f, int a, uint32_t k, const uint64_t *req)
{
    struct proto_batch b;

    memset(&b, 0, sizeof(b));
    b.seq = k + 1;
    b.interval = k;
    for (int o = 0; o < OP_COUNT; o++) {
        size_t nl = hist_export(f->lat[a][o], f->bk[o], BK_ROOM);
        size_t ns = hist_export(f->svc[a][o], f->bk[OP_COUNT + o], BK_ROOM);
        assert_int_equal(nl, hist_nonzero(f->lat[a][o]));
        assert_int_equal(ns, hist_nonzero(f->svc[a][o]));
        b.op[o].requests = req[o];
        b.op[o].latency = f->bk[o];
        b.op[o].n_latency = nl;
        b.op[o].service = f->bk[OP_COUNT + o];
        b.op[o].n_service = ns;
        assert_int_equal(hist_import(f->ref[o], f->bk[o], nl), 0);
        assert_int_equal(hist_import(f->ref[OP_COUNT], f->bk[o], nl), 0);
        assert_int_equal(
            hist_import(f->ref[OP_COUNT + 1], f->bk[OP_COUNT + o], ns), 0);
    }
    return b;
}

/* One simulated run over n_ag agents (same values whatever n_ag: the
 * generator is seeded alike); stores what the aggregate says per interval
 * into f->pct[slot] and checks it against the dense references. */
static void
run_split(struct fx *f, int n_ag, int slot)
{
    struct rng r;

    rng_seed(&r, 4242);
    assert_int_equal(agg_new(&f->agg, N_INT), 0);
    for (int a = 0; a < n_ag; a++) {
        assert_int_equal(agg_add_agent(f->agg, (uint32_t)a + 1, "ag", 1), 0);
    }
    for (uint32_t k = 0; k < N_INT; k++) {
        uint64_t req[MAX_AG][OP_COUNT];
        memset(req, 0, sizeof(req));
        for (int s = 0; s < N_SETS; s++) {
            hist_reset(f->ref[s]);
        }
        for (int a = 0; a < MAX_AG; a++) {
            for (int o = 0; o < OP_COUNT; o++) {
                hist_reset(f->lat[a][o]);
                hist_reset(f->svc[a][o]);
            }
        }
        /* Each interval a different spread: interval k's values lie in
         * 1 .. 5 ms << k, so the buckets differ between intervals. */
        for (int o = 0; o < OP_COUNT; o++) {
            int n = 150 + 41 * o + 13 * (int)k;
            for (int j = 0; j < n; j++) {
                int a = j % n_ag;
                uint64_t v = 1 + rng_range(&r, 0, 5000ull << k);
                hist_record(f->lat[a][o], v);
                hist_record(f->svc[a][o], v / 3 + 1);
                req[a][o]++;
            }
        }
        for (int a = 0; a < n_ag; a++) {
            struct proto_batch b = batch_from(f, a, k, req[a]);
            assert_int_equal(agg_merge(f->agg, (uint32_t)a + 1, &b), 0);
        }
        for (int s = 0; s < N_SETS; s++) {
            for (int i = 0; i < N_PS; i++) {
                uint64_t v = 0;
                assert_int_equal(agg_interval_percentile(f->agg, k, set_op(s),
                                                         set_svc(s), ps[i], &v),
                                 0);
                /* Sparse merge == dense merge of the same buckets. */
                assert_int_equal(v, hist_percentile(f->ref[s], ps[i]));
                f->pct[slot][k][s][i] = v;
            }
            assert_int_equal(
                agg_interval_hist(f->agg, k, set_op(s), set_svc(s), f->scratch),
                0);
            assert_int_equal(hist_count(f->scratch), hist_count(f->ref[s]));
            assert_int_equal(hist_nonzero(f->scratch), hist_nonzero(f->ref[s]));
            assert_int_equal(hist_max(f->scratch), hist_max(f->ref[s]));
        }
        for (int o = 0; o < OP_COUNT; o++) {
            uint64_t rq = 0;
            uint64_t er = 0;
            assert_int_equal(agg_interval_op(f->agg, k, o, &rq, &er), 0);
            assert_int_equal(rq, hist_count(f->ref[o]));
            assert_int_equal(er, 0);
            f->req[slot][k][o] = rq;
        }
    }
    agg_free(f->agg);
    f->agg = NULL;
}

static void
test_interval_merge_invariance(void **state)
{
    struct fx *f = *state;

    run_split(f, 1, 0);
    run_split(f, 2, 1);
    run_split(f, 5, 2);
    /* Identical per-interval percentiles and counts whatever the split. */
    assert_memory_equal(f->pct[0], f->pct[1], sizeof(f->pct[0]));
    assert_memory_equal(f->pct[0], f->pct[2], sizeof(f->pct[0]));
    assert_memory_equal(f->req[0], f->req[1], sizeof(f->req[0]));
    assert_memory_equal(f->req[0], f->req[2], sizeof(f->req[0]));
    /* And they are not all alike: intervals really differ. */
    assert_true(f->pct[0][0][OP_COUNT][2] < f->pct[0][N_INT - 1][OP_COUNT][2]);
}

/* Buckets out of order and repeated, across ops and across batches, merge
 * as hist_import would. */
static void
test_sparse_equals_dense(void **state)
{
    struct fx *f = *state;
    struct hist_bucket lat0[] = {{5000, 2}, {3, 1}, {5000, 4}, {2047, 9}};
    struct hist_bucket lat1[] = {{3, 7}, {HIST_BUCKETS - 1, 1}, {1, 1}};
    struct hist_bucket svc[] = {{9, 1}, {9, 1}, {4, 3}};
    struct proto_batch b;

    assert_int_equal(agg_new(&f->agg, 3), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 1), 0);
    for (int s = 0; s < N_SETS; s++) {
        hist_reset(f->ref[s]);
    }
    for (uint64_t seq = 1; seq <= 3; seq++) {
        memset(&b, 0, sizeof(b));
        b.seq = seq;
        b.interval = 1;
        b.op[OP_OBSERVE].requests = 16;
        b.op[OP_OBSERVE].latency = lat0;
        b.op[OP_OBSERVE].n_latency = 4;
        b.op[OP_OBSERVE].service = svc;
        b.op[OP_OBSERVE].n_service = 3;
        b.op[OP_LEARN].requests = 9;
        b.op[OP_LEARN].latency = lat1;
        b.op[OP_LEARN].n_latency = 3;
        b.op[OP_LEARN].service = svc;
        b.op[OP_LEARN].n_service = 3;
        assert_int_equal(agg_merge(f->agg, 1, &b), 0);
        assert_int_equal(hist_import(f->ref[OP_OBSERVE], lat0, 4), 0);
        assert_int_equal(hist_import(f->ref[OP_LEARN], lat1, 3), 0);
        assert_int_equal(hist_import(f->ref[OP_COUNT], lat0, 4), 0);
        assert_int_equal(hist_import(f->ref[OP_COUNT], lat1, 3), 0);
        assert_int_equal(hist_import(f->ref[OP_COUNT + 1], svc, 3), 0);
        assert_int_equal(hist_import(f->ref[OP_COUNT + 1], svc, 3), 0);
    }
    for (int s = 0; s < N_SETS; s++) {
        for (int i = 0; i < N_PS; i++) {
            uint64_t v = 1;
            assert_int_equal(agg_interval_percentile(f->agg, 1, set_op(s),
                                                     set_svc(s), ps[i], &v),
                             0);
            assert_int_equal(v, hist_percentile(f->ref[s], ps[i]));
        }
    }
    /* Bucket for bucket, too. */
    assert_int_equal(agg_interval_hist(f->agg, 1, -1, false, f->scratch), 0);
    {
        size_t n = hist_export(f->scratch, f->bk[0], BK_ROOM);
        size_t m = hist_export(f->ref[OP_COUNT], f->bk[1], BK_ROOM);
        assert_int_equal(n, 5); /* 1, 3, 2047, 5000, HIST_BUCKETS - 1 */
        assert_int_equal(n, m);
        assert_memory_equal(f->bk[0], f->bk[1], n * sizeof(*f->bk[0]));
    }
    /* Interval 0 and 2 saw nothing. */
    {
        uint64_t v = 1;
        uint64_t rq = 1;
        uint64_t er = 1;
        assert_int_equal(agg_interval_percentile(f->agg, 0, -1, false, 99, &v),
                         0);
        assert_int_equal(v, 0);
        assert_int_equal(agg_interval_op(f->agg, 2, -1, &rq, &er), 0);
        assert_int_equal(rq, 0);
        assert_int_equal(agg_interval_op(f->agg, 1, -1, &rq, &er), 0);
        assert_int_equal(rq, 3 * 25);
        assert_int_equal(agg_interval_op(f->agg, 1, OP_LEARN, &rq, &er), 0);
        assert_int_equal(rq, 3 * 9);
    }
}

static void
test_interval_bounds(void **state)
{
    struct fx *f = *state;
    uint64_t v = 77;
    uint64_t rq = 5;
    uint64_t er = 5;
    uint32_t slots = 4 + AGG_INTERVAL_MARGIN;

    assert_int_equal(agg_new(&f->agg, 4), 0);
    assert_int_equal(agg_interval_percentile(f->agg, slots, -1, false, 50, &v),
                     E_RANGE);
    assert_int_equal(v, 77); /* written on success only */
    assert_int_equal(
        agg_interval_percentile(f->agg, slots - 1, -1, false, 50, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(
        agg_interval_percentile(f->agg, 0, OP_COUNT, false, 50, &v), E_INVAL);
    assert_int_equal(agg_interval_percentile(f->agg, 0, -2, false, 50, &v),
                     E_INVAL);
    assert_int_equal(
        agg_interval_percentile(f->agg, 0, OP_OBSERVE, true, 50, &v), E_INVAL);
    assert_int_equal(agg_interval_hist(f->agg, slots, -1, true, f->scratch),
                     E_RANGE);
    assert_int_equal(agg_interval_op(f->agg, slots, -1, &rq, &er), E_RANGE);
    assert_int_equal(rq, 0);
    assert_int_equal(agg_interval_op(f->agg, 0, OP_COUNT, &rq, &er), E_INVAL);
    /* Nothing merged yet: only the fixed slots. */
    assert_true(agg_interval_bytes(f->agg) > 0);
    assert_true(agg_interval_bytes(f->agg) < (size_t)slots * 256u);
}

/* A one-hour run, one batch per second with 60 distinct latency buckets
 * per op and 60 service buckets: the per-interval data is the entries it
 * holds, not 3600 dense histograms (3600 x 184 KB = 663 MB). */
static void
test_interval_memory_bound(void **state)
{
    struct fx *f = *state;
    const uint32_t dur = 3600;
    const size_t per_hist = 60;
    struct hist_bucket bk[60];
    struct proto_batch b;
    size_t bytes = 0;
    size_t fixed = 0;

    assert_int_equal(agg_new(&f->agg, dur), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 1), 0);
    fixed = agg_interval_bytes(f->agg);
    for (size_t i = 0; i < per_hist; i++) {
        bk[i].index = (uint32_t)(3000 + 7 * i);
        bk[i].count = 1;
    }
    for (uint32_t k = 0; k < dur; k++) {
        memset(&b, 0, sizeof(b));
        b.seq = k + 1;
        b.interval = k;
        for (int o = 0; o < OP_COUNT; o++) {
            b.op[o].requests = per_hist;
            b.op[o].latency = bk;
            b.op[o].n_latency = per_hist;
            b.op[o].service = bk;
            b.op[o].n_service = per_hist;
        }
        assert_int_equal(agg_merge(f->agg, 1, &b), 0);
    }
    bytes = agg_interval_bytes(f->agg);
    /* Exactly the entries: 6 per-op latency arrays and one service array
     * of 60 entries each per interval (the service buckets of the six ops
     * coincide, so they merge into 60). */
    assert_int_equal(bytes - fixed, (size_t)dur * (OP_COUNT + 1) * per_hist *
                                        sizeof(struct hist_bucket));
    /* About 25 MB all told versus 1.3 GB for two dense histograms per
     * interval. */
    assert_true(bytes <
                (size_t)dur * 2u * HIST_BUCKETS * sizeof(uint64_t) / 40u);
    /* The overall latency at p50 of one interval: bucket 29 of 60 (rank
     * 180 of 360, 6 ops alike). */
    {
        uint64_t v = 0;
        assert_int_equal(
            agg_interval_percentile(f->agg, dur - 1, -1, false, 50, &v), 0);
        assert_int_equal(v, hist_highest_of(3000 + 7 * 29));
    }
}

/* A merge that cannot allocate merges nothing (not even the totals) and
 * can be retried. */
static void
test_interval_oom(void **state)
{
    struct fx *f = *state;
    struct hist_bucket lat[] = {{10, 1}, {20, 2}};
    struct proto_batch b;
    int rv = E_NOMEM;
    long n = 0;
    size_t fixed = 0;

    assert_int_equal(agg_new(&f->agg, 2), 0);
    assert_int_equal(agg_add_agent(f->agg, 1, "a", 1), 0);
    fixed = agg_interval_bytes(f->agg);
    memset(&b, 0, sizeof(b));
    b.seq = 1;
    b.interval = 0;
    for (int o = 0; o < OP_COUNT; o++) {
        b.op[o].requests = 3;
        b.op[o].latency = lat;
        b.op[o].n_latency = 2;
        b.op[o].service = lat;
        b.op[o].n_service = 2;
    }
    for (n = 0; n < 64 && rv == E_NOMEM; n++) {
        alloc_fail_after(n);
        rv = agg_merge(f->agg, 1, &b);
        alloc_fail_after(-1);
        assert_true(rv == 0 || rv == E_NOMEM);
        if (rv == E_NOMEM) {
            uint64_t rq = 1;
            uint64_t er = 1;
            assert_int_equal(agg_op_counts(f->agg, -1).requests, 0);
            assert_int_equal(hist_count(agg_latency(f->agg, -1)), 0);
            assert_int_equal(agg_interval_op(f->agg, 0, -1, &rq, &er), 0);
            assert_int_equal(rq, 0);
            assert_int_equal(agg_interval_bytes(f->agg), fixed);
        }
    }
    assert_int_equal(rv, 0);
    assert_true(n > 1); /* at least one failure was exercised */
    {
        uint64_t v = 0;
        assert_int_equal(agg_interval_percentile(f->agg, 0, -1, false, 100, &v),
                         0);
        assert_int_equal(v, hist_highest_of(20));
        assert_int_equal(agg_op_counts(f->agg, -1).requests, 3 * OP_COUNT);
    }
}

int
aggregate_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interval_merge_invariance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sparse_equals_dense, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_interval_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_memory_bound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_interval_oom, setup, teardown),
    };

    return cmocka_run_group_tests_name("aggregate", tests, NULL, NULL);
}
