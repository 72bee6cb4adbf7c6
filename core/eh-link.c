/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-error.h"
#include "eh-link-client.h"
#include "eh-link-server.h"
#include "eh-link.h"

struct _EhLink {
  EhBusHub *hub;
  EhLinkServer *server;
  EhLinkClient *client; /* NULL without an upstream */
};

static void
eh_link_forward_request (gpointer data, EhBusRequest *request, GVariant *payload)
{
  EhLink *link = data;
  g_autoptr (GError) error = NULL;

  if (link->client != NULL) {
    eh_link_client_forward_request (link->client, request, payload);
    return;
  }
  error = g_error_new (EH_ERROR, EH_ERROR_NO_RESPONDER,
                       "no responder for bus topic \"%s\" on this host and no upstream link",
                       eh_bus_request_get_topic (request));
  eh_bus_request_fail (request, error);
}

static void
eh_link_forward_event (gpointer data, const char *topic, GVariant *payload)
{
  EhLink *link = data;

  if (link->client != NULL)
    eh_link_client_send_event (link->client, topic, payload);
  eh_link_server_broadcast_event (link->server, topic, payload);
}

/* an event from our upstream goes on down to our own downstream links */
static void
eh_link_event_from_upstream (const char *topic, GVariant *payload, gpointer user_data)
{
  EhLink *link = user_data;

  eh_link_server_broadcast_event (link->server, topic, payload);
}

static const EhBusLinkFuncs eh_link_funcs = {
  eh_link_forward_request,
  eh_link_forward_event,
};

EhLink *
eh_link_new (EhBusHub *hub, EhFront *front, EhConfig *config, const char *site_group,
             const char *state_dir, GError **error)
{
  const char *upstream = eh_config_get_string (config, site_group, "upstream");
  EhLink *link = g_new0 (EhLink, 1);

  link->hub = hub;
  if (upstream != NULL && upstream[0] != '\0') {
    link->client = eh_link_client_new (hub, upstream,
                                       eh_config_get_string (config, site_group, "root-fingerprint"),
                                       state_dir, eh_link_event_from_upstream, link, error);
    if (link->client == NULL) {
      g_free (link);
      return NULL;
    }
  }
  link->server = eh_link_server_new (front, hub, error);
  if (link->server == NULL) {
    eh_link_client_free (link->client);
    g_free (link);
    return NULL;
  }
  eh_bus_hub_set_link (hub, &eh_link_funcs, link);
  return link;
}

void
eh_link_start (EhLink *link)
{
  if (link->client != NULL)
    eh_link_client_start (link->client);
}

void
eh_link_free (EhLink *link)
{
  if (link == NULL)
    return;
  eh_bus_hub_set_link (link->hub, NULL, NULL);
  eh_link_client_free (link->client);
  eh_link_server_free (link->server);
  g_free (link);
}

void
eh_link_add_status (EhLink *link, GVariantDict *dict)
{
  guint authenticated = 0, unenrolled = 0;

  g_variant_dict_insert (dict, "link-upstream", "s",
                         link->client != NULL ? eh_link_client_get_upstream (link->client) : "");
  g_variant_dict_insert (dict, "link-state", "s",
                         link->client != NULL ? eh_link_client_get_state (link->client) : "none");
  g_variant_dict_insert (dict, "link-authenticated", "b",
                         link->client != NULL && eh_link_client_is_authenticated (link->client));
  eh_link_server_get_counts (link->server, &authenticated, &unenrolled);
  g_variant_dict_insert (dict, "links-authenticated", "u", authenticated);
  g_variant_dict_insert (dict, "links-unenrolled", "u", unenrolled);
}
