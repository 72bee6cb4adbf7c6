/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-bus-private.h"
#include "eh-error.h"
#include "eh-test-util.h"
#include "eh-trust-follow.h"

typedef struct {
  EhBusHub *hub;
  EhBus *a;
  EhBus *b;
  guint events;
  GVariant *last;
  GVariant *reply;
  GError *error;
  gboolean done;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->hub = eh_bus_hub_new ();
  f->a = eh_bus_hub_connect (f->hub, "a");
  f->b = eh_bus_hub_connect (f->hub, "b");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->last, g_variant_unref);
  g_clear_pointer (&f->reply, g_variant_unref);
  g_clear_error (&f->error);
  eh_bus_free (f->a);
  eh_bus_free (f->b);
  eh_bus_hub_free (f->hub);
}

static GVariant *
text (const char *value)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_TEXT, "s", value);
  return g_variant_dict_end (&dict);
}

static void
on_event (const char *topic, GVariant *payload, gpointer user_data)
{
  Fixture *f = user_data;

  f->events++;
  g_clear_pointer (&f->last, g_variant_unref);
  f->last = g_variant_ref (payload);
}

static void
iterate_until_idle (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_publish_is_deferred (Fixture *f, gconstpointer data)
{
  guint32 sequence = 0;

  g_assert_cmpuint (eh_bus_subscribe (f->b, EH_TOPIC_TEST_PING, on_event, f, NULL), >, 0);
  g_assert_true (eh_bus_publish (f->a, EH_TOPIC_TEST_PING, eh_test_ping (42), NULL));
  /* never inside the publisher's own call */
  g_assert_cmpuint (f->events, ==, 0);
  iterate_until_idle ();
  g_assert_cmpuint (f->events, ==, 1);
  g_assert_true (g_variant_lookup (f->last, EH_KEY_SEQUENCE, "u", &sequence));
  g_assert_cmpuint (sequence, ==, 42);
}

static void
test_payload_is_checked (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GVariantDict dict;

  /* wrong type */
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_SEQUENCE, "s", "42");
  g_assert_false (eh_bus_publish (f->a, EH_TOPIC_TEST_PING, g_variant_dict_end (&dict), &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "has type s, expected u"));
  g_clear_error (&error);
  /* undeclared key */
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_SEQUENCE, "u", 1);
  g_variant_dict_insert (&dict, "sneaky", "s", "x");
  g_assert_false (eh_bus_publish (f->a, EH_TOPIC_TEST_PING, g_variant_dict_end (&dict), &error));
  g_assert_nonnull (strstr (error->message, "undeclared key \"sneaky\""));
  g_clear_error (&error);
  /* missing required key */
  g_variant_dict_init (&dict, NULL);
  g_assert_false (eh_bus_publish (f->a, EH_TOPIC_TEST_PING, g_variant_dict_end (&dict), &error));
  g_assert_nonnull (strstr (error->message, "required key \"sequence\" missing"));
  g_clear_error (&error);
  /* not a dictionary */
  g_assert_false (eh_bus_publish (f->a, EH_TOPIC_TEST_PING, g_variant_new_string ("x"), &error));
  g_clear_error (&error);
  /* undeclared topic, and a request topic published as an event */
  g_assert_false (eh_bus_publish (f->a, "no.such.topic", eh_test_ping (1), &error));
  g_assert_nonnull (strstr (error->message, "not declared"));
  g_clear_error (&error);
  g_assert_false (eh_bus_publish (f->a, EH_TOPIC_TEST_ECHO, text ("x"), &error));
  g_assert_nonnull (strstr (error->message, "not an event"));
}

static void
on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *f = user_data;

  f->reply = eh_bus_request_finish (f->a, result, &f->error);
  f->done = TRUE;
}

static void
echo_responder (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  const char *value = NULL;

  g_variant_lookup (payload, EH_KEY_TEXT, "&s", &value);
  eh_bus_request_reply (request, text (value));
}

