/* SPDX-License-Identifier: MIT */
/*
 * Loads stress_config.yaml (see config.h): libyaml events become a small
 * tree of nodes that remember where they started, then the tree is walked
 * against a table-driven schema into a copy of the defaults, which replaces
 * the caller's config only when everything checked out.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "alloc.h"
#include "err.h"
#include "poison.h"

/* Bounds on what a config file may be: a real one has a few hundred nodes
 * and a few KiB, so these only stop hostile or accidental monsters. */
#define FILE_MAX  (1024 * 1024)
#define DEPTH_MAX 32
#define NODES_MAX 10000
#define PATH_MAX_ 128

/* --- the node tree ------------------------------------------------------- */

enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

struct node {
    enum node_kind kind;
    bool plain;         /* a plain (unquoted) scalar: only these can be null */
    size_t line;        /* 1-based */
    size_t col;         /* 1-based */
    char *s;            /* scalar text, NUL-terminated (may hold inner NULs) */
    size_t len;         /* scalar length in bytes */
    struct node **kids; /* map: key, value, key, value...; seq: items */
    size_t n;
    size_t cap;
};

/* Everything a failing check needs to say where and what. */
struct loader {
    const char *name; /* file name used in messages */
    char *err;
    size_t errlen;
    size_t nodes; /* nodes built so far (bounded by NODES_MAX) */
};

static void
node_free(struct node *nd)
{
    if (nd == NULL) {
        return;
    }
    for (size_t i = 0; i < nd->n; i++) {
        node_free(nd->kids[i]);
    }
    xfree(nd->kids);
    xfree(nd->s);
    xfree(nd);
}

/* The message quotes values from the file, which may hold line breaks or
 * other control characters (a quoted "a\nb", a folded plain scalar): turn
 * them into '?' so the message stays the one line config.h promises and
 * cannot forge log lines. */
static void
one_line(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = '?';
        }
    }
}

