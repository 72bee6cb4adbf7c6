/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * What a download gets, decided once for both ways of answering (libsoup's
 * and the front's quick answers): the token (401/403), the path through the
 * manifest to a body named by its hash (400/404), then conditional requests
 * and one strict Range. Nothing here writes to a client; the caller carries
 * out the EhDpAnswer, and logs its refusal with the request's id.
 */

static void
eh_dp_answer_text (EhDpAnswer *answer, guint status, const char *text)
{
  answer->kind = EH_DP_ANSWER_TEXT;
  answer->status = status;
  answer->text = text;
}

/* a refusal worth a log line (the token's own errors) */
static void
eh_dp_answer_refuse (EhDpAnswer *answer, guint status, const char *text, const GError *error)
{
  eh_dp_answer_text (answer, status, text);
  answer->refusal = g_strdup (error->message);
}

/* the verified token of the request (cached), or NULL with the answer set */
static EhDpToken *
eh_dp_decide_token (EhDp *dp, const EhDpAsk *ask, EhDpAnswer *answer)
{
  g_autoptr (GError) error = NULL;
  EhDpToken *token;

  if (ask->authorization == NULL || g_ascii_strncasecmp (ask->authorization, "Bearer ", 7) != 0) {
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "no bearer token");
    eh_dp_answer_refuse (answer, SOUP_STATUS_UNAUTHORIZED, "invalid or missing content token", error);
    answer->www_authenticate = TRUE;
    return NULL;
  }
  if (dp->bundle == NULL) {
    eh_dp_answer_text (answer, SOUP_STATUS_SERVICE_UNAVAILABLE, "no trust bundle yet");
    return NULL;
  }
  token = eh_dp_token_cache_check (dp->tokens, dp->bundle, ask->authorization + 7,
                                   (const char *const *) dp->names, g_get_real_time () / G_USEC_PER_SEC,
                                   &error);
  if (token == NULL) {
    if (g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED)) {
      eh_dp_answer_refuse (answer, SOUP_STATUS_FORBIDDEN, "the token is not meant for this DP", error);
    } else {
      eh_dp_answer_refuse (answer, SOUP_STATUS_UNAUTHORIZED, "invalid or missing content token", error);
      answer->www_authenticate = TRUE;
    }
  }
  return token;
}

