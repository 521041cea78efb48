#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --test all against katosim with two local agents: the tests run in the
# seed's order over the same agents, each with its own statistics (their
# totals add up to exactly what katosim counted, each created exactly its
# own users' sessions), one JSON/CSV/JUnit for all, burst and pool with
# their verdicts, recovery with its invalid requests, nothing listed as not
# implemented. Then the sustained test's degradation
# verdict: a stall injected near the end makes the last fifth's p99 high,
# so the run exits 1 with a degradation violation; and an interrupt in the
# middle of the suite keeps the finished test's results.
. "$(dirname "$0")/lib.sh"

katosim_start
cfg=$T_TMP/all.yaml
cat >"$cfg" <<YAML
environment:
  cooldown_duration_seconds: 1
load_profiles:
  light:
    concurrent_users: 3
    duration_seconds: 5
    ramp_up_seconds: 1
    requests_per_user_per_second: 10
    think_time_ms: 10
  moderate:
    concurrent_users: 5
    duration_seconds: 5
    ramp_up_seconds: 1
    requests_per_user_per_second: 10
    think_time_ms: 10
test_parameters:
  connection_pool_size: 5
  connection_pool_overflow: 5
test_scenarios:
  concurrent:
    concurrent_users: 4
    duration_seconds: 3
    requests_per_user_per_second: 10
    think_time_ms: 10
  recovery:
    concurrent_users: 3
    requests_per_user_per_second: 5
    think_time_ms: 10
    baseline_seconds: 3
    invalid_requests: 20
    invalid_concurrency: 10
    max_recovery_seconds: 5
    window_seconds: 1
    margin: 1.0 # a shared host: this test is about the suite, not the margin
performance_thresholds:
  response_time_p99_max: 2000
  max_error_rate: 0.0
YAML
out=$T_TMP/out
timeout 120 "$KS_OUT/stress-master" --config "$cfg" --test all --quick \
    --url "$KATO_URL" --local-agents 2 --threads 1 --output "$out" \
    >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
check_eq "--test all --quick exits 0 against a healthy target" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/stderr"
J=$out/latest.json
j() { jq -r "$1" "$J"; }
check "results JSON is valid" jq -e . "$J" >/dev/null
check_eq "JSON keys in the seed's order" \
    "concurrent_requests sustained_load_light sustained_load_moderate burst_traffic connection_pool error_recovery" \
    "$(j 'keys_unsorted | join(" ")')"
for t in concurrent_requests sustained_load_light sustained_load_moderate; do
    check_eq "$t completed" completed "$(j ".$t.status")"
    check_eq "$t: each user created one session (per-test stats)" \
        "$(j ".$t.results.users")" "$(j ".$t.results.operation_stats.create_session.count")"
    check_eq "$t: data complete" true "$(j ".$t.results.data_complete")"
    check_eq "$t: two agents" 2 "$(j ".$t.results.agents | length")"
done
check_eq "users per test from the config (--quick kept them)" "4 3 5" \
    "$(j '[.concurrent_requests, .sustained_load_light, .sustained_load_moderate] | map(.results.users) | join(" ")')"
check_eq "error_recovery completed" completed "$(j .error_recovery.status)"
check_eq "error_recovery: its 20 invalid requests" 20 \
    "$(j .error_recovery.results.operation_stats.invalid.count)"
for t in burst_traffic connection_pool; do
    check_eq "$t completed" completed "$(j ".$t.status")"
    check_eq "$t: data complete" true "$(j ".$t.results.data_complete")"
done
check_eq "burst_traffic: verdict pass" pass "$(j .burst_traffic.results.verdict)"
check_eq "burst_traffic: 2 bursts of exactly 200" "200 200" \
    "$(j '.burst_traffic.results.bursts | map(.requests) | join(" ")')"
check_eq "connection_pool: verdict graceful" graceful "$(j .connection_pool.results.verdict)"
check_eq "connection_pool: 2 x (5 + 5) large observes" 20 \
    "$(j .connection_pool.results.pool.requests)"
