/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of master/recovery: the recovery test's phases and its
 * recovery time from synthetic per-interval data (a callback, no
 * aggregate): the baseline's limits, the first window back within them,
 * "not recovered" and "not enough data".
 */
#include "unit.h"

#include <string.h>

#include "../../common/err.h"
#include "../../common/hist.h"
#include "../../master/recovery.h"

#include "../../common/poison.h"

#define N_IV 40

/* Interval k: req[k] requests, err[k] errors, all at lat_us[k]. */
struct series {
    uint64_t req[N_IV];
    uint64_t err[N_IV];
    uint64_t lat_us[N_IV];
};

static int
add_iv(void *ctx, uint32_t k, struct hist *acc, uint64_t *req, uint64_t *err)
{
    const struct series *s = ctx;

    if (k >= N_IV) {
        return E_RANGE;
    }
    for (uint64_t i = 0; i < s->req[k]; i++) {
        hist_record(acc, s->lat_us[k]);
    }
    *req = s->req[k];
    *err = s->err[k];
    return 0;
}

/* 10 req/s at 10 ms everywhere; baseline [1, 10), phase [10, 12), end
 * 30, window 3, margin 0.2. */
static void
flat(struct series *s, struct recovery_params *p)
{
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < N_IV; k++) {
        s->req[k] = 10;
        s->lat_us[k] = 10000;
    }
    s->lat_us[0] = 900000; /* set-up second: never in the baseline */
    memset(p, 0, sizeof(*p));
    p->baseline_from = 1;
    p->baseline_to = 10;
    p->phase_end = 12;
    p->end = 30;
    p->window = 3;
    p->margin = 0.2;
}

static void
test_recovers_after_slow_tail(void **state)
{
    struct series s;
    struct recovery_params p;
    struct recovery r;
    (void)state;

    flat(&s, &p);
    /* Slow during the phase and 4 s after it, errors 2 s after it. */
    for (int k = 10; k < 16; k++) {
        s.lat_us[k] = 50000;
    }
    s.err[12] = 3;
    s.err[13] = 1;
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_true(r.measured);
    assert_true(r.recovered);
    assert_int_equal(r.baseline.requests, 90);
    assert_int_equal(r.baseline.errors, 0);
    /* 10 ms within the histogram's 3 significant digits. */
    assert_true(r.baseline.p99_us >= 9990 && r.baseline.p99_us <= 10010);
    assert_int_equal(r.p99_limit_us, (uint64_t)(r.baseline.p99_us * 1.2));
    assert_true(r.err_limit == 0.0);
    assert_int_equal(r.during.from, 10);
    assert_int_equal(r.during.to, 12);
    assert_int_equal(r.during.requests, 20);
    assert_true(r.during.p99_us >= 49900);
    assert_int_equal(r.after.errors, 4);
    /* First window [16, 19): 4 s after the phase's end. */
    assert_int_equal(r.recovery_time_s, 4);
    assert_int_equal(r.first_ok.from, 16);
    assert_int_equal(r.first_ok.to, 19);
    assert_string_equal(recovery_verdict(&r), "recovered");
}

static void
test_window_merge_is_exact(void **state)
{
    struct series s;
    struct recovery_params p;
    struct recovery r;
    (void)state;

    /* One slow request in 16 s is not the window's p99 once the window
     * holds over 100 requests: window 12 s x 10 = 120, p99 = the 119th. */
    flat(&s, &p);
    p.window = 12;
    p.end = 40;
    s.lat_us[12] = 50000;
    s.req[12] = 1;
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_true(r.recovered);
    assert_int_equal(r.recovery_time_s, 0);
    assert_int_equal(r.first_ok.requests, 111);
    /* 2 slow of 21 requests in a 3 s window: p99 is slow, window after. */
    flat(&s, &p);
    s.req[12] = 1;
    s.lat_us[12] = 50000;
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_int_equal(r.recovery_time_s, 1);
}

static void
test_slack_and_errors(void **state)
{
    struct series s;
    struct recovery_params p;
    struct recovery r;
    (void)state;

    /* A 300 us baseline: +20 % is 360 us, but the slack allows 1.3 ms. */
    flat(&s, &p);
    for (int k = 0; k < N_IV; k++) {
        s.lat_us[k] = k >= 12 ? 1200 : 300;
    }
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_true(r.recovered);
    assert_int_equal(r.recovery_time_s, 0);
    assert_true(r.p99_limit_us >= 1299 && r.p99_limit_us <= 1301);
    /* Baseline error rate 10 %: 12 % allowed, 20 % is not. */
    flat(&s, &p);
    for (int k = 0; k < N_IV; k++) {
        s.err[k] = k >= 12 && k < 20 ? 2 : 1;
    }
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_true(r.err_limit > 0.1199 && r.err_limit < 0.1201);
    assert_int_equal(r.recovery_time_s, 8);
}

static void
test_not_recovered_and_no_data(void **state)
{
    struct series s;
    struct recovery_params p;
    struct recovery r;
    (void)state;

    flat(&s, &p);
    for (int k = 12; k < N_IV; k++) {
        s.lat_us[k] = 30000;
    }
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_true(r.measured);
    assert_false(r.recovered);
    assert_string_equal(recovery_verdict(&r), "not recovered");
    /* A window without requests is not a recovery. */
    flat(&s, &p);
    for (int k = 12; k < N_IV; k++) {
        s.req[k] = 0;
    }
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_false(r.recovered);
    /* No baseline request: not enough data. */
    flat(&s, &p);
    for (int k = 1; k < 10; k++) {
        s.req[k] = 0;
    }
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_false(r.measured);
    assert_string_equal(recovery_verdict(&r), "not enough data");
    /* Phases that do not fit: not measured, never a crash. */
    flat(&s, &p);
    p.phase_end = 31;
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_false(r.measured);
    flat(&s, &p);
    p.window = 0;
    assert_int_equal(recovery_detect(&p, add_iv, &s, &r), 0);
    assert_false(r.measured);
}

int
recovery_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_after_slow_tail),
        cmocka_unit_test(test_window_merge_is_exact),
        cmocka_unit_test(test_slack_and_errors),
        cmocka_unit_test(test_not_recovered_and_no_data),
    };
    return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
