/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * POST /ehttpd/mp/token   an approved client proves possession of its key
 *                         and gets a client token (HTTPS only, every mode)
 *   body {"proof": JWS}: typ mp-token+jwt, header kid = the RFC 7638
 *   thumbprint of the registered key (a lookup into our table only),
 *   payload exactly {"nonce"} from GET /ehttpd/mp/nonce, or exactly
 *   {"jti", "iat"}: self-timed, one request instead of two (eh-mp-replay.c).
 * GET  /ehttpd/mp/whoami  Authorization: Bearer <client token> → who and state
 *
 * POST token is answered the same way through libsoup or as a quick
 * answer (eh-quick.h): the decision below answers an EhMpPaused, which is
 * either; the quick one is held while the worker checks the proof.
 */

#define EH_MP_TOKEN_JSON_DEPTH 2
#define EH_MP_THUMBPRINT_MAX 64

static const char *const eh_mp_token_members[] = { "proof", NULL };

static gboolean
eh_mp_thumbprint_is_valid (const char *text)
{
  return eh_text_is_word (text, 1, EH_MP_THUMBPRINT_MAX, "-_");
}

/* @request's answer, borrowed: it is not paused */
static EhMpPaused
eh_mp_token_target (EhMp *mp, EhRequest *request)
{
  EhMpPaused target = { mp, eh_request_get_message (request), (char *) eh_request_get_id (request), NULL };

  return target;
}

/* a client that is not approved: blocked or pending */
static void
eh_mp_token_target_refuse_state (EhMpPaused *target, const EhMpClient *client)
{
  if (client->state == EH_MP_CLIENT_BLOCKED)
    eh_mp_paused_refuse (target, EH_MP_REASON_CLIENT_BLOCKED, client->guid,
                         "this client is blocked by the site's administrator");
  else
    eh_mp_paused_refuse (target, EH_MP_REASON_CLIENT_PENDING, client->guid,
                         "this client is waiting for approval by the site's administrator");
}

void
eh_mp_token_refuse_state (EhMp *mp, EhRequest *request, const EhMpClient *client)
{
  EhMpPaused target = eh_mp_token_target (mp, request);

  eh_mp_token_target_refuse_state (&target, client);
}

/* a token proof whose signature is being checked in a worker; for POST
 * token, the worker signs the client token too once the proof holds (it
 * is thrown away if the nonce, jti or client state then refuses it) */
typedef struct {
  EhMpPaused paused;
  EhMpClient *client;
  EhMpTokenProofDone done; /* NULL: answered here with the token signed in the worker */
  gpointer user_data;
  EhMpTokenKey *signer;    /* nullable: no signing in the worker */
  char *site;
  guint lifetime;
  gint64 now;
  char *token;
  gint64 expires_at;
  GError *sign_error;
} EhMpTokenProofCall;

static void
eh_mp_token_proof_call_free (EhMpTokenProofCall *call)
{
  eh_mp_paused_finish (&call->paused);
  eh_mp_client_free (call->client);
  if (call->signer != NULL)
    eh_mp_token_key_sign_end (call->signer);
  g_free (call->site);
  g_free (call->token);
  g_clear_error (&call->sign_error);
  g_free (call);
}

/* in the worker, once the proof's signature holds */
static void
eh_mp_token_proof_sign (gpointer data)
{
  EhMpTokenProofCall *call = data;

  if (call->signer != NULL)
    call->token = eh_mp_client_token_issue (call->signer, call->site, call->client, NULL, call->lifetime, call->now,
                                            &call->expires_at, &call->sign_error);
}

