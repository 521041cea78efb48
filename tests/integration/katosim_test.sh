#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Drives a real katosim (path as $1, default $KS_OUT/katosim, else build/katosim) on 127.0.0.1
# through every endpoint, error case and fault flag with curl, and checks
# its /metrics counters exactly with jq. Prints "ok - ..." / "not ok - ..."
# per check and "N passed, N failed"; exits 0 when all pass, else 1.
# VALGRIND=1 runs each katosim under valgrind (slower).
set -u

BIN=${1:-${KS_OUT:-build}/katosim}
T=$(mktemp -d /tmp/katosim_test.XXXXXX)
PASS=0
FAIL=0
PID=
U=
declare -A EXP_REQ EXP_RESP

cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
nok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
# check DESC EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then ok "$1"; else nok "$1 (want '$2', got '$3')"; fi
}
# check_cmd DESC CMD...: passes when CMD succeeds
check_cmd() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d"; fi
}

for tool in curl jq; do
    command -v $tool >/dev/null || { echo "not ok - $tool is not installed"; exit 1; }
done
[ -x "$BIN" ] || { echo "not ok - $BIN is not an executable"; exit 1; }

# start NAME FLAGS...: starts katosim on port 0 and waits for its ready file.
start() {
    local name=$1
    shift
    rm -f "$T/$name.ready"
    if [ "${VALGRIND:-0}" = 1 ]; then
        valgrind -q --error-exitcode=99 --leak-check=full \
            --log-file="$T/$name.vg" "$BIN" --port 0 --quiet \
            --ready-file "$T/$name.ready" "$@" 2>"$T/$name.err" &
    else
        "$BIN" --port 0 --quiet --ready-file "$T/$name.ready" "$@" \
            2>"$T/$name.err" &
    fi
    PID=$!
    for _ in $(seq 1 200); do
        [ -s "$T/$name.ready" ] && break
        sleep 0.05
    done
    if [ ! -s "$T/$name.ready" ]; then
        nok "$name: katosim wrote its ready file"
        return 1
    fi
    U="http://127.0.0.1:$(cat "$T/$name.ready")"
    EXP_REQ=()
    EXP_RESP=()
    return 0
}

# stop NAME: SIGTERM, then the exit code must be 0 and the ready file gone.
stop() {
    local name=$1 rc
    kill -TERM "$PID"
    wait "$PID"
    rc=$?
    PID=
    check "$name: exits 0 on SIGTERM" 0 "$rc"
    check "$name: removes its ready file" no "$([ -e "$T/$name.ready" ] && echo yes || echo no)"
    if [ "${VALGRIND:-0}" = 1 ]; then
        check "$name: valgrind reports nothing" "" "$(head -c 300 "$T/$name.vg")"
    fi
}

