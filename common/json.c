/* SPDX-License-Identifier: MIT */
/*
 * Strict recursive-descent JSON parser into an arena-held tree, plus JSON
 * string escaping; see json.h. Every bound is checked before the memory
 * it guards is allocated.
 */
#include "json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "err.h"

#include "poison.h"

#define ARENA_CHUNK (64u * 1024u)
#define ARENA_ALIGN 16u

/* --- arena ---------------------------------------------------------------- */

struct chunk {
    struct chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[]; /* cap bytes */
};

struct json_doc {
    struct chunk *chunks; /* newest first */
    const struct json_val *root;
};

static void *
arena_alloc(struct json_doc *d, size_t n)
{
    struct chunk *c = d->chunks;
    void *p;

    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = xmalloc(sizeof(*c) + cap);
        if (c == NULL) {
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = d->chunks;
        d->chunks = c;
    }
    p = (unsigned char *)c->data + c->used;
    c->used += n;
    return p;
}

void
json_free(struct json_doc *d)
{
    struct chunk *c, *next;

    if (d == NULL) {
        return;
    }
    for (c = d->chunks; c != NULL; c = next) {
        next = c->next;
        xfree(c);
    }
    xfree(d);
}

/* --- parser --------------------------------------------------------------- */

struct parser {
    const char *start;
    const char *p;
    const char *end;
    struct json_doc *doc;
    size_t values;
    size_t max_values;
    int max_depth;
    char *err;
    size_t errlen;
};

