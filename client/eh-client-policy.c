/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-client.h"
#include "eh-dp.h"
#include "eh-file.h"

/*
 * The trust bundle and signed policy. The bundle comes over HTTPS from the
 * MP host (a peer chaining to the pinned root), is parsed by the same
 * strict code the DPs use, and must name the pinned root. The site signing
 * key it lists signs policy and content manifests. Policy: the assignment
 * list is a `policy+jwt` JWS signed by that key, naming each body by its
 * SHA-256; a body that does not hash to its entry, a list whose signature
 * fails, another site or another client: refused, and nothing is used.
 */

#define EH_CLIENT_BUNDLE_PATH "/ehttpd/ca/trust-bundle.json"
#define EH_CLIENT_BUNDLE_FILE "trust-bundle.json"
#define EH_CLIENT_POLICY_PATH "/ehttpd/mp/policy"
#define EH_CLIENT_POLICY_TYP "policy+jwt"
#define EH_CLIENT_MAX_POLICY_BYTES (256 * 1024)
#define EH_CLIENT_MAX_ASSIGNMENTS 4096

void
eh_client_assignment_free (EhClientAssignment *assignment)
{
  if (assignment == NULL)
    return;
  g_free (assignment->id);
  g_free (assignment->content_id);
  g_free (assignment->action);
  g_free (assignment->target);
  g_free (assignment);
}

/* a bundle (fetched, or kept from an earlier fetch), checked to be of the pinned root and this site */
static EhDpBundle *
eh_client_bundle_check (EhClient *client, const char *json, gsize len, GError **error)
{
  g_autoptr (EhDpBundle) bundle = eh_dp_bundle_parse (json, len, g_get_real_time () / G_USEC_PER_SEC, error);
  guint8 fingerprint[32];

  if (bundle == NULL)
    return NULL;
  if (!eh_crypto_parse_fingerprint (eh_dp_bundle_get_root_fingerprint (bundle), fingerprint, error))
    return NULL;
  if (memcmp (fingerprint, client->site->root, 32) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "the trust bundle's root %s is not the pinned %s",
                 eh_dp_bundle_get_root_fingerprint (bundle), client->site->root_fingerprint);
    return FALSE;
  }
  if (g_strcmp0 (eh_dp_bundle_get_site (bundle), client->site->site) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "the trust bundle is of site %s, not %s",
                 eh_dp_bundle_get_site (bundle), client->site->site);
    return NULL;
  }
  return g_steal_pointer (&bundle);
}

static EhDpBundle *
eh_client_bundle_kept (EhClient *client, GError **error)
{
  g_autofree char *path = g_build_filename (client->state_dir, EH_CLIENT_BUNDLE_FILE, NULL);
  g_autofree char *json = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &json, &len, error))
    return NULL;
  return eh_client_bundle_check (client, json, len, error);
}

static EhDpBundle *
eh_client_bundle_fetch (EhClient *client, GError **error)
{
  /* at the MP itself: no gateway relays the bundle */
  g_autofree char *url = g_strconcat (client->site->mp_url, EH_CLIENT_BUNDLE_PATH, NULL);
  g_autofree char *path = g_build_filename (client->state_dir, EH_CLIENT_BUNDLE_FILE, NULL);
  g_autoptr (SoupMessage) msg = eh_client_message_new (client, EH_CLIENT_PEER_MP, "GET", url, NULL, error);
  g_autoptr (GBytes) answer = NULL;
  EhDpBundle *bundle;

  if (msg == NULL || (answer = eh_client_http_send (client, msg, EH_DP_BUNDLE_MAX_BYTES, error)) == NULL)
    return NULL;
  if (soup_message_get_status (msg) != SOUP_STATUS_OK) {
    eh_client_http_refused (client, "trust bundle", soup_message_get_status (msg), NULL, error);
    return NULL;
  }
  bundle = eh_client_bundle_check (client, g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), error);
  if (bundle != NULL)
    eh_file_replace (path, g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), 0600, NULL);
  return bundle;
}

