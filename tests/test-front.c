/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "eh-core-private.h"
#include "eh-test-plugins.h"
#include "eh-test-util.h"

/*
 * The core in-process: built-in plugins, listeners on loopback port 0, a
 * libsoup client on the same main context, certificates made at test time.
 */

typedef struct {
  char *dir;
  EhCore *core;
  SoupSession *session;
  char *http_url;
  char *https_url;
} Fixture;

static void
make_certificate (const char *dir, const char *name)
{
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_autofree char *crt = g_strdup_printf ("%s/%s.crt", dir, name);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", crt, NULL };
  g_autoptr (GError) error = NULL;
  gint status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static char *
read_text (const char *dir, const char *file)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) urls = NULL;

  f->dir = g_dir_make_tmp ("eh-front-XXXXXX", NULL);
  text = g_strdup_printf ("[core]\nstate-dir=%s/state\nhttp-listen=127.0.0.1:0\n"
                          "https-listen=127.0.0.1:0\nplugins=\n", f->dir);
  g_assert_true (eh_config_load_data (config, text, -1, "test", NULL));
  f->core = eh_core_new (g_steal_pointer (&config), TRUE, &error);
  g_assert_no_error (error);
  eh_core_add_builtin_plugin (f->core, &eh_test_echo_plugin);
  eh_core_add_builtin_plugin (f->core, &eh_test_fail_plugin);
  g_assert_true (eh_core_start (f->core, &error));
  g_assert_no_error (error);
  g_assert_cmpint (eh_plugin_get_state (g_ptr_array_index (eh_core_get_plugins (f->core), 1)), ==,
                   EH_PLUGIN_STATE_FAILED);
  urls = eh_front_get_urls (eh_core_get_front (f->core));
  f->http_url = g_strdup (urls[0]);
  f->https_url = g_strdup (urls[1]);
  f->session = soup_session_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_object_unref (f->session);
  eh_core_free (f->core);
  eh_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->http_url);
  g_free (f->https_url);
}

typedef struct {
  SoupMessage *msg;
  GBytes *body;
  gboolean done;
} Exchange;

static void
exchange_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Exchange *exchange = user_data;

  exchange->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  exchange->done = TRUE;
}

/* runs the request on this main context, where the server lives too */
static guint
fetch (Fixture *f, const char *method, const char *url, const char *range, GBytes **body)
{
  Exchange exchange = { 0 };
  guint status;

  exchange.msg = soup_message_new (method, url);
  if (range != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (exchange.msg), "Range", range);
  soup_session_send_and_read_async (f->session, exchange.msg, G_PRIORITY_DEFAULT, NULL,
                                    exchange_done, &exchange);
  while (!exchange.done)
    g_main_context_iteration (NULL, TRUE);
  status = soup_message_get_status (exchange.msg);
  if (body != NULL)
    *body = exchange.body;
  else
    g_clear_pointer (&exchange.body, g_bytes_unref);
  g_object_unref (exchange.msg);
  return status;
}

static char *
url_of (const char *base, const char *path)
{
  return g_strconcat (base, path, NULL);
}

static void
test_routes_and_refusals (Fixture *f, gconstpointer data)
{
  g_autofree char *echo = url_of (f->http_url, "/test/echo");
  g_autofree char *missing = url_of (f->http_url, "/nothing");
  g_autofree char *failed = url_of (f->http_url, "/test/fail");
  g_autofree char *secure = url_of (f->http_url, "/test/secure");
  g_autoptr (GBytes) body = NULL;

  g_assert_cmpuint (fetch (f, "GET", echo, NULL, &body), ==, 200);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "hello over http\n", 16);
  g_assert_cmpuint (fetch (f, "HEAD", echo, NULL, NULL), ==, 200);
  g_assert_cmpuint (fetch (f, "GET", missing, NULL, NULL), ==, 404);
  g_assert_cmpuint (fetch (f, "PUT", echo, NULL, NULL), ==, 405);
  g_assert_cmpuint (fetch (f, "GET", failed, NULL, NULL), ==, 503);
  g_assert_cmpuint (fetch (f, "GET", secure, NULL, NULL), ==, 403);
}

