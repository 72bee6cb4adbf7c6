/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "eh-core-private.h"
#include "eh-identity-private.h"
#include "eh-link.h"

struct _EhCore {
  EhConfig *config;
  char *state_dir;
  gboolean allow_test_plugins;
  EhBusHub *hub;
  EhBus *bus; /* the core's own handle */
  EhTls *tls;
  EhFront *front;
  EhStore *store;
  EhDbusService *dbus;
  EhLink *link; /* the bus link, both ways; NULL until started */
  EhIdentity *identity; /* the host's role certificate; NULL until started */
  GPtrArray *plugins;
  gint64 start_time;
  guint shutdown_poll;
};

static const EhConfigKey eh_core_keys[] = {
  { "state-dir", EH_CONFIG_STRING, EH_STATEDIR, 0, 0, "where this host keeps its database, keys and certificates" },
  { "plugin-dir", EH_CONFIG_STRING, EH_PLUGINDIR, 0, 0, "where role plugins are loaded from" },
  { "plugins", EH_CONFIG_STRING_LIST, "", 0, 0, "the roles this host runs, e.g. ca,mp,dp" },
  { "http-listen", EH_CONFIG_STRING_LIST, "0.0.0.0:80", 0, 0, "plain HTTP listen addresses (IP:PORT, comma separated; empty: none)" },
  { "https-listen", EH_CONFIG_STRING_LIST, "0.0.0.0:443", 0, 0, "HTTPS listen addresses (IP:PORT, comma separated; empty: none)" },
  { "tls-certificate", EH_CONFIG_STRING, NULL, 0, 0, "a PKI certificate chain (PEM, leaf first); wins over the site-issued one" },
  { "tls-key", EH_CONFIG_STRING, NULL, 0, 0, "the key of tls-certificate (PEM)" },
  { "tls-priority", EH_CONFIG_STRING, EH_TLS_DEFAULT_PRIORITY, 0, 0, "GnuTLS priority string (default: TLS 1.2+, AEAD, ECDHE)" },
  { "max-connections", EH_CONFIG_UINT, "4096", 1, 1000000, "open connections on all listeners together" },
  { "max-connections-per-address", EH_CONFIG_UINT, "256", 1, 1000000, "open connections from one IP address" },
  { "header-timeout", EH_CONFIG_UINT, "10", 1, 3600, "seconds allowed for a TLS handshake or a request head" },
  { "idle-timeout", EH_CONFIG_UINT, "60", 1, 86400, "seconds a connection may sit idle between requests" },
  { "max-uri-bytes", EH_CONFIG_UINT, "2048", 64, 65536, "longest request target (414 beyond)" },
  { "max-header-bytes", EH_CONFIG_UINT, "16384", 1024, 1048576, "largest request head (431 beyond)" },
  { "max-header-count", EH_CONFIG_UINT, "100", 8, 10000, "most header fields in a request (431 beyond)" },
  { "access-log", EH_CONFIG_BOOLEAN, "true", 0, 0, "log one line per request (never headers or queries)" },
  { "shutdown-timeout", EH_CONFIG_UINT, "10", 0, 3600, "seconds open requests may take to finish at shutdown" },
  { "plugin-start-timeout", EH_CONFIG_UINT, "60", 1, 3600, "seconds a plugin may take to start" },
  { "admin-group", EH_CONFIG_STRING, "", 0, 0, "a group whose members may call admin D-Bus methods (root always may)" },
  EH_CONFIG_KEY_END
};

/* how the front answers */
static const EhConfigKey eh_front_keys[] = {
  { "quick-answers", EH_CONFIG_BOOLEAN, "true", 0, 0, "answer small GET/HEAD requests that an endpoint serves from memory without libsoup (false: every request through libsoup)" },
  EH_CONFIG_KEY_END
};

