/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gnutls/crypto.h>

#include "eh-client.h"

G_BEGIN_DECLS

#define EH_CLIENT_SINK_BUFFER_SIZE (256 * 1024)

/* a writer and hasher thread for downloaded bytes (eh-client-sink.c) */
typedef struct _EhClientSink EhClientSink;

EhClientSink *eh_client_sink_new (void);
void eh_client_sink_free (EhClientSink *sink);
/* the next bytes go to @fd from @at on and into @hash */
void eh_client_sink_begin (EhClientSink *sink, int fd, goffset at, gnutls_hash_hd_t hash);
/* a free buffer of EH_CLIENT_SINK_BUFFER_SIZE bytes (waits for one) */
guint8 *eh_client_sink_buffer (EhClientSink *sink);
/* hands @len bytes of @buffer over (0: the buffer only goes back) */
void eh_client_sink_push (EhClientSink *sink, guint8 *buffer, gsize len);
/* waits until all is written and hashed; FALSE + error when a write failed */
gboolean eh_client_sink_drain (EhClientSink *sink, GError **error);

G_END_DECLS
