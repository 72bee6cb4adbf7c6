/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Client tokens: compact JWS, ES256, typ client+jwt, x5t#S256 naming this
 * MP's token signing certificate. Claims: iss (site code), sub (client
 * GUID), aud ("ehttpd:<site>:mp", every MP of the site), iat, nbf, exp, jti
 * and cnf.jkt (RFC 7638 thumbprint of the client's key). Any JOSE library
 * verifies them with the site's trust bundle; eh_mp_client_token_check()
 * is this MP's own check on later calls.
 */

#define EH_MP_TOKEN_MAX_BYTES (8 * 1024)
#define EH_MP_TOKEN_DEPTH 4

EhMpTokenKey *
eh_mp_token_key_ref (EhMpTokenKey *key)
{
  g_atomic_int_inc (&key->ref_count);
  return key;
}

void
eh_mp_token_key_unref (EhMpTokenKey *key)
{
  if (key == NULL || !g_atomic_int_dec_and_test (&key->ref_count))
    return;
  if (key->key != NULL)
    gnutls_privkey_deinit (key->key);
  if (key->pub != NULL)
    gnutls_pubkey_deinit (key->pub);
  if (key->cert != NULL)
    gnutls_x509_crt_deinit (key->cert);
  g_free (key->x5t);
  g_free (key->client_header);
  g_free (key->serial);
  g_free (key->key_file);
  g_free (key);
}

EhMpTokenKey *
eh_mp_token_key_sign_begin (EhMpTokenKey *key)
{
  key->signing++;
  return eh_mp_token_key_ref (key);
}

static void
eh_mp_token_key_forget_private (EhMpTokenKey *key)
{
  if (key->state == EH_MP_TOKEN_KEY_RETIRED && key->signing == 0)
    g_clear_pointer (&key->key, gnutls_privkey_deinit);
}

void
eh_mp_token_key_sign_end (EhMpTokenKey *key)
{
  g_return_if_fail (key->signing > 0);
  key->signing--;
  eh_mp_token_key_forget_private (key);
  eh_mp_token_key_unref (key);
}

void
eh_mp_token_key_retire (EhMpTokenKey *key)
{
  key->state = EH_MP_TOKEN_KEY_RETIRED;
  eh_mp_token_key_forget_private (key);
}

EhMpTokenKey *
eh_mp_token_key_new (gnutls_privkey_t key, gnutls_x509_crt_t cert, GError **error)
{
  g_autoptr (EhMpTokenKey) token_key = g_new0 (EhMpTokenKey, 1);
  guchar serial[64];
  size_t serial_len = sizeof serial;

  token_key->ref_count = 1;
  token_key->key = key;
  token_key->cert = cert;
  if (gnutls_pubkey_init (&token_key->pub) < 0 ||
      gnutls_pubkey_import_x509 (token_key->pub, cert, 0) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot read a token signing certificate's key");
    return NULL;
  }
  token_key->x5t = eh_jws_cert_thumbprint (cert, error);
  if (token_key->x5t == NULL)
    return NULL;
  {
    g_autoptr (JsonObject) header = json_object_new ();

    json_object_set_string_member (header, "x5t#S256", token_key->x5t);
    token_key->client_header = eh_jws_header_encode (EH_JWS_ALG_ES256, EH_MP_CLIENT_TOKEN_TYP, header, error);
    if (token_key->client_header == NULL)
      return NULL;
  }
  if (gnutls_x509_crt_get_serial (cert, serial, &serial_len) >= 0) {
    GString *hex = g_string_new (NULL);

    for (size_t i = 0; i < serial_len; i++)
      g_string_append_printf (hex, "%02x", serial[i]);
    token_key->serial = g_string_free (hex, FALSE);
  }
  token_key->not_before = gnutls_x509_crt_get_activation_time (cert);
  token_key->not_after = gnutls_x509_crt_get_expiration_time (cert);
  return g_steal_pointer (&token_key);
}

EhMpTokenKey *
eh_mp_token_keys_find (GPtrArray *keys, EhMpTokenKeyState state)
{
  for (guint i = 0; keys != NULL && i < keys->len; i++) {
    EhMpTokenKey *key = g_ptr_array_index (keys, i);

    if (key->state == state)
      return key;
  }
  return NULL;
}

char *
eh_mp_client_token_audience (const char *site)
{
  return g_strdup_printf ("ehttpd:%s:mp", site);
}

char *
eh_mp_token_sign (const EhMpTokenKey *key, const char *typ, const char *site, const char *sub,
                  JsonNode *aud, JsonObject *extra, guint lifetime, gint64 now, gint64 *expires_at,
                  GError **error)
{
  g_autoptr (JsonObject) claims = json_object_new ();
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) header = json_object_new ();
  g_autofree char *jti = g_uuid_string_random ();
  g_autofree char *text = NULL;
  g_autoptr (GBytes) payload = NULL;
  gint64 exp = now + lifetime;

  /* a token never outlives the certificate that signs it */
  if (exp > key->not_after)
    exp = key->not_after;
  json_object_set_string_member (claims, "iss", site);
  json_object_set_string_member (claims, "sub", sub);
  json_object_set_member (claims, "aud", aud);
  json_object_set_int_member (claims, "iat", now);
  json_object_set_int_member (claims, "nbf", now);
  json_object_set_int_member (claims, "exp", exp);
  json_object_set_string_member (claims, "jti", jti);
  if (extra != NULL) {
    JsonObjectIter iter;
    const char *name;
    JsonNode *value;

    json_object_iter_init (&iter, extra);
    while (json_object_iter_next (&iter, &name, &value))
      json_object_set_member (claims, name, json_node_copy (value));
  }
  json_node_set_object (root, claims);
  text = json_to_string (root, FALSE);
  payload = g_bytes_new (text, strlen (text));
  json_object_set_string_member (header, "x5t#S256", key->x5t);
  if (expires_at != NULL)
    *expires_at = exp;
  return eh_jws_sign (key->key, EH_JWS_ALG_ES256, typ, header, payload, error);
}

