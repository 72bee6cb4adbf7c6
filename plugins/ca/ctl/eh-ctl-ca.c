/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eh-ctl.h"

/* ehttpctl ca …, cert …, join-token … over org.ehttpd.Ca */

#define EH_CTL_CA_PATH "/org/ehttpd/Plugin/ca"
#define EH_CTL_CA_IFACE "org.ehttpd.Ca"

/* "--flag VALUE" or "--flag=VALUE" options; everything else is positional */
typedef struct {
  GPtrArray *roles;
  GPtrArray *names;
  char *kind;
  char *reason;
  char *ttl;
  char *csr;
  GPtrArray *positional;
} EhCtlCaArgs;

static void
eh_ctl_ca_args_clear (EhCtlCaArgs *args)
{
  g_ptr_array_unref (args->roles);
  g_ptr_array_unref (args->names);
  g_ptr_array_unref (args->positional);
  g_free (args->kind);
  g_free (args->reason);
  g_free (args->ttl);
  g_free (args->csr);
}

static gboolean
eh_ctl_ca_parse (int argc, char **argv, const char *allowed, EhCtlCaArgs *args)
{
  args->roles = g_ptr_array_new_null_terminated (2, g_free, TRUE);
  args->names = g_ptr_array_new_null_terminated (2, g_free, TRUE);
  args->positional = g_ptr_array_new_null_terminated (2, g_free, TRUE);
  for (int i = 0; i < argc; i++) {
    g_autofree char *flag = NULL;
    const char *value = NULL;
    const char *eq;

    if (!g_str_has_prefix (argv[i], "--")) {
      g_ptr_array_add (args->positional, g_strdup (argv[i]));
      continue;
    }
    eq = strchr (argv[i], '=');
    flag = eq != NULL ? g_strndup (argv[i] + 2, eq - argv[i] - 2) : g_strdup (argv[i] + 2);
    value = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (value == NULL || strstr (allowed, flag) == NULL || flag[0] == '\0') {
      g_printerr ("ehttpctl: unknown option or missing value: %s\n", argv[i]);
      return FALSE;
    }
    if (g_strcmp0 (flag, "role") == 0)
      g_ptr_array_add (args->roles, g_strdup (value));
    else if (g_strcmp0 (flag, "name") == 0)
      g_ptr_array_add (args->names, g_strdup (value));
    else if (g_strcmp0 (flag, "kind") == 0)
      { g_free (args->kind); args->kind = g_strdup (value); }
    else if (g_strcmp0 (flag, "reason") == 0)
      { g_free (args->reason); args->reason = g_strdup (value); }
    else if (g_strcmp0 (flag, "ttl") == 0)
      { g_free (args->ttl); args->ttl = g_strdup (value); }
    else if (g_strcmp0 (flag, "csr") == 0)
      { g_free (args->csr); args->csr = g_strdup (value); }
    else {
      g_printerr ("ehttpctl: unknown option --%s\n", flag);
      return FALSE;
    }
  }
  return TRUE;
}

static int
eh_ctl_ca_show (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) ca = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl ca show\n",
                                          EH_CTL_CA_PATH, EH_CTL_CA_IFACE, "Show", "(a{sv})", &code);
  const char *site = "", *fingerprint = "", *key = "", *location = "", *signing = "", *line = "";
  gint64 not_after = 0;
  g_autofree char *expires = NULL;

  if (ca == NULL)
    return code;
  g_variant_lookup (ca, "site-code", "&s", &site);
  g_variant_lookup (ca, "root-fingerprint", "&s", &fingerprint);
  g_variant_lookup (ca, "root-key", "&s", &key);
  g_variant_lookup (ca, "root-key-location", "&s", &location);
  g_variant_lookup (ca, "root-not-after", "x", &not_after);
  g_variant_lookup (ca, "site-signing-fingerprint", "&s", &signing);
  g_variant_lookup (ca, "join-line", "&s", &line);
  expires = eh_ctl_format_time (not_after);
  g_print ("site:           %s\nroot:           %s\nroot key:       %s (%s)\nroot expires:   %s\n"
           "site signing:   %s\n\na new host needs, in its [site] group:\n  %s\n",
           site, fingerprint, key, location, expires, signing, line);
  return code;
}

static void
eh_ctl_ca_print_certificates (GVariant *list)
{
  static const EhCtlColumn columns[] = {
    { "SERIAL", "serial", 40 }, { "KIND", "kind", 13 }, { "STATE", "state", 9 }, { "EXPIRES", "not-after", 20 },
    { "SUBJECT", "subject", 24 }, { "ROLES", "roles", 0 }, { NULL },
  };

  eh_ctl_print_table (list, columns);
}

