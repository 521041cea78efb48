/* SPDX-License-Identifier: MIT */
/*
 * A small, strict JSON (RFC 8259) parser: recursive descent into a
 * read-only tree held in one arena, with bounded input size, nesting depth
 * and value count. katosim reads request bodies with it and the master
 * reads a baseline results file (master/baseline.h); both are hostile
 * input, so every bound is checked before the memory it guards is
 * allocated (fuzzed: tests/fuzz/json_fuzz.c). It is not a general library:
 * the only writer is string escaping, and the tree cannot be edited.
 */
#ifndef KATOSIM_JSON_H
#define KATOSIM_JSON_H

#include <stddef.h>

#include "buf.h"

/* The default bounds (a NULL struct json_limits). */
#define JSON_MAX_INPUT  (1024u * 1024u) /* bytes of JSON text */
#define JSON_MAX_DEPTH  64              /* nested arrays/objects */
#define JSON_MAX_VALUES (256u * 1024u)  /* values in one document */

/* A parse's bounds; each at least 1. max_depth is also bounded by
 * JSON_MAX_DEPTH (the parser recurses once per level). */
struct json_limits {
    size_t max_input;  /* bytes of text */
    size_t max_values; /* values (each about 64 bytes of arena) */
    int max_depth;     /* nested arrays/objects, <= JSON_MAX_DEPTH */
};

enum json_type {
    JSON_NULL = 0,
    JSON_FALSE = 1,
    JSON_TRUE = 2,
    JSON_NUMBER = 3,
    JSON_STRING = 4,
    JSON_ARRAY = 5,
    JSON_OBJECT = 6,
};

/*
 * One value of a parsed document. Defined here rather than kept opaque so
 * that validators can walk the tree without an accessor per field; every
 * field is read-only, set by json_parse and owned by the document, and
 * every pointer stays valid until json_free.
 */
struct json_val {
    enum json_type type;
    double num;      /* JSON_NUMBER: the value (may be +-HUGE_VAL) */
    const char *str; /* JSON_STRING: decoded UTF-8, NUL-terminated */
    size_t len;      /* string bytes (without the NUL), or member count */
    const char *key; /* object member: its decoded key, NUL-terminated */
    size_t key_len;  /* object member: key bytes */
    const struct json_val *child; /* array/object: first member */
    const struct json_val *next;  /* next member of the same parent */
};

struct json_doc;

/*
 * Parses len bytes of text (no NUL needed) into a new document, within
 * lim (borrowed; NULL: the JSON_MAX_* defaults). Strings must be valid
 * UTF-8 with valid escapes (surrogate pairs joined); numbers follow the
 * JSON grammar (one beyond a double's range reads as +-HUGE_VAL); only
 * whitespace may follow the value. Returns 0 and sets *out (free with
 * json_free); E_INVAL for invalid JSON, E_TOOBIG when len, the depth or
 * the value count exceeds its bound, E_NOMEM. On failure writes a
 * one-line reason with where it stopped into err (errlen bytes, may be
 * 0): "expected ':' at byte 41 (line 3, column 7)", the byte offset from
 * 0, line and column (in bytes) from 1; *out is left untouched.
 * Thread-safe: no shared state.
 */
int json_parse(struct json_doc **out, const char *text, size_t len,
               const struct json_limits *lim, char *err, size_t errlen);

/* Returns the document's top-level value (never NULL). Borrowed. */
const struct json_val *json_root(const struct json_doc *d);

/* Frees the document and every value in it. NULL is a no-op. */
void json_free(struct json_doc *d);

/*
 * Returns the member of object obj whose key is the NUL-terminated key;
 * with duplicate keys the last one wins (as in Python's json). NULL when
 * obj is not an object or has no such member. Borrowed from the document.
 */
const struct json_val *json_get(const struct json_val *obj, const char *key);

/*
 * Appends s (n bytes) to b as a quoted JSON string: quote, backslash and
 * control characters are escaped, and bytes that are not valid UTF-8 are
 * replaced by U+FFFD, so the output is always valid JSON. Returns 0,
 * E_TOOBIG or E_NOMEM (b may then hold part of the string).
 */
int json_put_str(struct buf *b, const char *s, size_t n);

#endif
