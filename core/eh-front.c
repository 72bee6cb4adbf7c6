/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eh-conn-private.h"
#include "eh-error.h"
#include "eh-front-private.h"
#include "eh-quick-private.h"

#define EH_FRONT_CONN_INFO "eh-front-conn-info"
#define EH_FRONT_REQUEST "eh-front-request"
/* after an accept error (out of file descriptors) the listener rests this long */
#define EH_FRONT_ACCEPT_RETRY_MS 100

typedef struct {
  EhPlugin *owner;
  EhEndpoint endpoint;
  char *path_prefix;
  char *method;
  gpointer user_data;
  EhQuickHandler quick; /* (nullable) */
  gpointer quick_data;
} EhRoute;

typedef struct {
  EhFront *front;
  GSocket *socket;
  GSource *watch; /* readiness of the socket, while accepting */
  GSource *retry; /* after an accept error, until the listener tries again */
  gboolean https;
  char *url;
  gboolean active;
  gboolean failing; /* the last accept failed: warn once per episode */
} EhListener;

/* what the front knows of one connection; libsoup hands its remote address
 * back with every message. Held by that address, by the connection until it
 * closes, and by each request */
typedef struct {
  gint ref_count;
  EhFront *front;
  EhListener *listener;
  char *peer;
  EhConn *conn;               /* (unowned) NULL once closed */
  GTlsCertificate *peer_certificate; /* the TLS client's leaf, when it sent one */
  SoupServerMessage *latest;  /* the connection's newest message, to detach it by */
} EhConnInfo;

struct _EhRequest {
  SoupServerMessage *msg; /* (unowned) the request is data of the message */
  EhConnInfo *info;
  const EhRoute *route;
  char *path;
  char *range;
  char *id;
  gint64 started;
  guint64 bytes_out;
  gboolean dispatched;
};

struct _EhFront {
  EhFrontLimits limits;
  EhTls *tls;
  SoupServer *server;
  GSocket *keepalive_socket; /* see eh_front_enable_keepalive() */
  int keepalive_peer_fd;
  GPtrArray *listeners;
  GPtrArray *routes;
  GHashTable *per_address; /* peer → count */
  GHashTable *conns;       /* EhConn set */
  guint n_connections;
  guint64 next_request_id;
  gboolean shutting_down;
  EhQuickScratch quick; /* reused by every quick answer */
  guint64 answered;       /* requests answered (or aborted), both ways */
  guint64 answered_quickly;
};

void
eh_front_limits_init_defaults (EhFrontLimits *limits)
{
  limits->max_connections = 4096;
  limits->max_connections_per_address = 256;
  limits->header_timeout_ms = 10000;
  limits->idle_timeout_ms = 60000;
  limits->max_uri_bytes = EH_FRAMING_DEFAULT_MAX_URI_BYTES;
  limits->max_head_bytes = EH_FRAMING_DEFAULT_MAX_HEAD_BYTES;
  limits->max_header_count = EH_FRAMING_DEFAULT_MAX_HEADER_COUNT;
  limits->max_body_unrouted = 0;
  limits->backlog = 511;
  limits->access_log = TRUE;
  limits->quick_answers = TRUE;
}

/* ── routing ────────────────────────────────────────────────────────── */

static gboolean
eh_route_matches_path (const EhRoute *route, const char *path)
{
  gsize n = strlen (route->path_prefix);

  if (strncmp (path, route->path_prefix, n) != 0)
    return FALSE;
  return path[n] == '\0' || path[n] == '/' || route->path_prefix[n - 1] == '/';
}

static gboolean
eh_route_allows_method (const EhRoute *route, const char *method)
{
  if (route->method == NULL || g_strcmp0 (route->method, method) == 0)
    return TRUE;
  return g_strcmp0 (route->method, "GET") == 0 && g_strcmp0 (method, "HEAD") == 0;
}

/* the longest prefix on whole segments; a method match wins over a mismatch */
static const EhRoute *
eh_front_route (EhFront *front, const char *method, const char *path)
{
  const EhRoute *best = NULL;
  gsize best_len = 0;
  gboolean best_method_ok = FALSE;

  for (guint i = 0; i < front->routes->len; i++) {
    const EhRoute *route = g_ptr_array_index (front->routes, i);
    gsize len = strlen (route->path_prefix);
    gboolean method_ok = eh_route_allows_method (route, method);

    if (!eh_route_matches_path (route, path))
      continue;
    if (len > best_len || (len == best_len && method_ok && !best_method_ok)) {
      best = route;
      best_len = len;
      best_method_ok = method_ok;
    }
  }
  return best;
}

static guint64
eh_front_body_cap (const char *method, const char *path, gpointer user_data)
{
  EhFront *front = user_data;
  const EhRoute *route = eh_front_route (front, method, path);

  if (route == NULL || !eh_route_allows_method (route, method))
    return front->limits.max_body_unrouted;
  return route->endpoint.max_body;
}

static void
eh_route_free (EhRoute *route)
{
  g_free (route->path_prefix);
  g_free (route->method);
  g_free (route);
}

