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
#define EH_MP_MAX_STS_BYTES (24 * 1024) /* an Entra token with its groups, and a proof */
#define EH_MP_CLIENT_TOKEN_TYP "client+jwt"
#define EH_MP_TOKEN_LEEWAY_SECONDS 60
#define EH_MP_BULK_TOKEN_PREFIX "ehbulk."
#define EH_MP_BULK_DEFAULT_SECONDS (3 * 86400)
#define EH_MP_BULK_MAX_SECONDS (7 * 86400)
#define EH_MP_POLICY_TYP "policy+jwt"
#define EH_MP_CONTENT_TOKEN_TYP "content+jwt"
#define EH_MP_MAX_DPS_PER_CONTENT 64 /* the DP's cap on a content token's aud */
#define EH_MP_MAX_LOCATED_CONTENTS 100000

typedef struct _EhMpEntraIdentity EhMpEntraIdentity;

/* ── reasons for refusals (eh-mp-reason.c): the one table of codes ─────── */

typedef enum {
  EH_MP_REASON_INVALID_REQUEST,
  EH_MP_REASON_INVALID_PROOF,
  EH_MP_REASON_CLIENT_UNKNOWN,
  EH_MP_REASON_CLIENT_PENDING,
  EH_MP_REASON_CLIENT_BLOCKED,
  EH_MP_REASON_BULK_TOKEN_INVALID,
  EH_MP_REASON_BULK_TOKEN_EXPIRED,
  EH_MP_REASON_BULK_TOKEN_BLOCKED,
  EH_MP_REASON_BULK_TOKEN_EXHAUSTED,
  EH_MP_REASON_TOKEN_REQUIRED,
  EH_MP_REASON_INVALID_TOKEN,
  EH_MP_REASON_USER_TOKEN_REQUIRED,
  EH_MP_REASON_ASSIGNMENT_UNKNOWN,
  EH_MP_REASON_CONTENT_NOT_LOCATED,
  EH_MP_REASON_ENTRA_NOT_CONFIGURED,
  EH_MP_REASON_ENTRA_TOKEN_INVALID,
  EH_MP_REASON_ENTRA_KEY_UNKNOWN,
  EH_MP_REASON_ENTRA_WRONG_TENANT,
  EH_MP_REASON_ENTRA_WRONG_AUDIENCE,
  EH_MP_REASON_ENTRA_EXPIRED,
  EH_MP_REASON_USER_NOT_DISCOVERED,
  EH_MP_REASON_DEVICE_NOT_DISCOVERED,
  EH_MP_REASON_PROOF_STALE,
  EH_MP_REASON_BUSY,
  EH_MP_REASON_SITE_UNAVAILABLE,
  EH_MP_REASON_STORE_FAILED,
  EH_MP_REASON_TOKEN_KEY_UNAVAILABLE,
  EH_MP_REASON_TOKEN_FAILED,
  EH_MP_REASON_POLICY_UNAVAILABLE,
  EH_MP_REASON_UNAVAILABLE,
  EH_MP_REASON_LAST
} EhMpReason;

/**
 * EhMpReasonInfo:
 * @code: the stable code (JSON "reason", log line, `ehttpctl explain CODE`)
 * @error: (nullable): the JSON "error" when it is not @code (the Entra
 *   exchange answers Configuration Manager's "Un-authorizedrequest")
 * @rule: the rule that refused, in words
 */
typedef struct {
  const char *code;
  guint status;
  const char *error;
  const char *rule;
} EhMpReasonInfo;

const EhMpReasonInfo *eh_mp_reason_info (EhMpReason reason);
gboolean eh_mp_reason_from_code (const char *code, EhMpReason *reason);

/* one remembered refusal */
typedef struct {
  char *request_id;
  EhMpReason reason;
  char *subject; /* nullable: client GUID, key thumbprint or Entra tid/oid */
  char *path;
  char *message;
  gint64 when;
} EhMpDenial;

typedef struct _EhMpDenials EhMpDenials;

void eh_mp_denial_free (EhMpDenial *denial);
/* at most @cap refusals, the oldest forgotten first */
EhMpDenials *eh_mp_denials_new (guint cap);
void eh_mp_denials_free (EhMpDenials *denials);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpDenials, eh_mp_denials_free)
void eh_mp_denials_add (EhMpDenials *denials, const char *request_id, EhMpReason reason,
                        const char *subject, const char *path, const char *message, gint64 when);
/* (transfer none) (nullable) */
const EhMpDenial *eh_mp_denials_find (EhMpDenials *denials, const char *request_id);
guint eh_mp_denials_count (EhMpDenials *denials);

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

/* ── self-timed proofs (eh-mp-replay.c): {"jti", "iat"} once each ─────── */

