/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Proofs of possession: a compact JWS by the client's key over a small JSON
 * object holding one fresh nonce from GET /ehttpd/mp/nonce, or a self-timed
 * {"jti", "iat"}. Registration (typ mp-register+jwt, key from the body) and
 * client tokens (typ mp-token+jwt, key found by its thumbprint in `kid`)
 * share this code.
 */

#define EH_MP_PROOF_DEPTH 4
#define EH_MP_JTI_MIN 16
#define EH_MP_JTI_MAX 64

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
  if (members == NULL)
    return g_steal_pointer (&node);
  if (!eh_mp_json_check_members (claims, members, NULL, "proof", error))
    return NULL;
  for (guint i = 0; members[i] != NULL; i++) {
    const char *value = NULL;

    if (!eh_mp_json_get_string (claims, members[i], "proof", &value, error))
      return NULL;
  }
  return g_steal_pointer (&node);
}

/* a jti: 16 to 64 base64url characters (at least 96 random bits) */
static gboolean
eh_mp_jti_is_valid (const char *jti)
{
  return eh_text_is_word (jti, EH_MP_JTI_MIN, EH_MP_JTI_MAX, "-_");
}

/*
 * The freshness of a proof whose signature holds, for registration and
 * tokens alike: {"nonce"} from GET nonce (consumed), or {"jti", "iat"},
 * self-timed (accepted once, within [mp] proof-window seconds of this MP's
 * clock: eh-mp-replay.c), besides the caller's @bound members.
 */
gboolean
eh_mp_proof_accept (JsonNode *claims, const char *const *bound, EhMpNonces *nonces, EhMpReplay *replay,
                    GError **error)
{
  static const char *const nonce_members[] = { "nonce", NULL };
  static const char *const timed_members[] = { "jti", "iat", NULL };
  JsonObject *object = json_node_get_object (claims);
  JsonNode *iat = json_object_get_member (object, "iat");
  const char *jti = NULL;

  if (json_object_has_member (object, "nonce")) {
    const char *nonce = NULL;

    return eh_mp_json_check_members (object, nonce_members, bound, "proof", error) &&
           eh_mp_json_get_string (object, "nonce", "proof", &nonce, error) &&
           eh_mp_nonces_consume (nonces, nonce, error);
  }
  if (!eh_mp_json_check_members (object, timed_members, bound, "proof", error) ||
      !eh_mp_json_get_string (object, "jti", "proof", &jti, error))
    return FALSE;
  if (!eh_mp_jti_is_valid (jti) || !JSON_NODE_HOLDS_VALUE (iat) || json_node_get_value_type (iat) != G_TYPE_INT64) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "a self-timed proof holds jti (16 to 64 base64url characters) and iat (an integer, Unix seconds)");
    return FALSE;
  }
  if (replay == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "a self-timed proof is not accepted here; use a nonce");
    return FALSE;
  }
  return eh_mp_replay_accept (replay, jti, json_node_get_int (iat), error);
}

/* how a refused proof is answered: a clock too far off asks for a nonce
 * (proof_stale), a full replay guard is busy, the rest an invalid proof */
