/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * A download path is a key into the content's manifest, never a file name:
 * it is decoded once, segment by segment, refused on anything a traversal
 * or a confused decoder could use, and then looked up in the manifest,
 * whose entry names the body by its hash.
 */

static gboolean
eh_dp_path_refuse (GError **error, const char *why)
{
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "malformed path: %s", why);
  return FALSE;
}

/* decodes one segment [start, end) onto @out */
static gboolean
eh_dp_path_segment (const char *start, const char *end, GString *out, GError **error)
{
  gsize begin = out->len;

  if (start == end)
    return eh_dp_path_refuse (error, "empty segment");
  for (const char *p = start; p < end; p++) {
    guchar c = *p;

    if (c == '%') {
      if (end - p < 3 || !g_ascii_isxdigit (p[1]) || !g_ascii_isxdigit (p[2]))
        return eh_dp_path_refuse (error, "a stray %");
      c = g_ascii_xdigit_value (p[1]) << 4 | g_ascii_xdigit_value (p[2]);
      p += 2;
      /* decoded once only: a % that appears now was encoded twice */
      if (c == '%' || c == '/')
        return eh_dp_path_refuse (error, "an encoded % or /");
    }
    if (c < 0x20 || c == 0x7f || c == '\\')
      return eh_dp_path_refuse (error, "a control character or backslash");
    g_string_append_c (out, c);
  }
  if (strcmp (out->str + begin, ".") == 0 || strcmp (out->str + begin, "..") == 0)
    return eh_dp_path_refuse (error, "a dot segment");
  return TRUE;
}

char *
eh_dp_path_decode (const char *raw, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *start = raw;

  if (raw == NULL || raw[0] == '\0' || strlen (raw) > 3 * EH_DP_MAX_PATH_BYTES) {
    eh_dp_path_refuse (error, "empty or too long");
    return NULL;
  }
  for (;;) {
    const char *end = strchr (start, '/');

    if (end == NULL)
      end = start + strlen (start);
    if (!eh_dp_path_segment (start, end, out, error))
      return NULL;
    if (*end == '\0')
      break;
    g_string_append_c (out, '/');
    start = end + 1;
  }
  if (out->len > EH_DP_MAX_PATH_BYTES || !g_utf8_validate (out->str, out->len, NULL)) {
    eh_dp_path_refuse (error, "too long or not UTF-8");
    return NULL;
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

const EhDpManifestFile *
eh_dp_manifest_find (const EhDpManifest *manifest, const char *path)
{
  guint low = 0, high = manifest->files->len;

  /* the files are sorted by strcmp of their paths (eh_dp_manifest_from_json checks it) */
  while (low < high) {
    guint mid = low + (high - low) / 2;
    const EhDpManifestFile *file = g_ptr_array_index (manifest->files, mid);
    int cmp = strcmp (path, file->path);

    if (cmp == 0)
      return file;
    if (cmp < 0)
      high = mid;
    else
      low = mid + 1;
  }
  return NULL;
}
