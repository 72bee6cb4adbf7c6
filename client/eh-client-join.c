/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "eh-client.h"
#include "eh-file.h"

/*
 * join: the trust bootstrap. Site information and the root come over
 * plain HTTP and are believed only through the root fingerprint the admin
 * gave (or, with --trust-on-first-use, the one seen now, said loudly and
 * recorded). Nothing is sent to the site before the root checks out, and
 * no key is made before. Then the MP must answer HTTPS with a certificate
 * chaining to that root and serve a trust bundle naming it; site.json is
 * written last, so a client is joined only when all of that held.
 */

#define EH_CLIENT_SITE_INFO_PATH "/ehttpd/mp/site"
#define EH_CLIENT_MAX_ROOT_BYTES (64 * 1024)

typedef struct {
  char *site;
  char *root_fingerprint;
  char *root_link;
  char *mp_url;
} EhClientSiteInfo;

static void
eh_client_site_info_clear (EhClientSiteInfo *info)
{
  g_free (info->site);
  g_free (info->root_fingerprint);
  g_free (info->root_link);
  g_free (info->mp_url);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (EhClientSiteInfo, eh_client_site_info_clear)

static gboolean
eh_client_site_info_parse (GBytes *bytes, EhClientSiteInfo *info, GError **error)
{
  g_autoptr (JsonNode) node = eh_json_parse_strict (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                                    EH_CLIENT_MAX_JSON_BYTES, 8, error);
  JsonObject *object, *links;
  JsonNode *mps, *links_node;
  const char *site = NULL, *fingerprint = NULL, *root = NULL;

  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (node) ||
      !eh_json_object_get_string_checked (object = json_node_get_object (node), "site", &site, error) ||
      !eh_json_object_get_string_checked (object, "root_fingerprint", &fingerprint, error))
    return FALSE;
  links_node = json_object_get_member (object, "links");
  if (links_node == NULL || !JSON_NODE_HOLDS_OBJECT (links_node) ||
      !eh_json_object_get_string_checked (links = json_node_get_object (links_node), "root", &root, error)) {
    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the site information has no link to the root");
    return FALSE;
  }
  mps = json_object_get_member (object, "management_points");
  if (mps != NULL && JSON_NODE_HOLDS_ARRAY (mps) && json_array_get_length (json_node_get_array (mps)) > 0) {
    JsonNode *first = json_array_get_element (json_node_get_array (mps), 0);

    if (JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING)
      info->mp_url = g_strdup (json_node_get_string (first));
  }
  info->site = g_strdup (site);
  info->root_fingerprint = g_strdup (fingerprint);
  info->root_link = g_strdup (root);
  return TRUE;
}

/* a link of the site information: a path on the site's host, or an absolute http(s) URL */
static char *
eh_client_resolve_link (const char *site_url, const char *link, GError **error)
{
  if (link[0] == '/' && link[1] != '/')
    return g_strconcat (site_url, link, NULL);
  if (g_str_has_prefix (link, "http://") || g_str_has_prefix (link, "https://"))
    return g_strdup (link);
  g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "the site information links to \"%s\", not a path or URL", link);
  return NULL;
}

/* the root, checked against the pin (or taken on first use); its PEM and fingerprint */
static gboolean
eh_client_fetch_root (SoupSession *session, const char *url, const char *pin, const char *announced, char **pem_out,
                      char **fingerprint_out, GError **error)
{
  g_autoptr (GBytes) bytes = eh_client_http_plain_get (session, url, EH_CLIENT_MAX_ROOT_BYTES, error);
  g_auto (gnutls_x509_crt_t) cert = NULL;
  g_autofree char *fingerprint = NULL;
  guint8 want[32], got[32];

  if (bytes == NULL)
    return FALSE;
  cert = eh_crypto_cert_from_pem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), error);
  if (cert == NULL || (fingerprint = eh_crypto_cert_fingerprint (cert, error)) == NULL)
    return FALSE;
  eh_crypto_parse_fingerprint (fingerprint, got, NULL);
  if (pin != NULL) {
    if (!eh_crypto_parse_fingerprint (pin, want, error))
      return FALSE;
    if (memcmp (want, got, 32) != 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_TLS,
                   "the site's root is %s, not the pinned %s: refusing this site (nothing was sent to it)",
                   fingerprint, pin);
      return FALSE;
    }
  }
  /* the site information must name the same root */
  if (!eh_crypto_parse_fingerprint (announced, want, error) || memcmp (want, got, 32) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "the site information names root %s but serves %s", announced,
                 fingerprint);
    return FALSE;
  }
  *pem_out = eh_crypto_cert_to_pem (cert, error);
  *fingerprint_out = g_steal_pointer (&fingerprint);
  return *pem_out != NULL;
}

