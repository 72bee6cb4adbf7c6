/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-framing.h"

/* a literal with its exact length, NUL bytes included */
#define REQ(text) text, sizeof (text) - 1

#define HOST "Host: example.org\r\n"

/* what the body-cap callback saw */
typedef struct {
  guint calls;
  char method[64];
  char path[256];
  guint64 cap; /* returned for paths under /upload; 0 elsewhere */
} CapLog;

static guint64
record_body_cap (const char *method, const char *path, gpointer user_data)
{
  CapLog *log = user_data;

  log->calls++;
  g_strlcpy (log->method, method, sizeof log->method);
  g_strlcpy (log->path, path, sizeof log->path);
  return g_str_has_prefix (path, "/upload") ? log->cap : 0;
}

static EhFraming *
new_framing (CapLog *log)
{
  EhFramingLimits limits = { 2048, 16384, 100 };

  log->cap = 100;
  return eh_framing_new (&limits, record_body_cap, log);
}

/* feeds like a connection does: @step bytes arrive at a time, released
 * bytes are dropped from the front of the pending buffer */
static gssize
feed_in_steps (EhFraming *framing, const char *text, gsize len, gsize step, guint *status,
               GError **error)
{
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  gsize offset = 0;
  gsize released_total = 0;

  while (offset < len) {
    gsize n = MIN (step, len - offset);
    gssize released;

    g_byte_array_append (pending, (const guint8 *) text + offset, n);
    offset += n;
    released = eh_framing_feed (framing, pending->data, pending->len, status, error);
    if (released < 0)
      return -1;
    g_assert_cmpuint (released, <=, pending->len);
    g_byte_array_remove_range (pending, 0, released);
    released_total += released;
  }
  return released_total;
}

static gssize
feed_text (EhFraming *framing, const char *text, guint *status, GError **error)
{
  return eh_framing_feed (framing, (const guint8 *) text, strlen (text), status, error);
}

static void
assert_accepted (const char *text, gsize len, gsize released, guint64 requests,
                 EhFramingState state)
{
  gsize steps[] = { len, 1, 2, 3, 7, 64 };

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    CapLog log = { 0 };
    g_autoptr (EhFraming) framing = new_framing (&log);
    g_autoptr (GError) error = NULL;
    guint status = 0;

    g_assert_cmpint (feed_in_steps (framing, text, len, MAX (steps[i], 1), &status, &error), ==,
                     (gssize) released);
    g_assert_no_error (error);
    g_assert_cmpuint (status, ==, 0);
    g_assert_cmpuint (eh_framing_get_request_count (framing), ==, requests);
    g_assert_cmpint (eh_framing_get_state (framing), ==, state);
  }
}

/* ---- accepted requests ---- */

static void
test_valid_get (void)
{
  const char *request = "GET /index.html HTTP/1.1\r\n" HOST "Accept: */*\r\n\r\n";
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  g_assert_cmpint (feed_text (framing, request, &status, &error), ==, (gssize) strlen (request));
  g_assert_no_error (error);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 1);
  g_assert_cmpuint (log.calls, ==, 1);
  g_assert_cmpstr (log.method, ==, "GET");
  g_assert_cmpstr (log.path, ==, "/index.html");
}

static void
test_empty_feed (void)
{
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (eh_framing_feed (framing, NULL, 0, &status, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  g_assert_cmpuint (log.calls, ==, 0);
}

static void
test_http10_without_host (void)
{
  assert_accepted (REQ ("GET / HTTP/1.0\r\n\r\n"), 18, 1, EH_FRAMING_STATE_IDLE);
}

static void
test_partial_head_is_held_back (void)
{
  const char *request = "GET / HTTP/1.1\r\n" HOST "\r\n";
  gsize len = strlen (request);
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  /* every proper prefix is held back, whole, with the state saying so */
  for (gsize i = 1; i < len; i++) {
    g_assert_cmpint (eh_framing_feed (framing, (const guint8 *) request, i, &status, &error), ==,
                     0);
    g_assert_no_error (error);
    g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_HEAD);
    g_assert_cmpuint (log.calls, ==, 0);
  }
  g_assert_cmpint (eh_framing_feed (framing, (const guint8 *) request, len, &status, &error), ==,
                   (gssize) len);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 1);
}

static void
test_head_released_with_its_body (void)
{
  const char *head = "POST /upload/a HTTP/1.1\r\n" HOST "Content-Length: 10\r\n\r\n";
  g_autofree char *first = g_strconcat (head, "0123", NULL);
  g_autofree char *rest = g_strconcat ("456789", "GET / HTTP/1.1\r\n", NULL);
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (framing, first, &status, &error), ==, (gssize) strlen (first));
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_BODY);
  /* the body ends, the next head starts but is not complete */
  g_assert_cmpint (feed_text (framing, rest, &status, &error), ==, 6);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_HEAD);
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 1);
  g_assert_no_error (error);
}

