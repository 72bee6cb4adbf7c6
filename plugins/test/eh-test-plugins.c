/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-test-plugins.h"

/* ── test-echo ──────────────────────────────────────────────────────── */

typedef struct {
  GBytes *blob; /* EH_TEST_BLOB_SIZE bytes, byte i = i % 251 */
  GBytes *kib;  /* 1 KiB for benchmarks */
  guint pings;
} EhTestEcho;

static void
eh_test_echo_free (EhTestEcho *echo)
{
  g_bytes_unref (echo->blob);
  g_bytes_unref (echo->kib);
  g_free (echo);
}

static void
eh_test_echo_handle (EhRequest *request, gpointer user_data)
{
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (g_strcmp0 (soup_server_message_get_method (msg), "POST") == 0) {
    g_autoptr (GBytes) bytes = soup_message_body_flatten (body);

    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                      g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    return;
  }
  eh_request_respond_text (request, SOUP_STATUS_OK,
                           eh_request_is_https (request) ? "hello over https" : "hello over http");
}

static void
eh_test_echo_blob (EhRequest *request, gpointer user_data)
{
  EhTestEcho *echo = user_data;

  eh_range_respond_bytes (eh_request_get_message (request), eh_request_get_range (request),
                          echo->blob, "application/octet-stream");
}

static void
eh_test_echo_kib (EhRequest *request, gpointer user_data)
{
  EhTestEcho *echo = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);

  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_STATIC,
                                    g_bytes_get_data (echo->kib, NULL), g_bytes_get_size (echo->kib));
}

/* the same 1 KiB without libsoup; "?via=libsoup" declines, so tests can mix both paths */
static gboolean
eh_test_echo_kib_quickly (EhQuickRequest *request, gpointer user_data)
{
  EhTestEcho *echo = user_data;

  if (g_strcmp0 (eh_quick_request_get_query (request), "via=libsoup") == 0)
    return FALSE;
  eh_quick_request_answer (request, SOUP_STATUS_OK, "application/octet-stream", echo->kib);
  return TRUE;
}

/* POST /test/echo without libsoup: held and answered later on the main
 * context, as an endpoint that works on another thread does; "?later=MS"
 * waits that long first (at most 10 s), so a client may leave meanwhile */
static gboolean
eh_test_echo_answer_later (gpointer data)
{
  EhQuickRequest *request = data;

  eh_quick_request_answer (request, SOUP_STATUS_OK, "application/octet-stream",
                           eh_quick_request_get_body (request));
  return G_SOURCE_REMOVE;
}

static gboolean
eh_test_echo_post_quickly (EhQuickRequest *request, gpointer user_data)
{
  const char *query = eh_quick_request_get_query (request);
  guint64 later = 0;

  if (query != NULL && g_str_has_prefix (query, "later="))
    g_ascii_string_to_unsigned (query + 6, 10, 0, 10000, &later, NULL);
  g_timeout_add_full (G_PRIORITY_DEFAULT, later, eh_test_echo_answer_later,
                      eh_quick_request_hold (request), (GDestroyNotify) eh_quick_request_unref);
  return TRUE;
}

static void
eh_test_echo_respond (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  const char *text = NULL;
  GVariantDict reply;

  g_variant_lookup (payload, EH_KEY_TEXT, "&s", &text);
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_TEXT, "s", text);
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
}

static void
eh_test_echo_pinged (const char *topic, GVariant *payload, gpointer user_data)
{
  ((EhTestEcho *) user_data)->pings++;
}

static const char eh_test_echo_dbus_xml[] =
  "<node>"
  "  <interface name='org.ehttpd.TestEcho'>"
  "    <method name='Echo'>"
  "      <arg name='text' type='s' direction='in'/>"
  "      <arg name='reply' type='s' direction='out'/>"
  "    </method>"
  "    <method name='CountPings'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='pings' type='u' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
