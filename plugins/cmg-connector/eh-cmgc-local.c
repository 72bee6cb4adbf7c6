/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmgc.h"

/*
 * A relayed request to this host's own front, over an internal connection
 * (eh_plugin_connect_internal(): a socket pair the front serves as on its
 * HTTPS listener) instead of TLS over loopback. One connection per
 * request, HTTP/1.1 with Connection: close; the answer's head is parsed
 * here, and its body read as the stream's credit allows, bounded by its
 * Content-Length (the front frames every answer of the MP, DP and CA so).
 */

#define EH_CMGC_LOCAL_HEAD_READ 16384

/* the internal connections open, and the requests waiting for a place;
 * held by the role and by every connection open */
struct _EhCmgcLocalPool {
  gint ref_count;
  EhPlugin *plugin;
  guint open;
  guint places;
  GQueue waiting; /* GTask, not yet connected */
  gboolean stopped;
};

struct _EhCmgcLocal {
  EhCmgcLocalPool *pool;
  char *url;
  GIOStream *conn; /* holds a place in @pool while set */
  GByteArray *head; /* the answer as read so far */
  GBytes *request;  /* the serialized request, while it is written */
  char *method;
};

static void eh_cmgc_local_start (GTask *task);

static EhCmgcLocalPool *
eh_cmgc_local_pool_ref (EhCmgcLocalPool *pool)
{
  pool->ref_count++;
  return pool;
}

static void
eh_cmgc_local_pool_unref (EhCmgcLocalPool *pool)
{
  if (--pool->ref_count > 0)
    return;
  g_assert (g_queue_is_empty (&pool->waiting));
  g_free (pool);
}

EhCmgcLocalPool *
eh_cmgc_local_pool_new (EhPlugin *plugin, guint places)
{
  EhCmgcLocalPool *pool = g_new0 (EhCmgcLocalPool, 1);

  pool->ref_count = 1;
  pool->plugin = plugin;
  pool->places = MAX (places, 1);
  g_queue_init (&pool->waiting);
  return pool;
}

void
eh_cmgc_local_pool_stop (EhCmgcLocalPool *pool)
{
  GTask *task;

  pool->stopped = TRUE;
  while ((task = g_queue_pop_head (&pool->waiting)) != NULL) {
    g_task_return_new_error (task, EH_ERROR, EH_ERROR_FAILED, "the connector stopped");
    g_object_unref (task);
  }
  eh_cmgc_local_pool_unref (pool);
}

void
eh_cmgc_local_pool_describe (EhCmgcLocalPool *pool, GVariantDict *dict)
{
  g_variant_dict_insert (dict, "internal-open", "u", pool->open);
  g_variant_dict_insert (dict, "internal-waiting", "u", g_queue_get_length (&pool->waiting));
}

/* a connection closed: the next waiting request takes its place */
static void
eh_cmgc_local_pool_release (EhCmgcLocalPool *pool)
{
  GTask *task;

  pool->open--;
  if (!pool->stopped && pool->open < pool->places && (task = g_queue_pop_head (&pool->waiting)) != NULL)
    eh_cmgc_local_start (task);
  eh_cmgc_local_pool_unref (pool);
}

static void
eh_cmgc_local_free (EhCmgcLocal *local)
{
  if (local->conn != NULL) {
    g_io_stream_close (local->conn, NULL, NULL);
    g_clear_object (&local->conn);
    eh_cmgc_local_pool_release (local->pool);
  }
  g_free (local->url);
  g_byte_array_unref (local->head);
  g_clear_pointer (&local->request, g_bytes_unref);
  g_free (local->method);
  g_free (local);
}

void
eh_cmgc_answer_clear (EhCmgcAnswer *answer)
{
  g_clear_pointer (&answer->headers, soup_message_headers_unref);
  g_clear_object (&answer->body);
  g_clear_pointer (&answer->prefix, g_bytes_unref);
  if (answer->conn != NULL) {
    g_io_stream_close (answer->conn, NULL, NULL);
    g_clear_object (&answer->conn);
    eh_cmgc_local_pool_release (g_steal_pointer (&answer->pool));
  }
}

