/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "eh-error.h"
#include "eh-tls-stream-private.h"

struct _EhTlsServerParams {
  gint ref_count;
  gnutls_certificate_credentials_t credentials;
  gnutls_priority_t priority;          /* (unowned) lives as long as the process */
  const gnutls_datum_t *ticket_key;    /* (unowned) likewise */
};

EhTlsServerParams *
eh_tls_server_params_new (gnutls_certificate_credentials_t credentials, gnutls_priority_t priority,
                          const gnutls_datum_t *ticket_key)
{
  EhTlsServerParams *params = g_new0 (EhTlsServerParams, 1);

  params->ref_count = 1;
  params->credentials = credentials;
  params->priority = priority;
  params->ticket_key = ticket_key;
  return params;
}

EhTlsServerParams *
eh_tls_server_params_ref (EhTlsServerParams *params)
{
  params->ref_count++;
  return params;
}

void
eh_tls_server_params_unref (EhTlsServerParams *params)
{
  if (params == NULL || --params->ref_count > 0)
    return;
  gnutls_certificate_free_credentials (params->credentials);
  g_free (params);
}

/* ── the streams ────────────────────────────────────────────────────── */

#define EH_TYPE_TLS_INPUT (eh_tls_input_get_type ())
G_DECLARE_FINAL_TYPE (EhTlsInput, eh_tls_input, EH, TLS_INPUT, GInputStream)
#define EH_TYPE_TLS_OUTPUT (eh_tls_output_get_type ())
G_DECLARE_FINAL_TYPE (EhTlsOutput, eh_tls_output, EH, TLS_OUTPUT, GOutputStream)

struct _EhTlsStream {
  GIOStream parent_instance;
  GSocketConnection *socket_conn;
  GSocket *socket;
  gnutls_session_t session;
  EhTlsServerParams *params;
  GInputStream *input;
  GOutputStream *output;
  int fd;
  /* ciphertext the socket has not taken yet, oldest first: a write gathers
   * its records here and they leave in one send(); what the socket refuses
   * waits, and goes before anything else */
  guint8 *out;
  gsize out_len;
  gsize out_sent;
  gsize out_size;
  gboolean handshaken;
  gboolean gathering; /* inside a write: records are kept, not sent one by one */
  gsize out_plain;    /* the writer's bytes in @out, reported written once they left */
  GSource *handshake_source;
  GTlsCertificate *peer_certificate; /* the client's leaf, when it sent one */
  EhTlsHandshakeDone handshake_done;
  gpointer handshake_data;
};

struct _EhTlsInput {
  GInputStream parent_instance;
  EhTlsStream *tls; /* (unowned) the stream owns us */
};

struct _EhTlsOutput {
  GOutputStream parent_instance;
  EhTlsStream *tls;
};

static void eh_tls_input_pollable_init (GPollableInputStreamInterface *iface);
static void eh_tls_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (EhTlsInput, eh_tls_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      eh_tls_input_pollable_init))
G_DEFINE_FINAL_TYPE_WITH_CODE (EhTlsOutput, eh_tls_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      eh_tls_output_pollable_init))
G_DEFINE_FINAL_TYPE (EhTlsStream, eh_tls_stream, G_TYPE_IO_STREAM)

static gboolean
eh_tls_would_block (int rc)
{
  return rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
}

static gssize
eh_tls_fail (int rc, GError **error)
{
  if (eh_tls_would_block (rc))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "TLS would block");
  else if (rc == GNUTLS_E_REHANDSHAKE)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "TLS renegotiation refused");
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "TLS: %s", gnutls_strerror (rc));
  return -1;
}

static gssize
eh_tls_input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count,
                               GError **error)
{
  EhTlsStream *tls = EH_TLS_INPUT (stream)->tls;
  gssize rc = gnutls_record_recv (tls->session, buffer, count);

  if (rc >= 0)
    return rc;
  /* a peer that just hangs up is an end of stream, as for plain TCP */
  if (rc == GNUTLS_E_PREMATURE_TERMINATION)
    return 0;
  return eh_tls_fail (rc, error);
}

static gboolean
eh_tls_input_is_readable (GPollableInputStream *stream)
{
  EhTlsStream *tls = EH_TLS_INPUT (stream)->tls;

  return gnutls_record_check_pending (tls->session) > 0 ||
         g_socket_condition_check (tls->socket, G_IO_IN) != 0;
}

static GSource *
eh_tls_input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  EhTlsStream *tls = EH_TLS_INPUT (stream)->tls;
  g_autoptr (GSource) child = NULL;

  /* records already decrypted inside GnuTLS never wake the socket again */
  if (gnutls_record_check_pending (tls->session) > 0)
    child = g_timeout_source_new (0);
  else
    child = g_socket_create_source (tls->socket, G_IO_IN, NULL);
  return g_pollable_source_new_full (stream, child, cancellable);
}

