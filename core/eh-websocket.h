/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/*
 * EhWebsocket: RFC 6455 framing over a pollable stream whose opening
 * handshake is already done, for the bus link. Our own rather than
 * libsoup's SoupWebsocketConnection, because libsoup 3.2.3 caps frames but
 * not messages (it accumulates fragments without bound) and reads through
 * whatever stream it is given — here the raw TLS stream under the front's
 * request checker.
 *
 * Strict: binary messages only (a text message closes with 1003), RSV bits
 * must be 0, client frames must be masked and server frames must not be,
 * control frames are short and unfragmented, lengths use their shortest
 * encoding, a message over @max_message (fragments together) closes with
 * 1009. Pings are answered; a ping goes out every 30 s and a peer silent
 * for 90 s is dropped. Sends queue without bound only up to a cap; a peer
 * that stops reading is dropped. Everything runs on the main context.
 *
 * Bulk data costs few copies: a message is serialized once, into its frame
 * (eh_websocket_send_variant), masked in place when we are the client; a
 * long incoming frame is read straight into a buffer of its own, which
 * becomes the message. RFC 6455's masking is kept even over TLS (docs/cmg.md
 * says why and what it costs).
 */

typedef struct _EhWebsocket EhWebsocket;

typedef void (*EhWebsocketMessageFunc) (EhWebsocket *ws, GBytes *message, gpointer user_data);
/* called once, from the main loop, when the link is over; @reason says why */
typedef void (*EhWebsocketClosedFunc) (EhWebsocket *ws, const char *reason, gpointer user_data);
typedef void (*EhWebsocketDrainedFunc) (EhWebsocket *ws, gpointer user_data);

#define EH_WEBSOCKET_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/**
 * eh_websocket_new:
 * @stream: pollable input and output, already past the HTTP upgrade
 * @is_server: which side we are (decides masking)
 * @max_message: the largest message accepted, fragments together
 * @initial: (nullable): bytes already read after the upgrade response
 *
 * Starts reading at once. The caller owns the result and the stream;
 * it closes the stream itself once @closed ran or after eh_websocket_free().
 */
EhWebsocket *eh_websocket_new (GIOStream *stream, gboolean is_server, gsize max_message,
                               GBytes *initial, EhWebsocketMessageFunc message,
                               EhWebsocketClosedFunc closed, gpointer user_data);
/* stops at once (no close frame, no callback) and drops the object */
void eh_websocket_free (EhWebsocket *ws);

/* queues one binary message; ignored once closing */
void eh_websocket_send (EhWebsocket *ws, GBytes *message);
/* the same for a GVariant (transfer floating), serialized straight into its frame */
void eh_websocket_send_variant (EhWebsocket *ws, GVariant *message);
/* sends a close frame, waits briefly for the peer's, then reports closed */
void eh_websocket_close (EhWebsocket *ws, guint16 code, const char *reason);
gboolean eh_websocket_is_open (EhWebsocket *ws);
/* bytes queued and not yet written: a sender streaming much data holds back
 * while this is high, long before the peer is dropped for not reading */
gsize eh_websocket_get_queued (EhWebsocket *ws);
/* once: @func runs as soon as what is queued is at or below @below bytes
 * (a sender that held back resumes; no polling). A later call replaces it. */
void eh_websocket_notify_drained (EhWebsocket *ws, gsize below, EhWebsocketDrainedFunc func,
                                  gpointer user_data);

/* (transfer full) a fresh Sec-WebSocket-Key */
char *eh_websocket_make_key (void);
/* NULL when @headers are an RFC 6455 upgrade (version 13, a 16-byte key,
 * no extensions) offering @subprotocol; otherwise why not, for a 400 (or
 * 426 when there is no Upgrade header at all) */
const char *eh_websocket_check_upgrade (SoupMessageHeaders *headers, const char *subprotocol);
/* (transfer full) the Sec-WebSocket-Accept a server must answer @key with */
char *eh_websocket_accept_for_key (const char *key);

G_END_DECLS
