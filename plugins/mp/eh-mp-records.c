/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/* the mp's schema; new steps only ever go at the end */
static const EhStoreMigration eh_mp_migrations[] = {
  { 1,
    "CREATE TABLE mp_clients ("
    "  guid TEXT PRIMARY KEY NOT NULL,"
    "  thumbprint TEXT NOT NULL UNIQUE,"
    "  jwk TEXT NOT NULL,"
    "  key_type TEXT NOT NULL,"
    "  host_name TEXT NOT NULL,"
    "  hardware_id TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'blocked')),"
    "  state_before_block TEXT CHECK (state_before_block IN ('pending', 'approved')),"
    "  approved_by TEXT,"
    "  peer TEXT NOT NULL,"
    "  registered_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  state_changed_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX mp_clients_hardware ON mp_clients (hardware_id);" },
  { 2,
    "CREATE TABLE mp_token_keys ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  key_file TEXT NOT NULL,"
    "  cert_pem TEXT NOT NULL,"
    "  x5t TEXT NOT NULL UNIQUE,"
    "  serial TEXT NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),"
    "  activate_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE mp_bulk_tokens ("
    "  guid TEXT PRIMARY KEY NOT NULL,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  max_uses INTEGER NOT NULL CHECK (max_uses >= 0),"
    "  uses INTEGER NOT NULL DEFAULT 0,"
    "  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),"
    "  created_by TEXT NOT NULL,"
    "  first_used_at INTEGER,"
    "  last_used_at INTEGER"
    ");"
    "CREATE TABLE mp_bulk_token_uses ("
    "  bulk_guid TEXT NOT NULL REFERENCES mp_bulk_tokens (guid),"
    "  client_guid TEXT NOT NULL,"
    "  used_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX mp_bulk_token_uses_guid ON mp_bulk_token_uses (bulk_guid);" },
  { 3,
    "CREATE TABLE mp_deployments ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  content_id TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  collection TEXT,"
    "  body TEXT NOT NULL,"
    "  body_sha256 TEXT NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE mp_collection_members ("
    "  collection TEXT NOT NULL,"
    "  client_guid TEXT NOT NULL,"
    "  PRIMARY KEY (collection, client_guid)"
    ");"
    "CREATE INDEX mp_collection_members_client ON mp_collection_members (client_guid);" },
  { 4,
    "CREATE TABLE mp_discovered ("
    "  kind TEXT NOT NULL CHECK (kind IN ('user', 'device')),"
    "  tenant_id TEXT NOT NULL,"
    "  object_id TEXT NOT NULL,"
    "  sid TEXT,"
    "  name TEXT,"
    "  imported_at INTEGER NOT NULL,"
    "  imported_by TEXT NOT NULL,"
    "  PRIMARY KEY (kind, tenant_id, object_id)"
    ");"
    "CREATE INDEX mp_discovered_object ON mp_discovered (object_id);" },
  { 5,
    "CREATE TABLE mp_boundaries ("
    "  name TEXT PRIMARY KEY,"
    "  subnets TEXT NOT NULL,"
    "  dps TEXT NOT NULL,"
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");" },
};

static const char *const eh_mp_state_names[] = { "pending", "approved", "blocked" };

gboolean
eh_mp_records_migrate (EhStore *store, GError **error)
{
  return eh_store_migrate (store, "mp", eh_mp_migrations, G_N_ELEMENTS (eh_mp_migrations), error);
}

const char *
eh_mp_client_state_to_string (EhMpClientState state)
{
  return eh_mp_state_names[state];
}

static EhMpClientState
eh_mp_client_state_from_string (const char *text)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_mp_state_names); i++) {
    if (g_strcmp0 (text, eh_mp_state_names[i]) == 0)
      return i;
  }
  return EH_MP_CLIENT_BLOCKED; /* the check constraint makes this unreachable; fail closed */
}

void
eh_mp_client_free (EhMpClient *client)
{
  if (client == NULL)
    return;
  g_free (client->guid);
  g_free (client->thumbprint);
  g_free (client->jwk_json);
  g_free (client->key_type);
  g_free (client->host_name);
  g_free (client->hardware_id);
  g_free (client->approved_by);
  g_free (client->peer);
  g_free (client);
}

