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
 *   POST register  a client registers its key (eh-mp-register-http.c)
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
  paused->quick = NULL;
  soup_server_message_pause (paused->msg);
}

void
eh_mp_paused_init_quick (EhMpPaused *paused, EhMp *mp, EhQuickRequest *request)
{
  paused->mp = mp;
  paused->msg = NULL;
  paused->request_id = g_strdup (eh_quick_request_get_id (request));
  paused->quick = eh_quick_request_hold (request);
}

void
eh_mp_paused_finish (EhMpPaused *paused)
{
  if (paused->quick != NULL) {
    g_clear_pointer (&paused->quick, eh_quick_request_unref);
    g_clear_pointer (&paused->request_id, g_free);
    return;
  }
  if (paused->msg == NULL)
    return;
  soup_server_message_unpause (paused->msg);
  g_clear_object (&paused->msg);
  g_clear_pointer (&paused->request_id, g_free);
}

void
eh_mp_paused_json (EhMpPaused *paused, guint status, const char *json)
{
  g_autoptr (GBytes) body = NULL;

  if (paused->msg != NULL) {
    eh_mp_http_message_json (paused->msg, status, json);
    return;
  }
  /* the very bytes libsoup writes for eh_mp_http_message_json() */
  body = g_bytes_new (json, strlen (json));
  eh_quick_request_add_header (paused->quick, "Cache-Control", "no-store");
  eh_quick_request_answer (paused->quick, status, "application/json", body);
}

void
eh_mp_http_json (EhRequest *request, guint status, const char *json)
{
  eh_mp_http_message_json (eh_request_get_message (request), status, json);
}

/* {"error", "reason", "message", "request_id"}: a stable code, a clear
 * message, the log line and the record `ehttpctl explain` reads */
static char *
eh_mp_http_refusal (EhMp *mp, const char *path, const char *request_id, EhMpReason reason,
                    const char *subject, const char *message, guint *status)
{
  const EhMpReasonInfo *info = eh_mp_reason_info (reason);
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
  *status = info->status;
  return g_steal_pointer (&json);
}

void
eh_mp_http_message_refuse (EhMp *mp, SoupServerMessage *msg, const char *request_id, EhMpReason reason,
                           const char *subject, const char *message)
{
  guint status = 0;
  g_autofree char *json = eh_mp_http_refusal (mp, g_uri_get_path (soup_server_message_get_uri (msg)),
                                              request_id, reason, subject, message, &status);

  eh_mp_http_message_json (msg, status, json);
}

void
eh_mp_paused_refuse (EhMpPaused *paused, EhMpReason reason, const char *subject, const char *message)
{
  guint status = 0;
  g_autofree char *json = NULL;

  if (paused->msg != NULL) {
    eh_mp_http_message_refuse (paused->mp, paused->msg, paused->request_id, reason, subject, message);
    return;
  }
  json = eh_mp_http_refusal (paused->mp, eh_quick_request_get_path (paused->quick), paused->request_id,
                             reason, subject, message, &status);
  eh_mp_paused_json (paused, status, json);
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

gboolean
eh_mp_http_start (EhMp *mp, GError **error)
{
  EhSchemes public = eh_mp_mode_public_schemes (mp->mode);
  EhSchemes sensitive = eh_mp_mode_registration_schemes (mp->mode);
  const EhEndpoint endpoints[] = {
    { "GET", EH_MP_HTTP_PREFIX "/site", public, 0, eh_mp_http_site },
    { "GET", EH_MP_HTTP_PREFIX "/nonce", sensitive, 0, eh_mp_http_nonce },
  };

  for (guint i = 0; i < G_N_ELEMENTS (endpoints); i++) {
    if (!eh_plugin_add_endpoint (mp->plugin, &endpoints[i], mp, error))
      return FALSE;
  }
  return eh_mp_register_http_start (mp, error);
}
