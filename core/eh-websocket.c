/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "eh-websocket.h"

#define EH_WS_READ_CHUNK 16384
/* room for the longest frame head (2 + 8 + 4), rounded up so the payload is 8-aligned */
#define EH_WS_MAX_HEAD 16
/* a data frame at least this long is read into a buffer of its own */
#define EH_WS_DIRECT_MIN 16384
#define EH_WS_PING_INTERVAL_S 30
#define EH_WS_SILENCE_LIMIT_S 90
#define EH_WS_CLOSE_WAIT_MS 2000
/* a peer that leaves this much of our output unread is dropped */
#define EH_WS_MAX_QUEUED_BYTES (8 * 1024 * 1024)
/* buffers of long frames (a tunnel's 128 KiB chunks with their head) are
 * reused: each fresh one costs page faults and zeroed pages, a quarter of
 * the kernel's time on a bulk transfer, since malloc gives memory this
 * size back as soon as it is freed */
#define EH_WS_SPARE_SIZE (160 * 1024)
#define EH_WS_SPARE_MIN (32 * 1024)
#define EH_WS_SPARE_MAX 16

enum {
  EH_WS_OP_CONTINUATION = 0x0,
  EH_WS_OP_TEXT = 0x1,
  EH_WS_OP_BINARY = 0x2,
  EH_WS_OP_CLOSE = 0x8,
  EH_WS_OP_PING = 0x9,
  EH_WS_OP_PONG = 0xa,
};

typedef enum {
  EH_WS_OPEN,
  EH_WS_CLOSING, /* our close frame is queued or sent */
  EH_WS_CLOSED,
} EhWsState;

/* spare frame buffers of EH_WS_SPARE_SIZE; held by the link and by every
 * frame or message still using one of its buffers (which may outlive it) */
typedef struct {
  gint ref_count;
  GPtrArray *buffers;
} EhWsSpares;

struct _EhWebsocket {
  gint ref_count;
  EhWsSpares *spares;
  GIOStream *stream;
  GPollableInputStream *input;
  GPollableOutputStream *output;
  gboolean is_server;
  gsize max_message;
  EhWsState state;
  gboolean peer_closed; /* we got the peer's close frame */
  GByteArray *in;       /* received, not yet parsed */
  GByteArray *message;  /* fragments of the message being received */
  gboolean fragmenting;
  /* a long data frame is read straight into a buffer of its own size
   * (TLS decrypts into it; no copy on the way to the handler) */
  guint8 *payload;
  gsize payload_len;
  gsize payload_have;
  guint8 payload_opcode;
  gboolean payload_fin;
  gboolean payload_masked;
  guint8 payload_mask[4];
  GQueue out;           /* GBytes frames to write */
  gsize out_offset;     /* bytes of the head frame already written */
  gsize out_queued;
  GSource *read_source;
  GSource *write_source;
  GSource *timer;
  GSource *close_wait;
  gsize drain_below;    /* 0: nobody waits for the queue to drain */
  EhWebsocketDrainedFunc drained_func;
  gpointer drained_data;
  gint64 last_read;
  char *close_reason;
  EhWebsocketMessageFunc message_func;
  EhWebsocketClosedFunc closed_func;
  gpointer user_data;
};

static void eh_websocket_watch_input (EhWebsocket *ws);
static void eh_websocket_flush (EhWebsocket *ws);

static EhWsSpares *
eh_ws_spares_ref (EhWsSpares *spares)
{
  spares->ref_count++;
  return spares;
}

static void
eh_ws_spares_unref (EhWsSpares *spares)
{
  if (--spares->ref_count > 0)
    return;
  g_ptr_array_unref (spares->buffers);
  g_free (spares);
}

typedef struct {
  EhWsSpares *spares;
  guint8 *buffer;
} EhWsSpare;

static void
eh_ws_spare_release (gpointer data)
{
  EhWsSpare *spare = data;

  if (spare->spares->buffers->len < EH_WS_SPARE_MAX)
    g_ptr_array_add (spare->spares->buffers, spare->buffer);
  else
    g_free (spare->buffer);
  eh_ws_spares_unref (spare->spares);
  g_free (spare);
}

