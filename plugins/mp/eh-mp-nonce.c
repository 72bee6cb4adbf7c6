/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gnutls/crypto.h>

#include "eh-mp.h"

/*
 * Registration nonces: random, short-lived, single use, kept in memory
 * only (a restart forgets them; clients ask again). A cap bounds the
 * memory a crowd asking for nonces can take.
 */

struct _EhMpNonces {
  GHashTable *expiry; /* nonce text → expiry (monotonic seconds, gint64 *) */
  guint max_outstanding;
  guint lifetime;
  gint64 clock_offset;
};

static gint64
eh_mp_nonces_now (EhMpNonces *nonces)
{
  return g_get_monotonic_time () / G_USEC_PER_SEC + nonces->clock_offset;
}

EhMpNonces *
eh_mp_nonces_new (guint max_outstanding, guint lifetime_seconds)
{
  EhMpNonces *nonces = g_new0 (EhMpNonces, 1);

  nonces->expiry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  nonces->max_outstanding = max_outstanding;
  nonces->lifetime = lifetime_seconds;
  return nonces;
}

void
eh_mp_nonces_free (EhMpNonces *nonces)
{
  if (nonces == NULL)
    return;
  g_hash_table_unref (nonces->expiry);
  g_free (nonces);
}

static gboolean
eh_mp_nonce_expired (gpointer key, gpointer value, gpointer user_data)
{
  return *(gint64 *) value <= *(gint64 *) user_data;
}

static void
eh_mp_nonces_prune (EhMpNonces *nonces)
{
  gint64 now = eh_mp_nonces_now (nonces);

  g_hash_table_foreach_remove (nonces->expiry, eh_mp_nonce_expired, &now);
}

char *
eh_mp_nonces_issue (EhMpNonces *nonces, gint64 *expires_at, GError **error)
{
  guint8 random[EH_MP_NONCE_BYTES];
  gint64 *expiry;
  char *text;

  if (g_hash_table_size (nonces->expiry) >= nonces->max_outstanding)
    eh_mp_nonces_prune (nonces);
  if (g_hash_table_size (nonces->expiry) >= nonces->max_outstanding) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE,
                 "too many registrations in progress; try again in a minute");
    return NULL;
  }
  if (gnutls_rnd (GNUTLS_RND_NONCE, random, sizeof random) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no random bytes for a nonce");
    return NULL;
  }
  text = eh_base64url_encode (random, sizeof random);
  expiry = g_new (gint64, 1);
  *expiry = eh_mp_nonces_now (nonces) + nonces->lifetime;
  g_hash_table_replace (nonces->expiry, g_strdup (text), expiry);
  if (expires_at != NULL)
    *expires_at = g_get_real_time () / G_USEC_PER_SEC + nonces->lifetime;
  return text;
}

gboolean
eh_mp_nonces_consume (EhMpNonces *nonces, const char *nonce, GError **error)
{
  gint64 *expiry = g_hash_table_lookup (nonces->expiry, nonce);
  gboolean fresh = expiry != NULL && *expiry > eh_mp_nonces_now (nonces);

  /* one refusal for unknown, used and expired: the client asks for a new one */
  if (expiry != NULL)
    g_hash_table_remove (nonces->expiry, nonce);
  if (!fresh) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "the proof's nonce is unknown, expired or already used: get a new one from "
                 EH_MP_HTTP_PREFIX "/nonce");
    return FALSE;
  }
  return TRUE;
}

guint
eh_mp_nonces_count (EhMpNonces *nonces)
{
  return g_hash_table_size (nonces->expiry);
}

void
eh_mp_nonces_set_clock_offset (EhMpNonces *nonces, gint64 seconds)
{
  nonces->clock_offset = seconds;
}
