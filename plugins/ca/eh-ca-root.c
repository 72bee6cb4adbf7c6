/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "eh-ca.h"

/*
 * The Site Issuing root and the site signing certificate. Both are made
 * once, on a fresh state directory, and never again by themselves: a root
 * that is recorded but whose key is gone or unreadable is a refusal to
 * start, because a silently new root would strand every host and client
 * that trusts the old one.
 *
 * The certificates live in the database (the rows are the truth) and are
 * copied to <dir>/root.pem and <dir>/site-signing.pem for admins. The keys
 * are files of mode 0600 in the ca's 0700 directory, or, for the root, a
 * PKCS#11 object.
 */

void
eh_ca_identity_clear (EhCaIdentity *identity)
{
  g_clear_pointer (&identity->cert, gnutls_x509_crt_deinit);
  g_clear_pointer (&identity->key, gnutls_privkey_deinit);
  g_clear_pointer (&identity->pem, g_free);
  g_clear_pointer (&identity->fingerprint, g_free);
}

/* the newest issued certificate of @kind, or NULL (no error) when there is none */
static EhCaRecord *
eh_ca_root_find_recorded (EhStore *store, EhCaKind kind, GError **error)
{
  g_autoptr (GPtrArray) rows = eh_ca_records_list (store, kind, error);

  if (rows == NULL)
    return NULL;
  for (guint i = 0; i < rows->len; i++) {
    EhCaRecord *record = g_ptr_array_index (rows, i);

    if (g_strcmp0 (record->state, "issued") == 0)
      return g_ptr_array_steal_index (rows, i);
  }
  return NULL;
}

static gnutls_privkey_t
eh_ca_root_privkey_from_x509 (gnutls_x509_privkey_t x509, GError **error)
{
  gnutls_privkey_t key = NULL;

  if (gnutls_privkey_init (&key) < 0 ||
      gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_COPY) < 0) {
    if (key != NULL)
      gnutls_privkey_deinit (key);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot use the new key");
    return NULL;
  }
  return key;
}

/* a new key, written to @path (0600) before anything is signed with it */
static gnutls_privkey_t
eh_ca_root_generate_key (const char *path, EhKeyType type, GError **error)
{
  g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (type, error);
  char *pem;
  gboolean ok;

  if (x509 == NULL || (pem = eh_crypto_key_to_pem (x509, error)) == NULL)
    return NULL;
  ok = eh_file_replace (path, pem, strlen (pem), 0600, error);
  eh_crypto_free_secret (pem);
  if (!ok)
    return NULL;
  g_message ("made a new %s key at %s", eh_key_type_to_string (type), path);
  return eh_ca_root_privkey_from_x509 (x509, error);
}

static gboolean
eh_ca_root_export (EhCaIdentity *identity, const char *copy_path, GError **error)
{
  identity->pem = eh_crypto_cert_to_pem (identity->cert, error);
  if (identity->pem == NULL)
    return FALSE;
  identity->fingerprint = eh_crypto_cert_fingerprint (identity->cert, error);
  if (identity->fingerprint == NULL)
    return FALSE;
  return eh_file_replace (copy_path, identity->pem, strlen (identity->pem), 0644, error);
}

/* does @key sign for @cert's public key? */
static gboolean
eh_ca_root_key_fits (gnutls_privkey_t key, gnutls_x509_crt_t cert, const char *what, GError **error)
{
  g_auto (gnutls_pubkey_t) from_key = NULL;
  g_auto (gnutls_pubkey_t) from_cert = NULL;
  guint8 a[64], b[64];
  size_t a_len = sizeof a, b_len = sizeof b;

  if (gnutls_pubkey_init (&from_key) < 0 || gnutls_pubkey_init (&from_cert) < 0 ||
      gnutls_pubkey_import_privkey (from_key, key, 0, 0) < 0 ||
      gnutls_pubkey_import_x509 (from_cert, cert, 0) < 0 ||
      gnutls_pubkey_get_key_id (from_key, GNUTLS_KEYID_USE_SHA256, a, &a_len) < 0 ||
      gnutls_pubkey_get_key_id (from_cert, GNUTLS_KEYID_USE_SHA256, b, &b_len) < 0 ||
      a_len != b_len || memcmp (a, b, a_len) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO,
                 "the %s key does not belong to the recorded %s certificate; refusing to start",
                 what, what);
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  EhCaKind kind;
  const char *what;         /* for messages */
  const char *key_location; /* file path or pkcs11: URI */
  const char *copy_name;    /* the PEM copy in the ca's directory */
  guint days;
} EhCaSelfSigned;

