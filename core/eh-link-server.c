/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-link-peer.h"
#include "eh-link-server.h"
#include "eh-websocket.h"

/* not named by libsoup 3.2 */
#define EH_STATUS_UPGRADE_REQUIRED 426
#define EH_STATUS_TOO_MANY_REQUESTS 429

/* how long ca.link-peer.check may take */
#define EH_LINK_CHECK_TIMEOUT_MS 10000

struct _EhLinkServer {
  EhFront *front;
  EhBusHub *hub;
  EhBus *bus;
  GPtrArray *links;        /* EhServerLink */
  GHashTable *per_address; /* peer → links open or being opened */
  guint revoked_id;
};

/* one open link */
typedef struct {
  EhLinkServer *server;
  EhLinkPeer *peer;
  GIOStream *connection; /* what the front handed over; closing it ends the connection */
  GIOStream *raw;
  char *address;
} EhServerLink;

/* an upgrade being decided */
typedef struct {
  EhLinkServer *server;
  SoupServerMessage *msg;
  EhRequest *request; /* (unowned) data of msg */
  char *address;
  char *accept;
  gboolean paused;
  gboolean gone; /* the message finished or its connection died */
  gboolean authenticated;
  char *serial;
  GStrv roles;
} EhLinkAccept;

static void
eh_link_server_count (EhLinkServer *server, const char *address, gint delta)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_address, address));

  count = (gint) count + delta > 0 ? count + delta : 0;
  if (count == 0)
    g_hash_table_remove (server->per_address, address);
  else
    g_hash_table_insert (server->per_address, g_strdup (address), GUINT_TO_POINTER (count));
}

static void
eh_link_accept_free (EhLinkAccept *accept)
{
  if (accept->server != NULL)
    eh_link_server_count (accept->server, accept->address, -1);
  g_signal_handlers_disconnect_by_data (accept->msg, accept);
  g_object_unref (accept->msg);
  g_free (accept->address);
  g_free (accept->accept);
  g_free (accept->serial);
  g_strfreev (accept->roles);
  g_free (accept);
}

static void
eh_server_link_free (EhServerLink *link)
{
  eh_link_peer_free (link->peer);
  g_io_stream_close (link->connection, NULL, NULL);
  g_object_unref (link->connection);
  g_object_unref (link->raw);
  eh_link_server_count (link->server, link->address, -1);
  g_free (link->address);
  g_free (link);
}

static void
eh_server_link_closed (EhLinkPeer *peer, const char *reason, gpointer user_data)
{
  EhServerLink *link = user_data;

  g_message ("bus link from %s closed: %s", link->address, reason);
  g_ptr_array_remove_fast (link->server->links, link);
}

static void
eh_server_link_event (EhLinkPeer *peer, const char *topic, GVariant *payload, gpointer user_data)
{
  EhServerLink *link = user_data;
  g_autoptr (GError) error = NULL;

  /* to local subscribers only: an event from one edge never goes to the others */
  if (!eh_bus_hub_deliver_remote_event (link->server->hub, topic, g_variant_ref (payload), &error))
    g_info ("bus link from %s: event refused: %s", link->address, error->message);
}

static const EhLinkPeerFuncs eh_server_link_funcs = {
  eh_server_link_closed,
  eh_server_link_event,
};

