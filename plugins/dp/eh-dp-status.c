/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * dp.content.status: every DP publishes where each content stands on it
 * (on every change, and for all it holds at start and when its link comes
 * up); every DP keeps the last status of each DP it hears of, in memory,
 * for `ehttpctl content status ID`. Events from edges reach the site over
 * the bus link.
 */

#define EH_DP_STATUS_MAX_DPS 4096 /* per content: a flood of names is dropped */

/* this DP's HTTPS base URL, as its listeners say */
static char *
eh_dp_status_url (EhDp *dp)
{
  g_auto (GStrv) urls = eh_plugin_get_listener_urls (dp->plugin);

  for (guint i = 0; urls != NULL && urls[i] != NULL; i++) {
    if (g_str_has_prefix (urls[i], "https://"))
      return g_strdup (urls[i]);
  }
  return g_strdup ("");
}

void
eh_dp_status_publish (EhDp *dp, const char *id, const char *state, guint64 bytes, const char *sha256,
                      const char *reason)
{
  g_autofree char *url = eh_dp_status_url (dp);
  g_autoptr (GError) error = NULL;
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_DP_NAME, "s", dp->names[0]);
  g_variant_dict_insert (&payload, EH_KEY_DP_URL, "s", url);
  g_variant_dict_insert (&payload, EH_KEY_CONTENT_ID, "s", id);
  g_variant_dict_insert (&payload, EH_KEY_STATE, "s", state);
  g_variant_dict_insert (&payload, EH_KEY_BYTES, "t", bytes);
  g_variant_dict_insert (&payload, EH_KEY_MANIFEST_SHA256, "s", sha256 != NULL ? sha256 : "");
  if (reason != NULL)
    g_variant_dict_insert (&payload, EH_KEY_REASON, "s", reason);
  if (!eh_bus_publish (dp->bus, EH_TOPIC_DP_CONTENT_STATUS, g_variant_dict_end (&payload), &error))
    g_info ("cannot publish the status of %s: %s", id, error->message);
}

void
eh_dp_status_publish_manifest (EhDp *dp, const EhDpManifest *manifest)
{
  g_autofree char *sha = manifest->etag != NULL && strlen (manifest->etag) == EH_DP_SHA256_HEX + 2
                           ? g_strndup (manifest->etag + 1, EH_DP_SHA256_HEX)
                           : g_strdup ("");

  eh_dp_status_publish (dp, manifest->id, "installed", manifest->size, sha, NULL);
}

void
eh_dp_status_publish_installed (EhDp *dp)
{
  g_autoptr (GPtrArray) all = NULL;

  if (dp->library == NULL)
    return;
  all = eh_dp_library_list (dp->library);
  for (guint i = 0; i < all->len; i++)
    eh_dp_status_publish_manifest (dp, g_ptr_array_index (all, i));
}

static void
eh_dp_status_received (const char *topic, GVariant *payload, gpointer user_data)
{
  EhDp *dp = user_data;
  const char *id = NULL, *name = NULL, *state = NULL;
  GHashTable *per_dp;

  /* the bus checked the field types; the values are still what a peer chose */
  if (!g_variant_lookup (payload, EH_KEY_CONTENT_ID, "&s", &id) ||
      !g_variant_lookup (payload, EH_KEY_DP_NAME, "&s", &name) ||
      !g_variant_lookup (payload, EH_KEY_STATE, "&s", &state) || !eh_dp_content_id_is_valid (id) ||
      name[0] == '\0' || strlen (name) > 255 || !g_utf8_validate (name, -1, NULL) ||
      !g_strv_contains ((const char *const[]) { "pending", "in-progress", "installed", "failed", "removed", NULL },
                        state))
    return;
  per_dp = g_hash_table_lookup (dp->statuses, id);
  if (strcmp (state, "removed") == 0) {
    if (per_dp != NULL)
      g_hash_table_remove (per_dp, name);
    return;
  }
  if (per_dp == NULL) {
    per_dp = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
    g_hash_table_insert (dp->statuses, g_strdup (id), per_dp);
  }
  if (g_hash_table_size (per_dp) >= EH_DP_STATUS_MAX_DPS && !g_hash_table_contains (per_dp, name))
    return;
  g_hash_table_replace (per_dp, g_strdup (name), g_variant_ref (payload));
}

/* does @per_dp hold a report from @name (ASCII case ignored)? */
static GVariant *
eh_dp_status_find (GHashTable *per_dp, const char *name)
{
  GHashTableIter iter;
  gpointer key, value;

  if (per_dp == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, per_dp);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    if (g_ascii_strcasecmp (key, name) == 0)
      return value;
  }
  return NULL;
}

/* one row: the DP's report, and whether the content is assigned to it */
static GVariant *
eh_dp_status_row (GVariant *report, gboolean assigned)
{
  GVariantDict row;

  g_variant_dict_init (&row, report);
  g_variant_dict_insert (&row, "assigned", "b", assigned);
  return g_variant_dict_end (&row);
}

GVariant *
eh_dp_status_list (EhDp *dp, const char *id)
{
  GHashTable *per_dp = g_hash_table_lookup (dp->statuses, id);
  const char *const *assigned = dp->assignments != NULL ? eh_dp_assignments_get (dp->assignments, id) : NULL;
  g_autoptr (GList) names = per_dp != NULL ? g_list_sort (g_hash_table_get_keys (per_dp), (GCompareFunc) strcmp)
                                           : NULL;
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (GList *l = names; l != NULL; l = l->next)
    g_variant_builder_add_value (&list, eh_dp_status_row (g_hash_table_lookup (per_dp, l->data),
                                                          eh_dp_names_contain (assigned, l->data)));
  /* a DP the content is assigned to and that has not reported yet: pending */
  for (guint i = 0; assigned != NULL && assigned[i] != NULL; i++) {
    GVariantDict row;

    if (eh_dp_status_find (per_dp, assigned[i]) != NULL)
      continue;
    g_variant_dict_init (&row, NULL);
    g_variant_dict_insert (&row, EH_KEY_DP_NAME, "s", assigned[i]);
    g_variant_dict_insert (&row, EH_KEY_DP_URL, "s", "");
    g_variant_dict_insert (&row, EH_KEY_CONTENT_ID, "s", id);
    g_variant_dict_insert (&row, EH_KEY_STATE, "s", "pending");
    g_variant_dict_insert (&row, EH_KEY_BYTES, "t", (guint64) 0);
    g_variant_dict_insert (&row, EH_KEY_MANIFEST_SHA256, "s", "");
    g_variant_dict_insert (&row, EH_KEY_REASON, "s", "assigned; no report from this DP yet");
    g_variant_dict_insert (&row, "assigned", "b", TRUE);
    g_variant_builder_add_value (&list, g_variant_dict_end (&row));
  }
  return g_variant_builder_end (&list);
}

void
eh_dp_status_start (EhDp *dp)
{
  dp->statuses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_hash_table_unref);
  dp->edge_subscriptions[2] = eh_bus_subscribe (dp->bus, EH_TOPIC_DP_CONTENT_STATUS, eh_dp_status_received, dp,
                                                NULL);
  eh_dp_status_publish_installed (dp);
}

void
eh_dp_status_stop (EhDp *dp)
{
  if (dp->edge_subscriptions[2] != 0)
    eh_bus_unsubscribe (dp->bus, dp->edge_subscriptions[2]);
  dp->edge_subscriptions[2] = 0;
}
