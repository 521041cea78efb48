/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proto/proto: the golden vectors in tests/data/proto (decode
 * and check every field, encode and compare byte for byte), random round
 * trips of every type, and the decoder's refusals: truncation, versions,
 * types, trailing bytes, sizes, bounds, duplicates, and OOM at every
 * allocation. Hand-made malformed messages are built with msgpack-c.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/rng.h"
#include "../../common/sha256.h"
#include "../../proto/proto.h"

#include "../../common/poison.h"

/* --- golden contents (verbatim from tests/data/proto/README.md) -------- */

/* The golden contents, one message per type. */
struct golden_store {
    struct hist_bucket obs_lat[4];
    struct hist_bucket obs_svc[2];
    struct proto_err_count obs_err[3];
    struct hist_bucket learn_lat[1];
    struct hist_bucket learn_svc[1];
};

static const uint8_t golden_token[] = "kato-stress-golden-token";

static void
golden_nonces(uint8_t a[PROTO_NONCE_LEN], uint8_t m[PROTO_NONCE_LEN])
{
    for (int i = 0; i < PROTO_NONCE_LEN; i++) {
        a[i] = (uint8_t)i;          /* agent nonce: 00 01 .. 0f */
        m[i] = (uint8_t)(0x10 + i); /* master nonce: 10 11 .. 1f */
    }
}

/* Fills *m with the golden message of the given type; batch arrays point
 * into *st. */
static void
golden_fill(uint32_t type, struct proto_msg *m, struct golden_store *st)
{
    uint8_t na[PROTO_NONCE_LEN];
    uint8_t nm[PROTO_NONCE_LEN];
    const size_t tlen = sizeof(golden_token) - 1;

    memset(m, 0, sizeof(*m));
    memset(st, 0, sizeof(*st));
    golden_nonces(na, nm);
    m->type = type;
    switch (type) {
    case PROTO_HELLO:
        m->now_ns = 5000000000ULL;
        (void)snprintf(m->u.hello.name, sizeof(m->u.hello.name), "local-1");
        (void)snprintf(m->u.hello.host, sizeof(m->u.hello.host), "ci-host");
        m->u.hello.pid = 4242;
        m->u.hello.threads = 2;
        memcpy(m->u.hello.nonce, na, PROTO_NONCE_LEN);
        break;
    case PROTO_CHALLENGE:
        m->now_ns = 7000000000ULL;
        m->echo_ns = 5000000000ULL;
        memcpy(m->u.challenge.nonce, nm, PROTO_NONCE_LEN);
        proto_proof(PROTO_LABEL_MASTER, golden_token, tlen, na, nm,
                    m->u.challenge.proof);
        break;
    case PROTO_AUTH:
        m->now_ns = 5000100000ULL;
        proto_proof(PROTO_LABEL_AGENT, golden_token, tlen, nm, na,
                    m->u.auth.proof);
        break;
    case PROTO_WELCOME:
        m->now_ns = 7000200000ULL;
        m->echo_ns = 5000100000ULL;
        m->u.welcome.agent_id = 1;
        m->u.welcome.heartbeat_ms = 500;
        break;
    case PROTO_REJECT:
        m->now_ns = 7000200000ULL;
        m->echo_ns = 5000100000ULL;
        (void)snprintf(m->u.reject.reason, sizeof(m->u.reject.reason),
                       "protocol version 2 not supported (want 1)");
        break;
    case PROTO_HEARTBEAT:
        m->now_ns = 6000000000ULL;
        m->u.heartbeat.agent_id = 1;
        m->u.heartbeat.state = PROTO_ST_RUNNING;
        m->u.heartbeat.users_active = 25;
        m->u.heartbeat.in_flight = 3;
        m->u.heartbeat.acked_seq = 41;
        break;
    case PROTO_ASSIGN: {
        struct proto_assign *a = &m->u.assign;
        struct payload_cfg *d = &a->data;
        struct proto_stream *s = &a->streams[0];
        m->now_ns = 8000000000ULL;
        m->echo_ns = 6000000000ULL;
        (void)snprintf(a->test, sizeof(a->test), "concurrent");
        (void)snprintf(a->url, sizeof(a->url), "http://127.0.0.1:8000");
        (void)snprintf(a->node_id, sizeof(a->node_id), "stress-node");
        a->duration_ms = 60000;
        a->timeout_ms = 30000;
        a->connect_timeout_ms = 10000;
        a->mix[OP_SESSION] = 0.0;
        a->mix[OP_OBSERVE] = 0.4;
        a->mix[OP_LEARN] = 0.2;
        a->mix[OP_PREDICTIONS] = 0.2;
        a->mix[OP_STM] = 0.1;
        a->mix[OP_CLEAR] = 0.1;
        d->min_strings_per_observation = 1;
        d->max_strings_per_observation = 5;
        d->min_string_length = 5;
        d->max_string_length = 20;
        d->string_vocabulary_size = 1000;
        d->vector_probability = 0.5;
        d->min_vector_size = 3;
        d->max_vector_size = 10;
        d->vector_value_min = -1.0;
        d->vector_value_max = 1.0;
        d->emotive_probability = 0.3;
        d->min_emotives = 1;
        d->max_emotives = 3;
        d->emotive_value_min = -1.0;
        d->emotive_value_max = 1.0;
        a->vector_dim = 8;
        a->seed = 0x1234567890abcdefULL;
        a->agent_index = 1;
        a->n_agents = 2;
        a->n_streams = 1;
        s->model = PROTO_MODEL_CLOSED;
        s->requests = PROTO_REQ_MIX;
        s->connections = PROTO_CONN_REUSE;
        s->pattern = CONFIG_PATTERN_CONSTANT;
        s->duration_ms = 60000;
        s->initial = 50.0;
        s->peak = 50.0;
        s->rate_per_user = 1.0;
        s->think_ms = 100;
        break;
    }
    case PROTO_START:
        m->now_ns = 8000500000ULL;
        m->echo_ns = 6500000000ULL;
        m->u.start.start_ns = 9000000000ULL;
        break;
    case PROTO_STOP:
        m->now_ns = 20000000000ULL;
        m->echo_ns = 18000000000ULL;
        (void)snprintf(m->u.stop.reason, sizeof(m->u.stop.reason),
                       "threshold p95 exceeded");
        break;
    case PROTO_BATCH: {
        struct proto_batch *b = &m->u.batch;
        struct proto_op_batch *o = &b->op[OP_OBSERVE];
        m->now_ns = 51000000000ULL;
        b->agent_id = 1;
        b->seq = 42;
        b->interval = 41;
        b->users_active = 25;
        st->obs_lat[0] = (struct hist_bucket){2100, 50};
        st->obs_lat[1] = (struct hist_bucket){2101, 30};
        st->obs_lat[2] = (struct hist_bucket){2400, 17};
        st->obs_lat[3] = (struct hist_bucket){4000, 3};
        st->obs_svc[0] = (struct hist_bucket){2000, 97};
        st->obs_svc[1] = (struct hist_bucket){2050, 3};
        st->obs_err[0] = (struct proto_err_count){404, 1};
        st->obs_err[1] = (struct proto_err_count){503, 1};
        st->obs_err[2] = (struct proto_err_count){ERRK_TIMEOUT, 1};
        o->requests = 100;
        o->errors = 3;
        o->bytes_sent = 51200;
        o->bytes_recv = 10240;
        o->n_latency = 4;
        o->latency = st->obs_lat;
        o->n_service = 2;
        o->service = st->obs_svc;
        o->n_errors = 3;
        o->err = st->obs_err;
        o = &b->op[OP_LEARN];
        st->learn_lat[0] = (struct hist_bucket){1800, 20};
        st->learn_svc[0] = (struct hist_bucket){1790, 20};
        o->requests = 20;
        o->bytes_sent = 2560;
        o->bytes_recv = 640;
        o->n_latency = 1;
        o->latency = st->learn_lat;
        o->n_service = 1;
        o->service = st->learn_svc;
        break;
    }
    case PROTO_ACK:
        m->now_ns = 52000000000ULL;
        m->echo_ns = 51000000000ULL;
        m->u.ack.seq = 42;
        break;
    case PROTO_GOODBYE: {
        static const uint64_t req[OP_COUNT] = {25, 6000, 1200, 1200, 600, 600};
        static const uint64_t err[OP_COUNT] = {0, 18, 2, 0, 0, 1};
        m->now_ns = 70000000000ULL;
        m->u.goodbye.agent_id = 1;
        m->u.goodbye.last_seq = 60;
        memcpy(m->u.goodbye.requests, req, sizeof(req));
        memcpy(m->u.goodbye.errors, err, sizeof(err));
        break;
    }
    case PROTO_ADOPT:
        /* Agent 2 of 3 lost at 4.2 s; this survivor is rank 1 of 2:
         * (2 + 3 * 1, 3 * 2) = (5, 6). */
        m->now_ns = 30000000000ULL;
        m->echo_ns = 29800000000ULL;
        m->u.adopt.generation = 1;
        m->u.adopt.n_slices = 1;
        m->u.adopt.slices[0].from_ms = 4200;
        m->u.adopt.slices[0].index = 5;
        m->u.adopt.slices[0].count = 6;
        break;
    default:
        break;
    }
}

/* --- helpers ------------------------------------------------------------ */

/* The batch of batch.bin with every resource key set (batch_res.bin):
 * repeated verbatim in tests/data/proto/README.md's generator. */
static void
golden_fill_batch_res(struct proto_msg *m, struct golden_store *st)
{
    struct proto_batch *b = &m->u.batch;

    golden_fill(PROTO_BATCH, m, st);
    b->mem_ms = 41000;
    b->mem_bytes = 52428800;
    b->res = PROTO_RES_AGENT | PROTO_RES_ENGINE | PROTO_RES_TCPU;
    b->cpu_centi = 4250;
    b->host_cpu_centi = 3100;
    b->rss_bytes = 20971520;
    b->net_rx_bytes = 123456;
    b->net_tx_bytes = 654321;
    b->open_conns = 25;
    b->lag_max_us = 1500;
    b->lag_mean_us = 120;
    b->target_cpu_centi = 8800;
}

static const char *const type_files[PROTO_TYPE_MAX + 1] = {
    NULL,     "hello", "challenge", "auth",  "welcome", "reject",  "heartbeat",
    "assign", "start", "stop",      "batch", "ack",     "goodbye", "adopt",
};

/* Reads tests/data/proto/<name>.bin (or $KS_TEST_DATA/proto/...) into b;
 * the storage is exactly the file's size, so ASan sees any overread. */
static void read_golden_file(const char *name, struct buf *b);

static void
read_golden(uint32_t type, struct buf *b)
{
    read_golden_file(type_files[type], b);
}

static void
read_golden_file(const char *name, struct buf *b)
{
    const char *dir = getenv("KS_TEST_DATA");
    char path[512];
    uint8_t chunk[4096];
    struct buf tmp;
    FILE *f;
    size_t n;

    if (dir == NULL || dir[0] == '\0') {
        dir = "tests/data";
    }
    (void)snprintf(path, sizeof(path), "%s/proto/%s.bin", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s (run from the repo root or set "
                 "KS_TEST_DATA)",
                 path);
        return;
    }
    buf_init(&tmp, 1u << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        assert_int_equal(buf_append(&tmp, chunk, n), 0);
    }
    assert_int_equal(ferror(f), 0);
    assert_int_equal(fclose(f), 0);
    assert_true(tmp.len > 0);
    buf_init(b, tmp.len);
    assert_int_equal(buf_append(b, tmp.data, tmp.len), 0);
    buf_fini(&tmp);
    /* Shrink to the exact size so reads past the end are caught. */
    {
        uint8_t *exact = xmalloc(b->len);
        assert_non_null(exact);
        memcpy(exact, b->data, b->len);
        xfree(b->data);
        b->data = exact;
        b->cap = b->len;
    }
}

static void
assert_double_same(double a, double b)
{
    assert_memory_equal(&a, &b, sizeof(double));
}

static void
assert_hist_equal(size_t na, const struct hist_bucket *a, size_t nb,
                  const struct hist_bucket *b)
{
    assert_int_equal(na, nb);
    if (na == 0) {
        assert_null(a);
        assert_null(b);
        return;
    }
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].index, b[i].index);
        assert_int_equal(a[i].count, b[i].count);
    }
}

static void
assert_errs_equal(size_t na, const struct proto_err_count *a, size_t nb,
                  const struct proto_err_count *b)
{
    assert_int_equal(na, nb);
    if (na == 0) {
        assert_null(a);
        assert_null(b);
        return;
    }
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].key, b[i].key);
        assert_int_equal(a[i].count, b[i].count);
    }
}

