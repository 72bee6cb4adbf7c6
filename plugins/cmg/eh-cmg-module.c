/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-cmg.h"

EH_PLUGIN_DEFINE (eh_cmg_plugin)
