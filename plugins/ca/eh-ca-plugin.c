/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ca.h"

static const EhConfigKey eh_ca_keys[] = {
  { "site-code", EH_CONFIG_STRING, "PS1", 0, 0, "the site's code (3 letters or digits), in certificate subjects, content ids and the trust bundle" },
  { "key-type", EH_CONFIG_STRING, "ecdsa-p256", 0, 0, "key type of the root and the site signing key: ecdsa-p256, rsa-2048, rsa-3072, ed25519" },
  { "root-key", EH_CONFIG_STRING, NULL, 0, 0, "the root's key: empty for a file in the state dir, a file path, or a pkcs11: URI" },
  { "pkcs11-module", EH_CONFIG_STRING, NULL, 0, 0, "the PKCS#11 module that holds root-key (e.g. /usr/lib/softhsm/libsofthsm2.so)" },
  { "root-days", EH_CONFIG_UINT, "3650", 1, 36500, "lifetime of the Site Issuing root, made on first start" },
  { "site-signing-days", EH_CONFIG_UINT, "1825", 1, 36500, "lifetime of the site signing certificate" },
  { "role-certificate-days", EH_CONFIG_UINT, "90", 1, 825, "lifetime of role certificates (renewed at 2/3)" },
  { "role-certificate-seconds", EH_CONFIG_UINT, "0", 0, 825 * 86400, "lifetime in seconds, when not 0 (to watch renewal happen); wins over role-certificate-days" },
  { "token-signing-days", EH_CONFIG_UINT, "365", 1, 3650, "lifetime of token signing certificates" },
  { "crl-days", EH_CONFIG_UINT, "7", 1, 365, "the CRL's next-update distance; it is remade at half of it" },
  EH_CONFIG_KEY_END
};

static void
eh_ca_free (EhCa *ca)
{
  eh_ca_bus_stop (ca);
  if (ca->refresh_source != 0)
    g_source_remove (ca->refresh_source);
  eh_ca_identity_clear (&ca->root);
  eh_ca_identity_clear (&ca->site_signing);
  eh_ca_published_clear (&ca->published);
  g_free (ca->dir);
  g_free (ca->site_code);
  g_free (ca);
}

gboolean
eh_ca_republish (EhCa *ca, GError **error)
{
  GVariantDict payload;

  if (!eh_ca_publish_build (ca->store, &ca->root, &ca->site_signing, ca->site_code, ca->crl_days,
                            &ca->published, error))
    return FALSE;
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_BUNDLE_JSON, "s", ca->published.json);
  g_variant_dict_insert (&payload, EH_KEY_BUNDLE_PEM, "s", ca->published.pem);
  g_variant_dict_insert (&payload, EH_KEY_VERSION, "t", ca->published.version);
  return eh_bus_publish (ca->bus, EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, g_variant_dict_end (&payload),
                         error);
}

void
eh_ca_role_order_free (EhCaRoleOrder *order)
{
  if (order->pubkey != NULL)
    gnutls_pubkey_deinit (order->pubkey);
  g_strfreev (order->names);
  g_strfreev (order->roles);
  g_free (order->requester);
  g_free (order->token_id);
  if (order->issuance.certificate != NULL)
    gnutls_x509_crt_deinit (order->issuance.certificate);
  g_free (order->issuance.serial);
  g_clear_error (&order->issuance.error);
  g_free (order);
}

EhCaRoleOrder *
eh_ca_role_order_new (EhCa *ca, const char *csr_pem, const char *const *names,
                      const char *const *roles, const char *requester, const char *join_token_id,
                      GError **error)
{
  g_autoptr (EhCaRoleOrder) order = g_new0 (EhCaRoleOrder, 1);

  order->pubkey = eh_ca_csr_read (csr_pem, error);
  if (order->pubkey == NULL || !eh_ca_roles_check (roles, error) ||
      (order->names = eh_ca_names_normalize (names, error)) == NULL)
    return NULL;
  if (order->names[0] == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a role certificate needs a name");
    return NULL;
  }
  order->roles = g_strdupv ((char **) roles);
  order->requester = g_strdup (requester);
  order->token_id = g_strdup (join_token_id);
  order->spec.kind = EH_CA_KIND_ROLE;
  order->spec.pubkey = order->pubkey;
  order->spec.common_name = order->names[0];
  order->spec.names = (const char *const *) order->names;
  order->spec.roles = (const char *const *) order->roles;
  order->spec.lifetime_seconds = ca->role_seconds;
  order->spec.requester = order->requester;
  order->spec.join_token_id = order->token_id;
  order->issuance.spec = &order->spec;
  return g_steal_pointer (&order);
}

void
eh_ca_role_orders_issue (EhCa *ca, EhCaRoleOrder *const *orders, guint n)
{
  g_autofree EhCaIssuance *items = g_new0 (EhCaIssuance, n);

  for (guint i = 0; i < n; i++)
    items[i].spec = &orders[i]->spec;
  eh_ca_issue_batch (ca->store, items, n, ca->root.cert, ca->root.key, ca->site_code);
  for (guint i = 0; i < n; i++) {
    orders[i]->issuance = items[i];
    if (items[i].certificate != NULL) {
      g_autofree char *roles_text = g_strjoinv (",", orders[i]->roles);

      g_message ("issued role certificate %s for %s (roles %s) to %s", items[i].serial,
                 orders[i]->names[0], roles_text, orders[i]->requester);
    }
  }
}

char *
eh_ca_role_order_chain (EhCa *ca, EhCaRoleOrder *order, GError **error)
{
  g_autofree char *leaf_pem = eh_crypto_cert_to_pem (order->issuance.certificate, error);

  return leaf_pem != NULL ? g_strconcat (leaf_pem, ca->root.pem, NULL) : NULL;
}