static gboolean
eh_tls_can_poll (gpointer stream)
{
  return TRUE;
}

static void
eh_tls_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = (gboolean (*) (GPollableInputStream *)) eh_tls_can_poll;
  iface->is_readable = eh_tls_input_is_readable;
  iface->create_source = eh_tls_input_create_source;
  iface->read_nonblocking = eh_tls_input_read_nonblocking;
}

static gssize
eh_tls_input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                   GError **error)
{
  EhTlsStream *tls = EH_TLS_INPUT (stream)->tls;

  for (;;) {
    g_autoptr (GError) local_error = NULL;
    gssize n = eh_tls_input_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream), buffer, count,
                                              &local_error);

    if (n >= 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return n;
    }
    if (!g_socket_condition_wait (tls->socket, G_IO_IN, cancellable, error))
      return -1;
  }
}

static gboolean
eh_tls_substream_close (gpointer stream, GCancellable *cancellable, GError **error)
{
  return TRUE; /* the TLS stream closes the connection */
}

static void
eh_tls_input_class_init (EhTlsInputClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = eh_tls_input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn =
      (gboolean (*) (GInputStream *, GCancellable *, GError **)) eh_tls_substream_close;
}

static void
eh_tls_input_init (EhTlsInput *input)
{
}

/* up to EH_TLS_GATHER bytes of a write become records in one send(); the
 * writer hears of them once they all left, so a connection closed after a
 * response never drops its end, and a write it repeats (as GIO writers do
 * after "would block") is answered from what waits */
#define EH_TLS_GATHER (256 * 1024)
/* room for the records of a gathered write at once (a TLS 1.3 record adds
 * 22 bytes to 16 KiB), so gathering never moves what it already has */
#define EH_TLS_OUT_SIZE (EH_TLS_GATHER + (EH_TLS_GATHER / 16384 + 1) * 64)
/* buffers kept for the next writes: one malloc'ed afresh for each would be
 * given back to the system and faulted in again, page by page */
#define EH_TLS_SPARE_MAX 16

G_LOCK_DEFINE_STATIC (eh_tls_spare);
static gpointer eh_tls_spare[EH_TLS_SPARE_MAX];
static guint eh_tls_spare_count;

static guint8 *
eh_tls_out_new (void)
{
  gpointer out = NULL;

  G_LOCK (eh_tls_spare);
  if (eh_tls_spare_count > 0)
    out = eh_tls_spare[--eh_tls_spare_count];
  G_UNLOCK (eh_tls_spare);
  return out != NULL ? out : g_malloc (EH_TLS_OUT_SIZE);
}

static void
eh_tls_stream_drop_out (EhTlsStream *tls)
{
  gpointer out = g_steal_pointer (&tls->out);

  if (out != NULL && tls->out_size == EH_TLS_OUT_SIZE) {
    G_LOCK (eh_tls_spare);
    if (eh_tls_spare_count < EH_TLS_SPARE_MAX)
      eh_tls_spare[eh_tls_spare_count++] = g_steal_pointer (&out);
    G_UNLOCK (eh_tls_spare);
  }
  g_free (out);
  tls->out_len = tls->out_sent = tls->out_size = 0;
}

/* sends what waits in @out; FALSE with G_IO_ERROR_WOULD_BLOCK while the
 * socket is full, or with the socket's error */
static gboolean
eh_tls_stream_flush (EhTlsStream *tls, GError **error)
{
  while (tls->out_sent < tls->out_len) {
    gssize n = send (tls->fd, tls->out + tls->out_sent, tls->out_len - tls->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "TLS send: %s", g_strerror (saved));
      return FALSE;
    }
    tls->out_sent += n;
  }
  /* an idle connection holds no buffer (4,000 downloads at once) */
  eh_tls_stream_drop_out (tls);
  return TRUE;
}

static void
eh_tls_stream_keep (EhTlsStream *tls, const giovec_t *iov, int iovcnt, gsize skip)
{
  for (int i = 0; i < iovcnt; i++) {
    gsize take = iov[i].iov_len > skip ? iov[i].iov_len - skip : 0;

    if (take == 0) {
      skip -= iov[i].iov_len;
      continue;
    }
    if (tls->out_len + take > tls->out_size) {
      tls->out_size = MAX (tls->out_len + take, tls->out_size * 2);
      tls->out = g_realloc (tls->out, tls->out_size);
    }
    memcpy (tls->out + tls->out_len, (const guint8 *) iov[i].iov_base + skip, take);
    tls->out_len += take;
    skip = 0;
  }
}

