/* SPDX-License-Identifier: MIT */
/*
 * Local agent processes: fork/exec of the stress-agent that sits next to
 * the master's own executable, each in its own process group with
 * PR_SET_PDEATHSIG(SIGTERM), and their orderly end (SIGTERM, a grace
 * period, SIGKILL, reap) so that no exit path leaves a child behind.
 *
 * Thread-safety: none; call from the thread that owns the children (the
 * parent-death signal follows the thread that forked).
 */
#ifndef MASTER_SPAWN_H
#define MASTER_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#define SPAWN_MAX 256 /* children one struct spawn tracks */

/* Caller storage; fields are private. */
struct spawn {
    pid_t pid[SPAWN_MAX]; /* 0: slot unused or reaped */
    int status[SPAWN_MAX];
    size_t n;
    int stopping; /* exits during spawn_stop are expected */
};

/* Prepares s, empty. Cannot fail. */
void spawn_init(struct spawn *s);

/*
 * Writes "<directory of /proc/self/exe>/<name>" into out (outlen bytes).
 * Returns 0, E_IO (readlink failed) or E_RANGE (does not fit).
 */
int spawn_sibling_path(const char *name, char *out, size_t outlen);

/*
 * Starts argv[0] with argv (NULL-terminated; borrowed, copied by exec) as
 * a child in its own process group, with PR_SET_PDEATHSIG(SIGTERM), the
 * default signal dispositions and an empty signal mask. Returns 0, E_RANGE
 * (SPAWN_MAX children already) or E_IO (fork failed). An exec failure
 * shows up later as an exit with status 127 (see spawn_check).
 */
int spawn_start(struct spawn *s, char *const argv[]);

/*
 * Reaps children that have exited, without blocking. Returns how many of
 * the started children have exited so far (each logged once, with its
 * status, as warn AGENT-EXIT).
 */
size_t spawn_check(struct spawn *s);

/*
 * Ends every child still running: SIGTERM to its process group, up to
 * grace_ms for all to exit, then SIGKILL to the groups still there and a
 * blocking reap. Idempotent; afterwards s holds no live child.
 */
void spawn_stop(struct spawn *s, unsigned grace_ms);

#endif
