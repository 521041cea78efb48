#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The original suite's command line (run_stress_tests.sh) in front of
# stress-master: checks the test and profile names, then execs the master,
# so the master's exit code is this script's (0 pass, 1 threshold violated,
# 2 usage/config error, 3 target unreachable, 130 interrupted). It does not
# start KATO, install anything or rewrite the config: --quick is the
# master's own (config_apply_quick), not a sed over a copy of the file.
set -u

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=$(basename "$0")

# Two layouts: the source tree (the script beside stress_config.yaml and
# build/) and an install (`make install`: the script beside stress-master
# in PREFIX/bin, the configs in PREFIX/share/kato-stress/).
SHARE_DIR=$(cd "$SCRIPT_DIR/../share/kato-stress" 2>/dev/null && pwd)
if [ -f "$SCRIPT_DIR/stress_config.yaml" ] || [ -z "$SHARE_DIR" ]; then
    DEFAULT_CONFIG=$SCRIPT_DIR/stress_config.yaml
else
    DEFAULT_CONFIG=$SHARE_DIR/stress_config.yaml
fi

TESTS="concurrent sustained burst pool memory recovery all"
PROFILES="light moderate heavy extreme burst endurance"

usage() {
    cat <<EOF
usage: $PROG [options]

Runs the KATO stress tests with stress-master.

  -t, --test TEST        concurrent|sustained|burst|pool|memory|recovery|all
                         (default: all)
  -p, --profile PROFILE  light|moderate|heavy|extreme|burst|endurance
                         (default: moderate; the load profile of sustained;
                         all runs profiles_for_all instead)
  -c, --config FILE      configuration (default: $DEFAULT_CONFIG)
  -q, --quick            shorter runs (every test capped; the file is untouched)
  -v, --verbose          debug logging
  -h, --help             this help

Passed to stress-master as given (see stress-master --help):
  --url URL              KATO's base URL (overrides environment.kato_base_url)
  --agents N             wait for N remote agents
  --local-agents N       agent processes started on this host (default 1)
  --output DIR           results folder (overrides reporting.output_directory)
  --threads N            worker threads per local agent
  --listen URL           where remote agents dial in
  --token-file FILE      pre-shared token for remote agents
  --seed N               run seed
  --agent-timeout S      how long to wait for agents
  --baseline FILE        compare with an earlier results JSON (a saved
                         latest.json; enables reporting.baseline_comparison)

stress-master is looked up as \$KATO_STRESS_BIN when set, else
$SCRIPT_DIR/build/stress-master, else $SCRIPT_DIR/stress-master
(an install), else on PATH.

Exit codes are stress-master's: 0 all thresholds met, 1 a threshold
violated, 2 usage or configuration error, 3 target unreachable or
infrastructure failure, 130 interrupted.
EOF
}

die_usage() { # message
    echo "$PROG: $1" >&2
    usage >&2
    exit 2
}

in_list() { # word list
    local w
    for w in $2; do
        [ "$w" = "$1" ] && return 0
    done
    return 1
}

TEST=all
PROFILE=moderate
PROFILE_SET=0
CONFIG_FILE=$DEFAULT_CONFIG
QUICK=0
VERBOSE=0
PASS=()

while [ $# -gt 0 ]; do
    opt=$1
    val=
    has_val=0
    # --name=value is accepted for every long option that takes a value.
    case $opt in
    --*=*)
        val=${opt#*=}
        opt=${opt%%=*}
        has_val=1
        ;;
    esac
    case $opt in
    -t | --test | -p | --profile | -c | --config | --url | --agents | \
        --local-agents | --output | --threads | --listen | --token-file | \
        --seed | --agent-timeout | --baseline)
        if [ $has_val = 0 ]; then
            [ $# -ge 2 ] || die_usage "option $opt needs a value"
            val=$2
            shift
        fi
        ;;
    -q | --quick | -v | --verbose | -h | --help)
        [ $has_val = 0 ] || die_usage "option $opt takes no value"
        ;;
    esac
    case $opt in
    -t | --test) TEST=$val ;;
    -p | --profile)
        PROFILE=$val
        PROFILE_SET=1
        ;;
    -c | --config) CONFIG_FILE=$val ;;
    -q | --quick) QUICK=1 ;;
    -v | --verbose) VERBOSE=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --url | --agents | --local-agents | --output | --threads | --listen | \
        --token-file | --seed | --agent-timeout | --baseline)
        PASS+=("$opt" "$val")
        ;;
    *) die_usage "unknown option: $1" ;;
    esac
    shift
done

in_list "$TEST" "$TESTS" ||
    die_usage "invalid test '$TEST' (valid: ${TESTS// /, })"
in_list "$PROFILE" "$PROFILES" ||
    die_usage "invalid profile '$PROFILE' (valid: ${PROFILES// /, })"

if [ -n "${KATO_STRESS_BIN:-}" ]; then
    MASTER=$KATO_STRESS_BIN
    if [ ! -x "$MASTER" ]; then
        echo "$PROG: KATO_STRESS_BIN=$MASTER is not an executable file" >&2
        exit 2
    fi
elif [ -x "$SCRIPT_DIR/build/stress-master" ]; then
    MASTER=$SCRIPT_DIR/build/stress-master
elif [ -x "$SCRIPT_DIR/stress-master" ]; then
    MASTER=$SCRIPT_DIR/stress-master
elif MASTER=$(command -v stress-master); then
    :
else
    echo "$PROG: stress-master not found (looked in \$KATO_STRESS_BIN," \
        "$SCRIPT_DIR/build/, $SCRIPT_DIR/ and PATH): run make first" >&2
    exit 2
fi

# --profile only when given: the master's default is moderate, and --test
# all runs test_scenarios.sustained.profiles_for_all (it warns about an
# explicit --profile, which it ignores).
ARGS=(--config "$CONFIG_FILE" --test "$TEST")
[ $PROFILE_SET = 1 ] && ARGS+=(--profile "$PROFILE")
[ $QUICK = 1 ] && ARGS+=(--quick)
[ $VERBOSE = 1 ] && ARGS+=(--verbose)
exec "$MASTER" "${ARGS[@]}" "${PASS[@]}"
