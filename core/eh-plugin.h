/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-config.h"

G_BEGIN_DECLS

/*
 * The plugin contract. A plugin is a shared module exporting exactly one
 * symbol, `eh_plugin_describe`, which returns the plugin's description when
 * the core's ABI version is the one the plugin was built for (and NULL
 * otherwise). Write it with EH_PLUGIN_DEFINE().
 *
 * Life cycle: loaded → starting → running | failed; a plugin not named in
 * `plugins=` but present is `disabled`. start() runs on the main context
 * and must call eh_plugin_start_done() exactly once, now or later (slow
 * work goes to a thread and comes back). A plugin that fails to start has
 * its endpoints answer 503 and its bus responders removed; the others keep
 * serving.
 */

#define EH_PLUGIN_ABI_VERSION 2
#define EH_PLUGIN_FACTORY_SYMBOL "eh_plugin_describe"

typedef struct _EhPlugin EhPlugin;

typedef enum {
  EH_PLUGIN_STATE_LOADED,
  EH_PLUGIN_STATE_STARTING,
  EH_PLUGIN_STATE_RUNNING,
  EH_PLUGIN_STATE_FAILED,
  EH_PLUGIN_STATE_DISABLED,
} EhPluginState;

/**
 * EhPluginDesc:
 * @abi_version: EH_PLUGIN_ABI_VERSION at the plugin's build time
 * @name: the role name; also its config group and log domain suffix
 * @description: one line for `ehttpctl plugins`
 * @test_only: refused unless the daemon runs with --allow-test-plugins
 * @config_keys: (nullable): the plugin's config group, ending with EH_CONFIG_KEY_END
 * @start: begin serving; call eh_plugin_start_done() when ready or failed
 * @stop: (nullable): release everything; called once, on the main context
 * @reload: (nullable): re-read configuration (SIGHUP, D-Bus Reload)
 * @role: (nullable): the role named in the host's role certificate; NULL:
 *   @name for a role plugin, none for a test plugin. A test plugin that
 *   stands in for a role (to test enrolment before that role exists) sets it.
 */
typedef struct {
  guint abi_version;
  const char *name;
  const char *description;
  gboolean test_only;
  const EhConfigKey *config_keys;
  void (*start) (EhPlugin *plugin);
  void (*stop) (EhPlugin *plugin);
  gboolean (*reload) (EhPlugin *plugin, GError **error);
  const char *role;
} EhPluginDesc;

typedef const EhPluginDesc *(*EhPluginFactory) (guint core_abi_version);

/* the module's one exported symbol */
#define EH_PLUGIN_DEFINE(desc)                                                                     \
  G_MODULE_EXPORT const EhPluginDesc *eh_plugin_describe (guint core_abi_version);              \
  G_MODULE_EXPORT const EhPluginDesc *eh_plugin_describe (guint core_abi_version)               \
  {                                                                                                \
    return core_abi_version == EH_PLUGIN_ABI_VERSION ? &(desc) : NULL;                             \
  }

const char *eh_plugin_get_name (EhPlugin *plugin);
EhPluginState eh_plugin_get_state (EhPlugin *plugin);
const char *eh_plugin_state_to_string (EhPluginState state);

/**
 * eh_plugin_start_done:
 * @error: (nullable): why the start failed, or %NULL on success
 */
void eh_plugin_start_done (EhPlugin *plugin, const GError *error);

/* the plugin's own state, freed with @destroy when the plugin stops */
void eh_plugin_set_data (EhPlugin *plugin, gpointer data, GDestroyNotify destroy);
gpointer eh_plugin_get_data (EhPlugin *plugin);

/* the host's configuration (the plugin's group is checked before start) */
EhConfig *eh_plugin_get_config (EhPlugin *plugin);
/* the host's state directory, and a private 0700 directory for this plugin in it */
const char *eh_plugin_get_state_dir (EhPlugin *plugin);
char *eh_plugin_ensure_private_dir (EhPlugin *plugin, GError **error);

G_END_DECLS
