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
 * ever leave the process.
 */

typedef enum {
  EH_BUS_EVENT,
  EH_BUS_REQUEST,
} EhBusTopicKind;

typedef enum {
  EH_BUS_LOCAL = 0,
  EH_BUS_LINKABLE = 1,
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

/* ── test plugins (plugins/test/) ─────────────────────────────────────── */

/*
 * test.echo (request, linkable; the test-echo plugin responds)
 * Replies with the text it was sent; used to test the bus and its link.
 */
#define EH_TOPIC_TEST_ECHO "test.echo"
#define EH_KEY_TEXT "text" /* s */

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
