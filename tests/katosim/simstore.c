/* SPDX-License-Identifier: MIT */
/*
 * Sessions and nodes in two chained hash maps under one mutex; see
 * simstore.h. Each STM keeps its length exactly and the content of only its
 * newest SIMSTORE_STM_KEEP events, so memory per session stays bounded.
 */
#include "simstore.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../common/alloc.h"
#include "../../common/err.h"
#include "../../common/rng.h"

#include "../../common/poison.h"

#define MIN_BUCKETS 1024u

struct node {
    struct node *next; /* hash chain */
    size_t dim;        /* locked vector dimension; 0 = not locked yet */
    uint64_t patterns; /* learn calls since the last clear-all */
    char last_pattern[SIMSTORE_PATTERN_MAX]; /* "" until the first learn */
    size_t name_len;
    char name[]; /* name_len bytes + NUL */
};

struct session {
    struct session *next; /* hash chain */
    struct node *node;    /* borrowed: nodes live until simstore_free */
    uint64_t created_ms;
    uint64_t time;
    size_t stm_len;
    char **ring;      /* SIMSTORE_STM_KEEP slots, allocated on first event */
    size_t ring_next; /* slot the next event goes to */
    char id[SIMSTORE_SID_MAX];
};

struct simstore {
    /*
     * Protects every field below and every session and node reachable
     * from them. Taken for the whole of each simstore_* call (except
     * simstore_free), never held while calling out of this file, never
     * nested with another lock.
     */
    pthread_mutex_t lock;
    struct session **sessions; /* nsbuckets chains */
    size_t nsbuckets;          /* a power of two */
    size_t nsessions;
    size_t max_sessions;
    struct node **nodes; /* nnbuckets chains */
    size_t nnbuckets;    /* a power of two */
    size_t nnodes;
    size_t max_nodes;
    struct rng rng; /* session ids */
};

static uint64_t
fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_BASIS 0xcbf29ce484222325ULL

/* --- maps ----------------------------------------------------------------- */

static struct session **
session_slot(struct simstore *s, const char *sid)
{
    size_t n = strlen(sid);
    struct session **pp;

    pp = &s->sessions[fnv1a(sid, n, FNV_BASIS) & (s->nsbuckets - 1)];
    while (*pp != NULL && strcmp((*pp)->id, sid) != 0) {
        pp = &(*pp)->next;
    }
    return pp;
}

static struct session *
session_find(struct simstore *s, const char *sid)
{
    if (strlen(sid) >= SIMSTORE_SID_MAX) {
        return NULL;
    }
    return *session_slot(s, sid);
}

/* Doubles the session table when it is 3/4 full; failure is harmless
 * (chains just grow longer). */
static void
sessions_grow(struct simstore *s)
{
    size_t n = s->nsbuckets * 2;
    struct session **t;

    if (s->nsessions < s->nsbuckets / 4 * 3) {
        return;
    }
    t = xcalloc(n, sizeof(*t));
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nsbuckets; i++) {
        struct session *e = s->sessions[i], *next;
        for (; e != NULL; e = next) {
            size_t h = fnv1a(e->id, strlen(e->id), FNV_BASIS) & (n - 1);
            next = e->next;
            e->next = t[h];
            t[h] = e;
        }
    }
    xfree(s->sessions);
    s->sessions = t;
    s->nsbuckets = n;
}

static void
nodes_grow(struct simstore *s)
{
    size_t n = s->nnbuckets * 2;
    struct node **t;

    if (s->nnodes < s->nnbuckets / 4 * 3) {
        return;
    }
    t = xcalloc(n, sizeof(*t));
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nnbuckets; i++) {
        struct node *e = s->nodes[i], *next;
        for (; e != NULL; e = next) {
            size_t h = fnv1a(e->name, e->name_len, FNV_BASIS) & (n - 1);
            next = e->next;
            e->next = t[h];
            t[h] = e;
        }
    }
    xfree(s->nodes);
    s->nodes = t;
    s->nnbuckets = n;
}

