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
  "      <arg name='state' type='s' direction='in'/>"
  "      <arg name='offset' type='u' direction='in'/>"
  "      <arg name='limit' type='u' direction='in'/>"
  "      <arg name='clients' type='aa{sv}' direction='out'/>"
  "      <arg name='total' type='u' direction='out'/>"
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
  "    <method name='RolloverTokenKey'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='key' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListTokenKeys'>"
  "      <arg name='keys' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='CreateBulkToken'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='lifetime_seconds' type='x' direction='in'/>"
  "      <arg name='max_uses' type='u' direction='in'/>"
  "      <arg name='token' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListBulkTokens'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='tokens' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='BlockBulkToken'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "    </method>"
  "    <method name='UnblockBulkToken'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "    </method>"
  "    <method name='CreateDeployment'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='content_id' type='s' direction='in'/>"
  "      <arg name='action' type='s' direction='in'/>"
  "      <arg name='collection' type='s' direction='in'/>"
  "      <arg name='deployment' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListDeployments'>"
  "      <arg name='deployments' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='RemoveDeployment'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "    </method>"
  "    <method name='AddCollectionMember'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='collection' type='s' direction='in'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "    </method>"
  "    <method name='RemoveCollectionMember'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='collection' type='s' direction='in'/>"
  "      <arg name='guid' type='s' direction='in'/>"
  "    </method>"
  "    <method name='ListCollections'>"
  "      <arg name='collection' type='s' direction='in'/>"
  "      <arg name='members' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='AddBoundary'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='name' type='s' direction='in'/>"
  "      <arg name='subnets' type='as' direction='in'/>"
  "      <arg name='dps' type='as' direction='in'/>"
  "    </method>"
  "    <method name='RemoveBoundary'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='name' type='s' direction='in'/>"
  "    </method>"
  "    <method name='ListBoundaries'>"
  "      <arg name='boundaries' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ImportDiscovery'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='document' type='s' direction='in'/>"
  "      <arg name='counts' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListDiscovered'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='entries' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='RemoveDiscovered'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='removed' type='u' direction='out'/>"
  "    </method>"
  "    <method name='Explain'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='what' type='s' direction='in'/>"
  "      <arg name='explanation' type='a{sv}' direction='out'/>"
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

/* one page of clients: a site of 250,000 clients answers in pieces a
 * D-Bus message (and a terminal) can hold */
#define EH_MP_LIST_DEFAULT 1000
#define EH_MP_LIST_MAX 10000

static GVariant *
eh_mp_dbus_list (EhMp *mp, GVariant *parameters, GError **error)
{
  g_autoptr (GPtrArray) clients = NULL;
  const char *state = NULL;
  guint offset = 0, limit = 0, total = 0;
  GVariantBuilder list;

  g_variant_get (parameters, "(&suu)", &state, &offset, &limit);
  if (limit == 0)
    limit = EH_MP_LIST_DEFAULT;
  if (limit > EH_MP_LIST_MAX) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "at most %d clients at a time", EH_MP_LIST_MAX);
    return NULL;
  }
  clients = eh_mp_records_list (mp->store, state[0] != '\0' ? state : NULL, offset, limit, &total, error);
  if (clients == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < clients->len; i++)
    g_variant_builder_add_value (&list, eh_mp_dbus_client (g_ptr_array_index (clients, i), FALSE));
  return g_variant_new ("(@aa{sv}u)", g_variant_builder_end (&list), total);
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

static GVariant *
eh_mp_dbus_token_keys (EhMp *mp, GError **error)
{
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; mp->token_keys != NULL && i < mp->token_keys->len; i++)
    g_variant_builder_add_value (&list, eh_mp_token_key_describe (g_ptr_array_index (mp->token_keys, i)));
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_mp_dbus_bulk_create (EhMp *mp, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree char *by = g_strdup_printf ("admin uid %u", caller_uid);
  g_autofree char *guid = NULL;
  g_autofree char *token = NULL;
  gint64 lifetime = 0;
  guint max_uses = 0;
  GVariantDict dict;

  g_variant_get (parameters, "(xu)", &lifetime, &max_uses);
  if (lifetime == 0)
    lifetime = EH_MP_BULK_DEFAULT_SECONDS;
  token = eh_mp_bulk_token_create (mp->store, lifetime, max_uses, by, &guid, error);
  if (token == NULL)
    return NULL;
  g_message ("bulk registration token %s created by %s: %" G_GINT64_FORMAT " s, %u use(s) (0: no limit)",
             guid, by, lifetime, max_uses);
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "guid", "s", guid);
  g_variant_dict_insert (&dict, "token", "s", token);
  g_variant_dict_insert (&dict, "expires-at", "x", g_get_real_time () / G_USEC_PER_SEC + lifetime);
  g_variant_dict_insert (&dict, "max-uses", "u", max_uses);
  return g_variant_new ("(@a{sv})", g_variant_dict_end (&dict));
}

