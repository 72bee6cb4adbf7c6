/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-framing.h"

static guint64
body_cap (const char *method, const char *path, gpointer user_data)
{
  if (user_data != NULL)
    g_strlcpy (user_data, path, 64);
  return g_str_has_prefix (path, "/upload") ? 100 : 0;
}

static const EhFramingLimits limits = { 2048, 16384, 100 };

/* feeds @text whole; returns released bytes or -1 with status */
static gssize
feed_all (const char *text, gsize len, guint *status, GError **error, EhFraming **out)
{
  EhFraming *framing = eh_framing_new (&limits, body_cap, NULL);
  gssize n = eh_framing_feed (framing, (const guint8 *) text, len, status, error);

  if (out != NULL)
    *out = framing;
  else
    eh_framing_free (framing);
  return n;
}

static void
assert_refused (const char *text, guint expected_status, const char *reason)
{
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_all (text, strlen (text), &status, &error, NULL), ==, -1);
  g_assert_cmpuint (status, ==, expected_status);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, reason));
}

static void
test_valid_get (void)
{
  const char *text = "GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
  g_autoptr (EhFraming) framing = NULL;
  char path[64] = "";
  guint status = 0;

  framing = eh_framing_new (&limits, body_cap, path);
  g_assert_cmpint (eh_framing_feed (framing, (const guint8 *) text, strlen (text), &status, NULL),
                   ==, (gssize) strlen (text));
  g_assert_cmpstr (path, ==, "/a");
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 1);
}

static void
test_partial_head_is_held_back (void)
{
  const char *text = "GET / HTTP/1.1\r\nHost: x\r\n";
  g_autoptr (EhFraming) framing = NULL;

  g_assert_cmpint (feed_all (text, strlen (text), NULL, NULL, &framing), ==, 0);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_HEAD);
}

static void
test_byte_at_a_time_equals_whole (void)
{
  const char *text = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                     "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  g_autoptr (EhFraming) framing = eh_framing_new (&limits, body_cap, NULL);
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  gsize total = 0;

  for (gsize i = 0; i < strlen (text); i++) {
    gssize n;

    g_byte_array_append (pending, (const guint8 *) text + i, 1);
    n = eh_framing_feed (framing, pending->data, pending->len, NULL, NULL);
    g_assert_cmpint (n, >=, 0);
    g_byte_array_remove_range (pending, 0, n);
    total += n;
  }
  g_assert_cmpuint (total, ==, strlen (text));
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 2);
}

static void
test_pipelined (void)
{
  const char *text = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HT";
  g_autoptr (EhFraming) framing = NULL;
  gsize complete = strlen (text) - strlen ("GET /c HT");

  g_assert_cmpint (feed_all (text, strlen (text), NULL, NULL, &framing), ==, (gssize) complete);
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 2);
}

static void
test_smuggling_is_refused (void)
{
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                  400, "duplicate Content-Length");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n", 400, "Content-Length together with Transfer-Encoding");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 400,
                  "Transfer-Encoding \"xchunked\" is not supported");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400,
                  "not supported");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n", 400, "duplicate Transfer-Encoding");
  assert_refused ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n", 400, "whitespace before a header colon");
  assert_refused ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate Host");
  assert_refused ("GET / HTTP/1.1\r\n\r\n", 400, "without Host");
  assert_refused ("POST /upload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
                  "invalid Content-Length");
}

static void
test_malformed_heads (void)
{
  assert_refused ("GET / HTTP/1.1\nHost: x\n\n", 400, "bare CR or LF");
  assert_refused ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "obsolete line folding");
  assert_refused ("GET / HTTP/1.1\r\nHost: x\r\nX: a\001b\r\n\r\n", 400, "control character");
  assert_refused ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "without a colon");
  assert_refused ("G{T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request method");
  assert_refused ("GET noslash HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request target");
  assert_refused ("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request target");
  assert_refused ("GET /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "forbidden byte");
  assert_refused ("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400, "malformed HTTP version");
  assert_refused ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1");
}

static void
test_sizes (void)
{
  g_autofree char *filler = g_strnfill (3000, 'a');
  g_autofree char *long_uri = g_strdup_printf ("GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", filler);
  g_autofree char *partial_uri = g_strdup_printf ("GET /%s", filler);
  g_autoptr (GString) many = g_string_new ("GET / HTTP/1.1\r\nHost: x\r\n");
  g_autoptr (GString) big = g_string_new ("GET / HTTP/1.1\r\nHost: x\r\n");

  assert_refused (long_uri, 414, "request target too long");
  /* refused before the head is complete */
  assert_refused (partial_uri, 414, "request target too long");
  for (guint i = 0; i < 120; i++)
    g_string_append_printf (many, "X-%u: v\r\n", i);
  g_string_append (many, "\r\n");
  assert_refused (many->str, 431, "too many header fields");
  while (big->len < 20000)
    g_string_append (big, "X-Filler: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n");
  assert_refused (big->str, 431, "request head too large");
}

static void
test_body_caps (void)
{
  const char *ok = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
  g_autoptr (EhFraming) framing = NULL;

  g_assert_cmpint (feed_all (ok, strlen (ok), NULL, NULL, &framing), ==, (gssize) strlen (ok));
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_BODY);
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413, "too large");
  assert_refused ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", 413, "too large");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "40\r\n" "0123456789012345678901234567890123456789012345678901234567890123\r\n"
                  "40\r\n", 413, "too large");
}

static void
test_chunked (void)
{
  const char *text = "POST /upload?q HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                     "5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
                     "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  g_autoptr (EhFraming) framing = NULL;

  g_assert_cmpint (feed_all (text, strlen (text), NULL, NULL, &framing), ==, (gssize) strlen (text));
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 2);
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "zz\r\n", 400, "malformed chunk size");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "11111111111111111\r\n", 400, "chunk size too large");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "2\r\nabc\r\n", 400, "longer than its size");
  assert_refused ("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "0\r\nBad Trailer: x\r\n\r\n", 400, "malformed trailer");
}

static void
test_failed_stays_failed (void)
{
  const char *bad = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
  const char *good = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  g_autoptr (EhFraming) framing = NULL;
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_all (bad, strlen (bad), NULL, NULL, &framing), ==, -1);
  g_assert_cmpint (eh_framing_feed (framing, (const guint8 *) good, strlen (good), &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_FAILED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/framing/valid-get", test_valid_get);
  g_test_add_func ("/eh/framing/partial-head-is-held-back", test_partial_head_is_held_back);
  g_test_add_func ("/eh/framing/byte-at-a-time-equals-whole", test_byte_at_a_time_equals_whole);
  g_test_add_func ("/eh/framing/pipelined", test_pipelined);
  g_test_add_func ("/eh/framing/smuggling-is-refused", test_smuggling_is_refused);
  g_test_add_func ("/eh/framing/malformed-heads", test_malformed_heads);
  g_test_add_func ("/eh/framing/sizes", test_sizes);
  g_test_add_func ("/eh/framing/body-caps", test_body_caps);
  g_test_add_func ("/eh/framing/chunked", test_chunked);
  g_test_add_func ("/eh/framing/failed-stays-failed", test_failed_stays_failed);
  return g_test_run ();
}