static void
assert_payload_equal(const struct payload_cfg *a, const struct payload_cfg *b)
{
    assert_int_equal(a->min_strings_per_observation,
                     b->min_strings_per_observation);
    assert_int_equal(a->max_strings_per_observation,
                     b->max_strings_per_observation);
    assert_int_equal(a->min_string_length, b->min_string_length);
    assert_int_equal(a->max_string_length, b->max_string_length);
    assert_int_equal(a->string_vocabulary_size, b->string_vocabulary_size);
    assert_double_same(a->vector_probability, b->vector_probability);
    assert_int_equal(a->min_vector_size, b->min_vector_size);
    assert_int_equal(a->max_vector_size, b->max_vector_size);
    assert_double_same(a->vector_value_min, b->vector_value_min);
    assert_double_same(a->vector_value_max, b->vector_value_max);
    assert_double_same(a->emotive_probability, b->emotive_probability);
    assert_int_equal(a->min_emotives, b->min_emotives);
    assert_int_equal(a->max_emotives, b->max_emotives);
    assert_double_same(a->emotive_value_min, b->emotive_value_min);
    assert_double_same(a->emotive_value_max, b->emotive_value_max);
}

/* Field-by-field equality of two messages of the same type. */
static void
assert_stream_equal(const struct proto_stream *x, const struct proto_stream *y)
{
    assert_int_equal(x->model, y->model);
    assert_int_equal(x->requests, y->requests);
    assert_int_equal(x->connections, y->connections);
    assert_int_equal(x->pattern, y->pattern);
    assert_int_equal(x->start_ms, y->start_ms);
    assert_int_equal(x->duration_ms, y->duration_ms);
    assert_double_same(x->initial, y->initial);
    assert_double_same(x->peak, y->peak);
    assert_int_equal(x->ramp_ms, y->ramp_ms);
    assert_int_equal(x->spike_interval_ms, y->spike_interval_ms);
    assert_int_equal(x->spike_duration_ms, y->spike_duration_ms);
    assert_int_equal(x->wave_period_ms, y->wave_period_ms);
    assert_int_equal(x->step_ms, y->step_ms);
    assert_double_same(x->step_size, y->step_size);
    assert_int_equal(x->n_stages, y->n_stages);
    for (uint32_t j = 0; j < x->n_stages; j++) {
        assert_int_equal(x->stages[j].duration_ms, y->stages[j].duration_ms);
        assert_double_same(x->stages[j].target, y->stages[j].target);
    }
    assert_double_same(x->rate_per_user, y->rate_per_user);
    assert_int_equal(x->think_ms, y->think_ms);
    assert_int_equal(x->max_in_flight, y->max_in_flight);
    assert_int_equal(x->group_ms, y->group_ms);
    assert_int_equal(x->burst_size, y->burst_size);
    assert_int_equal(x->burst_count, y->burst_count);
    assert_int_equal(x->burst_ms, y->burst_ms);
    assert_int_equal(x->burst_every_ms, y->burst_every_ms);
}

static void
assert_msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->now_ns, b->now_ns);
    assert_int_equal(a->echo_ns, b->echo_ns);
    switch (a->type) {
    case PROTO_HELLO:
        assert_string_equal(a->u.hello.name, b->u.hello.name);
        assert_string_equal(a->u.hello.host, b->u.hello.host);
        assert_int_equal(a->u.hello.pid, b->u.hello.pid);
        assert_int_equal(a->u.hello.threads, b->u.hello.threads);
        assert_memory_equal(a->u.hello.nonce, b->u.hello.nonce,
                            PROTO_NONCE_LEN);
        break;
    case PROTO_CHALLENGE:
        assert_memory_equal(a->u.challenge.nonce, b->u.challenge.nonce,
                            PROTO_NONCE_LEN);
        assert_memory_equal(a->u.challenge.proof, b->u.challenge.proof,
                            PROTO_MAC_LEN);
        break;
    case PROTO_AUTH:
        assert_memory_equal(a->u.auth.proof, b->u.auth.proof, PROTO_MAC_LEN);
        break;
    case PROTO_WELCOME:
        assert_int_equal(a->u.welcome.agent_id, b->u.welcome.agent_id);
        assert_int_equal(a->u.welcome.heartbeat_ms, b->u.welcome.heartbeat_ms);
        break;
    case PROTO_REJECT:
        assert_string_equal(a->u.reject.reason, b->u.reject.reason);
        break;
    case PROTO_HEARTBEAT:
        assert_int_equal(a->u.heartbeat.agent_id, b->u.heartbeat.agent_id);
        assert_int_equal(a->u.heartbeat.state, b->u.heartbeat.state);
        assert_int_equal(a->u.heartbeat.users_active,
                         b->u.heartbeat.users_active);
        assert_int_equal(a->u.heartbeat.in_flight, b->u.heartbeat.in_flight);
        assert_int_equal(a->u.heartbeat.acked_seq, b->u.heartbeat.acked_seq);
        assert_string_equal(a->u.heartbeat.text, b->u.heartbeat.text);
        assert_int_equal(a->u.heartbeat.adopt_gen, b->u.heartbeat.adopt_gen);
        break;
    case PROTO_ADOPT:
        assert_int_equal(a->u.adopt.generation, b->u.adopt.generation);
        assert_int_equal(a->u.adopt.n_slices, b->u.adopt.n_slices);
        for (uint32_t i = 0; i < a->u.adopt.n_slices; i++) {
            assert_memory_equal(&a->u.adopt.slices[i], &b->u.adopt.slices[i],
                                sizeof(a->u.adopt.slices[i]));
        }
        break;
    case PROTO_ASSIGN: {
        const struct proto_assign *x = &a->u.assign;
        const struct proto_assign *y = &b->u.assign;
        assert_string_equal(x->test, y->test);
        assert_string_equal(x->url, y->url);
        assert_string_equal(x->node_id, y->node_id);
        assert_int_equal(x->duration_ms, y->duration_ms);
        assert_int_equal(x->timeout_ms, y->timeout_ms);
        assert_int_equal(x->connect_timeout_ms, y->connect_timeout_ms);
        for (int i = 0; i < OP_COUNT; i++) {
            assert_double_same(x->mix[i], y->mix[i]);
        }
        assert_payload_equal(&x->data, &y->data);
        assert_int_equal(x->vector_dim, y->vector_dim);
        assert_int_equal(x->seed, y->seed);
        assert_int_equal(x->agent_index, y->agent_index);
        assert_int_equal(x->n_agents, y->n_agents);
        assert_int_equal(x->n_streams, y->n_streams);
        assert_int_equal(x->large_strings, y->large_strings);
        for (uint32_t i = 0; i < x->n_streams; i++) {
            assert_stream_equal(&x->streams[i], &y->streams[i]);
        }
        assert_int_equal(x->mem_source, y->mem_source);
        assert_int_equal(x->mem_pid, y->mem_pid);
        assert_int_equal(x->mem_interval_ms, y->mem_interval_ms);
        assert_string_equal(x->mem_path, y->mem_path);
        break;
    }
    case PROTO_START:
        assert_int_equal(a->u.start.start_ns, b->u.start.start_ns);
        break;
    case PROTO_STOP:
        assert_string_equal(a->u.stop.reason, b->u.stop.reason);
        break;
    case PROTO_BATCH: {
        const struct proto_batch *x = &a->u.batch;
        const struct proto_batch *y = &b->u.batch;
        assert_int_equal(x->agent_id, y->agent_id);
        assert_int_equal(x->seq, y->seq);
        assert_int_equal(x->interval, y->interval);
        assert_int_equal(x->users_active, y->users_active);
        assert_int_equal(x->late, y->late);
        assert_int_equal(x->late_us, y->late_us);
        assert_int_equal(x->unsent, y->unsent);
        assert_int_equal(x->mem_ms, y->mem_ms);
        assert_int_equal(x->mem_bytes, y->mem_bytes);
        assert_int_equal(x->peak_in_flight, y->peak_in_flight);
        assert_int_equal(x->res, y->res);
        assert_int_equal(x->cpu_centi, y->cpu_centi);
        assert_int_equal(x->host_cpu_centi, y->host_cpu_centi);
        assert_int_equal(x->rss_bytes, y->rss_bytes);
        assert_int_equal(x->net_rx_bytes, y->net_rx_bytes);
        assert_int_equal(x->net_tx_bytes, y->net_tx_bytes);
        assert_int_equal(x->open_conns, y->open_conns);
        assert_int_equal(x->lag_max_us, y->lag_max_us);
        assert_int_equal(x->lag_mean_us, y->lag_mean_us);
        assert_int_equal(x->target_cpu_centi, y->target_cpu_centi);
        assert_int_equal(x->n_groups, y->n_groups);
        for (uint32_t i = 0; i < x->n_groups; i++) {
            assert_memory_equal(&x->groups[i], &y->groups[i],
                                sizeof(x->groups[i]));
        }
        for (int i = 0; i < OP_COUNT; i++) {
            const struct proto_op_batch *p = &x->op[i];
            const struct proto_op_batch *q = &y->op[i];
            assert_int_equal(p->requests, q->requests);
            assert_int_equal(p->errors, q->errors);
            assert_int_equal(p->bytes_sent, q->bytes_sent);
            assert_int_equal(p->bytes_recv, q->bytes_recv);
            assert_hist_equal(p->n_latency, p->latency, q->n_latency,
                              q->latency);
            assert_hist_equal(p->n_service, p->service, q->n_service,
                              q->service);
            assert_errs_equal(p->n_errors, p->err, q->n_errors, q->err);
        }
        break;
    }
    case PROTO_ACK:
        assert_int_equal(a->u.ack.seq, b->u.ack.seq);
        break;
    case PROTO_GOODBYE:
        assert_int_equal(a->u.goodbye.agent_id, b->u.goodbye.agent_id);
        assert_int_equal(a->u.goodbye.last_seq, b->u.goodbye.last_seq);
        for (int i = 0; i < OP_COUNT; i++) {
            assert_int_equal(a->u.goodbye.requests[i],
                             b->u.goodbye.requests[i]);
            assert_int_equal(a->u.goodbye.errors[i], b->u.goodbye.errors[i]);
        }
        break;
    default:
        fail_msg("unexpected type %u", (unsigned)a->type);
    }
}

/* A msgpack writer into a struct buf, for hand-made messages. */
struct mp {
    struct buf b;
    msgpack_packer pk;
};

static int
mp_write(void *data, const char *p, size_t n)
{
    struct mp *w = data;
    return buf_append(&w->b, p, n) == 0 ? 0 : -1;
}

static void
mp_init(struct mp *w)
{
    buf_init(&w->b, 64u << 20);
    msgpack_packer_init(&w->pk, w, mp_write);
}

static void
mp_fini(struct mp *w)
{
    buf_fini(&w->b);
}

static void
mp_map(struct mp *w, size_t n)
{
    assert_int_equal(msgpack_pack_map(&w->pk, n), 0);
}

static void
mp_arr(struct mp *w, size_t n)
{
    assert_int_equal(msgpack_pack_array(&w->pk, n), 0);
}

static void
mp_str(struct mp *w, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(msgpack_pack_str(&w->pk, n), 0);
    assert_int_equal(msgpack_pack_str_body(&w->pk, s, n), 0);
}

static void
mp_uint(struct mp *w, uint64_t v)
{
    assert_int_equal(msgpack_pack_uint64(&w->pk, v), 0);
}

static void
mp_int(struct mp *w, int64_t v)
{
    assert_int_equal(msgpack_pack_int64(&w->pk, v), 0);
}

static void
mp_raw(struct mp *w, const void *p, size_t n)
{
    assert_int_equal(buf_append(&w->b, p, n), 0);
}

/* Decodes w's bytes into m and returns the result. */
static int
mp_decode(const struct mp *w, struct proto_msg *m)
{
    return proto_decode(w->b.data, w->b.len, m);
}

/* Finds the first encoding of the map key `key` in b (as a fixstr) and
 * returns the offset just after it. */
static size_t
find_key(const struct buf *b, const char *key)
{
    size_t n = strlen(key);
    assert_true(n < 32);
    for (size_t i = 0; i + 1 + n <= b->len; i++) {
        if (b->data[i] == (uint8_t)(0xa0 | n) &&
            memcmp(b->data + i + 1, key, n) == 0) {
            return i + 1 + n;
        }
    }
    fail_msg("key %s not found", key);
    return 0;
}

/* Length of the msgpack object at b[off..). */
static size_t
object_len(const struct buf *b, size_t off)
{
    msgpack_unpacked up;
    size_t used = 0;

    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, (const char *)b->data + off,
                                         b->len - off, &used),
                     MSGPACK_UNPACK_SUCCESS);
    msgpack_unpacked_destroy(&up);
    return used;
}

/* out = in with the value of the first `key` replaced by val[0..n). Map
 * counts stay right: msgpack containers count elements, not bytes. */
static void
splice_value(const struct buf *in, const char *key, const void *val, size_t n,
             struct mp *out)
{
    size_t at = find_key(in, key);
    size_t old = object_len(in, at);

