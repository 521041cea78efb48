#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent's bounded queue of unacknowledged batches (agent/control.c,
# queue_or_hold): an interval that finds the queue full is held back, not
# dropped, and leaves with a later batch. The bound is 120 (two minutes,
# which the 2.75 s dead-man switch never lets happen), so the test lowers
# it to 1 with the documented hook KATO_STRESS_TEST_MAX_UNACKED and stops
# the master (SIGSTOP) for 2.2 s from 0.9 s into the load: the batches of
# the intervals that end meanwhile cannot be acknowledged. Checked: the agent says it held
# and resumed, the master reports the held intervals as missing, and every
# request is still counted once: GOODBYE matches, the total equals
# katosim's.
. "$(dirname "$0")/lib.sh"

katosim_start
cfg=$T_TMP/c.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 4
    duration_seconds: 8
    requests_per_user_per_second: 5
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML
master_remote "$cfg"
KATO_STRESS_TEST_MAX_UNACKED=1 "$KS_OUT/stress-agent" \
    --master "tcp://127.0.0.1:$port" --token-file "$tok" --name held-1 \
    --threads 1 --allow-target "127.0.0.1:$KATO_PORT" >"$T_TMP/agent.log" 2>&1 &
apid=$!
T_PIDS+=("$apid")
for i in $(seq 1 200); do
    grep -q "AGENT-START in_ms=" "$T_TMP/agent.log" && break
    sleep 0.05
done
line=$(grep -m1 "AGENT-START in_ms=" "$T_TMP/agent.log")
check "the load started" test -n "$line"
check "the agent logged the test hook" grep -q "AGENT-TEST-UNACKED" "$T_TMP/agent.log"
# The load's start S in epoch ms: the log line's time plus in_ms. Stop the
# master at S + 0.9 s, before interval 0's batch is acknowledged, for
# 2.2 s: interval 0 fills the queue, intervals 1 and 2 are held, and they
# leave as one batch numbered 2 once the master is back, so interval 1 is
# missing. 2.2 s plus at most one heartbeat stays under the 2.75 s switch.
ts=${line%% *}
in_ms=$(echo "$line" | sed -n 's/.*in_ms=\(-\{0,1\}[0-9]*\).*/\1/p')
start_ms=$(($(date -u -d "${ts%.*}" +%s) * 1000 + 10#$(echo "${ts##*.}" | tr -d Z) + ${in_ms:-0}))
wait_ms=$((start_ms + 900 - $(date +%s%3N)))
[ "$wait_ms" -gt 0 ] && sleep "$(awk -v m="$wait_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
kill -STOP "$mpid"
sleep 2.2
kill -CONT "$mpid"
rc=0
for i in $(seq 1 400); do
    kill -0 "$mpid" 2>/dev/null || break
    sleep 0.05
done
wait "$mpid" || rc=$?
echo "# master exit $rc"
check "the master ended" sh -c "! kill -0 $mpid 2>/dev/null"
check "the agent held an interval back (AGENT-QUEUE-FULL)" grep -q "AGENT-QUEUE-FULL" "$T_TMP/agent.log"
check "and sent it with a later batch (AGENT-QUEUE-RESUMED)" grep -q "AGENT-QUEUE-RESUMED" "$T_TMP/agent.log"
check "the dead-man switch did not fire" sh -c "! grep -q MASTER-LOST '$T_TMP/agent.log'"
j=$out/latest.json
R='.concurrent_requests.results'
check_eq "the test completed" completed "$(jq -r .concurrent_requests.status "$j")"
miss=$(jq -c "$R.agents[0].missing_intervals" "$j")
echo "# missing intervals $miss; $(grep -h AGENT-QUEUE "$T_TMP/agent.log" | sed 's/^/# /')"
# The first hold spans intervals A..B and went out numbered B: the master
# misses exactly A..B-1 (the hold at the very end, if any, spans one
# interval and leaves no gap).
span=$(grep -m1 -o "AGENT-QUEUE-RESUMED intervals=[0-9]*-[0-9]*" "$T_TMP/agent.log" | sed 's/.*=//')
want=$(awk -F- -v a="${span%-*}" -v b="${span#*-}" 'BEGIN { s = "["; for (i = a; i < b; i++) s = s (i > a ? "," : "") i; print s "]" }')
check "a hold spanned two intervals or more ($span)" test "${span#*-}" -gt "${span%-*}"
check_eq "the master reports exactly the held intervals but the last as missing" "$want" "$miss"
check_eq "data_complete says so" false "$(jq "$R.data_complete" "$j")"
check_eq "GOODBYE totals match the merged batches" true "$(jq "$R.agents[0].totals_match" "$j")"
check_eq "every request counted once: total equals katosim's" \
    "$(katosim_metric '.load_requests')" "$(jq "$R.total_requests" "$j")"

t_done
