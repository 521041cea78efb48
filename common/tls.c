/* SPDX-License-Identifier: MIT */
/*
 * TLS options and configurations for the control channel. See tls.h.
 * Files are read once, bounded, NUL-terminated (mbedTLS's PEM parser wants
 * the NUL counted in the length), parsed by mbedTLS for a precise reason,
 * then handed to nng as the same PEM text.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "alloc.h"
#include "err.h"
#include "poison.h"

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* --- pure checks ---------------------------------------------------------- */

bool
tls_url_is_tls(const char *url)
{
    return url != NULL && strncmp(url, TLS_SCHEME, strlen(TLS_SCHEME)) == 0;
}

int
tls_url_host(const char *url, char *out, size_t outlen)
{
    const char *h = url != NULL ? strstr(url, "://") : NULL;
    const char *end = NULL;
    size_t n = 0;

    if (h == NULL) {
        return E_INVAL;
    }
    h += 3;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
        if (end == NULL || end[1] != ':') {
            return E_INVAL;
        }
    } else {
        end = strrchr(h, ':');
        if (end == NULL) {
            return E_INVAL;
        }
    }
    n = (size_t)(end - h);
    if (n == 0) {
        return E_INVAL;
    }
    if (n >= outlen) {
        return E_RANGE;
    }
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

bool
tls_host_is_ip(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 ||
           inet_pton(AF_INET6, host, a) == 1;
}

int
tls_check_master_opts(const char *listen, const char *cert, const char *key,
                      char *err, size_t errlen)
{
    if (key != NULL && cert == NULL) {
        say(err, errlen, "--tls-key needs --tls-cert");
        return E_INVAL;
    }
    if (listen == NULL) {
        return 0; /* the default URL follows --tls-cert */
    }
    if (tls_url_is_tls(listen) && cert == NULL) {
        say(err, errlen,
            "--listen %s needs --tls-cert FILE (and --tls-key FILE unless the "
            "key is in the certificate's file)",
            listen);
        return E_INVAL;
    }
    if (!tls_url_is_tls(listen) && cert != NULL) {
        say(err, errlen,
            "--tls-cert needs a " TLS_SCHEME "HOST:PORT listen URL, got "
            "--listen %s",
            listen);
        return E_INVAL;
    }
    return 0;
}

int
tls_check_agent_opts(const char *master, const char *ca,
                     const char *server_name, char *err, size_t errlen)
{
    bool tls = tls_url_is_tls(master);

    if (tls && ca == NULL) {
        say(err, errlen,
            "--master %s needs --tls-ca FILE (the CA that signed the master's "
            "certificate; there is no unverified mode)",
            master);
        return E_INVAL;
    }
    if (!tls && (ca != NULL || server_name != NULL)) {
        say(err, errlen,
            "%s needs a " TLS_SCHEME "HOST:PORT master URL, got '%s'",
            ca != NULL ? "--tls-ca" : "--tls-server-name",
            master != NULL ? master : "");
        return E_INVAL;
    }
    if (server_name != NULL &&
        (server_name[0] == '\0' || strlen(server_name) >= TLS_NAME_MAX)) {
        say(err, errlen, "--tls-server-name wants 1..%d characters",
            TLS_NAME_MAX - 1);
        return E_INVAL;
    }
    return 0;
}

int
tls_check_master_client_ca(const char *cert, const char *client_ca,
                           bool local_agents, char *err, size_t errlen)
{
    if (client_ca == NULL) {
        return 0;
    }
    if (cert == NULL) {
        say(err, errlen, "--tls-ca (client certificates) needs --tls-cert");
        return E_INVAL;
    }
    if (local_agents) {
        say(err, errlen,
            "--tls-ca (client certificates) needs --agents N: local agents "
            "have no client certificate");
        return E_INVAL;
    }
    return 0;
}

int
tls_check_agent_cert(const char *master, const char *cert, const char *key,
                     char *err, size_t errlen)
{
    if (key != NULL && cert == NULL) {
        say(err, errlen, "--tls-key needs --tls-cert");
        return E_INVAL;
    }
    if (cert != NULL && !tls_url_is_tls(master)) {
        say(err, errlen,
            "--tls-cert needs a " TLS_SCHEME "HOST:PORT master URL, got '%s'",
            master != NULL ? master : "");
        return E_INVAL;
    }
    return 0;
}

