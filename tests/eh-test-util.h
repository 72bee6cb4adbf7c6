/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <string.h>
#include <time.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gnutls/x509.h>

#include "eh-bus-topics.h"
#include "eh-store.h"

/* removes a test's temporary directory and everything in it */
static inline void
eh_test_remove_tree (const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL) {
    g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

    if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      eh_test_remove_tree (child);
    else
      g_unlink (child);
    g_object_unref (info);
  }
  g_rmdir (path);
}

/* a one-hour certificate for @key, signed by @issuer_key (itself when NULL) */
static inline gnutls_x509_crt_t
eh_test_make_certificate (gnutls_x509_privkey_t key, const char *cn, gnutls_x509_crt_t issuer,
                          gnutls_x509_privkey_t issuer_key, gboolean ca)
{
  gnutls_x509_privkey_t signer = issuer_key != NULL ? issuer_key : key;
  gnutls_x509_crt_t cert = NULL;
  guint8 serial[16];
  time_t now = time (NULL);
  /* Ed25519 has its hash built in */
  gnutls_digest_algorithm_t digest = gnutls_x509_privkey_get_pk_algorithm (signer) == GNUTLS_PK_EDDSA_ED25519
                                         ? GNUTLS_DIG_SHA512
                                         : GNUTLS_DIG_SHA256;

  for (guint i = 0; i < sizeof serial; i++)
    serial[i] = g_random_int_range (0, 256);
  serial[0] = 0x40; /* positive, no leading zero */
  g_assert_cmpint (gnutls_x509_crt_init (&cert), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (cert, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (cert, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (cert, now - 60), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (cert, now + 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (cert, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn)),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (cert, key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (cert, ca, -1), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (cert, issuer != NULL ? issuer : cert, signer, digest, 0), ==, 0);
  return cert;
}

/* the first column of the one row @sql returns */
static inline gint64
eh_test_query_int (EhStore *store, const char *sql)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = eh_store_prepare (store, sql, &error);
  gint64 value;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return value;
}

static inline char *
eh_test_query_text (EhStore *store, const char *sql)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = eh_store_prepare (store, sql, &error);
  char *value;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  return value;
}

/* (transfer floating) a test.ping event payload */
static inline GVariant *
eh_test_ping (guint32 sequence)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, EH_KEY_SEQUENCE, "u", sequence);
  return g_variant_dict_end (&dict);
}
