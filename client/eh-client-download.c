/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "eh-client.h"
#include "eh-client-download.h"
#include "eh-client-sink.h"
#include "eh-file.h"
#include "eh-dp.h"

/*
 * Downloading one content from an ordered list of DPs with one content
 * token. Every file of the signed manifest is written to
 * DEST/.ehttp-client-partial/<sha256>.part, hashed as it arrives, and
 * renamed to its place only when its SHA-256 is the manifest's. A DP that
 * fails (connect, TLS, an HTTP error, a stall, a hash mismatch) is left for
 * the next one, which continues the same file with a Range from the byte
 * reached; later files keep to the DP that works. When every DP has failed
 * the MP is asked once more for locations; then the download fails and
 * says how each DP failed.
 */

#define EH_CLIENT_PKG_PATH "/CCMTOKENAUTH_SMS_DP_SMSPKG$/"
#define EH_CLIENT_SIG_PATH "/CCMTOKENAUTH_SMS_DP_SMSSIG$/"
#define EH_CLIENT_CHUNK (256 * 1024)
#define EH_CLIENT_PARTIAL_DIR ".ehttp-client-partial"

void
eh_client_dp_free (EhClientDp *dp)
{
  if (dp == NULL)
    return;
  g_free (dp->name);
  g_free (dp->url);
  g_free (dp->error);
  g_free (dp);
}

EhClientDp *
eh_client_dp_new (const char *name, const char *url, GError **error)
{
  g_autofree char *base = NULL;
  g_autofree char *host = NULL;
  EhClientDp *dp;

  if (!eh_client_url_parse_https (url, &base, &host, error))
    return NULL;
  dp = g_new0 (EhClientDp, 1);
  dp->name = g_strdup (name != NULL ? name : host);
  dp->url = g_steal_pointer (&base);
  return dp;
}

/* internet mode: the gateway's content path stands for the site's DPs (one content token names them) */
EhClientDp *
eh_client_dp_new_gateway (EhClient *client)
{
  g_autofree char *host = NULL;
  EhClientDp *dp;

  if (!eh_client_url_parse_https (eh_client_gateway (client), NULL, &host, NULL))
    return NULL;
  dp = g_new0 (EhClientDp, 1);
  dp->name = g_strdup_printf ("gateway %s", host);
  dp->url = eh_client_gateway_url (client, client->site->gateway_dp_id);
  dp->gateway = TRUE;
  return dp;
}

static SoupMessage *
eh_client_dp_message (EhClientDownload *download, EhClientDp *dp, const char *url, GError **error)
{
  return eh_client_message_new (download->client, dp->gateway ? EH_CLIENT_PEER_GATEWAY : EH_CLIENT_PEER_DP, "GET",
                                url, download->token, error);
}

/* ── one failure ─────────────────────────────────────────────────────── */

static void
eh_client_download_fail_dp (EhClientDownload *download, EhClientDp *dp, const GError *error)
{
  const char *why = error->message;
  g_autofree char *reason = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    why = reason = g_strdup_printf ("stalled: no bytes for %u s", download->client->stall_seconds);
  g_free (dp->error);
  dp->error = g_strdup (why);
  dp->failed = TRUE;
  download->failed_at = g_get_monotonic_time ();
  g_free (download->failed_from);
  download->failed_from = g_strdup (dp->name);
  g_free (download->failed_why);
  download->failed_why = g_strdup (why);
  eh_client_progress_note (download->progress, "DP %s failed: %s", dp->name, why);
}

/* the first byte from a DP after another failed: the failover is over */
static void
eh_client_download_note_resumed (EhClientDownload *download, EhClientDp *dp)
{
  JsonObject *failover;

  if (download->failed_at == 0)
    return;
  failover = json_object_new ();
  json_object_set_string_member (failover, "from", download->failed_from);
  json_object_set_string_member (failover, "to", dp->name);
  json_object_set_string_member (failover, "reason", download->failed_why);
  json_object_set_double_member (failover, "seconds",
                                 (g_get_monotonic_time () - download->failed_at) / (double) G_USEC_PER_SEC);
  json_object_set_double_member (failover, "resumed_at", g_get_real_time () / (double) G_USEC_PER_SEC);
  json_array_add_object_element (download->failovers, failover);
  download->failed_at = 0;
}

