# SPDX-License-Identifier: MIT
# Helpers for the integration tests: start katosim on an ephemeral loopback
# port, read its counters, report checks as "ok - " / "not ok - " lines, and
# clean up every process a test started, whatever happens.
# Source it from a *_test.sh script; KS_OUT is the build folder.

KS_OUT=${KS_OUT:-build}
KS_SOURCE_DIR=${KS_SOURCE_DIR:-$(pwd)}
T_FAILED=0
T_PIDS=()
T_TMP=$(mktemp -d /tmp/ks-it.XXXXXX)

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; T_FAILED=1; }
# check DESCRIPTION COMMAND...: runs the command, ok when it succeeds.
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else notok "$d"; fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1 ($3)"; else notok "$1: expected '$2', got '$3'"; fi
}

t_cleanup() {
    local p
    for p in "${T_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 0.2
    for p in "${T_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# katosim_start [katosim flags...]: sets KATO_PORT, KATO_URL, KATO_PID.
katosim_start() {
    local rf=$T_TMP/katosim.$RANDOM.port i
    "$KS_OUT/katosim" --port 0 --ready-file "$rf" --quiet "$@" \
        >"$T_TMP/katosim.log" 2>&1 &
    KATO_PID=$!
    T_PIDS+=("$KATO_PID")
    for i in $(seq 1 100); do
        [ -s "$rf" ] && break
        sleep 0.05
    done
    if [ ! -s "$rf" ]; then
        notok "katosim did not start: $(cat "$T_TMP/katosim.log")"
        exit 1
    fi
    KATO_PORT=$(tr -d '\n' <"$rf")
    KATO_URL="http://127.0.0.1:$KATO_PORT"
}

# katosim_metric JQ-PATH: prints one value from katosim's /metrics.
katosim_metric() {
    curl -s --max-time 5 "$KATO_URL/metrics" | jq -r "$1"
}

# free_port: a loopback TCP port that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# master_remote CFG [SUFFIX]: a master waiting (--agents 1) for one agent
# the test starts itself, on tcp://127.0.0.1:<free port>, with the token
# file $T_TMP/token (written on first use). Sets the globals tok, port, out
# ($T_TMP/out$SUFFIX) and mpid; its output goes to $T_TMP/stdout$SUFFIX
# and $T_TMP/stderr$SUFFIX.
master_remote() {
    local cfg=$1 sfx=${2:-}
    tok=$T_TMP/token
    [ -s "$tok" ] || (umask 077 && echo "it-token-$RANDOM$RANDOM" >"$tok")
    port=$(free_port)
    out=$T_TMP/out$sfx
    "$KS_OUT/stress-master" --config "$cfg" --url "$KATO_URL" --agents 1 \
        --listen "tcp://127.0.0.1:$port" --token-file "$tok" --agent-timeout 60 \
        --output "$out" >"$T_TMP/stdout$sfx" 2>"$T_TMP/stderr$sfx" &
    mpid=$!
    T_PIDS+=("$mpid")
}

# check_master_waits: the master of master_remote logged AGENTS-WAIT
# (polled for at most 5 s).
check_master_waits() {
    local i
    for i in $(seq 1 100); do
        grep -q AGENTS-WAIT "$T_TMP/stderr" && break
        sleep 0.05
    done
    check "master waits for an agent" grep -q AGENTS-WAIT "$T_TMP/stderr"
}

# rogue MODE [ARGS...]: tests/support/rogue_peer.py against the master of
# master_remote; checks that its verdict is "refused".
rogue() {
    local line
    line=$(timeout 30 python3 "$KS_SOURCE_DIR/tests/support/rogue_peer.py" "$port" "$@" 2>&1 |
        grep '^RESULT' | tail -n 1)
    check "rogue $1 refused (${line#RESULT })" test "${line#RESULT ok}" != "$line"
}

# count of live processes whose command line matches PATTERN and that were
# started from this build folder (leftover check).
leftovers() {
    pgrep -f "$KS_OUT/$1" | grep -v "^$$\$" | wc -l
}

t_done() {
    exit $T_FAILED
}
