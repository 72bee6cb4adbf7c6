/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * When pulls happen on an edge DP ([site] upstream= set): at start, when
 * the bus link comes up, on dp.content.available, and every [dp]
 * pull-interval seconds. One pull at a time; a trigger during a pull
 * starts another one right after it. The pull itself is eh-dp-fetch.c.
 */

#define EH_DP_EDGE_NO_BUNDLE_RETRY 2

static void
eh_dp_edge_removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDp) dp = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) removed = eh_dp_remove_content_finish (result, &error);

  if (removed == NULL)
    g_warning ("cannot remove a content no longer wanted here: %s", error->message);
}

static void
eh_dp_edge_report (EhDpFetchEvent *event, EhDp *dp)
{
  if (dp->plugin == NULL)
    return;
  if (strcmp (event->state, "removed") == 0) {
    /* the store keeps what a pull still needs: its bodies are pinned until their manifest is on disk */
    g_message ("content %s is no longer %s: removing it", event->id,
               dp->assigned_only ? "assigned to this DP" : "in the upstream library");
    eh_dp_remove_content (dp, event->id, eh_dp_edge_removed, eh_dp_ref (dp));
  }
  if (event->manifest != NULL)
    eh_dp_library_insert (dp->library, g_steal_pointer (&event->manifest));
  eh_dp_status_publish (dp, event->id, event->state, event->bytes, event->manifest_sha256, event->reason);
}

/* content id → sha256 of the signed manifest, for what is installed */
static GHashTable *
eh_dp_edge_have (EhDp *dp)
{
  g_autoptr (GPtrArray) all = eh_dp_library_list (dp->library);
  GHashTable *have = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < all->len; i++) {
    const EhDpManifest *manifest = g_ptr_array_index (all, i);

    if (manifest->etag != NULL && strlen (manifest->etag) == EH_DP_SHA256_HEX + 2)
      g_hash_table_insert (have, g_strdup (manifest->id), g_strndup (manifest->etag + 1, EH_DP_SHA256_HEX));
  }
  return have;
}

static gboolean
eh_dp_edge_retry (gpointer user_data)
{
  EhDp *dp = user_data;

  dp->pull_retry = 0;
  eh_dp_edge_pull (dp);
  return G_SOURCE_REMOVE;
}

static void
eh_dp_edge_pulled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDp) dp = user_data;
  g_autoptr (GError) error = NULL;

  dp->pulling = FALSE;
  if (dp->plugin == NULL)
    return;
  if (!eh_dp_fetch_finish (result, &error))
    g_message ("pull from %s: %s; trying again later", dp->upstream_dp, error->message);
  if (dp->pull_again) {
    dp->pull_again = FALSE;
    eh_dp_edge_pull (dp);
  }
}

void
eh_dp_edge_pull_anew (EhDp *dp, const char *id)
{
  if (dp->force == NULL)
    dp->force = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_size (dp->force) < EH_DP_PULL_LIBRARY_MAX_CONTENTS)
    g_hash_table_add (dp->force, g_strdup (id));
  eh_dp_edge_pull (dp);
}

void
eh_dp_edge_pull (EhDp *dp)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) have = NULL;
  EhDpFetch *fetch;
  const char *root;

  if (dp->upstream_dp == NULL || dp->plugin == NULL)
    return;
  if (dp->pulling) {
    dp->pull_again = TRUE;
    return;
  }
  if (dp->bundle == NULL) {
    /* manifests are verified with the bundle: wait for it */
    if (dp->pull_retry == 0)
      dp->pull_retry = g_timeout_add_seconds (EH_DP_EDGE_NO_BUNDLE_RETRY, eh_dp_edge_retry, dp);
    return;
  }
  root = dp->root_fingerprint != NULL ? dp->root_fingerprint : eh_dp_bundle_get_root_fingerprint (dp->bundle);
  have = eh_dp_edge_have (dp);
  fetch = eh_dp_fetch_new (dp->upstream_dp, root, dp->host_pem, dp->dir, eh_dp_bundle_get_json (dp->bundle), have,
                           dp->library, eh_dp_edge_report, dp, &error);
  if (fetch == NULL) {
    g_warning ("cannot pull content: %s", error->message);
    return;
  }
  /* the contents to fetch anew go with this pull; asked again later, they join the next one */
  eh_dp_fetch_set_scope (fetch, dp->assigned_only ? (const char *const *) dp->names : NULL, dp->force);
  g_clear_pointer (&dp->force, g_hash_table_unref);
  dp->pulling = TRUE;
  eh_dp_fetch_start (fetch, eh_dp_edge_pulled, eh_dp_ref (dp));
}

static gboolean
eh_dp_edge_tick (gpointer user_data)
{
  eh_dp_edge_pull (user_data);
  return G_SOURCE_CONTINUE;
}

static void
eh_dp_edge_available (const char *topic, GVariant *payload, gpointer user_data)
{
  eh_dp_edge_pull (user_data);
}

static void
eh_dp_edge_link_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhDp *dp = user_data;
  const char *state = NULL;

  g_variant_lookup (payload, EH_KEY_STATE, "&s", &state);
  if (g_strcmp0 (state, "up") != 0)
    return;
  eh_dp_status_publish_installed (dp);
  eh_dp_edge_pull (dp);
}

void
eh_dp_edge_start (EhDp *dp)
{
  EhConfig *config = eh_plugin_get_config (dp->plugin);
  const char *upstream = eh_config_get_string (config, "site", "upstream");
  const char *own = eh_config_get_string (config, "dp", "upstream-dp");
  const char *root = eh_config_get_string (config, "site", "root-fingerprint");

  if (upstream == NULL || upstream[0] == '\0')
    return;
  dp->upstream_dp = g_strdup (own != NULL && own[0] != '\0' ? own : upstream);
  dp->root_fingerprint = root != NULL && root[0] != '\0' ? g_strdup (root) : NULL;
  dp->host_pem = g_build_filename (eh_plugin_get_state_dir (dp->plugin), "tls", "host.pem", NULL);
  dp->pull_interval = eh_config_get_uint (config, "dp", "pull-interval");
  if (dp->assigned_only)
    g_message ("edge DP: pulls only the content assigned to %s", dp->names[0]);
  dp->edge_subscriptions[0] = eh_bus_subscribe (dp->bus, EH_TOPIC_DP_CONTENT_AVAILABLE, eh_dp_edge_available, dp,
                                                NULL);
  dp->edge_subscriptions[1] = eh_bus_subscribe (dp->bus, EH_TOPIC_LINK_STATE, eh_dp_edge_link_changed, dp, NULL);
  dp->pull_timer = g_timeout_add_seconds (MAX (dp->pull_interval, 1), eh_dp_edge_tick, dp);
  g_message ("edge DP: pulls content from %s every %u s", dp->upstream_dp, dp->pull_interval);
  eh_dp_edge_pull (dp);
}

void
eh_dp_edge_stop (EhDp *dp)
{
  g_clear_handle_id (&dp->pull_timer, g_source_remove);
  g_clear_handle_id (&dp->pull_retry, g_source_remove);
  for (guint i = 0; i < G_N_ELEMENTS (dp->edge_subscriptions); i++) {
    if (dp->edge_subscriptions[i] != 0)
      eh_bus_unsubscribe (dp->bus, dp->edge_subscriptions[i]);
    dp->edge_subscriptions[i] = 0;
  }
}
