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
#define EH_JWS_MAX_HEADER_DEPTH 4
/* RFC 7518 §3.3: RSA keys of 2048 bits or more */
#define EH_JWS_MIN_RSA_BITS     2048
#define EH_JWS_ED25519_SIG_LEN  64

typedef struct {
  EhJwsAlg alg;
  const char *name;
  gnutls_sign_algorithm_t sign;
  gnutls_pk_algorithm_t pk;
  guint ec_size; /* bytes of R and of S (and the curve's size) for ECDSA, else 0 */
} EhJwsAlgInfo;

static const EhJwsAlgInfo eh_jws_algs[] = {
  { EH_JWS_ALG_ES256, "ES256", GNUTLS_SIGN_ECDSA_SHA256, GNUTLS_PK_ECDSA, 32 },
  { EH_JWS_ALG_ES384, "ES384", GNUTLS_SIGN_ECDSA_SHA384, GNUTLS_PK_ECDSA, 48 },
  { EH_JWS_ALG_RS256, "RS256", GNUTLS_SIGN_RSA_SHA256, GNUTLS_PK_RSA, 0 },
  { EH_JWS_ALG_PS256, "PS256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, GNUTLS_PK_RSA, 0 },
  { EH_JWS_ALG_EDDSA, "EdDSA", GNUTLS_SIGN_EDDSA_ED25519, GNUTLS_PK_EDDSA_ED25519, 0 },
};

/* one part of a compact token, not NUL-terminated */
typedef struct {
  const char *data;
  gsize len;
} EhJwsSegment;

static const EhJwsAlgInfo *
eh_jws_alg_info (EhJwsAlg alg)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_jws_algs); i++) {
    if (eh_jws_algs[i].alg == alg)
      return &eh_jws_algs[i];
  }
  return NULL;
}

const char *
eh_jws_alg_to_string (EhJwsAlg alg)
{
  const EhJwsAlgInfo *info = eh_jws_alg_info (alg);

  return info != NULL ? info->name : NULL;
}

/* does a key of type @pk and size @bits suit @info? */
static gboolean
eh_jws_key_fits (const EhJwsAlgInfo *info, int pk, guint bits, GError **error)
{
  gboolean fits = pk == (int) info->pk;

  if (fits && info->ec_size > 0)
    fits = bits == info->ec_size * 8;
  else if (fits && pk == GNUTLS_PK_RSA)
    fits = bits >= EH_JWS_MIN_RSA_BITS;
  if (!fits)
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the key does not fit JWS algorithm %s",
                 info->name);
  return fits;
}

/*
 * the algorithm and size of a private key; a key in a PKCS#11 token reports
 * no size of its own, so its public half tells it
 */
static int
eh_jws_privkey_pk (gnutls_privkey_t key, unsigned int *bits)
{
  int pk = gnutls_privkey_get_pk_algorithm (key, bits);
  gnutls_pubkey_t pubkey = NULL;

  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;

  if (*bits == 0 && (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519) &&
      gnutls_pubkey_init (&pubkey) == 0) {
    if (gnutls_pubkey_import_privkey (pubkey, key, 0, 0) == 0 &&
        gnutls_pubkey_export_ecc_raw2 (pubkey, &curve, NULL, NULL, 0) == 0)
      *bits = gnutls_ecc_curve_get_size (curve) * 8;
    gnutls_pubkey_deinit (pubkey);
  }
  return pk;
}