static void
test_body_released_as_it_arrives (void)
{
  const char *head = "PUT /upload/b HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n";
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (framing, head, &status, &error), ==, (gssize) strlen (head));
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_BODY);
  g_assert_cmpint (feed_text (framing, "ab", &status, &error), ==, 2);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_BODY);
  /* what follows the body is a head of its own: held back */
  g_assert_cmpint (feed_text (framing, "cdeGET", &status, &error), ==, 3);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_HEAD);
  g_assert_no_error (error);
}

static void
test_pipelined (void)
{
  const char *request = "GET /a HTTP/1.1\r\n" HOST "\r\n"
                        "POST /upload/x HTTP/1.1\r\n" HOST "Content-Length: 3\r\n\r\nabc"
                        "GET /c HTTP/1.1\r\n" HOST "\r\n";

  assert_accepted (request, strlen (request), strlen (request), 3, EH_FRAMING_STATE_IDLE);
}

static void
test_pipelined_with_partial_third (void)
{
  const char *two = "GET /a HTTP/1.1\r\n" HOST "\r\nGET /b HTTP/1.1\r\n" HOST "\r\n";
  g_autofree char *request = g_strconcat (two, "GET /c HTTP/1.1\r\nHo", NULL);

  assert_accepted (request, strlen (request), strlen (two), 2, EH_FRAMING_STATE_HEAD);
}

static void
test_pipelined_valid_then_invalid (void)
{
  const char *request = "GET /a HTTP/1.1\r\n" HOST "\r\n"
                        "GET /b HTTP/1.1\r\n" HOST HOST "\r\n";
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  /* nothing of a call that finds a refusal is released */
  g_assert_cmpint (feed_text (framing, request, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 400);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "duplicate Host");
}

static void
test_byte_at_a_time_equals_whole (void)
{
  const char *requests[] = {
    "GET / HTTP/1.1\r\n" HOST "\r\n",
    "POST /upload/x HTTP/1.1\r\n" HOST "Content-Length: 4\r\n\r\nbody",
    "POST /upload/x HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
    "3;name=\"va\\\"lue\"\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n",
    "GET / HTTP/1.1\r\n" HOST "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    "GET /" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n" HOST "\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++) {
    CapLog log_whole = { 0 };
    CapLog log_bytes = { 0 };
    g_autoptr (EhFraming) whole = new_framing (&log_whole);
    g_autoptr (EhFraming) bytes = new_framing (&log_bytes);
    g_autoptr (GError) error_whole = NULL;
    g_autoptr (GError) error_bytes = NULL;
    guint status_whole = 0;
    guint status_bytes = 0;
    gsize len = strlen (requests[i]);

    g_assert_cmpint (feed_in_steps (whole, requests[i], len, len, &status_whole, &error_whole), ==,
                     feed_in_steps (bytes, requests[i], len, 1, &status_bytes, &error_bytes));
    g_assert_cmpuint (status_whole, ==, status_bytes);
    g_assert_cmpint (eh_framing_get_state (whole), ==, eh_framing_get_state (bytes));
    g_assert_cmpuint (eh_framing_get_request_count (whole), ==,
                      eh_framing_get_request_count (bytes));
    g_assert_cmpuint (log_whole.calls, ==, log_bytes.calls);
    if (error_whole != NULL)
      g_assert_cmpstr (error_whole->message, ==, error_bytes->message);
    else
      g_assert_no_error (error_bytes);
  }
}

static void
test_cap_gets_path_without_query (void)
{
  struct {
    const char *request;
    const char *method;
    const char *path;
  } cases[] = {
    { "POST /upload/a?x=1&y=/z HTTP/1.1\r\n" HOST "\r\n", "POST", "/upload/a" },
    { "GET http://example.org/upload/b?q HTTP/1.1\r\n" HOST "\r\n", "GET", "/upload/b" },
    { "GET HTTPS://example.org:8443?q HTTP/1.1\r\n" HOST "\r\n", "GET", "/" },
    { "GET http://example.org HTTP/1.1\r\n" HOST "\r\n", "GET", "/" },
    { "OPTIONS * HTTP/1.1\r\n" HOST "\r\n", "OPTIONS", "*" },
    { "M-SEARCH /? HTTP/1.1\r\n" HOST "\r\n", "M-SEARCH", "/" },
    { "GET /.well-known/a..b/...%2e HTTP/1.1\r\n" HOST "\r\n", "GET", "/.well-known/a..b/...%2e" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    CapLog log = { 0 };
    g_autoptr (EhFraming) framing = new_framing (&log);
    g_autoptr (GError) error = NULL;
    guint status = 0;

    g_assert_cmpint (feed_text (framing, cases[i].request, &status, &error), ==,
                     (gssize) strlen (cases[i].request));
    g_assert_no_error (error);
    g_assert_cmpuint (log.calls, ==, 1);
    g_assert_cmpstr (log.method, ==, cases[i].method);
    g_assert_cmpstr (log.path, ==, cases[i].path);
  }
}

static void
test_cap_called_once_per_head (void)
{
  const char *request = "GET /a HTTP/1.1\r\n" HOST "\r\nGET /b HTTP/1.1\r\n" HOST "\r\n";
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_in_steps (framing, request, strlen (request), 1, &status, &error), ==,
                   (gssize) strlen (request));
  g_assert_cmpuint (log.calls, ==, 2);
  g_assert_cmpstr (log.path, ==, "/b");
}