/* --- PEM files --------------------------------------------------------------
 */

/* Reads path whole into a new NUL-terminated buffer (*len excludes the
 * NUL). */
static int
read_pem(const char *path, const char *what, char **out, size_t *len, char *err,
         size_t errlen)
{
    char *b = NULL;
    size_t n = 0;
    int rv = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;
        char msg[128];
        if (strerror_r(e, msg, sizeof(msg)) != 0) {
            (void)snprintf(msg, sizeof(msg), "errno %d", e);
        }
        say(err, errlen, "%s %s: %s", what, path, msg);
        return E_IO;
    }
    b = xmalloc(TLS_PEM_MAX + 1);
    if (b == NULL) {
        rv = E_NOMEM;
        goto out;
    }
    while (n < TLS_PEM_MAX + 1) {
        ssize_t r = read(fd, b + n, TLS_PEM_MAX + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int e = errno;
            say(err, errlen, "%s %s: read failed (errno %d)", what, path, e);
            rv = E_IO;
            goto out;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (n > TLS_PEM_MAX) {
        say(err, errlen, "%s %s: larger than %d bytes", what, path,
            TLS_PEM_MAX);
        rv = E_TOOBIG;
        goto out;
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    b = NULL;
out:
    (void)close(fd);
    xfree(b);
    return rv;
}

/* mbedTLS's text for code, e.g. "X509 - The CRT/CRL/CSR format is
 * invalid". */
static void
mbed_reason(int code, char *buf, size_t n)
{
    mbedtls_strerror(code, buf, n);
    if (buf[0] == '\0') {
        (void)snprintf(buf, n, "mbedTLS error -0x%04x",
                       (unsigned)(code < 0 ? -code : code));
    }
}

/* Parses the certificates of a PEM text; E_CONFIG with the reason when
 * none, or when mbedTLS refuses one. */
static int
parse_certs(mbedtls_x509_crt *crt, const char *pem, size_t len,
            const char *what, const char *path, char *err, size_t errlen)
{
    char why[200];
    int mrv = 0;

    if (strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL) {
        say(err, errlen, "%s %s: no PEM certificate in it", what, path);
        return E_CONFIG;
    }
    mrv = mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, len + 1);
    if (mrv != 0) {
        /* > 0: that many certificates of the file did not parse. */
        if (mrv > 0) {
            (void)snprintf(why, sizeof(why), "%d certificate(s) not parsed",
                           mrv);
        } else {
            mbed_reason(mrv, why, sizeof(why));
        }
        say(err, errlen, "%s %s: %s", what, path, why);
        return E_CONFIG;
    }
    return 0;
}

/* A certificate outside its validity period cannot be used. */
static int
check_dates(const mbedtls_x509_crt *crt, const char *what, const char *path,
            char *err, size_t errlen)
{
    if (mbedtls_x509_time_is_past(&crt->valid_to)) {
        say(err, errlen, "%s %s: the certificate expired on %04d-%02d-%02d",
            what, path, crt->valid_to.year, crt->valid_to.mon,
            crt->valid_to.day);
        return E_CONFIG;
    }
    if (mbedtls_x509_time_is_future(&crt->valid_from)) {
        say(err, errlen,
            "%s %s: the certificate is not valid before %04d-%02d-%02d", what,
            path, crt->valid_from.year, crt->valid_from.mon,
            crt->valid_from.day);
        return E_CONFIG;
    }
    return 0;
}

static int
nng_reason(int nrv, const char *what, const char *path, char *err,
           size_t errlen)
{
    say(err, errlen, "%s %s: nng refused it: %s", what, path,
        nng_strerror(nrv));
    return nrv == NNG_ENOMEM ? E_NOMEM : E_CONFIG;
}

/*
 * Loads our own certificate chain (cert) and key (key, NULL: in cert's
 * file) into cfg, after mbedTLS has parsed both, checked the dates and
 * checked that the key is the certificate's.
 */
static int
load_own(nng_tls_config *cfg, const char *cert, const char *key, char *err,
         size_t errlen)
{
    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    char *cert_pem = NULL;
    char *key_pem = NULL;
    const char *key_text = NULL;
    const char *key_path = key != NULL ? key : cert;
    const char *key_what = key != NULL ? "--tls-key" : "--tls-cert";
    size_t cert_len = 0;
    size_t key_len = 0;
    char why[200];
    int mrv = 0;
    int nrv = 0;
    int rv = 0;

    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    if ((rv = read_pem(cert, "--tls-cert", &cert_pem, &cert_len, err,
                       errlen)) != 0 ||
        (rv = parse_certs(&crt, cert_pem, cert_len, "--tls-cert", cert, err,
                          errlen)) != 0 ||
        (rv = check_dates(&crt, "--tls-cert", cert, err, errlen)) != 0) {
        goto out;
    }
    if (key != NULL) {
        if ((rv = read_pem(key, "--tls-key", &key_pem, &key_len, err,
                           errlen)) != 0) {
            goto out;
        }
        key_text = key_pem;
    } else {
        key_text = cert_pem;
        key_len = cert_len;
    }
    if (strstr(key_text, "PRIVATE KEY-----") == NULL) {
        say(err, errlen, "%s %s: no PEM private key in it%s", key_what,
            key_path, key == NULL ? " (give --tls-key FILE)" : "");
        rv = E_CONFIG;
        goto out;
    }
    mrv = mbedtls_pk_parse_key(&pk, (const unsigned char *)key_text,
                               key_len + 1, NULL, 0);
    if (mrv != 0) {
        mbed_reason(mrv, why, sizeof(why));
        say(err, errlen, "%s %s: %s", key_what, key_path, why);
        rv = E_CONFIG;
        goto out;
    }
    /* mbedTLS's code here says only "bad input" (EC) or "key check
     * failed" (RSA): the plain words are clearer. */
    if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0) {
        say(err, errlen,
            "%s %s is not the key of the certificate in --tls-cert %s (the "
            "public keys differ)",
            key_what, key_path, cert);
        rv = E_CONFIG;
        goto out;
    }
    if ((nrv = nng_tls_config_own_cert(cfg, cert_pem, key_text, NULL)) != 0) {
        rv = nng_reason(nrv, "--tls-cert", cert, err, errlen);
        goto out;
    }
out:
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&crt);
    if (key_pem != NULL) {
        memset(key_pem, 0, key_len);
        xfree(key_pem);
    }
    if (cert_pem != NULL) {
        memset(cert_pem, 0, cert_len); /* it may hold the key */
        xfree(cert_pem);
    }
    return rv;
}

