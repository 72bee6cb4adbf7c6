/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * Redistribution and validation on demand: `ehttpctl content redistribute
 * ID [--dp NAME]` and `content validate ID [--dp NAME]` on the site publish
 * dp.content.action; it reaches every DP (edges over their link) and the
 * one named, or all of them, act and report in dp.content.status:
 *
 *   redistribute  an edge fetches every file of the content anew from its
 *                 upstream, checks each hash and replaces the stored copy;
 *                 the site's own DP, the origin, validates instead
 *   validate      re-hash the stored files: installed when all are right,
 *                 otherwise failed with the reason; on an edge each damaged
 *                 body is deleted (never served again) and the content is
 *                 pulled anew
 *   pull          the site's assignments changed: edges pull now
 */

#define EH_DP_ACTION_REDISTRIBUTE "redistribute"
#define EH_DP_ACTION_VALIDATE "validate"
#define EH_DP_ACTION_PULL "pull" /* the assignments changed: pull now */
#define EH_DP_ACTION_REASON_MAX 3 /* damaged files named in the reason */

static const char *
eh_dp_action_manifest_sha (const EhDpManifest *manifest, char sha[EH_DP_SHA256_HEX + 1])
{
  sha[0] = '\0';
  if (manifest->etag != NULL && strlen (manifest->etag) == EH_DP_SHA256_HEX + 2) {
    memcpy (sha, manifest->etag + 1, EH_DP_SHA256_HEX);
    sha[EH_DP_SHA256_HEX] = '\0';
  }
  return sha;
}

typedef struct {
  EhDp *dp;
  char *id;
} EhDpValidation;

static void
eh_dp_validation_free (EhDpValidation *validation)
{
  eh_dp_unref (validation->dp);
  g_free (validation->id);
  g_free (validation);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpValidation, eh_dp_validation_free)

/* "2 damaged file(s): a.bin (hash), b.bin (missing)" */
static char *
eh_dp_action_reason (GVariant *problems)
{
  GString *reason = g_string_new (NULL);
  gsize n = g_variant_n_children (problems);

  g_string_printf (reason, "validation: %" G_GSIZE_FORMAT " damaged file(s):", n);
  for (gsize i = 0; i < MIN (n, EH_DP_ACTION_REASON_MAX); i++) {
    g_autoptr (GVariant) row = g_variant_get_child_value (problems, i);
    const char *path = "", *problem = "";

    g_variant_lookup (row, "path", "&s", &path);
    g_variant_lookup (row, "problem", "&s", &problem);
    g_string_append_printf (reason, "%s %s (%s)", i > 0 ? "," : "", path, problem);
  }
  if (n > EH_DP_ACTION_REASON_MAX)
    g_string_append (reason, ", …");
  return g_string_free (reason, FALSE);
}

static void
eh_dp_action_validated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDpValidation) validation = user_data;
  EhDp *dp = validation->dp;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_dp_verify_content_finish (result, &error);
  g_autoptr (GVariant) problems = NULL;
  g_autofree char *reason = NULL;
  const EhDpManifest *manifest;
  char sha[EH_DP_SHA256_HEX + 1];
  gboolean ok = FALSE;

  if (dp->plugin == NULL)
    return;
  manifest = eh_dp_library_lookup (dp->library, validation->id);
  if (reply == NULL || manifest == NULL) {
    g_info ("content %s not validated: %s", validation->id, error != NULL ? error->message : "it is gone");
    return;
  }
  eh_dp_action_manifest_sha (manifest, sha);
  g_variant_lookup (reply, "ok", "b", &ok);
  if (ok) {
    g_message ("content %s validated: every file is right", validation->id);
    eh_dp_status_publish (dp, validation->id, "installed", manifest->size, sha, NULL);
    return;
  }
  problems = g_variant_lookup_value (reply, "problems", G_VARIANT_TYPE ("aa{sv}"));
  reason = eh_dp_action_reason (problems);
  g_warning ("content %s: %s", validation->id, reason);
  eh_dp_status_publish (dp, validation->id, "failed", 0, sha, reason);
  if (dp->upstream_dp != NULL)
    eh_dp_edge_pull_anew (dp, validation->id);
}

