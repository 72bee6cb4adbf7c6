/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "eh-crypto.h"
#include "eh-error.h"
#include "eh-json.h"
#include "eh-jws.h"
#include "eh-text.h"

G_BEGIN_DECLS

/* exit codes (the man page lists them) */
typedef enum {
  EH_CLIENT_EXIT_OK = 0,
  EH_CLIENT_EXIT_FAILED = 1,       /* anything not below */
  EH_CLIENT_EXIT_USAGE = 2,        /* bad command line */
  EH_CLIENT_EXIT_NOT_JOINED = 3,   /* no state: run join first */
  EH_CLIENT_EXIT_TRUST = 4,        /* the site is not the pinned one, or a TLS peer does not chain to it */
  EH_CLIENT_EXIT_REFUSED = 5,      /* the site refused: pending, blocked, bad token … */
  EH_CLIENT_EXIT_TAMPERED = 6,     /* a signature or hash did not verify: nothing was used */
  EH_CLIENT_EXIT_UNREACHABLE = 7,  /* the MP, or every DP, could not be reached or served */
  EH_CLIENT_EXIT_UNSUPPORTED = 8,  /* the site or this build does not offer what was asked */
} EhClientExit;

#define EH_CLIENT_DEFAULT_STALL_SECONDS 30
#define EH_CLIENT_MAX_JSON_BYTES (256 * 1024)

/* what `join` records in the state directory (site.json) */
typedef struct {
  char *site;             /* site code */
  char *site_url;         /* the plain http:// URL join started from */
  char *root_fingerprint; /* sha256:… */
  guint8 root[32];
  gboolean trust_on_first_use;
  char *mp_url;           /* https://HOST:PORT of the management point */
  char *gateway;          /* (nullable) a CMG's https://HOST:PORT: internet mode */
  char *gateway_mp_id;    /* the MP's id at the gateway (/CCM_Proxy_ServerAuth/<id>/…) */
  char *gateway_dp_id;    /* the DP's id at the gateway (content) */
  gboolean gateway_ca;    /* gateway-ca.pem in the state dir: the gateway has a public certificate */
  char *key;              /* key.pem (in the state dir) or a pkcs11: URI */
  char *pkcs11_module;    /* (nullable) */
  char *host_name;
  char *hardware_id;
} EhClientSite;

/* one run of the program */
typedef struct {
  char *state_dir;
  gboolean json;
  gboolean quiet;
  guint stall_seconds;
  EhClientSite *site;          /* (nullable) until loaded */
  gnutls_privkey_t key;        /* (nullable) until opened */
  SoupSession *session;
  char *client_guid;           /* (nullable) from client.json */
  char *client_state;          /* (nullable) */
  JsonObject *report;          /* what --json prints for commands that report */
  struct _EhDpBundle *bundle;  /* (nullable) the trust bundle, fetched over pinned HTTPS */
  gboolean without_mp;         /* a handed-over content token: the MP is not asked */
  char *gateway;               /* (nullable) --gateway for this run: wins over the site's */
  char *gateway_ca;            /* (nullable) --gateway-ca for this run */
  GTlsDatabase *gateway_anchors; /* (nullable) the anchors of a gateway with a public certificate */
  JsonObject *refusal;         /* (nullable) the last refusal of the MP or gateway, for --json */
} EhClient;

/* who a request goes to: what its server's certificate must be */
typedef enum {
  EH_CLIENT_PEER_MP,      /* chains to the pinned root */
  EH_CLIENT_PEER_DP,      /* chains to the pinned root, names the dp role, not revoked */
  EH_CLIENT_PEER_GATEWAY, /* names the cmg role like a DP, or verifies against --gateway-ca */
} EhClientPeer;

#define EH_CLIENT_GATEWAY_MP_ID "72057594037927937"
#define EH_CLIENT_GATEWAY_DP_ID "72057594037927938"
#define EH_CLIENT_GATEWAY_PREFIX "/CCM_Proxy_ServerAuth/"
#define EH_CLIENT_GATEWAY_CA_FILE "gateway-ca.pem"

typedef int (*EhClientCommandFunc) (EhClient *client, int argc, char **argv);

typedef struct {
  const char *name;
  const char *summary;
  EhClientCommandFunc run;
} EhClientCommand;

/* eh-client-main.c */
int eh_client_exit_for_error (const GError *error);
int eh_client_fail (EhClient *client, const GError *error);
gboolean eh_client_parse_options (const char *command, const char *parameters, const char *description,
                                  const GOptionEntry *entries, int *argc, char ***argv, int min_args,
                                  int max_args, int *exit_code);
void eh_client_print_json (JsonNode *node);

/* eh-client-state.c */
char *eh_client_default_state_dir (void);
gboolean eh_client_state_prepare (const char *dir, GError **error);
gboolean eh_client_state_write_json (const char *dir, const char *name, JsonNode *node, GError **error);
JsonNode *eh_client_state_read_json (const char *dir, const char *name, GError **error);
gboolean eh_client_gateway_id_is_valid (const char *id);
void eh_client_site_free (EhClientSite *site);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhClientSite, eh_client_site_free)
gboolean eh_client_site_save (const char *dir, const EhClientSite *site, GError **error);
gboolean eh_client_load (EhClient *client, GError **error);
gboolean eh_client_key_create (const char *dir, const char *key_type, GError **error);
gboolean eh_client_key_open (EhClient *client, GError **error);
gboolean eh_client_save_registration (EhClient *client, const char *guid, const char *state,
                                      GError **error);

