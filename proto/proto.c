/* SPDX-License-Identifier: MIT */
/*
 * The wire codec: struct proto_msg <-> one msgpack map, with msgpack-c.
 * Each message type is described once by a field table (key, kind, offset)
 * that both the encoder and the decoder walk, so the two cannot drift apart;
 * proto/PROTOCOL.md section 3 lists the same keys. Pure: no sockets, clocks
 * or globals.
 */
#include "proto.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <msgpack.h>

#include "../common/alloc.h"
#include "../common/err.h"
#include "../common/sha256.h"

#include "../common/poison.h"

/* Deepest container nesting accepted, the message's map being level 1
 * (ours is at most 5: message, "streams", a stream, its "stages", a
 * stage). Below msgpack-c's own
 * limit of 32, so the scan below is the one that decides. */
#define SCAN_MAX_DEPTH 16

/* --- field tables ------------------------------------------------------ */

enum kind {
    K_U32,     /* uint32_t: positive msgpack int <= 2^32 - 1 */
    K_U64,     /* uint64_t: positive msgpack int */
    K_F64,     /* double: float64 on the wire; float32 or int accepted */
    K_STR,     /* char[size]: str of at most size - 1 bytes, no NUL */
    K_BIN,     /* uint8_t[size]: bin of exactly size bytes */
    K_MIX,     /* double[OP_COUNT]: array of OP_COUNT numbers */
    K_TOTALS,  /* uint64_t[OP_COUNT]: array of OP_COUNT uints */
    K_PAYLOAD, /* struct payload_cfg: nested map (payload_fields) */
    K_OPS,     /* struct proto_op_batch[OP_COUNT]: array of maps */
    K_HIST,    /* size_t n at off, struct hist_bucket * at off2 */
    K_ERRS,    /* size_t n at off, struct proto_err_count * at off2 */
    K_ARRAY    /* uint32_t n at off, an inline array of `max` structs of
                * `size` bytes at off2: an array of at most `max` maps,
                * each described by the table `sub` */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct table;

struct field {
    const char *key;
    enum kind kind;
    size_t off;              /* offset in the struct the table describes */
    size_t size;             /* K_STR: array size (NUL included); K_BIN: length;
                              * K_ARRAY: size of one element */
    size_t off2;             /* K_HIST, K_ERRS: offset of the array pointer;
                              * K_ARRAY: offset of the inline array */
    const struct table *sub; /* K_ARRAY: the elements' fields */
    size_t max;              /* K_ARRAY: most elements (the array's size) */
    bool opt; /* K_U64, K_U32, K_STR, K_ARRAY: optional, written only when
               * non-zero (a string: non-empty; an array: non-empty), absent
               * reads as 0 ("") (PROTOCOL.md section 4, compatible changes) */
};

struct table {
    const struct field *f;
    size_t n;
};

#define FLD(key, kind, type, member)                            \
    {                                                           \
        key, kind, offsetof(type, member), 0, 0, NULL, 0, false \
    }
#define FLD_SZ(key, kind, type, member)                                    \
    {                                                                      \
        key, kind, offsetof(type, member), sizeof(((type *)0)->member), 0, \
            NULL, 0, false                                                 \
    }
#define FLD_ARR(key, kind, type, n_member, p_member)                      \
    {                                                                     \
        key, kind, offsetof(type, n_member), 0, offsetof(type, p_member), \
            NULL, 0, false                                                \
    }
/* An optional uint64: absent on the wire when 0. */
#define FLD_OPT(key, type, member)                              \
    {                                                           \
        key, K_U64, offsetof(type, member), 0, 0, NULL, 0, true \
    }
/* An optional string: absent on the wire when "". */
#define FLD_OPT_STR(key, type, member)                                      \
    {                                                                       \
        key, K_STR, offsetof(type, member), sizeof(((type *)0)->member), 0, \
            NULL, 0, true                                                   \
    }
/* An optional uint32: absent on the wire when 0. */
#define FLD_OPT32(key, type, member)                            \
    {                                                           \
        key, K_U32, offsetof(type, member), 0, 0, NULL, 0, true \
    }
/* An optional inline array of structs (absent when empty). */
#define FLD_STRUCTS_OPT(key, type, n_member, a_member, tbl)                   \
    {                                                                         \
        key, K_ARRAY, offsetof(type, n_member),                               \
            sizeof(((type *)0)->a_member[0]), offsetof(type, a_member),       \
            &(tbl),                                                           \
            sizeof(((type *)0)->a_member) / sizeof(((type *)0)->a_member[0]), \
            true                                                              \
    }
/* An inline array of structs: n_member counts the used entries of
 * a_member, each a map of table tbl. */
#define FLD_STRUCTS(key, type, n_member, a_member, tbl)                       \
    {                                                                         \
        key, K_ARRAY, offsetof(type, n_member),                               \
            sizeof(((type *)0)->a_member[0]), offsetof(type, a_member),       \
            &(tbl),                                                           \
            sizeof(((type *)0)->a_member) / sizeof(((type *)0)->a_member[0]), \
            false                                                             \
    }

static const struct field hello_fields[] = {
    FLD_SZ("name", K_STR, struct proto_hello, name),
    FLD_SZ("host", K_STR, struct proto_hello, host),
    FLD("pid", K_U32, struct proto_hello, pid),
    FLD("thr", K_U32, struct proto_hello, threads),
    FLD_SZ("nonce", K_BIN, struct proto_hello, nonce),
};

static const struct field challenge_fields[] = {
    FLD_SZ("nonce", K_BIN, struct proto_challenge, nonce),
    FLD_SZ("proof", K_BIN, struct proto_challenge, proof),
};

static const struct field auth_fields[] = {
    FLD_SZ("proof", K_BIN, struct proto_auth, proof),
};

static const struct field welcome_fields[] = {
    FLD("id", K_U32, struct proto_welcome, agent_id),
    FLD("hb_ms", K_U32, struct proto_welcome, heartbeat_ms),
};

static const struct field reject_fields[] = {
    FLD_SZ("why", K_STR, struct proto_reject, reason),
};

static const struct field heartbeat_fields[] = {
    FLD("id", K_U32, struct proto_heartbeat, agent_id),
    FLD("st", K_U32, struct proto_heartbeat, state),
    FLD("users", K_U32, struct proto_heartbeat, users_active),
    FLD("infl", K_U32, struct proto_heartbeat, in_flight),
    FLD("acked", K_U64, struct proto_heartbeat, acked_seq),
    FLD_SZ("text", K_STR, struct proto_heartbeat, text),
    FLD_OPT32("gen", struct proto_heartbeat, adopt_gen),
};

static const struct field payload_fields[] = {
    FLD("str_min", K_U32, struct payload_cfg, min_strings_per_observation),
    FLD("str_max", K_U32, struct payload_cfg, max_strings_per_observation),
    FLD("len_min", K_U32, struct payload_cfg, min_string_length),
    FLD("len_max", K_U32, struct payload_cfg, max_string_length),
    FLD("vocab", K_U32, struct payload_cfg, string_vocabulary_size),
    FLD("vec_p", K_F64, struct payload_cfg, vector_probability),
    FLD("vec_min", K_U32, struct payload_cfg, min_vector_size),
    FLD("vec_max", K_U32, struct payload_cfg, max_vector_size),
    FLD("vval_lo", K_F64, struct payload_cfg, vector_value_min),
    FLD("vval_hi", K_F64, struct payload_cfg, vector_value_max),
    FLD("emo_p", K_F64, struct payload_cfg, emotive_probability),
    FLD("emo_min", K_U32, struct payload_cfg, min_emotives),
    FLD("emo_max", K_U32, struct payload_cfg, max_emotives),
    FLD("eval_lo", K_F64, struct payload_cfg, emotive_value_min),
    FLD("eval_hi", K_F64, struct payload_cfg, emotive_value_max),
};

static const struct field stage_fields[] = {
    FLD("dur_ms", K_U64, struct proto_stage, duration_ms),
    FLD("tgt", K_F64, struct proto_stage, target),
};

static const struct table stage_table = {stage_fields, COUNT(stage_fields)};

static const struct field stream_fields[] = {
    FLD("model", K_U32, struct proto_stream, model),
    FLD("req", K_U32, struct proto_stream, requests),
    FLD("conn", K_U32, struct proto_stream, connections),
    FLD("pat", K_U32, struct proto_stream, pattern),
    FLD("at_ms", K_U64, struct proto_stream, start_ms),
    FLD("dur_ms", K_U64, struct proto_stream, duration_ms),
    FLD("init", K_F64, struct proto_stream, initial),
    FLD("peak", K_F64, struct proto_stream, peak),
    FLD("ramp_ms", K_U64, struct proto_stream, ramp_ms),
    FLD("spk_iv_ms", K_U64, struct proto_stream, spike_interval_ms),
    FLD("spk_ms", K_U64, struct proto_stream, spike_duration_ms),
    FLD("wave_ms", K_U64, struct proto_stream, wave_period_ms),
    FLD("step_ms", K_U64, struct proto_stream, step_ms),
    FLD("step", K_F64, struct proto_stream, step_size),
    FLD_STRUCTS("stages", struct proto_stream, n_stages, stages, stage_table),
    FLD("rate", K_F64, struct proto_stream, rate_per_user),
    FLD("think_ms", K_U32, struct proto_stream, think_ms),
    FLD("mif", K_U32, struct proto_stream, max_in_flight),
    FLD("grp_ms", K_U64, struct proto_stream, group_ms),
    FLD_OPT32("b_n", struct proto_stream, burst_size),
    FLD_OPT32("b_cnt", struct proto_stream, burst_count),
    FLD_OPT("b_ms", struct proto_stream, burst_ms),
    FLD_OPT("b_every_ms", struct proto_stream, burst_every_ms),
};

static const struct table stream_table = {stream_fields, COUNT(stream_fields)};

static const struct field assign_fields[] = {
    FLD_SZ("test", K_STR, struct proto_assign, test),
    FLD_SZ("url", K_STR, struct proto_assign, url),
    FLD_SZ("node", K_STR, struct proto_assign, node_id),
    FLD("dur_ms", K_U64, struct proto_assign, duration_ms),
    FLD("to_ms", K_U32, struct proto_assign, timeout_ms),
    FLD("cto_ms", K_U32, struct proto_assign, connect_timeout_ms),
    FLD("mix", K_MIX, struct proto_assign, mix),
    FLD("data", K_PAYLOAD, struct proto_assign, data),
    FLD("dim", K_U32, struct proto_assign, vector_dim),
    FLD("seed", K_U64, struct proto_assign, seed),
    FLD("aidx", K_U32, struct proto_assign, agent_index),
    FLD("nag", K_U32, struct proto_assign, n_agents),
    FLD_STRUCTS("streams", struct proto_assign, n_streams, streams,
                stream_table),
    FLD_OPT("mem_src", struct proto_assign, mem_source),
    FLD_OPT("mem_pid", struct proto_assign, mem_pid),
    FLD_OPT("mem_iv_ms", struct proto_assign, mem_interval_ms),
    FLD_OPT_STR("mem_path", struct proto_assign, mem_path),
    FLD_OPT32("lg_str", struct proto_assign, large_strings),
};

static const struct field start_fields[] = {
    FLD("at_ns", K_U64, struct proto_start, start_ns),
};

static const struct field stop_fields[] = {
    FLD_SZ("why", K_STR, struct proto_stop, reason),
};

static const struct field op_fields[] = {
    FLD("n", K_U64, struct proto_op_batch, requests),
    FLD("e", K_U64, struct proto_op_batch, errors),
    FLD("bs", K_U64, struct proto_op_batch, bytes_sent),
    FLD("br", K_U64, struct proto_op_batch, bytes_recv),
    FLD_ARR("lat", K_HIST, struct proto_op_batch, n_latency, latency),
    FLD_ARR("svc", K_HIST, struct proto_op_batch, n_service, service),
    FLD_ARR("err", K_ERRS, struct proto_op_batch, n_errors, err),
};

static const struct field group_fields[] = {
    FLD("si", K_U32, struct proto_group, stream),
    FLD("g", K_U32, struct proto_group, group),
    FLD("n", K_U64, struct proto_group, requests),
    FLD("e", K_U64, struct proto_group, errors),
    FLD("e503", K_U64, struct proto_group, e503),
    FLD("econn", K_U64, struct proto_group, refused),
    FLD("eto", K_U64, struct proto_group, timeouts),
    FLD("erst", K_U64, struct proto_group, resets),
    FLD("t0_us", K_U64, struct proto_group, first_us),
    FLD("t1_us", K_U64, struct proto_group, last_us),
};

static const struct table group_table = {group_fields, COUNT(group_fields)};

static const struct field batch_fields[] = {
    FLD("id", K_U32, struct proto_batch, agent_id),
    FLD("seq", K_U64, struct proto_batch, seq),
    FLD("iv", K_U32, struct proto_batch, interval),
    FLD("users", K_U32, struct proto_batch, users_active),
    FLD("ops", K_OPS, struct proto_batch, op),
    FLD_OPT("late", struct proto_batch, late),
    FLD_OPT("late_us", struct proto_batch, late_us),
    FLD_OPT("unsent", struct proto_batch, unsent),
    FLD_OPT("mem_ms", struct proto_batch, mem_ms),
    FLD_OPT("mem_b", struct proto_batch, mem_bytes),
    FLD_OPT("pif", struct proto_batch, peak_in_flight),
    FLD_STRUCTS_OPT("grp", struct proto_batch, n_groups, groups, group_table),
    FLD_OPT("res", struct proto_batch, res),
    FLD_OPT("cpu", struct proto_batch, cpu_centi),
    FLD_OPT("hcpu", struct proto_batch, host_cpu_centi),
    FLD_OPT("rss", struct proto_batch, rss_bytes),
    FLD_OPT("nrx", struct proto_batch, net_rx_bytes),
    FLD_OPT("ntx", struct proto_batch, net_tx_bytes),
    FLD_OPT("conn", struct proto_batch, open_conns),
    FLD_OPT("lagmx", struct proto_batch, lag_max_us),
    FLD_OPT("lagav", struct proto_batch, lag_mean_us),
    FLD_OPT("tcpu", struct proto_batch, target_cpu_centi),
};

static const struct field ack_fields[] = {
    FLD("seq", K_U64, struct proto_ack, seq),
};

static const struct field goodbye_fields[] = {
    FLD("id", K_U32, struct proto_goodbye, agent_id),
    FLD("last", K_U64, struct proto_goodbye, last_seq),
    FLD("req", K_TOTALS, struct proto_goodbye, requests),
    FLD("err", K_TOTALS, struct proto_goodbye, errors),
};

static const struct field slice_fields[] = {
    FLD("at_ms", K_U64, struct proto_slice, from_ms),
    FLD("idx", K_U32, struct proto_slice, index),
    FLD("n", K_U32, struct proto_slice, count),
};

static const struct table slice_table = {slice_fields, COUNT(slice_fields)};

static const struct field adopt_fields[] = {
    FLD("gen", K_U32, struct proto_adopt, generation),
    FLD_STRUCTS("sl", struct proto_adopt, n_slices, slices, slice_table),
};

/* Meaning checks a message type needs beyond its fields' shapes: true
 * when u (the union member) is acceptable. */
typedef bool check_fn(const void *u);

struct type_desc {
    const char *name;
    const struct field *fields; /* offsets from &msg->u */
    size_t nfields;
    check_fn *check; /* NULL: shapes only */
};

/*
 * The bounds of PROTOCOL.md section 3.8 on an ASSIGN's streams (the counts
 * are checked against the arrays' sizes while decoding, before anything is
 * copied): 1..PROTO_MAX_STREAMS streams, every enum within its range,
 * 0 <= initial <= peak, stage targets >= 0, agent_index < n_agents.
 * Doubles are finite already (the codec refuses others both ways).
 */
static bool
assign_ok(const void *u)
{
    const struct proto_assign *a = u;

    if (a->n_agents == 0 || a->agent_index >= a->n_agents ||
        a->n_streams == 0 || a->n_streams > PROTO_MAX_STREAMS) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_streams; i++) {
        const struct proto_stream *s = &a->streams[i];
        if (s->model > PROTO_MODEL_OPEN || s->requests > PROTO_REQ_INVALID ||
            s->connections > PROTO_CONN_FRESH ||
            s->pattern >= CONFIG_PATTERN_COUNT || !(s->initial >= 0.0) ||
            !(s->peak >= s->initial) || !(s->step_size >= 0.0) ||
            !(s->rate_per_user >= 0.0) || s->n_stages > PROTO_MAX_STAGES) {
            return false;
        }
        for (uint32_t j = 0; j < s->n_stages; j++) {
            if (!(s->stages[j].target >= 0.0)) {
                return false;
            }
        }
    }
    return true;
}

