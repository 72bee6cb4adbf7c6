/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ctl.h"

/* ehttpctl client … over org.ehttpd.Mp */

#define EH_CTL_MP_PATH "/org/ehttpd/Plugin/mp"
#define EH_CTL_MP_IFACE "org.ehttpd.Mp"

static int
eh_ctl_client_list (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) list = NULL;
  const char *state = "";
  guint64 offset = 0, limit = 0;
  guint total = 0;
  GVariantIter iter;
  GVariant *row;

  for (int i = 0; i < argc; i++) {
    if (g_str_equal (argv[i], "--state") && i + 1 < argc)
      state = argv[++i];
    else if (g_str_equal (argv[i], "--offset") && i + 1 < argc &&
             g_ascii_string_to_unsigned (argv[i + 1], 10, 0, G_MAXUINT32, &offset, NULL))
      i++;
    else if (g_str_equal (argv[i], "--limit") && i + 1 < argc &&
             g_ascii_string_to_unsigned (argv[i + 1], 10, 1, 10000, &limit, NULL))
      i++;
    else {
      g_printerr ("usage: ehttpctl client list [--state pending|approved|blocked] [--offset N] [--limit N (1000; "
                  "at most 10000)]\n");
      return EH_CTL_EXIT_USAGE;
    }
  }
  reply = eh_ctl_call (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "ListClients",
                       g_variant_new ("(suu)", state, (guint) offset, (guint) limit), G_VARIANT_TYPE ("(aa{sv}u)"),
                       &code);
  if (reply == NULL)
    return code;
  g_variant_get (reply, "(@aa{sv}u)", &list, &total);
  if (ctl->json) {
    eh_ctl_print_variant_json (list);
    return code;
  }
  g_print ("%-36s %-8s %-20s %-28s %s\n", "GUID", "STATE", "REGISTERED", "HOST", "HARDWARE ID");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *guid = "", *row_state = "", *host = "", *hardware = "";
    gint64 registered = 0;
    guint same = 0;
    g_autofree char *when = NULL;

    g_variant_lookup (row, "guid", "&s", &guid);
    g_variant_lookup (row, "state", "&s", &row_state);
    g_variant_lookup (row, "host-name", "&s", &host);
    g_variant_lookup (row, "hardware-id", "&s", &hardware);
    g_variant_lookup (row, "registered-at", "x", &registered);
    g_variant_lookup (row, "same-hardware", "u", &same);
    when = eh_ctl_format_time (registered);
    g_print ("%-36s %-8s %-20s %-28s %s%s\n", guid, row_state, when, host, hardware,
             same > 0 ? " (has other keys)" : "");
    g_variant_unref (row);
  }
  if (offset + g_variant_n_children (list) < total || offset > 0)
    g_print ("(%" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " of %u; --offset and --limit page through)\n",
             g_variant_n_children (list) > 0 ? offset + 1 : offset, offset + g_variant_n_children (list), total);
  return code;
}

static void
eh_ctl_mp_print_client (GVariant *client)
{
  const char *keys[] = { "guid", "state", "host-name", "hardware-id", "key-type", "key-thumbprint",
                         "approved-by", "peer", "jwk" };
  const char *times[] = { "registered-at", "last-seen-at", "state-changed-at" };
  guint same = 0;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const char *value = "";

    g_variant_lookup (client, keys[i], "&s", &value);
    g_print ("%-18s %s\n", keys[i], value);
  }
  for (guint i = 0; i < G_N_ELEMENTS (times); i++) {
    gint64 value = 0;
    g_autofree char *text = NULL;

    g_variant_lookup (client, times[i], "x", &value);
    text = eh_ctl_format_time (value);
    g_print ("%-18s %s\n", times[i], text);
  }
  g_variant_lookup (client, "same-hardware", "u", &same);
  g_print ("%-18s %u other registration(s) with this hardware id\n", "same-hardware", same);
}

