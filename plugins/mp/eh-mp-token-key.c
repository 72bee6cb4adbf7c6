/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "eh-mp.h"

/*
 * This MP's token signing keys. Each is a P-256 key made here (a 0600 file
 * in the mp's private directory; it never leaves the host) with a
 * certificate from ca.token-signing.issue (local ca, or the site's over
 * the link). The site's trust bundle holds every unexpired token signing
 * certificate from the moment it is issued, so the next key is announced
 * by asking for its certificate, then used only after token-key-announce
 * seconds. States (table mp_token_keys): next → active → retired. A
 * retired certificate still verifies the tokens it signed until it expires.
 * Rollover starts at 2/3 of the active certificate's life or on an admin's
 * `ehttpctl mp rollover`. The very first key is used at once: nothing
 * signed with an older one exists.
 */

#define EH_MP_TOKEN_KEY_RETRY_SECONDS 5
#define EH_MP_TOKEN_KEY_MAX_WAIT_SECONDS 3600

static const char *const eh_mp_token_key_states[] = { "next", "active", "retired" };

static void eh_mp_token_keys_tick (EhMp *mp);

/* ── rows ─────────────────────────────────────────────────────────────── */

typedef struct {
  char *key_file;
  char *cert_pem;
  EhMpTokenKeyState state;
  gint64 activate_at;
} EhMpTokenKeyRow;

static void
eh_mp_token_key_row_free (EhMpTokenKeyRow *row)
{
  g_free (row->key_file);
  g_free (row->cert_pem);
  g_free (row);
}

static GPtrArray *
eh_mp_token_keys_read_rows (EhStore *store, gint64 now, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT key_file, cert_pem, state, activate_at FROM mp_token_keys "
             "WHERE not_after > ? ORDER BY id", error);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_token_key_row_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    EhMpTokenKeyRow *row = g_new0 (EhMpTokenKeyRow, 1);
    const char *state = (const char *) sqlite3_column_text (stmt, 2);

    row->key_file = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    row->cert_pem = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
    row->state = EH_MP_TOKEN_KEY_RETIRED;
    for (guint i = 0; i < G_N_ELEMENTS (eh_mp_token_key_states); i++) {
      if (g_strcmp0 (state, eh_mp_token_key_states[i]) == 0)
        row->state = i;
    }
    row->activate_at = sqlite3_column_int64 (stmt, 3);
    g_ptr_array_add (rows, row);
  }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, "reading token signing keys", error);
    return NULL;
  }
  return g_steal_pointer (&rows);
}

static gboolean
eh_mp_token_keys_insert (EhStore *store, EhMpTokenKey *key, const char *cert_pem, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "INSERT INTO mp_token_keys (key_file, cert_pem, x5t, serial, not_after, state, "
             "activate_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
  sqlite3_stmt *retire = stmt != NULL ? eh_store_prepare (
      store, "UPDATE mp_token_keys SET state = 'retired' WHERE state = 'active'", error) : NULL;
  gboolean ok;

  if (retire == NULL || !eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  /* a key used at once replaces whatever was active (an expired one) */
  if (key->state == EH_MP_TOKEN_KEY_ACTIVE &&
      !eh_store_execute (store, retire, "retiring a token signing key", error)) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  sqlite3_bind_text (stmt, 1, key->key_file, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, cert_pem, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, key->x5t, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, key->serial != NULL ? key->serial : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, key->not_after);
  sqlite3_bind_text (stmt, 6, eh_mp_token_key_states[key->state], -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, key->activate_at);
  sqlite3_bind_int64 (stmt, 8, g_get_real_time () / G_USEC_PER_SEC);
  ok = eh_store_execute (store, stmt, "recording a token signing key", error) &&
       eh_store_transaction_commit (store, error);
  if (!ok)
    eh_store_transaction_rollback (store);
  return ok;
}

/* one durable transaction: the active key retires, the next one takes over */
static gboolean
eh_mp_token_keys_switch_rows (EhStore *store, const char *next_x5t, GError **error)
{
  sqlite3_stmt *retire = eh_store_prepare (
      store, "UPDATE mp_token_keys SET state = 'retired' WHERE state = 'active'", error);
  sqlite3_stmt *activate = retire != NULL ? eh_store_prepare (
      store, "UPDATE mp_token_keys SET state = 'active' WHERE x5t = ? AND state = 'next'", error) : NULL;
  gboolean ok;

  if (activate == NULL || !eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  sqlite3_bind_text (activate, 1, next_x5t, -1, SQLITE_TRANSIENT);
  ok = eh_store_execute (store, retire, "retiring a token signing key", error) &&
       eh_store_execute (store, activate, "activating a token signing key", error) &&
       eh_store_transaction_commit (store, error);
  if (!ok)
    eh_store_transaction_rollback (store);
  return ok;
}

/* ── loading at start (files: a worker thread) ────────────────────────── */

static EhMpTokenKey *
eh_mp_token_key_load (EhMpTokenKeyRow *row, GError **error)
{
  g_auto (gnutls_x509_crt_t) cert = eh_crypto_cert_from_pem (row->cert_pem, strlen (row->cert_pem), error);
  g_auto (gnutls_privkey_t) key = NULL;
  EhMpTokenKey *token_key;

  if (cert == NULL)
    return NULL;
  /* a retired key only verifies; its private half is gone */
  if (row->state != EH_MP_TOKEN_KEY_RETIRED && (key = eh_crypto_privkey_open (row->key_file, error)) == NULL)
    return NULL;
  token_key = eh_mp_token_key_new (g_steal_pointer (&key), g_steal_pointer (&cert), error);
  if (token_key == NULL)
    return NULL;
  token_key->state = row->state;
  token_key->activate_at = row->activate_at;
  token_key->key_file = g_strdup (row->key_file);
  return token_key;
}

static void
eh_mp_token_keys_load_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GPtrArray *rows = data;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_token_key_unref);

  for (guint i = 0; i < rows->len; i++) {
    g_autoptr (GError) error = NULL;
    EhMpTokenKey *key = eh_mp_token_key_load (g_ptr_array_index (rows, i), &error);

    if (key == NULL) {
      g_warning ("a token signing key is unusable and is left out: %s", error->message);
      continue;
    }
    g_ptr_array_add (keys, key);
  }
  g_task_return_pointer (task, g_steal_pointer (&keys), (GDestroyNotify) g_ptr_array_unref);
}

