/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ca.h"

/*
 * What a host sends the CA to get a role certificate: a CSR, then names and
 * roles, one per line after a line "--". Any input: a clean refusal or an
 * accepted request whose key GnuTLS can use, and names that come out in
 * the one normal form (normalizing them again changes nothing).
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
eh_fuzz_names (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", 64);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = eh_ca_names_normalize ((const char *const *) lines, &error);
  g_auto (GStrv) again = NULL;

  g_assert ((names == NULL) != (error == NULL));
  if (names == NULL)
    return;
  again = eh_ca_names_normalize ((const char *const *) names, NULL);
  g_assert (again != NULL && g_strv_equal ((const char *const *) names, (const char *const *) again));
  /* names are stored comma-joined: a normal one has no comma */
  for (guint i = 0; names[i] != NULL; i++)
    g_assert (strchr (names[i], ',') == NULL);
  eh_ca_roles_check ((const char *const *) lines, NULL);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  char *split = strstr (text, "\n--\n");
  g_autoptr (GError) error = NULL;
  gnutls_pubkey_t key;

  if (split != NULL) {
    *split = '\0';
    eh_fuzz_names (split + 4);
  }
  key = eh_ca_csr_read (text, &error);
  g_assert ((key == NULL) != (error == NULL));
  if (key != NULL) {
    guint8 id[64];
    size_t id_size = sizeof id;

    g_assert (gnutls_pubkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, id, &id_size) >= 0);
    gnutls_pubkey_deinit (key);
  }
  return 0;
}
