/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-bus.h"

G_BEGIN_DECLS

/*
 * The hub behind every EhBus handle. Each plugin (and the core itself) gets
 * its own handle, so everything a plugin registered can be dropped when it
 * fails or stops.
 */

typedef struct _EhBusHub EhBusHub;

/*
 * The bus link (to an upstream site) plugs in here. forward_request must
 * eventually answer @request with eh_bus_request_reply()/_fail();
 * forward_event sends a linkable event published on this host.
 */
typedef struct {
  void (*forward_request) (gpointer link, EhBusRequest *request, GVariant *payload);
  void (*forward_event) (gpointer link, const char *topic, GVariant *payload);
} EhBusLinkFuncs;

EhBusHub *eh_bus_hub_new (void);
void eh_bus_hub_free (EhBusHub *hub);
/* (transfer full) a handle owned by @owner; free it with eh_bus_free() */
EhBus *eh_bus_hub_connect (EhBusHub *hub, const char *owner);
void eh_bus_free (EhBus *bus);
/* drops every subscription and responder registered through handles of @owner */
void eh_bus_hub_forget_owner (EhBusHub *hub, const char *owner);
void eh_bus_hub_set_link (EhBusHub *hub, const EhBusLinkFuncs *funcs, gpointer link);

/* delivers an event that came over the link to local subscribers only */
gboolean eh_bus_hub_deliver_remote_event (EhBusHub *hub, const char *topic, GVariant *payload,
                                          GError **error);

/**
 * eh_bus_hub_request_from_link:
 * @payload: (transfer floating): the request fields
 * @origin: where it came from, as the link server verified it (copied)
 *
 * Asks a request that came over the bus link from a downstream host. Only
 * a local responder answers it (it never goes further up the link); the
 * responder sees @origin through eh_bus_request_get_origin(). A topic that
 * is not linkable, or not LINKABLE_OPEN for an unauthenticated origin,
 * fails with EH_ERROR_PERMISSION_DENIED. Finish with eh_bus_request_finish()
 * (its @bus may be NULL).
 */
void eh_bus_hub_request_from_link (EhBusHub *hub, const char *topic, GVariant *payload,
                                   const EhBusOrigin *origin, guint timeout_ms,
                                   GAsyncReadyCallback callback, gpointer user_data);

/* checks an a{sv} against a field list (NULL list: empty dictionary only) */
gboolean eh_bus_check_payload (const char *topic, const EhBusField *fields, GVariant *payload,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhBus, eh_bus_free)

G_END_DECLS
