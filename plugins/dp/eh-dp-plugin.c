/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-dp.h"

static const EhConfigKey eh_dp_keys[] = {
  { "site-code", EH_CONFIG_STRING, "PS1", 0, 0,
    "the three letters or digits content ids start with (PS1 → PS100001); use the site's [ca] site-code" },
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
  g_free (dp->dir);
  g_free (dp->site_code);
  g_free (dp);
}

/* the plugin stops: jobs still running keep the library, but no longer touch the plugin */
static void
eh_dp_stop_data (gpointer data)
{
  EhDp *dp = data;

  dp->plugin = NULL;
  eh_dp_unref (dp);
}

static void
eh_dp_open_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDp *dp = task_data;
  GError *error = NULL;
  EhDpLibrary *library = eh_dp_library_open (dp->dir, dp->site_code, &error);

  if (library == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, library, (GDestroyNotify) eh_dp_library_free);
}

static void
eh_dp_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhDp) dp = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = NULL;

  if (dp->plugin == NULL)
    return;
  dp->library = g_task_propagate_pointer (G_TASK (result), &error);
  if (dp->library == NULL || !eh_dp_dbus_start (dp, &error) || !eh_dp_http_start (dp, &error)) {
    eh_plugin_start_done (dp->plugin, error);
    return;
  }
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
  .description = "distribution point: the signed content library",
  .config_keys = eh_dp_keys,
  .start = eh_dp_start,
};
