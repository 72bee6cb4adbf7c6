/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-cmg.h"

static const EhConfigKey eh_cmg_keys[] = {
  { "name", EH_CONFIG_STRING, NULL, 0, 0,
    "this gateway's name, attached to every relayed request (default: the host name)" },
  EH_CONFIG_KEY_END
};

static void
eh_cmg_free (gpointer data)
{
  EhCmg *cmg = data;

  eh_cmg_relay_stop_all (cmg);
  eh_cmg_tunnel_close_all (cmg);
  eh_cmg_trust_stop (cmg);
  g_ptr_array_unref (cmg->tunnels);
  g_hash_table_unref (cmg->relays);
  g_hash_table_unref (cmg->per_address);
  g_free (cmg->name);
  g_free (cmg);
}

static void
eh_cmg_start (EhPlugin *plugin)
{
  g_autoptr (GError) error = NULL;
  const char *name = eh_config_get_string (eh_plugin_get_config (plugin), "cmg", "name");
  EhCmg *cmg = g_new0 (EhCmg, 1);

  cmg->plugin = plugin;
  cmg->bus = eh_plugin_get_bus (plugin);
  cmg->name = g_strdup (name != NULL ? name : g_get_host_name ());
  cmg->tunnels = g_ptr_array_new ();
  cmg->relays = g_hash_table_new (NULL, NULL);
  cmg->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  eh_plugin_set_data (plugin, cmg, eh_cmg_free);
  /* tunnels free themselves through the array once the relays are gone */
  g_ptr_array_set_free_func (cmg->tunnels, (GDestroyNotify) eh_cmg_tunnel_destroy);
  if (!eh_cmg_tunnel_register (cmg, &error) || !eh_cmg_relay_register (cmg, &error) ||
      !eh_cmg_dbus_export (cmg, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_cmg_trust_start (cmg);
  g_message ("gateway %s: waiting for connectors at " EH_CMG_WIRE_PATH, cmg->name);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_cmg_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "cmg",
  .description = "cloud management gateway: relays internet clients through connector tunnels",
  .config_keys = eh_cmg_keys,
  .start = eh_cmg_start,
};