static JsonObject *
eh_mp_token_cnf (const char *jkt)
{
  JsonObject *extra = json_object_new ();
  JsonObject *cnf = json_object_new ();

  json_object_set_string_member (cnf, "jkt", jkt);
  json_object_set_object_member (extra, "cnf", cnf);
  return extra;
}

/* the claims of eh_mp_token_sign for a client token without an Entra
 * identity, written directly: every value is a GUID, our base64url, a
 * number or a site code of plain characters (else NULL: the general way) */
static char *
eh_mp_client_token_claims (const char *site, const EhMpClient *client, gint64 now, gint64 exp)
{
  g_autofree char *jti = NULL;

  if (!eh_text_is_word (site, 1, 64, "-_.") || !eh_text_is_word (client->thumbprint, 1, 128, "-_") ||
      !g_uuid_string_is_valid (client->guid))
    return NULL;
  jti = g_uuid_string_random ();
  return g_strdup_printf ("{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"ehttpd:%s:mp\",\"iat\":%" G_GINT64_FORMAT
                          ",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT ",\"jti\":\"%s\","
                          "\"cnf\":{\"jkt\":\"%s\"}}",
                          site, client->guid, site, now, now, exp, jti, client->thumbprint);
}

char *
eh_mp_client_token_issue (const EhMpTokenKey *key, const char *site, const EhMpClient *client,
                          const EhMpEntraIdentity *entra, guint lifetime, gint64 now, gint64 *expires_at,
                          GError **error)
{
  g_autofree char *audience = NULL;
  g_autofree char *claims = NULL;
  g_autoptr (JsonObject) extra = NULL;
  gint64 exp = MIN (now + (gint64) lifetime, key->not_after);
  JsonNode *aud;

  /* the common case: the header made once per key, the claims in one go */
  if (entra == NULL && (claims = eh_mp_client_token_claims (site, client, now, exp)) != NULL) {
    if (expires_at != NULL)
      *expires_at = exp;
    return eh_jws_sign_encoded (key->key, EH_JWS_ALG_ES256, key->client_header, claims, strlen (claims), error);
  }
  audience = eh_mp_client_token_audience (site);
  extra = eh_mp_token_cnf (client->thumbprint);
  aud = json_node_new (JSON_NODE_VALUE);
  if (entra != NULL)
    json_object_set_object_member (extra, "entra", eh_mp_entra_identity_to_claim (entra));

  json_node_set_string (aud, audience);
  return eh_mp_token_sign (key, EH_MP_CLIENT_TOKEN_TYP, site, client->guid, aud, extra, lifetime, now,
                           expires_at, error);
}