/* a buffer of @size bytes; a spare one when it is a long frame's */
static guint8 *
eh_ws_buffer_new (EhWebsocket *ws, gsize size)
{
  if (size < EH_WS_SPARE_MIN || size > EH_WS_SPARE_SIZE)
    return g_malloc (size);
  if (ws->spares->buffers->len > 0)
    return g_ptr_array_steal_index_fast (ws->spares->buffers, ws->spares->buffers->len - 1);
  return g_malloc (EH_WS_SPARE_SIZE);
}

/* (transfer full) @len bytes at @data in @buffer (from eh_ws_buffer_new() for @size), which they own */
static GBytes *
eh_ws_buffer_wrap (EhWebsocket *ws, guint8 *buffer, gsize size, const guint8 *data, gsize len)
{
  EhWsSpare *spare;

  if (size < EH_WS_SPARE_MIN || size > EH_WS_SPARE_SIZE)
    return g_bytes_new_with_free_func (data, len, g_free, buffer);
  spare = g_new (EhWsSpare, 1);
  spare->spares = eh_ws_spares_ref (ws->spares);
  spare->buffer = buffer;
  return g_bytes_new_with_free_func (data, len, eh_ws_spare_release, spare);
}

static EhWebsocket *
eh_websocket_ref (EhWebsocket *ws)
{
  ws->ref_count++;
  return ws;
}

