/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The tunnel between a cmg-connector and a cmg gateway (README.md, "The
 * tunnel"). Each WebSocket binary message is one GVariant of type
 * EH_CMG_WIRE_TYPE in normal form:
 *
 *   (y kind, u stream, a{sv} fields, ay data)
 *
 * The fields of each kind are fixed (below); decoding refuses any other
 * spelling, unknown kinds, missing or unknown fields, wrong types, data on
 * a kind that carries none, stream 0 on a stream kind or not 0 on a tunnel
 * kind. Both plugins build this file in, so they cannot disagree.
 */
#define EH_CMG_WIRE_TYPE "(yua{sv}ay)"
#define EH_CMG_WIRE_SUBPROTOCOL "ehttpd-cmg.v1"
#define EH_CMG_WIRE_PATH "/ehttpd/cmg/tunnel"
/* the largest message either side takes (the WebSocket message cap) */
#define EH_CMG_WIRE_MAX_BYTES (1024 * 1024)
/* the largest DATA payload a connector sends */
#define EH_CMG_WIRE_CHUNK (128 * 1024)
/* what a connector puts in each DATA of a long body: with the message's
 * framing (12 bytes) and a client's WebSocket head (14) its frame is exactly
 * eight full 16 KiB TLS records, where 128 KiB left a ninth of 26 bytes —
 * a record and a send of their own for every chunk */
#define EH_CMG_WIRE_DATA_BYTES (EH_CMG_WIRE_CHUNK - 26)
/* what a connector may send on a stream before the gateway grants more */
#define EH_CMG_WIRE_WINDOW (512 * 1024)
/* the most a gateway's credits may let it have in flight on one stream */
#define EH_CMG_WIRE_MAX_WINDOW (8 * 1024 * 1024)
/* relayed request bodies (registration, token, Entra exchange are a few KiB) */
#define EH_CMG_WIRE_MAX_BODY (64 * 1024)
#define EH_CMG_WIRE_MAX_HEADERS 32
#define EH_CMG_WIRE_MAX_MAPPINGS 64
/* a message whose body is at least this long has its normal form checked
 * by where its parts lie rather than by serializing it again */
#define EH_CMG_WIRE_DIRECT_CHECK 4096

typedef enum {
  /* connector → gateway, stream 0: name (s), site (s), mappings a(sss): id, kind (mp|dp), dp name */
  EH_CMG_HELLO = 1,
  /* gateway → connector: method, path (with query), headers a(ss), correlation, client, gateway,
   * mapping (s); data: the body */
  EH_CMG_REQUEST = 2,
  /* connector → gateway: status (u), headers a(ss), complete (b, optional); data: the first
   * bytes of the body — with complete, all of it: a small answer is one message */
  EH_CMG_HEAD = 3,
  /* connector → gateway: data: the next bytes of the body */
  EH_CMG_DATA = 4,
  /* connector → gateway: the body is complete; error (s, optional): it broke off */
  EH_CMG_END = 5,
  /* gateway → connector: bytes (u) more may be sent on the stream */
  EH_CMG_CREDIT = 6,
  /* gateway → connector: the client is gone; stop */
  EH_CMG_CANCEL = 7,
  /* connector → gateway, stream 0: sequence (u); answered with HEALTH_OK */
  EH_CMG_HEALTH = 8,
  EH_CMG_HEALTH_OK = 9,
} EhCmgKind;

typedef struct {
  EhCmgKind kind;
  guint32 stream;
  GVariant *fields; /* a{sv}, checked against the kind */
  GBytes *data;
} EhCmgMessage;

void eh_cmg_message_free (EhCmgMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhCmgMessage, eh_cmg_message_free)

/**
 * eh_cmg_wire_build:
 * @fields: (transfer floating) (nullable): NULL for none
 * @data: (nullable): referenced, not copied
 *
 * Checked as the decoder checks, so a peer never gets what it must refuse.
 * Returns: (transfer full) the message, not yet serialized (eh_websocket_send_variant
 * serializes it into its frame), or NULL with EH_ERROR_INVALID_ARGUMENT
 */
GVariant *eh_cmg_wire_build (EhCmgKind kind, guint32 stream, GVariant *fields, GBytes *data, GError **error);
/**
 * eh_cmg_wire_encode:
 * @fields: (transfer floating) (nullable): NULL for none
 * @data: (nullable)
 *
 * Checked as the decoder checks, so a peer never gets what it must refuse.
 * Returns: (transfer full) the bytes, or NULL with EH_ERROR_INVALID_ARGUMENT
 */
GBytes *eh_cmg_wire_encode (EhCmgKind kind, guint32 stream, GVariant *fields, GBytes *data,
                            GError **error);
/* Returns: (transfer full) the checked message, or NULL with EH_ERROR_INVALID_ARGUMENT */
EhCmgMessage *eh_cmg_wire_decode (GBytes *bytes, GError **error);
const char *eh_cmg_kind_to_string (EhCmgKind kind);

/* may this header cross: its name in @allowed (case ignored), its value printable ASCII */
gboolean eh_cmg_header_allowed (const char *const *allowed, const char *name, const char *value);

/* request headers the gateway carries to the site, response headers it carries back */
extern const char *const eh_cmg_request_headers[];
extern const char *const eh_cmg_response_headers[];

G_END_DECLS