/* Loads the CA certificates of file ca (named by option what) as cfg's
 * trust anchors, after mbedTLS has parsed them. */
static int
load_ca(nng_tls_config *cfg, const char *ca, const char *what, char *err,
        size_t errlen)
{
    mbedtls_x509_crt crt;
    char *pem = NULL;
    size_t len = 0;
    int nrv = 0;
    int rv = 0;

    mbedtls_x509_crt_init(&crt);
    if ((rv = read_pem(ca, what, &pem, &len, err, errlen)) != 0 ||
        (rv = parse_certs(&crt, pem, len, what, ca, err, errlen)) != 0) {
        goto out;
    }
    if ((nrv = nng_tls_config_ca_chain(cfg, pem, NULL)) != 0) {
        rv = nng_reason(nrv, what, ca, err, errlen);
    }
out:
    mbedtls_x509_crt_free(&crt);
    xfree(pem);
    return rv;
}

int
tls_server_config(nng_tls_config **out, const char *cert, const char *key,
                  const char *client_ca, char *err, size_t errlen)
{
    nng_tls_config *cfg = NULL;
    int nrv = 0;
    int rv = 0;

    if ((nrv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) != 0) {
        return nng_reason(nrv, "--tls-cert", cert, err, errlen);
    }
    if ((rv = load_own(cfg, cert, key, err, errlen)) != 0) {
        goto out;
    }
    /* Without client_ca no client certificate is asked for: agents
     * authenticate with the token (which they do in any case). */
    if (client_ca != NULL &&
        (rv = load_ca(cfg, client_ca, "--tls-ca", err, errlen)) != 0) {
        goto out;
    }
    if ((nrv = nng_tls_config_auth_mode(
             cfg, client_ca != NULL ? NNG_TLS_AUTH_MODE_REQUIRED
                                    : NNG_TLS_AUTH_MODE_NONE)) != 0) {
        rv = nng_reason(nrv, "--tls-cert", cert, err, errlen);
        goto out;
    }
    *out = cfg;
    cfg = NULL;
out:
    if (cfg != NULL) {
        nng_tls_config_free(cfg);
    }
    return rv;
}