static void
eh_websocket_clear_source (GSource **source)
{
  if (*source != NULL) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static void
eh_websocket_stop (EhWebsocket *ws)
{
  eh_websocket_clear_source (&ws->read_source);
  eh_websocket_clear_source (&ws->write_source);
  eh_websocket_clear_source (&ws->timer);
  eh_websocket_clear_source (&ws->close_wait);
}

static void
eh_websocket_unref (EhWebsocket *ws)
{
  if (--ws->ref_count > 0)
    return;
  eh_websocket_stop (ws);
  g_queue_clear_full (&ws->out, (GDestroyNotify) g_bytes_unref);
  g_byte_array_unref (ws->in);
  g_byte_array_unref (ws->message);
  g_free (ws->payload);
  eh_ws_spares_unref (ws->spares);
  g_object_unref (ws->stream);
  g_free (ws->close_reason);
  g_free (ws);
}

void
eh_websocket_free (EhWebsocket *ws)
{
  if (ws == NULL)
    return;
  ws->state = EH_WS_CLOSED;
  ws->message_func = NULL;
  ws->closed_func = NULL;
  eh_websocket_stop (ws);
  eh_websocket_unref (ws);
}

gboolean
eh_websocket_is_open (EhWebsocket *ws)
{
  return ws->state == EH_WS_OPEN;
}

static gboolean
eh_websocket_report_closed (gpointer data)
{
  EhWebsocket *ws = data;

  if (ws->closed_func != NULL)
    ws->closed_func (ws, ws->close_reason, ws->user_data);
  return G_SOURCE_REMOVE;
}

/* the end, for whatever reason: no more I/O; the owner hears of it later */
static void
eh_websocket_finish (EhWebsocket *ws, const char *reason)
{
  if (ws->state == EH_WS_CLOSED)
    return;
  ws->state = EH_WS_CLOSED;
  if (ws->close_reason == NULL)
    ws->close_reason = g_strdup (reason);
  eh_websocket_stop (ws);
  g_idle_add_full (G_PRIORITY_DEFAULT, eh_websocket_report_closed, eh_websocket_ref (ws),
                   (GDestroyNotify) eh_websocket_unref);
}

/* ── writing ────────────────────────────────────────────────────────── */

/* XORs @data with the 4-byte @mask, 32 bytes at a time where the compiler
 * has vectors that wide (bulk transfers over a client's tunnel mask every
 * byte, and the gateway unmasks them) */
typedef guint64 EhWsWide __attribute__ ((vector_size (32)));

static void
eh_websocket_apply_mask (guint8 *data, gsize len, const guint8 mask[4])
{
  guint8 pattern[sizeof (EhWsWide)];
  EhWsWide key, word;
  gsize i = 0;

  for (guint k = 0; k < sizeof pattern; k++)
    pattern[k] = mask[k % 4];
  memcpy (&key, pattern, sizeof key);
  for (; i + sizeof word <= len; i += sizeof word) {
    memcpy (&word, data + i, sizeof word);
    word ^= key;
    memcpy (data + i, &word, sizeof word);
  }
  for (; i < len; i++)
    data[i] ^= mask[i % 4];
}

/* a frame of @len payload bytes with its head written; the caller fills
 * *@payload — 8-aligned, so a GVariant can be serialized into it — and then
 * seals it (masks it, on a client) */
static GBytes *
eh_websocket_frame_new (EhWebsocket *ws, guint8 opcode, gsize len, guint8 **payload)
{
  guint8 *buffer = eh_ws_buffer_new (ws, EH_WS_MAX_HEAD + len);
  gsize n = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
  guint8 *frame;

  n += ws->is_server ? 0 : 4;
  frame = buffer + EH_WS_MAX_HEAD - n;
  frame[0] = 0x80 | opcode;
  if (len < 126) {
    frame[1] = len;
  } else if (len <= 0xffff) {
    frame[1] = 126;
    frame[2] = len >> 8;
    frame[3] = len & 0xff;
  } else {
    frame[1] = 127;
    for (int i = 0; i < 8; i++)
      frame[2 + i] = ((guint64) len >> (56 - 8 * i)) & 0xff;
  }
  if (!ws->is_server) {
    frame[1] |= 0x80;
    gnutls_rnd (GNUTLS_RND_NONCE, buffer + EH_WS_MAX_HEAD - 4, 4);
  }
  *payload = buffer + EH_WS_MAX_HEAD;
  return eh_ws_buffer_wrap (ws, buffer, EH_WS_MAX_HEAD + len, frame, n + len);
}

static void
eh_websocket_frame_seal (EhWebsocket *ws, guint8 *payload, gsize len)
{
  /* RFC 6455 5.3: a client masks every frame, whatever carries it */
  if (!ws->is_server)
    eh_websocket_apply_mask (payload, len, payload - 4);
}

/* a sender waiting for the queue to drain hears of it once it is down to its mark */
static void
eh_websocket_check_drained (EhWebsocket *ws)
{
  EhWebsocketDrainedFunc func = ws->drained_func;

  if (func == NULL || ws->drain_below == 0 || ws->out_queued > ws->drain_below || ws->state == EH_WS_CLOSED)
    return;
  ws->drain_below = 0;
  eh_websocket_ref (ws);
  func (ws, ws->drained_data);
  eh_websocket_unref (ws);
}

static void
eh_websocket_queue_frame (EhWebsocket *ws, GBytes *frame)
{
  ws->out_queued += g_bytes_get_size (frame);
  g_queue_push_tail (&ws->out, frame);
  if (ws->out_queued > EH_WS_MAX_QUEUED_BYTES) {
    eh_websocket_finish (ws, "the peer does not read what we send");
    return;
  }
  eh_websocket_flush (ws);
}

static void
eh_websocket_queue (EhWebsocket *ws, guint8 opcode, const guint8 *data, gsize len)
{
  guint8 *payload;
  GBytes *frame = eh_websocket_frame_new (ws, opcode, len, &payload);

  if (len > 0)
    memcpy (payload, data, len);
  eh_websocket_frame_seal (ws, payload, len);
  eh_websocket_queue_frame (ws, frame);
}

static gboolean
eh_websocket_writable (GObject *stream, gpointer data)
{
  EhWebsocket *ws = data;

  g_clear_pointer (&ws->write_source, g_source_unref);
  eh_websocket_flush (ws);
  return G_SOURCE_REMOVE;
}

static void
eh_websocket_flush (EhWebsocket *ws)
{
  if (ws->write_source != NULL || ws->state == EH_WS_CLOSED)
    return;
  while (!g_queue_is_empty (&ws->out)) {
    GBytes *frame = g_queue_peek_head (&ws->out);
    gsize len = 0;
    const guint8 *data = g_bytes_get_data (frame, &len);
    g_autoptr (GError) error = NULL;
    gssize n;

    /* a would-block write is repeated with the very same bytes (TLS needs it) */
    n = g_pollable_output_stream_write_nonblocking (ws->output, data + ws->out_offset,
                                                    len - ws->out_offset, NULL, &error);
    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      ws->write_source = g_pollable_output_stream_create_source (ws->output, NULL);
      g_source_set_callback (ws->write_source, G_SOURCE_FUNC (eh_websocket_writable), ws, NULL);
      g_source_attach (ws->write_source, g_main_context_get_thread_default ());
      eh_websocket_check_drained (ws);
      return;
    }
    if (n < 0) {
      eh_websocket_finish (ws, error->message);
      return;
    }
    ws->out_offset += n;
    if (ws->out_offset == len) {
      ws->out_offset = 0;
      ws->out_queued -= len;
      g_bytes_unref (g_queue_pop_head (&ws->out));
    }
  }
  /* our close went out and the peer's came in: done */
  if (ws->state == EH_WS_CLOSING && ws->peer_closed)
    eh_websocket_finish (ws, ws->close_reason);
  else
    eh_websocket_check_drained (ws);
}

