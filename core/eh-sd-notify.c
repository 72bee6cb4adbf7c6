/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "eh-daemon-private.h"

/* the readiness protocol needs no library: one datagram to a unix socket */
void
eh_sd_notify (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len;
  int fd;

  if (path == NULL || (path[0] != '/' && path[0] != '@'))
    return;
  len = strlen (path);
  if (len >= sizeof addr.sun_path)
    return;
  memcpy (addr.sun_path, path, len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0'; /* abstract namespace */
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  if (sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &addr,
              offsetof (struct sockaddr_un, sun_path) + len) < 0)
    g_debug ("readiness notification failed: %s", g_strerror (errno));
  close (fd);
}
