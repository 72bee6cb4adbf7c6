/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmg.h"

/*
 * The client side of the gateway: /CCM_Proxy_MutualAuth/<id>/… and
 * /CCM_Proxy_ServerAuth/<id>/…. Each request is checked here — a mapping
 * a connected connector published, a path that mapping serves, a token
 * the site's trust bundle verifies — and only then re-serialized into one
 * REQUEST message (method, mapped path, allowed headers, the body the
 * front already capped). The answer comes back as HEAD, DATA…, END and is
 * written to the client as it comes; the gateway grants the connector more
 * bytes only as the client takes them, so a slow client never makes either
 * side hold a whole file.
 */

#define EH_CMG_MAX_RANGE 256

struct _EhCmgRelay {
  EhCmg *cmg;
  EhCmgTunnel *tunnel; /* (nullable) while between tunnels or done */
  guint32 stream;
  SoupServerMessage *msg;
  EhRequest *request; /* valid until the message finishes */
  char *correlation;
  char *mapping;
  char *method;
  GVariant *fields; /* the REQUEST, kept for a failover */
  GBytes *body;
  GQueue chunks; /* sizes of the chunks appended, not yet written */
  gboolean head;
  gboolean ended;
  gboolean failed_over;
  gint64 remaining; /* body bytes the head announced and not yet received; -1: not announced */
  gsize window;     /* what the connector may have in flight on this stream */
  guint64 credit_due; /* granted, not yet sent */
  guint credit_source;
};

/* ── answers of the gateway itself ──────────────────────────────────── */

static void
eh_cmg_respond_error (EhRequest *request, guint status, const char *name, const char *message,
                      const char *correlation)
{
  SoupServerMessage *msg = eh_request_get_message (request);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  char *text;
  gsize len = 0;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_set_member_name (builder, "correlation_id");
  json_builder_add_string_value (builder, correlation);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  g_message ("relay %s: %u %s: %s", correlation, status, name, message);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                  "Bearer error=\"invalid_token\"");
  soup_server_message_set_status (msg, status, name);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, len);
}

/* ── the checks ─────────────────────────────────────────────────────── */

static const char *
eh_cmg_bearer (SoupMessageHeaders *headers)
{
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");

  if (authorization == NULL || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return NULL;
  return authorization + 7;
}

/* the token the route needs; the client's identity in @client. FALSE: answered */
static gboolean
eh_cmg_check_token (EhCmg *cmg, EhRequest *request, const EhCmgRoute *route, const char *dp_name,
                    const char *correlation, char **client)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (eh_request_get_message (request));
  const char *token = eh_cmg_bearer (headers);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (GError) error = NULL;

  if (route->open) {
    *client = g_strdup ("anonymous");
    return TRUE;
  }
  if (cmg->bundle == NULL) {
    eh_cmg_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE, EH_CMG_E_UNAVAILABLE,
                          "the gateway has no trust bundle of the site yet", correlation);
    return FALSE;
  }
  if (token == NULL) {
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "no bearer token");
  } else if (strcmp (route->kind, "dp") == 0) {
    const char *names[] = { dp_name, NULL };
    g_autoptr (EhDpToken) content = eh_dp_token_verify (cmg->bundle, token, names, now, &error);

    if (content != NULL)
      *client = g_strdup ("content-token");
  } else {
    eh_cmg_client_token_check (cmg->bundle, token, now, client, &error);
  }
  if (error == NULL)
    return TRUE;
  cmg->refused_token++;
  if (g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED))
    eh_cmg_respond_error (request, SOUP_STATUS_FORBIDDEN, EH_CMG_E_FORBIDDEN, error->message, correlation);
  else
    eh_cmg_respond_error (request, SOUP_STATUS_UNAUTHORIZED, EH_CMG_E_INVALID_TOKEN, error->message,
                          correlation);
  return FALSE;
}

/* ── the request, re-serialized ─────────────────────────────────────── */