static int
fail(struct parser *ps, int rv, const char *what)
{
    size_t line = 1;
    size_t col = 1;

    if (ps->errlen > 0) {
        /* Counted only on failure: one pass over what was read. */
        for (const char *q = ps->start; q < ps->p; q++) {
            if (*q == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        (void)snprintf(ps->err, ps->errlen,
                       "%s at byte %zu (line %zu, column %zu)", what,
                       (size_t)(ps->p - ps->start), line, col);
    }
    return rv;
}

static void
skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static struct json_val *
new_val(struct parser *ps, enum json_type type)
{
    struct json_val *v;

    if (ps->values >= ps->max_values) {
        return NULL;
    }
    v = arena_alloc(ps->doc, sizeof(*v));
    if (v != NULL) {
        memset(v, 0, sizeof(*v));
        v->type = type;
        ps->values++;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t k, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        k = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        k = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        k = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < k) {
        return 0;
    }
    for (i = 1; i < k; i++) {
        if ((s[i] & 0xc0u) != 0x80u) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    return k;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int
hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/*
 * Parses the string at ps->p (on the opening quote) into a new NUL-
 * terminated arena copy. The decoded form is never longer than the raw
 * text (an escape of k bytes yields at most k bytes), so the raw length
 * bounds the allocation.
 */
static int
parse_string(struct parser *ps, const char **out, size_t *out_len)
{
    const char *s = ps->p + 1;
    const char *q = s;
    char *dst;
    size_t n = 0;

    /* Pass 1: find the closing quote (escapes skip one byte). */
    while (q < ps->end && *q != '"') {
        if (*q == '\\') {
            q++;
        }
        q++;
    }
    if (q >= ps->end) {
        return fail(ps, E_INVAL, "unterminated string");
    }
    dst = arena_alloc(ps->doc, (size_t)(q - s) + 1);
    if (dst == NULL) {
        return fail(ps, E_NOMEM, "out of memory");
    }
    /* Pass 2: validate and decode. */
    ps->p = s;
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            return fail(ps, E_INVAL, "control character in string");
        }
        if (c == '\\') {
            uint32_t cp, lo;
            if (q - ps->p < 2) {
                return fail(ps, E_INVAL, "bad escape");
            }
            switch (ps->p[1]) {
            case '"':
            case '\\':
            case '/':
                dst[n++] = ps->p[1];
                ps->p += 2;
                continue;
            case 'b':
                dst[n++] = '\b';
                ps->p += 2;
                continue;
            case 'f':
                dst[n++] = '\f';
                ps->p += 2;
                continue;
            case 'n':
                dst[n++] = '\n';
                ps->p += 2;
                continue;
            case 'r':
                dst[n++] = '\r';
                ps->p += 2;
                continue;
            case 't':
                dst[n++] = '\t';
                ps->p += 2;
                continue;
            case 'u':
                break;
            default:
                return fail(ps, E_INVAL, "bad escape");
            }
            if (q - ps->p < 6 || hex4(ps->p + 2, &cp) != 0) {
                return fail(ps, E_INVAL, "bad \\u escape");
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return fail(ps, E_INVAL, "lone low surrogate");
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (q - ps->p < 12 || ps->p[6] != '\\' || ps->p[7] != 'u' ||
                    hex4(ps->p + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    return fail(ps, E_INVAL, "lone high surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                ps->p += 6;
            }
            ps->p += 6;
            n += put_utf8(dst + n, cp);
            continue;
        }
        if (c < 0x80) {
            dst[n++] = (char)c;
            ps->p++;
        } else {
            size_t k =
                utf8_len((const unsigned char *)ps->p, (size_t)(q - ps->p));
            if (k == 0) {
                return fail(ps, E_INVAL, "invalid UTF-8 in string");
            }
            memcpy(dst + n, ps->p, k);
            n += k;
            ps->p += k;
        }
    }
    dst[n] = '\0';
    ps->p = q + 1;
    *out = dst;
    *out_len = n;
    return 0;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
parse_number(struct parser *ps, struct json_val *v)
{
    const char *s = ps->p;
    const char *q = s;
    char small[64];
    char *copy = small;
    size_t n;

    if (q < ps->end && *q == '-') {
        q++;
    }
    if (q >= ps->end || !is_digit(*q)) {
        return fail(ps, E_INVAL, "bad number");
    }
    if (*q == '0') {
        q++;
    } else {
        while (q < ps->end && is_digit(*q)) {
            q++;
        }
    }
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || !is_digit(*q)) {
            ps->p = q;
            return fail(ps, E_INVAL, "bad fraction");
        }
        while (q < ps->end && is_digit(*q)) {
            q++;
        }
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (q >= ps->end || !is_digit(*q)) {
            ps->p = q;
            return fail(ps, E_INVAL, "bad exponent");
        }
        while (q < ps->end && is_digit(*q)) {
            q++;
        }
    }
    /* strtod needs a NUL; the grammar above already fixed the extent. */
    n = (size_t)(q - s);
    if (n >= sizeof(small)) {
        copy = arena_alloc(ps->doc, n + 1);
        if (copy == NULL) {
            return fail(ps, E_NOMEM, "out of memory");
        }
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    v->num = strtod(copy, NULL);
    ps->p = q;
    return 0;
}

static int
expect_word(struct parser *ps, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        return fail(ps, E_INVAL, "unexpected token");
    }
    ps->p += n;
    return 0;
}

static int parse_value(struct parser *ps, int depth, struct json_val **out);

/* Parses an array or object body; ps->p is on '[' or '{'. */
static int
parse_container(struct parser *ps, int depth, struct json_val *v)
{
    bool is_obj = v->type == JSON_OBJECT;
    char close = is_obj ? '}' : ']';
    const struct json_val **tail = &v->child;
    int rv = 0;

    if (depth >= ps->max_depth) {
        return fail(ps, E_TOOBIG, "nesting too deep");
    }
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        struct json_val *m = NULL;

        if (is_obj) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') {
                return fail(ps, E_INVAL, "expected object key");
            }
            rv = parse_string(ps, &key, &key_len);
            if (rv != 0) {
                return rv;
            }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                return fail(ps, E_INVAL, "expected ':'");
            }
            ps->p++;
        }
        rv = parse_value(ps, depth + 1, &m);
        if (rv != 0) {
            return rv;
        }
        m->key = key;
        m->key_len = key_len;
        *tail = m;
        tail = &m->next;
        v->len++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, E_INVAL,
                    is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int
parse_value(struct parser *ps, int depth, struct json_val **out)
{
    struct json_val *v = NULL;
    enum json_type type;
    int rv = 0;

    skip_ws(ps);
    if (ps->p >= ps->end) {
        return fail(ps, E_INVAL, "unexpected end of input");
    }
    switch (*ps->p) {
    case '{':
        type = JSON_OBJECT;
        break;
    case '[':
        type = JSON_ARRAY;
        break;
    case '"':
        type = JSON_STRING;
        break;
    case 't':
        type = JSON_TRUE;
        break;
    case 'f':
        type = JSON_FALSE;
        break;
    case 'n':
        type = JSON_NULL;
        break;
    default:
        type = JSON_NUMBER;
        break;
    }
    v = new_val(ps, type);
    if (v == NULL) {
        return ps->values >= ps->max_values
                   ? fail(ps, E_TOOBIG, "too many values")
                   : fail(ps, E_NOMEM, "out of memory");
    }
    switch (type) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        rv = parse_container(ps, depth, v);
        break;
    case JSON_STRING:
        rv = parse_string(ps, &v->str, &v->len);
        break;
    case JSON_TRUE:
        rv = expect_word(ps, "true");
        break;
    case JSON_FALSE:
        rv = expect_word(ps, "false");
        break;
    case JSON_NULL:
        rv = expect_word(ps, "null");
        break;
    case JSON_NUMBER:
        rv = parse_number(ps, v);
        break;
    }
    if (rv == 0) {
        *out = v;
    }
    return rv;
}

int
json_parse(struct json_doc **out, const char *text, size_t len,
           const struct json_limits *lim, char *err, size_t errlen)
{
    size_t max_input = lim != NULL ? lim->max_input : JSON_MAX_INPUT;
    struct parser ps;
    struct json_val *root = NULL;
    int rv = 0;

    memset(&ps, 0, sizeof(ps));
    ps.start = text;
    ps.p = text;
    ps.end = text + len;
    ps.err = err;
    ps.errlen = errlen;
    ps.max_values = lim != NULL ? lim->max_values : JSON_MAX_VALUES;
    ps.max_depth = lim != NULL && lim->max_depth < JSON_MAX_DEPTH
                       ? lim->max_depth
                       : JSON_MAX_DEPTH;
    if (len > max_input) {
        return fail(&ps, E_TOOBIG, "input too large");
    }
    ps.doc = xcalloc(1, sizeof(*ps.doc));
    if (ps.doc == NULL) {
        return fail(&ps, E_NOMEM, "out of memory");
    }
    rv = parse_value(&ps, 0, &root);
    if (rv != 0) {
        goto out;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        rv = fail(&ps, E_INVAL, "trailing data after value");
        goto out;
    }
    ps.doc->root = root;
    *out = ps.doc;
    ps.doc = NULL;
out:
    json_free(ps.doc);
    return rv;
}

const struct json_val *
json_root(const struct json_doc *d)
{
    return d->root;
}

const struct json_val *
json_get(const struct json_val *obj, const char *key)
{
    const struct json_val *m, *found = NULL;
    size_t n = strlen(key);

    if (obj == NULL || obj->type != JSON_OBJECT) {
        return NULL;
    }
    for (m = obj->child; m != NULL; m = m->next) {
        if (m->key_len == n && memcmp(m->key, key, n) == 0) {
            found = m;
        }
    }
    return found;
}

/* --- writer --------------------------------------------------------------- */

int
json_put_str(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    int rv = buf_append(b, "\"", 1);

    /* Copies runs of plain bytes in one append; escapes the rest. */
    while (rv == 0 && i < n) {
        unsigned char c = p[i];
        size_t k = 1;
        const char *esc = NULL;
        char tmp[8];

        if (c >= 0x20 && c != '"' && c != '\\') {
            k = c < 0x80 ? 1 : utf8_len(p + i, n - i);
            if (k != 0) {
                i += k;
                run += k;
                continue;
            }
            esc = "\xef\xbf\xbd"; /* U+FFFD for an invalid byte */
            k = 1;
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else {
            (void)snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)c);
            esc = tmp;
        }
        if (run > 0) {
            rv = buf_append(b, p + i - run, run);
            run = 0;
        }
        if (rv == 0) {
            rv = buf_append(b, esc, strlen(esc));
        }
        i += k;
    }
    if (rv == 0 && run > 0) {
        rv = buf_append(b, p + i - run, run);
    }
    if (rv == 0) {
        rv = buf_append(b, "\"", 1);
    }
    return rv;
}