static void
eh_dp_action_validate (EhDp *dp, const char *id)
{
  EhDpValidation *validation = g_new0 (EhDpValidation, 1);

  validation->dp = eh_dp_ref (dp);
  validation->id = g_strdup (id);
  /* an edge drops a damaged body (it can fetch it again); the origin only reports */
  eh_dp_validate_content (dp, id, dp->upstream_dp != NULL, eh_dp_action_validated, validation);
}

/* acts on @action for @id when @name (nullable: every DP) is this DP */
static void
eh_dp_action_apply (EhDp *dp, const char *id, const char *action, const char *name)
{
  const EhDpManifest *manifest;

  if (name != NULL && !eh_dp_names_contain ((const char *const *) dp->names, name))
    return;
  manifest = eh_dp_library_lookup (dp->library, id);
  if (strcmp (action, EH_DP_ACTION_PULL) == 0)
    eh_dp_edge_pull (dp);
  else if (strcmp (action, EH_DP_ACTION_REDISTRIBUTE) == 0 && dp->upstream_dp != NULL) {
    g_message ("content %s: redistribution asked: fetching every file anew", id);
    eh_dp_edge_pull_anew (dp, id);
  } else if (strcmp (action, EH_DP_ACTION_REDISTRIBUTE) == 0 || strcmp (action, EH_DP_ACTION_VALIDATE) == 0) {
    if (manifest != NULL)
      eh_dp_action_validate (dp, id);
    else if (name != NULL)
      eh_dp_status_publish (dp, id, "failed", 0, "", "not on this DP");
  }
}

static void
eh_dp_action_received (const char *topic, GVariant *payload, gpointer user_data)
{
  EhDp *dp = user_data;
  const char *id = NULL, *action = NULL, *name = NULL;

  /* the origin acts only on its own admin's asking (eh_dp_action_ask): events reach it from its
   * edges too, and an edge must not make the site re-hash its library */
  if (dp->upstream_dp == NULL)
    return;
  /* the bus checked the types; the values are what the publisher chose */
  if (!g_variant_lookup (payload, EH_KEY_CONTENT_ID, "&s", &id) ||
      !g_variant_lookup (payload, EH_KEY_ACTION, "&s", &action) || !eh_dp_content_id_is_valid (id))
    return;
  g_variant_lookup (payload, EH_KEY_DP_NAME, "&s", &name);
  eh_dp_action_apply (dp, id, action, name);
}

gboolean
eh_dp_action_ask (EhDp *dp, const char *id, const char *action, const char *dp_name, GError **error)
{
  GVariantDict payload;

  if (!eh_dp_content_id_is_valid (id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a content id (like PS100001)");
    return FALSE;
  }
  if (dp_name != NULL && dp_name[0] != '\0' && !eh_dp_name_is_valid (dp_name)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "not a DP name: 1 to %d of A-Z a-z 0-9 . _ : -", EH_DP_NAME_MAX_BYTES);
    return FALSE;
  }
  if (eh_dp_library_lookup (dp->library, id) == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no content %s", id);
    return FALSE;
  }
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CONTENT_ID, "s", id);
  g_variant_dict_insert (&payload, EH_KEY_ACTION, "s", action);
  if (dp_name != NULL && dp_name[0] != '\0')
    g_variant_dict_insert (&payload, EH_KEY_DP_NAME, "s", dp_name);
  if (!eh_bus_publish (dp->bus, EH_TOPIC_DP_CONTENT_ACTION, g_variant_dict_end (&payload), error))
    return FALSE;
  /* this DP acts here, not on the event (see eh_dp_action_received) */
  if (dp->upstream_dp == NULL)
    eh_dp_action_apply (dp, id, action, dp_name != NULL && dp_name[0] != '\0' ? dp_name : NULL);
  return TRUE;
}

void
eh_dp_action_start (EhDp *dp)
{
  dp->subscriptions_action = eh_bus_subscribe (dp->bus, EH_TOPIC_DP_CONTENT_ACTION, eh_dp_action_received, dp,
                                               NULL);
}

void
eh_dp_action_stop (EhDp *dp)
{
  if (dp->subscriptions_action != 0)
    eh_bus_unsubscribe (dp->bus, dp->subscriptions_action);
  dp->subscriptions_action = 0;
}
