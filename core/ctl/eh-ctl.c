/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-ctl.h"

static int
eh_ctl_exit_code_for (const GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    return EH_CTL_EXIT_NOT_RUNNING;
  if (g_strcmp0 (remote, "org.ehttpd.Error.PermissionDenied") == 0 ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    return EH_CTL_EXIT_DENIED;
  return EH_CTL_EXIT_FAILED;
}

GVariant *
eh_ctl_call (EhCtl *ctl, const char *path, const char *interface, const char *method,
             GVariant *parameters, const GVariantType *reply_type, int *exit_code)
{
  g_autoptr (GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (ctl->bus, "org.ehttpd", path, interface, method,
                                                 parameters, reply_type,
                                                 G_DBUS_CALL_FLAGS_NO_AUTO_START, 30000, NULL,
                                                 &error);

  if (reply != NULL)
    return reply;
  *exit_code = eh_ctl_exit_code_for (error);
  g_dbus_error_strip_remote_error (error);
  switch (*exit_code) {
  case EH_CTL_EXIT_NOT_RUNNING:
    g_printerr ("ehttpctl: ehttpd is not running on this bus (start it, or use --session/--system)\n");
    break;
  case EH_CTL_EXIT_DENIED:
    g_printerr ("ehttpctl: permission denied: %s\n", error->message);
    break;
  default:
    g_printerr ("ehttpctl: %s failed: %s\n", method, error->message);
  }
  return NULL;
}

void
eh_ctl_print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

GVariant *
eh_ctl_call_value (EhCtl *ctl, const char *path, const char *interface, const char *method,
                   GVariant *parameters, const char *reply_type, int *exit_code)
{
  g_autoptr (GVariant) reply = eh_ctl_call (ctl, path, interface, method, parameters,
                                            reply_type != NULL ? G_VARIANT_TYPE (reply_type) : NULL,
                                            exit_code);

  if (reply == NULL || reply_type == NULL || g_variant_n_children (reply) == 0)
    return g_steal_pointer (&reply);
  return g_variant_get_child_value (reply, 0);
}

void
eh_ctl_print_variant_json (GVariant *value)
{
  g_autoptr (JsonNode) node = json_gvariant_serialize (value);

  eh_ctl_print_json (node);
}

char *
eh_ctl_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M:%SZ") : g_strdup ("?");
}

/* one cell's text, by the value's type */
static char *
eh_ctl_cell (GVariant *value, const char *empty)
{
  const GVariantType *type = value != NULL ? g_variant_get_type (value) : NULL;
  char *text = NULL;

  if (type == NULL)
    text = NULL;
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING))
    text = g_variant_dup_string (value, NULL);
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_INT64))
    text = eh_ctl_format_time (g_variant_get_int64 (value));
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_BOOLEAN))
    text = g_strdup (g_variant_get_boolean (value) ? "yes" : "no");
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_STRING_ARRAY)) {
    g_autofree const char **items = g_variant_get_strv (value, NULL);

    text = g_strjoinv (",", (char **) items);
  } else if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT32))
    text = g_strdup_printf ("%u", g_variant_get_uint32 (value));
  else if (g_variant_type_equal (type, G_VARIANT_TYPE_UINT64))
    text = g_strdup_printf ("%" G_GUINT64_FORMAT, g_variant_get_uint64 (value));
  else
    text = g_variant_print (value, FALSE);
  if ((text == NULL || text[0] == '\0') && empty != NULL) {
    g_free (text);
    text = g_strdup (empty);
  }
  return text != NULL ? text : g_strdup ("");
}

/* padded, or the last of its line */
static void
eh_ctl_print_cell (const EhCtlColumn *column, const char *text)
{
  if (column->width > 0)
    g_print ("%-*s ", column->width, text);
  else
    g_print ("%s\n", text);
}

void
eh_ctl_print_table (GVariant *rows, const EhCtlColumn *columns)
{
  GVariantIter iter;
  GVariant *row;

  for (const EhCtlColumn *c = columns; c->header != NULL; c++)
    eh_ctl_print_cell (c, c->header);
  g_variant_iter_init (&iter, rows);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    for (const EhCtlColumn *c = columns; c->header != NULL; c++) {
      g_autoptr (GVariant) value = g_variant_lookup_value (row, c->key, NULL);
      g_autofree char *text = eh_ctl_cell (value, c->empty);

      eh_ctl_print_cell (c, text);
    }
    g_variant_unref (row);
  }
}

int
eh_ctl_list (EhCtl *ctl, int argc, char **argv, const char *usage, const char *path, const char *interface,
             const char *method, const EhCtlColumn *columns)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = eh_ctl_query (ctl, argc, argv, 0, usage, path, interface, method, "(aa{sv})", &code);

  if (list != NULL)
    eh_ctl_print_table (list, columns);
  return code;
}

gboolean
eh_ctl_parse_duration (const char *text, guint64 *seconds)
{
  char *end = NULL;
  guint64 value, unit = 0;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  value = g_ascii_strtoull (text, &end, 10);
  if (g_str_equal (end, "") || g_str_equal (end, "s"))
    unit = 1;
  else if (g_str_equal (end, "m"))
    unit = 60;
  else if (g_str_equal (end, "h"))
    unit = 3600;
  else if (g_str_equal (end, "d"))
    unit = 86400;
  if (unit == 0 || value == 0 || value > G_MAXINT32)
    return FALSE;
  *seconds = value * unit;
  return TRUE;
}

GVariant *
eh_ctl_query (EhCtl *ctl, int argc, char **argv, int n_args, const char *usage, const char *path,
              const char *interface, const char *method, const char *reply_type, int *exit_code)
{
  g_autoptr (GVariant) value = NULL;
  GVariantBuilder parameters;

  if (argc != n_args) {
    g_printerr ("%s", usage);
    *exit_code = EH_CTL_EXIT_USAGE;
    return NULL;
  }
  g_variant_builder_init (&parameters, G_VARIANT_TYPE_TUPLE);
  for (int i = 0; i < n_args; i++)
    g_variant_builder_add (&parameters, "s", argv[i]);
  value = eh_ctl_call_value (ctl, path, interface, method, g_variant_builder_end (&parameters),
                             reply_type, exit_code);
  if (value == NULL)
    return NULL;
  *exit_code = EH_CTL_EXIT_OK;
  if (ctl->json) {
    eh_ctl_print_variant_json (value);
    return NULL;
  }
  return g_steal_pointer (&value);
}
