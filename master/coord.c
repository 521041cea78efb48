/* SPDX-License-Identifier: MIT */
/*
 * The master's run flow, phase by phase (see coord.h). It owns the
 * resources of one run (token file, socket, children, aggregate) and
 * releases them on every path; the protocol itself lives in fleet.c.
 */
#include "coord.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/rng.h"
#include "../common/tls.h"
#include "aggregate.h"
#include "baseline.h"
#include "burstpool.h"
#include "console.h"
#include "csv.h"
#include "degrade.h"
#include "fleet.h"
#include "html.h"
#include "junit.h"
#include "memleak.h"
#include "plan.h"
#include "rebalance.h"
#include "recovery.h"
#include "report.h"
#include "saturation.h"
#include "spawn.h"

#include "../common/poison.h"

#define READY_TIMEOUT_MS   15000u
#define START_DELAY_MS     500u
#define STOP_COLLECT_MS    2000u
#define GOODBYE_MARGIN_MS  10000u
#define KILL_GRACE_MS      3000u
#define HARD_KILL_GRACE_MS 300u /* after a second SIGINT/SIGTERM */

/* Tests one run can hold: concurrent, a sustained test per profile of
 * profiles_for_all, and the three --test all names not implemented yet. */
#define SUITE_MAX (CONFIG_MAX_LIST + 4)
/* --quick caps the pause between the tests of a suite at this. */
#define QUICK_COOLDOWN_S 2u

/* Losses one test records (a loss past this is still handled, and logged,
 * but not listed in the results). */
#define LOSS_MAX 64

/* One agent lost during a test and what the policy did with its share. */
struct loss {
    char name[PROTO_NAME_MAX];
    uint32_t agent_index; /* its plan index (ASSIGN aidx) */
    uint64_t at_ms;       /* detected, since the load's start */
    int policy;           /* enum config_agent_loss applied */
    uint32_t survivors;   /* rebalance: how many took its share */
    uint32_t n_slices;    /* the slices it held when lost */
    double fraction;      /* of the whole load those slices hold */
    uint64_t users;       /* closed streams: peak users those slices hold */
    double rate;          /* open streams: peak arrivals/s they hold */
    bool moved;           /* rebalance: the share was handed over */
    char why_not[96];     /* rebalance that could not be: why */
};

/* One test of the run (a suite for --test all, else just one). */
struct slot {
    int test;            /* enum plan_test */
    const char *profile; /* sustained: the profile; else NULL */
    bool implemented;
    char name[PROTO_NAME_MAX]; /* results key */
    const char *status;        /* NULL until decided: "completed", "failed",
                                * "interrupted", "not_implemented", "not_run" */
    struct plan plan;          /* implemented: built before anything starts */
    struct agg *agg;           /* once its load started, else NULL */
    struct memleak *mem;       /* memory test: its verdict, once measured */
    uint64_t start_ns;         /* master clock */
    uint64_t start_wall_ns;
    uint64_t end_ns;
    double abort_at_s;      /* status "aborted": when, into the load */
    char abort_reason[192]; /* status "aborted": the violation; "failed"
                             * by on_agent_loss abort: the lost agent */
    size_t n_losses;
    struct loss losses[LOSS_MAX];
};

/* The slices a participant runs (master/rebalance.h): its own, then the
 * ones it adopted. */
struct held {
    uint32_t n;
    struct proto_slice sl[PROTO_MAX_SLICES];
    bool loss_handled; /* its loss was handled (once per test) */
};

struct run {
    const struct master_opts *o;
    const struct config *c;
    const atomic_int *stop;
    uint8_t token[COORD_TOKEN_MAX];
    size_t token_len;
    char token_path[4096];
    bool token_tmp; /* token_path is ours to delete */
    struct slot slots[SUITE_MAX];
    size_t n_slots;
    struct plan *plan; /* the current test's (borrowed from its slot) */
    struct agg *agg;   /* the current test's (borrowed from its slot) */
    struct fleet *fleet;
    struct spawn sp;
    char tls_name[TLS_NAME_MAX]; /* local agents' --tls-server-name */
    size_t *part;                /* plan index -> fleet index */
    struct held *held;           /* plan index -> the slices it runs */
    struct slot *slot;           /* the current test's */
    uint64_t start_ns;           /* master clock */
    uint64_t start_wall_ns;
    uint64_t end_ns; /* when the load ended or was stopped */
    struct console con;
    double abort_at_s;      /* set when abort_on_fail stopped the load */
    char abort_reason[192]; /* the violation that stopped it */
};

static bool
stopping(const struct run *r)
{
    return atomic_load(r->stop) != 0;
}

/* A second SIGINT/SIGTERM: stop waiting for the agents' last words. */
static bool
stopping_hard(const struct run *r)
{
    return atomic_load(r->stop) >= 2;
}

/* --- token ------------------------------------------------------------- */

int
coord_read_token(const char *path, uint8_t *out, size_t max, size_t *len)
{
    uint8_t tmp[COORD_TOKEN_MAX + 2];
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rv = 0;
    struct stat st;

    if (fd < 0) {
        int e = errno;
        log_error("TOKEN-READ", "file=%s errno=%d", path, e);
        return E_IO;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
        log_warn("TOKEN-PERMS", "file=%s mode=%03o (should be 0600)", path,
                 (unsigned)(st.st_mode & 0777));
    }
    while (n < sizeof(tmp)) {
        ssize_t k = read(fd, tmp + n, sizeof(tmp) - n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            int e = errno;
            log_error("TOKEN-READ", "file=%s errno=%d", path, e);
            rv = E_IO;
            goto out;
        }
        if (k == 0) {
            break;
        }
        n += (size_t)k;
    }
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r' ||
                     tmp[n - 1] == ' ' || tmp[n - 1] == '\t')) {
        n--;
    }
    if (n == 0) {
        rv = E_INVAL;
        goto out;
    }
    if (n > max || n > COORD_TOKEN_MAX) {
        rv = E_TOOBIG;
        goto out;
    }
    memcpy(out, tmp, n);
    *len = n;
out:
    memset(tmp, 0, sizeof(tmp));
    (void)close(fd);
    return rv;
}

/* A fresh 32-byte token, hex-encoded into a 0600 temp file (no newline). */
static int
make_token(struct run *r)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[32];
    const char *dir = getenv("TMPDIR");
    int fd = -1;
    int rv = 0;
    int k = 0;
    size_t off = 0;

    if (dir == NULL || dir[0] == '\0') {
        dir = "/tmp";
    }
    k = snprintf(r->token_path, sizeof(r->token_path),
                 "%s/kato-stress-token.XXXXXX", dir);
    if (k < 0 || (size_t)k >= sizeof(r->token_path)) {
        return E_RANGE;
    }
    if ((rv = rng_secure_bytes(raw, sizeof(raw))) != 0) {
        return rv;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        r->token[2 * i] = (uint8_t)hex[raw[i] >> 4];
        r->token[2 * i + 1] = (uint8_t)hex[raw[i] & 15];
    }
    r->token_len = 2 * sizeof(raw);
    memset(raw, 0, sizeof(raw));
    fd = mkstemp(r->token_path); /* creates the file 0600 */
    if (fd < 0) {
        int e = errno;
        log_error("TOKEN-WRITE", "mkstemp %s: errno=%d", r->token_path, e);
        return E_IO;
    }
    r->token_tmp = true;
    while (off < r->token_len) {
        ssize_t w = write(fd, r->token + off, r->token_len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            int e = errno;
            log_error("TOKEN-WRITE", "file=%s errno=%d", r->token_path, e);
            rv = E_IO;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0 && rv == 0) {
        rv = E_IO;
    }
    return rv;
}