/* a stable id for this machine that does not give its machine-id away */
static char *
eh_client_default_hardware_id (void)
{
  g_autofree char *machine_id = NULL;
  g_autofree char *salted = NULL;
  g_autofree char *hash = NULL;

  if (!g_file_get_contents ("/etc/machine-id", &machine_id, NULL, NULL))
    return g_uuid_string_random ();
  salted = g_strconcat ("ehttp-client:", g_strstrip (machine_id), NULL);
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, salted, -1);
  return g_strndup (hash, 32);
}

/*
 * a join starts from no token and no bundle; a registration stays only
 * while the site (its root) is the same: nothing of one site is ever sent
 * to another
 */
static void
eh_client_join_forget (const char *dir, const char *fingerprint)
{
  g_autoptr (JsonNode) old = eh_client_state_read_json (dir, "site.json", NULL);
  const char *old_root = NULL;
  static const char *const always[] = { "token.json", "trust-bundle.json" };

  for (guint i = 0; i < G_N_ELEMENTS (always); i++) {
    g_autofree char *path = g_build_filename (dir, always[i], NULL);

    unlink (path);
  }
  if (old == NULL || !JSON_NODE_HOLDS_OBJECT (old) ||
      !eh_json_object_get_string_checked (json_node_get_object (old), "root_fingerprint", &old_root, NULL) ||
      g_strcmp0 (old_root, fingerprint) != 0) {
    g_autofree char *path = g_build_filename (dir, "client.json", NULL);

    unlink (path);
  }
}

typedef struct {
  char *site_url;
  char *fingerprint;
  gboolean tofu;
  char *key_type;
  char *key;
  char *pkcs11_module;
  char *host_name;
  char *hardware_id;
  char *mp;
  char *gateway;
  char *gateway_ca;
  char *gateway_mp_id;
  char *gateway_dp_id;
} EhClientJoinOptions;

/* internet mode's settings: the gateway, its mapping ids, and the anchors of a public certificate */
static gboolean
eh_client_join_gateway (EhClient *client, EhClientJoinOptions *options, EhClientSite *site, GError **error)
{
  g_autofree char *path = g_build_filename (client->state_dir, EH_CLIENT_GATEWAY_CA_FILE, NULL);
  g_autofree char *pem = NULL;
  gsize len = 0;
  GList *anchors;

  if (options->gateway == NULL) {
    if (options->gateway_ca != NULL || options->gateway_mp_id != NULL || options->gateway_dp_id != NULL) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "the --gateway-… options go with --gateway");
      return FALSE;
    }
    unlink (path);
    return TRUE;
  }
  if (!eh_client_url_parse_https (options->gateway, &site->gateway, NULL, error))
    return FALSE;
  site->gateway_mp_id = g_strdup (options->gateway_mp_id != NULL ? options->gateway_mp_id : EH_CLIENT_GATEWAY_MP_ID);
  site->gateway_dp_id = g_strdup (options->gateway_dp_id != NULL ? options->gateway_dp_id : EH_CLIENT_GATEWAY_DP_ID);
  if (!eh_client_gateway_id_is_valid (site->gateway_mp_id) || !eh_client_gateway_id_is_valid (site->gateway_dp_id)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a gateway mapping id is 1 to 32 letters or digits");
    return FALSE;
  }
  if (options->gateway_ca == NULL) {
    unlink (path);
    return TRUE;
  }
  /* the anchors must be certificates; they are kept as given */
  anchors = g_file_get_contents (options->gateway_ca, &pem, &len, NULL)
                ? g_tls_certificate_list_new_from_file (options->gateway_ca, NULL)
                : NULL;
  if (anchors == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "--gateway-ca: %s holds no PEM certificate",
                 options->gateway_ca);
    return FALSE;
  }
  g_list_free_full (anchors, g_object_unref);
  site->gateway_ca = TRUE;
  return eh_file_replace (path, pem, len, 0644, error);
}

/* internet mode: the gateway's certificate passes, and it relays the MP's site information of this site */
static gboolean
eh_client_join_check_gateway (EhClient *client, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;
  g_auto (EhClientSiteInfo) info = { 0 };

  if (client->site->gateway == NULL)
    return TRUE;
  bytes = eh_client_http_get_bytes (client, EH_CLIENT_SITE_INFO_PATH, NULL, error);
  if (bytes == NULL || !eh_client_site_info_parse (bytes, &info, error)) {
    g_prefix_error (error, "the gateway %s: ", client->site->gateway);
    return FALSE;
  }
  if (g_strcmp0 (info.site, client->site->site) != 0 ||
      g_strcmp0 (info.root_fingerprint, client->site->root_fingerprint) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_TLS, "the gateway %s relays site %s (root %s), not this one",
                 client->site->gateway, info.site, info.root_fingerprint);
    return FALSE;
  }
  return TRUE;
}