static void set_err(struct loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(struct loader *ld, const char *fmt, ...)
{
    va_list ap;

    if (ld->err == NULL || ld->errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(ld->err, ld->errlen, fmt, ap);
    va_end(ap);
    one_line(ld->err);
}

/* Formats "NAME:LINE:COL: message" into the caller's buffer; returns
 * E_CONFIG so that checks can `return fail(...)`. */
static int fail_at(struct loader *ld, size_t line, size_t col, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static int
fail_at(struct loader *ld, size_t line, size_t col, const char *fmt, ...)
{
    va_list ap;
    int off = 0;

    if (ld->err == NULL || ld->errlen == 0) {
        return E_CONFIG;
    }
    off = snprintf(ld->err, ld->errlen, "%s:%zu:%zu: ", ld->name, line, col);
    if (off >= 0 && (size_t)off < ld->errlen) {
        va_start(ap, fmt);
        (void)vsnprintf(ld->err + off, ld->errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    one_line(ld->err);
    return E_CONFIG;
}

#define fail(ld, nd, ...) fail_at((ld), (nd)->line, (nd)->col, __VA_ARGS__)

static int
fail_nomem(struct loader *ld)
{
    set_err(ld, "%s: out of memory", ld->name);
    return E_NOMEM;
}

static bool
is_null(const struct node *nd)
{
    if (nd->kind != NODE_SCALAR || !nd->plain) {
        return false;
    }
    return nd->len == 0 || strcmp(nd->s, "~") == 0 ||
           strcmp(nd->s, "null") == 0 || strcmp(nd->s, "Null") == 0 ||
           strcmp(nd->s, "NULL") == 0;
}

/* A short description of a value for "got ..." in messages. */
static void
describe(const struct node *nd, char *out, size_t outlen)
{
    if (nd->kind == NODE_MAP) {
        (void)snprintf(out, outlen, "a mapping");
    } else if (nd->kind == NODE_SEQ) {
        (void)snprintf(out, outlen, "a sequence");
    } else if (is_null(nd)) {
        (void)snprintf(out, outlen, "nothing (null)");
    } else {
        (void)snprintf(out, outlen, "'%.40s%s'", nd->s,
                       nd->len > 40 ? "..." : "");
    }
}

/* --- parsing: libyaml events -> tree ------------------------------------- */

static size_t
offset_line(const char *text, size_t len, size_t off, size_t *col)
{
    size_t line = 1;
    size_t c = 1;

    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            c = 1;
        } else {
            c++;
        }
    }
    *col = c;
    return line;
}

static int
syntax_error(struct loader *ld, const yaml_parser_t *p, const char *text,
             size_t len)
{
    const char *problem = p->problem != NULL ? p->problem : "syntax error";
    size_t line = p->problem_mark.line + 1;
    size_t col = p->problem_mark.column + 1;

    if (p->error == YAML_MEMORY_ERROR) {
        return fail_nomem(ld);
    }
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        line = offset_line(text, len, p->problem_offset, &col);
        return fail_at(ld, line, col, "%s", problem);
    }
    if (p->context != NULL) {
        return fail_at(ld, line, col, "%s (%s at line %zu, column %zu)",
                       problem, p->context, p->context_mark.line + 1,
                       p->context_mark.column + 1);
    }
    return fail_at(ld, line, col, "%s", problem);
}

static int
node_new(struct loader *ld, const yaml_event_t *ev, enum node_kind kind,
         struct node **out)
{
    struct node *nd = NULL;
    int rv = 0;

    if (ld->nodes >= NODES_MAX) {
        rv = fail_at(ld, ev->start_mark.line + 1, ev->start_mark.column + 1,
                     "the document is too large (more than %d nodes)",
                     NODES_MAX);
        goto out;
    }
    nd = xcalloc(1, sizeof(*nd));
    if (nd == NULL) {
        rv = fail_nomem(ld);
        goto out;
    }
    nd->kind = kind;
    nd->line = ev->start_mark.line + 1;
    nd->col = ev->start_mark.column + 1;
    if (kind == NODE_SCALAR) {
        nd->len = ev->data.scalar.length;
        nd->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        nd->s = xmalloc(nd->len + 1);
        if (nd->s == NULL) {
            rv = fail_nomem(ld);
            goto out;
        }
        if (nd->len > 0) {
            memcpy(nd->s, ev->data.scalar.value, nd->len);
        }
        nd->s[nd->len] = '\0';
    }
    ld->nodes++;
    *out = nd;
    nd = NULL;
out:
    node_free(nd);
    return rv;
}

/* Appends child to parent; on failure child is still the caller's. */
static int
node_append(struct loader *ld, struct node *parent, struct node *child)
{
    if (parent->kind == NODE_MAP && parent->n % 2 == 0 &&
        child->kind != NODE_SCALAR) {
        return fail(ld, child, "mapping keys must be plain names, not %s",
                    child->kind == NODE_MAP ? "mappings" : "sequences");
    }
    if (parent->n == parent->cap) {
        size_t cap = parent->cap == 0 ? 8 : parent->cap * 2;
        struct node **k = xrealloc(parent->kids, cap * sizeof(*k));
        if (k == NULL) {
            return fail_nomem(ld);
        }
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = child;
    return 0;
}

/* Parses text into a tree. *root is NULL for an empty stream. */
static int
parse_tree(struct loader *ld, const char *text, size_t len, struct node **root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct node *stack[DEPTH_MAX];
    struct node *top = NULL;
    struct node *nd = NULL;
    size_t depth = 0;
    int docs = 0;
    bool done = false;
    int rv = 0;

    if (yaml_parser_initialize(&p) == 0) {
        return fail_nomem(ld);
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done && rv == 0) {
        if (yaml_parser_parse(&p, &ev) == 0) {
            rv = syntax_error(ld, &p, text, len);
            break;
        }
        nd = NULL;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                rv = fail_at(ld, ev.start_mark.line + 1,
                             ev.start_mark.column + 1,
                             "only one YAML document is allowed");
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_ALIAS_EVENT:
            rv = fail_at(ld, ev.start_mark.line + 1, ev.start_mark.column + 1,
                         "aliases (*%.40s) are not supported",
                         (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            rv = node_new(ld, &ev,
                          ev.type == YAML_SCALAR_EVENT          ? NODE_SCALAR
                          : ev.type == YAML_MAPPING_START_EVENT ? NODE_MAP
                                                                : NODE_SEQ,
                          &nd);
            if (rv != 0) {
                break;
            }
            if (depth == 0) {
                top = nd;
            } else {
                rv = node_append(ld, stack[depth - 1], nd);
                if (rv != 0) {
                    node_free(nd);
                    break;
                }
            }
            if (nd->kind != NODE_SCALAR) {
                if (depth == DEPTH_MAX) {
                    rv = fail(ld, nd, "nesting deeper than %d levels",
                              DEPTH_MAX);
                    break;
                }
                stack[depth++] = nd;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (rv != 0) {
        node_free(top);
        return rv;
    }
    *root = top;
    return 0;
}

/* --- scalar conversions -------------------------------------------------- */

/* Only decimal digits, signs, '.', 'e' and 'E': strtod alone would also
 * take "nan", "inf" and hex, which no config means. */
static bool
numeric_chars(const struct node *nd)
{
    if (nd->kind != NODE_SCALAR || nd->len == 0 || strlen(nd->s) != nd->len) {
        return false;
    }
    return strspn(nd->s, "0123456789+-.eE") == nd->len &&
           strpbrk(nd->s, "0123456789") != NULL;
}

static int
get_double(struct loader *ld, const struct node *nd, const char *path,
           double *out)
{
    char got[64];
    char *end = NULL;
    double v = 0;

    describe(nd, got, sizeof(got));
    if (!numeric_chars(nd)) {
        return fail(ld, nd, "expected a number for %s, got %s", path, got);
    }
    errno = 0;
    v = strtod(nd->s, &end);
    if (end == NULL || *end != '\0' || !isfinite(v) || errno == ERANGE) {
        return fail(ld, nd, "expected a number for %s, got %s", path, got);
    }
    *out = v + 0.0; /* turns -0 into 0 */
    return 0;
}

static int
get_nonneg(struct loader *ld, const struct node *nd, const char *path,
           double *out)
{
    double v = 0;
    int rv = get_double(ld, nd, path, &v);

    if (rv != 0) {
        return rv;
    }
    if (v < 0) {
        return fail(ld, nd, "%s must not be negative, got %s", path, nd->s);
    }
    *out = v;
    return 0;
}

static int
get_u32(struct loader *ld, const struct node *nd, const char *path,
        bool positive, uint32_t *out)
{
    const char *p = NULL;
    uint64_t v = 0;
    double d = 0;
    int rv = 0;

    if (nd->kind == NODE_SCALAR && strlen(nd->s) == nd->len) {
        p = nd->s[0] == '+' ? nd->s + 1 : nd->s;
    }
    if (p == NULL || *p == '\0' || strspn(p, "0123456789") != strlen(p)) {
        /* Not a plain decimal integer: say why. */
        rv = get_double(ld, nd, path, &d);
        if (rv != 0) {
            return rv;
        }
        if (nd->s[0] == '-') {
            return fail(ld, nd, "%s must not be negative, got %.40s", path,
                        nd->s);
        }
        return fail(ld, nd, "expected a whole number for %s, got '%.40s'", path,
                    nd->s);
    }
    for (; *p != '\0'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX) {
            return fail(ld, nd, "%s is out of range (at most %u), got %.40s",
                        path, (unsigned)UINT32_MAX, nd->s);
        }
    }
    if (positive && v == 0) {
        return fail(ld, nd, "%s must be positive, got %s", path, nd->s);
    }
    *out = (uint32_t)v;
    return 0;
}

static int
get_bool(struct loader *ld, const struct node *nd, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    char got[64];

    if (nd->kind == NODE_SCALAR) {
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(nd->s, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(nd->s, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    describe(nd, got, sizeof(got));
    return fail(ld, nd, "expected true or false for %s, got %s", path, got);
}

/* Copies a scalar into dst[size]; null gives "" when allow_null. */
static int
get_str(struct loader *ld, const struct node *nd, const char *path, char *dst,
        size_t size, bool allow_null)
{
    char got[64];

    if (nd->kind != NODE_SCALAR || (!allow_null && is_null(nd))) {
        describe(nd, got, sizeof(got));
        return fail(ld, nd, "expected a string for %s, got %s", path, got);
    }
    if (is_null(nd)) {
        dst[0] = '\0';
        return 0;
    }
    if (strlen(nd->s) != nd->len) {
        return fail(ld, nd, "%s contains a NUL byte", path);
    }
    if (nd->len >= size) {
        return fail(ld, nd, "%s is too long (%zu bytes, at most %zu)", path,
                    nd->len, size - 1);
    }
    memcpy(dst, nd->s, nd->len + 1);
    return 0;
}

/* --- the schema ---------------------------------------------------------- */

enum ftype {
    F_U32,      /* integer >= 0 that fits uint32_t */
    F_U32_POS,  /* integer > 0 */
    F_NUM,      /* finite number >= 0 */
    F_PROB,     /* number in [0, 1] */
    F_BOOL,     /* true/false/yes/no/on/off */
    F_STR,      /* string, null allowed (gives "") */
    F_STR_REQ,  /* non-empty string */
    F_URL,      /* http:// or https:// URL */
    F_NAMES,    /* list of names: char[CONFIG_MAX_LIST][CONFIG_NAME_MAX] */
    F_FORMATS,  /* F_NAMES restricted to the report formats */
    F_PCTS,     /* list of percentiles in (0, 100] */
    F_RANGE,    /* [lo, hi], any finite numbers, lo <= hi */
    F_MAP,      /* a nested section */
    F_PROFILES, /* load_profiles */
    F_MIX,      /* operations_mix */
    F_NUM_POS,  /* finite number > 0 */
    F_FRAC,     /* number in [0, 1] (a margin, not a probability) */
    F_RATIO,    /* number >= 1 */
    F_ENUM,     /* a name of enum_defs[size] (an enum member) */
    F_STAGES,   /* test_scenarios.sustained.stages */
    F_THRESH,   /* performance_thresholds (records the keys set) */
    F_PER_OP,   /* performance_thresholds.per_operation */
};

struct section;

struct field {
    const char *key;
    enum ftype type;
    size_t off;  /* the value (F_NAMES/F_PCTS: the array; F_RANGE: lo) */
    size_t off2; /* F_NAMES/F_PCTS: the size_t count; F_RANGE: hi */
    size_t size; /* F_STR*: the buffer size */
    const struct section *sub;
};

/* A min <= max rule between two whole-number fields of one section. */
struct pair {
    const char *lo;
    const char *hi;
};

/* A rule between fields of one section that pairs cannot say; runs after
 * the section was walked (and its pairs checked), with base holding the
 * merged values and seen the key node of every field the file set. */
typedef int section_check_fn(struct loader *ld, const struct node *map,
                             const char *path, const void *base,
                             const struct node *const *seen);

struct section {
    const struct field *fields;
    size_t n;
    const struct pair *pairs;
    size_t npairs;
    section_check_fn *check; /* may be NULL */
};

/* The enum-valued fields: their names, indexed by the enum's value. */
enum enum_kind { EK_PATTERN, EK_MODEL, EK_MEMORY_SOURCE, EK_AGENT_LOSS };

static const char *const pattern_names[] = {
    "constant", "ramp_up", "ramp_down", "spike", "wave",
    "random",   "poisson", "burst",     "step",  "custom",
};
static const char *const model_names[] = {"closed", "open"};
static const char *const memory_source_names[] = {"auto", "pid", "cgroup",
                                                  "docker", "metrics"};
static const char *const agent_loss_names[] = {"rebalance", "continue",
                                               "abort"};

struct enum_def {
    const char *const *names;
    size_t n;
};

static const struct enum_def enum_defs[] = {
    [EK_PATTERN] = {pattern_names, CONFIG_PATTERN_COUNT},
    [EK_MODEL] = {model_names, CONFIG_MODEL_COUNT},
    [EK_MEMORY_SOURCE] = {memory_source_names, CONFIG_MEMORY_SOURCE_COUNT},
    [EK_AGENT_LOSS] = {agent_loss_names, CONFIG_LOSS_COUNT},
};

_Static_assert(sizeof(pattern_names) / sizeof(pattern_names[0]) ==
                   CONFIG_PATTERN_COUNT,
               "a pattern without a name");
_Static_assert(sizeof(model_names) / sizeof(model_names[0]) ==
                   CONFIG_MODEL_COUNT,
               "a model without a name");
_Static_assert(sizeof(memory_source_names) / sizeof(memory_source_names[0]) ==
                   CONFIG_MEMORY_SOURCE_COUNT,
               "a memory source without a name");
_Static_assert(sizeof(agent_loss_names) / sizeof(agent_loss_names[0]) ==
                   CONFIG_LOSS_COUNT,
               "an agent-loss policy without a name");

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define CO(m)    offsetof(struct config, m)
#define PO(m)    offsetof(struct load_profile, m)
#define STRF(k, t, m)                                         \
    {                                                         \
        k, t, CO(m), 0, sizeof(((struct config *)0)->m), NULL \
    }
#define LISTF(k, t, m, cnt)           \
    {                                 \
        k, t, CO(m), CO(cnt), 0, NULL \
    }

static const struct field profile_fields[] = {
    {"concurrent_users", F_U32_POS, PO(concurrent_users), 0, 0, NULL},
    {"duration_seconds", F_U32_POS, PO(duration_seconds), 0, 0, NULL},
    {"ramp_up_seconds", F_U32, PO(ramp_up_seconds), 0, 0, NULL},
    {"requests_per_user_per_second", F_NUM, PO(requests_per_user_per_second), 0,
     0, NULL},
    {"think_time_ms", F_U32, PO(think_time_ms), 0, 0, NULL},
};
static const struct section profile_sec = {
    profile_fields, NELEM(profile_fields), NULL, 0, NULL};

static const struct field params_fields[] = {
    {"connection_timeout_seconds", F_U32_POS,
     CO(params.connection_timeout_seconds), 0, 0, NULL},
    {"request_timeout_seconds", F_U32_POS, CO(params.request_timeout_seconds),
     0, 0, NULL},
    {"max_retries", F_U32, CO(params.max_retries), 0, 0, NULL},
    {"retry_delay_ms", F_U32, CO(params.retry_delay_ms), 0, 0, NULL},
    {"circuit_breaker_enabled", F_BOOL, CO(params.circuit_breaker_enabled), 0,
     0, NULL},
    {"circuit_breaker_failure_threshold", F_PROB,
     CO(params.circuit_breaker_failure_threshold), 0, 0, NULL},
    {"circuit_breaker_timeout_seconds", F_U32,
     CO(params.circuit_breaker_timeout_seconds), 0, 0, NULL},
    {"circuit_breaker_half_open_requests", F_U32,
     CO(params.circuit_breaker_half_open_requests), 0, 0, NULL},
    {"connection_pool_size", F_U32_POS, CO(params.connection_pool_size), 0, 0,
     NULL},
    {"connection_pool_overflow", F_U32, CO(params.connection_pool_overflow), 0,
     0, NULL},
    {"connection_reuse", F_BOOL, CO(params.connection_reuse), 0, 0, NULL},
    {"max_requests_per_second", F_U32_POS, CO(params.max_requests_per_second),
     0, 0, NULL},
    {"rate_limit_burst_size", F_U32, CO(params.rate_limit_burst_size), 0, 0,
     NULL},
};
static const struct section params_sec = {params_fields, NELEM(params_fields),
                                          NULL, 0, NULL};

static const struct field data_fields[] = {
    {"min_strings_per_observation", F_U32, CO(data.min_strings_per_observation),
     0, 0, NULL},
    {"max_strings_per_observation", F_U32_POS,
     CO(data.max_strings_per_observation), 0, 0, NULL},
    {"min_string_length", F_U32_POS, CO(data.min_string_length), 0, 0, NULL},
    {"max_string_length", F_U32_POS, CO(data.max_string_length), 0, 0, NULL},
    {"string_vocabulary_size", F_U32_POS, CO(data.string_vocabulary_size), 0, 0,
     NULL},
    {"vector_probability", F_PROB, CO(data.vector_probability), 0, 0, NULL},
    {"min_vector_size", F_U32_POS, CO(data.min_vector_size), 0, 0, NULL},
    {"max_vector_size", F_U32_POS, CO(data.max_vector_size), 0, 0, NULL},
    {"vector_dimension_range", F_RANGE, CO(data.vector_value_min),
     CO(data.vector_value_max), 0, NULL},
    {"emotive_probability", F_PROB, CO(data.emotive_probability), 0, 0, NULL},
    {"min_emotives", F_U32, CO(data.min_emotives), 0, 0, NULL},
    {"max_emotives", F_U32, CO(data.max_emotives), 0, 0, NULL},
    {"emotive_value_range", F_RANGE, CO(data.emotive_value_min),
     CO(data.emotive_value_max), 0, NULL},
};
static const struct pair data_pairs[] = {
    {"min_strings_per_observation", "max_strings_per_observation"},
    {"min_string_length", "max_string_length"},
    {"min_vector_size", "max_vector_size"},
    {"min_emotives", "max_emotives"},
};
static const struct section data_sec = {data_fields, NELEM(data_fields),
                                        data_pairs, NELEM(data_pairs), NULL};

static const struct field container_fields[] = {
    {"enabled", F_BOOL, CO(monitoring.container_monitoring_enabled), 0, 0,
     NULL},
    {"sample_interval_seconds", F_U32_POS,
     CO(monitoring.container_sample_interval_seconds), 0, 0, NULL},
    {"track_logs", F_BOOL, CO(monitoring.container_track_logs), 0, 0, NULL},
    LISTF("log_error_patterns", F_NAMES, monitoring.log_error_patterns,
          monitoring.n_log_error_patterns),
};
static const struct section container_sec = {
    container_fields, NELEM(container_fields), NULL, 0, NULL};

static const struct field monitoring_fields[] = {
    {"metrics_sample_interval_seconds", F_U32_POS,
     CO(monitoring.metrics_sample_interval_seconds), 0, 0, NULL},
    {"report_interval_seconds", F_U32_POS,
     CO(monitoring.report_interval_seconds), 0, 0, NULL},
    LISTF("metrics_to_track", F_NAMES, monitoring.metrics_to_track,
          monitoring.n_metrics_to_track),
    LISTF("response_time_percentiles", F_PCTS,
          monitoring.response_time_percentiles, monitoring.n_percentiles),
    {"container_monitoring", F_MAP, 0, 0, 0, &container_sec},
};
static const struct section monitoring_sec = {
    monitoring_fields, NELEM(monitoring_fields), NULL, 0, NULL};

static const struct field thresholds_fields[] = {
    {"response_time_p50_max", F_NUM, CO(thresholds.response_time_p50_max), 0, 0,
     NULL},
    {"response_time_p95_max", F_NUM, CO(thresholds.response_time_p95_max), 0, 0,
     NULL},
    {"response_time_p99_max", F_NUM, CO(thresholds.response_time_p99_max), 0, 0,
     NULL},
    {"response_time_p99_9_max", F_NUM, CO(thresholds.response_time_p99_9_max),
     0, 0, NULL},
    {"min_throughput_rps", F_NUM, CO(thresholds.min_throughput_rps), 0, 0,
     NULL},
    {"max_error_rate", F_PROB, CO(thresholds.max_error_rate), 0, 0, NULL},
    {"max_memory_usage_mb", F_NUM, CO(thresholds.max_memory_usage_mb), 0, 0,
     NULL},
    {"max_cpu_usage_percent", F_NUM, CO(thresholds.max_cpu_usage_percent), 0, 0,
     NULL},
    {"max_connection_pool_usage", F_PROB,
     CO(thresholds.max_connection_pool_usage), 0, 0, NULL},
    /* The fields above are THR_* bits 0..8 in this order. */
    {"per_operation", F_PER_OP, 0, 0, 0, NULL},
    {"abort_on_fail", F_BOOL, CO(thresholds.abort_on_fail), 0, 0, NULL},
    {"abort_delay_seconds", F_U32, CO(thresholds.abort_delay_seconds), 0, 0,
     NULL},
};
static const struct section thresholds_sec = {
    thresholds_fields, NELEM(thresholds_fields), NULL, 0, NULL};

#define OTO(m) offsetof(struct op_thresholds, m)
/* per_operation.<op>: THR_* bits 0..5 in this order. */
static const struct field op_thresholds_fields[] = {
    {"response_time_p50_max", F_NUM, OTO(response_time_p50_max), 0, 0, NULL},
    {"response_time_p95_max", F_NUM, OTO(response_time_p95_max), 0, 0, NULL},
    {"response_time_p99_max", F_NUM, OTO(response_time_p99_max), 0, 0, NULL},
    {"response_time_p99_9_max", F_NUM, OTO(response_time_p99_9_max), 0, 0,
     NULL},
    {"min_throughput_rps", F_NUM, OTO(min_throughput_rps), 0, 0, NULL},
    {"max_error_rate", F_PROB, OTO(max_error_rate), 0, 0, NULL},
};
static const struct section op_thresholds_sec = {
    op_thresholds_fields, NELEM(op_thresholds_fields), NULL, 0, NULL};
#define THR_GLOBAL_KEYS 9 /* thresholds_fields[0..8] are THR_* keys */

static const struct field baseline_fields[] = {
    {"enabled", F_BOOL, CO(reporting.baseline_enabled), 0, 0, NULL},
    STRF("baseline_file", F_STR, reporting.baseline_file),
    {"deviation_threshold", F_NUM, CO(reporting.baseline_deviation_threshold),
     0, 0, NULL},
    {"fail_on_regression", F_BOOL, CO(reporting.baseline_fail_on_regression), 0,
     0, NULL},
};
static const struct section baseline_sec = {
    baseline_fields, NELEM(baseline_fields), NULL, 0, NULL};

static const struct field reporting_fields[] = {
    LISTF("formats", F_FORMATS, reporting.formats, reporting.n_formats),
    STRF("output_directory", F_STR_REQ, reporting.output_directory),
    LISTF("include_in_report", F_NAMES, reporting.include_in_report,
          reporting.n_include_in_report),
    {"baseline_comparison", F_MAP, 0, 0, 0, &baseline_sec},
};
static const struct section reporting_sec = {
    reporting_fields, NELEM(reporting_fields), NULL, 0, NULL};

static const struct field env_fields[] = {
    STRF("kato_base_url", F_URL, env.kato_base_url),
    STRF("kato_processor_id", F_STR_REQ, env.kato_processor_id),
    STRF("docker_container_name", F_STR, env.docker_container_name),
    STRF("docker_network", F_STR, env.docker_network),
    {"parallel_execution", F_BOOL, CO(env.parallel_execution), 0, 0, NULL},
    {"cleanup_between_tests", F_BOOL, CO(env.cleanup_between_tests), 0, 0,
     NULL},
    {"warmup_duration_seconds", F_U32, CO(env.warmup_duration_seconds), 0, 0,
     NULL},
    {"cooldown_duration_seconds", F_U32, CO(env.cooldown_duration_seconds), 0,
     0, NULL},
};
static const struct section env_sec = {env_fields, NELEM(env_fields), NULL, 0,
                                       NULL};

static const struct field concurrent_fields[] = {
    {"concurrent_users", F_U32_POS, CO(concurrent.concurrent_users), 0, 0,
     NULL},
    {"duration_seconds", F_U32_POS, CO(concurrent.duration_seconds), 0, 0,
     NULL},
    {"requests_per_user_per_second", F_NUM,
     CO(concurrent.requests_per_user_per_second), 0, 0, NULL},
    {"think_time_ms", F_U32, CO(concurrent.think_time_ms), 0, 0, NULL},
};
static const struct section concurrent_sec = {
    concurrent_fields, NELEM(concurrent_fields), NULL, 0, NULL};

#define STO(m) offsetof(struct config_stage, m)

static const struct field stage_fields[] = {
    {"duration_seconds", F_U32_POS, STO(duration_seconds), 0, 0, NULL},
    {"target", F_U32, STO(target), 0, 0, NULL},
};
static const struct section stage_sec = {stage_fields, NELEM(stage_fields),
                                         NULL, 0, NULL};

static section_check_fn check_sustained;
static section_check_fn check_burst;
static section_check_fn check_memory;

static const struct field sustained_fields[] = {
    {"pattern", F_ENUM, CO(sustained.pattern), 0, EK_PATTERN, NULL},
    {"model", F_ENUM, CO(sustained.model), 0, EK_MODEL, NULL},
    {"arrival_rate", F_NUM, CO(sustained.arrival_rate), 0, 0, NULL},
    {"initial_users", F_U32, CO(sustained.initial_users), 0, 0, NULL},
    {"spike_interval_seconds", F_U32_POS, CO(sustained.spike_interval_seconds),
     0, 0, NULL},
    {"spike_duration_seconds", F_U32_POS, CO(sustained.spike_duration_seconds),
     0, 0, NULL},
    {"wave_period_seconds", F_U32_POS, CO(sustained.wave_period_seconds), 0, 0,
     NULL},
    {"step_seconds", F_U32_POS, CO(sustained.step_seconds), 0, 0, NULL},
    {"step_size", F_U32_POS, CO(sustained.step_size), 0, 0, NULL},
    {"stages", F_STAGES, CO(sustained.stages), CO(sustained.n_stages), 0, NULL},
    {"max_degradation", F_RATIO, CO(sustained.max_degradation), 0, 0, NULL},
    LISTF("profiles_for_all", F_NAMES, sustained.profiles_for_all,
          sustained.n_profiles_for_all),
};
static const struct pair sustained_pairs[] = {
    {"spike_duration_seconds", "spike_interval_seconds"},
};
static const struct section sustained_sec = {
    sustained_fields, NELEM(sustained_fields), sustained_pairs,
    NELEM(sustained_pairs), check_sustained};

static const struct field burst_fields[] = {
    {"burst_size", F_U32_POS, CO(burst.burst_size), 0, 0, NULL},
    {"burst_duration_ms", F_U32_POS, CO(burst.burst_duration_ms), 0, 0, NULL},
    {"burst_count", F_U32_POS, CO(burst.burst_count), 0, 0, NULL},
    {"interval_seconds", F_U32_POS, CO(burst.interval_seconds), 0, 0, NULL},
    {"baseline_users", F_U32_POS, CO(burst.baseline_users), 0, 0, NULL},
    {"recovery_margin", F_FRAC, CO(burst.recovery_margin), 0, 0, NULL},
};
static const struct section burst_sec = {burst_fields, NELEM(burst_fields),
                                         NULL, 0, check_burst};

static const struct field pool_fields[] = {
    {"probe_users", F_U32_POS, CO(pool.probe_users), 0, 0, NULL},
    {"probe_seconds", F_U32_POS, CO(pool.probe_seconds), 0, 0, NULL},
    {"large_strings", F_U32_POS, CO(pool.large_strings), 0, 0, NULL},
};
static const struct section pool_sec = {pool_fields, NELEM(pool_fields), NULL,
                                        0, NULL};

static const struct field memory_fields[] = {
    {"duration_minutes", F_U32_POS, CO(memory.duration_minutes), 0, 0, NULL},
    {"concurrent_users", F_U32_POS, CO(memory.concurrent_users), 0, 0, NULL},
    {"requests_per_user_per_second", F_NUM,
     CO(memory.requests_per_user_per_second), 0, 0, NULL},
    {"think_time_ms", F_U32, CO(memory.think_time_ms), 0, 0, NULL},
    {"sample_interval_seconds", F_U32_POS, CO(memory.sample_interval_seconds),
     0, 0, NULL},
    {"warmup_seconds", F_U32, CO(memory.warmup_seconds), 0, 0, NULL},
    {"memory_source", F_ENUM, CO(memory.memory_source), 0, EK_MEMORY_SOURCE,
     NULL},
    {"pid", F_U32, CO(memory.pid), 0, 0, NULL},
    STRF("cgroup_path", F_STR, memory.cgroup_path),
    {"duration_seconds", F_U32, CO(memory.duration_seconds), 0, 0, NULL},
    {"leak_threshold_mb_per_min", F_NUM_POS,
     CO(memory.leak_threshold_mb_per_min), 0, 0, NULL},
};
static const struct section memory_sec = {memory_fields, NELEM(memory_fields),
                                          NULL, 0, check_memory};

static const struct field recovery_fields[] = {
    {"concurrent_users", F_U32_POS, CO(recovery.concurrent_users), 0, 0, NULL},
    {"requests_per_user_per_second", F_NUM,
     CO(recovery.requests_per_user_per_second), 0, 0, NULL},
    {"think_time_ms", F_U32, CO(recovery.think_time_ms), 0, 0, NULL},
    {"baseline_seconds", F_U32_POS, CO(recovery.baseline_seconds), 0, 0, NULL},
    {"invalid_requests", F_U32_POS, CO(recovery.invalid_requests), 0, 0, NULL},
    {"invalid_concurrency", F_U32_POS, CO(recovery.invalid_concurrency), 0, 0,
     NULL},
    {"max_recovery_seconds", F_U32_POS, CO(recovery.max_recovery_seconds), 0, 0,
     NULL},
    {"window_seconds", F_U32_POS, CO(recovery.window_seconds), 0, 0, NULL},
    {"margin", F_FRAC, CO(recovery.margin), 0, 0, NULL},
};
/* The rolling window must fit in the baseline it is measured on and in
 * the time allowed to recover. */
static const struct pair recovery_pairs[] = {
    {"window_seconds", "baseline_seconds"},
    {"window_seconds", "max_recovery_seconds"},
};
static const struct section recovery_sec = {
    recovery_fields, NELEM(recovery_fields), recovery_pairs,
    NELEM(recovery_pairs), NULL};

static const struct field scenarios_fields[] = {
    {"concurrent", F_MAP, 0, 0, 0, &concurrent_sec},
    {"sustained", F_MAP, 0, 0, 0, &sustained_sec},
    {"burst", F_MAP, 0, 0, 0, &burst_sec},
    {"pool", F_MAP, 0, 0, 0, &pool_sec},
    {"memory", F_MAP, 0, 0, 0, &memory_sec},
    {"recovery", F_MAP, 0, 0, 0, &recovery_sec},
};
static const struct section scenarios_sec = {
    scenarios_fields, NELEM(scenarios_fields), NULL, 0, NULL};

static const struct field distributed_fields[] = {
    {"on_agent_loss", F_ENUM, CO(distributed.on_agent_loss), 0, EK_AGENT_LOSS,
     NULL},
};
static const struct section distributed_sec = {
    distributed_fields, NELEM(distributed_fields), NULL, 0, NULL};

static const struct field root_fields[] = {
    {"load_profiles", F_PROFILES, 0, 0, 0, NULL},
    {"test_parameters", F_MAP, 0, 0, 0, &params_sec},
    {"operations_mix", F_MIX, 0, 0, 0, NULL},
    {"test_data", F_MAP, 0, 0, 0, &data_sec},
    {"monitoring", F_MAP, 0, 0, 0, &monitoring_sec},
    {"performance_thresholds", F_THRESH, 0, 0, 0, &thresholds_sec},
    {"reporting", F_MAP, 0, 0, 0, &reporting_sec},
    {"environment", F_MAP, 0, 0, 0, &env_sec},
    {"test_scenarios", F_MAP, 0, 0, 0, &scenarios_sec},
    {"distributed", F_MAP, 0, 0, 0, &distributed_sec},
};
static const struct section root_sec = {root_fields, NELEM(root_fields), NULL,
                                        0, NULL};

static const char *const report_formats[] = {"json", "html", "csv", "junit"};

/* --- walking the tree ---------------------------------------------------- */

/* The field at byte offset off of the struct at base. The schema tables
 * take their offsets from offsetof(), so the type and alignment are right. */
static void *
member(void *base, size_t off)
{
    return (char *)base + off;
}

static void
join_path(char *out, size_t outlen, const char *parent, const char *key)
{
    if (parent[0] == '\0') {
        (void)snprintf(out, outlen, "%s", key);
    } else {
        (void)snprintf(out, outlen, "%s.%s", parent, key);
    }
}

/* "a, b, c" from a section's keys, for unknown-key messages. */
static void
key_list(const struct section *sec, char *out, size_t outlen)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sec->n && off < outlen; i++) {
        int w = snprintf(out + off, outlen - off, "%s%s", i ? ", " : "",
                         sec->fields[i].key);
        if (w < 0) {
            break;
        }
        off += (size_t)w;
    }
}

static int
expect_kind(struct loader *ld, const struct node *nd, enum node_kind kind,
            const char *path)
{
    char got[64];

    if (nd->kind == kind) {
        return 0;
    }
    describe(nd, got, sizeof(got));
    return fail(ld, nd, "expected a %s for %s, got %s",
                kind == NODE_MAP ? "mapping" : "sequence", path, got);
}

static int
unknown_key(struct loader *ld, const struct node *key, const char *where,
            const struct section *sec)
{
    char valid[640];

    key_list(sec, valid, sizeof(valid));
    if (where[0] == '\0') {
        return fail(ld, key, "unknown section '%.64s' (valid: %s)", key->s,
                    valid);
    }
    return fail(ld, key, "unknown key '%.64s' in %s (valid: %s)", key->s, where,
                valid);
}

static int
duplicate_key(struct loader *ld, const struct node *key,
              const struct node *first, const char *where)
{
    return fail(ld, key, "duplicate key '%.64s' in %s (first at %zu:%zu)",
                key->s, where[0] ? where : "the document", first->line,
                first->col);
}

static int
walk_names(struct loader *ld, const struct node *val, const char *path,
           const struct field *f, void *base)
{
    char(*names)[CONFIG_NAME_MAX] = member(base, f->off);
    size_t *count = member(base, f->off2);
    char tmp[CONFIG_MAX_LIST][CONFIG_NAME_MAX];
    char ipath[PATH_MAX_ + 24];
    int rv = 0;

    if (is_null(val)) {
        *count = 0;
        return 0;
    }
    rv = expect_kind(ld, val, NODE_SEQ, path);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < val->n; i++) {
        const struct node *it = val->kids[i];
        (void)snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (i == CONFIG_MAX_LIST) {
            return fail(ld, it, "too many items in %s (at most %d)", path,
                        CONFIG_MAX_LIST);
        }
        rv = get_str(ld, it, ipath, tmp[i], CONFIG_NAME_MAX, false);
        if (rv != 0) {
            return rv;
        }
        if (tmp[i][0] == '\0') {
            return fail(ld, it, "%s must not be empty", ipath);
        }
        if (f->type == F_FORMATS) {
            bool ok = false;
            for (size_t j = 0; j < NELEM(report_formats); j++) {
                ok = ok || strcmp(tmp[i], report_formats[j]) == 0;
            }
            if (!ok) {
                return fail(ld, it,
                            "unknown report format '%s' in %s (valid: json, "
                            "html, csv, junit)",
                            tmp[i], path);
            }
        }
    }
    memcpy(names, tmp, val->n * sizeof(tmp[0]));
    *count = val->n;
    return 0;
}

static int
walk_pcts(struct loader *ld, const struct node *val, const char *path,
          const struct field *f, void *base)
{
    double *pcts = member(base, f->off);
    size_t *count = member(base, f->off2);
    double tmp[CONFIG_MAX_LIST];
    char ipath[PATH_MAX_ + 24];
    int rv = 0;

    if (is_null(val)) {
        *count = 0;
        return 0;
    }
    rv = expect_kind(ld, val, NODE_SEQ, path);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < val->n; i++) {
        const struct node *it = val->kids[i];
        (void)snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (i == CONFIG_MAX_LIST) {
            return fail(ld, it, "too many items in %s (at most %d)", path,
                        CONFIG_MAX_LIST);
        }
        rv = get_double(ld, it, ipath, &tmp[i]);
        if (rv != 0) {
            return rv;
        }
        if (!(tmp[i] > 0 && tmp[i] <= 100)) {
            return fail(ld, it, "%s must be in (0, 100], got %s", ipath, it->s);
        }
    }
    memcpy(pcts, tmp, val->n * sizeof(tmp[0]));
    *count = val->n;
    return 0;
}

static int
walk_range(struct loader *ld, const struct node *val, const char *path,
           const struct field *f, void *base)
{
    double lo = 0;
    double hi = 0;
    double *plo = NULL;
    double *phi = NULL;
    char got[64];
    int rv = 0;

    if (val->kind != NODE_SEQ || val->n != 2) {
        if (val->kind == NODE_SEQ) {
            (void)snprintf(got, sizeof(got), "%zu items", val->n);
        } else {
            describe(val, got, sizeof(got));
        }
        return fail(ld, val, "expected a [min, max] pair for %s, got %s", path,
                    got);
    }
    rv = get_double(ld, val->kids[0], path, &lo);
    if (rv == 0) {
        rv = get_double(ld, val->kids[1], path, &hi);
    }
    if (rv != 0) {
        return rv;
    }
    if (lo > hi) {
        return fail(ld, val, "%s: min %s is greater than max %s", path,
                    val->kids[0]->s, val->kids[1]->s);
    }
    plo = member(base, f->off);
    phi = member(base, f->off2);
    *plo = lo;
    *phi = hi;
    return 0;
}

static int walk_section(struct loader *ld, const struct node *map,
                        const char *path, const struct section *sec, void *base,
                        const struct node **seen);

/* The numbers with a lower bound other than 0: F_NUM_POS (> 0), F_FRAC
 * ([0, 1]: margins, which are fractions but not probabilities) and
 * F_RATIO (>= 1). */
static int
get_bounded(struct loader *ld, const struct node *nd, const char *path,
            enum ftype type, double *out)
{
    double v = 0;
    int rv = get_double(ld, nd, path, &v);

    if (rv != 0) {
        return rv;
    }
    if (type == F_NUM_POS && !(v > 0)) {
        return fail(ld, nd, "%s must be positive, got %s", path, nd->s);
    }
    if (type == F_FRAC && !(v >= 0 && v <= 1)) {
        return fail(ld, nd, "%s must be a fraction in [0, 1], got %s", path,
                    nd->s);
    }
    if (type == F_RATIO && !(v >= 1)) {
        return fail(ld, nd, "%s must be a ratio of at least 1, got %s", path,
                    nd->s);
    }
    *out = v;
    return 0;
}

/* "a, b, c" from a name table, for messages. */
static void
name_list(const char *const *names, size_t n, char *out, size_t outlen)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && off < outlen; i++) {
        int w =
            snprintf(out + off, outlen - off, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) {
            break;
        }
        off += (size_t)w;
    }
}

static int
lookup_name(const char *const *names, size_t n, const char *name)
{
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* An enum-valued key: one of enum_defs[f->size]'s names, stored as that
 * enum (each enum has its own type, so each is written as itself). */
static int
walk_enum(struct loader *ld, const struct node *val, const char *path,
          const struct field *f, void *base)
{
    const struct enum_def *def = &enum_defs[f->size];
    void *p = member(base, f->off);
    char valid[160];
    char got[64];
    int v = -1;

    if (val->kind == NODE_SCALAR && strlen(val->s) == val->len) {
        v = lookup_name(def->names, def->n, val->s);
    }
    if (v < 0) {
        describe(val, got, sizeof(got));
        name_list(def->names, def->n, valid, sizeof(valid));
        return fail(ld, val, "unknown value %s for %s (valid: %s)", got, path,
                    valid);
    }
    switch ((enum enum_kind)f->size) {
    case EK_PATTERN:
        *(enum config_pattern *)p = (enum config_pattern)v;
        break;
    case EK_MODEL:
        *(enum config_model *)p = (enum config_model)v;
        break;
    case EK_MEMORY_SOURCE:
        *(enum config_memory_source *)p = (enum config_memory_source)v;
        break;
    case EK_AGENT_LOSS:
        *(enum config_agent_loss *)p = (enum config_agent_loss)v;
        break;
    }
    return 0;
}

/* sustained.stages: a list of {duration_seconds, target}, both required,
 * at most CONFIG_MAX_STAGES. The list in the file replaces the default
 * (empty) one whole. */
static int
walk_stages(struct loader *ld, const struct node *val, const char *path,
            const struct field *f, void *base)
{
    struct config_stage tmp[CONFIG_MAX_STAGES];
    struct config_stage *stages = member(base, f->off);
    size_t *count = member(base, f->off2);
    char ipath[PATH_MAX_ + 24];
    int rv = 0;

    if (is_null(val)) {
        *count = 0;
        return 0;
    }
    rv = expect_kind(ld, val, NODE_SEQ, path);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < val->n; i++) {
        const struct node *it = val->kids[i];
        const struct node *seen[NELEM(stage_fields)] = {NULL};

        (void)snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (i == CONFIG_MAX_STAGES) {
            return fail(ld, it, "too many stages in %s (at most %d)", path,
                        CONFIG_MAX_STAGES);
        }
        rv = expect_kind(ld, it, NODE_MAP, ipath);
        if (rv != 0) {
            return rv;
        }
        memset(&tmp[i], 0, sizeof(tmp[i]));
        rv = walk_section(ld, it, ipath, &stage_sec, &tmp[i], seen);
        if (rv != 0) {
            return rv;
        }
        for (size_t k = 0; k < NELEM(stage_fields); k++) {
            if (seen[k] == NULL) {
                return fail(ld, it,
                            "%s lacks '%s' (a stage is {duration_seconds, "
                            "target})",
                            ipath, stage_fields[k].key);
            }
        }
    }
    memcpy(stages, tmp, val->n * sizeof(tmp[0]));
    *count = val->n;
    return 0;
}
static int walk_profiles(struct loader *ld, const struct node *val,
                         struct config *c);
static int walk_mix(struct loader *ld, const struct node *key,
                    const struct node *val, struct config *c);
static int walk_thresholds(struct loader *ld, const struct node *val,
                           const char *path, struct config *c);
static int walk_per_op(struct loader *ld, const struct node *val,
                       const char *path, struct config *c);

static int
walk_value(struct loader *ld, const struct node *key, const struct node *val,
           const char *path, const struct field *f, void *base)
{
    void *p = member(base, f->off);
    char *str = p;
    double d = 0;
    int rv = 0;

    switch (f->type) {
    case F_U32:
    case F_U32_POS:
        return get_u32(ld, val, path, f->type == F_U32_POS, (uint32_t *)p);
    case F_NUM:
        return get_nonneg(ld, val, path, (double *)p);
    case F_PROB:
        rv = get_double(ld, val, path, &d);
        if (rv == 0 && !(d >= 0 && d <= 1)) {
            rv = fail(ld, val, "%s must be a probability in [0, 1], got %s",
                      path, val->s);
        }
        if (rv == 0) {
            *(double *)p = d;
        }
        return rv;
    case F_BOOL:
        return get_bool(ld, val, path, (bool *)p);
    case F_STR:
        return get_str(ld, val, path, str, f->size, true);
    case F_STR_REQ:
    case F_URL:
        rv = get_str(ld, val, path, str, f->size, false);
        if (rv == 0 && str[0] == '\0') {
            rv = fail(ld, val, "%s must not be empty", path);
        }
        if (rv == 0 && f->type == F_URL && strncmp(str, "http://", 7) != 0 &&
            strncmp(str, "https://", 8) != 0) {
            rv = fail(ld, val,
                      "%s must start with http:// or https://, got '%.40s'",
                      path, str);
        }
        return rv;
    case F_NAMES:
    case F_FORMATS:
        return walk_names(ld, val, path, f, base);
    case F_PCTS:
        return walk_pcts(ld, val, path, f, base);
    case F_RANGE:
        return walk_range(ld, val, path, f, base);
    case F_MAP:
        return walk_section(ld, val, path, f->sub, base, NULL);
    case F_PROFILES:
        return walk_profiles(ld, val, (struct config *)base);
    case F_MIX:
        return walk_mix(ld, key, val, (struct config *)base);
    case F_NUM_POS:
    case F_FRAC:
    case F_RATIO:
        return get_bounded(ld, val, path, f->type, (double *)p);
    case F_ENUM:
        return walk_enum(ld, val, path, f, base);
    case F_STAGES:
        return walk_stages(ld, val, path, f, base);
    case F_THRESH:
        return walk_thresholds(ld, val, path, (struct config *)base);
    case F_PER_OP:
        return walk_per_op(ld, val, path, (struct config *)base);
    }
    return E_INVAL;
}

/* The index of key in sec (the tables are static: key is always there). */
static size_t
field_index(const struct section *sec, const char *key)
{
    size_t i = 0;

    while (i + 1 < sec->n && strcmp(sec->fields[i].key, key) != 0) {
        i++;
    }
    return i;
}

static uint32_t
u32_at(void *base, const struct field *f)
{
    const uint32_t *p = member(base, f->off);

    return *p;
}

/*
 * Walks one mapping against sec, writing into base. seen (sec->n entries,
 * may be NULL) receives the key node of every field the file set. A null
 * value stands for an empty mapping.
 */
static int
walk_section(struct loader *ld, const struct node *map, const char *path,
             const struct section *sec, void *base, const struct node **seen)
{
    const struct node *local[24] = {NULL};
    char kpath[PATH_MAX_];
    int rv = 0;

    if (seen == NULL) {
        if (sec->n > NELEM(local)) {
            return E_INVAL; /* a schema table outgrew local[]: a bug */
        }
        seen = local;
    }
    if (is_null(map)) {
        return 0;
    }
    rv = expect_kind(ld, map, NODE_MAP, path[0] ? path : "the document");
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const struct node *key = map->kids[i];
        const struct node *val = map->kids[i + 1];
        size_t fi = 0;

        while (fi < sec->n && strcmp(sec->fields[fi].key, key->s) != 0) {
            fi++;
        }
        if (fi == sec->n || strlen(key->s) != key->len) {
            return unknown_key(ld, key, path, sec);
        }
        if (seen[fi] != NULL) {
            return duplicate_key(ld, key, seen[fi], path);
        }
        seen[fi] = key;
        join_path(kpath, sizeof(kpath), path, key->s);
        rv = walk_value(ld, key, val, kpath, &sec->fields[fi], base);
        if (rv != 0) {
            return rv;
        }
    }
    for (size_t i = 0; i < sec->npairs; i++) {
        size_t lo = field_index(sec, sec->pairs[i].lo);
        size_t hi = field_index(sec, sec->pairs[i].hi);
        const struct node *at = seen[hi] != NULL ? seen[hi] : seen[lo];
        uint32_t vlo = u32_at(base, &sec->fields[lo]);
        uint32_t vhi = u32_at(base, &sec->fields[hi]);
        /* Defaults are consistent, so only a key the file set can break a
         * pair; point at the max key when the file set both. */
        if (vlo > vhi && at != NULL) {
            return fail(ld, at, "%s.%s (%u) is greater than %s.%s (%u)", path,
                        sec->pairs[i].lo, (unsigned)vlo, path, sec->pairs[i].hi,
                        (unsigned)vhi);
        }
    }
    if (sec->check != NULL) {
        return sec->check(ld, map, path, base, seen);
    }
    return 0;
}

/* The value of key in a mapping the walk accepted (keys are unique), or
 * NULL when the file does not set it. */
static const struct node *
value_of(const struct node *map, const char *key)
{
    if (map == NULL || map->kind != NODE_MAP) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        if (strcmp(map->kids[i]->s, key) == 0) {
            return map->kids[i + 1];
        }
    }
    return NULL;
}

/* A custom pattern needs its stages: point at the (empty) stages when the
 * file has them, else at the pattern that asked for them. */
static int
check_sustained(struct loader *ld, const struct node *map, const char *path,
                const void *base, const struct node *const *seen)
{
    const struct config *c = base;
    const struct node *at = value_of(map, "stages");

    (void)seen;
    if (c->sustained.pattern != CONFIG_PATTERN_CUSTOM ||
        c->sustained.n_stages > 0) {
        return 0;
    }
    if (at == NULL) {
        at = value_of(map, "pattern");
    }
    if (at == NULL) {
        return E_INVAL; /* custom is never the default: a bug */
    }
    return fail(ld, at,
                "%s.pattern is custom but %s.stages is empty (give a list "
                "of {duration_seconds, target}, at most %d)",
                path, path, CONFIG_MAX_STAGES);
}

/* A burst must be released before the next one is due. */
static int
check_burst(struct loader *ld, const struct node *map, const char *path,
            const void *base, const struct node *const *seen)
{
    const struct config *c = base;
    const struct node *at = seen[field_index(&burst_sec, "burst_duration_ms")];
    uint64_t interval_ms = (uint64_t)c->burst.interval_seconds * 1000;

    (void)map;
    if (c->burst.burst_duration_ms <= interval_ms) {
        return 0;
    }
    if (at == NULL) {
        at = seen[field_index(&burst_sec, "interval_seconds")];
    }
    if (at == NULL) {
        return E_INVAL; /* the defaults are consistent: a bug */
    }
    return fail(ld, at,
                "%s.burst_duration_ms (%u) is longer than %s.interval_seconds "
                "(%u s = %llu ms): a burst must end before the next starts",
                path, (unsigned)c->burst.burst_duration_ms, path,
                (unsigned)c->burst.interval_seconds,
                (unsigned long long)interval_ms);
}

/*
 * The memory source's own key must be set (pid > 0 for pid, a path for
 * cgroup; the message points at memory_source), and the run must leave at
 * least two samples after the warmup for the slope.
 */
static int
check_memory(struct loader *ld, const struct node *map, const char *path,
             const void *base, const struct node *const *seen)
{
    static const char *const timing[] = {
        "warmup_seconds", "sample_interval_seconds", "duration_minutes",
        "duration_seconds"};
    const struct memory_cfg *m = &((const struct config *)base)->memory;
    const struct node *src = value_of(map, "memory_source");
    uint64_t run_s = m->duration_seconds > 0
                         ? (uint64_t)m->duration_seconds
                         : (uint64_t)m->duration_minutes * 60;
    uint64_t need_s =
        (uint64_t)m->warmup_seconds + 2 * (uint64_t)m->sample_interval_seconds;

    if (src != NULL && m->memory_source == CONFIG_MEMORY_SOURCE_PID &&
        m->pid == 0) {
        return fail(ld, src,
                    "%s.memory_source pid needs %s.pid, the target's process "
                    "id (> 0)",
                    path, path);
    }
    if (src != NULL && m->memory_source == CONFIG_MEMORY_SOURCE_CGROUP &&
        m->cgroup_path[0] == '\0') {
        return fail(ld, src,
                    "%s.memory_source cgroup needs %s.cgroup_path, the "
                    "target's cgroup v2 folder",
                    path, path);
    }
    if (need_s <= run_s) {
        return 0;
    }
    for (size_t i = 0; i < NELEM(timing); i++) {
        const struct node *at = seen[field_index(&memory_sec, timing[i])];
        if (at != NULL) {
            return fail(ld, at,
                        "%s: warmup_seconds (%u) + 2 x "
                        "sample_interval_seconds (%u) is more than the "
                        "duration (%u min = %llu s): the slope needs at least "
                        "two samples after the warmup",
                        path, (unsigned)m->warmup_seconds,
                        (unsigned)m->sample_interval_seconds,
                        (unsigned)m->duration_minutes,
                        (unsigned long long)run_s);
        }
    }
    return E_INVAL; /* the defaults are consistent: a bug */
}

static bool
valid_ident(const char *s, size_t len)
{
    if (len == 0 || len >= CONFIG_NAME_MAX || strlen(s) != len) {
        return false;
    }
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          s[0] == '_')) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_") == len;
}

