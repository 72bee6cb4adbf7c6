/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-cmgc.h"

/* org.ehttpd.CmgConnector: what `ehttpctl cmg connector` shows; read-only */

static const char eh_cmgc_dbus_xml[] =
  "<node>"
  "  <interface name='org.ehttpd.CmgConnector'>"
  "    <method name='GetStatus'><arg type='a{sv}' direction='out'/></method>"
  "  </interface>"
  "</node>";

static GVariant *
eh_cmgc_traffic (EhCmgc *cmgc)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < cmgc->mappings->len; i++) {
    EhCmgcMapping *mapping = g_ptr_array_index (cmgc->mappings, i);
    GVariantDict row;

    g_variant_dict_init (&row, NULL);
    g_variant_dict_insert (&row, "id", "s", mapping->id);
    g_variant_dict_insert (&row, "kind", "s", mapping->kind);
    g_variant_dict_insert (&row, "dp", "s", mapping->dp_name);
    g_variant_dict_insert (&row, "url", "s", mapping->base);
    /* "internal": this host's own front, over an internal connection; "https": over TLS */
    g_variant_dict_insert (&row, "upstream", "s", mapping->internal ? "internal" : "https");
    g_variant_dict_insert (&row, "requests", "t", mapping->requests);
    g_variant_dict_insert (&row, "bytes-in", "t", mapping->bytes_in);
    g_variant_dict_insert (&row, "bytes-out", "t", mapping->bytes_out);
    g_variant_dict_insert (&row, "errors", "t", mapping->errors);
    g_variant_builder_add_value (&builder, g_variant_dict_end (&row));
  }
  return g_variant_builder_end (&builder);
}

static GVariant *
eh_cmgc_status (EhCmgc *cmgc)
{
  GVariantBuilder tunnels;
  GVariantDict dict;
  guint up = 0;

  g_variant_builder_init (&tunnels, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < cmgc->tunnels->len; i++) {
    EhCmgcTunnel *tunnel = g_ptr_array_index (cmgc->tunnels, i);

    up += eh_cmgc_tunnel_is_up (tunnel);
    g_variant_builder_add_value (&tunnels, eh_cmgc_tunnel_describe (tunnel));
  }
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "connector", "s", cmgc->name);
  g_variant_dict_insert (&dict, "site", "s", cmgc->site != NULL ? cmgc->site : "");
  g_variant_dict_insert (&dict, "state", "s", up > 0 ? "connected" : "CMGConnector_NotConnected");
  g_variant_dict_insert (&dict, "gateways-up", "u", up);
  g_variant_dict_insert (&dict, "last-report", "x", cmgc->last_report);
  g_variant_dict_insert_value (&dict, "tunnels", g_variant_builder_end (&tunnels));
  g_variant_dict_insert_value (&dict, "traffic", eh_cmgc_traffic (cmgc));
  if (cmgc->local != NULL)
    eh_cmgc_local_pool_describe (cmgc->local, &dict);
  return g_variant_dict_end (&dict);
}

void
eh_cmgc_report_traffic (EhCmgc *cmgc)
{
  cmgc->last_report = g_get_real_time () / G_USEC_PER_SEC;
  for (guint i = 0; i < cmgc->mappings->len; i++) {
    EhCmgcMapping *mapping = g_ptr_array_index (cmgc->mappings, i);

    g_message ("traffic report: %s %s: %" G_GUINT64_FORMAT " request(s), %" G_GUINT64_FORMAT
               " byte(s) out since the last report; %" G_GUINT64_FORMAT " request(s), %" G_GUINT64_FORMAT
               " error(s) in all",
               mapping->kind, mapping->id, mapping->requests - mapping->reported_requests,
               mapping->bytes_out - mapping->reported_bytes_out, mapping->requests, mapping->errors);
    mapping->reported_requests = mapping->requests;
    mapping->reported_bytes_out = mapping->bytes_out;
  }
}

static void
eh_cmgc_dbus_call (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                   GDBusMethodInvocation *invocation, gpointer user_data)
{
  GVariant *result = NULL;

  if (g_strcmp0 (method, "GetStatus") == 0)
    result = g_variant_new ("(@a{sv})", eh_cmgc_status (user_data));
  eh_dbus_return (invocation, method, result, NULL);
}

gboolean
eh_cmgc_dbus_export (EhCmgc *cmgc, GError **error)
{
  return eh_plugin_export_dbus (cmgc->plugin, eh_cmgc_dbus_xml, eh_cmgc_dbus_call, cmgc, error);
}
