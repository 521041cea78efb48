/* SPDX-License-Identifier: MIT */
/*
 * The master <-> agent wire messages: a pure codec between msgpack bytes and
 * the structs below. No sockets, threads, clocks or globals: the transport
 * (nng REQ/REP, agent dials, master listens) and the timing live in
 * master/ and agent/. proto/PROTOCOL.md is the normative specification; this
 * header mirrors it.
 *
 * Framing: one nng message = one msgpack map. Every map has "v" (protocol
 * version, PROTO_VERSION) and "t" (a PROTO_* type). Keys are short strings;
 * unknown keys are skipped. Strings are bounded (the struct sizes below); a
 * longer string, a missing required key, a wrong msgpack type, trailing
 * bytes, a count above its bound or a message above PROTO_MAX_MSG is an
 * error, never a crash or an unbounded allocation.
 */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../common/hist.h"
#include "../common/ops.h"

#define PROTO_VERSION   1
#define PROTO_MAX_MSG   (8u * 1024u * 1024u) /* bytes, per message */
#define PROTO_NONCE_LEN 16
#define PROTO_MAC_LEN   32 /* HMAC-SHA-256 */
#define PROTO_NAME_MAX  64
#define PROTO_URL_MAX   256
#define PROTO_TEXT_MAX  256

/* Message types. Explicit and append-only. */
enum proto_type {
    PROTO_HELLO = 1,     /* agent -> master: name, nonce, version */
    PROTO_CHALLENGE = 2, /* master -> agent: nonce, master's proof */
    PROTO_AUTH = 3,      /* agent -> master: agent's proof */
    PROTO_WELCOME = 4,   /* master -> agent: agent id, heartbeat period */
    PROTO_REJECT = 5,    /* master -> agent: why the agent is refused */
    PROTO_HEARTBEAT = 6, /* both ways: liveness, state, clocks */
    PROTO_ASSIGN = 7,    /* master -> agent: the agent's slice of a test */
    PROTO_START = 8,     /* master -> agent: start time (master clock) */
    PROTO_STOP = 9,      /* master -> agent: stop the load now */
    PROTO_BATCH = 10,    /* agent -> master: one interval's metrics */
    PROTO_ACK = 11,      /* master -> agent: batch received (by seq) */
    PROTO_GOODBYE = 12,  /* agent -> master: test done, its own totals */
    PROTO_ADOPT = 13,    /* master -> agent: lost agents' slices to run too */
    PROTO_TYPE_MAX = 13
};

/* Agent states, reported in heartbeats. Explicit and append-only. */
enum proto_agent_state {
    PROTO_ST_IDLE = 0,    /* authenticated, no assignment */
    PROTO_ST_READY = 1,   /* assignment accepted, target checked OK */
    PROTO_ST_RUNNING = 2, /* generating load */
    PROTO_ST_DONE = 3,    /* load finished, batches flushed */
    PROTO_ST_FAILED = 4   /* assignment refused (text says why) */
};

/* HMAC inputs: the proofs are HMAC-SHA-256(token, label || n1 || n2). */
#define PROTO_LABEL_MASTER "kato-stress/1 master"
#define PROTO_LABEL_AGENT  "kato-stress/1 agent"
#define PROTO_LABEL_MAX    64 /* bytes; a longer label is a programming error */

struct proto_hello {
    char name[PROTO_NAME_MAX]; /* agent's name, e.g. "local-1" */
    char host[PROTO_NAME_MAX]; /* hostname */
    uint32_t pid;
    uint32_t threads;               /* worker threads it will run */
    uint8_t nonce[PROTO_NONCE_LEN]; /* agent's challenge to the master */
};

struct proto_challenge {
    uint8_t nonce[PROTO_NONCE_LEN]; /* master's challenge to the agent */
    uint8_t proof[PROTO_MAC_LEN];   /* HMAC(token, MASTER||a_nonce||m_nonce) */
};

struct proto_auth {
    uint8_t proof[PROTO_MAC_LEN]; /* HMAC(token, AGENT||m_nonce||a_nonce) */
};

struct proto_welcome {
    uint32_t agent_id;     /* > 0, unique within the master */
    uint32_t heartbeat_ms; /* how often the agent should call */
};

struct proto_reject {
    char reason[PROTO_TEXT_MAX];
};

struct proto_heartbeat {
    uint32_t agent_id; /* 0 in the master's replies */
    uint32_t state;    /* enum proto_agent_state */
    uint32_t users_active;
    uint32_t in_flight;
    uint64_t acked_seq;        /* highest batch seq acknowledged */
    char text[PROTO_TEXT_MAX]; /* FAILED: why (e.g. target refused) */
    uint32_t adopt_gen;        /* "gen" (optional): the highest ADOPT generation
                                * the agent applied; 0 none */
};

