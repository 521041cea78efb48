#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dead-man switch across hosts (issue 5, item 4): the layout of
# sustained_test.sh, a long concurrent run over three agents, and the
# master killed with SIGKILL mid-run. Watching katosim from the target's
# namespace (its per-address counters, polled every 100 ms), every agent's
# load must stop within 3 s of the kill; the agents must keep running and
# dial again. Then a new master starts on the same address: the agents must
# reconnect, drop the run the dead master started (RUN-ABANDONED: a new
# master never merges it), and run a new short test to completion whose
# totals equal katosim's increment over that test, per agent address and
# in total (docs/distributed.md).
. "$(dirname "$0")/lib.sh"
mh_need_root

PORT=8000
CTRL=7700
LIMIT_MS=3000 # issue 5: the load stops within 3 s of the master's death

mh_net_up
mh_katosim_start "$PORT"
mh_token
long=$T_TMP/long.yaml
cat >"$long" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 60
    requests_per_user_per_second: 10
    think_time_ms: 5
YAML
short=$T_TMP/short.yaml
cat >"$short" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 3
    requests_per_user_per_second: 10
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML
murl="tcp://$(mh_addr master):$CTRL"
master_start() { # CONFIG OUT TAG: a master in the master namespace; sets mpid
    ip netns exec "$(mh_ns master)" "$KS_OUT/stress-master" --config "$1" \
        --test concurrent --url "$KATO_URL" --agents 3 --listen "$murl" \
        --token-file "$T_TMP/token" --agent-timeout 30 --output "$2" \
        >"$T_TMP/$3.stdout" 2>"$T_TMP/$3.stderr" &
    mpid=$!
    T_PIDS+=("$mpid")
}
master_start "$long" "$T_TMP/out1" master1
for n in 1 2 3; do
    mh_agent_start "$n" "$murl" "$(mh_addr target):$PORT"
done
addrs="$(mh_addr agent1) $(mh_addr agent2) $(mh_addr agent3)"
peer_req() { # METRICS-JSON ADDR
    jq -r ".peers[] | select(.addr == \"$2\") | .load_requests" <<<"$1"
}

# Wait (bounded) until all three agents' load reached katosim, then 1.5 s.
for i in $(seq 1 300); do
    [ "$(mh_metrics | jq '.peers | length')" = 3 ] && break
    sleep 0.1
done
check_eq "the three agents' load reached katosim" 3 "$(mh_metrics | jq '.peers | length')"
sleep 1.5
at_kill=$(mh_metrics)
kill -KILL "$mpid"
wait "$mpid" 2>/dev/null
kill_up=$(jq -r .uptime_ms <<<"$at_kill")
echo "# master killed at katosim uptime $kill_up ms"

# Poll every 100 ms for 5 s: when did each address's count last change?
# A change seen at one sample happened after the previous sample: that
# previous sample's time (lo) is when the count was last seen still to
# grow, the sample's own (hi) when it was seen grown.
declare -A last_val grow_lo grow_hi
for a in $addrs; do
    last_val[$a]=$(peer_req "$at_kill" "$a")
    grow_lo[$a]=0
    grow_hi[$a]=0
done
prev=0
for i in $(seq 1 50); do
    sleep 0.1
    mj=$(mh_metrics)
    up=$(jq -r .uptime_ms <<<"$mj")
    now=$(awk -v u="$up" -v k="$kill_up" 'BEGIN{printf "%d", u - k}')
    for a in $addrs; do
        v=$(peer_req "$mj" "$a")
        if [ "$v" != "${last_val[$a]}" ]; then
            last_val[$a]=$v
            grow_lo[$a]=$prev
            grow_hi[$a]=$now
        fi
    done
    prev=$now
done
mj=$(mh_metrics)
for a in $addrs; do
    # katosim's own clock: the last request from that address, after the
    # kill (first_ms/last_ms are ms since katosim's start, us precision).
    stop=$(jq -r ".peers[] | select(.addr == \"$a\") | .last_ms - $kill_up | floor" <<<"$mj")
    echo "# $a: last request ${stop} ms after the kill; the 100 ms poll saw its count grow for the last time between ${grow_lo[$a]} and ${grow_hi[$a]} ms"
    check "$a: load stopped within $LIMIT_MS ms of the kill (${stop} ms)" \
        test "${stop:-99999}" -le "$LIMIT_MS"
    check "$a: the poll saw no growth that began after $LIMIT_MS ms (last between ${grow_lo[$a]} and ${grow_hi[$a]} ms)" \
        test "${grow_lo[$a]}" -lt "$LIMIT_MS"
done
for n in 1 2 3; do
    line=$(grep -m1 ' MASTER-LOST ' "$T_TMP/agent$n.log")
    check "agent$n logged MASTER-LOST" test -n "$line"
    echo "# agent$n: ${line#* warn }"
    check "agent$n is still running" kill -0 "${AGENT_PID[n]}"
    check "agent$n is dialling again" grep -q ' AGENT-REDIAL ' "$T_TMP/agent$n.log"
done

# --- a new master on the same address ----------------------------------------
before=$(mh_metrics)
new_ms=$(date +%s%3N)
master_start "$short" "$T_TMP/out2" master2
rc=0
wait "$mpid" || rc=$?
cat "$T_TMP/master2.stdout"
check_eq "the new master's test exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/master2.stderr"
for n in 1 2 3; do
    line=$(grep -m1 " AGENT-JOIN agent=agent$n " "$T_TMP/master2.stderr")
    check "agent$n joined the new master" test -n "$line"
    [ -n "$line" ] && echo "# agent$n joined the new master $(($(mh_log_ms "$line") - new_ms)) ms after it was started"
    check "agent$n abandoned the dead master's run" grep -q ' RUN-ABANDONED ' "$T_TMP/agent$n.log"
done
grep -h ' RUN-ABANDONED ' "$T_TMP"/agent[123].log | sed 's/^/# /'
after=$(mh_metrics)
R=.concurrent_requests.results
j() { jq -r "$1" "$T_TMP/out2/latest.json"; }
check_eq "status completed" completed "$(j .concurrent_requests.status)"
check_eq "data complete" true "$(j "$R.data_complete")"
check_eq "three agents in the results" 3 "$(j "$R.agents | length")"
inc=$(($(jq -r .load_requests <<<"$after") - $(jq -r .load_requests <<<"$before")))
check "the new test sent load ($inc)" test "$inc" -gt 50
check_eq "total requests equal katosim's increment over the new test (no old run merged)" \
    "$inc" "$(j "$R.total_requests")"
for n in 1 2 3; do
    a=$(mh_addr "agent$n")
    d=$(($(peer_req "$after" "$a") - $(peer_req "$before" "$a")))
    check_eq "agent$n: requests equal katosim's increment from $a" "$d" \
        "$(j "$R.agents[] | select(.name == \"agent$n\") | .requests")"
done
check_eq "no batch refused as invalid by the new master" 0 "$(grep -c 'BATCH-BAD' "$T_TMP/master2.stderr")"

mh_cleanup
trap - EXIT
check_eq "every namespace of this run removed" 0 "$(ip netns list | grep -c -- "-$$\b")"
t_done
