/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "eh-cmgc.h"

/*
 * One relayed request: rebuilt from the REQUEST message (never the
 * client's bytes), sent to the mapping's MP or DP over HTTPS with the
 * correlation id, the gateway's name and the client's identity attached,
 * and answered as HEAD, DATA…, END. An MP or DP of this very host is asked
 * over an internal connection instead (eh-cmgc-local.c). The body is read from upstream only as
 * far as the gateway's credit reaches and while the tunnel's send queue is
 * short, so a slow client slows the read instead of filling memory.
 */

#define EH_CMGC_MAX_REFUSAL (16 * 1024)
#define EH_CMGC_STS_PATH "/ehttpd/mp/sts"

struct _EhCmgcStream {
  gatomicrefcount ref;
  EhCmgc *cmgc;
  EhCmgcTunnel *tunnel; /* NULL once cancelled */
  EhCmgcMapping *mapping;
  guint32 id;
  char *correlation;
  SoupMessage *msg;      /* the request, sent by libsoup or over an internal connection */
  EhCmgcAnswer answer;   /* once it is answered: .body is read as the credit allows */
  gint64 remaining;      /* of the body; -1: up to its end */
  GCancellable *cancellable;
  guint64 credit;
  gboolean reading;
  gboolean held; /* waits for the tunnel's send queue to drain */
  GByteArray *refusal; /* an Entra refusal being read, to be rewritten */
  guint8 *buffer;      /* the read in progress */
  gsize buffer_have;   /* bytes in it before the read (a small answer's first, read with its head) */
  guint8 *spare;       /* a chunk's buffer, back from the tunnel, for the next read */
  GVariant *head;      /* (nullable) a small answer's head, sent with its whole body */
};

static EhCmgcStream *
eh_cmgc_stream_ref (EhCmgcStream *stream)
{
  g_atomic_ref_count_inc (&stream->ref);
  return stream;
}

static void
eh_cmgc_stream_unref (EhCmgcStream *stream)
{
  if (!g_atomic_ref_count_dec (&stream->ref))
    return;
  g_clear_object (&stream->msg);
  eh_cmgc_answer_clear (&stream->answer);
  g_clear_object (&stream->cancellable);
  if (stream->refusal != NULL)
    g_byte_array_unref (stream->refusal);
  g_free (stream->correlation);
  g_free (stream->buffer);
  g_free (stream->spare);
  g_clear_pointer (&stream->head, g_variant_unref);
  g_free (stream);
}

EhCmgcMapping *
eh_cmgc_mapping_lookup (EhCmgc *cmgc, const char *id)
{
  for (guint i = 0; i < cmgc->mappings->len; i++) {
    EhCmgcMapping *mapping = g_ptr_array_index (cmgc->mappings, i);

    if (strcmp (mapping->id, id) == 0)
      return mapping;
  }
  return NULL;
}

/* the stream is over on our side: the tunnel forgets it */
static void
eh_cmgc_stream_finish (EhCmgcStream *stream)
{
  if (stream->tunnel != NULL) {
    eh_cmgc_tunnel_stream_done (stream->tunnel, stream->id);
    stream->tunnel = NULL;
    eh_cmgc_stream_unref (stream); /* the tunnel's reference */
  }
}

static void
eh_cmgc_stream_end (EhCmgcStream *stream, const char *error)
{
  if (stream->tunnel == NULL)
    return;
  if (error != NULL) {
    stream->mapping->errors++;
    g_message ("relay %s: %s", stream->correlation, error);
  }
  eh_cmgc_tunnel_send (stream->tunnel, EH_CMG_END, stream->id,
                       error != NULL ? g_variant_new_parsed ("{'error': <%s>}", error) : NULL, NULL);
  eh_cmgc_stream_finish (stream);
}

void
eh_cmgc_forward_cancel (EhCmgcStream *stream)
{
  g_cancellable_cancel (stream->cancellable);
  /* the tunnel already let go of it */
  stream->tunnel = NULL;
  eh_cmgc_stream_unref (stream);
}

/* ── the answer ─────────────────────────────────────────────────────── */

static void eh_cmgc_stream_pump (EhCmgcStream *stream);

