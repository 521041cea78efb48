/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/pattern: every pattern's value at chosen instants
 * against the formulas of docs/tests-design.md section 3, the seeded
 * per-second draws (same (seed, second), same value, on every agent), and
 * the exact split of a count over agents.
 */
#include "unit.h"

#include <math.h>
#include <string.h>

#include "../../agent/pattern.h"

#include "../../common/poison.h"

#define PI 3.14159265358979323846

/* A stream of the given pattern from 10 to 50 over 60 s. */
static struct proto_stream
stream(uint32_t pattern)
{
    struct proto_stream s;

    memset(&s, 0, sizeof(s));
    s.model = PROTO_MODEL_CLOSED;
    s.pattern = pattern;
    s.duration_ms = 60000;
    s.initial = 10.0;
    s.peak = 50.0;
    return s;
}

static void
assert_near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * (1.0 + fabs(want))) {
        fail_msg("got %.12g, want %.12g", got, want);
    }
}

static void
test_constant(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_CONSTANT);

    (void)state;
    assert_near(pattern_value(&s, 0, 1), 50.0);
    assert_near(pattern_value(&s, 59999, 1), 50.0);
    s.pattern = 99; /* out of range: the codec refuses it; constant here */
    assert_near(pattern_value(&s, 5, 1), 50.0);
}

static void
test_ramps(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_RAMP_UP);

    (void)state;
    s.ramp_ms = 20000;
    assert_near(pattern_value(&s, 0, 1), 10.0);
    assert_near(pattern_value(&s, 5000, 1), 20.0);
    assert_near(pattern_value(&s, 10000, 1), 30.0);
    assert_near(pattern_value(&s, 19999, 1), 10.0 + 40.0 * 19999 / 20000);
    assert_near(pattern_value(&s, 20000, 1), 50.0);
    assert_near(pattern_value(&s, 59000, 1), 50.0);
    s.pattern = CONFIG_PATTERN_RAMP_DOWN;
    assert_near(pattern_value(&s, 0, 1), 50.0);
    assert_near(pattern_value(&s, 5000, 1), 40.0);
    assert_near(pattern_value(&s, 20000, 1), 10.0);
    assert_near(pattern_value(&s, 40000, 1), 10.0);
    /* No ramp: a jump. */
    s.ramp_ms = 0;
    assert_near(pattern_value(&s, 0, 1), 10.0);
    s.pattern = CONFIG_PATTERN_RAMP_UP;
    assert_near(pattern_value(&s, 0, 1), 50.0);
}

static void
test_spike(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_SPIKE);

    (void)state;
    s.spike_interval_ms = 10000;
    s.spike_duration_ms = 2000;
    assert_near(pattern_value(&s, 0, 1), 50.0);    /* on edge */
    assert_near(pattern_value(&s, 1999, 1), 50.0); /* last on ms */
    assert_near(pattern_value(&s, 2000, 1), 10.0); /* off edge */
    assert_near(pattern_value(&s, 9999, 1), 10.0);
    assert_near(pattern_value(&s, 10000, 1), 50.0); /* next spike */
    assert_near(pattern_value(&s, 32000, 1), 10.0);
    s.spike_duration_ms = 10000; /* always on */
    assert_near(pattern_value(&s, 9999, 1), 50.0);
    s.spike_interval_ms = 0;
    assert_near(pattern_value(&s, 0, 1), 10.0);
}

static void
test_wave(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_WAVE);

    (void)state;
    s.wave_period_ms = 40000; /* mid 30, amplitude 20 */
    assert_near(pattern_value(&s, 0, 1), 30.0);
    assert_near(pattern_value(&s, 10000, 1), 50.0); /* quarter */
    assert_near(pattern_value(&s, 20000, 1), 30.0); /* half */
    assert_near(pattern_value(&s, 30000, 1), 10.0); /* three quarters */
    assert_near(pattern_value(&s, 40000, 1), 30.0);
    assert_near(pattern_value(&s, 5000, 1), 30.0 + 20.0 * sin(PI / 4));
    s.wave_period_ms = 0;
    assert_near(pattern_value(&s, 1234, 1), 30.0);
}

