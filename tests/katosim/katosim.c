/* SPDX-License-Identifier: MIT */
/*
 * katosim: a stand-in for KATO v3's session HTTP API, the target of every
 * integration test and of `make run`. It answers the endpoints kato-stress
 * drives, counts what it receives exactly (GET /metrics) and injects the
 * faults tests ask for; it does not model KATO's learning or its speed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/clock.h"
#include "../../common/err.h"
#include "../../common/json.h"
#include "../../common/log.h"
#include "../../common/ops.h"
#include "../../common/rng.h"
#include "simstore.h"

#include "../../common/poison.h"

#define KSIM_BODY_MAX     (1024u * 1024u)       /* request bodies */
#define KSIM_DISCARD_MAX  (64u * 1024u * 1024u) /* then the link is cut */
#define KSIM_REPLY_MAX    (16u * 1024u * 1024u) /* response bodies */
#define KSIM_CONN_LIMIT   20000u
#define KSIM_CONN_TIMEOUT 60u            /* s */
#define KSIM_STACK_BYTES  (512u * 1024u) /* per connection thread */
#define KSIM_BACKLOG      4096
#define KSIM_SESSIONS_MAX 1000000u
#define KSIM_NODES_MAX    100000u
#define KSIM_TTL_S        3600u
#define KSIM_SLICE_NS     (20u * CLOCK_NS_PER_MS) /* sleep granularity */
#define KSIM_SID_ECHO     256u /* bytes of a URL's session id kept */
#define KSIM_BROKEN       0u   /* handler status: its body is incomplete */
#define KSIM_PEERS_MAX    32u  /* client addresses counted one by one */

/* --- endpoints ------------------------------------------------------------ */

/* The first six equal enum op, so that /metrics can use ops_name().
 * OP_INVALID has no route of its own: the recovery test's invalid
 * requests are observes here, counted by the route they hit. */
enum ep {
    EP_CREATE = OP_SESSION,
    EP_OBSERVE = OP_OBSERVE,
    EP_LEARN = OP_LEARN,
    EP_PREDICTIONS = OP_PREDICTIONS,
    EP_STM = OP_STM,
    EP_CLEAR = OP_CLEAR,
    EP_CLEAR_ALL = OP_CLEAR + 1,
    EP_SESSION_GET,
    EP_SESSION_DELETE,
    EP_HEALTH,
    EP_METRICS,
    EP_OTHER,
    EP_COUNT
};

_Static_assert(OP_INVALID == OP_CLEAR + 1 && OP_COUNT == OP_INVALID + 1,
               "ops.h gained an op: map it here");

static const char *const ep_extra_names[EP_COUNT - EP_CLEAR_ALL] = {
    "clear_all", "session_get", "session_delete", "health", "metrics", "other",
};

static const char *
ep_name(int ep)
{
    return ep < EP_CLEAR_ALL ? ops_name(ep) : ep_extra_names[ep - EP_CLEAR_ALL];
}

/* --- state ---------------------------------------------------------------- */

struct opts {
    const char *bind_addr;
    long port; /* -1 until --port */
    double latency_ms;
    double error_rate;
    uint64_t seed;
    uint64_t leak_kb;
    uint64_t max_concurrency; /* 0 = unlimited */
    double stall_at_ms;       /* < 0 until --stall-at-ms */
    double stall_ms;          /* < 0 until --stall-ms */
    uint64_t max_sessions;
    const char *ready_file;
    bool quiet;
};

/* Session-API requests from one client address (port ignored): what the
 * multi-host tests compare with each agent's own figures. */
struct peer {
    int family;        /* AF_INET or AF_INET6; 0: slot free */
    uint8_t addr[16];  /* 4 or 16 bytes, network order */
    uint64_t load;     /* session-API requests of the six operations */
    uint64_t sessions; /* POST /sessions among them */
    uint64_t first_ns; /* first and last arrival, clock_now_ns() */
    uint64_t last_ns;
};

/* A block kept by --leak-kb; the chain only lets shutdown free them. */
struct leak {
    struct leak *next;
};

struct ksim {
    struct opts o;
    struct simstore *store;
    uint64_t start_ns;      /* clock_now_ns() at start */
    uint64_t latency_ns;    /* --latency-ms */
    uint64_t stall_from_ns; /* --stall-at-ms, relative to start_ns */
    uint64_t stall_to_ns;   /* stall_from_ns + --stall-ms; equal: no stall */
    atomic_bool stopping;   /* set on SIGINT/SIGTERM: cut sleeps short */

    _Atomic uint64_t requests[EP_COUNT];
    _Atomic uint64_t responses[600]; /* by status; 100..599 used */
    _Atomic int64_t in_flight;       /* session-API requests admitted */
    _Atomic int64_t peak_in_flight;
    _Atomic uint64_t rejected_503;
    _Atomic uint64_t errors_injected;
    _Atomic uint64_t leaked_bytes;
    _Atomic uint64_t observe_seq; /* for unique_id */

    /* Protects rng only; held for one draw, never nested. */
    pthread_mutex_t rng_lock;
    struct rng rng; /* --error-rate decisions, seeded by --seed */

    /* Protects leaks only; held for one push, never nested. */
    pthread_mutex_t leak_lock;
    struct leak *leaks;

    /* Protects peers and peers_other only; held for one lookup, never
     * nested. */
    pthread_mutex_t peer_lock;
    struct peer peers[KSIM_PEERS_MAX];
    uint64_t peers_other; /* load requests from addresses past the table */
};

/* One HTTP request in progress (MHD's per-request pointer). */
struct req {
    struct buf body;
    size_t received; /* body bytes seen, kept or not */
    bool too_big;
};

struct route {
    enum ep ep;
    bool bad_method;         /* the path exists, not with this method: 405 */
    const char *allow;       /* the methods the path has, for 405 */
    char sid[KSIM_SID_ECHO]; /* the URL's session id, truncated */
    size_t sid_len;          /* its full length */
};

/* --- small helpers -------------------------------------------------------- */

static uint64_t
wall_ms(void)
{
    return clock_wall_ns() / CLOCK_NS_PER_MS;
}

static void
iso_time(uint64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    size_t k;

    if (gmtime_r(&t, &tm) == NULL) {
        (void)snprintf(out, n, "1970-01-01T00:00:00.000Z");
        return;
    }
    k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    (void)snprintf(out + k, n - k, ".%03uZ", (unsigned)(ms % 1000));
}

/* Sleeps until deadline_ns (monotonic) or until shutdown begins. */
static void
pause_until(struct ksim *k, uint64_t deadline_ns)
{
    for (;;) {
        uint64_t now = clock_now_ns();
        if (now >= deadline_ns || atomic_load(&k->stopping)) {
            return;
        }
        clock_sleep_ns(deadline_ns - now < KSIM_SLICE_NS ? deadline_ns - now
                                                         : KSIM_SLICE_NS);
    }
}

