/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmgc.h"

/*
 * One tunnel to one gateway: dialed out (eh_wss_dial), the gateway's
 * certificate checked against the site's root (or the configured CA
 * file), the host's role certificate presented. Reconnects after any
 * failure: 0.2 s doubling to 10 s, ±25 % jitter, back to 0.2 s once up.
 * A health check every health-interval; an unanswered one drops the
 * tunnel, which then reconnects.
 */

#define EH_CMGC_FIRST_DELAY_MS 200
#define EH_CMGC_MAX_DELAY_MS 10000
#define EH_CMGC_ATTEMPT_TIMEOUT_S 15
#define EH_CMGC_MAX_STREAMS 4096
#define EH_CMGC_MAX_GARBAGE 8

typedef enum {
  EH_CMGC_DOWN,
  EH_CMGC_CONNECTING,
  EH_CMGC_UP,
} EhCmgcState;

struct _EhCmgcTunnel {
  EhCmgc *cmgc;
  char *url;
  char *host;
  guint16 port;
  EhCmgcState state;
  guint delay_ms;
  guint retry_id;
  guint deadline_id;
  guint health_id;
  guint drop_id;
  GCancellable *cancellable;
  GIOStream *stream;
  EhWebsocket *ws;
  GHashTable *streams; /* id → EhCmgcStream */
  guint32 health_sent;
  guint32 health_acked;
  gint64 last_health;
  gint64 up_since;
  guint64 reconnects;
  guint garbage;
  char *last_error;
};

static void
eh_cmgc_tunnel_set_error (EhCmgcTunnel *tunnel, const char *reason)
{
  if (reason == tunnel->last_error)
    return;
  g_free (tunnel->last_error);
  tunnel->last_error = g_strdup (reason);
}

/* every stream in flight stops: the gateway answers its clients itself */
static void
eh_cmgc_tunnel_drop_streams (EhCmgcTunnel *tunnel)
{
  GHashTableIter iter;
  gpointer stream;

  g_hash_table_iter_init (&iter, tunnel->streams);
  while (g_hash_table_iter_next (&iter, NULL, &stream)) {
    g_hash_table_iter_steal (&iter);
    eh_cmgc_forward_cancel (stream);
  }
}

static void
eh_cmgc_tunnel_drop_connection (EhCmgcTunnel *tunnel)
{
  g_clear_handle_id (&tunnel->deadline_id, g_source_remove);
  g_clear_handle_id (&tunnel->health_id, g_source_remove);
  g_clear_handle_id (&tunnel->drop_id, g_source_remove);
  if (tunnel->cancellable != NULL) {
    g_cancellable_cancel (tunnel->cancellable);
    g_clear_object (&tunnel->cancellable);
  }
  eh_cmgc_tunnel_drop_streams (tunnel);
  g_clear_pointer (&tunnel->ws, eh_websocket_free);
  if (tunnel->stream != NULL) {
    eh_wss_close_stream (tunnel->stream);
    g_clear_object (&tunnel->stream);
  }
  tunnel->garbage = 0;
}

static gboolean
eh_cmgc_tunnel_retry (gpointer data)
{
  EhCmgcTunnel *tunnel = data;

  tunnel->retry_id = 0;
  eh_cmgc_tunnel_connect (tunnel);
  return G_SOURCE_REMOVE;
}

static void
eh_cmgc_tunnel_schedule (EhCmgcTunnel *tunnel, const char *reason)
{
  /* ±25 % jitter, so connectors that lost a gateway together do not return together */
  guint delay = tunnel->delay_ms * g_random_double_range (0.75, 1.25);

  eh_cmgc_tunnel_drop_connection (tunnel);
  eh_cmgc_tunnel_set_error (tunnel, reason);
  tunnel->state = EH_CMGC_DOWN;
  g_clear_handle_id (&tunnel->retry_id, g_source_remove);
  tunnel->retry_id = g_timeout_add (delay, eh_cmgc_tunnel_retry, tunnel);
  tunnel->delay_ms = CLAMP (tunnel->delay_ms * 2, EH_CMGC_FIRST_DELAY_MS, EH_CMGC_MAX_DELAY_MS);
}

/* ── the open tunnel ────────────────────────────────────────────────── */

