#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Baseline comparison (reporting.baseline_comparison, --baseline): short
# concurrent runs against katosim with 1 ms and with 8 ms of added latency.
#  1. fast, no baseline file yet: one note line, exit 0, JSON "missing",
#     no JUnit baseline case; its latest.json becomes the fast baseline.
#  2. slow against the fast baseline: the median regresses; a warning
#     only (exit 0); the JSON's change ratios are (current - baseline) /
#     baseline of the two files' own numbers; the console block, the HTML
#     section and the JUnit case (system-out) say the same.
#  3. fast against the slow run's file: the median improves, exit 0.
# (A 2 s run's tail latencies on a shared host are noise: only medians'
# verdicts are asserted; every ratio is checked against the files.)
#  4. fail_on_regression: true: the same regression fails, exit 1, JUnit
#     failure.
#  5. a malformed baseline: an error naming the file, the byte, line and
#     column; results still written, exit 0.
#  6. fail_on_regression: maybe: a config error with file:line:col, exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

katosim_start --latency-ms 1
FAST_URL=$KATO_URL
FAST_PID=$KATO_PID
katosim_start --latency-ms 8
SLOW_URL=$KATO_URL

# config FILE EXTRA: a 2 s concurrent test; EXTRA goes under
# baseline_comparison.
config() {
    cat >"$1" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 4
    duration_seconds: 2
    requests_per_user_per_second: 20
    think_time_ms: 5
performance_thresholds:
  response_time_p99_max: 5000
  max_error_rate: 0.5
reporting:
  baseline_comparison:
    enabled: true
    baseline_file: $T_TMP/never-read.json
    deviation_threshold: 0.2
$2
YAML
}
config "$T_TMP/warn.yaml" ""
config "$T_TMP/fail.yaml" "    fail_on_regression: true"
printf 'reporting:\n  baseline_comparison:\n    fail_on_regression: maybe\n' \
    >"$T_TMP/bad.yaml"

# run NAME CONFIG URL BASELINE: sets RC, OUT, JSON, HTML, JUNIT.
run() {
    OUT=$T_TMP/out-$1
    timeout 60 "$KS_OUT/stress-master" --config "$2" --url "$3" \
        --local-agents 1 --threads 1 --output "$OUT" --baseline "$4" \
        >"$T_TMP/$1.out" 2>"$T_TMP/$1.err"
    RC=$?
    JSON=$OUT/latest.json
    HTML=$(html_of "$OUT")
    JUNIT=$(ls "$OUT"/junit_*.xml 2>/dev/null | head -n 1)
}
B='.concurrent_requests.results.baseline'
j() { jq -r "$1" "$JSON"; }
jx() { xmllint --xpath "$1" "$JUNIT" 2>/dev/null; }

# --- 1. no baseline file -----------------------------------------------------
run first "$T_TMP/warn.yaml" "$FAST_URL" "$T_TMP/fast.json"
check_eq "no file: exit 0" 0 "$RC"
check_eq "no file: JSON status missing" "missing no baseline file $T_TMP/fast.json" \
    "$(j "$B | [.status, .verdict, .file] | join(\" \")")"
check_eq "no file: one note line on the console" 1 \
    "$(grep -c "^Baseline Comparison: none (no baseline file $T_TMP/fast.json" "$T_TMP/first.out")"
check_eq "no file: no JUnit baseline case" 0 "$(jx 'count(//testcase[contains(@name, "baseline")])')"
check_eq "no file: no HTML section" 0 "$(hx "$HTML" 'count(//h3[.="Baseline comparison"])')"
cp "$JSON" "$T_TMP/fast.json"

# --- 2. slower: regressions, warnings only ------------------------------------
run slow "$T_TMP/warn.yaml" "$SLOW_URL" "$T_TMP/fast.json"
check_eq "regression: exit 0 (warnings by default)" 0 "$RC"
[ "$RC" = 0 ] || tail -n 20 "$T_TMP/slow.err"
check_eq "regression: compared, verdict regression" "compared regression" \
    "$(j "$B | [.status, .verdict] | join(\" \")")"
R='.concurrent_requests.results'
for m in p50:response_time_p50 p99:response_time_p99; do
    k=${m%%:*}_ms
    base=$(jq -r "$R.${m#*:}" "$T_TMP/fast.json")
    cur=$(j "$R.${m#*:}")
    check_eq "regression: $k baseline = the fast file's" "$base" "$(j "$B.metrics.\"$k\".baseline")"
    check_eq "regression: $k current = this run's" "$cur" "$(j "$B.metrics.\"$k\".current")"
    check "regression: $k change = (cur - base) / base ($(j "$B.metrics.\"$k\".change"))" \
        awk -v b="$base" -v c="$cur" -v ch="$(j "$B.metrics.\"$k\".change")" \
        'BEGIN { d = (c - b) / b - ch; exit !(d < 1e-5 && d > -1e-5) }'
done
# The p50 moves by 7 ms out of 1 to 2; a 2 s run's tail on a shared host
# is noise, so only the median's verdict is asserted.
check_eq "regression: p50 verdict" regression "$(j "$B.metrics.\"p50_ms\".verdict")"
check_eq "regression: observe's p50 regressed too" regression \
    "$(j "$B.operations.observe.\"p50_ms\".verdict")"
