/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "eh-quick-private.h"

void
eh_quick_scratch_init (EhQuickScratch *scratch)
{
  scratch->head = g_string_sized_new (1024);
  scratch->fields = g_array_sized_new (FALSE, FALSE, sizeof (EhQuickField), 16);
  scratch->headers = g_string_sized_new (256);
}

void
eh_quick_scratch_clear (EhQuickScratch *scratch)
{
  g_string_free (scratch->head, TRUE);
  g_array_unref (scratch->fields);
  g_string_free (scratch->headers, TRUE);
}

/* the method, when it is one a quick answer may serve */
static const char *
eh_quick_method (const guint8 *head, gsize len)
{
  if (len > 4 && memcmp (head, "GET ", 4) == 0)
    return "GET";
  if (len > 5 && memcmp (head, "HEAD ", 5) == 0)
    return "HEAD";
  if (len > 5 && memcmp (head, "POST ", 5) == 0)
    return "POST";
  return NULL;
}

/* cuts the copied head into the request line's pieces and the fields;
 * EhFraming checked the shape (one SP between the three parts, every line
 * CRLF-terminated, "name:value" fields without folding), and anything else
 * is declined (NULL) rather than trusted */
static char *
eh_quick_split (EhQuickScratch *scratch, char **version)
{
  char *line = scratch->head->str;
  char *end = strstr (line, "\r\n");
  char *target = strchr (line, ' ');

  if (end == NULL || target == NULL || target > end || (*version = strchr (target + 1, ' ')) == NULL ||
      *version > end)
    return NULL;
  *end = '\0';
  *(*version)++ = '\0';
  g_array_set_size (scratch->fields, 0);
  for (line = end + 2; line[0] != '\r'; line = end + 2) {
    EhQuickField field;
    char *colon = strchr (line, ':');
    char *value, *tail;

    end = strstr (line, "\r\n");
    if (end == NULL || colon == NULL || colon > end)
      return NULL;
    *colon = '\0';
    for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
      ;
    for (tail = end; tail > value && (tail[-1] == ' ' || tail[-1] == '\t'); tail--)
      ;
    *tail = '\0';
    field.name = line;
    field.value = value;
    g_array_append_val (scratch->fields, field);
  }
  return target + 1;
}

/* the field's value (the last when repeated), or NULL */
static const char *
eh_quick_field (EhQuickScratch *scratch, const char *name)
{
  for (guint i = scratch->fields->len; i > 0; i--) {
    const EhQuickField *field = &g_array_index (scratch->fields, EhQuickField, i - 1);

    if (g_ascii_strcasecmp (field->name, name) == 0)
      return field->value;
  }
  return NULL;
}

/* the request's URI exactly as libsoup builds it from target and Host;
 * NULL where libsoup would answer 400. libsoup reads every connection
 * through EhConn, never a GTlsConnection, so to it each one is plain HTTP:
 * an origin-form target gets "http://", and an absolute "https://" one is
 * refused, on every listener */
static GUri *
eh_quick_uri (const char *target, const char *host)
{
  g_autofree char *url = NULL;
  GUri *uri;

  if (target[0] == '/') {
    if (host == NULL || strchr (host, '/') != NULL)
      return NULL;
    url = g_strconcat ("http://", host, target, NULL);
    uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  } else {
    if (host != NULL && strchr (host, '/') != NULL)
      return NULL;
    uri = g_uri_parse (target, SOUP_HTTP_URI_FLAGS, NULL);
  }
  if (uri != NULL && (g_uri_get_host (uri) == NULL ||
                      g_strcmp0 (g_uri_get_scheme (uri), "http") != 0))
    g_clear_pointer (&uri, g_uri_unref);
  return uri;
}

/* the path handlers see: percent-decoded, never introducing ".." */
static char *
eh_quick_decoded_path (GUri *uri)
{
  char *path = g_uri_unescape_string (g_uri_get_path (uri), NULL);

  if (path != NULL && (strstr (path, "/../") != NULL || g_str_has_suffix (path, "/.."))) {
    g_free (path);
    return NULL;
  }
  return path;
}

/* a POST's body length; EhFraming refused a duplicate or non-numeric
 * Content-Length and one over the endpoint's cap */
static gboolean
eh_quick_body_length (const char *length, guint64 *body_len)
{
  return length != NULL && g_ascii_string_to_unsigned (length, 10, 0, G_MAXSIZE / 2, body_len, NULL);
}