static GVariant *
eh_cmg_request_headers_of (EhRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (eh_request_get_message (request));
  const char *range = eh_request_get_range (request);
  GVariantBuilder builder;
  SoupMessageHeadersIter iter;
  const char *name, *value;
  guint n = 0;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value) && n < EH_CMG_WIRE_MAX_HEADERS - 1) {
    if (g_ascii_strcasecmp (name, "Range") != 0 && eh_cmg_header_allowed (eh_cmg_request_headers, name, value)) {
      g_variant_builder_add (&builder, "(ss)", name, value);
      n++;
    }
  }
  /* the front took Range off the request; the DP parses it strictly */
  if (range != NULL && strlen (range) <= EH_CMG_MAX_RANGE && eh_cmg_header_allowed (eh_cmg_request_headers, "Range", range))
    g_variant_builder_add (&builder, "(ss)", "Range", range);
  return g_variant_builder_end (&builder);
}

/* the window is back to where a stream starts */
static void
eh_cmg_relay_reset_window (EhCmgRelay *relay)
{
  relay->cmg->window_grown -= relay->window - EH_CMG_WIRE_WINDOW;
  relay->window = EH_CMG_WIRE_WINDOW;
}

static void
eh_cmg_relay_free (EhCmgRelay *relay)
{
  g_clear_handle_id (&relay->credit_source, g_source_remove);
  g_hash_table_remove (relay->cmg->relays, relay);
  eh_cmg_relay_reset_window (relay);
  if (relay->tunnel != NULL)
    eh_cmg_tunnel_remove_relay (relay->tunnel, relay->stream);
  g_signal_handlers_disconnect_by_data (relay->msg, relay);
  if (!relay->ended) {
    /* still paused: let the message go */
    if (relay->head)
      soup_message_body_complete (soup_server_message_get_response_body (relay->msg));
    else
      soup_server_message_set_status (relay->msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
    soup_server_message_unpause (relay->msg);
  }
  g_object_unref (relay->msg);
  g_variant_unref (relay->fields);
  g_bytes_unref (relay->body);
  g_queue_clear (&relay->chunks);
  g_free (relay->correlation);
  g_free (relay->mapping);
  g_free (relay->method);
  g_free (relay);
}

/* the client is gone or the answer complete */
static void
eh_cmg_relay_finished (SoupServerMessage *msg, EhCmgRelay *relay)
{
  if (!relay->ended && relay->tunnel != NULL)
    eh_cmg_tunnel_send (relay->tunnel, EH_CMG_CANCEL, relay->stream, NULL, NULL);
  relay->ended = TRUE;
  eh_cmg_relay_free (relay);
}

gsize
eh_cmg_window_growth (gsize window, gsize taken, gboolean caught_up, gsize grown)
{
  gsize more;

  /* a client with chunks still waiting here sets the pace itself: a larger
   * window would only pile more up in the gateway */
  if (!caught_up)
    return 0;
  more = MIN (taken, EH_CMG_WIRE_MAX_WINDOW - MIN (window, EH_CMG_WIRE_MAX_WINDOW));
  return MIN (more, EH_CMG_WINDOW_BUDGET - MIN (grown, EH_CMG_WINDOW_BUDGET));
}

/* what the client took since the last credit, in one message: libsoup often
 * writes several chunks in one go, and a credit each cost both hosts a TLS
 * record and a wakeup */
static gboolean
eh_cmg_relay_send_credit (gpointer data)
{
  EhCmgRelay *relay = data;

  relay->credit_source = 0;
  if (relay->credit_due > 0 && !relay->ended && relay->tunnel != NULL)
    eh_cmg_tunnel_send (relay->tunnel, EH_CMG_CREDIT, relay->stream,
                        g_variant_new_parsed ("{'bytes': <%u>}", (guint32) MIN (relay->credit_due, G_MAXUINT32)),
                        NULL);
  relay->credit_due = 0;
  return G_SOURCE_REMOVE;
}

/* a chunk reached the client: the connector may send as much again */
static void
eh_cmg_relay_wrote_chunk (SoupServerMessage *msg, EhCmgRelay *relay)
{
  EhCmg *cmg = relay->cmg;
  gsize size = GPOINTER_TO_SIZE (g_queue_pop_head (&relay->chunks));
  gsize more = 0;

  if (size == 0 || relay->ended || relay->tunnel == NULL)
    return;
  more = eh_cmg_window_growth (relay->window, size, g_queue_is_empty (&relay->chunks), cmg->window_grown);
  relay->window += more;
  cmg->window_grown += more;
  relay->credit_due += size + more;
  if (relay->credit_source == 0)
    relay->credit_source = g_idle_add_full (G_PRIORITY_DEFAULT, eh_cmg_relay_send_credit, relay, NULL);
}

static gboolean
eh_cmg_relay_send (EhCmgRelay *relay, EhCmgTunnel *tunnel)
{
  /* a new stream: the connector starts at the first window */
  eh_cmg_relay_reset_window (relay);
  relay->credit_due = 0;
  relay->tunnel = tunnel;
  relay->stream = eh_cmg_tunnel_add_relay (tunnel, relay);
  eh_cmg_tunnel_count_request (tunnel);
  g_debug ("relay %s: %s via connector %s, stream %u", relay->correlation, relay->method,
           eh_cmg_tunnel_get_name (tunnel), relay->stream);
  if (!eh_cmg_tunnel_send (tunnel, EH_CMG_REQUEST, relay->stream, g_variant_ref (relay->fields), relay->body)) {
    eh_cmg_tunnel_remove_relay (tunnel, relay->stream);
    relay->tunnel = NULL;
    return FALSE;
  }
  return TRUE;
}

static void
eh_cmg_relay_handle (EhRequest *request, gpointer user_data)
{
  EhCmg *cmg = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  GUri *uri = soup_server_message_get_uri (msg);
  g_autofree char *correlation = g_uuid_string_random ();
  g_autofree char *id = NULL;
  g_autofree char *client = NULL;
  g_autofree char *path = NULL;
  const char *rest, *kind = NULL, *dp_name = NULL;
  const EhCmgRoute *route;
  EhCmgTunnel *tunnel;
  EhCmgRelay *relay;
  SoupMessageBody *body;
  g_autoptr (GBytes) body_bytes = NULL;

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), EH_CORRELATION_HEADER,
                                correlation);
  /* the gateway's access log line shows it (a client's own value is replaced; it never crosses) */
  soup_message_headers_replace (soup_server_message_get_request_headers (msg), EH_CORRELATION_HEADER,
                                correlation);
  rest = eh_cmg_split_path (g_uri_get_path (uri), &id);
  if (rest == NULL || !eh_cmg_path_clean (rest)) {
    cmg->refused_unmapped++;
    eh_cmg_respond_error (request, SOUP_STATUS_BAD_REQUEST, EH_CMG_E_FORBIDDEN,
                          "not a /CCM_Proxy_…/<id>/<path> the gateway relays", correlation);
    return;
  }
  if (!eh_cmg_tunnel_any (cmg)) {
    cmg->not_connected++;
    eh_cmg_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE, EH_CMG_E_NOT_CONNECTED,
                          "no connector is connected to this gateway", correlation);
    return;
  }
  tunnel = eh_cmg_tunnel_pick (cmg, id, NULL);
  if (tunnel == NULL || !eh_cmg_tunnel_lookup_mapping (tunnel, id, &kind, &dp_name) ||
      (route = eh_cmg_route (rest, kind)) == NULL) {
    cmg->refused_unmapped++;
    eh_cmg_respond_error (request, SOUP_STATUS_FORBIDDEN, EH_CMG_E_FORBIDDEN,
                          "no connector publishes this URL", correlation);
    return;
  }
  if (!eh_cmg_check_token (cmg, request, route, dp_name, correlation, &client))
    return;
  path = g_uri_get_query (uri) != NULL ? g_strconcat (rest, "?", g_uri_get_query (uri), NULL) : g_strdup (rest);
  body = soup_server_message_get_request_body (msg);
  body_bytes = soup_message_body_flatten (body);
  relay = g_new0 (EhCmgRelay, 1);
  relay->cmg = cmg;
  relay->msg = g_object_ref (msg);
  relay->request = request;
  relay->correlation = g_steal_pointer (&correlation);
  relay->mapping = g_steal_pointer (&id);
  relay->method = g_strdup (soup_server_message_get_method (msg));
  relay->body = g_steal_pointer (&body_bytes);
  relay->window = EH_CMG_WIRE_WINDOW;
  relay->fields = g_variant_ref_sink (g_variant_new_parsed (
      "{'method': <%s>, 'path': <%s>, 'headers': <%@a(ss)>, 'correlation': <%s>, 'client': <%s>, "
      "'gateway': <%s>, 'mapping': <%s>}",
      relay->method, path, eh_cmg_request_headers_of (request), relay->correlation, client, cmg->name,
      relay->mapping));
  g_queue_init (&relay->chunks);
  g_hash_table_add (cmg->relays, relay);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "finished", G_CALLBACK (eh_cmg_relay_finished), relay);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (eh_cmg_relay_wrote_chunk), relay);
  soup_server_message_pause (msg);
  cmg->relayed++;
  if (!eh_cmg_relay_send (relay, tunnel))
    eh_cmg_relay_tunnel_lost (relay);
}