/* GnuTLS's way out: never "try again" (so GnuTLS never holds a record
 * half sent); while a write gathers, or bytes already wait, the record
 * joins @out; otherwise it goes now, and what the socket refuses waits */
static ssize_t
eh_tls_stream_push (gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
  EhTlsStream *tls = ptr;
  gsize total = 0;
  gssize sent = 0;

  for (int i = 0; i < iovcnt; i++)
    total += iov[i].iov_len;
  if (!tls->gathering && tls->out_len == 0) {
    struct msghdr msg = { .msg_iov = (struct iovec *) iov, .msg_iovlen = iovcnt };

    do
      sent = sendmsg (tls->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (sent < 0 && errno == EINTR);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      gnutls_transport_set_errno (tls->session, errno);
      return -1;
    }
  }
  eh_tls_stream_keep (tls, iov, iovcnt, MAX (sent, 0));
  return total;
}

static ssize_t
eh_tls_stream_pull (gnutls_transport_ptr_t ptr, void *data, size_t size)
{
  EhTlsStream *tls = ptr;
  ssize_t n;

  do
    n = recv (tls->fd, data, size, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    gnutls_transport_set_errno (tls->session, errno);
  return n;
}

static int
eh_tls_stream_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  EhTlsStream *tls = ptr;
  struct pollfd pfd = { tls->fd, POLLIN, 0 };

  return poll (&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int) ms);
}

static gssize
eh_tls_output_write_nonblocking (GPollableOutputStream *stream, const void *buffer, gsize count,
                                 GError **error)
{
  EhTlsStream *tls = EH_TLS_OUTPUT (stream)->tls;
  gsize gather = MIN (count, EH_TLS_GATHER), done = 0;
  gssize rc = 0;

  if (!eh_tls_stream_flush (tls, error))
    return -1;
  if (tls->out_plain > 0) {
    done = MIN (tls->out_plain, count);
    tls->out_plain = 0;
    return done;
  }
  if (tls->out == NULL) {
    tls->out_size = EH_TLS_OUT_SIZE;
    tls->out = eh_tls_out_new ();
  }
  tls->gathering = TRUE;
  while (done < gather && (rc = gnutls_record_send (tls->session, (const guint8 *) buffer + done, gather - done)) > 0)
    done += rc;
  tls->gathering = FALSE;
  if (done == 0 && rc < 0)
    return eh_tls_fail (rc, error);
  if (eh_tls_stream_flush (tls, error))
    return done;
  tls->out_plain = done;
  return -1;
}

static gboolean
eh_tls_output_is_writable (GPollableOutputStream *stream)
{
  return g_socket_condition_check (EH_TLS_OUTPUT (stream)->tls->socket, G_IO_OUT) != 0;
}

static GSource *
eh_tls_output_create_source (GPollableOutputStream *stream, GCancellable *cancellable)
{
  g_autoptr (GSource) child = g_socket_create_source (EH_TLS_OUTPUT (stream)->tls->socket, G_IO_OUT, NULL);

  return g_pollable_source_new_full (stream, child, cancellable);
}

static void
eh_tls_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = (gboolean (*) (GPollableOutputStream *)) eh_tls_can_poll;
  iface->is_writable = eh_tls_output_is_writable;
  iface->create_source = eh_tls_output_create_source;
  iface->write_nonblocking = eh_tls_output_write_nonblocking;
}

static gssize
eh_tls_output_write (GOutputStream *stream, const void *buffer, gsize count,
                     GCancellable *cancellable, GError **error)
{
  EhTlsStream *tls = EH_TLS_OUTPUT (stream)->tls;

  for (;;) {
    g_autoptr (GError) local_error = NULL;
    gssize n = eh_tls_output_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (stream), buffer, count,
                                                &local_error);

    if (n >= 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return n;
    }
    if (!g_socket_condition_wait (tls->socket, G_IO_OUT, cancellable, error))
      return -1;
  }
}

static void
eh_tls_output_class_init (EhTlsOutputClass *klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = eh_tls_output_write;
  G_OUTPUT_STREAM_CLASS (klass)->close_fn =
      (gboolean (*) (GOutputStream *, GCancellable *, GError **)) eh_tls_substream_close;
}

static void
eh_tls_output_init (EhTlsOutput *output)
{
}

/* ── the connection ─────────────────────────────────────────────────── */

static GInputStream *
eh_tls_stream_get_input_stream (GIOStream *stream)
{
  return EH_TLS_STREAM (stream)->input;
}