static void
eh_mp_token_keys_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  EhMp *mp;

  if (g_cancellable_is_cancelled (cancellable))
    return;
  mp = g_object_get_data (G_OBJECT (cancellable), "eh-mp");
  mp->token_keys = g_task_propagate_pointer (G_TASK (result), NULL);
  g_info ("%u token signing key(s) loaded", mp->token_keys->len);
  eh_mp_token_keys_tick (mp);
}

/* ── making the next key ──────────────────────────────────────────────── */

typedef struct {
  char *dir;
  char *host;
  char *key_file;
  char *csr_pem;
  gnutls_privkey_t key;
  gboolean immediate;
} EhMpNewKey;

static void
eh_mp_new_key_free (EhMpNewKey *new_key)
{
  g_free (new_key->dir);
  g_free (new_key->host);
  g_free (new_key->key_file);
  g_free (new_key->csr_pem);
  if (new_key->key != NULL)
    gnutls_privkey_deinit (new_key->key);
  g_free (new_key);
}

static char *
eh_mp_token_key_csr (gnutls_x509_privkey_t key, const char *host, GError **error)
{
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t pem = { NULL, 0 };
  char *result = NULL;

  if (gnutls_x509_crq_init (&crq) >= 0 && gnutls_x509_crq_set_version (crq, 1) >= 0 &&
      gnutls_x509_crq_set_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0, host, strlen (host)) >= 0 &&
      gnutls_x509_crq_set_key (crq, key) >= 0 &&
      gnutls_x509_crq_sign2 (crq, key, GNUTLS_DIG_SHA256, 0) >= 0 &&
      gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_PEM, &pem) >= 0)
    result = g_strndup ((const char *) pem.data, pem.size);
  else
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot make a token signing key request");
  gnutls_free (pem.data);
  if (crq != NULL)
    gnutls_x509_crq_deinit (crq);
  return result;
}

static void
eh_mp_new_key_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  EhMpNewKey *new_key = data;
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  g_autofree char *name = NULL;
  char *pem = NULL;
  gboolean ok;

  if (x509 == NULL) {
    g_task_return_error (task, g_steal_pointer (&error));
    return;
  }
  name = g_strdup_printf ("token-key-%" G_GINT64_FORMAT "-%08x.pem", g_get_real_time () / G_USEC_PER_SEC,
                          g_random_int ());
  new_key->key_file = g_build_filename (new_key->dir, name, NULL);
  pem = eh_crypto_key_to_pem (x509, &error);
  ok = pem != NULL && eh_file_replace (new_key->key_file, pem, strlen (pem), 0600, &error);
  eh_crypto_free_secret (pem);
  if (ok && (new_key->csr_pem = eh_mp_token_key_csr (x509, new_key->host, &error)) != NULL &&
      gnutls_privkey_init (&new_key->key) >= 0 &&
      gnutls_privkey_import_x509 (new_key->key, x509, GNUTLS_PRIVKEY_IMPORT_COPY) >= 0) {
    g_task_return_boolean (task, TRUE);
    return;
  }
  if (ok)
    g_unlink (new_key->key_file);
  if (error == NULL)
    error = g_error_new (EH_ERROR, EH_ERROR_CRYPTO, "cannot use a new token signing key");
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
eh_mp_unlink_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_unlink (data);
  g_task_return_boolean (task, TRUE);
}

