/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * EhConfig: the host's configuration. The main file and then every
 * `conf.d/NAME.conf` drop-ins beside it (in name order) are read as GKeyFiles; a later
 * file overrides an earlier one key by key. Each group is checked against a
 * declared list of keys: unknown keys are warned about, values of the wrong
 * type stop the start with an error naming file, group and key. Defaults
 * live in the declarations, so a key that no file sets reads its default.
 */

typedef struct _EhConfig EhConfig;

typedef enum {
  EH_CONFIG_STRING,
  EH_CONFIG_BOOLEAN,
  EH_CONFIG_UINT,        /* decimal, within [min, max] */
  EH_CONFIG_STRING_LIST, /* comma or semicolon separated */
} EhConfigType;

/**
 * EhConfigKey:
 * @name: the key
 * @type: its type
 * @default_value: the default as it would be written in the file
 *   (NULL: no value; string getters return NULL)
 * @min: smallest value of an EH_CONFIG_UINT
 * @max: largest value of an EH_CONFIG_UINT (0 means G_MAXUINT64)
 * @description: one line for the shipped config and docs
 */
typedef struct {
  const char *name;
  EhConfigType type;
  const char *default_value;
  guint64 min;
  guint64 max;
  const char *description;
} EhConfigKey;

#define EH_CONFIG_KEY_END { NULL, 0, NULL, 0, 0, NULL }

/**
 * eh_config_load:
 * @path: the main file
 * @required: when %FALSE a missing main file counts as empty
 *
 * Reads @path and the drop-ins in `conf.d/` beside it.
 */
EhConfig *eh_config_load (const char *path, gboolean required, GError **error);
/* an empty config (every key at its default), for tests and in-process use */
EhConfig *eh_config_new_empty (void);
/* parses one more file's text over what is loaded; @origin names it in errors */
gboolean eh_config_load_data (EhConfig *config, const char *data, gsize len, const char *origin,
                              GError **error);
void eh_config_free (EhConfig *config);

/**
 * eh_config_declare_group:
 * @keys: the group's keys, ending with EH_CONFIG_KEY_END; must stay valid
 *   as long as @config
 *
 * Declares @group and checks every value set for it. Unknown keys are
 * logged as warnings. Returns %FALSE with EH_ERROR_INVALID_CONFIG naming
 * file, group and key when a value has the wrong type or range.
 */
gboolean eh_config_declare_group (EhConfig *config, const char *group, const EhConfigKey *keys,
                                  GError **error);

/* the groups present in the files that nobody declared (for warnings) */
GStrv eh_config_get_undeclared_groups (EhConfig *config);

/* getters for declared keys; values were checked at declaration */
const char *eh_config_get_string (EhConfig *config, const char *group, const char *key);
gboolean eh_config_get_boolean (EhConfig *config, const char *group, const char *key);
guint64 eh_config_get_uint (EhConfig *config, const char *group, const char *key);
/* (transfer full) */
GStrv eh_config_get_string_list (EhConfig *config, const char *group, const char *key);
/* the file that set the key, or NULL when it has its default */
const char *eh_config_get_origin (EhConfig *config, const char *group, const char *key);

/* the shipped config text: every declared key, commented out with its default */
char *eh_config_describe_group (const char *group, const EhConfigKey *keys);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhConfig, eh_config_free)

G_END_DECLS
