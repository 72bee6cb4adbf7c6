/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gnutls/crypto.h>
#include <string.h>

#include "eh-mp.h"

/*
 * Bulk registration tokens: opaque, "ehbulk." + 32 random bytes
 * (base64url). Only the SHA-256 of the token is stored (mp_bulk_tokens), with
 * its tracking GUID, lifetime, use cap and block flag; every use is a row of
 * the ledger (mp_bulk_token_uses). A registration that brings one is
 * approved at once; the use is counted in the registration's own durable
 * transaction, so a use is counted exactly when a client is recorded.
 */

#define EH_MP_BULK_SECRET_BYTES 32

void
eh_mp_bulk_token_free (EhMpBulkToken *token)
{
  if (token == NULL)
    return;
  g_free (token->guid);
  g_free (token->created_by);
  g_strfreev (token->clients);
  g_free (token);
}

gboolean
eh_mp_bulk_token_is_well_formed (const char *token)
{
  return g_str_has_prefix (token, EH_MP_BULK_TOKEN_PREFIX) &&
         eh_text_is_word (token + strlen (EH_MP_BULK_TOKEN_PREFIX), 0, 128 - strlen (EH_MP_BULK_TOKEN_PREFIX), "-_");
}

static char *
eh_mp_bulk_hash (const char *token)
{
  guint8 digest[32];

  eh_crypto_sha256 (token, strlen (token), digest);
  return eh_base64url_encode (digest, sizeof digest);
}

char *
eh_mp_bulk_token_create (EhStore *store, gint64 lifetime, guint max_uses, const char *by,
                         char **guid, GError **error)
{
  sqlite3_stmt *stmt;
  guint8 secret[EH_MP_BULK_SECRET_BYTES];
  g_autofree char *encoded = NULL;
  g_autofree char *token = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *new_guid = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean ok;

  if (lifetime <= 0 || lifetime > EH_MP_BULK_MAX_SECONDS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a bulk registration token lives at most 7 days");
    return NULL;
  }
  if (gnutls_rnd (GNUTLS_RND_KEY, secret, sizeof secret) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no random bytes");
    return NULL;
  }
  encoded = eh_base64url_encode (secret, sizeof secret);
  gnutls_memset (secret, 0, sizeof secret);
  token = g_strconcat (EH_MP_BULK_TOKEN_PREFIX, encoded, NULL);
  hash = eh_mp_bulk_hash (token);
  stmt = eh_store_prepare (store,
                           "INSERT INTO mp_bulk_tokens (guid, token_hash, created_at, expires_at, "
                           "max_uses, created_by) VALUES (?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL || !eh_store_transaction_begin (store, TRUE, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, new_guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, hash, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, now);
  sqlite3_bind_int64 (stmt, 4, now + lifetime);
  sqlite3_bind_int64 (stmt, 5, max_uses);
  sqlite3_bind_text (stmt, 6, by, -1, SQLITE_TRANSIENT);
  ok = eh_store_execute (store, stmt, "recording a bulk token", error) &&
       eh_store_transaction_commit (store, error);
  if (!ok) {
    eh_store_transaction_rollback (store);
    return NULL;
  }
  *guid = g_steal_pointer (&new_guid);
  return g_steal_pointer (&token);
}

static GStrv
eh_mp_bulk_token_clients (EhStore *store, const char *guid, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT client_guid FROM mp_bulk_token_uses WHERE bulk_guid = ? ORDER BY rowid", error);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, guid, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_strv_builder_add (builder, (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "reading a bulk token's ledger", error);
    return NULL;
  }
  return g_strv_builder_end (builder);
}