void
eh_websocket_send (EhWebsocket *ws, GBytes *message)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);

  if (ws->state != EH_WS_OPEN)
    return;
  eh_websocket_queue (ws, EH_WS_OP_BINARY, data, len);
}

void
eh_websocket_send_variant (EhWebsocket *ws, GVariant *message)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (message);
  gsize len = g_variant_get_size (owned);
  guint8 *payload;
  GBytes *frame;

  if (ws->state != EH_WS_OPEN)
    return;
  /* serialized once, straight into the frame */
  frame = eh_websocket_frame_new (ws, EH_WS_OP_BINARY, len, &payload);
  g_variant_store (owned, payload);
  eh_websocket_frame_seal (ws, payload, len);
  eh_websocket_queue_frame (ws, frame);
}

void
eh_websocket_notify_drained (EhWebsocket *ws, gsize below, EhWebsocketDrainedFunc func, gpointer user_data)
{
  ws->drain_below = MAX (below, 1);
  ws->drained_func = func;
  ws->drained_data = user_data;
}

static gboolean
eh_websocket_close_waited (gpointer data)
{
  EhWebsocket *ws = data;

  g_clear_pointer (&ws->close_wait, g_source_unref);
  eh_websocket_finish (ws, ws->close_reason);
  return G_SOURCE_REMOVE;
}

void
eh_websocket_close (EhWebsocket *ws, guint16 code, const char *reason)
{
  guint8 payload[125];
  gsize len = 2;

  if (ws->state != EH_WS_OPEN)
    return;
  ws->state = EH_WS_CLOSING;
  ws->close_reason = g_strdup (reason);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  if (reason != NULL) {
    /* the reason in the frame is cut to fit; only ASCII is sent, so it stays UTF-8 */
    for (const char *p = reason; *p != '\0' && len < sizeof payload; p++)
      payload[len++] = g_ascii_isprint (*p) ? *p : '?';
  }
  ws->close_wait = g_timeout_source_new (EH_WS_CLOSE_WAIT_MS);
  g_source_set_callback (ws->close_wait, eh_websocket_close_waited, ws, NULL);
  g_source_attach (ws->close_wait, g_main_context_get_thread_default ());
  eh_websocket_queue (ws, EH_WS_OP_CLOSE, payload, len);
}

/* ── reading ────────────────────────────────────────────────────────── */

static void
eh_websocket_fail (EhWebsocket *ws, guint16 code, const char *reason)
{
  g_info ("bus link: closing: %s", reason);
  if (ws->state == EH_WS_OPEN)
    eh_websocket_close (ws, code, reason);
  else
    eh_websocket_finish (ws, reason);
}

static void
eh_websocket_got_close (EhWebsocket *ws, const guint8 *data, gsize len)
{
  g_autofree char *reason = NULL;

  ws->peer_closed = TRUE;
  if (len == 1) {
    eh_websocket_fail (ws, 1002, "a close frame of one byte");
    return;
  }
  if (len >= 2) {
    g_autofree char *text = g_utf8_make_valid ((const char *) data + 2, len - 2);

    reason = g_strdup_printf ("the peer closed the link (%u%s%s)", (data[0] << 8) | data[1],
                              text[0] != '\0' ? ": " : "", text);
  } else {
    reason = g_strdup ("the peer closed the link");
  }
  if (ws->state == EH_WS_OPEN) {
    /* answer with the same code, then we are done once it is written */
    ws->state = EH_WS_CLOSING;
    ws->close_reason = g_strdup (reason);
    ws->close_wait = g_timeout_source_new (EH_WS_CLOSE_WAIT_MS);
    g_source_set_callback (ws->close_wait, eh_websocket_close_waited, ws, NULL);
    g_source_attach (ws->close_wait, g_main_context_get_thread_default ());
    eh_websocket_queue (ws, EH_WS_OP_CLOSE, data, MIN (len, 2));
  } else {
    eh_websocket_flush (ws);
  }
}

