/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Where content is: what DPs report in dp.content.status, kept in memory
 * (a restart learns it again: DPs report everything they hold when they
 * start or their link comes up). Events come from enrolled hosts, yet a
 * report is checked as hostile input all the same: names, URLs, ids and
 * hashes by grammar, and bounded counts, so no report can make a content
 * token the DP would refuse or grow this table without end.
 */

#define EH_MP_DP_NAME_MAX 253
#define EH_MP_DP_URL_MAX 2048

struct _EhMpLocator {
  GHashTable *contents; /* content id → GPtrArray of EhMpDpHolding */
  GHashTable *health;   /* dp name (lower case) → GINT_TO_POINTER (1 healthy, 2 failing) */
  guint max_contents;
  guint64 sequence;
};

void
eh_mp_dp_holding_free (EhMpDpHolding *holding)
{
  if (holding == NULL)
    return;
  g_free (holding->dp);
  g_free (holding->url);
  g_free (holding->manifest_sha256);
  g_free (holding);
}

EhMpLocator *
eh_mp_locator_new (guint max_contents)
{
  EhMpLocator *locator = g_new0 (EhMpLocator, 1);

  locator->contents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) g_ptr_array_unref);
  locator->health = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  locator->max_contents = max_contents;
  return locator;
}

void
eh_mp_locator_free (EhMpLocator *locator)
{
  if (locator == NULL)
    return;
  g_hash_table_unref (locator->contents);
  g_hash_table_unref (locator->health);
  g_free (locator);
}

/* a DNS name or IP literal as a DP's `aud` name: letters, digits, - . : */
gboolean
eh_mp_dp_name_is_valid (const char *name)
{
  return eh_text_is_word (name, 1, EH_MP_DP_NAME_MAX, "-.:");
}

/* https://host[:port][/path]: printable ASCII, no spaces, quotes or backslashes */
static gboolean
eh_mp_dp_url_is_valid (const char *url)
{
  gsize len = strlen (url);
  g_autoptr (GUri) uri = NULL;

  if (len > EH_MP_DP_URL_MAX || !g_str_has_prefix (url, "https://"))
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (url[i] <= ' ' || url[i] > '~' || url[i] == '"' || url[i] == '\\')
      return FALSE;
  }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  return uri != NULL && g_uri_get_host (uri) != NULL && g_uri_get_host (uri)[0] != '\0' &&
         g_uri_get_query (uri) == NULL && g_uri_get_fragment (uri) == NULL &&
         g_uri_get_userinfo (uri) == NULL;
}

static gboolean
eh_mp_sha256_hex_is_valid (const char *hex)
{
  if (strlen (hex) != 64)
    return FALSE;
  for (guint i = 0; i < 64; i++) {
    if (!g_ascii_isdigit (hex[i]) && !(hex[i] >= 'a' && hex[i] <= 'f'))
      return FALSE;
  }
  return TRUE;
}

static gboolean
eh_mp_locator_check (const char *dp, const char *url, const char *content_id, const char *state,
                     const char *manifest_sha256, GError **error)
{
  const char *why = NULL;
  static const char *const states[] = { "pending", "in-progress", "installed", "failed", "removed", NULL };

  if (!eh_mp_dp_name_is_valid (dp))
    why = "the DP name is not a host name";
  else if (!eh_mp_content_id_is_valid (content_id))
    why = "the content id is malformed";
  else if (!g_strv_contains (states, state))
    why = "the state is not one of pending, in-progress, installed, failed, removed";
  else if (strcmp (state, "installed") == 0 && !eh_mp_dp_url_is_valid (url))
    why = "the DP URL is not an https:// URL";
  else if (strcmp (state, "installed") == 0 && !eh_mp_sha256_hex_is_valid (manifest_sha256))
    why = "an installed content needs the hex SHA-256 of its manifest";
  if (why == NULL)
    return TRUE;
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a content status was ignored: %s", why);
  return FALSE;
}

static gint
eh_mp_locator_index (GPtrArray *holdings, const char *dp)
{
  for (guint i = 0; i < holdings->len; i++) {
    EhMpDpHolding *holding = g_ptr_array_index (holdings, i);

    if (g_ascii_strcasecmp (holding->dp, dp) == 0)
      return (gint) i;
  }
  return -1;
}

