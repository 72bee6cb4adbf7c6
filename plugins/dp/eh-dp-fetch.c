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

#include "eh-dp.h"

/*
 * One pull from the upstream DP, run whole in a GTask thread with its own
 * main context and a synchronous libsoup session: the library, then for
 * each content missing here its manifest (signature checked against the
 * site signing key of the trust bundle), then each body missing from the
 * store into pull-staging/<sha256>.part (kept across restarts: the next
 * pull resumes it with a Range), hashed, synced and renamed into the store
 * only when its SHA-256 is right. The manifest is written last, so a
 * content is served only when all of it is there. The upstream's server
 * certificate must chain to the pinned site root; host.pem is presented.
 */

#define EH_DP_FETCH_CHUNK (256 * 1024)
#define EH_DP_FETCH_PROGRESS_STEP (4 * 1024 * 1024)

struct _EhDpFetch {
  char *base;       /* https://HOST:PORT of the upstream DP */
  char *host;
  guint8 root[32];
  char *root_text;
  char *host_pem;
  char *dir;
  char *bundle_json;
  GHashTable *have; /* content id → manifest sha256 installed here */
  GStrv names;      /* (nullable) this DP's names: pull only what is assigned to them */
  GHashTable *force; /* (nullable) content ids to fetch anew, every file */
  EhDpLibrary *library;
  EhDpFetchReport report;
  EhDp *dp;
  GMainContext *main_context;
  GTlsCertificate *client_cert;
  SoupSession *session;
};

void
eh_dp_fetch_free (EhDpFetch *fetch)
{
  if (fetch == NULL)
    return;
  g_free (fetch->base);
  g_free (fetch->host);
  g_free (fetch->root_text);
  g_free (fetch->host_pem);
  g_free (fetch->dir);
  g_free (fetch->bundle_json);
  g_clear_pointer (&fetch->have, g_hash_table_unref);
  g_strfreev (fetch->names);
  g_clear_pointer (&fetch->force, g_hash_table_unref);
  g_clear_pointer (&fetch->dp, eh_dp_unref);
  g_clear_pointer (&fetch->main_context, g_main_context_unref);
  g_clear_object (&fetch->client_cert);
  g_clear_object (&fetch->session);
  g_free (fetch);
}

EhDpFetch *
eh_dp_fetch_new (const char *upstream, const char *root_fingerprint, const char *host_pem, const char *dir,
                 const char *bundle_json, GHashTable *have, EhDpLibrary *library, EhDpFetchReport report,
                 EhDp *dp, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (upstream, G_URI_FLAGS_NONE, NULL);
  g_autoptr (EhDpFetch) fetch = g_new0 (EhDpFetch, 1);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL ||
      g_uri_get_port (uri) <= 0 || g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[dp] upstream-dp=%s: give https://HOST:PORT", upstream);
    return NULL;
  }
  if (!eh_crypto_parse_fingerprint (root_fingerprint, fetch->root, error))
    return NULL;
  fetch->host = g_strdup (g_uri_get_host (uri));
  fetch->base = g_strdup_printf ("https://%s%s%s:%d", strchr (fetch->host, ':') != NULL ? "[" : "", fetch->host,
                                 strchr (fetch->host, ':') != NULL ? "]" : "", g_uri_get_port (uri));
  fetch->root_text = g_strdup (root_fingerprint);
  fetch->host_pem = g_strdup (host_pem);
  fetch->dir = g_strdup (dir);
  fetch->bundle_json = g_strdup (bundle_json);
  fetch->have = g_hash_table_ref (have);
  fetch->library = library;
  fetch->report = report;
  fetch->dp = eh_dp_ref (dp);
  fetch->main_context = g_main_context_ref_thread_default ();
  return g_steal_pointer (&fetch);
}

void
eh_dp_fetch_set_scope (EhDpFetch *fetch, const char *const *names, GHashTable *force)
{
  g_strfreev (fetch->names);
  fetch->names = names != NULL ? g_strdupv ((char **) names) : NULL;
  g_clear_pointer (&fetch->force, g_hash_table_unref);
  fetch->force = force != NULL ? g_hash_table_ref (force) : NULL;
}

/* ── reports to the main context ─────────────────────────────────────── */

static void
eh_dp_fetch_event_free (EhDpFetchEvent *event)
{
  g_free (event->id);
  g_free (event->state);
  g_free (event->manifest_sha256);
  g_free (event->reason);
  eh_dp_manifest_free (event->manifest);
  g_free (event);
}

typedef struct {
  EhDpFetchReport report;
  EhDp *dp;
  EhDpFetchEvent *event;
} EhDpFetchCall;

