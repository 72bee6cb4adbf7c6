/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include <libsoup/soup.h>

#include "eh-conn-private.h"
#include "eh-error.h"

#define EH_CONN_READ_CHUNK 16384
#define EH_CONN_LINGER_MS 2000
#define EH_CONN_LINGER_MAX_BYTES (256 * 1024)
/* quick answers waiting to be written, at most (then libsoup takes the
 * connection's further requests, one at a time): a client that pipelines
 * many small requests and reads nothing never makes the server hold more */
#define EH_CONN_QUICK_MAX_PENDING (256 * 1024)

/* ── the checked input stream ───────────────────────────────────────── */

#define EH_TYPE_CHECKED_INPUT (eh_checked_input_get_type ())
G_DECLARE_FINAL_TYPE (EhCheckedInput, eh_checked_input, EH, CHECKED_INPUT, GInputStream)

struct _EhCheckedInput {
  GInputStream parent_instance;
  GInputStream *base;
  EhConn *conn;       /* (unowned) the connection owns this stream */
  GByteArray *pending; /* received, not yet checked */
  GByteArray *ready;   /* checked, not yet read by libsoup */
  GByteArray *held_back; /* checked, from a head on: behind a held quick request,
                          * or a quick POST waiting for the rest of its body */
  guint64 held_heads;    /* the heads in held_back */
  EhFraming *framing;
  GError *refusal; /* set once a request was refused */
  gboolean ended;  /* over before libsoup saw anything of the current request */
};

static void eh_checked_input_pollable_init (GPollableInputStreamInterface *iface);
static gssize eh_checked_input_end (EhCheckedInput *self, GError **error);

G_DEFINE_FINAL_TYPE_WITH_CODE (EhCheckedInput, eh_checked_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      eh_checked_input_pollable_init))

struct _EhConn {
  GIOStream parent_instance;
  GSocketConnection *socket_conn;
  GIOStream *tls_stream;
  GIOStream *stream; /* tls_stream or socket_conn */
  EhCheckedInput *input;
  EhConnTimeouts timeouts;
  GSource *deadline;
  gint64 deadline_at; /* monotonic µs; 0: none runs */
  EhFramingState last_state;
  guint answering; /* requests handed to libsoup and not yet answered */
  gboolean refused;
  gboolean closed;
  gboolean upgraded; /* handed to a protocol of its own (the bus link) */
  EhConnClosedFunc closed_func;
  EhConnEndedFunc ended_func;
  gpointer closed_data;
  EhConnQuickFunc quick;
  GByteArray *out;     /* quick answers, written from out_sent on */
  gsize out_sent;
  gboolean quick_closing; /* the last quick answer ends the connection */
  gboolean held;          /* a quick request is answered later (eh_conn_hold()) */
  GCancellable *wake;     /* cancelled when it is: libsoup reads on */
  gsize awaiting;         /* a quick POST waits for this many bytes in held_back */
  guint64 soup_heads;     /* heads handed to libsoup */
  guint64 soup_done;      /* of them, answered (or aborted) */
};

G_DEFINE_FINAL_TYPE (EhConn, eh_conn, G_TYPE_IO_STREAM)

static void eh_conn_framing_advanced (EhConn *conn, EhFramingState state);
static void eh_conn_refuse (EhConn *conn, guint status, const char *reason);
static void eh_conn_ended (EhConn *conn);
static gsize eh_conn_answer_quickly (EhConn *conn, const guint8 *data, gsize len, guint64 *heads);
static void eh_conn_arm_deadline (EhConn *conn, guint ms);

static void
eh_checked_input_finalize (GObject *object)
{
  EhCheckedInput *self = EH_CHECKED_INPUT (object);

  g_clear_object (&self->base);
  g_byte_array_unref (self->pending);
  g_byte_array_unref (self->ready);
  g_byte_array_unref (self->held_back);
  eh_framing_free (self->framing);
  g_clear_error (&self->refusal);
  G_OBJECT_CLASS (eh_checked_input_parent_class)->finalize (object);
}

