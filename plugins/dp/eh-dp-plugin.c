/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-dp.h"

static const EhConfigKey eh_dp_keys[] = {
  { "site-code", EH_CONFIG_STRING, "PS1", 0, 0,
    "the three letters or digits content ids start with (PS1 → PS100001); use the site's [ca] site-code" },
  { "names", EH_CONFIG_STRING_LIST, NULL, 0, 0,
    "this DP's names in content tokens' aud (default: [site] names, else the host name)" },
  { "allow-anonymous", EH_CONFIG_BOOLEAN, "false", 0, 0,
    "also serve content without a token at /SMS_DP_SMSPKG$/, over HTTP and HTTPS (deprecated)" },
  { "upstream-dp", EH_CONFIG_STRING, NULL, 0, 0,
    "on an edge: the https://HOST:PORT of the DP content is pulled from (default: [site] upstream)" },
  { "pull-interval", EH_CONFIG_UINT, "300", 1, 86400,
    "on an edge: seconds between two pulls (also pulled at start, link up and content available)" },
  { "distribution", EH_CONFIG_STRING, "all", 0, 0,
    "on an edge: all (pull every content of the upstream DP) or assigned (only the content "
    "`ehttpctl content distribute ID --dp NAME` assigned to this DP's names)" },
  EH_CONFIG_KEY_END
};

EhDp *
eh_dp_ref (EhDp *dp)
{
  g_atomic_ref_count_inc (&dp->ref);
  return dp;
}

void
eh_dp_unref (EhDp *dp)
{
  if (dp == NULL || !g_atomic_ref_count_dec (&dp->ref))
    return;
  eh_dp_library_free (dp->library);
  eh_dp_bundle_free (dp->bundle);
  eh_dp_token_cache_free (dp->tokens);
  g_strfreev (dp->names);
  g_free (dp->pinned_root);
  g_free (dp->dir);
  g_free (dp->site_code);
  g_free (dp->upstream_dp);
  g_free (dp->root_fingerprint);
  g_free (dp->host_pem);
  g_clear_pointer (&dp->statuses, g_hash_table_unref);
  eh_dp_assignments_free (dp->assignments);
  eh_dp_body_cache_free (dp);
  g_clear_pointer (&dp->force, g_hash_table_unref);
  g_free (dp);
}

/* the plugin stops: jobs still running keep the library, but no longer touch the plugin */
static void
eh_dp_stop_data (gpointer data)
{
  EhDp *dp = data;

  eh_dp_trust_stop (dp);
  eh_dp_action_stop (dp);
  eh_dp_edge_stop (dp);
  eh_dp_status_stop (dp);
  dp->plugin = NULL;
  eh_dp_unref (dp);
}

/* what start reads from disk in a thread: the library, and the trust bundle kept last time */
typedef struct {
  EhDpLibrary *library;
  EhDpAssignments *assignments;
  char *bundle_json;
  gsize bundle_len;
} EhDpOpened;

static void
eh_dp_opened_free (EhDpOpened *opened)
{
  eh_dp_library_free (opened->library);
  eh_dp_assignments_free (opened->assignments);
  g_free (opened->bundle_json);
  g_free (opened);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpOpened, eh_dp_opened_free)

static void
eh_dp_open_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDp *dp = task_data;
  GError *error = NULL;
  EhDpOpened *opened = g_new0 (EhDpOpened, 1);

  opened->library = eh_dp_library_open (dp->dir, dp->site_code, &error);
  if (opened->library != NULL)
    opened->assignments = eh_dp_assignments_load (dp->dir, &error);
  if (opened->library == NULL || opened->assignments == NULL) {
    eh_dp_opened_free (opened);
    g_task_return_error (task, error);
    return;
  }
  opened->bundle_json = eh_dp_trust_read_kept (dp->dir, &opened->bundle_len);
  g_task_return_pointer (task, opened, (GDestroyNotify) eh_dp_opened_free);
}

