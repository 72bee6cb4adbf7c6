/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gnutls/crypto.h>
#include <gnutls/x509-ext.h>

#include "ehttpd.h"

G_BEGIN_DECLS

/*
 * The site's certificate authority: the Site Issuing root, the site
 * signing certificate, role and token signing certificates issued from
 * CSRs, join tokens for remote enrolment, revocation, the CRL and the trust
 * bundle. docs/ca-state-machine.md describes the issuance path.
 */

/* the roles a host may carry in its role certificate */
#define EH_CA_KNOWN_ROLES "ca", "mp", "dp", "cmg", "cmg-connector"

/* a role certificate names each role as a subjectAltName URI, as SPIFFE
 * names workloads: "urn:ehttpd:role:dp" (GnuTLS cannot encode the 2.25
 * UUID arcs a private extension would need, and a SAN URI never matches a
 * host name) */
#define EH_CA_ROLE_URI_PREFIX "urn:ehttpd:role:"

#define EH_CA_MAX_CSR_BYTES (16 * 1024)
#define EH_CA_MAX_NAMES 32
#define EH_CA_SERIAL_BYTES 20

typedef enum {
  EH_CA_KIND_ROOT,
  EH_CA_KIND_SITE_SIGNING,
  EH_CA_KIND_ROLE,
  EH_CA_KIND_TOKEN_SIGNING,
} EhCaKind;

const char *eh_ca_kind_to_string (EhCaKind kind);

typedef struct _EhCa EhCa;

/* ── records (eh-ca-records.c): the ca's tables ───────────────────────── */

gboolean eh_ca_records_migrate (EhStore *store, GError **error);
/* reserved rows whose signing never finished become abandoned; returns how many */
gint eh_ca_records_abandon_reserved (EhStore *store, GError **error);

/**
 * EhCaRecord: one row of ca_certificates, as the admin sees it.
 */
typedef struct {
  char *serial;
  EhCaKind kind;
  char *state; /* reserved, issued, abandoned, revoked */
  char *subject;
  char **names;
  char **roles;
  char *host;
  char *requester;
  gint64 not_before;
  gint64 not_after;
  gint64 created_at;
  gint64 revoked_at; /* 0 when not revoked */
  char *reason;
  char *fingerprint;
  GBytes *der; /* NULL unless issued or revoked */
} EhCaRecord;

void eh_ca_record_free (EhCaRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhCaRecord, eh_ca_record_free)

/* (transfer full) every row, newest first; @kind < 0: all kinds */
GPtrArray *eh_ca_records_list (EhStore *store, gint kind, GError **error);
/* (transfer full) one row, or NULL with EH_ERROR_NOT_FOUND */
EhCaRecord *eh_ca_records_get (EhStore *store, const char *serial, GError **error);
/* (transfer full) issued rows of @kind that have not expired, oldest first */
GPtrArray *eh_ca_records_current (EhStore *store, EhCaKind kind, GError **error);
/* (transfer full) serials revoked and not yet expired */
GStrv eh_ca_records_revoked_serials (EhStore *store, GError **error);
gboolean eh_ca_records_revoke (EhStore *store, const char *serial, const char *reason,
                               GError **error);

/* a counter kept in ca_state (crl-number, bundle-version); incremented and returned */
gboolean eh_ca_records_bump_counter (EhStore *store, const char *name, guint64 *value,
                                     GError **error);

/* ── serials and issuance (eh-ca-issue.c) ─────────────────────────────── */

/* 20 random octets, positive and without a leading zero octet */
void eh_ca_serial_generate (guint8 serial[EH_CA_SERIAL_BYTES]);
char *eh_ca_serial_to_hex (const guint8 *serial, gsize len);
/* a serial as given by an admin: hex, optional colons; lower-cased, or NULL */
char *eh_ca_serial_normalize (const char *text, GError **error);

/**
 * EhCaSpec: what to put in a certificate.
 * @pubkey: the subject's key (from a CSR, or the CA's own for self-signed)
 * @names: (nullable): DNS names / IP addresses (validated), first one is the CN
 * @roles: (nullable): for role certificates
 * @host: (nullable): token signing certificates: the host they belong to
 * @requester: who asked, for the record ("local", "admin uid 0", …)
 */