/* the host's place in the site: shared by the bus link and the host identity */
static const EhConfigKey eh_site_keys[] = {
  { "names", EH_CONFIG_STRING_LIST, NULL, 0, 0, "DNS names and IP addresses this host is reached by, for its role certificate (default: host name, localhost and the HTTPS listen addresses)" },
  { "upstream", EH_CONFIG_STRING, NULL, 0, 0, "the site's URL (https://HOST:PORT) for the bus link; empty on the site server" },
  { "root-fingerprint", EH_CONFIG_STRING, NULL, 0, 0, "sha256:… of the site's root; the link refuses any other (ehttpctl ca show prints it)" },
  { "join-token", EH_CONFIG_STRING, NULL, 0, 0, "one-time token for enrolling with the site (ehttpctl join-token create)" },
  EH_CONFIG_KEY_END
};

const EhConfigKey *
eh_core_config_keys (void)
{
  return eh_core_keys;
}

const EhConfigKey *
eh_front_config_keys (void)
{
  return eh_front_keys;
}

const EhConfigKey *
eh_site_config_keys (void)
{
  return eh_site_keys;
}

static void
eh_core_tls_changed (EhTls *tls, gpointer user_data)
{
  EhCore *core = user_data;
  GVariantDict payload;

  eh_front_certificate_changed (core->front);
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_FINGERPRINT, "s", eh_tls_get_fingerprint (tls));
  g_variant_dict_insert (&payload, EH_KEY_NOT_AFTER, "x", eh_tls_get_not_after (tls));
  eh_bus_publish (core->bus, EH_TOPIC_HOST_CERTIFICATE_CHANGED, g_variant_dict_end (&payload), NULL);
}

static void
eh_core_read_limits (EhConfig *config, EhFrontLimits *limits)
{
  eh_front_limits_init_defaults (limits);
  limits->max_connections = eh_config_get_uint (config, EH_CORE_GROUP, "max-connections");
  limits->max_connections_per_address =
      eh_config_get_uint (config, EH_CORE_GROUP, "max-connections-per-address");
  limits->header_timeout_ms = 1000 * eh_config_get_uint (config, EH_CORE_GROUP, "header-timeout");
  limits->idle_timeout_ms = 1000 * eh_config_get_uint (config, EH_CORE_GROUP, "idle-timeout");
  limits->max_uri_bytes = eh_config_get_uint (config, EH_CORE_GROUP, "max-uri-bytes");
  limits->max_head_bytes = eh_config_get_uint (config, EH_CORE_GROUP, "max-header-bytes");
  limits->max_header_count = eh_config_get_uint (config, EH_CORE_GROUP, "max-header-count");
  limits->access_log = eh_config_get_boolean (config, EH_CORE_GROUP, "access-log");
  limits->quick_answers = eh_config_get_boolean (config, EH_FRONT_GROUP, "quick-answers");
}

/* the host.certificate.install responder */
static void
eh_core_install_certificate (EhBusRequest *request, GVariant *payload, gpointer user_data)
{
  EhCore *core = user_data;
  g_autofree char *dest = g_build_filename (core->state_dir, "tls", "host.pem", NULL);
  g_autoptr (GError) error = NULL;
  const char *chain = NULL;
  const char *key = NULL;
  GVariantDict reply;

  g_variant_lookup (payload, EH_KEY_CHAIN_PEM, "&s", &chain);
  g_variant_lookup (payload, EH_KEY_PRIVATE_KEY_PEM, "&s", &key);
  if (eh_config_get_string (core->config, EH_CORE_GROUP, "tls-certificate") != NULL) {
    error = g_error_new (EH_ERROR, EH_ERROR_EXISTS,
                         "a PKI certificate is configured for this host and takes precedence");
    eh_bus_request_fail (request, error);
    return;
  }
  if (!eh_tls_install (core->tls, chain, key, dest, &error)) {
    eh_bus_request_fail (request, error);
    return;
  }
  g_variant_dict_init (&reply, NULL);
  g_variant_dict_insert (&reply, EH_KEY_FINGERPRINT, "s", eh_tls_get_fingerprint (core->tls));
  eh_bus_request_reply (request, g_variant_dict_end (&reply));
}

