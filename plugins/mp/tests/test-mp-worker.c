/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"
#include "eh-test-util.h"

/* the token path off the main loop: the workers, token keys that retire
 * while they sign, and what a token request reads of a client (the client
 * cache in front of the store) */

#define TEST_JOBS 200

typedef struct {
  GThread *main_thread;
  GThread *ran_in;
  gboolean done_on_main;
  guint *done_count; /* shared by the jobs */
} TestJob;

static void
test_job_run (gpointer data)
{
  TestJob *job = data;

  job->ran_in = g_thread_self ();
}

static void
test_job_done (gpointer data)
{
  TestJob *job = data;

  job->done_on_main = g_thread_self () == job->main_thread;
  g_assert_nonnull (job->ran_in);
  (*job->done_count)++;
}

/* jobs run in the workers, never on the main loop; their done functions on
 * the main loop, every one exactly once */
static void
test_workers_run_and_done (void)
{
  EhMpWorkers *workers = eh_mp_workers_new (2);
  TestJob jobs[TEST_JOBS] = { 0 };
  guint done_count = 0;

  for (guint i = 0; i < TEST_JOBS; i++) {
    jobs[i] = (TestJob) { g_thread_self (), NULL, FALSE, &done_count };
    eh_mp_workers_push (workers, test_job_run, test_job_done, &jobs[i]);
  }
  while (done_count < TEST_JOBS)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < TEST_JOBS; i++) {
    g_assert_true (jobs[i].ran_in != g_thread_self ());
    g_assert_true (jobs[i].done_on_main);
  }
  eh_mp_workers_free (workers);
  g_assert_cmpuint (done_count, ==, TEST_JOBS);
}

/* stopping finishes what is queued: every request gets its answer */
static void
test_workers_free_finishes (void)
{
  EhMpWorkers *workers = eh_mp_workers_new (1);
  TestJob jobs[TEST_JOBS] = { 0 };
  guint done_count = 0;

  for (guint i = 0; i < TEST_JOBS; i++) {
    jobs[i] = (TestJob) { g_thread_self (), NULL, FALSE, &done_count };
    eh_mp_workers_push (workers, test_job_run, test_job_done, &jobs[i]);
  }
  eh_mp_workers_free (workers);
  g_assert_cmpuint (done_count, ==, TEST_JOBS);
  for (guint i = 0; i < TEST_JOBS; i++)
    g_assert_true (jobs[i].done_on_main);
  /* a wake-up still queued on the context finds nothing and touches nothing freed */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (done_count, ==, TEST_JOBS);
}

