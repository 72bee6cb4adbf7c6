/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-mp.h"

/* org.ehttpd.Mp's deployment and collection methods (the XML is in eh-mp-dbus.c) */

static GVariant *
eh_mp_dbus_deployment (const EhMpDeployment *deployment)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "s", deployment->id);
  g_variant_dict_insert (&dict, "content-id", "s", deployment->content_id);
  g_variant_dict_insert (&dict, "action", "s", deployment->action);
  g_variant_dict_insert (&dict, "collection", "s", deployment->collection != NULL ? deployment->collection : "");
  g_variant_dict_insert (&dict, "body-sha256", "s", deployment->body_sha256);
  g_variant_dict_insert (&dict, "created-by", "s", deployment->created_by);
  g_variant_dict_insert (&dict, "created-at", "x", deployment->created_at);
  return g_variant_dict_end (&dict);
}

static GVariant *
eh_mp_dbus_deployment_create (EhMp *mp, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree char *by = g_strdup_printf ("admin uid %u", caller_uid);
  g_autoptr (EhMpDeployment) deployment = NULL;
  const char *content_id = NULL, *action = NULL, *collection = NULL;

  g_variant_get (parameters, "(&s&s&s)", &content_id, &action, &collection);
  deployment = eh_mp_deployment_create (mp->store, content_id, action,
                                        collection[0] != '\0' ? collection : NULL, by, error);
  if (deployment == NULL)
    return NULL;
  g_message ("deployment %s created by %s: %s %s for %s", deployment->id, by, deployment->action,
             deployment->content_id, deployment->collection != NULL ? deployment->collection : "all clients");
  return g_variant_new ("(@a{sv})", eh_mp_dbus_deployment (deployment));
}

static GVariant *
eh_mp_dbus_deployment_list (EhMp *mp, GError **error)
{
  g_autoptr (GPtrArray) deployments = eh_mp_deployment_list (mp->store, error);
  GVariantBuilder list;

  if (deployments == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < deployments->len; i++)
    g_variant_builder_add_value (&list, eh_mp_dbus_deployment (g_ptr_array_index (deployments, i)));
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_mp_dbus_deployment_remove (EhMp *mp, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree char *id = NULL;
  const char *text = NULL;

  g_variant_get (parameters, "(&s)", &text);
  if ((id = eh_mp_guid_normalize (text, error)) == NULL || !eh_mp_deployment_remove (mp->store, id, error))
    return NULL;
  g_message ("deployment %s removed by admin uid %u", id, caller_uid);
  return g_variant_new ("()");
}

static GVariant *
eh_mp_dbus_member (EhMp *mp, GVariant *parameters, gboolean member, guint caller_uid, GError **error)
{
  g_autofree char *guid = NULL;
  const char *collection = NULL, *text = NULL;

  g_variant_get (parameters, "(&s&s)", &collection, &text);
  if ((guid = eh_mp_guid_normalize (text, error)) == NULL ||
      !eh_mp_collection_set_member (mp->store, collection, guid, member, error))
    return NULL;
  g_message ("client %s %s collection %s by admin uid %u", guid, member ? "added to" : "removed from",
             collection, caller_uid);
  return g_variant_new ("()");
}

static GVariant *
eh_mp_dbus_collection_list (EhMp *mp, GVariant *parameters, GError **error)
{
  g_autoptr (GPtrArray) members = NULL;
  const char *collection = NULL;
  GVariantBuilder list;

  g_variant_get (parameters, "(&s)", &collection);
  if (collection[0] != '\0' && !eh_mp_collection_name_is_valid (collection)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a collection name is 1 to 64 of A-Z a-z 0-9 . _ -");
    return NULL;
  }
  members = eh_mp_collection_list (mp->store, collection[0] != '\0' ? collection : NULL, error);
  if (members == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < members->len; i++) {
    char **pair = g_ptr_array_index (members, i);
    GVariantDict dict;

    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, "collection", "s", pair[0]);
    g_variant_dict_insert (&dict, "client-guid", "s", pair[1]);
    g_variant_builder_add_value (&list, g_variant_dict_end (&dict));
  }
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

GVariant *
eh_mp_deploy_dbus_call (EhMp *mp, const char *method, GVariant *parameters, guint caller_uid,
                        gboolean *handled, GError **error)
{
  *handled = TRUE;
  if (g_strcmp0 (method, "CreateDeployment") == 0)
    return eh_mp_dbus_deployment_create (mp, parameters, caller_uid, error);
  if (g_strcmp0 (method, "ListDeployments") == 0)
    return eh_mp_dbus_deployment_list (mp, error);
  if (g_strcmp0 (method, "RemoveDeployment") == 0)
    return eh_mp_dbus_deployment_remove (mp, parameters, caller_uid, error);
  if (g_strcmp0 (method, "AddCollectionMember") == 0 || g_strcmp0 (method, "RemoveCollectionMember") == 0)
    return eh_mp_dbus_member (mp, parameters, method[0] == 'A', caller_uid, error);
  if (g_strcmp0 (method, "ListCollections") == 0)
    return eh_mp_dbus_collection_list (mp, parameters, error);
  *handled = FALSE;
  return NULL;
}
