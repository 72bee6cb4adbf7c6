/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-error.h"
#include "eh-store.h"
#include "eh-test-util.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static const EhStoreMigration orders_steps[] = {
  { 1, "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
       "INSERT INTO orders (name) VALUES ('first');" },
  { 2, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, key TEXT NOT NULL);"
       "INSERT INTO accounts (key) VALUES ('k1');" },
  { 3, "ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';"
       "INSERT INTO orders (name) VALUES ('third');" },
};

/* step 3 does some real work before it trips */
static const EhStoreMigration broken_steps[] = {
  { 1, "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
       "INSERT INTO orders (name) VALUES ('first');" },
  { 2, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, key TEXT NOT NULL);"
       "INSERT INTO accounts (key) VALUES ('k1');" },
  { 3, "CREATE TABLE authorizations (id INTEGER PRIMARY KEY);"
       "INSERT INTO orders (name) VALUES ('lost');"
       "THIS IS NOT SQL;" },
};

static void
remove_tree (const char *path)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode)) {
    g_autoptr (GDir) dir = NULL;
    const char *name;

    g_chmod (path, 0700);
    dir = g_dir_open (path, 0, NULL);
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);

      remove_tree (child);
    }
  }
  g_assert_no_errno (g_remove (path));
}

static void
fixture_setup (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("eh-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "host.db", NULL);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer user_data)
{
  remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static EhStore *
open_store (const char *path)
{
  g_autoptr (GError) error = NULL;
  EhStore *store = eh_store_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static void
migrate_ok (EhStore *store, const char *component, const EhStoreMigration *steps, guint n_steps)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (eh_store_migrate (store, component, steps, n_steps, &error));
  g_assert_no_error (error);
}

static guint
schema_version (EhStore *store, const char *component)
{
  g_autoptr (GError) error = NULL;
  guint version = eh_store_get_schema_version (store, component, &error);

  g_assert_no_error (error);
  return version;
}

static gboolean
has_table (EhStore *store, const char *name)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = eh_store_prepare (
    store, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", &error);
  gboolean found;

  g_assert_no_error (error);
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  found = sqlite3_column_int (stmt, 0) == 1;
  sqlite3_reset (stmt);
  return found;
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static void
assert_same_bytes (GBytes *before, const char *path)
{
  g_autoptr (GBytes) after = read_bytes (path);

  g_assert_true (g_bytes_equal (before, after));
}

static void
assert_absent (const char *path, const char *suffix)
{
  g_autofree char *name = g_strconcat (path, suffix, NULL);

  g_assert_false (g_file_test (name, G_FILE_TEST_EXISTS));
}

static void
test_open_creates_private_file (Fixture *fixture, gconstpointer user_data)
{
  /* neither a permissive nor an odd umask changes the mode */
  const mode_t umasks[] = { 0, 0277 };

  for (guint i = 0; i < G_N_ELEMENTS (umasks); i++) {
    g_autofree char *name = g_strdup_printf ("host%u.db", i);
    g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autoptr (EhStore) store = NULL;
    mode_t old_umask = umask (umasks[i]);
    struct stat st;

    store = open_store (path);
    umask (old_umask);
    g_assert_no_errno (lstat (path, &st));
    g_assert_true (S_ISREG (st.st_mode));
    g_assert_cmpint (st.st_mode & 07777, ==, 0600);

    migrate_ok (store, "core", orders_steps, 1);
    g_assert_no_errno (lstat (wal, &st));
    g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  }
}

static void
test_open_settings (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autofree char *mode = eh_test_query_text (store, "PRAGMA journal_mode");

  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 1);
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA foreign_keys"), ==, 1);
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA secure_delete"), ==, 1);
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA busy_timeout"), ==, 5000);
  g_assert_true (has_table (store, "eh_schema"));
  g_assert_cmpuint (schema_version (store, "core"), ==, 0);
}

static void
test_migrate_all_steps (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);

  migrate_ok (store, "acme", orders_steps, G_N_ELEMENTS (orders_steps));
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM orders WHERE status = 'pending'"), ==,
                   2);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM accounts"), ==, 1);
  /* migrations are durable; FULL stays until an ordinary transaction */
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 2);
}