static void
test_content_length_at_cap (void)
{
  g_autofree char *body = g_strnfill (100, 'x');
  g_autofree char *request = g_strconcat ("POST /upload HTTP/1.1\r\n" HOST
                                          "Content-Length: 100\r\n\r\n", body, NULL);

  assert_accepted (request, strlen (request), strlen (request), 1, EH_FRAMING_STATE_IDLE);
}

static void
test_content_length_zero_and_leading_zeros (void)
{
  const char *request = "POST /x HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n"
                        "POST /upload HTTP/1.1\r\n" HOST "Content-Length:  007 \r\n\r\nabcdefg";

  assert_accepted (request, strlen (request), strlen (request), 2, EH_FRAMING_STATE_IDLE);
}

static guint64
unlimited_body_cap (const char *method, const char *path, gpointer user_data)
{
  return G_MAXUINT64;
}

static void
test_content_length_limit_is_2_62 (void)
{
  const char *at = "POST / HTTP/1.1\r\n" HOST "Content-Length: 4611686018427387904\r\n\r\n";
  const char *over = "POST / HTTP/1.1\r\n" HOST "Content-Length: 4611686018427387905\r\n\r\n";
  g_autoptr (EhFraming) first = eh_framing_new (NULL, unlimited_body_cap, NULL);
  g_autoptr (EhFraming) second = eh_framing_new (NULL, unlimited_body_cap, NULL);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (first, at, &status, &error), ==, (gssize) strlen (at));
  g_assert_cmpint (eh_framing_get_state (first), ==, EH_FRAMING_STATE_BODY);
  g_assert_cmpint (feed_text (second, over, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpstr (error->message, ==, "Content-Length over 2^62");
}

static void
test_no_cap_function_means_no_body (void)
{
  g_autoptr (EhFraming) empty = eh_framing_new (NULL, NULL, NULL);
  g_autoptr (EhFraming) body = eh_framing_new (NULL, NULL, NULL);
  g_autoptr (GError) error = NULL;
  guint status = 0;
  const char *zero = "POST / HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n";

  g_assert_cmpint (feed_text (empty, zero, &status, &error), ==, (gssize) strlen (zero));
  g_assert_cmpint (feed_text (body, "POST / HTTP/1.1\r\n" HOST "Content-Length: 1\r\n\r\nx",
                              &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 413);
}

static void
test_default_limits (void)
{
  EhFramingLimits zero = { 0, 0, 0 };
  g_autoptr (EhFraming) framing = eh_framing_new (&zero, NULL, NULL);
  g_autoptr (GString) request = g_string_new ("GET /");
  g_autoptr (GError) error = NULL;
  guint status = 0;

  /* zero limits mean the defaults: a 2 KiB target passes, one byte more is 414 */
  while (request->len < 4 + EH_FRAMING_DEFAULT_MAX_URI_BYTES)
    g_string_append_c (request, 'a');
  g_string_append (request, " HTTP/1.1\r\n" HOST "\r\n");
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, (gssize) request->len);
  g_string_insert_c (request, 5, 'b');
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 414);
}

static void
test_head_of_exactly_max_bytes (void)
{
  EhFramingLimits limits = { 64, 64, 4 };
  g_autoptr (EhFraming) framing = eh_framing_new (&limits, NULL, NULL);
  g_autoptr (EhFraming) over = eh_framing_new (&limits, NULL, NULL);
  g_autoptr (GString) request = g_string_new ("GET / HTTP/1.1\r\nHost: x\r\nX: ");
  g_autoptr (GError) error = NULL;
  guint status = 0;

  while (request->len < 64 - 4)
    g_string_append_c (request, 'v');
  g_string_append (request, "\r\n\r\n");
  g_assert_cmpuint (request->len, ==, 64);
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, 64);
  g_string_insert_c (request, 30, 'v');
  g_assert_cmpint (feed_text (over, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 431);
}

static void
test_header_count_at_limit (void)
{
  g_autoptr (GString) request = g_string_new ("GET / HTTP/1.1\r\n" HOST);

  /* Host plus 99 more is exactly the limit of 100 */
  for (guint i = 0; i < 99; i++)
    g_string_append_printf (request, "X-F%u: v\r\n", i);
  g_string_append (request, "\r\n");
  assert_accepted (request->str, request->len, request->len, 1, EH_FRAMING_STATE_IDLE);
}

/* ---- chunked bodies ---- */

static void
test_chunked_with_extensions_and_trailers (void)
{
  const char *request = "POST /upload/c HTTP/1.1\r\n" HOST "Transfer-Encoding:  Chunked \r\n\r\n"
                        "5\r\nhello\r\n"
                        "6;a\r\n world\r\n"
                        "a ; b = c;d=\"q\\\"; \"\r\n0123456789\r\n"
                        "0;last\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n"
                        "GET / HTTP/1.1\r\n" HOST "\r\n";

  assert_accepted (request, strlen (request), strlen (request), 2, EH_FRAMING_STATE_IDLE);
}

