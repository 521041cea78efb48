#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input gets a clear message and exit 2, with nothing started.
. "$(dirname "$0")/lib.sh"

bad=$T_TMP/bad.yaml
printf 'load_profiles:\n  light:\n    concurent_users: 10\n' >"$bad"
"$KS_OUT/stress-master" --config "$bad" --url http://127.0.0.1:9 \
    >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
check_eq "unknown key: exit 2" 2 "$rc"
check "unknown key: file:line:col in the message" grep -q "bad.yaml:3:5" "$T_TMP/stderr"
check "unknown key: the key is named" grep -q "concurent_users" "$T_TMP/stderr"

printf 'operations_mix:\n  observe: 0.5\n  learn: 0.1\n' >"$bad"
"$KS_OUT/stress-master" --config "$bad" >"$T_TMP/stdout" 2>"$T_TMP/stderr"
check_eq "mix not summing to 1: exit 2" 2 "$?"
check "mix error names operations_mix" grep -q "operations_mix" "$T_TMP/stderr"

"$KS_OUT/stress-master" --config "$T_TMP/missing.yaml" >/dev/null 2>"$T_TMP/stderr"
check_eq "missing config file: exit 2" 2 "$?"
check "missing file is named" grep -q "missing.yaml" "$T_TMP/stderr"

"$KS_OUT/stress-master" --test nonsense >/dev/null 2>"$T_TMP/stderr"
check_eq "unknown test name: exit 2" 2 "$?"
"$KS_OUT/stress-master" --url ftp://example >/dev/null 2>"$T_TMP/stderr"
check_eq "bad URL scheme: exit 2" 2 "$?"
"$KS_OUT/stress-master" --local-agents abc >/dev/null 2>"$T_TMP/stderr"
check_eq "bad number: exit 2" 2 "$?"
"$KS_OUT/stress-master" --help >"$T_TMP/stdout" 2>&1
check_eq "--help exits 0" 0 "$?"
check "--help lists --local-agents" grep -q -- "--local-agents" "$T_TMP/stdout"
"$KS_OUT/stress-agent" >/dev/null 2>"$T_TMP/stderr"
check_eq "agent without --master: exit 2" 2 "$?"
check_eq "no agent left running" 0 "$(leftovers stress-agent)"
t_done
