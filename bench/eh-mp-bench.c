/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * Load for the mp role over its real client protocol: many distinct
 * clients, each with its own key, over HTTPS keep-alive connections.
 *
 *   keygen    make --clients keys (P-256 or Ed25519), client side only
 *   register  every client registers once: a self-timed proof ({"jti",
 *             "iat"}) signed with its key, POST /ehttpd/mp/register (the
 *             site must auto-approve, or --bulk-token approves); each one
 *             a durable registration on the MP
 *   register-nonce
 *             the same with GET /ehttpd/mp/nonce first and a proof over
 *             that nonce (after register, the clients are registered
 *             already: run it alone for the cost of a new registration)
 *   storm     every registered client gets a token once, in parallel:
 *             nonce, proof, POST /ehttpd/mp/token (PoP verify + ES256 sign
 *             on the MP) — the renewal storm after, say, a site restart
 *   renew     --seconds of the same, round robin over the clients: the
 *             steady issuance rate
 *   storm-timed, renew-timed
 *             the same with self-timed proofs ({"jti", "iat"}): one
 *             request a token, no nonce
 *   crypto    alone (--phases crypto): GnuTLS sign and verify per second on
 *             one core for ES256 and EdDSA, the references
 *
 * Each of --connections threads owns one blocking TLS connection (GnuTLS,
 * the site's root as the only trust anchor) and writes plain HTTP/1.1.
 * A reply other than the one expected counts as an error; a dropped
 * connection is re-opened and counted.
 *
 * usage: eh-mp-bench --url https://127.0.0.1:PORT --root ROOT.pem
 *                    [--clients N] [--connections C] [--key-type p256|ed25519]
 *                    [--bulk-token T] [--seconds S] [--phases keygen,register,storm,renew,…]
 *                    [--server-pid PID]
 * Prints one "result phase=… count=… errors=… seconds=… rate=…" line each;
 * with --server-pid, also server_cpu_us=: the CPU time (user + system, from
 * /proc/PID/stat) that process spent per successful call of the phase, a
 * figure that holds on a machine shared with other load.
 * A benchmark, not a test: it fails only when something cannot run.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "eh-json.h"
#include "eh-jws.h"

static char *opt_url = NULL;
static char *opt_root = NULL;
static char *opt_key_type = NULL;
static char *opt_bulk_token = NULL;
static char *opt_phases = NULL;
static int opt_clients = 1000;
static int opt_connections = 8;
static double opt_seconds = 10;
static int opt_server_pid = 0;

static GOptionEntry eh_bench_options[] = {
  { "url", 0, 0, G_OPTION_ARG_STRING, &opt_url, "the MP's HTTPS URL (https://HOST:PORT)", "URL" },
  { "root", 0, 0, G_OPTION_ARG_FILENAME, &opt_root, "the site root certificate (PEM), the only trust anchor", "FILE" },
  { "clients", 0, 0, G_OPTION_ARG_INT, &opt_clients, "distinct clients (keys), default 1000", "N" },
  { "connections", 0, 0, G_OPTION_ARG_INT, &opt_connections, "keep-alive connections, one thread each (default 8)", "C" },
  { "key-type", 0, 0, G_OPTION_ARG_STRING, &opt_key_type, "p256 (default) or ed25519", "TYPE" },
  { "bulk-token", 0, 0, G_OPTION_ARG_STRING, &opt_bulk_token, "a bulk registration token that approves", "T" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "seconds of the renew phase (default 10)", "S" },
  { "phases", 0, 0, G_OPTION_ARG_STRING, &opt_phases, "default keygen,register,storm,renew,storm-timed,renew-timed", "LIST" },
  { "server-pid", 0, 0, G_OPTION_ARG_INT, &opt_server_pid, "the MP's process: its CPU time per call is reported", "PID" },
  G_OPTION_ENTRY_NULL
};

typedef struct {
  gnutls_privkey_t key;
  EhJwsAlg alg;
  char *jwk_json;
  char *thumbprint;
  char *hardware_id;
} EhBenchClient;

typedef enum { EH_PHASE_REGISTER, EH_PHASE_REGISTER_NONCE, EH_PHASE_TOKEN, EH_PHASE_TOKEN_TIMED } EhBenchPhase;

typedef struct {
  char *host;
  char *port;
  gnutls_certificate_credentials_t creds;
  EhBenchClient *clients;
  guint n_clients;
  EhBenchPhase phase;
  gint next;        /* atomic: next client index */
  gint done;        /* atomic */
  gint errors;      /* atomic */
  gint reconnects;  /* atomic */
  gint64 deadline;  /* 0: each client once; else round robin until then */
  gint first_error_reported;
} EhBench;

typedef struct {
  int fd;
  gnutls_session_t session;
  GByteArray *in;
} EhBenchConn;

static void
eh_bench_conn_close (EhBenchConn *conn)
{
  if (conn->session != NULL)
    gnutls_deinit (conn->session);
  if (conn->fd >= 0)
    close (conn->fd);
  conn->session = NULL;
  conn->fd = -1;
  g_byte_array_set_size (conn->in, 0);
}

static gboolean
eh_bench_conn_open (EhBench *bench, EhBenchConn *conn)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
  int one = 1, ret;

  if (getaddrinfo (bench->host, bench->port, &hints, &ai) != 0 || ai == NULL)
    return FALSE;
  conn->fd = socket (ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn->fd < 0 || connect (conn->fd, ai->ai_addr, ai->ai_addrlen) != 0)
    {
      freeaddrinfo (ai);
      eh_bench_conn_close (conn);
      return FALSE;
    }
  freeaddrinfo (ai);
  setsockopt (conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  gnutls_init (&conn->session, GNUTLS_CLIENT);
  gnutls_set_default_priority (conn->session);
  gnutls_credentials_set (conn->session, GNUTLS_CRD_CERTIFICATE, bench->creds);
  gnutls_session_set_verify_cert (conn->session, NULL, 0);
  gnutls_transport_set_int (conn->session, conn->fd);
  do
    ret = gnutls_handshake (conn->session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  if (ret < 0)
    {
      g_printerr ("eh-mp-bench: TLS handshake: %s\n", gnutls_strerror (ret));
      eh_bench_conn_close (conn);
      return FALSE;
    }
  return TRUE;
}

static gboolean
eh_bench_send (EhBenchConn *conn, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = gnutls_record_send (conn->session, data, len);
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* one response with a Content-Length body: its status and body (NUL-ended) */
static gboolean
eh_bench_receive (EhBenchConn *conn, guint *status, char **body)
{
  char buf[16384];
  gssize head_end = -1;
  gsize content_length = 0;

  for (;;)
    {
      if (head_end < 0)
        {
          const guint8 *p = conn->in->data;
          for (gsize i = 3; i < conn->in->len; i++)
            if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n')
              {
                g_autofree char *head = g_strndup ((const char *) p, i + 1);
                const char *cl = strcasestr (head, "\r\ncontent-length:");
                head_end = i + 1;
                if (sscanf (head, "HTTP/1.1 %u", status) != 1 || cl == NULL)
                  return FALSE;
                content_length = g_ascii_strtoull (cl + 17, NULL, 10);
                break;
              }
        }
      if (head_end >= 0 && conn->in->len >= head_end + content_length)
        {
          *body = g_strndup ((const char *) conn->in->data + head_end, content_length);
          g_byte_array_remove_range (conn->in, 0, head_end + content_length);
          return TRUE;
        }
      ssize_t n = gnutls_record_recv (conn->session, buf, sizeof buf);
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        return FALSE;
      g_byte_array_append (conn->in, (const guint8 *) buf, n);
    }
}

static gboolean
eh_bench_request (EhBench *bench, EhBenchConn *conn, const char *method, const char *path,
                  const char *json, guint *status, char **body)
{
  g_autofree char *req = NULL;

  if (conn->session == NULL)
    {
      if (!eh_bench_conn_open (bench, conn))
        return FALSE;
      g_atomic_int_inc (&bench->reconnects);
    }
  if (json != NULL)
    req = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\n\r\n%s", method, path, bench->host, strlen (json), json);
  else
    req = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, path, bench->host);
  if (!eh_bench_send (conn, req, strlen (req)) || !eh_bench_receive (conn, status, body))
    {
      eh_bench_conn_close (conn);
      return FALSE;
    }
  return TRUE;
}

static char *
eh_bench_member (const char *json, const char *name)
{
  g_autoptr(JsonNode) root = eh_json_parse_strict (json, strlen (json), 65536, 8, NULL);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  const char *value = json_object_get_string_member_with_default (json_node_get_object (root), name, NULL);
  return g_strdup (value);
}

static char *
eh_bench_sign (EhBenchClient *client, const char *typ, JsonObject *claims, gboolean with_kid)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), claims);
  char *text = json_to_string (node, FALSE);
  g_autoptr(GBytes) payload = g_bytes_new_take (text, strlen (text));
  g_autoptr(JsonObject) header = json_object_new ();

  if (with_kid)
    json_object_set_string_member (header, "kid", client->thumbprint);
  return eh_jws_sign (client->key, client->alg, typ, header, payload, NULL);
}

