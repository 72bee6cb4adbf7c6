#!/bin/bash
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The mp role's benchmark, over its real client protocol (bench/eh-mp-bench.c:
# distinct clients with their own keys, HTTPS keep-alive, a proof of
# possession on every call), with the references it is bounded by measured
# in the same run:
#   0. references: GnuTLS ES256/EdDSA sign and verify per second on one core
#      (eh-mp-bench --phases crypto) and SQLite durable commits per second on
#      this disk (eh-ca-bench --only commit)
#   1. durable registrations per second: BENCH_CLIENTS clients register once
#      with a self-timed proof, one request each (auto-approval, so each is
#      one durable transaction); phase register-nonce (in BENCH_PHASES instead
#      of register) measures the nonce way, GET nonce then POST register
#   2. the renewal storm: every one of them asks for a token at once
#   3. steady token issuance for BENCH_SECONDS, round robin over them; then
#      2 and 3 again with self-timed proofs ({"jti", "iat"}: no nonce request)
#   4. VmRSS of the MP with BENCH_RSS_CLIENTS registered clients: the rest
#      register, the MP restarts, BENCH_RSS_SAMPLE new clients register and
#      get tokens, and the MP's VmRSS and peak (VmHWM) are read
# Each phase of 1-3 also reports the MP's CPU time per call (user + system,
# /proc/PID/stat), a figure other load on the machine hardly moves.
# BENCH_PHASES picks phases of 1-3 (eh-mp-bench --phases; keygen and
# register or register-nonce are always needed first); BENCH_RSS=0 skips 4.
# BENCH_QUICK=0 sends every request through libsoup (no quick answers).
# usage: bench/mp.sh [BUILD_DIR]      (default: build)
# Nothing passes or fails on speed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=mp.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_start "$@"

clients=${BENCH_CLIENTS:-100000}
rss_clients=${BENCH_RSS_CLIENTS:-250000}
rss_sample=${BENCH_RSS_SAMPLE:-1000}
connections=${BENCH_CONNECTIONS:-16}
secs=${BENCH_SECONDS:-10}
key_type=${BENCH_KEY_TYPE:-p256}
ready_timeout=${BENCH_READY_TIMEOUT:-60}
phases=${BENCH_PHASES:-keygen,register,storm,renew,storm-timed,renew-timed}
measure_rss=${BENCH_RSS:-1}

work=""
eh_pid=""

cleanup() {
  local status=$?
  set +e
  stop_pid "$eh_pid"
  eh_pid=""
  remove_work "$status"
  exit "$status"
}

for n in clients rss_clients rss_sample connections secs; do
  case "${!n}" in '' | *[!0-9]* | 0) die "knob $n must be a positive integer" ;; esac
done
[ "$rss_clients" -ge "$clients" ] || die "BENCH_RSS_CLIENTS must be at least BENCH_CLIENTS"
for f in core/ehttpd core/ctl/ehttpctl bench/eh-mp-bench bench/eh-ca-bench plugins/ca/ehttpd-plugin-ca.so \
  plugins/mp/ehttpd-plugin-mp.so; do
  [ -e "$build/$f" ] || die "$build/$f is missing (run make build)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/eh-bench-mp.XXXXXX")
trap cleanup EXIT INT TERM
mkdir -p "$work/plugins" "$work/state"
chmod 0700 "$work/state"
install -m 0644 "$build/plugins/ca/ehttpd-plugin-ca.so" "$build/plugins/mp/ehttpd-plugin-mp.so" "$work/plugins/"
ehttpctl="$build/core/ctl/ehttpctl"
mpbench="$build/bench/eh-mp-bench"

cat >"$work/ehttpd.conf" <<CONF
[core]
state-dir=$work/state
plugin-dir=$work/plugins
plugins=ca,mp
http-listen=127.0.0.1:0
https-listen=127.0.0.1:0
access-log=false
max-connections-per-address=1024
[mp]
auto-approve=true
CONF
front_config >>"$work/ehttpd.conf"