static void
test_migrate_again_is_noop (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);
  int changes;

  migrate_ok (store, "acme", orders_steps, G_N_ELEMENTS (orders_steps));
  changes = sqlite3_total_changes (eh_store_get_db (store));
  migrate_ok (store, "acme", orders_steps, G_N_ELEMENTS (orders_steps));
  g_assert_cmpint (sqlite3_total_changes (eh_store_get_db (store)), ==, changes);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM orders"), ==, 2);
}

static void
test_migrate_new_step_only (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);

  migrate_ok (store, "acme", orders_steps, 2);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 2);
  g_clear_object (&store);

  /* a later build knows one more step */
  store = open_store (fixture->path);
  migrate_ok (store, "acme", orders_steps, 3);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM orders"), ==, 2);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM accounts"), ==, 1);
}

static void
test_migrate_failure_rolls_back (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) before = NULL;

  migrate_ok (store, "acme", broken_steps, 2);
  g_clear_object (&store);
  before = read_bytes (fixture->path);

  store = open_store (fixture->path);
  g_assert_false (eh_store_migrate (store, "acme", broken_steps, 3, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_MIGRATION);
  g_assert_true (g_str_has_prefix (error->message, "migration of acme to version 3 failed: "));
  g_assert_nonnull (strstr (error->message, "syntax error"));
  g_assert_cmpuint (schema_version (store, "acme"), ==, 2);
  g_assert_false (has_table (store, "authorizations"));
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM orders"), ==, 1);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM accounts"), ==, 1);
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 2);
  g_clear_object (&store);
  assert_same_bytes (before, fixture->path);

  /* the file still opens, and a fixed build carries on from version 2 */
  store = open_store (fixture->path);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 2);
  migrate_ok (store, "acme", orders_steps, 3);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
}

static void
test_migrate_failure_keeps_all_steps_out (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_store_migrate (store, "acme", broken_steps, 3, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_MIGRATION);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 0);
  g_assert_false (has_table (store, "orders"));
  g_assert_false (has_table (store, "accounts"));
}

static void
test_migrate_step_cannot_end_transaction (Fixture *fixture, gconstpointer user_data)
{
  const EhStoreMigration steps[] = {
    { 1, "CREATE TABLE orders (id INTEGER PRIMARY KEY);" },
    { 2, "CREATE TABLE accounts (id INTEGER PRIMARY KEY); COMMIT;" },
  };
  const EhStoreMigration sneaky_steps[] = {
    { 1, "CREATE TABLE orders (id INTEGER PRIMARY KEY);"
         "UPDATE eh_schema SET version = 7;" },
  };
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_store_migrate (store, "acme", steps, G_N_ELEMENTS (steps), &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_MIGRATION);
  g_assert_true (g_str_has_prefix (error->message, "migration of acme to version 2 failed: "));
  g_assert_cmpuint (schema_version (store, "acme"), ==, 0);
  g_assert_false (has_table (store, "orders"));
  g_assert_true (sqlite3_get_autocommit (eh_store_get_db (store)));
  g_clear_error (&error);

  g_assert_false (eh_store_migrate (store, "acme", sneaky_steps, 1, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_MIGRATION);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 0);
}

static void
test_migrate_downgrade_refused (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) before = NULL;

  migrate_ok (store, "acme", orders_steps, 3);
  g_clear_object (&store);
  before = read_bytes (fixture->path);

  store = open_store (fixture->path);
  g_assert_false (eh_store_migrate (store, "acme", orders_steps, 2, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_MIGRATION);
  g_assert_cmpstr (error->message, ==,
                   "schema of acme is at version 3, newer than this build knows (2)");
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
  g_clear_object (&store);
  assert_same_bytes (before, fixture->path);
}

static void
test_migrate_bad_steps_refused (Fixture *fixture, gconstpointer user_data)
{
  const EhStoreMigration gap[] = {
    { 1, "CREATE TABLE a (x);" },
    { 2, "CREATE TABLE b (x);" },
    { 4, "CREATE TABLE d (x);" },
  };
  const EhStoreMigration from_zero[] = { { 0, "CREATE TABLE a (x);" } };
  const EhStoreMigration twice[] = { { 1, "CREATE TABLE a (x);" }, { 1, "CREATE TABLE b (x);" } };
  const EhStoreMigration empty[] = { { 1, NULL } };
  const struct {
    const EhStoreMigration *steps;
    guint n_steps;
  } cases[] = {
    { gap, G_N_ELEMENTS (gap) },
    { from_zero, G_N_ELEMENTS (from_zero) },
    { twice, G_N_ELEMENTS (twice) },
    { empty, G_N_ELEMENTS (empty) },
  };
  g_autoptr (EhStore) store = open_store (fixture->path);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_false (eh_store_migrate (store, "acme", cases[i].steps, cases[i].n_steps, &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_MIGRATION);
    g_assert_nonnull (strstr (error->message, "acme"));
  }
  g_assert_cmpuint (schema_version (store, "acme"), ==, 0);
  g_assert_false (has_table (store, "a"));
}