/* the 101 is on the wire: the connection is ours now */
static void
eh_link_accept_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  EhLinkAccept *accept = user_data;
  EhLinkServer *server = accept->server;
  EhServerLink *link;
  GIOStream *raw = NULL;
  GIOStream *connection;
  EhBusOrigin origin = { 0 };

  g_signal_handlers_disconnect_by_data (msg, accept);
  connection = eh_front_upgrade (accept->request, &raw);
  accept->request = NULL;
  if (connection == NULL) {
    eh_link_accept_free (accept);
    return;
  }
  link = g_new0 (EhServerLink, 1);
  link->server = server;
  link->connection = connection;
  link->raw = raw;
  link->address = g_strdup (accept->address);
  origin.authenticated = accept->authenticated;
  origin.peer_address = accept->address;
  origin.serial = accept->serial;
  origin.roles = (const char *const *) accept->roles;
  link->peer = eh_link_peer_new (raw, server->hub, &origin, NULL, &eh_server_link_funcs, link);
  /* the address count moves from the accept to the link */
  eh_link_server_count (server, accept->address, +1);
  g_ptr_array_add (server->links, link);
  if (accept->authenticated)
    g_message ("bus link from %s up: authenticated, serial %s", link->address, accept->serial);
  else
    g_message ("bus link from %s up: unenrolled (no client certificate)", link->address);
  eh_link_accept_free (accept);
}

static void
eh_link_accept_gone (SoupServerMessage *msg, gpointer user_data)
{
  ((EhLinkAccept *) user_data)->gone = TRUE;
}

static void
eh_link_accept_refuse (EhLinkAccept *accept, guint status, const char *text)
{
  g_info ("bus link from %s refused (%u): %s", accept->address, status, text);
  if (!accept->gone) {
    eh_request_respond_text (accept->request, status, text);
    if (accept->paused)
      soup_server_message_unpause (accept->msg);
  }
  eh_link_accept_free (accept);
}

static void
eh_link_accept_grant (EhLinkAccept *accept)
{
  SoupServerMessage *msg = accept->msg;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (accept->gone) {
    eh_link_accept_free (accept);
    return;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_SWITCHING_PROTOCOLS, NULL);
  soup_message_headers_replace (headers, "Upgrade", "websocket");
  soup_message_headers_replace (headers, "Connection", "Upgrade");
  soup_message_headers_replace (headers, "Sec-WebSocket-Accept", accept->accept);
  soup_message_headers_replace (headers, "Sec-WebSocket-Protocol", EH_LINK_SUBPROTOCOL);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (eh_link_accept_upgraded), accept);
  if (accept->paused)
    soup_server_message_unpause (msg);
}

static void
eh_link_accept_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhLinkAccept *accept = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);
  g_autofree char *text = NULL;

  if (reply == NULL) {
    g_warning ("bus link from %s refused: its certificate was not accepted: %s", accept->address,
               error->message);
    text = g_strdup_printf ("the link certificate was not accepted: %s", error->message);
    eh_link_accept_refuse (accept, SOUP_STATUS_FORBIDDEN, text);
    return;
  }
  accept->authenticated = TRUE;
  g_variant_lookup (reply, EH_KEY_SERIAL, "s", &accept->serial);
  g_variant_lookup (reply, EH_KEY_ROLES, "^as", &accept->roles);
  eh_link_accept_grant (accept);
}

static void
eh_link_server_handle (EhRequest *request, gpointer user_data)
{
  EhLinkServer *server = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *address = eh_request_get_peer_address (request);
  GTlsCertificate *certificate = eh_request_get_peer_certificate (request);
  const char *wrong = eh_websocket_check_upgrade (headers, EH_LINK_SUBPROTOCOL);
  EhLinkAccept *accept;
  GVariantDict payload;
  g_autofree char *pem = NULL;

  if (wrong != NULL) {
    g_info ("bus link from %s refused: %s", address, wrong);
    if (!soup_message_headers_header_contains (headers, "Upgrade", "websocket"))
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Upgrade",
                                    "websocket");
    eh_request_respond_text (request, soup_message_headers_get_one (headers, "Upgrade") == NULL
                                          ? EH_STATUS_UPGRADE_REQUIRED
                                          : SOUP_STATUS_BAD_REQUEST, wrong);
    return;
  }
  if (GPOINTER_TO_UINT (g_hash_table_lookup (server->per_address, address)) >= EH_LINK_MAX_PER_ADDRESS) {
    g_info ("bus link from %s refused: %u links from that address", address, EH_LINK_MAX_PER_ADDRESS);
    eh_request_respond_text (request, EH_STATUS_TOO_MANY_REQUESTS, "too many links from this address");
    return;
  }
  accept = g_new0 (EhLinkAccept, 1);
  accept->server = server;
  accept->msg = g_object_ref (msg);
  accept->request = request;
  accept->address = g_strdup (address);
  accept->accept = eh_websocket_accept_for_key (soup_message_headers_get_one (headers, "Sec-WebSocket-Key"));
  eh_link_server_count (server, address, +1);
  g_signal_connect (msg, "finished", G_CALLBACK (eh_link_accept_gone), accept);
  if (certificate == NULL) {
    eh_link_accept_grant (accept);
    return;
  }
  g_object_get (certificate, "certificate-pem", &pem, NULL);
  accept->paused = TRUE;
  soup_server_message_pause (msg);
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CERTIFICATE_PEM, "s", pem != NULL ? pem : "");
  eh_bus_request (server->bus, EH_TOPIC_CA_LINK_PEER_CHECK, g_variant_dict_end (&payload),
                  EH_LINK_CHECK_TIMEOUT_MS, NULL, eh_link_accept_checked, accept);
}