/*
 * The trust bundle: fetched from the MP host over pinned HTTPS and kept;
 * the kept one when the MP cannot be reached, and first of all when a
 * download runs without the MP (a handed-over content token) or through a
 * gateway (internet mode: the MP is not reachable, and a gateway relays no
 * bundle — the one join fetched is used).
 */
gboolean
eh_client_bundle_refresh (EhClient *client, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (client->bundle != NULL)
    return TRUE;
  if ((client->without_mp || eh_client_gateway (client) != NULL) &&
      (client->bundle = eh_client_bundle_kept (client, NULL)) != NULL)
    return TRUE;
  client->bundle = eh_client_bundle_fetch (client, &local);
  if (client->bundle == NULL && !g_error_matches (local, EH_ERROR, EH_ERROR_TLS))
    client->bundle = eh_client_bundle_kept (client, NULL);
  if (client->bundle == NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return client->bundle != NULL;
}

void
eh_client_bundle_free (EhClient *client)
{
  g_clear_pointer (&client->bundle, eh_dp_bundle_free);
}

static gnutls_pubkey_t
eh_client_site_signer_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  EhClient *client = user_data;
  const char *x5t = NULL;

  if (!eh_json_object_get_string_checked (header, "x5t#S256", &x5t, error))
    return NULL;
  return eh_dp_bundle_lookup_site_signer (client->bundle, x5t, g_get_real_time () / G_USEC_PER_SEC, alg, error);
}

/* the payload of @jws (typ @typ) if the site signing key of the bundle signed it; else NULL + EH_ERROR_CRYPTO */
char *
eh_client_verify_signed (EhClient *client, const char *jws, const char *typ, gsize max, GError **error)
{
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) local = NULL;

  if (!eh_client_bundle_refresh (client, error))
    return NULL;
  if (!eh_jws_verify (jws, max, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA, typ, eh_client_site_signer_lookup, client,
                      NULL, &payload, &local)) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the site signature does not verify: %s", local->message);
    return NULL;
  }
  return g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
}

static char *
eh_client_text_of (GBytes *bytes, const char *what, GError **error)
{
  gsize len = g_bytes_get_size (bytes);
  char *text = g_strndup (g_bytes_get_data (bytes, NULL), len);

  if (strlen (text) != len || !g_utf8_validate (text, len, NULL)) {
    g_free (text);
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the %s is not text", what);
    return NULL;
  }
  return text;
}

/* the signed list: [(id, sha256)], checked to be for this site and this client */
static GPtrArray *
eh_client_policy_list (EhClient *client, GError **error)
{
  g_autoptr (GBytes) answer = eh_client_mp_get (client, EH_CLIENT_POLICY_PATH, error);
  g_autofree char *jws = NULL;
  g_autofree char *payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  JsonObject *object;
  JsonNode *assignments;
  const char *iss = NULL, *sub = NULL;

  if (answer == NULL || (jws = eh_client_text_of (answer, "policy", error)) == NULL)
    return NULL;
  g_strstrip (jws);
  payload = eh_client_verify_signed (client, jws, EH_CLIENT_POLICY_TYP, EH_CLIENT_MAX_POLICY_BYTES, error);
  if (payload == NULL)
    return NULL;
  node = eh_json_parse_strict (payload, strlen (payload), EH_CLIENT_MAX_POLICY_BYTES, 4, error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !eh_json_object_get_string_checked (object = json_node_get_object (node), "iss", &iss, error) ||
      !eh_json_object_get_string_checked (object, "sub", &sub, error)) {
    g_prefix_error (error, "signed policy: ");
    return NULL;
  }
  if (g_strcmp0 (iss, client->site->site) != 0 || g_strcmp0 (sub, client->client_guid) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the signed policy is for %s of site %s, not this client",
                 sub, iss);
    return NULL;
  }
  assignments = json_object_get_member (object, "assignments");
  if (assignments == NULL || !JSON_NODE_HOLDS_ARRAY (assignments) ||
      json_array_get_length (json_node_get_array (assignments)) > EH_CLIENT_MAX_ASSIGNMENTS) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "the signed policy has no assignment list");
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (assignments)); i++) {
    JsonNode *element = json_array_get_element (json_node_get_array (assignments), i);
    const char *id = NULL, *sha = NULL;

    if (!JSON_NODE_HOLDS_OBJECT (element) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "id", &id, error) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "sha256", &sha, error) ||
        strlen (id) == 0 || strlen (id) > 64 || strspn (id, "0123456789abcdefABCDEF-") != strlen (id) ||
        strlen (sha) != 64 || strspn (sha, "0123456789abcdef") != 64) {
      g_clear_error (error);
      g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "assignment %u of the signed policy is malformed", i);
      return NULL;
    }
    g_ptr_array_add (list, g_strdup (id));
    g_ptr_array_add (list, g_strdup (sha));
  }
  return g_steal_pointer (&list);
}

