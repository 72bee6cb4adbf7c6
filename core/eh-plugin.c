/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmodule.h>

#include "eh-core-private.h"

const char *
eh_plugin_state_to_string (EhPluginState state)
{
  switch (state) {
  case EH_PLUGIN_STATE_LOADED:
    return "loaded";
  case EH_PLUGIN_STATE_STARTING:
    return "starting";
  case EH_PLUGIN_STATE_RUNNING:
    return "running";
  case EH_PLUGIN_STATE_FAILED:
    return "failed";
  case EH_PLUGIN_STATE_DISABLED:
    return "disabled";
  default:
    return "unknown";
  }
}

EhPlugin *
eh_plugin_new (EhCore *core, const char *name, const char *path)
{
  EhPlugin *plugin = g_new0 (EhPlugin, 1);

  plugin->core = core;
  plugin->name = g_strdup (name);
  plugin->path = g_strdup (path);
  plugin->bus = eh_bus_hub_connect (eh_core_get_hub (core), name);
  return plugin;
}

void
eh_plugin_free (EhPlugin *plugin)
{
  if (plugin->start_timeout != NULL) {
    g_source_destroy (plugin->start_timeout);
    g_source_unref (plugin->start_timeout);
  }
  if (plugin->data_destroy != NULL)
    plugin->data_destroy (plugin->data);
  eh_bus_free (plugin->bus);
  g_free (plugin->name);
  g_free (plugin->path);
  g_free (plugin->error);
  g_free (plugin);
}

const char *
eh_plugin_get_name (EhPlugin *plugin)
{
  return plugin->name;
}

EhPluginState
eh_plugin_get_state (EhPlugin *plugin)
{
  return plugin->state;
}

void
eh_plugin_set_data (EhPlugin *plugin, gpointer data, GDestroyNotify destroy)
{
  if (plugin->data_destroy != NULL)
    plugin->data_destroy (plugin->data);
  plugin->data = data;
  plugin->data_destroy = destroy;
}

gpointer
eh_plugin_get_data (EhPlugin *plugin)
{
  return plugin->data;
}

EhConfig *
eh_plugin_get_config (EhPlugin *plugin)
{
  return eh_core_get_config (plugin->core);
}

const char *
eh_plugin_get_state_dir (EhPlugin *plugin)
{
  return eh_core_get_state_dir (plugin->core);
}

char *
eh_plugin_ensure_private_dir (EhPlugin *plugin, GError **error)
{
  g_autofree char *dir = g_build_filename (eh_core_get_state_dir (plugin->core), "plugins",
                                           plugin->name, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0 || chmod (dir, 0700) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s: %s", dir, g_strerror (errno));
    return NULL;
  }
  return g_steal_pointer (&dir);
}

EhBus *
eh_plugin_get_bus (EhPlugin *plugin)
{
  return plugin->bus;
}

gboolean
eh_plugin_add_endpoint (EhPlugin *plugin, const EhEndpoint *endpoint, gpointer user_data,
                        GError **error)
{
  return eh_front_add_endpoint (eh_core_get_front (plugin->core), plugin, endpoint, user_data,
                                error);
}

gboolean
eh_plugin_add_quick_handler (EhPlugin *plugin, const char *method, const char *path_prefix,
                             EhQuickHandler handler, gpointer user_data, GError **error)
{
  return eh_front_add_quick_handler (eh_core_get_front (plugin->core), plugin, method, path_prefix,
                                     handler, user_data, error);
}

GStrv
eh_plugin_get_listener_urls (EhPlugin *plugin)
{
  return eh_front_get_urls (eh_core_get_front (plugin->core));
}