/* a whole frame came in; @payload is its unmasked data */
static void
eh_websocket_got_frame (EhWebsocket *ws, guint8 opcode, gboolean fin, GBytes *payload)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (payload, &len);
  g_autoptr (GBytes) message = NULL;

  switch (opcode) {
  case EH_WS_OP_PING:
    if (ws->state == EH_WS_OPEN)
      eh_websocket_queue (ws, EH_WS_OP_PONG, data, len);
    return;
  case EH_WS_OP_PONG:
    return;
  case EH_WS_OP_CLOSE:
    eh_websocket_got_close (ws, data, len);
    return;
  default:
    break;
  }
  ws->fragmenting = !fin;
  if (fin && ws->message->len == 0) {
    /* the usual case, one frame: its payload is the message, as it is */
    message = g_bytes_ref (payload);
  } else {
    g_byte_array_append (ws->message, data, len);
    if (!fin)
      return;
    message = g_byte_array_free_to_bytes (g_steal_pointer (&ws->message));
    ws->message = g_byte_array_new ();
  }
  if (ws->state == EH_WS_OPEN && ws->message_func != NULL)
    ws->message_func (ws, message, ws->user_data);
}

/* the long frame being read straight into its buffer is complete */
static gboolean
eh_websocket_payload_done (EhWebsocket *ws)
{
  g_autoptr (GBytes) payload = NULL;

  if (ws->payload_masked)
    eh_websocket_apply_mask (ws->payload, ws->payload_len, ws->payload_mask);
  payload = eh_ws_buffer_wrap (ws, ws->payload, ws->payload_len, ws->payload, ws->payload_len);
  ws->payload = NULL;
  ws->payload_len = ws->payload_have = 0;
  eh_websocket_got_frame (ws, ws->payload_opcode, ws->payload_fin, payload);
  return ws->state != EH_WS_CLOSED;
}

/* parses one frame from ws->in; FALSE when more bytes are needed or it failed */
static gboolean
eh_websocket_parse_one (EhWebsocket *ws)
{
  const guint8 *p = ws->in->data;
  gsize have = ws->in->len;
  gsize head = 2;
  guint64 len;
  guint8 opcode;
  gboolean fin, masked;

  if (have < 2)
    return FALSE;
  fin = (p[0] & 0x80) != 0;
  opcode = p[0] & 0x0f;
  masked = (p[1] & 0x80) != 0;
  len = p[1] & 0x7f;
  if ((p[0] & 0x70) != 0) {
    eh_websocket_fail (ws, 1002, "reserved bits set");
    return FALSE;
  }
  if (masked != ws->is_server) {
    eh_websocket_fail (ws, 1002, ws->is_server ? "an unmasked client frame" : "a masked server frame");
    return FALSE;
  }
  if (len == 126) {
    if (have < 4)
      return FALSE;
    len = (p[2] << 8) | p[3];
    head = 4;
    if (len < 126) {
      eh_websocket_fail (ws, 1002, "a length not in its shortest form");
      return FALSE;
    }
  } else if (len == 127) {
    if (have < 10)
      return FALSE;
    len = 0;
    for (int i = 2; i < 10; i++)
      len = (len << 8) | p[i];
    head = 10;
    if (len <= 0xffff || (len >> 63) != 0) {
      eh_websocket_fail (ws, 1002, "a length not in its shortest form");
      return FALSE;
    }
  }
  if (masked)
    head += 4;
  if ((opcode & 0x8) != 0) {
    if (opcode != EH_WS_OP_CLOSE && opcode != EH_WS_OP_PING && opcode != EH_WS_OP_PONG) {
      eh_websocket_fail (ws, 1002, "an unknown control opcode");
      return FALSE;
    }
    if (!fin || len > 125) {
      eh_websocket_fail (ws, 1002, "a fragmented or long control frame");
      return FALSE;
    }
  } else if (opcode == EH_WS_OP_TEXT) {
    eh_websocket_fail (ws, 1003, "text messages are not spoken here");
    return FALSE;
  } else if (opcode != EH_WS_OP_BINARY && opcode != EH_WS_OP_CONTINUATION) {
    eh_websocket_fail (ws, 1002, "an unknown data opcode");
    return FALSE;
  } else if ((opcode == EH_WS_OP_CONTINUATION) != ws->fragmenting) {
    eh_websocket_fail (ws, 1002, "fragments out of order");
    return FALSE;
  } else if (len > ws->max_message || ws->message->len + len > ws->max_message) {
    /* checked on the header, so an oversized message is never buffered */
    eh_websocket_fail (ws, 1009, "a message over the size cap");
    return FALSE;
  }
  if (have < head)
    return FALSE;
  if (have < head + len && len >= EH_WS_DIRECT_MIN) {
    /* a long data frame: the rest of it is read into its own buffer */
    ws->payload = eh_ws_buffer_new (ws, len);
    ws->payload_len = len;
    ws->payload_have = have - head;
    ws->payload_opcode = opcode;
    ws->payload_fin = fin;
    ws->payload_masked = masked;
    if (masked)
      memcpy (ws->payload_mask, p + head - 4, 4);
    memcpy (ws->payload, p + head, ws->payload_have);
    g_byte_array_set_size (ws->in, 0);
    return FALSE;
  }
  if (have < head + len)
    return FALSE;
  if (masked)
    eh_websocket_apply_mask (ws->in->data + head, len, ws->in->data + head - 4);
  {
    /* the frame leaves the buffer before the handler runs (it may send) */
    g_autoptr (GBytes) payload = g_bytes_new (ws->in->data + head, len);

    g_byte_array_remove_range (ws->in, 0, head + len);
    eh_websocket_got_frame (ws, opcode, fin, payload);
  }
  return ws->state != EH_WS_CLOSED;
}