eh_test_echo_dbus (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                   GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhTestEcho *echo = user_data;
  const char *text = NULL;

  if (g_strcmp0 (method, "Echo") == 0) {
    g_variant_get (parameters, "(&s)", &text);
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", text));
  } else {
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", echo->pings));
  }
}

static GBytes *
eh_test_pattern (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = i % 251;
  return g_bytes_new_take (data, size);
}

static void
eh_test_echo_start (EhPlugin *plugin)
{
  EhTestEcho *echo = g_new0 (EhTestEcho, 1);
  const EhEndpoint endpoints[] = {
    { "GET", "/test/echo", EH_SCHEME_BOTH, 0, eh_test_echo_handle },
    { "POST", "/test/echo", EH_SCHEME_BOTH, 64 * 1024, eh_test_echo_handle },
    { "GET", "/test/blob", EH_SCHEME_BOTH, 0, eh_test_echo_blob },
    { "GET", "/test/1k", EH_SCHEME_BOTH, 0, eh_test_echo_kib },
    { "GET", "/test/secure", EH_SCHEME_HTTPS, 0, eh_test_echo_handle },
  };
  g_autoptr (GError) error = NULL;

  echo->blob = eh_test_pattern (EH_TEST_BLOB_SIZE);
  echo->kib = eh_test_pattern (1024);
  eh_plugin_set_data (plugin, echo, (GDestroyNotify) eh_test_echo_free);
  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (plugin, &endpoints[i], echo, &error)) {
      eh_plugin_start_done (plugin, error);
      return;
    }
  }
  if (!eh_plugin_add_quick_handler (plugin, "POST", "/test/echo", eh_test_echo_post_quickly, echo,
                                    &error) ||
      !eh_plugin_add_quick_handler (plugin, "GET", "/test/1k", eh_test_echo_kib_quickly, echo,
                                    &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  if (eh_bus_respond (eh_plugin_get_bus (plugin), EH_TOPIC_TEST_ECHO, eh_test_echo_respond, echo,
                      NULL, &error) == 0) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  if (eh_bus_respond (eh_plugin_get_bus (plugin), EH_TOPIC_TEST_SECRET, eh_test_echo_respond, echo,
                      NULL, &error) == 0) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_bus_subscribe (eh_plugin_get_bus (plugin), EH_TOPIC_TEST_PING, eh_test_echo_pinged, echo, NULL);
  if (!eh_plugin_export_dbus (plugin, eh_test_echo_dbus_xml, eh_test_echo_dbus, echo, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_test_echo_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-echo",
  .description = "test: serves /test/* and answers test.echo",
  .test_only = TRUE,
  .start = eh_test_echo_start,
};

/* ── test-fail ──────────────────────────────────────────────────────── */

static void
eh_test_fail_handle (EhRequest *request, gpointer user_data)
{
  eh_request_respond_text (request, SOUP_STATUS_OK, "a failed plugin must never get here");
}

static void
eh_test_fail_start (EhPlugin *plugin)
{
  const EhEndpoint endpoint = { "GET", "/test/fail", EH_SCHEME_BOTH, 0, eh_test_fail_handle };
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_PLUGIN, "test-fail fails on purpose");

  eh_plugin_add_endpoint (plugin, &endpoint, NULL, NULL);
  eh_plugin_start_done (plugin, error);
}

const EhPluginDesc eh_test_fail_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-fail",
  .description = "test: fails at start",
  .test_only = TRUE,
  .start = eh_test_fail_start,
};

/* ── test-slow ──────────────────────────────────────────────────────── */

static const EhConfigKey eh_test_slow_keys[] = {
  { "delay-ms", EH_CONFIG_UINT, "1000", 0, 600000, "how long starting and each answer take" },
  EH_CONFIG_KEY_END
};

typedef struct {
  EhPlugin *plugin;
  SoupServerMessage *msg;
} EhTestSlowAnswer;

static gboolean
eh_test_slow_answer (gpointer data)
{
  g_autofree EhTestSlowAnswer *answer = data;

  soup_server_message_set_status (answer->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (answer->msg, "text/plain", SOUP_MEMORY_STATIC, "slow\n", 5);
  soup_server_message_unpause (answer->msg);
  g_object_unref (answer->msg);
  return G_SOURCE_REMOVE;
}

static guint
eh_test_slow_delay (EhPlugin *plugin)
{
  return eh_config_get_uint (eh_plugin_get_config (plugin), "test-slow", "delay-ms");
}

static void
eh_test_slow_handle (EhRequest *request, gpointer user_data)
{
  EhTestSlowAnswer *answer = g_new0 (EhTestSlowAnswer, 1);

  answer->plugin = user_data;
  answer->msg = g_object_ref (eh_request_get_message (request));
  soup_server_message_pause (answer->msg);
  g_timeout_add (eh_test_slow_delay (answer->plugin), eh_test_slow_answer, answer);
}

static gboolean
eh_test_slow_started (gpointer data)
{
  eh_plugin_start_done (data, NULL);
  return G_SOURCE_REMOVE;
}

static void
eh_test_slow_start (EhPlugin *plugin)
{
  const EhEndpoint endpoint = { "GET", "/test/slow", EH_SCHEME_BOTH, 0, eh_test_slow_handle };
  g_autoptr (GError) error = NULL;

  if (!eh_plugin_add_endpoint (plugin, &endpoint, plugin, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  g_timeout_add (eh_test_slow_delay (plugin), eh_test_slow_started, plugin);
}

const EhPluginDesc eh_test_slow_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-slow",
  .description = "test: starts and answers after delay-ms",
  .test_only = TRUE,
  .config_keys = eh_test_slow_keys,
  .start = eh_test_slow_start,
};

/* ── test-relay ─────────────────────────────────────────────────────── */

/* HTTP in front of the bus, so the e2e tests can drive requests and events
 * on a host (and see them cross the bus link) with a plain HTTP client */

typedef struct {
  EhPlugin *plugin;
  guint pings;
  guint32 last_sequence;
} EhTestRelay;

typedef struct {
  SoupServerMessage *msg;
} EhTestRelayCall;

/* (transfer full) the query parameter @name, or NULL */
static char *
eh_test_relay_param (EhRequest *request, const char *name)
{
  GUri *uri = soup_server_message_get_uri (eh_request_get_message (request));
  g_autoptr (GHashTable) params = NULL;

  if (g_uri_get_query (uri) == NULL)
    return NULL;
  params = g_uri_parse_params (g_uri_get_query (uri), -1, "&", G_URI_PARAMS_NONE, NULL);
  return params != NULL ? g_strdup (g_hash_table_lookup (params, name)) : NULL;
}

static void
eh_test_relay_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree EhTestRelayCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);
  g_autofree char *body = NULL;
  const char *text = NULL;

  if (reply != NULL) {
    g_variant_lookup (reply, EH_KEY_TEXT, "&s", &text);
    body = g_strdup (text);
    soup_server_message_set_status (call->msg, SOUP_STATUS_OK, NULL);
  } else {
    /* the error code as a number, so a test can tell which one came back */
    body = g_strdup_printf ("error %d: %s", error->domain == EH_ERROR ? error->code : -1,
                            error->message);
    soup_server_message_set_status (call->msg, SOUP_STATUS_BAD_GATEWAY, NULL);
  }
  soup_server_message_set_response (call->msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
                                    strlen (body));
  soup_server_message_unpause (call->msg);
  g_object_unref (call->msg);
}

static void
eh_test_relay_request (EhRequest *request, gpointer user_data)
{
  EhTestRelay *relay = user_data;
  const char *path = eh_request_get_path (request);
  g_autofree char *text = eh_test_relay_param (request, "text");
  EhTestRelayCall *call;
  GVariantDict payload;

  call = g_new0 (EhTestRelayCall, 1);
  call->msg = g_object_ref (eh_request_get_message (request));
  soup_server_message_pause (call->msg);
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_TEXT, "s", text != NULL ? text : "");
  eh_bus_request (eh_plugin_get_bus (relay->plugin),
                  g_str_has_prefix (path, "/test/relay/secret") ? EH_TOPIC_TEST_SECRET : EH_TOPIC_TEST_ECHO,
                  g_variant_dict_end (&payload), 5000, NULL, eh_test_relay_answered, call);
}