static int
eh_ctl_cert_list (EhCtl *ctl, int argc, char **argv)
{
  EhCtlCaArgs args = { 0 };
  g_autoptr (GVariant) list = NULL;
  int code = EH_CTL_EXIT_OK;

  if (!eh_ctl_ca_parse (argc, argv, "kind", &args) || args.positional->len > 0) {
    eh_ctl_ca_args_clear (&args);
    return EH_CTL_EXIT_USAGE;
  }
  list = eh_ctl_call_value (ctl, EH_CTL_CA_PATH, EH_CTL_CA_IFACE, "ListCertificates",
                            g_variant_new ("(s)", args.kind ? args.kind : ""), "(aa{sv})", &code);
  eh_ctl_ca_args_clear (&args);
  if (list == NULL)
    return code;
  if (ctl->json)
    eh_ctl_print_variant_json (list);
  else
    eh_ctl_ca_print_certificates (list);
  return code;
}

static int
eh_ctl_cert_show (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) cert = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  cert = eh_ctl_query (ctl, argc, argv, 1, "usage: ehttpctl cert show SERIAL\n", EH_CTL_CA_PATH, EH_CTL_CA_IFACE,
                        "ShowCertificate", "(a{sv})", &code);
  if (cert == NULL)
    return code;
  g_variant_iter_init (&iter, cert);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value)) {
    g_autofree char *text = NULL;

    if (g_strcmp0 (key, "pem") == 0)
      text = g_strdup ("(below)");
    else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
      text = eh_ctl_format_time (g_variant_get_int64 (value));
    else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
      text = g_variant_dup_string (value, NULL);
    else
      text = g_variant_print (value, FALSE);
    g_print ("%-12s %s\n", key, text);
    g_variant_unref (value);
  }
  if (g_variant_lookup (cert, "pem", "&s", &key))
    g_print ("\n%s", key);
  return code;
}

static int
eh_ctl_cert_issue (EhCtl *ctl, int argc, char **argv)
{
  EhCtlCaArgs args = { 0 };
  g_autofree char *csr = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) cert = NULL;
  const char *chain = NULL;
  int code = EH_CTL_EXIT_OK;

  if (!eh_ctl_ca_parse (argc, argv, "csr role name", &args) || args.csr == NULL ||
      args.positional->len > 0) {
    g_printerr ("usage: ehttpctl cert issue --csr FILE --role ROLE [--role …] --name NAME [--name …]\n");
    eh_ctl_ca_args_clear (&args);
    return EH_CTL_EXIT_USAGE;
  }
  if (!g_file_get_contents (args.csr, &csr, NULL, &error)) {
    g_printerr ("ehttpctl: %s\n", error->message);
    eh_ctl_ca_args_clear (&args);
    return EH_CTL_EXIT_FAILED;
  }
  /* D-Bus strings are UTF-8: a binary file is not a PEM CSR anyway */
  if (!g_utf8_validate (csr, -1, NULL)) {
    g_printerr ("ehttpctl: %s is not a PEM certificate request\n", args.csr);
    eh_ctl_ca_args_clear (&args);
    return EH_CTL_EXIT_FAILED;
  }
  cert = eh_ctl_call_value (
      ctl, EH_CTL_CA_PATH, EH_CTL_CA_IFACE, "IssueCertificate",
      g_variant_new ("(s^as^as)", csr, (char **)args.names->pdata, (char **)args.roles->pdata),
      "(a{sv})", &code);
  eh_ctl_ca_args_clear (&args);
  if (cert == NULL)
    return code;
  if (ctl->json)
    eh_ctl_print_variant_json (cert);
  else if (g_variant_lookup (cert, "chain-pem", "&s", &chain))
    g_print ("%s", chain);
  return code;
}

