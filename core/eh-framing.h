/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * EhFraming: a strict, incremental HTTP/1.x request-framing checker.
 *
 * It sits between the socket and libsoup. Bytes from the wire are fed to it;
 * it says how many of them may be passed on. A request head is passed on
 * only once it is complete and valid, so libsoup never parses a head we
 * have not checked. Bodies are passed on as their framing (Content-Length or
 * chunked) says, which is how the checker finds where the next head begins.
 * It does no I/O and allocates nothing per byte.
 */

typedef struct _EhFraming EhFraming;

typedef struct {
  gsize max_uri_bytes;    /* request-target length; over it: 414 */
  gsize max_head_bytes;   /* whole head incl. request line; over it: 431 */
  guint max_header_count; /* over it: 431 */
} EhFramingLimits;

/* default limits: 2 KiB URI, 16 KiB head, 100 headers */
#define EH_FRAMING_DEFAULT_MAX_URI_BYTES 2048
#define EH_FRAMING_DEFAULT_MAX_HEAD_BYTES 16384
#define EH_FRAMING_DEFAULT_MAX_HEADER_COUNT 100

/**
 * EhFramingBodyCapFunc:
 * @method: the request method (NUL-terminated copy)
 * @path: the request-target's path, without query (NUL-terminated copy)
 * @user_data: data given to eh_framing_new()
 *
 * Returns: the largest body in bytes this request may carry; a declared
 * Content-Length or a chunked body beyond it is refused with 413.
 */
typedef guint64 (*EhFramingBodyCapFunc) (const char *method, const char *path, gpointer user_data);

typedef enum {
  EH_FRAMING_STATE_IDLE,    /* between requests: no byte of a head seen yet */
  EH_FRAMING_STATE_HEAD,    /* part of a head seen, not complete */
  EH_FRAMING_STATE_BODY,    /* inside a Content-Length body */
  EH_FRAMING_STATE_CHUNKED, /* inside a chunked body (sizes, data, trailers) */
  EH_FRAMING_STATE_FAILED,  /* refused; nothing more is passed on */
} EhFramingState;

EhFraming *eh_framing_new (const EhFramingLimits *limits, EhFramingBodyCapFunc body_cap,
                           gpointer user_data);
void eh_framing_free (EhFraming *framing);

/**
 * eh_framing_feed:
 * @framing: the checker
 * @pending: every byte received and not yet passed on, oldest first; the
 *   caller keeps this buffer and drops the first N bytes after a return of N
 * @len: length of @pending
 * @status: (out): on refusal, the HTTP status to answer (400, 413, 414, 431, 505)
 * @error: (out): on refusal, a message naming the reason (EH_ERROR_INVALID_ARGUMENT)
 *
 * Checks as much of @pending as it can. A head is only ever released whole,
 * together with nothing of the next request.
 *
 * Returns: how many leading bytes of @pending may be passed on (0 when more
 * input is needed), or -1 when the request is refused.
 */
gssize eh_framing_feed (EhFraming *framing, const guint8 *pending, gsize len, guint *status,
                        GError **error);

EhFramingState eh_framing_get_state (EhFraming *framing);

/* number of complete, valid heads released so far on this connection */
guint64 eh_framing_get_request_count (EhFraming *framing);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhFraming, eh_framing_free)

G_END_DECLS
