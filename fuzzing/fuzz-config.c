/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-core-private.h"

/* a config file is parsed and every [core] value checked; nothing may crash */
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_auto (GStrv) lists = NULL;

  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_writer_func (g_log_writer_default, NULL, NULL);
  g_setenv ("G_MESSAGES_DEBUG", "", TRUE);
  if (!eh_config_load_data (config, (const char *) data, size, "fuzz", NULL))
    return 0;
  if (!eh_config_declare_group (config, "core", eh_core_config_keys (), NULL))
    return 0;
  /* every getter on every declared key must work on checked values */
  for (const EhConfigKey *key = eh_core_config_keys (); key->name != NULL; key++) {
    switch (key->type) {
    case EH_CONFIG_UINT:
      eh_config_get_uint (config, "core", key->name);
      break;
    case EH_CONFIG_BOOLEAN:
      eh_config_get_boolean (config, "core", key->name);
      break;
    case EH_CONFIG_STRING_LIST:
      g_strfreev (eh_config_get_string_list (config, "core", key->name));
      break;
    default:
      eh_config_get_string (config, "core", key->name);
    }
  }
  return 0;
}
