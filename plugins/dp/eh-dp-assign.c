/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-dp.h"

/*
 * Which content goes to which DP: `ehttpctl content distribute ID --dp
 * NAME` on the site. Kept as one file, assignments.json in the plugin's
 * directory ({"PS100001":["edge1.example"]}), so the library stays files
 * only; the site lists each content's DPs in /ehttpd/dp/library, and an
 * edge with [dp] distribution=assigned pulls only what names it.
 */

struct _EhDpAssignments {
  GHashTable *contents; /* content id → GPtrArray of lower-case DP names, sorted, NULL-terminated */
};

gboolean
eh_dp_name_is_valid (const char *name)
{
  return eh_text_is_word (name, 1, EH_DP_NAME_MAX_BYTES, "._:-");
}

gboolean
eh_dp_names_contain (const char *const *names, const char *name)
{
  for (guint i = 0; names != NULL && names[i] != NULL; i++) {
    if (g_ascii_strcasecmp (names[i], name) == 0)
      return TRUE;
  }
  return FALSE;
}

EhDpAssignments *
eh_dp_assignments_new (void)
{
  EhDpAssignments *assignments = g_new0 (EhDpAssignments, 1);

  assignments->contents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) g_ptr_array_unref);
  return assignments;
}

void
eh_dp_assignments_free (EhDpAssignments *assignments)
{
  if (assignments == NULL)
    return;
  g_hash_table_unref (assignments->contents);
  g_free (assignments);
}

static gint
eh_dp_assignments_compare (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

gboolean
eh_dp_assignments_add (EhDpAssignments *assignments, const char *id, const char *name, GError **error)
{
  GPtrArray *names = g_hash_table_lookup (assignments->contents, id);
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (names != NULL && eh_dp_names_contain ((const char *const *) names->pdata, lower))
    return FALSE;
  if (names != NULL && names->len - 1 >= EH_DP_ASSIGN_MAX_DPS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "content %s is assigned to %d DPs already", id,
                 EH_DP_ASSIGN_MAX_DPS);
    return FALSE;
  }
  if (names == NULL) {
    names = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (names, NULL);
    g_hash_table_insert (assignments->contents, g_strdup (id), names);
  }
  /* the array ends with NULL: put the name before it, then sort what is before it */
  g_ptr_array_insert (names, names->len - 1, g_steal_pointer (&lower));
  g_ptr_array_remove_index (names, names->len - 1);
  g_ptr_array_sort (names, eh_dp_assignments_compare);
  g_ptr_array_add (names, NULL);
  return TRUE;
}

gboolean
eh_dp_assignments_remove (EhDpAssignments *assignments, const char *id, const char *name)
{
  GPtrArray *names = g_hash_table_lookup (assignments->contents, id);

  for (guint i = 0; names != NULL && i + 1 < names->len; i++) {
    if (g_ascii_strcasecmp (g_ptr_array_index (names, i), name) == 0) {
      g_ptr_array_remove_index (names, i);
      if (names->len == 1)
        g_hash_table_remove (assignments->contents, id);
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
eh_dp_assignments_drop (EhDpAssignments *assignments, const char *id)
{
  return g_hash_table_remove (assignments->contents, id);
}

const char *const *
eh_dp_assignments_get (EhDpAssignments *assignments, const char *id)
{
  GPtrArray *names = g_hash_table_lookup (assignments->contents, id);

  return names != NULL ? (const char *const *) names->pdata : NULL;
}

GBytes *
eh_dp_assignments_to_json (EhDpAssignments *assignments)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GList) ids = g_list_sort (g_hash_table_get_keys (assignments->contents), (GCompareFunc) strcmp);
  gsize len = 0;
  char *text;

  json_builder_begin_object (builder);
  for (GList *l = ids; l != NULL; l = l->next) {
    const char *const *names = eh_dp_assignments_get (assignments, l->data);

    json_builder_set_member_name (builder, l->data);
    json_builder_begin_array (builder);
    for (guint i = 0; names[i] != NULL; i++)
      json_builder_add_string_value (builder, names[i]);
    json_builder_end_array (builder);
  }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);
  return g_bytes_new_take (text, len);
}

