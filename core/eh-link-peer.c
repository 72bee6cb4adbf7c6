/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-error.h"
#include "eh-link-peer.h"
#include "eh-link-wire.h"
#include "eh-websocket.h"

struct _EhLinkPeer {
  gint ref_count;
  gboolean dead; /* closed or freed: nothing more is sent or delivered */
  EhWebsocket *ws;
  EhBusHub *hub;
  gboolean is_server;
  EhBusOrigin origin; /* server side only; strings owned */
  GHashTable *pending; /* id → EhBusRequest we sent up */
  guint32 next_id;
  guint in_flight;     /* requests from the peer not answered yet */
  guint garbage;
  const EhLinkPeerFuncs *funcs;
  gpointer user_data;
};

/* one request from the peer, on its way to a local responder */
typedef struct {
  EhLinkPeer *peer;
  guint32 id;
  char *topic;
} EhLinkCall;

static EhLinkPeer *
eh_link_peer_ref (EhLinkPeer *peer)
{
  peer->ref_count++;
  return peer;
}

static void
eh_link_peer_unref (EhLinkPeer *peer)
{
  if (--peer->ref_count > 0)
    return;
  g_hash_table_unref (peer->pending);
  g_free ((char *) peer->origin.peer_address);
  g_free ((char *) peer->origin.serial);
  g_strfreev ((char **) peer->origin.roles);
  g_free (peer);
}

const EhBusOrigin *
eh_link_peer_get_origin (EhLinkPeer *peer)
{
  return peer->is_server ? &peer->origin : NULL;
}

/* every request we sent up fails once the link is gone */
static void
eh_link_peer_fail_pending (EhLinkPeer *peer)
{
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE,
                                          "the bus link went down before the reply");
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, peer->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    g_hash_table_iter_steal (&iter);
    eh_bus_request_fail (value, error);
  }
}

static void
eh_link_peer_send (EhLinkPeer *peer, GBytes *bytes)
{
  if (!peer->dead && peer->ws != NULL)
    eh_websocket_send (peer->ws, bytes);
}

static void
eh_link_peer_send_error (EhLinkPeer *peer, guint32 id, const char *topic, const GError *error)
{
  g_autoptr (GBytes) bytes = NULL;
  guint32 code = error->domain == EH_ERROR ? (guint32) error->code : EH_ERROR_FAILED;

  bytes = eh_link_wire_encode (EH_LINK_KIND_ERROR, id, topic, code, error->message, NULL, NULL);
  if (bytes != NULL)
    eh_link_peer_send (peer, bytes);
}

static void
eh_link_peer_garbage (EhLinkPeer *peer, const char *why)
{
  g_info ("bus link%s%s: dropped a message: %s", peer->is_server ? " from " : "",
          peer->is_server ? peer->origin.peer_address : "", why);
  if (++peer->garbage >= EH_LINK_MAX_GARBAGE && !peer->dead)
    eh_websocket_close (peer->ws, 1008, "too many bad messages");
}

static void
eh_link_call_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhLinkCall *call = user_data;
  EhLinkPeer *peer = call->peer;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);

  peer->in_flight--;
  if (!peer->dead) {
    g_autoptr (GBytes) bytes = NULL;

    if (reply != NULL)
      bytes = eh_link_wire_encode (EH_LINK_KIND_REPLY, call->id, call->topic, 0, NULL,
                                   g_steal_pointer (&reply), &error);
    if (bytes != NULL)
      eh_link_peer_send (peer, bytes);
    else
      eh_link_peer_send_error (peer, call->id, call->topic, error);
  }
  eh_link_peer_unref (peer);
  g_free (call->topic);
  g_free (call);
}

static void
eh_link_peer_got_request (EhLinkPeer *peer, EhLinkMessage *message)
{
  g_autoptr (GError) error = NULL;
  EhLinkCall *call;

  if (!peer->is_server) {
    error = g_error_new (EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                         "requests go up the link, never down");
  } else if (!peer->origin.authenticated && message->topic->scope != EH_BUS_LINKABLE_OPEN) {
    error = g_error_new (EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                         "bus topic \"%s\" needs an enrolled link peer (a role certificate)",
                         message->topic->name);
  } else if (peer->in_flight >= EH_LINK_MAX_IN_FLIGHT) {
    error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE,
                         "too many requests in flight on this link (%u)", EH_LINK_MAX_IN_FLIGHT);
  }
  if (error != NULL) {
    g_info ("bus link: refused a %s request: %s", message->topic->name, error->message);
    eh_link_peer_send_error (peer, message->id, message->topic->name, error);
    return;
  }
  call = g_new0 (EhLinkCall, 1);
  call->peer = eh_link_peer_ref (peer);
  call->id = message->id;
  call->topic = g_strdup (message->topic->name);
  peer->in_flight++;
  eh_bus_hub_request_from_link (peer->hub, message->topic->name, g_variant_ref (message->payload),
                                &peer->origin, 0, eh_link_call_answered, call);
}

