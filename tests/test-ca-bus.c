/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ca.h"
#include "eh-core-private.h"
#include "eh-test-util.h"

/*
 * Who may ask the ca what over the bus link: the ca plugin in an in-process
 * core, asked through the same entry the link server uses, with the origins
 * the link server attaches (unenrolled, enrolled dp, enrolled mp).
 */

typedef struct {
  char *dir;
  EhCore *core;
  EhCa *ca;
} Fixture;

static const char *const dp_roles[] = { "dp", NULL };
static const char *const mp_roles[] = { "mp", NULL };

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  EhPlugin *plugin;

  f->dir = g_dir_make_tmp ("eh-ca-bus-XXXXXX", NULL);
  text = g_strdup_printf ("[core]\nstate-dir=%s/state\nhttp-listen=\nhttps-listen=\nplugins=\n", f->dir);
  g_assert_true (eh_config_load_data (config, text, -1, "test", NULL));
  f->core = eh_core_new (g_steal_pointer (&config), TRUE, &error);
  g_assert_no_error (error);
  plugin = eh_core_add_builtin_plugin (f->core, &eh_ca_plugin);
  g_assert_true (eh_core_start (f->core, &error));
  g_assert_no_error (error);
  while (!eh_core_is_settled (f->core))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (eh_plugin_get_state (plugin), ==, EH_PLUGIN_STATE_RUNNING);
  f->ca = eh_plugin_get_data (plugin);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  eh_core_free (f->core);
  eh_test_remove_tree (f->dir);
  g_free (f->dir);
}

typedef struct {
  gboolean done;
  GVariant *reply;
  GError *error;
} Answer;

static void
answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Answer *answer = user_data;

  answer->reply = eh_bus_request_finish (NULL, result, &answer->error);
  answer->done = TRUE;
}

/* asks @topic as a link peer with @roles (NULL: not enrolled) and waits */
static GVariant *
ask (Fixture *f, const char *topic, GVariant *payload, const char *serial,
     const char *const *roles, GError **error)
{
  const char *const none[] = { NULL };
  EhBusOrigin origin = { roles != NULL, "192.0.2.7", serial, roles != NULL ? roles : none };
  Answer answer = { 0 };

  eh_bus_hub_request_from_link (eh_core_get_hub (f->core), topic, payload, &origin, 5000, answered,
                                &answer);
  while (!answer.done)
    g_main_context_iteration (NULL, TRUE);
  if (answer.error != NULL)
    g_propagate_error (error, answer.error);
  return answer.reply;
}

static char *
make_csr (void)
{
  g_auto (gnutls_x509_privkey_t) key = eh_crypto_generate_key (EH_KEY_ECDSA_P256, NULL);
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t pem = { NULL, 0 };
  char *text;

  g_assert_cmpint (gnutls_x509_crq_init (&crq), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_set_key (crq, key), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_set_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0, "peer", 4), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_sign2 (crq, key, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_PEM, &pem), ==, 0);
  text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  gnutls_x509_crq_deinit (crq);
  return text;
}

static GVariant *
role_request (const char *const *names, const char *const *roles, const char *token)
{
  g_autofree char *csr = make_csr ();
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CSR_PEM, "s", csr);
  g_variant_dict_insert_value (&payload, EH_KEY_NAMES, g_variant_new_strv (names, -1));
  g_variant_dict_insert_value (&payload, EH_KEY_ROLES, g_variant_new_strv (roles, -1));
  if (token != NULL)
    g_variant_dict_insert (&payload, EH_KEY_JOIN_TOKEN, "s", token);
  return g_variant_dict_end (&payload);
}

static GVariant *
token_signing_request (void)
{
  g_autofree char *csr = make_csr ();
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CSR_PEM, "s", csr);
  g_variant_dict_insert (&payload, EH_KEY_HOST, "s", "mp1.example");
  return g_variant_dict_end (&payload);
}

static GVariant *
sign_request (void)
{
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert_value (&payload, EH_KEY_PAYLOAD,
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "{\"a\":1}", 7, 1));
  g_variant_dict_insert (&payload, EH_KEY_TYP, "s", "policy+jwt");
  return g_variant_dict_end (&payload);
}

static void
assert_denied (GVariant *reply, GError *error, const char *word)
{
  g_assert_null (reply);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, word));
}

