#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Deployment (issue 6), where no Docker engine runs: docker-compose.yml is
# validated by `docker-compose config` and its resolved services are run as
# plain processes on loopback (katosim, the master, AGENTS agents) from a
# `make install` staged like the image's; the Dockerfile's build context,
# runtime libraries and health checks, the Jenkinsfile's and the workflow's
# commands and flags, make install/uninstall and the agent's systemd unit
# (its ExecStart, expanded from the example EnvironmentFile, joins a real
# run) are checked against the real binaries.
. "$(dirname "$0")/lib.sh"

SRC=$KS_SOURCE_DIR
CHECK="python3 $SRC/tests/support/deploy_check.py"
missing_tools=
for t in docker-compose python3 readelf dpkg apt-cache ldd; do
    command -v "$t" >/dev/null 2>&1 || missing_tools="$missing_tools $t"
done
python3 -c 'import yaml' 2>/dev/null || missing_tools="$missing_tools python3-yaml"
if [ -n "$missing_tools" ]; then
    # tests/support/deps.sh installs them: CI never gets here.
    ok "deploy: skipped, missing:$missing_tools (make deps installs them)"
    t_done
fi

help_of() { # PROGRAM -> its --help text in $T_TMP/help.NAME
    local f
    f=$T_TMP/help.$(basename "$1")
    [ -s "$f" ] || "$1" --help >"$f" 2>&1
    cat "$f"
}
# accepts PROGRAM FLAG: the flag is listed in PROGRAM --help.
accepts() {
    help_of "$1" | grep -q -e "$2\([ ,=]\|$\)"
}

# --- make install / uninstall ---------------------------------------------
# PREFIX=/usr/local into a DESTDIR: the layout the Dockerfile stages.
# -o: install the binaries under test as they are (a commit since the
# build changes the version stamp, and make would relink them).
INST=$T_TMP/inst
KEEP=(-o "$KS_OUT/stress-master" -o "$KS_OUT/stress-agent" -o "$KS_OUT/katosim")
make -s -C "$SRC" O="$KS_OUT" "${KEEP[@]}" install DESTDIR="$INST" \
    PREFIX=/usr/local >"$T_TMP/install.log" 2>&1
check_eq "make install DESTDIR PREFIX=/usr/local exits 0" 0 "$?"
want="644 /usr/local/lib/systemd/system/kato-stress-agent.service
644 /usr/local/share/kato-stress/kato-stress-agent.env.example
644 /usr/local/share/kato-stress/quick_test_config.yaml
644 /usr/local/share/kato-stress/stress_config.yaml
755 /usr/local/bin/katosim
755 /usr/local/bin/run_stress_tests.sh
755 /usr/local/bin/stress-agent
755 /usr/local/bin/stress-master"
got=$(cd "$INST" && find . ! -type d -printf '%m /%P\n' | sort)
check_eq "installs exactly the expected files with their modes" \
    "$(echo "$want" | sort)" "$got"
check "installed binaries are the built ones" \
    cmp -s "$KS_OUT/stress-agent" "$INST/usr/local/bin/stress-agent"
check "installed configs are the repository's" \
    cmp -s "$SRC/stress_config.yaml" "$INST/usr/local/share/kato-stress/stress_config.yaml"
check "installed unit runs the installed agent" grep -q \
    '^ExecStart=/usr/local/bin/stress-agent ' \
    "$INST/usr/local/lib/systemd/system/kato-stress-agent.service"

# The installed wrapper, alone (no source tree, no KATO_STRESS_BIN, a PATH
# without the build folder): it finds its sibling master and the shared
# config. PREFIX=/usr in a second DESTDIR shows the unit path follows.
env -i PATH=/usr/bin:/bin "$INST/usr/local/bin/run_stress_tests.sh" --help \
    >"$T_TMP/ihelp" 2>&1
check_eq "installed wrapper --help exits 0" 0 "$?"
check "installed wrapper's default config is the installed one" grep -q \
    "default: $INST/usr/local/share/kato-stress/stress_config.yaml" "$T_TMP/ihelp"