char *
eh_mp_content_token_issue (const EhMpTokenKey *key, const char *site, const char *client_guid,
                           const char *const *dps, const char *content_id,
                           const char *manifest_sha256, const char *jkt, guint lifetime,
                           gint64 now, gint64 *expires_at, GError **error)
{
  g_autoptr (JsonObject) extra = jkt != NULL ? eh_mp_token_cnf (jkt) : json_object_new ();
  JsonObject *content = json_object_new ();
  JsonArray *names = json_array_new ();
  JsonNode *aud = json_node_new (JSON_NODE_ARRAY);
  guint count = dps != NULL ? g_strv_length ((char **) dps) : 0;

  if (count == 0 || count > EH_MP_MAX_DPS_PER_CONTENT) {
    json_object_unref (content);
    json_array_unref (names);
    json_node_unref (aud);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a content token names 1 to %d DPs",
                 EH_MP_MAX_DPS_PER_CONTENT);
    return NULL;
  }
  for (guint i = 0; i < count; i++)
    json_array_add_string_element (names, dps[i]);
  json_node_take_array (aud, names);
  json_object_set_string_member (content, content_id, manifest_sha256);
  json_object_set_object_member (extra, "content", content);
  return eh_mp_token_sign (key, EH_MP_CONTENT_TOKEN_TYP, site, client_guid, aud, extra, lifetime, now,
                           expires_at, error);
}

typedef struct {
  GPtrArray *keys;
  gint64 now;
} EhMpTokenLookup;

