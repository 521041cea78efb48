#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The pool test end to end (docs/tests-design.md 5.4): 2 x (10 + 5) = 30
# large observes released at once on fresh connections by two local
# agents, then 2 probe users for 3 s.
#  1. katosim --max-concurrency 4 (below the pool) with 50 ms per request:
#     the blast sees 503s, counted exactly as katosim counted its
#     rejections of observes, the verdict is graceful and the probes
#     succeed.
#  2. A healthy katosim: no error at all, verdict graceful, exit 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

KEY=connection_pool
j() { jq -r ".$KEY.results$1" "$OUT/latest.json"; }

# config FILE MAX_ERROR_RATE
config() {
    cat >"$1" <<YAML
test_parameters:
  connection_pool_size: 10
  connection_pool_overflow: 5
test_scenarios:
  pool:
    probe_users: 2
    probe_seconds: 3
    large_strings: 100
performance_thresholds:
  response_time_p99_max: 100000
  max_error_rate: $2
YAML
}

run() {
    OUT=$T_TMP/out-$1
    timeout 120 "$KS_OUT/stress-master" --config "$2" --url "$KATO_URL" \
        --local-agents 2 --threads 1 --output "$OUT" --test pool --quick \
        >"$T_TMP/$1.stdout" 2>"$T_TMP/$1.stderr"
    RC=$?
    [ "$RC" = 0 ] || tail -n 30 "$T_TMP/$1.stderr"
}

# --- 1. a server limit below the pool: 503s, graceful ----------------------
# The blast's 503s are errors like any other: the error-rate threshold is
# raised so that the run's exit code reflects the verdict alone.
config "$T_TMP/limited.yaml" 1.0
katosim_start --max-concurrency 4 --latency-ms 50
run limited "$T_TMP/limited.yaml"
check_eq "limited: master exits 0" 0 "$RC"
check_eq "limited: planned 30 large observes" 30 "$(j .pool.planned_requests)"
check_eq "limited: all 30 completed" 30 "$(j .pool.requests)"
e503=$(j .pool.http_503)
check "limited: 503s seen ($e503 > 0)" test "$e503" -gt 0
# Every observe katosim saw came from the blast or the probes; the
# probes saw no error, so katosim's 503s to observes are the blast's.
check_eq "limited: blast errors are all 503s" "$e503" "$(j .pool.errors)"
check_eq "limited: the tool's observe 503s equal the blast's" "$e503" \
    "$(j '.errors_by_operation.observe["http_503"] // .errors_by_operation.observe["503"] // 0')"
check_eq "limited: katosim's 503s equal the tool's" \
    "$(katosim_metric '.rejected_503')" "$(j '.errors["http_503"] // .errors["503"] // 0')"
check "limited: katosim never exceeded its limit" \
    test "$(katosim_metric '.peak_in_flight')" -le 4
check_eq "limited: verdict graceful" graceful "$(j .verdict)"
check_eq "limited: probes succeeded" true "$(j .pool.probes_succeeded)"
p=$(j .pool.probe_requests)
check "limited: probes completed requests ($p > 0)" test "$p" -gt 0
check_eq "limited: probes saw no error" 0 "$(j .pool.probe_errors)"
pif=$(j .pool.peak_in_flight)
check "limited: peak in flight reached the blast ($pif >= 30)" test "$pif" -ge 30
check "limited: summary prints the verdict" grep -q "Verdict: graceful" "$T_TMP/limited.stdout"
# The HTML report's pool section holds the JSON's figures.
html=$(html_of "$OUT")
html_parses limited "$html"
check_eq "limited: HTML verdict graceful" graceful \
    "$(hx "$html" 'string(//h3[.="Connection pool"]/following-sibling::p[@class="verdict"][1]/span)')"
for row in "503:http_503" "connection refused:connection_refused" \
    "timeouts:timeouts" "probe requests:probe_requests" \
    "probe errors:probe_errors" "peak in flight (upper bound):peak_in_flight" \
    "completed:requests"; do
    check_eq "limited: HTML pool row '${row%%:*}' = JSON's .pool.${row#*:}" \
        "$(j ".pool.${row#*:}")" "$(sect_row "$html" "Connection pool" "${row%%:*}")"
done
echo "# limited: 503=$e503 peak_in_flight<=$pif probes=$p late=$(j .late_arrivals) katosim_peak=$(katosim_metric '.peak_in_flight')"
kill "$KATO_PID" 2>/dev/null
wait "$KATO_PID" 2>/dev/null

# --- 2. a healthy server: no error -----------------------------------------
config "$T_TMP/healthy.yaml" 0.0
katosim_start
run healthy "$T_TMP/healthy.yaml"
check_eq "healthy: master exits 0" 0 "$RC"
check_eq "healthy: all 30 completed" 30 "$(j .pool.requests)"
check_eq "healthy: no error at all" 0 "$(j .total_failures)"
check_eq "healthy: verdict graceful" graceful "$(j .verdict)"
check_eq "healthy: probes succeeded" true "$(j .pool.probes_succeeded)"
check_eq "healthy: total requests equal katosim's" \
    "$(katosim_metric '.load_requests')" "$(j .total_requests)"
t_done