static void
test_range_never_reaches_libsoup (Fixture *f, gconstpointer data)
{
  g_autofree char *echo = url_of (f->http_url, "/test/echo");
  g_autofree char *blob = url_of (f->http_url, "/test/blob");
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GBytes) part = NULL;

  /* the echo handler ignores Range; libsoup must not apply it either */
  g_assert_cmpuint (fetch (f, "GET", echo, "bytes=0-1", &whole), ==, 200);
  g_assert_cmpuint (g_bytes_get_size (whole), ==, 16);
  g_assert_cmpuint (fetch (f, "GET", blob, "bytes=-10", &part), ==, 206);
  g_assert_cmpuint (g_bytes_get_size (part), ==, 10);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (part, NULL))[9], ==, (EH_TEST_BLOB_SIZE - 1) % 251);
}

typedef struct {
  GVariant *reply;
  GError *error;
  gboolean done;
} BusCall;

static void
bus_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BusCall *call = user_data;

  call->reply = eh_bus_request_finish (NULL, result, &call->error);
  call->done = TRUE;
}

static void
install (Fixture *f, const char *chain, const char *key, BusCall *call)
{
  g_autoptr (EhBus) bus = eh_bus_hub_connect (eh_core_get_hub (f->core), "test");
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CHAIN_PEM, "s", chain);
  g_variant_dict_insert (&payload, EH_KEY_PRIVATE_KEY_PEM, "s", key);
  eh_bus_request (bus, EH_TOPIC_HOST_CERTIFICATE_INSTALL, g_variant_dict_end (&payload), 0, NULL,
                  bus_done, call);
  while (!call->done)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
accept_any (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors, gpointer data)
{
  *(GTlsCertificate **) data = g_object_ref (certificate);
  return TRUE;
}

static void
test_certificate_install_over_the_bus (Fixture *f, gconstpointer data)
{
  g_autofree char *a_crt = NULL, *a_key = NULL, *b_key = NULL;
  g_autofree char *path = NULL;
  g_autofree char *fingerprint = NULL;
  BusCall bad = { 0 }, good = { 0 };
  GStatBuf st;

  make_certificate (f->dir, "a");
  make_certificate (f->dir, "b");
  a_crt = read_text (f->dir, "a.crt");
  a_key = read_text (f->dir, "a.key");
  b_key = read_text (f->dir, "b.key");
  g_assert_null (eh_tls_get_certificate (eh_core_get_tls (f->core)));
  /* a key that is not the leaf's is refused, nothing installed */
  install (f, a_crt, b_key, &bad);
  g_assert_error (bad.error, EH_ERROR, EH_ERROR_CRYPTO);
  g_clear_error (&bad.error);
  g_assert_null (eh_tls_get_certificate (eh_core_get_tls (f->core)));
  install (f, a_crt, a_key, &good);
  g_assert_no_error (good.error);
  g_assert_true (g_variant_lookup (good.reply, EH_KEY_FINGERPRINT, "s", &fingerprint));
  g_assert_cmpstr (fingerprint, ==, eh_tls_get_fingerprint (eh_core_get_tls (f->core)));
  g_variant_unref (good.reply);
  path = g_build_filename (f->dir, "state", "tls", "host.pem", NULL);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* the waiting HTTPS listener now serves it */
  {
    g_autofree char *echo = url_of (f->https_url, "/test/echo");
    GTlsCertificate *seen = NULL;
    Exchange exchange = { 0 };

    exchange.msg = soup_message_new ("GET", echo);
    g_signal_connect (exchange.msg, "accept-certificate", G_CALLBACK (accept_any), &seen);
    soup_session_send_and_read_async (f->session, exchange.msg, G_PRIORITY_DEFAULT, NULL,
                                      exchange_done, &exchange);
    while (!exchange.done)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (soup_message_get_status (exchange.msg), ==, 200);
    g_assert_nonnull (seen);
    g_assert_true (g_tls_certificate_is_same (seen, eh_tls_get_certificate (eh_core_get_tls (f->core))));
    g_object_unref (seen);
    g_bytes_unref (exchange.body);
    g_object_unref (exchange.msg);
  }
}

