/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "eh-bus-topics.h"
#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-identity-private.h"

#define EH_IDENTITY_RETRY_MIN_S 1
#define EH_IDENTITY_RETRY_MAX_S 300
#define EH_IDENTITY_REQUEST_TIMEOUT_MS 30000

struct _EhIdentity {
  EhBus *bus;
  EhTls *tls;
  EhConfig *config;
  char *host_pem;
  GStrv roles;
  gboolean active;
  gboolean started;
  gboolean in_flight;
  guint timer;
  guint retry_seconds;
  guint link_subscription;
  GList *waiters; /* GTasks of eh_identity_renew() */
};

/* letters, digits, '-' and '.', as a DNS name in a certificate must be */
static gboolean
eh_identity_is_host_name (const char *name)
{
  if (name[0] == '\0' || name[0] == '-' || name[0] == '.' || strlen (name) > 253)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
      return FALSE;
  }
  return TRUE;
}

GStrv
eh_identity_default_names (EhConfig *config)
{
  g_auto (GStrv) configured = eh_config_get_string_list (config, "site", "names");
  g_auto (GStrv) listen = eh_config_get_string_list (config, "core", "https-listen");
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_autofree char *host = g_ascii_strdown (g_get_host_name (), -1);

  if (configured[0] != NULL)
    return g_steal_pointer (&configured);
  if (eh_identity_is_host_name (host))
    g_strv_builder_add (names, host);
  if (g_strcmp0 (host, "localhost") != 0)
    g_strv_builder_add (names, "localhost");
  for (guint i = 0; listen[i] != NULL; i++) {
    /* "IP:PORT" or "[IPv6]:PORT"; wildcard addresses name nobody */
    const char *colon = strrchr (listen[i], ':');
    g_autofree char *ip = colon != NULL ? g_strndup (listen[i], colon - listen[i]) : NULL;
    g_autoptr (GInetAddress) address = NULL;

    if (ip == NULL)
      continue;
    if (ip[0] == '[' && ip[strlen (ip) - 1] == ']') {
      memmove (ip, ip + 1, strlen (ip));
      ip[strlen (ip) - 1] = '\0';
    }
    address = g_inet_address_new_from_string (ip);
    if (address != NULL && !g_inet_address_get_is_any (address))
      g_strv_builder_add (names, ip);
  }
  return g_strv_builder_end (names);
}

static void eh_identity_request (EhIdentity *identity);

static gboolean
eh_identity_timer_fired (gpointer data)
{
  EhIdentity *identity = data;

  identity->timer = 0;
  eh_identity_request (identity);
  return G_SOURCE_REMOVE;
}

static void
eh_identity_schedule (EhIdentity *identity, guint seconds)
{
  if (identity->timer != 0)
    g_source_remove (identity->timer);
  identity->timer = g_timeout_add_seconds (MAX (seconds, 1), eh_identity_timer_fired, identity);
}

/* 2/3 into the certificate's life, less up to 1/30 of it at random */
static void
eh_identity_schedule_renewal (EhIdentity *identity)
{
  GTlsCertificate *current = eh_tls_get_certificate (identity->tls);
  g_autoptr (GDateTime) not_before = current != NULL ? g_tls_certificate_get_not_valid_before (current) : NULL;
  gint64 start = not_before != NULL ? g_date_time_to_unix (not_before) : 0;
  gint64 end = eh_tls_get_not_after (identity->tls);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 lifetime = MAX (end - start, 3);
  guint32 jitter = 0;
  gint64 renew_at;

  gnutls_rnd (GNUTLS_RND_NONCE, &jitter, sizeof jitter);
  renew_at = start + lifetime * 2 / 3 - (gint64) (jitter % (guint32) MAX (lifetime / 30, 1));
  eh_identity_schedule (identity, renew_at > now ? MIN (renew_at - now, G_MAXUINT32 / 2) : 1);
  g_info ("role certificate renewal in %" G_GINT64_FORMAT " s", MAX (renew_at - now, 1));
}