static void
eh_mp_token_proof_verified (JsonNode *verified, const GError *verify_error, gpointer user_data)
{
  EhMpTokenProofCall *call = user_data;
  EhMp *mp = call->paused.mp;
  g_autoptr (JsonNode) claims = verified;
  g_autoptr (GError) error = verify_error != NULL ? g_error_copy (verify_error) : NULL;
  gboolean approved = FALSE;

  if (claims == NULL || !eh_mp_proof_accept (claims, NULL, mp->nonces, mp->replay, &error)) {
    eh_mp_paused_refuse (&call->paused, eh_mp_proof_refusal_reason (error), call->client->guid, error->message);
  } else if (call->client->state != EH_MP_CLIENT_APPROVED) {
    eh_mp_token_target_refuse_state (&call->paused, call->client);
  } else {
    approved = TRUE;
  }
  if (call->done != NULL)
    call->done (&call->paused, approved ? g_steal_pointer (&call->client) : NULL, call->user_data);
  else if (approved && call->token != NULL)
    eh_mp_token_http_reply (&call->paused, call->client, NULL, call->token, call->expires_at, call->signer->x5t);
  else if (approved && call->sign_error != NULL)
    eh_mp_token_http_refuse_signing (&call->paused, call->client, call->sign_error);
  else if (approved)
    eh_mp_token_http_answer (&call->paused, call->client, NULL);
  eh_mp_token_proof_call_free (call);
}

/* kid is the registered key's thumbprint: looked up in our table, nothing
 * else; the signature is checked off the main loop, then the nonce and the
 * client's state on it. @done NULL: POST token, answered here. @target
 * (borrowed) is @request's, or a quick request's when @request is NULL. */
