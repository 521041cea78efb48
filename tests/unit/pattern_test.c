/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/pattern: every pattern's value at chosen instants
 * against the formulas of docs/tests-design.md section 3, the seeded
 * per-second draws (same (seed, second), same value, on every agent), and
 * the exact split of a count over agents, and the open model's arrival
 * sequence (constant, ramp = the integral of the rate, poisson) and its
 * exact split over agents.
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

/* --- open-model arrivals ------------------------------------------------ */

static struct proto_stream
open_stream(uint32_t pattern, double initial, double peak, uint64_t dur_ms)
{
    struct proto_stream s;

    memset(&s, 0, sizeof(s));
    s.model = PROTO_MODEL_OPEN;
    s.pattern = pattern;
    s.duration_ms = dur_ms;
    s.initial = initial;
    s.peak = peak;
    s.max_in_flight = 10;
    return s;
}

/* Every arrival of s, into out (at most max); returns the count. */
static size_t
all_arrivals(const struct proto_stream *s, uint64_t seed, uint64_t *out,
             size_t max)
{
    struct pattern_arrivals it;
    uint64_t k = 0, t = 0;
    size_t n = 0;

    pattern_arrivals_init(&it, s, seed);
    while (n < max && pattern_arrivals_next(&it, &k, &t)) {
        assert_int_equal(k, n);
        if (n > 0) {
            assert_true(t >= out[n - 1]);
        }
        out[n++] = t;
    }
    /* Over: and it stays over. */
    assert_false(pattern_arrivals_next(&it, &k, &t));
    return n;
}

static void
test_arrivals_constant(void **state)
{
    struct proto_stream s = open_stream(CONFIG_PATTERN_CONSTANT, 1, 100, 5000);
    static uint64_t t[1000];
    uint64_t one = 0;

    (void)state;
    /* 100/s for 5 s: t_k = k / 100 s exactly, 500 of them. */
    assert_int_equal(all_arrivals(&s, 7, t, 1000), 500);
    for (uint64_t k = 0; k < 500; k++) {
        assert_int_equal(t[k], k * 10000000u);
    }
    assert_true(pattern_arrival_at(&s, 7, 499, &one));
    assert_int_equal(one, 4990000000u);
    assert_false(pattern_arrival_at(&s, 7, 500, &one));
    /* A non-integer period: 3/s for 1 s: 0, 1/3, 2/3 s. */
    s.peak = 3.0;
    s.duration_ms = 1000;
    assert_int_equal(all_arrivals(&s, 7, t, 1000), 3);
    assert_int_equal(t[1], 333333333u);
    assert_int_equal(t[2], 666666667u);
    /* Rate 0: no arrival. */
    s.peak = 0.0;
    s.initial = 0.0;
    assert_int_equal(all_arrivals(&s, 7, t, 1000), 0);
}

static void
test_arrivals_ramp(void **state)
{
    /* ramp_up from 10/s to 110/s over 4 s, then 110/s to 6 s:
     * Lambda(t) = 10 t + 12.5 t^2 for t <= 4 (Lambda(4) = 240), then
     * 240 + 110 (t - 4). t_k solves Lambda(t_k) = k. */
    struct proto_stream s = open_stream(CONFIG_PATTERN_RAMP_UP, 10, 110, 6000);
    static uint64_t t[2000];
    size_t n;

    (void)state;
    s.ramp_ms = 4000;
    n = all_arrivals(&s, 3, t, 2000);
    /* Lambda(6) = 460: arrivals 0 .. 459. */
    assert_int_equal(n, 460);
    for (size_t k = 0; k < n; k++) {
        double want;
        if (k <= 240) {
            want = (-10.0 + sqrt(100.0 + 50.0 * (double)k)) / 25.0;
        } else {
            want = 4.0 + ((double)k - 240.0) / 110.0;
        }
        /* Steps of 1 ms with a constant rate inside: within 1 us. */
        if (fabs((double)t[k] / 1e9 - want) > 1e-6) {
            fail_msg("k=%zu: got %.9f s, want %.9f s", k, (double)t[k] / 1e9,
                     want);
        }
    }
    /* ramp_down is the mirror: the rate falls, gaps widen. */
    s.pattern = CONFIG_PATTERN_RAMP_DOWN;
    n = all_arrivals(&s, 3, t, 2000);
    /* Lambda(6) = 110 * 4 - 12.5 * 16 + 10 * 2 = 260. */
    assert_int_equal(n, 260);
    assert_true(t[2] - t[1] < t[259] - t[258]);
}

