/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

static const EhConfigKey eh_mp_keys[] = {
  { "client-communication", EH_CONFIG_STRING, "enhanced-http", 0, 0, "enhanced-http (sensitive endpoints over HTTPS only), https (no plain HTTP at all) or http (migration only; deprecated)" },
  { "auto-approve", EH_CONFIG_BOOLEAN, "false", 0, 0, "approve new client registrations without an admin" },
  { "https-urls", EH_CONFIG_STRING_LIST, NULL, 0, 0, "this MP's HTTPS URLs as clients reach it (default: the HTTPS listeners)" },
  { "ca-url", EH_CONFIG_STRING, NULL, 0, 0, "base URL of the site's public ca material (default: this host's /ehttpd/ca/)" },
  { "nonce-seconds", EH_CONFIG_UINT, "120", 10, 3600, "lifetime of a registration nonce" },
  { "max-nonces", EH_CONFIG_UINT, "10000", 16, 1000000, "registration nonces outstanding at once" },
  { "proof-window", EH_CONFIG_UINT, "60", 5, 600, "seconds a self-timed token proof (jti, iat) is accepted from its iat" },
  { "max-self-timed-proofs", EH_CONFIG_UINT, "1000000", 16, 10000000, "self-timed proofs remembered at once (about 30 bytes each)" },
  { "client-token-lifetime", EH_CONFIG_UINT, "28800", 60, 604800, "seconds a client token is valid" },
  { "token-key-announce", EH_CONFIG_UINT, "3600", 1, 2592000, "seconds the next token signing key is in the trust bundle before it signs (DPs must refresh their bundle at least this often)" },
  { "content-token-lifetime", EH_CONFIG_UINT, "28800", 60, 604800, "seconds a content token is valid" },
  { "bind-content-tokens", EH_CONFIG_BOOLEAN, "false", 0, 0, "bind content tokens to the client key (cnf.jkt)" },
  { "entra-tenants", EH_CONFIG_STRING_LIST, NULL, 0, 0, "Entra tenant ids (GUIDs) whose tokens the exchange accepts (none: no exchange)" },
  { "entra-audience", EH_CONFIG_STRING, NULL, 0, 0, "the aud Entra tokens must carry (this site's app registration)" },
  { "entra-jwks", EH_CONFIG_STRING, NULL, 0, 0, "the tenant's signing keys: an absolute JWKS file path or an https:// URL" },
  { "entra-jwks-ca", EH_CONFIG_STRING, NULL, 0, 0, "CA certificates (PEM file) for an https:// entra-jwks (default: the system's)" },
  { "entra-jwks-refresh", EH_CONFIG_UINT, "300", 10, 86400, "seconds between JWKS refreshes an unknown kid may cause" },
  { "denial-records", EH_CONFIG_UINT, "1024", 16, 100000, "recent refusals kept in memory for ehttpctl explain" },
  { "client-cache", EH_CONFIG_UINT, "131072", 0, 10000000, "clients whose GUID, state and key a token request finds in memory (about 200 bytes each; 0: always read from the store)" },
  EH_CONFIG_KEY_END
};

static const char *const eh_mp_mode_names[] = { "enhanced-http", "https", "http" };

gboolean
eh_mp_mode_from_string (const char *text, EhMpMode *mode, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_mp_mode_names); i++) {
    if (g_strcmp0 (text, eh_mp_mode_names[i]) == 0) {
      *mode = i;
      return TRUE;
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
               "[mp] client-communication must be enhanced-http, https or http");
  return FALSE;
}

const char *
eh_mp_mode_to_string (EhMpMode mode)
{
  return eh_mp_mode_names[mode];
}

EhSchemes
eh_mp_mode_public_schemes (EhMpMode mode)
{
  return mode == EH_MP_MODE_HTTPS ? EH_SCHEME_HTTPS : EH_SCHEME_BOTH;
}

EhSchemes
eh_mp_mode_registration_schemes (EhMpMode mode)
{
  /* registration carries no secret back, so migration mode allows it on
   * plain HTTP; tokens stay HTTPS-only in every mode (eh-mp-token-http.c) */
  return mode == EH_MP_MODE_HTTP ? EH_SCHEME_BOTH : EH_SCHEME_HTTPS;
}

static void
eh_mp_free (EhMp *mp)
{
  /* first: what the workers finish may still join the registration batch */
  g_clear_pointer (&mp->workers, eh_mp_workers_free);
  eh_mp_register_http_stop (mp);
  eh_mp_site_stop (mp);
  eh_mp_token_keys_stop (mp);
  eh_mp_policy_http_stop (mp);
  eh_mp_locate_http_stop (mp);
  eh_mp_boundaries_stop (mp);
  eh_mp_entra_stop (mp);
  eh_mp_denials_free (mp->denials);
  eh_mp_nonces_free (mp->nonces);
  eh_mp_replay_free (mp->replay);
  g_strfreev (mp->https_urls);
  g_free (mp->ca_url);
  g_free (mp->site_code);
  g_free (mp->root_fingerprint);
  g_free (mp->site_signing_pem);
  g_free (mp);
}