static void
test_open_garbage_refused (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) before = NULL;
  g_autoptr (EhStore) store = NULL;
  g_autofree char *garbage = g_malloc (8192);

  for (guint i = 0; i < 8192; i++)
    garbage[i] = (char) (i * 131 + 7);
  g_file_set_contents_full (fixture->path, garbage, 8192, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  before = read_bytes (fixture->path);

  store = eh_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, EH_ERROR, EH_ERROR_STORE);
  g_assert_nonnull (strstr (error->message, fixture->path));
  assert_same_bytes (before, fixture->path);
  assert_absent (fixture->path, "-wal");
  assert_absent (fixture->path, "-shm");
  assert_absent (fixture->path, "-journal");
}

static void
test_open_symlink_refused (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *target = g_build_filename (fixture->dir, "real.db", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing.db", NULL);
  g_autofree char *dangling = g_build_filename (fixture->dir, "dangling.db", NULL);
  g_autoptr (EhStore) store = NULL;
  g_autoptr (GError) error = NULL;

  g_object_unref (open_store (target));
  g_assert_no_errno (symlink (target, fixture->path));
  store = eh_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_clear_error (&error);

  /* a link to nowhere must not create its target either */
  g_assert_no_errno (symlink (missing, dangling));
  store = eh_store_open (dangling, &error);
  g_assert_null (store);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
}

static void
test_open_not_a_file_refused (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhStore) store = NULL;

  g_assert_no_errno (g_mkdir (fixture->path, 0700));
  store = eh_store_open (fixture->path, &error);
  g_assert_null (store);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, fixture->path));
}

static void
test_open_shared_directory_refused (Fixture *fixture, gconstpointer user_data)
{
  const int modes[] = { 0770, 0707, 01777 };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    g_autofree char *name = g_strdup_printf ("shared%u", i);
    g_autofree char *dir = g_build_filename (fixture->dir, name, NULL);
    g_autofree char *path = g_build_filename (dir, "host.db", NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (EhStore) store = NULL;

    g_assert_no_errno (g_mkdir (dir, 0700));
    g_assert_no_errno (g_chmod (dir, modes[i]));
    store = eh_store_open (path, &error);
    g_assert_null (store);
    g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  }
}

static guint loose_mode_warnings;

static void
count_loose_mode_warning (const char *log_domain, GLogLevelFlags log_level, const char *message,
                          gpointer user_data)
{
  if (strstr (message, "it should be 0600") != NULL)
    loose_mode_warnings++;
  else
    g_log_default_handler (log_domain, log_level, message, user_data);
}

static void
test_open_loose_mode_warns (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (EhStore) store = NULL;
  g_autoptr (GError) error = NULL;
  GLogLevelFlags fatal_mask;
  GLogFunc old_handler;
  struct stat st;

  g_file_set_contents (fixture->path, "", 0, &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (fixture->path, 0644));
  /* whatever the domain, catch the one warning expected and nothing else */
  loose_mode_warnings = 0;
  fatal_mask = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  old_handler = g_log_set_default_handler (count_loose_mode_warning, NULL);
  store = open_store (fixture->path);
  g_log_set_default_handler (old_handler, NULL);
  g_log_set_always_fatal (fatal_mask);
  g_assert_cmpuint (loose_mode_warnings, ==, 1);

  /* a warning only: the mode is the administrator's to fix */
  g_assert_no_errno (lstat (fixture->path, &st));
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
}

