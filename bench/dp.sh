#!/bin/bash
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The dp role's benchmark: token-authenticated downloads next to nginx
# serving the same files over HTTPS (TLS 1.3, ECDSA P-256 both), in one run.
#   0. idle VmRSS of a DP-only host (plugins=dp), a core-only host and nginx
#   1. 16 MiB download throughput, keep-alive (wrk -c4), ehttpd vs nginx
#   2. 1 KiB downloads, keep-alive (wrk -c50), ehttpd vs nginx, and the
#      token check's cost: the same DP's anonymous path over HTTPS (check
#      off) in turn with the token path; /test/1k (test-echo) beside them
#   3. 4,000 concurrent connections on one DP (wrk -c4000), errors and the
#      DP's peak VmRSS sampled every 100 ms; nginx beside it
# usage: bench/dp.sh [BUILD_DIR]      (default: build)
# See bench/README.md for the knobs (environment variables) and how to read
# the figures. Nothing passes or fails on speed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=dp.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_start "$@"

# knobs
threads=${BENCH_THREADS:-2}
secs=${BENCH_SECONDS:-10}
warmup_secs=${BENCH_WARMUP_SECONDS:-2}
big_conns=${BENCH_BIG_CONNECTIONS:-4}
small_conns=${BENCH_SMALL_CONNECTIONS:-50}
many_conns=${BENCH_MANY_CONNECTIONS:-4000}
many_secs=${BENCH_MANY_SECONDS:-20}
many_big=${BENCH_MANY_BIG:-1}
check_rounds=${BENCH_CHECK_ROUNDS:-5}
check_secs=${BENCH_CHECK_SECONDS:-3}
idle_secs=${BENCH_IDLE_SECONDS:-5}
anon=${BENCH_ANON:-1}
ready_timeout=${BENCH_READY_TIMEOUT:-60}

big_bytes=$((16 * 1024 * 1024))
small_bytes=1024
pkg='/CCMTOKENAUTH_SMS_DP_SMSPKG$'
sig='/CCMTOKENAUTH_SMS_DP_SMSSIG$'
anon_pkg='/SMS_DP_SMSPKG$'

started_at=$(date +%s)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=""
eh_pid=""
ngx_pid=""
sampler_pid=""
open_after_16m=""

# ---------------------------------------------------------------- helpers

cleanup() {
  local status=$?
  set +e
  stop_sampler
  stop_pid "$ngx_pid"
  ngx_pid=""
  stop_pid "$eh_pid"
  eh_pid=""
  remove_work "$status"
  exit "$status"
}

# VmRSS (or another field) of a process, in KiB
rss_kib() {
  awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# the process ids whose parent is PID
children_of() {
  awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null || true
}

# the kernel's counters of refused connections (system-wide): accept queue
# overflows and SYN cookies that failed, as "OVERFLOWS COOKIES_FAILED"
tcp_refusals() {
  awk '/^TcpExt:/ { if (!n) { for (i = 2; i <= NF; i++) k[i] = $i; n = 1 } else
      for (i = 2; i <= NF; i++) v[k[i]] = $i }
    END { printf "%d %d\n", v["ListenOverflows"], v["SyncookiesFailed"] }' /proc/net/netstat
}

# VmRSS of nginx: master and workers together, in KiB
ngx_rss_kib() {
  local total=0 p
  for p in $1 $(children_of "$1"); do
    total=$((total + $(rss_kib "$p")))
  done
  echo "$total"
}

# start_sampler PID OUT [nginx]: VmRSS every 100 ms into OUT until stopped
start_sampler() {
  local pid=$1 out=$2 kind=${3:-}
  (
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$kind" = nginx ]; then ngx_rss_kib "$pid"; else rss_kib "$pid"; fi
      sleep 0.1
    done
  ) >"$out" 2>/dev/null &
  sampler_pid=$!
}

stop_sampler() {
  [ -n "$sampler_pid" ] || return 0
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=""
}

max_of() {
  sort -n "$1" | tail -n 1
}

mib() {
  awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# ---------------------------------------------------------------- setup

check_tools() {
  need_tool python3 python3
  need_tool openssl openssl
  need_tool curl curl
  need_tool wrk wrk
  need_tool nginx nginx-light
  need_tool sha256sum coreutils
  [ -x "$build/core/ehttpd" ] || die "$build/core/ehttpd is missing (run make build)"
  [ -x "$build/core/ctl/ehttpctl" ] || die "$build/core/ctl/ehttpctl is missing (run make build)"
  [ -f "$build/core/libehttpd-core.so" ] || die "$build/core/libehttpd-core.so is missing (run make build)"
  for p in ca/ehttpd-plugin-ca dp/ehttpd-plugin-dp test/ehttpd-plugin-test-token-minter \
    test/ehttpd-plugin-test-echo; do
    [ -f "$build/plugins/$p.so" ] || die "$build/plugins/$p.so is missing (run make build)"
  done
  for n in secs warmup_secs big_conns small_conns many_conns many_secs idle_secs threads check_rounds check_secs; do
    case "${!n}" in '' | *[!0-9]* | 0) die "knob $n must be a positive integer" ;; esac
  done
}

