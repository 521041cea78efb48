#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make valgrind`, second half: runs integration scripts with the master
# and every agent it spawns under valgrind (katosim stays native). OUT/vg
# gets wrapper scripts named like the binaries, and a copy of the master
# beside an agent wrapper, because the master spawns the stress-agent next
# to its own /proc/self/exe. Fails when any valgrind log is non-empty (an
# invalid access, an uninitialised read, a definite leak); the scripts'
# own checks are printed but not judged, valgrind is too slow for some of
# their timings.
#   tests/support/valgrind_run.sh OUT SCRIPT-NAME...
set -u
OUT=$(cd "$1" && pwd) || exit 2
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VG=$OUT/vg
LOGS=$VG/logs
rm -rf "$VG"
mkdir -p "$VG/bin" "$LOGS" || exit 2
VGCMD="valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99"
wrap() { # WRAPPER NAME REAL
    printf '#!/bin/sh\nexec %s --log-file=%s/%s.%%p.log %s "$@"\n' \
        "$VGCMD" "$LOGS" "$2" "$3" >"$1" && chmod +x "$1"
}
cp "$OUT/stress-master" "$VG/bin/stress-master" || exit 2
wrap "$VG/stress-master" master "$VG/bin/stress-master"
wrap "$VG/stress-agent" agent "$OUT/stress-agent"
wrap "$VG/bin/stress-agent" agent "$OUT/stress-agent"
ln -s "$OUT/katosim" "$VG/katosim"
rc=0
for t in "$@"; do
    echo "== $t (valgrind)"
    KS_OUT=$VG KS_SOURCE_DIR=$ROOT KS_TEST_DATA=$ROOT/tests/data \
        timeout -k 10 600 bash "$ROOT/tests/integration/${t}_test.sh" \
        >"$LOGS/$t.out" 2>&1
    echo "   script exit $?, $(grep -c '^ok - ' "$LOGS/$t.out") ok, $(grep -c '^not ok - ' "$LOGS/$t.out") not ok"
done
n=$(find "$LOGS" -name '*.log' | wc -l)
for f in $(find "$LOGS" -name '*.log' -size +0); do
    echo "-- $f"
    head -n 40 "$f"
    rc=1
done
if [ "$n" -eq 0 ]; then
    echo "not ok - valgrind: no process ran under it"
    rc=1
elif [ "$rc" -eq 0 ]; then
    echo "ok - valgrind: $n master/agent processes, no error, no definite leak"
else
    echo "not ok - valgrind: see the logs above ($LOGS)"
fi
exit $rc
