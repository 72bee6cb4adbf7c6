/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * GET /ehttpd/mp/policy        Bearer client token → the client's policy
 *                              assignments, a JWS (typ policy+jwt) signed
 *                              with the site signing key over the bus
 * GET /ehttpd/mp/policy/<id>   Bearer client token → one assignment's body
 * Both HTTPS only, in every mode.
 */

#define EH_MP_POLICY_SIGN_TIMEOUT_MS 10000

/* user-centric: what is offered to a user (action "available") needs a
 * client token exchanged for an Entra user token; everything else is
 * device-centric and goes to any approved client */
static gboolean
eh_mp_policy_is_user_centric (const EhMpDeployment *deployment)
{
  return g_strcmp0 (deployment->action, "available") == 0;
}

static gboolean
eh_mp_policy_for_user (const EhMpEntraIdentity *entra)
{
  return entra != NULL && entra->kind == EH_MP_ENTRA_USER;
}

typedef struct {
  EhMpPaused paused;
  char *client_guid;
} EhMpPolicyCall;

static void
eh_mp_policy_call_free (EhMpPolicyCall *call)
{
  eh_mp_paused_finish (&call->paused);
  g_free (call->client_guid);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpPolicyCall, eh_mp_policy_call_free)

static void
eh_mp_policy_signed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (EhMpPolicyCall) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);
  const char *jws = NULL;

  if (reply == NULL || !g_variant_lookup (reply, EH_KEY_JWS, "&s", &jws)) {
    g_warning ("%s: policy for %s could not be signed: %s", call->paused.request_id, call->client_guid,
               error != NULL ? error->message : "no jws in the reply");
    eh_mp_http_message_refuse (call->paused.mp, call->paused.msg, call->paused.request_id,
                               EH_MP_REASON_POLICY_UNAVAILABLE,
                               call->client_guid, "the site could not sign policy now; try again later");
  } else {
    soup_message_headers_replace (soup_server_message_get_response_headers (call->paused.msg), "Cache-Control",
                                  "no-store");
    soup_server_message_set_status (call->paused.msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response (call->paused.msg, "application/jose", SOUP_MEMORY_COPY, jws,
                                      strlen (jws));
  }
}

static void
eh_mp_http_policy (EhRequest *request, EhMp *mp, const EhMpClient *client, const EhMpEntraIdentity *entra)
{
  g_autoptr (GPtrArray) deployments = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *payload = NULL;
  EhMpPolicyCall *call;
  GVariantDict sign;

  if (mp->site_code == NULL) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_SITE_UNAVAILABLE, NULL,
                       "this MP does not know its site yet; try again shortly");
    return;
  }
  deployments = eh_mp_deployments_for_client (mp->store, client->guid, &error);
  if (deployments == NULL) {
    g_warning ("%s: deployments could not be read: %s", eh_request_get_id (request), error->message);
    eh_mp_http_refuse (mp, request, EH_MP_REASON_STORE_FAILED, NULL,
                       "policy could not be read; try again later");
    return;
  }
  for (guint i = deployments->len; i > 0; i--) {
    if (eh_mp_policy_is_user_centric (g_ptr_array_index (deployments, i - 1)) && !eh_mp_policy_for_user (entra))
      g_ptr_array_remove_index (deployments, i - 1);
  }
  payload = eh_mp_policy_payload (mp->site_code, client->guid, deployments,
                                  g_get_real_time () / G_USEC_PER_SEC);
  call = g_new0 (EhMpPolicyCall, 1);
  eh_mp_paused_init (&call->paused, mp, request);
  call->client_guid = g_strdup (client->guid);
  g_variant_dict_init (&sign, NULL);
  g_variant_dict_insert_value (&sign, EH_KEY_PAYLOAD,
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, payload, strlen (payload), 1));
  g_variant_dict_insert (&sign, EH_KEY_TYP, "s", EH_MP_POLICY_TYP);
  g_info ("%s: policy for %s: %u assignment(s)", call->paused.request_id, client->guid, deployments->len);
  eh_bus_request (mp->bus, EH_TOPIC_CA_SITE_SIGNING_SIGN, g_variant_dict_end (&sign),
                  EH_MP_POLICY_SIGN_TIMEOUT_MS, mp->policy_cancellable, eh_mp_policy_signed, call);
}

static void
eh_mp_http_policy_body (EhRequest *request, EhMp *mp, const EhMpClient *client, const EhMpEntraIdentity *entra,
                        const char *id)
{
  g_autoptr (GPtrArray) deployments = NULL;
  g_autoptr (GError) error = NULL;

  /* only an assignment that targets this client, looked up by an exact GUID */
  if (!g_uuid_string_is_valid (id)) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_ASSIGNMENT_UNKNOWN, client->guid, "no such assignment");
    return;
  }
  deployments = eh_mp_deployments_for_client (mp->store, client->guid, &error);
  if (deployments == NULL) {
    g_warning ("%s: deployments could not be read: %s", eh_request_get_id (request), error->message);
    eh_mp_http_refuse (mp, request, EH_MP_REASON_STORE_FAILED, NULL,
                       "policy could not be read; try again later");
    return;
  }
  for (guint i = 0; i < deployments->len; i++) {
    const EhMpDeployment *deployment = g_ptr_array_index (deployments, i);

    if (g_ascii_strcasecmp (deployment->id, id) != 0)
      continue;
    if (eh_mp_policy_is_user_centric (deployment) && !eh_mp_policy_for_user (entra))
      eh_mp_http_refuse (mp, request, EH_MP_REASON_USER_TOKEN_REQUIRED, client->guid,
                         "this assignment is offered to users: exchange an Entra user token first (POST /ehttpd/mp/sts)");
    else
      eh_mp_http_json (request, SOUP_STATUS_OK, deployment->body);
    return;
  }
  eh_mp_http_refuse (mp, request, EH_MP_REASON_ASSIGNMENT_UNKNOWN, client->guid,
                     "no such assignment for this client");
}

static void
eh_mp_http_policy_route (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  const char *subpath = eh_request_get_subpath (request);
  g_autoptr (EhMpEntraIdentity) entra = NULL;
  g_autoptr (EhMpClient) client = eh_mp_token_http_authenticate (mp, request, &entra);

  if (client == NULL)
    return;
  if (subpath[0] == '\0')
    eh_mp_http_policy (request, mp, client, entra);
  else
    eh_mp_http_policy_body (request, mp, client, entra, subpath + 1);
}

gboolean
eh_mp_policy_http_start (EhMp *mp, GError **error)
{
  const EhEndpoint endpoint = { "GET", EH_MP_HTTP_PREFIX "/policy", EH_SCHEME_HTTPS, 0,
                                eh_mp_http_policy_route };

  mp->policy_cancellable = g_cancellable_new ();
  return eh_plugin_add_endpoint (mp->plugin, &endpoint, mp, error);
}

void
eh_mp_policy_http_stop (EhMp *mp)
{
  if (mp->policy_cancellable != NULL)
    g_cancellable_cancel (mp->policy_cancellable);
  g_clear_object (&mp->policy_cancellable);
}