# the binaries under test are copied first, so that a rebuild during the run
# cannot change them half way (ehttpctl finds the plugin's ctl part in the
# library; the daemon loads the modules from plugin-dir)
snapshot_build() {
  mkdir -p "$work/bin" "$work/plugins"
  cp "$build/core/ehttpd" "$build/core/ctl/ehttpctl" "$build/core/libehttpd-core.so" "$work/bin/"
  install -m 0644 "$build/plugins/ca/ehttpd-plugin-ca.so" "$build/plugins/dp/ehttpd-plugin-dp.so" \
    "$build/plugins/test/ehttpd-plugin-test-token-minter.so" \
    "$build/plugins/test/ehttpd-plugin-test-echo.so" "$work/plugins/"
  ehttpd="$work/bin/ehttpd"
  ehttpctl="$work/bin/ehttpctl"
  describe_build "$ehttpd" "$work/bin/libehttpd-core.so" "$work/plugins/ehttpd-plugin-dp.so"
}

# nginx's certificate (and the idle hosts'): self-signed ECDSA P-256, like
# the site's ca-issued one
make_certificate() {
  mkdir -p "$work/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>/dev/null ||
    die "openssl could not make the certificate"
  chmod 0600 "$work/tls/key.pem"
}

# the two files, random bytes
make_files() {
  mkdir -p "$work/src"
  head -c "$big_bytes" /dev/urandom >"$work/src/16m.bin"
  head -c "$small_bytes" /dev/urandom >"$work/src/1k.bin"
  big_sha=$(sha256sum "$work/src/16m.bin" | cut -d' ' -f1)
  small_sha=$(sha256sum "$work/src/1k.bin" | cut -d' ' -f1)
}

# ---------------------------------------------------------------- ehttpd

