/* SPDX-License-Identifier: MIT */
/*
 * The arithmetic of on_agent_loss: rebalance (PROTOCOL.md 3.14,
 * docs/internals/scheduling.md "Lost agents"). A slice (index, count) is
 * the share rule with (index, count) in place of (aidx, nag): of a global
 * count U it holds share(U) = floor(U / count) + (index < U mod count)
 * users, and of the arrivals those with k mod count = index. Agent aidx of
 * nag starts with the one slice (aidx, nag). When an agent is lost, each
 * of its slices (I, N) is split over the m survivors: survivor r of m
 * takes (I + N * r, N * m), which is "the lost slice, then r of m" with
 * the two share rules composed into one: the arrivals k with k mod N = I
 * and (k div N) mod m = r are exactly those with k mod (N m) = I + N r,
 * and share(share(U, N, I), m, r) = share(U, N m, I + N r). So several
 * losses in a row compose, and every user and arrival of the test stays
 * in exactly one live slice. Pure functions; any thread.
 */
#ifndef MASTER_REBALANCE_H
#define MASTER_REBALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "../proto/proto.h"

/* Of a global count total, the units slice s holds. */
uint32_t rebalance_share(uint32_t total, const struct proto_slice *s);

/* Whether global arrival (or user) k belongs to slice s. */
bool rebalance_has(uint64_t k, const struct proto_slice *s);

/*
 * Splits the n slices of a lost agent, lost[0..n), over m survivors from
 * at_ms on: survivor r gets out[r * n + j] = (lost[j].index +
 * lost[j].count * r, lost[j].count * m, at_ms) for j < n. out holds m * n
 * entries. Returns 0, E_INVAL (m 0, or a slice with count 0 or index >=
 * count) or E_RANGE (a count times m past 2^32 - 1: too many losses in a
 * row for the wire's uint32; nothing is written then).
 */
int rebalance_split(const struct proto_slice *lost, uint32_t n, uint32_t m,
                    uint64_t at_ms, struct proto_slice *out);

/* The fraction of the whole load the n slices hold: the sum of 1 / count. */
double rebalance_fraction(const struct proto_slice *s, uint32_t n);

#endif
