/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gnutls/gnutls.h>

G_BEGIN_DECLS

/*
 * EhTlsStream: the server side of one TLS connection, GnuTLS driven
 * directly on the accepted socket from the main loop — no handshake
 * thread, session tickets for resumption (sent right after the handshake,
 * which also spares clients a delayed-ACK stall), renegotiation refused.
 * Its input and output are pollable streams, as libsoup needs.
 */

#define EH_TYPE_TLS_STREAM (eh_tls_stream_get_type ())
G_DECLARE_FINAL_TYPE (EhTlsStream, eh_tls_stream, EH, TLS_STREAM, GIOStream)

/* what a session needs from the host's TLS context; refcounted, so a
 * certificate swap never pulls credentials from under an open session */
typedef struct _EhTlsServerParams EhTlsServerParams;

EhTlsServerParams *eh_tls_server_params_new (gnutls_certificate_credentials_t credentials,
                                             gnutls_priority_t priority,
                                             const gnutls_datum_t *ticket_key);
EhTlsServerParams *eh_tls_server_params_ref (EhTlsServerParams *params);
void eh_tls_server_params_unref (EhTlsServerParams *params);

typedef void (*EhTlsHandshakeDone) (EhTlsStream *stream, const GError *error, gpointer user_data);

EhTlsStream *eh_tls_stream_new (GSocketConnection *socket_conn, EhTlsServerParams *params,
                                GError **error);

/* runs the handshake on the main loop; @done is called once */
void eh_tls_stream_handshake (EhTlsStream *stream, EhTlsHandshakeDone done, gpointer user_data);
/* stops a handshake in progress (deadline passed); @done gets an error */
void eh_tls_stream_cancel_handshake (EhTlsStream *stream);

/* "TLS1.3", … once the handshake is done */
const char *eh_tls_stream_get_protocol (EhTlsStream *stream);
gboolean eh_tls_stream_is_resumed (EhTlsStream *stream);
/* (nullable) (transfer none) the leaf certificate the client sent, not
 * verified beyond its proof of key possession */
GTlsCertificate *eh_tls_stream_get_peer_certificate (EhTlsStream *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhTlsServerParams, eh_tls_server_params_unref)

G_END_DECLS