/*
 * load_profiles: a profile named like a default one overrides that
 * profile's keys one by one; a new name adds a profile, which must then
 * give all five keys (there is no sensible default for them).
 */
static int
walk_profiles(struct loader *ld, const struct node *val, struct config *c)
{
    char ppath[PATH_MAX_];
    int rv = 0;

    if (is_null(val)) {
        return 0;
    }
    rv = expect_kind(ld, val, NODE_MAP, "load_profiles");
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i + 1 < val->n; i += 2) {
        const struct node *key = val->kids[i];
        const struct node *pv = val->kids[i + 1];
        const struct node *seen[NELEM(profile_fields)] = {NULL};
        struct load_profile *lp = NULL;
        bool added = false;

        if (!valid_ident(key->s, key->len)) {
            return fail(ld, key,
                        "invalid profile name '%.64s' in load_profiles (use "
                        "letters, digits and '_', not starting with a digit, "
                        "at most %d characters)",
                        key->s, CONFIG_NAME_MAX - 1);
        }
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(val->kids[j]->s, key->s) == 0) {
                return duplicate_key(ld, key, val->kids[j], "load_profiles");
            }
        }
        for (size_t j = 0; j < c->n_profiles; j++) {
            if (strcmp(c->profiles[j].name, key->s) == 0) {
                lp = &c->profiles[j];
            }
        }
        if (lp == NULL) {
            if (c->n_profiles == CONFIG_MAX_PROFILES) {
                return fail(ld, key,
                            "too many load profiles: '%s' would be number %d "
                            "(at most %d, the built-in ones included)",
                            key->s, CONFIG_MAX_PROFILES + 1,
                            CONFIG_MAX_PROFILES);
            }
            lp = &c->profiles[c->n_profiles++];
            memset(lp, 0, sizeof(*lp));
            memcpy(lp->name, key->s, key->len + 1);
            added = true;
        }
        join_path(ppath, sizeof(ppath), "load_profiles", key->s);
        rv = walk_section(ld, pv, ppath, &profile_sec, lp, seen);
        if (rv != 0) {
            return rv;
        }
        for (size_t f = 0; added && f < NELEM(profile_fields); f++) {
            if (seen[f] == NULL) {
                return fail(ld, key,
                            "new profile %s lacks '%s' (a profile that is not "
                            "built in must set all of concurrent_users, "
                            "duration_seconds, ramp_up_seconds, "
                            "requests_per_user_per_second, think_time_ms)",
                            ppath, profile_fields[f].key);
            }
        }
    }
    return 0;
}