/* x5t#S256 is a lookup into this MP's own certificates, never anything else */
static gnutls_pubkey_t
eh_mp_token_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  static const char *const members[] = { "alg", NULL };
  static const char *const optional[] = { "typ", "x5t#S256", NULL };
  g_autoptr (GError) local = NULL;
  EhMpTokenLookup *lookup = user_data;
  const char *x5t = NULL;

  /* our tokens carry exactly these: a kid or anything else did not come from us */
  if (!eh_mp_json_check_members (header, members, optional, "the token's header", &local)) {
    g_set_error_literal (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, local->message);
    return NULL;
  }
  if (!json_object_has_member (header, "x5t#S256") ||
      !eh_json_object_get_string_checked (header, "x5t#S256", &x5t, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token names no signing certificate");
    return NULL;
  }
  for (guint i = 0; lookup->keys != NULL && i < lookup->keys->len; i++) {
    EhMpTokenKey *key = g_ptr_array_index (lookup->keys, i);

    if (strcmp (key->x5t, x5t) == 0 && key->not_after > lookup->now) {
      *alg = EH_JWS_ALG_ES256;
      return eh_mp_pubkey_copy (key->pub, error);
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN,
               "the token was not signed by a current token signing certificate of this MP");
  return NULL;
}

static gboolean
eh_mp_token_claim_int (JsonObject *claims, const char *member, gint64 *out, GError **error)
{
  if (!json_object_has_member (claims, member) ||
      !eh_json_object_get_int_checked (claims, member, out, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's \"%s\" is missing or not an integer",
                 member);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_mp_token_claim_string (JsonObject *claims, const char *member, const char **out, GError **error)
{
  if (!json_object_has_member (claims, member) ||
      !eh_json_object_get_string_checked (claims, member, out, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's \"%s\" is missing or not a string",
                 member);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_mp_token_check_audience (JsonObject *claims, const char *audience, GError **error)
{
  JsonNode *aud = json_object_get_member (claims, "aud");

  if (aud != NULL && JSON_NODE_HOLDS_VALUE (aud) && json_node_get_value_type (aud) == G_TYPE_STRING &&
      g_strcmp0 (json_node_get_string (aud), audience) == 0)
    return TRUE;
  if (aud != NULL && JSON_NODE_HOLDS_ARRAY (aud)) {
    JsonArray *array = json_node_get_array (aud);

    for (guint i = 0; i < json_array_get_length (array); i++) {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING &&
          g_strcmp0 (json_node_get_string (element), audience) == 0)
        return TRUE;
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not meant for this site's MPs");
  return FALSE;
}

/* iss, aud, exp/nbf (with leeway), and the key binding; returns sub */
static const char *
eh_mp_token_check_claims (JsonObject *claims, const char *site, gint64 now, const char **jkt,
                          GError **error)
{
  g_autofree char *audience = eh_mp_client_token_audience (site);
  const char *iss = NULL, *sub = NULL;
  gint64 exp = 0, nbf = 0, iat = 0;
  JsonNode *cnf = json_object_get_member (claims, "cnf");

  if (!eh_mp_token_claim_string (claims, "iss", &iss, error) ||
      !eh_mp_token_claim_string (claims, "sub", &sub, error) ||
      !eh_mp_token_claim_int (claims, "exp", &exp, error) ||
      !eh_mp_token_claim_int (claims, "nbf", &nbf, error) ||
      !eh_mp_token_claim_int (claims, "iat", &iat, error) ||
      !eh_mp_token_check_audience (claims, audience, error))
    return NULL;
  if (strcmp (iss, site) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token was issued by another site");
    return NULL;
  }
  if (exp + EH_MP_TOKEN_LEEWAY_SECONDS <= now) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token has expired");
    return NULL;
  }
  if (nbf - EH_MP_TOKEN_LEEWAY_SECONDS > now) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not valid yet");
    return NULL;
  }
  if (cnf == NULL || !JSON_NODE_HOLDS_OBJECT (cnf) ||
      !eh_mp_token_claim_string (json_node_get_object (cnf), "jkt", jkt, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not bound to a client key");
    return NULL;
  }
  return sub;
}

EhMpClient *
eh_mp_client_token_check (GPtrArray *keys, const char *site, EhStore *store, const char *token,
                          gint64 now, EhMpEntraIdentity **entra, GError **error)
{
  EhMpTokenLookup lookup = { keys, now };
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (EhMpClient) client = NULL;
  const char *sub = NULL, *jkt = NULL;

  if (site == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE, "this MP does not know its site yet");
    return NULL;
  }
  if (!eh_jws_verify (token, EH_MP_TOKEN_MAX_BYTES, EH_JWS_ALG_ES256, EH_MP_CLIENT_TOKEN_TYP,
                      eh_mp_token_lookup, &lookup, NULL, &payload, &local)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the client token does not verify: %s",
                 local->message);
    return NULL;
  }
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               EH_MP_TOKEN_MAX_BYTES, EH_MP_TOKEN_DEPTH, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the client token's claims are not a JSON object");
    return NULL;
  }
  sub = eh_mp_token_check_claims (json_node_get_object (node), site, now, &jkt, error);
  if (sub == NULL)
    return NULL;
  if (!g_uuid_string_is_valid (sub) ||
      (client = eh_mp_records_get (store, sub, &local)) == NULL) {
    if (local != NULL && !g_error_matches (local, EH_ERROR, EH_ERROR_NOT_FOUND)) {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token names no registered client");
    return NULL;
  }
  if (strcmp (client->thumbprint, jkt) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is bound to another key");
    return NULL;
  }
  if (entra != NULL)
    *entra = eh_mp_entra_identity_from_claim (json_object_get_member (json_node_get_object (node), "entra"));
  return g_steal_pointer (&client);
}
