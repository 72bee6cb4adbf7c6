/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-dp.h"

/*
 * Small bodies in memory. A body of at most EH_DP_BODY_CACHE_MAX_BODY bytes
 * is read whole, in a thread, at its first download (the response waits),
 * and served only when its SHA-256 is the one its name says: a damaged small
 * body is never sent (404). It is then kept (bodies are named by their hash,
 * so the bytes kept can never be stale); later downloads of it are one
 * append of a shared GBytes: no open, fstat, read or thread per request. At
 * most EH_DP_BODY_CACHE_BYTES in all; when full, it starts over.
 */

typedef struct {
  EhDp *dp;
  char *sha256;
  char *path;
  guint64 size;
} EhDpCacheFill;

static void
eh_dp_cache_fill_free (EhDpCacheFill *fill)
{
  eh_dp_unref (fill->dp);
  g_free (fill->sha256);
  g_free (fill->path);
  g_free (fill);
}

GBytes *
eh_dp_body_cache_lookup (EhDp *dp, const EhDpManifestFile *file)
{
  GBytes *bytes;

  if (file->size > EH_DP_BODY_CACHE_MAX_BODY || dp->bodies == NULL)
    return NULL;
  bytes = g_hash_table_lookup (dp->bodies, file->sha256);
  return bytes != NULL && g_bytes_get_size (bytes) == file->size ? bytes : NULL;
}

/* reads the whole body, checks its size and hash: the bytes, or NULL */
static GBytes *
eh_dp_cache_read (const char *path, guint64 size, const char *sha256)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  g_autofree guint8 *data = NULL;
  g_autofree char *actual = NULL;
  struct stat st;
  gsize done = 0;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size != size) {
    close (fd);
    return NULL;
  }
  data = g_malloc (MAX (size, 1));
  while (done < size) {
    ssize_t n = pread (fd, data + done, size - done, done);

    if (n <= 0)
      break;
    done += n;
  }
  close (fd);
  if (done != size)
    return NULL;
  actual = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, size);
  if (g_strcmp0 (actual, sha256) != 0)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&data), size);
}

static void
eh_dp_cache_fill_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpCacheFill *fill = task_data;
  GBytes *bytes = eh_dp_cache_read (fill->path, fill->size, fill->sha256);

  g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

/* the answer waiting for the read, or NULL once the client went away */
typedef struct {
  SoupServerMessage *msg;
  goffset first, length;
} EhDpCacheWaiter;

static void
eh_dp_cache_waiter_finished (SoupServerMessage *msg, EhDpCacheWaiter *waiter)
{
  g_signal_handlers_disconnect_by_data (msg, waiter);
  g_clear_object (&waiter->msg);
}

static void
eh_dp_cache_answer (EhDpCacheWaiter *waiter, GBytes *bytes, const char *sha256)
{
  SoupServerMessage *msg = waiter->msg;
  SoupMessageHeaders *headers;
  static const char missing[] = "no such file\n";

  if (msg == NULL)
    return;
  g_signal_handlers_disconnect_by_data (msg, waiter);
  headers = soup_server_message_get_response_headers (msg);
  if (bytes != NULL) {
    eh_dp_download_from_memory (msg, bytes, waiter->first, waiter->length);
  } else {
    g_warning ("the stored body %s is missing or damaged: not served", sha256);
    soup_message_headers_remove (headers, "ETag");
    soup_message_headers_remove (headers, "Last-Modified");
    soup_message_headers_remove (headers, "Content-Range");
    soup_message_headers_set_content_length (headers, sizeof missing - 1);
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC, missing,
                                      sizeof missing - 1);
  }
  soup_server_message_unpause (msg);
  g_clear_object (&waiter->msg);
}

static void
eh_dp_cache_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree EhDpCacheWaiter *waiter = user_data;
  EhDpCacheFill *fill = g_task_get_task_data (G_TASK (result));
  EhDp *dp = fill->dp;
  g_autoptr (GBytes) bytes = g_task_propagate_pointer (G_TASK (result), NULL);

  eh_dp_cache_answer (waiter, bytes, fill->sha256);
  if (bytes == NULL || dp->plugin == NULL || g_hash_table_contains (dp->bodies, fill->sha256))
    return;
  if (dp->bodies_bytes + g_bytes_get_size (bytes) > EH_DP_BODY_CACHE_BYTES) {
    g_hash_table_remove_all (dp->bodies);
    dp->bodies_bytes = 0;
  }
  dp->bodies_bytes += g_bytes_get_size (bytes);
  g_hash_table_insert (dp->bodies, g_strdup (fill->sha256), g_steal_pointer (&bytes));
}

void
eh_dp_body_cache_load (EhDp *dp, const EhDpManifestFile *file, SoupServerMessage *msg, goffset first,
                       goffset length)
{
  g_autoptr (GTask) task = NULL;
  EhDpCacheWaiter *waiter = g_new0 (EhDpCacheWaiter, 1);
  EhDpCacheFill *fill = g_new0 (EhDpCacheFill, 1);

  if (dp->bodies == NULL)
    dp->bodies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  waiter->msg = g_object_ref (msg);
  waiter->first = first;
  waiter->length = length;
  g_signal_connect (msg, "finished", G_CALLBACK (eh_dp_cache_waiter_finished), waiter);
  soup_server_message_pause (msg);
  fill->dp = eh_dp_ref (dp);
  fill->sha256 = g_strdup (file->sha256);
  fill->path = eh_dp_store_path (eh_dp_library_get_store (dp->library), file->sha256);
  fill->size = file->size;
  task = g_task_new (NULL, NULL, eh_dp_cache_loaded, waiter);
  g_task_set_task_data (task, fill, (GDestroyNotify) eh_dp_cache_fill_free);
  g_task_run_in_thread (task, eh_dp_cache_fill_thread);
}

void
eh_dp_body_cache_free (EhDp *dp)
{
  g_clear_pointer (&dp->bodies, g_hash_table_unref);
  dp->bodies_bytes = 0;
}
