/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmgc.h"

/*
 * The connector's internal connection to its own host's front
 * (eh-cmgc-local.c): the request it writes, and how strictly it reads the
 * answer's head — whatever it accepts is relayed to an internet client.
 */

static gssize
parse (const char *method, const char *head, EhCmgcAnswer *answer, GError **error)
{
  return eh_cmgc_local_parse_head (method, (const guint8 *) head, strlen (head), answer, error);
}

static void
test_answer_heads (void)
{
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1234\r\n\r\nbody";
  EhCmgcAnswer answer = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (parse ("GET", ok, &answer, &error), ==, strlen (ok) - 4);
  g_assert_no_error (error);
  g_assert_cmpuint (answer.status, ==, 200);
  g_assert_cmpint (answer.length, ==, 1234);
  g_assert_cmpstr (soup_message_headers_get_one (answer.headers, "Content-Type"), ==, "application/octet-stream");
  eh_cmgc_answer_clear (&answer);
  /* no body after a HEAD, a 204 or a 304, whatever the length says */
  g_assert_cmpint (parse ("HEAD", ok, &answer, &error), >, 0);
  g_assert_cmpint (answer.length, ==, 0);
  eh_cmgc_answer_clear (&answer);
  g_assert_cmpint (parse ("GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", &answer, &error), >, 0);
  g_assert_cmpint (answer.length, ==, 0);
  eh_cmgc_answer_clear (&answer);
  /* no length: up to the connection's end */
  g_assert_cmpint (parse ("GET", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", &answer, &error), >, 0);
  g_assert_cmpint (answer.length, ==, -1);
  eh_cmgc_answer_clear (&answer);
  /* not all there yet */
  g_assert_cmpint (parse ("GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", &answer, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_null (answer.headers);
}

static void
test_hostile_answer_heads (void)
{
  const char *const refused[] = {
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 999 What\r\n\r\n",
    "HTTP/1.1 abc\r\n\r\n",
    "SSH-2.0-OpenSSH\r\n\r\n",
    "\r\n\r\n",
    NULL,
  };
  g_autofree char *endless = g_strnfill (EH_CMGC_LOCAL_MAX_HEAD, 'a');
  g_autofree char *long_head = NULL;
  EhCmgcAnswer answer = { 0 };

  for (guint i = 0; refused[i] != NULL; i++) {
    g_autoptr (GError) error = NULL;

    g_assert_cmpint (parse ("GET", refused[i], &answer, &error), ==, -1);
    g_assert_error (error, EH_ERROR, EH_ERROR_FAILED);
    g_assert_null (answer.headers);
  }
  /* a head that never ends is refused at the cap, not read without bound */
  long_head = g_strconcat ("HTTP/1.1 200 OK\r\nX: ", endless, NULL);
  {
    g_autoptr (GError) error = NULL;

    g_assert_cmpint (parse ("GET", long_head, &answer, &error), ==, -1);
    g_assert_error (error, EH_ERROR, EH_ERROR_FAILED);
  }
  /* a NUL stops the search for the head's end */
  {
    static const guint8 nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
    g_autoptr (GError) error = NULL;

    g_assert_cmpint (eh_cmgc_local_parse_head ("GET", nul, sizeof nul - 1, &answer, &error), ==, 0);
    g_assert_no_error (error);
  }
}

static SoupMessage *
request (const char *method, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);

  g_assert_nonnull (uri);
  return soup_message_new_from_uri (method, uri);
}

static void
test_requests (void)
{
  g_autoptr (SoupMessage) get = request ("GET", "https://127.0.0.1:8443/ehttpd/mp/policy?x=1");
  g_autoptr (SoupMessage) post = request ("POST", "https://127.0.0.1:8443/ehttpd/mp/token");
  g_autoptr (GBytes) body = g_bytes_new_static ("{\"a\":1}", 7);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  const char *expected_post = "POST /ehttpd/mp/token HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
                              "Content-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                              "{\"a\":1}";
  /* (libsoup itself keeps line breaks out of its headers) */
  const char *const bad_values[] = { "a\001b", "a\033[0m", "a\177b", "\bx", NULL };

  soup_message_headers_append (soup_message_get_request_headers (get), "Authorization", "Bearer abc");
  soup_message_headers_append (soup_message_get_request_headers (get), "X-Ehttpd-Cmg-Client", "caf\303\251");
  bytes = eh_cmgc_local_serialize (get, "127.0.0.1:8443", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_bytes_get_data (bytes, NULL), ==,
                   "GET /ehttpd/mp/policy?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nAuthorization: Bearer abc\r\n"
                   "X-Ehttpd-Cmg-Client: caf\303\251\r\nConnection: close\r\n\r\n");
  g_clear_pointer (&bytes, g_bytes_unref);
  /* the framing is ours: a length or an encoding given by the caller is not written */
  soup_message_headers_append (soup_message_get_request_headers (post), "Content-Type", "application/json");
  soup_message_headers_append (soup_message_get_request_headers (post), "Transfer-Encoding", "chunked");
  soup_message_headers_append (soup_message_get_request_headers (post), "Content-Length", "1000");
  bytes = eh_cmgc_local_serialize (post, "127.0.0.1:8443", body, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected_post, strlen (expected_post));
  g_clear_pointer (&bytes, g_bytes_unref);

  /* a control character in a value: refused, never written */
  for (guint i = 0; bad_values[i] != NULL; i++) {
    g_autoptr (SoupMessage) msg = request ("GET", "https://127.0.0.1:8443/ehttpd/mp/whoami");
    g_autoptr (GError) refused = NULL;

    soup_message_headers_append (soup_message_get_request_headers (msg), "X-Ehttpd-Cmg-Gateway", bad_values[i]);
    g_assert_null (eh_cmgc_local_serialize (msg, "127.0.0.1:8443", NULL, &refused));
    g_assert_error (refused, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/cmg-connector/local/answer-heads", test_answer_heads);
  g_test_add_func ("/eh/cmg-connector/local/hostile-answer-heads", test_hostile_answer_heads);
  g_test_add_func ("/eh/cmg-connector/local/requests", test_requests);
  return g_test_run ();
}
