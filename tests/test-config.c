/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "ehttpd.h"
#include "eh-test-util.h"

static const EhConfigKey test_keys[] = {
  { "name", EH_CONFIG_STRING, "default-name", 0, 0, "a name" },
  { "enabled", EH_CONFIG_BOOLEAN, "false", 0, 0, "a flag" },
  { "count", EH_CONFIG_UINT, "7", 1, 100, "a number" },
  { "list", EH_CONFIG_STRING_LIST, "a,b", 0, 0, "a list" },
  EH_CONFIG_KEY_END
};

static void
test_defaults (void)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_auto (GStrv) list = NULL;

  g_assert_true (eh_config_declare_group (config, "t", test_keys, NULL));
  g_assert_cmpstr (eh_config_get_string (config, "t", "name"), ==, "default-name");
  g_assert_false (eh_config_get_boolean (config, "t", "enabled"));
  g_assert_cmpuint (eh_config_get_uint (config, "t", "count"), ==, 7);
  list = eh_config_get_string_list (config, "t", "list");
  g_assert_cmpuint (g_strv_length (list), ==, 2);
  g_assert_cmpstr (list[1], ==, "b");
  g_assert_null (eh_config_get_origin (config, "t", "name"));
}

static void
test_values_and_origin (void)
{
  const char *text = "[t]\nname=site\nenabled=yes\ncount=100\nlist= x ; y,,z \n";
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_auto (GStrv) list = NULL;

  g_assert_true (eh_config_load_data (config, text, -1, "/etc/a.conf", NULL));
  g_assert_true (eh_config_declare_group (config, "t", test_keys, NULL));
  g_assert_cmpstr (eh_config_get_string (config, "t", "name"), ==, "site");
  g_assert_true (eh_config_get_boolean (config, "t", "enabled"));
  g_assert_cmpuint (eh_config_get_uint (config, "t", "count"), ==, 100);
  list = eh_config_get_string_list (config, "t", "list");
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "x");
  g_assert_cmpstr (list[2], ==, "z");
  g_assert_cmpstr (eh_config_get_origin (config, "t", "count"), ==, "/etc/a.conf");
}

static void
assert_refused (const char *text, const char *expected)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_autoptr (GError) error = NULL;

  g_assert_true (eh_config_load_data (config, text, -1, "/etc/bad.conf", NULL));
  g_assert_false (eh_config_declare_group (config, "t", test_keys, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG);
  g_assert_nonnull (strstr (error->message, expected));
}

static void
test_wrong_types (void)
{
  assert_refused ("[t]\ncount=abc\n", "/etc/bad.conf: [t] count: \"abc\" is not a whole number");
  assert_refused ("[t]\ncount=0\n", "[t] count");
  assert_refused ("[t]\ncount=101\n", "from 1 to 100");
  assert_refused ("[t]\ncount=-1\n", "[t] count");
  assert_refused ("[t]\ncount=99999999999999999999999\n", "[t] count");
  assert_refused ("[t]\nenabled=maybe\n", "[t] enabled: \"maybe\" is not a boolean");
}

static void
test_unknown_key_warns (void)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();

  g_assert_true (eh_config_load_data (config, "[t]\nnmae=typo\n", -1, "/etc/x.conf", NULL));
  g_test_expect_message ("ehttpd", G_LOG_LEVEL_WARNING, "*/etc/x.conf: [t] nmae: unknown key*");
  g_assert_true (eh_config_declare_group (config, "t", test_keys, NULL));
  g_test_assert_expected_messages ();
}

static void
test_syntax_error_names_file (void)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_config_load_data (config, "[t\nname=x\n", -1, "/etc/broken.conf", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "/etc/broken.conf: "));
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_drop_ins_in_order (void)
{
  g_autofree char *dir = g_dir_make_tmp ("eh-config-XXXXXX", NULL);
  g_autofree char *conf_d = g_build_filename (dir, "conf.d", NULL);
  g_autofree char *main_path = g_build_filename (dir, "ehttpd.conf", NULL);
  g_autoptr (EhConfig) config = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (conf_d, 0700), ==, 0);
  write_file (dir, "ehttpd.conf", "[t]\nname=main\ncount=1\n");
  write_file (conf_d, "20-b.conf", "[t]\nname=b\n");
  write_file (conf_d, "10-a.conf", "[t]\nname=a\ncount=2\n");
  write_file (conf_d, "30-ignored.txt", "[t]\nname=ignored\n");
  config = eh_config_load (main_path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (eh_config_declare_group (config, "t", test_keys, NULL));
  g_assert_cmpstr (eh_config_get_string (config, "t", "name"), ==, "b");
  g_assert_cmpuint (eh_config_get_uint (config, "t", "count"), ==, 2);
  g_assert_true (g_str_has_suffix (eh_config_get_origin (config, "t", "count"), "10-a.conf"));
  eh_test_remove_tree (dir);
}

static void
test_missing_main_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhConfig) optional = eh_config_load ("/nonexistent/ehttpd.conf", FALSE, &error);
  g_autoptr (EhConfig) required = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (optional);
  required = eh_config_load ("/nonexistent/ehttpd.conf", TRUE, &error);
  g_assert_null (required);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG);
}

static void
test_undeclared_groups (void)
{
  g_autoptr (EhConfig) config = eh_config_new_empty ();
  g_auto (GStrv) groups = NULL;

  g_assert_true (eh_config_load_data (config, "[t]\n[other]\nk=v\n", -1, "x", NULL));
  g_assert_true (eh_config_declare_group (config, "t", test_keys, NULL));
  groups = eh_config_get_undeclared_groups (config);
  g_assert_cmpuint (g_strv_length (groups), ==, 1);
  g_assert_cmpstr (groups[0], ==, "other");
}

static void
test_describe (void)
{
  g_autofree char *text = eh_config_describe_group ("t", test_keys);

  g_assert_nonnull (strstr (text, "[t]\n# a name\n#name=default-name\n"));
  g_assert_nonnull (strstr (text, "#count=7\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/config/defaults", test_defaults);
  g_test_add_func ("/eh/config/values-and-origin", test_values_and_origin);
  g_test_add_func ("/eh/config/wrong-types", test_wrong_types);
  g_test_add_func ("/eh/config/unknown-key-warns", test_unknown_key_warns);
  g_test_add_func ("/eh/config/syntax-error-names-file", test_syntax_error_names_file);
  g_test_add_func ("/eh/config/drop-ins-in-order", test_drop_ins_in_order);
  g_test_add_func ("/eh/config/missing-main-file", test_missing_main_file);
  g_test_add_func ("/eh/config/undeclared-groups", test_undeclared_groups);
  g_test_add_func ("/eh/config/describe", test_describe);
  return g_test_run ();
}
