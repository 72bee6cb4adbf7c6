/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/*
 * EhStore: the one SQLite file of a host (WAL). Every plugin owns its own
 * tables and its own schema version, migrated in order at start. Prepared
 * statements only: never build SQL from strings.
 */

#define EH_TYPE_STORE (eh_store_get_type ())
G_DECLARE_FINAL_TYPE (EhStore, eh_store, EH, STORE, GObject)

/**
 * EhStoreMigration:
 * @version: the schema version this step produces (1, 2, 3 … in order)
 * @sql: the statements of this step (static text, run with sqlite3_exec)
 */
typedef struct {
  guint version;
  const char *sql;
} EhStoreMigration;

/* opens (creating if absent, mode 0600) the file; WAL, foreign keys on */
EhStore *eh_store_open (const char *path, GError **error);

/**
 * eh_store_migrate:
 * @component: the owner of the schema (a plugin name, or "core")
 * @steps: the migrations, ordered by version, starting at 1
 *
 * Brings @component's schema from its recorded version to the last step's,
 * all steps in one transaction. A failing step rolls everything back and
 * leaves the file as it was; a recorded version newer than the last step is
 * refused (a downgrade). Both are EH_ERROR_MIGRATION errors naming
 * component and version.
 */
gboolean eh_store_migrate (EhStore *store, const char *component, const EhStoreMigration *steps,
                           guint n_steps, GError **error);

/* the recorded schema version of @component, 0 when it has none */
guint eh_store_get_schema_version (EhStore *store, const char *component, GError **error);

/* the raw handle, for prepared statements */
sqlite3 *eh_store_get_db (EhStore *store);

/* a prepared statement cached by its SQL text (owned by the store; reset before return) */
sqlite3_stmt *eh_store_prepare (EhStore *store, const char *sql, GError **error);

/**
 * eh_store_transaction_begin / _commit / _rollback:
 * @durable: run this transaction with synchronous=FULL (CA, registration)
 *
 * BEGIN IMMEDIATE … COMMIT. A durable transaction switches synchronous to
 * FULL; it stays FULL until an ordinary transaction begins (so a run of
 * durable ones pays for the switch once; statements outside transactions in
 * between are only the safer for it).
 */
gboolean eh_store_transaction_begin (EhStore *store, gboolean durable, GError **error);
gboolean eh_store_transaction_commit (EhStore *store, GError **error);
void eh_store_transaction_rollback (EhStore *store);

/**
 * eh_store_savepoint:
 * @func: writes one item of a batch inside the open transaction
 *
 * Runs @func inside a savepoint: what it wrote stays only when it returns
 * %TRUE, so each item of a batch written in one (durable) transaction
 * succeeds or fails alone. @func's own error is returned.
 */
typedef gboolean (*EhStoreSavepointFunc) (EhStore *store, gpointer user_data, GError **error);
gboolean eh_store_savepoint (EhStore *store, EhStoreSavepointFunc func, gpointer user_data, GError **error);

/**
 * eh_store_execute:
 * @stmt: a prepared statement with its parameters bound
 * @what: what it does, for the error ("revoking a certificate")
 *
 * Runs @stmt to its end (rows, if any, are skipped) and resets it.
 * Returns: %FALSE with EH_ERROR_STORE when SQLite fails
 */
gboolean eh_store_execute (EhStore *store, sqlite3_stmt *stmt, const char *what, GError **error);

/* sets a GError (EH_ERROR_STORE) from the connection's last error, with @what as context */
void eh_store_set_error (EhStore *store, const char *what, GError **error);

G_END_DECLS
