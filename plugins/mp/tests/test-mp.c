/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"
#include "eh-test-util.h"

/* the mp's registration checks, nonces, records and site information */

typedef struct {
  gnutls_x509_privkey_t x509;
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  EhJwsAlg alg;
} TestKey;

static void
test_key_init (TestKey *k, EhKeyType type)
{
  g_autoptr (GError) error = NULL;

  k->x509 = eh_crypto_generate_key (type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_privkey_init (&k->key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (k->key, k->x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&k->pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (k->pub, k->key, 0, 0), ==, 0);
  g_assert_true (eh_jws_alg_for_key (k->key, &k->alg, NULL));
}

static void
test_key_clear (TestKey *k)
{
  gnutls_x509_privkey_deinit (k->x509);
  gnutls_privkey_deinit (k->key);
  gnutls_pubkey_deinit (k->pub);
}

static char *
test_proof (TestKey *signer, const char *typ, const char *nonce, const char *host_name,
            const char *hardware_id)
{
  g_autofree char *claims = g_strdup_printf (
      "{\"nonce\":\"%s\",\"host_name\":\"%s\",\"hardware_id\":\"%s\"}", nonce, host_name, hardware_id);
  g_autoptr (GBytes) payload = g_bytes_new (claims, strlen (claims));
  g_autoptr (GError) error = NULL;
  char *proof = eh_jws_sign (signer->key, signer->alg, typ, NULL, payload, &error);

  g_assert_no_error (error);
  return proof;
}

static char *
test_jwk_json (TestKey *k)
{
  g_autoptr (JsonObject) jwk = eh_jws_pubkey_to_jwk (k->pub, NULL);
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), jwk);

  return json_to_string (node, FALSE);
}

static char *
test_body (TestKey *k, TestKey *signer, const char *nonce, const char *host_name,
           const char *hardware_id)
{
  g_autofree char *jwk = test_jwk_json (k);
  g_autofree char *proof = test_proof (signer, EH_MP_PROOF_TYP, nonce, host_name, hardware_id);

  return g_strdup_printf ("{\"jwk\":%s,\"host_name\":\"%s\",\"hardware_id\":\"%s\",\"proof\":\"%s\"}",
                          jwk, host_name, hardware_id, proof);
}