/* PROTOCOL.md 3.14: a generation > 0, every slice index < count. */
static bool
adopt_ok(const void *u)
{
    const struct proto_adopt *a = u;

    if (a->generation == 0 || a->n_slices > PROTO_MAX_SLICES) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_slices; i++) {
        if (a->slices[i].count == 0 ||
            a->slices[i].index >= a->slices[i].count) {
            return false;
        }
    }
    return true;
}

static const struct type_desc types[PROTO_TYPE_MAX + 1] = {
    [PROTO_HELLO] = {"hello", hello_fields, COUNT(hello_fields)},
    [PROTO_CHALLENGE] = {"challenge", challenge_fields,
                         COUNT(challenge_fields)},
    [PROTO_AUTH] = {"auth", auth_fields, COUNT(auth_fields)},
    [PROTO_WELCOME] = {"welcome", welcome_fields, COUNT(welcome_fields)},
    [PROTO_REJECT] = {"reject", reject_fields, COUNT(reject_fields)},
    [PROTO_HEARTBEAT] = {"heartbeat", heartbeat_fields,
                         COUNT(heartbeat_fields)},
    [PROTO_ASSIGN] = {"assign", assign_fields, COUNT(assign_fields), assign_ok},
    [PROTO_START] = {"start", start_fields, COUNT(start_fields)},
    [PROTO_STOP] = {"stop", stop_fields, COUNT(stop_fields)},
    [PROTO_BATCH] = {"batch", batch_fields, COUNT(batch_fields)},
    [PROTO_ACK] = {"ack", ack_fields, COUNT(ack_fields)},
    [PROTO_GOODBYE] = {"goodbye", goodbye_fields, COUNT(goodbye_fields)},
    [PROTO_ADOPT] = {"adopt", adopt_fields, COUNT(adopt_fields), adopt_ok},
};

