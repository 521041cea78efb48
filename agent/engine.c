/* SPDX-License-Identifier: MIT */
/*
 * The load engine: worker threads running libcurl multi event loops over
 * preallocated virtual users (closed model), and the lock-free hand-off of
 * per-interval metrics to the control thread. See engine.h,
 * docs/internals/worker-loop.md and docs/internals/scheduling.md. Not the
 * control channel (control.c) nor the payloads (payload.c).
 */
#include "engine.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/rng.h"
#include "httpx.h"
#include "pattern.h"
#include "payload.h"

#include "../common/poison.h"

#ifndef KS_VERSION
#define KS_VERSION "dev"
#endif

#define RESP_KEEP          4096 /* response bytes kept for parsing */
#define URL_CAP            (PROTO_URL_MAX + HTTPX_SID_MAX + 32)
#define DRAIN_SLACK        (250 * CLOCK_NS_PER_MS) /* past the request timeout */
#define DEFAULT_TIMEOUT_MS 10000u /* drain bound when the timeout is 0 */
#define SESSION_RETRY_NS   CLOCK_NS_PER_S  /* at least, after a failed create */
#define LATE_NS            CLOCK_NS_PER_MS /* an arrival sent later is late */
#define SLOT_LEAD_NS       CLOCK_NS_PER_S  /* open slots: sessions this early */
/* The recovery test's unknown session: a well-formed id no server made. */
#define INVALID_SID       "00000000-0000-4000-8000-00000000dead"
#define SLOT_RETRY_MIN_NS (20 * CLOCK_NS_PER_MS)  /* a slot's failed create: */
#define SLOT_RETRY_NS     (200 * CLOCK_NS_PER_MS) /* retried within this */

/* --- single-producer single-consumer ring of buffer pointers ----------- */

/*
 * head is written only by the producer, tail only by the consumer. The
 * producer writes the slot, then publishes it with a release store of head;
 * the consumer reads head with acquire before it reads the slot, and
 * releases the slot with a release store of tail. Capacity ENGINE_NBUF: a
 * worker owns exactly that many buffers, so a push can never find it full.
 */
struct spsc {
    _Atomic size_t head;
    _Atomic size_t tail;
    struct metrics *slot[ENGINE_NBUF];
};

static bool
spsc_push(struct spsc *q, struct metrics *m)
{
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (h - t >= ENGINE_NBUF) {
        return false;
    }
    q->slot[h % ENGINE_NBUF] = m;
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return true;
}

static struct metrics *
spsc_peek(struct spsc *q)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    return h == t ? NULL : q->slot[t % ENGINE_NBUF];
}

static void
spsc_drop(struct spsc *q)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
}

static struct metrics *
spsc_pop(struct spsc *q)
{
    struct metrics *m = spsc_peek(q);
    if (m != NULL) {
        spsc_drop(q);
    }
    return m;
}

/* --- users and workers ---------------------------------------------------- */

struct worker;

/* One virtual user; owned by one worker thread. */
struct user {
    CURL *easy;
    struct worker *w;
    struct rng rng;
    uint64_t gi; /* index within the whole run, over every stream */
    uint32_t li; /* index among this agent's users of its stream */
    uint32_t si; /* its stream, an index into engine.st */
    int op;      /* the request in flight (or last) */
    bool open;   /* a connection slot of an open stream, not a user */
    bool has_session;
    bool in_flight;
    bool active;      /* among its stream's first k users now */
    bool in_heap;     /* idle and due: waiting in the worker's heap */
    uint32_t stm;     /* client-side STM count */
    uint64_t due_ns;  /* intended start of the next (or current) one */
    uint64_t sent_ns; /* handed to curl */
    size_t heap_pos;
    uint64_t ak;       /* open: the global index of its current arrival */
    size_t prefix_len; /* url[0..prefix_len) = {url}/sessions/{sid} */
    char url[URL_CAP];
    char *body;          /* body_cap bytes */
    size_t resp_len;     /* bytes kept in resp */
    uint64_t resp_total; /* bytes received in the body */
    char resp[RESP_KEEP];
};

struct engine;

/* A worker's part of one open stream: the global arrival sequence, of
 * which it takes arrivals k with k mod n_agents = agent_index and
 * (k div n_agents) mod nws = rank (its rank among the nws workers that
 * hold slots of the stream), and its free slots. */
struct wopen {
    struct pattern_arrivals it;
    bool live;        /* still taking arrivals */
    bool has_next;    /* next_k/next_ns hold its next arrival */
    uint64_t next_k;  /* global index */
    uint64_t next_ns; /* intended time, local clock */
    uint32_t rank;
    uint32_t nws;
    uint32_t n_free; /* slots at freel[seg[s] .. seg[s] + n_free) */
};

/*
 * One worker thread's world. Everything above the "shared" line is touched
 * only by the worker thread once it runs (and by the control thread only
 * before engine_start and after the join). Shared fields say who writes.
 */
struct worker {
    struct engine *e;
    uint32_t idx;
    pthread_t thread;
    bool started;
    bool joined;
    CURLM *multi;
    struct curl_slist *headers;
    struct user *users;
    uint32_t n_users;
    /* Its users of stream s are users[seg[s] .. seg[s] + seg_len[s]), in
     * increasing li (li = idx, idx + n_workers, ...), and the first
     * n_on[s] of them are the active ones. */
    uint32_t seg[PROTO_MAX_STREAMS];
    uint32_t seg_len[PROTO_MAX_STREAMS];
    uint32_t n_on[PROTO_MAX_STREAMS];
    struct wopen op_st[PROTO_MAX_STREAMS]; /* open streams only */
    struct user **freel;   /* free slots of open streams, by segment */
    uint64_t next_tick_ns; /* next re-evaluation of the patterns */
    struct user **heap;    /* min-heap by due_ns of idle users */
    size_t heap_len;
    struct metrics *bufs[ENGINE_NBUF]; /* all of them, for freeing */
    struct metrics *live;              /* recording now */
    uint32_t live_k;                   /* interval of now */
    uint32_t n_in_flight;
    uint32_t n_active;
    uint32_t n_open;      /* sockets libcurl holds open (opensocket and
                           * closesocket callbacks; the worker's thread,
                           * and engine_free's after the join) */
    uint64_t test_lag_ns; /* the test hook's injected lag (engine_new) */

    /* --- shared --- */
    struct spsc full;         /* worker -> control: finished buffers */
    struct spsc empty;        /* control -> worker: reset buffers */
    atomic_bool done;         /* worker: set (release) after its last publish */
    atomic_uint users_active; /* worker writes, anyone reads (relaxed) */
    atomic_uint in_flight;    /* worker writes, anyone reads (relaxed) */
    _Atomic uint64_t overflows; /* worker writes, anyone reads */

    /* --- control thread only --- */
    int64_t through; /* last interval covered by a merged buffer, -1 */
};

/* One stream as this agent runs it. */
struct estream {
    const struct proto_stream *s; /* in engine.a */
    bool open;                    /* open model: cap is connection slots */
    uint64_t pseed;               /* pattern_seed(run seed, index) */
    uint32_t cap;   /* this agent's users: its share of floor(peak), or
                     * of max_in_flight for an open stream */
    uint64_t gbase; /* global index of its first user */
    uint64_t start_ns, end_ns; /* the stream's window, local clock */
    uint64_t pace_ns;          /* 1 / rate_per_user; 0: unpaced */
    uint64_t think_ns;
};

