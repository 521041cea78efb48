#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The recovery test against katosim with two local agents
# (docs/tests-design.md 5.6): a closed baseline, an open phase of requests
# KATO must reject, then the recovery time.
#  - the invalid requests are exactly the planned number, recorded under
#    op "invalid" by status class: 422 (malformed JSON, wrong shape), 400
#    (a vector of the wrong dimension), 404 (an unknown session), each
#    count > 0 and equal to what katosim answered;
#  - katosim counts by route: its observe count is the tool's observe plus
#    invalid (every invalid request is a POST .../observe), every other op
#    equal;
#  - the baseline has no error, the thresholds ignore the invalid requests
#    (max_error_rate 0 still passes), the recovery time is finite and the
#    verdict "recovered".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

katosim_start
cfg=$T_TMP/rec.yaml
cat >"$cfg" <<YAML
test_scenarios:
  recovery:
    concurrent_users: 6
    requests_per_user_per_second: 4
    think_time_ms: 10
    baseline_seconds: 4
    invalid_requests: 60
    invalid_concurrency: 20
    max_recovery_seconds: 6
    window_seconds: 2
    margin: 0.2
performance_thresholds:
  response_time_p99_max: 5000
  max_error_rate: 0.0
YAML
out=$T_TMP/out
timeout 90 "$KS_OUT/stress-master" --config "$cfg" --test recovery \
    --url "$KATO_URL" --local-agents 2 --threads 1 --output "$out" \
    >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
check_eq "recovery exits 0 (invalid requests are not threshold errors)" 0 "$rc"
[ "$rc" = 0 ] || { cat "$T_TMP/stdout"; tail -n 30 "$T_TMP/stderr"; }
R='.error_recovery.results'
j() { jq -r "$1" "$out/latest.json"; }
E="$R.error_recovery"
check_eq "status completed" completed "$(j .error_recovery.status)"
check_eq "60 invalid requests, as planned" 60 "$(j "$R.operation_stats.invalid.count")"
check_eq "the error_recovery entry counts them too" 60 "$(j "$E.invalid_requests.requests")"
check_eq "every invalid request was rejected (4xx)" 60 "$(j "$E.invalid_requests.by_class[\"4xx\"]")"
check_eq "none accepted" 0 "$(j "$E.invalid_requests.by_class[\"2xx\"]")"
for s in 400 404 422; do
    n=$(j "$E.invalid_requests.by_status[\"$s\"] // 0")
    check "invalid: some $s ($n)" test "$n" -gt 0
    check_eq "invalid: $s count equals katosim's" \
        "$(katosim_metric ".responses[\"$s\"] // 0")" "$n"
done
# The rotation by arrival index: 422 twice in four, 400 and 404 once.
check_eq "rotation: 30 x 422, 15 x 400, 15 x 404" "30 15 15" \
    "$(j "$E.invalid_requests.by_status | [.[\"422\"], .[\"400\"], .[\"404\"]] | join(\" \")")"
check_eq "katosim's observes: the tool's observe + invalid" \
    "$(katosim_metric '.requests.observe')" \
    "$(($(j "$R.operation_stats.observe.count") + $(j "$R.operation_stats.invalid.count")))"
for op in create_session learn predictions short_term_memory clear_memory; do
    check_eq "$op count equals katosim's" \
        "$(katosim_metric ".requests.$op")" "$(j "$R.operation_stats.$op.count // 0")"
done
check_eq "total requests equal katosim's" "$(katosim_metric '.load_requests')" \
    "$(j "$R.total_requests")"
check_eq "sessions: 6 users + 20 invalid slots" 26 "$(katosim_metric '.requests.create_session')"
check_eq "baseline: no error" 0 "$(j "$E.baseline.errors")"
check "baseline: requests measured ($(j "$E.baseline.requests"))" \
    test "$(j "$E.baseline.requests")" -gt 0
check_eq "no error outside the invalid op" \
    "$(j "$R.operation_stats.invalid.count")" "$(j "$R.total_failures")"
check_eq "phases: baseline s 1-3, invalid s 4-6, after s 7-12" "1 4 4 7 7 13" \
    "$(j "[$E.baseline.from_interval, $E.baseline.to_interval, $E.during.from_interval, $E.during.to_interval, $E.after.from_interval, $E.after.to_interval] | join(\" \")")"
check_eq "verdict recovered" recovered "$(j "$E.verdict")"
t=$(j "$E.recovery_time_seconds")
check "a finite recovery time within max_recovery_seconds ($t s)" \
    test "$t" -ge 0 -a "$t" -le 4
echo "# baseline p99=$(j "$E.baseline.p99_ms") ms, during p99=$(j "$E.during.p99_ms") ms, after p99=$(j "$E.after.p99_ms") ms, limit=$(j "$E.p99_limit_ms") ms, recovery=${t} s"
check "summary shows the recovery" grep -q "Recovery: recovered in ${t}s" "$T_TMP/stdout"
check_eq "no violation" 0 "$(j "[$R.thresholds.violations[]] | length")"
junit=$(ls "$out"/junit_*.xml 2>/dev/null | head -n 1)
check_eq "JUnit: a passed recovery testcase" 1 \
    "$(xmllint --xpath "count(//testcase[@name='error_recovery: recovered within max_recovery_seconds'][not(failure)][not(skipped)])" "$junit")"

# The HTML report's recovery section holds the JSON's figures.
html=$(html_of "$out")
html_parses recovery "$html"
check_eq "HTML: verdict recovered" recovered \
    "$(hx "$html" 'string(//h3[.="Error recovery"]/following-sibling::p[@class="verdict"][1]/span)')"
check_eq "HTML: recovery time" "$t s" "$(hx "$html" 'string(//b[@class="rtime"])')"
for s in 400 404 422; do
    check_eq "HTML: invalid http_$s = JSON's" "$(j "$E.invalid_requests.by_status[\"$s\"]")" \
        "$(hx "$html" "string(//h3[.=\"Error recovery\"]/following-sibling::table[2]//tr[td[1]=\"http_$s\"]/td[2])" | tr -d ,)"
done
check_eq "HTML: invalid requests sent = JSON's" "$(j "$E.invalid_requests.requests")" \
    "$(hx "$html" 'string(//h3[.="Error recovery"]/following-sibling::table[2]//tr[td[1]="sent"]/td[2])' | tr -d ,)"
check_eq "HTML: baseline span requests = JSON's" "$(j "$E.baseline.requests")" \
    "$(hx "$html" 'string(//h3[.="Error recovery"]/following-sibling::table[1]//tr[td[1]="baseline"]/td[3])' | tr -d ,)"
check_eq "HTML: after span p99 ms = JSON's" "$(printf %.3f "$(j "$E.after.p99_ms")")" \
    "$(hx "$html" 'string(//h3[.="Error recovery"]/following-sibling::table[1]//tr[td[1]="after"]/td[6])')"

# invalid is the recovery test's own op: never in operations_mix.
bad=$T_TMP/bad.yaml
printf 'operations_mix:\n  observe: 0.5\n  invalid: 0.5\n' >"$bad"
"$KS_OUT/stress-master" --config "$bad" --test recovery --url "$KATO_URL" \
    >/dev/null 2>"$T_TMP/bad.stderr"
check_eq "invalid in operations_mix: exit 2" 2 "$?"
check "the error names the key" grep -q "unknown key 'invalid' in operations_mix" "$T_TMP/bad.stderr"
t_done