static void
eh_test_relay_ping (EhRequest *request, gpointer user_data)
{
  EhTestRelay *relay = user_data;
  g_autofree char *sequence = eh_test_relay_param (request, "sequence");
  g_autoptr (GError) error = NULL;
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_SEQUENCE, "u",
                         (guint32) g_ascii_strtoull (sequence != NULL ? sequence : "0", NULL, 10));
  if (!eh_bus_publish (eh_plugin_get_bus (relay->plugin), EH_TOPIC_TEST_PING,
                       g_variant_dict_end (&payload), &error)) {
    eh_request_respond_text (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
    return;
  }
  eh_request_respond_text (request, SOUP_STATUS_OK, "published");
}

/* stands in for a DP until the dp plugin reports: publishes one dp.content.status */
static void
eh_test_relay_content_status (EhRequest *request, gpointer user_data)
{
  EhTestRelay *relay = user_data;
  const char *names[] = { "dp", "url", "content", "state", "sha256" };
  const char *keys[] = { EH_KEY_DP_NAME, EH_KEY_DP_URL, EH_KEY_CONTENT_ID, EH_KEY_STATE,
                         EH_KEY_MANIFEST_SHA256 };
  g_autofree char *bytes = eh_test_relay_param (request, "bytes");
  g_autoptr (GError) error = NULL;
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *value = eh_test_relay_param (request, names[i]);

    g_variant_dict_insert (&payload, keys[i], "s", value != NULL ? value : "");
  }
  g_variant_dict_insert (&payload, EH_KEY_BYTES, "t",
                         (guint64) g_ascii_strtoull (bytes != NULL ? bytes : "0", NULL, 10));
  if (!eh_bus_publish (eh_plugin_get_bus (relay->plugin), EH_TOPIC_DP_CONTENT_STATUS,
                       g_variant_dict_end (&payload), &error)) {
    eh_request_respond_text (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
    return;
  }
  eh_request_respond_text (request, SOUP_STATUS_OK, "published");
}

