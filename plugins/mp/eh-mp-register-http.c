/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * POST /ehttpd/mp/register: a client registers its key.
 *
 * A request goes through three stages, the request paused in between:
 *   1. in one of the mp's workers, the body is read and checked
 *      (eh_mp_registration_read: JSON, key import, thumbprint) and the
 *      proof's signature checked, nothing of which needs the main loop;
 *   2. on the main loop, the proof's claims and nonce or self-timed jti
 *      (the token requests' replay guard); an Entra token is
 *      checked next, if any;
 *   3. the registration waits in the batch: every registration ready in one
 *      turn of the main loop is recorded in one durable transaction (one
 *      flush for the lot, each succeeding or failing alone), then answered.
 * Nothing is answered before its transaction is on disk.
 */

/* a batch larger than this waits for the next turn, so no answer waits long */
#define EH_MP_REGISTER_BATCH_MAX 256

typedef struct {
  EhMpPaused paused;
  char *peer;
  GBytes *body;                   /* until the worker has read it */
  EhMpRegistration *registration; /* what the worker read, or NULL with error */
  JsonNode *claims;               /* the proof's, or NULL with error */
  GError *error;
  char *approve_by; /* nullable: the Entra identity that approves */
} EhMpRegisterCall;

static void
eh_mp_register_call_free (EhMpRegisterCall *call)
{
  eh_mp_paused_finish (&call->paused);
  g_free (call->peer);
  g_clear_pointer (&call->body, g_bytes_unref);
  eh_mp_registration_free (call->registration);
  g_clear_pointer (&call->claims, json_node_unref);
  g_clear_error (&call->error);
  g_free (call->approve_by);
  g_free (call);
}

static char *
eh_mp_register_client_json (const EhMpClient *client, gboolean created)
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
eh_mp_register_bulk_refusal (EhMpReason reason)
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

/* answers one recorded (or refused) registration of a batch */
static void
eh_mp_register_answer (EhMpRegisterCall *call, const EhMpRegisterItem *item)
{
  EhMp *mp = call->paused.mp;
  SoupServerMessage *msg = call->paused.msg;
  const char *request_id = call->paused.request_id;
  const EhMpClient *client = item->client;
  g_autofree char *json = NULL;

  if (client == NULL && g_error_matches (item->error, EH_ERROR, EH_ERROR_PERMISSION_DENIED)) {
    EhMpReason reason = EH_MP_REASON_BULK_TOKEN_INVALID;

    eh_mp_reason_from_code (item->error->message, &reason);
    eh_mp_http_message_refuse (mp, msg, request_id, reason, call->registration->thumbprint,
                               eh_mp_register_bulk_refusal (reason));
    return;
  }
  if (client == NULL) {
    g_warning ("%s: a registration was not recorded: %s", request_id, item->error->message);
    eh_mp_http_message_refuse (mp, msg, request_id, EH_MP_REASON_STORE_FAILED, call->registration->thumbprint,
                               "the registration could not be recorded; try again later");
    return;
  }
  if (client->state == EH_MP_CLIENT_BLOCKED) {
    eh_mp_http_message_refuse (mp, msg, request_id, EH_MP_REASON_CLIENT_BLOCKED, client->guid,
                               "this client is blocked by the site's administrator");
    return;
  }
  if (item->created)
    g_message ("client %s registered: host %s, %s key %s, %s%s%s", client->guid, client->host_name,
               client->key_type, client->thumbprint, eh_mp_client_state_to_string (client->state),
               client->approved_by != NULL ? " by " : "", client->approved_by != NULL ? client->approved_by : "");
  json = eh_mp_register_client_json (client, item->created);
  eh_mp_http_message_json (msg, item->created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK, json);
}

/* stage 3: the waiting registrations, recorded together and answered */
static gboolean
eh_mp_register_flush (gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GPtrArray) batch = mp->register_batch;
  g_autofree EhMpRegisterItem *items = NULL;

  mp->register_batch = NULL;
  mp->register_flush_source = 0;
  if (batch->len > EH_MP_REGISTER_BATCH_MAX) {
    /* the rest waits for the next turn */
    mp->register_batch = g_ptr_array_new ();
    for (guint i = EH_MP_REGISTER_BATCH_MAX; i < batch->len; i++)
      g_ptr_array_add (mp->register_batch, batch->pdata[i]);
    g_ptr_array_set_size (batch, EH_MP_REGISTER_BATCH_MAX);
    mp->register_flush_source = g_idle_add_full (G_PRIORITY_DEFAULT, eh_mp_register_flush, mp, NULL);
  }
  items = g_new0 (EhMpRegisterItem, batch->len);
  for (guint i = 0; i < batch->len; i++) {
    EhMpRegisterCall *call = batch->pdata[i];

    items[i] = (EhMpRegisterItem) { call->registration, mp->auto_approve, call->approve_by, call->peer };
  }
  eh_mp_records_register_batch (mp->store, items, batch->len);
  g_debug ("recorded %u registration(s) in one transaction", batch->len);
  for (guint i = 0; i < batch->len; i++) {
    eh_mp_register_answer (batch->pdata[i], &items[i]);
    eh_mp_client_free (items[i].client);
    g_clear_error (&items[i].error);
    eh_mp_register_call_free (batch->pdata[i]);
  }
  return G_SOURCE_REMOVE;
}

