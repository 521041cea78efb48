/* SPDX-License-Identifier: MIT */
/*
 * Exact merge of agents' batches into per-operation histograms and
 * counters, with dedupe and completeness bookkeeping. Not thread-safe and
 * not a reporter: report.c reads it through the getters.
 */
#include "aggregate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/poison.h"

struct agg_agent {
    uint32_t id;
    char name[PROTO_NAME_MAX];
    uint32_t users;
    uint64_t req[OP_COUNT];
    uint64_t err[OP_COUNT];
    uint64_t batches;
    uint64_t duplicates;
    uint64_t highest_seq;
    uint64_t goodbye_last_seq;
    uint32_t highest_interval; /* valid when any_interval */
    bool any_interval;
    bool goodbye;
    bool totals_match;
    uint8_t *seq_seen;   /* bitmap, bit s for seq s (1..seq_max) */
    uint8_t *int_seen;   /* bitmap, bit k for interval k (0..n_slots-1) */
    uint32_t threads;    /* worker threads (agg_set_agent_threads) */
    struct agg_res *res; /* n_slots resource samples, allocated at the
                          * first one (flags 0: none in that interval) */
};

struct agg_op {
    struct hist *lat;
    struct hist *svc;
    struct agg_counts c;
    uint64_t errk[ERRK_SLOTS];
};

/* A sparse histogram: the non-empty buckets in increasing index order,
 * each index once; b is NULL when n is 0. */
struct sparse {
    struct hist_bucket *b;
    size_t n;
};

/* What one interval keeps beyond its totals. The all-ops latency is not
 * stored: it is the k-way merge of lat[], done when read. */
struct agg_slot {
    struct sparse lat[OP_COUNT];
    struct sparse svc; /* all ops */
    uint64_t req[OP_COUNT];
    uint64_t err[OP_COUNT];
};

/* The memory test's sample of one interval (bytes 0: none). */
struct agg_mem {
    uint64_t ms;
    uint64_t bytes;
    bool has_cpu;       /* the batch carried the target's CPU */
    uint64_t cpu_centi; /* 1/100 % of one core */
};

struct agg {
    uint32_t duration_s;
    uint32_t expected; /* intervals each agent should send */
    uint32_t n_slots;  /* per-interval slots */
    uint64_t seq_max;  /* highest seq accepted */
    uint32_t used;     /* highest interval seen + 1, within n_slots */
    struct agg_op op[OP_COUNT];
    struct hist *lat_all;
    struct hist *svc_all;
    uint64_t *int_req;
    uint64_t *int_err;
    struct agg_slot *slots;  /* n_slots */
    struct hist_bucket *tmp; /* a batch's buckets, sorted; tmp_cap */
    size_t tmp_cap;
    struct agg_agent *agents;
    size_t n_agents;
    size_t cap_agents;
    uint64_t late;
    uint64_t rejected;
    struct agg_arrivals arr; /* open streams, summed over batches */
    struct agg_mem *mem;     /* n_slots, allocated at the first sample */
    uint64_t *int_pif;       /* per interval: agents' peaks in flight, summed */
    uint64_t *int_users;     /* per interval: agents' active users, summed */
    size_t n_groups;
    struct proto_group groups[AGG_MAX_GROUPS]; /* merged, by (stream, g) */
    uint64_t groups_dropped; /* requests of groups beyond AGG_MAX_GROUPS */
};

static bool
bit_get(const uint8_t *bm, uint64_t i)
{
    return (bm[i / 8] >> (i % 8)) & 1u;
}

static void
bit_set(uint8_t *bm, uint64_t i)
{
    bm[i / 8] = (uint8_t)(bm[i / 8] | (1u << (i % 8)));
}

