/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ca.h"

/*
 * Join tokens: "ehjt1.<id>.<secret>", id 16 hex digits, secret 32 random
 * bytes in base64url. Only the SHA-256 of the secret is stored. A token is
 * consumed by one UPDATE that only succeeds while it is unused, unrevoked
 * and in date, inside the transaction that reserves the certificate's
 * serial: of any number of concurrent uses exactly one wins.
 */

#define EH_CA_JOIN_PREFIX "ehjt1."
#define EH_CA_JOIN_ID_BYTES 8
#define EH_CA_JOIN_SECRET_BYTES 32
#define EH_CA_JOIN_MIN_TTL 60

static char *
eh_ca_join_csv (const char *const *list)
{
  return list != NULL ? g_strjoinv (",", (char **) list) : g_strdup ("");
}

char *
eh_ca_join_token_create (EhStore *store, const char *const *roles, const char *const *names,
                         guint64 ttl_seconds, char **id_out, gint64 *expires_at, GError **error)
{
  guint8 id_bytes[EH_CA_JOIN_ID_BYTES], secret[EH_CA_JOIN_SECRET_BYTES], hash[32];
  g_auto (GStrv) normalized = NULL;
  g_autofree char *id = NULL;
  g_autofree char *secret_text = NULL;
  g_autofree char *roles_csv = NULL;
  g_autofree char *names_csv = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  sqlite3_stmt *stmt;

  if (!eh_ca_roles_check (roles, error) || (normalized = eh_ca_names_normalize (names, error)) == NULL)
    return NULL;
  if (ttl_seconds < EH_CA_JOIN_MIN_TTL || ttl_seconds > EH_CA_JOIN_TOKEN_MAX_TTL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a join token lives between %d seconds and %d days", EH_CA_JOIN_MIN_TTL,
                 EH_CA_JOIN_TOKEN_MAX_TTL / 86400);
    return NULL;
  }
  gnutls_rnd (GNUTLS_RND_NONCE, id_bytes, sizeof id_bytes);
  gnutls_rnd (GNUTLS_RND_KEY, secret, sizeof secret);
  eh_crypto_sha256 (secret, sizeof secret, hash);
  id = eh_ca_serial_to_hex (id_bytes, sizeof id_bytes);
  secret_text = eh_base64url_encode (secret, sizeof secret);
  gnutls_memset (secret, 0, sizeof secret);
  roles_csv = eh_ca_join_csv (roles);
  names_csv = eh_ca_join_csv ((const char *const *) normalized);
  stmt = eh_store_prepare (store,
                           "INSERT INTO ca_join_tokens (id, secret_hash, roles, names, created_at, "
                           "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           error);
  if (stmt == NULL || !eh_store_transaction_begin (store, TRUE, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 2, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, roles_csv, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, names_csv, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, now);
  sqlite3_bind_int64 (stmt, 6, now + (gint64) ttl_seconds);
  if (!eh_store_execute (store, stmt, "storing a join token", error)) {
    eh_store_transaction_rollback (store);
    return NULL;
  }
  if (!eh_store_transaction_commit (store, error))
    return NULL;
  *expires_at = now + (gint64) ttl_seconds;
  *id_out = g_strdup (id);
  return g_strconcat (EH_CA_JOIN_PREFIX, id, ".", secret_text, NULL);
}

static const char *
eh_ca_join_state (sqlite3_stmt *stmt, gint64 now)
{
  if (sqlite3_column_type (stmt, 6) != SQLITE_NULL)
    return "revoked";
  if (sqlite3_column_type (stmt, 4) != SQLITE_NULL)
    return "used";
  if (sqlite3_column_int64 (stmt, 3) <= now)
    return "expired";
  return "active";
}

static GVariant *
eh_ca_join_strv_variant (const char *csv)
{
  g_auto (GStrv) list = csv != NULL && csv[0] != '\0' ? g_strsplit (csv, ",", -1) : g_new0 (char *, 1);

  return g_variant_new_strv ((const char *const *) list, -1);
}

GVariant *
eh_ca_join_token_list (EhStore *store, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "SELECT id, roles, names, expires_at, used_at, used_by, revoked_at, created_at "
      "FROM ca_join_tokens ORDER BY created_at DESC, id",
      error);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GVariantBuilder list;
  int rc;

  if (stmt == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    GVariantDict token;
    const char *used_by = (const char *) sqlite3_column_text (stmt, 5);

    g_variant_dict_init (&token, NULL);
    g_variant_dict_insert (&token, "id", "s", sqlite3_column_text (stmt, 0));
    g_variant_dict_insert_value (&token, "roles",
                                 eh_ca_join_strv_variant ((const char *) sqlite3_column_text (stmt, 1)));
    g_variant_dict_insert_value (&token, "names",
                                 eh_ca_join_strv_variant ((const char *) sqlite3_column_text (stmt, 2)));
    g_variant_dict_insert (&token, "created-at", "x", sqlite3_column_int64 (stmt, 7));
    g_variant_dict_insert (&token, "expires-at", "x", sqlite3_column_int64 (stmt, 3));
    g_variant_dict_insert (&token, "state", "s", eh_ca_join_state (stmt, now));
    g_variant_dict_insert (&token, "used-by", "s", used_by != NULL ? used_by : "");
    g_variant_builder_add_value (&list, g_variant_dict_end (&token));
  }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    g_variant_builder_clear (&list);
    eh_store_set_error (store, "listing join tokens", error);
    return NULL;
  }
  return g_variant_builder_end (&list);
}