/* removes a key file off the main context */
static void
eh_mp_token_key_unlink (const char *path)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, NULL, NULL);

  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, eh_mp_unlink_thread);
}

static void
eh_mp_token_keys_answer_waiters (EhMp *mp, const EhMpTokenKey *key, const GError *error)
{
  GList *waiters = g_steal_pointer (&mp->rollover_waiters);

  for (GList *l = waiters; l != NULL; l = l->next) {
    if (key == NULL) {
      eh_dbus_return_error (l->data, error);
      continue;
    }
    g_dbus_method_invocation_return_value (
        l->data, g_variant_new ("(@a{sv})", eh_mp_token_key_describe (key)));
  }
  g_list_free (waiters);
}

static void
eh_mp_token_keys_failed (EhMp *mp, EhMpNewKey *new_key, const GError *error)
{
  /* once per reason: a host waiting for its link would fill the journal */
  if (g_strcmp0 (mp->token_key_error, error->message) != 0)
    g_warning ("no new token signing key (asking again every %d s): %s",
               EH_MP_TOKEN_KEY_RETRY_SECONDS, error->message);
  else
    g_info ("still no new token signing key: %s", error->message);
  g_free (mp->token_key_error);
  mp->token_key_error = g_strdup (error->message);
  if (new_key->key_file != NULL)
    eh_mp_token_key_unlink (new_key->key_file);
  mp->token_key_busy = FALSE;
  eh_mp_token_keys_answer_waiters (mp, NULL, error);
  g_clear_handle_id (&mp->token_key_source, g_source_remove);
  mp->token_key_source = g_timeout_add_seconds (EH_MP_TOKEN_KEY_RETRY_SECONDS,
                                                (GSourceFunc) eh_mp_token_keys_tick_source, mp);
}

static gboolean
eh_mp_token_keys_take_cert (EhMp *mp, EhMpNewKey *new_key, GVariant *reply, GError **error)
{
  const char *chain = NULL;
  g_auto (gnutls_x509_crt_t) cert = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *want = NULL;
  g_autoptr (EhMpTokenKey) key = NULL;
  g_auto (gnutls_pubkey_t) pub = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_variant_lookup (reply, EH_KEY_CHAIN_PEM, "&s", &chain);
  if ((cert = eh_crypto_cert_from_pem (chain, strlen (chain), error)) == NULL ||
      (cert_pem = eh_crypto_cert_to_pem (cert, error)) == NULL ||
      (pub = eh_crypto_privkey_get_pubkey (new_key->key, error)) == NULL ||
      (want = eh_jws_pubkey_thumbprint (pub, error)) == NULL)
    return FALSE;
  key = eh_mp_token_key_new (g_steal_pointer (&new_key->key), g_steal_pointer (&cert), error);
  if (key == NULL)
    return FALSE;
  {
    g_autofree char *got = eh_jws_pubkey_thumbprint (key->pub, error);

    if (got == NULL || strcmp (got, want) != 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_TLS, "the token signing certificate is for another key");
      return FALSE;
    }
  }
  key->key_file = g_strdup (new_key->key_file);
  key->state = new_key->immediate ? EH_MP_TOKEN_KEY_ACTIVE : EH_MP_TOKEN_KEY_NEXT;
  key->activate_at = new_key->immediate ? now : now + mp->token_key_announce;
  if (!eh_mp_token_keys_insert (mp->store, key, cert_pem, error))
    return FALSE;
  if (key->state == EH_MP_TOKEN_KEY_ACTIVE) {
    EhMpTokenKey *old = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE);

    if (old != NULL)
      eh_mp_token_key_retire (old);
  }
  g_message ("token signing certificate %s (x5t#S256 %s) for %s: %s", key->serial, key->x5t,
             new_key->host,
             new_key->immediate ? "in use now" : "announced; in use after token-key-announce");
  eh_mp_token_keys_answer_waiters (mp, key, NULL);
  g_ptr_array_add (mp->token_keys, g_steal_pointer (&key));
  return TRUE;
}