# call EP METHOD PATH [BODY]: one request; sets CODE and BODY and records
# what /metrics must show for it.
call() {
    local ep=$1 m=$2 p=$3
    shift 3
    if [ $# -gt 0 ]; then
        CODE=$(curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$m" \
            -H 'Content-Type: application/json' --data-binary "$1" "$U$p")
    else
        CODE=$(curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$m" "$U$p")
    fi
    BODY=$(cat "$T/body")
    EXP_REQ[$ep]=$((${EXP_REQ[$ep]:-0} + 1))
    EXP_RESP[$CODE]=$((${EXP_RESP[$CODE]:-0} + 1))
}

jqb() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }

# metrics_exact NAME: compares every counter with what call() recorded.
metrics_exact() {
    local name=$1 m ep want got load=0 codes
    m=$(curl -s -m 10 "$U/metrics")
    for ep in create_session observe learn predictions short_term_memory \
        clear_memory clear_all session_get session_delete health metrics other; do
        want=${EXP_REQ[$ep]:-0}
        got=$(printf '%s' "$m" | jq -r ".requests.$ep")
        check "$name: requests.$ep" "$want" "$got"
    done
    for ep in create_session observe learn predictions short_term_memory clear_memory; do
        load=$((load + ${EXP_REQ[$ep]:-0}))
    done
    check "$name: load_requests is the sum of the six load ops" "$load" \
        "$(printf '%s' "$m" | jq -r .load_requests)"
    codes=$(for c in "${!EXP_RESP[@]}"; do echo "$c:${EXP_RESP[$c]}"; done | sort | paste -sd, -)
    check "$name: responses by status" "$codes" \
        "$(printf '%s' "$m" | jq -r '.responses | to_entries | map("\(.key):\(.value)") | sort | join(",")')"
    check "$name: in_flight is 0 at rest" 0 "$(printf '%s' "$m" | jq -r .in_flight)"
    metrics_read
}

# metrics_read: records one GET /metrics (counted after its own reply).
metrics_read() {
    EXP_REQ[metrics]=$((${EXP_REQ[metrics]:-0} + 1))
    EXP_RESP[200]=$((${EXP_RESP[200]:-0} + 1))
}

# --- command line ------------------------------------------------------------

"$BIN" --port 0 --error-rate 2 >/dev/null 2>"$T/e"
check "bad --error-rate exits 2" 2 $?
check_cmd "bad --error-rate message names the flag" grep -q -- '--error-rate' "$T/e"
"$BIN" --port abc >/dev/null 2>"$T/e"
check "bad --port exits 2" 2 $?
check_cmd "bad --port message names the flag" grep -q -- '--port' "$T/e"
"$BIN" --latency-ms >/dev/null 2>"$T/e"
check "missing value exits 2" 2 $?
check_cmd "missing value message names the flag" grep -q -- '--latency-ms' "$T/e"
"$BIN" --port 0 --bogus >/dev/null 2>"$T/e"
check "unknown flag exits 2" 2 $?
check_cmd "unknown flag message names it" grep -q -- '--bogus' "$T/e"
"$BIN" >/dev/null 2>"$T/e"
check "no --port exits 2" 2 $?
"$BIN" --port 0 --stall-at-ms 5 >/dev/null 2>"$T/e"
check "--stall-at-ms without --stall-ms exits 2" 2 $?
"$BIN" --help >"$T/h" 2>&1
check "--help exits 0" 0 $?
check_cmd "--help lists --max-concurrency" grep -q -- '--max-concurrency' "$T/h"

# --- the API ------------------------------------------------------------------

if start api; then
    PORT=$(cat "$T/api.ready")
    "$BIN" --port "$PORT" --quiet 2>"$T/e"
    check "a port in use exits 1" 1 $?
    check_cmd "a port in use says so" grep -qi 'in use' "$T/e"

    call health GET /health
    check "health: 200" 200 "$CODE"
    check "health: status healthy" healthy "$(jqb .status)"
    check "health: active_sessions 0" 0 "$(jqb .active_sessions)"

    call create_session POST /sessions '{"node_id":"node-a","metadata":{"x":1}}'
    check "create: 200" 200 "$CODE"
    SID=$(jqb .session_id)
    check_cmd "create: id is session-<32 hex>-<epoch ms>" \
        grep -Eq '^session-[0-9a-f]{32}-[0-9]{13}$' <<<"$SID"
    check "create: node_id echoed" node-a "$(jqb .node_id)"
    call create_session POST /sessions
    check "create without body: 422" 422 "$CODE"
    check "create without body: VALIDATION_ERROR" VALIDATION_ERROR "$(jqb .error.code)"
    call create_session POST /sessions '{"node_id":5}'
    check "create with numeric node_id: 422" 422 "$CODE"
    call create_session POST /sessions '{"nodeid":"x"}'
    check "create without node_id: 422" 422 "$CODE"
    call create_session POST /sessions '["node_id"]'
    check "create with an array body: 422" 422 "$CODE"
    call create_session POST /sessions '{"node_id":"x",}'
    check "create with invalid JSON: 422" 422 "$CODE"
    call create_session POST /sessions '{"node_id":"node-b"}'
    SID_B=$(jqb .session_id)
    call create_session POST /sessions '{"node_id":"node-a"}'
    SID_A2=$(jqb .session_id)

    call health GET /health
    check "health: active_sessions 3" 3 "$(jqb .active_sessions)"

    S=/sessions/$SID
    call observe POST "$S/observe" '{"strings":["b","a"],"vectors":[[0.1,0.2,0.3]],"emotives":{"joy":0.5},"unknown":true}'
    check "observe: 200" 200 "$CODE"
    check "observe: status okay" okay "$(jqb .status)"
    check "observe: stm_length 1" 1 "$(jqb .stm_length)"
    check "observe: processor_id is the node" node-a "$(jqb .processor_id)"
    check "observe: session_id" "$SID" "$(jqb .session_id)"
    check "observe: auto_learned_pattern null" null "$(jqb .auto_learned_pattern)"
    check_cmd "observe: unique_id obs-..." grep -Eq '^obs-[0-9a-f]+$' <<<"$(jqb .unique_id)"
    call observe POST "$S/observe" '{"strings":["c"]}'
    check "observe: stm_length 2" 2 "$(jqb .stm_length)"
    check "observe: time 2" 2 "$(jqb .time)"
    call observe POST "$S/observe" '{}'
    check "empty observe: 200" 200 "$CODE"
    check "empty observe: STM unchanged" 2 "$(jqb .stm_length)"
    call observe POST "$S/observe" '{"vectors":[[1,2]]}'
    check "vector of another length: 400" 400 "$CODE"
    check "vector of another length: VectorDimensionError" VectorDimensionError "$(jqb .error.code)"
    call observe POST "/sessions/$SID_A2/observe" '{"vectors":[[1,2,3,4]]}'
    check "dimension lock is per node (other session, same node): 400" 400 "$CODE"
    call observe POST "/sessions/$SID_B/observe" '{"vectors":[[1,2,3,4]]}'
    check "another node locks its own dimension: 200" 200 "$CODE"
    call observe POST "$S/observe" '{"vectors":[0.1,0.2]}'
    check "flat vectors list: 422" 422 "$CODE"
    call observe POST "$S/observe" '{"vectors":[[0.1,"x"]]}'
    check "non-numeric vector item: 422" 422 "$CODE"
    call observe POST "$S/observe" '{"strings":"abc"}'
    check "strings not a list: 422" 422 "$CODE"
    call observe POST "$S/observe" '{"strings":[1]}'
    check "strings with a number: 422" 422 "$CODE"
    call observe POST "$S/observe" '{"emotives":{"joy":"high"}}'
    check "emotive not a number: 422" 422 "$CODE"
    call observe POST "$S/observe" '{"strings":["a"]} x'
    check "trailing garbage: 422" 422 "$CODE"
    call observe POST "$S/observe" "$(printf '%0.s[' $(seq 1 100))"
    check "100-deep nesting: 422" 422 "$CODE"
    call observe POST "$S/observe" $'{"strings":["\xff"]}'
    check "invalid UTF-8: 422" 422 "$CODE"
    call observe POST "$S/observe" '{"strings":["\ud83d\ude00"]}'
    check "surrogate pair escape: 200" 200 "$CODE"
    check "observe: stm_length 3" 3 "$(jqb .stm_length)"

    call short_term_memory GET "$S/stm"
    check "stm: 200" 200 "$CODE"
    check "stm: length 3" 3 "$(jqb .length)"
    check "stm: first event sorted, with its vector" 'a,b,VCTR' \
        "$(jqb '.stm[0] | map(split("|")[0]) | join(",")')"
    check "stm: escaped string decoded" "😀" "$(jqb '.stm[2][0]')"

    call predictions GET "$S/predictions"
    check "predictions before learning: 200, count 0" "200 0" "$CODE $(jqb .count)"
    call learn POST "$S/learn"
    check "learn: 200" 200 "$CODE"
    check "learn: status learned" learned "$(jqb .status)"
    check_cmd "learn: pattern PTRN|..." grep -Eq '^PTRN\|[0-9a-f]{40}$' <<<"$(jqb .pattern_name)"
    call learn POST "$S/learn"
    check "learn on an empty STM: 400" 400 "$CODE"
    check "learn on an empty STM: BAD_REQUEST" BAD_REQUEST "$(jqb .error.code)"
    call observe POST "$S/observe" '{"strings":["z"]}'
    call predictions GET "$S/predictions"
    check "predictions after learning: count 1" 1 "$(jqb .count)"
    check "predictions: future_potentials null" null "$(jqb .future_potentials)"
    call clear_memory POST "$S/clear-stm"
    check "clear-stm: 200 cleared" "200 cleared" "$CODE $(jqb .status)"
    call short_term_memory GET "$S/stm"
    check "stm after clear-stm: length 0" 0 "$(jqb .length)"
    call clear_all POST "$S/clear-all"
    check "clear-all: scope all" all "$(jqb .scope)"
    call observe POST "$S/observe" '{"vectors":[[1,2]]}'
    check "clear-all unlocks the node's dimension" 200 "$CODE"

    call session_get GET "$S"
    check "session get: 200" 200 "$CODE"
    check "session get: node" node-a "$(jqb .node_id)"
    call session_delete DELETE "$S"
    check "session delete: 200 deleted" "200 deleted" "$CODE $(jqb .status)"
    call session_get GET "$S"
    check "deleted session: 404" 404 "$CODE"
    check "deleted session: SESSION_NOT_FOUND" SESSION_NOT_FOUND "$(jqb .error.code)"
    check "deleted session: error names it" "$SID" "$(jqb .error.session_id)"
    call observe POST "$S/observe" '{"strings":["a"]}'
    check "observe on a deleted session: 404 first" 404 "$CODE"
    call learn POST "/sessions/nope/learn"
    check "learn on an unknown session: 404" 404 "$CODE"
    call session_delete DELETE "$S"
    check "second delete: 404" 404 "$CODE"

    call other GET /nowhere
    check "unknown path: 404 NOT_FOUND" "404 NOT_FOUND" "$CODE $(jqb .error.code)"
    call other GET "/sessions/$SID_B/observe"
    check "wrong method: 405" 405 "$CODE"
    call other DELETE /health
    check "wrong method on /health: 405" 405 "$CODE"
    head -c 1500000 /dev/zero | tr '\0' ' ' >"$T/big"
    call observe POST "/sessions/$SID_B/observe" "@$T/big"
    check "body over 1 MiB: 413" 413 "$CODE"

    metrics_exact api
    M1=$(curl -s "$U/metrics" | jq -r .requests.metrics)
    metrics_read
    M2=$(curl -s "$U/metrics" | jq -r .requests.metrics)
    metrics_read
    check "metrics: a reading excludes itself" "1 2" "$M1 $M2"
    check "metrics: sessions_active 2" 2 "$(curl -s "$U/metrics" | jq -r .sessions_active)"
    stop api
fi

# --- bounds --------------------------------------------------------------------

if start bounds --max-sessions 2; then
    call create_session POST /sessions '{"node_id":"n"}'
    SID=$(jqb .session_id)
    call create_session POST /sessions '{"node_id":"n"}'
    call create_session POST /sessions '{"node_id":"n"}'
    check "--max-sessions 2: the third session gets 503" 503 "$CODE"
    call session_delete DELETE "/sessions/$SID"
    call create_session POST /sessions '{"node_id":"n"}'
    check "--max-sessions 2: a deleted session frees its place" 200 "$CODE"
    SID=$(jqb .session_id)
    # 10005 observations over one keep-alive connection.
    for i in $(seq 1 10005); do echo "url = \"$U/sessions/$SID/observe\""; done >"$T/urls"
    curl -s -m 60 -K "$T/urls" -H 'Content-Type: application/json' \
        -d '{"strings":["s"]}' >/dev/null
    EXP_REQ[observe]=10005
    EXP_RESP[200]=$((EXP_RESP[200] + 10005))
    call short_term_memory GET "/sessions/$SID/stm"
    check "STM is bounded at 10000 events" 10000 "$(jqb .length)"
    check "STM array has one entry per event" 10000 "$(jqb '.stm | length')"
    check "older events are placeholders, the newest keep content" '... s' \
        "$(jqb '"\(.stm[0][0]) \(.stm[9999][0])"')"
    metrics_exact bounds
    stop bounds
fi

# --- faults ---------------------------------------------------------------------

if start latency --latency-ms 500; then
    t=$(curl -s -o /dev/null -w '%{time_total}' -X POST "$U/sessions" -d '{"node_id":"n"}')
    check_cmd "--latency-ms 500: session request takes >= 0.5 s ($t)" \
        awk -v t="$t" 'BEGIN { exit !(t >= 0.5 && t < 3) }'
    t=$(curl -s -o /dev/null -w '%{time_total}' "$U/health")
    check_cmd "--latency-ms 500: /health is not delayed ($t)" \
        awk -v t="$t" 'BEGIN { exit !(t < 0.3) }'
    stop latency
fi

# err_run SEED: 100 session-API requests; prints the 500 pattern.
err_run() {
    local seq="" c
    for _ in $(seq 1 100); do
        c=$(curl -s -o /dev/null -w '%{http_code}' "$U/sessions/none")
        [ "$c" = 500 ] && seq="${seq}1" || seq="${seq}0"
    done
    echo "$seq"
}
if start errors --error-rate 0.3 --seed 42; then
    P1=$(err_run)
    N1=$(tr -cd 1 <<<"$P1" | wc -c)
    M=$(curl -s "$U/metrics")
    check "--error-rate: errors_injected equals the 500s seen" "$N1" "$(jq -r .errors_injected <<<"$M")"
    check "--error-rate: responses.500 equals the 500s seen" "$N1" "$(jq -r '.responses["500"]' <<<"$M")"
    check "--error-rate: the rest are real 404s" "$((100 - N1))" "$(jq -r '.responses["404"]' <<<"$M")"
    check_cmd "--error-rate 0.3: 15..45 of 100 injected ($N1)" test "$N1" -ge 15 -a "$N1" -le 45
    t=$(curl -s -o "$T/body" -w '%{http_code}' "$U/health")
    check "--error-rate spares /health" 200 "$t"
    stop errors
fi
if start errors2 --error-rate 0.3 --seed 42; then
    check "--seed: the same seed gives the same error sequence" "$P1" "$(err_run)"
    stop errors2
fi

if start leak --leak-kb 1024; then
    R0=$(curl -s "$U/metrics" | jq -r .rss_kb)
    for _ in $(seq 1 20); do curl -s -o /dev/null "$U/sessions/none"; done
    M=$(curl -s "$U/metrics")
    check "--leak-kb 1024: leaked_bytes after 20 requests" $((20 * 1048576)) "$(jq -r .leaked_bytes <<<"$M")"
    R1=$(jq -r .rss_kb <<<"$M")
    check_cmd "--leak-kb: rss_kb grows by >= 18 MiB ($R0 -> $R1)" test $((R1 - R0)) -ge 18432
    stop leak
fi

if start conc --max-concurrency 2 --latency-ms 1500; then
    CURLS=()
    for i in 1 2 3 4 5 6; do
        curl -s -m 10 -o /dev/null -w '%{http_code}\n' "$U/sessions/none" >"$T/c$i" &
        CURLS+=($!)
    done
    wait "${CURLS[@]}"
    CODES=$(cat "$T"/c? | sort | uniq -c | awk '{print $2":"$1}' | paste -sd, -)
    check "--max-concurrency 2: 2 served, 4 rejected" "404:2,503:4" "$CODES"
    M=$(curl -s "$U/metrics")
    check "--max-concurrency: rejected_503" 4 "$(jq -r .rejected_503 <<<"$M")"
    check "--max-concurrency: peak_in_flight" 2 "$(jq -r .peak_in_flight <<<"$M")"
    check "--max-concurrency: every request counted" 6 "$(jq -r .requests.session_get <<<"$M")"
    stop conc
fi

if start stall --stall-at-ms 1000 --stall-ms 2500; then
    t=$(curl -s -o /dev/null -w '%{time_total}' "$U/sessions/none")
    check_cmd "stall: before the window, a request is quick ($t)" \
        awk -v t="$t" 'BEGIN { exit !(t < 0.5) }'
    for _ in $(seq 1 40); do
        up=$(curl -s "$U/metrics" | jq -r .uptime_ms)
        [ "$up" -ge 1100 ] && break
        sleep 0.05
    done
    t=$(curl -s -o /dev/null -w '%{time_total}' "$U/health")
    check_cmd "stall: /health is not held ($t)" awk -v t="$t" 'BEGIN { exit !(t < 0.3) }'
    t=$(curl -s -o /dev/null -w '%{time_total}' "$U/sessions/none")
    up=$(curl -s "$U/metrics" | jq -r .uptime_ms)
    check_cmd "stall: a request in the window is held ($t s)" \
        awk -v t="$t" 'BEGIN { exit !(t >= 0.8 && t < 3) }'
    check_cmd "stall: ... until the window ends at 3500 ms (now $up ms)" \
        test "$up" -ge 3500 -a "$up" -lt 4500
    t=$(curl -s -o /dev/null -w '%{time_total}' "$U/sessions/none")
    check_cmd "stall: after the window, quick again ($t)" awk -v t="$t" 'BEGIN { exit !(t < 0.5) }'
    stop stall
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
