/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-jws.h"
#include "eh-test-util.h"

#define TYP     "client+jwt"
#define ALL_ALG                                                                      \
  (EH_JWS_ALG_ES256 | EH_JWS_ALG_ES384 | EH_JWS_ALG_RS256 | EH_JWS_ALG_PS256 |       \
   EH_JWS_ALG_EDDSA)

/* a signing key, its public half, and what the test's "trust bundle" says about it */
typedef struct {
  gnutls_x509_privkey_t x509;
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  EhJwsAlg alg;        /* what the token is signed with */
  EhJwsAlg lookup_alg; /* what the lookup claims for the key */
  gnutls_pubkey_t lookup_pub;
} TestKey;

typedef enum {
  TEST_P256,
  TEST_P384,
  TEST_RSA2048,
  TEST_RSA3072,
  TEST_RSA1024,
  TEST_ED25519,
} TestKeyKind;

static gnutls_x509_privkey_t
generate (TestKeyKind kind)
{
  const struct {
    gnutls_pk_algorithm_t pk;
    unsigned int bits;
  } kinds[] = {
    [TEST_P256] = { GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1) },
    [TEST_P384] = { GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP384R1) },
    [TEST_RSA2048] = { GNUTLS_PK_RSA, 2048 },
    [TEST_RSA3072] = { GNUTLS_PK_RSA, 3072 },
    [TEST_RSA1024] = { GNUTLS_PK_RSA, 1024 },
    [TEST_ED25519] = { GNUTLS_PK_EDDSA_ED25519, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519) },
  };
  gnutls_x509_privkey_t x509 = NULL;

  g_assert_cmpint (gnutls_x509_privkey_init (&x509), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate2 (x509, kinds[kind].pk, kinds[kind].bits, 0, NULL,
                                                  0),
                   ==, 0);
  return x509;
}

/* @alg 0: the one eh_jws_alg_for_key() picks */
static void
test_key_init (TestKey *k, TestKeyKind kind, EhJwsAlg alg)
{
  memset (k, 0, sizeof *k);
  k->x509 = generate (kind);
  g_assert_cmpint (gnutls_privkey_init (&k->key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (k->key, k->x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&k->pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (k->pub, k->key, 0, 0), ==, 0);
  if (alg == 0)
    g_assert_true (eh_jws_alg_for_key (k->key, &alg, NULL));
  k->alg = k->lookup_alg = alg;
  k->lookup_pub = k->pub;
}

static void
test_key_clear (TestKey *k)
{
  gnutls_x509_privkey_deinit (k->x509);
  gnutls_privkey_deinit (k->key);
  gnutls_pubkey_deinit (k->pub);
}

static gnutls_pubkey_t
copy_pubkey (gnutls_pubkey_t pub)
{
  gnutls_pubkey_t copy = NULL;
  gnutls_datum_t der = { NULL, 0 };

  g_assert_cmpint (gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_DER, &der), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&copy), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import (copy, &der, GNUTLS_X509_FMT_DER), ==, 0);
  gnutls_free (der.data);
  return copy;
}

/* the test's trust bundle: one key, one alg */
static gnutls_pubkey_t
lookup_one (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  TestKey *k = user_data;

  *alg = k->lookup_alg;
  return copy_pubkey (k->lookup_pub);
}

static gnutls_pubkey_t
lookup_not_found (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no key with that kid");
  return NULL;
}

static gnutls_pubkey_t
lookup_silent_null (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  return NULL;
}

static char *
sign_full (TestKey *k, const char *typ, JsonObject *extra, const char *payload)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (payload, strlen (payload));
  g_autoptr (GError) error = NULL;
  char *token = eh_jws_sign (k->key, k->alg, typ, extra, bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (token);
  return token;
}

static char *
sign (TestKey *k, const char *payload)
{
  return sign_full (k, TYP, NULL, payload);
}

static gboolean
verify_with (TestKey *k, const char *token, guint allowed, JsonObject **header, GBytes **payload,
             GError **error)
{
  return eh_jws_verify (token, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, allowed, TYP, lookup_one, k, header,
                        payload, error);
}

static void
assert_accepted (TestKey *k, const char *token, const char *payload)
{
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (verify_with (k, token, ALL_ALG, NULL, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), payload, strlen (payload));
}

static void
assert_refused_full (TestKey *k, const char *token, gsize max_bytes, guint allowed,
                     const char *reason)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonObject) header = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_jws_verify (token, max_bytes, allowed, TYP, lookup_one, k, &header, &payload,
                                 &error));
  g_assert_null (payload);
  g_assert_null (header);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  if (strstr (error->message, reason) == NULL)
    g_error ("wanted \"%s\", got \"%s\"", reason, error->message);
}

static void
assert_refused (TestKey *k, const char *token, const char *reason)
{
  assert_refused_full (k, token, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, ALL_ALG, reason);
}

static char *
b64 (const char *text)
{
  return eh_base64url_encode (text, strlen (text));
}

/* a token from parts: a header's JSON text, a payload and a raw signature */
static char *
craft (const char *header, const char *payload, const void *sig, gsize sig_len)
{
  g_autofree char *h = b64 (header);
  g_autofree char *p = b64 (payload);
  g_autofree char *s = eh_base64url_encode (sig, sig_len);

  return g_strdup_printf ("%s.%s.%s", h, p, s);
}