#define PROTO_MAX_STREAMS 4
#define PROTO_MAX_STAGES  32 /* = CONFIG_MAX_STAGES */

/* Stream model, request kind, connection policy. Explicit, append-only. */
enum proto_model { PROTO_MODEL_CLOSED = 0, PROTO_MODEL_OPEN = 1 };
enum proto_requests {
    PROTO_REQ_MIX = 0,           /* the operations mix */
    PROTO_REQ_OBSERVE = 1,       /* observes only */
    PROTO_REQ_LARGE_OBSERVE = 2, /* the pool test's large observe */
    PROTO_REQ_INVALID = 3        /* requests KATO must reject */
};
enum proto_conn { PROTO_CONN_REUSE = 0, PROTO_CONN_FRESH = 1 };

struct proto_stage {
    uint64_t duration_ms;
    double target; /* users (closed) or arrivals/s (open), global */
};

/* One stream of load (docs/tests-design.md section 1). Values are GLOBAL
 * (all agents together); each agent takes its exact share itself from
 * agent_index / n_agents (section 2 of the design). */
struct proto_stream {
    uint32_t model;       /* enum proto_model */
    uint32_t requests;    /* enum proto_requests */
    uint32_t connections; /* enum proto_conn */
    uint32_t pattern;     /* enum config_pattern (common/config.h) */
    uint64_t start_ms;    /* from the run's start */
    uint64_t duration_ms;
    double initial;   /* users or arrivals/s at the low end */
    double peak;      /* users or arrivals/s at the high end */
    uint64_t ramp_ms; /* ramp_up, ramp_down, burst */
    uint64_t spike_interval_ms, spike_duration_ms; /* spike */
    uint64_t wave_period_ms;                       /* wave */
    uint64_t step_ms;                              /* step */
    double step_size;                              /* step */
    uint32_t n_stages;                             /* custom */
    struct proto_stage stages[PROTO_MAX_STAGES];
    double rate_per_user;   /* closed: requests/s per user; 0 unpaced */
    uint32_t think_ms;      /* closed: minimum pause after a response */
    uint32_t max_in_flight; /* open: global connection slots */
    uint64_t group_ms;      /* > 0: per-group figures (bursts) */
    /* Open streams, optional on the wire (absent = 0): burst arrivals
     * instead of the pattern when burst_size > 0: burst_count bursts of
     * burst_size arrivals each, spread evenly over burst_ms (0: all at
     * the burst's start), burst_every_ms apart (agent/pattern.h). */
    uint32_t burst_size;
    uint32_t burst_count;
    uint64_t burst_ms;
    uint64_t burst_every_ms;
};

struct proto_assign {
    char test[PROTO_NAME_MAX];    /* "concurrent", ... */
    char url[PROTO_URL_MAX];      /* target base URL, no trailing / */
    char node_id[PROTO_NAME_MAX]; /* KATO node all users share */
    uint64_t duration_ms;         /* the whole run: the longest stream's end */
    uint32_t timeout_ms;          /* per request */
    uint32_t connect_timeout_ms;
    double mix[OP_COUNT]; /* mix[OP_SESSION] = 0; sums to 1 */
    struct payload_cfg data;
    uint32_t vector_dim;  /* the node's fixed dimension */
    uint64_t seed;        /* run seed; users derive theirs */
    uint32_t agent_index; /* 0 .. n_agents - 1 */
    uint32_t n_agents;    /* agents sharing this test */
    uint32_t n_streams;   /* 1 .. PROTO_MAX_STREAMS */
    struct proto_stream streams[PROTO_MAX_STREAMS];
    /* The memory test (optional on the wire, absent = 0 / ""): the agent
     * that gets mem_interval_ms > 0 samples the target's memory that
     * often from mem_source (enum config_memory_source + 1: 0 = none) and
     * sends each sample in a batch. mem_pid: source pid; mem_path: the
     * cgroup v2 directory (cgroup) or the container's name (docker). */
    uint64_t mem_source;
    uint64_t mem_pid;
    uint64_t mem_interval_ms;
    char mem_path[PROTO_URL_MAX];
    uint32_t large_strings; /* strings per large observe (optional, 0:
                             * the payload's max_strings) */
};

struct proto_start {
    uint64_t start_ns; /* in the master's clock */
};

struct proto_stop {
    char reason[PROTO_TEXT_MAX];
};

