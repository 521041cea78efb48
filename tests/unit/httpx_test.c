/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for agent/httpx: the error key of every libcurl code and
 * HTTP status the engine can meet, the byte counts, the session-id
 * parser against cut, oversized, non-ASCII and misleading replies, the
 * bounded keep, and the bodies the engine writes itself.
 */
#include "unit.h"

#include <string.h>

#include "../../agent/httpx.h"
#include "../../common/err.h"
#include "../../common/ops.h"

#include "../../common/poison.h"

static void
test_curl_error_key(void **state)
{
    (void)state;
    assert_int_equal(httpx_curl_error_key(CURLE_COULDNT_CONNECT), ERRK_CONNECT);
    assert_int_equal(httpx_curl_error_key(CURLE_OPERATION_TIMEDOUT),
                     ERRK_TIMEOUT);
    assert_int_equal(httpx_curl_error_key(CURLE_RECV_ERROR), ERRK_RESET);
    assert_int_equal(httpx_curl_error_key(CURLE_SEND_ERROR), ERRK_RESET);
    assert_int_equal(httpx_curl_error_key(CURLE_GOT_NOTHING), ERRK_RESET);
    assert_int_equal(httpx_curl_error_key(CURLE_PARTIAL_FILE), ERRK_RESET);
    assert_int_equal(httpx_curl_error_key(CURLE_COULDNT_RESOLVE_HOST),
                     ERRK_DNS);
    /* Everything else is "other", CURLE_OK and codes past the last
     * libcurl knows included; the key is always a valid one. */
    assert_int_equal(httpx_curl_error_key(CURLE_OK), ERRK_OTHER);
    assert_int_equal(httpx_curl_error_key(CURLE_SSL_CONNECT_ERROR), ERRK_OTHER);
    assert_int_equal(httpx_curl_error_key(CURLE_COULDNT_RESOLVE_PROXY),
                     ERRK_OTHER);
    assert_int_equal(httpx_curl_error_key(CURLE_TOO_MANY_REDIRECTS),
                     ERRK_OTHER);
    assert_int_equal(httpx_curl_error_key(CURLE_ABORTED_BY_CALLBACK),
                     ERRK_OTHER);
    assert_int_equal(httpx_curl_error_key(CURLE_WRITE_ERROR), ERRK_OTHER);
    assert_int_equal(httpx_curl_error_key(CURLE_URL_MALFORMAT), ERRK_OTHER);
    for (int c = 0; c <= (int)CURL_LAST + 5; c++) {
        uint32_t k = httpx_curl_error_key((CURLcode)c);
        assert_true(errk_valid(k));
        assert_true(k > ERRK_BASE && k != ERRK_ABORTED);
    }
}

static void
test_status_error_key(void **state)
{
    (void)state;
    for (long s = 200; s <= 299; s++) {
        assert_int_equal(httpx_status_error_key(s), 0);
    }
    assert_int_equal(httpx_status_error_key(100), 100);
    assert_int_equal(httpx_status_error_key(199), 199);
    assert_int_equal(httpx_status_error_key(300), 300);
    assert_int_equal(httpx_status_error_key(404), 404);
    assert_int_equal(httpx_status_error_key(503), 503);
    assert_int_equal(httpx_status_error_key(599), 599);
    /* No status line (0), nonsense statuses: "other", never a key that
     * would land outside the 100..599 slots. */
    assert_int_equal(httpx_status_error_key(0), ERRK_OTHER);
    assert_int_equal(httpx_status_error_key(99), ERRK_OTHER);
    assert_int_equal(httpx_status_error_key(600), ERRK_OTHER);
    assert_int_equal(httpx_status_error_key(-1), ERRK_OTHER);
    assert_int_equal(httpx_status_error_key(1001), ERRK_OTHER);
    assert_int_equal(httpx_status_error_key(2147483647L), ERRK_OTHER);
}