gboolean
eh_ca_join_token_revoke (EhStore *store, const char *id, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "UPDATE ca_join_tokens SET revoked_at = ?2 WHERE id = ?1 AND used_at IS NULL "
      "AND revoked_at IS NULL",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  if (!eh_store_execute (store, stmt, "revoking a join token", error)) {
    return FALSE;
  }
  if (sqlite3_changes (eh_store_get_db (store)) != 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no unused join token with id %s", id);
    return FALSE;
  }
  return TRUE;
}

/* splits "ehjt1.<id>.<secret>" strictly */
static gboolean
eh_ca_join_parse (const char *token, char id[2 * EH_CA_JOIN_ID_BYTES + 1],
                  guint8 hash[32])
{
  gsize prefix = strlen (EH_CA_JOIN_PREFIX), id_len = 2 * EH_CA_JOIN_ID_BYTES;
  gsize len = token != NULL ? strnlen (token, 256) : 0;
  g_autoptr (GBytes) secret = NULL;

  if (len <= prefix + id_len + 1 || len >= 256 || strncmp (token, EH_CA_JOIN_PREFIX, prefix) != 0 ||
      token[prefix + id_len] != '.')
    return FALSE;
  for (gsize i = 0; i < id_len; i++) {
    char c = token[prefix + i];

    if (!g_ascii_isxdigit (c) || g_ascii_isupper (c))
      return FALSE;
    id[i] = c;
  }
  id[id_len] = '\0';
  secret = eh_base64url_decode (token + prefix + id_len + 1, len - prefix - id_len - 1, 64, NULL);
  if (secret == NULL || g_bytes_get_size (secret) != EH_CA_JOIN_SECRET_BYTES)
    return FALSE;
  eh_crypto_sha256 (g_bytes_get_data (secret, NULL), EH_CA_JOIN_SECRET_BYTES, hash);
  return TRUE;
}

static gboolean
eh_ca_join_equal (const guint8 *a, const guint8 *b, gsize len)
{
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

gboolean
eh_ca_join_token_check (EhStore *store, const char *token, const char *const *roles,
                        const char *const *names, char **id_out, GError **error)
{
  char id[2 * EH_CA_JOIN_ID_BYTES + 1];
  guint8 hash[32];
  sqlite3_stmt *stmt;
  g_auto (GStrv) token_roles = NULL;
  g_auto (GStrv) token_names = NULL;
  gboolean valid = FALSE;

  stmt = eh_store_prepare (store,
                           "SELECT secret_hash, roles, names FROM ca_join_tokens WHERE id = ?1 "
                           "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
                           error);
  if (stmt == NULL)
    return FALSE;
  if (eh_ca_join_parse (token, id, hash)) {
    sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
    if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_bytes (stmt, 0) == 32 &&
        eh_ca_join_equal (sqlite3_column_blob (stmt, 0), hash, 32)) {
      const char *r = (const char *) sqlite3_column_text (stmt, 1);
      const char *n = (const char *) sqlite3_column_text (stmt, 2);

      token_roles = g_strsplit (r != NULL ? r : "", ",", -1);
      token_names = n != NULL && n[0] != '\0' ? g_strsplit (n, ",", -1) : NULL;
      valid = TRUE;
    }
    sqlite3_reset (stmt);
  }
  /* one answer for unknown, used, revoked, expired and wrong */
  if (!valid) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "the join token is not valid (unknown, used, revoked or expired)");
    return FALSE;
  }
  if (!eh_ca_strv_subset (roles, (const char *const *) token_roles)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "the join token does not grant the roles asked for");
    return FALSE;
  }
  if (token_names != NULL && !eh_ca_strv_subset (names, (const char *const *) token_names)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "the join token does not grant the names asked for");
    return FALSE;
  }
  *id_out = g_strdup (id);
  return TRUE;
}

gboolean
eh_ca_join_token_consume (EhStore *store, const char *id, const char *used_by, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "UPDATE ca_join_tokens SET used_at = ?2, used_by = ?3 WHERE id = ?1 AND used_at IS NULL "
      "AND revoked_at IS NULL AND expires_at > ?2",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  sqlite3_bind_text (stmt, 3, used_by, -1, SQLITE_TRANSIENT);
  if (!eh_store_execute (store, stmt, "using a join token", error)) {
    return FALSE;
  }
  if (sqlite3_changes (eh_store_get_db (store)) != 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "the join token is not valid (unknown, used, revoked or expired)");
    return FALSE;
  }
  return TRUE;
}