/* moves checked bytes to @buffer; returns how many */
static gssize
eh_checked_input_take_ready (EhCheckedInput *self, void *buffer, gsize count)
{
  gsize n = MIN (count, self->ready->len);

  memcpy (buffer, self->ready->data, n);
  g_byte_array_remove_range (self->ready, 0, n);
  return n;
}

/* passes checked bytes on: the leading requests to quick answers (when
 * @data starts with a head), the rest to libsoup, or aside while a quick
 * request is held (it starts with a head then); returns the bytes answered
 * quickly */
static gsize
eh_checked_input_release (EhCheckedInput *self, const guint8 *data, gsize len, guint64 heads,
                          gboolean at_head)
{
  EhConn *conn = self->conn;
  gsize quick = 0;

  if (at_head && !conn->held && conn->awaiting == 0)
    quick = eh_conn_answer_quickly (conn, data, len, &heads);
  if (conn->quick_closing)
    return quick;
  if (conn->held || conn->awaiting > 0) {
    g_byte_array_append (self->held_back, data + quick, len - quick);
    self->held_heads += heads;
  } else {
    g_byte_array_append (self->ready, data + quick, len - quick);
    conn->soup_heads += heads;
  }
  return quick;
}

/* answered at once: the idle clock starts again */
static void
eh_checked_input_answered (EhCheckedInput *self, gsize quick)
{
  EhConn *conn = self->conn;

  if (quick > 0 && !conn->held && conn->last_state == EH_FRAMING_STATE_IDLE && self->ready->len == 0)
    eh_conn_arm_deadline (conn, conn->timeouts.idle_timeout_ms);
}

/* the held request is answered, or the awaited body is all there: what
 * waited is released now */
static void
eh_checked_input_resume (EhCheckedInput *self)
{
  g_autoptr (GByteArray) back = g_steal_pointer (&self->held_back);
  guint64 heads = self->held_heads;

  self->held_back = g_byte_array_new ();
  self->held_heads = 0;
  eh_checked_input_answered (self, eh_checked_input_release (self, back->data, back->len, heads, TRUE));
}

/* runs the checker over what is pending; %FALSE when it refused. What it
 * releases goes to libsoup, but for the requests answered quickly first */
static gboolean
eh_checked_input_check (EhCheckedInput *self, GError **error)
{
  EhConn *conn = self->conn;
  EhFramingState before = eh_framing_get_state (self->framing);
  guint64 heads = eh_framing_get_request_count (self->framing);
  g_autoptr (GError) refusal = NULL;
  guint status = 400;
  gsize quick = 0;
  gssize n = eh_framing_feed (self->framing, self->pending->data, self->pending->len, &status,
                              &refusal);

  if (n < 0) {
    eh_conn_refuse (self->conn, status, refusal != NULL ? refusal->message : "bad request");
    self->refusal = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "request refused (%u): %s",
                                 status, refusal != NULL ? refusal->message : "bad request");
    g_propagate_error (error, g_error_copy (self->refusal));
    return FALSE;
  }
  if (n > 0) {
    heads = eh_framing_get_request_count (self->framing) - heads;
    /* what was released starts with a head */
    quick = eh_checked_input_release (self, self->pending->data, n, heads,
                                      before == EH_FRAMING_STATE_IDLE || before == EH_FRAMING_STATE_HEAD);
    g_byte_array_remove_range (self->pending, 0, n);
  }
  eh_conn_framing_advanced (conn, eh_framing_get_state (self->framing));
  eh_checked_input_answered (self, quick);
  /* a quick POST's body came whole: offered again */
  if (conn->awaiting > 0 && !conn->held && self->held_back->len >= conn->awaiting) {
    conn->awaiting = 0;
    eh_checked_input_resume (self);
  }
  return TRUE;
}