printf 'test_scenarios:\n  burst: {burst_size: 0}\n' >"$T_TMP/bad.yaml"
env -i PATH=/usr/bin:/bin "$INST/usr/local/bin/run_stress_tests.sh" \
    -t concurrent -c "$T_TMP/bad.yaml" >/dev/null 2>"$T_TMP/ierr"
rc=$?
check "installed wrapper runs the installed master (its config error, exit 2)" \
    test "$rc" = 2 -a -n "$(grep 'bad.yaml:2:23' "$T_TMP/ierr")"
I2=$T_TMP/inst2
make -s -C "$SRC" O="$KS_OUT" "${KEEP[@]}" install DESTDIR="$I2" PREFIX=/usr \
    >>"$T_TMP/install.log" 2>&1
check "PREFIX=/usr: unit ExecStart is /usr/bin/stress-agent" grep -q \
    '^ExecStart=/usr/bin/stress-agent ' \
    "$I2/usr/lib/systemd/system/kato-stress-agent.service"
make -s -C "$SRC" O="$KS_OUT" uninstall DESTDIR="$I2" PREFIX=/usr \
    >>"$T_TMP/install.log" 2>&1
check_eq "make uninstall exits 0" 0 "$?"
check_eq "make uninstall removes every installed file" "" \
    "$(find "$I2" ! -type d)"
check "make uninstall removes share/kato-stress" test ! -e "$I2/usr/share/kato-stress"

# --- docker-compose.yml ---------------------------------------------------------
# dc VAR=VALUE... -- docker-compose config with only the settings given:
# none inherited from the caller's environment or an .env file.
dc() {
    local sets=()
    while [ "$1" != -- ]; do
        sets+=("$1")
        shift
    done
    shift
    env -u KATO_STRESS_TOKEN -u AGENTS -u TEST -u PROFILE -u STRESS_ARGS \
        -u KATO_URL -u KS_USER "${sets[@]}" \
        docker-compose --env-file "$T_TMP/empty.env" \
        -f "$SRC/docker-compose.yml" config "$@"
}
: >"$T_TMP/empty.env"
cd "$SRC" || exit 2
TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
dc -- >/dev/null 2>"$T_TMP/dc.err"
rc=$?
check "compose refuses to start without KATO_STRESS_TOKEN (not baked in)" \
    test "$rc" != 0 -a -n "$(grep KATO_STRESS_TOKEN "$T_TMP/dc.err")"
dc KATO_STRESS_TOKEN=x -- >"$T_TMP/dc-default.yml" 2>"$T_TMP/dc.err"
check_eq "docker-compose config validates the file (defaults)" 0 "$?"
$CHECK compose "$T_TMP/dc-default.yml" 1 2 /r /b >"$T_TMP/dc-default.sh"
(
    . "$T_TMP/dc-default.sh"
    n=$(echo "$MASTER_RAW" | sed -n 's/.*--agents \([0-9]*\).*/\1/p')
    [ "$n" = "$AGENT_SCALE" ] && [ "$n" -ge 1 ]
)
check "by default the master waits for as many agents as compose starts" test $? = 0

P_KATO=$(free_port)
P_CTL=$(free_port)
while [ "$P_CTL" = "$P_KATO" ]; do P_CTL=$(free_port); done
RESULTS=$T_TMP/results
mkdir -p "$RESULTS"
dc KATO_STRESS_TOKEN="$TOKEN" AGENTS=2 TEST=concurrent \
    STRESS_ARGS="--quick --agent-timeout 30" -- >"$T_TMP/dc.yml" 2>"$T_TMP/dc.err"
check_eq "docker-compose config validates the file (AGENTS=2)" 0 "$?"
$CHECK compose "$T_TMP/dc.yml" "$P_KATO" "$P_CTL" "$RESULTS" \
    "$INST/usr/local/bin" >"$T_TMP/dc.sh"
check_eq "compose services parsed" 0 "$?"
. "$T_TMP/dc.sh"
grep '^# mapping' "$T_TMP/dc.sh"
echo "# kato:   $KATO_RAW"
echo "# master: $MASTER_RAW"
echo "# agent:  $AGENT_RAW (x$AGENT_SCALE)"
check_eq "AGENTS=2 gives two agent containers" 2 "$AGENT_SCALE"
check "the master's --agents is AGENTS" grep -q -- "--agents 2 " <<<"$MASTER_RAW "
check_eq "the token reaches the master from the environment" \
    "KATO_STRESS_TOKEN=$TOKEN" "${MASTER_ENV[*]}"