/* The seen-key bitmaps below are one uint64_t per map. */
_Static_assert(COUNT(assign_fields) <= 64 && COUNT(payload_fields) <= 64 &&
                   COUNT(stream_fields) <= 64,
               "field tables must fit a 64-bit seen mask");

static const struct type_desc *
type_desc(uint32_t type)
{
    if (type == 0 || type > PROTO_TYPE_MAX) {
        return NULL;
    }
    return &types[type];
}

void
proto_group_add(struct proto_group *dst, const struct proto_group *src)
{
    dst->requests += src->requests;
    dst->errors += src->errors;
    dst->e503 += src->e503;
    dst->refused += src->refused;
    dst->timeouts += src->timeouts;
    dst->resets += src->resets;
    dst->first_us =
        src->first_us < dst->first_us ? src->first_us : dst->first_us;
    dst->last_us = src->last_us > dst->last_us ? src->last_us : dst->last_us;
}

const char *
proto_type_name(uint32_t type)
{
    const struct type_desc *td = type_desc(type);
    return td != NULL ? td->name : "unknown";
}

/* Whether an optional field is left off the wire: its value (a K_U32 or
 * K_U64) or its count (a K_ARRAY) is 0, or its string (a K_STR) is "". */
static bool
absent(const struct field *f, const uint8_t *base)
{
    uint32_t n32 = 0;
    uint64_t n64 = 0;

    if (!f->opt) {
        return false;
    }
    if (f->kind == K_STR) {
        return base[f->off] == '\0';
    }
    if (f->kind == K_U64) {
        memcpy(&n64, base + f->off, sizeof(n64));
        return n64 == 0;
    }
    memcpy(&n32, base + f->off, sizeof(n32)); /* K_U32, K_ARRAY's count */
    return n32 == 0;
}

