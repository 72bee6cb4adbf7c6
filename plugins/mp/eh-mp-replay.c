/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Self-timed proofs: a token proof may carry {"jti", "iat"} instead of a
 * nonce, so a renewal is one request, not two (the pattern of RFC 9449's
 * DPoP proofs). It is accepted while |now - iat| ≤ the window, once: every
 * jti seen is remembered for as long as its proof could still be accepted.
 *
 * Memory: three generations of sets, each covering one window of time; a
 * jti goes into the current one, a lookup searches all three, and every
 * window the oldest is dropped. A proof accepted at `now` stays acceptable
 * until iat + window ≤ now + 2 windows, and its jti is kept until the end
 * of its generation plus two more, so it is never forgotten while it could
 * be replayed. A jti is kept as the first 8 bytes of its SHA-256 (stored
 * in the pointer itself): a false "seen" has a chance of about n / 2^64.
 * At most `max_entries` are remembered; past that, self-timed proofs are
 * refused as busy (a nonce still works) until old generations go.
 */

#define EH_MP_REPLAY_GENERATIONS 3

struct _EhMpReplay {
  GHashTable *seen[EH_MP_REPLAY_GENERATIONS]; /* [0] current; keys: 64-bit jti digests */
  gint64 current_since;                        /* when [0] began (Unix seconds) */
  guint window;
  guint max_entries;
  gint64 clock_offset;
};

gint64
eh_mp_replay_now (EhMpReplay *replay)
{
  return g_get_real_time () / G_USEC_PER_SEC + replay->clock_offset;
}

EhMpReplay *
eh_mp_replay_new (guint window_seconds, guint max_entries)
{
  EhMpReplay *replay = g_new0 (EhMpReplay, 1);

  for (guint i = 0; i < EH_MP_REPLAY_GENERATIONS; i++)
    replay->seen[i] = g_hash_table_new (g_direct_hash, g_direct_equal);
  replay->window = window_seconds;
  replay->max_entries = max_entries;
  replay->current_since = eh_mp_replay_now (replay);
  return replay;
}

void
eh_mp_replay_free (EhMpReplay *replay)
{
  if (replay == NULL)
    return;
  for (guint i = 0; i < EH_MP_REPLAY_GENERATIONS; i++)
    g_hash_table_unref (replay->seen[i]);
  g_free (replay);
}

void
eh_mp_replay_set_clock_offset (EhMpReplay *replay, gint64 seconds)
{
  replay->clock_offset = seconds;
}

/* drops the generations whose time is over */
static void
eh_mp_replay_rotate (EhMpReplay *replay, gint64 now)
{
  /* a long quiet spell: every generation is over */
  if (now - replay->current_since >= (gint64) replay->window * EH_MP_REPLAY_GENERATIONS) {
    for (guint i = 0; i < EH_MP_REPLAY_GENERATIONS; i++)
      g_hash_table_remove_all (replay->seen[i]);
    replay->current_since = now;
    return;
  }
  while (now - replay->current_since >= replay->window) {
    GHashTable *oldest = replay->seen[EH_MP_REPLAY_GENERATIONS - 1];

    for (guint i = EH_MP_REPLAY_GENERATIONS - 1; i > 0; i--)
      replay->seen[i] = replay->seen[i - 1];
    g_hash_table_remove_all (oldest);
    replay->seen[0] = oldest;
    replay->current_since += replay->window;
  }
}

static gpointer
eh_mp_replay_key (const char *jti)
{
  guint8 digest[32];
  guint64 key = 0;

  eh_crypto_sha256 (jti, strlen (jti), digest);
  memcpy (&key, digest, sizeof key);
  return GSIZE_TO_POINTER ((gsize) (key != 0 ? key : 1));
}

guint
eh_mp_replay_count (EhMpReplay *replay)
{
  guint n = 0;

  for (guint i = 0; i < EH_MP_REPLAY_GENERATIONS; i++)
    n += g_hash_table_size (replay->seen[i]);
  return n;
}

gboolean
eh_mp_replay_accept (EhMpReplay *replay, const char *jti, gint64 iat, GError **error)
{
  gint64 now = eh_mp_replay_now (replay);
  gpointer key;

  if (iat < now - (gint64) replay->window || iat > now + (gint64) replay->window) {
    g_set_error (error, EH_ERROR, EH_ERROR_TIMEOUT,
                 "the proof's iat is more than %u s from this MP's clock (%" G_GINT64_FORMAT
                 "); ask for a nonce (GET /ehttpd/mp/nonce) instead", replay->window, now);
    return FALSE;
  }
  eh_mp_replay_rotate (replay, now);
  key = eh_mp_replay_key (jti);
  for (guint i = 0; i < EH_MP_REPLAY_GENERATIONS; i++) {
    if (g_hash_table_contains (replay->seen[i], key)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "this proof (its jti) was used already");
      return FALSE;
    }
  }
  if (eh_mp_replay_count (replay) >= replay->max_entries) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE,
                 "too many self-timed proofs in the last minutes; ask for a nonce instead");
    return FALSE;
  }
  g_hash_table_add (replay->seen[0], key);
  return TRUE;
}
