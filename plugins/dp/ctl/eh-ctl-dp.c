/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ctl.h"

/* ehttpctl content … over org.ehttpd.Dp */

#define EH_CTL_DP_PATH "/org/ehttpd/Plugin/dp"
#define EH_CTL_DP_IFACE "org.ehttpd.Dp"

static void
eh_ctl_dp_print_content (GVariant *content)
{
  const char *id = "", *name = "", *version = "";
  g_autoptr (GVariant) files = g_variant_lookup_value (content, "file-list", G_VARIANT_TYPE ("aa{sv}"));
  g_autofree char *created_text = NULL;
  gint64 created = 0;
  guint64 size = 0;
  guint n = 0;
  GVariantIter iter;
  GVariant *row;

  g_variant_lookup (content, "id", "&s", &id);
  g_variant_lookup (content, "name", "&s", &name);
  g_variant_lookup (content, "version", "&s", &version);
  g_variant_lookup (content, "created", "x", &created);
  g_variant_lookup (content, "size", "t", &size);
  g_variant_lookup (content, "files", "u", &n);
  created_text = eh_ctl_format_time (created);
  g_print ("id:       %s\nname:     %s\nversion:  %s\ncreated:  %s\nfiles:    %u (%" G_GUINT64_FORMAT
           " bytes)\nmanifest: /CCMTOKENAUTH_SMS_DP_SMSSIG$/%s\n\n%-64s %12s  %s\n",
           id, name, version, created_text, n, size, id, "SHA256", "SIZE", "PATH");
  if (files == NULL)
    return;
  g_variant_iter_init (&iter, files);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *path = "", *sha256 = "";
    guint64 file_size = 0;

    g_variant_lookup (row, "path", "&s", &path);
    g_variant_lookup (row, "sha256", "&s", &sha256);
    g_variant_lookup (row, "size", "t", &file_size);
    g_print ("%-64s %12" G_GUINT64_FORMAT "  %s\n", sha256, file_size, path);
    g_variant_unref (row);
  }
}

static int
eh_ctl_content_add (EhCtl *ctl, int argc, char **argv)
{
  g_autoptr (GPtrArray) positional = g_ptr_array_new ();
  g_autoptr (GVariant) content = NULL;
  g_autofree char *path = NULL;
  const char *version = "";
  gboolean unknown = FALSE;
  int code = EH_CTL_EXIT_OK;

  for (int i = 0; i < argc; i++) {
    if (strcmp (argv[i], "--version") == 0 && i + 1 < argc)
      version = argv[++i];
    else if (g_str_has_prefix (argv[i], "--version="))
      version = argv[i] + strlen ("--version=");
    else if (g_str_has_prefix (argv[i], "--"))
      unknown = TRUE;
    else
      g_ptr_array_add (positional, argv[i]);
  }
  if (unknown || positional->len != 2) {
    g_printerr ("usage: ehttpctl content add NAME PATH [--version V]\n");
    return EH_CTL_EXIT_USAGE;
  }
  /* the daemon reads the path: make it absolute here, and leave any '..' for it to refuse */
  if (g_path_is_absolute (positional->pdata[1])) {
    path = g_strdup (positional->pdata[1]);
  } else {
    g_autofree char *cwd = g_get_current_dir ();

    path = g_strconcat (cwd, "/", (char *) positional->pdata[1], NULL);
  }
  if (!g_utf8_validate (path, -1, NULL) || !g_utf8_validate (positional->pdata[0], -1, NULL) ||
      !g_utf8_validate (version, -1, NULL)) {
    g_printerr ("ehttpctl: names, paths and versions must be UTF-8\n");
    return EH_CTL_EXIT_FAILED;
  }
  content = eh_ctl_call_value (ctl, EH_CTL_DP_PATH, EH_CTL_DP_IFACE, "AddContent",
                               g_variant_new ("(sss)", (char *)positional->pdata[0], path, version),
                               "(a{sv})", &code);
  if (content == NULL)
    return code;
  if (ctl->json)
    eh_ctl_print_variant_json (content);
  else
    eh_ctl_dp_print_content (content);
  return code;
}

static int
eh_ctl_content_list (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *row;

  list = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl content list\n", EH_CTL_DP_PATH, EH_CTL_DP_IFACE,
                        "ListContent", "(aa{sv})", &code);
  if (list == NULL)
    return code;
  g_print ("%-9s %-10s %6s %14s  %-20s %s\n", "ID", "VERSION", "FILES", "BYTES", "CREATED", "NAME");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *id = "", *name = "", *version = "";
    g_autofree char *created_text = NULL;
    gint64 created = 0;
    guint64 size = 0;
    guint files = 0;

    g_variant_lookup (row, "id", "&s", &id);
    g_variant_lookup (row, "name", "&s", &name);
    g_variant_lookup (row, "version", "&s", &version);
    g_variant_lookup (row, "created", "x", &created);
    g_variant_lookup (row, "size", "t", &size);
    g_variant_lookup (row, "files", "u", &files);
    created_text = eh_ctl_format_time (created);
    g_print ("%-9s %-10s %6u %14" G_GUINT64_FORMAT "  %-20s %s\n", id, version, files, size, created_text, name);
    g_variant_unref (row);
  }
  return code;
}