char *
eh_mp_guid_normalize (const char *text, GError **error)
{
  if (text == NULL || !g_uuid_string_is_valid (text)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a client GUID looks like 0f8fad5b-d9cb-469f-a165-70867728950e");
    return NULL;
  }
  return g_ascii_strdown (text, -1);
}

#define EH_MP_CLIENT_COLUMNS                                                                       \
  "guid, thumbprint, jwk, key_type, host_name, hardware_id, state, approved_by, peer, "           \
  "registered_at, last_seen_at, state_changed_at, "                                               \
  "(SELECT count(*) FROM mp_clients o WHERE o.hardware_id = mp_clients.hardware_id "               \
  " AND o.guid != mp_clients.guid)"

static char *
eh_mp_column_text (sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

static EhMpClient *
eh_mp_client_from_row (sqlite3_stmt *stmt)
{
  EhMpClient *client = g_new0 (EhMpClient, 1);

  client->guid = eh_mp_column_text (stmt, 0);
  client->thumbprint = eh_mp_column_text (stmt, 1);
  client->jwk_json = eh_mp_column_text (stmt, 2);
  client->key_type = eh_mp_column_text (stmt, 3);
  client->host_name = eh_mp_column_text (stmt, 4);
  client->hardware_id = eh_mp_column_text (stmt, 5);
  client->state = eh_mp_client_state_from_string ((const char *) sqlite3_column_text (stmt, 6));
  client->approved_by = eh_mp_column_text (stmt, 7);
  client->peer = eh_mp_column_text (stmt, 8);
  client->registered_at = sqlite3_column_int64 (stmt, 9);
  client->last_seen_at = sqlite3_column_int64 (stmt, 10);
  client->state_changed_at = sqlite3_column_int64 (stmt, 11);
  client->same_hardware = sqlite3_column_int (stmt, 12);
  return client;
}

/* runs a bound SELECT of EH_MP_CLIENT_COLUMNS; one row or NOT_FOUND */
static EhMpClient *
eh_mp_records_fetch_one (EhStore *store, sqlite3_stmt *stmt, GError **error)
{
  EhMpClient *client = NULL;
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    client = eh_mp_client_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no such client");
  else
    eh_store_set_error (store, "reading a client", error);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return client;
}

EhMpClient *
eh_mp_records_get (EhStore *store, const char *guid, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT " EH_MP_CLIENT_COLUMNS " FROM mp_clients WHERE guid = ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, guid, -1, SQLITE_TRANSIENT);
  return eh_mp_records_fetch_one (store, stmt, error);
}

EhMpClient *
eh_mp_records_get_by_thumbprint (EhStore *store, const char *thumbprint, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT " EH_MP_CLIENT_COLUMNS " FROM mp_clients WHERE thumbprint = ?", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, thumbprint, -1, SQLITE_TRANSIENT);
  return eh_mp_records_fetch_one (store, stmt, error);
}

/* guid, thumbprint, jwk, key_type and state of the client with this key, and
 * no more: the hardware count of EH_MP_CLIENT_COLUMNS is a second lookup */
static EhMpClient *
eh_mp_records_find_key (EhStore *store, const char *thumbprint, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT guid, thumbprint, jwk, key_type, state FROM mp_clients WHERE thumbprint = ?", error);
  EhMpClient *client = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, thumbprint, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW) {
    client = g_new0 (EhMpClient, 1);
    client->guid = eh_mp_column_text (stmt, 0);
    client->thumbprint = eh_mp_column_text (stmt, 1);
    client->jwk_json = eh_mp_column_text (stmt, 2);
    client->key_type = eh_mp_column_text (stmt, 3);
    client->state = eh_mp_client_state_from_string ((const char *) sqlite3_column_text (stmt, 4));
  } else if (rc == SQLITE_DONE) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no such client");
  } else {
    eh_store_set_error (store, "reading a client", error);
  }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return client;
}

