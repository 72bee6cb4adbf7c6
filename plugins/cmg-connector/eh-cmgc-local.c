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

#define EH_CMGC_LOCAL_MAX_HEAD (64 * 1024)
#define EH_CMGC_LOCAL_HEAD_READ 16384

struct _EhCmgcLocal {
  GIOStream *conn;
  GByteArray *head; /* the answer as read so far */
  GBytes *request;  /* the serialized request, while it is written */
  char *method;
};

static void
eh_cmgc_local_free (EhCmgcLocal *local)
{
  g_clear_object (&local->conn);
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
  }
}

/* what may go on a request line or in a header value we write ourselves:
 * printable ASCII (and tabs in values), never a line break */
static gboolean
eh_cmgc_local_is_clean (const char *text, gboolean spaces)
{
  for (const char *p = text; *p != '\0'; p++) {
    if ((guchar) *p > 0x7e || ((guchar) *p < 0x20 && !(spaces && *p == '\t')) || (!spaces && *p == ' '))
      return FALSE;
  }
  return TRUE;
}

/* the request as the front reads it; NULL when something in it cannot be written safely */
static GBytes *
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

static void
eh_cmgc_local_refuse (GTask *task, EhCmgcAnswer *answer, const char *why)
{
  eh_cmgc_answer_clear (answer);
  g_free (answer);
  g_task_return_new_error (task, EH_ERROR, EH_ERROR_FAILED, "%s", why);
}

/* the answer's head is local->head's first @end bytes (the blank line excluded) */
static void
eh_cmgc_local_parse (GTask *task, gsize end, gsize head_len)
{
  EhCmgcLocal *local = g_task_get_task_data (task);
  EhCmgcAnswer *answer = g_new0 (EhCmgcAnswer, 1);
  SoupHTTPVersion version;
  g_autofree char *reason = NULL;
  const char *encoding;

  answer->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  if (!soup_headers_parse_response ((const char *) local->head->data, end, answer->headers, &version,
                                    &answer->status, &reason) ||
      answer->status < 200) {
    eh_cmgc_local_refuse (task, answer, "the answer's head is malformed");
    return;
  }
  encoding = soup_message_headers_get_one (answer->headers, "Transfer-Encoding");
  if (strcmp (local->method, "HEAD") == 0 || answer->status == SOUP_STATUS_NO_CONTENT ||
      answer->status == SOUP_STATUS_NOT_MODIFIED) {
    answer->length = 0;
  } else if (encoding != NULL) {
    /* the front frames every answer of the roles by its length */
    eh_cmgc_local_refuse (task, answer, "an answer with a Transfer-Encoding is not relayed");
    return;
  } else if (soup_message_headers_get_one (answer->headers, "Content-Length") != NULL) {
    answer->length = soup_message_headers_get_content_length (answer->headers);
  } else {
    answer->length = -1; /* up to the end of the connection */
  }
  /* what came after the head is the body's beginning */
  if (local->head->len > head_len)
    answer->prefix = g_bytes_new (local->head->data + head_len, local->head->len - head_len);
  answer->conn = g_steal_pointer (&local->conn);
  answer->body = g_object_ref (g_io_stream_get_input_stream (answer->conn));
  g_task_return_pointer (task, answer, g_free);
}

static void
eh_cmgc_local_got_head (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EhCmgcLocal *local = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  gsize old, from;
  const char *end;

  if (n < 0) {
    g_byte_array_set_size (local->head, 0);
    g_task_return_error (task, error);
    return;
  }
  old = local->head->len - EH_CMGC_LOCAL_HEAD_READ;
  g_byte_array_set_size (local->head, old + n);
  /* the blank line may straddle two reads; a head holds no NUL (one stops the search: refused) */
  from = old >= 3 ? old - 3 : 0;
  end = g_strstr_len ((const char *) local->head->data + from, local->head->len - from, "\r\n\r\n");
  if (end != NULL) {
    eh_cmgc_local_parse (task, end + 2 - (const char *) local->head->data, end + 4 - (const char *) local->head->data);
    return;
  }
  if (n == 0 || local->head->len >= EH_CMGC_LOCAL_MAX_HEAD) {
    g_task_return_new_error (task, EH_ERROR, EH_ERROR_FAILED,
                             n == 0 ? "the connection closed before an answer" : "the answer's head is too long");
    return;
  }
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

void
eh_cmgc_local_send_async (EhCmgc *cmgc, const char *https_url, SoupMessage *msg, GBytes *body,
                          GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  EhCmgcLocal *local = g_new0 (EhCmgcLocal, 1);
  GError *error = NULL;

  g_task_set_task_data (task, local, (GDestroyNotify) eh_cmgc_local_free);
  local->head = g_byte_array_new ();
  local->method = g_strdup (soup_message_get_method (msg));
  local->request = eh_cmgc_local_serialize (msg, https_url + strlen ("https://"), body, &error);
  if (local->request != NULL)
    local->conn = eh_plugin_connect_internal (cmgc->plugin, https_url, &error);
  if (local->conn == NULL) {
    g_task_return_error (task, error);
    return;
  }
  g_output_stream_write_all_async (g_io_stream_get_output_stream (local->conn),
                                   g_bytes_get_data (local->request, NULL), g_bytes_get_size (local->request),
                                   G_PRIORITY_DEFAULT, cancellable, eh_cmgc_local_written, g_steal_pointer (&task));
}

EhCmgcAnswer *
eh_cmgc_local_send_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
