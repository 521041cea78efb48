/* SPDX-License-Identifier: MIT */
/*
 * The master's side of the control channel (proto/PROTOCOL.md sections 1-2):
 * one nng rep0 socket that agents dial, the per-pipe challenge-response
 * handshake, the per-agent command state machine (ASSIGN, START, STOP
 * riding on heartbeat replies), liveness (an agent silent for
 * FLEET_LOST_MS is declared lost) and the hand-off of BATCH and GOODBYE
 * messages to the aggregate. It decides nothing about the test: the run
 * flow (master/coord.c) queues commands and reads agent states.
 *
 * Thread-safety: none; one thread calls every function. nng's own threads
 * never call back into this module.
 */
#ifndef MASTER_FLEET_H
#define MASTER_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "../proto/proto.h"
#include "aggregate.h"

#define FLEET_HEARTBEAT_MS 200u /* told to agents in WELCOME */
/* Silence after which an agent is lost. A live agent calls at least every
 * FLEET_HEARTBEAT_MS, so this is 13 missed heartbeats; the detection is
 * at most FLEET_LOST_MS + FLEET_POLL_MS (+ one pass of the run loop)
 * after the agent's last message, which keeps "lost within 3 s of going
 * silent" (issue 5) with room for the poll granularity, and it stays
 * below the agent's 3 s dead-man switch (docs/distributed.md). */
#define FLEET_LOST_MS        2700u
#define FLEET_POLL_MS        50u   /* how long fleet_poll waits at most */
#define FLEET_MAX_AGENTS     4096u /* authenticated agents kept */
#define FLEET_MAX_HANDSHAKES 64u   /* pipes mid-handshake kept at once */
#define FLEET_MAX_STRIKES    6u    /* HELLOs/refusals before a pipe is closed */
#define FLEET_SEND_MS        250u  /* a reply that cannot leave: peer dropped */
#define FLEET_CLOSE_MS       3000u /* fleet_close gives up after this */
#define FLEET_TLS_CHECK_MS   1000u /* failed TLS handshakes looked at */
#define FLEET_TLS_LOG_MS     5000u /* at most one TLS-HANDSHAKE line per */

struct fleet;

/* One agent as the run flow sees it. Strings are borrowed from the fleet
 * and valid until fleet_free. */
struct fleet_agent_info {
    uint32_t id; /* > 0, in join order */
    const char *name;
    const char *host;
    uint32_t pid;
    uint32_t threads;
    uint32_t state;   /* enum proto_agent_state, last reported */
    const char *text; /* last heartbeat text (FAILED: why) */
    uint32_t users_active;
    bool has_assign;      /* takes part in the test */
    bool lost;            /* silent for FLEET_LOST_MS (may come back) */
    bool goodbye;         /* its GOODBYE arrived */
    uint32_t adopt_gen;   /* ADOPT generation queued for it (0: none) */
    uint32_t adopt_acked; /* the generation its heartbeats say it applied */
    const struct proto_adopt *adopt; /* the slices queued (borrowed) */
};

/*
 * Opens the rep0 socket (NNG_OPT_RECVMAXSZ = PROTO_MAX_MSG, receive
 * timeout FLEET_POLL_MS) and listens on url ("tcp://127.0.0.1:0" picks a
 * free port). token[0..token_len) is the pre-shared key (copied). tls is
 * the listener's TLS configuration for a tls+tcp:// url (borrowed: the
 * listener takes its own reference), NULL for tcp://; failed TLS
 * handshakes are then logged by fleet_poll (warn TLS-HANDSHAKE). The
 * token handshake runs inside TLS all the same. Returns 0, E_INVAL (a URL
 * nng refuses, an empty token, tls with a tcp:// url), E_NET (cannot
 * listen, e.g. address in use; the nng error is logged) or E_NOMEM. *out
 * is set on success only. Free with fleet_free.
 */
int fleet_new(struct fleet **out, const char *url, const uint8_t *token,
              size_t token_len, nng_tls_config *tls);