/* a dp certificate issued to a joined host, as its link would present it */
static char *
enrol_dp (Fixture *f, const char *const *names)
{
  g_autofree char *chain = NULL;
  g_autofree char *serial = NULL;
  g_autoptr (GError) error = NULL;
  gint64 not_after = 0;
  g_autofree char *csr = make_csr ();

  g_assert_true (eh_ca_issue_role (f->ca, csr, names, dp_roles, "test", NULL, &chain, &serial,
                                   &not_after, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&serial);
}

static void
test_unenrolled (Fixture *f, gconstpointer data)
{
  const char *const names[] = { "edge.example", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = ask (f, EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE, role_request (names, dp_roles, NULL), NULL, NULL, &error);
  assert_denied (reply, error, "join token is needed");
  g_clear_error (&error);
  reply = ask (f, EH_TOPIC_CA_TOKEN_SIGNING_ISSUE, token_signing_request (), NULL, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  reply = ask (f, EH_TOPIC_CA_SITE_SIGNING_SIGN, sign_request (), NULL, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  /* public material is open to all */
  reply = ask (f, EH_TOPIC_CA_TRUST_BUNDLE_GET, g_variant_new ("a{sv}", NULL), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpint (eh_test_query_int (eh_plugin_get_store (f->ca->plugin, NULL),
                                      "SELECT count(*) FROM ca_certificates WHERE kind IN ('role', 'token-signing') "
                                      "AND roles != 'ca'"), ==, 0);
}

static void
test_enrolled_dp (Fixture *f, gconstpointer data)
{
  const char *const names[] = { "edge.example", "192.0.2.7", NULL };
  const char *const more_names[] = { "edge.example", "mp.example", NULL };
  const char *const more_roles[] = { "dp", "mp", NULL };
  g_autofree char *serial = enrol_dp (f, names);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  const char *renewed = NULL;

  /* renewal within what the certificate says */
  reply = ask (f, EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE, role_request (names, dp_roles, NULL), serial,
               dp_roles, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (reply, EH_KEY_SERIAL, "&s", &renewed));
  g_assert_cmpstr (renewed, !=, serial);
  g_clear_pointer (&reply, g_variant_unref);
  /* never wider: more roles, more names */
  reply = ask (f, EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE, role_request (names, more_roles, NULL), serial,
               dp_roles, &error);
  assert_denied (reply, error, "may not add roles or names");
  g_clear_error (&error);
  reply = ask (f, EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE, role_request (more_names, dp_roles, NULL), serial,
               dp_roles, &error);
  assert_denied (reply, error, "may not add roles or names");
  g_clear_error (&error);
  /* a dp signs nothing and gets no token signing certificate */
  reply = ask (f, EH_TOPIC_CA_TOKEN_SIGNING_ISSUE, token_signing_request (), serial, dp_roles, &error);
  assert_denied (reply, error, "mp role");
  g_clear_error (&error);
  reply = ask (f, EH_TOPIC_CA_SITE_SIGNING_SIGN, sign_request (), serial, dp_roles, &error);
  assert_denied (reply, error, "mp role");
}

static gnutls_pubkey_t
site_signing_key (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhCa *ca = user_data;
  gnutls_pubkey_t key = NULL;

  g_assert_cmpint (gnutls_pubkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_x509 (key, ca->site_signing.cert, 0), ==, 0);
  *alg = EH_JWS_ALG_ES256;
  return key;
}

static void
test_enrolled_mp (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonObject) header = NULL;
  const char *jws = NULL, *chain = NULL;

  reply = ask (f, EH_TOPIC_CA_TOKEN_SIGNING_ISSUE, token_signing_request (), "01", mp_roles, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (reply, EH_KEY_CHAIN_PEM, "&s", &chain));
  g_assert_true (g_str_has_prefix (chain, "-----BEGIN CERTIFICATE-----"));
  /* it is in the bundle from now on */
  g_assert_nonnull (strstr (f->ca->published.json, "\"ehttpd_host\":\"mp1.example\""));
  g_clear_pointer (&reply, g_variant_unref);

  reply = ask (f, EH_TOPIC_CA_SITE_SIGNING_SIGN, sign_request (), "01", mp_roles, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (reply, EH_KEY_JWS, "&s", &jws));
  g_assert_true (eh_jws_verify (jws, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_JWS_ALG_ES256, "policy+jwt",
                                site_signing_key, f->ca, &header, &payload, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), "{\"a\":1}", 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* refusals are logged as warnings, as an admin must see them; criticals stay fatal */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/eh/ca-bus/unenrolled", test_unenrolled);
  ADD ("/eh/ca-bus/enrolled-dp", test_enrolled_dp);
  ADD ("/eh/ca-bus/enrolled-mp", test_enrolled_mp);
#undef ADD
  return g_test_run ();
}
