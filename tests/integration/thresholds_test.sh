#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every kind of performance_thresholds key against katosim, each violated
# in turn: exit 1, and the violation named in the summary, the JSON and
# the JUnit file. Then a per-operation threshold broken by observe only,
# the resource keys judged on katosim's own memory and CPU, abort_on_fail stopping a 20 s test
# early, and the console: a live line redrawn with \r on a terminal
# (script(1) gives the master a pseudo-terminal), plain lines otherwise.
. "$(dirname "$0")/lib.sh"

# cfg FILE DURATION_S USERS RPS THRESHOLD-LINES...
cfg() {
    local f=$1 d=$2 u=$3 rps=$4
    shift 4
    {
        printf 'test_scenarios:\n  concurrent:\n'
        printf '    concurrent_users: %s\n    duration_seconds: %s\n' "$u" "$d"
        printf '    requests_per_user_per_second: %s\n    think_time_ms: 10\n' "$rps"
        printf 'performance_thresholds:\n'
        printf '  %s\n' "$@"
    } >"$f"
}

# master NAME CONFIG: runs one test; RC, $T_TMP/NAME.{out,err}, $T_TMP/NAME/.
master() {
    "$KS_OUT/stress-master" --config "$2" --url "$KATO_URL" --local-agents 1 \
        --threads 1 --output "$T_TMP/$1" >"$T_TMP/$1.out" 2>"$T_TMP/$1.err"
    RC=$?
}
jv() { jq -r "$2" "$T_TMP/$1/latest.json"; }
junit() { ls "$T_TMP/$1"/junit_*.xml | head -n 1; }
# xp NAME XPATH: the XPath's value in NAME's JUnit file.
xp() { xmllint --xpath "$2" "$(junit "$1")" 2>/dev/null; }

