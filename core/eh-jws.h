/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "eh-crypto.h"

G_BEGIN_DECLS

/*
 * Compact JWS (RFC 7515) sign and verify primitives, hardened per RFC 8725.
 * Token kinds, claims and trust bundles are the plugins' business; this
 * only gets the bytes and the signature right.
 */

typedef enum {
  EH_JWS_ALG_ES256 = 1 << 0,
  EH_JWS_ALG_ES384 = 1 << 1,
  EH_JWS_ALG_RS256 = 1 << 2,
  EH_JWS_ALG_PS256 = 1 << 3,
  EH_JWS_ALG_EDDSA = 1 << 4,
} EhJwsAlg;

#define EH_JWS_DEFAULT_MAX_TOKEN_BYTES (16 * 1024)

const char *eh_jws_alg_to_string (EhJwsAlg alg);
/* the alg that fits @key: ES256 for P-256, ES384 for P-384, RS256 for RSA, EdDSA for Ed25519 */
gboolean eh_jws_alg_for_key (gnutls_privkey_t key, EhJwsAlg *alg, GError **error);

/**
 * eh_jws_sign:
 * @key: the signing key
 * @alg: the algorithm (must fit @key)
 * @typ: (nullable): the `typ` header value, e.g. "client+jwt"
 * @extra_header: (nullable): further header members (e.g. `x5t#S256`);
 *   `alg` and `typ` are set by this call
 * @payload: the payload bytes (usually a JSON claims object)
 *
 * ECDSA signatures are encoded as raw R || S as JWS requires.
 * Returns: (transfer full): the compact serialization
 */
char *eh_jws_sign (gnutls_privkey_t key, EhJwsAlg alg, const char *typ, JsonObject *extra_header,
                   GBytes *payload, GError **error);
/* eh_jws_sign in two steps, for a signer whose header never changes: the
 * header once (transfer full: its base64url form), then each payload */
char *eh_jws_header_encode (EhJwsAlg alg, const char *typ, JsonObject *extra_header, GError **error);
char *eh_jws_sign_encoded (gnutls_privkey_t key, EhJwsAlg alg, const char *header_b64, const void *payload,
                           gsize payload_len, GError **error);

/**
 * EhJwsKeyLookupFunc:
 * @header: the token's protected header, already checked to be strict JSON
 * @alg: (out): the one algorithm allowed for the key returned
 *
 * Finds the verification key in the caller's own trust material (by
 * `x5t#S256` or `kid` used as a lookup key only, never as a path or URL).
 * Returns: (transfer full) (nullable): the key, or %NULL with @error set
 */
typedef gnutls_pubkey_t (*EhJwsKeyLookupFunc) (JsonObject *header, EhJwsAlg *alg, gpointer user_data,
                                               GError **error);

/**
 * eh_jws_verify:
 * @token: the compact token
 * @max_bytes: refuse longer tokens before decoding anything
 * @allowed_algs: mask of EhJwsAlg accepted at all
 * @expected_typ: (nullable): required `typ` value (compared exactly, case-insensitively
 *   after an optional "application/" prefix as RFC 7515 allows)
 * @lookup: finds the key
 * @header: (out) (transfer full) (optional): the protected header
 * @payload: (out) (transfer full): the payload bytes
 *
 * Refuses: not exactly three segments, non-strict base64url, non-strict JSON
 * header, `alg` none or not allowed or not the key's own, `crit` present,
 * `jku`/`jwk`/`x5u`/`x5c` present, wrong `typ`, ECDSA r = 0 or s = 0, bad
 * signature. Claims are not checked here.
 */
gboolean eh_jws_verify (const char *token, gsize max_bytes, guint allowed_algs, const char *expected_typ,
                        EhJwsKeyLookupFunc lookup, gpointer user_data, JsonObject **header,
                        GBytes **payload, GError **error);

/**
 * eh_jws_pubkey_to_jwk:
 *
 * The public JWK (RFC 7517/7518/8037) of @key: `kty`, `crv`/`x`/`y` (EC,
 * fixed width), `x` (Ed25519) or `n`/`e` (RSA), and the `alg` it signs with.
 * Returns: (transfer full): a new object, or NULL for other key types
 */
JsonObject *eh_jws_pubkey_to_jwk (gnutls_pubkey_t key, GError **error);

/**
 * eh_jws_jwk_to_pubkey:
 * @jwk: a public JWK, e.g. from hostile input (already strict JSON)
 * @allowed_algs: the key kinds accepted, named by the alg they sign with:
 *   ES256 (EC P-256), ES384 (EC P-384), EdDSA (OKP Ed25519); RSA keys are
 *   never imported here
 * @alg: (out) (optional): the one algorithm the key signs with
 *
 * Imports an EC or OKP public key. Refuses: members of a private key (`d`
 * and RSA's), other `kty`/`crv`, coordinates that are not strict base64url
 * of the curve's exact width, a point not on the curve, an `alg` member
 * other than the key's own, a `use` other than "sig".
 * Returns: (transfer full): the key, or %NULL with EH_ERROR_INVALID_ARGUMENT
 */
gnutls_pubkey_t eh_jws_jwk_to_pubkey (JsonObject *jwk, guint allowed_algs, EhJwsAlg *alg,
                                      GError **error);

/**
 * eh_jws_pubkey_thumbprint:
 *
 * The RFC 7638 JWK thumbprint of @key: base64url of the SHA-256 of its
 * required public members in lexicographic order, without whitespace.
 * Returns: (transfer full): the thumbprint, or %NULL for other key types
 */
char *eh_jws_pubkey_thumbprint (gnutls_pubkey_t key, GError **error);

/* the `x5t#S256` of @cert: base64url of the SHA-256 of its DER */
char *eh_jws_cert_thumbprint (gnutls_x509_crt_t cert, GError **error);

G_END_DECLS