typedef struct _EhMpReplay EhMpReplay;
EhMpReplay *eh_mp_replay_new (guint window_seconds, guint max_entries);
void eh_mp_replay_free (EhMpReplay *replay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpReplay, eh_mp_replay_free)
/* TRUE exactly once for a jti whose iat is within the window of now;
 * EH_ERROR_TIMEOUT (iat outside the window), EH_ERROR_INVALID_TOKEN (seen),
 * EH_ERROR_UNAVAILABLE (full) */
gboolean eh_mp_replay_accept (EhMpReplay *replay, const char *jti, gint64 iat, GError **error);
guint eh_mp_replay_count (EhMpReplay *replay);
/* the replay guard's clock (Unix seconds, with the tests' offset) */
gint64 eh_mp_replay_now (EhMpReplay *replay);
void eh_mp_replay_set_clock_offset (EhMpReplay *replay, gint64 seconds);

/* ── crypto workers (eh-mp-worker.c): proofs checked, tokens signed ───── */

typedef struct _EhMpWorkers EhMpWorkers;
typedef void (*EhMpWorkFunc) (gpointer data);
/* @n_threads: 0 for one per processor (at most 8) */
EhMpWorkers *eh_mp_workers_new (guint n_threads);
/* @run in a worker, then @done on the main loop of the caller's thread */
void eh_mp_workers_push (EhMpWorkers *workers, EhMpWorkFunc run, EhMpWorkFunc done, gpointer data);
/* runs what is queued (and its done functions), then stops the threads */
void eh_mp_workers_free (EhMpWorkers *workers);

/* ── proofs of possession (eh-mp-proof.c), shared by registration and tokens */

/* exactly @members (all required), plus any of @optional (nullable) */
gboolean eh_mp_json_check_members (JsonObject *object, const char *const *members,
                                   const char *const *optional, const char *what, GError **error);
gboolean eh_mp_json_get_string (JsonObject *object, const char *member, const char *what,
                                const char **out, GError **error);
/**
 * eh_mp_proof_verify:
 * @members: (nullable): the payload's members, all strings, one of them
 *   "nonce"; NULL: any JSON object, the caller checks it
 *
 * Verifies a proof JWS (ES256/EdDSA, exact @typ, the key from @lookup) and
 * checks its payload: strict JSON holding exactly @members as strings. The
 * nonce is not consumed here (eh_mp_proof_accept), so the caller can
 * check the rest of the request first.
 * Returns: (transfer full): the payload, or NULL with EH_ERROR_INVALID_TOKEN/_ARGUMENT
 */
JsonNode *eh_mp_proof_verify (const char *proof, const char *typ, EhJwsKeyLookupFunc lookup,
                              gpointer user_data, const char *const *members, GError **error);
/* the proof's freshness, once its signature holds: exactly {"nonce"} (consumed
 * from @nonces) or {"jti", "iat"} (self-timed: accepted once by @replay,
 * nullable: refused), plus any of @bound (nullable), which the caller checks.
 * Errors: EH_ERROR_TIMEOUT (iat out of the window), _UNAVAILABLE (the replay
 * guard is full), _INVALID_TOKEN/_ARGUMENT (the rest) */
gboolean eh_mp_proof_accept (JsonNode *claims, const char *const *bound, EhMpNonces *nonces, EhMpReplay *replay,
                             GError **error);
/* the refusal a failed eh_mp_proof_accept (or signature) gets */
EhMpReason eh_mp_proof_refusal_reason (const GError *error);
/* eh_mp_proof_verify with @key (transfer full) and @alg; @kid (nullable):
 * the header's kid must be exactly this; any thread */
JsonNode *eh_mp_proof_verify_with_key (const char *proof, const char *typ, gnutls_pubkey_t key, EhJwsAlg alg,
                                       const char *kid, const char *const *members, GError **error);
/**
 * EhMpProofVerified:
 * @claims: (transfer full) (nullable): the proof's payload, or NULL with @error
 *
 * Called on the main loop with the result of eh_mp_proof_verify_async.
 */
typedef void (*EhMpProofVerified) (JsonNode *claims, const GError *error, gpointer user_data);
/* eh_mp_proof_verify in a worker with @key (transfer full); @kid
 * (nullable): the header's kid must be exactly this; @typ and @members
 * static; @also (nullable) runs in the worker too, with @user_data, once
 * the signature holds (e.g. signs the token the proof asks for) */
void eh_mp_proof_verify_async (EhMpWorkers *workers, const char *proof, const char *typ, gnutls_pubkey_t key,
                               EhJwsAlg alg, const char *kid, const char *const *members, EhMpWorkFunc also,
                               EhMpProofVerified callback, gpointer user_data);
