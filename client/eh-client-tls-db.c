/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-client.h"

/*
 * The TLS database of the client's session: it trusts no certificate, so
 * every server's chain is refused as of an unknown authority and goes to
 * the session's accept-certificate check (the pinned root, the host, the
 * role: eh-client-http.c). Without a database of its own a TLS connection
 * would load the system's whole trust store, which the client never uses,
 * at every run (tens of milliseconds of parsing and a megabyte of memory).
 */

struct _EhClientTlsDb {
  GTlsDatabase parent;
};

G_DEFINE_FINAL_TYPE (EhClientTlsDb, eh_client_tls_db, G_TYPE_TLS_DATABASE)

static GTlsCertificateFlags
eh_client_tls_db_verify_chain (GTlsDatabase *database, GTlsCertificate *chain, const char *purpose,
                               GSocketConnectable *identity, GTlsInteraction *interaction,
                               GTlsDatabaseVerifyFlags flags, GCancellable *cancellable, GError **error)
{
  return G_TLS_CERTIFICATE_UNKNOWN_CA;
}

static void
eh_client_tls_db_class_init (EhClientTlsDbClass *klass)
{
  G_TLS_DATABASE_CLASS (klass)->verify_chain = eh_client_tls_db_verify_chain;
}

static void
eh_client_tls_db_init (EhClientTlsDb *db)
{
}

GTlsDatabase *
eh_client_tls_db_new (void)
{
  return g_object_new (EH_CLIENT_TYPE_TLS_DB, NULL);
}
