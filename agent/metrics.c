/* SPDX-License-Identifier: MIT */
/* Per-interval, per-operation measurements and their export; see
 * metrics.h. */
#include "metrics.h"

#include <string.h>

#include "../common/alloc.h"
#include "../common/err.h"
#include "../common/poison.h"

int
metrics_new(struct metrics **out)
{
    struct metrics *m = xcalloc(1, sizeof(*m));
    int rv = 0;

    if (m == NULL) {
        return E_NOMEM;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        if ((rv = hist_new(&m->op[i].latency)) != 0 ||
            (rv = hist_new(&m->op[i].service)) != 0) {
            goto out;
        }
    }
    *out = m;
    m = NULL;
out:
    metrics_free(m);
    return rv;
}

void
metrics_free(struct metrics *m)
{
    if (m == NULL) {
        return;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        hist_free(m->op[i].latency);
        hist_free(m->op[i].service);
    }
    xfree(m);
}

void
metrics_reset(struct metrics *m)
{
    m->first = 0;
    m->last = 0;
    m->users_active = 0;
    m->late = 0;
    m->late_us = 0;
    m->unsent = 0;
    m->peak_in_flight = 0;
    m->peak_open = 0;
    m->lag_max_us = 0;
    m->lag_sum_us = 0;
    m->lag_n = 0;
    m->n_groups = 0;
    m->groups_dropped = 0;
    for (int i = 0; i < OP_COUNT; i++) {
        struct metrics_op *o = &m->op[i];
        /* The control thread resets every worker's buffer every second:
         * skip the histograms nothing went into (hist_reset clears only
         * the counts that are set, so untouched pages stay unbacked) and
         * the error table when no error was counted (metrics_record and
         * metrics_add keep errors equal to the table's sum). */
        if (hist_count(o->latency) != 0) {
            hist_reset(o->latency);
        }
        if (hist_count(o->service) != 0) {
            hist_reset(o->service);
        }
        if (o->errors != 0) {
            memset(o->err, 0, sizeof(o->err));
        }
        o->requests = 0;
        o->errors = 0;
        o->bytes_sent = 0;
        o->bytes_recv = 0;
    }
}

void
metrics_record(struct metrics *m, int op, uint32_t err_key, bool record_latency,
               uint64_t latency_us, uint64_t service_us, uint64_t bytes_sent,
               uint64_t bytes_recv)
{
    struct metrics_op *o = &m->op[op];

    o->requests++;
    o->bytes_sent += bytes_sent;
    o->bytes_recv += bytes_recv;
    if (err_key != 0) {
        int slot = errk_slot(err_key);
        if (slot < 0) {
            slot = errk_slot(ERRK_OTHER);
        }
        o->errors++;
        o->err[slot]++;
    }
    if (record_latency) {
        hist_record(o->latency, latency_us);
        hist_record(o->service, service_us);
    }
}

/* dst's entry for (g->stream, g->group), made when missing; NULL when
 * dst holds METRICS_MAX_GROUPS already. */
static struct proto_group *
find_group(struct metrics *m, uint32_t si, uint32_t g)
{
    struct proto_group *e;

    for (uint32_t i = 0; i < m->n_groups; i++) {
        if (m->groups[i].stream == si && m->groups[i].group == g) {
            return &m->groups[i];
        }
    }
    if (m->n_groups >= METRICS_MAX_GROUPS) {
        return NULL;
    }
    e = &m->groups[m->n_groups++];
    memset(e, 0, sizeof(*e));
    e->stream = si;
    e->group = g;
    e->first_us = UINT64_MAX;
    return e;
}

static void
add_group(struct metrics *m, const struct proto_group *src)
{
    struct proto_group *d = find_group(m, src->stream, src->group);

    if (d == NULL) {
        m->groups_dropped += src->requests;
        return;
    }
    proto_group_add(d, src);
}

void
metrics_record_group(struct metrics *m, uint32_t si, uint32_t g,
                     uint32_t err_key, uint64_t intended_us, uint64_t done_us)
{
    struct proto_group one;

    memset(&one, 0, sizeof(one));
    one.stream = si;
    one.group = g;
    one.requests = 1;
    one.errors = err_key != 0;
    one.e503 = err_key == 503;
    one.refused = err_key == ERRK_CONNECT;
    one.timeouts = err_key == ERRK_TIMEOUT;
    one.resets = err_key == ERRK_RESET;
    one.first_us = intended_us;
    one.last_us = done_us;
    add_group(m, &one);
}