static EhMpTokenKey *
test_token_key (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  gnutls_x509_crt_t cert = NULL;
  gnutls_privkey_t key = NULL;
  guint8 serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  EhMpTokenKey *token_key;

  g_assert_no_error (error);
  g_assert_cmpint (gnutls_x509_crt_init (&cert), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (cert, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (cert, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (cert, GNUTLS_OID_X520_COMMON_NAME, 0, "mp", 2), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (cert, now - 10), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (cert, now + 86400), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (cert, x509), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (cert, cert, x509, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  token_key = eh_mp_token_key_new (key, cert, &error);
  g_assert_no_error (error);
  token_key->state = EH_MP_TOKEN_KEY_ACTIVE;
  return token_key;
}

/* a key that retires (rollover) while tokens are being signed with it
 * keeps its private half until the last one is done, then loses it; one
 * that retires idle loses it at once; the list letting go of the key does
 * not free it under a signer */
static void
test_token_key_retires_while_signing (void)
{
  EhMpTokenKey *busy = test_token_key ();
  g_autoptr (EhMpTokenKey) idle = test_token_key ();
  EhMpTokenKey *signing;
  EhMpClient client = { .guid = (char *) "0f8fad5b-d9cb-469f-a165-70867728950e", .thumbprint = (char *) "abc" };
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  gint64 expires_at = 0;

  signing = eh_mp_token_key_sign_begin (busy);
  g_assert_true (signing == busy);
  eh_mp_token_key_sign_begin (busy);
  eh_mp_token_key_retire (busy);
  g_assert_cmpint (busy->state, ==, EH_MP_TOKEN_KEY_RETIRED);
  g_assert_nonnull (busy->key);
  /* the list that held it lets go */
  eh_mp_token_key_unref (busy);
  token = eh_mp_client_token_issue (signing, "PS1", &client, NULL, 3600, g_get_real_time () / G_USEC_PER_SEC,
                                    &expires_at, &error);
  g_assert_no_error (error);
  g_assert_nonnull (token);
  eh_mp_token_key_sign_end (signing);
  g_assert_nonnull (signing->key);
  eh_mp_token_key_sign_end (signing); /* the last: the key is gone with it */

  eh_mp_token_key_retire (idle);
  g_assert_null (idle->key);
  g_assert_cmpint (idle->state, ==, EH_MP_TOKEN_KEY_RETIRED);
}

static gnutls_pubkey_t
test_token_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhMpTokenKey *key = user_data;
  const char *x5t = NULL;

  g_assert_true (eh_json_object_get_string_checked (header, "x5t#S256", &x5t, NULL));
  g_assert_cmpstr (x5t, ==, key->x5t);
  *alg = EH_JWS_ALG_ES256;
  return eh_mp_pubkey_copy (key->pub, error);
}

/* a client token has the same header and claims whether its claims are
 * written directly (a plain site code) or built member by member (any
 * other), and its exp never passes the certificate's */
static void
test_client_token_claims (void)
{
  g_autoptr (EhMpTokenKey) key = test_token_key ();
  EhMpClient client = { .guid = (char *) "0f8fad5b-d9cb-469f-a165-70867728950e",
                        .thumbprint = (char *) "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" };
  static const char *const sites[] = { "PS1", "P\"S 1\\", "ü" };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < G_N_ELEMENTS (sites); i++) {
    for (guint lifetime = 3600; lifetime <= 2 * 86400; lifetime += 86400) {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) payload = NULL;
      g_autoptr (JsonNode) node = NULL;
      g_autofree char *aud = g_strdup_printf ("ehttpd:%s:mp", sites[i]);
      g_autofree char *token = NULL;
      gint64 expires_at = 0;
      JsonObject *claims, *cnf;

      token = eh_mp_client_token_issue (key, sites[i], &client, NULL, lifetime, now, &expires_at, &error);
      g_assert_no_error (error);
      g_assert_true (eh_jws_verify (token, 8192, EH_JWS_ALG_ES256, EH_MP_CLIENT_TOKEN_TYP, test_token_lookup, key,
                                    NULL, &payload, &error));
      g_assert_no_error (error);
      node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), 8192, 4, &error);
      g_assert_no_error (error);
      claims = json_node_get_object (node);
      g_assert_cmpuint (json_object_get_size (claims), ==, 8);
      g_assert_cmpstr (json_object_get_string_member (claims, "iss"), ==, sites[i]);
      g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==, client.guid);
      g_assert_cmpstr (json_object_get_string_member (claims, "aud"), ==, aud);
      g_assert_cmpint (json_object_get_int_member (claims, "iat"), ==, now);
      g_assert_cmpint (json_object_get_int_member (claims, "nbf"), ==, now);
      g_assert_cmpint (json_object_get_int_member (claims, "exp"), ==, MIN (now + lifetime, key->not_after));
      g_assert_cmpint (json_object_get_int_member (claims, "exp"), ==, expires_at);
      g_assert_true (g_uuid_string_is_valid (json_object_get_string_member (claims, "jti")));
      cnf = json_object_get_object_member (claims, "cnf");
      g_assert_cmpuint (json_object_get_size (cnf), ==, 1);
      g_assert_cmpstr (json_object_get_string_member (cnf, "jkt"), ==, client.thumbprint);
    }
  }
}

