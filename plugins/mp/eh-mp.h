/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ehttpd.h"

G_BEGIN_DECLS

/*
 * The management point: site information, the client security modes, and
 * client registration (a client's own key, proven by a signature over a
 * nonce this MP handed out) with admin approval, client tokens signed by
 * this MP's own token signing key, and bulk registration tokens. README.md
 * says what each endpoint and mode does.
 */

#define EH_MP_HTTP_PREFIX "/ehttpd/mp"
#define EH_MP_MAX_REGISTER_BYTES (16 * 1024)
#define EH_MP_MAX_HOST_NAME 253
#define EH_MP_MAX_HARDWARE_ID 128
#define EH_MP_PROOF_TYP "mp-register+jwt"
#define EH_MP_NONCE_BYTES 32
#define EH_MP_PROOF_ALGS (EH_JWS_ALG_ES256 | EH_JWS_ALG_EDDSA)
#define EH_MP_TOKEN_PROOF_TYP "mp-token+jwt"
#define EH_MP_MAX_TOKEN_REQUEST_BYTES (8 * 1024)
#define EH_MP_CLIENT_TOKEN_TYP "client+jwt"
#define EH_MP_TOKEN_LEEWAY_SECONDS 60
#define EH_MP_BULK_TOKEN_PREFIX "ehbulk."
#define EH_MP_BULK_DEFAULT_SECONDS (3 * 86400)
#define EH_MP_BULK_MAX_SECONDS (7 * 86400)

/* ── security modes (eh-mp-plugin.c) ──────────────────────────────────── */

typedef enum {
  EH_MP_MODE_ENHANCED_HTTP, /* sensitive endpoints HTTPS only; public material on both */
  EH_MP_MODE_HTTPS,         /* everything HTTPS only */
  EH_MP_MODE_HTTP,          /* migration: registration on plain HTTP too; never tokens */
} EhMpMode;

gboolean eh_mp_mode_from_string (const char *text, EhMpMode *mode, GError **error);
const char *eh_mp_mode_to_string (EhMpMode mode);
/* where public material (site information) is served */
EhSchemes eh_mp_mode_public_schemes (EhMpMode mode);
/* where registration and nonces are served */
EhSchemes eh_mp_mode_registration_schemes (EhMpMode mode);

/* ── nonces (eh-mp-nonce.c): short-lived, single use, in memory ───────── */

typedef struct _EhMpNonces EhMpNonces;

EhMpNonces *eh_mp_nonces_new (guint max_outstanding, guint lifetime_seconds);
void eh_mp_nonces_free (EhMpNonces *nonces);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpNonces, eh_mp_nonces_free)
/* a new nonce (base64url), or NULL with EH_ERROR_UNAVAILABLE when the cap is reached */
char *eh_mp_nonces_issue (EhMpNonces *nonces, gint64 *expires_at, GError **error);
/* TRUE exactly once for a nonce issued and not expired; it is gone afterwards */
gboolean eh_mp_nonces_consume (EhMpNonces *nonces, const char *nonce, GError **error);
guint eh_mp_nonces_count (EhMpNonces *nonces);
/* tests: move the clock (monotonic seconds added to now) */
void eh_mp_nonces_set_clock_offset (EhMpNonces *nonces, gint64 seconds);

/* ── proofs of possession (eh-mp-proof.c), shared by registration and tokens */

/* exactly @members (all required), plus any of @optional (nullable) */
gboolean eh_mp_json_check_members (JsonObject *object, const char *const *members,
                                   const char *const *optional, const char *what, GError **error);
gboolean eh_mp_json_get_string (JsonObject *object, const char *member, const char *what,
                                const char **out, GError **error);
