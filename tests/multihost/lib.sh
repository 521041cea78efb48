# SPDX-License-Identifier: MIT
# Helpers for the multi-host tests: build "hosts" out of network namespaces
# joined by veth pairs to a bridge, run processes in them, and remove every
# namespace (and with it every veth and the bridge) on any exit.
# Source it from a tests/multihost/*_test.sh script, after checking root
# with mh_need_root. It sources ../integration/lib.sh for ok/notok/check.
#
# The layout, all private to one run ($$ in every name):
#   ks-net-$$      holds the bridge br0 and the host ends of the veths
#   ks-target-$$   eth0 10.213.0.10/24   katosim
#   ks-master-$$   eth0 10.213.0.20/24   stress-master
#   ks-agentN-$$   eth0 10.213.0.3N/24   stress-agent N (N = 1..3; a test
#                                         that sets MH_ROLES before
#                                         mh_net_up may add agent4..9)
# Each host namespace has lo up and one veth end named eth0; the other end
# (vROLE) is a port of br0 in ks-net-$$. The subnet exists only inside these
# namespaces: no route, no NAT, no default route, nothing in the root
# namespace, so two runs at once do not see each other.

. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

MH_SUBNET=10.213.0
MH_NET=ks-net-$$
MH_ROLES="target master agent1 agent2 agent3"
MH_MADE=() # namespaces created, deleted by mh_teardown

# mh_need_root: prints the skip line and exits 0 when not root.
mh_need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "ok - multihost: not root, not run"
        exit 0
    fi
}

# mh_ns ROLE: the namespace name of a role.
mh_ns() { echo "ks-$1-$$"; }

# mh_addr ROLE: the role's address.
mh_addr() {
    case $1 in
    target) echo "$MH_SUBNET.10" ;;
    master) echo "$MH_SUBNET.20" ;;
    agent[1-9]) echo "$MH_SUBNET.3${1#agent}" ;;
    *) return 1 ;;
    esac
}

# mh_in ROLE CMD...: runs CMD in the role's namespace. Not for background
# processes: "mh_in ... &" forks a subshell and $! would be its pid, not
# the process's; write "ip netns exec "$(mh_ns ROLE)" CMD &" instead (ip
# execs CMD, so $! is CMD's pid).
mh_in() {
    local r=$1
    shift
    ip netns exec "$(mh_ns "$r")" "$@"
}

# mh_teardown: kills whatever still runs in this run's namespaces (only
# processes this test started can be there), then deletes them.
mh_teardown() {
    local ns p
    for ns in "${MH_MADE[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$p" 2>/dev/null
        done
    done
    for ns in "${MH_MADE[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    MH_MADE=()
}

# Processes first (they may hold the namespaces), then the namespaces: a
# deleted namespace takes its veth ends along, and a veth pair dies with
# either end, so nothing is left in the root namespace.
mh_cleanup() {
    t_cleanup
    mh_teardown
}
trap mh_cleanup EXIT
trap 'exit 130' INT TERM

# mh_net_up: builds the layout above; exits with a "not ok" line when a
# step fails (as root this is a real failure, not a skip).
mh_net_up() {
    local r ns
    ip netns add "$MH_NET" || {
        notok "ip netns add $MH_NET"
        exit 1
    }
    MH_MADE+=("$MH_NET")
    ip -n "$MH_NET" link set lo up &&
        ip -n "$MH_NET" link add br0 type bridge &&
        ip -n "$MH_NET" link set br0 up || {
        notok "bridge in $MH_NET"
        exit 1
    }
    for r in $MH_ROLES; do
        ns=$(mh_ns "$r")
        ip netns add "$ns" || {
            notok "ip netns add $ns"
            exit 1
        }
        MH_MADE+=("$ns")
        ip -n "$MH_NET" link add "v$r" type veth peer name eth0 netns "$ns" &&
            ip -n "$MH_NET" link set "v$r" master br0 &&
            ip -n "$MH_NET" link set "v$r" up &&
            ip -n "$ns" link set lo up &&
            ip -n "$ns" addr add "$(mh_addr "$r")/24" dev eth0 &&
            ip -n "$ns" link set eth0 up || {
            notok "veth and address for $r"
            exit 1
        }
    done
}

