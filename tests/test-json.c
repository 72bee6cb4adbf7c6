/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-json.h"

static JsonNode *
parse (const char *text, GError **error)
{
  return eh_json_parse_strict (text, strlen (text), EH_JSON_DEFAULT_MAX_BYTES,
                               EH_JSON_DEFAULT_MAX_DEPTH, error);
}

static void
assert_refused (const char *text, const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = parse (text, &error);

  g_assert_null (node);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, reason) == NULL)
    g_error ("%s: got \"%s\", wanted \"%s\"", text, error->message, reason);
}

static void
test_accepts_rfc8259 (void)
{
  const char *text = " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {},"
                     " \"c\": [], \"d\": 9007199254740992} ";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = parse (text, &error);
  JsonObject *obj;
  gint64 d = 0;
  const char *s = NULL;

  g_assert_no_error (error);
  obj = json_node_get_object (node);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (obj, "a")), ==, 6);
  g_assert_true (eh_json_object_get_int_checked (obj, "d", &d, NULL));
  g_assert_cmpint (d, ==, G_GINT64_CONSTANT (9007199254740992));
  g_assert_false (eh_json_object_get_string_checked (obj, "d", &s, NULL));
  g_assert_false (eh_json_object_get_int_checked (obj, "missing", &d, NULL));
  {
    g_autoptr (JsonNode) scalar = parse ("\"just a string\"", NULL);

    g_assert_nonnull (scalar);
  }
}

static void
test_refuses_what_json_glib_accepts (void)
{
  assert_refused ("{\"alg\":\"ES256\",\"alg\":\"none\"}", "duplicate key");
  assert_refused ("{\"a\":{\"k\":1,\"k\":2}}", "duplicate key");
  assert_refused ("{\"sub\":\"admin\\u0000x\"}", "\\u0000");
  assert_refused ("[1e400]", "out of range");
  assert_refused ("[9999999999999999999]", "2^53");
  assert_refused ("[-9007199254740993]", "2^53");
  assert_refused ("{/* c */\"a\":1}", "");
  assert_refused ("{'a':1}", "");
  assert_refused ("[0x10]", "");
  assert_refused ("[01]", "leading zero");
  assert_refused ("[1,]", "");
  assert_refused ("{\"a\":1,}", "");
  assert_refused ("[NaN]", "");
  assert_refused ("[Infinity]", "");
  assert_refused ("[1] x", "text after the document");
  assert_refused ("[\"\\ud800\"]", "unpaired high surrogate");
  assert_refused ("[\"\\udc00\"]", "lone low surrogate");
  assert_refused ("[\"a\tb\"]", "control character");
  assert_refused ("[\"\\x\"]", "bad escape");
  assert_refused ("", "value expected");
  assert_refused ("[\"\xc0\xaf\"]", "UTF-8");
  assert_refused ("[\"\xed\xa0\x80\"]", "UTF-8");
}

static void
test_deep_nesting_is_refused_without_crash (void)
{
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict (deep, strlen (deep), 200000, 32, &error);

  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

static void
test_empty_input_without_data (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict (NULL, 0, 100, 4, &error);

  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "value expected"));
}

static void
test_size_cap (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict ("[1,2,3]", 7, 6, 4, &error);

  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "larger than"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/json/accepts-rfc8259", test_accepts_rfc8259);
  g_test_add_func ("/eh/json/refuses-what-json-glib-accepts", test_refuses_what_json_glib_accepts);
  g_test_add_func ("/eh/json/deep-nesting-is-refused-without-crash", test_deep_nesting_is_refused_without_crash);
  g_test_add_func ("/eh/json/size-cap", test_size_cap);
  g_test_add_func ("/eh/json/empty-input-without-data", test_empty_input_without_data);
  return g_test_run ();
}
