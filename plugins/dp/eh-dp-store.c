/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-dp.h"

/*
 * The content-addressed store: store/sha256/<2 hex>/<64 hex>. Bodies are
 * written once and never changed in place; a body is visible under its
 * name only when it is complete and synced (staging file, rename).
 */

#define EH_DP_COPY_CHUNK (256 * 1024)

struct _EhDpStore {
  char *root;    /* store/ */
  char *bodies;  /* store/sha256/ */
  char *staging; /* store/staging/ */
  GMutex lock;
  GHashTable *pins;  /* hash → GUINT count; under lock */
  GHashTable *dirty; /* shard dirs to sync; under lock */
};

static gboolean
eh_dp_store_mkdir (const char *path, GError **error)
{
  if (g_mkdir (path, 0700) == 0 || errno == EEXIST)
    return TRUE;
  g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot create %s: %s", path, g_strerror (errno));
  return FALSE;
}

/* an import that stopped with the daemon left a staging file: it was never visible */
static void
eh_dp_store_clean_staging (EhDpStore *store)
{
  g_autoptr (GDir) dir = g_dir_open (store->staging, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (store->staging, name, NULL);

    if (g_unlink (path) == 0)
      g_debug ("removed unfinished import %s", path);
  }
}

EhDpStore *
eh_dp_store_open (const char *dir, GError **error)
{
  g_autoptr (EhDpStore) store = g_new0 (EhDpStore, 1);

  g_mutex_init (&store->lock);
  store->pins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  store->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  store->root = g_build_filename (dir, "store", NULL);
  store->bodies = g_build_filename (store->root, "sha256", NULL);
  store->staging = g_build_filename (store->root, "staging", NULL);
  if (!eh_dp_store_mkdir (store->root, error) || !eh_dp_store_mkdir (store->bodies, error) ||
      !eh_dp_store_mkdir (store->staging, error))
    return NULL;
  eh_dp_store_clean_staging (store);
  return g_steal_pointer (&store);
}

void
eh_dp_store_free (EhDpStore *store)
{
  if (store == NULL)
    return;
  g_hash_table_unref (store->pins);
  g_hash_table_unref (store->dirty);
  g_mutex_clear (&store->lock);
  g_free (store->root);
  g_free (store->bodies);
  g_free (store->staging);
  g_free (store);
}

gboolean
eh_dp_sha256_hex_is_valid (const char *text)
{
  if (text == NULL || strlen (text) != EH_DP_SHA256_HEX)
    return FALSE;
  for (guint i = 0; i < EH_DP_SHA256_HEX; i++) {
    if (!g_ascii_isdigit (text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
      return FALSE;
  }
  return TRUE;
}

char *
eh_dp_store_path (EhDpStore *store, const char *sha256_hex)
{
  char shard[3] = { sha256_hex[0], sha256_hex[1], '\0' };

  g_return_val_if_fail (eh_dp_sha256_hex_is_valid (sha256_hex), NULL);
  return g_build_filename (store->bodies, shard, sha256_hex, NULL);
}

void
eh_dp_store_pin (EhDpStore *store, const char *sha256_hex)
{
  guint count;

  g_mutex_lock (&store->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (store->pins, sha256_hex));
  g_hash_table_replace (store->pins, g_strdup (sha256_hex), GUINT_TO_POINTER (count + 1));
  g_mutex_unlock (&store->lock);
}

void
eh_dp_store_unpin (EhDpStore *store, const char *sha256_hex)
{
  guint count;

  g_mutex_lock (&store->lock);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (store->pins, sha256_hex));
  if (count <= 1)
    g_hash_table_remove (store->pins, sha256_hex);
  else
    g_hash_table_replace (store->pins, g_strdup (sha256_hex), GUINT_TO_POINTER (count - 1));
  g_mutex_unlock (&store->lock);
}

char *
eh_dp_hex (const guint8 *bytes, gsize len)
{
  GString *hex = g_string_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);
  return g_string_free (hex, FALSE);
}

