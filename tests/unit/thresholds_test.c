/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of master/report's threshold evaluation (report_evaluate,
 * report_set_aborted): every key the config set, global and per operation,
 * evaluated on a merged aggregate; keys without data listed as not
 * checked, never passed; the checks' way into the JUnit file.
 */
#include "unit.h"

#include <string.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/config.h"
#include "../../common/hist.h"
#include "../../master/aggregate.h"
#include "../../master/junit.h"
#include "../../master/report.h"

#include "../../common/poison.h"

struct tfx {
    struct agg *agg;
    struct hist *h;
    struct hist_bucket *b;
    struct report_verdict v;
    struct buf out;
};

static int
setup(void **state)
{
    struct tfx *f = xcalloc(1, sizeof(*f));

    if (f == NULL || hist_new(&f->h) != 0 || agg_new(&f->agg, 4) != 0 ||
        agg_add_agent(f->agg, 1, "a", 2) != 0) {
        return -1;
    }
    buf_init(&f->out, 1u << 20);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct tfx *f = *state;

    agg_free(f->agg);
    hist_free(f->h);
    xfree(f->b);
    buf_fini(&f->out);
    xfree(f);
    return 0;
}

/* Merges n requests of op at us each, errors of them failed (HTTP 500),
 * into interval k as batch seq. */
static void
merge(struct tfx *f, uint64_t seq, uint32_t k, int op, uint64_t us, uint64_t n,
      uint64_t errors)
{
    struct proto_batch b;
    struct proto_err_count ec = {500, errors};
    size_t nb = 0;

    hist_reset(f->h);
    hist_record_n(f->h, us, n);
    nb = hist_nonzero(f->h);
    xfree(f->b);
    f->b = xcalloc(nb, sizeof(*f->b));
    assert_non_null(f->b);
    assert_int_equal(hist_export(f->h, f->b, nb), nb);
    memset(&b, 0, sizeof(b));
    b.seq = seq;
    b.interval = k;
    b.op[op].requests = n;
    b.op[op].errors = errors;
    b.op[op].n_latency = nb;
    b.op[op].latency = f->b;
    b.op[op].n_service = nb;
    b.op[op].service = f->b;
    b.op[op].n_errors = errors > 0 ? 1 : 0;
    b.op[op].err = &ec;
    assert_int_equal(agg_merge(f->agg, 1, &b), 0);
}

/* observe: 98 at 5 ms and 2 at 250 ms; learn: 50 at 1 ms, 5 failed. */
static void
fill(struct tfx *f)
{
    merge(f, 1, 0, OP_OBSERVE, 5000, 98, 0);
    merge(f, 2, 1, OP_OBSERVE, 250000, 2, 0);
    merge(f, 3, 1, OP_LEARN, 1000, 50, 5);
}

static const struct report_threshold *
find(const struct report_verdict *v, int op, const char *key)
{
    for (size_t i = 0; i < v->n_checks; i++) {
        if (v->checks[i].op == op && strcmp(v->checks[i].key, key) == 0) {
            return &v->checks[i];
        }
    }
    return NULL;
}

