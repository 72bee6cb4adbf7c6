/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-plugin.h"

G_BEGIN_DECLS

/**
 * eh_plugin_connect_internal:
 * @https_url: one of this host's HTTPS listeners, as eh_plugin_get_listener_urls() gives it
 *
 * A connection to this host's own front that never leaves the process: one
 * end of an anonymous socket pair (no name, no address, closed on exec) is
 * served by the front as if it had been accepted on @https_url — the same
 * request checks, caps, deadlines, endpoints and token checks as any
 * client of that listener — without TLS, which would only protect bytes
 * that never cross a network. The peer is this host (the listener's own
 * address, loopback for a wildcard one) with no client certificate, which
 * is what a TLS connection from this host would have shown. Speak HTTP/1.1
 * on the returned end and close it when done.
 *
 * Only code running in the daemon can call this: nothing outside the
 * process can reach such a connection, so what it sends is vouched for by
 * the calling plugin, as its HTTPS requests to its own listener were.
 *
 * Returns: (transfer full) (nullable): the caller's end; NULL with an error
 *   when @https_url is not an HTTPS listener of this host, or it does not
 *   accept now (no certificate yet, at the connection caps, shutting down)
 */
GIOStream *eh_plugin_connect_internal (EhPlugin *plugin, const char *https_url, GError **error);

/* whether @https_url is one of this host's HTTPS listeners */
gboolean eh_plugin_is_own_https_listener (EhPlugin *plugin, const char *https_url);

G_END_DECLS
