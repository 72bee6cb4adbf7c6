/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"
#include "eh-test-util.h"

/* the Entra exchange's parts (JWKS, token checks, discovery files) and the reason table */

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OTHER_TENANT "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
#define USER "0f8fad5b-d9cb-469f-a165-70867728950e"
#define DEVICE "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define AUDIENCE "api://ehttpd-ps1"

typedef struct {
  gnutls_x509_privkey_t x509;
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
} RsaKey;

static RsaKey rsa;

/* a JWKS entry for @pub under @kid */
static char *
test_rsa_jwk (gnutls_pubkey_t pub, const char *kid)
{
  g_autoptr (JsonObject) jwk = eh_jws_pubkey_to_jwk (pub, NULL);
  g_autoptr (JsonNode) node = NULL;

  g_assert_nonnull (jwk);
  json_object_set_string_member (jwk, "kid", kid);
  json_object_set_string_member (jwk, "use", "sig");
  node = json_node_init_object (json_node_alloc (), jwk);
  return json_to_string (node, FALSE);
}

static EhMpJwks *
test_jwks (const char *document, GError **error)
{
  return eh_mp_jwks_parse (document, strlen (document), error);
}

static char *
test_entra_token (const char *kid, const char *claims)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (GBytes) payload = g_bytes_new (claims, strlen (claims));
  g_autoptr (GError) error = NULL;
  char *token;

  if (kid != NULL)
    json_object_set_string_member (header, "kid", kid);
  token = eh_jws_sign (rsa.key, EH_JWS_ALG_RS256, "JWT", header, payload, &error);
  g_assert_no_error (error);
  return token;
}

static char *
test_claims (const char *tid, const char *iss_tid, const char *aud, gint64 nbf, gint64 exp, const char *who)
{
  return g_strdup_printf ("{\"aud\":\"%s\",\"iss\":\"https://login.microsoftonline.com/%s/v2.0\",\"tid\":\"%s\","
                          "\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT ",%s}",
                          aud, iss_tid, tid, nbf, exp, who);
}

