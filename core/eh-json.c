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
 * One pass over the text with an explicit stack of open containers, so
 * nesting costs heap, never C stack. Each open object keeps its decoded
 * keys in a balanced tree (no hash to flood) to refuse duplicates. Only
 * text that passes is handed to json-glib.
 */

/* json-glib recurses once per level: no caller may ask for more than this */
#define EH_JSON_DEPTH_CEILING 512
/* 2^53 - 1, the largest integer every JSON reader holds exactly (RFC 7493 §2.2) */
#define EH_JSON_MAX_INTEGER "9007199254740991"
#define EH_JSON_MAX_INTEGER_VALUE G_GINT64_CONSTANT (9007199254740991)

typedef struct {
  const guchar *start;
  const guchar *p;
  const guchar *end;
  guint max_depth;
  GPtrArray *open; /* per open container: a GTree of its keys, or NULL for an array */
  const char *problem;
} EhJsonScan;

typedef enum {
  EH_JSON_VALUE_FAILED,
  EH_JSON_VALUE_DONE,
  EH_JSON_VALUE_OPENED, /* a container was opened: its first member is due */
} EhJsonValue;

static gboolean
eh_json_fail (EhJsonScan *scan, const char *problem)
{
  if (scan->problem == NULL)
    scan->problem = problem;
  return FALSE;
}

static gboolean
eh_json_at (EhJsonScan *scan, guchar c)
{
  return scan->p < scan->end && *scan->p == c;
}

static void
eh_json_skip_space (EhJsonScan *scan)
{
  while (scan->p < scan->end &&
         (*scan->p == ' ' || *scan->p == '\t' || *scan->p == '\n' || *scan->p == '\r'))
    scan->p++;
}

/* one multi-byte UTF-8 character: shortest form, no surrogates, at most U+10FFFF */
static gboolean
eh_json_utf8_char (EhJsonScan *scan, GString *out)
{
  const guchar *p = scan->p;
  guchar lead = p[0], low = 0x80, high = 0xbf;
  guint n;

  if (lead >= 0xc2 && lead <= 0xdf)
    n = 1;
  else if (lead >= 0xe0 && lead <= 0xef)
    n = 2;
  else if (lead >= 0xf0 && lead <= 0xf4)
    n = 3;
  else
    return eh_json_fail (scan, "invalid UTF-8");
  /* the second byte's range rules out overlong forms, surrogates and > U+10FFFF */
  if (lead == 0xe0)
    low = 0xa0;
  else if (lead == 0xed)
    high = 0x9f;
  else if (lead == 0xf0)
    low = 0x90;
  else if (lead == 0xf4)
    high = 0x8f;
  if ((gsize) (scan->end - p) <= n || p[1] < low || p[1] > high)
    return eh_json_fail (scan, "invalid UTF-8");
  for (guint i = 2; i <= n; i++) {
    if (p[i] < 0x80 || p[i] > 0xbf)
      return eh_json_fail (scan, "invalid UTF-8");
  }
  if (out != NULL)
    g_string_append_len (out, (const char *) p, n + 1);
  scan->p += n + 1;
  return TRUE;
}

static int
eh_json_hex4 (EhJsonScan *scan)
{
  int value = 0;

  if (scan->end - scan->p < 4)
    return -1;
  for (guint i = 0; i < 4; i++) {
    if (!g_ascii_isxdigit (scan->p[i]))
      return -1;
    value = value << 4 | g_ascii_xdigit_value (scan->p[i]);
  }
  scan->p += 4;
  return value;
}

