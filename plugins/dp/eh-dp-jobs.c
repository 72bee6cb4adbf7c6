/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "eh-dp.h"

/*
 * The slow admin operations. Disk work runs in GTask threads; the main
 * context only moves manifests in and out of the index, talks to the bus
 * and answers. A content add goes: import (thread) → sign (bus) → write
 * (thread) → index and publish (main). A failure after the import unpins
 * and collects the bodies only that import brought, so nothing is left.
 */

/* ── add ──────────────────────────────────────────────────────────────── */

typedef struct {
  EhDp *dp;
  char *name;
  char *version;
  char *path;
  EhDpManifest *manifest;
  GError *error; /* why the add failed, kept while the cleanup runs */
} EhDpAdd;

static void
eh_dp_add_free (EhDpAdd *add)
{
  eh_dp_unref (add->dp);
  g_free (add->name);
  g_free (add->version);
  g_free (add->path);
  eh_dp_manifest_free (add->manifest);
  g_clear_error (&add->error);
  g_free (add);
}

static void
eh_dp_add_import_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpAdd *add = task_data;
  GError *error = NULL;

  add->manifest = eh_dp_import (add->dp->library, add->name, add->version, add->path, NULL, NULL, &error);
  if (add->manifest == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
eh_dp_add_cleanup_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpAdd *add = task_data;

  eh_dp_import_release (add->dp->library, add->manifest, TRUE);
  g_task_return_error (task, g_steal_pointer (&add->error));
}

/* fails @task (and drops the caller's reference) once the bodies of the
 * import are released and collected */
static void
eh_dp_add_fail (GTask *task, GError *error)
{
  EhDpAdd *add = g_task_get_task_data (task);

  g_warning ("content %s not added: %s", add->name, error->message);
  add->error = error;
  g_task_run_in_thread (task, eh_dp_add_cleanup_thread);
  g_object_unref (task);
}

static void
eh_dp_add_write_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpAdd *add = task_data;
  GError *error = NULL;

  if (!eh_dp_library_write (add->dp->library, add->manifest, &error)) {
    eh_dp_import_release (add->dp->library, add->manifest, TRUE);
    g_task_return_error (task, error);
    return;
  }
  /* the manifest on disk now keeps the bodies */
  eh_dp_import_release (add->dp->library, add->manifest, FALSE);
  g_task_return_boolean (task, TRUE);
}

static void
eh_dp_add_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) outer = user_data;
  EhDpAdd *add = g_task_get_task_data (outer);
  EhDpManifest *manifest = add->manifest;
  GError *error = NULL;
  GVariantDict event;

  if (!g_task_propagate_boolean (G_TASK (result), &error)) {
    g_warning ("content %s not added: %s", add->name, error->message);
    g_task_return_error (outer, error);
    return;
  }
  add->manifest = NULL;
  eh_dp_library_insert (add->dp->library, manifest);
  g_message ("content %s (%s, version %s): %u file(s), %" G_GUINT64_FORMAT " bytes", manifest->id,
             manifest->name, manifest->version, manifest->files->len, manifest->size);
  if (add->dp->plugin != NULL) {
    g_variant_dict_init (&event, NULL);
    g_variant_dict_insert (&event, EH_KEY_CONTENT_ID, "s", manifest->id);
    g_variant_dict_insert (&event, EH_KEY_CONTENT_VERSION, "s", manifest->version);
    g_variant_dict_insert (&event, EH_KEY_MANIFEST_JWS, "s", manifest->jws);
    if (!eh_bus_publish (add->dp->bus, EH_TOPIC_DP_CONTENT_AVAILABLE, g_variant_dict_end (&event), &error)) {
      g_warning ("content %s: %s not published: %s", manifest->id, EH_TOPIC_DP_CONTENT_AVAILABLE,
                 error->message);
      g_clear_error (&error);
    }
    /* this DP holds it from now on: the MP can locate it here at once */
    eh_dp_status_publish_manifest (add->dp, manifest);
  }
  g_task_return_pointer (outer, g_strdup (manifest->id), g_free);
}

static gboolean
eh_dp_jws_is_compact (const char *jws)
{
  guint dots = 0;

  for (const char *p = jws; *p != '\0'; p++) {
    if (*p == '.')
      dots++;
    else if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  }
  return dots == 2;
}

static void
eh_dp_add_signed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *outer = user_data;
  EhDpAdd *add = g_task_get_task_data (outer);
  GError *error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (add->dp->bus, result, &error);
  const char *jws = NULL;
  GTask *write;

  if (reply == NULL) {
    g_prefix_error (&error, "the manifest could not be signed by the site signing key "
                            "(is the ca role running on this site?): ");
    eh_dp_add_fail (outer, error);
    return;
  }
  g_variant_lookup (reply, EH_KEY_JWS, "&s", &jws);
  if (!eh_dp_jws_is_compact (jws)) {
    eh_dp_add_fail (outer, g_error_new (EH_ERROR, EH_ERROR_CRYPTO, "the ca answered with no compact JWS"));
    return;
  }
  eh_dp_manifest_set_jws (add->manifest, jws);
  write = g_task_new (NULL, NULL, eh_dp_add_written, outer);
  g_task_set_task_data (write, add, NULL);
  g_task_run_in_thread (write, eh_dp_add_write_thread);
  g_object_unref (write);
}

