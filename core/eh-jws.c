/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "eh-error.h"
#include "eh-json.h"
#include "eh-jws.h"

#define EH_JWS_MAX_HEADER_BYTES 4096

static const struct {
  EhJwsAlg alg;
  const char *name;
  gnutls_sign_algorithm_t sign;
  guint ec_size; /* bytes of R and of S for ECDSA, 0 otherwise */
} eh_jws_algs[] = {
  { EH_JWS_ALG_ES256, "ES256", GNUTLS_SIGN_ECDSA_SHA256, 32 },
  { EH_JWS_ALG_ES384, "ES384", GNUTLS_SIGN_ECDSA_SHA384, 48 },
  { EH_JWS_ALG_RS256, "RS256", GNUTLS_SIGN_RSA_SHA256, 0 },
  { EH_JWS_ALG_PS256, "PS256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 0 },
  { EH_JWS_ALG_EDDSA, "EdDSA", GNUTLS_SIGN_EDDSA_ED25519, 0 },
};

static gint
eh_jws_alg_index (EhJwsAlg alg)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_jws_algs); i++) {
    if (eh_jws_algs[i].alg == alg)
      return i;
  }
  return -1;
}

const char *
eh_jws_alg_to_string (EhJwsAlg alg)
{
  gint i = eh_jws_alg_index (alg);

  return i >= 0 ? eh_jws_algs[i].name : NULL;
}

gboolean
eh_jws_alg_for_key (gnutls_privkey_t key, EhJwsAlg *alg, GError **error)
{
  unsigned int bits = 0;
  int pk = gnutls_privkey_get_pk_algorithm (key, &bits);

  if (pk == GNUTLS_PK_ECDSA && bits == 256)
    *alg = EH_JWS_ALG_ES256;
  else if (pk == GNUTLS_PK_ECDSA && bits == 384)
    *alg = EH_JWS_ALG_ES384;
  else if (pk == GNUTLS_PK_RSA)
    *alg = EH_JWS_ALG_RS256;
  else if (pk == GNUTLS_PK_EDDSA_ED25519)
    *alg = EH_JWS_ALG_EDDSA;
  else {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no JWS algorithm for this key");
    return FALSE;
  }
  return TRUE;
}

/* @value as exactly @size big-endian bytes (DER integers may carry a leading zero) */
static gboolean
eh_jws_fixed_width (const gnutls_datum_t *value, guint size, guint8 *out)
{
  const guint8 *data = value->data;
  gsize len = value->size;

  while (len > 0 && data[0] == 0) {
    data++;
    len--;
  }
  if (len > size)
    return FALSE;
  memset (out, 0, size - len);
  memcpy (out + size - len, data, len);
  return TRUE;
}

/* ECDSA: DER from GnuTLS → R || S as JWS wants */
static GBytes *
eh_jws_ecdsa_to_raw (const gnutls_datum_t *der, guint size, GError **error)
{
  gnutls_datum_t r = { NULL, 0 }, s = { NULL, 0 };
  guint8 *raw = g_malloc (2 * size);
  gboolean ok = gnutls_decode_rs_value (der, &r, &s) >= 0 && eh_jws_fixed_width (&r, size, raw) &&
                eh_jws_fixed_width (&s, size, raw + size);

  gnutls_free (r.data);
  gnutls_free (s.data);
  if (!ok) {
    g_free (raw);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "ECDSA signature has an unexpected form");
    return NULL;
  }
  return g_bytes_new_take (raw, 2 * size);
}

static char *
eh_jws_encode_header (JsonObject *extra_header, EhJwsAlg alg, const char *typ)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_object_set_string_member (header, "alg", eh_jws_alg_to_string (alg));
  if (typ != NULL)
    json_object_set_string_member (header, "typ", typ);
  if (extra_header != NULL) {
    g_autoptr (GList) members = json_object_get_members (extra_header);

    for (GList *l = members; l != NULL; l = l->next) {
      if (g_strcmp0 (l->data, "alg") != 0 && g_strcmp0 (l->data, "typ") != 0)
        json_object_set_member (header, l->data,
                                json_node_copy (json_object_get_member (extra_header, l->data)));
    }
  }
  json_node_set_object (root, header);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  return eh_base64url_encode (text, strlen (text));
}