static gboolean
eh_bench_one (EhBench *bench, EhBenchConn *conn, EhBenchClient *client, char **error)
{
  g_autofree char *body = NULL, *nonce = NULL, *proof = NULL, *request = NULL;
  g_autoptr(JsonObject) claims = json_object_new ();
  guint status = 0;

  gboolean registering = bench->phase == EH_PHASE_REGISTER || bench->phase == EH_PHASE_REGISTER_NONCE;

  if (bench->phase == EH_PHASE_TOKEN_TIMED || bench->phase == EH_PHASE_REGISTER) {
    guint8 random[18];
    g_autofree char *jti = NULL;

    gnutls_rnd (GNUTLS_RND_NONCE, random, sizeof random);
    jti = g_base64_encode (random, sizeof random);
    g_strdelimit (jti, "+", '-');
    g_strdelimit (jti, "/", '_');
    json_object_set_string_member (claims, "jti", jti);
    json_object_set_int_member (claims, "iat", g_get_real_time () / G_USEC_PER_SEC);
  } else {
    if (!eh_bench_request (bench, conn, "GET", "/ehttpd/mp/nonce", NULL, &status, &body))
      return (*error = g_strdup ("connection lost at the nonce")), FALSE;
    if (status != 200 || (nonce = eh_bench_member (body, "nonce")) == NULL)
      return (*error = g_strdup_printf ("nonce: %u %s", status, body)), FALSE;
    g_clear_pointer (&body, g_free);
    json_object_set_string_member (claims, "nonce", nonce);
  }
  if (registering)
    {
      g_autofree char *host_name = g_strdup_printf ("pc-%s.bench.example", client->hardware_id + 3);
      g_autofree char *bulk = opt_bulk_token ? g_strdup_printf (",\"bulk_token\":\"%s\"", opt_bulk_token) : g_strdup ("");

      json_object_set_string_member (claims, "host_name", host_name);
      json_object_set_string_member (claims, "hardware_id", client->hardware_id);
      proof = eh_bench_sign (client, "mp-register+jwt", claims, FALSE);
      request = g_strdup_printf ("{\"jwk\":%s,\"host_name\":\"%s\",\"hardware_id\":\"%s\",\"proof\":\"%s\"%s}",
                                 client->jwk_json, host_name, client->hardware_id, proof, bulk);
      if (!eh_bench_request (bench, conn, "POST", "/ehttpd/mp/register", request, &status, &body))
        return (*error = g_strdup ("connection lost at register")), FALSE;
      if ((status != 200 && status != 201) || strstr (body, "\"approved\"") == NULL)
        return (*error = g_strdup_printf ("register: %u %s", status, body)), FALSE;
    }
  else
    {
      proof = eh_bench_sign (client, "mp-token+jwt", claims, TRUE);
      request = g_strdup_printf ("{\"proof\":\"%s\"}", proof);
      if (!eh_bench_request (bench, conn, "POST", "/ehttpd/mp/token", request, &status, &body))
        return (*error = g_strdup ("connection lost at token")), FALSE;
      if (status != 200 || strstr (body, "\"token\"") == NULL)
        return (*error = g_strdup_printf ("token: %u %s", status, body)), FALSE;
    }
  return TRUE;
}

