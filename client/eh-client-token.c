/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "eh-client.h"

/*
 * Proof of possession, registration and the client token. A proof is a
 * compact JWS signed with the client key over a fresh MP nonce, or
 * self-timed ({"jti", "iat"}: one request instead of two; a nonce
 * is asked for when the MP refuses it, e.g. for a skewed clock). The token
 * is kept in token.json (0600) with the moment it arrived by this host's
 * clock and its lifetime by the MP's (exp - iat): it is renewed when it is
 * missing or in its last third, so a skewed clock on either side moves
 * nothing.
 */

#define EH_CLIENT_TOKEN_FILE "token.json"
#define EH_CLIENT_REGISTER_TYP "mp-register+jwt"
#define EH_CLIENT_TOKEN_TYP "mp-token+jwt"
#define EH_CLIENT_TOKEN_PATH "/ehttpd/mp/token"
#define EH_CLIENT_STS_PATH "/ehttpd/mp/sts"
#define EH_CLIENT_MAX_ENTRA_BYTES (16 * 1024)

static JsonNode *
eh_client_object_node (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

static GBytes *
eh_client_compact_json (JsonObject *object)
{
  g_autoptr (JsonNode) node = eh_client_object_node (json_object_ref (object));
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  gsize len = 0;
  char *text;

  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, &len);
  return g_bytes_new_take (text, len);
}

static char *
eh_client_nonce (EhClient *client, GError **error)
{
  guint status = 0;
  g_autoptr (JsonObject) answer = eh_client_http_json (client, "GET", "/ehttpd/mp/nonce", NULL, NULL, &status,
                                                       error);
  const char *nonce = NULL;

  if (answer == NULL)
    return NULL;
  if (status != SOUP_STATUS_OK) {
    eh_client_http_refused (client, "nonce", status, answer, error);
    return NULL;
  }
  if (!eh_json_object_get_string_checked (answer, "nonce", &nonce, error))
    return NULL;
  return g_strdup (nonce);
}

static char *
eh_client_sign (EhClient *client, const char *typ, JsonObject *claims, JsonObject *header, GError **error)
{
  g_autoptr (GBytes) payload = NULL;
  EhJwsAlg alg;

  if (!eh_jws_alg_for_key (client->key, &alg, error))
    return NULL;
  payload = eh_client_compact_json (claims);
  return eh_jws_sign (client->key, alg, typ, header, payload, error);
}

/* a proof over @claims (a nonce is added) with the client key */
static char *
eh_client_proof (EhClient *client, const char *typ, JsonObject *claims, JsonObject *header, GError **error)
{
  g_autofree char *nonce = eh_client_nonce (client, error);

  if (nonce == NULL)
    return NULL;
  json_object_set_string_member (claims, "nonce", nonce);
  return eh_client_sign (client, typ, claims, header, error);
}

/* a self-timed proof over @claims (jti and iat are added): no nonce round trip */
static char *
eh_client_timed_proof (EhClient *client, const char *typ, JsonObject *claims, JsonObject *header, GError **error)
{
  guint8 random[18];
  g_autofree char *jti = NULL;

  if (gnutls_rnd (GNUTLS_RND_NONCE, random, sizeof random) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no random bytes for a proof");
    return NULL;
  }
  jti = eh_base64url_encode (random, sizeof random);
  json_object_set_string_member (claims, "jti", jti);
  json_object_set_int_member (claims, "iat", g_get_real_time () / G_USEC_PER_SEC);
  return eh_client_sign (client, typ, claims, header, error);
}

/* a refusal of a self-timed proof that a nonce may not get: another
 * clock (proof_stale), a full replay guard (busy), or an MP that does not
 * know self-timed proofs (invalid_proof) */
static gboolean
eh_client_timed_proof_refused (guint status, JsonObject *answer)
{
  const char *code = json_object_get_string_member_with_default (answer, "error", "");

  return (status == SOUP_STATUS_BAD_REQUEST && (g_str_equal (code, "proof_stale") || g_str_equal (code, "invalid_proof"))) ||
         (status == SOUP_STATUS_SERVICE_UNAVAILABLE && g_str_equal (code, "busy"));
}

/*
 * POSTs @body with "proof" set to a proof of type @typ over @claims (and
 * @header, nullable): self-timed first, one request; with a nonce when the
 * MP wants one (its clock is another, its replay guard is full).
 * Returns: the MP's answer (any status, in @status), or NULL with @error
 */
