#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run`: the embedded default. Starts katosim (the bundled KATO
# stand-in) on a free loopback port, runs the quick concurrent test with two
# local agents against it, prints the summary, leaves the results in
# ./stress_test_results/ and stops katosim. Exits with the master's code.
#   tests/support/run_demo.sh [BUILD_DIR]
set -u
OUT=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
tmp=$(mktemp -d /tmp/ks-demo.XXXXXX)
"$OUT/katosim" --port 0 --ready-file "$tmp/port" --quiet &
kpid=$!
trap 'kill -TERM $kpid 2>/dev/null; wait $kpid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
if [ ! -s "$tmp/port" ]; then
    echo "run: katosim did not start" >&2
    exit 3
fi
port=$(cat "$tmp/port")
echo "run: katosim (KATO stand-in) listening on http://127.0.0.1:$port"
"$OUT/stress-master" --config quick_test_config.yaml --test concurrent --quick \
    --url "http://127.0.0.1:$port" --local-agents 2
rc=$?
echo "run: results in $ROOT/stress_test_results/ (latest.json); exit code $rc"
exit $rc
