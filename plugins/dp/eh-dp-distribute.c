/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-dp.h"

/*
 * The D-Bus side of distribution: assign a content to a DP or take it back
 * (kept in assignments.json, answered once on disk, then every DP is told
 * to pull), ask DPs to redistribute or validate a content, and this DP's
 * own figures (`ehttpctl dp status`).
 */

typedef struct {
  EhDp *dp;
  GDBusMethodInvocation *invocation;
  GVariant *reply; /* a{sv} */
  char *id;
} EhDpDistribute;

static void
eh_dp_distribute_free (EhDpDistribute *call)
{
  eh_dp_unref (call->dp);
  g_object_unref (call->invocation);
  g_clear_pointer (&call->reply, g_variant_unref);
  g_free (call->id);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpDistribute, eh_dp_distribute_free)

static void
eh_dp_distribute_saved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDpDistribute) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) publish_error = NULL;

  if (!eh_dp_assignments_save_finish (result, &error)) {
    g_warning ("cannot keep the content assignments: %s", error->message);
    eh_dbus_return_error (call->invocation, error);
    return;
  }
  /* the DPs below pull now: the library lists the new assignments */
  if (call->dp->plugin != NULL && !eh_dp_action_ask (call->dp, call->id, "pull", NULL, &publish_error))
    g_info ("cannot tell the DPs to pull: %s", publish_error->message);
  g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(@a{sv})", call->reply));
  call->reply = NULL;
}

/* DistributeContent / UndistributeContent (s id, s dp) → a{sv}: id, dp, changed */
static void
eh_dp_distribute_assign (EhDp *dp, GDBusMethodInvocation *invocation, GVariant *parameters, gboolean assign)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *lower = NULL;
  const char *id = NULL, *name = NULL;
  EhDpDistribute *call;
  GVariantDict reply;
  gboolean changed;

  g_variant_get (parameters, "(&s&s)", &id, &name);
  if (!eh_dp_content_id_is_valid (id))
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a content id (like PS100001)");
  else if (!eh_dp_name_is_valid (name))
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a DP name: 1 to %d of A-Z a-z 0-9 . _ : -",
                 EH_DP_NAME_MAX_BYTES);
  else if (assign && eh_dp_library_lookup (dp->library, id) == NULL)
    g_set_error (&error, EH_ERROR, EH_ERROR_NOT_FOUND, "no content %s", id);
  if (error != NULL) {
    eh_dbus_return_error (invocation, error);
    return;
  }
  changed = assign ? eh_dp_assignments_add (dp->assignments, id, name, &error)
                   : eh_dp_assignments_remove (dp->assignments, id, name);
  if (error != NULL) {
    eh_dbus_return_error (invocation, error);
    return;
  }
  lower = g_ascii_strdown (name, -1);
  g_message ("content %s %s %s", id, !changed ? "left as it was for" : assign ? "assigned to" : "taken back from",
             lower);
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, "id", "s", id);
  g_variant_dict_insert (&reply, "dp", "s", lower);
  g_variant_dict_insert (&reply, "changed", "b", changed);
  call = g_new0 (EhDpDistribute, 1);
  call->dp = eh_dp_ref (dp);
  call->invocation = g_object_ref (invocation);
  call->reply = g_variant_ref_sink (g_variant_dict_end (&reply));
  call->id = g_strdup (id);
  eh_dp_assignments_save (dp, eh_dp_distribute_saved, call);
}

/* RedistributeContent / ValidateContent (s id, s dp) → a{sv}: id, dp, action */
static GVariant *
eh_dp_distribute_act (EhDp *dp, GVariant *parameters, const char *action, GError **error)
{
  const char *id = NULL, *name = NULL;
  GVariantDict reply;

  g_variant_get (parameters, "(&s&s)", &id, &name);
  if (!eh_dp_action_ask (dp, id, action, name, error))
    return NULL;
  g_message ("content %s: %s asked of %s", id, action, name[0] != '\0' ? name : "every DP");
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, "id", "s", id);
  g_variant_dict_insert (&reply, "dp", "s", name);
  g_variant_dict_insert (&reply, "action", "s", action);
  return g_variant_new ("(@a{sv})", g_variant_dict_end (&reply));
}

