/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-error.h"
#include "eh-store.h"

#define EH_STORE_BUSY_TIMEOUT_MS 5000

struct _EhStore {
  GObject parent_instance;
  char *path;
  sqlite3 *db;
  GHashTable *statements; /* sql text → sqlite3_stmt */
  gboolean synchronous_full; /* synchronous is FULL now (NORMAL otherwise) */
};

G_DEFINE_FINAL_TYPE (EhStore, eh_store, G_TYPE_OBJECT)

static void
eh_store_statement_free (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
eh_store_dispose (GObject *object)
{
  EhStore *self = EH_STORE (object);

  /* statements first: the connection only really closes without them */
  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db != NULL) {
    if (sqlite3_close_v2 (self->db) != SQLITE_OK)
      g_warning ("%s: closing: %s", self->path, sqlite3_errmsg (self->db));
    self->db = NULL;
  }
  G_OBJECT_CLASS (eh_store_parent_class)->dispose (object);
}

static void
eh_store_finalize (GObject *object)
{
  EhStore *self = EH_STORE (object);

  g_free (self->path);
  G_OBJECT_CLASS (eh_store_parent_class)->finalize (object);
}

static void
eh_store_class_init (EhStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = eh_store_dispose;
  object_class->finalize = eh_store_finalize;
}

static void
eh_store_init (EhStore *self)
{
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            eh_store_statement_free);
}

void
eh_store_set_error (EhStore *store, const char *what, GError **error)
{
  g_return_if_fail (EH_IS_STORE (store));

  g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: %s: %s", store->path, what,
               sqlite3_errmsg (store->db));
}

gboolean
eh_store_execute (EhStore *store, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc;

  g_return_val_if_fail (EH_IS_STORE (store), FALSE);
  /* a RETURNING clause yields rows; the change sticks once the statement is done */
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (store, what, error);
    return FALSE;
  }
  return TRUE;
}

sqlite3 *
eh_store_get_db (EhStore *store)
{
  g_return_val_if_fail (EH_IS_STORE (store), NULL);

  return store->db;
}

/* TRUE when @tail holds nothing but blanks and comments */
static gboolean
eh_store_tail_is_empty (sqlite3 *db, const char *tail)
{
  sqlite3_stmt *extra = NULL;
  int rc;

  while (g_ascii_isspace (*tail))
    tail++;
  if (*tail == '\0')
    return TRUE;
  rc = sqlite3_prepare_v2 (db, tail, -1, &extra, NULL);
  sqlite3_finalize (extra);
  return rc == SQLITE_OK && extra == NULL;
}

sqlite3_stmt *
eh_store_prepare (EhStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *stmt;
  const char *tail = NULL;

  g_return_val_if_fail (EH_IS_STORE (store), NULL);
  g_return_val_if_fail (sql != NULL, NULL);

  stmt = g_hash_table_lookup (store->statements, sql);
  if (stmt != NULL) {
    /* the outcome of the last run went to whoever stepped it */
    sqlite3_reset (stmt);
    sqlite3_clear_bindings (stmt);
    return stmt;
  }
  if (sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail) !=
      SQLITE_OK) {
    g_autofree char *what = g_strdup_printf ("preparing \"%s\"", sql);

    eh_store_set_error (store, what, error);
    return NULL;
  }
  /* anything after the first statement would be silently ignored */
  if (stmt == NULL || !eh_store_tail_is_empty (store->db, tail)) {
    sqlite3_finalize (stmt);
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: \"%s\" is not exactly one statement",
                 store->path, sql);
    return NULL;
  }
  g_hash_table_insert (store->statements, g_strdup (sql), stmt);
  return stmt;
}

/* runs a static statement to its end; the first column of its first row goes to @first */
static gboolean
eh_store_run (EhStore *self, const char *sql, char **first, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    if (first != NULL && *first == NULL)
      *first = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  }
  if (rc != SQLITE_DONE) {
    eh_store_set_error (self, sql, error);
    sqlite3_reset (stmt);
    return FALSE;
  }
  /* a finished statement must not keep a read snapshot open */
  sqlite3_reset (stmt);
  return TRUE;
}