    mp_init(out);
    mp_raw(out, in->data, at);
    mp_raw(out, val, n);
    mp_raw(out, in->data + at + old, in->len - at - old);
}

/* Decodes `type`'s golden vector with `key`'s value replaced by the
 * encoding in val; returns the result (m is left for inspection). */
static int
decode_spliced(uint32_t type, const char *key, const struct mp *val,
               struct proto_msg *m)
{
    struct buf g;
    struct mp out;
    int rv;

    read_golden(type, &g);
    splice_value(&g, key, val->b.data, val->b.len, &out);
    rv = mp_decode(&out, m);
    mp_fini(&out);
    buf_fini(&g);
    return rv;
}

/* Same with a raw byte string as the new value. */
static int
decode_spliced_raw(uint32_t type, const char *key, const void *raw, size_t n,
                   struct proto_msg *m)
{
    struct mp v;
    int rv;

    mp_init(&v);
    mp_raw(&v, raw, n);
    rv = decode_spliced(type, key, &v, m);
    mp_fini(&v);
    return rv;
}

/* Decodes a golden vector with the key `from` renamed to `to` (same
 * length): the original key is then missing, `to` present. */
static int
decode_renamed(uint32_t type, const char *from, const char *to,
               struct proto_msg *m)
{
    struct buf g;
    size_t at;
    int rv;

    assert_int_equal(strlen(from), strlen(to));
    read_golden(type, &g);
    at = find_key(&g, from);
    memcpy(g.data + at - strlen(to), to, strlen(to));
    rv = proto_decode(g.data, g.len, m);
    buf_fini(&g);
    return rv;
}

/* Decodes a golden vector with extra key/value pairs (already encoded in
 * extra, `npairs` of them) added at the end of the top-level map. */
static int
decode_with_pairs(uint32_t type, const struct mp *extra, size_t npairs,
                  bool in_front, struct proto_msg *m)
{
    struct buf g;
    struct mp out;
    size_t hdr, count;
    int rv;

    read_golden(type, &g);
    if ((g.data[0] & 0xf0) == 0x80) {
        count = g.data[0] & 0x0f;
        hdr = 1;
    } else {
        assert_int_equal(g.data[0], 0xde);
        count = ((size_t)g.data[1] << 8) | g.data[2];
        hdr = 3;
    }
    mp_init(&out);
    mp_map(&out, count + npairs);
    if (in_front) {
        mp_raw(&out, extra->b.data, extra->b.len);
    }
    mp_raw(&out, g.data + hdr, g.len - hdr);
    if (!in_front) {
        mp_raw(&out, extra->b.data, extra->b.len);
    }
    rv = mp_decode(&out, m);
    mp_fini(&out);
    buf_fini(&g);
    return rv;
}

/* --- golden vectors ------------------------------------------------------ */

static void
test_golden_decode(void **state)
{
    (void)state;
    for (uint32_t t = 1; t <= PROTO_TYPE_MAX; t++) {
        struct golden_store st;
        struct proto_msg want;
        struct proto_msg got;
        struct buf g;

        read_golden(t, &g);
        golden_fill(t, &want, &st);
        assert_int_equal(proto_decode(g.data, g.len, &got), 0);
        assert_msg_equal(&got, &want);
        proto_msg_fini(&got);
        assert_int_equal(got.type, 0);
        buf_fini(&g);
    }
}

/* batch_res.bin: the resource keys decode to what the generator set, and
 * encoding it gives the committed bytes back. */
static void
test_golden_batch_res(void **state)
{
    struct golden_store st;
    struct proto_msg want;
    struct proto_msg got;
    struct buf g;
    struct buf out;

    (void)state;
    read_golden_file("batch_res", &g);
    golden_fill_batch_res(&want, &st);
    assert_int_equal(proto_decode(g.data, g.len, &got), 0);
    assert_msg_equal(&got, &want);
    assert_int_equal(got.u.batch.res, 7);
    assert_int_equal(got.u.batch.cpu_centi, 4250);
    assert_int_equal(got.u.batch.target_cpu_centi, 8800);
    proto_msg_fini(&got);
    buf_init(&out, PROTO_MAX_MSG);
    assert_int_equal(proto_encode(&want, &out), 0);
    assert_int_equal(out.len, g.len);
    assert_memory_equal(out.data, g.data, g.len);
    buf_fini(&out);
    buf_fini(&g);
}

/* Spot checks against literal values, so a wrong golden_fill cannot make
 * both sides agree on a wrong reading. */
static void
test_golden_literals(void **state)
{
    static const char proof_m[] = "ed8b64ad4ffe3f95fc100a7728652a32"
                                  "59e98bbc79dbb875f7ed7fb87b31c86a";
    static const char proof_a[] = "e844e4c08282785eaacfa97bd45378b8"
                                  "5aa583df99981f08719801c23f898039";
    struct proto_msg m;
    struct buf g;
    uint8_t want[PROTO_MAC_LEN];

    (void)state;
    /* The proofs, computed independently (Python's hmac module). */
    for (size_t i = 0; i < PROTO_MAC_LEN; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(proof_m + 2 * i, "%2x", &v), 1);
        want[i] = (uint8_t)v;
    }
    read_golden(PROTO_CHALLENGE, &g);
    assert_int_equal(proto_decode(g.data, g.len, &m), 0);
    assert_memory_equal(m.u.challenge.proof, want, PROTO_MAC_LEN);
    assert_int_equal(m.u.challenge.nonce[0], 0x10);
    assert_int_equal(m.u.challenge.nonce[15], 0x1f);
    buf_fini(&g);
    for (size_t i = 0; i < PROTO_MAC_LEN; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(proof_a + 2 * i, "%2x", &v), 1);
        want[i] = (uint8_t)v;
    }
    read_golden(PROTO_AUTH, &g);
    assert_int_equal(proto_decode(g.data, g.len, &m), 0);
    assert_memory_equal(m.u.auth.proof, want, PROTO_MAC_LEN);
    buf_fini(&g);

    /* The envelope's first bytes: a map, "v" = 1, "t" = type. */
    read_golden(PROTO_ACK, &g);
    assert_int_equal(g.len, 38);
    assert_int_equal(g.data[0], 0x85);
    assert_memory_equal(g.data + 1, "\xa1v\x01\xa1t\x0b", 6);
    assert_int_equal(proto_decode(g.data, g.len, &m), 0);
    assert_int_equal(m.type, PROTO_ACK);
    assert_int_equal(m.now_ns, 52000000000ULL);
    assert_int_equal(m.echo_ns, 51000000000ULL);
    assert_int_equal(m.u.ack.seq, 42);
    buf_fini(&g);

    read_golden(PROTO_BATCH, &g);
    assert_int_equal(proto_decode(g.data, g.len, &m), 0);
    assert_int_equal(m.echo_ns, 0); /* absent */
    assert_int_equal(m.u.batch.seq, 42);
    assert_int_equal(m.u.batch.op[OP_OBSERVE].n_latency, 4);
    assert_int_equal(m.u.batch.op[OP_OBSERVE].latency[3].index, 4000);
    assert_int_equal(m.u.batch.op[OP_OBSERVE].latency[3].count, 3);
    assert_int_equal(m.u.batch.op[OP_OBSERVE].err[2].key, ERRK_TIMEOUT);
    assert_int_equal(m.u.batch.op[OP_LEARN].service[0].index, 1790);
    assert_int_equal(m.u.batch.op[OP_SESSION].n_latency, 0);
    assert_null(m.u.batch.op[OP_SESSION].latency);
    proto_msg_fini(&m);
    buf_fini(&g);

    read_golden(PROTO_ASSIGN, &g);
    assert_int_equal(proto_decode(g.data, g.len, &m), 0);
    assert_string_equal(m.u.assign.url, "http://127.0.0.1:8000");
    assert_true(m.u.assign.mix[OP_OBSERVE] == 0.4);
    assert_true(m.u.assign.data.vector_value_min == -1.0);
    assert_int_equal(m.u.assign.seed, 0x1234567890abcdefULL);
    buf_fini(&g);
}

static void
test_golden_encode(void **state)
{
    (void)state;
    for (uint32_t t = 1; t <= PROTO_TYPE_MAX; t++) {
        struct golden_store st;
        struct proto_msg m;
        struct buf g;
        struct buf out;

        read_golden(t, &g);
        golden_fill(t, &m, &st);
        buf_init(&out, PROTO_MAX_MSG);
        assert_int_equal(proto_encode(&m, &out), 0);
        assert_int_equal(out.len, g.len);
        assert_memory_equal(out.data, g.data, g.len);

        /* Appending after existing bytes leaves them alone. */
        buf_reset(&out);
        assert_int_equal(buf_append(&out, "abc", 3), 0);
        assert_int_equal(proto_encode(&m, &out), 0);
        assert_int_equal(out.len, 3 + g.len);
        assert_memory_equal(out.data, "abc", 3);
        assert_memory_equal(out.data + 3, g.data, g.len);
        buf_fini(&out);
        buf_fini(&g);
    }
}

/* --- random round trips --------------------------------------------------- */

static uint64_t
rand_uint(struct rng *r, unsigned bits)
{
    /* Spread over every msgpack int width: 0, fixint, 8..64 bits. */
    uint64_t v = rng_next(r) >> rng_range(r, 0, 64 - 1);
    if (rng_range(r, 0, 9) == 0) {
        v = 0;
    }
    if (bits < 64) {
        v &= ((uint64_t)1 << bits) - 1;
    }
    return v;
}

static double
rand_double(struct rng *r)
{
    switch (rng_range(r, 0, 4)) {
    case 0:
        return 0.0;
    case 1:
        return rng_double(r);
    case 2:
        return -1e9 * rng_double(r);
    case 3:
        return (double)rng_range(r, 0, 1000);
    default:
        return 1e300 * rng_double(r);
    }
}

static void
rand_str(struct rng *r, char *s, size_t size)
{
    size_t n = (size_t)rng_range(r, 0, size - 1);
    memset(s, 0, size);
    for (size_t i = 0; i < n; i++) {
        s[i] = (char)rng_range(r, 0x20, 0x7e);
    }
}

static void
rand_bytes(struct rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rng_next(r);
    }
}

static void
rand_hist(struct rng *r, size_t *n_out, struct hist_bucket **out)
{
    size_t want = (size_t)rng_range(r, 0, 3) == 0 ? 0 : rng_range(r, 1, 60);
    struct hist_bucket *b = NULL;
    uint64_t idx = rng_range(r, 0, HIST_BUCKETS / 2);
    size_t n = 0;

    if (want > 0) {
        b = xcalloc(want, sizeof(*b));
        assert_non_null(b);
    }
    while (n < want && idx < HIST_BUCKETS) {
        b[n].index = (uint32_t)idx;
        b[n].count = rand_uint(r, 64) | 1;
        n++;
        idx += rng_range(r, 0, 3) == 0 ? rng_range(r, 1, 5000) : 1;
        if (n + 1 == want && rng_range(r, 0, 3) == 0) {
            idx = HIST_BUCKETS - 1; /* the top bucket */
        }
    }
    if (n == 0) {
        xfree(b);
        b = NULL;
    }
    *n_out = n;
    *out = b;
}

static void
rand_errs(struct rng *r, size_t *n_out, struct proto_err_count **out)
{
    size_t want = (size_t)rng_range(r, 0, 8);
    struct proto_err_count *ec = NULL;
    uint64_t used[(ERRK_SLOTS + 63) / 64];
    size_t n = 0;

    memset(used, 0, sizeof(used));
    if (want > 0) {
        ec = xcalloc(want, sizeof(*ec));
        assert_non_null(ec);
    }
    for (size_t tries = 0; n < want && tries < 100; tries++) {
        int slot = (int)rng_range(r, 0, ERRK_SLOTS - 1);
        uint32_t key = errk_from_slot(slot);
        if (!errk_valid(key) || ((used[slot / 64] >> (slot % 64)) & 1u)) {
            continue;
        }
        used[slot / 64] |= (uint64_t)1 << (slot % 64);
        ec[n].key = key;
        ec[n].count = rand_uint(r, 64) | 1;
        n++;
    }
    if (n == 0) {
        xfree(ec);
        ec = NULL;
    }
    *n_out = n;
    *out = ec;
}

/* A non-negative finite double, any magnitude. */
static double
rand_nonneg(struct rng *r)
{
    double v = rand_double(r);
    return v < 0.0 ? -v : v;
}

