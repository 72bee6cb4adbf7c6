/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * A content's manifest, the payload the site signing key signs:
 *   { "id": "PS100001", "name": "…", "version": "1", "created": 1767225600,
 *     "size": 123, "files": [ { "path": "a/b.msi", "size": 123, "sha256": "…" } ] }
 * Files are sorted by path, and a path appears once. What a DP reads back
 * (its own files, or later a manifest fetched from upstream) is checked as
 * hostile: strict JSON, every field's grammar.
 */

static void
eh_dp_manifest_file_free (EhDpManifestFile *file)
{
  g_free (file->path);
  g_free (file->sha256);
  g_free (file->etag);
  g_free (file);
}

EhDpManifest *
eh_dp_manifest_new (const char *id, const char *name, const char *version, gint64 created)
{
  EhDpManifest *manifest = g_new0 (EhDpManifest, 1);
  GDateTime *created_utc;

  manifest->id = g_strdup (id);
  manifest->name = g_strdup (name);
  manifest->version = g_strdup (version);
  manifest->created = created;
  manifest->files = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_dp_manifest_file_free);
  created_utc = g_date_time_new_from_unix_utc (created);
  manifest->last_modified = created_utc != NULL ? soup_date_time_to_string (created_utc, SOUP_DATE_HTTP) : NULL;
  g_clear_pointer (&created_utc, g_date_time_unref);
  return manifest;
}

void
eh_dp_manifest_free (EhDpManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_free (manifest->id);
  g_free (manifest->name);
  g_free (manifest->version);
  g_ptr_array_unref (manifest->files);
  g_free (manifest->jws);
  g_free (manifest->etag);
  g_free (manifest->last_modified);
  g_free (manifest);
}

void
eh_dp_manifest_add_file (EhDpManifest *manifest, const char *path, guint64 size, const char *sha256_hex)
{
  EhDpManifestFile *file = g_new0 (EhDpManifestFile, 1);

  file->path = g_strdup (path);
  file->size = size;
  file->sha256 = g_strdup (sha256_hex);
  file->etag = g_strconcat ("\"", sha256_hex, "\"", NULL);
  g_ptr_array_add (manifest->files, file);
  manifest->size += size;
}

void
eh_dp_manifest_set_jws (EhDpManifest *manifest, const char *jws)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, jws, -1);

  g_free (manifest->jws);
  g_free (manifest->etag);
  manifest->jws = g_strdup (jws);
  manifest->etag = g_strdup_printf ("\"%s\"", hash);
}

gboolean
eh_dp_content_id_is_valid (const char *id)
{
  if (id == NULL || strlen (id) != 8)
    return FALSE;
  for (guint i = 0; i < 8; i++) {
    gboolean upper_or_digit = g_ascii_isdigit (id[i]) || (id[i] >= 'A' && id[i] <= 'Z');

    if (i < 3 ? !upper_or_digit : !g_ascii_isdigit (id[i]))
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_dp_site_code_is_valid (const char *code)
{
  if (code == NULL || strlen (code) != 3)
    return FALSE;
  for (guint i = 0; i < 3; i++) {
    if (!g_ascii_isdigit (code[i]) && !(code[i] >= 'A' && code[i] <= 'Z'))
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_dp_content_name_is_valid (const char *name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > EH_DP_MAX_NAME_BYTES || !g_utf8_validate (name, len, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p)) {
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_dp_content_version_is_valid (const char *version)
{
  return eh_text_is_word (version, 1, EH_DP_MAX_VERSION_BYTES, "._+-");
}

static int
eh_dp_file_compare (gconstpointer a, gconstpointer b)
{
  const EhDpManifestFile *fa = *(EhDpManifestFile *const *) a;
  const EhDpManifestFile *fb = *(EhDpManifestFile *const *) b;

  return strcmp (fa->path, fb->path);
}

GBytes *
eh_dp_manifest_to_json (const EhDpManifest *manifest)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  gsize len = 0;
  char *text;

  g_ptr_array_sort (manifest->files, eh_dp_file_compare);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, manifest->id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, manifest->name);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, manifest->version);
  json_builder_set_member_name (builder, "created");
  json_builder_add_int_value (builder, manifest->created);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64) manifest->size);
  json_builder_set_member_name (builder, "files");
  json_builder_begin_array (builder);
  for (guint i = 0; i < manifest->files->len; i++) {
    const EhDpManifestFile *file = g_ptr_array_index (manifest->files, i);

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "path");
    json_builder_add_string_value (builder, file->path);
    json_builder_set_member_name (builder, "size");
    json_builder_add_int_value (builder, (gint64) file->size);
    json_builder_set_member_name (builder, "sha256");
    json_builder_add_string_value (builder, file->sha256);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  return g_bytes_new_take (text, len);
}

static gboolean
eh_dp_manifest_fail (GError **error, const char *what)
{
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "manifest: %s", what);
  return FALSE;
}