gboolean
eh_cmgc_tunnel_send (EhCmgcTunnel *tunnel, EhCmgKind kind, guint32 stream, GVariant *fields, GBytes *data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) message = NULL;

  if (tunnel->state != EH_CMGC_UP || tunnel->ws == NULL || !eh_websocket_is_open (tunnel->ws)) {
    if (fields != NULL)
      g_variant_unref (g_variant_ref_sink (fields));
    return FALSE;
  }
  message = eh_cmg_wire_build (kind, stream, fields, data, &error);
  if (message == NULL) {
    g_warning ("tunnel to %s: cannot send %s: %s", tunnel->url, eh_cmg_kind_to_string (kind), error->message);
    return FALSE;
  }
  eh_websocket_send_variant (tunnel->ws, message);
  return TRUE;
}

gsize
eh_cmgc_tunnel_queued (EhCmgcTunnel *tunnel)
{
  return tunnel->ws != NULL ? eh_websocket_get_queued (tunnel->ws) : 0;
}

static void
eh_cmgc_tunnel_drained (EhWebsocket *ws, gpointer user_data)
{
  EhCmgcTunnel *tunnel = user_data;
  g_autoptr (GList) streams = g_hash_table_get_values (tunnel->streams);

  for (GList *l = streams; l != NULL; l = l->next)
    eh_cmgc_forward_resume (l->data);
}

void
eh_cmgc_tunnel_hold (EhCmgcTunnel *tunnel)
{
  if (tunnel->ws != NULL)
    eh_websocket_notify_drained (tunnel->ws, EH_CMGC_LOW_WATER, eh_cmgc_tunnel_drained, tunnel);
}

gboolean
eh_cmgc_tunnel_is_up (EhCmgcTunnel *tunnel)
{
  return tunnel->state == EH_CMGC_UP;
}

void
eh_cmgc_tunnel_stream_done (EhCmgcTunnel *tunnel, guint32 stream)
{
  g_hash_table_steal (tunnel->streams, GUINT_TO_POINTER (stream));
}

static gboolean
eh_cmgc_tunnel_drop_later (gpointer data)
{
  EhCmgcTunnel *tunnel = data;

  tunnel->drop_id = 0;
  tunnel->up_since = 0;
  eh_cmgc_tunnel_schedule (tunnel, tunnel->last_error);
  return G_SOURCE_REMOVE;
}

static void
eh_cmgc_tunnel_closed (EhWebsocket *ws, const char *reason, gpointer user_data)
{
  EhCmgcTunnel *tunnel = user_data;

  g_message ("tunnel to %s down: %s", tunnel->url, reason);
  eh_cmgc_tunnel_set_error (tunnel, reason);
  /* not inside the websocket's own callback */
  if (tunnel->drop_id == 0)
    tunnel->drop_id = g_idle_add (eh_cmgc_tunnel_drop_later, tunnel);
}

static void
eh_cmgc_tunnel_garbage (EhCmgcTunnel *tunnel, const char *why)
{
  g_info ("tunnel to %s: message dropped: %s", tunnel->url, why);
  if (++tunnel->garbage >= EH_CMGC_MAX_GARBAGE && tunnel->ws != NULL)
    eh_websocket_close (tunnel->ws, 1008, "too many bad messages");
}

static void
eh_cmgc_tunnel_request (EhCmgcTunnel *tunnel, EhCmgMessage *message)
{
  EhCmgcStream *stream;

  if (g_hash_table_contains (tunnel->streams, GUINT_TO_POINTER (message->stream))) {
    eh_cmgc_tunnel_garbage (tunnel, "a stream opened twice");
    return;
  }
  if (g_hash_table_size (tunnel->streams) >= EH_CMGC_MAX_STREAMS) {
    eh_cmgc_tunnel_send (tunnel, EH_CMG_END, message->stream,
                         g_variant_new_parsed ("{'error': <'the connector is busy'>}"), NULL);
    return;
  }
  stream = eh_cmgc_forward_start (tunnel->cmgc, tunnel, message);
  if (stream != NULL)
    g_hash_table_insert (tunnel->streams, GUINT_TO_POINTER (message->stream), stream);
}