# start_site: the site host (ca, mp), until its certificate and the MP's
# token signing key are there; sets eh_pid and url
start_site() {
  local deadline=$(($(date +%s) + ready_timeout)) status
  "$build/core/ehttpd" --config "$work/ehttpd.conf" --session >>"$work/ehttpd.log" 2>&1 &
  eh_pid=$!
  url=""
  while :; do
    kill -0 "$eh_pid" 2>/dev/null || {
      tail -n 30 "$work/ehttpd.log" >&2
      die "ehttpd died at start (its log above)"
    }
    [ "$(date +%s)" -lt "$deadline" ] || die "the site was not ready within $ready_timeout s"
    status=$("$ehttpctl" --session --json status 2>/dev/null) || status=""
    url=$(printf '%s' "$status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
if s.get("certificate"):
    print(next(u for u in s["listeners"] if u.startswith("https://")))' 2>/dev/null) || url=""
    if [ -n "$url" ] && "$ehttpctl" --session --json mp token-keys 2>/dev/null | grep -q '"active"'; then
      break
    fi
    sleep 0.1
  done
}

rss_mib() {
  awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

step "0. references on this machine"
"$mpbench" --url https://127.0.0.1:1 --root /dev/null --phases crypto --clients 1 | tee "$work/crypto.txt"
"$build/bench/eh-ca-bench" --dir "$work" --only commit --seconds 3 | tee "$work/commit.txt"

step "1-3. $clients clients ($key_type keys), $connections keep-alive connections"
start_site
root="$work/state/plugins/ca/root.pem"
"$mpbench" --url "$url" --root "$root" --clients "$clients" --connections "$connections" \
  --key-type "$key_type" --seconds "$secs" --phases "$phases" --server-pid "$eh_pid" | tee "$work/run.txt"
answered=$("$ehttpctl" --session status 2>/dev/null | sed -n 's/^requests: *//p')
say "  the MP's requests: ${answered:-?}"

if [ "$measure_rss" != 0 ]; then
  step "4. VmRSS with $rss_clients registered clients"
  if [ "$rss_clients" -gt "$clients" ]; then
    "$mpbench" --url "$url" --root "$root" --clients $((rss_clients - clients)) \
      --connections "$connections" --key-type "$key_type" --phases keygen,register | tee "$work/more.txt"
  fi
  say "    MP before restart: $(rss_mib "$eh_pid") MiB"
  stop_pid "$eh_pid"
  start_site
  say "    MP after restart, idle: $(rss_mib "$eh_pid") MiB"
  "$mpbench" --url "$url" --root "$root" --clients "$rss_sample" --connections "$connections" \
    --key-type "$key_type" --phases keygen,register,storm >"$work/after.txt"
  grep '^result' "$work/after.txt" | sed 's/^/    /'
  rss=$(rss_mib "$eh_pid")
  peak=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$eh_pid/status")
  registered=$("$ehttpctl" --session client list --limit 1 2>/dev/null | sed -n 's/.* of \([0-9]*\);.*/\1/p')
  [ -n "$registered" ] || registered='?'
fi

step "summary"
value() { grep "phase=$1 " "$work/run.txt" | sed -n "s/.*[[:space:]]$2=\([^ ]*\).*/\1/p"; }
storm_secs=$(value storm seconds)
storm_errors=$(value storm errors)
renew=$(value renew rate)
timed_secs=$(value storm-timed seconds)
timed_errors=$(value storm-timed errors)
renew_timed=$(value renew-timed rate)
verify=$(grep "alg=$( [ "$key_type" = ed25519 ] && echo EdDSA || echo ES256) " "$work/crypto.txt" | sed 's/.*verify=\([^ ]*\).*/\1/')
sign=$(grep 'alg=ES256 ' "$work/crypto.txt" | sed 's/.*sign=\([^ ]*\).*/\1/')
commit=$(field "$work/commit.txt" rate)
for phase in register register-nonce; do
  [ -n "$(value "$phase" rate)" ] || continue
  way=$([ "$phase" = register ] && echo "self-timed, one request" || echo "with a nonce, two requests")
  say "registrations/s ($way): $(value "$phase" rate), MP CPU $(value "$phase" server_cpu_us) µs each (target ≥ 2,000; SQLite durable commits alone: $commit/s)"
done
say "renewal storm: $clients clients in $storm_secs s, $storm_errors errors; self-timed proofs: $timed_secs s, $timed_errors errors (target ≤ 60 s, 0 errors)"
say "steady token issuance: $renew/s with a nonce, $renew_timed/s self-timed (target ≥ 3,000; one core's $key_type verify $verify/s, ES256 sign $sign/s: self-timed / verify $(ratio "$renew_timed" "$verify"))"
say "MP CPU per call: token $(value renew server_cpu_us) µs with a nonce (two requests), $(value renew-timed server_cpu_us) µs self-timed; quick answers $([ "${BENCH_QUICK:-1}" = 0 ] && echo "off (BENCH_QUICK=0)" || echo on)"
[ "$measure_rss" = 0 ] ||
  say "MP VmRSS with $registered registered clients: $rss MiB now, $peak MiB peak (target < 200 MiB)"