/* Keys a table writes for base (its optional fields that are absent left
 * out). */
static size_t
present(const struct field *f, size_t nf, const uint8_t *base)
{
    size_t n = 0;

    for (size_t i = 0; i < nf; i++) {
        n += absent(&f[i], base) ? 0u : 1u;
    }
    return n;
}

/* --- encoding ---------------------------------------------------------- */

struct enc {
    msgpack_packer pk;
    struct buf *out;
    size_t start; /* out->len before this message */
    int err;      /* why the write callback refused, E_* */
};

/* msgpack-c's sink: appends to the caller's buf, capped at PROTO_MAX_MSG
 * for this message. Returns 0 or -1 (msgpack-c's convention). */
static int
write_cb(void *data, const char *p, size_t n)
{
    struct enc *e = data;
    int rv;

    if (n > PROTO_MAX_MSG || e->out->len - e->start > PROTO_MAX_MSG - n) {
        e->err = E_TOOBIG;
        return -1;
    }
    rv = buf_append(e->out, p, n);
    if (rv != 0) {
        e->err = rv;
        return -1;
    }
    return 0;
}

/* Turns a msgpack_pack_* result into an E_* code. */
static int
packed(const struct enc *e, int r)
{
    if (r == 0) {
        return 0;
    }
    return e->err != 0 ? e->err : E_INVAL;
}

static int
put_key(struct enc *e, const char *key)
{
    size_t n = strlen(key);
    int rv = packed(e, msgpack_pack_str(&e->pk, n));
    if (rv == 0) {
        rv = packed(e, msgpack_pack_str_body(&e->pk, key, n));
    }
    return rv;
}

static int
put_uint(struct enc *e, uint64_t v)
{
    return packed(e, msgpack_pack_uint64(&e->pk, v));
}

static int
put_double(struct enc *e, double v)
{
    if (!isfinite(v)) {
        return E_INVAL;
    }
    return packed(e, msgpack_pack_double(&e->pk, v));
}

static int
put_hist(struct enc *e, size_t n, const struct hist_bucket *b)
{
    int rv = 0;

    if (n > HIST_BUCKETS || (n > 0 && b == NULL)) {
        return E_INVAL;
    }
    rv = packed(e, msgpack_pack_array(&e->pk, 2 * n));
    for (size_t i = 0; i < n && rv == 0; i++) {
        uint32_t step = b[i].index;
        if (b[i].index >= HIST_BUCKETS || b[i].count == 0) {
            rv = E_INVAL;
            break;
        }
        if (i > 0) {
            if (b[i].index <= b[i - 1].index) {
                rv = E_INVAL;
                break;
            }
            step = b[i].index - b[i - 1].index;
        }
        rv = put_uint(e, step);
        if (rv == 0) {
            rv = put_uint(e, b[i].count);
        }
    }
    return rv;
}

static int
put_errs(struct enc *e, size_t n, const struct proto_err_count *ec)
{
    uint64_t seen[(ERRK_SLOTS + 63) / 64];
    int rv = 0;

    if (n > ERRK_SLOTS || (n > 0 && ec == NULL)) {
        return E_INVAL;
    }
    memset(seen, 0, sizeof(seen));
    rv = packed(e, msgpack_pack_array(&e->pk, 2 * n));
    for (size_t i = 0; i < n && rv == 0; i++) {
        int slot = errk_valid(ec[i].key) ? errk_slot(ec[i].key) : -1;
        if (slot < 0 || ec[i].count == 0 ||
            (seen[slot / 64] >> (slot % 64)) & 1u) {
            rv = E_INVAL;
            break;
        }
        seen[slot / 64] |= (uint64_t)1 << (slot % 64);
        rv = put_uint(e, ec[i].key);
        if (rv == 0) {
            rv = put_uint(e, ec[i].count);
        }
    }
    return rv;
}

static int put_fields(struct enc *e, const struct field *f, size_t nf,
                      const uint8_t *base);