static long
rss_kb(void)
{
    long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL) {
        return -1;
    }
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
        resident = -1;
    }
    (void)fclose(f);
    return resident < 0 || page <= 0 ? -1 : resident * (page / 1024);
}

/* CPU time (user + system) this process has used, us; 0 if unknown. */
static uint64_t
cpu_us(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u +
           (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u +
           (uint64_t)ru.ru_stime.tv_usec;
}

/* --- JSON bodies ---------------------------------------------------------- */

/* {"error":{"code":code,"message":msg[,"session_id":sid]}} */
static int
put_error(struct buf *b, const char *code, const char *msg,
          const struct route *rt)
{
    int rv = buf_printf(b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    if (rv == 0) {
        rv = json_put_str(b, msg, strlen(msg));
    }
    if (rv == 0 && rt != NULL) {
        rv = buf_printf(b, ",\"session_id\":");
        if (rv == 0) {
            rv = json_put_str(b, rt->sid, strlen(rt->sid));
        }
    }
    if (rv == 0) {
        rv = buf_printf(b, "}}");
    }
    return rv;
}

/* A 422 in FastAPI's shape: where is a dotted location ("body.vectors"). */
static int
put_validation(struct buf *b, const char *where, const char *why)
{
    int rv = buf_printf(b, "{\"error\":{\"code\":\"VALIDATION_ERROR\","
                           "\"message\":\"Request validation failed\","
                           "\"details\":{\"validation_errors\":[{\"loc\":");
    if (rv == 0) {
        rv = json_put_str(b, where, strlen(where));
    }
    if (rv == 0) {
        rv = buf_printf(b, ",\"msg\":");
    }
    if (rv == 0) {
        rv = json_put_str(b, why, strlen(why));
    }
    if (rv == 0) {
        rv = buf_printf(b, "}]}}}");
    }
    return rv;
}

static int
put_session(struct buf *b, const struct simstore_info *in)
{
    char created[40], expires[40];
    int rv;

    iso_time(in->created_ms, created, sizeof(created));
    iso_time(in->created_ms + KSIM_TTL_S * 1000u, expires, sizeof(expires));
    rv = buf_printf(b, "{\"session_id\":\"%s\",\"node_id\":", in->sid);
    if (rv == 0) {
        rv = json_put_str(b, in->node_id, in->node_len);
    }
    if (rv == 0) {
        rv = buf_printf(b,
                        ",\"created_at\":\"%s\",\"expires_at\":\"%s\","
                        "\"ttl_seconds\":%u,\"metadata\":{},"
                        "\"session_config\":{},\"stm_length\":%zu}",
                        created, expires, KSIM_TTL_S, in->stm_len);
    }
    return rv;
}

/* --- request bodies ------------------------------------------------------- */

/*
 * Parses the body as a JSON object. Returns the document (free with
 * json_free), or NULL with a 422 body in out (E_NOMEM: *status 500).
 */
static struct json_doc *
body_object(const struct req *r, struct buf *out, unsigned *status)
{
    struct json_doc *doc = NULL;
    char err[128];
    char why[192];
    int rv;

    *status = MHD_HTTP_UNPROCESSABLE_CONTENT;
    if (r->body.len == 0) {
        (void)put_validation(out, "body", "Field required");
        return NULL;
    }
    rv = json_parse(&doc, (const char *)r->body.data, r->body.len, NULL, err,
                    sizeof(err));
    if (rv == E_NOMEM) {
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        (void)put_error(out, "INTERNAL", "out of memory", NULL);
        return NULL;
    }
    if (rv != 0) {
        (void)snprintf(why, sizeof(why), "JSON decode error: %s", err);
        (void)put_validation(out, "body", why);
        return NULL;
    }
    if (json_root(doc)->type != JSON_OBJECT) {
        (void)put_validation(out, "body", "Input should be an object");
        json_free(doc);
        return NULL;
    }
    return doc;
}

/*
 * Checks an observation's shape (strings: array of strings; vectors: array
 * of non-empty arrays of numbers; emotives: object of numbers; the rest is
 * ignored). Returns NULL when valid, else the reason, with *where set.
 */
static const char *
check_observation(const struct json_val *root, const char **where)
{
    const struct json_val *v, *e, *x;

    v = json_get(root, "strings");
    if (v != NULL) {
        *where = "body.strings";
        if (v->type != JSON_ARRAY) {
            return "Input should be a valid list";
        }
        for (e = v->child; e != NULL; e = e->next) {
            if (e->type != JSON_STRING) {
                return "Input should be a valid string";
            }
        }
    }
    v = json_get(root, "vectors");
    if (v != NULL) {
        *where = "body.vectors";
        if (v->type != JSON_ARRAY) {
            return "Input should be a valid list";
        }
        for (e = v->child; e != NULL; e = e->next) {
            if (e->type != JSON_ARRAY) {
                return "Input should be a valid list of numbers";
            }
            if (e->len == 0) {
                return "A vector should have at least 1 item";
            }
            for (x = e->child; x != NULL; x = x->next) {
                if (x->type != JSON_NUMBER || !isfinite(x->num)) {
                    return "Input should be a valid number";
                }
            }
        }
    }
    v = json_get(root, "emotives");
    if (v != NULL) {
        *where = "body.emotives";
        if (v->type != JSON_OBJECT) {
            return "Input should be a valid dictionary";
        }
        for (e = v->child; e != NULL; e = e->next) {
            if (e->type != JSON_NUMBER || !isfinite(e->num)) {
                return "Input should be a valid number";
            }
        }
    }
    return NULL;
}

static int
cmp_strings(const void *a, const void *b)
{
    const struct json_val *x = *(const struct json_val *const *)a;
    const struct json_val *y = *(const struct json_val *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);

    if (c != 0) {
        return c;
    }
    return x->len < y->len ? -1 : (x->len > y->len ? 1 : 0);
}

/* Appends one symbol to the event unless it would overflow; false then. */
static bool
event_add(struct buf *ev, struct buf *scratch, const char *s, size_t n, int *rv)
{
    buf_reset(scratch);
    *rv = json_put_str(scratch, s, n);
    if (*rv == E_TOOBIG) {
        *rv = 0;
        return false;
    }
    if (*rv != 0) {
        return false;
    }
    /* Room is kept for a comma, the ,"..." marker and the closing ']'. */
    if (ev->len + 1 + scratch->len + 7 > SIMSTORE_EVENT_MAX) {
        return false;
    }
    if (ev->len > 1) {
        *rv = buf_append(ev, ",", 1);
    }
    if (*rv == 0) {
        *rv = buf_append(ev, scratch->data, scratch->len);
    }
    return *rv == 0;
}

/*
 * Renders an observation as a KATO STM event into ev: its strings sorted
 * (bytewise, which is code-point order), then one "VCTR|<hash>" per vector.
 * An event that would pass SIMSTORE_EVENT_MAX ends in a "..." marker.
 * Fills dims with each vector's length. Returns 0 or E_NOMEM.
 */
static int
render_event(const struct json_val *strings, const struct json_val *vectors,
             struct buf *ev, size_t *dims)
{
    const struct json_val **sorted = NULL, *e;
    struct buf scratch;
    size_t n = strings != NULL ? strings->len : 0, i = 0;
    bool fits = true;
    int rv = 0;

    buf_init(&scratch, SIMSTORE_EVENT_MAX);
    if (n > 0) {
        sorted = xcalloc(n, sizeof(*sorted));
        if (sorted == NULL) {
            rv = E_NOMEM;
            goto out;
        }
        for (e = strings->child; e != NULL; e = e->next) {
            sorted[i++] = e;
        }
        qsort(sorted, n, sizeof(*sorted), cmp_strings);
    }
    rv = buf_append(ev, "[", 1);
    for (i = 0; rv == 0 && fits && i < n; i++) {
        fits = event_add(ev, &scratch, sorted[i]->str, sorted[i]->len, &rv);
    }
    i = 0;
    for (e = vectors != NULL ? vectors->child : NULL; e != NULL && rv == 0;
         e = e->next) {
        uint64_t h = 0xcbf29ce484222325ULL;
        char name[32];
        for (const struct json_val *x = e->child; x != NULL; x = x->next) {
            uint64_t bits;
            memcpy(&bits, &x->num, sizeof(bits));
            h = (h ^ bits) * 0x100000001b3ULL;
        }
        dims[i++] = e->len;
        if (fits) {
            (void)snprintf(name, sizeof(name), "VCTR|%016" PRIx64, h);
            fits = event_add(ev, &scratch, name, strlen(name), &rv);
        }
    }
    if (rv == 0 && !fits) {
        rv = buf_append(ev, ev->len > 1 ? ",\"...\"" : "\"...\"",
                        ev->len > 1 ? 6 : 5);
    }
    if (rv == 0) {
        rv = buf_append(ev, "]", 1);
    }
out:
    buf_fini(&scratch);
    xfree(sorted);
    return rv == E_TOOBIG ? E_NOMEM : rv;
}

/* --- endpoint handlers: each returns the status and fills out ------------- */

/* The store's error for a session (rt may be NULL), as the reply. */
static unsigned
store_error(int rv, const struct route *rt, struct buf *out)
{
    if (rv == E_NOTFOUND && rt != NULL) {
        char msg[KSIM_SID_ECHO + 48];
        (void)snprintf(msg, sizeof(msg), "Session %s not found or expired",
                       rt->sid);
        (void)put_error(out, "SESSION_NOT_FOUND", msg, rt);
        return MHD_HTTP_NOT_FOUND;
    }
    (void)put_error(out, "INTERNAL", err_str(rv), NULL);
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* The session id to look up: an id too long to exist becomes "". */
static const char *
lookup_sid(const struct route *rt)
{
    return rt->sid_len < SIMSTORE_SID_MAX ? rt->sid : "";
}

static unsigned
on_create(struct ksim *k, const struct req *r, struct buf *out)
{
    struct json_doc *doc;
    const struct json_val *node;
    struct simstore_info info;
    unsigned status;
    int rv;

    doc = body_object(r, out, &status);
    if (doc == NULL) {
        return status;
    }
    node = json_get(json_root(doc), "node_id");
    if (node == NULL || node->type != JSON_STRING) {
        (void)put_validation(out, "body.node_id",
                             node == NULL ? "Field required"
                                          : "Input should be a valid string");
        status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        goto out;
    }
    if (node->len == 0 || node->len > SIMSTORE_NODE_MAX ||
        memchr(node->str, '\0', node->len) != NULL) {
        (void)put_validation(out, "body.node_id",
                             "node_id must be 1..256 bytes without NUL");
        status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        goto out;
    }
    rv = simstore_create(k->store, node->str, node->len, wall_ms(), &info);
    if (rv == E_TOOBIG) {
        (void)put_error(out, "SERVICE_UNAVAILABLE",
                        "session or node limit reached", NULL);
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        goto out;
    }
    if (rv != 0) {
        status = store_error(rv, NULL, out);
        goto out;
    }
    status = put_session(out, &info) == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
out:
    json_free(doc);
    return status;
}

static unsigned
on_observe(struct ksim *k, const struct route *rt, const struct req *r,
           struct buf *out)
{
    struct json_doc *doc = NULL;
    const struct json_val *root, *strings, *vectors;
    struct simstore_info info;
    struct buf ev;
    size_t *dims = NULL, ndims, want = 0, got = 0;
    const char *where = "body", *why;
    bool nonempty;
    unsigned status;
    uint64_t seq;
    int rv;

    buf_init(&ev, SIMSTORE_EVENT_MAX);
    /* KATO's session middleware answers 404 before the body is looked
     * at; the store is asked again below (the session may go meanwhile). */
    rv = simstore_get(k->store, lookup_sid(rt), NULL);
    if (rv != 0) {
        status = store_error(rv, rt, out);
        goto out;
    }
    doc = body_object(r, out, &status);
    if (doc == NULL) {
        goto out;
    }
    root = json_root(doc);
    why = check_observation(root, &where);
    if (why != NULL) {
        (void)put_validation(out, where, why);
        status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        goto out;
    }
    strings = json_get(root, "strings");
    vectors = json_get(root, "vectors");
    ndims = vectors != NULL ? vectors->len : 0;
    nonempty = (strings != NULL && strings->len > 0) || ndims > 0;
    if (ndims > 0) {
        dims = xcalloc(ndims, sizeof(*dims));
        if (dims == NULL) {
            status = store_error(E_NOMEM, rt, out);
            goto out;
        }
    }
    if (nonempty) {
        rv = render_event(strings, vectors, &ev, dims);
        if (rv != 0) {
            status = store_error(rv, rt, out);
            goto out;
        }
    }
    rv = simstore_observe(k->store, lookup_sid(rt),
                          nonempty ? (const char *)ev.data : NULL, ev.len, dims,
                          ndims, &want, &got, &info);
    if (rv == E_RANGE) {
        char msg[128];
        (void)snprintf(msg, sizeof(msg),
                       "Vector dimension mismatch: expected %zu, got %zu", want,
                       got);
        (void)put_error(out, "VectorDimensionError", msg, NULL);
        status = MHD_HTTP_BAD_REQUEST;
        goto out;
    }
    if (rv != 0) {
        status = store_error(rv, rt, out);
        goto out;
    }
    seq = atomic_fetch_add(&k->observe_seq, 1) + 1;
    rv = buf_printf(out,
                    "{\"status\":\"okay\",\"session_id\":\"%s\","
                    "\"processor_id\":",
                    info.sid);
    if (rv == 0) {
        rv = json_put_str(out, info.node_id, info.node_len);
    }
    if (rv == 0) {
        rv = buf_printf(out,
                        ",\"stm_length\":%zu,\"time\":%" PRIu64
                        ",\"unique_id\":\"obs-%016" PRIx64 "%016" PRIx64
                        "\",\"auto_learned_pattern\":null}",
                        info.stm_len, info.time, k->start_ns, seq);
    }
    status = rv == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
out:
    xfree(dims);
    buf_fini(&ev);
    json_free(doc);
    return status;
}

static unsigned
on_learn(struct ksim *k, const struct route *rt, struct buf *out)
{
    struct simstore_info info;
    int rv = simstore_learn(k->store, lookup_sid(rt), &info);

    if (rv == E_STATE) {
        (void)put_error(out, "BAD_REQUEST", "Cannot learn from empty STM",
                        NULL);
        return MHD_HTTP_BAD_REQUEST;
    }
    if (rv != 0) {
        return store_error(rv, rt, out);
    }
    rv = buf_printf(out,
                    "{\"status\":\"learned\",\"pattern_name\":\"%s\","
                    "\"session_id\":\"%s\",\"message\":\"Learned pattern "
                    "%s\"}",
                    info.pattern, info.sid, info.pattern);
    return rv == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
}

static unsigned
on_predictions(struct ksim *k, const struct route *rt, struct buf *out)
{
    struct simstore_info info;
    size_t count = 0;
    int rv = buf_printf(out, "{\"predictions\":");

    if (rv == 0) {
        rv = simstore_render_predictions(k->store, lookup_sid(rt), out, &count,
                                         &info);
    }
    if (rv != 0) {
        buf_reset(out);
        return store_error(rv, rt, out);
    }
    rv = buf_printf(out,
                    ",\"future_potentials\":null,\"session_id\":\"%s\","
                    "\"count\":%zu}",
                    info.sid, count);
    return rv == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
}

static unsigned
on_stm(struct ksim *k, const struct route *rt, struct buf *out)
{
    struct simstore_info info;
    int rv = buf_printf(out, "{\"stm\":");

    if (rv == 0) {
        rv = simstore_render_stm(k->store, lookup_sid(rt), out, &info);
    }
    if (rv != 0) {
        buf_reset(out);
        return store_error(rv, rt, out);
    }
    rv = buf_printf(out, ",\"session_id\":\"%s\",\"length\":%zu}", info.sid,
                    info.stm_len);
    return rv == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
}

/* clear-stm, clear-all, GET and DELETE of a session. */
static unsigned
on_session_op(struct ksim *k, const struct route *rt, struct buf *out)
{
    struct simstore_info info;
    const char *sid = lookup_sid(rt);
    int rv;

    switch (rt->ep) {
    case EP_CLEAR:
        rv = simstore_clear_stm(k->store, sid);
        break;
    case EP_CLEAR_ALL:
        rv = simstore_clear_all(k->store, sid);
        break;
    case EP_SESSION_DELETE:
        rv = simstore_delete(k->store, sid);
        break;
    default:
        rv = simstore_get(k->store, sid, &info);
        break;
    }
    if (rv != 0) {
        return store_error(rv, rt, out);
    }
    switch (rt->ep) {
    case EP_CLEAR:
        rv = buf_printf(out, "{\"status\":\"cleared\",\"session_id\":\"%s\"}",
                        sid);
        break;
    case EP_CLEAR_ALL:
        rv = buf_printf(out,
                        "{\"status\":\"cleared\",\"session_id\":\"%s\","
                        "\"scope\":\"all\"}",
                        sid);
        break;
    case EP_SESSION_DELETE:
        rv = buf_printf(out, "{\"status\":\"deleted\",\"session_id\":\"%s\"}",
                        sid);
        break;
    default:
        rv = put_session(out, &info);
        break;
    }
    return rv == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
}

static unsigned
on_health(struct ksim *k, struct buf *out)
{
    char now[40];
    uint64_t up_ms = (clock_now_ns() - k->start_ns) / CLOCK_NS_PER_MS;
    int rv;

    iso_time(wall_ms(), now, sizeof(now));
    rv = buf_printf(out,
                    "{\"status\":\"healthy\",\"processor_status\":\"healthy\","
                    "\"service_name\":\"katosim\",\"uptime_seconds\":%.3f,"
                    "\"issues\":[],\"metrics_collected\":0,"
                    "\"last_collection\":null,\"active_sessions\":%zu,"
                    "\"timestamp\":\"%s\"}",
                    (double)up_ms / 1000.0, simstore_count(k->store), now);
    return rv == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
}

/* Counts one load request from c's client address: found or added in
 * k->peers, else counted in k->peers_other. */
static void
peer_count(struct ksim *k, struct MHD_Connection *c, bool session)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
    uint64_t now = clock_now_ns();
    uint8_t key[16] = {0};
    size_t len = 0;
    int fam = 0;
    struct peer *p = NULL;

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        fam = AF_INET;
        len = 4;
        memcpy(key, &in4->sin_addr, len);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        fam = AF_INET6;
        len = 16;
        memcpy(key, &in6->sin6_addr, len);
    }
    (void)pthread_mutex_lock(&k->peer_lock);
    for (size_t i = 0; fam != 0 && i < KSIM_PEERS_MAX; i++) {
        struct peer *q = &k->peers[i];
        if (q->family == 0) {
            q->family = fam;
            memcpy(q->addr, key, len);
            q->first_ns = now;
        }
        if (q->family == fam && memcmp(q->addr, key, len) == 0) {
            p = q;
            break;
        }
    }
    if (p != NULL) {
        p->load++;
        p->sessions += session ? 1 : 0;
        p->last_ns = now;
    } else {
        k->peers_other++;
    }
    (void)pthread_mutex_unlock(&k->peer_lock);
}

/* Appends ,"peers":[...],"peers_other":N: per client address, the load
 * requests, the sessions created and the first and last arrival in ms
 * since start (microsecond precision). */
static int
put_peers(struct ksim *k, struct buf *out)
{
    int rv = buf_printf(out, ",\"peers\":[");

    (void)pthread_mutex_lock(&k->peer_lock);
    for (size_t i = 0; rv == 0 && i < KSIM_PEERS_MAX; i++) {
        const struct peer *p = &k->peers[i];
        char txt[INET6_ADDRSTRLEN] = "?";
        if (p->family == 0) {
            break;
        }
        (void)inet_ntop(p->family, p->addr, txt, sizeof(txt));
        rv = buf_printf(out,
                        "%s{\"addr\":\"%s\",\"load_requests\":%" PRIu64
                        ",\"create_session\":%" PRIu64
                        ",\"first_ms\":%.3f,\"last_ms\":%.3f}",
                        i ? "," : "", txt, p->load, p->sessions,
                        (double)(p->first_ns - k->start_ns) / 1e6,
                        (double)(p->last_ns - k->start_ns) / 1e6);
    }
    if (rv == 0) {
        rv = buf_printf(out, "],\"peers_other\":%" PRIu64, k->peers_other);
    }
    (void)pthread_mutex_unlock(&k->peer_lock);
    return rv;
}

static int
put_metrics(struct ksim *k, struct buf *out)
{
    uint64_t load = 0;
    bool first = true;
    int rv = buf_printf(out, "{\"requests\":{");

    for (int i = 0; rv == 0 && i < EP_COUNT; i++) {
        uint64_t n = atomic_load(&k->requests[i]);
        if (i < EP_CLEAR_ALL) {
            load += n;
        }
        rv = buf_printf(out, "%s\"%s\":%" PRIu64, i ? "," : "", ep_name(i), n);
    }
    if (rv == 0) {
        rv = buf_printf(out, "},\"load_requests\":%" PRIu64 ",\"responses\":{",
                        load);
    }
    for (int s = 100; rv == 0 && s < 600; s++) {
        uint64_t n = atomic_load(&k->responses[s]);
        if (n > 0) {
            rv = buf_printf(out, "%s\"%d\":%" PRIu64, first ? "" : ",", s, n);
            first = false;
        }
    }
    if (rv == 0) {
        rv = buf_printf(
            out,
            "},\"in_flight\":%" PRId64 ",\"peak_in_flight\":%" PRId64
            ",\"rejected_503\":%" PRIu64 ",\"errors_injected\":%" PRIu64
            ",\"sessions_active\":%zu,\"leaked_bytes\":%" PRIu64
            ",\"rss_kb\":%ld,\"cpu_us\":%" PRIu64 ",\"pid\":%ld,"
            "\"uptime_ms\":%" PRIu64,
            atomic_load(&k->in_flight), atomic_load(&k->peak_in_flight),
            atomic_load(&k->rejected_503), atomic_load(&k->errors_injected),
            simstore_count(k->store), atomic_load(&k->leaked_bytes), rss_kb(),
            cpu_us(), (long)getpid(),
            (uint64_t)((clock_now_ns() - k->start_ns) / CLOCK_NS_PER_MS));
    }
    if (rv == 0) {
        rv = put_peers(k, out);
    }
    if (rv == 0) {
        rv = buf_printf(out, "}");
    }
    return rv;
}

/* --- routing -------------------------------------------------------------- */

struct sub_route {
    const char *suffix;
    enum ep ep;
    const char *method;
};

static const struct sub_route sub_routes[] = {
    {"observe", EP_OBSERVE, MHD_HTTP_METHOD_POST},
    {"learn", EP_LEARN, MHD_HTTP_METHOD_POST},
    {"predictions", EP_PREDICTIONS, MHD_HTTP_METHOD_GET},
    {"stm", EP_STM, MHD_HTTP_METHOD_GET},
    {"clear-stm", EP_CLEAR, MHD_HTTP_METHOD_POST},
    {"clear-all", EP_CLEAR_ALL, MHD_HTTP_METHOD_POST},
};

/* Sets rt->ep (or 405 via bad_method) for exactly method on path want. */
static void
match(struct route *rt, const char *method, const char *want, enum ep ep)
{
    if (strcmp(method, want) == 0) {
        rt->ep = ep;
    } else {
        rt->ep = EP_OTHER;
        rt->bad_method = true;
        rt->allow = want;
    }
}

static void
classify(const char *url, const char *method, struct route *rt)
{
    static const char prefix[] = "/sessions/";
    const char *sid, *slash;

    memset(rt, 0, sizeof(*rt));
    rt->ep = EP_OTHER;
    if (strcmp(url, "/health") == 0) {
        match(rt, method, MHD_HTTP_METHOD_GET, EP_HEALTH);
        return;
    }
    if (strcmp(url, "/metrics") == 0) {
        match(rt, method, MHD_HTTP_METHOD_GET, EP_METRICS);
        return;
    }
    if (strcmp(url, "/sessions") == 0) {
        match(rt, method, MHD_HTTP_METHOD_POST, EP_CREATE);
        return;
    }
    if (strncmp(url, prefix, sizeof(prefix) - 1) != 0) {
        return;
    }
    sid = url + sizeof(prefix) - 1;
    slash = strchr(sid, '/');
    rt->sid_len = slash != NULL ? (size_t)(slash - sid) : strlen(sid);
    if (rt->sid_len == 0) {
        return;
    }
    (void)snprintf(rt->sid, sizeof(rt->sid), "%.*s",
                   (int)(rt->sid_len < sizeof(rt->sid) ? rt->sid_len
                                                       : sizeof(rt->sid) - 1),
                   sid);
    if (slash == NULL) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0) {
            rt->ep = EP_SESSION_GET;
        } else if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0) {
            rt->ep = EP_SESSION_DELETE;
        } else {
            rt->bad_method = true;
            rt->allow = "GET, DELETE";
        }
        return;
    }
    for (size_t i = 0; i < sizeof(sub_routes) / sizeof(sub_routes[0]); i++) {
        if (strcmp(slash + 1, sub_routes[i].suffix) == 0) {
            match(rt, method, sub_routes[i].method, sub_routes[i].ep);
            return;
        }
    }
}