gboolean
eh_front_add_endpoint (EhFront *front, EhPlugin *owner, const EhEndpoint *endpoint,
                       gpointer user_data, GError **error)
{
  EhRoute *route;

  if (endpoint->path_prefix == NULL || endpoint->path_prefix[0] != '/' ||
      endpoint->handler == NULL || (endpoint->schemes & EH_SCHEME_BOTH) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "endpoint needs an absolute path prefix, a handler and a scheme");
    return FALSE;
  }
  for (guint i = 0; i < front->routes->len; i++) {
    const EhRoute *other = g_ptr_array_index (front->routes, i);

    if (g_strcmp0 (other->path_prefix, endpoint->path_prefix) == 0 &&
        g_strcmp0 (other->method, endpoint->method) == 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_EXISTS, "endpoint %s %s is already served by %s",
                   endpoint->method != NULL ? endpoint->method : "*", endpoint->path_prefix,
                   eh_plugin_get_name (other->owner));
      return FALSE;
    }
  }
  route = g_new0 (EhRoute, 1);
  route->owner = owner;
  route->endpoint = *endpoint;
  route->path_prefix = g_strdup (endpoint->path_prefix);
  route->method = g_strdup (endpoint->method);
  route->endpoint.path_prefix = route->path_prefix;
  route->endpoint.method = route->method;
  route->user_data = user_data;
  g_ptr_array_add (front->routes, route);
  return TRUE;
}

gboolean
eh_front_add_quick_handler (EhFront *front, EhPlugin *owner, const char *method,
                            const char *path_prefix, EhQuickHandler handler, gpointer user_data,
                            GError **error)
{
  for (guint i = 0; i < front->routes->len; i++) {
    EhRoute *route = g_ptr_array_index (front->routes, i);

    if (route->owner == owner && g_strcmp0 (route->path_prefix, path_prefix) == 0 &&
        g_strcmp0 (route->method, method) == 0) {
      route->quick = handler;
      route->quick_data = user_data;
      return TRUE;
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no endpoint %s %s to answer quickly",
               method != NULL ? method : "*", path_prefix);
  return FALSE;
}

void
eh_front_remove_endpoints (EhFront *front, EhPlugin *owner)
{
  for (guint i = front->routes->len; i > 0; i--) {
    const EhRoute *route = g_ptr_array_index (front->routes, i - 1);

    if (route->owner == owner)
      g_ptr_array_remove_index (front->routes, i - 1);
  }
}

/* ── requests ───────────────────────────────────────────────────────── */

SoupServerMessage *
eh_request_get_message (EhRequest *request)
{
  return request->msg;
}

const char *
eh_request_get_path (EhRequest *request)
{
  return request->path;
}

const char *
eh_request_get_subpath (EhRequest *request)
{
  if (request->route == NULL)
    return request->path;
  return request->path + strlen (request->route->path_prefix);
}

gboolean
eh_request_is_https (EhRequest *request)
{
  return request->info->listener->https;
}

const char *
eh_request_get_range (EhRequest *request)
{
  return request->range;
}

GTlsCertificate *
eh_request_get_peer_certificate (EhRequest *request)
{
  return request->info->peer_certificate;
}

const char *
eh_request_get_peer_address (EhRequest *request)
{
  return request->info->peer;
}

const char *
eh_request_get_id (EhRequest *request)
{
  return request->id;
}

void
eh_request_respond_text (EhRequest *request, guint status, const char *text)
{
  g_autofree char *body = g_strdup_printf ("%s\n", text);

  soup_server_message_set_status (request->msg, status, NULL);
  soup_server_message_set_response (request->msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
                                    body, strlen (body));
}

static EhConnInfo *
eh_conn_info_ref (EhConnInfo *info)
{
  info->ref_count++;
  return info;
}

static void
eh_conn_info_unref (EhConnInfo *info)
{
  if (--info->ref_count > 0)
    return;
  g_clear_object (&info->latest);
  g_clear_object (&info->peer_certificate);
  g_free (info->peer);
  g_free (info);
}

static void
eh_request_free (EhRequest *request)
{
  if (request->info != NULL)
    eh_conn_info_unref (request->info);
  g_free (request->path);
  g_free (request->range);
  g_free (request->id);
  g_free (request);
}

static EhConnInfo *
eh_front_conn_info (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL ? g_object_get_data (G_OBJECT (remote), EH_FRONT_CONN_INFO) : NULL;
}

static void
eh_front_wrote_body_data (SoupServerMessage *msg, guint chunk_size, EhRequest *request)
{
  request->bytes_out += chunk_size;
}

static char *
eh_front_next_request_id (gpointer data)
{
  EhFront *front = data;

  return g_strdup_printf ("%08" G_GINT64_MODIFIER "x", ++front->next_request_id);
}

static void
eh_front_request_started (SoupServer *server, SoupServerMessage *msg, EhFront *front)
{
  EhRequest *request = g_new0 (EhRequest, 1);

  request->msg = msg;
  request->info = eh_front_conn_info (msg);
  request->started = g_get_monotonic_time ();
  if (request->info != NULL) {
    eh_conn_info_ref (request->info);
    if (request->info->conn != NULL)
      g_set_object (&request->info->latest, msg);
  }
  /* the id is given when the request is read (eh_front_dispatch): libsoup
   * starts a message for the next request long before one comes, or never */
  g_object_set_data_full (G_OBJECT (msg), EH_FRONT_REQUEST, request,
                          (GDestroyNotify) eh_request_free);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (eh_front_wrote_body_data), request);
}