static int
setup_token(struct run *r)
{
    const char *env = getenv(COORD_TOKEN_ENV);
    int rv = 0;

    if (r->o->token_file != NULL) {
        rv = coord_read_token(r->o->token_file, r->token, sizeof(r->token),
                              &r->token_len);
        if (rv != 0) {
            (void)fprintf(stderr, "error: token file %s: %s\n",
                          r->o->token_file,
                          rv == E_INVAL ? "empty" : err_str(rv));
            return COORD_EXIT_USAGE;
        }
        (void)snprintf(r->token_path, sizeof(r->token_path), "%s",
                       r->o->token_file);
        return 0;
    }
    if (r->o->agents > 0) {
        size_t n = env ? strlen(env) : 0;
        while (n > 0 && (env[n - 1] == '\n' || env[n - 1] == '\r' ||
                         env[n - 1] == ' ' || env[n - 1] == '\t')) {
            n--;
        }
        if (n == 0 || n > sizeof(r->token)) {
            (void)fprintf(stderr,
                          "error: --agents needs a token: --token-file FILE "
                          "or %s (1..%u bytes)\n",
                          COORD_TOKEN_ENV, (unsigned)COORD_TOKEN_MAX);
            return COORD_EXIT_USAGE;
        }
        memcpy(r->token, env, n);
        r->token_len = n;
        return 0;
    }
    rv = make_token(r);
    if (rv != 0) {
        (void)fprintf(stderr, "error: cannot create a token file: %s\n",
                      err_str(rv));
        return COORD_EXIT_INFRA;
    }
    return 0;
}

/* --- TLS ------------------------------------------------------------------
 */

/*
 * The listener's TLS configuration from --tls-cert/--tls-key, and, when
 * the master starts its own agents, the name they verify: they trust the
 * certificate's own file as their CA. A file that cannot serve is the
 * user's configuration: refused before anything starts (exit 2).
 */
static int
setup_tls(struct run *r, nng_tls_config **out)
{
    char err[TLS_ERR_SPACE];

    if (tls_server_config(out, r->o->tls_cert, r->o->tls_key, r->o->tls_ca, err,
                          sizeof(err)) != 0) {
        (void)fprintf(stderr, "error: %s\n", err);
        return COORD_EXIT_USAGE;
    }
    if (r->o->agents == 0 &&
        tls_local_name(r->o->tls_cert, r->tls_name, sizeof(r->tls_name), err,
                       sizeof(err)) != 0) {
        (void)fprintf(stderr, "error: %s\n", err);
        nng_tls_config_free(*out);
        *out = NULL;
        return COORD_EXIT_USAGE;
    }
    log_info("TLS", "cert=%s key=%s client_ca=%s%s%s", r->o->tls_cert,
             r->o->tls_key != NULL ? r->o->tls_key : "(in the cert file)",
             r->o->tls_ca != NULL ? r->o->tls_ca
                                  : "(none: no client "
                                    "certificates)",
             r->tls_name[0] != '\0' ? " local_server_name=" : "", r->tls_name);
    return 0;
}

/* --- local agents ----------------------------------------------------------
 */

static int
spawn_local(struct run *r)
{
    char exe[4096];
    char master[64];
    char name[32];
    char threads[16];
    char ca[4096];
    uint16_t port = 0;
    int rv = 0;

    if ((rv = fleet_port(r->fleet, &port)) != 0) {
        return rv;
    }
    if ((rv = spawn_sibling_path("stress-agent", exe, sizeof(exe))) != 0) {
        (void)fprintf(stderr, "error: cannot locate stress-agent: %s\n",
                      err_str(rv));
        return rv;
    }
    if (access(exe, X_OK) != 0) {
        (void)fprintf(stderr, "error: %s is missing or not executable\n", exe);
        return E_IO;
    }
    (void)snprintf(master, sizeof(master), "%s127.0.0.1:%u",
                   r->o->tls_cert != NULL ? TLS_SCHEME : "tcp://",
                   (unsigned)port);
    (void)snprintf(threads, sizeof(threads), "%u", (unsigned)r->o->threads);
    if (r->o->tls_cert != NULL &&
        snprintf(ca, sizeof(ca), "%s", r->o->tls_cert) >= (int)sizeof(ca)) {
        (void)fprintf(stderr, "error: --tls-cert path is too long\n");
        return E_RANGE;
    }
    log_debug("LOCAL-AGENTS", "count=%u exe=%s master=%s",
              (unsigned)r->o->local_agents, exe, master);
    for (uint32_t i = 0; i < r->o->local_agents; i++) {
        char o_master[] = "--master";
        char o_token[] = "--token-file";
        char o_name[] = "--name";
        char o_threads[] = "--threads";
        char o_log[] = "--quiet";
        char o_verbose[] = "--verbose";
        char o_ca[] = "--tls-ca";
        char o_sn[] = "--tls-server-name";
        char *argv[20];
        int k = 0;
        (void)snprintf(name, sizeof(name), "local-%u", (unsigned)(i + 1));
        argv[k++] = exe;
        argv[k++] = o_master;
        argv[k++] = master;
        argv[k++] = o_token;
        argv[k++] = r->token_path;
        argv[k++] = o_name;
        argv[k++] = name;
        if (r->o->threads > 0) {
            argv[k++] = o_threads;
            argv[k++] = threads;
        }
        if (r->o->tls_cert != NULL) {
            argv[k++] = o_ca;
            argv[k++] = ca;
            argv[k++] = o_sn;
            argv[k++] = r->tls_name;
        }
        /* Local agents speak up only for warnings: their progress is the
         * master's to tell, unless the user asked for everything. */
        argv[k++] = r->o->verbose ? o_verbose : o_log;
        argv[k] = NULL;
        if ((rv = spawn_start(&r->sp, argv)) != 0) {
            return rv;
        }
    }
    return 0;
}

/* --- phases ----------------------------------------------------------------
 */

/* Polls once; a dead socket is an infrastructure failure. */
static int
poll_once(struct run *r)
{
    int n = fleet_poll(r->fleet);
    return n < 0 ? n : 0;
}

static int
wait_join(struct run *r, uint32_t want)
{
    uint64_t deadline =
        clock_now_ns() + (uint64_t)r->o->agent_timeout_s * CLOCK_NS_PER_S;
    bool local = r->o->agents == 0;

    log_msg(local ? LOG_DEBUG : LOG_INFO, "AGENTS-WAIT", "want=%u timeout_s=%u",
            (unsigned)want, (unsigned)r->o->agent_timeout_s);
    while (fleet_n_alive(r->fleet) < want) {
        if (stopping(r)) {
            return COORD_EXIT_INTERRUPTED;
        }
        if (poll_once(r) != 0) {
            (void)fprintf(stderr, "error: control socket failed\n");
            return COORD_EXIT_INFRA;
        }
        if (local && spawn_check(&r->sp) > 0) {
            (void)fprintf(stderr,
                          "error: a local agent exited before joining "
                          "(%zu of %u joined)\n",
                          fleet_n_alive(r->fleet), (unsigned)want);
            return COORD_EXIT_INFRA;
        }
        if (clock_now_ns() >= deadline) {
            (void)fprintf(stderr,
                          "error: only %zu of %u agents joined within %u s\n",
                          fleet_n_alive(r->fleet), (unsigned)want,
                          (unsigned)r->o->agent_timeout_s);
            return COORD_EXIT_INFRA;
        }
    }
    log_info("AGENTS-JOINED", "count=%zu", fleet_n_alive(r->fleet));
    return 0;
}

/* The first plan.n_agents live agents in join order take the shares. */
static int
assign_all(struct run *r)
{
    size_t n = 0;
    int rv = 0;

    xfree(r->part);
    xfree(r->held);
    r->part = xcalloc(r->plan->n_agents, sizeof(*r->part));
    r->held = xcalloc(r->plan->n_agents, sizeof(*r->held));
    if (r->part == NULL || r->held == NULL) {
        return E_NOMEM;
    }
    for (uint32_t k = 0; k < r->plan->n_agents; k++) {
        r->held[k].n = 1;
        r->held[k].sl[0].index = k;
        r->held[k].sl[0].count = r->plan->n_agents;
    }
    for (size_t i = 0; i < fleet_n_agents(r->fleet) && n < r->plan->n_agents;
         i++) {
        struct fleet_agent_info ai;
        if (fleet_agent(r->fleet, i, &ai) != 0 || ai.lost) {
            continue;
        }
        r->part[n] = i;
        if (r->plan->has_assign[n]) {
            uint32_t users = plan_agent_users(r->plan, (uint32_t)n);
            if ((rv = fleet_assign(r->fleet, i, &r->plan->assign[n])) != 0 ||
                (rv = agg_add_agent(r->agg, ai.id, ai.name, users)) != 0 ||
                (rv = agg_set_agent_threads(r->agg, ai.id,
                                            ai.threads == 0      ? 1
                                            : ai.threads < users ? ai.threads
                                                                 : users)) !=
                    0) {
                return rv;
            }
            log_debug("ASSIGN", "agent=%s index=%zu users=%u", ai.name, n,
                      (unsigned)users);
        } else {
            log_info("AGENT-IDLE",
                     "agent=%s gets no users (%u users, %u "
                     "agents)",
                     ai.name, (unsigned)r->plan->total_users,
                     (unsigned)r->plan->n_agents);
        }
        n++;
    }
    for (size_t i = 0; i < fleet_n_agents(r->fleet); i++) {
        bool used = false;
        for (size_t k = 0; k < n; k++) {
            used = used || r->part[k] == i;
        }
        if (!used) {
            struct fleet_agent_info ai;
            if (fleet_agent(r->fleet, i, &ai) == 0) {
                log_info("AGENT-SPARE", "agent=%s takes no part", ai.name);
            }
        }
    }
    return n == r->plan->n_agents ? 0 : E_STATE;
}

