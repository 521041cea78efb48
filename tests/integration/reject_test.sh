#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Explicit rejections (issue 5, item 6), on loopback: a wrong protocol
# version, a wrong token (both sides), an unknown agent (messages naming
# an agent id the pipe did not authenticate) and a target that is not on
# the agent's --allow-target list. Each must leave a clear log line on the
# side that refuses, crash nothing, and let the run go on where it should:
# the first master runs its test to exit 0 with counts equal to katosim's
# after all the refusals; the second master, whose only agent refuses the
# target, reports it and exits 3 while the agent lives on. The peer that
# speaks the protocol wrongly is tests/support/rogue_peer.py.
. "$(dirname "$0")/lib.sh"

katosim_start
cfg=$T_TMP/reject.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 2
    duration_seconds: 4
    requests_per_user_per_second: 10
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML
master_remote "$cfg"
check_master_waits

# --- wrong protocol version: REJECT with the version named, logged.
rogue version
check "master logged the wrong version" \
    grep -qE "PROTO-VERSION pipe=[0-9]+ agent=\? version=2$" "$T_TMP/stderr"

# --- wrong token: the master refuses the AUTH of a peer that does not
# know the token; a real agent with the wrong token hangs up on the
# master's proof before it sends AUTH (PROTOCOL.md 3.3).
rogue wrongtoken
check "master logged the failed AUTH" grep -q "AUTH-FAILED agent=rogue " "$T_TMP/stderr"
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
check "the agent with the wrong token logged the master's bad proof" \
    grep -q "error AUTH-MASTER master=tcp://127.0.0.1:$port proof does not match the token" "$T_TMP/wrong.log"
check "the agent with the wrong token is still running" kill -0 "$wpid"
kill -TERM "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check_eq "the agent with the wrong token did not join" 0 "$(grep -c "AGENT-JOIN agent=wrong-1" "$T_TMP/stderr")"
check "master still waiting after the refusals" kill -0 "$mpid"
check_eq "no refused peer joined" 0 "$(grep -c AGENT-JOIN "$T_TMP/stderr")"

# --- the real agent, and mid-run an unknown agent id. Its token comes
# from KATO_STRESS_TOKEN with trailing whitespace, which both sides strip
# (PROTOCOL.md section 2), as they do for the token file.
KATO_STRESS_TOKEN="$(cat "$tok")"$'\n  ' "$KS_OUT/stress-agent" \
    --master "tcp://127.0.0.1:$port" \
    --name real-1 --threads 1 --allow-target "127.0.0.1:$KATO_PORT" \
    >"$T_TMP/agent.log" 2>&1 &
apid=$!
T_PIDS+=("$apid")
for i in $(seq 1 100); do
    grep -q " START " "$T_TMP/stderr" && break
    sleep 0.05
done
check "the real agent joined and the load started" grep -q "AGENT-JOIN agent=real-1" "$T_TMP/stderr"
sleep 0.5
# Authenticated with the right token, then HEARTBEAT, BATCH and GOODBYE
# naming another id: each refused, none merged; the pipe still works.
rogue unknownid "$tok"
check "master logged the unknown agent id (3 messages)" \
    test "$(grep -cE "AGENT-UNKNOWN pipe=[0-9]+ agent=rogue-id id=[0-9]+ sent (heartbeat|batch|goodbye) naming agent id [0-9]+: refused" "$T_TMP/stderr")" = 3

rc=0
wait "$mpid" || rc=$?
check_eq "the run with the refusals exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/stderr"
f=$out/latest.json
R='.concurrent_requests.results'
check_eq "status completed" completed "$(jq -r '.concurrent_requests.status' "$f" 2>/dev/null)"
check_eq "one agent reported" 1 "$(jq -r "$R.agents | length" "$f" 2>/dev/null)"
check_eq "total requests equal katosim's counters (nothing of the unknown id merged)" \
    "$(katosim_metric '.load_requests')" "$(jq -r "$R.total_requests" "$f" 2>/dev/null)"
check_eq "data complete" true "$(jq -r "$R.data_complete" "$f" 2>/dev/null)"
check "the agent is still running after the run" kill -0 "$apid"
kill -TERM "$apid" 2>/dev/null
wait "$apid" 2>/dev/null

# --- a target not on --allow-target: the agent refuses the ASSIGN and
# names the URL and its list; the master reports it and exits 3.
load0=$(katosim_metric '.load_requests')
master_remote "$cfg" 2
"$KS_OUT/stress-agent" --master "tcp://127.0.0.1:$port" --token-file "$tok" \
    --name fenced-1 --threads 1 --allow-target 127.0.0.1:1 \
    --allow-target 10.9.9.9:8000 >"$T_TMP/fenced.log" 2>&1 &
fpid=$!
T_PIDS+=("$fpid")
rc=0
timeout 30 tail --pid="$mpid" -f /dev/null
wait "$mpid" || rc=$?
check_eq "master exits 3 when the agent refuses the target" 3 "$rc"
want="target=127.0.0.1:$KATO_PORT is not in --allow-target [127.0.0.1:1, 10.9.9.9:8000]: assignment refused"
check "the agent logged the refusal with the URL and its list" \
    grep -qF "error AGENT-TARGET-REFUSED url=$KATO_URL $want" "$T_TMP/fenced.log"
check "the master reported the refusal" \
    grep -qF "error: agent fenced-1 refused the assignment: target 127.0.0.1:$KATO_PORT is not in --allow-target [127.0.0.1:1, 10.9.9.9:8000]" "$T_TMP/stderr2"
check "the fenced agent is still running" kill -0 "$fpid"
check_eq "no load reached katosim from the fenced agent" "$load0" "$(katosim_metric '.load_requests')"
t_done