/* what the MP said when it refused an Entra identity, as the gateway's error */
static void
eh_cmgc_stream_send_refusal (EhCmgcStream *stream)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict ((const char *) stream->refusal->data, stream->refusal->len,
                                                    EH_CMGC_MAX_REFUSAL, 4, NULL);
  JsonObject *object = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *reason = NULL, *message = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  gsize len = 0;
  char *text;

  /* the MP's reason code (its `error` is the generic Un-authorizedrequest); an older MP's `error` */
  if (object == NULL || (!eh_json_object_get_string_checked (object, "reason", &reason, NULL) &&
                         !eh_json_object_get_string_checked (object, "error", &reason, NULL)))
    reason = "Un-authorizedrequest";
  if (object == NULL || !eh_json_object_get_string_checked (object, "message", &message, NULL))
    message = "the management point refused the identity";
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, "CMGConnector_Un-authorizedrequest");
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, reason);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_set_member_name (builder, "correlation_id");
  json_builder_add_string_value (builder, stream->correlation);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  g_message ("relay %s: the management point refused the identity: %s", stream->correlation, reason);
  eh_cmgc_tunnel_send (stream->tunnel, EH_CMG_HEAD, stream->id,
                       g_variant_new_parsed ("{'status': <%u>, 'headers': <[('Content-Type', 'application/json')]>}",
                                             (guint32) SOUP_STATUS_FORBIDDEN),
                       NULL);
  eh_cmgc_tunnel_send (stream->tunnel, EH_CMG_DATA, stream->id, NULL, g_bytes_new_take (text, len));
  eh_cmgc_stream_end (stream, NULL);
}

/* @len bytes of the body (@bytes), its end (@len 0), or a failure (@bytes NULL) */
static void
eh_cmgc_stream_got (EhCmgcStream *stream, GBytes *bytes, gsize len, const GError *error)
{
  g_autoptr (GError) short_body = NULL;

  if (bytes != NULL && len == 0 && stream->remaining > 0) {
    short_body = g_error_new (EH_ERROR, EH_ERROR_FAILED, "%" G_GINT64_FORMAT " bytes short", stream->remaining);
    error = short_body;
    bytes = NULL;
  }
  if (stream->remaining > 0)
    stream->remaining -= len;
  if (bytes == NULL) {
    g_autofree char *why = g_strdup_printf ("the answer broke off: %s", error->message);

    eh_cmgc_stream_end (stream, why);
  } else if (stream->head != NULL) {
    /* the whole small answer, read to its end: one message */
    stream->mapping->bytes_out += len;
    eh_cmgc_tunnel_send (stream->tunnel, EH_CMG_HEAD, stream->id, g_steal_pointer (&stream->head),
                         bytes);
    eh_cmgc_stream_finish (stream);
  } else if (len == 0 && stream->refusal != NULL) {
    eh_cmgc_stream_send_refusal (stream);
  } else if (len == 0) {
    eh_cmgc_stream_end (stream, NULL);
  } else if (stream->refusal != NULL) {
    if (stream->refusal->len + len <= EH_CMGC_MAX_REFUSAL)
      g_byte_array_append (stream->refusal, g_bytes_get_data (bytes, NULL), len);
    eh_cmgc_stream_pump (stream);
  } else {
    stream->credit -= MIN (stream->credit, len);
    stream->mapping->bytes_out += len;
    eh_cmgc_tunnel_send (stream->tunnel, EH_CMG_DATA, stream->id, NULL, bytes);
    eh_cmgc_stream_pump (stream);
  }
}

typedef struct {
  EhCmgcStream *stream;
  guint8 *buffer;
} EhCmgcChunk;

/* a chunk went into its frame: its buffer serves the next read (a fresh
 * one each time costs page faults and zeroed pages) */
static void
eh_cmgc_chunk_back (gpointer data)
{
  EhCmgcChunk *chunk = data;

  if (chunk->stream->spare == NULL)
    chunk->stream->spare = chunk->buffer;
  else
    g_free (chunk->buffer);
  eh_cmgc_stream_unref (chunk->stream);
  g_free (chunk);
}

static GBytes *
eh_cmgc_chunk_new (EhCmgcStream *stream, guint8 *buffer, gsize len)
{
  EhCmgcChunk *chunk = g_new (EhCmgcChunk, 1);

  chunk->stream = eh_cmgc_stream_ref (stream);
  chunk->buffer = buffer;
  return g_bytes_new_with_free_func (buffer, len, eh_cmgc_chunk_back, chunk);
}

