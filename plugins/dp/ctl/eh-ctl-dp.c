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
  static const EhCtlColumn columns[] = {
    { "ID", "id", 9 }, { "VERSION", "version", 10 }, { "FILES", "files", 6 }, { "BYTES", "size", 14 },
    { "CREATED", "created", 20 }, { "NAME", "name", 0 }, { NULL },
  };

  return eh_ctl_list (ctl, argc, argv, "usage: ehttpctl content list\n", EH_CTL_DP_PATH, EH_CTL_DP_IFACE,
                      "ListContent", columns);
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
  g_print ("%-30s %-12s %14s %-8s  %s\n", "DP", "STATE", "BYTES", "ASSIGNED", "URL / REASON");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    const char *dp = "", *state = "", *url = "", *reason = NULL;
    guint64 bytes = 0;
    gboolean assigned = FALSE;

    g_variant_lookup (row, "assigned", "b", &assigned);
    g_variant_lookup (row, "dp", "&s", &dp);
    g_variant_lookup (row, "state", "&s", &state);
    g_variant_lookup (row, "dp-url", "&s", &url);
    g_variant_lookup (row, "reason", "&s", &reason);
    g_variant_lookup (row, "bytes", "t", &bytes);
    g_print ("%-30s %-12s %14" G_GUINT64_FORMAT " %-8s  %s\n", dp, state, bytes, assigned ? "yes" : "no",
             reason != NULL ? reason : url);
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

/* ID [--dp NAME]: the content id and the DP (NULL when not given); %FALSE on bad arguments */
static gboolean
eh_ctl_dp_target (int argc, char **argv, const char **id, const char **dp)
{
  *id = *dp = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp (argv[i], "--dp") == 0 && i + 1 < argc && *dp == NULL)
      *dp = argv[++i];
    else if (g_str_has_prefix (argv[i], "--dp=") && *dp == NULL)
      *dp = argv[i] + strlen ("--dp=");
    else if (g_str_has_prefix (argv[i], "-") || *id != NULL)
      return FALSE;
    else
      *id = argv[i];
  }
  return *id != NULL;
}

/* content distribute|undistribute ID --dp NAME; redistribute|validate ID [--dp NAME] */
static int
eh_ctl_content_act (EhCtl *ctl, int argc, char **argv, const char *method, const char *usage, gboolean need_dp)
{
  g_autoptr (GVariant) result = NULL;
  int code = EH_CTL_EXIT_OK;
  const char *id, *dp, *state = "";
  gboolean changed = TRUE;

  if (!eh_ctl_dp_target (argc, argv, &id, &dp) || (need_dp && dp == NULL)) {
    g_printerr ("%s", usage);
    return EH_CTL_EXIT_USAGE;
  }
  if (!g_utf8_validate (id, -1, NULL) || (dp != NULL && !g_utf8_validate (dp, -1, NULL))) {
    g_printerr ("ehttpctl: ids and DP names must be UTF-8\n");
    return EH_CTL_EXIT_FAILED;
  }
  result = eh_ctl_call_value (ctl, EH_CTL_DP_PATH, EH_CTL_DP_IFACE, method,
                              g_variant_new ("(ss)", id, dp != NULL ? dp : ""), "(a{sv})", &code);
  if (result == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_print_variant_json (result);
    return code;
  }
  g_variant_lookup (result, "changed", "b", &changed);
  g_variant_lookup (result, "dp", "&s", &state);
  if (strcmp (method, "DistributeContent") == 0)
    g_print ("content %s %s %s\n", id, changed ? "assigned to" : "was already assigned to", state);
  else if (strcmp (method, "UndistributeContent") == 0)
    g_print ("content %s %s %s\n", id, changed ? "taken back from" : "was not assigned to", state);
  else
    g_print ("%s of content %s asked of %s; `ehttpctl content status %s` shows the outcome\n",
             strcmp (method, "ValidateContent") == 0 ? "validation" : "redistribution", id,
             dp != NULL ? dp : "every DP", id);
  return code;
}

static int
eh_ctl_content_distribute (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_content_act (ctl, argc, argv, "DistributeContent",
                             "usage: ehttpctl content distribute ID --dp NAME\n", TRUE);
}

static int
eh_ctl_content_undistribute (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_content_act (ctl, argc, argv, "UndistributeContent",
                             "usage: ehttpctl content undistribute ID --dp NAME\n", TRUE);
}