static void
eh_test_relay_pings (EhRequest *request, gpointer user_data)
{
  EhTestRelay *relay = user_data;
  g_autofree char *text = g_strdup_printf ("%u %u", relay->pings, relay->last_sequence);

  eh_request_respond_text (request, SOUP_STATUS_OK, text);
}

static void
eh_test_relay_pinged (const char *topic, GVariant *payload, gpointer user_data)
{
  EhTestRelay *relay = user_data;

  relay->pings++;
  g_variant_lookup (payload, EH_KEY_SEQUENCE, "u", &relay->last_sequence);
}

static void
eh_test_relay_start (EhPlugin *plugin)
{
  EhTestRelay *relay = g_new0 (EhTestRelay, 1);
  const EhEndpoint endpoints[] = {
    { "GET", "/test/relay/echo", EH_SCHEME_BOTH, 0, eh_test_relay_request },
    { "GET", "/test/relay/secret", EH_SCHEME_BOTH, 0, eh_test_relay_request },
    { "GET", "/test/relay/ping", EH_SCHEME_BOTH, 0, eh_test_relay_ping },
    { "GET", "/test/relay/pings", EH_SCHEME_BOTH, 0, eh_test_relay_pings },
    { "GET", "/test/relay/content-status", EH_SCHEME_BOTH, 0, eh_test_relay_content_status },
  };
  g_autoptr (GError) error = NULL;

  relay->plugin = plugin;
  eh_plugin_set_data (plugin, relay, g_free);
  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (plugin, &endpoints[i], relay, &error)) {
      eh_plugin_start_done (plugin, error);
      return;
    }
  }
  eh_bus_subscribe (eh_plugin_get_bus (plugin), EH_TOPIC_TEST_PING, eh_test_relay_pinged, relay, NULL);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_test_relay_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-relay",
  .description = "test: HTTP endpoints that make test.echo requests and publish test.ping",
  .test_only = TRUE,
  .start = eh_test_relay_start,
};