static void
test_bytes(void **state)
{
    (void)state;
    /* A small POSTFIELDS body went out with the head: counted once. */
    assert_int_equal(httpx_sent_bytes(420, 293), 420);
    assert_int_equal(httpx_sent_bytes(120, 0), 120);
    assert_int_equal(httpx_sent_bytes(120, 120), 120);
    /* A body of 64 KiB or more went after the head: both. */
    assert_int_equal(httpx_sent_bytes(150, 70000), 70150);
    /* Unknown (negative) figures count as 0. */
    assert_int_equal(httpx_sent_bytes(-1, -1), 0);
    assert_int_equal(httpx_sent_bytes(-1, 70000), 70000);
    assert_int_equal(httpx_sent_bytes(300, -5), 300);
    assert_int_equal(httpx_sent_bytes(0, 0), 0);
    assert_true(httpx_sent_bytes(10, (curl_off_t)1 << 40) ==
                ((uint64_t)1 << 40) + 10);

    assert_int_equal(httpx_recv_bytes(200, 45), 245);
    assert_int_equal(httpx_recv_bytes(200, 0), 200);
    assert_int_equal(httpx_recv_bytes(-1, 45), 45);
    assert_int_equal(httpx_recv_bytes(200, -1), 200);
    assert_int_equal(httpx_recv_bytes(-7, -7), 0);
    assert_true(httpx_recv_bytes(100, (curl_off_t)1 << 40) ==
                ((uint64_t)1 << 40) + 100);
}

/* Parses the NUL-terminated s; the id lands in out. */
static size_t
sid(const char *s, char *out)
{
    return httpx_parse_session_id(s, strlen(s), out);
}