/* what we write on the request line (@value FALSE: printable ASCII, no
 * space) or as a header value (@value TRUE: also spaces, tabs and bytes of
 * 0x80 and up, as HTTP allows): never a line break or another control */
static gboolean
eh_cmgc_local_is_clean (const char *text, gboolean value)
{
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++) {
    if (*p == 0x7f || (*p < 0x20 && !(value && *p == '\t')) || (!value && (*p == ' ' || *p > 0x7f)))
      return FALSE;
  }
  return TRUE;
}

GBytes *
eh_cmgc_local_serialize (SoupMessage *msg, const char *authority, GBytes *body, GError **error)
{
  GUri *uri = soup_message_get_uri (msg);
  const char *query = g_uri_get_query (uri);
  g_autoptr (GString) head = g_string_sized_new (1024);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  gsize body_len = body != NULL ? g_bytes_get_size (body) : 0;

  if (!eh_cmgc_local_is_clean (g_uri_get_path (uri), FALSE) || (query != NULL && !eh_cmgc_local_is_clean (query, FALSE))) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the path cannot be sent as it is");
    return NULL;
  }
  g_string_append_printf (head, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n", soup_message_get_method (msg),
                          g_uri_get_path (uri), query != NULL ? "?" : "", query != NULL ? query : "", authority);
  soup_message_headers_iter_init (&iter, soup_message_get_request_headers (msg));
  while (soup_message_headers_iter_next (&iter, &name, &value)) {
    /* the framing is ours */
    if (g_ascii_strcasecmp (name, "Content-Length") == 0 || g_ascii_strcasecmp (name, "Transfer-Encoding") == 0 ||
        g_ascii_strcasecmp (name, "Connection") == 0 || g_ascii_strcasecmp (name, "Host") == 0)
      continue;
    if (!eh_cmgc_local_is_clean (name, FALSE) || !eh_cmgc_local_is_clean (value, TRUE)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "header %s cannot be sent as it is", name);
      return NULL;
    }
    g_string_append_printf (head, "%s: %s\r\n", name, value);
  }
  if (body_len > 0 || strcmp (soup_message_get_method (msg), "POST") == 0)
    g_string_append_printf (head, "Content-Length: %" G_GSIZE_FORMAT "\r\n", body_len);
  g_string_append (head, "Connection: close\r\n\r\n");
  if (body_len > 0)
    g_string_append_len (head, g_bytes_get_data (body, NULL), body_len);
  return g_string_free_to_bytes (g_steal_pointer (&head));
}

static void eh_cmgc_local_read_head (GTask *task);

/* a Content-Length we frame a body by: digits only, one value, at most 18 of them */
static gboolean
eh_cmgc_local_length (const char *text, gint64 *length)
{
  gsize n = strlen (text);

  if (n == 0 || n > 18 || strspn (text, "0123456789") != n)
    return FALSE;
  *length = g_ascii_strtoll (text, NULL, 10);
  return TRUE;
}

gssize
eh_cmgc_local_parse_head (const char *method, const guint8 *data, gsize len, EhCmgcAnswer *answer,
                          GError **error)
{
  /* a head holds no NUL: one stops the search, and the head is refused as too long or cut short */
  const char *end = g_strstr_len ((const char *) data, len, "\r\n\r\n");
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *reason = NULL;
  const char *lengths;
  SoupHTTPVersion version;
  guint status = 0;
  gint64 length = -1;

  if (end == NULL) {
    if (len < EH_CMGC_LOCAL_MAX_HEAD)
      return 0;
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the answer's head is too long");
    return -1;
  }
  headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  if (!soup_headers_parse_response ((const char *) data, end + 2 - (const char *) data, headers, &version, &status,
                                    &reason) ||
      status < 200 || status > 599) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the answer's head is malformed");
    return -1;
  }
  lengths = soup_message_headers_get_list (headers, "Content-Length");
  if (strcmp (method, "HEAD") == 0 || status == SOUP_STATUS_NO_CONTENT || status == SOUP_STATUS_NOT_MODIFIED) {
    length = 0;
  } else if (soup_message_headers_get_one (headers, "Transfer-Encoding") != NULL) {
    /* the front frames every answer of the roles by its length */
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "an answer with a Transfer-Encoding is not relayed");
    return -1;
  } else if (lengths != NULL && !eh_cmgc_local_length (lengths, &length)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the answer's Content-Length is malformed");
    return -1;
  }
  answer->status = status;
  answer->headers = g_steal_pointer (&headers);
  answer->length = length; /* -1: up to the end of the connection */
  return end + 4 - (const char *) data;
}

