/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib/gstdio.h>
#include <gio/gio.h>

/* removes a test's temporary directory and everything in it */
static inline void
eh_test_remove_tree (const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL) {
    g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

    if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      eh_test_remove_tree (child);
    else
      g_unlink (child);
    g_object_unref (info);
  }
  g_rmdir (path);
}