static void
eh_cmgc_stream_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhCmgcStream *stream = user_data;
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autoptr (GBytes) bytes = NULL;

  /* whole chunks (or the last, shorter one): fewer, larger messages and credits */
  if (g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &len, &error)) {
    len += stream->buffer_have;
    bytes = eh_cmgc_chunk_new (stream, g_steal_pointer (&stream->buffer), len);
  }
  g_clear_pointer (&stream->buffer, g_free);

  stream->reading = FALSE;
  if (stream->tunnel != NULL)
    eh_cmgc_stream_got (stream, bytes, len, error);
  eh_cmgc_stream_unref (stream);
}

static void
eh_cmgc_stream_pump (EhCmgcStream *stream)
{
  gsize want = stream->refusal != NULL || stream->head != NULL ? EH_CMG_WIRE_CHUNK
                                                                : MIN (stream->credit, EH_CMG_WIRE_DATA_BYTES);

  if (stream->reading || stream->tunnel == NULL || stream->answer.body == NULL)
    return;
  if (stream->remaining == 0) {
    /* all of it: no read that would wait for the connection's end */
    g_autoptr (GBytes) none = g_bytes_new (NULL, 0);

    eh_cmgc_stream_got (stream, none, 0, NULL);
    return;
  }
  if (stream->remaining > 0)
    want = MIN (want, (guint64) stream->remaining);
  if (want == 0)
    return;
  if (eh_cmgc_tunnel_queued (stream->tunnel) > EH_CMGC_HIGH_WATER) {
    stream->held = TRUE;
    eh_cmgc_tunnel_hold (stream->tunnel);
    return;
  }
  stream->buffer_have = 0;
  if (stream->answer.prefix != NULL) {
    g_autoptr (GBytes) prefix = g_steal_pointer (&stream->answer.prefix);
    gsize have = g_bytes_get_size (prefix);

    if (stream->head == NULL || have >= want) {
      /* what came with the head first, no read needed */
      g_autoptr (GBytes) bytes = g_bytes_new_from_bytes (prefix, 0, MIN (want, have));

      if (have > want)
        stream->answer.prefix = g_bytes_new_from_bytes (prefix, want, have - want);
      eh_cmgc_stream_got (stream, bytes, g_bytes_get_size (bytes), NULL);
      return;
    }
    /* a small answer crosses whole: the rest is read after what came with its head */
    stream->buffer = stream->spare != NULL ? g_steal_pointer (&stream->spare) : g_malloc (EH_CMG_WIRE_CHUNK);
    memcpy (stream->buffer, g_bytes_get_data (prefix, NULL), have);
    stream->buffer_have = have;
  }
  stream->reading = TRUE;
  if (stream->buffer == NULL)
    stream->buffer = stream->spare != NULL ? g_steal_pointer (&stream->spare) : g_malloc (EH_CMG_WIRE_CHUNK);
  g_input_stream_read_all_async (stream->answer.body, stream->buffer + stream->buffer_have,
                                 want - stream->buffer_have, G_PRIORITY_DEFAULT, stream->cancellable,
                                 eh_cmgc_stream_read, eh_cmgc_stream_ref (stream));
}

void
eh_cmgc_forward_credit (EhCmgcStream *stream, guint32 bytes)
{
  /* never more than the largest window outstanding, whatever the gateway says */
  stream->credit = MIN (stream->credit + bytes, EH_CMG_WIRE_MAX_WINDOW);
  eh_cmgc_stream_pump (stream);
}

void
eh_cmgc_forward_resume (EhCmgcStream *stream)
{
  if (!stream->held)
    return;
  stream->held = FALSE;
  eh_cmgc_stream_pump (stream);
}

static GVariant *
eh_cmgc_response_headers (SoupMessageHeaders *headers)
{
  GVariantBuilder builder;
  SoupMessageHeadersIter iter;
  const char *name, *value;
  guint n = 0;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value) && n < EH_CMG_WIRE_MAX_HEADERS) {
    if (eh_cmg_header_allowed (eh_cmg_response_headers, name, value)) {
      g_variant_builder_add (&builder, "(ss)", name, value);
      n++;
    }
  }
  return g_variant_builder_end (&builder);
}