# start_host NAME PLUGINS WITH_CERT [CONFIG LINES...]: a daemon with its own
# state directory (kept across restarts of NAME); sets eh_pid, eh_log,
# eh_https_port, eh_http_port
start_host() {
  local name=$1 plugins=$2 with_cert=$3 dir="$work/$1" deadline listeners
  shift 3
  mkdir -p "$dir/state"
  chmod 0700 "$dir/state"
  if [ "$with_cert" = yes ]; then
    mkdir -p "$dir/state/tls"
    chmod 0700 "$dir/state/tls"
    cat "$work/tls/cert.pem" "$work/tls/key.pem" >"$dir/state/tls/host.pem"
    chmod 0600 "$dir/state/tls/host.pem"
  fi
  {
    printf '%s\n' "[core]" "state-dir=$dir/state" "plugin-dir=$work/plugins" "plugins=$plugins" \
      "http-listen=127.0.0.1:0" "https-listen=127.0.0.1:0" "access-log=false"
    [ $# -eq 0 ] || printf '%s\n' "$@"
    front_config
  } >"$dir/ehttpd.conf"
  eh_log="$dir/ehttpd.log"
  "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins >>"$eh_log" 2>&1 &
  eh_pid=$!
  deadline=$(($(date +%s) + ready_timeout))
  listeners=""
  while [ -z "$listeners" ]; do
    check_alive "the start of $name"
    [ "$(date +%s)" -lt "$deadline" ] || die "$name did not answer 'ehttpctl status' within $ready_timeout s"
    listeners=$("$ehttpctl" --session --json status 2>/dev/null | python3 -c '
import json, sys
urls = json.load(sys.stdin)["listeners"]
if any(u.startswith("https://") for u in urls) and any(u.startswith("http://") for u in urls):
    print("\n".join(urls))' 2>/dev/null) || true
    [ -n "$listeners" ] || sleep 0.1
  done
  eh_http_port=$(printf '%s\n' "$listeners" | sed -n 's|^http://127\.0\.0\.1:||p')
  eh_https_port=$(printf '%s\n' "$listeners" | sed -n 's|^https://127\.0\.0\.1:||p')
  if [ -z "$eh_http_port" ] || [ -z "$eh_https_port" ]; then
    die "unexpected listeners: $listeners"
  fi
}

eh_status() {
  "$ehttpctl" --session --json status 2>/dev/null |
    python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1" 2>/dev/null || echo "?"
}

check_alive() {
  if ! kill -0 "$eh_pid" 2>/dev/null; then
    tail -n 40 "$eh_log" >&2
    wait "$eh_pid" 2>/dev/null || true
    eh_pid=""
    die "ehttpd died during: $1 (end of its log above)"
  fi
}

# wait_until SECONDS WHAT COMMAND...: retry COMMAND every 0.2 s
wait_until() {
  local deadline=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@"; do
    check_alive "waiting for $what"
    [ "$(date +%s)" -lt "$deadline" ] || die "no $what within $ready_timeout s (log: $eh_log)"
    sleep 0.2
  done
}

# https_code PORT PATH [curl options]: the status of one GET
https_code() {
  local port=$1 path=$2
  shift 2
  curl -sk -o /dev/null -w '%{http_code}' "$@" "https://127.0.0.1:$port$path" 2>/dev/null || true
}

site_has_certificate() {
  local c
  c=$(eh_status certificate)
  [ -n "$c" ] && [ "$c" != "?" ]
}

minter_ready() {
  [ "$(https_code "$eh_https_port" /test/mint/serial)" = 200 ]
}

token_accepted() {
  [ "$(https_code "$eh_https_port" "$pkg/$content_id/1k.bin" -H "Authorization: Bearer $token")" = 200 ]
}

# the site host: ca, dp, the token minter and test-echo; the connection
# limits raised for phase 3 (the defaults: 4,096 in all, 256 per address)
start_site() {
  local extra=()
  [ "$anon" = 1 ] && extra=("allow-anonymous=true")
  start_host site ca,dp,test-token-minter,test-echo no \
    "max-connections=$((many_conns + 1000))" "max-connections-per-address=$((many_conns + 1000))" \
    "[dp]" "names=localhost" "${extra[@]}"
  wait_until "$ready_timeout" "site certificate from the ca" site_has_certificate
  wait_until "$ready_timeout" "token signing certificate" minter_ready
}

# content add, the manifest's hash, one token for it (valid a day)
add_content_and_mint() {
  "$ehttpctl" --session content add bench-dp "$work/src" --version 1 >"$work/content-add.txt" 2>&1 || {
    cat "$work/content-add.txt" >&2
    die "ehttpctl content add failed"
  }
  content_id=$("$ehttpctl" --session --json content list | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["id"])')
  manifest_sha=$(curl -sfk "https://127.0.0.1:$eh_https_port$sig/$content_id" | sha256sum | cut -d' ' -f1)
  token=$(curl -sfk "https://127.0.0.1:$eh_https_port/test/mint?content=$content_id&sha256=$manifest_sha&aud=localhost&ttl=86400") ||
    die "minting a token failed"
  token=$(printf '%s' "$token" | tr -d '[:space:]')
  [ -n "$token" ] || die "the minter gave an empty token"
  # the dp takes the token once its trust bundle holds the minter's key
  wait_until "$ready_timeout" "token accepted by the dp" token_accepted
}

# check_body PORT PATH SHA [curl options]: the body downloaded hashes to SHA
check_body() {
  local port=$1 path=$2 want=$3 got
  shift 3
  got=$(curl -sfk "$@" "https://127.0.0.1:$port$path" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "GET $path on port $port: body hash $got, want $want"
}

# ---------------------------------------------------------------- nginx

prepare_nginx_docroot() {
  local d="$work/www$pkg/$content_id"
  mkdir -p "$d"
  cp "$work/src/16m.bin" "$work/src/1k.bin" "$d/"
  # nginx workers run as nobody when started by root
  chmod 0755 "$work" "$work/www" "$work/www$pkg" "$d"
  chmod 0644 "$d/16m.bin" "$d/1k.bin"
}

# start_nginx WORKERS: sets ngx_pid, ngx_port; TLS 1.3 with the suite ehttpd
# negotiated first ($eh_suite), so that both encrypt with the same cipher
start_nginx() {
  local dir="$work/nginx-$1" suites
  suites="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
  case "$eh_suite" in
    TLS_*) suites="$eh_suite:$(printf '%s' "$suites" | tr ':' '\n' | grep -vx "$eh_suite" | paste -sd:)" ;;
  esac
  nginx_start "$dir" "$1" "$((many_conns * 2 + 512))" "$suites"
  for _ in $(seq 1 100); do
    [ "$(https_code "$ngx_port" "$pkg/$content_id/1k.bin")" = 200 ] && return 0
    sleep 0.1
  done
  die "nginx ($1 workers) did not answer on port $ngx_port"
}

# negotiated protocol, suite and key exchange, and the response head size
describe_https() {
  local port=$1 path=$2 tls head
  shift 2
  tls=$(openssl s_client -brief -connect "127.0.0.1:$port" -servername localhost </dev/null 2>&1 |
    awk -F': ' '/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 }
      /^(Server|Peer) Temp Key/ { k = $2 } /^Peer signature type/ { s = $2 } END { print p, c, k, s }')
  head=$(curl -sk -o /dev/null -w '%{size_header}' "$@" "https://127.0.0.1:$port$path")
  printf '%s; response head %s B' "$tls" "$head"
}

# ---------------------------------------------------------------- load

# run_wrk NAME URL SECONDS CONNECTIONS [wrk options]: $work/wrk-NAME.txt
run_wrk() {
  local name=$1 url=$2 seconds=$3 c=$4 out t=$threads t0=""
  shift 4
  [ "$c" -lt "$t" ] && t=$c
  out="$work/wrk-$name.txt"
  # shellcheck disable=SC2086
  [ -z "${cpu_pids:-}" ] || t0=$(cpu_ticks $cpu_pids)
  wrk -t"$t" -c"$c" -d"${seconds}s" --latency -s "$top/bench/wrk-report.lua" "$@" "$url" \
    >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $url"
  }
  grep -q '^wrk-result ' "$out" || {
    cat "$out" >&2
    die "wrk printed no result against $url"
  }
  awk -F'[ =]' '/^wrk-result/ {
      for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
      printf "    %s req/s, %.1f MiB/s, p50 %s ms, p99 %s ms, errors c/r/w/t %s/%s/%s/%s, non-2xx %s\n",
        v["rps"], v["bytes"] / v["seconds"] / 1048576, v["p50_ms"], v["p99_ms"],
        v["connect"], v["read"], v["write"], v["timeout"], v["status"] }' "$out"
  if [ -n "$t0" ]; then
    note_cpu "$out" "$cpu_pids" "$t0"
    say "    CPU of the server: $(field "$out" cpu_us) us per request"
  fi
}

# cpu_per_mib NAME: the server's CPU time (user + system) per MiB it served in run NAME, in ms
cpu_per_mib() {
  awk -v t="$(field "$work/wrk-$1.txt" cpu_ticks)" -v hz="$(getconf CLK_TCK)" \
    -v b="$(field "$work/wrk-$1.txt" bytes)" 'BEGIN { if (b > 0) printf "%.3f", t / hz * 1000 / (b / 1048576); else print "n/a" }'
}

mibps() {
  local f="$work/wrk-$1.txt"
  awk -v b="$(field "$f" bytes)" -v s="$(field "$f" seconds)" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1048576; else print "n/a" }'
}

