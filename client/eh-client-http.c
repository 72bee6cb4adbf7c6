/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-client.h"
#include "eh-dp.h"
#include "eh-file.h"
#include "eh-tls-pin.h"

/*
 * HTTP as the client speaks it: one synchronous libsoup session; after join
 * every request is HTTPS, and its server is checked by eh_client_peer_check
 * (the chain to the pinned root and the host; a DP's or gateway's role).
 * MP calls go to the MP, or in internet mode through the gateway's MP
 * mapping. Answers are read with a cap; JSON through the strict parser;
 * refusals are told with their reason and request or correlation id.
 */

#define EH_CLIENT_PIN_ERROR "eh-client-pin-error"
#define EH_CLIENT_PEER "eh-client-peer"

G_DEFINE_QUARK (eh-client-http-error-quark, eh_client_http_error)

/* a proxy named in the environment; without one the system's resolver (libproxy, desktop settings) is not loaded */
static gboolean
eh_client_proxy_named (void)
{
  static const char *const names[] = { "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy",
                                       "ALL_PROXY" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    const char *value = g_getenv (names[i]);

    if (value != NULL && *value != '\0')
      return TRUE;
  }
  return FALSE;
}

SoupSession *
eh_client_session_new (guint stall_seconds)
{
  g_autofree char *agent = g_strdup_printf ("ehttp-client/%s", EH_VERSION);
  SoupSession *session;

  /* timeout: no byte for that long on a connection is a stall */
  session = soup_session_new_with_options ("timeout", stall_seconds, "idle-timeout", 60, "user-agent", agent,
                                           "max-conns-per-host", 4, NULL);
  if (!eh_client_proxy_named ())
    soup_session_set_proxy_resolver (session, NULL);
  return session;
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

/* a gateway with a public certificate: its chain verifies against --gateway-ca and names @host */
static gboolean
eh_client_verify_anchored (GTlsDatabase *anchors, GTlsCertificate *cert, const char *host, GError **error)
{
  g_autoptr (GSocketConnectable) identity = g_network_address_new (host, 0);
  g_autoptr (GError) local = NULL;
  GTlsCertificateFlags flags;

  flags = g_tls_database_verify_chain (anchors, cert, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity, NULL,
                                       G_TLS_DATABASE_VERIFY_NONE, NULL, &local);
  if (local != NULL || flags != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "its certificate does not verify with the gateway's anchors%s%s",
                 flags & G_TLS_CERTIFICATE_BAD_IDENTITY ? ", or does not name " : "",
                 flags & G_TLS_CERTIFICATE_BAD_IDENTITY ? host : "");
    return FALSE;
  }
  return TRUE;
}

/* a site-issued DP or gateway certificate must name its role, and not be revoked (the trust bundle says) */
static gboolean
eh_client_peer_role (EhClient *client, GTlsCertificate *cert, const char *role, GError **error)
{
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) local = NULL;

  if (client->bundle == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "no trust bundle to check its %s role with", role);
    return FALSE;
  }
  g_object_get (cert, "certificate", &der, NULL);
  bytes = g_bytes_new (der->data, der->len);
  if (!eh_dp_bundle_check_role_cert (client->bundle, bytes, role, g_get_real_time () / G_USEC_PER_SEC, &local)) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "it is not a %s of the site: %s", role, local->message);
    return FALSE;
  }
  return TRUE;
}

/*
 * What the server of a request must be. Every peer's chain must reach the
 * pinned root and name the host; a DP's certificate must carry the dp
 * role, a gateway's the cmg role — or a gateway with a public certificate
 * verifies against the anchors given at join (--gateway-ca).
 */
static gboolean
eh_client_peer_check (EhClient *client, EhClientPeer peer, GTlsCertificate *cert, const char *host, GError **error)
{
  if (cert == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "it sent no certificate");
    return FALSE;
  }
  if (peer == EH_CLIENT_PEER_GATEWAY && client->gateway_anchors != NULL)
    return eh_client_verify_anchored (client->gateway_anchors, cert, host, error);
  if (!eh_tls_verify_pinned (cert, client->site->root, client->site->root_fingerprint, host, error))
    return FALSE;
  if (peer == EH_CLIENT_PEER_MP)
    return TRUE;
  return eh_client_peer_role (client, cert, peer == EH_CLIENT_PEER_DP ? "dp" : "cmg", error);
}

