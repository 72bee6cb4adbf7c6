/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-bus.h"
#include "eh-config.h"
#include "eh-tls-private.h"

G_BEGIN_DECLS

/*
 * EhIdentity: this host's site-issued role certificate. Once every plugin
 * has started, it makes a key on this host (the key never leaves it), asks
 * `ca.role-certificate.issue` on the bus for the host's names and roles —
 * answered by the local ca plugin, or over the bus link by the site's,
 * with the configured join token the first time — and installs the chain:
 * new connections get it, open ones keep theirs. It renews at 2/3 of the
 * lifetime, a little early by a random amount so a fleet does not renew at
 * once, and retries with backoff when the ca cannot be reached.
 *
 * A host with a configured PKI certificate (`tls-certificate=`) or with no
 * role plugins (only test plugins) asks for nothing.
 */

typedef struct _EhIdentity EhIdentity;

/**
 * eh_identity_new:
 * @roles: the role plugins of this host (copied)
 */
EhIdentity *eh_identity_new (EhBus *bus, EhTls *tls, EhConfig *config, const char *state_dir,
                             const char *const *roles);
void eh_identity_free (EhIdentity *identity);

/* call once every plugin has started or failed */
void eh_identity_start (EhIdentity *identity);

/* renews now; @callback gets the result (eh_identity_renew_finish) */
void eh_identity_renew (EhIdentity *identity, GAsyncReadyCallback callback, gpointer user_data);
/* (transfer full) a{sv}: serial, fingerprint, not-after */
GVariant *eh_identity_renew_finish (EhIdentity *identity, GAsyncResult *result, GError **error);

/* the names this host asks for: [site] names, or its host name, localhost
 * and the HTTPS listen addresses (transfer full) */
GStrv eh_identity_default_names (EhConfig *config);

G_END_DECLS