static void
test_chunked_released_as_it_arrives (void)
{
  const char *head = "POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n";
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (framing, head, &status, &error), ==, (gssize) strlen (head));
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_CHUNKED);
  /* size line and part of the data: all of it may go on */
  g_assert_cmpint (feed_text (framing, "A\r\n01234", &status, &error), ==, 8);
  g_assert_cmpint (feed_text (framing, "56789\r\n0\r\n", &status, &error), ==, 10);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_CHUNKED);
  g_assert_cmpint (feed_text (framing, "\r\n", &status, &error), ==, 2);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  g_assert_no_error (error);
}

static void
test_chunked_body_at_cap (void)
{
  g_autoptr (GString) request = g_string_new ("POST /upload HTTP/1.1\r\n" HOST
                                              "Transfer-Encoding: chunked\r\n\r\n");

  /* 60 + 40 is exactly the cap of 100 */
  g_string_append_printf (request, "3c\r\n%0*d\r\n28\r\n%0*d\r\n0\r\n\r\n", 60, 0, 40, 0);
  assert_accepted (request->str, request->len, request->len, 1, EH_FRAMING_STATE_IDLE);
}

static void
test_chunked_over_cap_refused_before_data (void)
{
  const char *head = "POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
                     "3c\r\n";
  g_autofree char *data = g_strnfill (60, 'x');
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (framing, head, &status, &error), ==, (gssize) strlen (head));
  g_assert_cmpint (feed_text (framing, data, &status, &error), ==, 60);
  /* 60 announced so far; 41 more would pass the cap of 100 */
  g_assert_cmpint (feed_text (framing, "\r\n29\r\n", &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 413);
  g_assert_cmpstr (error->message, ==, "chunked request body over the limit of 100 bytes");
}

