#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Throughput of stress-agent against wrk: same loopback target, same
# connection and thread counts, in one invocation, rounds alternating which
# tool goes first, so the ratio holds on a noisy shared machine.
#
#   bench/bench_wrk.sh [BUILD_DIR] [CONNECTIONS] [SECONDS] [ROUNDS]
#   environment: THREADS=N (wrk -t N, stress-agent --threads N; default 1)
#                WRK_POST=1 (wrk POSTs a ~300-byte JSON body instead of GET)
#
# Target: nginx on 127.0.0.1 answering every path with a small JSON body, so
# neither tool waits on application code; stub_status counts what the server
# really answered, which checks both tools' own counts. The agent runs the
# concurrent test unpaced (rate 0, think 0): each user is one keep-alive
# connection in a closed loop, as wrk's connections are.
#
# The agent is started by this script (remote mode on loopback: the master
# gets --agents 1 --listen tcp://127.0.0.1:PORT) rather than forked by the
# master, so its CPU time is read from /proc/PID/stat (user+sys, all threads)
# just before the master starts and just after it exits: the agent's own
# CPU for the run, without the master's. The master is timed on its own.
#
# Per round it prints: wrk and agent requests/s (wrk's own figure; the
# agent's throughput_rps = total_requests / the load duration), the ratio
# agent/wrk, wrk's latency p50/p99 and the agent's service time p50/p99
# (both from the actual send, so comparable), each tool's CPU time per 1000
# requests, nginx's CPU use while each tool ran, the master's CPU, and the
# server-side check (nginx's count minus the tool's count).
# Not a test: the exit code is 0 unless something could not run.
set -u
OUT=${1:-build}
CONNS=${2:-50}
SECS=${3:-10}
ROUNDS=${4:-3}
THREADS=${THREADS:-1}
WRK_POST=${WRK_POST:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

die() {
    echo "bench: $*" >&2
    exit 2
}
for v in "$CONNS" "$SECS" "$ROUNDS" "$THREADS"; do
    case $v in
    '' | *[!0-9]* | 0) die "counts must be positive integers (got '$v')" ;;
    esac
done
[ "$CONNS" -ge "$THREADS" ] || die "wrk needs CONNECTIONS >= THREADS"
for b in stress-master stress-agent; do
    [ -x "$OUT/$b" ] || die "$OUT/$b missing: run make first"
done

# --- tools ------------------------------------------------------------------

find_nginx() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }
}
have_all() {
    [ -n "$(find_nginx)" ] && command -v wrk >/dev/null && command -v jq >/dev/null &&
        [ -x /usr/bin/time ] && command -v curl >/dev/null && command -v python3 >/dev/null
}
if ! have_all; then
    pkgs=(nginx-light wrk jq time curl python3)
    if [ "$(id -u)" = 0 ]; then
        echo "bench: installing ${pkgs[*]}" >&2
        apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
                apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1; }
    fi
    have_all || die "needs nginx, wrk, jq, /usr/bin/time, curl, python3: apt-get install ${pkgs[*]}"
fi
NGINX=$(find_nginx)
HZ=$(getconf CLK_TCK)

# --- helpers ----------------------------------------------------------------