errors_of() {
  local f="$work/wrk-$1.txt"
  echo $(($(field "$f" connect) + $(field "$f" read) + $(field "$f" write) + $(field "$f" timeout) + $(field "$f" status)))
}

auth=()

# ---------------------------------------------------------------- phases

phase_idle() {
  local dir
  step "0. idle VmRSS after start (${idle_secs}s idle)"
  start_host idle-dp dp yes
  sleep "$idle_secs"
  idle_dp=$(rss_kib "$eh_pid")
  idle_dp_hwm=$(rss_kib "$eh_pid" VmHWM)
  say "  DP-only host (plugins=dp, no site reachable, no content): VmRSS $idle_dp KiB (VmHWM $idle_dp_hwm)"
  stop_pid "$eh_pid"
  eh_pid=""
  start_host idle-core test-echo yes
  sleep "$idle_secs"
  idle_core=$(rss_kib "$eh_pid")
  say "  reference, core + test-echo: VmRSS $idle_core KiB"
  stop_pid "$eh_pid"
  eh_pid=""
  # nginx needs the docroot only to answer its readiness check
  content_id=idle
  dir="$work/www$pkg/idle"
  mkdir -p "$dir"
  cp "$work/src/1k.bin" "$dir/"
  chmod -R a+rX "$work/www"
  chmod 0755 "$work"
  eh_suite=""
  start_nginx 1
  sleep "$idle_secs"
  idle_ngx=$(ngx_rss_kib "$ngx_pid")
  say "  reference, nginx worker_processes 1 (master + worker): VmRSS $idle_ngx KiB"
  stop_pid "$ngx_pid"
  ngx_pid=""
  rm -rf "$dir"
}

