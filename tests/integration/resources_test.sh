#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resources (docs/resources.md) against katosim with two local agents of
# one worker each, katosim's pid as the target source:
#  - the resources CSV has one row per (interval, agent) plus one per
#    target sample; the agents' RSS, CPU, network bytes and open
#    connections are plausible; the target's memory matches VmRSS read
#    here at the end; the JSON's resources agree with the CSV;
#  - max_memory_usage_mb below katosim's RSS: exit 1, a JUnit failure;
#  - the test hook KATO_STRESS_TEST_LOOP_LAG_MS=80 makes every worker loop
#    late: "saturated": true for loop lag, a WARNING line, a JUnit
#    system-out line, and still exit 0 (saturation alone fails nothing).
. "$(dirname "$0")/lib.sh"

USERS=4
katosim_start

# cfg FILE DURATION_S [THRESHOLD-LINES...]
cfg() {
    local f=$1 d=$2
    shift 2
    {
        printf 'test_parameters:\n  connection_pool_size: 8\n'
        printf 'test_scenarios:\n  concurrent:\n'
        printf '    concurrent_users: %s\n    duration_seconds: %s\n' "$USERS" "$d"
        printf '    requests_per_user_per_second: 20\n    think_time_ms: 0\n'
        printf '  memory:\n    memory_source: pid\n    pid: %s\n' "$KATO_PID"
        printf 'monitoring:\n  metrics_sample_interval_seconds: 1\n'
        printf 'performance_thresholds:\n  response_time_p99_max: 5000\n'
        printf '  max_error_rate: 0.0\n'
        printf '  %s\n' "$@"
    } >"$f"
}
# run NAME CONFIG: RC, $T_TMP/NAME.{out,err}, $T_TMP/NAME/.
run() {
    timeout 60 "$KS_OUT/stress-master" --config "$2" --url "$KATO_URL" \
        --local-agents 2 --threads 1 --output "$T_TMP/$1" \
        >"$T_TMP/$1.out" 2>"$T_TMP/$1.err"
    RC=$?
}
jv() { jq -r ".concurrent_requests.results | $2" "$T_TMP/$1/latest.json"; }
csv() { ls "$T_TMP/$1"/metrics_*_resources.csv | head -n 1; }
junit() { ls "$T_TMP/$1"/junit_*.xml | head -n 1; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# --- a plain run: the samples ------------------------------------------------
cfg "$T_TMP/a.yaml" 4 "max_memory_usage_mb: 1024" "max_cpu_usage_percent: 400" \
    "max_connection_pool_usage: 1.0"
run a "$T_TMP/a.yaml"
vmrss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$KATO_PID/status")
check_eq "plain: exit 0" 0 "$RC"
[ "$RC" = 0 ] || tail -n 20 "$T_TMP/a.err"
res=$(csv a)
n_int=$(jv a '.intervals | length')
n_ag=$(jv a '.agents | length')
n_tgt=$(jv a '.resources.target.memory_samples')
check_eq "two agents took part" 2 "$n_ag"
check "some intervals ($n_int)" test "$n_int" -ge 4
check "the target was sampled about once a second ($n_tgt of $n_int)" \
    test "$n_tgt" -ge 3 -a "$n_tgt" -le "$n_int"
check_eq "CSV: intervals x agents agent rows" "$((n_int * n_ag))" \
    "$(awk -F, 'NR > 1 && $4 != "target"' "$res" | wc -l)"
check_eq "CSV: one target row per target sample" "$n_tgt" \
    "$(awk -F, 'NR > 1 && $4 == "target"' "$res" | wc -l)"
# Agent rows with a /proc sample: all but those queued < 250 ms after the
# previous batch (the trailing interval, sent as soon as the one before
# it; a batch held back on a loaded machine).
sampled=$(awk -F, 'NR > 1 && $4 != "target" && $6 != ""' "$res" | wc -l)
check "CSV: nearly every agent row has a sample ($sampled of $((n_int * n_ag)))" \
    test "$sampled" -ge $((n_int * n_ag - n_ag - 2))
check_eq "CSV: RSS > 0 and < 1 GiB in every sampled row" "" \
    "$(awk -F, 'NR > 1 && $4 != "target" && $6 != "" && !($6 > 0 && $6 < 1024)' "$res" | head -n 1)"
# One worker thread, plus the control thread and libcurl's resolver:
# 100 % of a core per worker and 50 points of slack (tick granularity).
check_eq "CSV: CPU within [0, 150] % for one worker" "" \
    "$(awk -F, 'NR > 1 && $4 != "target" && $5 != "" && !($5 >= 0 && $5 <= 150)' "$res" | head -n 1)"
check_eq "CSV: host CPU within [0, 100] %" "" \
    "$(awk -F, 'NR > 1 && $4 != "target" && $12 != "" && !($12 >= 0 && $12 <= 100)' "$res" | head -n 1)"
sent=$(jv a '.bytes_sent')
recv=$(jv a '.bytes_received')
tx=$(awk -F, 'NR > 1 && $4 != "target" {s[$4] += $7} END {m = 0; for (a in s) if (s[a] > m) m = s[a]; printf "%d", m}' "$res")
rx=$(awk -F, 'NR > 1 && $4 != "target" {s[$4] += $8} END {m = 0; for (a in s) if (s[a] > m) m = s[a]; printf "%d", m}' "$res")
check "some request bytes counted ($sent)" test "${sent:-0}" -gt 10000
# The load is on lo, where every byte is both sent and received: an
# agent's network counters include at least every request byte katosim
# received (both agents' load, as the namespace's counters are shared).
check "net bytes sent >= the request bytes katosim received ($tx >= $sent)" \
    test "$tx" -ge "$sent"
check "net bytes received >= the request bytes ($rx >= $sent)" test "$rx" -ge "$sent"
check_eq "CSV: open connections of an interval, summed over agents, <= users" "" \
    "$(awk -F, -v u=$USERS 'NR > 1 && $4 != "target" {s[$2] += $9} END {for (k in s) if (s[k] > u) print k, s[k]}' "$res" | head -n 1)"
peak=$(jv a '.resources.open_connections_peak')
check "open connections seen (peak $peak of $USERS users)" test "${peak:-0}" -ge 1 -a "${peak:-0}" -le "$USERS"
check_eq "pool usage = peak / connection_pool_size" \
    "$(awk -v p="$peak" 'BEGIN {printf "%.4f", p / 8}')" \
    "$(jv a '.resources.connection_pool_usage' | awk '{printf "%.4f", $1}')"
# The target: katosim's RSS by /proc/PID/status, within 10 % of VmRSS now.
last_mb=$(awk -F, 'NR > 1 && $4 == "target" {m = $11} END {print m}' "$res")
vm_mb=$(awk -v k="$vmrss_kb" 'BEGIN {printf "%.3f", k / 1024}')
check "target memory ($last_mb MB) within 10 % of VmRSS ($vm_mb MB)" \
    awk -v a="$last_mb" -v b="$vm_mb" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= 0.1 * b) }'
