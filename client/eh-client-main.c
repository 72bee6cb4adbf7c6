/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "eh-client.h"

/*
 * ehttp-client: the client agent. Global options come before the command;
 * each command parses its own options and answers --help. Every command
 * but join works from the state directory join wrote.
 */

static const EhClientCommand *const eh_client_tables[] = {
  eh_client_site_commands,
  eh_client_content_commands,
  NULL,
};

static const char eh_client_exit_text[] =
  "exit codes:\n"
  "  0 ok\n"
  "  1 failed\n"
  "  2 usage\n"
  "  3 not joined (run join first)\n"
  "  4 trust: the site or a peer is not the pinned one\n"
  "  5 refused by the site or its gateway (pending, blocked, a token, an Entra identity not discovered)\n"
  "  6 tampered: a signature or hash did not verify\n"
  "  7 unreachable: the MP, or every DP, failed\n"
  "  8 unsupported by the site or this build\n";

static void
eh_client_usage (void)
{
  g_printerr ("usage: ehttp-client [--state-dir DIR] [--json] [--quiet] [--gateway URL [--gateway-ca FILE]]\n"
              "                    COMMAND [OPTIONS] [ARGS]\n\n"
              "  --state-dir DIR   key, site and tokens (default $XDG_STATE_HOME/ehttp-client;\n"
              "                    /var/lib/ehttp-client for root)\n"
              "  --json            one JSON object on standard output, for scripts\n"
              "  --quiet           no progress output\n"
              "  --gateway URL     internet mode for this command: through this cloud management gateway\n"
              "  --gateway-ca FILE the anchors of a gateway with a public certificate\n"
              "  --version         the version\n\ncommands:\n");
  for (guint t = 0; eh_client_tables[t] != NULL; t++) {
    for (const EhClientCommand *c = eh_client_tables[t]; c->name != NULL; c++)
      g_printerr ("  %-22s %s\n", c->name, c->summary);
  }
  g_printerr ("\n'ehttp-client COMMAND --help' describes a command.\n\n%s", eh_client_exit_text);
}

int
eh_client_exit_for_error (const GError *error)
{
  if (error == NULL)
    return EH_CLIENT_EXIT_FAILED;
  if (error->domain == EH_ERROR) {
    switch (error->code) {
    case EH_ERROR_INVALID_ARGUMENT:
      return EH_CLIENT_EXIT_USAGE;
    case EH_ERROR_NOT_FOUND:
      return EH_CLIENT_EXIT_NOT_JOINED;
    case EH_ERROR_TLS:
      return EH_CLIENT_EXIT_TRUST;
    case EH_ERROR_PERMISSION_DENIED:
    case EH_ERROR_INVALID_TOKEN:
      return EH_CLIENT_EXIT_REFUSED;
    case EH_ERROR_CRYPTO:
      return EH_CLIENT_EXIT_TAMPERED;
    case EH_ERROR_UNAVAILABLE:
    case EH_ERROR_TIMEOUT:
      return EH_CLIENT_EXIT_UNREACHABLE;
    case EH_ERROR_PLUGIN:
      return EH_CLIENT_EXIT_UNSUPPORTED;
    default:
      return EH_CLIENT_EXIT_FAILED;
    }
  }
  if (error->domain == EH_CLIENT_ERROR_HTTP) {
    if (error->code == SOUP_STATUS_UNAUTHORIZED || error->code == SOUP_STATUS_FORBIDDEN)
      return EH_CLIENT_EXIT_REFUSED;
    return error->code >= 500 ? EH_CLIENT_EXIT_UNREACHABLE : EH_CLIENT_EXIT_FAILED;
  }
  if (error->domain == G_IO_ERROR || error->domain == G_RESOLVER_ERROR)
    return EH_CLIENT_EXIT_UNREACHABLE;
  if (error->domain == G_TLS_ERROR)
    return EH_CLIENT_EXIT_TRUST;
  return EH_CLIENT_EXIT_FAILED;
}

void
eh_client_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

/* prints @error (as JSON with --json) and returns its exit code */
int
eh_client_fail (EhClient *client, const GError *error)
{
  int code = eh_client_exit_for_error (error);

  if (client->json) {
    JsonObject *report = client->report != NULL ? json_object_ref (client->report) : json_object_new ();
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

    json_object_set_boolean_member (report, "ok", FALSE);
    json_object_set_string_member (report, "error", error->message);
    if (client->refusal != NULL)
      json_object_set_object_member (report, "refusal", json_object_ref (client->refusal));
    json_object_set_int_member (report, "exit_code", code);
    json_node_take_object (node, report);
    eh_client_print_json (node);
  }
  g_printerr ("ehttp-client: %s\n", error->message);
  return code;
}

/*
 * Parses one command's options. --help prints the command's use and exit
 * codes and ends with 0 (@exit_code set, FALSE returned).
 */