phase_setup() {
  step "starting the site host (ca, dp, test-token-minter, test-echo)"
  start_site
  say "  ehttpd pid $eh_pid, https port $eh_https_port, http port $eh_http_port"
  add_content_and_mint
  say "  content $content_id (16m.bin, 1k.bin), manifest sha256 $manifest_sha; token of ${#token} bytes"
  auth=(-H "Authorization: Bearer $token")
  check_body "$eh_https_port" "$pkg/$content_id/16m.bin" "$big_sha" "${auth[@]}"
  check_body "$eh_https_port" "$pkg/$content_id/1k.bin" "$small_sha" "${auth[@]}"
  [ "$(https_code "$eh_https_port" "$pkg/$content_id/1k.bin")" = 401 ] ||
    die "a download without a token was not refused with 401"
  eh_tls=$(describe_https "$eh_https_port" "$pkg/$content_id/1k.bin" "${auth[@]}")
  eh_suite=$(printf '%s' "$eh_tls" | awk '{ print $2 }')
  eh_test_head=$(curl -sk -o /dev/null -w '%{size_header}' "https://127.0.0.1:$eh_https_port/test/1k")
  say "  ehttpd: $eh_tls (/test/1k: head $eh_test_head B)"
  prepare_nginx_docroot
  start_nginx 1
  check_body "$ngx_port" "$pkg/$content_id/16m.bin" "$big_sha"
  ngx_tls=$(describe_https "$ngx_port" "$pkg/$content_id/1k.bin" "${auth[@]}")
  say "  nginx:  $ngx_tls"
  stop_pid "$ngx_pid"
  ngx_pid=""
}

# throughput FILE CONNECTIONS TAG: ehttpd then nginx 1 and auto
throughput() {
  local file=$1 c=$2 tag=$3 workers
  say "  ehttpd, token: $pkg/$content_id/$file"
  run_wrk "warm-eh-$tag" "https://127.0.0.1:$eh_https_port$pkg/$content_id/$file" "$warmup_secs" "$c" \
    "${auth[@]}" >/dev/null
  cpu_pids=$eh_pid run_wrk "eh-$tag" "https://127.0.0.1:$eh_https_port$pkg/$content_id/$file" "$secs" "$c" "${auth[@]}"
  check_alive "the $tag run"
  for workers in 1 auto; do
    start_nginx "$workers"
    say "  nginx worker_processes $workers (same request, the Authorization header ignored)"
    run_wrk "warm-ngx-$workers-$tag" "https://127.0.0.1:$ngx_port$pkg/$content_id/$file" "$warmup_secs" "$c" \
      "${auth[@]}" >/dev/null
    cpu_pids="$ngx_pid $(children_of "$ngx_pid" | xargs)" run_wrk "ngx-$workers-$tag" \
      "https://127.0.0.1:$ngx_port$pkg/$content_id/$file" "$secs" "$c" "${auth[@]}"
    stop_pid "$ngx_pid"
    ngx_pid=""
  done
}

phase_big() {
  step "1. 16 MiB over HTTPS, keep-alive: wrk -c$big_conns -d${secs}s"
  throughput 16m.bin "$big_conns" 16m
}

phase_small() {
  step "2. 1 KiB over HTTPS, keep-alive: wrk -t$threads -c$small_conns -d${secs}s"
  throughput 1k.bin "$small_conns" 1k
  if [ "$anon" = 1 ]; then
    # the same DP, the same file, over HTTPS, with and without the token check: the anonymous path
    # (allow-anonymous=true, which the site here has) runs every step of a download but the token's,
    # and gets the same Authorization header (ignored there), so the requests are the same bytes;
    # the two alternate, so that load from elsewhere falls on both alike
    say "  ehttpd, the token check's cost: $check_rounds rounds of ${check_secs}s, token and anonymous (HTTPS) in turn"
    run_wrk warm-eh-anon "https://127.0.0.1:$eh_https_port$anon_pkg/$content_id/1k.bin" "$warmup_secs" \
      "$small_conns" "${auth[@]}" >/dev/null
    for round in $(seq 1 "$check_rounds"); do
      cpu_pids=$eh_pid run_wrk "check-token-$round" "https://127.0.0.1:$eh_https_port$pkg/$content_id/1k.bin" \
        "$check_secs" "$small_conns" "${auth[@]}"
      cpu_pids=$eh_pid run_wrk "check-anon-$round" "https://127.0.0.1:$eh_https_port$anon_pkg/$content_id/1k.bin" \
        "$check_secs" "$small_conns" "${auth[@]}"
    done
    check_alive "the token check runs"
  fi
  say "  ehttpd, no token: /test/1k of test-echo"
  run_wrk warm-eh-echo "https://127.0.0.1:$eh_https_port/test/1k" "$warmup_secs" "$small_conns" "${auth[@]}" >/dev/null
  cpu_pids=$eh_pid run_wrk eh-echo "https://127.0.0.1:$eh_https_port/test/1k" "$secs" "$small_conns" "${auth[@]}"
  check_alive "the /test/1k run"
  if [ "$anon" = 1 ]; then
    say "  plain HTTP, ehttpd: the dp's anonymous path (no token, the file path) and /test/1k"
    run_wrk eh-anon-http "http://127.0.0.1:$eh_http_port$anon_pkg/$content_id/1k.bin" "$secs" "$small_conns"
    run_wrk eh-echo-http "http://127.0.0.1:$eh_http_port/test/1k" "$secs" "$small_conns"
    check_alive "the plain HTTP runs"
  fi
}