int
tls_client_config(nng_tls_config **out, const char *ca, const char *server_name,
                  const char *cert, const char *key, char *err, size_t errlen)
{
    nng_tls_config *cfg = NULL;
    int nrv = 0;
    int rv = 0;

    if ((nrv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0) {
        return nng_reason(nrv, "--tls-ca", ca, err, errlen);
    }
    if ((rv = load_ca(cfg, ca, "--tls-ca", err, errlen)) != 0 ||
        (cert != NULL && (rv = load_own(cfg, cert, key, err, errlen)) != 0)) {
        goto out;
    }
    if ((nrv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) !=
            0 ||
        (nrv = nng_tls_config_server_name(cfg, server_name)) != 0) {
        rv = nng_reason(nrv, "--tls-ca", ca, err, errlen);
        goto out;
    }
    *out = cfg;
    cfg = NULL;
out:
    if (cfg != NULL) {
        nng_tls_config_free(cfg);
    }
    return rv;
}

/* The first dNSName of the certificate, else its CN. */
static int
cert_name(const mbedtls_x509_crt *crt, char *name, size_t namelen)
{
    const mbedtls_x509_sequence *san = &crt->subject_alt_names;
    const mbedtls_x509_name *dn = &crt->subject;

    for (; san != NULL && san->buf.p != NULL; san = san->next) {
        if (san->buf.tag ==
            (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
            if (san->buf.len == 0 || san->buf.len >= namelen) {
                return E_RANGE;
            }
            memcpy(name, san->buf.p, san->buf.len);
            name[san->buf.len] = '\0';
            return 0;
        }
    }
    for (; dn != NULL; dn = dn->next) {
        if (dn->oid.p != NULL &&
            MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &dn->oid) == 0) {
            if (dn->val.len == 0 || dn->val.len >= namelen) {
                return E_RANGE;
            }
            memcpy(name, dn->val.p, dn->val.len);
            name[dn->val.len] = '\0';
            return 0;
        }
    }
    return E_NOTFOUND;
}

int
tls_local_name(const char *cert, char *name, size_t namelen, char *err,
               size_t errlen)
{
    mbedtls_x509_crt crt;
    mbedtls_x509_crt ca;
    char found[TLS_NAME_MAX];
    char why[256];
    char *pem = NULL;
    size_t len = 0;
    uint32_t flags = 0;
    int mrv = 0;
    int rv = 0;

    mbedtls_x509_crt_init(&crt);
    mbedtls_x509_crt_init(&ca);
    if ((rv = read_pem(cert, "--tls-cert", &pem, &len, err, errlen)) != 0 ||
        (rv = parse_certs(&crt, pem, len, "--tls-cert", cert, err, errlen)) !=
            0 ||
        (rv = parse_certs(&ca, pem, len, "--tls-cert", cert, err, errlen)) !=
            0) {
        goto out;
    }
    if (cert_name(&crt, found, sizeof(found)) != 0) {
        say(err, errlen,
            "--tls-cert %s: the certificate has no DNS name and no CN for the "
            "local agents to verify",
            cert);
        rv = E_CONFIG;
        goto out;
    }
    mrv = mbedtls_x509_crt_verify(&crt, &ca, NULL, found, &flags, NULL, NULL);
    if (mrv != 0) {
        int k = mbedtls_x509_crt_verify_info(why, sizeof(why), "", flags);
        /* One line: the info is one line per flag. */
        for (int i = 0; k > 0 && i < k; i++) {
            if (why[i] == '\n') {
                why[i] = i + 1 < k ? ';' : '\0';
            }
        }
        say(err, errlen,
            "--tls-cert %s: local agents trust this file as their CA, but the "
            "certificate does not verify against it for '%s' (%s); append the "
            "CA's certificate to the file, or use --agents N with remote "
            "agents",
            cert, found, k > 0 ? why : "verification failed");
        rv = E_CONFIG;
        goto out;
    }
    if (strlen(found) >= namelen) {
        rv = E_RANGE;
        goto out;
    }
    (void)snprintf(name, namelen, "%s", found);
out:
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&crt);
    if (pem != NULL) {
        memset(pem, 0, len);
        xfree(pem);
    }
    return rv;
}

