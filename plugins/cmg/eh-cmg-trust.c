/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmg.h"

/*
 * The gateway's trust: the site's bundle, asked over the gateway's own bus
 * link to the site (ca.trust-bundle.get) and followed with every
 * ca.trust-bundle.changed, so a revocation reaches the gateway without any
 * connector. It checks connector certificates and client and content
 * tokens with it, offline.
 */

#define EH_CMG_TRUST_MAX_BACKOFF 60
#define EH_CMG_CLIENT_TOKEN_TYP "client+jwt"
#define EH_CMG_TOKEN_MAX_BYTES (16 * 1024)
#define EH_CMG_TOKEN_LEEWAY 60

static void eh_cmg_trust_fetch (EhCmg *cmg);

static void
eh_cmg_trust_install (EhCmg *cmg, GVariant *payload)
{
  const char *json = NULL;
  g_autoptr (GError) error = NULL;
  EhDpBundle *bundle;

  if (!g_variant_lookup (payload, EH_KEY_BUNDLE_JSON, "&s", &json))
    return;
  bundle = eh_dp_bundle_parse (json, strlen (json), g_get_real_time () / G_USEC_PER_SEC, &error);
  if (bundle == NULL) {
    g_warning ("the site's trust bundle is refused: %s", error->message);
    return;
  }
  if (cmg->bundle != NULL && g_strcmp0 (eh_dp_bundle_get_root_fingerprint (cmg->bundle),
                                        eh_dp_bundle_get_root_fingerprint (bundle)) != 0) {
    g_warning ("a trust bundle with another root (%s) is refused", eh_dp_bundle_get_root_fingerprint (bundle));
    eh_dp_bundle_free (bundle);
    return;
  }
  if (cmg->bundle != NULL && eh_dp_bundle_get_version (bundle) < eh_dp_bundle_get_version (cmg->bundle)) {
    eh_dp_bundle_free (bundle);
    return;
  }
  g_message ("trust bundle of site %s, version %" G_GUINT64_FORMAT ": %u token signing key(s)",
             eh_dp_bundle_get_site (bundle), eh_dp_bundle_get_version (bundle),
             eh_dp_bundle_count_signers (bundle));
  eh_dp_bundle_free (cmg->bundle);
  cmg->bundle = bundle;
  cmg->bundle_backoff = 1;
  eh_cmg_tunnel_recheck (cmg);
}

static gboolean
eh_cmg_trust_retry (gpointer user_data)
{
  EhCmg *cmg = user_data;

  cmg->bundle_retry = 0;
  eh_cmg_trust_fetch (cmg);
  return G_SOURCE_REMOVE;
}

static void
eh_cmg_trust_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhCmg *cmg = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = eh_bus_request_finish (NULL, result, &error);

  if (reply != NULL) {
    eh_cmg_trust_install (cmg, reply);
    return;
  }
  g_info ("no trust bundle yet (%s); asking again in %u s", error->message, cmg->bundle_backoff);
  if (cmg->bundle_retry == 0)
    cmg->bundle_retry = g_timeout_add_seconds (cmg->bundle_backoff, eh_cmg_trust_retry, cmg);
  cmg->bundle_backoff = MIN (cmg->bundle_backoff * 2, EH_CMG_TRUST_MAX_BACKOFF);
}

static void
eh_cmg_trust_fetch (EhCmg *cmg)
{
  eh_bus_request (cmg->bus, EH_TOPIC_CA_TRUST_BUNDLE_GET, g_variant_new ("a{sv}", NULL), 0,
                  NULL, eh_cmg_trust_fetched, cmg);
}

static void
eh_cmg_trust_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  eh_cmg_trust_install (user_data, payload);
}

static void
eh_cmg_trust_link_changed (const char *topic, GVariant *payload, gpointer user_data)
{
  EhCmg *cmg = user_data;
  const char *state = NULL;

  if (g_variant_lookup (payload, EH_KEY_STATE, "&s", &state) && strcmp (state, "up") == 0)
    eh_cmg_trust_fetch (cmg);
}

void
eh_cmg_trust_start (EhCmg *cmg)
{
  cmg->bundle_backoff = 1;
  eh_bus_subscribe (cmg->bus, EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, eh_cmg_trust_changed, cmg, NULL);
  eh_bus_subscribe (cmg->bus, EH_TOPIC_LINK_STATE, eh_cmg_trust_link_changed, cmg, NULL);
  eh_cmg_trust_fetch (cmg);
}

void
eh_cmg_trust_stop (EhCmg *cmg)
{
  g_clear_handle_id (&cmg->bundle_retry, g_source_remove);
  g_clear_pointer (&cmg->bundle, eh_dp_bundle_free);
}

/* ── client tokens ──────────────────────────────────────────────────── */

static gboolean
eh_cmg_token_claims (JsonObject *claims, const char *site, gint64 now, GError **error)
{
  g_autofree char *audience = g_strdup_printf ("ehttpd:%s:mp", site);
  const char *iss = NULL, *aud = NULL, *sub = NULL;
  gint64 exp = 0, nbf = 0;

  if (!eh_json_object_get_string_checked (claims, "iss", &iss, NULL) ||
      !eh_json_object_get_string_checked (claims, "aud", &aud, NULL) ||
      !eh_json_object_get_string_checked (claims, "sub", &sub, NULL) || sub[0] == '\0' || strlen (sub) > 256 ||
      !eh_json_object_get_int_checked (claims, "exp", &exp, NULL) ||
      !eh_json_object_get_int_checked (claims, "nbf", &nbf, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "a claim is missing or malformed");
    return FALSE;
  }
  if (strcmp (iss, site) != 0 || strcmp (aud, audience) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not a client token of this site");
    return FALSE;
  }
  if (now - EH_CMG_TOKEN_LEEWAY >= exp) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token has expired");
    return FALSE;
  }
  if (nbf > now + EH_CMG_TOKEN_LEEWAY || exp <= nbf) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token is not valid yet");
    return FALSE;
  }
  return TRUE;
}

gboolean
eh_cmg_client_token_check (const EhDpBundle *bundle, const char *text, gint64 now, char **subject,
                           GError **error)
{
  EhDpBundleLookup lookup = { bundle, now };
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local = NULL;
  JsonObject *claims;

  if (!eh_jws_verify (text, EH_CMG_TOKEN_MAX_BYTES, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA,
                      EH_CMG_CLIENT_TOKEN_TYP, eh_dp_bundle_token_lookup, &lookup, NULL, &payload, &local)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "%s", local->message);
    return FALSE;
  }
  node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               EH_CMG_TOKEN_MAX_BYTES, 4, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_TOKEN, "the token's claims are not a JSON object");
    return FALSE;
  }
  claims = json_node_get_object (node);
  if (!eh_cmg_token_claims (claims, eh_dp_bundle_get_site (bundle), now, error))
    return FALSE;
  *subject = g_strdup (json_object_get_string_member (claims, "sub"));
  return TRUE;
}
