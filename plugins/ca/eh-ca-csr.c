/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "eh-ca.h"

#define EH_CA_MAX_ROLES 8

static gboolean
eh_ca_dns_label_is_valid (const char *label, gsize len)
{
  if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isalnum (label[i]) && label[i] != '-')
      return FALSE;
  }
  return TRUE;
}

/* LDH host names only: no wildcards, no trailing dot, no IDNA beyond A-labels,
 * and no all-digit last label, which inet_aton() would read as an address
 * ("127.1", "2130706433") */
static gboolean
eh_ca_dns_name_is_valid (const char *name)
{
  const char *start = name;
  const char *last = strrchr (name, '.');
  gsize len = strlen (name);

  if (len == 0 || len > 253)
    return FALSE;
  last = last != NULL ? last + 1 : name;
  if (strspn (last, "0123456789") == strlen (last))
    return FALSE;
  for (const char *p = name;; p++) {
    if (*p == '.' || *p == '\0') {
      if (!eh_ca_dns_label_is_valid (start, p - start))
        return FALSE;
      if (*p == '\0')
        return TRUE;
      start = p + 1;
    }
  }
}

char *
eh_ca_name_normalize (const char *name, GError **error)
{
  g_autoptr (GInetAddress) address = NULL;

  if (name == NULL || !g_utf8_validate (name, -1, NULL) || strlen (name) > 253) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a host name is not valid (over 253 characters, or not UTF-8)");
    return NULL;
  }
  address = g_inet_address_new_from_string (name);
  if (address != NULL)
    return g_inet_address_to_string (address);
  if (!eh_ca_dns_name_is_valid (name)) {
    g_autofree char *shown = g_strescape (name, NULL);

    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "\"%s\" is neither an IP address nor a DNS host name", shown);
    return NULL;
  }
  return g_ascii_strdown (name, -1);
}

GStrv
eh_ca_names_normalize (const char *const *names, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_null_terminated (4, g_free, TRUE);

  for (guint i = 0; names != NULL && names[i] != NULL; i++) {
    g_autofree char *name = eh_ca_name_normalize (names[i], error);

    if (name == NULL)
      return NULL;
    if (g_strv_contains ((const char *const *) out->pdata, name))
      continue;
    if (out->len >= EH_CA_MAX_NAMES) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "more than %d names",
                   EH_CA_MAX_NAMES);
      return NULL;
    }
    g_ptr_array_add (out, g_steal_pointer (&name));
  }
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

gboolean
eh_ca_roles_check (const char *const *roles, GError **error)
{
  static const char *const known[] = { EH_CA_KNOWN_ROLES, NULL };
  guint n = roles != NULL ? g_strv_length ((char **) roles) : 0;

  if (n == 0 || n > EH_CA_MAX_ROLES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a host needs 1 to %d roles",
                 EH_CA_MAX_ROLES);
    return FALSE;
  }
  for (guint i = 0; i < n; i++) {
    for (guint j = 0; j < i; j++) {
      if (g_strcmp0 (roles[i], roles[j]) == 0) {
        g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "role %s is listed twice", roles[i]);
        return FALSE;
      }
    }
    if (!g_strv_contains (known, roles[i])) {
      g_autofree char *shown = g_strescape (roles[i], NULL);

      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "unknown role \"%s\" (roles: ca, mp, dp, cmg, cmg-connector)", shown);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
eh_ca_strv_subset (const char *const *subset, const char *const *set)
{
  for (guint i = 0; subset != NULL && subset[i] != NULL; i++) {
    if (set == NULL || !g_strv_contains (set, subset[i]))
      return FALSE;
  }
  return TRUE;
}

static gboolean
eh_ca_csr_key_is_acceptable (gnutls_pubkey_t key, GError **error)
{
  unsigned int bits = 0;
  int algo = gnutls_pubkey_get_pk_algorithm (key, &bits);
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;

  switch (algo) {
  case GNUTLS_PK_RSA:
    if (bits >= 2048 && bits <= 8192)
      return TRUE;
    break;
  case GNUTLS_PK_ECDSA:
    if (gnutls_pubkey_export_ecc_raw2 (key, &curve, NULL, NULL, 0) == 0 &&
        (curve == GNUTLS_ECC_CURVE_SECP256R1 || curve == GNUTLS_ECC_CURVE_SECP384R1))
      return TRUE;
    break;
  case GNUTLS_PK_EDDSA_ED25519:
    return TRUE;
  default:
    break;
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
               "the CSR's key is not accepted (ECDSA P-256/P-384, RSA 2048+ or Ed25519)");
  return FALSE;
}

gnutls_pubkey_t
eh_ca_csr_read (const char *pem, GError **error)
{
  gnutls_x509_crq_t crq = NULL;
  g_auto (gnutls_pubkey_t) key = NULL;
  gsize len = pem != NULL ? strnlen (pem, EH_CA_MAX_CSR_BYTES + 1) : 0;
  gnutls_datum_t data = { (unsigned char *) pem, len };
  unsigned int critical = 0, ca = 0;
  int pathlen = 0;
  gnutls_pubkey_t result = NULL;

  if (len == 0 || len > EH_CA_MAX_CSR_BYTES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the CSR is empty or over %d bytes",
                 EH_CA_MAX_CSR_BYTES);
    return NULL;
  }
  if (gnutls_x509_crq_init (&crq) < 0)
    goto out_crypto;
  if (gnutls_x509_crq_import (crq, &data, GNUTLS_X509_FMT_PEM) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the CSR is not a PEM PKCS#10 request");
    goto out;
  }
  if (gnutls_x509_crq_verify (crq, 0) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "the CSR's signature does not verify with its own key");
    goto out;
  }
  /* asking for a CA certificate is not something a role host ever does */
  if (gnutls_x509_crq_get_basic_constraints (crq, &critical, &ca, &pathlen) >= 0 && ca != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "the CSR asks for a CA certificate (CA:TRUE); refused");
    goto out;
  }
  if (gnutls_pubkey_init (&key) < 0 || gnutls_pubkey_import_x509_crq (key, crq, 0) < 0)
    goto out_crypto;
  if (!eh_ca_csr_key_is_acceptable (key, error))
    goto out;
  result = g_steal_pointer (&key);
  goto out;
out_crypto:
  g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot read the CSR's key");
out:
  if (crq != NULL)
    gnutls_x509_crq_deinit (crq);
  return result;
}