static void
eh_link_peer_got_answer (EhLinkPeer *peer, EhLinkMessage *message)
{
  EhBusRequest *request = g_hash_table_lookup (peer->pending, GUINT_TO_POINTER (message->id));

  if (request == NULL) {
    eh_link_peer_garbage (peer, "a reply to no request of ours");
    return;
  }
  if (g_strcmp0 (eh_bus_request_get_topic (request), message->topic->name) != 0) {
    eh_link_peer_garbage (peer, "a reply on another topic than its request");
    return;
  }
  g_hash_table_steal (peer->pending, GUINT_TO_POINTER (message->id));
  if (message->kind == EH_LINK_KIND_REPLY) {
    eh_bus_request_reply (request, g_variant_ref (message->payload));
  } else {
    g_autoptr (GError) error = g_error_new_literal (EH_ERROR, message->error_code,
                                                    message->error_message);

    eh_bus_request_fail (request, error);
  }
}

static void
eh_link_peer_got_message (EhWebsocket *ws, GBytes *bytes, gpointer user_data)
{
  EhLinkPeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhLinkMessage) message = NULL;

  if (peer->dead)
    return;
  message = eh_link_wire_decode (bytes, &error);
  if (message == NULL) {
    eh_link_peer_garbage (peer, error->message);
    return;
  }
  eh_link_peer_ref (peer);
  switch (message->kind) {
  case EH_LINK_KIND_REQUEST:
    eh_link_peer_got_request (peer, message);
    break;
  case EH_LINK_KIND_REPLY:
  case EH_LINK_KIND_ERROR:
    eh_link_peer_got_answer (peer, message);
    break;
  case EH_LINK_KIND_EVENT:
    if (peer->is_server && !peer->origin.authenticated)
      g_info ("bus link from %s: dropped a %s event: the peer has not enrolled",
              peer->origin.peer_address, message->topic->name);
    else if (peer->funcs->event != NULL)
      peer->funcs->event (peer, message->topic->name, message->payload, peer->user_data);
    break;
  }
  eh_link_peer_unref (peer);
}

static void
eh_link_peer_ws_closed (EhWebsocket *ws, const char *reason, gpointer user_data)
{
  EhLinkPeer *peer = user_data;

  if (peer->dead)
    return;
  peer->dead = TRUE;
  eh_link_peer_fail_pending (peer);
  /* the owner frees us from here */
  peer->funcs->closed (peer, reason, peer->user_data);
}

EhLinkPeer *
eh_link_peer_new (GIOStream *stream, EhBusHub *hub, const EhBusOrigin *origin, GBytes *initial,
                  const EhLinkPeerFuncs *funcs, gpointer user_data)
{
  EhLinkPeer *peer = g_new0 (EhLinkPeer, 1);

  peer->ref_count = 1;
  peer->hub = hub;
  peer->is_server = origin != NULL;
  if (origin != NULL) {
    peer->origin.authenticated = origin->authenticated;
    peer->origin.peer_address = g_strdup (origin->peer_address);
    peer->origin.serial = g_strdup (origin->serial);
    peer->origin.roles = (const char *const *) g_strdupv ((char **) origin->roles);
    if (peer->origin.roles == NULL)
      peer->origin.roles = (const char *const *) g_new0 (char *, 1);
  }
  peer->pending = g_hash_table_new (g_direct_hash, g_direct_equal);
  peer->funcs = funcs;
  peer->user_data = user_data;
  peer->ws = eh_websocket_new (stream, peer->is_server, EH_LINK_WIRE_MAX_BYTES, initial,
                               eh_link_peer_got_message, eh_link_peer_ws_closed, peer);
  return peer;
}

void
eh_link_peer_free (EhLinkPeer *peer)
{
  if (peer == NULL)
    return;
  peer->dead = TRUE;
  eh_link_peer_fail_pending (peer);
  g_clear_pointer (&peer->ws, eh_websocket_free);
  eh_link_peer_unref (peer);
}

void
eh_link_peer_close (EhLinkPeer *peer, guint16 code, const char *reason)
{
  if (!peer->dead)
    eh_websocket_close (peer->ws, code, reason);
}

void
eh_link_peer_forward_request (EhLinkPeer *peer, EhBusRequest *request, GVariant *payload)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  guint32 id;

  if (peer->dead || g_hash_table_size (peer->pending) >= EH_LINK_MAX_IN_FLIGHT) {
    error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE, peer->dead
                             ? "the bus link is down"
                             : "too many requests in flight on the bus link");
    eh_bus_request_fail (request, error);
    return;
  }
  do
    id = ++peer->next_id;
  while (id == 0 || g_hash_table_contains (peer->pending, GUINT_TO_POINTER (id)));
  bytes = eh_link_wire_encode (EH_LINK_KIND_REQUEST, id, eh_bus_request_get_topic (request), 0,
                               NULL, g_variant_ref (payload), &error);
  if (bytes == NULL) {
    eh_bus_request_fail (request, error);
    return;
  }
  g_hash_table_insert (peer->pending, GUINT_TO_POINTER (id), request);
  eh_link_peer_send (peer, bytes);
}

void
eh_link_peer_send_event (EhLinkPeer *peer, const char *topic, GVariant *payload)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  if (peer->dead)
    return;
  bytes = eh_link_wire_encode (EH_LINK_KIND_EVENT, 0, topic, 0, NULL, g_variant_ref (payload),
                               &error);
  if (bytes == NULL) {
    g_info ("bus link: event %s not sent: %s", topic, error->message);
    return;
  }
  eh_link_peer_send (peer, bytes);
}
