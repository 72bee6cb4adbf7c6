/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-error.h"
#include "eh-link-wire.h"

/*
 * Any bytes from a link peer: a clean refusal, or a message that encodes
 * back to exactly the same bytes (the wire has one spelling per message).
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (EhLinkMessage) message = eh_link_wire_decode (bytes, &error);
  g_autoptr (GBytes) again = NULL;

  g_assert_true ((message == NULL) == (error != NULL));
  if (message == NULL) {
    g_assert_true (error->domain == EH_ERROR);
    return 0;
  }
  again = eh_link_wire_encode (message->kind, message->id, message->topic->name,
                               message->error_code, message->error_message,
                               g_variant_ref (message->payload), &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (again, bytes));
  return 0;
}