void
eh_plugin_set_state (EhPlugin *plugin, EhPluginState state, const char *error)
{
  GVariantDict payload;

  plugin->state = state;
  g_free (plugin->error);
  plugin->error = g_strdup (error);
  if (state == EH_PLUGIN_STATE_FAILED) {
    g_warning ("plugin %s failed: %s", plugin->name, error);
    /* a failed role answers no bus request; its endpoints answer 503 */
    eh_bus_hub_forget_owner (eh_core_get_hub (plugin->core), plugin->name);
  } else {
    g_message ("plugin %s is %s", plugin->name, eh_plugin_state_to_string (state));
  }
  g_variant_dict_init (&payload, NULL);
  g_variant_dict_insert (&payload, EH_KEY_PLUGIN, "s", plugin->name);
  g_variant_dict_insert (&payload, EH_KEY_STATE, "s", eh_plugin_state_to_string (state));
  if (error != NULL)
    g_variant_dict_insert (&payload, EH_KEY_ERROR, "s", error);
  eh_bus_publish (plugin->bus, EH_TOPIC_PLUGIN_STATE, g_variant_dict_end (&payload), NULL);
}

void
eh_plugin_start_done (EhPlugin *plugin, const GError *error)
{
  if (plugin->state != EH_PLUGIN_STATE_STARTING) {
    g_warning ("plugin %s reported its start twice or too late; ignored", plugin->name);
    return;
  }
  if (plugin->start_timeout != NULL) {
    g_source_destroy (plugin->start_timeout);
    g_clear_pointer (&plugin->start_timeout, g_source_unref);
  }
  if (error != NULL)
    eh_plugin_set_state (plugin, EH_PLUGIN_STATE_FAILED, error->message);
  else
    eh_plugin_set_state (plugin, EH_PLUGIN_STATE_RUNNING, NULL);
}

/* opens @path without following links and checks what the loader promises */
static int
eh_plugin_open_checked (const char *path, GError **error)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

  if (fd < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: %s", path, g_strerror (errno));
    return -1;
  }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: not a regular file", path);
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: writable by group or others (mode %04o)",
                 path, (guint) (st.st_mode & 07777));
  } else if (st.st_uid != 0 && st.st_uid != geteuid ()) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: owned by uid %u, not root or the daemon's user",
                 path, (guint) st.st_uid);
  } else {
    return fd;
  }
  close (fd);
  return -1;
}

const EhPluginDesc *
eh_plugin_load_module (const char *path, const char *name, GError **error)
{
  g_autofree char *fd_path = NULL;
  EhPluginFactory factory = NULL;
  const EhPluginDesc *desc;
  GModule *module;
  int fd = eh_plugin_open_checked (path, error);

  if (fd < 0)
    return NULL;
  /* load the very file that was checked, not whatever the path names now.
   * the descriptor stays open as long as the (resident) module: the dynamic
   * linker knows modules by path, and a reused descriptor number would make
   * the next plugin's path equal to this one's */
  fd_path = g_strdup_printf ("/proc/self/fd/%d", fd);
  module = g_module_open (fd_path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
  if (module == NULL) {
    close (fd);
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: %s", path, g_module_error ());
    return NULL;
  }
  /* plugins are never unloaded: callbacks and types may outlive any stop */
  g_module_make_resident (module);
  if (!g_module_symbol (module, EH_PLUGIN_FACTORY_SYMBOL, (gpointer *) &factory) || factory == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: no %s symbol; not an ehttpd plugin", path,
                 EH_PLUGIN_FACTORY_SYMBOL);
    return NULL;
  }
  desc = factory (EH_PLUGIN_ABI_VERSION);
  if (desc == NULL || desc->abi_version != EH_PLUGIN_ABI_VERSION) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN,
                 "%s: built for another plugin ABI (core has version %u)", path,
                 EH_PLUGIN_ABI_VERSION);
    return NULL;
  }
  if (g_strcmp0 (desc->name, name) != 0 || desc->start == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "%s: describes itself as \"%s\", not \"%s\"",
                 path, desc->name != NULL ? desc->name : "", name);
    return NULL;
  }
  return desc;
}
