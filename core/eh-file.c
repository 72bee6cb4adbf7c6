/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-error.h"
#include "eh-file.h"

static gboolean
eh_file_write_all (int fd, const guint8 *data, gsize len)
{
  gsize done = 0;

  while (done < len) {
    gssize n = write (fd, data + done, len - done);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return FALSE;
    done += n;
  }
  return TRUE;
}

/* makes the rename itself durable */
static void
eh_file_sync_dir (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0) {
    fsync (fd);
    close (fd);
  }
}

gboolean
eh_file_replace (const char *path, const void *data, gsize len, int mode, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, mode);
  int saved;

  if (fd < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: %s", tmp, g_strerror (errno));
    return FALSE;
  }
  if (fchmod (fd, mode) != 0 || !eh_file_write_all (fd, data, len) || fsync (fd) != 0) {
    saved = errno;
    close (fd);
    unlink (tmp);
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: %s", path, g_strerror (saved));
    return FALSE;
  }
  if (close (fd) != 0 || rename (tmp, path) != 0) {
    saved = errno;
    unlink (tmp);
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: %s", path, g_strerror (saved));
    return FALSE;
  }
  eh_file_sync_dir (path);
  return TRUE;
}
