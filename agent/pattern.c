/* SPDX-License-Identifier: MIT */
/*
 * Load patterns and exact shares: the formulas of docs/tests-design.md
 * sections 2 and 3, as pure functions (pattern.h). The engine calls them
 * every PATTERN_TICK_MS; nothing here keeps state.
 */
#include "pattern.h"

#include <math.h>
#include <string.h>

#include "../common/rng.h"

#include "../common/poison.h"

/* Above this mean a Poisson draw uses the normal approximation: the
 * product method needs exp(-mean), which underflows near 745, and costs
 * O(mean) steps. */
#define POISSON_EXACT_MAX 500.0

/* PATTERN_PI is not ISO C. */
#define PATTERN_PI 3.14159265358979323846

static uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t
pattern_seed(uint64_t run_seed, uint32_t stream_index)
{
    return mix64(run_seed ^ (0xd1b54a32d192ed03ULL * (stream_index + 1ULL)));
}

/* The generator of second `sec`: every agent builds the same one. */
static void
second_rng(struct rng *r, uint64_t seed, uint64_t sec)
{
    rng_seed(r, mix64(seed + 0x9e3779b97f4a7c15ULL * (sec + 1)));
}

static double
draw_random(const struct proto_stream *s, uint64_t seed, uint64_t sec)
{
    struct rng r;
    double lo = ceil(s->initial), hi = floor(s->peak);

    if (hi < lo || hi >= 18446744073709551615.0) {
        return s->peak < s->initial ? s->initial : s->peak;
    }
    second_rng(&r, seed, sec);
    return (double)rng_range(&r, (uint64_t)lo, (uint64_t)hi);
}

static double
draw_poisson(const struct proto_stream *s, uint64_t seed, uint64_t sec)
{
    struct rng r;
    double mean = (s->initial + s->peak) / 2.0, k;

    second_rng(&r, seed, sec);
    if (mean <= 0.0) {
        k = 0.0;
    } else if (mean <= POISSON_EXACT_MAX) {
        /* Inversion: walk the cumulative distribution. */
        double u = rng_double(&r), p = exp(-mean), cum = p;
        k = 0.0;
        while (u > cum && k < 10.0 * mean + 100.0) {
            k += 1.0;
            p *= mean / k;
            cum += p;
        }
    } else {
        /* Box-Muller; 1 - u keeps log's argument in (0, 1]. */
        double u1 = 1.0 - rng_double(&r), u2 = rng_double(&r);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * PATTERN_PI * u2);
        k = floor(mean + sqrt(mean) * z + 0.5);
    }
    if (k < s->initial) {
        k = s->initial;
    }
    if (k > s->peak) {
        k = s->peak;
    }
    return k;
}

static double
custom_value(const struct proto_stream *s, uint64_t t_ms)
{
    double prev = s->initial;
    uint64_t t0 = 0;

    for (uint32_t i = 0; i < s->n_stages && i < PROTO_MAX_STAGES; i++) {
        const struct proto_stage *st = &s->stages[i];
        if (t_ms < t0 + st->duration_ms) {
            double f = (double)(t_ms - t0) / (double)st->duration_ms;
            return prev + (st->target - prev) * f;
        }
        t0 += st->duration_ms;
        prev = st->target;
    }
    return prev;
}

double
pattern_value(const struct proto_stream *s, uint64_t t_ms, uint64_t seed)
{
    double span = s->peak - s->initial;
    double f;

    switch (s->pattern) {
    case CONFIG_PATTERN_RAMP_UP:
        f = s->ramp_ms == 0 || t_ms >= s->ramp_ms
                ? 1.0
                : (double)t_ms / (double)s->ramp_ms;
        return s->initial + span * f;
    case CONFIG_PATTERN_RAMP_DOWN:
        f = s->ramp_ms == 0 || t_ms >= s->ramp_ms
                ? 1.0
                : (double)t_ms / (double)s->ramp_ms;
        return s->peak - span * f;
    case CONFIG_PATTERN_SPIKE:
        if (s->spike_interval_ms == 0) {
            return s->initial;
        }
        return t_ms % s->spike_interval_ms < s->spike_duration_ms ? s->peak
                                                                  : s->initial;
    case CONFIG_PATTERN_WAVE: {
        double mid = (s->initial + s->peak) / 2.0;
        if (s->wave_period_ms == 0) {
            return mid;
        }
        /* The phase from t mod period keeps sin's argument small. */
        f = (double)(t_ms % s->wave_period_ms) / (double)s->wave_period_ms;
        return mid + span / 2.0 * sin(2.0 * PATTERN_PI * f);
    }
    case CONFIG_PATTERN_RANDOM:
        return draw_random(s, seed, t_ms / 1000u);
    case CONFIG_PATTERN_POISSON:
        return draw_poisson(s, seed, t_ms / 1000u);
    case CONFIG_PATTERN_BURST:
        if (t_ms < s->ramp_ms) {
            return s->peak;
        }
        if (t_ms >= s->duration_ms) {
            return s->initial;
        }
        f = (double)(t_ms - s->ramp_ms) / (double)(s->duration_ms - s->ramp_ms);
        return s->peak - span * f;
    case CONFIG_PATTERN_STEP: {
        double v;
        if (s->step_ms == 0) {
            return s->peak;
        }
        v = s->initial + s->step_size * (double)(t_ms / s->step_ms);
        return v > s->peak ? s->peak : v;
    }
    case CONFIG_PATTERN_CUSTOM:
        return custom_value(s, t_ms);
    case CONFIG_PATTERN_CONSTANT:
    default:
        return s->peak;
    }
}

