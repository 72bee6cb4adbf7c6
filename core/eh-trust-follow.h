/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-bus.h"

G_BEGIN_DECLS

/**
 * EhTrustFollowFunc:
 * @payload: an a{sv} with EH_KEY_BUNDLE_JSON and EH_KEY_VERSION: the reply
 *   of ca.trust-bundle.get, or a ca.trust-bundle.changed event
 *
 * Returns: %TRUE when the role took it; %FALSE asks again later
 */
typedef gboolean (*EhTrustFollowFunc) (GVariant *payload, gpointer user_data);

typedef struct _EhTrustFollow EhTrustFollow;

/* asks for the site's trust bundle now, again with backoff until @take
 * takes one, again whenever the bus link comes up, and hands every
 * ca.trust-bundle.changed to @take */
EhTrustFollow *eh_trust_follow_new (EhBus *bus, EhTrustFollowFunc take, gpointer user_data);
/* cancels what is in flight: @take is never called after this */
void eh_trust_follow_free (EhTrustFollow *follow);
/* asks again now */
void eh_trust_follow_refresh (EhTrustFollow *follow);
/* (nullable) why there is none yet */
const char *eh_trust_follow_get_error (EhTrustFollow *follow);

G_END_DECLS
