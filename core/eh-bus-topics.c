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
  { EH_TOPIC_TEST_ECHO, EH_BUS_REQUEST, EH_BUS_LINKABLE, text_only, text_only,
    "test: echo the text back" },
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