static void
test_arrivals_poisson(void **state)
{
    /* poisson: exponential gaps at the mean rate (initial + peak) / 2 =
     * 200/s over 50 s: 10000 expected, sd 100. */
    struct proto_stream s =
        open_stream(CONFIG_PATTERN_POISSON, 100, 300, 50000);
    static uint64_t a[20000], b[20000];
    size_t na, nb;
    double sum = 0, sum2 = 0;

    (void)state;
    na = all_arrivals(&s, 11, a, 20000);
    nb = all_arrivals(&s, 11, b, 20000);
    /* Same seed, same sequence, on every agent. */
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(a[0]));
    assert_true(na > 9500 && na < 10500);
    /* Gaps: mean 5 ms, and exponential (sd = mean), within 5 %. */
    for (size_t k = 1; k < na; k++) {
        double g = (double)(a[k] - a[k - 1]) / 1e6;
        sum += g;
        sum2 += g * g;
    }
    sum /= (double)(na - 1);
    sum2 = sqrt(sum2 / (double)(na - 1) - sum * sum);
    assert_true(fabs(sum - 5.0) < 0.25);
    assert_true(fabs(sum2 - 5.0) < 0.25);
    /* Another seed, another sequence. */
    nb = all_arrivals(&s, 12, b, 20000);
    assert_true(na != nb || memcmp(a, b, na * sizeof(a[0])) != 0);
}

/* The agents' subsequences (k mod n = i) are disjoint and their union is
 * the sequence, for n = 1..5 and every pattern. */
static void
test_arrivals_split(void **state)
{
    static const uint32_t pats[] = {
        CONFIG_PATTERN_CONSTANT, CONFIG_PATTERN_RAMP_UP, CONFIG_PATTERN_SPIKE,
        CONFIG_PATTERN_WAVE,     CONFIG_PATTERN_RANDOM,  CONFIG_PATTERN_POISSON,
        CONFIG_PATTERN_BURST,    CONFIG_PATTERN_STEP,    CONFIG_PATTERN_CUSTOM,
    };
    static uint64_t all[4000], got[4000];
    static uint8_t seen[4000];

    (void)state;
    for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
        struct proto_stream s = open_stream(pats[p], 20, 120, 8000);
        size_t n;
        s.ramp_ms = 3000;
        s.spike_interval_ms = 2000;
        s.spike_duration_ms = 500;
        s.wave_period_ms = 4000;
        s.step_ms = 1000;
        s.step_size = 15;
        s.n_stages = 2;
        s.stages[0] = (struct proto_stage){3000, 200};
        s.stages[1] = (struct proto_stage){5000, 0};
        n = all_arrivals(&s, 99, all, 4000);
        assert_true(n > 100 && n < 4000);
        for (uint32_t na = 1; na <= 5; na++) {
            size_t total = 0;
            memset(seen, 0, sizeof(seen));
            for (uint32_t i = 0; i < na; i++) {
                /* Agent i generates the whole sequence itself and keeps
                 * its own residue class. */
                struct pattern_arrivals it;
                uint64_t k = 0, t = 0;
                pattern_arrivals_init(&it, &s, 99);
                while (pattern_arrivals_next(&it, &k, &t)) {
                    if (!pattern_arrival_mine(k, na, i)) {
                        continue;
                    }
                    assert_true(k < n);
                    assert_int_equal(seen[k], 0);
                    seen[k] = 1;
                    got[k] = t;
                    total++;
                }
            }
            assert_int_equal(total, n);
            assert_memory_equal(got, all, n * sizeof(all[0]));
        }
    }
}

/* --- burst arrivals (the burst test) ----------------------------------- */

