/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-client.h"

/*
 * register, status and token. A registration sends the client's public key
 * with a proof of possession; approval is automatic with a bulk token or a
 * discovered Entra ID token, otherwise the admin's. --wait asks for a token
 * (the MP's answer says pending or approved) until approval or the bound.
 * token shows the client token, renews it, or exchanges an Entra ID token
 * for one carrying that identity.
 */

#define EH_CLIENT_WAIT_STEP_MAX 10

gboolean
eh_client_open (EhClient *client, GError **error)
{
  return eh_client_load (client, error);
}

int
eh_client_finish (EhClient *client, JsonObject *report, const GError *error)
{
  if (error != NULL) {
    if (report != NULL && client->report == NULL)
      client->report = json_object_ref (report);
    return eh_client_fail (client, error);
  }
  if (client->json) {
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

    json_object_set_boolean_member (report, "ok", TRUE);
    json_node_set_object (node, report);
    eh_client_print_json (node);
  }
  return EH_CLIENT_EXIT_OK;
}

/* asks for a token until the MP stops saying pending, at most @seconds */
static gboolean
eh_client_wait_approval (EhClient *client, guint seconds, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  guint step = 1;

  for (;;) {
    g_autofree char *token = NULL;
    g_autoptr (GError) local = NULL;

    if (eh_client_token_ensure (client, TRUE, &token, &local))
      return TRUE;
    if (g_strcmp0 (client->client_state, "pending") != 0) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    if (g_get_monotonic_time () + (gint64) step * G_USEC_PER_SEC > deadline) {
      g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                   "still pending approval after %u s: an admin approves it with 'ehttpctl client approve %s'",
                   seconds, client->client_guid);
      return FALSE;
    }
    g_usleep ((gulong) step * G_USEC_PER_SEC);
    step = MIN (step * 2, EH_CLIENT_WAIT_STEP_MAX);
  }
}