static void
eh_mp_token_keys_issued (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (GTask) task = data;
  EhMpNewKey *new_key = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  EhMp *mp;

  if (g_cancellable_is_cancelled (cancellable))
    return;
  mp = g_object_get_data (G_OBJECT (cancellable), "eh-mp");
  reply = eh_bus_request_finish (mp->bus, result, &error);
  if (reply == NULL || !eh_mp_token_keys_take_cert (mp, new_key, reply, &error)) {
    eh_mp_token_keys_failed (mp, new_key, error);
    return;
  }
  g_clear_pointer (&mp->token_key_error, g_free);
  mp->token_key_busy = FALSE;
  eh_mp_token_keys_tick (mp);
}

static void
eh_mp_new_key_made (GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *task = G_TASK (result);
  EhMpNewKey *new_key = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GError) error = NULL;
  GVariantDict payload;
  EhMp *mp;

  if (g_cancellable_is_cancelled (cancellable))
    return;
  mp = g_object_get_data (G_OBJECT (cancellable), "eh-mp");
  if (!g_task_propagate_boolean (task, &error)) {
    eh_mp_token_keys_failed (mp, new_key, error);
    return;
  }
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CSR_PEM, "s", new_key->csr_pem);
  g_variant_dict_insert (&payload, EH_KEY_HOST, "s", new_key->host);
  eh_bus_request (mp->bus, EH_TOPIC_CA_TOKEN_SIGNING_ISSUE, g_variant_dict_end (&payload), 0,
                  cancellable, eh_mp_token_keys_issued, g_object_ref (task));
}

static void
eh_mp_token_keys_roll (EhMp *mp, gboolean immediate)
{
  g_autoptr (GTask) task = g_task_new (NULL, mp->token_cancellable, eh_mp_new_key_made, NULL);
  EhMpNewKey *new_key = g_new0 (EhMpNewKey, 1);

  new_key->dir = g_strdup (mp->private_dir);
  new_key->host = g_strdup (mp->host_name);
  new_key->immediate = immediate;
  g_task_set_task_data (task, new_key, (GDestroyNotify) eh_mp_new_key_free);
  mp->token_key_busy = TRUE;
  g_info ("making %s token signing key", immediate ? "the first" : "the next");
  g_task_run_in_thread (task, eh_mp_new_key_thread);
}

/* ── the clock ────────────────────────────────────────────────────────── */

static gint64
eh_mp_token_key_renew_at (const EhMpTokenKey *key)
{
  return key->not_before + (key->not_after - key->not_before) * 2 / 3;
}

static void
eh_mp_token_keys_switch (EhMp *mp, EhMpTokenKey *next)
{
  g_autoptr (GError) error = NULL;
  EhMpTokenKey *active = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE);

  if (!eh_mp_token_keys_switch_rows (mp->store, next->x5t, &error)) {
    g_warning ("the token signing key could not be switched: %s", error->message);
    return;
  }
  if (active != NULL) {
    eh_mp_token_key_retire (active);
    if (active->key_file != NULL)
      eh_mp_token_key_unlink (active->key_file);
  }
  next->state = EH_MP_TOKEN_KEY_ACTIVE;
  g_message ("token signing key %s is now in use (x5t#S256 %s)%s%s", next->serial, next->x5t,
             active != NULL ? "; tokens of the previous one stay valid until they expire: " : "",
             active != NULL ? active->x5t : "");
}

gboolean
eh_mp_token_keys_tick_source (gpointer data)
{
  EhMp *mp = data;

  mp->token_key_source = 0;
  eh_mp_token_keys_tick (mp);
  return G_SOURCE_REMOVE;
}

static void
eh_mp_token_keys_tick (EhMp *mp)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 wake = now + EH_MP_TOKEN_KEY_MAX_WAIT_SECONDS;
  EhMpTokenKey *next, *active;

  g_clear_handle_id (&mp->token_key_source, g_source_remove);
  for (guint i = mp->token_keys->len; i > 0; i--) {
    EhMpTokenKey *key = g_ptr_array_index (mp->token_keys, i - 1);

    if (key->state == EH_MP_TOKEN_KEY_RETIRED && key->not_after <= now)
      g_ptr_array_remove_index (mp->token_keys, i - 1);
  }
  next = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_NEXT);
  active = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE);
  /* a host that was off past its certificate's end cannot wait out the announcement */
  if (next != NULL && (now >= next->activate_at || (active != NULL && active->not_after <= now)))
    eh_mp_token_keys_switch (mp, next);
  active = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE);
  if (active != NULL && active->not_after <= now && !mp->token_key_busy) {
    g_warning ("the token signing certificate %s has expired; making a new key for use at once",
               active->x5t);
    eh_mp_token_keys_roll (mp, TRUE);
    return;
  }
  next = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_NEXT);
  active = eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE);
  if (mp->token_key_busy)
    return; /* the key being made reschedules when it is done */
  if (active == NULL && next == NULL) {
    eh_mp_token_keys_roll (mp, TRUE);
    return;
  }
  if (next == NULL && active != NULL && now >= eh_mp_token_key_renew_at (active)) {
    eh_mp_token_keys_roll (mp, FALSE);
    return;
  }
  if (next != NULL)
    wake = MIN (wake, next->activate_at);
  else if (active != NULL)
    wake = MIN (wake, eh_mp_token_key_renew_at (active));
  mp->token_key_source = g_timeout_add_seconds ((guint) CLAMP (wake - now, 1, EH_MP_TOKEN_KEY_MAX_WAIT_SECONDS),
                                                eh_mp_token_keys_tick_source, mp);
}

