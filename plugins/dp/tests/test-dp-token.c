/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"
#include "eh-test-util.h"

/*
 * The dp role's download checks without the daemon: trust bundles (good,
 * hostile, a signer of another root, revoked), content tokens (every claim
 * that can lie, every signature that can be wrong), the verified-token
 * cache, and download paths with hostile spellings.
 */

typedef struct {
  gnutls_x509_privkey_t root_key;
  gnutls_x509_crt_t root;
  gnutls_x509_privkey_t signer_key;
  gnutls_x509_crt_t signer;
  gnutls_privkey_t signer_priv;
  char *x5t;
  gint64 now;
} Site;

static char *
cert_b64 (gnutls_x509_crt_t cert)
{
  g_autoptr (GBytes) der = eh_crypto_cert_to_der (cert, NULL);

  return g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
}

static char *
serial_hex (gnutls_x509_crt_t cert)
{
  guint8 serial[32];
  size_t len = sizeof serial;
  GString *hex = g_string_new (NULL);

  g_assert_cmpint (gnutls_x509_crt_get_serial (cert, serial, &len), ==, 0);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", serial[i]);
  return g_string_free (hex, FALSE);
}

static void
site_init (Site *site, EhKeyType type)
{
  site->root_key = eh_crypto_generate_key (EH_KEY_ECDSA_P256, NULL);
  site->root = eh_test_make_certificate (site->root_key, "root", NULL, NULL, TRUE);
  site->signer_key = eh_crypto_generate_key (type, NULL);
  site->signer = eh_test_make_certificate (site->signer_key, "signer", site->root, site->root_key, FALSE);
  g_assert_cmpint (gnutls_privkey_init (&site->signer_priv), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (site->signer_priv, site->signer_key, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  site->x5t = eh_jws_cert_thumbprint (site->signer, NULL);
  site->now = g_get_real_time () / G_USEC_PER_SEC;
}

static void
site_clear (Site *site)
{
  gnutls_x509_privkey_deinit (site->root_key);
  gnutls_x509_crt_deinit (site->root);
  gnutls_x509_privkey_deinit (site->signer_key);
  gnutls_x509_crt_deinit (site->signer);
  gnutls_privkey_deinit (site->signer_priv);
  g_free (site->x5t);
}

/* the bundle as the ca publishes it; @x5c_root names what x5c[1] is, @revoked a serial or NULL */
static char *
bundle_json (Site *site, gnutls_x509_crt_t x5c_root, const char *revoked, guint64 version)
{
  g_autofree char *root_b64 = cert_b64 (site->root);
  g_autofree char *second_b64 = cert_b64 (x5c_root);
  g_autofree char *leaf_b64 = cert_b64 (site->signer);
  g_autofree char *fingerprint = eh_crypto_cert_fingerprint (site->root, NULL);
  g_autofree char *revoked_list = revoked != NULL ? g_strdup_printf ("\"%s\"", revoked) : g_strdup ("");

  return g_strdup_printf ("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"%s\",\"x5t#S256\":\"%s\",\"x5c\":[\"%s\",\"%s\"],"
                          "\"ehttpd_usage\":\"token-signing\",\"use\":\"sig\"}],"
                          "\"root\":{\"fingerprint\":\"%s\",\"x5c\":[\"%s\"]},\"revoked\":[%s],"
                          "\"site\":\"PS1\",\"version\":%" G_GUINT64_FORMAT ",\"issued_at\":1}",
                          site->x5t, site->x5t, leaf_b64, second_b64, fingerprint, root_b64, revoked_list,
                          version);
}

static EhDpBundle *
site_bundle (Site *site)
{
  g_autofree char *json = bundle_json (site, site->root, NULL, 1);
  g_autoptr (GError) error = NULL;
  EhDpBundle *bundle = eh_dp_bundle_parse (json, strlen (json), site->now, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (eh_dp_bundle_count_signers (bundle), ==, 1);
  return bundle;
}

/* a token: @claims is printf'd with the site's now; @key NULL signs with the site's signer */
static char *
mint (Site *site, gnutls_privkey_t key, const char *typ, const char *x5t, const char *claims)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (GBytes) payload = g_bytes_new (claims, strlen (claims));
  gnutls_privkey_t signer = key != NULL ? key : site->signer_priv;
  EhJwsAlg alg = EH_JWS_ALG_ES256;
  g_autoptr (GError) error = NULL;
  char *token;

  g_assert_true (eh_jws_alg_for_key (signer, &alg, NULL));
  json_object_set_string_member (header, "x5t#S256", x5t != NULL ? x5t : site->x5t);
  token = eh_jws_sign (signer, alg, typ, header, payload, &error);
  g_assert_no_error (error);
  return token;
}

#define HASH "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char *
claims (Site *site, const char *iss, const char *aud, gint64 nbf, gint64 exp, const char *content)
{
  return g_strdup_printf ("{\"iss\":\"%s\",\"sub\":\"GUID:1\",\"aud\":%s,\"iat\":%" G_GINT64_FORMAT
                          ",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT ",\"jti\":\"j1\",\"content\":%s}",
                          iss, aud, site->now + nbf, site->now + nbf, site->now + exp, content);
}

static const char *const names[] = { "dp1.example", "localhost", NULL };

static void
assert_refused (Site *site, EhDpBundle *bundle, const char *token, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpToken) verified = eh_dp_token_verify (bundle, token, names, site->now, &error);

  g_assert_null (verified);
  g_assert_error (error, EH_ERROR, code);
}

static void
check_tokens (EhKeyType type)
{
  Site site = { 0 };
  g_autoptr (EhDpBundle) bundle = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpToken) token = NULL;
  g_auto (gnutls_x509_privkey_t) other_key = eh_crypto_generate_key (type, NULL);
  g_auto (gnutls_privkey_t) other = NULL;
  const char *content = "{\"PS100001\":\"" HASH "\"}";
  struct {
    const char *iss, *aud, *content, *typ;
    gint64 nbf, exp;
    gint code;
  } cases[] = {
    { "PS1", "[\"dp1.example\"]", NULL, "content+jwt", 0, 3600, 0 },
    { "PS1", "[\"other\",\"LOCALHOST\"]", NULL, "content+jwt", 0, 3600, 0 },
    { "PS1", "[\"other\"]", NULL, "content+jwt", 0, 3600, EH_ERROR_PERMISSION_DENIED },
    { "PS1", "\"dp1.example\"", NULL, "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[]", NULL, "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[1]", NULL, "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "XX9", "[\"dp1.example\"]", NULL, "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", NULL, "client+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", NULL, NULL, 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", NULL, "content+jwt", -7200, -61, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", NULL, "content+jwt", -7200, -30, 0 }, /* within the leeway */
    { "PS1", "[\"dp1.example\"]", NULL, "content+jwt", 120, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", "{}", "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", "{\"../x\":\"" HASH "\"}", "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", "{\"PS100001\":\"AAAA\"}", "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
    { "PS1", "[\"dp1.example\"]", "[\"PS100001\"]", "content+jwt", 0, 3600, EH_ERROR_INVALID_TOKEN },
  };

  site_init (&site, type);
  bundle = site_bundle (&site);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *text = claims (&site, cases[i].iss, cases[i].aud, cases[i].nbf, cases[i].exp,
                                    cases[i].content != NULL ? cases[i].content : content);
    g_autofree char *jws = mint (&site, NULL, cases[i].typ, NULL, text);

    if (cases[i].code == 0) {
      g_autoptr (EhDpToken) ok = eh_dp_token_verify (bundle, jws, names, site.now, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (g_hash_table_lookup (ok->contents, "PS100001"), ==, HASH);
    } else
      assert_refused (&site, bundle, jws, cases[i].code);
  }

  /* signed by a key the bundle does not know, or by another key under the known x5t */
  g_assert_cmpint (gnutls_privkey_init (&other), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (other, other_key, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  {
    g_autofree char *text = claims (&site, "PS1", "[\"dp1.example\"]", 0, 3600, content);
    g_autofree char *unknown = mint (&site, other, "content+jwt", "bm90LWluLXRoZS1idW5kbGU", text);
    g_autofree char *forged = mint (&site, other, "content+jwt", NULL, text);
    g_autofree char *good = mint (&site, NULL, "content+jwt", NULL, text);
    g_autofree char *tampered = g_strdup (good);
    char *dot = strchr (tampered, '.') + 1;

    assert_refused (&site, bundle, unknown, EH_ERROR_INVALID_TOKEN);
    assert_refused (&site, bundle, forged, EH_ERROR_INVALID_TOKEN);
    *dot = *dot == 'e' ? 'f' : 'e';
    assert_refused (&site, bundle, tampered, EH_ERROR_INVALID_TOKEN);
    assert_refused (&site, bundle, "", EH_ERROR_INVALID_TOKEN);
    assert_refused (&site, bundle, "a.b.c", EH_ERROR_INVALID_TOKEN);
    assert_refused (&site, bundle, "eyJhbGciOiJub25lIn0.e30.", EH_ERROR_INVALID_TOKEN);
  }
  site_clear (&site);
}

static void
test_token_es256 (void)
{
  check_tokens (EH_KEY_ECDSA_P256);
}

static void
test_token_eddsa (void)
{
  check_tokens (EH_KEY_ED25519);
}

static void
test_bundle_hostile (void)
{
  Site site = { 0 };
  Site stranger = { 0 };
  g_autofree char *serial = NULL;
  g_autofree char *revoked = NULL;
  g_autofree char *foreign = NULL;
  g_autofree char *good = NULL;
  g_autoptr (EhDpBundle) bundle = NULL;
  g_autoptr (GError) error = NULL;
  const char *bad[] = { "", "[]", "{}", "{\"site\":\"PS1\",\"version\":1}", "{\"site\":\"PS1\",\"version\":1,\"root\":{}}",
                        "{\"site\":\"PS1\",\"site\":\"PS2\",\"version\":1}", "{\"site\":\"../\",\"version\":1}" };

  site_init (&site, EH_KEY_ECDSA_P256);
  site_init (&stranger, EH_KEY_ECDSA_P256);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (EhDpBundle) refused = eh_dp_bundle_parse (bad[i], strlen (bad[i]), site.now, NULL);

    g_assert_null (refused);
  }
  /* deep nesting is refused before json-glib sees it */
  {
    g_autofree char *deep = g_strnfill (100000, '[');
    g_autoptr (EhDpBundle) refused = eh_dp_bundle_parse (deep, strlen (deep), site.now, NULL);

    g_assert_null (refused);
  }
  /* a revoked signer (leading zero octets or not) is left out */
  serial = serial_hex (site.signer);
  revoked = bundle_json (&site, site.root, serial, 2);
  bundle = eh_dp_bundle_parse (revoked, strlen (revoked), site.now, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eh_dp_bundle_count_signers (bundle), ==, 0);
  g_clear_pointer (&bundle, eh_dp_bundle_free);
  /* a signer whose x5c names another root is left out */
  foreign = bundle_json (&site, stranger.root, NULL, 3);
  bundle = eh_dp_bundle_parse (foreign, strlen (foreign), site.now, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eh_dp_bundle_count_signers (bundle), ==, 0);
  g_clear_pointer (&bundle, eh_dp_bundle_free);
  /* an expired signer is left out; a current one found only by its x5t */
  good = bundle_json (&site, site.root, NULL, 4);
  bundle = eh_dp_bundle_parse (good, strlen (good), site.now + 7200, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eh_dp_bundle_count_signers (bundle), ==, 0);
  g_clear_pointer (&bundle, eh_dp_bundle_free);
  bundle = eh_dp_bundle_parse (good, strlen (good), site.now, &error);
  g_assert_cmpuint (eh_dp_bundle_count_signers (bundle), ==, 1);
  g_assert_cmpstr (eh_dp_bundle_get_site (bundle), ==, "PS1");
  g_assert_cmpuint (eh_dp_bundle_get_version (bundle), ==, 4);
  {
    EhJwsAlg alg = 0;
    g_auto (gnutls_pubkey_t) key = eh_dp_bundle_lookup_signer (bundle, site.x5t, site.now, &alg, &error);

    g_assert_no_error (error);
    g_assert_nonnull (key);
    g_assert_cmpint (alg, ==, EH_JWS_ALG_ES256);
    g_assert_null (eh_dp_bundle_lookup_signer (bundle, "../../etc/passwd", site.now, &alg, NULL));
    g_assert_null (eh_dp_bundle_lookup_signer (bundle, site.x5t, site.now + 7200, &alg, NULL));
  }
  g_clear_pointer (&bundle, eh_dp_bundle_free);
  /* a "site signing" key that is really a root-issued certificate with
   * x5c = [leaf, root] is no site signing key, nor a token signing one */
  {
    g_autoptr (GString) lying = g_string_new (good);
    EhJwsAlg alg = 0;

    g_assert_cmpuint (g_string_replace (lying, "\"token-signing\"", "\"site-signing\"", 0), ==, 1);
    bundle = eh_dp_bundle_parse (lying->str, lying->len, site.now, &error);
    g_assert_no_error (error);
    g_assert_null (eh_dp_bundle_lookup_site_signer (bundle, site.x5t, site.now, &alg, NULL));
    g_assert_null (eh_dp_bundle_lookup_signer (bundle, site.x5t, site.now, &alg, NULL));
  }
  site_clear (&site);
  site_clear (&stranger);
}

static void
test_token_cache (void)
{
  Site site = { 0 };
  g_autoptr (EhDpBundle) bundle = NULL;
  EhDpTokenCache *cache = eh_dp_token_cache_new (4);
  g_autoptr (GError) error = NULL;
  gint64 started;

  site_init (&site, EH_KEY_ECDSA_P256);
  bundle = site_bundle (&site);
  for (guint i = 0; i < 10; i++) {
    g_autofree char *text = claims (&site, "PS1", "[\"dp1.example\"]", 0, 60 + i, "{\"PS100001\":\"" HASH "\"}");
    g_autofree char *jws = mint (&site, NULL, "content+jwt", NULL, text);
    g_autoptr (EhDpToken) token = eh_dp_token_cache_check (cache, bundle, jws, names, site.now, &error);

    g_assert_no_error (error);
    g_assert_nonnull (token);
    g_assert_cmpuint (eh_dp_token_cache_size (cache), <=, 4);
  }
  {
    g_autofree char *text = claims (&site, "PS1", "[\"dp1.example\"]", 0, 60, "{\"PS100001\":\"" HASH "\"}");
    g_autofree char *jws = mint (&site, NULL, "content+jwt", NULL, text);
    g_autoptr (EhDpToken) first = eh_dp_token_cache_check (cache, bundle, jws, names, site.now, NULL);
    g_autoptr (EhDpToken) expired = NULL;

    /* a repeat is the cached token, and far cheaper than a verification */
    started = g_get_monotonic_time ();
    for (guint i = 0; i < 1000; i++) {
      g_autoptr (EhDpToken) again = eh_dp_token_cache_check (cache, bundle, jws, names, site.now, NULL);

      g_assert_true (again == first);
    }
    g_test_message ("1000 cached checks: %" G_GINT64_FORMAT " µs", g_get_monotonic_time () - started);
    /* refused from the cache once expired; the bundle changing drops everything */
    expired = eh_dp_token_cache_check (cache, bundle, jws, names, site.now + 200, &error);
    g_assert_null (expired);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN);
    eh_dp_token_cache_clear (cache);
    g_assert_cmpuint (eh_dp_token_cache_size (cache), ==, 0);
  }
  eh_dp_token_cache_free (cache);
  site_clear (&site);
}

static void
test_path_decode (void)
{
  struct {
    const char *raw, *decoded;
  } good[] = {
    { "a.txt", "a.txt" },
    { "sub/deeper/notes%20%C3%A9.txt", "sub/deeper/notes é.txt" },
    { "sub/deeper/notes é.txt", "sub/deeper/notes é.txt" },
    { "..a/b..", "..a/b.." },
    { "%41", "A" },
  };
  const char *bad[] = {
    "", "/", "a//b", "a/", "/a", "..", ".", "../a", "a/../b", "a/./b", "%2e%2e/a", "%2E%2e", "%2e",
    "%252e%252e/a", "a%25b", "a%2fb", "a%2Fb", "a\\b", "a%5cb", "a%5Cb", "a%00", "a%0a", "a\tb", "%",
    "a%2", "a%zz", "%c0%ae%c0%ae/a", "%ff", "%C3", "a%7f", "\xc3", "\xc0\xae\xc0\xae",
  };
  g_autofree char *long_path = g_strnfill (EH_DP_MAX_PATH_BYTES + 1, 'a');
  g_autofree char *long_encoded = NULL;
  GString *encoded = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *path = eh_dp_path_decode (good[i].raw, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (path, ==, good[i].decoded);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *path = eh_dp_path_decode (bad[i], &error);

    if (path != NULL)
      g_error ("accepted %s as %s", bad[i], path);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  }
  g_assert_null (eh_dp_path_decode (long_path, NULL));
  for (guint i = 0; i < EH_DP_MAX_PATH_BYTES / 2 + 1; i++)
    g_string_append (encoded, "%41%41");
  long_encoded = g_string_free (encoded, FALSE);
  g_assert_null (eh_dp_path_decode (long_encoded, NULL));
}

static void
test_manifest_find (void)
{
  g_autoptr (EhDpManifest) manifest = eh_dp_manifest_new ("PS100001", "n", "1", 1);
  const char *paths[] = { "a", "b/c", "b/d", "z é" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    eh_dp_manifest_add_file (manifest, paths[i], i, HASH);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    g_assert_cmpstr (eh_dp_manifest_find (manifest, paths[i])->path, ==, paths[i]);
  g_assert_null (eh_dp_manifest_find (manifest, "b"));
  g_assert_null (eh_dp_manifest_find (manifest, "b/c/"));
  g_assert_null (eh_dp_manifest_find (manifest, ""));
  g_assert_null (eh_dp_manifest_find (manifest, HASH));
}

/* what an upstream DP answers to a pulling edge is hostile input too */
static void
test_pull_library_hostile (void)
{
  const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  g_autofree char *good = g_strdup_printf ("{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\"}]}", sha);
  g_autofree char *twice = g_strdup_printf ("{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\"},"
                                            "{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\"}]}", sha, sha);
  g_autofree char *climbing = g_strdup_printf ("{\"contents\":[{\"id\":\"../../x\",\"manifest-sha256\":\"%s\"}]}", sha);
  g_autofree char *upper = g_strdup_printf ("{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\"}]}",
                                            "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
  g_autofree char *deep = g_strnfill (100000, '[');
  const char *bad[] = { "", "null", "[]", "{}", "{\"contents\":{}}", "{\"contents\":[1]}",
                        "{\"contents\":[{\"id\":\"PS100001\"}]}",
                        "{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"00\"}]}",
                        "{\"contents\":[],\"contents\":[]}", twice, climbing, upper, deep };
  g_autoptr (GHashTable) library = eh_dp_pull_library_parse (good, strlen (good), NULL, NULL);

  g_assert_nonnull (library);
  g_assert_cmpstr (g_hash_table_lookup (library, "PS100001"), ==, sha);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GHashTable) refused = eh_dp_pull_library_parse (bad[i], strlen (bad[i]), NULL, &error);

    g_assert_null (refused);
    g_assert_nonnull (error);
  }
}

/* an edge with [dp] distribution=assigned takes only the contents whose "dps" name it */
static void
test_pull_library_assigned (void)
{
  const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const char *const edge[] = { "edge1.example", "edge1", NULL };
  const char *const other[] = { "edge2.example", NULL };
  g_autofree char *listed = g_strdup_printf ("{\"contents\":["
                                             "{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\",\"dps\":[\"EDGE1.example\"]},"
                                             "{\"id\":\"PS100002\",\"manifest-sha256\":\"%s\",\"dps\":[\"edge2.example\"]},"
                                             "{\"id\":\"PS100003\",\"manifest-sha256\":\"%s\"}]}",
                                             sha, sha, sha);
  g_autofree char *bad_name = g_strdup_printf ("{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\","
                                               "\"dps\":[\"../x\"]}]}", sha);
  g_autofree char *not_array = g_strdup_printf ("{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\","
                                                "\"dps\":\"edge1.example\"}]}", sha);
  g_autofree char *number = g_strdup_printf ("{\"contents\":[{\"id\":\"PS100001\",\"manifest-sha256\":\"%s\","
                                             "\"dps\":[1]}]}", sha);
  g_autoptr (GHashTable) all = eh_dp_pull_library_parse (listed, strlen (listed), NULL, NULL);
  g_autoptr (GHashTable) mine = eh_dp_pull_library_parse (listed, strlen (listed), edge, NULL);
  g_autoptr (GHashTable) theirs = eh_dp_pull_library_parse (listed, strlen (listed), other, NULL);
  const char *bad[] = { bad_name, not_array, number };

  g_assert_cmpuint (g_hash_table_size (all), ==, 3);
  g_assert_cmpuint (g_hash_table_size (mine), ==, 1);
  g_assert_true (g_hash_table_contains (mine, "PS100001"));
  g_assert_cmpuint (g_hash_table_size (theirs), ==, 1);
  g_assert_true (g_hash_table_contains (theirs, "PS100002"));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_null (eh_dp_pull_library_parse (bad[i], strlen (bad[i]), NULL, &error));
    g_assert_nonnull (error);
  }
}

/* assignments: kept lower-case and sorted, once each, capped; the file is hostile when read back */
static void
test_assignments (void)
{
  g_autoptr (EhDpAssignments) assignments = eh_dp_assignments_new ();
  g_autoptr (EhDpAssignments) back = NULL;
  g_autoptr (GBytes) json = NULL;
  g_autoptr (GError) error = NULL;
  const char *const *assigned;
  const char *bad[] = { "", "[]", "{\"PS100001\":\"dp\"}", "{\"../x\":[]}", "{\"PS100001\":[\"a b\"]}",
                        "{\"PS100001\":[1]}", "{\"PS100001\":[],\"PS100001\":[]}", "{\"PS100001\":[[[]]]}" };

  g_assert_true (eh_dp_name_is_valid ("edge1.example"));
  g_assert_true (eh_dp_name_is_valid ("fe80::1"));
  g_assert_false (eh_dp_name_is_valid (""));
  g_assert_false (eh_dp_name_is_valid ("a/b"));
  g_assert_false (eh_dp_name_is_valid ("a\nb"));
  g_assert_true (eh_dp_assignments_add (assignments, "PS100001", "Edge2.example", NULL));
  g_assert_true (eh_dp_assignments_add (assignments, "PS100001", "edge1.example", NULL));
  g_assert_false (eh_dp_assignments_add (assignments, "PS100001", "EDGE1.EXAMPLE", NULL));
  assigned = eh_dp_assignments_get (assignments, "PS100001");
  g_assert_cmpstr (assigned[0], ==, "edge1.example");
  g_assert_cmpstr (assigned[1], ==, "edge2.example");
  g_assert_null (assigned[2]);
  g_assert_null (eh_dp_assignments_get (assignments, "PS100002"));
  json = eh_dp_assignments_to_json (assignments);
  back = eh_dp_assignments_parse (g_bytes_get_data (json, NULL), g_bytes_get_size (json), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (eh_dp_assignments_get (back, "PS100001")[1], ==, "edge2.example");
  g_assert_true (eh_dp_assignments_remove (assignments, "PS100001", "EDGE2.example"));
  g_assert_false (eh_dp_assignments_remove (assignments, "PS100001", "edge2.example"));
  g_assert_true (eh_dp_assignments_remove (assignments, "PS100001", "edge1.example"));
  g_assert_null (eh_dp_assignments_get (assignments, "PS100001"));
  for (guint i = 0; i < EH_DP_ASSIGN_MAX_DPS; i++) {
    g_autofree char *name = g_strdup_printf ("dp%u.example", i);

    g_assert_true (eh_dp_assignments_add (assignments, "PS100003", name, NULL));
  }
  g_assert_false (eh_dp_assignments_add (assignments, "PS100003", "one-more.example", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) refused = NULL;

    g_assert_null (eh_dp_assignments_parse (bad[i], strlen (bad[i]), &refused));
    g_assert_nonnull (refused);
  }
}

static void
test_pull_content_range (void)
{
  const char *bad[] = { "", "bytes", "bytes 0-9", "bytes 0-9/", "bytes 9-0/10", "bytes 0-10/10",
                        "bytes -1-9/10", "bytes 0-9/*", "bytes 0x0-9/10", "bytes 0-9/10 ", "items 0-9/10",
                        "bytes 0-99999999999999999999999/100000000000000000000000", "bytes +0-9/10" };
  goffset first = -1, last = -1, total = -1;

  g_assert_true (eh_dp_pull_parse_content_range ("bytes 0-9/10", &first, &last, &total));
  g_assert_cmpint (first, ==, 0);
  g_assert_cmpint (last, ==, 9);
  g_assert_cmpint (total, ==, 10);
  g_assert_true (eh_dp_pull_parse_content_range ("bytes 1048576-20971519/20971520", &first, &last, &total));
  g_assert_cmpint (first, ==, 1048576);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (eh_dp_pull_parse_content_range (bad[i], &first, &last, &total));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/dp/token/es256", test_token_es256);
  g_test_add_func ("/eh/dp/token/eddsa", test_token_eddsa);
  g_test_add_func ("/eh/dp/token/cache", test_token_cache);
  g_test_add_func ("/eh/dp/bundle/hostile", test_bundle_hostile);
  g_test_add_func ("/eh/dp/path/decode-hostile", test_path_decode);
  g_test_add_func ("/eh/dp/path/manifest-find", test_manifest_find);
  g_test_add_func ("/eh/dp/pull/library-hostile", test_pull_library_hostile);
  g_test_add_func ("/eh/dp/pull/content-range", test_pull_content_range);
  g_test_add_func ("/eh/dp/pull/library-assigned", test_pull_library_assigned);
  g_test_add_func ("/eh/dp/assign/names", test_assignments);
  return g_test_run ();
}
