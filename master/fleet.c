/* SPDX-License-Identifier: MIT */
/*
 * The master's control-channel loop: rep0 socket, per-pipe handshake,
 * per-agent commands and liveness. What the test does with the agents is
 * coord.c's business; this file only speaks the protocol.
 */
#include "fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/rng.h"
#include "../common/sha256.h"
#include "../common/tls.h"

#include "../common/poison.h"

enum cmd { CMD_NONE = 0, CMD_ASSIGN, CMD_START, CMD_STOP };

/* An unauthenticated pipe's refusals and HELLOs: past FLEET_MAX_STRIKES it
 * is closed, so a peer that does not speak the protocol (or keeps guessing
 * the token) cannot keep the master busy or make it queue replies. */
struct strike {
    uint32_t pipe_id; /* 0: slot free */
    uint32_t n;
    uint64_t t_ns; /* last strike (for eviction) */
};

/* A pipe between HELLO and AUTH. */
struct handshake {
    uint32_t pipe_id; /* 0: slot free */
    uint64_t t_ns;    /* when HELLO arrived (for eviction) */
    struct proto_hello hello;
    uint8_t nonce_m[PROTO_NONCE_LEN];
};

struct agent {
    uint32_t id;
    uint32_t pipe_id; /* the authenticated pipe; 0 after it re-handshakes */
    char name[PROTO_NAME_MAX];
    char host[PROTO_NAME_MAX];
    uint32_t pid;
    uint32_t threads;
    uint64_t last_seen_ns;
    bool lost;
    uint32_t state;
    char text[PROTO_TEXT_MAX];
    uint32_t users_active;
    bool goodbye;
    enum cmd cmd;
    bool has_assign;
    struct proto_assign assign;
    uint64_t start_ns;
    /* Sent START in this test (set where START goes out, in on_heartbeat,
     * whatever set the command; cleared by fleet_reset_test). Run data
     * (BATCH, GOODBYE) is taken only from a started agent: an
     * agent that reconnects holding a run this master never started (it
     * was restarted) must not have that run merged into a new test, even
     * in the moment between its assignment and its abandoning the old run
     * (PROTOCOL.md section 2, "A new master"). */
    bool started;
    char stop_reason[PROTO_TEXT_MAX];
    struct proto_adopt adopt; /* generation 0: nothing to adopt */
    uint32_t adopt_acked;     /* from its heartbeats */
};

struct fleet {
    nng_socket sock;
    nng_listener listener;
    bool open;
    uint8_t *token;
    size_t token_len;
    struct agg *agg;
    struct handshake hs[FLEET_MAX_HANDSHAKES];
    struct strike strikes[FLEET_MAX_HANDSHAKES];
    nng_pipe cur;  /* the pipe of the message being handled */
    bool cur_drop; /* close cur once the message is handled */
    struct agent *agents;
    size_t n_agents;
    size_t cap_agents;
    struct buf out; /* encoded replies, reused */
    /* tls+tcp:// only: failed TLS handshakes, from the listener's stats */
    bool tls;
    uint64_t tls_fails;    /* counted so far */
    uint64_t tls_logged;   /* of which already logged */
    uint64_t tls_check_ns; /* next look at the stats */
    uint64_t tls_log_ns;   /* no new TLS-HANDSHAKE line before this */
};

static void check_tls(struct fleet *f, bool final);

/* --- set-up ------------------------------------------------------------ */

static int
nng_to_err(int nrv)
{
    switch (nrv) {
    case 0:
        return 0;
    case NNG_ENOMEM:
        return E_NOMEM;
    case NNG_EINVAL:
    case NNG_EADDRINVAL:
    case NNG_ENOTSUP:
        return E_INVAL;
    default:
        return E_NET;
    }
}