static void
wait_done (Fixture *f)
{
  while (!f->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_request_reply (Fixture *f, gconstpointer data)
{
  const char *value = NULL;

  g_assert_cmpuint (eh_bus_respond (f->b, EH_TOPIC_TEST_ECHO, echo_responder, NULL, NULL, NULL), >, 0);
  eh_bus_request (f->a, EH_TOPIC_TEST_ECHO, text ("hello"), 0, NULL, on_reply, f);
  g_assert_false (f->done);
  wait_done (f);
  g_assert_no_error (f->error);
  g_assert_true (g_variant_lookup (f->reply, EH_KEY_TEXT, "&s", &value));
  g_assert_cmpstr (value, ==, "hello");
}

static void
test_no_responder_fails_fast (Fixture *f, gconstpointer data)
{
  gint64 start = g_get_monotonic_time ();

  eh_bus_request (f->a, EH_TOPIC_TEST_ECHO, text ("x"), 0, NULL, on_reply, f);
  wait_done (f);
  g_assert_error (f->error, EH_ERROR, EH_ERROR_NO_RESPONDER);
  g_assert_nonnull (strstr (f->error->message, "no upstream link"));
  /* fast means no timeout was waited for; the bound is generous on purpose */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

static void
test_second_responder_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (eh_bus_respond (f->a, EH_TOPIC_TEST_ECHO, echo_responder, NULL, NULL, NULL), >, 0);
  g_assert_cmpuint (eh_bus_respond (f->b, EH_TOPIC_TEST_ECHO, echo_responder, NULL, NULL, &error), ==, 0);
  g_assert_error (error, EH_ERROR, EH_ERROR_EXISTS);
}

static void
silent_responder (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  *(EhBusRequest **) user_data = request;
}

static void
test_timeout (Fixture *f, gconstpointer data)
{
  EhBusRequest *held = NULL;

  eh_bus_respond (f->b, EH_TOPIC_TEST_ECHO, silent_responder, &held, NULL, NULL);
  eh_bus_request (f->a, EH_TOPIC_TEST_ECHO, text ("x"), 50, NULL, on_reply, f);
  wait_done (f);
  g_assert_error (f->error, EH_ERROR, EH_ERROR_TIMEOUT);
  /* a late answer is dropped quietly */
  g_assert_nonnull (held);
  eh_bus_request_reply (held, text ("late"));
}

static void
bad_responder (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  eh_bus_request_reply (request, eh_test_ping (1));
}

static void
test_bad_reply_is_refused (Fixture *f, gconstpointer data)
{
  eh_bus_respond (f->b, EH_TOPIC_TEST_ECHO, bad_responder, NULL, NULL, NULL);
  g_test_expect_message ("ehttpd", G_LOG_LEVEL_WARNING, "*bad reply*");
  eh_bus_request (f->a, EH_TOPIC_TEST_ECHO, text ("x"), 0, NULL, on_reply, f);
  wait_done (f);
  g_test_assert_expected_messages ();
  g_assert_error (f->error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_forget_owner (Fixture *f, gconstpointer data)
{
  eh_bus_subscribe (f->b, EH_TOPIC_TEST_PING, on_event, f, NULL);
  eh_bus_respond (f->b, EH_TOPIC_TEST_ECHO, echo_responder, NULL, NULL, NULL);
  /* a queued delivery must not reach an owner that was forgotten */
  eh_bus_publish (f->a, EH_TOPIC_TEST_PING, eh_test_ping (1), NULL);
  eh_bus_hub_forget_owner (f->hub, "b");
  iterate_until_idle ();
  g_assert_cmpuint (f->events, ==, 0);
  eh_bus_request (f->a, EH_TOPIC_TEST_ECHO, text ("x"), 0, NULL, on_reply, f);
  wait_done (f);
  g_assert_error (f->error, EH_ERROR, EH_ERROR_NO_RESPONDER);
}

typedef struct {
  guint forwarded_events;
  EhBusRequest *forwarded;
} FakeLink;

static void
link_forward_request (gpointer link, EhBusRequest *request, GVariant *payload)
{
  ((FakeLink *) link)->forwarded = request;
}

static void
link_forward_event (gpointer link, const char *topic, GVariant *payload)
{
  ((FakeLink *) link)->forwarded_events++;
}

static const EhBusLinkFuncs fake_link_funcs = { link_forward_request, link_forward_event };

static void
test_linkable_topics_use_the_link (Fixture *f, gconstpointer data)
{
  FakeLink link = { 0 };
  const char *value = NULL;
  g_autoptr (GError) error = NULL;
  GVariantDict dict;

  eh_bus_hub_set_link (f->hub, &fake_link_funcs, &link);
  eh_bus_publish (f->a, EH_TOPIC_TEST_PING, eh_test_ping (1), NULL);
  g_assert_cmpuint (link.forwarded_events, ==, 1);
  /* local topics never cross */
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_PLUGIN, "s", "x");
  g_variant_dict_insert (&dict, EH_KEY_STATE, "s", "running");
  eh_bus_publish (f->a, EH_TOPIC_PLUGIN_STATE, g_variant_dict_end (&dict), NULL);
  g_assert_cmpuint (link.forwarded_events, ==, 1);
  eh_bus_request (f->a, EH_TOPIC_TEST_ECHO, text ("up"), 0, NULL, on_reply, f);
  g_assert_nonnull (link.forwarded);
  eh_bus_request_reply (link.forwarded, text ("down"));
  wait_done (f);
  g_assert_true (g_variant_lookup (f->reply, EH_KEY_TEXT, "&s", &value));
  g_assert_cmpstr (value, ==, "down");
  /* events from the link: only linkable ones */
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_PLUGIN, "s", "x");
  g_variant_dict_insert (&dict, EH_KEY_STATE, "s", "running");
  g_assert_false (eh_bus_hub_deliver_remote_event (f->hub, EH_TOPIC_PLUGIN_STATE,
                                                   g_variant_dict_end (&dict), &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  eh_bus_hub_set_link (f->hub, NULL, NULL);
}

static void
origin_responder (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  const EhBusOrigin *origin = eh_bus_request_get_origin (request);
  g_autofree char *text_reply = g_strdup_printf ("%s %s %s %s", origin->authenticated ? "yes" : "no",
                                                 origin->peer_address, origin->serial,
                                                 origin->roles[0]);

  eh_bus_request_reply (request, text (text_reply));
}

static void
test_requests_from_the_link (Fixture *f, gconstpointer data)
{
  FakeLink link = { 0 };
  const char *roles[] = { "dp", NULL };
  EhBusOrigin origin = { TRUE, "192.0.2.7", "0abc", roles };
  g_autofree char *serial = g_strdup ("0abc");
  const char *value = NULL;

  origin.serial = serial;
  eh_bus_hub_set_link (f->hub, &fake_link_funcs, &link);
  /* no local responder: refused, never sent further up */
  eh_bus_hub_request_from_link (f->hub, EH_TOPIC_TEST_ECHO, text ("x"), &origin, 0, on_reply, f);
  wait_done (f);
  g_assert_error (f->error, EH_ERROR, EH_ERROR_NO_RESPONDER);
  g_assert_null (link.forwarded);
  g_clear_error (&f->error);
  f->done = FALSE;
  /* the responder sees a copy of the origin */
  g_assert_cmpuint (eh_bus_respond (f->b, EH_TOPIC_TEST_SECRET, origin_responder, f, NULL, NULL), >, 0);
  eh_bus_hub_request_from_link (f->hub, EH_TOPIC_TEST_SECRET, text ("x"), &origin, 0, on_reply, f);
  serial[0] = 'X';
  wait_done (f);
  g_assert_no_error (f->error);
  g_assert_true (g_variant_lookup (f->reply, EH_KEY_TEXT, "&s", &value));
  g_assert_cmpstr (value, ==, "yes 192.0.2.7 0abc dp");
  g_clear_pointer (&f->reply, g_variant_unref);
  f->done = FALSE;
  /* an unenrolled peer may not use a topic that is not open */
  origin.authenticated = FALSE;
  eh_bus_hub_request_from_link (f->hub, EH_TOPIC_TEST_SECRET, text ("x"), &origin, 0, on_reply, f);
  wait_done (f);
  g_assert_error (f->error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_clear_error (&f->error);
  f->done = FALSE;
  /* nor a local topic, enrolled or not */
  origin.authenticated = TRUE;
  eh_bus_hub_request_from_link (f->hub, EH_TOPIC_HOST_CERTIFICATE_INSTALL, NULL, &origin, 0,
                                on_reply, f);
  wait_done (f);
  g_assert_nonnull (f->error);
  eh_bus_hub_set_link (f->hub, NULL, NULL);
}

/* ── following the site's trust bundle (eh-trust-follow.c) ─────────────── */

typedef struct {
  guint asked;
  guint taken;
  gboolean accept;
  EhBusRequest *held;
} Follow;

static GVariant *
bundle_payload (guint64 version)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_BUNDLE_JSON, "s", "{}");
  g_variant_dict_insert (&dict, EH_KEY_BUNDLE_PEM, "s", "");
  g_variant_dict_insert (&dict, EH_KEY_VERSION, "t", version);
  return g_variant_dict_end (&dict);
}

static void
bundle_responder (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  Follow *follow = user_data;

  follow->asked++;
  eh_bus_request_reply (request, bundle_payload (follow->asked));
}

static void
holding_responder (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  Follow *follow = user_data;

  follow->asked++;
  follow->held = request;
}

static gboolean
take_bundle (GVariant *payload, gpointer user_data)
{
  Follow *follow = user_data;

  follow->taken++;
  return follow->accept;
}

static void
iterate_until (guint *counter, guint value)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (*counter < value && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (*counter, >=, value);
}

/* a refused bundle is asked for again; a taken one ends the asking; every
 * change is handed over as it comes */
static void
test_trust_follow_retries_until_taken (Fixture *f, gconstpointer data)
{
  Follow follow = { 0 };
  EhTrustFollow *follower;

  eh_bus_respond (f->b, EH_TOPIC_CA_TRUST_BUNDLE_GET, bundle_responder, &follow, NULL, NULL);
  follower = eh_trust_follow_new (f->a, take_bundle, &follow);
  iterate_until (&follow.taken, 1);
  g_assert_nonnull (eh_trust_follow_get_error (follower));
  follow.accept = TRUE;
  iterate_until (&follow.taken, 2); /* asked again after the backoff */
  g_assert_cmpuint (follow.asked, ==, 2);
  g_assert_null (eh_trust_follow_get_error (follower));
  g_assert_true (eh_bus_publish (f->b, EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, bundle_payload (9), NULL));
  iterate_until (&follow.taken, 3);
  g_assert_cmpuint (follow.asked, ==, 2);
  eh_trust_follow_free (follower);
}

/* no responder yet (an edge before its link is up): asked again later */
static void
test_trust_follow_without_responder (Fixture *f, gconstpointer data)
{
  Follow follow = { .accept = TRUE };
  EhTrustFollow *follower = eh_trust_follow_new (f->a, take_bundle, &follow);

  iterate_until_idle ();
  g_assert_cmpuint (follow.taken, ==, 0);
  g_assert_nonnull (eh_trust_follow_get_error (follower));
  eh_bus_respond (f->b, EH_TOPIC_CA_TRUST_BUNDLE_GET, bundle_responder, &follow, NULL, NULL);
  eh_trust_follow_refresh (follower);
  iterate_until (&follow.taken, 1);
  eh_trust_follow_free (follower);
}

/* a role that stopped never hears the answer to what it asked */
static void
test_trust_follow_free_cancels (Fixture *f, gconstpointer data)
{
  Follow follow = { .accept = TRUE };
  EhTrustFollow *follower;

  eh_bus_respond (f->b, EH_TOPIC_CA_TRUST_BUNDLE_GET, holding_responder, &follow, NULL, NULL);
  follower = eh_trust_follow_new (f->a, take_bundle, &follow);
  iterate_until (&follow.asked, 1);
  eh_trust_follow_free (follower);
  eh_bus_request_reply (follow.held, bundle_payload (1));
  eh_bus_publish (f->b, EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, bundle_payload (2), NULL);
  iterate_until_idle ();
  g_assert_cmpuint (follow.taken, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/eh/bus/publish-is-deferred", test_publish_is_deferred);
  ADD ("/eh/bus/payload-is-checked", test_payload_is_checked);
  ADD ("/eh/bus/request-reply", test_request_reply);
  ADD ("/eh/bus/no-responder-fails-fast", test_no_responder_fails_fast);
  ADD ("/eh/bus/second-responder-refused", test_second_responder_refused);
  ADD ("/eh/bus/timeout", test_timeout);
  ADD ("/eh/bus/bad-reply-is-refused", test_bad_reply_is_refused);
  ADD ("/eh/bus/forget-owner", test_forget_owner);
  ADD ("/eh/bus/linkable-topics-use-the-link", test_linkable_topics_use_the_link);
  ADD ("/eh/bus/requests-from-the-link", test_requests_from_the_link);
  ADD ("/eh/bus/trust-follow/retries-until-taken", test_trust_follow_retries_until_taken);
  ADD ("/eh/bus/trust-follow/without-responder", test_trust_follow_without_responder);
  ADD ("/eh/bus/trust-follow/free-cancels", test_trust_follow_free_cancels);
#undef ADD
  return g_test_run ();
}
