/* SPDX-License-Identifier: MIT */
/*
 * The control thread: the REQ side of proto/PROTOCOL.md's conversation,
 * the preflight health check, the clock-offset estimate, the batch queue
 * and the dead-man switch. See control.h. It never touches HTTP load
 * itself: it drives engine.h and ships what engine_collect hands it.
 */
#include "control.h"

#include <curl/curl.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/rng.h"
#include "../common/sha256.h"
#include "../common/tls.h"
#include "../proto/proto.h"
#include "engine.h"
#include "memsample.h"
#include "metrics.h"
#include "resources.h"

#include "../common/poison.h"

#define CLOCK_SAMPLES     16
#define RECV_TIMEOUT_MS   1000
#define RESEND_MS         1000
#define DEFAULT_HB_MS     200
#define IDLE_SLICE_NS     (20 * CLOCK_NS_PER_MS)
#define RETRY_NS          (1000 * CLOCK_NS_PER_MS)
#define PREFLIGHT_MAX_MS  5000
#define HOSTPORT_MAX      (PROTO_URL_MAX + 8)
#define START_LATE_MAX_NS CLOCK_NS_PER_S
#define REJECT_BACKOFF_NS (200 * CLOCK_NS_PER_MS)
/* A master that refuses a run's BATCH or GOODBYE this many times in a
 * row, each time right after authenticating us again, does not know the
 * run (it was restarted, or has finished the test): the run is dropped. */
#define DATA_REJECT_MAX 3
/*
 * A link that drops without a reset (a pulled cable, a bridge port taken
 * down) leaves the TCP connection open, and TCP's retransmission back-off
 * (0.2, 0.6, 1.4, 3.0 s ...) would only notice the link is back about 3 s
 * after it dropped: the master would declare us lost and our own dead-man
 * switch would stop the load after a 2 s cut. So after REDIAL_AFTER_MS
 * without a reply the agent dials again on a fresh connection, and keeps
 * doing so every REDIAL_EVERY_MS (each attempt is one SYN, refused at once
 * by a live host with no master): the first SYN after the link comes back
 * gets through within REDIAL_EVERY_MS. Past REDIAL_SLOW_AFTER_MS of silence
 * (the master is gone, not a short cut) it slows to RETRY_NS.
 */
#define REDIAL_AFTER_MS      1000
#define REDIAL_EVERY_MS      250
#define REDIAL_SLOW_AFTER_MS 10000

/* One BATCH waiting for its ACK, already encoded. */
struct pending {
    uint64_t seq;
    uint32_t agent_id; /* the id it was encoded with */
    struct buf msg;
};

struct clock_sample {
    uint64_t rtt_ns;
    int64_t offset_ns; /* master clock - local clock */
};

/* A lost agent's slice this agent runs besides its own (PROTOCOL.md
 * 3.14), in an engine of its own. */
struct adopted {
    struct engine *eng; /* NULL: the slice holds nothing to run */
    bool finished;      /* engine_collect said ENGINE_FINISHED */
    uint32_t next_k;    /* the intervals it returned so far */
};

struct control {
    /* options (copies) */
    char url[PROTO_URL_MAX];
    uint8_t *token;
    size_t token_len;
    uint32_t threads;
    char name[PROTO_NAME_MAX];
    char host[PROTO_NAME_MAX];
    size_t n_allow;
    char allow[CONTROL_MAX_ALLOW][HOSTPORT_MAX];

    atomic_bool stop; /* any thread sets; control_run reads */

    /* TLS (tls+tcp:// only) */
    nng_tls_config *tls;
    char tls_ca[PROTO_URL_MAX];
    char tls_name[PROTO_URL_MAX];
    char tls_cert[PROTO_URL_MAX]; /* "" : no client certificate */
    char tls_key[PROTO_URL_MAX];  /* "" : in tls_cert's file */
    uint32_t tls_backoff_ms;      /* next wait after a failed handshake */
    bool tls_logged; /* AGENT-TLS said once since the last success */

    /* transport */
    nng_socket sock;
    nng_dialer dialer;
    bool sock_open;
    bool authed;
    uint32_t agent_id;
    uint32_t hb_ms;
    uint64_t last_reply_ns;
    uint64_t next_hb_ns;
    uint64_t retry_at;     /* no handshake before this instant */
    uint64_t redial_at;    /* next fresh connection while silent */
    bool redialing;        /* silent since REDIAL_AFTER_MS: see above */
    bool redial_slow;      /* silent past REDIAL_SLOW_AFTER_MS */
    uint64_t silent_from;  /* last_reply_ns when the redialling began */
    int wait_ms;           /* the socket's send/recv timeouts now */
    uint32_t redials;      /* fresh connections in this silence */
    bool probe;            /* send a HEARTBEAT before any run data */
    uint32_t data_rejects; /* REJECTs of BATCH/GOODBYE in a row */
    struct buf enc;
    struct clock_sample samples[CLOCK_SAMPLES];
    size_t n_samples;
    size_t next_sample;

    /* the agent's state machine */
    uint32_t state; /* enum proto_agent_state */
    char text[PROTO_TEXT_MAX];
    struct proto_assign assign; /* the accepted one (READY/RUNNING) */
    struct engine *eng;
    bool eng_finished; /* every engine finished, every interval queued */
    bool main_finished;
    uint32_t main_next_k; /* the intervals c->eng returned so far */
    uint32_t batch_k;     /* the next interval to queue as a BATCH */
    bool stopping;        /* STOP received: no new slice is started */
    uint32_t adopt_gen;   /* the last ADOPT generation applied */
    uint32_t n_adopted;   /* slices of the master's list taken */
    struct adopted adopted[PROTO_MAX_SLICES];
    bool deadman_fired;
    struct metrics *agg;
    struct metrics_export *exp;
    uint64_t seq;                /* last BATCH seq queued */
    uint64_t acked_seq;          /* highest acknowledged */
    struct pending *q;           /* FIFO of unacknowledged batches */
    size_t q_head, q_len, q_cap; /* q_cap <= max_unacked */
    size_t max_unacked;          /* CONTROL_MAX_UNACKED, or the test hook's */
    /* An interval that found the queue full: its counts stay in agg (the
     * next intervals add to them) until a slot frees; see queue_batch. */
    bool held;
    uint32_t held_k;     /* the last interval added to the held counts */
    uint32_t held_first; /* the first one */
    uint64_t tot_req[OP_COUNT];
    uint64_t tot_err[OP_COUNT];

    /* the memory test's sampler (assign.mem_interval_ms > 0) */
    uint64_t run_start_ns; /* local clock */
    uint64_t mem_next_ms;  /* next sample due, ms since the start */
    int mem_src;           /* resolved enum config_memory_source */
    uint32_t mem_fails;    /* readings failed in a row (logged once) */
    bool mem_cpu_prev;     /* a previous sample had the target's CPU */
    uint64_t mem_cpu_us;   /* its CPU time, us */
    uint64_t mem_cpu_ms;   /* and when, ms since the start */
    struct resources res;  /* the agent's own CPU, RSS, network */
    bool res_failed;       /* a /proc reading failed (logged once) */

    /* preflight (GET {url}/health), driven from the idle waits */
    CURLM *pm;
    CURL *pe;
    bool pf_active;
    struct proto_assign pf_assign;
    char pf_url[PROTO_URL_MAX + 16];
};

/* --- small helpers ------------------------------------------------------ */

/* snprintf into a fixed text field where cutting a long URL short is the
 * intended behaviour (the wire's text is bounded). */