int
fleet_new(struct fleet **out, const char *url, const uint8_t *token,
          size_t token_len, nng_tls_config *tls)
{
    int rv = 0;
    int nrv = 0;
    struct fleet *f = NULL;

    if (token == NULL || token_len == 0 || url == NULL) {
        return E_INVAL;
    }
    f = xcalloc(1, sizeof(*f));
    if (f == NULL) {
        return E_NOMEM;
    }
    buf_init(&f->out, PROTO_MAX_MSG);
    f->token = xmalloc(token_len);
    if (f->token == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    memcpy(f->token, token, token_len);
    f->token_len = token_len;

    if ((nrv = nng_rep0_open(&f->sock)) != 0) {
        log_error("NNG-OPEN", "rep0: %s", nng_strerror(nrv));
        rv = nng_to_err(nrv);
        goto out;
    }
    f->open = true;
    if ((nrv = nng_socket_set_size(f->sock, NNG_OPT_RECVMAXSZ,
                                   PROTO_MAX_MSG)) != 0 ||
        (nrv = nng_socket_set_ms(f->sock, NNG_OPT_RECVTIMEO, FLEET_POLL_MS)) !=
            0 ||
        (nrv = nng_socket_set_ms(f->sock, NNG_OPT_SENDTIMEO, FLEET_SEND_MS)) !=
            0) {
        log_error("NNG-OPT", "rep0 options: %s", nng_strerror(nrv));
        rv = nng_to_err(nrv);
        goto out;
    }
    if ((nrv = nng_listener_create(&f->listener, f->sock, url)) != 0) {
        log_error("NNG-LISTEN", "url=%s: %s", url, nng_strerror(nrv));
        rv = nng_to_err(nrv);
        goto out;
    }
    if ((nrv = nng_listener_set_size(f->listener, NNG_OPT_RECVMAXSZ,
                                     PROTO_MAX_MSG)) != 0) {
        log_error("NNG-OPT", "listener recv-size-max: %s", nng_strerror(nrv));
        rv = nng_to_err(nrv);
        goto out;
    }
    if (tls != NULL && (nrv = nng_listener_set_ptr(
                            f->listener, NNG_OPT_TLS_CONFIG, tls)) != 0) {
        /* NNG_ENOTSUP: a tcp:// URL given a TLS configuration. */
        log_error("NNG-TLS", "url=%s: %s", url, nng_strerror(nrv));
        rv = nng_to_err(nrv);
        goto out;
    }
    f->tls = tls != NULL;
    if ((nrv = nng_listener_start(f->listener, 0)) != 0) {
        log_error("NNG-LISTEN", "url=%s: %s", url, nng_strerror(nrv));
        rv = nrv == NNG_EADDRINVAL || nrv == NNG_EINVAL ? E_INVAL : E_NET;
        goto out;
    }
    *out = f;
    f = NULL;
out:
    fleet_free(f);
    return rv;
}

/* nng_close on its own thread, so that the caller can stop waiting. */
struct closer {
    nng_socket sock;
    pthread_mutex_t mu; /* protects done; taken by both threads */
    pthread_cond_t cv;
    bool done;
    bool abandoned; /* the waiter gave up: the closer frees *c */
};

static void *
closer_main(void *arg)
{
    struct closer *c = arg;
    bool free_it = false;

    (void)nng_close(c->sock);
    (void)pthread_mutex_lock(&c->mu);
    c->done = true;
    free_it = c->abandoned;
    (void)pthread_cond_signal(&c->cv);
    (void)pthread_mutex_unlock(&c->mu);
    if (free_it) {
        (void)pthread_cond_destroy(&c->cv);
        (void)pthread_mutex_destroy(&c->mu);
        xfree(c);
    }
    return NULL;
}

/* Closes sock, waiting at most FLEET_CLOSE_MS. nng 1.5.2's nng_close can
 * wait forever for a pipe whose peer stopped reading; the master must
 * still exit. Returns 0 or E_TIMEOUT (the close goes on in the
 * background; nng_fini must then not be called). */
static int
close_bounded(nng_socket sock)
{
    struct closer *c = xcalloc(1, sizeof(*c));
    struct timespec until;
    pthread_t th;
    int rv = 0;

    if (c == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        xfree(c);
        (void)nng_close(sock);
        return 0;
    }
    (void)pthread_cond_init(&c->cv, NULL);
    c->sock = sock;
    if (pthread_create(&th, NULL, closer_main, c) != 0) {
        (void)pthread_cond_destroy(&c->cv);
        (void)pthread_mutex_destroy(&c->mu);
        xfree(c);
        (void)nng_close(sock);
        return 0;
    }
    (void)clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += FLEET_CLOSE_MS / 1000u;
    (void)pthread_mutex_lock(&c->mu);
    while (!c->done) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0 && !c->done) {
            c->abandoned = true;
            rv = E_TIMEOUT;
            break;
        }
    }
    (void)pthread_mutex_unlock(&c->mu);
    if (rv != 0) {
        (void)pthread_detach(th);
        log_error("NNG-CLOSE",
                  "socket close did not finish in %u ms; "
                  "leaving it",
                  FLEET_CLOSE_MS);
        return rv;
    }
    (void)pthread_join(th, NULL);
    (void)pthread_cond_destroy(&c->cv);
    (void)pthread_mutex_destroy(&c->mu);
    xfree(c);
    return 0;
}

int
fleet_close(struct fleet *f)
{
    int rv = 0;

    if (f != NULL && f->open) {
        check_tls(f, true);
        rv = close_bounded(f->sock);
        f->open = false;
    }
    return rv;
}

