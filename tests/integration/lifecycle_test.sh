#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Killed and interrupted runs: SIGKILL of the master leaves no agent behind
# and the load stops; SIGTERM gives exit 130 and partial results marked
# interrupted whose counts still equal the server's.
. "$(dirname "$0")/lib.sh"

cfg=$T_TMP/long.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 60
    requests_per_user_per_second: 20
    think_time_ms: 10
YAML

# --- SIGKILL: the agents must die with the master, the load must stop.
katosim_start
"$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" --local-agents 2 \
    --threads 1 --output "$T_TMP/out1" >"$T_TMP/kill.out" 2>"$T_TMP/kill.err" &
mpid=$!
T_PIDS+=("$mpid")
for i in $(seq 1 50); do
    [ "$(katosim_metric '.load_requests')" -gt 50 ] 2>/dev/null && break
    sleep 0.2
done
check "load started before the kill" test "$(katosim_metric '.load_requests')" -gt 50
check_eq "two agents running" 2 "$(leftovers stress-agent)"
kill -KILL "$mpid"
wait "$mpid" 2>/dev/null
for i in $(seq 1 40); do
    [ "$(leftovers stress-agent)" = 0 ] && break
    sleep 0.1
done
check_eq "SIGKILL of the master leaves no agent" 0 "$(leftovers stress-agent)"
a=$(katosim_metric '.load_requests')
sleep 1
b=$(katosim_metric '.load_requests')
check_eq "the load stopped after the master died" "$a" "$b"
kill -TERM "$KATO_PID"; wait "$KATO_PID" 2>/dev/null

# --- SIGTERM: exit 130, partial results, nothing lost.
katosim_start
"$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" --local-agents 2 \
    --threads 1 --output "$T_TMP/out2" >"$T_TMP/term.out" 2>"$T_TMP/term.err" &
mpid=$!
T_PIDS+=("$mpid")
for i in $(seq 1 50); do
    [ "$(katosim_metric '.load_requests')" -gt 50 ] 2>/dev/null && break
    sleep 0.2
done
sleep 1.5
kill -TERM "$mpid"
wait "$mpid"
rc=$?
check_eq "SIGTERM: exit 130" 130 "$rc"
f=$T_TMP/out2/latest.json
check "SIGTERM: partial results written" test -s "$f"
check_eq "SIGTERM: status interrupted" interrupted "$(jq -r '.concurrent_requests.status' "$f")"
check "SIGTERM: partial results are valid JSON" jq -e . "$f" >/dev/null
check_eq "SIGTERM: counts equal the server's" "$(katosim_metric '.load_requests')" \
    "$(jq -r '.concurrent_requests.results.total_requests' "$f")"
sleep 0.3
check_eq "SIGTERM: no agent left running" 0 "$(leftovers stress-agent)"
t_done