gboolean
eh_ca_issue_role (EhCa *ca, const char *csr_pem, const char *const *names,
                  const char *const *roles, const char *requester, const char *join_token_id,
                  char **chain_pem, char **serial, gint64 *not_after, GError **error)
{
  g_autoptr (EhCaRoleOrder) order = eh_ca_role_order_new (ca, csr_pem, names, roles, requester,
                                                          join_token_id, error);

  if (order == NULL)
    return FALSE;
  eh_ca_role_orders_issue (ca, &order, 1);
  if (order->issuance.certificate == NULL) {
    g_propagate_error (error, g_steal_pointer (&order->issuance.error));
    return FALSE;
  }
  *chain_pem = eh_ca_role_order_chain (ca, order, error);
  if (*chain_pem == NULL)
    return FALSE;
  *serial = g_strdup (order->issuance.serial);
  *not_after = gnutls_x509_crt_get_expiration_time (order->issuance.certificate);
  return TRUE;
}

gboolean
eh_ca_revoke (EhCa *ca, const char *serial, const char *reason, GError **error)
{
  GVariantDict payload;

  if (!eh_ca_records_revoke (ca->store, serial, reason, error))
    return FALSE;
  g_message ("revoked certificate %s (%s)", serial, reason);
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_SERIAL, "s", serial);
  g_variant_dict_insert (&payload, EH_KEY_REASON, "s", reason);
  eh_bus_publish (ca->bus, EH_TOPIC_CA_CERTIFICATE_REVOKED, g_variant_dict_end (&payload), NULL);
  return eh_ca_republish (ca, error);
}

/* the CRL is remade at half its next-update distance, so it never lapses */
static gboolean
eh_ca_refresh (gpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!eh_ca_republish (data, &error))
    g_warning ("CRL and trust bundle not refreshed: %s", error->message);
  return G_SOURCE_CONTINUE;
}

/* three letters or digits: it names content (PS100001) and subjects */
static gboolean
eh_ca_site_code_is_valid (const char *code)
{
  return eh_text_is_word (code, 3, 3, NULL);
}

static gboolean
eh_ca_read_config (EhCa *ca, EhConfig *config, GError **error)
{
  if (!eh_ca_site_code_is_valid (eh_config_get_string (config, "ca", "site-code"))) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[ca] site-code must be 3 letters or digits, as Configuration Manager's are (e.g. PS1)");
    return FALSE;
  }
  ca->site_code = g_ascii_strup (eh_config_get_string (config, "ca", "site-code"), -1);
  if (!eh_key_type_from_string (eh_config_get_string (config, "ca", "key-type"),
                                &ca->root_config.key_type, error))
    return FALSE;
  ca->root_config.dir = ca->dir;
  ca->root_config.root_key = eh_config_get_string (config, "ca", "root-key");
  ca->root_config.pkcs11_module = eh_config_get_string (config, "ca", "pkcs11-module");
  ca->root_config.root_days = eh_config_get_uint (config, "ca", "root-days");
  ca->root_config.site_signing_days = eh_config_get_uint (config, "ca", "site-signing-days");
  ca->root_config.site_code = ca->site_code;
  ca->role_seconds = eh_config_get_uint (config, "ca", "role-certificate-seconds");
  if (ca->role_seconds == 0)
    ca->role_seconds = eh_config_get_uint (config, "ca", "role-certificate-days") * 86400;
  ca->token_signing_days = eh_config_get_uint (config, "ca", "token-signing-days");
  ca->crl_days = eh_config_get_uint (config, "ca", "crl-days");
  return TRUE;
}

static gboolean
eh_ca_open (EhCa *ca, GError **error)
{
  gint abandoned;

  ca->dir = eh_plugin_ensure_private_dir (ca->plugin, error);
  if (ca->dir == NULL || !eh_ca_read_config (ca, eh_plugin_get_config (ca->plugin), error))
    return FALSE;
  ca->store = eh_plugin_get_store (ca->plugin, error);
  if (ca->store == NULL || !eh_ca_records_migrate (ca->store, error))
    return FALSE;
  abandoned = eh_ca_records_abandon_reserved (ca->store, error);
  if (abandoned < 0)
    return FALSE;
  if (abandoned > 0)
    g_message ("%d serial(s) reserved before a stop were never signed: marked abandoned", abandoned);
  return eh_ca_root_load_or_create (ca->store, &ca->root_config, &ca->root, error) &&
         eh_ca_site_signing_load_or_create (ca->store, &ca->root_config, &ca->site_signing, error);
}

static void
eh_ca_start (EhPlugin *plugin)
{
  EhCa *ca = g_new0 (EhCa, 1);
  g_autoptr (GError) error = NULL;

  ca->plugin = plugin;
  ca->bus = eh_plugin_get_bus (plugin);
  eh_plugin_set_data (plugin, ca, (GDestroyNotify) eh_ca_free);
  if (!eh_ca_open (ca, &error) || !eh_ca_republish (ca, &error) || !eh_ca_bus_start (ca, &error) ||
      !eh_ca_dbus_start (ca, &error) || !eh_ca_http_start (ca, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  ca->refresh_source = g_timeout_add_seconds (ca->crl_days * 86400 / 2, eh_ca_refresh, ca);
  g_message ("site %s: root %s", ca->site_code, ca->root.fingerprint);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_ca_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "ca",
  .description = "site certificate authority: root, role and signing certificates, enrolment, revocation",
  .config_keys = eh_ca_keys,
  .start = eh_ca_start,
};
