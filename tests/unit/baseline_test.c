/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the baseline comparison (master/baseline.h) and of the
 * strict JSON reader it uses (common/json.h): bounds, error positions,
 * hostile files, every verdict rule, the JSON it writes (parsed back),
 * and the allocation-failure paths.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/alloc.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/json.h"
#include "../../master/baseline.h"

#include "../../common/poison.h"

struct fx {
    struct baseline b;
    struct json_doc *cur;
    struct buf out;
    char dir[64];
    char path[128];
};

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    buf_init(&f->out, 1u << 20);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/ks-baseline.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        xfree(f);
        return -1;
    }
    (void)snprintf(f->path, sizeof(f->path), "%s/baseline.json", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    alloc_fail_after(-1);
    baseline_fini(&f->b);
    json_free(f->cur);
    buf_fini(&f->out);
    (void)unlink(f->path);
    (void)rmdir(f->dir);
    xfree(f);
    return 0;
}

static void
write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* A results document of one test "t" as report_json_suite writes it
 * (the keys the comparison reads). */
static void
results_doc(char *out, size_t n, double p50, double p99, double rps,
            double err_rate, double obs_p99, double obs_count)
{
    (void)snprintf(
        out, n,
        "{\"t\": {\"status\": \"completed\", \"results\": {"
        "\"total_requests\": 100, \"error_rate\": %.6f, "
        "\"throughput_rps\": %.3f, \"duration_seconds\": 10.000, "
        "\"response_time_p50\": %.3f, \"response_time_p95\": 5.000, "
        "\"response_time_p99\": %.3f, \"response_time_p99.9\": 9.000, "
        "\"started_at\": \"2026-01-02T03:04:05Z\", "
        "\"operation_stats\": {\"observe\": {\"count\": %.0f, \"errors\": 0, "
        "\"error_rate\": 0.000000, \"p50_ms\": 1.000, \"p95_ms\": 2.000, "
        "\"p99_ms\": %.3f, \"p99.9_ms\": 3.000}, \"learn\": {\"count\": 5, "
        "\"error_rate\": 0.0, \"p50_ms\": 1.0, \"p95_ms\": 1.0, \"p99_ms\": "
        "1.0, \"p99.9_ms\": 1.0}}}},"
        " \"other\": {\"status\": \"not_run\"}}",
        err_rate, rps, p50, p99, obs_count, obs_p99);
}

static void
parse_cur(struct fx *f, const char *text)
{
    char err[256] = "";
    int rv = json_parse(&f->cur, text, strlen(text), NULL, err, sizeof(err));

    if (rv != 0) {
        print_error("parse: %s\n", err);
    }
    assert_int_equal(rv, 0);
}

/* --- the JSON reader ----------------------------------------------------- */

static void
test_json_errors_and_bounds(void **state)
{
    static const struct {
        const char *text;
        int rv;
        const char *msg;
    } bad[] = {
        {"", E_INVAL, "unexpected end of input at byte 0 (line 1, column 1)"},
        {"{\"a\" 1}", E_INVAL, "expected ':' at byte 5 (line 1, column 6)"},
        {"{\n  \"a\": [1,\n  2,,]}", E_INVAL,
         "bad number at byte 17 (line 3, column 5)"},
        {"[1] x", E_INVAL, "trailing data after value at byte 4"},
        {"\"abc", E_INVAL, "unterminated string"},
        {"\"\\ud800\"", E_INVAL, "lone high surrogate"},
        {"\"\xc3\"", E_INVAL, "invalid UTF-8"},
        {"01", E_INVAL, "trailing data"},
        {"-", E_INVAL, "bad number"},
        {"1.", E_INVAL, "bad fraction"},
        {"tru", E_INVAL, "unexpected token"},
    };
    struct json_doc *d = NULL;
    char err[256];
    char deep[200];
    struct json_limits lim = {16, 4, 3};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rv = json_parse(&d, bad[i].text, strlen(bad[i].text), NULL, err,
                            sizeof(err));
        if (rv != bad[i].rv || strstr(err, bad[i].msg) == NULL) {
            print_error("'%s': rv %d err '%s'\n", bad[i].text, rv, err);
        }
        assert_int_equal(rv, bad[i].rv);
        assert_non_null(strstr(err, bad[i].msg));
        assert_null(d);
    }
    /* The caller's bounds: bytes, values, depth. */
    assert_int_equal(
        json_parse(&d, "[1,2,3,4,5,6,7,8,9]", 19, &lim, err, sizeof(err)),
        E_TOOBIG);
    assert_non_null(strstr(err, "input too large"));
    assert_int_equal(json_parse(&d, "[1,2,3,4]", 9, &lim, err, sizeof(err)),
                     E_TOOBIG);
    assert_non_null(strstr(err, "too many values"));
    assert_int_equal(json_parse(&d, "[[[[1]]]]", 9, &lim, err, sizeof(err)),
                     E_TOOBIG);
    assert_non_null(strstr(err, "nesting too deep"));
    assert_int_equal(json_parse(&d, "[[1]]", 5, &lim, err, sizeof(err)), 0);
    json_free(d);
    d = NULL;
    /* The default depth bound holds whatever the caller asks. */
    memset(deep, '[', sizeof(deep));
    lim.max_input = sizeof(deep);
    lim.max_values = 1000;
    lim.max_depth = 1000;
    assert_int_equal(json_parse(&d, deep, sizeof(deep), &lim, err, sizeof(err)),
                     E_TOOBIG);
    assert_null(d);
    /* No error buffer at all is fine. */
    assert_int_equal(json_parse(&d, "{", 1, NULL, NULL, 0), E_INVAL);
}