gboolean
eh_jws_alg_for_key (gnutls_privkey_t key, EhJwsAlg *alg, GError **error)
{
  unsigned int bits = 0;
  int pk;

  g_return_val_if_fail (key != NULL && alg != NULL, FALSE);

  pk = eh_jws_privkey_pk (key, &bits);
  /* the first algorithm in the table that fits: RS256 before PS256 for RSA */
  for (guint i = 0; i < G_N_ELEMENTS (eh_jws_algs); i++) {
    if (eh_jws_key_fits (&eh_jws_algs[i], pk, bits, NULL)) {
      *alg = eh_jws_algs[i].alg;
      return TRUE;
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no JWS algorithm for a %s key of %u bits",
               gnutls_pk_get_name (pk) != NULL ? gnutls_pk_get_name (pk) : "unknown", bits);
  return FALSE;
}

/* a DER integer as exactly @size big-endian bytes */
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

/* ECDSA: GnuTLS's DER signature as the R || S that JWS wants */
static GBytes *
eh_jws_ecdsa_der_to_raw (const gnutls_datum_t *der, guint size, GError **error)
{
  gnutls_datum_t r = { NULL, 0 };
  gnutls_datum_t s = { NULL, 0 };
  guint8 *raw = g_malloc (2 * size);
  gboolean ok = gnutls_decode_rs_value (der, &r, &s) >= 0 &&
                eh_jws_fixed_width (&r, size, raw) && eh_jws_fixed_width (&s, size, raw + size);

  gnutls_free (r.data);
  gnutls_free (s.data);
  if (!ok) {
    g_free (raw);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the ECDSA signature has an unexpected form");
    return NULL;
  }
  return g_bytes_new_take (raw, 2 * size);
}

/* the protected header as compact JSON, checked to be what eh_jws_verify() reads */
static char *
eh_jws_header_json (const EhJwsAlgInfo *info, const char *typ, JsonObject *extra_header,
                    GError **error)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) check = NULL;
  g_autoptr (GList) members = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  json_object_set_string_member (header, "alg", info->name);
  if (typ != NULL)
    json_object_set_string_member (header, "typ", typ);
  if (extra_header != NULL)
    members = json_object_get_members (extra_header);
  for (GList *l = members; l != NULL; l = l->next) {
    if (g_strcmp0 (l->data, "alg") != 0 && g_strcmp0 (l->data, "typ") != 0)
      json_object_set_member (header, l->data,
                              json_node_copy (json_object_get_member (extra_header, l->data)));
  }
  json_node_set_object (root, header);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  /* json-glib can write what no strict reader accepts (e.g. 1e20 as "1e+20.0") */
  check = eh_json_parse_strict (text, len, EH_JWS_MAX_HEADER_BYTES, EH_JWS_MAX_HEADER_DEPTH, error);
  if (check == NULL) {
    g_prefix_error (error, "JWS header: ");
    return NULL;
  }
  return g_steal_pointer (&text);
}

/* the signature over @input in its JWS form */
static GBytes *
eh_jws_sign_input (gnutls_privkey_t key, const EhJwsAlgInfo *info, const char *input,
                   GError **error)
{
  gnutls_datum_t data = { (unsigned char *) input, strlen (input) };
  gnutls_datum_t sig = { NULL, 0 };
  GBytes *raw;
  int rc = gnutls_privkey_sign_data2 (key, info->sign, 0, &data, &sig);

  if (rc < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "signing with %s failed: %s", info->name,
                 gnutls_strerror (rc));
    return NULL;
  }
  if (info->ec_size > 0)
    raw = eh_jws_ecdsa_der_to_raw (&sig, info->ec_size, error);
  else
    raw = g_bytes_new (sig.data, sig.size);
  gnutls_free (sig.data);
  return raw;
}

char *
eh_jws_header_encode (EhJwsAlg alg, const char *typ, JsonObject *extra_header, GError **error)
{
  const EhJwsAlgInfo *info = eh_jws_alg_info (alg);
  g_autofree char *header = NULL;

  if (info == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown JWS algorithm %d", alg);
    return NULL;
  }
  header = eh_jws_header_json (info, typ, extra_header, error);
  if (header == NULL)
    return NULL;
  return eh_base64url_encode (header, strlen (header));
}

/* the key fits @info already */
static char *
eh_jws_sign_fitting (gnutls_privkey_t key, const EhJwsAlgInfo *info, const char *header_b64, const void *payload,
                     gsize payload_len, GError **error)
{
  g_autofree char *payload_b64 = eh_base64url_encode (payload, payload_len);
  g_autofree char *input = g_strconcat (header_b64, ".", payload_b64, NULL);
  g_autofree char *sig_b64 = NULL;
  g_autoptr (GBytes) sig = eh_jws_sign_input (key, info, input, error);

  if (sig == NULL)
    return NULL;
  sig_b64 = eh_base64url_encode (g_bytes_get_data (sig, NULL), g_bytes_get_size (sig));
  return g_strconcat (input, ".", sig_b64, NULL);
}

