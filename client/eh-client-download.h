/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gnutls/crypto.h>

#include "eh-client.h"
#include "eh-dp.h"

G_BEGIN_DECLS

/* one DP of a content's location list, and how it fared */
typedef struct {
  char *name;
  char *url;   /* https://HOST:PORT, or a gateway's https://HOST:PORT/CCM_Proxy_ServerAuth/<dp id> */
  char *error; /* (nullable) why it failed */
  gboolean gateway; /* the content comes through a cloud management gateway */
  gboolean failed;
  guint64 bytes; /* bytes it sent */
} EhClientDp;

EhClientDp *eh_client_dp_new (const char *name, const char *url, GError **error);
EhClientDp *eh_client_dp_new_gateway (EhClient *client);
void eh_client_dp_free (EhClientDp *dp);

typedef struct _EhClientDownload EhClientDownload;
typedef gboolean (*EhClientRelocateFunc) (EhClientDownload *download, GError **error);

struct _EhClientDownload {
  EhClient *client;
  const char *content_id;
  const char *dest;
  char *token;
  char *manifest_sha256;
  GPtrArray *dps;        /* EhClientDp, in the MP's order */
  GPtrArray *failed_dps; /* EhClientDp of earlier location lists */
  guint current;
  guint located;                  /* location answers used */
  EhClientRelocateFunc relocate;  /* (nullable) asks the MP again */
  guint64 max_rate;
  /* progress of the run */
  EhDpManifest *manifest;
  char *partial_dir;
  guint64 done;        /* bytes of the content on disk, checked or in a partial file */
  guint64 transferred; /* bytes received from DPs */
  double seconds;
  JsonArray *failovers;
  gint64 failed_at; /* monotonic time of the last failure not yet followed by a byte */
  char *failed_from;
  char *failed_why;
  gnutls_hash_hd_t hash;
  struct _EhClientSink *sink;
  gint64 rate_start;
  guint64 rate_bytes;
  EhClientProgress *progress;
};

gboolean eh_client_download_run (EhClientDownload *download, GError **error);
void eh_client_download_clear (EhClientDownload *download);

G_END_DECLS