static gboolean
eh_dp_write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}

/* copies @in to @out (when >= 0) while hashing; bounded memory */
static gboolean
eh_dp_copy_hashing (int in, int out, char **sha256_hex, guint64 *size, EhDpImportProgress progress,
                    gpointer user_data, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (EH_DP_COPY_CHUNK);
  gnutls_hash_hd_t hash = NULL;
  guint8 digest[32];
  guint64 total = 0;

  if (gnutls_hash_init (&hash, GNUTLS_DIG_SHA256) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot start a SHA-256 hash");
    return FALSE;
  }
  for (;;) {
    ssize_t n = read (in, buffer, EH_DP_COPY_CHUNK);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "read failed: %s", g_strerror (errno));
      gnutls_hash_deinit (hash, NULL);
      return FALSE;
    }
    if (n == 0)
      break;
    gnutls_hash (hash, buffer, n);
    if (out >= 0 && !eh_dp_write_all (out, buffer, n)) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "write to the store failed: %s", g_strerror (errno));
      gnutls_hash_deinit (hash, NULL);
      return FALSE;
    }
    total += n;
    if (progress != NULL)
      progress (total, user_data);
  }
  gnutls_hash_deinit (hash, digest);
  *sha256_hex = eh_dp_hex (digest, sizeof digest);
  *size = total;
  return TRUE;
}

/* the staged copy becomes the body named @sha256_hex, unless that body is already there */
static gboolean
eh_dp_store_place (EhDpStore *store, int fd, const char *staged, const char *sha256_hex,
                   guint64 size, GError **error)
{
  g_autofree char *target = eh_dp_store_path (store, sha256_hex);
  g_autofree char *shard = g_path_get_dirname (target);
  struct stat st;

  if (lstat (target, &st) == 0 && S_ISREG (st.st_mode) && (guint64) st.st_size == size) {
    g_unlink (staged);
    return TRUE;
  }
  if (fsync (fd) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot sync %s: %s", staged, g_strerror (errno));
    return FALSE;
  }
  if (!eh_dp_store_mkdir (shard, error))
    return FALSE;
  if (g_rename (staged, target) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot rename into %s: %s", target, g_strerror (errno));
    return FALSE;
  }
  g_mutex_lock (&store->lock);
  g_hash_table_add (store->dirty, g_steal_pointer (&shard));
  g_mutex_unlock (&store->lock);
  return TRUE;
}

gboolean
eh_dp_store_import_fd (EhDpStore *store, int fd, char **sha256_hex, guint64 *size,
                       EhDpImportProgress progress, gpointer user_data, GError **error)
{
  g_autofree char *staged = g_build_filename (store->staging, "import-XXXXXX", NULL);
  g_autofree char *hex = NULL;
  guint64 copied = 0;
  int out = g_mkstemp_full (staged, O_WRONLY | O_CLOEXEC, 0600);
  gboolean ok;

  if (out < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot create a staging file in %s: %s",
                 store->staging, g_strerror (errno));
    return FALSE;
  }
  ok = eh_dp_copy_hashing (fd, out, &hex, &copied, progress, user_data, error);
  if (ok) {
    /* pinned before it is looked for, so a collection running now cannot take it */
    eh_dp_store_pin (store, hex);
    ok = eh_dp_store_place (store, out, staged, hex, copied, error);
    if (!ok)
      eh_dp_store_unpin (store, hex);
  }
  close (out);
  if (!ok) {
    g_unlink (staged);
    return FALSE;
  }
  *sha256_hex = g_steal_pointer (&hex);
  *size = copied;
  return TRUE;
}