static void
eh_mp_token_http_check (EhMp *mp, EhMpPaused *target, EhRequest *request, const char *proof,
                        EhMpTokenProofDone done, gpointer user_data)
{
  g_autoptr (EhMpClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *kid = eh_mp_proof_peek_kid (proof, &error);
  gnutls_pubkey_t key = NULL;
  EhJwsAlg alg = 0;
  EhMpTokenProofCall *call;
  EhMpTokenKey *signer;

  if (kid != NULL && !eh_mp_thumbprint_is_valid (kid))
    g_set_error (&error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
                 "the proof's kid must be the registered key's RFC 7638 thumbprint");
  if (error != NULL) {
    eh_mp_paused_refuse (target, EH_MP_REASON_INVALID_PROOF, NULL, error->message);
    if (done != NULL)
      done (NULL, NULL, user_data);
    return;
  }
  client = eh_mp_records_get_key_by_thumbprint (mp->store, kid, &key, &alg, &error);
  if (client == NULL) {
    if (g_error_matches (error, EH_ERROR, EH_ERROR_NOT_FOUND)) {
      eh_mp_paused_refuse (target, EH_MP_REASON_CLIENT_UNKNOWN, NULL,
                           "no client is registered with this key; register first");
    } else {
      g_warning ("%s: a client could not be read: %s", target->request_id, error->message);
      eh_mp_paused_refuse (target, EH_MP_REASON_STORE_FAILED, NULL,
                           "the client could not be read; try again later");
    }
    if (done != NULL)
      done (NULL, NULL, user_data);
    return;
  }
  call = g_new0 (EhMpTokenProofCall, 1);
  if (request != NULL)
    eh_mp_paused_init (&call->paused, mp, request);
  else
    eh_mp_paused_init_quick (&call->paused, mp, target->quick);
  call->client = g_steal_pointer (&client);
  call->done = done;
  call->user_data = user_data;
  signer = eh_mp_token_keys_signer (mp);
  if (done == NULL && signer != NULL && mp->site_code != NULL && call->client->state == EH_MP_CLIENT_APPROVED) {
    call->signer = eh_mp_token_key_sign_begin (signer);
    call->site = g_strdup (mp->site_code);
    call->lifetime = mp->client_token_lifetime;
    call->now = g_get_real_time () / G_USEC_PER_SEC;
  }
  eh_mp_proof_verify_async (mp->workers, proof, EH_MP_TOKEN_PROOF_TYP, key, alg, kid, NULL, eh_mp_token_proof_sign,
                            eh_mp_token_proof_verified, call);
}

void
eh_mp_token_http_check_proof (EhMp *mp, EhRequest *request, const char *proof, EhMpTokenProofDone done,
                              gpointer user_data)
{
  EhMpPaused target = eh_mp_token_target (mp, request);

  g_return_if_fail (done != NULL);
  eh_mp_token_http_check (mp, &target, request, proof, done, user_data);
}

/* a token request body: exactly @members, all strings; NULL after refusing it */
static JsonObject *
eh_mp_token_read_body (EhMpPaused *target, GBytes *body, const char *const *members, gsize max_bytes,
                       const char *what)
{
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;

  node = eh_json_parse_strict (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                               max_bytes, EH_MP_TOKEN_JSON_DEPTH, &error);
  if (node != NULL && !JSON_NODE_HOLDS_OBJECT (node))
    error = g_error_new (EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the body must be a JSON object");
  if (error == NULL &&
      eh_mp_json_check_members (json_node_get_object (node), members, NULL, what, &error)) {
    for (guint i = 0; members[i] != NULL; i++) {
      const char *value = NULL;

      if (!eh_mp_json_get_string (json_node_get_object (node), members[i], what, &value, &error))
        break;
    }
  }
  if (error != NULL) {
    eh_mp_paused_refuse (target, EH_MP_REASON_INVALID_REQUEST, NULL, error->message);
    return NULL;
  }
  return json_object_ref (json_node_get_object (node));
}

JsonObject *
eh_mp_token_http_read_body (EhMp *mp, EhRequest *request, const char *const *members, gsize max_bytes,
                            const char *what)
{
  EhMpPaused target = eh_mp_token_target (mp, request);
  g_autoptr (GBytes) body =
      soup_message_body_flatten (soup_server_message_get_request_body (eh_request_get_message (request)));

  return eh_mp_token_read_body (&target, body, members, max_bytes, what);
}

void
eh_mp_token_http_refuse_signing (EhMpPaused *target, const EhMpClient *client, const GError *error)
{
  g_warning ("%s: a client token could not be signed: %s", target->request_id, error->message);
  eh_mp_paused_refuse (target, EH_MP_REASON_TOKEN_FAILED, client->guid,
                       "the token could not be signed; try again later");
}

/* answers a signed client token (200 JSON); without an Entra identity, every
 * member is our own base64url, GUID or number, so no JSON builder is needed */
void
eh_mp_token_http_reply (EhMpPaused *target, const EhMpClient *client, const EhMpEntraIdentity *entra,
                        const char *token, gint64 expires_at, const char *x5t)
{
  g_autofree char *json = NULL;

  if (entra == NULL) {
    json = g_strdup_printf ("{\"token\":\"%s\",\"token_type\":\"" EH_MP_CLIENT_TOKEN_TYP "\",\"client_guid\":\"%s\","
                            "\"expires_at\":%" G_GINT64_FORMAT "}",
                            token, client->guid, expires_at);
  } else {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    g_autoptr (JsonObject) claim = eh_mp_entra_identity_to_claim (entra);
    g_autoptr (JsonNode) root = NULL;

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "token");
    json_builder_add_string_value (builder, token);
    json_builder_set_member_name (builder, "token_type");
    json_builder_add_string_value (builder, EH_MP_CLIENT_TOKEN_TYP);
    json_builder_set_member_name (builder, "client_guid");
    json_builder_add_string_value (builder, client->guid);
    json_builder_set_member_name (builder, "expires_at");
    json_builder_add_int_value (builder, expires_at);
    json_builder_set_member_name (builder, "entra");
    json_builder_add_value (builder, json_node_init_object (json_node_alloc (), claim));
    json_builder_end_object (builder);
    root = json_builder_get_root (builder);
    json = json_to_string (root, FALSE);
  }
  /* formatted only when it is printed: this is once per token */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_INFO, G_LOG_DOMAIN))
    g_info ("%s: client token for %s (certificate %s)%s%s", target->request_id, client->guid, x5t,
            entra != NULL ? " with Entra " : "", entra != NULL ? eh_mp_entra_kind_to_string (entra->kind) : "");
  eh_mp_paused_json (target, SOUP_STATUS_OK, json);
}

void
eh_mp_token_http_answer (EhMpPaused *target, const EhMpClient *client, const EhMpEntraIdentity *entra)
{
  EhMp *mp = target->mp;
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  const EhMpTokenKey *signer = eh_mp_token_keys_signer (mp);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC, expires_at = 0;

  if (signer == NULL || mp->site_code == NULL) {
    eh_mp_paused_refuse (target, EH_MP_REASON_TOKEN_KEY_UNAVAILABLE, client->guid,
                         "this MP has no token signing certificate or site yet; try again shortly");
    return;
  }
  token = eh_mp_client_token_issue (signer, mp->site_code, client, entra, mp->client_token_lifetime, now,
                                    &expires_at, &error);
  if (token == NULL) {
    eh_mp_token_http_refuse_signing (target, client, error);
    return;
  }
  eh_mp_token_http_reply (target, client, entra, token, expires_at, signer->x5t);
}

