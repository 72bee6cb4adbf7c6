/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-dp.h"

/*
 * The files an admin asked to add, read as the daemon. The source path is
 * hostile like any other input: a tree may hold symlinks, fifos, devices,
 * names no client could store, or change while we read it. Every entry is
 * looked at with fstatat(AT_SYMLINK_NOFOLLOW) and opened with O_NOFOLLOW
 * relative to its directory's descriptor, then checked again with fstat.
 */

typedef struct {
  EhDpSourceFunc func;
  gpointer user_data;
  guint count;
} EhDpWalk;

/* one name as it appears in a directory */
static gboolean
eh_dp_entry_name_is_valid (const char *name)
{
  if (name[0] == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 ||
      !g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '\\' || *p == '/')
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_dp_content_path_is_valid (const char *path)
{
  g_auto (GStrv) parts = NULL;

  if (path == NULL || path[0] == '\0' || path[0] == '/' || strlen (path) > EH_DP_MAX_PATH_BYTES)
    return FALSE;
  parts = g_strsplit (path, "/", -1);
  if (g_strv_length (parts) > EH_DP_MAX_DEPTH + 1)
    return FALSE;
  for (guint i = 0; parts[i] != NULL; i++) {
    if (!eh_dp_entry_name_is_valid (parts[i]))
      return FALSE;
  }
  return TRUE;
}

static char *
eh_dp_printable (const char *text)
{
  return g_utf8_make_valid (text, -1);
}

static gboolean
eh_dp_refuse (GError **error, const char *path, const char *why)
{
  g_autofree char *shown = eh_dp_printable (path);

  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: %s", shown, why);
  return FALSE;
}

/* refuses what is not a regular file or a directory */
static gboolean
eh_dp_check_type (const struct stat *st, const char *shown, GError **error)
{
  if (S_ISLNK (st->st_mode))
    return eh_dp_refuse (error, shown, "is a symbolic link; links are not followed");
  if (!S_ISREG (st->st_mode) && !S_ISDIR (st->st_mode))
    return eh_dp_refuse (error, shown, "is not a regular file or a directory");
  return TRUE;
}

/* opens @name in @dirfd without following a link, as the type fstatat saw */
static int
eh_dp_open_checked (int dirfd, const char *name, const struct stat *seen, const char *shown,
                    GError **error)
{
  int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (S_ISDIR (seen->st_mode) ? O_DIRECTORY : 0);
  int fd = openat (dirfd, name, flags);
  struct stat st;

  if (fd < 0) {
    int saved = errno;

    if (saved == ELOOP)
      eh_dp_refuse (error, shown, "is a symbolic link; links are not followed");
    else
      g_set_error (error, EH_ERROR, saved == ENOENT ? EH_ERROR_NOT_FOUND : EH_ERROR_PERMISSION_DENIED,
                   "cannot open %s: %s", shown, g_strerror (saved));
    return -1;
  }
  if (fstat (fd, &st) != 0 || st.st_dev != seen->st_dev || st.st_ino != seen->st_ino ||
      (st.st_mode & S_IFMT) != (seen->st_mode & S_IFMT)) {
    close (fd);
    eh_dp_refuse (error, shown, "changed while it was read");
    return -1;
  }
  return fd;
}

static int
eh_dp_name_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean eh_dp_walk_dir (EhDpWalk *walk, int dirfd, const char *prefix, guint depth,
                                GError **error);

/* one entry of a directory (or the source itself, with @rel its content path) */
static gboolean
eh_dp_walk_entry (EhDpWalk *walk, int dirfd, const char *name, const char *rel, guint depth,
                  GError **error)
{
  struct stat st;
  int fd;
  gboolean ok = TRUE;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    g_set_error (error, EH_ERROR, errno == ENOENT ? EH_ERROR_NOT_FOUND : EH_ERROR_PERMISSION_DENIED,
                 "cannot read %s: %s", rel[0] != '\0' ? rel : name, g_strerror (errno));
    return FALSE;
  }
  if (!eh_dp_check_type (&st, rel[0] != '\0' ? rel : name, error))
    return FALSE;
  if (S_ISDIR (st.st_mode)) {
    if (depth >= EH_DP_MAX_DEPTH)
      return eh_dp_refuse (error, rel, "directories nest too deeply");
    fd = eh_dp_open_checked (dirfd, name, &st, rel[0] != '\0' ? rel : name, error);
    return fd >= 0 && eh_dp_walk_dir (walk, fd, rel, depth + 1, error);
  }
  if (++walk->count > EH_DP_MAX_FILES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "more than %d files; add them as several contents", EH_DP_MAX_FILES);
    return FALSE;
  }
  if (walk->func == NULL)
    return TRUE;
  fd = eh_dp_open_checked (dirfd, name, &st, rel, error);
  if (fd < 0)
    return FALSE;
  ok = walk->func (rel, fd, walk->user_data, error);
  close (fd);
  return ok;
}

