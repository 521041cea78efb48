#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bounded fuzz run of `make fuzz-smoke` (and of tests/run_tests.sh):
# each target runs for at most RUNS executions or SECONDS seconds over a
# COPY of its seed corpus (tests/fuzz/corpus/<name>/, name without _fuzz),
# so the repository is never modified. Prints one line per target:
#   ok - fuzz proto_fuzz: N executions, no crash
#   not ok - fuzz proto_fuzz: crash, input kept at PATH
# A crash keeps its temp folder (the input and libFuzzer's log) and the
# script exits 1.
#   tests/fuzz/smoke.sh FUZZ_OUT RUNS SECONDS TARGET...
set -u
OUT=$1
RUNS=$2
SECONDS_MAX=$3
shift 3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
failed=0

for t in "$@"; do
    bin=$OUT/$t
    seeds=$ROOT/tests/fuzz/corpus/${t%_fuzz}
    dict=$ROOT/tests/fuzz/${t%_fuzz}.dict
    tmp=$(mktemp -d /tmp/ks-fuzz.XXXXXX)
    if [ ! -x "$bin" ]; then
        echo "not ok - fuzz $t: $bin was not built (make fuzz)"
        failed=1
        rm -rf "$tmp"
        continue
    fi
    mkdir -p "$tmp/corpus" "$tmp/crash"
    cp "$seeds"/* "$tmp/corpus/" 2>/dev/null
    args=(-runs="$RUNS" -max_total_time="$SECONDS_MAX" -max_len=65536
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$tmp/crash/")
    [ -f "$dict" ] && args+=(-dict="$dict")
    # The outer timeout only guards against a hung runtime: libFuzzer
    # stops by itself at max_total_time.
    timeout -k 5 $((SECONDS_MAX + 60)) "$bin" "${args[@]}" "$tmp/corpus" \
        >"$tmp/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log" |
        tail -n 1)
    crash=$(find "$tmp/crash" -type f | head -n 1)
    if [ $rc -eq 0 ] && [ -z "$crash" ] && [ -n "$execs" ]; then
        echo "ok - fuzz $t: $execs executions, no crash"
        rm -rf "$tmp"
    else
        failed=1
        echo "not ok - fuzz $t: exit $rc after ${execs:-?} executions," \
            "input kept at ${crash:-none}, log at $tmp/log"
        grep -E 'ERROR|invariant|proto_fuzz:|SUMMARY' "$tmp/log" | head -n 5
    fi
done
exit $failed