static void
test_burst(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_BURST);

    (void)state;
    s.ramp_ms = 20000; /* peak until 20 s, then down to 10 at 60 s */
    assert_near(pattern_value(&s, 0, 1), 50.0);
    assert_near(pattern_value(&s, 19999, 1), 50.0);
    assert_near(pattern_value(&s, 20000, 1), 50.0);
    assert_near(pattern_value(&s, 30000, 1), 40.0);
    assert_near(pattern_value(&s, 40000, 1), 30.0);
    assert_near(pattern_value(&s, 59000, 1), 11.0);
    assert_near(pattern_value(&s, 60000, 1), 10.0);
    assert_near(pattern_value(&s, 90000, 1), 10.0);
    s.ramp_ms = 0;
    assert_near(pattern_value(&s, 30000, 1), 30.0);
}

static void
test_step(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_STEP);

    (void)state;
    s.step_ms = 5000;
    s.step_size = 15.0;
    assert_near(pattern_value(&s, 0, 1), 10.0);
    assert_near(pattern_value(&s, 4999, 1), 10.0);
    assert_near(pattern_value(&s, 5000, 1), 25.0);
    assert_near(pattern_value(&s, 10000, 1), 40.0);
    assert_near(pattern_value(&s, 15000, 1), 50.0); /* 55 capped */
    assert_near(pattern_value(&s, 59000, 1), 50.0);
    s.step_ms = 0;
    assert_near(pattern_value(&s, 0, 1), 50.0);
}

static void
test_custom(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_CUSTOM);

    (void)state;
    s.n_stages = 3;
    s.stages[0] = (struct proto_stage){10000, 30.0}; /* 10 -> 30 */
    s.stages[1] = (struct proto_stage){20000, 30.0}; /* hold */
    s.stages[2] = (struct proto_stage){4000, 0.0};   /* 30 -> 0 */
    assert_near(pattern_value(&s, 0, 1), 10.0);
    assert_near(pattern_value(&s, 5000, 1), 20.0);
    assert_near(pattern_value(&s, 10000, 1), 30.0);
    assert_near(pattern_value(&s, 25000, 1), 30.0);
    assert_near(pattern_value(&s, 30000, 1), 30.0);
    assert_near(pattern_value(&s, 31000, 1), 22.5);
    assert_near(pattern_value(&s, 33000, 1), 7.5);
    assert_near(pattern_value(&s, 34000, 1), 0.0); /* after the last */
    assert_near(pattern_value(&s, 99000, 1), 0.0);
    /* A stage of 0 ms is a jump; no stage at all stays at initial. */
    s.stages[0] = (struct proto_stage){0, 45.0};
    assert_near(pattern_value(&s, 0, 1), 45.0);
    s.n_stages = 0;
    assert_near(pattern_value(&s, 1000, 1), 10.0);
}

static void
test_random(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_RANDOM);
    int hits[41];
    bool changed = false;

    (void)state;
    memset(hits, 0, sizeof(hits));
    for (uint64_t sec = 0; sec < 4000; sec++) {
        double v = pattern_value(&s, sec * 1000, 77);
        /* The same all second long, and the same on every call (agent). */
        assert_true(pattern_value(&s, sec * 1000 + 999, 77) == v);
        assert_true(pattern_value(&s, sec * 1000 + 500, 77) == v);
        assert_true(v >= 10.0 && v <= 50.0 && v == floor(v));
        hits[(int)v - 10]++;
        if (sec > 0 && v != pattern_value(&s, (sec - 1) * 1000, 77)) {
            changed = true;
        }
    }
    assert_true(changed);
    for (int i = 0; i <= 40; i++) {
        assert_true(hits[i] > 0); /* both ends reachable */
    }
    /* Another seed (another run or stream) draws another sequence. */
    changed = false;
    for (uint64_t sec = 0; sec < 50; sec++) {
        changed = changed || pattern_value(&s, sec * 1000, 77) !=
                                 pattern_value(&s, sec * 1000, 78);
    }
    assert_true(changed);
    assert_true(pattern_seed(77, 0) != pattern_seed(77, 1));
    assert_true(pattern_seed(77, 0) == pattern_seed(77, 0));
}