/* --- handshake failures ------------------------------------------------------
 */

/* Sums the counters of st's children named in names (NULL-terminated). */
static uint64_t
sum_counters(nng_stat *st, const char *const *names)
{
    uint64_t n = 0;

    for (st = nng_stat_child(st); st != NULL; st = nng_stat_next(st)) {
        if (nng_stat_type(st) != NNG_STAT_COUNTER) {
            continue;
        }
        for (size_t i = 0; names[i] != NULL; i++) {
            if (strcmp(nng_stat_name(st), names[i]) == 0) {
                n += nng_stat_value(st);
            }
        }
    }
    return n;
}

/* The handshake failures counted in st (a listener's or dialer's
 * statistics in all, or NULL when nng has none); frees all. */
static int
failures_of(nng_stat *all, nng_stat *st, uint64_t *out)
{
    static const char *const names[] = {"auth", "proto", "other", NULL};
    int rv = 0;

    if (st == NULL) {
        rv = E_NOTFOUND;
    } else {
        *out = sum_counters(st, names);
    }
    nng_stats_free(all);
    return rv;
}

int
tls_listener_failures(nng_listener l, uint64_t *out)
{
    nng_stat *all = NULL;

    if (nng_stats_get(&all) != 0) {
        return E_NOMEM;
    }
    return failures_of(all, nng_stat_find_listener(all, l), out);
}

int
tls_dialer_failures(nng_dialer d, uint64_t *out)
{
    nng_stat *all = NULL;

    if (nng_stats_get(&all) != 0) {
        return E_NOMEM;
    }
    return failures_of(all, nng_stat_find_dialer(all, d), out);
}

/* --- diagnosis
 * ----------------------------------------------------------------- */

/* Connects to host:port within timeout_ms; the socket is left blocking
 * with send and receive timeouts of timeout_ms. Returns the fd or -1 with
 * the reason in why. */
static int
connect_bounded(const char *host, const char *port, unsigned timeout_ms,
                char *why, size_t whylen)
{
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    struct timeval tv;
    int fd = -1;
    int grv = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    grv = getaddrinfo(host, port, &hints, &ai);
    if (grv != 0 || ai == NULL) {
        say(why, whylen, "cannot resolve %s: %s", host, gai_strerror(grv));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        say(why, whylen, "no socket (errno %d)", errno);
        goto out;
    }
    tv.tv_sec = (time_t)(timeout_ms / 1000u);
    tv.tv_usec = (suseconds_t)(timeout_ms % 1000u) * 1000;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* With SO_SNDTIMEO, a blocking connect gives up after it too. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        char msg[128];
        if (strerror_r(e, msg, sizeof(msg)) != 0) {
            (void)snprintf(msg, sizeof(msg), "errno %d", e);
        }
        say(why, whylen, "cannot connect to %s:%s: %s", host, port, msg);
        (void)close(fd);
        fd = -1;
    }
out:
    freeaddrinfo(ai);
    return fd;
}

static int
bio_send(void *ctx, const unsigned char *b, size_t n)
{
    ssize_t w = send(*(const int *)ctx, b, n, MSG_NOSIGNAL);
    return w < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)w;
}

static int
bio_recv(void *ctx, unsigned char *b, size_t n)
{
    ssize_t r = recv(*(const int *)ctx, b, n, 0);

    if (r == 0) {
        return MBEDTLS_ERR_NET_CONN_RESET; /* the peer hung up */
    }
    return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

/* Flattens mbedTLS's one-line-per-flag verification text to one line. */
static void
one_line(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
        s[--n] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            s[i] = ';';
        }
    }
}