gboolean
eh_quick_request_parse (EhQuickRequest *request, EhQuickScratch *scratch, const guint8 *head,
                        gsize len, gsize available, gboolean https)
{
  const char *method = eh_quick_method (head, len);
  const char *length;
  char *target, *version;
  guint64 body_len = 0;

  memset (request, 0, sizeof *request);
  if (method == NULL)
    return FALSE;
  g_string_truncate (scratch->head, 0);
  g_string_append_len (scratch->head, (const char *) head, len);
  target = eh_quick_split (scratch, &version);
  if (target == NULL)
    return FALSE;
  length = eh_quick_field (scratch, "Content-Length");
  /* a chunked body, a body on a GET, a continue to negotiate, a protocol
   * switch: libsoup's business */
  if (eh_quick_field (scratch, "Transfer-Encoding") || eh_quick_field (scratch, "Expect") ||
      eh_quick_field (scratch, "Upgrade"))
    return FALSE;
  if (method[0] == 'P' ? !eh_quick_body_length (length, &body_len)
                       : length != NULL && strcmp (length, "0") != 0)
    return FALSE;
  request->scratch = scratch;
  request->method = method;
  request->head_only = method[0] == 'H';
  request->http10 = strcmp (version, "HTTP/1.0") == 0;
  request->https = https;
  /* an HTTP/1.0 request without Host is given the listener's address by libsoup */
  request->uri = eh_quick_uri (target, eh_quick_field (scratch, "Host"));
  if (request->uri == NULL || (request->path = eh_quick_decoded_path (request->uri)) == NULL) {
    eh_quick_request_clear (request);
    return FALSE;
  }
  /* a body not all there yet: the caller may wait for it */
  if (method[0] == 'P' && body_len <= available - len)
    request->request_body = g_bytes_new (head + len, body_len);
  request->consumed = len + body_len;
  g_string_truncate (scratch->headers, 0);
  return TRUE;
}

void
eh_quick_request_clear (EhQuickRequest *request)
{
  g_clear_pointer (&request->uri, g_uri_unref);
  g_clear_pointer (&request->path, g_free);
  g_clear_pointer (&request->id, g_free);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_clear_pointer (&request->content_type, g_free);
  g_clear_pointer (&request->request_body, g_bytes_unref);
}

/* @to gets a copy of @from, its fields pointing into its own head */
static void
eh_quick_scratch_copy (EhQuickScratch *to, const EhQuickScratch *from)
{
  eh_quick_scratch_init (to);
  g_string_append_len (to->head, from->head->str, from->head->len);
  g_string_append_len (to->headers, from->headers->str, from->headers->len);
  for (guint i = 0; i < from->fields->len; i++) {
    const EhQuickField *field = &g_array_index (from->fields, EhQuickField, i);
    EhQuickField copy = { to->head->str + (field->name - from->head->str),
                          to->head->str + (field->value - from->head->str) };

    g_array_append_val (to->fields, copy);
  }
}

EhQuickRequest *
eh_quick_request_hold (EhQuickRequest *request)
{
  EhQuickRequest *held;

  g_return_val_if_fail (request->ref_count == 0 && request->held == NULL && !request->answered, NULL);
  held = g_new (EhQuickRequest, 1);
  *held = *request;
  held->ref_count = 1;
  eh_quick_scratch_copy (&held->own_scratch, request->scratch);
  held->scratch = &held->own_scratch;
  held->uri = g_uri_ref (request->uri);
  held->path = g_strdup (request->path);
  held->id = g_strdup (request->id);
  held->request_body = request->request_body != NULL ? g_bytes_ref (request->request_body) : NULL;
  request->held = held;
  return held;
}

void
eh_quick_request_await (EhQuickRequest *held, EhQuickDeliver deliver, gpointer data,
                        GDestroyNotify destroy)
{
  held->deliver_data = data;
  held->deliver_destroy = destroy;
  if (held->answered)
    deliver (held, data);
  else
    held->deliver = deliver;
}

