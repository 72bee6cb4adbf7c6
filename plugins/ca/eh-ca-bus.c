/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ca.h"

/*
 * The ca's bus responders. Who may ask what:
 * - this host: anything;
 * - an enrolled link peer: renew its role certificate for at most the
 *   roles and names of the certificate it presented; with the mp role,
 *   token signing certificates and site signatures;
 * - a link peer that has not enrolled: a role certificate with a join
 *   token (at most the token's roles and names), and the trust bundle.
 */

static gboolean
eh_ca_origin_has_role (const EhBusOrigin *origin, const char *role)
{
  return origin == NULL ||
         (origin->authenticated && origin->roles != NULL && g_strv_contains (origin->roles, role));
}

static char *
eh_ca_requester (const EhBusOrigin *origin)
{
  if (origin == NULL)
    return g_strdup ("this host");
  if (origin->authenticated)
    return g_strdup_printf ("link peer %s (certificate %s)", origin->peer_address, origin->serial);
  return g_strdup_printf ("link peer %s (not enrolled)", origin->peer_address);
}

/* an enrolled peer renews within what its current certificate says */
static gboolean
eh_ca_renewal_allowed (EhCa *ca, const EhBusOrigin *origin, const char *const *names,
                       const char *const *roles, GError **error)
{
  g_autoptr (EhCaRecord) current = eh_ca_records_get (ca->store, origin->serial, error);
  g_auto (GStrv) normalized = NULL;

  if (current == NULL)
    return FALSE;
  normalized = eh_ca_names_normalize (names, error);
  if (normalized == NULL)
    return FALSE;
  if (!eh_ca_strv_subset (roles, (const char *const *) current->roles) ||
      !eh_ca_strv_subset ((const char *const *) normalized, (const char *const *) current->names)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "a renewal may not add roles or names to certificate %s; enrol again with a "
                 "join token for that", origin->serial);
    return FALSE;
  }
  return TRUE;
}

static void
eh_ca_answer_order (EhCa *ca, EhCaRoleOrder *order)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *chain = NULL;
  GVariantDict reply;

  if (order->issuance.certificate == NULL ||
      (chain = eh_ca_role_order_chain (ca, order, &error)) == NULL) {
    const GError *why = error != NULL ? error : order->issuance.error;

    g_warning ("role certificate refused to %s: %s", order->requester, why->message);
    eh_bus_request_fail (order->request, why);
    return;
  }
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_CHAIN_PEM, "s", chain);
  g_variant_dict_insert (&reply, EH_KEY_SERIAL, "s", order->issuance.serial);
  g_variant_dict_insert (&reply, EH_KEY_NOT_AFTER, "x",
                         (gint64) gnutls_x509_crt_get_expiration_time (order->issuance.certificate));
  eh_bus_request_reply (order->request, g_variant_dict_end (&reply));
}

#define EH_CA_BATCH_MAX 64

/* every order that came in since the last turn of the main loop, as one batch */
static gboolean
eh_ca_issue_waiting (gpointer data)
{
  EhCa *ca = data;
  guint n = MIN (ca->waiting->len, EH_CA_BATCH_MAX);
  g_autoptr (GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_ca_role_order_free);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (batch, g_ptr_array_steal_index (ca->waiting, 0));
  eh_ca_role_orders_issue (ca, (EhCaRoleOrder *const *) batch->pdata, batch->len);
  for (guint i = 0; i < batch->len; i++)
    eh_ca_answer_order (ca, g_ptr_array_index (batch, i));
  if (ca->waiting->len > 0)
    return G_SOURCE_CONTINUE;
  ca->issue_source = 0;
  return G_SOURCE_REMOVE;
}

void
eh_ca_bus_stop (EhCa *ca)
{
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE, "the ca is stopping");

  if (ca->issue_source != 0)
    g_source_remove (ca->issue_source);
  ca->issue_source = 0;
  while (ca->waiting != NULL && ca->waiting->len > 0) {
    g_autoptr (EhCaRoleOrder) order = g_ptr_array_steal_index (ca->waiting, 0);

    eh_bus_request_fail (order->request, error);
  }
  g_clear_pointer (&ca->waiting, g_ptr_array_unref);
}