/* one exchange over an internal connection: @request written, everything read up to the end */
static char *
internal_exchange (GIOStream *conn, const char *request)
{
  GInputStream *input = g_io_stream_get_input_stream (conn);
  g_autoptr (GString) answer = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  char buffer[4096];

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (conn), request, strlen (request), NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  /* the front answers on this very main context: read without blocking it */
  for (;;) {
    gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (input), buffer, sizeof buffer,
                                                         NULL, &error);

    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error (&error);
      g_main_context_iteration (NULL, TRUE);
      continue;
    }
    g_assert_no_error (error);
    if (n == 0)
      break;
    g_string_append_len (answer, buffer, n);
  }
  return g_string_free (g_steal_pointer (&answer), FALSE);
}

static void
test_internal_connection (Fixture *f, gconstpointer data)
{
  EhPlugin *plugin = g_ptr_array_index (eh_core_get_plugins (f->core), 0);
  g_autofree char *crt = NULL, *key = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) conn = NULL;
  g_autofree char *answer = NULL;
  struct sockaddr_storage address;
  socklen_t address_len = sizeof address;
  BusCall call = { 0 };
  guint before;
  int fd;

  /* only an HTTPS listener of this host, and only while it accepts (not before it has a certificate) */
  g_assert_false (eh_plugin_is_own_https_listener (plugin, f->http_url));
  g_assert_true (eh_plugin_is_own_https_listener (plugin, f->https_url));
  g_assert_false (eh_plugin_is_own_https_listener (plugin, "https://127.0.0.1:1"));
  g_assert_null (eh_plugin_connect_internal (plugin, f->http_url, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (eh_plugin_connect_internal (plugin, "https://127.0.0.1:1", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (eh_plugin_connect_internal (plugin, f->https_url, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpuint (eh_front_get_connection_count (eh_core_get_front (f->core)), ==, 0);

  make_certificate (f->dir, "a");
  crt = read_text (f->dir, "a.crt");
  key = read_text (f->dir, "a.key");
  install (f, crt, key, &call);
  g_assert_no_error (call.error);
  g_variant_unref (call.reply);

  /* served as on the HTTPS listener: an HTTPS-only endpoint answers, over no TLS */
  before = eh_front_get_connection_count (eh_core_get_front (f->core));
  conn = eh_plugin_connect_internal (plugin, f->https_url, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eh_front_get_connection_count (eh_core_get_front (f->core)), ==, before + 1);
  /* nothing outside the process can reach it: no name, no address, not inherited */
  fd = g_socket_get_fd (g_socket_connection_get_socket (G_SOCKET_CONNECTION (conn)));
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &address, &address_len), ==, 0);
  g_assert_cmpint (address.ss_family, ==, AF_UNIX);
  g_assert_cmpuint (address_len, ==, sizeof (sa_family_t));
  g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
  answer = internal_exchange (conn, "GET /test/secure HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (answer, "\r\n\r\nhello over https\n"));
  g_io_stream_close (conn, NULL, NULL);
  g_clear_object (&conn);
  while (eh_front_get_connection_count (eh_core_get_front (f->core)) > before)
    g_main_context_iteration (NULL, TRUE);

  /* and checked as any connection: a smuggling attempt is refused before any endpoint */
  conn = eh_plugin_connect_internal (plugin, f->https_url, &error);
  g_assert_no_error (error);
  g_clear_pointer (&answer, g_free);
  answer = internal_exchange (conn, "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 400"));
  g_io_stream_close (conn, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the test-fail plugin warns on purpose; criticals stay fatal */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/eh/front/routes-and-refusals", test_routes_and_refusals);
  ADD ("/eh/front/range-never-reaches-libsoup", test_range_never_reaches_libsoup);
  ADD ("/eh/front/certificate-install-over-the-bus", test_certificate_install_over_the_bus);
  ADD ("/eh/front/internal-connection", test_internal_connection);
#undef ADD
  return g_test_run ();
}