static int
eh_ctl_client_one (EhCtl *ctl, int argc, char **argv, const char *command, const char *method)
{
  int code = EH_CTL_EXIT_OK;
  g_autofree char *usage = g_strdup_printf ("usage: ehttpctl client %s GUID\n", command);
  g_autoptr (GVariant) client = eh_ctl_query (ctl, argc, argv, 1, usage, EH_CTL_MP_PATH,
                                              EH_CTL_MP_IFACE, method, "(a{sv})", &code);

  if (client == NULL)
    return code;
  eh_ctl_mp_print_client (client);
  return code;
}

static int
eh_ctl_client_show (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "show", "ShowClient");
}

static int
eh_ctl_client_approve (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "approve", "ApproveClient");
}

static int
eh_ctl_client_block (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "block", "BlockClient");
}

static int
eh_ctl_client_unblock (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_client_one (ctl, argc, argv, "unblock", "UnblockClient");
}

static int
eh_ctl_mp_rollover (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) key = NULL;
  const char *x5t = "";
  gint64 activate_at = 0;
  g_autofree char *when = NULL;

  key = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl mp rollover\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                        "RolloverTokenKey", "(a{sv})", &code);
  if (key == NULL)
    return code;
  g_variant_lookup (key, "x5t#S256", "&s", &x5t);
  g_variant_lookup (key, "activate-at", "x", &activate_at);
  when = eh_ctl_format_time (activate_at);
  g_print ("next token signing key %s is in the trust bundle; it signs from %s\n", x5t, when);
  return code;
}

static int
eh_ctl_mp_token_keys (EhCtl *ctl, int argc, char **argv)
{
  static const EhCtlColumn columns[] = {
    { "STATE", "state", 8 }, { "X5T#S256", "x5t#S256", 44 }, { "SIGNS FROM", "activate-at", 20 },
    { "EXPIRES", "not-after", 0 }, { NULL },
  };

  return eh_ctl_list (ctl, argc, argv, "usage: ehttpctl mp token-keys\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                      "ListTokenKeys", columns);
}

static int
eh_ctl_bulk_create (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) token = NULL;
  guint64 lifetime = 0;
  guint64 max_uses = 0;
  const char *guid = "", *secret = "";
  gint64 expires_at = 0;
  g_autofree char *when = NULL;

  for (int i = 0; i < argc; i++) {
    if (g_str_equal (argv[i], "--lifetime") && i + 1 < argc) {
      if (!eh_ctl_parse_duration (argv[++i], &lifetime)) {
        g_printerr ("ehttpctl: a lifetime looks like 3d, 12h, 90m or 30s (more than 0)\n");
        return EH_CTL_EXIT_USAGE;
      }
    } else if (g_str_equal (argv[i], "--max-uses") && i + 1 < argc) {
      if (!g_ascii_string_to_unsigned (argv[++i], 10, 1, G_MAXUINT32, &max_uses, NULL)) {
        g_printerr ("ehttpctl: --max-uses takes a number from 1\n");
        return EH_CTL_EXIT_USAGE;
      }
    } else {
      g_printerr ("usage: ehttpctl bulk-token create [--lifetime 3d] [--max-uses N]\n");
      return EH_CTL_EXIT_USAGE;
    }
  }
  token = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "CreateBulkToken",
                             g_variant_new ("(xu)", (gint64)lifetime, (guint)max_uses), "(a{sv})",
                             &code);
  if (token == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_print_variant_json (token);
    return code;
  }
  g_variant_lookup (token, "guid", "&s", &guid);
  g_variant_lookup (token, "token", "&s", &secret);
  g_variant_lookup (token, "expires-at", "x", &expires_at);
  when = eh_ctl_format_time (expires_at);
  g_print ("token    %s\nguid     %s\nexpires  %s\n(the token is shown only now; the site keeps its hash)\n",
           secret, guid, when);
  return code;
}

