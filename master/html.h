/* SPDX-License-Identifier: MIT */
/*
 * The HTML report of a run: report_YYYYmmdd_HHMMSS.html in
 * <output_directory>, one self-contained file (inline CSS, inline SVG
 * charts drawn here; no script, font, image or link to fetch) that opens
 * offline. Per test: summary, thresholds, throughput over time (errors
 * highlighted), latency percentiles over time (p50/p90/p99 and service
 * time p50), the percentile spectrum on HdrHistogram's 1/(1-p) axis,
 * per-operation table, errors by class, per-agent table and resources
 * (each agent's CPU and the target's memory over time, a warning for
 * saturated agents; "no data" when none was sent: nothing is made up).
 *
 * The markup is XHTML-compatible HTML5 (every element closed, only the
 * predefined XML entities and numeric references, no namespace URLs), so
 * `xmllint --noout` checks it as XML and browsers read it as HTML. All text
 * that does not come from this file (test names, target, agent names,
 * error classes) is escaped by html_escape; every number written is
 * finite. Reads the aggregate through its accessors only; independent of
 * the JSON writer (report.c).
 */
#ifndef MASTER_HTML_H
#define MASTER_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "aggregate.h"
#include "report.h"

/* Largest report built in memory (bytes): a 1-hour test is about 1 MB. */
#define HTML_MAX_BYTES (64u * 1024u * 1024u)

/* One test of the run. Every pointer is borrowed. */
struct html_test {
    const struct agg *agg;
    const struct report_run *run;
    const struct report_verdict *verdict;
};

/*
 * Appends s escaped for HTML element content and attribute values to
 * out: & < > " ' as entities, tab and line breaks kept as character
 * references, other control characters and malformed UTF-8 (stray,
 * overlong, surrogate, beyond U+10FFFF, U+FFFE/U+FFFF) dropped. NULL
 * appends nothing. Returns 0, E_TOOBIG or E_NOMEM.
 */
int html_escape(struct buf *out, const char *s);

/*
 * Appends the whole document for tests[0..n) to out. wall_ns
 * (CLOCK_REALTIME) is printed as the run's start. Returns 0, E_TOOBIG or
 * E_NOMEM (out->len is then unspecified).
 */
int html_report(struct buf *out, const struct html_test *tests, size_t n,
                uint64_t wall_ns);

/*
 * Builds the document and writes it into dir (which must exist) as
 * report_<report_stamp(wall_ns)>.html through a temp file and a rename.
 * Returns 0, E_IO, E_RANGE, E_TOOBIG or E_NOMEM, with err (errlen bytes)
 * saying what failed.
 */
int html_write(const char *dir, const struct html_test *tests, size_t n,
               uint64_t wall_ns, char *err, size_t errlen);

#endif
