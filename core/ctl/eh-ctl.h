/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * ehttpctl: the admin CLI. Each command is an entry in a table; a role
 * adds its commands by contributing a table (plugins/<role>/ctl/) that
 * ehttpctl.c lists. Commands talk to the local daemon over D-Bus only.
 */

typedef struct {
  GDBusConnection *bus;
  gboolean json;
} EhCtl;

typedef struct {
  const char *name;    /* e.g. "status", or "cert revoke" */
  const char *args;    /* argument synopsis for --help */
  const char *summary; /* one line */
  int (*run) (EhCtl *ctl, int argc, char **argv);
} EhCtlCommand;

/* exit codes shared by every command */
enum {
  EH_CTL_EXIT_OK = 0,
  EH_CTL_EXIT_FAILED = 1,      /* the daemon refused or the call failed */
  EH_CTL_EXIT_USAGE = 2,       /* wrong arguments */
  EH_CTL_EXIT_NOT_RUNNING = 3, /* no daemon on the bus */
  EH_CTL_EXIT_DENIED = 4,      /* the caller lacks the right */
};

/* calls a method on the daemon; on failure prints a clear message and sets *exit_code */
GVariant *eh_ctl_call (EhCtl *ctl, const char *path, const char *interface, const char *method,
                       GVariant *parameters, const GVariantType *reply_type, int *exit_code);

/**
 * eh_ctl_call_value:
 * @reply_type: (nullable): the reply's type, e.g. "(a{sv})"; NULL for none
 *
 * eh_ctl_call() for methods that answer one value (or nothing).
 * Returns: (transfer full) (nullable): the reply's first value; for a
 *   method without a reply, the empty tuple; NULL on failure
 */
GVariant *eh_ctl_call_value (EhCtl *ctl, const char *path, const char *interface, const char *method,
                             GVariant *parameters, const char *reply_type, int *exit_code);

/**
 * eh_ctl_query:
 * @n_args: how many arguments the command takes; they are passed as the
 *   method's string parameters, in order
 * @usage: printed (as is) when @argc is not @n_args
 *
 * The start every read command shares: the argument count, the call, and
 * `--json` (printed here).
 * Returns: (transfer full) (nullable): the value to print as text, or NULL
 *   when the command is done, *exit_code saying how
 */
GVariant *eh_ctl_query (EhCtl *ctl, int argc, char **argv, int n_args, const char *usage,
                        const char *path, const char *interface, const char *method,
                        const char *reply_type, int *exit_code);

/* prints @node as pretty JSON on stdout */
void eh_ctl_print_json (JsonNode *node);
/* prints a D-Bus value as pretty JSON on stdout */
void eh_ctl_print_variant_json (GVariant *value);
/**
 * EhCtlColumn:
 * @header: the column's title
 * @key: the row's key (a{sv})
 * @width: padded to this many characters (0: the last column, not padded)
 * @empty: (nullable): shown when the value is missing or an empty string
 *
 * One column of a text table. Values print by their type: strings as
 * they are, `x` as a UTC time, other numbers in decimal, booleans as
 * yes/no, string arrays joined with commas.
 */
typedef struct {
  const char *header;
  const char *key;
  int width;
  const char *empty;
} EhCtlColumn;
/* prints @rows (aa{sv}) as a text table with a header line; @columns ends with a NULL header */
void eh_ctl_print_table (GVariant *rows, const EhCtlColumn *columns);
/* a list command of no arguments: @method answers (aa{sv}), printed as
 * JSON with --json, else as a table of @columns; returns the exit code */
int eh_ctl_list (EhCtl *ctl, int argc, char **argv, const char *usage, const char *path, const char *interface,
                 const char *method, const EhCtlColumn *columns);

/* "2026-11-30 23:45:38Z", or "?" */
char *eh_ctl_format_time (gint64 unix_seconds);
/* "90s", "30m", "12h", "3d" or plain seconds, at least 1; FALSE when not one of those */
gboolean eh_ctl_parse_duration (const char *text, guint64 *seconds);

extern const EhCtlCommand eh_ctl_core_commands[];
extern const EhCtlCommand eh_ctl_ca_commands[]; /* plugins/ca/ctl/ */
extern const EhCtlCommand eh_ctl_dp_commands[]; /* plugins/dp/ctl/ */
extern const EhCtlCommand eh_ctl_mp_commands[]; /* plugins/mp/ctl/ */
extern const EhCtlCommand eh_ctl_boundary_commands[]; /* plugins/mp/ctl/ */
extern const EhCtlCommand eh_ctl_cmg_commands[]; /* plugins/cmg/ctl/ */

G_END_DECLS
