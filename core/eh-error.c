/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "eh-error.h"

static const GDBusErrorEntry eh_error_entries[] = {
  { EH_ERROR_FAILED, "org.ehttpd.Error.Failed" },
  { EH_ERROR_INVALID_ARGUMENT, "org.ehttpd.Error.InvalidArgument" },
  { EH_ERROR_INVALID_CONFIG, "org.ehttpd.Error.InvalidConfig" },
  { EH_ERROR_NOT_FOUND, "org.ehttpd.Error.NotFound" },
  { EH_ERROR_EXISTS, "org.ehttpd.Error.Exists" },
  { EH_ERROR_PERMISSION_DENIED, "org.ehttpd.Error.PermissionDenied" },
  { EH_ERROR_PLUGIN, "org.ehttpd.Error.Plugin" },
  { EH_ERROR_NO_RESPONDER, "org.ehttpd.Error.NoResponder" },
  { EH_ERROR_TIMEOUT, "org.ehttpd.Error.Timeout" },
  { EH_ERROR_STORE, "org.ehttpd.Error.Store" },
  { EH_ERROR_MIGRATION, "org.ehttpd.Error.Migration" },
  { EH_ERROR_TLS, "org.ehttpd.Error.Tls" },
  { EH_ERROR_CRYPTO, "org.ehttpd.Error.Crypto" },
  { EH_ERROR_INVALID_TOKEN, "org.ehttpd.Error.InvalidToken" },
  { EH_ERROR_UNAVAILABLE, "org.ehttpd.Error.Unavailable" },
};

/* the table must name every code, in order */
G_STATIC_ASSERT (G_N_ELEMENTS (eh_error_entries) == EH_ERROR_LAST);

GQuark
eh_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("eh-error-quark", &quark, eh_error_entries,
                                      G_N_ELEMENTS (eh_error_entries));
  return (GQuark) quark;
}