check_eq "JSON: target memory max = the CSV's highest" \
    "$(awk -F, 'NR > 1 && $4 == "target" && $11 > m {m = $11} END {printf "%.3f", m}' "$res")" \
    "$(jv a '.resources.target.memory_max_mb' | awk '{printf "%.3f", $1}')"
ncpu=$(jv a '.resources.target.cpu_samples')
check "target CPU from /proc/PID/stat ($ncpu samples, one less than memory)" \
    test "$ncpu" -ge 2 -a "$ncpu" -lt "$n_tgt"
check_eq "JSON: an agent's max RSS = its CSV max" \
    "$(awk -F, 'NR > 1 && $4 == "local-1" && $6 > m {m = $6} END {printf "%.3f", m}' "$res")" \
    "$(jv a '.resources.agents[] | select(.agent == "local-1") | .rss_max_mb' | awk '{printf "%.3f", $1}')"
check_eq "JSON: the three resource keys judged" \
    "max_memory_usage_mb:passed max_cpu_usage_percent:passed max_connection_pool_usage:passed" \
    "$(jv a '[.thresholds.results[] | select(.key | test("memory|cpu|pool")) | "\(.key):\(.status)"] | join(" ")')"

# --- max_memory_usage_mb below katosim's RSS ---------------------------------
cfg "$T_TMP/m.yaml" 2 "max_memory_usage_mb: 1"
run m "$T_TMP/m.yaml"
check_eq "memory limit: exit 1" 1 "$RC"
check "memory limit: summary names it" grep -q "target memory .* exceeds max_memory_usage_mb" "$T_TMP/m.out"
check_eq "memory limit: one JUnit failure, on the key" 1 \
    "$(xmllint --xpath 'count(//testcase[contains(@name,"max_memory_usage_mb")]/failure)' "$(junit m)")"

# --- the saturation flag, by the loop-lag test hook --------------------------
cfg "$T_TMP/s.yaml" 5
KATO_STRESS_TEST_LOOP_LAG_MS=80 run s "$T_TMP/s.yaml"
check_eq "saturated: still exit 0 (never a failure on its own)" 0 "$RC"
check_eq "saturated: JSON says so" true "$(jv s '.saturated')"
check "saturated: for loop lag" \
    test "$(jv s '[.saturation[].why | test("loop_lag")] | all')" = true
check "saturated: both agents, 3 intervals or more each" \
    test "$(jv s '[.saturation[] | select(.n_intervals >= 3)] | length')" = 2
check "saturated: loop lag max above 50 ms" \
    test "$(jv s '[.resources.agents[].loop_lag_max_ms | select(. > 50)] | length')" = 2
check "saturated: the summary's WARNING line" grep -q "WARNING: agent local-1 was saturated" "$T_TMP/s.out"
check "saturated: the test hook is logged" grep -q "AGENT-TEST-LAG" "$T_TMP/s.err"
check_eq "saturated: JUnit system-out, no failure" "1 0" \
    "$(xmllint --xpath 'count(//system-out[contains(.,"saturated")])' "$(junit s)") $(xmllint --xpath 'count(//failure)' "$(junit s)")"
t_done