static void say(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

static int
nng_to_err(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case NNG_ENOMEM:
        return E_NOMEM;
    case NNG_ETIMEDOUT:
        return E_TIMEOUT;
    case NNG_EADDRINVAL:
    case NNG_EINVAL:
    case NNG_ENOTSUP:
        return E_INVAL;
    case NNG_ECLOSED:
        return E_CLOSED;
    default:
        return E_NET;
    }
}

static const char *
state_name(uint32_t s)
{
    static const char *const names[] = {"idle", "ready", "running", "done",
                                        "failed"};
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static void
set_state(struct control *c, uint32_t s, const char *text)
{
    if (c->state != s) {
        log_info("AGENT-STATE", "from=%s to=%s%s%s", state_name(c->state),
                 state_name(s), text && text[0] ? " text=" : "",
                 text ? text : "");
    }
    c->state = s;
    (void)snprintf(c->text, sizeof(c->text), "%s", text ? text : "");
}

static void
add_sample(struct control *c, uint64_t t_send, uint64_t t_recv,
           uint64_t master_ts)
{
    struct clock_sample *s = &c->samples[c->next_sample];
    s->rtt_ns = t_recv - t_send;
    s->offset_ns = (int64_t)master_ts - (int64_t)(t_send / 2 + t_recv / 2);
    c->next_sample = (c->next_sample + 1) % CLOCK_SAMPLES;
    if (c->n_samples < CLOCK_SAMPLES) {
        c->n_samples++;
    }
}

/* The offset of the sample with the smallest round trip (0 if none). */
static int64_t
best_offset(const struct control *c, uint64_t *rtt)
{
    int64_t off = 0;
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < c->n_samples; i++) {
        if (c->samples[i].rtt_ns < best) {
            best = c->samples[i].rtt_ns;
            off = c->samples[i].offset_ns;
        }
    }
    *rtt = best == UINT64_MAX ? 0 : best;
    return off;
}

/* --- socket --------------------------------------------------------------- */

static void
close_socket(struct control *c)
{
    if (c->sock_open) {
        (void)nng_close(c->sock);
        c->sock_open = false;
    }
    c->authed = false;
}

/* The socket's timeouts: short while redialling (see redial). */
static int
recv_ms(const struct control *c)
{
    return c->redialing && !c->redial_slow ? REDIAL_EVERY_MS : RECV_TIMEOUT_MS;
}

/* Sets the socket's send and receive timeouts (when they change). */
static void
set_wait(struct control *c, int ms)
{
    if (c->sock_open && ms != c->wait_ms &&
        nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, ms) == 0 &&
        nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, ms) == 0) {
        c->wait_ms = ms;
    }
}

/*
 * The wait for the next reply. While a run's load is on, it never outlasts
 * the dead-man switch's due time, so that service() stops the load on time
 * (CONTROL_DEADMAN_MS) rather than up to one wait late.
 */
static int
wait_for(const struct control *c, uint64_t now)
{
    int ms = recv_ms(c);
    uint64_t due = c->last_reply_ns + CONTROL_DEADMAN_MS * CLOCK_NS_PER_MS;

    if (c->eng != NULL && c->state == PROTO_ST_RUNNING && !c->eng_finished &&
        !c->deadman_fired && c->last_reply_ns != 0) {
        uint64_t left = due > now ? (due - now) / CLOCK_NS_PER_MS : 0;
        if (left < (uint64_t)ms) {
            ms = left < 10 ? 10 : (int)left;
        }
    }
    return ms;
}

static int
open_socket(struct control *c)
{
    int rv;

    rv = nng_req0_open(&c->sock);
    if (rv != 0) {
        log_error("AGENT-NNG", "req0_open: %s", nng_strerror(rv));
        return nng_to_err(rv);
    }
    c->sock_open = true;
    if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MSG)) !=
            0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, RESEND_MS)) !=
            0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, recv_ms(c))) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, recv_ms(c))) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
        (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000)) != 0) {
        log_error("AGENT-NNG", "socket options: %s", nng_strerror(rv));
        close_socket(c);
        return nng_to_err(rv);
    }
    c->wait_ms = recv_ms(c);
    if ((rv = nng_dialer_create(&c->dialer, c->sock, c->url)) != 0 ||
        (c->tls != NULL && (rv = nng_dialer_set_ptr(
                                c->dialer, NNG_OPT_TLS_CONFIG, c->tls)) != 0) ||
        (rv = nng_dialer_start(c->dialer, NNG_FLAG_NONBLOCK)) != 0) {
        log_error("AGENT-NNG", "dial url=%s: %s", c->url, nng_strerror(rv));
        close_socket(c);
        return nng_to_err(rv);
    }
    if (c->redialing) {
        log_debug("AGENT-DIAL", "master=%s redial=%u", c->url, c->redials);
    } else {
        /* Quiet while a master that fails TLS is re-dialled. */
        log_msg(c->tls_logged ? LOG_DEBUG : LOG_INFO, "AGENT-DIAL", "master=%s",
                c->url);
    }
    return 0;
}

/*
 * The silent-link rule (REDIAL_AFTER_MS above): drops the connection and
 * dials a fresh one. The handshake then runs on it with REDIAL_EVERY_MS
 * timeouts, so that the next fresh connection is not far behind when this
 * one goes nowhere either. Undelivered batches stay queued and are sent
 * again after the new handshake (and the HEARTBEAT it requires).
 */
static void
redial(struct control *c, uint64_t now)
{
    uint64_t silent_ms = (now - c->last_reply_ns) / CLOCK_NS_PER_MS;

    if (!c->redialing) {
        c->silent_from = c->last_reply_ns;
        log_warn("AGENT-REDIAL",
                 "no reply for %llu ms: dialling the master again on a "
                 "new connection every %u ms; unacknowledged batches=%zu",
                 (unsigned long long)silent_ms, REDIAL_EVERY_MS, c->q_len);
        c->redials = 0;
    }
    c->redialing = true;
    c->redial_slow = silent_ms >= REDIAL_SLOW_AFTER_MS;
    c->redials++;
    close_socket(c);
    c->retry_at = now;
    c->redial_at =
        now + (c->redial_slow ? RETRY_NS : REDIAL_EVERY_MS * CLOCK_NS_PER_MS);
}

/*
 * Sends one request and waits (at most RECV_TIMEOUT_MS, less while
 * redialling or when the dead-man switch is due sooner) for its reply.
 * m is encoded with ts = now unless pre (already encoded) is given.
 * Returns 0 with *rep decoded (release with proto_msg_fini), E_TIMEOUT,
 * E_PROTO (undecodable reply, logged) or E_NET/E_NOMEM.
 */
static int
exchange(struct control *c, struct proto_msg *m, const struct buf *pre,
         struct proto_msg *rep)
{
    nng_msg *msg = NULL, *r = NULL;
    const struct buf *out = pre;
    uint64_t t_send, t_recv;
    int rv;

