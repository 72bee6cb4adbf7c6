/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-mp.h"

/* org.ehttpd.Mp at /org/ehttpd/Plugin/mp; ehttpctl's client commands */
static const char eh_mp_dbus_xml[] =
  "<node>"
  "  <interface name='org.ehttpd.Mp'>"
  "    <method name='ListClients'>"
  "      <arg name='clients' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ShowClient'>"
  "      <arg name='guid' type='s' direction='in'/>"
  "      <arg name='client' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ApproveClient'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "      <arg name='client' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='BlockClient'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "      <arg name='client' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='UnblockClient'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "      <arg name='client' type='a{sv}' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static GVariant *
eh_mp_dbus_client (const EhMpClient *client, gboolean full)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "guid", "s", client->guid);
  g_variant_dict_insert (&dict, "state", "s", eh_mp_client_state_to_string (client->state));
  g_variant_dict_insert (&dict, "host-name", "s", client->host_name);
  g_variant_dict_insert (&dict, "hardware-id", "s", client->hardware_id);
  g_variant_dict_insert (&dict, "key-type", "s", client->key_type);
  g_variant_dict_insert (&dict, "key-thumbprint", "s", client->thumbprint);
  g_variant_dict_insert (&dict, "registered-at", "x", client->registered_at);
  g_variant_dict_insert (&dict, "last-seen-at", "x", client->last_seen_at);
  g_variant_dict_insert (&dict, "same-hardware", "u", client->same_hardware);
  if (full) {
    g_variant_dict_insert (&dict, "jwk", "s", client->jwk_json);
    g_variant_dict_insert (&dict, "peer", "s", client->peer);
    g_variant_dict_insert (&dict, "state-changed-at", "x", client->state_changed_at);
    g_variant_dict_insert (&dict, "approved-by", "s",
                           client->approved_by != NULL ? client->approved_by : "");
  }
  return g_variant_dict_end (&dict);
}

static GVariant *
eh_mp_dbus_list (EhMp *mp, GError **error)
{
  g_autoptr (GPtrArray) clients = eh_mp_records_list (mp->store, error);
  GVariantBuilder list;

  if (clients == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < clients->len; i++)
    g_variant_builder_add_value (&list, eh_mp_dbus_client (g_ptr_array_index (clients, i), FALSE));
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_mp_dbus_change (EhMp *mp, const char *method, GVariant *parameters, guint caller_uid,
                   GError **error)
{
  const char *action = g_str_equal (method, "ApproveClient") ? "approve"
                       : g_str_equal (method, "BlockClient") ? "block"
                       : g_str_equal (method, "UnblockClient") ? "unblock"
                                                               : NULL;
  g_autofree char *by = g_strdup_printf ("admin uid %u", caller_uid);
  g_autofree char *guid = NULL;
  g_autoptr (EhMpClient) client = NULL;
  const char *text = NULL;

  g_variant_get (parameters, "(&s)", &text);
  guid = eh_mp_guid_normalize (text, error);
  if (guid == NULL)
    return NULL;
  if (action == NULL) {
    /* ShowClient */
    client = eh_mp_records_get (mp->store, guid, error);
  } else {
    client = eh_mp_records_set_state (mp->store, guid, action, by, error);
    if (client != NULL)
      g_message ("client %s: %s by %s, now %s", guid, action, by,
                 eh_mp_client_state_to_string (client->state));
  }
  return client != NULL ? g_variant_new ("(@a{sv})", eh_mp_dbus_client (client, TRUE)) : NULL;
}

static void
eh_mp_dbus_call (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                 GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GError) error = NULL;
  GVariant *result = NULL;

  if (g_strcmp0 (method, "ListClients") == 0)
    result = eh_mp_dbus_list (mp, &error);
  else if (g_strcmp0 (method, "ShowClient") == 0 || g_strcmp0 (method, "ApproveClient") == 0 ||
           g_strcmp0 (method, "BlockClient") == 0 || g_strcmp0 (method, "UnblockClient") == 0)
    result = eh_mp_dbus_change (mp, method, parameters, caller_uid, &error);
  if (result == NULL) {
    if (error == NULL)
      error = g_error_new (EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown method %s", method);
    eh_dbus_return_error (invocation, error);
    return;
  }
  g_dbus_method_invocation_return_value (invocation, result);
}

gboolean
eh_mp_dbus_start (EhMp *mp, GError **error)
{
  return eh_plugin_export_dbus (mp->plugin, eh_mp_dbus_xml, eh_mp_dbus_call, mp, error);
}
