/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eh-dp.h"

/*
 * The library is files only: content/<id>/manifest.jws per content and a
 * counter file for ids (written with eh_file_replace), so an edge DP that
 * keeps the same layout needs no database. An index of the manifests is
 * kept in memory for list, show and the manifest endpoint; it is read at
 * start and changed only on the main context.
 */

struct _EhDpLibrary {
  char *dir;
  char *content_dir;
  char *counter_path;
  char *site_code;
  EhDpStore *store;
  GMutex counter_lock;
  GHashTable *index; /* id → EhDpManifest */
};

static char *
eh_dp_library_manifest_path (EhDpLibrary *library, const char *id)
{
  return g_build_filename (library->content_dir, id, "manifest.jws", NULL);
}

/* (transfer full) the manifest of content/<id>/, checked; NULL + error */
static EhDpManifest *
eh_dp_library_read (EhDpLibrary *library, const char *id, GError **error)
{
  g_autofree char *path = eh_dp_library_manifest_path (library, id);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (EhDpManifest) manifest = NULL;

  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  if (len > EH_DP_MAX_MANIFEST_BYTES * 2 || strlen (text) != len) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: too large or not text", path);
    return NULL;
  }
  g_strchomp (text);
  manifest = eh_dp_manifest_from_jws (text, error);
  if (manifest != NULL && g_strcmp0 (manifest->id, id) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s names content %s", path, manifest->id);
    return NULL;
  }
  return g_steal_pointer (&manifest);
}

/* (transfer full) the ids with a directory in content/ */
static GPtrArray *
eh_dp_library_ids_on_disk (EhDpLibrary *library, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (library->content_dir, 0, error);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (eh_dp_content_id_is_valid (name))
      g_ptr_array_add (ids, g_strdup (name));
    else
      g_debug ("ignoring %s/%s", library->content_dir, name);
  }
  return g_steal_pointer (&ids);
}

EhDpLibrary *
eh_dp_library_open (const char *dir, const char *site_code, GError **error)
{
  g_autoptr (EhDpLibrary) library = g_new0 (EhDpLibrary, 1);
  g_autoptr (GPtrArray) ids = NULL;

  g_mutex_init (&library->counter_lock);
  library->dir = g_strdup (dir);
  library->site_code = g_strdup (site_code);
  library->content_dir = g_build_filename (dir, "content", NULL);
  library->counter_path = g_build_filename (dir, "last-id", NULL);
  library->index = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) eh_dp_manifest_free);
  if (g_mkdir (library->content_dir, 0700) != 0 && errno != EEXIST) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot create %s: %s", library->content_dir,
                 g_strerror (errno));
    return NULL;
  }
  library->store = eh_dp_store_open (dir, error);
  if (library->store == NULL || (ids = eh_dp_library_ids_on_disk (library, error)) == NULL)
    return NULL;
  for (guint i = 0; i < ids->len; i++) {
    g_autoptr (GError) local = NULL;
    EhDpManifest *manifest = eh_dp_library_read (library, g_ptr_array_index (ids, i), &local);

    /* one unreadable manifest must not take the others down */
    if (manifest == NULL)
      g_warning ("content %s is not served: %s", (char *) g_ptr_array_index (ids, i), local->message);
    else
      g_hash_table_replace (library->index, manifest->id, manifest);
  }
  return g_steal_pointer (&library);
}

void
eh_dp_library_free (EhDpLibrary *library)
{
  if (library == NULL)
    return;
  g_clear_pointer (&library->index, g_hash_table_unref);
  eh_dp_store_free (library->store);
  g_mutex_clear (&library->counter_lock);
  g_free (library->dir);
  g_free (library->content_dir);
  g_free (library->counter_path);
  g_free (library->site_code);
  g_free (library);
}

EhDpStore *
eh_dp_library_get_store (EhDpLibrary *library)
{
  return library->store;
}

EhDpManifest *
eh_dp_library_lookup (EhDpLibrary *library, const char *id)
{
  return g_hash_table_lookup (library->index, id);
}

static int
eh_dp_manifest_compare (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(EhDpManifest *const *) a)->id, (*(EhDpManifest *const *) b)->id);
}

GPtrArray *
eh_dp_library_list (EhDpLibrary *library)
{
  GPtrArray *list = g_ptr_array_sized_new (g_hash_table_size (library->index));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, library->index);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, value);
  g_ptr_array_sort (list, eh_dp_manifest_compare);
  return list;
}

