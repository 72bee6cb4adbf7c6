/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * A registration body from the network, and any JSON object as a public
 * JWK: a clean refusal, or a key GnuTLS can use. No valid proof can come
 * from a fixed corpus (its nonce is issued at run time), so an accepted
 * registration would be a bug: the nonce store is empty.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
eh_fuzz_jwk (const guint8 *data, size_t size)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict ((const char *) data, size, 16 * 1024, 8, NULL);
  g_autoptr (GError) error = NULL;
  gnutls_pubkey_t key;
  EhJwsAlg alg = 0;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  key = eh_jws_jwk_to_pubkey (json_node_get_object (node), EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA, &alg,
                              &error);
  g_assert ((key == NULL) != (error == NULL));
  if (key != NULL) {
    g_autoptr (GError) thumb_error = NULL;
    g_autofree char *thumbprint = eh_jws_pubkey_thumbprint (key, &thumb_error);

    g_assert (thumbprint != NULL);
    gnutls_pubkey_deinit (key);
  }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (EhMpNonces) nonces = eh_mp_nonces_new (4, 60);
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpRegistration) registration =
      eh_mp_registration_parse ((const char *) data, size, nonces, &error);

  g_assert (registration == NULL && error != NULL);
  eh_fuzz_jwk (data, size);
  return 0;
}