/* the algorithm's description, if @key fits it */
static const EhJwsAlgInfo *
eh_jws_alg_for_signing (gnutls_privkey_t key, EhJwsAlg alg, GError **error)
{
  const EhJwsAlgInfo *info = eh_jws_alg_info (alg);
  unsigned int bits = 0;
  int pk;

  if (info == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown JWS algorithm %d", alg);
    return NULL;
  }
  pk = eh_jws_privkey_pk (key, &bits);
  return eh_jws_key_fits (info, pk, bits, error) ? info : NULL;
}

char *
eh_jws_sign_encoded (gnutls_privkey_t key, EhJwsAlg alg, const char *header_b64, const void *payload,
                     gsize payload_len, GError **error)
{
  const EhJwsAlgInfo *info;

  g_return_val_if_fail (key != NULL && header_b64 != NULL && payload != NULL, NULL);

  info = eh_jws_alg_for_signing (key, alg, error);
  if (info == NULL)
    return NULL;
  return eh_jws_sign_fitting (key, info, header_b64, payload, payload_len, error);
}

char *
eh_jws_sign (gnutls_privkey_t key, EhJwsAlg alg, const char *typ, JsonObject *extra_header,
             GBytes *payload, GError **error)
{
  const EhJwsAlgInfo *info;
  g_autofree char *header = NULL;
  g_autofree char *header_b64 = NULL;
  gsize payload_len = 0;
  const void *payload_data;

  g_return_val_if_fail (key != NULL && payload != NULL, NULL);

  info = eh_jws_alg_for_signing (key, alg, error);
  if (info == NULL)
    return NULL;
  header = eh_jws_header_json (info, typ, extra_header, error);
  if (header == NULL)
    return NULL;
  header_b64 = eh_base64url_encode (header, strlen (header));
  payload_data = g_bytes_get_data (payload, &payload_len);
  return eh_jws_sign_fitting (key, info, header_b64, payload_data, payload_len, error);
}

static gboolean
eh_jws_refuse (GError **error, const char *why)
{
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "token refused: %s", why);
  return FALSE;
}

/* the size cap, then exactly three segments */
static gboolean
eh_jws_split (const char *token, gsize max_bytes, EhJwsSegment parts[3], GError **error)
{
  gsize cap = max_bytes < G_MAXSIZE ? max_bytes + 1 : max_bytes;
  gsize len;
  const char *at = token;
  const char *end;

  if (token == NULL || (len = strnlen (token, cap)) == 0 || len > max_bytes)
    return eh_jws_refuse (error, "empty or too large");
  end = token + len;
  for (guint i = 0; i < 3; i++) {
    const char *dot = memchr (at, '.', end - at);

    if ((i < 2 && dot == NULL) || (i == 2 && dot != NULL))
      return eh_jws_refuse (error, "not exactly three segments");
    parts[i].data = at;
    parts[i].len = (dot != NULL ? dot : end) - at;
    if (dot != NULL)
      at = dot + 1;
  }
  return TRUE;
}

static gboolean
eh_jws_decode (const EhJwsSegment parts[3], GBytes *bytes[3], GError **error)
{
  /* base64url of the largest header accepted */
  const gsize header_chars = (EH_JWS_MAX_HEADER_BYTES * 4 + 2) / 3;

  if (parts[0].len > header_chars)
    return eh_jws_refuse (error, "header too large");
  for (guint i = 0; i < 3; i++) {
    bytes[i] = eh_base64url_decode (parts[i].data, parts[i].len, parts[i].len, NULL);
    if (bytes[i] == NULL)
      return eh_jws_refuse (error, "a segment is not strict base64url");
  }
  return TRUE;
}

static JsonObject *
eh_jws_parse_header (GBytes *bytes, GError **error)
{
  g_autoptr (GError) json_error = NULL;
  g_autoptr (JsonNode) root = eh_json_parse_strict (g_bytes_get_data (bytes, NULL),
                                                    g_bytes_get_size (bytes),
                                                    EH_JWS_MAX_HEADER_BYTES,
                                                    EH_JWS_MAX_HEADER_DEPTH, &json_error);

  if (root == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "token refused: header is not strict JSON (%s)", json_error->message);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    eh_jws_refuse (error, "header is not a JSON object");
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}

