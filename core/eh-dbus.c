/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "eh-dbus-private.h"
#include "eh-identity-private.h"
#include "eh-error.h"
#include "eh-link.h"

struct _EhDbusService {
  EhCore *core;
  GDBusConnection *connection;
  GDBusNodeInfo *daemon_info;
  guint daemon_id;
  guint name_id;
  gboolean name_settled; /* the bus has answered: the name is ours, or not */
  GPtrArray *exports; /* EhDbusExport */
  EhDbusReloadFunc reload;
  gpointer reload_data;
};

/* one exported interface: the daemon's own, or a plugin's */
typedef struct {
  EhDbusService *dbus;
  EhPlugin *plugin; /* NULL for the daemon's interface */
  GDBusNodeInfo *info;
  EhDbusMethodFunc func;
  gpointer user_data;
  guint registration;
} EhDbusExport;

typedef struct {
  EhDbusExport *export;
  GDBusMethodInvocation *invocation;
} EhDbusCall;

void
eh_dbus_return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  if (error->domain == EH_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_error (invocation, EH_ERROR, EH_ERROR_FAILED, "%s",
                                           error->message);
}

void
eh_dbus_return (GDBusMethodInvocation *invocation, const char *method, GVariant *result,
                const GError *error)
{
  if (result != NULL)
    g_dbus_method_invocation_return_value (invocation, result);
  else if (error != NULL)
    eh_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_error (invocation, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                                           "unknown method %s", method);
}

gboolean
eh_dbus_uid_is_admin (guint uid, const char *admin_group)
{
  struct group *group;
  struct passwd *user;

  if (uid == 0)
    return TRUE;
  if (admin_group == NULL || admin_group[0] == '\0')
    return FALSE;
  group = getgrnam (admin_group);
  user = getpwuid (uid);
  if (group == NULL || user == NULL)
    return FALSE;
  if (user->pw_gid == group->gr_gid)
    return TRUE;
  for (char **member = group->gr_mem; *member != NULL; member++) {
    if (g_strcmp0 (*member, user->pw_name) == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
eh_dbus_method_is_admin (const GDBusMethodInfo *method)
{
  const char *value = g_dbus_annotation_info_lookup (method->annotations, EH_DBUS_ADMIN_ANNOTATION);

  return g_strcmp0 (value, "true") == 0;
}

/* ── the daemon's own interface ─────────────────────────────────────── */

static GVariant *
eh_dbus_plugins_variant (EhCore *core)
{
  GPtrArray *plugins = eh_core_get_plugins (core);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; i < plugins->len; i++) {
    EhPlugin *plugin = g_ptr_array_index (plugins, i);

    g_variant_builder_add (&builder, "(sss)", plugin->name,
                           eh_plugin_state_to_string (plugin->state),
                           plugin->error != NULL ? plugin->error : "");
  }
  return g_variant_builder_end (&builder);
}

static GVariant *
eh_dbus_status_variant (EhCore *core)
{
  EhTls *tls = eh_core_get_tls (core);
  g_auto (GStrv) urls = eh_front_get_urls (eh_core_get_front (core));
  guint64 answered, answered_quickly;
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "version", "s", EH_VERSION);
  g_variant_dict_insert (&dict, "uptime-seconds", "t",
                         (guint64) ((g_get_real_time () - eh_core_get_start_time (core)) / G_USEC_PER_SEC));
  g_variant_dict_insert (&dict, "pid", "u", (guint32) getpid ());
  g_variant_dict_insert (&dict, "state-dir", "s", eh_core_get_state_dir (core));
  g_variant_dict_insert (&dict, "listeners", "^as", urls);
  g_variant_dict_insert (&dict, "connections", "u",
                         eh_front_get_connection_count (eh_core_get_front (core)));
  eh_front_get_request_counts (eh_core_get_front (core), &answered, &answered_quickly);
  g_variant_dict_insert (&dict, "requests", "t", answered);
  g_variant_dict_insert (&dict, "quick-answers", "t", answered_quickly);
  g_variant_dict_insert (&dict, "certificate", "s",
                         eh_tls_get_fingerprint (tls) != NULL ? eh_tls_get_fingerprint (tls) : "");
  g_variant_dict_insert (&dict, "certificate-not-after", "x", eh_tls_get_not_after (tls));
  g_variant_dict_insert_value (&dict, "plugins", eh_dbus_plugins_variant (core));
  if (eh_core_get_link (core) != NULL)
    eh_link_add_status (eh_core_get_link (core), &dict);
  return g_variant_dict_end (&dict);
}

static void
eh_dbus_renewed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GError) error = NULL;
  GVariant *renewed = eh_identity_renew_finish (NULL, result, &error);

  if (renewed == NULL)
    eh_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new_tuple (&renewed, 1));
}

