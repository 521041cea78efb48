#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent's own memory over a run (docs/internals/metrics.md, "Agent
# memory"): one local agent of two workers against katosim for 8 s. Each
# worker keeps 4 metrics buffers of 7 operations x 2 dense histograms
# (10 MB); they must stay mostly unbacked: only the pages of buckets that
# held a count are ever written. The agent's RSS, as the resources CSV
# reports it each interval, must grow by less than 5 MiB from its first
# sample to its highest and stay below 24 MiB (writing every page, as the
# code did before, gave +11 MiB from the first sample and 30 MiB at the
# peak here; now +0.8 and 14 MiB).
. "$(dirname "$0")/lib.sh"

katosim_start
cfg=$T_TMP/mem.yaml
cat >"$cfg" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 8
    duration_seconds: 8
    requests_per_user_per_second: 10
    think_time_ms: 0
monitoring:
  metrics_sample_interval_seconds: 1
performance_thresholds:
  response_time_p99_max: 5000
  max_error_rate: 0.0
YAML
out=$T_TMP/out
timeout 60 "$KS_OUT/stress-master" --config "$cfg" --test concurrent \
    --url "$KATO_URL" --local-agents 1 --threads 2 --output "$out" \
    >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
check_eq "master exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 20 "$T_TMP/stderr"
res=$(ls "$out"/metrics_*_resources.csv 2>/dev/null | head -n 1)
check "resources CSV written" test -s "$res"
# Column 6 is rss_mb (MiB), column 4 the agent; rows in interval order.
rss=$(awk -F, 'NR > 1 && $4 == "local-1" && $6 != "" { print $6 }' "$res")
n=$(printf '%s\n' "$rss" | grep -c .)
first=$(printf '%s\n' "$rss" | head -n 1)
peak=$(printf '%s\n' "$rss" | sort -g | tail -n 1)
echo "# agent RSS: $n samples, first $first MiB, peak $peak MiB"
check "an RSS sample per interval ($n of 8, 6 at least)" test "$n" -ge 6
check "RSS grew by less than 5 MiB over the run ($first -> $peak)" \
    awk -v a="$first" -v b="$peak" 'BEGIN { exit !(a > 0 && b - a < 5) }'
check "peak RSS below 24 MiB ($peak)" \
    awk -v b="$peak" 'BEGIN { exit !(b > 0 && b < 24) }'
check_eq "requests were made: data complete" true \
    "$(jq -r '.concurrent_requests.results.data_complete' "$out/latest.json")"
t_done