void
fleet_free(struct fleet *f)
{
    if (f == NULL) {
        return;
    }
    (void)fleet_close(f);
    buf_fini(&f->out);
    if (f->token != NULL) {
        memset(f->token, 0, f->token_len);
        xfree(f->token);
    }
    xfree(f->agents);
    xfree(f);
}

int
fleet_port(const struct fleet *f, uint16_t *port)
{
    nng_sockaddr sa;
    int nrv = nng_listener_get_addr(f->listener, NNG_OPT_LOCADDR, &sa);

    if (nrv != 0) {
        log_error("NNG-ADDR", "%s", nng_strerror(nrv));
        return E_NET;
    }
    if (sa.s_family == NNG_AF_INET) {
        *port = ntohs(sa.s_in.sa_port);
    } else if (sa.s_family == NNG_AF_INET6) {
        *port = ntohs(sa.s_in6.sa_port);
    } else {
        return E_NET;
    }
    return 0;
}

void
fleet_set_agg(struct fleet *f, struct agg *a)
{
    f->agg = a;
}

/* --- queries and commands ---------------------------------------------- */

size_t
fleet_n_agents(const struct fleet *f)
{
    return f->n_agents;
}

size_t
fleet_n_alive(const struct fleet *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_agents; i++) {
        n += f->agents[i].lost ? 0 : 1;
    }
    return n;
}

int
fleet_agent(const struct fleet *f, size_t i, struct fleet_agent_info *out)
{
    const struct agent *a = NULL;

    if (i >= f->n_agents) {
        return E_RANGE;
    }
    a = &f->agents[i];
    memset(out, 0, sizeof(*out));
    out->id = a->id;
    out->name = a->name;
    out->host = a->host;
    out->pid = a->pid;
    out->threads = a->threads;
    out->state = a->state;
    out->text = a->text;
    out->users_active = a->users_active;
    out->has_assign = a->has_assign;
    out->lost = a->lost;
    out->goodbye = a->goodbye;
    out->adopt_gen = a->adopt.generation;
    out->adopt_acked = a->adopt_acked;
    out->adopt = &a->adopt;
    return 0;
}

int
fleet_assign(struct fleet *f, size_t i, const struct proto_assign *a)
{
    if (i >= f->n_agents) {
        return E_RANGE;
    }
    f->agents[i].assign = *a;
    f->agents[i].has_assign = true;
    f->agents[i].cmd = CMD_ASSIGN;
    return 0;
}

void
fleet_start(struct fleet *f, uint64_t start_ns)
{
    for (size_t i = 0; i < f->n_agents; i++) {
        if (f->agents[i].has_assign) {
            f->agents[i].start_ns = start_ns;
            f->agents[i].cmd = CMD_START;
        }
    }
}

void
fleet_stop(struct fleet *f, const char *reason)
{
    for (size_t i = 0; i < f->n_agents; i++) {
        if (f->agents[i].has_assign) {
            (void)snprintf(f->agents[i].stop_reason,
                           sizeof(f->agents[i].stop_reason), "%s", reason);
            f->agents[i].cmd = CMD_STOP;
        }
    }
}

int
fleet_stop_one(struct fleet *f, size_t i, const char *reason)
{
    if (i >= f->n_agents) {
        return E_RANGE;
    }
    (void)snprintf(f->agents[i].stop_reason, sizeof(f->agents[i].stop_reason),
                   "%s", reason);
    f->agents[i].cmd = CMD_STOP;
    return 0;
}

int
fleet_adopt(struct fleet *f, size_t i, const struct proto_slice *sl)
{
    struct proto_adopt *ad = NULL;

    if (i >= f->n_agents) {
        return E_RANGE;
    }
    ad = &f->agents[i].adopt;
    if (ad->n_slices >= PROTO_MAX_SLICES) {
        return E_TOOBIG;
    }
    ad->slices[ad->n_slices++] = *sl;
    ad->generation++;
    return 0;
}

void
fleet_reset_test(struct fleet *f)
{
    for (size_t i = 0; i < f->n_agents; i++) {
        struct agent *a = &f->agents[i];
        memset(&a->adopt, 0, sizeof(a->adopt));
        a->adopt_acked = 0;
        a->has_assign = false;
        a->started = false;
        a->goodbye = false;
        a->cmd = CMD_NONE;
        a->users_active = 0;
    }
}

/* --- the loop ---------------------------------------------------------- */

static struct agent *
agent_by_pipe(struct fleet *f, uint32_t pipe_id)
{
    for (size_t i = 0; i < f->n_agents; i++) {
        if (f->agents[i].pipe_id == pipe_id) {
            return &f->agents[i];
        }
    }
    return NULL;
}

static struct handshake *
hs_by_pipe(struct fleet *f, uint32_t pipe_id)
{
    for (size_t i = 0; i < FLEET_MAX_HANDSHAKES; i++) {
        if (f->hs[i].pipe_id == pipe_id) {
            return &f->hs[i];
        }
    }
    return NULL;
}