static void
test_poisson(void **state)
{
    struct proto_stream s = stream(CONFIG_PATTERN_POISSON);
    double sum = 0.0;
    const int n = 4000;

    (void)state;
    for (int sec = 0; sec < n; sec++) {
        double v = pattern_value(&s, (uint64_t)sec * 1000, 5);
        assert_true(pattern_value(&s, (uint64_t)sec * 1000 + 999, 5) == v);
        assert_true(v >= 10.0 && v <= 50.0 && v == floor(v));
        sum += v;
    }
    /* Mean 30, sd sqrt(30)/sqrt(n) ~ 0.09: well within 1. */
    assert_true(fabs(sum / n - 30.0) < 1.0);
    /* A large mean (normal approximation) stays clamped and near it. */
    s.initial = 9000.0;
    s.peak = 11000.0;
    sum = 0.0;
    for (int sec = 0; sec < 400; sec++) {
        double v = pattern_value(&s, (uint64_t)sec * 1000, 5);
        assert_true(v >= 9000.0 && v <= 11000.0 && v == floor(v));
        sum += v;
    }
    assert_true(fabs(sum / 400 - 10000.0) < 20.0);
    /* Clamped to [initial, peak] when the range is narrow. */
    s.initial = 3.0;
    s.peak = 3.0;
    assert_near(pattern_value(&s, 7000, 5), 3.0);
}

static void
test_share(void **state)
{
    (void)state;
    for (uint32_t u = 0; u <= 300; u++) {
        for (uint32_t n = 1; n <= 33; n++) {
            uint64_t sum = 0;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t sh = pattern_share(u, n, i);
                assert_int_equal(pattern_base(u, n, i), sum);
                assert_true(sh == u / n || sh == u / n + 1);
                assert_true(sh == 0 ? i >= u || u < n : true);
                sum += sh;
            }
            assert_int_equal(sum, u);
            assert_int_equal(pattern_base(u, n, n), u);
        }
    }
    /* U < n: the first U agents get one each. */
    assert_int_equal(pattern_share(2, 5, 0), 1);
    assert_int_equal(pattern_share(2, 5, 1), 1);
    assert_int_equal(pattern_share(2, 5, 2), 0);
    assert_int_equal(pattern_share(UINT32_MAX, 7, 0) * 7ULL - 4,
                     (uint64_t)UINT32_MAX);
    assert_int_equal(pattern_share(5, 0, 0), 0);
    assert_int_equal(pattern_share(5, 2, 2), 0);
    assert_int_equal(pattern_base(5, 0, 0), 0);
    /* Monotone in U: an agent's active users never exceed its users at
     * the peak. */
    for (uint32_t u = 0; u < 100; u++) {
        for (uint32_t i = 0; i < 7; i++) {
            assert_true(pattern_share(u, 7, i) <= pattern_share(u + 1, 7, i));
        }
    }
}

int
pattern_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant), cmocka_unit_test(test_ramps),
        cmocka_unit_test(test_spike),    cmocka_unit_test(test_wave),
        cmocka_unit_test(test_burst),    cmocka_unit_test(test_step),
        cmocka_unit_test(test_custom),   cmocka_unit_test(test_random),
        cmocka_unit_test(test_poisson),  cmocka_unit_test(test_share),
    };
    return cmocka_run_group_tests_name("pattern", tests, NULL, NULL);
}
