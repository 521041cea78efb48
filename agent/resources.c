/* SPDX-License-Identifier: MIT */
/*
 * The agent's own CPU, memory and network counters from /proc (see
 * resources.h). Files are read whole into a bounded stack buffer; the
 * parsers are pure so the unit tests feed them fixed text.
 */
#include "resources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/err.h"

#include "../common/poison.h"

#define READ_MAX (16u * 1024u) /* /proc/net/dev of ~100 interfaces */

bool
resources_next_u64(const char **pp, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    bool any = false;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (x > (UINT64_MAX - d) / 10u) {
            return false;
        }
        x = x * 10u + d;
        any = true;
    }
    if (any) {
        *v = x;
        *pp = p;
    }
    return any;
}

/* Skips one blank-separated field (any characters but blanks). */
static bool
skip_field(const char **pp)
{
    const char *p = *pp;

    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '\0' || *p == '\n') {
        return false;
    }
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
        p++;
    }
    *pp = p;
    return true;
}

int
resources_parse_pid_stat(const char *text, uint64_t *ticks)
{
    const char *p = strrchr(text, ')');
    uint64_t ut = 0;
    uint64_t st = 0;

    if (p == NULL) {
        return E_PROTO;
    }
    p++;
    /* After "pid (comm)": field 3 (state) .. 13 (cmajflt), then 14 utime
     * and 15 stime. */
    for (int f = 3; f <= 13; f++) {
        if (!skip_field(&p)) {
            return E_PROTO;
        }
    }
    if (!resources_next_u64(&p, &ut) || !resources_next_u64(&p, &st) ||
        ut > UINT64_MAX - st) {
        return E_PROTO;
    }
    *ticks = ut + st;
    return 0;
}

int
resources_parse_proc_stat(const char *text, uint64_t *busy, uint64_t *total)
{
    const char *p = text;
    uint64_t v[8];
    uint64_t sum = 0;

    if (strncmp(p, "cpu ", 4) != 0) {
        return E_PROTO;
    }
    p += 4;
    for (int i = 0; i < 8; i++) {
        if (!resources_next_u64(&p, &v[i]) || sum > UINT64_MAX - v[i]) {
            return E_PROTO;
        }
        sum += v[i];
    }
    *total = sum;
    *busy = sum - v[3] - v[4]; /* idle, iowait */
    return 0;
}

int
resources_parse_statm(const char *text, uint64_t page_size, uint64_t *rss)
{
    const char *p = text;
    uint64_t size = 0;
    uint64_t res = 0;

    if (!resources_next_u64(&p, &size) || !resources_next_u64(&p, &res) ||
        page_size == 0 || res > UINT64_MAX / page_size) {
        return E_PROTO;
    }
    *rss = res * page_size;
    return 0;
}

int
resources_parse_net_dev(const char *text, uint64_t *rx, uint64_t *tx)
{
    const char *line = text;
    uint64_t srx = 0;
    uint64_t stx = 0;
    int n = 0;

    while (line != NULL && *line != '\0') {
        const char *colon = strchr(line, ':');
        const char *eol = strchr(line, '\n');
        if (colon != NULL && (eol == NULL || colon < eol)) {
            const char *p = colon + 1;
            uint64_t r = 0;
            uint64_t t = 0;
            bool ok = resources_next_u64(&p, &r);
            for (int f = 0; ok && f < 7; f++) {
                ok = skip_field(&p);
            }
            if (!ok || !resources_next_u64(&p, &t)) {
                return E_PROTO;
            }
            srx += r;
            stx += t;
            n++;
        }
        line = eol != NULL ? eol + 1 : NULL;
    }
    if (n == 0) {
        return E_PROTO;
    }
    *rx = srx;
    *tx = stx;
    return 0;
}

uint64_t
resources_centi(uint64_t cpu_delta, uint64_t wall_delta)
{
    if (wall_delta == 0) {
        return 0;
    }
    return (uint64_t)((double)cpu_delta * 10000.0 / (double)wall_delta + 0.5);
}

int
resources_read_file(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;

    if (fd < 0) {
        return E_IO;
    }
    while (n < cap - 1) {
        ssize_t k = read(fd, out + n, cap - 1 - n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            int e = errno;
            (void)close(fd);
            out[n] = '\0';
            errno = e;
            return E_IO;
        }
        if (k == 0) {
            break;
        }
        n += (size_t)k;
    }
    (void)close(fd);
    out[n] = '\0';
    return 0;
}

struct reading {
    uint64_t ticks, busy, total, rx, tx, rss;
};

static int
read_all(const struct resources *r, struct reading *x)
{
    char text[READ_MAX];

    if (resources_read_file("/proc/self/stat", text, sizeof(text)) != 0 ||
        resources_parse_pid_stat(text, &x->ticks) != 0 ||
        resources_read_file("/proc/stat", text, sizeof(text)) != 0 ||
        resources_parse_proc_stat(text, &x->busy, &x->total) != 0 ||
        resources_read_file("/proc/self/statm", text, sizeof(text)) != 0 ||
        resources_parse_statm(text, r->page_size, &x->rss) != 0 ||
        resources_read_file("/proc/net/dev", text, sizeof(text)) != 0 ||
        resources_parse_net_dev(text, &x->rx, &x->tx) != 0) {
        return E_IO;
    }
    return 0;
}

static void
keep(struct resources *r, const struct reading *x, uint64_t now_ns)
{
    r->primed = true;
    r->prev_ns = now_ns;
    r->prev_ticks = x->ticks;
    r->prev_busy = x->busy;
    r->prev_total = x->total;
    r->prev_rx = x->rx;
    r->prev_tx = x->tx;
}

void
resources_init(struct resources *r, uint64_t now_ns)
{
    long tck = sysconf(_SC_CLK_TCK);
    long pg = sysconf(_SC_PAGESIZE);
    struct reading x;

    memset(r, 0, sizeof(*r));
    r->ticks_per_s = tck > 0 ? (uint64_t)tck : 100u;
    r->page_size = pg > 0 ? (uint64_t)pg : 4096u;
    if (read_all(r, &x) == 0) {
        keep(r, &x, now_ns);
    }
}

/* b - a for counters that should only grow; 0 when one went back (an
 * interface removed, a counter reset). */
static uint64_t
delta(uint64_t a, uint64_t b)
{
    return b >= a ? b - a : 0;
}

int
resources_sample(struct resources *r, uint64_t now_ns,
                 struct resources_sample *out)
{
    struct reading x;
    uint64_t win_ns;

    if (r->primed &&
        now_ns < r->prev_ns + RESOURCES_MIN_WINDOW_MS * CLOCK_NS_PER_MS) {
        return 1;
    }
    if (read_all(r, &x) != 0) {
        return E_IO;
    }
    if (!r->primed) {
        keep(r, &x, now_ns);
        return 1;
    }
    win_ns = now_ns - r->prev_ns;
    /* ticks -> ns: ticks x (1e9 / ticks_per_s) */
    out->cpu_centi = resources_centi(delta(r->prev_ticks, x.ticks) *
                                         (CLOCK_NS_PER_S / r->ticks_per_s),
                                     win_ns);
    out->host_cpu_centi = resources_centi(delta(r->prev_busy, x.busy),
                                          delta(r->prev_total, x.total));
    out->rss_bytes = x.rss;
    out->net_rx_bytes = delta(r->prev_rx, x.rx);
    out->net_tx_bytes = delta(r->prev_tx, x.tx);
    out->window_ms = win_ns / CLOCK_NS_PER_MS;
    keep(r, &x, now_ns);
    return 0;
}
