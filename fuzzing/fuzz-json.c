/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-json.h"

/*
 * Any text: a clean refusal by the strict check, or a document json-glib
 * reads too. Text that passes the check but that json-glib refuses means
 * the two grammars differ, which is a bug here.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
eh_fuzz_getters (JsonNode *root)
{
  JsonObject *obj;
  g_autoptr (GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return;
  obj = json_node_get_object (root);
  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *text = NULL;
    gint64 value = 0;

    if (!eh_json_object_get_int_checked (obj, l->data, &value, NULL))
      value = 0;
    g_assert_cmpint (ABS (value), <=, G_GINT64_CONSTANT (9007199254740991));
    if (eh_json_object_get_string_checked (obj, l->data, &text, NULL))
      g_assert_true (g_utf8_validate (text, -1, NULL));
  }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = eh_json_parse_strict ((const char *) data, size,
                                                    EH_JSON_DEFAULT_MAX_BYTES,
                                                    EH_JSON_DEFAULT_MAX_DEPTH, &error);

  g_assert_true ((root == NULL) == (error != NULL));
  if (root == NULL) {
    g_assert_true (error->domain == EH_ERROR && error->code == EH_ERROR_INVALID_ARGUMENT);
    g_assert_null (strstr (error->message, "json-glib refused"));
    return 0;
  }
  eh_fuzz_getters (root);
  return 0;
}