/**
 * eh_mp_proof_verify:
 * @members: the payload's members, all strings, one of them "nonce"
 *
 * Verifies a proof JWS (ES256/EdDSA, exact @typ, the key from @lookup) and
 * checks its payload: strict JSON holding exactly @members as strings. The
 * nonce is not consumed here (eh_mp_proof_consume_nonce), so the caller can
 * check the rest of the request first.
 * Returns: (transfer full): the payload, or NULL with EH_ERROR_INVALID_TOKEN/_ARGUMENT
 */
JsonNode *eh_mp_proof_verify (const char *proof, const char *typ, EhJwsKeyLookupFunc lookup,
                              gpointer user_data, const char *const *members, GError **error);
gboolean eh_mp_proof_consume_nonce (JsonNode *claims, EhMpNonces *nonces, GError **error);
gnutls_pubkey_t eh_mp_pubkey_copy (gnutls_pubkey_t key, GError **error);

/* ── registration requests (eh-mp-register.c) ─────────────────────────── */

/**
 * EhMpRegistration: a checked registration request.
 * @thumbprint: RFC 7638 thumbprint of the client's key (SHA-256, base64url)
 * @jwk_json: the key as a canonical public JWK
 * @key_type: "ecdsa-p256" or "ed25519"
 */
typedef struct {
  char *host_name;
  char *hardware_id;
  char *thumbprint;
  char *jwk_json;
  const char *key_type;
  char *bulk_token; /* nullable: the optional bulk registration token */
} EhMpRegistration;

void eh_mp_registration_free (EhMpRegistration *registration);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpRegistration, eh_mp_registration_free)

/**
 * eh_mp_registration_parse:
 *
 * Checks a registration body from the network: strict JSON, the members
 * and their grammar, the key (EC P-256 or Ed25519 only), and the proof: a
 * compact JWS (typ EH_MP_PROOF_TYP, ES256/EdDSA) by that key over
 * {"nonce", "host_name", "hardware_id"} matching the body, whose nonce is
 * consumed. Errors are EH_ERROR_INVALID_ARGUMENT or _INVALID_TOKEN with a
 * message fit for the client.
 */
EhMpRegistration *eh_mp_registration_parse (const char *body, gsize len, EhMpNonces *nonces,
                                            GError **error);

gboolean eh_mp_host_name_is_valid (const char *name);
gboolean eh_mp_hardware_id_is_valid (const char *id);

/* ── records (eh-mp-records.c): the mp's tables ───────────────────────── */

typedef enum {
  EH_MP_CLIENT_PENDING,
  EH_MP_CLIENT_APPROVED,
  EH_MP_CLIENT_BLOCKED,
} EhMpClientState;

const char *eh_mp_client_state_to_string (EhMpClientState state);

typedef struct {
  char *guid;
  char *thumbprint;
  char *jwk_json;
  char *key_type;
  char *host_name;
  char *hardware_id;
  EhMpClientState state;
  char *approved_by; /* nullable */
  char *peer;
  gint64 registered_at;
  gint64 last_seen_at;
  gint64 state_changed_at;
  guint same_hardware; /* other registrations with this hardware id */
} EhMpClient;

void eh_mp_client_free (EhMpClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpClient, eh_mp_client_free)

gboolean eh_mp_records_migrate (EhStore *store, GError **error);

/**
 * eh_mp_records_register:
 * @auto_approve: new keys start approved (unless their hardware id has a
 *   blocked registration, which keeps them pending)
 * @created: (out): whether a new row was made
 *
 * One durable transaction: the client with this key thumbprint (same GUID,
 * last seen updated), or a new row with a new GUID.
 * Returns: (transfer full): the client, or NULL
 */
EhMpClient *eh_mp_records_register (EhStore *store, const EhMpRegistration *registration,
                                    gboolean auto_approve, const char *peer, gboolean *created,
                                    GError **error);