/* does an If-None-Match list name @etag? (weak comparison, RFC 9110 §13.1.2) */
static gboolean
eh_dp_decide_etag_listed (const char *list, const char *etag)
{
  g_auto (GStrv) tags = g_strsplit (list, ",", 64);

  for (guint i = 0; tags[i] != NULL; i++) {
    const char *tag = g_strstrip (tags[i]);

    if (g_str_has_prefix (tag, "W/"))
      tag += 2;
    if (strcmp (tag, "*") == 0 || strcmp (tag, etag) == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
eh_dp_decide_not_modified (const EhDpAsk *ask, const char *etag, gint64 modified)
{
  g_autoptr (GDateTime) since = NULL;

  if (ask->if_none_match != NULL)
    return eh_dp_decide_etag_listed (ask->if_none_match, etag);
  if (ask->if_modified_since == NULL ||
      (since = soup_date_time_new_from_http_string (ask->if_modified_since)) == NULL)
    return FALSE;
  return modified <= g_date_time_to_unix (since);
}

/* If-Range: the Range applies only when it names this very representation (strong) */
static gboolean
eh_dp_decide_if_range (const EhDpAsk *ask, const char *etag, const char *last_modified)
{
  if (ask->if_range == NULL)
    return TRUE;
  if (ask->if_range[0] == '"' || g_str_has_prefix (ask->if_range, "W/"))
    return strcmp (ask->if_range, etag) == 0;
  return strcmp (ask->if_range, last_modified) == 0;
}

void
eh_dp_decide_file (EhDp *dp, const EhDpAsk *ask, const EhDpManifest *manifest,
                   const EhDpManifestFile *file, EhDpAnswer *answer)
{
  g_autoptr (GArray) ranges = NULL;
  EhRangeResult result = EH_RANGE_FULL;
  goffset size = file->size;

  answer->file = file;
  answer->etag = file->etag;
  answer->last_modified = manifest->last_modified != NULL ? manifest->last_modified : "";
  if (eh_dp_decide_not_modified (ask, file->etag, manifest->created)) {
    answer->kind = EH_DP_ANSWER_NOT_MODIFIED;
    answer->status = SOUP_STATUS_NOT_MODIFIED;
    return;
  }
  if (ask->range != NULL && eh_dp_decide_if_range (ask, file->etag, answer->last_modified))
    result = eh_range_parse (ask->range, size, 1, &ranges);
  if (result == EH_RANGE_UNSATISFIABLE) {
    answer->content_range = g_strdup_printf ("bytes */%" G_GINT64_FORMAT, (gint64) size);
    eh_dp_answer_text (answer, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, "range not satisfiable");
    return;
  }
  answer->kind = EH_DP_ANSWER_BODY;
  answer->status = SOUP_STATUS_OK;
  answer->first = 0;
  answer->length = size;
  if (result == EH_RANGE_PARTIAL) {
    const EhByteRange *r = &g_array_index (ranges, EhByteRange, 0);

    answer->content_range = g_strdup_printf ("bytes %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                             (gint64) r->first, (gint64) r->last, (gint64) size);
    answer->status = SOUP_STATUS_PARTIAL_CONTENT;
    answer->first = r->first;
    answer->length = r->last - r->first + 1;
  }
  answer->cached = eh_dp_body_cache_lookup (dp, file);
}

void
eh_dp_decide_download (EhDp *dp, const EhDpAsk *ask, EhDpAnswer *answer)
{
  const char *subpath = ask->subpath;
  g_autoptr (EhDpToken) token = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  const char *slash, *granted;
  const EhDpManifest *manifest;
  const EhDpManifestFile *file;

  memset (answer, 0, sizeof *answer);
  if (!ask->anonymous && (token = eh_dp_decide_token (dp, ask, answer)) == NULL)
    return;
  slash = subpath[0] == '/' ? strchr (subpath + 1, '/') : NULL;
  if (slash == NULL || (id = g_strndup (subpath + 1, slash - subpath - 1), !eh_dp_content_id_is_valid (id)) ||
      (path = eh_dp_path_decode (slash + 1, &error)) == NULL) {
    eh_dp_answer_text (answer, SOUP_STATUS_BAD_REQUEST,
                       "ask for " EH_DP_DOWNLOAD_PREFIX "/<content id>/<path of a file in its manifest>");
    return;
  }
  granted = token != NULL ? g_hash_table_lookup (token->contents, id) : NULL;
  if (token != NULL && granted == NULL) {
    eh_dp_answer_text (answer, SOUP_STATUS_FORBIDDEN, "the token does not grant this content");
    return;
  }
  manifest = eh_dp_library_lookup (dp->library, id);
  if (manifest == NULL || manifest->etag == NULL) {
    eh_dp_answer_text (answer, SOUP_STATUS_NOT_FOUND, "no such content on this DP");
    return;
  }
  /* the etag is the quoted SHA-256 of the signed manifest: the version the token grants */
  if (granted != NULL && (strlen (manifest->etag) != EH_DP_SHA256_HEX + 2 ||
                          strncmp (manifest->etag + 1, granted, EH_DP_SHA256_HEX) != 0)) {
    eh_dp_answer_text (answer, SOUP_STATUS_FORBIDDEN, "the token grants another version of this content");
    return;
  }
  file = eh_dp_manifest_find (manifest, path);
  if (file == NULL) {
    eh_dp_answer_text (answer, SOUP_STATUS_NOT_FOUND, "no such file in this content");
    return;
  }
  answer->manifest = manifest;
  eh_dp_decide_file (dp, ask, manifest, file, answer);
}

void
eh_dp_ask_init (EhDpAsk *ask, const char *subpath, gboolean anonymous, const char *range,
                EhDpHeaderFunc header, gpointer request)
{
  ask->subpath = subpath;
  ask->anonymous = anonymous;
  ask->authorization = header (request, "Authorization");
  ask->if_none_match = header (request, "If-None-Match");
  ask->if_modified_since = header (request, "If-Modified-Since");
  ask->if_range = header (request, "If-Range");
  ask->range = range;
}

void
eh_dp_answer_headers (const EhDpAnswer *answer, EhDpAddHeaderFunc add, gpointer target)
{
  if (answer->www_authenticate)
    add (target, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
  if (answer->file != NULL) {
    add (target, "ETag", answer->etag);
    add (target, "Last-Modified", answer->last_modified);
    add (target, "Accept-Ranges", "bytes");
  }
  if (answer->content_range != NULL)
    add (target, "Content-Range", answer->content_range);
}

void
eh_dp_answer_clear (EhDpAnswer *answer)
{
  g_clear_pointer (&answer->content_range, g_free);
  g_clear_pointer (&answer->refusal, g_free);
}

void
eh_dp_answer_log (const EhDpAnswer *answer, const char *request_id)
{
  if (answer->refusal != NULL)
    g_info ("download %s refused: %s", request_id, answer->refusal);
}
