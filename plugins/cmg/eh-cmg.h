/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ehttpd.h"

#include "eh-cmg-wire.h"
#include "eh-dp.h"

G_BEGIN_DECLS

/*
 * The cmg role: the cloud management gateway (README.md). Internet clients
 * speak HTTPS to it under /CCM_Proxy_MutualAuth/<id>/… and
 * /CCM_Proxy_ServerAuth/<id>/…; it checks their tokens with the site's
 * trust bundle and relays each request, re-serialized, through a tunnel a
 * cmg-connector dialed out to it.
 */

extern const EhPluginDesc eh_cmg_plugin;

#define EH_CMG_ROLE_CONNECTOR "cmg-connector"
#define EH_CMG_MUTUAL_PREFIX "/CCM_Proxy_MutualAuth"
#define EH_CMG_SERVER_PREFIX "/CCM_Proxy_ServerAuth"
/* the longest mapping id (Configuration Manager's are 17 digits) */
#define EH_CMG_MAX_MAPPING_ID 32
/* tunnels open or being opened from one address */
#define EH_CMG_MAX_TUNNELS_PER_ADDRESS 4
/* how long a connector may take to say hello */
#define EH_CMG_HELLO_TIMEOUT_S 10
/* garbage messages a tunnel survives */
#define EH_CMG_MAX_GARBAGE 8
/* what all streams' windows together may have grown past their first
 * EH_CMG_WIRE_WINDOW: the most the gateway buffers beyond that for clients */
#define EH_CMG_WINDOW_BUDGET (64 * 1024 * 1024)

/* the documented error names (Configuration Manager's) */
#define EH_CMG_E_NOT_CONNECTED "CMGConnector_NotConnected"
#define EH_CMG_E_INVALID_TOKEN "CMGService_Invalid_Token"
#define EH_CMG_E_FORBIDDEN "CMGConnector_Forbidden"
#define EH_CMG_E_UNAUTHORIZED "CMGConnector_Un-authorizedrequest"
#define EH_CMG_E_INTERNAL "CMGConnector_InternalServerError"
#define EH_CMG_E_UNAVAILABLE "CMGService_Unavailable"

typedef struct _EhCmgTunnel EhCmgTunnel;
typedef struct _EhCmgRelay EhCmgRelay;

typedef struct {
  EhPlugin *plugin;
  EhBus *bus;
  char *name;            /* this gateway's name, attached to relayed requests */
  EhDpBundle *bundle;    /* (nullable) the site's trust bundle */
  EhTrustFollow *trust; /* the site's trust bundle */
  GPtrArray *tunnels;       /* EhCmgTunnel, open (hello or not) */
  GHashTable *per_address;  /* peer → tunnels open or being opened */
  guint next_tunnel;        /* round robin */
  GHashTable *relays;       /* EhCmgRelay in flight (set) */
  gsize window_grown;       /* the relays' windows past EH_CMG_WIRE_WINDOW, together */
  /* counters since start */
  guint64 relayed;
  guint64 refused_token;
  guint64 refused_unmapped;
  guint64 not_connected;
  guint64 upstream_failed;
} EhCmg;

/* ── trust (eh-cmg-trust.c) ───────────────────────────────────────────── */
void eh_cmg_trust_start (EhCmg *cmg);
void eh_cmg_trust_stop (EhCmg *cmg);
/**
 * eh_cmg_client_token_check:
 * @text: the bearer token (hostile)
 * @subject: (out) (transfer full): the client GUID
 *
 * A client token of this site, checked offline with the bundle: signature by
 * a token signing key of the bundle, `typ` client+jwt, `iss` the site, `aud`
 * ehttpd:<site>:mp, `exp`/`nbf` with leeway. %FALSE + EH_ERROR_INVALID_TOKEN.
 */
gboolean eh_cmg_client_token_check (const EhDpBundle *bundle, const char *text, gint64 now,
                                    char **subject, GError **error);