void
metrics_add(struct metrics *dst, const struct metrics *src)
{
    dst->users_active += src->users_active;
    dst->late += src->late;
    dst->late_us += src->late_us;
    dst->unsent += src->unsent;
    dst->peak_in_flight += src->peak_in_flight; /* an upper bound */
    dst->peak_open += src->peak_open;           /* an upper bound */
    if (src->lag_max_us > dst->lag_max_us) {
        dst->lag_max_us = src->lag_max_us;
    }
    dst->lag_sum_us += src->lag_sum_us;
    dst->lag_n += src->lag_n;
    dst->groups_dropped += src->groups_dropped;
    for (uint32_t i = 0; i < src->n_groups; i++) {
        add_group(dst, &src->groups[i]);
    }
    for (int i = 0; i < OP_COUNT; i++) {
        struct metrics_op *d = &dst->op[i];
        const struct metrics_op *s = &src->op[i];
        if (s->requests == 0 && hist_count(s->latency) == 0) {
            continue; /* the common case for rare ops: skip the adds */
        }
        d->requests += s->requests;
        d->errors += s->errors;
        d->bytes_sent += s->bytes_sent;
        d->bytes_recv += s->bytes_recv;
        hist_add(d->latency, s->latency);
        hist_add(d->service, s->service);
        if (s->errors > 0) {
            for (int k = 0; k < ERRK_SLOTS; k++) {
                d->err[k] += s->err[k];
            }
        }
    }
}

struct export_op {
    struct hist_bucket *lat;
    size_t lat_cap;
    struct hist_bucket *svc;
    size_t svc_cap;
    struct proto_err_count *err; /* ERRK_SLOTS entries */
};

struct metrics_export {
    struct export_op op[OP_COUNT];
};

void
metrics_export_free(struct metrics_export *x)
{
    if (x == NULL) {
        return;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        xfree(x->op[i].lat);
        xfree(x->op[i].svc);
        xfree(x->op[i].err);
    }
    xfree(x);
}

int
metrics_export_new(struct metrics_export **out)
{
    struct metrics_export *x = xcalloc(1, sizeof(*x));
    int rv = 0;

    if (x == NULL) {
        return E_NOMEM;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        x->op[i].err = xcalloc(ERRK_SLOTS, sizeof(*x->op[i].err));
        if (x->op[i].err == NULL) {
            rv = E_NOMEM;
            goto out;
        }
    }
    *out = x;
    x = NULL;
out:
    metrics_export_free(x);
    return rv;
}

/* Exports h into *arr, growing it to the number of non-empty buckets. */
static int
export_hist(const struct hist *h, struct hist_bucket **arr, size_t *cap,
            size_t *n)
{
    size_t need = hist_nonzero(h);

    if (need > *cap) {
        size_t c = *cap ? *cap : 64;
        struct hist_bucket *p;
        while (c < need) {
            c *= 2;
        }
        p = xrealloc(*arr, c * sizeof(**arr));
        if (p == NULL) {
            return E_NOMEM;
        }
        *arr = p;
        *cap = c;
    }
    *n = need > 0 ? hist_export(h, *arr, *cap) : 0;
    return 0;
}

int
metrics_to_batch(const struct metrics *m, struct metrics_export *x,
                 struct proto_batch *b)
{
    int rv = 0;

    b->users_active = m->users_active;
    b->late = m->late;
    b->late_us = m->late_us;
    b->unsent = m->unsent;
    b->peak_in_flight = m->peak_in_flight;
    b->res |= PROTO_RES_ENGINE;
    b->open_conns = m->peak_open;
    b->lag_max_us = m->lag_max_us;
    b->lag_mean_us = m->lag_n > 0 ? m->lag_sum_us / m->lag_n : 0;
    b->n_groups = m->n_groups;
    memcpy(b->groups, m->groups, m->n_groups * sizeof(m->groups[0]));
    for (int i = 0; i < OP_COUNT; i++) {
        const struct metrics_op *o = &m->op[i];
        struct export_op *e = &x->op[i];
        struct proto_op_batch *ob = &b->op[i];
        size_t ne = 0;

        ob->requests = o->requests;
        ob->errors = o->errors;
        ob->bytes_sent = o->bytes_sent;
        ob->bytes_recv = o->bytes_recv;
        rv = export_hist(o->latency, &e->lat, &e->lat_cap, &ob->n_latency);
        if (rv != 0) {
            goto out;
        }
        rv = export_hist(o->service, &e->svc, &e->svc_cap, &ob->n_service);
        if (rv != 0) {
            goto out;
        }
        ob->latency = e->lat;
        ob->service = e->svc;
        if (o->errors > 0) {
            for (int k = 0; k < ERRK_SLOTS; k++) {
                if (o->err[k] > 0) {
                    e->err[ne].key = errk_from_slot(k);
                    e->err[ne].count = o->err[k];
                    ne++;
                }
            }
        }
        ob->n_errors = ne;
        ob->err = e->err;
    }
out:
    return rv;
}