tool_sum=$(j '[.[] | .results.total_requests // 0] | add')
check "the tests generated load" test "${tool_sum:-0}" -gt 100
check_eq "sum of the tests' totals equals katosim's count" \
    "$(katosim_metric '.load_requests')" "$tool_sum"
check_eq "sessions: the sum of every test's users (slots included; recovery: 3 + 10 slots)" \
    "$(j '[.[] | .results.users // 0] | add')" \
    "$(katosim_metric '.requests.create_session')"
check_eq "sustained tests carry a measured degradation" "measured measured" \
    "$(j '[.sustained_load_light, .sustained_load_moderate] | map(.results.degradation.status) | join(" ")')"
check_eq "light's windows: s 1 and s 4 (5 s, ramp 1 s)" "1 2 4 5" \
    "$(j '.sustained_load_light.results.degradation | [.first_window.from_interval, .first_window.to_interval, .last_window.from_interval, .last_window.to_interval] | join(" ")')"
check "the concurrent test has no degradation entry" \
    test "$(j '.concurrent_requests.results | has("degradation")')" = false
check "a cooldown between tests" grep -q "COOLDOWN seconds=1" "$T_TMP/stderr"
check "no test is listed as not implemented" \
    test "$(grep -c "NOT-IMPLEMENTED" "$T_TMP/stderr")" = 0
check_eq "summary: one banner" 1 "$(grep -c 'STRESS TEST SUMMARY' "$T_TMP/stdout")"
for t in concurrent_requests sustained_load_light sustained_load_moderate burst_traffic connection_pool error_recovery; do
    check "summary lists $t" grep -q "^$t:" "$T_TMP/stdout"
done
check "the summary lists none as not implemented" \
    test "$(grep -c "Not implemented yet" "$T_TMP/stdout")" = 0
check "summary: all thresholds met" grep -q "All performance thresholds met" "$T_TMP/stdout"
grep -q "All performance thresholds met" "$T_TMP/stdout" ||
    grep -A3 -i "violat\|recovery:" "$T_TMP/stdout"