static void eh_front_log_access (EhFront *front, SoupServerMessage *msg, EhRequest *request);

/* a request is over: log it, and at shutdown let its connection go */
static void
eh_front_request_done (SoupServer *server, SoupServerMessage *msg, EhFront *front)
{
  EhRequest *request = g_object_get_data (G_OBJECT (msg), EH_FRONT_REQUEST);

  if (request == NULL)
    return;
  if (soup_server_message_get_method (msg) != NULL)
    front->answered++;
  eh_front_log_access (front, msg, request);
  if (request->info != NULL && request->info->conn != NULL)
    eh_conn_soup_request_finished (request->info->conn);
  if (request->dispatched && request->info->conn != NULL) {
    request->dispatched = FALSE;
    eh_conn_request_ended (request->info->conn);
    if (front->shutting_down && !eh_conn_is_busy (request->info->conn))
      eh_conn_abort (request->info->conn);
  }
}

/* the correlation id a relay (the cmg-connector) attached, when it is one: 8–64 of [A-Za-z0-9-] */
static const char *
eh_front_correlation_id (const char *id)
{
  gsize len = id != NULL ? strlen (id) : 0;

  if (len < 8 || len > 64)
    return NULL;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (id[i]) && id[i] != '-')
      return NULL;
  }
  return id;
}

/* one access log line; @correlation_header is the request's, unchecked */
static void
eh_front_log_line (const char *id, const char *method, const char *path, guint status_code,
                   guint64 bytes_out, gint64 started, const char *peer,
                   const char *correlation_header)
{
  char status[16], bytes[32], ms[32];
  const char *correlation = eh_front_correlation_id (correlation_header);

  g_snprintf (status, sizeof status, "%u", status_code);
  g_snprintf (bytes, sizeof bytes, "%" G_GUINT64_FORMAT, bytes_out);
  g_snprintf (ms, sizeof ms, "%.3f", (g_get_monotonic_time () - started) / 1000.0);
  /* only the path: query strings and headers may carry tokens */
  g_log_structured ("ehttpd-access", G_LOG_LEVEL_MESSAGE,
                    "EH_REQUEST_ID", id,
                    "EH_METHOD", method,
                    "EH_PATH", path,
                    "EH_STATUS", status,
                    "EH_BYTES", bytes,
                    "EH_DURATION_MS", ms,
                    "EH_PEER", peer,
                    "EH_CORRELATION_ID", correlation != NULL ? correlation : "",
                    "MESSAGE", "%s %s %s %s %s %sms %s%s%s", id, method, path, status, bytes, ms,
                    peer, correlation != NULL ? " correlation " : "",
                    correlation != NULL ? correlation : "");
}

static void
eh_front_log_access (EhFront *front, SoupServerMessage *msg, EhRequest *request)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const char *method = soup_server_message_get_method (msg);

  if (!front->limits.access_log || method == NULL)
    return;
  if (request->id == NULL)
    request->id = eh_front_next_request_id (front);
  eh_front_log_line (request->id, method, uri != NULL ? g_uri_get_path (uri) : "",
                     soup_server_message_get_status (msg), request->bytes_out, request->started,
                     request->info != NULL ? request->info->peer : "",
                     soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   EH_CORRELATION_HEADER));
}

static char *
eh_front_https_url (EhFront *front, const char *path)
{
  for (guint i = 0; i < front->listeners->len; i++) {
    const EhListener *listener = g_ptr_array_index (front->listeners, i);

    if (listener->https)
      return g_strconcat (listener->url, path, NULL);
  }
  return NULL;
}

/* the checks every request passes before plugin code; FALSE when answered */
static gboolean
eh_front_admit (EhFront *front, EhRequest *request, const char *method)
{
  const EhRoute *route = request->route;
  g_autofree char *text = NULL;

  if (route == NULL) {
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "not found");
    return FALSE;
  }
  if (!eh_route_allows_method (route, method)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (request->msg), "Allow",
                                  route->method);
    eh_request_respond_text (request, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
    return FALSE;
  }
  if (request->info->listener->https ? !(route->endpoint.schemes & EH_SCHEME_HTTPS)
                                     : !(route->endpoint.schemes & EH_SCHEME_HTTP)) {
    g_autofree char *url = eh_front_https_url (front, request->path);

    text = url != NULL && !request->info->listener->https
               ? g_strdup_printf ("this endpoint is only served over HTTPS: %s", url)
               : g_strdup ("this endpoint is not served on this listener");
    eh_request_respond_text (request, SOUP_STATUS_FORBIDDEN, text);
    return FALSE;
  }
  /* endpoints of the core itself (owner NULL) are always served */
  if (route->owner != NULL && eh_plugin_get_state (route->owner) != EH_PLUGIN_STATE_RUNNING) {
    text = g_strdup_printf ("the %s role is %s on this host", eh_plugin_get_name (route->owner),
                            eh_plugin_state_to_string (eh_plugin_get_state (route->owner)));
    eh_request_respond_text (request, SOUP_STATUS_SERVICE_UNAVAILABLE, text);
    return FALSE;
  }
  return TRUE;
}

