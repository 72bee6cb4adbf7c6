/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "eh-error.h"
#include "eh-json.h"

/*
 * One pass over the text with an explicit stack, so depth costs no C
 * stack. Each open object keeps the set of its decoded keys to refuse
 * duplicates. Only text that passes is handed to json-glib.
 */

#define EH_JSON_MAX_SAFE_INTEGER "9007199254740992" /* 2^53 */

typedef struct {
  const guchar *p;
  const guchar *end;
  GPtrArray *objects; /* one GHashTable of keys per open object, NULL for arrays */
  guint max_depth;
  const char *problem;
} EhJsonScan;

static void
eh_json_skip_space (EhJsonScan *scan)
{
  while (scan->p < scan->end && (*scan->p == ' ' || *scan->p == '\t' || *scan->p == '\n' || *scan->p == '\r'))
    scan->p++;
}

static gboolean
eh_json_fail (EhJsonScan *scan, const char *problem)
{
  if (scan->problem == NULL)
    scan->problem = problem;
  return FALSE;
}

static int
eh_json_hex4 (const guchar *p)
{
  int value = 0;

  for (int i = 0; i < 4; i++) {
    if (!g_ascii_isxdigit (p[i]))
      return -1;
    value = value * 16 + g_ascii_xdigit_value (p[i]);
  }
  return value;
}

/* a \u escape (with its pair for surrogates); appends the UTF-8 to @out */
static gboolean
eh_json_unicode_escape (EhJsonScan *scan, GString *out)
{
  int unit, low;

  if (scan->end - scan->p < 5 || (unit = eh_json_hex4 (scan->p + 1)) < 0)
    return eh_json_fail (scan, "bad \\u escape");
  scan->p += 5;
  if (unit == 0)
    return eh_json_fail (scan, "\\u0000 is not allowed");
  if (unit >= 0xdc00 && unit <= 0xdfff)
    return eh_json_fail (scan, "lone low surrogate");
  if (unit >= 0xd800 && unit <= 0xdbff) {
    if (scan->end - scan->p < 6 || scan->p[0] != '\\' || scan->p[1] != 'u' ||
        (low = eh_json_hex4 (scan->p + 2)) < 0xdc00 || low > 0xdfff)
      return eh_json_fail (scan, "unpaired high surrogate");
    scan->p += 6;
    unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
  }
  if (out != NULL)
    g_string_append_unichar (out, unit);
  return TRUE;
}

/* a string; @out collects the decoded text when not NULL */
static gboolean
eh_json_string (EhJsonScan *scan, GString *out)
{
  scan->p++; /* the opening quote */
  while (scan->p < scan->end) {
    guchar c = *scan->p;

    if (c == '"') {
      scan->p++;
      return TRUE;
    }
    if (c < 0x20)
      return eh_json_fail (scan, "control character in a string");
    if (c == '\\') {
      if (scan->p + 1 >= scan->end)
        break;
      if (scan->p[1] == 'u') {
        scan->p++;
        if (!eh_json_unicode_escape (scan, out))
          return FALSE;
        continue;
      }
      if (strchr ("\"\\/bfnrt", scan->p[1]) == NULL || scan->p[1] == '\0')
        return eh_json_fail (scan, "bad escape");
      if (out != NULL)
        g_string_append_c (out, scan->p[1]);
      scan->p += 2;
      continue;
    }
    if (out != NULL)
      g_string_append_c (out, c);
    scan->p++;
  }
  return eh_json_fail (scan, "unterminated string");
}

static gboolean
eh_json_integer_too_large (const char *digits)
{
  gsize len = strlen (digits);

  return len > strlen (EH_JSON_MAX_SAFE_INTEGER) ||
         (len == strlen (EH_JSON_MAX_SAFE_INTEGER) && strcmp (digits, EH_JSON_MAX_SAFE_INTEGER) > 0);
}

static gboolean
eh_json_number (EhJsonScan *scan)
{
  const guchar *start = scan->p;
  gboolean integer = TRUE;
  g_autofree char *text = NULL;
  double value;

  if (*scan->p == '-')
    scan->p++;
  if (scan->p >= scan->end || !g_ascii_isdigit (*scan->p))
    return eh_json_fail (scan, "bad number");
  if (*scan->p == '0' && scan->p + 1 < scan->end && g_ascii_isdigit (scan->p[1]))
    return eh_json_fail (scan, "leading zero in a number");
  while (scan->p < scan->end && g_ascii_isdigit (*scan->p))
    scan->p++;
  if (scan->p < scan->end && *scan->p == '.') {
    integer = FALSE;
    scan->p++;
    if (scan->p >= scan->end || !g_ascii_isdigit (*scan->p))
      return eh_json_fail (scan, "bad fraction");
    while (scan->p < scan->end && g_ascii_isdigit (*scan->p))
      scan->p++;
  }
  if (scan->p < scan->end && (*scan->p == 'e' || *scan->p == 'E')) {
    integer = FALSE;
    scan->p++;
    if (scan->p < scan->end && (*scan->p == '+' || *scan->p == '-'))
      scan->p++;
    if (scan->p >= scan->end || !g_ascii_isdigit (*scan->p))
      return eh_json_fail (scan, "bad exponent");
    while (scan->p < scan->end && g_ascii_isdigit (*scan->p))
      scan->p++;
  }
  text = g_strndup ((const char *) start, scan->p - start);
  value = g_ascii_strtod (text, NULL);
  if (!isfinite (value))
    return eh_json_fail (scan, "number out of range");
  /* compared on the digits: a double would round 2^53 + 1 down to 2^53 */
  if (integer && eh_json_integer_too_large (text[0] == '-' ? text + 1 : text))
    return eh_json_fail (scan, "integer outside +-2^53");
  return TRUE;
}

