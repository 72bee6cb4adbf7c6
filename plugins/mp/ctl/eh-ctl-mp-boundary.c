/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-ctl.h"

/* ehttpctl boundary … over org.ehttpd.Mp: which DPs are near which clients */

#define EH_CTL_MP_PATH "/org/ehttpd/Plugin/mp"
#define EH_CTL_MP_IFACE "org.ehttpd.Mp"

static int
eh_ctl_boundary_add (EhCtl *ctl, int argc, char **argv)
{
  g_autoptr (GPtrArray) subnets = g_ptr_array_new ();
  g_autoptr (GPtrArray) dps = g_ptr_array_new ();
  g_autoptr (GVariant) reply = NULL;
  int code = EH_CTL_EXIT_OK;

  for (int i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--subnet") && i + 1 < argc)
      g_ptr_array_add (subnets, argv[++i]);
    else if (g_str_equal (argv[i], "--dp") && i + 1 < argc)
      g_ptr_array_add (dps, argv[++i]);
    else
      subnets->len = 0;
  }
  if (argc < 1 || argv[0][0] == '-' || subnets->len == 0 || dps->len == 0) {
    g_printerr ("usage: ehttpctl boundary add NAME --subnet CIDR [--subnet CIDR…] --dp NAME [--dp NAME…]\n");
    return EH_CTL_EXIT_USAGE;
  }
  g_ptr_array_add (subnets, NULL);
  g_ptr_array_add (dps, NULL);
  reply = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "AddBoundary",
                             g_variant_new ("(s^as^as)", argv[0], (char **) subnets->pdata, (char **) dps->pdata),
                             NULL, &code);
  if (reply != NULL)
    g_print (ctl->json ? "{\"name\": \"%s\", \"added\": true}\n" : "boundary group %s added\n", argv[0]);
  return code;
}

static int
eh_ctl_boundary_remove (EhCtl *ctl, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  int code = EH_CTL_EXIT_OK;

  if (argc != 1) {
    g_printerr ("usage: ehttpctl boundary remove NAME\n");
    return EH_CTL_EXIT_USAGE;
  }
  reply = eh_ctl_call_value (ctl, EH_CTL_MP_PATH, EH_CTL_MP_IFACE, "RemoveBoundary", g_variant_new ("(s)", argv[0]),
                             NULL, &code);
  if (reply != NULL)
    g_print (ctl->json ? "{\"name\": \"%s\", \"removed\": true}\n" : "boundary group %s removed\n", argv[0]);
  return code;
}

static int
eh_ctl_boundary_list (EhCtl *ctl, int argc, char **argv)
{
  int code = EH_CTL_EXIT_OK;
  g_autoptr (GVariant) list = NULL;
  GVariantIter iter;
  GVariant *row;

  list = eh_ctl_query (ctl, argc, argv, 0, "usage: ehttpctl boundary list\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                       "ListBoundaries", "(aa{sv})", &code);
  if (list == NULL)
    return code;
  g_print ("%-20s %-40s %s\n", "BOUNDARY GROUP", "SUBNETS", "DPS");
  g_variant_iter_init (&iter, list);
  while ((row = g_variant_iter_next_value (&iter)) != NULL) {
    g_autofree const char **subnets = NULL;
    g_autofree const char **dps = NULL;
    g_autofree char *subnet_text = NULL;
    g_autofree char *dp_text = NULL;
    const char *name = "";

    g_variant_lookup (row, "name", "&s", &name);
    g_variant_lookup (row, "subnets", "^a&s", &subnets);
    g_variant_lookup (row, "dps", "^a&s", &dps);
    subnet_text = subnets != NULL ? g_strjoinv (",", (char **) subnets) : g_strdup ("");
    dp_text = dps != NULL ? g_strjoinv (",", (char **) dps) : g_strdup ("");
    g_print ("%-20s %-40s %s\n", name, subnet_text, dp_text);
    g_variant_unref (row);
  }
  return code;
}

const EhCtlCommand eh_ctl_boundary_commands[] = {
  { "boundary add", "NAME --subnet CIDR… --dp NAME…", "clients in these subnets get these DPs first (admin)", eh_ctl_boundary_add },
  { "boundary list", "", "boundary groups: subnets and their DPs", eh_ctl_boundary_list },
  { "boundary remove", "NAME", "remove a boundary group (admin)", eh_ctl_boundary_remove },
  { NULL },
};
