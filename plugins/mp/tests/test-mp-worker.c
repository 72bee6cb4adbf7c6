/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"
#include "eh-test-util.h"

/* the token path off the main loop: the workers, token keys that retire
 * while they sign, and what a token request reads of a client */

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

static EhMpRegistration *
test_registration (gnutls_x509_privkey_t *x509, const char *hardware_id)
{
  g_autoptr (GError) error = NULL;
  EhMpRegistration *registration = g_new0 (EhMpRegistration, 1);
  g_auto (gnutls_pubkey_t) pub = NULL;
  g_autoptr (JsonObject) jwk = NULL;
  g_autoptr (JsonNode) node = NULL;

  *x509 = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
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
  registration->key_type = "ecdsa-p256";
  registration->host_name = g_strdup ("pc1.example");
  registration->hardware_id = g_strdup (hardware_id);
  return registration;
}

static void
assert_key_state (EhStore *store, const char *thumbprint, const char *guid, EhMpClientState state)
{
  g_autoptr (GError) error = NULL;
  gnutls_pubkey_t key = NULL;
  EhJwsAlg alg = 0;
  g_autoptr (EhMpClient) client = eh_mp_records_get_key_by_thumbprint (store, thumbprint, &key, &alg, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  g_assert_cmpint (alg, ==, EH_JWS_ALG_ES256);
  g_assert_cmpstr (client->guid, ==, guid);
  g_assert_cmpstr (client->thumbprint, ==, thumbprint);
  g_assert_cmpint (client->state, ==, state);
  gnutls_pubkey_deinit (key);
}

/* what a token request reads is the store's truth at that moment: a block,
 * an unblock or an approval shows on the very next request */
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
  registration = test_registration (&x509, "hw-1");
  g_assert_null (eh_mp_records_get_key_by_thumbprint (store, registration->thumbprint, &key, &alg, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_assert_null (key);
  g_clear_error (&error);

  client = eh_mp_records_register (store, registration, FALSE, NULL, "127.0.0.1", &created, &error);
  g_assert_no_error (error);
  assert_key_state (store, registration->thumbprint, client->guid, EH_MP_CLIENT_PENDING);
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    changed = eh_mp_records_set_state (store, client->guid, steps[i].action, "admin uid 0", &error);
    g_assert_no_error (error);
    g_clear_pointer (&changed, eh_mp_client_free);
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/mp/workers/run-and-done", test_workers_run_and_done);
  g_test_add_func ("/eh/mp/workers/free-finishes", test_workers_free_finishes);
  g_test_add_func ("/eh/mp/token-key/retires-while-signing", test_token_key_retires_while_signing);
  g_test_add_func ("/eh/mp/token/lookup-follows-state", test_token_lookup_follows_state);
  return g_test_run ();
}