static void
eh_cmgc_local_got_head (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EhCmgcLocal *local = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  EhCmgcAnswer *answer;
  gssize head_len;

  if (n < 0) {
    g_task_return_error (task, error);
    return;
  }
  g_byte_array_set_size (local->head, local->head->len - EH_CMGC_LOCAL_HEAD_READ + n);
  answer = g_new0 (EhCmgcAnswer, 1);
  head_len = eh_cmgc_local_parse_head (local->method, local->head->data, local->head->len, answer, &error);
  if (head_len > 0) {
    /* what came after the head is the body's beginning */
    if (local->head->len > (gsize) head_len)
      answer->prefix = g_bytes_new (local->head->data + head_len, local->head->len - head_len);
    answer->conn = g_steal_pointer (&local->conn);
    answer->pool = local->pool; /* the place goes with the connection */
    answer->body = g_object_ref (g_io_stream_get_input_stream (answer->conn));
    g_task_return_pointer (task, answer, g_free);
    return;
  }
  g_free (answer);
  if (head_len < 0)
    g_task_return_error (task, error);
  else if (n == 0)
    g_task_return_new_error (task, EH_ERROR, EH_ERROR_FAILED, "the connection closed before an answer");
  else
    eh_cmgc_local_read_head (g_steal_pointer (&task));
}

/* reads on into local->head (the socket is pollable: no thread) */
static void
eh_cmgc_local_read_head (GTask *task)
{
  EhCmgcLocal *local = g_task_get_task_data (task);
  gsize old = local->head->len;

  g_byte_array_set_size (local->head, old + EH_CMGC_LOCAL_HEAD_READ);
  g_input_stream_read_async (g_io_stream_get_input_stream (local->conn), local->head->data + old,
                             EH_CMGC_LOCAL_HEAD_READ, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                             eh_cmgc_local_got_head, task);
}

static void
eh_cmgc_local_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EhCmgcLocal *local = g_task_get_task_data (task);
  GError *error = NULL;

  g_clear_pointer (&local->request, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error)) {
    g_task_return_error (task, error);
    return;
  }
  eh_cmgc_local_read_head (g_steal_pointer (&task));
}

/* a place is free: connect and send */
static void
eh_cmgc_local_start (GTask *task)
{
  EhCmgcLocal *local = g_task_get_task_data (task);
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task)) {
    g_object_unref (task);
    return;
  }
  local->conn = eh_plugin_connect_internal (local->pool->plugin, local->url, &error);
  if (local->conn == NULL) {
    g_task_return_error (task, error);
    g_object_unref (task);
    return;
  }
  local->pool->open++;
  eh_cmgc_local_pool_ref (local->pool);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (local->conn),
                                   g_bytes_get_data (local->request, NULL), g_bytes_get_size (local->request),
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task), eh_cmgc_local_written, task);
}

void
eh_cmgc_local_send_async (EhCmgc *cmgc, const char *https_url, SoupMessage *msg, GBytes *body,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  EhCmgcLocal *local = g_new0 (EhCmgcLocal, 1);
  GError *error = NULL;

  g_task_set_task_data (task, local, (GDestroyNotify) eh_cmgc_local_free);
  local->pool = cmgc->local;
  local->url = g_strdup (https_url);
  local->head = g_byte_array_new ();
  local->method = g_strdup (soup_message_get_method (msg));
  local->request = eh_cmgc_local_serialize (msg, https_url + strlen ("https://"), body, &error);
  if (local->request == NULL) {
    g_task_return_error (task, error);
    return;
  }
  if (local->pool->open >= local->pool->places) {
    g_queue_push_tail (&local->pool->waiting, g_steal_pointer (&task));
    return;
  }
  eh_cmgc_local_start (g_steal_pointer (&task));
}

EhCmgcAnswer *
eh_cmgc_local_send_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
