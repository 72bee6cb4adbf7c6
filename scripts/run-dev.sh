#!/bin/sh
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs a whole single-host site on localhost from the build tree:
# state in ./dev, unprivileged ports, the session bus (one is started if
# there is none). The site's roles ca, mp and dp on one host.
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
# a whole site on one host: the ca, a management point and a distribution
# point (the cmg and its connector need a second, internet-facing host)
plugins=ca,mp,dp
# the loader refuses symlinks and group-writable files: copy with safe modes
rm -f "$dev/plugins/"*.so
for name in ca mp dp; do
  install -m 0644 "$build/plugins/$name/ehttpd-plugin-$name.so" "$dev/plugins/"
done
# a development certificate from an older run gives way to a site-issued one
if [ -f "$dev/dev-root.pem" ]; then
  rm -f "$dev/dev-root.pem" "$dev/state/tls/host.pem"
fi

cat > "$dev/ehttpd.conf" <<CONF
# written by scripts/run-dev.sh
[core]
state-dir=$dev/state
plugin-dir=$dev/plugins
plugins=$plugins
http-listen=127.0.0.1:$http_port
https-listen=127.0.0.1:$https_port
[dp]
names=localhost
CONF

ctl="DBUS_SESSION_BUS_ADDRESS='$DBUS_SESSION_BUS_ADDRESS' $build/core/ctl/ehttpctl --session"
client="$build/client/ehttp-client --state-dir $dev/client"
root="$dev/state/plugins/ca/root.pem"
cat <<MSG
ehttpd development site
  plugins:   $plugins
  listening: http://127.0.0.1:$http_port  https://127.0.0.1:$https_port
  state:     $dev/state (the site root: $root)
try, in another terminal:
  $ctl status
  $ctl ca show
  curl --cacert $root https://localhost:$https_port/ehttpd/ca/trust-bundle.json
a client, and content for it:
  $client join --site http://127.0.0.1:$http_port --root-fingerprint \$($ctl --json ca show | python3 -c 'import json, sys; print(json.load(sys.stdin)["root-fingerprint"])')
  $client register --wait 600          # then: $ctl client list; $ctl client approve GUID
  $ctl content add docs /usr/share/doc/dbus
  $ctl deployment create --content PS100001 --action install
  $client run --dest $dev/downloads
Ctrl-C stops it.
MSG
exec "$build/core/ehttpd" --config "$dev/ehttpd.conf" --session
