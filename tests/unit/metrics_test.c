/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/metrics: what a worker records comes out of
 * metrics_to_batch exactly (counters, histogram buckets, error counts with
 * zero entries left out), metrics_add sums buffers, metrics_reset empties
 * one for reuse, and an exported batch survives the wire codec unchanged.
 */
#include "unit.h"

#include <stdbool.h>
#include <string.h>

#include "../../agent/metrics.h"
#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../common/ops.h"
#include "../../common/poison.h"
#include "../../proto/proto.h"

struct fx {
    struct metrics *a;
    struct metrics *b;
    struct metrics_export *x;
    struct proto_batch batch;
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL || metrics_new(&f->a) != 0 || metrics_new(&f->b) != 0 ||
        metrics_export_new(&f->x) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    metrics_free(f->a);
    metrics_free(f->b);
    metrics_export_free(f->x);
    xfree(f);
    return 0;
}

/* The count exported for key in ob, or 0 when absent; fails on a key
 * listed twice or an entry with a zero count. */
static uint64_t
err_of(const struct proto_op_batch *ob, uint32_t key)
{
    uint64_t found = 0;
    int seen = 0;

    for (size_t i = 0; i < ob->n_errors; i++) {
        assert_true(ob->err[i].count > 0);
        if (ob->err[i].key == key) {
            found = ob->err[i].count;
            seen++;
        }
    }
    assert_true(seen <= 1);
    return found;
}

static void
assert_op_empty(const struct proto_op_batch *ob)
{
    assert_int_equal(ob->requests, 0);
    assert_int_equal(ob->errors, 0);
    assert_int_equal(ob->bytes_sent, 0);
    assert_int_equal(ob->bytes_recv, 0);
    assert_int_equal(ob->n_latency, 0);
    assert_int_equal(ob->n_service, 0);
    assert_int_equal(ob->n_errors, 0);
}

/* --- tests ------------------------------------------------------------- */

static void
test_new_is_empty(void **state)
{
    struct fx *f = *state;

    assert_int_equal(f->a->first, 0);
    assert_int_equal(f->a->last, 0);
    assert_int_equal(f->a->users_active, 0);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.users_active, 0);
    for (int op = 0; op < OP_COUNT; op++) {
        assert_op_empty(&f->batch.op[op]);
    }
}

static void
test_success_exact(void **state)
{
    struct fx *f = *state;
    const struct proto_op_batch *ob;

    f->a->users_active = 7;
    metrics_record(f->a, OP_OBSERVE, 0, true, 1500, 1200, 300, 500);
    metrics_record(f->a, OP_OBSERVE, 0, true, 1500, 90000, 10, 20);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.users_active, 7);
    ob = &f->batch.op[OP_OBSERVE];
    assert_int_equal(ob->requests, 2);
    assert_int_equal(ob->errors, 0);
    assert_int_equal(ob->bytes_sent, 310);
    assert_int_equal(ob->bytes_recv, 520);
    /* Both latencies fall into one bucket, the service times into two. */
    assert_int_equal(ob->n_latency, 1);
    assert_int_equal(ob->latency[0].index, hist_index_of(1500));
    assert_int_equal(ob->latency[0].count, 2);
    assert_int_equal(ob->n_service, 2);
    assert_int_equal(ob->service[0].index, hist_index_of(1200));
    assert_int_equal(ob->service[0].count, 1);
    assert_int_equal(ob->service[1].index, hist_index_of(90000));
    assert_int_equal(ob->service[1].count, 1);
    assert_int_equal(ob->n_errors, 0);
    for (int op = 0; op < OP_COUNT; op++) {
        if (op != OP_OBSERVE) {
            assert_op_empty(&f->batch.op[op]);
        }
    }
}

static void
test_errors_exact(void **state)
{
    struct fx *f = *state;
    const struct proto_op_batch *ob;

    metrics_record(f->a, OP_PREDICTIONS, 404, true, 10, 10, 1, 1);
    metrics_record(f->a, OP_PREDICTIONS, 404, true, 10, 10, 1, 1);
    metrics_record(f->a, OP_PREDICTIONS, 503, true, 10, 10, 1, 1);
    metrics_record(f->a, OP_PREDICTIONS, ERRK_TIMEOUT, true, 10, 10, 1, 0);
    metrics_record(f->a, OP_PREDICTIONS, 42, true, 10, 10, 0, 0); /* bad */
    metrics_record(f->a, OP_PREDICTIONS, 0, true, 10, 10, 1, 1);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    ob = &f->batch.op[OP_PREDICTIONS];
    assert_int_equal(ob->requests, 6);
    assert_int_equal(ob->errors, 5);
    /* Only the keys that occurred, zero entries left out. */
    assert_int_equal(ob->n_errors, 4);
    assert_int_equal(err_of(ob, 404), 2);
    assert_int_equal(err_of(ob, 503), 1);
    assert_int_equal(err_of(ob, ERRK_TIMEOUT), 1);
    assert_int_equal(err_of(ob, ERRK_OTHER), 1); /* the invalid key */
    assert_int_equal(err_of(ob, 42), 0);
    assert_int_equal(err_of(ob, 200), 0);
    /* Failed requests keep their latency: they were answered. */
    assert_int_equal(ob->n_latency, 1);
    assert_int_equal(ob->latency[0].count, 6);
}