static void
test_global_keys(void **state)
{
    struct tfx *f = *state;
    struct config c;
    const struct report_threshold *x = NULL;

    fill(f);
    config_defaults(&c);
    c.thresholds.set = THR_P50 | THR_P95 | THR_P99 | THR_P99_9 | THR_MIN_RPS |
                       THR_ERROR | THR_MEMORY | THR_CPU | THR_POOL;
    c.thresholds.response_time_p50_max = 10;    /* p50 5 ms: met */
    c.thresholds.response_time_p95_max = 0;     /* 0: not checked */
    c.thresholds.response_time_p99_max = 100;   /* p99 250 ms: broken */
    c.thresholds.response_time_p99_9_max = 300; /* met */
    c.thresholds.min_throughput_rps = 100;      /* 150 / 2 s = 75: broken */
    c.thresholds.max_error_rate = 0.05;         /* 5 / 150: met */
    report_evaluate(f->agg, &c.thresholds, 2.0, false, "t", &f->v);

    assert_null(find(&f->v, -1, "response_time_p95_max"));
    assert_int_equal(f->v.n_checks, 8);
    x = find(&f->v, -1, "response_time_p50_max");
    assert_non_null(x);
    assert_int_equal(x->state, REPORT_PASSED);
    assert_true(x->value > 4.9 && x->value < 5.1);
    x = find(&f->v, -1, "response_time_p99_max");
    assert_int_equal(x->state, REPORT_FAILED);
    assert_true(x->value > 249 && x->value < 251);
    assert_int_equal(find(&f->v, -1, "response_time_p99_9_max")->state,
                     REPORT_PASSED);
    x = find(&f->v, -1, "min_throughput_rps");
    assert_int_equal(x->state, REPORT_FAILED);
    assert_true(x->at_least);
    assert_true(x->value == 75.0);
    x = find(&f->v, -1, "max_error_rate");
    assert_int_equal(x->state, REPORT_PASSED);
    assert_true(x->value > 0.0333 && x->value < 0.0334);
    for (size_t i = 5; i < 8; i++) {
        assert_int_equal(f->v.checks[i].state, REPORT_NOT_CHECKED);
        assert_string_equal(f->v.checks[i].why,
                            "resources are checked at the end");
    }
    assert_string_equal(f->v.checks[5].key, "max_memory_usage_mb");

    assert_int_equal(f->v.n_violations, 2);
    assert_string_equal(f->v.v[0].metric, "response_time_p99");
    assert_string_equal(f->v.v[0].message,
                        "t: P99 response time (250.1ms) exceeds threshold "
                        "(100ms)");
    assert_string_equal(f->v.v[1].metric, "throughput");
    assert_string_equal(f->v.v[1].message,
                        "t: Throughput (75.0 req/s) below threshold (100 "
                        "req/s)");

    /* A key the config did not set is not listed, whatever its value. */
    c.thresholds.set = THR_P50;
    report_evaluate(f->agg, &c.thresholds, 2.0, false, "t", &f->v);
    assert_int_equal(f->v.n_checks, 1);
    assert_int_equal(f->v.n_violations, 0);
}

static void
test_per_operation(void **state)
{
    struct tfx *f = *state;
    struct config c;
    const struct report_threshold *x = NULL;

    fill(f);
    config_defaults(&c);
    c.thresholds.set = 0;
    c.thresholds.per_op[OP_OBSERVE].set = THR_P99;
    c.thresholds.per_op[OP_OBSERVE].response_time_p99_max = 300;
    c.thresholds.per_op[OP_LEARN].set = THR_ERROR | THR_P50;
    c.thresholds.per_op[OP_LEARN].max_error_rate = 0.05; /* 10 %: broken */
    c.thresholds.per_op[OP_LEARN].response_time_p50_max = 2;
    c.thresholds.per_op[OP_STM].set = THR_P99; /* no request of it */
    c.thresholds.per_op[OP_STM].response_time_p99_max = 1;
    report_evaluate(f->agg, &c.thresholds, 2.0, false, "t", &f->v);

    assert_int_equal(f->v.n_checks, 4);
    assert_int_equal(find(&f->v, OP_OBSERVE, "response_time_p99_max")->state,
                     REPORT_PASSED);
    assert_int_equal(find(&f->v, OP_LEARN, "response_time_p50_max")->state,
                     REPORT_PASSED);
    x = find(&f->v, OP_LEARN, "max_error_rate");
    assert_int_equal(x->state, REPORT_FAILED);
    assert_true(x->value == 0.1);
    x = find(&f->v, OP_STM, "response_time_p99_max");
    assert_int_equal(x->state, REPORT_NOT_CHECKED);
    assert_string_equal(x->why, "no request of this operation completed");
    assert_int_equal(f->v.n_violations, 1);
    assert_string_equal(f->v.v[0].metric, "learn.error_rate");
    assert_string_equal(f->v.v[0].message, "t: learn Error rate (10.00%) "
                                           "exceeds threshold (5%)");

    /* The JUnit file: one testcase per check, the failure on learn's. */
    {
        struct report_run rr;
        const char *xml = NULL;
        memset(&rr, 0, sizeof(rr));
        rr.test_name = "t";
        rr.status = "completed";
        rr.duration_s = 2.0;
        assert_int_equal(junit_xml(&f->out, &rr, &f->v, 1, 0), 0);
        assert_int_equal(buf_append(&f->out, "", 1), 0);
        xml = (const char *)f->out.data;
        assert_non_null(strstr(xml, "tests=\"6\" failures=\"1\" errors=\"0\" "
                                    "skipped=\"1\""));
        assert_non_null(strstr(xml, "name=\"t: learn.max_error_rate &lt;= 5 "
                                    "%\" time=\"0.000\">\n    <failure "
                                    "message=\"learn error rate 10.00 % "
                                    "exceeds 5 %\""));
        assert_non_null(strstr(xml, "<skipped message=\"not checked: no "
                                    "request of this operation "
                                    "completed\"/>"));
    }
}