static gboolean
eh_core_prepare_state_dir (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "state-dir %s: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

EhCore *
eh_core_new (EhConfig *config, gboolean allow_test_plugins, GError **error)
{
  g_autoptr (EhConfig) owned = config;
  EhFrontLimits limits;
  EhCore *core;
  EhTls *tls;

  if (!eh_config_declare_group (config, EH_CORE_GROUP, eh_core_keys, error) ||
      !eh_config_declare_group (config, EH_FRONT_GROUP, eh_front_keys, error) ||
      !eh_config_declare_group (config, EH_SITE_GROUP, eh_site_keys, error))
    return NULL;
  if (!eh_tls_set_priority (eh_config_get_string (config, EH_CORE_GROUP, "tls-priority"), error))
    return NULL;
  if (!eh_core_prepare_state_dir (eh_config_get_string (config, EH_CORE_GROUP, "state-dir"), error))
    return NULL;
  tls = eh_tls_new (eh_config_get_string (config, EH_CORE_GROUP, "tls-priority"), error);
  if (tls == NULL)
    return NULL;
  core = g_new0 (EhCore, 1);
  core->config = g_steal_pointer (&owned);
  core->state_dir = g_strdup (eh_config_get_string (config, EH_CORE_GROUP, "state-dir"));
  core->allow_test_plugins = allow_test_plugins;
  core->hub = eh_bus_hub_new ();
  core->bus = eh_bus_hub_connect (core->hub, "core");
  core->tls = tls;
  eh_core_read_limits (config, &limits);
  core->front = eh_front_new (&limits, core->tls);
  eh_tls_set_changed_func (core->tls, G_CALLBACK (eh_core_tls_changed), core);
  core->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_plugin_free);
  core->start_time = g_get_real_time ();
  eh_bus_respond (core->bus, EH_TOPIC_HOST_CERTIFICATE_INSTALL, eh_core_install_certificate, core,
                  NULL, NULL);
  return core;
}

void
eh_core_free (EhCore *core)
{
  if (core == NULL)
    return;
  if (core->shutdown_poll != 0)
    g_source_remove (core->shutdown_poll);
  for (guint i = 0; i < core->plugins->len; i++) {
    EhPlugin *plugin = g_ptr_array_index (core->plugins, i);

    if (plugin->desc != NULL && plugin->desc->stop != NULL &&
        (plugin->state == EH_PLUGIN_STATE_RUNNING || plugin->state == EH_PLUGIN_STATE_STARTING))
      plugin->desc->stop (plugin);
  }
  g_ptr_array_unref (core->plugins);
  eh_identity_free (core->identity);
  /* links end their connections through the front: before it goes */
  eh_link_free (core->link);
  eh_front_free (core->front);
  eh_tls_free (core->tls);
  g_clear_object (&core->store);
  eh_bus_free (core->bus);
  eh_bus_hub_free (core->hub);
  eh_config_free (core->config);
  g_free (core->state_dir);
  g_free (core);
}

EhPlugin *
eh_core_add_builtin_plugin (EhCore *core, const EhPluginDesc *desc)
{
  EhPlugin *plugin = eh_plugin_new (core, desc->name, NULL);

  plugin->desc = desc;
  plugin->state = EH_PLUGIN_STATE_LOADED;
  g_ptr_array_add (core->plugins, plugin);
  return plugin;
}

static gboolean
eh_core_plugin_name_is_valid (const char *name)
{
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  }
  return name[0] != '\0' && strlen (name) <= 64;
}