# many NAME URL PID KIND: wrk -c$many_conns with RSS sampled every 100 ms and
# the open connections counted half way (ehttpd only)
many() {
  local name=$1 url=$2 pid=$3 kind=$4 before wrk_pid half=$((many_secs / 2)) o0 c0 o1 c1
  read -r o0 c0 < <(tcp_refusals)
  if [ "$kind" = nginx ]; then before=$(ngx_rss_kib "$pid"); else before=$(rss_kib "$pid"); fi
  start_sampler "$pid" "$work/rss-$name.txt" "$kind"
  run_wrk "$name" "$url" "$many_secs" "$many_conns" --timeout 30s "${auth[@]}" &
  wrk_pid=$!
  open_mid=""
  if [ "$kind" != nginx ]; then
    sleep "$half"
    open_mid=$(eh_status connections)
  fi
  wait "$wrk_pid" || die "wrk -c$many_conns against $url failed"
  sleep 1
  stop_sampler
  if [ "$kind" = nginx ]; then after=$(ngx_rss_kib "$pid"); else after=$(rss_kib "$pid"); fi
  peak=$(max_of "$work/rss-$name.txt")
  read -r o1 c1 < <(tcp_refusals)
  printf 'many-result before=%s peak=%s after=%s samples=%s open_mid=%s overflows=%s cookies_failed=%s\n' \
    "$before" "$peak" "$after" "$(wc -l <"$work/rss-$name.txt")" "${open_mid:-n/a}" \
    $((o1 - o0)) $((c1 - c0)) \
    >"$work/many-$name.txt"
  say "    VmRSS before $before KiB, peak $peak KiB ($(wc -l <"$work/rss-$name.txt") samples), 1 s after $after KiB${open_mid:+, open connections half way: $open_mid}"
  say "    kernel: accept queue overflows $(field "$work/many-$name.txt" overflows), SYN cookies failed $(field "$work/many-$name.txt" cookies_failed) (system-wide counters)"
}

phase_many() {
  local saved
  step "3. $many_conns concurrent connections: wrk -t$threads -c$many_conns -d${many_secs}s --timeout 30s"
  saved=$(ulimit -n)
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((many_conns + 100)) ] ||
    die "open files limit $(ulimit -n) is below $many_conns connections (raise the hard limit)"
  say "  ehttpd, token, 1 KiB (site host: max-connections and max-connections-per-address $((many_conns + 1000)))"
  many many-eh-1k "https://127.0.0.1:$eh_https_port$pkg/$content_id/1k.bin" "$eh_pid" ehttpd
  check_alive "the $many_conns-connection 1 KiB run"
  sleep 2
  open_after_1k=$(eh_status connections)
  if [ "$many_big" = 1 ]; then
    say "  ehttpd, token, 16 MiB: $many_conns downloads in flight at once (few finish in ${many_secs}s)"
    many many-eh-16m "https://127.0.0.1:$eh_https_port$pkg/$content_id/16m.bin" "$eh_pid" ehttpd
    check_alive "the $many_conns-connection 16 MiB run"
    sleep 2
    open_after_16m=$(eh_status connections)
  fi
  start_nginx 1
  say "  nginx worker_processes 1, 1 KiB"
  many many-ngx-1k "https://127.0.0.1:$ngx_port$pkg/$content_id/1k.bin" "$ngx_pid" nginx
  if [ "$many_big" = 1 ]; then
    say "  nginx worker_processes 1, 16 MiB"
    many many-ngx-16m "https://127.0.0.1:$ngx_port$pkg/$content_id/16m.bin" "$ngx_pid" nginx
  fi
  stop_pid "$ngx_pid"
  ngx_pid=""
  ulimit -n "$saved" 2>/dev/null || true
}

# ---------------------------------------------------------------- summary

print_versions() {
  say "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  say "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
  say "ehttpd:   $eh_version ($build_type; binaries sha256 $build_id) from $build"
  say "libs:     libsoup $(pkg-config --modversion libsoup-3.0 2>/dev/null || echo '?'), GnuTLS $(pkg-config --modversion gnutls 2>/dev/null || echo '?'), GLib $(pkg-config --modversion glib-2.0 2>/dev/null || echo '?')"
  say "nginx:    $(nginx -v 2>&1 | sed 's/^nginx version: //') ($(nginx -V 2>&1 | sed -n 's/^built with //p'))"
  say "wrk:      $(wrk -v 2>&1 | head -n 1 | sed 's/ \[.*//');  openssl: $(openssl version)"
}

