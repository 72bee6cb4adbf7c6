/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "eh-bus-private.h"
#include "eh-front-private.h"
#include "ehttpd.h"

G_BEGIN_DECLS

/*
 * EhCore: one host's daemon state — config, TLS, front, bus, store,
 * plugins. The daemon's main() and the tests drive it; plugins only ever
 * see it through their EhPlugin.
 */

typedef struct _EhCore EhCore;
typedef struct _EhDbusService EhDbusService;
typedef struct _EhLink EhLink;
typedef struct _EhIdentity EhIdentity;

#define EH_CORE_GROUP "core"
#define EH_SITE_GROUP "site"
#define EH_FRONT_GROUP "front"
#define EH_PLUGIN_FILE_PREFIX "ehttpd-plugin-"

struct _EhPlugin {
  EhCore *core;
  const EhPluginDesc *desc; /* NULL when it failed to load */
  char *name;
  char *path; /* NULL when registered in-process */
  EhPluginState state;
  char *error;
  EhBus *bus;
  gpointer data;
  GDestroyNotify data_destroy;
  GSource *start_timeout;
};

/* the [core] keys; data/ehttpd.conf is generated from these */
const EhConfigKey *eh_core_config_keys (void);
/* the [site] keys: the host's names and its link to the upstream site */
const EhConfigKey *eh_site_config_keys (void);
const EhConfigKey *eh_front_config_keys (void);

/* @config: (transfer full) */
EhCore *eh_core_new (EhConfig *config, gboolean allow_test_plugins, GError **error);
void eh_core_free (EhCore *core);

/* registers a plugin compiled into the process (tests, fuzzers) */
EhPlugin *eh_core_add_builtin_plugin (EhCore *core, const EhPluginDesc *desc);
/* loads the modules named in `plugins=`; failures are recorded, not fatal */
void eh_core_load_plugins (EhCore *core);
/* opens the listeners and starts every loaded plugin */
gboolean eh_core_start (EhCore *core, GError **error);
/* %TRUE once no plugin is still starting */
gboolean eh_core_is_settled (EhCore *core);
/* re-reads the config file and the TLS files, reloads plugins */
gboolean eh_core_reload (EhCore *core, const char *config_path, GError **error);
/* stops accepting; @done runs once open requests finished or @timeout_ms passed */
void eh_core_shutdown (EhCore *core, guint timeout_ms, GSourceFunc done, gpointer user_data);

GPtrArray *eh_core_get_plugins (EhCore *core);
EhFront *eh_core_get_front (EhCore *core);
EhTls *eh_core_get_tls (EhCore *core);
EhBusHub *eh_core_get_hub (EhCore *core);
EhConfig *eh_core_get_config (EhCore *core);
const char *eh_core_get_state_dir (EhCore *core);
gint64 eh_core_get_start_time (EhCore *core);
void eh_core_set_dbus (EhCore *core, EhDbusService *dbus);
EhDbusService *eh_core_get_dbus (EhCore *core);
/* (nullable) the bus link; NULL before eh_core_start() */
EhLink *eh_core_get_link (EhCore *core);
/* (nullable) the host's role certificate keeper; NULL before eh_core_start() */
EhIdentity *eh_core_get_identity (EhCore *core);

/* plugin internals shared by the loader and the core */
EhPlugin *eh_plugin_new (EhCore *core, const char *name, const char *path);
void eh_plugin_free (EhPlugin *plugin);
void eh_plugin_set_state (EhPlugin *plugin, EhPluginState state, const char *error);
/* checks and dlopens @path; NULL with an error naming the reason */
const EhPluginDesc *eh_plugin_load_module (const char *path, const char *name, GError **error);

G_END_DECLS
