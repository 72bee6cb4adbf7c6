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

/* @len counts, so texts may hold NUL bytes */
static void
assert_refused_len (const char *text, gsize len, const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict (text, len, EH_JSON_DEFAULT_MAX_BYTES,
                                                    EH_JSON_DEFAULT_MAX_DEPTH, &error);

  if (node != NULL)
    g_error ("accepted: %.*s", (int) len, text);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  /* our own check must catch it, not json-glib afterwards */
  g_assert_null (strstr (error->message, "json-glib"));
  if (strstr (error->message, reason) == NULL)
    g_error ("%.*s: got \"%s\", wanted \"%s\"", (int) len, text, error->message, reason);
}

static void
assert_refused (const char *text, const char *reason)
{
  assert_refused_len (text, strlen (text), reason);
}

static JsonNode *
assert_accepted (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = parse (text, &error);

  if (error != NULL)
    g_error ("%s: %s", text, error->message);
  g_assert_nonnull (node);
  return node;
}

static void
test_accepts_values_exactly (void)
{
  g_autoptr (JsonNode) node = assert_accepted (
    " {\"s\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t "
    "\xc3\xa9\xf0\x9f\x98\x80\","
    "\r\n\t\"i\": [0, -0, 42, -17, 9007199254740991, -9007199254740991],"
    " \"d\": [1.5, -2.5e3, 1E-2, 0.0, 1e308, 5e-324, 1e-400],"
    " \"l\": [true, false, null], \"o\": {}, \"a\": [], \"\": {\"s\": 1}} ");
  JsonObject *obj = json_node_get_object (node);
  JsonArray *ints = json_object_get_array_member (obj, "i");
  JsonArray *doubles = json_object_get_array_member (obj, "d");
  JsonArray *literals = json_object_get_array_member (obj, "l");
  const gint64 want_ints[] = { 0, 0, 42, -17, G_GINT64_CONSTANT (9007199254740991),
                               G_GINT64_CONSTANT (-9007199254740991) };
  const double want_doubles[] = { 1.5, -2500.0, 0.01, 0.0, 1e308, 5e-324, 0.0 };

  g_assert_cmpstr (json_object_get_string_member (obj, "s"), ==,
                   "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \b\f\n\r\t \xc3\xa9\xf0\x9f\x98\x80");
  g_assert_cmpuint (json_array_get_length (ints), ==, G_N_ELEMENTS (want_ints));
  for (guint i = 0; i < G_N_ELEMENTS (want_ints); i++) {
    g_assert_cmpint (json_node_get_value_type (json_array_get_element (ints, i)), ==, G_TYPE_INT64);
    g_assert_cmpint (json_array_get_int_element (ints, i), ==, want_ints[i]);
  }
  g_assert_cmpuint (json_array_get_length (doubles), ==, G_N_ELEMENTS (want_doubles));
  for (guint i = 0; i < G_N_ELEMENTS (want_doubles); i++)
    g_assert_cmpfloat (json_array_get_double_element (doubles, i), ==, want_doubles[i]);
  g_assert_true (json_array_get_boolean_element (literals, 0));
  g_assert_false (json_array_get_boolean_element (literals, 1));
  g_assert_true (json_array_get_null_element (literals, 2));
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (obj, "o")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "a")), ==, 0);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj, ""), "s"), ==,
                   1);
}

static void
test_accepts_any_root (void)
{
  g_autoptr (JsonNode) string = assert_accepted ("\"just a string\"");
  g_autoptr (JsonNode) number = assert_accepted (" 7 ");
  g_autoptr (JsonNode) null = assert_accepted ("null");
  g_autoptr (JsonNode) array = assert_accepted ("[[[]],[{}]]");

  g_assert_cmpstr (json_node_get_string (string), ==, "just a string");
  g_assert_cmpint (json_node_get_int (number), ==, 7);
  g_assert_true (JSON_NODE_HOLDS_NULL (null));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (array));
}

static void
test_same_key_in_sibling_objects (void)
{
  g_autoptr (JsonNode) node = assert_accepted ("{\"a\":{\"a\":1,\"b\":2},\"b\":{\"a\":3,\"b\":4},"
                                               "\"c\":[{\"a\":5},{\"a\":6}]}");
  JsonObject *obj = json_node_get_object (node);

  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (obj, "b"), "a"), ==,
                   3);
}

