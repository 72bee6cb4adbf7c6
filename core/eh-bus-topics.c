/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-bus-topics.h"

static const EhBusField certificate_install_request[] = {
  { EH_KEY_CHAIN_PEM, "s", TRUE },
  { EH_KEY_PRIVATE_KEY_PEM, "s", TRUE },
  { NULL },
};
static const EhBusField certificate_install_reply[] = {
  { EH_KEY_FINGERPRINT, "s", TRUE },
  { NULL },
};
static const EhBusField certificate_changed[] = {
  { EH_KEY_FINGERPRINT, "s", TRUE },
  { EH_KEY_NOT_AFTER, "x", TRUE },
  { NULL },
};
static const EhBusField plugin_state[] = {
  { EH_KEY_PLUGIN, "s", TRUE },
  { EH_KEY_STATE, "s", TRUE },
  { EH_KEY_ERROR, "s", FALSE },
  { NULL },
};
static const EhBusField link_state[] = {
  { EH_KEY_STATE, "s", TRUE },
  { EH_KEY_AUTHENTICATED, "b", TRUE },
  { NULL },
};
static const EhBusField role_certificate_request[] = {
  { EH_KEY_CSR_PEM, "s", TRUE },
  { EH_KEY_NAMES, "as", TRUE },
  { EH_KEY_ROLES, "as", TRUE },
  { EH_KEY_JOIN_TOKEN, "s", FALSE },
  { NULL },
};
static const EhBusField issued_certificate[] = {
  { EH_KEY_CHAIN_PEM, "s", TRUE },
  { EH_KEY_SERIAL, "s", TRUE },
  { EH_KEY_NOT_AFTER, "x", TRUE },
  { NULL },
};
static const EhBusField token_signing_request[] = {
  { EH_KEY_CSR_PEM, "s", TRUE },
  { EH_KEY_HOST, "s", TRUE },
  { NULL },
};
static const EhBusField site_signing_request[] = {
  { EH_KEY_PAYLOAD, "ay", TRUE },
  { EH_KEY_TYP, "s", TRUE },
  { NULL },
};
static const EhBusField site_signing_reply[] = {
  { EH_KEY_JWS, "s", TRUE },
  { NULL },
};
static const EhBusField empty[] = {
  { NULL },
};
static const EhBusField trust_bundle[] = {
  { EH_KEY_BUNDLE_JSON, "s", TRUE },
  { EH_KEY_BUNDLE_PEM, "s", TRUE },
  { EH_KEY_VERSION, "t", TRUE },
  { NULL },
};
static const EhBusField link_peer_request[] = {
  { EH_KEY_CERTIFICATE_PEM, "s", TRUE },
  { NULL },
};
static const EhBusField link_peer_reply[] = {
  { EH_KEY_SERIAL, "s", TRUE },
  { EH_KEY_ROLES, "as", TRUE },
  { NULL },
};
static const EhBusField certificate_revoked[] = {
  { EH_KEY_SERIAL, "s", TRUE },
  { EH_KEY_REASON, "s", TRUE },
  { NULL },
};
static const EhBusField content_available[] = {
  { EH_KEY_CONTENT_ID, "s", TRUE },
  { EH_KEY_CONTENT_VERSION, "s", TRUE },
  { EH_KEY_MANIFEST_JWS, "s", TRUE },
  { NULL },
};
static const EhBusField content_status[] = {
  { EH_KEY_DP_NAME, "s", TRUE },
  { EH_KEY_DP_URL, "s", TRUE },
  { EH_KEY_CONTENT_ID, "s", TRUE },
  { EH_KEY_STATE, "s", TRUE },
  { EH_KEY_BYTES, "t", TRUE },
  { EH_KEY_MANIFEST_SHA256, "s", TRUE },
  { EH_KEY_REASON, "s", FALSE },
  { NULL },
};
static const EhBusField content_action[] = {
  { EH_KEY_CONTENT_ID, "s", TRUE },
  { EH_KEY_ACTION, "s", TRUE },
  { EH_KEY_DP_NAME, "s", FALSE },
  { NULL },
};
static const EhBusField text_only[] = {
  { EH_KEY_TEXT, "s", TRUE },
  { NULL },
};
static const EhBusField ping[] = {
  { EH_KEY_SEQUENCE, "u", TRUE },
  { NULL },
};

