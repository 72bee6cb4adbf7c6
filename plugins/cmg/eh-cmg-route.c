/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmg.h"

/*
 * Which client URLs the gateway relays: /CCM_Proxy_…/<mapping id>/<path>
 * where the path is one a mapping of that kind serves, and which of them
 * need a token checked at the edge.
 */

/* what a mapping serves through the gateway; nothing else crosses */
static const EhCmgRoute eh_cmg_routes[] = {
  { "/SMS_MP/.sms_aut", "mp", TRUE },
  { "/ehttpd/mp/site", "mp", TRUE },
  { "/ehttpd/mp/nonce", "mp", TRUE },
  { "/ehttpd/mp/register", "mp", TRUE }, /* a bulk token or the MP's approval decides */
  { "/ehttpd/mp/token", "mp", TRUE },    /* proof of possession of the registered key */
  { "/ehttpd/mp/sts", "mp", TRUE },      /* the Entra exchange: the MP checks the Entra token */
  { "/ehttpd/mp/", "mp", FALSE },
  { "/CCMTOKENAUTH_SMS_DP_SMSSIG$/", "dp", TRUE }, /* signed manifests are public */
  { "/CCMTOKENAUTH_SMS_DP_SMSPKG$/", "dp", FALSE },
  { NULL },
};

const EhCmgRoute *
eh_cmg_route (const char *path, const char *kind)
{
  for (guint i = 0; eh_cmg_routes[i].prefix != NULL; i++) {
    const EhCmgRoute *route = &eh_cmg_routes[i];
    gsize len = strlen (route->prefix);

    if (strcmp (route->kind, kind) != 0 || strncmp (path, route->prefix, len) != 0)
      continue;
    /* whole segments, unless the prefix ends with '/' */
    if (route->prefix[len - 1] == '/' || path[len] == '\0' || path[len] == '/' || path[len] == '?')
      return route;
  }
  return NULL;
}

/* the raw (still encoded) path below /CCM_Proxy_…/<id>; NULL when malformed */
const char *
eh_cmg_split_path (const char *raw, char **id)
{
  const char *rest;
  const char *slash;

  if (g_str_has_prefix (raw, EH_CMG_MUTUAL_PREFIX "/"))
    rest = raw + strlen (EH_CMG_MUTUAL_PREFIX "/");
  else if (g_str_has_prefix (raw, EH_CMG_SERVER_PREFIX "/"))
    rest = raw + strlen (EH_CMG_SERVER_PREFIX "/");
  else
    return NULL;
  slash = strchr (rest, '/');
  if (slash == NULL || slash == rest || slash - rest > EH_CMG_MAX_MAPPING_ID)
    return NULL;
  for (const char *c = rest; c < slash; c++) {
    if (!g_ascii_isalnum (*c))
      return NULL;
  }
  *id = g_strndup (rest, slash - rest);
  return slash;
}

/* no dot segments, backslashes, NUL or control characters, however encoded */
gboolean
eh_cmg_path_clean (const char *path)
{
  g_autofree char *decoded = g_uri_unescape_string (path, NULL);
  g_auto (GStrv) segments = NULL;

  if (decoded == NULL || strchr (decoded, '\\') != NULL || strstr (path, "//") != NULL)
    return FALSE;
  for (const char *c = decoded; *c != '\0'; c++) {
    if ((guchar) *c < 0x20 || *c == 0x7f)
      return FALSE;
  }
  segments = g_strsplit (decoded, "/", -1);
  for (guint i = 0; segments[i] != NULL; i++) {
    if (strcmp (segments[i], ".") == 0 || strcmp (segments[i], "..") == 0)
      return FALSE;
  }
  return TRUE;
}