static void
test_aborted_has_no_latency(void **state)
{
    struct fx *f = *state;
    const struct proto_op_batch *ob;

    metrics_record(f->a, OP_LEARN, ERRK_ABORTED, false, 123, 45, 0, 0);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    ob = &f->batch.op[OP_LEARN];
    assert_int_equal(ob->requests, 1);
    assert_int_equal(ob->errors, 1);
    assert_int_equal(ob->n_latency, 0);
    assert_int_equal(ob->n_service, 0);
    assert_int_equal(ob->n_errors, 1);
    assert_int_equal(err_of(ob, ERRK_ABORTED), 1);
}

static void
test_buckets_sorted_and_grown(void **state)
{
    struct fx *f = *state;
    const struct proto_op_batch *ob;
    uint64_t total = 0;
    size_t want = 0;
    uint32_t prev = 0;

    /* 300 distinct buckets (more than the export's first 64) and a
     * second value in some of them. */
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t v = 3000 + i * 7000;
        metrics_record(f->a, OP_STM, 0, true, v, v, 0, 0);
        if (i % 3 == 0) {
            metrics_record(f->a, OP_STM, 0, true, v, v, 0, 0);
        }
    }
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t v = 3000 + i * 7000;
        if (i == 0 || hist_index_of(v) != hist_index_of(v - 7000)) {
            want++;
        }
    }
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    ob = &f->batch.op[OP_STM];
    assert_int_equal(ob->requests, 400);
    assert_int_equal(ob->n_latency, want);
    assert_true(want > 64);
    for (size_t i = 0; i < ob->n_latency; i++) {
        assert_true(ob->latency[i].count > 0);
        assert_true(i == 0 || ob->latency[i].index > prev);
        prev = ob->latency[i].index;
        total += ob->latency[i].count;
    }
    assert_int_equal(total, 400);

    /* The same export arrays serve a smaller batch next time. */
    metrics_reset(f->a);
    metrics_record(f->a, OP_STM, 0, true, 5, 5, 0, 0);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.op[OP_STM].n_latency, 1);
    assert_int_equal(f->batch.op[OP_STM].latency[0].index, hist_index_of(5));
    assert_int_equal(f->batch.op[OP_STM].latency[0].count, 1);
}

static void
test_add_sums(void **state)
{
    struct fx *f = *state;
    const struct proto_op_batch *ob;

    f->a->users_active = 3;
    f->b->users_active = 4;
    metrics_record(f->a, OP_OBSERVE, 0, true, 2000, 1000, 100, 200);
    metrics_record(f->a, OP_OBSERVE, 500, true, 4000, 3000, 1, 2);
    metrics_record(f->b, OP_OBSERVE, 500, true, 2000, 1000, 10, 20);
    metrics_record(f->b, OP_CLEAR, ERRK_RESET, false, 0, 0, 0, 0);
    metrics_add(f->a, f->b);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.users_active, 7);
    ob = &f->batch.op[OP_OBSERVE];
    assert_int_equal(ob->requests, 3);
    assert_int_equal(ob->errors, 2);
    assert_int_equal(ob->bytes_sent, 111);
    assert_int_equal(ob->bytes_recv, 222);
    assert_int_equal(ob->n_errors, 1);
    assert_int_equal(err_of(ob, 500), 2);
    assert_int_equal(ob->n_latency, 2);
    assert_int_equal(ob->latency[0].index, hist_index_of(2000));
    assert_int_equal(ob->latency[0].count, 2);
    assert_int_equal(ob->latency[1].index, hist_index_of(4000));
    assert_int_equal(ob->latency[1].count, 1);
    ob = &f->batch.op[OP_CLEAR];
    assert_int_equal(ob->requests, 1);
    assert_int_equal(ob->errors, 1);
    assert_int_equal(err_of(ob, ERRK_RESET), 1);
    assert_int_equal(ob->n_latency, 0);
    /* src is left as it was. */
    assert_int_equal(f->b->op[OP_OBSERVE].requests, 1);
    assert_int_equal(f->b->op[OP_CLEAR].errors, 1);

    /* Adding an empty buffer changes nothing but users_active (+0). */
    metrics_reset(f->b);
    metrics_add(f->a, f->b);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.users_active, 7);
    assert_int_equal(f->batch.op[OP_OBSERVE].requests, 3);
    assert_int_equal(f->batch.op[OP_OBSERVE].n_latency, 2);
}

