/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmg.h"

/*
 * The gateway's parts without a daemon: the tunnel's messages (every way a
 * peer can get one wrong) and which client URLs are relayed.
 */

static GBytes *
raw (guchar kind, guint32 stream, const char *fields_text, const char *data)
{
  g_autoptr (GVariant) fields = g_variant_ref_sink (g_variant_new_parsed (fields_text));
  g_autoptr (GVariant) message = g_variant_ref_sink (
      g_variant_new ("(yu@a{sv}@ay)", kind, stream, fields,
                     g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, strlen (data), 1)));

  return g_variant_get_data_as_bytes (message);
}

static void
assert_refused (GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhCmgMessage) message = eh_cmg_wire_decode (bytes, &error);

  g_assert_null (message);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_bytes_unref (bytes);
}

static void
test_wire_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = g_bytes_new_static ("{\"a\":1}", 7);
  g_autoptr (GBytes) bytes = eh_cmg_wire_encode (
      EH_CMG_REQUEST, 7,
      g_variant_new_parsed ("{'method': <'POST'>, 'path': <'/ehttpd/mp/token'>, "
                            "'headers': <[('Content-Type', 'application/json')]>, 'correlation': <'c'>, "
                            "'client': <'anonymous'>, 'gateway': <'g'>, 'mapping': <'1'>}"),
      body, &error);
  g_autoptr (EhCmgMessage) message = NULL;
  const char *path = NULL;

  g_assert_no_error (error);
  message = eh_cmg_wire_decode (bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message->kind, ==, EH_CMG_REQUEST);
  g_assert_cmpuint (message->stream, ==, 7);
  g_assert_true (g_variant_lookup (message->fields, "path", "&s", &path));
  g_assert_cmpstr (path, ==, "/ehttpd/mp/token");
  g_assert_true (g_bytes_equal (message->data, body));
}

static void
test_wire_encoder_refuses_what_the_decoder_would (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) big = g_bytes_new_take (g_malloc0 (EH_CMG_WIRE_MAX_BYTES + 1), EH_CMG_WIRE_MAX_BYTES + 1);

  g_assert_null (eh_cmg_wire_encode (EH_CMG_HEAD, 1, g_variant_new_parsed ("{'status': <200>}"), NULL, &error));
  g_clear_error (&error);
  g_assert_null (eh_cmg_wire_encode (EH_CMG_DATA, 1, NULL, big, &error));
  g_clear_error (&error);
  g_assert_null (eh_cmg_wire_encode (EH_CMG_CREDIT, 0, g_variant_new_parsed ("{'bytes': <@u 5>}"), NULL, &error));
  g_assert_nonnull (error);
}

static void
test_wire_hostile (void)
{
  g_autoptr (GBytes) good = raw (EH_CMG_CREDIT, 3, "{'bytes': <@u 65536>}", "");
  g_autoptr (EhCmgMessage) message = eh_cmg_wire_decode (good, NULL);
  GString *many = g_string_new ("[");
  g_autofree char *headers = NULL;
  const guint8 short_bytes[] = { 1, 2, 3 };

  g_assert_nonnull (message);
  /* not the type, or not its normal form */
  assert_refused (g_bytes_new (short_bytes, sizeof short_bytes));
  assert_refused (g_bytes_new ("", 0));
  /* kinds: unknown, or on the wrong stream */
  assert_refused (raw (0, 1, "@a{sv} {}", ""));
  assert_refused (raw (99, 1, "@a{sv} {}", ""));
  assert_refused (raw (EH_CMG_HELLO, 5, "{'name': <'c'>, 'site': <'PS1'>, 'mappings': <@a(sss) []>}", ""));
  assert_refused (raw (EH_CMG_DATA, 0, "@a{sv} {}", "x"));
  /* fields: missing, unknown, of the wrong type, twice */
  assert_refused (raw (EH_CMG_CREDIT, 3, "@a{sv} {}", ""));
  assert_refused (raw (EH_CMG_CREDIT, 3, "{'bytes': <@u 1>, 'more': <@u 1>}", ""));
  assert_refused (raw (EH_CMG_CREDIT, 3, "{'bytes': <@t 1>}", ""));
  assert_refused (raw (EH_CMG_CREDIT, 3, "{'bytes': <@u 1>, 'bytes': <@u 2>}", ""));
  /* data where the kind carries none */
  assert_refused (raw (EH_CMG_CREDIT, 3, "{'bytes': <@u 1>}", "x"));
  /* headers that may not cross, or too many */
  assert_refused (raw (EH_CMG_HEAD, 3, "{'status': <@u 200>, 'headers': <[('Set-Cookie', 'a=b')]>}", ""));
  assert_refused (raw (EH_CMG_HEAD, 3, "{'status': <@u 200>, 'headers': <[('ETag', 'a\\nb')]>}", ""));
  for (guint i = 0; i < EH_CMG_WIRE_MAX_HEADERS + 1; i++)
    g_string_append_printf (many, "%s('Accept', 'x')", i > 0 ? ", " : "");
  g_string_append (many, "]");
  headers = g_strdup_printf ("{'status': <@u 200>, 'headers': <@a(ss) %s>}", many->str);
  g_string_free (many, TRUE);
  assert_refused (raw (EH_CMG_HEAD, 3, headers, ""));
}