EhMpClient *
eh_mp_records_get_key_by_thumbprint (EhStore *store, const char *thumbprint, gnutls_pubkey_t *key, EhJwsAlg *alg,
                                     GError **error)
{
  EhMpClientCache *cache = eh_mp_client_cache_get (store);
  g_autoptr (EhMpClient) client = eh_mp_client_cache_lookup (cache, thumbprint, key, alg);
  g_autoptr (JsonNode) jwk = NULL;
  g_autoptr (GError) local = NULL;

  if (client != NULL)
    return g_steal_pointer (&client);
  client = eh_mp_records_find_key (store, thumbprint, error);
  if (client == NULL)
    return NULL;
  jwk = eh_json_parse_strict (client->jwk_json, strlen (client->jwk_json), EH_MP_MAX_REGISTER_BYTES, 4, &local);
  if (jwk != NULL)
    *key = eh_jws_jwk_to_pubkey (json_node_get_object (jwk), EH_MP_PROOF_ALGS, alg, &local);
  if (jwk == NULL || *key == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "client %s has an unreadable key: %s", client->guid,
                 local->message);
    return NULL;
  }
  g_clear_pointer (&client->jwk_json, g_free); /* the same whether cached or not */
  eh_mp_client_cache_add (cache, client, *key, *alg);
  return g_steal_pointer (&client);
}

GPtrArray *
eh_mp_records_list (EhStore *store, const char *state, guint offset, guint limit, guint *total, GError **error)
{
  sqlite3_stmt *count = eh_store_prepare (store, "SELECT count(*) FROM mp_clients WHERE ?1 IS NULL OR state = ?1",
                                          error);
  sqlite3_stmt *stmt = count == NULL ? NULL : eh_store_prepare (
      store,
      "SELECT " EH_MP_CLIENT_COLUMNS " FROM mp_clients WHERE ?1 IS NULL OR state = ?1 "
      "ORDER BY registered_at DESC, guid LIMIT ?2 OFFSET ?3",
      error);
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_client_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  if (state != NULL && !g_strv_contains (eh_mp_state_names, state)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a client state is pending, approved or blocked");
    return NULL;
  }
  sqlite3_bind_text (count, 1, state, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (count) != SQLITE_ROW) {
    sqlite3_reset (count);
    eh_store_set_error (store, "counting clients", error);
    return NULL;
  }
  *total = (guint) sqlite3_column_int64 (count, 0);
  sqlite3_reset (count);
  sqlite3_bind_text (stmt, 1, state, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, limit);
  sqlite3_bind_int64 (stmt, 3, offset);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (clients, eh_mp_client_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "listing clients", error);
    return NULL;
  }
  return g_steal_pointer (&clients);
}

/* how many registrations this hardware id has, and whether one is blocked */
static gboolean
eh_mp_records_hardware_count (EhStore *store, const char *hardware_id, guint *count, gboolean *blocked,
                              GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT count(*), count(*) FILTER (WHERE state = 'blocked') FROM mp_clients WHERE hardware_id = ?",
      error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, hardware_id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW) {
    *count = sqlite3_column_int (stmt, 0);
    *blocked = sqlite3_column_int (stmt, 1) > 0;
  }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_ROW) {
    eh_store_set_error (store, "checking a hardware id", error);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_mp_records_insert (EhStore *store, const EhMpRegistration *registration, const char *guid,
                      EhMpClientState state, const char *approved_by, const char *peer, gint64 now,
                      GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "INSERT INTO mp_clients (guid, thumbprint, jwk, key_type, host_name, hardware_id, state, "
      "approved_by, peer, registered_at, last_seen_at, state_changed_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, registration->thumbprint, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, registration->jwk_json, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, registration->key_type, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, registration->host_name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, registration->hardware_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 7, eh_mp_state_names[state], -1, SQLITE_STATIC);
  if (state == EH_MP_CLIENT_APPROVED)
    sqlite3_bind_text (stmt, 8, approved_by, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 8);
  sqlite3_bind_text (stmt, 9, peer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 10, now);
  sqlite3_bind_int64 (stmt, 11, now);
  sqlite3_bind_int64 (stmt, 12, now);
  return eh_store_execute (store, stmt, "recording a registration", error);
}

static gboolean
eh_mp_records_touch (EhStore *store, const char *guid, const char *host_name, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "UPDATE mp_clients SET last_seen_at = ?, host_name = ? WHERE guid = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, g_get_real_time () / G_USEC_PER_SEC);
  sqlite3_bind_text (stmt, 2, host_name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, guid, -1, SQLITE_TRANSIENT);
  return eh_store_execute (store, stmt, "updating a registration", error);
}

/* a pending client that brought a valid bulk token is approved by it */
static gboolean
eh_mp_records_approve_by (EhStore *store, const char *guid, const char *by, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "UPDATE mp_clients SET state = 'approved', approved_by = ?2, state_changed_at = ?3 "
             "WHERE guid = ?1 AND state = 'pending'", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time () / G_USEC_PER_SEC);
  return eh_store_execute (store, stmt, "approving a client", error);
}

