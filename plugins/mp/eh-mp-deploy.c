/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Deployments (a content id and what a client does with it, for every
 * client or one collection) and collection membership, in the mp's tables.
 * A deployment's policy body is fixed when it is created, so its SHA-256
 * never changes under a client that already has it.
 */

#define EH_MP_COLLECTION_MAX 64

static const char *const eh_mp_actions[] = { "install", "uninstall", "run", "available", NULL };

void
eh_mp_deployment_free (EhMpDeployment *deployment)
{
  if (deployment == NULL)
    return;
  g_free (deployment->id);
  g_free (deployment->content_id);
  g_free (deployment->action);
  g_free (deployment->collection);
  g_free (deployment->body);
  g_free (deployment->body_sha256);
  g_free (deployment->created_by);
  g_free (deployment);
}

/* the dp's grammar: three of A-Z 0-9 (the site code), five digits */
gboolean
eh_mp_content_id_is_valid (const char *id)
{
  if (id == NULL || strlen (id) != 8)
    return FALSE;
  for (guint i = 0; i < 8; i++) {
    if (i < 3 ? !(g_ascii_isupper (id[i]) || g_ascii_isdigit (id[i])) : !g_ascii_isdigit (id[i]))
      return FALSE;
  }
  return TRUE;
}

gboolean
eh_mp_action_is_valid (const char *action)
{
  return action != NULL && g_strv_contains (eh_mp_actions, action);
}

/* 1–64 of A-Z a-z 0-9 . _ - */
gboolean
eh_mp_collection_name_is_valid (const char *name)
{
  return eh_text_is_word (name, 1, EH_MP_COLLECTION_MAX, "._-");
}

static char *
eh_mp_deploy_text (sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text (stmt, column);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

#define EH_MP_DEPLOYMENT_COLUMNS \
  "id, content_id, action, collection, body, body_sha256, created_by, created_at"

static EhMpDeployment *
eh_mp_deployment_from_row (sqlite3_stmt *stmt)
{
  EhMpDeployment *deployment = g_new0 (EhMpDeployment, 1);

  deployment->id = eh_mp_deploy_text (stmt, 0);
  deployment->content_id = eh_mp_deploy_text (stmt, 1);
  deployment->action = eh_mp_deploy_text (stmt, 2);
  deployment->collection = eh_mp_deploy_text (stmt, 3);
  deployment->body = eh_mp_deploy_text (stmt, 4);
  deployment->body_sha256 = eh_mp_deploy_text (stmt, 5);
  deployment->created_by = eh_mp_deploy_text (stmt, 6);
  deployment->created_at = sqlite3_column_int64 (stmt, 7);
  return deployment;
}

/* runs a bound SELECT of EH_MP_DEPLOYMENT_COLUMNS */
static GPtrArray *
eh_mp_deployments_fetch (EhStore *store, sqlite3_stmt *stmt, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_deployment_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, eh_mp_deployment_from_row (stmt));
  if (rc != SQLITE_DONE)
    eh_store_set_error (store, "reading deployments", error);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc == SQLITE_DONE ? g_steal_pointer (&list) : NULL;
}

EhMpDeployment *
eh_mp_deployment_create (EhStore *store, const char *content_id, const char *action,
                         const char *collection, const char *by, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  g_autoptr (EhMpDeployment) deployment = NULL;

  if (!eh_mp_content_id_is_valid (content_id) || !eh_mp_action_is_valid (action) ||
      (collection != NULL && !eh_mp_collection_name_is_valid (collection))) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a deployment needs a content id like PS100001, an action (install, uninstall, run, "
                 "available) and, when it targets a collection, a name of 1 to 64 of A-Z a-z 0-9 . _ -");
    return NULL;
  }
  stmt = eh_store_prepare (store,
                           "INSERT INTO mp_deployments (" EH_MP_DEPLOYMENT_COLUMNS ") "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return NULL;
  deployment = g_new0 (EhMpDeployment, 1);
  deployment->id = g_uuid_string_random ();
  deployment->content_id = g_strdup (content_id);
  deployment->action = g_strdup (action);
  deployment->collection = g_strdup (collection);
  deployment->created_by = g_strdup (by);
  deployment->created_at = g_get_real_time () / G_USEC_PER_SEC;
  deployment->body = eh_mp_policy_body (deployment->id, content_id, action, collection,
                                        deployment->created_at);
  deployment->body_sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, deployment->body, -1);
  if (!eh_store_transaction_begin (store, TRUE, error))
    return NULL;
  sqlite3_bind_text (stmt, 1, deployment->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, content_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, action, -1, SQLITE_TRANSIENT);
  if (collection != NULL)
    sqlite3_bind_text (stmt, 4, collection, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 4);
  sqlite3_bind_text (stmt, 5, deployment->body, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, deployment->body_sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 7, by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 8, deployment->created_at);
  if (!eh_store_execute (store, stmt, "creating a deployment", error) ||
      !eh_store_transaction_commit (store, error)) {
    eh_store_transaction_rollback (store);
    return NULL;
  }
  return g_steal_pointer (&deployment);
}