static void
test_prepare_cache (Fixture *fixture, gconstpointer user_data)
{
  const char *hostile = "x'); DROP TABLE t;--";
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *insert;
  sqlite3_stmt *select;
  const EhStoreMigration steps[] = { { 1, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);" } };

  migrate_ok (store, "acme", steps, 1);
  insert = eh_store_prepare (store, "INSERT INTO t (v) VALUES (?1)", &error);
  g_assert_no_error (error);
  g_assert_nonnull (insert);
  g_assert_true (eh_store_prepare (store, "INSERT INTO t (v) VALUES (?1)", NULL) == insert);

  sqlite3_bind_text (insert, 1, hostile, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (insert), ==, SQLITE_DONE);

  /* a second fetch comes back with its bindings cleared */
  insert = eh_store_prepare (store, "INSERT INTO t (v) VALUES (?1)", &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (insert), ==, SQLITE_DONE);

  select = eh_store_prepare (store, "SELECT v FROM t ORDER BY id", &error);
  g_assert_no_error (error);
  g_assert_true (select != insert);
  g_assert_cmpint (sqlite3_step (select), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (select, 0), ==, hostile);
  g_assert_cmpint (sqlite3_step (select), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_type (select, 0), ==, SQLITE_NULL);

  /* fetched again mid-iteration, it starts over */
  select = eh_store_prepare (store, "SELECT v FROM t ORDER BY id", &error);
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_step (select), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (select, 0), ==, hostile);
  sqlite3_reset (select);
  g_assert_true (has_table (store, "t"));
}

static void
test_prepare_refuses_bad_sql (Fixture *fixture, gconstpointer user_data)
{
  const char *bad[] = {
    "SELEKT 1",
    "SELECT 1; SELECT 2",
    "",
    "-- nothing",
  };
  g_autoptr (EhStore) store = open_store (fixture->path);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_null (eh_store_prepare (store, bad[i], &error));
    g_assert_error (error, EH_ERROR, EH_ERROR_STORE);
    g_assert_nonnull (strstr (error->message, fixture->path));
  }
  /* one statement with trailing blanks and comments is fine */
  g_assert_cmpint (eh_test_query_int (store, "SELECT 1; -- one\n "), ==, 1);
}

/* inserts the item; an item named "bad" writes a row, then fails */
static gboolean
insert_item (EhStore *store, gpointer user_data, GError **error)
{
  const char *item = user_data;
  sqlite3_stmt *insert = eh_store_prepare (store, "INSERT INTO t (v) VALUES (?1)", error);

  sqlite3_bind_text (insert, 1, item, -1, SQLITE_TRANSIENT);
  if (!eh_store_execute (store, insert, "inserting an item", error))
    return FALSE;
  if (g_str_equal (item, "bad")) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the bad item");
    return FALSE;
  }
  return TRUE;
}

static void
test_savepoint_items_fail_alone (Fixture *fixture, gconstpointer user_data)
{
  const EhStoreMigration steps[] = { { 1, "CREATE TABLE t (v TEXT UNIQUE);" } };
  const char *items[] = { "one", "bad", "two", "one", "three" };
  const gboolean expected[] = { TRUE, FALSE, TRUE, FALSE, TRUE };
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;

  migrate_ok (store, "acme", steps, 1);
  g_assert_true (eh_store_transaction_begin (store, TRUE, &error));
  for (guint i = 0; i < G_N_ELEMENTS (items); i++) {
    g_autoptr (GError) item_error = NULL;

    g_assert_cmpint (eh_store_savepoint (store, insert_item, (gpointer) items[i], &item_error), ==, expected[i]);
    g_assert_true (expected[i] == (item_error == NULL));
  }
  g_assert_true (eh_store_transaction_commit (store, &error));
  g_assert_no_error (error);
  g_clear_object (&store);

  /* the good items are there, once each; nothing of the failed ones */
  store = open_store (fixture->path);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM t"), ==, 3);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM t WHERE v = 'bad'"), ==, 0);
}