static void
eh_front_dispatch (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                   gpointer user_data)
{
  EhFront *front = user_data;
  EhRequest *request = g_object_get_data (G_OBJECT (msg), EH_FRONT_REQUEST);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);

  if (request == NULL || request->info == NULL) {
    soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
    return;
  }
  /* libsoup must never see Range: it would expand it without bound */
  request->range = g_strdup (soup_message_headers_get_one (headers, "Range"));
  soup_message_headers_remove (headers, "Range");
  request->path = g_strdup (path);
  request->id = eh_front_next_request_id (front);
  request->route = eh_front_route (front, method, path);
  request->dispatched = request->info->conn != NULL;
  if (request->dispatched)
    eh_conn_request_began (request->info->conn);
  /* say so when the connection ends after this answer: libsoup closes it
   * without telling the client, which then writes into a closed connection */
  if (front->shutting_down || soup_message_headers_header_contains (headers, "Connection", "close"))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                  "close");
  if (!eh_front_admit (front, request, method))
    return;
  request->route->endpoint.handler (request, request->route->user_data);
}

GIOStream *
eh_front_upgrade (EhRequest *request, GIOStream **raw)
{
  EhConn *conn = request->info->conn;
  g_autoptr (GIOStream) stolen = NULL;

  *raw = NULL;
  if (conn == NULL)
    return NULL;
  if (request->dispatched) {
    request->dispatched = FALSE;
    eh_conn_request_ended (conn);
  }
  *raw = eh_conn_upgrade (conn);
  /* libsoup lets go of the connection (and may drop the message and this
   * request with it); closing what it hands back ends the connection */
  stolen = soup_server_message_steal_connection (request->msg);
  if (stolen == NULL) {
    g_clear_object (raw);
    eh_conn_abort (conn);
    return NULL;
  }
  return g_steal_pointer (&stolen);
}

/* ── quick answers ──────────────────────────────────────────────────── */

/* may @route answer @method quickly here? Whatever the ordinary path would
 * refuse (404, 405, 403, 503) it also answers */
static gboolean
eh_front_quick_admits (const EhRoute *route, const char *method, gboolean https)
{
  return route != NULL && route->quick != NULL && eh_route_allows_method (route, method) &&
         (route->endpoint.schemes & (https ? EH_SCHEME_HTTPS : EH_SCHEME_HTTP)) != 0 &&
         (route->owner == NULL || eh_plugin_get_state (route->owner) == EH_PLUGIN_STATE_RUNNING);
}

/* writes @request's answer to @out, counts and logs it; returns whether
 * the connection ends after it */
static gboolean
eh_front_quick_finish (EhFront *front, EhConnInfo *info, EhQuickRequest *request, GByteArray *out)
{
  /* as the ordinary path: say so when the connection ends; HTTP/1.0 always ends */
  gboolean closing = front->shutting_down || eh_quick_request_header_lists (request, "Connection", "close");
  gsize bytes = eh_quick_request_write (request, closing, out);

  front->answered++;
  front->answered_quickly++;
  if (front->limits.access_log)
    eh_front_log_line (eh_quick_request_get_id (request), request->method, request->path,
                       request->status, bytes, request->started, info->peer,
                       eh_quick_request_get_header (request, EH_CORRELATION_HEADER));
  return closing || request->http10;
}

/* a held request is answered: unless its connection ended meanwhile */
static void
eh_front_quick_deliver (EhQuickRequest *request, gpointer data)
{
  EhConnInfo *info = data;
  g_autoptr (GByteArray) out = NULL;
  gboolean close;

  if (info->conn == NULL) {
    g_debug ("the client of a held request left before its answer");
    return;
  }
  out = g_byte_array_new ();
  close = eh_front_quick_finish (info->front, info, request, out);
  eh_conn_answer_held (info->conn, out, close);
}

/* whether a route with a quick handler may match @head's request line,
 * from its raw bytes, before anything is copied or parsed: most requests to
 * routes without one are let through to libsoup here. %TRUE whenever it
 * cannot tell (an absolute or percent-encoded target); a %TRUE is checked
 * again by the parse and routing that follow */
static gboolean
eh_front_quick_may_match (EhFront *front, const guint8 *head, gsize len)
{
  const char *line = (const char *) head;
  const char *target = memchr (line, ' ', MIN (len, sizeof "HEAD"));
  const char *end;
  gsize target_len;

  if (target == NULL)
    return FALSE;
  target++;
  end = memchr (target, ' ', len - (target - line));
  if (end == NULL)
    return FALSE;
  target_len = end - target;
  if (target_len == 0 || target[0] != '/' || memchr (target, '%', target_len) != NULL)
    return TRUE;
  for (guint i = 0; i < front->routes->len; i++) {
    const EhRoute *route = g_ptr_array_index (front->routes, i);
    gsize n = strlen (route->path_prefix);

    if (route->quick == NULL || n > target_len || memcmp (target, route->path_prefix, n) != 0)
      continue;
    if (n == target_len || target[n] == '/' || target[n] == '?' || route->path_prefix[n - 1] == '/')
      return TRUE;
  }
  return FALSE;
}

