/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * The trust bundle as a DP needs it: the root, and the token signing keys
 * that chain to it, checked once when a bundle version arrives so a request
 * only looks a key up by its `x5t#S256`. The bundle is hostile input (it may
 * come from a file or over the link): strict JSON, caps, and every
 * certificate checked against the root it names.
 */

typedef struct {
  gnutls_pubkey_t key;
  EhJwsAlg alg;
  gint64 not_before;
  gint64 not_after;
} EhDpSigner;

struct _EhDpBundle {
  char *json;
  guint64 version;
  char *site;
  char *root_fingerprint;
  GHashTable *signers; /* x5t#S256 → EhDpSigner */
  GHashTable *site_signers; /* x5t#S256 → EhDpSigner: the site signing keys (manifests) */
  GHashTable *revoked;      /* serials, lower-case hex */
  gnutls_x509_crt_t root;
};

static void
eh_dp_signer_free (EhDpSigner *signer)
{
  if (signer->key != NULL)
    gnutls_pubkey_deinit (signer->key);
  g_free (signer);
}

void
eh_dp_bundle_free (EhDpBundle *bundle)
{
  if (bundle == NULL)
    return;
  g_free (bundle->json);
  g_free (bundle->site);
  g_free (bundle->root_fingerprint);
  g_clear_pointer (&bundle->signers, g_hash_table_unref);
  g_clear_pointer (&bundle->site_signers, g_hash_table_unref);
  g_clear_pointer (&bundle->revoked, g_hash_table_unref);
  if (bundle->root != NULL)
    gnutls_x509_crt_deinit (bundle->root);
  g_free (bundle);
}

/* x5c entries are standard base64 of DER; g_base64_decode is lax, so check the alphabet first */
static gnutls_x509_crt_t
eh_dp_bundle_x5c_cert (JsonArray *x5c, guint index, GBytes **der_out, GError **error)
{
  JsonNode *node = index < json_array_get_length (x5c) ? json_array_get_element (x5c, index) : NULL;
  const char *text;
  g_autofree guchar *der = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize len = 0;
  gnutls_x509_crt_t cert;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "x5c[%u] is not a string", index);
    return NULL;
  }
  text = json_node_get_string (node);
  if (text[0] == '\0' || strlen (text) > 64 * 1024 ||
      strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != strlen (text)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "x5c[%u] is not base64", index);
    return NULL;
  }
  der = g_base64_decode (text, &len);
  bytes = g_bytes_new (der, len);
  cert = eh_crypto_cert_from_der (bytes, error);
  if (cert != NULL && der_out != NULL)
    *der_out = g_steal_pointer (&bytes);
  return cert;
}

static char *
eh_dp_bundle_serial_hex (gnutls_x509_crt_t cert)
{
  guint8 serial[64];
  size_t len = sizeof serial;
  GString *hex = g_string_new (NULL);
  gsize i = 0;

  if (gnutls_x509_crt_get_serial (cert, serial, &len) < 0)
    len = 0;
  while (i + 1 < len && serial[i] == 0)
    i++;
  for (; i < len; i++)
    g_string_append_printf (hex, "%02x", serial[i]);
  return g_string_free (hex, FALSE);
}

/* revoked serials, lower-case hex without leading zero octets */
static GHashTable *
eh_dp_bundle_revoked (JsonObject *object, GError **error)
{
  GHashTable *revoked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonNode *node = json_object_get_member (object, "revoked");
  JsonArray *array;

  if (node == NULL)
    return revoked;
  if (!JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (array = json_node_get_array (node)) > EH_DP_BUNDLE_MAX_REVOKED) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "revoked must be an array of serials");
    g_hash_table_unref (revoked);
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *element = json_array_get_element (array, i);
    const char *serial;

    if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING ||
        (serial = json_node_get_string (element))[0] == '\0' || strlen (serial) > 128 ||
        strspn (serial, "0123456789abcdefABCDEF") != strlen (serial)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "revoked[%u] is not a hex serial", i);
      g_hash_table_unref (revoked);
      return NULL;
    }
    while (serial[0] == '0' && serial[1] == '0' && serial[2] != '\0')
      serial += 2;
    g_hash_table_add (revoked, g_ascii_strdown (serial, -1));
  }
  return revoked;
}