EhDpAssignments *
eh_dp_assignments_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict (data, len, EH_DP_ASSIGN_MAX_BYTES, 3, error);
  g_autoptr (EhDpAssignments) assignments = eh_dp_assignments_new ();
  g_autoptr (GList) members = NULL;
  JsonObject *object;

  if (node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the assignments are not a JSON object");
    return NULL;
  }
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next) {
    JsonNode *member = json_object_get_member (object, l->data);
    JsonArray *array;

    if (!eh_dp_content_id_is_valid (l->data) || !JSON_NODE_HOLDS_ARRAY (member) ||
        json_array_get_length (array = json_node_get_array (member)) > EH_DP_ASSIGN_MAX_DPS) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "the assignments hold something that is not content id → [at most %d DP names]",
                   EH_DP_ASSIGN_MAX_DPS);
      return NULL;
    }
    for (guint i = 0; i < json_array_get_length (array); i++) {
      JsonNode *element = json_array_get_element (array, i);
      const char *name = JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING
                           ? json_node_get_string (element)
                           : NULL;

      if (!eh_dp_name_is_valid (name)) {
        g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "content %s: a DP name is not valid",
                     (const char *) l->data);
        return NULL;
      }
      if (!eh_dp_assignments_add (assignments, l->data, name, error) && error != NULL && *error != NULL)
        return NULL;
    }
  }
  return g_steal_pointer (&assignments);
}

EhDpAssignments *
eh_dp_assignments_load (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, EH_DP_ASSIGN_FILE, NULL);
  g_autofree char *data = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;
  EhDpAssignments *assignments;

  if (!g_file_get_contents (path, &data, &len, &local)) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return eh_dp_assignments_new ();
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot read %s: %s", path, local->message);
    return NULL;
  }
  assignments = eh_dp_assignments_parse (data, len, &local);
  if (assignments == NULL)
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s is damaged: %s", path, local->message);
  return assignments;
}

/* ── writing, in a thread ─────────────────────────────────────────────── */

static GMutex eh_dp_assignments_lock;

typedef struct {
  char *path;
  GBytes *json;
  guint64 generation;
  guint64 *written; /* the newest generation on disk, under the lock (owned by the EhDp) */
  EhDp *dp;
} EhDpAssignSave;

static void
eh_dp_assign_save_free (EhDpAssignSave *save)
{
  g_free (save->path);
  g_bytes_unref (save->json);
  eh_dp_unref (save->dp);
  g_free (save);
}

static void
eh_dp_assign_save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  EhDpAssignSave *save = task_data;
  GError *error = NULL;
  gboolean ok = TRUE;

  g_mutex_lock (&eh_dp_assignments_lock);
  /* saves finish in any order: an older state never replaces a newer one */
  if (*save->written < save->generation) {
    ok = eh_file_replace (save->path, g_bytes_get_data (save->json, NULL), g_bytes_get_size (save->json), 0600,
                          &error);
    if (ok)
      *save->written = save->generation;
  }
  g_mutex_unlock (&eh_dp_assignments_lock);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
eh_dp_assignments_save (EhDp *dp, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  EhDpAssignSave *save = g_new0 (EhDpAssignSave, 1);

  save->path = g_build_filename (dp->dir, EH_DP_ASSIGN_FILE, NULL);
  save->json = eh_dp_assignments_to_json (dp->assignments);
  save->generation = ++dp->assignments_generation;
  save->written = &dp->assignments_written;
  save->dp = eh_dp_ref (dp);
  g_task_set_task_data (task, save, (GDestroyNotify) eh_dp_assign_save_free);
  g_task_run_in_thread (task, eh_dp_assign_save_thread);
}

gboolean
eh_dp_assignments_save_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