struct engine {
    struct proto_assign a;
    struct estream st[PROTO_MAX_STREAMS];
    uint32_t n_streams;
    uint32_t n_users; /* all streams together */
    struct payload_gen *gen;
    struct payload_gen *gen_large; /* large observes; NULL: none */
    size_t body_cap;
    char sessions_url[PROTO_URL_MAX + 16];
    char invalid_url[PROTO_URL_MAX +
                     64]; /* {url}/sessions/INVALID_SID/observe */
    char session_body[2 * PROTO_NAME_MAX + 32];
    size_t session_body_len;
    double cum_mix[OP_COUNT]; /* cumulative, over OP_OBSERVE.. */
    uint64_t start_ns;
    uint64_t end_ns;
    uint64_t timeout_ns;
    bool adopted;     /* a lost agent's slice (engine_new_adopted) */
    uint64_t from_ms; /* adopted: nothing before this, since the start */
    uint64_t from_ns; /* the same instant, local clock (0: the start) */
    uint32_t n_workers;
    struct worker *w;
    atomic_int stop; /* 0, ENGINE_STOP_DRAIN or ENGINE_STOP_ABORT */
    bool started;
    bool finished;
    uint32_t next_k; /* control: next interval to return */
};

/* --- the min-heap of idle users ------------------------------------------ */

static void heap_sift_up(struct worker *w, size_t i);

static void
heap_swap(struct user **h, size_t i, size_t j)
{
    struct user *t = h[i];
    h[i] = h[j];
    h[j] = t;
    h[i]->heap_pos = i;
    h[j]->heap_pos = j;
}

static void
heap_push(struct worker *w, struct user *u)
{
    size_t i = w->heap_len++;
    w->heap[i] = u;
    u->heap_pos = i;
    u->in_heap = true;
    heap_sift_up(w, i);
}

static void
heap_sift_down(struct worker *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->heap_len && w->heap[l]->due_ns < w->heap[m]->due_ns) {
            m = l;
        }
        if (r < w->heap_len && w->heap[r]->due_ns < w->heap[m]->due_ns) {
            m = r;
        }
        if (m == i) {
            break;
        }
        heap_swap(w->heap, i, m);
        i = m;
    }
}

static void
heap_sift_up(struct worker *w, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (w->heap[p]->due_ns <= w->heap[i]->due_ns) {
            break;
        }
        heap_swap(w->heap, i, p);
        i = p;
    }
}

/* Takes u (in the heap) out of it. */
static void
heap_remove(struct worker *w, struct user *u)
{
    size_t i = u->heap_pos;

    u->in_heap = false;
    w->heap_len--;
    if (i == w->heap_len) {
        return;
    }
    w->heap[i] = w->heap[w->heap_len];
    w->heap[i]->heap_pos = i;
    heap_sift_down(w, i);
    heap_sift_up(w, i);
}

static struct user *
heap_pop(struct worker *w)
{
    struct user *top = w->heap[0];

    heap_remove(w, top);
    return top;
}

/* --- helpers ----------------------------------------------------------------
 */

static uint32_t
interval_of(const struct engine *e, uint64_t now)
{
    if (now <= e->start_ns) {
        return 0;
    }
    return (uint32_t)((now - e->start_ns) / CLOCK_NS_PER_S);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct user *u = ud;
    size_t n = size * nmemb;

    (void)httpx_keep(u->resp, &u->resp_len, RESP_KEEP, p, n);
    u->resp_total += n;
    return n;
}

/* --- the worker loop ------------------------------------------------------ */

static int
draw_op(struct engine *e, struct user *u)
{
    double x = rng_double(&u->rng);
    for (int op = OP_OBSERVE; op <= OP_CLEAR; op++) {
        if (x < e->cum_mix[op]) {
            return op;
        }
    }
    return OP_OBSERVE; /* rounding left a sliver, as the original did */
}

static void
set_suffix(struct user *u, const char *suffix)
{
    size_t n = strlen(suffix);
    memcpy(u->url + u->prefix_len, suffix, n + 1);
}

