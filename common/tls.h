/* SPDX-License-Identifier: MIT */
/*
 * TLS for the control channel (proto/PROTOCOL.md section 1): the checks of
 * the TLS command-line options against a URL (pure functions), and the
 * nng TLS configurations of the master's listener and the agent's dialer,
 * built from PEM files that are first parsed with mbedTLS (nng's TLS
 * backend on Debian) so that a bad file is refused at start-up with its
 * name and mbedTLS's reason, not later as an anonymous handshake failure.
 *
 * The one module of common/ that uses nng and mbedTLS: both binaries need
 * it, and the option checks are unit-tested beside the other common code.
 * Thread-safety: every function is reentrant.
 */
#ifndef COMMON_TLS_H
#define COMMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#define TLS_SCHEME    "tls+tcp://"
#define TLS_PEM_MAX   (256 * 1024) /* bytes of one PEM file read */
#define TLS_NAME_MAX  256          /* a server name, with its NUL */
#define TLS_ERR_SPACE 512          /* a good size for the err buffers */

/* True when url uses nng's TLS transport (starts with "tls+tcp://"). */
bool tls_url_is_tls(const char *url);

/*
 * Writes the host of a "scheme://HOST:PORT" URL into out (brackets of an
 * IPv6 literal removed). Returns 0, E_INVAL (no "://", empty host, no
 * port) or E_RANGE (does not fit in outlen). out is written on success
 * only.
 */
int tls_url_host(const char *url, char *out, size_t outlen);

/* True when host is an IPv4 or IPv6 literal. */
bool tls_host_is_ip(const char *host);

/*
 * The master's rule: a tls+tcp:// listen URL needs cert; a cert or key
 * with any other URL is an error, and so is a key without a cert. listen
 * may be NULL (the default URL, which follows cert: tls+tcp:// with a
 * cert, tcp:// without). Returns 0 or E_INVAL with a one-line message
 * (naming the options) in err.
 */
int tls_check_master_opts(const char *listen, const char *cert, const char *key,
                          char *err, size_t errlen);

/*
 * The agent's rule: a tls+tcp:// master URL needs ca (there is no
 * insecure mode); ca or server_name with any other URL is an error; an
 * empty or over-long server_name is an error. Returns 0 or E_INVAL with a
 * one-line message in err.
 */
int tls_check_agent_opts(const char *master, const char *ca,
                         const char *server_name, char *err, size_t errlen);

/*
 * Mutual TLS, the master's rule: client_ca (--tls-ca: require client
 * certificates signed by it) needs cert, and remote agents (local agents
 * have no client certificate). NULL client_ca passes. Returns 0 or E_INVAL
 * with a one-line message in err.
 */
int tls_check_master_client_ca(const char *cert, const char *client_ca,
                               bool local_agents, char *err, size_t errlen);

/*
 * Mutual TLS, the agent's rule: its client certificate (cert, key) needs
 * a tls+tcp:// master URL, and key needs cert. Returns 0 or E_INVAL with a
 * one-line message in err.
 */
int tls_check_agent_cert(const char *master, const char *cert, const char *key,
                         char *err, size_t errlen);

/*
 * Builds the listener's configuration: the certificate chain from cert
 * and the private key from key (NULL: the key is read from cert's file,
 * after the certificates). Both are parsed by mbedTLS first, and the key
 * must be the certificate's; an expired certificate or one not valid yet
 * is refused too. client_ca, when not NULL, makes a client certificate
 * signed by one of its certificates required (mutual TLS); NULL asks for
 * none. Returns 0 with *out set (release with nng_tls_config_free), E_IO
 * (unreadable file), E_TOOBIG (larger than TLS_PEM_MAX), E_CONFIG (not
 * PEM, wrong key, expired: mbedTLS's reason in err) or E_NOMEM. err names
 * the option and the file.
 */
int tls_server_config(nng_tls_config **out, const char *cert, const char *key,
                      const char *client_ca, char *err, size_t errlen);

/*
 * Builds the dialer's configuration: the trusted CA certificates from ca
 * (every certificate of the file is a trust anchor), verification
 * required, server_name the name the master's certificate must carry
 * (mbedTLS 2.28 matches it against the certificate's DNS names and CN
 * only, never its IP addresses). cert and key, when cert is not NULL,
 * are the agent's client certificate for a master that requires one,
 * checked as tls_server_config checks the master's. Returns 0 with *out
 * set (release with nng_tls_config_free), or E_IO / E_TOOBIG / E_CONFIG /
 * E_NOMEM with the option, the file and the reason in err.
 */
int tls_client_config(nng_tls_config **out, const char *ca,
                      const char *server_name, const char *cert,
                      const char *key, char *err, size_t errlen);

/*
 * For the master's own local agents, which dial tls+tcp://127.0.0.1 and
 * trust the master's certificate file as their CA file: picks the name
 * they must verify (the first DNS name of the certificate, else its CN)
 * and checks that the certificate verifies against its own file for that
 * name (true for a self-signed certificate, or a file that holds the chain
 * up to its root). Returns 0 with the name in name, or E_CONFIG with the
 * reason in err (E_IO / E_TOOBIG / E_RANGE as above).
 */
int tls_local_name(const char *cert, char *name, size_t namelen, char *err,
                   size_t errlen);

/*
 * Finds out why a TLS handshake with the master at url fails: connects
 * on its own (within timeout_ms for the connect, and again for the
 * handshake), runs the handshake with mbedTLS directly, trusting ca and
 * expecting server_name but not stopping at a failed verification,
 * presenting cert/key (NULL cert: none; NULL key: in cert's file), and
 * writes one line into why: mbedTLS's verification result ("The
 * certificate is not correctly signed by the trusted CA", "The
 * certificate Common Name (CN) does not match with the expected CN",
 * ...), a refusal of our certificate (or of its absence) by a master that
 * requires one, the handshake error (a master that is not on TLS answers with
 * something that is not TLS), the connect error, or "the certificate
 * verifies now" when nothing is wrong any more. nng's own handshake reports
 * none of this. Blocks the caller for at most about 2 x timeout_ms plus name
 * resolution. Returns 0 (why written) or E_INVAL (url without host and
 * port; why says so).
 */
int tls_diagnose(const char *url, const char *ca, const char *server_name,
                 const char *cert, const char *key, unsigned timeout_ms,
                 char *why, size_t whylen);

/*
 * Failed TLS handshakes of an endpoint so far, from nng's statistics (nng
 * reports them to no callback): a listener's "auth", "proto" and "other"
 * counters (an untrusted certificate, a peer that does not speak TLS), and
 * the same three of a dialer (the master's certificate did not verify, the
 * master does not speak TLS, or a tcp:// dialer met a TLS master). Returns
 * 0 with *out set, or E_NOTFOUND (no statistics for it) / E_NOMEM.
 */
int tls_listener_failures(nng_listener l, uint64_t *out);
int tls_dialer_failures(nng_dialer d, uint64_t *out);

#endif
