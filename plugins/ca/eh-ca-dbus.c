/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ca.h"

/* org.ehttpd.Ca at /org/ehttpd/Plugin/ca; ehttpctl's ca, cert and join-token commands */
static const char eh_ca_dbus_xml[] =
  "<node>"
  "  <interface name='org.ehttpd.Ca'>"
  "    <method name='Show'>"
  "      <arg name='ca' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListCertificates'>"
  "      <arg name='kind' type='s' direction='in'/>"
  "      <arg name='certificates' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ShowCertificate'>"
  "      <arg name='serial' type='s' direction='in'/>"
  "      <arg name='certificate' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='IssueCertificate'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='csr_pem' type='s' direction='in'/>"
  "      <arg name='names' type='as' direction='in'/>"
  "      <arg name='roles' type='as' direction='in'/>"
  "      <arg name='certificate' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='RevokeCertificate'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='serial' type='s' direction='in'/>"
  "      <arg name='reason' type='s' direction='in'/>"
  "    </method>"
  "    <method name='CreateJoinToken'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='roles' type='as' direction='in'/>"
  "      <arg name='names' type='as' direction='in'/>"
  "      <arg name='ttl_seconds' type='t' direction='in'/>"
  "      <arg name='token' type='a{sv}' direction='out'/>"
  "    </method>"
  "    <method name='ListJoinTokens'>"
  "      <arg name='tokens' type='aa{sv}' direction='out'/>"
  "    </method>"
  "    <method name='RevokeJoinToken'>"
  "      <annotation name='org.ehttpd.Admin' value='true'/>"
  "      <arg name='id' type='s' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static const char *const eh_ca_revocation_reasons[] = {
  "unspecified", "key-compromise", "affiliation-changed", "superseded", "cessation-of-operation", NULL,
};

static GVariant *
eh_ca_dbus_record (const EhCaRecord *record, gboolean with_pem)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "serial", "s", record->serial);
  g_variant_dict_insert (&dict, "kind", "s", eh_ca_kind_to_string (record->kind));
  g_variant_dict_insert (&dict, "state", "s", record->state);
  g_variant_dict_insert (&dict, "subject", "s", record->subject);
  g_variant_dict_insert_value (&dict, "names", g_variant_new_strv ((const char *const *) record->names, -1));
  g_variant_dict_insert_value (&dict, "roles", g_variant_new_strv ((const char *const *) record->roles, -1));
  g_variant_dict_insert (&dict, "host", "s", record->host != NULL ? record->host : "");
  g_variant_dict_insert (&dict, "requester", "s", record->requester);
  g_variant_dict_insert (&dict, "not-before", "x", record->not_before);
  g_variant_dict_insert (&dict, "not-after", "x", record->not_after);
  g_variant_dict_insert (&dict, "created-at", "x", record->created_at);
  g_variant_dict_insert (&dict, "fingerprint", "s", record->fingerprint != NULL ? record->fingerprint : "");
  if (record->revoked_at != 0) {
    g_variant_dict_insert (&dict, "revoked-at", "x", record->revoked_at);
    g_variant_dict_insert (&dict, "reason", "s", record->reason != NULL ? record->reason : "");
  }
  if (with_pem && record->der != NULL) {
    g_auto (gnutls_x509_crt_t) cert = eh_crypto_cert_from_der (record->der, NULL);
    g_autofree char *pem = cert != NULL ? eh_crypto_cert_to_pem (cert, NULL) : NULL;

    if (pem != NULL)
      g_variant_dict_insert (&dict, "pem", "s", pem);
  }
  return g_variant_dict_end (&dict);
}

