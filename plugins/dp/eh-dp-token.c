/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * Content tokens (the format is in README.md): verified offline against the
 * trust bundle only, then cached by the SHA-256 of their text until they
 * expire, so a repeat request costs a hash and a table lookup.
 */

EhDpToken *
eh_dp_token_ref (EhDpToken *token)
{
  g_atomic_ref_count_inc (&token->ref);
  return token;
}

void
eh_dp_token_unref (EhDpToken *token)
{
  if (token == NULL || !g_atomic_ref_count_dec (&token->ref))
    return;
  g_clear_pointer (&token->contents, g_hash_table_unref);
  g_free (token);
}

static gboolean
eh_dp_token_string (JsonObject *claims, const char *name, gsize max, const char **out, GError **error)
{
  if (!eh_json_object_get_string_checked (claims, name, out, NULL) || (*out)[0] == '\0' ||
      strlen (*out) > max || !g_utf8_validate (*out, -1, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's %s is missing or invalid", name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_dp_token_time (JsonObject *claims, const char *name, gint64 *out, GError **error)
{
  if (!eh_json_object_get_int_checked (claims, name, out, NULL) || *out < 0 || *out > G_MAXINT64 / 2) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's %s is missing or invalid", name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_dp_token_times (JsonObject *claims, gint64 now, EhDpToken *token, GError **error)
{
  gint64 iat = 0, nbf = 0;

  if (!eh_dp_token_time (claims, "iat", &iat, error) || !eh_dp_token_time (claims, "nbf", &nbf, error) ||
      !eh_dp_token_time (claims, "exp", &token->exp, error))
    return FALSE;
  if (now - EH_DP_TOKEN_LEEWAY >= token->exp) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token has expired");
    return FALSE;
  }
  if (nbf > now + EH_DP_TOKEN_LEEWAY || iat > now + EH_DP_TOKEN_LEEWAY || token->exp <= nbf) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not valid yet");
    return FALSE;
  }
  return TRUE;
}

/* content: { "<content id>": "<sha256 hex of its signed manifest>", … } */
static gboolean
eh_dp_token_contents (JsonObject *claims, EhDpToken *token, GError **error)
{
  JsonNode *node = json_object_get_member (claims, "content");
  JsonObjectIter iter;
  const char *id;
  JsonNode *value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) || json_object_get_size (json_node_get_object (node)) == 0 ||
      json_object_get_size (json_node_get_object (node)) > EH_DP_TOKEN_MAX_CONTENTS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's content is missing or invalid");
    return FALSE;
  }
  token->contents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &id, &value)) {
    if (!eh_dp_content_id_is_valid (id) || !JSON_NODE_HOLDS_VALUE (value) ||
        json_node_get_value_type (value) != G_TYPE_STRING ||
        !eh_dp_sha256_hex_is_valid (json_node_get_string (value))) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's content is missing or invalid");
      return FALSE;
    }
    g_hash_table_insert (token->contents, g_strdup (id), g_strdup (json_node_get_string (value)));
  }
  return TRUE;
}

/* aud: an array of DP names; this DP is meant when one of them is one of its names */
static gboolean
eh_dp_token_audience (JsonObject *claims, const char *const *names, GError **error)
{
  JsonNode *node = json_object_get_member (claims, "aud");
  JsonArray *aud;
  gboolean syntax_ok = TRUE, match = FALSE;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (aud = json_node_get_array (node)) == 0 ||
      json_array_get_length (aud) > EH_DP_TOKEN_MAX_AUD) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's aud is missing or invalid");
    return FALSE;
  }
  for (guint i = 0; i < json_array_get_length (aud); i++) {
    JsonNode *element = json_array_get_element (aud, i);
    const char *name;

    if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING) {
      syntax_ok = FALSE;
      break;
    }
    name = json_node_get_string (element);
    for (guint n = 0; names != NULL && names[n] != NULL && !match; n++)
      match = g_ascii_strcasecmp (name, names[n]) == 0;
  }
  if (!syntax_ok) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's aud is missing or invalid");
    return FALSE;
  }
  if (!match) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "the token is not meant for this DP");
    return FALSE;
  }
  return TRUE;
}