/* counts the bulk token's use for @guid; its approval is named after it */
static char *
eh_mp_records_use_bulk (EhStore *store, const EhMpRegistration *registration, const char *guid,
                        GError **error)
{
  g_autofree char *bulk_guid = NULL;

  if (!eh_mp_bulk_token_use (store, registration->bulk_token, guid, &bulk_guid, error))
    return NULL;
  return g_strdup_printf ("bulk token %s", bulk_guid);
}

static EhMpClient *
eh_mp_records_register_locked (EhStore *store, const EhMpRegistration *registration,
                               gboolean auto_approve, const char *approve_by, const char *peer,
                               gboolean *created, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (EhMpClient) existing = NULL;
  g_autofree char *guid = NULL;
  g_autofree char *approved_by = NULL;
  gboolean blocked = FALSE;
  guint same_hardware = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  EhMpClientState state;
  EhMpClient *client;

  existing = eh_mp_records_find_key (store, registration->thumbprint, &local);
  if (existing != NULL) {
    /* the same key again: the same client (a blocked one stays untouched) */
    *created = FALSE;
    if (existing->state == EH_MP_CLIENT_BLOCKED)
      return eh_mp_records_get (store, existing->guid, error);
    if (!eh_mp_records_touch (store, existing->guid, registration->host_name, error))
      return NULL;
    /* an approval below changes what a token request would find */
    if (existing->state == EH_MP_CLIENT_PENDING)
      eh_mp_client_cache_forget (eh_mp_client_cache_get (store), existing->thumbprint);
    if (existing->state == EH_MP_CLIENT_PENDING && registration->bulk_token != NULL &&
        ((approved_by = eh_mp_records_use_bulk (store, registration, existing->guid, error)) == NULL ||
         !eh_mp_records_approve_by (store, existing->guid, approved_by, error)))
      return NULL;
    if (existing->state == EH_MP_CLIENT_PENDING && approve_by != NULL &&
        !eh_mp_records_approve_by (store, existing->guid, approve_by, error))
      return NULL;
    return eh_mp_records_get (store, existing->guid, error);
  }
  if (!g_error_matches (local, EH_ERROR, EH_ERROR_NOT_FOUND)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }
  if (!eh_mp_records_hardware_count (store, registration->hardware_id, &same_hardware, &blocked, error))
    return NULL;
  guid = g_uuid_string_random ();
  *created = TRUE;
  if (registration->bulk_token != NULL &&
      (approved_by = eh_mp_records_use_bulk (store, registration, guid, error)) == NULL)
    return NULL;
  if (approved_by == NULL && approve_by != NULL)
    approved_by = g_strdup (approve_by);
  /* a bulk or Entra token approves, except where this hardware has a blocked registration */
  if (approved_by == NULL && auto_approve)
    approved_by = g_strdup ("auto-approve");
  state = approved_by != NULL && !blocked ? EH_MP_CLIENT_APPROVED : EH_MP_CLIENT_PENDING;
  if (!eh_mp_records_insert (store, registration, guid, state, approved_by, peer, now, error))
    return NULL;
  /* the row just written, without reading it back */
  client = g_new0 (EhMpClient, 1);
  client->guid = g_steal_pointer (&guid);
  client->thumbprint = g_strdup (registration->thumbprint);
  client->jwk_json = g_strdup (registration->jwk_json);
  client->key_type = g_strdup (registration->key_type);
  client->host_name = g_strdup (registration->host_name);
  client->hardware_id = g_strdup (registration->hardware_id);
  client->state = state;
  client->approved_by = state == EH_MP_CLIENT_APPROVED ? g_steal_pointer (&approved_by) : NULL;
  client->peer = g_strdup (peer);
  client->registered_at = client->last_seen_at = client->state_changed_at = now;
  client->same_hardware = same_hardware;
  return client;
}

