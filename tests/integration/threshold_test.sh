#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A slow target against a tight p99 threshold: exit 1, the violation is
# printed and recorded; the same run with a loose threshold exits 0.
. "$(dirname "$0")/lib.sh"

katosim_start --latency-ms 40
mk() {
    cat >"$T_TMP/t.yaml" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 4
    duration_seconds: 2
    requests_per_user_per_second: 10
    think_time_ms: 10
performance_thresholds:
  response_time_p99_max: $1
  max_error_rate: 0.01
YAML
}
mk 10
"$KS_OUT/stress-master" --config "$T_TMP/t.yaml" --url "$KATO_URL" \
    --local-agents 1 --threads 1 --output "$T_TMP/o1" >"$T_TMP/o1.out" 2>&1
check_eq "p99 above its threshold: exit 1" 1 "$?"
check "violation printed" grep -q "Threshold Violations" "$T_TMP/o1.out"
check "violation recorded in JSON" test "$(jq '.concurrent_requests.results.thresholds.violations | length' "$T_TMP/o1/latest.json")" -ge 1
p50=$(jq '.concurrent_requests.results.response_time_p50' "$T_TMP/o1/latest.json")
check "p50 reflects the injected 40 ms ($p50 ms)" awk -v v="$p50" 'BEGIN{exit !(v>=40 && v<60)}'
mk 5000
"$KS_OUT/stress-master" --config "$T_TMP/t.yaml" --url "$KATO_URL" \
    --local-agents 1 --threads 1 --output "$T_TMP/o2" >"$T_TMP/o2.out" 2>&1
check_eq "p99 within a loose threshold: exit 0" 0 "$?"
check "all thresholds met printed" grep -q "thresholds met" "$T_TMP/o2.out"
t_done