static void
test_reset_empties(void **state)
{
    struct fx *f = *state;
    const struct proto_op_batch *ob;

    f->a->first = 3;
    f->a->last = 5;
    f->a->users_active = 9;
    for (int op = 0; op < OP_COUNT; op++) {
        metrics_record(f->a, op, 0, true, 100000, 90000, 5, 6);
        metrics_record(f->a, op, 404, true, 7, 7, 5, 6);
        metrics_record(f->a, op, ERRK_CONNECT, false, 0, 0, 0, 0);
    }
    metrics_reset(f->a);
    assert_int_equal(f->a->first, 0);
    assert_int_equal(f->a->last, 0);
    assert_int_equal(f->a->users_active, 0);
    for (int op = 0; op < OP_COUNT; op++) {
        assert_int_equal(hist_count(f->a->op[op].latency), 0);
        assert_int_equal(hist_count(f->a->op[op].service), 0);
    }
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    for (int op = 0; op < OP_COUNT; op++) {
        assert_op_empty(&f->batch.op[op]);
    }

    /* Reused: nothing of before leaks into the new figures. */
    metrics_record(f->a, OP_LEARN, 400, true, 50, 40, 1, 2);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    ob = &f->batch.op[OP_LEARN];
    assert_int_equal(ob->requests, 1);
    assert_int_equal(ob->errors, 1);
    assert_int_equal(ob->n_errors, 1);
    assert_int_equal(err_of(ob, 400), 1);
    assert_int_equal(err_of(ob, 404), 0);
    assert_int_equal(err_of(ob, ERRK_CONNECT), 0);
    assert_int_equal(ob->n_latency, 1);
    assert_int_equal(hist_min(f->a->op[OP_LEARN].latency),
                     hist_max(f->a->op[OP_LEARN].latency));
    assert_true(hist_max(f->a->op[OP_LEARN].latency) < 100);
}

static void
test_leaves_envelope(void **state)
{
    struct fx *f = *state;

    f->batch.agent_id = 11;
    f->batch.seq = 12;
    f->batch.interval = 13;
    metrics_record(f->a, OP_SESSION, 0, true, 1, 1, 1, 1);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.agent_id, 11);
    assert_int_equal(f->batch.seq, 12);
    assert_int_equal(f->batch.interval, 13);
    assert_int_equal(f->batch.op[OP_SESSION].requests, 1);
}

/* What the control thread sends is a valid BATCH with the same figures. */
static void
test_wire_round_trip(void **state)
{
    struct fx *f = *state;
    struct proto_msg m, d;
    struct buf b;

    metrics_record(f->a, OP_OBSERVE, 0, true, 2100, 2000, 200, 40);
    metrics_record(f->a, OP_OBSERVE, 503, true, 4000000, 3, 200, 40);
    metrics_record(f->a, OP_SESSION, ERRK_DNS, false, 0, 0, 0, 0);
    memset(&m, 0, sizeof(m));
    memset(&d, 0, sizeof(d));
    m.type = PROTO_BATCH;
    m.u.batch.agent_id = 1;
    m.u.batch.seq = 1;
    assert_int_equal(metrics_to_batch(f->a, f->x, &m.u.batch), 0);
    buf_init(&b, PROTO_MAX_MSG);
    assert_int_equal(proto_encode(&m, &b), 0);
    assert_int_equal(proto_decode(b.data, b.len, &d), 0);
    buf_fini(&b);
    assert_int_equal(d.type, PROTO_BATCH);
    for (int op = 0; op < OP_COUNT; op++) {
        const struct proto_op_batch *x = &m.u.batch.op[op];
        const struct proto_op_batch *y = &d.u.batch.op[op];
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->errors, y->errors);
        assert_int_equal(x->bytes_sent, y->bytes_sent);
        assert_int_equal(x->bytes_recv, y->bytes_recv);
        assert_int_equal(x->n_latency, y->n_latency);
        assert_int_equal(x->n_service, y->n_service);
        assert_int_equal(x->n_errors, y->n_errors);
        for (size_t i = 0; i < x->n_latency; i++) {
            assert_int_equal(x->latency[i].index, y->latency[i].index);
            assert_int_equal(x->latency[i].count, y->latency[i].count);
        }
        for (size_t i = 0; i < x->n_errors; i++) {
            assert_int_equal(err_of(y, x->err[i].key), x->err[i].count);
        }
    }
    assert_int_equal(d.u.batch.op[OP_OBSERVE].n_latency, 2);
    assert_int_equal(err_of(&d.u.batch.op[OP_SESSION], ERRK_DNS), 1);
    proto_msg_fini(&d);
}