row() {
  local f="$work/wrk-$1.txt"
  printf '%-44s %10s %9s %9s %9s %7s\n' "$2" "$(field "$f" rps)" "$(mibps "$1")" "$(field "$f" p50_ms)" \
    "$(field "$f" p99_ms)" "$(errors_of "$1")"
}

many_row() {
  local f="$work/many-$1.txt"
  printf '%-34s %10s %7s %9s %9s %9s %6s %10s %8s\n' "$2" "$(field "$work/wrk-$1.txt" requests)" "$(errors_of "$1")" \
    "$(mib "$(field "$f" before)")" "$(mib "$(field "$f" peak)")" "$(mib "$(field "$f" after)")" "$(field "$f" open_mid)" \
    "$(field "$f" overflows)" "$(field "$f" cookies_failed)"
}

print_summary() {
  local eh16 n16 na16 eh1 n1 na1 echo1 cost
  eh16=$(mibps eh-16m)
  n16=$(mibps ngx-1-16m)
  na16=$(mibps ngx-auto-16m)
  eh1=$(field "$work/wrk-eh-1k.txt" rps)
  n1=$(field "$work/wrk-ngx-1-1k.txt" rps)
  na1=$(field "$work/wrk-ngx-auto-1k.txt" rps)
  echo1=$(field "$work/wrk-eh-echo.txt" rps)
  step "SUMMARY"
  print_versions
  say "TLS:      ehttpd: $eh_tls"
  say "          nginx:  $ngx_tls"
  say "ehttpd's certificate: issued by the site's ca (P-256); nginx: self-signed P-256; loopback only;"
  say "client and servers share the $(nproc) cores. Token: ${#token} bytes, sent to both servers."
  say ""
  printf '%-44s %10s %9s %9s %9s %7s\n' "1. 16 MiB, wrk -c$big_conns -d${secs}s" "req/s" "MiB/s" "p50 ms" "p99 ms" errors
  row eh-16m "ehttpd dp, token"
  row ngx-1-16m "nginx worker_processes 1"
  row ngx-auto-16m "nginx worker_processes auto ($(nproc))"
  say "ratio ehttpd / nginx(1) = $(ratio "$eh16" "$n16")   (target >= 1.1)"
  say "ratio ehttpd / nginx(auto) = $(ratio "$eh16" "$na16")"
  say "CPU per MiB served (the server's processes, user + system; robust to load elsewhere): ehttpd $(cpu_per_mib eh-16m) ms,"
  say "  nginx(1) $(cpu_per_mib ngx-1-16m) ms, nginx(auto) $(cpu_per_mib ngx-auto-16m) ms; ratio nginx(1) / ehttpd = $(ratio "$(cpu_per_mib ngx-1-16m)" "$(cpu_per_mib eh-16m)")"
  say ""
  printf '%-44s %10s %9s %9s %9s %7s\n' "2. 1 KiB, wrk -t$threads -c$small_conns -d${secs}s" "req/s" "MiB/s" "p50 ms" "p99 ms" errors
  row eh-1k "ehttpd dp, token"
  row eh-echo "ehttpd /test/1k (test-echo), no token"
  row ngx-1-1k "nginx worker_processes 1"
  row ngx-auto-1k "nginx worker_processes auto ($(nproc))"
  if [ "$anon" = 1 ]; then
    row eh-anon-http "plain HTTP: ehttpd dp anonymous, no token"
    row eh-echo-http "plain HTTP: ehttpd /test/1k"
  fi
  cost=$(awk -v a="$eh1" -v b="$echo1" 'BEGIN { if (b > 0) printf "%.1f", (1 - a / b) * 100; else print "n/a" }')
  say "ratio ehttpd / nginx(1) = $(ratio "$eh1" "$n1")   (target >= 0.5)"
  say "ratio ehttpd / nginx(auto) = $(ratio "$eh1" "$na1")"
  say "token download vs /test/1k (test-echo, no dp): $(ratio "$eh1" "$echo1") ($cost % slower)"
  say "ehttpd CPU per request: token download $(field "$work/wrk-eh-1k.txt" cpu_us) us, /test/1k $(field "$work/wrk-eh-echo.txt" cpu_us) us"
  say "quick answers: $([ "${BENCH_QUICK:-1}" = 0 ] && echo "off (BENCH_QUICK=0)" || echo on)"
  if [ "$anon" = 1 ]; then
    # the alternating rounds, token vs the same DP with the check off: each
    # round's ratio, and their median (a round that load from elsewhere
    # struck moves the mean, not the median)
    awk -v dir="$work" -v n="$check_rounds" 'BEGIN {
        for (i = 1; i <= n; i++) {
          for (k = 0; k < 2; k++) {
            f = dir "/wrk-check-" (k ? "anon" : "token") "-" i ".txt"
            while ((getline line < f) > 0)
              if (line ~ /^wrk-result /) { split(line, w, " "); for (j in w) if (w[j] ~ /^rps=/) r[k, i] = substr(w[j], 5) }
            close(f)
          }
          if (r[0, i] <= 0 || r[1, i] <= 0) exit
          q[i] = r[0, i] / r[1, i]
          t0 += r[0, i]; t1 += r[1, i]
        }
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (q[j] < q[i]) { x = q[i]; q[i] = q[j]; q[j] = x }
        m = n % 2 ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
        printf "token check: %.0f req/s with it, %.0f without (the anonymous path, same DP, HTTPS), %d rounds\n", t0 / n, t1 / n, n
        printf "  it costs %.1f %% by the median round (%.1f %% over all rounds; %.1f us of %.1f us a request; target < 5 %%)\n",
          (1 - m) * 100, (1 - t0 / t1) * 100, 1e6 / t0 * n - 1e6 / t1 * n, 1e6 / t0 * n }'
    # the same rounds by ehttpd's own CPU per request, which load elsewhere hardly moves
    awk -v dir="$work" -v n="$check_rounds" 'BEGIN {
        for (i = 1; i <= n; i++)
          for (k = 0; k < 2; k++) {
            f = dir "/wrk-check-" (k ? "anon" : "token") "-" i ".txt"
            while ((getline line < f) > 0)
              if (line ~ /^wrk-result /) { split(line, w, " "); for (j in w) if (w[j] ~ /^cpu_us=/) c[k] += substr(w[j], 8) }
            close(f)
          }
        if (c[0] > 0 && c[1] > 0)
          printf "  by ehttpd CPU per request: %.1f us with it, %.1f us without: %.1f %%\n", c[0] / n, c[1] / n, (c[0] / c[1] - 1) * 100 }'
  fi
  say ""
  say "3. $many_conns concurrent connections, wrk -t$threads -c$many_conns -d${many_secs}s --timeout 30s, keep-alive"
  printf '%-34s %10s %7s %9s %9s %9s %6s %10s %8s\n' server responses errors "RSS MiB" "peak" "after" "open" "overflows" "cookies"
  many_row many-eh-1k "ehttpd dp, token, 1 KiB"
  [ "$many_big" = 1 ] && many_row many-eh-16m "ehttpd dp, token, 16 MiB"
  many_row many-ngx-1k "nginx 1 worker, 1 KiB (all procs)"
  [ "$many_big" = 1 ] && many_row many-ngx-16m "nginx 1 worker, 16 MiB (all procs)"
  say "(RSS before the run, peak sampled every 100 ms, 1 s after; open = ehttpd's open connections half way;"
  say " overflows: the kernel's accept queue overflows; cookies: SYN cookies that failed (the client gets a"
  say " reset: a connect error in wrk); both system-wide, late packets of the run before included."
  say " Targets: RSS < 200 MiB, 0 errors.) Open 2 s after: 1 KiB $open_after_1k${open_after_16m:+, 16 MiB $open_after_16m}"
  say ""
  say "0. idle VmRSS ${idle_secs}s after start: DP-only host (plugins=dp) $(mib "$idle_dp") MiB (target < 16);"
  say "   core + test-echo $(mib "$idle_core") MiB; nginx 1 worker (master + worker) $(mib "$idle_ngx") MiB"
  say ""
  say "ehttpd site log: $(grep -c -E 'WARNING|CRITICAL|ERROR' "$work/site/ehttpd.log" || true) warning/critical/error lines"
  grep -E 'WARNING|CRITICAL|ERROR' "$work/site/ehttpd.log" | head -n 5 | cut -c1-200 | sed 's/^/  /' || true
  say "load:     $load_at_start at start (1/5/15 min), $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  say "elapsed:  $(($(date +%s) - started_at)) s"
}

# ---------------------------------------------------------------- main

main() {
  check_tools
  work=$(mktemp -d /tmp/ehttpd-bench.XXXXXX)
  trap cleanup EXIT
  set -E
  trap 'echo "dp.sh: unexpected failure at line $LINENO: $BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
  snapshot_build
  make_certificate
  make_files
  phase_idle
  phase_setup
  phase_big
  phase_small
  phase_many
  stop_pid "$eh_pid"
  eh_pid=""
  print_summary
}

main
