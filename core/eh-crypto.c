/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "eh-crypto.h"
#include "eh-error.h"

#define EH_CRYPTO_MAX_CHAIN 16

static const struct {
  EhKeyType type;
  const char *name;
} eh_key_types[] = {
  { EH_KEY_ECDSA_P256, "ecdsa-p256" },
  { EH_KEY_RSA_2048, "rsa-2048" },
  { EH_KEY_RSA_3072, "rsa-3072" },
  { EH_KEY_ED25519, "ed25519" },
};

gboolean
eh_key_type_from_string (const char *name, EhKeyType *type, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_key_types); i++) {
    if (g_strcmp0 (name, eh_key_types[i].name) == 0) {
      *type = eh_key_types[i].type;
      return TRUE;
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
               "unknown key type \"%s\" (ecdsa-p256, rsa-2048, rsa-3072, ed25519)",
               name != NULL ? name : "");
  return FALSE;
}

const char *
eh_key_type_to_string (EhKeyType type)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_key_types); i++) {
    if (eh_key_types[i].type == type)
      return eh_key_types[i].name;
  }
  return "unknown";
}

static gboolean
eh_crypto_check (int rc, const char *what, GError **error)
{
  if (rc >= 0)
    return TRUE;
  g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "%s: %s", what, gnutls_strerror (rc));
  return FALSE;
}

gnutls_x509_privkey_t
eh_crypto_generate_key (EhKeyType type, GError **error)
{
  g_auto (gnutls_x509_privkey_t) key = NULL;
  gnutls_pk_algorithm_t algorithm = GNUTLS_PK_ECDSA;
  unsigned int bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1);

  switch (type) {
  case EH_KEY_RSA_2048:
    algorithm = GNUTLS_PK_RSA;
    bits = 2048;
    break;
  case EH_KEY_RSA_3072:
    algorithm = GNUTLS_PK_RSA;
    bits = 3072;
    break;
  case EH_KEY_ED25519:
    algorithm = GNUTLS_PK_EDDSA_ED25519;
    bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519);
    break;
  case EH_KEY_ECDSA_P256:
  default:
    break;
  }
  if (!eh_crypto_check (gnutls_x509_privkey_init (&key), "key", error) ||
      !eh_crypto_check (gnutls_x509_privkey_generate2 (key, algorithm, bits, 0, NULL, 0),
                        "key generation", error))
    return NULL;
  return g_steal_pointer (&key);
}

void
eh_crypto_free_secret (char *secret)
{
  if (secret == NULL)
    return;
  gnutls_memset (secret, 0, strlen (secret));
  g_free (secret);
}

/* copies a gnutls export into a NUL-terminated GLib string, wiping the original */
static char *
eh_crypto_take_datum (gnutls_datum_t *datum)
{
  char *text = g_strndup ((const char *) datum->data, datum->size);

  gnutls_memset (datum->data, 0, datum->size);
  gnutls_free (datum->data);
  return text;
}

char *
eh_crypto_key_to_pem (gnutls_x509_privkey_t key, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };

  if (!eh_crypto_check (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                            GNUTLS_PKCS_PLAIN, &out),
                        "key export", error))
    return NULL;
  return eh_crypto_take_datum (&out);
}

gnutls_x509_privkey_t
eh_crypto_key_from_pem (const char *pem, gsize len, GError **error)
{
  g_auto (gnutls_x509_privkey_t) key = NULL;
  gnutls_datum_t in = { (unsigned char *) pem, len };

  if (!eh_crypto_check (gnutls_x509_privkey_init (&key), "key", error))
    return NULL;
  if (len == 0 || gnutls_x509_privkey_import2 (key, &in, GNUTLS_X509_FMT_PEM, NULL,
                                               GNUTLS_PKCS_PLAIN) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no readable unencrypted private key");
    return NULL;
  }
  return g_steal_pointer (&key);
}

char *
eh_crypto_cert_to_pem (gnutls_x509_crt_t cert, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };

  if (!eh_crypto_check (gnutls_x509_crt_export2 (cert, GNUTLS_X509_FMT_PEM, &out),
                        "certificate export", error))
    return NULL;
  return eh_crypto_take_datum (&out);
}

GBytes *
eh_crypto_cert_to_der (gnutls_x509_crt_t cert, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };
  GBytes *bytes;

  if (!eh_crypto_check (gnutls_x509_crt_export2 (cert, GNUTLS_X509_FMT_DER, &out),
                        "certificate export", error))
    return NULL;
  bytes = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  return bytes;
}

static gnutls_x509_crt_t
eh_crypto_cert_import (const void *data, gsize len, gnutls_x509_crt_fmt_t format, GError **error)
{
  g_auto (gnutls_x509_crt_t) cert = NULL;
  gnutls_datum_t in = { (unsigned char *) data, len };

  if (!eh_crypto_check (gnutls_x509_crt_init (&cert), "certificate", error))
    return NULL;
  if (len == 0 || gnutls_x509_crt_import (cert, &in, format) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "not a readable certificate");
    return NULL;
  }
  return g_steal_pointer (&cert);
}

gnutls_x509_crt_t
eh_crypto_cert_from_pem (const char *pem, gsize len, GError **error)
{
  return eh_crypto_cert_import (pem, len, GNUTLS_X509_FMT_PEM, error);
}

gnutls_x509_crt_t
eh_crypto_cert_from_der (GBytes *der, GError **error)
{
  gsize len = 0;
  const void *data = g_bytes_get_data (der, &len);

  return eh_crypto_cert_import (data, len, GNUTLS_X509_FMT_DER, error);
}

