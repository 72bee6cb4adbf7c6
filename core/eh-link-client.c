/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-link-client.h"
#include "eh-link-peer.h"
#include "eh-link-server.h"
#include "eh-wss-dial.h"

#define EH_LINK_FIRST_DELAY_MS 200
#define EH_LINK_MAX_DELAY_MS 30000
/* connect, TLS, upgrade: all of it within this */
#define EH_LINK_ATTEMPT_TIMEOUT_MS 15000

typedef enum {
  EH_LINK_DOWN,
  EH_LINK_CONNECTING,
  EH_LINK_UP,
} EhLinkState;

struct _EhLinkClient {
  EhBusHub *hub;
  EhBus *bus;
  char *upstream;
  char *host;
  guint16 port;
  guint8 root[32];
  char *root_text;
  char *host_pem; /* <state-dir>/tls/host.pem */
  EhLinkClientEventFunc event_func;
  gpointer event_data;
  EhLinkState state;
  gboolean authenticated;
  guint delay_ms;
  GSource *retry;
  GSource *deadline;
  GCancellable *cancellable; /* the current attempt */
  GIOStream *stream; /* the link's TLS stream */
  EhLinkPeer *peer;
};

static void eh_link_client_connect (EhLinkClient *client);

/* ── settings ───────────────────────────────────────────────────────── */

static gboolean
eh_link_client_parse_upstream (EhLinkClient *client, const char *upstream, GError **error)
{
  g_autoptr (GUri) uri = upstream != NULL ? g_uri_parse (upstream, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *path;

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 ||
      g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      g_uri_get_port (uri) <= 0 || g_uri_get_userinfo (uri) != NULL ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[site] upstream=%s: give the site's URL as https://HOST:PORT",
                 upstream != NULL ? upstream : "");
    return FALSE;
  }
  path = g_uri_get_path (uri);
  if (path[0] != '\0' && strcmp (path, "/") != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[site] upstream=%s: no path; the link is always at " EH_LINK_PATH, upstream);
    return FALSE;
  }
  client->host = g_strdup (g_uri_get_host (uri));
  client->port = g_uri_get_port (uri);
  return TRUE;
}

EhLinkClient *
eh_link_client_new (EhBusHub *hub, const char *upstream, const char *root_fingerprint,
                    const char *state_dir, EhLinkClientEventFunc event_func, gpointer user_data,
                    GError **error)
{
  g_autoptr (GError) local_error = NULL;
  EhLinkClient *client = g_new0 (EhLinkClient, 1);

  client->hub = hub;
  if (!eh_link_client_parse_upstream (client, upstream, error)) {
    eh_link_client_free (client);
    return NULL;
  }
  if (root_fingerprint == NULL || root_fingerprint[0] == '\0') {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[site] upstream= needs root-fingerprint= (sha256:… of the site's root; "
                 "ehttpctl ca show prints it)");
    eh_link_client_free (client);
    return NULL;
  }
  if (!eh_crypto_parse_fingerprint (root_fingerprint, client->root, &local_error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[site] root-fingerprint: %s",
                 local_error->message);
    eh_link_client_free (client);
    return NULL;
  }
  client->bus = eh_bus_hub_connect (hub, "core-link-client");
  client->upstream = g_strdup (upstream);
  client->root_text = g_strdup (root_fingerprint);
  client->host_pem = g_build_filename (state_dir, "tls", "host.pem", NULL);
  client->event_func = event_func;
  client->event_data = user_data;
  client->delay_ms = EH_LINK_FIRST_DELAY_MS;
  return client;
}

/* ── state ──────────────────────────────────────────────────────────── */

static void
eh_link_client_publish (EhLinkClient *client)
{
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_STATE, "s", client->state == EH_LINK_UP ? "up" : "down");
  g_variant_dict_insert (&payload, EH_KEY_AUTHENTICATED, "b",
                         client->state == EH_LINK_UP && client->authenticated);
  eh_bus_publish (client->bus, EH_TOPIC_LINK_STATE, g_variant_dict_end (&payload), NULL);
}

