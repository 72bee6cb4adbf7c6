/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "eh-framing.h"

G_BEGIN_DECLS

/*
 * EhConn: one accepted connection as libsoup sees it. Its input stream
 * passes on only bytes that EhFraming has checked; its output stream is the
 * connection's own. It enforces the header deadline and the idle timeout,
 * answers refused requests itself (status line, Connection: close) and
 * closes them with a bounded lingering drain so the client reads the
 * answer instead of a reset.
 */

#define EH_TYPE_CONN (eh_conn_get_type ())
G_DECLARE_FINAL_TYPE (EhConn, eh_conn, EH, CONN, GIOStream)

typedef struct {
  guint header_timeout_ms; /* from the first byte of a head to its end */
  guint idle_timeout_ms;   /* with no request in progress */
} EhConnTimeouts;

/* called once when the connection is finally closed */
typedef void (*EhConnClosedFunc) (EhConn *conn, gpointer user_data);
/* called once when the peer ended (or was refused, or timed out) between
 * requests: libsoup is waiting for a request that will never come, and must
 * be made to let go of the connection from the main loop */
typedef void (*EhConnEndedFunc) (EhConn *conn, gpointer user_data);

/**
 * EhConnQuickFunc:
 * @head: a complete head the checker released, CRLF CRLF included
 * @available: the checked bytes from @head on (a body follows the head)
 * @out: where the whole answer goes
 * @wanted: (out): when 0 is returned, the bytes from @head on to wait for
 *   (a POST whose body is not all there yet) before offering it again;
 *   left alone, the request goes to libsoup
 * @close: (out): the connection ends after this answer
 *
 * Offered each complete head while libsoup has nothing of this connection
 * in flight (no request it read and has not answered, no checked byte it
 * has not read) and no quick request is held.
 * Returns: the bytes of the request (head and body) when answered, or held
 *   (eh_conn_hold()); 0 leaves the request to libsoup
 */
typedef gsize (*EhConnQuickFunc) (EhConn *conn, const guint8 *head, gsize len, gsize available,
                                  GByteArray *out, gsize *wanted, gboolean *close, gpointer user_data);

/**
 * eh_conn_new:
 * @socket_conn: the accepted TCP connection
 * @tls_stream: (nullable): the TLS stream on top of it, handshake done
 * @framing: (transfer full): the request checker for this connection
 */
EhConn *eh_conn_new (GSocketConnection *socket_conn, GIOStream *tls_stream, EhFraming *framing,
                     const EhConnTimeouts *timeouts, EhConnEndedFunc ended, EhConnClosedFunc closed,
                     gpointer user_data);

/* ends the connection now: shutdown so libsoup sees EOF and lets go */
void eh_conn_abort (EhConn *conn);
/* %TRUE while a request is being read or answered (not idle between requests) */
gboolean eh_conn_is_busy (EhConn *conn);
/**
 * eh_conn_upgrade:
 *
 * After a 101 answer: the connection now speaks another protocol. Its
 * deadlines stop (that protocol has its own), it no longer counts as busy
 * at shutdown, and the caller reads and writes the returned stream — the
 * TLS (or TCP) stream under the request checker — directly. The connection
 * still counts against the front's caps until it is closed.
 * Returns: (transfer full): the raw stream
 */
GIOStream *eh_conn_upgrade (EhConn *conn);
/* answers requests quickly where it can (see EhConnQuickFunc); the data is
 * the one given to eh_conn_new() */
void eh_conn_set_quick (EhConn *conn, EhConnQuickFunc quick);
/* the quick request just offered is answered later: nothing behind it is
 * offered or passed to libsoup until eh_conn_answer_held() (and the
 * answer is written); the deadlines run as for a request libsoup answers */
void eh_conn_hold (EhConn *conn);
/* the held request's whole answer; @close: the connection ends after it */
void eh_conn_answer_held (EhConn *conn, const GByteArray *answer, gboolean close);
/* at shutdown: a connection busy only writing quick answers ends once they are written */
void eh_conn_end_after_quick_answers (EhConn *conn);
/* libsoup finished (or aborted) a request it read: the next may be quick again */
void eh_conn_soup_request_finished (EhConn *conn);
/* the front tells when a request is dispatched and when its answer is written */
void eh_conn_request_began (EhConn *conn);
void eh_conn_request_ended (EhConn *conn);

G_END_DECLS
