/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-test-util.h"

static gnutls_x509_privkey_t
make_key (EhKeyType type)
{
  g_autoptr (GError) error = NULL;
  gnutls_x509_privkey_t key = eh_crypto_generate_key (type, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

static char *
cert_pem (gnutls_x509_crt_t cert)
{
  g_autoptr (GError) error = NULL;
  char *pem = eh_crypto_cert_to_pem (cert, &error);

  g_assert_no_error (error);
  return pem;
}

static void
assert_key_ids_equal (gnutls_x509_privkey_t a, gnutls_x509_privkey_t b)
{
  guint8 id_a[32], id_b[32];
  size_t len_a = sizeof id_a, len_b = sizeof id_b;

  g_assert_cmpint (gnutls_x509_privkey_get_key_id (a, GNUTLS_KEYID_USE_SHA256, id_a, &len_a), ==,
                   0);
  g_assert_cmpint (gnutls_x509_privkey_get_key_id (b, GNUTLS_KEYID_USE_SHA256, id_b, &len_b), ==,
                   0);
  g_assert_cmpmem (id_a, len_a, id_b, len_b);
}

static void
test_key_type_names (void)
{
  const EhKeyType types[] = { EH_KEY_ECDSA_P256, EH_KEY_RSA_2048, EH_KEY_RSA_3072, EH_KEY_ED25519 };
  g_autoptr (GError) error = NULL;
  EhKeyType type;

  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    g_assert_true (eh_key_type_from_string (eh_key_type_to_string (types[i]), &type, &error));
    g_assert_no_error (error);
    g_assert_cmpint (type, ==, types[i]);
  }
  g_assert_cmpstr (eh_key_type_to_string (EH_KEY_ED25519), ==, "ed25519");
  g_assert_false (eh_key_type_from_string ("ECDSA-P256", &type, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (eh_key_type_from_string (NULL, &type, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (eh_crypto_generate_key ((EhKeyType) 99, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_key_round_trip (gconstpointer data)
{
  EhKeyType type = GPOINTER_TO_INT (data);
  const struct {
    int pk;
    unsigned int bits;
  } expected[] = {
    [EH_KEY_ECDSA_P256] = { GNUTLS_PK_ECDSA, 256 },
    [EH_KEY_RSA_2048] = { GNUTLS_PK_RSA, 2048 },
    [EH_KEY_RSA_3072] = { GNUTLS_PK_RSA, 3072 },
    [EH_KEY_ED25519] = { GNUTLS_PK_EDDSA_ED25519, 256 },
  };
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) key = make_key (type);
  g_auto (gnutls_x509_privkey_t) back = NULL;
  g_auto (gnutls_x509_privkey_t) back_unterminated = NULL;
  g_autofree char *unterminated = NULL;
  unsigned int bits = 0;
  char *pem;

  g_assert_cmpint (gnutls_x509_privkey_get_pk_algorithm2 (key, &bits), ==, expected[type].pk);
  g_assert_cmpuint (bits, ==, expected[type].bits);
  pem = eh_crypto_key_to_pem (key, &error);
  g_assert_no_error (error);
  /* PKCS#8, unencrypted */
  g_assert_true (g_str_has_prefix (pem, "-----BEGIN PRIVATE KEY-----\n"));
  back = eh_crypto_key_from_pem (pem, strlen (pem), &error);
  g_assert_no_error (error);
  assert_key_ids_equal (key, back);
  /* the length counts, not a terminator */
  unterminated = g_memdup2 (pem, strlen (pem));
  back_unterminated = eh_crypto_key_from_pem (unterminated, strlen (pem), &error);
  g_assert_no_error (error);
  assert_key_ids_equal (key, back_unterminated);
  eh_crypto_free_secret (pem);
}

/* one file holding the chain and the key, as installed certificates are */
static void
test_key_from_bundle (void)
{
  g_auto (gnutls_x509_privkey_t) key = make_key (EH_KEY_ECDSA_P256);
  g_auto (gnutls_x509_privkey_t) back = NULL;
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (key, "bundle", NULL, NULL, FALSE);
  g_autofree char *crt = cert_pem (cert);
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t *chain;
  char *key_pem = eh_crypto_key_to_pem (key, NULL);
  char *bundle = g_strconcat (crt, "\n", key_pem, NULL);
  guint n = 0;

  back = eh_crypto_key_from_pem (bundle, strlen (bundle), &error);
  g_assert_no_error (error);
  assert_key_ids_equal (key, back);
  chain = eh_crypto_chain_from_pem (bundle, strlen (bundle), &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  g_assert_true (eh_crypto_key_matches_cert (back, chain[0], &error));
  eh_crypto_chain_free (chain, n);
  eh_crypto_free_secret (key_pem);
  eh_crypto_free_secret (bundle);
}

static void
assert_key_refused (const char *pem, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) key = eh_crypto_key_from_pem (pem, len, &error);

  g_assert_null (key);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_key_from_pem_refusals (void)
{
  g_auto (gnutls_x509_privkey_t) key = make_key (EH_KEY_ECDSA_P256);
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (key, "refusals", NULL, NULL, FALSE);
  g_autofree char *crt = cert_pem (cert);
  gnutls_datum_t encrypted = { NULL, 0 };
  char *pem;

  assert_key_refused ("", 0);
  assert_key_refused ("garbage", 7);
  assert_key_refused (crt, strlen (crt));
  /* an encrypted key is refused, not prompted for */
  g_assert_cmpint (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, "secret",
                                                      GNUTLS_PKCS_PBES2_AES_256, &encrypted),
                   ==, 0);
  assert_key_refused ((const char *) encrypted.data, encrypted.size);
  gnutls_free (encrypted.data);
  /* cut short */
  pem = eh_crypto_key_to_pem (key, NULL);
  assert_key_refused (pem, strlen (pem) / 2);
  eh_crypto_free_secret (pem);
}

static void
test_cert_pem_der_round_trip (void)
{
  g_auto (gnutls_x509_privkey_t) key = make_key (EH_KEY_ECDSA_P256);
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (key, "round-trip", NULL, NULL, FALSE);
  g_auto (gnutls_x509_crt_t) from_pem = NULL;
  g_auto (gnutls_x509_crt_t) from_der = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GBytes) der_again = NULL;
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr (GBytes) junk = g_bytes_new_static ("\x30\x03\x02\x01\x01", 5);
  g_autoptr (GError) error = NULL;
  g_autofree char *pem = cert_pem (cert);

  g_assert_true (g_str_has_prefix (pem, "-----BEGIN CERTIFICATE-----\n"));
  from_pem = eh_crypto_cert_from_pem (pem, strlen (pem), &error);
  g_assert_no_error (error);
  der = eh_crypto_cert_to_der (from_pem, &error);
  g_assert_no_error (error);
  from_der = eh_crypto_cert_from_der (der, &error);
  g_assert_no_error (error);
  der_again = eh_crypto_cert_to_der (from_der, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (der, der_again));

  g_assert_null (eh_crypto_cert_from_pem ("garbage", 7, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (eh_crypto_cert_from_pem ("", 0, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (eh_crypto_cert_from_der (empty, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (eh_crypto_cert_from_der (junk, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

/* "sha256 Fingerprint=AB:CD:..." from openssl, as our form */
static char *
openssl_fingerprint (const char *path)
{
  const char *argv[] = { "openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", path,
                         NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *hex = NULL;
  gint status = 0;
  const char *at;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                     &status, &error))
    g_error ("openssl (a test dependency) cannot run: %s", error->message);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  at = strchr (out, '=');
  g_assert_nonnull (at);
  hex = g_strstrip (g_strdup (at + 1));
  return g_strconcat ("sha256:", hex, NULL);
}

static void
test_fingerprint_matches_openssl (void)
{
  g_autofree char *dir = g_dir_make_tmp ("eh-crypto-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "cert.pem", NULL);
  g_auto (gnutls_x509_privkey_t) key = make_key (EH_KEY_ECDSA_P256);
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (key, "fingerprint", NULL, NULL, FALSE);
  g_autofree char *pem = cert_pem (cert);
  g_autofree char *ours = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *theirs_lower = NULL;
  g_autoptr (GBytes) der = eh_crypto_cert_to_der (cert, NULL);
  g_autoptr (GError) error = NULL;
  guint8 from_ours[32], from_theirs[32], hashed[32];

  g_assert_true (g_file_set_contents (path, pem, -1, NULL));
  ours = eh_crypto_cert_fingerprint (cert, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (ours, "sha256:"));
  g_assert_cmpuint (strlen (ours), ==, 7 + 64);
  theirs = openssl_fingerprint (path);
  /* openssl writes upper case with ':' between bytes */
  g_assert_nonnull (strchr (theirs + 7, ':'));
  g_assert_true (eh_crypto_parse_fingerprint (ours, from_ours, &error));
  g_assert_no_error (error);
  g_assert_true (eh_crypto_parse_fingerprint (theirs, from_theirs, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (from_ours, 32, from_theirs, 32);
  theirs_lower = g_ascii_strdown (theirs, -1);
  for (char *r = theirs_lower, *w = theirs_lower; ; r++) {
    if (*r != ':' || r - theirs_lower < 7)
      *w++ = *r;
    if (*r == '\0')
      break;
  }
  g_assert_cmpstr (ours, ==, theirs_lower);
  eh_crypto_sha256 (g_bytes_get_data (der, NULL), g_bytes_get_size (der), hashed);
  g_assert_cmpmem (hashed, 32, from_ours, 32);
  eh_test_remove_tree (dir);
}

static void
test_parse_fingerprint (void)
{
  const char *good[] = {
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "SHA256:00112233445566778899AABBCCDDEEFF00112233445566778899AaBbCcDdEeFf",
    "sha256:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
  };
  const char *bad[] = {
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "md5:00112233445566778899aabbccddeeff",
    "sha256:",
    "sha256:0011",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00",
    "sha256:zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "sha256: 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n",
    "sha256:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:f",
    "sha256:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:",
    "sha256::00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:eeff",
    "sha256:001:122:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
    "sha256:0x112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "sha256:00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff-00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff",
    NULL,
  };
  g_autoptr (GError) error = NULL;
  guint8 raw[32];

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    memset (raw, 0, sizeof raw);
    g_assert_true (eh_crypto_parse_fingerprint (good[i], raw, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (raw[0], ==, 0x00);
    g_assert_cmpuint (raw[10], ==, 0xaa);
    g_assert_cmpuint (raw[31], ==, 0xff);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    /* a refusal leaves the output alone */
    memset (raw, 0x5a, sizeof raw);
    g_assert_false (eh_crypto_parse_fingerprint (bad[i], raw, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    for (guint b = 0; b < sizeof raw; b++)
      g_assert_cmpuint (raw[b], ==, 0x5a);
  }
}

typedef struct {
  gnutls_x509_privkey_t keys[3];
  gnutls_x509_crt_t certs[3]; /* root, intermediate, leaf */
  char *pems[3];
} TestChain;

static void
test_chain_init (TestChain *c)
{
  const char *names[] = { "root", "intermediate", "leaf" };

  for (guint i = 0; i < 3; i++) {
    c->keys[i] = make_key (EH_KEY_ECDSA_P256);
    c->certs[i] = eh_test_make_certificate (c->keys[i], names[i], i > 0 ? c->certs[i - 1] : NULL,
                             i > 0 ? c->keys[i - 1] : NULL, i < 2);
    c->pems[i] = cert_pem (c->certs[i]);
  }
}

static void
test_chain_clear (TestChain *c)
{
  for (guint i = 0; i < 3; i++) {
    gnutls_x509_privkey_deinit (c->keys[i]);
    gnutls_x509_crt_deinit (c->certs[i]);
    g_free (c->pems[i]);
  }
}

static void
assert_same_cert (gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
  g_autofree char *fa = eh_crypto_cert_fingerprint (a, NULL);
  g_autofree char *fb = eh_crypto_cert_fingerprint (b, NULL);

  g_assert_cmpstr (fa, ==, fb);
}

static void
test_chain_in_file_order (void)
{
  TestChain c;
  g_autofree char *forward = NULL;
  g_autofree char *backward = NULL;
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t *chain;
  guint n = 0;

  test_chain_init (&c);
  /* leaf first, with text around the blocks as bundles often have */
  forward = g_strconcat ("leaf:\n", c.pems[2], "intermediate:\n", c.pems[1], c.pems[0], "\n",
                         NULL);
  chain = eh_crypto_chain_from_pem (forward, strlen (forward), &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  for (guint i = 0; i < 3; i++)
    assert_same_cert (chain[i], c.certs[2 - i]);
  eh_crypto_chain_free (chain, n);

  /* no sorting: a wrong order stays wrong for the caller to see */
  backward = g_strconcat (c.pems[0], c.pems[1], c.pems[2], NULL);
  chain = eh_crypto_chain_from_pem (backward, strlen (backward), &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);
  for (guint i = 0; i < 3; i++)
    assert_same_cert (chain[i], c.certs[i]);
  eh_crypto_chain_free (chain, n);
  test_chain_clear (&c);
}

static void
assert_chain_refused (const char *pem, gsize len)
{
  g_autoptr (GError) error = NULL;
  guint n = 42;

  g_assert_null (eh_crypto_chain_from_pem (pem, len, &n, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (n, ==, 0);
}

static void
test_chain_limits (void)
{
  TestChain c;
  g_autoptr (GString) bundle = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *broken = NULL;
  g_autofree char *key_pem = NULL;
  gnutls_x509_crt_t *chain;
  guint n = 0;

  test_chain_init (&c);
  for (guint i = 0; i < 16; i++)
    g_string_append (bundle, c.pems[i % 3]);
  chain = eh_crypto_chain_from_pem (bundle->str, bundle->len, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 16);
  eh_crypto_chain_free (chain, n);
  g_string_append (bundle, c.pems[0]);
  assert_chain_refused (bundle->str, bundle->len);

  assert_chain_refused ("", 0);
  assert_chain_refused ("garbage", 7);
  key_pem = eh_crypto_key_to_pem (c.keys[0], NULL);
  assert_chain_refused (key_pem, strlen (key_pem));
  /* a damaged block among good ones spoils the whole chain */
  broken = g_strdup (c.pems[1]);
  broken[40] = '*';
  {
    g_autofree char *mixed = g_strconcat (c.pems[2], broken, c.pems[0], NULL);

    assert_chain_refused (mixed, strlen (mixed));
  }
  eh_crypto_free_secret (g_steal_pointer (&key_pem));
  test_chain_clear (&c);
}

static void
test_key_matches_cert (gconstpointer data)
{
  EhKeyType type = GPOINTER_TO_INT (data);
  g_auto (gnutls_x509_privkey_t) key = make_key (type);
  g_auto (gnutls_x509_privkey_t) other = make_key (type);
  g_auto (gnutls_x509_privkey_t) ca_key = make_key (EH_KEY_ECDSA_P256);
  g_auto (gnutls_x509_crt_t) ca = eh_test_make_certificate (ca_key, "ca", NULL, NULL, TRUE);
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (key, "match", ca, ca_key, FALSE);
  g_autoptr (GError) error = NULL;

  g_assert_true (eh_crypto_key_matches_cert (key, cert, &error));
  g_assert_no_error (error);
  g_assert_false (eh_crypto_key_matches_cert (other, cert, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_CRYPTO);
  g_clear_error (&error);
  g_assert_false (eh_crypto_key_matches_cert (ca_key, cert, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_CRYPTO);
}

static void
test_sha256_vectors (void)
{
  /* FIPS 180-2 appendix B.1 and the empty string */
  const guint8 abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                           0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                           0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
  const guint8 empty[32] = { 0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                             0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                             0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };
  guint8 out[32];

  eh_crypto_sha256 ("abc", 3, out);
  g_assert_cmpmem (out, 32, abc, 32);
  eh_crypto_sha256 ("", 0, out);
  g_assert_cmpmem (out, 32, empty, 32);
}

static void
test_base64url_vectors (void)
{
  /* RFC 4648 §10; these have no '+' or '/', so only the padding goes */
  const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
  const char *coded[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
  /* the two characters where the url alphabet differs (RFC 4648 §5) */
  const guint8 high[] = { 0xfb, 0xff, 0xbf, 0xfe };

  for (guint i = 0; i < G_N_ELEMENTS (plain); i++) {
    g_autofree char *text = eh_base64url_encode (plain[i], strlen (plain[i]));
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) back = eh_base64url_decode (coded[i], strlen (coded[i]), 64, &error);

    g_assert_cmpstr (text, ==, coded[i]);
    g_assert_no_error (error);
    g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), plain[i],
                     strlen (plain[i]));
  }
  {
    g_autofree char *text = eh_base64url_encode (high, sizeof high);
    g_autoptr (GBytes) back = eh_base64url_decode (text, strlen (text), 64, NULL);

    g_assert_cmpstr (text, ==, "-_-__g");
    g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), high, sizeof high);
  }
}

static void
test_base64url_round_trip (void)
{
  guint8 data[256];

  for (guint i = 0; i < sizeof data; i++)
    data[i] = g_random_int_range (0, 256);
  for (gsize len = 0; len <= sizeof data; len++) {
    g_autofree char *text = eh_base64url_encode (data, len);
    g_autoptr (GBytes) back = eh_base64url_decode (text, strlen (text), strlen (text), NULL);

    g_assert_cmpuint (strlen (text), ==, (len * 4 + 2) / 3);
    g_assert_nonnull (back);
    g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), data, len);
  }
}

static void
assert_base64url_refused (const char *text, gsize len, gsize max_len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = eh_base64url_decode (text, len, max_len, &error);

  if (bytes != NULL)
    g_error ("\"%.*s\" was accepted", (int) len, text);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_base64url_is_strict (void)
{
  const char *bad[] = {
    "Zg==", "Zm8=", "Zg=", /* padding */
    "Zm9v YmFy", "Zm9v\nYmFy", " Zm9v", "Zm9v\t", /* whitespace */
    "Zm9v+mFy", "Zm9v/mFy", "Zm9v.mFy", "Z\xc3\xa9v", /* outside the alphabet */
    "Z", "Zm9vY", "A", "Zm9vA", /* length % 4 == 1, even with zero bits */
    "Zh", "Zm9", "AB", "AC", "AAB", /* non-zero unused bits */
  };
  g_autoptr (GBytes) aa = eh_base64url_decode ("AA", 2, 2, NULL);
  g_autoptr (GBytes) aq = eh_base64url_decode ("AQ", 2, 2, NULL);
  g_autoptr (GBytes) aae = eh_base64url_decode ("AAE", 3, 3, NULL);

  /* the canonical neighbours of the refused ones decode */
  g_assert_cmpmem (g_bytes_get_data (aa, NULL), g_bytes_get_size (aa), "\x00", 1);
  g_assert_cmpmem (g_bytes_get_data (aq, NULL), g_bytes_get_size (aq), "\x01", 1);
  g_assert_cmpmem (g_bytes_get_data (aae, NULL), g_bytes_get_size (aae), "\x00\x01", 2);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_base64url_refused (bad[i], strlen (bad[i]), 64);
  /* a NUL inside the given length is a character like any other */
  assert_base64url_refused ("Zm\0v", 4, 64);
  /* the cap counts input characters, before any decoding */
  assert_base64url_refused ("Zm9vYmFy", 8, 7);
  {
    g_autoptr (GBytes) at_cap = eh_base64url_decode ("Zm9vYmFy", 8, 8, NULL);

    g_assert_nonnull (at_cap);
  }
}

static void
test_free_secret (void)
{
  eh_crypto_free_secret (NULL);
  eh_crypto_free_secret (g_strdup ("not a real secret"));
  eh_crypto_free_secret (g_strdup (""));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/crypto/key-type-names", test_key_type_names);
  g_test_add_data_func ("/eh/crypto/key-round-trip/ecdsa-p256",
                        GINT_TO_POINTER (EH_KEY_ECDSA_P256), test_key_round_trip);
  g_test_add_data_func ("/eh/crypto/key-round-trip/rsa-2048", GINT_TO_POINTER (EH_KEY_RSA_2048),
                        test_key_round_trip);
  g_test_add_data_func ("/eh/crypto/key-round-trip/rsa-3072", GINT_TO_POINTER (EH_KEY_RSA_3072),
                        test_key_round_trip);
  g_test_add_data_func ("/eh/crypto/key-round-trip/ed25519", GINT_TO_POINTER (EH_KEY_ED25519),
                        test_key_round_trip);
  g_test_add_func ("/eh/crypto/key-from-bundle", test_key_from_bundle);
  g_test_add_func ("/eh/crypto/key-from-pem-refusals", test_key_from_pem_refusals);
  g_test_add_func ("/eh/crypto/cert-pem-der-round-trip", test_cert_pem_der_round_trip);
  g_test_add_func ("/eh/crypto/fingerprint-matches-openssl", test_fingerprint_matches_openssl);
  g_test_add_func ("/eh/crypto/parse-fingerprint", test_parse_fingerprint);
  g_test_add_func ("/eh/crypto/chain-in-file-order", test_chain_in_file_order);
  g_test_add_func ("/eh/crypto/chain-limits", test_chain_limits);
  g_test_add_data_func ("/eh/crypto/key-matches-cert/ecdsa-p256",
                        GINT_TO_POINTER (EH_KEY_ECDSA_P256), test_key_matches_cert);
  g_test_add_data_func ("/eh/crypto/key-matches-cert/ed25519", GINT_TO_POINTER (EH_KEY_ED25519),
                        test_key_matches_cert);
  g_test_add_data_func ("/eh/crypto/key-matches-cert/rsa-2048", GINT_TO_POINTER (EH_KEY_RSA_2048),
                        test_key_matches_cert);
  g_test_add_func ("/eh/crypto/sha256-vectors", test_sha256_vectors);
  g_test_add_func ("/eh/crypto/base64url-vectors", test_base64url_vectors);
  g_test_add_func ("/eh/crypto/base64url-round-trip", test_base64url_round_trip);
  g_test_add_func ("/eh/crypto/base64url-is-strict", test_base64url_is_strict);
  g_test_add_func ("/eh/crypto/free-secret", test_free_secret);
  return g_test_run ();
}