/* Slices one ADOPT can carry: each loss a survivor takes part in adds one
 * per slice the lost agent held (PROTOCOL.md 3.14). */
#define PROTO_MAX_SLICES 16

/*
 * A slice of a test's load (PROTOCOL.md 3.14): the share rule applied with
 * (index, count) in place of (aidx, nag): of a global count U,
 * share(U, count, index) users; of the arrivals, those with k mod count =
 * index. Run from from_ms (since the run's start) to the end of the test.
 */
struct proto_slice {
    uint64_t from_ms;
    uint32_t index; /* < count */
    uint32_t count; /* >= 1 */
};

/* Every slice of lost agents this agent must run besides its own, in the
 * order they were given (the list only grows within a test). */
struct proto_adopt {
    uint32_t generation; /* > 0; grows with every change of the list */
    uint32_t n_slices;
    struct proto_slice slices[PROTO_MAX_SLICES];
};

/* Groups one batch can carry (a group spans group_ms >= 1 s, so an
 * interval completes requests of a few groups at most). */
#define PROTO_MAX_GROUPS 16

/* One group's figures within one batch (docs/tests-design.md section 1):
 * group g of stream si holds the requests intended in [start + g *
 * group_ms, start + (g + 1) * group_ms) of the stream (sessions
 * excluded). Times in us from the run's start. */
struct proto_group {
    uint32_t stream;   /* index in the assignment's streams */
    uint32_t group;    /* g */
    uint64_t requests; /* completed (ok + errors) */
    uint64_t errors;   /* of which errors */
    uint64_t e503;     /* errors by class: HTTP 503 */
    uint64_t refused;  /* connect refused (ERRK_CONNECT) */
    uint64_t timeouts; /* ERRK_TIMEOUT */
    uint64_t resets;   /* ERRK_RESET */
    uint64_t first_us; /* earliest intended start */
    uint64_t last_us;  /* latest completion */
};

/*
 * Adds src's figures into dst, both of the same (stream, group): counts
 * added, the earliest first_us and the latest last_us kept. Pure; the one
 * merge of group figures the agent (metrics.c) and the master
 * (aggregate.c) both use. Counts wrap like uint64_t (the master bounds
 * them before it merges).
 */
void proto_group_add(struct proto_group *dst, const struct proto_group *src);

/* One operation's figures for one interval. */
struct proto_op_batch {
    uint64_t requests; /* completed (ok + errors) */
    uint64_t errors;
    uint64_t bytes_sent;
    uint64_t bytes_recv;
    /* Latency from the intended start (coordinated-omission corrected),
     * and service time from the actual send, as histogram buckets. */
    size_t n_latency;
    struct hist_bucket *latency;
    size_t n_service;
    struct hist_bucket *service;
    /* Errors by key (ops.h), each key at most once. */
    size_t n_errors;
    struct proto_err_count {
        uint32_t key;
        uint64_t count;
    } * err;
};

struct proto_batch {
    uint32_t agent_id;
    uint64_t seq;          /* 1, 2, 3, ... per agent and run */
    uint32_t interval;     /* seconds since start (0-based) */
    uint32_t users_active; /* at the end of the interval */
    struct proto_op_batch op[OP_COUNT];
    /* Open streams (optional on the wire, absent = 0): arrivals sent in
     * the interval more than 1 ms after their intended time, the sum of
     * their lateness (us), and arrivals intended before their stream's
     * end that were never sent (no free slot until the end, or STOP). */
    uint64_t late;
    uint64_t late_us;
    uint64_t unsent;
    /* The memory test (optional, absent = 0): a sample of the target's
     * memory taken in this interval, in bytes (0: none), and when, in ms
     * since the run's start (agent clock). */
    uint64_t mem_ms;
    uint64_t mem_bytes;
    /* Optional (absent = 0): the most requests the agent had in flight
     * at once during the interval (each worker's peak, summed), and the
     * per-group figures of streams with group_ms > 0 for the requests
     * that completed in the interval. */
    uint64_t peak_in_flight;
    uint32_t n_groups;
    struct proto_group groups[PROTO_MAX_GROUPS];
    /* Resources (optional, absent = 0; docs/resources.md): res says which
     * of the figures below are present (PROTO_RES_* bits), since 0 is a
     * real value of most of them. */
    uint64_t res;
    uint64_t cpu_centi;        /* AGENT: process CPU, 1/100 % of one core */
    uint64_t host_cpu_centi;   /* AGENT: host CPU, 1/100 % of all cores */
    uint64_t rss_bytes;        /* AGENT: the agent's resident set */
    uint64_t net_rx_bytes;     /* AGENT: bytes received, all interfaces */
    uint64_t net_tx_bytes;     /* AGENT: bytes sent, all interfaces */
    uint64_t open_conns;       /* ENGINE: most connections open at once */
    uint64_t lag_max_us;       /* ENGINE: worst loop lag of any worker */
    uint64_t lag_mean_us;      /* ENGINE: mean loop lag */
    uint64_t target_cpu_centi; /* TCPU: the target's CPU, 1/100 % of a core */
};