static void
eh_dbus_daemon_method (EhPlugin *plugin, const char *method, GVariant *parameters, guint uid,
                       GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhDbusService *dbus = user_data;

  if (g_strcmp0 (method, "GetStatus") == 0) {
    g_dbus_method_invocation_return_value (
        invocation, g_variant_new_tuple ((GVariant *[]) { eh_dbus_status_variant (dbus->core) }, 1));
  } else if (g_strcmp0 (method, "Reload") == 0) {
    g_autoptr (GError) error = NULL;

    dbus->reload (dbus->reload_data, &error);
    if (error != NULL)
      eh_dbus_return_error (invocation, error);
    else
      g_dbus_method_invocation_return_value (invocation, NULL);
  } else if (g_strcmp0 (method, "RenewCertificate") == 0 && eh_core_get_identity (dbus->core) != NULL) {
    /* answered once the new certificate is installed, or the ca refused */
    eh_identity_renew (eh_core_get_identity (dbus->core), eh_dbus_renewed, g_object_ref (invocation));
  } else {
    g_dbus_method_invocation_return_error (invocation, EH_ERROR, EH_ERROR_NOT_FOUND,
                                           "no method %s", method);
  }
}

/* ── dispatch with the caller's uid ─────────────────────────────────── */

static void
eh_dbus_caller_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree EhDbusCall *call = user_data;
  g_autoptr (GDBusMethodInvocation) invocation = call->invocation;
  EhDbusExport *export = call->export;
  const GDBusMethodInfo *method = g_dbus_method_invocation_get_method_info (invocation);
  const char *admin_group = eh_config_get_string (eh_core_get_config (export->dbus->core), "core",
                                                  "admin-group");
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  gboolean admin = eh_dbus_method_is_admin (method);
  GVariant *parameters;
  guint uid;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL) {
    g_warning ("D-Bus %s.%s: caller unknown: %s", g_dbus_method_invocation_get_interface_name (invocation),
               method->name, error->message);
    g_dbus_method_invocation_return_error (invocation, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                                           "could not identify the caller");
    return;
  }
  g_variant_get (reply, "(u)", &uid);
  g_log (G_LOG_DOMAIN, admin ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_INFO, "D-Bus %s.%s called by uid %u",
         g_dbus_method_invocation_get_interface_name (invocation), method->name, uid);
  if (admin && !eh_dbus_uid_is_admin (uid, admin_group)) {
    g_message ("D-Bus %s refused for uid %u: not an admin", method->name, uid);
    g_dbus_method_invocation_return_error (invocation, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                                           "%s is for root or members of the admin group",
                                           method->name);
    return;
  }
  parameters = g_dbus_method_invocation_get_parameters (invocation);
  export->func (export->plugin, method->name, parameters, uid, g_steal_pointer (&invocation),
                export->user_data);
}

static void
eh_dbus_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                     const char *interface_name, const char *method_name, GVariant *parameters,
                     GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhDbusCall *call = g_new0 (EhDbusCall, 1);

  call->export = user_data;
  call->invocation = g_object_ref (invocation);
  /* ask the bus, never the message, who is calling */
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixUser",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, eh_dbus_caller_resolved, call);
}

static const GDBusInterfaceVTable eh_dbus_vtable = { eh_dbus_method_call, NULL, NULL, { 0 } };

static void
eh_dbus_export_free (EhDbusExport *export)
{
  if (export->registration != 0 && export->dbus->connection != NULL)
    g_dbus_connection_unregister_object (export->dbus->connection, export->registration);
  g_dbus_node_info_unref (export->info);
  g_free (export);
}