static int
eh_ctl_bulk_list (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *row;

  list = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl bulk-token list\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                        "ListBulkTokens", "(aa{sv})", &code);
  if (list == NULL)
    return code;
  g_print ("%-36s %-7s %-9s %-20s %-20s %-20s %s\n", "GUID", "STATE", "USES", "EXPIRES", "FIRST USE",
           "LAST USE", "CLIENTS");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *guid = "";
    gboolean blocked = FALSE;
    guint uses = 0, max_uses = 0;
    gint64 expires = 0, first = 0, last = 0;
    g_autofree const char **clients = NULL;
    g_autofree char *joined = NULL;
    g_autofree char *count = NULL;
    g_autofree char *expires_text = NULL;
    g_autofree char *first_text = NULL;
    g_autofree char *last_text = NULL;

    g_variant_lookup (row, "guid", "&s", &guid);
    g_variant_lookup (row, "blocked", "b", &blocked);
    g_variant_lookup (row, "uses", "u", &uses);
    g_variant_lookup (row, "max-uses", "u", &max_uses);
    g_variant_lookup (row, "expires-at", "x", &expires);
    g_variant_lookup (row, "first-used-at", "x", &first);
    g_variant_lookup (row, "last-used-at", "x", &last);
    g_variant_lookup (row, "clients", "^a&s", &clients);
    joined = clients != NULL ? g_strjoinv (",", (char **) clients) : g_strdup ("");
    count = max_uses > 0 ? g_strdup_printf ("%u/%u", uses, max_uses) : g_strdup_printf ("%u", uses);
    expires_text = eh_ctl_format_time (expires);
    first_text = first > 0 ? eh_ctl_format_time (first) : g_strdup ("-");
    last_text = last > 0 ? eh_ctl_format_time (last) : g_strdup ("-");
    g_print ("%-36s %-7s %-9s %-20s %-20s %-20s %s\n", guid, blocked ? "blocked" : "usable", count,
             expires_text, first_text, last_text, joined);
    g_variant_unref (row);
  }
  return code;
}

static int
eh_ctl_bulk_one (EhCtl *ctl, int argc, char **argv, const char *command, const char *method)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = NULL;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl bulk-token %s GUID\n", command);
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, method, g_variant_new ("(s)", argv[0]),
                       G_VARIANT_TYPE ("()"), &code);
  if (reply != NULL && !ctl->json)
    g_print ("bulk token %s %sed\n", argv[0], command);
  else if (reply != NULL)
    g_print ("{\"guid\": \"%s\", \"%sed\": true}\n", argv[0], command);
  return code;
}

static int
eh_ctl_bulk_block (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_bulk_one (ctl, argc, argv, "block", "BlockBulkToken");
}

static int
eh_ctl_bulk_unblock (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_bulk_one (ctl, argc, argv, "unblock", "UnblockBulkToken");
}

static int
eh_ctl_deployment_create (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) deployment = NULL;
  const char *content = NULL, *action = NULL, *collection = NULL, *id = "";
  gboolean all = FALSE;

  for (int i = 0; i < argc; i++) {
    if (g_str_equal (argv[i], "--content") && i + 1 < argc)
      content = argv[++i];
    else if (g_str_equal (argv[i], "--action") && i + 1 < argc)
      action = argv[++i];
    else if (g_str_equal (argv[i], "--collection") && i + 1 < argc)
      collection = argv[++i];
    else if (g_str_equal (argv[i], "--all"))
      all = TRUE;
    else
      content = NULL, i = argc;
  }
  if (content == NULL || action == NULL || (all && collection != NULL)) {
    g_printerr ("usage: ehttpctl deployment create --content ID --action install|uninstall|run|available "
                "[--collection NAME|--all]\n");
    return EH_CTL_EXIT_USAGE;
  }
  deployment = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "CreateDeployment",
                                  g_variant_new ("(sss)", content, action, collection != NULL ? collection : ""),
                                  "(a{sv})", &code);
  if (deployment == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_print_variant_json (deployment);
    return code;
  }
  g_variant_lookup (deployment, "id", "&s", &id);
  g_print ("deployment %s: %s %s for %s\n", id, action, content, collection != NULL ? collection : "all clients");
  return code;
}

