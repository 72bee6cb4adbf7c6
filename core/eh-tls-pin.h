/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * eh_tls_verify_pinned:
 * @peer: the certificate a TLS server sent (its issuers linked as GIO gives them)
 * @root_sha256: the SHA-256 of the pinned root's DER
 * @root_text: (nullable): the pin as configured, for messages
 * @host: the host name or address the server must name
 *
 * What an ehttpd client trusts of its upstream, whatever the system trust
 * store says: the chain must reach the pinned root, verify up to it (TLS
 * server purpose, dates), and the leaf must name @host. Used by the bus
 * link and by edge DPs pulling content.
 * Returns: %FALSE with an EH_ERROR_TLS @error saying why
 */
gboolean eh_tls_verify_pinned (GTlsCertificate *peer, const guint8 root_sha256[32], const char *root_text,
                               const char *host, GError **error);

G_END_DECLS