/* Prepares an invalid request on slot u (a session of its own made). */
static int
prepare_invalid(struct engine *e, struct user *u)
{
    unsigned k = (unsigned)(u->ak % 4u);
    size_t len = httpx_invalid_body(k, e->a.vector_dim, u->body, e->body_cap);
    CURLcode c;

    u->op = OP_INVALID;
    if (k == 3) {
        c = curl_easy_setopt(u->easy, CURLOPT_URL, e->invalid_url);
    } else {
        set_suffix(u, "/observe");
        c = curl_easy_setopt(u->easy, CURLOPT_URL, u->url);
    }
    if (c == CURLE_OK) {
        c = curl_easy_setopt(u->easy, CURLOPT_POSTFIELDS, u->body);
    }
    if (c == CURLE_OK) {
        c = curl_easy_setopt(u->easy, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    return c == CURLE_OK ? 0 : E_NET;
}

/* Prepares u's next request on its easy handle. Returns 0 or E_NET. */
static int
prepare(struct engine *e, struct user *u)
{
    CURL *h = u->easy;
    CURLcode c = CURLE_OK;
    size_t len = 0;
    int op;

    if (!u->has_session) {
        op = OP_SESSION;
    } else if (e->st[u->si].s->requests == PROTO_REQ_INVALID) {
        return prepare_invalid(e, u);
    } else if (e->st[u->si].s->requests != PROTO_REQ_MIX) {
        op = OP_OBSERVE; /* observe or large observe streams */
    } else {
        op = draw_op(e, u);
        if (op == OP_LEARN && u->stm == 0) {
            op = OP_OBSERVE; /* a real user observes before learning */
        }
    }
    u->op = op;
    switch (op) {
    case OP_SESSION:
        c = curl_easy_setopt(h, CURLOPT_URL, e->sessions_url);
        if (c == CURLE_OK) {
            c = curl_easy_setopt(h, CURLOPT_POSTFIELDS, e->session_body);
        }
        if (c == CURLE_OK) {
            c = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
                                 (long)e->session_body_len);
        }
        return c == CURLE_OK ? 0 : E_NET;
    case OP_OBSERVE:
        set_suffix(u, "/observe");
        if (payload_write(e->st[u->si].s->requests == PROTO_REQ_LARGE_OBSERVE
                              ? e->gen_large
                              : e->gen,
                          &u->rng, u->body, e->body_cap, &len) != 0) {
            return E_NET; /* cannot happen: body_cap is the bound */
        }
        break;
    case OP_LEARN:
        set_suffix(u, "/learn");
        break;
    case OP_PREDICTIONS:
        set_suffix(u, "/predictions");
        break;
    case OP_STM:
        set_suffix(u, "/stm");
        break;
    default:
        set_suffix(u, "/clear-stm");
        break;
    }
    c = curl_easy_setopt(h, CURLOPT_URL, u->url);
    if (c != CURLE_OK) {
        return E_NET;
    }
    if (op == OP_PREDICTIONS || op == OP_STM) {
        c = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (op != OP_OBSERVE) {
            u->body[0] = '\0';
        }
        c = curl_easy_setopt(h, CURLOPT_POSTFIELDS, u->body);
        if (c == CURLE_OK) {
            c = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
        }
    }
    return c == CURLE_OK ? 0 : E_NET;
}

static void
publish_live(struct worker *w)
{
    w->live->users_active = w->n_active;
    if (!spsc_push(&w->full, w->live)) {
        /* Impossible: the worker owns ENGINE_NBUF buffers in all. */
        log_error("AGENT-RING", "worker=%u full ring refused a buffer", w->idx);
    }
    w->live = NULL;
}

/* Hands the live buffer over when time has left its interval. */
static void
flush_if_due(struct worker *w, uint64_t now)
{
    uint32_t k = interval_of(w->e, now);
    struct metrics *nb;

    if (k <= w->live_k) {
        return;
    }
    nb = spsc_pop(&w->empty);
    if (nb == NULL) {
        /* The control thread is behind: keep recording here, say so. */
        atomic_fetch_add_explicit(&w->overflows, 1, memory_order_relaxed);
        w->live_k = k;
        return;
    }
    w->live->last = k - 1;
    publish_live(w);
    w->live = nb;
    nb->peak_in_flight = w->n_in_flight; /* carried into the interval */
    nb->peak_open = w->n_open;
    nb->first = k;
    nb->last = k;
    w->live_k = k;
}

static void
set_counters(struct worker *w)
{
    atomic_store_explicit(&w->in_flight, w->n_in_flight, memory_order_relaxed);
    atomic_store_explicit(&w->users_active, w->n_active, memory_order_relaxed);
}

static void slot_free(struct worker *w, struct user *u);

static void
start_request(struct worker *w, struct user *u, uint64_t now)
{
    struct engine *e = w->e;
    CURLMcode mc;

    u->resp_len = 0;
    u->resp_total = 0;
    if (prepare(e, u) != 0) {
        goto fail;
    }
    u->sent_ns = clock_now_ns();
    mc = curl_multi_add_handle(w->multi, u->easy);
    if (mc != CURLM_OK) {
        log_warn("AGENT-CURL", "worker=%u add_handle: %s", w->idx,
                 curl_multi_strerror(mc));
        goto fail;
    }
    u->in_flight = true;
    w->n_in_flight++;
    if (w->n_in_flight > w->live->peak_in_flight) {
        w->live->peak_in_flight = w->n_in_flight;
    }
    return;
fail:
    /* Counted, never silently lost; retried a second later (an open
     * slot with a session is free again: the arrival was the failure). */
    metrics_record(w->live, u->op, ERRK_OTHER, false, 0, 0, 0, 0);
    if (u->open && u->has_session) {
        slot_free(w, u);
        return;
    }
    u->due_ns = now + SESSION_RETRY_NS;
    heap_push(w, u);
}

static void
start_due(struct worker *w, uint64_t now)
{
    while (w->heap_len > 0 && w->heap[0]->due_ns <= now) {
        struct user *u = heap_pop(w);
        if (u->open) {
            /* A slot due to create its session (none after the end). */
            if (now >= w->e->st[u->si].end_ns) {
                continue;
            }
            if (u->has_session) {
                slot_free(w, u);
                continue;
            }
            start_request(w, u, now);
            continue;
        }
        if (now >= w->e->st[u->si].end_ns) {
            /* Its stream is over (between two ticks): it idles. The next
             * tick finds it inactive already. */
            u->active = false;
            w->n_active--;
            continue;
        }
        start_request(w, u, now);
    }
}

/* --- the open model: arrivals on connection slots ------------------------- */

static uint32_t worker_rel(const struct engine *e, const struct worker *w,
                           uint32_t si);

static void
slot_free(struct worker *w, struct user *u)
{
    struct wopen *o = &w->op_st[u->si];

    w->freel[w->seg[u->si] + o->n_free++] = u;
}

/* Moves o to the worker's next arrival of stream si, or clears
 * has_next when the sequence is over. */
static void
open_advance(struct worker *w, uint32_t si)
{
    const struct engine *e = w->e;
    struct wopen *o = &w->op_st[si];
    uint64_t k = 0, t = 0;

    o->has_next = false;
    while (pattern_arrivals_next(&o->it, &k, &t)) {
        /* An adopted slice starts at from_ns: the lost agent (or nobody)
         * had the arrivals before it. */
        if (e->st[si].start_ns + t < e->from_ns) {
            continue;
        }
        if (pattern_arrival_mine(k, e->a.n_agents, e->a.agent_index) &&
            (k / e->a.n_agents) % o->nws == o->rank) {
            o->has_next = true;
            o->next_k = k;
            o->next_ns = e->st[si].start_ns + t;
            return;
        }
    }
}

/*
 * Sets up the worker's open streams at its start: the arrival sequence,
 * and every slot due to create its session SLOT_LEAD_NS before the
 * stream's start, or at the run's start for a stream that starts later
 * than SLOT_LEAD_NS into the run (the pool test's blast must find every
 * slot with a session even when the target sheds load), and at once when
 * that has passed (START comes START_DELAY ahead of the run's start).
 */
static void
open_init(struct worker *w, uint64_t now)
{
    struct engine *e = w->e;

    for (uint32_t si = 0; si < e->n_streams; si++) {
        const struct estream *es = &e->st[si];
        struct wopen *o = &w->op_st[si];
        uint64_t lead = es->start_ns > e->start_ns + SLOT_LEAD_NS
                            ? e->start_ns
                            : es->start_ns - SLOT_LEAD_NS;
        uint64_t due = lead > now ? lead : now;

        if (!es->open || w->seg_len[si] == 0) {
            continue;
        }
        if (e->adopted && es->end_ns <= now) {
            continue; /* adopted after this stream's end: nothing to do */
        }
        o->rank = worker_rel(e, w, si);
        o->nws = es->cap < e->n_workers ? es->cap : e->n_workers;
        o->n_free = 0;
        pattern_arrivals_init(&o->it, es->s, es->pseed);
        o->live = true;
        open_advance(w, si);
        for (uint32_t j = 0; j < w->seg_len[si]; j++) {
            struct user *u = &w->users[w->seg[si] + j];
            u->due_ns = due;
            heap_push(w, u);
        }
    }
}

/* Counts the worker's arrivals of stream si intended before limit that
 * were not sent as unsent, and stops taking arrivals. */
static void
open_close(struct worker *w, uint32_t si, uint64_t limit)
{
    struct wopen *o = &w->op_st[si];

    while (o->has_next && o->next_ns < limit) {
        w->live->unsent++;
        open_advance(w, si);
    }
    o->live = false;
    o->has_next = false;
}

/*
 * Sends every due arrival of every open stream on a free slot; an arrival
 * that finds none stays due (its latency keeps counting from its intended
 * time) until a slot frees. A stream whose end has come stops taking
 * arrivals: those still unsent are counted (open_close).
 */
static void
open_release(struct worker *w, uint64_t now)
{
    struct engine *e = w->e;

    for (uint32_t si = 0; si < e->n_streams; si++) {
        struct wopen *o = &w->op_st[si];

        if (!e->st[si].open || !o->live) {
            continue;
        }
        while (o->has_next && o->next_ns <= now && o->n_free > 0) {
            struct user *u = w->freel[w->seg[si] + --o->n_free];
            u->due_ns = o->next_ns;
            u->ak = o->next_k;
            start_request(w, u, now);
            if (u->in_flight && u->sent_ns > u->due_ns + LATE_NS) {
                w->live->late++;
                w->live->late_us += (u->sent_ns - u->due_ns) / CLOCK_NS_PER_US;
            }
            open_advance(w, si);
        }
        if (now >= e->st[si].end_ns) {
            open_close(w, si, e->st[si].end_ns);
        }
    }
}

/* After a request on slot u finished: free again, or (its session gone or
 * never made) due to create one, now or after SESSION_RETRY_NS when the
 * creation failed; idle after the stream's end. */
static void
slot_done(struct worker *w, struct user *u, bool failed_create, uint64_t now)
{
    const struct estream *es = &w->e->st[u->si];

    if (u->has_session) {
        slot_free(w, u);
        return;
    }
    /* A slot retries a failed creation sooner than a user, at a random
     * moment within SLOT_RETRY_NS: the slots of a stream fail together
     * when the target sheds load, and must not retry together. */
    u->due_ns = failed_create ? now + SLOT_RETRY_MIN_NS +
                                    rng_range(&u->rng, 0, SLOT_RETRY_NS)
                              : now;
    if (u->due_ns < es->end_ns) {
        heap_push(w, u);
    }
}

/* --- patterns: who is active ---------------------------------------------- */

static void
activate(struct worker *w, struct user *u, uint64_t due)
{
    if (u->active) {
        return;
    }
    u->active = true;
    w->n_active++;
    if (!u->in_flight && !u->in_heap) {
        /* Starts at once; its first request creates its session when it
         * has none. Latency counts from the tick that activated it. */
        u->due_ns = due;
        heap_push(w, u);
    }
}

/* An in-flight request finishes normally; then the user idles. */
static void
deactivate(struct worker *w, struct user *u)
{
    if (!u->active) {
        return;
    }
    u->active = false;
    w->n_active--;
    if (u->in_heap) {
        heap_remove(w, u);
    }
}

/*
 * Re-evaluates every stream's pattern at the latest PATTERN_TICK_MS grid
 * instant (so every worker and every agent evaluates the same instants)
 * and makes this worker's share of the agent's share active. The agent's
 * users of a stream are dealt round-robin (li % n_workers), so the first
 * k of them give this worker pattern_share(k, n_workers, idx).
 */
static void
tick(struct worker *w, uint64_t now)
{
    struct engine *e = w->e;
    uint64_t tick_ns = (uint64_t)PATTERN_TICK_MS * CLOCK_NS_PER_MS;
    uint64_t grid = e->start_ns + (now - e->start_ns) / tick_ns * tick_ns;
    uint64_t run_ms = (grid - e->start_ns) / CLOCK_NS_PER_MS;

    for (uint32_t si = 0; si < e->n_streams; si++) {
        const struct estream *es = &e->st[si];
        const struct proto_stream *s = es->s;
        uint32_t k = 0, on;

        if (es->open) {
            continue; /* arrivals, not users: open_release */
        }
        if (run_ms >= s->start_ms && run_ms - s->start_ms < s->duration_ms &&
            run_ms >= e->from_ms) {
            double v = pattern_value(s, run_ms - s->start_ms, es->pseed);
            if (!(v > 0.0)) {
                v = 0.0;
            }
            if (v > s->peak) {
                v = s->peak;
            }
            k = pattern_share((uint32_t)floor(v), e->a.n_agents,
                              e->a.agent_index);
            if (k > es->cap) {
                k = es->cap;
            }
        }
        on = pattern_share(k, e->n_workers, w->idx);
        for (uint32_t j = w->n_on[si]; j < on; j++) {
            activate(w, &w->users[w->seg[si] + j], grid);
        }
        for (uint32_t j = on; j < w->n_on[si]; j++) {
            deactivate(w, &w->users[w->seg[si] + j]);
        }
        w->n_on[si] = on;
    }
    w->next_tick_ns = grid + tick_ns;
}

/* The per-group figures (docs/tests-design.md section 1) of a finished
 * request of a stream with group_ms > 0: its group is
 * floor((intended - stream start) / group_ms); sessions are not part of
 * any group. */
static void
record_group(struct worker *w, const struct user *u, uint32_t err, uint64_t now)
{
    const struct engine *e = w->e;
    const struct estream *es = &e->st[u->si];
    uint64_t g = 0;

    if (es->s->group_ms == 0 || u->op == OP_SESSION ||
        u->due_ns < es->start_ns) {
        return;
    }
    g = (u->due_ns - es->start_ns) / (es->s->group_ms * CLOCK_NS_PER_MS);
    metrics_record_group(w->live, u->si, (uint32_t)g, err,
                         (u->due_ns - e->start_ns) / CLOCK_NS_PER_US,
                         (now - e->start_ns) / CLOCK_NS_PER_US);
}

static void
finish_request(struct worker *w, struct user *u, CURLcode res, uint64_t now)
{
    struct engine *e = w->e;
    uint32_t err = 0;
    long status = 0, req_size = 0, hdr_size = 0;
    curl_off_t up = 0, down = 0;
    const struct estream *es;
    uint64_t next, sent;
    int op = u->op;

    if (res == CURLE_OK) {
        (void)curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
        err = httpx_status_error_key(status);
    } else {
        err = httpx_curl_error_key(res);
    }
    (void)curl_easy_getinfo(u->easy, CURLINFO_REQUEST_SIZE, &req_size);
    (void)curl_easy_getinfo(u->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    (void)curl_easy_getinfo(u->easy, CURLINFO_HEADER_SIZE, &hdr_size);
    (void)curl_easy_getinfo(u->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    sent = httpx_sent_bytes(req_size, up);

    switch (op) {
    case OP_SESSION:
        if (err == 0) {
            char sid[HTTPX_SID_MAX];
            size_t n = httpx_parse_session_id(u->resp, u->resp_len, sid);
            size_t base = strlen(e->sessions_url);
            if (n == 0 || base + 1 + n + 16 >= URL_CAP) {
                err = ERRK_OTHER; /* 2xx without a usable session id */
            } else {
                memcpy(u->url, e->sessions_url, base);
                u->url[base] = '/';
                memcpy(u->url + base + 1, sid, n);
                u->prefix_len = base + 1 + n;
                u->url[u->prefix_len] = '\0';
                u->has_session = true;
                u->stm = 0;
            }
        }
        break;
    case OP_OBSERVE:
        if (err == 0) {
            u->stm++;
        }
        break;
    case OP_LEARN:
        if (err == 0 || err == 400) {
            u->stm = 0; /* 400: the server's STM was empty after all */
        }
        break;
    case OP_CLEAR:
        if (err == 0) {
            u->stm = 0;
        }
        break;
    default:
        break;
    }
    /* An invalid request's 404 is the unknown session it named. */
    if (op != OP_SESSION && op != OP_INVALID && err == 404) {
        u->has_session = false; /* gone (expired, wiped): make a new one */
    }
    record_group(w, u, err, now);
    metrics_record(w->live, op, err, true, (now - u->due_ns) / CLOCK_NS_PER_US,
                   (now - u->sent_ns) / CLOCK_NS_PER_US, sent,
                   httpx_recv_bytes(hdr_size, down));
    u->in_flight = false;
    w->n_in_flight--;
    if (u->open) {
        slot_done(w, u, op == OP_SESSION && err != 0, now);
        return;
    }

    /* Closed model: the next intended start is the later of the pace
     * (intended + 1/rate) and the think time after this completion. */
    es = &e->st[u->si];
    next = now + es->think_ns;
    if (op == OP_SESSION && err != 0) {
        next = now + (es->think_ns > SESSION_RETRY_NS ? es->think_ns
                                                      : SESSION_RETRY_NS);
    } else if (es->pace_ns > 0 && u->due_ns + es->pace_ns > next) {
        next = u->due_ns + es->pace_ns;
    }
    u->due_ns = next;
    if (u->active) {
        heap_push(w, u);
    } /* else: deactivated while in flight, it idles now */
}

static void
drain_done(struct worker *w, uint64_t now)
{
    CURLMsg *msg;
    int left = 0;

    while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        char *priv = NULL;
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        (void)curl_multi_remove_handle(w->multi, easy);
        if (priv != NULL) {
            finish_request(w, (struct user *)(void *)priv, res, now);
        }
    }
}

/* Removes every in-flight request and counts it as aborted. */
static void
abort_all(struct worker *w, uint64_t now)
{
    /* Hand over first, so requests that finished after the boundary
     * count in the interval of now, like every other completion. */
    flush_if_due(w, now);
    drain_done(w, now); /* finished ones are not aborted */
    for (uint32_t i = 0; i < w->n_users; i++) {
        struct user *u = &w->users[i];
        if (!u->in_flight) {
            continue;
        }
        (void)curl_multi_remove_handle(w->multi, u->easy);
        record_group(w, u, ERRK_ABORTED, now);
        metrics_record(w->live, u->op, ERRK_ABORTED, false, 0, 0, 0, 0);
        u->in_flight = false;
        w->n_in_flight--;
    }
}

static int
poll_timeout_ms(struct worker *w, uint64_t now, bool draining,
                uint64_t drain_deadline, uint64_t *sub_ms, uint64_t *wake_out)
{
    struct engine *e = w->e;
    uint64_t wake = now + ENGINE_POLL_MAX_MS * CLOCK_NS_PER_MS;
    uint64_t boundary;

    if (!draining && w->heap_len > 0 && w->heap[0]->due_ns < wake) {
        wake = w->heap[0]->due_ns;
    }
    if (!draining && w->next_tick_ns < wake) {
        wake = w->next_tick_ns;
    }
    for (uint32_t si = 0; !draining && si < e->n_streams; si++) {
        const struct wopen *o = &w->op_st[si];
        if (!e->st[si].open || !o->live) {
            continue;
        }
        if (o->has_next && o->n_free > 0 && o->next_ns < wake) {
            wake = o->next_ns;
        }
        if (e->st[si].end_ns < wake) {
            wake = e->st[si].end_ns;
        }
    }
    boundary = e->start_ns + (uint64_t)(w->live_k + 1) * CLOCK_NS_PER_S;
    if (boundary < wake) {
        wake = boundary;
    }
    if (draining && drain_deadline < wake) {
        wake = drain_deadline;
    }
    if (!draining && e->end_ns < wake) {
        wake = e->end_ns;
    }
    *sub_ms = 0;
    *wake_out = wake;
    if (wake <= now) {
        return 0;
    }
    if (wake - now < CLOCK_NS_PER_MS) {
        *sub_ms = wake - now; /* poll() has ms resolution: sleep instead */
        return 0;
    }
    return (int)((wake - now) / CLOCK_NS_PER_MS);
}

/* Loop lag (docs/resources.md): how late the loop woke against the
 * deadline it slept for. A wake-up before the deadline (a socket was
 * ready) says nothing about lateness and is not counted. */
static void
note_lag(struct worker *w, uint64_t wake, uint64_t woke)
{
    uint64_t lag_us;

    if (woke < wake) {
        return;
    }
    lag_us = (woke - wake) / CLOCK_NS_PER_US;
    if (lag_us > w->live->lag_max_us) {
        w->live->lag_max_us = lag_us;
    }
    w->live->lag_sum_us += lag_us;
    w->live->lag_n++;
}

static void
worker_run(struct worker *w)
{
    struct engine *e = w->e;
    bool draining = false;
    uint64_t drain_deadline = 0;

    w->live_k = 0;
    w->live->first = 0;
    w->live->last = 0;
    w->next_tick_ns = e->start_ns; /* the first tick activates users */
    open_init(w, clock_now_ns());
    for (;;) {
        uint64_t now = clock_now_ns(), sub_ms = 0, wake = 0;
        int stop = atomic_load_explicit(&e->stop, memory_order_acquire);
        int running = 0, timeout;
        CURLMcode mc;

        if (stop == ENGINE_STOP_ABORT) {
            abort_all(w, now);
            break;
        }
        if (!draining && (stop == ENGINE_STOP_DRAIN || now >= e->end_ns)) {
            draining = true;
            drain_deadline = now + e->timeout_ns + DRAIN_SLACK;
            w->n_active = 0;
            /* Open streams: what is due now still goes when a slot is
             * free; the rest intended before now is counted unsent. */
            flush_if_due(w, now);
            if (stop != ENGINE_STOP_DRAIN) {
                open_release(w, now);
            }
            for (uint32_t si = 0; si < e->n_streams; si++) {
                if (e->st[si].open && w->op_st[si].live) {
                    open_close(w, si,
                               now < e->st[si].end_ns ? now + 1
                                                      : e->st[si].end_ns);
                }
            }
        }
        if (draining) {
            if (w->n_in_flight == 0) {
                break;
            }
            if (now >= drain_deadline) {
                abort_all(w, now);
                break;
            }
        }
        flush_if_due(w, now);
        if (!draining && now >= w->next_tick_ns) {
            tick(w, now);
        }
        if (!draining) {
            start_due(w, now);
            open_release(w, now);
        }
        set_counters(w);
        timeout =
            poll_timeout_ms(w, now, draining, drain_deadline, &sub_ms, &wake);
        if (sub_ms > 0) {
            clock_sleep_ns(sub_ms);
        }
        mc = curl_multi_poll(w->multi, NULL, 0, timeout, NULL);
        if (w->test_lag_ns > 0) {
            clock_sleep_ns(w->test_lag_ns); /* test hook: a slow loop */
        }
        note_lag(w, wake, clock_now_ns());
        if (mc == CURLM_OK) {
            mc = curl_multi_perform(w->multi, &running);
        }
        if (mc != CURLM_OK) {
            log_error("AGENT-CURL", "worker=%u multi: %s", w->idx,
                      curl_multi_strerror(mc));
            abort_all(w, clock_now_ns());
            break;
        }
        now = clock_now_ns();
        flush_if_due(w, now);
        drain_done(w, now);
    }
    {
        uint64_t now = clock_now_ns();
        flush_if_due(w, now);
        w->n_active = 0;
        set_counters(w);
        w->live->last = w->live_k;
        publish_live(w);
    }
    atomic_store_explicit(&w->done, true, memory_order_release);
}

static void *
worker_main(void *arg)
{
    worker_run(arg);
    return NULL;
}

/* --- construction ------------------------------------------------------- */

/* The global units of stream i: floor(peak) users (closed), or
 * max_in_flight connection slots (open). */
static uint32_t
stream_total(const struct proto_stream *s)
{
    return s->model == PROTO_MODEL_OPEN ? s->max_in_flight
                                        : (uint32_t)floor(s->peak);
}

/* This agent's users (or slots) of stream i: its share of the total. An
 * adopted slice of an open stream gets a slot at least, however thin the
 * slice: its arrivals need one to go out on. */
static uint32_t
stream_cap(const struct proto_assign *a, uint32_t i, bool adopted)
{
    uint32_t cap = pattern_share(stream_total(&a->streams[i]), a->n_agents,
                                 a->agent_index);

    if (adopted && cap == 0 && a->streams[i].model == PROTO_MODEL_OPEN) {
        cap = 1;
    }
    return cap;
}

static const char *
requests_name(uint32_t r)
{
    switch (r) {
    case PROTO_REQ_MIX:
        return "mix";
    case PROTO_REQ_OBSERVE:
        return "observe";
    case PROTO_REQ_LARGE_OBSERVE:
        return "large_observe";
    case PROTO_REQ_INVALID:
        return "invalid";
    default:
        return "unknown";
    }
}

/* engine_check, and for an adopted slice (adopted) without the bound of
 * one slot per agent: a slice of N agents' worth is not an agent. */
static int
check_streams(const struct proto_assign *a, bool adopted, char *err,
              size_t errlen)
{
    uint64_t users = 0;

    if (a->n_agents == 0 || a->agent_index >= a->n_agents) {
        (void)snprintf(err, errlen, "agent index %u of %u agents",
                       a->agent_index, a->n_agents);
        return E_INVAL;
    }
    if (a->n_streams == 0 || a->n_streams > PROTO_MAX_STREAMS) {
        (void)snprintf(err, errlen, "%u streams: 1..%d", a->n_streams,
                       PROTO_MAX_STREAMS);
        return E_INVAL;
    }
    for (uint32_t i = 0; i < a->n_streams; i++) {
        const struct proto_stream *s = &a->streams[i];
        if (s->model > PROTO_MODEL_OPEN) {
            (void)snprintf(err, errlen, "stream %u: unknown model", i);
            return E_INVAL;
        }
        /* Every agent takes a residue class of the arrivals, so every
         * agent needs a slot to send them on. */
        if (!adopted && s->model == PROTO_MODEL_OPEN &&
            s->max_in_flight < a->n_agents) {
            (void)snprintf(err, errlen,
                           "stream %u: max_in_flight %u is below the %u "
                           "agents (each needs a slot)",
                           i, s->max_in_flight, a->n_agents);
            return E_INVAL;
        }
        /* Said plainly rather than approximated: these land with the
         * tests that need them (docs/tests-design.md). */
        if (s->requests != PROTO_REQ_MIX && s->requests != PROTO_REQ_OBSERVE &&
            s->requests != PROTO_REQ_LARGE_OBSERVE &&
            !(s->requests == PROTO_REQ_INVALID &&
              s->model == PROTO_MODEL_OPEN)) {
            (void)snprintf(err, errlen,
                           "request kind %s is not implemented yet",
                           requests_name(s->requests));
            return E_INVAL;
        }
        if (s->burst_size > 0 &&
            (s->model != PROTO_MODEL_OPEN ||
             (s->burst_count > 1 && s->burst_ms > s->burst_every_ms))) {
            (void)snprintf(err, errlen,
                           "stream %u: bursts need an open stream and a "
                           "window no longer than the interval",
                           i);
            return E_INVAL;
        }
        if (s->connections > PROTO_CONN_FRESH ||
            s->pattern >= CONFIG_PATTERN_COUNT) {
            (void)snprintf(err, errlen, "stream %u: unknown enum value", i);
            return E_INVAL;
        }
        if (!(s->initial >= 0.0) || !(s->peak >= s->initial) ||
            !(s->peak < 4294967296.0)) {
            (void)snprintf(err, errlen, "stream %u: invalid initial/peak", i);
            return E_INVAL;
        }
        if (!(s->rate_per_user >= 0.0) || !isfinite(s->rate_per_user)) {
            (void)snprintf(err, errlen, "stream %u: invalid rate_per_user", i);
            return E_INVAL;
        }
        users += stream_cap(a, i, adopted);
    }
    if (users > ENGINE_MAX_USERS) {
        (void)snprintf(err, errlen, "%llu users: at most %u per agent",
                       (unsigned long long)users, ENGINE_MAX_USERS);
        return E_RANGE;
    }
    if (users == 0) {
        (void)snprintf(err, errlen, "no users assigned");
        return E_INVAL;
    }
    return 0;
}

int
engine_check(const struct proto_assign *a, char *err, size_t errlen)
{
    return check_streams(a, false, err, errlen);
}

static int
check_assign(struct engine *e, char *err, size_t errlen)
{
    const struct proto_assign *a = &e->a;
    uint64_t goff = 0;
    double sum = 0;
    int rv;

    if (strncmp(a->url, "http://", 7) != 0 &&
        strncmp(a->url, "https://", 8) != 0) {
        (void)snprintf(err, errlen, "url '%s' is not http(s)", a->url);
        return E_INVAL;
    }
    rv = check_streams(a, e->adopted, err, errlen);
    if (rv != 0) {
        return rv;
    }
    e->n_streams = a->n_streams;
    e->n_users = 0;
    for (uint32_t i = 0; i < a->n_streams; i++) {
        struct estream *es = &e->st[i];
        es->s = &a->streams[i];
        es->open = es->s->model == PROTO_MODEL_OPEN;
        es->pseed = pattern_seed(a->seed, i);
        es->cap = stream_cap(a, i, e->adopted);
        /* Global user ids: stream by stream, agent by agent, so every
         * user of the run has its own (and its own rng seed). */
        es->gbase = goff + pattern_base(stream_total(es->s), a->n_agents,
                                        a->agent_index);
        goff += stream_total(es->s);
        if (e->adopted) {
            /* Its own user ids (and rng seeds), apart from the agents'. */
            es->gbase += (e->from_ms + 1) << 32;
        }
        es->pace_ns = es->s->rate_per_user > 0.0
                          ? (uint64_t)(1e9 / es->s->rate_per_user)
                          : 0;
        es->think_ns = (uint64_t)es->s->think_ms * CLOCK_NS_PER_MS;
        e->n_users += es->cap;
    }
    if (a->mix[OP_SESSION] != 0.0) {
        (void)snprintf(err, errlen, "mix for %s must be 0",
                       ops_name(OP_SESSION));
        return E_INVAL;
    }
    if (a->mix[OP_INVALID] != 0.0) {
        (void)snprintf(err, errlen, "mix names %s: not a user's operation",
                       ops_name(OP_INVALID));
        return E_INVAL;
    }
    for (int op = OP_OBSERVE; op < OP_COUNT; op++) {
        if (!(a->mix[op] >= 0.0) || !isfinite(a->mix[op])) {
            (void)snprintf(err, errlen, "invalid mix for %s", ops_name(op));
            return E_INVAL;
        }
        sum += a->mix[op];
        e->cum_mix[op] = sum;
    }
    /* PROTOCOL.md section 3.8: the agent checks the meaning; the config
     * loader enforces the same bound, summing in the same order. */
    if (fabs(sum - 1.0) > 1e-6) {
        (void)snprintf(err, errlen, "mix sums to %.9g, not 1", sum);
        return E_INVAL;
    }
    if (httpx_session_body(e->a.node_id, e->session_body,
                           sizeof(e->session_body),
                           &e->session_body_len) != 0) {
        (void)snprintf(err, errlen, "node_id is not printable or too long");
        return E_INVAL;
    }
    return 0;
}

/* libcurl's socket callbacks: the worker counts the connections its
 * multi holds open (keep-alive ones included), its own figure rather
 * than a scan of /proc/self/fd, which would also see the control
 * channel. */
static curl_socket_t
on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct worker *w = ud;
    curl_socket_t fd;

    (void)purpose;
    fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd != CURL_SOCKET_BAD) {
        w->n_open++;
        if (w->live != NULL && w->n_open > w->live->peak_open) {
            w->live->peak_open = w->n_open;
        }
    }
    return fd;
}