static void
test_json_nomem_sweep(void **state)
{
    const char *text = "{\"a\": [1, 2.5e3, \"x\\u00e9\", {\"b\": null}], "
                       "\"long\": 123456789012345678901234567890123456789"
                       "01234567890123456789012345678901234567890}";
    int ok = 0;

    (void)state;
    /* Every allocation fails in turn; each failure is E_NOMEM, nothing
     * leaks, and once enough succeed the parse works. */
    for (long n = 0; n < 50 && ok == 0; n++) {
        struct json_doc *d = NULL;
        char err[128];
        int rv = 0;
        alloc_fail_after(n);
        rv = json_parse(&d, text, strlen(text), NULL, err, sizeof(err));
        alloc_fail_after(-1);
        if (rv == 0) {
            const struct json_val *a = json_get(json_root(d), "a");
            assert_non_null(a);
            assert_int_equal(a->len, 4);
            assert_true(a->child->next->num == 2500.0);
            json_free(d);
            ok = 1;
        } else {
            assert_int_equal(rv, E_NOMEM);
            assert_null(d);
        }
    }
    assert_int_equal(ok, 1);
}

/* --- the comparison ------------------------------------------------------ */

static void
test_baseline_load_states(void **state)
{
    struct fx *f = *state;

    baseline_load(&f->b, f->path, 0.2);
    assert_int_equal(f->b.state, BASELINE_MISSING);
    baseline_fini(&f->b);

    write_file(f->path, "{\"t\": {\"status\": \"completed\",\n"
                        "  \"results\": {\"error_rate\" 0.1}}}\n");
    baseline_load(&f->b, f->path, 0.2);
    assert_int_equal(f->b.state, BASELINE_INVALID);
    /* Names the file, what is wrong and where. */
    assert_non_null(strstr(f->b.error, f->path));
    assert_non_null(strstr(f->b.error, "not valid JSON: expected ':' at byte "
                                       "57 (line 2, column 28)"));
    baseline_fini(&f->b);

    write_file(f->path, "[1, 2]");
    baseline_load(&f->b, f->path, 0.2);
    assert_int_equal(f->b.state, BASELINE_INVALID);
    assert_non_null(strstr(f->b.error, "not a results JSON"));
    baseline_fini(&f->b);

    /* A directory is not a file. */
    baseline_load(&f->b, f->dir, 0.2);
    assert_int_equal(f->b.state, BASELINE_INVALID);
    assert_non_null(strstr(f->b.error, "not a regular file"));
    baseline_fini(&f->b);

    write_file(f->path, "{}");
    baseline_load(&f->b, f->path, -1.0); /* a bad threshold reads as 0 */
    assert_int_equal(f->b.state, BASELINE_COMPARED);
    assert_true(f->b.threshold == 0.0);
}