gboolean
eh_client_parse_options (const char *command, const char *parameters, const char *description,
                         const GOptionEntry *entries, int *argc, char ***argv, int min_args, int max_args,
                         int *exit_code)
{
  g_autofree char *title = g_strdup_printf ("%s%s%s", command, parameters != NULL ? " " : "",
                                            parameters != NULL ? parameters : "");
  g_autoptr (GOptionContext) context = g_option_context_new (title);
  g_autoptr (GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("ehttp-client %s", command);

  g_set_prgname (prgname);
  g_option_context_set_summary (context, description);
  g_option_context_set_description (context, eh_client_exit_text);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error)) {
    g_printerr ("ehttp-client %s: %s\n", command, error->message);
    *exit_code = EH_CLIENT_EXIT_USAGE;
    return FALSE;
  }
  /* argv[0] is the command */
  if (*argc - 1 < min_args || (max_args >= 0 && *argc - 1 > max_args)) {
    g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

    g_printerr ("%s", help);
    *exit_code = EH_CLIENT_EXIT_USAGE;
    return FALSE;
  }
  return TRUE;
}

static const EhClientCommand *
eh_client_find (const char *first, const char *second, int *words)
{
  const EhClientCommand *best = NULL;

  for (guint t = 0; eh_client_tables[t] != NULL; t++) {
    for (const EhClientCommand *c = eh_client_tables[t]; c->name != NULL; c++) {
      const char *space = strchr (c->name, ' ');

      if (space == NULL && strcmp (c->name, first) == 0 && best == NULL) {
        best = c;
        *words = 1;
      } else if (space != NULL && second != NULL && strncmp (c->name, first, space - c->name) == 0 &&
                 first[space - c->name] == '\0' && strcmp (space + 1, second) == 0) {
        best = c;
        *words = 2;
        return best;
      }
    }
  }
  return best;
}

int
main (int argc, char **argv)
{
  g_autofree char *state_dir = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *gateway_ca = NULL;
  gboolean json = FALSE, quiet = FALSE, version = FALSE, help = FALSE;
  const GOptionEntry entries[] = {
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "where the client keeps its key, site and tokens (default $XDG_STATE_HOME/ehttp-client, "
      "or /var/lib/ehttp-client for root)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object for scripts", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no progress output", NULL },
    { "gateway", 0, 0, G_OPTION_ARG_STRING, &gateway,
      "internet mode for this command: through this cloud management gateway", "https://HOST:PORT" },
    { "gateway-ca", 0, 0, G_OPTION_ARG_FILENAME, &gateway_ca, "the anchors of a gateway with a public certificate",
      "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version", NULL },
    { "help", 'h', 0, G_OPTION_ARG_NONE, &help, "the commands and exit codes", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("COMMAND [OPTIONS] [ARGS] - the ehttpd client agent");
  g_autoptr (GError) error = NULL;
  const EhClientCommand *command;
  EhClient client = { 0 };
  int words = 0, code;

  setlocale (LC_ALL, "");
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("ehttp-client: %s\n", error->message);
    return EH_CLIENT_EXIT_USAGE;
  }
  if (help) {
    eh_client_usage ();
    return EH_CLIENT_EXIT_OK;
  }
  if (version) {
    g_print ("ehttp-client %s\n", EH_VERSION);
    return EH_CLIENT_EXIT_OK;
  }
  if (argc < 2 || strcmp (argv[1], "help") == 0) {
    eh_client_usage ();
    return argc < 2 ? EH_CLIENT_EXIT_USAGE : EH_CLIENT_EXIT_OK;
  }
  command = eh_client_find (argv[1], argc > 2 ? argv[2] : NULL, &words);
  if (command == NULL) {
    g_printerr ("ehttp-client: unknown command \"%s\"\n\n", argv[1]);
    eh_client_usage ();
    return EH_CLIENT_EXIT_USAGE;
  }
  if (gateway != NULL && !eh_client_url_parse_https (gateway, &client.gateway, NULL, &error)) {
    g_printerr ("ehttp-client: --gateway: %s\n", error->message);
    return EH_CLIENT_EXIT_USAGE;
  }
  if (gateway_ca != NULL && gateway == NULL) {
    g_printerr ("ehttp-client: --gateway-ca goes with --gateway\n");
    return EH_CLIENT_EXIT_USAGE;
  }
  client.gateway_ca = g_steal_pointer (&gateway_ca);
  client.state_dir = state_dir != NULL ? g_steal_pointer (&state_dir) : eh_client_default_state_dir ();
  client.json = json;
  client.quiet = quiet;
  client.stall_seconds = EH_CLIENT_DEFAULT_STALL_SECONDS;
  /* the command sees itself as argv[0] */
  code = command->run (&client, argc - words, argv + words);
  if (client.session != NULL)
    soup_session_abort (client.session);
  g_clear_object (&client.session);
  g_clear_pointer (&client.site, eh_client_site_free);
  g_clear_pointer (&client.key, gnutls_privkey_deinit);
  eh_client_bundle_free (&client);
  g_clear_pointer (&client.report, json_object_unref);
  g_clear_pointer (&client.refusal, json_object_unref);
  g_clear_object (&client.gateway_anchors);
  g_free (client.gateway);
  g_free (client.gateway_ca);
  g_free (client.client_guid);
  g_free (client.client_state);
  g_free (client.state_dir);
  return code;
}
