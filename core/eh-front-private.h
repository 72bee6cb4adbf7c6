/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-front.h"
#include "eh-quick.h"
#include "eh-tls-private.h"

G_BEGIN_DECLS

/*
 * EhFront: the HTTP and HTTPS listeners. It owns the accept loop (libsoup
 * never listens on a network socket), applies the connection caps, runs
 * the TLS handshake under the header deadline, checks every request with
 * EhFraming and routes checked requests to plugin endpoints.
 */

typedef struct _EhFront EhFront;

typedef struct {
  guint max_connections;             /* all listeners together */
  guint max_connections_per_address; /* per peer IP */
  guint header_timeout_ms;
  guint idle_timeout_ms;
  gsize max_uri_bytes;
  gsize max_head_bytes;
  guint max_header_count;
  guint64 max_body_unrouted; /* body cap for paths no endpoint serves */
  guint backlog;
  gboolean access_log;
  gboolean quick_answers; /* small GET/HEAD answered without libsoup (eh-quick.h) */
} EhFrontLimits;

void eh_front_limits_init_defaults (EhFrontLimits *limits);

EhFront *eh_front_new (const EhFrontLimits *limits, EhTls *tls);
void eh_front_free (EhFront *front);

/**
 * eh_front_listen:
 * @address: "IP:PORT" or "[IPv6]:PORT"; port 0 picks a free one
 * @https: serve TLS on it
 *
 * An HTTPS listener accepts only while the host has a certificate; until
 * then connections wait in the backlog.
 */
gboolean eh_front_listen (EhFront *front, const char *address, gboolean https, GError **error);
/* (transfer full) "http://127.0.0.1:8080", … for every listener */
GStrv eh_front_get_urls (EhFront *front);

gboolean eh_front_add_endpoint (EhFront *front, EhPlugin *owner, const EhEndpoint *endpoint,
                                gpointer user_data, GError **error);
gboolean eh_front_add_quick_handler (EhFront *front, EhPlugin *owner, const char *method,
                                     const char *path_prefix, EhQuickHandler handler,
                                     gpointer user_data, GError **error);
/* drops the endpoints of @owner (when it stops) */
void eh_front_remove_endpoints (EhFront *front, EhPlugin *owner);

/* call when the certificate changed, so a waiting HTTPS listener opens */
void eh_front_certificate_changed (EhFront *front);


guint eh_front_get_connection_count (EhFront *front);
/* requests answered since start, and of them those answered quickly (eh-quick.h) */
void eh_front_get_request_counts (EhFront *front, guint64 *answered, guint64 *answered_quickly);

/* serves @socket_conn, a connection of this process (eh-front-adopt.c), as
 * if @https_url's listener had accepted it, while that listener accepts */
gboolean eh_front_adopt (EhFront *front, const char *https_url, GSocketConnection *socket_conn, GError **error);

/* stop accepting and close idle connections; requests in progress finish */
void eh_front_begin_shutdown (EhFront *front);

G_END_DECLS