/*
 * operations_mix: keys are ops_name()s (but not create_session, which each
 * user does once); working_memory is the first version's name for
 * short_term_memory. A mix in the file replaces the default one whole: an
 * operation it leaves out gets probability 0 (a user who writes a mix of two
 * operations means those two), and the result must sum to 1.
 */
static int
walk_mix(struct loader *ld, const struct node *key, const struct node *val,
         struct config *c)
{
    const struct node *seen[OP_COUNT] = {NULL};
    char kpath[PATH_MAX_];
    double sum = 0;
    int rv = 0;

    if (is_null(val)) {
        return 0;
    }
    rv = expect_kind(ld, val, NODE_MAP, "operations_mix");
    if (rv != 0) {
        return rv;
    }
    for (int op = 0; op < OP_COUNT; op++) {
        c->mix[op] = 0;
    }
    for (size_t i = 0; i + 1 < val->n; i += 2) {
        const struct node *k = val->kids[i];
        const struct node *v = val->kids[i + 1];
        bool alias = strcmp(k->s, "working_memory") == 0;
        int op = alias ? OP_STM : ops_from_name(k->s);
        double d = 0;

        /* invalid is the recovery test's op, never a user's choice. */
        if (op <= OP_SESSION || op >= OP_COUNT || op == OP_INVALID ||
            strlen(k->s) != k->len) {
            return fail(ld, k,
                        "unknown key '%.64s' in operations_mix (valid: "
                        "observe, learn, predictions, short_term_memory, "
                        "clear_memory; working_memory is an alias of "
                        "short_term_memory)",
                        k->s);
        }
        if (seen[op] != NULL) {
            return fail(ld, k,
                        "duplicate key '%s' in operations_mix (first at "
                        "%zu:%zu as '%s'; working_memory is an alias of "
                        "short_term_memory)",
                        k->s, seen[op]->line, seen[op]->col, seen[op]->s);
        }
        seen[op] = k;
        join_path(kpath, sizeof(kpath), "operations_mix", k->s);
        rv = get_double(ld, v, kpath, &d);
        if (rv != 0) {
            return rv;
        }
        if (!(d >= 0 && d <= 1)) {
            return fail(ld, v, "%s must be a probability in [0, 1], got %s",
                        kpath, v->s);
        }
        c->mix[op] = d;
    }
    c->mix[OP_SESSION] = 0;
    for (int op = 1; op < OP_COUNT; op++) {
        sum += c->mix[op];
    }
    if (fabs(sum - 1.0) > 1e-6) {
        return fail(ld, key,
                    "operations_mix sums to %.9g, not 1 (observe %g, learn "
                    "%g, predictions %g, short_term_memory %g, clear_memory "
                    "%g; an operation not listed counts as 0)",
                    sum, c->mix[OP_OBSERVE], c->mix[OP_LEARN],
                    c->mix[OP_PREDICTIONS], c->mix[OP_STM], c->mix[OP_CLEAR]);
    }
    return 0;
}

