/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Discovery: the Entra users and devices the site knows (table
 * mp_discovered). Admins import them from a file:
 *
 *   { "users":   [ { "tenant_id": GUID, "object_id": GUID,
 *                    "sid": "S-1-5-21-…" (optional), "name": "…" (optional) } ],
 *     "devices": [ { "tenant_id": GUID, "device_id": GUID, "name": "…" (optional) } ] }
 *
 * The whole file is checked before anything is written, and written in
 * one durable transaction: an import adds or updates every entry, or none.
 */

#define EH_MP_DISCOVERY_DEPTH 3
#define EH_MP_DISCOVERY_MAX_NAME 256

static const char *const eh_mp_discovery_top[] = { "users", "devices", NULL };
static const char *const eh_mp_discovery_user[] = { "tenant_id", "object_id", NULL };
static const char *const eh_mp_discovery_user_optional[] = { "sid", "name", NULL };
static const char *const eh_mp_discovery_device[] = { "tenant_id", "device_id", NULL };
static const char *const eh_mp_discovery_device_optional[] = { "name", NULL };

void
eh_mp_discovered_free (EhMpDiscovered *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->tenant_id);
  g_free (entry->object_id);
  g_free (entry->sid);
  g_free (entry->name);
  g_free (entry->imported_by);
  g_free (entry);
}

static gboolean
eh_mp_discovery_guid (JsonObject *object, const char *member, const char *what, char **out, GError **error)
{
  const char *text = NULL;

  if (!eh_mp_json_get_string (object, member, what, &text, error))
    return FALSE;
  if (!g_uuid_string_is_valid (text)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: \"%s\" must be a GUID", what, member);
    return FALSE;
  }
  *out = g_ascii_strdown (text, -1);
  return TRUE;
}

static gboolean
eh_mp_discovery_name (JsonObject *object, const char *what, char **out, GError **error)
{
  const char *text = NULL;

  if (!json_object_has_member (object, "name"))
    return TRUE;
  if (!eh_mp_json_get_string (object, "name", what, &text, error))
    return FALSE;
  if (strlen (text) > EH_MP_DISCOVERY_MAX_NAME) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: \"name\" is longer than %d bytes", what,
                 EH_MP_DISCOVERY_MAX_NAME);
    return FALSE;
  }
  for (const char *p = text; *p != '\0'; p++) {
    if ((guchar) *p < 0x20 || *p == 0x7f) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: \"name\" holds control characters", what);
      return FALSE;
    }
  }
  *out = g_strdup (text);
  return TRUE;
}

static EhMpDiscovered *
eh_mp_discovery_entry (JsonNode *node, EhMpEntraKind kind, guint index, GError **error)
{
  g_autoptr (EhMpDiscovered) entry = g_new0 (EhMpDiscovered, 1);
  g_autofree char *what = g_strdup_printf ("%s %u", kind == EH_MP_ENTRA_USER ? "user" : "device", index);
  JsonObject *object;

  entry->kind = kind;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s is not a JSON object", what);
    return NULL;
  }
  object = json_node_get_object (node);
  if (kind == EH_MP_ENTRA_USER) {
    const char *sid = NULL;

    if (!eh_mp_json_check_members (object, eh_mp_discovery_user, eh_mp_discovery_user_optional, what, error) ||
        !eh_mp_discovery_guid (object, "object_id", what, &entry->object_id, error))
      return NULL;
    if (json_object_has_member (object, "sid")) {
      if (!eh_mp_json_get_string (object, "sid", what, &sid, error))
        return NULL;
      if (!eh_mp_entra_sid_is_valid (sid)) {
        g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: \"sid\" must look like S-1-5-21-…", what);
        return NULL;
      }
      entry->sid = g_strdup (sid);
    }
  } else if (!eh_mp_json_check_members (object, eh_mp_discovery_device, eh_mp_discovery_device_optional, what,
                                        error) ||
             !eh_mp_discovery_guid (object, "device_id", what, &entry->object_id, error)) {
    return NULL;
  }
  if (!eh_mp_discovery_guid (object, "tenant_id", what, &entry->tenant_id, error) ||
      !eh_mp_discovery_name (object, what, &entry->name, error))
    return NULL;
  return g_steal_pointer (&entry);
}

