#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A link cut, on several hosts: the layout of sustained_test.sh, a
# concurrent run over three agents, and agent2's link taken down for 2 s
# mid-run (its bridge port, vagent2 in ks-net-PID: the agent's eth0 loses
# its carrier, as with a pulled cable), then brought up again. 2 s is less
# than the 3 s after which the master declares an agent lost and the agent
# stops its load (dead-man switch), so neither may happen: agent2 must not
# be declared lost, its load must go on, the batches it finished during the
# cut must be re-sent after the reconnect and merged once (no gap; any
# re-sent batch the master already had is counted as a duplicate, not
# merged), and the final totals must equal katosim's counters exactly, per
# agent address and in total (docs/distributed.md).
. "$(dirname "$0")/lib.sh"
mh_need_root

USERS=9 # 3 per agent
RATE=10 # requests per user per second
DUR=8
PORT=8000
CTRL=7700
CUT_AT_MS=2500 # after agent2's first request, mid-interval 2
CUT_MS=2000

mh_net_up
mh_katosim_start "$PORT"
mh_token
cfg=$T_TMP/concurrent.yaml
# request_timeout 10 s: a request stalled by the cut completes after it
# (it is counted once on each side), rather than timing out on the agent
# after katosim already counted it.
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: $USERS
    duration_seconds: $DUR
    requests_per_user_per_second: $RATE
    think_time_ms: 5
test_parameters:
  request_timeout_seconds: 10
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

# Wait (bounded) for agent2's first request at katosim, then until
# katosim's clock is CUT_AT_MS past it.
a2=$(mh_addr agent2)
mh_wait_past_first "$a2" "$CUT_AT_MS"
first=$FIRST_MS
up=$UP_MS
check "agent2's load reached katosim" test -n "$first"
ip -n "$MH_NET" link set vagent2 down
cut_ms=$(date +%s%3N)
before=$(mh_metrics | jq -r ".peers[] | select(.addr == \"$a2\") | .load_requests")
sleep "$(awk -v m=$CUT_MS 'BEGIN{printf "%.3f", m / 1000}')"
during=$(mh_metrics | jq -r ".peers[] | select(.addr == \"$a2\") | .load_requests")
ip -n "$MH_NET" link set vagent2 up
up_ms=$(date +%s%3N)
echo "# link of agent2 down for $((up_ms - cut_ms)) ms (katosim uptime ${up} ms at the cut)"
check "the cut held agent2's load back (katosim: $before at the cut, $during $CUT_MS ms later)" \
    test "${during:-0}" -le $((${before:-0} + 3 * 3))

rc=0
wait "$mpid" || rc=$?
cat "$T_TMP/master.stdout"
grep -v '^progress' "$T_TMP/master.stderr" | grep -v ' DEBUG ' | tail -n 20
echo "# agent2's log:"
grep -v ' DEBUG ' "$T_TMP/agent2.log" | tail -n 25

# --- not lost, no dead-man ------------------------------------------------------
check_eq "master exits 0" 0 "$rc"
check_eq "no agent declared lost" 0 "$(grep -c ' AGENT-LOST ' "$T_TMP/master.stderr")"
check_eq "agent2's dead-man switch did not fire" 0 "$(grep -c 'MASTER-LOST' "$T_TMP/agent2.log")"
back=$(grep -m1 -E ' AGENT-(REAUTH|BACK) agent=agent2 ' "$T_TMP/master.stderr")
check "the master saw agent2 authenticate again" test -n "$back"
[ -n "$back" ] && echo "# agent2 authenticated again $(($(mh_log_ms "$back") - up_ms)) ms after the link came up"
# The agent re-dials on a fresh connection once the master has been
# silent for 1 s (agent/control.c, REDIAL_AFTER_MS), rather than waiting
# for TCP's retransmission back-off; it says how long it was cut off and
# how many batches it still had to send.
rec=$(grep -m1 ' AGENT-RECONNECTED ' "$T_TMP/agent2.log")
check "agent2 logged AGENT-RECONNECTED" test -n "$rec"
silent=$(sed -n 's/.*after \([0-9]*\) ms without a reply.*/\1/p' <<<"$rec")
unacked=$(sed -n 's/.*unacknowledged batches=\([0-9]*\).*/\1/p' <<<"$rec")
echo "# agent2: ${silent} ms without a reply, ${unacked} batches not yet acknowledged at the reconnect"
check "agent2 was back within 3 s of its last reply (${silent} ms)" test "${silent:-9999}" -lt 3000
check "agent2 had batches from the cut to send again (${unacked})" test "${unacked:-0}" -ge 1

# --- nothing lost, nothing twice ------------------------------------------------
R=.concurrent_requests.results
j() { jq -r "$1" "$out/latest.json"; }
mh_metrics >"$T_TMP/metrics.json"
m() { jq -r "$1" "$T_TMP/metrics.json"; }
peer() { m ".peers[] | select(.addr == \"$(mh_addr "$1")\") | .$2"; }
ag() { j "$R.agents[] | select(.name == \"$1\") | .$2"; }
check_eq "status completed" completed "$(j .concurrent_requests.status)"
check_eq "data complete" true "$(j "$R.data_complete")"
for n in 1 2 3; do
    check_eq "agent$n said goodbye with matching totals" "true true" \
        "$(ag "agent$n" goodbye) $(ag "agent$n" totals_match)"
    check_eq "agent$n: requests equal katosim's from its address" \
        "$(peer "agent$n" load_requests)" "$(ag "agent$n" requests)"
    check_eq "agent$n: no missing batch, no missing interval" "0 []" \
        "$(ag "agent$n" missing_batches) $(j "$R.agents[] | select(.name == \"agent$n\") | .missing_intervals | tostring")"
done
check_eq "agent2 delivered as many batches as agent1" "$(ag agent1 batches)" "$(ag agent2 batches)"
dups=$(ag agent2 duplicate_batches)
echo "# agent2: re-sent batches the master already had (dropped, counted): $dups"
check_eq "no duplicate merged: agent2's requests still equal katosim's" \
    "$(peer agent2 load_requests)" "$(ag agent2 requests)"
check_eq "total requests equal katosim's counters" "$(m .load_requests)" "$(j "$R.total_requests")"
check_eq "no errors" 0 "$(j "$R.total_failures")"
check_eq "katosim counted every request by a known address" 0 "$(m .peers_other)"
check "agent2 ran to the end (last request at katosim after $((DUR * 1000 - 500)) ms)" \
    awk -v l="$(peer agent2 last_ms)" -v f="$(peer agent2 first_ms)" -v d=$((DUR * 1000 - 500)) \
    'BEGIN{exit !(l - f >= d)}'

mh_cleanup
trap - EXIT
check_eq "every namespace of this run removed" 0 "$(ip netns list | grep -c -- "-$$\b")"
t_done