/* The THR_* bits of the first nkeys fields of a walked section whose key
 * node the file set. */
static uint32_t
set_bits(const struct node *const *seen, size_t nkeys)
{
    uint32_t set = 0;

    for (size_t i = 0; i < nkeys; i++) {
        set |= seen[i] != NULL ? 1u << i : 0u;
    }
    return set;
}

/* performance_thresholds: the section, plus which keys the file set (a key
 * left out is not checked, but for p99 and the error rate). */
static int
walk_thresholds(struct loader *ld, const struct node *val, const char *path,
                struct config *c)
{
    const struct node *seen[NELEM(thresholds_fields)] = {NULL};
    int rv = walk_section(ld, val, path, &thresholds_sec, c, seen);

    if (rv == 0) {
        c->thresholds.set |= set_bits(seen, THR_GLOBAL_KEYS);
    }
    return rv;
}

/* performance_thresholds.per_operation: a mapping from an operation's name
 * (ops_name) to the keys of op_thresholds_sec. */
static int
walk_per_op(struct loader *ld, const struct node *val, const char *path,
            struct config *c)
{
    const struct node *seen_op[OP_COUNT] = {NULL};
    char kpath[PATH_MAX_];
    int rv = 0;

    if (is_null(val)) {
        return 0;
    }
    rv = expect_kind(ld, val, NODE_MAP, path);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i + 1 < val->n; i += 2) {
        const struct node *k = val->kids[i];
        const struct node *v = val->kids[i + 1];
        const struct node *seen[NELEM(op_thresholds_fields)] = {NULL};
        int op = ops_from_name(k->s);

        if (op < 0 || op >= OP_COUNT || strlen(k->s) != k->len) {
            return fail(ld, k,
                        "unknown operation '%.64s' in %s (valid: "
                        "create_session, observe, learn, predictions, "
                        "short_term_memory, clear_memory)",
                        k->s, path);
        }
        if (seen_op[op] != NULL) {
            return fail(ld, k, "duplicate key '%s' in %s (first at %zu:%zu)",
                        k->s, path, seen_op[op]->line, seen_op[op]->col);
        }
        seen_op[op] = k;
        (void)snprintf(kpath, sizeof(kpath), "%.90s.%s", path, ops_name(op));
        rv = walk_section(ld, v, kpath, &op_thresholds_sec,
                          &c->thresholds.per_op[op], seen);
        if (rv != 0) {
            return rv;
        }
        c->thresholds.per_op[op].set |=
            set_bits(seen, NELEM(op_thresholds_fields));
    }
    return 0;
}