/* ── hashing and rate ────────────────────────────────────────────────── */

static void
eh_client_hash_restart (EhClientDownload *download)
{
  if (download->hash != NULL)
    gnutls_hash_deinit (download->hash, NULL);
  download->hash = NULL;
  gnutls_hash_init (&download->hash, GNUTLS_DIG_SHA256);
}

static char *
eh_client_hash_hex (EhClientDownload *download)
{
  guint8 digest[32];
  GString *hex = g_string_sized_new (64);

  gnutls_hash_output (download->hash, digest);
  for (guint i = 0; i < 32; i++)
    g_string_append_printf (hex, "%02x", digest[i]);
  return g_string_free (hex, FALSE);
}

/* hashes the first @len bytes of @fd (a partial file from an earlier run) */
static gboolean
eh_client_hash_existing (EhClientDownload *download, int fd, goffset len, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (EH_CLIENT_CHUNK);
  goffset done = 0;

  while (done < len) {
    ssize_t n = pread (fd, buffer, MIN (EH_CLIENT_CHUNK, len - done), done);

    if (n <= 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot read a partial file: %s",
                   n < 0 ? g_strerror (errno) : "it got shorter");
      return FALSE;
    }
    gnutls_hash (download->hash, buffer, n);
    done += n;
  }
  return TRUE;
}

static void
eh_client_download_throttle (EhClientDownload *download, gsize n)
{
  gint64 due;

  if (download->max_rate == 0)
    return;
  if (download->rate_start == 0)
    download->rate_start = g_get_monotonic_time ();
  download->rate_bytes += n;
  due = download->rate_start + (gint64) (download->rate_bytes * (double) G_USEC_PER_SEC / download->max_rate);
  if (due > g_get_monotonic_time ())
    g_usleep (due - g_get_monotonic_time ());
}

/* ── one request ─────────────────────────────────────────────────────── */

static char *
eh_client_file_url (EhClientDownload *download, EhClientDp *dp, const char *path)
{
  g_auto (GStrv) segments = g_strsplit (path, "/", -1);
  GString *url = g_string_new (dp->url);

  g_string_append_printf (url, "%s%s", EH_CLIENT_PKG_PATH, download->content_id);
  for (guint i = 0; segments[i] != NULL; i++) {
    g_autofree char *escaped = g_uri_escape_string (segments[i], NULL, FALSE);

    g_string_append_printf (url, "/%s", escaped);
  }
  return g_string_free (url, FALSE);
}

static gboolean
eh_client_check_content_range (SoupMessage *msg, goffset have, guint64 size, GError **error)
{
  goffset first = 0, last = 0, total = 0;

  if (!soup_message_headers_get_content_range (soup_message_get_response_headers (msg), &first, &last, &total) ||
      first != have || total < 0 || (guint64) total != size) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the DP answered another range than bytes %" G_GINT64_FORMAT
                 "- of %" G_GUINT64_FORMAT, (gint64) have, size);
    return FALSE;
  }
  return TRUE;
}