static gboolean
eh_client_accept_certificate (SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors,
                              gpointer user_data)
{
  EhClient *client = user_data;
  EhClientPeer peer = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (msg), EH_CLIENT_PEER));
  GError *error = NULL;

  if (eh_client_peer_check (client, peer, cert, g_uri_get_host (soup_message_get_uri (msg)), &error))
    return TRUE;
  g_object_set_data_full (G_OBJECT (msg), EH_CLIENT_PIN_ERROR, error, (GDestroyNotify) g_error_free);
  return FALSE;
}

/*
 * The session trusts no store: every server's certificate goes through
 * eh_client_peer_check (libsoup asks accept-certificate for each new
 * connection). A gateway with a public certificate gets its own anchors.
 */
static gboolean
eh_client_session_pin (EhClient *client, EhClientPeer peer, GError **error)
{
  const char *anchors = client->gateway_ca;
  g_autofree char *kept = NULL;

  if (g_object_get_data (G_OBJECT (client->session), "eh-client-pinned") == NULL) {
    g_autoptr (GTlsDatabase) none = eh_client_tls_db_new ();

    /* a TLS connection asks its backend's default database before libsoup gives it the session's */
    g_tls_backend_set_default_database (g_tls_backend_get_default (), none);
    soup_session_set_tls_database (client->session, none);
    g_object_set_data (G_OBJECT (client->session), "eh-client-pinned", GINT_TO_POINTER (1));
  }
  if (peer != EH_CLIENT_PEER_GATEWAY || client->gateway_anchors != NULL)
    return TRUE;
  if (anchors == NULL && client->site->gateway_ca && client->gateway == NULL)
    anchors = kept = g_build_filename (client->state_dir, EH_CLIENT_GATEWAY_CA_FILE, NULL);
  if (anchors != NULL)
    client->gateway_anchors = g_tls_file_database_new (anchors, error);
  return anchors == NULL || client->gateway_anchors != NULL;
}

SoupMessage *
eh_client_message_new (EhClient *client, EhClientPeer peer, const char *method, const char *url,
                       const char *bearer, GError **error)
{
  SoupMessage *msg;

  if (!g_str_has_prefix (url, "https://")) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "refusing %s: after join the client talks HTTPS only", url);
    return NULL;
  }
  if (!eh_client_session_pin (client, peer, error))
    return NULL;
  /* a DP's or a site-issued gateway's role is checked against the trust bundle at the handshake */
  if (peer != EH_CLIENT_PEER_MP && client->gateway_anchors == NULL && !eh_client_bundle_refresh (client, error))
    return NULL;
  msg = soup_message_new (method, url);
  if (msg == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s is not a URL", url);
    return NULL;
  }
  g_object_set_data (G_OBJECT (msg), EH_CLIENT_PEER, GINT_TO_POINTER (peer));
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (eh_client_accept_certificate), client);
  if (bearer != NULL) {
    g_autofree char *value = g_strconcat ("Bearer ", bearer, NULL);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", value);
  }
  return msg;
}

/*
 * Sends @msg; a refused certificate says why, as EH_ERROR_TLS. A reused
 * connection was checked for the request that opened it, maybe for another
 * kind of peer: its certificate is checked again for this one.
 */
GInputStream *
eh_client_http_open (EhClient *client, SoupMessage *msg, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GInputStream) stream = soup_session_send (client->session, msg, NULL, &local);
  EhClientPeer peer = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (msg), EH_CLIENT_PEER));
  const char *host = g_uri_get_host (soup_message_get_uri (msg));
  GError *pin;

  if (stream != NULL) {
    if (!eh_client_peer_check (client, peer, soup_message_get_tls_peer_certificate (msg), host, &local)) {
      g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s refused: %s", host, local->message);
      return NULL;
    }
    return g_steal_pointer (&stream);
  }
  pin = g_object_get_data (G_OBJECT (msg), EH_CLIENT_PIN_ERROR);
  if (pin != NULL)
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s refused: %s", host, pin->message);
  else if (local->domain == G_TLS_ERROR)
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "TLS with %s failed: %s", host, local->message);
  else
    g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