#define EH_MP_PROOF_HEADER_MAX 1024
/* the kid of a proof's header, unchecked: only a key to look the client up by */
char *eh_mp_proof_peek_kid (const char *proof, GError **error);
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
  char *entra_token; /* nullable: the optional Entra token (not with a bulk token) */
  char *proof;       /* the proof of possession, until it is checked */
  gnutls_pubkey_t key; /* until the proof is checked (then NULL) */
  EhJwsAlg alg;
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
 * consumed (a self-timed proof is refused here: no replay guard). Errors are EH_ERROR_INVALID_ARGUMENT or _INVALID_TOKEN with a
 * message fit for the client.
 */
EhMpRegistration *eh_mp_registration_parse (const char *body, gsize len, EhMpNonces *nonces,
                                            GError **error);
/* the same in two steps, so that the signature can be checked elsewhere
 * (eh_mp_proof_verify_with_key with ->key taken, ->alg, ->proof and no
 * members) in between: everything but the proof … */
EhMpRegistration *eh_mp_registration_read (const char *body, gsize len, GError **error);
/* … then the verified proof's claims: host_name and hardware_id must match
 * the body, with a nonce (consumed) or a self-timed jti and iat (accepted
 * once by @replay, nullable: refused), as eh_mp_proof_accept */
gboolean eh_mp_registration_check_claims (EhMpRegistration *registration, JsonNode *claims, EhMpNonces *nonces,
                                          EhMpReplay *replay, GError **error);

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
 * @approve_by: (nullable): approves the client (new, or pending) in that
 *   name, as a bulk token does (e.g. an Entra identity)
 * @created: (out): whether a new row was made
 *
 * One durable transaction: the client with this key thumbprint (same GUID,
 * last seen updated), or a new row with a new GUID.
 * Returns: (transfer full): the client, or NULL
 */
EhMpClient *eh_mp_records_register (EhStore *store, const EhMpRegistration *registration,
                                    gboolean auto_approve, const char *approve_by, const char *peer,
                                    gboolean *created, GError **error);
/* one registration of a batch: what eh_mp_records_register takes, and (out)
 * @client or @error, and @created */
typedef struct {
  const EhMpRegistration *registration;
  gboolean auto_approve;
  const char *approve_by;
  const char *peer;
  EhMpClient *client;
  gboolean created;
  GError *error;
} EhMpRegisterItem;
/* eh_mp_records_register for each item, all in one durable transaction (one
 * flush for the lot), each succeeding or failing alone */
void eh_mp_records_register_batch (EhStore *store, EhMpRegisterItem *items, guint n_items);
/* (transfer full) the client with this key thumbprint; NULL with EH_ERROR_NOT_FOUND */
EhMpClient *eh_mp_records_get_by_thumbprint (EhStore *store, const char *thumbprint, GError **error);
/* (transfer full) what a token request needs of the client with this key
 * thumbprint: guid, thumbprint, key_type and state only (the other members
 * NULL or 0), and @key (transfer full) imported with its @alg, from the
 * client cache when it holds them; NULL with EH_ERROR_NOT_FOUND, or _STORE
 * (also for a key that does not import) */
EhMpClient *eh_mp_records_get_key_by_thumbprint (EhStore *store, const char *thumbprint, gnutls_pubkey_t *key,
                                                 EhJwsAlg *alg, GError **error);
/* (transfer full) at most @limit clients from @offset, newest first, of
 * @state (nullable: every state); *total: how many there are in all */
GPtrArray *eh_mp_records_list (EhStore *store, const char *state, guint offset, guint limit, guint *total,
                               GError **error);
/* (transfer full) NULL with EH_ERROR_NOT_FOUND */
EhMpClient *eh_mp_records_get (EhStore *store, const char *guid, GError **error);
/* approve, block or unblock (back to the state it had before the block) */
EhMpClient *eh_mp_records_set_state (EhStore *store, const char *guid, const char *action,
                                     const char *by, GError **error);
/* a GUID as an admin typed it: lower-cased, or NULL + error */
char *eh_mp_guid_normalize (const char *text, GError **error);

/* ── the client cache (eh-mp-client-cache.c): token lookups by thumbprint */

typedef struct _EhMpClientCache EhMpClientCache;
/* (transfer none) the cache of @store's clients, made on first use */
EhMpClientCache *eh_mp_client_cache_get (EhStore *store);
/* at most @capacity clients (0: none cached) */
void eh_mp_client_cache_set_capacity (EhMpClientCache *cache, guint capacity);
/* @thumbprint (nullable): that client, or every one */
void eh_mp_client_cache_forget (EhMpClientCache *cache, const char *thumbprint);
void eh_mp_client_cache_add (EhMpClientCache *cache, const EhMpClient *client, gnutls_pubkey_t key, EhJwsAlg alg);
EhMpClient *eh_mp_client_cache_lookup (EhMpClientCache *cache, const char *thumbprint, gnutls_pubkey_t *key,
                                       EhJwsAlg *alg);
