/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-dp.h"

/*
 * GET/HEAD /CCMTOKENAUTH_SMS_DP_SMSPKG$/<content id>/<path> over HTTPS with
 * a content token: the token (401/403), then the path through the manifest
 * to a body named by its hash (400/404), then conditional requests and one
 * strict Range. The body is streamed from the store file in chunks, at most
 * EH_DP_SEND_QUEUE chunks per connection in memory, and at most
 * EH_DP_SEND_BUDGET bytes of chunks for all the downloads of this DP
 * together: 4,000 clients fetching a large file at once take turns (first
 * come, first served) instead of holding 2 GiB of chunks. Chunks are read
 * (pread) in GIO's worker threads: the main loop, which encrypts and sends
 * every download, never waits for a disk, and copying from the page cache
 * runs beside it on another core.
 */

#define EH_DP_SEND_CHUNK (256 * 1024)
#define EH_DP_SEND_QUEUE 2
#define EH_DP_SEND_BUDGET (16 * 1024 * 1024)

typedef struct {
  gatomicrefcount ref;
  SoupServerMessage *msg; /* NULL once finished */
  int fd;
  goffset offset; /* of the next chunk in the file */
  GCancellable *cancellable;
  goffset to_read;
  guint queued; /* chunks appended, not written yet */
  gboolean reading; /* a chunk is being read in a thread */
  EhDp *dp;      /* holds @active and the budget */
  guint *active; /* the count of sends of this kind, for `dp status` */
  guint reserved; /* chunks of the budget this send holds (read or being read, not written) */
  gboolean waiting; /* in dp->send_waiting */
} EhDpSend;

/* a chunk on its way from the file: @have bytes of @size already read */
typedef struct {
  int fd;
  goffset offset;
  guint8 *data;
  gsize have;
  gsize size;
} EhDpSendChunk;

/* chunk buffers kept for the next chunks: 256 KiB malloc'ed afresh each
 * time would be given back to the system and faulted in again, page by page */
#define EH_DP_SPARE_MAX 16

G_LOCK_DEFINE_STATIC (eh_dp_spare);
static gpointer eh_dp_spare[EH_DP_SPARE_MAX];
static guint eh_dp_spare_count;

static guint8 *
eh_dp_send_buffer_new (gsize size)
{
  gpointer data = NULL;

  if (size != EH_DP_SEND_CHUNK)
    return g_malloc (size);
  G_LOCK (eh_dp_spare);
  if (eh_dp_spare_count > 0)
    data = eh_dp_spare[--eh_dp_spare_count];
  G_UNLOCK (eh_dp_spare);
  return data != NULL ? data : g_malloc (size);
}

/* a GBytes' free function: whole chunks go back to the spares */
static void
eh_dp_send_buffer_free (gpointer data)
{
  G_LOCK (eh_dp_spare);
  if (eh_dp_spare_count < EH_DP_SPARE_MAX)
    eh_dp_spare[eh_dp_spare_count++] = g_steal_pointer (&data);
  G_UNLOCK (eh_dp_spare);
  g_free (data);
}

static EhDpSend *
eh_dp_send_ref (EhDpSend *send)
{
  g_atomic_ref_count_inc (&send->ref);
  return send;
}

static void
eh_dp_send_unref (EhDpSend *send)
{
  if (!g_atomic_ref_count_dec (&send->ref))
    return;
  if (send->fd >= 0)
    close (send->fd);
  g_clear_object (&send->cancellable);
  g_clear_pointer (&send->dp, eh_dp_unref);
  g_free (send);
}

static void
eh_dp_send_chunk_free (EhDpSendChunk *chunk)
{
  if (chunk->data != NULL && chunk->size == EH_DP_SEND_CHUNK)
    eh_dp_send_buffer_free (chunk->data);
  else
    g_free (chunk->data);
  g_free (chunk);
}

static void eh_dp_send_fill (EhDpSend *send);