static gboolean
eh_dbus_export (EhDbusService *dbus, EhPlugin *plugin, const char *path, GDBusNodeInfo *info,
                EhDbusMethodFunc func, gpointer user_data, GError **error)
{
  EhDbusExport *export = g_new0 (EhDbusExport, 1);

  export->dbus = dbus;
  export->plugin = plugin;
  export->info = g_dbus_node_info_ref (info);
  export->func = func;
  export->user_data = user_data;
  export->registration = g_dbus_connection_register_object (dbus->connection, path,
                                                            info->interfaces[0], &eh_dbus_vtable,
                                                            export, NULL, error);
  if (export->registration == 0) {
    eh_dbus_export_free (export);
    return FALSE;
  }
  g_ptr_array_add (dbus->exports, export);
  return TRUE;
}

gboolean
eh_plugin_export_dbus (EhPlugin *plugin, const char *introspection_xml, EhDbusMethodFunc func,
                       gpointer user_data, GError **error)
{
  EhDbusService *dbus = eh_core_get_dbus (plugin->core);
  g_autoptr (GDBusNodeInfo) info = NULL;
  g_autofree char *path = NULL;

  if (dbus == NULL)
    return TRUE; /* in-process use without a bus */
  info = g_dbus_node_info_new_for_xml (introspection_xml, error);
  if (info == NULL)
    return FALSE;
  if (info->interfaces == NULL || info->interfaces[0] == NULL || info->interfaces[1] != NULL ||
      !g_str_has_prefix (info->interfaces[0]->name, "org.ehttpd.")) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a plugin exports exactly one interface named org.ehttpd.*");
    return FALSE;
  }
  path = g_strconcat (EH_DBUS_PLUGIN_PATH_PREFIX, plugin->name, NULL);
  g_strdelimit (path, "-", '_');
  return eh_dbus_export (dbus, plugin, path, info, func, user_data, error);
}

static void
eh_dbus_name_acquired (GDBusConnection *connection, const char *name, gpointer user_data)
{
  EhDbusService *dbus = user_data;

  dbus->name_settled = TRUE;
}

static void
eh_dbus_name_lost (GDBusConnection *connection, const char *name, gpointer user_data)
{
  EhDbusService *dbus = user_data;

  dbus->name_settled = TRUE;
  g_warning ("D-Bus name %s is not ours (another ehttpd running, or no permission)", name);
}

EhDbusService *
eh_dbus_service_new (EhCore *core, GBusType bus_type, EhDbusReloadFunc reload,
                     gpointer user_data, GError **error)
{
  g_autoptr (GBytes) xml = g_resources_lookup_data ("/org/ehttpd/org.ehttpd.Daemon.xml",
                                                    G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  g_autoptr (GDBusNodeInfo) info = NULL;
  EhDbusService *dbus;

  if (xml == NULL)
    return NULL;
  info = g_dbus_node_info_new_for_xml (g_bytes_get_data (xml, NULL), error);
  if (info == NULL)
    return NULL;
  dbus = g_new0 (EhDbusService, 1);
  dbus->core = core;
  dbus->reload = reload;
  dbus->reload_data = user_data;
  dbus->exports = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_dbus_export_free);
  dbus->connection = g_bus_get_sync (bus_type, NULL, error);
  if (dbus->connection == NULL ||
      !eh_dbus_export (dbus, NULL, EH_DBUS_PATH, info, eh_dbus_daemon_method, dbus, error)) {
    eh_dbus_service_free (dbus);
    return NULL;
  }
  dbus->name_id = g_bus_own_name_on_connection (dbus->connection, EH_DBUS_NAME,
                                                G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, eh_dbus_name_acquired,
                                                eh_dbus_name_lost, dbus, NULL);
  eh_core_set_dbus (core, dbus);
  return dbus;
}

gboolean
eh_dbus_service_name_settled (EhDbusService *dbus)
{
  return dbus->name_settled;
}

void
eh_dbus_service_free (EhDbusService *dbus)
{
  if (dbus == NULL)
    return;
  eh_core_set_dbus (dbus->core, NULL);
  if (dbus->name_id != 0)
    g_bus_unown_name (dbus->name_id);
  g_ptr_array_unref (dbus->exports);
  g_clear_object (&dbus->connection);
  g_free (dbus);
}
