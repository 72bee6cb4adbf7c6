/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmgc.h"

#define EH_CMGC_DEFAULT_MP_ID "72057594037927937"
#define EH_CMGC_DEFAULT_DP_ID "72057594037927938"

static const EhConfigKey eh_cmgc_keys[] = {
  { "gateways", EH_CONFIG_STRING_LIST, NULL, 0, 0, "the gateways to dial, each https://HOST:PORT (required)" },
  { "gateway-ca-file", EH_CONFIG_STRING, NULL, 0, 0,
    "PEM anchors for gateways with a public certificate (default: the site's root)" },
  { "name", EH_CONFIG_STRING, NULL, 0, 0, "this connector's name at the gateways (default: the host name)" },
  { "mp-id", EH_CONFIG_STRING, EH_CMGC_DEFAULT_MP_ID, 0, 0, "the id clients name the MP by: /CCM_Proxy_…/<id>/" },
  { "mp-url", EH_CONFIG_STRING, NULL, 0, 0, "the MP's https://HOST:PORT (default: this host's HTTPS listener)" },
  { "dp-id", EH_CONFIG_STRING, EH_CMGC_DEFAULT_DP_ID, 0, 0, "the id clients name the DP by; empty: no content" },
  { "dp-url", EH_CONFIG_STRING, NULL, 0, 0, "the DP's https://HOST:PORT (default: this host's HTTPS listener)" },
  { "dp-name", EH_CONFIG_STRING, NULL, 0, 0,
    "the DP's name in content tokens' aud (default: [dp] names, else [site] names, else the host name)" },
  { "health-interval", EH_CONFIG_UINT, "60", 1, 3600, "seconds between two health checks of each tunnel" },
  { "report-interval", EH_CONFIG_UINT, "300", 1, 86400, "seconds between two traffic reports" },
  { "internal-connections", EH_CONFIG_UINT, "128", 1, 4096,
    "internal connections to this host's MP and DP at once; more requests wait (keep under [core] "
    "max-connections-per-address)" },
  EH_CONFIG_KEY_END
};

static void
eh_cmgc_mapping_free (EhCmgcMapping *mapping)
{
  g_free (mapping->id);
  g_free (mapping->kind);
  g_free (mapping->dp_name);
  g_free (mapping->base);
  g_free (mapping->host);
  g_free (mapping);
}

static void
eh_cmgc_free (gpointer data)
{
  EhCmgc *cmgc = data;

  g_clear_pointer (&cmgc->trust, eh_trust_follow_free);
  g_clear_handle_id (&cmgc->report_timer, g_source_remove);
  g_ptr_array_unref (cmgc->tunnels);
  g_ptr_array_unref (cmgc->mappings);
  if (cmgc->session != NULL) {
    soup_session_abort (cmgc->session);
    g_object_unref (cmgc->session);
  }
  g_clear_pointer (&cmgc->local, eh_cmgc_local_pool_stop);
  g_free (cmgc->name);
  g_free (cmgc->ca_file);
  g_free (cmgc->host_pem);
  g_free (cmgc->site);
  g_free (cmgc->root_text);
  g_free (cmgc);
}

/* the first HTTPS listener of this host, for mappings without a URL */
static char *
eh_cmgc_local_url (EhPlugin *plugin)
{
  g_auto (GStrv) urls = eh_plugin_get_listener_urls (plugin);

  for (guint i = 0; urls != NULL && urls[i] != NULL; i++) {
    if (g_str_has_prefix (urls[i], "https://"))
      return g_strdup (urls[i]);
  }
  return NULL;
}

static gboolean
eh_cmgc_add_mapping (EhCmgc *cmgc, const char *id, const char *kind, const char *dp_name, const char *url,
                     GError **error)
{
  g_autoptr (GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  EhCmgcMapping *mapping;

  if (!eh_text_is_word (id, 1, 32, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[cmg-connector] %s-id: 1 to 32 letters or digits", kind);
    return FALSE;
  }
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL ||
      g_uri_get_port (uri) <= 0 || (g_uri_get_path (uri)[0] != '\0' && strcmp (g_uri_get_path (uri), "/") != 0)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[cmg-connector] %s-url: give https://HOST:PORT (%s)", kind,
                 url != NULL ? url : "no HTTPS listener on this host");
    return FALSE;
  }
  mapping = g_new0 (EhCmgcMapping, 1);
  mapping->id = g_strdup (id);
  mapping->kind = g_strdup (kind);
  mapping->dp_name = g_strdup (dp_name);
  mapping->host = g_strdup (g_uri_get_host (uri));
  mapping->base = g_strdup_printf ("https://%s%s%s:%d", strchr (mapping->host, ':') ? "[" : "", mapping->host,
                                   strchr (mapping->host, ':') ? "]" : "", g_uri_get_port (uri));
  /* this host's own front: asked over an internal connection, no TLS (eh-cmgc-local.c) */
  mapping->internal = eh_plugin_is_own_https_listener (cmgc->plugin, mapping->base);
  g_ptr_array_add (cmgc->mappings, mapping);
  return TRUE;
}

static char *
eh_cmgc_dp_name (EhConfig *config)
{
  const char *own = eh_config_get_string (config, "cmg-connector", "dp-name");
  g_auto (GStrv) dp = NULL;
  g_auto (GStrv) site = NULL;

  if (own != NULL && own[0] != '\0')
    return g_strdup (own);
  dp = eh_config_get_string_list (config, "dp", "names");
  if (dp != NULL && dp[0] != NULL)
    return g_strdup (dp[0]);
  site = eh_config_get_string_list (config, "site", "names");
  if (site != NULL && site[0] != NULL)
    return g_strdup (site[0]);
  return g_strdup (g_get_host_name ());
}