static void
eh_cmgc_tunnel_message (EhWebsocket *ws, GBytes *bytes, gpointer user_data)
{
  EhCmgcTunnel *tunnel = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhCmgMessage) message = eh_cmg_wire_decode (bytes, &error);
  EhCmgcStream *stream;
  guint32 value = 0;

  if (message == NULL) {
    eh_cmgc_tunnel_garbage (tunnel, error->message);
    return;
  }
  stream = g_hash_table_lookup (tunnel->streams, GUINT_TO_POINTER (message->stream));
  switch (message->kind) {
  case EH_CMG_REQUEST:
    eh_cmgc_tunnel_request (tunnel, message);
    return;
  case EH_CMG_CREDIT:
    g_variant_lookup (message->fields, "bytes", "u", &value);
    if (stream != NULL)
      eh_cmgc_forward_credit (stream, value);
    return;
  case EH_CMG_CANCEL:
    if (stream != NULL) {
      g_hash_table_steal (tunnel->streams, GUINT_TO_POINTER (message->stream));
      eh_cmgc_forward_cancel (stream);
    }
    return;
  case EH_CMG_HEALTH_OK:
    g_variant_lookup (message->fields, "sequence", "u", &value);
    if (value == tunnel->health_sent) {
      tunnel->health_acked = value;
      tunnel->last_health = g_get_real_time () / G_USEC_PER_SEC;
    }
    return;
  default:
    eh_cmgc_tunnel_garbage (tunnel, "a kind only a connector sends");
  }
}

static gboolean
eh_cmgc_tunnel_health (gpointer data)
{
  EhCmgcTunnel *tunnel = data;

  if (tunnel->health_acked != tunnel->health_sent) {
    g_warning ("tunnel to %s: the gateway did not answer the health check; reconnecting", tunnel->url);
    tunnel->health_id = 0;
    eh_cmgc_tunnel_set_error (tunnel, "no answer to the health check");
    if (tunnel->ws != NULL)
      eh_websocket_close (tunnel->ws, 1001, "no answer to the health check");
    return G_SOURCE_REMOVE;
  }
  eh_cmgc_tunnel_send (tunnel, EH_CMG_HEALTH, 0,
                       g_variant_new_parsed ("{'sequence': <%u>}", ++tunnel->health_sent), NULL);
  return G_SOURCE_CONTINUE;
}

static void
eh_cmgc_tunnel_hello (EhCmgcTunnel *tunnel)
{
  EhCmgc *cmgc = tunnel->cmgc;
  GVariantBuilder mappings;

  g_variant_builder_init (&mappings, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; i < cmgc->mappings->len; i++) {
    EhCmgcMapping *mapping = g_ptr_array_index (cmgc->mappings, i);

    g_variant_builder_add (&mappings, "(sss)", mapping->id, mapping->kind, mapping->dp_name);
  }
  eh_cmgc_tunnel_send (tunnel, EH_CMG_HELLO, 0,
                       g_variant_new_parsed ("{'name': <%s>, 'site': <%s>, 'mappings': <%@a(sss)>}", cmgc->name,
                                             cmgc->site, g_variant_builder_end (&mappings)),
                       NULL);
}

static void
eh_cmgc_tunnel_dialed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhCmgcTunnel *tunnel = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhWssDialed) dialed = eh_wss_dial_finish (result, &error);
  g_autofree char *reason = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the tunnel moved on; it may be gone */
  if (dialed == NULL || !dialed->presented) {
    reason = dialed == NULL ? g_strdup_printf ("%s%s", g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED)
                                                           ? "the gateway refused the tunnel: " : "",
                                               error->message)
                            : g_strdup ("no role certificate to present yet");
    if (g_error_matches (error, EH_ERROR, EH_ERROR_TLS) || g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED))
      g_warning ("tunnel to %s: %s", tunnel->url, reason);
    else
      g_message ("tunnel to %s: %s; trying again", tunnel->url, reason);
    eh_cmgc_tunnel_schedule (tunnel, reason);
    return;
  }
  g_clear_handle_id (&tunnel->deadline_id, g_source_remove);
  g_clear_object (&tunnel->cancellable);
  tunnel->stream = g_steal_pointer (&dialed->stream);
  tunnel->ws = eh_websocket_new (tunnel->stream, FALSE, EH_CMG_WIRE_MAX_BYTES, dialed->rest,
                                 eh_cmgc_tunnel_message, eh_cmgc_tunnel_closed, tunnel);
  tunnel->state = EH_CMGC_UP;
  tunnel->delay_ms = EH_CMGC_FIRST_DELAY_MS;
  tunnel->up_since = g_get_real_time () / G_USEC_PER_SEC;
  tunnel->last_health = tunnel->up_since;
  tunnel->health_sent = tunnel->health_acked = 0;
  tunnel->reconnects++;
  g_clear_pointer (&tunnel->last_error, g_free);
  eh_cmgc_tunnel_hello (tunnel);
  tunnel->health_id = g_timeout_add_seconds (tunnel->cmgc->health_interval, eh_cmgc_tunnel_health, tunnel);
  g_message ("tunnel to %s up", tunnel->url);
}