/* gives back @chunks of the budget, and lets the sends waiting for it go on, in turn */
static void
eh_dp_send_release (EhDpSend *send, guint chunks)
{
  EhDp *dp = send->dp;

  chunks = MIN (chunks, send->reserved);
  send->reserved -= chunks;
  dp->send_bytes -= MIN (dp->send_bytes, (guint64) chunks * EH_DP_SEND_CHUNK);
  while (!g_queue_is_empty (&dp->send_waiting) && dp->send_bytes + EH_DP_SEND_CHUNK <= EH_DP_SEND_BUDGET) {
    EhDpSend *next = g_queue_pop_head (&dp->send_waiting);

    next->waiting = FALSE;
    eh_dp_send_fill (next);
    eh_dp_send_unref (next);
  }
}

/* takes one chunk of the budget; over it, the send waits for a turn (one
 * chunk always goes, so nothing waits forever) */
static gboolean
eh_dp_send_reserve (EhDpSend *send)
{
  EhDp *dp = send->dp;

  if (dp->send_bytes > 0 && dp->send_bytes + EH_DP_SEND_CHUNK > EH_DP_SEND_BUDGET) {
    if (!send->waiting) {
      send->waiting = TRUE;
      g_queue_push_tail (&dp->send_waiting, eh_dp_send_ref (send));
    }
    return FALSE;
  }
  dp->send_bytes += EH_DP_SEND_CHUNK;
  send->reserved++;
  return TRUE;
}

/* reads @chunk whole; FALSE on an error or a file that got shorter */
static gboolean
eh_dp_send_chunk_read (EhDpSendChunk *chunk, GError **error)
{
  while (chunk->have < chunk->size) {
    gssize n = pread (chunk->fd, chunk->data + chunk->have, chunk->size - chunk->have, chunk->offset + chunk->have);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
      return FALSE;
    }
    if (n == 0) {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "it got shorter");
      return FALSE;
    }
    chunk->have += n;
  }
  return TRUE;
}

/* one more chunk for libsoup to write (the body's end after the last) */
static void
eh_dp_send_append (EhDpSend *send, EhDpSendChunk *chunk)
{
  SoupMessageBody *body = soup_server_message_get_response_body (send->msg);
  g_autoptr (GBytes) bytes = chunk->size == EH_DP_SEND_CHUNK
                               ? g_bytes_new_with_free_func (chunk->data, chunk->size, eh_dp_send_buffer_free,
                                                             chunk->data)
                               : g_bytes_new_take (chunk->data, chunk->size);

  send->offset += chunk->size;
  send->to_read -= MIN ((goffset) chunk->size, send->to_read);
  send->queued++;
  soup_message_body_append_bytes (body, bytes);
  if (send->to_read == 0)
    soup_message_body_complete (body);
  chunk->data = NULL; /* the bytes hold it */
  eh_dp_send_chunk_free (chunk);
}

/* the body was checked at open; a store file that fails now is a disk problem */
static void
eh_dp_send_fail (EhDpSend *send, const GError *error)
{
  g_warning ("cannot read a content body: %s", error->message);
  send->to_read = 0;
  eh_dp_send_release (send, 1);
  soup_message_body_complete (soup_server_message_get_response_body (send->msg));
}