static int
eh_ctl_content_show (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) content = NULL;

  content = eh_ctl_query (ctl, argc, argv, 1, "usage: ehttpctl content show ID\n", EH_CTL_DP_PATH,
                          EH_CTL_DP_IFACE, "ShowContent", "(a{sv})", &code);
  if (content == NULL)
    return code;
  eh_ctl_dp_print_content (content);
  return code;
}

static int
eh_ctl_content_status (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *row;

  list = eh_ctl_query (ctl, argc, argv, 1, "usage: ehttpctl content status ID\n", EH_CTL_DP_PATH, EH_CTL_DP_IFACE,
                        "ContentStatus", "(aa{sv})", &code);
  if (list == NULL)
    return code;
  g_print ("%-30s %-12s %14s  %s\n", "DP", "STATE", "BYTES", "URL / REASON");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *dp = "", *state = "", *url = "", *reason = NULL;
    guint64 bytes = 0;

    g_variant_lookup (row, "dp", "&s", &dp);
    g_variant_lookup (row, "state", "&s", &state);
    g_variant_lookup (row, "dp-url", "&s", &url);
    g_variant_lookup (row, "reason", "&s", &reason);
    g_variant_lookup (row, "bytes", "t", &bytes);
    g_print ("%-30s %-12s %14" G_GUINT64_FORMAT "  %s\n", dp, state, bytes, reason != NULL ? reason : url);
    g_variant_unref (row);
  }
  return code;
}

static int
eh_ctl_content_remove (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) result = NULL;
  guint removed = 0;
  guint64 freed = 0;

  result = eh_ctl_query (ctl, argc, argv, 1, "usage: ehttpctl content remove ID\n", EH_CTL_DP_PATH, EH_CTL_DP_IFACE,
                        "RemoveContent", "(a{sv})", &code);
  if (result == NULL)
    return code;
  g_variant_lookup (result, "removed-files", "u", &removed);
  g_variant_lookup (result, "freed-bytes", "t", &freed);
  g_print ("content %s removed; %u stored file(s) no content uses were deleted (%" G_GUINT64_FORMAT
           " bytes)\n", argv[0], removed, freed);
  return code;
}

static int
eh_ctl_content_verify (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) result = NULL;
  g_autoptr (GVariant) problems = NULL;
  gboolean ok = FALSE;
  guint contents = 0, files = 0;
  GVariantIter iter;
  GVariant *row;

  if (argc > 1) {
    g_printerr ("usage: ehttpctl content verify [ID]\n");
    return EH_CTL_EXIT_USAGE;
  }
  result = eh_ctl_call_value (ctl, EH_CTL_DP_PATH, EH_CTL_DP_IFACE, "VerifyContent",
                              g_variant_new ("(s)", argc == 1 ? argv[0] : ""), "(a{sv})", &code);
  if (result == NULL)
    return code;
  g_variant_lookup (result, "ok", "b", &ok);
  if (ctl->json) {
    eh_ctl_print_variant_json (result);
    return ok ? EH_CTL_EXIT_OK : EH_CTL_EXIT_FAILED;
  }
  g_variant_lookup (result, "contents", "u", &contents);
  g_variant_lookup (result, "files", "u", &files);
  problems = g_variant_lookup_value (result, "problems", G_VARIANT_TYPE ("aa{sv}"));
  g_variant_iter_init (&iter, problems);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *id = "", *path = "", *problem = "";

    g_variant_lookup (row, "id", "&s", &id);
    g_variant_lookup (row, "path", "&s", &path);
    g_variant_lookup (row, "problem", "&s", &problem);
    g_print ("%s %s: %s\n", id, path,
             g_strcmp0 (problem, "missing") == 0 ? "missing from the store"
             : g_strcmp0 (problem, "size") == 0  ? "stored file has the wrong size"
                                                 : "stored file does not match its SHA-256");
    g_variant_unref (row);
  }
  g_print ("%u file(s) in %u content(s): %s\n", files, contents, ok ? "all verified" : "PROBLEMS FOUND");
  return ok ? EH_CTL_EXIT_OK : EH_CTL_EXIT_FAILED;
}

const EhCtlCommand eh_ctl_dp_commands[] = {
  { "content add", "NAME PATH [--version V]", "sign a file or directory into the content library (admin)", eh_ctl_content_add },
  { "content list", "", "the contents of the library", eh_ctl_content_list },
  { "content show", "ID", "one content and its files", eh_ctl_content_show },
  { "content remove", "ID", "remove a content; stored files nothing uses are deleted (admin)", eh_ctl_content_remove },
  { "content status", "ID", "where a content stands on every DP (pending, in-progress, installed, failed)", eh_ctl_content_status },
  { "content verify", "[ID]", "re-hash the stored files of one or every content", eh_ctl_content_verify },
  { NULL },
};