/* (transfer full) the client with this key thumbprint; NULL with EH_ERROR_NOT_FOUND */
EhMpClient *eh_mp_records_get_by_thumbprint (EhStore *store, const char *thumbprint, GError **error);
/* (transfer full) every client, newest first */
GPtrArray *eh_mp_records_list (EhStore *store, GError **error);
/* (transfer full) NULL with EH_ERROR_NOT_FOUND */
EhMpClient *eh_mp_records_get (EhStore *store, const char *guid, GError **error);
/* approve, block or unblock (back to the state it had before the block) */
EhMpClient *eh_mp_records_set_state (EhStore *store, const char *guid, const char *action,
                                     const char *by, GError **error);
/* a GUID as an admin typed it: lower-cased, or NULL + error */
char *eh_mp_guid_normalize (const char *text, GError **error);

/* ── client tokens (eh-mp-token.c) ────────────────────────────────────── */

typedef enum {
  EH_MP_TOKEN_KEY_NEXT,    /* announced (in the trust bundle), not signing yet */
  EH_MP_TOKEN_KEY_ACTIVE,  /* signs new tokens */
  EH_MP_TOKEN_KEY_RETIRED, /* verifies what it signed until its certificate expires */
} EhMpTokenKeyState;

/**
 * EhMpTokenKey: one token signing key of this MP and its certificate.
 * @key: (nullable): the private half (NULL once retired)
 * @x5t: the certificate's `x5t#S256`
 */
typedef struct {
  EhMpTokenKeyState state;
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  gnutls_x509_crt_t cert;
  char *x5t;
  char *serial;
  char *key_file;
  gint64 not_before;
  gint64 not_after;
  gint64 activate_at;
} EhMpTokenKey;

void eh_mp_token_key_free (EhMpTokenKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpTokenKey, eh_mp_token_key_free)
/* takes @key (nullable) and @cert */
EhMpTokenKey *eh_mp_token_key_new (gnutls_privkey_t key, gnutls_x509_crt_t cert, GError **error);
/* (transfer none) the first key of @keys in @state, or NULL */
EhMpTokenKey *eh_mp_token_keys_find (GPtrArray *keys, EhMpTokenKeyState state);
/* the `aud` of client tokens: "ehttpd:<site>:mp", every MP of the site */
char *eh_mp_client_token_audience (const char *site);
/* (transfer full) a client token for @client signed by @key (ES256, typ client+jwt) */
char *eh_mp_client_token_issue (const EhMpTokenKey *key, const char *site, const EhMpClient *client,
                                guint lifetime, gint64 now, gint64 *expires_at, GError **error);
/**
 * eh_mp_client_token_check:
 * @keys: this MP's token signing keys (EhMpTokenKey); only unexpired ones count
 *
 * Checks a client token on a later call: signature by one of @keys (found
 * by `x5t#S256`, ES256 only), typ client+jwt, iss @site, aud, exp/nbf with
 * EH_MP_TOKEN_LEEWAY_SECONDS, cnf.jkt equal to the client's key, and the
 * client still approved. Errors: EH_ERROR_INVALID_TOKEN (the token),
 * EH_ERROR_PERMISSION_DENIED with message "client_pending"/"client_blocked".
 * Returns: (transfer full): the client
 */
EhMpClient *eh_mp_client_token_check (GPtrArray *keys, const char *site, EhStore *store,
                                      const char *token, gint64 now, GError **error);

/* ── bulk registration tokens (eh-mp-bulk.c) ──────────────────────────── */

typedef struct {
  char *guid;
  gint64 created_at;
  gint64 expires_at;
  guint max_uses; /* 0: no limit */
  guint uses;
  gboolean blocked;
  char *created_by;
  gint64 first_used_at; /* 0: never */
  gint64 last_used_at;
  GStrv clients;
} EhMpBulkToken;

void eh_mp_bulk_token_free (EhMpBulkToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpBulkToken, eh_mp_bulk_token_free)
gboolean eh_mp_bulk_token_is_well_formed (const char *token);
/* (transfer full) a new token's secret (shown once; only its hash is stored) */
char *eh_mp_bulk_token_create (EhStore *store, gint64 lifetime, guint max_uses, const char *by,
                               char **guid, GError **error);