tmp=$(mktemp -d /tmp/ks-bench.XXXXXX)
NGINX_TPID=
AGENT_TPID=
cleanup() {
    [ -n "$AGENT_TPID" ] && kill "$AGENT_TPID" 2>/dev/null && wait "$AGENT_TPID" 2>/dev/null
    [ -n "$NGINX_TPID" ] && kill "$NGINX_TPID" 2>/dev/null && wait "$NGINX_TPID" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# child_of PID: the one child of a `timeout` wrapper (waits up to 5 s).
child_of() {
    local c
    for _ in $(seq 1 100); do
        c=$(pgrep -P "$1" | head -1)
        [ -n "$c" ] && { echo "$c"; return 0; }
        sleep 0.05
    done
    return 1
}
# cpu_ticks PID: user+sys clock ticks of every thread of PID so far. The
# fields after "(comm)" start at field 3 (state), so utime/stime are 12/13.
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}
# sys_ticks: "busy softirq" clock ticks of the whole machine so far (all
# CPUs), busy = user+nice+system+irq+softirq. Without
# CONFIG_IRQ_TIME_ACCOUNTING (the machine in bench/README.md), softirq time
# (the loopback's TCP work) is also charged to whichever process was
# running: it is part of the per-process figures, shown alone for context.
sys_ticks() {
    awk 'NR == 1 {print $2 + $3 + $4 + $7 + $8, $8}' /proc/stat
}
now_s() {
    date +%s.%N
}
# others BUSY0 BUSY1 SI0 SI1 T0 T1 MINE_S: the % of one core used during
# the window by processes other than ours (nginx, the tool, the master),
# and the softirq %.
others() {
    awk -v a="$1" -v b="$2" -v sa="$3" -v sb="$4" -v t0="$5" -v t1="$6" \
        -v mine="$7" -v hz="$HZ" 'BEGIN {
        w = t1 - t0; o = (b - a) / hz - mine; if (o < 0) o = 0
        printf "%.0f %.0f", 100 * o / w, 100 * (sb - sa) / hz / w }'
}
# served: nginx's count of requests answered (this status request included).
served() {
    curl -s --noproxy "*" --max-time 5 "$url/nginx_status" | awk 'NR == 3 {print $3}'
}
# to_ms VALUE: wrk's "243.00us" / "1.20ms" / "1.02s" in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

# --- the target ---------------------------------------------------------------

port=$(free_port)
url="http://127.0.0.1:$port"
mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
master_process off;
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
        location = /nginx_status { stub_status; }
        location / {
            default_type application/json;
            return 200 '{"session_id":"session-bench","status":"okay"}';
        }
    }
}
CONF
budget=$((ROUNDS * (2 * SECS + 90) + 60))
timeout "$budget" "$NGINX" -c "$tmp/nginx.conf" -p "$tmp" >"$tmp/logs/nginx.out" 2>&1 &
NGINX_TPID=$!
NGINX_PID=$(child_of "$NGINX_TPID") || die "nginx did not start: $(cat "$tmp/logs/nginx.out")"
for _ in $(seq 1 100); do
    [ -n "$(served)" ] && break
    sleep 0.05
done
[ -n "$(served)" ] || die "nginx does not answer on $url: $(cat "$tmp/logs"/*)"

cat >"$tmp/bench.yaml" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: $CONNS
    duration_seconds: $SECS
    requests_per_user_per_second: 0
    think_time_ms: 0
  # The target is sampled from /proc (nginx's pid), not GET /metrics, so
  # nginx answers exactly the tool's requests plus the preflight.
  memory:
    memory_source: pid
    pid: $NGINX_PID
performance_thresholds:
  response_time_p99_max: 100000
  max_error_rate: 1.0
YAML
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/token"
chmod 600 "$tmp/token"
wrk_args=(-t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency)
wrk_path=/sessions/session-bench/predictions
if [ "$WRK_POST" = 1 ]; then
    body=$(python3 -c 'print("{\"strings\":[" + ",".join("\"w%03d\"" % i for i in range(40)) + "]}")')
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'$body'" >"$tmp/post.lua"
    wrk_args+=(-s "$tmp/post.lua")
    wrk_path=/sessions/session-bench/observe
fi

# --- one run of each tool -----------------------------------------------------

# Sets W_RPS W_N W_P50 W_P99 W_CPU (s) W_NGX (nginx CPU s) W_SRV W_ERR
# W_OTH (others' %, softirq %).
run_wrk() {
    local s0 s1 n0 n1 y0 y1 t0 t1
    n0=$(cpu_ticks "$NGINX_PID")
    s0=$(served)
    y0=$(sys_ticks)
    t0=$(now_s)
    /usr/bin/time -f "%U %S" -o "$tmp/wrk.time" \
        timeout $((SECS + 30)) wrk "${wrk_args[@]}" "$url$wrk_path" >"$tmp/wrk.out" 2>&1
    t1=$(now_s)
    y1=$(sys_ticks)
    s1=$(served)
    n1=$(cpu_ticks "$NGINX_PID")
    W_RPS=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.out")
    W_N=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
    W_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$tmp/wrk.out")")
    W_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$tmp/wrk.out")")
    W_CPU=$(awk 'NR == 1 {print $1 + $2}' "$tmp/wrk.time")
    W_NGX=$(awk -v a="$n0" -v b="$n1" -v hz="$HZ" 'BEGIN {print (b - a) / hz}')
    # Expected 0..CONNS: requests in flight when wrk stopped, not counted.
    W_SRV=$((s1 - s0 - 1 - ${W_N:-0}))
    W_ERR=$(grep -E 'Socket errors|Non-2xx' "$tmp/wrk.out" | tr -s ' \n' ' ')
    W_OTH=$(others "${y0% *}" "${y1% *}" "${y0#* }" "${y1#* }" "$t0" "$t1" \
        "$(awk -v a="$W_CPU" -v b="$W_NGX" 'BEGIN {print a + b}')")
    if [ -z "$W_RPS" ] || [ -z "$W_N" ]; then
        echo "bench: wrk failed:" >&2
        cat "$tmp/wrk.out" >&2
        exit 3
    fi
}

