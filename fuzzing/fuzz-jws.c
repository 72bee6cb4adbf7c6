/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-json.h"
#include "eh-jws.h"

/*
 * Any token: a clean refusal, or an acceptance that only the fixed test
 * keys below can have signed (the corpus holds a few such tokens, so the
 * fuzzer gets past the signature too). Also checks that strict base64url
 * has one spelling per byte string.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* public halves of throw-away test keys, chosen by "kid" */
static const char eh_fuzz_ec_key[] =
  "-----BEGIN PUBLIC KEY-----\n"
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0JO9Nd1hQhwFRDo6Hyw08UG+0UmG\n"
  "d7zx6CsGop6WrJ8J0owrbyiYLDFuAPGSaCCgUe5bmRtxNT2k2hyiYgAiJw==\n"
  "-----END PUBLIC KEY-----\n";
static const char eh_fuzz_ed_key[] =
  "-----BEGIN PUBLIC KEY-----\n"
  "MCowBQYDK2VwAyEAVGXtFsMtRG3xbppUlpsC8GrECAghSHx1d72XxVPVeLw=\n"
  "-----END PUBLIC KEY-----\n";
static const char eh_fuzz_rsa_key[] =
  "-----BEGIN PUBLIC KEY-----\n"
  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAp3cIMYhRlwHBzZqHxH44\n"
  "Zws97I3gXm7BYtM4Qws66PCzIJfH/Y3/5TVkhRlUBi0c3qRO9Gh7XdaWJYVA8fgg\n"
  "6aFVuJ6NHck2L6FrhxLg//thqQx3Jw4MTeGbkDiXMU2Rm6AHvVgs+Nf9ipx504Km\n"
  "Zyxotd2Kf+HM7yTp9Zg7kMHOBlDmrYEp6l/yw1afYRLDIt4iBLHwgOnhw/El9gpH\n"
  "jcNlsGICqNiISsZfLpKzC2qDzjiSdC+S/NPv2AwJXFJ+Y3Ph6Ii43F+3wgvuy++v\n"
  "aLkCVkGYArqOCjV1zoB10tlvSYe70mAdjgnOylMch2smZa74PQwgi9h/I+AuHYjB\n"
  "lwIDAQAB\n"
  "-----END PUBLIC KEY-----\n";

static const struct {
  const char *kid;
  const char *pem;
  EhJwsAlg alg;
} eh_fuzz_keys[] = {
  { "ec", eh_fuzz_ec_key, EH_JWS_ALG_ES256 },
  { "ed", eh_fuzz_ed_key, EH_JWS_ALG_EDDSA },
  { "rs", eh_fuzz_rsa_key, EH_JWS_ALG_RS256 },
  { "ps", eh_fuzz_rsa_key, EH_JWS_ALG_PS256 },
};

static gnutls_pubkey_t
eh_fuzz_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error)
{
  const char *kid = NULL;

  if (!eh_json_object_get_string_checked (header, "kid", &kid, error))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (eh_fuzz_keys); i++) {
    gnutls_pubkey_t key = NULL;
    gnutls_datum_t pem = { (unsigned char *) eh_fuzz_keys[i].pem, strlen (eh_fuzz_keys[i].pem) };

    if (strcmp (kid, eh_fuzz_keys[i].kid) != 0)
      continue;
    g_assert_cmpint (gnutls_pubkey_init (&key), ==, 0);
    g_assert_cmpint (gnutls_pubkey_import (key, &pem, GNUTLS_X509_FMT_PEM), ==, 0);
    *alg = eh_fuzz_keys[i].alg;
    return key;
  }
  g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no key \"%s\"", kid);
  return NULL;
}

static void
eh_fuzz_base64url (const char *text, gsize len)
{
  g_autoptr (GBytes) bytes = eh_base64url_decode (text, len, len, NULL);
  g_autofree char *again = NULL;

  if (bytes == NULL)
    return;
  again = eh_base64url_encode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_cmpmem (again, strlen (again), text, len);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autofree char *token = g_strndup ((const char *) data, size);
  g_autoptr (JsonObject) header = NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  eh_fuzz_base64url ((const char *) data, size);
  ok = eh_jws_verify (token, 8192, EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA | EH_JWS_ALG_RS256 |
                      EH_JWS_ALG_PS256, "client+jwt", eh_fuzz_lookup, NULL, &header, &payload,
                      &error);
  g_assert_true (ok == (error == NULL));
  g_assert_true (ok == (header != NULL));
  g_assert_true (ok == (payload != NULL));
  if (!ok)
    g_assert_true (error->domain == EH_ERROR);
  return 0;
}