static gboolean
eh_cmgc_configure (EhCmgc *cmgc, EhConfig *config, GError **error)
{
  const char *group = "cmg-connector";
  g_auto (GStrv) gateways = eh_config_get_string_list (config, group, "gateways");
  const char *mp_url = eh_config_get_string (config, group, "mp-url");
  const char *dp_url = eh_config_get_string (config, group, "dp-url");
  const char *dp_id = eh_config_get_string (config, group, "dp-id");
  const char *name = eh_config_get_string (config, group, "name");
  g_autofree char *local = eh_cmgc_local_url (cmgc->plugin);
  g_autofree char *dp_name = eh_cmgc_dp_name (config);

  cmgc->name = g_strdup (name != NULL && name[0] != '\0' ? name : g_get_host_name ());
  cmgc->ca_file = g_strdup (eh_config_get_string (config, group, "gateway-ca-file"));
  cmgc->health_interval = eh_config_get_uint (config, group, "health-interval");
  cmgc->report_interval = eh_config_get_uint (config, group, "report-interval");
  cmgc->host_pem = g_build_filename (eh_plugin_get_state_dir (cmgc->plugin), "tls", "host.pem", NULL);
  if (gateways == NULL || gateways[0] == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[cmg-connector] gateways= names no gateway");
    return FALSE;
  }
  if (!eh_cmgc_add_mapping (cmgc, eh_config_get_string (config, group, "mp-id"), "mp", "",
                            mp_url != NULL ? mp_url : local, error))
    return FALSE;
  if (dp_id != NULL && dp_id[0] != '\0' &&
      !eh_cmgc_add_mapping (cmgc, dp_id, "dp", dp_name, dp_url != NULL ? dp_url : local, error))
    return FALSE;
  for (guint i = 0; gateways[i] != NULL; i++) {
    EhCmgcTunnel *tunnel = eh_cmgc_tunnel_new (cmgc, gateways[i], error);

    if (tunnel == NULL)
      return FALSE;
    g_ptr_array_add (cmgc->tunnels, tunnel);
  }
  return TRUE;
}

/* ── the site's root: it pins the gateways and the upstreams ─────────── */

static gboolean
eh_cmgc_install_bundle (GVariant *payload, gpointer user_data)
{
  EhCmgc *cmgc = user_data;
  const char *json = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpBundle) bundle = NULL;
  gboolean first = !cmgc->have_root;

  if (!g_variant_lookup (payload, EH_KEY_BUNDLE_JSON, "&s", &json))
    return FALSE;
  bundle = eh_dp_bundle_parse (json, strlen (json), g_get_real_time () / G_USEC_PER_SEC, &error);
  if (bundle == NULL || !eh_crypto_parse_fingerprint (eh_dp_bundle_get_root_fingerprint (bundle), cmgc->root,
                                                      &error)) {
    g_warning ("the site's trust bundle is refused: %s", error->message);
    return FALSE;
  }
  g_free (cmgc->site);
  cmgc->site = g_strdup (eh_dp_bundle_get_site (bundle));
  g_free (cmgc->root_text);
  cmgc->root_text = g_strdup (eh_dp_bundle_get_root_fingerprint (bundle));
  cmgc->have_root = TRUE;
  if (first) {
    g_message ("connector %s for site %s: dialing %u gateway(s)", cmgc->name, cmgc->site, cmgc->tunnels->len);
    for (guint i = 0; i < cmgc->tunnels->len; i++)
      eh_cmgc_tunnel_connect (g_ptr_array_index (cmgc->tunnels, i));
  }
  return TRUE;
}

/* a new role certificate: every tunnel presents it at once */
static void
eh_cmgc_certificate_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhCmgc *cmgc = user_data;

  if (!cmgc->have_root)
    return;
  for (guint i = 0; i < cmgc->tunnels->len; i++)
    eh_cmgc_tunnel_restart (g_ptr_array_index (cmgc->tunnels, i));
}

static gboolean
eh_cmgc_report (gpointer data)
{
  eh_cmgc_report_traffic (data);
  return G_SOURCE_CONTINUE;
}

static void
eh_cmgc_start (EhPlugin *plugin)
{
  g_autoptr (GError) error = NULL;
  EhCmgc *cmgc = g_new0 (EhCmgc, 1);

  cmgc->plugin = plugin;
  cmgc->bus = eh_plugin_get_bus (plugin);
  cmgc->mappings = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_cmgc_mapping_free);
  cmgc->tunnels = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_cmgc_tunnel_free);
  eh_plugin_set_data (plugin, cmgc, eh_cmgc_free);
  if (!eh_cmgc_configure (cmgc, eh_plugin_get_config (plugin), &error) || !eh_cmgc_dbus_export (cmgc, &error)) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  cmgc->session = eh_cmgc_session_new (cmgc);
  cmgc->local = eh_cmgc_local_pool_new (plugin, eh_config_get_uint (eh_plugin_get_config (plugin),
                                                                     "cmg-connector", "internal-connections"));
  cmgc->last_report = g_get_real_time () / G_USEC_PER_SEC;
  cmgc->report_timer = g_timeout_add_seconds (cmgc->report_interval, eh_cmgc_report, cmgc);
  eh_bus_subscribe (cmgc->bus, EH_TOPIC_HOST_CERTIFICATE_CHANGED, eh_cmgc_certificate_changed, cmgc, NULL);
  cmgc->trust = eh_trust_follow_new (cmgc->bus, eh_cmgc_install_bundle, cmgc);
  eh_plugin_start_done (plugin, NULL);
}

const EhPluginDesc eh_cmgc_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "cmg-connector",
  .description = "CMG connection point: dials out to the gateways and forwards their clients to the MP and DP",
  .config_keys = eh_cmgc_keys,
  .start = eh_cmgc_start,
};
