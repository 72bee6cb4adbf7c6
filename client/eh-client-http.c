/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-client.h"
#include "eh-file.h"
#include "eh-tls-pin.h"

/*
 * HTTP as the client speaks it: one synchronous libsoup session; after join
 * every request is HTTPS and its server certificate must chain to the
 * pinned root (the session's only trust anchor is that root, and a peer
 * that fails is explained by eh_tls_verify_pinned). Answers are read with a
 * cap; JSON through the strict parser.
 */

#define EH_CLIENT_PIN_ERROR "eh-client-pin-error"

G_DEFINE_QUARK (eh-client-http-error-quark, eh_client_http_error)

SoupSession *
eh_client_session_new (guint stall_seconds)
{
  g_autofree char *agent = g_strdup_printf ("ehttp-client/%s", EH_VERSION);

  /* timeout: no byte for that long on a connection is a stall */
  return soup_session_new_with_options ("timeout", stall_seconds, "idle-timeout", 60, "user-agent", agent,
                                        "max-conns-per-host", 4, NULL);
}

gboolean
eh_client_url_parse_https (const char *url, char **base, char **host, GError **error)
{
  g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *name;
  gboolean v6;

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL ||
      *g_uri_get_host (uri) == '\0' || g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL || strlen (url) > 2048) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s is not an https://HOST[:PORT] URL", url != NULL ? url : "(none)");
    return FALSE;
  }
  name = g_uri_get_host (uri);
  v6 = strchr (name, ':') != NULL;
  if (base != NULL)
    *base = g_strdup_printf ("https://%s%s%s:%d", v6 ? "[" : "", name, v6 ? "]" : "",
                             g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 443);
  if (host != NULL)
    *host = g_strdup (name);
  return TRUE;
}

static gboolean
eh_client_accept_certificate (SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                              gpointer user_data)
{
  EhClient *client = user_data;
  GUri *uri = soup_message_get_uri (msg);
  GError *error = NULL;

  if (eh_tls_verify_pinned (cert, client->site->root, client->site->root_fingerprint, g_uri_get_host (uri),
                            &error))
    return TRUE;
  g_object_set_data_full (G_OBJECT (msg), EH_CLIENT_PIN_ERROR, error, (GDestroyNotify) g_error_free);
  return FALSE;
}

/* the session trusts the pinned root and nothing else (never the system's store) */
static gboolean
eh_client_session_pin (EhClient *client, GError **error)
{
  g_autofree char *root = g_build_filename (client->state_dir, "root.pem", NULL);
  g_autoptr (GTlsDatabase) database = NULL;

  if (soup_session_get_tls_database (client->session) != NULL &&
      g_object_get_data (G_OBJECT (client->session), "eh-client-pinned") != NULL)
    return TRUE;
  database = g_tls_file_database_new (root, error);
  if (database == NULL)
    return FALSE;
  soup_session_set_tls_database (client->session, database);
  g_object_set_data (G_OBJECT (client->session), "eh-client-pinned", GINT_TO_POINTER (1));
  return TRUE;
}

SoupMessage *
eh_client_message_new (EhClient *client, const char *method, const char *url, const char *bearer,
                       GError **error)
{
  SoupMessage *msg;

  if (!g_str_has_prefix (url, "https://")) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "refusing %s: after join the client talks HTTPS only", url);
    return NULL;
  }
  if (!eh_client_session_pin (client, error))
    return NULL;
  msg = soup_message_new (method, url);
  if (msg == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s is not a URL", url);
    return NULL;
  }
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (eh_client_accept_certificate), client);
  if (bearer != NULL) {
    g_autofree char *value = g_strconcat ("Bearer ", bearer, NULL);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", value);
  }
  return msg;
}

/* sends @msg; on a refused certificate the error says why, as EH_ERROR_TLS */
static GInputStream *
eh_client_http_open (EhClient *client, SoupSession *session, SoupMessage *msg, GError **error)
{
  g_autoptr (GError) local = NULL;
  GInputStream *stream = soup_session_send (session, msg, NULL, &local);
  GError *pin;

  if (stream != NULL)
    return stream;
  pin = g_object_get_data (G_OBJECT (msg), EH_CLIENT_PIN_ERROR);
  if (pin != NULL)
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s refused: %s", g_uri_get_host (soup_message_get_uri (msg)),
                 pin->message);
  else if (local->domain == G_TLS_ERROR)
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "TLS with %s failed: %s",
                 g_uri_get_host (soup_message_get_uri (msg)), local->message);
  else
    g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

GBytes *
eh_client_http_send (EhClient *client, SoupMessage *msg, gsize max, GError **error)
{
  g_autoptr (GInputStream) stream = eh_client_http_open (client, client->session, msg, error);
  GBytes *bytes;

  if (stream == NULL)
    return NULL;
  bytes = eh_input_stream_read_capped (stream, max, error);
  g_input_stream_close (stream, NULL, NULL);
  return bytes;
}

