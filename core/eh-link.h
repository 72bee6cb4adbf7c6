/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-bus-private.h"
#include "eh-config.h"
#include "eh-front-private.h"

G_BEGIN_DECLS

/*
 * EhLink: the host's bus link, both ways (docs/link.md). It is the hub's
 * one EhBusLinkFuncs: a request with no local responder goes to the
 * upstream site (when `[site] upstream=` is set); a linkable event
 * published here goes up to the site and down every authenticated link of
 * the link server; an event that came down from the site goes on down.
 */

typedef struct _EhLink EhLink;

/**
 * eh_link_new:
 * @site_group: the config group with upstream= and root-fingerprint=
 *
 * Registers the link endpoint on @front; checks the [site] settings.
 * Returns: NULL with an EH_ERROR_INVALID_CONFIG @error for wrong settings.
 */
EhLink *eh_link_new (EhBusHub *hub, EhFront *front, EhConfig *config, const char *site_group,
                     const char *state_dir, GError **error);
/* dials the upstream, if any */
void eh_link_start (EhLink *link);
/* closes every link now */
void eh_link_free (EhLink *link);

/* for GetStatus */
void eh_link_add_status (EhLink *link, GVariantDict *dict);

G_END_DECLS