void eh_mp_client_cache_stats (EhMpClientCache *cache, guint *entries, guint64 *hits, guint64 *misses);

/* ── client tokens (eh-mp-token.c) ────────────────────────────────────── */

typedef enum {
  EH_MP_TOKEN_KEY_NEXT,    /* announced (in the trust bundle), not signing yet */
  EH_MP_TOKEN_KEY_ACTIVE,  /* signs new tokens */
  EH_MP_TOKEN_KEY_RETIRED, /* verifies what it signed until its certificate expires */
} EhMpTokenKeyState;

/**
 * EhMpTokenKey: one token signing key of this MP and its certificate,
 * reference counted: a token being signed in a worker keeps its key while
 * a reload or rollover replaces the list.
 * @key: (nullable): the private half (NULL once retired)
 * @x5t: the certificate's `x5t#S256`
 */
typedef struct {
  gint ref_count;
  guint signing; /* tokens being signed in workers (main loop only) */
  EhMpTokenKeyState state;
  gnutls_privkey_t key;
  gnutls_pubkey_t pub;
  gnutls_x509_crt_t cert;
  char *x5t;
  char *client_header; /* the base64url JWS header of every client token it signs */
  char *serial;
  char *key_file;
  gint64 not_before;
  gint64 not_after;
  gint64 activate_at;
} EhMpTokenKey;

EhMpTokenKey *eh_mp_token_key_ref (EhMpTokenKey *key);
void eh_mp_token_key_unref (EhMpTokenKey *key);
/* main loop only: @key signs a token in a worker (a reference, and its
 * private half kept until _end even if it retires meanwhile) … */
EhMpTokenKey *eh_mp_token_key_sign_begin (EhMpTokenKey *key);
void eh_mp_token_key_sign_end (EhMpTokenKey *key);
/* … it signs no more: its private half goes now, or at the last _end */
void eh_mp_token_key_retire (EhMpTokenKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpTokenKey, eh_mp_token_key_unref)
/* takes @key (nullable) and @cert */
EhMpTokenKey *eh_mp_token_key_new (gnutls_privkey_t key, gnutls_x509_crt_t cert, GError **error);
/* (transfer none) the first key of @keys in @state, or NULL */
EhMpTokenKey *eh_mp_token_keys_find (GPtrArray *keys, EhMpTokenKeyState state);
/* the `aud` of client tokens: "ehttpd:<site>:mp", every MP of the site */
char *eh_mp_client_token_audience (const char *site);
/* (transfer full) a client token for @client signed by @key (ES256, typ client+jwt) */
/* @entra: (nullable): the Entra identity the token carries (claim "entra") */
char *eh_mp_client_token_issue (const EhMpTokenKey *key, const char *site, const EhMpClient *client,
                                const EhMpEntraIdentity *entra, guint lifetime, gint64 now, gint64 *expires_at,
                                GError **error);
/**
 * eh_mp_client_token_check:
 * @keys: this MP's token signing keys (EhMpTokenKey); only unexpired ones count
 *
 * Checks a client token on a later call: signature by one of @keys (found
 * by `x5t#S256`, ES256 only), typ client+jwt, iss @site, aud, exp/nbf with
 * EH_MP_TOKEN_LEEWAY_SECONDS, cnf.jkt equal to the client's key. The
 * caller checks the client's state (it may be pending or blocked by now).
 * Errors: EH_ERROR_INVALID_TOKEN (the token), EH_ERROR_UNAVAILABLE, _STORE.
 * @entra: (out) (optional) (nullable): the Entra identity the token carries
 * Returns: (transfer full): the client the token names
 */
EhMpClient *eh_mp_client_token_check (GPtrArray *keys, const char *site, EhStore *store,
                                      const char *token, gint64 now, EhMpEntraIdentity **entra,
                                      GError **error);

/**
 * eh_mp_token_sign:
 * @aud: (transfer full): the `aud` claim (a string or an array)
 * @extra: (nullable): kind-specific claims, added after the common ones
 *
 * The one signer of this MP's tokens: iss @site, sub, aud, iat, nbf, exp
 * (never past the signing certificate's end), jti, plus @extra; ES256,
 * header typ @typ and x5t#S256 of @key's certificate.
 */
char *eh_mp_token_sign (const EhMpTokenKey *key, const char *typ, const char *site, const char *sub,
                        JsonNode *aud, JsonObject *extra, guint lifetime, gint64 now,
                        gint64 *expires_at, GError **error);
/**
 * eh_mp_content_token_issue:
 * @dps: the DP names (the `aud` array), 1 to EH_MP_MAX_DPS_PER_CONTENT
 * @jkt: (nullable): the client key thumbprint when tokens are bound (`cnf`)
 *
 * A content token (typ content+jwt) for one content: `content` maps
 * @content_id to @manifest_sha256 (hex SHA-256 of its signed manifest).
 */