/* after "\u": one code point, a surrogate pair counting as one */
static gboolean
eh_json_unicode_escape (EhJsonScan *scan, GString *out)
{
  int unit = eh_json_hex4 (scan);
  int low;

  if (unit < 0)
    return eh_json_fail (scan, "bad \\u escape");
  if (unit == 0)
    return eh_json_fail (scan, "\\u0000 is not allowed");
  if (unit >= 0xdc00 && unit <= 0xdfff)
    return eh_json_fail (scan, "lone low surrogate escape");
  if (unit >= 0xd800 && unit <= 0xdbff) {
    if (scan->end - scan->p < 2 || scan->p[0] != '\\' || scan->p[1] != 'u')
      return eh_json_fail (scan, "unpaired high surrogate escape");
    scan->p += 2;
    low = eh_json_hex4 (scan);
    if (low < 0xdc00 || low > 0xdfff)
      return eh_json_fail (scan, "unpaired high surrogate escape");
    unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
  }
  if (out != NULL)
    g_string_append_unichar (out, unit);
  return TRUE;
}

/* after a backslash */
static gboolean
eh_json_escape (EhJsonScan *scan, GString *out)
{
  static const char from[] = "\"\\/bfnrt";
  static const char to[] = "\"\\/\b\f\n\r\t";
  const char *at;

  if (scan->p >= scan->end)
    return eh_json_fail (scan, "unterminated string");
  if (*scan->p == 'u') {
    scan->p++;
    return eh_json_unicode_escape (scan, out);
  }
  at = *scan->p != '\0' ? strchr (from, *scan->p) : NULL;
  if (at == NULL)
    return eh_json_fail (scan, "bad escape in a string");
  if (out != NULL)
    g_string_append_c (out, to[at - from]);
  scan->p++;
  return TRUE;
}

/* a string from its opening quote; @out, when set, receives the decoded text */
static gboolean
eh_json_string (EhJsonScan *scan, GString *out)
{
  scan->p++;
  while (scan->p < scan->end) {
    guchar c = *scan->p;

    if (c == '"') {
      scan->p++;
      return TRUE;
    }
    if (c < 0x20)
      return eh_json_fail (scan, "control character in a string");
    if (c >= 0x80) {
      if (!eh_json_utf8_char (scan, out))
        return FALSE;
      continue;
    }
    scan->p++;
    if (c == '\\') {
      if (!eh_json_escape (scan, out))
        return FALSE;
      continue;
    }
    if (out != NULL)
      g_string_append_c (out, c);
  }
  return eh_json_fail (scan, "unterminated string");
}

static gsize
eh_json_skip_digits (EhJsonScan *scan)
{
  const guchar *start = scan->p;

  while (scan->p < scan->end && g_ascii_isdigit (*scan->p))
    scan->p++;
  return scan->p - start;
}

/* the RFC 8259 number grammar; TRUE for an integer (no fraction, no exponent) */
static gboolean
eh_json_number_grammar (EhJsonScan *scan, gboolean *integer)
{
  const guchar *int_start;

  if (eh_json_at (scan, '-'))
    scan->p++;
  int_start = scan->p;
  if (eh_json_skip_digits (scan) == 0)
    return eh_json_fail (scan, "bad number");
  if (*int_start == '0' && scan->p - int_start > 1)
    return eh_json_fail (scan, "leading zero in a number");
  *integer = TRUE;
  if (eh_json_at (scan, '.')) {
    scan->p++;
    *integer = FALSE;
    if (eh_json_skip_digits (scan) == 0)
      return eh_json_fail (scan, "bad fraction in a number");
  }
  if (eh_json_at (scan, 'e') || eh_json_at (scan, 'E')) {
    scan->p++;
    *integer = FALSE;
    if (eh_json_at (scan, '+') || eh_json_at (scan, '-'))
      scan->p++;
    if (eh_json_skip_digits (scan) == 0)
      return eh_json_fail (scan, "bad exponent in a number");
  }
  return TRUE;
}

