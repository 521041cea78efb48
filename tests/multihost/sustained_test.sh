#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Several hosts, for real: katosim, the master and three agents each in
# their own network namespace with their own address, joined by veth pairs
# to a bridge (tests/multihost/lib.sh). A sustained test split over the
# three agents: each agent's share of users is the plan's, exactly; what
# the master reports per agent equals what katosim received from that
# agent's address, exactly; and the totals equal katosim's counters.
# Also checks, from the agents' logs, that their clock-offset estimates
# are within the round-trip bound of the truth (0: one kernel clock) and
# prints the spread of their start instants (docs/distributed.md).
. "$(dirname "$0")/lib.sh"
mh_need_root

OPS="create_session observe learn predictions short_term_memory clear_memory"
USERS=10 # 4 + 3 + 3: unequal shares, so a swapped share would show
PORT=8000
CTRL=7700

mh_net_up
ok "namespaces, bridge and veths built ($MH_NET + 5 hosts)"
check "no link of this run in the root namespace" \
    bash -c "! ip -o link show | grep -qE ': v(target|master|agent[1-3])@'"

mh_katosim_start "$PORT"
check "master and agents reach katosim at $KATO_URL over the bridge" mh_reach_target
mh_token
cfg=$T_TMP/sustained.yaml
cat >"$cfg" <<YAML
load_profiles:
  mh:
    concurrent_users: $USERS
    duration_seconds: 4
    ramp_up_seconds: 1
    requests_per_user_per_second: 10
    think_time_ms: 5
test_scenarios:
  sustained:
    pattern: ramp_up
    initial_users: 3
performance_thresholds:
  max_error_rate: 0.0
YAML
out=$T_TMP/out
murl="tcp://$(mh_addr master):$CTRL"
ip netns exec "$(mh_ns master)" "$KS_OUT/stress-master" --config "$cfg" --test sustained \
    --profile mh --url "$KATO_URL" --agents 3 --listen "$murl" \
    --token-file "$T_TMP/token" --agent-timeout 30 --output "$out" \
    >"$T_TMP/master.stdout" 2>"$T_TMP/master.stderr" &
mpid=$!
T_PIDS+=("$mpid")
for n in 1 2 3; do
    mh_agent_start "$n" "$murl" "$(mh_addr target):$PORT"
done

# Mid-run, the target's kernel view: established connections to katosim,
# by peer address (sampled until the load is seen, bounded).
conns=""
for i in $(seq 1 60); do
    conns=$(mh_in target ss -Htn state established "( sport = :$PORT )" |
        awk '{print $4}' | sed 's/:[0-9]*$//' | sort | uniq -c |
        awk '{print $2"="$1}' | tr '\n' ' ')
    [ "$(echo "$conns" | wc -w)" -ge 3 ] && break
    sleep 0.1
done

rc=0
wait "$mpid" || rc=$?
cat "$T_TMP/master.stdout"
check_eq "master exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/master.stderr"

# --- where the load came from -------------------------------------------------
agents_addrs="$(mh_addr agent1) $(mh_addr agent2) $(mh_addr agent3)"
echo "# connections at the target mid-run (addr=count): $conns"
for a in $agents_addrs; do
    check "target saw connections from $a" grep -q "$a=" <<<"$conns"
done
stray=$(tr ' ' '\n' <<<"$conns" | grep -v '^$' | sed 's/=.*//' |
    grep -v -x -F -e "$(mh_addr agent1)" -e "$(mh_addr agent2)" -e "$(mh_addr agent3)" | tr '\n' ' ')
check_eq "no connection to katosim from any other address" "" "$stray"
kns=$(mh_netns_inode "$KATO_PID")
for n in 1 2 3; do
    ans=$(mh_netns_inode "${AGENT_PID[n]}")
    check "agent$n runs in another network namespace than katosim ($ans vs $kns)" \
        test -n "$ans" -a -n "$kns" -a "$ans" != "$kns"
done
check "the target's address is not local to any agent's namespace" \
    bash -c "! { $(for n in 1 2 3; do printf 'ip -n %s -o addr; ' "$(mh_ns agent$n)"; done) } | grep -q ' $(mh_addr target)/'"
rx=$(ip -n "$(mh_ns target)" -s -j link show eth0 | jq '.[0].stats64.rx.bytes')
check "traffic crossed the target's veth (rx $rx bytes)" test "${rx:-0}" -gt 10000

# --- the numbers ----------------------------------------------------------------
T=sustained_load_mh
R=".$T.results"
j() { jq -r "$1" "$out/latest.json"; }
mh_metrics >"$T_TMP/metrics.json"
m() { jq -r "$1" "$T_TMP/metrics.json"; }
check_eq "status completed" completed "$(j ".$T.status")"
check_eq "data complete" true "$(j "$R.data_complete")"
check_eq "three agents in the results" 3 "$(j "$R.agents | length")"
tool_total=$(j "$R.total_requests")
check "some load was generated" test "${tool_total:-0}" -gt 100
check_eq "total requests equal katosim's counters" "$(m .load_requests)" "$tool_total"
for op in $OPS; do
    check_eq "$op count equals katosim's" "$(m ".requests.$op")" "$(j "$R.operation_stats.$op.count // 0")"
done
check_eq "no errors" 0 "$(j "$R.total_failures")"
check_eq "katosim counted every request by a known address" 0 "$(m .peers_other)"
check_eq "katosim saw exactly three client addresses" 3 "$(m '.peers | length')"
mh_check_shares "$out/latest.json" "$T_TMP/metrics.json" "$T" "$USERS"

# --- start: offsets and skew ------------------------------------------------------
mh_check_start "$T_TMP/metrics.json"

mh_cleanup
trap - EXIT
left=$(ip netns list | grep -c -- "-$$\b")
check_eq "every namespace of this run removed" 0 "$left"
t_done