static int
eh_ctl_cert_revoke (EhCtl *ctl, int argc, char **argv)
{
  EhCtlCaArgs args = { 0 };
  g_autoptr (GVariant) reply = NULL;
  int code = EH_CTL_EXIT_OK;

  if (!eh_ctl_ca_parse (argc, argv, "reason", &args) || args.positional->len != 1) {
    g_printerr ("usage: ehttpctl cert revoke SERIAL [--reason unspecified|key-compromise|"
                "affiliation-changed|superseded|cessation-of-operation]\n");
    eh_ctl_ca_args_clear (&args);
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call_value (ctl, EH_CTL_CA_PATH, EH_CTL_CA_IFACE, "RevokeCertificate",
                             g_variant_new ("(ss)", (char *)args.positional->pdata[0],
                                            args.reason != NULL ? args.reason : "unspecified"),
                             NULL, &code);
  if (reply != NULL)
    g_print (ctl->json ? "{ \"revoked\" : \"%s\" }\n" : "revoked %s\n", (char *) args.positional->pdata[0]);
  eh_ctl_ca_args_clear (&args);
  return code;
}

static int
eh_ctl_join_create (EhCtl *ctl, int argc, char **argv)
{
  EhCtlCaArgs args = { 0 };
  g_autoptr (GVariant) token = NULL;
  guint64 ttl = 3600;
  const char *text = "", *id = "", *fingerprint = "";
  gint64 expires_at = 0;
  g_autofree char *expires = NULL;
  int code = EH_CTL_EXIT_OK;

  if (!eh_ctl_ca_parse (argc, argv, "role name ttl", &args) || args.positional->len > 0 ||
      args.roles->len == 0 || (args.ttl != NULL && !eh_ctl_parse_duration (args.ttl, &ttl))) {
    g_printerr ("usage: ehttpctl join-token create --role ROLE [--role …] [--name NAME …] [--ttl 1h]\n");
    eh_ctl_ca_args_clear (&args);
    return EH_CTL_EXIT_USAGE;
  }
  token = eh_ctl_call_value (
      ctl, EH_CTL_CA_PATH, EH_CTL_CA_IFACE, "CreateJoinToken",
      g_variant_new ("(^as^ast)", (char **)args.roles->pdata, (char **)args.names->pdata, ttl),
      "(a{sv})", &code);
  eh_ctl_ca_args_clear (&args);
  if (token == NULL)
    return code;
  if (ctl->json) {
    eh_ctl_print_variant_json (token);
    return code;
  }
  g_variant_lookup (token, "token", "&s", &text);
  g_variant_lookup (token, "id", "&s", &id);
  g_variant_lookup (token, "expires-at", "x", &expires_at);
  g_variant_lookup (token, "root-fingerprint", "&s", &fingerprint);
  expires = eh_ctl_format_time (expires_at);
  g_print ("%s\n\nid %s, one use, expires %s. On the new host, in [site]:\n"
           "  upstream=https://THIS-SITE:PORT\n  root-fingerprint=%s\n  join-token=%s\n",
           text, id, expires, fingerprint, text);
  return code;
}

static int
eh_ctl_join_list (EhCtl *ctl, int argc, char **argv)
{
  static const EhCtlColumn columns[] = {
    { "ID", "id", 16 }, { "STATE", "state", 8 }, { "EXPIRES", "expires-at", 20 }, { "ROLES", "roles", 16 },
    { "USED BY", "used-by", 0 }, { NULL },
  };

  return eh_ctl_list (ctl, argc, argv, "usage: ehttpctl join-token list\n", EH_CTL_CA_PATH, EH_CTL_CA_IFACE,
                      "ListJoinTokens", columns);
}

static int
eh_ctl_join_revoke (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) reply = NULL;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl join-token revoke ID\n");
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call_value (ctl, EH_CTL_CA_PATH, EH_CTL_CA_IFACE, "RevokeJoinToken",
                             g_variant_new ("(s)", argv[0]), NULL, &code);
  if (reply != NULL)
    g_print (ctl->json ? "{ \"revoked\" : \"%s\" }\n" : "join token %s revoked\n", argv[0]);
  return code;
}

const EhCtlCommand eh_ctl_ca_commands[] = {
  { "ca show", "", "the site's root fingerprint and the line a new host needs", eh_ctl_ca_show },
  { "cert list", "[--kind root|site-signing|role|token-signing]", "certificates the site issued", eh_ctl_cert_list },
  { "cert show", "SERIAL", "one certificate, with its PEM", eh_ctl_cert_show },
  { "cert issue", "--csr FILE --role R --name N", "issue a role certificate from a CSR (admin)", eh_ctl_cert_issue },
  { "cert revoke", "SERIAL [--reason R]", "revoke a certificate (admin)", eh_ctl_cert_revoke },
  { "join-token create", "--role R [--name N] [--ttl 1h]", "a one-time token for a new host (admin)", eh_ctl_join_create },
  { "join-token list", "", "join tokens and their state", eh_ctl_join_list },
  { "join-token revoke", "ID", "revoke an unused join token (admin)", eh_ctl_join_revoke },
  { NULL },
};