/* writes what quick answers left; %FALSE with @error set (would block, or the peer is gone) */
static gboolean
eh_checked_input_flush (EhCheckedInput *self, gboolean blocking, GCancellable *cancellable,
                        GError **error)
{
  EhConn *conn = self->conn;
  GOutputStream *out = g_io_stream_get_output_stream (conn->stream);

  while (conn->out_sent < conn->out->len) {
    const guint8 *data = conn->out->data + conn->out_sent;
    gsize len = conn->out->len - conn->out_sent;
    gssize n = blocking ? g_output_stream_write (out, data, len, cancellable, error)
                        : g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out),
                                                                      data, len, cancellable, error);

    if (n < 0)
      return FALSE;
    conn->out_sent += n;
  }
  g_byte_array_set_size (conn->out, 0);
  conn->out_sent = 0;
  return TRUE;
}

/* before libsoup reads on: the quick answers go out first, and one that
 * ends the connection ends it; -2 when libsoup may read on */
static gssize
eh_checked_input_settle (EhCheckedInput *self, gboolean blocking, GCancellable *cancellable,
                         GError **error)
{
  EhConn *conn = self->conn;

  if (conn->out->len > 0 && !eh_checked_input_flush (self, blocking, cancellable, error)) {
    if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      return -1;
    /* the client went away before reading its answer */
    g_debug ("connection lost while answering: %s", (*error)->message);
    eh_conn_abort (conn);
    conn->quick_closing = TRUE;
    if (blocking)
      return -1;
    return eh_checked_input_end (self, error);
  }
  if (conn->quick_closing)
    return blocking ? 0 : eh_checked_input_end (self, error);
  return -2;
}

/* libsoup has nothing of the current request while the checker holds it back */
static gboolean
eh_checked_input_libsoup_is_idle (EhCheckedInput *self, EhFramingState before)
{
  return self->ready->len == 0 &&
         (before == EH_FRAMING_STATE_IDLE || before == EH_FRAMING_STATE_HEAD);
}

/* libsoup 3.2 never lets go of a connection whose next request dies before
 * its first byte, so the connection tells it "nothing yet" and lets the
 * front detach it from the main loop instead */
static gssize
eh_checked_input_end (EhCheckedInput *self, GError **error)
{
  if (!self->ended) {
    self->ended = TRUE;
    eh_conn_ended (self->conn);
  }
  g_clear_error (error);
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "connection is ending");
  return -1;
}

static gssize
eh_checked_input_read_internal (EhCheckedInput *self, void *buffer, gsize count,
                                gboolean blocking, GCancellable *cancellable, GError **error)
{
  guint8 chunk[EH_CONN_READ_CHUNK];

  for (;;) {
    EhFramingState before = eh_framing_get_state (self->framing);
    gssize got = eh_checked_input_settle (self, blocking, cancellable, error);

    if (got != -2)
      return got;
    /* nothing goes past a held request before its answer */
    if (self->conn->held) {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "an answer is on its way");
      return -1;
    }
    if (self->held_back->len > 0 && self->conn->awaiting == 0) {
      eh_checked_input_resume (self);
      continue;
    }
    if (self->ready->len > 0)
      return eh_checked_input_take_ready (self, buffer, count);
    if (self->ended && !blocking)
      return eh_checked_input_end (self, error);
    if (self->refusal != NULL) {
      g_propagate_error (error, g_error_copy (self->refusal));
      return -1;
    }
    if (blocking)
      got = g_input_stream_read (self->base, chunk, sizeof chunk, cancellable, error);
    else
      got = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base), chunk,
                                                      sizeof chunk, cancellable, error);
    if (got < 0 && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
      return -1;
    if (got <= 0) {
      /* end of stream or a dead socket: a cut head is simply dropped */
      if (!blocking && eh_checked_input_libsoup_is_idle (self, before))
        return eh_checked_input_end (self, error);
      return got;
    }
    g_byte_array_append (self->pending, chunk, got);
    if (!eh_checked_input_check (self, error)) {
      if (!blocking && eh_checked_input_libsoup_is_idle (self, before))
        return eh_checked_input_end (self, error);
      return -1;
    }
  }
}

static gssize
eh_checked_input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                       GError **error)
{
  return eh_checked_input_read_internal (EH_CHECKED_INPUT (stream), buffer, count, TRUE,
                                         cancellable, error);
}

static gboolean
eh_checked_input_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE; /* the connection closes the socket */
}