static void
test_refuses_duplicate_keys (void)
{
  assert_refused ("{\"alg\":\"ES256\",\"alg\":\"none\"}", "duplicate key");
  assert_refused ("{\"a\":{\"k\":1,\"k\":2}}", "duplicate key");
  assert_refused ("[{\"a\":1},{\"b\":1,\"c\":2,\"b\":3}]", "duplicate key");
  /* compared decoded: an escape does not make another key */
  assert_refused ("{\"alg\":1,\"\\u0061lg\":2}", "duplicate key");
  assert_refused ("{\"\\/\":1,\"/\":2}", "duplicate key");
  assert_refused ("{\"\xc3\xa9\":1,\"\\u00e9\":2}", "duplicate key");
  assert_refused ("{\"\":1,\"\":2}", "duplicate key");
}

static void
test_refuses_nul (void)
{
  assert_refused ("{\"sub\":\"admin\\u0000x\"}", "\\u0000");
  assert_refused ("{\"a\\u0000\":1}", "\\u0000");
  assert_refused_len ("[\"a\0b\"]", 7, "control character");
  assert_refused_len ("[1]\0", 4, "text after");
  assert_refused_len ("\0[1]", 4, "unexpected character");
}

static void
test_refuses_bad_numbers (void)
{
  assert_refused ("[1e400]", "not a finite double");
  assert_refused ("[-1e400]", "not a finite double");
  assert_refused ("[1.5e99999999999999999999]", "not a finite double");
  assert_refused ("[9999999999999999999]", "2^53");
  assert_refused ("[9007199254740992]", "2^53");
  assert_refused ("[-9007199254740992]", "2^53");
  assert_refused ("[123456789012345678901234567890]", "2^53");
  assert_refused ("[01]", "leading zero");
  assert_refused ("[-01]", "leading zero");
  assert_refused ("[00]", "leading zero");
  assert_refused ("[0x10]", "expected ',' or ']'");
  assert_refused ("[1.]", "bad fraction");
  assert_refused ("[.5]", "unexpected character");
  assert_refused ("[-]", "bad number");
  assert_refused ("[+1]", "unexpected character");
  assert_refused ("[1e]", "bad exponent");
  assert_refused ("[1e+]", "bad exponent");
  assert_refused ("[1.2.3]", "expected ',' or ']'");
  assert_refused ("[NaN]", "unexpected character");
  assert_refused ("[Infinity]", "unexpected character");
  assert_refused ("[-Infinity]", "bad number");
}

static void
test_refuses_non_rfc_syntax (void)
{
  assert_refused ("{/* c */\"a\":1}", "object key is not a string");
  assert_refused ("[1 // c\n]", "expected ',' or ']'");
  assert_refused ("# c\n[1]", "unexpected character");
  assert_refused ("{'a':1}", "object key is not a string");
  assert_refused ("['a']", "unexpected character");
  assert_refused ("{a:1}", "object key is not a string");
  assert_refused ("[1,]", "unexpected character");
  assert_refused ("{\"a\":1,}", "object key is not a string");
  assert_refused ("[,1]", "unexpected character");
  assert_refused ("[1 2]", "expected ',' or ']'");
  assert_refused ("{\"a\" 1}", "missing ':'");
  assert_refused ("{\"a\":1 \"b\":2}", "expected ',' or '}'");
  assert_refused ("{\"a\"}", "missing ':'");
  assert_refused ("[1}", "expected ',' or ']'");
  assert_refused ("[1", "expected ',' or ']'");
  assert_refused ("{\"a\":1", "expected ',' or '}'");
  assert_refused ("[1] x", "text after");
  assert_refused ("1 2", "text after");
  assert_refused ("[True]", "unexpected character");
  assert_refused ("[nul]", "unexpected character");
  assert_refused ("[truex]", "expected ',' or ']'");
  assert_refused ("", "value is missing");
  assert_refused (" \n\t", "value is missing");
  assert_refused ("\xef\xbb\xbf[1]", "unexpected character"); /* byte order mark */
  assert_refused ("\f[1]", "unexpected character");
  assert_refused ("[1]\v", "text after");
  assert_refused ("[\xc2\xa0 1]", "unexpected character"); /* no-break space */
}

