/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>

/*
 * Replays inputs through a fuzz target without libFuzzer, so every target
 * also runs as an ordinary test, with any compiler. Each argument is a file
 * or a directory whose files (recursively, in name order) are replayed.
 * Fails when an argument cannot be read or nothing at all was replayed.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gboolean eh_fuzz_replay (const char *path, guint *count);

static gint
eh_fuzz_compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static gboolean
eh_fuzz_replay_dir (const char *path, guint *count)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  gboolean ok = TRUE;

  if (dir == NULL) {
    g_printerr ("%s\n", error->message);
    return FALSE;
  }
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  /* a fixed order, so a failing input is the same one on every run */
  g_ptr_array_sort (names, eh_fuzz_compare_paths);
  for (guint i = 0; i < names->len; i++)
    ok = eh_fuzz_replay (g_ptr_array_index (names, i), count) && ok;
  return ok;
}

static gboolean
eh_fuzz_replay (const char *path, guint *count)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return eh_fuzz_replay_dir (path, count);
  if (!g_file_get_contents (path, &data, &len, &error)) {
    g_printerr ("%s\n", error->message);
    return FALSE;
  }
  LLVMFuzzerTestOneInput ((const guint8 *) data, len);
  (*count)++;
  return TRUE;
}

int
main (int argc, char **argv)
{
  guint count = 0;
  gboolean ok = TRUE;

  if (argc < 2) {
    g_printerr ("usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++)
    ok = eh_fuzz_replay (argv[i], &count) && ok;
  g_print ("replayed %u inputs\n", count);
  if (!ok || count == 0)
    return 1;
  return 0;
}