/* the same priority as the connections: a steady stream of requests
 * cannot keep a batch waiting */
static void
eh_mp_register_enqueue (EhMpRegisterCall *call)
{
  EhMp *mp = call->paused.mp;

  if (mp->register_batch == NULL)
    mp->register_batch = g_ptr_array_new ();
  g_ptr_array_add (mp->register_batch, call);
  if (mp->register_flush_source == 0)
    mp->register_flush_source = g_idle_add_full (G_PRIORITY_DEFAULT, eh_mp_register_flush, mp, NULL);
}

/* an Entra-backed registration is approved in the identity's name (ConfigMgr's "approval status 3") */
static void
eh_mp_register_entra_verified (const EhMpEntraIdentity *identity, EhMpReason reason, const char *message,
                               gpointer user_data)
{
  EhMpRegisterCall *call = user_data;
  g_autofree char *subject = identity != NULL ? eh_mp_entra_identity_describe (identity) : NULL;

  if (reason != EH_MP_REASON_LAST) {
    eh_mp_http_message_refuse (call->paused.mp, call->paused.msg, call->paused.request_id, reason,
                               subject != NULL ? subject : call->registration->thumbprint, message);
    eh_mp_register_call_free (call);
    return;
  }
  call->approve_by = g_steal_pointer (&subject);
  eh_mp_register_enqueue (call);
}

/* stage 1, in a worker: the body read, the proof's signature checked with
 * the key the body brings */
static void
eh_mp_register_read (gpointer data)
{
  EhMpRegisterCall *call = data;
  g_autoptr (GBytes) body = g_steal_pointer (&call->body);
  EhMpRegistration *registration;

  registration = eh_mp_registration_read (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &call->error);
  if (registration == NULL)
    return;
  call->registration = registration;
  call->claims = eh_mp_proof_verify_with_key (registration->proof, EH_MP_PROOF_TYP,
                                              g_steal_pointer (&registration->key), registration->alg, NULL,
                                              NULL, &call->error);
}

/* stage 2, on the main loop: the claims and the nonce */
static void
eh_mp_register_proved (gpointer data)
{
  EhMpRegisterCall *call = data;
  EhMp *mp = call->paused.mp;

  if (call->registration == NULL) {
    eh_mp_http_message_refuse (mp, call->paused.msg, call->paused.request_id, EH_MP_REASON_INVALID_REQUEST, NULL,
                               call->error->message);
    eh_mp_register_call_free (call);
    return;
  }
  if (call->claims == NULL ||
      !eh_mp_registration_check_claims (call->registration, call->claims, mp->nonces, mp->replay, &call->error)) {
    eh_mp_http_message_refuse (mp, call->paused.msg, call->paused.request_id,
                               eh_mp_proof_refusal_reason (call->error), NULL, call->error->message);
    eh_mp_register_call_free (call);
    return;
  }
  if (call->registration->entra_token != NULL)
    eh_mp_entra_verify (mp, call->registration->entra_token, eh_mp_register_entra_verified, call);
  else
    eh_mp_register_enqueue (call);
}

static void
eh_mp_http_register (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  EhMpRegisterCall *call = g_new0 (EhMpRegisterCall, 1);

  eh_mp_paused_init (&call->paused, mp, request);
  call->peer = g_strdup (eh_request_get_peer_address (request));
  call->body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  eh_mp_workers_push (mp->workers, eh_mp_register_read, eh_mp_register_proved, call);
}

gboolean
eh_mp_register_http_start (EhMp *mp, GError **error)
{
  const EhEndpoint endpoint = { "POST", EH_MP_HTTP_PREFIX "/register", eh_mp_mode_registration_schemes (mp->mode),
                                EH_MP_MAX_REGISTER_BYTES, eh_mp_http_register };

  return eh_plugin_add_endpoint (mp->plugin, &endpoint, mp, error);
}

/* what waits in the batch is recorded and answered now */
void
eh_mp_register_http_stop (EhMp *mp)
{
  while (mp->register_flush_source != 0) {
    g_source_remove (mp->register_flush_source);
    eh_mp_register_flush (mp);
  }
}
