/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-test-plugins.h"

/* ── test-token-minter ──────────────────────────────────────────────── */

/* Makes a P-256 key, has the site's ca issue it a token signing
 * certificate (ca.token-signing.issue), and mints content tokens with it at
 * /test/mint, as the MP will, plus the broken ones the DP tests need:
 * key=other (a key the bundle does not know), key=forged (another key under
 * the real certificate's x5t#S256), any typ, iss, aud, sha256, nbf and ttl. */

typedef struct {
  EhPlugin *plugin;
  gnutls_privkey_t key;   /* certified by the site */
  gnutls_privkey_t other; /* never certified */
  char *x5t;
  char *other_x5t;
  char *serial;
  guint retry;
} EhTestMinter;

static void eh_test_minter_ask (EhTestMinter *minter);

static void
eh_test_minter_free (EhTestMinter *minter)
{
  g_clear_handle_id (&minter->retry, g_source_remove);
  if (minter->key != NULL)
    gnutls_privkey_deinit (minter->key);
  if (minter->other != NULL)
    gnutls_privkey_deinit (minter->other);
  g_free (minter->x5t);
  g_free (minter->other_x5t);
  g_free (minter->serial);
  g_free (minter);
}

static gnutls_privkey_t
eh_test_minter_key (gnutls_x509_privkey_t *x509, GError **error)
{
  gnutls_privkey_t key = NULL;

  *x509 = eh_crypto_generate_key (EH_KEY_ECDSA_P256, error);
  if (*x509 == NULL)
    return NULL;
  if (gnutls_privkey_init (&key) < 0 || gnutls_privkey_import_x509 (key, *x509, GNUTLS_PRIVKEY_IMPORT_COPY) < 0) {
    if (key != NULL)
      gnutls_privkey_deinit (key);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot use a test key");
    return NULL;
  }
  return key;
}

static char *
eh_test_minter_csr (gnutls_x509_privkey_t key)
{
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t pem = { NULL, 0 };
  char *text = NULL;

  if (gnutls_x509_crq_init (&crq) >= 0 && gnutls_x509_crq_set_version (crq, 1) >= 0 &&
      gnutls_x509_crq_set_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0, "test-token-minter", 17) >= 0 &&
      gnutls_x509_crq_set_key (crq, key) >= 0 && gnutls_x509_crq_sign2 (crq, key, GNUTLS_DIG_SHA256, 0) >= 0 &&
      gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_PEM, &pem) >= 0)
    text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  if (crq != NULL)
    gnutls_x509_crq_deinit (crq);
  return text;
}

static gboolean
eh_test_minter_retry (gpointer user_data)
{
  EhTestMinter *minter = user_data;

  minter->retry = 0;
  eh_test_minter_ask (minter);
  return G_SOURCE_REMOVE;
}

static void
eh_test_minter_issued (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhTestMinter *minter = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);
  g_auto (gnutls_x509_crt_t) leaf = NULL;
  const char *chain = NULL, *serial = NULL;

  if (reply == NULL) {
    g_info ("no token signing certificate yet: %s", error->message);
    minter->retry = g_timeout_add_seconds (1, eh_test_minter_retry, minter);
    return;
  }
  g_variant_lookup (reply, EH_KEY_CHAIN_PEM, "&s", &chain);
  g_variant_lookup (reply, EH_KEY_SERIAL, "&s", &serial);
  leaf = eh_crypto_cert_from_pem (chain, strlen (chain), &error);
  if (leaf == NULL || (minter->x5t = eh_jws_cert_thumbprint (leaf, &error)) == NULL) {
    g_warning ("unusable token signing certificate: %s", error->message);
    return;
  }
  minter->serial = g_strdup (serial);
  g_message ("token signing certificate %s issued", serial);
}

static void
eh_test_minter_ask (EhTestMinter *minter)
{
  g_auto (gnutls_x509_privkey_t) x509 = NULL;
  g_autofree char *csr = NULL;
  GVariantDict payload;

  if (minter->key != NULL)
    gnutls_privkey_deinit (minter->key);
  minter->key = eh_test_minter_key (&x509, NULL);
  csr = minter->key != NULL ? eh_test_minter_csr (x509) : NULL;
  if (csr == NULL) {
    g_warning ("cannot make a token signing request");
    return;
  }
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CSR_PEM, "s", csr);
  g_variant_dict_insert (&payload, EH_KEY_HOST, "s", "test-token-minter");
  eh_bus_request (eh_plugin_get_bus (minter->plugin), EH_TOPIC_CA_TOKEN_SIGNING_ISSUE,
                  g_variant_dict_end (&payload), 10000, NULL, eh_test_minter_issued, minter);
}