static int
eh_ctl_deployment_list (EhCtl *ctl, int argc, char **argv)
{
  static const EhCtlColumn columns[] = {
    { "ID", "id", 36 }, { "CONTENT", "content-id", 9 }, { "ACTION", "action", 9 },
    { "CREATED", "created-at", 20 }, { "TARGET", "collection", 0, "(all clients)" }, { NULL },
  };

  return eh_ctl_list (ctl, argc, argv, "usage: ehttpctl deployment list\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                      "ListDeployments", columns);
}

static int
eh_ctl_deployment_remove (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = NULL;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl deployment remove ID\n");
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "RemoveDeployment",
                             g_variant_new ("(s)", argv[0]), NULL, &code);
  if (reply != NULL)
    g_print (ctl->json ? "{\"id\": \"%s\", \"removed\": true}\n" : "deployment %s removed\n", argv[0]);
  return code;
}

static int
eh_ctl_collection_member (EhCtl *ctl, int argc, char **argv, const char *command, const char *method)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = NULL;

  if (argc != 2) {
    g_printerr ("usage: ehttpctl collection %s NAME GUID\n", command);
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, method,
                             g_variant_new ("(ss)", argv[0], argv[1]), NULL, &code);
  if (reply != NULL && ctl->json)
    g_print ("{\"collection\": \"%s\", \"client_guid\": \"%s\", \"member\": %s}\n", argv[0], argv[1],
             method[0] == 'A' ? "true" : "false");
  else if (reply != NULL)
    g_print ("client %s %s collection %s\n", argv[1], method[0] == 'A' ? "added to" : "removed from", argv[0]);
  return code;
}

static int
eh_ctl_collection_add (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_collection_member (ctl, argc, argv, "add-member", "AddCollectionMember");
}

static int
eh_ctl_collection_remove (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_collection_member (ctl, argc, argv, "remove-member", "RemoveCollectionMember");
}

static int
eh_ctl_collection_list (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *row;

  if (argc > 1) {
    g_printerr ("usage: ehttpctl collection list [NAME]\n");
    return EH_CTL_EXIT_USAGE;
  }
  list = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "ListCollections",
                            g_variant_new ("(s)", argc == 1 ? argv[0] : ""), "(aa{sv})", &code);
  if (list == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_print_variant_json (list);
    return code;
  }
  g_print ("%-24s %s\n", "COLLECTION", "CLIENT");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *collection = "", *guid = "";

    g_variant_lookup (row, "collection", "&s", &collection);
    g_variant_lookup (row, "client-guid", "&s", &guid);
    g_print ("%-24s %s\n", collection, guid);
    g_variant_unref (row);
  }
  return code;
}

/* the file is read here (as the admin who runs ehttpctl) and checked whole by the MP */
static int
eh_ctl_discovery_import (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) counts = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *document = NULL;
  gsize len = 0;
  guint users = 0, devices = 0;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl discovery import FILE.json\n");
    return EH_CTL_EXIT_USAGE;
  }
  if (!g_file_get_contents (argv[0], &document, &len, &error)) {
    g_printerr ("ehttpctl: %s\n", error->message);
    return EH_CTL_EXIT_FAILED;
  }
  if (len > 16 * 1024 * 1024 || memchr (document, '\0', len) != NULL || !g_utf8_validate (document, len, NULL)) {
    g_printerr ("ehttpctl: %s is not a discovery file (UTF-8 JSON of at most 16 MiB)\n", argv[0]);
    return EH_CTL_EXIT_FAILED;
  }
  counts = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "ImportDiscovery",
                              g_variant_new ("(s)", document), "(a{sv})", &code);
  if (counts == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_print_variant_json (counts);
    return code;
  }
  g_variant_lookup (counts, "users", "u", &users);
  g_variant_lookup (counts, "devices", "u", &devices);
  g_print ("discovered: %u user(s), %u device(s) imported\n", users, devices);
  return code;
}

static int
eh_ctl_discovery_list (EhCtl *ctl, int argc, char **argv)
{
  static const EhCtlColumn columns[] = {
    { "KIND", "kind", 6 }, { "TENANT", "tenant-id", 36 }, { "ID", "id", 36 },
    { "IMPORTED", "imported-at", 20 }, { "NAME", "name", 0 }, { NULL },
  };

  return eh_ctl_list (ctl, argc, argv, "usage: ehttpctl discovery list\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                      "ListDiscovered", columns);
}

static int
eh_ctl_discovery_remove (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) removed = NULL;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl discovery remove ID\n");
    return EH_CTL_EXIT_USAGE;
  }
  removed = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "RemoveDiscovered",
                               g_variant_new ("(s)", argv[0]), "(u)", &code);
  if (removed == NULL)
    return code;
  if (ctl->json)
    g_print ("{\"id\": \"%s\", \"removed\": %u}\n", argv[0], g_variant_get_uint32 (removed));
  else
    g_print ("%s: %u discovery entr%s removed\n", argv[0], g_variant_get_uint32 (removed),
             g_variant_get_uint32 (removed) == 1 ? "y" : "ies");
  return code;
}

