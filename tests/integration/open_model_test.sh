#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The open model end to end (docs/tests-design.md sections 1, 2 and 4):
# katosim, the master and two local agents on loopback, the sustained test
# with model: open.
#  1. A constant 100 arrivals/s for 5 s: 500 requests (besides one session
#     per connection slot) within 2 %, and the tool's per-op counts equal
#     katosim's exactly.
#  2. katosim stalls for 1 s in the middle of a 50/s run: latency (from each
#     arrival's intended time) shows the stall, service time (from the send)
#     does not. The same run in the closed model is reported beside it,
#     for comparison only (a closed model cannot correct the requests it
#     never sent).
. "$(dirname "$0")/lib.sh"

OPS="create_session observe learn predictions short_term_memory clear_memory"
KEY=sustained_load_tiny

# run NAME CONFIG: the sustained test with the tiny profile against
# katosim with two local agents; sets RC and OUT.
run() {
    local name=$1 cfg=$2
    OUT=$T_TMP/out-$name
    timeout 120 "$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" \
        --local-agents 2 --threads 1 --output "$OUT" \
        --test sustained --profile tiny \
        >"$T_TMP/$name.stdout" 2>"$T_TMP/$name.stderr"
    RC=$?
    if [ "$RC" != 0 ]; then
        tail -n 30 "$T_TMP/$name.stderr"
    fi
}
j() { jq -r ".$KEY.results$1" "$OUT/latest.json"; }
# ge A B / lt A B on decimals.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# config FILE MODEL USERS DURATION RATE_PER_USER
config() {
    cat >"$1" <<YAML
load_profiles:
  tiny:
    concurrent_users: $3
    duration_seconds: $4
    ramp_up_seconds: 0
    requests_per_user_per_second: $5
    think_time_ms: 0
test_scenarios:
  sustained:
    pattern: constant
    model: $2
    # Not under test here: 1 s windows of a ~1 ms p99 on a shared host
    # flip the degradation verdict (seen: 1.0 ms -> 3.0 ms, exit 1).
    max_degradation: 1000
performance_thresholds:
  response_time_p99_max: 100000
  max_error_rate: 0.0
YAML
}

# --- 1. constant 100/s for 5 s: the planned count, exactly katosim's ----------
katosim_start
cfg=$T_TMP/open.yaml
# 8 slots x 12.5/s = 100 arrivals/s (arrival_rate 0: users x per-user rate).
config "$cfg" open 8 5 12.5
run rate "$cfg"
check_eq "rate: master exits 0" 0 "$RC"
check_eq "rate: status completed" completed "$(jq -r ".$KEY.status" "$OUT/latest.json")"
check_eq "rate: total requests equal katosim's" \
    "$(katosim_metric '.load_requests')" "$(j .total_requests)"
for op in $OPS; do
    check_eq "rate: $op count equals katosim's" \
        "$(katosim_metric ".requests.$op")" "$(j ".operation_stats.$op.count // 0")"
done
check_eq "rate: one session per connection slot" 8 "$(katosim_metric '.requests.create_session')"
n=$(($(j .total_requests) - $(j '.operation_stats.create_session.count')))
check "rate: $n arrivals sent, within 2 % of 500" test "$n" -ge 490 -a "$n" -le 510
check_eq "rate: no arrival left unsent" 0 "$(j .unsent_arrivals)"
check_eq "rate: no errors" 0 "$(j .total_failures)"
echo "# rate: late_arrivals=$(j .late_arrivals) total_ms=$(j .late_arrivals_total_ms) p50=$(j .response_time_p50) p99=$(j .response_time_p99)"
kill "$KATO_PID" 2>/dev/null
wait "$KATO_PID" 2>/dev/null

# --- 2. a 1 s stall at 50/s: latency shows it, service time does not ---------
# katosim's stall clock starts with katosim; the load starts about 1 s
# later (agents spawn, handshake, START 500 ms ahead), so a stall at 3 s
# falls about 2 s into an 8 s load.
STALL_AT=3000
stall_run() {
    local model=$1
    katosim_start --stall-at-ms $STALL_AT --stall-ms 1000
    T0=$(date +%s%N)
    cfg=$T_TMP/stall-$model.yaml
    config "$cfg" "$model" 8 8 6.25
    run "stall-$model" "$cfg"
    # When the load started, in katosim's time: the master logs START.
    LEAD_MS=$(( ($(date -d "$(grep -m1 ' START ' "$T_TMP/stall-$model.stderr" |
        cut -d' ' -f1)" +%s%N) - T0) / 1000000 + 500 ))
    kill "$KATO_PID" 2>/dev/null
    wait "$KATO_PID" 2>/dev/null
}
stall_run open
check_eq "stall/open: master exits 0" 0 "$RC"
p99=$(j .response_time_p99)
s50=$(j .service_time_p50)
s99=$(j .service_time_p99)
late=$(j .late_arrivals)
n=$(($(j .total_requests) - $(j '.operation_stats.create_session.count')))
echo "# stall/open: load started ${LEAD_MS} ms after katosim (stall at ${STALL_AT} ms)"
echo "# stall/open: requests=$n p50=$(j .response_time_p50) p95=$(j .response_time_p95) p99=$p99 max=$(j .response_time_max) service p50=$s50 p99=$s99 late=$late late_ms=$(j .late_arrivals_total_ms) unsent=$(j .unsent_arrivals)"
check "stall/open: the stall falls inside the load (${LEAD_MS} ms < ${STALL_AT} ms)" \
    test "$LEAD_MS" -lt "$STALL_AT"
check "stall/open: latency p99 shows the stall ($p99 ms >= 500)" ge "$p99" 500
check "stall/open: service time p50 stays small ($s50 ms < 100)" lt "$s50" 100
check "stall/open: arrivals waited for a slot (late_arrivals $late > 0)" test "$late" -gt 0
check "stall/open: every arrival was still sent ($n within 2 % of 400)" \
    test "$n" -ge 392 -a "$n" -le 408

# The same load, closed: 8 users at 6.25 req/s. Reported, not asserted.
stall_run closed
echo "# stall/closed: exit=$RC requests=$(($(j .total_requests) - $(j '.operation_stats.create_session.count'))) p50=$(j .response_time_p50) p95=$(j .response_time_p95) p99=$(j .response_time_p99) max=$(j .response_time_max) service p50=$(j .service_time_p50) p99=$(j .service_time_p99)"
t_done