static void
test_refuses_bad_strings (void)
{
  assert_refused ("[\"a\tb\"]", "control character");
  assert_refused ("[\"a\nb\"]", "control character");
  assert_refused ("[\"\x1f\"]", "control character");
  assert_refused ("[\"\\x41\"]", "bad escape");
  assert_refused ("[\"\\'\"]", "bad escape");
  assert_refused ("[\"\\U0041\"]", "bad escape");
  assert_refused ("[\"\\u12\"]", "bad \\u escape");
  assert_refused ("[\"\\u12G4\"]", "bad \\u escape");
  assert_refused ("[\"\\u", "bad \\u escape");
  assert_refused ("[\"\\", "unterminated string");
  assert_refused ("[\"abc", "unterminated string");
  assert_refused ("[\"\\ud800\"]", "unpaired high surrogate");
  assert_refused ("[\"\\ud800x\"]", "unpaired high surrogate");
  assert_refused ("[\"\\ud800\\u0041\"]", "unpaired high surrogate");
  assert_refused ("[\"\\ud800\\ud800\"]", "unpaired high surrogate");
  assert_refused ("[\"\\udc00\"]", "lone low surrogate");
  assert_refused ("[\"\\udfff\\ud800\"]", "lone low surrogate");
}

static void
test_refuses_bad_utf8 (void)
{
  const char *bad[] = {
    "[\"\x80\"]",                 /* lone continuation byte */
    "[\"\xc0\xaf\"]",             /* overlong '/' */
    "[\"\xc1\xbf\"]",             /* overlong */
    "[\"\xe0\x80\xaf\"]",         /* overlong, three bytes */
    "[\"\xf0\x80\x80\xaf\"]",     /* overlong, four bytes */
    "[\"\xed\xa0\x80\"]",         /* U+D800 written in UTF-8 */
    "[\"\xed\xbf\xbf\"]",         /* U+DFFF written in UTF-8 */
    "[\"\xf4\x90\x80\x80\"]",     /* above U+10FFFF */
    "[\"\xf5\x80\x80\x80\"]",     /* no such lead byte */
    "[\"\xff\"]",
    "[\"\xc3\"]",                 /* cut short before the quote */
    "[\"\xe2\x82\"]",
    "[\"\xc3\x28\"]",             /* bad continuation */
    "{\"\xc0\xaf\":1}",           /* in a key as well */
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_refused (bad[i], "invalid UTF-8");
  assert_refused_len ("[\"\xe2\x82", 5, "invalid UTF-8"); /* cut short at the end */
  assert_refused ("[\xc3\xa9]", "unexpected character");  /* outside strings */
  {
    /* the edges that are fine */
    g_autoptr (JsonNode) node = assert_accepted ("[\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
                                                 "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
                                                 "\xf4\x8f\xbf\xbf\x7f\"]");

    g_assert_nonnull (node);
  }
}

static void
test_deep_nesting_is_refused_without_crash (void)
{
  g_autofree char *arrays = g_strnfill (100000, '[');
  g_autoptr (GString) objects = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  node = eh_json_parse_strict (arrays, strlen (arrays), 1 << 20, EH_JSON_DEFAULT_MAX_DEPTH, &error);
  g_assert_null (node);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
  g_clear_error (&error);
  /* even a caller asking for no depth limit gets a bounded one */
  node = eh_json_parse_strict (arrays, strlen (arrays), 1 << 20, G_MAXUINT, &error);
  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
  g_clear_error (&error);
  for (guint i = 0; i < 100000; i++)
    g_string_append (objects, "{\"a\":");
  node = eh_json_parse_strict (objects->str, objects->len, 1 << 20, G_MAXUINT, &error);
  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

/* json-glib recurses per level, so no caller gets more than 512 */
static void
test_depth_ceiling (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) deepest = NULL;
  g_autoptr (JsonNode) deeper = NULL;

  for (guint i = 0; i < 512; i++)
    g_string_prepend_c (g_string_append_c (text, ']'), '[');
  deepest = eh_json_parse_strict (text->str, text->len, text->len, G_MAXUINT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (deepest);
  g_string_prepend_c (g_string_append_c (text, ']'), '[');
  deeper = eh_json_parse_strict (text->str, text->len, text->len, G_MAXUINT, &error);
  g_assert_null (deeper);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

static void
test_depth_limit_is_exact (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) two = eh_json_parse_strict ("[{\"a\":1}]", 9, 100, 2, &error);
  g_autoptr (JsonNode) three = NULL;
  g_autoptr (JsonNode) scalar = eh_json_parse_strict ("1", 1, 100, 0, &error);
  g_autoptr (JsonNode) empty = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (two);
  g_assert_nonnull (scalar);
  three = eh_json_parse_strict ("[{\"a\":[]}]", 10, 100, 2, &error);
  g_assert_null (three);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
  g_clear_error (&error);
  empty = eh_json_parse_strict ("[]", 2, 100, 0, &error);
  g_assert_null (empty);
  g_assert_nonnull (strstr (error->message, "nested too deeply"));
}

static void
test_size_cap (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) over = eh_json_parse_strict ("[1,2,3]", 7, 6, 4, &error);
  g_autoptr (JsonNode) at = NULL;

  g_assert_null (over);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "larger than"));
  g_clear_error (&error);
  at = eh_json_parse_strict ("[1,2,3]", 7, 7, 4, &error);
  g_assert_no_error (error);
  g_assert_nonnull (at);
}