/* Bits of proto_batch.res (append-only). */
enum proto_res_bits {
    PROTO_RES_AGENT = 1u,  /* cpu_centi .. net_tx_bytes are a sample */
    PROTO_RES_ENGINE = 2u, /* open_conns, lag_max_us, lag_mean_us */
    PROTO_RES_TCPU = 4u,   /* target_cpu_centi */
};

struct proto_ack {
    uint64_t seq;
};

struct proto_goodbye {
    uint32_t agent_id;
    uint64_t last_seq;           /* seq of its last batch */
    uint64_t requests[OP_COUNT]; /* its own totals, all intervals */
    uint64_t errors[OP_COUNT];
};

struct proto_msg {
    uint32_t type;    /* enum proto_type */
    uint64_t now_ns;  /* "ts": sender's monotonic clock at send; 0 absent */
    uint64_t echo_ns; /* "echo": in a reply, the request's ts */
    uint64_t version; /* set by proto_decode only when it fails with
                       * E_PROTO_VERSION: the version the peer claimed */
    union {
        struct proto_hello hello;
        struct proto_challenge challenge;
        struct proto_auth auth;
        struct proto_welcome welcome;
        struct proto_reject reject;
        struct proto_heartbeat heartbeat;
        struct proto_assign assign;
        struct proto_start start;
        struct proto_stop stop;
        struct proto_batch batch;
        struct proto_ack ack;
        struct proto_goodbye goodbye;
        struct proto_adopt adopt;
    } u;
};

/*
 * Appends the msgpack encoding of m to out. Borrows m (a batch's arrays
 * stay the caller's). Returns 0, E_INVAL (unknown type, invalid or
 * duplicate error key, a zero histogram or error count, unsorted or
 * out-of-range histogram index, a string not terminated within its array,
 * a NaN or infinite double, n > 0 with a NULL array, an ASSIGN whose
 * streams break the bounds of PROTOCOL.md section 3.8), E_TOOBIG (above
 * PROTO_MAX_MSG or out->max) or E_NOMEM. On failure out->len is restored.
 */
int proto_encode(const struct proto_msg *m, struct buf *out);

/*
 * Decodes one message from data[0..len) into *m (fully overwritten).
 * Returns 0; E_TOOBIG (len > PROTO_MAX_MSG or a count above its bound);
 * E_TRUNCATED (input ends early); E_PROTO_VERSION ("v" is not
 * PROTO_VERSION: m->version holds the claimed one and m->type is still set
 * when "t" was readable); E_PROTO (anything else malformed, including
 * nesting deeper than 16 and an ASSIGN that breaks the stream bounds of
 * PROTOCOL.md section 3.8: no stream, an enum out of range, initial < 0,
 * peak < initial, agent_index >= n_agents); E_NOMEM. A length or count that
 * claims more than PROTO_MAX_MSG, more than PROTO_MAX_STREAMS streams or more
 * than PROTO_MAX_STAGES stages also give E_TOOBIG. The map keys are listed in
 * PROTOCOL.md section 3. For a PROTO_BATCH, m owns the
 * arrays it allocated: release them with proto_msg_fini. On failure nothing
 * needs releasing.
 */
int proto_decode(const uint8_t *data, size_t len, struct proto_msg *m);

/* Releases what proto_decode allocated (a batch's arrays) and zeroes m.
 * Call it only on messages that proto_decode filled (or on a zeroed one):
 * arrays a caller set up for proto_encode are the caller's. */
void proto_msg_fini(struct proto_msg *m);

/* Name of a message type ("hello", "batch", ...), "unknown" otherwise. */
const char *proto_type_name(uint32_t type);

/*
 * Computes the master's or agent's proof:
 *   HMAC-SHA-256(token, label || n1 || n2)
 * with the labels above. For the master: n1 = agent nonce, n2 = master
 * nonce; for the agent: n1 = master nonce, n2 = agent nonce.
 */
void proto_proof(const char *label, const uint8_t *token, size_t token_len,
                 const uint8_t n1[PROTO_NONCE_LEN],
                 const uint8_t n2[PROTO_NONCE_LEN], uint8_t out[PROTO_MAC_LEN]);

#endif