static gboolean
eh_cmgc_tunnel_timed_out (gpointer data)
{
  EhCmgcTunnel *tunnel = data;

  tunnel->deadline_id = 0;
  g_message ("tunnel to %s: no tunnel within %u s; trying again", tunnel->url, EH_CMGC_ATTEMPT_TIMEOUT_S);
  eh_cmgc_tunnel_schedule (tunnel, "no tunnel within the time allowed");
  return G_SOURCE_REMOVE;
}

void
eh_cmgc_tunnel_connect (EhCmgcTunnel *tunnel)
{
  EhCmgc *cmgc = tunnel->cmgc;
  const EhWssDialOptions options = {
    .host = tunnel->host,
    .port = tunnel->port,
    .path = EH_CMG_WIRE_PATH,
    .subprotocol = EH_CMG_WIRE_SUBPROTOCOL,
    .root_sha256 = cmgc->ca_file == NULL ? cmgc->root : NULL,
    .root_text = cmgc->root_text,
    .ca_file = cmgc->ca_file,
    .client_pem = cmgc->host_pem,
  };

  eh_cmgc_tunnel_drop_connection (tunnel);
  g_clear_handle_id (&tunnel->retry_id, g_source_remove);
  tunnel->state = EH_CMGC_CONNECTING;
  tunnel->cancellable = g_cancellable_new ();
  tunnel->deadline_id = g_timeout_add_seconds (EH_CMGC_ATTEMPT_TIMEOUT_S, eh_cmgc_tunnel_timed_out, tunnel);
  eh_wss_dial_async (&options, tunnel->cancellable, eh_cmgc_tunnel_dialed, tunnel);
}

void
eh_cmgc_tunnel_restart (EhCmgcTunnel *tunnel)
{
  tunnel->delay_ms = EH_CMGC_FIRST_DELAY_MS;
  eh_cmgc_tunnel_connect (tunnel);
}

EhCmgcTunnel *
eh_cmgc_tunnel_new (EhCmgc *cmgc, const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  EhCmgcTunnel *tunnel;

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL ||
      g_uri_get_host (uri)[0] == '\0' || g_uri_get_port (uri) <= 0 || g_uri_get_userinfo (uri) != NULL ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL ||
      (g_uri_get_path (uri)[0] != '\0' && strcmp (g_uri_get_path (uri), "/") != 0)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[cmg-connector] gateways: %s: give each gateway as https://HOST:PORT", url);
    return NULL;
  }
  tunnel = g_new0 (EhCmgcTunnel, 1);
  tunnel->cmgc = cmgc;
  tunnel->url = g_strdup (url);
  tunnel->host = g_strdup (g_uri_get_host (uri));
  tunnel->port = g_uri_get_port (uri);
  tunnel->delay_ms = EH_CMGC_FIRST_DELAY_MS;
  tunnel->streams = g_hash_table_new (NULL, NULL);
  return tunnel;
}

void
eh_cmgc_tunnel_free (EhCmgcTunnel *tunnel)
{
  if (tunnel == NULL)
    return;
  g_clear_handle_id (&tunnel->retry_id, g_source_remove);
  eh_cmgc_tunnel_drop_connection (tunnel);
  g_hash_table_unref (tunnel->streams);
  g_free (tunnel->url);
  g_free (tunnel->host);
  g_free (tunnel->last_error);
  g_free (tunnel);
}

GVariant *
eh_cmgc_tunnel_describe (EhCmgcTunnel *tunnel)
{
  GVariantDict row;

  g_variant_dict_init (&row, NULL);
  g_variant_dict_insert (&row, "gateway", "s", tunnel->url);
  g_variant_dict_insert (&row, "state", "s", tunnel->state == EH_CMGC_UP ? "up"
                                           : tunnel->state == EH_CMGC_CONNECTING ? "connecting" : "down");
  g_variant_dict_insert (&row, "since", "x", tunnel->up_since);
  g_variant_dict_insert (&row, "last-health", "x", tunnel->last_health);
  g_variant_dict_insert (&row, "reconnects", "t", tunnel->reconnects > 0 ? tunnel->reconnects - 1 : 0);
  g_variant_dict_insert (&row, "in-flight", "u", g_hash_table_size (tunnel->streams));
  if (tunnel->last_error != NULL)
    g_variant_dict_insert (&row, "last-error", "s", tunnel->last_error);
  return g_variant_dict_end (&row);
}