# mh_reach_target: every other host gets katosim's /health over the
# bridge (needs mh_katosim_start; bounded by curl's timeout).
mh_reach_target() {
    local r
    for r in $MH_ROLES; do
        [ "$r" = target ] && continue
        mh_in "$r" curl -sf --max-time 3 "$KATO_URL/health" >/dev/null || return 1
    done
}

# mh_netns_inode PID: the network namespace of a process.
mh_netns_inode() { stat -L -c %i "/proc/$1/ns/net" 2>/dev/null; }

# mh_katosim_start PORT: katosim in the target namespace on its address;
# sets KATO_URL and KATO_PID (killed by the cleanup).
mh_katosim_start() {
    local port=$1 i
    KATO_URL="http://$(mh_addr target):$port"
    ip netns exec "$(mh_ns target)" "$KS_OUT/katosim" --bind "$(mh_addr target)" --port "$port" \
        --quiet >"$T_TMP/katosim.log" 2>&1 &
    KATO_PID=$!
    T_PIDS+=("$KATO_PID")
    for i in $(seq 1 100); do
        mh_in target curl -s --max-time 1 "$KATO_URL/health" >/dev/null && return 0
        sleep 0.05
    done
    notok "katosim did not start in $(mh_ns target): $(cat "$T_TMP/katosim.log")"
    exit 1
}

# mh_metrics: katosim's /metrics, read from inside the target namespace.
mh_metrics() {
    mh_in target curl -s --max-time 5 "$KATO_URL/metrics"
}

# mh_agent_start N MASTER_URL ALLOW [agent flags...]: agent N in its own
# namespace; its pid in AGENT_PID[N], its log in $T_TMP/agentN.log.
declare -a AGENT_PID
mh_agent_start() {
    local n=$1 url=$2 allow=$3
    shift 3
    ip netns exec "$(mh_ns "agent$n")" "$KS_OUT/stress-agent" --master "$url" \
        --token-file "$T_TMP/token" --name "agent$n" --threads 1 \
        --allow-target "$allow" "$@" >"$T_TMP/agent$n.log" 2>&1 &
    AGENT_PID[n]=$!
    T_PIDS+=("${AGENT_PID[n]}")
}

# mh_master_start CFG TEST CTRL_PORT OUT [master flags...]: the master in
# its namespace, waiting for 3 agents on tcp://<master>:CTRL_PORT with the
# test's token; sets MURL and MPID, logs to $T_TMP/master.{stdout,stderr}.
mh_master_start() {
    local cfg=$1 test=$2 ctrl=$3 out=$4
    shift 4
    MURL="tcp://$(mh_addr master):$ctrl"
    ip netns exec "$(mh_ns master)" "$KS_OUT/stress-master" --config "$cfg" \
        --test "$test" --url "$KATO_URL" --agents 3 --listen "$MURL" \
        --token-file "$T_TMP/token" --agent-timeout 30 --output "$out" "$@" \
        >"$T_TMP/master.stdout" 2>"$T_TMP/master.stderr" &
    MPID=$!
    T_PIDS+=("$MPID")
}

# mh_wait_past_first ADDR MS: waits (bounded: 30 s, then 6 s) for ADDR's
# first request at katosim, then until katosim's clock is MS past it. Sets
# FIRST_MS (empty when the load never came) and UP_MS (katosim's uptime
# when the wait ended).
mh_wait_past_first() {
    local addr=$1 ms=$2 i
    FIRST_MS=""
    for i in $(seq 1 300); do
        FIRST_MS=$(mh_metrics | jq -r ".peers[] | select(.addr == \"$addr\") | .first_ms")
        [ -n "$FIRST_MS" ] && break
        sleep 0.1
    done
    for i in $(seq 1 300); do
        UP_MS=$(mh_metrics | jq -r .uptime_ms)
        awk -v u="$UP_MS" -v f="${FIRST_MS:-0}" -v k="$ms" 'BEGIN{exit !(u >= f + k)}' && break
        sleep 0.02
    done
}