/* the database must not sit where others could swap or plant files */
static gboolean
eh_store_check_parent (const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  struct stat st;

  if (stat (parent, &st) != 0) {
    int saved_errno = errno;

    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: cannot inspect directory %s: %s", path,
                 parent, g_strerror (saved_errno));
    return FALSE;
  }
  if (!S_ISDIR (st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "%s: directory %s is writable by group or others (mode %04o)", path, parent,
                 (guint) (st.st_mode & 07777));
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_store_check_file (const char *path, int fd, gboolean created, GError **error)
{
  struct stat st;

  if (fstat (fd, &st) != 0) {
    int saved_errno = errno;

    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: %s", path, g_strerror (saved_errno));
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "%s: not a regular file", path);
    return FALSE;
  }
  /* the umask may have taken more than we asked; never less than 0600 */
  if (created && fchmod (fd, S_IRUSR | S_IWUSR) != 0) {
    int saved_errno = errno;

    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: setting mode 0600: %s", path,
                 g_strerror (saved_errno));
    return FALSE;
  }
  if (!created && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    g_warning ("%s: mode %04o lets others read the store; it should be 0600", path,
               (guint) (st.st_mode & 07777));
  return TRUE;
}

/* creates the file 0600 when absent; refuses symbolic links and anything not a plain file */
static gboolean
eh_store_ensure_file (const char *path, GError **error)
{
  const int flags = O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  gboolean created = TRUE;
  gboolean ok;
  int fd;

  fd = open (path, flags | O_CREAT | O_EXCL, S_IRUSR | S_IWUSR);
  if (fd < 0 && errno == EEXIST) {
    created = FALSE;
    fd = open (path, flags);
  }
  if (fd < 0) {
    int saved_errno = errno;

    if (saved_errno == ELOOP)
      g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                   "%s: is a symbolic link, refusing to open it", path);
    else
      g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: %s", path, g_strerror (saved_errno));
    return FALSE;
  }
  ok = eh_store_check_file (path, fd, created, error);
  /* closed before SQLite opens it: closing any descriptor drops the process's fcntl locks */
  close (fd);
  return ok;
}

static gboolean
eh_store_configure (EhStore *self, GError **error)
{
  g_autofree char *mode = NULL;

  sqlite3_busy_timeout (self->db, EH_STORE_BUSY_TIMEOUT_MS);
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

  /* read before anything writes: a file that is not a database stays untouched */
  if (!eh_store_run (self, "SELECT count(*) FROM sqlite_schema", NULL, NULL)) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: cannot read it as a SQLite database: %s",
                 self->path, sqlite3_errmsg (self->db));
    return FALSE;
  }
  if (!eh_store_run (self, "PRAGMA journal_mode=WAL", &mode, error))
    return FALSE;
  if (g_strcmp0 (mode, "wal") != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: journal mode is %s, not wal", self->path,
                 mode != NULL ? mode : "unknown");
    return FALSE;
  }
  return eh_store_run (self, "PRAGMA synchronous=NORMAL", NULL, error) &&
         eh_store_run (self, "PRAGMA foreign_keys=ON", NULL, error) &&
         eh_store_run (self, "PRAGMA secure_delete=ON", NULL, error) &&
         eh_store_run (self,
                       "CREATE TABLE IF NOT EXISTS eh_schema ("
                       "component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                       NULL, error);
}