static gpointer
eh_bench_worker (gpointer data)
{
  EhBench *bench = data;
  EhBenchConn conn = { .fd = -1, .in = g_byte_array_new () };

  for (;;)
    {
      guint i = g_atomic_int_add (&bench->next, 1);
      g_autofree char *error = NULL;

      if (bench->deadline == 0 && i >= bench->n_clients)
        break;
      if (bench->deadline != 0 && g_get_monotonic_time () >= bench->deadline)
        break;
      if (eh_bench_one (bench, &conn, &bench->clients[i % bench->n_clients], &error))
        g_atomic_int_inc (&bench->done);
      else
        {
          g_atomic_int_inc (&bench->errors);
          if (g_atomic_int_compare_and_exchange (&bench->first_error_reported, 0, 1))
            g_printerr ("eh-mp-bench: first error: %s\n", error);
        }
    }
  eh_bench_conn_close (&conn);
  g_byte_array_unref (conn.in);
  return NULL;
}

/* the CPU time (user + system) @pid has used, in µs; -1 if unknown */
static gint64
eh_bench_cpu_us (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *end;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL) || (end = strrchr (text, ')')) == NULL)
    return -1;
  /* after "pid (comm)": state is field 3, utime 14, stime 15 */
  fields = g_strsplit (end + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return -1;
  return (g_ascii_strtoll (fields[11], NULL, 10) + g_ascii_strtoll (fields[12], NULL, 10)) * G_USEC_PER_SEC /
         sysconf (_SC_CLK_TCK);
}

