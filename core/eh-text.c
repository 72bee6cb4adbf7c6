/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-text.h"

gboolean
eh_text_is_word (const char *text, gsize min_len, gsize max_len, const char *also)
{
  gsize len;

  if (text == NULL)
    return FALSE;
  len = strnlen (text, max_len + 1);
  if (len < MAX (min_len, 1) || len > max_len)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (text[i]) && (also == NULL || strchr (also, text[i]) == NULL))
      return FALSE;
  }
  return TRUE;
}