/* Finds or creates the node; NULL with *rv set on failure. */
static struct node *
node_get(struct simstore *s, const char *name, size_t len, int *rv)
{
    struct node **pp, *nd;

    pp = &s->nodes[fnv1a(name, len, FNV_BASIS) & (s->nnbuckets - 1)];
    for (nd = *pp; nd != NULL; nd = nd->next) {
        if (nd->name_len == len && memcmp(nd->name, name, len) == 0) {
            return nd;
        }
    }
    if (s->nnodes >= s->max_nodes) {
        *rv = E_TOOBIG;
        return NULL;
    }
    nd = xcalloc(1, sizeof(*nd) + len + 1);
    if (nd == NULL) {
        *rv = E_NOMEM;
        return NULL;
    }
    memcpy(nd->name, name, len);
    nd->name_len = len;
    nd->next = *pp;
    *pp = nd;
    s->nnodes++;
    nodes_grow(s);
    return nd;
}

/* --- sessions ------------------------------------------------------------- */

static void
stm_clear(struct session *se)
{
    if (se->ring != NULL) {
        for (size_t i = 0; i < SIMSTORE_STM_KEEP; i++) {
            xfree(se->ring[i]);
            se->ring[i] = NULL;
        }
    }
    se->stm_len = 0;
    se->ring_next = 0;
}

static void
session_free(struct session *se)
{
    stm_clear(se);
    xfree(se->ring);
    xfree(se);
}

/* Number of ring slots holding content, and the slot of the oldest. */
static size_t
ring_valid(const struct session *se, size_t *oldest)
{
    size_t n =
        se->stm_len < SIMSTORE_STM_KEEP ? se->stm_len : SIMSTORE_STM_KEEP;
    *oldest = (se->ring_next + SIMSTORE_STM_KEEP - n) % SIMSTORE_STM_KEEP;
    return n;
}

static void
fill_info(const struct session *se, struct simstore_info *out)
{
    if (out == NULL) {
        return;
    }
    (void)snprintf(out->sid, sizeof(out->sid), "%s", se->id);
    memcpy(out->node_id, se->node->name, se->node->name_len + 1);
    out->node_len = se->node->name_len;
    out->created_ms = se->created_ms;
    out->stm_len = se->stm_len;
    out->time = se->time;
    out->pattern[0] = '\0';
}

int
simstore_new(struct simstore **out, size_t max_sessions, size_t max_nodes,
             uint64_t seed)
{
    struct simstore *s;

    if (max_sessions == 0 || max_nodes == 0) {
        return E_INVAL;
    }
    s = xcalloc(1, sizeof(*s));
    if (s == NULL) {
        return E_NOMEM;
    }
    s->sessions = xcalloc(MIN_BUCKETS, sizeof(*s->sessions));
    s->nodes = xcalloc(MIN_BUCKETS, sizeof(*s->nodes));
    if (s->sessions == NULL || s->nodes == NULL) {
        goto fail_maps;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        goto fail_maps;
    }
    s->nsbuckets = MIN_BUCKETS;
    s->nnbuckets = MIN_BUCKETS;
    s->max_sessions = max_sessions;
    s->max_nodes = max_nodes;
    rng_seed(&s->rng, seed ^ 0x5e55104e5e55104eULL);
    *out = s;
    return 0;

fail_maps:
    xfree(s->sessions);
    xfree(s->nodes);
    xfree(s);
    return E_NOMEM;
}

void
simstore_free(struct simstore *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nsbuckets; i++) {
        struct session *e = s->sessions[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            session_free(e);
        }
    }
    for (size_t i = 0; i < s->nnbuckets; i++) {
        struct node *e = s->nodes[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            xfree(e);
        }
    }
    (void)pthread_mutex_destroy(&s->lock);
    xfree(s->sessions);
    xfree(s->nodes);
    xfree(s);
}

size_t
simstore_count(struct simstore *s)
{
    size_t n;

    (void)pthread_mutex_lock(&s->lock);
    n = s->nsessions;
    (void)pthread_mutex_unlock(&s->lock);
    return n;
}