nreg=$(j "$B.regressions")
check_eq "regression: the count is the JSON's regressed metrics" \
    "$(j "[$B.metrics[], $B.operations[][] | select(.verdict == \"regression\")] | length")" "$nreg"
check "regression: console block with the p50 line" \
    grep -q "p50_ms: .* -> .* regression" "$T_TMP/slow.out"
check "regression: console says how many" \
    grep -q "concurrent_requests: regression ($nreg regressions" "$T_TMP/slow.out"
html_parses regression "$HTML"
check_eq "regression: HTML section" 1 "$(hx "$HTML" 'count(//h3[.="Baseline comparison"])')"
row() { # scope metric column
    hx "$HTML" "string(//h3[.=\"Baseline comparison\"]/following-sibling::table[1]//tr[td[1]=\"$1\" and td[2]=\"$2\"]/td[$3])"
}
check_eq "regression: HTML p99 baseline = JSON's" \
    "$(printf %.3f "$(j "$B.metrics.\"p99_ms\".baseline")")" "$(row all p99_ms 3)"
check_eq "regression: HTML p99 current = JSON's" \
    "$(printf %.3f "$(j "$B.metrics.\"p99_ms\".current")")" "$(row all p99_ms 4)"
check_eq "regression: HTML p99 change = JSON's" \
    "$(printf %+.1f "$(awk -v c="$(j "$B.metrics.\"p99_ms\".change")" 'BEGIN { print c * 100 }')") %" \
    "$(row all p99_ms 5)"
check_eq "regression: HTML p99 verdict = JSON's" "$(j "$B.metrics.\"p99_ms\".verdict")" \
    "$(row all p99_ms 6)"
check_eq "regression: HTML p50 verdict" regression "$(row all p50_ms 6)"
check_eq "regression: HTML observe p50 verdict" regression "$(row observe p50_ms 6)"
check "JUnit well-formed" xmllint --noout "$JUNIT"
check_eq "regression: JUnit case passes, with the warning in system-out" \
    "1 0" "$(jx 'count(//testcase[contains(@name, "baseline deviation")]/system-out[starts-with(., "warning: ")])') $(jx 'count(//failure)')"
cp "$JSON" "$T_TMP/slow.json"

# --- 3. faster than the baseline: improvements --------------------------------
run fast "$T_TMP/warn.yaml" "$FAST_URL" "$T_TMP/slow.json"
check_eq "improvement: exit 0" 0 "$RC"
check_eq "improvement: p50 improved" improvement "$(j "$B.metrics.\"p50_ms\".verdict")"
check_eq "improvement: observe's p50 improved" improvement \
    "$(j "$B.operations.observe.\"p50_ms\".verdict")"
check "improvement: counted ($(j "$B.improvements"))" test "$(j "$B.improvements")" -ge 2
check_eq "improvement: the JUnit case does not fail" 0 \
    "$(jx 'count(//testcase[contains(@name, "baseline deviation")]/failure)')"

# --- 4. fail_on_regression -------------------------------------------------------
run failing "$T_TMP/fail.yaml" "$SLOW_URL" "$T_TMP/fast.json"
check_eq "fail_on_regression: exit 1" 1 "$RC"
check_eq "fail_on_regression: a baseline violation" baseline \
    "$(j '[.concurrent_requests.results.thresholds.violations[].metric] | join(" ")')"
check_eq "fail_on_regression: the JUnit case fails" 1 \
    "$(jx 'count(//testcase[contains(@name, "baseline deviation")]/failure)')"
check_eq "fail_on_regression: the JUnit case lists what regressed in system-out" 1 \
    "$(jx 'count(//testcase[contains(@name, "baseline deviation")]/system-out[starts-with(., "regressed: ") and contains(., " -> ")])')"
check "fail_on_regression: listed with the violations" \
    grep -q "regressed beyond 20% of the baseline (fail_on_regression)" "$T_TMP/failing.out"

# --- 5. a malformed baseline -------------------------------------------------------
printf '{"concurrent_requests": {"status": "completed",\n  "results": {"error_rate" 0}}}\n' \
    >"$T_TMP/broken.json"
run broken "$T_TMP/warn.yaml" "$FAST_URL" "$T_TMP/broken.json"
check_eq "malformed: exit 0, results written" "0 1" "$RC $(ls "$OUT"/stress_test_results_*.json | wc -l)"
check "malformed: the error names the file, byte, line and column" \
    grep -q "BASELINE-INVALID $T_TMP/broken.json: not valid JSON: expected ':' at byte 75 (line 2, column 28)" \
    "$T_TMP/broken.err"
check_eq "malformed: JSON status invalid" invalid "$(j "$B.status")"
check_eq "malformed: JUnit case skipped with the reason" 1 \
    "$(jx 'count(//testcase[contains(@name, "baseline deviation")]/skipped[contains(@message, "line 2, column 28")])')"
html_parses malformed "$HTML"

# --- 6. a bad fail_on_regression -----------------------------------------------------
"$KS_OUT/stress-master" --config "$T_TMP/bad.yaml" --url "$FAST_URL" \
    >/dev/null 2>"$T_TMP/bad.err"
check_eq "fail_on_regression: maybe: exit 2" 2 "$?"
check "the error says file:line:col" grep -q "^$T_TMP/bad.yaml:3:25: " "$T_TMP/bad.err"
t_done
