/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* sends @state ("READY=1", "STOPPING=1", …) to $NOTIFY_SOCKET when set */
void eh_sd_notify (const char *state);

/* the text of data/ehttpd.conf: every [core] key, commented out with its default */
char *eh_daemon_default_config (void);

G_END_DECLS
