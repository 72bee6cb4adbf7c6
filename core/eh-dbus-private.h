/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-core-private.h"

G_BEGIN_DECLS

/*
 * The D-Bus admin service: org.ehttpd.Daemon at /org/ehttpd and the
 * plugins' interfaces under /org/ehttpd/Plugin/. Every call first resolves
 * the caller's uid from the bus, logs it, and checks admin rights for
 * methods annotated org.ehttpd.Admin.
 */

typedef void (*EhDbusReloadFunc) (gpointer user_data, GError **error);

/* @bus_type: G_BUS_TYPE_SYSTEM, or SESSION for tests and `make run` */
EhDbusService *eh_dbus_service_new (EhCore *core, GBusType bus_type, EhDbusReloadFunc reload,
                                    gpointer user_data, GError **error);
void eh_dbus_service_free (EhDbusService *dbus);
/* whether the bus has answered our request for the name (ours or not):
 * until then ehttpctl could not reach us, so the daemon is not ready */
gboolean eh_dbus_service_name_settled (EhDbusService *dbus);

/* is @uid root, or a member of @admin_group (NULL or "": nobody else)? */
gboolean eh_dbus_uid_is_admin (guint uid, const char *admin_group);

G_END_DECLS