typedef struct {
  EhMpNonces *nonces;
  TestKey p256;
  TestKey ed25519;
  TestKey other;
  char *dir;
  EhStore *store;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  f->nonces = eh_mp_nonces_new (100, 120);
  test_key_init (&f->p256, EH_KEY_ECDSA_P256);
  test_key_init (&f->ed25519, EH_KEY_ED25519);
  test_key_init (&f->other, EH_KEY_ECDSA_P256);
  f->dir = g_dir_make_tmp ("eh-mp-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "state.db", NULL);
  f->store = eh_store_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (eh_mp_records_migrate (f->store, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  eh_mp_nonces_free (f->nonces);
  test_key_clear (&f->p256);
  test_key_clear (&f->ed25519);
  test_key_clear (&f->other);
  g_object_unref (f->store);
  eh_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
fresh_nonce (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  char *nonce = eh_mp_nonces_issue (f->nonces, NULL, &error);

  g_assert_no_error (error);
  return nonce;
}

static EhMpRegistration *
parse (Fixture *f, const char *body, GError **error)
{
  return eh_mp_registration_parse (body, strlen (body), f->nonces, error);
}

static void
assert_refused (Fixture *f, const char *body, gsize len, const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpRegistration) registration = eh_mp_registration_parse (body, len, f->nonces, &error);

  g_assert_null (registration);
  g_assert_nonnull (error);
  g_assert_true (error->code == EH_ERROR_INVALID_ARGUMENT || error->code == EH_ERROR_INVALID_TOKEN);
  if (strstr (error->message, reason) == NULL)
    g_error ("expected \"%s\" in \"%s\"", reason, error->message);
}

static void
test_accepts_both_key_types (Fixture *f, gconstpointer data)
{
  TestKey *keys[] = { &f->p256, &f->ed25519 };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autofree char *nonce = fresh_nonce (f);
    g_autofree char *body = test_body (keys[i], keys[i], nonce, "PC1.example.org", "hw-0001");
    g_autoptr (GError) error = NULL;
    g_autoptr (EhMpRegistration) registration = parse (f, body, &error);
    g_autofree char *thumbprint = eh_jws_pubkey_thumbprint (keys[i]->pub, NULL);

    g_assert_no_error (error);
    g_assert_cmpstr (registration->host_name, ==, "pc1.example.org");
    g_assert_cmpstr (registration->hardware_id, ==, "hw-0001");
    g_assert_cmpstr (registration->thumbprint, ==, thumbprint);
    g_assert_cmpstr (registration->key_type, ==, i == 0 ? "ecdsa-p256" : "ed25519");
    g_assert_cmpuint (eh_mp_nonces_count (f->nonces), ==, 0);
  }
}

static void
test_refuses_replayed_expired_unknown_nonce (Fixture *f, gconstpointer data)
{
  g_autofree char *nonce = fresh_nonce (f);
  g_autofree char *body = test_body (&f->p256, &f->p256, nonce, "pc1", "hw-1");
  g_autofree char *unknown = test_body (&f->p256, &f->p256, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                        "pc1", "hw-1");
  g_autofree char *late_nonce = NULL;
  g_autofree char *late = NULL;
  g_autoptr (EhMpRegistration) first = parse (f, body, NULL);

  g_assert_nonnull (first);
  assert_refused (f, body, strlen (body), "already used");
  assert_refused (f, unknown, strlen (unknown), "unknown");
  late_nonce = fresh_nonce (f);
  late = test_body (&f->p256, &f->p256, late_nonce, "pc1", "hw-1");
  eh_mp_nonces_set_clock_offset (f->nonces, 121);
  assert_refused (f, late, strlen (late), "expired");
  g_assert_cmpuint (eh_mp_nonces_count (f->nonces), ==, 0);
}

static void
test_refuses_bad_proofs (Fixture *f, gconstpointer data)
{
  g_autofree char *nonce = fresh_nonce (f);
  g_autofree char *jwk = test_jwk_json (&f->p256);
  g_autofree char *other = test_body (&f->p256, &f->other, nonce, "pc1", "hw-1");
  g_autofree char *wrong_typ_proof = test_proof (&f->p256, "JWT", nonce, "pc1", "hw-1");
  g_autofree char *wrong_typ = g_strdup_printf (
      "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", jwk, wrong_typ_proof);
  g_autofree char *claims = g_strdup_printf (
      "{\"nonce\":\"%s\",\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\"}", nonce);
  g_autofree char *claims_b64 = eh_base64url_encode (claims, strlen (claims));
  g_autofree char *none = g_strdup_printf (
      "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s.%s.\"}", jwk,
      "eyJhbGciOiJub25lIiwidHlwIjoibXAtcmVnaXN0ZXIrand0In0", claims_b64);
  g_autofree char *other_host = test_body (&f->p256, &f->p256, nonce, "pc1", "hw-1");
  char *at;

  assert_refused (f, other, strlen (other), "does not verify");
  assert_refused (f, wrong_typ, strlen (wrong_typ), "does not verify");
  assert_refused (f, none, strlen (none), "does not verify");
  /* the proof names pc1; the body says pc2 */
  at = strstr (other_host, "\"host_name\":\"pc1\"");
  at[strlen ("\"host_name\":\"pc")] = '2';
  assert_refused (f, other_host, strlen (other_host), "another host name");
  /* none of these consumed the nonce */
  g_assert_cmpuint (eh_mp_nonces_count (f->nonces), ==, 1);
}

static void
test_refuses_wrong_keys (Fixture *f, gconstpointer data)
{
  TestKey rsa, p384;
  g_autofree char *nonce = fresh_nonce (f);
  g_autofree char *rsa_body = NULL;
  g_autofree char *p384_body = NULL;
  g_autofree char *jwk = test_jwk_json (&f->p256);
  g_autofree char *proof = test_proof (&f->p256, EH_MP_PROOF_TYP, nonce, "pc1", "hw-1");
  g_autofree char *x = NULL;
  g_autofree char *body = NULL;
  g_autoptr (JsonObject) jwk_object = eh_jws_pubkey_to_jwk (f->p256.pub, NULL);

  test_key_init (&rsa, EH_KEY_RSA_2048);
  rsa_body = test_body (&rsa, &rsa, nonce, "pc1", "hw-1");
  assert_refused (f, rsa_body, strlen (rsa_body), "ECDSA P-256 or Ed25519");
  test_key_clear (&rsa);
  /* a P-384 key: generated through GnuTLS directly (EhKeyType has no P-384) */
  memset (&p384, 0, sizeof p384);
  g_assert_cmpint (gnutls_x509_privkey_init (&p384.x509), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (p384.x509, GNUTLS_PK_ECDSA,
                                                 GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP384R1), 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_init (&p384.key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (p384.key, p384.x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&p384.pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (p384.pub, p384.key, 0, 0), ==, 0);
  g_assert_true (eh_jws_alg_for_key (p384.key, &p384.alg, NULL));
  p384_body = test_body (&p384, &p384, nonce, "pc1", "hw-1");
  assert_refused (f, p384_body, strlen (p384_body), "not accepted");
  test_key_clear (&p384);
  /* kty and crv lie about the coordinates */
  x = g_strdup (json_object_get_string_member (jwk_object, "x"));
  body = g_strdup_printf ("{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"},"
                          "\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", x, proof);
  assert_refused (f, body, strlen (body), "does not verify");
  g_free (body);
  body = g_strdup_printf ("{\"jwk\":{\"kty\":\"oct\",\"k\":\"%s\"},"
                          "\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", x, proof);
  assert_refused (f, body, strlen (body), "private");
  g_free (body);
  body = g_strdup_printf ("{\"jwk\":\"%s\",\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}",
                          x, proof);
  assert_refused (f, body, strlen (body), "JSON object");
  g_assert_cmpuint (eh_mp_nonces_count (f->nonces), ==, 1);
  (void) jwk;
}

static void
test_refuses_hostile_bodies (Fixture *f, gconstpointer data)
{
  g_autofree char *nonce = fresh_nonce (f);
  g_autofree char *jwk = test_jwk_json (&f->p256);
  g_autofree char *proof = test_proof (&f->p256, EH_MP_PROOF_TYP, nonce, "pc1", "hw-1");
  g_autofree char *long_host = g_strnfill (254, 'a');
  g_autofree char *long_label = g_strnfill (64, 'a');
  g_autofree char *long_hw = g_strnfill (129, 'h');
  g_autofree char *big = g_strnfill (EH_MP_MAX_REGISTER_BYTES + 1, ' ');
  const struct {
    const char *format;
    const char *reason;
  } cases[] = {
    { "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"", "" },
    { "{\"jwk\":%s,\"host_name\":\"pc1\",\"host_name\":\"pc2\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", "" },
    { "{\"jwk\":%s,\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", "\"host_name\" is missing" },
    { "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\",\"admin\":true}", "unknown member" },
    { "{\"jwk\":%s,\"host_name\":7,\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", "must be a string" },
    { "{\"jwk\":%s,\"host_name\":\"pc1/../x\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", "DNS name" },
    { "{\"jwk\":%s,\"host_name\":\"\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}", "DNS name" },
    { "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw 1\",\"proof\":\"%s\"}", "hardware_id" },
    { "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw-\\u00e9\",\"proof\":\"%s\"}", "hardware_id" },
    { "{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"hw-1\",\"proof\":\"%s.x\"}", "does not verify" },
    { "[%s,\"%s\"]", "JSON object" },
  };
  g_autofree char *body = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    g_autofree char *text = g_strdup_printf (cases[i].format, jwk, proof);
#pragma GCC diagnostic pop

    assert_refused (f, text, strlen (text), cases[i].reason);
  }
  body = g_strdup_printf ("{\"jwk\":%s,\"host_name\":\"%s\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}",
                          jwk, long_host, proof);
  assert_refused (f, body, strlen (body), "at most 253");
  g_free (body);
  body = g_strdup_printf ("{\"jwk\":%s,\"host_name\":\"%s.example\",\"hardware_id\":\"hw-1\",\"proof\":\"%s\"}",
                          jwk, long_label, proof);
  assert_refused (f, body, strlen (body), "DNS name");
  g_free (body);
  body = g_strdup_printf ("{\"jwk\":%s,\"host_name\":\"pc1\",\"hardware_id\":\"%s\",\"proof\":\"%s\"}",
                          jwk, long_hw, proof);
  assert_refused (f, body, strlen (body), "hardware_id");
  assert_refused (f, big, strlen (big), "");
  assert_refused (f, "{\"jwk\":\"\xff\xfe\"}", 12, "");
  assert_refused (f, "{\"jwk\":1}\0", 10, "");
  assert_refused (f, "", 0, "");
  /* nothing consumed the nonce */
  g_assert_cmpuint (eh_mp_nonces_count (f->nonces), ==, 1);
}

static void
test_nonce_cap (void)
{
  g_autoptr (EhMpNonces) nonces = eh_mp_nonces_new (16, 60);
  g_autoptr (GError) error = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *later = NULL;

  for (guint i = 0; i < 16; i++)
    g_free (eh_mp_nonces_issue (nonces, NULL, NULL));
  refused = eh_mp_nonces_issue (nonces, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE);
  /* expired ones make room */
  eh_mp_nonces_set_clock_offset (nonces, 61);
  later = eh_mp_nonces_issue (nonces, NULL, NULL);
  g_assert_nonnull (later);
  g_assert_cmpuint (eh_mp_nonces_count (nonces), ==, 1);
}

static EhMpClient *
register_key (Fixture *f, TestKey *k, const char *hardware_id, gboolean auto_approve,
              gboolean *created)
{
  g_autofree char *nonce = fresh_nonce (f);
  g_autofree char *body = test_body (k, k, nonce, "pc1.example", hardware_id);
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpRegistration) registration = parse (f, body, &error);
  EhMpClient *client;

  g_assert_no_error (error);
  client = eh_mp_records_register (f->store, registration, auto_approve, NULL, "127.0.0.1", created, &error);
  g_assert_no_error (error);
  return client;
}

static void
test_records_life_cycle (Fixture *f, gconstpointer data)
{
  gboolean created = FALSE;
  g_autoptr (EhMpClient) first = register_key (f, &f->p256, "hw-1", FALSE, &created);
  g_autoptr (EhMpClient) again = NULL;
  g_autoptr (EhMpClient) changed = NULL;
  g_autoptr (EhMpClient) second = NULL;
  g_autoptr (GPtrArray) all = NULL;
  guint total = 0;
  g_autoptr (GError) error = NULL;

  g_assert_true (created);
  g_assert_true (g_uuid_string_is_valid (first->guid));
  g_assert_cmpint (first->state, ==, EH_MP_CLIENT_PENDING);
  again = register_key (f, &f->p256, "hw-1", TRUE, &created);
  g_assert_false (created);
  g_assert_cmpstr (again->guid, ==, first->guid);
  g_assert_cmpint (again->state, ==, EH_MP_CLIENT_PENDING);

  changed = eh_mp_records_set_state (f->store, first->guid, "approve", "admin uid 0", &error);
  g_assert_no_error (error);
  g_assert_cmpint (changed->state, ==, EH_MP_CLIENT_APPROVED);
  g_assert_cmpstr (changed->approved_by, ==, "admin uid 0");
  g_clear_pointer (&changed, eh_mp_client_free);
  changed = eh_mp_records_set_state (f->store, first->guid, "approve", "admin uid 0", &error);
  g_assert_null (changed);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  changed = eh_mp_records_set_state (f->store, first->guid, "block", "admin uid 0", &error);
  g_assert_no_error (error);
  g_assert_cmpint (changed->state, ==, EH_MP_CLIENT_BLOCKED);
  g_clear_pointer (&changed, eh_mp_client_free);
  g_clear_pointer (&again, eh_mp_client_free);
  again = register_key (f, &f->p256, "hw-1", TRUE, &created);
  g_assert_cmpint (again->state, ==, EH_MP_CLIENT_BLOCKED);

  /* a new key for a blocked hardware id is a new registration, never auto-approved */
  second = register_key (f, &f->ed25519, "hw-1", TRUE, &created);
  g_assert_true (created);
  g_assert_cmpstr (second->guid, !=, first->guid);
  g_assert_cmpint (second->state, ==, EH_MP_CLIENT_PENDING);
  g_assert_cmpuint (second->same_hardware, ==, 1);

  changed = eh_mp_records_set_state (f->store, first->guid, "unblock", "admin uid 0", &error);
  g_assert_no_error (error);
  g_assert_cmpint (changed->state, ==, EH_MP_CLIENT_APPROVED);
  g_clear_pointer (&changed, eh_mp_client_free);

  all = eh_mp_records_list (f->store, NULL, 0, 100, &total, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_cmpuint (total, ==, 2);
  /* pages and states */
  g_clear_pointer (&all, g_ptr_array_unref);
  all = eh_mp_records_list (f->store, NULL, 1, 100, &total, &error);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpuint (total, ==, 2);
  g_clear_pointer (&all, g_ptr_array_unref);
  all = eh_mp_records_list (f->store, "blocked", 0, 100, &total, &error);
  g_assert_cmpuint (all->len, ==, 0);
  g_assert_cmpuint (total, ==, 0);
  g_clear_pointer (&all, g_ptr_array_unref);
  all = eh_mp_records_list (f->store, "x' OR 1=1 --", 0, 100, &total, &error);
  g_assert_null (all);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  changed = eh_mp_records_get (f->store, "0f8fad5b-d9cb-469f-a165-70867728950e", &error);
  g_assert_null (changed);
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
}

static void
test_records_auto_approve (Fixture *f, gconstpointer data)
{
  gboolean created = FALSE;
  g_autoptr (EhMpClient) client = register_key (f, &f->other, "hw-2", TRUE, &created);

  g_assert_true (created);
  g_assert_cmpint (client->state, ==, EH_MP_CLIENT_APPROVED);
  g_assert_cmpstr (client->approved_by, ==, "auto-approve");
}

static void
test_guid_normalize (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *guid = eh_mp_guid_normalize ("0F8FAD5B-D9CB-469F-A165-70867728950E", &error);
  g_autofree char *bad = NULL;

  g_assert_cmpstr (guid, ==, "0f8fad5b-d9cb-469f-a165-70867728950e");
  bad = eh_mp_guid_normalize ("x' OR 1=1 --", &error);
  g_assert_null (bad);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_host_names (void)
{
  g_assert_true (eh_mp_host_name_is_valid ("pc1"));
  g_assert_true (eh_mp_host_name_is_valid ("pc-1.corp.example"));
  g_assert_false (eh_mp_host_name_is_valid ("-pc"));
  g_assert_false (eh_mp_host_name_is_valid ("pc-"));
  g_assert_false (eh_mp_host_name_is_valid ("pc..example"));
  g_assert_false (eh_mp_host_name_is_valid (".pc"));
  g_assert_false (eh_mp_host_name_is_valid ("pc_1"));
  g_assert_false (eh_mp_host_name_is_valid ("pc 1"));
}

/* a trust bundle as the ca publishes it: root fingerprint, site signing x5c */
static void
test_site_info (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  EhMp mp = { 0 };
  g_auto (gnutls_x509_privkey_t) key = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (key, "site signing", NULL, NULL, FALSE);
  g_autoptr (GBytes) der = eh_crypto_cert_to_der (cert, &error);
  g_autofree char *x5c = g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  g_autofree char *pem = eh_crypto_cert_to_pem (cert, &error);
  g_autofree char *bundle = g_strdup_printf (
      "{\"keys\":[{\"kid\":\"a\",\"ehttpd_usage\":\"site-signing\",\"x5c\":[\"%s\"]}],"
      "\"root\":{\"fingerprint\":\"sha256:00ff\"},\"revoked\":[],\"site\":\"PS1\",\"version\":3}",
      x5c);
  g_autofree char *json = NULL;
  const char *const urls[] = { "https://mp.example:8443", NULL };
  JsonObject *info;

  mp.https_urls = g_strdupv ((char **) urls);
  json = eh_mp_site_info_json (&mp, &error);
  g_assert_null (json);
  g_assert_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  g_assert_false (eh_mp_site_take_bundle (&mp, "{\"root\":{}}", 1, &error));
  g_clear_error (&error);
  g_assert_false (eh_mp_site_take_bundle (&mp, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 1, &error));
  g_clear_error (&error);
  g_assert_true (eh_mp_site_take_bundle (&mp, bundle, 3, &error));
  g_assert_no_error (error);
  json = eh_mp_site_info_json (&mp, &error);
  g_assert_no_error (error);
  node = json_from_string (json, &error);
  g_assert_no_error (error);
  info = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (info, "site"), ==, "PS1");
  g_assert_cmpstr (json_object_get_string_member (info, "root_fingerprint"), ==, "sha256:00ff");
  g_assert_cmpstr (json_object_get_string_member (info, "site_signing_certificate"), ==, pem);
  g_assert_cmpstr (json_object_get_string_member (info, "client_communication"), ==, "enhanced-http");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (info, "management_points"), 0),
                   ==, "https://mp.example:8443");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (info, "links"), "crl"),
                   ==, "/ehttpd/ca/crl.pem");
  g_strfreev (mp.https_urls);
  g_free (mp.site_code);
  g_free (mp.root_fingerprint);
  g_free (mp.site_signing_pem);
}

