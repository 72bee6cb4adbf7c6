/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-plugin.h"

G_BEGIN_DECLS

/*
 * Quick answers. A small GET or HEAD that an endpoint can answer at once
 * from memory, or a POST whose small body is all there, need not go
 * through libsoup's per-message machinery: the
 * front parses the checked head itself, offers it to the endpoint's quick
 * handler, and writes head and body in one go (one TLS record for a small
 * body). The request passed every check the ordinary path applies first
 * (framing, sizes, deadlines, routing, scheme, the plugin running); it gets
 * a request id and an access log line like any other.
 *
 * A quick handler runs on the main context, synchronously: it answers with
 * eh_quick_request_answer() (or _answer_text()) and returns %TRUE, or
 * returns %FALSE having answered nothing, and the very same bytes go to the
 * endpoint's ordinary handler through libsoup. It must not block, and must
 * not keep @request past its return but through eh_quick_request_hold(),
 * which lets it answer later (after work on other threads). A request is only offered when nothing
 * before it on the connection is still being answered by libsoup, so
 * pipelined answers keep their order; quick answers can be switched off
 * (`[front] quick-answers=false`), so a quick handler must answer exactly
 * as the ordinary handler would.
 */

typedef struct _EhQuickRequest EhQuickRequest;

typedef gboolean (*EhQuickHandler) (EhQuickRequest *request, gpointer user_data);

/**
 * eh_plugin_add_quick_handler:
 * @method: the method of an endpoint @plugin added ("GET" also offers HEAD; or "POST")
 * @path_prefix: the path prefix of that endpoint
 *
 * Gives the endpoint a quick handler (see above).
 */
gboolean eh_plugin_add_quick_handler (EhPlugin *plugin, const char *method, const char *path_prefix,
                                      EhQuickHandler handler, gpointer user_data, GError **error);

/* "GET", "HEAD" or "POST" */
const char *eh_quick_request_get_method (EhQuickRequest *request);
gboolean eh_quick_request_is_head (EhQuickRequest *request);
/* the path, percent-decoded as eh_request_get_path() gives it */
const char *eh_quick_request_get_path (EhQuickRequest *request);
/* the part of the path after the endpoint's prefix ("" or starting with '/') */
const char *eh_quick_request_get_subpath (EhQuickRequest *request);
/* (nullable) the query, still percent-encoded */
const char *eh_quick_request_get_query (EhQuickRequest *request);
/* (nullable) a request header's value (the last one when repeated) */
const char *eh_quick_request_get_header (EhQuickRequest *request, const char *name);
/* (nullable) the Range header, as eh_request_get_range() */
const char *eh_quick_request_get_range (EhQuickRequest *request);
gboolean eh_quick_request_is_https (EhQuickRequest *request);
/* (nullable) (transfer none) as eh_request_get_peer_certificate(): NOT verified */
GTlsCertificate *eh_quick_request_get_peer_certificate (EhQuickRequest *request);
const char *eh_quick_request_get_peer_address (EhQuickRequest *request);
/* the id the access log line of this request carries */
const char *eh_quick_request_get_id (EhQuickRequest *request);

/* (nullable) a POST's body, whole (the endpoint's cap holds); NULL for GET and HEAD */
GBytes *eh_quick_request_get_body (EhQuickRequest *request);

/**
 * eh_quick_request_hold:
 *
 * Keeps @request past the handler's return, to answer it later on the main
 * context (the handler returns %TRUE without answering). Nothing later on
 * the connection is offered or passed to libsoup until it is answered and
 * written. If the connection ends first, the answer is dropped.
 * Returns: (transfer full): the request to answer, then unref
 */
EhQuickRequest *eh_quick_request_hold (EhQuickRequest *request);
void eh_quick_request_unref (EhQuickRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhQuickRequest, eh_quick_request_unref)

/* adds a response header (before answering); @name and @value are copied */
void eh_quick_request_add_header (EhQuickRequest *request, const char *name, const char *value);
/**
 * eh_quick_request_answer:
 * @content_type: (nullable): the Content-Type, when there is a body
 * @body: (nullable): the body (referenced); its length is the Content-Length,
 *   also for HEAD, which sends no body
 *
 * Answers @request. 304 and 204 answers carry no body.
 */
void eh_quick_request_answer (EhQuickRequest *request, guint status, const char *content_type,
                              GBytes *body);
/* answers with @status and a short text/plain body, as eh_request_respond_text() */
void eh_quick_request_answer_text (EhQuickRequest *request, guint status, const char *text);

G_END_DECLS