char *eh_mp_content_token_issue (const EhMpTokenKey *key, const char *site, const char *client_guid,
                                 const char *const *dps, const char *content_id,
                                 const char *manifest_sha256, const char *jkt, guint lifetime,
                                 gint64 now, gint64 *expires_at, GError **error);

/* ── policy: deployments and collections (eh-mp-deploy.c) ─────────────── */

typedef struct {
  char *id;         /* a GUID: the assignment id clients see */
  char *content_id; /* e.g. PS100001 */
  char *action;     /* install, uninstall, run, available */
  char *collection; /* nullable: NULL targets every client */
  char *body;       /* the policy body, fixed at creation (its SHA-256 is what policy signs) */
  char *body_sha256;
  char *created_by;
  gint64 created_at;
} EhMpDeployment;

void eh_mp_deployment_free (EhMpDeployment *deployment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpDeployment, eh_mp_deployment_free)
gboolean eh_mp_content_id_is_valid (const char *id);
gboolean eh_mp_action_is_valid (const char *action);
gboolean eh_mp_collection_name_is_valid (const char *name);
/* (transfer full) the new deployment (one durable transaction); @collection nullable */
EhMpDeployment *eh_mp_deployment_create (EhStore *store, const char *content_id, const char *action,
                                         const char *collection, const char *by, GError **error);
/* (transfer full) every deployment (EhMpDeployment), oldest first */
GPtrArray *eh_mp_deployment_list (EhStore *store, GError **error);
gboolean eh_mp_deployment_remove (EhStore *store, const char *id, GError **error);
/* (transfer full) the deployments that target @client_guid (all, or one of its collections) */
GPtrArray *eh_mp_deployments_for_client (EhStore *store, const char *client_guid, GError **error);
/* FALSE with EH_ERROR_EXISTS / _NOT_FOUND when nothing changes */
gboolean eh_mp_collection_set_member (EhStore *store, const char *collection, const char *client_guid,
                                      gboolean member, GError **error);
/* (transfer full) GStrv pairs "collection", "client guid", … ; @collection nullable: all */
GPtrArray *eh_mp_collection_list (EhStore *store, const char *collection, GError **error);

/* ── policy documents (eh-mp-policy.c) ─────────────────────────────────── */

/* (transfer full) the policy body of one deployment: canonical JSON */
char *eh_mp_policy_body (const char *id, const char *content_id, const char *action,
                         const char *collection, gint64 created_at);
/* (transfer full) the payload the site signing key signs: iss, sub, iat, assignments [{id, sha256}] */
char *eh_mp_policy_payload (const char *site, const char *client_guid, GPtrArray *deployments, gint64 now);

/* ── content location (eh-mp-locate.c): dp.content.status, in memory ──── */

typedef struct {
  char *dp;
  char *url;
  char *manifest_sha256;
  guint64 bytes;
  guint64 reported; /* sequence of the report: larger is more recent */
  gboolean healthy; /* the DP's latest report of any content was not a failure */
  gboolean near;    /* in a boundary group of the asking client */
} EhMpDpHolding;

typedef struct _EhMpLocator EhMpLocator;

EhMpLocator *eh_mp_locator_new (guint max_contents);
void eh_mp_locator_free (EhMpLocator *locator);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpLocator, eh_mp_locator_free)
/* takes one dp.content.status; FALSE + EH_ERROR_INVALID_ARGUMENT for a hostile one (nothing changes) */
gboolean eh_mp_locator_take (EhMpLocator *locator, const char *dp, const char *url,
                             const char *content_id, const char *state, guint64 bytes,
                             const char *manifest_sha256, GError **error);
/**
 * eh_mp_locator_find:
 * @near: (nullable): names (lower case) of the DPs in the client's boundary groups
 *
 * The DPs holding @content_id installed: those in @near first, then
 * healthy first, then most recent report first; only those with the best
 * one's manifest hash.
 * Returns: (transfer full) (element-type EhMpDpHolding): copies; empty when none
 */
GPtrArray *eh_mp_locator_find (EhMpLocator *locator, const char *content_id, GHashTable *near);
/* a DNS name or IP literal as a DP calls itself (its content tokens' `aud`) */
gboolean eh_mp_dp_name_is_valid (const char *name);

void eh_mp_dp_holding_free (EhMpDpHolding *holding);

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

/* ── Entra ID exchange (eh-mp-entra*.c, eh-mp-jwks.c, eh-mp-discovery.c) ─ */