typedef struct {
  EhCaKind kind;
  gnutls_pubkey_t pubkey;
  const char *common_name;
  const char *const *names;
  const char *const *roles;
  const char *host;
  guint64 lifetime_seconds;
  const char *requester;
  const char *join_token_id; /* consumed in the same transaction as the reservation */
} EhCaSpec;

/**
 * EhCaIssuance:
 * @spec: what to issue
 * @certificate: (out) (transfer full) (nullable): the certificate, once recorded as issued
 * @serial: (out) (transfer full) (nullable): its serial
 * @error: (out) (transfer full) (nullable): why not
 */
typedef struct {
  const EhCaSpec *spec;
  gnutls_x509_crt_t certificate;
  char *serial;
  GError *error;
} EhCaIssuance;

/**
 * eh_ca_issue_batch:
 *
 * eh_ca_issue() for @n certificates at once, with one durable transaction
 * to reserve them all and one to record them all: two flushes to disk per
 * batch rather than per certificate. Each item succeeds or fails alone (a
 * join token used twice in one batch is used once).
 */
void eh_ca_issue_batch (EhStore *store, EhCaIssuance *items, guint n, gnutls_x509_crt_t issuer,
                        gnutls_privkey_t signer, const char *site_code);

/* the hash to sign with: SHA-512 for Ed25519, SHA-384 for P-384, else SHA-256 */
gnutls_digest_algorithm_t eh_ca_digest_for (gnutls_privkey_t signer);

/**
 * eh_ca_issue:
 * @issuer: (nullable): the issuing certificate; NULL: self-signed with @signer
 * @signer: the issuer's key
 *
 * The issuance state machine: build → reserve (row with serial and the
 * to-be-signed data, durable) → sign → record (issued, durable) → return.
 * Returns: (transfer full): the certificate, or NULL; a certificate is
 * only ever returned once its row says issued.
 */
gnutls_x509_crt_t eh_ca_issue (EhStore *store, const EhCaSpec *spec, gnutls_x509_crt_t issuer,
                               gnutls_privkey_t signer, const char *site_code, char **serial_hex,
                               GError **error);

/* ── names, roles and CSRs (eh-ca-csr.c) ──────────────────────────────── */

/* lower-cased DNS name or canonical IP address; NULL + error when invalid */
char *eh_ca_name_normalize (const char *name, GError **error);
/* (transfer full) every name normalized, duplicates dropped; NULL + error */
GStrv eh_ca_names_normalize (const char *const *names, GError **error);
gboolean eh_ca_roles_check (const char *const *roles, GError **error);
/* is every entry of @subset in @set? */
gboolean eh_ca_strv_subset (const char *const *subset, const char *const *set);

/**
 * eh_ca_csr_read:
 *
 * Parses a PEM PKCS#10 request (at most EH_CA_MAX_CSR_BYTES), verifies its
 * self-signature, refuses weak keys and a request for CA:TRUE, and returns
 * its public key. Every other requested extension is ignored.
 */
gnutls_pubkey_t eh_ca_csr_read (const char *pem, GError **error);


/* ── root and site signing (eh-ca-root.c) ─────────────────────────────── */

typedef struct {
  gnutls_x509_crt_t cert;
  gnutls_privkey_t key;
  char *pem;
  char *fingerprint;
} EhCaIdentity;

void eh_ca_identity_clear (EhCaIdentity *identity);

typedef struct {
  const char *dir;          /* the ca's private directory */
  const char *root_key;     /* NULL: <dir>/root-key.pem; or a file path or a pkcs11: URI */
  const char *pkcs11_module;
  EhKeyType key_type;
  guint root_days;
  guint site_signing_days;
  const char *site_code;
} EhCaRootConfig;

/* loads the root, or creates it on a fresh state dir; refuses to create a
 * new one when any part of an old one is there */
gboolean eh_ca_root_load_or_create (EhStore *store, const EhCaRootConfig *config,
                                    EhCaIdentity *root, GError **error);
gboolean eh_ca_site_signing_load_or_create (EhStore *store, const EhCaRootConfig *config,
                                            EhCaIdentity *site_signing, GError **error);

/* ── what the ca publishes (eh-ca-publish.c) ──────────────────────────── */

typedef struct {
  guint64 version;
  char *json;
  char *pem;
  GBytes *crl_der;
  char *crl_pem;
} EhCaPublished;