static EhMpRegistration *
test_registration (gnutls_x509_privkey_t *x509, EhKeyType type, const char *hardware_id)
{
  g_autoptr (GError) error = NULL;
  EhMpRegistration *registration = g_new0 (EhMpRegistration, 1);
  g_auto (gnutls_pubkey_t) pub = NULL;
  g_autoptr (JsonObject) jwk = NULL;
  g_autoptr (JsonNode) node = NULL;

  *x509 = eh_crypto_generate_key (type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  {
    g_auto (gnutls_privkey_t) key = NULL;

    g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
    g_assert_cmpint (gnutls_privkey_import_x509 (key, *x509, 0), ==, 0);
    g_assert_cmpint (gnutls_pubkey_import_privkey (pub, key, 0, 0), ==, 0);
  }
  jwk = eh_jws_pubkey_to_jwk (pub, &error);
  g_assert_no_error (error);
  node = json_node_init_object (json_node_alloc (), jwk);
  registration->jwk_json = json_to_string (node, FALSE);
  registration->thumbprint = eh_jws_pubkey_thumbprint (pub, &error);
  g_assert_no_error (error);
  registration->key_type = type == EH_KEY_ED25519 ? "ed25519" : "ecdsa-p256";
  registration->host_name = g_strdup ("pc1.example");
  registration->hardware_id = g_strdup (hardware_id);
  return registration;
}

/* the lookup a token request makes: the right client and state, and a key
 * that is the registered one (same thumbprint) */
static void
assert_key_state (EhStore *store, const char *thumbprint, const char *guid, EhMpClientState state)
{
  g_autoptr (GError) error = NULL;
  gnutls_pubkey_t key = NULL;
  EhJwsAlg alg = 0;
  g_autoptr (EhMpClient) client = eh_mp_records_get_key_by_thumbprint (store, thumbprint, &key, &alg, &error);
  g_autofree char *got = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (key);
  got = eh_jws_pubkey_thumbprint (key, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, thumbprint);
  g_assert_cmpint (alg, ==, g_str_equal (client->key_type, "ed25519") ? EH_JWS_ALG_EDDSA : EH_JWS_ALG_ES256);
  g_assert_cmpstr (client->guid, ==, guid);
  g_assert_cmpstr (client->thumbprint, ==, thumbprint);
  g_assert_cmpint (client->state, ==, state);
  gnutls_pubkey_deinit (key);
}

/* a new registration answers with the row it wrote, not read back: the same */
static void
assert_same_row (EhStore *store, const EhMpClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpClient) stored = eh_mp_records_get (store, client->guid, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (client->thumbprint, ==, stored->thumbprint);
  g_assert_cmpstr (client->jwk_json, ==, stored->jwk_json);
  g_assert_cmpstr (client->key_type, ==, stored->key_type);
  g_assert_cmpstr (client->host_name, ==, stored->host_name);
  g_assert_cmpstr (client->hardware_id, ==, stored->hardware_id);
  g_assert_cmpint (client->state, ==, stored->state);
  g_assert_cmpstr (client->approved_by, ==, stored->approved_by);
  g_assert_cmpstr (client->peer, ==, stored->peer);
  g_assert_cmpint (client->registered_at, ==, stored->registered_at);
  g_assert_cmpint (client->last_seen_at, ==, stored->last_seen_at);
  g_assert_cmpint (client->state_changed_at, ==, stored->state_changed_at);
  g_assert_cmpuint (client->same_hardware, ==, stored->same_hardware);
}

static guint64
cache_hits (EhStore *store)
{
  guint entries = 0;
  guint64 hits = 0, misses = 0;

  eh_mp_client_cache_stats (eh_mp_client_cache_get (store), &entries, &hits, &misses);
  return hits;
}

/* what a token request reads is the store's truth at that moment, cached
 * or not: a block, an unblock or an approval (by an admin, or by a bulk
 * token or Entra identity at re-registration) shows on the very next
 * request */
static void
test_token_lookup_follows_state (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eh-mp-worker-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "state.db", NULL);
  g_autoptr (EhStore) store = eh_store_open (path, &error);
  g_auto (gnutls_x509_privkey_t) x509 = NULL;
  g_autoptr (EhMpRegistration) registration = NULL;
  g_autoptr (EhMpClient) client = NULL;
  g_autoptr (EhMpClient) changed = NULL;
  gnutls_pubkey_t key = NULL;
  EhJwsAlg alg = 0;
  gboolean created = FALSE;
  static const struct {
    const char *action;
    EhMpClientState state;
  } steps[] = {
    { "approve", EH_MP_CLIENT_APPROVED },
    { "block", EH_MP_CLIENT_BLOCKED },
    { "unblock", EH_MP_CLIENT_APPROVED },
    { "block", EH_MP_CLIENT_BLOCKED },
  };

  g_assert_no_error (error);
  g_assert_true (eh_mp_records_migrate (store, &error));
  registration = test_registration (&x509, EH_KEY_ECDSA_P256, "hw-1");
  g_assert_null (eh_mp_records_get_key_by_thumbprint (store, registration->thumbprint, &key, &alg, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_assert_null (key);
  g_clear_error (&error);

  client = eh_mp_records_register (store, registration, FALSE, NULL, "127.0.0.1", &created, &error);
  g_assert_no_error (error);
  assert_same_row (store, client);
  assert_key_state (store, registration->thumbprint, client->guid, EH_MP_CLIENT_PENDING);
  /* the second lookup is served from memory, and says the same */
  assert_key_state (store, registration->thumbprint, client->guid, EH_MP_CLIENT_PENDING);
  g_assert_cmpuint (cache_hits (store), ==, 1);
  /* still pending, then approved at re-registration in an identity's name */
  g_clear_pointer (&changed, eh_mp_client_free);
  changed = eh_mp_records_register (store, registration, FALSE, NULL, "127.0.0.1", &created, &error);
  g_assert_no_error (error);
  assert_key_state (store, registration->thumbprint, client->guid, EH_MP_CLIENT_PENDING);
  g_clear_pointer (&changed, eh_mp_client_free);
  changed = eh_mp_records_register (store, registration, FALSE, "entra device 1", "127.0.0.1", &created, &error);
  g_assert_no_error (error);
  g_assert_cmpint (changed->state, ==, EH_MP_CLIENT_APPROVED);
  assert_key_state (store, registration->thumbprint, client->guid, EH_MP_CLIENT_APPROVED);
  /* back to pending is not an admin action; block and unblock are */
  for (guint i = 1; i < G_N_ELEMENTS (steps); i++) {
    g_clear_pointer (&changed, eh_mp_client_free);
    changed = eh_mp_records_set_state (store, client->guid, steps[i].action, "admin uid 0", &error);
    g_assert_no_error (error);
    assert_key_state (store, registration->thumbprint, client->guid, steps[i].state);
    assert_key_state (store, registration->thumbprint, client->guid, steps[i].state);
  }
  /* re-registration of a blocked key changes nothing */
  g_clear_pointer (&changed, eh_mp_client_free);
  changed = eh_mp_records_register (store, registration, TRUE, NULL, "127.0.0.1", &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  assert_key_state (store, registration->thumbprint, client->guid, EH_MP_CLIENT_BLOCKED);

  /* hostile lookups find nothing */
  {
    static const char *const hostile[] = { "", "x' OR '1'='1", "%", "_" };

    for (guint i = 0; i < G_N_ELEMENTS (hostile); i++) {
      g_assert_null (eh_mp_records_get_key_by_thumbprint (store, hostile[i], &key, &alg, &error));
      g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
      g_clear_error (&error);
    }
  }
  g_clear_object (&store);
  eh_test_remove_tree (dir);
}

/* a full cache makes room and stays right; an empty one (capacity 0)
 * always asks the store; Ed25519 keys come back whole from memory */
static void
test_client_cache_bounded (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eh-mp-cache-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "state.db", NULL);
  g_autoptr (EhStore) store = eh_store_open (path, &error);
  EhMpClientCache *cache;
  gnutls_x509_privkey_t x509[4] = { NULL };
  EhMpRegistration *registrations[4];
  EhMpClient *clients[4];
  guint entries = 0;
  guint64 hits = 0, misses = 0;

  g_assert_no_error (error);
  g_assert_true (eh_mp_records_migrate (store, &error));
  cache = eh_mp_client_cache_get (store);
  eh_mp_client_cache_set_capacity (cache, 2);
  for (guint i = 0; i < G_N_ELEMENTS (registrations); i++) {
    g_autofree char *hardware_id = g_strdup_printf ("hw-%u", i);
    gboolean created = FALSE;

    registrations[i] = test_registration (&x509[i], i % 2 ? EH_KEY_ED25519 : EH_KEY_ECDSA_P256, hardware_id);
    clients[i] = eh_mp_records_register (store, registrations[i], TRUE, NULL, "127.0.0.1", &created, &error);
    g_assert_no_error (error);
    assert_same_row (store, clients[i]);
  }
  for (guint round = 0; round < 3; round++) {
    for (guint i = 0; i < G_N_ELEMENTS (registrations); i++) {
      assert_key_state (store, registrations[i]->thumbprint, clients[i]->guid, EH_MP_CLIENT_APPROVED);
      eh_mp_client_cache_stats (cache, &entries, &hits, &misses);
      g_assert_cmpuint (entries, <=, 2);
    }
  }
  g_assert_cmpuint (hits + misses, ==, 12);

  eh_mp_client_cache_set_capacity (cache, 0);
  eh_mp_client_cache_stats (cache, &entries, &hits, &misses);
  g_assert_cmpuint (entries, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (registrations); i++)
    assert_key_state (store, registrations[i]->thumbprint, clients[i]->guid, EH_MP_CLIENT_APPROVED);
  eh_mp_client_cache_stats (cache, &entries, &hits, &misses);
  g_assert_cmpuint (entries, ==, 0);
  g_assert_cmpuint (hits + misses, ==, 16);

  /* big enough: the second round comes from memory, Ed25519 and P-256 alike */
  eh_mp_client_cache_set_capacity (cache, 16);
  for (guint round = 0; round < 2; round++) {
    for (guint i = 0; i < G_N_ELEMENTS (registrations); i++)
      assert_key_state (store, registrations[i]->thumbprint, clients[i]->guid, EH_MP_CLIENT_APPROVED);
  }
  {
    guint64 before = hits;

    eh_mp_client_cache_stats (cache, &entries, &hits, &misses);
    g_assert_cmpuint (entries, ==, 4);
    g_assert_cmpuint (hits - before, ==, 4);
  }
  for (guint i = 0; i < G_N_ELEMENTS (registrations); i++) {
    eh_mp_registration_free (registrations[i]);
    eh_mp_client_free (clients[i]);
    gnutls_x509_privkey_deinit (x509[i]);
  }
  g_clear_object (&store);
  eh_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/mp/workers/run-and-done", test_workers_run_and_done);
  g_test_add_func ("/eh/mp/workers/free-finishes", test_workers_free_finishes);
  g_test_add_func ("/eh/mp/token-key/retires-while-signing", test_token_key_retires_while_signing);
  g_test_add_func ("/eh/mp/token/client-token-claims", test_client_token_claims);
  g_test_add_func ("/eh/mp/token/lookup-follows-state", test_token_lookup_follows_state);
  g_test_add_func ("/eh/mp/token/client-cache-bounded", test_client_cache_bounded);
  return g_test_run ();
}