static void
eh_dp_send_thread_read (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (eh_dp_send_chunk_read (data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
eh_dp_send_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhDpSend *send = user_data;
  EhDpSendChunk *chunk = g_task_get_task_data (G_TASK (result)); /* ours now, the thread is done */
  g_autoptr (GError) error = NULL;

  send->reading = FALSE;
  if (send->msg == NULL) {
    eh_dp_send_chunk_free (chunk);
    eh_dp_send_unref (send);
    return;
  }
  if (g_task_propagate_boolean (G_TASK (result), &error))
    eh_dp_send_append (send, chunk);
  else {
    eh_dp_send_chunk_free (chunk);
    eh_dp_send_fail (send, error);
  }
  soup_server_message_unpause (send->msg);
  eh_dp_send_fill (send);
  eh_dp_send_unref (send);
}

/* starts reading the next chunk, unless one is being read, the queue is
 * full, or the budget says wait (eh_dp_send_got goes on from there) */
static void
eh_dp_send_fill (EhDpSend *send)
{
  EhDpSendChunk *chunk;
  GTask *task;

  if (send->msg == NULL || send->reading || send->to_read == 0 || send->queued >= EH_DP_SEND_QUEUE ||
      !eh_dp_send_reserve (send))
    return;
  chunk = g_new0 (EhDpSendChunk, 1);
  chunk->fd = send->fd;
  chunk->offset = send->offset;
  chunk->size = MIN (send->to_read, EH_DP_SEND_CHUNK);
  chunk->data = eh_dp_send_buffer_new (chunk->size);
  send->reading = TRUE;
  /* the task holds the send, and so the file, until eh_dp_send_got */
  task = g_task_new (NULL, send->cancellable, eh_dp_send_got, eh_dp_send_ref (send));
  g_task_set_task_data (task, chunk, NULL);
  g_task_run_in_thread (task, eh_dp_send_thread_read);
  g_object_unref (task);
}

static void
eh_dp_send_wrote_chunk (SoupServerMessage *msg, EhDpSend *send)
{
  if (send->queued > 0)
    send->queued--;
  eh_dp_send_release (send, 1);
  eh_dp_send_fill (send);
}

static void
eh_dp_send_finished (SoupServerMessage *msg, EhDpSend *send)
{
  g_signal_handlers_disconnect_by_data (msg, send);
  send->msg = NULL;
  (*send->active)--;
  g_cancellable_cancel (send->cancellable);
  if (send->waiting && g_queue_remove (&send->dp->send_waiting, send)) {
    send->waiting = FALSE;
    eh_dp_send_unref (send);
  }
  eh_dp_send_release (send, send->reserved);
  eh_dp_send_unref (send);
}

/* streams @length bytes of @fd from @first as the response body; takes @fd */
static void
eh_dp_send_start (EhDp *dp, guint *active, SoupServerMessage *msg, int fd, goffset first, goffset length)
{
  EhDpSend *send = g_new0 (EhDpSend, 1);

  g_atomic_ref_count_init (&send->ref);
  send->dp = eh_dp_ref (dp);
  send->active = active;
  (*active)++;
  send->msg = msg;
  send->fd = fd;
  send->offset = first;
  send->cancellable = g_cancellable_new ();
  send->to_read = length;
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (eh_dp_send_wrote_chunk), send);
  g_signal_connect (msg, "finished", G_CALLBACK (eh_dp_send_finished), send);
  soup_server_message_pause (msg);
  if (send->to_read > 0)
    eh_dp_send_fill (send);
  else {
    soup_message_body_complete (soup_server_message_get_response_body (msg));
    soup_server_message_unpause (msg);
  }
}

/* ── answering through libsoup ──────────────────────────────────────── */

static const char *
eh_dp_download_header (gpointer headers, const char *name)
{
  return soup_message_headers_get_one (headers, name);
}

static void
eh_dp_download_add_header (gpointer headers, const char *name, const char *value)
{
  soup_message_headers_replace (headers, name, value);
}

/* the parts of @request that decide its answer */
static void
eh_dp_download_ask (EhRequest *request, gboolean anonymous, EhDpAsk *ask)
{
  eh_dp_ask_init (ask, eh_request_get_subpath (request), anonymous, eh_request_get_range (request),
                  eh_dp_download_header,
                  soup_server_message_get_request_headers (eh_request_get_message (request)));
}

/* opens the body: a regular file of the manifest's size, never through a symlink */
static int
eh_dp_download_open (EhDp *dp, const EhDpManifestFile *file)
{
  g_autofree char *path = eh_dp_store_path (eh_dp_library_get_store (dp->library), file->sha256);
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat st;

  if (fd < 0)
    return -1;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size != file->size) {
    close (fd);
    return -1;
  }
  return fd;
}

/* a small body from memory: no file opened, no thread, one append */
void
eh_dp_download_from_memory (SoupServerMessage *msg, GBytes *body, goffset first, goffset length)
{
  SoupMessageBody *response = soup_server_message_get_response_body (msg);
  g_autoptr (GBytes) part = first == 0 && (gsize) length == g_bytes_get_size (body)
                              ? g_bytes_ref (body)
                              : g_bytes_new_from_bytes (body, first, length);

  if (strcmp (soup_server_message_get_method (msg), "HEAD") == 0)
    return;
  if (length > 0)
    soup_message_body_append_bytes (response, part);
  soup_message_body_complete (response);
}