/* A random stream within the bounds the codec enforces. */
static void
rand_stream(struct rng *r, struct proto_stream *s)
{
    s->model = (uint32_t)rng_range(r, 0, PROTO_MODEL_OPEN);
    s->requests = (uint32_t)rng_range(r, 0, PROTO_REQ_INVALID);
    s->connections = (uint32_t)rng_range(r, 0, PROTO_CONN_FRESH);
    s->pattern = (uint32_t)rng_range(r, 0, CONFIG_PATTERN_COUNT - 1);
    s->start_ms = rand_uint(r, 64);
    s->duration_ms = rand_uint(r, 64);
    s->initial = rand_nonneg(r);
    s->peak = s->initial + (rng_range(r, 0, 2) == 0 ? 0.0 : rand_nonneg(r));
    s->ramp_ms = rand_uint(r, 64);
    s->spike_interval_ms = rand_uint(r, 64);
    s->spike_duration_ms = rand_uint(r, 64);
    s->wave_period_ms = rand_uint(r, 64);
    s->step_ms = rand_uint(r, 64);
    s->step_size = rand_nonneg(r);
    s->n_stages = rng_range(r, 0, 3) == 0
                      ? PROTO_MAX_STAGES
                      : (uint32_t)rng_range(r, 0, PROTO_MAX_STAGES);
    for (uint32_t j = 0; j < s->n_stages; j++) {
        s->stages[j].duration_ms = rand_uint(r, 64);
        s->stages[j].target = rand_nonneg(r);
    }
    s->rate_per_user = rand_nonneg(r);
    s->think_ms = (uint32_t)rand_uint(r, 32);
    s->max_in_flight = (uint32_t)rand_uint(r, 32);
    s->group_ms = rand_uint(r, 64);
    /* The optional burst keys: absent (0) about half the time. */
    s->burst_size = rand_uint(r, 2) == 0 ? 0 : (uint32_t)rand_uint(r, 32);
    s->burst_count = rand_uint(r, 2) == 0 ? 0 : (uint32_t)rand_uint(r, 32);
    s->burst_ms = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
    s->burst_every_ms = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
}

static void
rand_msg(struct rng *r, uint32_t type, struct proto_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->now_ns = rand_uint(r, 64);
    m->echo_ns = rand_uint(r, 64);
    switch (type) {
    case PROTO_HELLO:
        rand_str(r, m->u.hello.name, sizeof(m->u.hello.name));
        rand_str(r, m->u.hello.host, sizeof(m->u.hello.host));
        m->u.hello.pid = (uint32_t)rand_uint(r, 32);
        m->u.hello.threads = (uint32_t)rand_uint(r, 32);
        rand_bytes(r, m->u.hello.nonce, PROTO_NONCE_LEN);
        break;
    case PROTO_CHALLENGE:
        rand_bytes(r, m->u.challenge.nonce, PROTO_NONCE_LEN);
        rand_bytes(r, m->u.challenge.proof, PROTO_MAC_LEN);
        break;
    case PROTO_AUTH:
        rand_bytes(r, m->u.auth.proof, PROTO_MAC_LEN);
        break;
    case PROTO_WELCOME:
        m->u.welcome.agent_id = (uint32_t)rand_uint(r, 32);
        m->u.welcome.heartbeat_ms = (uint32_t)rand_uint(r, 32);
        break;
    case PROTO_REJECT:
        rand_str(r, m->u.reject.reason, sizeof(m->u.reject.reason));
        break;
    case PROTO_HEARTBEAT:
        m->u.heartbeat.agent_id = (uint32_t)rand_uint(r, 32);
        m->u.heartbeat.state = (uint32_t)rand_uint(r, 32);
        m->u.heartbeat.users_active = (uint32_t)rand_uint(r, 32);
        m->u.heartbeat.in_flight = (uint32_t)rand_uint(r, 32);
        m->u.heartbeat.acked_seq = rand_uint(r, 64);
        rand_str(r, m->u.heartbeat.text, sizeof(m->u.heartbeat.text));
        m->u.heartbeat.adopt_gen =
            rand_uint(r, 2) == 0 ? 0 : (uint32_t)rand_uint(r, 32);
        break;
    case PROTO_ASSIGN: {
        struct proto_assign *a = &m->u.assign;
        struct payload_cfg *d = &a->data;
        rand_str(r, a->test, sizeof(a->test));
        rand_str(r, a->url, sizeof(a->url));
        rand_str(r, a->node_id, sizeof(a->node_id));
        a->duration_ms = rand_uint(r, 64);
        a->timeout_ms = (uint32_t)rand_uint(r, 32);
        a->connect_timeout_ms = (uint32_t)rand_uint(r, 32);
        for (int i = 0; i < OP_COUNT; i++) {
            a->mix[i] = rand_double(r);
        }
        d->min_strings_per_observation = (uint32_t)rand_uint(r, 32);
        d->max_strings_per_observation = (uint32_t)rand_uint(r, 32);
        d->min_string_length = (uint32_t)rand_uint(r, 32);
        d->max_string_length = (uint32_t)rand_uint(r, 32);
        d->string_vocabulary_size = (uint32_t)rand_uint(r, 32);
        d->vector_probability = rand_double(r);
        d->min_vector_size = (uint32_t)rand_uint(r, 32);
        d->max_vector_size = (uint32_t)rand_uint(r, 32);
        d->vector_value_min = rand_double(r);
        d->vector_value_max = rand_double(r);
        d->emotive_probability = rand_double(r);
        d->min_emotives = (uint32_t)rand_uint(r, 32);
        d->max_emotives = (uint32_t)rand_uint(r, 32);
        d->emotive_value_min = rand_double(r);
        d->emotive_value_max = rand_double(r);
        a->vector_dim = (uint32_t)rand_uint(r, 32);
        a->seed = rand_uint(r, 64);
        a->n_agents = (uint32_t)rng_range(r, 1, UINT32_MAX);
        a->agent_index = (uint32_t)rng_range(r, 0, a->n_agents - 1);
        a->n_streams = (uint32_t)rng_range(r, 1, PROTO_MAX_STREAMS);
        a->large_strings =
            rand_uint(r, 2) == 0 ? 0 : (uint32_t)rand_uint(r, 32);
        for (uint32_t i = 0; i < a->n_streams; i++) {
            rand_stream(r, &a->streams[i]);
        }
        /* The memory test's optional keys: absent about half the time. */
        if (rand_uint(r, 1) != 0) {
            a->mem_source = rng_range(r, 1, 5);
            a->mem_pid = rand_uint(r, 32);
            a->mem_interval_ms = rand_uint(r, 64);
            rand_str(r, a->mem_path, sizeof(a->mem_path));
        }
        break;
    }
    case PROTO_START:
        m->u.start.start_ns = rand_uint(r, 64);
        break;
    case PROTO_STOP:
        rand_str(r, m->u.stop.reason, sizeof(m->u.stop.reason));
        break;
    case PROTO_BATCH: {
        struct proto_batch *b = &m->u.batch;
        b->agent_id = (uint32_t)rand_uint(r, 32);
        b->seq = rand_uint(r, 64);
        b->interval = (uint32_t)rand_uint(r, 32);
        b->users_active = (uint32_t)rand_uint(r, 32);
        /* The optional keys: absent (0) about half the time. */
        b->late = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->late_us = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->unsent = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->mem_ms = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->mem_bytes = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->peak_in_flight = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->res = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 3);
        b->cpu_centi = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->host_cpu_centi = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->rss_bytes = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->net_rx_bytes = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->net_tx_bytes = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->open_conns = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->lag_max_us = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->lag_mean_us = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->target_cpu_centi = rand_uint(r, 2) == 0 ? 0 : rand_uint(r, 64);
        b->n_groups = (uint32_t)rng_range(r, 0, PROTO_MAX_GROUPS);
        for (uint32_t i = 0; i < b->n_groups; i++) {
            struct proto_group *g = &b->groups[i];
            g->stream = (uint32_t)rand_uint(r, 32);
            g->group = (uint32_t)rand_uint(r, 32);
            g->requests = rand_uint(r, 64);
            g->errors = rand_uint(r, 64);
            g->e503 = rand_uint(r, 64);
            g->refused = rand_uint(r, 64);
            g->timeouts = rand_uint(r, 64);
            g->resets = rand_uint(r, 64);
            g->first_us = rand_uint(r, 64);
            g->last_us = rand_uint(r, 64);
        }
        for (int i = 0; i < OP_COUNT; i++) {
            struct proto_op_batch *o = &b->op[i];
            o->requests = rand_uint(r, 64);
            o->errors = rand_uint(r, 64);
            o->bytes_sent = rand_uint(r, 64);
            o->bytes_recv = rand_uint(r, 64);
            rand_hist(r, &o->n_latency, &o->latency);
            rand_hist(r, &o->n_service, &o->service);
            rand_errs(r, &o->n_errors, &o->err);
        }
        break;
    }
    case PROTO_ACK:
        m->u.ack.seq = rand_uint(r, 64);
        break;
    case PROTO_GOODBYE:
        m->u.goodbye.agent_id = (uint32_t)rand_uint(r, 32);
        m->u.goodbye.last_seq = rand_uint(r, 64);
        for (int i = 0; i < OP_COUNT; i++) {
            m->u.goodbye.requests[i] = rand_uint(r, 64);
            m->u.goodbye.errors[i] = rand_uint(r, 64);
        }
        break;
    case PROTO_ADOPT: {
        struct proto_adopt *a = &m->u.adopt;
        a->generation = (uint32_t)rng_range(r, 1, UINT32_MAX);
        a->n_slices = (uint32_t)rng_range(r, 0, PROTO_MAX_SLICES);
        for (uint32_t i = 0; i < a->n_slices; i++) {
            a->slices[i].from_ms = rand_uint(r, 64);
            a->slices[i].count = (uint32_t)rng_range(r, 1, UINT32_MAX);
            a->slices[i].index =
                (uint32_t)rng_range(r, 0, a->slices[i].count - 1);
        }
        break;
    }
    default:
        fail_msg("bad type");
    }
}

/* Frees the arrays rand_msg made (the caller's, not proto_decode's). */
static void
rand_msg_free(struct proto_msg *m)
{
    if (m->type == PROTO_BATCH) {
        for (int i = 0; i < OP_COUNT; i++) {
            xfree(m->u.batch.op[i].latency);
            xfree(m->u.batch.op[i].service);
            xfree(m->u.batch.op[i].err);
        }
    }
    memset(m, 0, sizeof(*m));
}

static void
test_roundtrip_random(void **state)
{
    struct rng r;
    size_t total_bytes = 0;

    (void)state;
    rng_seed(&r, 0x6b61746fULL);
    for (int iter = 0; iter < 600; iter++) {
        uint32_t type = 1 + (uint32_t)(iter % PROTO_TYPE_MAX);
        struct proto_msg in;
        struct proto_msg out;
        struct buf a;
        struct buf b;

        rand_msg(&r, type, &in);
        buf_init(&a, PROTO_MAX_MSG);
        buf_init(&b, PROTO_MAX_MSG);
        assert_int_equal(proto_encode(&in, &a), 0);
        assert_int_equal(proto_decode(a.data, a.len, &out), 0);
        assert_msg_equal(&out, &in);
        /* Decoding is exact, so re-encoding gives the same bytes. */
        assert_int_equal(proto_encode(&out, &b), 0);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        total_bytes += a.len;
        proto_msg_fini(&out);
        rand_msg_free(&in);
        buf_fini(&a);
        buf_fini(&b);
    }
    assert_true(total_bytes > 600 * 30);
}

/* --- refusals ------------------------------------------------------------- */

static void
test_truncations(void **state)
{
    size_t tried = 0;

    (void)state;
    for (uint32_t t = 1; t <= PROTO_TYPE_MAX; t++) {
        struct buf g;
        read_golden(t, &g);
        for (size_t cut = 0; cut < g.len; cut++) {
            /* An exact-size copy: any read past cut is an ASan error. */
            uint8_t *p = xmalloc(cut);
            struct proto_msg m;
            assert_non_null(p);
            if (cut > 0) {
                memcpy(p, g.data, cut);
            }
            memset(&m, 0xa5, sizeof(m));
            assert_int_equal(proto_decode(p, cut, &m), E_TRUNCATED);
            assert_int_equal(m.type, 0); /* nothing left to release */
            xfree(p);
            tried++;
        }
        buf_fini(&g);
    }
    assert_true(tried > 1000);
}

static void
test_trailing_bytes(void **state)
{
    (void)state;
    for (uint32_t t = 1; t <= PROTO_TYPE_MAX; t++) {
        struct buf g;
        struct mp w;
        struct proto_msg m;

        read_golden(t, &g);
        mp_init(&w);
        mp_raw(&w, g.data, g.len);
        mp_raw(&w, "\0", 1);
        assert_int_equal(mp_decode(&w, &m), E_PROTO);
        mp_raw(&w, g.data, g.len); /* two messages in one frame */
        assert_int_equal(mp_decode(&w, &m), E_PROTO);
        mp_fini(&w);
        buf_fini(&g);
    }
}