/* ── Status ───────────────────────────────────────────────────────────── */

typedef struct {
  guint bodies, staged;
  guint64 body_bytes, staged_bytes;
} EhDpUsage;

static void
eh_dp_status_usage_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDp *dp = task_data;
  g_autofree char *pull_staging = g_build_filename (dp->dir, EH_DP_PULL_STAGING, NULL);
  EhDpUsage *usage = g_new0 (EhDpUsage, 1);

  eh_dp_store_usage (eh_dp_library_get_store (dp->library), pull_staging, &usage->bodies, &usage->body_bytes,
                     &usage->staged, &usage->staged_bytes);
  g_task_return_pointer (task, usage, g_free);
}

static void
eh_dp_status_measured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDpDistribute) call = user_data;
  EhDp *dp = call->dp;
  g_autofree EhDpUsage *usage = g_task_propagate_pointer (G_TASK (result), NULL);
  g_autoptr (GPtrArray) all = eh_dp_library_list (dp->library);
  guint64 content_bytes = 0;
  GVariantDict reply;

  for (guint i = 0; i < all->len; i++)
    content_bytes += ((const EhDpManifest *) g_ptr_array_index (all, i))->size;
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, "names", "^as", dp->names);
  g_variant_dict_insert (&reply, "distribution", "s", dp->assigned_only ? "assigned" : "all");
  g_variant_dict_insert (&reply, "upstream", "s", dp->upstream_dp != NULL ? dp->upstream_dp : "");
  g_variant_dict_insert (&reply, "contents", "u", all->len);
  g_variant_dict_insert (&reply, "content-bytes", "t", content_bytes);
  g_variant_dict_insert (&reply, "stored-files", "u", usage->bodies);
  g_variant_dict_insert (&reply, "disk-bytes", "t", usage->body_bytes);
  g_variant_dict_insert (&reply, "staging-files", "u", usage->staged);
  g_variant_dict_insert (&reply, "staging-bytes", "t", usage->staged_bytes);
  g_variant_dict_insert (&reply, "active-downloads", "u", dp->active_downloads);
  g_variant_dict_insert (&reply, "active-pulls", "u", dp->active_pulls);
  g_variant_dict_insert (&reply, "pulling", "b", dp->pulling);
  g_variant_dict_insert (&reply, "bundle-version", "t", dp->bundle != NULL ? eh_dp_bundle_get_version (dp->bundle)
                                                                         : 0);
  g_variant_dict_insert (&reply, "cached-tokens", "u", eh_dp_token_cache_size (dp->tokens));
  g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(@a{sv})", g_variant_dict_end (&reply)));
}

static void
eh_dp_distribute_status (EhDp *dp, GDBusMethodInvocation *invocation)
{
  g_autoptr (GTask) task = NULL;
  EhDpDistribute *call = g_new0 (EhDpDistribute, 1);

  call->dp = eh_dp_ref (dp);
  call->invocation = g_object_ref (invocation);
  /* the disk use is a walk of the store: a thread */
  task = g_task_new (NULL, NULL, eh_dp_status_measured, call);
  g_task_set_task_data (task, eh_dp_ref (dp), (GDestroyNotify) eh_dp_unref);
  g_task_run_in_thread (task, eh_dp_status_usage_thread);
}

gboolean
eh_dp_distribute_call (EhDp *dp, const char *method, GVariant *parameters, GDBusMethodInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  GVariant *result = NULL;

  if (g_strcmp0 (method, "DistributeContent") == 0 || g_strcmp0 (method, "UndistributeContent") == 0) {
    eh_dp_distribute_assign (dp, invocation, parameters, g_strcmp0 (method, "DistributeContent") == 0);
    return TRUE;
  }
  if (g_strcmp0 (method, "Status") == 0) {
    eh_dp_distribute_status (dp, invocation);
    return TRUE;
  }
  if (g_strcmp0 (method, "RedistributeContent") == 0)
    result = eh_dp_distribute_act (dp, parameters, "redistribute", &error);
  else if (g_strcmp0 (method, "ValidateContent") == 0)
    result = eh_dp_distribute_act (dp, parameters, "validate", &error);
  else
    return FALSE;
  eh_dbus_return (invocation, method, result, error);
  return TRUE;
}