static int
on_close_socket(void *ud, curl_socket_t fd)
{
    struct worker *w = ud;

    if (w->n_open > 0) {
        w->n_open--;
    }
    return close(fd);
}

static int
setup_easy(struct worker *w, struct user *u)
{
    struct engine *e = w->e;
    CURL *h = curl_easy_init();
    CURLcode c = CURLE_OK;

    if (h == NULL) {
        return E_NOMEM;
    }
    u->easy = h;
#define SET(opt, val)                              \
    do {                                           \
        if (c == CURLE_OK) {                       \
            c = curl_easy_setopt(h, (opt), (val)); \
        }                                          \
    } while (0)
    SET(CURLOPT_PRIVATE, (void *)u);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)u);
    SET(CURLOPT_HTTPHEADER, w->headers);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_TIMEOUT_MS, (long)e->a.timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)e->a.connect_timeout_ms);
    SET(CURLOPT_PROXY, ""); /* never through an environment proxy */
    SET(CURLOPT_USERAGENT, "kato-stress/" KS_VERSION);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, (void *)w);
    SET(CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    SET(CURLOPT_CLOSESOCKETDATA, (void *)w);
    if (e->st[u->si].s->connections == PROTO_CONN_FRESH) {
        SET(CURLOPT_FRESH_CONNECT, 1L);
        SET(CURLOPT_FORBID_REUSE, 1L);
    }
#undef SET
    if (c != CURLE_OK) {
        log_error("AGENT-CURL", "setopt: %s", curl_easy_strerror(c));
        return E_NET;
    }
    return 0;
}