static void
eh_link_client_clear_source (GSource **source)
{
  if (*source != NULL) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

/* drops the attempt's or the link's connection */
static void
eh_link_client_drop_connection (EhLinkClient *client)
{
  eh_link_client_clear_source (&client->deadline);
  if (client->cancellable != NULL) {
    g_cancellable_cancel (client->cancellable);
    g_clear_object (&client->cancellable);
  }
  g_clear_pointer (&client->peer, eh_link_peer_free);
  if (client->stream != NULL) {
    eh_wss_close_stream (client->stream);
    g_clear_object (&client->stream);
  }
}

static gboolean
eh_link_client_retry (gpointer data)
{
  EhLinkClient *client = data;

  g_clear_pointer (&client->retry, g_source_unref);
  eh_link_client_connect (client);
  return G_SOURCE_REMOVE;
}

static void
eh_link_client_schedule (EhLinkClient *client)
{
  /* ±25 % jitter, so edges that lost the site together do not return together */
  guint delay = client->delay_ms * g_random_double_range (0.75, 1.25);

  eh_link_client_clear_source (&client->retry);
  client->retry = g_timeout_source_new (delay);
  g_source_set_callback (client->retry, eh_link_client_retry, client, NULL);
  g_source_attach (client->retry, NULL);
  client->delay_ms = CLAMP (client->delay_ms * 2, EH_LINK_FIRST_DELAY_MS, EH_LINK_MAX_DELAY_MS);
}

static void
eh_link_client_attempt_failed (EhLinkClient *client, const char *reason)
{
  g_message ("bus link to %s: %s; trying again", client->upstream, reason);
  eh_link_client_drop_connection (client);
  client->state = EH_LINK_DOWN;
  eh_link_client_schedule (client);
}

static void
eh_link_client_peer_closed (EhLinkPeer *peer, const char *reason, gpointer user_data)
{
  EhLinkClient *client = user_data;

  g_message ("bus link to %s down: %s", client->upstream, reason);
  eh_link_client_drop_connection (client);
  client->state = EH_LINK_DOWN;
  client->authenticated = FALSE;
  eh_link_client_publish (client);
  eh_link_client_schedule (client);
}

static void
eh_link_client_peer_event (EhLinkPeer *peer, const char *topic, GVariant *payload,
                           gpointer user_data)
{
  EhLinkClient *client = user_data;
  g_autoptr (GError) error = NULL;

  if (!eh_bus_hub_deliver_remote_event (client->hub, topic, g_variant_ref (payload), &error)) {
    g_info ("bus link to %s: event refused: %s", client->upstream, error->message);
    return;
  }
  if (client->event_func != NULL)
    client->event_func (topic, payload, client->event_data);
}

static const EhLinkPeerFuncs eh_link_client_peer_funcs = {
  eh_link_client_peer_closed,
  eh_link_client_peer_event,
};

/* ── the attempt ────────────────────────────────────────────────────── */

static void
eh_link_client_up (EhLinkClient *client, EhWssDialed *dialed)
{
  eh_link_client_clear_source (&client->deadline);
  g_clear_object (&client->cancellable);
  client->stream = g_steal_pointer (&dialed->stream);
  client->state = EH_LINK_UP;
  client->authenticated = dialed->presented;
  client->delay_ms = EH_LINK_FIRST_DELAY_MS;
  client->peer = eh_link_peer_new (client->stream, client->hub, NULL, dialed->rest,
                                   &eh_link_client_peer_funcs, client);
  g_message ("bus link to %s up (%s)", client->upstream,
             client->authenticated ? "authenticated" : "unenrolled: no host certificate yet");
  eh_link_client_publish (client);
}

static void
eh_link_client_dialed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhLinkClient *client = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhWssDialed) dialed = eh_wss_dial_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the client moved on; it may be gone */
  if (dialed == NULL && g_error_matches (error, EH_ERROR, EH_ERROR_TLS)) {
    g_warning ("bus link to %s: refused the upstream's certificate: %s", client->upstream,
               error->message);
    eh_link_client_attempt_failed (client, "the upstream's certificate was refused");
    return;
  }
  if (dialed == NULL && g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED)) {
    g_autofree char *reason = g_strdup_printf ("the upstream refused the link: %s", error->message);

    g_warning ("bus link to %s: %s", client->upstream, reason);
    eh_link_client_attempt_failed (client, reason);
    return;
  }
  if (dialed == NULL) {
    eh_link_client_attempt_failed (client, error->message);
    return;
  }
  eh_link_client_up (client, dialed);
}