GPtrArray *
eh_mp_deployment_list (EhStore *store, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT " EH_MP_DEPLOYMENT_COLUMNS " FROM mp_deployments ORDER BY created_at, rowid", error);

  return stmt != NULL ? eh_mp_deployments_fetch (store, stmt, error) : NULL;
}

GPtrArray *
eh_mp_deployments_for_client (EhStore *store, const char *client_guid, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store,
      "SELECT " EH_MP_DEPLOYMENT_COLUMNS " FROM mp_deployments WHERE collection IS NULL OR "
      "collection IN (SELECT collection FROM mp_collection_members WHERE client_guid = ?) "
      "ORDER BY created_at, rowid",
      error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, client_guid, -1, SQLITE_TRANSIENT);
  return eh_mp_deployments_fetch (store, stmt, error);
}

/* one durable write that must change exactly one row; else @missing */
static gboolean
eh_mp_deploy_write_one (EhStore *store, sqlite3_stmt *stmt, const char *what, EhError missing_code,
                        const char *missing, GError **error)
{
  if (!eh_store_transaction_begin (store, TRUE, error))
    return FALSE;
  if (!eh_store_execute (store, stmt, what, error)) {
    eh_store_transaction_rollback (store);
    return FALSE;
  }
  if (sqlite3_changes (eh_store_get_db (store)) != 1) {
    eh_store_transaction_rollback (store);
    g_set_error_literal (error, EH_ERROR, missing_code, missing);
    return FALSE;
  }
  return eh_store_transaction_commit (store, error);
}

gboolean
eh_mp_deployment_remove (EhStore *store, const char *id, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (store, "DELETE FROM mp_deployments WHERE id = ?", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  return eh_mp_deploy_write_one (store, stmt, "removing a deployment", EH_ERROR_NOT_FOUND,
                                 "no such deployment", error);
}

gboolean
eh_mp_collection_set_member (EhStore *store, const char *collection, const char *client_guid,
                             gboolean member, GError **error)
{
  sqlite3_stmt *stmt;

  if (!eh_mp_collection_name_is_valid (collection)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a collection name is 1 to 64 of A-Z a-z 0-9 . _ -");
    return FALSE;
  }
  stmt = eh_store_prepare (store,
                           member ? "INSERT OR IGNORE INTO mp_collection_members (collection, client_guid) "
                                    "SELECT ?1, guid FROM mp_clients WHERE guid = ?2"
                                  : "DELETE FROM mp_collection_members WHERE collection = ?1 AND client_guid = ?2",
                           error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, collection, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, client_guid, -1, SQLITE_TRANSIENT);
  return eh_mp_deploy_write_one (store, stmt, "changing a collection",
                                 member ? EH_ERROR_EXISTS : EH_ERROR_NOT_FOUND,
                                 member ? "no such client, or it is a member already"
                                        : "the client is not a member of this collection",
                                 error);
}

GPtrArray *
eh_mp_collection_list (EhStore *store, const char *collection, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      store, "SELECT collection, client_guid FROM mp_collection_members "
             "WHERE ?1 IS NULL OR collection = ?1 ORDER BY collection, client_guid", error);
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  int rc;

  if (stmt == NULL)
    return NULL;
  if (collection != NULL)
    sqlite3_bind_text (stmt, 1, collection, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    char **pair = g_new0 (char *, 3);

    pair[0] = eh_mp_deploy_text (stmt, 0);
    pair[1] = eh_mp_deploy_text (stmt, 1);
    g_ptr_array_add (list, pair);
  }
  if (rc != SQLITE_DONE)
    eh_store_set_error (store, "reading collections", error);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc == SQLITE_DONE ? g_steal_pointer (&list) : NULL;
}