static GOutputStream *
eh_tls_stream_get_output_stream (GIOStream *stream)
{
  return EH_TLS_STREAM (stream)->output;
}

static void
eh_tls_stream_stop_handshake_source (EhTlsStream *tls)
{
  if (tls->handshake_source != NULL) {
    g_source_destroy (tls->handshake_source);
    g_clear_pointer (&tls->handshake_source, g_source_unref);
  }
}

static gboolean
eh_tls_stream_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  EhTlsStream *tls = EH_TLS_STREAM (stream);

  eh_tls_stream_stop_handshake_source (tls);
  /* one close_notify, after what waits, if the socket takes them now;
   * never wait for the peer's */
  gnutls_bye (tls->session, GNUTLS_SHUT_WR);
  eh_tls_stream_flush (tls, NULL);
  return g_io_stream_close (G_IO_STREAM (tls->socket_conn), NULL, error);
}

static void
eh_tls_stream_finalize (GObject *object)
{
  EhTlsStream *tls = EH_TLS_STREAM (object);

  eh_tls_stream_stop_handshake_source (tls);
  g_clear_object (&tls->input);
  g_clear_object (&tls->output);
  gnutls_deinit (tls->session);
  eh_tls_server_params_unref (tls->params);
  g_clear_object (&tls->peer_certificate);
  g_clear_object (&tls->socket_conn);
  eh_tls_stream_drop_out (tls);
  G_OBJECT_CLASS (eh_tls_stream_parent_class)->finalize (object);
}

static void
eh_tls_stream_class_init (EhTlsStreamClass *klass)
{
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = eh_tls_stream_finalize;
  stream_class->get_input_stream = eh_tls_stream_get_input_stream;
  stream_class->get_output_stream = eh_tls_stream_get_output_stream;
  stream_class->close_fn = eh_tls_stream_close;
}

static void
eh_tls_stream_init (EhTlsStream *tls)
{
}

EhTlsStream *
eh_tls_stream_new (GSocketConnection *socket_conn, EhTlsServerParams *params, GError **error)
{
  g_autoptr (EhTlsStream) tls = g_object_new (EH_TYPE_TLS_STREAM, NULL);
  const gnutls_datum_t alpn = { (unsigned char *) "http/1.1", 8 };
  int rc;

  tls->socket_conn = g_object_ref (socket_conn);
  tls->socket = g_socket_connection_get_socket (socket_conn);
  tls->params = eh_tls_server_params_ref (params);
  rc = gnutls_init (&tls->session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
  if (rc >= 0)
    rc = gnutls_priority_set (tls->session, params->priority);
  if (rc >= 0)
    rc = gnutls_credentials_set (tls->session, GNUTLS_CRD_CERTIFICATE, params->credentials);
  if (rc >= 0)
    rc = gnutls_session_ticket_enable_server (tls->session, params->ticket_key);
  /* http/1.1 only: HTTP/2 stays off */
  if (rc >= 0)
    rc = gnutls_alpn_set_protocols (tls->session, &alpn, 1, 0);
  if (rc < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "TLS session: %s", gnutls_strerror (rc));
    return NULL;
  }
  /* asked, never required: ordinary clients send none; a bus link peer
   * sends its role certificate. GnuTLS checks that the peer holds its key,
   * but not who issued it: whoever uses the certificate verifies it */
  gnutls_certificate_server_set_request (tls->session, GNUTLS_CERT_REQUEST);
  /* the socket is non-blocking (GSocket always is), so GnuTLS sees EAGAIN
   * when reading; writing, it never does (eh_tls_stream_push) */
  tls->fd = g_socket_get_fd (tls->socket);
  gnutls_transport_set_ptr (tls->session, tls);
  gnutls_transport_set_pull_function (tls->session, eh_tls_stream_pull);
  gnutls_transport_set_pull_timeout_function (tls->session, eh_tls_stream_pull_timeout);
  gnutls_transport_set_vec_push_function (tls->session, eh_tls_stream_push);
  tls->input = g_object_new (EH_TYPE_TLS_INPUT, NULL);
  EH_TLS_INPUT (tls->input)->tls = tls;
  tls->output = g_object_new (EH_TYPE_TLS_OUTPUT, NULL);
  EH_TLS_OUTPUT (tls->output)->tls = tls;
  return g_steal_pointer (&tls);
}

/* keeps the leaf the client sent, if any; a certificate GLib cannot read is
 * treated as none */
