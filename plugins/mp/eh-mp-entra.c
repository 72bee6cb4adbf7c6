/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Entra ID tokens, checked: compact JWS, RS256 only, the key found by
 * `kid` in the configured JWKS (a lookup, never a URL), issuer pinned to a
 * configured tenant (v2.0 https://login.microsoftonline.com/<tid>/v2.0 or
 * v1 https://sts.windows.net/<tid>/) with `tid` that same tenant, `aud` the
 * configured audience, `exp`/`nbf` with at most 60 s of leeway. Identity
 * is `tid` + `deviceid` for a device token (it carries `deviceid`), else
 * `tid` + `oid` for a user; e-mail, upn and names are never used.
 */

#define EH_MP_ENTRA_DEPTH 8
#define EH_MP_ENTRA_MAX_SID 184

static const char *const eh_mp_entra_kinds[] = { "user", "device" };

const char *
eh_mp_entra_kind_to_string (EhMpEntraKind kind)
{
  return eh_mp_entra_kinds[kind];
}

gboolean
eh_mp_entra_kind_from_string (const char *text, EhMpEntraKind *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_mp_entra_kinds); i++) {
    if (g_strcmp0 (text, eh_mp_entra_kinds[i]) == 0) {
      *kind = i;
      return TRUE;
    }
  }
  return FALSE;
}

void
eh_mp_entra_identity_free (EhMpEntraIdentity *identity)
{
  if (identity == NULL)
    return;
  g_free (identity->tenant_id);
  g_free (identity->object_id);
  g_free (identity->sid);
  g_free (identity);
}

char *
eh_mp_entra_identity_describe (const EhMpEntraIdentity *identity)
{
  return g_strdup_printf ("entra %s %s/%s", eh_mp_entra_kind_to_string (identity->kind), identity->tenant_id,
                          identity->object_id);
}

JsonObject *
eh_mp_entra_identity_to_claim (const EhMpEntraIdentity *identity)
{
  JsonObject *claim = json_object_new ();

  json_object_set_string_member (claim, "kind", eh_mp_entra_kind_to_string (identity->kind));
  json_object_set_string_member (claim, "tid", identity->tenant_id);
  json_object_set_string_member (claim, "id", identity->object_id);
  return claim;
}

EhMpEntraIdentity *
eh_mp_entra_identity_from_claim (JsonNode *claim)
{
  g_autoptr (EhMpEntraIdentity) identity = g_new0 (EhMpEntraIdentity, 1);
  const char *kind = NULL, *tid = NULL, *id = NULL;
  JsonObject *object;

  if (claim == NULL || !JSON_NODE_HOLDS_OBJECT (claim))
    return NULL;
  object = json_node_get_object (claim);
  if (!eh_json_object_get_string_checked (object, "kind", &kind, NULL) ||
      !eh_json_object_get_string_checked (object, "tid", &tid, NULL) ||
      !eh_json_object_get_string_checked (object, "id", &id, NULL) ||
      !eh_mp_entra_kind_from_string (kind, &identity->kind) || !g_uuid_string_is_valid (tid) ||
      !g_uuid_string_is_valid (id))
    return NULL;
  identity->tenant_id = g_ascii_strdown (tid, -1);
  identity->object_id = g_ascii_strdown (id, -1);
  return g_steal_pointer (&identity);
}

typedef struct {
  EhMpJwks *jwks;
  gboolean unknown_kid;
} EhMpEntraLookup;

/* kid names a key of our JWKS, nothing else */
static gnutls_pubkey_t
eh_mp_entra_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhMpEntraLookup *lookup = user_data;
  const char *kid = NULL;
  gnutls_pubkey_t key;

  if (!json_object_has_member (header, "kid") ||
      !eh_json_object_get_string_checked (header, "kid", &kid, NULL) || !eh_mp_entra_kid_is_valid (kid)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the Entra token names no key (kid)");
    return NULL;
  }
  key = eh_mp_jwks_lookup (lookup->jwks, kid);
  if (key == NULL) {
    lookup->unknown_kid = TRUE;
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "kid \"%s\" is not in the Entra JWKS", kid);
    return NULL;
  }
  *alg = EH_JWS_ALG_RS256;
  return eh_mp_pubkey_copy (key, error);
}

static gboolean
eh_mp_entra_fail (EhMpReason *reason, EhMpReason code, GError **error, const char *message)
{
  *reason = code;
  g_set_error_literal (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, message);
  return FALSE;
}

/* a GUID claim, lower-cased; NULL when absent or not a GUID */
static char *
eh_mp_entra_guid_claim (JsonObject *claims, const char *member)
{
  const char *text = NULL;

  if (!json_object_has_member (claims, member) ||
      !eh_json_object_get_string_checked (claims, member, &text, NULL) || !g_uuid_string_is_valid (text))
    return NULL;
  return g_ascii_strdown (text, -1);
}

