/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-bus-private.h"

G_BEGIN_DECLS

/*
 * EhLinkPeer: one open bus link, either side, speaking the messages of
 * eh-link-wire over an EhWebsocket (docs/link.md). It keeps the requests it
 * sent up and matches replies to them, answers requests from a downstream
 * peer with local responders only, and hands checked events to its owner.
 * Garbage is dropped with an info log; repeated garbage closes the link.
 */

typedef struct _EhLinkPeer EhLinkPeer;

typedef struct {
  /* the link is over; the owner frees the peer and closes its streams */
  void (*closed) (EhLinkPeer *peer, const char *reason, gpointer user_data);
  /* a checked, linkable event came from the peer */
  void (*event) (EhLinkPeer *peer, const char *topic, GVariant *payload, gpointer user_data);
} EhLinkPeerFuncs;

/* in-flight requests each way on one link */
#define EH_LINK_MAX_IN_FLIGHT 64
/* dropped messages a link survives */
#define EH_LINK_MAX_GARBAGE 8

/**
 * eh_link_peer_new:
 * @stream: the raw stream after the upgrade (not owned beyond a reference)
 * @origin: (nullable): on the link server, who the downstream peer is;
 *   NULL on the client side (the peer is our upstream site)
 * @initial: (nullable): bytes already read past the upgrade response
 */
EhLinkPeer *eh_link_peer_new (GIOStream *stream, EhBusHub *hub, const EhBusOrigin *origin,
                              GBytes *initial, const EhLinkPeerFuncs *funcs, gpointer user_data);
/* fails what is in flight with EH_ERROR_UNAVAILABLE and stops, without callbacks */
void eh_link_peer_free (EhLinkPeer *peer);

/* sends a local request up; answers @request with the reply or the upstream's error */
void eh_link_peer_forward_request (EhLinkPeer *peer, EhBusRequest *request, GVariant *payload);
void eh_link_peer_send_event (EhLinkPeer *peer, const char *topic, GVariant *payload);
/* closes with a close frame; the closed callback follows */
void eh_link_peer_close (EhLinkPeer *peer, guint16 code, const char *reason);

/* (nullable) the origin given at creation */
const EhBusOrigin *eh_link_peer_get_origin (EhLinkPeer *peer);

G_END_DECLS
