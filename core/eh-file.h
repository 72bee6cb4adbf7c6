/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

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

G_END_DECLS