/* ── the plugin's side ────────────────────────────────────────────────── */

GVariant *
eh_mp_token_key_describe (const EhMpTokenKey *key)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "x5t#S256", "s", key->x5t);
  g_variant_dict_insert (&dict, "serial", "s", key->serial != NULL ? key->serial : "");
  g_variant_dict_insert (&dict, "state", "s", eh_mp_token_key_states[key->state]);
  g_variant_dict_insert (&dict, "not-before", "x", key->not_before);
  g_variant_dict_insert (&dict, "not-after", "x", key->not_after);
  g_variant_dict_insert (&dict, "activate-at", "x", key->activate_at);
  return g_variant_dict_end (&dict);
}

gboolean
eh_mp_token_keys_rollover (EhMp *mp, GDBusMethodInvocation *invocation, GError **error)
{
  if (mp->token_keys == NULL || eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE) == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE, "this MP has no token signing key yet%s%s",
                 mp->token_key_error != NULL ? ": " : "",
                 mp->token_key_error != NULL ? mp->token_key_error : "");
    return FALSE;
  }
  if (mp->token_key_busy || eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_NEXT) != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_EXISTS,
                 "a rollover is under way: the next key is announced and not in use yet");
    return FALSE;
  }
  mp->rollover_waiters = g_list_append (mp->rollover_waiters, invocation);
  g_clear_handle_id (&mp->token_key_source, g_source_remove);
  eh_mp_token_keys_roll (mp, FALSE);
  return TRUE;
}

EhMpTokenKey *
eh_mp_token_keys_signer (EhMp *mp)
{
  EhMpTokenKey *active = mp->token_keys != NULL
                             ? eh_mp_token_keys_find (mp->token_keys, EH_MP_TOKEN_KEY_ACTIVE) : NULL;

  /* an expired certificate signs nothing (a new key is on its way) */
  if (active == NULL || active->key == NULL ||
      active->not_after <= g_get_real_time () / G_USEC_PER_SEC)
    return NULL;
  return active;
}

gboolean
eh_mp_token_keys_start (EhMp *mp, GError **error)
{
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GTask) task = NULL;
  g_autofree char *host = g_ascii_strdown (g_get_host_name (), -1);

  mp->private_dir = eh_plugin_ensure_private_dir (mp->plugin, error);
  if (mp->private_dir == NULL)
    return FALSE;
  mp->host_name = eh_mp_host_name_is_valid (host) ? g_steal_pointer (&host) : g_strdup ("localhost");
  rows = eh_mp_token_keys_read_rows (mp->store, g_get_real_time () / G_USEC_PER_SEC, error);
  if (rows == NULL)
    return FALSE;
  mp->token_cancellable = g_cancellable_new ();
  g_object_set_data (G_OBJECT (mp->token_cancellable), "eh-mp", mp);
  task = g_task_new (NULL, mp->token_cancellable, eh_mp_token_keys_loaded, NULL);
  g_task_set_task_data (task, g_steal_pointer (&rows), (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, eh_mp_token_keys_load_thread);
  return TRUE;
}

void
eh_mp_token_keys_stop (EhMp *mp)
{
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE, "the mp stopped");

  if (mp->token_cancellable != NULL)
    g_cancellable_cancel (mp->token_cancellable);
  g_clear_object (&mp->token_cancellable);
  g_clear_handle_id (&mp->token_key_source, g_source_remove);
  for (GList *l = mp->rollover_waiters; l != NULL; l = l->next)
    eh_dbus_return_error (l->data, error);
  g_clear_pointer (&mp->rollover_waiters, g_list_free);
  g_clear_pointer (&mp->token_keys, g_ptr_array_unref);
  g_free (mp->token_key_error);
  g_free (mp->private_dir);
  g_free (mp->host_name);
}
