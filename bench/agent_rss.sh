#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Samples stress-agent's VmRSS once a second over a run against katosim
# (docs/internals/metrics.md, "Agent memory"): katosim on a free loopback
# port, a master with one local agent, the concurrent test.
#   bench/agent_rss.sh [BUILD_DIR] [SECONDS] [USERS] [RPS] [THREADS]
# Prints "t_s rss_kb" lines, then first/peak/last and the growth after
# the first 10 s up to the planned end. Needs jq and pgrep.
set -u
B=${1:-build}
SECS=${2:-60}
USERS=${3:-10}
RPS=${4:-5}
THREADS=${5:-1}
TMP=$(mktemp -d)
trap 'kill $KPID 2>/dev/null; rm -rf "$TMP"' EXIT
"$B/katosim" --port 0 --ready-file "$TMP/port" --quiet >"$TMP/k.log" 2>&1 &
KPID=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
cat >"$TMP/c.yaml" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: $USERS
    duration_seconds: $SECS
    requests_per_user_per_second: $RPS
    think_time_ms: 0
performance_thresholds:
  response_time_p99_max: 5000
  max_error_rate: 0.0
YAML
timeout $((SECS + 60)) "$B/stress-master" --config "$TMP/c.yaml" \
    --test concurrent --url "http://127.0.0.1:$(cat "$TMP/port")" \
    --local-agents 1 --threads "$THREADS" --output "$TMP/out" \
    >"$TMP/m.out" 2>"$TMP/m.err" &
MPID=$!
APID=
for _ in $(seq 1 100); do
    # timeout's child is the master, whose child is the agent.
    PPID_M=$(pgrep -P "$MPID" stress-master | head -n 1)
    [ -n "$PPID_M" ] && APID=$(pgrep -P "$PPID_M" stress-agent | head -n 1)
    [ -n "$APID" ] && break
    sleep 0.05
done
t=0
while [ -n "$APID" ] && [ -r "/proc/$APID/status" ] && [ $t -le $((SECS + 30)) ]; do
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$APID/status" 2>/dev/null)
    [ -n "$kb" ] && echo "$t $kb"
    sleep 1
    t=$((t + 1))
done >"$TMP/rss"
wait "$MPID"
echo "# master rc=$? requests=$(jq -r '.concurrent_requests.results.total_requests' "$TMP/out/latest.json" 2>/dev/null)"
cat "$TMP/rss"
# The summary stops at the planned end: the agent frees its engine then.
awk -v end="$SECS" '$1 >= end { exit } NR == 1 { f = $2 }
     { if ($2 > p) p = $2; l = $2; if ($1 == 10) t10 = $2; n = $1 }
     END { printf "# first %d kB, at 10 s %d kB, peak %d kB, last %d kB (t=%d s); after 10 s: %+.2f kB/s\n",
           f, t10, p, l, n, (n > 10 ? (l - t10) / (n - 10) : 0) }' "$TMP/rss"
