/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-jws.h"
#include "eh-test-util.h"

typedef struct {
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  EhJwsAlg alg;
} TestKey;

static void
test_key_init (TestKey *k, EhKeyType type)
{
  g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (type, NULL);

  g_assert_nonnull (x509);
  gnutls_privkey_init (&k->key);
  g_assert_cmpint (gnutls_privkey_import_x509 (k->key, x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  gnutls_pubkey_init (&k->pub);
  g_assert_cmpint (gnutls_pubkey_import_privkey (k->pub, k->key, 0, 0), ==, 0);
  g_assert_true (eh_jws_alg_for_key (k->key, &k->alg, NULL));
}

static void
test_key_clear (TestKey *k)
{
  gnutls_privkey_deinit (k->key);
  gnutls_pubkey_deinit (k->pub);
}

/* the test's "trust bundle": one key, one alg */
static gnutls_pubkey_t
lookup_one (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  TestKey *k = user_data;
  gnutls_pubkey_t copy = NULL;
  gnutls_datum_t der = { NULL, 0 };

  gnutls_pubkey_export2 (k->pub, GNUTLS_X509_FMT_DER, &der);
  gnutls_pubkey_init (&copy);
  gnutls_pubkey_import (copy, &der, GNUTLS_X509_FMT_DER);
  gnutls_free (der.data);
  *alg = k->alg;
  return copy;
}

static char *
sign (TestKey *k, const char *typ, const char *payload)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (payload, strlen (payload));
  g_autoptr (GError) error = NULL;
  char *token = eh_jws_sign (k->key, k->alg, typ, NULL, bytes, &error);

  g_assert_no_error (error);
  return token;
}

static gboolean
verify (TestKey *k, const char *token, GBytes **payload, GError **error)
{
  return eh_jws_verify (token, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA | EH_JWS_ALG_RS256,
                        "client+jwt", lookup_one, k, NULL, payload, error);
}

static void
test_round_trip (gconstpointer data)
{
  TestKey k;
  g_autofree char *token = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;

  test_key_init (&k, GPOINTER_TO_INT (data));
  token = sign (&k, "client+jwt", "{\"sub\":\"c1\"}");
  g_assert_true (verify (&k, token, &payload, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), "{\"sub\":\"c1\"}", 12);
  test_key_clear (&k);
}

static char *
craft (const char *header, const char *payload, const void *sig, gsize sig_len)
{
  g_autofree char *h = eh_base64url_encode (header, strlen (header));
  g_autofree char *p = eh_base64url_encode (payload, strlen (payload));
  g_autofree char *s = eh_base64url_encode (sig, sig_len);

  return g_strdup_printf ("%s.%s.%s", h, p, s);
}

static void
assert_refused (TestKey *k, const char *token, const char *reason)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (verify (k, token, &payload, &error));
  g_assert_null (payload);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  if (strstr (error->message, reason) == NULL)
    g_error ("wanted \"%s\", got \"%s\"", reason, error->message);
}

static void
test_refusals (void)
{
  TestKey k;
  g_autofree char *good = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *padded = NULL;
  g_autofree char *four = NULL;
  g_autofree char *huge = NULL;
  guint8 zeros[64] = { 0 };
  guint8 ones[64];
  const char *dot;
  struct {
    const char *header;
    const char *reason;
  } headers[] = {
    { "{\"alg\":\"none\",\"typ\":\"client+jwt\"}", "alg \"none\" is not allowed" },
    { "{\"alg\":\"HS256\",\"typ\":\"client+jwt\"}", "alg \"HS256\" is not allowed" },
    { "{\"alg\":\"RS256\",\"typ\":\"client+jwt\"}", "does not match the key's" },
    { "{\"alg\":\"ES256\",\"typ\":\"client+jwt\",\"crit\":[\"exp\"]}", "\"crit\"" },
    { "{\"alg\":\"ES256\",\"typ\":\"client+jwt\",\"jku\":\"https://evil/\"}", "\"jku\"" },
    { "{\"alg\":\"ES256\",\"typ\":\"client+jwt\",\"x5u\":\"https://evil/\"}", "\"x5u\"" },
    { "{\"alg\":\"ES256\",\"typ\":\"client+jwt\",\"jwk\":{}}", "\"jwk\"" },
    { "{\"alg\":\"ES256\",\"typ\":\"content+jwt\"}", "wrong typ" },
    { "{\"alg\":\"ES256\"}", "wrong typ" },
    { "{\"alg\":\"ES256\",\"alg\":\"none\",\"typ\":\"client+jwt\"}", "not a strict JSON object" },
    { "[\"alg\"]", "not a strict JSON object" },
  };

  test_key_init (&k, EH_KEY_ECDSA_P256);
  memset (ones, 1, sizeof ones);
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    g_autofree char *token = craft (headers[i].header, "{}", ones, sizeof ones);

    assert_refused (&k, token, headers[i].reason);
  }
  {
    g_autofree char *zero_r = craft ("{\"alg\":\"ES256\",\"typ\":\"client+jwt\"}", "{}", zeros, 64);
    g_autofree char *short_sig = craft ("{\"alg\":\"ES256\",\"typ\":\"client+jwt\"}", "{}", ones, 63);

    g_autofree char *empty_sig = NULL;

    assert_refused (&k, zero_r, "r = 0 or s = 0");
    empty_sig = g_strndup (zero_r, strrchr (zero_r, '.') - zero_r + 1);
    assert_refused (&k, empty_sig, "wrong length");
    assert_refused (&k, short_sig, "wrong length");
  }
  good = sign (&k, "client+jwt", "{\"sub\":\"c1\"}");
  /* swap the payload for another one, keep the signature */
  dot = strchr (good, '.');
  tampered = g_strdup_printf ("%.*s.eyJzdWIiOiJhZG1pbiJ9%s", (int) (dot - good), good, strrchr (good, '.'));
  assert_refused (&k, tampered, "bad signature");
  padded = g_strconcat (good, "=", NULL);
  assert_refused (&k, padded, "not strict base64url");
  four = g_strconcat (good, ".x", NULL);
  assert_refused (&k, four, "not three segments");
  huge = g_strnfill (EH_JWS_DEFAULT_MAX_TOKEN_BYTES + 1, 'a');
  assert_refused (&k, huge, "too large");
  assert_refused (&k, "", "empty");
  test_key_clear (&k);
}

