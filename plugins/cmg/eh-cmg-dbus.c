/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-cmg.h"

/* org.ehttpd.Cmg: what `ehttpctl cmg status|mappings|connections` shows; read-only */

static const char eh_cmg_dbus_xml[] =
  "<node>"
  "  <interface name='org.ehttpd.Cmg'>"
  "    <method name='GetStatus'><arg type='a{sv}' direction='out'/></method>"
  "    <method name='ListMappings'><arg type='aa{sv}' direction='out'/></method>"
  "    <method name='ListConnections'><arg type='aa{sv}' direction='out'/></method>"
  "  </interface>"
  "</node>";

const char *
eh_cmg_state (EhCmg *cmg)
{
  return eh_cmg_tunnel_any (cmg) ? "connected" : EH_CMG_E_NOT_CONNECTED;
}

static GVariant *
eh_cmg_dbus_status (EhCmg *cmg)
{
  GVariantDict dict;
  guint connected = 0;
  g_autoptr (GVariant) connections = eh_cmg_tunnel_describe_all (cmg);
  GVariantIter iter;
  GVariant *row;

  g_variant_iter_init (&iter, connections);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *state = NULL;

    if (g_variant_lookup (row, "state", "&s", &state) && g_strcmp0 (state, "up") == 0)
      connected++;
    g_variant_unref (row);
  }
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "gateway", "s", cmg->name);
  g_variant_dict_insert (&dict, "state", "s", eh_cmg_state (cmg));
  g_variant_dict_insert (&dict, "connectors", "u", connected);
  g_variant_dict_insert (&dict, "site", "s", cmg->bundle != NULL ? eh_dp_bundle_get_site (cmg->bundle) : "");
  g_variant_dict_insert (&dict, "trust-bundle-version", "t",
                         cmg->bundle != NULL ? eh_dp_bundle_get_version (cmg->bundle) : 0);
  g_variant_dict_insert (&dict, "relayed", "t", cmg->relayed);
  g_variant_dict_insert (&dict, "in-flight", "u", g_hash_table_size (cmg->relays));
  g_variant_dict_insert (&dict, "window-grown", "t", (guint64) cmg->window_grown);
  g_variant_dict_insert (&dict, "refused-token", "t", cmg->refused_token);
  g_variant_dict_insert (&dict, "refused-unmapped", "t", cmg->refused_unmapped);
  g_variant_dict_insert (&dict, "not-connected", "t", cmg->not_connected);
  g_variant_dict_insert (&dict, "upstream-failed", "t", cmg->upstream_failed);
  return g_variant_dict_end (&dict);
}

static void
eh_cmg_dbus_call (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                  GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhCmg *cmg = user_data;
  GVariant *result = NULL;

  if (g_strcmp0 (method, "GetStatus") == 0)
    result = g_variant_new ("(@a{sv})", eh_cmg_dbus_status (cmg));
  else if (g_strcmp0 (method, "ListMappings") == 0)
    result = g_variant_new ("(@aa{sv})", eh_cmg_tunnel_mappings (cmg));
  else if (g_strcmp0 (method, "ListConnections") == 0)
    result = g_variant_new ("(@aa{sv})", eh_cmg_tunnel_describe_all (cmg));
  eh_dbus_return (invocation, method, result, NULL);
}

gboolean
eh_cmg_dbus_export (EhCmg *cmg, GError **error)
{
  return eh_plugin_export_dbus (cmg->plugin, eh_cmg_dbus_xml, eh_cmg_dbus_call, cmg, error);
}
