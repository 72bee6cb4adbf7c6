/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Where the Entra exchange gets its keys: `[mp] entra-jwks`, a file path or
 * an https:// URL (checked against `entra-jwks-ca` when set, else the
 * system's trust). The set is read at start; a token whose kid is not in it
 * asks for a refresh, at most once per `entra-jwks-refresh` seconds, so a
 * flood of made-up kids costs the issuer one fetch per interval. Tokens
 * that arrive while a fetch runs wait for it (their requests are paused)
 * and are checked again against the new set. A fetch is read with a cap;
 * a set that does not parse is logged and the previous one stays.
 */

#define EH_MP_JWKS_TIMEOUT_SECONDS 10

typedef struct {
  char *token;
  EhMpEntraVerified done;
  gpointer user_data;
} EhMpEntraWaiter;

typedef struct {
  EhMp *mp;
  GInputStream *stream;
  guint8 *buffer;
  SoupMessage *message;
} EhMpJwksFetch;

static void eh_mp_entra_settle (EhMp *mp, const char *token, gboolean may_refresh, EhMpEntraVerified done,
                                gpointer user_data);

static void
eh_mp_jwks_fetch_free (EhMpJwksFetch *fetch)
{
  g_clear_object (&fetch->stream);
  g_clear_object (&fetch->message);
  g_free (fetch->buffer);
  g_free (fetch);
}

static void
eh_mp_entra_waiter_free (EhMpEntraWaiter *waiter)
{
  g_free (waiter->token);
  g_free (waiter);
}

/* the fetch is over (with or without a new set): every waiter is checked again, no more refreshes */
static void
eh_mp_entra_fetch_done (EhMp *mp)
{
  GList *waiters = g_list_reverse (g_steal_pointer (&mp->entra_waiters));

  mp->entra_fetching = FALSE;
  for (GList *l = waiters; l != NULL; l = l->next) {
    EhMpEntraWaiter *waiter = l->data;

    eh_mp_entra_settle (mp, waiter->token, FALSE, waiter->done, waiter->user_data);
  }
  g_list_free_full (waiters, (GDestroyNotify) eh_mp_entra_waiter_free);
}

static void
eh_mp_jwks_read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhMpJwksFetch *fetch = user_data;
  EhMp *mp = fetch->mp;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhMpJwks) jwks = NULL;
  gsize len = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &len, &error)) {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      eh_mp_jwks_fetch_free (fetch);
      return;
    }
  } else if (len > EH_MP_JWKS_MAX_BYTES) {
    error = g_error_new (EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "larger than %d bytes", EH_MP_JWKS_MAX_BYTES);
  } else {
    jwks = eh_mp_jwks_parse ((const char *) fetch->buffer, len, &error);
  }
  if (jwks != NULL) {
    g_message ("Entra JWKS from %s: %u RSA key(s)", mp->entra_jwks_source, eh_mp_jwks_size (jwks));
    eh_mp_jwks_free (mp->entra_jwks);
    mp->entra_jwks = g_steal_pointer (&jwks);
  } else {
    g_warning ("the Entra JWKS from %s was refused (the previous one stays): %s", mp->entra_jwks_source,
               error->message);
  }
  eh_mp_jwks_fetch_free (fetch);
  eh_mp_entra_fetch_done (mp);
}

static void
eh_mp_jwks_read (EhMpJwksFetch *fetch, GInputStream *stream)
{
  /* one byte more than the cap tells a document that is too large */
  fetch->stream = stream;
  fetch->buffer = g_malloc (EH_MP_JWKS_MAX_BYTES + 1);
  g_input_stream_read_all_async (stream, fetch->buffer, EH_MP_JWKS_MAX_BYTES + 1, G_PRIORITY_DEFAULT,
                                 fetch->mp->entra_cancellable, eh_mp_jwks_read_done, fetch);
}