static gboolean
eh_json_number (EhJsonScan *scan)
{
  const guchar *start = scan->p;
  const gsize max_len = strlen (EH_JSON_MAX_INTEGER);
  g_autofree char *text = NULL;
  const char *digits;
  gboolean integer = FALSE;

  if (!eh_json_number_grammar (scan, &integer))
    return FALSE;
  text = g_strndup ((const char *) start, scan->p - start);
  digits = text[0] == '-' ? text + 1 : text;
  /* integers are compared as digits (no leading zeros): a double would round */
  if (integer && (strlen (digits) > max_len ||
                  (strlen (digits) == max_len && strcmp (digits, EH_JSON_MAX_INTEGER) > 0)))
    return eh_json_fail (scan, "integer outside +-(2^53 - 1)");
  if (!integer && !isfinite (g_ascii_strtod (text, NULL)))
    return eh_json_fail (scan, "number is not a finite double");
  return TRUE;
}

static gboolean
eh_json_literal (EhJsonScan *scan)
{
  static const char *const words[] = { "true", "false", "null" };

  for (guint i = 0; i < G_N_ELEMENTS (words); i++) {
    gsize n = strlen (words[i]);

    if ((gsize) (scan->end - scan->p) >= n && memcmp (scan->p, words[i], n) == 0) {
      scan->p += n;
      return TRUE;
    }
  }
  return eh_json_fail (scan, "unexpected character");
}

static int
eh_json_key_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  /* decoded keys hold no NUL: \u0000 and raw control characters are refused */
  return strcmp (a, b);
}

static gboolean
eh_json_in_object (EhJsonScan *scan)
{
  return scan->open->len > 0 && g_ptr_array_index (scan->open, scan->open->len - 1) != NULL;
}

/* an object member's key and its ':' */
static gboolean
eh_json_key (EhJsonScan *scan)
{
  GTree *keys = g_ptr_array_index (scan->open, scan->open->len - 1);
  g_autoptr (GString) key = g_string_new (NULL);

  eh_json_skip_space (scan);
  if (!eh_json_at (scan, '"'))
    return eh_json_fail (scan, "object key is not a string");
  if (!eh_json_string (scan, key))
    return FALSE;
  if (g_tree_lookup_extended (keys, key->str, NULL, NULL))
    return eh_json_fail (scan, "duplicate key in an object");
  g_tree_insert (keys, g_string_free (g_steal_pointer (&key), FALSE), NULL);
  eh_json_skip_space (scan);
  if (!eh_json_at (scan, ':'))
    return eh_json_fail (scan, "missing ':' after an object key");
  scan->p++;
  return TRUE;
}

static EhJsonValue
eh_json_open (EhJsonScan *scan)
{
  gboolean object = *scan->p == '{';

  if (scan->open->len >= scan->max_depth) {
    eh_json_fail (scan, "nested too deeply");
    return EH_JSON_VALUE_FAILED;
  }
  scan->p++;
  eh_json_skip_space (scan);
  if (eh_json_at (scan, object ? '}' : ']')) {
    scan->p++;
    return EH_JSON_VALUE_DONE;
  }
  g_ptr_array_add (scan->open,
                   object ? g_tree_new_full (eh_json_key_compare, NULL, g_free, NULL) : NULL);
  if (object && !eh_json_key (scan))
    return EH_JSON_VALUE_FAILED;
  return EH_JSON_VALUE_OPENED;
}

static EhJsonValue
eh_json_value (EhJsonScan *scan)
{
  gboolean ok;

  eh_json_skip_space (scan);
  if (scan->p >= scan->end) {
    eh_json_fail (scan, "a value is missing");
    return EH_JSON_VALUE_FAILED;
  }
  if (*scan->p == '{' || *scan->p == '[')
    return eh_json_open (scan);
  if (*scan->p == '"')
    ok = eh_json_string (scan, NULL);
  else if (*scan->p == '-' || g_ascii_isdigit (*scan->p))
    ok = eh_json_number (scan);
  else
    ok = eh_json_literal (scan);
  return ok ? EH_JSON_VALUE_DONE : EH_JSON_VALUE_FAILED;
}