static void
test_modes (void)
{
  EhMpMode mode;
  g_autoptr (GError) error = NULL;

  g_assert_true (eh_mp_mode_from_string ("enhanced-http", &mode, NULL));
  g_assert_cmpint (eh_mp_mode_registration_schemes (mode), ==, EH_SCHEME_HTTPS);
  g_assert_cmpint (eh_mp_mode_public_schemes (mode), ==, EH_SCHEME_BOTH);
  g_assert_true (eh_mp_mode_from_string ("https", &mode, NULL));
  g_assert_cmpint (eh_mp_mode_registration_schemes (mode), ==, EH_SCHEME_HTTPS);
  g_assert_cmpint (eh_mp_mode_public_schemes (mode), ==, EH_SCHEME_HTTPS);
  g_assert_true (eh_mp_mode_from_string ("http", &mode, NULL));
  g_assert_cmpint (eh_mp_mode_registration_schemes (mode), ==, EH_SCHEME_BOTH);
  g_assert_false (eh_mp_mode_from_string ("HTTP", &mode, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG);
}

/* ── client tokens ────────────────────────────────────────────────────── */

/* a token signing key with a self-signed certificate valid from now - 10 for @lifetime s */
static EhMpTokenKey *
test_token_key (gint64 lifetime)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  gnutls_x509_crt_t cert = NULL;
  gnutls_privkey_t key = NULL;
  guint8 serial[16];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  EhMpTokenKey *token_key;

  g_assert_no_error (error);
  for (guint i = 0; i < sizeof serial; i++)
    serial[i] = g_random_int_range (1, 127);
  g_assert_cmpint (gnutls_x509_crt_init (&cert), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (cert, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (cert, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (cert, GNUTLS_OID_X520_COMMON_NAME, 0, "mp", 2), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (cert, now - 10), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (cert, now + lifetime), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (cert, x509), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (cert, cert, x509, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  token_key = eh_mp_token_key_new (key, cert, &error);
  g_assert_no_error (error);
  token_key->state = EH_MP_TOKEN_KEY_ACTIVE;
  return token_key;
}

/* a token with any typ and claims, naming @x5t, signed by @key */
static char *
test_sign (gnutls_privkey_t key, const char *typ, const char *x5t, const char *claims)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (GBytes) payload = g_bytes_new (claims, strlen (claims));
  g_autoptr (GError) error = NULL;
  char *token;

  if (x5t != NULL)
    json_object_set_string_member (header, "x5t#S256", x5t);
  token = eh_jws_sign (key, EH_JWS_ALG_ES256, typ, header, payload, &error);
  g_assert_no_error (error);
  return token;
}

/* the same, freeing @claims */
static char *
test_sign_take (gnutls_privkey_t key, const char *typ, const char *x5t, char *claims)
{
  char *token = test_sign (key, typ, x5t, claims);

  g_free (claims);
  return token;
}

static char *
test_claims (const char *iss, const char *sub, const char *aud, gint64 nbf, gint64 exp,
             const char *jkt)
{
  return g_strdup_printf ("{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":%" G_GINT64_FORMAT
                          ",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT
                          ",\"jti\":\"j\",\"cnf\":{\"jkt\":\"%s\"}}",
                          iss, sub, aud, nbf, nbf, exp, jkt);
}

static void
assert_token_refused (Fixture *f, GPtrArray *keys, const char *token, gint64 now, int code,
                      const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpClient) client = eh_mp_client_token_check (keys, "PS1", f->store, token, now, NULL, &error);

  g_assert_null (client);
  g_assert_error (error, EH_ERROR, code);
  if (strstr (error->message, reason) == NULL)
    g_error ("expected \"%s\" in \"%s\"", reason, error->message);
}

static void
test_client_token_checks (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_token_key_unref);
  g_autoptr (EhMpTokenKey) stranger = test_token_key (86400);
  EhMpTokenKey *key = test_token_key (86400);
  gboolean created = FALSE;
  g_autoptr (EhMpClient) pending = register_key (f, &f->p256, "hw-1", FALSE, &created);
  g_autoptr (EhMpClient) client = register_key (f, &f->ed25519, "hw-2", TRUE, &created);
  g_autoptr (EhMpClient) checked = NULL;
  g_autoptr (EhMpClient) blocked = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *aud = eh_mp_client_token_audience ("PS1");
  gint64 now = g_get_real_time () / G_USEC_PER_SEC, expires_at = 0;
  g_autofree char *token = NULL;
  g_autofree char *good = NULL;
  GString *huge = g_string_new (NULL);
  struct {
    const char *name;
    char *token;
    const char *reason;
  } cases[16];
  guint n = 0;
  char *dot;

  g_ptr_array_add (keys, key);
  g_assert_cmpstr (aud, ==, "ehttpd:PS1:mp");
  token = eh_mp_client_token_issue (key, "PS1", client, NULL, 28800, now, &expires_at, &error);
  g_assert_no_error (error);
  g_assert_cmpint (expires_at, ==, now + 28800);
  checked = eh_mp_client_token_check (keys, "PS1", f->store, token, now, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (checked->guid, ==, client->guid);
  g_clear_pointer (&checked, eh_mp_client_free);

  /* exp and nbf: 60 s of leeway, not more */
  checked = eh_mp_client_token_check (keys, "PS1", f->store, token, now + 28800 + 59, NULL, &error);
  g_assert_no_error (error);
  assert_token_refused (f, keys, token, now + 28800 + 61, EH_ERROR_INVALID_TOKEN, "expired");
  assert_token_refused (f, keys, token, now - 61, EH_ERROR_INVALID_TOKEN, "not valid yet");
  /* another site's MP does not accept it */
  {
    g_autoptr (EhMpClient) other = eh_mp_client_token_check (keys, "PS2", f->store, token, now, NULL, &error);

    g_assert_null (other);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
    g_clear_error (&error);
  }

#define CASE(n_, t_, r_) cases[n++] = (typeof (cases[0])){ n_, t_, r_ }
  good = test_claims ("PS1", client->guid, aud, now, now + 3600, client->thumbprint);
  CASE ("a good one by another key", test_sign (stranger->key, "client+jwt", key->x5t, good), "signature");
  CASE ("another key's own x5t", test_sign (stranger->key, "client+jwt", stranger->x5t, good), "current token signing");
  CASE ("no x5t", test_sign (key->key, "client+jwt", NULL, good), "names no signing");
  CASE ("wrong typ", test_sign (key->key, "JWT", key->x5t, good), "typ");
  CASE ("content typ", test_sign (key->key, "content+jwt", key->x5t, good), "typ");
  CASE ("wrong iss", test_sign_take (key->key, "client+jwt", key->x5t,
                                test_claims ("PS2", client->guid, aud, now, now + 3600, client->thumbprint)),
        "another site");
  CASE ("wrong aud", test_sign_take (key->key, "client+jwt", key->x5t,
                                test_claims ("PS1", client->guid, "ehttpd:PS1:dp", now, now + 3600, client->thumbprint)),
        "not meant");
  CASE ("expired", test_sign_take (key->key, "client+jwt", key->x5t,
                              test_claims ("PS1", client->guid, aud, now - 7200, now - 61, client->thumbprint)),
        "expired");
  CASE ("nbf in the future", test_sign_take (key->key, "client+jwt", key->x5t,
                                        test_claims ("PS1", client->guid, aud, now + 120, now + 3600, client->thumbprint)),
        "not valid yet");
  CASE ("other key bound", test_sign_take (key->key, "client+jwt", key->x5t,
                                      test_claims ("PS1", client->guid, aud, now, now + 3600, pending->thumbprint)),
        "another key");
  CASE ("unknown client", test_sign_take (key->key, "client+jwt", key->x5t,
                                     test_claims ("PS1", "0f8fad5b-d9cb-469f-a165-70867728950e", aud, now, now + 3600,
                                                  client->thumbprint)),
        "no registered client");
  CASE ("exp as a string", test_sign (key->key, "client+jwt", key->x5t,
                                      "{\"iss\":\"PS1\",\"sub\":\"x\",\"aud\":\"ehttpd:PS1:mp\",\"iat\":1,\"nbf\":1,"
                                      "\"exp\":\"9999999999\",\"cnf\":{\"jkt\":\"x\"}}"),
        "exp");
  /* tampered payload: the good token with its claims swapped */
  {
    g_autofree char *other_claims = test_claims ("PS1", pending->guid, aud, now, now + 3600, pending->thumbprint);
    g_autofree char *b64 = eh_base64url_encode (other_claims, strlen (other_claims));
    g_auto (GStrv) parts = g_strsplit (token, ".", -1);

    CASE ("tampered payload", g_strdup_printf ("%s.%s.%s", parts[0], b64, parts[2]), "signature");
    CASE ("alg none", g_strdup_printf ("%s.%s.", "eyJhbGciOiJub25lIiwidHlwIjoiY2xpZW50K2p3dCJ9", b64), "");
  }
  g_string_append (huge, token);
  while (huge->len < 1024 * 1024)
    g_string_append (huge, "AAAAAAAAAAAAAAAA");
  dot = strrchr (huge->str, '.');
  g_assert_nonnull (dot);
  CASE ("a 1 MB token", g_string_free (huge, FALSE), "");
  CASE ("four segments", g_strconcat (token, ".x", NULL), "");
#undef CASE
  for (guint i = 0; i < n; i++) {
    g_test_message ("%s", cases[i].name);
    assert_token_refused (f, keys, cases[i].token, now, EH_ERROR_INVALID_TOKEN, cases[i].reason);
    g_free (cases[i].token);
  }

  /* the caller sees the client's state as it is now */
  blocked = eh_mp_records_set_state (f->store, client->guid, "block", "admin uid 0", &error);
  g_assert_no_error (error);
  g_clear_pointer (&checked, eh_mp_client_free);
  checked = eh_mp_client_token_check (keys, "PS1", f->store, token, now, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (checked->state, ==, EH_MP_CLIENT_BLOCKED);
  g_clear_pointer (&checked, eh_mp_client_free);

  /* a certificate past its end verifies nothing */
  key->not_after = now - 1;
  assert_token_refused (f, keys, token, now, EH_ERROR_INVALID_TOKEN, "current token signing");
  /* no site yet: nothing verifies */
  {
    g_autoptr (EhMpClient) none = eh_mp_client_token_check (keys, NULL, f->store, token, now, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE);
  }
}

static void
test_client_token_lifetime_capped (Fixture *f, gconstpointer data)
{
  g_autoptr (EhMpTokenKey) key = test_token_key (100);
  gboolean created = FALSE;
  g_autoptr (EhMpClient) client = register_key (f, &f->p256, "hw-1", TRUE, &created);
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC, expires_at = 0;
  g_autofree char *token = eh_mp_client_token_issue (key, "PS1", client, NULL, 28800, now, &expires_at, &error);

  g_assert_no_error (error);
  g_assert_cmpint (expires_at, ==, key->not_after);
}

/* ── bulk registration tokens ─────────────────────────────────────────── */

static EhMpClient *
register_bulk (Fixture *f, TestKey *k, const char *hardware_id, const char *bulk, GError **error)
{
  g_autofree char *nonce = fresh_nonce (f);
  g_autofree char *plain = test_body (k, k, nonce, "pc1.example", hardware_id);
  g_autofree char *body = g_strdup_printf ("{\"bulk_token\":\"%s\",%s", bulk, plain + 1);
  g_autoptr (EhMpRegistration) registration = parse (f, body, NULL);
  gboolean created = FALSE;

  g_assert_nonnull (registration);
  g_assert_cmpstr (registration->bulk_token, ==, bulk);
  return eh_mp_records_register (f->store, registration, FALSE, NULL, "127.0.0.1", &created, error);
}

static gint64
count_rows (Fixture *f, const char *sql)
{
  sqlite3_stmt *stmt = eh_store_prepare (f->store, sql, NULL);
  gint64 value;

  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return value;
}

static void
test_bulk_tokens (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *guid = NULL;
  g_autofree char *guid2 = NULL;
  g_autofree char *token = eh_mp_bulk_token_create (f->store, EH_MP_BULK_DEFAULT_SECONDS, 1, "admin uid 0",
                                                    &guid, &error);
  g_autofree char *token2 = NULL;
  g_autofree char *too_long = NULL;
  g_autofree char *too_long_guid = NULL;
  g_autoptr (EhMpClient) first = NULL;
  g_autoptr (EhMpClient) refused = NULL;
  g_autoptr (GPtrArray) list = NULL;
  TestKey extra;

  g_assert_no_error (error);
  g_assert_true (eh_mp_bulk_token_is_well_formed (token));
  g_assert_false (eh_mp_bulk_token_is_well_formed ("ehbulk.a/b"));
  g_assert_false (eh_mp_bulk_token_is_well_formed ("x"));
  too_long = eh_mp_bulk_token_create (f->store, EH_MP_BULK_MAX_SECONDS + 1, 0, "admin", &too_long_guid, &error);
  g_assert_null (too_long);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  first = register_bulk (f, &f->p256, "hw-1", token, &error);
  g_assert_no_error (error);
  g_assert_cmpint (first->state, ==, EH_MP_CLIENT_APPROVED);
  g_assert_true (g_str_has_prefix (first->approved_by, "bulk token "));

  /* exhausted, forged, blocked, expired: refused, nothing stored */
  refused = register_bulk (f, &f->ed25519, "hw-2", token, &error);
  g_assert_null (refused);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_assert_cmpstr (error->message, ==, "bulk_token_exhausted");
  g_clear_error (&error);
  refused = register_bulk (f, &f->ed25519, "hw-2", "ehbulk.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &error);
  g_assert_cmpstr (error->message, ==, "bulk_token_invalid");
  g_clear_error (&error);
  token2 = eh_mp_bulk_token_create (f->store, 3600, 0, "admin uid 0", &guid2, &error);
  g_assert_no_error (error);
  g_assert_true (eh_mp_bulk_token_set_blocked (f->store, guid2, TRUE, &error));
  g_assert_false (eh_mp_bulk_token_set_blocked (f->store, guid2, TRUE, NULL));
  refused = register_bulk (f, &f->ed25519, "hw-2", token2, &error);
  g_assert_cmpstr (error->message, ==, "bulk_token_blocked");
  g_clear_error (&error);
  g_assert_true (eh_mp_bulk_token_set_blocked (f->store, guid2, FALSE, &error));
  g_assert_true (sqlite3_exec (eh_store_get_db (f->store),
                               "UPDATE mp_bulk_tokens SET expires_at = 1 WHERE max_uses = 0", NULL, NULL,
                               NULL) == SQLITE_OK);
  refused = register_bulk (f, &f->ed25519, "hw-2", token2, &error);
  g_assert_cmpstr (error->message, ==, "bulk_token_expired");
  g_clear_error (&error);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_clients"), ==, 1);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_bulk_token_uses"), ==, 1);

  /* only the hash is kept */
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_bulk_tokens WHERE token_hash LIKE 'ehbulk.%'"), ==, 0);
  list = eh_mp_bulk_token_list (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  for (guint i = 0; i < list->len; i++) {
    EhMpBulkToken *t = g_ptr_array_index (list, i);

    if (g_strcmp0 (t->guid, guid) != 0)
      continue;
    g_assert_cmpuint (t->uses, ==, 1);
    g_assert_cmpuint (g_strv_length (t->clients), ==, 1);
    g_assert_cmpstr (t->clients[0], ==, first->guid);
    g_assert_cmpint (t->first_used_at, >, 0);
  }

  /* a pending client that comes back with a valid token is approved by it */
  test_key_init (&extra, EH_KEY_ECDSA_P256);
  {
    g_autofree char *guid3 = NULL;
    g_autofree char *token3 = eh_mp_bulk_token_create (f->store, 3600, 0, "admin uid 0", &guid3, &error);
    gboolean created = FALSE;
    g_autoptr (EhMpClient) before = register_key (f, &extra, "hw-3", FALSE, &created);
    g_autoptr (EhMpClient) after = register_bulk (f, &extra, "hw-3", token3, &error);

    g_assert_cmpint (before->state, ==, EH_MP_CLIENT_PENDING);
    g_assert_no_error (error);
    g_assert_cmpstr (after->guid, ==, before->guid);
    g_assert_cmpint (after->state, ==, EH_MP_CLIENT_APPROVED);
  }
  test_key_clear (&extra);
}

static void
test_policy_deployments (Fixture *f, gconstpointer data)
{
  gboolean created = FALSE;
  g_autoptr (EhMpClient) a = register_key (f, &f->p256, "hw-a", TRUE, &created);
  g_autoptr (EhMpClient) b = register_key (f, &f->ed25519, "hw-b", TRUE, &created);
  g_autoptr (EhMpDeployment) all = NULL;
  g_autoptr (EhMpDeployment) lab = NULL;
  g_autoptr (GPtrArray) for_a = NULL;
  g_autoptr (GPtrArray) for_b = NULL;
  g_autoptr (GPtrArray) members = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *long_name = g_strnfill (65, 'c');
  JsonArray *assignments;
  const struct {
    const char *content, *action, *collection;
  } hostile[] = {
    { "../etc", "install", NULL },     { "PS1000011", "install", NULL }, { "ps100001", "install", NULL },
    { "PS1-0001", "install", NULL },   { "", "install", NULL },          { "PS100001", "rm -rf /", NULL },
    { "PS100001", "INSTALL", NULL },   { "PS100001", "", NULL },         { "PS100001", "install", "" },
    { "PS100001", "install", "a'; DROP TABLE mp_deployments; --" },
    { "PS100001", "install", "lab/../x" }, { "PS100001", "install", long_name },
  };

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++) {
    g_autoptr (EhMpDeployment) refused = eh_mp_deployment_create (f->store, hostile[i].content, hostile[i].action,
                                                                   hostile[i].collection, "admin", &error);
    g_assert_null (refused);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_deployments"), ==, 0);

  all = eh_mp_deployment_create (f->store, "PS100001", "install", NULL, "admin uid 0", &error);
  g_assert_no_error (error);
  lab = eh_mp_deployment_create (f->store, "PS100002", "run", "lab", "admin uid 0", &error);
  g_assert_no_error (error);
  sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, all->body, -1);
  g_assert_cmpstr (all->body_sha256, ==, sha);
  g_assert_nonnull (strstr (all->body, "\"content_id\":\"PS100001\""));
  g_assert_nonnull (strstr (lab->body, "\"collection\":\"lab\""));

  /* membership: only registered clients, no duplicates, removal of what is there */
  g_assert_true (eh_mp_collection_set_member (f->store, "lab", a->guid, TRUE, &error));
  g_assert_false (eh_mp_collection_set_member (f->store, "lab", a->guid, TRUE, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (eh_mp_collection_set_member (f->store, "lab", "0f8fad5b-d9cb-469f-a165-70867728950e", TRUE, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (eh_mp_collection_set_member (f->store, "lab';--", a->guid, TRUE, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (eh_mp_collection_set_member (f->store, "lab", b->guid, FALSE, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  members = eh_mp_collection_list (f->store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (members->len, ==, 1);

  for_a = eh_mp_deployments_for_client (f->store, a->guid, &error);
  g_assert_no_error (error);
  for_b = eh_mp_deployments_for_client (f->store, b->guid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (for_a->len, ==, 2);
  g_assert_cmpuint (for_b->len, ==, 1);
  g_assert_cmpstr (((EhMpDeployment *) g_ptr_array_index (for_b, 0))->id, ==, all->id);

  /* the signed payload lists each assignment with the hash of its body */
  payload = eh_mp_policy_payload ("PS1", a->guid, for_a, 1767225600);
  node = eh_json_parse_strict (payload, strlen (payload), 65536, 8, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "sub"), ==, a->guid);
  assignments = json_object_get_array_member (json_node_get_object (node), "assignments");
  g_assert_cmpuint (json_array_get_length (assignments), ==, 2);
  for (guint i = 0; i < 2; i++) {
    JsonObject *assignment = json_array_get_object_element (assignments, i);
    const EhMpDeployment *deployment = g_ptr_array_index (for_a, i);
    g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, deployment->body, -1);

    g_assert_cmpstr (json_object_get_string_member (assignment, "id"), ==, deployment->id);
    g_assert_cmpstr (json_object_get_string_member (assignment, "sha256"), ==, hash);
  }

  /* removal: member, then deployment; unknown ones are errors */
  g_assert_true (eh_mp_collection_set_member (f->store, "lab", a->guid, FALSE, &error));
  g_clear_pointer (&for_a, g_ptr_array_unref);
  for_a = eh_mp_deployments_for_client (f->store, a->guid, &error);
  g_assert_cmpuint (for_a->len, ==, 1);
  g_assert_true (eh_mp_deployment_remove (f->store, all->id, &error));
  g_assert_false (eh_mp_deployment_remove (f->store, all->id, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&payload, g_free);
  g_clear_pointer (&for_b, g_ptr_array_unref);
  for_b = eh_mp_deployments_for_client (f->store, b->guid, &error);
  payload = eh_mp_policy_payload ("PS1", b->guid, for_b, 1767225600);
  g_assert_nonnull (strstr (payload, "\"assignments\":[]"));
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
assert_located_near (EhMpLocator *locator, const char *content_id, GHashTable *near, const char *const *expected)
{
  g_autoptr (GPtrArray) found = eh_mp_locator_find (locator, content_id, near);

  g_assert_cmpuint (found->len, ==, g_strv_length ((char **) expected));
  for (guint i = 0; i < found->len; i++)
    g_assert_cmpstr (((EhMpDpHolding *) g_ptr_array_index (found, i))->dp, ==, expected[i]);
}

static void
assert_located (EhMpLocator *locator, const char *content_id, const char *const *expected)
{
  assert_located_near (locator, content_id, NULL, expected);
}

static void
test_locate_ordering (void)
{
  g_autoptr (EhMpLocator) locator = eh_mp_locator_new (3);
  g_autoptr (GError) error = NULL;
  g_autofree char *long_name = g_strnfill (254, 'd');
  g_autofree char *long_url = g_strconcat ("https://dp1.example/", long_name, long_name, long_name, long_name,
                                           long_name, long_name, long_name, long_name, long_name, NULL);
  const struct {
    const char *dp, *url, *content, *state, *sha;
  } hostile[] = {
    { "", "https://dp1.example", "PS100001", "installed", SHA_A },
    { "dp1/../x", "https://dp1.example", "PS100001", "installed", SHA_A },
    { "dp 1", "https://dp1.example", "PS100001", "installed", SHA_A },
    { long_name, "https://dp1.example", "PS100001", "installed", SHA_A },
    { "dp1", "http://dp1.example", "PS100001", "installed", SHA_A },
    { "dp1", "https://", "PS100001", "installed", SHA_A },
    { "dp1", "https://dp1.example/\"><script>", "PS100001", "installed", SHA_A },
    { "dp1", "https://dp1.example/?q=1", "PS100001", "installed", SHA_A },
    { "dp1", "https://user@dp1.example", "PS100001", "installed", SHA_A },
    { "dp1", long_url, "PS100001", "installed", SHA_A },
    { "dp1", "https://dp1.example", "../PS1", "installed", SHA_A },
    { "dp1", "https://dp1.example", "PS100001", "Installed", SHA_A },
    { "dp1", "https://dp1.example", "PS100001", "installed", "" },
    { "dp1", "https://dp1.example", "PS100001", "installed", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    { "dp1", "https://dp1.example", "PS100001", "installed", SHA_A "0" },
    { "dp1", "https://dp1.example", "PS100001", "installed", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" },
  };
  const char *none[] = { NULL };

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++) {
    g_assert_false (eh_mp_locator_take (locator, hostile[i].dp, hostile[i].url, hostile[i].content,
                                        hostile[i].state, 1, hostile[i].sha, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  assert_located (locator, "PS100001", none);

  /* most recent report first; names compared without case */
  g_assert_true (eh_mp_locator_take (locator, "dp1.example", "https://dp1.example:8443/", "PS100001", "installed", 5, SHA_A, &error));
  g_assert_true (eh_mp_locator_take (locator, "dp2.example", "https://dp2.example", "PS100001", "installed", 5, SHA_A, &error));
  g_assert_true (eh_mp_locator_take (locator, "DP3.example", "https://dp3.example", "PS100001", "installed", 5, SHA_A, &error));
  {
    const char *expected[] = { "dp3.example", "dp2.example", "dp1.example", NULL };
    g_autoptr (GPtrArray) found = eh_mp_locator_find (locator, "PS100001", NULL);

    assert_located (locator, "PS100001", expected);
    /* the trailing slash goes, so paths join cleanly */
    g_assert_cmpstr (((EhMpDpHolding *) g_ptr_array_index (found, 2))->url, ==, "https://dp1.example:8443");
  }
  /* the client's boundary groups come first, whatever else */
  {
    g_autoptr (GHashTable) near = g_hash_table_new (g_str_hash, g_str_equal);
    const char *expected[] = { "dp3.example", "dp1.example", "dp2.example", NULL };

    g_hash_table_add (near, "dp1.example");
    g_hash_table_add (near, "dp3.example");
    assert_located_near (locator, "PS100001", near, expected);
  }
  /* a failure anywhere puts the DP behind the healthy ones */
  g_assert_true (eh_mp_locator_take (locator, "dp3.example", "", "PS100009", "failed", 0, "", &error));
  {
    const char *expected[] = { "dp2.example", "dp1.example", "dp3.example", NULL };
    assert_located (locator, "PS100001", expected);
  }
  /* a DP that no longer has it installed leaves the list; a new report moves it up */
  g_assert_true (eh_mp_locator_take (locator, "dp2.example", "", "PS100001", "in-progress", 0, "", &error));
  g_assert_true (eh_mp_locator_take (locator, "dp1.example", "https://dp1.example", "PS100001", "installed", 5, SHA_A, &error));
  {
    const char *expected[] = { "dp1.example", "dp3.example", NULL };
    assert_located (locator, "PS100001", expected);
  }
  /* content taken back from a DP leaves its list too */
  g_assert_true (eh_mp_locator_take (locator, "dp3.example", "", "PS100001", "removed", 0, "", &error));
  {
    const char *expected[] = { "dp1.example", NULL };
    assert_located (locator, "PS100001", expected);
  }
  g_assert_true (eh_mp_locator_take (locator, "dp3.example", "https://dp3.example", "PS100001", "installed", 5, SHA_A, &error));
  /* one token names one manifest: DPs with another one are left out */
  g_assert_true (eh_mp_locator_take (locator, "dp4.example", "https://dp4.example", "PS100001", "installed", 5, SHA_B, &error));
  {
    const char *expected[] = { "dp4.example", NULL };
    assert_located (locator, "PS100001", expected);
  }
  /* bounded: contents */
  g_assert_true (eh_mp_locator_take (locator, "dp1.example", "https://dp1.example", "PS100002", "installed", 5, SHA_A, &error));
  g_assert_true (eh_mp_locator_take (locator, "dp1.example", "https://dp1.example", "PS100003", "installed", 5, SHA_A, &error));
  g_assert_false (eh_mp_locator_take (locator, "dp1.example", "https://dp1.example", "PS100004", "installed", 5, SHA_A, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_located (locator, "PS100004", none);
  assert_located (locator, "PS199999", none);
}

static void
test_locate_dp_cap (void)
{
  g_autoptr (EhMpLocator) locator = eh_mp_locator_new (10);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) found = NULL;

  for (guint i = 0; i < EH_MP_MAX_DPS_PER_CONTENT; i++) {
    g_autofree char *name = g_strdup_printf ("dp%u.example", i);
    g_autofree char *url = g_strdup_printf ("https://%s", name);

    g_assert_true (eh_mp_locator_take (locator, name, url, "PS100001", "installed", 1, SHA_A, &error));
  }
  g_assert_false (eh_mp_locator_take (locator, "one-more.example", "https://x.example", "PS100001", "installed", 1,
                                      SHA_A, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* a DP already there may still report */
  g_assert_true (eh_mp_locator_take (locator, "dp0.example", "https://dp0.example", "PS100001", "installed", 2, SHA_A, &error));
  found = eh_mp_locator_find (locator, "PS100001", NULL);
  g_assert_cmpuint (found->len, ==, EH_MP_MAX_DPS_PER_CONTENT);
  g_assert_cmpstr (((EhMpDpHolding *) g_ptr_array_index (found, 0))->dp, ==, "dp0.example");
}

static gnutls_pubkey_t
test_content_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhMpTokenKey *key = user_data;

  g_assert_cmpstr (json_object_get_string_member (header, "x5t#S256"), ==, key->x5t);
  *alg = EH_JWS_ALG_ES256;
  return eh_mp_pubkey_copy (key->pub, error);
}

static JsonObject *
test_content_claims (EhMpTokenKey *key, const char *token)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *node;
  JsonObject *claims;

  g_assert_true (eh_jws_verify (token, 16384, EH_JWS_ALG_ES256, EH_MP_CONTENT_TOKEN_TYP, test_content_lookup, key,
                                NULL, &payload, &error));
  g_assert_no_error (error);
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), 16384, 8, &error);
  g_assert_no_error (error);
  claims = json_object_ref (json_node_get_object (node));
  json_node_unref (node);
  return claims;
}

static void
test_content_token (void)
{
  g_autoptr (EhMpTokenKey) key = test_token_key (86400);
  g_autoptr (GError) error = NULL;
  const char *dps[] = { "dp1.example", "dp2.example", NULL };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC, expires_at = 0;
  g_autofree char *token = eh_mp_content_token_issue (key, "PS1", "guid-1", dps, "PS100001", SHA_A, NULL, 28800,
                                                      now, &expires_at, &error);
  g_autofree char *bound = NULL;
  g_autofree char *none = NULL;
  g_autoptr (GPtrArray) many = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) claims = NULL;
  g_autoptr (JsonObject) bound_claims = NULL;
  JsonArray *aud;

  g_assert_no_error (error);
  g_assert_cmpint (expires_at, ==, now + 28800);
  claims = test_content_claims (key, token);
  g_assert_cmpstr (json_object_get_string_member (claims, "iss"), ==, "PS1");
  g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==, "guid-1");
  aud = json_object_get_array_member (claims, "aud");
  g_assert_cmpuint (json_array_get_length (aud), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (aud, 1), ==, "dp2.example");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (claims, "content"), "PS100001"),
                   ==, SHA_A);
  g_assert_cmpint (json_object_get_int_member (claims, "exp"), ==, now + 28800);
  g_assert_true (json_object_has_member (claims, "jti"));
  g_assert_false (json_object_has_member (claims, "cnf"));

  bound = eh_mp_content_token_issue (key, "PS1", "guid-1", dps, "PS100001", SHA_A, "thumb", 60, now, NULL, &error);
  g_assert_no_error (error);
  bound_claims = test_content_claims (key, bound);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (bound_claims, "cnf"), "jkt"), ==,
                   "thumb");

  /* 1 to 64 DPs, as a DP accepts */
  none = eh_mp_content_token_issue (key, "PS1", "guid-1", (const char *const[]){ NULL }, "PS100001", SHA_A, NULL,
                                    60, now, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  for (guint i = 0; i <= EH_MP_MAX_DPS_PER_CONTENT; i++)
    g_ptr_array_add (many, g_strdup_printf ("dp%u", i));
  g_ptr_array_add (many, NULL);
  g_clear_pointer (&none, g_free);
  none = eh_mp_content_token_issue (key, "PS1", "guid-1", (const char *const *) many->pdata, "PS100001", SHA_A,
                                    NULL, 60, now, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

/* a batch in one transaction: the same key twice is one client, a one-use
 * bulk token approves exactly one, and a refused item leaves the rest */
static void
test_register_batch (Fixture *f, gconstpointer data)
{
  TestKey *keys[] = { &f->p256, &f->p256, &f->ed25519, &f->other };
  const char *hardware[] = { "hw-1", "hw-1", "hw-2", "hw-3" };
  g_autoptr (GError) error = NULL;
  g_autofree char *guid = NULL;
  g_autofree char *bulk = eh_mp_bulk_token_create (f->store, 3600, 1, "admin uid 0", &guid, &error);
  EhMpRegistration *registrations[G_N_ELEMENTS (keys)];
  EhMpRegisterItem items[G_N_ELEMENTS (keys)];

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    g_autofree char *nonce = fresh_nonce (f);
    g_autofree char *plain = test_body (keys[i], keys[i], nonce, "pc1.example", hardware[i]);
    g_autofree char *body = i < 2 ? g_strdup (plain) : g_strdup_printf ("{\"bulk_token\":\"%s\",%s", bulk, plain + 1);

    registrations[i] = parse (f, body, &error);
    g_assert_no_error (error);
    items[i] = (EhMpRegisterItem) { registrations[i], FALSE, NULL, "127.0.0.1" };
  }
  eh_mp_records_register_batch (f->store, items, G_N_ELEMENTS (items));

  g_assert_no_error (items[0].error);
  g_assert_no_error (items[1].error);
  g_assert_true (items[0].created);
  g_assert_false (items[1].created);
  g_assert_cmpstr (items[0].client->guid, ==, items[1].client->guid);
  g_assert_cmpint (items[0].client->state, ==, EH_MP_CLIENT_PENDING);
  g_assert_no_error (items[2].error);
  g_assert_cmpint (items[2].client->state, ==, EH_MP_CLIENT_APPROVED);
  g_assert_null (items[3].client);
  g_assert_error (items[3].error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_assert_cmpstr (items[3].error->message, ==, "bulk_token_exhausted");
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_clients"), ==, 2);
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_bulk_token_uses"), ==, 1);
  for (guint i = 0; i < G_N_ELEMENTS (items); i++) {
    eh_mp_client_free (items[i].client);
    g_clear_error (&items[i].error);
    eh_mp_registration_free (registrations[i]);
  }
}

/* boundary groups: checked on the way in, stored, matched by subnet */
static void
test_boundaries (Fixture *f, gconstpointer data)
{
  EhMp mp = { 0 };
  g_autoptr (GError) error = NULL;
  const char *lab_subnets[] = { "10.1.0.0/16", "fd00:1::/64", NULL };
  const char *lab_dps[] = { "DP1.example", "dp2.example", NULL };
  const char *hq_subnets[] = { "10.1.2.0/24", NULL };
  const char *hq_dps[] = { "dp3.example", NULL };
  const struct {
    const char *name, *subnet, *dp;
  } hostile[] = {
    { "", "10.0.0.0/8", "dp1" },
    { "a b", "10.0.0.0/8", "dp1" },
    { "x'; DROP TABLE mp_boundaries; --", "10.0.0.0/8", "dp1" },
    { "ok", "10.0.0.0", "dp1" },
    { "ok", "10.0.0.0/33", "dp1" },
    { "ok", "not-an-address/8", "dp1" },
    { "ok", "10.0.0.0/8,10.1.0.0/16", "dp1" },
    { "ok", "10.0.0.0/8", "" },
    { "ok", "10.0.0.0/8", "dp1,dp2" },
    { "ok", "10.0.0.0/8", "dp1/../x" },
  };
  GHashTable *near;

  mp.store = f->store;
  g_assert_true (eh_mp_records_migrate (f->store, &error));
  g_assert_true (eh_mp_boundaries_start (&mp, &error));
  g_assert_null (eh_mp_boundary_dps_near (&mp, "10.1.2.3"));
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++) {
    const char *subnets[] = { hostile[i].subnet, NULL };
    const char *dps[] = { hostile[i].dp, NULL };

    g_assert_false (eh_mp_boundary_add (&mp, hostile[i].name, subnets, dps, "test", &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  g_assert_cmpint (count_rows (f, "SELECT count(*) FROM mp_boundaries"), ==, 0);

  g_assert_true (eh_mp_boundary_add (&mp, "lab", lab_subnets, lab_dps, "test", &error));
  g_assert_no_error (error);
  g_assert_true (eh_mp_boundary_add (&mp, "hq", hq_subnets, hq_dps, "test", &error));
  g_assert_false (eh_mp_boundary_add (&mp, "hq", hq_subnets, hq_dps, "test", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* an address in both groups is near all their DPs; names in lower case */
  near = eh_mp_boundary_dps_near (&mp, "10.1.2.3");
  g_assert_cmpuint (g_hash_table_size (near), ==, 3);
  g_assert_true (g_hash_table_contains (near, "dp1.example"));
  g_assert_true (g_hash_table_contains (near, "dp3.example"));
  g_hash_table_unref (near);
  /* the same client through a dual-stack listener */
  near = eh_mp_boundary_dps_near (&mp, "::ffff:10.1.2.3");
  g_assert_nonnull (near);
  g_assert_cmpuint (g_hash_table_size (near), ==, 3);
  g_hash_table_unref (near);
  g_assert_null (eh_mp_boundary_dps_near (&mp, "::ffff:192.168.1.1"));
  near = eh_mp_boundary_dps_near (&mp, "fd00:1::5");
  g_assert_cmpuint (g_hash_table_size (near), ==, 2);
  g_hash_table_unref (near);
  g_assert_null (eh_mp_boundary_dps_near (&mp, "192.168.1.1"));
  g_assert_null (eh_mp_boundary_dps_near (&mp, "not an address"));
  g_assert_null (eh_mp_boundary_dps_near (&mp, NULL));

  /* a restart reads them back; removal */
  eh_mp_boundaries_stop (&mp);
  g_assert_true (eh_mp_boundaries_start (&mp, &error));
  g_assert_cmpuint (mp.boundaries->len, ==, 2);
  g_assert_true (eh_mp_boundary_remove (&mp, "lab", &error));
  g_assert_false (eh_mp_boundary_remove (&mp, "lab", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (eh_mp_boundary_remove (&mp, "../x", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  near = eh_mp_boundary_dps_near (&mp, "10.1.9.9");
  g_assert_null (near);
  eh_mp_boundaries_stop (&mp);
}

/* self-timed proofs: once each, within the window, remembered as long as
 * they could be replayed, and bounded */
static void
test_replay_guard (void)
{
  g_autoptr (EhMpReplay) replay = eh_mp_replay_new (60, 4);
  g_autoptr (GError) error = NULL;
  gint64 now = eh_mp_replay_now (replay);

  g_assert_true (eh_mp_replay_accept (replay, "jti-aaaaaaaaaaaaaaaa", now, &error));
  g_assert_no_error (error);
  g_assert_false (eh_mp_replay_accept (replay, "jti-aaaaaaaaaaaaaaaa", now, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  g_clear_error (&error);
  /* outside the window either way */
  g_assert_false (eh_mp_replay_accept (replay, "jti-bbbbbbbbbbbbbbbb", now - 61, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_TIMEOUT);
  g_clear_error (&error);
  g_assert_false (eh_mp_replay_accept (replay, "jti-bbbbbbbbbbbbbbbb", now + 61, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_TIMEOUT);
  g_clear_error (&error);
  /* a proof made for the edge of the window is still refused as a replay
   * at the last second it could be accepted */
  g_assert_true (eh_mp_replay_accept (replay, "jti-cccccccccccccccc", now + 60, &error));
  eh_mp_replay_set_clock_offset (replay, 120);
  g_assert_false (eh_mp_replay_accept (replay, "jti-cccccccccccccccc", now + 60, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  g_clear_error (&error);
  /* bounded: past the cap, busy (a nonce still works) */
  g_assert_true (eh_mp_replay_accept (replay, "jti-dddddddddddddddd", now + 120, &error));
  g_assert_true (eh_mp_replay_accept (replay, "jti-eeeeeeeeeeeeeeee", now + 120, &error));
  g_assert_false (eh_mp_replay_accept (replay, "jti-ffffffffffffffff", now + 120, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  /* old generations go, and make room */
  eh_mp_replay_set_clock_offset (replay, 1000);
  g_assert_true (eh_mp_replay_accept (replay, "jti-ffffffffffffffff", now + 1000, &error));
  g_assert_cmpuint (eh_mp_replay_count (replay), ==, 1);
}

/* the kid read before any check: hostile headers give an error, never a crash or a guess */
static void
test_proof_peek_kid (void)
{
  const char *hostile[] = {
    "{\"alg\":\"ES256\"}",                 /* no kid */
    "{\"kid\":7}",                           /* not a string */
    "[\"kid\"]",                             /* not an object */
    "{\"kid\":\"a\",\"kid\":\"b\"}",   /* duplicated */
    "{\"kid\":\"a\"",                      /* cut short */
    "\xff\xfe{}",                           /* not UTF-8 */
  };
  g_autofree char *big_json = g_strdup_printf ("{\"kid\":\"%0*d\"}", EH_MP_PROOF_HEADER_MAX, 0);
  g_autofree char *big = eh_base64url_encode (big_json, strlen (big_json));
  g_autofree char *big_proof = g_strconcat (big, ".e30.sig", NULL);
  g_autofree char *good = eh_base64url_encode ("{\"kid\":\"abc\"}", 13);
  g_autofree char *good_proof = g_strconcat (good, ".e30.sig", NULL);
  g_autofree char *kid = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++) {
    g_autofree char *header = eh_base64url_encode (hostile[i], strlen (hostile[i]));
    g_autofree char *proof = g_strconcat (header, ".e30.sig", NULL);
    g_autoptr (GError) error = NULL;

    g_assert_null (eh_mp_proof_peek_kid (proof, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  }
  for (guint i = 0; i < 4; i++) {
    const char *bad[] = { "", "no-dot-at-all", "!!!.e30.sig", big_proof };
    g_autoptr (GError) error = NULL;

    g_assert_null (eh_mp_proof_peek_kid (bad[i], &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  }
  kid = eh_mp_proof_peek_kid (good_proof, NULL);
  g_assert_cmpstr (kid, ==, "abc");
}

#define ADD(name, func) \
  g_test_add ("/eh/mp/" name, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("register/accepts-p256-and-ed25519", test_accepts_both_key_types);
  ADD ("register/refuses-nonces", test_refuses_replayed_expired_unknown_nonce);
  ADD ("register/refuses-bad-proofs", test_refuses_bad_proofs);
  ADD ("register/refuses-wrong-keys", test_refuses_wrong_keys);
  ADD ("register/refuses-hostile-bodies", test_refuses_hostile_bodies);
  ADD ("records/life-cycle", test_records_life_cycle);
  ADD ("records/auto-approve", test_records_auto_approve);
  ADD ("token/checks", test_client_token_checks);
  ADD ("token/lifetime-capped", test_client_token_lifetime_capped);
  ADD ("bulk/life-cycle", test_bulk_tokens);
  ADD ("records/register-batch", test_register_batch);
  ADD ("boundaries", test_boundaries);
  ADD ("policy/deployments", test_policy_deployments);
  g_test_add_func ("/eh/mp/locate/ordering", test_locate_ordering);
  g_test_add_func ("/eh/mp/locate/dp-cap", test_locate_dp_cap);
  g_test_add_func ("/eh/mp/token/content", test_content_token);
  g_test_add_func ("/eh/mp/nonces/cap", test_nonce_cap);
  g_test_add_func ("/eh/mp/replay-guard", test_replay_guard);
  g_test_add_func ("/eh/mp/proof-peek-kid", test_proof_peek_kid);
  g_test_add_func ("/eh/mp/guid-normalize", test_guid_normalize);
  g_test_add_func ("/eh/mp/host-names", test_host_names);
  g_test_add_func ("/eh/mp/site-info", test_site_info);
  g_test_add_func ("/eh/mp/modes", test_modes);
  return g_test_run ();
}
