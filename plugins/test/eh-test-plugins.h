/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ehttpd.h"

G_BEGIN_DECLS

/* test-only plugins: refused by the daemon unless --allow-test-plugins */
extern const EhPluginDesc eh_test_echo_plugin;  /* endpoints + a bus responder */
extern const EhPluginDesc eh_test_fail_plugin;  /* registers an endpoint, then fails */
extern const EhPluginDesc eh_test_slow_plugin;  /* starts slowly, answers slowly */
extern const EhPluginDesc eh_test_relay_plugin; /* HTTP in front of bus requests and events */
extern const EhPluginDesc eh_test_link_peer_plugin; /* a stand-in responder of ca.link-peer.check */
extern const EhPluginDesc eh_test_dp_standin_plugin; /* role dp for enrolment tests; keeps the trust bundle */
extern const EhPluginDesc eh_test_token_minter_plugin; /* content tokens signed with a site-issued key */

#define EH_TEST_BLOB_SIZE (1024 * 1024)

G_END_DECLS
