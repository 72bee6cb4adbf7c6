/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "eh-websocket.h"

/*
 * EhWebsocket over a socket pair: messages of every length class cross
 * both ways intact (masked from the client, long frames read into their
 * own buffer, fragments joined), GVariants serialized into their frame, and
 * a sender that waits for the queue to drain hears of it once, when it has.
 */

#define MAX_MESSAGE (2 * 1024 * 1024)

typedef struct {
  GPtrArray *received; /* GBytes */
  gsize received_bytes;
  gboolean closed;
  guint drained;
  gsize queued_when_drained;
} Side;

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->received, g_ptr_array_unref);
}

static void
on_message (EhWebsocket *ws, GBytes *message, gpointer user_data)
{
  Side *side = user_data;

  side->received_bytes += g_bytes_get_size (message);
  g_ptr_array_add (side->received, g_bytes_ref (message));
}

static void
on_closed (EhWebsocket *ws, const char *reason, gpointer user_data)
{
  Side *side = user_data;

  side->closed = TRUE;
}

static void
on_drained (EhWebsocket *ws, gpointer user_data)
{
  Side *side = user_data;

  side->drained++;
  side->queued_when_drained = eh_websocket_get_queued (ws);
}

static void
socket_pair (GIOStream **a, GIOStream **b)
{
  int fds[2];
  g_autoptr (GSocket) sa = NULL;
  g_autoptr (GSocket) sb = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  sa = g_socket_new_from_fd (fds[0], NULL);
  sb = g_socket_new_from_fd (fds[1], NULL);
  g_assert_nonnull (sa);
  g_assert_nonnull (sb);
  *a = G_IO_STREAM (g_socket_connection_factory_create_connection (sa));
  *b = G_IO_STREAM (g_socket_connection_factory_create_connection (sb));
}

/* @len bytes of a pattern that differs with @seed, so a shifted or mixed-up message shows */
static GBytes *
pattern (gsize len, guint seed)
{
  guint8 *data = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (i * 31 + seed * 7 + (i >> 8));
  return g_bytes_new_take (data, len);
}

static void
run_until (gboolean *done)
{
  while (!*done)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
all_received (Side *side, guint count)
{
  return side->received->len >= count;
}

static void
drain_until (Side *side, guint count)
{
  while (!all_received (side, count))
    g_main_context_iteration (NULL, TRUE);
}

static const gsize lengths[] = { 0, 1, 125, 126, 65535, 65536, 16383, 16384, 20000, 300000, 1024 * 1024 };

static void
test_messages_both_ways (void)
{
  g_autoptr (GIOStream) a = NULL;
  g_autoptr (GIOStream) b = NULL;
  Side client = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  Side server = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  EhWebsocket *cws, *sws;
  g_autoptr (GBytes) big = pattern (200000, 99);
  g_autoptr (GVariant) variant = NULL;

  socket_pair (&a, &b);
  cws = eh_websocket_new (a, FALSE, MAX_MESSAGE, NULL, on_message, on_closed, &client);
  sws = eh_websocket_new (b, TRUE, MAX_MESSAGE, NULL, on_message, on_closed, &server);
  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++) {
    g_autoptr (GBytes) up = pattern (lengths[i], i);
    g_autoptr (GBytes) down = pattern (lengths[i], i + 100);

    eh_websocket_send (cws, up);
    eh_websocket_send (sws, down);
  }
  variant = g_variant_ref_sink (g_variant_new ("(yu@a{sv}@ay)", 4, 7, g_variant_new ("a{sv}", NULL),
                                               g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, big, TRUE)));
  eh_websocket_send_variant (cws, g_variant_ref (variant));
  drain_until (&server, G_N_ELEMENTS (lengths) + 1);
  drain_until (&client, G_N_ELEMENTS (lengths));
  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++) {
    g_autoptr (GBytes) up = pattern (lengths[i], i);
    g_autoptr (GBytes) down = pattern (lengths[i], i + 100);

    g_assert_true (g_bytes_equal (g_ptr_array_index (server.received, i), up));
    g_assert_true (g_bytes_equal (g_ptr_array_index (client.received, i), down));
  }
  {
    GBytes *got = g_ptr_array_index (server.received, G_N_ELEMENTS (lengths));
    g_autoptr (GBytes) want = g_variant_get_data_as_bytes (variant);

    g_assert_true (g_bytes_equal (got, want));
  }
  g_assert_false (client.closed || server.closed);
  eh_websocket_free (cws);
  eh_websocket_free (sws);
  side_clear (&client);
  side_clear (&server);
}

/* one client frame, masked, as a peer would write it */
static GByteArray *
client_frame (guint8 opcode, gboolean fin, GBytes *payload)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (payload, &len);
  GByteArray *frame = g_byte_array_new ();
  guint8 head[14];
  gsize n = 0;
  const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };

  head[n++] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) {
    head[n++] = 0x80 | len;
  } else if (len <= 0xffff) {
    head[n++] = 0x80 | 126;
    head[n++] = len >> 8;
    head[n++] = len & 0xff;
  } else {
    head[n++] = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8)
      head[n++] = ((guint64) len >> shift) & 0xff;
  }
  memcpy (head + n, mask, 4);
  n += 4;
  g_byte_array_append (frame, head, n);
  for (gsize i = 0; i < len; i++) {
    guint8 byte = data[i] ^ mask[i % 4];

    g_byte_array_append (frame, &byte, 1);
  }
  return frame;
}