int
simstore_create(struct simstore *s, const char *node_id, size_t node_len,
                uint64_t now_ms, struct simstore_info *out)
{
    struct session *se = NULL, **slot = NULL;
    struct node *nd;
    int rv = 0;

    if (node_len == 0 || node_len > SIMSTORE_NODE_MAX ||
        memchr(node_id, '\0', node_len) != NULL) {
        return E_INVAL;
    }
    (void)pthread_mutex_lock(&s->lock);
    if (s->nsessions >= s->max_sessions) {
        rv = E_TOOBIG;
        goto out;
    }
    nd = node_get(s, node_id, node_len, &rv);
    if (nd == NULL) {
        goto out;
    }
    se = xcalloc(1, sizeof(*se));
    if (se == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    /* 128 random bits: a clash is practically impossible, but is checked
     * (bounded) so that two sessions can never share an id. */
    for (int tries = 0; tries < 8; tries++) {
        uint64_t hi = rng_next(&s->rng), lo = rng_next(&s->rng);
        (void)snprintf(se->id, sizeof(se->id),
                       "session-%016" PRIx64 "%016" PRIx64 "-%" PRIu64, hi, lo,
                       now_ms);
        slot = session_slot(s, se->id);
        if (*slot == NULL) {
            break;
        }
        slot = NULL;
    }
    if (slot == NULL) {
        xfree(se);
        rv = E_STATE;
        goto out;
    }
    se->node = nd;
    se->created_ms = now_ms;
    *slot = se;
    s->nsessions++;
    fill_info(se, out);
    sessions_grow(s);
out:
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

int
simstore_get(struct simstore *s, const char *sid, struct simstore_info *out)
{
    struct session *se;
    int rv = 0;

    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
    } else {
        fill_info(se, out);
    }
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

int
simstore_delete(struct simstore *s, const char *sid)
{
    struct session **pp, *se;
    int rv = 0;

    if (strlen(sid) >= SIMSTORE_SID_MAX) {
        return E_NOTFOUND;
    }
    (void)pthread_mutex_lock(&s->lock);
    pp = session_slot(s, sid);
    se = *pp;
    if (se == NULL) {
        rv = E_NOTFOUND;
    } else {
        *pp = se->next;
        s->nsessions--;
        session_free(se);
    }
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

int
simstore_observe(struct simstore *s, const char *sid, const char *event,
                 size_t event_len, const size_t *dims, size_t ndims,
                 size_t *want, size_t *got, struct simstore_info *out)
{
    struct session *se;
    char *copy = NULL;
    size_t dim;
    int rv = 0;

    if (event != NULL && event_len > SIMSTORE_EVENT_MAX) {
        return E_INVAL;
    }
    if (event != NULL) {
        /* Copied before taking the lock, to keep the critical section
         * short; freed below if the observation is refused. */
        copy = xmalloc(event_len + 1);
        if (copy == NULL) {
            return E_NOMEM;
        }
        memcpy(copy, event, event_len);
        copy[event_len] = '\0';
    }
    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
        goto out;
    }
    dim = se->node->dim;
    for (size_t i = 0; i < ndims; i++) {
        if (dim == 0) {
            dim = dims[i];
        }
        if (dims[i] != dim) {
            *want = dim;
            *got = dims[i];
            rv = E_RANGE;
            goto out;
        }
    }
    if (copy != NULL) {
        if (se->ring == NULL) {
            se->ring = xcalloc(SIMSTORE_STM_KEEP, sizeof(*se->ring));
            if (se->ring == NULL) {
                rv = E_NOMEM;
                goto out;
            }
        }
        xfree(se->ring[se->ring_next]);
        se->ring[se->ring_next] = copy;
        copy = NULL;
        se->ring_next = (se->ring_next + 1) % SIMSTORE_STM_KEEP;
        if (se->stm_len < SIMSTORE_STM_MAX) {
            se->stm_len++;
        }
        se->time++;
    }
    se->node->dim = dim;
    fill_info(se, out);
out:
    (void)pthread_mutex_unlock(&s->lock);
    xfree(copy);
    return rv;
}

int
simstore_learn(struct simstore *s, const char *sid, struct simstore_info *out)
{
    struct session *se;
    size_t oldest, n;
    struct rng r;
    uint64_t h, h2, h3;
    int rv = 0;

    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
        goto out;
    }
    if (se->stm_len == 0) {
        rv = E_STATE;
        goto out;
    }
    /* The name depends only on the STM's content, as KATO's does: the
     * same sequence learned twice gives the same pattern. */
    h = fnv1a(&se->stm_len, sizeof(se->stm_len), FNV_BASIS);
    n = ring_valid(se, &oldest);
    for (size_t i = 0; i < n; i++) {
        const char *ev = se->ring[(oldest + i) % SIMSTORE_STM_KEEP];
        h = fnv1a(ev, strlen(ev) + 1, h);
    }
    rng_seed(&r, h);
    h2 = rng_next(&r);
    h3 = rng_next(&r);
    (void)snprintf(se->node->last_pattern, SIMSTORE_PATTERN_MAX,
                   "PTRN|%016" PRIx64 "%016" PRIx64 "%08" PRIx32, h, h2,
                   (uint32_t)h3);
    se->node->patterns++;
    stm_clear(se);
    fill_info(se, out);
    if (out != NULL) {
        (void)snprintf(out->pattern, sizeof(out->pattern), "%s",
                       se->node->last_pattern);
    }
out:
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

int
simstore_clear_stm(struct simstore *s, const char *sid)
{
    struct session *se;
    int rv = 0;

    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
    } else {
        stm_clear(se);
    }
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

int
simstore_clear_all(struct simstore *s, const char *sid)
{
    struct session *se;
    int rv = 0;

    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
    } else {
        stm_clear(se);
        se->node->dim = 0;
        se->node->patterns = 0;
        se->node->last_pattern[0] = '\0';
    }
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

/* Appends the STM array; the caller holds the lock. */
static int
render_stm_locked(const struct session *se, struct buf *b)
{
    size_t oldest, n = ring_valid(se, &oldest);
    size_t placeholders = se->stm_len - n;
    int rv = buf_append(b, "[", 1);

    for (size_t i = 0; rv == 0 && i < placeholders; i++) {
        rv = buf_append(b, i == 0 ? "[\"...\"]" : ",[\"...\"]", i == 0 ? 7 : 8);
    }
    for (size_t i = 0; rv == 0 && i < n; i++) {
        const char *ev = se->ring[(oldest + i) % SIMSTORE_STM_KEEP];
        if (placeholders > 0 || i > 0) {
            rv = buf_append(b, ",", 1);
        }
        if (rv == 0) {
            rv = buf_append(b, ev, strlen(ev));
        }
    }
    if (rv == 0) {
        rv = buf_append(b, "]", 1);
    }
    return rv;
}

int
simstore_render_stm(struct simstore *s, const char *sid, struct buf *b,
                    struct simstore_info *out)
{
    struct session *se;
    int rv = 0;

    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
        goto out;
    }
    rv = render_stm_locked(se, b);
    if (rv == 0) {
        fill_info(se, out);
    }
out:
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}

int
simstore_render_predictions(struct simstore *s, const char *sid, struct buf *b,
                            size_t *count, struct simstore_info *out)
{
    struct session *se;
    const struct node *nd;
    const char *latest;
    int rv = 0;

    (void)pthread_mutex_lock(&s->lock);
    se = session_find(s, sid);
    if (se == NULL) {
        rv = E_NOTFOUND;
        goto out;
    }
    nd = se->node;
    if (nd->patterns == 0 || se->stm_len == 0) {
        rv = buf_append(b, "[]", 2);
        if (rv == 0) {
            *count = 0;
            fill_info(se, out);
        }
        goto out;
    }
    latest =
        se->ring[(se->ring_next + SIMSTORE_STM_KEEP - 1) % SIMSTORE_STM_KEEP];
    rv = buf_printf(b,
                    "[{\"type\":\"prototypical\",\"name\":\"%s\","
                    "\"frequency\":%" PRIu64 ",\"matches\":%s,"
                    "\"missing\":[],\"extras\":[],\"past\":[],"
                    "\"present\":[%s],\"future\":[],\"confidence\":1.0,"
                    "\"similarity\":1.0,\"evidence\":1.0,\"entropy\":0.0,"
                    "\"normalized_entropy\":0.0,\"fragmentation\":0,"
                    "\"snr\":1.0,\"potential\":1.0,\"emotives\":{}}]",
                    nd->last_pattern, nd->patterns, latest, latest);
    if (rv == 0) {
        *count = 1;
        fill_info(se, out);
    }
out:
    (void)pthread_mutex_unlock(&s->lock);
    return rv;
}