/* takes @dirfd */
static gboolean
eh_dp_walk_dir (EhDpWalk *walk, int dirfd, const char *prefix, guint depth, GError **error)
{
  DIR *dir = fdopendir (dirfd);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *entry;
  gboolean ok = TRUE;

  if (dir == NULL) {
    close (dirfd);
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot read directory %s: %s", prefix, g_strerror (errno));
    return FALSE;
  }
  while ((entry = readdir (dir)) != NULL) {
    if (strcmp (entry->d_name, ".") == 0 || strcmp (entry->d_name, "..") == 0)
      continue;
    g_ptr_array_add (names, g_strdup (entry->d_name));
    if (names->len > EH_DP_MAX_FILES) {
      closedir (dir);
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "more than %d entries in one directory", EH_DP_MAX_FILES);
      return FALSE;
    }
  }
  g_ptr_array_sort (names, eh_dp_name_compare);
  for (guint i = 0; ok && i < names->len; i++) {
    const char *name = g_ptr_array_index (names, i);
    g_autofree char *rel = prefix[0] != '\0' ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);

    if (!eh_dp_entry_name_is_valid (name))
      ok = eh_dp_refuse (error, rel, "names must be UTF-8 without control characters or '\\'");
    else if (strlen (rel) > EH_DP_MAX_PATH_BYTES)
      ok = eh_dp_refuse (error, rel, "path longer than 1024 bytes");
    else
      ok = eh_dp_walk_entry (walk, dirfd, name, rel, depth, error);
  }
  closedir (dir);
  return ok;
}

/* "/a//b/./c" → "/a/b/c"; NULL when a ".." remains or the path is not absolute */
static char *
eh_dp_source_normalize (const char *path, GError **error)
{
  g_auto (GStrv) parts = NULL;
  GString *out = g_string_new (NULL);

  if (path == NULL || !g_path_is_absolute (path)) {
    g_string_free (out, TRUE);
    eh_dp_refuse (error, path != NULL ? path : "", "the source must be an absolute path");
    return NULL;
  }
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0)
      continue;
    if (strcmp (parts[i], "..") == 0) {
      g_string_free (out, TRUE);
      eh_dp_refuse (error, path, "'..' is not allowed in the source path");
      return NULL;
    }
    g_string_append_printf (out, "/%s", parts[i]);
  }
  if (out->len == 0) {
    g_string_free (out, TRUE);
    eh_dp_refuse (error, path, "the root directory cannot be added");
    return NULL;
  }
  return g_string_free (out, FALSE);
}

gboolean
eh_dp_source_walk (const char *path, EhDpSourceFunc func, gpointer user_data, guint *count,
                   GError **error)
{
  g_autofree char *normal = eh_dp_source_normalize (path, error);
  g_autofree char *parent = NULL;
  g_autofree char *base = NULL;
  EhDpWalk walk = { func, user_data, 0 };
  struct stat st;
  int parent_fd;
  gboolean ok;

  if (normal == NULL)
    return FALSE;
  parent = g_path_get_dirname (normal);
  base = g_path_get_basename (normal);
  if (lstat (normal, &st) != 0) {
    g_set_error (error, EH_ERROR, errno == ENOENT ? EH_ERROR_NOT_FOUND : EH_ERROR_PERMISSION_DENIED,
                 "cannot read %s: %s", normal, g_strerror (errno));
    return FALSE;
  }
  if (!eh_dp_check_type (&st, normal, error))
    return FALSE;
  if (S_ISREG (st.st_mode) && !eh_dp_entry_name_is_valid (base))
    return eh_dp_refuse (error, normal, "names must be UTF-8 without control characters or '\\'");
  parent_fd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "cannot open %s: %s", parent, g_strerror (errno));
    return FALSE;
  }
  /* a file is the content's one file, by its name; a directory's files are relative to it */
  if (S_ISREG (st.st_mode)) {
    ok = eh_dp_walk_entry (&walk, parent_fd, base, base, 0, error);
  } else {
    int fd = eh_dp_open_checked (parent_fd, base, &st, normal, error);

    ok = fd >= 0 && eh_dp_walk_dir (&walk, fd, "", 0, error);
  }
  close (parent_fd);
  if (ok && walk.count == 0)
    ok = eh_dp_refuse (error, normal, "there are no files to add");
  if (ok && count != NULL)
    *count = walk.count;
  return ok;
}
