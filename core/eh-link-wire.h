/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "eh-bus-topics.h"

G_BEGIN_DECLS

/*
 * The bus link's messages (docs/link.md). Each WebSocket binary message is
 * one GVariant of type EH_LINK_WIRE_TYPE in normal form:
 *
 *   (y kind, u id, s topic, u error-code, s error-message, a{sv} payload)
 *
 * Decoding is strict: the bytes must be exactly the normal form, the kind
 * known, the topic declared and linkable and of the right kind, the
 * payload must fit the topic's fields, and the fields a kind does not use
 * must be empty. Whatever depends on the link's state (is the id one we
 * asked? may this peer use this topic?) is the caller's to check.
 */

#define EH_LINK_WIRE_TYPE "(yususa{sv})"
/* the largest message either side accepts (also the WebSocket message cap) */
#define EH_LINK_WIRE_MAX_BYTES (1024 * 1024)
/* the longest error message carried */
#define EH_LINK_WIRE_MAX_ERROR_BYTES 1024

typedef enum {
  EH_LINK_KIND_REQUEST = 1, /* id > 0, a request topic, its request fields */
  EH_LINK_KIND_REPLY = 2,   /* id of the request, its topic, its reply fields */
  EH_LINK_KIND_ERROR = 3,   /* id of the request, its topic, an EhError code and message, no payload */
  EH_LINK_KIND_EVENT = 4,   /* id 0, an event topic, its fields */
} EhLinkKind;

typedef struct {
  EhLinkKind kind;
  guint32 id;
  const EhBusTopic *topic; /* (unowned) from the topic table */
  guint32 error_code;      /* EhError, errors only */
  char *error_message;     /* errors only; "" otherwise */
  GVariant *payload;       /* a{sv}; empty for errors */
} EhLinkMessage;

void eh_link_message_free (EhLinkMessage *message);

/**
 * eh_link_wire_encode:
 * @payload: (transfer floating) (nullable): NULL for an empty dictionary
 *
 * Builds one message. The topic and payload are checked as the decoder
 * would check them, so a peer never receives what it must refuse.
 * Returns: (transfer full): the bytes to send, or NULL with @error.
 */
GBytes *eh_link_wire_encode (EhLinkKind kind, guint32 id, const char *topic, guint32 error_code,
                             const char *error_message, GVariant *payload, GError **error);

/**
 * eh_link_wire_decode:
 *
 * Returns: (transfer full): the checked message, or NULL with an
 * EH_ERROR_INVALID_ARGUMENT @error naming why it was refused.
 */
EhLinkMessage *eh_link_wire_decode (GBytes *bytes, GError **error);

const char *eh_link_kind_to_string (EhLinkKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhLinkMessage, eh_link_message_free)

G_END_DECLS
