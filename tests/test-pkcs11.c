/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-jws.h"
#include "eh-test-util.h"

/*
 * Private keys from files and from a PKCS#11 token. The token is a private
 * SoftHSM2 one in a temporary directory, made once per run with the same
 * commands eh-crypto.h gives sites; a missing softhsm2 or p11tool fails.
 */

#define SOFTHSM2_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TOKEN_LABEL     "eh-test-ca"
#define KEY_LABEL       "root-key"
/* distinctive digits, so a leak into a message is found by strstr */
#define TOKEN_PIN       "731942"
#define TOKEN_SO_PIN    "582046"
#define WRONG_PIN       "864213"
#define KEY_URI         "pkcs11:token=" TOKEN_LABEL ";object=" KEY_LABEL ";type=private"

static char *test_dir;
static gboolean token_ready;

static char *
test_path (const char *name)
{
  return g_build_filename (test_dir, name, NULL);
}

static void
require_program (const char *name)
{
  g_autofree char *path = g_find_program_in_path (name);

  if (path == NULL)
    g_test_message ("%s not found: install softhsm2 and gnutls-bin (scripts/install-deps.sh test)",
                    name);
  g_assert_nonnull (path);
}

/* runs a tool to completion; its output goes to the test log only when it fails */
static void
run_tool (const char *const *argv, const char *pin)
{
  g_auto (GStrv) env = g_get_environ ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (pin != NULL)
    env = g_environ_setenv (g_steal_pointer (&env), "GNUTLS_PIN", pin, TRUE);
  /* stdin from /dev/null: a tool that would prompt fails instead of hanging */
  g_assert_true (g_spawn_sync (test_dir, (char **) argv, env,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_test_message ("%s failed:\n%s%s", argv[0], out, err);
  g_assert_no_error (error);
}

/* the token with its key, made on first use, and the module registered */
static void
ensure_token (void)
{
  g_autofree char *tokens = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;

  if (token_ready)
    return;
  require_program ("softhsm2-util");
  require_program ("p11tool");
  if (!g_file_test (SOFTHSM2_MODULE, G_FILE_TEST_IS_REGULAR))
    g_test_message ("%s missing: install softhsm2 (scripts/install-deps.sh test)",
                    SOFTHSM2_MODULE);
  g_assert_true (g_file_test (SOFTHSM2_MODULE, G_FILE_TEST_IS_REGULAR));

  tokens = test_path ("tokens");
  conf = test_path ("softhsm2.conf");
  g_assert_cmpint (g_mkdir (tokens, 0700), ==, 0);
  text = g_strdup_printf ("directories.tokendir = %s\nobjectstore.backend = file\n"
                          "log.level = ERROR\nslots.removable = false\n",
                          tokens);
  g_assert_true (g_file_set_contents_full (conf, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  /* before the module loads: SoftHSM2 reads it once, at initialization */
  g_setenv ("SOFTHSM2_CONF", conf, TRUE);

  {
    const char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
                           "--pin", TOKEN_PIN, "--so-pin", TOKEN_SO_PIN, NULL };
    const char *generate[] = { "p11tool", "--provider", SOFTHSM2_MODULE, "--batch", "--login",
                               "--generate-privkey=ecdsa", "--curve=secp256r1",
                               "--label=" KEY_LABEL, "--outfile=root-key.pub",
                               "pkcs11:token=" TOKEN_LABEL, NULL };

    run_tool (init, NULL);
    run_tool (generate, TOKEN_PIN);
  }
  g_assert_true (eh_crypto_pkcs11_add_module (SOFTHSM2_MODULE, &error));
  g_assert_no_error (error);
  token_ready = TRUE;
}

/* an error was set, of @code, and its message carries no PIN */
static void
assert_refused (GError *error, gint code, const char *says)
{
  g_assert_error (error, EH_ERROR, code);
  g_test_message ("refused: %s", error->message);
  g_assert_null (strstr (error->message, TOKEN_PIN));
  g_assert_null (strstr (error->message, WRONG_PIN));
  g_assert_null (strstr (error->message, "PRIVATE KEY"));
  if (says != NULL)
    g_assert_nonnull (strstr (error->message, says));
}

static void
assert_open_refused (const char *location, gint code, const char *says)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_privkey_t) key = eh_crypto_privkey_open (location, &error);

  g_assert_null (key);
  assert_refused (error, code, says);
}

static gnutls_privkey_t
open_key (const char *location)
{
  g_autoptr (GError) error = NULL;
  gnutls_privkey_t key = eh_crypto_privkey_open (location, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

/* a one-hour self-signed CA certificate, signed through @key whatever holds it */
static gnutls_x509_crt_t
make_ca (gnutls_privkey_t key)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_pubkey_t) pubkey = eh_crypto_privkey_get_pubkey (key, &error);
  gnutls_x509_crt_t cert = NULL;
  const char *cn = "ehttpd test root";
  guint8 serial[16];
  time_t now = time (NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < sizeof serial; i++)
    serial[i] = g_random_int_range (0, 256);
  serial[0] = 0x40; /* positive, no leading zero */
  g_assert_cmpint (gnutls_x509_crt_init (&cert), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (cert, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (cert, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (cert, now - 60), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (cert, now + 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (cert, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                  strlen (cn)),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_pubkey (cert, pubkey), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (cert, 1, -1), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_usage (cert, GNUTLS_KEY_KEY_CERT_SIGN |
                                                          GNUTLS_KEY_CRL_SIGN),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_privkey_sign (cert, cert, key, GNUTLS_DIG_SHA256, 0), ==, 0);
  return cert;
}

/* the certificate, read back from its PEM, verifies against itself as the trust anchor */
static void
assert_self_signed_verifies (gnutls_x509_crt_t cert)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pem = eh_crypto_cert_to_pem (cert, &error);
  g_auto (gnutls_x509_crt_t) back = NULL;
  unsigned int status = 1;

  g_assert_no_error (error);
  back = eh_crypto_cert_from_pem (pem, strlen (pem), &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_x509_crt_verify (back, &back, 1, 0, &status), ==, 0);
  g_assert_cmpuint (status, ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_ca_status (back, NULL), ==, 1);
}

/* @key signs data that its public key then verifies */
static void
assert_signs (gnutls_privkey_t key)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_pubkey_t) pubkey = eh_crypto_privkey_get_pubkey (key, &error);
  const gnutls_datum_t data = { (unsigned char *) "to be signed", 12 };
  gnutls_datum_t signature = { NULL, 0 };

  g_assert_no_error (error);
  g_assert_cmpint (gnutls_privkey_sign_data2 (key, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &signature),
                   ==, 0);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0, &data,
                                               &signature),
                   >=, 0);
  gnutls_free (signature.data);
}