/* one body: its hash must be the signed one; then its fields */
static EhClientAssignment *
eh_client_policy_body (EhClient *client, const char *id, const char *sha256, GError **error)
{
  g_autofree char *path = g_strconcat (EH_CLIENT_POLICY_PATH "/", id, NULL);
  g_autoptr (GBytes) body = eh_client_mp_get (client, path, error);
  g_autofree char *actual = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (EhClientAssignment) assignment = g_new0 (EhClientAssignment, 1);
  JsonObject *object;
  JsonNode *target;
  const char *assignment_id = NULL, *content_id = NULL, *action = NULL;

  if (body == NULL)
    return NULL;
  actual = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, body);
  if (strcmp (actual, sha256) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO,
                 "the policy body of assignment %s does not match its signed hash (%s, signed %s)", id, actual,
                 sha256);
    return NULL;
  }
  node = eh_json_parse_strict (g_bytes_get_data (body, NULL), g_bytes_get_size (body), EH_CLIENT_MAX_JSON_BYTES, 4,
                               error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !eh_json_object_get_string_checked (object = json_node_get_object (node), "assignment_id", &assignment_id,
                                          error) ||
      !eh_json_object_get_string_checked (object, "content_id", &content_id, error) ||
      !eh_json_object_get_string_checked (object, "action", &action, error)) {
    g_prefix_error (error, "policy body %s: ", id);
    return NULL;
  }
  if (strcmp (assignment_id, id) != 0 || !eh_dp_content_id_is_valid (content_id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "policy body %s names another assignment or a bad content id",
                 id);
    return NULL;
  }
  target = json_object_get_member (object, "target");
  if (target != NULL && JSON_NODE_HOLDS_VALUE (target) && json_node_get_value_type (target) == G_TYPE_STRING)
    assignment->target = g_strdup (json_node_get_string (target));
  else if (target != NULL && JSON_NODE_HOLDS_OBJECT (target))
    assignment->target = g_strdup_printf ("collection %s", json_object_get_string_member_with_default (
                                                             json_node_get_object (target), "collection", "?"));
  else
    assignment->target = g_strdup ("?");
  assignment->id = g_strdup (id);
  assignment->content_id = g_strdup (content_id);
  assignment->action = g_strdup (action);
  return g_steal_pointer (&assignment);
}

/* every assignment of this client, verified; (transfer full) EhClientAssignment */
GPtrArray *
eh_client_policy_fetch (EhClient *client, GError **error)
{
  g_autoptr (GPtrArray) list = eh_client_policy_list (client, error);
  g_autoptr (GPtrArray) assignments = NULL;

  if (list == NULL)
    return NULL;
  assignments = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_client_assignment_free);
  for (guint i = 0; i + 1 < list->len; i += 2) {
    EhClientAssignment *assignment = eh_client_policy_body (client, g_ptr_array_index (list, i),
                                                            g_ptr_array_index (list, i + 1), error);

    if (assignment == NULL)
      return NULL;
    g_ptr_array_add (assignments, assignment);
  }
  return g_steal_pointer (&assignments);
}