/* the EhConnQuickFunc of every connection (when quick answers are on) */
static gsize
eh_front_answer_quickly (EhConn *conn, const guint8 *head, gsize len, gsize available,
                         GByteArray *out, gsize *wanted, gboolean *close, gpointer user_data)
{
  EhConnInfo *info = user_data;
  EhFront *front = info->front;
  EhQuickRequest request;
  const EhRoute *route;
  gsize consumed;

  if (!eh_front_quick_may_match (front, head, len) ||
      !eh_quick_request_parse (&request, &front->quick, head, len, available, info->listener->https))
    return 0;
  route = eh_front_route (front, request.method, request.path);
  if (!eh_front_quick_admits (route, request.method, request.https)) {
    eh_quick_request_clear (&request);
    return 0;
  }
  if (request.consumed > available) {
    *wanted = request.consumed;
    eh_quick_request_clear (&request);
    return 0;
  }
  request.started = g_get_monotonic_time ();
  request.prefix_len = strlen (route->path_prefix);
  request.peer = info->peer;
  request.peer_certificate = info->peer_certificate;
  request.make_id = eh_front_next_request_id;
  request.make_id_data = front;
  consumed = request.consumed;
  if (!route->quick (&request, route->quick_data)) {
    if (request.held != NULL)
      g_warning ("a quick handler for %s held a request it declined", route->path_prefix);
    eh_quick_request_clear (&request);
    return 0;
  }
  if (request.held != NULL) {
    eh_conn_hold (conn);
    eh_quick_request_await (request.held, eh_front_quick_deliver, eh_conn_info_ref (info),
                            (GDestroyNotify) eh_conn_info_unref);
    eh_quick_request_clear (&request);
    return consumed;
  }
  if (!request.answered) {
    g_warning ("a quick handler for %s accepted a request without answering it", route->path_prefix);
    eh_quick_request_answer_text (&request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal error");
  }
  *close = eh_front_quick_finish (front, info, &request, out);
  eh_quick_request_clear (&request);
  return consumed;
}

/* ── connections ────────────────────────────────────────────────────── */

static void eh_front_update_accepting (EhFront *front);

static void
eh_front_release_slot (EhFront *front, const char *peer)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (front->per_address, peer));

  if (count <= 1)
    g_hash_table_remove (front->per_address, peer);
  else
    g_hash_table_insert (front->per_address, g_strdup (peer), GUINT_TO_POINTER (count - 1));
  front->n_connections--;
  eh_front_update_accepting (front);
}

static void
eh_front_conn_closed (EhConn *conn, gpointer user_data)
{
  EhConnInfo *info = user_data;

  g_hash_table_remove (info->front->conns, conn);
  info->conn = NULL;
  /* the message holds the connection that holds this info: break the cycle */
  g_clear_object (&info->latest);
  eh_front_release_slot (info->front, info->peer);
  eh_conn_info_unref (info);
}

static gboolean
eh_front_detach (gpointer data)
{
  EhConnInfo *info = data;

  if (info->conn != NULL && info->latest != NULL) {
    g_autoptr (GIOStream) stream = soup_server_message_steal_connection (info->latest);

    if (stream != NULL)
      g_io_stream_close (stream, NULL, NULL);
  }
  if (info->conn != NULL)
    g_io_stream_close (G_IO_STREAM (info->conn), NULL, NULL);
  return G_SOURCE_REMOVE;
}

/* libsoup waits for a request that will never come; take the connection back */
static void
eh_front_conn_ended (EhConn *conn, gpointer user_data)
{
  EhConnInfo *info = user_data;

  g_idle_add_full (G_PRIORITY_DEFAULT, eh_front_detach, eh_conn_info_ref (info),
                   (GDestroyNotify) eh_conn_info_unref);
}