#define EH_MP_JWKS_MAX_BYTES (256 * 1024)
#define EH_MP_JWKS_MAX_KEYS 64
#define EH_MP_JWKS_MAX_KID 128
#define EH_MP_DISCOVERY_MAX_BYTES (16 * 1024 * 1024)
#define EH_MP_DISCOVERY_MAX_ENTRIES 100000

typedef enum {
  EH_MP_ENTRA_USER,
  EH_MP_ENTRA_DEVICE,
} EhMpEntraKind;

/**
 * EhMpEntraIdentity: who an Entra token names.
 * @object_id: a user's `oid` or a device's `deviceid` (lower-case GUID)
 * @sid: (nullable): a user's `onprem_sid`, for the log line only
 */
struct _EhMpEntraIdentity {
  EhMpEntraKind kind;
  char *tenant_id;
  char *object_id;
  char *sid;
};

const char *eh_mp_entra_kind_to_string (EhMpEntraKind kind);
gboolean eh_mp_entra_kind_from_string (const char *text, EhMpEntraKind *kind);
void eh_mp_entra_identity_free (EhMpEntraIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpEntraIdentity, eh_mp_entra_identity_free)
/* "entra user <tid>/<oid>": a subject for logs, explain and approved-by */
char *eh_mp_entra_identity_describe (const EhMpEntraIdentity *identity);
/* the client token's "entra" claim {kind, tid, id}, and back (NULL when absent or malformed) */
JsonObject *eh_mp_entra_identity_to_claim (const EhMpEntraIdentity *identity);
EhMpEntraIdentity *eh_mp_entra_identity_from_claim (JsonNode *claim);
gboolean eh_mp_entra_kid_is_valid (const char *kid);
gboolean eh_mp_entra_sid_is_valid (const char *sid);

typedef struct _EhMpJwks EhMpJwks;

/* a JWKS document, checked as hostile input (RSA keys of 2048–8192 bits, unique kids) */
EhMpJwks *eh_mp_jwks_parse (const char *data, gsize len, GError **error);
void eh_mp_jwks_free (EhMpJwks *jwks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpJwks, eh_mp_jwks_free)
/* (transfer none) (nullable) */
gnutls_pubkey_t eh_mp_jwks_lookup (EhMpJwks *jwks, const char *kid);
guint eh_mp_jwks_size (EhMpJwks *jwks);

/**
 * eh_mp_entra_token_check:
 * @jwks: (nullable): the keys (none yet: every kid is unknown)
 * @reason: (out): why it was refused (EH_MP_REASON_ENTRA_*)
 *
 * RS256 by a key of @jwks, iss pinned to one of @tenants (v2.0 or v1
 * form) with tid that tenant, aud @audience, exp/nbf with 60 s leeway.
 * Returns: (transfer full): the identity, or NULL with @reason and @error
 */
EhMpEntraIdentity *eh_mp_entra_token_check (EhMpJwks *jwks, const char *const *tenants, const char *audience,
                                            const char *token, gint64 now, EhMpReason *reason, GError **error);

/* one discovered user or device */
typedef struct {
  EhMpEntraKind kind;
  char *tenant_id;
  char *object_id; /* users: object id; devices: device id */
  char *sid;       /* nullable */
  char *name;      /* nullable */
  gint64 imported_at;
  char *imported_by;
} EhMpDiscovered;

void eh_mp_discovered_free (EhMpDiscovered *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpDiscovered, eh_mp_discovered_free)
/* (transfer full) (element-type EhMpDiscovered) a discovery file, checked whole */
GPtrArray *eh_mp_discovery_parse (const char *data, gsize len, GError **error);
/* checks the whole file, then writes every entry in one durable transaction */
gboolean eh_mp_discovery_import (EhStore *store, const char *data, gsize len, const char *by, guint *users,
                                 guint *devices, GError **error);
GPtrArray *eh_mp_discovery_list (EhStore *store, GError **error);
gboolean eh_mp_discovery_find (EhStore *store, const EhMpEntraIdentity *identity, gboolean *found,
                               GError **error);
