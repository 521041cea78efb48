/* SPDX-License-Identifier: MIT */
/*
 * Load patterns (docs/tests-design.md section 3) and the exact split of a
 * global count over agents (section 2). Pure functions of their arguments:
 * every agent evaluates the same pattern at the same instants and gets the
 * same global value, then takes its own share, with no message exchanged.
 * The open model's global arrival sequence is here too (an iterator and
 * a pure k-th-arrival function); when each arrival is sent is engine.c's.
 *
 * Thread-safety: every function is pure and may be called from any thread.
 */
#ifndef AGENT_PATTERN_H
#define AGENT_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/rng.h"
#include "../proto/proto.h"

/* The engine re-evaluates a closed stream's user count this often. */
#define PATTERN_TICK_MS 100u

/*
 * The pattern's global value (users for a closed stream, arrivals/s for an
 * open one) at t_ms milliseconds after the stream's start, from s's
 * pattern and parameters, t = t_ms / 1000 s and D = s->duration_ms:
 *   constant   peak
 *   ramp_up    initial + (peak - initial) * min(1, t / ramp)
 *   ramp_down  peak - (peak - initial) * min(1, t / ramp)
 *   spike      peak while t mod spike_interval < spike_duration, else
 *              initial (an interval of 0: initial)
 *   wave       mid + amp * sin(2 pi t / wave_period), mid and amp from
 *              initial and peak (a period of 0: mid)
 *   random     a uniform integer in [ceil(initial), floor(peak)], drawn
 *              once per second from (seed, floor(t))
 *   poisson    Poisson((initial + peak) / 2), drawn once per second from
 *              (seed, floor(t)), clamped to [initial, peak]
 *   burst      peak until ramp, then linear down to initial at D (initial
 *              from D on)
 *   step       initial + step_size * floor(t / step), capped at peak (a
 *              step of 0: peak)
 *   custom     from initial, linear to each stage's target over its
 *              duration; the last target after the last stage (no stage:
 *              initial)
 * A ramp of 0 is a jump (ramp_up gives peak, ramp_down initial, burst
 * declines from t = 0). The value is not clamped to [initial, peak]
 * except where said (custom targets may lie outside). seed should differ
 * per stream: pass pattern_seed(run seed, stream index), so random and
 * poisson are keyed by (run seed, stream index, second) and equal on
 * every agent. Borrows s.
 */
double pattern_value(const struct proto_stream *s, uint64_t t_ms,
                     uint64_t seed);

/* The per-stream seed of pattern_value: a mix of the run's seed and the
 * stream's index in its assignment. */
uint64_t pattern_seed(uint64_t run_seed, uint32_t stream_index);

/* Agent index's share of total: floor(total / n_agents) +
 * (index < total mod n_agents). Over index = 0 .. n_agents - 1 the shares
 * sum to total exactly. 0 when n_agents is 0 or index >= n_agents. */
uint32_t pattern_share(uint32_t total, uint32_t n_agents, uint32_t index);

/* The sum of the shares of agents 0 .. index - 1 (the global index of
 * agent index's first unit). 0 when n_agents is 0; index is capped at
 * n_agents. */
uint32_t pattern_base(uint32_t total, uint32_t n_agents, uint32_t index);

/* --- the open model's arrivals (tests-design sections 2 and 4) --------- */

/* The arrival generator integrates the rate over steps this long (the
 * rate of a step is the mean of the pattern at its two ends: exact for
 * the linear parts of every pattern). */
#define PATTERN_ARRIVAL_STEP_US 1000u

/*
 * The global arrival sequence t_0 < t_1 < ... of an open stream, from its
 * start, generated identically on every agent. Evenly spaced at the rate
 * R(t) = max(0, pattern_value(t)) (arrivals/s): t_k is the instant the
 * integral of R from 0 reaches k (so t_0 = 0 when R(0) > 0, and a
 * constant rate R gives t_k = k / R exactly). For the poisson pattern the
 * gaps are exponential with mean 1 / ((initial + peak) / 2), drawn from
 * the stream's seed in order. Only arrivals before the stream's duration
 * exist. Caller storage; fields are private.
 */
struct pattern_arrivals {
    const struct proto_stream *s; /* borrowed */
    uint64_t seed;
    struct rng rng; /* poisson gaps */
    uint64_t k;     /* index of the next arrival */
    double t;       /* s: the last arrival (poisson) */
    uint64_t step;  /* the current step (even spacing) */
    double lam;     /* arrivals integrated up to the step's start */
    double rate;    /* arrivals/s in the step; < 0: not computed yet */
    bool done;      /* past the stream's end */
};

/* Starts s's sequence; seed as for pattern_value (pattern_seed). Borrows
 * s, which must outlive it. Cannot fail. */
void pattern_arrivals_init(struct pattern_arrivals *it,
                           const struct proto_stream *s, uint64_t seed);

/*
 * Burst arrivals (the burst test, docs/tests-design.md 5.3), used by the
 * arrival sequence instead of the pattern when s->burst_size > 0: arrival
 * k belongs to burst b = k / burst_size (b < burst_count) as its j = k mod
 * burst_size-th arrival, at b * burst_every_ms + floor(j * burst_ms /
 * burst_size) (in ns: every burst's arrivals spread evenly over
 * [start, start + burst_ms), all at the start when burst_ms is 0). Each
 * burst holds exactly burst_size arrivals, in order; arrivals at or past
 * the stream's duration do not exist. Returns false when arrival k does
 * not exist (or burst_size is 0). Pure.
 */
bool pattern_burst_at(const struct proto_stream *s, uint64_t k, uint64_t *t_ns);

/*
 * The next arrival: returns true and sets *k to its index and *t_ns to its
 * time in ns from the stream's start (< duration_ms); false once the
 * sequence is over (every later call too). Costs O(1) per arrival plus
 * O(1) per PATTERN_ARRIVAL_STEP_US of the stream's time (a span of zero
 * rate is walked step by step, once).
 */
bool pattern_arrivals_next(struct pattern_arrivals *it, uint64_t *k,
                           uint64_t *t_ns);

/* Arrival k's time in ns from the stream's start, by generating the
 * sequence from 0 (for tests and tools: O(k)). Returns false when the
 * stream has fewer than k + 1 arrivals. Pure. */
bool pattern_arrival_at(const struct proto_stream *s, uint64_t seed, uint64_t k,
                        uint64_t *t_ns);

/* Whether global arrival k belongs to agent index of n_agents (k mod n =
 * index); the agents' subsequences partition the sequence. */
static inline bool
pattern_arrival_mine(uint64_t k, uint32_t n_agents, uint32_t index)
{
    return n_agents > 0 && k % n_agents == index;
}

#endif