static void
eh_ca_on_role_certificate (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhCa *ca = user_data;
  const EhBusOrigin *origin = eh_bus_request_get_origin (request);
  g_autofree const char **names = NULL;
  g_autofree const char **roles = NULL;
  g_autofree char *token_id = NULL;
  g_autofree char *requester = eh_ca_requester (origin);
  g_autoptr (GError) error = NULL;
  const char *csr = NULL, *token = NULL;
  EhCaRoleOrder *order;

  g_variant_lookup (payload, EH_KEY_CSR_PEM, "&s", &csr);
  g_variant_lookup (payload, EH_KEY_NAMES, "^a&s", &names);
  g_variant_lookup (payload, EH_KEY_ROLES, "^a&s", &roles);
  g_variant_lookup (payload, EH_KEY_JOIN_TOKEN, "&s", &token);
  if (token != NULL) {
    g_auto (GStrv) normalized = eh_ca_names_normalize (names, &error);

    if (normalized == NULL ||
        !eh_ca_join_token_check (ca->store, token, roles, (const char *const *) normalized,
                                 &token_id, &error))
      goto refuse;
    g_free (requester);
    requester = g_strdup_printf ("%s with join token %s", origin != NULL ? origin->peer_address : "this host",
                                 token_id);
  } else if (origin != NULL && !origin->authenticated) {
    error = g_error_new (EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                         "this host has not enrolled: a join token is needed");
    goto refuse;
  } else if (origin != NULL && !eh_ca_renewal_allowed (ca, origin, names, roles, &error)) {
    goto refuse;
  }
  order = eh_ca_role_order_new (ca, csr, names, roles, requester, token_id, &error);
  if (order == NULL)
    goto refuse;
  order->request = request;
  g_ptr_array_add (ca->waiting, order);
  if (ca->issue_source == 0)
    ca->issue_source = g_idle_add (eh_ca_issue_waiting, ca);
  return;
refuse:
  g_warning ("role certificate refused to %s: %s", requester, error->message);
  eh_bus_request_fail (request, error);
}

static void
eh_ca_on_token_signing (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhCa *ca = user_data;
  const EhBusOrigin *origin = eh_bus_request_get_origin (request);
  g_autofree char *requester = eh_ca_requester (origin);
  g_autofree char *host = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *leaf_pem = NULL;
  g_auto (gnutls_pubkey_t) pubkey = NULL;
  g_auto (gnutls_x509_crt_t) crt = NULL;
  g_autoptr (GError) error = NULL;
  const char *csr = NULL, *host_asked = NULL;
  EhCaSpec spec = { 0 };
  GVariantDict reply;

  g_variant_lookup (payload, EH_KEY_CSR_PEM, "&s", &csr);
  g_variant_lookup (payload, EH_KEY_HOST, "&s", &host_asked);
  if (!eh_ca_origin_has_role (origin, "mp")) {
    error = g_error_new (EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                         "only a host with the mp role gets token signing certificates");
    goto refuse;
  }
  if ((pubkey = eh_ca_csr_read (csr, &error)) == NULL ||
      (host = eh_ca_name_normalize (host_asked, &error)) == NULL)
    goto refuse;
  spec.kind = EH_CA_KIND_TOKEN_SIGNING;
  spec.pubkey = pubkey;
  spec.common_name = host;
  spec.host = host;
  spec.lifetime_seconds = (guint64) ca->token_signing_days * 86400;
  spec.requester = requester;
  crt = eh_ca_issue (ca->store, &spec, ca->root.cert, ca->root.key, ca->site_code, &serial, &error);
  if (crt == NULL || (leaf_pem = eh_crypto_cert_to_pem (crt, &error)) == NULL ||
      !eh_ca_republish (ca, &error))
    goto refuse;
  g_message ("issued token signing certificate %s for %s to %s", serial, host, requester);
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_CHAIN_PEM, "s", leaf_pem);
  g_variant_dict_insert (&reply, EH_KEY_SERIAL, "s", serial);
  g_variant_dict_insert (&reply, EH_KEY_NOT_AFTER, "x", (gint64) gnutls_x509_crt_get_expiration_time (crt));
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
  return;
refuse:
  g_warning ("token signing certificate refused to %s: %s", requester, error->message);
  eh_bus_request_fail (request, error);
}

static gboolean
eh_ca_typ_is_valid (const char *typ)
{
  gsize len = strlen (typ);

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (typ[i]) && strchr ("+-./", typ[i]) == NULL)
      return FALSE;
  }
  return TRUE;
}

static void
eh_ca_on_site_signing (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhCa *ca = user_data;
  g_autoptr (GVariant) data = g_variant_lookup_value (payload, EH_KEY_PAYLOAD, G_VARIANT_TYPE_BYTESTRING);
  g_autoptr (GBytes) bytes = g_variant_get_data_as_bytes (data);
  g_autoptr (JsonObject) header = json_object_new ();
  g_autofree char *thumbprint = NULL;
  g_autofree char *jws = NULL;
  g_autoptr (GError) error = NULL;
  const char *typ = NULL;
  EhJwsAlg alg;
  GVariantDict reply;

  g_variant_lookup (payload, EH_KEY_TYP, "&s", &typ);
  if (!eh_ca_origin_has_role (eh_bus_request_get_origin (request), "mp")) {
    error = g_error_new (EH_ERROR, EH_ERROR_PERMISSION_DENIED, "only a host with the mp role may sign policy");
  } else if (!eh_ca_typ_is_valid (typ)) {
    error = g_error_new (EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "typ must be 1 to 64 of [A-Za-z0-9+-./]");
  } else if ((thumbprint = eh_jws_cert_thumbprint (ca->site_signing.cert, &error)) != NULL &&
             eh_jws_alg_for_key (ca->site_signing.key, &alg, &error)) {
    json_object_set_string_member (header, "x5t#S256", thumbprint);
    jws = eh_jws_sign (ca->site_signing.key, alg, typ, header, bytes, &error);
  }
  if (jws == NULL) {
    eh_bus_request_fail (request, error);
    return;
  }
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_JWS, "s", jws);
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
}