static GVariant *
eh_ca_dbus_show (EhCa *ca)
{
  GVariantDict dict;
  g_autofree char *join_line = g_strdup_printf ("root-fingerprint=%s", ca->root.fingerprint);
  g_auto (gnutls_pubkey_t) pubkey = NULL;
  unsigned int bits = 0;
  int algo = GNUTLS_PK_UNKNOWN;

  if (gnutls_pubkey_init (&pubkey) >= 0 && gnutls_pubkey_import_x509 (pubkey, ca->root.cert, 0) >= 0)
    algo = gnutls_pubkey_get_pk_algorithm (pubkey, &bits);
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "site-code", "s", ca->site_code);
  g_variant_dict_insert (&dict, "root-fingerprint", "s", ca->root.fingerprint);
  g_variant_dict_insert (&dict, "root-not-after", "x", (gint64) gnutls_x509_crt_get_expiration_time (ca->root.cert));
  g_variant_dict_insert (&dict, "root-key", "s", gnutls_pk_algorithm_get_name (algo));
  g_variant_dict_insert (&dict, "root-key-bits", "u", bits);
  g_variant_dict_insert (&dict, "root-key-location", "s",
                         eh_crypto_location_is_pkcs11 (ca->root_config.root_key) ? "pkcs11" : "file");
  g_variant_dict_insert (&dict, "site-signing-fingerprint", "s", ca->site_signing.fingerprint);
  g_variant_dict_insert (&dict, "bundle-version", "t", ca->published.version);
  g_variant_dict_insert (&dict, "join-line", "s", join_line);
  return g_variant_dict_end (&dict);
}

static GVariant *
eh_ca_dbus_list (EhCa *ca, const char *kind_name, GError **error)
{
  g_autoptr (GPtrArray) rows = NULL;
  GVariantBuilder list;
  gint kind = -1;

  if (kind_name[0] != '\0') {
    for (gint k = EH_CA_KIND_ROOT; k <= EH_CA_KIND_TOKEN_SIGNING; k++) {
      if (g_strcmp0 (kind_name, eh_ca_kind_to_string (k)) == 0)
        kind = k;
    }
    if (kind < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "kind is one of root, site-signing, role, token-signing");
      return NULL;
    }
  }
  rows = eh_ca_records_list (ca->store, kind, error);
  if (rows == NULL)
    return NULL;
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < rows->len; i++)
    g_variant_builder_add_value (&list, eh_ca_dbus_record (g_ptr_array_index (rows, i), FALSE));
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&list));
}

static GVariant *
eh_ca_dbus_show_certificate (EhCa *ca, GVariant *parameters, GError **error)
{
  const char *text = NULL;
  g_autofree char *serial = NULL;
  g_autoptr (EhCaRecord) record = NULL;

  g_variant_get (parameters, "(&s)", &text);
  serial = eh_ca_serial_normalize (text, error);
  if (serial == NULL || (record = eh_ca_records_get (ca->store, serial, error)) == NULL)
    return NULL;
  return g_variant_new ("(@a{sv})", eh_ca_dbus_record (record, TRUE));
}

static GVariant *
eh_ca_dbus_issue (EhCa *ca, GVariant *parameters, guint caller_uid, GError **error)
{
  g_autofree const char **names = NULL;
  g_autofree const char **roles = NULL;
  g_autofree char *requester = g_strdup_printf ("admin uid %u", caller_uid);
  g_autofree char *chain = NULL;
  g_autofree char *serial = NULL;
  const char *csr = NULL;
  gint64 not_after = 0;
  GVariantDict dict;

  g_variant_get (parameters, "(&s^a&s^a&s)", &csr, &names, &roles);
  if (!eh_ca_issue_role (ca, csr, names, roles, requester, NULL, &chain, &serial, &not_after, error))
    return NULL;
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "serial", "s", serial);
  g_variant_dict_insert (&dict, "chain-pem", "s", chain);
  g_variant_dict_insert (&dict, "not-after", "x", not_after);
  return g_variant_new ("(@a{sv})", g_variant_dict_end (&dict));
}