static void
test_oversized(void **state)
{
    struct proto_msg m;
    struct buf g;
    uint8_t *big;

    (void)state;
    read_golden(PROTO_ACK, &g);
    big = xcalloc(PROTO_MAX_MSG + 1, 1);
    assert_non_null(big);
    memcpy(big, g.data, g.len);
    assert_int_equal(proto_decode(big, PROTO_MAX_MSG + 1, &m), E_TOOBIG);
    assert_int_equal(proto_decode(big, SIZE_MAX, &m), E_TOOBIG);
    /* At the limit the length is fine; the zeros after it are not. */
    assert_int_equal(proto_decode(big, PROTO_MAX_MSG, &m), E_PROTO);
    assert_int_equal(proto_decode(big, g.len, &m), 0);
    xfree(big);
    /* A str 32 header claiming 4 GiB cannot be in any valid message. */
    assert_int_equal(decode_spliced_raw(PROTO_REJECT, "why",
                                        "\xdb\xff\xff\xff\xff"
                                        "abc",
                                        8, &m),
                     E_TOOBIG);
    /* A claim that could fit a bigger message is a truncation. */
    assert_int_equal(decode_spliced_raw(PROTO_REJECT, "why",
                                        "\xda\x10\x00"
                                        "abc",
                                        6, &m),
                     E_TRUNCATED);
    buf_fini(&g);
}

static void
test_version(void **state)
{
    struct proto_msg m;
    struct buf g;
    struct mp w;

    (void)state;
    read_golden(PROTO_HELLO, &g);
    assert_memory_equal(g.data + 1, "\xa1v\x01", 3);
    g.data[3] = 2;
    assert_int_equal(proto_decode(g.data, g.len, &m), E_PROTO_VERSION);
    assert_int_equal(m.type, PROTO_HELLO);
    assert_int_equal(m.version, 2);
    g.data[3] = 0;
    assert_int_equal(proto_decode(g.data, g.len, &m), E_PROTO_VERSION);
    assert_int_equal(m.type, PROTO_HELLO);
    assert_int_equal(m.version, 0);
    g.data[3] = 0xc0; /* nil: not a version at all */
    assert_int_equal(proto_decode(g.data, g.len, &m), E_PROTO);
    assert_int_equal(m.type, 0);
    buf_fini(&g);

    /* A future version may change everything but "v". */
    mp_init(&w);
    mp_map(&w, 3);
    mp_str(&w, "t");
    mp_uint(&w, 99);
    mp_str(&w, "v");
    mp_uint(&w, 2);
    mp_str(&w, "name");
    mp_arr(&w, 0);
    assert_int_equal(mp_decode(&w, &m), E_PROTO_VERSION);
    assert_int_equal(m.type, 99);
    assert_int_equal(m.version, 2);
    mp_fini(&w);

    /* Even with a repeated "t" or non-string keys. */
    mp_init(&w);
    mp_map(&w, 4);
    mp_uint(&w, 5);
    mp_uint(&w, 5);
    mp_str(&w, "t");
    mp_uint(&w, 1);
    mp_str(&w, "t");
    mp_uint(&w, 2);
    mp_str(&w, "v");
    mp_uint(&w, 3);
    assert_int_equal(mp_decode(&w, &m), E_PROTO_VERSION);
    mp_fini(&w);

    mp_init(&w);
    mp_map(&w, 2);
    mp_str(&w, "v");
    mp_uint(&w, 7);
    mp_str(&w, "t");
    mp_str(&w, "hello");
    assert_int_equal(mp_decode(&w, &m), E_PROTO_VERSION);
    assert_int_equal(m.type, 0); /* "t" unreadable */
    mp_fini(&w);

    /* No "v" at all, or "v" as a string. */
    mp_init(&w);
    mp_map(&w, 2);
    mp_str(&w, "t");
    mp_uint(&w, PROTO_ACK);
    mp_str(&w, "seq");
    mp_uint(&w, 1);
    assert_int_equal(mp_decode(&w, &m), E_PROTO);
    mp_fini(&w);
    mp_init(&w);
    mp_map(&w, 3);
    mp_str(&w, "v");
    mp_str(&w, "1");
    mp_str(&w, "t");
    mp_uint(&w, PROTO_ACK);
    mp_str(&w, "seq");
    mp_uint(&w, 1);
    assert_int_equal(mp_decode(&w, &m), E_PROTO);
    mp_fini(&w);

    /* Any integer encoding of 1 is version 1 (uint16 here). */
    mp_init(&w);
    mp_map(&w, 3);
    mp_str(&w, "v");
    mp_raw(&w, "\xcd\x00\x01", 3);
    mp_str(&w, "t");
    mp_uint(&w, PROTO_ACK);
    mp_str(&w, "seq");
    mp_uint(&w, 77);
    assert_int_equal(mp_decode(&w, &m), 0);
    assert_int_equal(m.type, PROTO_ACK);
    assert_int_equal(m.u.ack.seq, 77);
    mp_fini(&w);
}

static void
test_unknown_type(void **state)
{
    static const uint8_t bad[] = {0, PROTO_TYPE_MAX + 1, 0x7f};
    struct proto_msg m;
    struct buf g;
    struct buf out;

    (void)state;
    read_golden(PROTO_ACK, &g);
    assert_memory_equal(g.data + 4, "\xa1t\x0b", 3);
    for (size_t i = 0; i < sizeof(bad); i++) {
        g.data[6] = bad[i];
        assert_int_equal(proto_decode(g.data, g.len, &m), E_PROTO);
        assert_int_equal(m.type, 0);
    }
    g.data[6] = 0xc3; /* true */
    assert_int_equal(proto_decode(g.data, g.len, &m), E_PROTO);
    buf_fini(&g);
    /* No "t" at all. */
    assert_int_equal(decode_renamed(PROTO_ACK, "t", "x", &m), E_PROTO);

    /* The encoder refuses them too, leaving out as it was. */
    buf_init(&out, 1024);
    assert_int_equal(buf_append(&out, "xy", 2), 0);
    memset(&m, 0, sizeof(m));
    m.type = 0;
    assert_int_equal(proto_encode(&m, &out), E_INVAL);
    m.type = PROTO_TYPE_MAX + 1;
    assert_int_equal(proto_encode(&m, &out), E_INVAL);
    assert_int_equal(out.len, 2);
    buf_fini(&out);
}

/* A hello with the given name bytes (raw: may contain NUL). */
static int
decode_hello_name(const char *name, size_t n, struct proto_msg *m)
{
    struct mp v;
    int rv;

    mp_init(&v);
    assert_int_equal(msgpack_pack_str(&v.pk, n), 0);
    assert_int_equal(msgpack_pack_str_body(&v.pk, name, n), 0);
    rv = decode_spliced(PROTO_HELLO, "name", &v, m);
    mp_fini(&v);
    return rv;
}

static void
test_string_bounds(void **state)
{
    char s[300];
    struct golden_store st;
    struct proto_msg m;
    struct buf out;

    (void)state;
    memset(s, 'n', sizeof(s));
    assert_int_equal(decode_hello_name(s, PROTO_NAME_MAX - 1, &m), 0);
    assert_int_equal(strlen(m.u.hello.name), PROTO_NAME_MAX - 1);
    assert_string_equal(m.u.hello.host, "ci-host");
    assert_int_equal(decode_hello_name(s, PROTO_NAME_MAX, &m), E_PROTO);
    assert_int_equal(decode_hello_name(s, 300, &m), E_PROTO);
    assert_int_equal(decode_hello_name("ab\0cd", 5, &m), E_PROTO);
    assert_int_equal(decode_hello_name("", 0, &m), 0);
    assert_string_equal(m.u.hello.name, "");

    /* The 256-byte text fields: 255 is fine, 256 is not (str 16). */
    {
        struct mp v;
        mp_init(&v);
        assert_int_equal(msgpack_pack_str(&v.pk, PROTO_TEXT_MAX - 1), 0);
        assert_int_equal(msgpack_pack_str_body(&v.pk, s, PROTO_TEXT_MAX - 1),
                         0);
        assert_int_equal(decode_spliced(PROTO_STOP, "why", &v, &m), 0);
        assert_int_equal(strlen(m.u.stop.reason), PROTO_TEXT_MAX - 1);
        mp_fini(&v);
        mp_init(&v);
        assert_int_equal(msgpack_pack_str(&v.pk, PROTO_TEXT_MAX), 0);
        assert_int_equal(msgpack_pack_str_body(&v.pk, s, PROTO_TEXT_MAX), 0);
        assert_int_equal(decode_spliced(PROTO_STOP, "why", &v, &m), E_PROTO);
        mp_fini(&v);
    }

    /* Encoding an unterminated string is the caller's bug: E_INVAL. */
    golden_fill(PROTO_HELLO, &m, &st);
    memset(m.u.hello.host, 'h', sizeof(m.u.hello.host));
    buf_init(&out, 4096);
    assert_int_equal(proto_encode(&m, &out), E_INVAL);
    assert_int_equal(out.len, 0);
    m.u.hello.host[PROTO_NAME_MAX - 1] = '\0';
    assert_int_equal(proto_encode(&m, &out), 0);
    buf_fini(&out);
}

static void
test_wrong_types(void **state)
{
    struct proto_msg m;
    struct mp v;

    (void)state;
    /* uint32 fields: string, negative, 2^32, float. */
    assert_int_equal(decode_spliced_raw(PROTO_HELLO, "pid",
                                        "\xa1"
                                        "1",
                                        2, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_HELLO, "pid", "\xff", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_HELLO, "pid",
                                        "\xcf\x00\x00\x00\x01\x00\x00\x00"
                                        "\x00",
                                        9, &m),
                     E_PROTO);
    assert_int_equal(
        decode_spliced_raw(PROTO_HELLO, "pid", "\xce\xff\xff\xff\xff", 5, &m),
        0);
    assert_int_equal(m.u.hello.pid, UINT32_MAX);
    assert_int_equal(decode_spliced_raw(PROTO_HELLO, "pid",
                                        "\xcb\x40\x00\x00\x00\x00\x00\x00"
                                        "\x00",
                                        9, &m),
                     E_PROTO);
    /* bin fields: a str of the right length, or a bin of 15 or 17. */
    mp_init(&v);
    mp_str(&v, "0123456789abcdef");
    assert_int_equal(decode_spliced(PROTO_HELLO, "nonce", &v, &m), E_PROTO);
    mp_fini(&v);
    for (size_t n = 15; n <= 17; n += 2) {
        uint8_t raw[2 + 17];
        raw[0] = 0xc4;
        raw[1] = (uint8_t)n;
        memset(raw + 2, 7, n);
        assert_int_equal(
            decode_spliced_raw(PROTO_HELLO, "nonce", raw, 2 + n, &m), E_PROTO);
        assert_int_equal(
            decode_spliced_raw(PROTO_CHALLENGE, "proof", raw, 2 + n, &m),
            E_PROTO);
    }
    /* A string field as bin. */
    assert_int_equal(
        decode_spliced_raw(PROTO_HELLO, "name", "\xc4\x01x", 3, &m), E_PROTO);
    /* uint64 as negative. */
    assert_int_equal(decode_spliced_raw(PROTO_ACK, "seq", "\xd0\xfe", 2, &m),
                     E_PROTO);
    /* ts/echo must be uints too. */
    assert_int_equal(decode_spliced_raw(PROTO_ACK, "ts", "\xa1x", 2, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ACK, "echo", "\xc0", 1, &m),
                     E_PROTO);

    /* Doubles: float64, float32 and any integer are read; not strings,
     * NaN or infinities. */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "rate", "\x02", 1, &m),
                     0);
    assert_true(m.u.assign.streams[0].rate_per_user == 2.0);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "vval_lo", "\xfd", 1, &m),
                     0);
    assert_true(m.u.assign.data.vector_value_min == -3.0);
    assert_int_equal(
        decode_spliced_raw(PROTO_ASSIGN, "rate", "\xca\x3f\xc0\x00\x00", 5, &m),
        0);
    assert_true(m.u.assign.streams[0].rate_per_user == 1.5);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "rate",
                                        "\xa1"
                                        "1",
                                        2, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "rate",
                                        "\xcb\x7f\xf8\x00\x00\x00\x00\x00"
                                        "\x00",
                                        9, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "rate",
                                        "\xcb\x7f\xf0\x00\x00\x00\x00\x00"
                                        "\x00",
                                        9, &m),
                     E_PROTO);

    /* Fixed-size arrays: exactly OP_COUNT (7 since OP_INVALID). */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "mix",
                                        "\x96\x00\x00\x00\x00\x00\x01", 7, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "mix",
                                        "\x98\x00\x00\x00\x00\x00\x00\x01"
                                        "\x00",
                                        9, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "mix",
                                        "\x97\x00\x00\x00\x00\x00\x00\xc0", 8,
                                        &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "mix",
                                        "\x97\x00\x00\x00\x00\x00\x01\x00", 8,
                                        &m),
                     0);
    assert_true(m.u.assign.mix[OP_CLEAR] == 1.0);
    assert_int_equal(decode_spliced_raw(PROTO_GOODBYE, "req",
                                        "\x96\x01\x02\x03\x04\x05\x06", 7, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_GOODBYE, "err",
                                        "\x98\x01\x02\x03\x04\x05\x06\x07"
                                        "\x08",
                                        9, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_BATCH, "ops", "\x90", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_BATCH, "ops",
                                        "\x96\x00\x00\x00\x00\x00\x00", 7, &m),
                     E_PROTO);
    /* Nested maps as something else. */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "data", "\x90", 1, &m),
                     E_PROTO);

    /* The message itself must be a map. */
    mp_init(&v);
    mp_arr(&v, 2);
    mp_str(&v, "v");
    mp_uint(&v, 1);
    assert_int_equal(mp_decode(&v, &m), E_PROTO);
    mp_fini(&v);
    /* 0xc1 is never valid msgpack. */
    assert_int_equal(decode_spliced_raw(PROTO_ACK, "seq", "\xc1", 1, &m),
                     E_PROTO);
}