static gboolean
eh_dp_sync_dir (const char *path, GError **error)
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
eh_dp_store_sync_dirs (EhDpStore *store, GError **error)
{
  g_autoptr (GHashTable) dirty = NULL;
  GHashTableIter iter;
  gpointer path;

  g_mutex_lock (&store->lock);
  dirty = g_steal_pointer (&store->dirty);
  store->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_unlock (&store->lock);
  g_hash_table_iter_init (&iter, dirty);
  while (g_hash_table_iter_next (&iter, &path, NULL)) {
    if (!eh_dp_sync_dir (path, error))
      return FALSE;
  }
  /* a new shard directory is itself an entry of sha256/ */
  return g_hash_table_size (dirty) == 0 || eh_dp_sync_dir (store->bodies, error);
}

gboolean
eh_dp_store_collect (EhDpStore *store, EhDpUsedFunc used_func, gpointer user_data, guint *removed,
                     guint64 *freed, GError **error)
{
  g_autoptr (GHashTable) used = NULL;
  g_autoptr (GDir) top = NULL;
  const char *shard;
  guint n_removed = 0;
  guint64 n_freed = 0;

  /* pins cannot change while we look: see EhDpUsedFunc */
  g_mutex_lock (&store->lock);
  used = used_func (user_data, error);
  top = used != NULL ? g_dir_open (store->bodies, 0, error) : NULL;
  while (top != NULL && (shard = g_dir_read_name (top)) != NULL) {
    g_autofree char *shard_path = g_build_filename (store->bodies, shard, NULL);
    g_autoptr (GDir) dir = g_dir_open (shard_path, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *path = g_build_filename (shard_path, name, NULL);
      struct stat st;

      if (g_hash_table_contains (used, name) || g_hash_table_contains (store->pins, name))
        continue;
      if (lstat (path, &st) == 0 && g_unlink (path) == 0) {
        n_removed++;
        n_freed += st.st_size;
        g_debug ("collected %s", name);
      }
    }
  }
  g_mutex_unlock (&store->lock);
  if (top == NULL)
    return FALSE;
  if (removed != NULL)
    *removed = n_removed;
  if (freed != NULL)
    *freed = n_freed;
  return TRUE;
}

gboolean
eh_dp_store_check (EhDpStore *store, const char *sha256_hex, guint64 size, const char **problem)
{
  g_autofree char *path = eh_dp_store_path (store, sha256_hex);
  g_autofree char *actual = NULL;
  guint64 actual_size = 0;
  struct stat st;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  gboolean ok;

  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    if (fd >= 0)
      close (fd);
    *problem = "missing";
    return FALSE;
  }
  ok = eh_dp_copy_hashing (fd, -1, &actual, &actual_size, NULL, NULL, NULL);
  close (fd);
  if (!ok || actual_size != size) {
    *problem = "size";
    return FALSE;
  }
  if (g_strcmp0 (actual, sha256_hex) != 0) {
    *problem = "hash";
    return FALSE;
  }
  return TRUE;
}

/* the regular files of @path and @depth levels below it: how many, how many bytes on disk */
static void
eh_dp_dir_usage (const char *path, guint depth, guint *files, guint64 *bytes)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    struct stat st;

    if (lstat (child, &st) != 0)
      continue;
    if (S_ISDIR (st.st_mode) && depth > 0)
      eh_dp_dir_usage (child, depth - 1, files, bytes);
    else if (S_ISREG (st.st_mode)) {
      (*files)++;
      *bytes += (guint64) st.st_blocks * 512;
    }
  }
}

void
eh_dp_store_usage (EhDpStore *store, const char *pull_staging, guint *bodies, guint64 *body_bytes,
                   guint *staged, guint64 *staged_bytes)
{
  *bodies = *staged = 0;
  *body_bytes = *staged_bytes = 0;
  eh_dp_dir_usage (store->bodies, 1, bodies, body_bytes);
  eh_dp_dir_usage (store->staging, 0, staged, staged_bytes);
  if (pull_staging != NULL)
    eh_dp_dir_usage (pull_staging, 0, staged, staged_bytes);
}