static gboolean
eh_dp_fetch_deliver (gpointer data)
{
  EhDpFetchCall *call = data;

  call->report (call->event, call->dp);
  eh_dp_fetch_event_free (call->event);
  eh_dp_unref (call->dp);
  g_free (call);
  return G_SOURCE_REMOVE;
}

/* takes @manifest */
static void
eh_dp_fetch_tell (EhDpFetch *fetch, const char *id, const char *state, guint64 bytes, const char *sha,
                  const char *reason, EhDpManifest *manifest)
{
  EhDpFetchCall *call = g_new0 (EhDpFetchCall, 1);

  call->report = fetch->report;
  call->dp = eh_dp_ref (fetch->dp);
  call->event = g_new0 (EhDpFetchEvent, 1);
  call->event->id = g_strdup (id);
  call->event->state = g_strdup (state);
  call->event->bytes = bytes;
  call->event->manifest_sha256 = g_strdup (sha);
  call->event->reason = g_strdup (reason);
  call->event->manifest = manifest;
  g_main_context_invoke (fetch->main_context, eh_dp_fetch_deliver, call);
}

/* ── HTTP ────────────────────────────────────────────────────────────── */

static gboolean
eh_dp_fetch_accept (SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer user_data)
{
  EhDpFetch *fetch = user_data;
  g_autoptr (GError) error = NULL;

  if (eh_tls_verify_pinned (cert, fetch->root, fetch->root_text, fetch->host, &error))
    return TRUE;
  g_warning ("upstream DP %s refused: %s", fetch->base, error->message);
  return FALSE;
}

/* this host's role certificate on every new connection, before its handshake (as the bus link does) */
static void
eh_dp_fetch_network_event (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection,
                           gpointer user_data)
{
  EhDpFetch *fetch = user_data;

  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CONNECTION (connection))
    g_tls_connection_set_certificate (G_TLS_CONNECTION (connection), fetch->client_cert);
}

static SoupMessage *
eh_dp_fetch_message (EhDpFetch *fetch, const char *path)
{
  g_autofree char *url = g_strconcat (fetch->base, path, NULL);
  SoupMessage *msg = soup_message_new ("GET", url);

  g_signal_connect (msg, "accept-certificate", G_CALLBACK (eh_dp_fetch_accept), fetch);
  g_signal_connect (msg, "network-event", G_CALLBACK (eh_dp_fetch_network_event), fetch);
  return msg;
}

static GBytes *
eh_dp_fetch_small (EhDpFetch *fetch, const char *path, gsize max, GError **error)
{
  g_autoptr (SoupMessage) msg = eh_dp_fetch_message (fetch, path);
  g_autoptr (GInputStream) stream = soup_session_send (fetch->session, msg, NULL, error);
  GBytes *bytes;

  if (stream == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: %u %s", path, soup_message_get_status (msg),
                 soup_message_get_reason_phrase (msg));
    return NULL;
  }
  bytes = eh_input_stream_read_capped (stream, max, error);
  g_input_stream_close (stream, NULL, NULL);
  return bytes;
}

/* ── one body ────────────────────────────────────────────────────────── */

/* hashes the first @len bytes of @fd into @hash */
static gboolean
eh_dp_fetch_hash_existing (int fd, goffset len, gnutls_hash_hd_t hash, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (EH_DP_FETCH_CHUNK);
  goffset done = 0;

  while (done < len) {
    ssize_t n = pread (fd, buffer, MIN (EH_DP_FETCH_CHUNK, len - done), done);

    if (n <= 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot read a staging file: %s",
                   n < 0 ? g_strerror (errno) : "it got shorter");
      return FALSE;
    }
    gnutls_hash (hash, buffer, n);
    done += n;
  }
  return TRUE;
}

static gboolean
eh_dp_fetch_write_all (int fd, const guint8 *data, gsize len, GError **error)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot write a staging file: %s", g_strerror (errno));
      return FALSE;
    }
    data += n;
    len -= n;
  }
  return TRUE;
}

