#!/bin/bash
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The ca role's benchmark, with a peer beside each figure, in one run.
#   1. site bring-up: ehttpd exec on a fresh state dir (plugins ca and
#      test-dp-standin: two roles) to the first HTTPS answer that verifies
#      against the root it just made; peer: nginx with a certificate made
#      beforehand; also ehttpd restarted on the state dir it made
#   2. edge bring-up: a site running; per run a fresh edge state dir and a
#      new join token; ehttpd exec to the first HTTPS answer from the edge
#      that verifies against the site's root; peer: key, CSR and signature
#      by openssl on the same host, then nginx; also the edge restarted
#   3. issuance rate, durable: eh-ca-bench (the real eh_ca_issue path),
#      with the disk's fdatasync and SQLite durable-commit rates and the
#      same path on tmpfs as references; peers: certtool and "openssl ca",
#      one process per certificate, as a CLI CA signs
# usage: bench/ca.sh [BUILD_DIR]      (default: build)
# See bench/README.md for the knobs (environment variables) and how to read
# the figures. Nothing passes or fails on speed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=ca.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_start "$@"

# knobs
runs=${BENCH_RUNS:-20}
issue_secs=${BENCH_ISSUE_SECONDS:-10}
poll_ms=${BENCH_POLL_MS:-2}
bringup_timeout=${BENCH_BRINGUP_TIMEOUT:-20}
tmp_parent=${BENCH_TMPDIR:-/var/tmp}
cpu_dir=${BENCH_CPU_DIR:-/dev/shm}
do_strace=${BENCH_STRACE:-1}

started_at=$(date +%s)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=""
site_pid=""
edge_bus_pid=""

# ---------------------------------------------------------------- helpers

cleanup() {
  local status=$?
  set +e
  stop_pid "$site_pid"
  site_pid=""
  stop_pid "$edge_bus_pid"
  edge_bus_pid=""
  remove_work "$status"
  exit "$status"
}

# stats FILE KEY: "median max n" of KEY=VALUE over the lines of FILE, in ms
stats_ms() {
  sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$1" | sort -g |
    awk '{ v[NR] = $1 * 1000 } END {
      if (NR == 0) { print "n/a n/a 0"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.0f %.0f %d\n", m, v[NR], NR }'
}

# ---------------------------------------------------------------- setup

check_tools() {
  need_tool python3 python3
  need_tool openssl openssl
  need_tool certtool gnutls-bin
  need_tool nginx nginx-light
  need_tool dbus-daemon dbus-daemon
  [ -x "$build/core/ehttpd" ] || die "$build/core/ehttpd is missing (run make build)"
  [ -x "$build/core/ctl/ehttpctl" ] || die "$build/core/ctl/ehttpctl is missing (run make build)"
  [ -f "$build/core/libehttpd-core.so" ] || die "$build/core/libehttpd-core.so is missing (run make build)"
  [ -x "$build/bench/eh-ca-bench" ] || die "$build/bench/eh-ca-bench is missing (run make build)"
  [ -f "$build/plugins/ca/ehttpd-plugin-ca.so" ] ||
    die "$build/plugins/ca/ehttpd-plugin-ca.so is missing (run make build)"
  [ -f "$build/plugins/test/ehttpd-plugin-test-dp-standin.so" ] ||
    die "$build/plugins/test/ehttpd-plugin-test-dp-standin.so is missing (run make build)"
  [ -d "$tmp_parent" ] || die "BENCH_TMPDIR $tmp_parent is not a directory"
  case "$runs" in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
  case "$issue_secs" in '' | *[!0-9]* | 0) die "BENCH_ISSUE_SECONDS must be a positive integer" ;; esac
}

# the binaries under test are copied first, so that a rebuild during the run
# cannot change them half way (they find libehttpd-core.so by $ORIGIN)
snapshot_build() {
  mkdir -p "$work/bin" "$work/core" "$work/bench" "$work/plugins-site" "$work/plugins-edge"
  cp "$build/core/ehttpd" "$build/core/ctl/ehttpctl" "$build/core/libehttpd-core.so" "$work/bin/"
  cp "$build/core/libehttpd-core.so" "$work/core/"
  cp "$build/bench/eh-ca-bench" "$work/bench/"
  install -m 0644 "$build/plugins/ca/ehttpd-plugin-ca.so" \
    "$build/plugins/test/ehttpd-plugin-test-dp-standin.so" "$work/plugins-site/"
  install -m 0644 "$build/plugins/test/ehttpd-plugin-test-dp-standin.so" "$work/plugins-edge/"
  ehttpd="$work/bin/ehttpd"
  ehttpctl="$work/bin/ehttpctl"
  ca_bench="$work/bench/eh-ca-bench"
  describe_build "$ehttpd" "$work/bin/libehttpd-core.so" "$work/plugins-site/ehttpd-plugin-ca.so"
}