static gboolean
eh_checked_input_is_readable (GPollableInputStream *stream)
{
  EhCheckedInput *self = EH_CHECKED_INPUT (stream);

  if (self->ended)
    return FALSE;
  if (self->conn->out->len > 0)
    return g_pollable_output_stream_is_writable (
        G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (self->conn->stream)));
  if (self->conn->held)
    return FALSE;
  return self->ready->len > 0 || (self->held_back->len > 0 && self->conn->awaiting == 0) ||
         self->refusal != NULL || self->conn->quick_closing ||
         g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

static GSource *
eh_checked_input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  EhCheckedInput *self = EH_CHECKED_INPUT (stream);
  g_autoptr (GSource) child = NULL;

  if (self->ended)
    return g_pollable_source_new_full (stream, NULL, cancellable); /* never ready */
  if (self->conn->out->len > 0)
    child = g_pollable_output_stream_create_source (
        G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (self->conn->stream)), NULL);
  else if (self->conn->held)
    child = g_cancellable_source_new (self->conn->wake);
  else if (self->ready->len > 0 || (self->held_back->len > 0 && self->conn->awaiting == 0) ||
           self->refusal != NULL || self->conn->quick_closing)
    child = g_timeout_source_new (0);
  else
    child = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base), NULL);
  return g_pollable_source_new_full (stream, child, cancellable);
}

static gssize
eh_checked_input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count,
                                   GError **error)
{
  return eh_checked_input_read_internal (EH_CHECKED_INPUT (stream), buffer, count, FALSE, NULL,
                                         error);
}

static gboolean
eh_checked_input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static void
eh_checked_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = eh_checked_input_can_poll;
  iface->is_readable = eh_checked_input_is_readable;
  iface->create_source = eh_checked_input_create_source;
  iface->read_nonblocking = eh_checked_input_read_nonblocking;
}

static void
eh_checked_input_class_init (EhCheckedInputClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = eh_checked_input_finalize;
  stream_class->read_fn = eh_checked_input_read;
  stream_class->close_fn = eh_checked_input_close;
}

static void
eh_checked_input_init (EhCheckedInput *self)
{
  self->pending = g_byte_array_new ();
  self->ready = g_byte_array_new ();
  self->held_back = g_byte_array_new ();
}

/* ── the connection ─────────────────────────────────────────────────── */

/*
 * One deadline source per connection, made once, and moved lazily: arming
 * or clearing a deadline only writes conn->deadline_at; the source's ready
 * time is moved (g_source_set_ready_time(), which also wakes the main
 * context) only when a deadline comes before it, and when it fires early it
 * moves to the deadline then in force. A small request arms and clears its
 * deadlines three times; creating, attaching and destroying a GSource for
 * each, or moving one each time, cost more than the rest of its work on the
 * main loop.
 */
static gboolean
eh_conn_deadline_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs eh_conn_deadline_funcs = {
  .dispatch = eh_conn_deadline_dispatch,
};

/* no deadline runs (the source stays, for the next one) */
static void
eh_conn_clear_deadline (EhConn *conn)
{
  conn->deadline_at = 0;
}

/* the connection is done with deadlines: the source goes */
static void
eh_conn_drop_deadline (EhConn *conn)
{
  conn->deadline_at = 0;
  if (conn->deadline != NULL) {
    g_source_destroy (conn->deadline);
    g_clear_pointer (&conn->deadline, g_source_unref);
  }
}

static gboolean
eh_conn_deadline_passed (gpointer data)
{
  EhConn *conn = data;

  if (conn->deadline_at == 0 || conn->deadline_at > g_source_get_time (conn->deadline)) {
    /* cleared or moved later meanwhile: wait for the one in force, if any */
    g_source_set_ready_time (conn->deadline, conn->deadline_at != 0 ? conn->deadline_at : -1);
    return G_SOURCE_CONTINUE;
  }
  g_debug ("connection deadline passed (%s)",
           conn->last_state == EH_FRAMING_STATE_HEAD ? "header" : "idle");
  conn->deadline_at = 0;
  g_source_set_ready_time (conn->deadline, -1);
  eh_conn_abort (conn);
  return G_SOURCE_CONTINUE;
}

