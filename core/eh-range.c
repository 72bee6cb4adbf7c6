/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-range.h"

/*
 * Range requests after RFC 9110 §14.
 *
 * - The unit "bytes" is matched without regard to case; no whitespace is
 *   allowed around '=' or inside a range-spec, only around commas.
 * - Empty list elements ("bytes=0-1,,5-") are accepted (RFC 9110 §5.6.1.2)
 *   but no more of them than @max_ranges, so parsing stays bounded.
 * - Ranges that cannot be satisfied are dropped; the request is 416 only when
 *   none is left.
 * - An empty representation: a first-last or first- range can never be
 *   satisfied there (416), while a suffix range with a non-zero length is
 *   satisfiable (§14.1.1) but no Content-Range can describe zero bytes, so such
 *   a request is served whole, with 200 and an empty body.
 */

typedef enum {
  EH_RANGE_SPEC_INVALID,
  EH_RANGE_SPEC_UNSATISFIABLE,
  EH_RANGE_SPEC_EMPTY_SUFFIX, /* a suffix range against an empty representation */
  EH_RANGE_SPEC_SATISFIABLE,
} EhRangeSpec;

/* 1*DIGIT; FALSE without a digit or past G_MAXINT64 */
static gboolean
eh_range_parse_number (const char **p, goffset *number)
{
  guint64 value = 0;
  const char *start = *p;

  for (; g_ascii_isdigit (**p); (*p)++) {
    guint digit = **p - '0';

    if (value > ((guint64) G_MAXINT64 - digit) / 10)
      return FALSE;
    value = value * 10 + digit;
  }
  *number = (goffset) value;
  return *p != start;
}

