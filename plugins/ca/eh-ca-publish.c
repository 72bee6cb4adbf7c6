/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ca.h"

/*
 * What the ca publishes: the trust bundle (a JWKS of the keys that sign
 * tokens and policy, each with its x5c chain, plus the root and the revoked
 * serials) in JSON and PEM, and the CRL signed by the root. All of it is
 * public material, served over plain HTTP too.
 */

void
eh_ca_published_clear (EhCaPublished *published)
{
  g_clear_pointer (&published->json, g_free);
  g_clear_pointer (&published->pem, g_free);
  g_clear_pointer (&published->crl_der, g_bytes_unref);
  g_clear_pointer (&published->crl_pem, g_free);
}

/* x5c entries are standard base64 of the DER (RFC 7517 §4.7) */
static void
eh_ca_x5c_add (JsonArray *x5c, gnutls_x509_crt_t cert)
{
  g_autoptr (GBytes) der = eh_crypto_cert_to_der (cert, NULL);
  g_autofree char *text = NULL;

  if (der == NULL)
    return;
  text = g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  json_array_add_string_element (x5c, text);
}

/* one signing key of the bundle: its JWK, thumbprint and x5c chain */
static JsonNode *
eh_ca_bundle_key (gnutls_x509_crt_t cert, gnutls_x509_crt_t root, const char *usage,
                  const char *host, gint64 not_after, GError **error)
{
  g_auto (gnutls_pubkey_t) pubkey = NULL;
  g_autoptr (JsonObject) jwk = NULL;
  g_autofree char *thumbprint = NULL;
  JsonArray *x5c = json_array_new ();
  JsonNode *node;

  if (gnutls_pubkey_init (&pubkey) < 0 || gnutls_pubkey_import_x509 (pubkey, cert, 0) < 0) {
    json_array_unref (x5c);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot read a bundle certificate's key");
    return NULL;
  }
  jwk = eh_jws_pubkey_to_jwk (pubkey, error);
  thumbprint = jwk != NULL ? eh_jws_cert_thumbprint (cert, error) : NULL;
  if (thumbprint == NULL) {
    json_array_unref (x5c);
    return NULL;
  }
  json_object_set_string_member (jwk, "use", "sig");
  json_object_set_string_member (jwk, "kid", thumbprint);
  json_object_set_string_member (jwk, "x5t#S256", thumbprint);
  eh_ca_x5c_add (x5c, cert);
  if (root != NULL)
    eh_ca_x5c_add (x5c, root);
  json_object_set_array_member (jwk, "x5c", x5c);
  json_object_set_string_member (jwk, "ehttpd_usage", usage);
  if (host != NULL)
    json_object_set_string_member (jwk, "ehttpd_host", host);
  json_object_set_int_member (jwk, "exp", not_after);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, jwk);
  return node;
}

static void
eh_ca_pem_append (GString *pem, const char *label, const char *cert_pem)
{
  g_string_append_printf (pem, "# %s\n%s", label, cert_pem);
  if (pem->len > 0 && pem->str[pem->len - 1] != '\n')
    g_string_append_c (pem, '\n');
}

static gboolean
eh_ca_bundle_add_token_signing (JsonArray *keys, GString *pem, GPtrArray *current,
                                const EhCaIdentity *root, GError **error)
{
  for (guint i = 0; i < current->len; i++) {
    EhCaRecord *record = g_ptr_array_index (current, i);
    g_auto (gnutls_x509_crt_t) cert = eh_crypto_cert_from_der (record->der, error);
    g_autofree char *cert_pem = NULL;
    g_autofree char *label = NULL;
    JsonNode *node;

    if (cert == NULL || (cert_pem = eh_crypto_cert_to_pem (cert, error)) == NULL)
      return FALSE;
    node = eh_ca_bundle_key (cert, root->cert, "token-signing", record->host, record->not_after, error);
    if (node == NULL)
      return FALSE;
    json_array_add_element (keys, node);
    label = g_strdup_printf ("token signing, host %s, serial %s", record->host, record->serial);
    eh_ca_pem_append (pem, label, cert_pem);
  }
  return TRUE;
}