static void
eh_front_serve (EhFront *front, EhListener *listener, GSocketConnection *socket_conn,
                GIOStream *tls_stream, char *peer)
{
  EhFramingLimits framing_limits = { front->limits.max_uri_bytes, front->limits.max_head_bytes,
                                     front->limits.max_header_count };
  EhConnTimeouts timeouts = { front->limits.header_timeout_ms, front->limits.idle_timeout_ms };
  EhConnInfo *info = g_new0 (EhConnInfo, 1);
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (socket_conn, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (socket_conn, NULL);
  g_autoptr (EhConn) conn = NULL;
  g_autoptr (GError) error = NULL;

  info->ref_count = 1; /* the connection's, dropped when it closes */
  info->front = front;
  info->listener = listener;
  info->peer = peer;
  if (tls_stream != NULL && eh_tls_stream_get_peer_certificate (EH_TLS_STREAM (tls_stream)) != NULL)
    info->peer_certificate = g_object_ref (eh_tls_stream_get_peer_certificate (EH_TLS_STREAM (tls_stream)));
  conn = eh_conn_new (socket_conn, tls_stream,
                      eh_framing_new (&framing_limits, eh_front_body_cap, front), &timeouts,
                      eh_front_conn_ended, eh_front_conn_closed, info);
  info->conn = conn;
  if (front->limits.quick_answers)
    eh_conn_set_quick (conn, eh_front_answer_quickly);
  g_hash_table_insert (front->conns, conn, info);
  if (local == NULL || remote == NULL) {
    eh_conn_abort (conn);
    g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
    return;
  }
  /* libsoup keeps this very address object for the connection's life */
  g_object_set_data_full (G_OBJECT (remote), EH_FRONT_CONN_INFO, eh_conn_info_ref (info),
                          (GDestroyNotify) eh_conn_info_unref);
  if (!soup_server_accept_iostream (front->server, G_IO_STREAM (conn), local, remote, &error))
    g_warning ("could not hand a connection to the HTTP engine: %s", error->message);
}

typedef struct {
  EhFront *front;
  EhListener *listener;
  GSocketConnection *socket_conn;
  EhTlsStream *tls;
  GSource *hello; /* until the client's first bytes arrive */
  GSource *deadline;
  char *peer;
} EhHandshake;

static void
eh_handshake_free (EhHandshake *handshake)
{
  if (handshake->hello != NULL) {
    g_source_destroy (handshake->hello);
    g_source_unref (handshake->hello);
  }
  g_source_destroy (handshake->deadline);
  g_source_unref (handshake->deadline);
  g_object_unref (handshake->tls);
  g_object_unref (handshake->socket_conn);
  g_free (handshake->peer);
  g_free (handshake);
}

static void eh_front_handshake_done (EhTlsStream *tls, const GError *error, gpointer user_data);

static gboolean
eh_handshake_deadline (gpointer data)
{
  EhHandshake *handshake = data;
  g_autoptr (GError) error = NULL;

  if (handshake->hello == NULL) {
    eh_tls_stream_cancel_handshake (handshake->tls);
    return G_SOURCE_REMOVE;
  }
  /* the client never sent its hello: the handshake never started */
  error = g_error_new (EH_ERROR, EH_ERROR_TIMEOUT, "TLS handshake took too long");
  eh_front_handshake_done (handshake->tls, error, handshake);
  return G_SOURCE_REMOVE;
}

/* the handshake's crypto runs when the client's hello is there, in its own
 * dispatch: a burst of accepts never holds the main loop for their handshakes */
static gboolean
eh_handshake_hello (GSocket *socket, GIOCondition condition, gpointer data)
{
  EhHandshake *handshake = data;

  /* the handshake may end (and free @handshake) before it returns */
  g_clear_pointer (&handshake->hello, g_source_unref);
  eh_tls_stream_handshake (handshake->tls, eh_front_handshake_done, handshake);
  return G_SOURCE_REMOVE;
}

static void
eh_front_handshake_done (EhTlsStream *tls, const GError *error, gpointer user_data)
{
  EhHandshake *handshake = user_data;

  if (error != NULL) {
    g_debug ("TLS handshake with %s failed: %s", handshake->peer, error->message);
    g_io_stream_close (G_IO_STREAM (handshake->socket_conn), NULL, NULL);
    eh_front_release_slot (handshake->front, handshake->peer);
  } else {
    eh_front_serve (handshake->front, handshake->listener, handshake->socket_conn,
                    G_IO_STREAM (tls), g_steal_pointer (&handshake->peer));
  }
  eh_handshake_free (handshake);
}

static void
eh_front_start_tls (EhFront *front, EhListener *listener, GSocketConnection *socket_conn,
                    char *peer)
{
  g_autoptr (GError) error = NULL;
  EhTlsStream *tls = eh_tls_stream_new (socket_conn, eh_tls_get_server_params (front->tls), &error);
  EhHandshake *handshake;

  if (tls == NULL) {
    g_warning ("TLS is unavailable: %s", error->message);
    g_io_stream_close (G_IO_STREAM (socket_conn), NULL, NULL);
    eh_front_release_slot (front, peer);
    g_free (peer);
    return;
  }
  handshake = g_new0 (EhHandshake, 1);
  handshake->front = front;
  handshake->listener = listener;
  handshake->socket_conn = g_object_ref (socket_conn);
  handshake->tls = tls;
  handshake->peer = peer;
  handshake->deadline = g_timeout_source_new (front->limits.header_timeout_ms);
  g_source_set_callback (handshake->deadline, eh_handshake_deadline, handshake, NULL);
  g_source_attach (handshake->deadline, g_main_context_get_thread_default ());
  handshake->hello = g_socket_create_source (g_socket_connection_get_socket (socket_conn),
                                             G_IO_IN | G_IO_ERR | G_IO_HUP, NULL);
  g_source_set_callback (handshake->hello, G_SOURCE_FUNC (eh_handshake_hello), handshake, NULL);
  g_source_attach (handshake->hello, g_main_context_get_thread_default ());
}

static char *
eh_front_peer_of (GSocketConnection *socket_conn)
{
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (socket_conn, NULL);

  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup ("unknown");
  return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
}

/* a connection the listener took from the backlog: caps first, then TLS */
static void
eh_front_take (EhListener *listener, GSocket *socket)
{
  EhFront *front = listener->front;
  g_autoptr (GSocketConnection) socket_conn = g_socket_connection_factory_create_connection (socket);
  char *peer = eh_front_peer_of (socket_conn);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (front->per_address, peer));

  if (count >= front->limits.max_connections_per_address || front->shutting_down) {
    g_debug ("refused a connection from %s: %u open from that address", peer, count);
    g_io_stream_close (G_IO_STREAM (socket_conn), NULL, NULL);
    g_free (peer);
    return;
  }
  g_hash_table_insert (front->per_address, g_strdup (peer), GUINT_TO_POINTER (count + 1));
  front->n_connections++;
  eh_front_update_accepting (front);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (listener->https)
    eh_front_start_tls (front, listener, socket_conn, peer);
  else
    eh_front_serve (front, listener, socket_conn, NULL, peer);
}

static void eh_listener_watch (EhListener *listener);

static gboolean
eh_listener_retry (gpointer data)
{
  EhListener *listener = data;

  g_clear_pointer (&listener->retry, g_source_unref);
  if (listener->active)
    eh_listener_watch (listener);
  return G_SOURCE_REMOVE;
}

