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

int
eh_file_open_partial (const char *path, guint64 size, goffset *have, GError **error)
{
  int fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot open %s: %s", path,
                 fd < 0 ? g_strerror (errno) : "not a regular file");
    if (fd >= 0)
      close (fd);
    return -1;
  }
  *have = (guint64) st.st_size <= size ? st.st_size : 0;
  if (*have == 0 && st.st_size > 0 && ftruncate (fd, 0) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot empty %s: %s", path, g_strerror (errno));
    close (fd);
    return -1;
  }
  return fd;
}

GBytes *
eh_input_stream_read_capped (GInputStream *stream, gsize max, GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 buffer[16384];

  for (;;) {
    gssize n = g_input_stream_read (stream, buffer, sizeof buffer, NULL, error);

    if (n < 0)
      return NULL;
    if (n == 0)
      break;
    if (data->len + (gsize) n > max) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the answer is over %" G_GSIZE_FORMAT " bytes", max);
      return NULL;
    }
    g_byte_array_append (data, buffer, n);
  }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}