static char *
eh_ca_bundle_json (JsonObject *bundle)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (root, bundle);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static gboolean
eh_ca_bundle_build (EhStore *store, const EhCaIdentity *root, const EhCaIdentity *site_signing,
                    const char *site_code, guint64 version, EhCaPublished *out, GError **error)
{
  g_autoptr (JsonObject) bundle = json_object_new ();
  g_autoptr (GPtrArray) current = eh_ca_records_current (store, EH_CA_KIND_TOKEN_SIGNING, error);
  g_auto (GStrv) revoked = NULL;
  g_autoptr (GString) pem = g_string_new (NULL);
  g_autofree char *root_thumbprint = eh_jws_cert_thumbprint (root->cert, NULL);
  JsonObject *root_object = json_object_new ();
  JsonArray *root_x5c = json_array_new ();
  JsonArray *keys = json_array_new ();
  JsonArray *revoked_array = json_array_new ();
  JsonNode *node;

  json_object_set_array_member (bundle, "keys", keys);
  json_object_set_object_member (bundle, "root", root_object);
  json_object_set_array_member (bundle, "revoked", revoked_array);
  eh_ca_x5c_add (root_x5c, root->cert);
  json_object_set_string_member (root_object, "fingerprint", root->fingerprint);
  json_object_set_string_member (root_object, "x5t#S256", root_thumbprint);
  json_object_set_array_member (root_object, "x5c", root_x5c);
  if (current == NULL || (revoked = eh_ca_records_revoked_serials (store, error)) == NULL)
    return FALSE;
  eh_ca_pem_append (pem, "Site Issuing root", root->pem);
  node = eh_ca_bundle_key (site_signing->cert, NULL, "site-signing", NULL,
                           gnutls_x509_crt_get_expiration_time (site_signing->cert), error);
  if (node == NULL)
    return FALSE;
  json_array_add_element (keys, node);
  eh_ca_pem_append (pem, "site signing", site_signing->pem);
  if (!eh_ca_bundle_add_token_signing (keys, pem, current, root, error))
    return FALSE;
  for (guint i = 0; revoked[i] != NULL; i++)
    json_array_add_string_element (revoked_array, revoked[i]);
  json_object_set_string_member (bundle, "site", site_code);
  json_object_set_int_member (bundle, "version", version);
  json_object_set_int_member (bundle, "issued_at", g_get_real_time () / G_USEC_PER_SEC);
  out->json = eh_ca_bundle_json (bundle);
  out->pem = g_string_free (g_steal_pointer (&pem), FALSE);
  out->version = version;
  return TRUE;
}

static gboolean
eh_ca_crl_add_revoked (gnutls_x509_crl_t crl, EhStore *store, GError **error)
{
  g_autoptr (GPtrArray) rows = eh_ca_records_list (store, -1, error);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (rows == NULL)
    return FALSE;
  for (guint i = 0; i < rows->len; i++) {
    EhCaRecord *record = g_ptr_array_index (rows, i);
    guint8 serial[EH_CA_SERIAL_BYTES + 1];
    gsize len = strlen (record->serial) / 2;

    if (g_strcmp0 (record->state, "revoked") != 0 || record->not_after <= now || len > sizeof serial)
      continue;
    for (gsize b = 0; b < len; b++)
      serial[b] = g_ascii_xdigit_value (record->serial[2 * b]) << 4 |
                  g_ascii_xdigit_value (record->serial[2 * b + 1]);
    if (gnutls_x509_crl_set_crt_serial (crl, serial, len, record->revoked_at) < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot list serial %s in the CRL", record->serial);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
eh_ca_crl_build (EhStore *store, const EhCaIdentity *root, guint crl_days, EhCaPublished *out,
                 GError **error)
{
  gnutls_x509_crl_t crl = NULL;
  gnutls_datum_t der = { NULL, 0 }, pem = { NULL, 0 };
  guint8 key_id[64], number_bytes[8];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL);
  guint64 number = 0;
  gboolean ok = FALSE;

  if (!eh_ca_records_bump_counter (store, "crl-number", &number, error))
    return FALSE;
  for (guint i = 0; i < 8; i++)
    number_bytes[i] = number >> (8 * (7 - i));
  if (gnutls_x509_crl_init (&crl) < 0 || gnutls_x509_crl_set_version (crl, 2) < 0 ||
      gnutls_x509_crl_set_this_update (crl, now) < 0 ||
      gnutls_x509_crl_set_next_update (crl, now + (time_t) crl_days * 86400) < 0 ||
      gnutls_x509_crt_get_subject_key_id (root->cert, key_id, &key_id_size, NULL) < 0 ||
      gnutls_x509_crl_set_authority_key_id (crl, key_id, key_id_size) < 0 ||
      gnutls_x509_crl_set_number (crl, number_bytes, sizeof number_bytes) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot build the CRL");
    goto out;
  }
  if (!eh_ca_crl_add_revoked (crl, store, error))
    goto out;
  if (gnutls_x509_crl_privkey_sign (crl, root->cert, root->key, eh_ca_digest_for (root->key), 0) < 0 ||
      gnutls_x509_crl_export2 (crl, GNUTLS_X509_FMT_DER, &der) < 0 ||
      gnutls_x509_crl_export2 (crl, GNUTLS_X509_FMT_PEM, &pem) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot sign the CRL");
    goto out;
  }
  out->crl_der = g_bytes_new (der.data, der.size);
  out->crl_pem = g_strndup ((const char *) pem.data, pem.size);
  ok = TRUE;
out:
  gnutls_free (der.data);
  gnutls_free (pem.data);
  if (crl != NULL)
    gnutls_x509_crl_deinit (crl);
  return ok;
}

gboolean
eh_ca_publish_build (EhStore *store, const EhCaIdentity *root, const EhCaIdentity *site_signing,
                     const char *site_code, guint crl_days, EhCaPublished *out, GError **error)
{
  EhCaPublished fresh = { 0 };
  guint64 version = 0;

  if (!eh_ca_records_bump_counter (store, "bundle-version", &version, error) ||
      !eh_ca_bundle_build (store, root, site_signing, site_code, version, &fresh, error) ||
      !eh_ca_crl_build (store, root, crl_days, &fresh, error)) {
    eh_ca_published_clear (&fresh);
    return FALSE;
  }
  eh_ca_published_clear (out);
  *out = fresh;
  return TRUE;
}