# mh_check_shares RESULTS_JSON METRICS_JSON TEST USERS: for each of the
# three agents of TEST in the results, its planned share of USERS, the
# sessions and requests katosim counted from its address, and a GOODBYE
# with matching totals.
mh_check_shares() {
    local res=$1 met=$2 r=".$3.results" users=$4 i name addr want
    for i in 0 1 2; do
        name=$(jq -r "$r.agents[$i].name" "$res")
        addr=$(mh_addr "$name") || addr=none
        want=$((users / 3 + (i < users % 3 ? 1 : 0)))
        check_eq "agents[$i] ($name) has its planned share of users" "$want" \
            "$(jq -r "$r.agents[$i].users" "$res")"
        check_eq "katosim: $addr created exactly $name's share of sessions" "$want" \
            "$(jq -r ".peers[] | select(.addr == \"$addr\") | .create_session" "$met")"
        check_eq "katosim: requests from $addr equal $name's reported requests" \
            "$(jq -r "$r.agents[$i].requests" "$res")" \
            "$(jq -r ".peers[] | select(.addr == \"$addr\") | .load_requests" "$met")"
        check_eq "$name said goodbye with matching totals" "true true" \
            "$(jq -r "$r.agents[$i].goodbye" "$res") $(jq -r "$r.agents[$i].totals_match" "$res")"
    done
}

# mh_check_start METRICS_JSON [LABEL]: each agent's clock-offset estimate
# within rtt/2 (one kernel clock: the true offset is 0, +1 us of rounding),
# the agents' start instants from their logs, and issue 5's bound: their
# first requests reach katosim within 10 ms of each other (every agent's
# first user is due at the start instant, so the spread of the first
# arrivals is the start skew as the target sees it, plus connect time).
# LABEL (e.g. " over TLS") goes into the check names.
mh_check_start() {
    local met=$1 label=${2:-} starts="" n line in_ms off rtt spread skew_us
    for n in 1 2 3; do
        line=$(grep ' AGENT-START in_ms=' "$T_TMP/agent$n.log" | head -n 1)
        if [ -z "$line" ]; then
            notok "agent$n logged AGENT-START"
            continue
        fi
        in_ms=$(sed 's/.*in_ms=\(-*[0-9]*\).*/\1/' <<<"$line")
        off=$(sed 's/.*offset_us=\(-*[0-9]*\).*/\1/' <<<"$line")
        rtt=$(sed 's/.*rtt_us=\([0-9]*\).*/\1/' <<<"$line")
        check "agent$n offset ${off} us within rtt/2$label (rtt ${rtt} us)" \
            test "${off#-}" -le $((rtt / 2 + 1))
        starts="$starts $(($(mh_log_ms "$line") + in_ms))"
        echo "# agent$n$label: in_ms=$in_ms offset_us=$off rtt_us=$rtt"
    done
    spread=$(tr ' ' '\n' <<<"$starts" | grep -v '^$' | sort -n |
        awk 'NR==1{a=$1} {b=$1} END{print b-a}')
    echo "# start skew$label (agents' local start instants from their logs, ms resolution): ${spread} ms"
    echo "# first arrival at katosim (ms since katosim start): $(jq -r '[.peers[] | "\(.addr)=\(.first_ms)"] | join(" ")' "$met")"
    skew_us=$(jq -r '[.peers[].first_ms] | (max - min) * 1000 | floor' "$met")
    echo "# start skew$label at the target (spread of first arrivals): $skew_us us"
    # Measured 0.1-0.3 ms here (docs/distributed.md).
    check "agents' first requests reach the target within 10 ms of each other (${skew_us} us)" \
        test "${skew_us:-999999}" -le 10000
}

# mh_token: writes a fresh token to $T_TMP/token.
mh_token() {
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T_TMP/token"
    chmod 600 "$T_TMP/token"
}

# mh_log_ms LINE: the epoch ms of a log line's ISO timestamp (UTC, ms).
mh_log_ms() {
    local ts=${1%% *}
    local sec ms
    sec=$(date -u -d "${ts%.*}" +%s) || return 1
    ms=${ts##*.}
    ms=${ms%Z}
    echo $((sec * 1000 + 10#$ms))
}