/* ── the answer ─────────────────────────────────────────────────────── */

/* ends a response whose head is out: the client must see it broke off */
static void
eh_cmg_relay_abort (EhCmgRelay *relay, const char *why)
{
  GIOStream *raw = NULL;
  GIOStream *connection;

  g_message ("relay %s: broken off: %s", relay->correlation, why);
  relay->ended = TRUE;
  connection = eh_front_upgrade (relay->request, &raw);
  if (connection != NULL) {
    eh_wss_close_stream (connection);
    g_object_unref (connection);
  }
  g_clear_object (&raw);
}

/* the next bytes of the answer, and maybe its end */
static void
eh_cmg_relay_body (EhCmgRelay *relay, GBytes *data, gboolean complete, const char *error)
{
  SoupMessageBody *body = soup_server_message_get_response_body (relay->msg);
  gsize len = data != NULL ? g_bytes_get_size (data) : 0;

  if (relay->remaining >= 0 && (gint64) len > relay->remaining) {
    /* never more than the head announced: the client would read it as another answer */
    relay->cmg->upstream_failed++;
    eh_cmg_relay_abort (relay, "the connector sent more than the announced length");
    return;
  }
  if (len > 0) {
    if (relay->remaining >= 0)
      relay->remaining -= len;
    g_queue_push_tail (&relay->chunks, GSIZE_TO_POINTER (len));
    soup_message_body_append_bytes (body, data);
  }
  if (complete) {
    relay->ended = TRUE;
    if (error != NULL || relay->remaining > 0) {
      relay->cmg->upstream_failed++;
      eh_cmg_relay_abort (relay, error != NULL ? error : "the answer ended short of its announced length");
      return;
    }
    soup_message_body_complete (body);
  }
  soup_server_message_unpause (relay->msg);
}

