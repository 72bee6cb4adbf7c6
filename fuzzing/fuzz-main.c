/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>

/*
 * Replays a corpus through a fuzz target without libFuzzer, so every
 * target runs as an ordinary test with any compiler. Arguments are files
 * or directories of files.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static guint
eh_fuzz_replay_path (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  guint count = 0;

  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);

      count += eh_fuzz_replay_path (child);
    }
    return count;
  }
  if (!g_file_get_contents (path, &data, &len, &error)) {
    g_printerr ("%s\n", error->message);
    return 0;
  }
  LLVMFuzzerTestOneInput ((const guint8 *) data, len);
  return 1;
}

int
main (int argc, char **argv)
{
  guint count = 0;

  for (int i = 1; i < argc; i++)
    count += eh_fuzz_replay_path (argv[i]);
  if (count == 0) {
    g_printerr ("no corpus input found\n");
    return 1;
  }
  g_print ("replayed %u inputs\n", count);
  return 0;
}