static void
eh_bench_run (EhBench *bench, const char *name, EhBenchPhase phase, double seconds)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  g_autofree char *server = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 cpu_start = eh_bench_cpu_us (opt_server_pid), cpu_end;

  bench->phase = phase;
  bench->next = bench->done = bench->errors = bench->reconnects = 0;
  bench->first_error_reported = 0;
  bench->deadline = seconds > 0 ? start + (gint64) (seconds * G_USEC_PER_SEC) : 0;
  for (int t = 0; t < opt_connections; t++)
    g_ptr_array_add (threads, g_thread_new ("bench", eh_bench_worker, bench));
  for (guint t = 0; t < threads->len; t++)
    g_thread_join (threads->pdata[t]);
  double elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  cpu_end = eh_bench_cpu_us (opt_server_pid);
  if (cpu_start >= 0 && cpu_end >= 0 && bench->done > 0)
    server = g_strdup_printf (" server_cpu_us=%.0f server_cores=%.2f", (cpu_end - cpu_start) / (double) bench->done,
                              (cpu_end - cpu_start) / (elapsed * G_USEC_PER_SEC));
  g_print ("result phase=%s count=%d errors=%d connections=%d reconnects=%d seconds=%.2f rate=%.0f%s\n",
           name, bench->done, bench->errors, opt_connections, bench->reconnects - opt_connections,
           elapsed, bench->done / elapsed, server != NULL ? server : "");
}

static void
eh_bench_keygen (EhBench *bench, gboolean ed25519)
{
  gint64 start = g_get_monotonic_time ();

  bench->clients = g_new0 (EhBenchClient, bench->n_clients);
  for (guint i = 0; i < bench->n_clients; i++)
    {
      EhBenchClient *client = &bench->clients[i];
      g_autoptr(JsonObject) jwk = NULL;
      g_autoptr(JsonNode) node = NULL;
      gnutls_pubkey_t pub;
      int ret;

      gnutls_privkey_init (&client->key);
      ret = ed25519 ? gnutls_privkey_generate (client->key, GNUTLS_PK_EDDSA_ED25519, 256, 0)
                    : gnutls_privkey_generate (client->key, GNUTLS_PK_ECDSA,
                                               GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0);
      g_assert (ret == 0);
      g_assert (eh_jws_alg_for_key (client->key, &client->alg, NULL));
      gnutls_pubkey_init (&pub);
      gnutls_pubkey_import_privkey (pub, client->key, 0, 0);
      jwk = eh_jws_pubkey_to_jwk (pub, NULL);
      client->thumbprint = eh_jws_pubkey_thumbprint (pub, NULL);
      g_assert (jwk != NULL && client->thumbprint != NULL);
      node = json_node_init_object (json_node_alloc (), jwk);
      client->jwk_json = json_to_string (node, FALSE);
      client->hardware_id = g_strdup_printf ("hw-%08x%08x", g_random_int (), i);
      gnutls_pubkey_deinit (pub);
    }
  double elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  g_print ("result phase=keygen count=%u errors=0 seconds=%.2f rate=%.0f\n", bench->n_clients, elapsed,
           bench->n_clients / elapsed);
}

/* one core's sign and verify rates for the two client key types and the
 * token signing key: the ceilings a token request is bounded by */