/* the upstream answered (stream->answer is set): its head crosses now, or with a small body */
static void
eh_cmgc_stream_answered (EhCmgcStream *stream)
{
  const char *path = g_uri_get_path (soup_message_get_uri (stream->msg));
  SoupMessageHeaders *headers = stream->answer.headers;
  guint status = stream->answer.status;

  stream->remaining = stream->answer.length;
  /* one line per relayed request; the path only (queries may carry secrets) */
  g_message ("relay %s: %s %s to %s %s: %u", stream->correlation, soup_message_get_method (stream->msg), path,
             stream->mapping->kind, stream->mapping->id, status);
  if (status == SOUP_STATUS_FORBIDDEN && g_str_has_prefix (path, EH_CMGC_STS_PATH)) {
    stream->refusal = g_byte_array_new ();
  } else if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
             soup_message_headers_get_content_length (headers) <= EH_CMG_WIRE_CHUNK) {
    /* small: the head waits for the body, and both cross in one message */
    stream->head = g_variant_ref_sink (g_variant_new_parsed (
        "{'status': <%u>, 'headers': <%@a(ss)>, 'complete': <true>}", status, eh_cmgc_response_headers (headers)));
  } else {
    eh_cmgc_tunnel_send (stream->tunnel, EH_CMG_HEAD, stream->id,
                         g_variant_new_parsed ("{'status': <%u>, 'headers': <%@a(ss)>}", status,
                                               eh_cmgc_response_headers (headers)),
                         NULL);
  }
  eh_cmgc_stream_pump (stream);
}

static void
eh_cmgc_stream_unreachable (EhCmgcStream *stream, const GError *error)
{
  g_autofree char *why = g_strdup_printf ("%s could not be reached: %s", stream->mapping->base, error->message);

  eh_cmgc_stream_end (stream, why);
}

static void
eh_cmgc_stream_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhCmgcStream *stream = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) input = soup_session_send_finish (SOUP_SESSION (source), result, &error);

  if (stream->tunnel != NULL && input == NULL) {
    eh_cmgc_stream_unreachable (stream, error);
  } else if (stream->tunnel != NULL) {
    stream->answer.status = soup_message_get_status (stream->msg);
    stream->answer.headers = soup_message_headers_ref (soup_message_get_response_headers (stream->msg));
    stream->answer.body = g_steal_pointer (&input);
    stream->answer.length = -1; /* libsoup frames the body */
    eh_cmgc_stream_answered (stream);
  }
  eh_cmgc_stream_unref (stream);
}

static void
eh_cmgc_stream_sent_internal (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhCmgcStream *stream = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree EhCmgcAnswer *answer = eh_cmgc_local_send_finish (result, &error);

  if (stream->tunnel != NULL && answer == NULL) {
    eh_cmgc_stream_unreachable (stream, error);
  } else if (stream->tunnel != NULL) {
    stream->answer = *answer;
    eh_cmgc_stream_answered (stream);
  } else if (answer != NULL) {
    eh_cmgc_answer_clear (answer);
  }
  eh_cmgc_stream_unref (stream);
}

/* ── the request ────────────────────────────────────────────────────── */

static gboolean
eh_cmgc_accept_upstream (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                         gpointer user_data)
{
  EhCmgcStream *stream = user_data;
  g_autoptr (GError) error = NULL;

  if (eh_tls_verify_pinned (certificate, stream->cmgc->root, stream->cmgc->root_text, stream->mapping->host,
                            &error))
    return TRUE;
  g_warning ("relay %s: %s refused: %s", stream->correlation, stream->mapping->base, error->message);
  return FALSE;
}

/* small writes (a request head, then its body) must not wait for Nagle */
static void
eh_cmgc_network_event (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection, gpointer user_data)
{
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    g_socket_set_option (g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection)), IPPROTO_TCP,
                         TCP_NODELAY, 1, NULL);
}

