#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One host, end to end: katosim, the master and two local agents on
# loopback. The tool's per-operation request counts must equal what the
# server counted, exactly, with no errors against a healthy server, and the
# results files must be in the seed's layout.
. "$(dirname "$0")/lib.sh"

katosim_start
cfg=$T_TMP/e2e.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 12
    duration_seconds: 4
    requests_per_user_per_second: 25
    think_time_ms: 5
performance_thresholds:
  response_time_p99_max: 2000
  max_error_rate: 0.0
YAML
out=$T_TMP/out
"$KS_OUT/stress-master" --config "$cfg" --test concurrent --url "$KATO_URL" \
    --local-agents 2 --threads 1 --output "$out" >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
cat "$T_TMP/stdout"
check_eq "master exits 0 against a healthy target" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/stderr"

check "keys that cannot apply are named in a warning" grep -q "CONFIG-UNUSED.*max_retries" "$T_TMP/stderr"
check "summary printed in the seed's format" grep -q "STRESS TEST SUMMARY" "$T_TMP/stdout"
check "summary names the test" grep -q "concurrent_requests:" "$T_TMP/stdout"
check "latest.json written" test -s "$out/latest.json"
ts_file=$(ls "$out"/stress_test_results_*.json 2>/dev/null | head -n 1)
check "timestamped results written" test -n "$ts_file"
check "latest.json equals the timestamped file" cmp -s "$out/latest.json" "$ts_file"
check "results JSON is valid" jq -e . "$out/latest.json" >/dev/null

R='.concurrent_requests.results'
j() { jq -r "$1" "$out/latest.json"; }
check_eq "status completed" completed "$(j '.concurrent_requests.status')"
server_total=$(katosim_metric '.load_requests')
tool_total=$(j "$R.total_requests")
check "some load was generated" test "${tool_total:-0}" -gt 100
check_eq "total requests equal katosim's counters" "$server_total" "$tool_total"
for op in create_session observe learn predictions short_term_memory clear_memory; do
    s=$(katosim_metric ".requests.$op")
    t=$(j "$R.operation_stats.$op.count // 0")
    check_eq "$op count equals katosim's" "$s" "$t"
done
check_eq "each user created exactly one session" 12 "$(katosim_metric '.requests.create_session')"
check_eq "no errors against a healthy katosim" 0 "$(j "$R.total_failures")"
check_eq "katosim answered only 2xx" 0 "$(katosim_metric '[.responses | to_entries[] | select(.key | startswith("2") | not) | .value] | add // 0')"
check_eq "two agents reported" 2 "$(j "$R.agents | length")"
check_eq "agents' users sum to the total" 12 "$(j "[$R.agents[].users] | add")"
check_eq "agents' requests sum to the total" "$tool_total" "$(j "[$R.agents[].requests] | add")"
check_eq "data complete" true "$(j "$R.data_complete")"
p50=$(j "$R.response_time_p50")
p99=$(j "$R.response_time_p99")
check "p50 <= p99 and both positive" awk -v a="$p50" -v b="$p99" 'BEGIN{exit !(a>0 && a<=b)}'
check "throughput reported" awk -v r="$(j "$R.throughput_rps")" 'BEGIN{exit !(r>0)}'
check "observe payloads accepted (no 422/400)" test "$(katosim_metric '(.responses["422"] // 0) + (.responses["400"] // 0)')" = 0
sleep 0.5
check_eq "no agent left running" 0 "$(leftovers stress-agent)"
t_done