static void
test_jwks_hostile (void)
{
  g_autofree char *good = test_rsa_jwk (rsa.pub, "k1");
  g_autofree char *good_doc = g_strdup_printf ("{\"keys\":[%s,{\"kty\":\"EC\",\"crv\":\"P-256\"}]}", good);
  g_autoptr (EhMpJwks) jwks = NULL;
  g_autoptr (GError) error = NULL;
  GString *deep = g_string_new (NULL);
  GString *huge = g_string_new ("{\"keys\":[");
  RsaKey small = { 0 };
  g_autofree char *small_jwk = NULL;
  g_autofree char *small_doc = NULL;
  struct {
    const char *name;
    char *document;
  } cases[] = {
    { "not JSON", g_strdup ("{\"keys\":") },
    { "no keys", g_strdup ("{}") },
    { "keys an object", g_strdup ("{\"keys\":{}}") },
    { "key a string", g_strdup ("{\"keys\":[\"k1\"]}") },
    { "no RSA key", g_strdup ("{\"keys\":[{\"kty\":\"EC\"}]}") },
    { "kty a number", g_strdup ("{\"keys\":[{\"kty\":1}]}") },
    { "n a number", g_strdup ("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":1,\"e\":\"AQAB\"}]}") },
    { "kid a path", NULL },
    { "duplicate kid", g_strdup_printf ("{\"keys\":[%s,%s]}", good, good) },
    { "private member", g_strdup ("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"d\":\"AQAB\"}]}") },
    { "even exponent", NULL },
    { "wrong alg", NULL },
    { "duplicate member", g_strdup ("{\"keys\":[],\"keys\":[]}") },
    { "NUL", g_strdup ("{\"keys\":[{\"kty\":\"RSA\\u0000\"}]}") },
  };

  jwks = test_jwks (good_doc, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eh_mp_jwks_size (jwks), ==, 1);
  g_assert_nonnull (eh_mp_jwks_lookup (jwks, "k1"));
  g_assert_null (eh_mp_jwks_lookup (jwks, "k2"));

  /* a kid that is a path, and the other cases made from the good key */
  {
    g_autofree char *path_kid = test_rsa_jwk (rsa.pub, "../../etc/passwd k1");

    g_free (cases[7].document);
    cases[7].document = g_strdup_printf ("{\"keys\":[%s]}", path_kid);
  }
  {
    g_autoptr (JsonNode) node = json_from_string (good, NULL);
    JsonObject *object = json_node_get_object (node);
    g_autofree char *text = NULL;

    json_object_set_string_member (object, "e", "AQAA"); /* 65536 */
    text = json_to_string (node, FALSE);
    cases[10].document = g_strdup_printf ("{\"keys\":[%s]}", text);
    json_object_set_string_member (object, "e", "AQAB");
    json_object_set_string_member (object, "alg", "HS256");
    g_free (text);
    text = json_to_string (node, FALSE);
    cases[11].document = g_strdup_printf ("{\"keys\":[%s]}", text);
  }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (EhMpJwks) bad = test_jwks (cases[i].document, &error);

    g_test_message ("%s", cases[i].name);
    g_assert_null (bad);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_free (cases[i].document);
  }

  /* 100,000 deep, and larger than the cap: refused before json-glib sees them */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, ']');
  g_assert_null (eh_mp_jwks_parse (deep->str, deep->len, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  while (huge->len <= EH_MP_JWKS_MAX_BYTES)
    g_string_append_printf (huge, "%s,", good);
  g_string_append (huge, "{}]}");
  g_assert_null (eh_mp_jwks_parse (huge->str, huge->len, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_string_free (deep, TRUE);
  g_string_free (huge, TRUE);

  /* a 1024-bit key: under the floor */
  small.x509 = NULL;
  g_assert_cmpint (gnutls_x509_privkey_init (&small.x509), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (small.x509, GNUTLS_PK_RSA, 1024, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&small.pub), ==, 0);
  g_assert_cmpint (gnutls_privkey_init (&small.key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (small.key, small.x509, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (small.pub, small.key, 0, 0), ==, 0);
  small_jwk = test_rsa_jwk (small.pub, "small");
  small_doc = g_strdup_printf ("{\"keys\":[%s]}", small_jwk);
  g_assert_null (test_jwks (small_doc, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  gnutls_pubkey_deinit (small.pub);
  gnutls_privkey_deinit (small.key);
}

static void
assert_entra_refused (EhMpJwks *jwks, const char *token, gint64 now, EhMpReason expected)
{
  const char *const tenants[] = { TENANT, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpEntraIdentity) identity = NULL;
  EhMpReason reason = EH_MP_REASON_LAST;

  identity = eh_mp_entra_token_check (jwks, tenants, AUDIENCE, token, now, &reason, &error);
  g_assert_null (identity);
  g_assert_nonnull (error);
  g_assert_cmpstr (eh_mp_reason_info (reason)->code, ==, eh_mp_reason_info (expected)->code);
}

static void
test_entra_token_checks (void)
{
  const char *const tenants[] = { TENANT, NULL };
  g_autofree char *jwk = test_rsa_jwk (rsa.pub, "k1");
  g_autofree char *document = g_strdup_printf ("{\"keys\":[%s]}", jwk);
  g_autoptr (EhMpJwks) jwks = test_jwks (document, NULL);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (GError) error = NULL;
  EhMpReason reason = EH_MP_REASON_LAST;
  g_autofree char *user_claims = test_claims (TENANT, TENANT, AUDIENCE, now, now + 3600,
                                              "\"oid\":\"" USER "\",\"onprem_sid\":\"S-1-5-21-1-2-3-1001\","
                                              "\"upn\":\"ada@example.com\"");
  g_autofree char *user = test_entra_token ("k1", user_claims);
  g_autofree char *device_claims = test_claims (TENANT, TENANT, AUDIENCE, now, now + 3600,
                                                "\"oid\":\"" USER "\",\"deviceid\":\"" DEVICE "\"");
  g_autofree char *device = test_entra_token ("k1", device_claims);
  g_autoptr (EhMpEntraIdentity) identity = NULL;
  g_autoptr (EhMpEntraIdentity) back = NULL;
  g_autoptr (JsonObject) claim = NULL;
  g_autoptr (JsonNode) claim_node = NULL;
  struct {
    const char *name;
    char *claims;
    const char *kid;
    EhMpReason reason;
  } cases[] = {
    { "other tenant", test_claims (OTHER_TENANT, OTHER_TENANT, AUDIENCE, now, now + 3600, "\"oid\":\"" USER "\""),
      "k1", EH_MP_REASON_ENTRA_WRONG_TENANT },
    { "issuer of another tenant", test_claims (TENANT, OTHER_TENANT, AUDIENCE, now, now + 3600, "\"oid\":\"" USER "\""),
      "k1", EH_MP_REASON_ENTRA_WRONG_TENANT },
    { "wrong audience", test_claims (TENANT, TENANT, "api://other", now, now + 3600, "\"oid\":\"" USER "\""), "k1",
      EH_MP_REASON_ENTRA_WRONG_AUDIENCE },
    { "expired 61 s ago", test_claims (TENANT, TENANT, AUDIENCE, now - 3600, now - 61, "\"oid\":\"" USER "\""), "k1",
      EH_MP_REASON_ENTRA_EXPIRED },
    { "valid in 61 s", test_claims (TENANT, TENANT, AUDIENCE, now + 61, now + 3600, "\"oid\":\"" USER "\""), "k1",
      EH_MP_REASON_ENTRA_EXPIRED },
    { "oid not a GUID", test_claims (TENANT, TENANT, AUDIENCE, now, now + 3600, "\"oid\":\"ada@example.com\""), "k1",
      EH_MP_REASON_ENTRA_TOKEN_INVALID },
    { "only an upn", test_claims (TENANT, TENANT, AUDIENCE, now, now + 3600, "\"upn\":\"ada@example.com\""), "k1",
      EH_MP_REASON_ENTRA_TOKEN_INVALID },
    { "exp 1e400", g_strdup_printf ("{\"aud\":\"%s\",\"iss\":\"https://login.microsoftonline.com/%s/v2.0\","
                                    "\"tid\":\"%s\",\"exp\":1e400,\"oid\":\"%s\"}", AUDIENCE, TENANT, TENANT, USER),
      "k1", EH_MP_REASON_ENTRA_TOKEN_INVALID },
    { "unknown kid", g_strdup (user_claims), "k2", EH_MP_REASON_ENTRA_KEY_UNKNOWN },
    { "kid a path", g_strdup (user_claims), "../../k1", EH_MP_REASON_ENTRA_TOKEN_INVALID },
    { "no kid", g_strdup (user_claims), NULL, EH_MP_REASON_ENTRA_TOKEN_INVALID },
  };

  identity = eh_mp_entra_token_check (jwks, tenants, AUDIENCE, user, now, &reason, &error);
  g_assert_no_error (error);
  g_assert_cmpint (identity->kind, ==, EH_MP_ENTRA_USER);
  g_assert_cmpstr (identity->tenant_id, ==, TENANT);
  g_assert_cmpstr (identity->object_id, ==, USER);
  g_assert_cmpstr (identity->sid, ==, "S-1-5-21-1-2-3-1001");
  /* the client token's claim carries it, and reads back */
  claim = eh_mp_entra_identity_to_claim (identity);
  claim_node = json_node_init_object (json_node_alloc (), claim);
  back = eh_mp_entra_identity_from_claim (claim_node);
  g_assert_nonnull (back);
  g_assert_cmpstr (back->object_id, ==, USER);
  g_clear_pointer (&identity, eh_mp_entra_identity_free);
  identity = eh_mp_entra_token_check (jwks, tenants, AUDIENCE, device, now, &reason, &error);
  g_assert_no_error (error);
  g_assert_cmpint (identity->kind, ==, EH_MP_ENTRA_DEVICE);
  g_assert_cmpstr (identity->object_id, ==, DEVICE);
  /* within the leeway */
  g_clear_pointer (&identity, eh_mp_entra_identity_free);
  identity = eh_mp_entra_token_check (jwks, tenants, AUDIENCE, user, now + 3600 + 59, &reason, &error);
  g_assert_no_error (error);
  /* no keys yet: every kid is unknown */
  assert_entra_refused (NULL, user, now, EH_MP_REASON_ENTRA_KEY_UNKNOWN);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *token = test_entra_token (cases[i].kid, cases[i].claims);

    g_test_message ("%s", cases[i].name);
    assert_entra_refused (jwks, token, now, cases[i].reason);
    g_free (cases[i].claims);
  }
}

static void
test_discovery_files (void)
{
  static const char good[] =
    "{\"users\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"0F8FAD5B-D9CB-469F-A165-70867728950E\","
    "\"sid\":\"S-1-5-21-1-2-3-1001\",\"name\":\"Ada\"}],"
    "\"devices\":[{\"tenant_id\":\"" TENANT "\",\"device_id\":\"" DEVICE "\"}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  const char *const hostile[] = {
    "",
    "[]",
    "{}",
    "{\"users\":[]}",
    "{\"users\":{}}",
    "{\"groups\":[]}",
    "{\"users\":[{\"tenant_id\":\"" TENANT "\"}]}",
    "{\"users\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"x' OR 1=1 --\"}]}",
    "{\"users\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"" USER "\",\"sid\":\"S-1-5; rm\"}]}",
    "{\"users\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"" USER "\",\"email\":\"a@b\"}]}",
    "{\"users\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"" USER "\",\"name\":\"a\\u0007\"}]}",
    "{\"devices\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"" DEVICE "\"}]}",
    "{\"users\":[{\"tenant_id\":\"" TENANT "\",\"object_id\":\"" USER "\",\"object_id\":\"" USER "\"}]}",
  };

  entries = eh_mp_discovery_parse (good, strlen (good), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 2);
  /* GUIDs are kept lower-case, so a token's oid finds them */
  g_assert_cmpstr (((EhMpDiscovered *) g_ptr_array_index (entries, 0))->object_id, ==, USER);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++) {
    g_autoptr (GPtrArray) bad = eh_mp_discovery_parse (hostile[i], strlen (hostile[i]), &error);

    g_test_message ("%s", hostile[i]);
    g_assert_null (bad);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

static void
test_reason_table (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (EhMpDenials) denials = eh_mp_denials_new (16);
  EhMpReason reason;

  for (guint i = 0; i < EH_MP_REASON_LAST; i++) {
    const EhMpReasonInfo *info = eh_mp_reason_info (i);

    g_assert_nonnull (info->code);
    g_assert_nonnull (info->rule);
    g_assert_true (info->status >= 400 && info->status < 600);
    g_assert_false (g_hash_table_contains (seen, info->code));
    g_hash_table_add (seen, (gpointer) info->code);
    g_assert_true (eh_mp_reason_from_code (info->code, &reason));
    g_assert_cmpint (reason, ==, i);
  }
  g_assert_false (eh_mp_reason_from_code ("00000001", &reason));
  g_assert_cmpstr (eh_mp_reason_info (EH_MP_REASON_USER_NOT_DISCOVERED)->error, ==, "Un-authorizedrequest");

  /* the memory of refusals is bounded: the oldest go first */
  for (guint i = 0; i < 40; i++) {
    g_autofree char *id = g_strdup_printf ("%08x", i);

    eh_mp_denials_add (denials, id, EH_MP_REASON_CLIENT_BLOCKED, "guid", "/ehttpd/mp/token", "blocked", 1);
  }
  g_assert_cmpuint (eh_mp_denials_count (denials), ==, 16);
  g_assert_null (eh_mp_denials_find (denials, "00000000"));
  g_assert_null (eh_mp_denials_find (denials, "00000017"));
  g_assert_nonnull (eh_mp_denials_find (denials, "00000018"));
  g_assert_cmpint (eh_mp_denials_find (denials, "00000027")->reason, ==, EH_MP_REASON_CLIENT_BLOCKED);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  rsa.x509 = eh_crypto_generate_key (EH_KEY_RSA_2048, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_privkey_init (&rsa.key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (rsa.key, rsa.x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&rsa.pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (rsa.pub, rsa.key, 0, 0), ==, 0);
  g_test_add_func ("/eh/mp/entra/jwks-hostile", test_jwks_hostile);
  g_test_add_func ("/eh/mp/entra/token-checks", test_entra_token_checks);
  g_test_add_func ("/eh/mp/entra/discovery-files", test_discovery_files);
  g_test_add_func ("/eh/mp/reasons", test_reason_table);
  rc = g_test_run ();
  gnutls_pubkey_deinit (rsa.pub);
  gnutls_privkey_deinit (rsa.key);
  gnutls_x509_privkey_deinit (rsa.x509);
  return rc;
}