/* a copy of @bytes with the byte at @offset (from the end when negative) set to @value */
static GBytes *
tampered (GBytes *bytes, gssize offset, guint8 value)
{
  gsize len = g_bytes_get_size (bytes);
  guint8 *data = g_memdup2 (g_bytes_get_data (bytes, NULL), len);

  data[offset >= 0 ? (gsize) offset : len + offset] = value;
  return g_bytes_new_take (data, len);
}

static void
test_wire_long_bodies (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = g_bytes_new_take (g_malloc (200 * 1024), 200 * 1024);
  g_autoptr (GBytes) data = NULL;
  g_autoptr (GBytes) head = NULL;
  g_autoptr (EhCmgMessage) message = NULL;
  g_autoptr (GBytes) longer = NULL;
  gsize len = 0;

  memset ((guint8 *) g_bytes_get_data (body, NULL), 0x5a, 200 * 1024);
  data = eh_cmg_wire_encode (EH_CMG_DATA, 3, NULL, body, &error);
  g_assert_no_error (error);
  message = eh_cmg_wire_decode (data, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (message->data, body));
  g_clear_pointer (&message, eh_cmg_message_free);
  head = eh_cmg_wire_encode (EH_CMG_HEAD, 3,
                             g_variant_new_parsed ("{'status': <@u 200>, 'headers': <[('ETag', '\"x\"')]>, "
                                                   "'complete': <true>}"),
                             body, &error);
  g_assert_no_error (error);
  message = eh_cmg_wire_decode (head, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (message->data, body));

  /* not the normal form, though GLib reads it: padding that is not zero, a
   * framing offset (4 bytes, little-endian, at the end) that points into
   * the body or past it, bytes past the end */
  assert_refused (tampered (data, 1, 1));
  assert_refused (tampered (head, 3, 0x80));
  assert_refused (tampered (data, -4, 9));
  assert_refused (tampered (data, -1, 0xff));
  assert_refused (tampered (head, -4, 0x10));
  g_bytes_get_data (data, &len);
  longer = g_bytes_new_take (g_malloc0 (len + 3), len + 3);
  memcpy ((guint8 *) g_bytes_get_data (longer, NULL), g_bytes_get_data (data, NULL), len);
  assert_refused (g_bytes_ref (longer));
}

static void
test_window_growth (void)
{
  const gsize first = EH_CMG_WIRE_WINDOW, chunk = EH_CMG_WIRE_CHUNK;

  /* a client that has not taken all the gateway holds: no growth */
  g_assert_cmpuint (eh_cmg_window_growth (first, chunk, FALSE, 0), ==, 0);
  /* one that has: as much again as it took, up to the cap */
  g_assert_cmpuint (eh_cmg_window_growth (first, chunk, TRUE, 0), ==, chunk);
  g_assert_cmpuint (eh_cmg_window_growth (EH_CMG_WIRE_MAX_WINDOW - 10, chunk, TRUE, 0), ==, 10);
  g_assert_cmpuint (eh_cmg_window_growth (EH_CMG_WIRE_MAX_WINDOW, chunk, TRUE, 0), ==, 0);
  /* within what the gateway allows all streams together */
  g_assert_cmpuint (eh_cmg_window_growth (first, chunk, TRUE, EH_CMG_WINDOW_BUDGET - 5), ==, 5);
  g_assert_cmpuint (eh_cmg_window_growth (first, chunk, TRUE, EH_CMG_WINDOW_BUDGET), ==, 0);
  g_assert_cmpuint (eh_cmg_window_growth (first, chunk, TRUE, EH_CMG_WINDOW_BUDGET + 1), ==, 0);
}

