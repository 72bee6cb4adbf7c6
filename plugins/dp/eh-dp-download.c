/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-dp.h"

/*
 * GET/HEAD /CCMTOKENAUTH_SMS_DP_SMSPKG$/<content id>/<path> over HTTPS with
 * a content token: the token (401/403), then the path through the manifest
 * to a body named by its hash (400/404), then conditional requests and one
 * strict Range. The body is streamed from the store file in chunks read in
 * GIO's threads, at most EH_DP_SEND_QUEUE chunks per connection in memory,
 * and at most EH_DP_SEND_BUDGET bytes of chunks for all the downloads of
 * this DP together: 4,000 clients fetching a large file at once take turns
 * (first come, first served) instead of holding 2 GiB of chunks.
 */

#define EH_DP_SEND_CHUNK (256 * 1024)
#define EH_DP_SEND_QUEUE 2
#define EH_DP_SEND_BUDGET (16 * 1024 * 1024)

typedef struct {
  gatomicrefcount ref;
  SoupServerMessage *msg; /* NULL once finished */
  GInputStream *stream;
  GCancellable *cancellable;
  goffset to_read;
  guint queued; /* chunks appended, not written yet */
  gboolean reading;
  EhDp *dp;      /* holds @active and the budget */
  guint *active; /* the count of sends of this kind, for `dp status` */
  guint reserved; /* chunks of the budget this send holds (read or being read, not written) */
  gboolean waiting; /* in dp->send_waiting */
} EhDpSend;

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
  g_clear_object (&send->stream);
  g_clear_object (&send->cancellable);
  g_clear_pointer (&send->dp, eh_dp_unref);
  g_free (send);
}

static void eh_dp_send_read (EhDpSend *send);

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
    if (next->msg != NULL && !next->reading && next->to_read > 0 && next->queued < EH_DP_SEND_QUEUE)
      eh_dp_send_read (next);
    eh_dp_send_unref (next);
  }
}

static void
eh_dp_send_got (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhDpSend *send = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  SoupMessageBody *body;

  send->reading = FALSE;
  if (send->msg == NULL) {
    eh_dp_send_unref (send);
    return;
  }
  body = soup_server_message_get_response_body (send->msg);
  if (bytes == NULL || g_bytes_get_size (bytes) == 0) {
    /* the body was checked at open; a store file that fails now is a disk problem */
    g_warning ("cannot read a content body: %s", error != NULL ? error->message : "it got shorter");
    send->to_read = 0;
    eh_dp_send_release (send, 1);
    soup_message_body_complete (body);
  } else {
    send->to_read -= MIN ((goffset) g_bytes_get_size (bytes), send->to_read);
    send->queued++;
    soup_message_body_append_bytes (body, bytes);
    if (send->to_read == 0)
      soup_message_body_complete (body);
  }
  soup_server_message_unpause (send->msg);
  if (send->to_read > 0 && send->queued < EH_DP_SEND_QUEUE)
    eh_dp_send_read (send);
  eh_dp_send_unref (send);
}

static void
eh_dp_send_read (EhDpSend *send)
{
  EhDp *dp = send->dp;

  /* over the budget: wait for a turn (one chunk always goes, so nothing waits forever) */
  if (dp->send_bytes > 0 && dp->send_bytes + EH_DP_SEND_CHUNK > EH_DP_SEND_BUDGET) {
    if (!send->waiting) {
      send->waiting = TRUE;
      g_queue_push_tail (&dp->send_waiting, eh_dp_send_ref (send));
    }
    return;
  }
  dp->send_bytes += EH_DP_SEND_CHUNK;
  send->reserved++;
  send->reading = TRUE;
  g_input_stream_read_bytes_async (send->stream, MIN (send->to_read, EH_DP_SEND_CHUNK), G_PRIORITY_DEFAULT,
                                   send->cancellable, eh_dp_send_got, eh_dp_send_ref (send));
}

static void
eh_dp_send_wrote_chunk (SoupServerMessage *msg, EhDpSend *send)
{
  if (send->queued > 0)
    send->queued--;
  eh_dp_send_release (send, 1);
  if (!send->reading && send->to_read > 0 && send->queued < EH_DP_SEND_QUEUE)
    eh_dp_send_read (send);
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
  send->stream = g_unix_input_stream_new (fd, TRUE);
  send->cancellable = g_cancellable_new ();
  send->to_read = length;
  if (first > 0 && lseek (fd, first, SEEK_SET) != first) {
    send->to_read = 0;
    g_warning ("cannot seek in a content body");
  }
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (eh_dp_send_wrote_chunk), send);
  g_signal_connect (msg, "finished", G_CALLBACK (eh_dp_send_finished), send);
  soup_server_message_pause (msg);
  if (send->to_read > 0)
    eh_dp_send_read (send);
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