static void
test_missing_and_duplicate_keys(void **state)
{
    struct proto_msg m;
    struct mp x;

    (void)state;
    assert_int_equal(decode_renamed(PROTO_HELLO, "host", "hosx", &m), E_PROTO);
    assert_int_equal(decode_renamed(PROTO_ASSIGN, "vocab", "vocaX", &m),
                     E_PROTO); /* in the nested payload map */
    assert_int_equal(decode_renamed(PROTO_BATCH, "svc", "svx", &m), E_PROTO);
    assert_int_equal(decode_renamed(PROTO_ASSIGN, "dur_ms", "cto_ms", &m),
                     E_PROTO); /* cto_ms twice */
    /* ts and echo are optional. */
    assert_int_equal(decode_renamed(PROTO_ACK, "echo", "ecxo", &m), 0);
    assert_int_equal(m.echo_ns, 0);
    assert_int_equal(m.now_ns, 52000000000ULL);

    /* Duplicates of a field, of "v", of "ts". */
    mp_init(&x);
    mp_str(&x, "pid");
    mp_uint(&x, 1);
    assert_int_equal(decode_with_pairs(PROTO_HELLO, &x, 1, false, &m), E_PROTO);
    mp_fini(&x);
    mp_init(&x);
    mp_str(&x, "v");
    mp_uint(&x, 1);
    assert_int_equal(decode_with_pairs(PROTO_HELLO, &x, 1, true, &m), E_PROTO);
    mp_fini(&x);
    mp_init(&x);
    mp_str(&x, "ts");
    mp_uint(&x, 1);
    assert_int_equal(decode_with_pairs(PROTO_HELLO, &x, 1, false, &m), E_PROTO);
    mp_fini(&x);
    /* A non-string key. */
    mp_init(&x);
    mp_uint(&x, 7);
    mp_uint(&x, 1);
    assert_int_equal(decode_with_pairs(PROTO_HELLO, &x, 1, false, &m), E_PROTO);
    mp_fini(&x);
}

