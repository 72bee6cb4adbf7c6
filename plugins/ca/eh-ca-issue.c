/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "eh-ca.h"

/* issued certificates start a little in the past, for clocks a little
 * behind: 5 minutes, or 1 % of a short lifetime */
#define EH_CA_BACKDATE_MAX_SECONDS 300

static gint64
eh_ca_backdate (const EhCaSpec *spec)
{
  return MIN (EH_CA_BACKDATE_MAX_SECONDS, (gint64) spec->lifetime_seconds / 100);
}
#define EH_CA_SERIAL_ATTEMPTS 3

void
eh_ca_serial_generate (guint8 serial[EH_CA_SERIAL_BYTES])
{
  gnutls_rnd (GNUTLS_RND_NONCE, serial, EH_CA_SERIAL_BYTES);
  /* positive (top bit clear) and no leading zero octet: exactly 20 octets */
  serial[0] &= 0x7f;
  if (serial[0] == 0)
    serial[0] = 0x01;
}

char *
eh_ca_serial_to_hex (const guint8 *serial, gsize len)
{
  GString *hex = g_string_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", serial[i]);
  return g_string_free (hex, FALSE);
}

char *
eh_ca_serial_normalize (const char *text, GError **error)
{
  GString *hex = g_string_new (NULL);

  for (const char *p = text; p != NULL && *p != '\0'; p++) {
    if (*p == ':')
      continue;
    if (!g_ascii_isxdigit (*p) || hex->len >= 2 * EH_CA_SERIAL_BYTES) {
      g_string_free (hex, TRUE);
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "a serial is hexadecimal, at most %d octets", EH_CA_SERIAL_BYTES);
      return NULL;
    }
    g_string_append_c (hex, g_ascii_tolower (*p));
  }
  if (hex->len == 0 || hex->len % 2 != 0) {
    g_string_free (hex, TRUE);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a serial is whole octets of hexadecimal, e.g. 4f90…");
    return NULL;
  }
  return g_string_free (hex, FALSE);
}

static gboolean
eh_ca_check (int rc, const char *what, GError **error)
{
  if (rc >= 0)
    return TRUE;
  g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "%s: %s", what, gnutls_strerror (rc));
  return FALSE;
}

static int
eh_ca_san_add (gnutls_subject_alt_names_t sans, unsigned int type, const void *data, gsize len)
{
  gnutls_datum_t value = { (unsigned char *) data, len };

  return gnutls_subject_alt_names_set (sans, type, &value, NULL);
}

/* the host's names and one urn:ehttpd:role: URI per role, encoded once */
static gboolean
eh_ca_set_alt_names (gnutls_x509_crt_t crt, const EhCaSpec *spec, GError **error)
{
  gnutls_subject_alt_names_t sans = NULL;
  gnutls_datum_t der = { NULL, 0 };
  int rc = gnutls_subject_alt_names_init (&sans);

  for (guint i = 0; rc >= 0 && spec->names != NULL && spec->names[i] != NULL; i++) {
    g_autoptr (GInetAddress) address = g_inet_address_new_from_string (spec->names[i]);

    if (address != NULL)
      rc = eh_ca_san_add (sans, GNUTLS_SAN_IPADDRESS, g_inet_address_to_bytes (address),
                          g_inet_address_get_native_size (address));
    else
      rc = eh_ca_san_add (sans, GNUTLS_SAN_DNSNAME, spec->names[i], strlen (spec->names[i]));
  }
  for (guint i = 0; rc >= 0 && spec->roles != NULL && spec->roles[i] != NULL; i++) {
    g_autofree char *uri = g_strconcat (EH_CA_ROLE_URI_PREFIX, spec->roles[i], NULL);

    rc = eh_ca_san_add (sans, GNUTLS_SAN_URI, uri, strlen (uri));
  }
  if (rc >= 0)
    rc = gnutls_x509_ext_export_subject_alt_names (sans, &der);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_extension_by_oid (crt, GNUTLS_X509EXT_OID_SAN, der.data, der.size, 0);
  gnutls_free (der.data);
  if (sans != NULL)
    gnutls_subject_alt_names_deinit (sans);
  return eh_ca_check (rc, "subject alternative names", error);
}