/* Wire strings are opaque bytes (PROTOCOL.md 3.1): control characters
 * become '?' before a name or text reaches a log line or the console, so
 * a peer cannot forge log lines or terminal escapes. */
static void
sanitize(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
}

/* Marks the pipe of the message being handled for closing once it is
 * handled (fleet_poll does it). */
static void
drop_pipe(struct fleet *f, const char *why)
{
    if (!f->cur_drop) {
        log_warn("PEER-DROP", "pipe=%u reason=%s",
                 (unsigned)nng_pipe_id(f->cur), why);
    }
    f->cur_drop = true;
}

static struct strike *
strike_find(struct fleet *f, uint32_t pipe_id, bool create)
{
    struct strike *old = &f->strikes[0];
    for (size_t i = 0; i < FLEET_MAX_HANDSHAKES; i++) {
        if (f->strikes[i].pipe_id == pipe_id) {
            return &f->strikes[i];
        }
    }
    if (!create) {
        return NULL;
    }
    for (size_t i = 0; i < FLEET_MAX_HANDSHAKES; i++) {
        if (f->strikes[i].pipe_id == 0) {
            old = &f->strikes[i];
            break;
        }
        if (f->strikes[i].t_ns < old->t_ns) {
            old = &f->strikes[i];
        }
    }
    memset(old, 0, sizeof(*old));
    old->pipe_id = pipe_id;
    return old;
}

/* Counts a HELLO or a refusal against an unauthenticated pipe; past
 * FLEET_MAX_STRIKES the pipe is dropped. */
static void
strike(struct fleet *f, uint32_t pipe_id, const char *why)
{
    struct strike *s = strike_find(f, pipe_id, true);

    s->n++;
    s->t_ns = clock_now_ns();
    if (s->n > FLEET_MAX_STRIKES) {
        drop_pipe(f, why);
    }
}

static void
strike_clear(struct fleet *f, uint32_t pipe_id)
{
    struct strike *s = strike_find(f, pipe_id, false);
    if (s != NULL) {
        memset(s, 0, sizeof(*s));
    }
}

/* A slot for a new handshake: a free one, else the oldest (its pipe will
 * have to say HELLO again). */
static struct handshake *
hs_slot(struct fleet *f)
{
    struct handshake *old = &f->hs[0];
    for (size_t i = 0; i < FLEET_MAX_HANDSHAKES; i++) {
        if (f->hs[i].pipe_id == 0) {
            return &f->hs[i];
        }
        if (f->hs[i].t_ns < old->t_ns) {
            old = &f->hs[i];
        }
    }
    return old;
}

/* Encodes r (stamped with ts/echo) and sends it as the reply. */
static int
reply(struct fleet *f, struct proto_msg *r, uint64_t echo_ns)
{
    int rv = 0;
    int nrv = 0;
    nng_msg *msg = NULL;

    r->now_ns = clock_now_ns();
    r->echo_ns = echo_ns;
    buf_reset(&f->out);
    rv = proto_encode(r, &f->out);
    if (rv != 0) {
        log_error("PROTO-ENCODE", "type=%s: %s", proto_type_name(r->type),
                  err_str(rv));
        return rv;
    }
    if ((nrv = nng_msg_alloc(&msg, 0)) != 0 ||
        (nrv = nng_msg_append(msg, f->out.data, f->out.len)) != 0) {
        log_error("NNG-MSG", "%s", nng_strerror(nrv));
        nng_msg_free(msg);
        return E_NOMEM;
    }
    if ((nrv = nng_sendmsg(f->sock, msg, 0)) != 0) {
        /* The peer went away between request and reply (it re-sends), or
         * it stopped reading its replies: a REQ peer never has two
         * requests outstanding, so a reply that cannot leave within
         * FLEET_SEND_MS means a broken or hostile peer. */
        log_debug("NNG-SEND", "%s", nng_strerror(nrv));
        nng_msg_free(msg);
        if (nrv == NNG_ETIMEDOUT) {
            drop_pipe(f, "not reading its replies");
        }
        return E_NET;
    }
    return 0;
}

static int
reply_reject(struct fleet *f, uint64_t echo_ns, const char *reason)
{
    struct proto_msg r;

    memset(&r, 0, sizeof(r));
    r.type = PROTO_REJECT;
    (void)snprintf(r.u.reject.reason, sizeof(r.u.reject.reason), "%s", reason);
    return reply(f, &r, echo_ns);
}