static void
eh_range_skip_ows (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

/* one int-range or suffix-range at *p, clamped to @size */
static EhRangeSpec
eh_range_parse_spec (const char **p, goffset size, EhByteRange *range)
{
  goffset first;
  goffset last = G_MAXINT64;

  if (**p == '-') {
    (*p)++;
    if (!eh_range_parse_number (p, &last))
      return EH_RANGE_SPEC_INVALID;
    if (last == 0)
      return EH_RANGE_SPEC_UNSATISFIABLE;
    if (size == 0)
      return EH_RANGE_SPEC_EMPTY_SUFFIX;
    range->first = last >= size ? 0 : size - last;
    range->last = size - 1;
    return EH_RANGE_SPEC_SATISFIABLE;
  }
  if (!eh_range_parse_number (p, &first) || **p != '-')
    return EH_RANGE_SPEC_INVALID;
  (*p)++;
  if (g_ascii_isdigit (**p) && (!eh_range_parse_number (p, &last) || last < first))
    return EH_RANGE_SPEC_INVALID;
  if (first >= size)
    return EH_RANGE_SPEC_UNSATISFIABLE;
  range->first = first;
  range->last = MIN (last, size - 1);
  return EH_RANGE_SPEC_SATISFIABLE;
}

static gint
eh_range_compare_first (gconstpointer a, gconstpointer b)
{
  const EhByteRange *x = a;
  const EhByteRange *y = b;

  return x->first < y->first ? -1 : x->first > y->first;
}

/* overlapping or adjacent ranges: a client asking for them could ask for one */
static gboolean
eh_range_any_touch (GArray *ranges)
{
  g_autoptr (GArray) sorted = g_array_sized_new (FALSE, FALSE, sizeof (EhByteRange), ranges->len);

  g_array_append_vals (sorted, ranges->data, ranges->len);
  g_array_sort (sorted, eh_range_compare_first);
  for (guint i = 1; i < sorted->len; i++) {
    const EhByteRange *before = &g_array_index (sorted, EhByteRange, i - 1);
    const EhByteRange *after = &g_array_index (sorted, EhByteRange, i);

    /* last < size <= G_MAXINT64, so last + 1 cannot overflow */
    if (after->first <= before->last + 1)
      return TRUE;
  }
  return FALSE;
}

/* the range-set after "bytes="; FALSE on a syntax error or too many elements */
static gboolean
eh_range_parse_set (const char *p, goffset size, guint max_ranges, GArray *found,
                    gboolean *empty_suffix)
{
  guint specs = 0;
  guint empty = 0;

  for (;;) {
    EhByteRange range;

    eh_range_skip_ows (&p);
    if (*p == '\0')
      return specs > 0;
    if (*p == ',') {
      if (++empty > max_ranges)
        return FALSE;
      p++;
      continue;
    }
    if (++specs > max_ranges)
      return FALSE;
    switch (eh_range_parse_spec (&p, size, &range)) {
    case EH_RANGE_SPEC_INVALID:
      return FALSE;
    case EH_RANGE_SPEC_SATISFIABLE:
      g_array_append_val (found, range);
      break;
    case EH_RANGE_SPEC_EMPTY_SUFFIX:
      *empty_suffix = TRUE;
      break;
    case EH_RANGE_SPEC_UNSATISFIABLE:
    default:
      break;
    }
    eh_range_skip_ows (&p);
    if (*p == ',')
      p++;
    else if (*p != '\0')
      return FALSE;
  }
}

EhRangeResult
eh_range_parse (const char *header, goffset size, guint max_ranges, GArray **ranges)
{
  g_autoptr (GArray) found = NULL;
  gboolean empty_suffix = FALSE;

  if (ranges != NULL)
    *ranges = NULL;
  g_return_val_if_fail (size >= 0, EH_RANGE_FULL);
  if (header == NULL || g_ascii_strncasecmp (header, "bytes=", 6) != 0)
    return EH_RANGE_FULL;
  found = g_array_new (FALSE, FALSE, sizeof (EhByteRange));
  if (!eh_range_parse_set (header + 6, size, max_ranges, found, &empty_suffix))
    return EH_RANGE_FULL;
  if (found->len == 0)
    return empty_suffix ? EH_RANGE_FULL : EH_RANGE_UNSATISFIABLE;
  if (eh_range_any_touch (found))
    return EH_RANGE_FULL;
  if (ranges != NULL)
    *ranges = g_steal_pointer (&found);
  return EH_RANGE_PARTIAL;
}

/* ---- responses ---- */

static void
eh_range_set_content_range (SoupMessageHeaders *headers, const EhByteRange *range, gsize size)
{
  g_autofree char *value = g_strdup_printf ("bytes %" G_GOFFSET_FORMAT "-%" G_GOFFSET_FORMAT
                                            "/%" G_GSIZE_FORMAT, range->first, range->last, size);

  soup_message_headers_replace (headers, "Content-Range", value);
}

/* a part of @body that shares its memory */
static GBytes *
eh_range_slice (GBytes *body, const EhByteRange *range)
{
  return g_bytes_new_from_bytes (body, range->first, range->last - range->first + 1);
}

static void
eh_range_append_text (SoupMessageBody *body, char *text)
{
  soup_message_body_append (body, SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
eh_range_respond_multipart (SoupServerMessage *msg, GArray *ranges, GBytes *body,
                            const char *content_type)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *response = soup_server_message_get_response_body (msg);
  g_autofree char *boundary = g_uuid_string_random ();
  g_autofree char *type = g_strdup_printf ("multipart/byteranges; boundary=%s", boundary);
  gsize size = g_bytes_get_size (body);

  soup_message_headers_replace (headers, "Content-Type", type);
  for (guint i = 0; i < ranges->len; i++) {
    const EhByteRange *range = &g_array_index (ranges, EhByteRange, i);
    g_autoptr (GBytes) part = eh_range_slice (body, range);

    /* the CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1) */
    eh_range_append_text (response,
                          g_strdup_printf ("%s--%s\r\nContent-Type: %s\r\n"
                                           "Content-Range: bytes %" G_GOFFSET_FORMAT
                                           "-%" G_GOFFSET_FORMAT "/%" G_GSIZE_FORMAT "\r\n\r\n",
                                           i > 0 ? "\r\n" : "", boundary, content_type,
                                           range->first, range->last, size));
    soup_message_body_append_bytes (response, part);
  }
  eh_range_append_text (response, g_strdup_printf ("\r\n--%s--\r\n", boundary));
}

static void
eh_range_respond_partial (SoupServerMessage *msg, GArray *ranges, GBytes *body,
                          const char *content_type)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const EhByteRange *range = &g_array_index (ranges, EhByteRange, 0);

  soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
  if (ranges->len > 1) {
    eh_range_respond_multipart (msg, ranges, body, content_type);
  } else {
    g_autoptr (GBytes) part = eh_range_slice (body, range);

    eh_range_set_content_range (headers, range, g_bytes_get_size (body));
    soup_message_headers_replace (headers, "Content-Type", content_type);
    soup_message_body_append_bytes (soup_server_message_get_response_body (msg), part);
  }
}

void
eh_range_respond_bytes (SoupServerMessage *msg, const char *range_header, GBytes *body,
                        const char *content_type)
{
  SoupMessageHeaders *headers;
  SoupMessageBody *response;
  g_autoptr (GArray) ranges = NULL;
  g_autofree char *unsatisfied = NULL;
  gsize size;

  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (msg));
  g_return_if_fail (body != NULL);

  headers = soup_server_message_get_response_headers (msg);
  response = soup_server_message_get_response_body (msg);
  size = g_bytes_get_size (body);
  if (content_type == NULL)
    content_type = "application/octet-stream";
  soup_message_body_truncate (response);
  soup_message_headers_remove (headers, "Content-Range");
  soup_message_headers_replace (headers, "Accept-Ranges", "bytes");
  switch (eh_range_parse (range_header, size, EH_RANGE_DEFAULT_MAX_RANGES, &ranges)) {
  case EH_RANGE_PARTIAL:
    eh_range_respond_partial (msg, ranges, body, content_type);
    break;
  case EH_RANGE_UNSATISFIABLE:
    /* nothing to describe, so no Content-Type either */
    unsatisfied = g_strdup_printf ("bytes */%" G_GSIZE_FORMAT, size);
    soup_message_headers_replace (headers, "Content-Range", unsatisfied);
    soup_message_headers_remove (headers, "Content-Type");
    soup_server_message_set_status (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL);
    break;
  case EH_RANGE_FULL:
  default:
    soup_message_headers_replace (headers, "Content-Type", content_type);
    /* libsoup refuses to append an empty buffer */
    if (size > 0)
      soup_message_body_append_bytes (response, body);
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    break;
  }
  soup_message_headers_set_content_length (headers, response->length);
}
