#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the unit tests (cmocka), the integration tests (real processes on
# loopback) and the multi-host tests (network namespaces; root only) and
# ends with one line "N passed, N failed". Between the static checks and
# the integration tests, `make fuzz-smoke` runs each libFuzzer target of
# tests/fuzz for a bounded number of executions (under a minute in all).
#   tests/run_tests.sh OUT [unit|static|fuzz|integration|multihost]
# OUT is the build folder holding stress-master, stress-agent, katosim and
# unit-tests. Each integration script prints "ok - ..." / "not ok - ..."
# lines and exits non-zero on failure; every line counts as one test.
set -u
OUT=${1:-build}
WHAT=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
export KS_OUT=$ROOT/$OUT
case $OUT in /*) export KS_OUT=$OUT ;; esac
export KS_SOURCE_DIR=$ROOT
export KS_TEST_DATA=$ROOT/tests/data
LOGDIR=$(mktemp -d /tmp/ks-tests.XXXXXX)
passed=0
failed=0
failures=()

count_lines() { # file -> adds ok / not ok lines
    local f=$1 name=$2 ok bad
    ok=$(grep -c '^ok - ' "$f")
    bad=$(grep -c '^not ok - ' "$f")
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [ "$bad" -gt 0 ]; then
        while IFS= read -r l; do failures+=("$name: $l"); done \
            < <(grep '^not ok - ' "$f")
    fi
}

if [ "$WHAT" = all ] || [ "$WHAT" = unit ]; then
    echo "== unit tests"
    f=$LOGDIR/unit.log
    "$KS_OUT/unit-tests" >"$f" 2>&1
    rc=$?
    cat "$f"
    ok=$(grep -c '^\[       OK \]' "$f")
    bad=$(grep -c '^\[  FAILED  \] [a-z_]' "$f")
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [ "$bad" -gt 0 ]; then
        while IFS= read -r l; do failures+=("unit: $l"); done \
            < <(grep '^\[  FAILED  \] [a-z_]' "$f")
    fi
    if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("unit: runner exited $rc without a failed test (crash?)")
    fi
    if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1))
        failures+=("unit: no test ran")
    fi
fi

if [ "$WHAT" = all ] || [ "$WHAT" = static ]; then
    echo "== static checks"
    f=$LOGDIR/static.log
    : >"$f"
    if make --no-print-directory format-check >"$LOGDIR/format.log" 2>&1; then
        echo "ok - sources are clang-formatted (.clang-format)" >>"$f"
    else
        echo "not ok - sources are clang-formatted: $(grep -c 'error:' "$LOGDIR/format.log") places (make format)" >>"$f"
    fi
    if make --no-print-directory lint >"$LOGDIR/lint.log" 2>&1; then
        echo "ok - cppcheck finds nothing (make lint)" >>"$f"
    else
        echo "not ok - cppcheck: $(grep -v '^cppcheck' "$LOGDIR/lint.log" | head -n 3)" >>"$f"
    fi
    cat "$f"
    count_lines "$f" static
fi

# The fuzz targets are built with clang into OUT/fuzz; a build failure is
# one failed line, a crash is a "not ok" line naming the kept input.
if [ "$WHAT" = all ] || [ "$WHAT" = fuzz ]; then
    echo "== fuzz smoke"
    f=$LOGDIR/fuzz.log
    start=$(date +%s)
    timeout -k 10 150 make --no-print-directory fuzz-smoke \
        FUZZ_OUT="$KS_OUT/fuzz" >"$f" 2>&1
    rc=$?
    grep -E '^(ok|not ok) - ' "$f"
    count_lines "$f" fuzz
    if [ $rc -ne 0 ] && ! grep -q '^not ok - ' "$f"; then
        failed=$((failed + 1))
        failures+=("fuzz: make fuzz-smoke exited $rc without a failed check")
        tail -n 20 "$f"
    elif grep -q '^not ok - ' "$f"; then
        tail -n 20 "$f"
    fi
    echo "   ($(( $(date +%s) - start )) s)"
fi

# run_scripts SCRIPT...: runs each, counts its ok / not ok lines.
run_scripts() {
    local t name f start rc
    for t in "$@"; do
        name=$(basename "$t" .sh)
        echo "== $name"
        f=$LOGDIR/$name.log
        start=$(date +%s)
        timeout -k 10 300 bash "$t" >"$f" 2>&1
        rc=$?
        grep -E '^(ok|not ok) - ' "$f"
        count_lines "$f" "$name"
        if [ $rc -ne 0 ] && ! grep -q '^not ok - ' "$f"; then
            failed=$((failed + 1))
            failures+=("$name: exited $rc without a failed check")
            tail -n 40 "$f"
        elif grep -q '^not ok - ' "$f"; then
            echo "-- $name log (last 60 lines):"
            tail -n 60 "$f"
        fi
        echo "   ($(( $(date +%s) - start )) s)"
    done
}

if [ "$WHAT" = all ] || [ "$WHAT" = integration ]; then
    run_scripts tests/integration/*_test.sh
fi

# Namespaces and veths need root (CI runs as root): otherwise one explicit
# line says they did not run.
if [ "$WHAT" = all ] || [ "$WHAT" = multihost ]; then
    if [ "$(id -u)" = 0 ]; then
        run_scripts tests/multihost/*_test.sh
    else
        echo "ok - multihost: not root, not run"
        passed=$((passed + 1))
    fi
fi

if [ ${#failures[@]} -gt 0 ]; then
    echo "== failures"
    printf '  %s\n' "${failures[@]}"
fi
echo "logs: $LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