static gboolean
eh_ca_set_subject (gnutls_x509_crt_t crt, const EhCaSpec *spec, const char *site_code,
                   GError **error)
{
  g_autofree char *organization = NULL;

  switch (spec->kind) {
  case EH_CA_KIND_ROOT:
    organization = g_strdup_printf ("ehttpd site %s", site_code);
    break;
  case EH_CA_KIND_SITE_SIGNING:
    organization = g_strdup_printf ("ehttpd site %s signing", site_code);
    break;
  case EH_CA_KIND_ROLE:
    organization = g_strdup_printf ("ehttpd site %s role", site_code);
    break;
  case EH_CA_KIND_TOKEN_SIGNING:
    organization = g_strdup_printf ("ehttpd site %s token signing", site_code);
    break;
  }
  return eh_ca_check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                                     organization, strlen (organization)),
                      "subject", error) &&
         eh_ca_check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                     spec->common_name, strlen (spec->common_name)),
                      "subject", error);
}

static gboolean
eh_ca_set_key_ids (gnutls_x509_crt_t crt, gnutls_pubkey_t pubkey, gnutls_x509_crt_t issuer,
                   GError **error)
{
  guint8 id[64];
  size_t size = sizeof id;

  if (!eh_ca_check (gnutls_pubkey_get_key_id (pubkey, GNUTLS_KEYID_USE_SHA1, id, &size),
                    "subject key id", error) ||
      !eh_ca_check (gnutls_x509_crt_set_subject_key_id (crt, id, size), "subject key id", error))
    return FALSE;
  if (issuer != NULL) {
    size = sizeof id;
    if (!eh_ca_check (gnutls_x509_crt_get_subject_key_id (issuer, id, &size, NULL),
                      "issuer key id", error))
      return FALSE;
  }
  return eh_ca_check (gnutls_x509_crt_set_authority_key_id (crt, id, size), "authority key id",
                      error);
}

/* what each kind of certificate may do */
static gboolean
eh_ca_set_usage (gnutls_x509_crt_t crt, const EhCaSpec *spec, GError **error)
{
  unsigned int usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
  int rc;

  if (spec->kind == EH_CA_KIND_ROOT) {
    rc = gnutls_x509_crt_set_basic_constraints (crt, 1, 0);
    usage = GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN;
  } else {
    rc = gnutls_x509_crt_set_basic_constraints (crt, 0, -1);
  }
  if (spec->kind == EH_CA_KIND_ROLE &&
      gnutls_pubkey_get_pk_algorithm (spec->pubkey, NULL) == GNUTLS_PK_RSA)
    usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
  if (!eh_ca_check (rc, "basic constraints", error) ||
      !eh_ca_check (gnutls_x509_crt_set_key_usage (crt, usage), "key usage", error))
    return FALSE;
  if (spec->kind != EH_CA_KIND_ROLE)
    return TRUE;
  if (!eh_ca_check (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                    "extended key usage", error) ||
      !eh_ca_check (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0),
                    "extended key usage", error) ||
      !eh_ca_set_alt_names (crt, spec, error))
    return FALSE;
  return TRUE;
}

/* the unsigned certificate: every field but the signature */
static gnutls_x509_crt_t
eh_ca_build (const EhCaSpec *spec, const guint8 *serial, gint64 now, gnutls_x509_crt_t issuer,
             const char *site_code, GError **error)
{
  g_auto (gnutls_x509_crt_t) crt = NULL;

  if (!eh_ca_check (gnutls_x509_crt_init (&crt), "certificate", error) ||
      !eh_ca_check (gnutls_x509_crt_set_version (crt, 3), "version", error) ||
      !eh_ca_check (gnutls_x509_crt_set_serial (crt, serial, EH_CA_SERIAL_BYTES), "serial", error) ||
      !eh_ca_check (gnutls_x509_crt_set_activation_time (crt, now - eh_ca_backdate (spec)),
                    "validity", error) ||
      !eh_ca_check (gnutls_x509_crt_set_expiration_time (crt, now + (gint64) spec->lifetime_seconds),
                    "validity", error) ||
      !eh_ca_check (gnutls_x509_crt_set_pubkey (crt, spec->pubkey), "public key", error) ||
      !eh_ca_set_subject (crt, spec, site_code, error) ||
      !eh_ca_set_usage (crt, spec, error) ||
      !eh_ca_set_key_ids (crt, spec->pubkey, issuer, error))
    return NULL;
  return g_steal_pointer (&crt);
}