char *
eh_dp_library_next_id (EhDpLibrary *library, GError **error)
{
  g_autofree char *text = NULL;
  guint64 last = 0;
  char *id = NULL;

  g_mutex_lock (&library->counter_lock);
  if (g_file_get_contents (library->counter_path, &text, NULL, NULL) &&
      !g_ascii_string_to_unsigned (g_strchomp (text), 10, 0, 99999, &last, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s is damaged; it should hold the last content number",
                 library->counter_path);
    goto out;
  }
  /* an id is never handed out twice, even if the counter file was lost */
  for (;;) {
    g_autofree char *dir = NULL;

    if (++last > 99999) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "every content id of site %s is used", library->site_code);
      goto out;
    }
    id = g_strdup_printf ("%s%05" G_GUINT64_FORMAT, library->site_code, last);
    dir = g_build_filename (library->content_dir, id, NULL);
    if (!g_file_test (dir, G_FILE_TEST_EXISTS))
      break;
    g_clear_pointer (&id, g_free);
  }
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", last);
  if (!eh_file_replace (library->counter_path, text, strlen (text), 0600, error))
    g_clear_pointer (&id, g_free);
out:
  g_mutex_unlock (&library->counter_lock);
  return id;
}

static gboolean
eh_dp_library_sync_dir (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gboolean ok = fd >= 0 && fsync (fd) == 0;

  if (!ok)
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot sync %s: %s", path, g_strerror (errno));
  if (fd >= 0)
    close (fd);
  return ok;
}

gboolean
eh_dp_library_write (EhDpLibrary *library, const EhDpManifest *manifest, GError **error)
{
  g_autofree char *dir = g_build_filename (library->content_dir, manifest->id, NULL);
  g_autofree char *path = eh_dp_library_manifest_path (library, manifest->id);
  g_autofree char *text = g_strconcat (manifest->jws, "\n", NULL);

  if (g_mkdir (dir, 0700) != 0 && errno != EEXIST) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (errno));
    return FALSE;
  }
  return eh_file_replace (path, text, strlen (text), 0600, error) &&
         eh_dp_library_sync_dir (library->content_dir, error);
}

void
eh_dp_library_insert (EhDpLibrary *library, EhDpManifest *manifest)
{
  g_hash_table_replace (library->index, manifest->id, manifest);
}

EhDpManifest *
eh_dp_library_take (EhDpLibrary *library, const char *id, GError **error)
{
  gpointer key = NULL, value = NULL;

  if (!g_hash_table_steal_extended (library->index, id, &key, &value)) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no content %s", id);
    return NULL;
  }
  return value;
}

gboolean
eh_dp_library_delete (EhDpLibrary *library, const char *id, GError **error)
{
  g_autofree char *dir = g_build_filename (library->content_dir, id, NULL);
  g_autofree char *path = eh_dp_library_manifest_path (library, id);

  if (g_unlink (path) != 0 && errno != ENOENT) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot remove %s: %s", path, g_strerror (errno));
    return FALSE;
  }
  if (g_rmdir (dir) != 0 && errno != ENOENT) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot remove %s: %s", dir, g_strerror (errno));
    return FALSE;
  }
  return eh_dp_library_sync_dir (library->content_dir, error);
}

GHashTable *
eh_dp_library_used_hashes (EhDpLibrary *library, GError **error)
{
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) ids = eh_dp_library_ids_on_disk (library, error);

  if (ids == NULL)
    return NULL;
  for (guint i = 0; i < ids->len; i++) {
    g_autofree char *path = eh_dp_library_manifest_path (library, g_ptr_array_index (ids, i));
    g_autoptr (EhDpManifest) manifest = NULL;
    g_autoptr (GError) local = NULL;

    if (!g_file_test (path, G_FILE_TEST_EXISTS))
      continue;
    manifest = eh_dp_library_read (library, g_ptr_array_index (ids, i), &local);
    /* a manifest we cannot read may still name bodies: collect nothing rather than too much */
    if (manifest == NULL) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "not collecting: %s", local->message);
      return NULL;
    }
    for (guint j = 0; j < manifest->files->len; j++)
      g_hash_table_add (used, g_strdup (((EhDpManifestFile *) g_ptr_array_index (manifest->files, j))->sha256));
  }
  return g_steal_pointer (&used);
}

static GHashTable *
eh_dp_library_used (gpointer user_data, GError **error)
{
  return eh_dp_library_used_hashes (user_data, error);
}

gboolean
eh_dp_library_collect (EhDpLibrary *library, guint *removed, guint64 *freed, GError **error)
{
  return eh_dp_store_collect (library->store, eh_dp_library_used, library, removed, freed, error);
}
