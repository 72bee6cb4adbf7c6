/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Why the MP refused a request: one table of stable reason codes (the
 * code in the JSON body and the log line, the HTTP status, and the rule in
 * words for `ehttpctl explain`), and a bounded memory of recent refusals
 * keyed by the front's request id. The memory is a ring in RAM: a restart
 * forgets it, the log lines stay.
 */

/* Configuration Manager's name for a refused token exchange */
#define EH_MP_STS_ERROR "Un-authorizedrequest"

static const EhMpReasonInfo eh_mp_reasons[] = {
  [EH_MP_REASON_INVALID_REQUEST] = { "invalid_request", 400, NULL,
    "the request body or path must follow the documented grammar (strict JSON, known members, valid names)" },
  [EH_MP_REASON_INVALID_PROOF] = { "invalid_proof", 400, NULL,
    "a proof of possession must be a JWS by the client's own key over one fresh, unused nonce from this MP" },
  [EH_MP_REASON_CLIENT_UNKNOWN] = { "client_unknown", 403, NULL,
    "a token is issued only for a key that is registered with this site" },
  [EH_MP_REASON_CLIENT_PENDING] = { "client_pending", 403, NULL,
    "a client gets tokens, policy and content only once an admin (or a bulk or Entra token) approved it" },
  [EH_MP_REASON_CLIENT_BLOCKED] = { "client_blocked", 403, NULL,
    "a blocked client gets nothing from any endpoint" },
  [EH_MP_REASON_BULK_TOKEN_INVALID] = { "bulk_token_invalid", 403, NULL,
    "a bulk registration token must be one this MP issued (only its hash is kept)" },
  [EH_MP_REASON_BULK_TOKEN_EXPIRED] = { "bulk_token_expired", 403, NULL,
    "a bulk registration token is accepted only until its expiry (3 days by default, 7 at most)" },
  [EH_MP_REASON_BULK_TOKEN_BLOCKED] = { "bulk_token_blocked", 403, NULL,
    "a bulk registration token blocked by an admin is refused until it is unblocked" },
  [EH_MP_REASON_BULK_TOKEN_EXHAUSTED] = { "bulk_token_exhausted", 403, NULL,
    "a bulk registration token is accepted at most --max-uses times" },
  [EH_MP_REASON_TOKEN_REQUIRED] = { "token_required", 401, NULL,
    "this call needs a client token in Authorization: Bearer" },
  [EH_MP_REASON_INVALID_TOKEN] = { "invalid_token", 401, NULL,
    "a client token must verify (ES256 by this MP's token signing certificate, typ client+jwt, site iss and aud, "
    "exp/nbf within 60 s, cnf bound to the registered key)" },
  [EH_MP_REASON_USER_TOKEN_REQUIRED] = { "user_token_required", 403, NULL,
    "user-centric requests (assignments with action available) need a client token exchanged for an Entra user token" },
  [EH_MP_REASON_ASSIGNMENT_UNKNOWN] = { "assignment_unknown", 404, NULL,
    "a policy body is served only for an assignment that targets this client" },
  [EH_MP_REASON_CONTENT_NOT_LOCATED] = { "content_not_located", 404, NULL,
    "content is located only on DPs that reported it installed" },
  [EH_MP_REASON_ENTRA_NOT_CONFIGURED] = { "entra_not_configured", 403, EH_MP_STS_ERROR,
    "the Entra exchange needs [mp] entra-tenants, entra-audience and entra-jwks" },
  [EH_MP_REASON_ENTRA_TOKEN_INVALID] = { "entra_token_invalid", 401, EH_MP_STS_ERROR,
    "an Entra token must be a compact JWS signed RS256 (2048-bit keys or more) by a key of the configured JWKS" },
  [EH_MP_REASON_ENTRA_KEY_UNKNOWN] = { "entra_key_unknown", 401, EH_MP_STS_ERROR,
    "an Entra token's kid must name a key of the configured JWKS (refreshed on an unknown kid at most once per "
    "entra-jwks-refresh seconds)" },
  [EH_MP_REASON_ENTRA_WRONG_TENANT] = { "entra_wrong_tenant", 401, EH_MP_STS_ERROR,
    "an Entra token's iss must be https://login.microsoftonline.com/<tid>/v2.0 or https://sts.windows.net/<tid>/ "
    "of a configured tenant, and tid that tenant" },
  [EH_MP_REASON_ENTRA_WRONG_AUDIENCE] = { "entra_wrong_audience", 401, EH_MP_STS_ERROR,
    "an Entra token's aud must be the configured entra-audience" },
  [EH_MP_REASON_ENTRA_EXPIRED] = { "entra_token_expired", 401, EH_MP_STS_ERROR,
    "an Entra token is accepted from nbf to exp, with at most 60 s of leeway" },
  [EH_MP_REASON_USER_NOT_DISCOVERED] = { "user_not_discovered", 403, EH_MP_STS_ERROR,
    "an Entra user (tid + oid) must be discovered: imported with ehttpctl discovery import" },
  [EH_MP_REASON_DEVICE_NOT_DISCOVERED] = { "device_not_discovered", 403, EH_MP_STS_ERROR,
    "an Entra device (tid + device id) must be discovered: imported with ehttpctl discovery import" },
  [EH_MP_REASON_PROOF_STALE] = { "proof_stale", 400, NULL,
    "a self-timed proof's iat must be within proof-window seconds of the MP's clock; a client with another time "
    "uses a nonce" },
  [EH_MP_REASON_BUSY] = { "busy", 503, NULL,
    "at most max-nonces nonces, and max-self-timed-proofs self-timed proofs, are outstanding at once" },
  [EH_MP_REASON_SITE_UNAVAILABLE] = { "site_unavailable", 503, NULL,
    "the MP answers once it has the site's trust bundle" },
  [EH_MP_REASON_STORE_FAILED] = { "store_failed", 500, NULL,
    "nothing is answered that could not be recorded durably" },
  [EH_MP_REASON_TOKEN_KEY_UNAVAILABLE] = { "token_key_unavailable", 503, NULL,
    "tokens are signed only once this MP has a token signing certificate" },
  [EH_MP_REASON_TOKEN_FAILED] = { "token_failed", 500, NULL,
    "a token that could not be signed is not answered" },
  [EH_MP_REASON_POLICY_UNAVAILABLE] = { "policy_unavailable", 503, NULL,
    "policy is answered only signed by the site signing key" },
  [EH_MP_REASON_UNAVAILABLE] = { "unavailable", 503, NULL,
    "the MP could not check the request now" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (eh_mp_reasons) == EH_MP_REASON_LAST);

const EhMpReasonInfo *
eh_mp_reason_info (EhMpReason reason)
{
  g_return_val_if_fail (reason < EH_MP_REASON_LAST, &eh_mp_reasons[EH_MP_REASON_UNAVAILABLE]);
  return &eh_mp_reasons[reason];
}

gboolean
eh_mp_reason_from_code (const char *code, EhMpReason *reason)
{
  for (guint i = 0; i < EH_MP_REASON_LAST; i++) {
    if (g_strcmp0 (code, eh_mp_reasons[i].code) == 0) {
      *reason = i;
      return TRUE;
    }
  }
  return FALSE;
}

/* ── the memory of recent refusals ─────────────────────────────────────── */

void
eh_mp_denial_free (EhMpDenial *denial)
{
  if (denial == NULL)
    return;
  g_free (denial->request_id);
  g_free (denial->subject);
  g_free (denial->path);
  g_free (denial->message);
  g_free (denial);
}

struct _EhMpDenials {
  GQueue ring;       /* EhMpDenial, oldest first */
  GHashTable *by_id; /* request id → EhMpDenial (owned by ring) */
  guint cap;
};

EhMpDenials *
eh_mp_denials_new (guint cap)
{
  EhMpDenials *denials = g_new0 (EhMpDenials, 1);

  g_queue_init (&denials->ring);
  denials->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  denials->cap = MAX (cap, 1);
  return denials;
}

void
eh_mp_denials_free (EhMpDenials *denials)
{
  if (denials == NULL)
    return;
  g_hash_table_unref (denials->by_id);
  g_queue_clear_full (&denials->ring, (GDestroyNotify) eh_mp_denial_free);
  g_free (denials);
}

void
eh_mp_denials_add (EhMpDenials *denials, const char *request_id, EhMpReason reason,
                   const char *subject, const char *path, const char *message, gint64 when)
{
  EhMpDenial *denial;

  if (denials == NULL || request_id == NULL)
    return;
  while (g_queue_get_length (&denials->ring) >= denials->cap) {
    EhMpDenial *oldest = g_queue_pop_head (&denials->ring);

    if (g_hash_table_lookup (denials->by_id, oldest->request_id) == oldest)
      g_hash_table_remove (denials->by_id, oldest->request_id);
    eh_mp_denial_free (oldest);
  }
  denial = g_new0 (EhMpDenial, 1);
  denial->request_id = g_strdup (request_id);
  denial->reason = reason;
  denial->subject = g_strdup (subject);
  denial->path = g_strdup (path);
  denial->message = g_strdup (message);
  denial->when = when;
  g_queue_push_tail (&denials->ring, denial);
  g_hash_table_replace (denials->by_id, denial->request_id, denial);
}

const EhMpDenial *
eh_mp_denials_find (EhMpDenials *denials, const char *request_id)
{
  return denials != NULL && request_id != NULL ? g_hash_table_lookup (denials->by_id, request_id) : NULL;
}

guint
eh_mp_denials_count (EhMpDenials *denials)
{
  return denials != NULL ? g_queue_get_length (&denials->ring) : 0;
}