/* the root: self-signed, and its fingerprint the one the bundle states */
static gnutls_x509_crt_t
eh_dp_bundle_root (JsonObject *object, char **fingerprint, GError **error)
{
  JsonNode *node = json_object_get_member (object, "root");
  JsonObject *root;
  JsonNode *x5c;
  const char *stated = NULL;
  g_auto (gnutls_x509_crt_t) cert = NULL;
  g_autofree char *actual = NULL;
  unsigned int status = 0;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !eh_json_object_get_string_checked (root = json_node_get_object (node), "fingerprint", &stated, error) ||
      (x5c = json_object_get_member (root, "x5c")) == NULL || !JSON_NODE_HOLDS_ARRAY (x5c)) {
    if (error != NULL && *error == NULL)
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the bundle has no usable root");
    return NULL;
  }
  cert = eh_dp_bundle_x5c_cert (json_node_get_array (x5c), 0, NULL, error);
  if (cert == NULL || (actual = eh_crypto_cert_fingerprint (cert, error)) == NULL)
    return NULL;
  if (g_ascii_strcasecmp (actual, stated) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the root is not the one its fingerprint names");
    return NULL;
  }
  if (gnutls_x509_crt_verify (cert, &cert, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) < 0 ||
      status != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the root is not self-signed");
    return NULL;
  }
  *fingerprint = g_steal_pointer (&actual);
  return g_steal_pointer (&cert);
}

static gboolean
eh_dp_bundle_key_alg (gnutls_pubkey_t key, EhJwsAlg *alg)
{
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  int pk = gnutls_pubkey_get_pk_algorithm (key, NULL);

  if (pk == GNUTLS_PK_ECDSA && gnutls_pubkey_export_ecc_raw (key, &curve, NULL, NULL) >= 0 &&
      curve == GNUTLS_ECC_CURVE_SECP256R1) {
    *alg = EH_JWS_ALG_ES256;
    return TRUE;
  }
  if (pk == GNUTLS_PK_EDDSA_ED25519) {
    *alg = EH_JWS_ALG_EDDSA;
    return TRUE;
  }
  return FALSE;
}

/* x5c[1] must be the bundle's root itself, not a certificate like it */
static gboolean
eh_dp_bundle_x5c_root_is (JsonArray *x5c, gnutls_x509_crt_t root, GError **error)
{
  g_autoptr (GBytes) second_der = NULL;
  g_autoptr (GBytes) root_der = eh_crypto_cert_to_der (root, NULL);
  g_auto (gnutls_x509_crt_t) second = eh_dp_bundle_x5c_cert (x5c, 1, &second_der, error);

  if (second == NULL)
    return FALSE;
  if (root_der == NULL || !g_bytes_equal (second_der, root_der)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "x5c[1] is not the bundle's root");
    return FALSE;
  }
  return TRUE;
}

/*
 * One signing key of the bundle, kid = x5t#S256 of its x5c leaf, in date,
 * not revoked, P-256 or Ed25519: a token signing key (@root set: x5c =
 * [leaf, root], the leaf issued by the root) or the site signing key
 * (@root NULL: x5c = [leaf], self-signed).
 */
static EhDpSigner *
eh_dp_bundle_signer (JsonObject *jwk, gnutls_x509_crt_t root, GHashTable *revoked, gint64 now,
                     char **x5t, GError **error)
{
  const char *kid = NULL;
  JsonNode *node = json_object_get_member (jwk, "x5c");
  JsonArray *x5c = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  g_auto (gnutls_x509_crt_t) leaf = NULL;
  g_autofree char *thumbprint = NULL;
  g_autofree char *serial = NULL;
  g_autofree EhDpSigner *signer = g_new0 (EhDpSigner, 1);
  gnutls_x509_crt_t anchor;
  unsigned int status = 0;

  if (!eh_json_object_get_string_checked (jwk, "kid", &kid, error))
    return NULL;
  if (x5c == NULL || json_array_get_length (x5c) != (root != NULL ? 2 : 1)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 root != NULL ? "x5c must be [leaf, root]" : "a site signing x5c must be [certificate]");
    return NULL;
  }
  leaf = eh_dp_bundle_x5c_cert (x5c, 0, NULL, error);
  if (leaf == NULL || (root != NULL && !eh_dp_bundle_x5c_root_is (x5c, root, error)) ||
      (thumbprint = eh_jws_cert_thumbprint (leaf, error)) == NULL)
    return NULL;
  if (strcmp (kid, thumbprint) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "kid is not the certificate's x5t#S256");
    return NULL;
  }
  anchor = root != NULL ? root : leaf;
  if (gnutls_x509_crt_verify (leaf, &anchor, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) < 0 || status != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 root != NULL ? "the certificate is not issued by the root"
                              : "the site signing certificate is not self-signed");
    return NULL;
  }
  serial = eh_dp_bundle_serial_hex (leaf);
  if (g_hash_table_contains (revoked, serial)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the certificate %s is revoked", serial);
    return NULL;
  }
  signer->not_before = gnutls_x509_crt_get_activation_time (leaf);
  signer->not_after = gnutls_x509_crt_get_expiration_time (leaf);
  if (now > signer->not_after) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the certificate %s has expired", serial);
    return NULL;
  }
  if (gnutls_pubkey_init (&signer->key) < 0 || gnutls_pubkey_import_x509 (signer->key, leaf, 0) < 0 ||
      !eh_dp_bundle_key_alg (signer->key, &signer->alg)) {
    eh_dp_signer_free (g_steal_pointer (&signer));
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the key is not P-256 or Ed25519");
    return NULL;
  }
  *x5t = g_steal_pointer (&thumbprint);
  return g_steal_pointer (&signer);
}

