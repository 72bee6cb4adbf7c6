/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-tls-pin.h"

/* the longest chain looked at */
#define EH_TLS_PIN_MAX_CHAIN 16

gboolean
eh_tls_verify_pinned (GTlsCertificate *peer, const guint8 root_sha256[32], const char *root_text,
                      const char *host, GError **error)
{
  gnutls_x509_crt_t chain[EH_TLS_PIN_MAX_CHAIN];
  guint n = 0;
  gint root = -1;
  g_autofree char *leaf_fp = NULL;
  g_autofree char *top_fp = NULL;
  gnutls_x509_trust_list_t trust = NULL;
  gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
                                    (unsigned char *) GNUTLS_KP_TLS_WWW_SERVER, 0 };
  unsigned int status = 0;
  gboolean ok = FALSE;

  for (GTlsCertificate *cert = peer; cert != NULL && n < EH_TLS_PIN_MAX_CHAIN;
       cert = g_tls_certificate_get_issuer (cert)) {
    g_autoptr (GByteArray) der = NULL;
    g_autoptr (GBytes) bytes = NULL;
    g_autofree char *fp = NULL;
    guint8 digest[32];

    g_object_get (cert, "certificate", &der, NULL);
    bytes = g_bytes_new (der->data, der->len);
    chain[n] = eh_crypto_cert_from_der (bytes, NULL);
    if (chain[n] == NULL)
      break;
    eh_crypto_sha256 (der->data, der->len, digest);
    if (root < 0 && memcmp (digest, root_sha256, 32) == 0)
      root = n;
    n++;
  }
  if (n == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "it sent no certificate");
    return FALSE;
  }
  leaf_fp = eh_crypto_cert_fingerprint (chain[0], NULL);
  top_fp = eh_crypto_cert_fingerprint (chain[n - 1], NULL);
  if (root < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS,
                 "its chain (leaf %s, top %s) does not reach the pinned root %s", leaf_fp, top_fp,
                 root_text != NULL ? root_text : "the pinned root");
    goto out;
  }
  if (gnutls_x509_trust_list_init (&trust, 0) < 0 ||
      gnutls_x509_trust_list_add_cas (trust, &chain[root], 1, 0) != 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "cannot build a trust list");
    goto out;
  }
  /* the pinned root is the anchor: verify leaf … up to (not including) it */
  if (gnutls_x509_trust_list_verify_crt2 (trust, chain, MAX (root, 1), &purpose, 1, 0, &status,
                                          NULL) < 0 ||
      status != 0) {
    gnutls_datum_t text = { NULL, 0 };

    gnutls_certificate_verification_status_print (status, GNUTLS_CRT_X509, &text, 0);
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "its certificate %s does not verify against %s: %s",
                 leaf_fp, root_text != NULL ? root_text : "the pinned root", text.data != NULL ? (char *) text.data : "failed");
    gnutls_free (text.data);
    goto out;
  }
  if (!gnutls_x509_crt_check_hostname2 (chain[0], host, 0)) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "its certificate %s does not name %s", leaf_fp,
                 host);
    goto out;
  }
  ok = TRUE;
out:
  /* the trust list owns the root once added; it frees it */
  if (trust != NULL && root >= 0) {
    gnutls_x509_trust_list_deinit (trust, 1);
    chain[root] = NULL;
  } else if (trust != NULL) {
    gnutls_x509_trust_list_deinit (trust, 0);
  }
  for (guint i = 0; i < n; i++) {
    if (chain[i] != NULL)
      gnutls_x509_crt_deinit (chain[i]);
  }
  return ok;
}
