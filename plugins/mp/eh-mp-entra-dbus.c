/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-mp.h"

/* org.ehttpd.Mp's discovery and explain methods (the XML is in eh-mp-dbus.c) */

static GVariant *
eh_mp_dbus_discovery_import (EhMp *mp, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree char *by = g_strdup_printf ("admin uid %u", caller_uid);
  const char *document = NULL;
  gsize len = 0;
  guint users = 0, devices = 0;
  GVariantDict dict;

  g_variant_get (parameters, "(&s)", &document);
  len = strlen (document);
  if (!eh_mp_discovery_import (mp->store, document, len, by, &users, &devices, error))
    return NULL;
  g_message ("discovery import by %s: %u user(s), %u device(s)", by, users, devices);
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "users", "u", users);
  g_variant_dict_insert (&dict, "devices", "u", devices);
  return g_variant_new ("(@a{sv})", g_variant_dict_end (&dict));
}

static GVariant *
eh_mp_dbus_discovery_list (EhMp *mp, GError **error)
{
  g_autoptr (GPtrArray) entries = eh_mp_discovery_list (mp->store, error);
  GVariantBuilder list;

  if (entries == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < entries->len; i++) {
    const EhMpDiscovered *entry = g_ptr_array_index (entries, i);
    GVariantDict dict;

    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, "kind", "s", eh_mp_entra_kind_to_string (entry->kind));
    g_variant_dict_insert (&dict, "tenant-id", "s", entry->tenant_id);
    g_variant_dict_insert (&dict, "id", "s", entry->object_id);
    g_variant_dict_insert (&dict, "sid", "s", entry->sid != NULL ? entry->sid : "");
    g_variant_dict_insert (&dict, "name", "s", entry->name != NULL ? entry->name : "");
    g_variant_dict_insert (&dict, "imported-at", "x", entry->imported_at);
    g_variant_dict_insert (&dict, "imported-by", "s", entry->imported_by);
    g_variant_builder_add_value (&list, g_variant_dict_end (&dict));
  }
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_mp_dbus_discovery_remove (EhMp *mp, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree char *id = NULL;
  const char *text = NULL;
  guint removed;

  g_variant_get (parameters, "(&s)", &text);
  if (!g_uuid_string_is_valid (text)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a user's object id or a device id looks like 0f8fad5b-d9cb-469f-a165-70867728950e");
    return NULL;
  }
  id = g_ascii_strdown (text, -1);
  removed = eh_mp_discovery_remove (mp->store, id, error);
  if (removed == 0)
    return NULL;
  g_message ("discovered %s removed by admin uid %u", id, caller_uid);
  return g_variant_new ("(u)", removed);
}

static GVariant *
eh_mp_dbus_explain_reason (EhMpReason reason)
{
  const EhMpReasonInfo *info = eh_mp_reason_info (reason);
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "code", "s", info->code);
  g_variant_dict_insert (&dict, "status", "u", info->status);
  g_variant_dict_insert (&dict, "error", "s", info->error != NULL ? info->error : info->code);
  g_variant_dict_insert (&dict, "rule", "s", info->rule);
  return g_variant_dict_end (&dict);
}

/* a reason code, or the request id of a recent refusal */
static GVariant *
eh_mp_dbus_explain (EhMp *mp, GVariant *parameters, GError **error)
{
  const char *what = NULL;
  const EhMpDenial *denial;
  EhMpReason reason;
  GVariantDict dict;

  g_variant_get (parameters, "(&s)", &what);
  if (eh_mp_reason_from_code (what, &reason))
    return g_variant_new ("(@a{sv})", eh_mp_dbus_explain_reason (reason));
  denial = eh_mp_denials_find (mp->denials, what);
  if (denial == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND,
                 "no reason code and no recent refusal with request id %.64s (this MP remembers the last %u)",
                 what, eh_mp_denials_count (mp->denials));
    return NULL;
  }
  g_variant_dict_init (&dict, eh_mp_dbus_explain_reason (denial->reason));
  g_variant_dict_insert (&dict, "request-id", "s", denial->request_id);
  g_variant_dict_insert (&dict, "subject", "s", denial->subject != NULL ? denial->subject : "");
  g_variant_dict_insert (&dict, "path", "s", denial->path);
  g_variant_dict_insert (&dict, "message", "s", denial->message);
  g_variant_dict_insert (&dict, "time", "x", denial->when);
  return g_variant_new ("(@a{sv})", g_variant_dict_end (&dict));
}

GVariant *
eh_mp_entra_dbus_call (EhMp *mp, const char *method, GVariant *parameters, guint caller_uid, gboolean *handled,
                       GError **error)
{
  *handled = TRUE;
  if (g_strcmp0 (method, "ImportDiscovery") == 0)
    return eh_mp_dbus_discovery_import (mp, parameters, caller_uid, error);
  if (g_strcmp0 (method, "ListDiscovered") == 0)
    return eh_mp_dbus_discovery_list (mp, error);
  if (g_strcmp0 (method, "RemoveDiscovered") == 0)
    return eh_mp_dbus_discovery_remove (mp, parameters, caller_uid, error);
  if (g_strcmp0 (method, "Explain") == 0)
    return eh_mp_dbus_explain (mp, parameters, error);
  *handled = FALSE;
  return NULL;
}
