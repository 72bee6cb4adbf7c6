/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-error.h"
#include "eh-framing.h"

/*
 * Feeds the input to the request checker in pieces (the first byte picks
 * the piece size) the way a connection does, and checks its promises.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static guint64
eh_fuzz_body_cap (const char *method, const char *path, gpointer user_data)
{
  return path[0] == '/' && path[1] == 'u' ? 4096 : 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  EhFramingLimits limits = { 256, 2048, 20 };
  g_autoptr (EhFraming) framing = eh_framing_new (&limits, eh_fuzz_body_cap, NULL);
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  gsize step, offset = 1;

  if (size == 0)
    return 0;
  step = (data[0] % 64) + 1;
  while (offset < size) {
    gsize n = MIN (step, size - offset);
    g_autoptr (GError) error = NULL;
    guint status = 0;
    gssize released;

    g_byte_array_append (pending, data + offset, n);
    offset += n;
    released = eh_framing_feed (framing, pending->data, pending->len, &status, &error);
    if (released < 0) {
      g_assert_nonnull (error);
      g_assert_true (status == 400 || status == 413 || status == 414 || status == 431 ||
                     status == 505);
      g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_FAILED);
      return 0;
    }
    g_assert_null (error);
    g_assert_cmpuint ((gsize) released, <=, pending->len);
    g_byte_array_remove_range (pending, 0, released);
    /* a head is never held beyond its limit */
    g_assert_cmpuint (pending->len, <=, limits.max_head_bytes + step);
  }
  return 0;
}
