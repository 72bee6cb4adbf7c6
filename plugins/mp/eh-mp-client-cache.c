/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * What a token request reads of a client (GUID, state, key), kept in
 * memory by key thumbprint so that a renewal needs neither a SQLite read
 * nor a JWK parse. The store stays the truth: the cache holds only what
 * eh-mp-records.c read from it, and every change to a client's state
 * there forgets the entries it could make wrong before it returns (a
 * block, an unblock, an approval: the whole cache, they are rare; an
 * approval at registration: that client). A client's key never changes
 * under its thumbprint (the thumbprint is the key's hash).
 *
 * Bounded: at most `capacity` entries (an entry is ~200 bytes: one block
 * for the client, one for its thumbprint, the table's slot); when full,
 * an arbitrary entry makes room. It hangs off the store, so every writer
 * of mp_clients (they all go through eh-mp-records.c) sees it.
 */

#define EH_MP_CLIENT_CACHE_KEY "eh-mp-client-cache"
#define EH_MP_CLIENT_CACHE_DEFAULT 131072

#define EH_MP_CACHED_COORDINATE_MAX 32

typedef struct {
  char guid[37];
  guint8 state; /* EhMpClientState */
  guint8 x_len;
  guint8 y_len; /* 0 for Ed25519 */
  guint8 ed25519;
  guint8 x[EH_MP_CACHED_COORDINATE_MAX];
  guint8 y[EH_MP_CACHED_COORDINATE_MAX];
} EhMpCachedClient;

struct _EhMpClientCache {
  GHashTable *clients; /* thumbprint → EhMpCachedClient */
  guint capacity;
  guint64 hits;
  guint64 misses;
};

static void
eh_mp_client_cache_free (EhMpClientCache *cache)
{
  g_hash_table_unref (cache->clients);
  g_free (cache);
}

EhMpClientCache *
eh_mp_client_cache_get (EhStore *store)
{
  EhMpClientCache *cache = g_object_get_data (G_OBJECT (store), EH_MP_CLIENT_CACHE_KEY);

  if (cache != NULL)
    return cache;
  cache = g_new0 (EhMpClientCache, 1);
  cache->clients = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cache->capacity = EH_MP_CLIENT_CACHE_DEFAULT;
  g_object_set_data_full (G_OBJECT (store), EH_MP_CLIENT_CACHE_KEY, cache,
                          (GDestroyNotify) eh_mp_client_cache_free);
  return cache;
}

void
eh_mp_client_cache_set_capacity (EhMpClientCache *cache, guint capacity)
{
  cache->capacity = capacity;
  if (g_hash_table_size (cache->clients) > capacity)
    g_hash_table_remove_all (cache->clients);
}

void
eh_mp_client_cache_forget (EhMpClientCache *cache, const char *thumbprint)
{
  if (thumbprint != NULL)
    g_hash_table_remove (cache->clients, thumbprint);
  else
    g_hash_table_remove_all (cache->clients);
}

void
eh_mp_client_cache_stats (EhMpClientCache *cache, guint *entries, guint64 *hits, guint64 *misses)
{
  *entries = g_hash_table_size (cache->clients);
  *hits = cache->hits;
  *misses = cache->misses;
}

void
eh_mp_client_cache_add (EhMpClientCache *cache, const EhMpClient *client, gnutls_pubkey_t key, EhJwsAlg alg)
{
  gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  gboolean ed25519 = alg == EH_JWS_ALG_EDDSA;
  EhMpCachedClient *cached;

  if (cache->capacity == 0 || strlen (client->guid) != sizeof cached->guid - 1 ||
      gnutls_pubkey_export_ecc_raw2 (key, &curve, &x, &y, GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
    return;
  /* only what the mp registers: P-256 for ES256, Ed25519 for EdDSA */
  if (x.size > EH_MP_CACHED_COORDINATE_MAX || y.size > EH_MP_CACHED_COORDINATE_MAX ||
      curve != (ed25519 ? GNUTLS_ECC_CURVE_ED25519 : GNUTLS_ECC_CURVE_SECP256R1) ||
      (!ed25519 && alg != EH_JWS_ALG_ES256)) {
    gnutls_free (x.data);
    gnutls_free (y.data);
    return;
  }
  if (g_hash_table_size (cache->clients) >= cache->capacity) {
    GHashTableIter iter;

    g_hash_table_iter_init (&iter, cache->clients);
    if (g_hash_table_iter_next (&iter, NULL, NULL))
      g_hash_table_iter_remove (&iter);
  }
  cached = g_new0 (EhMpCachedClient, 1);
  memcpy (cached->guid, client->guid, sizeof cached->guid);
  cached->state = client->state;
  cached->ed25519 = ed25519;
  cached->x_len = x.size;
  memcpy (cached->x, x.data, x.size);
  cached->y_len = y.data != NULL ? y.size : 0;
  if (y.data != NULL)
    memcpy (cached->y, y.data, y.size);
  gnutls_free (x.data);
  gnutls_free (y.data);
  g_hash_table_replace (cache->clients, g_strdup (client->thumbprint), cached);
}

/* (transfer full) the cached client (guid, thumbprint, key_type, state)
 * and a new copy of its key; NULL when it is not cached */
EhMpClient *
eh_mp_client_cache_lookup (EhMpClientCache *cache, const char *thumbprint, gnutls_pubkey_t *key, EhJwsAlg *alg)
{
  EhMpCachedClient *cached = g_hash_table_lookup (cache->clients, thumbprint);
  gnutls_datum_t x, y;
  gnutls_pubkey_t copy = NULL;
  EhMpClient *client;

  if (cached == NULL) {
    cache->misses++;
    return NULL;
  }
  x = (gnutls_datum_t) { cached->x, cached->x_len };
  y = (gnutls_datum_t) { cached->y, cached->y_len };
  if (gnutls_pubkey_init (&copy) < 0 ||
      gnutls_pubkey_import_ecc_raw (copy, cached->ed25519 ? GNUTLS_ECC_CURVE_ED25519 : GNUTLS_ECC_CURVE_SECP256R1,
                                    &x, cached->ed25519 ? NULL : &y) < 0) {
    /* cannot happen for a key that exported; the store answers instead */
    if (copy != NULL)
      gnutls_pubkey_deinit (copy);
    g_hash_table_remove (cache->clients, thumbprint);
    cache->misses++;
    return NULL;
  }
  cache->hits++;
  client = g_new0 (EhMpClient, 1);
  client->guid = g_strdup (cached->guid);
  client->thumbprint = g_strdup (thumbprint);
  client->key_type = g_strdup (cached->ed25519 ? "ed25519" : "ecdsa-p256");
  client->state = cached->state;
  *key = copy;
  *alg = cached->ed25519 ? EH_JWS_ALG_EDDSA : EH_JWS_ALG_ES256;
  return client;
}
