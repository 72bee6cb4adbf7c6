/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-dp.h"

/* org.ehttpd.Dp at /org/ehttpd/Plugin/dp; ehttpctl's content commands */
static const char eh_dp_dbus_xml[] =
  "<node>"
  "  <interface name='org.ehttpd.Dp'>"
  "    <method name='AddContent'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='name' type='s' direction='in'/>"
  "      <arg name='path' type='s' direction='in'/>"
  "      <arg name='version' type='s' direction='in'/>"
  "      <arg name='content' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListContent'>"
  "      <arg name='contents' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ShowContent'>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='content' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='RemoveContent'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='result' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ContentStatus'>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='statuses' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='DistributeContent'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='dp' type='s' direction='in'/>"
  "      <arg name='result' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='UndistributeContent'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='dp' type='s' direction='in'/>"
  "      <arg name='result' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='RedistributeContent'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='dp' type='s' direction='in'/>"
  "      <arg name='result' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ValidateContent'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='dp' type='s' direction='in'/>"
  "      <arg name='result' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='Status'>"
  "      <arg name='status' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='VerifyContent'>"
  "      <arg name='id' type='s' direction='in'/>"
  "      <arg name='result' type='a{sv}' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
eh_dp_dbus_summary (GVariantDict *dict, const EhDpManifest *manifest)
{
  g_variant_dict_insert (dict, "id", "s", manifest->id);
  g_variant_dict_insert (dict, "name", "s", manifest->name);
  g_variant_dict_insert (dict, "version", "s", manifest->version);
  g_variant_dict_insert (dict, "created", "x", manifest->created);
  g_variant_dict_insert (dict, "files", "u", manifest->files->len);
  g_variant_dict_insert (dict, "size", "t", manifest->size);
}

static GVariant *
eh_dp_dbus_show (const EhDpManifest *manifest)
{
  GVariantBuilder files;
  GVariantDict dict;

  g_variant_builder_init (&files, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < manifest->files->len; i++) {
    const EhDpManifestFile *file = g_ptr_array_index (manifest->files, i);
    GVariantDict row;

    g_variant_dict_init (&row, NULL);
    g_variant_dict_insert (&row, "path", "s", file->path);
    g_variant_dict_insert (&row, "size", "t", file->size);
    g_variant_dict_insert (&row, "sha256", "s", file->sha256);
    g_variant_builder_add_value (&files, g_variant_dict_end (&row));
  }
  g_variant_dict_init (&dict, NULL);
  eh_dp_dbus_summary (&dict, manifest);
  g_variant_dict_insert_value (&dict, "file-list", g_variant_builder_end (&files));
  g_variant_dict_insert (&dict, "manifest-jws", "s", manifest->jws);
  return g_variant_dict_end (&dict);
}

static GVariant *
eh_dp_dbus_list (EhDp *dp)
{
  g_autoptr (GPtrArray) all = eh_dp_library_list (dp->library);
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < all->len; i++) {
    GVariantDict dict;

    g_variant_dict_init (&dict, NULL);
    eh_dp_dbus_summary (&dict, g_ptr_array_index (all, i));
    g_variant_builder_add_value (&list, g_variant_dict_end (&dict));
  }
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_dp_dbus_lookup (EhDp *dp, GVariant *parameters, GError **error)
{
  const char *id = NULL;
  const EhDpManifest *manifest;

  g_variant_get (parameters, "(&s)", &id);
  if (!eh_dp_content_id_is_valid (id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a content id (like PS100001)");
    return NULL;
  }
  manifest = eh_dp_library_lookup (dp->library, id);
  if (manifest == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no content %s", id);
    return NULL;
  }
  return g_variant_new ("(@a{sv})", eh_dp_dbus_show (manifest));
}

typedef struct {
  EhDp *dp;
  GDBusMethodInvocation *invocation;
} EhDpCall;

static EhDpCall *
eh_dp_call_new (EhDp *dp, GDBusMethodInvocation *invocation)
{
  EhDpCall *call = g_new0 (EhDpCall, 1);

  call->dp = eh_dp_ref (dp);
  call->invocation = g_object_ref (invocation);
  return call;
}

static void
eh_dp_call_free (EhDpCall *call)
{
  eh_dp_unref (call->dp);
  g_object_unref (call->invocation);
  g_free (call);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpCall, eh_dp_call_free)

static void
eh_dp_dbus_added (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDpCall) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = eh_dp_add_content_finish (result, &error);
  const EhDpManifest *manifest = id != NULL ? eh_dp_library_lookup (call->dp->library, id) : NULL;

  if (manifest == NULL) {
    if (error == NULL)
      error = g_error_new (EH_ERROR, EH_ERROR_NOT_FOUND, "content %s was removed meanwhile", id);
    eh_dbus_return_error (call->invocation, error);
    return;
  }
  g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(@a{sv})", eh_dp_dbus_show (manifest)));
}

static void
eh_dp_dbus_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDpCall) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_task_propagate_pointer (G_TASK (result), &error);

  if (reply == NULL) {
    eh_dbus_return_error (call->invocation, error);
    return;
  }
  g_dbus_method_invocation_return_value (call->invocation, g_variant_new ("(@a{sv})", reply));
}

static void
eh_dp_dbus_call (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                 GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhDp *dp = user_data;
  g_autoptr (GError) error = NULL;
  GVariant *result = NULL;
  const char *name = NULL, *path = NULL, *version = NULL, *id = NULL;

  if (eh_dp_distribute_call (dp, method, parameters, invocation))
    return;
  if (g_strcmp0 (method, "AddContent") == 0) {
    g_variant_get (parameters, "(&s&s&s)", &name, &path, &version);
    g_message ("content add %s from %s asked by uid %u", name, path, caller_uid);
    eh_dp_add_content (dp, name, version[0] != '\0' ? version : "1", path, eh_dp_dbus_added,
                       eh_dp_call_new (dp, invocation));
    return;
  }
  if (g_strcmp0 (method, "RemoveContent") == 0 || g_strcmp0 (method, "VerifyContent") == 0) {
    gboolean remove = g_strcmp0 (method, "RemoveContent") == 0;

    g_variant_get (parameters, "(&s)", &id);
    if (remove)
      eh_dp_remove_content (dp, id, eh_dp_dbus_result, eh_dp_call_new (dp, invocation));
    else
      eh_dp_verify_content (dp, id, eh_dp_dbus_result, eh_dp_call_new (dp, invocation));
    return;
  }
  if (g_strcmp0 (method, "ContentStatus") == 0) {
    g_variant_get (parameters, "(&s)", &id);
    if (!eh_dp_content_id_is_valid (id)) {
      g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a content id: like PS100001");
      eh_dbus_return (invocation, method, NULL, error);
      return;
    }
    result = g_variant_new ("(@aa{sv})", eh_dp_status_list (dp, id));
  } else if (g_strcmp0 (method, "ListContent") == 0)
    result = eh_dp_dbus_list (dp);
  else if (g_strcmp0 (method, "ShowContent") == 0)
    result = eh_dp_dbus_lookup (dp, parameters, &error);
  eh_dbus_return (invocation, method, result, error);
}

gboolean
eh_dp_dbus_start (EhDp *dp, GError **error)
{
  return eh_plugin_export_dbus (dp->plugin, eh_dp_dbus_xml, eh_dp_dbus_call, dp, error);
}