/*
 * Stream si's users are dealt round-robin over the workers, starting
 * where the previous stream's left off (balance): user li goes to worker
 * (li + off) % n_workers with off the earlier streams' users. This is the
 * worker's rank in that deal; its users are li = rank, rank + n_workers,
 * ... and the first k of the stream give it pattern_share(k, nw, rank).
 */
static uint32_t
worker_rel(const struct engine *e, const struct worker *w, uint32_t si)
{
    uint64_t off = 0;

    for (uint32_t j = 0; j < si; j++) {
        off += e->st[j].cap;
    }
    return (uint32_t)((w->idx + e->n_workers - off % e->n_workers) %
                      e->n_workers);
}

static int
setup_worker(struct engine *e, struct worker *w)
{
    int rv = 0;
    struct curl_slist *l;

    w->e = e;
    w->through = -1;
    atomic_init(&w->done, false);
    atomic_init(&w->users_active, 0);
    atomic_init(&w->in_flight, 0);
    atomic_init(&w->overflows, 0);
    atomic_init(&w->full.head, 0);
    atomic_init(&w->full.tail, 0);
    atomic_init(&w->empty.head, 0);
    atomic_init(&w->empty.tail, 0);
    for (int i = 0; i < ENGINE_NBUF; i++) {
        if ((rv = metrics_new(&w->bufs[i])) != 0) {
            return rv;
        }
    }
    w->live = w->bufs[0];
    for (int i = 1; i < ENGINE_NBUF; i++) {
        (void)spsc_push(&w->empty, w->bufs[i]);
    }
    w->multi = curl_multi_init();
    if (w->multi == NULL) {
        return E_NOMEM;
    }
    if (curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS,
                          (long)w->n_users + 8) != CURLM_OK) {
        return E_NET;
    }
    l = curl_slist_append(NULL, "Content-Type: application/json");
    if (l == NULL) {
        return E_NOMEM;
    }
    w->headers = l;
    l = curl_slist_append(w->headers, "Expect:");
    if (l == NULL) {
        return E_NOMEM;
    }
    w->headers = l;
    if (w->n_users > 0) {
        w->users = xcalloc(w->n_users, sizeof(*w->users));
        w->heap = xcalloc(w->n_users, sizeof(*w->heap));
        w->freel = xcalloc(w->n_users, sizeof(*w->freel));
        if (w->users == NULL || w->heap == NULL || w->freel == NULL) {
            return E_NOMEM;
        }
    }
    for (uint32_t i = 0; i < w->n_users; i++) {
        struct user *u = &w->users[i];
        uint32_t si = 0;
        while (si + 1 < e->n_streams && i >= w->seg[si] + w->seg_len[si]) {
            si++;
        }
        u->w = w;
        u->si = si;
        u->open = e->st[si].open;
        u->li = worker_rel(e, w, si) + (i - w->seg[si]) * e->n_workers;
        u->gi = e->st[si].gbase + u->li;
        rng_seed(&u->rng,
                 e->a.seed ^ (0x9e3779b97f4a7c15ULL * ((uint64_t)u->gi + 1)));
        u->body = xmalloc(e->body_cap);
        if (u->body == NULL) {
            return E_NOMEM;
        }
        u->body[0] = '\0';
        if ((rv = setup_easy(w, u)) != 0) {
            return rv;
        }
    }
    return 0;
}

