/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eh-core-private.h"
#include "eh-error.h"
#include "eh-front-adopt.h"

/*
 * Internal connections: a plugin's requests to its own host's front over a
 * socket pair instead of TLS over loopback (eh-front-adopt.h). The front
 * adopts one end (eh_front_adopt() in eh-front.c); the plugin keeps the
 * other.
 */

static GSocketConnection *
eh_front_adopt_wrap (int fd, GError **error)
{
  g_autoptr (GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL) {
    close (fd);
    return NULL;
  }
  return g_socket_connection_factory_create_connection (socket);
}

gboolean
eh_plugin_is_own_https_listener (EhPlugin *plugin, const char *https_url)
{
  g_auto (GStrv) urls = eh_plugin_get_listener_urls (plugin);

  return g_str_has_prefix (https_url, "https://") && urls != NULL &&
         g_strv_contains ((const char *const *) urls, https_url);
}

GIOStream *
eh_plugin_connect_internal (EhPlugin *plugin, const char *https_url, GError **error)
{
  g_autoptr (GSocketConnection) front_end = NULL;
  g_autoptr (GSocketConnection) own_end = NULL;
  int fds[2];

  /* anonymous, never in the file system or the abstract namespace, and not
   * inherited by a child: only this process holds either end */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "socketpair: %s", g_strerror (errno));
    return NULL;
  }
  front_end = eh_front_adopt_wrap (fds[0], error);
  if (front_end == NULL) {
    close (fds[1]);
    return NULL;
  }
  own_end = eh_front_adopt_wrap (fds[1], error);
  if (own_end == NULL)
    return NULL;
  if (!eh_front_adopt (eh_core_get_front (plugin->core), https_url, front_end, error))
    return NULL;
  return G_IO_STREAM (g_steal_pointer (&own_end));
}