static void
eh_listener_unwatch (EhListener *listener)
{
  if (listener->watch != NULL) {
    g_source_destroy (listener->watch);
    g_clear_pointer (&listener->watch, g_source_unref);
  }
  if (listener->retry != NULL) {
    g_source_destroy (listener->retry);
    g_clear_pointer (&listener->retry, g_source_unref);
  }
}

/* out of file descriptors the backlog stays readable: rest instead of spinning */
static void
eh_listener_back_off (EhListener *listener, const GError *error)
{
  if (!listener->failing)
    g_warning ("%s cannot accept connections: %s", listener->url, error->message);
  listener->failing = TRUE;
  eh_listener_unwatch (listener);
  listener->retry = g_timeout_source_new (EH_FRONT_ACCEPT_RETRY_MS);
  g_source_set_callback (listener->retry, eh_listener_retry, listener, NULL);
  g_source_attach (listener->retry, g_main_context_get_thread_default ());
}

/* each readiness takes what the backlog holds (up to its size), not one
 * connection: a main-loop iteration that serves thousands of open
 * connections is long, and one accept per iteration lets the backlog
 * overflow. The caps can pause the listener half way */
static gboolean
eh_listener_ready (GSocket *socket, GIOCondition condition, gpointer data)
{
  EhListener *listener = data;
  guint budget = MAX (listener->front->limits.backlog, 1);

  while (listener->active && listener->watch != NULL && budget-- > 0) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GSocket) accepted = g_socket_accept (socket, NULL, &error);

    if (accepted == NULL) {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        eh_listener_back_off (listener, error);
      break;
    }
    listener->failing = FALSE;
    eh_front_take (listener, accepted);
  }
  return G_SOURCE_CONTINUE;
}

static void
eh_listener_watch (EhListener *listener)
{
  if (listener->watch != NULL || listener->retry != NULL)
    return;
  /* the connections' priority: accepting neither starves them nor waits behind them */
  listener->watch = g_socket_create_source (listener->socket, G_IO_IN, NULL);
  g_source_set_callback (listener->watch, G_SOURCE_FUNC (eh_listener_ready), listener, NULL);
  g_source_attach (listener->watch, g_main_context_get_thread_default ());
}

/* at the global cap every listener pauses (new connections wait in the
 * kernel backlog); an HTTPS listener also waits for a certificate */
static void
eh_front_update_accepting (EhFront *front)
{
  gboolean room = front->n_connections < front->limits.max_connections && !front->shutting_down;

  for (guint i = 0; i < front->listeners->len; i++) {
    EhListener *listener = g_ptr_array_index (front->listeners, i);
    gboolean want = room && (!listener->https || eh_tls_get_server_params (front->tls) != NULL);

    if (want == listener->active)
      continue;
    listener->active = want;
    if (want)
      eh_listener_watch (listener);
    else
      eh_listener_unwatch (listener);
  }
}

void
eh_front_certificate_changed (EhFront *front)
{
  eh_front_update_accepting (front);
}

static GSocketAddress *
eh_front_parse_address (const char *text, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GSocketConnectable) parsed = g_network_address_parse (text, 0, &local_error);
  g_autoptr (GInetAddress) inet = NULL;

  if (parsed == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "listen address \"%s\": %s", text,
                 local_error->message);
    return NULL;
  }
  inet = g_inet_address_new_from_string (g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed)));
  if (inet == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "listen address \"%s\": give an IP address and a port, e.g. 127.0.0.1:8080",
                 text);
    return NULL;
  }
  return g_inet_socket_address_new (inet, g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
}

static char *
eh_front_url_for (GSocketAddress *effective, gboolean https)
{
  GInetAddress *inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (effective));
  g_autofree char *ip = g_inet_address_to_string (inet);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  gboolean v6 = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6;

  return g_strdup_printf ("%s://%s%s%s:%u", https ? "https" : "http", v6 ? "[" : "", ip,
                          v6 ? "]" : "", port);
}

/* a non-blocking listening socket: accept says "would block" once the
 * backlog is empty */
static GSocket *
eh_front_open_socket (GSocketAddress *wanted, guint backlog, GError **error)
{
  g_autoptr (GSocket) socket = g_socket_new (g_socket_address_get_family (wanted),
                                             G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);

  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_listen_backlog (socket, backlog);
  if (!g_socket_bind (socket, wanted, TRUE, error) || !g_socket_listen (socket, error))
    return NULL;
  return g_steal_pointer (&socket);
}

gboolean
eh_front_listen (EhFront *front, const char *address, gboolean https, GError **error)
{
  g_autoptr (GSocketAddress) wanted = eh_front_parse_address (address, error);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GSocket) socket = NULL;
  EhListener *listener;

  if (wanted == NULL)
    return FALSE;
  socket = eh_front_open_socket (wanted, front->limits.backlog, error);
  if (socket != NULL)
    effective = g_socket_get_local_address (socket, error);
  if (effective == NULL) {
    g_prefix_error (error, "cannot listen on %s: ", address);
    return FALSE;
  }
  listener = g_new0 (EhListener, 1);
  listener->front = front;
  listener->socket = g_steal_pointer (&socket);
  listener->https = https;
  listener->url = eh_front_url_for (effective, https);
  g_ptr_array_add (front->listeners, listener);
  eh_front_update_accepting (front);
  if (https && eh_tls_get_server_params (front->tls) == NULL)
    g_message ("%s waits for a TLS certificate", listener->url);
  else
    g_message ("listening on %s", listener->url);
  return TRUE;
}