static void
test_baseline_verdicts(void **state)
{
    struct fx *f = *state;
    char base[2048];
    char cur[2048];
    struct baseline_result r;

    /* p50 +50 % (regression), p99 +10 % (unchanged), throughput -30 %
     * (regression), error rate from 0 to 0.01 (regression from 0),
     * observe's p99 -50 % (improvement), observe's throughput +30 %
     * (improvement). */
    results_doc(base, sizeof(base), 2.0, 10.0, 100.0, 0.0, 4.0, 100.0);
    results_doc(cur, sizeof(cur), 3.0, 11.0, 70.0, 0.01, 2.0, 130.0);
    write_file(f->path, base);
    baseline_load(&f->b, f->path, 0.2);
    assert_int_equal(f->b.state, BASELINE_COMPARED);
    parse_cur(f, cur);
    baseline_compare(&f->b, json_root(f->cur), "t", &r);
    assert_int_equal(r.state, BASELINE_COMPARED);
    assert_string_equal(r.base_status, "completed");
    assert_string_equal(r.base_started_at, "2026-01-02T03:04:05Z");
    assert_int_equal(r.all.m[0].verdict, BASELINE_REGRESSION); /* p50 */
    assert_true(fabs(r.all.m[0].change - 0.5) < 1e-9);
    assert_int_equal(r.all.m[1].verdict, BASELINE_UNCHANGED);  /* p95 */
    assert_int_equal(r.all.m[2].verdict, BASELINE_UNCHANGED);  /* p99 */
    assert_int_equal(r.all.m[4].verdict, BASELINE_REGRESSION); /* rps */
    assert_true(fabs(r.all.m[4].change + 0.3) < 1e-9);
    assert_int_equal(r.all.m[5].verdict, BASELINE_REGRESSION); /* errors */
    assert_false(r.all.m[5].has_change);
    /* Operations in the current run's order, both present. */
    assert_int_equal(r.n_ops, 2);
    assert_string_equal(r.ops[0].name, "observe");
    assert_int_equal(r.ops[0].m[2].verdict, BASELINE_IMPROVEMENT);
    assert_int_equal(r.ops[0].m[4].verdict, BASELINE_IMPROVEMENT);
    assert_true(fabs(r.ops[0].m[4].base - 10.0) < 1e-9); /* 100 / 10 s */
    assert_true(fabs(r.ops[0].m[4].cur - 13.0) < 1e-9);
    assert_string_equal(r.ops[1].name, "learn");
    assert_int_equal(r.ops[1].m[0].verdict, BASELINE_UNCHANGED);
    assert_int_equal(r.regressions, 3);
    assert_int_equal(r.improvements, 2);
    assert_string_equal(baseline_result_verdict(&r), "regression");

    /* A test the baseline has without results, and one it lacks. */
    baseline_compare(&f->b, json_root(f->cur), "other", &r);
    assert_int_equal(r.state, BASELINE_NO_TEST);
    baseline_compare(&f->b, json_root(f->cur), "nope", &r);
    assert_int_equal(r.state, BASELINE_NO_TEST);
    assert_string_equal(baseline_result_verdict(&r), "not in baseline");

    /* The same numbers on both sides: unchanged everywhere. */
    json_free(f->cur);
    f->cur = NULL;
    parse_cur(f, base);
    baseline_compare(&f->b, json_root(f->cur), "t", &r);
    assert_int_equal(r.regressions + r.improvements, 0);
    assert_string_equal(baseline_result_verdict(&r), "unchanged");
}

static void
test_baseline_hostile_values(void **state)
{
    struct fx *f = *state;
    char cur[2048];
    struct baseline_result r;

    /* Strings, nulls, huge numbers, a negative duration, an operation
     * that is not an object, a key with a NUL and a status with control
     * characters: nothing is compared that is not a finite number on
     * both sides, and nothing unprintable is kept. */
    write_file(f->path,
               "{\"t\": {\"status\": \"x\\u0001\\n\", \"results\": {"
               "\"response_time_p50\": \"2\", \"response_time_p95\": null, "
               "\"response_time_p99\": 1e999, \"response_time_p99.9\": -1, "
               "\"throughput_rps\": 0, \"error_rate\": 0.5, "
               "\"duration_seconds\": -3, \"operation_stats\": {"
               "\"observe\": 7, \"learn\": {\"count\": 5, \"p50_ms\": 1e-320},"
               " \"le\\u0000arn\": {}}}}}");
    baseline_load(&f->b, f->path, 0.2);
    assert_int_equal(f->b.state, BASELINE_COMPARED);
    results_doc(cur, sizeof(cur), 2.0, 10.0, 100.0, 0.0, 4.0, 100.0);
    parse_cur(f, cur);
    baseline_compare(&f->b, json_root(f->cur), "t", &r);
    assert_int_equal(r.state, BASELINE_COMPARED);
    assert_string_equal(r.base_status, "x??");
    assert_int_equal(r.all.m[0].verdict, BASELINE_NOT_COMPARABLE);
    assert_int_equal(r.all.m[1].verdict, BASELINE_NOT_COMPARABLE);
    assert_int_equal(r.all.m[2].verdict, BASELINE_NOT_COMPARABLE);
    /* -1 is a number: 9 vs -1 is a rise (change relative to |base|). */
    assert_int_equal(r.all.m[3].verdict, BASELINE_REGRESSION);
    assert_true(fabs(r.all.m[3].change - 10.0) < 1e-9);
    /* Throughput from 0: an improvement without a ratio. */
    assert_int_equal(r.all.m[4].verdict, BASELINE_IMPROVEMENT);
    assert_false(r.all.m[4].has_change);
    assert_int_equal(r.all.m[5].verdict, BASELINE_IMPROVEMENT);
    /* observe is not an object on the baseline's side: skipped. learn's
     * throughput has no valid duration in the baseline; its p50 ratio
     * overflows to infinity: not a change, and no verdict from it. */
    assert_int_equal(r.n_ops, 1);
    assert_string_equal(r.ops[0].name, "learn");
    assert_int_equal(r.ops[0].m[4].verdict, BASELINE_NOT_COMPARABLE);
    assert_false(r.ops[0].m[0].has_change);
    assert_int_equal(r.ops[0].m[0].verdict, BASELINE_UNCHANGED);
}