static int
put_value(struct enc *e, const struct field *f, const uint8_t *base)
{
    const uint8_t *p = base + f->off;
    int rv = 0;

    switch (f->kind) {
    case K_U32: {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        rv = put_uint(e, v);
        break;
    }
    case K_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        rv = put_uint(e, v);
        break;
    }
    case K_F64: {
        double v;
        memcpy(&v, p, sizeof(v));
        rv = put_double(e, v);
        break;
    }
    case K_STR: {
        size_t n = strnlen((const char *)p, f->size);
        if (n == f->size) {
            rv = E_INVAL; /* not NUL-terminated within its array */
            break;
        }
        rv = packed(e, msgpack_pack_str(&e->pk, n));
        if (rv == 0) {
            rv = packed(e, msgpack_pack_str_body(&e->pk, p, n));
        }
        break;
    }
    case K_BIN:
        rv = packed(e, msgpack_pack_bin(&e->pk, f->size));
        if (rv == 0) {
            rv = packed(e, msgpack_pack_bin_body(&e->pk, p, f->size));
        }
        break;
    case K_MIX:
        rv = packed(e, msgpack_pack_array(&e->pk, OP_COUNT));
        for (size_t i = 0; i < OP_COUNT && rv == 0; i++) {
            double v;
            memcpy(&v, p + i * sizeof(double), sizeof(v));
            rv = put_double(e, v);
        }
        break;
    case K_TOTALS:
        rv = packed(e, msgpack_pack_array(&e->pk, OP_COUNT));
        for (size_t i = 0; i < OP_COUNT && rv == 0; i++) {
            uint64_t v;
            memcpy(&v, p + i * sizeof(uint64_t), sizeof(v));
            rv = put_uint(e, v);
        }
        break;
    case K_PAYLOAD:
        rv = packed(e, msgpack_pack_map(&e->pk, COUNT(payload_fields)));
        if (rv == 0) {
            rv = put_fields(e, payload_fields, COUNT(payload_fields), p);
        }
        break;
    case K_OPS:
        rv = packed(e, msgpack_pack_array(&e->pk, OP_COUNT));
        for (size_t i = 0; i < OP_COUNT && rv == 0; i++) {
            rv = packed(e, msgpack_pack_map(&e->pk, COUNT(op_fields)));
            if (rv == 0) {
                rv = put_fields(e, op_fields, COUNT(op_fields),
                                p + i * sizeof(struct proto_op_batch));
            }
        }
        break;
    case K_HIST: {
        size_t n;
        const struct hist_bucket *b;
        memcpy(&n, p, sizeof(n));
        memcpy(&b, base + f->off2, sizeof(b));
        rv = put_hist(e, n, b);
        break;
    }
    case K_ERRS: {
        size_t n;
        const struct proto_err_count *ec;
        memcpy(&n, p, sizeof(n));
        memcpy(&ec, base + f->off2, sizeof(ec));
        rv = put_errs(e, n, ec);
        break;
    }
    case K_ARRAY: {
        uint32_t n;
        memcpy(&n, p, sizeof(n));
        if (n > f->max) {
            rv = E_INVAL;
            break;
        }
        rv = packed(e, msgpack_pack_array(&e->pk, n));
        for (uint32_t i = 0; i < n && rv == 0; i++) {
            const uint8_t *el = base + f->off2 + i * f->size;
            rv = packed(
                e, msgpack_pack_map(&e->pk, present(f->sub->f, f->sub->n, el)));
            if (rv == 0) {
                rv = put_fields(e, f->sub->f, f->sub->n,
                                base + f->off2 + i * f->size);
            }
        }
        break;
    }
    default:
        rv = E_INVAL;
        break;
    }
    return rv;
}

/* Writes the key/value pairs of a table (the map header is the caller's). */
static int
put_fields(struct enc *e, const struct field *f, size_t nf, const uint8_t *base)
{
    int rv = 0;

    for (size_t i = 0; i < nf && rv == 0; i++) {
        if (absent(&f[i], base)) {
            continue;
        }
        rv = put_key(e, f[i].key);
        if (rv == 0) {
            rv = put_value(e, &f[i], base);
        }
    }
    return rv;
}

int
proto_encode(const struct proto_msg *m, struct buf *out)
{
    const struct type_desc *td = type_desc(m->type);
    struct enc e;
    size_t nkeys;
    int rv = 0;

    e.out = out;
    e.start = out->len;
    e.err = 0;
    if (td == NULL || (td->check != NULL && !td->check(&m->u))) {
        rv = E_INVAL;
        goto out;
    }
    msgpack_packer_init(&e.pk, &e, write_cb);

    nkeys = 2 + (m->now_ns != 0) + (m->echo_ns != 0);
    nkeys += present(td->fields, td->nfields, (const uint8_t *)&m->u);
    rv = packed(&e, msgpack_pack_map(&e.pk, nkeys));
    if (rv == 0) {
        rv = put_key(&e, "v");
    }
    if (rv == 0) {
        rv = put_uint(&e, PROTO_VERSION);
    }
    if (rv == 0) {
        rv = put_key(&e, "t");
    }
    if (rv == 0) {
        rv = put_uint(&e, m->type);
    }
    if (rv == 0 && m->now_ns != 0) {
        rv = put_key(&e, "ts");
        if (rv == 0) {
            rv = put_uint(&e, m->now_ns);
        }
    }
    if (rv == 0 && m->echo_ns != 0) {
        rv = put_key(&e, "echo");
        if (rv == 0) {
            rv = put_uint(&e, m->echo_ns);
        }
    }
    if (rv == 0) {
        rv = put_fields(&e, td->fields, td->nfields, (const uint8_t *)&m->u);
    }

out:
    if (rv != 0) {
        buf_truncate(out, e.start); /* drop the partial message */
    }
    return rv;
}

/* --- the pre-parse scan ------------------------------------------------ */

/*
 * Why scan before msgpack-c parses: on a container header msgpack-c
 * allocates count * sizeof(msgpack_object) at once, before it has seen a
 * single element, so a 5-byte "array of 2^32 - 1" would ask for ~100 GB.
 * This walk allocates nothing and checks every length and count against the
 * bytes that are left (each element needs at least one byte), so what
 * msgpack-c allocates afterwards is bounded by the message size. It also
 * gives the precise E_TRUNCATED / E_TOOBIG / trailing-bytes answers.
 */

