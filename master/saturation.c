/* SPDX-License-Identifier: MIT */
/*
 * Resource summaries and the saturation rule (see saturation.h).
 */
#include "saturation.h"

#include <stdio.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/err.h"

#include "../common/poison.h"

uint32_t
saturation_interval(const struct agg_res *r, uint32_t threads)
{
    uint32_t why = 0;

    if (threads == 0) {
        threads = 1;
    }
    if ((r->flags & PROTO_RES_AGENT) != 0) {
        if (r->cpu_centi >= (uint64_t)SAT_CPU_PER_THREAD_CENTI * threads) {
            why |= SAT_WHY_CPU;
        }
        if (r->host_cpu_centi >= SAT_HOST_CPU_CENTI) {
            why |= SAT_WHY_HOST;
        }
    }
    if ((r->flags & PROTO_RES_ENGINE) != 0 && r->lag_max_us > SAT_LAG_US) {
        why |= SAT_WHY_LAG;
    }
    return why;
}

static void
summarize_agent(const struct agg *a, size_t i, uint32_t n, struct sat_agent *s)
{
    struct agg_agent_info info;
    double cpu_sum = 0.0, lag_sum = 0.0;
    uint32_t n_lag = 0;

    memset(s, 0, sizeof(*s));
    if (agg_agent(a, i, &info) == 0) {
        s->id = info.id;
        s->name = info.name;
    }
    s->threads = agg_agent_threads(a, i);
    for (uint32_t k = 0; k < n; k++) {
        struct agg_res r;
        uint32_t why;
        if (agg_agent_res(a, i, k, &r) != 0) {
            continue;
        }
        s->n_samples++;
        if ((r.flags & PROTO_RES_AGENT) != 0) {
            double c = (double)r.cpu_centi / 100.0;
            double h = (double)r.host_cpu_centi / 100.0;
            s->n_cpu++;
            cpu_sum += c;
            s->cpu_max_pct = c > s->cpu_max_pct ? c : s->cpu_max_pct;
            s->host_cpu_max_pct =
                h > s->host_cpu_max_pct ? h : s->host_cpu_max_pct;
            if (r.rss_bytes > s->rss_max_bytes) {
                s->rss_max_bytes = r.rss_bytes;
            }
            s->net_rx_bytes += r.net_rx_bytes;
            s->net_tx_bytes += r.net_tx_bytes;
        }
        if ((r.flags & PROTO_RES_ENGINE) != 0) {
            double lm = (double)r.lag_max_us / 1000.0;
            s->lag_max_ms = lm > s->lag_max_ms ? lm : s->lag_max_ms;
            lag_sum += (double)r.lag_mean_us / 1000.0;
            n_lag++;
            if (r.open_conns > s->conn_max) {
                s->conn_max = r.open_conns;
            }
        }
        why = saturation_interval(&r, s->threads);
        if (why != 0) {
            if (s->n_sat < SAT_MAX_LISTED) {
                s->sat_iv[s->n_sat] = k;
            }
            s->n_sat++;
            s->why |= why;
        }
    }
    s->cpu_mean_pct = s->n_cpu > 0 ? cpu_sum / s->n_cpu : 0.0;
    s->lag_mean_ms = n_lag > 0 ? lag_sum / n_lag : 0.0;
    s->saturated = s->n_sat >= SAT_MIN_INTERVALS;
}

int
saturation_summarize(const struct agg *a, uint32_t n_intervals,
                     uint32_t pool_size, struct saturation *out)
{
    struct saturation s;
    struct sat_target *t = &s.target;
    double mem_sum = 0.0, cpu_sum = 0.0;

    memset(&s, 0, sizeof(s));
    s.n_agents = agg_n_agents(a);
    if (s.n_agents > 0 &&
        (s.agents = xcalloc(s.n_agents, sizeof(*s.agents))) == NULL) {
        return E_NOMEM;
    }
    for (size_t i = 0; i < s.n_agents; i++) {
        summarize_agent(a, i, n_intervals, &s.agents[i]);
        s.any_saturated = s.any_saturated || s.agents[i].saturated;
    }
    for (uint32_t k = 0; k < n_intervals; k++) {
        uint64_t ms = 0, bytes = 0, centi = 0, conns = 0;
        bool any = false;
        if (agg_interval_mem(a, k, &ms, &bytes) == 0) {
            double mb = (double)bytes / (1024.0 * 1024.0);
            t->n_mem++;
            mem_sum += mb;
            t->mem_max_mb = mb > t->mem_max_mb ? mb : t->mem_max_mb;
        }
        if (agg_interval_tcpu(a, k, &centi) == 0) {
            double c = (double)centi / 100.0;
            t->n_cpu++;
            cpu_sum += c;
            t->cpu_max_pct = c > t->cpu_max_pct ? c : t->cpu_max_pct;
        }
        for (size_t i = 0; i < s.n_agents; i++) {
            struct agg_res r;
            if (agg_agent_res(a, i, k, &r) == 0 &&
                (r.flags & PROTO_RES_ENGINE) != 0) {
                conns += r.open_conns;
                any = true;
            }
        }
        if (any) {
            s.pool_known = true;
            if (conns > s.pool_peak_conns) {
                s.pool_peak_conns = conns;
            }
        }
    }
    t->mem_mean_mb = t->n_mem > 0 ? mem_sum / t->n_mem : 0.0;
    t->cpu_mean_pct = t->n_cpu > 0 ? cpu_sum / t->n_cpu : 0.0;
    if (pool_size == 0) {
        s.pool_known = false;
    }
    s.pool_usage =
        s.pool_known ? (double)s.pool_peak_conns / (double)pool_size : 0.0;
    *out = s;
    return 0;
}

void
saturation_fini(struct saturation *s)
{
    xfree(s->agents);
    memset(s, 0, sizeof(*s));
}

const char *
saturation_why(uint32_t why, char *buf, size_t len)
{
    (void)snprintf(buf, len, "%s%s%s%s%s", (why & SAT_WHY_CPU) ? "cpu" : "",
                   (why & SAT_WHY_CPU) && (why & ~SAT_WHY_CPU) ? "+" : "",
                   (why & SAT_WHY_HOST) ? "host_cpu" : "",
                   (why & SAT_WHY_HOST) && (why & SAT_WHY_LAG) ? "+" : "",
                   (why & SAT_WHY_LAG) ? "loop_lag" : "");
    return buf;
}