static gboolean
eh_link_client_attempt_timed_out (gpointer data)
{
  EhLinkClient *client = data;

  g_clear_pointer (&client->deadline, g_source_unref);
  eh_link_client_attempt_failed (client, "no link within the time allowed");
  return G_SOURCE_REMOVE;
}

static void
eh_link_client_connect (EhLinkClient *client)
{
  const EhWssDialOptions options = {
    .host = client->host,
    .port = client->port,
    .path = EH_LINK_PATH,
    .subprotocol = EH_LINK_SUBPROTOCOL,
    .root_sha256 = client->root,
    .root_text = client->root_text,
    .client_pem = client->host_pem,
  };

  eh_link_client_drop_connection (client);
  client->state = EH_LINK_CONNECTING;
  client->cancellable = g_cancellable_new ();
  client->deadline = g_timeout_source_new (EH_LINK_ATTEMPT_TIMEOUT_MS);
  g_source_set_callback (client->deadline, eh_link_client_attempt_timed_out, client, NULL);
  g_source_attach (client->deadline, NULL);
  eh_wss_dial_async (&options, client->cancellable, eh_link_client_dialed, client);
}

/* a new host certificate: present it on a fresh link at once */
static void
eh_link_client_certificate_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhLinkClient *client = user_data;

  client->delay_ms = 0;
  if (client->state == EH_LINK_UP && client->peer != NULL) {
    g_message ("bus link to %s: the host certificate changed; reconnecting", client->upstream);
    eh_link_peer_close (client->peer, 1000, "the host certificate changed");
  } else {
    eh_link_client_clear_source (&client->retry);
    eh_link_client_connect (client);
  }
}

void
eh_link_client_start (EhLinkClient *client)
{
  eh_bus_subscribe (client->bus, EH_TOPIC_HOST_CERTIFICATE_CHANGED,
                    eh_link_client_certificate_changed, client, NULL);
  eh_link_client_connect (client);
}

void
eh_link_client_free (EhLinkClient *client)
{
  if (client == NULL)
    return;
  eh_link_client_clear_source (&client->retry);
  eh_link_client_drop_connection (client);
  if (client->bus != NULL) {
    eh_bus_hub_forget_owner (client->hub, "core-link-client");
    eh_bus_free (client->bus);
  }
  g_free (client->upstream);
  g_free (client->host);
  g_free (client->root_text);
  g_free (client->host_pem);
  g_free (client);
}

void
eh_link_client_forward_request (EhLinkClient *client, EhBusRequest *request, GVariant *payload)
{
  if (client->state != EH_LINK_UP || client->peer == NULL) {
    g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE,
                                            "the bus link to %s is down", client->upstream);

    eh_bus_request_fail (request, error);
    return;
  }
  eh_link_peer_forward_request (client->peer, request, payload);
}

void
eh_link_client_send_event (EhLinkClient *client, const char *topic, GVariant *payload)
{
  if (client->state == EH_LINK_UP && client->peer != NULL)
    eh_link_peer_send_event (client->peer, topic, payload);
}

const char *
eh_link_client_get_upstream (EhLinkClient *client)
{
  return client->upstream;
}

const char *
eh_link_client_get_state (EhLinkClient *client)
{
  switch (client->state) {
  case EH_LINK_UP:
    return "up";
  case EH_LINK_CONNECTING:
    return "connecting";
  case EH_LINK_DOWN:
    break;
  }
  return "down";
}

gboolean
eh_link_client_is_authenticated (EhLinkClient *client)
{
  return client->state == EH_LINK_UP && client->authenticated;
}
