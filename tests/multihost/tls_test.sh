#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control channel over TLS across hosts: katosim, the master and three
# agents each in their own network namespace (tests/multihost/lib.sh),
# plus a fourth agent namespace for an agent that must not get in. A
# throwaway CA, a master certificate naming only DNS:ks-mh-master, an
# unrelated CA and client certificates from each are made with openssl in
# the test's temp dir (no key is committed).
#   A. The master listens on tls+tcp://10.213.0.20 with its certificate;
#      the agents dial the address with --tls-ca and --tls-server-name
#      (mbedTLS 2.28 matches no IP SAN). A sustained run completes, each
#      agent's share is exact and equals katosim's counts per source
#      address. An agent with the wrong CA, started first, never joins and
#      says why in one line. The bytes on the master's eth0, recorded by a
#      packet socket, show the certificate but not the agents' names, the
#      HELLO's keys or the target URL of the assignment. Prints the start
#      skew over TLS.
#   B. Mutual TLS: the master requires client certificates from its CA;
#      three agents with one run a short test with per-address totals equal
#      to katosim's; an agent whose certificate the other CA signed never
#      joins and is told so.
#   C. Control: the same capture on a tcp:// run shows the name, the keys
#      and the URL in clear, so the checks of A can fail.
. "$(dirname "$0")/lib.sh"
mh_need_root

MH_ROLES="target master agent1 agent2 agent3 agent4"
USERS=10 # 4 + 3 + 3: unequal shares, so a swapped share would show
PORT=8000
CTRL=7700      # A: TLS
CTRL_MTLS=7701 # B: mutual TLS
CTRL_TCP=7702  # C: plain tcp://, the capture's control
NAME=ks-mh-master
TAP=$KS_SOURCE_DIR/tests/support/pkt_tap.py

P=$T_TMP/pki
mkdir -p "$P"
mkcert() { # openssl, quiet unless it fails
    openssl "$@" >"$P/openssl.log" 2>&1 || {
        notok "openssl $1 failed: $(tail -n 3 "$P/openssl.log")"
        t_done
    }
}
mkcert req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$P/ca.key" -out "$P/ca.pem" -days 2 -subj /CN=ks-mh-ca
mkcert req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$P/server.key" -out "$P/server.csr" -subj "/CN=$NAME"
printf '%s\n' "subjectAltName=DNS:$NAME" 'basicConstraints=CA:FALSE' \
    'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' >"$P/ext.cnf"
mkcert x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
    -CAcreateserial -out "$P/server.pem" -days 2 -extfile "$P/ext.cnf"
mkcert req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$P/wrong.key" -out "$P/wrong.pem" -days 2 -subj /CN=ks-mh-wrong-ca
mkcert req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$P/agent.key" -out "$P/agent.csr" -subj /CN=ks-mh-agent
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=digitalSignature' \
    'extendedKeyUsage=clientAuth' >"$P/cext.cnf"
mkcert x509 -req -in "$P/agent.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
    -CAcreateserial -out "$P/agent.pem" -days 2 -extfile "$P/cext.cnf"
mkcert x509 -req -in "$P/agent.csr" -CA "$P/wrong.pem" -CAkey "$P/wrong.key" \
    -CAcreateserial -out "$P/agent-wrong.pem" -days 2 -extfile "$P/cext.cnf"
