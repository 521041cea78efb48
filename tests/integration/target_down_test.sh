#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A target that refuses connections: exit 3, a message naming the URL,
# nothing left running, no results claimed.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
url="http://127.0.0.1:$port"
"$KS_OUT/stress-master" --quick --test concurrent --url "$url" --local-agents 2 \
    --threads 1 --output "$T_TMP/out" >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
check_eq "exit code 3 for an unreachable target" 3 "$rc"
check "the message names the URL" grep -q "127.0.0.1:$port" "$T_TMP/stderr"
check "no completed results written" test ! -e "$T_TMP/out/latest.json"
sleep 0.3
check_eq "no agent left running" 0 "$(leftovers stress-agent)"
t_done
