/* SPDX-License-Identifier: MIT */
/*
 * katosim's session store: KATO v3 sessions (each with a bounded short-term
 * memory) and nodes (the long-term identity several sessions share: vector
 * dimension lock, learned-pattern count). One mutex guards it all; it is a
 * stand-in for KATO's Redis/Qdrant state, not a model of its learning.
 */
#ifndef KATOSIM_SIMSTORE_H
#define KATOSIM_SIMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/buf.h"

#define SIMSTORE_SID_MAX     80    /* bytes for a session id, NUL included */
#define SIMSTORE_NODE_MAX    256   /* bytes in a node id */
#define SIMSTORE_STM_MAX     10000 /* events per STM; older ones dropped */
#define SIMSTORE_STM_KEEP    32    /* newest events kept with their content */
#define SIMSTORE_EVENT_MAX   4096  /* bytes of one event's JSON */
#define SIMSTORE_PATTERN_MAX 48    /* "PTRN|" + 40 hex + NUL */

struct simstore;

/* What an operation reports about its session; filled on success only. */
struct simstore_info {
    char sid[SIMSTORE_SID_MAX];
    char node_id[SIMSTORE_NODE_MAX + 1]; /* NUL-terminated */
    size_t node_len;
    uint64_t created_ms; /* wall clock, ms since the epoch */
    size_t stm_len;      /* events in the STM now */
    uint64_t time;       /* events the session has appended so far */
    char pattern[SIMSTORE_PATTERN_MAX]; /* simstore_learn: the name */
};

/*
 * Creates an empty store holding at most max_sessions sessions and
 * max_nodes nodes; seed makes session ids reproducible. Returns 0 and
 * sets *out (free with simstore_free), E_INVAL or E_NOMEM.
 */
int simstore_new(struct simstore **out, size_t max_sessions, size_t max_nodes,
                 uint64_t seed);

/* Frees the store, every session and every node. NULL is a no-op. Not
 * thread-safe: no other call may be running. */
void simstore_free(struct simstore *s);

/* Number of live sessions. Every simstore_* call below is thread-safe. */
size_t simstore_count(struct simstore *s);

/*
 * Creates a session for node node_id (node_len bytes, 1..SIMSTORE_NODE_MAX,
 * no NUL), creating the node on first use. now_ms is the wall clock; the id
 * is "session-<32 hex>-<now_ms>". Returns 0 and fills *out; E_TOOBIG when
 * the session or node bound is reached; E_INVAL; E_NOMEM.
 */
int simstore_create(struct simstore *s, const char *node_id, size_t node_len,
                    uint64_t now_ms, struct simstore_info *out);

/* Looks a session up by its NUL-terminated id. Returns 0 and fills *out
 * (out may be NULL), or E_NOTFOUND. */
int simstore_get(struct simstore *s, const char *sid,
                 struct simstore_info *out);

/* Deletes a session and its STM (its node stays). 0 or E_NOTFOUND. */
int simstore_delete(struct simstore *s, const char *sid);

/*
 * Applies one observation. dims[0..ndims-1] are the lengths of its vectors:
 * each must equal the node's locked dimension; the first vector a node
 * ever sees locks it. event (event_len bytes, at most SIMSTORE_EVENT_MAX) is
 * the observation rendered as a JSON array; it is copied and appended to
 * the STM, or nothing is appended when event is NULL. Returns 0 and fills
 * *out; E_NOTFOUND; E_RANGE on a dimension mismatch (then *want and *got
 * are set and nothing changes); E_INVAL; E_NOMEM.
 */
int simstore_observe(struct simstore *s, const char *sid, const char *event,
                     size_t event_len, const size_t *dims, size_t ndims,
                     size_t *want, size_t *got, struct simstore_info *out);

/* Learns the STM as a pattern (a name derived from its content, in
 * out->pattern) and clears the STM. 0, E_NOTFOUND, or E_STATE when the STM
 * is empty. */
int simstore_learn(struct simstore *s, const char *sid,
                   struct simstore_info *out);

/* Clears the session's STM. 0 or E_NOTFOUND. */
int simstore_clear_stm(struct simstore *s, const char *sid);

/* Clears the session's STM and its node's long-term memory (patterns and
 * the vector dimension lock). 0 or E_NOTFOUND. */
int simstore_clear_all(struct simstore *s, const char *sid);

/*
 * Appends the STM to b as a JSON array of events, oldest first: the newest
 * SIMSTORE_STM_KEEP with their content, older ones as ["..."]. Fills *out.
 * Returns 0, E_NOTFOUND, E_TOOBIG or E_NOMEM (b may then hold a prefix).
 */
int simstore_render_stm(struct simstore *s, const char *sid, struct buf *b,
                        struct simstore_info *out);

/*
 * Appends a JSON array of predictions to b: one for the node's last learned
 * pattern when the node has learned one and the STM is not empty, else
 * none. Sets *count to the number. Fills *out. Same returns as above.
 */
int simstore_render_predictions(struct simstore *s, const char *sid,
                                struct buf *b, size_t *count,
                                struct simstore_info *out);

#endif