static gboolean
eh_client_join_run (EhClient *client, EhClientJoinOptions *options, GError **error)
{
  g_autofree char *site_url = NULL;
  g_autofree char *info_url = NULL;
  g_autofree char *root_url = NULL;
  g_autofree char *root_pem = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *root_path = NULL;
  g_autoptr (GBytes) info_bytes = NULL;
  g_auto (EhClientSiteInfo) info = { 0 };
  g_autoptr (EhClientSite) site = g_new0 (EhClientSite, 1);
  g_autofree char *mp_base = NULL;

  if (options->site_url == NULL || !g_str_has_prefix (options->site_url, "http://")) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "--site takes the site's http://HOST[:PORT] URL");
    return FALSE;
  }
  if ((options->fingerprint == NULL) == !options->tofu) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 options->tofu ? "--root-fingerprint and --trust-on-first-use exclude each other"
                               : "give the site root's --root-fingerprint sha256:… (or, knowingly, "
                                 "--trust-on-first-use)");
    return FALSE;
  }
  site_url = g_strdup (options->site_url);
  while (g_str_has_suffix (site_url, "/"))
    site_url[strlen (site_url) - 1] = '\0';
  client->session = eh_client_session_new (client->stall_seconds);
  info_url = g_strconcat (site_url, EH_CLIENT_SITE_INFO_PATH, NULL);
  info_bytes = eh_client_http_plain_get (client->session, info_url, EH_CLIENT_MAX_JSON_BYTES, error);
  if (info_bytes == NULL || !eh_client_site_info_parse (info_bytes, &info, error))
    return FALSE;
  root_url = eh_client_resolve_link (site_url, info.root_link, error);
  if (root_url == NULL ||
      !eh_client_fetch_root (client->session, root_url, options->fingerprint, info.root_fingerprint, &root_pem,
                             &fingerprint, error))
    return FALSE;
  if (options->tofu)
    g_printerr ("ehttp-client: WARNING: trusting on first use the root %s of site %s, as %s served it over "
                "plain HTTP. Compare it with the fingerprint the site's admin publishes.\n",
                fingerprint, info.site, site_url);
  if (!eh_client_url_parse_https (options->mp != NULL ? options->mp : info.mp_url, &mp_base, NULL, error))
    return FALSE;
  if (options->gateway != NULL && !eh_client_url_parse_https (options->gateway, NULL, NULL, error)) {
    (*error)->code = EH_ERROR_INVALID_ARGUMENT;
    return FALSE;
  }

  /* the root checks out: from here on, this client's own state */
  if (!eh_client_state_prepare (client->state_dir, error))
    return FALSE;
  root_path = g_build_filename (client->state_dir, "root.pem", NULL);
  if (!eh_file_replace (root_path, root_pem, strlen (root_pem), 0644, error))
    return FALSE;
  site->site = g_strdup (info.site);
  site->site_url = g_strdup (site_url);
  site->root_fingerprint = g_strdup (fingerprint);
  eh_crypto_parse_fingerprint (fingerprint, site->root, NULL);
  site->trust_on_first_use = options->tofu;
  site->mp_url = g_strdup (mp_base);
  if (!eh_client_join_gateway (client, options, site, error))
    return FALSE;
  site->pkcs11_module = g_strdup (options->pkcs11_module);
  site->host_name = g_ascii_strdown (options->host_name != NULL ? options->host_name : g_get_host_name (), -1);
  site->hardware_id = options->hardware_id != NULL ? g_strdup (options->hardware_id)
                                                   : eh_client_default_hardware_id ();
  if (options->key != NULL) {
    if (!eh_crypto_location_is_pkcs11 (options->key)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "--key takes a pkcs11: URI");
      return FALSE;
    }
    site->key = g_strdup (options->key);
  } else {
    site->key = g_strdup ("key.pem");
    if (!eh_client_key_create (client->state_dir, options->key_type != NULL ? options->key_type : "ecdsa-p256",
                               error))
      return FALSE;
  }
  eh_client_join_forget (client->state_dir, fingerprint);
  client->site = g_steal_pointer (&site);
  /* the key opens, the MP is reachable over HTTPS chaining to the root, and so is the gateway */
  if (!eh_client_key_open (client, error) || !eh_client_bundle_refresh (client, error) ||
      !eh_client_join_check_gateway (client, error))
    return FALSE;
  return eh_client_site_save (client->state_dir, client->site, error);
}

