/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * eh_text_is_word:
 * @text: (nullable): what a peer, a file or an admin sent
 * @min_len: at least this many bytes (at least 1)
 * @max_len: at most this many bytes
 * @also: (nullable): characters allowed besides ASCII letters and digits
 *
 * The one check behind names, ids and versions: @min_len to @max_len bytes,
 * each an ASCII letter or digit or one of @also. Nothing else passes: no
 * spaces, controls, NUL, non-ASCII or path separators unless @also says so.
 */
gboolean eh_text_is_word (const char *text, gsize min_len, gsize max_len, const char *also);

G_END_DECLS
