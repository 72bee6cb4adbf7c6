/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-client.h"
#include "eh-client-download.h"

/*
 * content get / content locate: where a content is (the MP's ordered DP
 * list and one content token), then the download. With a content token
 * handed over (--content-token, or _SMSTSDPAuthToken as a task sequence
 * sets it) and --dp URLs, the MP is not asked at all.
 */

#define EH_CLIENT_LOCATE_PATH "/ehttpd/mp/content/"
#define EH_CLIENT_TOKEN_ENV "_SMSTSDPAuthToken"
#define EH_CLIENT_MAX_DPS 64

/* the MP's answer for @id: the token, the manifest hash and the DPs, in order */
static gboolean
eh_client_locate (EhClient *client, const char *id, char **token, char **manifest_sha256, GPtrArray **dps,
                  GError **error)
{
  g_autofree char *path = g_strconcat (EH_CLIENT_LOCATE_PATH, id, NULL);
  g_autoptr (GBytes) answer = eh_client_mp_get (client, path, error);
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_client_dp_free);
  JsonObject *object;
  JsonNode *array;
  const char *got_token = NULL, *sha = NULL, *content_id = NULL;

  if (answer == NULL)
    return FALSE;
  node = eh_json_parse_strict (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), EH_CLIENT_MAX_JSON_BYTES,
                               4, error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      !eh_json_object_get_string_checked (object = json_node_get_object (node), "token", &got_token, error) ||
      !eh_json_object_get_string_checked (object, "manifest_sha256", &sha, error) ||
      !eh_json_object_get_string_checked (object, "content_id", &content_id, error)) {
    g_prefix_error (error, "content location: ");
    return FALSE;
  }
  array = json_object_get_member (object, "dps");
  if (strcmp (content_id, id) != 0 || strlen (sha) != 64 || array == NULL || !JSON_NODE_HOLDS_ARRAY (array) ||
      json_array_get_length (json_node_get_array (array)) == 0 ||
      json_array_get_length (json_node_get_array (array)) > EH_CLIENT_MAX_DPS) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "content location: the MP's answer is malformed");
    return FALSE;
  }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (array)); i++) {
    JsonNode *element = json_array_get_element (json_node_get_array (array), i);
    const char *name = NULL, *url = NULL;
    EhClientDp *dp;

    if (!JSON_NODE_HOLDS_OBJECT (element) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "name", &name, error) ||
        !eh_json_object_get_string_checked (json_node_get_object (element), "url", &url, error) ||
        (dp = eh_client_dp_new (name, url, error)) == NULL) {
      g_prefix_error (error, "content location, DP %u: ", i);
      return FALSE;
    }
    g_ptr_array_add (list, dp);
  }
  /* internet mode: the DPs are behind the gateway, which streams the content from the site's DP */
  if (eh_client_gateway (client) != NULL) {
    g_ptr_array_set_size (list, 0);
    g_ptr_array_add (list, eh_client_dp_new_gateway (client));
  }
  *token = g_strdup (got_token);
  *manifest_sha256 = g_strdup (sha);
  *dps = g_steal_pointer (&list);
  return TRUE;
}

static gboolean
eh_client_relocate (EhClientDownload *download, GError **error)
{
  g_autofree char *token = NULL;
  g_autofree char *sha = NULL;
  g_autoptr (GPtrArray) dps = NULL;

  if (!eh_client_locate (download->client, download->content_id, &token, &sha, &dps, error))
    return FALSE;
  download->located++;
  if (strcmp (sha, download->manifest_sha256) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "content %s changed on the site during the download",
                 download->content_id);
    return FALSE;
  }
  for (guint i = 0; i < download->dps->len; i++)
    g_ptr_array_add (download->failed_dps, g_ptr_array_index (download->dps, i));
  g_ptr_array_set_free_func (download->dps, NULL);
  g_ptr_array_unref (download->dps);
  download->dps = g_steal_pointer (&dps);
  g_free (download->token);
  download->token = g_steal_pointer (&token);
  return TRUE;
}

/* the manifest hash a handed-over content token names for @id (the DP checks the token itself) */
static char *
eh_client_token_manifest (const char *token, const char *id, GError **error)
{
  const char *first = strchr (token, '.');
  const char *second = first != NULL ? strchr (first + 1, '.') : NULL;
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonNode *content;
  const char *sha = NULL;

  if (second == NULL ||
      (payload = eh_base64url_decode (first + 1, second - first - 1, EH_JWS_DEFAULT_MAX_TOKEN_BYTES, error)) == NULL ||
      (node = eh_json_parse_strict (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                                    EH_JWS_DEFAULT_MAX_TOKEN_BYTES, 4, error)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (node)) {
    g_clear_error (error);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the content token is not a JWS with claims");
    return NULL;
  }
  content = json_object_get_member (json_node_get_object (node), "content");
  if (content == NULL || !JSON_NODE_HOLDS_OBJECT (content) ||
      !eh_json_object_get_string_checked (json_node_get_object (content), id, &sha, NULL) || strlen (sha) != 64) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the content token does not name content %s", id);
    return NULL;
  }
  return g_strdup (sha);
}