/* eh-client-http.c: every request after join is HTTPS to a peer chaining to the pinned root */
#define EH_CLIENT_ERROR_HTTP (eh_client_http_error_quark ())
GQuark eh_client_http_error_quark (void);
SoupSession *eh_client_session_new (guint stall_seconds);
/* a TLS database that trusts nothing: every chain goes to accept-certificate (eh-client-tls-db.c) */
#define EH_CLIENT_TYPE_TLS_DB (eh_client_tls_db_get_type ())
G_DECLARE_FINAL_TYPE (EhClientTlsDb, eh_client_tls_db, EH_CLIENT, TLS_DB, GTlsDatabase)
GTlsDatabase *eh_client_tls_db_new (void);
SoupMessage *eh_client_message_new (EhClient *client, EhClientPeer peer, const char *method, const char *url,
                                    const char *bearer, GError **error);
GInputStream *eh_client_http_open (EhClient *client, SoupMessage *msg, GError **error);
GBytes *eh_client_http_plain_get (SoupSession *session, const char *url, gsize max, GError **error);
GBytes *eh_client_http_send (EhClient *client, SoupMessage *msg, gsize max, GError **error);
JsonObject *eh_client_http_json (EhClient *client, const char *method, const char *path, JsonNode *body,
                                 const char *bearer, guint *status, GError **error);
GBytes *eh_client_http_get_bytes (EhClient *client, const char *path, const char *bearer, GError **error);
char *eh_client_mp_url (EhClient *client, const char *path);
const char *eh_client_gateway (EhClient *client);
char *eh_client_gateway_url (EhClient *client, const char *id);
void eh_client_http_refused (EhClient *client, const char *what, guint status, JsonObject *object, GError **error);
gboolean eh_client_url_parse_https (const char *url, char **base, char **host, GError **error);

/* eh-client-token.c */
gboolean eh_client_token_ensure (EhClient *client, gboolean force, char **token, GError **error);
gint64 eh_client_token_expiry (EhClient *client);
GBytes *eh_client_mp_get (EhClient *client, const char *path, GError **error);
gboolean eh_client_register (EhClient *client, const char *bulk_token, const char *entra_token, char **guid,
                             char **state, GError **error);
gboolean eh_client_token_exchange (EhClient *client, const char *entra_token, char **token, GError **error);
JsonObject *eh_client_token_entra (EhClient *client);
char *eh_client_entra_read (const char *path, GError **error);

/* eh-client-policy.c */
typedef struct {
  char *id;
  char *content_id;
  char *action;
  char *target;
} EhClientAssignment;
void eh_client_assignment_free (EhClientAssignment *assignment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhClientAssignment, eh_client_assignment_free)
GPtrArray *eh_client_policy_fetch (EhClient *client, GError **error);
gboolean eh_client_bundle_refresh (EhClient *client, GError **error);
char *eh_client_verify_signed (EhClient *client, const char *jws, const char *typ, gsize max, GError **error);

/* eh-client-content.c */
typedef struct {
  const char *content_id;
  const char *dest;
  const char *content_token; /* (nullable) skips the MP */
  GStrv dp_urls;             /* (nullable) with content_token */
  guint64 max_rate;          /* bytes per second, 0: no limit */
} EhClientGet;
gboolean eh_client_content_get (EhClient *client, const EhClientGet *get, JsonObject *report, GError **error);

/* eh-client-progress.c */
typedef struct _EhClientProgress EhClientProgress;
EhClientProgress *eh_client_progress_new (gboolean quiet);
void eh_client_progress_set_content (EhClientProgress *progress, guint files, guint64 bytes);
void eh_client_progress_free (EhClientProgress *progress);
void eh_client_progress_file (EhClientProgress *progress, const char *path, const char *dp);
void eh_client_progress_update (EhClientProgress *progress, guint64 done, gboolean force);
void eh_client_progress_note (EhClientProgress *progress, const char *format, ...) G_GNUC_PRINTF (2, 3);
void eh_client_progress_done (EhClientProgress *progress);

/* commands */
int eh_client_register_command (EhClient *client, int argc, char **argv);
int eh_client_status_command (EhClient *client, int argc, char **argv);
int eh_client_token_command (EhClient *client, int argc, char **argv);
int eh_client_policy_command (EhClient *client, int argc, char **argv);
int eh_client_run_command (EhClient *client, int argc, char **argv);
void eh_client_bundle_free (EhClient *client);
int eh_client_finish (EhClient *client, JsonObject *report, const GError *error);
gboolean eh_client_open (EhClient *client, GError **error);

/* command tables */
extern const EhClientCommand eh_client_site_commands[];
extern const EhClientCommand eh_client_content_commands[];

G_END_DECLS