static int
read_be(const uint8_t *p, size_t len, size_t *off, unsigned width, uint64_t *v)
{
    uint64_t x = 0;

    if (len - *off < width) {
        return E_TRUNCATED;
    }
    for (unsigned i = 0; i < width; i++) {
        x = (x << 8) | p[*off + i];
    }
    *off += width;
    *v = x;
    return 0;
}

/* Checks that `claim` more units fit in what is left of the input. */
static int
check_claim(uint64_t claim, size_t len, size_t off)
{
    if (claim > PROTO_MAX_MSG) {
        return E_TOOBIG; /* could not fit in any valid message */
    }
    if (claim > len - off) {
        return E_TRUNCATED;
    }
    return 0;
}

static int
scan(const uint8_t *p, size_t len, size_t *off, int depth)
{
    uint64_t skip = 0;  /* payload bytes after the header */
    uint64_t items = 0; /* nested objects after the header */
    unsigned width = 0; /* bytes of the length field */
    uint8_t b;
    int rv = 0;

    if (*off >= len) {
        return E_TRUNCATED;
    }
    b = p[(*off)++];

    if (b <= 0x7f || b >= 0xe0) {
        return 0; /* positive / negative fixint */
    }
    if (b <= 0x8f) {
        items = 2u * (b & 0x0fu); /* fixmap */
    } else if (b <= 0x9f) {
        items = b & 0x0fu; /* fixarray */
    } else if (b <= 0xbf) {
        skip = b & 0x1fu; /* fixstr */
    } else {
        switch (b) {
        case 0xc0: /* nil */
        case 0xc2: /* false */
        case 0xc3: /* true */
            return 0;
        case 0xc4: /* bin 8/16/32 */
        case 0xc5:
        case 0xc6:
            width = 1u << (b - 0xc4);
            rv = read_be(p, len, off, width, &skip);
            break;
        case 0xc7: /* ext 8/16/32: length, then a type byte */
        case 0xc8:
        case 0xc9:
            width = 1u << (b - 0xc7);
            rv = read_be(p, len, off, width, &skip);
            skip += 1;
            break;
        case 0xca: /* float 32 */
            skip = 4;
            break;
        case 0xcb: /* float 64 */
            skip = 8;
            break;
        case 0xcc: /* uint 8/16/32/64 */
        case 0xcd:
        case 0xce:
        case 0xcf:
            skip = 1u << (b - 0xcc);
            break;
        case 0xd0: /* int 8/16/32/64 */
        case 0xd1:
        case 0xd2:
        case 0xd3:
            skip = 1u << (b - 0xd0);
            break;
        case 0xd4: /* fixext 1/2/4/8/16, plus the type byte */
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            skip = (1u << (b - 0xd4)) + 1u;
            break;
        case 0xd9: /* str 8/16/32 */
        case 0xda:
        case 0xdb:
            width = 1u << (b - 0xd9);
            rv = read_be(p, len, off, width, &skip);
            break;
        case 0xdc: /* array 16/32 */
        case 0xdd:
            width = 2u << (b - 0xdc);
            rv = read_be(p, len, off, width, &items);
            break;
        case 0xde: /* map 16/32 */
        case 0xdf:
            width = 2u << (b - 0xde);
            rv = read_be(p, len, off, width, &items);
            items *= 2;
            break;
        default: /* 0xc1: never used */
            return E_PROTO;
        }
    }
    if (rv != 0) {
        return rv;
    }
    if (b <= 0x9f || b >= 0xdc) { /* a container: level depth + 1 */
        if (depth >= SCAN_MAX_DEPTH) {
            return E_PROTO;
        }
    }
    rv = check_claim(skip + items, len, *off);
    if (rv != 0) {
        return rv;
    }
    *off += (size_t)skip;
    for (uint64_t i = 0; i < items && rv == 0; i++) {
        rv = scan(p, len, off, depth + 1);
    }
    return rv;
}

/* --- decoding ---------------------------------------------------------- */

static bool
key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

static int
get_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return E_PROTO;
    }
    *v = o->via.u64;
    return 0;
}

static int
get_u32(const msgpack_object *o, uint32_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX) {
        return E_PROTO;
    }
    *v = (uint32_t)o->via.u64;
    return 0;
}

static int
get_double(const msgpack_object *o, double *v)
{
    double d;

    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        d = o->via.f64;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        d = (double)o->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        d = (double)o->via.i64;
        break;
    default:
        return E_PROTO;
    }
    if (!isfinite(d)) {
        return E_PROTO;
    }
    *v = d;
    return 0;
}

/* Validates a flat [idx0, c0, gap1, c1, ...] array completely, then
 * allocates and fills; nothing is allocated for invalid input. */
static int
get_hist(const msgpack_object *o, size_t *n_out, struct hist_bucket **out)
{
    const msgpack_object *a;
    struct hist_bucket *b = NULL;
    uint64_t idx = 0;
    size_t n;

    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size % 2 != 0) {
        return E_PROTO;
    }
    n = o->via.array.size / 2;
    if (n > HIST_BUCKETS) {
        return E_TOOBIG;
    }
    a = o->via.array.ptr;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *step = &a[2 * i];
        const msgpack_object *cnt = &a[2 * i + 1];
        if (step->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            cnt->type != MSGPACK_OBJECT_POSITIVE_INTEGER || cnt->via.u64 == 0 ||
            step->via.u64 >= HIST_BUCKETS || (i > 0 && step->via.u64 == 0)) {
            return E_PROTO;
        }
        idx = i == 0 ? step->via.u64 : idx + step->via.u64;
        if (idx >= HIST_BUCKETS) {
            return E_PROTO;
        }
    }
    if (n > 0) {
        b = xcalloc(n, sizeof(*b));
        if (b == NULL) {
            return E_NOMEM;
        }
        idx = 0;
        for (size_t i = 0; i < n; i++) {
            idx += a[2 * i].via.u64;
            b[i].index = (uint32_t)idx;
            b[i].count = a[2 * i + 1].via.u64;
        }
    }
    *n_out = n;
    *out = b;
    return 0;
}