static JsonObject *
eh_client_post_proved (EhClient *client, const char *path, const char *typ, JsonObject *claims, JsonObject *header,
                       JsonObject *body, guint *status, GError **error)
{
  g_autoptr (JsonObject) answer = NULL;

  for (guint attempt = 0; attempt < 2; attempt++) {
    g_autofree char *proof = NULL;
    g_autoptr (JsonNode) node = NULL;

    g_clear_pointer (&answer, json_object_unref);
    json_object_remove_member (claims, "jti");
    json_object_remove_member (claims, "iat");
    proof = attempt == 0 ? eh_client_timed_proof (client, typ, claims, header, error)
                         : eh_client_proof (client, typ, claims, header, error);
    if (proof == NULL)
      return NULL;
    json_object_set_string_member (body, "proof", proof);
    node = eh_client_object_node (json_object_ref (body));
    answer = eh_client_http_json (client, "POST", path, node, NULL, status, error);
    if (answer == NULL || !eh_client_timed_proof_refused (*status, answer))
      break;
  }
  return g_steal_pointer (&answer);
}

static JsonObject *
eh_client_public_jwk (EhClient *client, char **thumbprint, GError **error)
{
  g_auto (gnutls_pubkey_t) pubkey = eh_crypto_privkey_get_pubkey (client->key, error);
  g_autoptr (JsonObject) jwk = NULL;

  if (pubkey == NULL || (jwk = eh_jws_pubkey_to_jwk (pubkey, error)) == NULL)
    return NULL;
  if (thumbprint != NULL && (*thumbprint = eh_jws_pubkey_thumbprint (pubkey, error)) == NULL)
    return NULL;
  return g_steal_pointer (&jwk);
}

gboolean
eh_client_register (EhClient *client, const char *bulk_token, const char *entra_token, char **guid, char **state,
                    GError **error)
{
  g_autoptr (JsonObject) claims = json_object_new ();
  g_autoptr (JsonObject) jwk = NULL;
  g_autoptr (JsonObject) body = json_object_new ();
  g_autoptr (JsonObject) answer = NULL;
  const char *got_guid = NULL, *got_state = NULL;
  guint status = 0;

  if (!eh_client_key_open (client, error) || (jwk = eh_client_public_jwk (client, NULL, error)) == NULL)
    return FALSE;
  json_object_set_string_member (claims, "host_name", client->site->host_name);
  json_object_set_string_member (claims, "hardware_id", client->site->hardware_id);
  json_object_set_object_member (body, "jwk", g_steal_pointer (&jwk));
  json_object_set_string_member (body, "host_name", client->site->host_name);
  json_object_set_string_member (body, "hardware_id", client->site->hardware_id);
  if (bulk_token != NULL)
    json_object_set_string_member (body, "bulk_token", bulk_token);
  if (entra_token != NULL)
    json_object_set_string_member (body, "entra_token", entra_token);
  answer = eh_client_post_proved (client, "/ehttpd/mp/register", EH_CLIENT_REGISTER_TYP, claims, NULL, body,
                                  &status, error);
  if (answer == NULL)
    return FALSE;
  if (status != SOUP_STATUS_OK && status != SOUP_STATUS_CREATED) {
    eh_client_http_refused (client, "registration", status, answer, error);
    return FALSE;
  }
  if (!eh_json_object_get_string_checked (answer, "client_guid", &got_guid, error) ||
      !eh_json_object_get_string_checked (answer, "state", &got_state, error) ||
      !eh_client_save_registration (client, got_guid, got_state, error))
    return FALSE;
  *guid = g_strdup (got_guid);
  *state = g_strdup (got_state);
  return TRUE;
}

static guint
eh_client_count_dots (const char *text)
{
  guint dots = 0;

  for (; *text != '\0'; text++)
    dots += *text == '.';
  return dots;
}

/* the claims of a compact JWS, unverified: only to learn a token's own lifetime */
static JsonObject *
eh_client_peek_claims (const char *jws, GError **error)
{
  const char *first = strchr (jws, '.');
  const char *second = first != NULL ? strchr (first + 1, '.') : NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (second == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not a compact JWS");
    return NULL;
  }
  payload = eh_base64url_decode (first + 1, second - first - 1, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, error);
  if (payload == NULL)
    return NULL;
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               EH_JWS_DEFAULT_MAX_TOKEN_BYTES, 4, error);
  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's claims are not an object");
    return NULL;
  }
  return json_object_ref (json_node_get_object (node));
}

