/* SPDX-License-Identifier: MIT */
/*
 * stress-agent: the command line, the token, the signals and the wiring.
 * The conversation with the master is control.c's; the load is engine.c's.
 * This file holds the process's only mutable global: the signal flag.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <nng/nng.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/tls.h"
#include "control.h"
#include "engine.h"

#include "../common/poison.h"

#ifndef KS_VERSION
#define KS_VERSION "dev"
#endif

#define EXIT_USAGE 2
#define EXIT_INFRA 3
#define TOKEN_MAX  4096

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
    got_signal = sig;
}

struct opts {
    const char *master;
    const char *token_file;
    const char *tls_ca;
    const char *tls_server_name;
    const char *tls_cert;
    const char *tls_key;
    unsigned long threads;
    char name[64];
    size_t n_allow;
    const char *allow[CONTROL_MAX_ALLOW];
    int verbose;
    int quiet;
};

static void
usage(FILE *f)
{
    (void)fprintf(
        f, "usage: stress-agent --master URL [options]\n"
           "Generates HTTP load against KATO for a kato-stress master.\n"
           "\n"
           "  --master URL          the master's control address, e.g.\n"
           "                        tcp://10.0.0.5:7070 (required)\n"
           "  --token-file FILE     the pre-shared token (else the\n"
           "                        KATO_STRESS_TOKEN environment variable)\n"
           "  --tls-ca FILE         PEM CA certificate(s) the master's\n"
           "                        certificate must verify against "
           "(required\n"
           "                        for tls+tcp://HOST:PORT; no unverified "
           "mode)\n"
           "  --tls-server-name N   the name the master's certificate must\n"
           "                        carry (default: the URL's host)\n"
           "  --tls-cert FILE       PEM client certificate, for a master that\n"
           "                        requires one (mutual TLS)\n"
           "  --tls-key FILE        its PEM key (default: in --tls-cert's "
           "file)\n"
           "  --threads N           worker threads (default: online CPUs)\n"
           "  --name NAME           name shown by the master "
           "(default HOST-PID)\n"
           "  --allow-target H:P    accept only assignments against H:P\n"
           "                        (repeatable; default: any target)\n"
           "  --verbose             debug logging\n"
           "  --quiet               warnings and errors only\n"
           "  -h, --help            this text\n"
           "\n"
           "Runs until SIGINT or SIGTERM. Exit: 0 stopped, 2 usage error,\n"
           "3 could not start.\n");
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage error and returns the exit code for it. */
static int
bad(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void)fprintf(stderr, "stress-agent: %s\nTry 'stress-agent --help'.\n",
                  msg);
    return EXIT_USAGE;
}

/* Reads the token file (trailing whitespace stripped) into out. Returns
 * the length, or 0 after printing why. */