static void
eh_mp_jwks_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  EhMpJwksFetch *fetch = user_data;
  EhMp *mp = fetch->mp;
  g_autoptr (GError) error = NULL;
  GInputStream *stream;

  if (SOUP_IS_SESSION (source))
    stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  else
    stream = G_INPUT_STREAM (g_file_read_finish (G_FILE (source), result, &error));
  if (stream != NULL && fetch->message != NULL &&
      soup_message_get_status (fetch->message) != SOUP_STATUS_OK) {
    error = g_error_new (EH_ERROR, EH_ERROR_UNAVAILABLE, "HTTP status %u",
                         soup_message_get_status (fetch->message));
    g_clear_object (&stream);
  }
  if (stream == NULL) {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      eh_mp_jwks_fetch_free (fetch);
      return;
    }
    g_warning ("the Entra JWKS could not be read from %s: %s", mp->entra_jwks_source, error->message);
    eh_mp_jwks_fetch_free (fetch);
    eh_mp_entra_fetch_done (mp);
    return;
  }
  eh_mp_jwks_read (fetch, stream);
}

static void
eh_mp_entra_fetch (EhMp *mp)
{
  EhMpJwksFetch *fetch = g_new0 (EhMpJwksFetch, 1);

  fetch->mp = mp;
  mp->entra_fetching = TRUE;
  mp->entra_fetches++;
  if (mp->entra_session != NULL) {
    fetch->message = soup_message_new ("GET", mp->entra_jwks_source);
    soup_session_send_async (mp->entra_session, fetch->message, G_PRIORITY_DEFAULT, mp->entra_cancellable,
                             eh_mp_jwks_opened, fetch);
  } else {
    g_autoptr (GFile) file = g_file_new_for_path (mp->entra_jwks_source);

    g_file_read_async (file, G_PRIORITY_DEFAULT, mp->entra_cancellable, eh_mp_jwks_opened, fetch);
  }
}

static gboolean
eh_mp_entra_session (EhMp *mp, const char *ca_file, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (mp->entra_jwks_source, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[mp] entra-jwks must be an absolute file path "
                 "or an https:// URL");
    return FALSE;
  }
  mp->entra_session = soup_session_new_with_options ("timeout", EH_MP_JWKS_TIMEOUT_SECONDS, NULL);
  if (ca_file != NULL && ca_file[0] != '\0') {
    g_autoptr (GTlsDatabase) database = g_tls_file_database_new (ca_file, error);

    if (database == NULL) {
      g_prefix_error (error, "[mp] entra-jwks-ca: ");
      return FALSE;
    }
    soup_session_set_tls_database (mp->entra_session, database);
  }
  return TRUE;
}

gboolean
eh_mp_entra_start (EhMp *mp, EhConfig *config, GError **error)
{
  const char *audience = eh_config_get_string (config, "mp", "entra-audience");
  const char *source = eh_config_get_string (config, "mp", "entra-jwks");
  g_auto (GStrv) tenants = eh_config_get_string_list (config, "mp", "entra-tenants");

  mp->entra_refresh_seconds = eh_config_get_uint (config, "mp", "entra-jwks-refresh");
  if ((tenants == NULL || tenants[0] == NULL) && (source == NULL || source[0] == '\0'))
    return TRUE; /* no Entra exchange on this MP */
  if (tenants == NULL || tenants[0] == NULL || source == NULL || source[0] == '\0' || audience == NULL ||
      audience[0] == '\0') {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG,
                 "[mp] the Entra exchange needs entra-tenants, entra-audience and entra-jwks together");
    return FALSE;
  }
  for (guint i = 0; tenants[i] != NULL; i++) {
    char *lower;

    if (!g_uuid_string_is_valid (tenants[i])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_CONFIG, "[mp] entra-tenants are tenant ids (GUIDs)");
      return FALSE;
    }
    lower = g_ascii_strdown (tenants[i], -1);
    g_free (tenants[i]);
    tenants[i] = lower;
  }
  mp->entra_tenants = g_steal_pointer (&tenants);
  mp->entra_audience = g_strdup (audience);
  mp->entra_jwks_source = g_strdup (source);
  mp->entra_cancellable = g_cancellable_new ();
  if (source[0] != '/' && !eh_mp_entra_session (mp, eh_config_get_string (config, "mp", "entra-jwks-ca"), error))
    return FALSE;
  eh_mp_entra_fetch (mp);
  return TRUE;
}

