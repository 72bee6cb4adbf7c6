# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Helpers the benchmarks share. A script sets bench_name before sourcing it.

# bench_start ARGS…: re-runs the script on a private session bus (so an
# ehttpd already on the caller's bus is never in the way), then sets $build
# from the first argument (default: build)
bench_start() {
  if [ -z "${EH_BENCH_ON_BUS:-}" ]; then
    command -v dbus-run-session >/dev/null 2>&1 || die "dbus-run-session is missing (Debian package dbus-bin)"
    EH_BENCH_ON_BUS=1 exec dbus-run-session -- "$0" "$@"
  fi
  build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) ||
    die "build directory '${1:-$top/build}' does not exist (run make build)"
}

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die() {
  printf '%s: %s\n' "$bench_name" "$*" >&2
  exit 1
}

need_tool() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing (Debian package $2; make bench installs it)"
}

# a TCP port that is free right now: the kernel picks it, we release it
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# value of KEY in a line of KEY=VALUE pairs read from FILE
field() {
  sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$1" | tail -n 1
}

# cpu_ticks PID...: the user + system CPU the processes have used, in clock ticks
cpu_ticks() {
  local total=0 p
  for p in "$@"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# note_cpu FILE PIDS TICKS_BEFORE: adds cpu_ticks= (what the processes PIDS,
# one word, used during the run) and cpu_us= (that per request, µs) to FILE's
# wrk-result line; robust to load elsewhere
note_cpu() {
  local used us
  # shellcheck disable=SC2086
  used=$(($(cpu_ticks $2) - $3))
  us=$(awk -v t="$used" -v n="$(field "$1" requests)" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "n/a" }')
  sed -i "s/^wrk-result .*/& cpu_ticks=$used cpu_us=$us/" "$1"
}

# the [front] group of an ehttpd config: BENCH_QUICK=0 sends every request through libsoup
front_config() {
  printf '%s\n' "[front]" "quick-answers=$([ "${BENCH_QUICK:-1}" = 0 ] && echo false || echo true)"
}

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}

# remove_work STATUS: the work directory goes, unless BENCH_KEEP or a failure
remove_work() {
  [ -n "$work" ] || return 0
  if [ -n "${BENCH_KEEP:-}" ] || [ "$1" -ne 0 ]; then
    echo "$bench_name: logs and configs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}

# stop_pid PID: SIGTERM, 10 s, SIGKILL; PID is a child of this shell
stop_pid() {
  [ -n "$1" ] || return 0
  if kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$1" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || true
  return 0
}

# nginx_start DIR WORKERS CONNECTIONS SUITES: nginx serving $work/www over
# HTTPS only (TLS 1.3, the TLS 1.3 suites in SUITES' order, the certificate
# in $work/tls/cert.pem and key.pem) on a free port, no access log, long
# keep-alive: the peer every benchmark compares with. Sets ngx_pid and
# ngx_port; the caller waits for its first answer.
nginx_start() {
  local dir=$1 workers=$2 conns=$3 suites=$4
  mkdir -p "$dir/temp"
  ngx_port=$(free_port)
  cat >"$dir/nginx.conf" <<CONF
worker_processes $workers;
worker_rlimit_nofile $((conns * 2 + 1024));
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections $conns;
}
http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    keepalive_timeout 60s;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$ngx_port ssl;
        server_name localhost;
        root $work/www;
        ssl_certificate $work/tls/cert.pem;
        ssl_certificate_key $work/tls/key.pem;
        ssl_protocols TLSv1.3;
        ssl_prefer_server_ciphers on;
        ssl_conf_command Ciphersuites $suites;
        ssl_session_cache shared:bench:10m;
        ssl_session_timeout 10m;
        ssl_session_tickets on;
    }
}
CONF
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" 2>"$dir/check.log" || {
    cat "$dir/check.log" >&2
    die "nginx refused its configuration (above)"
  }
  nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/stdout.log" 2>&1 &
  ngx_pid=$!
}

# describe_build FILE...: what the figures were measured on: build_type
# (buildtype, -O, sanitizers), build_id (a hash of the copied FILEs, so two
# runs of the same binaries can be told apart) and eh_version
describe_build() {
  build_type=$(python3 - "$build/meson-info/intro-buildoptions.json" <<'PY' 2>/dev/null || echo unknown
import json, sys
options = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
print("%s, -O%s, sanitize=%s" % (options["buildtype"], options["optimization"], options["b_sanitize"]))
PY
)
  build_id=$(sha256sum "$@" | sha256sum | cut -c1-12)
  eh_version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$build/meson-info/intro-projectinfo.json" 2>/dev/null || echo '?')
}
