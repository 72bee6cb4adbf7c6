/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * The one strict Range implementation of the project. libsoup 3.2.3 would
 * otherwise expand overlapping ranges without bound (CVE-2025-32907), so the
 * front removes Range from every request before a handler runs and handlers
 * that support ranges go through here.
 */

#define EH_RANGE_DEFAULT_MAX_RANGES 8

typedef struct {
  goffset first; /* first byte, inclusive */
  goffset last;  /* last byte, inclusive */
} EhByteRange;

typedef enum {
  EH_RANGE_FULL,          /* serve the whole representation with 200 */
  EH_RANGE_PARTIAL,       /* serve the ranges in the array with 206 */
  EH_RANGE_UNSATISFIABLE, /* answer 416 with Content-Range: bytes * / size */
} EhRangeResult;

/**
 * eh_range_parse:
 * @header: (nullable): the request's Range header value
 * @size: size of the representation in bytes
 * @max_ranges: most ranges accepted (a request with more is served whole)
 * @ranges: (out) (transfer full) (optional): on %EH_RANGE_PARTIAL, the
 *   ranges in request order, clamped to @size, non-overlapping
 *
 * Syntax errors, a unit other than `bytes`, more than @max_ranges ranges and
 * overlapping or adjacent ranges all yield %EH_RANGE_FULL (RFC 9110 lets a
 * server ignore Range); a well-formed set where no range overlaps the
 * representation yields %EH_RANGE_UNSATISFIABLE.
 */
EhRangeResult eh_range_parse (const char *header, goffset size, guint max_ranges, GArray **ranges);

/**
 * eh_range_respond_bytes:
 * @msg: the server message
 * @range_header: (nullable): the Range value as the client sent it
 *   (eh_request_get_range() gives it; the front already removed it from @msg)
 * @body: the full representation
 * @content_type: its media type
 *
 * Answers @msg with 200, 206 (single range, or multipart/byteranges for
 * several) or 416, with Content-Range, Accept-Ranges and Content-Type set.
 * Response size is bounded by the size of @body plus multipart framing.
 */
void eh_range_respond_bytes (SoupServerMessage *msg, const char *range_header, GBytes *body,
                             const char *content_type);

G_END_DECLS