static void
eh_ca_on_trust_bundle (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhCa *ca = user_data;
  GVariantDict reply;

  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_BUNDLE_JSON, "s", ca->published.json);
  g_variant_dict_insert (&reply, EH_KEY_BUNDLE_PEM, "s", ca->published.pem);
  g_variant_dict_insert (&reply, EH_KEY_VERSION, "t", ca->published.version);
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
}

/* is @pem a current role certificate of this site? its record, or NULL */
static EhCaRecord *
eh_ca_check_peer (EhCa *ca, const char *pem, GError **error)
{
  g_auto (gnutls_x509_crt_t) cert = eh_crypto_cert_from_pem (pem, strlen (pem), error);
  guint8 serial[EH_CA_SERIAL_BYTES + 1];
  size_t serial_size = sizeof serial;
  unsigned int status = 0;
  g_autofree char *serial_hex = NULL;
  g_autoptr (EhCaRecord) record = NULL;

  if (cert == NULL)
    return NULL;
  if (gnutls_x509_crt_verify (cert, &ca->root.cert, 1, 0, &status) < 0 || status != 0 ||
      gnutls_x509_crt_get_serial (cert, serial, &serial_size) < 0) {
    gnutls_datum_t why = { NULL, 0 }, what = { NULL, 0 };

    if (gnutls_x509_crt_print (cert, GNUTLS_CRT_PRINT_ONELINE, &what) >= 0)
      g_debug ("link peer presented %s", (const char *) what.data);
    gnutls_free (what.data);
    gnutls_certificate_verification_status_print (status, GNUTLS_CRT_X509, &why, 0);
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "the certificate is not a current one issued by this site's root (%s)",
                 why.data != NULL ? (const char *) why.data : "unreadable");
    gnutls_free (why.data);
    return NULL;
  }
  serial_hex = eh_ca_serial_to_hex (serial, serial_size);
  record = eh_ca_records_get (ca->store, serial_hex, NULL);
  if (record == NULL || record->kind != EH_CA_KIND_ROLE || g_strcmp0 (record->state, "issued") != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "certificate %s is %s", serial_hex,
                 record == NULL ? "not recorded" : record->kind != EH_CA_KIND_ROLE ? "not a role certificate"
                                                                                  : record->state);
    return NULL;
  }
  return g_steal_pointer (&record);
}

static void
eh_ca_on_link_peer (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhCa *ca = user_data;
  g_autoptr (EhCaRecord) record = NULL;
  g_autoptr (GError) error = NULL;
  const char *pem = NULL;
  GVariantDict reply;

  g_variant_lookup (payload, EH_KEY_CERTIFICATE_PEM, "&s", &pem);
  record = eh_ca_check_peer (ca, pem, &error);
  if (record == NULL) {
    g_info ("link peer refused: %s", error->message);
    eh_bus_request_fail (request, error);
    return;
  }
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_SERIAL, "s", record->serial);
  g_variant_dict_insert_value (&reply, EH_KEY_ROLES,
                               g_variant_new_strv ((const char *const *) record->roles, -1));
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
}

gboolean
eh_ca_bus_start (EhCa *ca, GError **error)
{
  ca->waiting = g_ptr_array_new ();
  static const struct {
    const char *topic;
    EhBusRequestFunc func;
  } responders[] = {
    { EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE, eh_ca_on_role_certificate },
    { EH_TOPIC_CA_TOKEN_SIGNING_ISSUE, eh_ca_on_token_signing },
    { EH_TOPIC_CA_SITE_SIGNING_SIGN, eh_ca_on_site_signing },
    { EH_TOPIC_CA_TRUST_BUNDLE_GET, eh_ca_on_trust_bundle },
    { EH_TOPIC_CA_LINK_PEER_CHECK, eh_ca_on_link_peer },
  };

  for (guint i = 0; i < G_N_ELEMENTS (responders); i++) {
    if (eh_bus_respond (ca->bus, responders[i].topic, responders[i].func, ca, NULL, error) == 0)
      return FALSE;
  }
  return TRUE;
}