GPtrArray *
eh_mp_discovery_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_discovered_free);
  g_autoptr (JsonNode) root = eh_json_parse_strict (data, len, EH_MP_DISCOVERY_MAX_BYTES,
                                                    EH_MP_DISCOVERY_DEPTH, error);
  JsonObject *object;

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a discovery file is a JSON object");
    return NULL;
  }
  object = json_node_get_object (root);
  if (!eh_mp_json_check_members (object, (const char *const[]){ NULL }, eh_mp_discovery_top, "discovery file",
                                 error))
    return NULL;
  for (guint k = 0; k < 2; k++) {
    JsonNode *list = json_object_get_member (object, eh_mp_discovery_top[k]);
    JsonArray *array;

    if (list == NULL)
      continue;
    if (!JSON_NODE_HOLDS_ARRAY (list)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "\"%s\" must be an array", eh_mp_discovery_top[k]);
      return NULL;
    }
    array = json_node_get_array (list);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      EhMpDiscovered *entry;

      if (entries->len >= EH_MP_DISCOVERY_MAX_ENTRIES) {
        g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a discovery file holds at most %d entries",
                     EH_MP_DISCOVERY_MAX_ENTRIES);
        return NULL;
      }
      entry = eh_mp_discovery_entry (json_array_get_element (array, i), k == 0 ? EH_MP_ENTRA_USER
                                                                               : EH_MP_ENTRA_DEVICE, i, error);
      if (entry == NULL)
        return NULL;
      g_ptr_array_add (entries, entry);
    }
  }
  if (entries->len == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the discovery file names no user or device");
    return NULL;
  }
  return g_steal_pointer (&entries);
}

static gboolean
eh_mp_discovery_write (EhStore *store, GPtrArray *entries, const char *by, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "INSERT INTO mp_discovered (kind, tenant_id, object_id, sid, name, imported_at, imported_by) "
             "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, tenant_id, object_id) DO UPDATE SET "
             "sid = excluded.sid, name = excluded.name, imported_at = excluded.imported_at, "
             "imported_by = excluded.imported_by", error);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++) {
    const EhMpDiscovered *entry = g_ptr_array_index (entries, i);

    sqlite3_bind_text (stmt, 1, eh_mp_entra_kind_to_string (entry->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, entry->tenant_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 3, entry->object_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 4, entry->sid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 5, entry->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 6, now);
    sqlite3_bind_text (stmt, 7, by, -1, SQLITE_TRANSIENT);
    if (!eh_store_execute (store, stmt, "recording a discovered identity", error))
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_mp_discovery_import (EhStore *store, const char *data, gsize len, const char *by, guint *users,
                        guint *devices, GError **error)
{
  g_autoptr (GPtrArray) entries = eh_mp_discovery_parse (data, len, error);

  if (entries == NULL)
    return FALSE;
  if (!eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  if (!eh_mp_discovery_write (store, entries, by, error) || !eh_store_transaction_commit (store, error)) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  *users = *devices = 0;
  for (guint i = 0; i < entries->len; i++) {
    const EhMpDiscovered *entry = g_ptr_array_index (entries, i);

    (*(entry->kind == EH_MP_ENTRA_USER ? users : devices))++;
  }
  return TRUE;
}

static EhMpDiscovered *
eh_mp_discovered_from_row (sqlite3_stmt *stmt)
{
  EhMpDiscovered *entry = g_new0 (EhMpDiscovered, 1);
  const char *sid = (const char *) sqlite3_column_text (stmt, 3);
  const char *name = (const char *) sqlite3_column_text (stmt, 4);

  eh_mp_entra_kind_from_string ((const char *) sqlite3_column_text (stmt, 0), &entry->kind);
  entry->tenant_id = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  entry->object_id = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  entry->sid = g_strdup (sid);
  entry->name = g_strdup (name);
  entry->imported_at = sqlite3_column_int64 (stmt, 5);
  entry->imported_by = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
  return entry;
}

GPtrArray *
eh_mp_discovery_list (EhStore *store, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT kind, tenant_id, object_id, sid, name, imported_at, imported_by FROM mp_discovered "
             "ORDER BY kind, tenant_id, object_id", error);
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_discovered_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (entries, eh_mp_discovered_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "listing discovered identities", error);
    return NULL;
  }
  return g_steal_pointer (&entries);
}

gboolean
eh_mp_discovery_find (EhStore *store, const EhMpEntraIdentity *identity, gboolean *found, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT count(*) FROM mp_discovered WHERE kind = ? AND tenant_id = ? AND object_id = ?", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, eh_mp_entra_kind_to_string (identity->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, identity->tenant_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, identity->object_id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *found = sqlite3_column_int (stmt, 0) > 0;
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_ROW) {
    eh_store_set_error (store, "looking up a discovered identity", error);
    return FALSE;
  }
  return TRUE;
}

guint
eh_mp_discovery_remove (EhStore *store, const char *object_id, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (store, "DELETE FROM mp_discovered WHERE object_id = ?", error);
  guint removed;

  if (stmt == NULL)
    return 0;
  sqlite3_bind_text (stmt, 1, object_id, -1, SQLITE_TRANSIENT);
  if (!eh_store_transaction_begin (store, TRUE, error))
    return 0;
  if (!eh_store_execute (store, stmt, "removing a discovered identity", error) ||
      !eh_store_transaction_commit (store, error)) {
    eh_store_transaction_rollback (store);
    return 0;
  }
  removed = sqlite3_changes (eh_store_get_db (store));
  if (removed == 0)
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no user or device %s is discovered", object_id);
  return removed;
}
