/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * What a DP serves to the DPs below it, over HTTPS, only to a client that
 * presents a role certificate of this site with the dp role (checked here
 * against the trust bundle: the front asks every client for a certificate
 * and verifies none):
 *
 *   GET /ehttpd/dp/library           {"contents":[{"id":…,"manifest-sha256":…}]}
 *   GET /ehttpd/dp/manifest/<id>     the signed manifest (compact JWS)
 *   GET /ehttpd/dp/pull/<sha256>     a store body, with one strict Range (resume)
 *
 * The library answers over HTTP rather than the bus, whose messages are
 * capped at 1 MiB. Also here: the parsers an edge runs on the answers.
 */

/* the caller holds a dp role certificate of this site; otherwise answers 403 (or 503) */
static gboolean
eh_dp_pull_authorized (EhDp *dp, EhRequest *request)
{
  GTlsCertificate *peer = eh_request_get_peer_certificate (request);
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;

  if (dp->bundle == NULL) {
    eh_request_respond_text (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "no trust bundle yet");
    return FALSE;
  }
  if (peer == NULL) {
    g_info ("pull %s refused: no client certificate", eh_request_get_id (request));
    eh_request_respond_text (request, SOUP_STATUS_FORBIDDEN, "a dp role certificate of this site is needed");
    return FALSE;
  }
  g_object_get (peer, "certificate", &der, NULL);
  bytes = g_bytes_new (der->data, der->len);
  if (!eh_dp_bundle_check_role_cert (dp->bundle, bytes, "dp", g_get_real_time () / G_USEC_PER_SEC, &error)) {
    g_info ("pull %s refused: %s", eh_request_get_id (request), error->message);
    eh_request_respond_text (request, SOUP_STATUS_FORBIDDEN, "a dp role certificate of this site is needed");
    return FALSE;
  }
  return TRUE;
}

GBytes *
eh_dp_pull_library_to_json (GPtrArray *manifests, EhDpAssignments *assignments)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  gsize len = 0;
  char *text;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "contents");
  json_builder_begin_array (builder);
  for (guint i = 0; i < manifests->len; i++) {
    const EhDpManifest *manifest = g_ptr_array_index (manifests, i);
    const char *const *dps;
    char sha[EH_DP_SHA256_HEX + 1];

    if (manifest->etag == NULL || strlen (manifest->etag) != EH_DP_SHA256_HEX + 2)
      continue;
    /* the etag is the quoted SHA-256 of the signed manifest */
    memcpy (sha, manifest->etag + 1, EH_DP_SHA256_HEX);
    sha[EH_DP_SHA256_HEX] = '\0';
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "id");
    json_builder_add_string_value (builder, manifest->id);
    json_builder_set_member_name (builder, "manifest-sha256");
    json_builder_add_string_value (builder, sha);
    dps = assignments != NULL ? eh_dp_assignments_get (assignments, manifest->id) : NULL;
    if (dps != NULL) {
      json_builder_set_member_name (builder, "dps");
      json_builder_begin_array (builder);
      for (guint j = 0; dps[j] != NULL; j++)
        json_builder_add_string_value (builder, dps[j]);
      json_builder_end_array (builder);
    }
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  return g_bytes_new_take (text, len);
}

/* the entry's "dps", when it has one, is an array of valid DP names; does it name one of @names? */
static gboolean
eh_dp_pull_entry_assigned (JsonObject *entry, const char *const *names, gboolean *assigned)
{
  JsonNode *node = json_object_get_member (entry, "dps");
  JsonArray *dps;

  *assigned = FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (dps = json_node_get_array (node)) > EH_DP_ASSIGN_MAX_DPS)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (dps); i++) {
    JsonNode *element = json_array_get_element (dps, i);
    const char *name = JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING
                         ? json_node_get_string (element)
                         : NULL;

    if (!eh_dp_name_is_valid (name))
      return FALSE;
    if (eh_dp_names_contain (names, name))
      *assigned = TRUE;
  }
  return TRUE;
}

GHashTable *
eh_dp_pull_library_parse (const char *data, gsize len, const char *const *names, GError **error)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict (data, len, EH_DP_PULL_LIBRARY_MAX_BYTES, 4, error);
  g_autoptr (GHashTable) library = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonNode *contents;
  JsonArray *array;

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node) ||
      (contents = json_object_get_member (json_node_get_object (node), "contents")) == NULL ||
      !JSON_NODE_HOLDS_ARRAY (contents) ||
      json_array_get_length (array = json_node_get_array (contents)) > EH_DP_PULL_LIBRARY_MAX_CONTENTS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "the library is not {\"contents\": [at most %d contents]}", EH_DP_PULL_LIBRARY_MAX_CONTENTS);
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *element = json_array_get_element (array, i);
    const char *id = NULL, *sha = NULL;
    gboolean assigned = FALSE;

    if (!JSON_NODE_HOLDS_OBJECT (element) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "id", &id, NULL) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "manifest-sha256", &sha, NULL) ||
        !eh_dp_content_id_is_valid (id) || !eh_dp_sha256_hex_is_valid (sha) ||
        !eh_dp_pull_entry_assigned (json_node_get_object (element), names, &assigned)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "library entry %u is not {id, manifest-sha256, dps: [at most %d DP names]}", i,
                   EH_DP_ASSIGN_MAX_DPS);
      return NULL;
    }
    if (g_hash_table_contains (library, id)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "content %s is listed twice", id);
      return NULL;
    }
    if (names != NULL && !assigned)
      continue;
    g_hash_table_insert (library, g_strdup (id), g_strdup (sha));
  }
  return g_steal_pointer (&library);
}