chmod 600 "$P"/*.key
ok "test PKI made with openssl (CA, master certificate DNS:$NAME, wrong CA, client certificates)"

mh_net_up
ok "namespaces, bridge and veths built ($MH_NET + 6 hosts)"
mh_katosim_start "$PORT"
check "master and agents reach katosim at $KATO_URL over the bridge" mh_reach_target
mh_token
MADDR=$(mh_addr master)
TLS_AGENT=(--tls-ca "$P/ca.pem" --tls-server-name "$NAME")

wait_for() { # FILE REGEX TRIES(x0.1 s)
    local i
    for i in $(seq 1 "$3"); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# tap_start PORT FILE: records the payload to and from PORT on the master's
# eth0 into FILE; its pid in TAP_PID.
tap_start() {
    ip netns exec "$(mh_ns master)" python3 "$TAP" eth0 "$1" "$2" "$2.ready" 60 \
        >"$2.summary" 2>&1 &
    TAP_PID=$!
    T_PIDS+=("$TAP_PID")
    wait_for "$2.ready" ready 50 || {
        notok "packet tap on the master's eth0 did not start: $(cat "$2.summary")"
        t_done
    }
}
tap_stop() {
    kill -TERM "$TAP_PID" 2>/dev/null
    wait "$TAP_PID" 2>/dev/null
}
# master_start NAME CONFIG TEST PROFILE LISTEN [flags...]: the master in its
# namespace; pid in MPID, output in $T_TMP/NAME.{stdout,stderr}, results
# in $T_TMP/out-NAME.
master_start() {
    local n=$1 cfg=$2 test=$3 prof=$4 url=$5
    shift 5
    ip netns exec "$(mh_ns master)" "$KS_OUT/stress-master" --config "$cfg" \
        --test "$test" ${prof:+--profile "$prof"} --url "$KATO_URL" --agents 3 \
        --listen "$url" --token-file "$T_TMP/token" --agent-timeout 30 \
        --output "$T_TMP/out-$n" "$@" >"$T_TMP/$n.stdout" 2>"$T_TMP/$n.stderr" &
    MPID=$!
    T_PIDS+=("$MPID")
    wait_for "$T_TMP/$n.stderr" AGENTS-WAIT 100 ||
        notok "master $n is waiting for agents: $(tail -n 5 "$T_TMP/$n.stderr")"
}
agents_stop() { # N...: TERM the agents, wait for them
    local n
    for n in "$@"; do kill -TERM "${AGENT_PID[n]}" 2>/dev/null; done
    for n in "$@"; do wait "${AGENT_PID[n]}" 2>/dev/null; done
}
mh_metrics >"$T_TMP/m0.json"

# --- A: TLS, three agents by address + --tls-server-name ----------------------
cfg=$T_TMP/sustained.yaml
cat >"$cfg" <<YAML
load_profiles:
  mh:
    concurrent_users: $USERS
    duration_seconds: 4
    ramp_up_seconds: 1
    requests_per_user_per_second: 10
    think_time_ms: 5
test_scenarios:
  sustained:
    pattern: ramp_up
    initial_users: 3
performance_thresholds:
  max_error_rate: 0.0
YAML
murl="tls+tcp://$MADDR:$CTRL"
tap_start "$CTRL" "$T_TMP/wire-tls.bin"
master_start tls "$cfg" sustained mh "$murl" \
    --tls-cert "$P/server.pem" --tls-key "$P/server.key"
# The wrong-CA agent dials first: had TLS let it in, it would hold one of
# the three places and the shares below would be off.
mh_agent_start 4 "$murl" "$(mh_addr target):$PORT" --tls-ca "$P/wrong.pem" \
    --tls-server-name "$NAME"
check "agent4 (wrong CA) says in one line that the master's certificate is not signed by its CA" \
    wait_for "$T_TMP/agent4.log" "AGENT-TLS master=tls\+tcp://$MADDR:$CTRL server_name=$NAME ca=$P/wrong.pem tries=[0-9]*: TLS handshake failed: The certificate is not correctly signed by the trusted CA;" 100
for n in 1 2 3; do
    mh_agent_start "$n" "$murl" "$(mh_addr target):$PORT" "${TLS_AGENT[@]}"
done
rc=0
wait "$MPID" || rc=$?
tap_stop
cat "$T_TMP/tls.stdout"
check_eq "TLS run across namespaces: master exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/tls.stderr"

T=sustained_load_mh
R=".$T.results"
out=$T_TMP/out-tls
j() { jq -r "$1" "$out/latest.json" 2>/dev/null; }
mh_metrics >"$T_TMP/m1.json"
m() { jq -r "$1" "$T_TMP/m1.json"; }
check_eq "status completed" completed "$(j ".$T.status")"
check_eq "data complete" true "$(j "$R.data_complete")"
check_eq "three agents in the results" 3 "$(j "$R.agents | length")"
tool_total=$(j "$R.total_requests")
check "some load was generated" test "${tool_total:-0}" -gt 100
check_eq "total requests equal katosim's counters" "$(m .load_requests)" "$tool_total"
check_eq "no errors" 0 "$(j "$R.total_failures")"
check_eq "katosim saw exactly three client addresses" 3 "$(m '.peers | length')"
check_eq "katosim counted every request by a known address" 0 "$(m .peers_other)"
mh_check_shares "$out/latest.json" "$T_TMP/m1.json" "$T" "$USERS"
for n in 1 2 3; do
    check "agent$n dialled the address with the certificate's DNS name" \
        grep -q "AGENT-UP .* master=$murl tls_ca=$P/ca.pem tls_server_name=$NAME" "$T_TMP/agent$n.log"
done
check_eq "agents 1-3 joined over TLS" 3 "$(grep -cE "AGENT-JOIN agent=agent[123]\b" "$T_TMP/tls.stderr")"
check_eq "agent4 (wrong CA) never joined" 0 "$(grep -c "AGENT-JOIN agent=agent4" "$T_TMP/tls.stderr")"
check_eq "agent4 was never welcomed" 0 "$(grep -c AGENT-WELCOME "$T_TMP/agent4.log")"
check_eq "agent4 said it once" 1 "$(grep -c AGENT-TLS "$T_TMP/agent4.log")"
check "agent4 is still running (it re-dials with a back-off)" kill -0 "${AGENT_PID[4]}"
check "the master logged the failed handshakes" grep -q "TLS-HANDSHAKE failed=" "$T_TMP/tls.stderr"
echo "# failed TLS handshakes at the master (agent4, wrong CA): $(sed -n 's/.*TLS-HANDSHAKE failed=[0-9]* total=\([0-9]*\).*/\1/p' "$T_TMP/tls.stderr" | tail -n 1)"
check_eq "katosim got nothing from agent4's address" "" \
    "$(m ".peers[] | select(.addr == \"$(mh_addr agent4)\") | .addr")"

