/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-config.h"
#include "eh-error.h"

typedef struct {
  char *value;  /* unescaped, as GKeyFile gives it */
  char *origin; /* the file that set it */
} EhConfigValue;

struct _EhConfig {
  GHashTable *groups;   /* group → (key → EhConfigValue) */
  GHashTable *declared; /* group → const EhConfigKey * */
};

static void
eh_config_value_free (EhConfigValue *value)
{
  g_free (value->value);
  g_free (value->origin);
  g_free (value);
}

EhConfig *
eh_config_new_empty (void)
{
  EhConfig *config = g_new0 (EhConfig, 1);

  config->groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_hash_table_unref);
  config->declared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return config;
}

void
eh_config_free (EhConfig *config)
{
  if (config == NULL)
    return;
  g_hash_table_unref (config->groups);
  g_hash_table_unref (config->declared);
  g_free (config);
}

static GHashTable *
eh_config_ensure_group (EhConfig *config, const char *group)
{
  GHashTable *keys = g_hash_table_lookup (config->groups, group);

  if (keys == NULL) {
    keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) eh_config_value_free);
    g_hash_table_insert (config->groups, g_strdup (group), keys);
  }
  return keys;
}

gboolean
eh_config_load_data (EhConfig *config, const char *data, gsize len, const char *origin,
                     GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) groups = NULL;

  if (!g_key_file_load_from_data (file, data, len, G_KEY_FILE_NONE, &local_error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "%s: %s", origin, local_error->message);
    return FALSE;
  }
  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++) {
    g_auto (GStrv) keys = g_key_file_get_keys (file, groups[i], NULL, NULL);
    GHashTable *values = eh_config_ensure_group (config, groups[i]);

    for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
      EhConfigValue *value;
      char *text = g_key_file_get_string (file, groups[i], keys[j], &local_error);

      if (text == NULL) {
        g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "%s: [%s] %s: %s", origin,
                     groups[i], keys[j], local_error->message);
        return FALSE;
      }
      value = g_new0 (EhConfigValue, 1);
      value->value = text;
      value->origin = g_strdup (origin);
      g_hash_table_replace (values, g_strdup (keys[j]), value);
    }
  }
  return TRUE;
}

static gboolean
eh_config_load_file (EhConfig *config, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local_error = NULL;

  if (!g_file_get_contents (path, &data, &len, &local_error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "%s", local_error->message);
    return FALSE;
  }
  return eh_config_load_data (config, data, len, path, error);
}

static gint
eh_config_compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* the drop-ins beside @path, in name order; a missing directory is none */
static gboolean
eh_config_load_drop_ins (EhConfig *config, const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree char *dir_path = g_build_filename (parent, "conf.d", NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (!g_file_test (dir_path, G_FILE_TEST_IS_DIR))
    return TRUE;
  dir = g_dir_open (dir_path, 0, error);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (g_str_has_suffix (name, ".conf") && name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  }
  g_ptr_array_sort (names, eh_config_compare_names);
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *file = g_build_filename (dir_path, g_ptr_array_index (names, i), NULL);

    if (!eh_config_load_file (config, file, error))
      return FALSE;
  }
  return TRUE;
}

EhConfig *
eh_config_load (const char *path, gboolean required, GError **error)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();

  if (g_file_test (path, G_FILE_TEST_EXISTS) || required) {
    if (!eh_config_load_file (config, path, error))
      return NULL;
  }
  if (!eh_config_load_drop_ins (config, path, error))
    return NULL;
  return g_steal_pointer (&config);
}

static const EhConfigKey *
eh_config_find_key (const EhConfigKey *keys, const char *name)
{
  for (guint i = 0; keys[i].name != NULL; i++) {
    if (g_strcmp0 (keys[i].name, name) == 0)
      return &keys[i];
  }
  return NULL;
}