void
eh_quick_request_unref (EhQuickRequest *request)
{
  g_return_if_fail (request->ref_count > 0);
  if (--request->ref_count > 0)
    return;
  /* the connection waits for it: a request let go unanswered still gets an answer */
  if (!request->answered && request->deliver != NULL) {
    g_warning ("a held request for %s was let go of without an answer", request->path);
    eh_quick_request_answer_text (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal error");
  }
  eh_quick_request_clear (request);
  eh_quick_scratch_clear (&request->own_scratch);
  if (request->deliver_destroy != NULL)
    request->deliver_destroy (request->deliver_data);
  g_free (request);
}

gboolean
eh_quick_request_header_lists (EhQuickRequest *request, const char *name, const char *token)
{
  for (guint i = 0; i < request->scratch->fields->len; i++) {
    const EhQuickField *field = &g_array_index (request->scratch->fields, EhQuickField, i);
    g_auto (GStrv) items = NULL;

    if (g_ascii_strcasecmp (field->name, name) != 0)
      continue;
    items = g_strsplit (field->value, ",", -1);
    for (guint j = 0; items[j] != NULL; j++) {
      if (g_ascii_strcasecmp (g_strstrip (items[j]), token) == 0)
        return TRUE;
    }
  }
  return FALSE;
}

/* "Tue, 01 Dec 2026 03:31:29 GMT", made once a second */
static const char *
eh_quick_date (void)
{
  static char text[64];
  static gint64 made = -1;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (now != made) {
    g_autoptr (GDateTime) date = g_date_time_new_from_unix_utc (now);
    g_autofree char *formatted = soup_date_time_to_string (date, SOUP_DATE_HTTP);

    g_strlcpy (text, formatted, sizeof text);
    made = now;
  }
  return text;
}

static void
eh_quick_append (GByteArray *out, const char *text)
{
  g_byte_array_append (out, (const guint8 *) text, strlen (text));
}

gsize
eh_quick_request_write (EhQuickRequest *request, gboolean close, GByteArray *out)
{
  gsize length = request->body != NULL ? g_bytes_get_size (request->body) : 0;
  gboolean bodiless = request->status == SOUP_STATUS_NOT_MODIFIED ||
                      request->status == SOUP_STATUS_NO_CONTENT;
  char line[128];

  g_snprintf (line, sizeof line, "HTTP/1.%c %u %s\r\nServer: ehttpd\r\nDate: ", request->http10 ? '0' : '1',
              request->status, soup_status_get_phrase (request->status));
  eh_quick_append (out, line);
  eh_quick_append (out, eh_quick_date ());
  eh_quick_append (out, "\r\n");
  if (close)
    eh_quick_append (out, "Connection: close\r\n");
  g_byte_array_append (out, (const guint8 *) request->scratch->headers->str,
                       request->scratch->headers->len);
  if (request->content_type != NULL) {
    eh_quick_append (out, "Content-Type: ");
    eh_quick_append (out, request->content_type);
    eh_quick_append (out, "\r\n");
  }
  /* as libsoup: a 304 says "Content-Length: 0", a 204 says nothing */
  if (request->status != SOUP_STATUS_NO_CONTENT) {
    g_snprintf (line, sizeof line, "Content-Length: %" G_GSIZE_FORMAT "\r\n", length);
    eh_quick_append (out, line);
  }
  eh_quick_append (out, "\r\n");
  if (request->head_only || bodiless || length == 0)
    return 0;
  g_byte_array_append (out, g_bytes_get_data (request->body, NULL), length);
  return length;
}

/* ── the handlers' view ─────────────────────────────────────────────── */

const char *
eh_quick_request_get_method (EhQuickRequest *request)
{
  return request->method;
}

gboolean
eh_quick_request_is_head (EhQuickRequest *request)
{
  return request->head_only;
}

const char *
eh_quick_request_get_path (EhQuickRequest *request)
{
  return request->path;
}

const char *
eh_quick_request_get_subpath (EhQuickRequest *request)
{
  return request->path + request->prefix_len;
}

const char *
eh_quick_request_get_query (EhQuickRequest *request)
{
  return g_uri_get_query (request->uri);
}

GBytes *
eh_quick_request_get_body (EhQuickRequest *request)
{
  return request->request_body;
}

const char *
eh_quick_request_get_header (EhQuickRequest *request, const char *name)
{
  return eh_quick_field (request->scratch, name);
}

const char *
eh_quick_request_get_range (EhQuickRequest *request)
{
  return eh_quick_field (request->scratch, "Range");
}

gboolean
eh_quick_request_is_https (EhQuickRequest *request)
{
  return request->https;
}

GTlsCertificate *
eh_quick_request_get_peer_certificate (EhQuickRequest *request)
{
  return request->peer_certificate;
}

const char *
eh_quick_request_get_peer_address (EhQuickRequest *request)
{
  return request->peer;
}

const char *
eh_quick_request_get_id (EhQuickRequest *request)
{
  /* made when first asked for: a request declined without one leaves no gap */
  if (request->id == NULL)
    request->id = request->make_id (request->make_id_data);
  return request->id;
}

void
eh_quick_request_add_header (EhQuickRequest *request, const char *name, const char *value)
{
  g_return_if_fail (!request->answered);
  /* no CR or LF may reach the wire from a handler */
  g_return_if_fail (strpbrk (name, "\r\n:") == NULL && strpbrk (value, "\r\n") == NULL);
  g_string_append_printf (request->scratch->headers, "%s: %s\r\n", name, value);
}

void
eh_quick_request_answer (EhQuickRequest *request, guint status, const char *content_type,
                         GBytes *body)
{
  g_return_if_fail (!request->answered);
  request->answered = TRUE;
  request->status = status;
  request->content_type = g_strdup (content_type);
  request->body = body != NULL ? g_bytes_ref (body) : NULL;
  if (request->deliver != NULL) {
    EhQuickDeliver deliver = g_steal_pointer (&request->deliver);

    deliver (request, request->deliver_data);
  }
}

void
eh_quick_request_answer_text (EhQuickRequest *request, guint status, const char *text)
{
  char *body = g_strdup_printf ("%s\n", text);
  g_autoptr (GBytes) bytes = g_bytes_new_take (body, strlen (body));

  eh_quick_request_answer (request, status, "text/plain; charset=utf-8", bytes);
}