static GBytes *
segment (const char *token, guint index)
{
  g_auto (GStrv) parts = g_strsplit (token, ".", -1);

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  return eh_base64url_decode (parts[index], strlen (parts[index]), strlen (parts[index]), NULL);
}

static char *
with_signature (const char *token, const guint8 *sig, gsize sig_len)
{
  g_autofree char *s = eh_base64url_encode (sig, sig_len);
  const char *dot = strrchr (token, '.');

  return g_strdup_printf ("%.*s.%s", (int) (dot - token), token, s);
}

typedef struct {
  TestKeyKind kind;
  EhJwsAlg alg;
  gsize sig_len;
} RoundTrip;

static void
test_round_trip (gconstpointer data)
{
  const RoundTrip *rt = data;
  TestKey k;
  g_autoptr (JsonObject) extra = json_object_new ();
  g_autoptr (JsonObject) header = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) header_json = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *empty = NULL;

  test_key_init (&k, rt->kind, rt->alg);
  json_object_set_string_member (extra, "kid", "k1");
  json_object_set_string_member (extra, "x5t#S256", "abc");
  json_object_set_string_member (extra, "alg", "none"); /* ignored: the call sets alg */
  token = sign_full (&k, TYP, extra, "{\"sub\":\"c1\"}");
  g_assert_true (verify_with (&k, token, rt->alg, &header, &payload, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                   "{\"sub\":\"c1\"}", 12);
  g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==,
                   eh_jws_alg_to_string (rt->alg));
  g_assert_cmpstr (json_object_get_string_member (header, "typ"), ==, TYP);
  g_assert_cmpstr (json_object_get_string_member (header, "kid"), ==, "k1");
  /* compact JSON, alg first */
  header_json = segment (token, 0);
  g_assert_true (g_str_has_prefix (g_bytes_get_data (header_json, NULL), "{\"alg\":\""));
  g_assert_null (memchr (g_bytes_get_data (header_json, NULL), ' ',
                         g_bytes_get_size (header_json)));
  sig = segment (token, 2);
  g_assert_cmpuint (g_bytes_get_size (sig), ==, rt->sig_len);
  /* an empty payload is still a payload */
  empty = sign (&k, "");
  assert_accepted (&k, empty, "");
  test_key_clear (&k);
}

static void
test_alg_for_key (void)
{
  const struct {
    TestKeyKind kind;
    EhJwsAlg alg;
  } cases[] = {
    { TEST_P256, EH_JWS_ALG_ES256 },
    { TEST_P384, EH_JWS_ALG_ES384 },
    { TEST_RSA2048, EH_JWS_ALG_RS256 },
    { TEST_ED25519, EH_JWS_ALG_EDDSA },
  };
  g_autoptr (GError) error = NULL;
  TestKey k;
  EhJwsAlg alg = 0;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    test_key_init (&k, cases[i].kind, cases[i].alg);
    g_assert_true (eh_jws_alg_for_key (k.key, &alg, &error));
    g_assert_no_error (error);
    g_assert_cmpint (alg, ==, cases[i].alg);
    test_key_clear (&k);
  }
  /* RFC 7518: RSA keys below 2048 bits are not used */
  test_key_init (&k, TEST_RSA1024, EH_JWS_ALG_RS256);
  g_assert_false (eh_jws_alg_for_key (k.key, &alg, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_CRYPTO);
  test_key_clear (&k);
  g_assert_cmpstr (eh_jws_alg_to_string (EH_JWS_ALG_EDDSA), ==, "EdDSA");
  g_assert_null (eh_jws_alg_to_string (0));
}

static void
assert_sign_refused (TestKey *k, EhJwsAlg alg, JsonObject *extra)
{
  g_autoptr (GBytes) payload = g_bytes_new_static ("{}", 2);
  g_autoptr (GError) error = NULL;
  g_autofree char *token = eh_jws_sign (k->key, alg, TYP, extra, payload, &error);

  g_assert_null (token);
  g_assert_nonnull (error);
  g_assert_true (error->domain == EH_ERROR);
}

static void
test_sign_refuses_misfits (void)
{
  TestKey p256, rsa, ed, small;
  g_autoptr (JsonObject) bad_number = json_object_new ();

  test_key_init (&p256, TEST_P256, 0);
  test_key_init (&rsa, TEST_RSA2048, 0);
  test_key_init (&ed, TEST_ED25519, 0);
  test_key_init (&small, TEST_RSA1024, EH_JWS_ALG_RS256);
  assert_sign_refused (&p256, EH_JWS_ALG_ES384, NULL);
  assert_sign_refused (&p256, EH_JWS_ALG_RS256, NULL);
  assert_sign_refused (&p256, EH_JWS_ALG_EDDSA, NULL);
  assert_sign_refused (&rsa, EH_JWS_ALG_ES256, NULL);
  assert_sign_refused (&rsa, EH_JWS_ALG_EDDSA, NULL);
  assert_sign_refused (&ed, EH_JWS_ALG_PS256, NULL);
  assert_sign_refused (&ed, EH_JWS_ALG_ES256, NULL);
  assert_sign_refused (&small, EH_JWS_ALG_RS256, NULL);
  assert_sign_refused (&small, EH_JWS_ALG_PS256, NULL);
  assert_sign_refused (&p256, 0, NULL);
  /* json-glib writes 1e20 as "1e+20.0": never put out a header we would refuse */
  json_object_set_double_member (bad_number, "n", 1e20);
  assert_sign_refused (&p256, EH_JWS_ALG_ES256, bad_number);
  test_key_clear (&p256);
  test_key_clear (&rsa);
  test_key_clear (&ed);
  test_key_clear (&small);
}

