/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ctl.h"

/* ehttpctl cmg … over org.ehttpd.Cmg (the gateway) and org.ehttpd.CmgConnector */

#define EH_CTL_CMG_PATH "/org/ehttpd/Plugin/cmg"
#define EH_CTL_CMG_IFACE "org.ehttpd.Cmg"
#define EH_CTL_CMGC_PATH "/org/ehttpd/Plugin/cmg_connector"
#define EH_CTL_CMGC_IFACE "org.ehttpd.CmgConnector"

static const char *
eh_ctl_cmg_string (GVariant *dict, const char *key)
{
  const char *value = NULL;

  return g_variant_lookup (dict, key, "&s", &value) ? value : "";
}

static guint64
eh_ctl_cmg_number (GVariant *dict, const char *key)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (dict, key, NULL);

  if (value == NULL)
    return 0;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return (guint64) MAX (g_variant_get_int64 (value), 0);
  return 0;
}

static int
eh_ctl_cmg_status (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) status = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl cmg status\n",
                                              EH_CTL_CMG_PATH, EH_CTL_CMG_IFACE, "GetStatus", "(a{sv})", &code);

  if (status == NULL)
    return code;
  g_print ("gateway:          %s\nstate:            %s\nconnectors:       %" G_GUINT64_FORMAT
           "\nsite:             %s (trust bundle version %" G_GUINT64_FORMAT ")\n"
           "relayed:          %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " in flight, windows grown by %"
           G_GUINT64_FORMAT " bytes)\n"
           "refused:          %" G_GUINT64_FORMAT " bad token, %" G_GUINT64_FORMAT " unmapped, %" G_GUINT64_FORMAT
           " not connected, %" G_GUINT64_FORMAT " upstream failures\n",
           eh_ctl_cmg_string (status, "gateway"), eh_ctl_cmg_string (status, "state"),
           eh_ctl_cmg_number (status, "connectors"), eh_ctl_cmg_string (status, "site"),
           eh_ctl_cmg_number (status, "trust-bundle-version"), eh_ctl_cmg_number (status, "relayed"),
           eh_ctl_cmg_number (status, "in-flight"), eh_ctl_cmg_number (status, "window-grown"),
           eh_ctl_cmg_number (status, "refused-token"),
           eh_ctl_cmg_number (status, "refused-unmapped"), eh_ctl_cmg_number (status, "not-connected"),
           eh_ctl_cmg_number (status, "upstream-failed"));
  return code;
}

static int
eh_ctl_cmg_mappings (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl cmg mappings\n",
                                            EH_CTL_CMG_PATH, EH_CTL_CMG_IFACE, "ListMappings", "(aa{sv})", &code);
  GVariantIter iter;
  GVariant *row;

  if (list == NULL)
    return code;
  g_print ("%-20s %-4s %-24s %s\n", "ID", "KIND", "DP", "CONNECTOR");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    g_print ("%-20s %-4s %-24s %s\n", eh_ctl_cmg_string (row, "id"), eh_ctl_cmg_string (row, "kind"),
             eh_ctl_cmg_string (row, "dp"), eh_ctl_cmg_string (row, "connector"));
    g_variant_unref (row);
  }
  return code;
}

static int
eh_ctl_cmg_connections (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl cmg connections\n",
                                            EH_CTL_CMG_PATH, EH_CTL_CMG_IFACE, "ListConnections", "(aa{sv})",
                                            &code);
  GVariantIter iter;
  GVariant *row;

  if (list == NULL)
    return code;
  g_print ("%-24s %-8s %-16s %-20s %10s %s\n", "CONNECTOR", "STATE", "ADDRESS", "SINCE", "REQUESTS", "LAST HEALTH");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    g_autofree char *since = eh_ctl_format_time ((gint64) eh_ctl_cmg_number (row, "since"));
    g_autofree char *health = eh_ctl_format_time ((gint64) eh_ctl_cmg_number (row, "last-health"));

    g_print ("%-24s %-8s %-16s %-20s %10" G_GUINT64_FORMAT " %s\n", eh_ctl_cmg_string (row, "connector"),
             eh_ctl_cmg_string (row, "state"), eh_ctl_cmg_string (row, "address"), since,
             eh_ctl_cmg_number (row, "requests"), health);
    g_variant_unref (row);
  }
  return code;
}

static int
eh_ctl_cmg_connector (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) status = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl cmg connector\n",
                                              EH_CTL_CMGC_PATH, EH_CTL_CMGC_IFACE, "GetStatus", "(a{sv})", &code);
  g_autoptr (GVariant) tunnels = NULL;
  g_autoptr (GVariant) traffic = NULL;
  GVariantIter iter;
  GVariant *row;

  if (status == NULL)
    return code;
  g_print ("connector: %s\nstate:     %s\n\n%-32s %-10s %10s %s\n", eh_ctl_cmg_string (status, "connector"),
           eh_ctl_cmg_string (status, "state"), "GATEWAY", "STATE", "RECONNECTS", "LAST HEALTH");
  tunnels = g_variant_lookup_value (status, "tunnels", G_VARIANT_TYPE ("aa{sv}"));
  g_variant_iter_init (&iter, tunnels);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    g_autofree char *health = eh_ctl_format_time ((gint64) eh_ctl_cmg_number (row, "last-health"));

    g_print ("%-32s %-10s %10" G_GUINT64_FORMAT " %s\n", eh_ctl_cmg_string (row, "gateway"),
             eh_ctl_cmg_string (row, "state"), eh_ctl_cmg_number (row, "reconnects"), health);
    g_variant_unref (row);
  }
  g_print ("\n%-20s %-4s %-8s %10s %14s %14s %8s\n", "MAPPING", "KIND", "UPSTREAM", "REQUESTS", "BYTES IN",
           "BYTES OUT", "ERRORS");
  traffic = g_variant_lookup_value (status, "traffic", G_VARIANT_TYPE ("aa{sv}"));
  g_variant_iter_init (&iter, traffic);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    g_print ("%-20s %-4s %-8s %10" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT " %14" G_GUINT64_FORMAT
             " %8" G_GUINT64_FORMAT "\n", eh_ctl_cmg_string (row, "id"), eh_ctl_cmg_string (row, "kind"),
             eh_ctl_cmg_string (row, "upstream"),
             eh_ctl_cmg_number (row, "requests"), eh_ctl_cmg_number (row, "bytes-in"),
             eh_ctl_cmg_number (row, "bytes-out"), eh_ctl_cmg_number (row, "errors"));
    g_variant_unref (row);
  }
  return code;
}

const EhCtlCommand eh_ctl_cmg_commands[] = {
  { "cmg status", "", "the gateway: connected or CMGConnector_NotConnected, and what it relayed", eh_ctl_cmg_status },
  { "cmg mappings", "", "the gateway: the URLs its connectors publish", eh_ctl_cmg_mappings },
  { "cmg connections", "", "the gateway: every connector tunnel", eh_ctl_cmg_connections },
  { "cmg connector", "", "the connector: its tunnels and its traffic per mapping", eh_ctl_cmg_connector },
  { NULL },
};
