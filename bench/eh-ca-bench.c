/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * Issuance rate of the ca role, on the real path: eh_ca_issue() with
 * EH_CA_KIND_ROLE, signed by a root from eh_ca_root_load_or_create(),
 * recorded in a store from eh_store_open() (two durable transactions per
 * certificate: reserve, then record). Next to it, in the same run and the
 * same directory, the references it is bounded by:
 *
 *   fdatasync  write 4 KiB at the end of a file + fdatasync, in a loop: the
 *              disk's own flush rate
 *   commit     SQLite, WAL, synchronous=FULL, one ~1 KiB row per
 *              transaction: the durable-commit rate the store can reach
 *   issue16    eh_ca_issue_batch() with 16 requests waiting at once (group commit)
 *   issue      eh_ca_issue(), EH_CA_KIND_ROLE, P-256 root, one certificate
 *              after the other (the daemon issues on its one main thread)
 *   cpu        the same eh_ca_issue() with its store on tmpfs (--cpu-dir,
 *              e.g. /dev/shm): a flush costs nothing there, so this is the
 *              rate the signing and bookkeeping alone allow
 *
 * usage: eh-ca-bench --dir DIR [--cpu-dir DIR] [--seconds S] [--only NAME]
 * Prints one "result name=… count=… seconds=… rate=…" line per measure.
 * A benchmark, not a test: it fails only when something cannot run.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "eh-ca.h"

#define EH_BENCH_KEYS 16

static double opt_seconds = 10;
static char *opt_dir = NULL;
static char *opt_cpu_dir = NULL;
static char *opt_only = NULL;

static GOptionEntry eh_bench_options[] = {
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir, "a directory on the disk to measure (a work directory is made inside)", "DIR" },
  { "cpu-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_cpu_dir, "a directory on tmpfs, for the issuance rate without flush cost", "DIR" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "seconds per measure (default 10)", "S" },
  { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "run one measure: fdatasync, commit, issue, issue16 or cpu", "NAME" },
  G_OPTION_ENTRY_NULL
};

/* only warnings and worse: the ca says "made a new key" and the like */
static GLogWriterOutput
eh_bench_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, data);
}

static G_NORETURN void
eh_bench_die (const char *what, const GError *error)
{
  fprintf (stderr, "eh-ca-bench: %s: %s\n", what, error != NULL ? error->message : g_strerror (errno));
  exit (1);
}

static void
eh_bench_report (const char *name, guint64 count, gint64 elapsed_us)
{
  double seconds = elapsed_us / 1e6;

  printf ("result name=%s count=%" G_GUINT64_FORMAT " seconds=%.3f rate=%.1f per_op_us=%.1f\n", name,
          count, seconds, count / seconds, count > 0 ? elapsed_us / (double) count : 0.0);
  fflush (stdout);
}

static gboolean
eh_bench_wanted (const char *name)
{
  return opt_only == NULL || g_strcmp0 (opt_only, name) == 0;
}

/* a fresh 0700 directory inside @parent (the store refuses a group-writable parent) */
static char *
eh_bench_workdir (const char *parent, const char *name)
{
  g_autofree char *template = g_build_filename (parent, "eh-ca-bench-XXXXXX", NULL);
  char *dir = g_mkdtemp_full (g_steal_pointer (&template), 0700);
  char *sub;

  if (dir == NULL)
    eh_bench_die (parent, NULL);
  sub = g_build_filename (dir, name, NULL);
  if (g_mkdir (sub, 0700) != 0)
    eh_bench_die (sub, NULL);
  g_free (dir);
  return sub;
}

static void
eh_bench_remove_tree (const char *dir)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *quoted = g_shell_quote (parent);
  g_autofree char *command = g_strdup_printf ("rm -rf %s", quoted);

  if (system (command) != 0)
    fprintf (stderr, "eh-ca-bench: could not remove %s\n", parent);
}

/* ── fdatasync: the disk's flush rate ─────────────────────────────────── */

