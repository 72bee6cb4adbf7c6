#!/bin/bash
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The cmg roles' benchmark, short (about a minute): a site host (ca, mp, dp,
# cmg-connector) and a gateway host (cmg), then
#   1. client token renewals per second through the gateway vs direct to the
#      MP (target ≥ 0.5×)
#   2. a 64 MiB download through the gateway vs direct from the DP (≥ 0.7×)
#   3. 1,000 concurrent clients held by the gateway, each asking twice (0 errors)
# usage: bench/cmg.sh [BUILD_DIR]      (default: build)
# Each download also gives the CPU milliseconds per MiB of each ehttpd process
# and of curl, each renewal the CPU microseconds of each host (robust where
# MiB/s and renewals/s move with the machine's load).
# Knobs: BENCH_SECONDS (8), BENCH_WORKERS (2 processes), BENCH_THREADS (4 per
# process), BENCH_DOWNLOADS (2), BENCH_CLIENTS (1000), BENCH_KEEP,
# BENCH_PHASES (renewals,download,held: the phases to run), BENCH_PERF=DIR
# (perf record of both processes during the downloads through the gateway;
# BENCH_PERF_CALLGRAPH, default fp, e.g. dwarf,8192).
# Nothing passes or fails on speed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=cmg.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_start "$@"

need_tool curl curl
need_tool dbus-daemon dbus-daemon
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing (Debian package python3)"
[ -x "$build/core/ehttpd" ] || die "$build/core/ehttpd is missing (run make build)"
for p in ca/ehttpd-plugin-ca mp/ehttpd-plugin-mp dp/ehttpd-plugin-dp cmg/ehttpd-plugin-cmg \
  cmg-connector/ehttpd-plugin-cmg-connector; do
  [ -f "$build/plugins/$p.so" ] || die "$build/plugins/$p.so is missing (run make build)"
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
say "cmg.sh: $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg) at start"
EH_BUILD_ROOT="$build" /usr/bin/python3 "$top/bench/cmg.py" | tee "$out"

get() { sed -n "s/^$1=//p" "$out"; }
step "summary"
printf '%-44s %12s %12s %8s %s\n' "" "gateway" "direct" "ratio" "target"
printf '%-44s %12s %12s %8s %s\n' "client token renewals /s" "$(get renewals_gateway_per_s)" \
  "$(get renewals_direct_per_s)" "$(ratio "$(get renewals_gateway_per_s)" "$(get renewals_direct_per_s)")" "≥ 0.5"
printf '%-44s %12s %12s %8s %s\n' "64 MiB download MiB/s" "$(get download_gateway_mib_s)" \
  "$(get download_direct_mib_s)" "$(ratio "$(get download_gateway_mib_s)" "$(get download_direct_mib_s)")" "≥ 0.7"
printf '%-44s %12s %12s\n' "  CPU ms per MiB: site host" "$(get download_gateway_cpu_ms_per_mib_site)" \
  "$(get download_direct_cpu_ms_per_mib_site)"
printf '%-44s %12s %12s\n' "  CPU ms per MiB: gateway host" "$(get download_gateway_cpu_ms_per_mib_gateway)" ""
printf '%-44s %12s %12s\n' "  CPU ms per MiB: curl" "$(get download_gateway_cpu_ms_per_mib_curl)" \
  "$(get download_direct_cpu_ms_per_mib_curl)"
printf '%-44s %12s\n' "clients held at once / errors" "$(get held_clients) / $(get held_errors)"
printf '%-44s %12s\n' "gateway peak VmRSS (KiB)" "$(get gateway_peak_rss_kib)"