int
tls_diagnose(const char *url, const char *ca, const char *server_name,
             const char *cert, const char *key, unsigned timeout_ms, char *why,
             size_t whylen)
{
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_entropy_context ent;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt trust;
    mbedtls_x509_crt own;
    mbedtls_pk_context own_key;
    char host[TLS_NAME_MAX];
    char info[512];
    const char *port = NULL;
    int fd = -1;
    int mrv = 0;
    uint32_t flags = 0;

    if (tls_url_host(url, host, sizeof(host)) != 0 ||
        (port = strrchr(url, ':')) == NULL || port[1] == '\0') {
        say(why, whylen, "no HOST:PORT in %s", url);
        return E_INVAL;
    }
    port++;
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_entropy_init(&ent);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&trust);
    mbedtls_x509_crt_init(&own);
    mbedtls_pk_init(&own_key);
    if ((mrv = mbedtls_x509_crt_parse_file(&trust, ca)) < 0 ||
        (cert != NULL &&
         ((mrv = mbedtls_x509_crt_parse_file(&own, cert)) < 0 ||
          (mrv = mbedtls_pk_parse_keyfile(&own_key, key != NULL ? key : cert,
                                          NULL)) != 0)) ||
        (mrv = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
                                     (const unsigned char *)"ks-tls", 6)) !=
            0 ||
        (mrv = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
                                           MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        mbed_reason(mrv, info, sizeof(info));
        say(why, whylen, "cannot set up a diagnosis: %s", info);
        goto out;
    }
    /* Optional: finish the handshake and read what failed. */
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    mbedtls_ssl_conf_ca_chain(&conf, &trust, NULL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    if ((cert != NULL &&
         (mrv = mbedtls_ssl_conf_own_cert(&conf, &own, &own_key)) != 0) ||
        (mrv = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
        (mrv = mbedtls_ssl_set_hostname(&ssl, server_name)) != 0) {
        mbed_reason(mrv, info, sizeof(info));
        say(why, whylen, "cannot set up a diagnosis: %s", info);
        goto out;
    }
    fd = connect_bounded(host, port, timeout_ms, why, whylen);
    if (fd < 0) {
        goto out;
    }
    mbedtls_ssl_set_bio(&ssl, &fd, bio_send, bio_recv, NULL);
    do {
        mrv = mbedtls_ssl_handshake(&ssl);
    } while (mrv == MBEDTLS_ERR_SSL_WANT_READ ||
             mrv == MBEDTLS_ERR_SSL_WANT_WRITE);
    /* The master's certificate first: its verdict is known even when the
     * master then refused ours. */
    flags = mbedtls_ssl_get_verify_result(&ssl);
    if (flags != 0 && flags != (uint32_t)-1) {
        if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0) {
            (void)snprintf(info, sizeof(info), "verification flags 0x%x",
                           (unsigned)flags);
        }
        one_line(info);
        say(why, whylen, "%s", info);
        goto out;
    }
    /* Dropped or alerted after the server asked for our certificate: a
     * master with --tls-ca refused it (or its absence). */
    if (mrv != 0 && ssl.client_auth != 0 &&
        ssl.state > MBEDTLS_SSL_SERVER_HELLO_DONE) {
        say(why, whylen,
            "the master requires a client certificate signed by a CA it "
            "trusts, and %s",
            cert != NULL ? "refused this agent's --tls-cert"
                         : "this agent has none (give --tls-cert)");
        goto out;
    }
    if (mrv == MBEDTLS_ERR_NET_CONN_RESET) {
        say(why, whylen,
            "the master closed the connection during the TLS handshake (is "
            "it listening on tcp:// rather than tls+tcp://?)");
        goto out;
    }
    if (mrv == MBEDTLS_ERR_NET_RECV_FAILED) {
        say(why, whylen, "no TLS answer from the master within %u ms",
            timeout_ms);
        goto out;
    }
    if (mrv == MBEDTLS_ERR_SSL_INVALID_RECORD) {
        say(why, whylen,
            "the master answered with something that is not TLS (is it "
            "listening on tcp:// rather than tls+tcp://?)");
        goto out;
    }
    if (mrv != 0 && mrv != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        mbed_reason(mrv, info, sizeof(info));
        say(why, whylen, "mbedTLS: %s", info);
        goto out;
    }
    say(why, whylen,
        "the certificate verifies now (the failure was transient?)");
out:
    if (fd >= 0) {
        (void)mbedtls_ssl_close_notify(&ssl);
        (void)close(fd);
    }
    mbedtls_pk_free(&own_key);
    mbedtls_x509_crt_free(&own);
    mbedtls_x509_crt_free(&trust);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&ent);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ssl_free(&ssl);
    return 0;
}