static void
on_hello(struct fleet *f, uint32_t pipe_id, const struct proto_msg *m)
{
    struct handshake *hs = hs_by_pipe(f, pipe_id);
    struct agent *a = agent_by_pipe(f, pipe_id);
    struct proto_msg r;
    int rv = 0;

    if (a != NULL) {
        /* Re-handshake on an authenticated pipe: it must prove itself
         * again before anything else is accepted from it. */
        log_info("AGENT-REHELLO", "agent=%s id=%u pipe=%u", a->name,
                 (unsigned)a->id, (unsigned)pipe_id);
        a->pipe_id = 0;
    }
    strike(f, pipe_id, "too many HELLOs without AUTH");
    if (hs == NULL) {
        hs = hs_slot(f);
    }
    memset(hs, 0, sizeof(*hs));
    memset(&r, 0, sizeof(r));
    r.type = PROTO_CHALLENGE;
    rv = rng_secure_bytes(hs->nonce_m, sizeof(hs->nonce_m));
    if (rv != 0) {
        log_error("RNG", "getrandom: %s", err_str(rv));
        (void)reply_reject(f, m->now_ns, "master cannot draw a nonce");
        return;
    }
    hs->pipe_id = pipe_id;
    hs->t_ns = clock_now_ns();
    hs->hello = m->u.hello;
    sanitize(hs->hello.name);
    sanitize(hs->hello.host);
    memcpy(r.u.challenge.nonce, hs->nonce_m, PROTO_NONCE_LEN);
    proto_proof(PROTO_LABEL_MASTER, f->token, f->token_len, m->u.hello.nonce,
                hs->nonce_m, r.u.challenge.proof);
    log_debug("AGENT-HELLO", "agent=%s host=%s pid=%u pipe=%u", hs->hello.name,
              hs->hello.host, (unsigned)hs->hello.pid, (unsigned)pipe_id);
    (void)reply(f, &r, m->now_ns);
}

/* The agent record for an authenticated HELLO: the same (name, host, pid)
 * reconnecting keeps its id and state; anyone else is new. */
static struct agent *
admit(struct fleet *f, const struct proto_hello *h, uint32_t pipe_id)
{
    struct agent *a = NULL;

    for (size_t i = 0; i < f->n_agents; i++) {
        struct agent *x = &f->agents[i];
        if (x->pid == h->pid && strcmp(x->name, h->name) == 0 &&
            strcmp(x->host, h->host) == 0) {
            a = x;
            break;
        }
    }
    if (a != NULL) {
        if (a->lost) {
            log_warn("AGENT-BACK", "agent=%s id=%u", a->name, (unsigned)a->id);
        } else {
            log_info("AGENT-REAUTH", "agent=%s id=%u", a->name,
                     (unsigned)a->id);
        }
        a->lost = false;
        a->pipe_id = pipe_id;
        a->last_seen_ns = clock_now_ns();
        return a;
    }
    if (f->n_agents >= FLEET_MAX_AGENTS) {
        return NULL;
    }
    if (f->n_agents == f->cap_agents) {
        size_t ncap = f->cap_agents ? f->cap_agents * 2 : 8;
        struct agent *na = xrealloc(f->agents, ncap * sizeof(*na));
        if (na == NULL) {
            return NULL;
        }
        f->agents = na;
        f->cap_agents = ncap;
    }
    a = &f->agents[f->n_agents];
    memset(a, 0, sizeof(*a));
    a->id = (uint32_t)f->n_agents + 1;
    a->pipe_id = pipe_id;
    memcpy(a->name, h->name, sizeof(a->name));
    a->name[sizeof(a->name) - 1] = '\0';
    memcpy(a->host, h->host, sizeof(a->host));
    a->host[sizeof(a->host) - 1] = '\0';
    a->pid = h->pid;
    a->threads = h->threads;
    a->last_seen_ns = clock_now_ns();
    a->state = PROTO_ST_IDLE;
    f->n_agents++;
    log_info("AGENT-JOIN", "agent=%s id=%u host=%s pid=%u threads=%u", a->name,
             (unsigned)a->id, a->host, (unsigned)a->pid, (unsigned)a->threads);
    return a;
}

