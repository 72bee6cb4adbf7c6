/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * A registration request, checked as hostile input:
 *
 *   { "jwk": { public EC P-256 or Ed25519 JWK },
 *     "host_name": "pc1.example", "hardware_id": "…",
 *     "proof": "<compact JWS>" }
 *
 * The proof is signed by the key in "jwk" (typ mp-register+jwt, ES256 or
 * EdDSA) over {"nonce": from GET /ehttpd/mp/nonce, "host_name", "hardware_id"}
 * equal to the body's, so it proves possession of the key and binds it to
 * this request and to one fresh nonce; or self-timed, {"jti", "iat",
 * "host_name", "hardware_id"}, accepted once as a token's (eh-mp-replay.c),
 * so a registration is one request.
 */

#define EH_MP_JSON_DEPTH 4

static const char *const eh_mp_register_members[] = { "jwk", "host_name", "hardware_id", "proof", NULL };
static const char *const eh_mp_register_optional[] = { "bulk_token", "entra_token", NULL };
static const char *const eh_mp_registration_proof_bound[] = { "host_name", "hardware_id", NULL };

void
eh_mp_registration_free (EhMpRegistration *registration)
{
  if (registration == NULL)
    return;
  g_free (registration->host_name);
  g_free (registration->hardware_id);
  g_free (registration->thumbprint);
  g_free (registration->jwk_json);
  g_free (registration->bulk_token);
  g_free (registration->entra_token);
  g_free (registration->proof);
  if (registration->key != NULL)
    gnutls_pubkey_deinit (registration->key);
  g_free (registration);
}

/* DNS-like: labels of letters, digits and '-', 1–63 each, 253 in all */
gboolean
eh_mp_host_name_is_valid (const char *name)
{
  gsize len = strlen (name), label = 0;

  if (len == 0 || len > EH_MP_MAX_HOST_NAME || name[0] == '.' || name[len - 1] == '.')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (*p == '.') {
      if (label == 0)
        return FALSE;
      label = 0;
    } else if (g_ascii_isalnum (*p) || (*p == '-' && label > 0 && p[1] != '.' && p[1] != '\0')) {
      if (++label > 63)
        return FALSE;
    } else {
      return FALSE;
    }
  }
  return TRUE;
}

/* printable ASCII without spaces: SMBIOS UUIDs, serials, hashes of them */
gboolean
eh_mp_hardware_id_is_valid (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > EH_MP_MAX_HARDWARE_ID)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++) {
    if (*p <= 0x20 || *p >= 0x7f)
      return FALSE;
  }
  return TRUE;
}

typedef struct {
  gnutls_pubkey_t key;
  EhJwsAlg alg;
} EhMpProofKey;

/* the proof's key is the one in the request, whatever the header says */
static gnutls_pubkey_t
eh_mp_proof_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhMpProofKey *proof_key = user_data;

  *alg = proof_key->alg;
  return eh_mp_pubkey_copy (proof_key->key, error);
}

gboolean
eh_mp_registration_check_claims (EhMpRegistration *registration, JsonNode *claims, EhMpNonces *nonces,
                                 EhMpReplay *replay, GError **error)
{
  JsonObject *object = json_node_get_object (claims);
  const char *proof_host_name = NULL, *proof_hardware_id = NULL;
  char *host_name;

  if (!eh_mp_json_get_string (object, "host_name", "proof", &proof_host_name, error) ||
      !eh_mp_json_get_string (object, "hardware_id", "proof", &proof_hardware_id, error))
    return FALSE;
  if (strcmp (proof_host_name, registration->host_name) != 0 ||
      strcmp (proof_hardware_id, registration->hardware_id) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "the proof was made for another host name or hardware id");
    return FALSE;
  }
  if (!eh_mp_proof_accept (claims, eh_mp_registration_proof_bound, nonces, replay, error))
    return FALSE;
  /* the proof compares the host name as sent; it is stored lower-cased */
  host_name = g_ascii_strdown (registration->host_name, -1);
  g_free (registration->host_name);
  registration->host_name = host_name;
  return TRUE;
}