/* a size: a JSON integer in 0 … 2^53 */
static gboolean
eh_dp_manifest_get_size (JsonObject *object, const char *member, guint64 *out, GError **error)
{
  gint64 value = 0;

  if (!eh_json_object_get_int_checked (object, member, &value, error))
    return FALSE;
  if (value < 0)
    return eh_dp_manifest_fail (error, "a size is negative");
  *out = value;
  return TRUE;
}

static gboolean
eh_dp_manifest_read_files (EhDpManifest *manifest, JsonArray *files, GError **error)
{
  guint n = json_array_get_length (files);
  guint64 total = 0;

  if (n == 0 || n > EH_DP_MAX_FILES)
    return eh_dp_manifest_fail (error, "files must hold 1 to 10000 entries");
  for (guint i = 0; i < n; i++) {
    JsonNode *node = json_array_get_element (files, i);
    JsonObject *file = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    const char *path = NULL, *sha256 = NULL;
    guint64 size = 0;

    if (file == NULL || json_object_get_size (file) != 3)
      return eh_dp_manifest_fail (error, "a file entry must have exactly path, size and sha256");
    if (!eh_json_object_get_string_checked (file, "path", &path, error) ||
        !eh_json_object_get_string_checked (file, "sha256", &sha256, error) ||
        !eh_dp_manifest_get_size (file, "size", &size, error))
      return FALSE;
    if (!eh_dp_content_path_is_valid (path))
      return eh_dp_manifest_fail (error, "a file path is not a safe relative path");
    if (!eh_dp_sha256_hex_is_valid (sha256))
      return eh_dp_manifest_fail (error, "a sha256 is not 64 lower-case hex digits");
    if (i > 0 && strcmp (((EhDpManifestFile *) g_ptr_array_index (manifest->files, i - 1))->path, path) >= 0)
      return eh_dp_manifest_fail (error, "files are not sorted by path, or a path repeats");
    eh_dp_manifest_add_file (manifest, path, size, sha256);
    total += size;
  }
  if (total != manifest->size)
    return eh_dp_manifest_fail (error, "size is not the sum of the file sizes");
  return TRUE;
}

EhDpManifest *
eh_dp_manifest_from_json (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonNode) root = eh_json_parse_strict (data, len, EH_DP_MAX_MANIFEST_BYTES, 4, error);
  JsonObject *object;
  JsonNode *files;
  const char *id = NULL, *name = NULL, *version = NULL;
  gint64 created = 0;
  guint64 size = 0;
  g_autoptr (EhDpManifest) manifest = NULL;

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root) || json_object_get_size (object = json_node_get_object (root)) != 6) {
    eh_dp_manifest_fail (error, "must be an object with exactly id, name, version, created, size, files");
    return NULL;
  }
  if (!eh_json_object_get_string_checked (object, "id", &id, error) ||
      !eh_json_object_get_string_checked (object, "name", &name, error) ||
      !eh_json_object_get_string_checked (object, "version", &version, error) ||
      !eh_json_object_get_int_checked (object, "created", &created, error) ||
      !eh_dp_manifest_get_size (object, "size", &size, error))
    return NULL;
  if (!eh_dp_content_id_is_valid (id) || !eh_dp_content_name_is_valid (name) ||
      !eh_dp_content_version_is_valid (version) || created < 0) {
    eh_dp_manifest_fail (error, "id, name, version or created is malformed");
    return NULL;
  }
  files = json_object_get_member (object, "files");
  if (files == NULL || !JSON_NODE_HOLDS_ARRAY (files)) {
    eh_dp_manifest_fail (error, "files must be an array");
    return NULL;
  }
  manifest = eh_dp_manifest_new (id, name, version, created);
  manifest->size = 0;
  if (!eh_dp_manifest_read_files (manifest, json_node_get_array (files), error))
    return NULL;
  if (manifest->size != size) {
    eh_dp_manifest_fail (error, "size is not the sum of the file sizes");
    return NULL;
  }
  return g_steal_pointer (&manifest);
}

EhDpManifest *
eh_dp_manifest_from_jws (const char *jws, GError **error)
{
  const char *first = strchr (jws, '.');
  const char *second = first != NULL ? strchr (first + 1, '.') : NULL;
  g_autoptr (GBytes) payload = NULL;
  EhDpManifest *manifest;

  if (second == NULL || strchr (second + 1, '.') != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "manifest: not a compact JWS");
    return NULL;
  }
  payload = eh_base64url_decode (first + 1, second - first - 1, EH_DP_MAX_MANIFEST_BYTES * 4 / 3 + 4,
                                 error);
  if (payload == NULL)
    return NULL;
  manifest = eh_dp_manifest_from_json (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), error);
  if (manifest != NULL)
    eh_dp_manifest_set_jws (manifest, jws);
  return manifest;
}