check_eq "the token reaches the agents from the environment" \
    "KATO_STRESS_TOKEN=$TOKEN" "${AGENT_ENV[*]}"
check_eq "results volume is ./stress_test_results" \
    "$SRC/stress_test_results" "$VOLUME_SOURCE"
check "the master runs as a non-root user" \
    test -n "$MASTER_USER" -a "${MASTER_USER%%:*}" != 0 -a "${MASTER_USER%%:*}" != root
check_eq "agents wait for kato's health and the master" \
    "kato:service_healthy master:service_started" "$AGENT_DEPENDS"
for p in "${KATO_ARGV[0]}" "${MASTER_ARGV[0]}" "${AGENT_ARGV[0]}"; do
    check "service program $(basename "$p") is installed" test -x "$p"
done

# katosim's HEALTHCHECK (the image's, katosim stage) decides when the
# others may start: run it, with the loopback port.
hc=$($CHECK dockerfile-healthcheck "$SRC/deploy/Dockerfile" katosim)
hc_cmd=$(sed -n 's/.* CMD \(.*\)/\1/p' <<<"$hc")
check "katosim stage has a HEALTHCHECK on /health" grep -q "/health" <<<"$hc_cmd"
check_eq "runtime stage has no health check (batch master, portless agent)" \
    "HEALTHCHECK NONE" "$($CHECK dockerfile-healthcheck "$SRC/deploy/Dockerfile" runtime)"
check_eq "compose runs katosim as the katosim stage's CMD" \
    "$($CHECK dockerfile-cmd "$SRC/deploy/Dockerfile" katosim | jq -r 'join(" ")')" \
    "$KATO_RAW"