uint32_t
pattern_share(uint32_t total, uint32_t n_agents, uint32_t index)
{
    if (n_agents == 0 || index >= n_agents) {
        return 0;
    }
    return total / n_agents + (index < total % n_agents ? 1u : 0u);
}

uint32_t
pattern_base(uint32_t total, uint32_t n_agents, uint32_t index)
{
    uint32_t q, r;

    if (n_agents == 0) {
        return 0;
    }
    if (index > n_agents) {
        index = n_agents;
    }
    q = total / n_agents;
    r = total % n_agents;
    /* index agents with q each, min(index, r) of them one more: at most
     * total, so no overflow. */
    return q * index + (index < r ? index : r);
}

/* --- open-model arrivals ------------------------------------------------ */

void
pattern_arrivals_init(struct pattern_arrivals *it, const struct proto_stream *s,
                      uint64_t seed)
{
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->seed = seed;
    /* Another mix than the per-second draws', so the gaps do not repeat
     * the random pattern's numbers. */
    rng_seed(&it->rng, mix64(seed ^ 0x5851f42d4c957f2dULL));
    it->rate = -1.0; /* the first step's rate is not computed yet */
}

/* The rate of step i ([i, i + 1) x PATTERN_ARRIVAL_STEP_US): the mean of
 * the pattern at its two ends (exact for linear parts; pattern_value has
 * ms resolution, so the ends are whole ms), never negative. */
static double
step_rate(const struct pattern_arrivals *it, uint64_t i)
{
    uint64_t a_ms = i * PATTERN_ARRIVAL_STEP_US / 1000u;
    uint64_t b_ms = (i + 1) * PATTERN_ARRIVAL_STEP_US / 1000u;
    double v = (pattern_value(it->s, a_ms, it->seed) +
                pattern_value(it->s, b_ms, it->seed)) /
               2.0;

    return v > 0.0 && isfinite(v) ? v : 0.0;
}

bool
pattern_burst_at(const struct proto_stream *s, uint64_t k, uint64_t *t_ns)
{
    uint64_t b = 0;
    uint64_t j = 0;
    uint64_t t = 0;

    if (s->burst_size == 0) {
        return false;
    }
    b = k / s->burst_size;
    j = k % s->burst_size;
    if (b >= s->burst_count) {
        return false;
    }
    /* Integer ns: j * burst_ns fits 64 bits for any uint32 burst_size
     * and a window below 49 days. */
    t = b * s->burst_every_ms * 1000000u +
        j * (s->burst_ms * 1000000u) / s->burst_size;
    if (t >= s->duration_ms * 1000000u) {
        return false;
    }
    *t_ns = t;
    return true;
}

bool
pattern_arrivals_next(struct pattern_arrivals *it, uint64_t *k, uint64_t *t_ns)
{
    const struct proto_stream *s = it->s;
    const double end = (double)s->duration_ms / 1e3;
    const double h = PATTERN_ARRIVAL_STEP_US / 1e6;
    double t;

    if (it->done) {
        return false;
    }
    if (s->burst_size > 0) {
        /* Bursts replace the pattern: exact, no accumulated sum. */
        if (!pattern_burst_at(s, it->k, t_ns)) {
            it->done = true;
            return false;
        }
        *k = it->k++;
        return true;
    }
    if (s->pattern == CONFIG_PATTERN_CONSTANT) {
        /* Exact: no accumulated sum. */
        if (!(s->peak > 0.0)) {
            it->done = true;
            return false;
        }
        t = (double)it->k / s->peak;
    } else if (s->pattern == CONFIG_PATTERN_POISSON) {
        double mean = (s->initial + s->peak) / 2.0;
        if (!(mean > 0.0)) {
            it->done = true;
            return false;
        }
        /* 1 - u is in (0, 1]: log never sees 0. */
        it->t += -log(1.0 - rng_double(&it->rng)) / mean;
        t = it->t;
    } else {
        double want = (double)it->k;
        if (it->rate < 0.0) {
            it->rate = step_rate(it, it->step);
        }
        /* Walk whole steps until the k-th crossing lies in this one (a
         * step of zero rate holds none). */
        while (!(it->rate > 0.0) || it->lam + it->rate * h < want) {
            it->lam += it->rate * h;
            it->step++;
            if ((double)it->step * h >= end) {
                it->done = true;
                return false;
            }
            it->rate = step_rate(it, it->step);
        }
        t = (double)it->step * h +
            (want > it->lam ? (want - it->lam) / it->rate : 0.0);
    }
    if (!(t < end)) {
        it->done = true;
        return false;
    }
    *k = it->k++;
    *t_ns = (uint64_t)floor(t * 1e9 + 0.5);
    if (*t_ns >= s->duration_ms * 1000000u) {
        it->done = true; /* rounding crossed the end */
        return false;
    }
    return true;
}

bool
pattern_arrival_at(const struct proto_stream *s, uint64_t seed, uint64_t k,
                   uint64_t *t_ns)
{
    struct pattern_arrivals it;
    uint64_t i = 0, t = 0;

    pattern_arrivals_init(&it, s, seed);
    do {
        if (!pattern_arrivals_next(&it, &i, &t)) {
            return false;
        }
    } while (i < k);
    *t_ns = t;
    return true;
}
