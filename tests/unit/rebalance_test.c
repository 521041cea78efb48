/* SPDX-License-Identifier: MIT */
/*
 * on_agent_loss rebalance: the split of a lost agent's slices over the
 * survivors (master/rebalance.h) keeps every user and every arrival of
 * the test in exactly one live slice, for 2 to 5 agents, 1 to 4
 * survivors and losses in a row in every order, and the agent's share
 * rule (agent/pattern.h) counts the same users the master's does.
 */
#include "unit.h"

#include <string.h>

#include "../../agent/pattern.h"
#include "../../common/err.h"
#include "../../master/rebalance.h"

#include "../../common/poison.h"

#define SIM_MAX 5

/* The fleet as the master sees it: each agent's slices, who is alive. */
struct sim {
    uint32_t n;
    bool alive[SIM_MAX];
    uint32_t ns[SIM_MAX];
    struct proto_slice sl[SIM_MAX][PROTO_MAX_SLICES];
};

static void
sim_init(struct sim *s, uint32_t n)
{
    memset(s, 0, sizeof(*s));
    s->n = n;
    for (uint32_t i = 0; i < n; i++) {
        s->alive[i] = true;
        s->ns[i] = 1;
        s->sl[i][0].index = i;
        s->sl[i][0].count = n;
    }
}

/* Agent l is lost at at_ms: its slices go to the others, in index order,
 * as coord.c does it. */
static void
sim_lose(struct sim *s, uint32_t l, uint64_t at_ms)
{
    uint32_t surv[SIM_MAX];
    uint32_t m = 0;
    struct proto_slice out[SIM_MAX * PROTO_MAX_SLICES];

    for (uint32_t i = 0; i < s->n; i++) {
        if (i != l && s->alive[i]) {
            surv[m++] = i;
        }
    }
    assert_true(m >= 1);
    assert_int_equal(rebalance_split(s->sl[l], s->ns[l], m, at_ms, out), 0);
    for (uint32_t r = 0; r < m; r++) {
        for (uint32_t j = 0; j < s->ns[l]; j++) {
            uint32_t a = surv[r];
            assert_true(s->ns[a] < PROTO_MAX_SLICES);
            assert_int_equal(out[r * s->ns[l] + j].from_ms, at_ms);
            s->sl[a][s->ns[a]++] = out[r * s->ns[l] + j];
        }
    }
    s->alive[l] = false;
}

/* Every arrival (or user, by global index) k is in exactly one live
 * slice, and the live slices' shares of any count sum to it, counted by
 * the master's rule and the agent's alike. */
static void
sim_check(const struct sim *s, uint64_t period)
{
    for (uint64_t k = 0; k < 2 * period + 7; k++) {
        uint32_t owners = 0;
        for (uint32_t i = 0; i < s->n; i++) {
            for (uint32_t j = 0; s->alive[i] && j < s->ns[i]; j++) {
                bool mine = rebalance_has(k, &s->sl[i][j]);
                assert_int_equal(mine,
                                 pattern_arrival_mine(k, s->sl[i][j].count,
                                                      s->sl[i][j].index));
                owners += mine ? 1u : 0u;
            }
        }
        assert_int_equal(owners, 1);
    }
    for (uint32_t u = 0; u <= 130; u++) {
        uint64_t sum = 0;
        double frac = 0.0;
        for (uint32_t i = 0; i < s->n; i++) {
            for (uint32_t j = 0; s->alive[i] && j < s->ns[i]; j++) {
                uint32_t a = rebalance_share(u, &s->sl[i][j]);
                assert_int_equal(
                    a, pattern_share(u, s->sl[i][j].count, s->sl[i][j].index));
                sum += a;
            }
            if (s->alive[i]) {
                frac += rebalance_fraction(s->sl[i], s->ns[i]);
            }
        }
        assert_int_equal(sum, u);
        assert_true(frac > 1.0 - 1e-9 && frac < 1.0 + 1e-9);
    }
}

/* One split: of any count U, the m survivors' parts of a slice (I, N)
 * add up to the slice's share, for every slice of n = 2..5 agents and
 * m = 1..4 survivors; the arrivals of the slice are split the same way. */
