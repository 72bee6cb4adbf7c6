/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ehttpd.h"

/* a plugin built against a future core: the loader must refuse it */
G_MODULE_EXPORT const EhPluginDesc *eh_plugin_describe (guint core_abi_version);

G_MODULE_EXPORT const EhPluginDesc *
eh_plugin_describe (guint core_abi_version)
{
  return NULL;
}