/* --- replies and faults --------------------------------------------------- */

static enum MHD_Result
reply(struct ksim *k, struct MHD_Connection *c, unsigned status,
      const struct buf *body, const char *allow)
{
    static const char oom[] =
        "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"out of memory\"}}";
    struct MHD_Response *resp;
    enum MHD_Result ret;
    const void *data = body->data;
    size_t len = body->len;

    if (status == KSIM_BROKEN || len == 0) { /* out of memory (or cap) */
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        data = oom;
        len = sizeof(oom) - 1;
    }
    /* MUST_COPY: MHD only reads the buffer, but its API is not const. */
    resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
                                           MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json") != MHD_YES ||
        (allow != NULL && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                                  allow) != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    if (status >= 100 && status < 600) {
        atomic_fetch_add(&k->responses[status], 1);
    }
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --leak-kb: keep K KiB, every page touched so that RSS grows. */
static void
leak_some(struct ksim *k)
{
    size_t n = (size_t)k->o.leak_kb * 1024u;
    unsigned char *p;
    struct leak *l;

    if (n == 0) {
        return;
    }
    p = xmalloc(n);
    if (p == NULL) {
        log_warn("KSIM-LEAK-OOM", "bytes=%zu", n);
        return;
    }
    for (size_t i = 0; i < n; i += 4096) {
        p[i] = (unsigned char)(i >> 12) | 1u;
    }
    p[n - 1] = 1;
    l = (struct leak *)(void *)p;
    (void)pthread_mutex_lock(&k->leak_lock);
    l->next = k->leaks;
    k->leaks = l;
    (void)pthread_mutex_unlock(&k->leak_lock);
    atomic_fetch_add(&k->leaked_bytes, (uint64_t)n);
}

/* --max-concurrency: admits the request, or false when N are in flight. */
static bool
admit(struct ksim *k)
{
    int64_t prev = atomic_fetch_add(&k->in_flight, 1);
    int64_t peak = atomic_load(&k->peak_in_flight);

    if (k->o.max_concurrency > 0 && (uint64_t)prev >= k->o.max_concurrency) {
        atomic_fetch_sub(&k->in_flight, 1);
        atomic_fetch_add(&k->rejected_503, 1);
        return false;
    }
    while (prev + 1 > peak &&
           !atomic_compare_exchange_weak(&k->peak_in_flight, &peak, prev + 1)) {
    }
    return true;
}

/* --error-rate: one seeded draw per session-API request. */
static bool
inject_error(struct ksim *k)
{
    double d;

    if (k->o.error_rate <= 0.0) {
        return false;
    }
    (void)pthread_mutex_lock(&k->rng_lock);
    d = rng_double(&k->rng);
    (void)pthread_mutex_unlock(&k->rng_lock);
    return d < k->o.error_rate;
}

/* --stall-at-ms/--stall-ms: a reply due inside the window waits for its
 * end, so every request in flight then sees the whole stall. */
static void
stall_hold(struct ksim *k)
{
    uint64_t rel = clock_now_ns() - k->start_ns;

    if (rel >= k->stall_from_ns && rel < k->stall_to_ns) {
        pause_until(k, k->start_ns + k->stall_to_ns);
    }
}

static unsigned
handle(struct ksim *k, const struct route *rt, const struct req *r,
       struct buf *out)
{
    switch (rt->ep) {
    case EP_CREATE:
        return on_create(k, r, out);
    case EP_OBSERVE:
        return on_observe(k, rt, r, out);
    case EP_LEARN:
        return on_learn(k, rt, out);
    case EP_PREDICTIONS:
        return on_predictions(k, rt, out);
    case EP_STM:
        return on_stm(k, rt, out);
    default:
        return on_session_op(k, rt, out);
    }
}

/* Answers a request whose body is complete (or known to be too big). */
static enum MHD_Result
dispatch(struct ksim *k, struct MHD_Connection *c, const char *url,
         const char *method, const struct req *r)
{
    struct route rt;
    struct buf out;
    unsigned status;
    enum MHD_Result ret;
    const char *allow = NULL;

    classify(url, method, &rt);
    buf_init(&out, KSIM_REPLY_MAX);
    /* Counted before any fault applies; /metrics only after its reply is
     * built, so that a reading never includes itself. */
    if (rt.ep != EP_METRICS || r->too_big) {
        atomic_fetch_add(&k->requests[rt.ep], 1);
    }
    if (rt.ep < EP_CLEAR_ALL) {
        peer_count(k, c, rt.ep == EP_CREATE);
    }
    if (r->too_big) {
        (void)put_error(&out, "PAYLOAD_TOO_LARGE", "request body exceeds 1 MiB",
                        NULL);
        status = MHD_HTTP_CONTENT_TOO_LARGE;
    } else if (rt.ep == EP_METRICS) {
        status = put_metrics(k, &out) == 0 ? MHD_HTTP_OK : KSIM_BROKEN;
        atomic_fetch_add(&k->requests[EP_METRICS], 1);
    } else if (rt.ep == EP_OTHER) {
        if (rt.bad_method) {
            (void)put_error(&out, "METHOD_NOT_ALLOWED", "Method Not Allowed",
                            NULL);
            status = MHD_HTTP_METHOD_NOT_ALLOWED;
            allow = rt.allow;
        } else {
            (void)put_error(&out, "NOT_FOUND", "Not Found", NULL);
            status = MHD_HTTP_NOT_FOUND;
        }
    } else if (rt.ep == EP_HEALTH) {
        status = on_health(k, &out);
    } else { /* the session API: the only requests faults apply to */
        leak_some(k);
        if (!admit(k)) {
            (void)put_error(&out, "SERVICE_UNAVAILABLE",
                            "concurrency limit reached", NULL);
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
        } else {
            if (k->latency_ns > 0) {
                pause_until(k, clock_now_ns() + k->latency_ns);
            }
            if (inject_error(k)) {
                atomic_fetch_add(&k->errors_injected, 1);
                (void)put_error(&out, "INJECTED",
                                "fault injected by katosim --error-rate", NULL);
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            } else {
                status = handle(k, &rt, r, &out);
            }
            stall_hold(k);
            atomic_fetch_sub(&k->in_flight, 1);
        }
    }
    ret = reply(k, c, status, &out, allow);
    buf_fini(&out);
    return ret;
}

/* Content-Length above the cap: the answer need not wait for the body. */
static bool
declared_too_big(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    unsigned long long n;

    if (cl == NULL) {
        return false;
    }
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno == ERANGE || (end != cl && n > KSIM_BODY_MAX);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
    struct ksim *k = cls;
    struct req *r = *con_cls;
    int rv;

    (void)version;
    if (r == NULL) { /* headers only so far */
        r = xcalloc(1, sizeof(*r));
        if (r == NULL) {
            return MHD_NO;
        }
        buf_init(&r->body, KSIM_BODY_MAX);
        *con_cls = r;
        if (declared_too_big(c)) {
            r->too_big = true;
            return dispatch(k, c, url, method, r);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        r->received += *upload_data_size;
        if (!r->too_big) {
            rv = buf_append(&r->body, upload_data, *upload_data_size);
            if (rv == E_TOOBIG) {
                r->too_big = true;
                buf_fini(&r->body);
            } else if (rv != 0) {
                return MHD_NO;
            }
        }
        *upload_data_size = 0;
        /* A chunked body with no end: stop reading, drop the link. */
        return r->received > KSIM_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    return dispatch(k, c, url, method, r);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (r != NULL) {
        buf_fini(&r->body);
        xfree(r);
        *con_cls = NULL;
    }
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        line[--n] = '\0';
    }
    log_warn("KSIM-MHD", "%s", line);
}

/* --- command line --------------------------------------------------------- */

static void
usage(FILE *f)
{
    (void)fputs(
        "usage: katosim --port N [options]\n"
        "A KATO v3 session-API stand-in with exact counters (GET /metrics)\n"
        "and injectable faults. Listens on 127.0.0.1 unless --bind.\n"
        "\n"
        "  --port N              TCP port; 0 picks a free one (required)\n"
        "  --bind ADDR           IPv4 or IPv6 address to bind (127.0.0.1)\n"
        "  --ready-file F        after binding, write the port + newline to F\n"
        "                        (atomically: F.tmp, then rename)\n"
        "  --latency-ms X        add X ms (fractional) to each session-API "
        "request\n"
        "  --error-rate F        answer that fraction (0..1) of session-API\n"
        "                        requests with 500 INJECTED\n"
        "  --seed N              seed of the --error-rate draws (1)\n"
        "  --leak-kb K           keep K KiB per session-API request, never "
        "freed\n"
        "  --max-concurrency N   503 a session-API request when N are in "
        "flight\n"
        "  --stall-at-ms T       with --stall-ms D: replies due in [T, T+D) "
        "ms\n"
        "  --stall-ms D          after start are held until T+D (a stall)\n"
        "  --max-sessions N      live-session bound, then 503 (1000000)\n"
        "  --quiet               log errors only\n"
        "  -h, --help            this text\n"
        "\n"
        "Exit: 0 stopped by SIGINT/SIGTERM, 1 could not start (port in use),\n"
        "2 bad command line.\n",
        f);
}

static int
bad_flag(const char *flag, const char *what, const char *got)
{
    (void)fprintf(stderr,
                  "katosim: %s: expected %s, got '%s'\n"
                  "Try 'katosim --help'.\n",
                  flag, what, got);
    return 2;
}

static bool
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

static bool
parse_f64(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    double v;

    if (s[0] == '\0' || s[0] == ' ') {
        return false;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

enum {
    OPT_PORT = 256,
    OPT_BIND,
    OPT_READY,
    OPT_LATENCY,
    OPT_ERROR_RATE,
    OPT_SEED,
    OPT_LEAK,
    OPT_MAXCONC,
    OPT_STALL_AT,
    OPT_STALL,
    OPT_MAX_SESSIONS,
    OPT_QUIET,
};

/* Returns -1 to go on, else the exit code (0 after --help). */
static int
parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"ready-file", required_argument, NULL, OPT_READY},
        {"latency-ms", required_argument, NULL, OPT_LATENCY},
        {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"leak-kb", required_argument, NULL, OPT_LEAK},
        {"max-concurrency", required_argument, NULL, OPT_MAXCONC},
        {"stall-at-ms", required_argument, NULL, OPT_STALL_AT},
        {"stall-ms", required_argument, NULL, OPT_STALL},
        {"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned char probe[sizeof(struct in6_addr)];
    uint64_t u;
    int c;

    memset(o, 0, sizeof(*o));
    o->bind_addr = "127.0.0.1";
    o->port = -1;
    o->seed = 1;
    o->stall_at_ms = -1.0;
    o->stall_ms = -1.0;
    o->max_sessions = KSIM_SESSIONS_MAX;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case OPT_PORT:
            if (!parse_u64(optarg, 0, 65535, &u)) {
                return bad_flag("--port", "an integer in [0, 65535]", optarg);
            }
            o->port = (long)u;
            break;
        case OPT_BIND:
            if (inet_pton(AF_INET, optarg, probe) != 1 &&
                inet_pton(AF_INET6, optarg, probe) != 1) {
                return bad_flag("--bind", "an IPv4 or IPv6 address", optarg);
            }
            o->bind_addr = optarg;
            break;
        case OPT_READY:
            if (optarg[0] == '\0') {
                return bad_flag("--ready-file", "a path", optarg);
            }
            o->ready_file = optarg;
            break;
        case OPT_LATENCY:
            if (!parse_f64(optarg, 0.0, 600000.0, &o->latency_ms)) {
                return bad_flag("--latency-ms", "milliseconds in [0, 600000]",
                                optarg);
            }
            break;
        case OPT_ERROR_RATE:
            if (!parse_f64(optarg, 0.0, 1.0, &o->error_rate)) {
                return bad_flag("--error-rate", "a fraction in [0, 1]", optarg);
            }
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, 0, UINT64_MAX, &o->seed)) {
                return bad_flag("--seed", "an unsigned 64-bit integer", optarg);
            }
            break;
        case OPT_LEAK:
            if (!parse_u64(optarg, 0, 1024u * 1024u, &o->leak_kb)) {
                return bad_flag("--leak-kb", "KiB in [0, 1048576]", optarg);
            }
            break;
        case OPT_MAXCONC:
            if (!parse_u64(optarg, 1, 1000000, &o->max_concurrency)) {
                return bad_flag("--max-concurrency",
                                "an integer in [1, 1000000]", optarg);
            }
            break;
        case OPT_STALL_AT:
            if (!parse_f64(optarg, 0.0, 86400000.0, &o->stall_at_ms)) {
                return bad_flag("--stall-at-ms",
                                "milliseconds in [0, 86400000]", optarg);
            }
            break;
        case OPT_STALL:
            if (!parse_f64(optarg, 0.0, 600000.0, &o->stall_ms)) {
                return bad_flag("--stall-ms", "milliseconds in [0, 600000]",
                                optarg);
            }
            break;
        case OPT_MAX_SESSIONS:
            if (!parse_u64(optarg, 1, 100000000, &o->max_sessions)) {
                return bad_flag("--max-sessions",
                                "an integer in [1, 100000000]", optarg);
            }
            break;
        case OPT_QUIET:
            o->quiet = true;
            break;
        case ':':
            (void)fprintf(stderr,
                          "katosim: option '%s' needs a value\n"
                          "Try 'katosim --help'.\n",
                          argv[optind - 1]);
            return 2;
        default:
            (void)fprintf(stderr,
                          "katosim: unknown option '%s'\n"
                          "Try 'katosim --help'.\n",
                          argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        (void)fprintf(stderr, "katosim: unexpected argument '%s'\n",
                      argv[optind]);
        return 2;
    }
    if (o->port < 0) {
        (void)fprintf(stderr, "katosim: --port is required (0 picks a free "
                              "port)\nTry 'katosim --help'.\n");
        return 2;
    }
    if ((o->stall_at_ms < 0) != (o->stall_ms < 0)) {
        (void)fprintf(stderr, "katosim: %s needs %s too\n",
                      o->stall_ms < 0 ? "--stall-at-ms" : "--stall-ms",
                      o->stall_ms < 0 ? "--stall-ms" : "--stall-at-ms");
        return 2;
    }
    return -1;
}

/* --- start-up and shutdown ------------------------------------------------ */

/* Binds and listens; returns the socket, or -1 after printing why. */
static int
open_listener(const char *addr, long port)
{
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr *sa;
    socklen_t sl;
    char why[128];
    int fd, one = 1, e;

    memset(&in4, 0, sizeof(in4));
    memset(&in6, 0, sizeof(in6));
    if (inet_pton(AF_INET, addr, &in4.sin_addr) == 1) {
        in4.sin_family = AF_INET;
        in4.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&in4;
        sl = sizeof(in4);
    } else {
        (void)inet_pton(AF_INET6, addr, &in6.sin6_addr);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&in6;
        sl = sizeof(in6);
    }
    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        e = errno;
        goto fail;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, sa, sl) != 0 || listen(fd, KSIM_BACKLOG) != 0) {
        e = errno;
        (void)close(fd);
        goto fail;
    }
    return fd;