/* a private key file, created with @mode */
static char *
write_key_file (const char *name, const char *text, gssize len, mode_t mode)
{
  char *path = test_path (name);

  g_unlink (path);
  g_assert_true (g_file_set_contents_full (path, text, len, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

static void
test_location_is_pkcs11 (void)
{
  g_assert_true (eh_crypto_location_is_pkcs11 (KEY_URI));
  g_assert_true (eh_crypto_location_is_pkcs11 ("PKCS11:token=x"));
  g_assert_true (eh_crypto_location_is_pkcs11 ("pkcs11:"));
  g_assert_false (eh_crypto_location_is_pkcs11 ("/etc/ehttpd/ca.key"));
  g_assert_false (eh_crypto_location_is_pkcs11 ("./pkcs11:token=x"));
  g_assert_false (eh_crypto_location_is_pkcs11 ("pkcs11"));
  g_assert_false (eh_crypto_location_is_pkcs11 (""));
  g_assert_false (eh_crypto_location_is_pkcs11 (NULL));
}

/* registered first, so it runs before any module is loaded */
static void
test_no_module_registered (void)
{
  g_assert_false (token_ready);
  assert_open_refused (KEY_URI ";pin-value=" TOKEN_PIN, EH_ERROR_CRYPTO,
                       "no PKCS#11 module is registered");
}

static void
test_add_module (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *missing = test_path ("no-such-module.so");
  g_autofree char *not_a_module = test_path ("softhsm2.conf");

  ensure_token ();
  /* again: nothing to do */
  g_assert_true (eh_crypto_pkcs11_add_module (SOFTHSM2_MODULE, &error));
  g_assert_no_error (error);
  g_assert_false (eh_crypto_pkcs11_add_module (missing, &error));
  assert_refused (error, EH_ERROR_CRYPTO, "no-such-module.so");
  g_clear_error (&error);
  g_assert_false (eh_crypto_pkcs11_add_module (not_a_module, &error));
  assert_refused (error, EH_ERROR_CRYPTO, "cannot load the PKCS#11 module");
  g_clear_error (&error);
  g_assert_false (eh_crypto_pkcs11_add_module ("", &error));
  assert_refused (error, EH_ERROR_CRYPTO, NULL);
  g_clear_error (&error);
  g_assert_false (eh_crypto_pkcs11_add_module (NULL, &error));
  assert_refused (error, EH_ERROR_CRYPTO, NULL);
}

/* the site's case: a CA certificate signed by a key that never leaves the token */
static void
test_token_key_signs_ca (void)
{
  g_auto (gnutls_privkey_t) key = NULL;
  g_auto (gnutls_x509_crt_t) cert = NULL;
  g_auto (gnutls_pubkey_t) generated = NULL;
  g_autofree char *pub_path = NULL;
  g_autofree char *pub_pem = NULL;
  gsize pub_len = 0;
  guint8 id_token[32], id_cert[32];
  size_t len_token = sizeof id_token, len_cert = sizeof id_cert;

  ensure_token ();
  key = open_key (KEY_URI ";pin-value=" TOKEN_PIN);
  g_assert_cmpint (gnutls_privkey_get_type (key), ==, GNUTLS_PRIVKEY_PKCS11);
  g_assert_cmpint (gnutls_privkey_get_pk_algorithm (key, NULL), ==, GNUTLS_PK_ECDSA);
  cert = make_ca (key);
  assert_self_signed_verifies (cert);

  /* and it is the key p11tool generated, not some other one */
  pub_path = test_path ("root-key.pub");
  g_assert_true (g_file_get_contents (pub_path, &pub_pem, &pub_len, NULL));
  g_assert_cmpint (gnutls_pubkey_init (&generated), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import (generated, &(gnutls_datum_t) { (unsigned char *) pub_pem,
                                                                         pub_len },
                                         GNUTLS_X509_FMT_PEM),
                   ==, 0);
  g_assert_cmpint (gnutls_pubkey_get_key_id (generated, GNUTLS_KEYID_USE_SHA256, id_token,
                                             &len_token),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_id (cert, GNUTLS_KEYID_USE_SHA256, id_cert, &len_cert),
                   ==, 0);
  g_assert_cmpmem (id_token, len_token, id_cert, len_cert);
}

/* a token's EC key reports no size of its own: JWS finds ES256 for it, signs, and the signature verifies */
static gnutls_pubkey_t
token_jws_key (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  g_auto (gnutls_pubkey_t) pubkey = eh_crypto_privkey_get_pubkey (user_data, error);
  g_autoptr (JsonObject) jwk = pubkey != NULL ? eh_jws_pubkey_to_jwk (pubkey, error) : NULL;

  /* as a verifier has it: the public JWK */
  return jwk != NULL ? eh_jws_jwk_to_pubkey (jwk, EH_JWS_ALG_ES256, alg, error) : NULL;
}

static void
test_token_key_signs_jws (void)
{
  g_auto (gnutls_privkey_t) key = NULL;
  g_autoptr (GBytes) payload = g_bytes_new_static ("{\"nonce\":\"n\"}", 13);
  g_autoptr (GBytes) verified = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *jws = NULL;
  EhJwsAlg alg = 0;

  ensure_token ();
  key = open_key (KEY_URI ";pin-value=" TOKEN_PIN);
  g_assert_true (eh_jws_alg_for_key (key, &alg, &error));
  g_assert_no_error (error);
  g_assert_cmpint (alg, ==, EH_JWS_ALG_ES256);
  jws = eh_jws_sign (key, alg, "test+jwt", NULL, payload, &error);
  g_assert_no_error (error);
  g_assert_true (eh_jws_verify (jws, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_JWS_ALG_ES256, "test+jwt", token_jws_key,
                                key, NULL, &verified, &error));
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (verified, payload));
}

/* the RFC 7512 places: pin-value as a query attribute, pin-source from a file */
static void
test_token_pin_forms (void)
{
  g_autofree char *pin_file = NULL;
  g_autofree char *uri = NULL;
  g_auto (gnutls_privkey_t) by_query = NULL;
  g_auto (gnutls_privkey_t) by_source = NULL;
  g_auto (gnutls_privkey_t) upper = NULL;
  g_autofree char *upper_uri = NULL;

  ensure_token ();
  by_query = open_key (KEY_URI "?pin-value=" TOKEN_PIN);
  assert_signs (by_query);
  /* the scheme in any case, as RFC 3986 has it */
  upper_uri = g_strconcat ("PKCS11:", KEY_URI + strlen ("pkcs11:"), ";pin-value=" TOKEN_PIN, NULL);
  upper = open_key (upper_uri);
  assert_signs (upper);
  /* the PIN alone, no newline, as eh-crypto.h tells sites */
  pin_file = write_key_file ("ca.pin", TOKEN_PIN, -1, 0600);
  uri = g_strconcat (KEY_URI "?pin-source=", pin_file, NULL);
  by_source = open_key (uri);
  assert_signs (by_source);
}

static void
test_token_wrong_pin (void)
{
  g_autofree char *pin_file = NULL;
  g_autofree char *uri = NULL;
  g_auto (gnutls_privkey_t) key = NULL;

  ensure_token ();
  assert_open_refused (KEY_URI ";pin-value=" WRONG_PIN, EH_ERROR_PERMISSION_DENIED,
                       "refused the PIN");
  assert_open_refused (KEY_URI "?pin-value=" WRONG_PIN, EH_ERROR_PERMISSION_DENIED,
                       "pin-value=(hidden)");
  pin_file = write_key_file ("wrong.pin", WRONG_PIN, -1, 0600);
  uri = g_strconcat (KEY_URI "?pin-source=", pin_file, NULL);
  assert_open_refused (uri, EH_ERROR_PERMISSION_DENIED, "pin-source");
  g_clear_pointer (&uri, g_free);
  uri = g_strconcat (KEY_URI "?pin-source=", test_dir, "/no-such.pin", NULL);
  assert_open_refused (uri, EH_ERROR_PERMISSION_DENIED, "unreadable");
  /* the wrong tries did not lock the token */
  key = open_key (KEY_URI ";pin-value=" TOKEN_PIN);
  assert_signs (key);
}

/* no PIN in the URI: an error at once, never a prompt */
static void
test_token_missing_pin (void)
{
  ensure_token ();
  assert_open_refused (KEY_URI, EH_ERROR_PERMISSION_DENIED, "add pin-source= or pin-value=");
}

static void
test_token_no_such_object (void)
{
  ensure_token ();
  assert_open_refused ("pkcs11:token=" TOKEN_LABEL ";object=no-such-key;type=private;pin-value="
                       TOKEN_PIN,
                       EH_ERROR_NOT_FOUND, "object=no-such-key");
  assert_open_refused ("pkcs11:token=no-such-token;object=" KEY_LABEL ";type=private;pin-value="
                       TOKEN_PIN,
                       EH_ERROR_NOT_FOUND, "token=no-such-token");
  /* the right label with an id nothing has */
  assert_open_refused ("pkcs11:token=" TOKEN_LABEL ";object=" KEY_LABEL ";id=%01%02;type=private"
                       "?pin-value=" TOKEN_PIN,
                       EH_ERROR_NOT_FOUND, "id=%01%02");
}

static void
test_token_malformed_uri (void)
{
  const char *uris[] = {
    "pkcs11:token=eh%zztest;object=" KEY_LABEL ";pin-value=" TOKEN_PIN,
    "pkcs11:token=" TOKEN_LABEL ";object=" KEY_LABEL ";type=nonsense;pin-value=" TOKEN_PIN,
    "pkcs11:token=" TOKEN_LABEL ";id=%Z1;pin-value=" TOKEN_PIN,
    "pkcs11:token=" TOKEN_LABEL ";object=" KEY_LABEL "?pin-value=" TOKEN_PIN "&pin-value=" WRONG_PIN,
    /* a raw separator inside the PIN leaves a stray piece that must stay hidden too */
    "pkcs11:token=" TOKEN_LABEL ";object=" KEY_LABEL ";pin-value=12;" TOKEN_PIN,
  };

  ensure_token ();
  for (guint i = 0; i < G_N_ELEMENTS (uris); i++) {
    g_autoptr (GError) error = NULL;
    g_auto (gnutls_privkey_t) key = eh_crypto_privkey_open (uris[i], &error);

    g_assert_null (key);
    g_assert_nonnull (error);
    assert_refused (error, error->code, "pkcs11:token=");
    g_assert_true (error->code == EH_ERROR_INVALID_ARGUMENT || error->code == EH_ERROR_NOT_FOUND ||
                   error->code == EH_ERROR_PERMISSION_DENIED);
  }
}

static void
test_file_key (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) generated = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  g_auto (gnutls_privkey_t) key = NULL;
  g_auto (gnutls_x509_crt_t) cert = NULL;
  g_autofree char *path = NULL;
  guint8 id_file[32], id_cert[32];
  size_t len_file = sizeof id_file, len_cert = sizeof id_cert;
  char *pem;

  g_assert_no_error (error);
  pem = eh_crypto_key_to_pem (generated, &error);
  g_assert_no_error (error);
  path = write_key_file ("root.key", pem, -1, 0600);
  eh_crypto_free_secret (pem);

  key = open_key (path);
  g_assert_cmpint (gnutls_privkey_get_type (key), ==, GNUTLS_PRIVKEY_X509);
  cert = make_ca (key);
  assert_self_signed_verifies (cert);
  g_assert_cmpint (gnutls_x509_privkey_get_key_id (generated, GNUTLS_KEYID_USE_SHA256, id_file,
                                                   &len_file),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_id (cert, GNUTLS_KEYID_USE_SHA256, id_cert, &len_cert),
                   ==, 0);
  g_assert_cmpmem (id_file, len_file, id_cert, len_cert);
  /* owner read-only is fine too */
  g_assert_cmpint (g_chmod (path, 0400), ==, 0);
  g_clear_pointer (&key, gnutls_privkey_deinit);
  key = open_key (path);
}

static void
test_file_key_refusals (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) generated = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  g_autofree char *missing = test_path ("no-such.key");
  g_autofree char *fifo = test_path ("fifo.key");
  g_autofree char *world = NULL;
  g_autofree char *group = NULL;
  g_autofree char *writable = NULL;
  g_autofree char *garbage = NULL;
  g_autofree char *binary = NULL;
  g_autofree char *huge = NULL;
  g_autofree char *huge_text = g_strnfill (64 * 1024 + 1, 'A');
  char *pem;

  g_assert_no_error (error);
  pem = eh_crypto_key_to_pem (generated, &error);
  g_assert_no_error (error);
  world = write_key_file ("world.key", pem, -1, 0644);
  group = write_key_file ("group.key", pem, -1, 0640);
  writable = write_key_file ("writable.key", pem, -1, 0620);
  eh_crypto_free_secret (pem);
  garbage = write_key_file ("garbage.key", "-----BEGIN PRIVATE KEY-----\nnot base64\n", -1, 0600);
  binary = write_key_file ("binary.key", "-----BEGIN\0PRIVATE KEY-----\n", 28, 0600);
  huge = write_key_file ("huge.key", huge_text, -1, 0600);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  assert_open_refused (world, EH_ERROR_PERMISSION_DENIED, "mode 0644");
  assert_open_refused (world, EH_ERROR_PERMISSION_DENIED, "world.key");
  assert_open_refused (group, EH_ERROR_PERMISSION_DENIED, "group or others");
  assert_open_refused (writable, EH_ERROR_PERMISSION_DENIED, "mode 0620");
  assert_open_refused (missing, EH_ERROR_NOT_FOUND, "no-such.key");
  /* a directory or a FIFO: refused at once, the FIFO never waited on */
  assert_open_refused (test_dir, EH_ERROR_INVALID_ARGUMENT, "not a regular file");
  assert_open_refused (fifo, EH_ERROR_INVALID_ARGUMENT, "not a regular file");
  assert_open_refused (garbage, EH_ERROR_INVALID_ARGUMENT, "garbage.key");
  assert_open_refused (binary, EH_ERROR_INVALID_ARGUMENT, "binary.key");
  assert_open_refused (huge, EH_ERROR_INVALID_ARGUMENT, "at most");
  assert_open_refused ("", EH_ERROR_INVALID_ARGUMENT, NULL);
  assert_open_refused (NULL, EH_ERROR_INVALID_ARGUMENT, NULL);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  test_dir = g_dir_make_tmp ("eh-pkcs11-XXXXXX", NULL);
  g_assert_nonnull (test_dir);

  g_test_add_func ("/eh/pkcs11/location-is-pkcs11", test_location_is_pkcs11);
  g_test_add_func ("/eh/pkcs11/no-module-registered", test_no_module_registered);
  g_test_add_func ("/eh/pkcs11/add-module", test_add_module);
  g_test_add_func ("/eh/pkcs11/token-key-signs-ca", test_token_key_signs_ca);
  g_test_add_func ("/eh/pkcs11/token-key-signs-jws", test_token_key_signs_jws);
  g_test_add_func ("/eh/pkcs11/token-pin-forms", test_token_pin_forms);
  g_test_add_func ("/eh/pkcs11/token-wrong-pin", test_token_wrong_pin);
  g_test_add_func ("/eh/pkcs11/token-missing-pin", test_token_missing_pin);
  g_test_add_func ("/eh/pkcs11/token-no-such-object", test_token_no_such_object);
  g_test_add_func ("/eh/pkcs11/token-malformed-uri", test_token_malformed_uri);
  g_test_add_func ("/eh/pkcs11/file-key", test_file_key);
  g_test_add_func ("/eh/pkcs11/file-key-refusals", test_file_key_refusals);
  status = g_test_run ();

  eh_test_remove_tree (test_dir);
  g_free (test_dir);
  return status;
}