/* the two-step signer (header once, payloads after) makes the same tokens
 * as eh_jws_sign, and refuses what it refuses */
static void
test_sign_encoded (void)
{
  TestKey p256, ed;
  g_autoptr (JsonObject) extra = json_object_new ();
  g_autoptr (JsonObject) bad_number = json_object_new ();
  g_autoptr (GBytes) payload = g_bytes_new_static ("{\"sub\":\"c1\"}", 12);
  g_autoptr (GError) error = NULL;
  g_autofree char *header = NULL;
  g_autofree char *once = NULL;
  g_autofree char *twice = NULL;
  g_autofree char *whole = NULL;

  test_key_init (&p256, TEST_P256, EH_JWS_ALG_ES256);
  test_key_init (&ed, TEST_ED25519, EH_JWS_ALG_EDDSA);
  json_object_set_string_member (extra, "x5t#S256", "abc");
  header = eh_jws_header_encode (EH_JWS_ALG_ES256, TYP, extra, &error);
  g_assert_no_error (error);
  once = eh_jws_sign_encoded (p256.key, EH_JWS_ALG_ES256, header, "{\"sub\":\"c1\"}", 12, &error);
  g_assert_no_error (error);
  twice = eh_jws_sign_encoded (p256.key, EH_JWS_ALG_ES256, header, "{\"sub\":\"c1\"}", 12, &error);
  g_assert_no_error (error);
  whole = eh_jws_sign (p256.key, EH_JWS_ALG_ES256, TYP, extra, payload, &error);
  g_assert_no_error (error);
  assert_accepted (&p256, once, "{\"sub\":\"c1\"}");
  assert_accepted (&p256, twice, "{\"sub\":\"c1\"}");
  /* header and payload segments the same as the one-step signer's */
  g_assert_cmpint (strrchr (once, '.') - once, ==, strrchr (whole, '.') - whole);
  g_assert_cmpint (strncmp (once, whole, strrchr (whole, '.') - whole), ==, 0);
  /* a key that does not fit, an unknown algorithm, a header we would refuse */
  g_clear_pointer (&once, g_free);
  once = eh_jws_sign_encoded (ed.key, EH_JWS_ALG_ES256, header, "{}", 2, &error);
  g_assert_null (once);
  g_assert_error (error, EH_ERROR, EH_ERROR_CRYPTO);
  g_clear_error (&error);
  g_assert_null (eh_jws_sign_encoded (p256.key, 0, header, "{}", 2, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (eh_jws_header_encode (0, TYP, NULL, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  json_object_set_double_member (bad_number, "n", 1e20);
  g_assert_null (eh_jws_header_encode (EH_JWS_ALG_ES256, TYP, bad_number, &error));
  g_assert_nonnull (error);
  test_key_clear (&p256);
  test_key_clear (&ed);
}

/* 1 in 256 ECDSA values has a leading zero byte: the fixed width must hold it */
static void
test_ecdsa_short_r_and_s (void)
{
  TestKey k;
  gboolean short_r = FALSE, short_s = FALSE;

  test_key_init (&k, TEST_P256, EH_JWS_ALG_ES256);
  for (guint i = 0; i < 6000 && !(short_r && short_s); i++) {
    g_autofree char *token = sign (&k, "{\"n\":1}");
    g_autoptr (GBytes) sig = segment (token, 2);
    const guint8 *raw = g_bytes_get_data (sig, NULL);

    g_assert_cmpuint (g_bytes_get_size (sig), ==, 64);
    if (raw[0] != 0 && raw[32] != 0)
      continue;
    short_r |= raw[0] == 0;
    short_s |= raw[32] == 0;
    assert_accepted (&k, token, "{\"n\":1}");
  }
  g_assert_true (short_r);
  g_assert_true (short_s);
  test_key_clear (&k);
}

static void
test_typ_forms (void)
{
  TestKey k;
  const char *accepted[] = { TYP, ("application/" TYP), "Application/CLIENT+JWT" };
  g_autofree char *missing = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;

  test_key_init (&k, TEST_P256, 0);
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++) {
    g_autofree char *token = sign_full (&k, accepted[i], NULL, "{}");

    assert_accepted (&k, token, "{}");
  }
  /* no expected typ: none needed */
  missing = sign_full (&k, NULL, NULL, "{}");
  g_assert_true (eh_jws_verify (missing, 4096, ALL_ALG, NULL, lookup_one, &k, NULL, &payload,
                                &error));
  g_assert_no_error (error);
  assert_refused (&k, missing, "typ");
  {
    g_autofree char *other = sign_full (&k, "content+jwt", NULL, "{}");
    g_autofree char *prefix_only = sign_full (&k, "application/x/" TYP, NULL, "{}");
    g_autofree char *suffix = sign_full (&k, TYP "x", NULL, "{}");

    assert_refused (&k, other, "typ");
    assert_refused (&k, prefix_only, "typ");
    assert_refused (&k, suffix, "typ");
  }
  {
    /* a media type of another top-level type is never shortened */
    g_autofree char *full = sign_full (&k, "example/" TYP, NULL, "{}");
    g_autofree char *nested = sign_full (&k, "application/example/" TYP, NULL, "{}");
    g_autoptr (GBytes) out = NULL;

    g_assert_true (eh_jws_verify (full, 4096, ALL_ALG, "EXAMPLE/" TYP, lookup_one, &k, NULL, &out,
                                  &error));
    g_assert_no_error (error);
    g_assert_false (eh_jws_verify (nested, 4096, ALL_ALG, "example/" TYP, lookup_one, &k, NULL,
                                   &out, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  }
  test_key_clear (&k);
}

static void
test_refuses_alg_none (void)
{
  TestKey k;
  const char *headers[] = {
    "{\"alg\":\"none\",\"typ\":\"" TYP "\"}",
    "{\"alg\":\"None\",\"typ\":\"" TYP "\"}",
    "{\"alg\":\"NONE\",\"typ\":\"" TYP "\"}",
  };

  test_key_init (&k, TEST_P256, 0);
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    g_autofree char *token = craft (headers[i], "{\"sub\":\"admin\"}", "", 0);

    assert_refused (&k, token, "alg \"none\" is never accepted");
  }
  test_key_clear (&k);
}

static void
test_refuses_alg_not_allowed (void)
{
  TestKey k;
  g_autofree char *good = NULL;
  g_autofree char *hs256 = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *array = NULL;
  g_autofree char *lower = NULL;

  test_key_init (&k, TEST_P256, 0);
  good = sign (&k, "{}");
  assert_refused_full (&k, good, EH_JWS_DEFAULT_MAX_TOKEN_BYTES,
                       EH_JWS_ALG_RS256 | EH_JWS_ALG_EDDSA, "alg is not allowed");
  hs256 = craft ("{\"alg\":\"HS256\",\"typ\":\"" TYP "\"}", "{}",
                 "0123456789abcdef0123456789abcdef", 32);
  assert_refused (&k, hs256, "alg is not allowed");
  lower = craft ("{\"alg\":\"es256\",\"typ\":\"" TYP "\"}", "{}", "", 0);
  assert_refused (&k, lower, "alg is not allowed");
  missing = craft ("{\"typ\":\"" TYP "\"}", "{}", "", 0);
  assert_refused (&k, missing, "no string \"alg\"");
  array = craft ("{\"alg\":[\"ES256\"],\"typ\":\"" TYP "\"}", "{}", "", 0);
  assert_refused (&k, array, "no string \"alg\"");
  test_key_clear (&k);
}

/* the header says RS256 and the signature is good RS256, but the key found is an ES256 key */
static void
test_refuses_alg_confusion (void)
{
  TestKey rsa, ec;
  g_autofree char *token = NULL;
  g_autofree char *ec_token = NULL;

  test_key_init (&rsa, TEST_RSA2048, EH_JWS_ALG_RS256);
  test_key_init (&ec, TEST_P256, EH_JWS_ALG_ES256);
  token = sign (&rsa, "{\"sub\":\"admin\"}");
  assert_refused (&ec, token, "alg is not the key's algorithm");
  /* a lookup that claims RS256 for an EC key is caught as well */
  ec.lookup_alg = EH_JWS_ALG_RS256;
  assert_refused (&ec, token, "does not fit");
  /* and a PS256 token is not good for a key that is RS256 only */
  rsa.alg = EH_JWS_ALG_PS256;
  g_free (token);
  token = sign (&rsa, "{}");
  assert_refused (&rsa, token, "alg is not the key's algorithm");
  /* the right key under the wrong alg claim */
  ec.lookup_alg = EH_JWS_ALG_ES256;
  ec.lookup_pub = rsa.pub;
  ec_token = sign (&ec, "{}");
  assert_refused (&ec, ec_token, "does not fit");
  test_key_clear (&rsa);
  test_key_clear (&ec);
}

static void
test_refuses_key_members (gconstpointer data)
{
  const char *member = data;
  TestKey k;
  g_autoptr (JsonObject) extra = json_object_new ();
  g_autofree char *token = NULL;
  g_autofree char *reason = g_strdup_printf ("header member \"%s\"", member);

  test_key_init (&k, TEST_P256, 0);
  /* validly signed: the member alone is the reason */
  if (g_str_equal (member, "crit"))
    json_object_set_array_member (extra, member, json_array_new ());
  else if (g_str_equal (member, "jwk"))
    json_object_set_object_member (extra, member, json_object_new ());
  else
    json_object_set_string_member (extra, member, "https://attacker.example/k");
  token = sign_full (&k, TYP, extra, "{}");
  assert_refused (&k, token, reason);
  test_key_clear (&k);
}

static void
test_refuses_bad_header_json (void)
{
  TestKey k;
  const char *headers[] = {
    "{\"alg\":\"ES256\",\"alg\":\"none\",\"typ\":\"" TYP "\"}",
    "{\"alg\":\"ES256\",\"typ\":\"" TYP "\",\"typ\":\"" TYP "\"}",
    "{\"alg\":\"ES256\",\"typ\":\"" TYP "\",}",
    "{\"alg\":\"ES256\",/**/\"typ\":\"" TYP "\"}",
    "{'alg':'ES256'}",
    "{\"alg\":\"ES\\u0000256\"}",
    "ES256",
  };
  g_autoptr (GString) big = g_string_new ("{\"alg\":\"ES256\",\"typ\":\"" TYP "\",\"x\":\"");

  test_key_init (&k, TEST_P256, 0);
  for (guint i = 0; i < G_N_ELEMENTS (headers); i++) {
    g_autofree char *token = craft (headers[i], "{}", "", 0);

    assert_refused (&k, token, "header is not strict JSON");
  }
  {
    g_autofree char *array = craft ("[\"alg\",\"ES256\"]", "{}", "", 0);

    assert_refused (&k, array, "header is not a JSON object");
  }
  while (big->len < 4100)
    g_string_append_c (big, 'x');
  g_string_append (big, "\"}");
  {
    g_autofree char *token = craft (big->str, "{}", "", 0);

    assert_refused (&k, token, "header too large");
  }
  test_key_clear (&k);
}

static void
test_refuses_segment_counts (void)
{
  TestKey k;
  g_autofree char *good = NULL;
  g_autofree char *four = NULL;
  g_autofree char *trailing_dot = NULL;
  g_autofree char *two = NULL;

  test_key_init (&k, TEST_P256, 0);
  good = sign (&k, "{}");
  four = g_strconcat (good, ".e30", NULL);
  assert_refused (&k, four, "not exactly three segments");
  trailing_dot = g_strconcat (good, ".", NULL);
  assert_refused (&k, trailing_dot, "not exactly three segments");
  two = g_strndup (good, strrchr (good, '.') - good);
  assert_refused (&k, two, "not exactly three segments");
  assert_refused (&k, "a.b.c.d.e", "not exactly three segments");
  assert_refused (&k, "nodots", "not exactly three segments");
  assert_refused (&k, "..", "header is not strict JSON");
  assert_refused (&k, "", "empty");
  assert_refused (&k, NULL, "empty");
  test_key_clear (&k);
}

static void
test_refuses_non_strict_base64url (void)
{
  TestKey k;
  g_autofree char *good = NULL;
  g_auto (GStrv) parts = NULL;

  test_key_init (&k, TEST_P256, 0);
  good = sign (&k, "{\"sub\":\"c\"}");
  parts = g_strsplit (good, ".", 3);
  for (guint i = 0; i < 3; i++) {
    const char *insertions[] = { "=", "==", " ", "\n", "+", "/" };

    for (guint j = 0; j < G_N_ELEMENTS (insertions); j++) {
      g_autofree char *token = NULL;
      char *saved = parts[i];

      parts[i] = g_strconcat (saved, insertions[j], NULL);
      token = g_strjoinv (".", parts);
      g_free (parts[i]);
      parts[i] = saved;
      assert_refused (&k, token, "not strict base64url");
    }
  }
  {
    /* the payload segment "e30" is {}; "e31" has non-zero unused bits */
    g_autofree char *loose = craft ("{\"alg\":\"ES256\",\"typ\":\"" TYP "\"}", "{}", "", 0);

    *strrchr (loose, '.') = '\0';
    g_assert_true (g_str_has_suffix (loose, ".e30"));
    loose[strlen (loose) - 1] = '1';
    {
      g_autofree char *token = g_strconcat (loose, ".", parts[2], NULL);

      assert_refused (&k, token, "not strict base64url");
    }
  }
  test_key_clear (&k);
}

static void
test_refuses_tampering (void)
{
  TestKey k;
  g_autoptr (JsonObject) extra = json_object_new ();
  g_autofree char *good = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *header = NULL;
  g_autofree char *flipped = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autofree guint8 *raw = NULL;
  g_auto (GStrv) parts = NULL;
  g_autofree char *admin = b64 ("{\"sub\":\"admin\"}");
  g_autofree char *other_header = b64 ("{\"alg\":\"ES256\",\"typ\":\"" TYP "\",\"kid\":\"k2\"}");

  test_key_init (&k, TEST_P256, 0);
  json_object_set_string_member (extra, "kid", "k1");
  good = sign_full (&k, TYP, extra, "{\"sub\":\"c1\"}");
  assert_accepted (&k, good, "{\"sub\":\"c1\"}");
  parts = g_strsplit (good, ".", 3);
  payload = g_strjoin (".", parts[0], admin, parts[2], NULL);
  assert_refused (&k, payload, "bad signature");
  header = g_strjoin (".", other_header, parts[1], parts[2], NULL);
  assert_refused (&k, header, "bad signature");
  sig = segment (good, 2);
  raw = g_memdup2 (g_bytes_get_data (sig, NULL), 64);
  raw[63] ^= 1;
  flipped = with_signature (good, raw, 64);
  assert_refused (&k, flipped, "bad signature");
  test_key_clear (&k);
}

static void
test_refuses_ecdsa_zero (void)
{
  TestKey k;
  g_autofree char *good = NULL;
  g_autoptr (GBytes) sig = NULL;
  guint8 raw[64];

  test_key_init (&k, TEST_P256, 0);
  good = sign (&k, "{}");
  sig = segment (good, 2);
  memcpy (raw, g_bytes_get_data (sig, NULL), 64);
  memset (raw, 0, 32);
  {
    g_autofree char *zero_r = with_signature (good, raw, 64);

    assert_refused (&k, zero_r, "r = 0 or s = 0");
  }
  memcpy (raw, g_bytes_get_data (sig, NULL), 64);
  memset (raw + 32, 0, 32);
  {
    g_autofree char *zero_s = with_signature (good, raw, 64);

    assert_refused (&k, zero_s, "r = 0 or s = 0");
  }
  memset (raw, 0, 64);
  {
    g_autofree char *zeros = with_signature (good, raw, 64);

    assert_refused (&k, zeros, "r = 0 or s = 0");
  }
  test_key_clear (&k);
}

/* a signature has one length: no shorter, longer or zero-prefixed twin */
static void
test_refuses_signature_length (gconstpointer data)
{
  const RoundTrip *rt = data;
  TestKey k;
  g_autofree char *good = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autofree guint8 *longer = NULL;
  gsize len;

  test_key_init (&k, rt->kind, rt->alg);
  good = sign (&k, "{}");
  sig = segment (good, 2);
  len = g_bytes_get_size (sig);
  g_assert_cmpuint (len, ==, rt->sig_len);
  longer = g_malloc0 (len + 1);
  memcpy (longer + 1, g_bytes_get_data (sig, NULL), len);
  {
    g_autofree char *prefixed = with_signature (good, longer, len + 1);
    g_autofree char *shorter = with_signature (good, longer + 1, len - 1);
    g_autofree char *empty = with_signature (good, longer, 0);

    assert_refused (&k, prefixed, "wrong length");
    assert_refused (&k, shorter, "wrong length");
    assert_refused (&k, empty, "wrong length");
  }
  test_key_clear (&k);
}

static void
test_refuses_oversize (void)
{
  TestKey k;
  g_autofree char *huge = g_strnfill (EH_JWS_DEFAULT_MAX_TOKEN_BYTES + 1, 'a');
  g_autofree char *good = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) padded = g_string_new ("{\"p\":\"");

  test_key_init (&k, TEST_P256, 0);
  assert_refused (&k, huge, "too large");
  while (padded->len < EH_JWS_DEFAULT_MAX_TOKEN_BYTES)
    g_string_append_c (padded, 'p');
  g_string_append (padded, "\"}");
  {
    g_autofree char *big = sign (&k, padded->str);

    assert_refused (&k, big, "too large");
  }
  /* the cap is inclusive */
  good = sign (&k, "{}");
  g_assert_true (eh_jws_verify (good, strlen (good), ALL_ALG, TYP, lookup_one, &k, NULL, &payload,
                                &error));
  g_assert_no_error (error);
  assert_refused_full (&k, good, strlen (good) - 1, ALL_ALG, "too large");
  test_key_clear (&k);
}

static void
test_lookup_failures (void)
{
  TestKey k;
  g_autofree char *good = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;

  test_key_init (&k, TEST_P256, 0);
  good = sign (&k, "{}");
  /* the lookup's own error goes to the caller */
  g_assert_false (eh_jws_verify (good, 4096, ALL_ALG, TYP, lookup_not_found, NULL, NULL, &payload,
                                 &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_assert_null (payload);
  g_clear_error (&error);
  g_assert_false (eh_jws_verify (good, 4096, ALL_ALG, TYP, lookup_silent_null, NULL, NULL,
                                 &payload, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
  g_assert_null (payload);
  test_key_clear (&k);
}

/* -- interoperability with PyJWT -- */

static const char *
python (void)
{
  const char *env = g_getenv ("EH_PYTHON");

  if (env != NULL)
    return env;
  /* the distribution's interpreter is the one python3-jwt is installed for */
  if (g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return "/usr/bin/python3";
  return "python3";
}

static char *
interop_script (void)
{
  const char *dir = g_getenv ("EH_TEST_SRCDIR");
  g_autofree char *here = NULL;

  if (dir != NULL)
    return g_build_filename (dir, "jws-interop.py", NULL);
  here = g_path_get_dirname (__FILE__);
  return g_build_filename (here, "jws-interop.py", NULL);
}

/* stdout of the interop script; a missing python3 or PyJWT fails the test, loudly */
static char *
run_interop (const char *const *args)
{
  g_autofree char *script = interop_script ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  gint status = 0;

  g_ptr_array_add (argv, (gpointer) python ());
  g_ptr_array_add (argv, script);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                     &err, &status, &error)) {
    g_test_message ("cannot run %s (python3 with python3-jwt is required): %s", python (),
                    error->message);
    g_assert_not_reached ();
  }
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_test_message ("%s %s failed: %s", python (), script, err);
    g_assert_not_reached ();
  }
  return g_strstrip (out);
}

static char *
write_file (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  return path;
}

static char *
self_signed_pem (TestKey *k)
{
  g_auto (gnutls_x509_crt_t) cert = eh_test_make_certificate (k->x509, "interop", NULL, NULL, FALSE);

  return eh_crypto_cert_to_pem (cert, NULL);
}

static void
test_interop_pyjwt (gconstpointer data)
{
  const RoundTrip *rt = data;
  TestKey k;
  g_autofree char *dir = g_dir_make_tmp ("eh-jws-XXXXXX", NULL);
  g_autofree char *cert = NULL;
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autofree char *ours = NULL;
  g_autofree char *checked = NULL;
  g_autofree char *theirs = NULL;
  g_autoptr (JsonObject) header = NULL;
  char *key_pem;

  test_key_init (&k, rt->kind, rt->alg);
  cert = self_signed_pem (&k);
  cert_path = write_file (dir, "cert.pem", cert);
  key_pem = eh_crypto_key_to_pem (k.x509, NULL);
  key_path = write_file (dir, "key.pem", key_pem);
  eh_crypto_free_secret (key_pem);

  /* ours, checked by PyJWT with the certificate's key */
  ours = sign (&k, "{\"sub\":\"c1\",\"n\":1}");
  checked = run_interop ((const char *const[]) { "verify", ours, cert_path, TYP, NULL });
  g_assert_cmpstr (checked, ==, "{\"n\":1,\"sub\":\"c1\"}");

  /* PyJWT's, checked by us */
  theirs = run_interop ((const char *const[]) { "sign", key_path, eh_jws_alg_to_string (rt->alg),
                                                TYP, "{\"sub\":\"c2\"}", NULL });
  {
    g_autoptr (GBytes) payload = NULL;
    g_autoptr (GError) error = NULL;

    g_assert_true (verify_with (&k, theirs, rt->alg, &header, &payload, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (header, "alg"), ==,
                     eh_jws_alg_to_string (rt->alg));
    g_assert_nonnull (g_strstr_len (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                                    "\"sub\":\"c2\""));
  }
  test_key_clear (&k);
  eh_test_remove_tree (dir);
}

static const RoundTrip es256 = { TEST_P256, EH_JWS_ALG_ES256, 64 };
static const RoundTrip es384 = { TEST_P384, EH_JWS_ALG_ES384, 96 };
static const RoundTrip rs256 = { TEST_RSA2048, EH_JWS_ALG_RS256, 256 };
static const RoundTrip rs256_3072 = { TEST_RSA3072, EH_JWS_ALG_RS256, 384 };
static const RoundTrip ps256 = { TEST_RSA2048, EH_JWS_ALG_PS256, 256 };
static const RoundTrip eddsa = { TEST_ED25519, EH_JWS_ALG_EDDSA, 64 };

/* RFC 7638 §3.1: the example RSA key and its thumbprint */
static void
test_thumbprint_rfc7638 (void)
{
  static const char n_text[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  g_autoptr (GBytes) n = eh_base64url_decode (n_text, strlen (n_text), 4096, NULL);
  g_autoptr (GBytes) e = eh_base64url_decode ("AQAB", 4, 16, NULL);
  gnutls_datum_t nd = { (unsigned char *) g_bytes_get_data (n, NULL), g_bytes_get_size (n) };
  gnutls_datum_t ed = { (unsigned char *) g_bytes_get_data (e, NULL), g_bytes_get_size (e) };
  g_auto (gnutls_pubkey_t) key = NULL;
  g_autofree char *thumbprint = NULL;

  g_assert_cmpint (gnutls_pubkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_rsa_raw (key, &nd, &ed), ==, 0);
  thumbprint = eh_jws_pubkey_thumbprint (key, NULL);
  g_assert_cmpstr (thumbprint, ==, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

/* our own JWK comes back as the same key, with the same thumbprint */
static void
test_jwk_round_trip (gconstpointer data)
{
  const TestKeyKind *kind = data;
  TestKey k;
  g_autoptr (JsonObject) jwk = NULL;
  g_auto (gnutls_pubkey_t) back = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr (GError) error = NULL;
  EhJwsAlg alg = 0;

  test_key_init (&k, *kind, 0);
  jwk = eh_jws_pubkey_to_jwk (k.pub, &error);
  g_assert_no_error (error);
  back = eh_jws_jwk_to_pubkey (jwk, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA, &alg, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_cmpint (alg, ==, k.alg);
  before = eh_jws_pubkey_thumbprint (k.pub, NULL);
  after = eh_jws_pubkey_thumbprint (back, NULL);
  g_assert_cmpuint (strlen (before), ==, 43);
  g_assert_cmpstr (before, ==, after);
  test_key_clear (&k);
}

static void
assert_jwk_refused (const char *json, guint allowed, const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (json, &error);
  g_auto (gnutls_pubkey_t) key = NULL;

  g_assert_no_error (error);
  key = eh_jws_jwk_to_pubkey (json_node_get_object (node), allowed, NULL, &error);
  g_assert_null (key);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, reason) == NULL)
    g_error ("%s: expected \"%s\" in \"%s\"", json, reason, error->message);
}

static void
test_jwk_refusals (void)
{
  TestKey k;
  g_autoptr (JsonObject) jwk = NULL;
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;
  g_autofree char *json = NULL;
  const guint allowed = EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA;

  test_key_init (&k, TEST_P256, 0);
  jwk = eh_jws_pubkey_to_jwk (k.pub, NULL);
  x = g_strdup (json_object_get_string_member (jwk, "x"));
  y = g_strdup (json_object_get_string_member (jwk, "y"));
  assert_jwk_refused ("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", allowed, "kty");
  assert_jwk_refused ("{\"kty\":\"oct\",\"k\":\"AQAB\"}", allowed, "private");
  assert_jwk_refused ("{\"crv\":\"P-256\"}", allowed, "kty");
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
  assert_jwk_refused (json, allowed, "not accepted");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
  assert_jwk_refused (json, allowed, "not accepted");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"%s\"}", x, y, x);
  assert_jwk_refused (json, allowed, "private");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"alg\":\"ES384\"}", x, y);
  assert_jwk_refused (json, allowed, "alg");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"use\":\"enc\"}", x, y);
  assert_jwk_refused (json, allowed, "use");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}", x);
  assert_jwk_refused (json, allowed, "y");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s=\"}", x, y);
  assert_jwk_refused (json, allowed, "base64url");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%sAA\",\"y\":\"%s\"}", x, y);
  assert_jwk_refused (json, allowed, "base64url");
  g_free (json);
  /* the point (x, x) is not on the curve */
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, x);
  assert_jwk_refused (json, allowed, "not a valid");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
  assert_jwk_refused (json, EH_JWS_ALG_EDDSA, "not accepted");
  g_free (json);
  json = g_strdup_printf ("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
  assert_jwk_refused (json, allowed, "\"y\"");
  test_key_clear (&k);
}

static const TestKeyKind jwk_p256 = TEST_P256;
static const TestKeyKind jwk_ed25519 = TEST_ED25519;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/eh/jws/round-trip/es256", &es256, test_round_trip);
  g_test_add_func ("/eh/jws/sign-encoded", test_sign_encoded);
  g_test_add_data_func ("/eh/jws/round-trip/es384", &es384, test_round_trip);
  g_test_add_data_func ("/eh/jws/round-trip/rs256", &rs256, test_round_trip);
  g_test_add_data_func ("/eh/jws/round-trip/rs256-3072", &rs256_3072, test_round_trip);
  g_test_add_data_func ("/eh/jws/round-trip/ps256", &ps256, test_round_trip);
  g_test_add_data_func ("/eh/jws/round-trip/eddsa", &eddsa, test_round_trip);
  g_test_add_func ("/eh/jws/alg-for-key", test_alg_for_key);
  g_test_add_func ("/eh/jws/sign-refuses-misfits", test_sign_refuses_misfits);
  g_test_add_func ("/eh/jws/ecdsa-short-r-and-s", test_ecdsa_short_r_and_s);
  g_test_add_func ("/eh/jws/typ-forms", test_typ_forms);
  g_test_add_func ("/eh/jws/refuse/alg-none", test_refuses_alg_none);
  g_test_add_func ("/eh/jws/refuse/alg-not-allowed", test_refuses_alg_not_allowed);
  g_test_add_func ("/eh/jws/refuse/alg-confusion", test_refuses_alg_confusion);
  g_test_add_data_func ("/eh/jws/refuse/crit", "crit", test_refuses_key_members);
  g_test_add_data_func ("/eh/jws/refuse/jku", "jku", test_refuses_key_members);
  g_test_add_data_func ("/eh/jws/refuse/jwk", "jwk", test_refuses_key_members);
  g_test_add_data_func ("/eh/jws/refuse/x5u", "x5u", test_refuses_key_members);
  g_test_add_data_func ("/eh/jws/refuse/x5c", "x5c", test_refuses_key_members);
  g_test_add_func ("/eh/jws/refuse/bad-header-json", test_refuses_bad_header_json);
  g_test_add_func ("/eh/jws/refuse/segment-counts", test_refuses_segment_counts);
  g_test_add_func ("/eh/jws/refuse/non-strict-base64url", test_refuses_non_strict_base64url);
  g_test_add_func ("/eh/jws/refuse/tampering", test_refuses_tampering);
  g_test_add_func ("/eh/jws/refuse/ecdsa-zero", test_refuses_ecdsa_zero);
  g_test_add_data_func ("/eh/jws/refuse/signature-length/es256", &es256,
                        test_refuses_signature_length);
  g_test_add_data_func ("/eh/jws/refuse/signature-length/rs256", &rs256,
                        test_refuses_signature_length);
  g_test_add_data_func ("/eh/jws/refuse/signature-length/eddsa", &eddsa,
                        test_refuses_signature_length);
  g_test_add_func ("/eh/jws/refuse/oversize", test_refuses_oversize);
  g_test_add_func ("/eh/jws/lookup-failures", test_lookup_failures);
  g_test_add_data_func ("/eh/jws/interop-pyjwt/es256", &es256, test_interop_pyjwt);
  g_test_add_data_func ("/eh/jws/interop-pyjwt/eddsa", &eddsa, test_interop_pyjwt);
  g_test_add_data_func ("/eh/jws/interop-pyjwt/rs256", &rs256, test_interop_pyjwt);
  g_test_add_data_func ("/eh/jws/interop-pyjwt/ps256", &ps256, test_interop_pyjwt);
  g_test_add_func ("/eh/jws/thumbprint/rfc7638", test_thumbprint_rfc7638);
  g_test_add_data_func ("/eh/jws/jwk/round-trip/p256", &jwk_p256, test_jwk_round_trip);
  g_test_add_data_func ("/eh/jws/jwk/round-trip/ed25519", &jwk_ed25519, test_jwk_round_trip);
  g_test_add_func ("/eh/jws/jwk/refusals", test_jwk_refusals);
  return g_test_run ();
}
