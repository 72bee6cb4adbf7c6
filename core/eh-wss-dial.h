/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * One outbound WebSocket over TLS to another ehttpd host: TCP, TLS 1.2+,
 * the server's certificate checked by us (never the system trust store),
 * the host's site-issued certificate presented when it has one, and the
 * RFC 6455 opening handshake for one subprotocol. Used by the bus link
 * (docs/link.md) and by the cmg-connector's tunnels. One attempt; whoever
 * dials decides about retries and deadlines (cancel @cancellable).
 */
typedef struct {
  const char *host;
  guint16 port;
  const char *path;        /* e.g. "/ehttpd/link" */
  const char *subprotocol; /* the one Sec-WebSocket-Protocol offered and accepted */
  /* the server's chain must reach this root (SHA-256 of its DER)… */
  const guint8 *root_sha256; /* (nullable) */
  const char *root_text;     /* (nullable) the pin as configured, for messages */
  /* …or verify against these anchors (a PEM file), when root_sha256 is NULL */
  const char *ca_file; /* (nullable) */
  /* presented when the file exists: chain and key, PEM */
  const char *client_pem; /* (nullable) */
} EhWssDialOptions;

/*
 * Everything the attempt made: the TLS stream to speak WebSocket on,
 * the bytes already read past the 101 answer, and whether a client
 * certificate was presented.
 */
typedef struct {
  GIOStream *stream; /* (owned) */
  GBytes *rest;      /* (owned) */
  gboolean presented;
} EhWssDialed;

void eh_wss_dialed_free (EhWssDialed *dialed);

/**
 * eh_wss_dial_async:
 *
 * @options is copied. The result: an #EhWssDialed, or an error —
 * EH_ERROR_PERMISSION_DENIED when the server refused the upgrade (the
 * message is its status line: "403 Forbidden"), EH_ERROR_TLS when its certificate was
 * refused, another code for anything else.
 */
void eh_wss_dial_async (const EhWssDialOptions *options, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data);
/* Returns: (transfer full) (nullable) */
EhWssDialed *eh_wss_dial_finish (GAsyncResult *result, GError **error);

/* closes a dialed stream off the main context (TLS close may wait for the socket) */
void eh_wss_close_stream (GIOStream *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhWssDialed, eh_wss_dialed_free)

G_END_DECLS
