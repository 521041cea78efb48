/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/engine's assignment check (engine_check): what the
 * engine runs (closed and open streams of the mix, up to
 * PROTO_MAX_STREAMS) and
 * what it refuses in plain words instead of approximating it. The load
 * itself is exercised end to end (tests/integration).
 */
#include "unit.h"

#include <string.h>

#include "../../agent/engine.h"
#include "../../common/err.h"

#include "../../common/poison.h"

static void
closed_assign(struct proto_assign *a)
{
    memset(a, 0, sizeof(*a));
    a->n_agents = 2;
    a->agent_index = 1;
    a->n_streams = 1;
    a->streams[0].model = PROTO_MODEL_CLOSED;
    a->streams[0].requests = PROTO_REQ_MIX;
    a->streams[0].pattern = CONFIG_PATTERN_RAMP_UP;
    a->streams[0].initial = 1.0;
    a->streams[0].peak = 9.0;
    a->streams[0].rate_per_user = 1.0;
}

static void
test_check_accepts(void **state)
{
    struct proto_assign a;
    char err[PROTO_TEXT_MAX] = "";

    (void)state;
    closed_assign(&a);
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
    /* Four closed streams side by side, each with its own users. */
    a.n_streams = PROTO_MAX_STREAMS;
    for (int i = 1; i < PROTO_MAX_STREAMS; i++) {
        a.streams[i] = a.streams[0];
        a.streams[i].pattern = (uint32_t)(CONFIG_PATTERN_SPIKE + i);
        a.streams[i].connections = PROTO_CONN_FRESH;
    }
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
    /* A stream whose peak gives this agent no user is fine while another
     * has some. */
    a.streams[1].peak = 1.0;
    a.streams[1].initial = 0.0;
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
    /* Open streams of the mix: arrivals/s, slots split over agents (2
     * agents, 2 slots: one each). */
    closed_assign(&a);
    a.streams[0].model = PROTO_MODEL_OPEN;
    a.streams[0].peak = 500.0;
    a.streams[0].max_in_flight = 2;
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
}

static void
test_check_refuses(void **state)
{
    struct proto_assign a;
    char err[PROTO_TEXT_MAX] = "";

    (void)state;
    closed_assign(&a);
    a.streams[0].model = PROTO_MODEL_OPEN;
    a.streams[0].max_in_flight = 1; /* agent 1 of 2 would have no slot */
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    assert_string_equal(err, "stream 0: max_in_flight 1 is below the 2 "
                             "agents (each needs a slot)");
    a.streams[0].max_in_flight = 4;
    a.streams[0].requests = PROTO_REQ_OBSERVE; /* observes: accepted */
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
    /* Bursts: open streams only, a window within the interval. */
    a.streams[0].burst_size = 10;
    a.streams[0].burst_count = 2;
    a.streams[0].burst_ms = 100;
    a.streams[0].burst_every_ms = 1000;
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
    a.streams[0].burst_ms = 1001;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    a.streams[0].burst_ms = 100;
    a.streams[0].model = PROTO_MODEL_CLOSED;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    assert_string_equal(err, "stream 0: bursts need an open stream and a "
                             "window no longer than the interval");

    closed_assign(&a);
    a.n_streams = 2;
    a.streams[1] = a.streams[0];
    a.streams[1].requests = PROTO_REQ_INVALID;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    assert_string_equal(err, "request kind invalid is not implemented yet");
    a.streams[1].requests = PROTO_REQ_OBSERVE;
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);
    a.streams[1].requests = PROTO_REQ_LARGE_OBSERVE;
    assert_int_equal(engine_check(&a, err, sizeof(err)), 0);

    /* No user for this agent at the peak: 1 user over 2 agents, index 1. */
    closed_assign(&a);
    a.streams[0].initial = 0.0;
    a.streams[0].peak = 1.9;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    assert_string_equal(err, "no users assigned");

    closed_assign(&a);
    a.streams[0].peak = 2.0 * ENGINE_MAX_USERS + 2.0;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_RANGE);

    closed_assign(&a);
    a.agent_index = 2;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    closed_assign(&a);
    a.n_streams = 0;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    closed_assign(&a);
    a.streams[0].initial = 10.0; /* above peak */
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
    closed_assign(&a);
    a.streams[0].rate_per_user = -1.0;
    assert_int_equal(engine_check(&a, err, sizeof(err)), E_INVAL);
}

int
engine_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_check_refuses),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
