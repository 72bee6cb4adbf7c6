/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>

#include "eh-core-private.h"
#include "eh-daemon-private.h"
#include "eh-dbus-private.h"

typedef struct {
  GMainLoop *loop;
  EhCore *core;
  const char *config_path;
  gboolean stopping;
  gboolean ready;
} EhDaemon;

static void
eh_daemon_reload (gpointer user_data, GError **error)
{
  EhDaemon *daemon = user_data;

  eh_sd_notify ("RELOADING=1");
  eh_core_reload (daemon->core, daemon->config_path, error);
  eh_sd_notify ("READY=1");
}

static gboolean
eh_daemon_on_sighup (gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  eh_daemon_reload (user_data, &error);
  if (error != NULL)
    g_warning ("reload refused, configuration unchanged: %s", error->message);
  return G_SOURCE_CONTINUE;
}

static gboolean
eh_daemon_stopped (gpointer user_data)
{
  g_main_loop_quit (((EhDaemon *) user_data)->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
eh_daemon_on_sigterm (gpointer user_data)
{
  EhDaemon *daemon = user_data;
  guint timeout = eh_config_get_uint (eh_core_get_config (daemon->core), "core", "shutdown-timeout");

  if (daemon->stopping)
    return G_SOURCE_CONTINUE;
  daemon->stopping = TRUE;
  g_message ("stopping: no new connections; open requests have %u s to finish", timeout);
  eh_sd_notify ("STOPPING=1");
  eh_core_shutdown (daemon->core, timeout * 1000, eh_daemon_stopped, daemon);
  return G_SOURCE_CONTINUE;
}

/* ready once listeners are open, every plugin has started or failed, and
 * the bus has answered for our name (so ehttpctl reaches us from then on) */
static gboolean
eh_daemon_poll_ready (gpointer user_data)
{
  EhDaemon *daemon = user_data;
  EhDbusService *dbus = eh_core_get_dbus (daemon->core);

  if (!eh_core_is_settled (daemon->core) || (dbus != NULL && !eh_dbus_service_name_settled (dbus)))
    return G_SOURCE_CONTINUE;
  g_message ("ready");
  eh_sd_notify ("READY=1");
  return G_SOURCE_REMOVE;
}

char *
eh_daemon_default_config (void)
{
  g_autofree char *core = eh_config_describe_group ("core", eh_core_config_keys ());
  g_autofree char *front = eh_config_describe_group ("front", eh_front_config_keys ());
  g_autofree char *site = eh_config_describe_group ("site", eh_site_config_keys ());

  return g_strconcat ("# ehttpd configuration. Every key is shown with its default, commented out.\n"
                      "# Drop-ins in conf.d/*.conf beside this file are read after it, in name order.\n"
                      "# Each role plugin reads its own group ([ca], [mp], [dp], …); see its README.\n\n",
                      core, "\n", front, "\n", site, NULL);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean session = FALSE, allow_test = FALSE, verbose = FALSE, print_config = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "configuration file", "FILE" },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session, "use the session bus (tests, make run)", NULL },
    { "allow-test-plugins", 0, 0, G_OPTION_ARG_NONE, &allow_test, "allow test-only plugins", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "debug logging", NULL },
    { "print-default-config", 0, 0, G_OPTION_ARG_NONE, &print_config, "print the default configuration", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- the ehttpd site-system daemon");
  g_autoptr (GError) error = NULL;
  g_autoptr (EhConfig) config = NULL;
  EhDbusService *dbus;
  EhDaemon daemon = { 0 };

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("ehttpd: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if (print_config) {
    g_autofree char *text = eh_daemon_default_config ();

    g_print ("%s", text);
    return EXIT_SUCCESS;
  }
  if (verbose)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  daemon.config_path = config_path != NULL ? config_path : EH_SYSCONFDIR "/ehttpd.conf";
  config = eh_config_load (daemon.config_path, config_path != NULL, &error);
  if (config == NULL || (daemon.core = eh_core_new (g_steal_pointer (&config), allow_test, &error)) == NULL) {
    g_printerr ("ehttpd: %s\n", error->message);
    return EXIT_FAILURE;
  }
  daemon.loop = g_main_loop_new (NULL, FALSE);
  dbus = eh_dbus_service_new (daemon.core, session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM,
                              eh_daemon_reload, &daemon, &error);
  if (dbus == NULL) {
    g_printerr ("ehttpd: D-Bus: %s\n", error->message);
    return EXIT_FAILURE;
  }
  eh_core_load_plugins (daemon.core);
  if (!eh_core_start (daemon.core, &error)) {
    g_printerr ("ehttpd: %s\n", error->message);
    return EXIT_FAILURE;
  }
  g_unix_signal_add (SIGTERM, eh_daemon_on_sigterm, &daemon);
  g_unix_signal_add (SIGINT, eh_daemon_on_sigterm, &daemon);
  g_unix_signal_add (SIGHUP, eh_daemon_on_sighup, &daemon);
  g_timeout_add (20, eh_daemon_poll_ready, &daemon);
  g_main_loop_run (daemon.loop);
  eh_dbus_service_free (dbus);
  eh_core_free (daemon.core);
  g_main_loop_unref (daemon.loop);
  g_message ("stopped");
  return EXIT_SUCCESS;
}
