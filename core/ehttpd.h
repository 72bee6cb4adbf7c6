/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/*
 * The one header a plugin includes. Everything else in core/ is private
 * to the core (tests/check-headers.py enforces this).
 */

#include "eh-bus-topics.h"
#include "eh-bus.h"
#include "eh-config.h"
#include "eh-crypto.h"
#include "eh-dbus.h"
#include "eh-error.h"
#include "eh-file.h"
#include "eh-front.h"
#include "eh-front-adopt.h"
#include "eh-json.h"
#include "eh-jws.h"
#include "eh-plugin.h"
#include "eh-quick.h"
#include "eh-range.h"
#include "eh-store.h"
#include "eh-text.h"
#include "eh-tls-pin.h"
#include "eh-trust-follow.h"
#include "eh-websocket.h"
#include "eh-wss-dial.h"

G_BEGIN_DECLS

/* the host's store, opened on first use (transfer none) */
EhStore *eh_plugin_get_store (EhPlugin *plugin, GError **error);

G_END_DECLS