/*
 * Rules between sections, checked once the whole document is walked (a
 * section may come before the one it refers to): every name in
 * sustained.profiles_for_all is a profile, once; a docker memory source
 * has a container name. Only what the file set can break them (the
 * built-in profiles cannot be removed), so the nodes come from the file.
 */
static int
check_cross(struct loader *ld, const struct node *root, const struct config *c)
{
    static const char path[] = "test_scenarios.sustained.profiles_for_all";
    const struct node *sc = value_of(root, "test_scenarios");
    const struct node *list =
        value_of(value_of(sc, "sustained"), "profiles_for_all");
    const struct node *src = value_of(value_of(sc, "memory"), "memory_source");

    for (size_t i = 0; list != NULL && list->kind == NODE_SEQ && i < list->n;
         i++) {
        const struct node *it = list->kids[i];

        if (config_profile(c, it->s) == NULL) {
            char known[CONFIG_MAX_PROFILES * (CONFIG_NAME_MAX + 2)];
            size_t off = 0;
            known[0] = '\0';
            for (size_t j = 0; j < c->n_profiles && off < sizeof(known); j++) {
                int w = snprintf(known + off, sizeof(known) - off, "%s%s",
                                 j ? ", " : "", c->profiles[j].name);
                if (w < 0) {
                    break;
                }
                off += (size_t)w;
            }
            return fail(ld, it, "%s[%zu]: unknown profile '%s' (known: %s)",
                        path, i, it->s, known);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(list->kids[j]->s, it->s) == 0) {
                return fail(ld, it,
                            "%s[%zu]: profile '%s' is listed twice (first "
                            "at %zu:%zu; each run has its own results entry)",
                            path, i, it->s, list->kids[j]->line,
                            list->kids[j]->col);
            }
        }
    }
    if (src != NULL && c->memory.memory_source == CONFIG_MEMORY_SOURCE_DOCKER &&
        c->env.docker_container_name[0] == '\0') {
        return fail(ld, src,
                    "test_scenarios.memory.memory_source docker needs "
                    "environment.docker_container_name");
    }
    return 0;
}