static int
eh_ctl_content_redistribute (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_content_act (ctl, argc, argv, "RedistributeContent",
                             "usage: ehttpctl content redistribute ID [--dp NAME]\n", FALSE);
}

static int
eh_ctl_content_validate (EhCtl *ctl, int argc, char **argv)
{
  return eh_ctl_content_act (ctl, argc, argv, "ValidateContent",
                             "usage: ehttpctl content validate ID [--dp NAME]\n", FALSE);
}

static int
eh_ctl_dp_status (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) status = NULL;
  g_autofree char *names = NULL;
  g_autofree const char **list = NULL;
  const char *distribution = "", *upstream = "";
  guint contents = 0, stored = 0, staged = 0, downloads = 0, pulls = 0, tokens = 0;
  guint64 content_bytes = 0, disk = 0, staging = 0, bundle = 0;
  gboolean pulling = FALSE;

  status = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl dp status\n", EH_CTL_DP_PATH, EH_CTL_DP_IFACE,
                         "Status", "(a{sv})", &code);
  if (status == NULL)
    return code;
  g_variant_lookup (status, "names", "^a&s", &list);
  g_variant_lookup (status, "distribution", "&s", &distribution);
  g_variant_lookup (status, "upstream", "&s", &upstream);
  g_variant_lookup (status, "contents", "u", &contents);
  g_variant_lookup (status, "content-bytes", "t", &content_bytes);
  g_variant_lookup (status, "stored-files", "u", &stored);
  g_variant_lookup (status, "disk-bytes", "t", &disk);
  g_variant_lookup (status, "staging-files", "u", &staged);
  g_variant_lookup (status, "staging-bytes", "t", &staging);
  g_variant_lookup (status, "active-downloads", "u", &downloads);
  g_variant_lookup (status, "active-pulls", "u", &pulls);
  g_variant_lookup (status, "pulling", "b", &pulling);
  g_variant_lookup (status, "bundle-version", "t", &bundle);
  g_variant_lookup (status, "cached-tokens", "u", &tokens);
  names = list != NULL ? g_strjoinv (", ", (char **) list) : g_strdup ("");
  g_print ("names:            %s\n"
           "upstream:         %s\n"
           "distribution:     %s\n"
           "contents:         %u (%" G_GUINT64_FORMAT " bytes)\n"
           "disk use:         %" G_GUINT64_FORMAT " bytes in %u stored file(s)\n"
           "staging:          %" G_GUINT64_FORMAT " bytes in %u file(s)\n"
           "active downloads: %u\n"
           "active pulls:     %u sent to DPs below; %s\n"
           "trust bundle:     %s\n"
           "cached tokens:    %u\n",
           names, upstream[0] != '\0' ? upstream : "none (this DP is the origin)",
           upstream[0] == '\0' ? "the origin holds every content" : distribution, contents, content_bytes, disk,
           stored, staging, staged, downloads, pulls,
           pulling ? "pulling from upstream now" : upstream[0] != '\0' ? "not pulling now" : "no upstream",
           bundle > 0 ? "held" : "none yet", tokens);
  if (bundle > 0)
    g_print ("bundle version:   %" G_GUINT64_FORMAT "\n", bundle);
  return code;
}

const EhCtlCommand eh_ctl_dp_commands[] = {
  { "content add", "NAME PATH [--version V]", "sign a file or directory into the content library (admin)", eh_ctl_content_add },
  { "content list", "", "the contents of the library", eh_ctl_content_list },
  { "content show", "ID", "one content and its files", eh_ctl_content_show },
  { "content remove", "ID", "remove a content; stored files nothing uses are deleted (admin)", eh_ctl_content_remove },
  { "content status", "ID", "where a content stands on every DP (pending, in-progress, installed, failed)", eh_ctl_content_status },
  { "content verify", "[ID]", "re-hash the stored files of one or every content", eh_ctl_content_verify },
  { "content distribute", "ID --dp NAME", "assign a content to a DP with distribution=assigned (admin)", eh_ctl_content_distribute },
  { "content undistribute", "ID --dp NAME", "take a content back from a DP: it removes it (admin)", eh_ctl_content_undistribute },
  { "content redistribute", "ID [--dp NAME]", "DPs fetch every file of a content anew (admin)", eh_ctl_content_redistribute },
  { "content validate", "ID [--dp NAME]", "DPs re-hash a content; a damaged file is dropped and fetched again (admin)", eh_ctl_content_validate },
  { "dp status", "", "this DP: disk use, contents, active downloads and pulls", eh_ctl_dp_status },
  { NULL },
};
