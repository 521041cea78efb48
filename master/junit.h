/* SPDX-License-Identifier: MIT */
/*
 * The JUnit XML file for CI (Jenkins, GitLab): junit_YYYYmmdd_HHMMSS.xml
 * in <output_directory>, one <testsuite name="kato-stress"> holding
 *   - one testcase per test, classname "kato-stress.<test>", name
 *     "<test>", failing when the test's status is "failed" or "aborted"
 *     (the reason in the failure); an "interrupted" test is an <error
 *     type="interrupted"> instead (the run could not complete: that says
 *     nothing of the target), counted in the suite's errors;
 *   - one testcase per threshold checked, classname "kato-stress.<test>",
 *     name "<test>: <key> <= <limit> <unit>" (for example
 *     "concurrent_requests: response_time_p99_max <= 100 ms"; a minimum
 *     reads ">=", a per-operation key "<test>: observe.<key> ..."), failing
 *     with the measured value when violated: "requests completed > 0",
 *     then every entry of the verdict's checks (report_evaluate: the keys
 *     the config set). A key that could not be checked (no request
 *     completed, no target sample) is skipped, its message "not checked:
 *     <why>". A test stopped by abort_on_fail fails its test testcase
 *     with the violation; a test whose agents were saturated
 *     (saturation.h) gets a <system-out> WARNING line on its test
 *     testcase, never a failure;
 *   - for the sustained test, one testcase "<test>: max_degradation <=
 *     <limit>", failing when the p99 degradation exceeds it and skipped
 *     ("not enough data") when the run was too short to measure it;
 *   - when a baseline comparison was made (master/baseline.h), one
 *     testcase "<test>: baseline deviation <= <threshold> %": regressions
 *     are listed in its <system-out> and fail it only with
 *     reporting.baseline_comparison.fail_on_regression; a malformed
 *     baseline file or a test it lacks is a skipped case saying so; a
 *     missing file (a first run) adds none;
 *   - a test that did not run (status "not_implemented" or "not_run", in
 *     a --test all suite) is one skipped testcase saying so, with no
 *     threshold cases.
 * The suite's tests/failures/errors/skipped attributes count those
 * testcases; times are in seconds. All text is XML-escaped, control
 * characters and malformed UTF-8 are dropped, so the file is always
 * well-formed XML 1.0.
 */
#ifndef MASTER_JUNIT_H
#define MASTER_JUNIT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "report.h"

#define JUNIT_MAX_BYTES (4u * 1024u * 1024u)

/*
 * Appends the JUnit document for n tests (runs[i] with its verdicts[i],
 * both borrowed) to out. wall_ns (CLOCK_REALTIME) is the suite's
 * timestamp. Returns 0, E_TOOBIG or E_NOMEM (out->len is then
 * unspecified).
 */
int junit_xml(struct buf *out, const struct report_run *runs,
              const struct report_verdict *verdicts, size_t n,
              uint64_t wall_ns);

/*
 * Builds the document and writes it into dir (which must exist) as
 * junit_<report_stamp(wall_ns)>.xml through a temp file and a rename.
 * Returns 0, E_IO, E_RANGE, E_TOOBIG or E_NOMEM, with err (errlen bytes)
 * saying what failed.
 */
int junit_write(const char *dir, const struct report_run *runs,
                const struct report_verdict *verdicts, size_t n,
                uint64_t wall_ns, char *err, size_t errlen);

#endif
