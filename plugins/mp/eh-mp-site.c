/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Site information: what a client needs before it trusts anything. The
 * site's trust material comes from the bus (ca.trust-bundle.get, then every
 * ca.trust-bundle.changed), so an MP on a host without the ca gets it over
 * the bus link. Clients trust it through the root fingerprint they were
 * given, never through this document's transport.
 */

#define EH_MP_BUNDLE_MAX_BYTES (1024 * 1024)
#define EH_MP_BUNDLE_DEPTH 8

/* the site signing certificate's PEM, from its JWKS entry's x5c */
static char *
eh_mp_site_signing_pem (JsonObject *bundle, GError **error)
{
  JsonArray *keys = json_object_get_array_member (bundle, "keys");

  for (guint i = 0; keys != NULL && i < json_array_get_length (keys); i++) {
    JsonObject *key = json_array_get_object_element (keys, i);
    const char *usage = NULL;
    const char *der_b64 = NULL;
    JsonArray *x5c;
    g_autofree guchar *der = NULL;
    gsize der_len = 0;
    g_autoptr (GBytes) bytes = NULL;
    g_auto (gnutls_x509_crt_t) cert = NULL;

    if (key == NULL || !json_object_has_member (key, "ehttpd_usage") ||
        !eh_json_object_get_string_checked (key, "ehttpd_usage", &usage, NULL) ||
        g_strcmp0 (usage, "site-signing") != 0)
      continue;
    x5c = json_object_get_array_member (key, "x5c");
    if (x5c == NULL || json_array_get_length (x5c) < 1 ||
        (der_b64 = json_array_get_string_element (x5c, 0)) == NULL)
      break;
    der = g_base64_decode (der_b64, &der_len);
    bytes = g_bytes_new_take (g_steal_pointer (&der), der_len);
    cert = eh_crypto_cert_from_der (bytes, error);
    return cert != NULL ? eh_crypto_cert_to_pem (cert, error) : NULL;
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
               "the trust bundle has no site signing certificate");
  return NULL;
}

gboolean
eh_mp_site_take_bundle (EhMp *mp, const char *bundle_json, guint64 version, GError **error)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict (bundle_json, strlen (bundle_json),
                                                    EH_MP_BUNDLE_MAX_BYTES, EH_MP_BUNDLE_DEPTH, error);
  JsonObject *bundle, *root;
  const char *site = NULL, *fingerprint = NULL;
  g_autofree char *pem = NULL;

  if (node == NULL)
    return FALSE;
  bundle = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  root = bundle != NULL && json_object_has_member (bundle, "root")
             ? json_object_get_object_member (bundle, "root") : NULL;
  if (root == NULL || !eh_json_object_get_string_checked (bundle, "site", &site, error) ||
      !eh_json_object_get_string_checked (root, "fingerprint", &fingerprint, error) ||
      (pem = eh_mp_site_signing_pem (bundle, error)) == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the trust bundle has no root");
    return FALSE;
  }
  if (version < mp->bundle_version)
    return TRUE; /* an older one that arrived late */
  g_free (mp->site_code);
  mp->site_code = g_strdup (site);
  g_free (mp->root_fingerprint);
  mp->root_fingerprint = g_strdup (fingerprint);
  g_free (mp->site_signing_pem);
  mp->site_signing_pem = g_steal_pointer (&pem);
  mp->bundle_version = version;
  return TRUE;
}

static void
eh_mp_site_add_url (JsonBuilder *builder, const char *base, const char *path)
{
  g_autofree char *url = g_strconcat (base, path, NULL);

  json_builder_add_string_value (builder, url);
}

/* the HTTPS URLs of this MP: configured, or this host's HTTPS listeners */
static GStrv
eh_mp_site_https_urls (EhMp *mp)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) listeners = NULL;

  if (mp->https_urls != NULL && mp->https_urls[0] != NULL)
    return g_strdupv (mp->https_urls);
  listeners = eh_plugin_get_listener_urls (mp->plugin);
  for (guint i = 0; listeners[i] != NULL; i++) {
    if (g_str_has_prefix (listeners[i], "https://"))
      g_strv_builder_add (builder, listeners[i]);
  }
  return g_strv_builder_end (builder);
}