/* digits only, no sign, no leading '+', at most 19 of them (fits a goffset) */
static gboolean
eh_dp_pull_parse_offset (const char *text, gsize len, goffset *out)
{
  guint64 value = 0;

  if (len == 0 || len > 18)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return TRUE;
}

gboolean
eh_dp_pull_parse_content_range (const char *value, goffset *first, goffset *last, goffset *total)
{
  const char *dash, *slash;

  if (value == NULL || !g_str_has_prefix (value, "bytes ") || strlen (value) > 64)
    return FALSE;
  value += 6;
  dash = strchr (value, '-');
  slash = dash != NULL ? strchr (dash, '/') : NULL;
  if (slash == NULL || !eh_dp_pull_parse_offset (value, dash - value, first) ||
      !eh_dp_pull_parse_offset (dash + 1, slash - dash - 1, last) ||
      !eh_dp_pull_parse_offset (slash + 1, strlen (slash + 1), total))
    return FALSE;
  return *first <= *last && *last < *total;
}

static void
eh_dp_pull_library (EhRequest *request, gpointer user_data)
{
  EhDp *dp = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GBytes) body = NULL;

  if (!eh_dp_pull_authorized (dp, request))
    return;
  if (eh_request_get_subpath (request)[0] != '\0') {
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "ask for /ehttpd/dp/library");
    return;
  }
  all = eh_dp_library_list (dp->library);
  body = eh_dp_pull_library_to_json (all, dp->assignments);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, g_bytes_get_data (body, NULL),
                                    g_bytes_get_size (body));
}

static void
eh_dp_pull_manifest (EhRequest *request, gpointer user_data)
{
  EhDp *dp = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  const char *subpath = eh_request_get_subpath (request);
  const EhDpManifest *manifest;

  if (!eh_dp_pull_authorized (dp, request))
    return;
  if (subpath[0] != '/' || !eh_dp_content_id_is_valid (subpath + 1)) {
    eh_request_respond_text (request, SOUP_STATUS_BAD_REQUEST, "ask for /ehttpd/dp/manifest/<content id>");
    return;
  }
  manifest = eh_dp_library_lookup (dp->library, subpath + 1);
  if (manifest == NULL || manifest->jws == NULL) {
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "no such content");
    return;
  }
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "ETag", manifest->etag);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/jose", SOUP_MEMORY_COPY, manifest->jws,
                                    strlen (manifest->jws));
}

static void
eh_dp_pull_body (EhRequest *request, gpointer user_data)
{
  EhDp *dp = user_data;
  const char *subpath = eh_request_get_subpath (request);
  g_autoptr (GPtrArray) all = NULL;

  if (!eh_dp_pull_authorized (dp, request))
    return;
  if (subpath[0] != '/' || !eh_dp_sha256_hex_is_valid (subpath + 1)) {
    eh_request_respond_text (request, SOUP_STATUS_BAD_REQUEST, "ask for /ehttpd/dp/pull/<64 hex sha256>");
    return;
  }
  /* only bodies an installed manifest names: never a staging file, never a body mid-collection */
  all = eh_dp_library_list (dp->library);
  for (guint i = 0; i < all->len; i++) {
    const EhDpManifest *manifest = g_ptr_array_index (all, i);

    for (guint j = 0; j < manifest->files->len; j++) {
      const EhDpManifestFile *file = g_ptr_array_index (manifest->files, j);

      if (strcmp (file->sha256, subpath + 1) == 0) {
        eh_dp_download_serve (dp, request, manifest, file, &dp->active_pulls);
        return;
      }
    }
  }
  eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "no such body on this DP");
}

gboolean
eh_dp_pull_start (EhDp *dp, GError **error)
{
  const EhEndpoint endpoints[] = {
    { "GET", EH_DP_PULL_LIBRARY_PATH, EH_SCHEME_HTTPS, 0, eh_dp_pull_library },
    { "GET", EH_DP_PULL_MANIFEST_PATH, EH_SCHEME_HTTPS, 0, eh_dp_pull_manifest },
    { "GET", EH_DP_PULL_BODY_PATH, EH_SCHEME_HTTPS, 0, eh_dp_pull_body },
  };

  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (dp->plugin, &endpoints[i], dp, error))
      return FALSE;
  }
  return TRUE;
}