static gboolean
eh_mp_records_register_item (EhStore *store, gpointer user_data, GError **error)
{
  EhMpRegisterItem *item = user_data;

  item->client = eh_mp_records_register_locked (store, item->registration, item->auto_approve, item->approve_by,
                                                item->peer, &item->created, error);
  return item->client != NULL;
}

void
eh_mp_records_register_batch (EhStore *store, EhMpRegisterItem *items, guint n_items)
{
  g_autoptr (GError) error = NULL;

  if (eh_store_transaction_begin (store, TRUE, &error)) {
    for (guint i = 0; i < n_items; i++)
      eh_store_savepoint (store, eh_mp_records_register_item, &items[i], &items[i].error);
    if (eh_store_transaction_commit (store, &error))
      return;
    eh_store_transaction_rollback (store);
  }
  /* nothing of the batch was kept: every item fails with the reason */
  for (guint i = 0; i < n_items; i++) {
    g_clear_pointer (&items[i].client, eh_mp_client_free);
    g_clear_error (&items[i].error);
    items[i].error = g_error_copy (error);
  }
}

EhMpClient *
eh_mp_records_register (EhStore *store, const EhMpRegistration *registration,
                        gboolean auto_approve, const char *approve_by, const char *peer, gboolean *created,
                        GError **error)
{
  EhMpRegisterItem item = { registration, auto_approve, approve_by, peer, NULL, FALSE, NULL };

  eh_mp_records_register_batch (store, &item, 1);
  *created = item.created;
  if (item.error != NULL)
    g_propagate_error (error, item.error);
  return item.client;
}

EhMpClient *
eh_mp_records_set_state (EhStore *store, const char *guid, const char *action, const char *by,
                         GError **error)
{
  /* block remembers what it replaced, so unblock restores it */
  static const struct {
    const char *action;
    const char *sql;
  } actions[] = {
    { "approve",
      "UPDATE mp_clients SET state = 'approved', approved_by = ?2, state_changed_at = ?3 "
      "WHERE guid = ?1 AND state = 'pending'" },
    { "block",
      "UPDATE mp_clients SET state_before_block = state, state = 'blocked', state_changed_at = ?3 "
      "WHERE guid = ?1 AND state != 'blocked'" },
    { "unblock",
      "UPDATE mp_clients SET state = coalesce(state_before_block, 'pending'), "
      "state_before_block = NULL, state_changed_at = ?3 WHERE guid = ?1 AND state = 'blocked'" },
  };
  g_autoptr (EhMpClient) client = eh_mp_records_get (store, guid, error);
  sqlite3_stmt *stmt = NULL;

  if (client == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++) {
    if (g_strcmp0 (action, actions[i].action) == 0)
      stmt = eh_store_prepare (store, actions[i].sql, error);
  }
  if (stmt == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown action %s", action);
    return NULL;
  }
  sqlite3_bind_text (stmt, 1, guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time () / G_USEC_PER_SEC);
  /* state changes are rare: every cached client is read again from the store */
  eh_mp_client_cache_forget (eh_mp_client_cache_get (store), NULL);
  if (!eh_store_transaction_begin (store, TRUE, error))
    return NULL;
  if (!eh_store_execute (store, stmt, "changing a client's state", error) ||
      !eh_store_transaction_commit (store, error)) {
    eh_store_transaction_rollback (store);
    return NULL;
  }
  if (sqlite3_changes (eh_store_get_db (store)) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "client %s is %s: nothing to %s",
                 guid, eh_mp_client_state_to_string (client->state), action);
    return NULL;
  }
  return eh_mp_records_get (store, guid, error);
}