/* the header's alg, if allowed at all */
static const EhJwsAlgInfo *
eh_jws_header_alg (JsonObject *header, guint allowed_algs, GError **error)
{
  const char *name = NULL;

  if (!eh_json_object_get_string_checked (header, "alg", &name, NULL)) {
    eh_jws_refuse (error, "header has no string \"alg\"");
    return NULL;
  }
  if (g_ascii_strcasecmp (name, "none") == 0) {
    eh_jws_refuse (error, "alg \"none\" is never accepted");
    return NULL;
  }
  for (guint i = 0; i < G_N_ELEMENTS (eh_jws_algs); i++) {
    if (strcmp (name, eh_jws_algs[i].name) == 0 && (allowed_algs & eh_jws_algs[i].alg) != 0)
      return &eh_jws_algs[i];
  }
  eh_jws_refuse (error, "alg is not allowed");
  return NULL;
}

/* RFC 7515 §4.1.9: "application/" may be left out where no other '/' follows */
static const char *
eh_jws_typ_short (const char *typ)
{
  const gsize prefix = strlen ("application/");

  if (g_ascii_strncasecmp (typ, "application/", prefix) == 0 && strchr (typ + prefix, '/') == NULL)
    return typ + prefix;
  return typ;
}

/* members we never honour, alg and typ */
static const EhJwsAlgInfo *
eh_jws_check_header (JsonObject *header, guint allowed_algs, const char *expected_typ,
                     GError **error)
{
  static const char *const never[] = { "crit", "jku", "jwk", "x5u", "x5c" };
  const EhJwsAlgInfo *info = eh_jws_header_alg (header, allowed_algs, error);
  const char *typ = NULL;

  if (info == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (never); i++) {
    if (json_object_has_member (header, never[i])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                   "token refused: header member \"%s\" is not accepted", never[i]);
      return NULL;
    }
  }
  if (expected_typ != NULL &&
      (!eh_json_object_get_string_checked (header, "typ", &typ, NULL) ||
       g_ascii_strcasecmp (eh_jws_typ_short (typ), eh_jws_typ_short (expected_typ)) != 0)) {
    eh_jws_refuse (error, "wrong or missing typ");
    return NULL;
  }
  return info;
}

/* the caller's key for this token, of the header's own algorithm */
static gnutls_pubkey_t
eh_jws_lookup_key (JsonObject *header, const EhJwsAlgInfo *info, EhJwsKeyLookupFunc lookup,
                   gpointer user_data, GError **error)
{
  g_autoptr (GError) lookup_error = NULL;
  g_auto (gnutls_pubkey_t) key = NULL;
  EhJwsAlg key_alg = 0;
  unsigned int bits = 0;
  int pk;

  key = lookup (header, &key_alg, user_data, &lookup_error);
  if (key == NULL) {
    if (lookup_error != NULL)
      g_propagate_error (error, g_steal_pointer (&lookup_error));
    else
      eh_jws_refuse (error, "no key for this token");
    return NULL;
  }
  /* the key's one algorithm decides, never the token alone */
  if (key_alg != info->alg) {
    eh_jws_refuse (error, "alg is not the key's algorithm");
    return NULL;
  }
  pk = gnutls_pubkey_get_pk_algorithm (key, &bits);
  if (!eh_jws_key_fits (info, pk, bits, NULL)) {
    eh_jws_refuse (error, "the key does not fit its algorithm");
    return NULL;
  }
  return g_steal_pointer (&key);
}

static gboolean
eh_jws_is_zero (const guint8 *data, gsize len)
{
  guint8 any = 0;

  for (gsize i = 0; i < len; i++)
    any |= data[i];
  return any == 0;
}

/* the one length a signature of @info by @key has */
static gsize
eh_jws_signature_len (gnutls_pubkey_t key, const EhJwsAlgInfo *info)
{
  unsigned int bits = 0;

  if (info->ec_size > 0)
    return 2 * info->ec_size;
  if (info->pk == GNUTLS_PK_EDDSA_ED25519)
    return EH_JWS_ED25519_SIG_LEN;
  gnutls_pubkey_get_pk_algorithm (key, &bits);
  return (bits + 7) / 8;
}

