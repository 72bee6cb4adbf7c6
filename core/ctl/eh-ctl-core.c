/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ctl.h"

#define EH_CTL_DAEMON_PATH "/org/ehttpd"
#define EH_CTL_DAEMON_IFACE "org.ehttpd.Daemon"

static GVariant *
eh_ctl_get_status (EhCtl *ctl, int *exit_code)
{
  g_autoptr (GVariant) reply = eh_ctl_call (ctl, EH_CTL_DAEMON_PATH, EH_CTL_DAEMON_IFACE, "GetStatus",
                                            NULL, G_VARIANT_TYPE ("(a{sv})"), exit_code);

  return reply != NULL ? g_variant_get_child_value (reply, 0) : NULL;
}

static JsonNode *
eh_ctl_plugins_json (GVariant *plugins)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *name, *state, *error;

  json_builder_begin_array (builder);
  g_variant_iter_init (&iter, plugins);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &name, &state, &error)) {
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "name");
    json_builder_add_string_value (builder, name);
    json_builder_set_member_name (builder, "state");
    json_builder_add_string_value (builder, state);
    json_builder_set_member_name (builder, "error");
    if (error[0] != '\0')
      json_builder_add_string_value (builder, error);
    else
      json_builder_add_null_value (builder);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static void
eh_ctl_print_plugins (GVariant *plugins)
{
  GVariantIter iter;
  const char *name, *state, *error;

  g_print ("%-16s %-10s %s\n", "PLUGIN", "STATE", "DETAIL");
  g_variant_iter_init (&iter, plugins);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &name, &state, &error))
    g_print ("%-16s %-10s %s\n", name, state, error);
}

static JsonNode *
eh_ctl_status_json (GVariant *status)
{
  g_autoptr (GVariant) plugins = g_variant_lookup_value (status, "plugins", G_VARIANT_TYPE ("a(sss)"));
  g_autoptr (GVariantDict) rest = g_variant_dict_new (status);
  JsonNode *root;

  g_variant_dict_remove (rest, "plugins");
  root = json_gvariant_serialize (g_variant_dict_end (rest));
  json_object_set_member (json_node_get_object (root), "plugins", eh_ctl_plugins_json (plugins));
  return root;
}

static void
eh_ctl_print_link (GVariant *status)
{
  const char *upstream = "", *state = "";
  gboolean authenticated = FALSE;
  guint32 enrolled = 0, unenrolled = 0;

  g_variant_lookup (status, "link-upstream", "&s", &upstream);
  g_variant_lookup (status, "link-state", "&s", &state);
  g_variant_lookup (status, "link-authenticated", "b", &authenticated);
  g_variant_lookup (status, "links-authenticated", "u", &enrolled);
  g_variant_lookup (status, "links-unenrolled", "u", &unenrolled);
  if (upstream[0] != '\0')
    g_print ("upstream:    %s, link %s%s\n", upstream, state,
             g_strcmp0 (state, "up") != 0 ? "" : authenticated ? " (enrolled)" : " (not enrolled yet)");
  if (enrolled + unenrolled > 0)
    g_print ("links:       %u from enrolled hosts, %u from hosts not enrolled yet\n", enrolled,
             unenrolled);
}

