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

#define EH_CMG_CLIENT_TOKEN_TYP "client+jwt"
#define EH_CMG_TOKEN_MAX_BYTES (16 * 1024)
#define EH_CMG_TOKEN_LEEWAY 60

/* TRUE once a bundle of this site is held (a refused one is asked for again) */
static gboolean
eh_cmg_trust_install (GVariant *payload, gpointer user_data)
{
  EhCmg *cmg = user_data;
  const char *json = NULL;
  g_autoptr (GError) error = NULL;
  EhDpBundle *bundle;

  if (!g_variant_lookup (payload, EH_KEY_BUNDLE_JSON, "&s", &json))
    return FALSE;
  bundle = eh_dp_bundle_parse (json, strlen (json), g_get_real_time () / G_USEC_PER_SEC, &error);
  if (bundle == NULL) {
    g_warning ("the site's trust bundle is refused: %s", error->message);
    return FALSE;
  }
  if (cmg->bundle != NULL && g_strcmp0 (eh_dp_bundle_get_root_fingerprint (cmg->bundle),
                                        eh_dp_bundle_get_root_fingerprint (bundle)) != 0) {
    g_warning ("a trust bundle with another root (%s) is refused", eh_dp_bundle_get_root_fingerprint (bundle));
    eh_dp_bundle_free (bundle);
    return TRUE; /* this site's bundle is held; another site's is never taken */
  }
  if (cmg->bundle != NULL && eh_dp_bundle_get_version (bundle) < eh_dp_bundle_get_version (cmg->bundle)) {
    eh_dp_bundle_free (bundle);
    return TRUE;
  }
  g_message ("trust bundle of site %s, version %" G_GUINT64_FORMAT ": %u token signing key(s)",
             eh_dp_bundle_get_site (bundle), eh_dp_bundle_get_version (bundle),
             eh_dp_bundle_count_signers (bundle));
  eh_dp_bundle_free (cmg->bundle);
  cmg->bundle = bundle;
  eh_cmg_tunnel_recheck (cmg);
  return TRUE;
}

void
eh_cmg_trust_start (EhCmg *cmg)
{
  cmg->trust = eh_trust_follow_new (cmg->bus, eh_cmg_trust_install, cmg);
}

void
eh_cmg_trust_stop (EhCmg *cmg)
{
  g_clear_pointer (&cmg->trust, eh_trust_follow_free);
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
