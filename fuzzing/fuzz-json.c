/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-json.h"

/* strict JSON: either a clean refusal or a document json-glib also reads */
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict ((const char *) data, size, 65536, 16, &error);

  g_assert_true ((node == NULL) != (error == NULL));
  return 0;
}