int
agg_new(struct agg **out, uint32_t duration_s)
{
    int rv = 0;
    struct agg *a = NULL;

    if (duration_s == 0 || duration_s > UINT32_MAX - AGG_INTERVAL_MARGIN) {
        return E_INVAL;
    }
    a = xcalloc(1, sizeof(*a));
    if (a == NULL) {
        return E_NOMEM;
    }
    a->duration_s = duration_s;
    a->expected = duration_s;
    a->n_slots = duration_s + AGG_INTERVAL_MARGIN;
    /* One batch per interval: twice the slots leaves room for batches
     * past the bound without letting a peer make us track 2^64 seqs. */
    a->seq_max = 2ull * a->n_slots + 64u;
    for (int i = 0; i < OP_COUNT; i++) {
        if ((rv = hist_new(&a->op[i].lat)) != 0 ||
            (rv = hist_new(&a->op[i].svc)) != 0) {
            goto out;
        }
    }
    if ((rv = hist_new(&a->lat_all)) != 0 ||
        (rv = hist_new(&a->svc_all)) != 0) {
        goto out;
    }
    a->int_req = xcalloc(a->n_slots, sizeof(*a->int_req));
    a->int_err = xcalloc(a->n_slots, sizeof(*a->int_err));
    a->slots = xcalloc(a->n_slots, sizeof(*a->slots));
    a->int_pif = xcalloc(a->n_slots, sizeof(*a->int_pif));
    a->int_users = xcalloc(a->n_slots, sizeof(*a->int_users));
    if (a->int_req == NULL || a->int_err == NULL || a->slots == NULL ||
        a->int_pif == NULL || a->int_users == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    *out = a;
    a = NULL;
out:
    agg_free(a);
    return rv;
}

void
agg_free(struct agg *a)
{
    if (a == NULL) {
        return;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        hist_free(a->op[i].lat);
        hist_free(a->op[i].svc);
    }
    hist_free(a->lat_all);
    hist_free(a->svc_all);
    xfree(a->int_req);
    xfree(a->int_err);
    xfree(a->mem);
    xfree(a->int_pif);
    xfree(a->int_users);
    if (a->slots != NULL) {
        for (uint32_t k = 0; k < a->n_slots; k++) {
            for (int i = 0; i < OP_COUNT; i++) {
                xfree(a->slots[k].lat[i].b);
            }
            xfree(a->slots[k].svc.b);
        }
        xfree(a->slots);
    }
    xfree(a->tmp);
    for (size_t i = 0; i < a->n_agents; i++) {
        xfree(a->agents[i].seq_seen);
        xfree(a->agents[i].int_seen);
        xfree(a->agents[i].res);
    }
    xfree(a->agents);
    xfree(a);
}

static struct agg_agent *
find_agent(const struct agg *a, uint32_t id)
{
    for (size_t i = 0; i < a->n_agents; i++) {
        if (a->agents[i].id == id) {
            return &a->agents[i];
        }
    }
    return NULL;
}

int
agg_add_agent(struct agg *a, uint32_t id, const char *name, uint32_t users)
{
    int rv = 0;
    struct agg_agent *ag = NULL;
    uint8_t *seq_seen = NULL;
    uint8_t *int_seen = NULL;

    if (id == 0 || find_agent(a, id) != NULL) {
        return E_INVAL;
    }
    if (a->n_agents >= AGG_MAX_AGENTS) {
        return E_RANGE;
    }
    if (a->n_agents == a->cap_agents) {
        size_t ncap = a->cap_agents ? a->cap_agents * 2 : 8;
        struct agg_agent *na = xrealloc(a->agents, ncap * sizeof(*na));
        if (na == NULL) {
            return E_NOMEM;
        }
        a->agents = na;
        a->cap_agents = ncap;
    }
    seq_seen = xcalloc((size_t)(a->seq_max / 8 + 1), 1);
    int_seen = xcalloc((size_t)a->n_slots / 8 + 1, 1);
    if (seq_seen == NULL || int_seen == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    ag = &a->agents[a->n_agents++];
    memset(ag, 0, sizeof(*ag));
    ag->id = id;
    (void)snprintf(ag->name, sizeof(ag->name), "%s", name ? name : "");
    ag->users = users;
    ag->seq_seen = seq_seen;
    ag->int_seen = int_seen;
    seq_seen = NULL;
    int_seen = NULL;
out:
    xfree(seq_seen);
    xfree(int_seen);
    return rv;
}

/* *acc += v unless that overflows; false then. */
static bool
add_ok(uint64_t *acc, uint64_t v)
{
    if (v > UINT64_MAX - *acc) {
        return false;
    }
    *acc += v;
    return true;
}

/* Sums a histogram's bucket counts into *sum; false on a bad bucket or an
 * overflow. */
static bool
buckets_ok(const struct hist_bucket *b, size_t n, uint64_t *sum)
{
    for (size_t k = 0; k < n; k++) {
        if (b[k].index >= HIST_BUCKETS || b[k].count == 0 ||
            !add_ok(sum, b[k].count)) {
            return false;
        }
    }
    return true;
}

/* Checks everything in b that could make a merge fail half-way or leave
 * the totals inconsistent: bounds, counts that add up (errors <= requests
 * and the errors by key summing to errors, PROTOCOL.md 3.11), and sums
 * that would wrap a 64-bit counter. */
static int
validate(const struct agg *a, const struct agg_agent *ag,
         const struct proto_batch *b)
{
    uint64_t lat_all = hist_count(a->lat_all);
    uint64_t svc_all = hist_count(a->svc_all);
    uint64_t breq = 0;
    uint64_t berr = 0;

    if (b->seq == 0 || b->seq > a->seq_max) {
        return E_RANGE;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        const struct proto_op_batch *ob = &b->op[i];
        const struct agg_op *op = &a->op[i];
        uint64_t lat = hist_count(op->lat);
        uint64_t svc = hist_count(op->svc);
        uint64_t esum = 0;
        struct agg_counts c = op->c;
        uint64_t areq = ag->req[i];
        uint64_t aerr = ag->err[i];

        if (ob->n_latency > HIST_BUCKETS || ob->n_service > HIST_BUCKETS ||
            (ob->n_latency > 0 && ob->latency == NULL) ||
            (ob->n_service > 0 && ob->service == NULL) ||
            (ob->n_errors > 0 && ob->err == NULL)) {
            return E_RANGE;
        }
        if (!buckets_ok(ob->latency, ob->n_latency, &lat) ||
            !buckets_ok(ob->latency, ob->n_latency, &lat_all) ||
            !buckets_ok(ob->service, ob->n_service, &svc) ||
            !buckets_ok(ob->service, ob->n_service, &svc_all)) {
            return E_RANGE;
        }
        for (size_t k = 0; k < ob->n_errors; k++) {
            uint64_t slot_n = 0;
            int slot = errk_slot(ob->err[k].key);
            if (slot < 0 || ob->err[k].count == 0 ||
                !add_ok(&esum, ob->err[k].count)) {
                return E_RANGE;
            }
            slot_n = op->errk[slot];
            if (!add_ok(&slot_n, ob->err[k].count)) {
                return E_RANGE;
            }
        }
        if (ob->errors > ob->requests || esum != ob->errors) {
            return E_RANGE;
        }
        if (!add_ok(&c.requests, ob->requests) ||
            !add_ok(&c.errors, ob->errors) ||
            !add_ok(&c.bytes_sent, ob->bytes_sent) ||
            !add_ok(&c.bytes_recv, ob->bytes_recv) ||
            !add_ok(&areq, ob->requests) || !add_ok(&aerr, ob->errors) ||
            !add_ok(&breq, ob->requests) || !add_ok(&berr, ob->errors)) {
            return E_RANGE;
        }
    }
    /* The sums over all ops (agg_op_counts(-1)) and the interval's. */
    {
        struct agg_counts all = agg_op_counts(a, -1);
        uint64_t ireq = b->interval < a->n_slots ? a->int_req[b->interval] : 0;
        uint64_t ierr = b->interval < a->n_slots ? a->int_err[b->interval] : 0;
        if (!add_ok(&all.requests, breq) || !add_ok(&all.errors, berr) ||
            !add_ok(&ireq, breq) || !add_ok(&ierr, berr)) {
            return E_RANGE;
        }
    }
    return 0;
}

/* --- sparse per-interval histograms ------------------------------------ */

static int
by_index(const void *x, const void *y)
{
    const struct hist_bucket *p = x;
    const struct hist_bucket *q = y;

    return (p->index > q->index) - (p->index < q->index);
}

/* Copies the n_list lists (ns[i] buckets at bs[i]) into a->tmp, sorted by
 * index with repeated indexes added up; returns the number of entries in
 * *m. Counts cannot overflow: validate() bounded the totals they feed. */
static int
gather(struct agg *a, const struct hist_bucket *const *bs, const size_t *ns,
       size_t n_list, size_t *m)
{
    size_t need = 0;
    size_t k = 0;
    size_t w = 0;

    for (size_t i = 0; i < n_list; i++) {
        need += ns[i]; /* each <= HIST_BUCKETS: no overflow */
    }
    if (need > a->tmp_cap) {
        struct hist_bucket *t = xrealloc(a->tmp, need * sizeof(*t));
        if (t == NULL) {
            return E_NOMEM;
        }
        a->tmp = t;
        a->tmp_cap = need;
    }
    for (size_t i = 0; i < n_list; i++) {
        if (ns[i] > 0) {
            memcpy(a->tmp + k, bs[i], ns[i] * sizeof(*a->tmp));
            k += ns[i];
        }
    }
    if (k > 1) {
        qsort(a->tmp, k, sizeof(*a->tmp), by_index);
    }
    for (size_t i = 0; i < k; i++) {
        if (w > 0 && a->tmp[w - 1].index == a->tmp[i].index) {
            a->tmp[w - 1].count += a->tmp[i].count;
        } else {
            a->tmp[w++] = a->tmp[i];
        }
    }
    *m = w;
    return 0;
}

/* Merges the m sorted entries of a->tmp with old into a new array sized
 * exactly (*out, *n_out). Leaves old untouched; E_NOMEM on failure. */
static int
sparse_merged(const struct agg *a, size_t m, const struct sparse *old,
              struct sparse *out)
{
    struct hist_bucket *nb = xmalloc((old->n + m) * sizeof(*nb));
    size_t i = 0;
    size_t j = 0;
    size_t w = 0;

    if (nb == NULL) {
        return E_NOMEM;
    }
    while (i < old->n || j < m) {
        if (j == m || (i < old->n && old->b[i].index < a->tmp[j].index)) {
            nb[w++] = old->b[i++];
        } else if (i == old->n || a->tmp[j].index < old->b[i].index) {
            nb[w++] = a->tmp[j++];
        } else {
            nb[w] = old->b[i++];
            nb[w++].count += a->tmp[j++].count;
        }
    }
    if (w < old->n + m) {
        /* Shrink to the entries in use; keeping the bigger block when the
         * allocator refuses is harmless. */
        struct hist_bucket *t = xrealloc(nb, w * sizeof(*nb));
        if (t != NULL) {
            nb = t;
        }
    }
    out->b = nb;
    out->n = w;
    return 0;
}

/* Builds interval k's new sparse arrays for batch b into fresh[] (NULL
 * where b adds nothing): lat[0..OP_COUNT-1], then svc. Nothing in the
 * aggregate changes, so a failure (E_NOMEM) leaves the batch unmerged. */
static int
slot_prepare(struct agg *a, const struct agg_slot *sl,
             const struct proto_batch *b, struct sparse fresh[OP_COUNT + 1])
{
    const struct hist_bucket *bs[OP_COUNT];
    size_t ns[OP_COUNT];
    size_t m = 0;
    int rv = 0;

    memset(fresh, 0, (OP_COUNT + 1) * sizeof(*fresh));
    for (int i = 0; i <= OP_COUNT && rv == 0; i++) {
        const struct sparse *old = NULL;
        if (i < OP_COUNT) {
            bs[0] = b->op[i].latency;
            ns[0] = b->op[i].n_latency;
            rv = gather(a, bs, ns, 1, &m);
            old = &sl->lat[i];
        } else {
            for (int o = 0; o < OP_COUNT; o++) {
                bs[o] = b->op[o].service;
                ns[o] = b->op[o].n_service;
            }
            rv = gather(a, bs, ns, OP_COUNT, &m);
            old = &sl->svc;
        }
        if (rv == 0 && m > 0) {
            rv = sparse_merged(a, m, old, &fresh[i]);
        }
    }
    if (rv != 0) {
        for (int i = 0; i <= OP_COUNT; i++) {
            xfree(fresh[i].b);
        }
    }
    return rv;
}

/* Installs what slot_prepare built. Cannot fail. */
static void
slot_commit(struct agg_slot *sl, struct sparse fresh[OP_COUNT + 1])
{
    for (int i = 0; i <= OP_COUNT; i++) {
        struct sparse *dst = i < OP_COUNT ? &sl->lat[i] : &sl->svc;
        if (fresh[i].b != NULL) {
            xfree(dst->b);
            *dst = fresh[i];
        }
    }
}

/* Keeps b's memory sample, if any, in its interval's place; a sample
 * that finds no memory is dropped (logged), never the batch. */
static void
keep_mem(struct agg *a, const struct proto_batch *b)
{
    if (b->mem_bytes == 0 || b->interval >= a->n_slots) {
        return;
    }
    if (a->mem == NULL &&
        (a->mem = xcalloc(a->n_slots, sizeof(*a->mem))) == NULL) {
        log_error("AGG-NOMEM", "interval=%u: memory sample dropped",
                  (unsigned)b->interval);
        return;
    }
    a->mem[b->interval].ms = b->mem_ms;
    a->mem[b->interval].bytes = b->mem_bytes;
    a->mem[b->interval].has_cpu = (b->res & PROTO_RES_TCPU) != 0;
    a->mem[b->interval].cpu_centi = b->target_cpu_centi;
}

/* Keeps b's resource figures (docs/resources.md) in the agent's slot of
 * its interval; the agent's array is allocated at its first sample (a
 * failure drops the sample, logged, never the batch). Bounded: n_slots
 * entries per agent. */
static void
keep_res(struct agg *a, struct agg_agent *ag, const struct proto_batch *b)
{
    struct agg_res *r;
    const uint32_t known = PROTO_RES_AGENT | PROTO_RES_ENGINE;

    if ((b->res & known) == 0 || b->interval >= a->n_slots) {
        return;
    }
    if (ag->res == NULL &&
        (ag->res = xcalloc(a->n_slots, sizeof(*ag->res))) == NULL) {
        log_error("AGG-NOMEM", "interval=%u: resource sample dropped",
                  (unsigned)b->interval);
        return;
    }
    r = &ag->res[b->interval];
    r->flags = (uint32_t)(b->res & known);
    r->cpu_centi = b->cpu_centi;
    r->host_cpu_centi = b->host_cpu_centi;
    r->rss_bytes = b->rss_bytes;
    r->net_rx_bytes = b->net_rx_bytes;
    r->net_tx_bytes = b->net_tx_bytes;
    r->open_conns = b->open_conns;
    r->lag_max_us = b->lag_max_us;
    r->lag_mean_us = b->lag_mean_us;
}

/* Adds a merged batch's per-group figures and its peak in flight (the
 * burst and pool tests). Cannot fail: a group beyond the bound is
 * counted in groups_dropped. */
static void
merge_groups(struct agg *a, const struct proto_batch *b)
{
    if (b->interval < a->n_slots) {
        a->int_pif[b->interval] += b->peak_in_flight;
        a->int_users[b->interval] += b->users_active;
    }
    for (uint32_t i = 0; i < b->n_groups && i < PROTO_MAX_GROUPS; i++) {
        const struct proto_group *src = &b->groups[i];
        struct proto_group *d = NULL;
        for (size_t j = 0; j < a->n_groups && d == NULL; j++) {
            if (a->groups[j].stream == src->stream &&
                a->groups[j].group == src->group) {
                d = &a->groups[j];
            }
        }
        if (d == NULL && a->n_groups < AGG_MAX_GROUPS) {
            d = &a->groups[a->n_groups++];
            *d = *src;
            continue;
        }
        if (d == NULL) {
            a->groups_dropped += src->requests;
            continue;
        }
        proto_group_add(d, src);
    }
}

int
agg_group(const struct agg *a, uint32_t stream, uint32_t group,
          struct proto_group *out)
{
    for (size_t j = 0; j < a->n_groups; j++) {
        if (a->groups[j].stream == stream && a->groups[j].group == group) {
            *out = a->groups[j];
            return 0;
        }
    }
    return E_NOTFOUND;
}

uint64_t
agg_interval_users(const struct agg *a, uint32_t k)
{
    return k < a->n_slots ? a->int_users[k] : 0;
}

uint64_t
agg_peak_in_flight(const struct agg *a)
{
    uint64_t m = 0;

    for (uint32_t k = 0; k < a->n_slots; k++) {
        m = a->int_pif[k] > m ? a->int_pif[k] : m;
    }
    return m;
}

int
agg_merge(struct agg *a, uint32_t agent_id, const struct proto_batch *b)
{
    int rv = 0;
    struct agg_agent *ag = find_agent(a, agent_id);
    uint64_t breq = 0;
    uint64_t berr = 0;
    struct sparse fresh[OP_COUNT + 1];

    memset(fresh, 0, sizeof(fresh));
    if (ag == NULL) {
        a->rejected++;
        return E_NOTFOUND;
    }
    rv = validate(a, ag, b);
    if (rv != 0) {
        a->rejected++;
        return rv;
    }
    if (bit_get(ag->seq_seen, b->seq)) {
        ag->duplicates++;
        return 1;
    }
    /* The only step that can fail for want of memory goes first, so the
     * batch is still merged whole or not at all. */
    if (b->interval < a->n_slots) {
        rv = slot_prepare(a, &a->slots[b->interval], b, fresh);
        if (rv != 0) {
            log_error("AGG-NOMEM", "interval=%u: batch not merged",
                      (unsigned)b->interval);
            a->rejected++;
            return rv;
        }
    }
    for (int i = 0; i < OP_COUNT; i++) {
        const struct proto_op_batch *ob = &b->op[i];
        struct agg_op *op = &a->op[i];

        /* Validated above, so these cannot fail; checked all the same. */
        if (hist_import(op->lat, ob->latency, ob->n_latency) != 0 ||
            hist_import(a->lat_all, ob->latency, ob->n_latency) != 0 ||
            hist_import(op->svc, ob->service, ob->n_service) != 0 ||
            hist_import(a->svc_all, ob->service, ob->n_service) != 0) {
            log_error("AGG-INTERNAL", "hist_import failed after validation");
            for (int k = 0; k <= OP_COUNT; k++) {
                xfree(fresh[k].b);
            }
            a->rejected++;
            return E_RANGE;
        }
        op->c.requests += ob->requests;
        op->c.errors += ob->errors;
        op->c.bytes_sent += ob->bytes_sent;
        op->c.bytes_recv += ob->bytes_recv;
        for (size_t k = 0; k < ob->n_errors; k++) {
            op->errk[errk_slot(ob->err[k].key)] += ob->err[k].count;
        }
        ag->req[i] += ob->requests;
        ag->err[i] += ob->errors;
        breq += ob->requests;
        berr += ob->errors;
    }
    bit_set(ag->seq_seen, b->seq);
    ag->batches++;
    a->arr.late += b->late;
    a->arr.late_us += b->late_us;
    a->arr.unsent += b->unsent;
    merge_groups(a, b);
    if (b->seq > ag->highest_seq) {
        ag->highest_seq = b->seq;
    }
    if (b->interval < a->n_slots) {
        struct agg_slot *sl = &a->slots[b->interval];
        slot_commit(sl, fresh);
        for (int i = 0; i < OP_COUNT; i++) {
            sl->req[i] += b->op[i].requests;
            sl->err[i] += b->op[i].errors;
        }
        keep_mem(a, b);
        keep_res(a, ag, b);
        bit_set(ag->int_seen, b->interval);
        a->int_req[b->interval] += breq;
        a->int_err[b->interval] += berr;
        if (b->interval + 1 > a->used) {
            a->used = b->interval + 1;
        }
    } else {
        a->late++;
    }
    if (!ag->any_interval || b->interval > ag->highest_interval) {
        ag->highest_interval = b->interval;
        ag->any_interval = true;
    }
    return 0;
}

int
agg_goodbye(struct agg *a, uint32_t agent_id, const struct proto_goodbye *g)
{
    struct agg_agent *ag = find_agent(a, agent_id);
    bool match = true;

    if (ag == NULL) {
        return E_NOTFOUND;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        if (g->requests[i] != ag->req[i] || g->errors[i] != ag->err[i]) {
            log_warn("AGG-MISMATCH",
                     "agent=%s op=%s goodbye_requests=%llu merged=%llu "
                     "goodbye_errors=%llu merged=%llu",
                     ag->name, ops_name(i), (unsigned long long)g->requests[i],
                     (unsigned long long)ag->req[i],
                     (unsigned long long)g->errors[i],
                     (unsigned long long)ag->err[i]);
            match = false;
        }
    }
    if (g->last_seq != ag->highest_seq) {
        log_warn("AGG-MISMATCH", "agent=%s last_seq=%llu highest_merged=%llu",
                 ag->name, (unsigned long long)g->last_seq,
                 (unsigned long long)ag->highest_seq);
        match = false;
    }
    ag->goodbye = true;
    ag->goodbye_last_seq = g->last_seq;
    ag->totals_match = match;
    return match ? 0 : 1;
}

void
agg_set_expected(struct agg *a, uint32_t n_intervals)
{
    a->expected = n_intervals < a->duration_s ? n_intervals : a->duration_s;
}

const struct hist *
agg_latency(const struct agg *a, int op)
{
    if (op == -1) {
        return a->lat_all;
    }
    return (op >= 0 && op < OP_COUNT) ? a->op[op].lat : NULL;
}

const struct hist *
agg_service(const struct agg *a, int op)
{
    if (op == -1) {
        return a->svc_all;
    }
    return (op >= 0 && op < OP_COUNT) ? a->op[op].svc : NULL;
}

struct agg_counts
agg_op_counts(const struct agg *a, int op)
{
    struct agg_counts c;

    memset(&c, 0, sizeof(c));
    if (op >= 0 && op < OP_COUNT) {
        return a->op[op].c;
    }
    if (op == -1) {
        for (int i = 0; i < OP_COUNT; i++) {
            c.requests += a->op[i].c.requests;
            c.errors += a->op[i].c.errors;
            c.bytes_sent += a->op[i].c.bytes_sent;
            c.bytes_recv += a->op[i].c.bytes_recv;
        }
    }
    return c;
}

uint64_t
agg_errors(const struct agg *a, int op, uint32_t key)
{
    int slot = errk_slot(key);
    uint64_t n = 0;

    if (slot < 0) {
        return 0;
    }
    if (op >= 0 && op < OP_COUNT) {
        return a->op[op].errk[slot];
    }
    if (op == -1) {
        for (int i = 0; i < OP_COUNT; i++) {
            n += a->op[i].errk[slot];
        }
    }
    return n;
}

uint32_t
agg_n_intervals(const struct agg *a)
{
    return a->used;
}

int
agg_interval(const struct agg *a, uint32_t k, uint64_t *requests,
             uint64_t *errors)
{
    if (k >= a->n_slots) {
        *requests = 0;
        *errors = 0;
        return E_RANGE;
    }
    *requests = a->int_req[k];
    *errors = a->int_err[k];
    return 0;
}

int
agg_interval_op(const struct agg *a, uint32_t k, int op, uint64_t *requests,
                uint64_t *errors)
{
    const struct agg_slot *sl = NULL;

    *requests = 0;
    *errors = 0;
    if (k >= a->n_slots) {
        return E_RANGE;
    }
    if (op < -1 || op >= OP_COUNT) {
        return E_INVAL;
    }
    sl = &a->slots[k];
    for (int i = 0; i < OP_COUNT; i++) {
        if (op == -1 || op == i) {
            *requests += sl->req[i];
            *errors += sl->err[i];
        }
    }
    return 0;
}

/* A walk over up to OP_COUNT sparse arrays in increasing index order, as
 * if they had been added into one histogram (the k-way merge). */
struct walk {
    const struct sparse *s[OP_COUNT];
    size_t pos[OP_COUNT];
    int n;
};

/* Points w at interval k's arrays for (op, service); E_RANGE / E_INVAL. */
static int
walk_init(const struct agg *a, uint32_t k, int op, bool service, struct walk *w)
{
    const struct agg_slot *sl = NULL;

    memset(w, 0, sizeof(*w));
    if (k >= a->n_slots) {
        return E_RANGE;
    }
    if (op < -1 || op >= OP_COUNT || (service && op != -1)) {
        return E_INVAL;
    }
    sl = &a->slots[k];
    if (service) {
        w->s[w->n++] = &sl->svc;
    } else if (op >= 0) {
        w->s[w->n++] = &sl->lat[op];
    } else {
        for (int i = 0; i < OP_COUNT; i++) {
            w->s[w->n++] = &sl->lat[i];
        }
    }
    return 0;
}

/* The next index and its summed count; false at the end. */
static bool
walk_next(struct walk *w, uint32_t *index, uint64_t *count)
{
    uint32_t lo = UINT32_MAX;
    bool any = false;

    for (int i = 0; i < w->n; i++) {
        if (w->pos[i] < w->s[i]->n && w->s[i]->b[w->pos[i]].index <= lo) {
            lo = w->s[i]->b[w->pos[i]].index;
            any = true;
        }
    }
    if (!any) {
        return false;
    }
    *index = lo;
    *count = 0;
    for (int i = 0; i < w->n; i++) {
        if (w->pos[i] < w->s[i]->n && w->s[i]->b[w->pos[i]].index == lo) {
            *count += w->s[i]->b[w->pos[i]].count;
            w->pos[i]++;
        }
    }
    return true;
}

/* hist.c's rank_of, repeated here so that a percentile read from the
 * sparse arrays is the one hist_percentile gives (the unit tests compare
 * them): ceil(p / 100 * total) in 1 .. total, a product within a relative
 * 1e-15 above an integer taken as that integer. */
static uint64_t
rank_of(double p, uint64_t total)
{
    long double x = (long double)p * (long double)total / 100.0L;
    long double r = floorl(x);

    if (x - r > x * 1e-15L) {
        r += 1.0L;
    }
    if (!(r >= 1.0L)) {
        return 1;
    }
    if (r >= (long double)total) {
        return total;
    }
    return (uint64_t)r;
}

int
agg_interval_percentile(const struct agg *a, uint32_t k, int op, bool service,
                        double p, uint64_t *out_us)
{
    struct walk w;
    uint64_t total = 0;
    uint64_t cum = 0;
    uint64_t rank = 0;
    uint64_t c = 0;
    uint32_t idx = 0;
    uint32_t last = 0;
    int rv = walk_init(a, k, op, service, &w);

    if (rv != 0) {
        return rv;
    }
    while (walk_next(&w, &idx, &c)) {
        total += c; /* bounded by the validated totals */
        last = idx;
    }
    if (total == 0) {
        *out_us = 0;
        return 0;
    }
    /* The merged maximum is the top bucket's highest value (hist_import's
     * max), which also caps every percentile. */
    if (p >= 100.0) {
        *out_us = hist_highest_of(last);
        return 0;
    }
    rank = rank_of(p, total);
    (void)walk_init(a, k, op, service, &w);
    while (walk_next(&w, &idx, &c)) {
        cum += c;
        if (cum >= rank) {
            break;
        }
    }
    *out_us = hist_highest_of(idx);
    return 0;
}

int
agg_interval_hist(const struct agg *a, uint32_t k, int op, bool service,
                  struct hist *scratch)
{
    struct walk w;
    struct hist_bucket one;
    int rv = walk_init(a, k, op, service, &w);

    if (rv != 0) {
        return rv;
    }
    hist_reset(scratch);
    while (walk_next(&w, &one.index, &one.count)) {
        if ((rv = hist_import(scratch, &one, 1)) != 0) {
            return rv; /* not reached: counts are the validated ones */
        }
    }
    return 0;
}

size_t
agg_interval_bytes(const struct agg *a)
{
    size_t n = (size_t)a->n_slots * sizeof(*a->slots);

    for (uint32_t k = 0; k < a->n_slots; k++) {
        const struct agg_slot *sl = &a->slots[k];
        for (int i = 0; i < OP_COUNT; i++) {
            n += sl->lat[i].n * sizeof(struct hist_bucket);
        }
        n += sl->svc.n * sizeof(struct hist_bucket);
    }
    if (a->mem != NULL) {
        n += (size_t)a->n_slots * sizeof(*a->mem);
    }
    return n;
}

size_t
agg_n_agents(const struct agg *a)
{
    return a->n_agents;
}

/* Seqs 1..max(goodbye last_seq, highest merged) that were not merged. */
static size_t
missing_seqs(const struct agg *a, const struct agg_agent *ag)
{
    uint64_t top = ag->highest_seq;
    size_t n = 0;

    if (ag->goodbye && ag->goodbye_last_seq > top) {
        top = ag->goodbye_last_seq;
    }
    if (top > a->seq_max) {
        n += (size_t)(top - a->seq_max);
        top = a->seq_max;
    }
    for (uint64_t s = 1; s <= top; s++) {
        if (!bit_get(ag->seq_seen, s)) {
            n++;
        }
    }
    return n;
}

size_t
agg_agent_missing(const struct agg *a, size_t i, uint32_t *out, size_t max)
{
    const struct agg_agent *ag = NULL;
    uint32_t end = 0;
    size_t n = 0;

    if (i >= a->n_agents) {
        return 0;
    }
    ag = &a->agents[i];
    /* Intervals 0 .. end-1 are expected (never past the slots: a batch
     * for interval 2^32 - 1 must not wrap end to 0). */
    end = a->expected;
    if (ag->any_interval && ag->highest_interval >= end) {
        end = ag->highest_interval >= a->n_slots ? a->n_slots
                                                 : ag->highest_interval + 1;
    }
    if (end > a->n_slots) {
        end = a->n_slots;
    }
    for (uint32_t k = 0; k < end; k++) {
        if (!bit_get(ag->int_seen, k)) {
            if (n < max && out != NULL) {
                out[n] = k;
            }
            n++;
        }
    }
    return n;
}

int
agg_agent(const struct agg *a, size_t i, struct agg_agent_info *out)
{
    const struct agg_agent *ag = NULL;

    if (i >= a->n_agents) {
        return E_RANGE;
    }
    ag = &a->agents[i];
    memset(out, 0, sizeof(*out));
    out->id = ag->id;
    out->name = ag->name;
    out->users = ag->users;
    for (int k = 0; k < OP_COUNT; k++) {
        out->requests += ag->req[k];
        out->errors += ag->err[k];
    }
    out->batches = ag->batches;
    out->duplicates = ag->duplicates;
    out->highest_seq = ag->highest_seq;
    out->goodbye = ag->goodbye;
    out->totals_match = ag->totals_match;
    out->n_missing = agg_agent_missing(a, i, NULL, 0);
    out->n_missing_seq = missing_seqs(a, ag);
    return 0;
}

struct agg_arrivals
agg_arrivals(const struct agg *a)
{
    return a->arr;
}

uint64_t
agg_late(const struct agg *a)
{
    return a->late;
}

uint64_t
agg_rejected(const struct agg *a)
{
    return a->rejected;
}

bool
agg_complete(const struct agg *a)
{
    if (a->rejected > 0) {
        return false;
    }
    for (size_t i = 0; i < a->n_agents; i++) {
        const struct agg_agent *ag = &a->agents[i];
        if (!ag->goodbye || !ag->totals_match ||
            agg_agent_missing(a, i, NULL, 0) > 0 || missing_seqs(a, ag) > 0) {
            return false;
        }
    }
    return true;
}

int
agg_interval_tcpu(const struct agg *a, uint32_t k, uint64_t *centi)
{
    if (a->mem == NULL || k >= a->n_slots || a->mem[k].bytes == 0 ||
        !a->mem[k].has_cpu) {
        return E_NOTFOUND;
    }
    *centi = a->mem[k].cpu_centi;
    return 0;
}

int
agg_agent_res(const struct agg *a, size_t i, uint32_t k, struct agg_res *out)
{
    if (i >= a->n_agents || k >= a->n_slots || a->agents[i].res == NULL ||
        a->agents[i].res[k].flags == 0) {
        return E_NOTFOUND;
    }
    *out = a->agents[i].res[k];
    return 0;
}

int
agg_set_agent_threads(struct agg *a, uint32_t id, uint32_t threads)
{
    struct agg_agent *ag = find_agent(a, id);

    if (ag == NULL) {
        return E_NOTFOUND;
    }
    ag->threads = threads;
    return 0;
}

uint32_t
agg_agent_threads(const struct agg *a, size_t i)
{
    if (i >= a->n_agents) {
        return 0;
    }
    return a->agents[i].threads;
}

int
agg_interval_mem(const struct agg *a, uint32_t k, uint64_t *t_ms,
                 uint64_t *bytes)
{
    if (a->mem == NULL || k >= a->n_slots || a->mem[k].bytes == 0) {
        return E_NOTFOUND;
    }
    *t_ms = a->mem[k].ms;
    *bytes = a->mem[k].bytes;
    return 0;
}
