/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Every bus topic and its payload keys, in one place.
 *
 * Payloads are GVariant dictionaries (`a{sv}`). Each topic lists its keys
 * with their GVariant types; the bus refuses a publish, request or reply
 * whose payload lacks a required key or has a key of the wrong type, so a
 * subscriber can read declared keys without checking again. Keys not
 * declared are refused too, so the table stays the truth.
 *
 * A topic is an EVENT (publish → every subscriber) or a REQUEST (one
 * responder, one reply). LINKABLE topics may cross the bus link to the
 * upstream site: a request with no local responder goes up the link, and
 * events published upstream come down every link. Only linkable topics
 * ever leave the process. Over a link whose peer has not enrolled yet (no
 * role certificate), only LINKABLE_OPEN requests are accepted.
 */

typedef enum {
  EH_BUS_EVENT,
  EH_BUS_REQUEST,
} EhBusTopicKind;

typedef enum {
  EH_BUS_LOCAL = 0,
  EH_BUS_LINKABLE = 1 << 0,
  /* linkable, and a downstream host that has not enrolled yet may use it */
  EH_BUS_LINKABLE_OPEN = EH_BUS_LINKABLE | 1 << 1,
} EhBusScope;

typedef struct {
  const char *key;
  const char *type; /* GVariant type string */
  gboolean required;
} EhBusField;

typedef struct {
  const char *name;
  EhBusTopicKind kind;
  EhBusScope scope;
  const EhBusField *payload; /* event payload or request; ends with { NULL } */
  const EhBusField *reply;   /* request topics only; ends with { NULL } */
  const char *summary;
} EhBusTopic;

/* ── core ─────────────────────────────────────────────────────────────── */

/*
 * host.certificate.install (request, local; the core responds)
 * Install a new TLS chain and key for this host's HTTPS listeners. The core
 * checks the chain (leaf first, each signed by the next, none expired) and
 * that the key matches the leaf, stores both atomically in the state dir
 * and swaps: new connections get the new certificate, open ones finish.
 */
#define EH_TOPIC_HOST_CERTIFICATE_INSTALL "host.certificate.install"
#define EH_KEY_CHAIN_PEM "chain-pem"     /* s: PEM chain, leaf first */
#define EH_KEY_PRIVATE_KEY_PEM "key-pem" /* s: PEM private key of the leaf */
#define EH_KEY_FINGERPRINT "fingerprint" /* s: "sha256:…" of the leaf (reply) */

/*
 * host.certificate.changed (event, local; the core publishes)
 * The HTTPS certificate in use changed (install, reload or start).
 */
#define EH_TOPIC_HOST_CERTIFICATE_CHANGED "host.certificate.changed"
/* keys: fingerprint (s), EH_KEY_NOT_AFTER (x: unix seconds) */
#define EH_KEY_NOT_AFTER "not-after"

/*
 * core.plugin.state (event, local; the core publishes)
 * A plugin changed state.
 */
#define EH_TOPIC_PLUGIN_STATE "core.plugin.state"
#define EH_KEY_PLUGIN "plugin" /* s */
#define EH_KEY_STATE "state"   /* s: loaded, starting, running, failed, disabled */
#define EH_KEY_ERROR "error"   /* s, optional: why it failed */

/*
 * core.link.state (event, local; the core publishes)
 * The bus link to the upstream site went up or down.
 */
#define EH_TOPIC_LINK_STATE "core.link.state"
/* keys: EH_KEY_STATE (s: "up" or "down"), EH_KEY_AUTHENTICATED (b: the link
 * presented a role certificate the site accepted) */
#define EH_KEY_AUTHENTICATED "authenticated"

/* ── ca (plugins/ca/) ─────────────────────────────────────────────────── */

/*
 * ca.role-certificate.issue (request, linkable, open; the ca plugin responds)
 * Issue a role certificate from a CSR. From this host: for the names and
 * roles given. Over the link: an enrolled peer renews (roles must be among
 * those of its current certificate); a peer that has not enrolled must
 * bring a join token, and gets at most the token's roles and names.
 */
#define EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE "ca.role-certificate.issue"
#define EH_KEY_CSR_PEM "csr-pem"       /* s: PKCS#10 request, PEM */
#define EH_KEY_NAMES "names"           /* as: DNS names and IP addresses for the SANs */
#define EH_KEY_ROLES "roles"           /* as: the roles enabled on the host */
#define EH_KEY_JOIN_TOKEN "join-token" /* s, optional: one-time enrolment token */
/* reply: EH_KEY_CHAIN_PEM (leaf, then root), EH_KEY_SERIAL, EH_KEY_NOT_AFTER */
#define EH_KEY_SERIAL "serial" /* s: lower-case hex */

/*
 * ca.token-signing.issue (request, linkable; the ca plugin responds)
 * Issue a token signing certificate for a token-issuing host. Every
 * unexpired one is in the trust bundle from the moment it is issued, so a
 * host announces its next key by asking for it before it signs with it.
 * Over the link only an enrolled peer with the mp role may ask.
 */
#define EH_TOPIC_CA_TOKEN_SIGNING_ISSUE "ca.token-signing.issue"
#define EH_KEY_HOST "host" /* s: the token-issuing host's name */
/* request: csr-pem, host; reply: chain-pem, serial, not-after */

