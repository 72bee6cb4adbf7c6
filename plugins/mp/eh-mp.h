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
 * nonce this MP handed out) with admin approval. README.md says what each
 * endpoint and mode does.
 */

#define EH_MP_HTTP_PREFIX "/ehttpd/mp"
#define EH_MP_MAX_REGISTER_BYTES (16 * 1024)
#define EH_MP_MAX_HOST_NAME 253
#define EH_MP_MAX_HARDWARE_ID 128
#define EH_MP_PROOF_TYP "mp-register+jwt"
#define EH_MP_NONCE_BYTES 32

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
/* (transfer full) every client, newest first */
GPtrArray *eh_mp_records_list (EhStore *store, GError **error);
/* (transfer full) NULL with EH_ERROR_NOT_FOUND */
EhMpClient *eh_mp_records_get (EhStore *store, const char *guid, GError **error);
/* approve, block or unblock (back to the state it had before the block) */
EhMpClient *eh_mp_records_set_state (EhStore *store, const char *guid, const char *action,
                                     const char *by, GError **error);
/* a GUID as an admin typed it: lower-cased, or NULL + error */
char *eh_mp_guid_normalize (const char *text, GError **error);

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
} EhMp;

extern const EhPluginDesc eh_mp_plugin;

/* takes what it needs from a trust bundle; FALSE + error when it is unusable */
gboolean eh_mp_site_take_bundle (EhMp *mp, const char *bundle_json, guint64 version, GError **error);
/* (transfer full) the site information document, or NULL + error before a bundle arrived */
char *eh_mp_site_info_json (EhMp *mp, GError **error);
void eh_mp_site_start (EhMp *mp);
void eh_mp_site_stop (EhMp *mp);

gboolean eh_mp_http_start (EhMp *mp, GError **error);
gboolean eh_mp_dbus_start (EhMp *mp, GError **error);

G_END_DECLS