static size_t
read_token(const char *path, char *out, size_t cap)
{
    struct stat st;
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;
        char msg[128];
        (void)strerror_r(e, msg, sizeof(msg));
        (void)fprintf(stderr, "stress-agent: --token-file %s: %s\n", path, msg);
        return 0;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        log_warn("TOKEN-PERMS",
                 "file=%s is readable by group or others (chmod 600)", path);
    }
    while (len < cap) {
        n = read(fd, out + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    (void)close(fd);
    if (len == cap) {
        (void)fprintf(stderr,
                      "stress-agent: --token-file %s: longer than %d "
                      "bytes\n",
                      path, TOKEN_MAX);
        return 0;
    }
    while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '\n' ||
                       out[len - 1] == '\r' || out[len - 1] == '\t')) {
        len--;
    }
    if (len == 0) {
        (void)fprintf(stderr, "stress-agent: --token-file %s is empty\n", path);
    }
    return len;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    enum {
        OPT_MASTER = 256,
        OPT_TOKEN,
        OPT_THREADS,
        OPT_NAME,
        OPT_ALLOW,
        OPT_VERBOSE,
        OPT_QUIET,
        OPT_TLS_CA,
        OPT_TLS_NAME,
        OPT_TLS_CERT,
        OPT_TLS_KEY
    };
    static const struct option longopts[] = {
        {"master", required_argument, NULL, OPT_MASTER},
        {"token-file", required_argument, NULL, OPT_TOKEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"name", required_argument, NULL, OPT_NAME},
        {"allow-target", required_argument, NULL, OPT_ALLOW},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"tls-ca", required_argument, NULL, OPT_TLS_CA},
        {"tls-server-name", required_argument, NULL, OPT_TLS_NAME},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[TLS_ERR_SPACE];
    int ch;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (ch) {
        case OPT_MASTER:
            o->master = optarg;
            break;
        case OPT_TOKEN:
            o->token_file = optarg;
            break;
        case OPT_THREADS:
            errno = 0;
            o->threads = strtoul(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' ||
                optarg[0] == '-' || o->threads < 1 ||
                o->threads > ENGINE_MAX_THREADS) {
                return bad("--threads wants an integer in [1, 256], got "
                           "'%s'",
                           optarg);
            }
            break;
        case OPT_NAME:
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->name)) {
                return bad("--name wants 1..63 characters, got '%s'", optarg);
            }
            (void)snprintf(o->name, sizeof(o->name), "%s", optarg);
            break;
        case OPT_ALLOW:
            if (o->n_allow >= CONTROL_MAX_ALLOW) {
                return bad("too many --allow-target (at most 32): '%s'",
                           optarg);
            }
            if (strchr(optarg, ':') == NULL) {
                return bad("--allow-target wants HOST:PORT, got '%s'", optarg);
            }
            o->allow[o->n_allow++] = optarg;
            break;
        case OPT_VERBOSE:
            o->verbose = 1;
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        case OPT_TLS_CA:
            o->tls_ca = optarg;
            break;
        case OPT_TLS_NAME:
            o->tls_server_name = optarg;
            break;
        case OPT_TLS_CERT:
            o->tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            o->tls_key = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            return bad("option '%s' needs a value", argv[optind - 1]);
        default:
            return bad("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return bad("unexpected argument '%s'", argv[optind]);
    }
    if (o->master == NULL) {
        return bad("%s", "--master URL is required");
    }
    if (strncmp(o->master, "tcp://", 6) != 0 &&
        strncmp(o->master, "tls+tcp://", 10) != 0 &&
        strncmp(o->master, "ipc://", 6) != 0) {
        return bad("--master wants tcp://HOST:PORT, got '%s'", o->master);
    }
    if (tls_check_agent_opts(o->master, o->tls_ca, o->tls_server_name, err,
                             sizeof(err)) != 0 ||
        tls_check_agent_cert(o->master, o->tls_cert, o->tls_key, err,
                             sizeof(err)) != 0) {
        return bad("%s", err);
    }
    return 0;
}

struct runner {
    struct control *c;
    atomic_bool finished;
};

static void *
run_control(void *arg)
{
    struct runner *r = arg;
    (void)control_run(r->c);
    atomic_store(&r->finished, true);
    return NULL;
}

