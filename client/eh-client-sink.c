/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "eh-client-sink.h"

/*
 * Where downloaded bytes go: a thread of its own writes each buffer at its
 * place in the partial file, hashes it and starts its writeback (waiting
 * for the disk a few megabytes behind: eh_client_sink_write_back), while
 * the caller reads the next one from the network. A fixed pool of buffers
 * bounds memory (EH_CLIENT_SINK_BUFFERS x EH_CLIENT_SINK_BUFFER_SIZE) and
 * makes the reader wait when the disk is slower. eh_client_sink_drain()
 * waits until every buffer handed over is written and hashed, and says
 * whether a write failed; between a drain and the next begin the caller
 * owns the file and the hash again.
 */

#define EH_CLIENT_SINK_BUFFERS 8
#define EH_CLIENT_SINK_WRITEBACK (8 * 1024 * 1024) /* a writeback is started every that many bytes */
#define EH_CLIENT_SINK_IN_FLIGHT 2                 /* ranges on their way to the disk before one is waited for */

typedef struct {
  guint8 *data;
  gsize len;
  gboolean barrier;
} EhClientSinkItem;

struct _EhClientSink {
  GThread *thread;
  GAsyncQueue *work; /* EhClientSinkItem */
  GAsyncQueue *free; /* guint8 buffers */
  GAsyncQueue *done; /* one token per drained barrier */
  GPtrArray *buffers;
  /* owned by the thread between begin and drain */
  int fd;
  goffset at;
  goffset written_back; /* on its way to the disk up to here */
  goffset flushed;      /* on the disk and out of the page cache up to here */
  gnutls_hash_hd_t hash;
  int write_errno;
};

static gboolean
eh_client_sink_write (EhClientSink *sink, const guint8 *data, gsize len)
{
  while (len > 0) {
    ssize_t n = pwrite (sink->fd, data, len, sink->at);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      sink->write_errno = n < 0 ? errno : EIO;
      return FALSE;
    }
    data += n;
    len -= n;
    sink->at += n;
  }
  return TRUE;
}

/*
 * The disk starts on the bytes written since the last call now, so the
 * fsync before the rename finds little left; what is older than
 * EH_CLIENT_SINK_IN_FLIGHT such ranges is waited for and leaves the page
 * cache. A download holds a few ranges of the cache at most: its new pages
 * are the ones it has just freed, not fresh memory (on a virtual machine a
 * page the guest has not touched lately costs the host a fault at its first
 * write: 1 GiB into fresh page cache cost 2.6 s of system time instead of
 * 1.0), and a disk slower than the network slows the download instead of
 * filling the memory with dirty pages.
 */
static void
eh_client_sink_write_back (EhClientSink *sink)
{
  goffset upto;

  sync_file_range (sink->fd, sink->written_back, sink->at - sink->written_back, SYNC_FILE_RANGE_WRITE);
  sink->written_back = sink->at;
  upto = sink->written_back - EH_CLIENT_SINK_IN_FLIGHT * EH_CLIENT_SINK_WRITEBACK;
  if (upto > sink->flushed) {
    /* a write error it reports is not reported again by the fsync: it fails the file here */
    if (sync_file_range (sink->fd, sink->flushed, upto - sink->flushed,
                         SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0 &&
        errno != EINTR) {
      sink->write_errno = errno;
      return;
    }
    posix_fadvise (sink->fd, sink->flushed, upto - sink->flushed, POSIX_FADV_DONTNEED);
    sink->flushed = upto;
  }
}

static gpointer
eh_client_sink_thread (gpointer user_data)
{
  EhClientSink *sink = user_data;

  for (;;) {
    EhClientSinkItem *item = g_async_queue_pop (sink->work);

    if (item->data == NULL && !item->barrier) {
      g_free (item);
      return NULL;
    }
    if (item->barrier) {
      g_async_queue_push (sink->done, GINT_TO_POINTER (1));
    } else {
      if (sink->write_errno == 0 && eh_client_sink_write (sink, item->data, item->len)) {
        gnutls_hash (sink->hash, item->data, item->len);
        if (sink->at - sink->written_back >= EH_CLIENT_SINK_WRITEBACK)
          eh_client_sink_write_back (sink);
      }
      g_async_queue_push (sink->free, item->data);
    }
    g_free (item);
  }
}

EhClientSink *
eh_client_sink_new (void)
{
  EhClientSink *sink = g_new0 (EhClientSink, 1);

  sink->work = g_async_queue_new ();
  sink->free = g_async_queue_new ();
  sink->done = g_async_queue_new ();
  sink->buffers = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < EH_CLIENT_SINK_BUFFERS; i++) {
    guint8 *buffer = g_malloc (EH_CLIENT_SINK_BUFFER_SIZE);

    g_ptr_array_add (sink->buffers, buffer);
    g_async_queue_push (sink->free, buffer);
  }
  sink->thread = g_thread_new ("eh-client-sink", eh_client_sink_thread, sink);
  return sink;
}

void
eh_client_sink_free (EhClientSink *sink)
{
  if (sink == NULL)
    return;
  g_async_queue_push (sink->work, g_new0 (EhClientSinkItem, 1));
  g_thread_join (sink->thread);
  g_async_queue_unref (sink->work);
  g_async_queue_unref (sink->free);
  g_async_queue_unref (sink->done);
  g_ptr_array_unref (sink->buffers);
  g_free (sink);
}

void
eh_client_sink_begin (EhClientSink *sink, int fd, goffset at, gnutls_hash_hd_t hash)
{
  sink->fd = fd;
  sink->at = at;
  sink->written_back = at;
  sink->flushed = at;
  sink->hash = hash;
  sink->write_errno = 0;
}

guint8 *
eh_client_sink_buffer (EhClientSink *sink)
{
  return g_async_queue_pop (sink->free);
}

void
eh_client_sink_push (EhClientSink *sink, guint8 *buffer, gsize len)
{
  EhClientSinkItem *item;

  if (len == 0) {
    g_async_queue_push (sink->free, buffer);
    return;
  }
  item = g_new0 (EhClientSinkItem, 1);
  item->data = buffer;
  item->len = len;
  g_async_queue_push (sink->work, item);
}

gboolean
eh_client_sink_drain (EhClientSink *sink, GError **error)
{
  EhClientSinkItem *barrier = g_new0 (EhClientSinkItem, 1);

  barrier->barrier = TRUE;
  g_async_queue_push (sink->work, barrier);
  g_async_queue_pop (sink->done);
  if (sink->write_errno != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot write a partial file: %s", g_strerror (sink->write_errno));
    return FALSE;
  }
  return TRUE;
}
