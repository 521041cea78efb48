#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Throughput of stress-agent against wrk, same target, same connection
# count, in one invocation, so the ratio holds on a noisy shared machine.
#   bench/bench_wrk.sh [BUILD_DIR] [CONNECTIONS] [SECONDS] [ROUNDS]
# Target: nginx on loopback answering every path with a small JSON body
# (so neither tool is limited by the server's application code). The agent
# runs the concurrent test unpaced (rate 0, think 0): each user is one
# keep-alive connection in a closed loop, as wrk's connections are.
# Prints per round: wrk rps, agent rps, the ratio agent/wrk, and the CPU
# seconds the agent process tree used per 1000 requests.
set -u
OUT=${1:-build}
CONNS=${2:-50}
SECS=${3:-10}
ROUNDS=${4:-3}
THREADS=${THREADS:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
for tool in nginx wrk jq /usr/bin/time; do
    if ! command -v $tool >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            apt-get install -y -qq nginx-light wrk jq time >/dev/null 2>&1 || true
        fi
    fi
    command -v $tool >/dev/null 2>&1 || { echo "bench: needs $tool" >&2; exit 2; }
done
NGINX=$(command -v nginx)
tmp=$(mktemp -d /tmp/ks-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $tmp/body;
    server {
        listen 127.0.0.1:$port;
        location / {
            default_type application/json;
            return 200 '{"session_id":"session-bench","status":"okay"}';
        }
    }
}
CONF
"$NGINX" -c "$tmp/nginx.conf" -p "$tmp" &
npid=$!
trap 'kill $npid 2>/dev/null; wait $npid 2>/dev/null; rm -rf "$tmp"' EXIT
for i in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.1
done
url="http://127.0.0.1:$port"
cat >"$tmp/bench.yaml" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: $CONNS
    duration_seconds: $SECS
    requests_per_user_per_second: 0
    think_time_ms: 0
performance_thresholds:
  response_time_p99_max: 100000
  max_error_rate: 1.0
YAML
echo "bench: target nginx $url, $CONNS connections, $SECS s, $ROUNDS rounds," \
     "wrk -t$THREADS, agent --threads $THREADS; $(nproc) cores"
echo "round  wrk_rps  agent_rps  ratio  agent_cpu_s_per_1000"
for r in $(seq 1 "$ROUNDS"); do
    wrk_rps=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$url/sessions/session-bench/predictions" \
        | awk '/Requests\/sec/ {print $2}')
    /usr/bin/time -f "%U %S" -o "$tmp/time" \
        "$OUT/stress-master" --config "$tmp/bench.yaml" --test concurrent --url "$url" \
        --local-agents 1 --threads "$THREADS" --output "$tmp/out" >/dev/null 2>"$tmp/master.err"
    agent_rps=$(jq '.concurrent_requests.results.throughput_rps' "$tmp/out/latest.json")
    total=$(jq '.concurrent_requests.results.total_requests' "$tmp/out/latest.json")
    cpu=$(awk '{print $1 + $2}' "$tmp/time")
    awk -v w="$wrk_rps" -v a="$agent_rps" -v c="$cpu" -v n="$total" -v r="$r" \
        'BEGIN { printf "%5d  %7.0f  %9.0f  %5.2f  %.4f\n", r, w, a, a / w, c / (n / 1000) }'
done
