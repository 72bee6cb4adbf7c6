#!/bin/bash
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Front benchmark: ehttpd next to nginx on loopback, in one run.
#   1. 1 KiB over HTTPS keep-alive (wrk), ehttpd vs nginx
#   2. new TLS connections per second (wrk with "Connection: close",
#      openssl s_time without and with session resumption)
#   3. ehttpd's RSS before and after 100,000 connections (ab), HTTP and HTTPS
#   4. (with BENCH_CONCURRENT=N) N concurrent keep-alive connections (wrk -cN):
#      connect errors, req/s, peak RSS and the kernel's refused connections
# usage: bench/front.sh [BUILD_DIR]      (default: build)
# See bench/README.md for the knobs (environment variables) and how to read
# the figures.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=front.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_start "$@"

# knobs
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-50}
keepalive_secs=${BENCH_SECONDS:-15}
close_secs=${BENCH_CLOSE_SECONDS:-10}
stime_secs=${BENCH_STIME_SECONDS:-10}
warmup_secs=${BENCH_WARMUP_SECONDS:-3}
rss_conns=${BENCH_RSS_CONNECTIONS:-100000}
rss_batches=${BENCH_RSS_BATCHES:-5}
rss_warmup=${BENCH_RSS_WARMUP:-2000}
rss_tls_secs=${BENCH_RSS_TLS_SECONDS:-150}
concurrent=${BENCH_CONCURRENT:-0}
concurrent_secs=${BENCH_CONCURRENT_SECONDS:-10}
concurrent_only=${BENCH_CONCURRENT_ONLY:-}

started_at=$(date +%s)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=""
eh_pid=""
ngx_pid=""

# ---------------------------------------------------------------- helpers

cleanup() {
  local status=$?
  set +e
  stop_nginx
  stop_ehttpd
  remove_work "$status"
  exit "$status"
}

# VmRSS of a process, in KiB
rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

now() {
  date +%s.%N
}

# ---------------------------------------------------------------- setup

check_tools() {
  need_tool python3 python3
  need_tool openssl openssl
  need_tool curl curl
  need_tool wrk wrk
  need_tool nginx nginx-light
  need_tool ab apache2-utils
  [ -x "$build/core/ehttpd" ] || die "$build/core/ehttpd is missing (run make build)"
  [ -x "$build/core/ctl/ehttpctl" ] || die "$build/core/ctl/ehttpctl is missing (run make build)"
  [ -f "$build/core/libehttpd-core.so" ] || die "$build/core/libehttpd-core.so is missing (run make build)"
  [ -f "$build/plugins/test/ehttpd-plugin-test-echo.so" ] ||
    die "$build/plugins/test/ehttpd-plugin-test-echo.so is missing (run make build)"
}

# the binaries under test are copied first, so that a rebuild during the run
# cannot change them half way
snapshot_build() {
  mkdir -p "$work/bin" "$work/plugins"
  cp "$build/core/ehttpd" "$build/core/ctl/ehttpctl" "$build/core/libehttpd-core.so" "$work/bin/"
  install -m 0644 "$build/plugins/test/ehttpd-plugin-test-echo.so" "$work/plugins/"
  ehttpd="$work/bin/ehttpd"
  ehttpctl="$work/bin/ehttpctl"
  describe_build "$work/bin/ehttpd" "$work/bin/libehttpd-core.so"
}

# one self-signed ECDSA P-256 certificate for both servers
make_certificate() {
  mkdir -p "$work/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>/dev/null ||
    die "openssl could not make the certificate"
  chmod 0600 "$work/tls/key.pem"
}

# ---------------------------------------------------------------- ehttpd