GBytes *
eh_client_http_send (EhClient *client, SoupMessage *msg, gsize max, GError **error)
{
  g_autoptr (GInputStream) stream = eh_client_http_open (client, msg, error);
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

/* the gateway of this run (--gateway), else the one recorded at join; NULL on the intranet */
const char *
eh_client_gateway (EhClient *client)
{
  return client->gateway != NULL ? client->gateway : client->site->gateway;
}

/* a mapping of the gateway: https://HOST:PORT/CCM_Proxy_ServerAuth/<id> */
char *
eh_client_gateway_url (EhClient *client, const char *id)
{
  return g_strconcat (eh_client_gateway (client), EH_CLIENT_GATEWAY_PREFIX, id, NULL);
}

/* an MP path: at the MP on the intranet, through the gateway's MP mapping in internet mode */
char *
eh_client_mp_url (EhClient *client, const char *path)
{
  g_autofree char *base = NULL;

  if (eh_client_gateway (client) == NULL)
    return g_strconcat (client->site->mp_url, path, NULL);
  base = eh_client_gateway_url (client, client->site->gateway_mp_id);
  return g_strconcat (base, path, NULL);
}

static EhClientPeer
eh_client_mp_peer (EhClient *client)
{
  return eh_client_gateway (client) != NULL ? EH_CLIENT_PEER_GATEWAY : EH_CLIENT_PEER_MP;
}

/*
 * An error from a refusal: the MP's (or the gateway's) error name, its
 * reason code and message, and the id its logs know the request by; kept
 * for --json.
 */
static void
eh_client_http_refusal (EhClient *client, const char *what, guint status, JsonObject *object, GError **error)
{
  static const char *const members[] = { "error", "reason", "message", "request_id", "correlation_id" };
  const char *text[G_N_ELEMENTS (members)] = { NULL };
  g_autoptr (GString) said = g_string_new (NULL);
  JsonObject *refusal = json_object_new ();

  json_object_set_int_member (refusal, "status", status);
  for (guint i = 0; i < G_N_ELEMENTS (members); i++) {
    JsonNode *node = object != NULL ? json_object_get_member (object, members[i]) : NULL;

    /* hostile text: only printable, and not too much of it */
    if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
        strlen (json_node_get_string (node)) <= 1024) {
      text[i] = json_node_get_string (node);
      json_object_set_string_member (refusal, members[i], text[i]);
    }
  }
  g_string_append_printf (said, "%s: %u %s", what, status, text[0] != NULL ? text[0] : soup_status_get_phrase (status));
  if (text[1] != NULL)
    g_string_append_printf (said, " (reason %s)", text[1]);
  if (text[2] != NULL && *text[2] != '\0')
    g_string_append_printf (said, ": %s", text[2]);
  if (text[3] != NULL)
    g_string_append_printf (said, " [request id %s]", text[3]);
  if (text[4] != NULL)
    g_string_append_printf (said, " [correlation id %s]", text[4]);
  for (gsize i = 0; i < said->len; i++) {
    if (!g_ascii_isprint (said->str[i]) && !(said->str[i] & 0x80))
      said->str[i] = '?';
  }
  if (client != NULL) {
    g_clear_pointer (&client->refusal, json_object_unref);
    client->refusal = refusal;
  } else {
    json_object_unref (refusal);
  }
  g_set_error_literal (error, EH_CLIENT_ERROR_HTTP, status, said->str);
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

  url = eh_client_mp_url (client, path);
  msg = eh_client_message_new (client, eh_client_mp_peer (client), method, url, bearer, error);
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
      eh_client_http_refusal (client, path, *status, NULL, error);
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

  url = eh_client_mp_url (client, path);
  msg = eh_client_message_new (client, eh_client_mp_peer (client), "GET", url, bearer, error);
  if (msg == NULL || (answer = eh_client_http_send (client, msg, EH_CLIENT_MAX_JSON_BYTES, error)) == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK) {
    g_autoptr (JsonNode) node = eh_json_parse_strict (g_bytes_get_data (answer, NULL),
                                                      g_bytes_get_size (answer), EH_CLIENT_MAX_JSON_BYTES, 8, NULL);

    eh_client_http_refusal (client, path, soup_message_get_status (msg),
                            node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL,
                            error);
    return NULL;
  }
  return g_steal_pointer (&answer);
}

/* the refusal of a JSON exchange as an error */
void
eh_client_http_refused (EhClient *client, const char *what, guint status, JsonObject *object, GError **error)
{
  eh_client_http_refusal (client, what, status, object, error);
}