/* asks for the rest of the body from @have on; appends it to @fd (or starts over on a 200) */
static gboolean
eh_dp_fetch_transfer (EhDpFetch *fetch, const EhDpManifestFile *file, int fd, goffset *have, gnutls_hash_hd_t *hash,
                      const char *id, guint64 *content_done, GError **error)
{
  g_autofree char *path = g_strconcat (EH_DP_PULL_BODY_PATH "/", file->sha256, NULL);
  g_autoptr (SoupMessage) msg = eh_dp_fetch_message (fetch, path);
  g_autoptr (GInputStream) stream = NULL;
  g_autofree guint8 *buffer = g_malloc (EH_DP_FETCH_CHUNK);
  guint64 reported = *content_done;
  goffset first = 0, last = 0, total = 0;

  if (*have > 0) {
    g_autofree char *range = g_strdup_printf ("bytes=%" G_GINT64_FORMAT "-", (gint64) *have);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Range", range);
  }
  stream = soup_session_send (fetch->session, msg, NULL, error);
  if (stream == NULL)
    return FALSE;
  if (soup_message_get_status (msg) == SOUP_STATUS_PARTIAL_CONTENT && *have > 0) {
    if (!eh_dp_pull_parse_content_range (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                                       "Content-Range"),
                                         &first, &last, &total) ||
        first != *have || (guint64) total != file->size) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the upstream answered another range");
      return FALSE;
    }
  } else if (soup_message_get_status (msg) == SOUP_STATUS_OK) {
    /* the whole body: start over */
    if (ftruncate (fd, 0) != 0 || lseek (fd, 0, SEEK_SET) != 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot truncate a staging file: %s", g_strerror (errno));
      return FALSE;
    }
    *content_done -= *have;
    *have = 0;
    gnutls_hash_deinit (*hash, NULL);
    if (gnutls_hash_init (hash, GNUTLS_DIG_SHA256) < 0) {
      *hash = NULL;
      g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot start a SHA-256 hash");
      return FALSE;
    }
  } else {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: %u %s", path, soup_message_get_status (msg),
                 soup_message_get_reason_phrase (msg));
    return FALSE;
  }
  if (lseek (fd, *have, SEEK_SET) != *have) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot seek in a staging file");
    return FALSE;
  }
  for (;;) {
    gssize n = g_input_stream_read (stream, buffer, EH_DP_FETCH_CHUNK, NULL, error);

    if (n < 0)
      return FALSE;
    if (n == 0)
      break;
    if ((guint64) *have + n > file->size) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the upstream sent more than the manifest's size");
      return FALSE;
    }
    if (!eh_dp_fetch_write_all (fd, buffer, n, error))
      return FALSE;
    gnutls_hash (*hash, buffer, n);
    *have += n;
    *content_done += n;
    if (*content_done - reported >= EH_DP_FETCH_PROGRESS_STEP) {
      reported = *content_done;
      eh_dp_fetch_tell (fetch, id, "in-progress", reported, "", NULL, NULL);
    }
  }
  g_input_stream_close (stream, NULL, NULL);
  return TRUE;
}

static gboolean
eh_dp_fetch_sync_dir (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gboolean ok = fd >= 0 && fsync (fd) == 0;

  if (!ok)
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot sync %s: %s", path, g_strerror (errno));
  if (fd >= 0)
    close (fd);
  return ok;
}

/* the body of @file into the store: resumed, hashed, synced, renamed; a bad hash deletes the staging file */
static gboolean
eh_dp_fetch_body (EhDpFetch *fetch, const char *id, const EhDpManifestFile *file, gboolean anew,
                  guint64 *content_done, GError **error)
{
  EhDpStore *store = eh_dp_library_get_store (fetch->library);
  g_autofree char *final = eh_dp_store_path (store, file->sha256);
  g_autofree char *shard = g_path_get_dirname (final);
  g_autofree char *staging_dir = g_build_filename (fetch->dir, EH_DP_PULL_STAGING, NULL);
  g_autofree char *name = g_strconcat (file->sha256, ".part", NULL);
  g_autofree char *staging = g_build_filename (staging_dir, name, NULL);
  g_autofree char *actual = NULL;
  gnutls_hash_hd_t hash = NULL;
  guint8 digest[32];
  struct stat st;
  goffset have;
  int fd;
  gboolean ok;

  if (!anew && lstat (final, &st) == 0 && S_ISREG (st.st_mode) && (guint64) st.st_size == file->size) {
    *content_done += file->size;
    return TRUE; /* stored once: another content brought it */
  }
  if (g_mkdir_with_parents (staging_dir, 0700) != 0 || g_mkdir_with_parents (shard, 0700) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot create the staging or store directory: %s",
                 g_strerror (errno));
    return FALSE;
  }
  fd = eh_file_open_partial (staging, file->size, &have, error);
  if (fd < 0)
    return FALSE;
  if (gnutls_hash_init (&hash, GNUTLS_DIG_SHA256) < 0) {
    close (fd);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot start a SHA-256 hash");
    return FALSE;
  }
  ok = eh_dp_fetch_hash_existing (fd, have, hash, error);
  if (ok && have > 0)
    g_info ("content %s: resuming %s at %" G_GINT64_FORMAT " bytes", id, file->sha256, (gint64) have);
  *content_done += MAX (have, 0);
  if (ok && (guint64) have < file->size)
    ok = eh_dp_fetch_transfer (fetch, file, fd, &have, &hash, id, content_done, error);
  if (ok && (guint64) have != file->size) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the upstream sent %" G_GINT64_FORMAT " of %" G_GUINT64_FORMAT
                 " bytes of %s", (gint64) have, file->size, file->path);
    ok = FALSE;
  }
  if (hash != NULL) {
    gnutls_hash_deinit (hash, digest);
    actual = eh_dp_hex (digest, sizeof digest);
  }
  if (ok && strcmp (actual, file->sha256) != 0) {
    /* never kept: the next pull starts this body over */
    unlink (staging);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "hash mismatch for %s: the staged copy was deleted",
                 file->path);
    ok = FALSE;
  }
  if (ok && fsync (fd) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot sync %s: %s", staging, g_strerror (errno));
    ok = FALSE;
  }
  close (fd);
  if (ok && rename (staging, final) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot rename into the store: %s", g_strerror (errno));
    ok = FALSE;
  }
  return ok && eh_dp_fetch_sync_dir (shard, error);
}

