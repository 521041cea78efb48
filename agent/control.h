/* SPDX-License-Identifier: MIT */
/*
 * The agent's control client: one thread that dials the master (nng REQ),
 * authenticates both ways, heartbeats, acts on ASSIGN/START/STOP, runs the
 * preflight health check, ships one BATCH per finished interval (queued
 * until acknowledged, re-sent after a reconnect, never dropped), says
 * GOODBYE with its totals, and stops the load when the master goes silent
 * (dead-man switch). It follows proto/PROTOCOL.md sections 1-2. The HTTP
 * load itself is engine.h's.
 */
#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

/* --allow-target entries at most. */
#define CONTROL_MAX_ALLOW 32
/* A master whose TLS handshake fails is dialled again after this, doubling
 * up to CONTROL_TLS_BACKOFF_MAX_MS (nng alone would re-dial several times
 * a second). */
#define CONTROL_TLS_BACKOFF_MS     1000
#define CONTROL_TLS_BACKOFF_MAX_MS 8000
/* The first failure is diagnosed with mbedTLS directly (tls_diagnose),
 * each step bounded by this. */
#define CONTROL_TLS_DIAG_MS 1000
/* No reply for this long while RUNNING stops the load. Replies come at
 * least every heartbeat (200 ms), and the check runs on time (wait_for in
 * control.c): the load stops within 3 s of the master's death (issue 5),
 * measured 2.8-2.95 s (docs/distributed.md). */
#define CONTROL_DEADMAN_MS 2750
/* At most this many batches wait for their ACK (two minutes of intervals;
 * the dead-man switch stops the load long before). An interval that finds
 * the queue full is held back, not dropped: its counts go with the next
 * batch that fits, and the master reports the intervals between as
 * missing (see queue_or_hold in control.c). */
#define CONTROL_MAX_UNACKED 120
/* A test hook: this environment variable (1 .. CONTROL_MAX_UNACKED) lowers
 * the bound so a test can reach the hold-back path within the dead-man
 * switch's 2.75 s (tests/integration/queue_hold_test.sh). Logged when set;
 * ignored when empty or out of range. */
#define CONTROL_TEST_MAX_UNACKED_ENV "KATO_STRESS_TEST_MAX_UNACKED"
/* After a stop request, how long the agent still tries to flush its
 * batches and GOODBYE before it gives up. */
#define CONTROL_SHUTDOWN_MS 2000

struct control_opts {
    const char *master_url;   /* "tcp://host:port"; borrowed during new */
    const uint8_t *token;     /* pre-shared token; copied */
    size_t token_len;         /* 1..4096 */
    uint32_t threads;         /* worker threads per assignment, >= 1 */
    const char *name;         /* agent name; copied (truncated to 63) */
    const char *host;         /* hostname; copied (truncated to 63) */
    size_t n_allow;           /* 0: any target */
    const char *const *allow; /* "HOST:PORT" entries; copied */
    /* tls+tcp:// master URLs: the dialer's TLS configuration (borrowed;
     * the dialer takes its own reference), and for log lines the CA file
     * and the server name it verifies (copied). NULL for tcp://. */
    nng_tls_config *tls;
    const char *tls_ca;
    const char *tls_server_name;
    const char *tls_cert; /* client certificate file or NULL (copied) */
    const char *tls_key;  /* its key file or NULL: in tls_cert (copied) */
};

struct control;

/*
 * Opens the REQ socket and starts dialling (non-blocking: nng keeps
 * re-dialling on its own). Returns 0 and sets *out (free with
 * control_free); E_INVAL for a master URL nng refuses or bad options (a
 * message is logged); E_NOMEM; E_NET for any other nng failure.
 * curl_global_init must have run.
 */
int control_new(struct control **out, const struct control_opts *o);

/*
 * Runs the conversation until control_request_stop(): then stops any load
 * (abort), tries for at most CONTROL_SHUTDOWN_MS to deliver the remaining
 * batches and GOODBYE, and returns 0. Blocks the calling thread.
 */
int control_run(struct control *c);

/* Asks control_run to finish. Thread-safe (an atomic store); not
 * async-signal-safe: call it from a thread, not from a signal handler. */
void control_request_stop(struct control *c);

/* Closes the socket and frees c (and any engine it still holds). NULL is a
 * no-op. Call only after control_run has returned (or was never run). */
void control_free(struct control *c);

#endif
