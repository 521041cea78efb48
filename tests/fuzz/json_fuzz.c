/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the JSON reader (common/json.h) and the baseline
 * comparison over it (master/baseline.h): the bytes are a baseline file.
 * Whatever they are, nothing may crash, leak or read past the buffer, and:
 *   - on failure json_parse returns E_INVAL, E_TOOBIG or E_NOMEM with a
 *     message saying where ("at byte N (line L, column C)");
 *   - on success, the comparison of every top-level key (and "t") with a
 *     fixed current document gives consistent counts, every value it keeps
 *     is finite, and the baseline object it writes is valid JSON that
 *     parses back; the console lines print.
 * Not a unit test: built by `make fuzz`.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/json.h"
#include "../../master/baseline.h"

#include "../../common/poison.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CURRENT[] =
    "{\"t\": {\"status\": \"completed\", \"results\": {\"error_rate\": 0.01, "
    "\"throughput_rps\": 50.0, \"duration_seconds\": 10.0, "
    "\"response_time_p50\": 2.0, \"response_time_p95\": 4.0, "
    "\"response_time_p99\": 8.0, \"response_time_p99.9\": 9.0, "
    "\"operation_stats\": {\"observe\": {\"count\": 300, \"error_rate\": 0.0, "
    "\"p50_ms\": 1.0, \"p95_ms\": 2.0, \"p99_ms\": 3.0, \"p99.9_ms\": 4.0}, "
    "\"learn\": {\"count\": 200, \"error_rate\": 0.02, \"p50_ms\": 1.0, "
    "\"p95_ms\": 2.0, \"p99_ms\": 3.0, \"p99.9_ms\": 4.0}}}}, "
    "\"concurrent_requests\": {\"status\": \"completed\", \"results\": "
    "{\"response_time_p50\": 1.0, \"throughput_rps\": 10.0, \"error_rate\": "
    "0.0, \"duration_seconds\": 2.0, \"operation_stats\": {\"observe\": "
    "{\"count\": 3, \"p99_ms\": 1.0}}}}}";

static void
need(bool ok, const char *what)
{
    if (!ok) {
        (void)fprintf(stderr, "json_fuzz: invariant broken: %s\n", what);
        abort();
    }
}

static void
check_scope(const struct baseline_scope *s)
{
    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        const struct baseline_metric *m = &s->m[i];
        need(m->verdict >= BASELINE_UNCHANGED &&
                 m->verdict <= BASELINE_NOT_COMPARABLE,
             "verdict in range");
        need(isfinite(m->base) && isfinite(m->cur), "finite values");
        need(!m->has_change || isfinite(m->change), "finite change");
    }
    need(memchr(s->name, '\0', sizeof(s->name)) != NULL, "name terminated");
}

static void
compare_one(const struct baseline *b, const struct json_doc *cur,
            const char *name, FILE *sink)
{
    struct baseline_result r;
    struct json_doc *back = NULL;
    struct buf out;
    size_t reg = 0;
    size_t imp = 0;
    int rv = 0;

    baseline_compare(b, json_root(cur), name, &r);
    need(r.state == BASELINE_COMPARED || r.state == BASELINE_NO_TEST, "state");
    need(r.n_ops <= BASELINE_MAX_OPS, "ops bounded");
    check_scope(&r.all);
    for (int i = 0; i < BASELINE_N_METRICS; i++) {
        reg += r.all.m[i].verdict == BASELINE_REGRESSION;
        imp += r.all.m[i].verdict == BASELINE_IMPROVEMENT;
    }
    for (size_t k = 0; k < r.n_ops; k++) {
        check_scope(&r.ops[k]);
        for (int i = 0; i < BASELINE_N_METRICS; i++) {
            reg += r.ops[k].m[i].verdict == BASELINE_REGRESSION;
            imp += r.ops[k].m[i].verdict == BASELINE_IMPROVEMENT;
        }
    }
    need(reg == r.regressions && imp == r.improvements, "counts add up");
    for (const char *p = r.base_status; *p; p++) {
        need(*p >= 0x20 && *p < 0x7f, "status printable");
    }
    for (const char *p = r.base_started_at; *p; p++) {
        need(*p >= 0x20 && *p < 0x7f, "start printable");
    }
    buf_init(&out, 1u << 20);
    rv = baseline_json(&out, &r);
    need(rv == 0 || rv == E_NOMEM, "json written");
    if (rv == 0) {
        rv = json_parse(&back, (const char *)out.data, out.len, NULL, NULL, 0);
        need(rv == 0 || rv == E_NOMEM, "written JSON parses back");
        json_free(back);
    }
    buf_fini(&out);
    (void)baseline_summary(sink, &r, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct json_doc *cur;
    static FILE *sink;
    struct baseline b;
    char err[256];
    size_t n = 0;
    int rv = 0;

    if (cur == NULL) {
        need(json_parse(&cur, CURRENT, strlen(CURRENT), NULL, NULL, 0) == 0,
             "current document parses");
        sink = fopen("/dev/null", "w");
        need(sink != NULL, "/dev/null opens");
    }
    memset(&b, 0, sizeof(b));
    err[0] = '\0';
    rv = json_parse(&b.doc, (const char *)data, size, NULL, err, sizeof(err));
    if (rv != 0) {
        need(rv == E_INVAL || rv == E_TOOBIG || rv == E_NOMEM, "error code");
        need(b.doc == NULL, "no document on failure");
        need(strstr(err, " at byte ") != NULL && strstr(err, "(line ") != NULL,
             "error says where");
        return 0;
    }
    if (json_root(b.doc)->type == JSON_OBJECT) {
        /* What baseline_load would make of these bytes. */
        b.state = BASELINE_COMPARED;
        b.threshold = 0.2;
        (void)snprintf(b.file, sizeof(b.file), "fuzz.json");
        compare_one(&b, cur, "t", sink);
        compare_one(&b, cur, "concurrent_requests", sink);
        for (const struct json_val *k = json_root(b.doc)->child;
             k != NULL && n < 8; k = k->next, n++) {
            compare_one(&b, cur, k->key, sink);
        }
    }
    json_free(b.doc);
    return 0;
}
