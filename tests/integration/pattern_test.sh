#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Closed streams with patterns, end to end: katosim, the master and two
# local agents on loopback. The concurrent test (one constant stream) must
# still match katosim's counts exactly; the sustained test with a small
# profile must too, and its per-second request counts must follow the
# pattern: rising through a ramp-up, one stair per step. The patterns'
# exact values are the unit tests' (tests/unit/pattern_test.c).
. "$(dirname "$0")/lib.sh"

OPS="create_session observe learn predictions short_term_memory clear_memory"

# run NAME CONFIG ARGS...: runs the master against katosim with two local
# agents; sets RC and OUT (the results folder).
run() {
    local name=$1 cfg=$2
    shift 2
    OUT=$T_TMP/out-$name
    "$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" \
        --local-agents 2 --threads 1 --output "$OUT" "$@" \
        >"$T_TMP/$name.stdout" 2>"$T_TMP/$name.stderr"
    RC=$?
    if [ "$RC" != 0 ]; then
        tail -n 30 "$T_TMP/$name.stderr"
    fi
}
j() { jq -r "$1" "$OUT/latest.json"; }

# counts_match LABEL KEY: the tool's per-op counts equal katosim's, which
# are reset before each run (katosim_reset below).
counts_match() {
    local label=$1 R=".$2.results" op s t
    check_eq "$label: total requests equal katosim's" \
        "$(katosim_metric '.load_requests')" "$(j "$R.total_requests")"
    for op in $OPS; do
        s=$(katosim_metric ".requests.$op")
        t=$(j "$R.operation_stats.$op.count // 0")
        check_eq "$label: $op count equals katosim's" "$s" "$t"
    done
    check_eq "$label: no errors" 0 "$(j "$R.total_failures")"
}

# interval K KEY: requests completed in interval K.
interval() { j ".$2.results.intervals[$1].requests // 0"; }

# --- concurrent: one constant stream, as before ------------------------------
katosim_start
cfg=$T_TMP/concurrent.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 3
    requests_per_user_per_second: 20
    think_time_ms: 5
YAML
run concurrent "$cfg" --test concurrent
check_eq "concurrent: master exits 0" 0 "$RC"
check_eq "concurrent: status completed" completed "$(j '.concurrent_requests.status')"
counts_match concurrent concurrent_requests
check_eq "concurrent: one session per user" 6 "$(katosim_metric '.requests.create_session')"
kill "$KATO_PID" 2>/dev/null
wait "$KATO_PID" 2>/dev/null

# --- sustained, ramp_up: 1 -> 8 users over 2 s, then 8 for 2 s ----------------
katosim_start
cfg=$T_TMP/ramp.yaml
cat >"$cfg" <<YAML
load_profiles:
  tiny:
    concurrent_users: 8
    duration_seconds: 4
    ramp_up_seconds: 2
    requests_per_user_per_second: 20
    think_time_ms: 5
test_scenarios:
  sustained:
    pattern: ramp_up
    # These runs test the pattern: a load that quadruples in 4 s on a
    # shared host makes the 1 s degradation windows noise, not a verdict.
    max_degradation: 1000
    initial_users: 1
performance_thresholds:
  max_error_rate: 0.0
YAML
run ramp "$cfg" --test sustained --profile tiny
check_eq "ramp: master exits 0" 0 "$RC"
check "ramp: summary names sustained_load_tiny" grep -q "sustained_load_tiny:" "$T_TMP/ramp.stdout"
check_eq "ramp: status completed" completed "$(j '.sustained_load_tiny.status')"
counts_match ramp sustained_load_tiny
check_eq "ramp: each of the 8 users created one session" 8 "$(katosim_metric '.requests.create_session')"
check_eq "ramp: users reported" 8 "$(j '.sustained_load_tiny.results.users')"
i0=$(interval 0 sustained_load_tiny)
i3=$(interval 3 sustained_load_tiny)
check "ramp: requests rise through the ramp (interval 0: $i0 < interval 3: $i3)" \
    test "$i0" -lt "$i3"
# 20 req/s per user: interval 0 averages about 2.75 users, interval 3 has 8.
check "ramp: interval 3 carries at least twice interval 0 ($i3 vs $i0)" \
    test "$i3" -ge $((2 * i0))
kill "$KATO_PID" 2>/dev/null
wait "$KATO_PID" 2>/dev/null

# --- sustained, step: 2, 4, 6, 8 users, one step a second ---------------------
katosim_start
cfg=$T_TMP/step.yaml
cat >"$cfg" <<YAML
load_profiles:
  tiny:
    concurrent_users: 8
    duration_seconds: 4
    ramp_up_seconds: 0
    requests_per_user_per_second: 20
    think_time_ms: 5
test_scenarios:
  sustained:
    pattern: step
    # These runs test the pattern: a load that quadruples in 4 s on a
    # shared host makes the 1 s degradation windows noise, not a verdict.
    max_degradation: 1000
    initial_users: 2
    step_seconds: 1
    step_size: 2
YAML
run step "$cfg" --test sustained --profile tiny
check_eq "step: master exits 0" 0 "$RC"
counts_match step sustained_load_tiny
check_eq "step: each of the 8 users created one session" 8 "$(katosim_metric '.requests.create_session')"
s0=$(interval 0 sustained_load_tiny)
s1=$(interval 1 sustained_load_tiny)
s2=$(interval 2 sustained_load_tiny)
s3=$(interval 3 sustained_load_tiny)
check "step: one stair per second ($s0 < $s1 < $s2 < $s3)" \
    test "$s0" -lt "$s1" -a "$s1" -lt "$s2" -a "$s2" -lt "$s3"
# 2, 4, 6, 8 users at 20 req/s: about 40, 80, 120, 160 (+ sessions).
for k in 0 1 2 3; do
    v=$(interval $k sustained_load_tiny)
    want=$(( (k + 1) * 40 ))
    check "step: interval $k near $want requests ($v)" \
        awk -v v="$v" -v w="$want" 'BEGIN{exit !(v >= 0.8 * w && v <= 1.2 * w + 4)}'
done

sleep 0.5
check_eq "no agent left running" 0 "$(leftovers stress-agent)"
t_done
