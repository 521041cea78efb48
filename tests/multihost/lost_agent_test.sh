#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A lost agent, on several hosts: the layout of sustained_test.sh, a
# concurrent run over three agents, and agent3 killed with SIGKILL 2.5 s
# into the load (mid-interval, timed on katosim's clock). The master must
# log AGENT-LOST within 3 s of the kill and, under the default
# on_agent_loss (rebalance), hand agent3's 3 users to the survivors: every
# interval after the detection has the 9 planned users again, agent1 and
# agent2 create the sessions of the users they adopt (2 and 1), and their
# figures still equal what katosim received from their addresses, exactly.
# The report names the lost agent, its missing intervals and what moved.
# What the dead agent sent in its last, unreported interval is lost with
# the process (no resend after SIGKILL): the test measures that gap
# exactly and checks it is within one interval of that agent's load,
# rather than pretending the totals still match (docs/distributed.md).
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
    duration_seconds: 9
    requests_per_user_per_second: $RATE
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML
out=$T_TMP/out
mh_master_start "$cfg" concurrent "$CTRL" "$out"
murl=$MURL
mpid=$MPID
for n in 1 2 3; do
    mh_agent_start "$n" "$murl" "$(mh_addr target):$PORT"
done

# Wait (bounded) for agent3's first request at katosim, then until
# katosim's clock is KILL_AT_MS past it.
a3=$(mh_addr agent3)
mh_wait_past_first "$a3" "$KILL_AT_MS"
first=$FIRST_MS
up=$UP_MS
check "agent3's load reached katosim" test -n "$first"
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
    # Lost after FLEET_LOST_MS (2700) of silence since its last message
    # (at most a heartbeat, 200 ms, before the kill), checked every 50 ms.
    check "AGENT-LOST within 3 s of the kill, not before 2.4 s ($det ms)" \
        test "$det" -ge 2400 -a "$det" -le 3000
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
    check "agent$n ran to the end (last request at katosim after 8.5 s)" \
        awk -v l="$(peer "agent$n" last_ms)" -v f="$(peer "agent$n" first_ms)" \
        'BEGIN{exit !(l - f >= 8500)}'
done

# --- rebalance: agent3's share moved -----------------------------------------------
L="$R.agents_lost[0]"
# The agents join in any order: agent3's index is its place in the plan
# (the results' agents are listed in that order).
i3=$(j "[$R.agents[].name] | index(\"agent3\")")
check_eq "the loss: agent3 at its plan index, rebalance, 3 users moved to 2 agents" \
    "agent3 $i3 rebalance true 2 3" \
    "$(j "[$L.name, $L.agent_index, $L.policy, $L.moved, $L.survivors, $L.moved_users] | map(tostring) | join(\" \")")"
k=$(j "$L.detected_at_interval")
check_eq "every interval after the detection has the 9 planned users" 9 \
    "$(j "[$R.intervals[] | select(.t > $k and .t < 9) | .users] | unique | map(tostring) | join(\" \")")"
# agent3 is agent i3 of 3: survivor r (plan order) adopts (i3 + 3 r, 6),
# that is share(9, 6, i3 + 3 r) users, and makes their sessions anew.
want=""
got=""
r=0
for n in $(j "[$R.agents[].name | select(. != \"agent3\")] | join(\" \")"); do
    sl=$((i3 + 3 * r))
    want="$want $n:$((3 + 9 / 6 + (sl < 9 % 6 ? 1 : 0)))"
    got="$got $n:$(peer "$n" create_session)"
    r=$((r + 1))
done
check_eq "each survivor created 3 + its adopted users' sessions (katosim, per address)" \
    "$want" "$got"
check_eq "the master counted the same sessions" \
    "$(($(peer agent1 create_session) + $(peer agent2 create_session) + $(peer agent3 create_session)))" \
    "$(j "$R.operation_stats.create_session.count")"
check "the summary says agent3's share moved" \
    grep -q "Agent lost: agent3 (index $i3).*rebalance: its share.*moved to 2 agents" "$T_TMP/master.stdout"

# --- the dead agent: what is reported, what is lost ------------------------------
check_eq "agent3: no goodbye" false "$(ag agent3 goodbye)"
check_eq "agent3: intervals 0-1 reported (2 batches)" 2 "$(ag agent3 batches)"
check_eq "agent3: intervals 2-8 missing" "[2,3,4,5,6,7,8]" \
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