static gboolean
eh_dp_bundle_add_signers (EhDpBundle *bundle, JsonObject *object, gnutls_x509_crt_t root, gint64 now,
                          GError **error)
{
  JsonNode *node = json_object_get_member (object, "keys");
  GHashTable *revoked = eh_dp_bundle_revoked (object, error);
  JsonArray *keys;

  if (revoked == NULL)
    return FALSE;
  bundle->revoked = revoked;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (keys = json_node_get_array (node)) > EH_DP_BUNDLE_MAX_KEYS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "keys must be an array of at most %d keys",
                 EH_DP_BUNDLE_MAX_KEYS);
    return FALSE;
  }
  for (guint i = 0; i < json_array_get_length (keys); i++) {
    JsonNode *element = json_array_get_element (keys, i);
    const char *usage = NULL;
    g_autoptr (GError) local = NULL;
    g_autofree char *x5t = NULL;
    EhDpSigner *signer;
    gboolean site_signing;

    if (!JSON_NODE_HOLDS_OBJECT (element) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "ehttpd_usage", &usage, NULL) ||
        (strcmp (usage, "token-signing") != 0 && strcmp (usage, "site-signing") != 0))
      continue;
    site_signing = strcmp (usage, "site-signing") == 0;
    signer = eh_dp_bundle_signer (json_node_get_object (element), site_signing ? NULL : root, revoked, now,
                                  &x5t, &local);
    if (signer == NULL) {
      g_info ("trust bundle %" G_GUINT64_FORMAT ": %s key %u left out: %s", bundle->version, usage, i,
              local->message);
      continue;
    }
    g_hash_table_replace (site_signing ? bundle->site_signers : bundle->signers, g_steal_pointer (&x5t), signer);
  }
  return TRUE;
}

EhDpBundle *
eh_dp_bundle_parse (const char *json, gsize len, gint64 now, GError **error)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict (json, len, EH_DP_BUNDLE_MAX_BYTES,
                                                    EH_DP_BUNDLE_MAX_DEPTH, error);
  g_autoptr (EhDpBundle) bundle = g_new0 (EhDpBundle, 1);
  g_auto (gnutls_x509_crt_t) root = NULL;
  JsonObject *object;
  const char *site = NULL;
  gint64 version = 0;

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the trust bundle is not an object");
    return NULL;
  }
  object = json_node_get_object (node);
  if (!eh_json_object_get_string_checked (object, "site", &site, error) ||
      !eh_json_object_get_int_checked (object, "version", &version, error))
    return NULL;
  if (!eh_dp_site_code_is_valid (site) || version < 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the bundle's site or version is invalid");
    return NULL;
  }
  bundle->json = g_strndup (json, len);
  bundle->site = g_strdup (site);
  bundle->version = version;
  bundle->signers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) eh_dp_signer_free);
  bundle->site_signers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) eh_dp_signer_free);
  root = eh_dp_bundle_root (object, &bundle->root_fingerprint, error);
  if (root == NULL || !eh_dp_bundle_add_signers (bundle, object, root, now, error))
    return NULL;
  bundle->root = g_steal_pointer (&root);
  return g_steal_pointer (&bundle);
}

guint64
eh_dp_bundle_get_version (const EhDpBundle *bundle)
{
  return bundle->version;
}

const char *
eh_dp_bundle_get_site (const EhDpBundle *bundle)
{
  return bundle->site;
}

const char *
eh_dp_bundle_get_root_fingerprint (const EhDpBundle *bundle)
{
  return bundle->root_fingerprint;
}

const char *
eh_dp_bundle_get_json (const EhDpBundle *bundle)
{
  return bundle->json;
}