EhStore *
eh_store_open (const char *path, GError **error)
{
  const int flags =
    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
  g_autoptr (EhStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!eh_store_check_parent (path, error) || !eh_store_ensure_file (path, error))
    return NULL;
  self = g_object_new (EH_TYPE_STORE, NULL);
  self->path = g_strdup (path);
  /* a failed open still hands back a handle; dispose closes it */
  if (sqlite3_open_v2 (path, &self->db, flags, NULL) != SQLITE_OK) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: opening: %s", path,
                 self->db != NULL ? sqlite3_errmsg (self->db) : "out of memory");
    return NULL;
  }
  if (!eh_store_configure (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* switches synchronous only when the kind of transaction changes: a run of
 * durable transactions (a CA issuing) pays for the pragma once, and a
 * statement outside any transaction in between is only safer for it */
static gboolean
eh_store_set_synchronous (EhStore *self, gboolean full, GError **error)
{
  if (self->synchronous_full == full)
    return TRUE;
  if (!eh_store_run (self, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, error))
    return FALSE;
  self->synchronous_full = full;
  return TRUE;
}

gboolean
eh_store_transaction_begin (EhStore *store, gboolean durable, GError **error)
{
  g_return_val_if_fail (EH_IS_STORE (store), FALSE);

  if (!sqlite3_get_autocommit (store->db)) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE, "%s: a transaction is already open",
                 store->path);
    return FALSE;
  }
  if (!eh_store_set_synchronous (store, durable, error))
    return FALSE;
  return eh_store_run (store, "BEGIN IMMEDIATE", NULL, error);
}

gboolean
eh_store_transaction_commit (EhStore *store, GError **error)
{
  g_return_val_if_fail (EH_IS_STORE (store), FALSE);

  /* a failed commit must not leave the connection inside the transaction */
  if (!eh_store_run (store, "COMMIT", NULL, error)) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  return TRUE;
}

void
eh_store_transaction_rollback (EhStore *store)
{
  g_autoptr (GError) local_error = NULL;

  g_return_if_fail (EH_IS_STORE (store));

  if (!sqlite3_get_autocommit (store->db) &&
      !eh_store_run (store, "ROLLBACK", NULL, &local_error))
    g_warning ("%s", local_error->message);
}

gboolean
eh_store_savepoint (EhStore *store, EhStoreSavepointFunc func, gpointer user_data, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (EH_IS_STORE (store), FALSE);
  g_return_val_if_fail (!sqlite3_get_autocommit (store->db), FALSE);

  if (!eh_store_run (store, "SAVEPOINT eh_item", NULL, error))
    return FALSE;
  ok = func (store, user_data, error);
  if (!ok && !eh_store_run (store, "ROLLBACK TO eh_item", NULL, &local_error))
    g_warning ("%s", local_error->message);
  g_clear_error (&local_error);
  if (!eh_store_run (store, "RELEASE eh_item", NULL, &local_error))
    g_warning ("%s", local_error->message);
  return ok;
}