# the peers' CA and nginx's provisioned certificate (ECDSA P-256, like the ca's root)
make_peer_pki() {
  local d="$work/peer-pki"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/O=bench/CN=bench root" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$d/root.key" -out "$d/root.pem" 2>/dev/null || die "openssl could not make the peer root"
  make_leaf "$d" "$d/root.pem" "$d/root.key"
  chmod 0600 "$d/root.key" "$d/leaf.key"
  # what the ca serves at /ehttpd/ca/root.pem, nginx serves as a file
  mkdir -p "$work/www/ehttpd/ca"
  cp "$d/root.pem" "$work/www/ehttpd/ca/root.pem"
  chmod 0755 "$work" "$work/www" "$work/www/ehttpd" "$work/www/ehttpd/ca"
  chmod 0644 "$work/www/ehttpd/ca/root.pem"
}

# the extensions of a role certificate, for openssl
write_role_ext() {
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1,URI:urn:ehttpd:role:dp" >"$1"
}

# make_leaf DIR CA_PEM CA_KEY: DIR/leaf.key, DIR/leaf.pem (the commands the
# edge peer runs inside its timing, as a shell snippet in make_leaf_cmd)
make_leaf_cmd() {
  printf 'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout %q -out %q 2>/dev/null && ' \
    "$1/leaf.key" "$1/leaf.csr"
  printf 'openssl x509 -req -in %q -CA %q -CAkey %q -days 90 -extfile %q -out %q 2>/dev/null' \
    "$1/leaf.csr" "$2" "$3" "$1/role.ext" "$1/leaf.pem"
}

make_leaf() {
  write_role_ext "$1/role.ext"
  sh -c "$(make_leaf_cmd "$1" "$2" "$3")" || die "openssl could not make a leaf certificate in $1"
}

# write_nginx_conf DIR PORT CERT KEY
write_nginx_conf() {
  mkdir -p "$1/temp"
  cat >"$1/nginx.conf" <<CONF
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path $1/temp/body;
    proxy_temp_path $1/temp/proxy;
    fastcgi_temp_path $1/temp/fastcgi;
    uwsgi_temp_path $1/temp/uwsgi;
    scgi_temp_path $1/temp/scgi;
    server {
        listen 127.0.0.1:$2 ssl;
        server_name localhost;
        root $work/www;
        ssl_certificate $3;
        ssl_certificate_key $4;
        ssl_protocols TLSv1.3;
    }
}
CONF
}

# bringup NAME CAFILE PATH BODY PORT -- COMMAND...: one timed bring-up,
# appended to $work/results/NAME.txt; PORT "log": read from COMMAND's log
bringup() {
  local name=$1 cafile=$2 path=$3 body=$4 port=$5 n out
  shift 6
  mkdir -p "$work/results" "$work/logs"
  n=1
  [ -f "$work/results/$name.txt" ] && n=$(($(wc -l <"$work/results/$name.txt") + 1))
  local args=(--cafile "$cafile" --log "$work/logs/$name-$n.log" --path "$path"
    --timeout "$bringup_timeout" --poll-ms "$poll_ms")
  [ -n "$body" ] && args+=(--body "$body")
  if [ "$port" = log ]; then args+=(--port-from-log); else args+=(--port "$port"); fi
  out=$(python3 "$top/bench/bringup.py" "${args[@]}" -- "$@") ||
    die "$name run $n: no verified HTTPS answer (log: $work/logs/$name-$n.log)"
  printf '%s\n' "$out" >>"$work/results/$name.txt"
}

# ---------------------------------------------------------------- site

# site_config DIR: a site host (ca + test-dp-standin) on a fresh state dir
site_config() {
  mkdir -p "$1"
  cat >"$1/ehttpd.conf" <<CONF
[core]
state-dir=$1/state
plugin-dir=$work/plugins-site
plugins=ca,test-dp-standin
http-listen=127.0.0.1:0
https-listen=127.0.0.1:0
access-log=false
CONF
}

