/* SPDX-License-Identifier: MIT */
/*
 * The vocabulary shared by config, agent, master and wire: the KATO
 * operations a virtual user performs, and the classes an error falls in.
 * Enum values are explicit and append-only: they travel on the wire.
 */
#ifndef COMMON_OPS_H
#define COMMON_OPS_H

#include <stddef.h>
#include <stdint.h>

enum op {
    OP_SESSION = 0,     /* POST /sessions (each user creates its own) */
    OP_OBSERVE = 1,     /* POST /sessions/{sid}/observe */
    OP_LEARN = 2,       /* POST /sessions/{sid}/learn */
    OP_PREDICTIONS = 3, /* GET  /sessions/{sid}/predictions */
    OP_STM = 4,         /* GET  /sessions/{sid}/stm */
    OP_CLEAR = 5,       /* POST /sessions/{sid}/clear-stm */
    OP_INVALID = 6,     /* a request KATO must reject (recovery test,
                         * docs/tests-design.md 5.6); never in the mix */
    OP_COUNT = 7
};

/* The name used in the config's operations_mix and in every output:
 * "create_session", "observe", "learn", "predictions",
 * "short_term_memory", "clear_memory", "invalid". NULL for an
 * out-of-range op. */
const char *ops_name(int op);

/* Looks a name up; returns the op or -1. */
int ops_from_name(const char *name);

/*
 * Error keys. An error is either an HTTP status (100..599, the key is the
 * status itself) or a transport failure (a key >= ERRK_BASE). Keys are
 * stable on the wire.
 */
enum errk {
    ERRK_BASE = 1000,
    ERRK_CONNECT = 1001, /* connection refused / could not connect */
    ERRK_TIMEOUT = 1002, /* connect or request timeout */
    ERRK_RESET = 1003,   /* reset, closed early, empty reply, send/recv */
    ERRK_DNS = 1004,     /* name resolution failed */
    ERRK_ABORTED = 1005, /* cancelled by the agent at stop (drain timeout) */
    ERRK_OTHER = 1006,   /* any other transport failure */
    ERRK_MAX = 1006
};

/* Number of distinct error keys an op may carry in one interval: every
 * HTTP status 100..599 plus the transport classes. Used as a decode bound. */
#define ERRK_SLOTS (600 + (ERRK_MAX - ERRK_BASE) + 1)

/* Returns 1 when key is a valid error key (100..599 or ERRK_*), else 0. */
int errk_valid(uint32_t key);

/* Writes the stable name of an error key into out: "http_404",
 * "connect_refused", "timeout", "reset", "dns", "aborted", "other".
 * Returns out. */
const char *errk_name(uint32_t key, char *out, size_t outlen);

/* Maps an error key to a slot 0..ERRK_SLOTS-1 (for counter arrays; slots
 * 0..99 and the last one are never used: the layout is kept simple so a
 * slot of 100..599 is the HTTP status itself); returns -1 for an invalid
 * key. errk_from_slot is its inverse and returns 0 for a slot no key maps
 * to. */
int errk_slot(uint32_t key);
uint32_t errk_from_slot(int slot);

#endif