static int
eh_ctl_explain (EhCtl *ctl, int argc, char **argv)
{
  const char *keys[] = { "code", "error", "rule", "request-id", "subject", "path", "message" };
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) explanation = NULL;
  guint status = 0;
  gint64 when = 0;

  explanation = eh_ctl_query (ctl, argc, argv, 1, "usage: ehttpctl explain REQUEST-ID|CODE\n", EH_CTL_MP_PATH,
                              EH_CTL_MP_IFACE, "Explain", "(a{sv})", &code);
  if (explanation == NULL)
    return code;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const char *value = NULL;

    if (g_variant_lookup (explanation, keys[i], "&s", &value))
      g_print ("%-11s %s\n", keys[i], value);
  }
  if (g_variant_lookup (explanation, "status", "u", &status))
    g_print ("%-11s %u\n", "status", status);
  if (g_variant_lookup (explanation, "time", "x", &when)) {
    g_autofree char *text = eh_ctl_format_time (when);

    g_print ("%-11s %s\n", "time", text);
  }
  return code;
}

const EhCtlCommand eh_ctl_mp_commands[] = {
  { "client list", "[--state S] [--offset N] [--limit N]", "registered clients and their approval state, newest first", eh_ctl_client_list },
  { "client show", "GUID", "one client, with its key", eh_ctl_client_show },
  { "client approve", "GUID", "approve a pending client (admin)", eh_ctl_client_approve },
  { "client block", "GUID", "block a client: it gets nothing anywhere (admin)", eh_ctl_client_block },
  { "client unblock", "GUID", "lift a block; the client returns to its earlier state (admin)", eh_ctl_client_unblock },
  { "mp rollover", "", "announce the next token signing key now; it signs after token-key-announce (admin)", eh_ctl_mp_rollover },
  { "mp token-keys", "", "this MP's token signing keys", eh_ctl_mp_token_keys },
  { "bulk-token create", "[--lifetime 3d] [--max-uses N]", "a bulk registration token (at most 7 days; admin)", eh_ctl_bulk_create },
  { "bulk-token list", "", "bulk registration tokens and their usage ledger (admin)", eh_ctl_bulk_list },
  { "bulk-token block", "GUID", "refuse a bulk registration token from now on (admin)", eh_ctl_bulk_block },
  { "bulk-token unblock", "GUID", "accept a blocked bulk registration token again (admin)", eh_ctl_bulk_unblock },
  { "deployment create", "--content ID --action ACTION [--collection NAME|--all]", "deploy content to every client or one collection (admin)", eh_ctl_deployment_create },
  { "deployment list", "", "deployments and their targets", eh_ctl_deployment_list },
  { "deployment remove", "ID", "remove a deployment (admin)", eh_ctl_deployment_remove },
  { "collection add-member", "NAME GUID", "add a client to a collection (admin)", eh_ctl_collection_add },
  { "collection remove-member", "NAME GUID", "remove a client from a collection (admin)", eh_ctl_collection_remove },
  { "collection list", "[NAME]", "collection members", eh_ctl_collection_list },
  { "discovery import", "FILE.json", "import discovered Entra users and devices (admin)", eh_ctl_discovery_import },
  { "discovery list", "", "discovered Entra users and devices (admin)", eh_ctl_discovery_list },
  { "discovery remove", "ID", "forget a discovered user (object id) or device (device id) (admin)", eh_ctl_discovery_remove },
  { "explain", "REQUEST-ID|CODE", "which rule refused a recent request, or what a reason code means (admin)", eh_ctl_explain },
  { NULL },
};