# violated NAME METRIC SUMMARY-WORDS JUNIT-KEY: the checks of one violation.
violated() {
    local n=$1 metric=$2 words=$3 key=$4
    check_eq "$n: exit 1" 1 "$RC"
    check "$n: summary names it ($words)" \
        grep -q "⚠️  concurrent_requests: $words" "$T_TMP/$n.out"
    check_eq "$n: JSON violation" "$metric" \
        "$(jv "$n" "[.concurrent_requests.results.thresholds.violations[].metric] | join(\" \")")"
    check_eq "$n: JSON results list it failed" failed \
        "$(jv "$n" "[.concurrent_requests.results.thresholds.results[] | select(.key == \"$key\" and .operation == \"all\")][0].status")"
    check_eq "$n: one JUnit failure, on $key" 1 \
        "$(xp "$n" "count(//testcase[contains(@name, ': $key ')]/failure)")"
    check_eq "$n: no other JUnit failure" 1 "$(xp "$n" 'count(//failure)')"
}

# --- latency keys: 30 ms added, each maximum set to 10 ms in turn --------
katosim_start --latency-ms 30
loose=(response_time_p50_max: 5000 response_time_p95_max: 5000
    response_time_p99_max: 5000 response_time_p99_9_max: 5000)
for k in p50 p95 p99 p99_9; do
    words="${k^^}"
    words="${words/_/.} response time"
    lines=()
    for kk in p50 p95 p99 p99_9; do
        v=5000
        [ "$kk" = "$k" ] && v=10
        lines+=("response_time_${kk}_max: $v")
    done
    cfg "$T_TMP/$k.yaml" 2 2 10 "${lines[@]}" "max_error_rate: 0.0"
    master "$k" "$T_TMP/$k.yaml"
    violated "$k" "response_time_$k" "$words ([0-9.]*ms) exceeds threshold (10ms)" \
        "response_time_${k}_max"
done

# --- per operation: observe's p99 broken, learn's and the global met ------
cfg "$T_TMP/op.yaml" 2 2 10 "response_time_p99_max: 5000" "max_error_rate: 0.0" \
    "per_operation:" \
    "  observe: {response_time_p99_max: 10, max_error_rate: 0.0}" \
    "  learn: {response_time_p99_max: 5000}"
master op "$T_TMP/op.yaml"
check_eq "per-op: exit 1" 1 "$RC"
check_eq "per-op: only observe's p99 is violated (JSON)" observe.response_time_p99 \
    "$(jv op '[.concurrent_requests.results.thresholds.violations[].metric] | join(" ")')"
check "per-op: summary names observe" \
    grep -q "⚠️  concurrent_requests: observe P99 response time ([0-9.]*ms) exceeds threshold (10ms)" "$T_TMP/op.out"
check_eq "per-op: JSON lists observe's two keys and learn's one" \
    "observe:response_time_p99_max:failed observe:max_error_rate:passed learn:response_time_p99_max:passed" \
    "$(jv op '[.concurrent_requests.results.thresholds.results[] | select(.operation != "all") | "\(.operation):\(.key):\(.status)"] | join(" ")')"
check_eq "per-op: the JUnit failure is observe's" 1 \
    "$(xp op "count(//testcase[contains(@name, 'observe.response_time_p99_max &lt;= 10 ms') or contains(@name, 'observe.response_time_p99_max <= 10 ms')]/failure)")"
check_eq "per-op: one JUnit failure in all" 1 "$(xp op 'count(//failure)')"

# --- everything met; a resource key is listed, not passed; the console ----
cfg "$T_TMP/ok.yaml" 2 2 10 "${loose[0]} ${loose[1]}" "${loose[2]} ${loose[3]}" \
    "${loose[4]} ${loose[5]}" "${loose[6]} ${loose[7]}" \
    "min_throughput_rps: 1" "max_error_rate: 0.0" "max_memory_usage_mb: 100" \
    "max_cpu_usage_percent: 80" "max_connection_pool_usage: 0.9"
master ok "$T_TMP/ok.yaml"
check_eq "all met: exit 0" 0 "$RC"
check "all met: summary says so" grep -q "All performance thresholds met" "$T_TMP/ok.out"
check_eq "all met: JSON results, in config order" \
    "response_time_p50_max:passed response_time_p95_max:passed response_time_p99_max:passed response_time_p99_9_max:passed min_throughput_rps:passed max_error_rate:passed max_memory_usage_mb:passed max_cpu_usage_percent:passed max_connection_pool_usage:passed" \
    "$(jv ok '[.concurrent_requests.results.thresholds.results[] | "\(.key):\(.status)"] | join(" ")')"
check_eq "all met: JUnit, test + requests + 9 keys" 11 "$(xp ok 'count(//testcase)')"
check_eq "all met: the 3 resource keys checked (katosim's /metrics gives memory and CPU)" 0 \
    "$(xp ok "count(//skipped)")"
check "all met: the memory key judged on target samples" \
    test "$(jv ok '.concurrent_requests.results.resources.target.memory_samples')" -ge 1
check "not a terminal: plain progress lines" grep -q "^progress: 1/2s users=2 " "$T_TMP/ok.err"
check "not a terminal: no carriage return" test "$(grep -c $'\r' "$T_TMP/ok.err")" = 0

script -qec "$KS_OUT/stress-master --config $T_TMP/ok.yaml --url $KATO_URL --local-agents 1 --threads 1 --output $T_TMP/tty" /dev/null >"$T_TMP/tty.txt"
check_eq "terminal: exit 0" 0 "$?"
check "terminal: progress redrawn in place (\\r, erase line)" \
    grep -q $'\r\033\\[Kprogress: 1/2s users=2 ' "$T_TMP/tty.txt"
check_eq "terminal: no plain progress line" 0 "$(grep -c $'^progress:' "$T_TMP/tty.txt")"
check "terminal: the summary follows" grep -q "STRESS TEST SUMMARY" "$T_TMP/tty.txt"
check "terminal: log lines erase the live line first" \
    grep -q $'\r\033\\[K[0-9T:.-]*Z master info AGENT-GOODBYE' "$T_TMP/tty.txt"

# --- min throughput: a tiny load against 1000 req/s -----------------------
cfg "$T_TMP/rps.yaml" 2 1 2 "min_throughput_rps: 1000" "max_error_rate: 0.0" \
    "response_time_p99_max: 5000"
master rps "$T_TMP/rps.yaml"
violated rps throughput "Throughput ([0-9.]* req/s) below threshold (1000 req/s)" \
    min_throughput_rps

# --- abort_on_fail: p99 over 10 ms, delay 1 s, a 20 s test ----------------
kill "$KATO_PID"
katosim_start --latency-ms 30
cfg "$T_TMP/ab.yaml" 20 2 10 "response_time_p99_max: 10" "max_error_rate: 0.0" \
    "abort_on_fail: true" "abort_delay_seconds: 1"
t0=$(date +%s%N)
master ab "$T_TMP/ab.yaml"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "abort: exit 1" 1 "$RC"
check "abort: a 20 s test stopped within 8 s ($ms ms)" test "$ms" -lt 8000
check_eq "abort: status aborted" aborted "$(jv ab .concurrent_requests.status)"
check "abort: JSON names the violation" test \
    "$(jv ab '.concurrent_requests.results.thresholds.aborted.violation')" != null
check "abort: summary names the abort" grep -q "Aborted: at 1s (abort_on_fail): concurrent_requests: P99" "$T_TMP/ab.out"
check_eq "abort: JUnit test case failed as aborted" 1 \
    "$(xp ab "count(//testcase[@name='concurrent_requests']/failure[starts-with(@message, 'aborted at')])")"
check_eq "abort: counts equal katosim's" "$(katosim_metric .load_requests)" \
    "$(jv ab .concurrent_requests.results.total_requests)"
check_eq "no agent left running" 0 "$(leftovers stress-agent)"

# --- error rate: 30 % injected against 5 % ---------------------------------
kill "$KATO_PID"
katosim_start --error-rate 0.3
cfg "$T_TMP/er.yaml" 2 2 10 "max_error_rate: 0.05" "response_time_p99_max: 5000"
master er "$T_TMP/er.yaml"
violated er error_rate "Error rate ([0-9.]*%) exceeds threshold (5%)" max_error_rate
t_done