static char *
eh_ca_spki_sha256 (gnutls_pubkey_t pubkey)
{
  guint8 der[2048], digest[32];
  size_t size = sizeof der;

  if (gnutls_pubkey_export (pubkey, GNUTLS_X509_FMT_DER, der, &size) < 0)
    return g_strdup ("");
  eh_crypto_sha256 (der, size, digest);
  return eh_ca_serial_to_hex (digest, sizeof digest);
}

/* the to-be-signed data, recorded before signing */
static char *
eh_ca_describe (const EhCaSpec *spec, const char *serial, gint64 now, gnutls_x509_crt_t issuer)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *spki = eh_ca_spki_sha256 (spec->pubkey);
  g_autofree char *issuer_fp = issuer != NULL ? eh_crypto_cert_fingerprint (issuer, NULL) : NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "serial");
  json_builder_add_string_value (builder, serial);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, eh_ca_kind_to_string (spec->kind));
  json_builder_set_member_name (builder, "common_name");
  json_builder_add_string_value (builder, spec->common_name);
  json_builder_set_member_name (builder, "not_before");
  json_builder_add_int_value (builder, now - eh_ca_backdate (spec));
  json_builder_set_member_name (builder, "not_after");
  json_builder_add_int_value (builder, now + (gint64) spec->lifetime_seconds);
  json_builder_set_member_name (builder, "spki_sha256");
  json_builder_add_string_value (builder, spki);
  json_builder_set_member_name (builder, "issuer");
  json_builder_add_string_value (builder, issuer_fp != NULL ? issuer_fp : "self");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static char *
eh_ca_join (const char *const *list)
{
  return list != NULL ? g_strjoinv (",", (char **) list) : g_strdup ("");
}

typedef struct {
  const EhCaSpec *spec;
  const char *serial;
  const char *tbs;
  gint64 now;
  gboolean collision;
} EhCaReservation;

/* step 2, for one certificate inside the batch's transaction: its row, and
 * the join token it brought, or neither (in a savepoint) */
static gboolean
eh_ca_reserve_one_locked (EhStore *store, gpointer user_data, GError **error)
{
  EhCaReservation *r = user_data;
  const EhCaSpec *spec = r->spec;
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "INSERT INTO ca_certificates (serial, kind, state, subject, names, roles, host, requester, "
      "tbs, not_before, not_after, created_at) "
      "VALUES (?1, ?2, 'reserved', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
      error);
  g_autofree char *names = eh_ca_join (spec->names);
  g_autofree char *roles = eh_ca_join (spec->roles);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, r->serial, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, eh_ca_kind_to_string (spec->kind), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, spec->common_name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, names, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 5, roles, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, spec->host, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 7, spec->requester, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 8, r->tbs, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 9, r->now - eh_ca_backdate (spec));
  sqlite3_bind_int64 (stmt, 10, r->now + (gint64) spec->lifetime_seconds);
  sqlite3_bind_int64 (stmt, 11, r->now);
  if (spec->join_token_id != NULL && !eh_ca_join_token_consume (store, spec->join_token_id, r->serial, error))
    return FALSE;
  if (!eh_store_execute (store, stmt, "reserving a serial", error)) {
    r->collision = sqlite3_extended_errcode (eh_store_get_db (store)) == SQLITE_CONSTRAINT_PRIMARYKEY;
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_ca_reserve_one (EhStore *store, const EhCaSpec *spec, const char *serial, const char *tbs,
                   gint64 now, gboolean *collision, GError **error)
{
  EhCaReservation r = { spec, serial, tbs, now, FALSE };
  gboolean ok = eh_store_savepoint (store, eh_ca_reserve_one_locked, &r, error);

  *collision = r.collision;
  return ok;
}

/* step 4, for one certificate inside the batch's transaction */
static gboolean
eh_ca_record_one (EhStore *store, const char *serial, GBytes *der, const char *fingerprint,
                  GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "UPDATE ca_certificates SET state = 'issued', der = ?2, fingerprint = ?3, issued_at = ?4 "
      "WHERE serial = ?1 AND state = 'reserved'",
      error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, serial, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 2, g_bytes_get_data (der, NULL), g_bytes_get_size (der), SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, fingerprint, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time () / G_USEC_PER_SEC);
  if (!eh_store_execute (store, stmt, "recording an issued certificate", error))
    return FALSE;
  if (sqlite3_changes (eh_store_get_db (store)) != 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "serial %s was no longer reserved", serial);
    return FALSE;
  }
  return TRUE;
}