static bool
text_says_unreachable(const char *t)
{
    static const char *const words[] = {
        "unreachable", "refused", "health",  "resolve",
        "timed out",   "timeout", "connect", "http",
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strstr(t, words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static int
wait_ready(struct run *r)
{
    uint64_t deadline = clock_now_ns() + READY_TIMEOUT_MS * CLOCK_NS_PER_MS;

    for (;;) {
        size_t ready = 0;
        size_t want = 0;
        if (stopping(r)) {
            return COORD_EXIT_INTERRUPTED;
        }
        if (poll_once(r) != 0) {
            (void)fprintf(stderr, "error: control socket failed\n");
            return COORD_EXIT_INFRA;
        }
        for (size_t k = 0; k < r->plan->n_agents; k++) {
            struct fleet_agent_info ai;
            if (!r->plan->has_assign[k] ||
                fleet_agent(r->fleet, r->part[k], &ai) != 0) {
                continue;
            }
            want++;
            if (ai.state == PROTO_ST_FAILED) {
                /* An --allow-target refusal names host names, which may
                 * hold any of the "unreachable" words. */
                if (strstr(ai.text, "--allow-target") == NULL &&
                    text_says_unreachable(ai.text)) {
                    (void)fprintf(stderr, "error: target URL unreachable: %s\n",
                                  ai.text);
                } else {
                    (void)fprintf(stderr,
                                  "error: agent %s refused the assignment: "
                                  "%s\n",
                                  ai.name, ai.text);
                }
                return COORD_EXIT_INFRA;
            }
            if (ai.lost) {
                (void)fprintf(stderr, "error: agent %s lost before start\n",
                              ai.name);
                return COORD_EXIT_INFRA;
            }
            ready += ai.state == PROTO_ST_READY ? 1 : 0;
        }
        if (ready == want) {
            return 0;
        }
        if (clock_now_ns() >= deadline) {
            (void)fprintf(stderr,
                          "error: only %zu of %zu agents ready within %u s\n",
                          ready, want, READY_TIMEOUT_MS / 1000u);
            return COORD_EXIT_INFRA;
        }
    }
}

/* Counts of the participants: said GOODBYE, lost without GOODBYE, users
 * active, alive. */
struct tally {
    size_t part;
    size_t goodbye;
    size_t lost;
    size_t alive;
    uint64_t users;
};

static struct tally
tally(const struct run *r)
{
    struct tally t;

    memset(&t, 0, sizeof(t));
    for (size_t k = 0; k < r->plan->n_agents; k++) {
        struct fleet_agent_info ai;
        if (!r->plan->has_assign[k] ||
            fleet_agent(r->fleet, r->part[k], &ai) != 0) {
            continue;
        }
        t.part++;
        t.goodbye += ai.goodbye ? 1 : 0;
        t.lost += (ai.lost && !ai.goodbye) ? 1 : 0;
        t.alive += ai.lost ? 0 : 1;
        t.users += ai.lost ? 0 : ai.users_active;
    }
    return t;
}

static void
progress(struct run *r, uint32_t k)
{
    struct tally t = tally(r);
    struct console_tick ct;
    uint64_t err = 0;
    uint64_t p99_us = 0;

    memset(&ct, 0, sizeof(ct));
    if (k > 0) {
        (void)agg_interval(r->agg, k - 1, &ct.rps, &err);
        (void)agg_interval_percentile(r->agg, k - 1, -1, false, 99.0, &p99_us);
    }
    ct.elapsed_s = k;
    ct.duration_s = (uint32_t)(r->plan->duration_ms / 1000u);
    ct.users = t.users;
    ct.p99_ms = (double)p99_us / 1000.0;
    ct.errors = agg_op_counts(r->agg, -1).errors;
    ct.alive = t.alive;
    ct.total = t.part;
    console_progress(&r->con, &ct);
}

/*
 * abort_on_fail: evaluates the thresholds on the data merged so far once
 * k whole seconds of load ran (after abort_delay_seconds). Returns true,
 * with r->abort_reason and r->abort_at_s set, when one is violated.
 */
static bool
abort_due(struct run *r, uint32_t k)
{
    const struct thresholds *th = &r->c->thresholds;
    struct report_verdict *v = NULL;
    bool due = false;

    /* Not in the goodbye margin: the load has ended by then. */
    if (!th->abort_on_fail || k < th->abort_delay_seconds || k == 0 ||
        k > r->plan->duration_ms / 1000u) {
        return false;
    }
    v = xmalloc(sizeof(*v));
    if (v == NULL) {
        return false; /* checked again next second, and at the end */
    }
    report_evaluate(r->agg, th, (double)k, true, r->plan->result_name, v);
    if (v->n_violations > 0) {
        due = true;
        r->abort_at_s = (double)k;
        (void)snprintf(r->abort_reason, sizeof(r->abort_reason), "%s",
                       v->v[0].message);
        console_clear(&r->con);
        log_warn("THRESHOLD-ABORT", "at_s=%u %s", (unsigned)k, v->v[0].message);
    }
    xfree(v);
    return due;
}

/* Tells the agents STOP (reason on the wire) and collects what arrives for
 * STOP_COLLECT_MS, or until all said goodbye or a second signal. */
static void
stop_and_collect(struct run *r, const char *reason)
{
    uint64_t until = 0;

    r->end_ns = clock_now_ns();
    /* Only whole seconds that ran are expected from the agents. */
    agg_set_expected(
        r->agg, r->end_ns > r->start_ns
                    ? (uint32_t)((r->end_ns - r->start_ns) / CLOCK_NS_PER_S)
                    : 0);
    log_warn("STOPPING", "reason=%s agents=%zu", reason, tally(r).part);
    fleet_stop(r->fleet, reason);
    until = clock_now_ns() + STOP_COLLECT_MS * CLOCK_NS_PER_MS;
    while (clock_now_ns() < until) {
        struct tally t = tally(r);
        if (t.goodbye + t.lost == t.part || stopping_hard(r) ||
            poll_once(r) != 0) {
            break;
        }
    }
}

/* What slices (I, N) hold of the plan's peak load: closed users and open
 * arrivals/s, into l. */
static void
loss_measure(const struct run *r, struct loss *l, const struct held *h)
{
    const struct proto_assign *a = &r->plan->assign[0];

    l->n_slices = h->n;
    l->fraction = rebalance_fraction(h->sl, h->n);
    l->users = 0;
    l->rate = 0.0;
    for (uint32_t si = 0; si < a->n_streams; si++) {
        const struct proto_stream *st = &a->streams[si];
        for (uint32_t j = 0; j < h->n; j++) {
            if (st->model == PROTO_MODEL_OPEN) {
                l->rate += st->peak / (double)h->sl[j].count;
            } else {
                l->users += rebalance_share((uint32_t)st->peak, &h->sl[j]);
            }
        }
    }
}

/*
 * A test of a suite that starts after agents were lost (a previous test
 * rebalanced or continued without them) is planned again for the agents
 * still there, with the same seed, so it runs whole on fewer agents
 * rather than failing to assign. Keeps the plan when that fails.
 */
static void
replan(struct run *r, struct slot *s)
{
    uint32_t alive = (uint32_t)fleet_n_alive(r->fleet);
    struct plan_opts po;
    struct plan np;
    char err[256];

    if (alive == 0 || alive >= s->plan.n_agents) {
        return;
    }
    memset(&po, 0, sizeof(po));
    memset(&np, 0, sizeof(np));
    po.test = s->test;
    po.n_agents = alive;
    po.seed = s->plan.seed;
    po.profile = s->profile;
    if (plan_build(&np, r->c, &po, err, sizeof(err)) != 0) {
        log_warn("REPLAN", "test=%s agents=%u: %s", s->name, (unsigned)alive,
                 err);
        return;
    }
    log_warn("REPLAN", "test=%s agents=%u (was %u: agents were lost)", s->name,
             (unsigned)alive, (unsigned)s->plan.n_agents);
    plan_fini(&s->plan);
    s->plan = np;
}

/*
 * on_agent_loss rebalance: hands the n slices of lost participant k over
 * to the alive participants that have not said GOODBYE, survivor r of m
 * taking (I + N r, N m) of each from at_ms on (rebalance.h), and tells
 * the lost agent STOP should it come back. Fills l->moved, survivors and
 * why_not.
 */
static void
loss_rebalance(struct run *r, uint32_t k, uint64_t at_ms, struct loss *l)
{
    uint32_t surv[PLAN_MAX_AGENTS];
    struct proto_slice *out = NULL;
    const struct held *h = &r->held[k];
    uint32_t m = 0;
    int rv = 0;

    for (uint32_t j = 0; j < r->plan->n_agents; j++) {
        struct fleet_agent_info ai;
        if (j == k || !r->plan->has_assign[j] ||
            fleet_agent(r->fleet, r->part[j], &ai) != 0 || ai.lost ||
            ai.goodbye) {
            continue;
        }
        surv[m++] = j;
    }
    l->survivors = m;
    if (m == 0) {
        (void)snprintf(l->why_not, sizeof(l->why_not), "no agent left");
        return;
    }
    out = xcalloc((size_t)m * h->n, sizeof(*out));
    if (out == NULL) {
        (void)snprintf(l->why_not, sizeof(l->why_not), "out of memory");
        return;
    }
    rv = rebalance_split(h->sl, h->n, m, at_ms, out);
    for (uint32_t q = 0; rv == 0 && q < m; q++) {
        if (r->held[surv[q]].n + h->n > PROTO_MAX_SLICES) {
            rv = E_TOOBIG;
        }
    }
    if (rv != 0) {
        (void)snprintf(l->why_not, sizeof(l->why_not),
                       "cannot split further: %s", err_str(rv));
        goto out;
    }
    for (uint32_t q = 0; q < m; q++) {
        struct held *s = &r->held[surv[q]];
        for (uint32_t j = 0; j < h->n; j++) {
            const struct proto_slice *sl = &out[(size_t)q * h->n + j];
            s->sl[s->n++] = *sl;
            (void)fleet_adopt(r->fleet, r->part[surv[q]], sl);
            log_debug("ADOPT", "agent_index=%u slice=%u/%u from_ms=%llu",
                      (unsigned)surv[q], (unsigned)sl->index,
                      (unsigned)sl->count, (unsigned long long)sl->from_ms);
        }
    }
    (void)fleet_stop_one(r->fleet, r->part[k],
                         "your share moved to the other agents");
    l->moved = true;
out:
    xfree(out);
}

/*
 * Applies on_agent_loss to every participant newly found lost. Returns
 * NULL, or (abort) the run status with *code set and the agents told
 * STOP.
 */
static const char *
handle_losses(struct run *r, uint64_t now, int *code)
{
    int policy = (int)r->c->distributed.on_agent_loss;

    for (uint32_t k = 0; k < r->plan->n_agents; k++) {
        struct fleet_agent_info ai;
        struct loss lbuf;
        struct loss *l = &lbuf;
        uint64_t at_ms = 0;

        if (!r->plan->has_assign[k] || r->held[k].loss_handled ||
            fleet_agent(r->fleet, r->part[k], &ai) != 0 || !ai.lost ||
            ai.goodbye) {
            continue;
        }
        r->held[k].loss_handled = true;
        at_ms = now > r->start_ns ? (now - r->start_ns) / CLOCK_NS_PER_MS : 0;
        if (r->slot->n_losses < LOSS_MAX) {
            l = &r->slot->losses[r->slot->n_losses++];
        }
        memset(l, 0, sizeof(*l));
        (void)snprintf(l->name, sizeof(l->name), "%s", ai.name);
        l->agent_index = k;
        l->at_ms = at_ms;
        l->policy = policy;
        loss_measure(r, l, &r->held[k]);
        if (policy == CONFIG_LOSS_ABORT) {
            console_clear(&r->con);
            (void)snprintf(r->abort_reason, sizeof(r->abort_reason),
                           "agent %s (index %u) lost %.1f s into the load "
                           "(on_agent_loss: abort)",
                           ai.name, (unsigned)k, (double)at_ms / 1000.0);
            (void)fprintf(stderr, "error: %s\n", r->abort_reason);
            log_warn("AGENT-LOSS", "agent=%s policy=abort at_ms=%llu", ai.name,
                     (unsigned long long)at_ms);
            stop_and_collect(r, r->abort_reason);
            *code = COORD_EXIT_INFRA;
            return "failed";
        }
        if (policy == CONFIG_LOSS_REBALANCE) {
            loss_rebalance(r, k, at_ms, l);
        }
        log_warn("AGENT-LOSS",
                 "agent=%s policy=%s at_ms=%llu share=%.4f users=%llu "
                 "rate=%.3f moved=%s survivors=%u%s%s",
                 ai.name, config_agent_loss_name(policy),
                 (unsigned long long)at_ms, l->fraction,
                 (unsigned long long)l->users, l->rate, l->moved ? "yes" : "no",
                 (unsigned)l->survivors, l->why_not[0] ? " why_not=" : "",
                 l->why_not);
    }
    return NULL;
}

/* Runs the load until every participant said GOODBYE (or is lost), the
 * deadline passes or a stop is requested. Returns the run status. */
static const char *
run_load(struct run *r, int *code)
{
    uint64_t deadline = r->start_ns + r->plan->duration_ms * CLOCK_NS_PER_MS +
                        (uint64_t)r->plan->timeout_ms * CLOCK_NS_PER_MS +
                        GOODBYE_MARGIN_MS * CLOCK_NS_PER_MS;
    uint32_t next_tick = 1;

    *code = 0;
    for (;;) {
        uint64_t now = 0;
        struct tally t;
        if (stopping(r)) {
            break;
        }
        if (poll_once(r) != 0) {
            (void)fprintf(stderr, "error: control socket failed\n");
            r->end_ns = clock_now_ns();
            *code = COORD_EXIT_INFRA;
            return "failed";
        }
        now = clock_now_ns();
        t = tally(r);
        if (t.lost > 0) {
            const char *st = handle_losses(r, now, code);
            if (st != NULL) {
                return st;
            }
        }
        if (t.lost == t.part) {
            (void)fprintf(stderr, "error: all %zu agents lost\n", t.part);
            r->end_ns = now;
            *code = COORD_EXIT_INFRA;
            return "failed";
        }
        if (t.goodbye + t.lost == t.part) {
            r->end_ns = now;
            return "completed";
        }
        if (now >= r->start_ns + (uint64_t)next_tick * CLOCK_NS_PER_S +
                       START_DELAY_MS * CLOCK_NS_PER_MS) {
            if (next_tick <= r->plan->duration_ms / 1000u) {
                progress(r, next_tick);
            }
            if (abort_due(r, next_tick)) {
                stop_and_collect(r, "threshold violated (abort_on_fail)");
                *code = COORD_EXIT_THRESHOLD;
                return "aborted";
            }
            next_tick++;
        }
        if (now >= deadline) {
            log_warn("GOODBYE-TIMEOUT", "%zu of %zu agents said goodbye",
                     t.goodbye, t.part);
            r->end_ns = now;
            return "completed";
        }
    }
    /* Interrupted: STOP, then collect what arrives for a while. */
    log_warn("INTERRUPTED", "telling %zu agents to stop", tally(r).part);
    stop_and_collect(r, "interrupted");
    if (stopping_hard(r)) {
        log_warn("INTERRUPTED", "second interrupt: not waiting for the "
                                "agents' last batches");
    }
    *code = COORD_EXIT_INTERRUPTED;
    return "interrupted";
}

/* --- the suite -------------------------------------------------------- */

/* Appends a slot for test t (profile for sustained). */
static struct slot *
add_slot(struct run *r, int t, const char *profile)
{
    struct slot *s = &r->slots[r->n_slots++];

    memset(s, 0, sizeof(*s));
    s->test = t;
    s->profile = profile;
    s->implemented = plan_test_implemented(t);
    (void)snprintf(s->name, sizeof(s->name), "%s", plan_result_name(t));
    return s;
}

/*
 * The tests of this run, each implemented one planned now so that
 * anything the planner refuses is refused before anything starts. --test
 * all follows the seed (docs/tests-design.md 6): concurrent, sustained
 * for each profile of profiles_for_all, burst, pool, recovery (memory
 * only on its own, as the original). Returns 0 or COORD_EXIT_USAGE /
 * COORD_EXIT_INFRA (message printed).
 */
static int
build_suite(struct run *r, uint64_t seed)
{
    const struct config *c = r->c;
    char err[256];

    r->n_slots = 0;
    if (r->o->test == PLAN_TEST_ALL) {
        (void)add_slot(r, PLAN_TEST_CONCURRENT, NULL);
        for (size_t i = 0; i < c->sustained.n_profiles_for_all; i++) {
            (void)add_slot(r, PLAN_TEST_SUSTAINED,
                           c->sustained.profiles_for_all[i]);
        }
        (void)add_slot(r, PLAN_TEST_BURST, NULL);
        (void)add_slot(r, PLAN_TEST_POOL, NULL);
        (void)add_slot(r, PLAN_TEST_RECOVERY, NULL);
    } else {
        (void)add_slot(r, r->o->test, r->o->profile);
    }
    for (size_t i = 0; i < r->n_slots; i++) {
        struct slot *s = &r->slots[i];
        struct plan_opts po;
        if (!s->implemented) {
            s->status = "not_implemented";
            continue;
        }
        memset(&po, 0, sizeof(po));
        po.test = s->test;
        po.n_agents = r->o->agents > 0 ? r->o->agents : r->o->local_agents;
        po.seed = seed;
        po.profile = s->profile;
        if (plan_build(&s->plan, c, &po, err, sizeof(err)) != 0) {
            (void)fprintf(stderr, "error: %s\n", err);
            return COORD_EXIT_USAGE;
        }
        (void)snprintf(s->name, sizeof(s->name), "%s", s->plan.result_name);
        log_info("PLAN",
                 "test=%s users=%u duration_s=%llu agents=%u seed=%llu "
                 "vector_dim=%u target=%s",
                 s->name, (unsigned)s->plan.total_users,
                 (unsigned long long)(s->plan.duration_ms / 1000u),
                 (unsigned)po.n_agents, (unsigned long long)s->plan.seed,
                 (unsigned)s->plan.vector_dim, c->env.kato_base_url);
    }
    if (r->o->test == PLAN_TEST_ALL) {
        char names[256];
        size_t off = 0;
        names[0] = '\0';
        for (size_t i = 0; i < r->n_slots; i++) {
            if (!r->slots[i].implemented && off < sizeof(names)) {
                int k = snprintf(names + off, sizeof(names) - off, "%s%s",
                                 off ? ", " : "", r->slots[i].name);
                off += k > 0 ? (size_t)k : 0;
            }
        }
        if (names[0] != '\0') {
            log_warn("NOT-IMPLEMENTED",
                     "--test all: %s not implemented yet: listed as "
                     "not_implemented, not run",
                     names);
        }
    }
    return 0;
}

/* The pause between two tests of a suite, answering the agents'
 * heartbeats meanwhile (they would otherwise be declared lost). Returns
 * 0, COORD_EXIT_INTERRUPTED or COORD_EXIT_INFRA. */
static int
cooldown(struct run *r)
{
    uint32_t secs = r->c->env.cooldown_duration_seconds;
    uint64_t until = 0;

    if (r->o->quick && secs > QUICK_COOLDOWN_S) {
        secs = QUICK_COOLDOWN_S;
    }
    log_info("COOLDOWN", "seconds=%u", (unsigned)secs);
    until = clock_now_ns() + (uint64_t)secs * CLOCK_NS_PER_S;
    while (clock_now_ns() < until) {
        if (stopping(r)) {
            return COORD_EXIT_INTERRUPTED;
        }
        if (poll_once(r) != 0) {
            (void)fprintf(stderr, "error: control socket failed\n");
            return COORD_EXIT_INFRA;
        }
    }
    return 0;
}

/*
 * Runs one test on the agents that joined: a fresh aggregate (statistics
 * are never carried from one test to the next), ASSIGN, READY, START, the
 * load. Returns the test's code (0 when it completed; its thresholds are
 * checked later). s->status and s->agg are set once its load started;
 * before that (a refusal, a lost agent, an interrupt) the slot stays
 * without results.
 */
static int
run_test(struct run *r, struct slot *s)
{
    const char *status = NULL;
    int code = 0;
    int rv = 0;

    replan(r, s);
    r->plan = &s->plan;
    r->slot = s;
    fleet_set_agg(r->fleet, NULL);
    fleet_reset_test(r->fleet);
    rv = agg_new(&s->agg, (uint32_t)(s->plan.duration_ms / 1000u));
    if (rv != 0) {
        (void)fprintf(stderr, "error: %s\n", err_str(rv));
        return COORD_EXIT_INFRA;
    }
    r->agg = s->agg;
    log_info("TEST", "name=%s", s->name);
    if ((rv = assign_all(r)) != 0) {
        (void)fprintf(stderr, "error: cannot assign the test: %s\n",
                      err_str(rv));
        code = COORD_EXIT_INFRA;
        goto not_started;
    }
    fleet_set_agg(r->fleet, r->agg);
    if ((code = wait_ready(r)) != 0) {
        goto not_started;
    }
    r->start_ns = clock_now_ns() + START_DELAY_MS * CLOCK_NS_PER_MS;
    r->start_wall_ns = clock_wall_ns() + START_DELAY_MS * CLOCK_NS_PER_MS;
    fleet_start(r->fleet, r->start_ns);
    log_info("START", "in_ms=%u agents=%u", START_DELAY_MS,
             (unsigned)r->plan->n_active);
    r->abort_reason[0] = '\0';
    status = run_load(r, &code);
    console_clear(&r->con);
    s->status = status;
    s->abort_at_s = r->abort_at_s;
    (void)snprintf(s->abort_reason, sizeof(s->abort_reason), "%s",
                   r->abort_reason);
    s->start_ns = r->start_ns;
    s->start_wall_ns = r->start_wall_ns;
    s->end_ns = r->end_ns;
    fleet_set_agg(r->fleet, NULL);
    return code;
not_started:
    fleet_set_agg(r->fleet, NULL);
    r->agg = NULL;
    agg_free(s->agg);
    s->agg = NULL;
    return code;
}

/* The load's duration for throughput: the plan's, or the time that ran
 * when the test did not complete. */
static double
slot_duration_s(const struct slot *s)
{
    double dur_s = (double)s->plan.duration_ms / 1000.0;

    if (strcmp(s->status, "completed") != 0 && s->end_ns > s->start_ns) {
        double el = (double)(s->end_ns - s->start_ns) / 1e9;
        dur_s = el < dur_s ? el : dur_s;
    }
    return dur_s > 0.001 ? dur_s : 0.001;
}

/*
 * The recovery test's verdict (docs/tests-design.md 5.6): phases from the
 * plan's streams (the baseline from its second second on: the first one
 * creates the sessions), up to the seconds that ran.
 */
static void
check_recovery(const struct run *r, const struct slot *s, double dur_s,
               struct report_verdict *v)
{
    const struct proto_stream *inv = &s->plan.assign[0].streams[1];
    struct recovery_params rp;
    struct recovery rec;
    uint32_t ran = (uint32_t)dur_s;

    memset(&rp, 0, sizeof(rp));
    rp.baseline_from = 1;
    rp.baseline_to = (uint32_t)(inv->start_ms / 1000u);
    rp.phase_end = (uint32_t)((inv->start_ms + inv->duration_ms) / 1000u);
    rp.end = (uint32_t)(s->plan.duration_ms / 1000u);
    rp.end = ran < rp.end ? ran : rp.end;
    rp.window = r->c->recovery.window_seconds;
    rp.margin = r->c->recovery.margin;
    if (recovery_measure(s->agg, &rp, &rec) != 0) {
        log_warn("RECOVERY-NOMEM", "test=%s: not measured", s->name);
    }
    report_check_recovery(v, &rec, s->name);
}

/* The memory test's verdict (docs/tests-design.md 5.5), kept in the slot
 * (the report borrows it). */
static void
check_memory(const struct run *r, struct slot *s, struct report_verdict *v)
{
    const struct memory_cfg *mc = &r->c->memory;
    uint32_t n = agg_n_intervals(s->agg);

    if (s->mem == NULL && (s->mem = xcalloc(1, sizeof(*s->mem))) == NULL) {
        log_warn("MEMORY-NOMEM", "test=%s: not measured", s->name);
        return;
    }
    memleak_measure(s->agg, n, mc->warmup_seconds,
                    mc->leak_threshold_mb_per_min,
                    config_memory_source_name((int)mc->memory_source), s->mem);
    report_check_memory(v, s->mem, s->name);
}

/* The burst or pool test's figures, kept for the HTML report. */
struct burstpool_store {
    struct burstpool_burst_result burst;
    struct burstpool_pool_result pool;
};

/* Bound of the burst and pool tests' JSON fragment and summary lines. */
#define BURSTPOOL_TEXT_MAX (64u * 1024u)

/*
 * The burst or pool test's own figures and verdict (burstpool.h) into
 * json and text, hung on v (borrowed: they must outlive the writers); a
 * "fail" verdict is a violation (exit 1), like the thresholds.
 */
static void
burstpool_verdict(const struct run *r, const struct slot *s,
                  struct report_verdict *v, struct burstpool_store *bp,
                  struct buf *json, struct buf *text)
{
    int rv = 0;
    char msg[256];

    if (s->test == PLAN_TEST_BURST) {
        struct burstpool_burst_result *br = &bp->burst;
        rv = burstpool_burst(s->agg, &s->plan, r->c->burst.recovery_margin, br);
        if (rv == 0) {
            rv = burstpool_burst_write(br, json, text);
        }
        v->test_verdict = br->pass ? "pass" : "fail";
        if (rv == 0 && !br->pass) {
            (void)snprintf(msg, sizeof(msg), "%s: burst verdict fail: %s",
                           s->name, br->reason);
            report_add_violation(v, "burst", 0.0, 1.0, msg);
        }
        v->burst = rv == 0 ? br : NULL;
    } else {
        struct burstpool_pool_result *pr = &bp->pool;
        rv = burstpool_pool(s->agg, &s->plan, r->c->thresholds.max_error_rate,
                            pr);
        if (rv == 0) {
            rv = burstpool_pool_write(pr, json, text);
        }
        v->test_verdict = pr->verdict; /* a string literal */
        if (rv == 0 && strcmp(pr->verdict, "fail") == 0) {
            (void)snprintf(msg, sizeof(msg), "%s: pool verdict fail: %s",
                           s->name, pr->reason);
            report_add_violation(v, "pool", 0.0, 1.0, msg);
        }
        v->pool = rv == 0 ? pr : NULL;
    }
    if (rv != 0 || buf_append(json, "", 1) != 0 ||
        buf_append(text, "", 1) != 0) {
        log_warn("VERDICT", "test=%s: figures not computed: %s", s->name,
                 err_str(rv));
        v->burst = NULL;
        v->pool = NULL;
        return;
    }
    v->extra_json = (const char *)json->data;
    v->extra_summary = (const char *)text->data;
}

/* Appends name as a JSON string (fleet.c already turned control
 * characters into '?'; quotes and backslashes are escaped here). */
static int
json_name(struct buf *b, const char *name)
{
    int rv = buf_append(b, "\"", 1);

    for (const char *p = name; rv == 0 && *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            rv = buf_append(b, "\\", 1);
        }
        if (rv == 0) {
            rv = buf_append(b, p, 1);
        }
    }
    return rv == 0 ? buf_append(b, "\"", 1) : rv;
}

/* Agent s's missing intervals as "[a,b,...]" (at most 64 listed) into b,
 * looked up by name among the aggregate's agents. */
static int
json_missing(struct buf *b, const struct agg *a, const char *name)
{
    uint32_t miss[64];
    size_t n = 0;
    int rv = 0;

    for (size_t i = 0; i < agg_n_agents(a); i++) {
        struct agg_agent_info ai;
        if (agg_agent(a, i, &ai) == 0 && strcmp(ai.name, name) == 0) {
            n = agg_agent_missing(a, i, miss, 64);
            break;
        }
    }
    rv = buf_append(b, "[", 1);
    for (size_t j = 0; rv == 0 && j < n && j < 64; j++) {
        rv = buf_printf(b, "%s%u", j ? "," : "", (unsigned)miss[j]);
    }
    return rv == 0 ? buf_append(b, "]", 1) : rv;
}

/*
 * The lost agents of slot s and what on_agent_loss did, added to v's
 * extra figures: "agents_lost" (and "failure_reason" when the loss
 * failed the test) in the JSON, one line per loss in the summary (which
 * JUnit also puts in the test's system-out). json and text may already
 * hold a test's own figures (NUL-terminated): the losses go after them.
 */
static void
losses_extra(const struct slot *s, struct report_verdict *v, struct buf *json,
             struct buf *text)
{
    int rv = 0;

    if (s->n_losses == 0 && s->abort_reason[0] == '\0') {
        return;
    }
    if (json->len > 0 && json->data[json->len - 1] == '\0') {
        json->len--;
    }
    if (text->len > 0 && text->data[text->len - 1] == '\0') {
        text->len--;
    }
    if (strcmp(s->status, "failed") == 0 && s->abort_reason[0] != '\0') {
        rv = buf_printf(json,
                        "%s\"failure_reason\": ", json->len > 0 ? ", " : "");
        if (rv == 0) {
            rv = json_name(json, s->abort_reason);
        }
        (void)snprintf(v->abort_reason, sizeof(v->abort_reason), "%s",
                       s->abort_reason);
    }
    if (rv == 0) {
        rv =
            buf_printf(json, "%s\"agents_lost\": [", json->len > 0 ? ", " : "");
    }
    for (size_t i = 0; rv == 0 && i < s->n_losses; i++) {
        const struct loss *l = &s->losses[i];
        const char *pol = config_agent_loss_name(l->policy);
        uint32_t k = (uint32_t)(l->at_ms / 1000u);
        rv = buf_printf(json, "%s{\"name\": ", i ? ", " : "");
        if (rv == 0) {
            rv = json_name(json, l->name);
        }
        if (rv == 0) {
            rv = buf_printf(
                json,
                ", \"agent_index\": %u, \"detected_at_ms\": %llu, "
                "\"detected_at_interval\": %u, \"policy\": \"%s\", "
                "\"share\": %.6f, \"slices\": %u, \"users\": %llu, "
                "\"arrival_rate\": %.3f, \"moved\": %s, \"survivors\": %u, "
                "\"moved_users\": %llu, \"moved_arrival_rate\": %.3f, "
                "\"intervals_missing\": ",
                (unsigned)l->agent_index, (unsigned long long)l->at_ms,
                (unsigned)k, pol, l->fraction, (unsigned)l->n_slices,
                (unsigned long long)l->users, l->rate,
                l->moved ? "true" : "false", (unsigned)l->survivors,
                (unsigned long long)(l->moved ? l->users : 0),
                l->moved ? l->rate : 0.0);
        }
        if (rv == 0) {
            rv = json_missing(json, s->agg, l->name);
        }
        if (rv == 0) {
            rv = buf_printf(json, "}");
        }
        if (rv != 0) {
            break;
        }
        if (l->policy == CONFIG_LOSS_ABORT) {
            rv = buf_printf(text,
                            "  Agent lost: %s (index %u) at %.1f s "
                            "(interval %u); on_agent_loss abort: the test "
                            "was stopped\n",
                            l->name, (unsigned)l->agent_index,
                            (double)l->at_ms / 1000.0, (unsigned)k);
        } else if (l->moved) {
            rv = buf_printf(text,
                            "  Agent lost: %s (index %u) at %.1f s "
                            "(interval %u); on_agent_loss rebalance: its "
                            "share (%.1f%% of the load: %llu users, %.1f "
                            "arrivals/s) moved to %u agents from then on\n",
                            l->name, (unsigned)l->agent_index,
                            (double)l->at_ms / 1000.0, (unsigned)k,
                            100.0 * l->fraction, (unsigned long long)l->users,
                            l->rate, (unsigned)l->survivors);
        } else {
            rv = buf_printf(text,
                            "  Agent lost: %s (index %u) at %.1f s "
                            "(interval %u); on_agent_loss %s: its share "
                            "(%.1f%% of the load: %llu users, %.1f "
                            "arrivals/s) was not run from interval %u on%s%s\n",
                            l->name, (unsigned)l->agent_index,
                            (double)l->at_ms / 1000.0, (unsigned)k, pol,
                            100.0 * l->fraction, (unsigned long long)l->users,
                            l->rate, (unsigned)k, l->why_not[0] ? ": " : "",
                            l->why_not);
        }
    }
    if (rv == 0) {
        rv = buf_printf(json, "]");
    }
    if (rv != 0 || buf_append(json, "", 1) != 0 ||
        buf_append(text, "", 1) != 0) {
        log_warn("AGENT-LOSS", "test=%s: the losses could not be listed: %s",
                 s->name, err_str(rv));
        return;
    }
    v->extra_json = (const char *)json->data;
    v->extra_summary = (const char *)text->data;
}

/*
 * The baseline comparison (reporting.baseline_comparison, --baseline):
 * loads the file into bl, parses this run's own results JSON (as the
 * writers make it, so both sides are read the same way) and compares
 * every test that ran into res[i], hung on its verdict. A file that is
 * missing or malformed is reported, never fatal.
 */
static void
compare_baseline(const struct run *r, struct report_test *t,
                 struct baseline_result *res, struct baseline *bl)
{
    static const struct json_limits lim = {REPORT_JSON_MAX, BASELINE_MAX_VALUES,
                                           64};
    const struct reporting *rp = &r->c->reporting;
    struct json_doc *cur = NULL;
    struct buf json;
    char why[256];
    int rv = 0;

    baseline_load(bl, rp->baseline_file, rp->baseline_deviation_threshold);
    if (bl->state == BASELINE_INVALID) {
        log_error("BASELINE-INVALID",
                  "%s (no comparison; the results are written and the exit "
                  "code is unchanged)",
                  bl->error);
    }
    buf_init(&json, REPORT_JSON_MAX);
    if (bl->state == BASELINE_COMPARED) {
        why[0] = '\0';
        rv = report_json_suite(&json, t, r->n_slots);
        if (rv == 0) {
            rv = json_parse(&cur, (const char *)json.data, json.len, &lim, why,
                            sizeof(why));
        }
        if (rv != 0) {
            /* Our own document: only too large or out of memory. */
            log_warn("BASELINE-SKIPPED",
                     "this run's results cannot be "
                     "compared: %s",
                     why[0] ? why : err_str(rv));
            (void)snprintf(bl->error, sizeof(bl->error),
                           "this run's results could not be compared: %s",
                           why[0] ? why : err_str(rv));
            bl->state = BASELINE_INVALID;
        }
    }
    for (size_t i = 0; i < r->n_slots; i++) {
        if (t[i].agg == NULL) {
            continue;
        }
        baseline_compare(bl, cur != NULL ? json_root(cur) : NULL,
                         t[i].run.test_name, &res[i]);
        report_check_baseline(&t[i].verdict, &res[i],
                              rp->baseline_fail_on_regression,
                              t[i].run.test_name);
    }
    json_free(cur);
    buf_fini(&json);
}

/* Verdicts of every test that ran; the summary; the JSON, CSV and JUnit
 * files holding every test. Returns 0 or COORD_EXIT_INFRA (results not
 * saved) and sets *violations. */
static int
finish(struct run *r, bool *violations)
{
    struct report_test *t = NULL;
    struct report_run *runs = NULL;
    struct report_verdict *verdicts = NULL;
    struct burstpool_store *bp = NULL;
    struct baseline_result *bres = NULL;
    struct baseline bl;
    struct csv_test ct[SUITE_MAX];
    size_t n_ct = 0;
    uint64_t stamp = 0;
    struct buf json;
    struct buf xj[SUITE_MAX]; /* the burst and pool tests' own figures */
    struct buf xs[SUITE_MAX];
    struct saturation sat[SUITE_MAX]; /* the verdicts borrow them */
    char path[4096];
    char err[4400];
    int rv = 0;

    *violations = false;
    memset(sat, 0, sizeof(sat));
    memset(&bl, 0, sizeof(bl));
    buf_init(&json, REPORT_JSON_MAX);
    for (size_t i = 0; i < SUITE_MAX; i++) {
        buf_init(&xj[i], BURSTPOOL_TEXT_MAX);
        buf_init(&xs[i], BURSTPOOL_TEXT_MAX);
    }
    t = xcalloc(r->n_slots, sizeof(*t));
    runs = xcalloc(r->n_slots, sizeof(*runs));
    verdicts = xcalloc(r->n_slots, sizeof(*verdicts));
    bp = xcalloc(r->n_slots, sizeof(*bp));
    bres = xcalloc(r->n_slots, sizeof(*bres));
    if (t == NULL || runs == NULL || verdicts == NULL || bp == NULL ||
        bres == NULL) {
        (void)snprintf(err, sizeof(err), "out of memory");
        rv = E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->n_slots; i++) {
        const struct slot *s = &r->slots[i];
        struct report_run *rr = &t[i].run;
        rr->test_name = s->name;
        rr->status = s->status;
        rr->target = r->c->env.kato_base_url;
        rr->config_file = r->o->config_file ? r->o->config_file : "";
        if (s->agg == NULL) {
            continue;
        }
        t[i].agg = s->agg;
        rr->started_wall_ns = s->start_wall_ns;
        rr->duration_s = slot_duration_s(s);
        rr->users = s->plan.total_users;
        rr->seed = s->plan.seed;
        rr->vector_dim = s->plan.vector_dim;
        report_evaluate(s->agg, &r->c->thresholds, rr->duration_s, false,
                        rr->test_name, &t[i].verdict);
        if (strcmp(s->status, "aborted") == 0) {
            report_set_aborted(&t[i].verdict, s->abort_at_s, s->abort_reason,
                               rr->test_name);
        }
        if (s->test == PLAN_TEST_SUSTAINED) {
            struct degrade d;
            uint64_t ran_ms = (uint64_t)(rr->duration_s * 1000.0);
            if (ran_ms > s->plan.duration_ms) {
                ran_ms = s->plan.duration_ms;
            }
            (void)degrade_measure(s->agg, ran_ms,
                                  s->plan.assign[0].streams[0].ramp_ms,
                                  r->c->sustained.max_degradation, &d);
            report_check_degradation(&t[i].verdict, &d, rr->test_name);
        }
        if (s->test == PLAN_TEST_RECOVERY) {
            check_recovery(r, s, rr->duration_s, &t[i].verdict);
        }
        if (s->test == PLAN_TEST_MEMORY) {
            check_memory(r, &r->slots[i], &t[i].verdict);
        }
        if (s->test == PLAN_TEST_BURST || s->test == PLAN_TEST_POOL) {
            burstpool_verdict(r, s, &t[i].verdict, &bp[i], &xj[i], &xs[i]);
        }
        if (i < SUITE_MAX &&
            saturation_summarize(s->agg, agg_n_intervals(s->agg),
                                 r->c->params.connection_pool_size,
                                 &sat[i]) == 0) {
            report_check_resources(&t[i].verdict, &sat[i], rr->test_name);
        }
        losses_extra(s, &t[i].verdict, &xj[i], &xs[i]);
        if (stamp == 0) {
            stamp = s->start_wall_ns;
        }
        ct[n_ct].agg = s->agg;
        ct[n_ct].test_name = s->name;
        ct[n_ct].start_wall_ns = s->start_wall_ns;
        n_ct++;
    }
    if (r->c->reporting.baseline_enabled) {
        compare_baseline(r, t, bres, &bl);
    }
    for (size_t i = 0; i < r->n_slots; i++) {
        runs[i] = t[i].run;
        verdicts[i] = t[i].verdict;
        *violations =
            *violations || (t[i].agg != NULL && t[i].verdict.n_violations > 0);
    }
    if (report_summary_suite(stdout, t, r->n_slots) != 0) {
        log_warn("SUMMARY", "could not print the summary");
    }
    rv = report_json_suite(&json, t, r->n_slots);
    if (rv != 0) {
        (void)snprintf(err, sizeof(err), "cannot build the results JSON: %s",
                       err_str(rv));
        goto out;
    }
    err[0] = '\0';
    rv = report_write(r->c->reporting.output_directory, json.data, json.len,
                      stamp, path, sizeof(path), err, sizeof(err));
    if (rv == 0) {
        rv = csv_write_suite(r->c->reporting.output_directory, ct, n_ct, stamp,
                             err, sizeof(err));
    }
    if (rv == 0) {
        rv = junit_write(r->c->reporting.output_directory, runs, verdicts,
                         r->n_slots, stamp, err, sizeof(err));
    }
    if (rv == 0) {
        /* The page shows the tests that ran; a test `all` did not run
         * has no aggregate and is listed in the JSON and JUnit instead.
         */
        struct html_test ht[SUITE_MAX];
        size_t n_ht = 0;
        for (size_t i = 0; i < r->n_slots && n_ht < SUITE_MAX; i++) {
            if (t[i].agg != NULL) {
                ht[n_ht].agg = t[i].agg;
                ht[n_ht].run = &t[i].run;
                ht[n_ht].verdict = &t[i].verdict;
                n_ht++;
            }
        }
        rv = html_write(r->c->reporting.output_directory, ht, n_ht, stamp, err,
                        sizeof(err));
    }
out:
    buf_fini(&json);
    for (size_t i = 0; i < SUITE_MAX; i++) {
        buf_fini(&xj[i]);
        buf_fini(&xs[i]);
        saturation_fini(&sat[i]);
    }
    xfree(t);
    xfree(runs);
    xfree(verdicts);
    xfree(bp);
    xfree(bres);
    baseline_fini(&bl);
    if (rv != 0) {
        /* The directory was checked before the run (exit 2 then);
         * failing now (disk full, directory removed) is the
         * infrastructure's. */
        (void)fprintf(stderr, "error: results not saved in %s: %s\n",
                      r->c->reporting.output_directory,
                      err[0] ? err : err_str(rv));
        return COORD_EXIT_INFRA;
    }
    (void)printf("\nResults: %s\n", path);
    (void)fflush(stdout);
    return 0;
}

/* The worse of two exit codes: interrupted, then infrastructure, then a
 * threshold, then pass. */
static int
worse(int a, int b)
{
    static const int rank[] = {COORD_EXIT_PASS, COORD_EXIT_THRESHOLD,
                               COORD_EXIT_INFRA, COORD_EXIT_INTERRUPTED};
    int ra = 0;
    int rb = 0;

    for (int i = 0; i < 4; i++) {
        ra = rank[i] == a ? i : ra;
        rb = rank[i] == b ? i : rb;
    }
    return ra >= rb ? a : b;
}

int
coord_run(const struct master_opts *o, const struct config *c,
          const atomic_int *stop, bool *closed)
{
    struct run r;
    char err[256];
    int code = 0;
    int rv = 0;
    uint64_t seed = o->seed;
    uint32_t n_agents = o->agents > 0 ? o->agents : o->local_agents;
    const char *listen = o->listen;
    nng_tls_config *tls = NULL;
    bool ran = false;
    bool violations = false;

    *closed = true;
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.c = c;
    r.stop = stop;
    spawn_init(&r.sp);
    console_init(&r.con, stderr, STDERR_FILENO, false);

    /* Everything that can be refused is refused before anything starts.
     */
    if (!o->seed_set && rng_secure_bytes(&seed, sizeof(seed)) != 0) {
        (void)fprintf(stderr, "error: cannot draw a seed\n");
        code = COORD_EXIT_INFRA;
        goto out;
    }
    if ((code = build_suite(&r, seed)) != 0) {
        goto out;
    }
    /* Results that could not be saved would make the run worthless:
     * a directory that cannot be created or written is the user's
     * configuration (--output / reporting.output_directory), refused
     * like any other before anything starts. */
    if (report_prepare_dir(c->reporting.output_directory, err, sizeof(err)) !=
        0) {
        (void)fprintf(stderr, "error: %s\n", err);
        code = COORD_EXIT_USAGE;
        goto out;
    }
    if ((code = setup_token(&r)) != 0) {
        goto out;
    }
    if (listen == NULL && o->tls_cert != NULL) {
        listen =
            o->agents > 0 ? COORD_DEFAULT_LISTEN_TLS : "tls+tcp://127.0.0.1:0";
    } else if (listen == NULL) {
        listen = o->agents > 0 ? COORD_DEFAULT_LISTEN : "tcp://127.0.0.1:0";
    }
    if (o->tls_cert != NULL && (code = setup_tls(&r, &tls)) != 0) {
        goto out;
    }
    rv = fleet_new(&r.fleet, listen, r.token, r.token_len, tls);
    if (tls != NULL) {
        nng_tls_config_free(tls); /* the listener holds its own reference */
        tls = NULL;
    }
    if (rv != 0) {
        (void)fprintf(stderr, "error: cannot listen on %s: %s\n", listen,
                      err_str(rv));
        code = rv == E_INVAL ? COORD_EXIT_USAGE : COORD_EXIT_INFRA;
        goto out;
    }
    if (o->agents == 0) {
        if (spawn_local(&r) != 0) {
            code = COORD_EXIT_INFRA;
            goto out;
        }
    } else {
        uint16_t port = 0;
        if (fleet_port(r.fleet, &port) == 0) {
            log_info("LISTEN", "url=%s port=%u", listen, (unsigned)port);
        }
    }

    if ((code = wait_join(&r, n_agents)) != 0) {
        goto interrupted_early;
    }
    /* The same agents run every test in turn; the first test that does
     * not complete (interrupted, agents lost, target gone) ends the
     * suite: the tests after it are "not_run". */
    for (size_t i = 0; i < r.n_slots && code == 0; i++) {
        struct slot *s = &r.slots[i];
        if (!s->implemented) {
            continue;
        }
        if (ran && (code = cooldown(&r)) != 0) {
            break;
        }
        code = run_test(&r, s);
        ran = ran || s->agg != NULL;
    }
    if (!ran) {
        goto interrupted_early;
    }
    for (size_t i = 0; i < r.n_slots; i++) {
        if (r.slots[i].status == NULL) {
            r.slots[i].status = "not_run";
        }
    }
    rv = finish(&r, &violations);
    code = worse(code, rv);
    if (code == 0 && violations) {
        code = COORD_EXIT_THRESHOLD;
    }
    goto out;
interrupted_early:
    if (code == COORD_EXIT_INTERRUPTED) {
        (void)fprintf(stderr, "interrupted before the load started: no "
                              "results written\n");
    }
out:
    console_fini(&r.con);
    /* Local agents first (they would otherwise dial a closed socket),
     * then the token file, then the socket (whose close is bounded but
     * may be abandoned). */
    spawn_stop(&r.sp, stopping_hard(&r) ? HARD_KILL_GRACE_MS : KILL_GRACE_MS);
    if (r.token_tmp && unlink(r.token_path) != 0) {
        log_warn("TOKEN-UNLINK", "file=%s", r.token_path);
    }
    if (fleet_close(r.fleet) != 0) {
        *closed = false;
    }
    fleet_free(r.fleet);
    memset(r.token, 0, sizeof(r.token));
    for (size_t i = 0; i < r.n_slots; i++) {
        agg_free(r.slots[i].agg);
        xfree(r.slots[i].mem);
        plan_fini(&r.slots[i].plan);
    }
    xfree(r.part);
    xfree(r.held);
    return code;
}