/*
 * Closes the socket, waiting at most FLEET_CLOSE_MS (nng 1.5.2 can hang in
 * nng_close on a pipe whose peer stopped reading). Returns 0 or E_TIMEOUT:
 * the close then carries on in a background thread, and the caller must
 * not call nng_fini. Idempotent; fleet_free calls it.
 */
int fleet_close(struct fleet *f);

/* Closes the socket (fleet_close) and frees f; NULL is a no-op. Agents see
 * the link drop (their dead-man switch stops any load). */
void fleet_free(struct fleet *f);

/* Writes the TCP port the listener is bound to. Returns 0 or E_NET (not a
 * TCP listener). */
int fleet_port(const struct fleet *f, uint16_t *port);

/* Batches and GOODBYEs are merged into a (borrowed; NULL: refused with
 * REJECT "no test running"). Set it before the first START. */
void fleet_set_agg(struct fleet *f, struct agg *a);

/*
 * Receives and answers messages for about FLEET_POLL_MS (at least one
 * receive attempt), then checks liveness. Never fails because of what a
 * peer sent: malformed or unauthenticated input is logged and answered
 * with REJECT; a pipe that sends a malformed message before it
 * authenticated, piles up more than FLEET_MAX_STRIKES HELLOs or refusals,
 * or does not take its replies within FLEET_SEND_MS is closed (warn
 * PEER-DROP). Returns the number of messages handled (>= 0), or E_NET
 * when the socket itself failed (closed).
 */
int fleet_poll(struct fleet *f);

/* Number of agents that authenticated so far (lost ones included), and
 * the i-th in join order; fleet_agent returns 0 or E_RANGE. */
size_t fleet_n_agents(const struct fleet *f);
int fleet_agent(const struct fleet *f, size_t i, struct fleet_agent_info *out);

/* Number of authenticated agents that are not lost. */
size_t fleet_n_alive(const struct fleet *f);

/*
 * Queues ASSIGN *a (copied) for the i-th agent: it rides on every
 * heartbeat reply until the agent reports READY or FAILED. Returns 0 or
 * E_RANGE.
 */
int fleet_assign(struct fleet *f, size_t i, const struct proto_assign *a);

/* Queues START {start_ns} (master clock) for every agent with an
 * assignment, repeated until it reports RUNNING or DONE. */
void fleet_start(struct fleet *f, uint64_t start_ns);

/* Queues STOP {reason} for every agent with an assignment, repeated until
 * it reports a state other than RUNNING. reason is copied (truncated). */
void fleet_stop(struct fleet *f, const char *reason);

/* Queues STOP {reason} for the i-th agent only (a lost agent whose share
 * moved to the others: should it come back, it must not run it too).
 * Returns 0 or E_RANGE. */
int fleet_stop_one(struct fleet *f, size_t i, const char *reason);

/*
 * Appends slice *sl to the i-th agent's ADOPT list and bumps its
 * generation: ADOPT {generation, every slice so far} rides on its
 * heartbeat replies while it is RUNNING, until its heartbeat reports that
 * generation applied (PROTOCOL.md 3.14). A pending ASSIGN, START or STOP
 * goes first. Returns 0, E_RANGE (no such agent) or E_TOOBIG (already
 * PROTO_MAX_SLICES slices).
 */
int fleet_adopt(struct fleet *f, size_t i, const struct proto_slice *sl);

/*
 * Forgets the last test's per-agent bookkeeping (assignment, GOODBYE,
 * pending command, active users, ADOPT list) so the same agents can be assigned
 * the next test of a suite; agents, their ids and liveness are kept. An agent
 * whose GOODBYE was acknowledged is DONE and then IDLE, and accepts a new
 * ASSIGN in either state. Call it with no aggregate set
 * (fleet_set_agg(f, NULL)) so a late message of the last test is refused.
 */
void fleet_reset_test(struct fleet *f);

#endif