static void
test_during_run_and_empty(void **state)
{
    struct tfx *f = *state;
    struct config c;

    config_defaults(&c);
    c.thresholds.set |= THR_MIN_RPS;
    /* Nothing merged yet: during the run that is no violation. */
    report_evaluate(f->agg, &c.thresholds, 1.0, true, "t", &f->v);
    assert_int_equal(f->v.n_violations, 0);
    assert_int_equal(f->v.n_checks, 3);
    for (size_t i = 0; i < f->v.n_checks; i++) {
        assert_int_equal(f->v.checks[i].state, REPORT_NOT_CHECKED);
    }
    /* At the end it is, and the keys say why they were not checked; a
     * throughput of 0 is a measured value, below its minimum. */
    report_evaluate(f->agg, &c.thresholds, 1.0, false, "t", &f->v);
    assert_int_equal(f->v.n_violations, 2);
    assert_string_equal(f->v.v[0].metric, "requests");
    assert_string_equal(f->v.v[1].metric, "throughput");
    assert_string_equal(find(&f->v, -1, "max_error_rate")->why,
                        "no request completed");

    /* With data: the minimum throughput waits for the end. */
    fill(f);
    c.thresholds.min_throughput_rps = 1e6;
    report_evaluate(f->agg, &c.thresholds, 1.0, true, "t", &f->v);
    assert_string_equal(find(&f->v, -1, "min_throughput_rps")->why,
                        "checked at the end of the test");
    assert_int_equal(f->v.n_violations, 2); /* p99 250 ms > 100 ms */
    assert_string_equal(f->v.v[0].metric, "response_time_p99");
    assert_string_equal(f->v.v[1].metric, "error_rate"); /* 3.3 % */
}

static void
test_aborted(void **state)
{
    struct tfx *f = *state;
    struct config c;

    fill(f);
    config_defaults(&c);
    c.thresholds.response_time_p99_max = 1000;
    c.thresholds.max_error_rate = 0.5;
    report_evaluate(f->agg, &c.thresholds, 2.0, false, "t", &f->v);
    assert_int_equal(f->v.n_violations, 0);
    /* The end data met the thresholds: the abort is still a failure. */
    report_set_aborted(&f->v, 3.0,
                       "t: P99 response time (250.1ms) "
                       "exceeds threshold (100ms)",
                       "t");
    assert_true(f->v.aborted);
    assert_true(f->v.abort_at_s == 3.0);
    assert_int_equal(f->v.n_violations, 1);
    assert_string_equal(f->v.v[0].metric, "aborted");
    assert_non_null(strstr(f->v.v[0].message, "t: aborted at 3s"));
    /* A verdict that has its violation gets no second one. */
    report_set_aborted(&f->v, 3.0, "again", "t");
    assert_int_equal(f->v.n_violations, 1);
}

int
thresholds_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_global_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_during_run_and_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_aborted, setup, teardown),
    };
    return cmocka_run_group_tests_name("thresholds", tests, NULL, NULL);
}