/*
 * ca.site-signing.sign (request, linkable; the ca plugin responds)
 * Sign @payload as a compact JWS with the site signing key (policy).
 * Over the link only an enrolled peer with the mp role may ask.
 */
#define EH_TOPIC_CA_SITE_SIGNING_SIGN "ca.site-signing.sign"
#define EH_KEY_PAYLOAD "payload" /* ay: the bytes to sign */
#define EH_KEY_TYP "typ"         /* s: the JWS typ header */
#define EH_KEY_JWS "jws"         /* s: compact serialization (reply) */

/*
 * ca.trust-bundle.get (request, linkable, open; the ca plugin responds)
 * ca.trust-bundle.changed (event, linkable; the ca plugin publishes)
 * The site's public trust material: root, site signing and token signing
 * certificates, revoked serials. Public, so an unenrolled peer may ask.
 */
#define EH_TOPIC_CA_TRUST_BUNDLE_GET "ca.trust-bundle.get"
#define EH_TOPIC_CA_TRUST_BUNDLE_CHANGED "ca.trust-bundle.changed"
#define EH_KEY_BUNDLE_JSON "bundle-json" /* s: JWKS with x5c, plus "revoked" */
#define EH_KEY_BUNDLE_PEM "bundle-pem"   /* s: the certificates, PEM */
#define EH_KEY_VERSION "version"         /* t: grows with every change */

/*
 * ca.link-peer.check (request, local; the ca plugin responds)
 * The link server asks whether a client certificate presented on the link
 * is a current role certificate of this site (issued by the root, in date,
 * not revoked), and which roles it carries.
 */
#define EH_TOPIC_CA_LINK_PEER_CHECK "ca.link-peer.check"
#define EH_KEY_CERTIFICATE_PEM "certificate-pem" /* s */
/* reply: serial (s), roles (as) */

/*
 * ca.certificate.revoked (event, linkable; the ca plugin publishes)
 * A certificate was revoked; links authenticated with it are closed.
 */
#define EH_TOPIC_CA_CERTIFICATE_REVOKED "ca.certificate.revoked"
#define EH_KEY_REASON "reason" /* s */

/* ── dp (plugins/dp/) ─────────────────────────────────────────────────── */

/*
 * dp.content.available (event, linkable; the dp plugin publishes)
 * A content's signed manifest is in the site's library: DPs may pull it.
 */
#define EH_TOPIC_DP_CONTENT_AVAILABLE "dp.content.available"
#define EH_KEY_CONTENT_ID "content-id"           /* s: e.g. PS100001 */
#define EH_KEY_CONTENT_VERSION "content-version" /* s */
#define EH_KEY_MANIFEST_JWS "manifest-jws"       /* s: the signed manifest, compact JWS */

/*
 * dp.content.status (event, linkable; every dp publishes)
 * Where one content stands on one DP: on every change, and for every
 * content it holds when it starts or its link comes up, so an MP can
 * locate content and `ehttpctl content status ID` can show it.
 */
#define EH_TOPIC_DP_CONTENT_STATUS "dp.content.status"
#define EH_KEY_DP_NAME "dp"         /* s: the DP's name (its first host name), the `aud` of content tokens */
#define EH_KEY_DP_URL "dp-url"      /* s: the DP's HTTPS base URL */
#define EH_KEY_BYTES "bytes"        /* t: bytes installed so far */
#define EH_KEY_MANIFEST_SHA256 "manifest-sha256" /* s: hex SHA-256 of the signed manifest text */
/* keys: dp, dp-url, content-id, state (pending, in-progress, installed, failed, or removed: no longer
 * on this DP), bytes, manifest-sha256 (may be ""), reason (s, optional) */

/*
 * dp.content.action (event, linkable; the site's dp publishes, every dp follows)
 * An admin asks DPs to act on one content now: "redistribute" (fetch every
 * file of it again from upstream, replacing the stored copies) or
 * "validate" (re-hash the stored files; a damaged one is dropped and fetched
 * again). Each DP reports the outcome in dp.content.status.
 */
#define EH_TOPIC_DP_CONTENT_ACTION "dp.content.action"
#define EH_KEY_ACTION "action" /* s: redistribute, validate, or pull (the site's assignments changed) */
/* keys: content-id, action, dp (s, optional: only the DP of that name; every DP when absent) */

/* ── test plugins (plugins/test/) ─────────────────────────────────────── */

/*
 * test.echo (request, linkable, open; the test-echo plugin responds)
 * Replies with the text it was sent; used to test the bus and its link.
 * Open, so a test edge that has not enrolled can use it.
 */
#define EH_TOPIC_TEST_ECHO "test.echo"
#define EH_KEY_TEXT "text" /* s */

/*
 * test.secret (request, linkable, not open; the test-echo plugin responds)
 * Like test.echo, but over the link only for an enrolled peer.
 */
#define EH_TOPIC_TEST_SECRET "test.secret"

/*
 * test.ping (event, linkable)
 * An event the test plugins publish and count.
 */
#define EH_TOPIC_TEST_PING "test.ping"
#define EH_KEY_SEQUENCE "sequence" /* u */

/* the table of every topic above; NULL when @name is not declared */
const EhBusTopic *eh_bus_topic_lookup (const char *name);
/* (transfer none) every declared topic, ending with a zeroed entry */
const EhBusTopic *eh_bus_topics_all (void);

G_END_DECLS
