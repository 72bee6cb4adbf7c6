/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * eh_file_replace:
 * @path: the file to write
 * @mode: its permissions (e.g. 0600 for keys)
 *
 * Writes @data to a new file beside @path, syncs it, renames it over @path
 * and syncs the directory: a reader sees the old file or the whole new one,
 * never a part, also after a crash. Errors are EH_ERROR_FAILED naming @path.
 */
gboolean eh_file_replace (const char *path, const void *data, gsize len, int mode, GError **error);

/**
 * eh_file_open_partial:
 * @path: a partial download of a file of @size bytes
 * @have: (out): how many bytes of it are there to resume from
 *
 * Opens or creates @path (0600, never through a symlink, a regular file
 * only) for reading and writing. What it holds is kept when it is not
 * longer than @size; otherwise it is emptied.
 *
 * Returns: the descriptor, or -1 + EH_ERROR_FAILED naming @path
 */
int eh_file_open_partial (const char *path, guint64 size, goffset *have, GError **error);

/**
 * eh_input_stream_read_capped:
 *
 * Reads @stream to its end, at most @max bytes; more is EH_ERROR_FAILED.
 *
 * Returns: (transfer full): the bytes, or NULL + error
 */
GBytes *eh_input_stream_read_capped (GInputStream *stream, gsize max, GError **error);

G_END_DECLS