static void
test_durable_transaction (Fixture *fixture, gconstpointer user_data)
{
  const EhStoreMigration steps[] = { { 1, "CREATE TABLE t (v TEXT);" } };
  g_autoptr (EhStore) store = open_store (fixture->path);
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *insert;

  migrate_ok (store, "acme", steps, 1);
  g_assert_true (eh_store_transaction_begin (store, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 2);
  g_assert_false (eh_store_transaction_begin (store, FALSE, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_STORE);
  g_clear_error (&error);
  insert = eh_store_prepare (store, "INSERT INTO t (v) VALUES (?1)", &error);
  g_assert_no_error (error);
  sqlite3_bind_text (insert, 1, "kept", -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (insert), ==, SQLITE_DONE);
  g_assert_true (eh_store_transaction_commit (store, &error));
  g_assert_no_error (error);
  /* synchronous stays FULL until an ordinary transaction: a run of durable
   * ones pays for the switch once */
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 2);

  /* a rolled back one leaves nothing */
  g_assert_true (eh_store_transaction_begin (store, TRUE, &error));
  g_assert_no_error (error);
  insert = eh_store_prepare (store, "INSERT INTO t (v) VALUES (?1)", &error);
  sqlite3_bind_text (insert, 1, "dropped", -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (insert), ==, SQLITE_DONE);
  eh_store_transaction_rollback (store);
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 2);

  /* an ordinary one goes back to NORMAL, and the next durable one to FULL */
  g_assert_true (eh_store_transaction_begin (store, FALSE, &error));
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 1);
  g_assert_true (eh_store_transaction_commit (store, &error));
  g_assert_no_error (error);
  g_assert_true (eh_store_transaction_begin (store, TRUE, &error));
  g_assert_cmpint (eh_test_query_int (store, "PRAGMA synchronous"), ==, 2);
  eh_store_transaction_rollback (store);
  g_clear_object (&store);

  store = open_store (fixture->path);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM t"), ==, 1);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM t WHERE v = 'kept'"), ==, 1);
}

static void
test_independent_components (Fixture *fixture, gconstpointer user_data)
{
  const EhStoreMigration core_steps[] = {
    { 1, "CREATE TABLE core_hosts (name TEXT);" },
    { 2, "CREATE TABLE core_keys (name TEXT);" },
  };
  g_autoptr (EhStore) store = open_store (fixture->path);

  migrate_ok (store, "core", core_steps, 1);
  migrate_ok (store, "acme", orders_steps, 3);
  g_assert_cmpuint (schema_version (store, "core"), ==, 1);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
  migrate_ok (store, "core", core_steps, 2);
  g_assert_cmpuint (schema_version (store, "core"), ==, 2);
  g_assert_cmpuint (schema_version (store, "acme"), ==, 3);
  g_assert_cmpuint (schema_version (store, "nobody"), ==, 0);
  g_assert_cmpint (eh_test_query_int (store, "SELECT count(*) FROM eh_schema"), ==, 2);
}

int
main (int argc, char **argv)
{
  const struct {
    const char *path;
    void (*func) (Fixture *, gconstpointer);
  } cases[] = {
    { "/eh/store/open-creates-private-file", test_open_creates_private_file },
    { "/eh/store/open-settings", test_open_settings },
    { "/eh/store/open-garbage-refused", test_open_garbage_refused },
    { "/eh/store/open-symlink-refused", test_open_symlink_refused },
    { "/eh/store/open-not-a-file-refused", test_open_not_a_file_refused },
    { "/eh/store/open-shared-directory-refused", test_open_shared_directory_refused },
    { "/eh/store/open-loose-mode-warns", test_open_loose_mode_warns },
    { "/eh/store/migrate-all-steps", test_migrate_all_steps },
    { "/eh/store/migrate-again-is-noop", test_migrate_again_is_noop },
    { "/eh/store/migrate-new-step-only", test_migrate_new_step_only },
    { "/eh/store/migrate-failure-rolls-back", test_migrate_failure_rolls_back },
    { "/eh/store/migrate-failure-keeps-all-steps-out", test_migrate_failure_keeps_all_steps_out },
    { "/eh/store/migrate-step-cannot-end-transaction", test_migrate_step_cannot_end_transaction },
    { "/eh/store/migrate-downgrade-refused", test_migrate_downgrade_refused },
    { "/eh/store/migrate-bad-steps-refused", test_migrate_bad_steps_refused },
    { "/eh/store/prepare-cache", test_prepare_cache },
    { "/eh/store/prepare-refuses-bad-sql", test_prepare_refuses_bad_sql },
    { "/eh/store/durable-transaction", test_durable_transaction },
    { "/eh/store/savepoint-items-fail-alone", test_savepoint_items_fail_alone },
    { "/eh/store/independent-components", test_independent_components },
  };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add (cases[i].path, Fixture, NULL, fixture_setup, cases[i].func, fixture_teardown);
  return g_test_run ();
}
