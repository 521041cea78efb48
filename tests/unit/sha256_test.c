/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/sha256: the FIPS 180-2/180-4 example messages, the
 * RFC 4231 HMAC-SHA-256 test cases 1-7, streaming in odd chunk sizes, and
 * the constant-time comparison.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "../../common/sha256.h"

#include "../../common/poison.h"

/* Parses a lowercase hex string of exactly 2 * n digits into out. */
static void
from_hex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char ch = hex[2 * i + (size_t)j];
            unsigned d;
            if (ch >= '0' && ch <= '9') {
                d = (unsigned)(ch - '0');
            } else if (ch >= 'a' && ch <= 'f') {
                d = (unsigned)(ch - 'a' + 10);
            } else {
                fail_msg("bad hex digit '%c'", ch);
                return;
            }
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
}

static void
assert_digest(const uint8_t *got, const char *want_hex, size_t n)
{
    uint8_t want[SHA256_LEN];

    assert_true(n <= sizeof(want));
    from_hex(want_hex, want, n);
    assert_memory_equal(got, want, n);
}

static void
check_sha(const char *msg, const char *want_hex)
{
    uint8_t out[SHA256_LEN];

    sha256(msg, strlen(msg), out);
    assert_digest(out, want_hex, SHA256_LEN);
}

static void
test_fips_vectors(void **state)
{
    (void)state;
    check_sha("", "e3b0c44298fc1c149afbf4c8996fb924"
                  "27ae41e4649b934ca495991b7852b855");
    check_sha("abc", "ba7816bf8f01cfea414140de5dae2223"
                     "b00361a396177a9cb410ff61f20015ad");
    /* 448 bits: the padding needs a second block. */
    check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
              "248d6a61d20638b8e5c026930c3e6039"
              "a33ce45964ff2167f6ecedd419db06c1");
    /* 896 bits */
    check_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
              "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
              "cf5b16a778af8380036ce59e7b049237"
              "0b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void **state)
{
    uint8_t chunk[1000];
    uint8_t out[SHA256_LEN];
    struct sha256 c;

    (void)state;
    memset(chunk, 'a', sizeof(chunk));
    sha256_init(&c);
    for (int i = 0; i < 1000; i++) {
        sha256_update(&c, chunk, sizeof(chunk));
    }
    sha256_final(&c, out);
    assert_digest(out,
                  "cdc76e5c9914fb9281a1c7e284d73e67"
                  "f1809a48a497200e046d39ccc7112cd0",
                  SHA256_LEN);
}

/* Message lengths around the padding boundaries (55, 56, 63, 64, 65
 * bytes) against the one-shot result, fed in every chunk size 1..67. */
static void
test_streaming_chunks(void **state)
{
    uint8_t msg[300];
    uint8_t want[SHA256_LEN];
    uint8_t got[SHA256_LEN];
    static const size_t lens[] = {0,  1,  55,  56,  57,  63,
                                  64, 65, 119, 128, 255, 300};

    (void)state;
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)(i * 131u + 7u);
    }
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t len = lens[li];
        sha256(msg, len, want);
        for (size_t chunk = 1; chunk <= 67; chunk++) {
            struct sha256 c;
            size_t off = 0;
            sha256_init(&c);
            while (off < len) {
                size_t n = len - off < chunk ? len - off : chunk;
                sha256_update(&c, msg + off, n);
                sha256_update(&c, msg + off, 0); /* empty updates too */
                off += n;
            }
            sha256_final(&c, got);
            assert_memory_equal(got, want, SHA256_LEN);
        }
    }
    /* And a known value fed in odd chunks: "abc...nopq" as 7 + 13 + 36. */
    {
        const char *m =
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        struct sha256 c;
        sha256_init(&c);
        sha256_update(&c, m, 7);
        sha256_update(&c, m + 7, 13);
        sha256_update(&c, m + 20, strlen(m) - 20);
        sha256_final(&c, got);
        assert_digest(got,
                      "248d6a61d20638b8e5c026930c3e6039"
                      "a33ce45964ff2167f6ecedd419db06c1",
                      SHA256_LEN);
    }
}