static void
test_chunk_size_limit_is_2_62 (void)
{
  const char *head = "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n";
  g_autoptr (EhFraming) at = eh_framing_new (NULL, unlimited_body_cap, NULL);
  g_autoptr (EhFraming) over = eh_framing_new (NULL, unlimited_body_cap, NULL);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (at, head, &status, &error), ==, (gssize) strlen (head));
  g_assert_cmpint (feed_text (at, "4000000000000000\r\nab", &status, &error), ==, 20);
  g_assert_cmpint (feed_text (over, head, &status, &error), ==, (gssize) strlen (head));
  g_assert_cmpint (feed_text (over, "4000000000000001\r\n", &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpstr (error->message, ==, "chunk size over 2^62");
}

/* ---- refusals, one test each ---- */

typedef struct {
  const char *name;
  const char *request;
  gsize len;
  guint status;
  const char *reason;
} Refusal;

#define POST_CHUNKED "POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"

static const Refusal refusals[] = {
  /* request smuggling (SECURITY.md) */
  { "duplicate-content-length",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 41\r\n\r\nhello"),
    400, "duplicate Content-Length" },
  { "duplicate-content-length-equal",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Content-Length: 5\r\ncontent-length: 5\r\n\r\nhello"),
    400, "duplicate Content-Length" },
  { "content-length-with-transfer-encoding",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"
         "\r\n0\r\n\r\n"),
    400, "Content-Length together with Transfer-Encoding" },
  { "transfer-encoding-with-content-length",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"
         "\r\n0\r\n\r\n"),
    400, "Content-Length together with Transfer-Encoding" },
  { "transfer-encoding-xchunked",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"), 400,
    "Transfer-Encoding \"xchunked\" is not supported" },
  { "transfer-encoding-chunked-identity",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, identity\r\n\r\n"), 400,
    "Transfer-Encoding \"chunked, identity\" is not supported" },
  { "transfer-encoding-gzip-chunked",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n"), 400,
    "Transfer-Encoding \"gzip, chunked\" is not supported" },
  { "transfer-encoding-empty",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: \r\n\r\n"), 400,
    "Transfer-Encoding \"\" is not supported" },
  { "transfer-encoding-duplicate",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n"),
    400, "duplicate Transfer-Encoding" },
  { "transfer-encoding-http10",
    REQ ("POST /upload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400,
    "Transfer-Encoding in an HTTP/1.0 request" },
  { "space-before-colon",
    REQ ("GET / HTTP/1.1\r\n" HOST "Content-Length : 0\r\n\r\n"), 400,
    "whitespace between a header field name and its colon" },
  { "tab-before-colon", REQ ("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), 400,
    "whitespace between a header field name and its colon" },
  { "duplicate-host", REQ ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400,
    "duplicate Host" },
  { "http11-without-host", REQ ("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400,
    "HTTP/1.1 request without Host" },
  { "obs-fold", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\r\n b\r\n\r\n"), 400,
    "obsolete line folding in the request head" },
  { "obs-fold-tab", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\r\n\tb\r\n\r\n"), 400,
    "obsolete line folding in the request head" },
  /* Content-Length values */
  { "content-length-plus", REQ ("POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\n"), 400,
    "Content-Length \"+5\" is not a decimal number" },
  { "content-length-negative", REQ ("POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n"),
    400, "Content-Length \"-1\" is not a decimal number" },
  { "content-length-list", REQ ("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 5\r\n\r\n"), 400,
    "Content-Length \"5, 5\" is not a decimal number" },
  { "content-length-hex", REQ ("POST / HTTP/1.1\r\n" HOST "Content-Length: 0x10\r\n\r\n"), 400,
    "Content-Length \"0x10\" is not a decimal number" },
  { "content-length-empty", REQ ("POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n"), 400,
    "empty Content-Length" },
  { "content-length-huge",
    REQ ("POST / HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999999\r\n\r\n"), 400,
    "Content-Length over 2^62" },
  /* header field syntax */
  { "field-without-colon", REQ ("GET / HTTP/1.1\r\n" HOST "NoColon\r\n\r\n"), 400,
    "header field line without a colon" },
  { "field-empty-name", REQ ("GET / HTTP/1.1\r\n" HOST ": v\r\n\r\n"), 400,
    "empty header field name" },
  { "field-bad-name", REQ ("GET / HTTP/1.1\r\n" HOST "X[1]: v\r\n\r\n"), 400,
    "malformed header field name" },
  { "field-value-nul", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\0b\r\n\r\n"), 400,
    "control character in header field \"X-A\"" },
  { "field-value-del", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\x7f\r\n\r\n"), 400,
    "control character in header field \"X-A\"" },
  { "field-value-vt", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\x0b\r\n\r\n"), 400,
    "control character in header field \"X-A\"" },
  { "bare-lf-in-field", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\nX-B: b\r\n\r\n"), 400,
    "bare LF in the request head" },
  { "bare-lf-ending", REQ ("GET / HTTP/1.1\n" HOST "\n"), 400, "bare LF in the request head" },
  { "bare-cr-in-field", REQ ("GET / HTTP/1.1\r\n" HOST "X-A: a\rb\r\n\r\n"), 400,
    "bare CR in the request head" },
  { "bare-cr-final", REQ ("GET / HTTP/1.1\r\n" HOST "\r\r\n"), 400,
    "bare CR in the request head" },
  /* the request line */
  { "empty-line-first", REQ ("\r\nGET / HTTP/1.1\r\n" HOST "\r\n"), 400,
    "empty line before the request line" },
  { "missing-version", REQ ("GET /\r\n" HOST "\r\n"), 400, "malformed request line" },
  { "double-space", REQ ("GET  / HTTP/1.1\r\n" HOST "\r\n"), 400, "malformed request line" },
  { "space-in-target", REQ ("GET /a b HTTP/1.1\r\n" HOST "\r\n"), 400,
    "malformed request line" },
  { "lowercase-version", REQ ("GET / http/1.1\r\n" HOST "\r\n"), 400,
    "malformed HTTP version \"http/1.1\"" },
  { "http2-version", REQ ("GET / HTTP/2.0\r\n" HOST "\r\n"), 505,
    "HTTP version \"HTTP/2.0\" is not supported" },
  { "http12-version", REQ ("GET / HTTP/1.2\r\n" HOST "\r\n"), 505,
    "HTTP version \"HTTP/1.2\" is not supported" },
  { "http2-preface", REQ ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505,
    "HTTP version \"HTTP/2.0\" is not supported" },
  { "bad-method", REQ ("G(T / HTTP/1.1\r\n" HOST "\r\n"), 400, "malformed request method" },
  { "empty-method", REQ (" / HTTP/1.1\r\n" HOST "\r\n"), 400, "empty request method" },
  { "relative-target", REQ ("GET index.html HTTP/1.1\r\n" HOST "\r\n"), 400,
    "request target is neither a path nor an http(s) URI" },
  { "ftp-target", REQ ("GET ftp://example.org/ HTTP/1.1\r\n" HOST "\r\n"), 400,
    "request target is neither a path nor an http(s) URI" },
  { "empty-authority", REQ ("GET http:///x HTTP/1.1\r\n" HOST "\r\n"), 400,
    "request target is neither a path nor an http(s) URI" },
  { "authority-form", REQ ("CONNECT example.org:443 HTTP/1.1\r\n" HOST "\r\n"), 400,
    "request target is neither a path nor an http(s) URI" },
  { "asterisk-for-get", REQ ("GET * HTTP/1.1\r\n" HOST "\r\n"), 400,
    "asterisk-form target outside OPTIONS" },
  { "asterisk-lowercase-options", REQ ("options * HTTP/1.1\r\n" HOST "\r\n"), 400,
    "asterisk-form target outside OPTIONS" },
  { "target-del", REQ ("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n"), 400,
    "byte 0x7f not allowed in the request target" },
  { "target-high-byte", REQ ("GET /\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n"), 400,
    "byte 0xc3 not allowed in the request target" },
  { "target-tab", REQ ("GET /a\tb HTTP/1.1\r\n" HOST "\r\n"), 400,
    "byte 0x09 not allowed in the request target" },
  { "target-nul", REQ ("GET /a\0 HTTP/1.1\r\n" HOST "\r\n"), 400,
    "byte 0x00 not allowed in the request target" },
  { "target-fragment", REQ ("GET /a#b HTTP/1.1\r\n" HOST "\r\n"), 400,
    "byte 0x23 not allowed in the request target" },
  { "dot-dot-segment", REQ ("POST /upload/../admin HTTP/1.1\r\n" HOST "\r\n"), 400,
    "dot segment in the request path" },
  { "dot-segment-at-end", REQ ("GET /a/. HTTP/1.1\r\n" HOST "\r\n"), 400,
    "dot segment in the request path" },
  { "encoded-dot-segment", REQ ("GET /a/%2e%2E/b HTTP/1.1\r\n" HOST "\r\n"), 400,
    "dot segment in the request path" },
  { "absolute-dot-segment", REQ ("GET http://example.org/a/../b?x HTTP/1.1\r\n" HOST "\r\n"),
    400, "dot segment in the request path" },
  /* chunked bodies */
  { "chunk-size-not-hex", REQ (POST_CHUNKED "g\r\n"), 400, "chunk size is not a hex number" },
  { "chunk-size-0x", REQ (POST_CHUNKED "0x5\r\nhello\r\n0\r\n\r\n"), 400,
    "malformed chunk size" },
  { "chunk-size-leading-space", REQ (POST_CHUNKED " 5\r\nhello\r\n"), 400,
    "chunk size is not a hex number" },
  { "chunk-size-negative", REQ (POST_CHUNKED "-5\r\nhello\r\n"), 400,
    "chunk size is not a hex number" },
  { "chunk-size-17-digits", REQ (POST_CHUNKED "00000000000000005\r\nhello\r\n"), 400,
    "chunk size with more than 16 hex digits" },
  { "chunk-size-trailing-space", REQ (POST_CHUNKED "5 \r\nhello\r\n"), 400,
    "malformed chunk extension" },
  { "chunk-size-bare-lf", REQ (POST_CHUNKED "5\nhello\r\n"), 400, "malformed chunk size" },
  { "chunk-size-bare-cr", REQ (POST_CHUNKED "5\rhello\r\n"), 400,
    "bare CR in a chunk size line" },
  { "chunk-ext-empty-name", REQ (POST_CHUNKED "5;\r\nhello\r\n"), 400,
    "malformed chunk extension" },
  { "chunk-ext-no-name", REQ (POST_CHUNKED "5;=x\r\nhello\r\n"), 400,
    "malformed chunk extension" },
  { "chunk-ext-empty-value", REQ (POST_CHUNKED "5;a=\r\nhello\r\n"), 400,
    "malformed chunk extension" },
  { "chunk-ext-open-quote", REQ (POST_CHUNKED "5;a=\"x\r\nhello\r\n"), 400,
    "malformed chunk extension" },
  { "chunk-ext-control", REQ (POST_CHUNKED "5;a\x01\r\nhello\r\n"), 400,
    "malformed chunk extension" },
  { "chunk-ext-too-long",
    REQ (POST_CHUNKED "5;a=0123456789012345678901234567890123456789012345678901234567890123456789"
                      "012345678901234567890123456789012345678901234567890123456789\r\nhello\r\n"),
    400, "chunk size line longer than 128 bytes" },
  { "chunk-data-too-long", REQ (POST_CHUNKED "5\r\nhelloX\r\n0\r\n\r\n"), 400,
    "chunk data not followed by CRLF" },
  { "chunk-data-bare-lf", REQ (POST_CHUNKED "5\r\nhello\n0\r\n\r\n"), 400,
    "chunk data not followed by CRLF" },
  { "chunk-data-cr-only", REQ (POST_CHUNKED "5\r\nhello\r0\r\n\r\n"), 400,
    "chunk data not followed by CRLF" },
  { "chunked-over-cap", REQ (POST_CHUNKED "65\r\n"), 413,
    "chunked request body over the limit of 100 bytes" },
  { "trailer-obs-fold", REQ (POST_CHUNKED "0\r\nX-A: a\r\n b\r\n\r\n"), 400,
    "obsolete line folding in the trailer section" },
  { "trailer-space-before-colon", REQ (POST_CHUNKED "0\r\nX-A : a\r\n\r\n"), 400,
    "whitespace between a trailer field name and its colon" },
  { "trailer-bad-name", REQ (POST_CHUNKED "0\r\n:a\r\n\r\n"), 400,
    "malformed trailer field name" },
  { "trailer-control", REQ (POST_CHUNKED "0\r\nX-A: a\0\r\n\r\n"), 400,
    "control character in a trailer field" },
  { "trailer-bare-lf", REQ (POST_CHUNKED "0\r\nX-A: a\n\r\n"), 400,
    "control character in a trailer field" },
  { "trailer-final-bare-cr", REQ (POST_CHUNKED "0\r\n\rX"), 400,
    "bare CR in the trailer section" },
  { "trailer-line-too-long",
    REQ (POST_CHUNKED "0\r\nX-Long: 012345678901234567890123456789012345678901234567890123456789"
                      "0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
                      "\r\n"),
    431, "trailer field line longer than 128 bytes" },
  /* body caps */
  { "content-length-over-cap",
    REQ ("POST /upload HTTP/1.1\r\n" HOST "Content-Length: 101\r\n\r\n"), 413,
    "request body of 101 bytes is over the limit of 100 bytes" },
  { "body-where-none-allowed", REQ ("POST /other HTTP/1.1\r\n" HOST "Content-Length: 1\r\n\r\n"),
    413, "request body of 1 bytes is over the limit of 0 bytes" },
};

static void
assert_refusal_result (gssize released, guint status, const GError *error, const Refusal *refusal)
{
  g_assert_cmpint (released, ==, -1);
  g_assert_cmpuint (status, ==, refusal->status);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, refusal->reason);
}

static void
test_refusal (gconstpointer data)
{
  const Refusal *refusal = data;
  CapLog log = { 0 };
  CapLog log_bytes = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (EhFraming) bytes = new_framing (&log_bytes);
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) again = NULL;
  g_autoptr (GError) error_bytes = NULL;
  guint status = 0;
  guint status_again = 0;
  guint status_bytes = 0;
  gssize released;

  released = eh_framing_feed (framing, (const guint8 *) refusal->request, refusal->len, &status,
                              &error);
  assert_refusal_result (released, status, error, refusal);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_FAILED);
  /* refused stays refused, with the same answer */
  released = eh_framing_feed (framing, (const guint8 *) "GET / HTTP/1.0\r\n\r\n", 18,
                              &status_again, &again);
  assert_refusal_result (released, status_again, again, refusal);
  /* and the answer does not depend on how the bytes arrived */
  released = feed_in_steps (bytes, refusal->request, refusal->len, 1, &status_bytes, &error_bytes);
  assert_refusal_result (released, status_bytes, error_bytes, refusal);
  g_assert_cmpint (eh_framing_get_state (bytes), ==, EH_FRAMING_STATE_FAILED);
}

