/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "eh-plugin.h"

G_BEGIN_DECLS

/*
 * Endpoints. The core owns the listeners and checks every request (framing,
 * URI and header sizes, deadlines, connection caps, body caps) before any
 * plugin code runs. A plugin registers path prefixes; the longest matching
 * prefix wins, on whole path segments ("/a" matches "/a" and "/a/b", not
 * "/ab").
 *
 * The Range header is removed from every request before the handler runs,
 * so libsoup never applies ranges itself; handlers that serve ranges read
 * it with eh_request_get_range() and answer through eh-range.h.
 */

typedef enum {
  EH_SCHEME_HTTP = 1 << 0,
  EH_SCHEME_HTTPS = 1 << 1,
  EH_SCHEME_BOTH = EH_SCHEME_HTTP | EH_SCHEME_HTTPS,
} EhSchemes;

#define EH_ENDPOINT_DEFAULT_MAX_BODY 0 /* no request body at all */

typedef struct _EhRequest EhRequest;

/* the request header a relay (the cmg gateway and connector) carries its
 * correlation id in; the access log shows it, so one id finds a request in
 * the gateway's, the connector's and the MP's logs */
#define EH_CORRELATION_HEADER "X-Ehttpd-Correlation-Id"

/* runs on the main context; may pause the message and answer later */
typedef void (*EhEndpointHandler) (EhRequest *request, gpointer user_data);

/**
 * EhEndpoint:
 * @method: (nullable): the one method served (HEAD follows GET); NULL: any
 * @path_prefix: absolute path prefix, e.g. "/SMS_MP"
 * @schemes: where it is served
 * @max_body: largest request body accepted; larger → 413 before the handler
 * @handler: the handler
 */
typedef struct {
  const char *method;
  const char *path_prefix;
  EhSchemes schemes;
  guint64 max_body;
  EhEndpointHandler handler;
} EhEndpoint;

gboolean eh_plugin_add_endpoint (EhPlugin *plugin, const EhEndpoint *endpoint, gpointer user_data,
                                 GError **error);

/* (transfer full) the URLs of this host's listeners ("https://127.0.0.1:8443", …) */
GStrv eh_plugin_get_listener_urls (EhPlugin *plugin);

/* (transfer none) the libsoup message to answer */
SoupServerMessage *eh_request_get_message (EhRequest *request);
/* the request path (decoded by libsoup) */
const char *eh_request_get_path (EhRequest *request);
/* the part of the path after the endpoint's prefix ("" or starting with '/') */
const char *eh_request_get_subpath (EhRequest *request);
gboolean eh_request_is_https (EhRequest *request);
/* the Range header the client sent (removed from the message), or NULL */
const char *eh_request_get_range (EhRequest *request);
/* (nullable) (transfer none) the leaf certificate the TLS client sent, if
 * any. HTTPS listeners ask every client for one and never require it. It is
 * NOT verified (GnuTLS only checked that the client holds its key):
 * verifying it — issuer, dates, revocation, roles — is the caller's job */
GTlsCertificate *eh_request_get_peer_certificate (EhRequest *request);
/* the peer's IP address as text */
const char *eh_request_get_peer_address (EhRequest *request);
/* a short id shared with the access log line of this request */
const char *eh_request_get_id (EhRequest *request);

/* answers with @status and a short text/plain body (no secrets in @text) */
void eh_request_respond_text (EhRequest *request, guint status, const char *text);

/**
 * eh_front_upgrade:
 * @request: a request whose 101 answer was just written (call from the
 *   message's "wrote-informational")
 * @raw: (out) (transfer full): the connection's own TLS (or TCP) stream, past
 *   the request checker, to speak the new protocol on
 *
 * Takes the connection from libsoup for another protocol. It keeps its
 * place in the connection caps until closed, and is ended at shutdown.
 * Returns: (transfer full) (nullable): the connection; close it when done,
 * which ends it and frees its place. NULL when it is already gone.
 * @request may be gone once this returns.
 */
GIOStream *eh_front_upgrade (EhRequest *request, GIOStream **raw);

G_END_DECLS