struct hmac_case {
    const char *name;
    uint8_t key_byte; /* fill byte; 0 means key_str or the 0x01.. key */
    size_t key_len;
    const char *key_str;
    uint8_t data_byte; /* fill byte; 0 means data_str */
    size_t data_len;
    const char *data_str;
    const char *mac_hex; /* may be truncated (case 5: 128 bits) */
};

static void
test_rfc4231(void **state)
{
    static const struct hmac_case cases[] = {
        {"1", 0x0b, 20, NULL, 0, 0, "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"2", 0, 4, "Jefe", 0, 0, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"3", 0xaa, 20, NULL, 0xdd, 50, NULL,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {"4", 0, 25, NULL, 0xcd, 50, NULL,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {"5", 0x0c, 20, NULL, 0, 0, "Test With Truncation",
         "a3b6167473100ee06e0c796c2955552b"},
        {"6", 0xaa, 131, NULL, 0, 0,
         "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {"7", 0xaa, 131, NULL, 0, 0,
         "This is a test using a larger than block-size key and a larger "
         "than block-size data. The key needs to be hashed before being "
         "used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hmac_case *tc = &cases[i];
        uint8_t key[131];
        uint8_t data[64];
        const void *d;
        size_t dlen;
        uint8_t mac[SHA256_LEN];

        assert_true(tc->key_len <= sizeof(key));
        if (tc->key_str != NULL) {
            memcpy(key, tc->key_str, tc->key_len);
        } else if (tc->key_byte != 0) {
            memset(key, tc->key_byte, tc->key_len);
        } else {
            for (size_t j = 0; j < tc->key_len; j++) {
                key[j] = (uint8_t)(j + 1); /* 0x01 .. 0x19 */
            }
        }
        if (tc->data_str != NULL) {
            d = tc->data_str;
            dlen = strlen(tc->data_str);
        } else {
            assert_true(tc->data_len <= sizeof(data));
            memset(data, tc->data_byte, tc->data_len);
            d = data;
            dlen = tc->data_len;
        }
        hmac_sha256(key, tc->key_len, d, dlen, mac);
        print_message("rfc4231 case %s\n", tc->name);
        assert_digest(mac, tc->mac_hex, strlen(tc->mac_hex) / 2);
    }
}

static void
test_hmac_empty_key(void **state)
{
    uint8_t a[SHA256_LEN];
    uint8_t b[SHA256_LEN];
    uint8_t zeros[65];

    (void)state;
    /* An empty key is a 64-byte zero key after padding. */
    memset(zeros, 0, sizeof(zeros));
    hmac_sha256(NULL, 0, "x", 1, a);
    hmac_sha256(zeros, 64, "x", 1, b);
    assert_memory_equal(a, b, SHA256_LEN);
    /* A 64-byte key is used as is, a 65-byte key is hashed first. */
    hmac_sha256(zeros, 65, "x", 1, b);
    assert_memory_not_equal(a, b, SHA256_LEN);
}

static void
test_equal(void **state)
{
    uint8_t a[32];
    uint8_t b[32];

    (void)state;
    for (size_t i = 0; i < sizeof(a); i++) {
        a[i] = (uint8_t)(i * 7);
    }
    memcpy(b, a, sizeof(a));
    assert_int_equal(sha256_equal(a, b, sizeof(a)), 1);
    assert_int_equal(sha256_equal(a, b, 0), 1);
    /* A difference anywhere, in any bit, is found. */
    for (size_t i = 0; i < sizeof(a); i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(sha256_equal(a, b, sizeof(a)), 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    b[31] ^= 0x80;
    assert_int_equal(sha256_equal(a, b, 31), 1); /* only n bytes compared */
    assert_int_equal(sha256_equal(a, b, 32), 0);
}

int
sha256_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_streaming_chunks),
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_hmac_empty_key),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
