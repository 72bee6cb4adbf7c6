/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "eh-ctl.h"

/* every command table ehttpctl knows; roles add theirs here */
static const EhCtlCommand *const eh_ctl_tables[] = {
  eh_ctl_core_commands,
  eh_ctl_ca_commands,
  eh_ctl_dp_commands,
  eh_ctl_mp_commands,
  eh_ctl_boundary_commands,
  eh_ctl_cmg_commands,
  NULL,
};

static void
eh_ctl_usage (void)
{
  g_printerr ("usage: ehttpctl [--json] [--session|--system] COMMAND [ARGS]\n\ncommands:\n");
  for (guint t = 0; eh_ctl_tables[t] != NULL; t++) {
    for (const EhCtlCommand *c = eh_ctl_tables[t]; c->name != NULL; c++)
      g_printerr ("  %-24s %s\n", c->name, c->summary);
  }
  g_printerr ("\nexit codes: 0 ok, 1 failed, 2 usage, 3 daemon not running, 4 permission denied\n");
}

/* the longest command name made of the leading words of argv */
static const EhCtlCommand *
eh_ctl_find (int argc, char **argv, int *words)
{
  const EhCtlCommand *best = NULL;

  for (guint t = 0; eh_ctl_tables[t] != NULL; t++) {
    for (const EhCtlCommand *c = eh_ctl_tables[t]; c->name != NULL; c++) {
      g_auto (GStrv) parts = g_strsplit (c->name, " ", -1);
      guint n = g_strv_length (parts);
      gboolean match = (int) n <= argc;

      for (guint i = 0; match && i < n; i++)
        match = strcmp (parts[i], argv[i]) == 0;
      if (match && (best == NULL || (int) n > *words)) {
        best = c;
        *words = n;
      }
    }
  }
  return best;
}

int
main (int argc, char **argv)
{
  gboolean json = FALSE, session = FALSE, system = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print JSON for scripts", NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &session, "talk to ehttpd on the session bus", NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &system, "talk to ehttpd on the system bus (default)", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("COMMAND [ARGS] - administer ehttpd");
  g_autoptr (GError) error = NULL;
  const EhCtlCommand *command;
  EhCtl ctl = { 0 };
  int words = 0;
  int code;

  setlocale (LC_ALL, "");
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("ehttpctl: %s\n", error->message);
    return EH_CTL_EXIT_USAGE;
  }
  command = argc > 1 ? eh_ctl_find (argc - 1, argv + 1, &words) : NULL;
  if (command == NULL) {
    eh_ctl_usage ();
    return EH_CTL_EXIT_USAGE;
  }
  if (!session && !system && g_strcmp0 (g_getenv ("EHTTPD_BUS"), "session") == 0)
    session = TRUE;
  ctl.json = json;
  ctl.bus = g_bus_get_sync (session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, &error);
  if (ctl.bus == NULL) {
    g_printerr ("ehttpctl: cannot reach the %s bus: %s\n", session ? "session" : "system",
                error->message);
    return EH_CTL_EXIT_NOT_RUNNING;
  }
  code = command->run (&ctl, argc - 1 - words, argv + 1 + words);
  g_object_unref (ctl.bus);
  return code;
}