static SoupMessage *
eh_cmgc_build (EhCmgcStream *stream, EhCmgMessage *request, GError **error)
{
  const char *method = NULL, *path = NULL, *client = NULL, *gateway = NULL, *name, *value;
  g_autoptr (GVariant) headers = g_variant_lookup_value (request->fields, "headers", G_VARIANT_TYPE ("a(ss)"));
  g_autofree char *url = NULL;
  g_autoptr (GUri) uri = NULL;
  SoupMessageHeaders *out;
  SoupMessage *msg;
  GVariantIter iter;

  g_variant_lookup (request->fields, "method", "&s", &method);
  g_variant_lookup (request->fields, "path", "&s", &path);
  g_variant_lookup (request->fields, "client", "&s", &client);
  g_variant_lookup (request->fields, "gateway", "&s", &gateway);
  if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0 && strcmp (method, "POST") != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "method %s is not relayed", method);
    return NULL;
  }
  if (path[0] != '/' || strlen (path) > 8192) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a path");
    return NULL;
  }
  url = g_strconcat (stream->mapping->base, path, NULL);
  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, error);
  if (uri == NULL)
    return NULL;
  msg = soup_message_new_from_uri (method, uri);
  /* libsoup opens a fresh TLS connection for every POST unless told it may
   * reuse one; the MP's POSTs are safe to repeat (registration is by key,
   * tokens and Entra exchanges spend a one-time nonce or are re-issued) */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  out = soup_message_get_request_headers (msg);
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value)) {
    if (eh_cmg_header_allowed (eh_cmg_request_headers, name, value))
      soup_message_headers_append (out, name, value);
  }
  soup_message_headers_replace (out, EH_CORRELATION_HEADER, stream->correlation);
  soup_message_headers_replace (out, "X-Ehttpd-Cmg-Gateway", gateway);
  soup_message_headers_replace (out, "X-Ehttpd-Cmg-Client", client);
  if (g_bytes_get_size (request->data) > 0) {
    soup_message_set_request_body_from_bytes (msg, soup_message_headers_get_content_type (out, NULL),
                                              request->data);
  }
  return msg;
}

EhCmgcStream *
eh_cmgc_forward_start (EhCmgc *cmgc, EhCmgcTunnel *tunnel, EhCmgMessage *request)
{
  const char *mapping_id = NULL, *correlation = NULL;
  g_autoptr (GError) error = NULL;
  EhCmgcStream *stream;
  EhCmgcMapping *mapping;

  g_variant_lookup (request->fields, "mapping", "&s", &mapping_id);
  g_variant_lookup (request->fields, "correlation", "&s", &correlation);
  mapping = eh_cmgc_mapping_lookup (cmgc, mapping_id);
  if (mapping == NULL) {
    eh_cmgc_tunnel_send (tunnel, EH_CMG_END, request->stream,
                         g_variant_new_parsed ("{'error': <'no such mapping here'>}"), NULL);
    return NULL;
  }
  stream = g_new0 (EhCmgcStream, 1);
  g_atomic_ref_count_init (&stream->ref); /* the tunnel's */
  stream->cmgc = cmgc;
  stream->tunnel = tunnel;
  stream->mapping = mapping;
  stream->id = request->stream;
  stream->correlation = g_strndup (correlation, 64);
  stream->credit = EH_CMG_WIRE_WINDOW;
  stream->cancellable = g_cancellable_new ();
  mapping->requests++;
  mapping->bytes_in += g_bytes_get_size (request->data);
  stream->msg = eh_cmgc_build (stream, request, &error);
  if (stream->msg == NULL) {
    g_autofree char *why = g_strdup_printf ("refused to relay: %s", error->message);

    eh_cmgc_tunnel_send (tunnel, EH_CMG_END, request->stream, g_variant_new_parsed ("{'error': <%s>}", why), NULL);
    mapping->errors++;
    stream->tunnel = NULL;
    eh_cmgc_stream_unref (stream);
    return NULL;
  }
  if (mapping->internal) {
    eh_cmgc_local_send_async (cmgc, mapping->base, stream->msg, request->data, stream->cancellable,
                              eh_cmgc_stream_sent_internal, eh_cmgc_stream_ref (stream));
    return stream;
  }
  g_signal_connect (stream->msg, "accept-certificate", G_CALLBACK (eh_cmgc_accept_upstream), stream);
  g_signal_connect (stream->msg, "network-event", G_CALLBACK (eh_cmgc_network_event), NULL);
  soup_session_send_async (cmgc->session, stream->msg, G_PRIORITY_DEFAULT, stream->cancellable,
                           eh_cmgc_stream_sent, eh_cmgc_stream_ref (stream));
  return stream;
}

SoupSession *
eh_cmgc_session_new (EhCmgc *cmgc)
{
  /* no cookie jar, no cache, no decoders: nothing of one client reaches another */
  SoupSession *session = soup_session_new_with_options ("max-conns", 1024, "max-conns-per-host", 256,
                                                        "timeout", 120, "idle-timeout", 60, NULL);

  soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);
  soup_session_set_tls_database (session, NULL);
  soup_session_set_user_agent (session, "ehttpd-cmg-connector/" EH_VERSION);
  return session;
}