static void
on_auth(struct fleet *f, uint32_t pipe_id, const struct proto_msg *m)
{
    struct handshake *hs = hs_by_pipe(f, pipe_id);
    uint8_t want[PROTO_MAC_LEN];
    struct proto_msg r;
    struct agent *a = NULL;

    if (hs == NULL) {
        log_warn("AUTH-NOHELLO", "pipe=%u sent AUTH without HELLO",
                 (unsigned)pipe_id);
        (void)reply_reject(f, m->now_ns, "not authenticated");
        strike(f, pipe_id, "AUTH without HELLO");
        return;
    }
    proto_proof(PROTO_LABEL_AGENT, f->token, f->token_len, hs->nonce_m,
                hs->hello.nonce, want);
    if (!sha256_equal(want, m->u.auth.proof, PROTO_MAC_LEN)) {
        log_warn("AUTH-FAILED", "agent=%s host=%s pid=%u pipe=%u",
                 hs->hello.name, hs->hello.host, (unsigned)hs->hello.pid,
                 (unsigned)pipe_id);
        memset(hs, 0, sizeof(*hs));
        (void)reply_reject(f, m->now_ns, "authentication failed");
        strike(f, pipe_id, "authentication failed");
        return;
    }
    a = admit(f, &hs->hello, pipe_id);
    memset(hs, 0, sizeof(*hs));
    strike_clear(f, pipe_id);
    if (a == NULL) {
        log_error("AGENT-FULL", "cannot admit another agent");
        (void)reply_reject(f, m->now_ns, "master cannot take more agents");
        return;
    }
    memset(&r, 0, sizeof(r));
    r.type = PROTO_WELCOME;
    r.u.welcome.agent_id = a->id;
    r.u.welcome.heartbeat_ms = FLEET_HEARTBEAT_MS;
    (void)reply(f, &r, m->now_ns);
}

/* Retires the agent's pending command once its state shows the effect. */
static void
settle_cmd(struct agent *a)
{
    switch (a->cmd) {
    case CMD_ASSIGN:
        if (a->state == PROTO_ST_READY || a->state == PROTO_ST_FAILED) {
            a->cmd = CMD_NONE;
        }
        break;
    case CMD_START:
        if (a->state == PROTO_ST_RUNNING || a->state == PROTO_ST_DONE) {
            a->cmd = CMD_NONE;
        }
        break;
    case CMD_STOP:
        if (a->state != PROTO_ST_RUNNING) {
            a->cmd = CMD_NONE;
        }
        break;
    case CMD_NONE:
        break;
    }
}

static void
on_heartbeat(struct fleet *f, struct agent *a, const struct proto_msg *m)
{
    const struct proto_heartbeat *hb = &m->u.heartbeat;
    struct proto_msg r;

    (void)snprintf(a->text, sizeof(a->text), "%s", hb->text);
    sanitize(a->text);
    if (hb->state > PROTO_ST_FAILED) {
        /* Not a state of version 1: keep the last known one. */
        log_warn("AGENT-STATE-BAD", "agent=%s state=%u (ignored)", a->name,
                 (unsigned)hb->state);
    } else {
        if (hb->state != a->state) {
            log_debug("AGENT-STATE", "agent=%s state=%u%s%s", a->name,
                      (unsigned)hb->state, a->text[0] ? " text=" : "", a->text);
        }
        a->state = hb->state;
    }
    a->users_active = hb->users_active;
    if (hb->adopt_gen != a->adopt_acked) {
        if (hb->adopt_gen == a->adopt.generation && hb->adopt_gen > 0) {
            log_info("ADOPT-DONE", "agent=%s gen=%u slices=%u", a->name,
                     (unsigned)hb->adopt_gen, (unsigned)a->adopt.n_slices);
        }
        a->adopt_acked = hb->adopt_gen;
    }
    settle_cmd(a);

    memset(&r, 0, sizeof(r));
    switch (a->cmd) {
    case CMD_ASSIGN:
        r.type = PROTO_ASSIGN;
        r.u.assign = a->assign;
        break;
    case CMD_START:
        r.type = PROTO_START;
        r.u.start.start_ns = a->start_ns;
        a->started = true;
        break;
    case CMD_STOP:
        r.type = PROTO_STOP;
        (void)snprintf(r.u.stop.reason, sizeof(r.u.stop.reason), "%s",
                       a->stop_reason);
        break;
    case CMD_NONE:
        if (a->adopt.generation > a->adopt_acked &&
            a->state == PROTO_ST_RUNNING) {
            r.type = PROTO_ADOPT;
            r.u.adopt = a->adopt;
            break;
        }
        r.type = PROTO_HEARTBEAT;
        r.u.heartbeat.agent_id = 0;
        r.u.heartbeat.state = a->state;
        break;
    }
    (void)reply(f, &r, m->now_ns);
}

