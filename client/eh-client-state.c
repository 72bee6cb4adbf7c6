/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-client.h"
#include "eh-file.h"

/*
 * The state directory (0700, ours, not a symlink):
 *   site.json     what join learnt and pinned (site code, root fingerprint, MP URL, key location)
 *   root.pem      the pinned root, as fetched and checked
 *   key.pem       the client key (0600) unless it lives in a PKCS#11 token
 *   client.json   the registration: client GUID and its last known state
 *   token.json    the client token (0600)
 *   trust-bundle.json  the last trust bundle fetched over pinned HTTPS
 *   gateway-ca.pem     the anchors of a gateway with a public certificate (internet mode)
 * Every file is written whole with eh_file_replace, so none is ever half-written.
 */

#define EH_CLIENT_SITE_FILE "site.json"
#define EH_CLIENT_KEY_FILE "key.pem"
#define EH_CLIENT_REGISTRATION_FILE "client.json"

char *
eh_client_default_state_dir (void)
{
  if (geteuid () == 0)
    return g_strdup ("/var/lib/ehttp-client");
  return g_build_filename (g_get_user_state_dir (), "ehttp-client", NULL);
}

gboolean
eh_client_state_prepare (const char *dir, GError **error)
{
  struct stat st;

  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "cannot create the state directory %s: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  if (lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != geteuid ()) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "the state directory %s must be a directory owned by this user", dir);
    return FALSE;
  }
  if ((st.st_mode & 0077) != 0 && chmod (dir, 0700) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "cannot make %s 0700: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

gboolean
eh_client_state_write_json (const char *dir, const char *name, JsonNode *node, GError **error)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  gsize len = 0;

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &len);
  return eh_file_replace (path, text, len, 0600, error);
}

JsonNode *
eh_client_state_read_json (const char *dir, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, &local)) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "%s: no such file", path);
    else
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s", local->message);
    return NULL;
  }
  return eh_json_parse_strict (text, len, EH_CLIENT_MAX_JSON_BYTES, 8, error);
}

/* a mapping id at a gateway: 1–32 letters or digits */
gboolean
eh_client_gateway_id_is_valid (const char *id)
{
  return eh_text_is_word (id, 1, 32, NULL);
}

void
eh_client_site_free (EhClientSite *site)
{
  if (site == NULL)
    return;
  g_free (site->site);
  g_free (site->site_url);
  g_free (site->root_fingerprint);
  g_free (site->mp_url);
  g_free (site->gateway);
  g_free (site->gateway_mp_id);
  g_free (site->gateway_dp_id);
  g_free (site->key);
  g_free (site->pkcs11_module);
  g_free (site->host_name);
  g_free (site->hardware_id);
  g_free (site);
}

static void
eh_client_set_nullable (JsonObject *object, const char *member, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (object, member, value);
  else
    json_object_set_null_member (object, member);
}

gboolean
eh_client_site_save (const char *dir, const EhClientSite *site, GError **error)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  json_node_take_object (node, object);
  json_object_set_string_member (object, "site", site->site);
  json_object_set_string_member (object, "site_url", site->site_url);
  json_object_set_string_member (object, "root_fingerprint", site->root_fingerprint);
  json_object_set_boolean_member (object, "trust_on_first_use", site->trust_on_first_use);
  json_object_set_string_member (object, "management_point", site->mp_url);
  eh_client_set_nullable (object, "gateway", site->gateway);
  json_object_set_string_member (object, "gateway_mp_id", site->gateway_mp_id);
  json_object_set_string_member (object, "gateway_dp_id", site->gateway_dp_id);
  json_object_set_boolean_member (object, "gateway_ca", site->gateway_ca);
  json_object_set_string_member (object, "key", site->key);
  eh_client_set_nullable (object, "pkcs11_module", site->pkcs11_module);
  json_object_set_string_member (object, "host_name", site->host_name);
  json_object_set_string_member (object, "hardware_id", site->hardware_id);
  return eh_client_state_write_json (dir, EH_CLIENT_SITE_FILE, node, error);
}

static char *
eh_client_get_nullable (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (node));
}

