/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * A JSON Web Key Set (RFC 7517 §5) from Entra ID, checked as hostile
 * input: size and depth capped before parsing, strict JSON, at most
 * EH_MP_JWKS_MAX_KEYS keys, each RSA key with a well-formed unique `kid`,
 * a modulus of 2048 to 8192 bits and a sane public exponent, `use` sig and
 * `alg` RS256 when present. Keys of other types are skipped (we verify
 * RS256 only); anything malformed refuses the whole document, so a set is
 * either wholly trusted or not at all.
 */

#define EH_MP_JWKS_DEPTH 6
#define EH_MP_JWKS_MIN_RSA_BYTES (2048 / 8)
#define EH_MP_JWKS_MAX_RSA_BYTES (8192 / 8)
#define EH_MP_JWKS_MAX_EXPONENT_BYTES 8

struct _EhMpJwks {
  GHashTable *keys; /* kid → gnutls_pubkey_t */
};

static void
eh_mp_jwks_key_free (gpointer key)
{
  gnutls_pubkey_deinit (key);
}

void
eh_mp_jwks_free (EhMpJwks *jwks)
{
  if (jwks == NULL)
    return;
  g_hash_table_unref (jwks->keys);
  g_free (jwks);
}

gboolean
eh_mp_entra_kid_is_valid (const char *kid)
{
  return eh_text_is_word (kid, 1, EH_MP_JWKS_MAX_KID, "-_=");
}

/* a base64url member of @min to @max bytes, the first one not zero */
static GBytes *
eh_mp_jwks_integer (JsonObject *jwk, const char *member, gsize min, gsize max, GError **error)
{
  const char *text = NULL;
  g_autoptr (GBytes) bytes = NULL;
  const guint8 *data;
  gsize len = 0;

  if (!json_object_has_member (jwk, member) ||
      !eh_json_object_get_string_checked (jwk, member, &text, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "an RSA key's \"%s\" must be a string", member);
    return NULL;
  }
  bytes = eh_base64url_decode (text, strlen (text), 4 * max / 3 + 4, NULL);
  data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  if (data == NULL || len < min || len > max || data[0] == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "an RSA key's \"%s\" must be base64url of %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
                 " bytes without leading zeros", member, min, max);
    return NULL;
  }
  return g_steal_pointer (&bytes);
}

static gboolean
eh_mp_jwks_optional (JsonObject *jwk, const char *member, const char *expected, GError **error)
{
  const char *text = NULL;

  if (!json_object_has_member (jwk, member))
    return TRUE;
  if (!eh_json_object_get_string_checked (jwk, member, &text, NULL) || strcmp (text, expected) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "an RSA key's \"%s\" must be \"%s\"", member,
                 expected);
    return FALSE;
  }
  return TRUE;
}

static gnutls_pubkey_t
eh_mp_jwks_rsa_key (JsonObject *jwk, GError **error)
{
  g_autoptr (GBytes) n = NULL;
  g_autoptr (GBytes) e = NULL;
  gnutls_pubkey_t key = NULL;
  gnutls_datum_t nd, ed;
  const guint8 *exponent;
  gsize exponent_len = 0;

  if (!eh_mp_jwks_optional (jwk, "use", "sig", error) || !eh_mp_jwks_optional (jwk, "alg", "RS256", error))
    return NULL;
  if (json_object_has_member (jwk, "d") || json_object_has_member (jwk, "p")) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a JWKS must hold public keys only");
    return NULL;
  }
  n = eh_mp_jwks_integer (jwk, "n", EH_MP_JWKS_MIN_RSA_BYTES, EH_MP_JWKS_MAX_RSA_BYTES, error);
  e = n != NULL ? eh_mp_jwks_integer (jwk, "e", 1, EH_MP_JWKS_MAX_EXPONENT_BYTES, error) : NULL;
  if (e == NULL)
    return NULL;
  exponent = g_bytes_get_data (e, &exponent_len);
  /* an even exponent or 1 makes no RSA key */
  if ((exponent[exponent_len - 1] & 1) == 0 || (exponent_len == 1 && exponent[0] < 3)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "an RSA key's \"e\" must be odd and at least 3");
    return NULL;
  }
  nd.data = (unsigned char *) g_bytes_get_data (n, NULL);
  nd.size = g_bytes_get_size (n);
  ed.data = (unsigned char *) exponent;
  ed.size = exponent_len;
  if (gnutls_pubkey_init (&key) < 0 || gnutls_pubkey_import_rsa_raw (key, &nd, &ed) < 0) {
    if (key != NULL)
      gnutls_pubkey_deinit (key);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "an RSA key could not be imported");
    return NULL;
  }
  return key;
}

static gboolean
eh_mp_jwks_take_key (EhMpJwks *jwks, JsonNode *node, guint index, GError **error)
{
  JsonObject *jwk;
  const char *kty = NULL, *kid = NULL;
  gnutls_pubkey_t key;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "key %u is not a JSON object", index);
    return FALSE;
  }
  jwk = json_node_get_object (node);
  if (!json_object_has_member (jwk, "kty") || !eh_json_object_get_string_checked (jwk, "kty", &kty, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "key %u has no string \"kty\"", index);
    return FALSE;
  }
  if (strcmp (kty, "RSA") != 0)
    return TRUE; /* only RS256 is verified: other keys are never used */
  if (!json_object_has_member (jwk, "kid") || !eh_json_object_get_string_checked (jwk, "kid", &kid, NULL) ||
      !eh_mp_entra_kid_is_valid (kid)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "key %u needs a \"kid\" of 1 to %d letters, digits or -_=", index, EH_MP_JWKS_MAX_KID);
    return FALSE;
  }
  if (g_hash_table_contains (jwks->keys, kid)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "kid \"%s\" is in the set twice", kid);
    return FALSE;
  }
  key = eh_mp_jwks_rsa_key (jwk, error);
  if (key == NULL) {
    g_prefix_error (error, "key %u: ", index);
    return FALSE;
  }
  g_hash_table_insert (jwks->keys, g_strdup (kid), key);
  return TRUE;
}

EhMpJwks *
eh_mp_jwks_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (EhMpJwks) jwks = g_new0 (EhMpJwks, 1);
  g_autoptr (JsonNode) root = NULL;
  JsonNode *keys;
  JsonArray *array;

  jwks->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, eh_mp_jwks_key_free);
  root = eh_json_parse_strict (data, len, EH_MP_JWKS_MAX_BYTES, EH_MP_JWKS_DEPTH, error);
  if (root == NULL)
    return NULL;
  keys = JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), "keys") : NULL;
  if (keys == NULL || !JSON_NODE_HOLDS_ARRAY (keys)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a JWKS is an object with a \"keys\" array");
    return NULL;
  }
  array = json_node_get_array (keys);
  if (json_array_get_length (array) > EH_MP_JWKS_MAX_KEYS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a JWKS holds at most %d keys",
                 EH_MP_JWKS_MAX_KEYS);
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (array); i++) {
    if (!eh_mp_jwks_take_key (jwks, json_array_get_element (array, i), i, error))
      return NULL;
  }
  if (g_hash_table_size (jwks->keys) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the JWKS holds no RSA signing key");
    return NULL;
  }
  return g_steal_pointer (&jwks);
}

gnutls_pubkey_t
eh_mp_jwks_lookup (EhMpJwks *jwks, const char *kid)
{
  return jwks != NULL ? g_hash_table_lookup (jwks->keys, kid) : NULL;
}

guint
eh_mp_jwks_size (EhMpJwks *jwks)
{
  return jwks != NULL ? g_hash_table_size (jwks->keys) : 0;
}
