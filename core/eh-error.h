/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define EH_ERROR (eh_error_quark ())

/**
 * EhError:
 *
 * The one error domain of the project. Each code maps to a D-Bus error
 * name `org.ehttpd.Error.<Name>` (see eh-error.c); keep the two in step.
 */
typedef enum {
  EH_ERROR_FAILED,            /* anything not covered below */
  EH_ERROR_INVALID_ARGUMENT,  /* a caller passed something malformed */
  EH_ERROR_INVALID_CONFIG,    /* config file, group or key is wrong */
  EH_ERROR_NOT_FOUND,         /* the thing asked for does not exist */
  EH_ERROR_EXISTS,            /* the thing to create already exists */
  EH_ERROR_PERMISSION_DENIED, /* caller lacks the right (D-Bus, files) */
  EH_ERROR_PLUGIN,            /* a plugin could not be loaded or started */
  EH_ERROR_NO_RESPONDER,      /* a bus request nobody answers */
  EH_ERROR_TIMEOUT,           /* something took longer than allowed */
  EH_ERROR_STORE,             /* SQLite failed */
  EH_ERROR_MIGRATION,         /* a schema migration failed or is unknown */
  EH_ERROR_TLS,               /* certificate, key or chain unusable */
  EH_ERROR_CRYPTO,            /* a signature, key or hash operation failed */
  EH_ERROR_INVALID_TOKEN,     /* a token failed verification */
  EH_ERROR_UNAVAILABLE,       /* the service or plugin cannot serve now */
  EH_ERROR_LAST
} EhError;

GQuark eh_error_quark (void);

G_END_DECLS
