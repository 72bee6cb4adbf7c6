/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gmodule.h>

/* a shared object without the factory symbol: the loader must refuse it */
G_MODULE_EXPORT int eh_test_not_a_plugin (void);

G_MODULE_EXPORT int
eh_test_not_a_plugin (void)
{
  return 42;
}