guint
eh_dp_bundle_count_signers (const EhDpBundle *bundle)
{
  return g_hash_table_size (bundle->signers);
}

static gnutls_pubkey_t
eh_dp_bundle_copy_key (EhDpSigner *signer, EhJwsAlg *alg, GError **error);

gnutls_pubkey_t
eh_dp_bundle_lookup_signer (const EhDpBundle *bundle, const char *x5t, gint64 now, EhJwsAlg *alg,
                            GError **error)
{
  EhDpSigner *signer = x5t != NULL ? g_hash_table_lookup (bundle->signers, x5t) : NULL;

  if (signer == NULL || now > signer->not_after || now + EH_DP_TOKEN_LEEWAY < signer->not_before) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's signer is not a current "
                 "token signing certificate of the trust bundle");
    return NULL;
  }
  return eh_dp_bundle_copy_key (signer, alg, error);
}

gnutls_pubkey_t
eh_dp_bundle_lookup_site_signer (const EhDpBundle *bundle, const char *x5t, gint64 now, EhJwsAlg *alg,
                                 GError **error)
{
  EhDpSigner *signer = x5t != NULL ? g_hash_table_lookup (bundle->site_signers, x5t) : NULL;

  if (signer == NULL || now > signer->not_after || now + EH_DP_TOKEN_LEEWAY < signer->not_before) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the manifest's signer is not a "
                 "current site signing certificate of the trust bundle");
    return NULL;
  }
  return eh_dp_bundle_copy_key (signer, alg, error);
}

static gnutls_pubkey_t
eh_dp_bundle_copy_key (EhDpSigner *signer, EhJwsAlg *alg, GError **error)
{
  gnutls_datum_t der = { NULL, 0 };
  gnutls_pubkey_t copy = NULL;

  /* the caller owns what it gets: a copy through DER (cheap next to a signature check) */
  if (gnutls_pubkey_export2 (signer->key, GNUTLS_X509_FMT_DER, &der) < 0 || gnutls_pubkey_init (&copy) < 0 ||
      gnutls_pubkey_import (copy, &der, GNUTLS_X509_FMT_DER) < 0) {
    gnutls_free (der.data);
    if (copy != NULL)
      gnutls_pubkey_deinit (copy);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot copy a token signing key");
    return NULL;
  }
  gnutls_free (der.data);
  *alg = signer->alg;
  return copy;
}

/* does @cert carry the SAN URI urn:ehttpd:role:@role? */
static gboolean
eh_dp_bundle_has_role (gnutls_x509_crt_t cert, const char *role)
{
  g_autofree char *wanted = g_strconcat ("urn:ehttpd:role:", role, NULL);

  for (guint i = 0; i < 64; i++) {
    char name[512];
    size_t len = sizeof name - 1;
    int type = gnutls_x509_crt_get_subject_alt_name (cert, i, name, &len, NULL);

    if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
      break;
    if (type == GNUTLS_SAN_URI && len == strlen (wanted) && memcmp (name, wanted, len) == 0)
      return TRUE;
  }
  return FALSE;
}

gboolean
eh_dp_bundle_check_role_cert (const EhDpBundle *bundle, GBytes *der, const char *role, gint64 now,
                              GError **error)
{
  g_auto (gnutls_x509_crt_t) cert = eh_crypto_cert_from_der (der, error);
  g_autofree char *serial = NULL;
  gnutls_x509_crt_t root = bundle->root;
  unsigned int status = 0;

  if (cert == NULL)
    return FALSE;
  if (gnutls_x509_crt_verify (cert, &root, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) < 0 || status != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "the certificate is not issued by this site's root");
    return FALSE;
  }
  serial = eh_dp_bundle_serial_hex (cert);
  if (now < gnutls_x509_crt_get_activation_time (cert) || now > gnutls_x509_crt_get_expiration_time (cert)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "the certificate %s is not in date", serial);
    return FALSE;
  }
  if (g_hash_table_contains (bundle->revoked, serial)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "the certificate %s is revoked", serial);
    return FALSE;
  }
  if (!eh_dp_bundle_has_role (cert, role)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "the certificate %s has no %s role", serial, role);
    return FALSE;
  }
  return TRUE;
}

gnutls_pubkey_t
eh_dp_bundle_token_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhDpBundleLookup *lookup = user_data;
  const char *x5t = NULL;

  if (!eh_json_object_get_string_checked (header, "x5t#S256", &x5t, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token names no x5t#S256");
    return NULL;
  }
  return eh_dp_bundle_lookup_signer (lookup->bundle, x5t, lookup->now, alg, error);
}