/* how many entries with this object/device id went; 0 with EH_ERROR_NOT_FOUND when none */
guint eh_mp_discovery_remove (EhStore *store, const char *object_id, GError **error);

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
  EhMpReplay *replay; /* self-timed token proofs */
  EhMpWorkers *workers; /* proof checks and token signatures off the main loop */
  /* registrations waiting to be recorded together (eh-mp-register-http.c) */
  GPtrArray *register_batch;
  guint register_flush_source;
  /* the site's trust material, from ca.trust-bundle.get/.changed */
  guint64 bundle_version;
  char *site_code;
  char *root_fingerprint;
  char *site_signing_pem;
  EhTrustFollow *trust; /* follows it; says why there is none yet */
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
  /* policy and content location (eh-mp-policy-http.c, eh-mp-locate-http.c) */
  guint content_token_lifetime;
  gboolean bind_content_tokens;
  EhMpLocator *locator;
  GPtrArray *boundaries; /* EhMpBoundary, from mp_boundaries */
  guint status_subscription;
  GCancellable *policy_cancellable;
  /* recent refusals for `ehttpctl explain` (eh-mp-reason.c) */
  EhMpDenials *denials;
  /* the Entra exchange (eh-mp-entra-keys.c); entra_tenants NULL: not configured */
  GStrv entra_tenants;
  char *entra_audience;
  char *entra_jwks_source; /* a file path or an https:// URL */
  guint entra_refresh_seconds;
  SoupSession *entra_session; /* NULL for a file */
  EhMpJwks *entra_jwks;
  gboolean entra_fetching;
  gint64 entra_last_refresh; /* monotonic seconds of the last refresh an unknown kid asked for */
  guint entra_fetches;
  GList *entra_waiters;
  GCancellable *entra_cancellable;
} EhMp;

/* ── boundary groups (eh-mp-boundary.c): subnets → nearby DPs ─────────── */

typedef struct _EhMpBoundary EhMpBoundary;
void eh_mp_boundary_free (EhMpBoundary *boundary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhMpBoundary, eh_mp_boundary_free)
gboolean eh_mp_boundary_name_is_valid (const char *name);
/* loads the groups from the store into mp->boundaries */
gboolean eh_mp_boundaries_start (EhMp *mp, GError **error);
void eh_mp_boundaries_stop (EhMp *mp);
/* one durable row; EH_ERROR_INVALID_ARGUMENT for a bad name, subnet or DP name, or a name in use */
gboolean eh_mp_boundary_add (EhMp *mp, const char *name, const char *const *subnets, const char *const *dps,
                             const char *by, GError **error);
/* EH_ERROR_NOT_FOUND when there is no such group */
gboolean eh_mp_boundary_remove (EhMp *mp, const char *name, GError **error);
/* (aa{sv}) every group: name, subnets, dps, created-by, created-at */
GVariant *eh_mp_boundaries_describe (EhMp *mp);
/* (transfer container) (nullable) the DP names of every group whose subnets
 * hold @peer_address (an IP literal); NULL when none does. Its strings
 * belong to the groups: use it before the next change to them. */
GHashTable *eh_mp_boundary_dps_near (EhMp *mp, const char *peer_address);

/**
 * EhMpEntraVerified:
 * @identity: (nullable) (transfer none): who the token names (also when
 *   not discovered, for the log)
 * @reason: EH_MP_REASON_LAST when the token is good and discovered, else why not
 */
typedef void (*EhMpEntraVerified) (const EhMpEntraIdentity *identity, EhMpReason reason, const char *message,
                                   gpointer user_data);

gboolean eh_mp_entra_start (EhMp *mp, EhConfig *config, GError **error);
void eh_mp_entra_stop (EhMp *mp);
/* checks an Entra token and its discovery; @done may run later (after a JWKS refresh) */
void eh_mp_entra_verify (EhMp *mp, const char *token, EhMpEntraVerified done, gpointer user_data);
/* POST /ehttpd/mp/sts and /CCM_STS (eh-mp-sts-http.c) */
gboolean eh_mp_sts_http_start (EhMp *mp, GError **error);
/* discovery and explain over D-Bus (eh-mp-entra-dbus.c); *handled FALSE for other methods */
GVariant *eh_mp_entra_dbus_call (EhMp *mp, const char *method, GVariant *parameters, guint caller_uid,
                                 gboolean *handled, GError **error);

extern const EhPluginDesc eh_mp_plugin;

/* takes what it needs from a trust bundle; FALSE + error when it is unusable */
gboolean eh_mp_site_take_bundle (EhMp *mp, const char *bundle_json, guint64 version, GError **error);
/* (transfer full) the site information document, or NULL + error before a bundle arrived */
char *eh_mp_site_info_json (EhMp *mp, GError **error);
void eh_mp_site_start (EhMp *mp);
void eh_mp_site_stop (EhMp *mp);

gboolean eh_mp_http_start (EhMp *mp, GError **error);
/* POST register (eh-mp-register-http.c); stop records and answers what waits */
gboolean eh_mp_register_http_start (EhMp *mp, GError **error);
void eh_mp_register_http_stop (EhMp *mp);
/* refuses with @reason (status, code and rule from the one table); @subject nullable */
void eh_mp_http_refuse (EhMp *mp, EhRequest *request, EhMpReason reason, const char *subject,
                        const char *message);
