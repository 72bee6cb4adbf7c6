/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-range.h"

/* parses 1*DIGIT at *p; FALSE on no digits or overflow */
static gboolean
eh_range_parse_number (const char **p, goffset *out)
{
  guint64 value = 0;
  const char *start = *p;

  while (g_ascii_isdigit (**p)) {
    guint digit = **p - '0';

    if (value > ((guint64) G_MAXINT64 - digit) / 10)
      return FALSE;
    value = value * 10 + digit;
    (*p)++;
  }
  *out = value;
  return *p != start;
}

static void
eh_range_skip_ows (const char **p)
{
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

typedef enum { EH_SPEC_BAD, EH_SPEC_UNSATISFIABLE, EH_SPEC_OK } EhSpec;

/* one byte-range-spec or suffix-byte-range-spec, clamped to @size */
static EhSpec
eh_range_parse_spec (const char **p, goffset size, EhByteRange *range)
{
  goffset first, last;

  if (**p == '-') {
    (*p)++;
    if (!eh_range_parse_number (p, &last))
      return EH_SPEC_BAD;
    if (last == 0 || size == 0)
      return EH_SPEC_UNSATISFIABLE;
    range->first = size - MIN (last, size);
    range->last = size - 1;
    return EH_SPEC_OK;
  }
  if (!eh_range_parse_number (p, &first) || **p != '-')
    return EH_SPEC_BAD;
  (*p)++;
  if (g_ascii_isdigit (**p)) {
    if (!eh_range_parse_number (p, &last) || last < first)
      return EH_SPEC_BAD;
  } else {
    last = G_MAXINT64;
  }
  if (first >= size)
    return EH_SPEC_UNSATISFIABLE;
  range->first = first;
  range->last = MIN (last, size - 1);
  return EH_SPEC_OK;
}

static gboolean
eh_range_overlaps_any (GArray *ranges, const EhByteRange *range)
{
  for (guint i = 0; i < ranges->len; i++) {
    const EhByteRange *other = &g_array_index (ranges, EhByteRange, i);

    /* adjacent counts too: a client asking for both should ask for one */
    if (range->first <= other->last + 1 && other->first <= range->last + 1)
      return TRUE;
  }
  return FALSE;
}

EhRangeResult
eh_range_parse (const char *header, goffset size, guint max_ranges, GArray **ranges)
{
  g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (EhByteRange));
  const char *p = header;
  guint specs = 0;

  if (header == NULL || g_ascii_strncasecmp (p, "bytes=", 6) != 0)
    return EH_RANGE_FULL;
  p += 6;
  for (;;) {
    EhByteRange range;
    EhSpec spec;

    eh_range_skip_ows (&p);
    spec = eh_range_parse_spec (&p, size, &range);
    if (spec == EH_SPEC_BAD || ++specs > max_ranges)
      return EH_RANGE_FULL;
    if (spec == EH_SPEC_OK) {
      if (eh_range_overlaps_any (found, &range))
        return EH_RANGE_FULL;
      g_array_append_val (found, range);
    }
    eh_range_skip_ows (&p);
    if (*p == '\0')
      break;
    if (*p++ != ',')
      return EH_RANGE_FULL;
  }
  if (found->len == 0)
    return EH_RANGE_UNSATISFIABLE;
  if (ranges != NULL)
    *ranges = g_steal_pointer (&found);
  return EH_RANGE_PARTIAL;
}

static void
eh_range_append_part (SoupMessageBody *body, GBytes *whole, const EhByteRange *range,
                      const char *boundary, const char *content_type, gsize size)
{
  g_autofree char *head = g_strdup_printf ("\r\n--%s\r\nContent-Type: %s\r\n"
                                           "Content-Range: bytes %" G_GOFFSET_FORMAT "-%" G_GOFFSET_FORMAT "/%zu\r\n\r\n",
                                           boundary, content_type, range->first, range->last, size);
  g_autoptr (GBytes) part = g_bytes_new_from_bytes (whole, range->first, range->last - range->first + 1);

  soup_message_body_append (body, SOUP_MEMORY_COPY, head, strlen (head));
  soup_message_body_append_bytes (body, part);
}

void
eh_range_respond_bytes (SoupServerMessage *msg, const char *range_header, GBytes *body,
                        const char *content_type)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *response = soup_server_message_get_response_body (msg);
  gsize size = g_bytes_get_size (body);
  g_autoptr (GArray) ranges = NULL;
  EhRangeResult result = eh_range_parse (range_header, size, EH_RANGE_DEFAULT_MAX_RANGES, &ranges);
  g_autofree char *value = NULL;

  soup_message_headers_replace (headers, "Accept-Ranges", "bytes");
  soup_message_body_truncate (response);
  if (result == EH_RANGE_UNSATISFIABLE) {
    value = g_strdup_printf ("bytes */%zu", size);
    soup_message_headers_replace (headers, "Content-Range", value);
    soup_server_message_set_status (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL);
    return;
  }
  if (result == EH_RANGE_FULL) {
    soup_message_headers_set_content_type (headers, content_type, NULL);
    soup_message_body_append_bytes (response, body);
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    return;
  }
  if (ranges->len == 1) {
    const EhByteRange *range = &g_array_index (ranges, EhByteRange, 0);
    g_autoptr (GBytes) part = g_bytes_new_from_bytes (body, range->first, range->last - range->first + 1);

    value = g_strdup_printf ("bytes %" G_GOFFSET_FORMAT "-%" G_GOFFSET_FORMAT "/%zu", range->first,
                             range->last, size);
    soup_message_headers_replace (headers, "Content-Range", value);
    soup_message_headers_set_content_type (headers, content_type, NULL);
    soup_message_body_append_bytes (response, part);
  } else {
    g_autofree char *boundary = g_uuid_string_random ();
    g_autofree char *end = g_strdup_printf ("\r\n--%s--\r\n", boundary);

    value = g_strdup_printf ("multipart/byteranges; boundary=%s", boundary);
    soup_message_headers_replace (headers, "Content-Type", value);
    for (guint i = 0; i < ranges->len; i++)
      eh_range_append_part (response, body, &g_array_index (ranges, EhByteRange, i), boundary,
                            content_type, size);
    soup_message_body_append (response, SOUP_MEMORY_COPY, end, strlen (end));
  }
  soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
}
