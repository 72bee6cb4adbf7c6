/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-bus-private.h"
#include "eh-front-private.h"

G_BEGIN_DECLS

/*
 * EhLinkServer: the site side of the bus link (docs/link.md). Serves
 * GET /ehttpd/link over HTTPS as a WebSocket upgrade. A peer that presents
 * a client certificate is checked with ca.link-peer.check (refused: 403);
 * a peer without one gets an unenrolled link (LINKABLE_OPEN requests only,
 * its events dropped). Requests from links are answered by local
 * responders only. Linkable events go down every authenticated link; a
 * ca.certificate.revoked event closes the links of that serial.
 */

typedef struct _EhLinkServer EhLinkServer;

#define EH_LINK_PATH "/ehttpd/link"
#define EH_LINK_SUBPROTOCOL "ehttpd-link.v1"
/* links (open or being opened) from one peer address */
#define EH_LINK_MAX_PER_ADDRESS 4

EhLinkServer *eh_link_server_new (EhFront *front, EhBusHub *hub, GError **error);
/* closes every link now */
void eh_link_server_free (EhLinkServer *server);

/* sends a linkable event down every authenticated link */
void eh_link_server_broadcast_event (EhLinkServer *server, const char *topic, GVariant *payload);
void eh_link_server_get_counts (EhLinkServer *server, guint *authenticated, guint *unenrolled);

G_END_DECLS