/* --- public API ---------------------------------------------------------- */

static void
set_names(char (*dst)[CONFIG_NAME_MAX], size_t *n, const char *const *src,
          size_t count)
{
    for (size_t i = 0; i < count; i++) {
        (void)snprintf(dst[i], CONFIG_NAME_MAX, "%s", src[i]);
    }
    *n = count;
}

void
config_defaults(struct config *c)
{
    static const struct load_profile profiles[] = {
        {"light", 10, 60, 10, 1, 1000},  {"moderate", 50, 300, 30, 2, 500},
        {"heavy", 200, 600, 60, 5, 200}, {"extreme", 500, 300, 120, 10, 100},
        {"burst", 300, 60, 5, 20, 50},   {"endurance", 25, 3600, 60, 1, 2000},
    };
    static const char *const metrics[] = {
        "response_time_ms", "throughput_rps",     "error_rate",
        "success_rate",     "active_connections", "pending_requests",
        "memory_usage_mb",  "cpu_usage_percent",  "network_io_mbps",
    };
    static const double pcts[] = {50, 75, 90, 95, 99, 99.9};
    static const char *const patterns[] = {"ERROR",     "CRITICAL", "Exception",
                                           "Traceback", "Failed",   "Timeout"};
    static const char *const formats[] = {"json", "html", "csv"};
    static const char *const include[] = {
        "summary_statistics",    "response_time_distribution",
        "throughput_over_time",  "error_analysis",
        "resource_usage_graphs", "bottleneck_analysis",
        "recommendations",
    };
    static const char *const for_all[] = {"light", "moderate"};

    memset(c, 0, sizeof(*c));
    memcpy(c->profiles, profiles, sizeof(profiles));
    c->n_profiles = NELEM(profiles);

    c->params.connection_timeout_seconds = 30;
    c->params.request_timeout_seconds = 10;
    c->params.max_retries = 3;
    c->params.retry_delay_ms = 100;
    c->params.circuit_breaker_enabled = true;
    c->params.circuit_breaker_failure_threshold = 0.5;
    c->params.circuit_breaker_timeout_seconds = 30;
    c->params.circuit_breaker_half_open_requests = 3;
    c->params.connection_pool_size = 100;
    c->params.connection_pool_overflow = 50;
    c->params.connection_reuse = true;
    c->params.max_requests_per_second = 10000;
    c->params.rate_limit_burst_size = 1000;

    c->mix[OP_SESSION] = 0;
    c->mix[OP_OBSERVE] = 0.60;
    c->mix[OP_LEARN] = 0.10;
    c->mix[OP_PREDICTIONS] = 0.20;
    c->mix[OP_STM] = 0.05;
    c->mix[OP_CLEAR] = 0.05;

    c->data.min_strings_per_observation = 1;
    c->data.max_strings_per_observation = 10;
    c->data.min_string_length = 1;
    c->data.max_string_length = 50;
    c->data.string_vocabulary_size = 1000;
    c->data.vector_probability = 0.3;
    c->data.min_vector_size = 10;
    c->data.max_vector_size = 100;
    c->data.vector_value_min = 0.0;
    c->data.vector_value_max = 1.0;
    c->data.emotive_probability = 0.2;
    c->data.min_emotives = 1;
    c->data.max_emotives = 5;
    c->data.emotive_value_min = 0.0;
    c->data.emotive_value_max = 1.0;

    c->monitoring.metrics_sample_interval_seconds = 1;
    c->monitoring.report_interval_seconds = 10;
    set_names(c->monitoring.metrics_to_track, &c->monitoring.n_metrics_to_track,
              metrics, NELEM(metrics));
    memcpy(c->monitoring.response_time_percentiles, pcts, sizeof(pcts));
    c->monitoring.n_percentiles = NELEM(pcts);
    c->monitoring.container_monitoring_enabled = true;
    c->monitoring.container_sample_interval_seconds = 5;
    c->monitoring.container_track_logs = true;
    set_names(c->monitoring.log_error_patterns,
              &c->monitoring.n_log_error_patterns, patterns, NELEM(patterns));

    c->thresholds.response_time_p50_max = 20;
    c->thresholds.response_time_p95_max = 50;
    c->thresholds.response_time_p99_max = 100;
    c->thresholds.response_time_p99_9_max = 500;
    c->thresholds.min_throughput_rps = 1000;
    c->thresholds.max_error_rate = 0.001;
    c->thresholds.max_memory_usage_mb = 2000;
    c->thresholds.max_cpu_usage_percent = 80;
    c->thresholds.max_connection_pool_usage = 0.9;
    c->thresholds.set = THR_P99 | THR_ERROR;
    c->thresholds.abort_on_fail = false;
    c->thresholds.abort_delay_seconds = 10;

    set_names(c->reporting.formats, &c->reporting.n_formats, formats,
              NELEM(formats));
    (void)snprintf(c->reporting.output_directory, CONFIG_STR_MAX, "%s",
                   "./stress_test_results");
    set_names(c->reporting.include_in_report, &c->reporting.n_include_in_report,
              include, NELEM(include));
    c->reporting.baseline_enabled = true;
    (void)snprintf(c->reporting.baseline_file, CONFIG_STR_MAX, "%s",
                   "./stress_test_results/baseline.json");
    c->reporting.baseline_deviation_threshold = 0.2;

    (void)snprintf(c->env.kato_base_url, CONFIG_STR_MAX, "%s",
                   "http://localhost:8000");
    (void)snprintf(c->env.kato_processor_id, CONFIG_STR_MAX, "%s",
                   "stress-test-processor");
    (void)snprintf(c->env.docker_container_name, CONFIG_STR_MAX, "%s",
                   "kato-stress-test");
    (void)snprintf(c->env.docker_network, CONFIG_STR_MAX, "%s", "kato-network");
    c->env.parallel_execution = false;
    c->env.cleanup_between_tests = true;
    c->env.warmup_duration_seconds = 30;
    c->env.cooldown_duration_seconds = 30;

    c->concurrent.concurrent_users = 50;
    c->concurrent.duration_seconds = 60;
    c->concurrent.requests_per_user_per_second = 1.0;
    c->concurrent.think_time_ms = 100;

    c->sustained.pattern = CONFIG_PATTERN_RAMP_UP;
    c->sustained.model = CONFIG_MODEL_CLOSED;
    c->sustained.arrival_rate = 0;
    c->sustained.initial_users = 1;
    c->sustained.spike_interval_seconds = 60;
    c->sustained.spike_duration_seconds = 10;
    c->sustained.wave_period_seconds = 120;
    c->sustained.step_seconds = 30;
    c->sustained.step_size = 10;
    c->sustained.n_stages = 0;
    c->sustained.max_degradation = 1.5;
    set_names(c->sustained.profiles_for_all, &c->sustained.n_profiles_for_all,
              for_all, NELEM(for_all));

    c->burst.burst_size = 1000;
    c->burst.burst_duration_ms = 100;
    c->burst.burst_count = 5;
    c->burst.interval_seconds = 10;
    c->burst.baseline_users = 5;
    c->burst.recovery_margin = 0.2;

    c->pool.probe_users = 2;
    c->pool.probe_seconds = 10;
    c->pool.large_strings = 100;

    c->memory.duration_minutes = 10;
    c->memory.concurrent_users = 10;
    c->memory.requests_per_user_per_second = 2;
    c->memory.think_time_ms = 500;
    c->memory.sample_interval_seconds = 5;
    c->memory.warmup_seconds = 30;
    c->memory.memory_source = CONFIG_MEMORY_SOURCE_AUTO;
    c->distributed.on_agent_loss = CONFIG_LOSS_REBALANCE;
    c->memory.pid = 0;
    c->memory.cgroup_path[0] = '\0';
    c->memory.leak_threshold_mb_per_min = 1.0;

    c->recovery.concurrent_users = 10;
    c->recovery.requests_per_user_per_second = 1;
    c->recovery.think_time_ms = 100;
    c->recovery.baseline_seconds = 30;
    c->recovery.invalid_requests = 100;
    c->recovery.invalid_concurrency = 50;
    c->recovery.max_recovery_seconds = 60;
    c->recovery.window_seconds = 5;
    c->recovery.margin = 0.2;
}

