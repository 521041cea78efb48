#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# on_agent_loss on loopback: three agents started by the test run a
# concurrent test of 9 users (3 each) against katosim; one of them, a3,
# is killed with SIGKILL mid-run, once per policy:
#   rebalance (the default, no flag): a3's 3 users move to the survivors
#     (2 and 1 of them) from the detection on: every interval after it has
#     the 9 planned users again, the survivors create the 3 new sessions,
#     and the report names a3, the interval and what moved;
#   continue: the survivors keep their 6 users, the report says a3's share
#     was not run from the detection on;
#   abort: the survivors are stopped, status failed naming a3, exit 3,
#     within a few seconds of the kill.
# Every agent shares 127.0.0.1, so katosim cannot tell their requests
# apart: what a3 sent in its last, unreported second is lost with the
# process (tests/multihost/lost_agent_test.sh measures it per address).
# Here the totals are checked exactly where they can be: the sessions
# (all created before the kill or by survivors), and the requests to
# within that one unreported interval of a3's.
. "$(dirname "$0")/lib.sh"

USERS=9
RATE=10 # requests per user per second
DUR=9
KILL_AFTER_MS=2300 # after the load's first request

tok=$T_TMP/token
(umask 077 && echo "loss-test-token-$RANDOM$RANDOM" >"$tok")
cfg=$T_TMP/loss.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: $USERS
    duration_seconds: $DUR
    requests_per_user_per_second: $RATE
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML

# An open-model run: 60 arrivals/s on 6 connection slots (2 per agent).
ocfg=$T_TMP/open.yaml
cat >"$ocfg" <<YAML
load_profiles:
  lossy:
    concurrent_users: 6
    duration_seconds: $DUR
    ramp_up_seconds: 0
    requests_per_user_per_second: 10
    think_time_ms: 0
test_scenarios:
  sustained:
    pattern: constant
    model: open
    arrival_rate: 60
    initial_users: 6
performance_thresholds:
  max_error_rate: 0.0
YAML

