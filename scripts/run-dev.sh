#!/bin/sh
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs a whole single-host site on localhost from the build tree:
# state in ./dev, unprivileged ports, the session bus (one is started if
# there is none). Every plugin that exists is enabled.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
dev=${DEV_DIR:-$top/dev}
http_port=${HTTP_PORT:-8080}
https_port=${HTTPS_PORT:-8443}

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  exec dbus-run-session -- "$0" "$@"
fi

mkdir -p "$dev/plugins" "$dev/state"
chmod 0700 "$dev/state"
# the loader refuses symlinks and group-writable files: copy with safe modes
plugins=""
for module in $(find "$build/plugins" -name 'ehttpd-plugin-*.so' | sort); do
  name=$(basename "$module" .so | sed 's/^ehttpd-plugin-//')
  case "$name" in test-bad-abi|test-no-symbol|test-fail|test-slow|test-link-peer|test-dp-standin) continue ;; esac
  install -m 0644 "$module" "$dev/plugins/"
  plugins="${plugins:+$plugins,}$name"
done

# a development certificate from a run without the ca plugin gives way to a site-issued one
if echo ",$plugins," | grep -q ',ca,' && [ -f "$dev/dev-root.pem" ]; then
  rm -f "$dev/dev-root.pem" "$dev/state/tls/host.pem"
fi
# until a host is enrolled with a site CA, make run serves a local development certificate
if [ ! -f "$dev/state/tls/host.pem" ] && ! echo ",$plugins," | grep -q ',ca,'; then
  mkdir -p "$dev/state/tls" && chmod 0700 "$dev/state/tls"
  tmp=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  cp "$tmp/cert.pem" "$dev/dev-root.pem"
  cat "$tmp/cert.pem" "$tmp/key.pem" > "$dev/state/tls/host.pem"
  chmod 0600 "$dev/state/tls/host.pem"
  rm -rf "$tmp"
fi

cat > "$dev/ehttpd.conf" <<CONF
# written by scripts/run-dev.sh
[core]
state-dir=$dev/state
plugin-dir=$dev/plugins
plugins=$plugins
http-listen=127.0.0.1:$http_port
https-listen=127.0.0.1:$https_port
CONF

ctl="DBUS_SESSION_BUS_ADDRESS='$DBUS_SESSION_BUS_ADDRESS' $build/core/ctl/ehttpctl --session"
if echo ",$plugins," | grep -q ',ca,'; then
  root="$dev/state/plugins/ca/root.pem"
  tls_hint="curl --cacert $root https://localhost:$https_port/ehttpd/ca/trust-bundle.json
  $ctl ca show
  $ctl cert list
  $ctl join-token create --role dp --ttl 1h"
else
  tls_hint="curl --cacert $dev/dev-root.pem https://localhost:$https_port/test/echo"
fi
cat <<MSG
ehttpd development site
  plugins:   $plugins
  listening: http://127.0.0.1:$http_port  https://127.0.0.1:$https_port
  state:     $dev/state
try, in another terminal:
  curl http://127.0.0.1:$http_port/ehttpd/ca/root.pem
  $tls_hint
  $ctl status
Ctrl-C stops it.
MSG
exec "$build/core/ehttpd" --config "$dev/ehttpd.conf" --session --allow-test-plugins