static gboolean
eh_mp_entra_check_tenant (JsonObject *claims, const char *const *tenants, char **tid_out,
                          EhMpReason *reason, GError **error)
{
  g_autofree char *tid = eh_mp_entra_guid_claim (claims, "tid");
  g_autofree char *v2 = NULL;
  g_autofree char *v1 = NULL;
  const char *iss = NULL;

  if (tid == NULL || !json_object_has_member (claims, "iss") ||
      !eh_json_object_get_string_checked (claims, "iss", &iss, NULL))
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_WRONG_TENANT, error,
                             "the Entra token has no tenant (tid) or issuer (iss)");
  if (tenants == NULL || !g_strv_contains (tenants, tid))
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_WRONG_TENANT, error,
                             "the Entra token is from a tenant this site does not trust");
  v2 = g_strdup_printf ("https://login.microsoftonline.com/%s/v2.0", tid);
  v1 = g_strdup_printf ("https://sts.windows.net/%s/", tid);
  if (strcmp (iss, v2) != 0 && strcmp (iss, v1) != 0)
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_WRONG_TENANT, error,
                             "the Entra token's issuer is not its tenant's");
  *tid_out = g_steal_pointer (&tid);
  return TRUE;
}

static gboolean
eh_mp_entra_check_audience (JsonObject *claims, const char *audience, EhMpReason *reason, GError **error)
{
  const char *aud = NULL;

  /* Entra writes one audience, a string */
  if (!json_object_has_member (claims, "aud") ||
      !eh_json_object_get_string_checked (claims, "aud", &aud, NULL) || g_strcmp0 (aud, audience) != 0)
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_WRONG_AUDIENCE, error,
                             "the Entra token is not meant for this site (aud)");
  return TRUE;
}

static gboolean
eh_mp_entra_check_lifetime (JsonObject *claims, gint64 now, EhMpReason *reason, GError **error)
{
  gint64 exp = 0, nbf = 0;

  if (!json_object_has_member (claims, "exp") || !eh_json_object_get_int_checked (claims, "exp", &exp, NULL) ||
      (json_object_has_member (claims, "nbf") && !eh_json_object_get_int_checked (claims, "nbf", &nbf, NULL)))
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_TOKEN_INVALID, error,
                             "the Entra token's exp and nbf must be integers");
  if (exp + EH_MP_TOKEN_LEEWAY_SECONDS <= now)
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_EXPIRED, error, "the Entra token has expired");
  if (nbf - EH_MP_TOKEN_LEEWAY_SECONDS > now)
    return eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_EXPIRED, error, "the Entra token is not valid yet");
  return TRUE;
}

/* S-1-5-21-…: digits and dashes only, so it can go in a log line */
static char *
eh_mp_entra_sid_claim (JsonObject *claims)
{
  const char *sid = NULL;

  if (!json_object_has_member (claims, "onprem_sid") ||
      !eh_json_object_get_string_checked (claims, "onprem_sid", &sid, NULL) ||
      !eh_mp_entra_sid_is_valid (sid))
    return NULL;
  return g_strdup (sid);
}

gboolean
eh_mp_entra_sid_is_valid (const char *sid)
{
  gsize len = strlen (sid);

  if (len < 4 || len > EH_MP_ENTRA_MAX_SID || strncmp (sid, "S-1-", 4) != 0)
    return FALSE;
  for (gsize i = 4; i < len; i++) {
    if (!g_ascii_isdigit (sid[i]) && sid[i] != '-')
      return FALSE;
  }
  return TRUE;
}

static EhMpEntraIdentity *
eh_mp_entra_claims_check (JsonObject *claims, const char *const *tenants, const char *audience, gint64 now,
                          EhMpReason *reason, GError **error)
{
  g_autoptr (EhMpEntraIdentity) identity = g_new0 (EhMpEntraIdentity, 1);

  if (!eh_mp_entra_check_tenant (claims, tenants, &identity->tenant_id, reason, error) ||
      !eh_mp_entra_check_audience (claims, audience, reason, error) ||
      !eh_mp_entra_check_lifetime (claims, now, reason, error))
    return NULL;
  if (json_object_has_member (claims, "deviceid")) {
    identity->kind = EH_MP_ENTRA_DEVICE;
    identity->object_id = eh_mp_entra_guid_claim (claims, "deviceid");
  } else {
    identity->kind = EH_MP_ENTRA_USER;
    identity->object_id = eh_mp_entra_guid_claim (claims, "oid");
    identity->sid = eh_mp_entra_sid_claim (claims);
  }
  if (identity->object_id == NULL) {
    eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_TOKEN_INVALID, error,
                      "the Entra token names no user (oid) or device (deviceid) as a GUID");
    return NULL;
  }
  return g_steal_pointer (&identity);
}

EhMpEntraIdentity *
eh_mp_entra_token_check (EhMpJwks *jwks, const char *const *tenants, const char *audience,
                         const char *token, gint64 now, EhMpReason *reason, GError **error)
{
  EhMpEntraLookup lookup = { jwks, FALSE };
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local = NULL;

  if (!eh_jws_verify (token, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_JWS_ALG_RS256, NULL, eh_mp_entra_lookup,
                      &lookup, NULL, &payload, &local)) {
    *reason = lookup.unknown_kid ? EH_MP_REASON_ENTRA_KEY_UNKNOWN : EH_MP_REASON_ENTRA_TOKEN_INVALID;
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the Entra token does not verify: %s",
                 local->message);
    return NULL;
  }
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               EH_JWS_DEFAULT_MAX_TOKEN_BYTES, EH_MP_ENTRA_DEPTH, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    eh_mp_entra_fail (reason, EH_MP_REASON_ENTRA_TOKEN_INVALID, error,
                      "the Entra token's claims are not a strict JSON object");
    return NULL;
  }
  return eh_mp_entra_claims_check (json_node_get_object (node), tenants, audience, now, reason, error);
}