static gboolean
eh_json_literal (EhJsonScan *scan)
{
  const char *words[] = { "true", "false", "null" };

  for (guint i = 0; i < G_N_ELEMENTS (words); i++) {
    gsize n = strlen (words[i]);

    if ((gsize) (scan->end - scan->p) >= n && memcmp (scan->p, words[i], n) == 0) {
      scan->p += n;
      return TRUE;
    }
  }
  return eh_json_fail (scan, "unexpected character");
}

static gboolean
eh_json_open (EhJsonScan *scan, gboolean object)
{
  if (scan->objects->len >= scan->max_depth)
    return eh_json_fail (scan, "nested too deeply");
  g_ptr_array_add (scan->objects,
                   object ? g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) : NULL);
  scan->p++;
  return TRUE;
}

static gboolean
eh_json_key (EhJsonScan *scan)
{
  GHashTable *keys = g_ptr_array_index (scan->objects, scan->objects->len - 1);
  g_autoptr (GString) key = g_string_new (NULL);

  if (scan->p >= scan->end || *scan->p != '"')
    return eh_json_fail (scan, "object key is not a string");
  if (!eh_json_string (scan, key))
    return FALSE;
  if (!g_hash_table_add (keys, g_string_free (g_steal_pointer (&key), FALSE)))
    return eh_json_fail (scan, "duplicate key in an object");
  eh_json_skip_space (scan);
  if (scan->p >= scan->end || *scan->p != ':')
    return eh_json_fail (scan, "missing ':' after a key");
  scan->p++;
  return TRUE;
}

static gboolean
eh_json_value (EhJsonScan *scan)
{
  eh_json_skip_space (scan);
  if (scan->p >= scan->end)
    return eh_json_fail (scan, "value expected");
  switch (*scan->p) {
  case '{':
  case '[':
    return eh_json_open (scan, *scan->p == '{');
  case '"':
    return eh_json_string (scan, NULL);
  case '-':
  case '0' ... '9':
    return eh_json_number (scan);
  default:
    return eh_json_literal (scan);
  }
}

/* walks the document: a value, then ',' or a container's end, until the root is done */
static gboolean
eh_json_walk (EhJsonScan *scan)
{
  gboolean want_value = TRUE;
  gboolean just_opened = FALSE;

  for (;;) {
    gsize depth = scan->objects->len;
    gboolean in_object = depth > 0 && g_ptr_array_index (scan->objects, depth - 1) != NULL;
    guchar closer = in_object ? '}' : ']';

    eh_json_skip_space (scan);
    if (want_value && just_opened && scan->p < scan->end && *scan->p == closer) {
      want_value = FALSE; /* an empty container */
    } else if (want_value) {
      if (in_object && !eh_json_key (scan))
        return FALSE;
      if (!eh_json_value (scan))
        return FALSE;
      just_opened = scan->objects->len > depth;
      want_value = just_opened;
      continue;
    }
    if (depth == 0)
      return TRUE;
    if (scan->p >= scan->end)
      return eh_json_fail (scan, "unexpected end");
    just_opened = FALSE;
    if (*scan->p == ',') {
      scan->p++;
      want_value = TRUE;
    } else if (*scan->p == closer) {
      scan->p++;
      g_ptr_array_remove_index (scan->objects, depth - 1);
    } else {
      return eh_json_fail (scan, "expected ',' or the end of a container");
    }
  }
}

static void
eh_json_free_keys (gpointer keys)
{
  if (keys != NULL)
    g_hash_table_unref (keys);
}

JsonNode *
eh_json_parse_strict (const char *data, gsize len, gsize max_bytes, guint max_depth, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  EhJsonScan scan = { NULL, NULL, NULL, max_depth, NULL };
  gboolean ok;

  /* empty input may come without any data pointer */
  if (data == NULL) {
    data = "";
    len = 0;
  }
  scan.p = (const guchar *) data;
  scan.end = scan.p + len;

  if (len > max_bytes) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "JSON text larger than %zu bytes", max_bytes);
    return NULL;
  }
  if (!g_utf8_validate (data, len, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "JSON text is not valid UTF-8");
    return NULL;
  }
  scan.objects = g_ptr_array_new_with_free_func (eh_json_free_keys);
  ok = eh_json_walk (&scan);
  eh_json_skip_space (&scan);
  if (ok && scan.p != scan.end)
    ok = eh_json_fail (&scan, "text after the document");
  g_ptr_array_unref (scan.objects);
  if (!ok) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "JSON refused at byte %zu: %s",
                 (gsize) (scan.p - (const guchar *) data), scan.problem);
    return NULL;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, &local_error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "JSON: %s", local_error->message);
    return NULL;
  }
  return json_node_copy (json_parser_get_root (parser));
}

gboolean
eh_json_object_get_string_checked (JsonObject *obj, const char *member, const char **out,
                                   GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "\"%s\" must be a string", member);
    return FALSE;
  }
  *out = json_node_get_string (node);
  return TRUE;
}

gboolean
eh_json_object_get_int_checked (JsonObject *obj, const char *member, gint64 *out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "\"%s\" must be an integer", member);
    return FALSE;
  }
  *out = json_node_get_int (node);
  return TRUE;
}
