/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-dp.h"

/*
 * Importing a content: check the whole tree first (nothing is copied for
 * a tree that would be refused), then copy and hash each file into the
 * store, sync, and build the unsigned manifest. Signing and writing the
 * manifest are the caller's next steps; until then the bodies are pinned.
 */

typedef struct {
  EhDpLibrary *library;
  EhDpManifest *manifest;
  EhDpImportProgress progress;
  gpointer user_data;
} EhDpImport;

static gboolean
eh_dp_import_file (const char *path, int fd, gpointer user_data, GError **error)
{
  EhDpImport *import = user_data;
  g_autofree char *sha256 = NULL;
  guint64 size = 0;

  if (!eh_dp_store_import_fd (eh_dp_library_get_store (import->library), fd, &sha256, &size,
                              import->progress, import->user_data, error)) {
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  eh_dp_manifest_add_file (import->manifest, path, size, sha256);
  return TRUE;
}

void
eh_dp_import_release (EhDpLibrary *library, const EhDpManifest *manifest, gboolean collect)
{
  EhDpStore *store = eh_dp_library_get_store (library);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < manifest->files->len; i++)
    eh_dp_store_unpin (store, ((EhDpManifestFile *) g_ptr_array_index (manifest->files, i))->sha256);
  if (collect && !eh_dp_library_collect (library, NULL, NULL, &error))
    g_warning ("bodies of a failed import not collected: %s", error->message);
}

EhDpManifest *
eh_dp_import (EhDpLibrary *library, const char *name, const char *version, const char *path,
              EhDpImportProgress progress, gpointer user_data, GError **error)
{
  g_autoptr (EhDpManifest) manifest = NULL;
  g_autofree char *id = NULL;
  EhDpImport import = { library, NULL, progress, user_data };
  gboolean ok;

  if (!eh_dp_content_name_is_valid (name)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a content name is 1 to %d bytes of UTF-8 without control characters", EH_DP_MAX_NAME_BYTES);
    return NULL;
  }
  if (!eh_dp_content_version_is_valid (version)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a version is 1 to %d of A-Z a-z 0-9 . _ + -", EH_DP_MAX_VERSION_BYTES);
    return NULL;
  }
  if (!eh_dp_source_walk (path, NULL, NULL, NULL, error))
    return NULL;
  manifest = eh_dp_manifest_new (NULL, name, version, g_get_real_time () / G_USEC_PER_SEC);
  import.manifest = manifest;
  ok = eh_dp_source_walk (path, eh_dp_import_file, &import, NULL, error) &&
       eh_dp_store_sync_dirs (eh_dp_library_get_store (library), error) &&
       (id = eh_dp_library_next_id (library, error)) != NULL;
  if (!ok) {
    eh_dp_import_release (library, manifest, TRUE);
    return NULL;
  }
  manifest->id = g_steal_pointer (&id);
  return g_steal_pointer (&manifest);
}