static gboolean
eh_jws_check_signature (gnutls_pubkey_t key, const EhJwsAlgInfo *info, const EhJwsSegment *input,
                        GBytes *signature, GError **error)
{
  gsize sig_len = 0;
  const guint8 *sig_data = g_bytes_get_data (signature, &sig_len);
  gnutls_datum_t data = { (unsigned char *) input->data, input->len };
  gnutls_datum_t sig = { (unsigned char *) sig_data, sig_len };
  gnutls_datum_t der = { NULL, 0 };
  int rc;

  /* one length only: extra leading zeros would make a second valid token */
  if (sig_len != eh_jws_signature_len (key, info))
    return eh_jws_refuse (error, "signature has the wrong length");
  if (info->ec_size > 0) {
    gnutls_datum_t r = { sig.data, info->ec_size };
    gnutls_datum_t s = { sig.data + info->ec_size, info->ec_size };

    if (eh_jws_is_zero (r.data, r.size) || eh_jws_is_zero (s.data, s.size))
      return eh_jws_refuse (error, "ECDSA signature with r = 0 or s = 0");
    if (gnutls_encode_rs_value (&der, &r, &s) < 0)
      return eh_jws_refuse (error, "ECDSA signature cannot be encoded");
    sig = der;
  }
  rc = gnutls_pubkey_verify_data2 (key, info->sign, 0, &data, &sig);
  gnutls_free (der.data);
  if (rc < 0)
    return eh_jws_refuse (error, "bad signature");
  return TRUE;
}

gboolean
eh_jws_verify (const char *token, gsize max_bytes, guint allowed_algs, const char *expected_typ,
               EhJwsKeyLookupFunc lookup, gpointer user_data, JsonObject **header_out,
               GBytes **payload, GError **error)
{
  EhJwsSegment parts[3];
  EhJwsSegment input;
  GBytes *bytes[3] = { NULL, NULL, NULL };
  g_autoptr (JsonObject) header = NULL;
  g_auto (gnutls_pubkey_t) key = NULL;
  const EhJwsAlgInfo *info = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (lookup != NULL, FALSE);

  if (!eh_jws_split (token, max_bytes, parts, error) || !eh_jws_decode (parts, bytes, error))
    goto out;
  header = eh_jws_parse_header (bytes[0], error);
  if (header == NULL)
    goto out;
  info = eh_jws_check_header (header, allowed_algs, expected_typ, error);
  if (info == NULL)
    goto out;
  key = eh_jws_lookup_key (header, info, lookup, user_data, error);
  if (key == NULL)
    goto out;
  /* signed: the ASCII of header "." payload, as they came */
  input.data = token;
  input.len = parts[1].data + parts[1].len - token;
  if (!eh_jws_check_signature (key, info, &input, bytes[2], error))
    goto out;
  if (header_out != NULL)
    *header_out = g_steal_pointer (&header);
  if (payload != NULL)
    *payload = g_bytes_ref (bytes[1]);
  ok = TRUE;
out:
  for (guint i = 0; i < 3; i++)
    g_clear_pointer (&bytes[i], g_bytes_unref);
  return ok;
}

static void
eh_jws_jwk_set_datum (JsonObject *jwk, const char *member, const gnutls_datum_t *value, guint size)
{
  g_autofree guint8 *fixed = NULL;
  g_autofree char *text = NULL;
  gnutls_datum_t trimmed = *value;

  /* fixed-width coordinates for curves; minimal big-endian for RSA */
  if (size > 0) {
    fixed = g_malloc (size);
    if (!eh_jws_fixed_width (value, size, fixed))
      return;
    text = eh_base64url_encode (fixed, size);
  } else {
    while (trimmed.size > 1 && trimmed.data[0] == 0) {
      trimmed.data++;
      trimmed.size--;
    }
    text = eh_base64url_encode (trimmed.data, trimmed.size);
  }
  json_object_set_string_member (jwk, member, text);
}