gnutls_x509_crt_t *
eh_crypto_chain_from_pem (const char *pem, gsize len, guint *n_certs, GError **error)
{
  gnutls_x509_crt_t *chain = NULL;
  unsigned int count = 0;
  gnutls_datum_t in = { (unsigned char *) pem, len };

  *n_certs = 0;
  /* no sorting: the order in the file is the order that was sent and is checked */
  if (len == 0 || gnutls_x509_crt_list_import2 (&chain, &count, &in, GNUTLS_X509_FMT_PEM, 0) < 0 ||
      count == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no readable certificate in the chain");
    return NULL;
  }
  if (count > EH_CRYPTO_MAX_CHAIN) {
    eh_crypto_chain_free (chain, count);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "chain has %u certificates, at most %u allowed",
                 count, EH_CRYPTO_MAX_CHAIN);
    return NULL;
  }
  *n_certs = count;
  return chain;
}

void
eh_crypto_chain_free (gnutls_x509_crt_t *chain, guint n_certs)
{
  if (chain == NULL)
    return;
  for (guint i = 0; i < n_certs; i++)
    gnutls_x509_crt_deinit (chain[i]);
  gnutls_free (chain);
}

static char *
eh_crypto_hex (const guint8 *data, gsize len)
{
  GString *text = g_string_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (text, "%02x", data[i]);
  return g_string_free (text, FALSE);
}

char *
eh_crypto_cert_fingerprint (gnutls_x509_crt_t cert, GError **error)
{
  guint8 digest[32];
  size_t size = sizeof digest;
  g_autofree char *hex = NULL;

  if (!eh_crypto_check (gnutls_x509_crt_get_fingerprint (cert, GNUTLS_DIG_SHA256, digest, &size),
                        "fingerprint", error))
    return NULL;
  hex = eh_crypto_hex (digest, size);
  return g_strconcat ("sha256:", hex, NULL);
}

gboolean
eh_crypto_parse_fingerprint (const char *text, guint8 out[32], GError **error)
{
  const char *p = text;
  guint n = 0;

  if (text == NULL || g_ascii_strncasecmp (text, "sha256:", 7) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a fingerprint looks like sha256:<64 hex digits>");
    return FALSE;
  }
  p += 7;
  while (*p != '\0') {
    if (*p == ':' && n > 0 && g_ascii_isxdigit (p[1])) {
      p++;
      continue;
    }
    if (n == 32 || !g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "a fingerprint looks like sha256:<64 hex digits>");
      return FALSE;
    }
    out[n++] = g_ascii_xdigit_value (p[0]) * 16 + g_ascii_xdigit_value (p[1]);
    p += 2;
  }
  if (n != 32) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a SHA-256 fingerprint has 32 bytes, this one %u", n);
    return FALSE;
  }
  return TRUE;
}

gboolean
eh_crypto_key_matches_cert (gnutls_x509_privkey_t key, gnutls_x509_crt_t cert, GError **error)
{
  guint8 key_id[64], cert_id[64];
  size_t key_len = sizeof key_id, cert_len = sizeof cert_id;

  if (gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_len) < 0 ||
      gnutls_x509_crt_get_key_id (cert, GNUTLS_KEYID_USE_SHA256, cert_id, &cert_len) < 0 ||
      key_len != cert_len || memcmp (key_id, cert_id, key_len) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the private key does not match the certificate");
    return FALSE;
  }
  return TRUE;
}

void
eh_crypto_sha256 (const void *data, gsize len, guint8 out[32])
{
  gsize size = 32;
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (checksum, data, len);
  g_checksum_get_digest (checksum, out, &size);
}

static const char eh_base64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
eh_base64url_encode (const void *data, gsize len)
{
  const guint8 *in = data;
  GString *out = g_string_sized_new ((len * 4) / 3 + 4);

  for (gsize i = 0; i < len; i += 3) {
    guint32 group = in[i] << 16;
    gsize left = len - i;

    if (left > 1)
      group |= in[i + 1] << 8;
    if (left > 2)
      group |= in[i + 2];
    g_string_append_c (out, eh_base64url_alphabet[(group >> 18) & 63]);
    g_string_append_c (out, eh_base64url_alphabet[(group >> 12) & 63]);
    if (left > 1)
      g_string_append_c (out, eh_base64url_alphabet[(group >> 6) & 63]);
    if (left > 2)
      g_string_append_c (out, eh_base64url_alphabet[group & 63]);
  }
  return g_string_free (out, FALSE);
}

static int
eh_base64url_value (char c)
{
  const char *at = c != '\0' ? strchr (eh_base64url_alphabet, c) : NULL;

  return at != NULL ? at - eh_base64url_alphabet : -1;
}

GBytes *
eh_base64url_decode (const char *text, gsize text_len, gsize max_len, GError **error)
{
  g_autoptr (GByteArray) out = NULL;
  guint32 group = 0;
  guint bits = 0;

  if (text_len > max_len || text_len % 4 == 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "base64url text has a bad length");
    return NULL;
  }
  out = g_byte_array_sized_new (text_len * 3 / 4);
  for (gsize i = 0; i < text_len; i++) {
    int value = eh_base64url_value (text[i]);

    if (value < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "base64url text has a character outside its alphabet");
      return NULL;
    }
    group = (group << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      g_byte_array_append (out, (guint8[]) { (group >> bits) & 0xff }, 1);
    }
  }
  /* canonical form only: the unused low bits of the last character are zero */
  if ((group & ((1u << bits) - 1)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "base64url text is not canonical");
    return NULL;
  }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