static void
eh_conn_arm_deadline (EhConn *conn, guint ms)
{
  gint64 ready;

  if (ms == 0 || conn->upgraded || conn->closed) {
    eh_conn_clear_deadline (conn);
    return;
  }
  if (conn->deadline == NULL) {
    conn->deadline = g_source_new (&eh_conn_deadline_funcs, sizeof (GSource));
    g_source_set_callback (conn->deadline, eh_conn_deadline_passed, conn, NULL);
    g_source_attach (conn->deadline, g_main_context_get_thread_default ());
  }
  conn->deadline_at = g_source_get_time (conn->deadline) + (gint64) ms * 1000;
  ready = g_source_get_ready_time (conn->deadline);
  if (ready == -1 || conn->deadline_at < ready)
    g_source_set_ready_time (conn->deadline, conn->deadline_at);
}

/* the header deadline runs from the first byte of a head to its end;
 * between requests the idle timeout runs instead */
static void
eh_conn_framing_advanced (EhConn *conn, EhFramingState state)
{
  if (state == conn->last_state)
    return;
  if (state == EH_FRAMING_STATE_HEAD)
    eh_conn_arm_deadline (conn, conn->timeouts.header_timeout_ms);
  else if (state == EH_FRAMING_STATE_IDLE && conn->answering == 0)
    eh_conn_arm_deadline (conn, conn->timeouts.idle_timeout_ms);
  else
    eh_conn_clear_deadline (conn);
  conn->last_state = state;
}

/* writes the refusal straight to the connection; libsoup never saw the request */
static void
eh_conn_refuse (EhConn *conn, guint status, const char *reason)
{
  GOutputStream *out = g_io_stream_get_output_stream (conn->stream);
  g_autofree char *body = g_strdup_printf ("%u %s\n", status, soup_status_get_phrase (status));
  g_autofree char *head = g_strdup_printf ("HTTP/1.1 %u %s\r\nConnection: close\r\n"
                                           "Content-Type: text/plain; charset=utf-8\r\n"
                                           "Content-Length: %zu\r\n\r\n%s",
                                           status, soup_status_get_phrase (status), strlen (body),
                                           body);

  g_info ("refused a request (%u): %s", status, reason);
  conn->refused = TRUE;
  eh_conn_clear_deadline (conn);
  /* a fresh socket buffer takes a few hundred bytes; a short write only loses the courtesy */
  g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), head, strlen (head),
                                              NULL, NULL);
}

static void
eh_conn_ended (EhConn *conn)
{
  eh_conn_drop_deadline (conn);
  if (conn->ended_func != NULL)
    conn->ended_func (conn, conn->closed_data);
}

gboolean
eh_conn_is_busy (EhConn *conn)
{
  /* an upgraded connection has no request to finish: shutdown ends it */
  if (conn->upgraded)
    return FALSE;
  return conn->answering > 0 || conn->last_state != EH_FRAMING_STATE_IDLE ||
         conn->input->ready->len > 0 || conn->out->len > 0 || conn->held ||
         conn->input->held_back->len > 0;
}

void
eh_conn_set_quick (EhConn *conn, EhConnQuickFunc quick)
{
  conn->quick = quick;
}

void
eh_conn_end_after_quick_answers (EhConn *conn)
{
  /* libsoup holds nothing of it: no request of its will be cut */
  if (conn->out->len > 0 && !conn->held && conn->input->ready->len == 0 &&
      conn->input->held_back->len == 0 && conn->soup_heads == conn->soup_done)
    conn->quick_closing = TRUE;
}

void
eh_conn_soup_request_finished (EhConn *conn)
{
  if (conn->soup_done < conn->soup_heads)
    conn->soup_done++;
}

/* offers the leading requests of @data (released by the checker, starting
 * with a head) for quick answers while libsoup has nothing in flight and no
 * quick request is held; returns the bytes answered (or held), and counts
 * them off @heads */