void eh_mp_http_json (EhRequest *request, guint status, const char *json);
/* POST token, GET whoami (eh-mp-token-http.c) */
gboolean eh_mp_token_http_start (EhMp *mp, GError **error);
/* (transfer full) the client of the request's Bearer client token, or NULL after refusing it */
EhMpClient *eh_mp_token_http_authenticate (EhMp *mp, EhRequest *request, EhMpEntraIdentity **entra);
/* refuses a client that is not approved (pending or blocked) */
void eh_mp_token_refuse_state (EhMp *mp, EhRequest *request, const EhMpClient *client);
/* a token request body: exactly @members, all strings; NULL after refusing it */
JsonObject *eh_mp_token_http_read_body (EhMp *mp, EhRequest *request, const char *const *members,
                                        gsize max_bytes, const char *what);
/* a request answered later, after a bus call or a JWKS refresh (the EhRequest is gone by then):
 * libsoup's message, or a quick request held (POST token, eh-quick.h) */
typedef struct {
  EhMp *mp;
  SoupServerMessage *msg;
  char *request_id;
  EhQuickRequest *quick;
} EhMpPaused;

/**
 * EhMpTokenProofDone:
 * @paused: (nullable): the request, paused; NULL when refused at once
 * @client: (transfer full) (nullable): the approved client whose proof it
 *   was, or NULL when it was refused (the request is answered already)
 *
 * Called once; @paused is let go of after it returns (copy it to keep the
 * request, and clear @paused->msg and ->request_id).
 */
typedef void (*EhMpTokenProofDone) (EhMpPaused *paused, EhMpClient *client, gpointer user_data);
/* checks a proof of possession (typ mp-token+jwt, kid), its signature off the main loop */
void eh_mp_token_http_check_proof (EhMp *mp, EhRequest *request, const char *proof, EhMpTokenProofDone done,
                                   gpointer user_data);
/* issues a client token for @client and answers it (200 JSON) */
void eh_mp_token_http_answer (EhMpPaused *target, const EhMpClient *client, const EhMpEntraIdentity *entra);
/* answers a client token signed already by the key whose x5t#S256 is @x5t (200 JSON) */
void eh_mp_token_http_reply (EhMpPaused *target, const EhMpClient *client, const EhMpEntraIdentity *entra,
                             const char *token, gint64 expires_at, const char *x5t);
/* a client token that could not be signed: logged, refused (token_failed) */
void eh_mp_token_http_refuse_signing (EhMpPaused *target, const EhMpClient *client, const GError *error);

/* this MP's token signing keys (eh-mp-token-key.c) */
gboolean eh_mp_token_keys_start (EhMp *mp, GError **error);
void eh_mp_token_keys_stop (EhMp *mp);
gboolean eh_mp_token_keys_tick_source (gpointer data);
/* (transfer none) the key that signs now, or NULL */
EhMpTokenKey *eh_mp_token_keys_signer (EhMp *mp);
/* starts a rollover; @invocation is answered once the next key is announced */
gboolean eh_mp_token_keys_rollover (EhMp *mp, GDBusMethodInvocation *invocation, GError **error);
GVariant *eh_mp_token_key_describe (const EhMpTokenKey *key);
gboolean eh_mp_dbus_start (EhMp *mp, GError **error);
/* deployments and collections over D-Bus (eh-mp-deploy-dbus.c); *handled FALSE for other methods */
GVariant *eh_mp_deploy_dbus_call (EhMp *mp, const char *method, GVariant *parameters, guint caller_uid,
                                  gboolean *handled, GError **error);
/* GET policy, GET policy/<id> (eh-mp-policy-http.c) */
gboolean eh_mp_policy_http_start (EhMp *mp, GError **error);
void eh_mp_policy_http_stop (EhMp *mp);
/* GET content/<id>, and the dp.content.status subscription (eh-mp-locate-http.c) */
gboolean eh_mp_locate_http_start (EhMp *mp, GError **error);
void eh_mp_locate_http_stop (EhMp *mp);

/* pauses @request's message and keeps what answering it needs */
void eh_mp_paused_init (EhMpPaused *paused, EhMp *mp, EhRequest *request);
/* holds a quick request instead (answered later the same way) */
void eh_mp_paused_init_quick (EhMpPaused *paused, EhMp *mp, EhQuickRequest *request);
/* unpauses the message (answered by now) and lets go of it */
void eh_mp_paused_finish (EhMpPaused *paused);
/* answers a paused request, or one not paused yet (fields borrowed), whichever way it came */
void eh_mp_paused_json (EhMpPaused *paused, guint status, const char *json);
void eh_mp_paused_refuse (EhMpPaused *paused, EhMpReason reason, const char *subject, const char *message);
/* answers a paused message later (the EhRequest is gone by then) */
void eh_mp_http_message_json (SoupServerMessage *msg, guint status, const char *json);
void eh_mp_http_message_refuse (EhMp *mp, SoupServerMessage *msg, const char *request_id,
                                EhMpReason reason, const char *subject, const char *message);

G_END_DECLS
