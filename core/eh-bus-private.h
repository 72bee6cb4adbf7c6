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

/* checks an a{sv} against a field list (NULL list: empty dictionary only) */
gboolean eh_bus_check_payload (const char *topic, const EhBusField *fields, GVariant *payload,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhBus, eh_bus_free)

G_END_DECLS