/* reads what is there: into the long frame's buffer, or after what is unparsed */
static gssize
eh_websocket_read_some (EhWebsocket *ws, GError **error)
{
  gsize old = ws->in->len;
  gssize n;

  if (ws->payload != NULL)
    return g_pollable_input_stream_read_nonblocking (ws->input, ws->payload + ws->payload_have,
                                                     ws->payload_len - ws->payload_have, NULL, error);
  g_byte_array_set_size (ws->in, old + EH_WS_READ_CHUNK);
  n = g_pollable_input_stream_read_nonblocking (ws->input, ws->in->data + old, EH_WS_READ_CHUNK, NULL, error);
  g_byte_array_set_size (ws->in, old + MAX (n, 0));
  return n;
}

static gboolean
eh_websocket_readable (GObject *stream, gpointer data)
{
  EhWebsocket *ws = data;

  g_clear_pointer (&ws->read_source, g_source_unref);
  eh_websocket_ref (ws);
  /* bytes handed over with the upgrade come first */
  while (ws->payload == NULL && eh_websocket_parse_one (ws))
    ;
  while (ws->state != EH_WS_CLOSED) {
    g_autoptr (GError) error = NULL;
    gssize n = eh_websocket_read_some (ws, &error);

    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      eh_websocket_watch_input (ws);
      break;
    }
    if (n <= 0) {
      eh_websocket_finish (ws, n == 0 ? "the peer hung up" : error->message);
      break;
    }
    ws->last_read = g_get_monotonic_time ();
    if (ws->payload != NULL) {
      ws->payload_have += n;
      if (ws->payload_have < ws->payload_len || !eh_websocket_payload_done (ws))
        continue;
    }
    while (ws->payload == NULL && eh_websocket_parse_one (ws))
      ;
  }
  eh_websocket_unref (ws);
  return G_SOURCE_REMOVE;
}

static gboolean
eh_websocket_kick (gpointer data)
{
  return eh_websocket_readable (NULL, data);
}

/* a fresh source each time: a TLS stream with decrypted records pending
 * picks a different wake-up than one waiting on its socket */
static void
eh_websocket_watch_input (EhWebsocket *ws)
{
  if (ws->read_source != NULL || ws->state == EH_WS_CLOSED)
    return;
  ws->read_source = g_pollable_input_stream_create_source (ws->input, NULL);
  g_source_set_callback (ws->read_source, G_SOURCE_FUNC (eh_websocket_readable), ws, NULL);
  g_source_attach (ws->read_source, g_main_context_get_thread_default ());
}