static void
test_routes (void)
{
  g_assert_true (eh_cmg_route ("/ehttpd/mp/nonce", "mp")->open);
  g_assert_true (eh_cmg_route ("/ehttpd/mp/register", "mp")->open);
  g_assert_true (eh_cmg_route ("/ehttpd/mp/sts", "mp")->open);
  g_assert_false (eh_cmg_route ("/ehttpd/mp/policy", "mp")->open);
  g_assert_false (eh_cmg_route ("/ehttpd/mp/nonceX", "mp")->open);
  g_assert_false (eh_cmg_route ("/CCMTOKENAUTH_SMS_DP_SMSPKG$/PS100001/a", "dp")->open);
  g_assert_true (eh_cmg_route ("/CCMTOKENAUTH_SMS_DP_SMSSIG$/PS100001", "dp")->open);
  g_assert_null (eh_cmg_route ("/CCMTOKENAUTH_SMS_DP_SMSPKG$/PS100001/a", "mp"));
  g_assert_null (eh_cmg_route ("/ehttpd/mp/policy", "dp"));
  g_assert_null (eh_cmg_route ("/ehttpd/ca/trust-bundle.json", "mp"));
  g_assert_null (eh_cmg_route ("/SMS_DP_SMSPKG$/PS100001/a", "dp"));
  g_assert_null (eh_cmg_route ("/ehttpd/link", "mp"));
}

static void
test_split_and_clean (void)
{
  g_autofree char *id = NULL;
  const char *rest = eh_cmg_split_path ("/CCM_Proxy_ServerAuth/72057594037927937/ehttpd/mp/nonce", &id);
  const char *const malformed[] = {
    "/CCM_Proxy_ServerAuth/", "/CCM_Proxy_ServerAuth//ehttpd", "/CCM_Proxy_ServerAuth/12",
    "/CCM_Proxy_ServerAuth/1%32/x", "/CCM_Proxy_ServerAuth/a-b/x", "/CCM_Proxy_Other/1/x",
    "/CCM_Proxy_ServerAuth/123456789012345678901234567890123/x", NULL,
  };
  const char *const dirty[] = {
    "/a/../b", "/a/%2e%2E/b", "/a/./b", "/a%5cb", "/a\\b", "/a//b", "/a%00b", "/a%0ab", "/a%7f", NULL,
  };

  g_assert_cmpstr (rest, ==, "/ehttpd/mp/nonce");
  g_assert_cmpstr (id, ==, "72057594037927937");
  g_clear_pointer (&id, g_free);
  g_assert_cmpstr (eh_cmg_split_path ("/CCM_Proxy_MutualAuth/7/SMS_MP/.sms_aut", &id), ==, "/SMS_MP/.sms_aut");
  for (guint i = 0; malformed[i] != NULL; i++) {
    g_autofree char *none = NULL;

    g_assert_null (eh_cmg_split_path (malformed[i], &none));
    g_assert_null (none);
  }
  g_assert_true (eh_cmg_path_clean ("/CCMTOKENAUTH_SMS_DP_SMSPKG$/PS100001/sub%20dir/a.bin"));
  for (guint i = 0; dirty[i] != NULL; i++)
    g_assert_false (eh_cmg_path_clean (dirty[i]));
}

/* a long body's DATA, framed by a client, is eight whole 16 KiB TLS records */
static void
test_wire_data_fills_records (void)
{
  g_autofree guint8 *body = g_malloc0 (EH_CMG_WIRE_DATA_BYTES);
  g_autoptr (GBytes) data = g_bytes_new_static (body, EH_CMG_WIRE_DATA_BYTES);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) message = eh_cmg_wire_build (EH_CMG_DATA, 7, NULL, data, &error);
  gsize client_head = 2 + 8 + 4; /* 64-bit length, mask */

  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_size (message) + client_head, ==, 8 * 16384);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/cmg/wire/round-trip", test_wire_round_trip);
  g_test_add_func ("/eh/cmg/wire/encoder-refuses", test_wire_encoder_refuses_what_the_decoder_would);
  g_test_add_func ("/eh/cmg/wire/hostile", test_wire_hostile);
  g_test_add_func ("/eh/cmg/wire/long-bodies", test_wire_long_bodies);
  g_test_add_func ("/eh/cmg/wire/data-fills-records", test_wire_data_fills_records);
  g_test_add_func ("/eh/cmg/relay/window-growth", test_window_growth);
  g_test_add_func ("/eh/cmg/route/routes", test_routes);
  g_test_add_func ("/eh/cmg/route/split-and-clean", test_split_and_clean);
  return g_test_run ();
}