static void
on_batch(struct fleet *f, struct agent *a, const struct proto_msg *m)
{
    struct proto_msg r;
    int rv = 0;

    if (f->agg == NULL) {
        (void)reply_reject(f, m->now_ns, "no test running");
        return;
    }
    if (!a->started) {
        log_warn("BATCH-STALE",
                 "agent=%s seq=%llu interval=%u: not started "
                 "in this test (refused, not merged)",
                 a->name, (unsigned long long)m->u.batch.seq,
                 (unsigned)m->u.batch.interval);
        (void)reply_reject(f, m->now_ns, "not part of this test");
        return;
    }
    rv = agg_merge(f->agg, a->id, &m->u.batch);
    if (rv < 0) {
        log_warn("BATCH-BAD", "agent=%s seq=%llu interval=%u: %s", a->name,
                 (unsigned long long)m->u.batch.seq,
                 (unsigned)m->u.batch.interval, err_str(rv));
        (void)reply_reject(f, m->now_ns,
                           rv == E_NOTFOUND ? "not part of this test"
                                            : "invalid batch");
        return;
    }
    if (rv == 1) {
        log_debug("BATCH-DUP", "agent=%s seq=%llu", a->name,
                  (unsigned long long)m->u.batch.seq);
    }
    a->users_active = m->u.batch.users_active;
    memset(&r, 0, sizeof(r));
    r.type = PROTO_ACK;
    r.u.ack.seq = m->u.batch.seq;
    (void)reply(f, &r, m->now_ns);
}

static void
on_goodbye(struct fleet *f, struct agent *a, const struct proto_msg *m)
{
    struct proto_msg r;
    int rv = 0;

    if (f->agg == NULL || !a->started) {
        (void)reply_reject(f, m->now_ns,
                           f->agg == NULL ? "no test running"
                                          : "not part of this test");
        return;
    }
    rv = agg_goodbye(f->agg, a->id, &m->u.goodbye);
    if (rv < 0) {
        log_warn("GOODBYE-BAD", "agent=%s: %s", a->name, err_str(rv));
        (void)reply_reject(f, m->now_ns, "not part of this test");
        return;
    }
    if (!a->goodbye) {
        log_info("AGENT-GOODBYE", "agent=%s last_seq=%llu totals=%s", a->name,
                 (unsigned long long)m->u.goodbye.last_seq,
                 rv == 0 ? "match" : "MISMATCH");
    }
    a->goodbye = true;
    memset(&r, 0, sizeof(r));
    r.type = PROTO_ACK;
    r.u.ack.seq = m->u.goodbye.last_seq;
    (void)reply(f, &r, m->now_ns);
}

/* The agent id a HEARTBEAT, BATCH or GOODBYE names; any other message
 * names none and gets the pipe's own (so it passes the check in handle). */
static uint32_t
claimed_id_or(const struct proto_msg *m, uint32_t own)
{
    switch (m->type) {
    case PROTO_HEARTBEAT:
        return m->u.heartbeat.agent_id;
    case PROTO_BATCH:
        return m->u.batch.agent_id;
    case PROTO_GOODBYE:
        return m->u.goodbye.agent_id;
    default:
        return own;
    }
}

/* Handles one received message; always answers it. */
static void
handle(struct fleet *f, nng_msg *msg)
{
    uint32_t pipe_id = (uint32_t)nng_pipe_id(nng_msg_get_pipe(msg));
    const uint8_t *body = nng_msg_body(msg);
    size_t len = nng_msg_len(msg);
    struct proto_msg m;
    struct agent *a = NULL;
    char why[PROTO_TEXT_MAX];
    int rv = 0;

    memset(&m, 0, sizeof(m));
    rv = proto_decode(body, len, &m);
    a = agent_by_pipe(f, pipe_id);
    if (rv == E_PROTO_VERSION) {
        unsigned long long v = (unsigned long long)m.version;
        log_warn("PROTO-VERSION", "pipe=%u agent=%s version=%llu",
                 (unsigned)pipe_id, a ? a->name : "?", v);
        (void)snprintf(why, sizeof(why),
                       "protocol version %llu not supported (want %d)", v,
                       PROTO_VERSION);
        (void)reply_reject(f, 0, why);
        if (a == NULL) {
            strike(f, pipe_id, "wrong protocol version");
        }
        return;
    }
    if (rv != 0) {
        log_warn("PROTO-BAD", "pipe=%u agent=%s len=%zu: %s", (unsigned)pipe_id,
                 a ? a->name : "?", len, err_str(rv));
        if (a == NULL) {
            /* Not our protocol and not a known agent: no reply, no
             * second chance. */
            drop_pipe(f, "malformed message before authentication");
            return;
        }
        (void)snprintf(why, sizeof(why), "malformed message: %s", err_str(rv));
        (void)reply_reject(f, 0, why);
        return;
    }
    if (m.type == PROTO_HELLO) {
        on_hello(f, pipe_id, &m);
        goto out;
    }
    if (m.type == PROTO_AUTH) {
        on_auth(f, pipe_id, &m);
        goto out;
    }
    if (a == NULL) {
        log_warn("AUTH-REQUIRED", "pipe=%u sent %s before authenticating",
                 (unsigned)pipe_id, proto_type_name(m.type));
        (void)reply_reject(f, m.now_ns, "not authenticated");
        strike(f, pipe_id, "messages before authentication");
        goto out;
    }
    if (claimed_id_or(&m, a->id) != a->id) {
        /* An agent always names the id it was welcomed with on this pipe
         * (it re-encodes queued batches after a new WELCOME): another id
         * is not an agent this pipe authenticated. Refused, not merged,
         * and not counted as a sign of life of the pipe's agent. */
        log_warn("AGENT-UNKNOWN",
                 "pipe=%u agent=%s id=%u sent %s naming agent id %u: refused",
                 (unsigned)pipe_id, a->name, (unsigned)a->id,
                 proto_type_name(m.type), (unsigned)claimed_id_or(&m, a->id));
        (void)snprintf(why, sizeof(why),
                       "unknown agent id %u on this connection (want %u)",
                       (unsigned)claimed_id_or(&m, a->id), (unsigned)a->id);
        (void)reply_reject(f, m.now_ns, why);
        goto out;
    }
    a->last_seen_ns = clock_now_ns();
    if (a->lost) {
        log_warn("AGENT-BACK", "agent=%s id=%u", a->name, (unsigned)a->id);
        a->lost = false;
    }
    switch (m.type) {
    case PROTO_HEARTBEAT:
        on_heartbeat(f, a, &m);
        break;
    case PROTO_BATCH:
        on_batch(f, a, &m);
        break;
    case PROTO_GOODBYE:
        on_goodbye(f, a, &m);
        break;
    default:
        log_warn("PROTO-UNEXPECTED", "agent=%s sent %s", a->name,
                 proto_type_name(m.type));
        (void)reply_reject(f, m.now_ns, "unexpected message");
        break;
    }
out:
    proto_msg_fini(&m);
}

