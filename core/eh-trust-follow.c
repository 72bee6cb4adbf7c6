/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-bus-topics.h"
#include "eh-trust-follow.h"

/*
 * Following the site's trust bundle, as every role that checks tokens or
 * certificates of the site does: ca.trust-bundle.get at start (the local ca
 * answers, or the bus link carries it to the site), asked again with
 * backoff (1 s, doubling to 60 s) until the role takes one, asked again
 * whenever the bus link comes up, and every ca.trust-bundle.changed
 * handed over as it comes. Freeing the follower cancels a request in
 * flight: no reply ever reaches a role that has stopped.
 */

#define EH_TRUST_FOLLOW_TIMEOUT_MS 10000
#define EH_TRUST_FOLLOW_BACKOFF_MAX 60

struct _EhTrustFollow {
  EhBus *bus;
  EhTrustFollowFunc take;
  gpointer user_data;
  GCancellable *cancellable; /* of the request in flight, if any */
  guint retry;
  guint backoff;
  guint subscriptions[2];
  char *error;
};

static void eh_trust_follow_ask (EhTrustFollow *follow);

static gboolean
eh_trust_follow_retry (gpointer data)
{
  EhTrustFollow *follow = data;

  follow->retry = 0;
  eh_trust_follow_ask (follow);
  return G_SOURCE_REMOVE;
}

/* @data: the request's cancellable, holding the follower while not cancelled */
static void
eh_trust_follow_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GCancellable) cancellable = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);
  EhTrustFollow *follow;

  if (g_cancellable_is_cancelled (cancellable))
    return;
  follow = g_object_get_data (G_OBJECT (cancellable), "eh-trust-follow");
  g_clear_object (&follow->cancellable);
  if (reply != NULL && follow->take (reply, follow->user_data)) {
    follow->backoff = 0;
    g_clear_pointer (&follow->error, g_free);
    return;
  }
  g_free (follow->error);
  follow->error = g_strdup (error != NULL ? error->message : "the trust bundle was refused");
  follow->backoff = CLAMP (follow->backoff * 2, 1, EH_TRUST_FOLLOW_BACKOFF_MAX);
  g_info ("no trust bundle yet (%s); asking again in %u s", follow->error, follow->backoff);
  if (follow->retry == 0)
    follow->retry = g_timeout_add_seconds (follow->backoff, eh_trust_follow_retry, follow);
}

static void
eh_trust_follow_ask (EhTrustFollow *follow)
{
  g_clear_handle_id (&follow->retry, g_source_remove);
  if (follow->cancellable != NULL)
    return; /* one request at a time; its answer decides */
  follow->cancellable = g_cancellable_new ();
  g_object_set_data (G_OBJECT (follow->cancellable), "eh-trust-follow", follow);
  eh_bus_request (follow->bus, EH_TOPIC_CA_TRUST_BUNDLE_GET, g_variant_new ("a{sv}", NULL),
                  EH_TRUST_FOLLOW_TIMEOUT_MS, follow->cancellable, eh_trust_follow_answered,
                  g_object_ref (follow->cancellable));
}

static void
eh_trust_follow_changed (const char *topic, GVariant *payload, gpointer data)
{
  EhTrustFollow *follow = data;

  follow->take (payload, follow->user_data);
}

static void
eh_trust_follow_link_changed (const char *topic, GVariant *payload, gpointer data)
{
  const char *state = NULL;

  if (g_variant_lookup (payload, EH_KEY_STATE, "&s", &state) && g_strcmp0 (state, "up") == 0)
    eh_trust_follow_ask (data);
}

EhTrustFollow *
eh_trust_follow_new (EhBus *bus, EhTrustFollowFunc take, gpointer user_data)
{
  EhTrustFollow *follow = g_new0 (EhTrustFollow, 1);

  follow->bus = bus;
  follow->take = take;
  follow->user_data = user_data;
  follow->subscriptions[0] = eh_bus_subscribe (bus, EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, eh_trust_follow_changed,
                                               follow, NULL);
  follow->subscriptions[1] = eh_bus_subscribe (bus, EH_TOPIC_LINK_STATE, eh_trust_follow_link_changed, follow,
                                               NULL);
  eh_trust_follow_ask (follow);
  return follow;
}

void
eh_trust_follow_refresh (EhTrustFollow *follow)
{
  eh_trust_follow_ask (follow);
}

const char *
eh_trust_follow_get_error (EhTrustFollow *follow)
{
  return follow->error;
}

void
eh_trust_follow_free (EhTrustFollow *follow)
{
  if (follow == NULL)
    return;
  if (follow->cancellable != NULL)
    g_cancellable_cancel (follow->cancellable);
  g_clear_object (&follow->cancellable);
  g_clear_handle_id (&follow->retry, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (follow->subscriptions); i++) {
    if (follow->subscriptions[i] != 0)
      eh_bus_unsubscribe (follow->bus, follow->subscriptions[i]);
  }
  g_free (follow->error);
  g_free (follow);
}
