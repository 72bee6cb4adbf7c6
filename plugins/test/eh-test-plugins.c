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
  if (eh_bus_respond (eh_plugin_get_bus (plugin), EH_TOPIC_TEST_ECHO, eh_test_echo_respond, echo,
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
