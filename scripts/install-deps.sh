#!/bin/sh
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the Debian 12 packages ehttpd needs that are not there yet.
# usage: scripts/install-deps.sh [build|test|bench|fuzz]...
set -eu

build="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libglib2.0-dev-bin libglib2.0-bin
  libsoup-3.0-dev libgnutls28-dev libjson-glib-dev libsqlite3-dev glib-networking"
run="dbus-daemon dbus-bin openssl curl"
test="python3 python3-jwt python3-cryptography python3-jwcrypto gnutls-bin util-linux sqlite3
  softhsm2 faketime"
bench="nginx-light wrk apache2-utils openssl python3 coreutils"
fuzz="clang libclang-rt-14-dev"

wanted=""
for set in "${@:-build}"; do
  case "$set" in
    build) wanted="$wanted $build $run" ;;
    test) wanted="$wanted $build $run $test" ;;
    bench) wanted="$wanted $build $run $bench" ;;
    fuzz) wanted="$wanted $build $fuzz" ;;
    *) echo "install-deps: unknown set '$set'" >&2; exit 2 ;;
  esac
done

missing=""
for pkg in $wanted; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-deps: run as root, or install:$missing" >&2
    exit 1
  fi
else
  SUDO=""
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
