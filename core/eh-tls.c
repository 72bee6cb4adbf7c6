/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-file.h"
#include "eh-tls-private.h"
#include "eh-tls-stream-private.h"

struct _EhTls {
  gnutls_priority_t priority;
  gnutls_datum_t ticket_key; /* one per process: resumption across all connections */
  EhTlsServerParams *params; /* what new sessions use; NULL without a certificate */
  GTlsCertificate *certificate;
  char *fingerprint;
  gint64 not_after;
  GCallback changed_func;
  gpointer changed_data;
};

gboolean
eh_tls_set_priority (const char *priority, GError **error)
{
  const char *where = NULL;
  gnutls_priority_t cache = NULL;

  /* check it here, so a typo is a clear start-up error rather than
   * handshakes that all fail later */
  if (gnutls_priority_init (&cache, priority, &where) != GNUTLS_E_SUCCESS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "TLS priority string is invalid near \"%s\"", where != NULL ? where : priority);
    return FALSE;
  }
  gnutls_priority_deinit (cache);
  g_setenv ("G_TLS_GNUTLS_PRIORITY", priority, TRUE);
  return TRUE;
}

EhTls *
eh_tls_new (const char *priority, GError **error)
{
  EhTls *tls = g_new0 (EhTls, 1);
  const char *where = NULL;

  if (gnutls_priority_init (&tls->priority, priority, &where) != GNUTLS_E_SUCCESS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "TLS priority string is invalid near \"%s\"", where != NULL ? where : priority);
    g_free (tls);
    return NULL;
  }
  if (gnutls_session_ticket_key_generate (&tls->ticket_key) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "cannot make a session ticket key");
    gnutls_priority_deinit (tls->priority);
    g_free (tls);
    return NULL;
  }
  return tls;
}

void
eh_tls_free (EhTls *tls)
{
  if (tls == NULL)
    return;
  eh_tls_server_params_unref (tls->params);
  gnutls_priority_deinit (tls->priority);
  gnutls_memset (tls->ticket_key.data, 0, tls->ticket_key.size);
  gnutls_free (tls->ticket_key.data);
  g_clear_object (&tls->certificate);
  g_free (tls->fingerprint);
  g_free (tls);
}

static gboolean
eh_tls_check_dates (gnutls_x509_crt_t cert, guint index, GError **error)
{
  time_t now = time (NULL);

  if (gnutls_x509_crt_get_activation_time (cert) > now) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "certificate %u of the chain is not valid yet", index);
    return FALSE;
  }
  if (gnutls_x509_crt_get_expiration_time (cert) < now) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "certificate %u of the chain has expired", index);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_tls_check_signed_by (gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer, guint index,
                        GError **error)
{
  unsigned int status = 0;

  if (!gnutls_x509_crt_check_issuer (cert, issuer) ||
      gnutls_x509_crt_verify (cert, &issuer, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) < 0 ||
      (status & GNUTLS_CERT_SIGNATURE_FAILURE) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS,
                 "chain is out of order: certificate %u is not issued by certificate %u", index,
                 index + 1);
    return FALSE;
  }
  return TRUE;
}

/* what glib-networking does not check: key fits, order, dates */
static gboolean
eh_tls_check_pair (const char *chain_pem, const char *key_pem, char **fingerprint,
                   gint64 *not_after, GError **error)
{
  guint n_certs = 0;
  gnutls_x509_crt_t *chain = eh_crypto_chain_from_pem (chain_pem, strlen (chain_pem), &n_certs, error);
  g_auto (gnutls_x509_privkey_t) key = NULL;
  gboolean ok = FALSE;

  if (chain == NULL)
    return FALSE;
  key = eh_crypto_key_from_pem (key_pem, strlen (key_pem), error);
  if (key == NULL || !eh_crypto_key_matches_cert (key, chain[0], error))
    goto out;
  for (guint i = 0; i < n_certs; i++) {
    if (!eh_tls_check_dates (chain[i], i, error))
      goto out;
    if (i + 1 < n_certs && !eh_tls_check_signed_by (chain[i], chain[i + 1], i, error))
      goto out;
  }
  *fingerprint = eh_crypto_cert_fingerprint (chain[0], error);
  *not_after = gnutls_x509_crt_get_expiration_time (chain[0]);
  ok = *fingerprint != NULL;
out:
  eh_crypto_chain_free (chain, n_certs);
  return ok;
}