JsonObject *
eh_jws_pubkey_to_jwk (gnutls_pubkey_t key, GError **error)
{
  g_autoptr (JsonObject) jwk = json_object_new ();
  gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  int algo = gnutls_pubkey_get_pk_algorithm (key, NULL);
  gboolean ok = FALSE;

  if (algo == GNUTLS_PK_ECDSA && gnutls_pubkey_export_ecc_raw2 (key, &curve, &a, &b, 0) >= 0) {
    guint size = curve == GNUTLS_ECC_CURVE_SECP256R1 ? 32 : curve == GNUTLS_ECC_CURVE_SECP384R1 ? 48 : 0;

    ok = size > 0;
    json_object_set_string_member (jwk, "kty", "EC");
    json_object_set_string_member (jwk, "crv", size == 32 ? "P-256" : "P-384");
    json_object_set_string_member (jwk, "alg", size == 32 ? "ES256" : "ES384");
    if (ok) {
      eh_jws_jwk_set_datum (jwk, "x", &a, size);
      eh_jws_jwk_set_datum (jwk, "y", &b, size);
    }
  } else if (algo == GNUTLS_PK_EDDSA_ED25519 &&
             gnutls_pubkey_export_ecc_raw2 (key, &curve, &a, NULL, 0) >= 0) {
    ok = TRUE;
    json_object_set_string_member (jwk, "kty", "OKP");
    json_object_set_string_member (jwk, "crv", "Ed25519");
    json_object_set_string_member (jwk, "alg", "EdDSA");
    eh_jws_jwk_set_datum (jwk, "x", &a, 32);
  } else if (algo == GNUTLS_PK_RSA && gnutls_pubkey_export_rsa_raw2 (key, &a, &b, 0) >= 0) {
    ok = TRUE;
    json_object_set_string_member (jwk, "kty", "RSA");
    json_object_set_string_member (jwk, "alg", "RS256");
    eh_jws_jwk_set_datum (jwk, "n", &a, 0);
    eh_jws_jwk_set_datum (jwk, "e", &b, 0);
  }
  gnutls_free (a.data);
  gnutls_free (b.data);
  if (!ok) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "this kind of key has no JWK form here");
    return NULL;
  }
  return g_steal_pointer (&jwk);
}

char *
eh_jws_cert_thumbprint (gnutls_x509_crt_t cert, GError **error)
{
  g_autoptr (GBytes) der = eh_crypto_cert_to_der (cert, error);
  guint8 digest[32];

  if (der == NULL)
    return NULL;
  eh_crypto_sha256 (g_bytes_get_data (der, NULL), g_bytes_get_size (der), digest);
  return eh_base64url_encode (digest, sizeof digest);
}

/* a base64url member of exactly @size bytes */
static GBytes *
eh_jws_jwk_coordinate (JsonObject *jwk, const char *member, gsize size, GError **error)
{
  g_autoptr (GError) local = NULL;
  const char *text = NULL;
  GBytes *bytes;

  if (!eh_json_object_get_string_checked (jwk, member, &text, error))
    return NULL;
  bytes = eh_base64url_decode (text, strlen (text), 4 * size / 3 + 4, &local);
  if (bytes == NULL || g_bytes_get_size (bytes) != size) {
    g_clear_pointer (&bytes, g_bytes_unref);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "JWK member \"%s\" is not base64url of %" G_GSIZE_FORMAT " bytes", member, size);
    return NULL;
  }
  return bytes;
}

static gboolean
eh_jws_jwk_optional_string (JsonObject *jwk, const char *member, const char *expected,
                            GError **error)
{
  const char *text = NULL;

  if (!json_object_has_member (jwk, member))
    return TRUE;
  if (!eh_json_object_get_string_checked (jwk, member, &text, error))
    return FALSE;
  if (g_strcmp0 (text, expected) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "JWK member \"%s\" must be \"%s\"",
                 member, expected);
    return FALSE;
  }
  return TRUE;
}