/* ── test-link-peer ─────────────────────────────────────────────────── */

/* stands in for the ca plugin's ca.link-peer.check: accepts any client
 * certificate signed by the PEM in `issuer=` (a test root), answers with
 * its serial and `roles=`; also publishes ca.certificate.revoked on demand */

static const EhConfigKey eh_test_link_peer_keys[] = {
  { "issuer", EH_CONFIG_STRING, NULL, 0, 0, "PEM file of the CA whose certificates are accepted" },
  { "roles", EH_CONFIG_STRING_LIST, "dp", 0, 0, "the roles every accepted peer gets" },
  EH_CONFIG_KEY_END
};

typedef struct {
  EhPlugin *plugin;
  gnutls_x509_crt_t issuer;
} EhTestLinkPeer;

static void
eh_test_link_peer_free (EhTestLinkPeer *peer)
{
  if (peer->issuer != NULL)
    gnutls_x509_crt_deinit (peer->issuer);
  g_free (peer);
}

static void
eh_test_link_peer_check (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhTestLinkPeer *peer = user_data;
  const char *pem = NULL;
  g_auto (gnutls_x509_crt_t) cert = NULL;
  g_auto (GStrv) roles = eh_config_get_string_list (eh_plugin_get_config (peer->plugin),
                                                    "test-link-peer", "roles");
  guint8 serial[32];
  size_t serial_len = sizeof serial;
  unsigned int status = 0;
  g_autoptr (GString) hex = g_string_new (NULL);
  GVariantDict reply;

  g_variant_lookup (payload, EH_KEY_CERTIFICATE_PEM, "&s", &pem);
  cert = eh_crypto_cert_from_pem (pem, strlen (pem), NULL);
  if (cert == NULL || peer->issuer == NULL ||
      gnutls_x509_crt_verify (cert, &peer->issuer, 1, 0, &status) < 0 || status != 0 ||
      gnutls_x509_crt_get_serial (cert, serial, &serial_len) < 0) {
    g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                                            "test-link-peer: not a certificate of the test issuer");

    eh_bus_request_fail (request, error);
    return;
  }
  for (size_t i = 0; i < serial_len; i++)
    g_string_append_printf (hex, "%02x", serial[i]);
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_SERIAL, "s", hex->str);
  g_variant_dict_insert (&reply, EH_KEY_ROLES, "^as", roles);
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
}

static void
eh_test_link_peer_revoke (EhRequest *request, gpointer user_data)
{
  EhTestLinkPeer *peer = user_data;
  g_autofree char *serial = eh_test_relay_param (request, "serial");
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_SERIAL, "s", serial != NULL ? serial : "");
  g_variant_dict_insert (&payload, EH_KEY_REASON, "s", "test");
  eh_bus_publish (eh_plugin_get_bus (peer->plugin), EH_TOPIC_CA_CERTIFICATE_REVOKED,
                  g_variant_dict_end (&payload), NULL);
  eh_request_respond_text (request, SOUP_STATUS_OK, "revoked");
}