static void
eh_bench_crypto (void)
{
  static const struct { const char *name; gnutls_pk_algorithm_t pk; unsigned bits; } kinds[] = {
    { "ES256", GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1) },
    { "EdDSA", GNUTLS_PK_EDDSA_ED25519, 256 },
  };
  guint8 message[200];

  memset (message, 'm', sizeof message);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      gnutls_datum_t data = { message, sizeof message }, sig = { NULL, 0 };
      gnutls_sign_algorithm_t sign_alg = kinds[k].pk == GNUTLS_PK_ECDSA ? GNUTLS_SIGN_ECDSA_SHA256
                                                                       : GNUTLS_SIGN_EDDSA_ED25519;
      gnutls_privkey_t key;
      gnutls_pubkey_t pub;
      double rates[2];

      gnutls_privkey_init (&key);
      g_assert (gnutls_privkey_generate (key, kinds[k].pk, kinds[k].bits, 0) == 0);
      gnutls_pubkey_init (&pub);
      gnutls_pubkey_import_privkey (pub, key, 0, 0);
      for (int op = 0; op < 2; op++)
        {
          gint64 start = g_get_monotonic_time (), now;
          guint n = 0;
          do
            {
              for (int i = 0; i < 100; i++, n++)
                if (op == 0)
                  {
                    gnutls_free (sig.data);
                    g_assert (gnutls_privkey_sign_data2 (key, sign_alg, 0, &data, &sig) == 0);
                  }
                else
                  g_assert (gnutls_pubkey_verify_data2 (pub, sign_alg, 0, &data, &sig) >= 0);
              now = g_get_monotonic_time ();
            }
          while (now - start < G_USEC_PER_SEC);
          rates[op] = n / ((now - start) / (double) G_USEC_PER_SEC);
        }
      g_print ("result phase=crypto alg=%s sign=%.0f verify=%.0f\n", kinds[k].name, rates[0], rates[1]);
      gnutls_free (sig.data);
      gnutls_pubkey_deinit (pub);
      gnutls_privkey_deinit (key);
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— load the mp role with many clients");
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = NULL;
  g_auto(GStrv) phases = NULL;
  EhBench bench = { 0 };

  g_option_context_add_main_entries (context, eh_bench_options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("eh-mp-bench: %s\n", error->message);
      return 2;
    }
  if (opt_url == NULL || opt_root == NULL || opt_clients < 1 || opt_connections < 1)
    {
      g_printerr ("eh-mp-bench: --url and --root are required; --clients and --connections ≥ 1\n");
      return 2;
    }
  if (g_strcmp0 (opt_phases, "crypto") == 0)
    {
      eh_bench_crypto ();
      return 0;
    }
  uri = g_uri_parse (opt_url, G_URI_FLAGS_NONE, &error);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_port (uri) < 0)
    {
      g_printerr ("eh-mp-bench: --url must be https://HOST:PORT\n");
      return 2;
    }
  bench.host = g_strdup (g_uri_get_host (uri));
  bench.port = g_strdup_printf ("%d", g_uri_get_port (uri));
  bench.n_clients = opt_clients;
  gnutls_certificate_allocate_credentials (&bench.creds);
  if (gnutls_certificate_set_x509_trust_file (bench.creds, opt_root, GNUTLS_X509_FMT_PEM) <= 0)
    {
      g_printerr ("eh-mp-bench: no certificate in %s\n", opt_root);
      return 2;
    }

  phases = g_strsplit (opt_phases ? opt_phases : "keygen,register,storm,renew,storm-timed,renew-timed", ",", -1);
  eh_bench_keygen (&bench, g_strcmp0 (opt_key_type, "ed25519") == 0);
  for (guint i = 0; phases[i] != NULL; i++)
    {
      if (g_str_equal (phases[i], "register"))
        eh_bench_run (&bench, "register", EH_PHASE_REGISTER, 0);
      else if (g_str_equal (phases[i], "register-nonce"))
        eh_bench_run (&bench, "register-nonce", EH_PHASE_REGISTER_NONCE, 0);
      else if (g_str_equal (phases[i], "storm"))
        eh_bench_run (&bench, "storm", EH_PHASE_TOKEN, 0);
      else if (g_str_equal (phases[i], "renew"))
        eh_bench_run (&bench, "renew", EH_PHASE_TOKEN, opt_seconds);
      else if (g_str_equal (phases[i], "storm-timed"))
        eh_bench_run (&bench, "storm-timed", EH_PHASE_TOKEN_TIMED, 0);
      else if (g_str_equal (phases[i], "renew-timed"))
        eh_bench_run (&bench, "renew-timed", EH_PHASE_TOKEN_TIMED, opt_seconds);
      else if (!g_str_equal (phases[i], "keygen"))
        {
          g_printerr ("eh-mp-bench: unknown phase %s\n", phases[i]);
          return 2;
        }
    }
  return 0;
}