static const char *
eh_test_minter_param (GHashTable *params, const char *name, const char *fallback)
{
  const char *value = params != NULL ? g_hash_table_lookup (params, name) : NULL;

  return value != NULL ? value : fallback;
}

static JsonNode *
eh_test_minter_claims (GHashTable *params, gint64 now)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_auto (GStrv) aud = g_strsplit (eh_test_minter_param (params, "aud", "localhost"), ",", -1);
  gint64 ttl = g_ascii_strtoll (eh_test_minter_param (params, "ttl", "3600"), NULL, 10);
  gint64 nbf = now + g_ascii_strtoll (eh_test_minter_param (params, "nbf", "0"), NULL, 10);
  g_autofree char *jti = g_uuid_string_random ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "iss");
  json_builder_add_string_value (builder, eh_test_minter_param (params, "iss", "PS1"));
  json_builder_set_member_name (builder, "sub");
  json_builder_add_string_value (builder, eh_test_minter_param (params, "sub", "GUID:test-client"));
  json_builder_set_member_name (builder, "aud");
  json_builder_begin_array (builder);
  for (guint i = 0; aud[i] != NULL; i++)
    json_builder_add_string_value (builder, aud[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "iat");
  json_builder_add_int_value (builder, MIN (now, nbf));
  json_builder_set_member_name (builder, "nbf");
  json_builder_add_int_value (builder, nbf);
  json_builder_set_member_name (builder, "exp");
  json_builder_add_int_value (builder, now + ttl);
  json_builder_set_member_name (builder, "jti");
  json_builder_add_string_value (builder, jti);
  json_builder_set_member_name (builder, "content");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, eh_test_minter_param (params, "content", "PS100001"));
  json_builder_add_string_value (builder, eh_test_minter_param (params, "sha256", ""));
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
eh_test_minter_mint (EhRequest *request, gpointer user_data)
{
  EhTestMinter *minter = user_data;
  GUri *uri = soup_server_message_get_uri (eh_request_get_message (request));
  g_autoptr (GHashTable) params = NULL;
  g_autoptr (JsonNode) claims = NULL;
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  const char *key;
  gsize len = 0;
  char *text;

  if (minter->x5t == NULL) {
    eh_request_respond_text (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "no token signing certificate yet");
    return;
  }
  if (strcmp (eh_request_get_subpath (request), "/serial") == 0) {
    eh_request_respond_text (request, SOUP_STATUS_OK, minter->serial);
    return;
  }
  if (g_uri_get_query (uri) != NULL)
    params = g_uri_parse_params (g_uri_get_query (uri), -1, "&", G_URI_PARAMS_NONE, NULL);
  claims = eh_test_minter_claims (params, g_get_real_time () / G_USEC_PER_SEC);
  json_generator_set_root (generator, claims);
  text = json_generator_to_data (generator, &len);
  payload = g_bytes_new_take (text, len);
  key = eh_test_minter_param (params, "key", "site");
  json_object_set_string_member (header, "x5t#S256", strcmp (key, "other") == 0 ? minter->other_x5t : minter->x5t);
  token = eh_jws_sign (strcmp (key, "site") == 0 ? minter->key : minter->other, EH_JWS_ALG_ES256,
                       eh_test_minter_param (params, "typ", "content+jwt"), header, payload, &error);
  if (token == NULL)
    eh_request_respond_text (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
  else
    eh_request_respond_text (request, SOUP_STATUS_OK, token);
}

static void
eh_test_minter_start (EhPlugin *plugin)
{
  EhTestMinter *minter = g_new0 (EhTestMinter, 1);
  const EhEndpoint endpoint = { "GET", "/test/mint", EH_SCHEME_HTTPS, 0, eh_test_minter_mint };
  g_auto (gnutls_x509_privkey_t) other = NULL;
  g_auto (gnutls_pubkey_t) other_pub = NULL;
  g_autoptr (GError) error = NULL;

  minter->plugin = plugin;
  eh_plugin_set_data (plugin, minter, (GDestroyNotify) eh_test_minter_free);
  minter->other = eh_test_minter_key (&other, &error);
  other_pub = minter->other != NULL ? eh_crypto_privkey_get_pubkey (minter->other, &error) : NULL;
  if (other_pub == NULL || (minter->other_x5t = eh_jws_pubkey_thumbprint (other_pub, &error)) == NULL ||
      !eh_plugin_add_endpoint (plugin, &endpoint, minter, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_test_minter_ask (minter);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_test_token_minter_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "test-token-minter",
  .description = "test: mints content tokens with a token signing certificate of the site",
  .test_only = TRUE,
  .start = eh_test_minter_start,
};
