/* SPDX-License-Identifier: MIT */
/*
 * The target's memory, one reading at a time (see memsample.h). Files are
 * read whole into a bounded stack buffer; HTTP goes through a libcurl easy
 * handle made per reading (a few per minute: no reuse worth keeping).
 */
#include "memsample.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/config.h"
#include "../common/err.h"
#include "resources.h"

#include "../common/poison.h"

#define READ_MAX   (64u * 1024u) /* bytes of a file or HTTP body kept */
#define TIMEOUT_MS 1000L

/* Parses the decimal digits at p (after blanks) into *v; false if none. */
static bool
parse_u64(const char *p, uint64_t *v)
{
    return resources_next_u64(&p, v);
}

int
memsample_parse_number(const char *text, uint64_t *bytes)
{
    uint64_t v = 0;

    if (!parse_u64(text, &v) || v == 0) {
        return E_PROTO;
    }
    *bytes = v;
    return 0;
}

int
memsample_parse_status(const char *text, uint64_t *bytes)
{
    const char *p = strstr(text, "\nVmRSS:");
    uint64_t kb = 0;

    if (p == NULL && strncmp(text, "VmRSS:", 6) == 0) {
        p = text - 1;
    }
    if (p == NULL || !parse_u64(p + 7, &kb) || kb == 0 ||
        kb > UINT64_MAX / 1024u) {
        return E_PROTO;
    }
    *bytes = kb * 1024u;
    return 0;
}

int
memsample_parse_metrics(const char *json, uint64_t *bytes)
{
    const char *p = strstr(json, "\"rss_kb\"");
    uint64_t kb = 0;

    if (p == NULL) {
        return E_PROTO;
    }
    p += 8;
    while (*p == ' ' || *p == ':') {
        p++;
    }
    if (!parse_u64(p, &kb) || kb == 0 || kb > UINT64_MAX / 1024u) {
        return E_PROTO;
    }
    *bytes = kb * 1024u;
    return 0;
}

int
memsample_parse_docker(const char *json, uint64_t *bytes)
{
    const char *p = strstr(json, "\"memory_stats\"");
    uint64_t v = 0;

    if (p == NULL || (p = strstr(p, "\"usage\"")) == NULL) {
        return E_PROTO;
    }
    p += 7;
    while (*p == ' ' || *p == ':') {
        p++;
    }
    if (!parse_u64(p, &v) || v == 0) {
        return E_PROTO;
    }
    *bytes = v;
    return 0;
}

/* The number after `"key"` and blanks or a colon in json; false if none. */
static bool
json_u64(const char *json, const char *key, uint64_t *v)
{
    const char *p = strstr(json, key);

    if (p == NULL) {
        return false;
    }
    p += strlen(key);
    while (*p == ' ' || *p == ':') {
        p++;
    }
    return parse_u64(p, v);
}

int
memsample_parse_cgroup_cpu(const char *text, uint64_t *cpu_us)
{
    const char *p = strstr(text, "usage_usec ");
    uint64_t v = 0;

    if (p == NULL || (p != text && p[-1] != '\n') || !parse_u64(p + 11, &v)) {
        return E_PROTO;
    }
    *cpu_us = v;
    return 0;
}

int
memsample_parse_metrics_cpu(const char *json, uint64_t *cpu_us)
{
    uint64_t v = 0;

    if (!json_u64(json, "\"cpu_us\"", &v)) {
        return E_PROTO;
    }
    *cpu_us = v;
    return 0;
}

int
memsample_parse_docker_cpu(const char *json, uint64_t *cpu_us)
{
    const char *p = strstr(json, "\"cpu_stats\"");
    uint64_t ns = 0;

    if (p == NULL || !json_u64(p, "\"total_usage\"", &ns)) {
        return E_PROTO;
    }
    *cpu_us = ns / 1000u;
    return 0;
}

int
memsample_resolve(int source, const char *container)
{
    if (source != CONFIG_MEMORY_SOURCE_AUTO) {
        return source;
    }
    if (container != NULL && container[0] != '\0' &&
        access(MEMSAMPLE_DOCKER_SOCK, R_OK | W_OK) == 0) {
        return CONFIG_MEMORY_SOURCE_DOCKER;
    }
    return CONFIG_MEMORY_SOURCE_METRICS;
}

/* Reads path whole (at most READ_MAX - 1 bytes) into out, NUL-ended; err
 * names the file and errno on failure. */
static int
read_file(const char *path, char *out, char *err, size_t errlen)
{
    if (resources_read_file(path, out, READ_MAX) != 0) {
        int e = errno;
        (void)snprintf(err, errlen, "%s: errno %d", path, e);
        return E_IO;
    }
    return 0;
}

struct body {
    char *p;
    size_t n;
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t len = size * nmemb;
    size_t room = READ_MAX - 1 - b->n;
    size_t take = len < room ? len : room;