# What crossed the master's eth0 on the control port: the certificate (TLS
# 1.2 sends it in clear), none of the protocol's content.
wire=$T_TMP/wire-tls.bin
echo "# capture on the master's eth0, port $CTRL: $(cat "$wire.summary")"
check "the capture holds the control traffic ($(stat -c %s "$wire") bytes)" \
    test "$(stat -c %s "$wire")" -gt 5000
check "the master's certificate crossed the wire (the capture sees the handshake)" \
    grep -aq "$NAME" "$wire"
for s in agent1 agent2 agent3 nonce proof "$KATO_URL"; do
    check_eq "'$s' is not on the wire under TLS" 0 "$(grep -acF -- "$s" "$wire")"
done

# Start over TLS: offsets and skew, as sustained_test.sh measures them.
mh_check_start "$T_TMP/m1.json" " over TLS"
agents_stop 1 2 3 4

# --- B: mutual TLS ----------------------------------------------------------------
cfgb=$T_TMP/concurrent.yaml
cat >"$cfgb" <<YAML
test_scenarios:
  concurrent:
    concurrent_users: 6
    duration_seconds: 2
    requests_per_user_per_second: 10
    think_time_ms: 5
performance_thresholds:
  max_error_rate: 0.0
YAML
murl="tls+tcp://$MADDR:$CTRL_MTLS"
master_start mtls "$cfgb" concurrent "" "$murl" \
    --tls-cert "$P/server.pem" --tls-key "$P/server.key" --tls-ca "$P/ca.pem"
mh_agent_start 4 "$murl" "$(mh_addr target):$PORT" "${TLS_AGENT[@]}" \
    --tls-cert "$P/agent-wrong.pem" --tls-key "$P/agent.key"
check "agent4 (client certificate from the other CA) is told it was refused" \
    wait_for "$T_TMP/agent4.log" "AGENT-TLS master=tls\+tcp://$MADDR:$CTRL_MTLS .*requires a client certificate signed by a CA it trusts, and refused this agent's --tls-cert" 100
for n in 1 2 3; do
    mh_agent_start "$n" "$murl" "$(mh_addr target):$PORT" "${TLS_AGENT[@]}" \
        --tls-cert "$P/agent.pem" --tls-key "$P/agent.key"