junit=$(ls "$out"/junit_*.xml 2>/dev/null | head -n 1)
check "JUnit well-formed" xmllint --noout "$junit"
for t in concurrent_requests sustained_load_light sustained_load_moderate burst_traffic connection_pool error_recovery; do
    check_eq "JUnit: one testcase named $t" 1 \
        "$(xmllint --xpath "count(//testcase[@name='$t'])" "$junit")"
done
check_eq "JUnit: none skipped as not implemented" 0 \
    "$(xmllint --xpath "count(//testcase[skipped/@message='not implemented yet'])" "$junit")"
check_eq "JUnit: no failure" 0 "$(xmllint --xpath 'count(//failure)' "$junit")"
perf=$(ls "$out"/metrics_*_performance.csv 2>/dev/null | head -n 1)
check_eq "one CSV header" 1 "$(grep -c '^test,interval' "$perf")"
check_eq "CSV: the six tests that ran" \
    "concurrent_requests sustained_load_light sustained_load_moderate burst_traffic connection_pool error_recovery" \
    "$(tail -n +2 "$perf" | cut -d, -f1 | uniq | tr '\n' ' ' | sed 's/ $//')"
check_eq "CSV: 'all' rows add up to the JSON's totals" "$tool_sum" \
    "$(awk -F, '$4 == "all" { s += $5 } END { print s }' "$perf")"

# An unknown test is refused.
"$KS_OUT/stress-master" --test bogus --url "$KATO_URL" >/dev/null 2>"$T_TMP/stderr"
check_eq "--test bogus exits 2" 2 "$?"
check "--test bogus says unknown test" grep -q "unknown test" "$T_TMP/stderr"
sleep 0.3
check_eq "no agent left running" 0 "$(leftovers stress-agent)"

# --- degradation: a stall near the end of a sustained run ----------------
# 12 s at constant load after a 1 s ramp: windows s 1-2 and s 10-11. The
# load starts about 1 s after katosim (agents join, start delay 0.5 s):
# replies due in [11.2, 11.6) s after katosim's start are held until
# 11.6 s, so the held requests (and, latency counting from the intended
# start, the ones queued behind them) complete in the last window.
kill "$KATO_PID" 2>/dev/null
wait "$KATO_PID" 2>/dev/null
katosim_start --stall-at-ms 11200 --stall-ms 400
dcfg=$T_TMP/deg.yaml
cat >"$dcfg" <<YAML
load_profiles:
  moderate:
    concurrent_users: 4
    duration_seconds: 12
    ramp_up_seconds: 1
    requests_per_user_per_second: 20
    think_time_ms: 5
test_scenarios:
  sustained:
    pattern: constant
    max_degradation: 1.5
performance_thresholds:
  response_time_p99_max: 10000
  max_error_rate: 0.0
YAML
dout=$T_TMP/dout
timeout 60 "$KS_OUT/stress-master" --config "$dcfg" --test sustained \
    --url "$KATO_URL" --local-agents 2 --threads 1 --output "$dout" \
    >"$T_TMP/dstdout" 2>"$T_TMP/dstderr"
rc=$?
check_eq "a stall in the last fifth: exit 1" 1 "$rc"
[ "$rc" = 1 ] || { cat "$T_TMP/dstdout"; tail -n 20 "$T_TMP/dstderr"; }
D='.sustained_load_moderate.results'
dj() { jq -r "$1" "$dout/latest.json"; }
check_eq "degradation measured" measured "$(dj "$D.degradation.status")"
check_eq "windows s 1-2 and s 10-11" "1 3 10 12" \
    "$(dj "$D.degradation | [.first_window.from_interval, .first_window.to_interval, .last_window.from_interval, .last_window.to_interval] | join(\" \")")"
check "degradation above 1.5 (last p99 $(dj "$D.degradation.last_window.p99_ms") ms)" \
    awk -v v="$(dj "$D.degradation.value")" 'BEGIN { exit !(v > 1.5) }'
check "the last window's p99 shows the stall (>= 100 ms)" \
    awk -v v="$(dj "$D.degradation.last_window.p99_ms")" 'BEGIN { exit !(v >= 100) }'
check_eq "the only violation is the degradation" degradation \
    "$(dj "[$D.thresholds.violations[].metric] | join(\" \")")"
check "summary names the degradation" grep -q "p99 degradation" "$T_TMP/dstdout"
djunit=$(ls "$dout"/junit_*.xml 2>/dev/null | head -n 1)
check "JUnit well-formed" xmllint --noout "$djunit"
check_eq "JUnit: the degradation case fails" 1 \
    "$(xmllint --xpath "count(//testcase[contains(@name, 'max_degradation')]/failure)" "$djunit")"

# --- interrupt in the middle of the suite ---------------------------------
kill "$KATO_PID" 2>/dev/null
wait "$KATO_PID" 2>/dev/null
katosim_start
iout=$T_TMP/iout
"$KS_OUT/stress-master" --config "$cfg" --test all --url "$KATO_URL" \
    --local-agents 2 --threads 1 --output "$iout" \
    >"$T_TMP/istdout" 2>"$T_TMP/istderr" &
mpid=$!
T_PIDS+=("$mpid")
for i in $(seq 1 200); do # the second test is running
    grep -q "TEST name=sustained_load_light" "$T_TMP/istderr" 2>/dev/null && break
    sleep 0.05
done
sleep 2
kill -INT "$mpid"
wait "$mpid"
rc=$?
check_eq "interrupted suite exits 130" 130 "$rc"
ij() { jq -r "$1" "$iout/latest.json"; }
check_eq "statuses: finished, interrupted, then not run" \
    "completed interrupted not_run not_run not_run not_run" \
    "$(ij '[.[] | .status] | join(" ")')"
check "the finished test keeps its numbers" \
    test "$(ij '.concurrent_requests.results.total_requests')" -gt 0
check_eq "the interrupted test's partial numbers add up with katosim's" \
    "$(katosim_metric '.load_requests')" \
    "$(ij '[.[] | .results.total_requests // 0] | add')"
sleep 0.3
check_eq "no agent left running" 0 "$(leftovers stress-agent)"
t_done
