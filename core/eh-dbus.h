/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-plugin.h"

G_BEGIN_DECLS

/*
 * D-Bus interfaces of plugins, exported by the core at
 * /org/ehttpd/Plugin/<name> on the daemon's bus name.
 *
 * A method annotated `<annotation name="org.ehttpd.Admin" value="true"/>`
 * is for admins only: the core asks the bus for the caller's uid and
 * refuses anyone but root and members of the configured admin group before
 * the plugin's handler runs. Every call is logged with the caller's uid.
 * Handlers must not block: answer the invocation now or later.
 */

#define EH_DBUS_NAME "org.ehttpd"
#define EH_DBUS_PATH "/org/ehttpd"
#define EH_DBUS_PLUGIN_PATH_PREFIX "/org/ehttpd/Plugin/"
#define EH_DBUS_ADMIN_ANNOTATION "org.ehttpd.Admin"

/**
 * EhDbusMethodFunc:
 * @caller_uid: the uid the bus reported for the caller
 */
typedef void (*EhDbusMethodFunc) (EhPlugin *plugin, const char *method, GVariant *parameters,
                                  guint caller_uid, GDBusMethodInvocation *invocation,
                                  gpointer user_data);

/**
 * eh_plugin_export_dbus:
 * @introspection_xml: a `<node>` with exactly one interface named
 *   `org.ehttpd.<Something>`
 */
gboolean eh_plugin_export_dbus (EhPlugin *plugin, const char *introspection_xml,
                                EhDbusMethodFunc func, gpointer user_data, GError **error);

/* answers @invocation with an EH_ERROR as its D-Bus error */
void eh_dbus_return_error (GDBusMethodInvocation *invocation, const GError *error);

/**
 * eh_dbus_return:
 * @result: (transfer floating) (nullable): the reply tuple
 * @error: (nullable): why there is none
 *
 * Answers a method handler's outcome: @result, else @error, else "unknown
 * method @method".
 */
void eh_dbus_return (GDBusMethodInvocation *invocation, const char *method, GVariant *result,
                     const GError *error);

G_END_DECLS
