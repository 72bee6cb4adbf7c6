/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <libsoup/soup.h>

#include "eh-error.h"
#include "eh-tls-pin.h"
#include "eh-websocket.h"
#include "eh-wss-dial.h"

#define EH_WSS_MAX_RESPONSE_HEAD 16384

/* one attempt, the GTask's data */
typedef struct {
  char *host;
  guint16 port;
  char *path;
  char *subprotocol;
  guint8 root[32];
  gboolean pinned;
  char *root_text;
  char *ca_file;
  char *client_pem;
  GTlsConnection *tls;
  gboolean presented;
  char *key;
  char *request;
  GByteArray *head;
} EhWssDial;

static void
eh_wss_dial_free (EhWssDial *dial)
{
  if (dial->tls != NULL)
    eh_wss_close_stream (G_IO_STREAM (dial->tls));
  g_clear_object (&dial->tls);
  g_free (dial->host);
  g_free (dial->path);
  g_free (dial->subprotocol);
  g_free (dial->root_text);
  g_free (dial->ca_file);
  g_free (dial->client_pem);
  g_free (dial->key);
  g_free (dial->request);
  if (dial->head != NULL)
    g_byte_array_unref (dial->head);
  g_free (dial);
}

void
eh_wss_dialed_free (EhWssDialed *dialed)
{
  if (dialed == NULL)
    return;
  g_clear_object (&dialed->stream);
  g_clear_pointer (&dialed->rest, g_bytes_unref);
  g_free (dialed);
}

void
eh_wss_close_stream (GIOStream *stream)
{
  g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

/* fails the task unless it was cancelled (the dialer moved on and may be gone) */
static void
eh_wss_dial_fail (GTask *task, GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

/* ── the server's certificate ───────────────────────────────────────── */

static gboolean
eh_wss_dial_verify_ca_file (EhWssDial *dial, GTlsCertificate *peer, GError **error)
{
  g_autoptr (GTlsDatabase) database = g_tls_file_database_new (dial->ca_file, error);
  g_autoptr (GSocketConnectable) identity = NULL;
  GTlsCertificateFlags flags;

  if (database == NULL)
    return FALSE;
  identity = g_network_address_new (dial->host, dial->port);
  flags = g_tls_database_verify_chain (database, peer, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                       identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, error);
  if (flags != 0) {
    g_clear_error (error);
    g_set_error (error, EH_ERROR, EH_ERROR_TLS,
                 "the certificate of %s does not verify with %s (flags 0x%x)", dial->host,
                 dial->ca_file, flags);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_wss_dial_verify (EhWssDial *dial, GError **error)
{
  GTlsCertificate *peer = g_tls_connection_get_peer_certificate (dial->tls);

  if (dial->pinned)
    return eh_tls_verify_pinned (peer, dial->root, dial->root_text, dial->host, error);
  if (peer == NULL || dial->ca_file == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s", peer == NULL ? "no server certificate"
                                                                   : "no trust anchor to check it with");
    return FALSE;
  }
  return eh_wss_dial_verify_ca_file (dial, peer, error);
}

/* we check the server's certificate ourselves once the handshake is done */
static gboolean
eh_wss_dial_accept_any (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors,
                        gpointer user_data)
{
  return TRUE;
}

/* ── the upgrade ────────────────────────────────────────────────────── */

static gboolean
eh_wss_dial_check_response (EhWssDial *dial, gsize head_len, GError **error)
{
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autofree char *reason = NULL;
  g_autofree char *accept = eh_websocket_accept_for_key (dial->key);
  guint status = 0;

  if (!soup_headers_parse_response ((const char *) dial->head->data, head_len, headers, NULL,
                                    &status, &reason)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the answer is not HTTP");
    return FALSE;
  }
  if (status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "%u %s",
                 status, reason != NULL ? reason : "");
    return FALSE;
  }
  if (!soup_message_headers_header_contains (headers, "Upgrade", "websocket") ||
      !soup_message_headers_header_contains (headers, "Connection", "Upgrade") ||
      g_strcmp0 (soup_message_headers_get_one (headers, "Sec-WebSocket-Accept"), accept) != 0 ||
      g_strcmp0 (soup_message_headers_get_one (headers, "Sec-WebSocket-Protocol"),
                 dial->subprotocol) != 0 ||
      soup_message_headers_get_one (headers, "Sec-WebSocket-Extensions") != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the upgrade answer is wrong");
    return FALSE;
  }
  return TRUE;
}

/* the end of the response head, or NULL while it is incomplete */
static const guint8 *
eh_wss_dial_head_end (GByteArray *head)
{
  for (guint i = 0; i + 4 <= head->len; i++) {
    if (memcmp (head->data + i, "\r\n\r\n", 4) == 0)
      return head->data + i;
  }
  return NULL;
}

static void eh_wss_dial_read_head (GTask *task);

static void
eh_wss_dial_done (GTask *task, gsize head_len)
{
  EhWssDial *dial = g_task_get_task_data (task);
  EhWssDialed *dialed = g_new0 (EhWssDialed, 1);

  dialed->rest = g_bytes_new (dial->head->data + head_len, dial->head->len - head_len);
  dialed->stream = G_IO_STREAM (g_steal_pointer (&dial->tls));
  dialed->presented = dial->presented;
  g_task_return_pointer (task, dialed, (GDestroyNotify) eh_wss_dialed_free);
  g_object_unref (task);
}

static void
eh_wss_dial_head_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  EhWssDial *dial = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  const guint8 *end;

  if (bytes == NULL) {
    eh_wss_dial_fail (task, error);
    return;
  }
  if (g_bytes_get_size (bytes) == 0) {
    eh_wss_dial_fail (task, g_error_new (EH_ERROR, EH_ERROR_FAILED, "hung up during the upgrade"));
    return;
  }
  g_byte_array_append (dial->head, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  end = eh_wss_dial_head_end (dial->head);
  if (end == NULL) {
    if (dial->head->len > EH_WSS_MAX_RESPONSE_HEAD)
      eh_wss_dial_fail (task, g_error_new (EH_ERROR, EH_ERROR_FAILED, "the answer head is too large"));
    else
      eh_wss_dial_read_head (task);
    return;
  }
  if (!eh_wss_dial_check_response (dial, end + 4 - dial->head->data, &error)) {
    eh_wss_dial_fail (task, error);
    return;
  }
  eh_wss_dial_done (task, end + 4 - dial->head->data);
}

static void
eh_wss_dial_read_head (GTask *task)
{
  EhWssDial *dial = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (G_IO_STREAM (dial->tls)), 4096,
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                   eh_wss_dial_head_read, task);
}

static void
eh_wss_dial_request_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  EhWssDial *dial = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error)) {
    eh_wss_dial_fail (task, error);
    return;
  }
  dial->head = g_byte_array_new ();
  eh_wss_dial_read_head (task);
}

