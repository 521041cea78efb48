/* SPDX-License-Identifier: MIT */
#include "rebalance.h"

#include "../common/err.h"
#include "../common/poison.h"

uint32_t
rebalance_share(uint32_t total, const struct proto_slice *s)
{
    if (s->count == 0) {
        return 0;
    }
    return total / s->count + (s->index < total % s->count ? 1u : 0u);
}

bool
rebalance_has(uint64_t k, const struct proto_slice *s)
{
    return s->count > 0 && k % s->count == s->index;
}

int
rebalance_split(const struct proto_slice *lost, uint32_t n, uint32_t m,
                uint64_t at_ms, struct proto_slice *out)
{
    int rv = 0;

    if (m == 0) {
        rv = E_INVAL;
        goto out;
    }
    for (uint32_t j = 0; j < n; j++) {
        if (lost[j].count == 0 || lost[j].index >= lost[j].count) {
            rv = E_INVAL;
            goto out;
        }
        if ((uint64_t)lost[j].count * m > UINT32_MAX) {
            rv = E_RANGE;
            goto out;
        }
    }
    for (uint32_t r = 0; r < m; r++) {
        for (uint32_t j = 0; j < n; j++) {
            struct proto_slice *o = &out[(uint64_t)r * n + j];
            o->index = lost[j].index + lost[j].count * r;
            o->count = lost[j].count * m;
            o->from_ms = at_ms;
        }
    }
out:
    return rv;
}

double
rebalance_fraction(const struct proto_slice *s, uint32_t n)
{
    double f = 0.0;

    for (uint32_t j = 0; j < n; j++) {
        f += s[j].count > 0 ? 1.0 / (double)s[j].count : 0.0;
    }
    return f;
}