/* after a complete value: close containers until a member is due or the root is done */
static gboolean
eh_json_after_value (EhJsonScan *scan, gboolean *done)
{
  for (;;) {
    gboolean object = eh_json_in_object (scan);

    eh_json_skip_space (scan);
    if (scan->open->len == 0) {
      *done = TRUE;
      return TRUE;
    }
    if (eh_json_at (scan, ',')) {
      scan->p++;
      *done = FALSE;
      return !object || eh_json_key (scan);
    }
    if (!eh_json_at (scan, object ? '}' : ']'))
      return eh_json_fail (scan, object ? "expected ',' or '}'" : "expected ',' or ']'");
    scan->p++;
    g_ptr_array_remove_index (scan->open, scan->open->len - 1);
  }
}

static gboolean
eh_json_walk (EhJsonScan *scan)
{
  gboolean done = FALSE;

  while (!done) {
    EhJsonValue value = eh_json_value (scan);

    if (value == EH_JSON_VALUE_FAILED)
      return FALSE;
    if (value == EH_JSON_VALUE_OPENED)
      continue;
    if (!eh_json_after_value (scan, &done))
      return FALSE;
  }
  if (scan->p != scan->end)
    return eh_json_fail (scan, "text after the JSON value");
  return TRUE;
}

static void
eh_json_free_keys (gpointer keys)
{
  if (keys != NULL)
    g_tree_unref (keys);
}

/* TRUE when @data is RFC 8259 JSON within the limits */
static gboolean
eh_json_check (const char *data, gsize len, guint max_depth, GError **error)
{
  EhJsonScan scan = { 0 };
  gboolean ok;

  scan.start = scan.p = (const guchar *) data;
  scan.end = scan.p + len;
  scan.max_depth = MIN (max_depth, EH_JSON_DEPTH_CEILING);
  scan.open = g_ptr_array_new_with_free_func (eh_json_free_keys);
  ok = eh_json_walk (&scan);
  g_ptr_array_unref (scan.open);
  if (!ok)
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "JSON refused at byte %" G_GSIZE_FORMAT ": %s", (gsize) (scan.p - scan.start),
                 scan.problem);
  return ok;
}

JsonNode *
eh_json_parse_strict (const char *data, gsize len, gsize max_bytes, guint max_depth,
                      GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > max_bytes) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "JSON text larger than %" G_GSIZE_FORMAT " bytes", max_bytes);
    return NULL;
  }
  if (!eh_json_check (data != NULL ? data : "", len, max_depth, error))
    return NULL;
  /* immutable: the tree is read, never edited, and may be shared between threads */
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, &local_error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "JSON text passed the strict check but json-glib refused it: %s",
                 local_error->message);
    return NULL;
  }
  return json_parser_steal_root (parser);
}

static JsonNode *
eh_json_member (JsonObject *obj, const char *member, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL)
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "member \"%s\" is missing", member);
  return node;
}

gboolean
eh_json_object_get_string_checked (JsonObject *obj, const char *member, const char **out,
                                   GError **error)
{
  JsonNode *node;

  g_return_val_if_fail (obj != NULL && member != NULL && out != NULL, FALSE);

  node = eh_json_member (obj, member, error);
  if (node == NULL)
    return FALSE;
  if (json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "member \"%s\" is not a string",
                 member);
    return FALSE;
  }
  *out = json_node_get_string (node);
  return TRUE;
}

gboolean
eh_json_object_get_int_checked (JsonObject *obj, const char *member, gint64 *out, GError **error)
{
  JsonNode *node;
  gint64 value;

  g_return_val_if_fail (obj != NULL && member != NULL && out != NULL, FALSE);

  node = eh_json_member (obj, member, error);
  if (node == NULL)
    return FALSE;
  /* doubles (1.0, 1e3) are not integers here, whatever their value */
  if (json_node_get_value_type (node) != G_TYPE_INT64) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "member \"%s\" is not an integer",
                 member);
    return FALSE;
  }
  value = json_node_get_int (node);
  if (value > EH_JSON_MAX_INTEGER_VALUE || value < -EH_JSON_MAX_INTEGER_VALUE) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "member \"%s\" is outside +-(2^53 - 1)", member);
    return FALSE;
  }
  *out = value;
  return TRUE;
}