static void
eh_wss_dial_handshaken (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  EhWssDial *dial = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean v6;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error)) {
    eh_wss_dial_fail (task, error);
    return;
  }
  if (!eh_wss_dial_verify (dial, &error)) {
    eh_wss_dial_fail (task, error);
    return;
  }
  dial->key = eh_websocket_make_key ();
  v6 = strchr (dial->host, ':') != NULL;
  dial->request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                                   "Host: %s%s%s:%u\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: %s\r\n"
                                   "Sec-WebSocket-Version: 13\r\n"
                                   "Sec-WebSocket-Protocol: %s\r\n"
                                   "User-Agent: ehttpd/" EH_VERSION "\r\n\r\n",
                                   dial->path, v6 ? "[" : "", dial->host, v6 ? "]" : "", dial->port,
                                   dial->key, dial->subprotocol);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (dial->tls)),
                                   dial->request, strlen (dial->request), G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), eh_wss_dial_request_written, task);
}

/* the host's site-issued certificate, when it has one */
static void
eh_wss_dial_present_certificate (EhWssDial *dial)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;

  if (dial->client_pem == NULL || !g_file_test (dial->client_pem, G_FILE_TEST_EXISTS))
    return;
  certificate = g_tls_certificate_new_from_file (dial->client_pem, &error);
  if (certificate == NULL) {
    g_warning ("cannot use %s as the client certificate: %s", dial->client_pem, error->message);
    return;
  }
  g_tls_connection_set_certificate (dial->tls, certificate);
  dial->presented = TRUE;
}

static void
eh_wss_dial_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  EhWssDial *dial = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GSocketConnection) connection = g_socket_client_connect_to_host_finish (
      G_SOCKET_CLIENT (source), result, &error);
  g_autoptr (GSocketConnectable) identity = NULL;
  GIOStream *tls;

  if (connection == NULL) {
    eh_wss_dial_fail (task, error);
    return;
  }
  /* small messages both ways (requests, credits): never wait for Nagle */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  identity = g_network_address_new (dial->host, dial->port);
  tls = g_tls_client_connection_new (G_IO_STREAM (connection), identity, &error);
  if (tls == NULL) {
    eh_wss_dial_fail (task, error);
    return;
  }
  dial->tls = G_TLS_CONNECTION (tls);
  /* no system trust store: the pinned root (or the given file) is the only anchor */
  g_tls_connection_set_database (dial->tls, NULL);
  /* a full handshake each time, so the current certificate is always presented */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (tls), "session-resumption-enabled") != NULL)
    g_object_set (tls, "session-resumption-enabled", FALSE, NULL);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (eh_wss_dial_accept_any), NULL);
  eh_wss_dial_present_certificate (dial);
  g_tls_connection_handshake_async (dial->tls, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                    eh_wss_dial_handshaken, task);
}

void
eh_wss_dial_async (const EhWssDialOptions *options, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GSocketClient) socket_client = g_socket_client_new ();
  EhWssDial *dial = g_new0 (EhWssDial, 1);

  dial->host = g_strdup (options->host);
  dial->port = options->port;
  dial->path = g_strdup (options->path);
  dial->subprotocol = g_strdup (options->subprotocol);
  dial->pinned = options->root_sha256 != NULL;
  if (dial->pinned)
    memcpy (dial->root, options->root_sha256, 32);
  dial->root_text = g_strdup (options->root_text);
  dial->ca_file = g_strdup (options->ca_file);
  dial->client_pem = g_strdup (options->client_pem);
  g_task_set_task_data (task, dial, (GDestroyNotify) eh_wss_dial_free);
  g_task_set_return_on_cancel (task, FALSE);
  g_socket_client_set_enable_proxy (socket_client, FALSE);
  g_socket_client_connect_to_host_async (socket_client, dial->host, dial->port, cancellable,
                                         eh_wss_dial_connected, task);
}

EhWssDialed *
eh_wss_dial_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