static char *
eh_identity_make_csr (gnutls_x509_privkey_t key, const char *common_name, GError **error)
{
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t pem = { NULL, 0 };
  char *result = NULL;

  if (gnutls_x509_crq_init (&crq) >= 0 && gnutls_x509_crq_set_version (crq, 1) >= 0 &&
      gnutls_x509_crq_set_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                     strlen (common_name)) >= 0 &&
      gnutls_x509_crq_set_key (crq, key) >= 0 && gnutls_x509_crq_sign2 (crq, key, GNUTLS_DIG_SHA256, 0) >= 0 &&
      gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_PEM, &pem) >= 0)
    result = g_strndup ((const char *) pem.data, pem.size);
  else
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot make a certificate request");
  gnutls_free (pem.data);
  if (crq != NULL)
    gnutls_x509_crq_deinit (crq);
  return result;
}

typedef struct {
  EhIdentity *identity;
  char *key_pem;
} EhIdentityAttempt;

static void
eh_identity_attempt_free (EhIdentityAttempt *attempt)
{
  eh_crypto_free_secret (attempt->key_pem);
  g_free (attempt);
}

static void
eh_identity_answer_waiters (EhIdentity *identity, GVariant *result, const GError *error)
{
  GList *waiters = g_steal_pointer (&identity->waiters);

  for (GList *l = waiters; l != NULL; l = l->next) {
    if (result != NULL)
      g_task_return_pointer (l->data, g_variant_ref (result), (GDestroyNotify) g_variant_unref);
    else
      g_task_return_error (l->data, g_error_copy (error));
  }
  g_list_free_full (waiters, g_object_unref);
}

static void
eh_identity_failed (EhIdentity *identity, const GError *error)
{
  eh_identity_answer_waiters (identity, NULL, error);
  /* no ca here and no link to one: nothing to wait for */
  if (g_error_matches (error, EH_ERROR, EH_ERROR_NO_RESPONDER)) {
    g_info ("no role certificate: %s", error->message);
    return;
  }
  /* the link still coming up is the normal start of an edge host */
  if (g_error_matches (error, EH_ERROR, EH_ERROR_UNAVAILABLE))
    g_message ("no role certificate yet, retrying in %u s: %s", identity->retry_seconds, error->message);
  else
    g_warning ("no role certificate yet, retrying in %u s: %s", identity->retry_seconds, error->message);
  eh_identity_schedule (identity, identity->retry_seconds);
  identity->retry_seconds = MIN (identity->retry_seconds * 2, EH_IDENTITY_RETRY_MAX_S);
}

static void
eh_identity_issued (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhIdentityAttempt *attempt = user_data;
  EhIdentity *identity = attempt->identity;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (identity->bus, result, &error);
  const char *chain = NULL, *serial = NULL;
  GVariantDict answer;

  identity->in_flight = FALSE;
  if (reply != NULL) {
    g_variant_lookup (reply, EH_KEY_CHAIN_PEM, "&s", &chain);
    g_variant_lookup (reply, EH_KEY_SERIAL, "&s", &serial);
  }
  if (reply == NULL || !eh_tls_install (identity->tls, chain, attempt->key_pem, identity->host_pem, &error)) {
    eh_identity_failed (identity, error);
    eh_identity_attempt_free (attempt);
    return;
  }
  g_message ("role certificate %s installed (%s)", serial, eh_tls_get_fingerprint (identity->tls));
  identity->retry_seconds = EH_IDENTITY_RETRY_MIN_S;
  eh_identity_schedule_renewal (identity);
  g_variant_dict_init (&answer, NULL);
  g_variant_dict_insert (&answer, "serial", "s", serial);
  g_variant_dict_insert (&answer, "fingerprint", "s", eh_tls_get_fingerprint (identity->tls));
  g_variant_dict_insert (&answer, "not-after", "x", eh_tls_get_not_after (identity->tls));
  {
    g_autoptr (GVariant) done = g_variant_ref_sink (g_variant_dict_end (&answer));

    eh_identity_answer_waiters (identity, done, NULL);
  }
  eh_identity_attempt_free (attempt);
}

static GVariant *
eh_identity_payload (EhIdentity *identity, const char *csr, const char *const *names)
{
  const char *token = eh_config_get_string (identity->config, "site", "join-token");
  GVariantDict payload;

  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_CSR_PEM, "s", csr);
  g_variant_dict_insert_value (&payload, EH_KEY_NAMES, g_variant_new_strv (names, -1));
  g_variant_dict_insert_value (&payload, EH_KEY_ROLES,
                               g_variant_new_strv ((const char *const *) identity->roles, -1));
  /* the one-time token enrols a host that has no certificate yet; a host
   * that has one renews with it */
  if (token != NULL && token[0] != '\0' && eh_tls_get_certificate (identity->tls) == NULL)
    g_variant_dict_insert (&payload, EH_KEY_JOIN_TOKEN, "s", token);
  return g_variant_dict_end (&payload);
}

