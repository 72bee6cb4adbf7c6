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

/*
 * Private keys from a file or a PKCS#11 token
 *
 * A location is either a path to an unencrypted PEM private key (a regular
 * file, mode 0600 or stricter) or a PKCS#11 URI (RFC 7512) naming a private
 * key in a token whose module was registered with
 * eh_crypto_pkcs11_add_module(). A file whose name starts with "pkcs11:" is
 * written "./pkcs11:...".
 *
 * Putting the site's CA root key in a token (SoftHSM2 shown; a hardware
 * token works the same with its own module and tools):
 *
 *   softhsm2-util --init-token --free --label ehttpd-ca --pin PIN --so-pin SO-PIN
 *   GNUTLS_PIN=PIN p11tool --provider /usr/lib/softhsm/libsofthsm2.so --batch \
 *     --login --generate-privkey=ecdsa --curve=secp256r1 --label=root-key \
 *     --outfile=root-key.pub 'pkcs11:token=ehttpd-ca'
 *   GNUTLS_PIN=PIN p11tool --provider /usr/lib/softhsm/libsofthsm2.so --batch \
 *     --login --list-privkeys 'pkcs11:token=ehttpd-ca'
 *
 * (an existing key file moves in with "--write --load-privkey=root-key.pem
 * --label=root-key --mark-private" instead of --generate-privkey; then wipe
 * the file). The daemon then gets the module path and the key's URI:
 *
 *   /usr/lib/softhsm/libsofthsm2.so
 *   pkcs11:token=ehttpd-ca;object=root-key;type=private?pin-source=/etc/ehttpd/ca.pin
 *
 * pin-source= is an absolute path to a file (mode 0600) holding the PIN
 * alone, without a trailing newline: printf '%s' PIN > /etc/ehttpd/ca.pin.
 * pin-value=PIN inside the URI works too, but puts the PIN in the config.
 * There is never a PIN prompt: a URI with neither attribute fails to open a
 * key that needs a login. The daemon's user must be able to use the token
 * (for SoftHSM2: a member of group softhsm, which owns /var/lib/softhsm/tokens).
 */

/**
 * eh_crypto_pkcs11_add_module:
 * @module_path: path of a PKCS#11 provider module, e.g. /usr/lib/softhsm/libsofthsm2.so
 *
 * Loads a PKCS#11 module into GnuTLS. The first call switches GnuTLS to
 * manual PKCS#11 configuration, so only registered modules are ever used
 * (none from the system's p11-kit configuration). Adding the same path again
 * does nothing and succeeds. Thread-safe; it may block while the module
 * initializes.
 *
 * Returns: %TRUE, or %FALSE with an %EH_ERROR_CRYPTO error
 */
gboolean eh_crypto_pkcs11_add_module (const char *module_path, GError **error);

/**
 * eh_crypto_location_is_pkcs11:
 * @location: (nullable): a key location
 *
 * Returns: whether @location is a PKCS#11 URI ("pkcs11:" in any case)
 */
gboolean eh_crypto_location_is_pkcs11 (const char *location);

/**
 * eh_crypto_privkey_open:
 * @location: a PEM key file path or a "pkcs11:" URI (see above)
 *
 * Opens the private key at @location. A file must be a regular file that
 * neither group nor others may access, at most 64 KiB, holding one
 * unencrypted PEM private key; the text read is wiped. A PKCS#11 key stays
 * in its token, and its PIN comes only from the URI's pin-value= or
 * pin-source= attribute. Error messages name @location with any pin-value
 * hidden. Talks to the file system or the token: call from a worker thread.
 *
 * Errors: %EH_ERROR_NOT_FOUND (no such file, no such key in the tokens),
 * %EH_ERROR_PERMISSION_DENIED (file mode too open, file unreadable, PIN
 * missing or refused), %EH_ERROR_INVALID_ARGUMENT (not a regular file, not a
 * PEM key, malformed URI), %EH_ERROR_CRYPTO (no module registered, token
 * failure).
 *
 * Returns: (transfer full): a key the caller frees with gnutls_privkey_deinit()
 */
gnutls_privkey_t eh_crypto_privkey_open (const char *location, GError **error);

/**
 * eh_crypto_privkey_get_pubkey:
 * @key: a private key, e.g. from eh_crypto_privkey_open()
 *
 * The public half of @key (for a token key, read from the token).
 *
 * Returns: (transfer full): a key the caller frees with gnutls_pubkey_deinit()
 */
gnutls_pubkey_t eh_crypto_privkey_get_pubkey (gnutls_privkey_t key, GError **error);

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