/* Whether needle[0..n) occurs in b. */
static bool
has_bytes(const struct buf *b, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= b->len; i++) {
        if (memcmp(b->data + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* The open model's optional batch keys (PROTOCOL.md 3.11): absent reads
 * as 0 (the golden vector has none), present is read, written only when
 * non-zero, and typed and deduplicated like any key. */
static void
test_batch_optional_keys(void **state)
{
    struct proto_msg m;
    struct proto_msg got;
    struct mp x;
    struct buf a;

    (void)state;
    mp_init(&x);
    mp_str(&x, "late");
    mp_uint(&x, 7);
    mp_str(&x, "late_us");
    mp_uint(&x, 123456);
    mp_str(&x, "unsent");
    mp_uint(&x, 2);
    assert_int_equal(decode_with_pairs(PROTO_BATCH, &x, 3, false, &m), 0);
    assert_int_equal(m.u.batch.late, 7);
    assert_int_equal(m.u.batch.late_us, 123456);
    assert_int_equal(m.u.batch.unsent, 2);
    assert_int_equal(m.u.batch.seq, 42);

    /* Re-encoded: the three keys come out after "ops", and back in. */
    buf_init(&a, PROTO_MAX_MSG);
    assert_int_equal(proto_encode(&m, &a), 0);
    assert_true(has_bytes(&a, "\xa4late\x07", 6));
    assert_true(has_bytes(&a, "\xa6unsent\x02", 8));
    assert_int_equal(proto_decode(a.data, a.len, &got), 0);
    assert_msg_equal(&got, &m);
    proto_msg_fini(&got);
    /* Zero: not on the wire at all. */
    buf_truncate(&a, 0);
    m.u.batch.late = 0;
    m.u.batch.unsent = 0;
    assert_int_equal(proto_encode(&m, &a), 0);
    assert_false(has_bytes(&a, "\xa4late", 5));
    assert_false(has_bytes(&a, "unsent", 6));
    assert_true(has_bytes(&a, "late_us", 7));
    buf_fini(&a);
    proto_msg_fini(&m);
    mp_fini(&x);

    /* A wrong type, and a duplicate. */
    mp_init(&x);
    mp_str(&x, "late");
    mp_str(&x, "x");
    assert_int_equal(decode_with_pairs(PROTO_BATCH, &x, 1, false, &m), E_PROTO);
    mp_fini(&x);
    mp_init(&x);
    mp_str(&x, "unsent");
    mp_uint(&x, 1);
    mp_str(&x, "unsent");
    mp_uint(&x, 1);
    assert_int_equal(decode_with_pairs(PROTO_BATCH, &x, 2, false, &m), E_PROTO);
    mp_fini(&x);
}

static void
test_unknown_keys_ignored(void **state)
{
    struct golden_store st;
    struct proto_msg want;
    struct proto_msg m;
    struct mp x;

    (void)state;
    mp_init(&x);
    mp_str(&x, "future");
    mp_map(&x, 2);
    mp_str(&x, "a");
    mp_arr(&x, 4);
    mp_int(&x, -5);
    mp_raw(&x, "\xc0\xc3", 2);
    mp_map(&x, 0);
    mp_str(&x, "b");
    mp_raw(&x, "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9);
    mp_str(&x, "ext");
    mp_raw(&x, "\xd4\x01\x02", 3); /* fixext 1 */
    mp_str(&x, "ext8");
    mp_raw(&x, "\xc7\x03\x05xyz", 6); /* ext 8 */
    mp_str(&x, "blob");
    mp_raw(&x, "\xc5\x00\x02\x01\x02", 5); /* bin 16 */
    mp_str(&x, "s");                       /* str 8 */
    mp_raw(&x,
           "\xd9\x03"
           "abc",
           5);
    for (uint32_t t = 1; t <= PROTO_TYPE_MAX; t++) {
        golden_fill(t, &want, &st);
        assert_int_equal(decode_with_pairs(t, &x, 5, false, &m), 0);
        assert_msg_equal(&m, &want);
        proto_msg_fini(&m);
        assert_int_equal(decode_with_pairs(t, &x, 5, true, &m), 0);
        assert_msg_equal(&m, &want);
        proto_msg_fini(&m);
    }
    mp_fini(&x);

    /* Inside the nested op maps too: each op gets two extra keys. */
    golden_fill(PROTO_BATCH, &want, &st);
    for (int i = 0; i < OP_COUNT; i++) {
        struct proto_op_batch *o = &want.u.batch.op[i];
        memset(o, 0, sizeof(*o));
    }
    mp_init(&x);
    mp_arr(&x, OP_COUNT);
    for (int i = 0; i < OP_COUNT; i++) {
        mp_map(&x, 9);
        mp_str(&x, "zz");
        mp_arr(&x, 1);
        mp_uint(&x, 1);
        mp_str(&x, "lat");
        mp_arr(&x, 0);
        mp_str(&x, "n");
        mp_uint(&x, 0);
        mp_str(&x, "e");
        mp_uint(&x, 0);
        mp_str(&x, "bs");
        mp_uint(&x, 0);
        mp_str(&x, "br");
        mp_uint(&x, 0);
        mp_str(&x, "svc");
        mp_arr(&x, 0);
        mp_str(&x, "err");
        mp_arr(&x, 0);
        mp_str(&x, "p99");
        mp_raw(&x, "\xc0", 1);
    }
    assert_int_equal(decode_spliced(PROTO_BATCH, "ops", &x, &m), 0);
    assert_msg_equal(&m, &want);
    proto_msg_fini(&m);
    mp_fini(&x);
}

static void
test_nesting_depth(void **state)
{
    struct proto_msg m;
    struct mp x;

    (void)state;
    /* The message's map is level 1: an unknown value nested down to level
     * 16 is skipped; level 17 (or 40, beyond msgpack-c's own limit of 32)
     * is refused. */
    static const int depths[] = {10, 15, 16, 40};
    for (size_t k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
        int depth = depths[k];
        mp_init(&x);
        mp_str(&x, "deep");
        for (int i = 0; i < depth; i++) {
            mp_arr(&x, 1);
        }
        mp_uint(&x, 1);
        assert_int_equal(decode_with_pairs(PROTO_ACK, &x, 1, false, &m),
                         depth <= 15 ? 0 : E_PROTO);
        mp_fini(&x);
    }
}

/* Encodes `n` uints as a flat msgpack array. */
static void
mp_uints(struct mp *x, const uint64_t *v, size_t n)
{
    mp_arr(x, n);
    for (size_t i = 0; i < n; i++) {
        mp_uint(x, v[i]);
    }
}

/* Builds the golden batch with op 0's `key` array replaced by v[0..n),
 * into out (mp_fini it). */
static void
build_batch_with(const char *key, const uint64_t *v, size_t n, struct mp *out)
{
    struct buf g;
    struct mp x;

    read_golden(PROTO_BATCH, &g);
    mp_init(&x);
    mp_uints(&x, v, n);
    splice_value(&g, key, x.b.data, x.b.len, out);
    mp_fini(&x);
    buf_fini(&g);
}

/* Decodes the golden batch with op 0's `key` array replaced; with
 * no_alloc, every allocation inside proto_decode fails. */
static int
decode_array(const char *key, const uint64_t *v, size_t n, bool no_alloc,
             struct proto_msg *m)
{
    struct mp out;
    int rv;

    build_batch_with(key, v, n, &out);
    if (no_alloc) {
        alloc_fail_after(0);
    }
    rv = mp_decode(&out, m);
    alloc_fail_after(-1);
    mp_fini(&out);
    return rv;
}

static int
decode_lat(const uint64_t *v, size_t n, struct proto_msg *m)
{
    return decode_array("lat", v, n, false, m);
}

static int
decode_err(const uint64_t *v, size_t n, struct proto_msg *m)
{
    return decode_array("err", v, n, false, m);
}

/* Decodes the golden batch with op 0's "lat" value replaced by raw bytes,
 * with every allocation inside proto_decode failing. */
static int
decode_lat_raw_no_alloc(const void *raw, size_t n, struct proto_msg *m)
{
    struct buf g;
    struct mp out;
    int rv;

    read_golden(PROTO_BATCH, &g);
    splice_value(&g, "lat", raw, n, &out);
    alloc_fail_after(0);
    rv = mp_decode(&out, m);
    alloc_fail_after(-1);
    mp_fini(&out);
    buf_fini(&g);
    return rv;
}

static void
test_hist_validation(void **state)
{
    const uint64_t top = HIST_BUCKETS - 1;
    struct proto_msg m;

    (void)state;
    {
        const uint64_t ok[] = {5, 1, 1, 2, top - 6, 3};
        assert_int_equal(decode_lat(ok, 6, &m), 0);
        assert_int_equal(m.u.batch.op[0].n_latency, 3);
        assert_int_equal(m.u.batch.op[0].latency[0].index, 5);
        assert_int_equal(m.u.batch.op[0].latency[1].index, 6);
        assert_int_equal(m.u.batch.op[0].latency[1].count, 2);
        assert_int_equal(m.u.batch.op[0].latency[2].index, top);
        proto_msg_fini(&m);
    }
    {
        const uint64_t v[] = {top, 1};
        assert_int_equal(decode_lat(v, 2, &m), 0);
        proto_msg_fini(&m);
    }
    {
        const uint64_t v[] = {HIST_BUCKETS, 1}; /* index out of range */
        assert_int_equal(decode_lat(v, 2, &m), E_PROTO);
    }
    {
        const uint64_t v[] = {5, 1, top - 4, 1}; /* sum out of range */
        assert_int_equal(decode_lat(v, 4, &m), E_PROTO);
    }
    {
        const uint64_t v[] = {5, 1, UINT64_MAX - 2, 1}; /* wrapping gap */
        assert_int_equal(decode_lat(v, 4, &m), E_PROTO);
    }
    {
        const uint64_t v[] = {5, 0}; /* zero count */
        assert_int_equal(decode_lat(v, 2, &m), E_PROTO);
    }
    {
        const uint64_t v[] = {5, 1, 0, 1}; /* zero gap: not increasing */
        assert_int_equal(decode_lat(v, 4, &m), E_PROTO);
    }
    {
        const uint64_t v[] = {5, 1, 7}; /* odd length */
        assert_int_equal(decode_lat(v, 3, &m), E_PROTO);
    }
    /* Negative or non-integer elements; a map instead of an array. */
    assert_int_equal(
        decode_spliced_raw(PROTO_BATCH, "lat", "\x92\xff\x01", 3, &m), E_PROTO);
    assert_int_equal(
        decode_spliced_raw(PROTO_BATCH, "lat", "\x92\x01\xc3", 3, &m), E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_BATCH, "lat", "\x80", 1, &m),
                     E_PROTO);
    /* Arrays already allocated are freed when a later element fails
     * (ASan's leak check sees it): observe's latency and service are
     * valid, the last op's errors are not. */
    {
        struct mp x;
        mp_init(&x);
        mp_arr(&x, OP_COUNT);
        for (int i = 0; i < OP_COUNT; i++) {
            const uint64_t lat[] = {10, 1, 5, 2};
            const uint64_t err[] = {404, i == OP_COUNT - 1 ? 0 : 1};
            mp_map(&x, 7);
            mp_str(&x, "n");
            mp_uint(&x, 3);
            mp_str(&x, "e");
            mp_uint(&x, 1);
            mp_str(&x, "bs");
            mp_uint(&x, 0);
            mp_str(&x, "br");
            mp_uint(&x, 0);
            mp_str(&x, "lat");
            mp_uints(&x, lat, 4);
            mp_str(&x, "svc");
            mp_uints(&x, lat, 4);
            mp_str(&x, "err");
            mp_uints(&x, err, 2);
        }
        assert_int_equal(decode_spliced(PROTO_BATCH, "ops", &x, &m), E_PROTO);
        assert_int_equal(m.type, 0);
        mp_fini(&x);
    }
}

static void
test_hist_bounds_before_alloc(void **state)
{
    const size_t n = HIST_BUCKETS;
    struct proto_msg m;
    uint64_t *v;

    (void)state;
    v = xcalloc(2 * (n + 1), sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n + 1; i++) {
        v[2 * i] = i == 0 ? 0 : 1;
        v[2 * i + 1] = 1;
    }
    /* Every bucket present: allowed. */
    assert_int_equal(decode_lat(v, 2 * n, &m), 0);
    assert_int_equal(m.u.batch.op[0].n_latency, n);
    assert_int_equal(m.u.batch.op[0].latency[n - 1].index, n - 1);
    proto_msg_fini(&m);
    /* One more: refused by count, before any allocation (every allocation
     * would fail, so an early one would show as E_NOMEM). */
    assert_int_equal(decode_array("lat", v, 2 * (n + 1), true, &m), E_TOOBIG);
    xfree(v);

    /* Array headers that claim far more than the input holds: 2^31 and
     * 2^32 - 1 elements in a few bytes. msgpack-c would allocate 24 bytes
     * per claimed element before reading one; the scan refuses first. */
    assert_int_equal(
        decode_lat_raw_no_alloc("\xdd\x80\x00\x00\x00\x01\x01", 7, &m),
        E_TOOBIG);
    assert_int_equal(
        decode_lat_raw_no_alloc("\xdd\xff\xff\xff\xff\x01\x01", 7, &m),
        E_TOOBIG);
    assert_int_equal(decode_lat_raw_no_alloc("\xdf\xff\xff\xff\xff", 5, &m),
                     E_TOOBIG);
    /* A claim that fits the size bound but not the input is truncated. */
    assert_int_equal(
        decode_spliced_raw(PROTO_BATCH, "lat", "\xdc\x10\x00\x01\x01", 5, &m),
        E_TRUNCATED);
}

static void
test_err_validation(void **state)
{
    struct proto_msg m;

    (void)state;
    {
        const uint64_t v[] = {ERRK_CONNECT, 4, 100, 1, 599, 2, ERRK_OTHER, 9};
        assert_int_equal(decode_err(v, 8, &m), 0);
        assert_int_equal(m.u.batch.op[0].n_errors, 4);
        assert_int_equal(m.u.batch.op[0].err[0].key, ERRK_CONNECT);
        assert_int_equal(m.u.batch.op[0].err[0].count, 4);
        assert_int_equal(m.u.batch.op[0].err[3].key, ERRK_OTHER);
        assert_int_equal(m.u.batch.op[0].err[3].count, 9);
        proto_msg_fini(&m);
    }
    {
        const uint64_t v[] = {404, 1, 500, 1, 404, 2}; /* duplicate */
        assert_int_equal(decode_err(v, 6, &m), E_PROTO);
    }
    {
        static const uint64_t bad_keys[] = {
            0, 99, 600, 999, ERRK_BASE, ERRK_MAX + 1, 0x100000000ULL + 404};
        for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
            const uint64_t v[] = {bad_keys[i], 1};
            assert_int_equal(decode_err(v, 2, &m), E_PROTO);
        }
    }
    {
        const uint64_t v[] = {404, 0}; /* zero count */
        assert_int_equal(decode_err(v, 2, &m), E_PROTO);
    }
    {
        const uint64_t v[] = {404, 1, 500}; /* odd length */
        assert_int_equal(decode_err(v, 3, &m), E_PROTO);
    }
    {
        /* More pairs than there are error keys: refused by count, before
         * allocating (and before looking at the keys). */
        const size_t n = ERRK_SLOTS + 1;
        uint64_t *v = xcalloc(2 * n, sizeof(*v));
        assert_non_null(v);
        for (size_t i = 0; i < n; i++) {
            v[2 * i] = 404;
            v[2 * i + 1] = 1;
        }
        assert_int_equal(decode_array("err", v, 2 * n, true, &m), E_TOOBIG);
        xfree(v);
    }
}

/* The golden assign's first stream map, as bytes, into x (appended). */
static void
golden_stream_bytes(struct mp *x)
{
    struct buf g;
    size_t at;

    read_golden(PROTO_ASSIGN, &g);
    at = find_key(&g, "streams");
    assert_int_equal(g.data[at], 0x91); /* fixarray of one */
    mp_raw(x, g.data + at + 1, object_len(&g, at + 1));
    buf_fini(&g);
}

/* Decodes the golden assign with "streams" holding n copies of its
 * stream. */
static int
decode_n_streams(size_t n, struct proto_msg *m)
{
    struct mp x;
    int rv;

    mp_init(&x);
    mp_arr(&x, n);
    for (size_t i = 0; i < n; i++) {
        golden_stream_bytes(&x);
    }
    rv = decode_spliced(PROTO_ASSIGN, "streams", &x, m);
    mp_fini(&x);
    return rv;
}

/* Decodes the golden assign with its stream's "stages" holding n stages
 * of 1 s each, the last with target last_target. */
static int
decode_n_stages(size_t n, double last_target, struct proto_msg *m)
{
    struct mp x;
    int rv;

    mp_init(&x);
    mp_arr(&x, n);
    for (size_t i = 0; i < n; i++) {
        mp_map(&x, 2);
        mp_str(&x, "dur_ms");
        mp_uint(&x, 1000);
        mp_str(&x, "tgt");
        assert_int_equal(
            msgpack_pack_double(&x.pk, i + 1 == n ? last_target : 10.0), 0);
    }
    rv = decode_spliced(PROTO_ASSIGN, "stages", &x, m);
    mp_fini(&x);
    return rv;
}

static void
test_stream_bounds(void **state)
{
    struct golden_store st;
    struct proto_msg m;
    struct buf out;
    struct mp x;

    (void)state;
    /* The golden stream, field by field. */
    assert_int_equal(decode_n_streams(1, &m), 0);
    assert_int_equal(m.u.assign.agent_index, 1);
    assert_int_equal(m.u.assign.n_agents, 2);
    assert_int_equal(m.u.assign.n_streams, 1);
    assert_int_equal(m.u.assign.streams[0].pattern, CONFIG_PATTERN_CONSTANT);
    assert_true(m.u.assign.streams[0].peak == 50.0);
    assert_int_equal(m.u.assign.streams[0].think_ms, 100);

    /* Every enum: its last value passes, one more is refused. */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "model", "\x01", 1, &m),
                     0);
    assert_int_equal(m.u.assign.streams[0].model, PROTO_MODEL_OPEN);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "model", "\x02", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "req", "\x03", 1, &m), 0);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "req", "\x04", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "conn", "\x01", 1, &m),
                     0);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "conn", "\x02", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "pat", "\x09", 1, &m), 0);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "pat", "\x0a", 1, &m),
                     E_PROTO);
    assert_int_equal(
        decode_spliced_raw(PROTO_ASSIGN, "pat", "\xce\xff\xff\xff\xff", 5, &m),
        E_PROTO);

    /* 0 <= initial <= peak; doubles finite. */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "init", "\x32", 1, &m),
                     0); /* initial = peak = 50 */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "init", "\x00", 1, &m),
                     0);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "init", "\x33", 1, &m),
                     E_PROTO); /* 51 > peak */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "init", "\xff", 1, &m),
                     E_PROTO); /* -1 */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "peak", "\x31", 1, &m),
                     E_PROTO); /* 49 < initial */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "peak",
                                        "\xcb\x7f\xf0\x00\x00\x00\x00\x00"
                                        "\x00",
                                        9, &m),
                     E_PROTO); /* +inf */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "step", "\xff", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "rate", "\xff", 1, &m),
                     E_PROTO);

    /* agent_index < n_agents, n_agents >= 1. */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "aidx", "\x02", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "nag", "\x01", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "nag", "\x00", 1, &m),
                     E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "aidx", "\x00", 1, &m),
                     0);

    /* 1..PROTO_MAX_STREAMS streams; more is refused before any copy. */
    assert_int_equal(decode_n_streams(0, &m), E_PROTO);
    assert_int_equal(decode_n_streams(PROTO_MAX_STREAMS, &m), 0);
    assert_int_equal(m.u.assign.n_streams, PROTO_MAX_STREAMS);
    assert_true(m.u.assign.streams[PROTO_MAX_STREAMS - 1].peak == 50.0);
    assert_int_equal(decode_n_streams(PROTO_MAX_STREAMS + 1, &m), E_TOOBIG);
    assert_int_equal(m.type, 0); /* nothing left behind */
    assert_int_equal(
        decode_spliced_raw(PROTO_ASSIGN, "streams", "\x81\xa1x\x01", 4, &m),
        E_PROTO); /* a map, not an array */
    assert_int_equal(
        decode_spliced_raw(PROTO_ASSIGN, "streams", "\x91\x01", 2, &m),
        E_PROTO); /* an element that is not a map */

    /* A stream key missing, or twice. */
    assert_int_equal(decode_renamed(PROTO_ASSIGN, "model", "modex", &m),
                     E_PROTO);
    assert_int_equal(decode_renamed(PROTO_ASSIGN, "step", "peak", &m), E_PROTO);

    /* Stages: up to PROTO_MAX_STAGES, targets >= 0, both keys. */
    assert_int_equal(decode_n_stages(2, 7.5, &m), 0);
    assert_int_equal(m.u.assign.streams[0].n_stages, 2);
    assert_int_equal(m.u.assign.streams[0].stages[1].duration_ms, 1000);
    assert_true(m.u.assign.streams[0].stages[1].target == 7.5);
    assert_int_equal(decode_n_stages(PROTO_MAX_STAGES, 0.0, &m), 0);
    assert_int_equal(m.u.assign.streams[0].n_stages, PROTO_MAX_STAGES);
    assert_int_equal(decode_n_stages(PROTO_MAX_STAGES + 1, 1.0, &m), E_TOOBIG);
    assert_int_equal(decode_n_stages(3, -1.0, &m), E_PROTO);
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "stages",
                                        "\x91\x81\xa3tgt\x01", 7, &m),
                     E_PROTO); /* a stage without dur_ms */
    assert_int_equal(decode_spliced_raw(PROTO_ASSIGN, "stages", "\x01", 1, &m),
                     E_PROTO);

    /* The encoder refuses what the decoder refuses. */
    buf_init(&out, PROTO_MAX_MSG);
#define EXPECT_INVAL(mutate)                               \
    do {                                                   \
        golden_fill(PROTO_ASSIGN, &m, &st);                \
        mutate;                                            \
        assert_int_equal(proto_encode(&m, &out), E_INVAL); \
        assert_int_equal(out.len, 0);                      \
    } while (0)
    EXPECT_INVAL(m.u.assign.n_streams = 0);
    EXPECT_INVAL(m.u.assign.n_streams = PROTO_MAX_STREAMS + 1);
    EXPECT_INVAL(m.u.assign.n_agents = 0);
    EXPECT_INVAL(m.u.assign.agent_index = 2);
    EXPECT_INVAL(m.u.assign.streams[0].model = 2);
    EXPECT_INVAL(m.u.assign.streams[0].requests = 4);
    EXPECT_INVAL(m.u.assign.streams[0].connections = 2);
    EXPECT_INVAL(m.u.assign.streams[0].pattern = CONFIG_PATTERN_COUNT);
    EXPECT_INVAL(m.u.assign.streams[0].initial = -0.5);
    EXPECT_INVAL(m.u.assign.streams[0].peak = 49.0);
    EXPECT_INVAL(m.u.assign.streams[0].n_stages = PROTO_MAX_STAGES + 1);
    EXPECT_INVAL((m.u.assign.streams[0].n_stages = 1,
                  m.u.assign.streams[0].stages[0].target = -2.0));
    EXPECT_INVAL(m.u.assign.streams[0].stages[0].target = 1.0 / 0.0;
                 m.u.assign.streams[0].n_stages = 1);