static void
eh_ca_mark_abandoned (EhStore *store, const char *serial)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "UPDATE ca_certificates SET state = 'abandoned' WHERE serial = ?1 AND state = 'reserved'",
      NULL);

  if (stmt == NULL)
    return;
  sqlite3_bind_text (stmt, 1, serial, -1, SQLITE_TRANSIENT);
  sqlite3_step (stmt);
  sqlite3_reset (stmt);
}

gnutls_digest_algorithm_t
eh_ca_digest_for (gnutls_privkey_t signer)
{
  unsigned int bits = 0;

  switch (gnutls_privkey_get_pk_algorithm (signer, &bits)) {
  case GNUTLS_PK_EDDSA_ED25519:
    return GNUTLS_DIG_SHA512;
  case GNUTLS_PK_ECDSA:
    return bits > 256 ? GNUTLS_DIG_SHA384 : GNUTLS_DIG_SHA256;
  default:
    return GNUTLS_DIG_SHA256;
  }
}

/* what the batch knows about one certificate on its way */
typedef struct {
  gnutls_x509_crt_t crt; /* unsigned, then signed */
  char *serial;
  char *tbs;
  GBytes *der;
  char *fingerprint;
  gboolean reserved;
} EhCaWork;

static void
eh_ca_work_clear (EhCaWork *work)
{
  g_clear_pointer (&work->crt, gnutls_x509_crt_deinit);
  g_clear_pointer (&work->serial, g_free);
  g_clear_pointer (&work->tbs, g_free);
  g_clear_pointer (&work->der, g_bytes_unref);
  g_clear_pointer (&work->fingerprint, g_free);
}

/* step 1: a fresh serial and the unsigned certificate with it */
static gboolean
eh_ca_work_build (EhCaWork *work, const EhCaSpec *spec, gint64 now, gnutls_x509_crt_t issuer,
                  const char *site_code, GError **error)
{
  guint8 raw[EH_CA_SERIAL_BYTES];

  eh_ca_work_clear (work);
  eh_ca_serial_generate (raw);
  work->serial = eh_ca_serial_to_hex (raw, sizeof raw);
  work->crt = eh_ca_build (spec, raw, now, issuer, site_code, error);
  if (work->crt == NULL)
    return FALSE;
  work->tbs = eh_ca_describe (spec, work->serial, now, issuer);
  return TRUE;
}

/* step 2 for the whole batch: one durable transaction; a serial collision
 * (never seen: 2^-150) draws again */
static void
eh_ca_batch_reserve (EhStore *store, EhCaIssuance *items, EhCaWork *work, guint n, gint64 now,
                     gnutls_x509_crt_t issuer, const char *site_code)
{
  g_autoptr (GError) error = NULL;

  if (!eh_store_transaction_begin (store, TRUE, &error))
    goto failed;
  for (guint i = 0; i < n; i++) {
    gboolean collision = TRUE;

    for (guint attempt = 0; items[i].error == NULL && collision; attempt++) {
      g_autoptr (GError) local_error = NULL;

      if (attempt > 0 && !eh_ca_work_build (&work[i], items[i].spec, now, issuer, site_code, &items[i].error))
        break;
      work[i].reserved = eh_ca_reserve_one (store, items[i].spec, work[i].serial, work[i].tbs, now,
                                            &collision, &local_error);
      if (!work[i].reserved && (!collision || attempt + 1 == EH_CA_SERIAL_ATTEMPTS))
        items[i].error = g_steal_pointer (&local_error);
      if (work[i].reserved)
        collision = FALSE;
    }
  }
  if (eh_store_transaction_commit (store, &error))
    return;
failed:
  for (guint i = 0; i < n; i++) {
    work[i].reserved = FALSE;
    if (items[i].error == NULL)
      items[i].error = g_error_copy (error);
  }
}

