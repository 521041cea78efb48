/* SPDX-License-Identifier: MIT */
/*
 * common/tls.h's pure part: the option rules of the master and the agent,
 * and the host of a URL (the agent's default server name).
 */
#include "unit.h"

#include <string.h>

#include "../../common/err.h"
#include "../../common/tls.h"

#include "../../common/poison.h"

static void
test_url_is_tls(void **state)
{
    (void)state;
    assert_true(tls_url_is_tls("tls+tcp://127.0.0.1:7700"));
    assert_false(tls_url_is_tls("tcp://127.0.0.1:7700"));
    assert_false(tls_url_is_tls("tls+tcp:/x"));
    assert_false(tls_url_is_tls("ipc:///tmp/x"));
    assert_false(tls_url_is_tls(NULL));
}

static void
test_url_host(void **state)
{
    char h[32];

    (void)state;
    memset(h, 'x', sizeof(h));
    assert_int_equal(
        tls_url_host("tls+tcp://master.example:7700", h, sizeof(h)), 0);
    assert_string_equal(h, "master.example");
    assert_int_equal(tls_url_host("tls+tcp://10.0.0.5:7700", h, sizeof(h)), 0);
    assert_string_equal(h, "10.0.0.5");
    assert_int_equal(tls_url_host("tls+tcp://[::1]:7700", h, sizeof(h)), 0);
    assert_string_equal(h, "::1");
    /* Refused: no scheme, no port, empty host, unclosed bracket. */
    assert_int_equal(tls_url_host("master:7700", h, sizeof(h)), E_INVAL);
    assert_int_equal(tls_url_host("tls+tcp://master", h, sizeof(h)), E_INVAL);
    assert_int_equal(tls_url_host("tls+tcp://:7700", h, sizeof(h)), E_INVAL);
    assert_int_equal(tls_url_host("tls+tcp://[::1:7700", h, sizeof(h)),
                     E_INVAL);
    /* Too long for out: E_RANGE, out untouched. */
    memset(h, 'x', sizeof(h));
    assert_int_equal(tls_url_host("tls+tcp://a-very-long-host-name.example."
                                  "org:7700",
                                  h, 8),
                     E_RANGE);
    assert_int_equal(h[0], 'x');
}

static void
test_host_is_ip(void **state)
{
    (void)state;
    assert_true(tls_host_is_ip("127.0.0.1"));
    assert_true(tls_host_is_ip("::1"));
    assert_true(tls_host_is_ip("fe80::1"));
    assert_false(tls_host_is_ip("localhost"));
    assert_false(tls_host_is_ip("127.0.0.1.example"));
    assert_false(tls_host_is_ip("256.0.0.1"));
}