/* the kept token if it is still in its first two thirds (by this host's clock since it came) */
static char *
eh_client_token_kept (EhClient *client, gint64 *expires_at)
{
  g_autoptr (JsonNode) node = eh_client_state_read_json (client->state_dir, EH_CLIENT_TOKEN_FILE, NULL);
  JsonObject *object;
  const char *token = NULL;
  gint64 received = 0, lifetime = 0, now = g_get_real_time () / G_USEC_PER_SEC;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  if (!eh_json_object_get_string_checked (object, "token", &token, NULL) ||
      !eh_json_object_get_int_checked (object, "received_at", &received, NULL) ||
      !eh_json_object_get_int_checked (object, "lifetime", &lifetime, NULL) ||
      !eh_json_object_get_int_checked (object, "expires_at", expires_at, NULL))
    return NULL;
  if (g_strcmp0 (json_object_get_string_member_with_default (object, "client_guid", ""),
                 client->client_guid) != 0)
    return NULL;
  /* a clock that went back also renews */
  if (now < received || now >= received + lifetime * 2 / 3)
    return NULL;
  return g_strdup (token);
}

static gboolean
eh_client_token_save (EhClient *client, const char *token, gint64 expires_at, gint64 lifetime, GError **error)
{
  JsonObject *object = json_object_new ();
  g_autoptr (JsonNode) node = eh_client_object_node (object);

  json_object_set_string_member (object, "token", token);
  json_object_set_string_member (object, "client_guid", client->client_guid);
  json_object_set_int_member (object, "expires_at", expires_at);
  json_object_set_int_member (object, "lifetime", lifetime);
  json_object_set_int_member (object, "received_at", g_get_real_time () / G_USEC_PER_SEC);
  return eh_client_state_write_json (client->state_dir, EH_CLIENT_TOKEN_FILE, node, error);
}

/* a refusal that says something about this client's state is recorded */
static void
eh_client_token_note_state (EhClient *client, JsonObject *answer)
{
  const char *code = json_object_get_string_member_with_default (answer, "error", "");
  const char *state = g_strcmp0 (code, "client_pending") == 0   ? "pending"
                      : g_strcmp0 (code, "client_blocked") == 0 ? "blocked"
                      : g_strcmp0 (code, "client_unknown") == 0 ? "unregistered"
                                                                : NULL;

  if (state != NULL && client->client_guid != NULL)
    eh_client_save_registration (client, client->client_guid, state, NULL);
}

/*
 * A new client token by proof of possession; with @entra_token, by the
 * MP's Entra exchange (the same proof and an Entra ID token: the token
 * then carries that identity).
 */
static char *
eh_client_token_obtain (EhClient *client, const char *entra_token, GError **error)
{
  g_autoptr (JsonObject) claims = json_object_new ();
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (JsonObject) jwk = NULL;
  g_autoptr (JsonObject) body = json_object_new ();
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (JsonObject) token_claims = NULL;
  g_autofree char *thumbprint = NULL;
  const char *token = NULL, *guid = NULL;
  gint64 expires_at = 0, issued_at = 0;
  guint status = 0;

  if (!eh_client_key_open (client, error) || (jwk = eh_client_public_jwk (client, &thumbprint, error)) == NULL)
    return NULL;
  json_object_set_string_member (header, "kid", thumbprint);
  if (entra_token != NULL)
    json_object_set_string_member (body, "entra_token", entra_token);
  answer = eh_client_post_proved (client, entra_token != NULL ? EH_CLIENT_STS_PATH : EH_CLIENT_TOKEN_PATH,
                                  EH_CLIENT_TOKEN_TYP, claims, header, body, &status, error);
  if (answer == NULL)
    return NULL;
  if (status != SOUP_STATUS_OK) {
    eh_client_token_note_state (client, answer);
    eh_client_http_refused (client, entra_token != NULL ? "Entra exchange" : "client token", status, answer,
                            error);
    return NULL;
  }
  if (!eh_json_object_get_string_checked (answer, "token", &token, error) ||
      !eh_json_object_get_string_checked (answer, "client_guid", &guid, error) ||
      !eh_json_object_get_int_checked (answer, "expires_at", &expires_at, error) ||
      (token_claims = eh_client_peek_claims (token, error)) == NULL ||
      !eh_json_object_get_int_checked (token_claims, "iat", &issued_at, error))
    return NULL;
  if (expires_at <= issued_at) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the MP sent a token that expires when it is issued");
    return NULL;
  }
  if (g_strcmp0 (client->client_state, "approved") != 0 || g_strcmp0 (client->client_guid, guid) != 0)
    eh_client_save_registration (client, guid, "approved", NULL);
  if (!eh_client_token_save (client, token, expires_at, expires_at - issued_at, error))
    return NULL;
  return g_strdup (token);
}

