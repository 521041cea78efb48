/* SPDX-License-Identifier: MIT */
/* Names for ops and error keys; see ops.h. */
#include "ops.h"

#include <stdio.h>
#include <string.h>

#include "poison.h"

static const char *const op_names[OP_COUNT] = {
    "create_session",    "observe",      "learn",   "predictions",
    "short_term_memory", "clear_memory", "invalid",
};

const char *
ops_name(int op)
{
    if (op < 0 || op >= OP_COUNT) {
        return NULL;
    }
    return op_names[op];
}

int
ops_from_name(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < OP_COUNT; i++) {
        if (strcmp(op_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

int
errk_valid(uint32_t key)
{
    return (key >= 100 && key <= 599) || (key > ERRK_BASE && key <= ERRK_MAX);
}

const char *
errk_name(uint32_t key, char *out, size_t outlen)
{
    const char *s = NULL;
    switch (key) {
    case ERRK_CONNECT:
        s = "connect_refused";
        break;
    case ERRK_TIMEOUT:
        s = "timeout";
        break;
    case ERRK_RESET:
        s = "reset";
        break;
    case ERRK_DNS:
        s = "dns";
        break;
    case ERRK_ABORTED:
        s = "aborted";
        break;
    case ERRK_OTHER:
        s = "other";
        break;
    default:
        break;
    }
    if (s != NULL) {
        (void)snprintf(out, outlen, "%s", s);
    } else if (key >= 100 && key <= 599) {
        (void)snprintf(out, outlen, "http_%u", (unsigned)key);
    } else {
        (void)snprintf(out, outlen, "invalid_%u", (unsigned)key);
    }
    return out;
}

int
errk_slot(uint32_t key)
{
    if (key <= 599) {
        return key >= 100 ? (int)key : -1;
    }
    if (key > ERRK_BASE && key <= ERRK_MAX) {
        return 600 + (int)(key - ERRK_BASE - 1);
    }
    return -1;
}

/* A slot that no valid key maps to (below 100, the spare last slot, out of
 * range) gives 0, which errk_valid() rejects, rather than a made-up key. */
uint32_t
errk_from_slot(int slot)
{
    if (slot >= 100 && slot <= 599) {
        return (uint32_t)slot;
    }
    if (slot >= 600 && slot < 600 + (ERRK_MAX - ERRK_BASE)) {
        return (uint32_t)(ERRK_BASE + 1 + (slot - 600));
    }
    return 0;
}