static gsize
eh_conn_answer_quickly (EhConn *conn, const guint8 *data, gsize len, guint64 *heads)
{
  gsize used = 0;

  while (conn->quick != NULL && *heads > 0 && !conn->quick_closing && !conn->upgraded && !conn->held &&
         conn->input->ready->len == 0 && conn->soup_heads == conn->soup_done &&
         conn->out->len < EH_CONN_QUICK_MAX_PENDING) {
    /* a checked head holds no NUL, and its first empty line ends it */
    const guint8 *end = (const guint8 *) g_strstr_len ((const char *) data + used, len - used,
                                                       "\r\n\r\n");
    gboolean close = FALSE;
    gsize head_len, consumed, wanted = 0;

    if (end == NULL)
      break;
    head_len = end + 4 - (data + used);
    consumed = conn->quick (conn, data + used, head_len, len - used, conn->out, &wanted, &close,
                            conn->closed_data);
    if (consumed == 0) {
      /* a quick POST's body is on its way: it waits aside, with what follows */
      if (wanted > len - used)
        conn->awaiting = wanted;
      break;
    }
    used += consumed;
    (*heads)--;
    /* a held request answered at once may have ended the connection already */
    if (close)
      conn->quick_closing = TRUE;
  }
  return used;
}

void
eh_conn_hold (EhConn *conn)
{
  g_return_if_fail (!conn->held);
  conn->held = TRUE;
  g_clear_object (&conn->wake);
  conn->wake = g_cancellable_new ();
  /* as for a request libsoup is answering: no idle clock meanwhile */
  eh_conn_request_began (conn);
}

void
eh_conn_answer_held (EhConn *conn, const GByteArray *answer, gboolean close)
{
  g_return_if_fail (conn->held);
  conn->held = FALSE;
  g_byte_array_append (conn->out, answer->data, answer->len);
  if (close)
    conn->quick_closing = TRUE;
  eh_conn_request_ended (conn);
  g_cancellable_cancel (conn->wake);
}

void
eh_conn_request_began (EhConn *conn)
{
  /* a handler may take its time; the idle clock starts after the answer */
  conn->answering++;
  if (conn->last_state == EH_FRAMING_STATE_IDLE)
    eh_conn_clear_deadline (conn);
}

void
eh_conn_request_ended (EhConn *conn)
{
  if (conn->answering > 0)
    conn->answering--;
  if (conn->answering == 0 && conn->last_state == EH_FRAMING_STATE_IDLE && !conn->closed)
    eh_conn_arm_deadline (conn, conn->timeouts.idle_timeout_ms);
}

GIOStream *
eh_conn_upgrade (EhConn *conn)
{
  conn->upgraded = TRUE;
  eh_conn_drop_deadline (conn);
  return g_object_ref (conn->stream);
}

void
eh_conn_abort (EhConn *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn->socket_conn);

  if (!g_socket_is_closed (socket))
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
}

static void
eh_conn_notify_closed (EhConn *conn)
{
  if (conn->closed)
    return;
  conn->closed = TRUE;
  eh_conn_drop_deadline (conn);
  if (conn->closed_func != NULL)
    conn->closed_func (conn, conn->closed_data);
}

typedef struct {
  GSocketConnection *socket_conn;
  GSource *timeout;
  GSource *watch;
  gsize drained;
  guint8 buffer[4096];
} EhLinger;

/* removes both sources before closing, so no poll ever sees a reused fd */
static void
eh_linger_finish (EhLinger *linger)
{
  g_source_destroy (linger->timeout);
  g_source_unref (linger->timeout);
  g_source_destroy (linger->watch);
  g_source_unref (linger->watch);
  g_io_stream_close (G_IO_STREAM (linger->socket_conn), NULL, NULL);
  g_object_unref (linger->socket_conn);
  g_free (linger);
}

static gboolean
eh_linger_drain (GSocket *socket, GIOCondition condition, gpointer data)
{
  EhLinger *linger = data;
  gssize got = g_socket_receive (socket, (gchar *) linger->buffer, sizeof linger->buffer, NULL, NULL);

  if (got > 0 && (linger->drained += got) < EH_CONN_LINGER_MAX_BYTES)
    return G_SOURCE_CONTINUE;
  if (got < 0 && (condition & (G_IO_ERR | G_IO_HUP)) == 0)
    return G_SOURCE_CONTINUE; /* spurious wake-up */
  eh_linger_finish (linger);
  return G_SOURCE_CONTINUE; /* already destroyed by finish */
}

