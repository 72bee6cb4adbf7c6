/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-test-util.h"
#include "eh-link-wire.h"

static GVariant *
text (const char *value)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_TEXT, "s", value);
  return g_variant_dict_end (&dict);
}

/* the bytes of any (yususa{sv}), normal form or not, bypassing the encoder's checks */
static GBytes *
raw (guint8 kind, guint32 id, const char *topic, guint32 code, const char *message,
     GVariant *payload)
{
  g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new ("(yusus@a{sv})", kind, id, topic, code,
                                                              message,
                                                              payload != NULL ? payload : g_variant_new ("a{sv}", NULL)));
  g_autoptr (GVariant) normal = g_variant_get_normal_form (v);

  return g_variant_get_data_as_bytes (normal);
}

static void
assert_refused (GBytes *bytes, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhLinkMessage) message = eh_link_wire_decode (bytes, &error);

  g_assert_null (message);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  if (why != NULL && strstr (error->message, why) == NULL)
    g_error ("refusal \"%s\" does not say \"%s\"", error->message, why);
}

static void
test_round_trip (void)
{
  const struct {
    EhLinkKind kind;
    guint32 id;
    const char *topic;
    guint32 code;
    const char *message;
    GVariant *(*payload) (void);
  } cases[] = {
    { EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 0, NULL, NULL },
    { EH_LINK_KIND_REPLY, 7, EH_TOPIC_TEST_ECHO, 0, NULL, NULL },
    { EH_LINK_KIND_ERROR, 7, EH_TOPIC_TEST_ECHO, EH_ERROR_UNAVAILABLE, "down", NULL },
    { EH_LINK_KIND_EVENT, 0, EH_TOPIC_TEST_PING, 0, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    GVariant *payload = cases[i].kind == EH_LINK_KIND_EVENT   ? eh_test_ping (42)
                        : cases[i].kind == EH_LINK_KIND_ERROR ? NULL
                                                              : text ("hello");
    g_autoptr (GBytes) bytes = eh_link_wire_encode (cases[i].kind, cases[i].id, cases[i].topic,
                                                    cases[i].code, cases[i].message, payload, &error);
    g_autoptr (EhLinkMessage) message = NULL;

    g_assert_no_error (error);
    message = eh_link_wire_decode (bytes, &error);
    g_assert_no_error (error);
    g_assert_cmpint (message->kind, ==, cases[i].kind);
    g_assert_cmpuint (message->id, ==, cases[i].id);
    g_assert_cmpstr (message->topic->name, ==, cases[i].topic);
    g_assert_cmpuint (message->error_code, ==, cases[i].code);
    g_assert_cmpstr (message->error_message, ==, cases[i].message != NULL ? cases[i].message : "");
  }
}

static void
test_encoder_refuses (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  /* a local topic never leaves the process */
  bytes = eh_link_wire_encode (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_CA_LINK_PEER_CHECK, 0, NULL,
                               NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* a payload that does not fit the topic */
  bytes = eh_link_wire_encode (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 0, NULL, eh_test_ping (1), &error);
  g_assert_null (bytes);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* an over-long error message is cut, not refused */
  {
    g_autofree char *longer = g_strnfill (5000, 'x');
    g_autoptr (EhLinkMessage) message = NULL;

    bytes = eh_link_wire_encode (EH_LINK_KIND_ERROR, 3, EH_TOPIC_TEST_ECHO, EH_ERROR_FAILED, longer,
                                 NULL, &error);
    g_assert_no_error (error);
    message = eh_link_wire_decode (bytes, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (strlen (message->error_message), ==, EH_LINK_WIRE_MAX_ERROR_BYTES);
  }
}

static void
test_hostile (void)
{
  g_autoptr (GBytes) good = raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 0, "", text ("hi"));
  gsize len = g_bytes_get_size (good);
  const guint8 *data = g_bytes_get_data (good, NULL);

  /* every truncation, and the empty message */
  for (gsize cut = 0; cut < len; cut++) {
    g_autoptr (GBytes) truncated = g_bytes_new (data, cut);

    assert_refused (truncated, NULL);
  }
  /* a trailing byte: not the normal form */
  {
    g_autofree guint8 *longer = g_malloc0 (len + 1);
    g_autoptr (GBytes) bytes = NULL;

    memcpy (longer, data, len);
    bytes = g_bytes_new (longer, len + 1);
    assert_refused (bytes, "normal form");
  }
  /* a non-zero padding byte: GVariant reads it, but it is not the normal form */
  {
    g_autofree guint8 *copy = g_memdup2 (data, len);
    g_autoptr (GBytes) bytes = NULL;

    copy[1] = 0x41;
    bytes = g_bytes_new (copy, len);
    assert_refused (bytes, "normal form");
  }
  /* huge */
  {
    g_autoptr (GBytes) bytes = g_bytes_new_take (g_malloc0 (EH_LINK_WIRE_MAX_BYTES + 1),
                                                 EH_LINK_WIRE_MAX_BYTES + 1);

    assert_refused (bytes, "over the cap");
  }
  /* wrong type: another GVariant entirely */
  {
    g_autoptr (GVariant) v = g_variant_ref_sink (g_variant_new ("(sss)", "a", "b", "c"));
    g_autoptr (GBytes) bytes = g_variant_get_data_as_bytes (v);

    assert_refused (bytes, NULL);
  }
}

static void
test_hostile_fields (void)
{
  struct {
    GBytes *bytes;
    const char *why;
  } cases[] = {
    { raw (0, 1, EH_TOPIC_TEST_ECHO, 0, "", text ("x")), "unknown kind" },
    { raw (9, 1, EH_TOPIC_TEST_ECHO, 0, "", text ("x")), "unknown kind" },
    { raw (EH_LINK_KIND_REQUEST, 1, "test.nope", 0, "", text ("x")), "undeclared topic" },
    { raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_HOST_CERTIFICATE_INSTALL, 0, "", NULL), "may not cross" },
    { raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_PING, 0, "", eh_test_ping (1)), "event topic" },
    { raw (EH_LINK_KIND_EVENT, 0, EH_TOPIC_TEST_ECHO, 0, "", text ("x")), "request topic" },
    { raw (EH_LINK_KIND_REQUEST, 0, EH_TOPIC_TEST_ECHO, 0, "", text ("x")), "with id 0" },
    { raw (EH_LINK_KIND_EVENT, 5, EH_TOPIC_TEST_PING, 0, "", eh_test_ping (1)), "with id 5" },
    { raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 3, "", text ("x")), "error fields" },
    { raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 0, "", NULL), "missing" },
    { raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 0, "", eh_test_ping (1)), "undeclared key" },
    { raw (EH_LINK_KIND_ERROR, 1, EH_TOPIC_TEST_ECHO, EH_ERROR_LAST, "x", NULL), "unknown error code" },
    { raw (EH_LINK_KIND_ERROR, 1, EH_TOPIC_TEST_ECHO, 1, "", NULL), "empty or too long" },
    { raw (EH_LINK_KIND_ERROR, 1, EH_TOPIC_TEST_ECHO, 1, "x", text ("x")), "no payload" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    assert_refused (cases[i].bytes, cases[i].why);
    g_bytes_unref (cases[i].bytes);
  }
  /* a wrong type inside the payload */
  {
    GVariantDict dict;
    g_autoptr (GBytes) bytes = NULL;

    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, EH_KEY_TEXT, "u", 3);
    bytes = raw (EH_LINK_KIND_REQUEST, 1, EH_TOPIC_TEST_ECHO, 0, "", g_variant_dict_end (&dict));
    assert_refused (bytes, "has type u");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/link-wire/round-trip", test_round_trip);
  g_test_add_func ("/eh/link-wire/encoder-refuses", test_encoder_refuses);
  g_test_add_func ("/eh/link-wire/hostile", test_hostile);
  g_test_add_func ("/eh/link-wire/hostile-fields", test_hostile_fields);
  return g_test_run ();
}