static void
eh_link_server_revoked (const char *topic, GVariant *payload, gpointer user_data)
{
  EhLinkServer *server = user_data;
  const char *serial = NULL;

  g_variant_lookup (payload, EH_KEY_SERIAL, "&s", &serial);
  for (guint i = 0; i < server->links->len; i++) {
    EhServerLink *link = g_ptr_array_index (server->links, i);
    const EhBusOrigin *origin = eh_link_peer_get_origin (link->peer);

    if (origin->authenticated && origin->serial != NULL && serial != NULL &&
        g_ascii_strcasecmp (origin->serial, serial) == 0) {
      g_message ("bus link from %s: closing, its certificate %s was revoked", link->address, serial);
      eh_link_peer_close (link->peer, 1008, "certificate revoked");
    }
  }
}

EhLinkServer *
eh_link_server_new (EhFront *front, EhBusHub *hub, GError **error)
{
  EhLinkServer *server = g_new0 (EhLinkServer, 1);
  const EhEndpoint endpoint = { "GET", EH_LINK_PATH, EH_SCHEME_HTTPS, 0, eh_link_server_handle };

  server->front = front;
  server->hub = hub;
  server->bus = eh_bus_hub_connect (hub, "core-link-server");
  server->links = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_server_link_free);
  server->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!eh_front_add_endpoint (front, NULL, &endpoint, server, error)) {
    eh_link_server_free (server);
    return NULL;
  }
  server->revoked_id = eh_bus_subscribe (server->bus, EH_TOPIC_CA_CERTIFICATE_REVOKED,
                                         eh_link_server_revoked, server, NULL);
  return server;
}

void
eh_link_server_free (EhLinkServer *server)
{
  if (server == NULL)
    return;
  eh_front_remove_endpoints (server->front, NULL);
  eh_bus_hub_forget_owner (server->hub, "core-link-server");
  g_ptr_array_unref (server->links);
  g_hash_table_unref (server->per_address);
  eh_bus_free (server->bus);
  g_free (server);
}

void
eh_link_server_broadcast_event (EhLinkServer *server, const char *topic, GVariant *payload)
{
  for (guint i = 0; i < server->links->len; i++) {
    EhServerLink *link = g_ptr_array_index (server->links, i);

    if (eh_link_peer_get_origin (link->peer)->authenticated)
      eh_link_peer_send_event (link->peer, topic, payload);
  }
}

void
eh_link_server_get_counts (EhLinkServer *server, guint *authenticated, guint *unenrolled)
{
  *authenticated = *unenrolled = 0;
  for (guint i = 0; i < server->links->len; i++) {
    EhServerLink *link = g_ptr_array_index (server->links, i);

    if (eh_link_peer_get_origin (link->peer)->authenticated)
      (*authenticated)++;
    else
      (*unenrolled)++;
  }
}