/* POST token, from libsoup (@request) or as a quick answer (@target only) */
static void
eh_mp_token_http_post (EhMp *mp, EhMpPaused *target, EhRequest *request, GBytes *bytes)
{
  g_autoptr (JsonObject) body = eh_mp_token_read_body (target, bytes, eh_mp_token_members,
                                                       EH_MP_MAX_TOKEN_REQUEST_BYTES, "token request");

  if (body != NULL)
    eh_mp_token_http_check (mp, target, request, json_object_get_string_member (body, "proof"), NULL, NULL);
}

static void
eh_mp_http_token (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  EhMpPaused target = eh_mp_token_target (mp, request);
  g_autoptr (GBytes) body =
      soup_message_body_flatten (soup_server_message_get_request_body (eh_request_get_message (request)));

  eh_mp_token_http_post (mp, &target, request, body);
}

static gboolean
eh_mp_quick_token (EhQuickRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  EhMpPaused target = { mp, NULL, (char *) eh_quick_request_get_id (request), request };

  eh_mp_token_http_post (mp, &target, NULL, eh_quick_request_get_body (request));
  return TRUE;
}

/* the client a Bearer client token names, checked; NULL after answering */
EhMpClient *
eh_mp_token_http_authenticate (EhMp *mp, EhRequest *request, EhMpEntraIdentity **entra)
{
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *authorization = soup_message_headers_get_one (headers, "Authorization");
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpClient) client = NULL;

  if (authorization == NULL || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                  "Bearer");
    eh_mp_http_refuse (mp, request, EH_MP_REASON_TOKEN_REQUIRED, NULL,
                       "this call needs a client token (Authorization: Bearer)");
    return NULL;
  }
  client = eh_mp_client_token_check (mp->token_keys, mp->site_code, mp->store, authorization + 7,
                                     g_get_real_time () / G_USEC_PER_SEC, entra, &error);
  if (client != NULL && client->state == EH_MP_CLIENT_APPROVED)
    return g_steal_pointer (&client);
  if (entra != NULL)
    g_clear_pointer (entra, eh_mp_entra_identity_free);
  if (client != NULL) {
    eh_mp_token_refuse_state (mp, request, client);
  } else if (g_error_matches (error, EH_ERROR, EH_ERROR_INVALID_TOKEN)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                  "Bearer error=\"invalid_token\"");
    eh_mp_http_refuse (mp, request, EH_MP_REASON_INVALID_TOKEN, NULL, error->message);
  } else {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_UNAVAILABLE, NULL, error->message);
  }
  return NULL;
}

static void
eh_mp_http_whoami (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (EhMpEntraIdentity) entra = NULL;
  g_autoptr (EhMpClient) client = eh_mp_token_http_authenticate (mp, request, &entra);
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;

  if (client == NULL)
    return;
  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "client_guid");
  json_builder_add_string_value (builder, client->guid);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, eh_mp_client_state_to_string (client->state));
  json_builder_set_member_name (builder, "host_name");
  json_builder_add_string_value (builder, client->host_name);
  if (entra != NULL) {
    g_autoptr (JsonObject) claim = eh_mp_entra_identity_to_claim (entra);

    json_builder_set_member_name (builder, "entra");
    json_builder_add_value (builder, json_node_init_object (json_node_alloc (), claim));
  }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  eh_mp_http_json (request, SOUP_STATUS_OK, json);
}

gboolean
eh_mp_token_http_start (EhMp *mp, GError **error)
{
  /* tokens are never served over plain HTTP, whatever the mode */
  const EhEndpoint endpoints[] = {
    { "POST", EH_MP_HTTP_PREFIX "/token", EH_SCHEME_HTTPS, EH_MP_MAX_TOKEN_REQUEST_BYTES, eh_mp_http_token },
    { "GET", EH_MP_HTTP_PREFIX "/whoami", EH_SCHEME_HTTPS, 0, eh_mp_http_whoami },
  };

  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (mp->plugin, &endpoints[i], mp, error))
      return FALSE;
  }
  return eh_plugin_add_quick_handler (mp->plugin, "POST", EH_MP_HTTP_PREFIX "/token", eh_mp_quick_token, mp,
                                      error);
}