static void
eh_test_link_peer_start (EhPlugin *plugin)
{
  EhTestLinkPeer *peer = g_new0 (EhTestLinkPeer, 1);
  const char *issuer = eh_config_get_string (eh_plugin_get_config (plugin), "test-link-peer", "issuer");
  const EhEndpoint endpoint = { "GET", "/test/link-peer/revoke", EH_SCHEME_BOTH, 0,
                                eh_test_link_peer_revoke };
  g_autoptr (GError) error = NULL;
  g_autofree char *pem = NULL;
  gsize len = 0;

  peer->plugin = plugin;
  eh_plugin_set_data (plugin, peer, (GDestroyNotify) eh_test_link_peer_free);
  if (issuer != NULL && g_file_get_contents (issuer, &pem, &len, &error))
    peer->issuer = eh_crypto_cert_from_pem (pem, len, &error);
  if (error != NULL || !eh_plugin_add_endpoint (plugin, &endpoint, peer, &error) ||
      eh_bus_respond (eh_plugin_get_bus (plugin), EH_TOPIC_CA_LINK_PEER_CHECK,
                      eh_test_link_peer_check, peer, NULL, &error) == 0) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_test_link_peer_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-link-peer",
  .description = "test: answers ca.link-peer.check for certificates of a test issuer",
  .test_only = TRUE,
  .config_keys = eh_test_link_peer_keys,
  .start = eh_test_link_peer_start,
};

/* ── test-dp-standin ────────────────────────────────────────────────── */

/* Claims the dp role, so a host running it enrols with the site like an
 * edge DP, and keeps the last trust bundle that reached it (pushed down the
 * link, or fetched when the link comes up) at /test/standin/bundle. */

typedef struct {
  EhPlugin *plugin;
  char *bundle_json;
} EhTestStandin;

static void
eh_test_standin_free (EhTestStandin *standin)
{
  g_free (standin->bundle_json);
  g_free (standin);
}

static void
eh_test_standin_keep (EhTestStandin *standin, GVariant *bundle)
{
  const char *json = NULL;

  g_variant_lookup (bundle, EH_KEY_BUNDLE_JSON, "&s", &json);
  g_free (standin->bundle_json);
  standin->bundle_json = g_strdup (json);
}

static void
eh_test_standin_bundle_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  eh_test_standin_keep (user_data, payload);
}

static void
eh_test_standin_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhTestStandin *standin = user_data;
  g_autoptr (GVariant) reply = eh_bus_request_finish (eh_plugin_get_bus (standin->plugin), result, NULL);

  if (reply != NULL)
    eh_test_standin_keep (standin, reply);
}

static void
eh_test_standin_link_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhTestStandin *standin = user_data;
  const char *state = NULL;

  g_variant_lookup (payload, EH_KEY_STATE, "&s", &state);
  if (g_strcmp0 (state, "up") == 0)
    eh_bus_request (eh_plugin_get_bus (standin->plugin), EH_TOPIC_CA_TRUST_BUNDLE_GET,
                    g_variant_new ("a{sv}", NULL), 5000, NULL, eh_test_standin_fetched, standin);
}

static void
eh_test_standin_bundle (EhRequest *request, gpointer user_data)
{
  EhTestStandin *standin = user_data;

  if (standin->bundle_json == NULL)
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "no trust bundle yet");
  else
    eh_request_respond_text (request, SOUP_STATUS_OK, standin->bundle_json);
}

static void
eh_test_standin_start (EhPlugin *plugin)
{
  EhTestStandin *standin = g_new0 (EhTestStandin, 1);
  const EhEndpoint endpoint = { "GET", "/test/standin/bundle", EH_SCHEME_BOTH, 0, eh_test_standin_bundle };
  EhBus *bus = eh_plugin_get_bus (plugin);
  g_autoptr (GError) error = NULL;

  standin->plugin = plugin;
  eh_plugin_set_data (plugin, standin, (GDestroyNotify) eh_test_standin_free);
  if (!eh_plugin_add_endpoint (plugin, &endpoint, standin, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_bus_subscribe (bus, EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, eh_test_standin_bundle_changed, standin, NULL);
  eh_bus_subscribe (bus, EH_TOPIC_LINK_STATE, eh_test_standin_link_changed, standin, NULL);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_test_dp_standin_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-dp-standin",
  .description = "test: stands in for the dp role; keeps the trust bundle",
  .test_only = TRUE,
  .start = eh_test_standin_start,
  .role = "dp",
};
