/* SPDX-License-Identifier: MIT */
/*
 * The project's one error table. Functions return 0 (E_OK) on success and a
 * negative E_* value on failure; a value >= 0 may be a count. Library codes
 * (nng, CURLcode, libyaml, errno) are translated into these at the boundary
 * of the module that calls the library, which logs the original.
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#define ERR_MAP(XX)                                       \
    XX(OK, 0, "success")                                  \
    XX(NOMEM, -1, "out of memory")                        \
    XX(INVAL, -2, "invalid argument")                     \
    XX(RANGE, -3, "value out of range")                   \
    XX(PROTO, -4, "malformed protocol message")           \
    XX(PROTO_VERSION, -5, "unsupported protocol version") \
    XX(TOOBIG, -6, "input too large")                     \
    XX(TRUNCATED, -7, "input truncated")                  \
    XX(IO, -8, "input/output error")                      \
    XX(CONFIG, -9, "configuration error")                 \
    XX(AUTH, -10, "authentication failed")                \
    XX(TIMEOUT, -11, "timed out")                         \
    XX(CLOSED, -12, "peer closed")                        \
    XX(NOTFOUND, -13, "not found")                        \
    XX(NET, -14, "network error")                         \
    XX(STATE, -15, "not allowed in this state")

enum err_code {
#define ERR_ENUM_(name, val, msg) E_##name = (val),
    ERR_MAP(ERR_ENUM_)
#undef ERR_ENUM_
};

/* Returns a static, human-readable string for an E_* code (never NULL). */
const char *err_str(int code);

/* Returns the symbolic name ("E_NOMEM") for an E_* code (never NULL). */
const char *err_name(int code);

#endif