static const char *
interop_script (void)
{
  const char *dir = g_getenv ("EH_TEST_SRCDIR");
  static char *path;

  if (path == NULL)
    path = g_build_filename (dir != NULL ? dir : ".", "jws-interop.py", NULL);
  return path;
}

/* Debian's interpreter, where python3-jwt is installed (meson passes it) */
static const char *
python (void)
{
  return g_getenv ("EH_PYTHON") != NULL ? g_getenv ("EH_PYTHON") : "python3";
}

static char *
run_python (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;
  gint status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error))
    g_error ("cannot run python3 (a test dependency): %s", error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("PyJWT refused: %s", err);
  return g_strstrip (out);
}

static char *
write_secret (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  return path;
}

static void
test_interop_with_pyjwt (gconstpointer data)
{
  TestKey k;
  g_autofree char *dir = g_dir_make_tmp ("eh-jws-XXXXXX", NULL);
  g_autofree char *pub_path = NULL, *key_path = NULL, *ours = NULL, *checked = NULL, *theirs = NULL;
  g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (GPOINTER_TO_INT (data), NULL);
  gnutls_datum_t pub_pem = { NULL, 0 };
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;
  char *key_pem;

  gnutls_privkey_init (&k.key);
  gnutls_privkey_import_x509 (k.key, x509, GNUTLS_PRIVKEY_IMPORT_COPY);
  gnutls_pubkey_init (&k.pub);
  gnutls_pubkey_import_privkey (k.pub, k.key, 0, 0);
  eh_jws_alg_for_key (k.key, &k.alg, NULL);
  gnutls_pubkey_export2 (k.pub, GNUTLS_X509_FMT_PEM, &pub_pem);
  pub_path = write_secret (dir, "pub.pem", (const char *) pub_pem.data);
  gnutls_free (pub_pem.data);
  key_pem = eh_crypto_key_to_pem (x509, NULL);
  key_path = write_secret (dir, "key.pem", key_pem);
  eh_crypto_free_secret (key_pem);

  /* ours, verified by PyJWT */
  ours = sign (&k, "client+jwt", "{\"sub\":\"c1\",\"n\":1}");
  checked = run_python ((const char *const[]) { python (), interop_script (), "verify", ours, pub_path, "client+jwt", NULL });
  g_assert_cmpstr (checked, ==, "{\"n\": 1, \"sub\": \"c1\"}");
  /* PyJWT's, verified by us */
  theirs = run_python ((const char *const[]) { python (), interop_script (), "sign", key_path,
                                               eh_jws_alg_to_string (k.alg), "client+jwt", "{\"sub\":\"c2\"}", NULL });
  g_assert_true (verify (&k, theirs, &payload, &error));
  g_assert_no_error (error);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), "\"c2\""));
  test_key_clear (&k);
  eh_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/eh/jws/round-trip/es256", GINT_TO_POINTER (EH_KEY_ECDSA_P256), test_round_trip);
  g_test_add_data_func ("/eh/jws/round-trip/eddsa", GINT_TO_POINTER (EH_KEY_ED25519), test_round_trip);
  g_test_add_data_func ("/eh/jws/round-trip/rs256", GINT_TO_POINTER (EH_KEY_RSA_2048), test_round_trip);
  g_test_add_func ("/eh/jws/refusals", test_refusals);
  g_test_add_data_func ("/eh/jws/interop-with-pyjwt/es256", GINT_TO_POINTER (EH_KEY_ECDSA_P256), test_interop_with_pyjwt);
  g_test_add_data_func ("/eh/jws/interop-with-pyjwt/eddsa", GINT_TO_POINTER (EH_KEY_ED25519), test_interop_with_pyjwt);
  return g_test_run ();
}