/* ---- sizes ---- */

static void
test_long_uri_is_414 (void)
{
  g_autoptr (GString) request = g_string_new ("GET /?");
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  for (guint i = 0; i < 20000; i++)
    g_string_append_c (request, 'a');
  g_string_append (request, " HTTP/1.1\r\n" HOST "\r\n");
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 414);
  g_assert_cmpstr (error->message, ==, "request target longer than 2048 bytes");
}

static void
test_long_uri_refused_before_line_ends (void)
{
  g_autoptr (GString) request = g_string_new ("GET /");
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  /* exactly 2048 target bytes so far: still waiting */
  while (request->len < 4 + 2048)
    g_string_append_c (request, 'a');
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, 0);
  g_string_append_c (request, 'a');
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 414);
}

static void
test_huge_head_is_431_while_incomplete (void)
{
  g_autoptr (GString) request = g_string_new ("GET / HTTP/1.1\r\n" HOST);
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  /* no end of head in sight: refused once it passes 16 KiB */
  /* long lines, so the field count stays under its own limit */
  while (request->len < 16384) {
    g_string_append (request, "X-Filler: ");
    for (guint i = 0; i < 300; i++)
      g_string_append_c (request, 'v');
    g_string_append (request, "\r\n");
  }
  g_string_truncate (request, 16384);
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, 0);
  g_string_append_c (request, 'v');
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 431);
  g_assert_cmpstr (error->message, ==, "request head larger than 16384 bytes");
}