static void
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);

    if (n < 0) {
      /* the socket buffer is full: let the reader take some */
      g_main_context_iteration (NULL, FALSE);
      continue;
    }
    data += n;
    len -= n;
  }
}

/* lets the reader take everything written so far */
static void
settle (void)
{
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
test_frames_in_pieces_and_fragments (void)
{
  int fds[2];
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GIOStream) stream = NULL;
  Side server = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  EhWebsocket *sws;
  g_autoptr (GBytes) first = pattern (20000, 1);
  g_autoptr (GBytes) second = pattern (100, 2);
  g_autoptr (GBytes) long_one = pattern (300000, 3);
  g_autoptr (GBytes) short_one = pattern (10, 4);
  g_autoptr (GByteArray) f1 = client_frame (0x2, FALSE, first);
  g_autoptr (GByteArray) f2 = client_frame (0x0, TRUE, second);
  g_autoptr (GByteArray) f3 = client_frame (0x2, TRUE, long_one);
  g_autoptr (GByteArray) f4 = client_frame (0x2, TRUE, short_one);
  g_autoptr (GByteArray) joined = g_byte_array_new ();

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  g_assert_true (g_unix_set_fd_nonblocking (fds[0], TRUE, NULL));
  socket = g_socket_new_from_fd (fds[1], NULL);
  stream = G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
  sws = eh_websocket_new (stream, TRUE, MAX_MESSAGE, NULL, on_message, on_closed, &server);
  /* a long first fragment, its head and a few bytes first, then the rest */
  write_all (fds[0], f1->data, 20);
  settle ();
  write_all (fds[0], f1->data + 20, f1->len - 20);
  write_all (fds[0], f2->data, f2->len);
  /* a long frame in small pieces, the next frame right behind its last piece */
  for (gsize off = 0; off < f3->len; off += 7000) {
    write_all (fds[0], f3->data + off, MIN (7000, f3->len - off));
    settle ();
  }
  write_all (fds[0], f4->data, f4->len);
  drain_until (&server, 3);
  g_byte_array_append (joined, g_bytes_get_data (first, NULL), 20000);
  g_byte_array_append (joined, g_bytes_get_data (second, NULL), 100);
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (server.received, 0)), ==, joined->len);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (server.received, 0), NULL), joined->len, joined->data,
                   joined->len);
  g_assert_true (g_bytes_equal (g_ptr_array_index (server.received, 1), long_one));
  g_assert_true (g_bytes_equal (g_ptr_array_index (server.received, 2), short_one));
  g_assert_false (server.closed);

  /* a frame announcing more than the cap is refused on its head: 1009 and closed */
  {
    const guint8 oversized[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0x30, 0, 0, 1, 2, 3, 4 };
    guint8 answer[64];
    ssize_t n;

    write_all (fds[0], oversized, sizeof oversized);
    run_until (&server.closed);
    n = read (fds[0], answer, sizeof answer);
    g_assert_cmpint (n, >=, 4);
    g_assert_cmpuint (answer[0], ==, 0x88);
    g_assert_cmpuint ((answer[2] << 8) | answer[3], ==, 1009);
  }
  eh_websocket_free (sws);
  close (fds[0]);
  side_clear (&server);
}

static void
test_drained_once_when_drained (void)
{
  g_autoptr (GIOStream) a = NULL;
  g_autoptr (GIOStream) b = NULL;
  Side client = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  Side server = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref) };
  g_autoptr (GBytes) chunk = pattern (64 * 1024, 5);
  EhWebsocket *cws, *sws;
  guint sent = 0;

  socket_pair (&a, &b);
  cws = eh_websocket_new (a, FALSE, MAX_MESSAGE, NULL, on_message, on_closed, &client);
  /* nobody reads yet: what the socket does not take queues */
  while (eh_websocket_get_queued (cws) <= 1024 * 1024) {
    eh_websocket_send (cws, chunk);
    sent++;
  }
  eh_websocket_notify_drained (cws, 256 * 1024, on_drained, &client);
  settle ();
  g_assert_cmpuint (client.drained, ==, 0);
  /* a reader comes: the queue drains, and the waiter hears of it once */
  sws = eh_websocket_new (b, TRUE, MAX_MESSAGE, NULL, on_message, on_closed, &server);
  while (client.drained == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (client.queued_when_drained, <=, 256 * 1024);
  drain_until (&server, sent);
  g_assert_cmpuint (client.drained, ==, 1);
  g_assert_cmpuint (server.received_bytes, ==, (gsize) sent * 64 * 1024);
  g_assert_cmpuint (eh_websocket_get_queued (cws), ==, 0);
  eh_websocket_free (cws);
  eh_websocket_free (sws);
  side_clear (&client);
  side_clear (&server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/websocket/messages-both-ways", test_messages_both_ways);
  g_test_add_func ("/eh/websocket/frames-in-pieces-and-fragments", test_frames_in_pieces_and_fragments);
  g_test_add_func ("/eh/websocket/drained-once-when-drained", test_drained_once_when_drained);
  return g_test_run ();
}