static EhClientSite *
eh_client_site_load (const char *dir, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) node = eh_client_state_read_json (dir, EH_CLIENT_SITE_FILE, &local);
  g_autoptr (EhClientSite) site = g_new0 (EhClientSite, 1);
  const char *text[6] = { NULL };
  static const char *const members[6] = { "site", "site_url", "root_fingerprint", "management_point", "key",
                                          "host_name" };
  JsonObject *object;

  if (node == NULL) {
    if (g_error_matches (local, EH_ERROR, EH_ERROR_NOT_FOUND))
      g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "not joined to a site (no %s/%s): run "
                   "'ehttp-client join' first", dir, EH_CLIENT_SITE_FILE);
    else
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s/%s: ", dir, EH_CLIENT_SITE_FILE);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s/%s is not a JSON object", dir, EH_CLIENT_SITE_FILE);
    return NULL;
  }
  object = json_node_get_object (node);
  for (guint i = 0; i < G_N_ELEMENTS (members); i++) {
    if (!eh_json_object_get_string_checked (object, members[i], &text[i], &local)) {
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s/%s: %s", dir, EH_CLIENT_SITE_FILE, local->message);
      return NULL;
    }
  }
  site->site = g_strdup (text[0]);
  site->site_url = g_strdup (text[1]);
  site->root_fingerprint = g_strdup (text[2]);
  site->mp_url = g_strdup (text[3]);
  site->key = g_strdup (text[4]);
  site->host_name = g_strdup (text[5]);
  site->hardware_id = eh_client_get_nullable (object, "hardware_id");
  site->gateway = eh_client_get_nullable (object, "gateway");
  site->gateway_mp_id = eh_client_get_nullable (object, "gateway_mp_id");
  site->gateway_dp_id = eh_client_get_nullable (object, "gateway_dp_id");
  site->gateway_ca = json_object_get_boolean_member_with_default (object, "gateway_ca", FALSE);
  if (site->gateway_mp_id == NULL)
    site->gateway_mp_id = g_strdup (EH_CLIENT_GATEWAY_MP_ID);
  if (site->gateway_dp_id == NULL)
    site->gateway_dp_id = g_strdup (EH_CLIENT_GATEWAY_DP_ID);
  if (!eh_client_gateway_id_is_valid (site->gateway_mp_id) || !eh_client_gateway_id_is_valid (site->gateway_dp_id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "%s/%s: a gateway mapping id is not 1 to 32 letters or digits",
                 dir, EH_CLIENT_SITE_FILE);
    return NULL;
  }
  site->pkcs11_module = eh_client_get_nullable (object, "pkcs11_module");
  site->trust_on_first_use = json_object_get_boolean_member_with_default (object, "trust_on_first_use", FALSE);
  if (!eh_crypto_parse_fingerprint (site->root_fingerprint, site->root, error))
    return NULL;
  return g_steal_pointer (&site);
}

/* the site, the registration (if any) and an HTTPS session pinned to the site's root */
gboolean
eh_client_load (EhClient *client, GError **error)
{
  g_autoptr (JsonNode) registration = NULL;

  client->site = eh_client_site_load (client->state_dir, error);
  if (client->site == NULL)
    return FALSE;
  registration = eh_client_state_read_json (client->state_dir, EH_CLIENT_REGISTRATION_FILE, NULL);
  if (registration != NULL && JSON_NODE_HOLDS_OBJECT (registration)) {
    JsonObject *object = json_node_get_object (registration);

    client->client_guid = eh_client_get_nullable (object, "client_guid");
    client->client_state = eh_client_get_nullable (object, "state");
  }
  if (client->session == NULL)
    client->session = eh_client_session_new (client->stall_seconds);
  return TRUE;
}

gboolean
eh_client_save_registration (EhClient *client, const char *guid, const char *state, GError **error)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();

  json_node_take_object (node, object);
  json_object_set_string_member (object, "client_guid", guid);
  json_object_set_string_member (object, "state", state);
  json_object_set_int_member (object, "updated_at", g_get_real_time () / G_USEC_PER_SEC);
  if (!eh_client_state_write_json (client->state_dir, EH_CLIENT_REGISTRATION_FILE, node, error))
    return FALSE;
  /* @guid or @state may be the very strings replaced here */
  {
    char *new_guid = g_strdup (guid);
    char *new_state = g_strdup (state);

    g_free (client->client_guid);
    g_free (client->client_state);
    client->client_guid = new_guid;
    client->client_state = new_state;
  }
  return TRUE;
}

/* a new key in key.pem (0600); an existing one is kept: it is the client's identity */
gboolean
eh_client_key_create (const char *dir, const char *key_type, GError **error)
{
  g_autofree char *path = g_build_filename (dir, EH_CLIENT_KEY_FILE, NULL);
  g_auto (gnutls_x509_privkey_t) key = NULL;
  EhKeyType type;
  char *pem;
  gboolean ok;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!eh_key_type_from_string (key_type, &type, error))
    return FALSE;
  if (type != EH_KEY_ECDSA_P256 && type != EH_KEY_ED25519) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a client key is ecdsa-p256 or ed25519 (the MP accepts no other)");
    return FALSE;
  }
  key = eh_crypto_generate_key (type, error);
  if (key == NULL || (pem = eh_crypto_key_to_pem (key, error)) == NULL)
    return FALSE;
  ok = eh_file_replace (path, pem, strlen (pem), 0600, error);
  eh_crypto_free_secret (pem);
  return ok;
}

gboolean
eh_client_key_open (EhClient *client, GError **error)
{
  g_autofree char *location = NULL;

  if (client->key != NULL)
    return TRUE;
  if (eh_crypto_location_is_pkcs11 (client->site->key)) {
    if (client->site->pkcs11_module != NULL &&
        !eh_crypto_pkcs11_add_module (client->site->pkcs11_module, error))
      return FALSE;
    location = g_strdup (client->site->key);
  } else {
    location = g_build_filename (client->state_dir, client->site->key, NULL);
  }
  client->key = eh_crypto_privkey_open (location, error);
  return client->key != NULL;
}