guint
eh_store_get_schema_version (EhStore *store, const char *component, GError **error)
{
  sqlite3_stmt *stmt;
  sqlite3_int64 version = 0;
  int rc;

  g_return_val_if_fail (EH_IS_STORE (store), 0);
  g_return_val_if_fail (component != NULL, 0);

  stmt = eh_store_prepare (store, "SELECT version FROM eh_schema WHERE component = ?1", error);
  if (stmt == NULL)
    return 0;
  sqlite3_bind_text (stmt, 1, component, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    eh_store_set_error (store, "reading the schema version", error);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    return 0;
  if (version < 0 || version > G_MAXUINT) {
    g_set_error (error, EH_ERROR, EH_ERROR_STORE,
                 "%s: recorded schema version of %s is not valid (%" G_GINT64_FORMAT ")",
                 store->path, component, (gint64) version);
    return 0;
  }
  return (guint) version;
}

static gboolean
eh_store_record_version (EhStore *self, const char *component, guint version, GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = eh_store_prepare (self,
                           "INSERT INTO eh_schema (component, version) VALUES (?1, ?2) "
                           "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, component, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, version);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    g_set_error (error, EH_ERROR, EH_ERROR_MIGRATION,
                 "migration of %s to version %u failed: %s", component, version,
                 sqlite3_errmsg (self->db));
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE;
}

/* a step runs inside the migration's transaction: it must not end it, reach
 * other files, or rewrite the bookkeeping */
static int
eh_store_authorize_step (void *user_data, int action, const char *arg1, const char *arg2,
                         const char *db_name, const char *trigger)
{
  switch (action) {
  case SQLITE_TRANSACTION:
  case SQLITE_ATTACH:
  case SQLITE_DETACH:
    return SQLITE_DENY;
  case SQLITE_INSERT:
  case SQLITE_UPDATE:
  case SQLITE_DELETE:
  case SQLITE_DROP_TABLE:
    return g_strcmp0 (arg1, "eh_schema") == 0 ? SQLITE_DENY : SQLITE_OK;
  case SQLITE_ALTER_TABLE:
    return g_strcmp0 (arg2, "eh_schema") == 0 ? SQLITE_DENY : SQLITE_OK;
  default:
    return SQLITE_OK;
  }
}

static gboolean
eh_store_run_steps (EhStore *self, const char *component, const EhStoreMigration *steps,
                    guint n_steps, GError **error)
{
  gboolean ok = TRUE;

  sqlite3_set_authorizer (self->db, eh_store_authorize_step, NULL);
  for (guint i = 0; i < n_steps && ok; i++) {
    char *message = NULL;
    int rc = sqlite3_exec (self->db, steps[i].sql, NULL, NULL, &message);

    if (rc != SQLITE_OK) {
      g_set_error (error, EH_ERROR, EH_ERROR_MIGRATION,
                   "migration of %s to version %u failed: %s", component, steps[i].version,
                   message != NULL ? message : sqlite3_errstr (rc));
      ok = FALSE;
    }
    sqlite3_free (message);
  }
  sqlite3_set_authorizer (self->db, NULL, NULL);
  return ok;
}

/* the steps must read 1, 2, 3 … with no gap: anything else is a bug in the caller */
static gboolean
eh_store_check_steps (const char *component, const EhStoreMigration *steps, guint n_steps,
                      GError **error)
{
  if (*component == '\0') {
    g_set_error_literal (error, EH_ERROR, EH_ERROR_MIGRATION,
                         "a schema needs a component name");
    return FALSE;
  }
  for (guint i = 0; i < n_steps; i++) {
    if (steps[i].version != i + 1) {
      g_set_error (error, EH_ERROR, EH_ERROR_MIGRATION,
                   "migration steps of %s must be numbered 1, 2, 3 … without gaps: "
                   "step %u has version %u",
                   component, i + 1, steps[i].version);
      return FALSE;
    }
    if (steps[i].sql == NULL) {
      g_set_error (error, EH_ERROR, EH_ERROR_MIGRATION,
                   "migration of %s to version %u has no statements", component, i + 1);
      return FALSE;
    }
  }
  return TRUE;
}

/* inside the open transaction: brings @component from its recorded version to @n_steps */
static gboolean
eh_store_migrate_locked (EhStore *self, const char *component, const EhStoreMigration *steps,
                         guint n_steps, gboolean *changed, GError **error)
{
  GError *local_error = NULL;
  guint current = eh_store_get_schema_version (self, component, &local_error);

  if (local_error != NULL) {
    g_propagate_error (error, local_error);
    return FALSE;
  }
  if (current > n_steps) {
    g_set_error (error, EH_ERROR, EH_ERROR_MIGRATION,
                 "schema of %s is at version %u, newer than this build knows (%u)", component,
                 current, n_steps);
    return FALSE;
  }
  *changed = current < n_steps;
  if (!*changed)
    return TRUE;
  return eh_store_run_steps (self, component, steps + current, n_steps - current, error) &&
         eh_store_record_version (self, component, n_steps, error);
}

gboolean
eh_store_migrate (EhStore *store, const char *component, const EhStoreMigration *steps,
                  guint n_steps, GError **error)
{
  gboolean changed = FALSE;

  g_return_val_if_fail (EH_IS_STORE (store), FALSE);
  g_return_val_if_fail (component != NULL, FALSE);
  g_return_val_if_fail (steps != NULL || n_steps == 0, FALSE);

  if (!eh_store_check_steps (component, steps, n_steps, error))
    return FALSE;
  if (!eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  if (!eh_store_migrate_locked (store, component, steps, n_steps, &changed, error)) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  /* nothing written: leave the file alone */
  if (!changed) {
    eh_store_transaction_rollback (store);
    return TRUE;
  }
  if (!eh_store_transaction_commit (store, error)) {
    g_prefix_error (error, "migration of %s to version %u failed: ", component, n_steps);
    return FALSE;
  }
  return TRUE;
}
