/* SPDX-License-Identifier: MIT */
/*
 * The master's run flow: token, plan, listen, local agents or remote ones,
 * handshake, ASSIGN/READY, START, merge and progress, GOODBYE, summary,
 * results, cleanup, exit code. main.c parses the command line and the
 * config; everything after that happens here.
 */
#ifndef MASTER_COORD_H
#define MASTER_COORD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/config.h"

/* Process exit statuses (DESIGN.md "Binaries"). */
enum coord_exit {
    COORD_EXIT_PASS = 0,         /* every threshold met */
    COORD_EXIT_THRESHOLD = 1,    /* a threshold violated */
    COORD_EXIT_USAGE = 2,        /* usage or configuration; nothing started */
    COORD_EXIT_INFRA = 3,        /* target unreachable, no or lost agents */
    COORD_EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM; partial results */
};

#define COORD_DEFAULT_LISTEN     "tcp://0.0.0.0:7700"
#define COORD_DEFAULT_LISTEN_TLS "tls+tcp://0.0.0.0:7700"
#define COORD_TOKEN_ENV          "KATO_STRESS_TOKEN"
#define COORD_TOKEN_MAX          1024 /* bytes of a token file */

/* The command line after parsing and validation (main.c). Borrowed
 * strings. */
struct master_opts {
    const char *config_file; /* the file loaded, "" for built-in defaults */
    int test;                /* enum plan_test, implemented */
    const char *profile;     /* validated profile name or NULL */
    uint32_t local_agents;   /* agents to spawn when agents == 0 */
    uint32_t agents;         /* > 0: wait for this many remote agents */
    const char *listen;      /* listen URL; NULL: the default */
    const char *tls_cert;    /* PEM certificate: listen on tls+tcp:// */
    const char *tls_key;     /* PEM key; NULL: in tls_cert's file */
    const char *tls_ca;      /* require client certificates it signed */
    const char *token_file;  /* NULL: KATO_STRESS_TOKEN or generated */
    uint32_t threads;        /* passed to local agents; 0: their default */
    bool seed_set;
    uint64_t seed;
    uint32_t agent_timeout_s; /* wait for agents to join */
    bool verbose;
    bool quick; /* --quick: also caps the pause between tests at 2 s */
    const char *baseline_file; /* --baseline FILE (main applies it to the
                                * config); NULL: the config's */
};

/*
 * Reads a token: the file's bytes with trailing whitespace (\r \n \t
 * space) removed. The same rule holds for KATO_STRESS_TOKEN and for the
 * agent, so `echo secret > token` works. Writes at most max bytes into out
 * and the length into *len. Returns 0, E_IO (unreadable), E_INVAL (empty)
 * or E_TOOBIG (longer than max).
 */
int coord_read_token(const char *path, uint8_t *out, size_t max, size_t *len);

/*
 * Runs the test that o and c describe and returns the process exit status
 * (enum coord_exit). For PLAN_TEST_ALL it runs the suite in the seed's
 * order (concurrent, sustained for each profile of
 * test_scenarios.sustained.profiles_for_all, then burst, pool, recovery,
 * the last listed as "not_implemented" and not run) over the same agents,
 * each test with its own aggregate, with
 * environment.cooldown_duration_seconds between two tests (at most 2 s
 * under o->quick), and writes one set of results holding every test; the
 * status is the worst over the tests (interrupted, then infrastructure,
 * then a threshold), and the first test that does not complete ends the
 * suite (the rest are "not_run"). stop counts the SIGINT/SIGTERM/SIGHUP main
 * received: once it is non-zero the agents are told STOP, what arrives within 2
 * s is collected (a second signal cuts that short) and partial results are
 * written marked "interrupted"; before the load started nothing is written.
 * With performance_thresholds.abort_on_fail the thresholds are evaluated
 * every second of the load after abort_delay_seconds; a violation tells the
 * agents STOP, collects their last batches as for an interrupt, marks the
 * test "aborted" (its results keep the violation), ends the suite and
 * gives COORD_EXIT_THRESHOLD. The progress goes to stderr through
 * console.h (a live line on a terminal, plain lines otherwise).
 * An output directory that cannot be created or written is refused before
 * anything starts (COORD_EXIT_USAGE, the message names the path); failing
 * to save the results after the run is COORD_EXIT_INFRA unless the run
 * already failed otherwise. Every local agent is stopped and reaped and
 * the temp token file removed on every return path. *closed is set to
 * false when the control socket's close had to be abandoned (the caller
 * must then skip nng_fini). Borrows o, c and stop.
 */
int coord_run(const struct master_opts *o, const struct config *c,
              const atomic_int *stop, bool *closed);

#endif
