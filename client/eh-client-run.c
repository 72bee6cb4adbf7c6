/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-client.h"

/*
 * policy: this client's signed assignments, verified (signature, every
 * body's hash), listed. run: the same, then every content an `install` or
 * `run` assignment names is downloaded into DIR/<content id>. Policy that
 * does not verify stops both before anything is downloaded.
 */

static JsonArray *
eh_client_assignments_json (GPtrArray *assignments)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < assignments->len; i++) {
    EhClientAssignment *assignment = g_ptr_array_index (assignments, i);
    JsonObject *entry = json_object_new ();

    json_object_set_string_member (entry, "id", assignment->id);
    json_object_set_string_member (entry, "content_id", assignment->content_id);
    json_object_set_string_member (entry, "action", assignment->action);
    json_object_set_string_member (entry, "target", assignment->target);
    json_array_add_object_element (array, entry);
  }
  return array;
}

static void
eh_client_print_assignments (GPtrArray *assignments)
{
  g_print ("%-38s %-10s %-10s %s\n", "ASSIGNMENT", "CONTENT", "ACTION", "TARGET");
  for (guint i = 0; i < assignments->len; i++) {
    EhClientAssignment *assignment = g_ptr_array_index (assignments, i);

    g_print ("%-38s %-10s %-10s %s\n", assignment->id, assignment->content_id, assignment->action,
             assignment->target);
  }
}

int
eh_client_policy_command (EhClient *client, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autoptr (GPtrArray) assignments = NULL;
  int code = 0;

  if (!eh_client_parse_options ("policy", NULL,
                                "Fetches this client's policy assignments, verifies the site signing signature "
                                "against the trust bundle of the pinned root and every body's SHA-256, and lists "
                                "what is deployed to this client. Tampered policy is refused.",
                                NULL, &argc, &argv, 0, 0, &code))
    return code;
  if (!eh_client_open (client, &error) || (assignments = eh_client_policy_fetch (client, &error)) == NULL)
    return eh_client_finish (client, report, error);
  json_object_set_array_member (report, "assignments", eh_client_assignments_json (assignments));
  if (!client->json)
    eh_client_print_assignments (assignments);
  return eh_client_finish (client, report, NULL);
}

static gboolean
eh_client_action_downloads (const char *action)
{
  return strcmp (action, "install") == 0 || strcmp (action, "run") == 0;
}

int
eh_client_run_command (EhClient *client, int argc, char **argv)
{
  g_autofree char *dest = NULL;
  gint stall = EH_CLIENT_DEFAULT_STALL_SECONDS;
  const GOptionEntry entries[] = {
    { "dest", 0, 0, G_OPTION_ARG_FILENAME, &dest, "where contents go, each in DIR/<content id> (default: "
      "<state dir>/content)", "DIR" },
    { "stall-timeout", 0, 0, G_OPTION_ARG_INT, &stall, "seconds without a byte before a DP counts as failed",
      "SECONDS" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autoptr (GPtrArray) assignments = NULL;
  g_autoptr (GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *contents = json_array_new ();
  int code = 0;

  json_object_set_array_member (report, "contents", contents);
  if (!eh_client_parse_options ("run", NULL,
                                "Does what this client's verified policy says: downloads the content of every "
                                "install and run assignment (with failover, like content get).",
                                entries, &argc, &argv, 0, 0, &code))
    return code;
  if (stall < 1 || stall > 3600) {
    g_printerr ("ehttp-client run: --stall-timeout takes 1 to 3600 seconds\n");
    return EH_CLIENT_EXIT_USAGE;
  }
  client->stall_seconds = stall;
  if (!eh_client_open (client, &error) || (assignments = eh_client_policy_fetch (client, &error)) == NULL)
    return eh_client_finish (client, report, error);
  json_object_set_array_member (report, "assignments", eh_client_assignments_json (assignments));
  if (dest == NULL)
    dest = g_build_filename (client->state_dir, "content", NULL);
  for (guint i = 0; i < assignments->len && error == NULL; i++) {
    EhClientAssignment *assignment = g_ptr_array_index (assignments, i);
    g_autofree char *dir = NULL;
    EhClientGet get = { 0 };
    JsonObject *entry;

    if (!eh_client_action_downloads (assignment->action) ||
        g_hash_table_contains (done, assignment->content_id))
      continue;
    g_hash_table_add (done, assignment->content_id);
    dir = g_build_filename (dest, assignment->content_id, NULL);
    get.content_id = assignment->content_id;
    get.dest = dir;
    entry = json_object_new ();
    json_array_add_object_element (contents, entry);
    if (!client->json)
      g_print ("%s %s: downloading into %s\n", assignment->action, assignment->content_id, dir);
    eh_client_content_get (client, &get, entry, &error);
  }
  return eh_client_finish (client, report, error);
}
