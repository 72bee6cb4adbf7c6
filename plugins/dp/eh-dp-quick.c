/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-dp.h"

/*
 * Downloads answered without libsoup (eh-quick.h): every answer the
 * decision gives (refusals, 304, 416) and bodies already in memory. A body
 * still on disk (a large one, or a small one not yet read and checked) is
 * declined, and libsoup's handler takes the same request: the decision is
 * taken again there, and a request is only declined when it was going to
 * succeed, so nothing is logged twice.
 */

static const char *
eh_dp_quick_header (gpointer request, const char *name)
{
  return eh_quick_request_get_header (request, name);
}

static void
eh_dp_quick_add_header (gpointer request, const char *name, const char *value)
{
  eh_quick_request_add_header (request, name, value);
}

/* carries out @answer, unless its body is still on disk */
static gboolean
eh_dp_quick_answer (EhQuickRequest *request, const EhDpAnswer *answer)
{
  g_autoptr (GBytes) part = NULL;

  if (answer->kind == EH_DP_ANSWER_BODY && answer->cached == NULL)
    return FALSE;
  eh_dp_answer_log (answer, eh_quick_request_get_id (request));
  eh_dp_answer_headers (answer, eh_dp_quick_add_header, request);
  switch (answer->kind) {
  case EH_DP_ANSWER_TEXT:
    eh_quick_request_answer_text (request, answer->status, answer->text);
    break;
  case EH_DP_ANSWER_NOT_MODIFIED:
    eh_quick_request_answer (request, SOUP_STATUS_NOT_MODIFIED, NULL, NULL);
    break;
  case EH_DP_ANSWER_BODY:
  default:
    part = g_bytes_new_from_bytes (answer->cached, answer->first, answer->length);
    eh_quick_request_answer (request, answer->status, "application/octet-stream", part);
    break;
  }
  return TRUE;
}

static gboolean
eh_dp_quick_download (EhDp *dp, EhQuickRequest *request, gboolean anonymous)
{
  EhDpAnswer answer;
  EhDpAsk ask;
  gboolean answered;

  eh_dp_ask_init (&ask, eh_quick_request_get_subpath (request), anonymous,
                  eh_quick_request_get_range (request), eh_dp_quick_header, request);
  eh_dp_decide_download (dp, &ask, &answer);
  answered = eh_dp_quick_answer (request, &answer);
  eh_dp_answer_clear (&answer);
  return answered;
}

static gboolean
eh_dp_quick_token_handler (EhQuickRequest *request, gpointer user_data)
{
  return eh_dp_quick_download (user_data, request, FALSE);
}

static gboolean
eh_dp_quick_anonymous_handler (EhQuickRequest *request, gpointer user_data)
{
  return eh_dp_quick_download (user_data, request, TRUE);
}

gboolean
eh_dp_quick_start (EhDp *dp, GError **error)
{
  if (!eh_plugin_add_quick_handler (dp->plugin, "GET", EH_DP_DOWNLOAD_PREFIX, eh_dp_quick_token_handler,
                                    dp, error))
    return FALSE;
  if (!dp->allow_anonymous)
    return TRUE;
  return eh_plugin_add_quick_handler (dp->plugin, "GET", EH_DP_ANONYMOUS_PREFIX,
                                      eh_dp_quick_anonymous_handler, dp, error);
}
