/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ca.h"

/* the ca's schema; new steps only ever go at the end */
static const EhStoreMigration eh_ca_migrations[] = {
  { 1,
    "CREATE TABLE ca_certificates ("
    "  serial TEXT PRIMARY KEY NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('root', 'site-signing', 'role', 'token-signing')),"
    "  state TEXT NOT NULL CHECK (state IN ('reserved', 'issued', 'abandoned', 'revoked')),"
    "  subject TEXT NOT NULL,"
    "  names TEXT NOT NULL,"
    "  roles TEXT NOT NULL,"
    "  host TEXT,"
    "  requester TEXT NOT NULL,"
    "  tbs TEXT NOT NULL,"
    "  not_before INTEGER NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  issued_at INTEGER,"
    "  der BLOB,"
    "  fingerprint TEXT UNIQUE,"
    "  revoked_at INTEGER,"
    "  reason TEXT,"
    "  CHECK (state NOT IN ('issued', 'revoked') OR der IS NOT NULL)"
    ");"
    "CREATE INDEX ca_certificates_kind ON ca_certificates (kind, state);"
    "CREATE TABLE ca_join_tokens ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  secret_hash BLOB NOT NULL,"
    "  roles TEXT NOT NULL,"
    "  names TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  used_by TEXT,"
    "  revoked_at INTEGER"
    ");"
    "CREATE TABLE ca_counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);" },
};

gboolean
eh_ca_records_migrate (EhStore *store, GError **error)
{
  return eh_store_migrate (store, "ca", eh_ca_migrations, G_N_ELEMENTS (eh_ca_migrations), error);
}

static const char *const eh_ca_kind_names[] = { "root", "site-signing", "role", "token-signing" };

const char *
eh_ca_kind_to_string (EhCaKind kind)
{
  return eh_ca_kind_names[kind];
}

static EhCaKind
eh_ca_kind_from_string (const char *text)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_ca_kind_names); i++) {
    if (g_strcmp0 (text, eh_ca_kind_names[i]) == 0)
      return i;
  }
  return EH_CA_KIND_ROLE;
}

gint
eh_ca_records_abandon_reserved (EhStore *store, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "UPDATE ca_certificates SET state = 'abandoned' WHERE state = 'reserved'", error);

  if (stmt == NULL || !eh_store_execute (store, stmt, "abandoning reserved serials", error))
    return -1;
  return sqlite3_changes (eh_store_get_db (store));
}

void
eh_ca_record_free (EhCaRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->serial);
  g_free (record->state);
  g_free (record->subject);
  g_strfreev (record->names);
  g_strfreev (record->roles);
  g_free (record->host);
  g_free (record->requester);
  g_free (record->reason);
  g_free (record->fingerprint);
  g_clear_pointer (&record->der, g_bytes_unref);
  g_free (record);
}

#define EH_CA_RECORD_COLUMNS                                                                       \
  "serial, kind, state, subject, names, roles, host, requester, not_before, not_after, "          \
  "created_at, revoked_at, reason, fingerprint, der"

static char *
eh_ca_column_text (sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

/* names and roles are stored comma-joined: neither may contain a comma */
static GStrv
eh_ca_column_list (sqlite3_stmt *stmt, int column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  if (text == NULL || text[0] == '\0')
    return g_new0 (char *, 1);
  return g_strsplit (text, ",", -1);
}

static EhCaRecord *
eh_ca_record_from_row (sqlite3_stmt *stmt)
{
  EhCaRecord *record = g_new0 (EhCaRecord, 1);
  g_autofree char *kind = eh_ca_column_text (stmt, 1);

  record->serial = eh_ca_column_text (stmt, 0);
  record->kind = eh_ca_kind_from_string (kind);
  record->state = eh_ca_column_text (stmt, 2);
  record->subject = eh_ca_column_text (stmt, 3);
  record->names = eh_ca_column_list (stmt, 4);
  record->roles = eh_ca_column_list (stmt, 5);
  record->host = eh_ca_column_text (stmt, 6);
  record->requester = eh_ca_column_text (stmt, 7);
  record->not_before = sqlite3_column_int64 (stmt, 8);
  record->not_after = sqlite3_column_int64 (stmt, 9);
  record->created_at = sqlite3_column_int64 (stmt, 10);
  record->revoked_at = sqlite3_column_int64 (stmt, 11);
  record->reason = eh_ca_column_text (stmt, 12);
  record->fingerprint = eh_ca_column_text (stmt, 13);
  if (sqlite3_column_type (stmt, 14) == SQLITE_BLOB)
    record->der = g_bytes_new (sqlite3_column_blob (stmt, 14), sqlite3_column_bytes (stmt, 14));
  return record;
}

/* collects every row of a prepared, bound statement */
static GPtrArray *
eh_ca_records_collect (EhStore *store, sqlite3_stmt *stmt, GError **error)
{
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_ca_record_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, eh_ca_record_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "reading certificates", error);
    return NULL;
  }
  return g_steal_pointer (&records);
}