hc_cmd=${hc_cmd//127.0.0.1:$KATO_EXPOSE/127.0.0.1:$P_KATO}

# run_env LOG ENV-ARRAY-NAME ARGV... &: a service's process with its
# environment only. exec: the background job's pid is the process itself,
# so a signal sent to it reaches the program, as compose's stop does.
run_env() {
    local log=$1 envname="$2[@]"
    shift 2
    exec env -i PATH="$INST/usr/local/bin:/usr/bin:/bin" HOME="$T_TMP" \
        "${!envname}" "$@" >"$log" 2>&1
}
run_env "$T_TMP/kato.log" KATO_ENV "${KATO_ARGV[@]}" &
KATO_PID=$!
T_PIDS+=("$KATO_PID")
healthy=0
for i in $(seq 1 100); do
    if sh -c "$hc_cmd" >/dev/null 2>&1; then
        healthy=1
        break
    fi
    sleep 0.1
done
check "kato becomes healthy by its own HEALTHCHECK" test "$healthy" = 1
# shellcheck disable=SC2034 # lib.sh's katosim_metric reads it
KATO_URL=http://127.0.0.1:$P_KATO

# From an empty folder: nothing of the source tree is at hand.
mkdir -p "$T_TMP/wd"
cd "$T_TMP/wd" || exit 2
run_env "$T_TMP/master.log" MASTER_ENV timeout -k 5 120 "${MASTER_ARGV[@]}" &
MASTER_PID=$!
T_PIDS+=("$MASTER_PID")
AGENT_PIDS=()
for i in $(seq 1 "$AGENT_SCALE"); do
    run_env "$T_TMP/agent$i.log" AGENT_ENV "${AGENT_ARGV[@]}" &
    AGENT_PIDS+=($!)
    T_PIDS+=($!)
done
wait "$MASTER_PID"
rc=$?
# The shipped stress_config.yaml asks 1000 req/s, which a --quick run of
# 10 paced users cannot give: the cluster's exit code is 1, for that alone.
check_eq "the compose topology's run exits 1 (the default SLA's 1000 req/s)" 1 "$rc"
[ "$rc" = 1 ] || tail -n 20 "$T_TMP/master.log" "$T_TMP/agent1.log"
check_eq "the only violation is the throughput floor" \
    "concurrent_requests: Throughput below threshold" \
    "$(grep '⚠️' "$T_TMP/master.log" | sed 's/.*⚠️ *//; s/ ([^)]*)//g')"
J=$RESULTS/latest.json
R='.concurrent_requests.results'
check "results written to the volume" test -s "$J"
check_eq "status completed" completed "$(jq -r '.concurrent_requests.status' "$J" 2>/dev/null)"
check_eq "the master took exactly AGENTS agents" 2 "$(jq -r "$R.agents | length" "$J" 2>/dev/null)"
check_eq "both agents carried load" 2 \
    "$(jq -r "[$R.agents[] | select(.requests > 0)] | length" "$J" 2>/dev/null)"
tool_total=$(jq -r "$R.total_requests" "$J" 2>/dev/null)
check "some load was generated" test "${tool_total:-0}" -gt 10
check_eq "total requests equal katosim's counters" \
    "$(katosim_metric '.load_requests')" "$tool_total"
check_eq "no errors" 0 "$(jq -r "$R.total_failures" "$J" 2>/dev/null)"
check_eq "the installed default config was used" \
    "$INST/usr/local/share/kato-stress/stress_config.yaml" \
    "$(jq -r "$R.config_file" "$J" 2>/dev/null)"
junit=$(ls "$RESULTS"/junit_*.xml 2>/dev/null | head -n 1)
html=$(ls "$RESULTS"/report_*.html 2>/dev/null | head -n 1)
check "JUnit XML written (the Jenkinsfile's junit_*.xml)" test -s "$junit"
check "HTML report written (the Jenkinsfile's report_*.html)" test -s "$html"
# --abort-on-container-exit stops the agents with SIGTERM: they stop, exit 0.
for p in "${AGENT_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null
done
arc=
for p in "${AGENT_PIDS[@]}"; do
    wait "$p"
    arc="$arc$? "
done
check_eq "agents exit 0 on SIGTERM (compose's stop)" "0 0 " "$arc"

# --- the systemd unit's command, run ----------------------------------------------
# ExecStart as systemd would expand it from the example EnvironmentFile:
# ${KATO_STRESS_MASTER} one word, $KATO_STRESS_AGENT_ARGS split, %d the
# credentials folder holding the token. Mapped to loopback: the example's
# master and target host:ports become this test's, /usr/local/bin the
# staged install. A master that takes only this agent must complete a run.
U=$SRC/deploy/systemd/kato-stress-agent.service
E=$SRC/deploy/systemd/kato-stress-agent.env
P_CTL2=$(free_port)
CRED=$T_TMP/cred
mkdir -p "$CRED"
(umask 077 && printf '%s\n' "$TOKEN" >"$CRED/token")
u_master=$(sed -n 's/^KATO_STRESS_MASTER=//p' "$E")
u_args=$(sed -n 's/^KATO_STRESS_AGENT_ARGS=//p' "$E")
u_target=$(grep -o -- '--allow-target [^ ]*' <<<"$u_args" | awk '{print $2}')
echo "# unit mapping: $u_master -> tcp://127.0.0.1:$P_CTL2," \
    "$u_target -> 127.0.0.1:$P_KATO, %d -> $CRED"
u_args=${u_args//$u_target/127.0.0.1:$P_KATO}
exec_line=$(sed -n 's/^ExecStart=//p' "$U")
exec_line=${exec_line//\$\{KATO_STRESS_MASTER\}/tcp://127.0.0.1:$P_CTL2}
exec_line=${exec_line//%d/$CRED}
exec_line=${exec_line//\$KATO_STRESS_AGENT_ARGS/$u_args}
exec_line=${exec_line//\/usr\/local\/bin\//$INST/usr/local/bin/}
read -r -a UNIT_ARGV <<<"$exec_line"
OUT2=$T_TMP/results-unit
# Thresholds a loaded test machine always meets: the exit code is 0 unless
# the agent could not join, was refused the target or lost requests.
printf 'performance_thresholds:\n  response_time_p99_max: 10000\n  max_error_rate: 0.0\n' \
    >"$T_TMP/unit.yaml"
"$INST/usr/local/bin/stress-master" --agents 1 --config "$T_TMP/unit.yaml" \
    --listen "tcp://127.0.0.1:$P_CTL2" --token-file "$CRED/token" \
    --url "$KATO_URL" --test concurrent --quick --agent-timeout 30 \
    --output "$OUT2" >"$T_TMP/master2.log" 2>&1 &
M2=$!
T_PIDS+=("$M2")
env -i PATH=/usr/bin:/bin "${UNIT_ARGV[@]}" >"$T_TMP/unit-agent.log" 2>&1 &
A2=$!
T_PIDS+=("$A2")
wait "$M2"
rc=$?
check_eq "a run with the unit's agent as its only agent exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 10 "$T_TMP/master2.log" "$T_TMP/unit-agent.log"
check_eq "the unit's agent took part, allowed to the target" 1 \
    "$(jq -r '[.concurrent_requests.results.agents[] | select(.requests > 0)] | length' \
        "$OUT2/latest.json" 2>/dev/null)"
kill -TERM "$A2" 2>/dev/null
wait "$A2"
check_eq "the unit's agent exits 0 on systemd's SIGTERM" 0 "$?"

# --- Dockerfile ---------------------------------------------------------------
DF=$SRC/deploy/Dockerfile
check "the Dockerfile is multi-stage on Debian 12" \
    test "$(grep -c '^ARG DEBIAN_IMAGE=debian:bookworm' "$DF")" = 1 -a \
    "$(grep -c '^FROM ${DEBIAN_IMAGE} AS \(build\|runtime\)$' "$DF")" = 2
check "the runtime stage runs as a non-root user" \
    grep -q '^USER 10001:10001$' "$DF"
check "no token in the image" test -z "$(grep -i 'token' "$DF" | grep -v '^#')"
CTX=$T_TMP/ctx
mkdir -p "$CTX"
bad=
while read -r s; do
    if [ ! -e "$SRC/$s" ]; then
        bad="$bad $s(missing)"
        continue
    fi
    # The .dockerignore is an allow-list: each COPY source must be on it.
    grep -qx "!${s%/}/\?" "$SRC/.dockerignore" || bad="$bad $s(ignored)"
    mkdir -p "$CTX/$(dirname "${s%/}")"
    cp -r "$SRC/${s%/}" "$CTX/${s%/}"
done < <($CHECK dockerfile-copies "$DF")
check_eq "every COPY source exists and passes .dockerignore" "" "$bad"
check_eq ".dockerignore leaves out everything else" "*" \
    "$(grep -v '^#' "$SRC/.dockerignore" | grep -v '^!' | grep -v '^$')"
# The build stage's commands in a copy of exactly that context.
(cd "$CTX" && make -j2 VERSION=ctx all >"$T_TMP/ctx.log" 2>&1 &&
    make VERSION=ctx install PREFIX=/usr/local DESTDIR="$CTX/stage" \
        >>"$T_TMP/ctx.log" 2>&1)
check_eq "the build stage's make and make install work from the COPYed context" 0 "$?"
check "the staged tree holds the three binaries and the wrapper" test \
    -x "$CTX/stage/usr/local/bin/stress-master" -a \
    -x "$CTX/stage/usr/local/bin/stress-agent" -a \
    -x "$CTX/stage/usr/local/bin/katosim" -a \
    -x "$CTX/stage/usr/local/bin/run_stress_tests.sh"

# Libraries: every shared object the binaries load comes from a package
# the runtime stage installs, from one of their dependencies, or from the
# base image (Essential / required); a direct (NEEDED) one must be listed
# (but for libc6's).
PKGS=$($CHECK dockerfile-packages "$DF" runtime | tr '\n' ' ')
echo "# runtime packages: $PKGS"
check "no -dev package in the runtime stage" test -z "$(tr ' ' '\n' <<<"$PKGS" | grep -- '-dev$')"
closure=$(apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances $PKGS 2>/dev/null |
    grep -v '^ ' | sed 's/:.*//' | sort -u)
pkg_of() { # LIBPATH -> package (merged /usr: try both spellings)
    local p=$1 r
    for c in "$p" "$(readlink -f "$p")" "${p#/usr}" "/usr$p"; do
        r=$(dpkg -S "$c" 2>/dev/null | head -n 1 | sed 's/:.*//; s/,.*//')
        [ -n "$r" ] && { echo "$r"; return; }
    done
    echo "?$p"
}
# A `make asan` / `make tsan` build (KS_OUT=build/asan) also loads its
# sanitizer's runtime and the libstdc++ that pulls in: no image ships
# those, they are not the runtime stage's to list.
san_pkg() { # PACKAGE BINARY-IS-INSTRUMENTED
    case $1 in
    libasan[0-9]* | libubsan[0-9]* | libtsan[0-9]* | liblsan[0-9]*) return 0 ;;
    libstdc++6) [ "$2" = 1 ] ;;
    *) return 1 ;;
    esac
}
bad=
needed_bad=
for b in stress-master stress-agent katosim; do
    ldd "$KS_OUT/$b" >"$T_TMP/ldd.$b" 2>&1
    grep -q 'not found' "$T_TMP/ldd.$b" && bad="$bad $b:not-found"
    san=0
    grep -Eq 'lib(a|t|ub)san\.so' "$T_TMP/ldd.$b" && san=1
    while read -r lib; do
        pk=$(pkg_of "$lib")
        san_pkg "$pk" "$san" && continue
        if grep -qx "$pk" <<<"$(tr ' ' '\n' <<<"$PKGS")"; then continue; fi
        if grep -qx "$pk" <<<"$closure"; then continue; fi
        pr=$(dpkg-query -W -f '${Priority} ${Essential}' "$pk" 2>/dev/null)
        case $pr in required* | *yes) continue ;; esac
        bad="$bad $b:$lib($pk)"
    done < <(awk '/=> \// {print $3}' "$T_TMP/ldd.$b")
    for so in $(readelf -d "$KS_OUT/$b" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
        lib=$(awk -v s="$so" '$1 == s {print $3}' "$T_TMP/ldd.$b")
        pk=$(pkg_of "$lib")
        # libc6 (libc, libm) is in every Debian image.
        [ "$pk" = libc6 ] && continue
        san_pkg "$pk" "$san" && continue
        grep -qx "$pk" <<<"$(tr ' ' '\n' <<<"$PKGS")" || needed_bad="$needed_bad $b:$so($pk)"
    done
done
check_eq "the runtime stage provides every library ldd lists" "" "$bad"
check_eq "every directly linked library's package is listed" "" "$needed_bad"

# --- Jenkinsfile and GitHub workflow ---------------------------------------------
# Every program of ours they run exists (./X in the repository, build/X
# built by make), every flag they pass is in its --help, every make target
# exists.
check_pipeline() { # FILE
    local f=$1 name prog flags args fl bad='' seen=
    name=$(basename "$f")
    while IFS=$'\t' read -r prog flags args; do
        [ "$flags" = - ] && flags=
        [ "$args" = - ] && args=
        case $prog in
        ./run_stress_tests.sh) exe=$SRC/run_stress_tests.sh ;;
        build/stress-master | build/stress-agent | build/katosim)
            exe=$KS_OUT/${prog#build/} ;;
        make)
            for a in $args; do
                case $a in *=*) continue ;; esac
                grep -q "^$a:" "$SRC/Makefile" || bad="$bad make:$a"
                seen="$seen make:$a"
            done
            continue
            ;;
        =)
            # A flag kept in a variable: some program of ours in that
            # block must take it.
            read -r fl progs <<<"$flags $args"
            local okf=0 p
            for p in $progs; do
                case $p in
                ./run_stress_tests.sh) accepts "$SRC/run_stress_tests.sh" "$fl" && okf=1 ;;
                build/*) accepts "$KS_OUT/${p#build/}" "$fl" && okf=1 ;;
                esac
            done
            [ $okf = 1 ] || bad="$bad $fl(in a variable)"
            seen="$seen $fl"
            continue
            ;;
        *) continue ;;
        esac
        if [ ! -x "$exe" ]; then
            bad="$bad $prog(missing)"
            continue
        fi
        seen="$seen $prog"
        for fl in $flags; do
            accepts "$exe" "$fl" || bad="$bad $prog:$fl"
        done
    done < <($CHECK invocations "$f")
    echo "# $name runs:$seen"
    check_eq "$name: every program exists and takes every flag given" "" "$bad"
}
check_pipeline "$SRC/deploy/Jenkinsfile"
check_pipeline "$SRC/deploy/github-actions.yml"
JF=$SRC/deploy/Jenkinsfile
for s in Setup 'Stress Test' 'Analyze Results'; do
    check "Jenkinsfile has stage '$s'" grep -q "stage('$s')" "$JF"
done
check "Jenkinsfile runs the wrapper (its exit code fails the stage)" \
    grep -q '^ *\./run_stress_tests\.sh ' "$JF"
check "Jenkinsfile: junit on junit_*.xml of the output folder" \
    grep -q "junit testResults: 'stress_test_results/junit_\*.xml'" "$JF"
check "Jenkinsfile: publishHTML on the report copied from report_*.html" \
    grep -q 'report_\*.html' "$JF"
check "Jenkinsfile: publishHTML and archiveArtifacts" \
    test -n "$(grep publishHTML "$JF")" -a -n "$(grep archiveArtifacts "$JF")"
check "Jenkinsfile: the results folder is the one the stress run writes" \
    grep -q "RESULTS = 'stress_test_results'" "$JF"
WF=$SRC/deploy/github-actions.yml
$CHECK workflow-facts "$WF" >"$T_TMP/wf"
check "workflow runs nightly" grep -q '^schedule=\[{"cron": "[0-9]* [0-9]* \* \* \*"}\]' "$T_TMP/wf"
check "workflow can be run by hand" grep -q '^dispatch=True' "$T_TMP/wf"
check "workflow uploads the results folder, even after a failed run" \
    test "$(grep '^upload_path=' "$T_TMP/wf")" = "upload_path=stress_test_results/" \
    -a "$(grep '^upload_if=' "$T_TMP/wf")" = "upload_if=always()"
check "workflow runs the quick suite" grep -q './run_stress_tests.sh --quick' "$WF"
check "workflow does not hide the exit code" \
    test -z "$(grep -E 'continue-on-error|\|\| *true' "$WF")"

# --- systemd unit ---------------------------------------------------------------
exec_line=$(sed -n 's/^ExecStart=//p' "$U")
exe=$(awk '{print $1}' <<<"$exec_line")
check_eq "unit runs stress-agent from PREFIX/bin" /usr/local/bin/stress-agent "$exe"
bad=
for fl in $(grep -o -- '--[a-z-]*' <<<"$exec_line") \
    $(sed -n 's/^KATO_STRESS_AGENT_ARGS=//p' "$E" | grep -o -- '--[a-z-]*'); do
    accepts "$KS_OUT/stress-agent" "$fl" || bad="$bad $fl"
done
check_eq "unit and its EnvironmentFile pass only flags stress-agent takes" "" "$bad"
check "unit reads the token from a file (credential)" \
    test -n "$(grep -- '--token-file %d/token' "$U")" -a \
    -n "$(grep '^LoadCredential=token:' "$U")"
check "unit restarts on failure, not on a usage error" test -n \
    "$(grep '^Restart=on-failure$' "$U")" -a -n "$(grep '^RestartPreventExitStatus=2$' "$U")"
check "unit runs as a dynamic user" grep -q '^DynamicUser=yes$' "$U"
check "unit has an EnvironmentFile for the master URL and args" test -n \
    "$(grep '^EnvironmentFile=' "$U")" -a -n "$(grep '^KATO_STRESS_MASTER=tcp://' "$E")"
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$T_TMP/unit"
    sed "s|/usr/local/bin/|$KS_OUT/|" "$U" >"$T_TMP/unit/kato-stress-agent.service"
    systemd-analyze verify "$T_TMP/unit/kato-stress-agent.service" \
        >"$T_TMP/verify.log" 2>&1
    rc=$?
    check "systemd-analyze verify: clean (exit $rc)" \
        test "$rc" = 0 -a ! -s "$T_TMP/verify.log"
    [ -s "$T_TMP/verify.log" ] && cat "$T_TMP/verify.log"
else
    ok "systemd-analyze not installed: unit checked by its flags above"
fi
t_done