static gnutls_certificate_credentials_t
eh_tls_credentials_new (const char *chain_pem, const char *key_pem, GError **error)
{
  gnutls_certificate_credentials_t credentials = NULL;
  gnutls_datum_t chain = { (unsigned char *) chain_pem, strlen (chain_pem) };
  gnutls_datum_t key = { (unsigned char *) key_pem, strlen (key_pem) };
  int rc = gnutls_certificate_allocate_credentials (&credentials);

  if (rc >= 0)
    rc = gnutls_certificate_set_x509_key_mem2 (credentials, &chain, &key, GNUTLS_X509_FMT_PEM,
                                               NULL, 0);
  if (rc < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "TLS credentials: %s", gnutls_strerror (rc));
    if (credentials != NULL)
      gnutls_certificate_free_credentials (credentials);
    return NULL;
  }
  return credentials;
}

static gboolean
eh_tls_make_current (EhTls *tls, const char *chain_pem, const char *key_pem, GError **error)
{
  g_autofree char *fingerprint = NULL;
  g_autofree char *both = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  gnutls_certificate_credentials_t credentials;
  gint64 not_after = 0;

  if (!eh_tls_check_pair (chain_pem, key_pem, &fingerprint, &not_after, error))
    return FALSE;
  credentials = eh_tls_credentials_new (chain_pem, key_pem, error);
  if (credentials == NULL)
    return FALSE;
  both = g_strconcat (chain_pem, "\n", key_pem, NULL);
  certificate = g_tls_certificate_new_from_pem (both, -1, error);
  explicit_bzero (both, strlen (both));
  if (certificate == NULL) {
    gnutls_certificate_free_credentials (credentials);
    g_prefix_error (error, "TLS certificate: ");
    return FALSE;
  }
  /* open sessions keep a reference to the parameters they started with */
  eh_tls_server_params_unref (tls->params);
  tls->params = eh_tls_server_params_new (credentials, tls->priority, &tls->ticket_key);
  g_set_object (&tls->certificate, certificate);
  g_free (tls->fingerprint);
  tls->fingerprint = g_steal_pointer (&fingerprint);
  tls->not_after = not_after;
  g_info ("TLS certificate is now %s", tls->fingerprint);
  if (tls->changed_func != NULL)
    ((void (*) (EhTls *, gpointer)) tls->changed_func) (tls, tls->changed_data);
  return TRUE;
}

static char *
eh_tls_read (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local_error = NULL;

  if (!g_file_get_contents (path, &data, &len, &local_error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s", local_error->message);
    return NULL;
  }
  if (memchr (data, '\0', len) != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s: not a PEM file", path);
    return NULL;
  }
  return g_steal_pointer (&data);
}

gboolean
eh_tls_load (EhTls *tls, const char *chain_path, const char *key_path, GError **error)
{
  g_autofree char *chain_pem = eh_tls_read (chain_path, error);
  char *key_pem;
  gboolean ok;

  if (chain_pem == NULL)
    return FALSE;
  key_pem = eh_tls_read (key_path != NULL ? key_path : chain_path, error);
  if (key_pem == NULL)
    return FALSE;
  ok = eh_tls_make_current (tls, chain_pem, key_pem, error);
  eh_crypto_free_secret (key_pem);
  if (!ok)
    g_prefix_error (error, "%s: ", chain_path);
  return ok;
}

gboolean
eh_tls_install (EhTls *tls, const char *chain_pem, const char *key_pem, const char *dest_path,
                GError **error)
{
  g_autofree char *fingerprint = NULL;
  g_autofree char *dir = g_path_get_dirname (dest_path);
  gint64 not_after;
  char *both;
  gboolean ok;

  if (!eh_tls_check_pair (chain_pem, key_pem, &fingerprint, &not_after, error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "%s: %s", dir, g_strerror (errno));
    return FALSE;
  }
  both = g_strconcat (chain_pem, "\n", key_pem, NULL);
  ok = eh_file_replace (dest_path, both, strlen (both), 0600, error) &&
       eh_tls_make_current (tls, chain_pem, key_pem, error);
  eh_crypto_free_secret (both);
  return ok;
}

GTlsCertificate *
eh_tls_get_certificate (EhTls *tls)
{
  return tls->certificate;
}

EhTlsServerParams *
eh_tls_get_server_params (EhTls *tls)
{
  return tls->params;
}

const char *
eh_tls_get_fingerprint (EhTls *tls)
{
  return tls->fingerprint;
}

gint64
eh_tls_get_not_after (EhTls *tls)
{
  return tls->not_after;
}

void
eh_tls_set_changed_func (EhTls *tls, GCallback func, gpointer user_data)
{
  tls->changed_func = func;
  tls->changed_data = user_data;
}