/* sends the body of a BODY answer: from memory, read into memory, or streamed */
static void
eh_dp_download_send_body (EhDp *dp, EhRequest *request, const EhDpAnswer *answer, guint *active)
{
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  int fd;

  if (answer->file->size <= EH_DP_BODY_CACHE_MAX_BODY) {
    soup_server_message_set_status (msg, answer->status, NULL);
    soup_message_headers_replace (headers, "Content-Type", "application/octet-stream");
    soup_message_headers_set_content_length (headers, answer->length);
    if (answer->cached != NULL)
      eh_dp_download_from_memory (msg, answer->cached, answer->first, answer->length);
    else
      eh_dp_body_cache_load (dp, answer->file, msg, answer->first, answer->length);
    return;
  }
  fd = eh_dp_download_open (dp, answer->file);
  if (fd < 0) {
    g_warning ("content %s: the body of %s is missing or damaged in the store",
               answer->manifest != NULL ? answer->manifest->id : "?", answer->file->path);
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "no such file");
    return;
  }
  soup_server_message_set_status (msg, answer->status, NULL);
  soup_message_headers_replace (headers, "Content-Type", "application/octet-stream");
  soup_message_headers_set_content_length (headers, answer->length);
  if (strcmp (soup_server_message_get_method (msg), "HEAD") == 0) {
    close (fd);
    return;
  }
  eh_dp_send_start (dp, active, msg, fd, answer->first, answer->length);
}

/* carries out @answer on the libsoup message of @request */
static void
eh_dp_download_answer (EhDp *dp, EhRequest *request, const EhDpAnswer *answer, guint *active)
{
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  eh_dp_answer_log (answer, eh_request_get_id (request));
  eh_dp_answer_headers (answer, eh_dp_download_add_header, headers);
  switch (answer->kind) {
  case EH_DP_ANSWER_TEXT:
    eh_request_respond_text (request, answer->status, answer->text);
    break;
  case EH_DP_ANSWER_NOT_MODIFIED:
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
    break;
  case EH_DP_ANSWER_BODY:
  default:
    eh_dp_download_send_body (dp, request, answer, active);
    break;
  }
}

void
eh_dp_download_serve (EhDp *dp, EhRequest *request, const EhDpManifest *manifest,
                      const EhDpManifestFile *file, guint *active)
{
  EhDpAnswer answer = { 0 };
  EhDpAsk ask;

  eh_dp_download_ask (request, TRUE, &ask);
  answer.manifest = manifest;
  eh_dp_decide_file (dp, &ask, manifest, file, &answer);
  eh_dp_download_answer (dp, request, &answer, active);
  eh_dp_answer_clear (&answer);
}

static void
eh_dp_download_handle (EhDp *dp, EhRequest *request, gboolean anonymous)
{
  EhDpAnswer answer;
  EhDpAsk ask;

  eh_dp_download_ask (request, anonymous, &ask);
  eh_dp_decide_download (dp, &ask, &answer);
  eh_dp_download_answer (dp, request, &answer, &dp->active_downloads);
  eh_dp_answer_clear (&answer);
}

static void
eh_dp_download_token_handler (EhRequest *request, gpointer user_data)
{
  eh_dp_download_handle (user_data, request, FALSE);
}

static void
eh_dp_download_anonymous_handler (EhRequest *request, gpointer user_data)
{
  eh_dp_download_handle (user_data, request, TRUE);
}

gboolean
eh_dp_download_start (EhDp *dp, GError **error)
{
  const EhEndpoint endpoint = { "GET", EH_DP_DOWNLOAD_PREFIX, EH_SCHEME_HTTPS, 0,
                                eh_dp_download_token_handler };
  /* over HTTPS too: the same bytes, no token (and what bench/dp.sh measures the token check against) */
  const EhEndpoint anonymous = { "GET", EH_DP_ANONYMOUS_PREFIX, EH_SCHEME_BOTH, 0,
                                 eh_dp_download_anonymous_handler };

  if (!eh_plugin_add_endpoint (dp->plugin, &endpoint, dp, error))
    return FALSE;
  if (!dp->allow_anonymous)
    return TRUE;
  g_warning ("[dp] allow-anonymous=true: content is served without a token over HTTP and HTTPS at "
             EH_DP_ANONYMOUS_PREFIX "/ — deprecated, and anyone who can reach this host can download it");
  return eh_plugin_add_endpoint (dp->plugin, &anonymous, dp, error);
}