static GVariant *
eh_ca_dbus_revoke (EhCa *ca, GVariant *parameters, GError **error)
{
  const char *text = NULL, *reason = NULL;
  g_autofree char *serial = NULL;

  g_variant_get (parameters, "(&s&s)", &text, &reason);
  if (!g_strv_contains (eh_ca_revocation_reasons, reason)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "reason is one of unspecified, key-compromise, affiliation-changed, superseded, "
                 "cessation-of-operation");
    return NULL;
  }
  serial = eh_ca_serial_normalize (text, error);
  if (serial == NULL || !eh_ca_revoke (ca, serial, reason, error))
    return NULL;
  return g_variant_new ("()");
}

static GVariant *
eh_ca_dbus_create_join_token (EhCa *ca, GVariant *parameters, GError **error)
{
  g_autofree const char **names = NULL;
  g_autofree const char **roles = NULL;
  g_autofree char *id = NULL;
  char *token;
  guint64 ttl = 0;
  gint64 expires_at = 0;
  GVariantDict dict;
  GVariant *result;

  g_variant_get (parameters, "(^a&s^a&st)", &roles, &names, &ttl);
  token = eh_ca_join_token_create (ca->store, roles, names, ttl, &id, &expires_at, error);
  if (token == NULL)
    return NULL;
  g_message ("join token %s created (expires %" G_GINT64_FORMAT ")", id, expires_at);
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "token", "s", token);
  g_variant_dict_insert (&dict, "id", "s", id);
  g_variant_dict_insert (&dict, "expires-at", "x", expires_at);
  g_variant_dict_insert (&dict, "root-fingerprint", "s", ca->root.fingerprint);
  result = g_variant_new ("(@a{sv})", g_variant_dict_end (&dict));
  eh_crypto_free_secret (token);
  return result;
}

static GVariant *
eh_ca_dbus_revoke_join_token (EhCa *ca, GVariant *parameters, GError **error)
{
  const char *id = NULL;

  g_variant_get (parameters, "(&s)", &id);
  if (!eh_ca_join_token_revoke (ca->store, id, error))
    return NULL;
  g_message ("join token %s revoked", id);
  return g_variant_new ("()");
}

static void
eh_ca_dbus_call (EhPlugin *plugin, const char *method, GVariant *parameters, guint caller_uid,
                 GDBusMethodInvocation *invocation, gpointer user_data)
{
  EhCa *ca = user_data;
  g_autoptr (GError) error = NULL;
  GVariant *result = NULL;

  if (g_strcmp0 (method, "Show") == 0) {
    result = g_variant_new ("(@a{sv})", eh_ca_dbus_show (ca));
  } else if (g_strcmp0 (method, "ListCertificates") == 0) {
    const char *kind = NULL;

    g_variant_get (parameters, "(&s)", &kind);
    result = eh_ca_dbus_list (ca, kind, &error);
  } else if (g_strcmp0 (method, "ShowCertificate") == 0) {
    result = eh_ca_dbus_show_certificate (ca, parameters, &error);
  } else if (g_strcmp0 (method, "IssueCertificate") == 0) {
    result = eh_ca_dbus_issue (ca, parameters, caller_uid, &error);
  } else if (g_strcmp0 (method, "RevokeCertificate") == 0) {
    result = eh_ca_dbus_revoke (ca, parameters, &error);
  } else if (g_strcmp0 (method, "CreateJoinToken") == 0) {
    result = eh_ca_dbus_create_join_token (ca, parameters, &error);
  } else if (g_strcmp0 (method, "ListJoinTokens") == 0) {
    GVariant *tokens = eh_ca_join_token_list (ca->store, &error);

    result = tokens != NULL ? g_variant_new ("(@aa{sv})", tokens) : NULL;
  } else if (g_strcmp0 (method, "RevokeJoinToken") == 0) {
    result = eh_ca_dbus_revoke_join_token (ca, parameters, &error);
  }
  eh_dbus_return (invocation, method, result, error);
}

gboolean
eh_ca_dbus_start (EhCa *ca, GError **error)
{
  return eh_plugin_export_dbus (ca->plugin, eh_ca_dbus_xml, eh_ca_dbus_call, ca, error);
}
