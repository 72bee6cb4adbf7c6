/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-framing.h"

/*
 * The request checker against arbitrary bytes, fed the way a connection feeds
 * it. The first input byte chooses how the rest is split into arrivals: its
 * low three bits set the largest piece (1 to 128 bytes), the whole byte seeds
 * the sequence of piece sizes. The same bytes are also fed in one call, and
 * both runs must reach the same answer.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* small limits, so that every refusal is reachable with short inputs */
static const EhFramingLimits eh_fuzz_limits = { 256, 1024, 16 };

/* what a run ended with */
typedef struct {
  gssize released; /* total released, or -1 */
  guint status;
  char *reason;
  guint64 requests;
  EhFramingState state;
} EhFuzzOutcome;

static guint64
eh_fuzz_body_cap (const char *method, const char *path, gpointer user_data)
{
  g_assert_nonnull (method);
  g_assert_nonnull (path);
  g_assert_cmpuint (strlen (method), >, 0);
  g_assert_true (path[0] == '/' || strcmp (path, "*") == 0);
  if (g_str_has_prefix (path, "/u"))
    return 64;
  if (g_str_has_prefix (path, "/big"))
    return G_MAXUINT64;
  return 0;
}

static gboolean
eh_fuzz_status_is_refusal (guint status)
{
  return status == 400 || status == 413 || status == 414 || status == 431 || status == 505;
}

/* the promises of one refused call, and that refused stays refused */
static void
eh_fuzz_check_refusal (EhFraming *framing, guint status, const GError *error)
{
  g_autoptr (GError) again = NULL;
  guint status_again = 0;

  g_assert_true (eh_fuzz_status_is_refusal (status));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (strlen (error->message), >, 0);
  g_assert_cmpint (eh_framing_get_state (framing), ==, EH_FRAMING_STATE_FAILED);
  g_assert_cmpint (eh_framing_feed (framing, (const guint8 *) "GET / HTTP/1.0\r\n\r\n", 18,
                                    &status_again, &again), ==, -1);
  g_assert_cmpuint (status_again, ==, status);
  g_assert_cmpstr (again->message, ==, error->message);
}

/* the promises of one accepted call */
static void
eh_fuzz_check_release (EhFraming *framing, gssize released, gsize pending_len, guint64 requests)
{
  EhFramingState state = eh_framing_get_state (framing);
  gsize held = pending_len - released;

  g_assert_cmpint (released, >=, 0);
  g_assert_cmpuint (released, <=, pending_len);
  g_assert_cmpint (state, !=, EH_FRAMING_STATE_FAILED);
  /* only an incomplete head is ever held back, and never beyond its limit */
  g_assert_cmpuint (held, <=, eh_fuzz_limits.max_head_bytes);
  g_assert_cmpint (held > 0, ==, state == EH_FRAMING_STATE_HEAD);
  g_assert_cmpuint (eh_framing_get_request_count (framing), >=, requests);
}

static gsize
eh_fuzz_next_piece (guint32 *seed, guint largest)
{
  *seed = *seed * 1103515245 + 12345;
  return 1 + (*seed >> 16) % largest;
}

static void
eh_fuzz_run (const guint8 *data, gsize size, guint8 selector, gboolean whole, EhFuzzOutcome *out)
{
  g_autoptr (EhFraming) framing = eh_framing_new (&eh_fuzz_limits, eh_fuzz_body_cap, NULL);
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  guint32 seed = selector;
  guint largest = 1u << (selector & 7);
  gsize offset = 0;

  memset (out, 0, sizeof *out);
  while (offset < size) {
    gsize piece = whole ? size : eh_fuzz_next_piece (&seed, largest);
    gsize n = MIN (piece, size - offset);
    guint64 requests = eh_framing_get_request_count (framing);
    g_autoptr (GError) error = NULL;
    guint status = 0;
    gssize released;

    g_byte_array_append (pending, data + offset, n);
    offset += n;
    released = eh_framing_feed (framing, pending->data, pending->len, &status, &error);
    if (released < 0) {
      eh_fuzz_check_refusal (framing, status, error);
      out->released = -1;
      out->status = status;
      out->reason = g_strdup (error->message);
      break;
    }
    g_assert_no_error (error);
    eh_fuzz_check_release (framing, released, pending->len, requests);
    g_byte_array_remove_range (pending, 0, released);
    out->released += released;
  }
  out->requests = eh_framing_get_request_count (framing);
  out->state = eh_framing_get_state (framing);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  EhFuzzOutcome pieces;
  EhFuzzOutcome whole;

  if (size == 0)
    return 0;
  eh_fuzz_run (data + 1, size - 1, data[0], FALSE, &pieces);
  eh_fuzz_run (data + 1, size - 1, data[0], TRUE, &whole);
  /* how the bytes arrived must not change the answer */
  g_assert_cmpint (pieces.released, ==, whole.released);
  g_assert_cmpuint (pieces.status, ==, whole.status);
  g_assert_cmpstr (pieces.reason, ==, whole.reason);
  g_assert_cmpint (pieces.state, ==, whole.state);
  if (whole.released >= 0)
    g_assert_cmpuint (pieces.requests, ==, whole.requests);
  g_free (pieces.reason);
  g_free (whole.reason);
  return 0;
}
