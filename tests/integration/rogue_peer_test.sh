#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile and broken peers on the master's control port: random bytes,
# garbage and oversized messages, valid messages before authentication and
# a wrong token are refused (and logged) while the master keeps waiting;
# then a real stress-agent with the right token joins, a second HELLO
# claiming its identity arrives mid-run, and the run still completes with
# exit 0 and counts equal to katosim's. The rogue peer is
# tests/support/rogue_peer.py (nng's SP/TCP framing by hand).
. "$(dirname "$0")/lib.sh"

katosim_start
cfg=$T_TMP/rogue.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 4
    duration_seconds: 4
    requests_per_user_per_second: 20
    think_time_ms: 5
performance_thresholds:
  response_time_p99_max: 2000
  max_error_rate: 0.0
YAML
master_remote "$cfg"
check_master_waits

rogue noise
rogue garbage
rogue oversized
rogue unauth
rogue wrongtoken
check "garbage is logged and the pipe dropped" grep -q "PEER-DROP.*malformed" "$T_TMP/stderr"
check "messages before authentication are logged" grep -q "AUTH-REQUIRED" "$T_TMP/stderr"
check "the wrong token is logged" grep -q "AUTH-FAILED agent=rogue" "$T_TMP/stderr"
check "the master is still running after the rogues" kill -0 "$mpid"
check "no rogue counted as an agent" test "$(grep -c AGENT-JOIN "$T_TMP/stderr")" = 0

# A real agent with a wrong token: the master's proof does not match its
# token, so it hangs up before AUTH (PROTOCOL.md 3.3); it never joins.
bad=$T_TMP/badtoken
(umask 077 && echo "not-the-token" >"$bad")
"$KS_OUT/stress-agent" --master "tcp://127.0.0.1:$port" --token-file "$bad" \
    --name wrong-1 --threads 1 >"$T_TMP/wrong.log" 2>&1 &
wpid=$!
T_PIDS+=("$wpid")
for i in $(seq 1 60); do
    grep -q "AUTH-MASTER" "$T_TMP/wrong.log" && break
    sleep 0.05
done
check "a stress-agent with a wrong token hangs up" grep -q "AUTH-MASTER" "$T_TMP/wrong.log"
kill -TERM "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check "the wrong-token agent did not join" test "$(grep -c "AGENT-JOIN agent=wrong-1" "$T_TMP/stderr")" = 0

# The real agent.
"$KS_OUT/stress-agent" --master "tcp://127.0.0.1:$port" --token-file "$tok" \
    --name real-1 --threads 1 >"$T_TMP/agent.log" 2>&1 &
apid=$!
T_PIDS+=("$apid")
for i in $(seq 1 100); do
    grep -q "START" "$T_TMP/stderr" && break
    sleep 0.05
done
check "the real agent joined and the load started" grep -q "AGENT-JOIN agent=real-1" "$T_TMP/stderr"
# Mid-run: a HELLO claiming the live agent's identity, twice, then a wrong
# AUTH; and more garbage. The run must not notice.
host=$(sed -n 's/.*AGENT-JOIN agent=real-1 id=[0-9]* host=\([^ ]*\) .*/\1/p' "$T_TMP/stderr" | head -n 1)
rogue rehello real-1 "$host" "$apid"
rogue garbage

wait "$mpid"
rc=$?
check_eq "run with rogue peers exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/stderr"
f=$out/latest.json
R='.concurrent_requests.results'
check_eq "status completed" completed "$(jq -r '.concurrent_requests.status' "$f" 2>/dev/null)"
check_eq "one agent reported" 1 "$(jq -r "$R.agents | length" "$f" 2>/dev/null)"
check_eq "total requests equal katosim's counters" \
    "$(katosim_metric '.load_requests')" "$(jq -r "$R.total_requests" "$f" 2>/dev/null)"
check_eq "data complete" true "$(jq -r "$R.data_complete" "$f" 2>/dev/null)"
check "the impostor's AUTH was refused" grep -q "AUTH-FAILED agent=real-1" "$T_TMP/stderr"
kill -TERM "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
t_done