static int
eh_ctl_status (EhCtl *ctl, int argc, char **argv)
{
  int exit_code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) status = eh_ctl_get_status (ctl, &exit_code);
  g_autoptr (GVariant) plugins = NULL;
  g_autofree const char **listeners = NULL;
  const char *version = "", *certificate = "";
  guint64 uptime = 0;
  guint32 connections = 0;
  guint64 requests = 0, quick = 0;

  if (status == NULL)
    return exit_code;
  if (ctl->json) {
    g_autoptr (JsonNode) root = eh_ctl_status_json (status);

    eh_ctl_print_json (root);
    return EH_CTL_EXIT_OK;
  }
  g_variant_lookup (status, "version", "&s", &version);
  g_variant_lookup (status, "uptime-seconds", "t", &uptime);
  g_variant_lookup (status, "connections", "u", &connections);
  g_variant_lookup (status, "requests", "t", &requests);
  g_variant_lookup (status, "quick-answers", "t", &quick);
  g_variant_lookup (status, "certificate", "&s", &certificate);
  g_variant_lookup (status, "listeners", "^a&s", &listeners);
  plugins = g_variant_lookup_value (status, "plugins", G_VARIANT_TYPE ("a(sss)"));
  g_print ("ehttpd %s, up %" G_GUINT64_FORMAT " s, %u open connections\n", version, uptime,
           connections);
  g_print ("requests:    %" G_GUINT64_FORMAT " answered, %" G_GUINT64_FORMAT " of them quickly\n",
           requests, quick);
  g_print ("certificate: %s\n", certificate[0] != '\0' ? certificate : "none yet");
  for (guint i = 0; listeners != NULL && listeners[i] != NULL; i++)
    g_print ("listening:   %s\n", listeners[i]);
  eh_ctl_print_link (status);
  g_print ("\n");
  eh_ctl_print_plugins (plugins);
  return EH_CTL_EXIT_OK;
}

static int
eh_ctl_plugins (EhCtl *ctl, int argc, char **argv)
{
  int exit_code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) status = eh_ctl_get_status (ctl, &exit_code);
  g_autoptr (GVariant) plugins = NULL;

  if (status == NULL)
    return exit_code;
  plugins = g_variant_lookup_value (status, "plugins", G_VARIANT_TYPE ("a(sss)"));
  if (ctl->json) {
    g_autoptr (JsonNode) root = eh_ctl_plugins_json (plugins);

    eh_ctl_print_json (root);
  } else {
    eh_ctl_print_plugins (plugins);
  }
  return EH_CTL_EXIT_OK;
}

static int
eh_ctl_reload (EhCtl *ctl, int argc, char **argv)
{
  int exit_code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = eh_ctl_call (ctl, EH_CTL_DAEMON_PATH, EH_CTL_DAEMON_IFACE, "Reload",
                                            NULL, NULL, &exit_code);

  if (reply == NULL)
    return exit_code;
  if (!ctl->json)
    g_print ("reloaded\n");
  else
    g_print ("{ \"reloaded\" : true }\n");
  return EH_CTL_EXIT_OK;
}

static int
eh_ctl_cert_renew (EhCtl *ctl, int argc, char **argv)
{
  int exit_code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) renewed = NULL;
  const char *serial = "", *fingerprint = "";

  if (argc != 0) {
    g_printerr ("usage: ehttpctl cert renew\n");
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call (ctl, EH_CTL_DAEMON_PATH, EH_CTL_DAEMON_IFACE, "RenewCertificate", NULL,
                       G_VARIANT_TYPE ("(a{sv})"), &exit_code);
  if (reply == NULL)
    return exit_code;
  renewed = g_variant_get_child_value (reply, 0);
  if (ctl->json) {
    g_autoptr (JsonNode) root = json_gvariant_serialize (renewed);

    eh_ctl_print_json (root);
    return EH_CTL_EXIT_OK;
  }
  g_variant_lookup (renewed, "serial", "&s", &serial);
  g_variant_lookup (renewed, "fingerprint", "&s", &fingerprint);
  g_print ("renewed: serial %s, now serving %s\n", serial, fingerprint);
  return EH_CTL_EXIT_OK;
}

const EhCtlCommand eh_ctl_core_commands[] = {
  { "status", "", "show the daemon, its listeners, certificate and plugins", eh_ctl_status },
  { "plugins", "", "list plugins with their state and any failure reason", eh_ctl_plugins },
  { "reload", "", "re-read configuration and certificate (admin)", eh_ctl_reload },
  { "cert renew", "", "get a new role certificate for this host now and serve it (admin)", eh_ctl_cert_renew },
  { NULL },
};