fail:
    if (strerror_r(e, why, sizeof(why)) != 0) {
        (void)snprintf(why, sizeof(why), "errno %d", e);
    }
    (void)fprintf(stderr, "katosim: cannot listen on %s port %ld: %s%s\n", addr,
                  port, why,
                  e == EADDRINUSE ? " (another process holds it)" : "");
    return -1;
}

static int
write_ready(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;
    int rv = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return E_TOOBIG;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        return E_IO;
    }
    if (fprintf(f, "%u\n", port) < 0) {
        rv = E_IO;
    }
    if (fclose(f) != 0) {
        rv = E_IO;
    }
    if (rv == 0 && rename(tmp, path) != 0) {
        rv = E_IO;
    }
    if (rv != 0) {
        (void)unlink(tmp);
    }
    return rv;
}

/*
 * Thread-per-connection needs a descriptor per connection: raises the soft
 * open-file limit to the hard one and returns the connection limit that
 * fits under it (KSIM_CONN_LIMIT at most, 64 descriptors kept spare).
 */
static unsigned
conn_limit(void)
{
    struct rlimit rl;
    unsigned limit = KSIM_CONN_LIMIT;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return limit;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
            getrlimit(RLIMIT_NOFILE, &rl) != 0) {
            return limit;
        }
    }
    if (rl.rlim_cur < (rlim_t)KSIM_CONN_LIMIT + 64) {
        limit = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
        log_info("KSIM-NOFILE", "open_files=%llu max_connections=%u",
                 (unsigned long long)rl.rlim_cur, limit);
    }
    return limit;
}

