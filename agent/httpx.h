/* SPDX-License-Identifier: MIT */
/*
 * The engine's pure HTTP helpers: the error key of a finished transfer
 * (its libcurl code or its HTTP status), the bytes it counted on the
 * wire, the session id of a POST /sessions reply, the bounded keep of a
 * reply's first bytes, and the request bodies the engine writes itself
 * (POST /sessions, the invalid-request rotation). No I/O, no state, no
 * allocation: every function here is safe from any thread. Not the
 * transfers themselves (engine.c) nor the observe payloads (payload.h).
 */
#ifndef AGENT_HTTPX_H
#define AGENT_HTTPX_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

/* Session ids of HTTPX_SID_MAX characters or more are refused: an id goes
 * into every URL of its user, whose buffer is sized for it. */
#define HTTPX_SID_MAX 128

/*
 * The error key (common/ops.h) of a transfer that libcurl ended with c,
 * which is not CURLE_OK: ERRK_CONNECT (could not connect), ERRK_TIMEOUT,
 * ERRK_RESET (send or receive error, empty reply, partial body),
 * ERRK_DNS (could not resolve the host), ERRK_OTHER for any other code.
 * CURLE_OK itself maps to ERRK_OTHER: a caller asks only about failures.
 */
uint32_t httpx_curl_error_key(CURLcode c);

/*
 * The error key of a transfer that completed with HTTP status: 0 for
 * 2xx, the status itself for any other status in 100..599, ERRK_OTHER
 * for anything outside (0 included: no status line was read).
 */
uint32_t httpx_status_error_key(long status);

/*
 * Request bytes on the wire from libcurl's figures: req is
 * CURLINFO_REQUEST_SIZE (the request's first write: head and, for a
 * POSTFIELDS body under 64 KiB, the body too), up is
 * CURLINFO_SIZE_UPLOAD_T (the body). A body sent after the head is at
 * least 64 KiB, larger than any head sent, so req < up tells that case
 * and the two add up; otherwise req alone counts (adding would count a
 * small body twice). Negative figures (unknown) count as 0.
 */
uint64_t httpx_sent_bytes(long req, curl_off_t up);

/*
 * Response bytes on the wire: hdr is CURLINFO_HEADER_SIZE, down is
 * CURLINFO_SIZE_DOWNLOAD_T; negative figures count as 0.
 */
uint64_t httpx_recv_bytes(long hdr, curl_off_t down);

/*
 * Finds "session_id": "<value>" in s (n bytes, not NUL-terminated, a
 * reply's first bytes: it may be cut anywhere). Whitespace may surround
 * the colon. The value must be 1..HTTPX_SID_MAX-1 characters of
 * [A-Za-z0-9._~-] (it goes into URLs as is) and closed by '"' within s;
 * the first "session_id" key followed by ':' and '"' decides. On
 * success copies the value into out (HTTPX_SID_MAX bytes), NUL-terminates
 * it and returns its length; else returns 0 and out is unspecified.
 * Borrows s and out.
 */
size_t httpx_parse_session_id(const char *s, size_t n, char *out);

/*
 * Appends what of p (n bytes) fits into buf (cap bytes, *len used) and
 * advances *len; the rest is dropped. Returns the bytes kept. For
 * keeping a reply's first bytes, however long the reply.
 */
size_t httpx_keep(char *buf, size_t *len, size_t cap, const char *p, size_t n);

/*
 * Writes POST /sessions' body {"node_id":"<node_id>"} into out (cap
 * bytes, NUL-terminated), '"' and '\\' escaped, and sets *len to its
 * length. Returns 0, or E_INVAL when node_id holds a control character
 * (below 0x20) or the body does not fit (*len untouched, out
 * unspecified). Other bytes, UTF-8 included, are copied as they are.
 */
int httpx_session_body(const char *node_id, char *out, size_t cap, size_t *len);

/* The smallest cap httpx_invalid_body writes every kind into (the
 * vector kind then holds as many numbers as fit, fewer than dim + 1 when
 * cap is short; the engine sizes its bodies for dim + 1). */
#define HTTPX_INVALID_MIN 48

/*
 * Writes the body of a request KATO must reject (docs/tests-design.md
 * 5.6) into body (cap bytes, NUL-terminated), kind k of the rotation:
 * 0 malformed JSON (422), 1 the wrong shape (422), 2 a vector of dim + 1
 * numbers, one longer than the node's dimension dim (400), any other k
 * a valid observe (sent to a session that does not exist: 404). Returns the
 * body's length, or 0 (nothing written) when cap is below HTTPX_INVALID_MIN.
 */
size_t httpx_invalid_body(unsigned k, uint32_t dim, char *body, size_t cap);

#endif