# run_case POLICY [CASE]: katosim, master, three agents, a3 killed; sets
# OUT, RC, KILL_MS, END_MS and leaves the logs in $T_TMP/CASE.* (CASE
# "open": the open-model sustained run under POLICY).
run_case() {
    local pol=$1 cname=${2:-$1} port mpid i n first
    local flag=(--config "$cfg")
    [ "$cname" = open ] && flag=(--config "$ocfg" --test sustained --profile lossy)
    katosim_start
    port=$(free_port)
    OUT=$T_TMP/out-$cname
    [ "$pol" = rebalance ] || flag+=(--on-agent-loss "$pol")
    "$KS_OUT/stress-master" --url "$KATO_URL" --agents 3 \
        --listen "tcp://127.0.0.1:$port" --token-file "$tok" \
        --agent-timeout 30 --output "$OUT" "${flag[@]}" \
        >"$T_TMP/$cname.stdout" 2>"$T_TMP/$cname.stderr" &
    mpid=$!
    T_PIDS+=("$mpid")
    for n in 1 2 3; do
        "$KS_OUT/stress-agent" --master "tcp://127.0.0.1:$port" \
            --token-file "$tok" --name "a$n" --threads 1 \
            >"$T_TMP/$cname.a$n.log" 2>&1 &
        APID[$n]=$!
        T_PIDS+=("${APID[$n]}")
        # One at a time, so a1, a2, a3 are agents 0, 1, 2 (join order).
        for i in $(seq 1 200); do
            grep -q "AGENT-JOIN agent=a$n " "$T_TMP/$cname.stderr" && break
            sleep 0.05
        done
    done
    first=0
    for i in $(seq 1 300); do
        first=$(katosim_metric .load_requests)
        [ "${first:-0}" -gt 0 ] && break
        sleep 0.05
    done
    check "$cname: the load reached katosim" test "${first:-0}" -gt 0
    sleep "$(awk -v m=$KILL_AFTER_MS 'BEGIN{print m / 1000}')"
    kill -KILL "${APID[3]}"
    KILL_MS=$(date +%s%3N)
    wait "${APID[3]}" 2>/dev/null
    RC=0
    for i in $(seq 1 600); do
        kill -0 "$mpid" 2>/dev/null || break
        sleep 0.05
    done
    wait "$mpid" || RC=$?
    END_MS=$(date +%s%3N)
    for n in 1 2; do
        kill -TERM "${APID[$n]}" 2>/dev/null
        wait "${APID[$n]}" 2>/dev/null
    done
    grep -v '^progress' "$T_TMP/$cname.stderr" | grep -E 'AGENT-LOS|ADOPT|STOPPING|error' | head -n 12
    # Detection: from the kill to AGENT-LOST, by the log's UTC timestamp.
    local line ts sec ms
    line=$(grep ' AGENT-LOST agent=a3 ' "$T_TMP/$cname.stderr" | head -n 1)
    check "$cname: master logged AGENT-LOST for a3" test -n "$line"
    ts=${line%% *}
    sec=$(date -u -d "${ts%.*}" +%s 2>/dev/null || echo 0)
    ms=${ts##*.}
    ms=${ms%Z}
    DET_MS=$((sec * 1000 + 10#${ms:-0} - KILL_MS))
    echo "# $cname: detection $DET_MS ms after SIGKILL"
    check "$cname: a3 declared lost within 3 s of the kill ($DET_MS ms)" \
        test "$DET_MS" -gt 0 -a "$DET_MS" -le 3000
    check_eq "$cname: no other agent declared lost" 1 \
        "$(grep -c ' AGENT-LOST ' "$T_TMP/$cname.stderr")"
}

R=.concurrent_requests
j() { jq -r "$1" "$OUT/latest.json"; }
lost() { j "$R.results.agents_lost[0].$1"; }
ag() { j "$R.results.agents[] | select(.name == \"$1\") | .$2"; }

# --- rebalance (the default) ---------------------------------------------------
run_case rebalance
check_eq "rebalance: master exits 0" 0 "$RC"
check_eq "rebalance: status completed" completed "$(j $R.status)"
check_eq "rebalance: one loss listed" 1 "$(j "$R.results.agents_lost | length")"
check_eq "rebalance: the loss names a3, index 2, policy rebalance" "a3 2 rebalance" \
    "$(lost name) $(lost agent_index) $(lost policy)"
check_eq "rebalance: its 3 users moved to 2 survivors" "true 2 3" \
    "$(lost moved) $(lost survivors) $(lost moved_users)"
k=$(lost detected_at_interval)
check "rebalance: detected in interval 3..5 ($k)" test "$k" -ge 3 -a "$k" -le 5
check "rebalance: a3's missing intervals listed, through the end" \
    test "$(j "$R.results.agents_lost[0].intervals_missing | last")" = $((DUR - 1))
# Users per interval (each agent's users at the interval's end, summed):
# 9 before the kill, 9 again from the interval after the detection on.
check_eq "rebalance: 9 users in interval 0..1" "9 9" \
    "$(j "[$R.results.intervals[0,1].users] | map(tostring) | join(\" \")")"
after=$(j "[$R.results.intervals[] | select(.t > $k and .t < $DUR) | .users] | unique | map(tostring) | join(\" \")")
check_eq "rebalance: every interval after the detection has the 9 planned users" 9 "$after"
# a3 is agent 2 of 3: survivor r of 2 takes (2 + 3 r, 6), so a1 runs 3 +
# share(9, 6, 2) = 5 users and a2 3 + share(9, 6, 5) = 4.
check_eq "rebalance: the survivors took slices 2/6 and 5/6" "slice=2/6 slice=5/6" \
    "$(grep -o 'AGENT-ADOPT slice=[0-9/]*' "$T_TMP/rebalance.a1.log" | cut -d' ' -f2 | head -n 1) $(grep -o 'AGENT-ADOPT slice=[0-9/]*' "$T_TMP/rebalance.a2.log" | cut -d' ' -f2 | head -n 1)"
for n in 1 2; do
    check_eq "rebalance: a$n said goodbye with matching totals" "true true" \
        "$(ag "a$n" goodbye) $(ag "a$n" totals_match)"
done
ksess=$(katosim_metric .requests.create_session)
check_eq "rebalance: sessions: 9 + 3 adopted, equal to katosim's" "12 12" \
    "$(j "$R.results.operation_stats.create_session.count") $ksess"
kload=$(katosim_metric .load_requests)
mine=$(j "$R.results.total_requests")
gap=$((kload - mine))
echo "# rebalance: katosim $kload, master $mine: $gap lost with a3's last interval"
check "rebalance: totals within a3's one unreported interval of katosim's (0 <= $gap <= $((3 * RATE + 3)))" \
    test "$gap" -ge 0 -a "$gap" -le $((3 * RATE + 3))
check "rebalance: the summary names a3 and the move" \
    grep -q "Agent lost: a3 (index 2).*rebalance: its share.*moved to 2 agents" "$T_TMP/rebalance.stdout"
junit=$(ls "$OUT"/junit_*.xml | head -n 1)
check "rebalance: JUnit system-out names a3" \
    test "$(xmllint --xpath "count(//testcase[@name='concurrent_requests']/system-out[contains(., 'Agent lost: a3')])" "$junit")" = 1

# --- continue ------------------------------------------------------------------
run_case continue
check_eq "continue: master exits 0" 0 "$RC"
check_eq "continue: status completed" completed "$(j $R.status)"
check_eq "continue: the loss names a3, policy continue, nothing moved" "a3 continue false 3" \
    "$(lost name) $(lost policy) $(lost moved) $(lost users)"
k=$(lost detected_at_interval)
after=$(j "[$R.results.intervals[] | select(.t > $k and .t < $DUR) | .users] | unique | map(tostring) | join(\" \")")
check_eq "continue: the survivors keep their 6 users after the loss" 6 "$after"
check "continue: no slice adopted" test "$(cat "$T_TMP"/continue.a[12].log | grep -c 'AGENT-ADOPT')" = 0
ksess=$(katosim_metric .requests.create_session)
check_eq "continue: sessions equal katosim's (9)" "9 9" \
    "$(j "$R.results.operation_stats.create_session.count") $ksess"
kload=$(katosim_metric .load_requests)
mine=$(j "$R.results.total_requests")
gap=$((kload - mine))
check "continue: totals within a3's one unreported interval of katosim's (0 <= $gap <= $((3 * RATE + 3)))" \
    test "$gap" -ge 0 -a "$gap" -le $((3 * RATE + 3))
check "continue: the summary says a3's share was not run from then on" \
    grep -q "Agent lost: a3 (index 2).*continue: its share.*was not run from interval $k on" "$T_TMP/continue.stdout"

# --- rebalance, open model ------------------------------------------------------
# a3 held the arrivals k mod 3 = 2 (20/s); from the detection on the
# survivors send k mod 6 = 2 and 5: the rate is 60/s again, and every
# arrival after the hand-over goes out (none unsent).
run_case rebalance open
S=.sustained_load_lossy
check_eq "open: master exits 0" 0 "$RC"
check_eq "open: the loss names a3, rebalance, 20 arrivals/s moved" "a3 rebalance true 20" \
    "$(jq -r "$S.results.agents_lost[0] | \"\\(.name) \\(.policy) \\(.moved) \\(.moved_arrival_rate)\"" "$OUT/latest.json")"
k=$(jq -r "$S.results.agents_lost[0].detected_at_interval" "$OUT/latest.json")
rates=$(jq -r "[$S.results.intervals[] | select(.t > $k + 1 and .t < $DUR - 1) | .requests] | map(tostring) | join(\" \")" "$OUT/latest.json")
echo "# open: requests per interval: $(jq -r "[$S.results.intervals[].requests] | map(tostring) | join(\" \")" "$OUT/latest.json") (detected in $k)"
check "open: 60 +- 3 requests in every interval after the hand-over ($rates)" \
    test -n "$rates" -a -z "$(echo "$rates" | tr ' ' '\n' | awk '$1 < 57 || $1 > 63')"
check_eq "open: no arrival unsent" 0 "$(jq -r "$S.results.unsent_arrivals // 0" "$OUT/latest.json")"
check_eq "open: the survivors took slices 2/6 and 5/6" "slice=2/6 slice=5/6" \
    "$(grep -o 'AGENT-ADOPT slice=[0-9/]*' "$T_TMP/open.a1.log" | cut -d' ' -f2 | head -n 1) $(grep -o 'AGENT-ADOPT slice=[0-9/]*' "$T_TMP/open.a2.log" | cut -d' ' -f2 | head -n 1)"

# --- abort ---------------------------------------------------------------------
run_case abort
check_eq "abort: master exits 3" 3 "$RC"
took=$((END_MS - KILL_MS))
check "abort: the master ended within 6 s of the kill ($took ms)" test "$took" -le 6000
check_eq "abort: status failed" failed "$(j $R.status)"
check "abort: the failure reason names a3" \
    sh -c "jq -r '$R.results.failure_reason' '$OUT/latest.json' | grep -q 'agent a3 (index 2) lost.*abort'"
check_eq "abort: the loss is listed with policy abort" "a3 abort" "$(lost name) $(lost policy)"
check "abort: the error names a3" grep -q "error: agent a3 (index 2) lost" "$T_TMP/abort.stderr"
check "abort: the survivors were told STOP" grep -q 'AGENT-STOP reason="agent a3' "$T_TMP/abort.a1.log"
junit=$(ls "$OUT"/junit_*.xml | head -n 1)
check "abort: JUnit failure names a3" \
    test "$(xmllint --xpath "count(//testcase[@name='concurrent_requests']/failure[contains(@message, 'agent a3')])" "$junit")" = 1

t_done