static void
test_baseline_json_output(void **state)
{
    struct fx *f = *state;
    char base[2048];
    char cur[2048];
    char err[256];
    struct baseline_result r;
    struct json_doc *d = NULL;
    const struct json_val *root, *m, *p50;
    int ok = 0;

    results_doc(base, sizeof(base), 2.0, 10.0, 100.0, 0.0, 4.0, 100.0);
    results_doc(cur, sizeof(cur), 3.0, 10.0, 100.0, 0.0, 4.0, 100.0);
    write_file(f->path, base);
    baseline_load(&f->b, f->path, 0.25);
    parse_cur(f, cur);
    baseline_compare(&f->b, json_root(f->cur), "t", &r);
    assert_int_equal(baseline_json(&f->out, &r), 0);
    /* Valid JSON with the figures. */
    assert_int_equal(json_parse(&d, (const char *)f->out.data, f->out.len, NULL,
                                err, sizeof(err)),
                     0);
    root = json_root(d);
    assert_string_equal(json_get(root, "status")->str, "compared");
    assert_string_equal(json_get(root, "file")->str, f->path);
    assert_string_equal(json_get(root, "verdict")->str, "regression");
    assert_true(json_get(root, "deviation_threshold")->num == 0.25);
    assert_true(json_get(root, "regressions")->num == 1.0);
    m = json_get(root, "metrics");
    p50 = json_get(m, "p50_ms");
    assert_true(json_get(p50, "baseline")->num == 2.0);
    assert_true(json_get(p50, "current")->num == 3.0);
    assert_true(json_get(p50, "change")->num == 0.5);
    assert_string_equal(json_get(p50, "verdict")->str, "regression");
    assert_int_equal(json_get(json_get(json_get(root, "operations"), "observe"),
                              "error_rate")
                         ->type,
                     JSON_OBJECT);
    json_free(d);
    d = NULL;

    /* Every allocation failure of the writer is reported. */
    for (long n = 0; n < 20 && ok == 0; n++) {
        struct buf b;
        int rv = 0;
        buf_init(&b, 1u << 20);
        alloc_fail_after(n);
        rv = baseline_json(&b, &r);
        alloc_fail_after(-1);
        assert_true(rv == 0 || rv == E_NOMEM);
        ok = rv == 0;
        buf_fini(&b);
    }
    assert_int_equal(ok, 1);

    /* An invalid file: status, error, no metrics; still valid JSON. */
    baseline_fini(&f->b);
    write_file(f->path, "{\"t\": ]");
    baseline_load(&f->b, f->path, 0.2);
    baseline_compare(&f->b, json_root(f->cur), "t", &r);
    assert_int_equal(r.state, BASELINE_INVALID);
    buf_reset(&f->out);
    assert_int_equal(baseline_json(&f->out, &r), 0);
    assert_int_equal(json_parse(&d, (const char *)f->out.data, f->out.len, NULL,
                                err, sizeof(err)),
                     0);
    assert_string_equal(json_get(json_root(d), "status")->str, "invalid");
    assert_non_null(strstr(json_get(json_root(d), "error")->str, "byte 6"));
    assert_null(json_get(json_root(d), "metrics"));
    json_free(d);
}

int
baseline_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_errors_and_bounds),
        cmocka_unit_test(test_json_nomem_sweep),
        cmocka_unit_test_setup_teardown(test_baseline_load_states, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baseline_verdicts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baseline_hostile_values, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baseline_json_output, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("baseline", tests, NULL, NULL);
}