static int
ksim_init(struct ksim *k, const struct opts *o)
{
    int rv;

    memset(k, 0, sizeof(*k));
    k->o = *o;
    k->latency_ns = (uint64_t)llround(o->latency_ms * 1e6);
    if (o->stall_ms > 0) {
        k->stall_from_ns = (uint64_t)llround(o->stall_at_ms * 1e6);
        k->stall_to_ns =
            k->stall_from_ns + (uint64_t)llround(o->stall_ms * 1e6);
    }
    rng_seed(&k->rng, o->seed);
    atomic_init(&k->stopping, false);
    /* Session ids mix in the clock, so that no id survives a restart. */
    rv = simstore_new(&k->store, (size_t)o->max_sessions, KSIM_NODES_MAX,
                      o->seed ^ clock_wall_ns());
    if (rv != 0) {
        return rv;
    }
    if (pthread_mutex_init(&k->rng_lock, NULL) != 0) {
        goto fail_rng;
    }
    if (pthread_mutex_init(&k->leak_lock, NULL) != 0) {
        goto fail_leak;
    }
    if (pthread_mutex_init(&k->peer_lock, NULL) != 0) {
        goto fail_peer;
    }
    k->start_ns = clock_now_ns();
    return 0;

fail_peer:
    (void)pthread_mutex_destroy(&k->leak_lock);
fail_leak:
    (void)pthread_mutex_destroy(&k->rng_lock);
fail_rng:
    simstore_free(k->store);
    k->store = NULL;
    return E_NOMEM;
}