EhDpToken *
eh_dp_token_verify (const EhDpBundle *bundle, const char *text, const char *const *names, gint64 now,
                    GError **error)
{
  EhDpBundleLookup lookup = { bundle, now };
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (EhDpToken) token = g_new0 (EhDpToken, 1);
  g_autoptr (GError) local = NULL;
  JsonObject *claims;
  const char *iss = NULL, *sub = NULL, *jti = NULL;

  g_atomic_ref_count_init (&token->ref);
  if (!eh_jws_verify (text, EH_DP_TOKEN_MAX_BYTES, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA, EH_DP_TOKEN_TYP,
                      eh_dp_bundle_token_lookup, &lookup, NULL, &payload, &local)) {
    /* every failure to verify is the client's token, whatever the core's code says */
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "%s", local->message);
    return NULL;
  }
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               EH_DP_TOKEN_MAX_BYTES, 4, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's claims are not a JSON object");
    return NULL;
  }
  claims = json_node_get_object (node);
  if (!eh_dp_token_string (claims, "iss", 64, &iss, error) || !eh_dp_token_string (claims, "sub", 256, &sub, error) ||
      !eh_dp_token_string (claims, "jti", 256, &jti, error) || !eh_dp_token_times (claims, now, token, error) ||
      !eh_dp_token_contents (claims, token, error))
    return NULL;
  if (strcmp (iss, eh_dp_bundle_get_site (bundle)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token was issued by another site");
    return NULL;
  }
  if (!eh_dp_token_audience (claims, names, error))
    return NULL;
  return g_steal_pointer (&token);
}

/* ── the cache ──────────────────────────────────────────────────────── */

/*
 * Keyed by the token's text itself: a lookup is a string hash and one
 * compare, cheaper than the SHA-256 of the text it replaced, and no two
 * tokens can ever share a key. Only verified tokens get in; the texts held
 * are capped in count and in bytes.
 */
struct _EhDpTokenCache {
  GHashTable *tokens; /* token text → EhDpToken */
  guint max;
  gsize bytes;        /* the texts held */
};

EhDpTokenCache *
eh_dp_token_cache_new (guint max)
{
  EhDpTokenCache *cache = g_new0 (EhDpTokenCache, 1);

  cache->tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) eh_dp_token_unref);
  cache->max = MAX (max, 1);
  return cache;
}

void
eh_dp_token_cache_free (EhDpTokenCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->tokens);
  g_free (cache);
}

void
eh_dp_token_cache_clear (EhDpTokenCache *cache)
{
  g_hash_table_remove_all (cache->tokens);
  cache->bytes = 0;
}

guint
eh_dp_token_cache_size (EhDpTokenCache *cache)
{
  return g_hash_table_size (cache->tokens);
}

typedef struct {
  EhDpTokenCache *cache;
  gint64 now;
} EhDpTokenSweep;

static gboolean
eh_dp_token_cache_expired (gpointer key, gpointer value, gpointer user_data)
{
  EhDpTokenSweep *sweep = user_data;

  if (sweep->now - EH_DP_TOKEN_LEEWAY < ((EhDpToken *) value)->exp)
    return FALSE;
  sweep->cache->bytes -= strlen (key);
  return TRUE;
}

EhDpToken *
eh_dp_token_cache_check (EhDpTokenCache *cache, const EhDpBundle *bundle, const char *text,
                         const char *const *names, gint64 now, GError **error)
{
  gsize len = strlen (text);
  EhDpTokenSweep sweep = { cache, now };
  EhDpToken *token;

  if (len > EH_DP_TOKEN_MAX_BYTES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is too long");
    return NULL;
  }
  token = g_hash_table_lookup (cache->tokens, text);
  if (token != NULL) {
    if (now - EH_DP_TOKEN_LEEWAY < token->exp)
      return eh_dp_token_ref (token);
    g_hash_table_remove (cache->tokens, text);
    cache->bytes -= len;
  }
  /* refusals are not cached: a bad token costs a verification every time, like any other */
  token = eh_dp_token_verify (bundle, text, names, now, error);
  if (token == NULL)
    return NULL;
  if (g_hash_table_size (cache->tokens) >= cache->max || cache->bytes + len > EH_DP_TOKEN_CACHE_MAX_BYTES)
    g_hash_table_foreach_remove (cache->tokens, eh_dp_token_cache_expired, &sweep);
  if (g_hash_table_size (cache->tokens) >= cache->max || cache->bytes + len > EH_DP_TOKEN_CACHE_MAX_BYTES)
    eh_dp_token_cache_clear (cache);
  cache->bytes += len;
  g_hash_table_insert (cache->tokens, g_strdup (text), eh_dp_token_ref (token));
  return token;
}
