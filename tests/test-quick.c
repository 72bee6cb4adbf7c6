/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "eh-quick-private.h"

/* a literal with its exact length */
#define HEAD(text) (const guint8 *) text, sizeof (text) - 1

static char *
fake_id (gpointer data)
{
  return g_strdup_printf ("%08x", ++*(guint *) data);
}

typedef struct {
  EhQuickScratch scratch;
  EhQuickRequest request;
  guint ids;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  eh_quick_scratch_init (&f->scratch);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  eh_quick_request_clear (&f->request);
  eh_quick_scratch_clear (&f->scratch);
}

/* @data: a head, and what follows it (a body, the next request) */
static gboolean
parse (Fixture *f, const guint8 *data, gsize len)
{
  const char *end = g_strstr_len ((const char *) data, len, "\r\n\r\n");
  gsize head_len = end != NULL ? (gsize) (end + 4 - (const char *) data) : len;

  eh_quick_request_clear (&f->request);
  if (!eh_quick_request_parse (&f->request, &f->scratch, data, head_len, len, TRUE))
    return FALSE;
  f->request.make_id = fake_id;
  f->request.make_id_data = &f->ids;
  return TRUE;
}

static void
test_reads_a_get (Fixture *f, gconstpointer data)
{
  EhQuickRequest *r = &f->request;

  g_assert_true (parse (f, HEAD ("GET /dl/a%20b%2Fc?x=%41&y%2f HTTP/1.1\r\nHost: example.org:8443\r\n"
                                 "Authorization:  Bearer t  \r\nX-Twice: 1\r\nx-twice: 2\r\n"
                                 "Connection: keep-alive, Close\r\nRange: bytes=0-1\r\n\r\n")));
  g_assert_cmpstr (eh_quick_request_get_method (r), ==, "GET");
  g_assert_false (eh_quick_request_is_head (r));
  /* decoded as libsoup decodes it for handlers; the query stays encoded, but
   * for the unreserved characters GUri normalises, as libsoup has it */
  g_assert_cmpstr (eh_quick_request_get_path (r), ==, "/dl/a b/c");
  g_assert_cmpstr (eh_quick_request_get_query (r), ==, "x=A&y%2F");
  r->prefix_len = 3;
  g_assert_cmpstr (eh_quick_request_get_subpath (r), ==, "/a b/c");
  g_assert_cmpstr (eh_quick_request_get_header (r, "authorization"), ==, "Bearer t");
  g_assert_cmpstr (eh_quick_request_get_header (r, "X-TWICE"), ==, "2");
  g_assert_null (eh_quick_request_get_header (r, "Cookie"));
  g_assert_cmpstr (eh_quick_request_get_range (r), ==, "bytes=0-1");
  g_assert_true (eh_quick_request_header_lists (r, "Connection", "close"));
  g_assert_false (eh_quick_request_header_lists (r, "Connection", "upgrade"));
  g_assert_true (eh_quick_request_is_https (r));
  /* an id is made once, when first asked for */
  g_assert_cmpstr (eh_quick_request_get_id (r), ==, "00000001");
  g_assert_cmpstr (eh_quick_request_get_id (r), ==, "00000001");
  g_assert_true (parse (f, HEAD ("HEAD http://other/x HTTP/1.0\r\nHost: example.org\r\n\r\n")));
  g_assert_true (eh_quick_request_is_head (r));
  g_assert_true (r->http10);
  g_assert_cmpstr (eh_quick_request_get_path (r), ==, "/x");
}

