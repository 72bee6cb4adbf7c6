#!/bin/bash
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# ehttp-client's benchmark, against its targets (issue 6):
#   1. a 256 MiB content from one DP: ehttp-client (hashing, temp file,
#      fsync, rename) next to curl fetching the same file with the same
#      content token from the same DP (best of BENCH_RUNS each; target >= 0.9x)
#      and the CPU seconds (user + system) each spends, per GiB
#   2. the client's peak RSS while it downloads 1 GiB (4 files of 256 MiB),
#      /usr/bin/time -v (target < 32 MiB), and its CPU seconds
#   3. failover after a DP dies: an edge DP is SIGKILLed mid-transfer; the
#      time from the kill to the first byte from the next DP (target < 2 s)
# usage: bench/client.sh [BUILD_DIR]      (default: build)
# A site host (ca, mp, dp) and an edge DP host, each its own ehttpd, on a
# private session bus and free ports. Nothing passes or fails on speed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bench_name=client.sh
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
bench_start "$@"

runs=${BENCH_RUNS:-3}
ready_timeout=${BENCH_READY_TIMEOUT:-60}
failover_rate=${BENCH_FAILOVER_RATE:-64M}
pkg='/CCMTOKENAUTH_SMS_DP_SMSPKG$'

work=""
site_pid=""
edge_pid=""

cleanup() {
  local status=$?
  set +e
  stop_pid "$edge_pid"
  stop_pid "$site_pid"
  remove_work "$status"
  exit "$status"
}

for tool in curl python3 sha256sum; do need_tool "$tool" "$tool"; done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian package time)"
for f in core/ehttpd core/ctl/ehttpctl client/ehttp-client plugins/ca/ehttpd-plugin-ca.so \
  plugins/mp/ehttpd-plugin-mp.so plugins/dp/ehttpd-plugin-dp.so; do
  [ -e "$build/$f" ] || die "$build/$f is missing (run make build)"
done
case "$runs" in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac

work=$(mktemp -d /tmp/eh-bench-client-XXXXXX)
trap cleanup EXIT INT TERM
mkdir -p "$work/plugins"
install -m 0644 "$build/plugins/ca/ehttpd-plugin-ca.so" "$build/plugins/mp/ehttpd-plugin-mp.so" \
  "$build/plugins/dp/ehttpd-plugin-dp.so" "$work/plugins/"
ehttpd="$build/core/ehttpd"
ctl() { "$build/core/ctl/ehttpctl" --session "$@"; }
client() { "$build/client/ehttp-client" --state-dir "$work/client" "$@"; }

# json FILE EXPRESSION: a value of a JSON document (d is the document)
json() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }

wait_until() {
  local what=$1 deadline=$(($(date +%s) + ready_timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "no $what within $ready_timeout s (logs in $work)"
    sleep 0.2
  done
}

# start_host NAME PLUGINS HTTP_PORT HTTPS_PORT [CONFIG LINES…]: sets host_pid
start_host() {
  local name=$1 plugins=$2 http=$3 https=$4 dir="$work/$1"
  shift 4
  mkdir -p "$dir/state" && chmod 0700 "$dir/state"
  {
    printf '%s\n' "[core]" "state-dir=$dir/state" "plugin-dir=$work/plugins" "plugins=$plugins" \
      "http-listen=127.0.0.1:$http" "https-listen=127.0.0.1:$https" "access-log=false"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$dir/ehttpd.conf"
  "$ehttpd" --config "$dir/ehttpd.conf" --session >>"$dir/ehttpd.log" 2>&1 &
  host_pid=$!
}

site_http=$(free_port)
site_https=$(free_port)
start_site() {
  start_host site ca,mp,dp "$site_http" "$site_https" "[mp]" "auto-approve=true" "[dp]" "names=dp1.bench"
  site_pid=$host_pid
  wait_until "site information" curl -sf -o /dev/null "http://127.0.0.1:$site_http/ehttpd/mp/site"
}

step "site: ca, mp, dp; contents of 256 MiB and 1 GiB (4 x the same 256 MiB, stored once)"
start_site
mkdir -p "$work/src256" "$work/src1g"
head -c $((256 * 1024 * 1024)) /dev/urandom >"$work/src256/256m.bin"
for i in 1 2 3 4; do ln "$work/src256/256m.bin" "$work/src1g/part$i.bin"; done
ctl content add bench-256m "$work/src256" >/dev/null
ctl content add bench-1g "$work/src1g" >/dev/null
ctl --json content list >"$work/contents.json"
id256=$(json "$work/contents.json" '[c["id"] for c in d if c["name"] == "bench-256m"][0]')
id1g=$(json "$work/contents.json" '[c["id"] for c in d if c["name"] == "bench-1g"][0]')
# the site's DP tells the MP what it holds when it starts
stop_pid "$site_pid"
start_site
fingerprint=$(ctl --json ca show | python3 -c 'import json, sys; print(json.load(sys.stdin)["root-fingerprint"])')
client --quiet join --site "http://127.0.0.1:$site_http" --root-fingerprint "$fingerprint" \
  --host-name bench.example >/dev/null
client --quiet register >/dev/null
wait_until "content located" client --json content locate "$id256"
client --json content locate "$id256" >"$work/locate.json"
token=$(json "$work/locate.json" 'd["token"]')
dp_url=$(json "$work/locate.json" 'd["dps"][0]["url"]')
root="$work/client/root.pem"

step "1. 256 MiB from one DP: ehttp-client vs curl, same token, same DP (best of $runs)"
best_client=""
best_curl=""
# the smaller of two numbers ("" is none yet)
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
# cpu FILE: user + system seconds of a `/usr/bin/time -f '%U %S'` output
cpu() { awk '{ printf "%.2f", $1 + $2 }' "$1"; }
for run in $(seq 1 "$runs"); do
  rm -rf "$work/dest"
  /usr/bin/time -f '%U %S' -o "$work/client.cpu" "$build/client/ehttp-client" --state-dir "$work/client" \
    --json --quiet content get "$id256" --dest "$work/dest" >"$work/get.json"
  s=$(json "$work/get.json" 'd["seconds"]')
  best_client=$(least "$s" "$best_client")
  cpu_client=$(least "$(cpu "$work/client.cpu")" "${cpu_client:-}")
  rm -f "$work/curl.out"
  s=$(/usr/bin/time -f '%U %S' -o "$work/curl.cpu" curl -sS --cacert "$root" -H "Authorization: Bearer $token" \
    -o "$work/curl.out" -w '%{time_total}' "$dp_url$pkg/$id256/256m.bin")
  best_curl=$(least "$s" "$best_curl")
  cpu_curl=$(least "$(cpu "$work/curl.cpu")" "${cpu_curl:-}")
  # the client syncs each file before its rename: curl followed by the same sync, for the like with like
  rm -f "$work/curl.out"
  t0=$(date +%s.%N)
  curl -sS --cacert "$root" -H "Authorization: Bearer $token" -o "$work/curl.out" "$dp_url$pkg/$id256/256m.bin"
  sync --data "$work/curl.out"
  synced=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.6f", b - a }')
  best_synced=$(least "$synced" "${best_synced:-}")
  say "  run $run: ehttp-client $(json "$work/get.json" 'd["seconds"]') s ($(cpu "$work/client.cpu") s CPU)," \
    "curl $s s ($(cpu "$work/curl.cpu") s CPU), curl + sync $synced s"
done
[ "$(sha256sum <"$work/curl.out")" = "$(sha256sum <"$work/dest/256m.bin")" ] || die "curl and the client differ"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mib_s() { awk -v s="$1" 'BEGIN { printf "%.0f", 256 / s }'; }
client_rate=$(mib_s "$best_client")
curl_rate=$(mib_s "$best_curl")
synced_rate=$(mib_s "$best_synced")
rm -rf "$work/dest" "$work/curl.out"

step "2. peak RSS of ehttp-client during a 1 GiB download"
/usr/bin/time -v "$build/client/ehttp-client" --state-dir "$work/client" --json --quiet content get "$id1g" \
  --dest "$work/dest1g" >"$work/get1g.json" 2>"$work/time.txt"
rss_kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
cpu_1g=$(awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$work/time.txt")
rate_1g=$(json "$work/get1g.json" 'round(d["bytes_per_second"] / 1048576)')
say "  1 GiB in $(json "$work/get1g.json" 'round(d["seconds"], 2)') s ($rate_1g MiB/s), $cpu_1g s CPU, peak RSS $rss_kib KiB"
rm -rf "$work/dest1g"

step "3. failover: an edge DP dies mid-transfer (client limited to $failover_rate/s)"
join_token=$(ctl --json join-token create --role dp | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
start_host edge dp "$(free_port)" "$(free_port)" "[site]" "upstream=https://127.0.0.1:$site_https" \
  "root-fingerprint=$fingerprint" "join-token=$join_token" "[dp]" "names=edge1.bench" "pull-interval=2"
edge_pid=$host_pid
edge_located() {
  client --json content locate "$id256" >"$work/locate2.json" &&
    [ "$(json "$work/locate2.json" 'd["dps"][0]["name"]')" = edge1.bench ]
}
wait_until "the edge holding the content" edge_located
rm -rf "$work/dest"
client --json --quiet content get "$id256" --dest "$work/dest" --max-rate "$failover_rate" >"$work/failover.json" &
get_pid=$!
sleep 1.5
killed_at=$(date +%s.%N)
kill -KILL "$edge_pid"
wait "$edge_pid" 2>/dev/null || true
edge_pid=""
wait "$get_pid" || die "the download did not survive the failover: $(cat "$work/failover.json")"
failover_s=$(json "$work/failover.json" "round(d['failovers'][0]['resumed_at'] - $killed_at, 3)")
detect_s=$(json "$work/failover.json" "round(d['failovers'][0]['seconds'], 3)")
transferred=$(json "$work/failover.json" 'd["bytes_transferred"]')
say "  from the SIGKILL to the next DP's first byte: $failover_s s (failure seen to first byte: $detect_s s);"
say "  $(json "$work/failover.json" 'd["failovers"][0]["reason"]')"
say "  bytes transferred $transferred for $((256 * 1024 * 1024)) (resumed with Range)"

step "summary"
say "1. 256 MiB from one DP: ehttp-client $client_rate MiB/s, curl $curl_rate MiB/s: $(ratio "$best_curl" "$best_client")x (target >= 0.9);"
say "   against curl + sync of the file (the client syncs before its rename): $synced_rate MiB/s, $(ratio "$best_synced" "$best_client")x"
say "   CPU per GiB (the least of the runs, x4): ehttp-client $(awk -v c="$cpu_client" 'BEGIN { printf "%.2f", c * 4 }') s," \
  "curl $(awk -v c="$cpu_curl" 'BEGIN { printf "%.2f", c * 4 }') s"
say "2. peak RSS during 1 GiB: $(mib "$rss_kib") MiB (target < 32); $cpu_1g CPU seconds for the GiB"
say "3. failover after a DP dies: $failover_s s (target < 2)"
