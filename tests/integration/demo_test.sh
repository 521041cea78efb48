#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make run`, the README's first command: tests/support/run_demo.sh starts
# katosim, runs the quick concurrent test with two local agents and must
# exit 0 with complete results. Run from a copy of the files it uses, so
# the checkout's stress_test_results/ is left alone.
. "$(dirname "$0")/lib.sh"

bin=$(cd "$KS_OUT" && pwd)
r=$T_TMP/root
mkdir -p "$r/tests/support"
cp "$KS_SOURCE_DIR/tests/support/run_demo.sh" "$r/tests/support/"
cp "$KS_SOURCE_DIR/quick_test_config.yaml" "$r/"
sh "$r/tests/support/run_demo.sh" "$bin" >"$T_TMP/stdout" 2>"$T_TMP/stderr"
rc=$?
check_eq "make run's script exits 0 (thresholds of quick_test_config.yaml met)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/stdout" "$T_TMP/stderr"
j=$r/stress_test_results/latest.json
check "it wrote latest.json" test -s "$j"
check_eq "the concurrent test completed" completed \
    "$(jq -r .concurrent_requests.status "$j" 2>/dev/null)"
check_eq "two agents took part" 2 \
    "$(jq '.concurrent_requests.results.agents | length' "$j" 2>/dev/null)"
check_eq "no request failed" 0 \
    "$(jq .concurrent_requests.results.total_failures "$j" 2>/dev/null)"
check "the summary was printed" grep -q "STRESS TEST SUMMARY" "$T_TMP/stdout"
check_eq "katosim was stopped" 0 "$(pgrep -fc 'katosim --port 0 --ready-file /tmp/ks-demo')"

t_done
