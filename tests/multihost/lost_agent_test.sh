#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A lost agent, on several hosts: the layout of sustained_test.sh, a
# concurrent run over three agents, and agent3 killed with SIGKILL 2.5 s
# into the load (mid-interval, timed on katosim's clock). The master must
# log AGENT-LOST within 3.5 s of the kill, the run must still complete
# with the survivors' figures equal to what katosim received from their
# addresses, and the report must name the lost agent and its missing
# intervals. What the dead agent sent in its last, unreported interval is
# lost today (no rebalance, no resend after SIGKILL): the test measures
# that gap exactly and checks it is within one interval of that agent's
# load, rather than pretending the totals still match
# (docs/distributed.md).
. "$(dirname "$0")/lib.sh"
mh_need_root

USERS=9 # 3 per agent
RATE=10 # requests per user per second
PORT=8000
CTRL=7700
KILL_AT_MS=2500 # after the first request, mid-interval 2

mh_net_up
mh_katosim_start "$PORT"
mh_token
cfg=$T_TMP/concurrent.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: $USERS
    duration_seconds: 6
    requests_per_user_per_second: $RATE
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML
out=$T_TMP/out
murl="tcp://$(mh_addr master):$CTRL"
ip netns exec "$(mh_ns master)" "$KS_OUT/stress-master" --config "$cfg" \
    --test concurrent --url "$KATO_URL" --agents 3 --listen "$murl" \
    --token-file "$T_TMP/token" --agent-timeout 30 --output "$out" \
    >"$T_TMP/master.stdout" 2>"$T_TMP/master.stderr" &
mpid=$!
T_PIDS+=("$mpid")
for n in 1 2 3; do
    mh_agent_start "$n" "$murl" "$(mh_addr target):$PORT"
done

# Wait (bounded) for agent3's first request at katosim, then until
# katosim's clock is KILL_AT_MS past it.
a3=$(mh_addr agent3)
first=""
for i in $(seq 1 300); do
    first=$(mh_metrics | jq -r ".peers[] | select(.addr == \"$a3\") | .first_ms")
    [ -n "$first" ] && break
    sleep 0.1
done
check "agent3's load reached katosim" test -n "$first"
for i in $(seq 1 300); do
    up=$(mh_metrics | jq -r .uptime_ms)
    awk -v u="$up" -v f="${first:-0}" -v k="$KILL_AT_MS" 'BEGIN{exit !(u >= f + k)}' && break
    sleep 0.02
done
kill -KILL "${AGENT_PID[3]}"
kill_ms=$(date +%s%3N)
wait "${AGENT_PID[3]}" 2>/dev/null
echo "# agent3 killed at katosim uptime ${up} ms (its first request at ${first} ms)"

rc=0
wait "$mpid" || rc=$?
cat "$T_TMP/master.stdout"
grep -v '^progress' "$T_TMP/master.stderr" | tail -n 20

# --- detection ----------------------------------------------------------------
line=$(grep ' AGENT-LOST agent=agent3 ' "$T_TMP/master.stderr" | head -n 1)
check "master logged AGENT-LOST for agent3" test -n "$line"
if [ -n "$line" ]; then
    det=$(($(mh_log_ms "$line") - kill_ms))
    echo "# detection: $det ms from SIGKILL to AGENT-LOST ($line)"
    # Lost after FLEET_LOST_MS (3000) of silence; heartbeats every 200 ms.
    check "AGENT-LOST within 3.5 s of the kill, not before 2.5 s ($det ms)" \
        test "$det" -ge 2500 -a "$det" -le 3500
fi
check_eq "no other agent declared lost" 1 "$(grep -c ' AGENT-LOST ' "$T_TMP/master.stderr")"

# --- the run completes; survivors exact -----------------------------------------
check_eq "master exits 0 (the survivors met the thresholds)" 0 "$rc"
R=.concurrent_requests.results
j() { jq -r "$1" "$out/latest.json"; }
mh_metrics >"$T_TMP/metrics.json"
m() { jq -r "$1" "$T_TMP/metrics.json"; }
peer() { m ".peers[] | select(.addr == \"$(mh_addr "$1")\") | .$2"; }
ag() { j "$R.agents[] | select(.name == \"$1\") | .$2"; }
check_eq "status completed" completed "$(j .concurrent_requests.status)"
check_eq "data marked incomplete" false "$(j "$R.data_complete")"
check "summary says the data is incomplete" grep -q "Data: INCOMPLETE" "$T_TMP/master.stdout"
check_eq "three agents in the results" 3 "$(j "$R.agents | length")"
for n in 1 2; do
    check_eq "agent$n said goodbye with matching totals" "true true" \
        "$(ag "agent$n" goodbye) $(ag "agent$n" totals_match)"
    check_eq "agent$n: requests equal katosim's from its address" \
        "$(peer "agent$n" load_requests)" "$(ag "agent$n" requests)"
    check_eq "agent$n: nothing missing" "0 []" \
        "$(ag "agent$n" missing_batches) $(j "$R.agents[] | select(.name == \"agent$n\") | .missing_intervals | tostring")"
    check "agent$n ran to the end (last request at katosim after 5.5 s)" \
        awk -v l="$(peer "agent$n" last_ms)" -v f="$(peer "agent$n" first_ms)" \
        'BEGIN{exit !(l - f >= 5500)}'
done

# --- the dead agent: what is reported, what is lost ------------------------------
check_eq "agent3: no goodbye" false "$(ag agent3 goodbye)"
check_eq "agent3: intervals 0-1 reported (2 batches)" 2 "$(ag agent3 batches)"
check_eq "agent3: intervals 2-5 missing" "[2,3,4,5]" \
    "$(j "$R.agents[] | select(.name == \"agent3\") | .missing_intervals | tostring")"
sent3=$(peer agent3 load_requests)
rep3=$(ag agent3 requests)
gap=$((sent3 - rep3))
echo "# agent3: katosim received $sent3, the master has $rep3: $gap lost with the process"
# The last, unreported interval: 0.5 s of 3 users at $RATE/s, so about 15;
# never negative, never more than one full interval (+ one in flight each).
check "agent3's lost requests are within its one unreported interval (0 < $gap <= $((3 * RATE + 3)))" \
    test "$gap" -gt 0 -a "$gap" -le $((3 * RATE + 3))
check_eq "totals: the master's + agent3's lost = katosim's" "$(m .load_requests)" \
    "$(($(j "$R.total_requests") + gap))"
check_eq "katosim counted every request by a known address" 0 "$(m .peers_other)"

# Start skew of this run, for the record only: the polling above (a curl
# and a jq every 100 ms) competes with the agents' start on a 2-core
# machine, so sustained_test.sh is where the 10 ms bound is checked.
echo "# start skew at the target (spread of first arrivals): $(m '[.peers[].first_ms] | (max - min) * 1000 | floor') us"

mh_cleanup
trap - EXIT
check_eq "every namespace of this run removed" 0 "$(ip netns list | grep -c -- "-$$\b")"
t_done
