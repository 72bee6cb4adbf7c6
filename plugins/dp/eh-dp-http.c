/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * GET /CCMTOKENAUTH_SMS_DP_SMSSIG$/<content id>: the signed manifest, over
 * HTTPS only. It is public content metadata (clients check the signature
 * with the site signing certificate), served from memory, with a strong
 * ETag. Content downloads with tokens are in eh-dp-download.c.
 */

#define EH_DP_HTTP_MANIFEST_PREFIX "/CCMTOKENAUTH_SMS_DP_SMSSIG$"

static void
eh_dp_http_manifest (EhRequest *request, gpointer user_data)
{
  EhDp *dp = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *subpath = eh_request_get_subpath (request);
  const char *if_none_match;
  const EhDpManifest *manifest;

  if (subpath[0] != '/' || !eh_dp_content_id_is_valid (subpath + 1)) {
    eh_request_respond_text (request, SOUP_STATUS_BAD_REQUEST,
                             "ask for " EH_DP_HTTP_MANIFEST_PREFIX "/<content id>, e.g. PS100001");
    return;
  }
  manifest = eh_dp_library_lookup (dp->library, subpath + 1);
  if (manifest == NULL) {
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND, "no such content");
    return;
  }
  soup_message_headers_replace (headers, "ETag", manifest->etag);
  soup_message_headers_replace (headers, "Cache-Control", "max-age=60");
  if_none_match = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                "If-None-Match");
  if (if_none_match != NULL && strcmp (if_none_match, manifest->etag) == 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
    return;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/jose", SOUP_MEMORY_COPY, manifest->jws,
                                    strlen (manifest->jws));
}

gboolean
eh_dp_http_start (EhDp *dp, GError **error)
{
  const EhEndpoint endpoint = { "GET", EH_DP_HTTP_MANIFEST_PREFIX, EH_SCHEME_HTTPS, 0,
                                eh_dp_http_manifest };

  return eh_plugin_add_endpoint (dp->plugin, &endpoint, dp, error);
}