void eh_ca_published_clear (EhCaPublished *published);
/* builds the trust bundle and a CRL signed by the root; bumps the counters */
gboolean eh_ca_publish_build (EhStore *store, const EhCaIdentity *root,
                              const EhCaIdentity *site_signing, const char *site_code,
                              guint crl_days, EhCaPublished *out, GError **error);

/* ── join tokens (eh-ca-join.c) ───────────────────────────────────────── */

#define EH_CA_JOIN_TOKEN_MAX_TTL (7 * 24 * 3600)

/* returns the token text (shown once; only its hash is stored) */
char *eh_ca_join_token_create (EhStore *store, const char *const *roles, const char *const *names,
                               guint64 ttl_seconds, char **id, gint64 *expires_at, GError **error);
/* (transfer full) a{sv} per token, for D-Bus */
GVariant *eh_ca_join_token_list (EhStore *store, GError **error);
gboolean eh_ca_join_token_revoke (EhStore *store, const char *id, GError **error);

/**
 * eh_ca_join_token_check:
 * @roles: the roles asked for; must be among the token's
 * @names: the names asked for; must be among the token's when it has any
 * @id: (out): the token's id, to consume in the issuance transaction
 *
 * Checks a token without consuming it. Errors never say whether the id
 * exists: an unknown, used, revoked, expired or wrong token is one refusal.
 */
gboolean eh_ca_join_token_check (EhStore *store, const char *token, const char *const *roles,
                                 const char *const *names, char **id, GError **error);
/* inside the caller's transaction: marks the token used, exactly once */
gboolean eh_ca_join_token_consume (EhStore *store, const char *id, const char *used_by,
                                   GError **error);

/* ── the plugin (eh-ca-plugin.c, eh-ca-bus.c, eh-ca-dbus.c, eh-ca-http.c) */

struct _EhCa {
  EhPlugin *plugin;
  EhStore *store;
  EhBus *bus;
  char *dir;
  char *site_code;
  EhCaRootConfig root_config;
  EhCaIdentity root;
  EhCaIdentity site_signing;
  EhCaPublished published;
  guint64 role_seconds;
  guint token_signing_days;
  guint crl_days;
  guint refresh_source;
  GPtrArray *waiting; /* EhCaRoleOrder asked over the bus, issued together */
  guint issue_source;
};

extern const EhPluginDesc eh_ca_plugin;

/* rebuilds bundle and CRL and publishes ca.trust-bundle.changed */
gboolean eh_ca_republish (EhCa *ca, GError **error);

gboolean eh_ca_bus_start (EhCa *ca, GError **error);
/* fails the requests still waiting */
void eh_ca_bus_stop (EhCa *ca);
gboolean eh_ca_dbus_start (EhCa *ca, GError **error);
gboolean eh_ca_http_start (EhCa *ca, GError **error);

/*
 * A role certificate on its way: the checked request, then the issuance.
 * Orders that wait at the same time are issued together (one batch, two
 * flushes to disk), so a crowd of hosts enrolling costs little more than one.
 */
typedef struct {
  gnutls_pubkey_t pubkey;
  GStrv names; /* normalized */
  GStrv roles;
  char *requester;
  char *token_id;
  EhCaSpec spec;
  EhCaIssuance issuance;
  EhBusRequest *request; /* who waits for it over the bus, or NULL */
} EhCaRoleOrder;

/* checks the CSR, names and roles; NULL + error when the request is refused */
EhCaRoleOrder *eh_ca_role_order_new (EhCa *ca, const char *csr_pem, const char *const *names,
                                     const char *const *roles, const char *requester,
                                     const char *join_token_id, GError **error);
void eh_ca_role_order_free (EhCaRoleOrder *order);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhCaRoleOrder, eh_ca_role_order_free)
void eh_ca_role_orders_issue (EhCa *ca, EhCaRoleOrder *const *orders, guint n);
/* leaf then root, once the order was issued */
char *eh_ca_role_order_chain (EhCa *ca, EhCaRoleOrder *order, GError **error);

/* a role certificate for @csr_pem at once; chain-pem is leaf then root */
gboolean eh_ca_issue_role (EhCa *ca, const char *csr_pem, const char *const *names,
                           const char *const *roles, const char *requester,
                           const char *join_token_id, char **chain_pem, char **serial,
                           gint64 *not_after, GError **error);
gboolean eh_ca_revoke (EhCa *ca, const char *serial, const char *reason, GError **error);

G_END_DECLS