void
eh_mp_entra_stop (EhMp *mp)
{
  GList *waiters = g_steal_pointer (&mp->entra_waiters);

  if (mp->entra_cancellable != NULL)
    g_cancellable_cancel (mp->entra_cancellable);
  /* the paused requests are answered before the MP goes */
  for (GList *l = waiters; l != NULL; l = l->next) {
    EhMpEntraWaiter *waiter = l->data;

    waiter->done (NULL, EH_MP_REASON_UNAVAILABLE, "the MP is stopping", waiter->user_data);
  }
  g_list_free_full (waiters, (GDestroyNotify) eh_mp_entra_waiter_free);
  g_clear_object (&mp->entra_cancellable);
  g_clear_object (&mp->entra_session);
  g_clear_pointer (&mp->entra_jwks, eh_mp_jwks_free);
  g_clear_pointer (&mp->entra_tenants, g_strfreev);
  g_clear_pointer (&mp->entra_audience, g_free);
  g_clear_pointer (&mp->entra_jwks_source, g_free);
}

/* an unknown kid may refresh the set: once per interval, never while one runs */
static gboolean
eh_mp_entra_may_refresh (EhMp *mp)
{
  gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;

  if (mp->entra_fetching)
    return TRUE;
  if (mp->entra_last_refresh != 0 && now - mp->entra_last_refresh < (gint64) mp->entra_refresh_seconds)
    return FALSE;
  mp->entra_last_refresh = now;
  return TRUE;
}

static void
eh_mp_entra_discovered (EhMp *mp, EhMpEntraIdentity *identity, EhMpEntraVerified done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean found = FALSE;

  if (!eh_mp_discovery_find (mp->store, identity, &found, &error)) {
    g_warning ("discovery could not be read: %s", error->message);
    done (NULL, EH_MP_REASON_STORE_FAILED, "discovery could not be read; try again later", user_data);
  } else if (!found && identity->kind == EH_MP_ENTRA_USER) {
    /* the field notes' wording, so admins find it */
    g_message ("AAD user with ID %s and SID %s is not completely discovered", identity->object_id,
               identity->sid != NULL ? identity->sid : "unknown");
    done (identity, EH_MP_REASON_USER_NOT_DISCOVERED,
          "this Entra user is not discovered by the site; an admin imports it with ehttpctl discovery import",
          user_data);
  } else if (!found) {
    g_message ("AAD device with ID %s is not completely discovered", identity->object_id);
    done (identity, EH_MP_REASON_DEVICE_NOT_DISCOVERED,
          "this Entra device is not discovered by the site; an admin imports it with ehttpctl discovery import",
          user_data);
  } else {
    done (identity, EH_MP_REASON_LAST, NULL, user_data);
  }
}

static void
eh_mp_entra_settle (EhMp *mp, const char *token, gboolean may_refresh, EhMpEntraVerified done,
                    gpointer user_data)
{
  g_autoptr (EhMpEntraIdentity) identity = NULL;
  g_autoptr (GError) error = NULL;
  EhMpReason reason = EH_MP_REASON_ENTRA_TOKEN_INVALID;

  identity = eh_mp_entra_token_check (mp->entra_jwks, (const char *const *) mp->entra_tenants,
                                      mp->entra_audience, token, g_get_real_time () / G_USEC_PER_SEC, &reason,
                                      &error);
  if (identity == NULL && reason == EH_MP_REASON_ENTRA_KEY_UNKNOWN && may_refresh &&
      eh_mp_entra_may_refresh (mp)) {
    EhMpEntraWaiter *waiter = g_new0 (EhMpEntraWaiter, 1);

    waiter->token = g_strdup (token);
    waiter->done = done;
    waiter->user_data = user_data;
    mp->entra_waiters = g_list_prepend (mp->entra_waiters, waiter);
    if (!mp->entra_fetching) {
      g_message ("an Entra token names a key not in the JWKS: reading %s again", mp->entra_jwks_source);
      eh_mp_entra_fetch (mp);
    }
    return;
  }
  if (identity == NULL) {
    done (NULL, reason, error->message, user_data);
    return;
  }
  eh_mp_entra_discovered (mp, identity, done, user_data);
}

void
eh_mp_entra_verify (EhMp *mp, const char *token, EhMpEntraVerified done, gpointer user_data)
{
  if (mp->entra_tenants == NULL) {
    done (NULL, EH_MP_REASON_ENTRA_NOT_CONFIGURED, "this MP has no Entra exchange configured", user_data);
    return;
  }
  eh_mp_entra_settle (mp, token, TRUE, done, user_data);
}