static void
test_too_many_headers_is_431 (void)
{
  g_autoptr (GString) request = g_string_new ("GET / HTTP/1.1\r\n" HOST);
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  for (guint i = 0; i < 100; i++)
    g_string_append_printf (request, "X-F%u: v\r\n", i);
  g_string_append (request, "\r\n");
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 431);
  g_assert_cmpstr (error->message, ==, "more than 100 header fields");
}

static void
test_trailers_bounded_by_head_limit (void)
{
  EhFramingLimits limits = { 2048, 256, 100 };
  g_autoptr (EhFraming) framing = eh_framing_new (&limits, unlimited_body_cap, NULL);
  g_autoptr (GString) request = g_string_new ("POST / HTTP/1.1\r\n" HOST
                                              "Transfer-Encoding: chunked\r\n\r\n0\r\n");
  g_autoptr (GError) error = NULL;
  guint status = 0;

  for (guint i = 0; i < 40; i++)
    g_string_append_printf (request, "X-T%02u: v\r\n", i);
  g_assert_cmpint (feed_text (framing, request->str, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 431);
  g_assert_cmpstr (error->message, ==, "trailer section larger than 256 bytes");
}

static void
test_too_many_trailers_is_431 (void)
{
  EhFramingLimits limits = { 2048, 16384, 3 };
  g_autoptr (EhFraming) framing = eh_framing_new (&limits, unlimited_body_cap, NULL);
  const char *request = "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
                        "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  g_autoptr (GError) error = NULL;
  guint status = 0;

  g_assert_cmpint (feed_text (framing, request, &status, &error), ==, -1);
  g_assert_cmpuint (status, ==, 431);
  g_assert_cmpstr (error->message, ==, "more than 3 trailer fields");
}

/* ---- many requests ---- */

static void
test_request_count (void)
{
  g_autoptr (GString) request = g_string_new (NULL);
  CapLog log = { 0 };
  g_autoptr (EhFraming) framing = new_framing (&log);
  g_autoptr (GError) error = NULL;
  guint status = 0;

  for (guint i = 0; i < 50; i++)
    g_string_append_printf (request, "GET /%u HTTP/1.1\r\n" HOST "\r\n", i);
  g_assert_cmpint (feed_in_steps (framing, request->str, request->len, 13, &status, &error), ==,
                   (gssize) request->len);
  g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 50);
  g_assert_cmpuint (log.calls, ==, 50);
  g_assert_cmpstr (log.path, ==, "/49");
}