static void
check_lost(struct fleet *f)
{
    uint64_t now = clock_now_ns();

    for (size_t i = 0; i < f->n_agents; i++) {
        struct agent *a = &f->agents[i];
        uint64_t silent = now - a->last_seen_ns;
        if (!a->lost && silent >= FLEET_LOST_MS * CLOCK_NS_PER_MS) {
            a->lost = true;
            log_warn("AGENT-LOST", "agent=%s id=%u missing_ms=%llu", a->name,
                     (unsigned)a->id,
                     (unsigned long long)(silent / CLOCK_NS_PER_MS));
        }
    }
}

/* Logs failed TLS handshakes: one line at once, then at most one per
 * FLEET_TLS_LOG_MS while they go on; final: now, whatever the time (the
 * socket is closing). */
static void
check_tls(struct fleet *f, bool final)
{
    uint64_t now = clock_now_ns();

    if (!f->tls || (!final && now < f->tls_check_ns)) {
        return;
    }
    if (final) {
        f->tls_log_ns = 0;
    }
    f->tls_check_ns = now + FLEET_TLS_CHECK_MS * CLOCK_NS_PER_MS;
    (void)tls_listener_failures(f->listener, &f->tls_fails);
    if (f->tls_fails > f->tls_logged && now >= f->tls_log_ns) {
        log_warn("TLS-HANDSHAKE",
                 "failed=%llu total=%llu: a peer could not complete the TLS "
                 "handshake (a plain tcp:// agent, one that does not trust "
                 "this certificate, or one whose client certificate was "
                 "refused); nng does not name the peer",
                 (unsigned long long)(f->tls_fails - f->tls_logged),
                 (unsigned long long)f->tls_fails);
        f->tls_logged = f->tls_fails;
        f->tls_log_ns = now + FLEET_TLS_LOG_MS * CLOCK_NS_PER_MS;
    }
}

int
fleet_poll(struct fleet *f)
{
    uint64_t t0 = clock_now_ns();
    int handled = 0;

    do {
        nng_msg *msg = NULL;
        int nrv = nng_recvmsg(f->sock, &msg, 0);
        if (nrv == NNG_ETIMEDOUT) {
            break;
        }
        if (nrv == NNG_ECLOSED) {
            return E_NET;
        }
        if (nrv != 0) {
            log_warn("NNG-RECV", "%s", nng_strerror(nrv));
            break;
        }
        f->cur = nng_msg_get_pipe(msg);
        f->cur_drop = false;
        handle(f, msg);
        nng_msg_free(msg);
        if (f->cur_drop) {
            uint32_t id = (uint32_t)nng_pipe_id(f->cur);
            struct handshake *hs = hs_by_pipe(f, id);
            if (hs != NULL) {
                memset(hs, 0, sizeof(*hs));
            }
            strike_clear(f, id);
            (void)nng_pipe_close(f->cur);
        }
        handled++;
    } while (clock_now_ns() - t0 < FLEET_POLL_MS * CLOCK_NS_PER_MS);
    check_lost(f);
    check_tls(f, false);
    return handled;
}