/* ── tunnels (eh-cmg-tunnel.c) ────────────────────────────────────────── */
gboolean eh_cmg_tunnel_register (EhCmg *cmg, GError **error);
void eh_cmg_tunnel_close_all (EhCmg *cmg);
/* the free function of cmg->tunnels */
void eh_cmg_tunnel_destroy (EhCmgTunnel *tunnel);
/* the trust bundle changed: closes tunnels whose certificate is no longer good */
void eh_cmg_tunnel_recheck (EhCmg *cmg);
/* a tunnel (round robin) whose connector publishes mapping @id; NULL when none */
EhCmgTunnel *eh_cmg_tunnel_pick (EhCmg *cmg, const char *id, EhCmgTunnel *not_this);
/* is any tunnel past its hello? */
gboolean eh_cmg_tunnel_any (EhCmg *cmg);
/* the kind ("mp"/"dp") and DP name of mapping @id on @tunnel, FALSE when not there */
gboolean eh_cmg_tunnel_lookup_mapping (EhCmgTunnel *tunnel, const char *id, const char **kind,
                                       const char **dp_name);
/* queues one message; FALSE when the tunnel is closing */
gboolean eh_cmg_tunnel_send (EhCmgTunnel *tunnel, EhCmgKind kind, guint32 stream, GVariant *fields,
                             GBytes *data);
/* opens a stream for @relay on @tunnel; returns its id */
guint32 eh_cmg_tunnel_add_relay (EhCmgTunnel *tunnel, EhCmgRelay *relay);
void eh_cmg_tunnel_remove_relay (EhCmgTunnel *tunnel, guint32 stream);
const char *eh_cmg_tunnel_get_name (EhCmgTunnel *tunnel);
void eh_cmg_tunnel_count_request (EhCmgTunnel *tunnel);
/* for D-Bus: connections, mappings */
GVariant *eh_cmg_tunnel_describe_all (EhCmg *cmg);
GVariant *eh_cmg_tunnel_mappings (EhCmg *cmg);

/* ── what is relayed (eh-cmg-route.c) ─────────────────────────────────── */
typedef struct {
  const char *prefix; /* of the mapped path */
  const char *kind;   /* of the mapping: "mp" or "dp" */
  gboolean open;      /* relayed without a token checked at the edge */
} EhCmgRoute;

/* the route a mapped path takes on a mapping of @kind; NULL: not relayed */
const EhCmgRoute *eh_cmg_route (const char *path, const char *kind);
/* the raw (still encoded) path below /CCM_Proxy_…/<id>, @id set; NULL when malformed */
const char *eh_cmg_split_path (const char *raw, char **id);
/* no dot segments, backslashes, empty segments, NUL or control characters, however encoded */
gboolean eh_cmg_path_clean (const char *path);

/* ── the relay (eh-cmg-relay.c) ───────────────────────────────────────── */
gboolean eh_cmg_relay_register (EhCmg *cmg, GError **error);
/* a message of a relay's stream came through its tunnel */
void eh_cmg_relay_receive (EhCmgRelay *relay, EhCmgMessage *message);
/* the relay's tunnel went away */
void eh_cmg_relay_tunnel_lost (EhCmgRelay *relay);
void eh_cmg_relay_stop_all (EhCmg *cmg);
/*
 * eh_cmg_window_growth:
 * @window: the stream's window now
 * @taken: what the client just took (a credit of as much goes back)
 * @caught_up: the client has taken all the gateway had of the stream
 * @grown: what all windows have grown past their first, together
 *
 * A stream's window grows only while its client keeps up — the tunnel, not
 * the client, sets the pace — by what was taken (so it doubles per round
 * trip), up to EH_CMG_WIRE_MAX_WINDOW and within EH_CMG_WINDOW_BUDGET.
 * Returns: the credit to grant beyond @taken
 */
gsize eh_cmg_window_growth (gsize window, gsize taken, gboolean caught_up, gsize grown);

/* ── D-Bus (eh-cmg-dbus.c) ────────────────────────────────────────────── */
gboolean eh_cmg_dbus_export (EhCmg *cmg, GError **error);
/* "connected" or CMGConnector_NotConnected */
const char *eh_cmg_state (EhCmg *cmg);

G_END_DECLS