static gboolean
eh_linger_timeout (gpointer data)
{
  eh_linger_finish (data);
  return G_SOURCE_CONTINUE; /* already destroyed by finish */
}

/* after a refusal: stop sending, read and discard what the client still
 * sends for a bounded time, then close, so our answer is not lost to a reset */
static void
eh_conn_linger (EhConn *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn->socket_conn);
  EhLinger *linger = g_new0 (EhLinger, 1);

  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  linger->socket_conn = g_object_ref (conn->socket_conn);
  linger->timeout = g_timeout_source_new (EH_CONN_LINGER_MS);
  g_source_set_callback (linger->timeout, eh_linger_timeout, linger, NULL);
  g_source_attach (linger->timeout, g_main_context_get_thread_default ());
  linger->watch = g_socket_create_source (socket, G_IO_IN | G_IO_ERR | G_IO_HUP, NULL);
  g_source_set_callback (linger->watch, G_SOURCE_FUNC (eh_linger_drain), linger, NULL);
  g_source_attach (linger->watch, g_main_context_get_thread_default ());
}

static gboolean
eh_conn_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  EhConn *conn = EH_CONN (stream);

  if (conn->refused) {
    eh_conn_linger (conn);
  } else if (conn->tls_stream != NULL) {
    g_io_stream_close (conn->tls_stream, NULL, NULL);
  } else {
    g_io_stream_close (G_IO_STREAM (conn->socket_conn), NULL, NULL);
  }
  eh_conn_notify_closed (conn);
  return TRUE;
}

static GInputStream *
eh_conn_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (EH_CONN (stream)->input);
}

static GOutputStream *
eh_conn_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (EH_CONN (stream)->stream);
}

static void
eh_conn_finalize (GObject *object)
{
  EhConn *conn = EH_CONN (object);

  if (!conn->closed) {
    g_io_stream_close (conn->stream, NULL, NULL);
    eh_conn_notify_closed (conn);
  }
  eh_conn_drop_deadline (conn);
  g_clear_object (&conn->input);
  g_byte_array_unref (conn->out);
  g_clear_object (&conn->wake);
  g_clear_object (&conn->tls_stream);
  g_clear_object (&conn->socket_conn);
  G_OBJECT_CLASS (eh_conn_parent_class)->finalize (object);
}

static void
eh_conn_class_init (EhConnClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = eh_conn_finalize;
  stream_class->get_input_stream = eh_conn_get_input_stream;
  stream_class->get_output_stream = eh_conn_get_output_stream;
  stream_class->close_fn = eh_conn_close;
}

static void
eh_conn_init (EhConn *conn)
{
  conn->last_state = EH_FRAMING_STATE_IDLE;
  conn->out = g_byte_array_new ();
}

EhConn *
eh_conn_new (GSocketConnection *socket_conn, GIOStream *tls_stream, EhFraming *framing,
             const EhConnTimeouts *timeouts, EhConnEndedFunc ended, EhConnClosedFunc closed,
             gpointer user_data)
{
  EhConn *conn = g_object_new (EH_TYPE_CONN, NULL);

  conn->socket_conn = g_object_ref (socket_conn);
  conn->tls_stream = tls_stream != NULL ? g_object_ref (tls_stream) : NULL;
  conn->stream = tls_stream != NULL ? tls_stream : G_IO_STREAM (socket_conn);
  conn->timeouts = *timeouts;
  conn->ended_func = ended;
  conn->closed_func = closed;
  conn->closed_data = user_data;
  conn->input = g_object_new (EH_TYPE_CHECKED_INPUT, NULL);
  conn->input->base = g_object_ref (g_io_stream_get_input_stream (conn->stream));
  conn->input->conn = conn;
  conn->input->framing = framing;
  /* the idle timeout also bounds a connection that never sends anything */
  eh_conn_arm_deadline (conn, timeouts->header_timeout_ms);
  return conn;
}