gboolean
eh_mp_locator_take (EhMpLocator *locator, const char *dp, const char *url, const char *content_id,
                    const char *state, guint64 bytes, const char *manifest_sha256, GError **error)
{
  g_autofree char *key = NULL;
  GPtrArray *holdings;
  EhMpDpHolding *holding;
  gint index;

  if (!eh_mp_locator_check (dp, url, content_id, state, manifest_sha256, error))
    return FALSE;
  key = g_ascii_strdown (dp, -1);
  holdings = g_hash_table_lookup (locator->contents, content_id);
  index = holdings != NULL ? eh_mp_locator_index (holdings, dp) : -1;
  if (strcmp (state, "installed") != 0) {
    /* anything else takes the DP out of the content's list */
    if (index >= 0)
      g_ptr_array_remove_index (holdings, index);
    if (holdings != NULL && holdings->len == 0)
      g_hash_table_remove (locator->contents, content_id);
  } else {
    if (holdings == NULL) {
      if (g_hash_table_size (locator->contents) >= locator->max_contents) {
        g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                     "a content status was ignored: %u contents are located already", locator->max_contents);
        return FALSE;
      }
      holdings = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_dp_holding_free);
      g_hash_table_insert (locator->contents, g_strdup (content_id), holdings);
    }
    if (index < 0 && holdings->len >= EH_MP_MAX_DPS_PER_CONTENT) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "a content status was ignored: %d DPs hold this content already",
                   EH_MP_MAX_DPS_PER_CONTENT);
      return FALSE;
    }
    if (index < 0) {
      holding = g_new0 (EhMpDpHolding, 1);
      g_ptr_array_add (holdings, holding);
    } else {
      holding = g_ptr_array_index (holdings, index);
    }
    g_free (holding->dp);
    holding->dp = g_strdup (key);
    g_free (holding->url);
    holding->url = g_str_has_suffix (url, "/") ? g_strndup (url, strlen (url) - 1) : g_strdup (url);
    g_free (holding->manifest_sha256);
    holding->manifest_sha256 = g_strdup (manifest_sha256);
    holding->bytes = bytes;
    holding->reported = ++locator->sequence;
  }
  /* the health table is bounded by the DPs that hold something or failed */
  if (g_hash_table_contains (locator->health, key) ||
      g_hash_table_size (locator->health) < locator->max_contents)
    g_hash_table_insert (locator->health, g_steal_pointer (&key),
                         GINT_TO_POINTER (strcmp (state, "failed") == 0 ? 2 : 1));
  return TRUE;
}

static gint
eh_mp_locator_compare (gconstpointer a, gconstpointer b)
{
  const EhMpDpHolding *x = *(EhMpDpHolding *const *) a;
  const EhMpDpHolding *y = *(EhMpDpHolding *const *) b;

  if (x->near != y->near)
    return x->near ? -1 : 1;
  if (x->healthy != y->healthy)
    return x->healthy ? -1 : 1;
  if (x->reported != y->reported)
    return x->reported > y->reported ? -1 : 1;
  return strcmp (x->dp, y->dp);
}

GPtrArray *
eh_mp_locator_find (EhMpLocator *locator, const char *content_id, GHashTable *near)
{
  GPtrArray *found = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_dp_holding_free);
  GPtrArray *holdings = g_hash_table_lookup (locator->contents, content_id);
  const char *best = NULL;

  for (guint i = 0; holdings != NULL && i < holdings->len; i++) {
    const EhMpDpHolding *holding = g_ptr_array_index (holdings, i);
    EhMpDpHolding *copy = g_new0 (EhMpDpHolding, 1);

    copy->dp = g_strdup (holding->dp);
    copy->url = g_strdup (holding->url);
    copy->manifest_sha256 = g_strdup (holding->manifest_sha256);
    copy->bytes = holding->bytes;
    copy->reported = holding->reported;
    copy->healthy = GPOINTER_TO_INT (g_hash_table_lookup (locator->health, holding->dp)) != 2;
    if (near != NULL) {
      g_autofree char *lower = g_ascii_strdown (holding->dp, -1);

      copy->near = g_hash_table_contains (near, lower);
    }
    g_ptr_array_add (found, copy);
  }
  g_ptr_array_sort (found, eh_mp_locator_compare);
  /* one token names one manifest: keep the DPs that agree with the best one */
  for (guint i = 0; i < found->len;) {
    EhMpDpHolding *holding = g_ptr_array_index (found, i);

    if (best == NULL)
      best = holding->manifest_sha256;
    if (strcmp (holding->manifest_sha256, best) != 0)
      g_ptr_array_remove_index (found, i);
    else
      i++;
  }
  return found;
}
