/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-quick.h"

G_BEGIN_DECLS

/*
 * The front's side of quick answers: reading a checked head into an
 * EhQuickRequest, and writing the answer as bytes. The head has passed
 * EhFraming, so it is well formed; what is read here is only what libsoup
 * would derive from it (the URI, the decoded path), and anything libsoup
 * would refuse or treat specially is declined, so libsoup answers it.
 */

typedef struct {
  const char *name;
  const char *value;
} EhQuickField;

typedef struct {
  GString *head;    /* a copy of the head, cut into NUL-terminated pieces */
  GArray *fields;   /* EhQuickField, pointing into @head */
  GString *headers; /* response header lines the handler added */
} EhQuickScratch;

typedef void (*EhQuickDeliver) (EhQuickRequest *request, gpointer data);

struct _EhQuickRequest {
  EhQuickScratch *scratch;
  const char *method;
  gboolean head_only;
  gboolean http10;
  gboolean close; /* the client asked to close after this answer */
  GUri *uri;
  char *path; /* decoded */
  gsize prefix_len;
  GBytes *request_body; /* (nullable) a POST's whole body */
  gsize consumed;       /* head and body (beyond what was there: the body is not yet) */
  gint64 started;       /* monotonic µs, for the access log */
  gboolean https;
  const char *peer;
  GTlsCertificate *peer_certificate;
  char *id;
  char *(*make_id) (gpointer data);
  gpointer make_id_data;
  /* the answer */
  gboolean answered;
  guint status;
  char *content_type;
  GBytes *body;
  /* held (eh_quick_request_hold()): a copy on the heap with a scratch of its own */
  EhQuickRequest *held; /* on the front's request: the copy the handler holds */
  guint ref_count;      /* 0: the front's, on its stack */
  EhQuickScratch own_scratch;
  EhQuickDeliver deliver; /* set once the front waits for the answer */
  gpointer deliver_data;
  GDestroyNotify deliver_destroy;
};

void eh_quick_scratch_init (EhQuickScratch *scratch);
void eh_quick_scratch_clear (EhQuickScratch *scratch);

/**
 * eh_quick_request_parse:
 * @head: a complete head EhFraming released, CRLF CRLF included
 * @available: the checked bytes from @head on (at least @len)
 *
 * A POST whose body is not all there yet is read all the same, with
 * @consumed beyond @available and no body: the caller waits for the rest.
 * Returns: %FALSE (nothing to clear) when the request is not one for a
 * quick answer: another method, a chunked body or none declared, an
 * Expect, or anything libsoup would refuse or route differently
 */
gboolean eh_quick_request_parse (EhQuickRequest *request, EhQuickScratch *scratch,
                                 const guint8 *head, gsize len, gsize available, gboolean https);
/* the front waits for a held request's answer: @deliver runs once it is
 * answered (at once when it is already), @destroy when the request goes */
void eh_quick_request_await (EhQuickRequest *held, EhQuickDeliver deliver, gpointer data,
                             GDestroyNotify destroy);
void eh_quick_request_clear (EhQuickRequest *request);

/* does a (comma-separated) request header list @token? (any case) */
gboolean eh_quick_request_header_lists (EhQuickRequest *request, const char *name,
                                        const char *token);

/**
 * eh_quick_request_write:
 * @close: say "Connection: close"
 *
 * Appends the answer (status line, headers, body) to @out.
 * Returns: the body bytes sent (0 for HEAD)
 */
gsize eh_quick_request_write (EhQuickRequest *request, gboolean close, GByteArray *out);

G_END_DECLS