static int
eh_client_join (EhClient *client, int argc, char **argv)
{
  EhClientJoinOptions options = { 0 };
  const GOptionEntry entries[] = {
    { "site", 0, 0, G_OPTION_ARG_STRING, &options.site_url, "the site's plain http://HOST[:PORT] URL", "URL" },
    { "root-fingerprint", 0, 0, G_OPTION_ARG_STRING, &options.fingerprint,
      "the site root's SHA-256 fingerprint, as the admin gave it", "sha256:HEX" },
    { "trust-on-first-use", 0, 0, G_OPTION_ARG_NONE, &options.tofu,
      "no fingerprint: trust the root seen now (printed and recorded)", NULL },
    { "key-type", 0, 0, G_OPTION_ARG_STRING, &options.key_type, "ecdsa-p256 (default) or ed25519", "TYPE" },
    { "key", 0, 0, G_OPTION_ARG_STRING, &options.key, "a key held in a PKCS#11 token instead of a file",
      "pkcs11:URI" },
    { "pkcs11-module", 0, 0, G_OPTION_ARG_FILENAME, &options.pkcs11_module, "the PKCS#11 module of --key", "PATH" },
    { "host-name", 0, 0, G_OPTION_ARG_STRING, &options.host_name, "the name to register (default: this host's)",
      "NAME" },
    { "hardware-id", 0, 0, G_OPTION_ARG_STRING, &options.hardware_id,
      "the hardware id to register (default: derived from /etc/machine-id)", "ID" },
    { "mp", 0, 0, G_OPTION_ARG_STRING, &options.mp,
      "the MP's https:// URL, when the one the site announces is not reachable from here", "URL" },
    { "gateway", 0, 0, G_OPTION_ARG_STRING, &options.gateway,
      "internet mode: reach the site through this cloud management gateway", "https://HOST:PORT" },
    { "gateway-ca", 0, 0, G_OPTION_ARG_FILENAME, &options.gateway_ca,
      "the gateway has a public certificate: these PEM anchors verify it (default: the pinned root, cmg role)",
      "FILE" },
    { "gateway-mp-id", 0, 0, G_OPTION_ARG_STRING, &options.gateway_mp_id,
      "the MP's id at the gateway (default " EH_CLIENT_GATEWAY_MP_ID ")", "ID" },
    { "gateway-dp-id", 0, 0, G_OPTION_ARG_STRING, &options.gateway_dp_id,
      "the content DP's id at the gateway (default " EH_CLIENT_GATEWAY_DP_ID ")", "ID" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  int code = 0;

  if (!eh_client_parse_options ("join", NULL,
                                "Fetches the site information over plain HTTP, checks the site's root against "
                                "the pinned fingerprint, makes this client's key and records the site. From then "
                                "on the client talks HTTPS only, to certificates chaining to that root.",
                                entries, &argc, &argv, 0, 0, &code))
    return code;
  if (!eh_client_join_run (client, &options, &error))
    code = eh_client_fail (client, error);
  else if (client->json) {
    g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
    JsonObject *object = json_object_new ();

    json_node_take_object (node, object);
    json_object_set_boolean_member (object, "ok", TRUE);
    json_object_set_string_member (object, "site", client->site->site);
    json_object_set_string_member (object, "root_fingerprint", client->site->root_fingerprint);
    json_object_set_boolean_member (object, "trust_on_first_use", client->site->trust_on_first_use);
    json_object_set_string_member (object, "management_point", client->site->mp_url);
    if (client->site->gateway != NULL)
      json_object_set_string_member (object, "gateway", client->site->gateway);
    json_object_set_string_member (object, "state_dir", client->state_dir);
    eh_client_print_json (node);
  } else {
    g_print ("joined site %s\n  root %s%s\n  management point %s\n%s%s%s  state %s\n", client->site->site,
             client->site->root_fingerprint, client->site->trust_on_first_use ? " (trusted on first use)" : "",
             client->site->mp_url, client->site->gateway != NULL ? "  gateway " : "",
             client->site->gateway != NULL ? client->site->gateway : "", client->site->gateway != NULL ? "\n" : "",
             client->state_dir);
  }
  g_free (options.site_url);
  g_free (options.fingerprint);
  g_free (options.key_type);
  g_free (options.key);
  g_free (options.pkcs11_module);
  g_free (options.host_name);
  g_free (options.hardware_id);
  g_free (options.mp);
  g_free (options.gateway);
  g_free (options.gateway_ca);
  g_free (options.gateway_mp_id);
  g_free (options.gateway_dp_id);
  return code;
}

const EhClientCommand eh_client_site_commands[] = {
  { "join", "trust a site by its root fingerprint and make this client's key", eh_client_join },
  { "register", "register this client with the site (optionally wait for approval)", eh_client_register_command },
  { "status", "the site, this client's approval state and its token", eh_client_status_command },
  { "token", "show or renew the client token; exchange an Entra ID token for one", eh_client_token_command },
  { "policy", "fetch and verify this client's signed policy; list its deployments", eh_client_policy_command },
  { "run", "do what the policy says: download the deployed content", eh_client_run_command },
  { NULL, NULL, NULL }
};
