/* SPDX-License-Identifier: MIT */
/*
 * A small, strict JSON (RFC 8259) parser for katosim's request bodies:
 * recursive descent into a read-only tree held in one arena, with bounded
 * input size, nesting depth and value count. It is not a general library:
 * the only writer is string escaping, and the tree cannot be edited.
 */
#ifndef KATOSIM_SIMJSON_H
#define KATOSIM_SIMJSON_H

#include <stddef.h>

#include "../../common/buf.h"

#define SIMJSON_MAX_INPUT  (1024u * 1024u) /* bytes of JSON text */
#define SIMJSON_MAX_DEPTH  64              /* nested arrays/objects */
#define SIMJSON_MAX_VALUES (256u * 1024u)  /* values in one document */

enum simjson_type {
    SIMJSON_NULL = 0,
    SIMJSON_FALSE = 1,
    SIMJSON_TRUE = 2,
    SIMJSON_NUMBER = 3,
    SIMJSON_STRING = 4,
    SIMJSON_ARRAY = 5,
    SIMJSON_OBJECT = 6,
};

/*
 * One value of a parsed document. Defined here rather than kept opaque so
 * that validators can walk the tree without an accessor per field; every
 * field is read-only, set by simjson_parse and owned by the document, and
 * every pointer stays valid until simjson_free.
 */
struct simjson_val {
    enum simjson_type type;
    double num;      /* SIMJSON_NUMBER: the value (may be +-HUGE_VAL) */
    const char *str; /* SIMJSON_STRING: decoded UTF-8, NUL-terminated */
    size_t len;      /* string bytes (without the NUL), or member count */
    const char *key; /* object member: its decoded key, NUL-terminated */
    size_t key_len;  /* object member: key bytes */
    const struct simjson_val *child; /* array/object: first member */
    const struct simjson_val *next;  /* next member of the same parent */
};

struct simjson_doc;

/*
 * Parses len bytes of text (no NUL needed) into a new document. Strings
 * must be valid UTF-8 with valid escapes (surrogate pairs joined); numbers
 * follow the JSON grammar; only whitespace may follow the value.
 * Returns 0 and sets *out (free with simjson_free); E_INVAL for invalid
 * JSON, E_TOOBIG when len, the depth or the value count exceeds its
 * bound, E_NOMEM. On failure writes a one-line reason with the byte
 * offset into err (errlen bytes, may be 0) and leaves *out untouched.
 * Thread-safe: no shared state.
 */
int simjson_parse(struct simjson_doc **out, const char *text, size_t len,
                  char *err, size_t errlen);

/* Returns the document's top-level value (never NULL). Borrowed. */
const struct simjson_val *simjson_root(const struct simjson_doc *d);

/* Frees the document and every value in it. NULL is a no-op. */
void simjson_free(struct simjson_doc *d);

/*
 * Returns the member of object obj whose key is the NUL-terminated key;
 * with duplicate keys the last one wins (as in Python's json). NULL when
 * obj is not an object or has no such member. Borrowed from the document.
 */
const struct simjson_val *simjson_get(const struct simjson_val *obj,
                                      const char *key);

/*
 * Appends s (n bytes) to b as a quoted JSON string: quote, backslash and
 * control characters are escaped, and bytes that are not valid UTF-8 are
 * replaced by U+FFFD, so the output is always valid JSON. Returns 0,
 * E_TOOBIG or E_NOMEM (b may then hold part of the string).
 */
int simjson_put_str(struct buf *b, const char *s, size_t n);

#endif