GPtrArray *eh_mp_bulk_token_list (EhStore *store, GError **error);
gboolean eh_mp_bulk_token_set_blocked (EhStore *store, const char *guid, gboolean blocked,
                                       GError **error);
/**
 * eh_mp_bulk_token_use:
 *
 * Inside the caller's transaction: checks @token (known, not blocked, not
 * expired, uses left) and counts one use by @client_guid in the ledger.
 * Errors: EH_ERROR_PERMISSION_DENIED with a message fit for the client.
 */
gboolean eh_mp_bulk_token_use (EhStore *store, const char *token, const char *client_guid,
                               char **bulk_guid, GError **error);

/* ── the plugin (eh-mp-plugin.c, eh-mp-site.c, eh-mp-http.c, eh-mp-dbus.c) */

typedef struct {
  EhPlugin *plugin;
  EhStore *store;
  EhBus *bus;
  EhMpMode mode;
  gboolean auto_approve;
  GStrv https_urls; /* configured; empty: this host's HTTPS listeners */
  char *ca_url;     /* configured base of the ca's public material; NULL: this host */
  EhMpNonces *nonces;
  /* the site's trust material, from ca.trust-bundle.get/.changed */
  guint64 bundle_version;
  char *site_code;
  char *root_fingerprint;
  char *site_signing_pem;
  char *bundle_error; /* why there is none yet */
  guint subscription;
  guint retry_source;
  guint retry_seconds;
  GCancellable *cancellable;
  /* client tokens (eh-mp-token-key.c) */
  guint client_token_lifetime;
  guint token_key_announce;
  char *host_name;
  char *private_dir;
  GPtrArray *token_keys; /* EhMpTokenKey; NULL until loaded */
  gboolean token_key_busy;
  char *token_key_error;
  guint token_key_source;
  GList *rollover_waiters; /* GDBusMethodInvocation */
  GCancellable *token_cancellable;
} EhMp;

extern const EhPluginDesc eh_mp_plugin;

/* takes what it needs from a trust bundle; FALSE + error when it is unusable */
gboolean eh_mp_site_take_bundle (EhMp *mp, const char *bundle_json, guint64 version, GError **error);
/* (transfer full) the site information document, or NULL + error before a bundle arrived */
char *eh_mp_site_info_json (EhMp *mp, GError **error);
void eh_mp_site_start (EhMp *mp);
void eh_mp_site_stop (EhMp *mp);

gboolean eh_mp_http_start (EhMp *mp, GError **error);
void eh_mp_http_refuse (EhRequest *request, guint status, const char *code, const char *message);
void eh_mp_http_json (EhRequest *request, guint status, const char *json);
/* POST token, GET whoami (eh-mp-token-http.c) */
gboolean eh_mp_token_http_start (EhMp *mp, GError **error);
/* (transfer full) the client of the request's Bearer client token, or NULL after refusing it */
EhMpClient *eh_mp_token_http_authenticate (EhMp *mp, EhRequest *request);

/* this MP's token signing keys (eh-mp-token-key.c) */
gboolean eh_mp_token_keys_start (EhMp *mp, GError **error);
void eh_mp_token_keys_stop (EhMp *mp);
gboolean eh_mp_token_keys_tick_source (gpointer data);
/* (transfer none) the key that signs now, or NULL */
const EhMpTokenKey *eh_mp_token_keys_signer (EhMp *mp);
/* starts a rollover; @invocation is answered once the next key is announced */
gboolean eh_mp_token_keys_rollover (EhMp *mp, GDBusMethodInvocation *invocation, GError **error);
GVariant *eh_mp_token_key_describe (const EhMpTokenKey *key);
gboolean eh_mp_dbus_start (EhMp *mp, GError **error);

G_END_DECLS
