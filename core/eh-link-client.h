/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-bus-private.h"

G_BEGIN_DECLS

/*
 * EhLinkClient: the edge side of the bus link (docs/link.md). Dials the
 * upstream site (`[site] upstream=https://HOST:PORT`), checks the site's
 * certificate itself (the chain must reach the root pinned by
 * `root-fingerprint=`, and the leaf must name HOST), presents the host's
 * site-issued certificate (`<state-dir>/tls/host.pem`) when it has one,
 * and upgrades to a WebSocket. Reconnects with backoff (0.2 s doubling to
 * 30 s, with jitter), and at once when the host certificate changes.
 * Publishes core.link.state.
 */

typedef struct _EhLinkClient EhLinkClient;

/* an event that came down from the upstream site (already delivered locally) */
typedef void (*EhLinkClientEventFunc) (const char *topic, GVariant *payload, gpointer user_data);

/**
 * eh_link_client_new:
 * @upstream: "https://HOST:PORT"
 * @root_fingerprint: "sha256:…" of the site's root
 *
 * Checks the settings; connects only after eh_link_client_start().
 * Returns: NULL with an EH_ERROR_INVALID_CONFIG @error when a setting is wrong.
 */
EhLinkClient *eh_link_client_new (EhBusHub *hub, const char *upstream,
                                  const char *root_fingerprint, const char *state_dir,
                                  EhLinkClientEventFunc event_func, gpointer user_data,
                                  GError **error);
void eh_link_client_free (EhLinkClient *client);
void eh_link_client_start (EhLinkClient *client);

/* sends @request up; fails it at once with EH_ERROR_UNAVAILABLE while the link is down */
void eh_link_client_forward_request (EhLinkClient *client, EhBusRequest *request,
                                     GVariant *payload);
/* sends an event published on this host up (dropped while the link is down) */
void eh_link_client_send_event (EhLinkClient *client, const char *topic, GVariant *payload);

const char *eh_link_client_get_upstream (EhLinkClient *client);
/* "up", "down" or "connecting" */
const char *eh_link_client_get_state (EhLinkClient *client);
gboolean eh_link_client_is_authenticated (EhLinkClient *client);

G_END_DECLS