/* ── one content ─────────────────────────────────────────────────────── */

static gnutls_pubkey_t
eh_dp_fetch_manifest_key (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  const char *x5t = NULL;

  if (!eh_json_object_get_string_checked (header, "x5t#S256", &x5t, error))
    return NULL;
  return eh_dp_bundle_lookup_site_signer (user_data, x5t, g_get_real_time () / G_USEC_PER_SEC, alg, error);
}

EhDpManifest *
eh_dp_fetch_verify_manifest (const EhDpBundle *bundle, const char *jws, const char *id, const char *sha256,
                             GError **error)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (EhDpManifest) manifest = NULL;
  g_autofree char *actual = g_compute_checksum_for_string (G_CHECKSUM_SHA256, jws, -1);

  if (strcmp (actual, sha256) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the manifest is not the one the library lists");
    return NULL;
  }
  if (!eh_jws_verify (jws, EH_DP_MAX_MANIFEST_BYTES, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA, EH_DP_MANIFEST_TYP,
                      eh_dp_fetch_manifest_key, (gpointer) bundle, NULL, &payload, error))
    return NULL;
  manifest = eh_dp_manifest_from_json (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), error);
  if (manifest == NULL)
    return NULL;
  if (strcmp (manifest->id, id) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the manifest is of content %s", manifest->id);
    return NULL;
  }
  eh_dp_manifest_set_jws (manifest, jws);
  return g_steal_pointer (&manifest);
}

/* (transfer full) the hashes of @manifest, each pinned once */
static GPtrArray *
eh_dp_fetch_pin (EhDpStore *store, const EhDpManifest *manifest)
{
  GPtrArray *pinned = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < manifest->files->len; i++) {
    const EhDpManifestFile *file = g_ptr_array_index (manifest->files, i);

    eh_dp_store_pin (store, file->sha256);
    g_ptr_array_add (pinned, g_strdup (file->sha256));
  }
  return pinned;
}

static void
eh_dp_fetch_unpin (EhDpStore *store, GPtrArray *pinned)
{
  for (guint i = 0; pinned != NULL && i < pinned->len; i++)
    eh_dp_store_unpin (store, g_ptr_array_index (pinned, i));
  g_clear_pointer (&pinned, g_ptr_array_unref);
}