/* Same for the flat [key, count, ...] error array. */
static int
get_errs(const msgpack_object *o, size_t *n_out, struct proto_err_count **out)
{
    uint64_t seen[(ERRK_SLOTS + 63) / 64];
    const msgpack_object *a;
    struct proto_err_count *ec = NULL;
    size_t n;

    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size % 2 != 0) {
        return E_PROTO;
    }
    n = o->via.array.size / 2;
    if (n > ERRK_SLOTS) {
        return E_TOOBIG;
    }
    memset(seen, 0, sizeof(seen));
    a = o->via.array.ptr;
    for (size_t i = 0; i < n; i++) {
        uint32_t key;
        int slot;
        if (get_u32(&a[2 * i], &key) != 0 || !errk_valid(key) ||
            a[2 * i + 1].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            a[2 * i + 1].via.u64 == 0) {
            return E_PROTO;
        }
        slot = errk_slot(key);
        if (slot < 0 || (seen[slot / 64] >> (slot % 64)) & 1u) {
            return E_PROTO; /* duplicate key */
        }
        seen[slot / 64] |= (uint64_t)1 << (slot % 64);
    }
    if (n > 0) {
        ec = xcalloc(n, sizeof(*ec));
        if (ec == NULL) {
            return E_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            ec[i].key = (uint32_t)a[2 * i].via.u64;
            ec[i].count = a[2 * i + 1].via.u64;
        }
    }
    *n_out = n;
    *out = ec;
    return 0;
}

static int get_fields(const msgpack_object *map, const struct field *f,
                      size_t nf, uint8_t *base, bool top);

static int
get_value(const struct field *f, const msgpack_object *o, uint8_t *base)
{
    uint8_t *p = base + f->off;
    int rv = 0;

    switch (f->kind) {
    case K_U32: {
        uint32_t v;
        rv = get_u32(o, &v);
        if (rv == 0) {
            memcpy(p, &v, sizeof(v));
        }
        break;
    }
    case K_U64: {
        uint64_t v;
        rv = get_u64(o, &v);
        if (rv == 0) {
            memcpy(p, &v, sizeof(v));
        }
        break;
    }
    case K_F64: {
        double v;
        rv = get_double(o, &v);
        if (rv == 0) {
            memcpy(p, &v, sizeof(v));
        }
        break;
    }
    case K_STR:
        if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= f->size ||
            (o->via.str.size > 0 &&
             memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)) {
            rv = E_PROTO;
            break;
        }
        memset(p, 0, f->size);
        if (o->via.str.size > 0) {
            memcpy(p, o->via.str.ptr, o->via.str.size);
        }
        break;
    case K_BIN:
        if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != f->size) {
            rv = E_PROTO;
            break;
        }
        memcpy(p, o->via.bin.ptr, f->size);
        break;
    case K_MIX:
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != OP_COUNT) {
            rv = E_PROTO;
            break;
        }
        for (size_t i = 0; i < OP_COUNT && rv == 0; i++) {
            double v;
            rv = get_double(&o->via.array.ptr[i], &v);
            if (rv == 0) {
                memcpy(p + i * sizeof(double), &v, sizeof(v));
            }
        }
        break;
    case K_TOTALS:
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != OP_COUNT) {
            rv = E_PROTO;
            break;
        }
        for (size_t i = 0; i < OP_COUNT && rv == 0; i++) {
            uint64_t v;
            rv = get_u64(&o->via.array.ptr[i], &v);
            if (rv == 0) {
                memcpy(p + i * sizeof(uint64_t), &v, sizeof(v));
            }
        }
        break;
    case K_PAYLOAD:
        rv = get_fields(o, payload_fields, COUNT(payload_fields), p, false);
        break;
    case K_OPS:
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != OP_COUNT) {
            rv = E_PROTO;
            break;
        }
        for (size_t i = 0; i < OP_COUNT && rv == 0; i++) {
            rv = get_fields(&o->via.array.ptr[i], op_fields, COUNT(op_fields),
                            p + i * sizeof(struct proto_op_batch), false);
        }
        break;
    case K_HIST: {
        size_t n = 0;
        struct hist_bucket *b = NULL;
        rv = get_hist(o, &n, &b);
        if (rv == 0) {
            memcpy(p, &n, sizeof(n));
            memcpy(base + f->off2, &b, sizeof(b));
        }
        break;
    }
    case K_ERRS: {
        size_t n = 0;
        struct proto_err_count *ec = NULL;
        rv = get_errs(o, &n, &ec);
        if (rv == 0) {
            memcpy(p, &n, sizeof(n));
            memcpy(base + f->off2, &ec, sizeof(ec));
        }
        break;
    }
    case K_ARRAY: {
        uint32_t n;
        if (o->type != MSGPACK_OBJECT_ARRAY) {
            rv = E_PROTO;
            break;
        }
        if (o->via.array.size > f->max) {
            rv = E_TOOBIG; /* checked before a single element is copied */
            break;
        }
        n = o->via.array.size;
        for (uint32_t i = 0; i < n && rv == 0; i++) {
            rv = get_fields(&o->via.array.ptr[i], f->sub->f, f->sub->n,
                            base + f->off2 + i * f->size, false);
        }
        if (rv == 0) {
            memcpy(p, &n, sizeof(n));
        }
        break;
    }
    default:
        rv = E_PROTO;
        break;
    }
    return rv;
}

/*
 * Fills base from a map with the keys of table f: each key is required and
 * may appear once; keys not in the table are skipped (on the top level,
 * v/t/ts/echo are the caller's). Keys must be strings.
 */