char *
eh_jws_sign (gnutls_privkey_t key, EhJwsAlg alg, const char *typ, JsonObject *extra_header,
             GBytes *payload, GError **error)
{
  gint index = eh_jws_alg_index (alg);
  g_autofree char *header = NULL;
  g_autofree char *body = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature = NULL;
  g_autoptr (GBytes) raw = NULL;
  gnutls_datum_t data, sig = { NULL, 0 };
  gsize payload_len = 0;
  const void *payload_data = g_bytes_get_data (payload, &payload_len);

  if (index < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown JWS algorithm");
    return NULL;
  }
  header = eh_jws_encode_header (extra_header, alg, typ);
  body = eh_base64url_encode (payload_data, payload_len);
  input = g_strconcat (header, ".", body, NULL);
  data.data = (unsigned char *) input;
  data.size = strlen (input);
  if (gnutls_privkey_sign_data2 (key, eh_jws_algs[index].sign, 0, &data, &sig) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "signing with %s failed (does the key fit?)",
                 eh_jws_algs[index].name);
    return NULL;
  }
  if (eh_jws_algs[index].ec_size > 0)
    raw = eh_jws_ecdsa_to_raw (&sig, eh_jws_algs[index].ec_size, error);
  else
    raw = g_bytes_new (sig.data, sig.size);
  gnutls_free (sig.data);
  if (raw == NULL)
    return NULL;
  signature = eh_base64url_encode (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  return g_strconcat (input, ".", signature, NULL);
}

static gboolean
eh_jws_refuse (GError **error, const char *why)
{
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "token refused: %s", why);
  return FALSE;
}

/* the protected header, strictly parsed and free of members we never honour */
static JsonObject *
eh_jws_read_header (const char *segment, gsize len, GError **error)
{
  const char *forbidden[] = { "crit", "jku", "jwk", "x5u", "x5c" };
  g_autoptr (GBytes) bytes = eh_base64url_decode (segment, len, EH_JWS_MAX_HEADER_BYTES, NULL);
  g_autoptr (JsonNode) root = NULL;
  JsonObject *header;

  if (bytes == NULL) {
    eh_jws_refuse (error, "header is not strict base64url");
    return NULL;
  }
  root = eh_json_parse_strict (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                               EH_JWS_MAX_HEADER_BYTES, 4, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    eh_jws_refuse (error, "header is not a strict JSON object");
    return NULL;
  }
  header = json_node_get_object (root);
  for (guint i = 0; i < G_N_ELEMENTS (forbidden); i++) {
    if (json_object_has_member (header, forbidden[i])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "token refused: header member \"%s\"",
                   forbidden[i]);
      return NULL;
    }
  }
  return json_object_ref (header);
}

static gboolean
eh_jws_typ_matches (JsonObject *header, const char *expected)
{
  const char *typ = NULL;

  if (expected == NULL)
    return TRUE;
  if (!eh_json_object_get_string_checked (header, "typ", &typ, NULL))
    return FALSE;
  if (g_ascii_strncasecmp (typ, "application/", 12) == 0)
    typ += 12;
  return g_ascii_strcasecmp (typ, expected) == 0;
}

static gint
eh_jws_header_alg (JsonObject *header, guint allowed_algs, GError **error)
{
  const char *name = NULL;

  if (!eh_json_object_get_string_checked (header, "alg", &name, NULL)) {
    eh_jws_refuse (error, "header has no alg");
    return -1;
  }
  for (guint i = 0; i < G_N_ELEMENTS (eh_jws_algs); i++) {
    if (strcmp (name, eh_jws_algs[i].name) == 0 && (allowed_algs & eh_jws_algs[i].alg) != 0)
      return i;
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "token refused: alg \"%s\" is not allowed", name);
  return -1;
}