static gboolean
eh_mp_read_config (EhMp *mp, EhConfig *config, GError **error)
{
  const char *ca_url = eh_config_get_string (config, "mp", "ca-url");

  if (!eh_mp_mode_from_string (eh_config_get_string (config, "mp", "client-communication"),
                               &mp->mode, error))
    return FALSE;
  mp->auto_approve = eh_config_get_boolean (config, "mp", "auto-approve");
  mp->https_urls = eh_config_get_string_list (config, "mp", "https-urls");
  for (guint i = 0; mp->https_urls != NULL && mp->https_urls[i] != NULL; i++) {
    if (!g_str_has_prefix (mp->https_urls[i], "https://")) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                   "[mp] https-urls must be https:// URLs");
      return FALSE;
    }
  }
  if (ca_url != NULL && ca_url[0] != '\0') {
    if (!g_str_has_prefix (ca_url, "http://") && !g_str_has_prefix (ca_url, "https://")) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[mp] ca-url must be an http(s):// URL");
      return FALSE;
    }
    mp->ca_url = g_strdup (ca_url);
    if (g_str_has_suffix (mp->ca_url, "/"))
      mp->ca_url[strlen (mp->ca_url) - 1] = '\0';
  }
  mp->client_token_lifetime = eh_config_get_uint (config, "mp", "client-token-lifetime");
  mp->token_key_announce = eh_config_get_uint (config, "mp", "token-key-announce");
  mp->content_token_lifetime = eh_config_get_uint (config, "mp", "content-token-lifetime");
  mp->bind_content_tokens = eh_config_get_boolean (config, "mp", "bind-content-tokens");
  mp->nonces = eh_mp_nonces_new (eh_config_get_uint (config, "mp", "max-nonces"),
                                 eh_config_get_uint (config, "mp", "nonce-seconds"));
  mp->replay = eh_mp_replay_new (eh_config_get_uint (config, "mp", "proof-window"),
                                 eh_config_get_uint (config, "mp", "max-self-timed-proofs"));
  mp->denials = eh_mp_denials_new (eh_config_get_uint (config, "mp", "denial-records"));
  return TRUE;
}

static void
eh_mp_announce_mode (EhMp *mp, EhConfig *config)
{
  const char *pki = eh_config_get_string (config, "core", "tls-certificate");

  if (mp->mode == EH_MP_MODE_HTTP)
    g_warning ("[mp] client-communication=http is deprecated and exists for migration only: "
               "registration is accepted over plain HTTP; tokens are never served over plain "
               "HTTP. Move to enhanced-http");
  else if (mp->mode == EH_MP_MODE_HTTPS && (pki == NULL || pki[0] == '\0'))
    g_warning ("[mp] client-communication=https expects a PKI certificate ([core] "
               "tls-certificate); this host serves the site-issued one");
  g_message ("client communication: %s%s", eh_mp_mode_to_string (mp->mode),
             mp->auto_approve ? ", new clients approved automatically" : "");
}

static void
eh_mp_start (EhPlugin *plugin)
{
  EhMp *mp = g_new0 (EhMp, 1);
  EhConfig *config = eh_plugin_get_config (plugin);
  g_autoptr (GError) error = NULL;

  mp->plugin = plugin;
  mp->bus = eh_plugin_get_bus (plugin);
  eh_plugin_set_data (plugin, mp, (GDestroyNotify) eh_mp_free);
  mp->workers = eh_mp_workers_new (0);
  if (!eh_mp_read_config (mp, config, &error) ||
      (mp->store = eh_plugin_get_store (plugin, &error)) == NULL ||
      !eh_mp_records_migrate (mp->store, &error) || !eh_mp_boundaries_start (mp, &error) ||
      !eh_mp_http_start (mp, &error) ||
      !eh_mp_token_http_start (mp, &error) || !eh_mp_policy_http_start (mp, &error) ||
      !eh_mp_locate_http_start (mp, &error) || !eh_mp_sts_http_start (mp, &error) ||
      !eh_mp_dbus_start (mp, &error) || !eh_mp_entra_start (mp, config, &error) ||
      !eh_mp_token_keys_start (mp, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  eh_mp_client_cache_set_capacity (eh_mp_client_cache_get (mp->store), eh_config_get_uint (config, "mp", "client-cache"));
  eh_mp_announce_mode (mp, config);
  eh_mp_site_start (mp);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_mp_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "mp",
  .description = "management point: site information, client registration and approval, client tokens, signed policy, content location, Entra exchange",
  .config_keys = eh_mp_keys,
  .start = eh_mp_start,
};