static int
get_fields(const msgpack_object *map, const struct field *f, size_t nf,
           uint8_t *base, bool top)
{
    uint64_t seen = 0;
    uint64_t need;
    int rv = 0;

    if (map->type != MSGPACK_OBJECT_MAP) {
        return E_PROTO;
    }
    need = nf == 64 ? ~(uint64_t)0 : ((uint64_t)1 << nf) - 1;
    for (size_t j = 0; j < nf; j++) {
        if (f[j].opt) {
            need &= ~((uint64_t)1 << j); /* absent: stays 0 */
        }
    }
    for (uint32_t i = 0; i < map->via.map.size && rv == 0; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        size_t j;

        if (kv->key.type != MSGPACK_OBJECT_STR) {
            rv = E_PROTO;
            break;
        }
        if (top && (key_is(&kv->key, "v") || key_is(&kv->key, "t") ||
                    key_is(&kv->key, "ts") || key_is(&kv->key, "echo"))) {
            continue;
        }
        for (j = 0; j < nf; j++) {
            if (key_is(&kv->key, f[j].key)) {
                break;
            }
        }
        if (j == nf) {
            continue; /* unknown key: skipped */
        }
        if ((seen >> j) & 1u) {
            rv = E_PROTO; /* duplicate key */
            break;
        }
        seen |= (uint64_t)1 << j;
        rv = get_value(&f[j], &kv->val, base);
    }
    if (rv == 0 && (seen & need) != need) {
        rv = E_PROTO; /* a required key is missing */
    }
    return rv;
}

/* Finds the envelope keys v, t, ts and echo; env[j] is NULL for an
 * absent one. Returns a bit mask of the keys seen more than once. Types
 * and duplicates are checked by the caller, "v" first, so a future
 * version may change anything but "v". */
static unsigned
find_envelope(const msgpack_object *map, const msgpack_object *env[4])
{
    static const char *const keys[4] = {"v", "t", "ts", "echo"};
    unsigned dup = 0;

    for (unsigned j = 0; j < 4; j++) {
        env[j] = NULL;
    }
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        for (unsigned j = 0; j < 4; j++) {
            if (!key_is(&kv->key, keys[j])) {
                continue;
            }
            if (env[j] != NULL) {
                dup |= 1u << j;
            }
            env[j] = &kv->val;
        }
    }
    return dup;
}

static void
free_batch(struct proto_batch *b)
{
    for (size_t i = 0; i < OP_COUNT; i++) {
        xfree(b->op[i].latency);
        xfree(b->op[i].service);
        xfree(b->op[i].err);
        b->op[i].latency = NULL;
        b->op[i].service = NULL;
        b->op[i].err = NULL;
    }
}

void
proto_msg_fini(struct proto_msg *m)
{
    if (m->type == PROTO_BATCH) {
        free_batch(&m->u.batch);
    }
    memset(m, 0, sizeof(*m));
}

int
proto_decode(const uint8_t *data, size_t len, struct proto_msg *m)
{
    msgpack_unpacked up;
    const struct type_desc *td = NULL;
    const msgpack_object *env[4];
    uint64_t v = 0, ts = 0, echo = 0;
    uint32_t type = 0;
    unsigned dup;
    size_t off = 0;
    uint32_t version_type = 0;
    uint64_t version_seen = 0;
    int rv = 0;

    memset(m, 0, sizeof(*m));
    msgpack_unpacked_init(&up);
    if (len > PROTO_MAX_MSG) {
        rv = E_TOOBIG;
        goto out;
    }
    if (len > 0 && data == NULL) {
        rv = E_INVAL;
        goto out;
    }
    rv = scan(data, len, &off, 0);
    if (rv == 0 && off != len) {
        rv = E_PROTO; /* trailing bytes after the map */
    }
    if (rv != 0) {
        goto out;
    }

    off = 0;
    switch (msgpack_unpack_next(&up, (const char *)data, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_CONTINUE:
        rv = E_TRUNCATED;
        goto out;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        rv = E_NOMEM;
        goto out;
    default:
        rv = E_PROTO;
        goto out;
    }
    if (off != len || up.data.type != MSGPACK_OBJECT_MAP) {
        rv = E_PROTO;
        goto out;
    }

    dup = find_envelope(&up.data, env);
    if ((dup & 1u) != 0 || env[0] == NULL || get_u64(env[0], &v) != 0) {
        rv = E_PROTO;
        goto out;
    }
    if (v != PROTO_VERSION) {
        /* Report the type when it is readable, for the REJECT reply. */
        if (env[1] != NULL && get_u32(env[1], &type) == 0) {
            version_type = type;
        }
        version_seen = v;
        rv = E_PROTO_VERSION;
        goto out;
    }
    if (dup != 0 || env[1] == NULL || get_u32(env[1], &type) != 0 ||
        (td = type_desc(type)) == NULL) {
        rv = E_PROTO; /* missing or unknown type */
        goto out;
    }
    if ((env[2] != NULL && get_u64(env[2], &ts) != 0) ||
        (env[3] != NULL && get_u64(env[3], &echo) != 0)) {
        rv = E_PROTO;
        goto out;
    }
    m->type = type;
    m->now_ns = ts;
    m->echo_ns = echo;
    rv = get_fields(&up.data, td->fields, td->nfields, (uint8_t *)&m->u, true);
    if (rv == 0 && td->check != NULL && !td->check(&m->u)) {
        rv = E_PROTO; /* shapes fine, meaning out of bounds */
    }

out:
    msgpack_unpacked_destroy(&up);
    if (rv != 0) {
        proto_msg_fini(m);
        m->type = version_type;
        m->version = version_seen;
    }
    return rv;
}

/* --- authentication ---------------------------------------------------- */

void
proto_proof(const char *label, const uint8_t *token, size_t token_len,
            const uint8_t n1[PROTO_NONCE_LEN],
            const uint8_t n2[PROTO_NONCE_LEN], uint8_t out[PROTO_MAC_LEN])
{
    uint8_t msg[PROTO_LABEL_MAX + 2 * PROTO_NONCE_LEN];
    size_t n = strlen(label);

    _Static_assert(PROTO_MAC_LEN == SHA256_LEN, "proof is one SHA-256");
    assert(n <= PROTO_LABEL_MAX); /* the labels are this header's constants */
    memcpy(msg, label, n);
    memcpy(msg + n, n1, PROTO_NONCE_LEN);
    memcpy(msg + n + PROTO_NONCE_LEN, n2, PROTO_NONCE_LEN);
    hmac_sha256(token, token_len, msg, n + 2 * PROTO_NONCE_LEN, out);
    explicit_bzero(msg, sizeof(msg));
}