static gboolean
eh_websocket_tick (gpointer data)
{
  EhWebsocket *ws = data;

  if (g_get_monotonic_time () - ws->last_read > EH_WS_SILENCE_LIMIT_S * G_USEC_PER_SEC) {
    eh_websocket_fail (ws, 1001, "the peer went silent");
    return G_SOURCE_CONTINUE;
  }
  if (ws->state == EH_WS_OPEN)
    eh_websocket_queue (ws, EH_WS_OP_PING, NULL, 0);
  return G_SOURCE_CONTINUE;
}

EhWebsocket *
eh_websocket_new (GIOStream *stream, gboolean is_server, gsize max_message, GBytes *initial,
                  EhWebsocketMessageFunc message, EhWebsocketClosedFunc closed, gpointer user_data)
{
  EhWebsocket *ws = g_new0 (EhWebsocket, 1);

  ws->ref_count = 1;
  ws->spares = g_new0 (EhWsSpares, 1);
  ws->spares->ref_count = 1;
  ws->spares->buffers = g_ptr_array_new_with_free_func (g_free);
  ws->stream = g_object_ref (stream);
  ws->input = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  ws->output = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
  ws->is_server = is_server;
  ws->max_message = max_message;
  ws->in = g_byte_array_new ();
  ws->message = g_byte_array_new ();
  g_queue_init (&ws->out);
  ws->message_func = message;
  ws->closed_func = closed;
  ws->user_data = user_data;
  ws->last_read = g_get_monotonic_time ();
  ws->timer = g_timeout_source_new_seconds (EH_WS_PING_INTERVAL_S);
  g_source_set_callback (ws->timer, eh_websocket_tick, ws, NULL);
  g_source_attach (ws->timer, g_main_context_get_thread_default ());
  if (initial != NULL && g_bytes_get_size (initial) > 0) {
    /* parsed from the main loop, so the owner has the object before any callback */
    g_byte_array_append (ws->in, g_bytes_get_data (initial, NULL), g_bytes_get_size (initial));
  }
  /* a zero timeout first: bytes may already wait inside the TLS layer */
  ws->read_source = g_timeout_source_new (0);
  g_source_set_callback (ws->read_source, eh_websocket_kick, ws, NULL);
  g_source_attach (ws->read_source, g_main_context_get_thread_default ());
  return ws;
}

char *
eh_websocket_make_key (void)
{
  guint8 nonce[16];

  gnutls_rnd (GNUTLS_RND_NONCE, nonce, sizeof nonce);
  return g_base64_encode (nonce, sizeof nonce);
}

char *
eh_websocket_accept_for_key (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) EH_WEBSOCKET_GUID, -1);
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

const char *
eh_websocket_check_upgrade (SoupMessageHeaders *headers, const char *subprotocol)
{
  const char *key = soup_message_headers_get_one (headers, "Sec-WebSocket-Key");
  const char *version = soup_message_headers_get_one (headers, "Sec-WebSocket-Version");
  gsize key_len = 0;
  g_autofree guchar *decoded = NULL;

  if (!soup_message_headers_header_contains (headers, "Upgrade", "websocket") ||
      !soup_message_headers_header_contains (headers, "Connection", "Upgrade"))
    return "not a WebSocket upgrade";
  if (g_strcmp0 (version, "13") != 0)
    return "Sec-WebSocket-Version must be 13";
  if (key == NULL || strlen (key) != 24)
    return "Sec-WebSocket-Key must be 16 bytes in base64";
  decoded = g_base64_decode (key, &key_len);
  if (key_len != 16)
    return "Sec-WebSocket-Key must be 16 bytes in base64";
  if (!soup_message_headers_header_contains (headers, "Sec-WebSocket-Protocol", subprotocol))
    return "Sec-WebSocket-Protocol must offer the subprotocol spoken here";
  if (soup_message_headers_get_one (headers, "Sec-WebSocket-Extensions") != NULL)
    return "no WebSocket extensions are spoken here";
  return NULL;
}

gsize
eh_websocket_get_queued (EhWebsocket *ws)
{
  return ws->out_queued;
}