static void
eh_tls_stream_keep_peer_certificate (EhTlsStream *tls)
{
  const gnutls_datum_t *peers;
  unsigned int n_peers = 0;
  g_autoptr (GByteArray) der = NULL;

  if (gnutls_certificate_type_get (tls->session) != GNUTLS_CRT_X509)
    return;
  peers = gnutls_certificate_get_peers (tls->session, &n_peers);
  if (peers == NULL || n_peers == 0)
    return;
  der = g_byte_array_new ();
  g_byte_array_append (der, peers[0].data, peers[0].size);
  tls->peer_certificate = g_initable_new (g_tls_backend_get_certificate_type (g_tls_backend_get_default ()),
                                          NULL, NULL, "certificate", der, NULL);
}

static void
eh_tls_stream_handshake_finish (EhTlsStream *tls, const GError *error)
{
  EhTlsHandshakeDone done = g_steal_pointer (&tls->handshake_done);

  eh_tls_stream_stop_handshake_source (tls);
  if (done != NULL)
    done (tls, error, tls->handshake_data);
}

static gboolean eh_tls_stream_handshake_step (GSocket *socket, GIOCondition condition, gpointer data);

static void
eh_tls_stream_handshake_wait (EhTlsStream *tls)
{
  /* a flight still waiting in @out goes before anything is read */
  GIOCondition wanted = tls->out_len > 0 || gnutls_record_get_direction (tls->session) == 1 ? G_IO_OUT : G_IO_IN;

  eh_tls_stream_stop_handshake_source (tls);
  tls->handshake_source = g_socket_create_source (tls->socket, wanted, NULL);
  g_source_set_callback (tls->handshake_source, G_SOURCE_FUNC (eh_tls_stream_handshake_step), tls,
                         NULL);
  g_source_attach (tls->handshake_source, g_main_context_get_thread_default ());
}

static int
eh_tls_stream_handshake_run (EhTlsStream *tls)
{
  int rc;

  do
    rc = gnutls_handshake (tls->session);
  while (rc < 0 && !eh_tls_would_block (rc) && !gnutls_error_is_fatal (rc));
  if (rc == GNUTLS_E_SUCCESS) {
    tls->handshaken = TRUE;
    /* a TLS 1.3 ticket right away: resumption for the client, and a segment
     * that acknowledges its Finished, so a client with Nagle on does not
     * hold its request back for a delayed ACK */
    if (gnutls_protocol_get_version (tls->session) == GNUTLS_TLS1_3 &&
        !gnutls_session_is_resumed (tls->session))
      gnutls_session_ticket_send (tls->session, 1, 0);
    eh_tls_stream_keep_peer_certificate (tls);
  }
  return rc;
}

static gboolean
eh_tls_stream_handshake_step (GSocket *socket, GIOCondition condition, gpointer data)
{
  EhTlsStream *tls = data;
  g_autoptr (GError) error = NULL;
  int rc;

  g_object_ref (tls);
  rc = tls->handshaken ? GNUTLS_E_SUCCESS : eh_tls_stream_handshake_run (tls);
  if (rc != GNUTLS_E_SUCCESS && !eh_tls_would_block (rc)) {
    error = g_error_new (EH_ERROR, EH_ERROR_TLS, "TLS handshake: %s", gnutls_strerror (rc));
    eh_tls_stream_handshake_finish (tls, error);
  } else if (!eh_tls_stream_flush (tls, &error) && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
    g_prefix_error (&error, "TLS handshake: ");
    eh_tls_stream_handshake_finish (tls, error);
  } else if (rc == GNUTLS_E_SUCCESS && tls->out_len == 0) {
    eh_tls_stream_handshake_finish (tls, NULL);
  } else {
    eh_tls_stream_handshake_wait (tls);
  }
  g_object_unref (tls);
  return G_SOURCE_REMOVE;
}

void
eh_tls_stream_handshake (EhTlsStream *tls, EhTlsHandshakeDone done, gpointer user_data)
{
  tls->handshake_done = done;
  tls->handshake_data = user_data;
  eh_tls_stream_handshake_step (tls->socket, G_IO_IN, tls);
}

void
eh_tls_stream_cancel_handshake (EhTlsStream *tls)
{
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_TIMEOUT, "TLS handshake took too long");

  if (tls->handshake_done != NULL)
    eh_tls_stream_handshake_finish (tls, error);
}

const char *
eh_tls_stream_get_protocol (EhTlsStream *tls)
{
  return gnutls_protocol_get_name (gnutls_protocol_get_version (tls->session));
}

gboolean
eh_tls_stream_is_resumed (EhTlsStream *tls)
{
  return gnutls_session_is_resumed (tls->session) != 0;
}

GTlsCertificate *
eh_tls_stream_get_peer_certificate (EhTlsStream *tls)
{
  return tls->peer_certificate;
}