    memcpy(b->p + b->n, p, take);
    b->n += take;
    b->p[b->n] = '\0';
    return len; /* the rest is dropped, not an error */
}

/* GET url (over the unix socket sock when not NULL) into out. */
static int
http_get(const char *url, const char *sock, char *out, char *err, size_t errlen)
{
    CURL *h = curl_easy_init();
    struct body b = {out, 0};
    long status = 0;
    CURLcode c = CURLE_OK;
    int rv = 0;

    out[0] = '\0';
    if (h == NULL) {
        (void)snprintf(err, errlen, "curl_easy_init failed");
        return E_NOMEM;
    }
    c = curl_easy_setopt(h, CURLOPT_URL, url);
    if (c == CURLE_OK && sock != NULL) {
        c = curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    }
    if (c == CURLE_OK) {
        c = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    }
    if (c == CURLE_OK) {
        c = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    }
    if (c == CURLE_OK) {
        c = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    }
    if (c == CURLE_OK) {
        c = curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    }
    if (c == CURLE_OK) {
        c = curl_easy_perform(h);
    }
    if (c == CURLE_OK) {
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    }
    if (c != CURLE_OK || status != 200) {
        (void)snprintf(err, errlen, "GET %s: %s (status %ld)", url,
                       c != CURLE_OK ? curl_easy_strerror(c) : "not OK",
                       status);
        rv = E_IO;
    }
    curl_easy_cleanup(h);
    return rv;
}

int
memsample_read(int source, uint32_t pid, const char *path, const char *url,
               struct memsample *out, char *err, size_t errlen)
{
    char text[READ_MAX];
    char where[CONFIG_STR_MAX + 96];
    struct memsample m = {0, 0, false};
    int rv = 0;

    switch (source) {
    case CONFIG_MEMORY_SOURCE_PID:
        (void)snprintf(where, sizeof(where), "/proc/%u/status", (unsigned)pid);
        if ((rv = read_file(where, text, err, errlen)) == 0 &&
            (rv = memsample_parse_status(text, &m.bytes)) != 0) {
            (void)snprintf(err, errlen, "%s: no VmRSS", where);
        }
        (void)snprintf(where, sizeof(where), "/proc/%u/stat", (unsigned)pid);
        if (rv == 0 && read_file(where, text, err, errlen) == 0) {
            uint64_t ticks = 0;
            long tck = sysconf(_SC_CLK_TCK);
            if (tck > 0 && resources_parse_pid_stat(text, &ticks) == 0) {
                m.cpu_us = ticks * (1000000u / (uint64_t)tck);
                m.has_cpu = true;
            }
        }
        break;
    case CONFIG_MEMORY_SOURCE_CGROUP:
        (void)snprintf(where, sizeof(where), "%s/memory.current", path);
        if ((rv = read_file(where, text, err, errlen)) == 0 &&
            (rv = memsample_parse_number(text, &m.bytes)) != 0) {
            (void)snprintf(err, errlen, "%s: not a byte count", where);
        }
        (void)snprintf(where, sizeof(where), "%s/cpu.stat", path);
        if (rv == 0 && read_file(where, text, err, errlen) == 0) {
            m.has_cpu = memsample_parse_cgroup_cpu(text, &m.cpu_us) == 0;
        }
        break;
    case CONFIG_MEMORY_SOURCE_METRICS:
        (void)snprintf(where, sizeof(where), "%s/metrics", url);
        if ((rv = http_get(where, NULL, text, err, errlen)) == 0 &&
            (rv = memsample_parse_metrics(text, &m.bytes)) != 0) {
            (void)snprintf(err, errlen,
                           "%s: no rss_kb (KATO's /metrics gives memory "
                           "as a percentage: use memory_source pid, "
                           "cgroup or docker)",
                           where);
        }
        if (rv == 0) {
            m.has_cpu = memsample_parse_metrics_cpu(text, &m.cpu_us) == 0;
        }
        break;
    case CONFIG_MEMORY_SOURCE_DOCKER:
        (void)snprintf(where, sizeof(where),
                       "http://localhost/containers/%s/stats?stream=false",
                       path);
        if ((rv = http_get(where, MEMSAMPLE_DOCKER_SOCK, text, err, errlen)) ==
                0 &&
            (rv = memsample_parse_docker(text, &m.bytes)) != 0) {
            (void)snprintf(err, errlen, "%s: no memory_stats.usage", where);
        }
        if (rv == 0) {
            m.has_cpu = memsample_parse_docker_cpu(text, &m.cpu_us) == 0;
        }
        break;
    default:
        (void)snprintf(err, errlen, "memory source %d", source);
        rv = E_INVAL;
        break;
    }
    if (rv == 0) {
        *out = m;
    }
    return rv;
}