/* the rest of @file from @dp onto @fd from *@have on (all of it again on a 200) */
static gboolean
eh_client_download_transfer (EhClientDownload *download, EhClientDp *dp, const EhDpManifestFile *file, int fd,
                             goffset *have, GError **error)
{
  g_autofree char *url = eh_client_file_url (download, dp, file->path);
  g_autoptr (SoupMessage) msg = eh_client_dp_message (download, dp, url, error);
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) local = NULL;
  gsize chunk = download->max_rate > 0 ? CLAMP (download->max_rate / 20, 16384, EH_CLIENT_SINK_BUFFER_SIZE)
                                       : EH_CLIENT_SINK_BUFFER_SIZE;
  guint status;

  if (msg == NULL)
    return FALSE;
  if (*have > 0) {
    g_autofree char *etag = g_strdup_printf ("\"%s\"", file->sha256);

    soup_message_headers_set_range (soup_message_get_request_headers (msg), *have, -1);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "If-Range", etag);
  }
  stream = eh_client_http_open (download->client, msg, error);
  if (stream == NULL)
    return FALSE;
  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_PARTIAL_CONTENT && *have > 0) {
    if (!eh_client_check_content_range (msg, *have, file->size, error))
      return FALSE;
  } else if (status == SOUP_STATUS_OK) {
    /* the whole file: start it over */
    if (*have > 0 && (ftruncate (fd, 0) != 0)) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot truncate a partial file: %s", g_strerror (errno));
      return FALSE;
    }
    download->done -= *have;
    *have = 0;
    eh_client_hash_restart (download);
  } else {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "HTTP %u %s for %s", status, soup_status_get_phrase (status),
                 file->path);
    return FALSE;
  }
  /* the sink writes and hashes each buffer while the next one is read */
  eh_client_sink_begin (download->sink, fd, *have, download->hash);
  for (;;) {
    guint8 *buffer = eh_client_sink_buffer (download->sink);
    gsize n = 0;
    gboolean more = g_input_stream_read_all (stream, buffer, chunk, &n, NULL, &local);

    if ((guint64) *have + n > file->size) {
      eh_client_sink_push (download->sink, buffer, 0);
      g_clear_error (&local);
      g_set_error (&local, EH_ERROR, EH_ERROR_FAILED, "the DP sent more than the manifest's %" G_GUINT64_FORMAT
                   " bytes of %s", file->size, file->path);
      break;
    }
    if (n > 0)
      eh_client_download_note_resumed (download, dp);
    /* what arrived before a failure is kept: the next DP resumes after it */
    eh_client_sink_push (download->sink, buffer, n);
    *have += n;
    download->done += n;
    download->transferred += n;
    dp->bytes += n;
    eh_client_progress_update (download->progress, download->done, FALSE);
    eh_client_download_throttle (download, n);
    if (!more || n < chunk)
      break;
  }
  if (!eh_client_sink_drain (download->sink, local == NULL ? &local : NULL) || local != NULL) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  g_input_stream_close (stream, NULL, NULL);
  if ((guint64) *have != file->size) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the DP closed the connection at %" G_GINT64_FORMAT " of %"
                 G_GUINT64_FORMAT " bytes of %s", (gint64) *have, file->size, file->path);
    return FALSE;
  }
  return TRUE;
}

/* ── one file ────────────────────────────────────────────────────────── */

/* the next DP that has not failed, from the current one on; NULL when none is left */
static EhClientDp *
eh_client_download_current (EhClientDownload *download)
{
  while (download->current < download->dps->len) {
    EhClientDp *dp = g_ptr_array_index (download->dps, download->current);

    if (!dp->failed)
      return dp;
    download->current++;
  }
  return NULL;
}

/* every DP failed: ask the MP once more, else say how each failed */
static gboolean
eh_client_download_exhausted (EhClientDownload *download, GError **error)
{
  g_autoptr (GString) how = g_string_new (NULL);
  g_autoptr (GError) local = NULL;

  if (download->relocate != NULL && download->located < 2) {
    eh_client_progress_note (download->progress, "every DP failed: asking the MP for locations again");
    if (download->relocate (download, &local)) {
      download->current = 0;
      return TRUE;
    }
    g_string_append_printf (how, "; asking the MP again failed: %s", local->message);
  }
  for (guint i = 0; i < download->failed_dps->len; i++) {
    EhClientDp *dp = g_ptr_array_index (download->failed_dps, i);

    g_string_append_printf (how, "%s%s (%s): %s", i > 0 || how->len > 0 ? "; " : "", dp->name, dp->url, dp->error);
  }
  for (guint i = 0; i < download->dps->len; i++) {
    EhClientDp *dp = g_ptr_array_index (download->dps, i);

    g_string_append_printf (how, "%s%s (%s): %s", how->len > 0 ? "; " : "", dp->name, dp->url,
                            dp->error != NULL ? dp->error : "not tried");
  }
  g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE, "content %s: every DP failed: %s", download->content_id,
               how->str);
  return FALSE;
}