char *
eh_mp_site_info_json (EhMp *mp, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_auto (GStrv) urls = NULL;
  const char *ca = mp->ca_url != NULL ? mp->ca_url : "";

  if (mp->root_fingerprint == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE,
                 "site information is not available yet (%s)",
                 mp->trust != NULL && eh_trust_follow_get_error (mp->trust) != NULL
                     ? eh_trust_follow_get_error (mp->trust)
                     : "waiting for the site's trust bundle");
    return NULL;
  }
  urls = eh_mp_site_https_urls (mp);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "site");
  json_builder_add_string_value (builder, mp->site_code);
  json_builder_set_member_name (builder, "root_fingerprint");
  json_builder_add_string_value (builder, mp->root_fingerprint);
  json_builder_set_member_name (builder, "client_communication");
  json_builder_add_string_value (builder, eh_mp_mode_to_string (mp->mode));
  json_builder_set_member_name (builder, "management_points");
  json_builder_begin_array (builder);
  for (guint i = 0; urls[i] != NULL; i++)
    json_builder_add_string_value (builder, urls[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "registration");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "nonce");
  json_builder_begin_array (builder);
  for (guint i = 0; urls[i] != NULL; i++)
    eh_mp_site_add_url (builder, urls[i], EH_MP_HTTP_PREFIX "/nonce");
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "register");
  json_builder_begin_array (builder);
  for (guint i = 0; urls[i] != NULL; i++)
    eh_mp_site_add_url (builder, urls[i], EH_MP_HTTP_PREFIX "/register");
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "proof_typ");
  json_builder_add_string_value (builder, EH_MP_PROOF_TYP);
  json_builder_set_member_name (builder, "algorithms");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, "ES256");
  json_builder_add_string_value (builder, "EdDSA");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "site_signing_certificate");
  json_builder_add_string_value (builder, mp->site_signing_pem);
  json_builder_set_member_name (builder, "links");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "root");
  eh_mp_site_add_url (builder, ca, "/ehttpd/ca/root.pem");
  json_builder_set_member_name (builder, "crl");
  eh_mp_site_add_url (builder, ca, "/ehttpd/ca/crl.pem");
  json_builder_set_member_name (builder, "crl_der");
  eh_mp_site_add_url (builder, ca, "/ehttpd/ca/crl.der");
  json_builder_set_member_name (builder, "trust_bundle");
  eh_mp_site_add_url (builder, ca, "/ehttpd/ca/trust-bundle.json");
  json_builder_set_member_name (builder, "trust_bundle_pem");
  eh_mp_site_add_url (builder, ca, "/ehttpd/ca/trust-bundle.pem");
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "trust_bundle_version");
  json_builder_add_int_value (builder, mp->bundle_version);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, TRUE);
}

/* a trust bundle from ca.trust-bundle.get or .changed: TRUE once taken */
static gboolean
eh_mp_site_take (GVariant *payload, gpointer data)
{
  EhMp *mp = data;
  g_autoptr (GError) error = NULL;
  const char *json = NULL;
  guint64 version = 0;

  if (!g_variant_lookup (payload, EH_KEY_BUNDLE_JSON, "&s", &json) ||
      !g_variant_lookup (payload, EH_KEY_VERSION, "t", &version)) {
    g_warning ("a trust bundle from the bus was refused: no bundle or version");
    return FALSE;
  }
  if (!eh_mp_site_take_bundle (mp, json, version, &error)) {
    g_warning ("a trust bundle from the bus was refused: %s", error->message);
    return FALSE;
  }
  g_message ("site %s: trust bundle version %" G_GUINT64_FORMAT, mp->site_code, mp->bundle_version);
  return TRUE;
}

void
eh_mp_site_start (EhMp *mp)
{
  mp->trust = eh_trust_follow_new (mp->bus, eh_mp_site_take, mp);
}

void
eh_mp_site_stop (EhMp *mp)
{
  g_clear_pointer (&mp->trust, eh_trust_follow_free);
}