# Sets A_RPS A_N A_P50 A_P99 A_CPU (s) A_MCPU (master s) A_NGX A_SRV A_ERR
# A_OTH (others' %, softirq %).
run_agent() {
    local cport apid a0 a1 s0 s1 n0 n1 y0 y1 t0 t1 rc j
    cport=$(free_port)
    timeout $((SECS + 90)) "$OUT/stress-agent" --master "tcp://127.0.0.1:$cport" \
        --token-file "$tmp/token" --threads "$THREADS" --name bench-agent \
        >"$tmp/agent.log" 2>&1 &
    AGENT_TPID=$!
    apid=$(child_of "$AGENT_TPID") || die "stress-agent did not start: $(cat "$tmp/agent.log")"
    rm -rf "$tmp/out"
    a0=$(cpu_ticks "$apid")
    n0=$(cpu_ticks "$NGINX_PID")
    s0=$(served)
    y0=$(sys_ticks)
    t0=$(now_s)
    /usr/bin/time -f "%U %S" -o "$tmp/master.time" \
        timeout $((SECS + 60)) "$OUT/stress-master" --config "$tmp/bench.yaml" \
        --test concurrent --url "$url" --agents 1 --agent-timeout 10 \
        --listen "tcp://127.0.0.1:$cport" --token-file "$tmp/token" \
        --output "$tmp/out" >"$tmp/master.out" 2>"$tmp/master.err"
    rc=$?
    t1=$(now_s)
    y1=$(sys_ticks)
    s1=$(served)
    n1=$(cpu_ticks "$NGINX_PID")
    a1=$(cpu_ticks "$apid")
    kill "$AGENT_TPID" 2>/dev/null
    wait "$AGENT_TPID" 2>/dev/null
    AGENT_TPID=
    j="$tmp/out/latest.json"
    if [ "$rc" != 0 ] || [ ! -s "$j" ] || [ -z "$a1" ]; then
        echo "bench: stress-master exited $rc:" >&2
        tail -20 "$tmp/master.err" "$tmp/agent.log" >&2
        exit 3
    fi
    R=.concurrent_requests.results
    A_RPS=$(jq "$R.throughput_rps" "$j")
    A_N=$(jq "$R.total_requests" "$j")
    A_P50=$(jq "$R.service_time_p50" "$j")
    A_P99=$(jq "$R.service_time_p99" "$j")
    A_CPU=$(awk -v a="$a0" -v b="$a1" -v hz="$HZ" 'BEGIN {print (b - a) / hz}')
    A_MCPU=$(awk 'NR == 1 {print $1 + $2}' "$tmp/master.time")
    A_NGX=$(awk -v a="$n0" -v b="$n1" -v hz="$HZ" 'BEGIN {print (b - a) / hz}')
    A_OTH=$(others "${y0% *}" "${y1% *}" "${y0#* }" "${y1#* }" "$t0" "$t1" \
        "$(awk -v a="$A_CPU" -v b="$A_NGX" -v c="$A_MCPU" 'BEGIN {print a + b + c}')")
    # Expected 1: nginx also answers the agent's preflight GET /health.
    # A_ERR also names any second with under half the mean rate.
    A_SRV=$((s1 - s0 - 1 - A_N))
    A_ERR=$(jq -r "$R | if .total_failures > 0 then \"failures=\(.total_failures) \(.errors)\" else \"\" end,
        if .duration_seconds != $SECS then \"duration=\(.duration_seconds)\" else \"\" end,
        if .data_complete != true then \"data_complete=false\" else \"\" end,
        (.agents[] | select(.totals_match != true) | \"totals_match=false\"),
        (.intervals | map(select(.t < $SECS)) | (map(.requests) | add / length) as \$m
         | .[] | select(.requests < 0.5 * \$m) | \"second \(.t): \(.requests) requests\")" \
        "$j" | tr -s '\n' ' ')
}

# --- rounds -----------------------------------------------------------------

echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -sr), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $("$NGINX" -v 2>&1 | sed 's/.*: //')," \
    "stress-master $("$OUT/stress-master" --version 2>&1 | head -1 | awk '{print $NF}')"
echo "bench: target $url (nginx, 1 worker), $CONNS connections, $SECS s, $ROUNDS rounds," \
    "wrk -t$THREADS $([ "$WRK_POST" = 1 ] && echo "POST ~300 B" || echo GET)," \
    "stress-agent --threads $THREADS"
echo "  rps: requests/s; p50/p99: wrk latency, agent service time (ms); cpu/1k:"
echo "  the tool's own user+sys ms per 1000 requests; ngx%: nginx's CPU (% of a"
echo "  core) while that tool ran; oth%: other processes' CPU, si%: softirq (already"
echo "  in the tools' and nginx's figures) in the same window; mstr: the master's"
echo "  CPU s; srv+: nginx count - tool count (wrk: 0..connections in flight at its"
echo "  stop; agent: 1, its preflight GET /health)"
header() {
    printf '%-5s %-5s %7s %7s %5s  %6s %6s %6s %6s  %5s %5s %4s %4s %4s %4s %3s %3s %5s %4s %4s\n' "$@"
}
header round first wrk agent ratio w_p50 w_p99 a_p50 a_p99 w_cpu a_cpu \
    ngx% ngx% oth% oth% si% si% mstr srv+ srv+
header "" "" rps rps "" wrk wrk agent agent /1k /1k wrk agt wrk agt wrk agt s wrk agt
rows="$tmp/rows"
: >"$rows"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        first=wrk
        run_wrk
        run_agent
    else
        first=agent
        run_agent
        run_wrk
    fi
    # Fields: 1 round, 2 first, 3-4 rps, 5-8 p50/p99, 9-12 cpu s and counts,
    # 13-14 nginx s, 15 master s, 16-17 srv+, 18-19 wrk oth/si, 20-21 agent.
    echo "$r $first $W_RPS $A_RPS $W_P50 $W_P99 $A_P50 $A_P99 $W_CPU $W_N $A_CPU $A_N" \
        "$W_NGX $A_NGX $A_MCPU $W_SRV $A_SRV $W_OTH $A_OTH" >>"$rows"
    tail -1 "$rows" | awk -v secs="$SECS" '{
        printf "%-5d %-5s %7.0f %7.0f %5.3f  %6.3f %6.3f %6.3f %6.3f  %5.2f %5.2f %4.0f %4.0f %4d %4d %3d %3d %5.2f %4d %4d\n",
            $1, $2, $3, $4, $4 / $3, $5, $6, $7, $8, 1e6 * $9 / $10, 1e6 * $11 / $12,
            100 * $13 / secs, 100 * $14 / secs, $18, $20, $19, $21, $15, $16, $17 }'
    [ -n "$W_ERR" ] && echo "      wrk: $W_ERR"
    [ -n "${A_ERR// /}" ] && echo "      agent: $A_ERR"
done
awk -v secs="$SECS" '{
        w += $3; a += $4; ra += $4 / $3; wc += 1e6 * $9 / $10; ac += 1e6 * $11 / $12
        wn += $13; an += $14; m += $15; n++ }
    END { printf "%-11s %7.0f %7.0f %5.3f  %27s  %5.2f %5.2f %4.0f %4.0f %23.2f\n",
        "mean", w / n, a / n, ra / n, "", wc / n, ac / n, 100 * wn / n / secs,
        100 * an / n / secs, m / n }' "$rows"