GPtrArray *
eh_mp_bulk_token_list (EhStore *store, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT guid, created_at, expires_at, max_uses, uses, blocked, created_by, "
             "coalesce(first_used_at, 0), coalesce(last_used_at, 0) FROM mp_bulk_tokens "
             "ORDER BY created_at DESC, guid", error);
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_bulk_token_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    EhMpBulkToken *token = g_new0 (EhMpBulkToken, 1);

    token->guid = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    token->created_at = sqlite3_column_int64 (stmt, 1);
    token->expires_at = sqlite3_column_int64 (stmt, 2);
    token->max_uses = sqlite3_column_int (stmt, 3);
    token->uses = sqlite3_column_int (stmt, 4);
    token->blocked = sqlite3_column_int (stmt, 5) != 0;
    token->created_by = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
    token->first_used_at = sqlite3_column_int64 (stmt, 7);
    token->last_used_at = sqlite3_column_int64 (stmt, 8);
    g_ptr_array_add (tokens, token);
  }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "listing bulk tokens", error);
    return NULL;
  }
  for (guint i = 0; i < tokens->len; i++) {
    EhMpBulkToken *token = g_ptr_array_index (tokens, i);

    if ((token->clients = eh_mp_bulk_token_clients (store, token->guid, error)) == NULL)
      return NULL;
  }
  return g_steal_pointer (&tokens);
}

gboolean
eh_mp_bulk_token_set_blocked (EhStore *store, const char *guid, gboolean blocked, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "UPDATE mp_bulk_tokens SET blocked = ?2 WHERE guid = ?1 AND blocked != ?2", error);
  gboolean ok;

  if (stmt == NULL || !eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  sqlite3_bind_text (stmt, 1, guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 2, blocked ? 1 : 0);
  ok = eh_store_execute (store, stmt, "blocking a bulk token", error) &&
       eh_store_transaction_commit (store, error);
  if (!ok) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  if (sqlite3_changes (eh_store_get_db (store)) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "no bulk token %s, or it is already %s", guid, blocked ? "blocked" : "unblocked");
    return FALSE;
  }
  return TRUE;
}

gboolean
eh_mp_bulk_token_use (EhStore *store, const char *token, const char *client_guid, char **bulk_guid,
                      GError **error)
{
  g_autofree char *hash = eh_mp_bulk_hash (token);
  sqlite3_stmt *find = eh_store_prepare (
      store, "SELECT guid, expires_at, max_uses, uses, blocked FROM mp_bulk_tokens WHERE token_hash = ?",
      error);
  sqlite3_stmt *count = find != NULL ? eh_store_prepare (
      store, "UPDATE mp_bulk_tokens SET uses = uses + 1, last_used_at = ?2, "
             "first_used_at = coalesce(first_used_at, ?2) WHERE guid = ?1", error) : NULL;
  sqlite3_stmt *ledger = count != NULL ? eh_store_prepare (
      store, "INSERT INTO mp_bulk_token_uses (bulk_guid, client_guid, used_at) VALUES (?, ?, ?)",
      error) : NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC, expires_at;
  g_autofree char *guid = NULL;
  const char *refusal = NULL;
  gint64 max_uses, uses;
  int rc;

  if (ledger == NULL)
    return FALSE;
  sqlite3_bind_text (find, 1, hash, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (find);
  if (rc == SQLITE_ROW) {
    guid = g_strdup ((const char *) sqlite3_column_text (find, 0));
    expires_at = sqlite3_column_int64 (find, 1);
    max_uses = sqlite3_column_int64 (find, 2);
    uses = sqlite3_column_int64 (find, 3);
    if (sqlite3_column_int (find, 4) != 0)
      refusal = "bulk_token_blocked";
    else if (expires_at <= now)
      refusal = "bulk_token_expired";
    else if (max_uses > 0 && uses >= max_uses)
      refusal = "bulk_token_exhausted";
  }
  sqlite3_reset (find);
  sqlite3_clear_bindings (find);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    eh_store_set_error (store, "reading a bulk token", error);
    return FALSE;
  }
  if (guid == NULL)
    refusal = "bulk_token_invalid";
  if (refusal != NULL) {
    g_set_error_literal (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, refusal);
    return FALSE;
  }
  sqlite3_bind_text (count, 1, guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (count, 2, now);
  sqlite3_bind_text (ledger, 1, guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (ledger, 2, client_guid, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (ledger, 3, now);
  if (!eh_store_execute (store, count, "counting a bulk token use", error) ||
      !eh_store_execute (store, ledger, "recording a bulk token use", error))
    return FALSE;
  if (bulk_guid != NULL)
    *bulk_guid = g_steal_pointer (&guid);
  return TRUE;
}