static void
eh_core_load_plugin (EhCore *core, const char *dir, const char *name)
{
  g_autofree char *file = g_strconcat (EH_PLUGIN_FILE_PREFIX, name, ".so", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  EhPlugin *plugin = eh_plugin_new (core, name, path);
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (core->plugins, plugin);
  if (!eh_core_plugin_name_is_valid (name)) {
    eh_plugin_set_state (plugin, EH_PLUGIN_STATE_FAILED, "plugin names are lower-case letters, digits and '-'");
    return;
  }
  plugin->desc = eh_plugin_load_module (path, name, &error);
  if (plugin->desc == NULL) {
    eh_plugin_set_state (plugin, EH_PLUGIN_STATE_FAILED, error->message);
    return;
  }
  if (plugin->desc->test_only && !core->allow_test_plugins) {
    eh_plugin_set_state (plugin, EH_PLUGIN_STATE_FAILED,
                         "a test-only plugin; refused unless ehttpd runs with --allow-test-plugins");
    return;
  }
  eh_plugin_set_state (plugin, EH_PLUGIN_STATE_LOADED, NULL);
}

static gboolean
eh_core_has_plugin (EhCore *core, const char *name)
{
  for (guint i = 0; i < core->plugins->len; i++) {
    if (g_strcmp0 (((EhPlugin *) g_ptr_array_index (core->plugins, i))->name, name) == 0)
      return TRUE;
  }
  return FALSE;
}

/* modules present but not enabled are listed as disabled, never opened */
static void
eh_core_list_disabled (EhCore *core, const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *file;

  while (listing != NULL && (file = g_dir_read_name (listing)) != NULL) {
    g_autofree char *name = NULL;
    EhPlugin *plugin;

    if (!g_str_has_prefix (file, EH_PLUGIN_FILE_PREFIX) || !g_str_has_suffix (file, ".so"))
      continue;
    name = g_strndup (file + strlen (EH_PLUGIN_FILE_PREFIX),
                      strlen (file) - strlen (EH_PLUGIN_FILE_PREFIX) - 3);
    if (eh_core_has_plugin (core, name))
      continue;
    plugin = eh_plugin_new (core, name, NULL);
    plugin->state = EH_PLUGIN_STATE_DISABLED;
    g_ptr_array_add (core->plugins, plugin);
  }
}

void
eh_core_load_plugins (EhCore *core)
{
  const char *dir = eh_config_get_string (core->config, EH_CORE_GROUP, "plugin-dir");
  g_auto (GStrv) names = eh_config_get_string_list (core->config, EH_CORE_GROUP, "plugins");

  for (guint i = 0; names[i] != NULL; i++) {
    if (eh_core_has_plugin (core, names[i])) {
      g_warning ("plugin %s is listed twice; loaded once", names[i]);
      continue;
    }
    eh_core_load_plugin (core, dir, names[i]);
  }
  eh_core_list_disabled (core, dir);
}

static gboolean
eh_core_load_tls (EhCore *core, GError **error)
{
  const char *pki_cert = eh_config_get_string (core->config, EH_CORE_GROUP, "tls-certificate");
  const char *pki_key = eh_config_get_string (core->config, EH_CORE_GROUP, "tls-key");
  g_autofree char *host_pem = g_build_filename (core->state_dir, "tls", "host.pem", NULL);

  if (pki_cert != NULL && pki_cert[0] != '\0')
    return eh_tls_load (core->tls, pki_cert, pki_key, error);
  if (!g_file_test (host_pem, G_FILE_TEST_EXISTS))
    return TRUE; /* HTTPS opens when a certificate is installed */
  return eh_tls_load (core->tls, host_pem, NULL, error);
}

static gboolean
eh_core_listen_all (EhCore *core, const char *key, gboolean https, GError **error)
{
  g_auto (GStrv) addresses = eh_config_get_string_list (core->config, EH_CORE_GROUP, key);

  for (guint i = 0; addresses[i] != NULL; i++) {
    if (!eh_front_listen (core->front, addresses[i], https, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
eh_core_start_timed_out (gpointer data)
{
  EhPlugin *plugin = data;
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_TIMEOUT,
                                          "did not finish starting in time");

  g_clear_pointer (&plugin->start_timeout, g_source_unref);
  eh_plugin_start_done (plugin, error);
  return G_SOURCE_REMOVE;
}

static void
eh_core_start_plugin (EhCore *core, EhPlugin *plugin)
{
  g_autoptr (GError) error = NULL;
  guint timeout = eh_config_get_uint (core->config, EH_CORE_GROUP, "plugin-start-timeout");

  if (plugin->state != EH_PLUGIN_STATE_LOADED)
    return;
  if (plugin->desc->config_keys != NULL &&
      !eh_config_declare_group (core->config, plugin->name, plugin->desc->config_keys, &error)) {
    eh_plugin_set_state (plugin, EH_PLUGIN_STATE_FAILED, error->message);
    return;
  }
  eh_plugin_set_state (plugin, EH_PLUGIN_STATE_STARTING, NULL);
  plugin->start_timeout = g_timeout_source_new_seconds (timeout);
  g_source_set_callback (plugin->start_timeout, eh_core_start_timed_out, plugin, NULL);
  g_source_attach (plugin->start_timeout, NULL);
  plugin->desc->start (plugin);
}

/* the roles this host runs: its role plugins (test plugins only when they stand in for one) */
static EhIdentity *
eh_core_new_identity (EhCore *core)
{
  g_autoptr (GStrvBuilder) roles = g_strv_builder_new ();
  g_auto (GStrv) list = NULL;

  for (guint i = 0; i < core->plugins->len; i++) {
    EhPlugin *plugin = g_ptr_array_index (core->plugins, i);

    const char *role = plugin->desc == NULL ? NULL
                       : plugin->desc->role != NULL ? plugin->desc->role
                       : plugin->desc->test_only ? NULL
                                                 : plugin->name;

    if (role != NULL && plugin->state == EH_PLUGIN_STATE_LOADED)
      g_strv_builder_add (roles, role);
  }
  list = g_strv_builder_end (roles);
  return eh_identity_new (core->bus, core->tls, core->config, core->state_dir,
                          (const char *const *) list);
}

/* the host asks for its certificate once every plugin has started or failed */
static void
eh_core_plugin_state_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhCore *core = user_data;

  if (eh_core_is_settled (core))
    eh_identity_start (core->identity);
}

gboolean
eh_core_start (EhCore *core, GError **error)
{
  g_auto (GStrv) undeclared = NULL;

  if (!eh_core_load_tls (core, error))
    return FALSE;
  if (!eh_core_listen_all (core, "http-listen", FALSE, error) ||
      !eh_core_listen_all (core, "https-listen", TRUE, error))
    return FALSE;
  core->link = eh_link_new (core->hub, core->front, core->config, EH_SITE_GROUP, core->state_dir,
                            error);
  if (core->link == NULL)
    return FALSE;
  eh_link_start (core->link);
  core->identity = eh_core_new_identity (core);
  eh_bus_subscribe (core->bus, EH_TOPIC_PLUGIN_STATE, eh_core_plugin_state_changed, core, NULL);
  for (guint i = 0; i < core->plugins->len; i++)
    eh_core_start_plugin (core, g_ptr_array_index (core->plugins, i));
  if (eh_core_is_settled (core))
    eh_identity_start (core->identity);
  undeclared = eh_config_get_undeclared_groups (core->config);
  for (guint i = 0; undeclared[i] != NULL; i++) {
    if (!eh_core_has_plugin (core, undeclared[i]))
      g_warning ("config group [%s] belongs to no plugin on this host; ignored", undeclared[i]);
  }
  return TRUE;
}

gboolean
eh_core_is_settled (EhCore *core)
{
  for (guint i = 0; i < core->plugins->len; i++) {
    EhPlugin *plugin = g_ptr_array_index (core->plugins, i);

    if (plugin->state == EH_PLUGIN_STATE_STARTING || plugin->state == EH_PLUGIN_STATE_LOADED)
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_core_reload (EhCore *core, const char *config_path, GError **error)
{
  g_autoptr (GError) tls_error = NULL;

  if (config_path != NULL) {
    g_autoptr (EhConfig) fresh = eh_config_load (config_path, FALSE, error);

    /* check the new files fully before anything changes */
    if (fresh == NULL || !eh_config_declare_group (fresh, EH_CORE_GROUP, eh_core_keys, error) ||
        !eh_config_declare_group (fresh, EH_FRONT_GROUP, eh_front_keys, error) ||
        !eh_config_declare_group (fresh, EH_SITE_GROUP, eh_site_keys, error))
      return FALSE;
    for (guint i = 0; i < core->plugins->len; i++) {
      EhPlugin *plugin = g_ptr_array_index (core->plugins, i);

      if (plugin->desc != NULL && plugin->desc->config_keys != NULL &&
          !eh_config_declare_group (fresh, plugin->name, plugin->desc->config_keys, error))
        return FALSE;
    }
    eh_config_free (core->config);
    core->config = g_steal_pointer (&fresh);
    g_message ("configuration reloaded (listen addresses and plugins change on restart)");
  }
  if (!eh_core_load_tls (core, &tls_error))
    g_warning ("TLS certificate not reloaded: %s", tls_error->message);
  for (guint i = 0; i < core->plugins->len; i++) {
    EhPlugin *plugin = g_ptr_array_index (core->plugins, i);
    g_autoptr (GError) plugin_error = NULL;

    if (plugin->state != EH_PLUGIN_STATE_RUNNING || plugin->desc->reload == NULL)
      continue;
    if (!plugin->desc->reload (plugin, &plugin_error))
      g_warning ("plugin %s did not reload: %s", plugin->name, plugin_error->message);
  }
  return TRUE;
}

typedef struct {
  EhCore *core;
  gint64 deadline;
  GSourceFunc done;
  gpointer user_data;
} EhShutdown;

static gboolean
eh_core_shutdown_poll (gpointer data)
{
  EhShutdown *shutdown = data;

  if (eh_front_get_connection_count (shutdown->core->front) > 0 &&
      g_get_monotonic_time () < shutdown->deadline)
    return G_SOURCE_CONTINUE;
  shutdown->core->shutdown_poll = 0;
  shutdown->done (shutdown->user_data);
  return G_SOURCE_REMOVE;
}

void
eh_core_shutdown (EhCore *core, guint timeout_ms, GSourceFunc done, gpointer user_data)
{
  EhShutdown *shutdown = g_new0 (EhShutdown, 1);

  shutdown->core = core;
  shutdown->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  shutdown->done = done;
  shutdown->user_data = user_data;
  eh_front_begin_shutdown (core->front);
  core->shutdown_poll = g_timeout_add_full (G_PRIORITY_DEFAULT, 50, eh_core_shutdown_poll, shutdown,
                                            g_free);
}

EhStore *
eh_plugin_get_store (EhPlugin *plugin, GError **error)
{
  EhCore *core = plugin->core;

  if (core->store == NULL) {
    g_autofree char *path = g_build_filename (core->state_dir, "ehttpd.db", NULL);

    core->store = eh_store_open (path, error);
  }
  return core->store;
}

GPtrArray *
eh_core_get_plugins (EhCore *core)
{
  return core->plugins;
}

EhFront *
eh_core_get_front (EhCore *core)
{
  return core->front;
}

EhTls *
eh_core_get_tls (EhCore *core)
{
  return core->tls;
}

EhBusHub *
eh_core_get_hub (EhCore *core)
{
  return core->hub;
}

EhConfig *
eh_core_get_config (EhCore *core)
{
  return core->config;
}

const char *
eh_core_get_state_dir (EhCore *core)
{
  return core->state_dir;
}

gint64
eh_core_get_start_time (EhCore *core)
{
  return core->start_time;
}

void
eh_core_set_dbus (EhCore *core, EhDbusService *dbus)
{
  core->dbus = dbus;
}

EhIdentity *
eh_core_get_identity (EhCore *core)
{
  return core->identity;
}

EhLink *
eh_core_get_link (EhCore *core)
{
  return core->link;
}

EhDbusService *
eh_core_get_dbus (EhCore *core)
{
  return core->dbus;
}
