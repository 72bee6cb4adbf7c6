/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

G_BEGIN_DECLS

/*
 * Shared GnuTLS helpers: key generation, PEM/DER, fingerprints and
 * base64url. Plugins use these instead of growing their own.
 */

typedef enum {
  EH_KEY_ECDSA_P256,
  EH_KEY_RSA_2048,
  EH_KEY_RSA_3072,
  EH_KEY_ED25519,
} EhKeyType;

/* "ecdsa-p256", "rsa-2048", "rsa-3072", "ed25519" */
gboolean eh_key_type_from_string (const char *name, EhKeyType *type, GError **error);
const char *eh_key_type_to_string (EhKeyType type);

/* a new private key; slow for RSA: call from a worker thread */
gnutls_x509_privkey_t eh_crypto_generate_key (EhKeyType type, GError **error);

/* PKCS#8 unencrypted PEM of @key; the caller must wipe and free it (eh_crypto_free_secret) */
char *eh_crypto_key_to_pem (gnutls_x509_privkey_t key, GError **error);
gnutls_x509_privkey_t eh_crypto_key_from_pem (const char *pem, gsize len, GError **error);
void eh_crypto_free_secret (char *secret);

char *eh_crypto_cert_to_pem (gnutls_x509_crt_t cert, GError **error);
GBytes *eh_crypto_cert_to_der (gnutls_x509_crt_t cert, GError **error);
gnutls_x509_crt_t eh_crypto_cert_from_pem (const char *pem, gsize len, GError **error);
gnutls_x509_crt_t eh_crypto_cert_from_der (GBytes *der, GError **error);

/**
 * eh_crypto_chain_from_pem:
 * @n_certs: (out): how many certificates were read
 *
 * Reads every certificate of a PEM bundle in file order (at most 16).
 * Returns: (transfer full): an array the caller frees with eh_crypto_chain_free()
 */
gnutls_x509_crt_t *eh_crypto_chain_from_pem (const char *pem, gsize len, guint *n_certs, GError **error);
void eh_crypto_chain_free (gnutls_x509_crt_t *chain, guint n_certs);

/* "sha256:" followed by 64 lower-case hex digits of the DER certificate */
char *eh_crypto_cert_fingerprint (gnutls_x509_crt_t cert, GError **error);
/* parses "sha256:HEX" (case-insensitive hex, colons between bytes allowed) into 32 bytes */
gboolean eh_crypto_parse_fingerprint (const char *text, guint8 out[32], GError **error);

/* does @key belong to @cert (same public key)? */
gboolean eh_crypto_key_matches_cert (gnutls_x509_privkey_t key, gnutls_x509_crt_t cert, GError **error);

/* SHA-256 of @data as raw 32 bytes */
void eh_crypto_sha256 (const void *data, gsize len, guint8 out[32]);

/* base64url without padding (RFC 7515 §2) */
char *eh_base64url_encode (const void *data, gsize len);
/* strict: only [A-Za-z0-9_-], no padding, no whitespace, canonical trailing
 * bits, at most @max_len input characters; NULL + error otherwise */
GBytes *eh_base64url_decode (const char *text, gsize text_len, gsize max_len, GError **error);

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_privkey_t, gnutls_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_pubkey_t, gnutls_pubkey_deinit, NULL)

G_END_DECLS