static gboolean
eh_client_sync_rename (int fd, const char *from, const char *to, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (to);
  struct stat st;

  if (fsync (fd) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot sync %s: %s", from, g_strerror (errno));
    return FALSE;
  }
  if (g_mkdir_with_parents (parent, 0755) != 0 || lstat (parent, &st) != 0 || !S_ISDIR (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot make the directory %s", parent);
    return FALSE;
  }
  if (lstat (to, &st) == 0 && !S_ISREG (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s exists and is not a regular file", to);
    return FALSE;
  }
  if (rename (from, to) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot rename into %s: %s", to, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

/* a file already in place with the right hash is kept */
static gboolean
eh_client_file_in_place (EhClientDownload *download, const EhDpManifestFile *file, const char *final)
{
  struct stat st;
  int fd;
  gboolean same;

  if (lstat (final, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size != file->size)
    return FALSE;
  fd = open (final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  eh_client_hash_restart (download);
  same = eh_client_hash_existing (download, fd, st.st_size, NULL);
  close (fd);
  if (same) {
    g_autofree char *hex = eh_client_hash_hex (download);

    same = strcmp (hex, file->sha256) == 0;
  }
  return same;
}

static gboolean
eh_client_download_file (EhClientDownload *download, const EhDpManifestFile *file, GError **error)
{
  g_autofree char *final = g_build_filename (download->dest, file->path, NULL);
  g_autofree char *name = g_strconcat (file->sha256, ".part", NULL);
  g_autofree char *partial = g_build_filename (download->partial_dir, name, NULL);
  goffset have, kept;
  int fd;
  gboolean ok = FALSE;

  if (eh_client_file_in_place (download, file, final)) {
    download->done += file->size;
    eh_client_progress_update (download->progress, download->done, FALSE);
    return TRUE;
  }
  fd = eh_file_open_partial (partial, file->size, &have, error);
  if (fd < 0)
    return FALSE;
  eh_client_hash_restart (download);
  if (!eh_client_hash_existing (download, fd, have, error)) {
    close (fd);
    return FALSE;
  }
  download->done += have;
  kept = have;
  for (;;) {
    EhClientDp *dp = eh_client_download_current (download);
    g_autoptr (GError) local = NULL;
    g_autofree char *hex = NULL;

    if (dp == NULL) {
      if (!eh_client_download_exhausted (download, error))
        break;
      continue;
    }
    eh_client_progress_file (download->progress, file->path, dp->name);
    if ((guint64) have < file->size && !eh_client_download_transfer (download, dp, file, fd, &have, &local)) {
      eh_client_download_fail_dp (download, dp, local);
      continue;
    }
    hex = eh_client_hash_hex (download);
    if (strcmp (hex, file->sha256) != 0) {
      /*
       * which part was wrong cannot be told: with bytes kept from an earlier
       * run the file starts over once from this DP, else from the next one
       */
      if (kept > 0) {
        eh_client_progress_note (download->progress, "%s: hash mismatch with %" G_GINT64_FORMAT
                                 " bytes kept from an earlier run: starting it over", file->path, (gint64) kept);
      } else {
        g_set_error (&local, EH_ERROR, EH_ERROR_CRYPTO, "hash mismatch for %s (got %s, the manifest says %s)",
                     file->path, hex, file->sha256);
        eh_client_download_fail_dp (download, dp, local);
      }
      kept = 0;
      download->done -= have;
      have = 0;
      if (ftruncate (fd, 0) != 0) {
        g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot truncate %s: %s", partial, g_strerror (errno));
        break;
      }
      eh_client_hash_restart (download);
      continue;
    }
    ok = eh_client_sync_rename (fd, partial, final, error);
    break;
  }
  close (fd);
  return ok;
}

/* ── the manifest ────────────────────────────────────────────────────── */

static EhDpManifest *
eh_client_manifest_from (EhClientDownload *download, EhClientDp *dp, GError **error)
{
  g_autofree char *url = g_strconcat (dp->url, EH_CLIENT_SIG_PATH, download->content_id, NULL);
  g_autoptr (SoupMessage) msg = eh_client_dp_message (download, dp, url, error);
  g_autoptr (GBytes) answer = NULL;
  g_autofree char *jws = NULL;
  g_autofree char *actual = NULL;
  g_autofree char *payload = NULL;
  g_autoptr (EhDpManifest) manifest = NULL;

  if (msg == NULL || (answer = eh_client_http_send (download->client, msg, EH_DP_MAX_MANIFEST_BYTES, error)) == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "HTTP %u for the manifest", soup_message_get_status (msg));
    return NULL;
  }
  actual = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, answer);
  if (strcmp (actual, download->manifest_sha256) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "hash mismatch for the manifest (the token names %s)",
                 download->manifest_sha256);
    return NULL;
  }
  jws = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  payload = eh_client_verify_signed (download->client, jws, EH_DP_MANIFEST_TYP, EH_DP_MAX_MANIFEST_BYTES, error);
  if (payload == NULL || (manifest = eh_dp_manifest_from_json (payload, strlen (payload), error)) == NULL)
    return NULL;
  if (strcmp (manifest->id, download->content_id) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the manifest is of content %s", manifest->id);
    return NULL;
  }
  return g_steal_pointer (&manifest);
}

static gboolean
eh_client_download_manifest (EhClientDownload *download, GError **error)
{
  while (download->manifest == NULL) {
    EhClientDp *dp = eh_client_download_current (download);
    g_autoptr (GError) local = NULL;

    if (dp == NULL) {
      if (!eh_client_download_exhausted (download, error))
        return FALSE;
      continue;
    }
    download->manifest = eh_client_manifest_from (download, dp, &local);
    if (download->manifest == NULL)
      eh_client_download_fail_dp (download, dp, local);
  }
  return TRUE;
}

/* ── the whole content ───────────────────────────────────────────────── */

static gboolean
eh_client_download_prepare_dest (EhClientDownload *download, GError **error)
{
  struct stat st;

  if (g_mkdir_with_parents (download->dest, 0755) != 0 || lstat (download->dest, &st) != 0 ||
      !S_ISDIR (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot use %s as the destination directory: %s",
                 download->dest, g_strerror (errno));
    return FALSE;
  }
  download->partial_dir = g_build_filename (download->dest, EH_CLIENT_PARTIAL_DIR, NULL);
  if ((mkdir (download->partial_dir, 0700) != 0 && errno != EEXIST) || lstat (download->partial_dir, &st) != 0 ||
      !S_ISDIR (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot make %s", download->partial_dir);
    return FALSE;
  }
  return TRUE;
}

/*
 * the partial directory goes once nothing of it is needed; after a failure
 * only what holds bytes a later run resumes from stays
 */
static void
eh_client_download_cleanup (EhClientDownload *download, gboolean keep_resumable)
{
  g_autoptr (GDir) dir = download->partial_dir != NULL ? g_dir_open (download->partial_dir, 0, NULL) : NULL;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (download->partial_dir, name, NULL);
    struct stat st;

    if (g_str_has_suffix (name, ".part") &&
        (!keep_resumable || (lstat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_size == 0)))
      unlink (path);
  }
  if (download->partial_dir != NULL)
    rmdir (download->partial_dir);
}

gboolean
eh_client_download_run (EhClientDownload *download, GError **error)
{
  gint64 start = g_get_monotonic_time ();

  download->sink = eh_client_sink_new ();
  download->progress = eh_client_progress_new (download->client->quiet || download->client->json);
  if (!eh_client_download_manifest (download, error) || !eh_client_download_prepare_dest (download, error))
    return FALSE;
  eh_client_progress_set_content (download->progress, download->manifest->files->len, download->manifest->size);
  for (guint i = 0; i < download->manifest->files->len; i++) {
    if (!eh_client_download_file (download, g_ptr_array_index (download->manifest->files, i), error)) {
      eh_client_download_cleanup (download, TRUE);
      return FALSE;
    }
  }
  eh_client_download_cleanup (download, FALSE);
  download->seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  eh_client_progress_update (download->progress, download->done, TRUE);
  eh_client_progress_done (download->progress);
  return TRUE;
}

void
eh_client_download_clear (EhClientDownload *download)
{
  g_clear_pointer (&download->dps, g_ptr_array_unref);
  g_clear_pointer (&download->failed_dps, g_ptr_array_unref);
  g_clear_pointer (&download->manifest, eh_dp_manifest_free);
  g_clear_pointer (&download->failovers, json_array_unref);
  g_clear_pointer (&download->progress, eh_client_progress_free);
  if (download->hash != NULL)
    gnutls_hash_deinit (download->hash, NULL);
  download->hash = NULL;
  g_free (download->token);
  g_free (download->manifest_sha256);
  g_free (download->partial_dir);
  g_free (download->failed_from);
  g_free (download->failed_why);
  g_clear_pointer (&download->sink, eh_client_sink_free);
}