done
rc=0
wait "$MPID" || rc=$?
check_eq "mutual TLS across namespaces: master exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/mtls.stderr"
out=$T_TMP/out-mtls
R=.concurrent_requests.results
mh_metrics >"$T_TMP/m2.json"
# d JQ-EXPR-FOR-A-PEER ADDR: katosim's increment over run B for ADDR.
d() {
    local a b
    a=$(jq -r ".peers[] | select(.addr == \"$2\") | $1" "$T_TMP/m1.json")
    b=$(jq -r ".peers[] | select(.addr == \"$2\") | $1" "$T_TMP/m2.json")
    echo $((${b:-0} - ${a:-0}))
}
check_eq "mutual TLS: status completed" completed "$(j .concurrent_requests.status)"
check_eq "mutual TLS: three agents in the results" 3 "$(j "$R.agents | length")"
check_eq "mutual TLS: total equals katosim's increment" \
    "$(($(jq .load_requests "$T_TMP/m2.json") - $(jq .load_requests "$T_TMP/m1.json")))" \
    "$(j "$R.total_requests")"
check "mutual TLS: some load was generated" test "$(j "$R.total_requests")" -gt 50
check_eq "mutual TLS: no errors" 0 "$(j "$R.total_failures")"
for i in 0 1 2; do
    name=$(j "$R.agents[$i].name")
    addr=$(mh_addr "$name") || addr=none
    check_eq "mutual TLS: $name has 2 users and created 2 sessions at katosim" "2 2" \
        "$(j "$R.agents[$i].users") $(d .create_session "$addr")"
    check_eq "mutual TLS: requests from $addr equal $name's reported requests" \
        "$(j "$R.agents[$i].requests")" "$(d .load_requests "$addr")"
done
check_eq "mutual TLS: agent4 never joined" 0 "$(grep -c "AGENT-JOIN agent=agent4" "$T_TMP/mtls.stderr")"
check_eq "mutual TLS: agent4 was never welcomed" 0 "$(grep -c AGENT-WELCOME "$T_TMP/agent4.log")"
check "mutual TLS: the master logged the refused handshakes" \
    grep -q "TLS-HANDSHAKE failed=" "$T_TMP/mtls.stderr"
echo "# failed TLS handshakes at the mutual-TLS master (agent4, client certificate from the other CA): $(sed -n 's/.*TLS-HANDSHAKE failed=[0-9]* total=\([0-9]*\).*/\1/p' "$T_TMP/mtls.stderr" | tail -n 1)"
agents_stop 1 2 3 4

# --- C: the capture's control, a tcp:// channel ----------------------------------
murl="tcp://$MADDR:$CTRL_TCP"
tap_start "$CTRL_TCP" "$T_TMP/wire-tcp.bin"
ip netns exec "$(mh_ns master)" "$KS_OUT/stress-master" --config "$cfgb" \
    --test concurrent --url "$KATO_URL" --agents 1 --listen "$murl" \
    --token-file "$T_TMP/token" --agent-timeout 30 --output "$T_TMP/out-tcp" \
    >"$T_TMP/tcp.stdout" 2>"$T_TMP/tcp.stderr" &
MPID=$!
T_PIDS+=("$MPID")
wait_for "$T_TMP/tcp.stderr" AGENTS-WAIT 100
mh_agent_start 1 "$murl" "$(mh_addr target):$PORT"
rc=0
wait "$MPID" || rc=$?
tap_stop
check_eq "control run on tcp:// exits 0" 0 "$rc"
wire=$T_TMP/wire-tcp.bin
echo "# capture on the master's eth0, port $CTRL_TCP: $(cat "$wire.summary")"
for s in agent1 nonce proof "$KATO_URL"; do
    check "control: on tcp:// '$s' is on the wire" grep -aqF -- "$s" "$wire"
done
check_eq "control: the token is on the wire in neither run" "0 0" \
    "$(grep -acF "$(cat "$T_TMP/token")" "$wire") $(grep -acF "$(cat "$T_TMP/token")" "$T_TMP/wire-tls.bin")"
agents_stop 1

mh_cleanup
trap - EXIT
left=$(ip netns list | grep -c -- "-$$\b")
check_eq "every namespace of this run removed" 0 "$left"
t_done
