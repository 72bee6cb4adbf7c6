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

typedef struct {
  SoupServerMessage *msg;
  char *request_id;
  char *client_guid;
} EhMpPolicyCall;

static void
eh_mp_policy_call_free (EhMpPolicyCall *call)
{
  g_object_unref (call->msg);
  g_free (call->request_id);
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
    g_warning ("%s: policy for %s could not be signed: %s", call->request_id, call->client_guid,
               error != NULL ? error->message : "no jws in the reply");
    eh_mp_http_message_refuse (call->msg, call->request_id, SOUP_STATUS_SERVICE_UNAVAILABLE,
                               "policy_unavailable", "the site could not sign policy now; try again later");
  } else {
    soup_message_headers_replace (soup_server_message_get_response_headers (call->msg), "Cache-Control",
                                  "no-store");
    soup_server_message_set_status (call->msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response (call->msg, "application/jose", SOUP_MEMORY_COPY, jws, strlen (jws));
  }
  soup_server_message_unpause (call->msg);
}

static void
eh_mp_http_policy (EhRequest *request, EhMp *mp, const EhMpClient *client)
{
  g_autoptr (GPtrArray) deployments = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *payload = NULL;
  EhMpPolicyCall *call;
  GVariantDict sign;

  if (mp->site_code == NULL) {
    eh_mp_http_refuse (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "site_unavailable",
                       "this MP does not know its site yet; try again shortly");
    return;
  }
  deployments = eh_mp_deployments_for_client (mp->store, client->guid, &error);
  if (deployments == NULL) {
    g_warning ("%s: deployments could not be read: %s", eh_request_get_id (request), error->message);
    eh_mp_http_refuse (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "store_failed",
                       "policy could not be read; try again later");
    return;
  }
  payload = eh_mp_policy_payload (mp->site_code, client->guid, deployments,
                                  g_get_real_time () / G_USEC_PER_SEC);
  call = g_new0 (EhMpPolicyCall, 1);
  call->msg = g_object_ref (eh_request_get_message (request));
  call->request_id = g_strdup (eh_request_get_id (request));
  call->client_guid = g_strdup (client->guid);
  soup_server_message_pause (call->msg);
  g_variant_dict_init (&sign, NULL);
  g_variant_dict_insert_value (&sign, EH_KEY_PAYLOAD,
                               g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, payload, strlen (payload), 1));
  g_variant_dict_insert (&sign, EH_KEY_TYP, "s", EH_MP_POLICY_TYP);
  g_info ("%s: policy for %s: %u assignment(s)", call->request_id, client->guid, deployments->len);
  eh_bus_request (mp->bus, EH_TOPIC_CA_SITE_SIGNING_SIGN, g_variant_dict_end (&sign),
                  EH_MP_POLICY_SIGN_TIMEOUT_MS, mp->policy_cancellable, eh_mp_policy_signed, call);
}

static void
eh_mp_http_policy_body (EhRequest *request, EhMp *mp, const EhMpClient *client, const char *id)
{
  g_autoptr (GPtrArray) deployments = NULL;
  g_autoptr (GError) error = NULL;

  /* only an assignment that targets this client, looked up by an exact GUID */
  if (!g_uuid_string_is_valid (id)) {
    eh_mp_http_refuse (request, SOUP_STATUS_NOT_FOUND, "assignment_unknown", "no such assignment");
    return;
  }
  deployments = eh_mp_deployments_for_client (mp->store, client->guid, &error);
  if (deployments == NULL) {
    g_warning ("%s: deployments could not be read: %s", eh_request_get_id (request), error->message);
    eh_mp_http_refuse (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "store_failed",
                       "policy could not be read; try again later");
    return;
  }
  for (guint i = 0; i < deployments->len; i++) {
    const EhMpDeployment *deployment = g_ptr_array_index (deployments, i);

    if (g_ascii_strcasecmp (deployment->id, id) == 0) {
      eh_mp_http_json (request, SOUP_STATUS_OK, deployment->body);
      return;
    }
  }
  eh_mp_http_refuse (request, SOUP_STATUS_NOT_FOUND, "assignment_unknown",
                     "no such assignment for this client");
}

static void
eh_mp_http_policy_route (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  const char *subpath = eh_request_get_subpath (request);
  g_autoptr (EhMpClient) client = eh_mp_token_http_authenticate (mp, request);

  if (client == NULL)
    return;
  if (subpath[0] == '\0')
    eh_mp_http_policy (request, mp, client);
  else
    eh_mp_http_policy_body (request, mp, client, subpath + 1);
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