static void
test_every_split_gives_the_same_answer (void)
{
  const char *request = "POST /upload HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n"
                        "4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n"
                        "POST /upload HTTP/1.1\r\n" HOST "Content-Length: 3\r\n\r\nabc"
                        "GET / HTTP/1.1\r\n" HOST "\r\n";
  gsize len = strlen (request);

  for (gsize step = 1; step <= len; step++) {
    CapLog log = { 0 };
    g_autoptr (EhFraming) framing = new_framing (&log);
    g_autoptr (GError) error = NULL;
    guint status = 0;

    g_assert_cmpint (feed_in_steps (framing, request, len, step, &status, &error), ==,
                     (gssize) len);
    g_assert_no_error (error);
    g_assert_cmpuint (eh_framing_get_request_count (framing), ==, 3);
    g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_IDLE);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/framing/valid-get", test_valid_get);
  g_test_add_func ("/eh/framing/empty-feed", test_empty_feed);
  g_test_add_func ("/eh/framing/http10-without-host", test_http10_without_host);
  g_test_add_func ("/eh/framing/partial-head-is-held-back", test_partial_head_is_held_back);
  g_test_add_func ("/eh/framing/head-released-with-its-body", test_head_released_with_its_body);
  g_test_add_func ("/eh/framing/body-released-as-it-arrives", test_body_released_as_it_arrives);
  g_test_add_func ("/eh/framing/pipelined", test_pipelined);
  g_test_add_func ("/eh/framing/pipelined-with-partial-third", test_pipelined_with_partial_third);
  g_test_add_func ("/eh/framing/pipelined-valid-then-invalid", test_pipelined_valid_then_invalid);
  g_test_add_func ("/eh/framing/byte-at-a-time-equals-whole", test_byte_at_a_time_equals_whole);
  g_test_add_func ("/eh/framing/every-split-gives-the-same-answer",
                   test_every_split_gives_the_same_answer);
  g_test_add_func ("/eh/framing/request-count", test_request_count);
  g_test_add_func ("/eh/framing/cap-gets-path-without-query", test_cap_gets_path_without_query);
  g_test_add_func ("/eh/framing/cap-called-once-per-head", test_cap_called_once_per_head);
  g_test_add_func ("/eh/framing/content-length-at-cap", test_content_length_at_cap);
  g_test_add_func ("/eh/framing/content-length-zero-and-leading-zeros",
                   test_content_length_zero_and_leading_zeros);
  g_test_add_func ("/eh/framing/content-length-limit-is-2-62", test_content_length_limit_is_2_62);
  g_test_add_func ("/eh/framing/no-cap-function-means-no-body",
                   test_no_cap_function_means_no_body);
  g_test_add_func ("/eh/framing/default-limits", test_default_limits);
  g_test_add_func ("/eh/framing/head-of-exactly-max-bytes", test_head_of_exactly_max_bytes);
  g_test_add_func ("/eh/framing/header-count-at-limit", test_header_count_at_limit);
  g_test_add_func ("/eh/framing/chunked-with-extensions-and-trailers",
                   test_chunked_with_extensions_and_trailers);
  g_test_add_func ("/eh/framing/chunked-released-as-it-arrives",
                   test_chunked_released_as_it_arrives);
  g_test_add_func ("/eh/framing/chunked-body-at-cap", test_chunked_body_at_cap);
  g_test_add_func ("/eh/framing/chunked-over-cap-refused-before-data",
                   test_chunked_over_cap_refused_before_data);
  g_test_add_func ("/eh/framing/chunk-size-limit-is-2-62", test_chunk_size_limit_is_2_62);
  g_test_add_func ("/eh/framing/long-uri-is-414", test_long_uri_is_414);
  g_test_add_func ("/eh/framing/long-uri-refused-before-line-ends",
                   test_long_uri_refused_before_line_ends);
  g_test_add_func ("/eh/framing/huge-head-is-431-while-incomplete",
                   test_huge_head_is_431_while_incomplete);
  g_test_add_func ("/eh/framing/too-many-headers-is-431", test_too_many_headers_is_431);
  g_test_add_func ("/eh/framing/trailers-bounded-by-head-limit",
                   test_trailers_bounded_by_head_limit);
  g_test_add_func ("/eh/framing/too-many-trailers-is-431", test_too_many_trailers_is_431);
  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++) {
    g_autofree char *path = g_strdup_printf ("/eh/framing/refused/%s", refusals[i].name);

    g_test_add_data_func (path, &refusals[i], test_refusal);
  }
  return g_test_run ();
}