static void
eh_client_report_download (EhClientDownload *download, JsonObject *report)
{
  JsonArray *dps = json_array_new ();
  guint64 size = download->manifest != NULL ? download->manifest->size : 0;

  for (guint round = 0; round < 2; round++) {
    GPtrArray *list = round == 0 ? download->failed_dps : download->dps;

    for (guint i = 0; list != NULL && i < list->len; i++) {
      EhClientDp *dp = g_ptr_array_index (list, i);
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "name", dp->name);
      json_object_set_string_member (entry, "url", dp->url);
      json_object_set_int_member (entry, "bytes", dp->bytes);
      json_object_set_string_member (entry, "state", dp->failed ? "failed" : dp->bytes > 0 ? "used" : "unused");
      if (dp->error != NULL)
        json_object_set_string_member (entry, "error", dp->error);
      json_array_add_object_element (dps, entry);
    }
  }
  json_object_set_string_member (report, "content_id", download->content_id);
  json_object_set_string_member (report, "dest", download->dest);
  if (download->manifest_sha256 != NULL)
    json_object_set_string_member (report, "manifest_sha256", download->manifest_sha256);
  json_object_set_int_member (report, "files", download->manifest != NULL ? download->manifest->files->len : 0);
  json_object_set_int_member (report, "size", size);
  json_object_set_int_member (report, "bytes_transferred", download->transferred);
  json_object_set_double_member (report, "seconds", download->seconds);
  json_object_set_double_member (report, "bytes_per_second",
                                 download->seconds > 0 ? download->transferred / download->seconds : 0);
  json_object_set_int_member (report, "located", download->located);
  json_object_set_array_member (report, "dps", dps);
  json_object_set_array_member (report, "failovers", json_array_ref (download->failovers));
}

gboolean
eh_client_content_get (EhClient *client, const EhClientGet *get, JsonObject *report, GError **error)
{
  EhClientDownload download = { 0 };
  gboolean ok = FALSE;

  download.client = client;
  download.content_id = get->content_id;
  download.dest = get->dest;
  download.max_rate = get->max_rate;
  download.failovers = json_array_new ();
  download.failed_dps = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_client_dp_free);
  if (!eh_dp_content_id_is_valid (get->content_id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "\"%s\" is not a content id (like PS100001)",
                 get->content_id);
  } else if (get->content_token != NULL) {
    client->without_mp = TRUE;
    download.token = g_strdup (get->content_token);
    download.manifest_sha256 = eh_client_token_manifest (get->content_token, get->content_id, error);
    download.dps = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_client_dp_free);
    for (guint i = 0; download.manifest_sha256 != NULL && get->dp_urls[i] != NULL; i++) {
      EhClientDp *dp = eh_client_dp_new (NULL, get->dp_urls[i], error);

      if (dp == NULL)
        break;
      g_ptr_array_add (download.dps, dp);
    }
    ok = download.manifest_sha256 != NULL && (error == NULL || *error == NULL);
  } else {
    download.relocate = eh_client_relocate;
    ok = eh_client_locate (client, get->content_id, &download.token, &download.manifest_sha256, &download.dps,
                           error);
    download.located = ok ? 1 : 0;
  }
  if (ok)
    ok = eh_client_download_run (&download, error);
  eh_client_report_download (&download, report);
  eh_client_download_clear (&download);
  return ok;
}

static gboolean
eh_client_rate_parse (const char *text, guint64 *rate, GError **error)
{
  g_autofree char *end = NULL;
  guint64 value, unit = 1;
  char *tail = NULL;

  if (text == NULL) {
    *rate = 0;
    return TRUE;
  }
  value = g_ascii_strtoull (text, &tail, 10);
  if (tail == text || value == 0 || value > 1024 * 1024 ||
      (*tail != '\0' && (tail[1] != '\0' || strchr ("KkMmGg", *tail) == NULL))) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "--max-rate takes bytes per second, like 500K or 20M");
    return FALSE;
  }
  if (*tail == 'K' || *tail == 'k')
    unit = 1024;
  else if (*tail == 'M' || *tail == 'm')
    unit = 1024 * 1024;
  else if (*tail == 'G' || *tail == 'g')
    unit = 1024 * 1024 * 1024;
  *rate = value * unit;
  return TRUE;
}