static void
eh_cmg_relay_head (EhCmgRelay *relay, EhCmgMessage *message)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (relay->msg);
  g_autoptr (GVariant) list = g_variant_lookup_value (message->fields, "headers", G_VARIANT_TYPE ("a(ss)"));
  GVariantIter iter;
  const char *name, *value;
  guint status = 0;
  gboolean complete = FALSE;

  g_variant_lookup (message->fields, "status", "u", &status);
  if (status < 200 || status > 599) {
    relay->cmg->upstream_failed++;
    eh_cmg_respond_error (relay->request, SOUP_STATUS_INTERNAL_SERVER_ERROR, EH_CMG_E_INTERNAL,
                          "the connector answered nonsense", relay->correlation);
    relay->ended = TRUE;
    soup_server_message_unpause (relay->msg);
    return;
  }
  relay->head = TRUE;
  relay->remaining = -1;
  soup_server_message_set_status (relay->msg, status, NULL);
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  g_variant_iter_init (&iter, list);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value)) {
    if (!eh_cmg_header_allowed (eh_cmg_response_headers, name, value))
      continue;
    if (g_ascii_strcasecmp (name, "Content-Length") == 0) {
      guint64 length = 0;

      if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64, &length, NULL))
        continue;
      soup_message_headers_set_content_length (headers, length);
      /* a HEAD answer, a 204 or a 304 announces a length it does not send */
      if (strcmp (relay->method, "HEAD") != 0 && status != SOUP_STATUS_NO_CONTENT &&
          status != SOUP_STATUS_NOT_MODIFIED)
        relay->remaining = length;
      continue;
    }
    soup_message_headers_replace (headers, name, value);
  }
  g_variant_lookup (message->fields, "complete", "b", &complete);
  eh_cmg_relay_body (relay, message->data, complete, NULL);
}

