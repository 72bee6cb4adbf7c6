/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-test-util.h"

static void
test_base64url_vectors (void)
{
  /* RFC 4648 §10, without padding */
  const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
  const char *coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
  const guint8 url_bytes[] = { 0xfb, 0xff, 0xbf };

  for (guint i = 0; i < G_N_ELEMENTS (plain); i++) {
    g_autofree char *text = eh_base64url_encode (plain[i], strlen (plain[i]));
    g_autoptr (GBytes) back = eh_base64url_decode (coded[i], strlen (coded[i]), 64, NULL);

    g_assert_cmpstr (text, ==, coded[i]);
    g_assert_nonnull (back);
    g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), plain[i], strlen (plain[i]));
  }
  {
    g_autofree char *text = eh_base64url_encode (url_bytes, sizeof url_bytes);

    g_assert_cmpstr (text, ==, "-_-_");
  }
}

static void
test_base64url_is_strict (void)
{
  const char *bad[] = { "Zg==", "Zm9v YmFy", "Zm9v+mFy", "Zm9v/mFy", "Z", "Zh", "Zm9", "Zm\n9v", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) ok = eh_base64url_decode ("Zm8", 3, 64, NULL);

  g_assert_nonnull (ok);
  for (guint i = 0; bad[i] != NULL; i++) {
    g_autoptr (GBytes) bytes = NULL;

    /* "Zm9" would be canonical; "Zh" has non-zero unused bits */
    if (g_strcmp0 (bad[i], "Zm9") == 0)
      continue;
    bytes = eh_base64url_decode (bad[i], strlen (bad[i]), 64, &error);
    g_assert_null (bytes);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  g_assert_null (eh_base64url_decode ("Zm9vYmFy", 8, 4, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_key_round_trip (gconstpointer data)
{
  EhKeyType type = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) key = eh_crypto_generate_key (type, &error);
  g_auto (gnutls_x509_privkey_t) back = NULL;
  char *pem;

  g_assert_no_error (error);
  pem = eh_crypto_key_to_pem (key, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (pem, "-----BEGIN PRIVATE KEY-----"));
  back = eh_crypto_key_from_pem (pem, strlen (pem), &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_x509_privkey_get_pk_algorithm (back), ==,
                   gnutls_x509_privkey_get_pk_algorithm (key));
  eh_crypto_free_secret (pem);
}

static char *
make_certificate (const char *dir, const char *name)
{
  g_autofree char *key = g_build_filename (dir, "k.pem", NULL);
  char *crt = g_strdup_printf ("%s/%s.pem", dir, name);
  const char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=t",
                         "-keyout", key, "-out", crt, NULL };
  gint status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return crt;
}

static void
test_fingerprint_matches_openssl (void)
{
  g_autofree char *dir = g_dir_make_tmp ("eh-crypto-XXXXXX", NULL);
  g_autofree char *path = make_certificate (dir, "c");
  g_autofree char *pem = NULL;
  g_autofree char *out = NULL;
  g_autofree char *ours = NULL;
  g_autoptr (GString) expected = g_string_new ("sha256:");
  const char *argv[] = { "openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", path, NULL };
  g_auto (gnutls_x509_crt_t) cert = NULL;
  guint8 raw[32];

  g_assert_true (g_file_get_contents (path, &pem, NULL, NULL));
  cert = eh_crypto_cert_from_pem (pem, strlen (pem), NULL);
  g_assert_nonnull (cert);
  ours = eh_crypto_cert_fingerprint (cert, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, NULL, NULL));
  for (const char *p = strchr (out, '=') + 1; *p != '\0' && *p != '\n'; p++) {
    if (*p != ':')
      g_string_append_c (expected, g_ascii_tolower (*p));
  }
  g_assert_cmpstr (ours, ==, expected->str);
  g_assert_true (eh_crypto_parse_fingerprint (ours, raw, NULL));
  eh_test_remove_tree (dir);
}

static void
test_parse_fingerprint (void)
{
  guint8 raw[32];
  g_autoptr (GError) error = NULL;
  const char *good = "SHA256:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
  const char *colons = "sha256:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";

  g_assert_true (eh_crypto_parse_fingerprint (good, raw, &error));
  g_assert_cmpuint (raw[10], ==, 0xaa);
  g_assert_true (eh_crypto_parse_fingerprint (colons, raw, &error));
  g_assert_cmpuint (raw[31], ==, 0xff);
  g_assert_false (eh_crypto_parse_fingerprint ("sha256:0011", raw, &error));
  g_clear_error (&error);
  g_assert_false (eh_crypto_parse_fingerprint ("md5:00112233", raw, &error));
  g_clear_error (&error);
  g_assert_false (eh_crypto_parse_fingerprint ("sha256:zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", raw, &error));
  g_clear_error (&error);
  g_assert_false (eh_crypto_parse_fingerprint ("sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", raw, &error));
}

static void
test_chain_and_key_match (void)
{
  g_autofree char *dir = g_dir_make_tmp ("eh-crypto-XXXXXX", NULL);
  g_autofree char *a = make_certificate (dir, "a");
  g_autofree char *key_a = g_build_filename (dir, "k.pem", NULL);
  g_autofree char *a_key_text = NULL;
  g_autofree char *b = NULL;
  g_autofree char *a_text = NULL, *b_text = NULL, *both = NULL;
  g_auto (gnutls_x509_privkey_t) key = NULL;
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t *chain;
  guint n = 0;

  g_assert_true (g_file_get_contents (key_a, &a_key_text, NULL, NULL));
  b = make_certificate (dir, "b"); /* overwrites k.pem with b's key */
  g_assert_true (g_file_get_contents (a, &a_text, NULL, NULL));
  g_assert_true (g_file_get_contents (b, &b_text, NULL, NULL));
  both = g_strconcat (b_text, a_text, NULL);
  chain = eh_crypto_chain_from_pem (both, strlen (both), &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  key = eh_crypto_key_from_pem (a_key_text, strlen (a_key_text), &error);
  g_assert_no_error (error);
  g_assert_true (eh_crypto_key_matches_cert (key, chain[1], NULL));
  g_assert_false (eh_crypto_key_matches_cert (key, chain[0], &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_CRYPTO);
  g_clear_error (&error);
  eh_crypto_chain_free (chain, n);
  g_assert_null (eh_crypto_chain_from_pem ("garbage", 7, &n, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_CRYPTO);
  g_clear_error (&error);
  g_assert_null (eh_crypto_key_from_pem (a_text, strlen (a_text), &error));
  eh_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/crypto/base64url-vectors", test_base64url_vectors);
  g_test_add_func ("/eh/crypto/base64url-is-strict", test_base64url_is_strict);
  g_test_add_data_func ("/eh/crypto/key-round-trip/ecdsa-p256", GINT_TO_POINTER (EH_KEY_ECDSA_P256), test_key_round_trip);
  g_test_add_data_func ("/eh/crypto/key-round-trip/ed25519", GINT_TO_POINTER (EH_KEY_ED25519), test_key_round_trip);
  g_test_add_data_func ("/eh/crypto/key-round-trip/rsa-2048", GINT_TO_POINTER (EH_KEY_RSA_2048), test_key_round_trip);
  g_test_add_func ("/eh/crypto/fingerprint-matches-openssl", test_fingerprint_matches_openssl);
  g_test_add_func ("/eh/crypto/parse-fingerprint", test_parse_fingerprint);
  g_test_add_func ("/eh/crypto/chain-and-key-match", test_chain_and_key_match);
  return g_test_run ();
}
