/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * The mp's endpoints under /ehttpd/mp/:
 *   GET  site      public: site information (where depends on the mode)
 *   GET  nonce     a single-use nonce for a registration proof
 *   POST register  a client registers its key
 * Which scheme serves which is the security mode's business (eh-mp-plugin.c).
 */

void
eh_mp_http_message_json (SoupServerMessage *msg, guint status, const char *json)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

void
eh_mp_paused_init (EhMpPaused *paused, EhMp *mp, EhRequest *request)
{
  paused->mp = mp;
  paused->msg = g_object_ref (eh_request_get_message (request));
  paused->request_id = g_strdup (eh_request_get_id (request));
  soup_server_message_pause (paused->msg);
}

void
eh_mp_paused_finish (EhMpPaused *paused)
{
  if (paused->msg == NULL)
    return;
  soup_server_message_unpause (paused->msg);
  g_clear_object (&paused->msg);
  g_clear_pointer (&paused->request_id, g_free);
}

void
eh_mp_http_json (EhRequest *request, guint status, const char *json)
{
  eh_mp_http_message_json (eh_request_get_message (request), status, json);
}

/* {"error", "reason", "message", "request_id"}: a stable code, a clear
 * message, the log line and the record `ehttpctl explain` reads */
void
eh_mp_http_message_refuse (EhMp *mp, SoupServerMessage *msg, const char *request_id, EhMpReason reason,
                           const char *subject, const char *message)
{
  const EhMpReasonInfo *info = eh_mp_reason_info (reason);
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, info->error != NULL ? info->error : info->code);
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, info->code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_set_member_name (builder, "request_id");
  json_builder_add_string_value (builder, request_id);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  g_info ("%s: refused %s: reason %s, subject %s: %s", request_id, path, info->code,
          subject != NULL ? subject : "-", message);
  eh_mp_denials_add (mp->denials, request_id, reason, subject, path, message,
                     g_get_real_time () / G_USEC_PER_SEC);
  eh_mp_http_message_json (msg, info->status, json);
}

void
eh_mp_http_refuse (EhMp *mp, EhRequest *request, EhMpReason reason, const char *subject,
                   const char *message)
{
  eh_mp_http_message_refuse (mp, eh_request_get_message (request), eh_request_get_id (request), reason,
                             subject, message);
}

static void
eh_mp_http_site (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = eh_mp_site_info_json (mp, &error);

  if (json == NULL) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_SITE_UNAVAILABLE, NULL, error->message);
    return;
  }
  eh_mp_http_json (request, SOUP_STATUS_OK, json);
}

static void
eh_mp_http_nonce (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GError) error = NULL;
  gint64 expires_at = 0;
  g_autofree char *nonce = eh_mp_nonces_issue (mp->nonces, &expires_at, &error);
  g_autofree char *json = NULL;

  if (nonce == NULL) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_BUSY, NULL, error->message);
    return;
  }
  json = g_strdup_printf ("{\"nonce\":\"%s\",\"expires_at\":%" G_GINT64_FORMAT
                          ",\"proof_typ\":\"" EH_MP_PROOF_TYP "\"}",
                          nonce, expires_at);
  eh_mp_http_json (request, SOUP_STATUS_OK, json);
}

static char *
eh_mp_http_client_json (const EhMpClient *client, gboolean created)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "client_guid");
  json_builder_add_string_value (builder, client->guid);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, eh_mp_client_state_to_string (client->state));
  json_builder_set_member_name (builder, "new");
  json_builder_add_boolean_value (builder, created);
  json_builder_set_member_name (builder, "key_thumbprint");
  json_builder_add_string_value (builder, client->thumbprint);
  json_builder_set_member_name (builder, "registered_at");
  json_builder_add_int_value (builder, client->registered_at);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

/* why a bulk token was refused, for the client */
static const char *
eh_mp_http_bulk_refusal (EhMpReason reason)
{
  switch (reason) {
  case EH_MP_REASON_BULK_TOKEN_BLOCKED:
    return "the bulk registration token is blocked by the site's administrator; nothing was stored";
  case EH_MP_REASON_BULK_TOKEN_EXPIRED:
    return "the bulk registration token has expired; nothing was stored";
  case EH_MP_REASON_BULK_TOKEN_EXHAUSTED:
    return "the bulk registration token has been used as often as allowed; nothing was stored";
  default:
    return "the bulk registration token is not one this site issued; nothing was stored";
  }
}