    if (!c->sock_open && (rv = open_socket(c)) != 0) {
        return rv;
    }
    t_send = clock_now_ns();
    set_wait(c, wait_for(c, t_send));
    if (pre == NULL) {
        m->now_ns = t_send;
        buf_reset(&c->enc);
        if ((rv = proto_encode(m, &c->enc)) != 0) {
            log_error("AGENT-PROTO", "encode %s: %s", proto_type_name(m->type),
                      err_str(rv));
            return rv;
        }
        out = &c->enc;
    }
    if ((rv = nng_msg_alloc(&msg, 0)) != 0 ||
        (rv = nng_msg_append(msg, out->data, out->len)) != 0) {
        nng_msg_free(msg);
        return nng_to_err(rv);
    }
    if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
        nng_msg_free(msg); /* still ours when the send failed */
        log_debug("AGENT-SEND", "%s: %s", proto_type_name(m->type),
                  nng_strerror(rv));
        return nng_to_err(rv);
    }
    rv = nng_recvmsg(c->sock, &r, 0);
    if (rv != 0) {
        log_debug("AGENT-RECV", "%s: %s", proto_type_name(m->type),
                  nng_strerror(rv));
        return nng_to_err(rv);
    }
    t_recv = clock_now_ns();
    rv = proto_decode(nng_msg_body(r), nng_msg_len(r), rep);
    nng_msg_free(r);
    if (rv != 0) {
        log_warn("AGENT-PROTO", "undecodable reply to %s: %s",
                 proto_type_name(m->type), err_str(rv));
        return E_PROTO;
    }
    c->last_reply_ns = t_recv;
    if (pre == NULL && rep->echo_ns == t_send && rep->now_ns != 0) {
        add_sample(c, t_send, t_recv, rep->now_ns);
    }
    return 0;
}

/*
 * After a handshake that got no answer: did the connections fail in their
 * TLS or nng handshake (nng re-dials on its own and says so only in its
 * statistics)? Then says why, once until the next success. On tls+tcp://
 * it also closes the socket and dials again after a back-off that
 * doubles, so a master that cannot be trusted is not re-dialled several
 * times a second.
 */
static void
check_dial(struct control *c)
{
    uint64_t fails = 0;

    if (!c->sock_open || tls_dialer_failures(c->dialer, &fails) != 0 ||
        fails == 0) {
        return;
    }
    if (c->tls == NULL) {
        /* A tcp:// agent whose connections die in nng's handshake: most
         * likely a master on tls+tcp://. Said once; nng keeps dialling. */
        if (!c->tls_logged) {
            log_error("AGENT-CONNECT",
                      "master=%s: connections are dropped before nng's "
                      "handshake completes (%llu tries): if the master "
                      "listens on tls+tcp://, dial tls+tcp:// with --tls-ca",
                      c->url, (unsigned long long)fails);
            c->tls_logged = true;
        }
        return;
    }
    if (!c->tls_logged) {
        char why[TLS_ERR_SPACE];
        /* The diagnosis blocks for up to ~2 s: not while load runs, where
         * the dead-man switch must stay on time. */
        if (c->state == PROTO_ST_RUNNING) {
            (void)snprintf(why, sizeof(why), "not diagnosed while running");
        } else {
            (void)tls_diagnose(c->url, c->tls_ca, c->tls_name,
                               c->tls_cert[0] != '\0' ? c->tls_cert : NULL,
                               c->tls_key[0] != '\0' ? c->tls_key : NULL,
                               CONTROL_TLS_DIAG_MS, why, sizeof(why));
        }
        log_error("AGENT-TLS",
                  "master=%s server_name=%s ca=%s tries=%llu: TLS handshake "
                  "failed: %s%s; dialling again with a back-off up to %d s",
                  c->url, c->tls_name, c->tls_ca, (unsigned long long)fails,
                  why,
                  tls_host_is_ip(c->tls_name) && strstr(why, "CN") != NULL
                      ? " (mbedTLS matches DNS names and CN only, never IP "
                        "addresses: give --tls-server-name)"
                      : "",
                  CONTROL_TLS_BACKOFF_MAX_MS / 1000);
        c->tls_logged = true;
    } else {
        log_debug("AGENT-TLS", "master=%s: TLS handshake failed again (%llu)",
                  c->url, (unsigned long long)fails);
    }
    close_socket(c);
    c->retry_at =
        clock_now_ns() + (uint64_t)c->tls_backoff_ms * CLOCK_NS_PER_MS;
    c->tls_backoff_ms = c->tls_backoff_ms * 2 > CONTROL_TLS_BACKOFF_MAX_MS
                            ? CONTROL_TLS_BACKOFF_MAX_MS
                            : c->tls_backoff_ms * 2;
}

/* --- handshake ------------------------------------------------------------ */

static int
handshake(struct control *c)
{
    struct proto_msg m, rep;
    uint8_t nonce_a[PROTO_NONCE_LEN], nonce_m[PROTO_NONCE_LEN];
    uint8_t proof[PROTO_MAC_LEN];
    int rv;

    memset(&m, 0, sizeof(m));
    memset(&rep, 0, sizeof(rep));
    /* A new handshake may be with another master (a restarted one, on
     * another host): offsets measured against the old one are void. */
    c->n_samples = 0;
    c->next_sample = 0;
    if ((rv = rng_secure_bytes(nonce_a, sizeof(nonce_a))) != 0) {
        log_error("AGENT-RNG", "no random nonce: %s", err_str(rv));
        return rv;
    }
    m.type = PROTO_HELLO;
    (void)snprintf(m.u.hello.name, sizeof(m.u.hello.name), "%s", c->name);
    (void)snprintf(m.u.hello.host, sizeof(m.u.hello.host), "%s", c->host);
    m.u.hello.pid = (uint32_t)getpid();
    m.u.hello.threads = c->threads;
    memcpy(m.u.hello.nonce, nonce_a, sizeof(nonce_a));
    if ((rv = exchange(c, &m, NULL, &rep)) != 0) {
        return rv;
    }
    if (rep.type == PROTO_REJECT) {
        log_error("AGENT-REJECTED", "stage=hello reason=\"%s\"",
                  rep.u.reject.reason);
        proto_msg_fini(&rep);
        return E_AUTH;
    }
    if (rep.type != PROTO_CHALLENGE) {
        log_warn("AGENT-PROTO", "hello answered with %s",
                 proto_type_name(rep.type));
        proto_msg_fini(&rep);
        return E_PROTO;
    }
    memcpy(nonce_m, rep.u.challenge.nonce, sizeof(nonce_m));
    proto_proof(PROTO_LABEL_MASTER, c->token, c->token_len, nonce_a, nonce_m,
                proof);
    if (!sha256_equal(proof, rep.u.challenge.proof, PROTO_MAC_LEN)) {
        /* Not our master (or not our token): hang up, dial again later. */
        log_error("AUTH-MASTER",
                  "master=%s proof does not match the token; "
                  "hanging up",
                  c->url);
        proto_msg_fini(&rep);
        close_socket(c);
        return E_AUTH;
    }
    proto_msg_fini(&rep);

    memset(&m, 0, sizeof(m));
    m.type = PROTO_AUTH;
    proto_proof(PROTO_LABEL_AGENT, c->token, c->token_len, nonce_m, nonce_a,
                m.u.auth.proof);
    if ((rv = exchange(c, &m, NULL, &rep)) != 0) {
        return rv;
    }
    if (rep.type == PROTO_REJECT) {
        log_error("AGENT-REJECTED", "stage=auth reason=\"%s\"",
                  rep.u.reject.reason);
        proto_msg_fini(&rep);
        return E_AUTH;
    }
    if (rep.type != PROTO_WELCOME || rep.u.welcome.agent_id == 0) {
        log_warn("AGENT-PROTO", "auth answered with %s",
                 proto_type_name(rep.type));
        proto_msg_fini(&rep);
        return E_PROTO;
    }
    c->agent_id = rep.u.welcome.agent_id;
    c->hb_ms =
        rep.u.welcome.heartbeat_ms ? rep.u.welcome.heartbeat_ms : DEFAULT_HB_MS;
    if (c->hb_ms > 1000) {
        c->hb_ms = 1000; /* the dead-man switch needs replies within 3 s */
    }
    c->authed = true;
    c->next_hb_ns = 0;
    if (c->redialing) {
        log_info("AGENT-RECONNECTED",
                 "after %llu ms without a reply, %u new connections; "
                 "unacknowledged batches=%zu (sent again)",
                 (unsigned long long)((clock_now_ns() - c->silent_from) /
                                      CLOCK_NS_PER_MS),
                 c->redials, c->q_len);
        c->redialing = false;
        set_wait(c, RECV_TIMEOUT_MS);
    }
    /* Holding a run's data, ask first: the master's answer to a RUNNING
     * heartbeat shows whether it still knows the run (see on_assign). */
    c->probe = c->state == PROTO_ST_RUNNING;
    log_info("AGENT-WELCOME", "agent_id=%u heartbeat_ms=%u", c->agent_id,
             c->hb_ms);
    proto_msg_fini(&rep);
    return 0;
}