/* 3 bursts of 7 arrivals over 100 ms, 1 s apart, in a 10 s stream. */
static struct proto_stream
burst_stream(void)
{
    struct proto_stream s = stream(CONFIG_PATTERN_CONSTANT);

    s.model = PROTO_MODEL_OPEN;
    s.duration_ms = 10000;
    s.burst_size = 7;
    s.burst_count = 3;
    s.burst_ms = 100;
    s.burst_every_ms = 1000;
    s.group_ms = 1000;
    return s;
}

/* Exactly burst_size arrivals per burst, each within [start, start +
 * burst_ms), evenly spread (arrival j at j * 100 / 7 ms), none after the
 * last burst: the pattern's own rate plays no part. */
static void
test_arrivals_bursts(void **state)
{
    struct proto_stream s = burst_stream();
    struct pattern_arrivals it;
    uint64_t per[4] = {0};
    uint64_t k = 0, t = 0, n = 0, prev = 0;

    (void)state;
    pattern_arrivals_init(&it, &s, 42);
    while (pattern_arrivals_next(&it, &k, &t)) {
        uint64_t b = t / 1000000000u;
        uint64_t off = t - b * 1000000000u;
        assert_int_equal(k, n);
        assert_true(b < 3);
        assert_true(off < 100000000u);
        assert_int_equal(off, (k % 7) * 100000000u / 7);
        assert_true(n == 0 || t > prev);
        per[b]++;
        prev = t;
        n++;
    }
    assert_int_equal(n, 21);
    assert_int_equal(per[0], 7);
    assert_int_equal(per[1], 7);
    assert_int_equal(per[2], 7);
    assert_false(pattern_arrivals_next(&it, &k, &t));
    assert_true(pattern_arrival_at(&s, 1, 20, &t));
    assert_int_equal(t, 2000000000u + 6u * 100000000u / 7u);
    assert_false(pattern_arrival_at(&s, 1, 21, &t));
    /* burst_ms 0: a whole burst at its start (the pool test's blast). */
    s.burst_ms = 0;
    assert_true(pattern_burst_at(&s, 6, &t));
    assert_int_equal(t, 0);
    /* A burst past the stream's end does not exist. */
    s.duration_ms = 1500;
    assert_true(pattern_burst_at(&s, 13, &t));
    assert_false(pattern_burst_at(&s, 14, &t));
    s.burst_size = 0;
    assert_false(pattern_burst_at(&s, 0, &t));
}

/* Over 1..5 agents (k mod n), the agents' arrivals are disjoint and their
 * union is the whole sequence, burst by burst. */
static void
test_arrivals_bursts_split(void **state)
{
    struct proto_stream s = burst_stream();

    (void)state;
    for (uint32_t n = 1; n <= 5; n++) {
        uint32_t owner[21];
        uint64_t per_burst[3] = {0};
        memset(owner, 0xff, sizeof(owner));
        for (uint32_t a = 0; a < n; a++) {
            struct pattern_arrivals it;
            uint64_t k = 0, t = 0;
            pattern_arrivals_init(&it, &s, 42);
            while (pattern_arrivals_next(&it, &k, &t)) {
                if (!pattern_arrival_mine(k, n, a)) {
                    continue;
                }
                assert_true(k < 21);
                assert_int_equal(owner[k], 0xffffffffu); /* disjoint */
                owner[k] = a;
                per_burst[t / 1000000000u]++;
            }
        }
        for (uint32_t k = 0; k < 21; k++) {
            assert_int_equal(owner[k], k % n); /* complete */
        }
        assert_int_equal(per_burst[0], 7);
        assert_int_equal(per_burst[1], 7);
        assert_int_equal(per_burst[2], 7);
    }
}

int
pattern_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_ramps),
        cmocka_unit_test(test_spike),
        cmocka_unit_test(test_wave),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_custom),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_poisson),
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_arrivals_constant),
        cmocka_unit_test(test_arrivals_ramp),
        cmocka_unit_test(test_arrivals_poisson),
        cmocka_unit_test(test_arrivals_split),
        cmocka_unit_test(test_arrivals_bursts),
        cmocka_unit_test(test_arrivals_bursts_split),
    };
    return cmocka_run_group_tests_name("pattern", tests, NULL, NULL);
}