/* steps 3 and 4: sign, then one durable transaction records them all */
static void
eh_ca_batch_sign_and_record (EhStore *store, EhCaIssuance *items, EhCaWork *work, guint n,
                             gnutls_x509_crt_t issuer, gnutls_privkey_t signer)
{
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < n; i++) {
    gnutls_x509_crt_t signed_crt = NULL;

    if (!work[i].reserved ||
        !eh_ca_check (gnutls_x509_crt_privkey_sign (work[i].crt, issuer != NULL ? issuer : work[i].crt,
                                                    signer, eh_ca_digest_for (signer), 0),
                      "signing", &items[i].error))
      continue;
    /* what leaves is read back from the recorded bytes: a certificate
     * GnuTLS built in memory lacks the raw names it matches issuers by */
    work[i].der = eh_crypto_cert_to_der (work[i].crt, &items[i].error);
    if (work[i].der != NULL)
      signed_crt = eh_crypto_cert_from_der (work[i].der, &items[i].error);
    if (signed_crt != NULL)
      work[i].fingerprint = eh_crypto_cert_fingerprint (signed_crt, &items[i].error);
    if (work[i].fingerprint == NULL) {
      g_clear_pointer (&signed_crt, gnutls_x509_crt_deinit);
      continue;
    }
    items[i].certificate = signed_crt;
  }
  if (!eh_store_transaction_begin (store, TRUE, &error))
    goto failed;
  for (guint i = 0; i < n; i++) {
    if (items[i].certificate == NULL)
      continue;
    if (!eh_ca_record_one (store, work[i].serial, work[i].der, work[i].fingerprint, &items[i].error))
      g_clear_pointer (&items[i].certificate, gnutls_x509_crt_deinit);
  }
  if (eh_store_transaction_commit (store, &error))
    return;
failed:
  for (guint i = 0; i < n; i++) {
    if (items[i].certificate != NULL) {
      g_clear_pointer (&items[i].certificate, gnutls_x509_crt_deinit);
      items[i].error = g_error_copy (error);
    }
  }
}

void
eh_ca_issue_batch (EhStore *store, EhCaIssuance *items, guint n, gnutls_x509_crt_t issuer,
                   gnutls_privkey_t signer, const char *site_code)
{
  g_autofree EhCaWork *work = g_new0 (EhCaWork, n);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < n; i++) {
    items[i].certificate = NULL;
    items[i].serial = NULL;
    items[i].error = NULL;
    eh_ca_work_build (&work[i], items[i].spec, now, issuer, site_code, &items[i].error);
  }
  eh_ca_batch_reserve (store, items, work, n, now, issuer, site_code);
  eh_ca_batch_sign_and_record (store, items, work, n, issuer, signer);
  for (guint i = 0; i < n; i++) {
    /* reserved and never recorded: abandoned now rather than at the next start */
    if (work[i].reserved && items[i].certificate == NULL)
      eh_ca_mark_abandoned (store, work[i].serial);
    if (items[i].certificate != NULL)
      items[i].serial = g_steal_pointer (&work[i].serial);
    eh_ca_work_clear (&work[i]);
  }
}

gnutls_x509_crt_t
eh_ca_issue (EhStore *store, const EhCaSpec *spec, gnutls_x509_crt_t issuer,
             gnutls_privkey_t signer, const char *site_code, char **serial_hex, GError **error)
{
  EhCaIssuance item = { .spec = spec };

  eh_ca_issue_batch (store, &item, 1, issuer, signer, site_code);
  if (item.certificate == NULL) {
    g_propagate_error (error, item.error);
    return NULL;
  }
  if (serial_hex != NULL)
    *serial_hex = item.serial;
  else
    g_free (item.serial);
  return item.certificate;
}
