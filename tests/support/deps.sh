#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages kato-stress needs to build, run and test.
# As root it runs apt-get itself; otherwise it prints the one line to run.
set -eu
# clang and libclang-rt-14-dev (libclang_rt.fuzzer-x86_64.a): make fuzz.
# docker-compose (and python3-yaml): tests/integration/deploy_test.sh
# validates docker-compose.yml with it (no Docker engine needed).
# openssl: the TLS tests make their throwaway CA and certificates with it.
# systemd: systemd-analyze verifies the agent's unit (deploy_test).
# chromium: html_test renders the report headless and checks the screenshot.
# Without these three the checks would be skipped, so they are installed.
PKGS="build-essential pkg-config libnng-dev libcurl4-openssl-dev libyaml-dev \
libmsgpack-dev libmicrohttpd-dev libcmocka-dev curl jq libxml2-utils wrk \
iproute2 procps psmisc clang-format cppcheck python3 clang libclang-rt-14-dev \
docker-compose python3-yaml openssl systemd chromium"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "deps: missing packages:$missing"
if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    echo "deps: installed:$missing"
else
    echo "deps: run as root:  apt-get update && apt-get install -y$missing"
    exit 1
fi