static int
eh_client_content_get_command (EhClient *client, int argc, char **argv)
{
  g_autofree char *dest = NULL;
  g_autofree char *token = NULL;
  g_autofree char *rate = NULL;
  g_auto (GStrv) dp_urls = NULL;
  gint stall = EH_CLIENT_DEFAULT_STALL_SECONDS;
  const GOptionEntry entries[] = {
    { "dest", 0, 0, G_OPTION_ARG_FILENAME, &dest, "the directory the content's files go to", "DIR" },
    { "content-token", 0, 0, G_OPTION_ARG_STRING, &token,
      "download with this content token, without asking the MP (also: $" EH_CLIENT_TOKEN_ENV ")", "TOKEN" },
    { "dp", 0, 0, G_OPTION_ARG_STRING_ARRAY, &dp_urls, "a DP to use with --content-token, in order (repeat)",
      "https://HOST:PORT" },
    { "stall-timeout", 0, 0, G_OPTION_ARG_INT, &stall, "seconds without a byte before a DP counts as failed "
      "(default 30)", "SECONDS" },
    { "max-rate", 0, 0, G_OPTION_ARG_STRING, &rate, "bandwidth limit in bytes per second (K, M, G)", "RATE" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  EhClientGet get = { 0 };
  int code = 0;

  if (!eh_client_parse_options ("content get", "ID",
                                "Downloads every file of content ID into DIR: asks the MP where it is (unless a "
                                "content token is given), then the first DP, failing over to the next one on any "
                                "error and resuming where the last one stopped. Files appear in DIR only whole "
                                "and with the manifest's SHA-256.",
                                entries, &argc, &argv, 1, 1, &code))
    return code;
  if (token == NULL && g_getenv (EH_CLIENT_TOKEN_ENV) != NULL && *g_getenv (EH_CLIENT_TOKEN_ENV) != '\0')
    token = g_strdup (g_getenv (EH_CLIENT_TOKEN_ENV));
  if (dest == NULL || stall < 1 || stall > 3600 || (token != NULL && (dp_urls == NULL || dp_urls[0] == NULL)) ||
      (token == NULL && dp_urls != NULL) || !eh_client_rate_parse (rate, &get.max_rate, &error)) {
    g_printerr ("ehttp-client content get: %s\n",
                error != NULL ? error->message
                              : "give --dest DIR; --stall-timeout 1 to 3600; --dp goes with a content token");
    return EH_CLIENT_EXIT_USAGE;
  }
  client->stall_seconds = stall;
  get.content_id = argv[1];
  get.dest = dest;
  get.content_token = token;
  get.dp_urls = dp_urls;
  if (!eh_client_open (client, &error) || !eh_client_content_get (client, &get, report, &error))
    return eh_client_finish (client, report, error);
  if (!client->json)
    g_print ("content %s: %" G_GINT64_FORMAT " files in %s\n", get.content_id,
             json_object_get_int_member (report, "files"), dest);
  return eh_client_finish (client, report, NULL);
}

static int
eh_client_content_locate_command (EhClient *client, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autofree char *token = NULL;
  g_autofree char *sha = NULL;
  g_autoptr (GPtrArray) dps = NULL;
  JsonArray *array;
  int code = 0;

  if (!eh_client_parse_options ("content locate", "ID",
                                "Asks the MP which DPs hold content ID, in the order a download tries them.", NULL,
                                &argc, &argv, 1, 1, &code))
    return code;
  if (!eh_dp_content_id_is_valid (argv[1])) {
    g_printerr ("ehttp-client content locate: \"%s\" is not a content id (like PS100001)\n", argv[1]);
    return EH_CLIENT_EXIT_USAGE;
  }
  if (!eh_client_open (client, &error) || !eh_client_locate (client, argv[1], &token, &sha, &dps, &error))
    return eh_client_finish (client, report, error);
  array = json_array_new ();
  json_object_set_string_member (report, "content_id", argv[1]);
  json_object_set_string_member (report, "manifest_sha256", sha);
  /* for a script that hands the download to another process (content get --content-token) */
  json_object_set_string_member (report, "token", token);
  for (guint i = 0; i < dps->len; i++) {
    EhClientDp *dp = g_ptr_array_index (dps, i);
    JsonObject *entry = json_object_new ();

    json_object_set_string_member (entry, "name", dp->name);
    json_object_set_string_member (entry, "url", dp->url);
    json_array_add_object_element (array, entry);
    if (!client->json)
      g_print ("%u %s %s\n", i + 1, dp->name, dp->url);
  }
  json_object_set_array_member (report, "dps", array);
  return eh_client_finish (client, report, NULL);
}

const EhClientCommand eh_client_content_commands[] = {
  { "content get", "download a content with failover across its DPs", eh_client_content_get_command },
  { "content locate", "the DPs that hold a content, in order", eh_client_content_locate_command },
  { NULL, NULL, NULL }
};