/* --- preflight --------------------------------------------------------------
 */

static size_t
discard(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    (void)ud;
    return size * nmemb;
}

/* Is the assignment's host:port in --allow-target? */
static bool
target_allowed(struct control *c, const char *url, char *hp, size_t hplen)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    bool ok = false;

    hp[0] = '\0';
    if (u == NULL) {
        return false;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
            CURLUE_OK) {
        (void)snprintf(hp, hplen, "%s", url);
        goto out;
    }
    (void)snprintf(hp, hplen, "%s:%s", host, port);
    if (c->n_allow == 0) {
        ok = true;
    }
    for (size_t i = 0; i < c->n_allow && !ok; i++) {
        ok = strcasecmp(c->allow[i], hp) == 0;
    }
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

static void
preflight_start(struct control *c, const struct proto_assign *a)
{
    long cto =
        a->connect_timeout_ms ? (long)a->connect_timeout_ms : PREFLIGHT_MAX_MS;
    CURLcode rc = CURLE_OK;
    CURLMcode mc;
    char text[PROTO_TEXT_MAX];

    if (cto > PREFLIGHT_MAX_MS) {
        cto = PREFLIGHT_MAX_MS;
    }
    c->pf_assign = *a;
    (void)snprintf(c->pf_url, sizeof(c->pf_url), "%s/health", a->url);
#define SET(opt, val)                                   \
    do {                                                \
        if (rc == CURLE_OK) {                           \
            rc = curl_easy_setopt(c->pe, (opt), (val)); \
        }                                               \
    } while (0)
    SET(CURLOPT_URL, c->pf_url);
    SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_CONNECTTIMEOUT_MS, cto);
    SET(CURLOPT_TIMEOUT_MS, (long)PREFLIGHT_MAX_MS);
    SET(CURLOPT_WRITEFUNCTION, discard);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#undef SET
    if (rc != CURLE_OK) {
        say(text, sizeof(text), "target %s unusable: %s", c->pf_url,
            curl_easy_strerror(rc));
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    mc = curl_multi_add_handle(c->pm, c->pe);
    if (mc != CURLM_OK) {
        say(text, sizeof(text), "preflight: %s", curl_multi_strerror(mc));
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    c->pf_active = true;
    log_info("AGENT-PREFLIGHT", "url=%s", c->pf_url);
}

static void
preflight_done(struct control *c, CURLcode res)
{
    char text[PROTO_TEXT_MAX], err[PROTO_TEXT_MAX];
    long status = 0;
    int rv;

    (void)curl_multi_remove_handle(c->pm, c->pe);
    c->pf_active = false;
    if (res != CURLE_OK) {
        say(text, sizeof(text), "target %s unreachable: %s", c->pf_url,
            curl_easy_strerror(res));
        log_error("AGENT-PREFLIGHT", "%s", text);
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    (void)curl_easy_getinfo(c->pe, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        say(text, sizeof(text), "target %s answered HTTP %ld", c->pf_url,
            status);
        log_error("AGENT-PREFLIGHT", "%s", text);
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    err[0] = '\0';
    rv = engine_new(&c->eng, &c->pf_assign, c->threads, err, sizeof(err));
    if (rv != 0) {
        say(text, sizeof(text), "cannot run assignment: %s",
            err[0] ? err : err_str(rv));
        log_error("AGENT-ASSIGN", "%s", text);
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    c->assign = c->pf_assign;
    set_state(c, PROTO_ST_READY, NULL);
}

/* Advances the preflight, waiting at most wait_ms for it. */
static void
preflight_poll(struct control *c, int wait_ms)
{
    CURLMsg *msg;
    int running = 0, left = 0;

    if (curl_multi_poll(c->pm, NULL, 0, wait_ms, NULL) != CURLM_OK ||
        curl_multi_perform(c->pm, &running) != CURLM_OK) {
        preflight_done(c, CURLE_FAILED_INIT);
        return;
    }
    while ((msg = curl_multi_info_read(c->pm, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            preflight_done(c, msg->data.result);
            return;
        }
    }
}

/* --- commands ---------------------------------------------------------------
 */

static bool
same_assign(const struct proto_assign *a, const struct proto_assign *b)
{
    return a->seed == b->seed && a->agent_index == b->agent_index &&
           a->n_agents == b->n_agents && a->n_streams == b->n_streams &&
           a->duration_ms == b->duration_ms && strcmp(a->test, b->test) == 0 &&
           strcmp(a->url, b->url) == 0;
}

/* engine_stop on every engine of the run. */
static void
stop_engines(struct control *c, enum engine_stop how)
{
    if (c->eng != NULL) {
        engine_stop(c->eng, how);
    }
    for (uint32_t i = 0; i < c->n_adopted; i++) {
        if (c->adopted[i].eng != NULL) {
            engine_stop(c->adopted[i].eng, how);
        }
    }
}

/* Users active and requests in flight, over every engine of the run. */
static void
engines_now(const struct control *c, uint32_t *users, uint32_t *in_flight)
{
    *users = c->eng != NULL ? engine_users_active(c->eng) : 0;
    *in_flight = c->eng != NULL ? engine_in_flight(c->eng) : 0;
    for (uint32_t i = 0; i < c->n_adopted; i++) {
        if (c->adopted[i].eng != NULL) {
            *users += engine_users_active(c->adopted[i].eng);
            *in_flight += engine_in_flight(c->adopted[i].eng);
        }
    }
}

/* Forgets the adopted slices (their engines freed) and the run's
 * collection state. */
static void
reset_run_engines(struct control *c)
{
    for (uint32_t i = 0; i < c->n_adopted; i++) {
        engine_free(c->adopted[i].eng);
    }
    memset(c->adopted, 0, sizeof(c->adopted));
    c->n_adopted = 0;
    c->adopt_gen = 0;
    c->eng_finished = false;
    c->main_finished = false;
    c->main_next_k = 0;
    c->batch_k = 0;
    c->stopping = false;
}

static void
drop_engine(struct control *c)
{
    reset_run_engines(c);
    engine_free(c->eng);
    c->eng = NULL;
}

static void
clear_queue(struct control *c)
{
    for (size_t i = 0; i < c->q_len; i++) {
        buf_fini(&c->q[(c->q_head + i) % c->q_cap].msg);
    }
    c->q_head = 0;
    c->q_len = 0;
    c->held = false; /* the held counts go with metrics_reset(agg) */
}

/*
 * Gives up the current run: aborts the load, drops the batches the master
 * never acknowledged and goes back to IDLE, so that the master we talk to
 * now can use this agent. Only for a master that does not know the run;
 * the loss is logged with its size, never silent.
 */
static void
abandon_run(struct control *c, const char *why)
{
    uint64_t req = 0;

    for (int op = 0; op < OP_COUNT; op++) {
        req += c->tot_req[op];
    }
    log_error("RUN-ABANDONED",
              "why=\"%s\" undelivered_batches=%zu last_acked_seq=%llu "
              "run_requests=%llu",
              why, c->q_len, (unsigned long long)c->acked_seq,
              (unsigned long long)req);
    stop_engines(c, ENGINE_STOP_ABORT);
    drop_engine(c);
    clear_queue(c);
    c->probe = false;
    c->data_rejects = 0;
    set_state(c, PROTO_ST_IDLE, NULL);
}

/* "[a, b, ...]": the --allow-target list, cut short to fit out. */
static void
allow_list(const struct control *c, char *out, size_t n)
{
    size_t len = 0;

    (void)snprintf(out, n, "[");
    for (size_t i = 0; i < c->n_allow; i++) {
        len = strlen(out);
        (void)snprintf(out + len, n - len, "%s%s", i ? ", " : "", c->allow[i]);
    }
    len = strlen(out);
    (void)snprintf(out + len, n - len, "]");
}

static void
on_assign(struct control *c, const struct proto_assign *a)
{
    char hp[HOSTPORT_MAX], text[PROTO_TEXT_MAX], err[PROTO_TEXT_MAX];
    char list[PROTO_TEXT_MAX];

    if (c->state == PROTO_ST_RUNNING) {
        if (same_assign(a, &c->assign)) {
            log_debug("AGENT-ASSIGN", "ignored while running");
            return;
        }
        /* The master retires ASSIGN once we report READY and never sends
         * one during its run: a different assignment now means it is not
         * the master of our run (it was restarted) or it has moved on. */
        abandon_run(c, "master assigned a new test while running");
    }
    if (c->state == PROTO_ST_READY && same_assign(a, &c->assign)) {
        return; /* repeated: no-op */
    }
    if (c->pf_active) {
        if (same_assign(a, &c->pf_assign)) {
            return; /* the check is under way */
        }
        (void)curl_multi_remove_handle(c->pm, c->pe);
        c->pf_active = false;
    }
    drop_engine(c);
    log_info("AGENT-ASSIGN",
             "test=%s url=%s agent_index=%u n_agents=%u streams=%u "
             "duration_ms=%llu",
             a->test, a->url, a->agent_index, a->n_agents, a->n_streams,
             (unsigned long long)a->duration_ms);
    set_state(c, PROTO_ST_IDLE, NULL);
    /* What this agent cannot run is refused before the health check, in
     * the engine's own words. */
    if (engine_check(a, err, sizeof(err)) != 0) {
        say(text, sizeof(text), "%s", err);
        log_error("AGENT-ASSIGN", "%s", text);
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    if (!target_allowed(c, a->url, hp, sizeof(hp))) {
        /* The log names the whole URL and the list; the text that goes
         * to the master (bounded by the wire) names host:port and the
         * list, and says "--allow-target" so the master reports a refusal
         * rather than an unreachable target. */
        allow_list(c, list, sizeof(list));
        log_error("AGENT-TARGET-REFUSED",
                  "url=%s target=%s is not in --allow-target %s: "
                  "assignment refused",
                  a->url, hp, list);
        say(text, sizeof(text), "target %s is not in --allow-target %s", hp,
            list);
        set_state(c, PROTO_ST_FAILED, text);
        return;
    }
    preflight_start(c, a);
}

static void
on_start(struct control *c, const struct proto_start *s)
{
    uint64_t now = clock_now_ns(), rtt = 0, local;
    int64_t off = best_offset(c, &rtt);
    int rv;

    if (c->state == PROTO_ST_RUNNING || c->state == PROTO_ST_DONE) {
        return; /* repeated: no-op */
    }
    if (c->state != PROTO_ST_READY || c->eng == NULL) {
        log_warn("AGENT-START", "ignored in state %s", state_name(c->state));
        return;
    }
    local = (uint64_t)((int64_t)s->start_ns - off);
    if (local + START_LATE_MAX_NS < now) {
        log_warn("START-LATE", "late_ms=%llu; starting now",
                 (unsigned long long)((now - local) / CLOCK_NS_PER_MS));
        local = now;
    }
    clear_queue(c);
    c->seq = 0;
    c->acked_seq = 0;
    memset(c->tot_req, 0, sizeof(c->tot_req));
    memset(c->tot_err, 0, sizeof(c->tot_err));
    c->deadman_fired = false;
    reset_run_engines(c);
    c->run_start_ns = local;
    c->mem_next_ms = 0;
    c->mem_fails = 0;
    c->mem_cpu_prev = false;
    resources_init(&c->res, now);
    c->res_failed = false;
    c->mem_src = c->assign.mem_source > 0
                     ? memsample_resolve((int)c->assign.mem_source - 1,
                                         c->assign.mem_path)
                     : -1;
    metrics_reset(c->agg);
    rv = engine_start(c->eng, local);
    if (rv != 0) {
        log_error("AGENT-START", "engine: %s", err_str(rv));
    }
    c->last_reply_ns = now;
    log_info("AGENT-START", "in_ms=%lld offset_us=%lld rtt_us=%llu",
             (long long)((int64_t)local - (int64_t)now) /
                 (long long)CLOCK_NS_PER_MS,
             (long long)(off / 1000), (unsigned long long)(rtt / 1000));
    set_state(c, PROTO_ST_RUNNING, NULL);
}

static void
on_stop(struct control *c, const struct proto_stop *s)
{
    if (c->state != PROTO_ST_RUNNING || c->eng == NULL || c->eng_finished) {
        return;
    }
    log_info("AGENT-STOP", "reason=\"%s\"", s->reason);
    c->stopping = true;
    stop_engines(c, ENGINE_STOP_DRAIN);
}

/*
 * ADOPT: starts an engine for every slice of the list not taken yet
 * (the list only grows within a run), from the run's start instant with
 * nothing before the slice's from_ms, and records the generation so the
 * heartbeats tell the master it took effect. A slice that holds nothing
 * to run, or arrives after a STOP or the end of the load, is recorded as
 * taken without an engine (logged).
 */
static void
on_adopt(struct control *c, const struct proto_adopt *a)
{
    char err[PROTO_TEXT_MAX];

    if (c->state != PROTO_ST_RUNNING || c->eng == NULL ||
        a->generation <= c->adopt_gen) {
        return; /* not running, or repeated: no-op */
    }
    for (uint32_t i = c->n_adopted; i < a->n_slices && i < PROTO_MAX_SLICES;
         i++) {
        const struct proto_slice *sl = &a->slices[i];
        struct adopted *ad = &c->adopted[i];
        struct proto_assign as = c->assign;
        int rv = 0;

        memset(ad, 0, sizeof(*ad));
        ad->finished = true;
        ad->next_k = c->batch_k;
        c->n_adopted++;
        if (c->stopping || c->eng_finished || c->deadman_fired) {
            log_warn("AGENT-ADOPT", "slice=%u/%u not run: the load is over",
                     (unsigned)sl->index, (unsigned)sl->count);
            continue;
        }
        as.agent_index = sl->index;
        as.n_agents = sl->count;
        as.mem_interval_ms = 0; /* the memory sampler is the run's, once */
        err[0] = '\0';
        rv = engine_new_adopted(&ad->eng, &as, c->threads, sl->from_ms, err,
                                sizeof(err));
        if (rv != 0) {
            ad->eng = NULL;
            if (rv == E_INVAL && strcmp(err, "no users assigned") == 0) {
                log_info("AGENT-ADOPT", "slice=%u/%u holds no user",
                         (unsigned)sl->index, (unsigned)sl->count);
            } else {
                log_error("AGENT-ADOPT", "slice=%u/%u not run: %s",
                          (unsigned)sl->index, (unsigned)sl->count, err);
            }
            continue;
        }
        rv = engine_start(ad->eng, c->run_start_ns);
        if (rv != 0) {
            log_error("AGENT-ADOPT", "slice=%u/%u engine: %s",
                      (unsigned)sl->index, (unsigned)sl->count, err_str(rv));
        }
        ad->finished = false;
        ad->next_k = 0;
        log_info("AGENT-ADOPT", "slice=%u/%u from_ms=%llu gen=%u",
                 (unsigned)sl->index, (unsigned)sl->count,
                 (unsigned long long)sl->from_ms, (unsigned)a->generation);
    }
    c->adopt_gen = a->generation;
}

/* --- batches ----------------------------------------------------------------
 */

#define MEM_SLACK_MS 200u

/* The memory test: a sample of the target's memory into b when one is
 * due (at most one per batch; a failed reading is logged, not fatal: the
 * fit uses the samples there are). */
static void
take_mem_sample(struct control *c, struct proto_batch *b)
{
    uint64_t now_ms = 0;
    struct memsample ms;
    char err[PROTO_TEXT_MAX + 128];

    if (c->assign.mem_interval_ms == 0 || c->mem_src < 0) {
        return;
    }
    if (clock_now_ns() < c->run_start_ns) {
        return;
    }
    now_ms = (clock_now_ns() - c->run_start_ns) / CLOCK_NS_PER_MS;
    /* Batches come once a second, a few ms either side: a sample due
     * within MEM_SLACK_MS is taken now, and the schedule keeps its own
     * pace rather than drifting with the batches. */
    if (now_ms + MEM_SLACK_MS < c->mem_next_ms) {
        return;
    }
    while (c->mem_next_ms <= now_ms + MEM_SLACK_MS) {
        c->mem_next_ms += c->assign.mem_interval_ms;
    }
    if (memsample_read(c->mem_src, (uint32_t)c->assign.mem_pid,
                       c->assign.mem_path, c->assign.url, &ms, err,
                       sizeof(err)) != 0) {
        if (c->mem_fails++ == 0) {
            log_warn("MEM-SAMPLE", "%s", err);
        }
        return;
    }
    c->mem_fails = 0;
    b->mem_ms = now_ms > 0 ? now_ms : 1;
    b->mem_bytes = ms.bytes;
    /* The target's CPU over the time since its previous sample. */
    if (ms.has_cpu && c->mem_cpu_prev && b->mem_ms > c->mem_cpu_ms &&
        ms.cpu_us >= c->mem_cpu_us) {
        b->target_cpu_centi = resources_centi(
            ms.cpu_us - c->mem_cpu_us, (b->mem_ms - c->mem_cpu_ms) * 1000u);
        b->res |= PROTO_RES_TCPU;
    }
    c->mem_cpu_prev = ms.has_cpu;
    c->mem_cpu_us = ms.cpu_us;
    c->mem_cpu_ms = b->mem_ms;
}

/* The agent's own CPU, RSS and network bytes into b (at most one sample
 * per batch; none when the last one is too recent). */
static void
take_res_sample(struct control *c, struct proto_batch *b)
{
    struct resources_sample rs;
    int rv = resources_sample(&c->res, clock_now_ns(), &rs);

    if (rv < 0) {
        if (!c->res_failed) {
            log_warn("RES-SAMPLE", "reading /proc failed: %s", err_str(rv));
        }
        c->res_failed = true;
        return;
    }
    if (rv > 0) {
        return;
    }
    b->res |= PROTO_RES_AGENT;
    b->cpu_centi = rs.cpu_centi;
    b->host_cpu_centi = rs.host_cpu_centi;
    b->rss_bytes = rs.rss_bytes;
    b->net_rx_bytes = rs.net_rx_bytes;
    b->net_tx_bytes = rs.net_tx_bytes;
}

static int
queue_batch(struct control *c, uint32_t k)
{
    struct proto_msg m;
    struct pending *p;
    int rv;

    if (c->q_len >= c->max_unacked) {
        return E_TOOBIG; /* held back by the caller: see service */
    }
    if (c->q_len == c->q_cap) {
        size_t cap = c->q_cap ? c->q_cap * 2 : 16;
        if (cap > c->max_unacked) {
            cap = c->max_unacked;
        }
        struct pending *nq = xcalloc(cap, sizeof(*nq));
        if (nq == NULL) {
            return E_NOMEM;
        }
        for (size_t i = 0; i < c->q_len; i++) {
            nq[i] = c->q[(c->q_head + i) % c->q_cap];
        }
        xfree(c->q);
        c->q = nq;
        c->q_cap = cap;
        c->q_head = 0;
    }
    memset(&m, 0, sizeof(m));
    m.type = PROTO_BATCH;
    m.u.batch.agent_id = c->agent_id;
    m.u.batch.seq = c->seq + 1;
    m.u.batch.interval = k;
    if ((rv = metrics_to_batch(c->agg, c->exp, &m.u.batch)) != 0) {
        return rv;
    }
    take_mem_sample(c, &m.u.batch);
    take_res_sample(c, &m.u.batch);
    p = &c->q[(c->q_head + c->q_len) % c->q_cap];
    buf_init(&p->msg, PROTO_MAX_MSG);
    if ((rv = proto_encode(&m, &p->msg)) != 0) {
        buf_fini(&p->msg);
        return rv;
    }
    p->seq = m.u.batch.seq;
    p->agent_id = c->agent_id;
    c->q_len++;
    c->seq++;
    for (int op = 0; op < OP_COUNT; op++) {
        c->tot_req[op] += m.u.batch.op[op].requests;
        c->tot_err[op] += m.u.batch.op[op].errors;
    }
    log_debug("AGENT-BATCH", "seq=%llu interval=%u", (unsigned long long)p->seq,
              k);
    return 0;
}

/* Re-encodes a queued batch when the master gave us a new agent id. */
static int
refresh_agent_id(struct control *c, struct pending *p)
{
    struct proto_msg m;
    struct buf nb;
    int rv;

    if (p->agent_id == c->agent_id) {
        return 0;
    }
    if ((rv = proto_decode(p->msg.data, p->msg.len, &m)) != 0) {
        return rv;
    }
    m.u.batch.agent_id = c->agent_id;
    buf_init(&nb, PROTO_MAX_MSG);
    rv = proto_encode(&m, &nb);
    proto_msg_fini(&m);
    if (rv != 0) {
        buf_fini(&nb);
        return rv;
    }
    buf_fini(&p->msg);
    p->msg = nb;
    p->agent_id = c->agent_id;
    return 0;
}

/*
 * Merges what engine e has of the intervals up to k into c->agg: true when
 * it has returned interval k (*next > k) or finished. An engine started
 * mid-run returns its first intervals, empty, at once.
 */
static bool
collect_upto(struct control *c, struct engine *e, uint32_t *next,
             bool *finished, uint32_t k)
{
    uint32_t got = 0;

    while (!*finished && *next <= k) {
        int r = engine_collect(e, c->agg, &got);
        if (r == ENGINE_INTERVAL) {
            *next = got + 1;
        } else if (r == ENGINE_FINISHED) {
            *finished = true;
        } else {
            return false;
        }
    }
    return true;
}

/*
 * Queues the counts in agg as the batch of interval k, or holds them back
 * when that fails (the queue is full: max_unacked batches the
 * master has not acknowledged; or no memory). Held counts stay in agg, the
 * next intervals add to theirs, and they leave as one batch, numbered with
 * the last interval, as soon as there is room: nothing is dropped and the
 * GOODBYE totals still match, but the master sees the intervals in between
 * as missing (a reported gap). Logged once per hold.
 */
static void
queue_or_hold(struct control *c, uint32_t k)
{
    int rv = queue_batch(c, k);

    if (rv != 0) {
        if (!c->held) {
            c->held = true;
            c->held_first = k;
            log_error("AGENT-QUEUE-FULL",
                      "interval=%u not queued (%s; unacknowledged=%zu, "
                      "max %zu): its counts are held and sent with a later "
                      "batch; the master will report the intervals between "
                      "as missing",
                      k, rv == E_TOOBIG ? "queue full" : err_str(rv), c->q_len,
                      c->max_unacked);
        }
        c->held_k = k;
        return;
    }
    if (c->held) {
        log_warn("AGENT-QUEUE-RESUMED",
                 "intervals=%u-%u sent as one batch (interval %u)",
                 c->held_first, k, k);
        c->held = false;
    }
    metrics_reset(c->agg);
}

/*
 * Pulls finished intervals out of the engines (the agent's own and the
 * adopted slices'): interval k is queued as one BATCH once every engine
 * returned it or finished; runs the dead-man switch.
 */
static void
service(struct control *c, uint64_t now)
{
    if (c->pf_active) {
        preflight_poll(c, 0);
    }
    if (c->eng == NULL || c->state != PROTO_ST_RUNNING) {
        return;
    }
    if (c->held && c->q_len < c->max_unacked) {
        queue_or_hold(c, c->held_k); /* before GOODBYE can be due */
    }
    if (c->eng_finished) {
        return;
    }
    for (;;) {
        uint32_t k = c->batch_k;
        bool ready =
            collect_upto(c, c->eng, &c->main_next_k, &c->main_finished, k);
        bool all_done = c->main_finished;

        for (uint32_t i = 0; i < c->n_adopted; i++) {
            struct adopted *ad = &c->adopted[i];
            if (ad->eng != NULL) {
                ready =
                    collect_upto(c, ad->eng, &ad->next_k, &ad->finished, k) &&
                    ready;
            }
            all_done = all_done && ad->finished;
        }
        if (all_done) {
            c->eng_finished = true;
            log_info("AGENT-LOAD-DONE",
                     "batches=%llu overflows=%llu adopted=%u",
                     (unsigned long long)c->seq,
                     (unsigned long long)engine_ring_overflows(c->eng),
                     (unsigned)c->n_adopted);
            break;
        }
        if (!ready) {
            break;
        }
        queue_or_hold(c, k);
        c->batch_k++;
    }
    if (!c->deadman_fired && !c->eng_finished &&
        now - c->last_reply_ns > CONTROL_DEADMAN_MS * CLOCK_NS_PER_MS) {
        c->deadman_fired = true;
        log_warn(
            "MASTER-LOST", "no reply for %llu ms: stopping the load",
            (unsigned long long)((now - c->last_reply_ns) / CLOCK_NS_PER_MS));
        stop_engines(c, ENGINE_STOP_ABORT);
    }
}

/* --- the loop
 * ----------------------------------------------------------------- */

static void
idle_wait(struct control *c, uint64_t ns)
{
    if (ns > IDLE_SLICE_NS) {
        ns = IDLE_SLICE_NS;
    }
    if (c->pf_active) {
        preflight_poll(c, (int)(ns / CLOCK_NS_PER_MS));
    } else if (ns > 0) {
        clock_sleep_ns(ns);
    }
}

static void
handle_reply(struct control *c, uint32_t sent, const struct proto_msg *rep,
             bool carried_terminal)
{
    bool data = sent == PROTO_BATCH || sent == PROTO_GOODBYE;

    if (data && rep->type != PROTO_REJECT) {
        c->data_rejects = 0;
    }
    if (sent == PROTO_HEARTBEAT) {
        c->probe = false; /* answered: what it says is handled below */
    }
    switch (rep->type) {
    case PROTO_HEARTBEAT:
        if (carried_terminal &&
            (c->state == PROTO_ST_DONE || c->state == PROTO_ST_FAILED)) {
            set_state(c, PROTO_ST_IDLE, NULL);
        }
        break;
    case PROTO_ASSIGN:
        on_assign(c, &rep->u.assign);
        break;
    case PROTO_START:
        on_start(c, &rep->u.start);
        break;
    case PROTO_STOP:
        on_stop(c, &rep->u.stop);
        break;
    case PROTO_ADOPT:
        on_adopt(c, &rep->u.adopt);
        break;
    case PROTO_ACK:
        if (sent == PROTO_BATCH && c->q_len > 0 &&
            rep->u.ack.seq == c->q[c->q_head].seq) {
            buf_fini(&c->q[c->q_head].msg);
            c->q_head = (c->q_head + 1) % c->q_cap;
            c->q_len--;
            if (rep->u.ack.seq > c->acked_seq) {
                c->acked_seq = rep->u.ack.seq;
            }
        } else if (sent == PROTO_GOODBYE && rep->u.ack.seq == c->seq) {
            log_info("AGENT-GOODBYE", "acknowledged last_seq=%llu",
                     (unsigned long long)c->seq);
            drop_engine(c);
            set_state(c, PROTO_ST_DONE, NULL);
        } else {
            log_warn("AGENT-PROTO", "unexpected ack seq=%llu to %s",
                     (unsigned long long)rep->u.ack.seq, proto_type_name(sent));
        }
        break;
    case PROTO_REJECT:
        log_warn("AGENT-REJECTED", "reason=\"%s\" to=%s: authenticating again",
                 rep->u.reject.reason, proto_type_name(sent));
        c->authed = false;
        c->retry_at = clock_now_ns() + REJECT_BACKOFF_NS; /* no busy loop */
        if (data && ++c->data_rejects >= DATA_REJECT_MAX) {
            abandon_run(c, "master refuses the run's batches");
        }
        break;
    default:
        log_warn("AGENT-PROTO", "unexpected %s in reply to %s",
                 proto_type_name(rep->type), proto_type_name(sent));
        break;
    }
}

/* Builds the next request, or returns false when none is due now. */
static bool
next_request(struct control *c, uint64_t now, struct proto_msg *m,
             const struct buf **pre)
{
    memset(m, 0, sizeof(*m));
    *pre = NULL;
    if (c->probe) {
        /* A heartbeat now, before any run data, until one is answered. */
        c->next_hb_ns = now;
    } else if (c->q_len > 0) {
        struct pending *p = &c->q[c->q_head];
        if (refresh_agent_id(c, p) != 0) {
            log_error("AGENT-BATCH", "cannot re-encode seq=%llu",
                      (unsigned long long)p->seq);
        }
        m->type = PROTO_BATCH;
        *pre = &p->msg;
        return true;
    } else if (c->state == PROTO_ST_RUNNING && c->eng_finished && !c->held) {
        m->type = PROTO_GOODBYE;
        m->u.goodbye.agent_id = c->agent_id;
        m->u.goodbye.last_seq = c->seq;
        memcpy(m->u.goodbye.requests, c->tot_req, sizeof(c->tot_req));
        memcpy(m->u.goodbye.errors, c->tot_err, sizeof(c->tot_err));
        return true;
    }
    if (now >= c->next_hb_ns) {
        struct proto_heartbeat *h = &m->u.heartbeat;
        m->type = PROTO_HEARTBEAT;
        h->agent_id = c->agent_id;
        h->state = c->state;
        if (c->eng != NULL && c->state == PROTO_ST_RUNNING) {
            engines_now(c, &h->users_active, &h->in_flight);
        }
        h->acked_seq = c->acked_seq;
        h->adopt_gen = c->state == PROTO_ST_RUNNING ? c->adopt_gen : 0;
        (void)snprintf(h->text, sizeof(h->text), "%s", c->text);
        c->next_hb_ns = now + (uint64_t)c->hb_ms * CLOCK_NS_PER_MS;
        return true;
    }
    return false;
}

int
control_run(struct control *c)
{
    uint64_t shutdown_at = 0;
    bool shutting_down = false;

    for (;;) {
        uint64_t now = clock_now_ns();
        struct proto_msg m, rep;
        const struct buf *pre = NULL;
        bool terminal;
        int rv;

        if (!shutting_down && atomic_load(&c->stop)) {
            shutting_down = true;
            shutdown_at = now + CONTROL_SHUTDOWN_MS * CLOCK_NS_PER_MS;
            log_info("AGENT-SHUTDOWN", "state=%s", state_name(c->state));
            if (c->state == PROTO_ST_RUNNING) {
                stop_engines(c, ENGINE_STOP_ABORT);
            }
        }
        if (shutting_down &&
            (c->state != PROTO_ST_RUNNING || now >= shutdown_at)) {
            break;
        }
        service(c, now);
        if (c->last_reply_ns != 0 && now >= c->redial_at &&
            now - c->last_reply_ns >= REDIAL_AFTER_MS * CLOCK_NS_PER_MS) {
            redial(c, now);
        }
        if (!c->authed) {
            if (now < c->retry_at) {
                idle_wait(c, c->retry_at - now);
                continue;
            }
            if (handshake(c) != 0) {
                c->retry_at = clock_now_ns() + RETRY_NS;
                check_dial(c);
            } else {
                c->tls_backoff_ms = CONTROL_TLS_BACKOFF_MS;
                c->tls_logged = false;
            }
            continue;
        }
        if (!next_request(c, now, &m, &pre)) {
            idle_wait(c, c->next_hb_ns > now ? c->next_hb_ns - now : 0);
            continue;
        }
        terminal = m.type == PROTO_HEARTBEAT &&
                   (c->state == PROTO_ST_DONE || c->state == PROTO_ST_FAILED);
        memset(&rep, 0, sizeof(rep));
        rv = exchange(c, &m, pre, &rep);
        if (rv != 0) {
            if (rv != E_TIMEOUT) {
                idle_wait(c, 100 * CLOCK_NS_PER_MS); /* no busy retry */
            }
            continue;
        }
        handle_reply(c, m.type, &rep, terminal);
        proto_msg_fini(&rep);
    }
    stop_engines(c, ENGINE_STOP_ABORT);
    drop_engine(c);
    if (c->q_len > 0 || c->state == PROTO_ST_RUNNING) {
        log_warn("AGENT-SHUTDOWN", "undelivered batches=%zu", c->q_len);
    }
    return 0;
}

/* --- life cycle -------------------------------------------------------------
 */

void
control_request_stop(struct control *c)
{
    atomic_store(&c->stop, true);
}

void
control_free(struct control *c)
{
    if (c == NULL) {
        return;
    }
    close_socket(c);
    drop_engine(c);
    if (c->pm != NULL && c->pe != NULL && c->pf_active) {
        (void)curl_multi_remove_handle(c->pm, c->pe);
    }
    if (c->pe != NULL) {
        curl_easy_cleanup(c->pe);
    }
    if (c->pm != NULL) {
        (void)curl_multi_cleanup(c->pm);
    }
    clear_queue(c);
    xfree(c->q);
    metrics_free(c->agg);
    metrics_export_free(c->exp);
    buf_fini(&c->enc);
    if (c->tls != NULL) {
        nng_tls_config_free(c->tls);
    }
    if (c->token != NULL) {
        memset(c->token, 0, c->token_len);
        xfree(c->token);
    }
    xfree(c);
}

/* CONTROL_MAX_UNACKED, or CONTROL_TEST_MAX_UNACKED_ENV when a test set it
 * (1 .. CONTROL_MAX_UNACKED; anything else is ignored). */
static size_t
test_max_unacked(void)
{
    const char *v = getenv(CONTROL_TEST_MAX_UNACKED_ENV);
    char *end = NULL;
    unsigned long n;

    if (v == NULL || v[0] == '\0') {
        return CONTROL_MAX_UNACKED;
    }
    n = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || n < 1 || n > CONTROL_MAX_UNACKED) {
        return CONTROL_MAX_UNACKED;
    }
    log_warn("AGENT-TEST-UNACKED",
             "%s=%lu: at most %lu unacknowledged batches (a test hook)",
             CONTROL_TEST_MAX_UNACKED_ENV, n, n);
    return (size_t)n;
}

int
control_new(struct control **out, const struct control_opts *o)
{
    struct control *c = NULL;
    int rv = 0;

    if (o->token_len == 0 || o->token_len > 4096 || o->threads == 0 ||
        o->n_allow > CONTROL_MAX_ALLOW ||
        strlen(o->master_url) >= PROTO_URL_MAX) {
        return E_INVAL;
    }
    c = xcalloc(1, sizeof(*c));
    if (c == NULL) {
        return E_NOMEM;
    }
    atomic_init(&c->stop, false);
    buf_init(&c->enc, PROTO_MAX_MSG);
    (void)snprintf(c->url, sizeof(c->url), "%s", o->master_url);
    (void)snprintf(c->name, sizeof(c->name), "%s", o->name);
    (void)snprintf(c->host, sizeof(c->host), "%s", o->host);
    c->threads = o->threads;
    c->hb_ms = DEFAULT_HB_MS;
    c->tls_backoff_ms = CONTROL_TLS_BACKOFF_MS;
    c->max_unacked = test_max_unacked();
    if (o->tls != NULL) {
        nng_tls_config_hold(o->tls);
        c->tls = o->tls;
        (void)snprintf(c->tls_ca, sizeof(c->tls_ca), "%s",
                       o->tls_ca != NULL ? o->tls_ca : "");
        (void)snprintf(c->tls_name, sizeof(c->tls_name), "%s",
                       o->tls_server_name != NULL ? o->tls_server_name : "");
        (void)snprintf(c->tls_cert, sizeof(c->tls_cert), "%s",
                       o->tls_cert != NULL ? o->tls_cert : "");
        (void)snprintf(c->tls_key, sizeof(c->tls_key), "%s",
                       o->tls_key != NULL ? o->tls_key : "");
    }
    c->state = PROTO_ST_IDLE;
    c->n_allow = o->n_allow;
    for (size_t i = 0; i < o->n_allow; i++) {
        if (strlen(o->allow[i]) >= HOSTPORT_MAX) {
            rv = E_INVAL;
            goto out;
        }
        (void)snprintf(c->allow[i], sizeof(c->allow[i]), "%s", o->allow[i]);
    }
    c->token = xmalloc(o->token_len);
    if (c->token == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    memcpy(c->token, o->token, o->token_len);
    c->token_len = o->token_len;
    if ((rv = metrics_new(&c->agg)) != 0 ||
        (rv = metrics_export_new(&c->exp)) != 0) {
        goto out;
    }
    c->pm = curl_multi_init();
    c->pe = curl_easy_init();
    if (c->pm == NULL || c->pe == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    if ((rv = open_socket(c)) != 0) {
        goto out;
    }
    *out = c;
    c = NULL;
out:
    control_free(c);
    return rv;
}