phase_site() {
  local i dir ngx_dir port
  step "1. site bring-up, $runs runs: exec to the first HTTPS answer verified against the site's root"
  for i in $(seq 1 "$runs"); do
    dir="$work/site-$i"
    site_config "$dir"
    bringup site-fresh "$dir/state/plugins/ca/root.pem" /ehttpd/ca/root.pem "" log -- \
      "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins
    # the body must be the root the file holds (checked on the restart, when it is surely whole)
    bringup site-restart "$dir/state/plugins/ca/root.pem" /ehttpd/ca/root.pem \
      "$dir/state/plugins/ca/root.pem" log -- \
      "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins
    ngx_dir="$work/nginx-site-$i"
    port=$(free_port)
    write_nginx_conf "$ngx_dir" "$port" "$work/peer-pki/leaf.pem" "$work/peer-pki/leaf.key"
    bringup site-nginx "$work/peer-pki/root.pem" /ehttpd/ca/root.pem "$work/peer-pki/root.pem" "$port" -- \
      nginx -p "$ngx_dir" -c "$ngx_dir/nginx.conf" -g 'daemon off;'
    printf '  run %2d: ehttpd fresh %s ms, restart %s ms, nginx %s ms\n' "$i" \
      "$(ms_of "$work/results/site-fresh.txt")" "$(ms_of "$work/results/site-restart.txt")" \
      "$(ms_of "$work/results/site-nginx.txt")"
  done
  # the roles of the last fresh site's certificate
  site_roles=$(roles_of_chain "$work/site-$runs/state/tls/host.pem")
}

# the last line's seconds, in ms
ms_of() {
  tail -n 1 "$1" | sed -n 's/.* seconds=\([^ ]*\).*/\1/p' | awk '{ printf "%.0f", $1 * 1000 }'
}

roles_of_chain() {
  [ -f "$1" ] || {
    echo "?"
    return 0
  }
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
    grep -o 'urn:ehttpd:role:[a-z-]*' | sed 's/urn:ehttpd:role://' | paste -sd, - || echo "?"
}

# ---------------------------------------------------------------- edge