/* loads the recorded certificate of @spec->kind with its key, or makes both */
static gboolean
eh_ca_self_signed_load_or_create (EhStore *store, const EhCaRootConfig *config,
                                  const EhCaSelfSigned *spec, EhCaIdentity *out, GError **error)
{
  g_autofree char *copy_path = g_build_filename (config->dir, spec->copy_name, NULL);
  gboolean is_pkcs11 = eh_crypto_location_is_pkcs11 (spec->key_location);
  g_autoptr (EhCaRecord) record = NULL;
  g_autoptr (GError) local_error = NULL;

  record = eh_ca_root_find_recorded (store, spec->kind, &local_error);
  if (local_error != NULL) {
    g_propagate_error (error, g_steal_pointer (&local_error));
    return FALSE;
  }
  if (record != NULL) {
    out->cert = eh_crypto_cert_from_der (record->der, error);
    if (out->cert == NULL)
      return FALSE;
    out->key = eh_crypto_privkey_open (spec->key_location, error);
    if (out->key == NULL) {
      g_prefix_error (error, "the site's %s certificate %s is recorded but its key cannot be used "
                      "(it is never made again by itself): ", spec->what, record->serial);
      return FALSE;
    }
    if (record->not_after <= g_get_real_time () / G_USEC_PER_SEC) {
      g_set_error (error, EH_ERROR, EH_ERROR_TLS, "the site's %s certificate %s has expired",
                   spec->what, record->serial);
      return FALSE;
    }
    return eh_ca_root_key_fits (out->key, out->cert, spec->what, error) &&
           eh_ca_root_export (out, copy_path, error);
  }
  /* fresh: a key that is already there (a token's, or one from a start that
   * stopped before signing) is used, never replaced */
  if (is_pkcs11 || g_file_test (spec->key_location, G_FILE_TEST_EXISTS))
    out->key = eh_crypto_privkey_open (spec->key_location, error);
  else
    out->key = eh_ca_root_generate_key (spec->key_location, config->key_type, error);
  if (out->key == NULL)
    return FALSE;
  {
    g_auto (gnutls_pubkey_t) pubkey = NULL;
    g_autofree char *common_name = g_strdup_printf ("%s %s", config->site_code,
                                                    spec->kind == EH_CA_KIND_ROOT ? "Site Issuing"
                                                                                  : "Site Signing");
    EhCaSpec cert_spec = {
      .kind = spec->kind,
      .common_name = common_name,
      .lifetime_seconds = (guint64) spec->days * 86400,
      .requester = "ca start",
    };
    g_autofree char *serial = NULL;

    if (gnutls_pubkey_init (&pubkey) < 0 || gnutls_pubkey_import_privkey (pubkey, out->key, 0, 0) < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot read the %s public key", spec->what);
      return FALSE;
    }
    cert_spec.pubkey = pubkey;
    out->cert = eh_ca_issue (store, &cert_spec, NULL, out->key, config->site_code, &serial, error);
    if (out->cert == NULL)
      return FALSE;
    g_message ("made the site's %s certificate, serial %s", spec->what, serial);
  }
  return eh_ca_root_export (out, copy_path, error);
}

gboolean
eh_ca_root_load_or_create (EhStore *store, const EhCaRootConfig *config, EhCaIdentity *root,
                           GError **error)
{
  g_autofree char *default_key = g_build_filename (config->dir, "root-key.pem", NULL);
  const char *location = config->root_key != NULL && config->root_key[0] != '\0' ? config->root_key
                                                                                   : default_key;
  EhCaSelfSigned spec = { EH_CA_KIND_ROOT, "root", location, "root.pem", config->root_days };

  if (eh_crypto_location_is_pkcs11 (location) &&
      (config->pkcs11_module == NULL || config->pkcs11_module[0] == '\0')) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[ca] root-key is a PKCS#11 URI: set [ca] pkcs11-module too");
    return FALSE;
  }
  if (config->pkcs11_module != NULL && config->pkcs11_module[0] != '\0' &&
      !eh_crypto_pkcs11_add_module (config->pkcs11_module, error))
    return FALSE;
  return eh_ca_self_signed_load_or_create (store, config, &spec, root, error);
}

gboolean
eh_ca_site_signing_load_or_create (EhStore *store, const EhCaRootConfig *config,
                                   EhCaIdentity *site_signing, GError **error)
{
  g_autofree char *key = g_build_filename (config->dir, "site-signing-key.pem", NULL);
  EhCaSelfSigned spec = { EH_CA_KIND_SITE_SIGNING, "site signing", key, "site-signing.pem",
                          config->site_signing_days };

  return eh_ca_self_signed_load_or_create (store, config, &spec, site_signing, error);
}
