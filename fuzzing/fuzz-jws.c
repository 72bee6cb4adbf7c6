/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-jws.h"

/* any token: a refusal or, never by chance, an accepted signature */
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gnutls_pubkey_t
eh_fuzz_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  static gnutls_privkey_t key;
  gnutls_pubkey_t pub = NULL;

  if (key == NULL) {
    gnutls_privkey_init (&key);
    gnutls_privkey_generate (key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0);
  }
  gnutls_pubkey_init (&pub);
  gnutls_pubkey_import_privkey (pub, key, 0, 0);
  *alg = EH_JWS_ALG_ES256;
  return pub;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *token = g_strndup ((const char *) data, size);
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_jws_verify (token, 8192, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA, "client+jwt",
                                 eh_fuzz_lookup, NULL, NULL, &payload, &error));
  g_assert_nonnull (error);
  return 0;
}