static GVariant *
eh_mp_dbus_bulk_list (EhMp *mp, GError **error)
{
  g_autoptr (GPtrArray) tokens = eh_mp_bulk_token_list (mp->store, error);
  GVariantBuilder list;

  if (tokens == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < tokens->len; i++) {
    EhMpBulkToken *token = g_ptr_array_index (tokens, i);
    GVariantDict dict;

    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, "guid", "s", token->guid);
    g_variant_dict_insert (&dict, "created-at", "x", token->created_at);
    g_variant_dict_insert (&dict, "expires-at", "x", token->expires_at);
    g_variant_dict_insert (&dict, "max-uses", "u", token->max_uses);
    g_variant_dict_insert (&dict, "uses", "u", token->uses);
    g_variant_dict_insert (&dict, "blocked", "b", token->blocked);
    g_variant_dict_insert (&dict, "created-by", "s", token->created_by);
    g_variant_dict_insert (&dict, "first-used-at", "x", token->first_used_at);
    g_variant_dict_insert (&dict, "last-used-at", "x", token->last_used_at);
    g_variant_dict_insert_value (&dict, "clients", g_variant_new_strv ((const char *const *) token->clients, -1));
    g_variant_builder_add_value (&list, g_variant_dict_end (&dict));
  }
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_mp_dbus_bulk_block (EhMp *mp, GVariant *parameters, gboolean blocked, guint caller_uid,
                       GError **error)
{
  g_autofree char *guid = NULL;
  const char *text = NULL;

  g_variant_get (parameters, "(&s)", &text);
  if ((guid = eh_mp_guid_normalize (text, error)) == NULL ||
      !eh_mp_bulk_token_set_blocked (mp->store, guid, blocked, error))
    return NULL;
  g_message ("bulk registration token %s %s by admin uid %u", guid, blocked ? "blocked" : "unblocked",
             caller_uid);
  return g_variant_new ("()");
}

static GVariant *
eh_mp_dbus_boundary (EhMp *mp, const char *method, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree char *by = g_strdup_printf ("admin uid %u", caller_uid);
  g_autofree const char **subnets = NULL;
  g_autofree const char **dps = NULL;
  const char *name = NULL;

  if (g_str_equal (method, "ListBoundaries"))
    return g_variant_new ("(@aa{sv})", eh_mp_boundaries_describe (mp));
  if (g_str_equal (method, "RemoveBoundary")) {
    g_variant_get (parameters, "(&s)", &name);
    if (!eh_mp_boundary_remove (mp, name, error))
      return NULL;
    g_message ("boundary group %s removed by %s", name, by);
    return g_variant_new ("()");
  }
  g_variant_get (parameters, "(&s^a&s^a&s)", &name, &subnets, &dps);
  if (!eh_mp_boundary_add (mp, name, subnets, dps, by, error))
    return NULL;
  g_message ("boundary group %s added by %s", name, by);
  return g_variant_new ("()");
}

static void
eh_mp_dbus_call (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                 GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GError) error = NULL;
  GVariant *result = NULL;

  if (g_strcmp0 (method, "ListClients") == 0)
    result = eh_mp_dbus_list (mp, parameters, &error);
  else if (g_strcmp0 (method, "ShowClient") == 0 || g_strcmp0 (method, "ApproveClient") == 0 ||
           g_strcmp0 (method, "BlockClient") == 0 || g_strcmp0 (method, "UnblockClient") == 0)
    result = eh_mp_dbus_change (mp, method, parameters, caller_uid, &error);
  else if (g_strcmp0 (method, "RolloverTokenKey") == 0) {
    g_message ("token signing key rollover asked by admin uid %u", caller_uid);
    if (eh_mp_token_keys_rollover (mp, invocation, &error))
      return; /* answered once the next key is announced */
  } else if (g_strcmp0 (method, "ListTokenKeys") == 0)
    result = eh_mp_dbus_token_keys (mp, &error);
  else if (g_strcmp0 (method, "CreateBulkToken") == 0)
    result = eh_mp_dbus_bulk_create (mp, parameters, caller_uid, &error);
  else if (g_strcmp0 (method, "ListBulkTokens") == 0)
    result = eh_mp_dbus_bulk_list (mp, &error);
  else if (g_strcmp0 (method, "BlockBulkToken") == 0 || g_strcmp0 (method, "UnblockBulkToken") == 0)
    result = eh_mp_dbus_bulk_block (mp, parameters, method[0] == 'B', caller_uid, &error);
  else if (g_strcmp0 (method, "AddBoundary") == 0 || g_strcmp0 (method, "RemoveBoundary") == 0 ||
           g_strcmp0 (method, "ListBoundaries") == 0)
    result = eh_mp_dbus_boundary (mp, method, parameters, caller_uid, &error);
  else {
    gboolean handled = FALSE;

    result = eh_mp_deploy_dbus_call (mp, method, parameters, caller_uid, &handled, &error);
    if (!handled)
      result = eh_mp_entra_dbus_call (mp, method, parameters, caller_uid, &handled, &error);
  }
  eh_dbus_return (invocation, method, result, error);
}

gboolean
eh_mp_dbus_start (EhMp *mp, GError **error)
{
  return eh_plugin_export_dbus (mp->plugin, eh_mp_dbus_xml, eh_mp_dbus_call, mp, error);
}