void
eh_cmg_relay_receive (EhCmgRelay *relay, EhCmgMessage *message)
{
  const char *error = NULL;

  if (relay->ended)
    return;
  if (message->kind == EH_CMG_HEAD && !relay->head) {
    eh_cmg_relay_head (relay, message);
    return;
  }
  if (!relay->head) {
    relay->cmg->upstream_failed++;
    g_variant_lookup (message->fields, "error", "&s", &error);
    eh_cmg_respond_error (relay->request, SOUP_STATUS_INTERNAL_SERVER_ERROR, EH_CMG_E_INTERNAL,
                          error != NULL ? error : "the connector sent no answer head", relay->correlation);
    relay->ended = TRUE;
    soup_server_message_unpause (relay->msg);
    return;
  }
  if (message->kind == EH_CMG_DATA || message->kind == EH_CMG_END) {
    g_variant_lookup (message->fields, "error", "&s", &error);
    eh_cmg_relay_body (relay, message->data, message->kind == EH_CMG_END, error);
    return;
  }
  if (message->kind == EH_CMG_HEAD)
    eh_cmg_relay_abort (relay, "a second answer head");
}

void
eh_cmg_relay_tunnel_lost (EhCmgRelay *relay)
{
  EhCmgTunnel *lost = relay->tunnel;
  EhCmgTunnel *next;
  gboolean safe = strcmp (relay->method, "GET") == 0 || strcmp (relay->method, "HEAD") == 0;

  relay->tunnel = NULL;
  if (relay->ended)
    return;
  if (relay->head) {
    eh_cmg_relay_abort (relay, "the connector went away");
    return;
  }
  /* nothing came back yet: a request that changes nothing may go to another connector */
  next = safe && !relay->failed_over ? eh_cmg_tunnel_pick (relay->cmg, relay->mapping, lost) : NULL;
  if (next != NULL) {
    relay->failed_over = TRUE;
    g_message ("relay %s: failing over", relay->correlation);
    if (eh_cmg_relay_send (relay, next))
      return;
  }
  relay->ended = TRUE;
  relay->cmg->not_connected++;
  eh_cmg_respond_error (relay->request,
                        safe ? SOUP_STATUS_SERVICE_UNAVAILABLE : SOUP_STATUS_INTERNAL_SERVER_ERROR,
                        safe ? EH_CMG_E_NOT_CONNECTED : EH_CMG_E_INTERNAL,
                        "the connector went away before it answered", relay->correlation);
  soup_server_message_unpause (relay->msg);
}

void
eh_cmg_relay_stop_all (EhCmg *cmg)
{
  GHashTableIter iter;
  gpointer relay;

  /* the plugin stops: every open answer ends here */
  g_hash_table_iter_init (&iter, cmg->relays);
  while (g_hash_table_iter_next (&iter, &relay, NULL)) {
    g_hash_table_iter_steal (&iter);
    eh_cmg_relay_free (relay);
  }
}

gboolean
eh_cmg_relay_register (EhCmg *cmg, GError **error)
{
  const EhEndpoint mutual = { NULL, EH_CMG_MUTUAL_PREFIX, EH_SCHEME_HTTPS, EH_CMG_WIRE_MAX_BODY,
                              eh_cmg_relay_handle };
  const EhEndpoint server = { NULL, EH_CMG_SERVER_PREFIX, EH_SCHEME_HTTPS, EH_CMG_WIRE_MAX_BODY,
                              eh_cmg_relay_handle };

  return eh_plugin_add_endpoint (cmg->plugin, &mutual, cmg, error) &&
         eh_plugin_add_endpoint (cmg->plugin, &server, cmg, error);
}
