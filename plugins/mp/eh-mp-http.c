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
eh_mp_http_json (EhRequest *request, guint status, const char *json)
{
  eh_mp_http_message_json (eh_request_get_message (request), status, json);
}

/* {"error": code, "message": text}: a stable code and a clear reason */
void
eh_mp_http_message_refuse (SoupServerMessage *msg, const char *request_id, guint status,
                           const char *code, const char *message)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_set_member_name (builder, "request_id");
  json_builder_add_string_value (builder, request_id);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  g_info ("%s: refused %s (%s): %s", request_id,
          g_uri_get_path (soup_server_message_get_uri (msg)), code, message);
  eh_mp_http_message_json (msg, status, json);
}

void
eh_mp_http_refuse (EhRequest *request, guint status, const char *code, const char *message)
{
  eh_mp_http_message_refuse (eh_request_get_message (request), eh_request_get_id (request), status,
                             code, message);
}

static void
eh_mp_http_site (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = eh_mp_site_info_json (mp, &error);

  if (json == NULL) {
    eh_mp_http_refuse (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "site_unavailable", error->message);
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
    eh_mp_http_refuse (request, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy", error->message);
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
eh_mp_http_bulk_refusal (const char *code)
{
  if (g_strcmp0 (code, "bulk_token_blocked") == 0)
    return "the bulk registration token is blocked by the site's administrator; nothing was stored";
  if (g_strcmp0 (code, "bulk_token_expired") == 0)
    return "the bulk registration token has expired; nothing was stored";
  if (g_strcmp0 (code, "bulk_token_exhausted") == 0)
    return "the bulk registration token has been used as often as allowed; nothing was stored";
  return "the bulk registration token is not one this site issued; nothing was stored";
}

static void
eh_mp_http_register (EhRequest *request, gpointer user_data)
{
  EhMp *mp = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (EhMpRegistration) registration = NULL;
  g_autoptr (EhMpClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  gboolean created = FALSE;

  registration = eh_mp_registration_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                           mp->nonces, &error);
  if (registration == NULL) {
    eh_mp_http_refuse (request, SOUP_STATUS_BAD_REQUEST,
                       g_error_matches (error, EH_ERROR, EH_ERROR_INVALID_TOKEN) ? "invalid_proof"
                                                                                : "invalid_request",
                       error->message);
    return;
  }
  client = eh_mp_records_register (mp->store, registration, mp->auto_approve,
                                   eh_request_get_peer_address (request), &created, &error);
  if (client == NULL && g_error_matches (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED)) {
    eh_mp_http_refuse (request, SOUP_STATUS_FORBIDDEN, error->message,
                       eh_mp_http_bulk_refusal (error->message));
    return;
  }
  if (client == NULL) {
    g_warning ("%s: a registration was not recorded: %s", eh_request_get_id (request), error->message);
    eh_mp_http_refuse (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "store_failed",
                       "the registration could not be recorded; try again later");
    return;
  }
  if (client->state == EH_MP_CLIENT_BLOCKED) {
    eh_mp_http_refuse (request, SOUP_STATUS_FORBIDDEN, "client_blocked",
                       "this client is blocked by the site's administrator");
    return;
  }
  if (created)
    g_message ("client %s registered: host %s, %s key %s, %s", client->guid, client->host_name,
               client->key_type, client->thumbprint, eh_mp_client_state_to_string (client->state));
  json = eh_mp_http_client_json (client, created);
  eh_mp_http_json (request, created ? SOUP_STATUS_CREATED : SOUP_STATUS_OK, json);
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