static const EhBusTopic eh_bus_topics[] = {
  { EH_TOPIC_HOST_CERTIFICATE_INSTALL, EH_BUS_REQUEST, EH_BUS_LOCAL, certificate_install_request,
    certificate_install_reply, "install a TLS chain and key for this host" },
  { EH_TOPIC_HOST_CERTIFICATE_CHANGED, EH_BUS_EVENT, EH_BUS_LOCAL, certificate_changed, NULL,
    "the HTTPS certificate in use changed" },
  { EH_TOPIC_PLUGIN_STATE, EH_BUS_EVENT, EH_BUS_LOCAL, plugin_state, NULL,
    "a plugin changed state" },
  { EH_TOPIC_LINK_STATE, EH_BUS_EVENT, EH_BUS_LOCAL, link_state, NULL,
    "the bus link to the upstream site went up or down" },
  { EH_TOPIC_CA_ROLE_CERTIFICATE_ISSUE, EH_BUS_REQUEST, EH_BUS_LINKABLE_OPEN,
    role_certificate_request, issued_certificate, "issue a role certificate from a CSR" },
  { EH_TOPIC_CA_TOKEN_SIGNING_ISSUE, EH_BUS_REQUEST, EH_BUS_LINKABLE, token_signing_request,
    issued_certificate, "issue a token signing certificate from a CSR" },
  { EH_TOPIC_CA_SITE_SIGNING_SIGN, EH_BUS_REQUEST, EH_BUS_LINKABLE, site_signing_request,
    site_signing_reply, "sign with the site signing key" },
  { EH_TOPIC_CA_TRUST_BUNDLE_GET, EH_BUS_REQUEST, EH_BUS_LINKABLE_OPEN, empty, trust_bundle,
    "the site's trust bundle" },
  { EH_TOPIC_CA_TRUST_BUNDLE_CHANGED, EH_BUS_EVENT, EH_BUS_LINKABLE, trust_bundle, NULL,
    "the site's trust bundle changed" },
  { EH_TOPIC_CA_LINK_PEER_CHECK, EH_BUS_REQUEST, EH_BUS_LOCAL, link_peer_request,
    link_peer_reply, "is this link peer's certificate a current role certificate?" },
  { EH_TOPIC_CA_CERTIFICATE_REVOKED, EH_BUS_EVENT, EH_BUS_LINKABLE, certificate_revoked, NULL,
    "a certificate was revoked" },
  { EH_TOPIC_DP_CONTENT_AVAILABLE, EH_BUS_EVENT, EH_BUS_LINKABLE, content_available, NULL,
    "a content's signed manifest is in the site's library" },
  { EH_TOPIC_DP_CONTENT_STATUS, EH_BUS_EVENT, EH_BUS_LINKABLE, content_status, NULL,
    "where one content stands on one DP" },
  { EH_TOPIC_DP_CONTENT_ACTION, EH_BUS_EVENT, EH_BUS_LINKABLE, content_action, NULL,
    "an admin asks DPs to redistribute or validate one content" },
  { EH_TOPIC_TEST_ECHO, EH_BUS_REQUEST, EH_BUS_LINKABLE_OPEN, text_only, text_only,
    "test: echo the text back" },
  { EH_TOPIC_TEST_SECRET, EH_BUS_REQUEST, EH_BUS_LINKABLE, text_only, text_only,
    "test: echo the text back, to enrolled link peers only" },
  { EH_TOPIC_TEST_PING, EH_BUS_EVENT, EH_BUS_LINKABLE, ping, NULL, "test: a counted event" },
  { NULL },
};

const EhBusTopic *
eh_bus_topic_lookup (const char *name)
{
  if (name == NULL)
    return NULL;
  for (guint i = 0; eh_bus_topics[i].name != NULL; i++) {
    if (strcmp (eh_bus_topics[i].name, name) == 0)
      return &eh_bus_topics[i];
  }
  return NULL;
}

const EhBusTopic *
eh_bus_topics_all (void)
{
  return eh_bus_topics;
}