static void
test_master_opts(void **state)
{
    char err[TLS_ERR_SPACE];
    const char *tls = "tls+tcp://0.0.0.0:7700";
    const char *tcp = "tcp://0.0.0.0:7700";

    (void)state;
    /* Accepted. */
    assert_int_equal(tls_check_master_opts(NULL, NULL, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(tls_check_master_opts(tcp, NULL, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(
        tls_check_master_opts(tls, "c.pem", NULL, err, sizeof(err)), 0);
    assert_int_equal(
        tls_check_master_opts(tls, "c.pem", "k.pem", err, sizeof(err)), 0);
    /* No --listen: the default URL follows --tls-cert. */
    assert_int_equal(
        tls_check_master_opts(NULL, "c.pem", "k.pem", err, sizeof(err)), 0);
    /* Refused, each with a message naming the options. */
    err[0] = '\0';
    assert_int_equal(tls_check_master_opts(tls, NULL, NULL, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "needs --tls-cert"));
    assert_non_null(strstr(err, tls));
    err[0] = '\0';
    assert_int_equal(
        tls_check_master_opts(tcp, "c.pem", NULL, err, sizeof(err)), E_INVAL);
    assert_non_null(strstr(err, "--tls-cert needs a tls+tcp://"));
    err[0] = '\0';
    assert_int_equal(
        tls_check_master_opts(tls, NULL, "k.pem", err, sizeof(err)), E_INVAL);
    assert_non_null(strstr(err, "--tls-key needs --tls-cert"));
    assert_int_equal(
        tls_check_master_opts(NULL, NULL, "k.pem", err, sizeof(err)), E_INVAL);
    /* A short buffer still gets a NUL-terminated message. */
    assert_int_equal(tls_check_master_opts(tls, NULL, NULL, err, 8), E_INVAL);
    assert_int_equal(strlen(err), 7);
}

static void
test_agent_opts(void **state)
{
    char err[TLS_ERR_SPACE];
    char longname[TLS_NAME_MAX + 1];
    const char *tls = "tls+tcp://10.0.0.5:7700";
    const char *tcp = "tcp://10.0.0.5:7700";

    (void)state;
    assert_int_equal(tls_check_agent_opts(tcp, NULL, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(
        tls_check_agent_opts(tls, "ca.pem", NULL, err, sizeof(err)), 0);
    assert_int_equal(
        tls_check_agent_opts(tls, "ca.pem", "master", err, sizeof(err)), 0);
    /* No unverified mode: TLS without a CA is refused. */
    err[0] = '\0';
    assert_int_equal(tls_check_agent_opts(tls, NULL, NULL, err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "needs --tls-ca FILE"));
    assert_int_equal(
        tls_check_agent_opts(tls, NULL, "master", err, sizeof(err)), E_INVAL);
    err[0] = '\0';
    assert_int_equal(
        tls_check_agent_opts(tcp, "ca.pem", NULL, err, sizeof(err)), E_INVAL);
    assert_non_null(strstr(err, "--tls-ca needs a tls+tcp://"));
    err[0] = '\0';
    assert_int_equal(
        tls_check_agent_opts(tcp, NULL, "master", err, sizeof(err)), E_INVAL);
    assert_non_null(strstr(err, "--tls-server-name needs a tls+tcp://"));
    assert_int_equal(tls_check_agent_opts(tls, "ca.pem", "", err, sizeof(err)),
                     E_INVAL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(
        tls_check_agent_opts(tls, "ca.pem", longname, err, sizeof(err)),
        E_INVAL);
    longname[TLS_NAME_MAX - 1] = '\0'; /* 255 characters: the most */
    assert_int_equal(
        tls_check_agent_opts(tls, "ca.pem", longname, err, sizeof(err)), 0);
}

static void
test_mutual_opts(void **state)
{
    char err[TLS_ERR_SPACE];
    const char *tls = "tls+tcp://10.0.0.5:7700";

    (void)state;
    /* Master: --tls-ca needs --tls-cert and remote agents. */
    assert_int_equal(
        tls_check_master_client_ca(NULL, NULL, true, err, sizeof(err)), 0);
    assert_int_equal(
        tls_check_master_client_ca("c.pem", "ca.pem", false, err, sizeof(err)),
        0);
    err[0] = '\0';
    assert_int_equal(
        tls_check_master_client_ca(NULL, "ca.pem", false, err, sizeof(err)),
        E_INVAL);
    assert_non_null(strstr(err, "needs --tls-cert"));
    err[0] = '\0';
    assert_int_equal(
        tls_check_master_client_ca("c.pem", "ca.pem", true, err, sizeof(err)),
        E_INVAL);
    assert_non_null(strstr(err, "needs --agents N"));
    /* Agent: a client certificate needs tls+tcp://; a key needs it. */
    assert_int_equal(tls_check_agent_cert(tls, NULL, NULL, err, sizeof(err)),
                     0);
    assert_int_equal(tls_check_agent_cert(tls, "a.pem", NULL, err, sizeof(err)),
                     0);
    assert_int_equal(
        tls_check_agent_cert(tls, "a.pem", "a.key", err, sizeof(err)), 0);
    err[0] = '\0';
    assert_int_equal(tls_check_agent_cert(tls, NULL, "a.key", err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "--tls-key needs --tls-cert"));
    err[0] = '\0';
    assert_int_equal(tls_check_agent_cert("tcp://10.0.0.5:7700", "a.pem", NULL,
                                          err, sizeof(err)),
                     E_INVAL);
    assert_non_null(strstr(err, "--tls-cert needs a tls+tcp://"));
}

int
tls_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_is_tls), cmocka_unit_test(test_url_host),
        cmocka_unit_test(test_host_is_ip), cmocka_unit_test(test_master_opts),
        cmocka_unit_test(test_agent_opts), cmocka_unit_test(test_mutual_opts),
    };
    return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
