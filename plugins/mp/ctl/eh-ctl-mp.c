/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ctl.h"

/* ehttpctl client … over org.ehttpd.Mp */

#define EH_CTL_MP_PATH "/org/ehttpd/Plugin/mp"
#define EH_CTL_MP_IFACE "org.ehttpd.Mp"

static GVariant *
eh_ctl_mp_call (EhCtl *ctl, const char *method, GVariant *parameters, const char *reply_type,
                int *exit_code)
{
  g_autoptr (GVariant) reply = eh_ctl_call (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, method, parameters,
                                            G_VARIANT_TYPE (reply_type), exit_code);

  return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
}

static void
eh_ctl_mp_print_json (GVariant *value)
{
  g_autoptr (JsonNode) node = json_gvariant_serialize (value);

  eh_ctl_print_json (node);
}

static char *
eh_ctl_mp_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M:%SZ") : g_strdup ("?");
}

static int
eh_ctl_client_list (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *row;

  if (argc != 0) {
    g_printerr ("usage: ehttpctl client list\n");
    return EH_CTL_EXIT_USAGE;
  }
  list = eh_ctl_mp_call (ctl, "ListClients", NULL, "(aa{sv})", &code);
  if (list == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_mp_print_json (list);
    return code;
  }
  g_print ("%-36s %-8s %-20s %-28s %s\n", "GUID", "STATE", "REGISTERED", "HOST", "HARDWARE ID");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *guid = "", *state = "", *host = "", *hardware = "";
    gint64 registered = 0;
    guint same = 0;
    g_autofree char *when = NULL;

    g_variant_lookup (row, "guid", "&s", &guid);
    g_variant_lookup (row, "state", "&s", &state);
    g_variant_lookup (row, "host-name", "&s", &host);
    g_variant_lookup (row, "hardware-id", "&s", &hardware);
    g_variant_lookup (row, "registered-at", "x", &registered);
    g_variant_lookup (row, "same-hardware", "u", &same);
    when = eh_ctl_mp_time (registered);
    g_print ("%-36s %-8s %-20s %-28s %s%s\n", guid, state, when, host, hardware,
             same > 0 ? " (has other keys)" : "");
    g_variant_unref (row);
  }
  return code;
}

static void
eh_ctl_mp_print_client (GVariant *client)
{
  const char *keys[] = { "guid", "state", "host-name", "hardware-id", "key-type", "key-thumbprint",
                         "approved-by", "peer", "jwk" };
  const char *times[] = { "registered-at", "last-seen-at", "state-changed-at" };
  guint same = 0;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const char *value = "";

    g_variant_lookup (client, keys[i], "&s", &value);
    g_print ("%-18s %s\n", keys[i], value);
  }
  for (guint i = 0; i < G_N_ELEMENTS (times); i++) {
    gint64 value = 0;
    g_autofree char *text = NULL;

    g_variant_lookup (client, times[i], "x", &value);
    text = eh_ctl_mp_time (value);
    g_print ("%-18s %s\n", times[i], text);
  }
  g_variant_lookup (client, "same-hardware", "u", &same);
  g_print ("%-18s %u other registration(s) with this hardware id\n", "same-hardware", same);
}

static int
eh_ctl_client_one (EhCtl *ctl, int argc, char **argv, const char *command, const char *method)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) client = NULL;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl client %s GUID\n", command);
    return EH_CTL_EXIT_USAGE;
  }
  client = eh_ctl_mp_call (ctl, method, g_variant_new ("(s)", argv[0]), "(a{sv})", &code);
  if (client == NULL)
    return code;
  if (ctl->json)
    eh_ctl_mp_print_json (client);
  else
    eh_ctl_mp_print_client (client);
  return code;
}

static int
eh_ctl_client_show (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "show", "ShowClient");
}

static int
eh_ctl_client_approve (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "approve", "ApproveClient");
}

static int
eh_ctl_client_block (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "block", "BlockClient");
}

static int
eh_ctl_client_unblock (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "unblock", "UnblockClient");
}

const EhCtlCommand eh_ctl_mp_commands[] = {
  { "client list", "", "registered clients and their approval state", eh_ctl_client_list },
  { "client show", "GUID", "one client, with its key", eh_ctl_client_show },
  { "client approve", "GUID", "approve a pending client (admin)", eh_ctl_client_approve },
  { "client block", "GUID", "block a client: it gets nothing anywhere (admin)", eh_ctl_client_block },
  { "client unblock", "GUID", "lift a block; the client returns to its earlier state (admin)", eh_ctl_client_unblock },
  { NULL },
};