gnutls_pubkey_t
eh_jws_jwk_to_pubkey (JsonObject *jwk, guint allowed_algs, EhJwsAlg *alg, GError **error)
{
  static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
  g_auto (gnutls_pubkey_t) key = NULL;
  g_autoptr (GBytes) x = NULL;
  g_autoptr (GBytes) y = NULL;
  const EhJwsAlgInfo *info = NULL;
  const char *kty = NULL, *crv = NULL;
  gnutls_ecc_curve_t curve;
  gnutls_datum_t xd, yd;
  int ret;

  for (guint i = 0; i < G_N_ELEMENTS (private_members); i++) {
    if (json_object_has_member (jwk, private_members[i])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "the JWK holds private key material (\"%s\"): send the public key only",
                   private_members[i]);
      return NULL;
    }
  }
  if (!eh_json_object_get_string_checked (jwk, "kty", &kty, error))
    return NULL;
  if (g_strcmp0 (kty, "EC") != 0 && g_strcmp0 (kty, "OKP") != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "JWK kty must be \"EC\" or \"OKP\" (RSA and symmetric keys are not accepted)");
    return NULL;
  }
  if (!eh_json_object_get_string_checked (jwk, "crv", &crv, error))
    return NULL;
  if (g_strcmp0 (kty, "EC") == 0 && g_strcmp0 (crv, "P-256") == 0) {
    info = eh_jws_alg_info (EH_JWS_ALG_ES256);
    curve = GNUTLS_ECC_CURVE_SECP256R1;
  } else if (g_strcmp0 (kty, "EC") == 0 && g_strcmp0 (crv, "P-384") == 0) {
    info = eh_jws_alg_info (EH_JWS_ALG_ES384);
    curve = GNUTLS_ECC_CURVE_SECP384R1;
  } else if (g_strcmp0 (kty, "OKP") == 0 && g_strcmp0 (crv, "Ed25519") == 0) {
    info = eh_jws_alg_info (EH_JWS_ALG_EDDSA);
    curve = GNUTLS_ECC_CURVE_ED25519;
  }
  if (info == NULL || (info->alg & allowed_algs) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "JWK key type %s %s is not accepted",
                 kty, crv);
    return NULL;
  }
  if (!eh_jws_jwk_optional_string (jwk, "alg", info->name, error) ||
      !eh_jws_jwk_optional_string (jwk, "use", "sig", error))
    return NULL;
  x = eh_jws_jwk_coordinate (jwk, "x", info->ec_size > 0 ? info->ec_size : 32, error);
  if (x == NULL)
    return NULL;
  xd.data = (unsigned char *) g_bytes_get_data (x, NULL);
  xd.size = g_bytes_get_size (x);
  if (info->ec_size > 0) {
    y = eh_jws_jwk_coordinate (jwk, "y", info->ec_size, error);
    if (y == NULL)
      return NULL;
    yd.data = (unsigned char *) g_bytes_get_data (y, NULL);
    yd.size = g_bytes_get_size (y);
  } else if (json_object_has_member (jwk, "y")) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "an Ed25519 JWK has no \"y\"");
    return NULL;
  }
  if (gnutls_pubkey_init (&key) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "out of memory");
    return NULL;
  }
  ret = gnutls_pubkey_import_ecc_raw (key, curve, &xd, info->ec_size > 0 ? &yd : NULL);
  /* an EC point off the curve is refused here, not at the first verify */
  if (ret >= 0 && info->ec_size > 0)
    ret = gnutls_pubkey_verify_params (key);
  if (ret < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the JWK is not a valid %s key: %s",
                 crv, gnutls_strerror (ret));
    return NULL;
  }
  if (alg != NULL)
    *alg = info->alg;
  return g_steal_pointer (&key);
}

char *
eh_jws_pubkey_thumbprint (gnutls_pubkey_t key, GError **error)
{
  /* RFC 7638 §3.2: the required members only, in lexicographic order */
  static const char *const members[] = { "crv", "e", "kty", "n", "x", "y" };
  g_autoptr (JsonObject) jwk = eh_jws_pubkey_to_jwk (key, error);
  g_autoptr (GString) text = NULL;
  guint8 digest[32];
  gboolean first = TRUE;

  if (jwk == NULL)
    return NULL;
  text = g_string_new ("{");
  for (guint i = 0; i < G_N_ELEMENTS (members); i++) {
    const char *value;

    if (!json_object_has_member (jwk, members[i]))
      continue;
    /* every value is base64url or a fixed name: nothing to escape */
    value = json_object_get_string_member (jwk, members[i]);
    g_string_append_printf (text, "%s\"%s\":\"%s\"", first ? "" : ",", members[i], value);
    first = FALSE;
  }
  g_string_append_c (text, '}');
  eh_crypto_sha256 (text->str, text->len, digest);
  return eh_base64url_encode (digest, sizeof digest);
}
