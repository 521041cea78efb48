/* SPDX-License-Identifier: MIT */
/*
 * Fork/exec and teardown of the master's local agents. Nothing here knows
 * the protocol; coord.c decides what to start and when to stop.
 */
#include "spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/poison.h"

void
spawn_init(struct spawn *s)
{
    memset(s, 0, sizeof(*s));
}

int
spawn_sibling_path(const char *name, char *out, size_t outlen)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash = NULL;
    int k = 0;

    if (n <= 0) {
        int e = errno;
        log_error("SPAWN-EXE", "readlink /proc/self/exe: errno=%d", e);
        return E_IO;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL) {
        return E_IO;
    }
    *slash = '\0';
    k = snprintf(out, outlen, "%s/%s", self, name);
    if (k < 0 || (size_t)k >= outlen) {
        return E_RANGE;
    }
    return 0;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void
child_exec(pid_t parent, char *const argv[])
{
    sigset_t none;

    (void)setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        _exit(127);
    }
    /* The parent may have died before prctl took effect. */
    if (getppid() != parent) {
        _exit(127);
    }
    (void)signal(SIGINT, SIG_DFL);
    (void)signal(SIGTERM, SIG_DFL);
    (void)signal(SIGPIPE, SIG_DFL);
    (void)sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    (void)execv(argv[0], argv);
    _exit(127);
}

int
spawn_start(struct spawn *s, char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = 0;

    if (s->n >= SPAWN_MAX) {
        return E_RANGE;
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;
        log_error("SPAWN-FORK", "fork: errno=%d", e);
        return E_IO;
    }
    if (pid == 0) {
        child_exec(parent, argv);
    }
    /* Also from the parent, so the group exists before any kill(-pid). */
    (void)setpgid(pid, pid);
    s->pid[s->n] = pid;
    s->status[s->n] = 0;
    s->n++;
    log_debug("SPAWN", "pid=%d exe=%s", (int)pid, argv[0]);
    return 0;
}

static void
log_exit(pid_t pid, int st, int expected)
{
    if (expected) {
        log_debug("AGENT-EXIT", "pid=%d status=0x%x", (int)pid, st);
    } else if (WIFEXITED(st)) {
        log_warn("AGENT-EXIT", "pid=%d status=%d", (int)pid, WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        log_warn("AGENT-EXIT", "pid=%d signal=%d", (int)pid, WTERMSIG(st));
    }
}

size_t
spawn_check(struct spawn *s)
{
    size_t gone = 0;

    for (size_t i = 0; i < s->n; i++) {
        if (s->pid[i] > 0) {
            int st = 0;
            pid_t r = waitpid(s->pid[i], &st, WNOHANG);
            if (r == s->pid[i]) {
                log_exit(s->pid[i], st, s->stopping);
                s->status[i] = st;
                s->pid[i] = 0;
            }
        }
        gone += s->pid[i] == 0 ? 1 : 0;
    }
    return gone;
}

void
spawn_stop(struct spawn *s, unsigned grace_ms)
{
    uint64_t deadline = clock_now_ns() + grace_ms * CLOCK_NS_PER_MS;
    size_t alive = 0;

    s->stopping = 1;
    for (size_t i = 0; i < s->n; i++) {
        if (s->pid[i] > 0) {
            (void)kill(-s->pid[i], SIGTERM);
        }
    }
    for (;;) {
        alive = s->n - spawn_check(s);
        if (alive == 0 || clock_now_ns() >= deadline) {
            break;
        }
        clock_sleep_ns(20 * CLOCK_NS_PER_MS);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->pid[i] > 0) {
            int st = 0;
            log_warn("AGENT-KILL", "pid=%d did not exit in %u ms",
                     (int)s->pid[i], grace_ms);
            (void)kill(-s->pid[i], SIGKILL);
            while (waitpid(s->pid[i], &st, 0) < 0 && errno == EINTR) {
            }
            s->pid[i] = 0;
        }
    }
}