/* what libsoup refuses or treats specially is left to it */
static void
test_declines (Fixture *f, gconstpointer data)
{
  const char *declined[] = {
    /* a POST without a declared length, or with a body libsoup reads itself */
    "POST /x HTTP/1.1\r\nHost: h\r\n\r\n",
    "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\na",
    "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\na",
    "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\na",
    "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "GETX /x HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 00\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
    "GET /x HTTP/1.0\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "GET https://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /x%00 HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /x%zz HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /x%2F..%2Fy HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /x%2F.. HTTP/1.1\r\nHost: h\r\n\r\n",
    /* shapes EhFraming never passes: declined, not trusted */
    "GET /x\r\nHost: h\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost h\r\n\r\n",
    "GET /x HTTP/1.1\r\nHost: h\r\n",
    "GET /x HTTP/1.1\r\nHost: h",
    "GET  HTTP/1.1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (declined); i++) {
    g_test_message ("%s", declined[i]);
    g_assert_false (parse (f, (const guint8 *) declined[i], strlen (declined[i])));
  }
  g_assert_true (parse (f, HEAD ("GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")));
  /* libsoup takes an empty Host too */
  g_assert_true (parse (f, HEAD ("GET /x HTTP/1.1\r\nHost:\r\n\r\n")));
}

static void
test_reads_a_post (Fixture *f, gconstpointer data)
{
  EhQuickRequest *r = &f->request;
  GBytes *body;

  /* the body is exactly Content-Length bytes; what follows is the next request's */
  g_assert_true (parse (f, HEAD ("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /x")));
  g_assert_cmpstr (eh_quick_request_get_method (r), ==, "POST");
  g_assert_false (eh_quick_request_is_head (r));
  body = eh_quick_request_get_body (r);
  g_assert_nonnull (body);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "hello", 5);
  g_assert_cmpuint (r->consumed, ==, strlen ("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"));

  g_assert_true (parse (f, HEAD ("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")));
  g_assert_cmpuint (g_bytes_get_size (eh_quick_request_get_body (r)), ==, 0);

  g_assert_true (parse (f, HEAD ("GET /t HTTP/1.1\r\nHost: h\r\n\r\n")));
  g_assert_null (eh_quick_request_get_body (r));

  /* the body not all there yet: read, without a body, and how much to wait for */
  g_assert_true (parse (f, HEAD ("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcd")));
  g_assert_null (eh_quick_request_get_body (r));
  g_assert_cmpuint (r->consumed, ==, strlen ("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde"));
}

static void
delivered (EhQuickRequest *request, gpointer data)
{
  ++*(guint *) data;
}

/* a held request keeps its own copy of the head: the front's scratch is
 * reused by the next request meanwhile; its answer is delivered once */
static void
test_holds (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) answer = g_bytes_new_static ("ok", 2);
  EhQuickRequest *held;
  guint deliveries = 0;

  g_assert_true (parse (f, HEAD ("POST /t?q=1 HTTP/1.1\r\nHost: h\r\nX-A: a\r\nContent-Length: 3\r\n\r\nabc")));
  eh_quick_request_add_header (&f->request, "X-Before", "1");
  held = eh_quick_request_hold (&f->request);
  g_assert_true (f->request.held == held);
  eh_quick_request_await (held, delivered, &deliveries, NULL);
  g_assert_cmpuint (deliveries, ==, 0);

  g_assert_true (parse (f, HEAD ("GET /other HTTP/1.1\r\nHost: z\r\nX-A: zzzzzzzzz\r\n\r\n")));
  g_assert_cmpstr (eh_quick_request_get_path (held), ==, "/t");
  g_assert_cmpstr (eh_quick_request_get_query (held), ==, "q=1");
  g_assert_cmpstr (eh_quick_request_get_header (held, "x-a"), ==, "a");
  g_assert_cmpmem (g_bytes_get_data (eh_quick_request_get_body (held), NULL), 3, "abc", 3);
  g_assert_cmpstr (eh_quick_request_get_id (held), ==, "00000001");

  eh_quick_request_answer (held, SOUP_STATUS_OK, "text/plain", answer);
  g_assert_cmpuint (deliveries, ==, 1);
  g_assert_cmpstr (held->scratch->headers->str, ==, "X-Before: 1\r\n");
  eh_quick_request_unref (held);
  g_assert_cmpuint (deliveries, ==, 1);

  /* answered before the front waits for it: delivered at once */
  g_assert_true (parse (f, HEAD ("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")));
  held = eh_quick_request_hold (&f->request);
  eh_quick_request_answer (held, SOUP_STATUS_NO_CONTENT, NULL, NULL);
  eh_quick_request_await (held, delivered, &deliveries, NULL);
  g_assert_cmpuint (deliveries, ==, 2);
  eh_quick_request_unref (held);
}