int
config_load_string(struct config *c, const char *name, const char *yaml,
                   size_t len, char *err, size_t errlen)
{
    struct loader ld = {name != NULL ? name : "<config>", err, errlen, 0};
    struct config *tmp = NULL;
    struct node *root = NULL;
    int rv = 0;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (c == NULL || (yaml == NULL && len > 0)) {
        set_err(&ld, "%s: invalid argument", ld.name);
        return E_INVAL;
    }
    tmp = xmalloc(sizeof(*tmp));
    if (tmp == NULL) {
        rv = fail_nomem(&ld);
        goto out;
    }
    config_defaults(tmp);
    (void)snprintf(tmp->path, sizeof(tmp->path), "%s", ld.name);
    if (len > 0) {
        rv = parse_tree(&ld, yaml, len, &root);
        if (rv != 0) {
            goto out;
        }
    }
    if (root != NULL && !is_null(root)) {
        if (root->kind != NODE_MAP) {
            char got[64];
            describe(root, got, sizeof(got));
            rv = fail(&ld, root,
                      "the document must be a mapping of sections "
                      "(load_profiles:, test_parameters:, ...), got %s",
                      got);
            goto out;
        }
        rv = walk_section(&ld, root, "", &root_sec, tmp, NULL);
        if (rv != 0) {
            goto out;
        }
        rv = check_cross(&ld, root, tmp);
        if (rv != 0) {
            goto out;
        }
    }
    *c = *tmp;
out:
    node_free(root);
    xfree(tmp);
    return rv;
}

/* Reads a whole file of at most FILE_MAX bytes into a new buffer. */
static int
read_file(struct loader *ld, const char *path, char **out, size_t *outlen)
{
    char ebuf[128];
    FILE *f = NULL;
    char *data = NULL;
    size_t cap = 0;
    size_t len = 0;
    int e = 0;
    int rv = 0;

    f = fopen(path, "rb");
    if (f == NULL) {
        e = errno;
        goto io_error;
    }
    for (;;) {
        size_t got = 0;
        if (len == cap) {
            size_t ncap = cap == 0 ? 4096 : cap * 2;
            char *d = NULL;
            if (cap > FILE_MAX) {
                rv = fail_at(ld, 1, 1, "the file is larger than %d bytes",
                             FILE_MAX);
                goto out;
            }
            d = xrealloc(data, ncap);
            if (d == NULL) {
                rv = fail_nomem(ld);
                goto out;
            }
            data = d;
            cap = ncap;
        }
        errno = 0;
        got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len < cap) {
            if (ferror(f)) {
                e = errno != 0 ? errno : EIO;
                goto io_error;
            }
            if (feof(f)) {
                break;
            }
        }
    }
    if (len > FILE_MAX) {
        rv = fail_at(ld, 1, 1, "the file is larger than %d bytes", FILE_MAX);
        goto out;
    }
    *out = data;
    *outlen = len;
    data = NULL;
    goto out;
io_error:
    if (strerror_r(e, ebuf, sizeof(ebuf)) != 0) {
        (void)snprintf(ebuf, sizeof(ebuf), "error %d", e);
    }
    set_err(ld, "%s: %s", path, ebuf);
    rv = E_IO;
out:
    if (f != NULL) {
        (void)fclose(f);
    }
    xfree(data);
    return rv;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct loader ld = {path, err, errlen, 0};
    char ebuf[128];
    char *data = NULL;
    size_t len = 0;
    int rv = 0;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (c == NULL || path == NULL) {
        set_err(&ld, "%s: invalid argument", path != NULL ? path : "(null)");
        return E_INVAL;
    }
    if (strlen(path) >= CONFIG_STR_MAX) {
        if (strerror_r(ENAMETOOLONG, ebuf, sizeof(ebuf)) != 0) {
            ebuf[0] = '\0';
        }
        set_err(&ld, "%.64s...: %s (at most %d bytes)", path, ebuf,
                CONFIG_STR_MAX - 1);
        return E_IO;
    }
    rv = read_file(&ld, path, &data, &len);
    if (rv != 0) {
        goto out;
    }
    rv = config_load_string(c, path, data, len, err, errlen);
out:
    xfree(data);
    return rv;
}

const struct load_profile *
config_profile(const struct config *c, const char *name)
{
    if (c == NULL || name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < c->n_profiles; i++) {
        if (strcmp(c->profiles[i].name, name) == 0) {
            return &c->profiles[i];
        }
    }
    return NULL;
}

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void
config_apply_quick(struct config *c)
{
    for (size_t i = 0; i < c->n_profiles; i++) {
        struct load_profile *p = &c->profiles[i];
        p->duration_seconds = min_u32(p->duration_seconds, 10);
        p->ramp_up_seconds = min_u32(p->ramp_up_seconds, 2);
        p->concurrent_users = min_u32(p->concurrent_users, 10);
    }
    c->concurrent.concurrent_users =
        min_u32(c->concurrent.concurrent_users, 10);
    c->concurrent.duration_seconds = min_u32(c->concurrent.duration_seconds, 5);

    c->burst.burst_count = min_u32(c->burst.burst_count, 2);
    c->burst.interval_seconds = min_u32(c->burst.interval_seconds, 3);
    c->burst.burst_size = min_u32(c->burst.burst_size, 200);
    /* interval_seconds is at most 3 here, so this cannot overflow. */
    c->burst.burst_duration_ms =
        min_u32(c->burst.burst_duration_ms, c->burst.interval_seconds * 1000);

    c->pool.probe_seconds = min_u32(c->pool.probe_seconds, 3);

    c->memory.duration_minutes = min_u32(c->memory.duration_minutes, 1);
    c->memory.duration_seconds = min_u32(c->memory.duration_seconds, 60);
    c->memory.sample_interval_seconds =
        min_u32(c->memory.sample_interval_seconds, 2);
    c->memory.warmup_seconds = min_u32(c->memory.warmup_seconds, 5);

    c->recovery.baseline_seconds = min_u32(c->recovery.baseline_seconds, 5);
    c->recovery.max_recovery_seconds =
        min_u32(c->recovery.max_recovery_seconds, 15);
    c->recovery.window_seconds = min_u32(c->recovery.window_seconds, 2);
    c->recovery.invalid_requests = min_u32(c->recovery.invalid_requests, 50);
}

const char *
config_pattern_name(int p)
{
    return p >= 0 && p < CONFIG_PATTERN_COUNT ? pattern_names[p] : NULL;
}

int
config_pattern_from_name(const char *name)
{
    return lookup_name(pattern_names, CONFIG_PATTERN_COUNT, name);
}

const char *
config_model_name(int m)
{
    return m >= 0 && m < CONFIG_MODEL_COUNT ? model_names[m] : NULL;
}

int
config_model_from_name(const char *name)
{
    return lookup_name(model_names, CONFIG_MODEL_COUNT, name);
}

const char *
config_memory_source_name(int s)
{
    return s >= 0 && s < CONFIG_MEMORY_SOURCE_COUNT ? memory_source_names[s]
                                                    : NULL;
}

int
config_memory_source_from_name(const char *name)
{
    return lookup_name(memory_source_names, CONFIG_MEMORY_SOURCE_COUNT, name);
}

const char *
config_agent_loss_name(int p)
{
    return p >= 0 && p < CONFIG_LOSS_COUNT ? agent_loss_names[p] : NULL;
}

int
config_agent_loss_from_name(const char *name)
{
    return lookup_name(agent_loss_names, CONFIG_LOSS_COUNT, name);
}