static void
test_session_id(void **state)
{
    char out[HTTPX_SID_MAX];
    char big[2 * HTTPX_SID_MAX + 64];
    size_t n;

    (void)state;
    assert_int_equal(sid("{\"session_id\":\"abc-123\"}", out), 7);
    assert_string_equal(out, "abc-123");
    assert_int_equal(
        sid("{\"status\":\"okay\", \"session_id\" :\t\r\n \"s_1.~X\"}", out),
        6);
    assert_string_equal(out, "s_1.~X");
    /* A UUID, as KATO makes them. */
    assert_int_equal(
        sid("{\"session_id\": \"0b5f8d2e-6f0a-4c1e-9d7b-3a2c1e0f9a8b\"}", out),
        36);
    assert_string_equal(out, "0b5f8d2e-6f0a-4c1e-9d7b-3a2c1e0f9a8b");
    /* A key-like value before the real key does not fool it; a key
     * without a colon or a string value is skipped for the next one. */
    assert_int_equal(sid("{\"x\":\"session_id\",\"session_id\":\"r1\"}", out),
                     2);
    assert_string_equal(out, "r1");
    assert_int_equal(sid("{\"session_id\" 5, \"session_id\":\"r2\"}", out), 2);
    assert_string_equal(out, "r2");
    assert_int_equal(sid("{\"session_id\": 5, \"session_id\":\"r3\"}", out), 2);
    assert_string_equal(out, "r3");

    /* Absent, empty, null, a number. */
    assert_int_equal(sid("", out), 0);
    assert_int_equal(sid("{}", out), 0);
    assert_int_equal(sid("{\"session\":\"abc\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":null}", out), 0);
    assert_int_equal(sid("{\"session_id\":42}", out), 0);
    assert_int_equal(sid("{\"Session_ID\":\"abc\"}", out), 0);

    /* Truncated anywhere: never an id from a cut reply. */
    {
        static const char full[] = "{\"session_id\": \"abcdef\"}";
        for (size_t cut = 0; cut < strlen(full) - 1; cut++) {
            n = httpx_parse_session_id(full, cut, out);
            if (cut >= strlen("{\"session_id\": \"abcdef\"")) {
                assert_int_equal(n, 6);
            } else {
                assert_int_equal(n, 0);
            }
        }
    }
    /* A NUL inside the kept bytes is just a byte that is not allowed. */
    assert_int_equal(
        httpx_parse_session_id("{\"session_id\":\"a\0b\"}", 20, out), 0);

    /* Characters that must not reach a URL: refused whole, not cut. */
    assert_int_equal(sid("{\"session_id\":\"a/b\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"a b\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"a?x=1\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"a%2e\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"a\\\"b\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"a\\u0041\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"caf\xc3\xa9\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"\xff\xfe\"}", out), 0);
    assert_int_equal(sid("{\"session_id\":\"a\r\nHost: x\"}", out), 0);

    /* Length: HTTPX_SID_MAX - 1 characters fit, HTTPX_SID_MAX do not. */
    for (size_t len = HTTPX_SID_MAX - 2; len <= HTTPX_SID_MAX + 1; len++) {
        size_t k = (size_t)snprintf(big, sizeof(big), "{\"session_id\":\"");
        memset(big + k, 'z', len);
        memcpy(big + k + len, "\"}", 3);
        memset(out, 0x55, sizeof(out));
        n = sid(big, out);
        if (len < HTTPX_SID_MAX) {
            assert_int_equal(n, len);
            assert_int_equal(strlen(out), len);
        } else {
            assert_int_equal(n, 0);
        }
    }
    /* A huge id, never closed within the kept bytes. */
    {
        size_t k = (size_t)snprintf(big, sizeof(big), "{\"session_id\":\"");
        memset(big + k, 'q', sizeof(big) - k - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(sid(big, out), 0);
    }
}

static void
test_keep(void **state)
{
    char buf[8];
    size_t len = 0;

    (void)state;
    memset(buf, 0, sizeof(buf));
    assert_int_equal(httpx_keep(buf, &len, sizeof(buf), "abc", 3), 3);
    assert_int_equal(len, 3);
    assert_int_equal(httpx_keep(buf, &len, sizeof(buf), "", 0), 0);
    assert_int_equal(httpx_keep(buf, &len, sizeof(buf), "defghijk", 8), 5);
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "abcdefgh", 8);
    /* Full: the rest is dropped, len stays at cap. */
    assert_int_equal(httpx_keep(buf, &len, sizeof(buf), "xyz", 3), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "abcdefgh", 8);
}

static void
test_session_body(void **state)
{
    char out[64];
    char name[64];
    size_t len = 99;

    (void)state;
    assert_int_equal(httpx_session_body("node-1", out, sizeof(out), &len), 0);
    assert_string_equal(out, "{\"node_id\":\"node-1\"}");
    assert_int_equal(len, strlen(out));
    assert_int_equal(httpx_session_body("", out, sizeof(out), &len), 0);
    assert_string_equal(out, "{\"node_id\":\"\"}");
    assert_int_equal(len, 14);
    assert_int_equal(httpx_session_body("a\"b\\c", out, sizeof(out), &len), 0);
    assert_string_equal(out, "{\"node_id\":\"a\\\"b\\\\c\"}");
    assert_int_equal(len, strlen(out));
    /* UTF-8 passes as it is. */
    assert_int_equal(httpx_session_body("n\xc5\x93ud", out, sizeof(out), &len),
                     0);
    assert_string_equal(out, "{\"node_id\":\"n\xc5\x93ud\"}");

    /* Control characters are refused, *len untouched. */
    len = 99;
    assert_int_equal(httpx_session_body("a\nb", out, sizeof(out), &len),
                     E_INVAL);
    assert_int_equal(httpx_session_body("\t", out, sizeof(out), &len), E_INVAL);
    assert_int_equal(httpx_session_body("\x1f", out, sizeof(out), &len),
                     E_INVAL);
    assert_int_equal(len, 99);

    /* The bound: room is kept for an escape before each byte, so the
     * longest plain name is cap - 16 bytes (the body then takes cap - 2),
     * and one more byte is refused. */
    memset(name, 'n', sizeof(name));
    name[sizeof(out) - 16] = '\0';
    assert_int_equal(httpx_session_body(name, out, sizeof(out), &len), 0);
    assert_int_equal(len, sizeof(out) - 2);
    assert_int_equal(strlen(out), sizeof(out) - 2);
    name[sizeof(out) - 16] = 'n';
    name[sizeof(out) - 15] = '\0';
    assert_int_equal(httpx_session_body(name, out, sizeof(out), &len), E_INVAL);
    /* Escapes count: all quotes need twice the room. */
    memset(name, '"', 30);
    name[30] = '\0';
    assert_int_equal(httpx_session_body(name, out, sizeof(out), &len), E_INVAL);
    name[24] = '\0';
    assert_int_equal(httpx_session_body(name, out, sizeof(out), &len), 0);
    assert_int_equal(len, 12 + 48 + 2);
    /* Too small for the head: refused, nothing written past cap. */
    assert_int_equal(httpx_session_body("", out, 14, &len), E_INVAL);
    assert_int_equal(httpx_session_body("", out, 15, &len), 0);
    assert_string_equal(out, "{\"node_id\":\"\"}");
}

static void
test_invalid_body(void **state)
{
    char body[256];
    size_t n;
    size_t commas = 0;

    (void)state;
    n = httpx_invalid_body(0, 4, body, sizeof(body));
    assert_string_equal(body, "{\"strings\": [\"a\", ");
    assert_int_equal(n, strlen(body));
    n = httpx_invalid_body(1, 4, body, sizeof(body));
    assert_string_equal(body, "{\"strings\": \"x\"}");
    assert_int_equal(n, strlen(body));
    n = httpx_invalid_body(3, 4, body, sizeof(body));
    assert_string_equal(body, "{\"strings\": [\"a\"]}");
    assert_int_equal(n, strlen(body));
    assert_int_equal(httpx_invalid_body(7, 4, body, sizeof(body)), n);
    assert_string_equal(body, "{\"strings\": [\"a\"]}");

    /* Kind 2: dim + 1 numbers, one too many for the node. */
    n = httpx_invalid_body(2, 4, body, sizeof(body));
    assert_string_equal(
        body, "{\"strings\": [\"a\"], \"vectors\": [[0.5,0.5,0.5,0.5,0.5]]}");
    assert_int_equal(n, strlen(body));
    n = httpx_invalid_body(2, 0, body, sizeof(body));
    assert_string_equal(body, "{\"strings\": [\"a\"], \"vectors\": [[0.5]]}");
    /* The engine's size (64 + 4 (dim + 1)) holds every number. */
    n = httpx_invalid_body(2, 40, body, 64 + 4 * 41);
    assert_int_equal(n, strlen(body));
    for (size_t i = 0; i < n; i++) {
        commas += body[i] == ',';
    }
    assert_int_equal(commas, 1 + 40); /* after "a", then between numbers */
    assert_string_equal(body + n - 7, ",0.5]]}");

    /* A short buffer: fewer numbers, still well formed and in bounds. */
    memset(body, 0x77, sizeof(body));
    n = httpx_invalid_body(2, 1000, body, HTTPX_INVALID_MIN);
    assert_true(n < HTTPX_INVALID_MIN);
    assert_int_equal(n, strlen(body));
    assert_string_equal(body + n - 3, "]]}");
    assert_int_equal((unsigned char)body[HTTPX_INVALID_MIN], 0x77);
    /* Below the minimum: nothing written. */
    memset(body, 0x77, sizeof(body));
    for (unsigned k = 0; k < 4; k++) {
        assert_int_equal(httpx_invalid_body(k, 4, body, HTTPX_INVALID_MIN - 1),
                         0);
    }
    assert_int_equal((unsigned char)body[0], 0x77);
}

int
httpx_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curl_error_key),
        cmocka_unit_test(test_status_error_key),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_session_id),
        cmocka_unit_test(test_keep),
        cmocka_unit_test(test_session_body),
        cmocka_unit_test(test_invalid_body),
    };
    return cmocka_run_group_tests_name("httpx", tests, NULL, NULL);
}