static gboolean
eh_mp_registration_read_key (JsonObject *body, EhMpRegistration *registration,
                             gnutls_pubkey_t *key, EhJwsAlg *alg, GError **error)
{
  JsonNode *jwk_node = json_object_get_member (body, "jwk");
  g_autoptr (JsonObject) canonical = NULL;
  g_autoptr (JsonNode) canonical_node = NULL;
  g_autoptr (GError) local = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (jwk_node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "\"jwk\" must be a JSON object");
    return FALSE;
  }
  *key = eh_jws_jwk_to_pubkey (json_node_get_object (jwk_node), EH_MP_PROOF_ALGS, alg, &local);
  if (*key == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "the client key must be a public ECDSA P-256 or Ed25519 JWK: %s", local->message);
    return FALSE;
  }
  registration->key_type = *alg == EH_JWS_ALG_ES256 ? "ecdsa-p256" : "ed25519";
  registration->thumbprint = eh_jws_pubkey_thumbprint (*key, error);
  canonical = eh_jws_pubkey_to_jwk (*key, error);
  if (registration->thumbprint == NULL || canonical == NULL)
    return FALSE;
  canonical_node = json_node_init_object (json_node_alloc (), canonical);
  registration->jwk_json = json_to_string (canonical_node, FALSE);
  return TRUE;
}

EhMpRegistration *
eh_mp_registration_read (const char *body, gsize len, GError **error)
{
  g_autoptr (EhMpRegistration) registration = g_new0 (EhMpRegistration, 1);
  g_autoptr (JsonNode) node = NULL;
  JsonObject *object;
  const char *host_name = NULL, *hardware_id = NULL, *proof = NULL;

  node = eh_json_parse_strict (body, len, EH_MP_MAX_REGISTER_BYTES, EH_MP_JSON_DEPTH, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the body must be a JSON object");
    return NULL;
  }
  object = json_node_get_object (node);
  if (!eh_mp_json_check_members (object, eh_mp_register_members, eh_mp_register_optional,
                                 "registration", error) ||
      !eh_mp_json_get_string (object, "host_name", "registration", &host_name, error) ||
      !eh_mp_json_get_string (object, "hardware_id", "registration", &hardware_id, error) ||
      !eh_mp_json_get_string (object, "proof", "registration", &proof, error))
    return NULL;
  if (json_object_has_member (object, "bulk_token")) {
    const char *bulk_token = NULL;

    if (!eh_mp_json_get_string (object, "bulk_token", "registration", &bulk_token, error))
      return NULL;
    if (!eh_mp_bulk_token_is_well_formed (bulk_token)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "\"bulk_token\" is not a bulk registration token");
      return NULL;
    }
    registration->bulk_token = g_strdup (bulk_token);
  }
  if (json_object_has_member (object, "entra_token")) {
    const char *entra_token = NULL;

    if (!eh_mp_json_get_string (object, "entra_token", "registration", &entra_token, error))
      return NULL;
    if (registration->bulk_token != NULL) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "a registration brings a bulk token or an Entra token, not both");
      return NULL;
    }
    registration->entra_token = g_strdup (entra_token);
  }
  if (!eh_mp_host_name_is_valid (host_name)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "\"host_name\" must be a DNS name (letters, digits, '-' and '.', at most %d characters)",
                 EH_MP_MAX_HOST_NAME);
    return NULL;
  }
  if (!eh_mp_hardware_id_is_valid (hardware_id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "\"hardware_id\" must be 1 to %d printable ASCII characters without spaces",
                 EH_MP_MAX_HARDWARE_ID);
    return NULL;
  }
  registration->host_name = g_strdup (host_name);
  registration->hardware_id = g_strdup (hardware_id);
  registration->proof = g_strdup (proof);
  if (!eh_mp_registration_read_key (object, registration, &registration->key, &registration->alg, error))
    return NULL;
  return g_steal_pointer (&registration);
}

EhMpRegistration *
eh_mp_registration_parse (const char *body, gsize len, EhMpNonces *nonces, GError **error)
{
  g_autoptr (EhMpRegistration) registration = eh_mp_registration_read (body, len, error);
  g_autoptr (JsonNode) claims = NULL;
  EhMpProofKey proof_key;

  if (registration == NULL)
    return NULL;
  proof_key = (EhMpProofKey) { registration->key, registration->alg };
  claims = eh_mp_proof_verify (registration->proof, EH_MP_PROOF_TYP, eh_mp_proof_lookup, &proof_key,
                               NULL, error);
  if (claims == NULL || !eh_mp_registration_check_claims (registration, claims, nonces, NULL, error))
    return NULL;
  return g_steal_pointer (&registration);
}
