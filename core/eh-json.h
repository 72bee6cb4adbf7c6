/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Strict JSON for hostile input. json-glib 1.6.6 alone crashes on deep
 * nesting, lets the last duplicate key win, accepts \u0000, comments, single
 * quotes and hex, turns 1e400 into inf and wraps big integers. This checks
 * the text first (RFC 8259 only) and parses it only when it passes.
 */

#define EH_JSON_DEFAULT_MAX_BYTES (64 * 1024)
#define EH_JSON_DEFAULT_MAX_DEPTH 32

/**
 * eh_json_parse_strict:
 * @data: the text (need not be NUL-terminated)
 * @len: its length
 * @max_bytes: refuse longer input
 * @max_depth: refuse deeper nesting of arrays and objects
 *
 * Refuses: invalid UTF-8, anything outside RFC 8259 grammar, duplicate
 * keys in an object, `\u0000` anywhere, numbers that are not finite
 * doubles, integers outside ±2^53.
 *
 * Returns: (transfer full): the root node, or %NULL with @error set
 *   (EH_ERROR_INVALID_ARGUMENT)
 */
JsonNode *eh_json_parse_strict (const char *data, gsize len, gsize max_bytes, guint max_depth,
                                GError **error);

/* object getters that check the member's type; %FALSE + error when absent or wrong */
gboolean eh_json_object_get_string_checked (JsonObject *obj, const char *member, const char **out,
                                            GError **error);
gboolean eh_json_object_get_int_checked (JsonObject *obj, const char *member, gint64 *out,
                                         GError **error);

G_END_DECLS
