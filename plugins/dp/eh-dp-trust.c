/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "eh-dp.h"

/*
 * The DP's trust bundle: asked for with ca.trust-bundle.get at start (the
 * local ca answers, or the link carries it to the site), retried with
 * backoff, refreshed when the link comes up, and followed on
 * ca.trust-bundle.changed. The last good one is kept as a file in the
 * private dir and loaded at start, so an edge DP keeps verifying tokens
 * while the site is unreachable. A bundle with another root than the first
 * one seen is refused, loudly: that is a different site.
 */

#define EH_DP_TRUST_FILE "trust-bundle.json"

char *
eh_dp_trust_read_kept (const char *dir, gsize *len)
{
  g_autofree char *path = g_build_filename (dir, EH_DP_TRUST_FILE, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  if (!g_file_get_contents (path, &data, len, &error)) {
    if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_warning ("cannot read the kept trust bundle: %s", error->message);
    return NULL;
  }
  return data;
}

static void
eh_dp_trust_keep_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  char **job = task_data; /* { path, json } */
  GError *error = NULL;

  if (!eh_file_replace (job[0], job[1], strlen (job[1]), 0600, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
eh_dp_trust_kept (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("cannot keep the trust bundle on disk: %s", error->message);
}

/* takes @bundle when it is usable; says why otherwise */
static gboolean
eh_dp_trust_install (EhDp *dp, EhDpBundle *bundle, gboolean keep)
{
  g_autoptr (EhDpBundle) owned = bundle;
  const char *root = eh_dp_bundle_get_root_fingerprint (bundle);

  if (dp->pinned_root != NULL && g_ascii_strcasecmp (dp->pinned_root, root) != 0) {
    g_warning ("REFUSED a trust bundle with another root (%s, expected %s): tokens are still checked "
               "with the bundle kept; a DP serves one site only", root, dp->pinned_root);
    return FALSE;
  }
  if (dp->bundle != NULL && eh_dp_bundle_get_version (bundle) < eh_dp_bundle_get_version (dp->bundle)) {
    g_info ("trust bundle %" G_GUINT64_FORMAT " ignored: %" G_GUINT64_FORMAT " is newer",
            eh_dp_bundle_get_version (bundle), eh_dp_bundle_get_version (dp->bundle));
    return FALSE;
  }
  if (dp->bundle != NULL && eh_dp_bundle_get_version (bundle) == eh_dp_bundle_get_version (dp->bundle) &&
      strcmp (eh_dp_bundle_get_json (bundle), eh_dp_bundle_get_json (dp->bundle)) == 0)
    return TRUE; /* the same bundle twice (the answer to a get, and the event) */
  if (dp->pinned_root == NULL)
    dp->pinned_root = g_strdup (root);
  g_message ("trust bundle %" G_GUINT64_FORMAT " of site %s: %u token signing key(s)",
             eh_dp_bundle_get_version (bundle), eh_dp_bundle_get_site (bundle),
             eh_dp_bundle_count_signers (bundle));
  eh_dp_bundle_free (dp->bundle);
  dp->bundle = g_steal_pointer (&owned);
  /* tokens were verified against the old keys and revocations */
  eh_dp_token_cache_clear (dp->tokens);
  if (keep) {
    g_autoptr (GTask) task = g_task_new (NULL, NULL, eh_dp_trust_kept, NULL);
    char **job = g_new0 (char *, 3);

    job[0] = g_build_filename (dp->dir, EH_DP_TRUST_FILE, NULL);
    job[1] = g_strdup (eh_dp_bundle_get_json (dp->bundle));
    g_task_set_task_data (task, job, (GDestroyNotify) g_strfreev);
    g_task_run_in_thread (task, eh_dp_trust_keep_thread);
  }
  return TRUE;
}

void
eh_dp_trust_load (EhDp *dp, const char *json, gsize len)
{
  g_autoptr (GError) error = NULL;
  EhDpBundle *bundle = eh_dp_bundle_parse (json, len, g_get_real_time () / G_USEC_PER_SEC, &error);

  if (bundle == NULL) {
    g_warning ("the kept trust bundle is unusable, waiting for a fresh one: %s", error->message);
    return;
  }
  eh_dp_trust_install (dp, bundle, FALSE);
}

/* TRUE once taken; a refused one is asked for again */
static gboolean
eh_dp_trust_receive (GVariant *payload, gpointer user_data)
{
  EhDp *dp = user_data;
  g_autoptr (GError) error = NULL;
  const char *json = NULL;
  EhDpBundle *bundle;

  if (!g_variant_lookup (payload, EH_KEY_BUNDLE_JSON, "&s", &json))
    return FALSE;
  bundle = eh_dp_bundle_parse (json, strlen (json), g_get_real_time () / G_USEC_PER_SEC, &error);
  if (bundle == NULL) {
    g_warning ("REFUSED a trust bundle: %s", error->message);
    return FALSE;
  }
  return eh_dp_trust_install (dp, bundle, TRUE);
}

void
eh_dp_trust_start (EhDp *dp)
{
  dp->trust = eh_trust_follow_new (dp->bus, eh_dp_trust_receive, dp);
}

void
eh_dp_trust_stop (EhDp *dp)
{
  g_clear_pointer (&dp->trust, eh_trust_follow_free);
}