/* [dp] names, else [site] names, else the host name */
static GStrv
eh_dp_names (EhConfig *config)
{
  g_auto (GStrv) own = eh_config_get_string_list (config, "dp", "names");
  g_auto (GStrv) site = NULL;

  if (own != NULL && own[0] != NULL)
    return g_steal_pointer (&own);
  site = eh_config_get_string_list (config, "site", "names");
  if (site != NULL && site[0] != NULL)
    return g_steal_pointer (&site);
  return g_strdupv ((char *[]) { (char *) g_get_host_name (), NULL });
}

static void
eh_dp_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDp) dp = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (EhDpOpened) opened = NULL;

  if (dp->plugin == NULL)
    return;
  opened = g_task_propagate_pointer (G_TASK (result), &error);
  if (opened != NULL) {
    dp->library = g_steal_pointer (&opened->library);
    dp->assignments = g_steal_pointer (&opened->assignments);
  }
  if (dp->library == NULL || !eh_dp_dbus_start (dp, &error) || !eh_dp_http_start (dp, &error) ||
      !eh_dp_download_start (dp, &error) || !eh_dp_quick_start (dp, &error) ||
      !eh_dp_pull_start (dp, &error)) {
    eh_plugin_start_done (dp->plugin, error);
    return;
  }
  if (opened->bundle_json != NULL)
    eh_dp_trust_load (dp, opened->bundle_json, opened->bundle_len);
  eh_dp_trust_start (dp);
  eh_dp_status_start (dp);
  eh_dp_action_start (dp);
  eh_dp_edge_start (dp);
  all = eh_dp_library_list (dp->library);
  g_message ("content library of site %s: %u content(s)", dp->site_code, all->len);
  eh_plugin_start_done (dp->plugin, NULL);
}

static void
eh_dp_start (EhPlugin *plugin)
{
  EhDp *dp = g_new0 (EhDp, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  const char *distribution;

  g_atomic_ref_count_init (&dp->ref);
  dp->plugin = plugin;
  dp->bus = eh_plugin_get_bus (plugin);
  eh_plugin_set_data (plugin, dp, eh_dp_stop_data);
  dp->site_code = g_strdup (eh_config_get_string (eh_plugin_get_config (plugin), "dp", "site-code"));
  if (!eh_dp_site_code_is_valid (dp->site_code)) {
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[dp] site-code must be three of A-Z and 0-9 (content ids are like PS100001)");
    eh_plugin_start_done (plugin, error);
    return;
  }
  dp->names = eh_dp_names (eh_plugin_get_config (plugin));
  dp->allow_anonymous = eh_config_get_boolean (eh_plugin_get_config (plugin), "dp", "allow-anonymous");
  distribution = eh_config_get_string (eh_plugin_get_config (plugin), "dp", "distribution");
  if (g_strcmp0 (distribution, "all") != 0 && g_strcmp0 (distribution, "assigned") != 0) {
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[dp] distribution must be all or assigned");
    eh_plugin_start_done (plugin, error);
    return;
  }
  dp->assigned_only = g_strcmp0 (distribution, "assigned") == 0;
  dp->tokens = eh_dp_token_cache_new (EH_DP_TOKEN_CACHE_MAX);
  dp->dir = eh_plugin_ensure_private_dir (plugin, &error);
  if (dp->dir == NULL) {
    eh_plugin_start_done (plugin, error);
    return;
  }
  /* reading every manifest is disk work: a thread, and start_done when it is back */
  task = g_task_new (NULL, NULL, eh_dp_opened, eh_dp_ref (dp));
  g_task_set_task_data (task, dp, NULL);
  g_task_run_in_thread (task, eh_dp_open_thread);
}

const EhPluginDesc eh_dp_plugin = {
  .abi_version = EH_PLUGIN_ABI_VERSION,
  .name = "dp",
  .description = "distribution point: the signed content library and token-authenticated downloads",
  .config_keys = eh_dp_keys,
  .start = eh_dp_start,
};