/*
 * The client token for the next MP call: the kept one while it is in its
 * first two thirds, else a new one. @force: a new one whatever is kept (the
 * MP refused the kept one).
 */
gboolean
eh_client_token_ensure (EhClient *client, gboolean force, char **token, GError **error)
{
  gint64 expires_at = 0;

  if (client->client_guid == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "this client is not registered: run "
                 "'ehttp-client register' first");
    return FALSE;
  }
  if (!force && (*token = eh_client_token_kept (client, &expires_at)) != NULL)
    return TRUE;
  *token = eh_client_token_obtain (client, NULL, error);
  return *token != NULL;
}

/* a client token carrying the identity of @entra_token (kept like any client token) */
gboolean
eh_client_token_exchange (EhClient *client, const char *entra_token, char **token, GError **error)
{
  if (client->client_guid == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "this client is not registered: run "
                 "'ehttp-client register' first");
    return FALSE;
  }
  *token = eh_client_token_obtain (client, entra_token, error);
  return *token != NULL;
}

/* (nullable) the `entra` claim of the kept token: whom it was exchanged for */
JsonObject *
eh_client_token_entra (EhClient *client)
{
  g_autoptr (JsonNode) node = eh_client_state_read_json (client->state_dir, EH_CLIENT_TOKEN_FILE, NULL);
  g_autoptr (JsonObject) claims = NULL;
  const char *token = NULL;
  JsonNode *entra;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !eh_json_object_get_string_checked (json_node_get_object (node), "token", &token, NULL) ||
      (claims = eh_client_peek_claims (token, NULL)) == NULL)
    return NULL;
  entra = json_object_get_member (claims, "entra");
  if (entra == NULL || !JSON_NODE_HOLDS_OBJECT (entra))
    return NULL;
  return json_object_ref (json_node_get_object (entra));
}

/* an Entra ID token from a file: shaped like a compact JWS, or a usage error */
char *
eh_client_entra_read (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, error)) {
    g_prefix_error (error, "--entra-token: ");
    if (error != NULL && *error != NULL) {
      (*error)->domain = EH_ERROR;
      (*error)->code = EH_ERROR_INVALID_ARGUMENT;
    }
    return NULL;
  }
  g_strstrip (text);
  if (len > EH_CLIENT_MAX_ENTRA_BYTES || strlen (text) == 0 ||
      strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen (text) ||
      eh_client_count_dots (text) != 2) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s does not hold a compact JWS (an Entra ID token)",
                 path);
    return NULL;
  }
  return g_steal_pointer (&text);
}

/* the token's expiry as kept (0 when none) */
gint64
eh_client_token_expiry (EhClient *client)
{
  g_autoptr (JsonNode) node = eh_client_state_read_json (client->state_dir, EH_CLIENT_TOKEN_FILE, NULL);
  gint64 expires_at = 0;

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    eh_json_object_get_int_checked (json_node_get_object (node), "expires_at", &expires_at, NULL);
  return expires_at;
}

/*
 * A GET of @path at the MP with the client token: renewed first when due,
 * and once more if the MP refuses the kept one as invalid (a restart of
 * the MP's keys, a clock far off). Returns the answer of a 200.
 */
GBytes *
eh_client_mp_get (EhClient *client, const char *path, GError **error)
{
  for (guint attempt = 0; attempt < 2; attempt++) {
    g_autofree char *token = NULL;
    g_autoptr (GError) local = NULL;
    GBytes *answer;

    if (!eh_client_token_ensure (client, attempt > 0, &token, error))
      return NULL;
    answer = eh_client_http_get_bytes (client, path, token, &local);
    if (answer != NULL)
      return answer;
    if (attempt == 0 && g_error_matches (local, EH_CLIENT_ERROR_HTTP, SOUP_STATUS_UNAUTHORIZED))
      continue;
    g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }
  g_assert_not_reached ();
}