static void
eh_dp_fetch_content (EhDpFetch *fetch, const EhDpBundle *bundle, const char *id, const char *sha256, gboolean anew)
{
  EhDpStore *store = eh_dp_library_get_store (fetch->library);
  GPtrArray *pinned = NULL;
  g_autofree char *path = g_strconcat (EH_DP_PULL_MANIFEST_PATH "/", id, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) jws = NULL;
  g_autofree char *text = NULL;
  g_autoptr (EhDpManifest) manifest = NULL;
  guint64 done = 0;

  eh_dp_fetch_tell (fetch, id, "pending", 0, sha256, NULL, NULL);
  jws = eh_dp_fetch_small (fetch, path, EH_DP_MAX_MANIFEST_BYTES, &error);
  if (jws != NULL) {
    text = g_strndup (g_bytes_get_data (jws, NULL), g_bytes_get_size (jws));
    if (strlen (text) != g_bytes_get_size (jws))
      g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the manifest holds a NUL");
    else
      manifest = eh_dp_fetch_verify_manifest (bundle, text, id, sha256, &error);
  }
  /* pinned before they are looked for: a collection (content remove) running meanwhile
   * never deletes a body this content needs before its manifest is on disk */
  if (manifest != NULL)
    pinned = eh_dp_fetch_pin (store, manifest);
  for (guint i = 0; manifest != NULL && i < manifest->files->len; i++) {
    if (!eh_dp_fetch_body (fetch, id, g_ptr_array_index (manifest->files, i), anew, &done, &error))
      g_clear_pointer (&manifest, eh_dp_manifest_free);
    else
      eh_dp_fetch_tell (fetch, id, "in-progress", done, sha256, NULL, NULL);
  }
  /* the manifest last: before it is on disk, nothing of the content is served */
  if (manifest != NULL && eh_dp_store_sync_dirs (store, &error) &&
      eh_dp_library_write (fetch->library, manifest, &error)) {
    /* read before the steal: arguments are evaluated in no set order */
    guint64 size = manifest->size;

    g_message ("content %s %s installed from %s (%" G_GUINT64_FORMAT " bytes)", id, manifest->version,
               fetch->base, size);
    eh_dp_fetch_tell (fetch, id, "installed", size, sha256, NULL, g_steal_pointer (&manifest));
    eh_dp_fetch_unpin (store, pinned);
    return;
  }
  eh_dp_fetch_unpin (store, pinned);
  g_warning ("content %s: pull from %s failed: %s", id, fetch->base, error->message);
  eh_dp_fetch_tell (fetch, id, "failed", done, sha256, error->message, NULL);
}

static gboolean
eh_dp_fetch_run (EhDpFetch *fetch, GError **error)
{
  g_autoptr (EhDpBundle) bundle = NULL;
  g_autoptr (GBytes) listing = NULL;
  g_autoptr (GHashTable) library = NULL;
  GHashTableIter iter;
  gpointer id, sha;

  bundle = eh_dp_bundle_parse (fetch->bundle_json, strlen (fetch->bundle_json),
                               g_get_real_time () / G_USEC_PER_SEC, error);
  if (bundle == NULL)
    return FALSE;
  fetch->client_cert = g_tls_certificate_new_from_file (fetch->host_pem, error);
  if (fetch->client_cert == NULL)
    return FALSE;
  /* no proxy: the system's resolver would watch settings from this short-lived thread's context */
  fetch->session = soup_session_new_with_options ("timeout", 60, "idle-timeout", 30, "max-conns-per-host", 1,
                                                  "proxy-resolver", NULL, NULL);
  listing = eh_dp_fetch_small (fetch, EH_DP_PULL_LIBRARY_PATH, EH_DP_PULL_LIBRARY_MAX_BYTES, error);
  if (listing == NULL ||
      (library = eh_dp_pull_library_parse (g_bytes_get_data (listing, NULL), g_bytes_get_size (listing),
                                           (const char *const *) fetch->names, error)) == NULL)
    return FALSE;
  /* what is held here and no longer wanted (removed upstream, or no longer assigned) goes */
  g_hash_table_iter_init (&iter, fetch->have);
  while (g_hash_table_iter_next (&iter, &id, NULL)) {
    if (!g_hash_table_contains (library, id))
      eh_dp_fetch_tell (fetch, id, "removed", 0, "", NULL, NULL);
  }
  g_hash_table_iter_init (&iter, library);
  while (g_hash_table_iter_next (&iter, &id, &sha)) {
    gboolean anew = fetch->force != NULL && g_hash_table_contains (fetch->force, id);

    if (anew || g_strcmp0 (g_hash_table_lookup (fetch->have, id), sha) != 0)
      eh_dp_fetch_content (fetch, bundle, id, sha, anew);
  }
  return TRUE;
}

static void
eh_dp_fetch_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpFetch *fetch = task_data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  GError *error = NULL;
  gboolean ok;

  /* a context of this thread's own: the session's sockets never touch the main context */
  g_main_context_push_thread_default (context);
  ok = eh_dp_fetch_run (fetch, &error);
  if (fetch->session != NULL)
    soup_session_abort (fetch->session);
  g_clear_object (&fetch->session);
  /* let what the session left on this context finish before the context goes */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
eh_dp_fetch_start (EhDpFetch *fetch, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_task_data (task, fetch, (GDestroyNotify) eh_dp_fetch_free);
  g_task_run_in_thread (task, eh_dp_fetch_thread);
}

gboolean
eh_dp_fetch_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
