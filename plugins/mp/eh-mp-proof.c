/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Proofs of possession: a compact JWS by the client's key over a small JSON
 * object holding one fresh nonce from GET /ehttpd/mp/nonce. Registration
 * (typ mp-register+jwt, key from the body) and client tokens (typ
 * mp-token+jwt, key found by its thumbprint in `kid`) share this code.
 */

#define EH_MP_PROOF_DEPTH 4

/* exactly the members named in @members, plus any of @optional */
gboolean
eh_mp_json_check_members (JsonObject *object, const char *const *members,
                          const char *const *optional, const char *what, GError **error)
{
  g_autoptr (GList) names = json_object_get_members (object);

  for (GList *l = names; l != NULL; l = l->next) {
    if (!g_strv_contains (members, l->data) &&
        (optional == NULL || !g_strv_contains (optional, l->data))) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: unknown member \"%.32s\"",
                   what, (const char *) l->data);
      return FALSE;
    }
  }
  for (guint i = 0; members[i] != NULL; i++) {
    if (!json_object_has_member (object, members[i])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: \"%s\" is missing", what,
                   members[i]);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
eh_mp_json_get_string (JsonObject *object, const char *member, const char *what, const char **out,
                       GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: \"%s\" must be a string", what,
                 member);
    return FALSE;
  }
  *out = json_node_get_string (node);
  return TRUE;
}

JsonNode *
eh_mp_proof_verify (const char *proof, const char *typ, EhJwsKeyLookupFunc lookup,
                    gpointer user_data, const char *const *members, GError **error)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonObject *claims;

  if (!eh_jws_verify (proof, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_MP_PROOF_ALGS, typ, lookup,
                      user_data, NULL, &payload, &local)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "the proof of possession does not verify with the client's key: %s",
                 local->message);
    return NULL;
  }
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_MP_PROOF_DEPTH, &local);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the proof's payload is not a JSON object");
    return NULL;
  }
  claims = json_node_get_object (node);
  if (!eh_mp_json_check_members (claims, members, NULL, "proof", error))
    return NULL;
  for (guint i = 0; members[i] != NULL; i++) {
    const char *value = NULL;

    if (!eh_mp_json_get_string (claims, members[i], "proof", &value, error))
      return NULL;
  }
  return g_steal_pointer (&node);
}

gboolean
eh_mp_proof_consume_nonce (JsonNode *claims, EhMpNonces *nonces, GError **error)
{
  const char *nonce = json_object_get_string_member (json_node_get_object (claims), "nonce");

  return eh_mp_nonces_consume (nonces, nonce, error);
}

gnutls_pubkey_t
eh_mp_pubkey_copy (gnutls_pubkey_t key, GError **error)
{
  gnutls_datum_t der = { NULL, 0 };
  gnutls_pubkey_t copy = NULL;
  int ret;

  ret = gnutls_pubkey_export2 (key, GNUTLS_X509_FMT_DER, &der);
  if (ret >= 0 && (ret = gnutls_pubkey_init (&copy)) >= 0)
    ret = gnutls_pubkey_import (copy, &der, GNUTLS_X509_FMT_DER);
  gnutls_free (der.data);
  if (ret < 0) {
    if (copy != NULL)
      gnutls_pubkey_deinit (copy);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot copy a public key");
    return NULL;
  }
  return copy;
}