static void
eh_identity_request (EhIdentity *identity)
{
  g_auto (GStrv) names = eh_identity_default_names (identity->config);
  g_auto (gnutls_x509_privkey_t) key = NULL;
  g_autofree char *csr = NULL;
  g_autoptr (GError) error = NULL;
  EhIdentityAttempt *attempt;

  if (identity->in_flight)
    return;
  if (names[0] == NULL) {
    error = g_error_new (EH_ERROR, EH_ERROR_INVALID_CONFIG, "no names for this host: set [site] names");
    eh_identity_failed (identity, error);
    return;
  }
  /* P-256 keys take well under a millisecond: no thread needed */
  key = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);
  if (key == NULL || (csr = eh_identity_make_csr (key, names[0], &error)) == NULL) {
    eh_identity_failed (identity, error);
    return;
  }
  attempt = g_new0 (EhIdentityAttempt, 1);
  attempt->identity = identity;
  attempt->key_pem = eh_crypto_key_to_pem (key, &error);
  if (attempt->key_pem == NULL) {
    eh_identity_attempt_free (attempt);
    eh_identity_failed (identity, error);
    return;
  }
  identity->in_flight = TRUE;
  eh_bus_request (identity->bus, EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE,
                  eh_identity_payload (identity, csr, (const char *const *) names),
                  EH_IDENTITY_REQUEST_TIMEOUT_MS, NULL, eh_identity_issued, attempt);
}

/* a link that comes up is the moment to retry at once */
static void
eh_identity_link_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhIdentity *identity = user_data;
  const char *state = NULL;

  g_variant_lookup (payload, EH_KEY_STATE, "&s", &state);
  if (identity->started && identity->timer != 0 && g_strcmp0 (state, "up") == 0 &&
      eh_tls_get_certificate (identity->tls) == NULL) {
    g_source_remove (identity->timer);
    identity->timer = 0;
    eh_identity_request (identity);
  }
}

EhIdentity *
eh_identity_new (EhBus *bus, EhTls *tls, EhConfig *config, const char *state_dir,
                 const char *const *roles)
{
  EhIdentity *identity = g_new0 (EhIdentity, 1);
  const char *pki = eh_config_get_string (config, "core", "tls-certificate");

  identity->bus = bus;
  identity->tls = tls;
  identity->config = config;
  identity->host_pem = g_build_filename (state_dir, "tls", "host.pem", NULL);
  identity->roles = g_strdupv ((char **) roles);
  identity->retry_seconds = EH_IDENTITY_RETRY_MIN_S;
  identity->active = (pki == NULL || pki[0] == '\0') && roles != NULL && roles[0] != NULL;
  identity->link_subscription = eh_bus_subscribe (bus, EH_TOPIC_LINK_STATE, eh_identity_link_changed,
                                                  identity, NULL);
  return identity;
}

void
eh_identity_free (EhIdentity *identity)
{
  g_autoptr (GError) error = NULL;

  if (identity == NULL)
    return;
  error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE, "the daemon is stopping");
  eh_identity_answer_waiters (identity, NULL, error);
  if (identity->timer != 0)
    g_source_remove (identity->timer);
  eh_bus_unsubscribe (identity->bus, identity->link_subscription);
  g_strfreev (identity->roles);
  g_free (identity->host_pem);
  g_free (identity);
}

void
eh_identity_start (EhIdentity *identity)
{
  if (!identity->active || identity->started)
    return;
  identity->started = TRUE;
  if (eh_tls_get_certificate (identity->tls) == NULL)
    eh_identity_request (identity);
  else
    eh_identity_schedule_renewal (identity);
}

void
eh_identity_renew (EhIdentity *identity, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);

  if (!identity->active) {
    g_task_return_new_error (task, EH_ERROR, EH_ERROR_UNAVAILABLE,
                             "this host does not use a site-issued certificate (a PKI certificate "
                             "is configured, or it runs no role)");
    g_object_unref (task);
    return;
  }
  identity->waiters = g_list_append (identity->waiters, task);
  if (identity->timer != 0) {
    g_source_remove (identity->timer);
    identity->timer = 0;
  }
  eh_identity_request (identity);
}

GVariant *
eh_identity_renew_finish (EhIdentity *identity, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