static void
join_workers(struct engine *e)
{
    for (uint32_t i = 0; e->w != NULL && i < e->n_workers; i++) {
        struct worker *w = &e->w[i];
        if (w->started && !w->joined) {
            (void)pthread_join(w->thread, NULL);
            w->joined = true;
        }
    }
}

void
engine_free(struct engine *e)
{
    if (e == NULL) {
        return;
    }
    engine_stop(e, ENGINE_STOP_ABORT);
    join_workers(e);
    for (uint32_t i = 0; e->w != NULL && i < e->n_workers; i++) {
        struct worker *w = &e->w[i];
        for (uint32_t j = 0; w->users != NULL && j < w->n_users; j++) {
            struct user *u = &w->users[j];
            if (u->easy != NULL) {
                if (u->in_flight && w->multi != NULL) {
                    (void)curl_multi_remove_handle(w->multi, u->easy);
                }
                curl_easy_cleanup(u->easy);
            }
            xfree(u->body);
        }
        if (w->multi != NULL) {
            (void)curl_multi_cleanup(w->multi);
        }
        curl_slist_free_all(w->headers);
        for (int k = 0; k < ENGINE_NBUF; k++) {
            metrics_free(w->bufs[k]);
        }
        xfree(w->users);
        xfree(w->heap);
        xfree(w->freel);
    }
    xfree(e->w);
    payload_gen_free(e->gen);
    payload_gen_free(e->gen_large);
    xfree(e);
}

