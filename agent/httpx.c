/* SPDX-License-Identifier: MIT */
/* The engine's pure HTTP helpers; see httpx.h. */
#include "httpx.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "../common/ops.h"

#include "../common/poison.h"

uint32_t
httpx_curl_error_key(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
        return ERRK_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return ERRK_TIMEOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return ERRK_RESET;
    case CURLE_COULDNT_RESOLVE_HOST:
        return ERRK_DNS;
    default:
        return ERRK_OTHER;
    }
}

uint32_t
httpx_status_error_key(long status)
{
    if (status >= 200 && status <= 299) {
        return 0;
    }
    return (status >= 100 && status <= 599) ? (uint32_t)status : ERRK_OTHER;
}

uint64_t
httpx_sent_bytes(long req, curl_off_t up)
{
    uint64_t r = req > 0 ? (uint64_t)req : 0;
    uint64_t b = up > 0 ? (uint64_t)up : 0;

    return r >= b ? r : r + b;
}

uint64_t
httpx_recv_bytes(long hdr, curl_off_t down)
{
    return (uint64_t)(hdr > 0 ? hdr : 0) + (uint64_t)(down > 0 ? down : 0);
}

static bool
sid_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '~';
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t
httpx_parse_session_id(const char *s, size_t n, char *out)
{
    static const char key[] = "\"session_id\"";
    const size_t klen = sizeof(key) - 1;

    for (size_t i = 0; i + klen <= n; i++) {
        size_t j, len = 0;
        if (s[i] != '"' || memcmp(s + i, key, klen) != 0) {
            continue;
        }
        j = i + klen;
        while (j < n && is_space(s[j])) {
            j++;
        }
        if (j >= n || s[j] != ':') {
            continue;
        }
        j++;
        while (j < n && is_space(s[j])) {
            j++;
        }
        if (j >= n || s[j] != '"') {
            continue;
        }
        j++;
        while (j + len < n && s[j + len] != '"') {
            if (!sid_char_ok(s[j + len]) || len + 1 >= HTTPX_SID_MAX) {
                return 0;
            }
            len++;
        }
        if (j + len >= n || len == 0) {
            return 0;
        }
        memcpy(out, s + j, len);
        out[len] = '\0';
        return len;
    }
    return 0;
}

size_t
httpx_keep(char *buf, size_t *len, size_t cap, const char *p, size_t n)
{
    size_t k = 0;

    if (*len < cap) {
        k = cap - *len;
        if (k > n) {
            k = n;
        }
        memcpy(buf + *len, p, k);
        *len += k;
    }
    return k;
}

int
httpx_session_body(const char *node_id, char *out, size_t cap, size_t *len)
{
    static const char head[] = "{\"node_id\":\"";
    size_t n = sizeof(head) - 1;

    /* The head, then per byte at most 2 and the closing "} and NUL: the
     * check below keeps n + 4 < cap before each byte. */
    if (cap < sizeof(head) + 2) {
        return E_INVAL;
    }
    memcpy(out, head, n);
    for (const char *s = node_id; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || n + 4 >= cap) {
            return E_INVAL;
        }
        if (*s == '"' || *s == '\\') {
            out[n++] = '\\';
        }
        out[n++] = *s;
    }
    out[n++] = '"';
    out[n++] = '}';
    out[n] = '\0';
    *len = n;
    return 0;
}

size_t
httpx_invalid_body(unsigned k, uint32_t dim, char *body, size_t cap)
{
    static const char malformed[] = "{\"strings\": [\"a\", ";
    static const char shape[] = "{\"strings\": \"x\"}";
    static const char valid[] = "{\"strings\": [\"a\"]}";
    static const char vec[] = "{\"strings\": [\"a\"], \"vectors\": [[0.5";
    size_t n = 0;

    if (cap < HTTPX_INVALID_MIN) {
        return 0;
    }
    switch (k) {
    case 0:
        memcpy(body, malformed, sizeof(malformed));
        return sizeof(malformed) - 1;
    case 1:
        memcpy(body, shape, sizeof(shape));
        return sizeof(shape) - 1;
    case 2:
        memcpy(body, vec, sizeof(vec));
        n = sizeof(vec) - 1;
        for (uint32_t i = 0; i < dim && n + 8 < cap; i++) {
            memcpy(body + n, ",0.5", 5);
            n += 4;
        }
        memcpy(body + n, "]]}", 4);
        return n + 3;
    default:
        memcpy(body, valid, sizeof(valid));
        return sizeof(valid) - 1;
    }
}