static void
eh_dp_add_imported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *outer = user_data;
  EhDpAdd *add = g_task_get_task_data (outer);
  g_autoptr (GBytes) payload = NULL;
  GError *error = NULL;
  GVariantDict request;

  if (!g_task_propagate_boolean (G_TASK (result), &error)) {
    g_info ("content %s refused: %s", add->name, error->message);
    g_task_return_error (outer, error);
    g_object_unref (outer);
    return;
  }
  if (add->dp->plugin == NULL) {
    eh_dp_add_fail (outer, g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE, "the dp plugin stopped"));
    return;
  }
  payload = eh_dp_manifest_to_json (add->manifest);
  g_variant_dict_init (&request, NULL);
  g_variant_dict_insert_value (&request, EH_KEY_PAYLOAD,
                               g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, payload, TRUE));
  g_variant_dict_insert (&request, EH_KEY_TYP, "s", EH_DP_MANIFEST_TYP);
  eh_bus_request (add->dp->bus, EH_TOPIC_CA_SITE_SIGNING_SIGN, g_variant_dict_end (&request), 0,
                  NULL, eh_dp_add_signed, outer);
}

void
eh_dp_add_content (EhDp *dp, const char *name, const char *version, const char *path,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GTask) import = g_task_new (NULL, NULL, eh_dp_add_imported, outer);
  EhDpAdd *add = g_new0 (EhDpAdd, 1);

  add->dp = eh_dp_ref (dp);
  add->name = g_strdup (name);
  add->version = g_strdup (version);
  add->path = g_strdup (path);
  g_task_set_task_data (outer, add, (GDestroyNotify) eh_dp_add_free);
  g_task_set_task_data (import, add, NULL);
  g_task_run_in_thread (import, eh_dp_add_import_thread);
}

char *
eh_dp_add_content_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ── remove ───────────────────────────────────────────────────────────── */

typedef struct {
  EhDp *dp;
  EhDpManifest *manifest;
} EhDpRemove;

static void
eh_dp_remove_free (EhDpRemove *remove)
{
  eh_dp_unref (remove->dp);
  eh_dp_manifest_free (remove->manifest);
  g_free (remove);
}

static void
eh_dp_remove_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpRemove *remove = task_data;
  GError *error = NULL;
  guint removed = 0;
  guint64 freed = 0;
  GVariantDict reply;

  if (!eh_dp_library_delete (remove->dp->library, remove->manifest->id, &error)) {
    g_task_return_error (task, error);
    return;
  }
  /* the manifest is gone either way: a failed collection is retried by the next remove */
  if (!eh_dp_library_collect (remove->dp->library, &removed, &freed, &error)) {
    g_warning ("content %s removed, its files not collected: %s", remove->manifest->id, error->message);
    g_clear_error (&error);
  }
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, "id", "s", remove->manifest->id);
  g_variant_dict_insert (&reply, "removed-files", "u", removed);
  g_variant_dict_insert (&reply, "freed-bytes", "t", freed);
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_dict_end (&reply)),
                         (GDestroyNotify) g_variant_unref);
}

static void
eh_dp_remove_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) outer = user_data;
  EhDpRemove *remove = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;
  GVariant *reply = g_task_propagate_pointer (G_TASK (result), &error);

  if (reply == NULL) {
    /* the manifest is still on disk: serve it again */
    eh_dp_library_insert (remove->dp->library, g_steal_pointer (&remove->manifest));
    g_task_return_error (outer, error);
    return;
  }
  g_message ("content %s removed", remove->manifest->id);
  g_task_return_pointer (outer, reply, (GDestroyNotify) g_variant_unref);
}

void
eh_dp_remove_content (EhDp *dp, const char *id, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GTask) task = NULL;
  EhDpRemove *remove;
  GError *error = NULL;
  EhDpManifest *manifest = eh_dp_content_id_is_valid (id) ? eh_dp_library_take (dp->library, id, &error)
                                                          : NULL;

  if (manifest == NULL) {
    if (error == NULL)
      error = g_error_new (EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a content id (like PS100001)");
    g_task_return_error (outer, error);
    g_object_unref (outer);
    return;
  }
  /* out of the library, so no longer served: the MP stops sending clients here */
  if (dp->plugin != NULL)
    eh_dp_status_publish (dp, manifest->id, "removed", 0, "", NULL);
  remove = g_new0 (EhDpRemove, 1);
  remove->dp = eh_dp_ref (dp);
  remove->manifest = manifest;
  task = g_task_new (NULL, NULL, eh_dp_remove_done, outer);
  g_task_set_task_data (task, remove, (GDestroyNotify) eh_dp_remove_free);
  g_task_run_in_thread (task, eh_dp_remove_thread);
}