static void
ksim_fini(struct ksim *k)
{
    struct leak *l = k->leaks, *next;

    for (; l != NULL; l = next) {
        next = l->next;
        xfree(l);
    }
    k->leaks = NULL;
    simstore_free(k->store);
    k->store = NULL;
    (void)pthread_mutex_destroy(&k->peer_lock);
    (void)pthread_mutex_destroy(&k->leak_lock);
    (void)pthread_mutex_destroy(&k->rng_lock);
}

int
main(int argc, char **argv)
{
    struct ksim *k = NULL;
    struct opts o;
    struct MHD_Daemon *d = NULL;
    const union MHD_DaemonInfo *info;
    struct sigaction sa;
    sigset_t sigs;
    unsigned port;
    unsigned flags;
    int fd = -1, sig = 0, rv;
    int code = 1;

    rv = parse_args(argc, argv, &o);
    if (rv >= 0) {
        return rv;
    }
    log_set_prefix("katosim");
    log_set_level(o.quiet ? LOG_ERROR : LOG_INFO);

    /* SIGINT/SIGTERM are taken by sigwait below; blocked before any
     * thread starts so that every MHD thread inherits the mask. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
    (void)sigemptyset(&sigs);
    (void)sigaddset(&sigs, SIGINT);
    (void)sigaddset(&sigs, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
        (void)fprintf(stderr, "katosim: cannot block signals\n");
        return 1;
    }
    k = xmalloc(sizeof(*k));
    if (k == NULL || ksim_init(k, &o) != 0) {
        (void)fprintf(stderr, "katosim: out of memory\n");
        xfree(k);
        return 1;
    }
    fd = open_listener(o.bind_addr, o.port);
    if (fd < 0) {
        goto out;
    }
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (strchr(o.bind_addr, ':') != NULL) {
        flags |= MHD_USE_IPv6;
    }
    /* The logger goes first, or MHD logs the options before it itself. */
    d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, k, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, k, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, conn_limit(),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)KSIM_CONN_TIMEOUT,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)KSIM_STACK_BYTES,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, k, MHD_OPTION_END);
    if (d == NULL) {
        (void)fprintf(stderr, "katosim: cannot start the HTTP daemon\n");
        (void)close(fd);
        goto out;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = info != NULL ? info->port : 0;
    if (port == 0) {
        (void)fprintf(stderr, "katosim: cannot read the bound port\n");
        goto out;
    }
    if (o.ready_file != NULL && write_ready(o.ready_file, port) != 0) {
        (void)fprintf(stderr, "katosim: cannot write --ready-file %s\n",
                      o.ready_file);
        goto out;
    }
    log_info("KSIM-READY",
             "addr=%s port=%u pid=%ld latency_ms=%g error_rate=%g "
             "leak_kb=%" PRIu64 " max_concurrency=%" PRIu64,
             o.bind_addr, port, (long)getpid(), o.latency_ms, o.error_rate,
             o.leak_kb, o.max_concurrency);

    if (sigwait(&sigs, &sig) != 0) {
        (void)fprintf(stderr, "katosim: sigwait failed\n");
        goto out;
    }
    log_info("KSIM-STOP", "signal=%d sessions_active=%zu", sig,
             simstore_count(k->store));
    code = 0;
out:
    atomic_store(&k->stopping, true);
    if (d != NULL) {
        MHD_stop_daemon(d); /* joins every connection thread */
    }
    if (code == 0 && o.ready_file != NULL) {
        (void)unlink(o.ready_file);
    }
    ksim_fini(k);
    xfree(k);
    return code;
}