static void
test_split_one(void **state)
{
    (void)state;
    for (uint32_t n = 2; n <= 5; n++) {
        for (uint32_t i = 0; i < n; i++) {
            for (uint32_t m = 1; m <= 4; m++) {
                struct proto_slice lost = {0, i, n};
                struct proto_slice out[4];
                assert_int_equal(rebalance_split(&lost, 1, m, 1234, out), 0);
                for (uint32_t u = 0; u <= 200; u++) {
                    uint32_t sum = 0;
                    for (uint32_t r = 0; r < m; r++) {
                        sum += rebalance_share(u, &out[r]);
                        /* "the lost slice, then r of m" (PROTOCOL.md
                         * 3.14) composed into one pair */
                        assert_int_equal(
                            rebalance_share(u, &out[r]),
                            pattern_share(pattern_share(u, n, i), m, r));
                    }
                    assert_int_equal(sum, rebalance_share(u, &lost));
                }
                for (uint64_t k = 0; k < 500; k++) {
                    uint32_t owners = 0;
                    for (uint32_t r = 0; r < m; r++) {
                        bool in = rebalance_has(k, &out[r]);
                        owners += in ? 1u : 0u;
                        if (in) {
                            /* k of class i, then (k div n) mod m = r */
                            assert_int_equal(k % n, i);
                            assert_int_equal((k / n) % m, r);
                        }
                    }
                    assert_int_equal(owners, k % n == i ? 1u : 0u);
                }
            }
        }
    }
}

/* Generates every order of losing n - 1 of n agents (Heap's algorithm on
 * a small array) and checks the fleet after each loss. */
static void
run_orders(uint32_t n)
{
    uint32_t perm[SIM_MAX];
    uint32_t c[SIM_MAX];
    uint64_t period = 1;
    uint32_t i = 1;

    for (uint32_t k = 0; k < n; k++) {
        perm[k] = k;
        c[k] = 0;
        period *= k + 1;
    }
    for (;;) {
        struct sim s;
        sim_init(&s, n);
        sim_check(&s, period);
        for (uint32_t step = 0; step + 1 < n; step++) {
            sim_lose(&s, perm[step], 1000u * (step + 1));
            sim_check(&s, period);
        }
        /* next permutation */
        while (i < n && c[i] >= i) {
            c[i] = 0;
            i++;
        }
        if (i >= n) {
            break;
        }
        {
            uint32_t a = i % 2 == 0 ? 0 : c[i];
            uint32_t t = perm[a];
            perm[a] = perm[i];
            perm[i] = t;
        }
        c[i]++;
        i = 1;
    }
}

/* Losses in a row, in every order, for 2 to 5 agents: after each, every
 * arrival and user is in exactly one live slice. */
static void
test_chained_losses(void **state)
{
    (void)state;
    for (uint32_t n = 2; n <= 5; n++) {
        run_orders(n);
    }
}

/* The worked example of PROTOCOL.md 3.14: agent 2 of 3 lost, then agent
 * 1; agent 0 ends with every residue. */
static void
test_example(void **state)
{
    struct sim s;

    (void)state;
    sim_init(&s, 3);
    sim_lose(&s, 2, 4200);
    assert_int_equal(s.ns[0], 2);
    assert_int_equal(s.sl[0][1].index, 2);
    assert_int_equal(s.sl[0][1].count, 6);
    assert_int_equal(s.sl[1][1].index, 5);
    assert_int_equal(s.sl[1][1].count, 6);
    /* 9 users: a0 3 + share(9, 6, 2) = 5, a1 3 + share(9, 6, 5) = 4 */
    assert_int_equal(3 + rebalance_share(9, &s.sl[0][1]), 5);
    assert_int_equal(3 + rebalance_share(9, &s.sl[1][1]), 4);
    sim_lose(&s, 1, 7000);
    assert_int_equal(s.ns[0], 4);
    assert_int_equal(s.sl[0][2].index, 1);
    assert_int_equal(s.sl[0][2].count, 3);
    assert_int_equal(s.sl[0][3].index, 5);
    assert_int_equal(s.sl[0][3].count, 6);
    assert_int_equal(s.sl[0][3].from_ms, 7000);
    sim_check(&s, 6);
}

static void
test_split_errors(void **state)
{
    struct proto_slice lost = {0, 1, 3};
    struct proto_slice bad = {0, 3, 3};
    struct proto_slice big = {0, 0, 0x80000000u};
    struct proto_slice out[4];

    (void)state;
    assert_int_equal(rebalance_split(&lost, 1, 0, 0, out), E_INVAL);
    assert_int_equal(rebalance_split(&bad, 1, 2, 0, out), E_INVAL);
    out[0].count = 77;
    assert_int_equal(rebalance_split(&big, 1, 2, 0, out), E_RANGE);
    assert_int_equal(out[0].count, 77); /* nothing written */
    assert_int_equal(rebalance_split(&big, 1, 1, 0, out), 0);
}

int
rebalance_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_one),
        cmocka_unit_test(test_chained_losses),
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_split_errors),
    };
    return cmocka_run_group_tests_name("rebalance", tests, NULL, NULL);
}