# start_ehttpd NAME [CONFIG_LINE...]: a fresh daemon with its own state
# directory, the lines added to [core]; sets eh_pid, eh_http_port,
# eh_https_port, eh_log
start_ehttpd() {
  local dir="$work/$1" deadline listeners
  shift
  mkdir -p "$dir/state/tls"
  chmod 0700 "$dir/state" "$dir/state/tls"
  cat "$work/tls/cert.pem" "$work/tls/key.pem" >"$dir/state/tls/host.pem"
  chmod 0600 "$dir/state/tls/host.pem"
  cat >"$dir/ehttpd.conf" <<CONF
[core]
state-dir=$dir/state
plugin-dir=$work/plugins
plugins=test-echo
http-listen=127.0.0.1:0
https-listen=127.0.0.1:0
access-log=false
max-connections-per-address=100000
CONF
  [ "$#" -eq 0 ] || printf '%s\n' "$@" >>"$dir/ehttpd.conf"
  front_config >>"$dir/ehttpd.conf"
  eh_log="$dir/ehttpd.log"
  "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins >"$eh_log" 2>&1 &
  eh_pid=$!
  deadline=$(($(date +%s) + 20))
  listeners=""
  while [ -z "$listeners" ]; do
    kill -0 "$eh_pid" 2>/dev/null || {
      cat "$eh_log" >&2
      eh_pid=""
      die "ehttpd exited at start (log above)"
    }
    [ "$(date +%s)" -lt "$deadline" ] || die "ehttpd did not answer 'ehttpctl status' within 20 s"
    listeners=$("$ehttpctl" --session --json status 2>/dev/null | python3 -c '
import json, sys
urls = json.load(sys.stdin)["listeners"]
if any(u.startswith("https://") for u in urls) and any(u.startswith("http://") for u in urls):
    print("\n".join(urls))' 2>/dev/null) || true
    [ -n "$listeners" ] || sleep 0.2
  done
  eh_http_port=$(printf '%s\n' "$listeners" | sed -n 's|^http://127\.0\.0\.1:||p')
  eh_https_port=$(printf '%s\n' "$listeners" | sed -n 's|^https://127\.0\.0\.1:||p')
  if [ -z "$eh_http_port" ] || [ -z "$eh_https_port" ]; then
    die "unexpected listeners: $listeners"
  fi
}

eh_open_connections() {
  "$ehttpctl" --session --json status 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["connections"])' 2>/dev/null || echo "?"
}

# dies with the end of the log if the daemon is gone
check_ehttpd_alive() {
  if ! kill -0 "$eh_pid" 2>/dev/null; then
    tail -n 40 "$eh_log" >&2
    eh_pid=""
    die "ehttpd died during: $1 (end of its log above)"
  fi
}

stop_ehttpd() {
  stop_pid "$eh_pid"
  eh_pid=""
}

# ---------------------------------------------------------------- nginx

prepare_nginx_docroot() {
  mkdir -p "$work/www/test"
  head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 >"$work/www/test/1k"
  # nginx workers run as nobody when started by root: the document root
  # must be readable by them
  chmod 0755 "$work" "$work/www" "$work/www/test"
  chmod 0644 "$work/www/test/1k"
}

# start_nginx WORKERS: nginx in the foreground of its own prefix; sets
# ngx_pid, ngx_port
start_nginx() {
  nginx_start "$work/nginx-$1" "$1" "$((concurrent > 4000 ? concurrent + 100 : 4096))" \
    TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
  wait_for_https "$ngx_port" /test/1k || die "nginx ($1 workers) did not answer on port $ngx_port"
}

stop_nginx() {
  stop_pid "$ngx_pid"
  ngx_pid=""
}