static void
eh_bench_fdatasync (const char *parent)
{
  g_autofree char *dir = eh_bench_workdir (parent, "fdatasync");
  g_autofree char *path = g_build_filename (dir, "flush", NULL);
  char block[4096];
  gint64 start, end, now;
  guint64 count = 0;
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  if (fd < 0)
    eh_bench_die (path, NULL);
  memset (block, 'x', sizeof block);
  start = now = g_get_monotonic_time ();
  end = start + (gint64) (opt_seconds * G_USEC_PER_SEC);
  while (now < end) {
    if (write (fd, block, sizeof block) != (ssize_t) sizeof block || fdatasync (fd) != 0)
      eh_bench_die (path, NULL);
    count++;
    now = g_get_monotonic_time ();
  }
  eh_bench_report ("fdatasync", count, now - start);
  close (fd);
  eh_bench_remove_tree (dir);
}

/* ── commit: SQLite WAL, synchronous=FULL, one row per transaction ────── */

static void
eh_bench_sql (sqlite3 *db, const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK) {
    fprintf (stderr, "eh-ca-bench: %s: %s\n", sql, message);
    exit (1);
  }
}

static void
eh_bench_commit (const char *parent)
{
  g_autofree char *dir = eh_bench_workdir (parent, "commit");
  g_autofree char *path = g_build_filename (dir, "commit.db", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *insert = NULL;
  guint8 blob[1024];
  gint64 start, end, now;
  guint64 count = 0;

  if (sqlite3_open (path, &db) != SQLITE_OK)
    eh_bench_die (path, NULL);
  eh_bench_sql (db, "PRAGMA journal_mode=WAL");
  eh_bench_sql (db, "PRAGMA synchronous=FULL");
  eh_bench_sql (db, "CREATE TABLE rows (id INTEGER PRIMARY KEY, serial TEXT UNIQUE, body BLOB)");
  if (sqlite3_prepare_v2 (db, "INSERT INTO rows (serial, body) VALUES (?1, ?2)", -1, &insert, NULL) !=
      SQLITE_OK)
    eh_bench_die ("prepare", NULL);
  start = now = g_get_monotonic_time ();
  end = start + (gint64) (opt_seconds * G_USEC_PER_SEC);
  while (now < end) {
    guint8 serial[EH_CA_SERIAL_BYTES];
    g_autofree char *hex = NULL;

    eh_ca_serial_generate (serial);
    hex = eh_ca_serial_to_hex (serial, sizeof serial);
    memcpy (blob, serial, sizeof serial);
    eh_bench_sql (db, "BEGIN IMMEDIATE");
    sqlite3_bind_text (insert, 1, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob (insert, 2, blob, sizeof blob, SQLITE_TRANSIENT);
    if (sqlite3_step (insert) != SQLITE_DONE) {
      fprintf (stderr, "eh-ca-bench: insert: %s\n", sqlite3_errmsg (db));
      exit (1);
    }
    sqlite3_reset (insert);
    eh_bench_sql (db, "COMMIT");
    count++;
    now = g_get_monotonic_time ();
  }
  eh_bench_report ("commit", count, now - start);
  sqlite3_finalize (insert);
  sqlite3_close (db);
  eh_bench_remove_tree (dir);
}

/* ── issue: the real issuance path ────────────────────────────────────── */

/* @batch: certificates per eh_ca_issue_batch() call, as when that many
 * requests wait at once (edges enrolling together); 1: eh_ca_issue() */
static void
eh_bench_issue (const char *name, const char *parent, guint batch)
{
  g_autofree char *dir = eh_bench_workdir (parent, "ca");
  g_autofree char *db_path = g_build_filename (dir, "ehttpd.db", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (EhStore) store = eh_store_open (db_path, &error);
  gnutls_pubkey_t keys[EH_BENCH_KEYS];
  const char *names[] = { "edge.example", "127.0.0.1", NULL };
  const char *roles[] = { "dp", NULL };
  EhCaRootConfig config = {
    .dir = dir,
    .key_type = EH_KEY_ECDSA_P256,
    .root_days = 3650,
    .site_signing_days = 1825,
    .site_code = "PS1",
  };
  EhCaIdentity root = { 0 };
  gint64 start, end, now;
  guint64 count = 0;

  if (store == NULL || !eh_ca_records_migrate (store, &error) ||
      !eh_ca_root_load_or_create (store, &config, &root, &error))
    eh_bench_die ("setting up the ca", error);
  /* the requesters' keys are made on the requesters: not timed */
  for (guint i = 0; i < EH_BENCH_KEYS; i++) {
    g_auto (gnutls_x509_privkey_t) x509 = eh_crypto_generate_key (EH_KEY_ECDSA_P256, &error);

    if (x509 == NULL || gnutls_pubkey_init (&keys[i]) < 0)
      eh_bench_die ("a requester key", error);
    {
      g_auto (gnutls_privkey_t) key = NULL;

      if (gnutls_privkey_init (&key) < 0 || gnutls_privkey_import_x509 (key, x509, 0) < 0 ||
          gnutls_pubkey_import_privkey (keys[i], key, 0, 0) < 0)
        eh_bench_die ("a requester key", NULL);
    }
  }
  start = now = g_get_monotonic_time ();
  end = start + (gint64) (opt_seconds * G_USEC_PER_SEC);
  while (now < end) {
    EhCaSpec spec = {
      .kind = EH_CA_KIND_ROLE,
      .common_name = names[0],
      .names = names,
      .roles = roles,
      .lifetime_seconds = 90 * 86400,
      .requester = "bench",
    };
    EhCaSpec specs[EH_BENCH_KEYS];
    EhCaIssuance items[EH_BENCH_KEYS];

    for (guint i = 0; i < batch; i++) {
      specs[i] = spec;
      specs[i].pubkey = keys[(count + i) % EH_BENCH_KEYS];
      items[i] = (EhCaIssuance) { .spec = &specs[i] };
    }
    eh_ca_issue_batch (store, items, batch, root.cert, root.key, "PS1");
    for (guint i = 0; i < batch; i++) {
      if (items[i].certificate == NULL)
        eh_bench_die ("issuing", items[i].error);
      gnutls_x509_crt_deinit (items[i].certificate);
      g_free (items[i].serial);
    }
    count += batch;
    now = g_get_monotonic_time ();
  }
  eh_bench_report (name, count, now - start);
  /* every one of them is there, issued */
  {
    sqlite3_stmt *stmt = eh_store_prepare (
        store, "SELECT count(*) FROM ca_certificates WHERE kind = 'role' AND state = 'issued'", &error);

    if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
      eh_bench_die ("counting", error);
    if ((guint64) sqlite3_column_int64 (stmt, 0) != count) {
      fprintf (stderr, "eh-ca-bench: %" G_GUINT64_FORMAT " issued, %lld recorded\n", count,
               (long long) sqlite3_column_int64 (stmt, 0));
      exit (1);
    }
    sqlite3_reset (stmt);
  }
  for (guint i = 0; i < EH_BENCH_KEYS; i++)
    gnutls_pubkey_deinit (keys[i]);
  eh_ca_identity_clear (&root);
  g_clear_object (&store);
  eh_bench_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("- the ca role's issuance rate");
  g_autoptr (GError) error = NULL;

  g_log_set_writer_func (eh_bench_log_writer, NULL, NULL);
  g_option_context_add_main_entries (context, eh_bench_options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    eh_bench_die ("options", error);
  if (opt_dir == NULL || opt_seconds <= 0) {
    fprintf (stderr, "eh-ca-bench: --dir DIR is needed, and --seconds must be positive\n");
    return 2;
  }
  if (eh_bench_wanted ("fdatasync"))
    eh_bench_fdatasync (opt_dir);
  if (eh_bench_wanted ("commit"))
    eh_bench_commit (opt_dir);
  if (eh_bench_wanted ("issue"))
    eh_bench_issue ("issue", opt_dir, 1);
  if (eh_bench_wanted ("issue16"))
    eh_bench_issue ("issue16", opt_dir, 16);
  if (opt_cpu_dir != NULL && eh_bench_wanted ("cpu"))
    eh_bench_issue ("cpu", opt_cpu_dir, 1);
  return 0;
}