/*
 * The large observe's generator (the pool test, docs/tests-design.md
 * 5.4) when a stream asks for it: the payload's configuration with
 * exactly large_strings strings (max_strings when 0) and always one
 * vector of the node's dimension. Grows body_cap to its bound.
 */
static int
setup_large(struct engine *e, char *err, size_t errlen)
{
    struct payload_cfg lc = e->a.data;
    uint32_t n = e->a.large_strings;
    bool want = false;
    int rv = 0;

    for (uint32_t i = 0; i < e->a.n_streams; i++) {
        want = want || e->a.streams[i].requests == PROTO_REQ_LARGE_OBSERVE;
    }
    if (!want) {
        return 0;
    }
    if (n == 0) {
        n = lc.max_strings_per_observation;
    }
    lc.min_strings_per_observation = n;
    lc.max_strings_per_observation = n;
    lc.vector_probability = 1.0;
    rv = payload_gen_new(&e->gen_large, &lc, e->a.vector_dim, e->a.seed);
    if (rv != 0) {
        (void)snprintf(err, errlen, "large observe (%u strings): %s", n,
                       err_str(rv));
        return rv;
    }
    if (payload_gen_max_size(e->gen_large) > e->body_cap) {
        e->body_cap = payload_gen_max_size(e->gen_large);
    }
    return 0;
}

/*
 * The test hook ENGINE_TEST_LAG_ENV (docs/resources.md): each worker
 * sleeps that many ms after every poll, so a test can make an agent's
 * loop late on purpose (the saturation flag) without needing a machine
 * busy enough to do it. 0 (unset, empty, not a number, above 1000) in
 * normal runs.
 */
static uint64_t
test_lag_ns(void)
{
    const char *v = getenv(ENGINE_TEST_LAG_ENV);
    char *end = NULL;
    unsigned long ms;

    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    ms = strtoul(v, &end, 10);
    if (end == v || *end != '\0' || ms > 1000) {
        return 0;
    }
    if (ms > 0) {
        log_warn("AGENT-TEST-LAG",
                 "%s=%lu: every worker loop sleeps %lu ms "
                 "(a test hook)",
                 ENGINE_TEST_LAG_ENV, ms, ms);
    }
    return (uint64_t)ms * CLOCK_NS_PER_MS;
}