static char *
written (Fixture *f, gboolean close, gsize *body_bytes)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GRegex) date = g_regex_new ("Date: [^\r]*\r\n", 0, 0, NULL);

  *body_bytes = eh_quick_request_write (&f->request, close, out);
  g_byte_array_append (out, (const guint8 *) "", 1);
  return g_regex_replace_literal (date, (const char *) out->data, -1, 0, "", 0, NULL);
}

static void
test_writes_answers (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("hello", 5);
  g_autofree char *text = NULL;
  gsize sent;

  g_assert_true (parse (f, HEAD ("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")));
  eh_quick_request_add_header (&f->request, "ETag", "\"e\"");
  eh_quick_request_answer (&f->request, SOUP_STATUS_OK, "text/plain", body);
  text = written (f, FALSE, &sent);
  g_assert_cmpstr (text, ==, "HTTP/1.1 200 OK\r\nServer: ehttpd\r\nETag: \"e\"\r\n"
                             "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  g_assert_cmpuint (sent, ==, 5);
  g_clear_pointer (&text, g_free);

  /* HEAD: the length, no body; HTTP/1.0 answered as 1.0; close said when asked */
  g_assert_true (parse (f, HEAD ("HEAD /x HTTP/1.0\r\nHost: h\r\n\r\n")));
  eh_quick_request_answer (&f->request, SOUP_STATUS_OK, "text/plain", body);
  text = written (f, TRUE, &sent);
  g_assert_cmpstr (text, ==, "HTTP/1.0 200 OK\r\nServer: ehttpd\r\nConnection: close\r\n"
                             "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n");
  g_assert_cmpuint (sent, ==, 0);
  g_clear_pointer (&text, g_free);

  /* 304: "Content-Length: 0" and no body, as libsoup writes it */
  g_assert_true (parse (f, HEAD ("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")));
  eh_quick_request_answer (&f->request, SOUP_STATUS_NOT_MODIFIED, NULL, NULL);
  text = written (f, FALSE, &sent);
  g_assert_cmpstr (text, ==, "HTTP/1.1 304 Not Modified\r\nServer: ehttpd\r\nContent-Length: 0\r\n\r\n");
  g_clear_pointer (&text, g_free);

  /* a text answer, as eh_request_respond_text() gives it */
  g_assert_true (parse (f, HEAD ("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")));
  eh_quick_request_answer_text (&f->request, SOUP_STATUS_FORBIDDEN, "no");
  text = written (f, FALSE, &sent);
  g_assert_cmpstr (text, ==, "HTTP/1.1 403 Forbidden\r\nServer: ehttpd\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nno\n");
}

/* a handler's header with CR or LF never reaches the wire */
static void
test_refuses_header_injection (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ()) {
    g_assert_true (parse (f, HEAD ("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")));
    eh_quick_request_add_header (&f->request, "X-A", "a\r\nX-Evil: 1");
    g_assert_cmpuint (f->scratch.headers->len, ==, 0);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_stderr ("*CRITICAL*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/eh/quick/reads-a-get", Fixture, NULL, fixture_setup, test_reads_a_get, fixture_teardown);
  g_test_add ("/eh/quick/reads-a-post", Fixture, NULL, fixture_setup, test_reads_a_post, fixture_teardown);
  g_test_add ("/eh/quick/holds", Fixture, NULL, fixture_setup, test_holds, fixture_teardown);
  g_test_add ("/eh/quick/declines", Fixture, NULL, fixture_setup, test_declines, fixture_teardown);
  g_test_add ("/eh/quick/writes-answers", Fixture, NULL, fixture_setup, test_writes_answers,
              fixture_teardown);
  g_test_add ("/eh/quick/refuses-header-injection", Fixture, NULL, fixture_setup,
              test_refuses_header_injection, fixture_teardown);
  return g_test_run ();
}
