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
  static const EhCtlColumn columns[] = {
    { "BOUNDARY GROUP", "name", 20 }, { "SUBNETS", "subnets", 40 }, { "DPS", "dps", 0 }, { NULL },
  };

  return eh_ctl_list (ctl, argc, argv, "usage: ehttpctl boundary list\n", EH_CTL_MP_PATH, EH_CTL_MP_IFACE,
                      "ListBoundaries", columns);
}

const EhCtlCommand eh_ctl_boundary_commands[] = {
  { "boundary add", "NAME --subnet CIDR… --dp NAME…", "clients in these subnets get these DPs first (admin)", eh_ctl_boundary_add },
  { "boundary list", "", "boundary groups: subnets and their DPs", eh_ctl_boundary_list },
  { "boundary remove", "NAME", "remove a boundary group (admin)", eh_ctl_boundary_remove },
  { NULL },
};