EhMpReason
eh_mp_proof_refusal_reason (const GError *error)
{
  if (g_error_matches (error, EH_ERROR, EH_ERROR_UNAVAILABLE))
    return EH_MP_REASON_BUSY;
  if (g_error_matches (error, EH_ERROR, EH_ERROR_TIMEOUT))
    return EH_MP_REASON_PROOF_STALE;
  return EH_MP_REASON_INVALID_PROOF;
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

/*
 * Off the main loop: a proof's signature check (a P-256 verification is
 * ~150 µs, most of what a token request costs the MP) runs in the mp's
 * workers while the main loop serves other connections; the caller found
 * the key on the main loop (the store is the main loop's) and does
 * everything after (nonce, state, answer) there too.
 */

typedef struct {
  char *proof;
  const char *typ;
  gnutls_pubkey_t key; /* given to eh_jws_verify by the lookup */
  EhJwsAlg alg;
  char *kid; /* nullable: the header's kid must be this */
  const char *const *members;
  EhMpWorkFunc also;
  EhMpProofVerified callback;
  gpointer user_data;
  JsonNode *claims;
  GError *error;
} EhMpProofJob;

static gnutls_pubkey_t
eh_mp_proof_job_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhMpProofJob *job = user_data;
  gnutls_pubkey_t key = job->key;
  const char *kid = NULL;

  if (job->kid != NULL &&
      (!json_object_has_member (header, "kid") ||
       !eh_json_object_get_string_checked (header, "kid", &kid, NULL) || g_strcmp0 (kid, job->kid) != 0)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the proof's kid is not the key it was looked up by");
    return NULL;
  }
  job->key = NULL;
  *alg = job->alg;
  return key;
}

JsonNode *
eh_mp_proof_verify_with_key (const char *proof, const char *typ, gnutls_pubkey_t key, EhJwsAlg alg, const char *kid,
                             const char *const *members, GError **error)
{
  EhMpProofJob job = { .key = key, .alg = alg, .kid = (char *) kid };
  JsonNode *claims = eh_mp_proof_verify (proof, typ, eh_mp_proof_job_lookup, &job, members, error);

  if (job.key != NULL)
    gnutls_pubkey_deinit (job.key);
  return claims;
}

/* in a worker */
static void
eh_mp_proof_job_run (gpointer data)
{
  EhMpProofJob *job = data;

  job->claims = eh_mp_proof_verify_with_key (job->proof, job->typ, g_steal_pointer (&job->key), job->alg, job->kid,
                                             job->members, &job->error);
  if (job->claims != NULL && job->also != NULL)
    job->also (job->user_data);
}

/* on the main loop */
static void
eh_mp_proof_job_done (gpointer data)
{
  EhMpProofJob *job = data;

  job->callback (g_steal_pointer (&job->claims), job->error, job->user_data);
  g_clear_error (&job->error);
  g_free (job->proof);
  if (job->key != NULL)
    gnutls_pubkey_deinit (job->key);
  g_free (job->kid);
  g_free (job);
}

void
eh_mp_proof_verify_async (EhMpWorkers *workers, const char *proof, const char *typ, gnutls_pubkey_t key,
                          EhJwsAlg alg, const char *kid, const char *const *members, EhMpWorkFunc also,
                          EhMpProofVerified callback, gpointer user_data)
{
  EhMpProofJob *job = g_new0 (EhMpProofJob, 1);

  job->proof = g_strdup (proof);
  job->typ = typ;
  job->key = key;
  job->alg = alg;
  job->kid = g_strdup (kid);
  job->members = members;
  job->also = also;
  job->callback = callback;
  job->user_data = user_data;
  eh_mp_workers_push (workers, eh_mp_proof_job_run, eh_mp_proof_job_done, job);
}

/* the header's kid, read before any check (a lookup key only: the
 * signature check later requires the very same kid) */
char *
eh_mp_proof_peek_kid (const char *proof, GError **error)
{
  const char *dot = strchr (proof, '.');
  g_autoptr (GBytes) header = NULL;
  g_autoptr (JsonNode) node = NULL;
  const char *kid = NULL;

  if (dot != NULL)
    header = eh_base64url_decode (proof, dot - proof, EH_MP_PROOF_HEADER_MAX, NULL);
  if (header != NULL)
    node = eh_json_parse_strict (g_bytes_get_data (header, NULL), g_bytes_get_size (header),
                                 EH_MP_PROOF_HEADER_MAX, 2, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !json_object_has_member (json_node_get_object (node), "kid") ||
      !eh_json_object_get_string_checked (json_node_get_object (node), "kid", &kid, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "the proof must be a compact JWS whose header names the registered key's thumbprint in kid");
    return NULL;
  }
  return g_strdup (kid);
}