wait_for_https() {
  for _ in $(seq 1 100); do
    curl -sfk -o /dev/null "https://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- checks

# body size, head size and negotiated TLS parameters of one server
describe_https() {
  local port=$1 head_bytes body_bytes tls trace hellos tickets close_echo
  body_bytes=$(curl -sfk -o /dev/null -w '%{size_download}' "https://127.0.0.1:$port/test/1k")
  head_bytes=$(curl -sfk -o /dev/null -w '%{size_header}' "https://127.0.0.1:$port/test/1k")
  tls=$(openssl s_client -brief -connect "127.0.0.1:$port" -servername localhost </dev/null 2>&1 |
    awk -F': ' '/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 }
      /^(Server|Peer) Temp Key/ { k = $2 } END { print p, c, k }')
  # a second ClientHello means the server asked for a HelloRetryRequest
  trace=$( (printf 'GET /test/1k HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 1) |
    openssl s_client -trace -connect "127.0.0.1:$port" -servername localhost 2>&1 | tr -d '\0')
  hellos=$(printf '%s\n' "$trace" | grep -c '^ *ClientHello,' || true)
  tickets=$(printf '%s\n' "$trace" | grep -c 'NewSessionTicket' || true)
  # does the server confirm a client's "Connection: close" in its answer?
  if curl -sfk -o /dev/null -D - -H 'Connection: close' "https://127.0.0.1:$port/test/1k" |
    grep -qi '^connection: *close'; then
    close_echo=yes
  else
    close_echo=no
  fi
  printf '%s; body %s B, response head %s B; ClientHellos %s (2 = HelloRetryRequest), session tickets sent %s, answers "Connection: close" with it: %s' \
    "$tls" "$body_bytes" "$head_bytes" "$hellos" "$tickets" "$close_echo"
}

# ---------------------------------------------------------------- load

# run_wrk NAME URL SECONDS [wrk options]: results in $work/wrk-NAME.txt
run_wrk() {
  local name=$1 url=$2 seconds=$3 out t0=""
  shift 3
  out="$work/wrk-$name.txt"
  # shellcheck disable=SC2086
  [ -z "${cpu_pids:-}" ] || t0=$(cpu_ticks $cpu_pids)
  wrk -t"$threads" -c"$conns" -d"${seconds}s" --latency -s "$top/bench/wrk-report.lua" "$@" "$url" \
    >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $url"
  }
  grep -q '^wrk-result ' "$out" || {
    cat "$out" >&2
    die "wrk printed no result against $url"
  }
  sed -n 's/^/    /; /Requests\/sec\|Socket errors\|Non-2xx\|Latency  /p' "$out"
  if [ -n "$t0" ]; then
    note_cpu "$out" "$cpu_pids" "$t0"
    say "    CPU of ehttpd: $(field "$out" cpu_us) us per request"
  fi
}

# wrk_line NAME: a table row from $work/wrk-NAME.txt
wrk_line() {
  local f="$work/wrk-$1.txt"
  printf '%-32s %10s %9s %9s   %s/%s/%s/%s  %s\n' "$2" "$(field "$f" rps)" "$(field "$f" p50_ms)" \
    "$(field "$f" p99_ms)" "$(field "$f" connect)" "$(field "$f" read)" "$(field "$f" write)" \
    "$(field "$f" timeout)" "$(field "$f" status)"
}

# run_stime NAME PORT MODE(new|reuse): one client, one connection after the
# other, each GET /test/1k (HTTP/1.0) then close; results in $work/stime-NAME.txt
run_stime() {
  local name=$1 port=$2 mode=$3 out t0 t1 n reused
  out="$work/stime-$name.raw"
  t0=$(now)
  openssl s_time -connect "127.0.0.1:$port" "-$mode" -time "$stime_secs" -www /test/1k \
    >"$out" 2>&1 || {
    cat "$out" >&2
    die "openssl s_time -$mode failed against port $port"
  }
  t1=$(now)
  n=$(sed -n 's/^\([0-9]*\) connections in .* real seconds.*/\1/p' "$out" | tail -n 1)
  [ -n "$n" ] || {
    cat "$out" >&2
    die "openssl s_time printed no count against port $port"
  }
  # one character per connection: 'r' when the session was resumed
  reused=$(grep -E '^[*rt3]+$' "$out" | tr -cd 'r' | wc -c)
  awk -v n="$n" -v t0="$t0" -v t1="$t1" -v r="$reused" \
    'BEGIN { printf "stime-result connections=%d seconds=%.2f rate=%.1f reused=%d\n", n, t1 - t0, n / (t1 - t0), r }' \
    >"$work/stime-$name.txt"
  sed 's/^stime-result /    /' "$work/stime-$name.txt"
}

# run_ab NAME URL N SECONDS: N connections, each one request then close, for
# SECONDS at most; results in $work/ab-NAME.txt
run_ab() {
  local name=$1 url=$2 n=$3 limit=$4 out
  out="$work/ab-$name.raw"
  # -t bounds the time; the -n after it sets the count (-t alone means 50,000)
  ab -r -q -c "$conns" -t "$limit" -n "$n" "$url" >"$out" 2>&1 || {
    cat "$out" >&2
    die "ab failed against $url"
  }
  awk '/^Complete requests:/ { c = $3 } /^Failed requests:/ { f = $3 } /^Non-2xx responses:/ { x = $3 }
       /^Requests per second:/ { r = $4 }
       END { printf "ab-result complete=%d failed=%d non2xx=%d rps=%s\n", c, f, x, r }' \
    "$out" >"$work/ab-$name.txt"
}

# ---------------------------------------------------------------- phases

phase_keepalive() {
  step "1. 1 KiB over HTTPS, keep-alive: wrk -t$threads -c$conns -d${keepalive_secs}s"
  say "  ehttpd https://127.0.0.1:$eh_https_port/test/1k"
  run_wrk warm-eh "https://127.0.0.1:$eh_https_port/test/1k" "$warmup_secs" >/dev/null
  cpu_pids=$eh_pid run_wrk ka-eh "https://127.0.0.1:$eh_https_port/test/1k" "$keepalive_secs"
  check_ehttpd_alive "the keep-alive run"
  for workers in 1 auto; do
    start_nginx "$workers"
    say "  nginx worker_processes $workers, https://127.0.0.1:$ngx_port/test/1k"
    run_wrk "warm-ngx-$workers" "https://127.0.0.1:$ngx_port/test/1k" "$warmup_secs" >/dev/null
    run_wrk "ka-ngx-$workers" "https://127.0.0.1:$ngx_port/test/1k" "$keepalive_secs"
    stop_nginx
  done
}

phase_handshakes() {
  step "2a. new TLS connection per request: wrk -t$threads -c$conns -d${close_secs}s -H 'Connection: close'"
  say "  ehttpd"
  run_wrk close-eh "https://127.0.0.1:$eh_https_port/test/1k" "$close_secs" -H 'Connection: close'
  check_ehttpd_alive "the Connection: close run"
  sleep 1
  close_eh_open=$(eh_open_connections)
  for workers in 1 auto; do
    start_nginx "$workers"
    say "  nginx worker_processes $workers"
    run_wrk "close-ngx-$workers" "https://127.0.0.1:$ngx_port/test/1k" "$close_secs" -H 'Connection: close'
    if [ "$workers" = 1 ]; then
      step "2b. one client, serial connections: openssl s_time -new / -reuse, ${stime_secs}s each"
      say "  nginx worker_processes 1, -new"
      run_stime new-ngx "$ngx_port" new
      say "  nginx worker_processes 1, -reuse"
      run_stime reuse-ngx "$ngx_port" reuse
    fi
    stop_nginx
  done
  say "  ehttpd, -new"
  run_stime new-eh "$eh_https_port" new
  say "  ehttpd, -reuse"
  run_stime reuse-eh "$eh_https_port" reuse
  check_ehttpd_alive "the s_time runs"
}

# rss_run SCHEME PORT SECONDS: warm-up, then rss_conns connections in
# batches (each batch bounded to SECONDS / rss_batches), the RSS noted after
# each; results in $work/rss-SCHEME.txt
rss_run() {
  local scheme=$1 port=$2 limit=$(($3 / rss_batches)) url batch i start warm end rss
  local done_total=0 failed_total=0 line
  url="$scheme://127.0.0.1:$port/test/1k"
  batch=$((rss_conns / rss_batches))
  start=$(rss_kib "$eh_pid")
  run_ab "$scheme-warm" "$url" "$rss_warmup" 60
  check_ehttpd_alive "the $scheme warm-up"
  sleep 1
  warm=$(rss_kib "$eh_pid")
  say "  $scheme: RSS at start ${start} KiB, after $rss_warmup warm-up connections ${warm} KiB"
  line=""
  for i in $(seq 1 "$rss_batches"); do
    run_ab "$scheme-$i" "$url" "$batch" "$limit"
    check_ehttpd_alive "the $scheme connection run"
    done_total=$((done_total + $(field "$work/ab-$scheme-$i.txt" complete)))
    failed_total=$((failed_total + $(field "$work/ab-$scheme-$i.txt" failed)))
    rss=$(rss_kib "$eh_pid")
    line="$line $rss"
    say "    after $done_total connections: RSS ${rss} KiB ($(field "$work/ab-$scheme-$i.txt" rps) conn/s, $(field "$work/ab-$scheme-$i.txt" failed) failed)"
  done
  sleep 2
  end=$(rss_kib "$eh_pid")
  printf 'rss-result start=%s warm=%s end=%s complete=%s failed=%s open=%s\n' \
    "$start" "$warm" "$end" "$done_total" "$failed_total" "$(eh_open_connections)" >"$work/rss-$scheme.txt"
  printf '%s\n' "${line# }" >"$work/rss-$scheme-batches.txt"
  say "    2 s later: RSS ${end} KiB, open connections: $(field "$work/rss-$scheme.txt" open)"
}

phase_rss() {
  step "3. ehttpd RSS over $rss_conns connections (ab -c$conns, no keep-alive; HTTPS bounded to ${rss_tls_secs}s), fresh daemon"
  start_ehttpd rss
  say "  ehttpd pid $eh_pid, http port $eh_http_port, https port $eh_https_port"
  sleep 1
  rss_run http "$eh_http_port" 600
  rss_run https "$eh_https_port" "$rss_tls_secs"
  rss_log="$eh_log"
  stop_ehttpd
}

# the kernel's counters of refused connections (system-wide): accept queue
# overflows and SYN cookies that failed, as "OVERFLOWS COOKIES_FAILED"
tcp_refusals() {
  awk '/^TcpExt:/ { if (!n) { for (i = 2; i <= NF; i++) k[i] = $i; n = 1 } else
      for (i = 2; i <= NF; i++) v[k[i]] = $i }
    END { printf "%d %d\n", v["ListenOverflows"], v["SyncookiesFailed"] }' /proc/net/netstat
}

# VmRSS of a process and its children (nginx: master and workers), in KiB
tree_rss_kib() {
  local total=0 p
  for p in $1 $(awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null); do
    total=$((total + $(rss_kib "$p" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# concurrent_run NAME URL PID: wrk -c$concurrent with the RSS sampled every
# 100 ms and (ehttpd only) the open connections counted half way; results in
# $work/wrk-NAME.txt and $work/conc-NAME.txt
concurrent_run() {
  local name=$1 url=$2 pid=$3 out="$work/wrk-$1.txt" wrk_pid sampler o0 c0 o1 c1 mid=n/a
  read -r o0 c0 < <(tcp_refusals)
  (while kill -0 "$pid" 2>/dev/null; do tree_rss_kib "$pid"; sleep 0.1; done) \
    >"$work/rss-$name.samples" 2>/dev/null &
  sampler=$!
  wrk -t"$threads" -c"$concurrent" -d"${concurrent_secs}s" --timeout 30s \
    -s "$top/bench/wrk-report.lua" "$url" >"$out" 2>&1 &
  wrk_pid=$!
  if [ "$pid" = "$eh_pid" ]; then
    sleep $((concurrent_secs / 2))
    mid=$(eh_open_connections)
  fi
  wait "$wrk_pid" || {
    cat "$out" >&2
    die "wrk -c$concurrent failed against $url"
  }
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  read -r o1 c1 < <(tcp_refusals)
  grep -q '^wrk-result ' "$out" || {
    cat "$out" >&2
    die "wrk printed no result against $url"
  }
  printf 'conc-result peak=%s open_mid=%s overflows=%d cookies_failed=%d\n' \
    "$(sort -n "$work/rss-$name.samples" | tail -n 1)" "$mid" $((o1 - o0)) $((c1 - c0)) \
    >"$work/conc-$name.txt"
  say "    $(field "$out" rps) req/s, socket errors c/r/w/t $(field "$out" connect)/$(field "$out" read)/$(field "$out" write)/$(field "$out" timeout), peak RSS $(field "$work/conc-$name.txt" peak) KiB, open half way $mid"
  say "    kernel: accept queue overflows $((o1 - o0)), SYN cookies failed $((c1 - c0)) (system-wide)"
}

phase_concurrent() {
  local saved
  step "4. $concurrent concurrent keep-alive connections, 1 KiB over HTTPS: wrk -t$threads -c$concurrent -d${concurrent_secs}s --timeout 30s, fresh daemon"
  saved=$(ulimit -n)
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((concurrent + 100)) ] ||
    die "open files limit $(ulimit -n) is below $concurrent connections (raise the hard limit)"
  start_ehttpd concurrent "max-connections=$((concurrent + 1000))"
  say "  ehttpd pid $eh_pid (max-connections $((concurrent + 1000))), https://127.0.0.1:$eh_https_port/test/1k"
  wait_for_https "$eh_https_port" /test/1k || die "ehttpd does not answer GET /test/1k over HTTPS"
  concurrent_run conc-eh "https://127.0.0.1:$eh_https_port/test/1k" "$eh_pid"
  check_ehttpd_alive "the $concurrent-connection run"
  conc_log="$eh_log"
  stop_ehttpd
  start_nginx 1
  say "  nginx worker_processes 1, https://127.0.0.1:$ngx_port/test/1k"
  concurrent_run conc-ngx "https://127.0.0.1:$ngx_port/test/1k" "$ngx_pid"
  stop_nginx
  ulimit -n "$saved" 2>/dev/null || true
}

conc_row() {
  local w="$work/wrk-$1.txt" c="$work/conc-$1.txt"
  printf '%-26s %9s %9s %8s %9s %9s %9s\n' "$2" "$(field "$w" rps)" \
    "$(field "$w" connect)/$(field "$w" read)/$(field "$w" write)/$(field "$w" timeout)" \
    "$(field "$c" peak)" "$(field "$c" open_mid)" "$(field "$c" overflows)" "$(field "$c" cookies_failed)"
}

print_concurrent_summary() {
  say ""
  say "4. $concurrent concurrent keep-alive connections, 1 KiB GET over HTTPS, wrk -t$threads -c$concurrent -d${concurrent_secs}s"
  printf '%-26s %9s %9s %8s %9s %9s %9s\n' server "req/s" "err c/r/w/t" "peak KiB" "open 1/2" "overflow" "cookies✗"
  conc_row conc-eh "ehttpd (1 process)"
  conc_row conc-ngx "nginx worker_processes 1"
  say "(overflow / cookies✗: the kernel's accept-queue overflows and failed SYN cookies during the run, system-wide)"
  say "ehttpd log of that run: $(grep -c -E 'WARNING|CRITICAL|ERROR' "$conc_log" || true) warning/critical/error lines"
}

# ---------------------------------------------------------------- summary

print_versions() {
  local nginx_v wrk_v ab_v
  nginx_v=$(nginx -v 2>&1 | sed 's/^nginx version: //')
  wrk_v=$(wrk -v 2>&1 | head -n 1 | sed 's/ \[.*//')
  ab_v=$(ab -V 2>&1 | head -n 1 | sed 's/^This is ApacheBench, //; s/ <.*//')
  say "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  say "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
  say "ehttpd:   $eh_version ($build_type; binaries sha256 $build_id) from $build"
  say "libs:     libsoup $(pkg-config --modversion libsoup-3.0 2>/dev/null || echo '?'), GnuTLS $(pkg-config --modversion gnutls 2>/dev/null || echo '?'), GLib $(pkg-config --modversion glib-2.0 2>/dev/null || echo '?')"
  say "nginx:    $nginx_v ($(nginx -V 2>&1 | sed -n 's/^built with //p'))"
  say "wrk:      $wrk_v;  ab: $ab_v;  openssl: $(openssl version)"
}

rss_row() {
  local f="$work/rss-$1.txt" start warm end
  start=$(field "$f" start)
  warm=$(field "$f" warm)
  end=$(field "$f" end)
  printf '%-6s %9s %9s %9s %+10d %+10d   %s / %s failed, %s open\n' "$1" "$start" "$warm" "$end" \
    $((end - start)) $((end - warm)) "$(field "$f" complete)" "$(field "$f" failed)" "$(field "$f" open)"
}

print_summary() {
  local eh n1 na
  eh=$(field "$work/wrk-ka-eh.txt" rps)
  n1=$(field "$work/wrk-ka-ngx-1.txt" rps)
  na=$(field "$work/wrk-ka-ngx-auto.txt" rps)
  step "SUMMARY"
  print_versions
  say "TLS:      ehttpd: $eh_tls"
  say "          nginx:  $ngx_tls"
  say "same ECDSA P-256 certificate and key for both; loopback only; client and servers share the $(nproc) cores"
  say ""
  say "1. 1 KiB GET over HTTPS, keep-alive, wrk -t$threads -c$conns -d${keepalive_secs}s"
  printf '%-32s %10s %9s %9s   %s\n' server "req/s" "p50 ms" "p99 ms" "socket errors c/r/w/t  non-2xx"
  wrk_line ka-eh "ehttpd (1 process)"
  wrk_line ka-ngx-1 "nginx worker_processes 1"
  wrk_line ka-ngx-auto "nginx worker_processes auto ($(nproc))"
  say "ratio ehttpd / nginx(1 worker) = $(ratio "$eh" "$n1")   <- headline: ehttpd is one process"
  say "ratio ehttpd / nginx(auto)     = $(ratio "$eh" "$na")"
  say "ehttpd CPU per request: $(field "$work/wrk-ka-eh.txt" cpu_us) us; quick answers $([ "${BENCH_QUICK:-1}" = 0 ] && echo "off (BENCH_QUICK=0)" || echo on)"
  say ""
  say "2a. new TLS 1.3 connection per request (full handshake, no resumption), wrk -H 'Connection: close' -c$conns -d${close_secs}s"
  printf '%-32s %10s %9s %9s   %s\n' server "conn/s" "p50 ms" "p99 ms" "socket errors c/r/w/t  non-2xx"
  wrk_line close-eh "ehttpd (1 process)"
  wrk_line close-ngx-1 "nginx worker_processes 1"
  wrk_line close-ngx-auto "nginx worker_processes auto ($(nproc))"
  say "ratio ehttpd / nginx(1 worker) = $(ratio "$(field "$work/wrk-close-eh.txt" rps)" "$(field "$work/wrk-close-ngx-1.txt" rps)")"
  say "ratio ehttpd / nginx(auto)     = $(ratio "$(field "$work/wrk-close-eh.txt" rps)" "$(field "$work/wrk-close-ngx-auto.txt" rps)")"
  say "ehttpd open connections 1 s after the run: $close_eh_open"
  say ""
  say "2b. one client, serial connections, GET /test/1k each: openssl s_time, ${stime_secs}s"
  printf '%-32s %12s %12s %14s\n' server "-new conn/s" "-reuse conn/s" "resumed/total"
  for s in eh ngx; do
    printf '%-32s %12s %12s %14s\n' "$([ $s = eh ] && echo 'ehttpd' || echo 'nginx worker_processes 1')" \
      "$(field "$work/stime-new-$s.txt" rate)" "$(field "$work/stime-reuse-$s.txt" rate)" \
      "$(field "$work/stime-reuse-$s.txt" reused)/$(field "$work/stime-reuse-$s.txt" connections)"
  done
  say "ratio ehttpd / nginx: -new $(ratio "$(field "$work/stime-new-eh.txt" rate)" "$(field "$work/stime-new-ngx.txt" rate)"), -reuse $(ratio "$(field "$work/stime-reuse-eh.txt" rate)" "$(field "$work/stime-reuse-ngx.txt" rate)")"
  say ""
  say "3. ehttpd VmRSS (KiB), fresh daemon, $rss_warmup warm-up connections then up to $rss_conns of one GET each"
  say "   (ab -c$conns, no keep-alive; the HTTPS run stops after ${rss_tls_secs}s: see the connections column)"
  printf '%-6s %9s %9s %9s %10s %10s   %s\n' scheme start warm end "raw delta" "post-warm" "connections"
  rss_row http
  rss_row https
  say "RSS after each of $rss_batches batches: http $(cat "$work/rss-http-batches.txt"); https $(cat "$work/rss-https-batches.txt")"
  say ""
  say "ehttpd logs: $(cat "$bench_log" "$rss_log" | grep -c -E 'WARNING|CRITICAL|ERROR' || true) warning/critical/error lines"
  cat "$bench_log" "$rss_log" | grep -E 'WARNING|CRITICAL|ERROR' | head -n 5 | sed 's/^/  /' || true
  say "load:     $load_at_start at start (1/5/15 min), $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  say "elapsed:  $(($(date +%s) - started_at)) s"
}

# ---------------------------------------------------------------- main

main() {
  check_tools
  work=$(mktemp -d /tmp/ehttpd-bench.XXXXXX)
  trap cleanup EXIT
  set -E
  trap 'echo "front.sh: unexpected failure at line $LINENO: $BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
  snapshot_build
  make_certificate
  prepare_nginx_docroot

  if [ -n "$concurrent_only" ]; then
    [ "$concurrent" -gt 0 ] || die "BENCH_CONCURRENT_ONLY needs BENCH_CONCURRENT=N"
    phase_concurrent
    step "SUMMARY"
    print_versions
    print_concurrent_summary
    return 0
  fi
  step "starting ehttpd"
  start_ehttpd main
  bench_log="$eh_log"
  say "  ehttpd $eh_version pid $eh_pid, http port $eh_http_port, https port $eh_https_port"
  wait_for_https "$eh_https_port" /test/1k || die "ehttpd does not answer GET /test/1k over HTTPS"
  eh_tls=$(describe_https "$eh_https_port")
  say "  $eh_tls"
  start_nginx 1
  ngx_tls=$(describe_https "$ngx_port")
  say "  nginx: $ngx_tls"
  stop_nginx

  phase_keepalive
  phase_handshakes
  stop_ehttpd
  phase_rss
  [ "$concurrent" -eq 0 ] || phase_concurrent
  print_summary
  [ "$concurrent" -eq 0 ] || print_concurrent_summary
}

main