static void
test_oom(void **state)
{
    int ok = 0;
    (void)state;

    for (long n = 0; n < 16; n++) {
        struct metrics *m = NULL;
        struct metrics_export *x = NULL;
        int rv;

        alloc_fail_after(n);
        rv = metrics_new(&m);
        alloc_fail_after(-1);
        if (rv == 0) {
            ok++;
            metrics_free(m);
        } else {
            assert_int_equal(rv, E_NOMEM);
            assert_null(m);
        }
        alloc_fail_after(n);
        rv = metrics_export_new(&x);
        alloc_fail_after(-1);
        if (rv == 0) {
            metrics_export_free(x);
        } else {
            assert_int_equal(rv, E_NOMEM);
            assert_null(x);
        }
    }
    assert_true(ok > 0);
    metrics_free(NULL);
    metrics_export_free(NULL);
}

static void
test_export_oom(void **state)
{
    struct fx *f = *state;

    /* Growing the bucket array past its first size fails cleanly. */
    for (uint64_t i = 0; i < 100; i++) {
        metrics_record(f->a, OP_OBSERVE, 0, true, 5000 + i * 50000, 1, 0, 0);
    }
    alloc_fail_after(0);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), E_NOMEM);
    alloc_fail_after(-1);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.op[OP_OBSERVE].requests, 100);
}

/* Per-group figures: one entry per (stream, group), errors by class,
 * the least intended start and the greatest completion; merged buffers
 * add them (peaks in flight summed); the batch carries them; reset
 * empties them; a group past the bound is counted, not stored. */
static void
test_groups(void **state)
{
    struct fx *f = *state;
    const struct proto_group *g;

    metrics_record_group(f->a, 1, 0, 0, 500, 9000);
    metrics_record_group(f->a, 1, 0, 503, 400, 8000);
    metrics_record_group(f->a, 1, 1, ERRK_TIMEOUT, 3000000, 3500000);
    metrics_record_group(f->b, 1, 0, ERRK_CONNECT, 100, 12000);
    metrics_record_group(f->b, 1, 0, ERRK_RESET, 700, 700);
    f->a->peak_in_flight = 3;
    f->b->peak_in_flight = 4;
    metrics_add(f->a, f->b);
    assert_int_equal(metrics_to_batch(f->a, f->x, &f->batch), 0);
    assert_int_equal(f->batch.peak_in_flight, 7);
    assert_int_equal(f->batch.n_groups, 2);
    g = &f->batch.groups[0];
    assert_int_equal(g->stream, 1);
    assert_int_equal(g->group, 0);
    assert_int_equal(g->requests, 4);
    assert_int_equal(g->errors, 3);
    assert_int_equal(g->e503, 1);
    assert_int_equal(g->refused, 1);
    assert_int_equal(g->resets, 1);
    assert_int_equal(g->timeouts, 0);
    assert_int_equal(g->first_us, 100);
    assert_int_equal(g->last_us, 12000);
    g = &f->batch.groups[1];
    assert_int_equal(g->group, 1);
    assert_int_equal(g->requests, 1);
    assert_int_equal(g->timeouts, 1);
    metrics_reset(f->a);
    assert_int_equal(f->a->n_groups, 0);
    assert_int_equal(f->a->peak_in_flight, 0);
    for (uint32_t k = 0; k <= METRICS_MAX_GROUPS; k++) {
        metrics_record_group(f->a, 0, k, 0, k, k);
    }
    assert_int_equal(f->a->n_groups, METRICS_MAX_GROUPS);
    assert_int_equal(f->a->groups_dropped, 1);
}

int
metrics_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_success_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_has_no_latency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_buckets_sorted_and_grown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_add_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_empties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaves_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wire_round_trip, setup, teardown),
        cmocka_unit_test(test_oom),
        cmocka_unit_test_setup_teardown(test_export_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