/* join only: a plain http:// GET of public site material (trusted only through the fingerprint) */
GBytes *
eh_client_http_plain_get (SoupSession *session, const char *url, gsize max, GError **error)
{
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr (GInputStream) stream = NULL;
  GBytes *bytes;

  if (msg == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s is not a URL", url);
    return NULL;
  }
  stream = soup_session_send (session, msg, NULL, error);
  if (stream == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE, "%s: %u %s", url, soup_message_get_status (msg),
                 soup_message_get_reason_phrase (msg));
    return NULL;
  }
  bytes = eh_input_stream_read_capped (stream, max, error);
  g_input_stream_close (stream, NULL, NULL);
  return bytes;
}

char *
eh_client_mp_url (EhClient *client, const char *path)
{
  return g_strconcat (client->site->mp_url, path, NULL);
}

/* internet mode is designed (the CMG's paths) but the gateway is not there yet */
static gboolean
eh_client_check_mode (EhClient *client, GError **error)
{
  if (client->site->gateway == NULL)
    return TRUE;
  g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN,
               "internet mode (gateway %s) needs the site's cloud management gateway, which this version "
               "cannot use yet; join without --gateway on the intranet",
               client->site->gateway);
  return FALSE;
}

/* an error from a refusal: the MP's own error code and message when it sent them */
static void
eh_client_http_refusal (const char *what, guint status, JsonObject *object, GError **error)
{
  const char *code = object != NULL ? json_object_get_string_member_with_default (object, "error", "") : "";
  const char *message = object != NULL ? json_object_get_string_member_with_default (object, "message", "")
                                       : "";

  g_set_error (error, EH_CLIENT_ERROR_HTTP, status, "%s: %u %s%s%s", what, status,
               *code != '\0' ? code : soup_status_get_phrase (status), *message != '\0' ? ": " : "", message);
}

/*
 * One JSON exchange with the MP. Returns the answer's object for every
 * status (*@status says which); NULL + error for transport failures and for
 * a non-2xx answer without a JSON object.
 */
JsonObject *
eh_client_http_json (EhClient *client, const char *method, const char *path, JsonNode *body,
                     const char *bearer, guint *status, GError **error)
{
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local = NULL;

  if (!eh_client_check_mode (client, error))
    return NULL;
  url = eh_client_mp_url (client, path);
  msg = eh_client_message_new (client, method, url, bearer, error);
  if (msg == NULL)
    return NULL;
  if (body != NULL) {
    g_autoptr (JsonGenerator) generator = json_generator_new ();
    gsize len = 0;
    char *text;

    json_generator_set_root (generator, body);
    text = json_generator_to_data (generator, &len);
    soup_message_set_request_body_from_bytes (msg, "application/json", g_bytes_new_take (text, len));
  }
  answer = eh_client_http_send (client, msg, EH_CLIENT_MAX_JSON_BYTES, error);
  if (answer == NULL)
    return NULL;
  *status = soup_message_get_status (msg);
  node = eh_json_parse_strict (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer),
                               EH_CLIENT_MAX_JSON_BYTES, 8, &local);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    if (SOUP_STATUS_IS_SUCCESSFUL (*status))
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: the MP's answer is not a JSON object%s%s", path,
                   local != NULL ? ": " : "", local != NULL ? local->message : "");
    else
      eh_client_http_refusal (path, *status, NULL, error);
    return NULL;
  }
  return json_object_ref (json_node_get_object (node));
}

/* a GET of @path at the MP whose answer must be 200; the body, capped */
GBytes *
eh_client_http_get_bytes (EhClient *client, const char *path, const char *bearer, GError **error)
{
  g_autofree char *url = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GBytes) answer = NULL;

  if (!eh_client_check_mode (client, error))
    return NULL;
  url = eh_client_mp_url (client, path);
  msg = eh_client_message_new (client, "GET", url, bearer, error);
  if (msg == NULL || (answer = eh_client_http_send (client, msg, EH_CLIENT_MAX_JSON_BYTES, error)) == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK) {
    g_autoptr (JsonNode) node = eh_json_parse_strict (g_bytes_get_data (answer, NULL),
                                                      g_bytes_get_size (answer), EH_CLIENT_MAX_JSON_BYTES, 8, NULL);

    eh_client_http_refusal (path, soup_message_get_status (msg),
                            node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL,
                            error);
    return NULL;
  }
  return g_steal_pointer (&answer);
}

/* the refusal of a JSON exchange as an error */
void
eh_client_http_refused (const char *what, guint status, JsonObject *object, GError **error)
{
  eh_client_http_refusal (what, status, object, error);
}
