/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-mp.h"

/*
 * POST /ehttpd/mp/sts (and /CCM_STS, the path Configuration Manager's
 * clients know; the body is ours): a registered, approved client trades an
 * Entra token for a client token carrying the Entra identity.
 *   body {"entra_token": JWS, "proof": JWS}: the proof is the same as for
 *   POST /ehttpd/mp/token (typ mp-token+jwt by the client's key, kid, one
 *   fresh nonce), so the client token stays bound to a key the client
 *   holds and a stolen Entra token alone gets nothing.
 * HTTPS only, in every mode. Refusals of the Entra token answer
 * {"error": "Un-authorizedrequest", "reason": …}.
 */

static const char *const eh_mp_sts_members[] = { "entra_token", "proof", NULL };

typedef struct {
  EhMpPaused paused;
  EhMpClient *client;
} EhMpStsCall;

static void
eh_mp_sts_call_free (EhMpStsCall *call)
{
  eh_mp_paused_finish (&call->paused);
  eh_mp_client_free (call->client);
  g_free (call);
}

static void
eh_mp_sts_verified (const EhMpEntraIdentity *identity, EhMpReason reason, const char *message, gpointer user_data)
{
  EhMpStsCall *call = user_data;
  g_autofree char *subject = identity != NULL ? eh_mp_entra_identity_describe (identity) : NULL;

  if (reason != EH_MP_REASON_LAST)
    eh_mp_http_message_refuse (call->paused.mp, call->paused.msg, call->paused.request_id, reason,
                               subject != NULL ? subject : call->client->guid, message);
  else
    eh_mp_token_http_answer (&call->paused, call->client, identity);
  eh_mp_sts_call_free (call);
}

/* the proof holds: now the Entra token, with the request kept paused */
static void
eh_mp_sts_proved (EhMpPaused *paused, EhMpClient *client, gpointer user_data)
{
  g_autofree char *entra_token = user_data;
  EhMpStsCall *call;

  if (client == NULL)
    return;
  call = g_new0 (EhMpStsCall, 1);
  call->paused = *paused;
  paused->msg = NULL;
  paused->request_id = NULL;
  call->client = client;
  eh_mp_entra_verify (call->paused.mp, entra_token, eh_mp_sts_verified, call);
}

static void
eh_mp_http_sts (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (JsonObject) body = NULL;

  body = eh_mp_token_http_read_body (mp, request, eh_mp_sts_members, EH_MP_MAX_STS_BYTES, "token exchange");
  if (body != NULL)
    eh_mp_token_http_check_proof (mp, request, json_object_get_string_member (body, "proof"), eh_mp_sts_proved,
                                  g_strdup (json_object_get_string_member (body, "entra_token")));
}

gboolean
eh_mp_sts_http_start (EhMp *mp, GError **error)
{
  const EhEndpoint endpoints[] = {
    { "POST", EH_MP_HTTP_PREFIX "/sts", EH_SCHEME_HTTPS, EH_MP_MAX_STS_BYTES, eh_mp_http_sts },
    { "POST", "/CCM_STS", EH_SCHEME_HTTPS, EH_MP_MAX_STS_BYTES, eh_mp_http_sts },
  };

  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (mp->plugin, &endpoints[i], mp, error))
      return FALSE;
  }
  return TRUE;
}