int
main(int argc, char **argv)
{
    struct opts o;
    struct control_opts co;
    struct control *c = NULL;
    struct runner r;
    struct sigaction sa;
    sigset_t block, old;
    pthread_t th;
    char token[TOKEN_MAX];
    char host[64];
    char tls_name[TLS_NAME_MAX];
    nng_tls_config *tls = NULL;
    size_t token_len = 0;
    long ncpu;
    int rv, code = 0;

    memset(&o, 0, sizeof(o));
    rv = parse_args(argc, argv, &o);
    if (rv != 0) {
        return rv < 0 ? 0 : rv;
    }
    if (gethostname(host, sizeof(host)) != 0) {
        (void)snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    if (o.name[0] == '\0') {
        char tmp[96];
        (void)snprintf(tmp, sizeof(tmp), "%s-%ld", host, (long)getpid());
        (void)snprintf(o.name, sizeof(o.name), "%.63s", tmp);
    }
    {
        char prefix[80];
        (void)snprintf(prefix, sizeof(prefix), "agent %s", o.name);
        log_set_prefix(prefix);
    }
    log_set_level(o.verbose ? LOG_DEBUG : o.quiet ? LOG_WARN : LOG_INFO);
    if (o.token_file != NULL) {
        token_len = read_token(o.token_file, token, sizeof(token));
        if (token_len == 0) {
            return EXIT_USAGE;
        }
    } else {
        const char *env = getenv("KATO_STRESS_TOKEN");
        if (env == NULL || env[0] == '\0') {
            return bad("%s", "no token: give --token-file FILE or set "
                             "KATO_STRESS_TOKEN");
        }
        token_len = strlen(env);
        if (token_len >= sizeof(token)) {
            return bad("%s", "KATO_STRESS_TOKEN is longer than 4096 bytes");
        }
        memcpy(token, env, token_len);
        /* As the master does (PROTOCOL.md section 2): trailing
         * whitespace is not part of the token. */
        while (token_len > 0 && isspace((unsigned char)token[token_len - 1])) {
            token_len--;
        }
        if (token_len == 0) {
            return bad("%s", "KATO_STRESS_TOKEN is only whitespace");
        }
    }
    if (o.threads == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = ncpu < 1                    ? 1
                    : ncpu > ENGINE_MAX_THREADS ? ENGINE_MAX_THREADS
                                                : (unsigned long)ncpu;
    }

    /* Every thread (nng's and curl's included) inherits a mask that
     * blocks the stop signals; only this thread takes them. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    (void)sigemptyset(&block);
    (void)sigaddset(&block, SIGINT);
    (void)sigaddset(&block, SIGTERM);
    (void)pthread_sigmask(SIG_BLOCK, &block, &old);

    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        (void)fprintf(stderr, "stress-agent: curl_global_init failed\n");
        return EXIT_INFRA;
    }
    if (o.tls_ca != NULL) {
        char err[TLS_ERR_SPACE];
        if (o.tls_server_name == NULL) {
            if (tls_url_host(o.master, tls_name, sizeof(tls_name)) != 0) {
                code = bad("cannot find the host in --master %s", o.master);
                goto out;
            }
            o.tls_server_name = tls_name;
        }
        if (tls_client_config(&tls, o.tls_ca, o.tls_server_name, o.tls_cert,
                              o.tls_key, err, sizeof(err)) != 0) {
            code = bad("%s", err);
            goto out;
        }
    }
    memset(&co, 0, sizeof(co));
    co.master_url = o.master;
    co.token = (const uint8_t *)token;
    co.token_len = token_len;
    co.threads = (uint32_t)o.threads;
    co.name = o.name;
    co.host = host;
    co.n_allow = o.n_allow;
    co.allow = o.allow;
    co.tls = tls;
    co.tls_ca = o.tls_ca;
    co.tls_server_name = o.tls_server_name;
    co.tls_cert = o.tls_cert;
    co.tls_key = o.tls_key;
    rv = control_new(&c, &co);
    memset(token, 0, sizeof(token));
    if (rv != 0) {
        (void)fprintf(stderr, "stress-agent: cannot use --master %s: %s\n",
                      o.master, err_str(rv));
        code = rv == E_INVAL ? EXIT_USAGE : EXIT_INFRA;
        goto out;
    }
    log_info("AGENT-UP", "version=%s threads=%lu master=%s%s%s%s%s", KS_VERSION,
             o.threads, o.master, tls ? " tls_ca=" : "", tls ? o.tls_ca : "",
             tls ? " tls_server_name=" : "", tls ? o.tls_server_name : "");
    r.c = c;
    atomic_init(&r.finished, false);
    if (pthread_create(&th, NULL, run_control, &r) != 0) {
        (void)fprintf(stderr, "stress-agent: cannot start a thread\n");
        code = EXIT_INFRA;
        goto out;
    }
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    while (!got_signal && !atomic_load(&r.finished)) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        (void)nanosleep(&ts, NULL); /* a signal cuts it short: fine */
    }
    if (got_signal) {
        log_info("AGENT-SIGNAL", "signal=%d: stopping", (int)got_signal);
    }
    control_request_stop(c);
    (void)pthread_join(th, NULL);
out:
    control_free(c);
    if (tls != NULL) {
        nng_tls_config_free(tls);
    }
    nng_fini();
    curl_global_cleanup();
    return code;
}