GStrv
eh_front_get_urls (EhFront *front)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < front->listeners->len; i++)
    g_strv_builder_add (builder, ((EhListener *) g_ptr_array_index (front->listeners, i))->url);
  return g_strv_builder_end (builder);
}

guint
eh_front_get_connection_count (EhFront *front)
{
  return front->n_connections;
}

/* an internal connection (eh-front-adopt.c): counted and capped as one from
 * the listener's own address (loopback for a wildcard), served without TLS */
gboolean
eh_front_adopt (EhFront *front, const char *https_url, GSocketConnection *socket_conn, GError **error)
{
  for (guint i = 0; i < front->listeners->len; i++) {
    EhListener *listener = g_ptr_array_index (front->listeners, i);
    g_autoptr (GSocketAddress) own = NULL;
    GInetAddress *inet;
    char *peer;
    guint count;

    if (!listener->https || strcmp (listener->url, https_url) != 0)
      continue;
    own = g_socket_get_local_address (listener->socket, NULL);
    inet = own != NULL ? g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (own)) : NULL;
    if (inet == NULL)
      break;
    peer = g_inet_address_get_is_any (inet) ? g_strdup (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6
                                                            ? "::1" : "127.0.0.1")
                                            : g_inet_address_to_string (inet);
    count = GPOINTER_TO_UINT (g_hash_table_lookup (front->per_address, peer));
    if (!listener->active || count >= front->limits.max_connections_per_address) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s does not accept connections now", https_url);
      g_free (peer);
      return FALSE;
    }
    g_hash_table_insert (front->per_address, g_strdup (peer), GUINT_TO_POINTER (count + 1));
    front->n_connections++;
    eh_front_update_accepting (front);
    eh_front_serve (front, listener, socket_conn, NULL, peer);
    return TRUE;
  }
  g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "%s is not an HTTPS listener of this host", https_url);
  return FALSE;
}

void
eh_front_get_request_counts (EhFront *front, guint64 *answered, guint64 *answered_quickly)
{
  *answered = front->answered;
  *answered_quickly = front->answered_quickly;
}

void
eh_front_begin_shutdown (EhFront *front)
{
  GHashTableIter iter;
  gpointer conn;

  front->shutting_down = TRUE;
  eh_front_update_accepting (front);
  g_hash_table_iter_init (&iter, front->conns);
  while (g_hash_table_iter_next (&iter, &conn, NULL)) {
    if (!eh_conn_is_busy (conn))
      eh_conn_abort (conn);
    else
      eh_conn_end_after_quick_answers (conn);
  }
}

/* libsoup 3.2 keeps a connection alive only when the server has a listener
 * of its own; give it one on a socketpair that never carries a byte */
static gboolean
eh_front_enable_keepalive (EhFront *front, GError **error)
{
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "socketpair: %s", g_strerror (errno));
    return FALSE;
  }
  front->keepalive_socket = g_socket_new_from_fd (fds[0], error);
  front->keepalive_peer_fd = fds[1];
  if (front->keepalive_socket == NULL)
    return FALSE;
  return soup_server_listen_socket (front->server, front->keepalive_socket, 0, error);
}

static void
eh_listener_free (EhListener *listener)
{
  eh_listener_unwatch (listener);
  g_socket_close (listener->socket, NULL);
  g_object_unref (listener->socket);
  g_free (listener->url);
  g_free (listener);
}

EhFront *
eh_front_new (const EhFrontLimits *limits, EhTls *tls)
{
  EhFront *front = g_new0 (EhFront, 1);
  g_autoptr (GError) error = NULL;

  front->limits = *limits;
  front->tls = tls;
  front->keepalive_peer_fd = -1;
  front->server = soup_server_new ("server-header", "ehttpd", NULL);
  front->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_listener_free);
  front->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_route_free);
  front->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  front->conns = g_hash_table_new (g_direct_hash, g_direct_equal);
  eh_quick_scratch_init (&front->quick);
  if (!eh_front_enable_keepalive (front, &error))
    g_warning ("keep-alive disabled: %s", error->message);
  soup_server_add_handler (front->server, NULL, eh_front_dispatch, front, NULL);
  g_signal_connect (front->server, "request-started", G_CALLBACK (eh_front_request_started), front);
  g_signal_connect (front->server, "request-finished", G_CALLBACK (eh_front_request_done), front);
  g_signal_connect (front->server, "request-aborted", G_CALLBACK (eh_front_request_done), front);
  return front;
}

void
eh_front_free (EhFront *front)
{
  if (front == NULL)
    return;
  g_ptr_array_unref (front->listeners);
  soup_server_disconnect (front->server);
  g_object_unref (front->server);
  g_clear_object (&front->keepalive_socket);
  if (front->keepalive_peer_fd >= 0)
    close (front->keepalive_peer_fd);
  g_ptr_array_unref (front->routes);
  g_hash_table_unref (front->per_address);
  g_hash_table_unref (front->conns);
  eh_quick_scratch_clear (&front->quick);
  g_free (front);
}
