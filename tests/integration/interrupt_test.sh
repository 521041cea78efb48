#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An interrupted run leaves valid partial files (issue 4, item 6): the
# master gets SIGINT (Ctrl-C), then in a second run SIGTERM, about 2 s
# into a 20 s test on two local agents. Each time: exit 130; the JSON says
# "interrupted", with a duration and intervals only for the seconds that
# ran, and counts equal to katosim's; both CSV files parse with the
# header's column count on every row, and the performance CSV has rows
# only for intervals the JSON has (an "all" row for each); the JUnit XML
# is well-formed and marks the test with an <error type="interrupted">
# (an interruption is not a failure of the target: docs in junit.h); the
# HTML report exists, parses and shows the status "interrupted".
# The master runs under timeout(1), which passes a SIGTERM/SIGINT on to it
# and then to its process group: the master gets the signal twice within
# microseconds, which must count as one request (a second one cuts the
# agents' last batches short, and the counts would not match katosim's).
# A real second Ctrl-C, 0.6 s after the first, still cuts the wait short.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

cfg=$T_TMP/c.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 20
    requests_per_user_per_second: 20
    think_time_ms: 5
performance_thresholds:
  response_time_p99_max: 5000
  max_error_rate: 0.5
YAML

# csv_check NAME FILE: every row has the header's column count (RFC 4180
# quoting); prints the row count.
csv_rows() {
    python3 - "$1" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f))
n = len(rows[0])
bad = [i for i, r in enumerate(rows) if len(r) != n]
print(len(rows) - 1 if not bad else "bad rows %s" % bad[:5])
PY
}

for sig in INT TERM; do
    katosim_start --latency-ms 1
    out=$T_TMP/out-$sig
    timeout 90 "$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" \
        --local-agents 2 --threads 1 --output "$out" \
        >"$T_TMP/$sig.out" 2>"$T_TMP/$sig.err" &
    mpid=$!
    T_PIDS+=("$mpid")
    for i in $(seq 1 100); do
        [ "$(katosim_metric '.load_requests')" -gt 50 ] 2>/dev/null && break
        sleep 0.1
    done
    sleep 1.5
    kill -"$sig" "$mpid"
    wait "$mpid"
    rc=$?
    check_eq "SIG$sig: exit 130" 130 "$rc"
    [ "$rc" = 130 ] || tail -n 20 "$T_TMP/$sig.err"
    check_eq "SIG$sig: one signal (delivered twice by timeout) is one request" 0 \
        "$(grep -c 'second interrupt' "$T_TMP/$sig.err")"

    json=$(ls "$out"/stress_test_results_*.json 2>/dev/null | head -n 1)
    stamp=$(basename "$json" .json | sed 's/^stress_test_results_//')
    R='.concurrent_requests.results'
    j() { jq -r "$1" "$json"; }
    check "SIG$sig: results JSON written and valid" jq -e . "$json" >/dev/null
    check_eq "SIG$sig: status interrupted" interrupted "$(j '.concurrent_requests.status')"
    dur=$(j "$R.duration_seconds")
    check "SIG$sig: duration is the time that ran ($dur s < 20)" \
        awk -v d="$dur" 'BEGIN { exit !(d > 1 && d < 15) }'
    check_eq "SIG$sig: counts equal katosim's" "$(katosim_metric '.load_requests')" \
        "$(j "$R.total_requests")"
    n_int=$(j "$R.intervals | length")
    check "SIG$sig: intervals only for the seconds that ran ($n_int for $dur s)" \
        awk -v n="$n_int" -v d="$dur" 'BEGIN { exit !(n >= 1 && n <= d + 2) }'

    perf=$out/metrics_${stamp}_performance.csv
    res=$out/metrics_${stamp}_resources.csv
    rows=$(csv_rows "$perf")
    check "SIG$sig: performance CSV: every row has the header's columns ($rows rows)" \
        test "$rows" -gt 0 2>/dev/null
    check_eq "SIG$sig: performance CSV has 11 columns" 11 "$(head -n 1 "$perf" | tr ',' '\n' | wc -l)"
    check_eq "SIG$sig: performance CSV: its intervals are the JSON's" \
        "$(j "[$R.intervals[].t] | map(tostring) | join(\" \")")" \
        "$(awk -F, 'NR > 1 && $4 == "all" { print $2 }' "$perf" | tr '\n' ' ' | sed 's/ $//')"
    check_eq "SIG$sig: performance CSV: no row for an interval the JSON lacks" 0 \
        "$(awk -F, -v n="$n_int" 'NR > 1 && ($2 < 0 || $2 >= n)' "$perf" | wc -l)"
    check_eq "SIG$sig: performance CSV: the all rows' requests add up to the JSON's" \
        "$(j "$R.total_requests")" \
        "$(awk -F, 'NR > 1 && $4 == "all" { s += $5 } END { print s + 0 }' "$perf")"
    rrows=$(csv_rows "$res")
    check "SIG$sig: resources CSV: every row has the header's columns ($rrows rows)" \
        test "$rrows" -ge 0 2>/dev/null

    junit=$out/junit_$stamp.xml
    check "SIG$sig: JUnit XML well-formed" xmllint --noout "$junit"
    x() { xmllint --xpath "$1" "$junit" 2>/dev/null; }
    check_eq "SIG$sig: JUnit: the test is an error of type interrupted" 1 \
        "$(x "count(//testcase[@name='concurrent_requests']/error[@type='interrupted'])")"
    check_eq "SIG$sig: JUnit: the suite counts one error" 1 "$(x 'string(//testsuite/@errors)')"
    check_eq "SIG$sig: JUnit: no failure (the thresholds held)" 0 "$(x 'count(//failure)')"

    html=$out/report_$stamp.html
    check "SIG$sig: HTML report written" test -s "$html"
    html_parses "SIG$sig" "$html"
    check_eq "SIG$sig: HTML shows the status interrupted" interrupted \
        "$(hx "$html" 'string(//div[@class="card"][div[@class="k"]="status"]/div[2])')"
    sleep 0.3
    check_eq "SIG$sig: no agent left running" 0 "$(leftovers stress-agent)"
    kill "$KATO_PID" 2>/dev/null
    wait "$KATO_PID" 2>/dev/null
done

# --- a second Ctrl-C 0.6 s after the first ------------------------------------
# katosim answers after 3 s, so the agents are still draining their
# in-flight requests when the second SIGINT comes: the master stops
# waiting for them (well within its 2 s collection window) and still
# writes the files.
katosim_start --latency-ms 3000
out=$T_TMP/out-twice
"$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" --local-agents 2 \
    --threads 1 --output "$out" >"$T_TMP/twice.out" 2>"$T_TMP/twice.err" &
mpid=$!
T_PIDS+=("$mpid")
sleep 2.5
kill -INT "$mpid"
sleep 0.6
kill -INT "$mpid" 2>/dev/null
t0=$(date +%s%N)
wait "$mpid"
rc=$?
waited_ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "second Ctrl-C: exit 130" 130 "$rc"
check "second Ctrl-C: taken as such" grep -q "second interrupt" "$T_TMP/twice.err"
check "second Ctrl-C: the master ended within 2.5 s of it, not after the 2 s collection and 3 s kill grace (${waited_ms} ms)" \
    test "$waited_ms" -lt 2500
check_eq "second Ctrl-C: partial results still written, interrupted" interrupted \
    "$(jq -r '.concurrent_requests.status' "$out/latest.json" 2>/dev/null)"
sleep 0.3
check_eq "second Ctrl-C: no agent left running" 0 "$(leftovers stress-agent)"
t_done