GVariant *
eh_dp_remove_content_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ── verify ───────────────────────────────────────────────────────────── */

typedef struct {
  char *id;
  char *path;
  char *sha256;
  guint64 size;
} EhDpCheck;

typedef struct {
  EhDp *dp;
  GArray *checks; /* EhDpCheck, copied on the main context */
  guint contents;
  gboolean drop_damaged; /* delete a body of the wrong size or hash: it is never served again */
} EhDpVerify;

static void
eh_dp_check_clear (EhDpCheck *check)
{
  g_free (check->id);
  g_free (check->path);
  g_free (check->sha256);
}

static void
eh_dp_verify_free (EhDpVerify *verify)
{
  eh_dp_unref (verify->dp);
  g_array_unref (verify->checks);
  g_free (verify);
}

static void
eh_dp_verify_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpVerify *verify = task_data;
  EhDpStore *store = eh_dp_library_get_store (verify->dp->library);
  GVariantBuilder problems;
  guint64 bytes = 0;
  guint bad = 0;
  GVariantDict reply;

  g_variant_builder_init (&problems, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < verify->checks->len; i++) {
    const EhDpCheck *check = &g_array_index (verify->checks, EhDpCheck, i);
    const char *problem = NULL;
    GVariantDict row;

    bytes += check->size;
    if (eh_dp_store_check (store, check->sha256, check->size, &problem))
      continue;
    bad++;
    if (verify->drop_damaged && g_strcmp0 (problem, "missing") != 0) {
      g_autofree char *body = eh_dp_store_path (store, check->sha256);

      if (g_unlink (body) == 0)
        g_warning ("content %s: %s was damaged (%s): deleted from the store", check->id, check->path, problem);
    }
    g_variant_dict_init (&row, NULL);
    g_variant_dict_insert (&row, "id", "s", check->id);
    g_variant_dict_insert (&row, "path", "s", check->path);
    g_variant_dict_insert (&row, "sha256", "s", check->sha256);
    g_variant_dict_insert (&row, "problem", "s", problem);
    g_variant_builder_add_value (&problems, g_variant_dict_end (&row));
  }
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, "contents", "u", verify->contents);
  g_variant_dict_insert (&reply, "files", "u", verify->checks->len);
  g_variant_dict_insert (&reply, "bytes", "t", bytes);
  g_variant_dict_insert (&reply, "ok", "b", bad == 0);
  g_variant_dict_insert_value (&reply, "problems", g_variant_builder_end (&problems));
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_dict_end (&reply)),
                         (GDestroyNotify) g_variant_unref);
}

static void
eh_dp_verify_add (EhDpVerify *verify, const EhDpManifest *manifest)
{
  verify->contents++;
  for (guint i = 0; i < manifest->files->len; i++) {
    const EhDpManifestFile *file = g_ptr_array_index (manifest->files, i);
    EhDpCheck check = { g_strdup (manifest->id), g_strdup (file->path), g_strdup (file->sha256), file->size };

    g_array_append_val (verify->checks, check);
  }
}

void
eh_dp_verify_content (EhDp *dp, const char *id, GAsyncReadyCallback callback, gpointer user_data)
{
  eh_dp_validate_content (dp, id, FALSE, callback, user_data);
}

void
eh_dp_validate_content (EhDp *dp, const char *id, gboolean drop_damaged, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  EhDpVerify *verify = g_new0 (EhDpVerify, 1);

  verify->dp = eh_dp_ref (dp);
  verify->drop_damaged = drop_damaged;
  verify->checks = g_array_new (FALSE, TRUE, sizeof (EhDpCheck));
  g_array_set_clear_func (verify->checks, (GDestroyNotify) eh_dp_check_clear);
  g_task_set_task_data (task, verify, (GDestroyNotify) eh_dp_verify_free);
  if (id != NULL && id[0] != '\0') {
    EhDpManifest *manifest = eh_dp_content_id_is_valid (id) ? eh_dp_library_lookup (dp->library, id) : NULL;

    if (manifest == NULL) {
      g_task_return_new_error (task, EH_ERROR, eh_dp_content_id_is_valid (id) ? EH_ERROR_NOT_FOUND
                                                                              : EH_ERROR_INVALID_ARGUMENT,
                               eh_dp_content_id_is_valid (id) ? "no content %s"
                                                              : "%s is not a content id (like PS100001)",
                               id);
      return;
    }
    eh_dp_verify_add (verify, manifest);
  } else {
    g_autoptr (GPtrArray) all = eh_dp_library_list (dp->library);

    for (guint i = 0; i < all->len; i++)
      eh_dp_verify_add (verify, g_ptr_array_index (all, i));
  }
  g_task_run_in_thread (task, eh_dp_verify_thread);
}

GVariant *
eh_dp_verify_content_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