/* engine_new, and engine_new_adopted when adopted. */
static int
new_engine(struct engine **out, const struct proto_assign *a, uint32_t threads,
           bool adopted, uint64_t from_ms, char *err, size_t errlen)
{
    struct engine *e = NULL;
    uint32_t nw;
    uint64_t lag_ns = 0;
    int rv = 0;

    if (threads == 0 || threads > ENGINE_MAX_THREADS) {
        (void)snprintf(err, errlen, "threads must be 1..%d",
                       ENGINE_MAX_THREADS);
        return E_INVAL;
    }
    e = xcalloc(1, sizeof(*e));
    if (e == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    e->a = *a;
    e->adopted = adopted;
    e->from_ms = from_ms;
    atomic_init(&e->stop, 0);
    if ((rv = check_assign(e, err, errlen)) != 0) {
        goto out;
    }
    rv = payload_gen_new(&e->gen, &a->data, a->vector_dim, a->seed);
    if (rv != 0) {
        (void)snprintf(err, errlen, "payload configuration: %s", err_str(rv));
        goto out;
    }
    e->body_cap = payload_gen_max_size(e->gen);
    /* An invalid request's body: a vector of vector_dim + 1 numbers. */
    if (e->body_cap < 64u + 4u * ((size_t)a->vector_dim + 1u)) {
        e->body_cap = 64u + 4u * ((size_t)a->vector_dim + 1u);
    }
    if ((rv = setup_large(e, err, errlen)) != 0) {
        goto out;
    }
    (void)snprintf(e->sessions_url, sizeof(e->sessions_url), "%s/sessions",
                   a->url);
    (void)snprintf(e->invalid_url, sizeof(e->invalid_url),
                   "%s/sessions/%s/observe", a->url, INVALID_SID);
    e->timeout_ns =
        (uint64_t)(a->timeout_ms ? a->timeout_ms : DEFAULT_TIMEOUT_MS) *
        CLOCK_NS_PER_MS;
    nw = threads;
    if (nw > e->n_users) {
        nw = e->n_users; /* > 0: engine_check */
    }
    e->n_workers = nw;
    e->w = xcalloc(nw, sizeof(*e->w));
    if (e->w == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < nw; i++) {
        struct worker *w = &e->w[i];
        w->idx = i;
        w->e = e;
        for (uint32_t si = 0; si < e->n_streams; si++) {
            w->seg[si] = w->n_users;
            w->seg_len[si] =
                pattern_share(e->st[si].cap, nw, worker_rel(e, w, si));
            w->n_users += w->seg_len[si];
        }
    }
    lag_ns = test_lag_ns();
    for (uint32_t i = 0; i < nw; i++) {
        if ((rv = setup_worker(e, &e->w[i])) != 0) {
            (void)snprintf(err, errlen, "worker set-up: %s", err_str(rv));
            goto out;
        }
        e->w[i].test_lag_ns = lag_ns;
    }
    *out = e;
    e = NULL;
out:
    engine_free(e);
    return rv;
}

int
engine_new(struct engine **out, const struct proto_assign *a, uint32_t threads,
           char *err, size_t errlen)
{
    return new_engine(out, a, threads, false, 0, err, errlen);
}

int
engine_new_adopted(struct engine **out, const struct proto_assign *a,
                   uint32_t threads, uint64_t from_ms, char *err, size_t errlen)
{
    return new_engine(out, a, threads, true, from_ms, err, errlen);
}

/* --- control-thread side -------------------------------------------------- */

int
engine_start(struct engine *e, uint64_t start_ns)
{
    int rv = 0;

    if (e->started) {
        return E_STATE;
    }
    e->started = true;
    e->start_ns = start_ns;
    e->end_ns = start_ns + e->a.duration_ms * CLOCK_NS_PER_MS;
    e->from_ns = e->from_ms > 0 ? start_ns + e->from_ms * CLOCK_NS_PER_MS : 0;
    for (uint32_t i = 0; i < e->n_streams; i++) {
        struct estream *es = &e->st[i];
        es->start_ns = start_ns + es->s->start_ms * CLOCK_NS_PER_MS;
        es->end_ns = es->start_ns + es->s->duration_ms * CLOCK_NS_PER_MS;
    }
    for (uint32_t i = 0; i < e->n_workers; i++) {
        struct worker *w = &e->w[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            log_error("AGENT-THREAD", "cannot start worker %u", i);
            rv = E_NOMEM;
            break;
        }
        w->started = true;
    }
    if (rv != 0) {
        engine_stop(e, ENGINE_STOP_ABORT);
        join_workers(e);
        /* Workers that never ran publish their (empty) buffer here: no
         * other thread touches them. */
        for (uint32_t i = 0; i < e->n_workers; i++) {
            struct worker *w = &e->w[i];
            if (!w->started) {
                w->live->first = w->live->last = 0;
                publish_live(w);
                atomic_store_explicit(&w->done, true, memory_order_release);
            }
        }
    }
    return rv;
}

void
engine_stop(struct engine *e, enum engine_stop how)
{
    int cur = atomic_load(&e->stop);

    while (cur < (int)how &&
           !atomic_compare_exchange_weak(&e->stop, &cur, (int)how)) {
    }
    for (uint32_t i = 0; e->w != NULL && i < e->n_workers; i++) {
        if (e->w[i].multi != NULL) {
            (void)curl_multi_wakeup(e->w[i].multi);
        }
    }
}

int
engine_collect(struct engine *e, struct metrics *agg, uint32_t *k)
{
    bool all_past = true, all_done = true;
    int64_t last = -1;

    if (e->finished || !e->started) {
        return e->finished ? ENGINE_FINISHED : ENGINE_NOTHING;
    }
    for (uint32_t i = 0; i < e->n_workers; i++) {
        struct worker *w = &e->w[i];
        bool done = atomic_load_explicit(&w->done, memory_order_acquire);
        struct metrics *b;

        /* Merge every buffer that starts at or before the interval we
         * are building; later ones wait for their turn. */
        while ((b = spsc_peek(&w->full)) != NULL &&
               (int64_t)b->first <= (int64_t)e->next_k) {
            spsc_drop(&w->full);
            metrics_add(agg, b);
            if ((int64_t)b->last > w->through) {
                w->through = b->last;
            }
            metrics_reset(b);
            (void)spsc_push(&w->empty, b);
        }
        if (w->through < (int64_t)e->next_k && b == NULL) {
            /* Neither merged past next_k nor a later buffer waiting:
             * this worker may still record into next_k, unless done. */
            all_past = all_past && done;
        }
        if (!(done && spsc_peek(&w->full) == NULL)) {
            all_done = false;
        }
        if (w->through > last) {
            last = w->through;
        }
    }
    if (all_done && (int64_t)e->next_k > last) {
        join_workers(e);
        e->finished = true;
        return ENGINE_FINISHED;
    }
    if (all_past) {
        *k = e->next_k++;
        return ENGINE_INTERVAL;
    }
    return ENGINE_NOTHING;
}

uint32_t
engine_users_active(const struct engine *e)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < e->n_workers; i++) {
        n += atomic_load_explicit(&e->w[i].users_active, memory_order_relaxed);
    }
    return n;
}

uint32_t
engine_in_flight(const struct engine *e)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < e->n_workers; i++) {
        n += atomic_load_explicit(&e->w[i].in_flight, memory_order_relaxed);
    }
    return n;
}

uint64_t
engine_ring_overflows(const struct engine *e)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < e->n_workers; i++) {
        n += atomic_load_explicit(&e->w[i].overflows, memory_order_relaxed);
    }
    return n;
}
