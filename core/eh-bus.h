/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-bus-topics.h"
#include "eh-plugin.h"

G_BEGIN_DECLS

/*
 * EhBus: the in-process message bus. Plugins never call each other; they
 * publish events, subscribe to them, answer requests and make requests, by
 * the topics of eh-bus-topics.h. Every delivery (events, requests to the
 * responder, replies) happens from the main context in a later iteration,
 * never inside the caller's own call, so a handler may publish or request
 * again freely.
 */

typedef struct _EhBus EhBus;
typedef struct _EhBusRequest EhBusRequest;

typedef void (*EhBusEventFunc) (const char *topic, GVariant *payload, gpointer user_data);
/* answer with eh_bus_request_reply() or eh_bus_request_fail(), now or later */
typedef void (*EhBusRequestFunc) (EhBusRequest *request, GVariant *payload, gpointer user_data);

/* (transfer none) the bus of the plugin's host */
EhBus *eh_plugin_get_bus (EhPlugin *plugin);

/**
 * eh_bus_publish:
 * @payload: (transfer floating): an `a{sv}` matching the topic's fields
 *
 * Returns: %FALSE when the topic is not an event or the payload does not fit it.
 */
gboolean eh_bus_publish (EhBus *bus, const char *topic, GVariant *payload, GError **error);

/* returns a subscription id (> 0), or 0 when the topic is not a declared event */
guint eh_bus_subscribe (EhBus *bus, const char *topic, EhBusEventFunc func, gpointer user_data,
                        GDestroyNotify destroy);
void eh_bus_unsubscribe (EhBus *bus, guint id);

/**
 * eh_bus_respond:
 *
 * Makes @func the one responder of the request topic @topic on this host.
 * Returns: a responder id (> 0), or 0 with @error when the topic is not a
 * declared request or already has a responder.
 */
guint eh_bus_respond (EhBus *bus, const char *topic, EhBusRequestFunc func, gpointer user_data,
                      GDestroyNotify destroy, GError **error);
void eh_bus_unrespond (EhBus *bus, guint id);

/**
 * eh_bus_request:
 * @payload: (transfer floating): an `a{sv}` matching the topic's request fields
 * @timeout_ms: fail with EH_ERROR_TIMEOUT after this long (0: 30 s)
 *
 * Asks the responder of @topic. With no local responder, a linkable topic
 * goes over the bus link to the upstream site; otherwise the request fails
 * at once with EH_ERROR_NO_RESPONDER.
 */
void eh_bus_request (EhBus *bus, const char *topic, GVariant *payload, guint timeout_ms,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
/* (transfer full) the checked reply */
GVariant *eh_bus_request_finish (EhBus *bus, GAsyncResult *result, GError **error);

/**
 * EhBusOrigin:
 * @authenticated: the peer presented a role certificate the site accepted
 * @peer_address: the peer's IP address
 * @serial: (nullable): serial of that certificate (lower-case hex)
 * @roles: the roles that certificate carries (empty when not authenticated)
 *
 * Where a request that came over the bus link from a downstream host came
 * from, as the link server verified it. A peer that has not enrolled yet
 * may only use topics marked EH_BUS_LINKABLE_OPEN.
 */
typedef struct {
  gboolean authenticated;
  const char *peer_address;
  const char *serial;
  const char *const *roles;
} EhBusOrigin;

/* (nullable) (transfer none) NULL when the request was made on this host */
const EhBusOrigin *eh_bus_request_get_origin (EhBusRequest *request);

/* the request's topic */
const char *eh_bus_request_get_topic (EhBusRequest *request);
/* @reply: (transfer floating); checked against the topic's reply fields */
void eh_bus_request_reply (EhBusRequest *request, GVariant *reply);
void eh_bus_request_fail (EhBusRequest *request, const GError *error);

G_END_DECLS
