/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * GET /ehttpd/mp/content/<id>  Bearer client token → the DPs that hold the
 * content installed (healthy first, then most recent report) and one
 * content token every one of them accepts, so the client can fail over
 * without coming back. HTTPS only, in every mode. Where content is comes
 * from dp.content.status events (eh-mp-locate.c).
 */

static void
eh_mp_locate_status (const char *topic, GVariant *payload, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GError) error = NULL;
  const char *dp = "", *url = "", *content_id = "", *state = "", *sha = "";
  guint64 bytes = 0;

  /* the bus checked the declared keys and their types */
  g_variant_lookup (payload, EH_KEY_DP_NAME, "&s", &dp);
  g_variant_lookup (payload, EH_KEY_DP_URL, "&s", &url);
  g_variant_lookup (payload, EH_KEY_CONTENT_ID, "&s", &content_id);
  g_variant_lookup (payload, EH_KEY_STATE, "&s", &state);
  g_variant_lookup (payload, EH_KEY_BYTES, "t", &bytes);
  g_variant_lookup (payload, EH_KEY_MANIFEST_SHA256, "&s", &sha);
  if (!eh_mp_locator_take (mp->locator, dp, url, content_id, state, bytes, sha, &error))
    g_info ("%s", error->message);
  else
    g_debug ("content %s on %s: %s", content_id, dp, state);
}

static char *
eh_mp_locate_json (GPtrArray *found, const char *content_id, const char *token, gint64 expires_at)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  const EhMpDpHolding *best = g_ptr_array_index (found, 0);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "content_id");
  json_builder_add_string_value (builder, content_id);
  json_builder_set_member_name (builder, "manifest_sha256");
  json_builder_add_string_value (builder, best->manifest_sha256);
  json_builder_set_member_name (builder, "dps");
  json_builder_begin_array (builder);
  for (guint i = 0; i < found->len; i++) {
    const EhMpDpHolding *holding = g_ptr_array_index (found, i);

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "name");
    json_builder_add_string_value (builder, holding->dp);
    json_builder_set_member_name (builder, "url");
    json_builder_add_string_value (builder, holding->url);
    json_builder_set_member_name (builder, "healthy");
    json_builder_add_boolean_value (builder, holding->healthy);
    json_builder_set_member_name (builder, "near");
    json_builder_add_boolean_value (builder, holding->near);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, token);
  json_builder_set_member_name (builder, "token_type");
  json_builder_add_string_value (builder, EH_MP_CONTENT_TOKEN_TYP);
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_int_value (builder, expires_at);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static void
eh_mp_http_locate (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  const char *content_id = eh_request_get_subpath (request);
  g_autoptr (EhMpClient) client = eh_mp_token_http_authenticate (mp, request, NULL);
  g_autoptr (GPtrArray) found = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GHashTable) near = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *json = NULL;
  const EhMpTokenKey *signer = eh_mp_token_keys_signer (mp);
  const EhMpDpHolding *best;
  gint64 expires_at = 0;

  if (client == NULL)
    return;
  content_id = content_id[0] == '/' ? content_id + 1 : content_id;
  if (!eh_mp_content_id_is_valid (content_id)) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_INVALID_REQUEST, client->guid,
                       "a content id looks like PS100001");
    return;
  }
  near = eh_mp_boundary_dps_near (mp, eh_request_get_peer_address (request));
  found = eh_mp_locator_find (mp->locator, content_id, near);
  if (found->len == 0) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_CONTENT_NOT_LOCATED, client->guid,
                       "no distribution point holds this content");
    return;
  }
  if (signer == NULL || mp->site_code == NULL) {
    eh_mp_http_refuse (mp, request, EH_MP_REASON_TOKEN_KEY_UNAVAILABLE, client->guid,
                       "this MP has no token signing certificate or site yet; try again shortly");
    return;
  }
  best = g_ptr_array_index (found, 0);
  names = g_ptr_array_new ();
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (names, ((EhMpDpHolding *) g_ptr_array_index (found, i))->dp);
  g_ptr_array_add (names, NULL);
  token = eh_mp_content_token_issue (signer, mp->site_code, client->guid,
                                     (const char *const *) names->pdata, content_id,
                                     best->manifest_sha256,
                                     mp->bind_content_tokens ? client->thumbprint : NULL,
                                     mp->content_token_lifetime, g_get_real_time () / G_USEC_PER_SEC,
                                     &expires_at, &error);
  if (token == NULL) {
    g_warning ("%s: a content token could not be signed: %s", eh_request_get_id (request), error->message);
    eh_mp_http_refuse (mp, request, EH_MP_REASON_TOKEN_FAILED, client->guid,
                       "the token could not be signed; try again later");
    return;
  }
  g_info ("%s: content %s located for %s on %u DP(s)", eh_request_get_id (request), content_id,
          client->guid, found->len);
  json = eh_mp_locate_json (found, content_id, token, expires_at);
  eh_mp_http_json (request, SOUP_STATUS_OK, json);
}

gboolean
eh_mp_locate_http_start (EhMp *mp, GError **error)
{
  const EhEndpoint endpoint = { "GET", EH_MP_HTTP_PREFIX "/content", EH_SCHEME_HTTPS, 0,
                                eh_mp_http_locate };

  mp->locator = eh_mp_locator_new (EH_MP_MAX_LOCATED_CONTENTS);
  mp->status_subscription = eh_bus_subscribe (mp->bus, EH_TOPIC_DP_CONTENT_STATUS, eh_mp_locate_status,
                                              mp, NULL);
  if (mp->status_subscription == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PLUGIN, "cannot follow %s", EH_TOPIC_DP_CONTENT_STATUS);
    return FALSE;
  }
  return eh_plugin_add_endpoint (mp->plugin, &endpoint, mp, error);
}

void
eh_mp_locate_http_stop (EhMp *mp)
{
  if (mp->status_subscription != 0)
    eh_bus_unsubscribe (mp->bus, mp->status_subscription);
  mp->status_subscription = 0;
  g_clear_pointer (&mp->locator, eh_mp_locator_free);
}
