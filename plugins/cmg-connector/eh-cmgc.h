/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "ehttpd.h"

#include "eh-cmg-wire.h"
#include "eh-dp.h"

G_BEGIN_DECLS

/*
 * The cmg-connector role: the CMG connection point (README.md). It dials
 * out to each configured gateway (the host opens no port for it), keeps
 * every tunnel up, publishes its mappings, and forwards each relayed
 * request to the local (or configured) MP or DP over HTTPS, streaming the
 * answer back as the gateway grants room for it.
 */

extern const EhPluginDesc eh_cmgc_plugin;

typedef struct _EhCmgcTunnel EhCmgcTunnel;

/* one published mapping and its traffic */
typedef struct {
  char *id;
  char *kind;    /* "mp" or "dp" */
  char *dp_name; /* the DP's name in content tokens, "" for an MP */
  char *base;    /* https://HOST:PORT the requests go to */
  char *host;    /* of base, which its certificate must name */
  gboolean internal; /* base is this host's own HTTPS listener: no TLS to it (eh-cmgc-local.c) */
  guint64 requests;
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 errors;
  /* at the last report */
  guint64 reported_requests;
  guint64 reported_bytes_out;
} EhCmgcMapping;

typedef struct {
  EhPlugin *plugin;
  EhBus *bus;
  char *name;
  char *ca_file;          /* (nullable) anchors for gateways with another certificate */
  char *host_pem;         /* the host's certificate, presented to gateways */
  guint health_interval;  /* seconds */
  guint report_interval;  /* seconds */
  GPtrArray *mappings;    /* EhCmgcMapping */
  GPtrArray *tunnels;     /* EhCmgcTunnel, one per gateway */
  char *site;             /* from the trust bundle */
  guint8 root[32];        /* the site's root, which pins gateways and upstreams */
  char *root_text;
  gboolean have_root;
  EhTrustFollow *trust; /* the site's trust bundle */
  guint report_timer;
  gint64 last_report;
  SoupSession *session;   /* to the MP and DP */
  struct _EhCmgcLocalPool *local; /* internal connections to this host's front */
} EhCmgc;

/* ── tunnels (eh-cmgc-tunnel.c) ───────────────────────────────────────── */
/* Returns: NULL with EH_ERROR_INVALID_CONFIG when @url is not https://HOST:PORT */
EhCmgcTunnel *eh_cmgc_tunnel_new (EhCmgc *cmgc, const char *url, GError **error);
void eh_cmgc_tunnel_free (EhCmgcTunnel *tunnel);
/* dials (again) now */
void eh_cmgc_tunnel_connect (EhCmgcTunnel *tunnel);
/* the host certificate changed: present the new one */
void eh_cmgc_tunnel_restart (EhCmgcTunnel *tunnel);
/* queues one message; FALSE when the tunnel is down */
gboolean eh_cmgc_tunnel_send (EhCmgcTunnel *tunnel, EhCmgKind kind, guint32 stream, GVariant *fields,
                              GBytes *data);
/* bytes sent and not yet written: a stream reads no more from upstream
 * while this is over the high mark, and resumes once it is down to the low */
#define EH_CMGC_HIGH_WATER (4 * 1024 * 1024)
#define EH_CMGC_LOW_WATER (2 * 1024 * 1024)
gsize eh_cmgc_tunnel_queued (EhCmgcTunnel *tunnel);
/* a stream held back: every held stream is resumed once the queue drained */
void eh_cmgc_tunnel_hold (EhCmgcTunnel *tunnel);
gboolean eh_cmgc_tunnel_is_up (EhCmgcTunnel *tunnel);
/* a stream answered in full (or gave up): forget it */
void eh_cmgc_tunnel_stream_done (EhCmgcTunnel *tunnel, guint32 stream);
GVariant *eh_cmgc_tunnel_describe (EhCmgcTunnel *tunnel);

/* ── forwarding (eh-cmgc-forward.c) ───────────────────────────────────── */
typedef struct _EhCmgcStream EhCmgcStream;
/* a REQUEST came: forwards it; the stream answers through @tunnel */
EhCmgcStream *eh_cmgc_forward_start (EhCmgc *cmgc, EhCmgcTunnel *tunnel, EhCmgMessage *request);
void eh_cmgc_forward_credit (EhCmgcStream *stream, guint32 bytes);
/* the tunnel's send queue drained: a held stream reads on */
void eh_cmgc_forward_resume (EhCmgcStream *stream);
/* the client or the tunnel is gone: stop, and drop the stream */
void eh_cmgc_forward_cancel (EhCmgcStream *stream);
EhCmgcMapping *eh_cmgc_mapping_lookup (EhCmgc *cmgc, const char *id);
SoupSession *eh_cmgc_session_new (EhCmgc *cmgc);

/* ── to this host's own front (eh-cmgc-local.c) ───────────────────────── */
/* an upstream's answer: its status and head, and its body */
typedef struct {
  guint status;
  SoupMessageHeaders *headers;
  GBytes *prefix;     /* (nullable) the body's first bytes, read with the head */
  GInputStream *body; /* the rest */
  gint64 length;      /* of the body, prefix included; -1: up to the end of the connection */
  GIOStream *conn;    /* (nullable) an internal connection, closed with the answer */
  struct _EhCmgcLocalPool *pool; /* (nullable) where @conn holds a place */
} EhCmgcAnswer;
void eh_cmgc_answer_clear (EhCmgcAnswer *answer);
typedef struct _EhCmgcLocal EhCmgcLocal;
typedef struct _EhCmgcLocalPool EhCmgcLocalPool;
/* at most @places internal connections at once ([cmg-connector]
 * internal-connections, 128: well within the front's per-address cap, 256
 * by default); more requests wait for a place */
EhCmgcLocalPool *eh_cmgc_local_pool_new (EhPlugin *plugin, guint places);
/* the role stops: waiting requests fail, open connections end with their answers */
void eh_cmgc_local_pool_stop (EhCmgcLocalPool *pool);
/* internal-open, internal-waiting */
void eh_cmgc_local_pool_describe (EhCmgcLocalPool *pool, GVariantDict *dict);
/* sends @msg's method, path and headers, and @body, over an internal
 * connection to @https_url (one of this host's HTTPS listeners) */
void eh_cmgc_local_send_async (EhCmgc *cmgc, const char *https_url, SoupMessage *msg, GBytes *body,
                               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
/* Returns: (transfer full): free with eh_cmgc_answer_clear() and g_free() */
EhCmgcAnswer *eh_cmgc_local_send_finish (GAsyncResult *result, GError **error);
/* the request as the front reads it (Connection: close); NULL when something
 * in it cannot be written safely (a line break, a control character) */
GBytes *eh_cmgc_local_serialize (SoupMessage *msg, const char *authority, GBytes *body, GError **error);
#define EH_CMGC_LOCAL_MAX_HEAD (64 * 1024)
/* an answer's head at the start of @data: its length (status, headers and
 * body length set in @answer), 0 while it needs more bytes, -1 when it is
 * refused (malformed, too long, a Transfer-Encoding, a bad Content-Length) */
gssize eh_cmgc_local_parse_head (const char *method, const guint8 *data, gsize len, EhCmgcAnswer *answer,
                                 GError **error);

/* ── D-Bus (eh-cmgc-dbus.c) ───────────────────────────────────────────── */
gboolean eh_cmgc_dbus_export (EhCmgc *cmgc, GError **error);
/* logs the traffic since the last report */
void eh_cmgc_report_traffic (EhCmgc *cmgc);

G_END_DECLS