GPtrArray *
eh_ca_records_list (EhStore *store, gint kind, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "SELECT " EH_CA_RECORD_COLUMNS " FROM ca_certificates WHERE ?1 IS NULL OR kind = ?1 "
      "ORDER BY created_at DESC, serial",
      error);

  if (stmt == NULL)
    return NULL;
  if (kind >= 0)
    sqlite3_bind_text (stmt, 1, eh_ca_kind_to_string (kind), -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, 1);
  return eh_ca_records_collect (store, stmt, error);
}

EhCaRecord *
eh_ca_records_get (EhStore *store, const char *serial, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT " EH_CA_RECORD_COLUMNS " FROM ca_certificates WHERE serial = ?1", error);
  g_autoptr (GPtrArray) rows = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, serial, -1, SQLITE_TRANSIENT);
  rows = eh_ca_records_collect (store, stmt, error);
  if (rows == NULL)
    return NULL;
  if (rows->len == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no certificate with serial %s", serial);
    return NULL;
  }
  return g_ptr_array_steal_index (rows, 0);
}

GPtrArray *
eh_ca_records_current (EhStore *store, EhCaKind kind, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "SELECT " EH_CA_RECORD_COLUMNS " FROM ca_certificates "
      "WHERE kind = ?1 AND state = 'issued' AND not_after > ?2 ORDER BY not_before, serial",
      error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, eh_ca_kind_to_string (kind), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  return eh_ca_records_collect (store, stmt, error);
}

GStrv
eh_ca_records_revoked_serials (EhStore *store, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "SELECT serial FROM ca_certificates WHERE state = 'revoked' AND not_after > ?1 "
      "ORDER BY revoked_at, serial",
      error);
  g_autoptr (GStrvBuilder) serials = g_strv_builder_new ();
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, g_get_real_time () / G_USEC_PER_SEC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_strv_builder_add (serials, (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "reading revoked serials", error);
    return NULL;
  }
  return g_strv_builder_end (serials);
}

gboolean
eh_ca_records_revoke (EhStore *store, const char *serial, const char *reason, GError **error)
{
  g_autoptr (EhCaRecord) record = eh_ca_records_get (store, serial, error);
  sqlite3_stmt *stmt;

  if (record == NULL)
    return FALSE;
  if (record->kind == EH_CA_KIND_ROOT || record->kind == EH_CA_KIND_SITE_SIGNING) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "%s is the site's %s certificate: it is replaced, not revoked", serial,
                 eh_ca_kind_to_string (record->kind));
    return FALSE;
  }
  if (g_strcmp0 (record->state, "issued") != 0) {
    g_set_error (error, EH_ERROR,
                 g_strcmp0 (record->state, "revoked") == 0 ? EH_ERROR_EXISTS : EH_ERROR_INVALID_ARGUMENT,
                 "certificate %s is %s, not issued", serial, record->state);
    return FALSE;
  }
  stmt = eh_store_prepare (store,
                           "UPDATE ca_certificates SET state = 'revoked', revoked_at = ?2, "
                           "reason = ?3 WHERE serial = ?1 AND state = 'issued'",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, serial, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  sqlite3_bind_text (stmt, 3, reason, -1, SQLITE_TRANSIENT);
  if (!eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  if (!eh_store_execute (store, stmt, "revoking", error)) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  return eh_store_transaction_commit (store, error);
}

gboolean
eh_ca_records_bump_counter (EhStore *store, const char *name, guint64 *value, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "INSERT INTO ca_counters (name, value) VALUES (?1, 1) "
      "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
      error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  /* RETURNING needs the statement run to its end before the change sticks */
  while (rc == SQLITE_ROW)
    rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "counting", error);
    return FALSE;
  }
  return TRUE;
}