static gboolean
eh_config_parse_boolean (const char *text, gboolean *out)
{
  const char *yes[] = { "true", "yes", "1", NULL };
  const char *no[] = { "false", "no", "0", NULL };

  for (guint i = 0; yes[i] != NULL; i++) {
    if (g_ascii_strcasecmp (text, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp (text, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  return FALSE;
}

static guint64
eh_config_key_max (const EhConfigKey *key)
{
  return key->max == 0 ? G_MAXUINT64 : key->max;
}

/* checks @text against @key; %FALSE with a reason in @why */
static gboolean
eh_config_check_value (const EhConfigKey *key, const char *text, char **why)
{
  gboolean flag;
  guint64 number;

  switch (key->type) {
  case EH_CONFIG_BOOLEAN:
    if (!eh_config_parse_boolean (text, &flag)) {
      *why = g_strdup_printf ("\"%s\" is not a boolean (true or false)", text);
      return FALSE;
    }
    return TRUE;
  case EH_CONFIG_UINT:
    if (!g_ascii_string_to_unsigned (text, 10, key->min, eh_config_key_max (key), &number, NULL)) {
      *why = g_strdup_printf ("\"%s\" is not a whole number from %" G_GUINT64_FORMAT
                              " to %" G_GUINT64_FORMAT,
                              text, key->min, eh_config_key_max (key));
      return FALSE;
    }
    return TRUE;
  case EH_CONFIG_STRING:
  case EH_CONFIG_STRING_LIST:
  default:
    if (!g_utf8_validate (text, -1, NULL)) {
      *why = g_strdup ("value is not valid UTF-8");
      return FALSE;
    }
    return TRUE;
  }
}

gboolean
eh_config_declare_group (EhConfig *config, const char *group, const EhConfigKey *keys,
                         GError **error)
{
  GHashTable *values = g_hash_table_lookup (config->groups, group);
  GHashTableIter iter;
  gpointer name, data;

  g_hash_table_replace (config->declared, g_strdup (group), (gpointer) keys);
  if (values == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, values);
  while (g_hash_table_iter_next (&iter, &name, &data)) {
    EhConfigValue *value = data;
    const EhConfigKey *key = eh_config_find_key (keys, name);
    g_autofree char *why = NULL;

    if (key == NULL) {
      g_warning ("%s: [%s] %s: unknown key, ignored", value->origin, group, (const char *) name);
      continue;
    }
    if (!eh_config_check_value (key, value->value, &why)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "%s: [%s] %s: %s", value->origin,
                   group, (const char *) name, why);
      return FALSE;
    }
  }
  return TRUE;
}

GStrv
eh_config_get_undeclared_groups (EhConfig *config)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  GHashTableIter iter;
  gpointer group;

  g_hash_table_iter_init (&iter, config->groups);
  while (g_hash_table_iter_next (&iter, &group, NULL)) {
    if (!g_hash_table_contains (config->declared, group))
      g_strv_builder_add (builder, group);
  }
  return g_strv_builder_end (builder);
}

/* the declared key; asking for an undeclared one is a programmer error */
static const EhConfigKey *
eh_config_declared_key (EhConfig *config, const char *group, const char *key)
{
  const EhConfigKey *keys = g_hash_table_lookup (config->declared, group);
  const EhConfigKey *found = keys != NULL ? eh_config_find_key (keys, key) : NULL;

  if (found == NULL)
    g_critical ("config key [%s] %s was never declared", group, key);
  return found;
}

static const char *
eh_config_get_text (EhConfig *config, const char *group, const char *key,
                    const EhConfigKey **declared)
{
  GHashTable *values = g_hash_table_lookup (config->groups, group);
  EhConfigValue *value = values != NULL ? g_hash_table_lookup (values, key) : NULL;

  *declared = eh_config_declared_key (config, group, key);
  if (value != NULL)
    return value->value;
  return *declared != NULL ? (*declared)->default_value : NULL;
}

const char *
eh_config_get_string (EhConfig *config, const char *group, const char *key)
{
  const EhConfigKey *declared;

  return eh_config_get_text (config, group, key, &declared);
}

gboolean
eh_config_get_boolean (EhConfig *config, const char *group, const char *key)
{
  const EhConfigKey *declared;
  const char *text = eh_config_get_text (config, group, key, &declared);
  gboolean flag = FALSE;

  if (text != NULL)
    eh_config_parse_boolean (text, &flag);
  return flag;
}

guint64
eh_config_get_uint (EhConfig *config, const char *group, const char *key)
{
  const EhConfigKey *declared;
  const char *text = eh_config_get_text (config, group, key, &declared);
  guint64 number = 0;

  if (text != NULL && declared != NULL)
    g_ascii_string_to_unsigned (text, 10, declared->min, eh_config_key_max (declared), &number, NULL);
  return number;
}

GStrv
eh_config_get_string_list (EhConfig *config, const char *group, const char *key)
{
  const EhConfigKey *declared;
  const char *text = eh_config_get_text (config, group, key, &declared);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) parts = NULL;

  if (text == NULL)
    return g_strv_builder_end (builder);
  parts = g_strsplit_set (text, ",;", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    g_strstrip (parts[i]);
    if (parts[i][0] != '\0')
      g_strv_builder_add (builder, parts[i]);
  }
  return g_strv_builder_end (builder);
}

const char *
eh_config_get_origin (EhConfig *config, const char *group, const char *key)
{
  GHashTable *values = g_hash_table_lookup (config->groups, group);
  EhConfigValue *value = values != NULL ? g_hash_table_lookup (values, key) : NULL;

  return value != NULL ? value->origin : NULL;
}

char *
eh_config_describe_group (const char *group, const EhConfigKey *keys)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "[%s]\n", group);
  for (guint i = 0; keys[i].name != NULL; i++) {
    g_string_append_printf (text, "# %s\n", keys[i].description);
    g_string_append_printf (text, "#%s=%s\n", keys[i].name,
                            keys[i].default_value != NULL ? keys[i].default_value : "");
  }
  return g_string_free (text, FALSE);
}
