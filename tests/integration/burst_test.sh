#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The burst test end to end (docs/tests-design.md 5.3): katosim, the master
# and two local agents on loopback, `--test burst --quick` (2 bursts of
# 200 observes within 100 ms, 3 s apart, over a baseline of 5 users).
# Each burst's request count is exact (the arrivals are split over the
# agents by residue class, and the union is the planned sequence), its
# drain time is finite and > 0, the verdict is pass, and the tool's
# per-operation counts equal katosim's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

OPS="create_session observe learn predictions short_term_memory clear_memory"
KEY=burst_traffic
OUT=$T_TMP/out
j() { jq -r ".$KEY.results$1" "$OUT/latest.json"; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

cfg=$T_TMP/burst.yaml
cat >"$cfg" <<YAML
performance_thresholds:
  response_time_p99_max: 100000
  max_error_rate: 0.0
YAML

katosim_start
timeout 120 "$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" \
    --local-agents 2 --threads 1 --output "$OUT" --test burst --quick \
    >"$T_TMP/stdout" 2>"$T_TMP/stderr"
RC=$?
[ "$RC" = 0 ] || tail -n 30 "$T_TMP/stderr"
check_eq "master exits 0" 0 "$RC"
check_eq "status completed" completed "$(jq -r ".$KEY.status" "$OUT/latest.json")"
check_eq "verdict pass" pass "$(j .verdict)"
check_eq "two bursts reported" 2 "$(j '.bursts | length')"
for b in 0 1; do
    n=$(j ".bursts[$b].requests")
    check_eq "burst $((b + 1)): exactly 200 requests" 200 "$n"
    check_eq "burst $((b + 1)): planned 200" 200 "$(j ".bursts[$b].planned_requests")"
    check_eq "burst $((b + 1)): no errors" 0 "$(j ".bursts[$b].errors")"
    d=$(j ".bursts[$b].drain_ms")
    check "burst $((b + 1)): drain time finite and > 0 ($d ms)" gt "$d" 0
    # Released over 100 ms: the drain cannot end before the window does,
    # and it ended before the next burst (3 s later).
    check "burst $((b + 1)): drained after the window and within 3 s ($d ms)" \
        awk -v d="$d" 'BEGIN { exit !(d >= 99 && d < 3000) }'
    check_eq "burst $((b + 1)): drained before the next" true "$(j ".bursts[$b].drained")"
    check_eq "burst $((b + 1)): recovered" true "$(j ".bursts[$b].recovered")"
    echo "# burst $((b + 1)): p50=$(j ".bursts[$b].p50_ms") p99=$(j ".bursts[$b].p99_ms") max=$(j ".bursts[$b].max_ms") drain=${d} recovery=$(j ".bursts[$b].recovery_ms") pre_p99=$(j .pre_burst_p99_ms)"
done
check_eq "total requests equal katosim's" \
    "$(katosim_metric '.load_requests')" "$(j .total_requests)"
for op in $OPS; do
    check_eq "$op count equals katosim's" \
        "$(katosim_metric ".requests.$op")" "$(j ".operation_stats.$op.count // 0")"
done
# 200 burst slots and 5 baseline users, one session each.
check_eq "one session per slot and per user" 205 "$(katosim_metric '.requests.create_session')"
check_eq "no arrival left unsent" 0 "$(j .unsent_arrivals)"
check "summary prints the bursts and the verdict" \
    grep -q "Verdict: pass" "$T_TMP/stdout"
check "summary line per burst" grep -q "Burst 2: 200/200 req" "$T_TMP/stdout"

# --- the HTML report's Bursts section holds the JSON's figures ------------
html=$(html_of "$OUT")
html_parses burst "$html"
check_eq "HTML: a Bursts section" 1 "$(hx "$html" 'count(//h3[.="Bursts"])')"
check_eq "HTML: burst verdict pass" pass \
    "$(hx "$html" 'string(//h3[.="Bursts"]/following-sibling::p[@class="verdict"][1]/span)')"
check_eq "HTML: one row per burst" 2 \
    "$(hx "$html" 'count(//h3[.="Bursts"]/following-sibling::table[1]//tr[td])')"
for b in 1 2; do
    i=$((b - 1))
    check_eq "HTML: burst $b size" "$(j ".bursts[$i].planned_requests")" "$(sect_cell "$html" Bursts $b 2)"
    check_eq "HTML: burst $b requests" "$(j ".bursts[$i].requests")" "$(sect_cell "$html" Bursts $b 3)"
    check_eq "HTML: burst $b p99 ms" "$(printf %.3f "$(j ".bursts[$i].p99_ms")")" "$(sect_cell "$html" Bursts $b 9)"
    check_eq "HTML: burst $b drain ms" "$(printf %.3f "$(j ".bursts[$i].drain_ms")")" "$(sect_cell "$html" Bursts $b 11)"
    check_eq "HTML: burst $b recovery ms" "$(printf %.3f "$(j ".bursts[$i].recovery_ms")")" "$(sect_cell "$html" Bursts $b 13)"
    check_eq "HTML: burst $b recovered" yes "$(sect_cell "$html" Bursts $b 14)"
done
t_done