int
eh_client_register_command (EhClient *client, int argc, char **argv)
{
  g_autofree char *bulk_token = NULL;
  g_autofree char *entra = NULL;
  gint wait = -1;
  const GOptionEntry entries[] = {
    { "bulk-token", 0, 0, G_OPTION_ARG_STRING, &bulk_token, "a bulk registration token: approved at once",
      "TOKEN" },
    { "entra-token", 0, 0, G_OPTION_ARG_FILENAME, &entra,
      "a file holding an Entra ID token of a discovered device or user: approved at once", "FILE" },
    { "wait", 0, 0, G_OPTION_ARG_INT, &wait, "wait at most SECONDS for an admin's approval", "SECONDS" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autofree char *guid = NULL;
  g_autofree char *state = NULL;
  g_autofree char *entra_token = NULL;
  int code = 0;

  if (!eh_client_parse_options ("register", NULL,
                                "Registers this client's key with the site's MP, with a proof of possession. "
                                "A bulk token, or an Entra ID token of a device or user the site discovered, "
                                "approves it at once; otherwise an admin approves it.",
                                entries, &argc, &argv, 0, 0, &code))
    return code;
  if (wait < -1 || wait > 7 * 24 * 3600 || (bulk_token != NULL && entra != NULL)) {
    g_printerr ("ehttp-client register: %s\n", bulk_token != NULL && entra != NULL
                                                  ? "--bulk-token and --entra-token exclude each other"
                                                  : "--wait takes 0 to 604800 seconds");
    return EH_CLIENT_EXIT_USAGE;
  }
  if (entra != NULL && (entra_token = eh_client_entra_read (entra, &error)) == NULL)
    return eh_client_finish (client, report, error);
  if (!eh_client_open (client, &error) ||
      !eh_client_register (client, bulk_token, entra_token, &guid, &state, &error))
    return eh_client_finish (client, report, error);
  if (g_strcmp0 (state, "pending") == 0 && wait > 0 && eh_client_wait_approval (client, wait, &error)) {
    g_free (state);
    state = g_strdup ("approved");
  }
  json_object_set_string_member (report, "client_guid", guid);
  json_object_set_string_member (report, "state", client->client_state);
  if (error == NULL && g_strcmp0 (state, "approved") == 0) {
    g_autofree char *token = NULL;

    if (eh_client_token_ensure (client, FALSE, &token, &error))
      json_object_set_int_member (report, "token_expires_at", eh_client_token_expiry (client));
  }
  if (error == NULL && !client->json)
    g_print ("registered: client %s, %s\n", guid, client->client_state);
  if (error == NULL && g_strcmp0 (client->client_state, "blocked") == 0)
    g_set_error (&error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "client %s is blocked by the site", guid);
  return eh_client_finish (client, report, error);
}

static char *
eh_client_format_time (gint64 when)
{
  g_autoptr (GDateTime) time = when > 0 ? g_date_time_new_from_unix_local (when) : NULL;

  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M:%S %Z") : g_strdup ("none");
}

int
eh_client_status_command (EhClient *client, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) token_error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autofree char *token = NULL;
  g_autofree char *expiry = NULL;
  int code = 0;

  if (!eh_client_parse_options ("status", NULL,
                                "Shows the site this client joined, its approval state and its client token's "
                                "expiry; renews the token when it is due.",
                                NULL, &argc, &argv, 0, 0, &code))
    return code;
  if (!eh_client_open (client, &error))
    return eh_client_finish (client, report, error);
  json_object_set_string_member (report, "site", client->site->site);
  json_object_set_string_member (report, "root_fingerprint", client->site->root_fingerprint);
  json_object_set_boolean_member (report, "trust_on_first_use", client->site->trust_on_first_use);
  json_object_set_string_member (report, "management_point", client->site->mp_url);
  if (eh_client_gateway (client) != NULL)
    json_object_set_string_member (report, "gateway", eh_client_gateway (client));
  json_object_set_string_member (report, "key", eh_crypto_location_is_pkcs11 (client->site->key) ? "pkcs11"
                                                                                                 : "file");
  if (client->client_guid != NULL && (g_strcmp0 (client->client_state, "approved") == 0 ||
                                      g_strcmp0 (client->client_state, "pending") == 0))
    eh_client_token_ensure (client, FALSE, &token, &token_error);
  json_object_set_string_member (report, "client_guid", client->client_guid != NULL ? client->client_guid : "");
  json_object_set_string_member (report, "state", client->client_state != NULL ? client->client_state
                                                                               : "unregistered");
  json_object_set_int_member (report, "token_expires_at", token != NULL ? eh_client_token_expiry (client) : 0);
  if (token_error != NULL)
    json_object_set_string_member (report, "token_error", token_error->message);
  expiry = eh_client_format_time (token != NULL ? eh_client_token_expiry (client) : 0);
  if (!client->json)
    g_print ("site              %s%s\nroot              %s%s\nmanagement point   %s\nclient            %s\n"
             "state             %s\ntoken expires     %s%s%s\n",
             client->site->site, eh_client_gateway (client) != NULL ? " (internet mode)" : "",
             client->site->root_fingerprint, client->site->trust_on_first_use ? " (trusted on first use)" : "",
             client->site->mp_url, client->client_guid != NULL ? client->client_guid : "(not registered)",
             client->client_state != NULL ? client->client_state : "unregistered", expiry,
             token_error != NULL ? "\ntoken             " : "", token_error != NULL ? token_error->message : "");
  return eh_client_finish (client, report, NULL);
}

/* the kept token's Entra identity, in the report and as words */
static char *
eh_client_describe_entra (EhClient *client, JsonObject *report)
{
  g_autoptr (JsonObject) entra = eh_client_token_entra (client);

  if (entra == NULL)
    return g_strdup ("none (device-centric)");
  json_object_set_object_member (report, "entra", json_object_ref (entra));
  return g_strdup_printf ("%s %s/%s", json_object_get_string_member_with_default (entra, "kind", "?"),
                          json_object_get_string_member_with_default (entra, "tid", "?"),
                          json_object_get_string_member_with_default (entra, "id", "?"));
}

int
eh_client_token_command (EhClient *client, int argc, char **argv)
{
  g_autofree char *entra = NULL;
  gboolean renew = FALSE;
  const GOptionEntry entries[] = {
    { "entra-token", 0, 0, G_OPTION_ARG_FILENAME, &entra,
      "exchange the Entra ID token in FILE for a client token carrying that identity", "FILE" },
    { "renew", 0, 0, G_OPTION_ARG_NONE, &renew, "get a new client token even if the kept one is good", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = json_object_new ();
  g_autofree char *entra_token = NULL;
  g_autofree char *token = NULL;
  g_autofree char *identity = NULL;
  g_autofree char *expiry = NULL;
  int code = 0;

  if (!eh_client_parse_options ("token", NULL,
                                "Shows this client's token, renewing it when it is due (or with --renew). With "
                                "--entra-token, exchanges an Entra ID token of a discovered device or user for a "
                                "client token carrying that identity: later commands use it until it is renewed, "
                                "which by proof of possession alone drops the identity.",
                                entries, &argc, &argv, 0, 0, &code))
    return code;
  if (entra != NULL && (entra_token = eh_client_entra_read (entra, &error)) == NULL)
    return eh_client_finish (client, report, error);
  if (!eh_client_open (client, &error) ||
      !(entra_token != NULL ? eh_client_token_exchange (client, entra_token, &token, &error)
                            : eh_client_token_ensure (client, renew, &token, &error)))
    return eh_client_finish (client, report, error);
  json_object_set_string_member (report, "client_guid", client->client_guid);
  json_object_set_int_member (report, "token_expires_at", eh_client_token_expiry (client));
  identity = eh_client_describe_entra (client, report);
  expiry = eh_client_format_time (eh_client_token_expiry (client));
  if (!client->json)
    g_print ("client   %s\nexpires  %s\nentra    %s\n", client->client_guid, expiry, identity);
  return eh_client_finish (client, report, NULL);
}
