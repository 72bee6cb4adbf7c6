/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-tls-stream-private.h"

G_BEGIN_DECLS

/*
 * EhTls: the host's TLS identity and policy. Server sessions are GnuTLS
 * sessions of our own (eh-tls-stream) with this priority and one session
 * ticket key; the same priority is also given to glib-networking, before
 * its first use, for any TLS client in the process. The certificate can be
 * replaced at any time: each new connection takes the current one,
 * connections already open keep theirs.
 */

/* TLS 1.3 and 1.2, AEAD suites with ECDHE only, X25519 first (the cheapest
 * key exchange, as other servers negotiate it); renegotiation is refused by
 * eh-tls-stream */
#define EH_TLS_DEFAULT_PRIORITY                                                                    \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"           \
  "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"                          \
  "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE"

typedef struct _EhTls EhTls;

/* must run before any TLS connection is created in the process */
gboolean eh_tls_set_priority (const char *priority, GError **error);

/* @priority: the GnuTLS priority string for every server session */
EhTls *eh_tls_new (const char *priority, GError **error);
void eh_tls_free (EhTls *tls);

/**
 * eh_tls_load:
 * @chain_path: PEM file with the chain, leaf first (may also hold the key)
 * @key_path: (nullable): PEM file with the key; %NULL: read it from @chain_path
 *
 * Checks the pair (key matches leaf, chain order, validity dates) and makes
 * it current. On error the current certificate is left as it was.
 */
gboolean eh_tls_load (EhTls *tls, const char *chain_path, const char *key_path, GError **error);

/**
 * eh_tls_install:
 * @dest_path: where to keep chain and key together (mode 0600, atomic replace)
 *
 * Checks the pair, stores it, and makes it current.
 */
gboolean eh_tls_install (EhTls *tls, const char *chain_pem, const char *key_pem,
                         const char *dest_path, GError **error);

/* (nullable) (transfer none) the certificate for new connections */
GTlsCertificate *eh_tls_get_certificate (EhTls *tls);
/* (nullable) (transfer none) what a new server session needs; NULL without a certificate */
EhTlsServerParams *eh_tls_get_server_params (EhTls *tls);
/* (nullable) "sha256:…" of the current leaf */
const char *eh_tls_get_fingerprint (EhTls *tls);
gint64 eh_tls_get_not_after (EhTls *tls);

/* called after every change of certificate */
void eh_tls_set_changed_func (EhTls *tls, GCallback func, gpointer user_data);

G_END_DECLS