/* records a checked registration and answers it; @approve_by nullable */
static void
eh_mp_http_register_record (EhMp *mp, SoupServerMessage *msg, const char *request_id, const char *peer,
                            const EhMpRegistration *registration, const char *approve_by)
{
  g_autoptr (EhMpClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  gboolean created = FALSE;

  client = eh_mp_records_register (mp->store, registration, mp->auto_approve, approve_by, peer, &created,
                                   &error);
  if (client == NULL && g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED)) {
    EhMpReason reason = EH_MP_REASON_BULK_TOKEN_INVALID;

    eh_mp_reason_from_code (error->message, &reason);
    eh_mp_http_message_refuse (mp, msg, request_id, reason, registration->thumbprint,
                               eh_mp_http_bulk_refusal (reason));
    return;
  }
  if (client == NULL) {
    g_warning ("%s: a registration was not recorded: %s", request_id, error->message);
    eh_mp_http_message_refuse (mp, msg, request_id, EH_MP_REASON_STORE_FAILED, registration->thumbprint,
                               "the registration could not be recorded; try again later");
    return;
  }
  if (client->state == EH_MP_CLIENT_BLOCKED) {
    eh_mp_http_message_refuse (mp, msg, request_id, EH_MP_REASON_CLIENT_BLOCKED, client->guid,
                               "this client is blocked by the site's administrator");
    return;
  }
  if (created)
    g_message ("client %s registered: host %s, %s key %s, %s%s%s", client->guid, client->host_name,
               client->key_type, client->thumbprint, eh_mp_client_state_to_string (client->state),
               client->approved_by != NULL ? " by " : "", client->approved_by != NULL ? client->approved_by : "");
  json = eh_mp_http_client_json (client, created);
  eh_mp_http_message_json (msg, created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK, json);
}

typedef struct {
  EhMpPaused paused;
  char *peer;
  EhMpRegistration *registration;
} EhMpRegisterCall;

static void
eh_mp_register_call_free (EhMpRegisterCall *call)
{
  eh_mp_paused_finish (&call->paused);
  g_free (call->peer);
  eh_mp_registration_free (call->registration);
  g_free (call);
}

/* an Entra-backed registration is approved in the identity's name (ConfigMgr's "approval status 3") */
static void
eh_mp_http_register_verified (const EhMpEntraIdentity *identity, EhMpReason reason, const char *message,
                              gpointer user_data)
{
  EhMpRegisterCall *call = user_data;
  g_autofree char *subject = identity != NULL ? eh_mp_entra_identity_describe (identity) : NULL;

  if (reason != EH_MP_REASON_LAST)
    eh_mp_http_message_refuse (call->paused.mp, call->paused.msg, call->paused.request_id, reason,
                               subject != NULL ? subject : call->registration->thumbprint, message);
  else
    eh_mp_http_register_record (call->paused.mp, call->paused.msg, call->paused.request_id, call->peer,
                                call->registration, subject);
  eh_mp_register_call_free (call);
}

static void
eh_mp_http_register (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (EhMpRegistration) registration = NULL;
  g_autoptr (GError) error = NULL;
  EhMpRegisterCall *call;

  registration = eh_mp_registration_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                           mp->nonces, &error);
  if (registration == NULL) {
    eh_mp_http_refuse (mp, request,
                       g_error_matches (error, EH_ERROR, EH_ERROR_INVALID_TOKEN) ? EH_MP_REASON_INVALID_PROOF
                                                                                : EH_MP_REASON_INVALID_REQUEST,
                       NULL, error->message);
    return;
  }
  if (registration->entra_token == NULL) {
    eh_mp_http_register_record (mp, msg, eh_request_get_id (request), eh_request_get_peer_address (request),
                                registration, NULL);
    return;
  }
  call = g_new0 (EhMpRegisterCall, 1);
  eh_mp_paused_init (&call->paused, mp, request);
  call->peer = g_strdup (eh_request_get_peer_address (request));
  call->registration = g_steal_pointer (&registration);
  eh_mp_entra_verify (mp, call->registration->entra_token, eh_mp_http_register_verified, call);
}

gboolean
eh_mp_http_start (EhMp *mp, GError **error)
{
  EhSchemes public = eh_mp_mode_public_schemes (mp->mode);
  EhSchemes sensitive = eh_mp_mode_registration_schemes (mp->mode);
  const EhEndpoint endpoints[] = {
    { "GET", EH_MP_HTTP_PREFIX "/site", public, 0, eh_mp_http_site },
    { "GET", EH_MP_HTTP_PREFIX "/nonce", sensitive, 0, eh_mp_http_nonce },
    { "POST", EH_MP_HTTP_PREFIX "/register", sensitive, EH_MP_MAX_REGISTER_BYTES,
      eh_mp_http_register },
  };

  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (mp->plugin, &endpoints[i], mp, error))
      return FALSE;
  }
  return TRUE;
}