#undef EXPECT_INVAL
    golden_fill(PROTO_ASSIGN, &m, &st);
    assert_int_equal(proto_encode(&m, &out), 0);
    buf_fini(&out);
    mp_init(&x);
    mp_fini(&x);
}

static void
test_encode_validation(void **state)
{
    struct golden_store st;
    struct proto_msg m;
    struct buf out;

    (void)state;
    buf_init(&out, PROTO_MAX_MSG);
    assert_int_equal(buf_append(&out, "pre", 3), 0);

#define EXPECT_INVAL()                                     \
    do {                                                   \
        assert_int_equal(proto_encode(&m, &out), E_INVAL); \
        assert_int_equal(out.len, 3);                      \
        golden_fill(PROTO_BATCH, &m, &st);                 \
    } while (0)

    golden_fill(PROTO_BATCH, &m, &st);
    st.obs_lat[2].index = st.obs_lat[1].index; /* not increasing */
    EXPECT_INVAL();
    st.obs_lat[2].index = st.obs_lat[1].index - 1; /* decreasing */
    EXPECT_INVAL();
    st.obs_lat[3].index = HIST_BUCKETS; /* out of range */
    EXPECT_INVAL();
    st.obs_svc[1].count = 0;
    EXPECT_INVAL();
    m.u.batch.op[OP_STM].n_latency = 1; /* pointer NULL */
    EXPECT_INVAL();
    m.u.batch.op[OP_OBSERVE].n_latency = HIST_BUCKETS + 1;
    EXPECT_INVAL();
    st.obs_err[1].key = 600;
    EXPECT_INVAL();
    st.obs_err[2].key = 404; /* duplicate of [0] */
    EXPECT_INVAL();
    st.obs_err[0].count = 0;
    EXPECT_INVAL();
    m.u.batch.op[OP_OBSERVE].n_errors = ERRK_SLOTS + 1;
    EXPECT_INVAL();
#undef EXPECT_INVAL

    golden_fill(PROTO_ASSIGN, &m, &st);
    m.u.assign.streams[0].rate_per_user = 0.0 / 0.0;
    assert_int_equal(proto_encode(&m, &out), E_INVAL);
    m.u.assign.streams[0].rate_per_user = 1.0;
    m.u.assign.data.vector_value_max = 1.0 / 0.0;
    assert_int_equal(proto_encode(&m, &out), E_INVAL);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "pre", 3);
    buf_fini(&out);

    /* The buffer's cap: E_TOOBIG, nothing left behind. */
    golden_fill(PROTO_ASSIGN, &m, &st);
    buf_init(&out, 100);
    assert_int_equal(buf_append(&out, "pre", 3), 0);
    assert_int_equal(proto_encode(&m, &out), E_TOOBIG);
    assert_int_equal(out.len, 3);
    buf_fini(&out);
}

/* ADOPT (PROTOCOL.md 3.14): a generation of 0, a slice of count 0 or
 * with index >= count is refused both ways; at most PROTO_MAX_SLICES. */
static void
test_adopt_bounds(void **state)
{
    struct golden_store st;
    struct proto_msg m, d;
    struct buf out;

    (void)state;
    buf_init(&out, PROTO_MAX_MSG);
    golden_fill(PROTO_ADOPT, &m, &st);
    assert_int_equal(proto_encode(&m, &out), 0);
    assert_int_equal(proto_decode(out.data, out.len, &d), 0);
    assert_int_equal(d.u.adopt.slices[0].index, 5);
    proto_msg_fini(&d);
    for (int c = 0; c < 3; c++) {
        golden_fill(PROTO_ADOPT, &m, &st);
        if (c == 0) {
            m.u.adopt.generation = 0;
        } else if (c == 1) {
            m.u.adopt.slices[0].count = 0;
            m.u.adopt.slices[0].index = 0;
        } else {
            m.u.adopt.slices[0].index = 6;
        }
        out.len = 0;
        assert_int_equal(proto_encode(&m, &out), E_INVAL);
        assert_int_equal(out.len, 0);
    }
    /* The decoder: the golden bytes with idx 5 -> 6 (= n). */
    {
        struct buf g;
        read_golden(PROTO_ADOPT, &g);
        assert_int_equal(g.data[g.len - 4], 0x05);
        g.data[g.len - 4] = 0x06;
        assert_int_equal(proto_decode(g.data, g.len, &d), E_PROTO);
        buf_fini(&g);
    }
    golden_fill(PROTO_ADOPT, &m, &st);
    m.u.adopt.n_slices = PROTO_MAX_SLICES + 1;
    out.len = 0;
    assert_int_not_equal(proto_encode(&m, &out), 0);
    buf_fini(&out);
}

static void
test_oom_decode(void **state)
{
    struct buf g;
    long ok_at = -1;
    int failures = 0;

    (void)state;
    read_golden(PROTO_BATCH, &g);
    for (long n = 0; n < 100; n++) {
        struct proto_msg m;
        int rv;
        alloc_fail_after(n);
        rv = proto_decode(g.data, g.len, &m);
        alloc_fail_after(-1);
        if (rv == 0) {
            proto_msg_fini(&m);
            ok_at = n;
            break;
        }
        assert_int_equal(rv, E_NOMEM);
        assert_int_equal(m.type, 0);
        failures++;
    }
    /* One allocation per non-empty array: observe's latency, service and
     * errors, learn's latency and service. */
    assert_int_equal(ok_at, 5);
    assert_int_equal(failures, 5);
    buf_fini(&g);
}

static void
test_oom_encode(void **state)
{
    struct golden_store st;
    struct proto_msg m;
    struct buf g;
    long ok_at = -1;

    (void)state;
    read_golden(PROTO_ASSIGN, &g);
    golden_fill(PROTO_ASSIGN, &m, &st);
    for (long n = 0; n < 100; n++) {
        struct buf out;
        int rv;
        buf_init(&out, PROTO_MAX_MSG);
        alloc_fail_after(n);
        rv = proto_encode(&m, &out);
        alloc_fail_after(-1);
        if (rv == 0) {
            assert_int_equal(out.len, g.len);
            assert_memory_equal(out.data, g.data, g.len);
            buf_fini(&out);
            ok_at = n;
            break;
        }
        assert_int_equal(rv, E_NOMEM);
        assert_int_equal(out.len, 0);
        buf_fini(&out);
    }
    assert_true(ok_at >= 1); /* 441 bytes need at least one growth */
    buf_fini(&g);
}

/* --- proofs and names ------------------------------------------------------
 */

static void
test_proof(void **state)
{
    uint8_t na[PROTO_NONCE_LEN];
    uint8_t nm[PROTO_NONCE_LEN];
    uint8_t msg[64];
    uint8_t token[100];
    uint8_t want[PROTO_MAC_LEN];
    uint8_t got[PROTO_MAC_LEN];
    uint8_t other[PROTO_MAC_LEN];
    size_t lm = strlen(PROTO_LABEL_MASTER);

    (void)state;
    golden_nonces(na, nm);
    for (size_t i = 0; i < sizeof(token); i++) {
        token[i] = (uint8_t)(i * 13);
    }
    /* For short and long (hashed) tokens, proof = HMAC(label||n1||n2). */
    for (size_t tl = 0; tl <= sizeof(token); tl += 25) {
        memcpy(msg, PROTO_LABEL_MASTER, lm);
        memcpy(msg + lm, na, PROTO_NONCE_LEN);
        memcpy(msg + lm + PROTO_NONCE_LEN, nm, PROTO_NONCE_LEN);
        hmac_sha256(token, tl, msg, lm + 2 * PROTO_NONCE_LEN, want);
        proto_proof(PROTO_LABEL_MASTER, token, tl, na, nm, got);
        assert_memory_equal(got, want, PROTO_MAC_LEN);
    }
    /* Label, nonce order and token all matter. */
    proto_proof(PROTO_LABEL_MASTER, token, 32, na, nm, got);
    proto_proof(PROTO_LABEL_AGENT, token, 32, na, nm, other);
    assert_memory_not_equal(got, other, PROTO_MAC_LEN);
    proto_proof(PROTO_LABEL_MASTER, token, 32, nm, na, other);
    assert_memory_not_equal(got, other, PROTO_MAC_LEN);
    proto_proof(PROTO_LABEL_MASTER, token, 31, na, nm, other);
    assert_memory_not_equal(got, other, PROTO_MAC_LEN);
}

static void
test_type_names(void **state)
{
    (void)state;
    for (uint32_t t = 1; t <= PROTO_TYPE_MAX; t++) {
        assert_string_equal(proto_type_name(t), type_files[t]);
    }
    assert_string_equal(proto_type_name(PROTO_BATCH), "batch");
    assert_string_equal(proto_type_name(0), "unknown");
    assert_string_equal(proto_type_name(PROTO_TYPE_MAX + 1), "unknown");
    assert_string_equal(proto_type_name(UINT32_MAX), "unknown");
}

/* The one group merge both sides use: counts add, the window widens. */
static void
test_group_add(void **state)
{
    struct proto_group d = {1, 2, 10, 3, 1, 1, 0, 1, 5000, 9000};
    const struct proto_group s = {1, 2, 4, 2, 0, 1, 1, 0, 4000, 8000};
    const struct proto_group later = {1, 2, 1, 0, 0, 0, 0, 0, 6000, 12000};

    (void)state;
    proto_group_add(&d, &s);
    assert_int_equal(d.stream, 1);
    assert_int_equal(d.group, 2);
    assert_int_equal(d.requests, 14);
    assert_int_equal(d.errors, 5);
    assert_int_equal(d.e503, 1);
    assert_int_equal(d.refused, 2);
    assert_int_equal(d.timeouts, 1);
    assert_int_equal(d.resets, 1);
    assert_int_equal(d.first_us, 4000);
    assert_int_equal(d.last_us, 9000);
    proto_group_add(&d, &later);
    assert_int_equal(d.requests, 15);
    assert_int_equal(d.first_us, 4000);
    assert_int_equal(d.last_us, 12000);
}

static void
test_fini_zeroed(void **state)
{
    struct proto_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    proto_msg_fini(&m);
    proto_msg_fini(&m);
    assert_int_equal(m.type, 0);
}

/* Runs after every test, even a failed one: never leave the OOM hook
 * armed for the next test. */
static int
disarm(void **state)
{
    (void)state;
    alloc_fail_after(-1);
    return 0;
}

int
proto_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_golden_decode, disarm),
        cmocka_unit_test_teardown(test_golden_literals, disarm),
        cmocka_unit_test_teardown(test_golden_encode, disarm),
        cmocka_unit_test_teardown(test_roundtrip_random, disarm),
        cmocka_unit_test_teardown(test_truncations, disarm),
        cmocka_unit_test_teardown(test_trailing_bytes, disarm),
        cmocka_unit_test_teardown(test_oversized, disarm),
        cmocka_unit_test_teardown(test_version, disarm),
        cmocka_unit_test_teardown(test_unknown_type, disarm),
        cmocka_unit_test_teardown(test_string_bounds, disarm),
        cmocka_unit_test_teardown(test_wrong_types, disarm),
        cmocka_unit_test_teardown(test_missing_and_duplicate_keys, disarm),
        cmocka_unit_test_teardown(test_batch_optional_keys, disarm),
        cmocka_unit_test_teardown(test_unknown_keys_ignored, disarm),
        cmocka_unit_test_teardown(test_nesting_depth, disarm),
        cmocka_unit_test_teardown(test_hist_validation, disarm),
        cmocka_unit_test_teardown(test_hist_bounds_before_alloc, disarm),
        cmocka_unit_test_teardown(test_err_validation, disarm),
        cmocka_unit_test_teardown(test_encode_validation, disarm),
        cmocka_unit_test_teardown(test_stream_bounds, disarm),
        cmocka_unit_test_teardown(test_adopt_bounds, disarm),
        cmocka_unit_test_teardown(test_oom_decode, disarm),
        cmocka_unit_test_teardown(test_oom_encode, disarm),
        cmocka_unit_test_teardown(test_proof, disarm),
        cmocka_unit_test_teardown(test_type_names, disarm),
        cmocka_unit_test_teardown(test_fini_zeroed, disarm),
        cmocka_unit_test_teardown(test_group_add, disarm),
        cmocka_unit_test_teardown(test_golden_batch_res, disarm),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