static void
test_empty_input_without_data (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict (NULL, 0, 100, 4, &error);

  g_assert_null (node);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_string_getter (void)
{
  g_autoptr (JsonNode) node =
    assert_accepted ("{\"s\":\"v\",\"n\":1,\"z\":null,\"o\":{},\"a\":[\"x\"]}");
  JsonObject *obj = json_node_get_object (node);
  const char *members[] = { "n", "z", "o", "a", "missing" };
  g_autoptr (GError) error = NULL;
  const char *value = NULL;

  g_assert_true (eh_json_object_get_string_checked (obj, "s", &value, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (value, ==, "v");
  for (guint i = 0; i < G_N_ELEMENTS (members); i++) {
    value = NULL;
    g_assert_false (eh_json_object_get_string_checked (obj, members[i], &value, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, members[i]));
    g_assert_null (value);
    g_clear_error (&error);
  }
}

static void
test_int_getter (void)
{
  g_autoptr (JsonNode) node = assert_accepted ("{\"i\":-42,\"max\":9007199254740991,\"d\":1.0,"
                                               "\"e\":1e3,\"s\":\"1\",\"b\":true,\"z\":null}");
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (JsonObject) built = json_object_new ();
  const char *members[] = { "d", "e", "s", "b", "z", "missing" };
  g_autoptr (GError) error = NULL;
  gint64 value = 0;

  g_assert_true (eh_json_object_get_int_checked (obj, "i", &value, &error));
  g_assert_no_error (error);
  g_assert_cmpint (value, ==, -42);
  g_assert_true (eh_json_object_get_int_checked (obj, "max", &value, &error));
  g_assert_cmpint (value, ==, G_GINT64_CONSTANT (9007199254740991));
  for (guint i = 0; i < G_N_ELEMENTS (members); i++) {
    value = 7;
    g_assert_false (eh_json_object_get_int_checked (obj, members[i], &value, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_assert_cmpint (value, ==, 7);
    g_clear_error (&error);
  }
  /* objects built in code are held to the same range */
  json_object_set_int_member (built, "big", G_GINT64_CONSTANT (1) << 60);
  json_object_set_int_member (built, "low", -(G_GINT64_CONSTANT (1) << 53));
  g_assert_false (eh_json_object_get_int_checked (built, "big", &value, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (eh_json_object_get_int_checked (built, "low", &value, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/json/accepts-values-exactly", test_accepts_values_exactly);
  g_test_add_func ("/eh/json/accepts-any-root", test_accepts_any_root);
  g_test_add_func ("/eh/json/same-key-in-sibling-objects", test_same_key_in_sibling_objects);
  g_test_add_func ("/eh/json/refuses-duplicate-keys", test_refuses_duplicate_keys);
  g_test_add_func ("/eh/json/refuses-nul", test_refuses_nul);
  g_test_add_func ("/eh/json/refuses-bad-numbers", test_refuses_bad_numbers);
  g_test_add_func ("/eh/json/refuses-non-rfc-syntax", test_refuses_non_rfc_syntax);
  g_test_add_func ("/eh/json/refuses-bad-strings", test_refuses_bad_strings);
  g_test_add_func ("/eh/json/refuses-bad-utf8", test_refuses_bad_utf8);
  g_test_add_func ("/eh/json/deep-nesting-is-refused-without-crash",
                   test_deep_nesting_is_refused_without_crash);
  g_test_add_func ("/eh/json/depth-limit-is-exact", test_depth_limit_is_exact);
  g_test_add_func ("/eh/json/depth-ceiling", test_depth_ceiling);
  g_test_add_func ("/eh/json/size-cap", test_size_cap);
  g_test_add_func ("/eh/json/empty-input-without-data", test_empty_input_without_data);
  g_test_add_func ("/eh/json/string-getter", test_string_getter);
  g_test_add_func ("/eh/json/int-getter", test_int_getter);
  return g_test_run ();
}
