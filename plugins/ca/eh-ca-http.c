/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ca.h"

/*
 * Public material over HTTP and HTTPS, under /ehttpd/ca/:
 *   root.pem  site-signing.pem  crl.der  crl.pem  trust-bundle.json  trust-bundle.pem
 * Clients and edge hosts fetch these before they trust anything; what they
 * trust is the root's fingerprint they were given, not this transport.
 */

#define EH_CA_HTTP_PREFIX "/ehttpd/ca"

static void
eh_ca_http_send (EhRequest *request, const char *content_type, gconstpointer data, gsize len,
                 guint64 version)
{
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *etag = g_strdup_printf ("\"%" G_GUINT64_FORMAT "\"", version);
  const char *if_none_match = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "If-None-Match");

  soup_message_headers_replace (headers, "Cache-Control", "max-age=60");
  soup_message_headers_replace (headers, "ETag", etag);
  if (if_none_match != NULL && g_strcmp0 (if_none_match, etag) == 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
    return;
  }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, data, len);
}

static void
eh_ca_http_handle (EhRequest *request, gpointer user_data)
{
  EhCa *ca = user_data;
  const char *name = eh_request_get_subpath (request);
  const EhCaPublished *published = &ca->published;

  if (g_strcmp0 (name, "/root.pem") == 0)
    eh_ca_http_send (request, "application/x-pem-file", ca->root.pem, strlen (ca->root.pem), 1);
  else if (g_strcmp0 (name, "/site-signing.pem") == 0)
    eh_ca_http_send (request, "application/x-pem-file", ca->site_signing.pem,
                     strlen (ca->site_signing.pem), 1);
  else if (g_strcmp0 (name, "/crl.der") == 0)
    eh_ca_http_send (request, "application/pkix-crl", g_bytes_get_data (published->crl_der, NULL),
                     g_bytes_get_size (published->crl_der), published->version);
  else if (g_strcmp0 (name, "/crl.pem") == 0)
    eh_ca_http_send (request, "application/x-pem-file", published->crl_pem,
                     strlen (published->crl_pem), published->version);
  else if (g_strcmp0 (name, "/trust-bundle.json") == 0)
    eh_ca_http_send (request, "application/jwk-set+json", published->json,
                     strlen (published->json), published->version);
  else if (g_strcmp0 (name, "/trust-bundle.pem") == 0)
    eh_ca_http_send (request, "application/x-pem-file", published->pem, strlen (published->pem),
                     published->version);
  else
    eh_request_respond_text (request, SOUP_STATUS_NOT_FOUND,
                             "not found; try root.pem, site-signing.pem, crl.der, crl.pem, "
                             "trust-bundle.json or trust-bundle.pem");
}

gboolean
eh_ca_http_start (EhCa *ca, GError **error)
{
  const EhEndpoint endpoint = { "GET", EH_CA_HTTP_PREFIX, EH_SCHEME_BOTH, 0, eh_ca_http_handle };

  return eh_plugin_add_endpoint (ca->plugin, &endpoint, ca, error);
}