start_site() {
  local dir="$work/site-for-edges" deadline status
  site_config "$dir"
  "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins >"$dir/ehttpd.log" 2>&1 &
  site_pid=$!
  deadline=$(($(date +%s) + 20))
  site_https=""
  while :; do
    kill -0 "$site_pid" 2>/dev/null || {
      cat "$dir/ehttpd.log" >&2
      site_pid=""
      die "the site ehttpd exited at start (log above)"
    }
    [ "$(date +%s)" -lt "$deadline" ] || die "the site got no certificate within 20 s (log: $dir/ehttpd.log)"
    status=$("$ehttpctl" --session --json status 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
https = [u for u in s["listeners"] if u.startswith("https://")]
if https and s.get("certificate"):
    print(https[0])' 2>/dev/null) || true
    [ -n "$status" ] && break
    sleep 0.1
  done
  site_https=$status
  site_root="$dir/state/plugins/ca/root.pem"
  site_root_key="$dir/state/plugins/ca/root-key.pem"
  site_fingerprint=$("$ehttpctl" --session --json ca show | python3 -c 'import json, sys; print(json.load(sys.stdin)["root-fingerprint"])')
  [ -f "$site_root_key" ] || die "the site's root key is not at $site_root_key"
}

# the edges own org.ehttpd on a bus of their own, as separate machines would
start_edge_bus() {
  local address_file="$work/edge-bus.address"
  dbus-daemon --session --nofork --address="unix:path=$work/edge-bus.sock" --print-address=3 \
    3>"$address_file" >/dev/null 2>&1 &
  edge_bus_pid=$!
  for _ in $(seq 1 100); do
    [ -s "$address_file" ] && break
    sleep 0.05
  done
  [ -s "$address_file" ] || die "the edges' dbus-daemon did not start"
  edge_bus=$(head -n 1 "$address_file")
}

edge_config() {
  mkdir -p "$1"
  cat >"$1/ehttpd.conf" <<CONF
[core]
state-dir=$1/state
plugin-dir=$work/plugins-edge
plugins=test-dp-standin
http-listen=127.0.0.1:0
https-listen=127.0.0.1:0
access-log=false
[site]
upstream=$site_https
root-fingerprint=$site_fingerprint
join-token=$2
CONF
}

phase_edge() {
  local i dir token ngx_dir port
  step "2. edge bring-up, $runs runs: exec to the first HTTPS answer from the edge verified against the site's root"
  start_site
  start_edge_bus
  say "  site $site_https, root $site_fingerprint"
  for i in $(seq 1 "$runs"); do
    dir="$work/edge-$i"
    token=$("$ehttpctl" --session --json join-token create --role dp |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') || die "ehttpctl join-token create failed"
    edge_config "$dir" "$token"
    bringup edge-fresh "$site_root" /test/standin/bundle "" log -- \
      env DBUS_SESSION_BUS_ADDRESS="$edge_bus" "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins
    bringup edge-restart "$site_root" /test/standin/bundle "" log -- \
      env DBUS_SESSION_BUS_ADDRESS="$edge_bus" "$ehttpd" --config "$dir/ehttpd.conf" --session --allow-test-plugins
    # the peer: key, CSR and signature by the site's root key on this host, then nginx
    ngx_dir="$work/nginx-edge-$i"
    port=$(free_port)
    write_nginx_conf "$ngx_dir" "$port" "$ngx_dir/leaf.pem" "$ngx_dir/leaf.key"
    write_role_ext "$ngx_dir/role.ext"
    bringup edge-nginx "$site_root" /test/standin/bundle "" "$port" -- \
      sh -c "$(make_leaf_cmd "$ngx_dir" "$site_root" "$site_root_key") && exec nginx -p $ngx_dir -c $ngx_dir/nginx.conf -g 'daemon off;'"
    printf '  run %2d: ehttpd fresh %s ms, restart %s ms, openssl + nginx %s ms\n' "$i" \
      "$(ms_of "$work/results/edge-fresh.txt")" "$(ms_of "$work/results/edge-restart.txt")" \
      "$(ms_of "$work/results/edge-nginx.txt")"
  done
  edge_roles=$(roles_of_chain "$work/edge-$runs/state/tls/host.pem")
  edge_issued=$("$ehttpctl" --session --json cert list |
    python3 -c 'import json, sys; print(sum(1 for c in json.load(sys.stdin) if c["roles"] == ["dp"]))')
  stop_pid "$site_pid"
  site_pid=""
  stop_pid "$edge_bus_pid"
  edge_bus_pid=""
}

# ---------------------------------------------------------------- issuance

# cli_loop NAME SECONDS COMMAND...: runs COMMAND (with {} replaced by the
# count) one process after the other for SECONDS; results in $work/results/NAME.txt
cli_loop() {
  local name=$1 secs=$2 count=0 t0 end now
  shift 2
  # EPOCHREALTIME without its dot: microseconds, and no process per check
  t0=${EPOCHREALTIME/./}
  end=$((t0 + secs * 1000000))
  now=$t0
  while [ "$now" -lt "$end" ]; do
    "$@" "$count" >/dev/null 2>&1 || die "$name failed (command: $*)"
    count=$((count + 1))
    now=${EPOCHREALTIME/./}
  done
  awk -v n="$count" -v us="$((now - t0))" -v name="$name" \
    'BEGIN { printf "result name=%s count=%d seconds=%.3f rate=%.1f per_op_us=%.1f\n", name, n, us / 1e6, n * 1e6 / us, us / n }' \
    >"$work/results/$name.txt"
}

prepare_cli_peers() {
  local d="$work/cli-ca" i
  mkdir -p "$d/csr" "$d/out" "$d/openssl-ca/certs"
  # as many requests as eh-ca-bench has requester keys (16), made beforehand
  for i in $(seq 0 15); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=edge.example" \
      -keyout "$d/csr/$i.key" -out "$d/csr/$i.csr" 2>/dev/null || die "openssl could not make a CSR"
  done
  cat >"$d/certtool.tmpl" <<'TMPL'
cn = "edge.example"
dns_name = "edge.example"
ip_address = "127.0.0.1"
uri = "urn:ehttpd:role:dp"
expiration_days = 90
signing_key
tls_www_server
tls_www_client
TMPL
  : >"$d/openssl-ca/index.txt"
  cat >"$d/openssl-ca/ca.conf" <<CONF
[ca]
default_ca = bench
[bench]
dir = $d/openssl-ca
database = $d/openssl-ca/index.txt
new_certs_dir = $d/openssl-ca/certs
certificate = $work/peer-pki/root.pem
private_key = $work/peer-pki/root.key
rand_serial = yes
unique_subject = no
default_md = sha256
default_days = 90
policy = any
x509_extensions = role
[any]
commonName = supplied
[role]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:edge.example,IP:127.0.0.1,URI:urn:ehttpd:role:dp
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CONF
}

peer_certtool() {
  local d="$work/cli-ca"
  certtool --generate-certificate --load-request "$d/csr/$(($1 % 16)).csr" \
    --load-ca-certificate "$work/peer-pki/root.pem" --load-ca-privkey "$work/peer-pki/root.key" \
    --template "$d/certtool.tmpl" --outfile "$d/out/certtool-$1.pem"
}

peer_openssl_ca() {
  local d="$work/cli-ca"
  openssl ca -batch -notext -config "$d/openssl-ca/ca.conf" -in "$d/csr/$(($1 % 16)).csr" \
    -out "$d/out/openssl-$1.pem"
}

phase_issuance() {
  local fs cpu_arg=()
  step "3. issuance rate, ${issue_secs}s per measure, in $work (on the disk of the state dirs)"
  fs=$(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }')
  disk_desc="$fs"
  if [ -d "$cpu_dir" ] && [ "$(df -T "$cpu_dir" | awk 'NR == 2 { print $2 }')" = tmpfs ]; then
    cpu_arg=(--cpu-dir "$cpu_dir")
  else
    say "  $cpu_dir is not tmpfs: the no-flush reference is skipped (set BENCH_CPU_DIR)"
  fi
  "$ca_bench" --dir "$work" "${cpu_arg[@]}" --seconds "$issue_secs" >"$work/results/eh-ca-bench.txt" ||
    die "eh-ca-bench failed"
  sed 's/^result /  /' "$work/results/eh-ca-bench.txt"
  for m in fdatasync commit issue issue16 cpu; do
    grep "name=$m " "$work/results/eh-ca-bench.txt" >"$work/results/bench-$m.txt" || true
  done
  prepare_cli_peers
  say "  certtool, one process per certificate"
  cli_loop certtool "$issue_secs" peer_certtool
  sed 's/^result /  /' "$work/results/certtool.txt"
  say "  openssl ca, one process per certificate (index.txt kept)"
  cli_loop openssl-ca "$issue_secs" peer_openssl_ca
  sed 's/^result /  /' "$work/results/openssl-ca.txt"
  syscalls_line=""
  if [ "$do_strace" = 1 ] && command -v strace >/dev/null 2>&1; then
    strace -f -c -U name,calls -o "$work/results/strace.txt" -e trace=fdatasync,fsync,pwrite64,fcntl \
      "$ca_bench" --dir "$work" --seconds 2 --only issue >"$work/results/strace-run.txt" 2>&1 ||
      die "eh-ca-bench under strace failed"
    syscalls_line=$(awk -v n="$(field "$work/results/strace-run.txt" count)" '
      $1 ~ /^(fdatasync|fsync|pwrite64|fcntl)$/ { c[$1] = $2 }
      END { if (n > 0) printf "per issuance: %.2f fdatasync, %.2f fsync, %.1f pwrite64, %.1f fcntl (locks)",
        c["fdatasync"] / n, c["fsync"] / n, c["pwrite64"] / n, c["fcntl"] / n }' "$work/results/strace.txt")
    say "  strace -c, 2 s: $syscalls_line"
  fi
}

# ---------------------------------------------------------------- summary

bringup_row() {
  local label=$1 file=$2 target=$3 s
  s=$(stats_ms "$work/results/$file.txt" seconds)
  printf '| %-58s | %7s | %7s | %3s | %-8s |\n' "$label" "$(echo "$s" | cut -d' ' -f1)" \
    "$(echo "$s" | cut -d' ' -f2)" "$(echo "$s" | cut -d' ' -f3)" "$target"
}

rate_row() {
  local label=$1 file=$2 target=$3
  if [ -s "$work/results/$file.txt" ]; then
    printf '| %-58s | %9s | %9s | %-8s |\n' "$label" "$(field "$work/results/$file.txt" rate)" \
      "$(field "$work/results/$file.txt" per_op_us)" "$target"
  fi
}

print_summary() {
  local issue cpu commit
  step "SUMMARY"
  say "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
  say "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), Linux $(uname -r)"
  say "ehttpd:   $eh_version ($build_type; binaries sha256 $build_id) from $build"
  say "libs:     GnuTLS $(pkg-config --modversion gnutls 2>/dev/null || echo '?'), SQLite $(pkg-config --modversion sqlite3 2>/dev/null || echo '?'), GLib $(pkg-config --modversion glib-2.0 2>/dev/null || echo '?')"
  say "peers:    $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2), $(certtool --version 2>/dev/null | head -n 1)"
  say "disk:     $disk_desc ($work); no-flush reference on ${cpu_dir}"
  say "site:     plugins ca,test-dp-standin (two roles; the certificate names: $site_roles)"
  say "edge:     plugins test-dp-standin (role dp; the certificate names: $edge_roles); $edge_issued dp certificates issued by the site"
  say "clock:    exec to the first complete HTTP answer over TLS verified against the root and 127.0.0.1 (python ssl, retried every ${poll_ms} ms)"
  say ""
  say "Bring-up, ms over $runs runs each (targets: site < 1 s, edge < 2 s)"
  printf '| %-58s | %7s | %7s | %3s | %-8s |\n' measure median max n target
  printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 60))" "---------" "---------" "-----" "----------"
  bringup_row "site: ehttpd ca+dp, fresh state (root, issue, serve)" site-fresh "< 1000"
  bringup_row "  peer: nginx, certificate provisioned beforehand" site-nginx ""
  bringup_row "  ehttpd restart on the state it made" site-restart ""
  bringup_row "edge: ehttpd dp, fresh state + join token (enrol, serve)" edge-fresh "< 2000"
  bringup_row "  peer: openssl key+CSR+sign (site root key), nginx" edge-nginx ""
  bringup_row "  ehttpd edge restart, enrolled" edge-restart ""
  say ""
  say "Issuance, one after the other, ${issue_secs}s each (target: >= 1,000 role certificates/s, durable)"
  printf '| %-58s | %9s | %9s | %-8s |\n' measure "per s" "us each" target
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 60))" "-----------" "-----------" "----------"
  rate_row "ehttpd eh_ca_issue, role, durable (2 commits each)" bench-issue ">= 1000"
  rate_row "  16 requests waiting at once (2 commits per batch)" bench-issue16 ">= 1000"
  rate_row "  same path, store on tmpfs (flushes free: CPU only)" bench-cpu ""
  rate_row "  disk: SQLite WAL synchronous=FULL, 1 row/commit" bench-commit ""
  rate_row "  disk: write 4 KiB + fdatasync" bench-fdatasync ""
  rate_row "  peer: certtool, a process per certificate, no record" certtool ""
  rate_row "  peer: openssl ca, a process per certificate, index.txt" openssl-ca ""
  issue=$(field "$work/results/bench-issue.txt" rate)
  commit=$(field "$work/results/bench-commit.txt" rate)
  cpu=$(field "$work/results/bench-cpu.txt" rate)
  say ""
  say "issuance / (commit rate / 2) = $(ratio "$issue" "$(awk -v c="$commit" 'BEGIN { print c / 2 }')")  (1.00: the flushes alone bound it)"
  [ -n "$cpu" ] && say "issuance / same path on tmpfs = $(ratio "$issue" "$cpu")  (1.00: the CPU alone bounds it)"
  say "ehttpd / certtool = $(ratio "$issue" "$(field "$work/results/certtool.txt" rate)"), ehttpd / openssl ca = $(ratio "$issue" "$(field "$work/results/openssl-ca.txt" rate)")"
  [ -n "$syscalls_line" ] && say "strace -c of eh_ca_issue, $syscalls_line"
  say "ehttpd logs: $(cat "$work"/logs/*.log "$work/site-for-edges/ehttpd.log" 2>/dev/null | grep -c -E 'WARNING|CRITICAL|ERROR' || true) warning/critical/error lines"
  cat "$work"/logs/*.log "$work/site-for-edges/ehttpd.log" 2>/dev/null | grep -E 'WARNING|CRITICAL|ERROR' |
    sed 's/^([^)]*): //; s/ [0-9][0-9]:[0-9][0-9]:[0-9.]*: / /; s/127\.0\.0\.1:[0-9]*/127.0.0.1:PORT/g' |
    sort | uniq -c | sort -rn | head -n 5 | sed 's/^ */  /' || true
  say "load:     $load_at_start at start (1/5/15 min), $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  say "elapsed:  $(($(date +%s) - started_at)) s"
}

# ---------------------------------------------------------------- main

main() {
  check_tools
  work=$(mktemp -d "$tmp_parent/ehttpd-bench-ca.XXXXXX")
  trap cleanup EXIT
  set -E
  trap 'echo "ca.sh: unexpected failure at line $LINENO: $BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p "$work/results"
  snapshot_build
  make_peer_pki
  phase_site
  phase_edge
  phase_issuance
  print_summary
}

main