/* R || S back to DER; all-zero R or S is refused before any maths */
static gboolean
eh_jws_ecdsa_to_der (GBytes *raw, guint size, gnutls_datum_t *der, GError **error)
{
  const guint8 *data = g_bytes_get_data (raw, NULL);
  gnutls_datum_t r, s;
  guint8 zero[64] = { 0 };

  /* the length first: an empty signature has no data pointer at all */
  if (data == NULL || g_bytes_get_size (raw) != 2 * size)
    return eh_jws_refuse (error, "ECDSA signature has the wrong length");
  r.data = (unsigned char *) data;
  r.size = size;
  s.data = (unsigned char *) data + size;
  s.size = size;
  if (memcmp (data, zero, size) == 0 || memcmp (data + size, zero, size) == 0)
    return eh_jws_refuse (error, "ECDSA signature with r = 0 or s = 0");
  if (gnutls_encode_rs_value (der, &r, &s) < 0)
    return eh_jws_refuse (error, "ECDSA signature unreadable");
  return TRUE;
}

static gboolean
eh_jws_check_signature (gnutls_pubkey_t key, gint index, const char *input, gsize input_len,
                        GBytes *signature, GError **error)
{
  gnutls_datum_t data = { (unsigned char *) input, input_len };
  gnutls_datum_t sig = { (unsigned char *) g_bytes_get_data (signature, NULL), g_bytes_get_size (signature) };
  gnutls_datum_t der = { NULL, 0 };
  gboolean ok;

  if (eh_jws_algs[index].ec_size > 0) {
    if (!eh_jws_ecdsa_to_der (signature, eh_jws_algs[index].ec_size, &der, error))
      return FALSE;
    sig = der;
  }
  ok = gnutls_pubkey_verify_data2 (key, eh_jws_algs[index].sign, 0, &data, &sig) >= 0;
  gnutls_free (der.data);
  return ok || eh_jws_refuse (error, "bad signature");
}

gboolean
eh_jws_verify (const char *token, gsize max_bytes, guint allowed_algs, const char *expected_typ,
               EhJwsKeyLookupFunc lookup, gpointer user_data, JsonObject **header_out,
               GBytes **payload, GError **error)
{
  gsize len = token != NULL ? strnlen (token, max_bytes + 1) : 0;
  const char *dot1, *dot2;
  g_autoptr (JsonObject) header = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_auto (gnutls_pubkey_t) key = NULL;
  EhJwsAlg key_alg = 0;
  gint index;

  if (len == 0 || len > max_bytes)
    return eh_jws_refuse (error, "empty or too large");
  dot1 = memchr (token, '.', len);
  dot2 = dot1 != NULL ? memchr (dot1 + 1, '.', token + len - dot1 - 1) : NULL;
  if (dot2 == NULL || memchr (dot2 + 1, '.', token + len - dot2 - 1) != NULL)
    return eh_jws_refuse (error, "not three segments");
  header = eh_jws_read_header (token, dot1 - token, error);
  if (header == NULL)
    return FALSE;
  body = eh_base64url_decode (dot1 + 1, dot2 - dot1 - 1, max_bytes, NULL);
  signature = eh_base64url_decode (dot2 + 1, token + len - dot2 - 1, max_bytes, NULL);
  if (body == NULL || signature == NULL)
    return eh_jws_refuse (error, "payload or signature is not strict base64url");
  if ((index = eh_jws_header_alg (header, allowed_algs, error)) < 0)
    return FALSE;
  if (!eh_jws_typ_matches (header, expected_typ))
    return eh_jws_refuse (error, "wrong typ");
  key = lookup (header, &key_alg, user_data, error);
  if (key == NULL)
    return FALSE;
  if (key_alg != eh_jws_algs[index].alg)
    return eh_jws_refuse (error, "alg does not match the key's");
  if (!eh_jws_check_signature (key, index, token, dot2 - token, signature, error))
    return FALSE;
  if (header_out != NULL)
    *header_out = g_steal_pointer (&header);
  *payload = g_steal_pointer (&body);
  return TRUE;
}
