/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-cmg.h"

/*
 * The gateway's end of the tunnels: GET /ehttpd/cmg/tunnel over HTTPS,
 * upgraded to a WebSocket only for a connector that presents a current
 * role certificate of the site with the cmg-connector role (checked with
 * the trust bundle: issued by its root, in date, not revoked). The
 * connector then says hello with its mappings; from then on the tunnel
 * carries relayed requests one stream each.
 */

#define EH_STATUS_UPGRADE_REQUIRED 426
#define EH_STATUS_TOO_MANY_REQUESTS 429

struct _EhCmgTunnel {
  EhCmg *cmg;
  EhWebsocket *ws;
  GIOStream *connection; /* what the front handed over; closing it ends the connection */
  GIOStream *raw;
  GBytes *certificate; /* the connector's DER, checked again when the bundle changes */
  char *address;
  char *serial;
  char *name;  /* from the hello */
  GVariant *mappings; /* a(sss) from the hello */
  gint64 since;
  gint64 last_health;
  guint64 requests;
  guint garbage;
  guint hello_timeout;
  guint drop_id;
  guint32 next_stream;
  GHashTable *relays; /* stream → EhCmgRelay */
  gboolean closing;
};

static void
eh_cmg_count_address (EhCmg *cmg, const char *address, gint delta)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (cmg->per_address, address));

  count = (gint) count + delta > 0 ? count + delta : 0;
  if (count == 0)
    g_hash_table_remove (cmg->per_address, address);
  else
    g_hash_table_insert (cmg->per_address, g_strdup (address), GUINT_TO_POINTER (count));
}

void
eh_cmg_tunnel_destroy (EhCmgTunnel *tunnel)
{
  GHashTableIter iter;
  gpointer relay;

  g_clear_handle_id (&tunnel->hello_timeout, g_source_remove);
  g_clear_handle_id (&tunnel->drop_id, g_source_remove);
  /* every request still on this tunnel fails over or fails */
  g_hash_table_iter_init (&iter, tunnel->relays);
  while (g_hash_table_iter_next (&iter, NULL, &relay)) {
    g_hash_table_iter_steal (&iter);
    eh_cmg_relay_tunnel_lost (relay);
  }
  g_hash_table_unref (tunnel->relays);
  g_clear_pointer (&tunnel->ws, eh_websocket_free);
  if (tunnel->connection != NULL) {
    eh_wss_close_stream (tunnel->connection);
    g_object_unref (tunnel->connection);
  }
  g_clear_object (&tunnel->raw);
  eh_cmg_count_address (tunnel->cmg, tunnel->address, -1);
  g_clear_pointer (&tunnel->certificate, g_bytes_unref);
  g_clear_pointer (&tunnel->mappings, g_variant_unref);
  g_free (tunnel->address);
  g_free (tunnel->serial);
  g_free (tunnel->name);
  g_free (tunnel);
}

static gboolean
eh_cmg_tunnel_drop (gpointer data)
{
  EhCmgTunnel *tunnel = data;

  tunnel->drop_id = 0;
  g_ptr_array_remove_fast (tunnel->cmg->tunnels, tunnel);
  return G_SOURCE_REMOVE;
}

static void
eh_cmg_tunnel_closed (EhWebsocket *ws, const char *reason, gpointer user_data)
{
  EhCmgTunnel *tunnel = user_data;

  g_message ("tunnel from connector %s (%s) closed: %s", tunnel->name != NULL ? tunnel->name : "?",
             tunnel->address, reason);
  tunnel->closing = TRUE;
  /* not inside the websocket's own callback */
  if (tunnel->drop_id == 0)
    tunnel->drop_id = g_idle_add (eh_cmg_tunnel_drop, tunnel);
}

static void
eh_cmg_tunnel_close (EhCmgTunnel *tunnel, guint16 code, const char *reason)
{
  if (tunnel->closing || tunnel->ws == NULL)
    return;
  tunnel->closing = TRUE;
  eh_websocket_close (tunnel->ws, code, reason);
}

gboolean
eh_cmg_tunnel_send (EhCmgTunnel *tunnel, EhCmgKind kind, guint32 stream, GVariant *fields, GBytes *data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) message = NULL;

  if (tunnel->closing || tunnel->ws == NULL || !eh_websocket_is_open (tunnel->ws)) {
    if (fields != NULL)
      g_variant_unref (g_variant_ref_sink (fields));
    return FALSE;
  }
  message = eh_cmg_wire_build (kind, stream, fields, data, &error);
  if (message == NULL) {
    g_warning ("tunnel to %s: cannot send %s: %s", tunnel->name, eh_cmg_kind_to_string (kind), error->message);
    return FALSE;
  }
  eh_websocket_send_variant (tunnel->ws, message);
  return TRUE;
}

/* ── what the connector sends ───────────────────────────────────────── */

static gboolean
eh_cmg_mapping_id_valid (const char *id)
{
  return eh_text_is_word (id, 1, EH_CMG_MAX_MAPPING_ID, NULL);
}

static gboolean
eh_cmg_tunnel_hello (EhCmgTunnel *tunnel, EhCmgMessage *message, GError **error)
{
  const char *name = NULL, *site = NULL, *id, *kind, *dp_name;
  g_autoptr (GVariant) mappings = NULL;
  GVariantIter iter;

  g_variant_lookup (message->fields, "name", "&s", &name);
  g_variant_lookup (message->fields, "site", "&s", &site);
  mappings = g_variant_lookup_value (message->fields, "mappings", G_VARIANT_TYPE ("a(sss)"));
  if (tunnel->name != NULL || name[0] == '\0' || strlen (name) > 253) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a second hello, or no name");
    return FALSE;
  }
  if (tunnel->cmg->bundle == NULL || strcmp (site, eh_dp_bundle_get_site (tunnel->cmg->bundle)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED, "the connector speaks for site %s", site);
    return FALSE;
  }
  g_variant_iter_init (&iter, mappings);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &id, &kind, &dp_name)) {
    if (!eh_cmg_mapping_id_valid (id) || (strcmp (kind, "mp") != 0 && strcmp (kind, "dp") != 0) ||
        strlen (dp_name) > 253 || (strcmp (kind, "dp") == 0 && dp_name[0] == '\0')) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a malformed mapping");
      return FALSE;
    }
  }
  tunnel->name = g_strdup (name);
  tunnel->mappings = g_steal_pointer (&mappings);
  g_clear_handle_id (&tunnel->hello_timeout, g_source_remove);
  tunnel->last_health = g_get_real_time () / G_USEC_PER_SEC;
  g_message ("connector %s (%s, certificate %s) connected with %" G_GSIZE_FORMAT " mapping(s)", name,
             tunnel->address, tunnel->serial, g_variant_n_children (tunnel->mappings));
  return TRUE;
}

static void
eh_cmg_tunnel_garbage (EhCmgTunnel *tunnel, const char *why)
{
  g_info ("tunnel from %s: message dropped: %s", tunnel->address, why);
  if (++tunnel->garbage >= EH_CMG_MAX_GARBAGE)
    eh_cmg_tunnel_close (tunnel, 1008, "too many bad messages");
}

static void
eh_cmg_tunnel_message (EhWebsocket *ws, GBytes *bytes, gpointer user_data)
{
  EhCmgTunnel *tunnel = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (EhCmgMessage) message = eh_cmg_wire_decode (bytes, &error);
  EhCmgRelay *relay;
  guint32 sequence = 0;

  if (message == NULL) {
    eh_cmg_tunnel_garbage (tunnel, error->message);
    return;
  }
  if (message->kind == EH_CMG_HELLO) {
    if (!eh_cmg_tunnel_hello (tunnel, message, &error)) {
      g_warning ("tunnel from %s refused: %s", tunnel->address, error->message);
      eh_cmg_tunnel_close (tunnel, 1008, "hello refused");
    }
    return;
  }
  if (tunnel->name == NULL) {
    eh_cmg_tunnel_close (tunnel, 1008, "hello first");
    return;
  }
  switch (message->kind) {
  case EH_CMG_HEALTH:
    g_variant_lookup (message->fields, "sequence", "u", &sequence);
    tunnel->last_health = g_get_real_time () / G_USEC_PER_SEC;
    eh_cmg_tunnel_send (tunnel, EH_CMG_HEALTH_OK, 0, g_variant_new_parsed ("{'sequence': <%u>}", sequence),
                        NULL);
    return;
  case EH_CMG_HEAD:
  case EH_CMG_DATA:
  case EH_CMG_END:
    relay = g_hash_table_lookup (tunnel->relays, GUINT_TO_POINTER (message->stream));
    /* a stream the gateway cancelled may still get what was on its way */
    if (relay == NULL && message->stream >= tunnel->next_stream)
      eh_cmg_tunnel_garbage (tunnel, "a stream never opened");
    else if (relay != NULL)
      eh_cmg_relay_receive (relay, message);
    return;
  default:
    eh_cmg_tunnel_garbage (tunnel, "a kind only the gateway sends");
  }
}

static gboolean
eh_cmg_tunnel_hello_missing (gpointer data)
{
  EhCmgTunnel *tunnel = data;

  tunnel->hello_timeout = 0;
  g_info ("tunnel from %s: no hello within %u s", tunnel->address, EH_CMG_HELLO_TIMEOUT_S);
  eh_cmg_tunnel_close (tunnel, 1008, "no hello");
  return G_SOURCE_REMOVE;
}

/* ── the upgrade ────────────────────────────────────────────────────── */

typedef struct {
  EhCmg *cmg;
  EhRequest *request;
  char *address;
  char *serial;
  GBytes *certificate;
} EhCmgAccept;

static void
eh_cmg_accept_free (EhCmgAccept *accept)
{
  if (accept->address != NULL)
    eh_cmg_count_address (accept->cmg, accept->address, -1);
  g_free (accept->address);
  g_free (accept->serial);
  g_clear_pointer (&accept->certificate, g_bytes_unref);
  g_free (accept);
}

static void
eh_cmg_accept_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  EhCmgAccept *accept = user_data;
  EhCmgTunnel *tunnel;
  GIOStream *raw = NULL;
  GIOStream *connection;

  g_signal_handlers_disconnect_by_data (msg, accept);
  connection = eh_front_upgrade (accept->request, &raw);
  if (connection == NULL) {
    eh_cmg_accept_free (accept);
    return;
  }
  tunnel = g_new0 (EhCmgTunnel, 1);
  tunnel->cmg = accept->cmg;
  tunnel->connection = connection;
  tunnel->raw = raw;
  tunnel->address = g_steal_pointer (&accept->address); /* the address count moves to the tunnel */
  tunnel->serial = g_steal_pointer (&accept->serial);
  tunnel->certificate = g_steal_pointer (&accept->certificate);
  tunnel->since = g_get_real_time () / G_USEC_PER_SEC;
  tunnel->next_stream = 1;
  tunnel->relays = g_hash_table_new (NULL, NULL);
  tunnel->hello_timeout = g_timeout_add_seconds (EH_CMG_HELLO_TIMEOUT_S, eh_cmg_tunnel_hello_missing, tunnel);
  tunnel->ws = eh_websocket_new (raw, TRUE, EH_CMG_WIRE_MAX_BYTES, NULL, eh_cmg_tunnel_message,
                                 eh_cmg_tunnel_closed, tunnel);
  g_ptr_array_add (tunnel->cmg->tunnels, tunnel);
  g_message ("tunnel from %s up: certificate %s; waiting for the hello", tunnel->address, tunnel->serial);
  eh_cmg_accept_free (accept);
}

static void
eh_cmg_accept_gone (SoupServerMessage *msg, gpointer user_data)
{
  g_signal_handlers_disconnect_by_data (msg, user_data);
  eh_cmg_accept_free (user_data);
}

/* the serial of a certificate in lower-case hex */
static char *
eh_cmg_serial_hex (GBytes *der)
{
  g_auto (gnutls_x509_crt_t) cert = eh_crypto_cert_from_der (der, NULL);
  guint8 serial[64];
  size_t len = sizeof serial;
  GString *hex;

  if (cert == NULL || gnutls_x509_crt_get_serial (cert, serial, &len) < 0)
    return g_strdup ("?");
  hex = g_string_new (NULL);
  for (size_t i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", serial[i]);
  return g_string_free (hex, FALSE);
}

/* a current role certificate of this site with the cmg-connector role, or why not */
static gboolean
eh_cmg_check_connector (EhCmg *cmg, GBytes *der, GError **error)
{
  if (cmg->bundle == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_UNAVAILABLE, "no trust bundle yet");
    return FALSE;
  }
  return eh_dp_bundle_check_role_cert (cmg->bundle, der, EH_CMG_ROLE_CONNECTOR,
                                       g_get_real_time () / G_USEC_PER_SEC, error);
}

static GBytes *
eh_cmg_certificate_der (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return der != NULL ? g_bytes_new (der->data, der->len) : NULL;
}

static void
eh_cmg_tunnel_handle (EhRequest *request, gpointer user_data)
{
  EhCmg *cmg = user_data;
  SoupServerMessage *msg = eh_request_get_message (request);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  const char *address = eh_request_get_peer_address (request);
  GTlsCertificate *certificate = eh_request_get_peer_certificate (request);
  const char *wrong = eh_websocket_check_upgrade (headers, EH_CMG_WIRE_SUBPROTOCOL);
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key_accept = NULL;
  EhCmgAccept *accept;

  if (wrong != NULL) {
    g_info ("tunnel from %s refused: %s", address, wrong);
    eh_request_respond_text (request, soup_message_headers_get_one (headers, "Upgrade") == NULL
                                          ? EH_STATUS_UPGRADE_REQUIRED : SOUP_STATUS_BAD_REQUEST, wrong);
    return;
  }
  if (GPOINTER_TO_UINT (g_hash_table_lookup (cmg->per_address, address)) >= EH_CMG_MAX_TUNNELS_PER_ADDRESS) {
    eh_request_respond_text (request, EH_STATUS_TOO_MANY_REQUESTS, "too many tunnels from this address");
    return;
  }
  der = certificate != NULL ? eh_cmg_certificate_der (certificate) : NULL;
  if (der == NULL) {
    g_warning ("tunnel from %s refused: no client certificate", address);
    eh_request_respond_text (request, SOUP_STATUS_FORBIDDEN, "a connector presents its role certificate");
    return;
  }
  if (!eh_cmg_check_connector (cmg, der, &error)) {
    g_warning ("tunnel from %s refused: %s", address, error->message);
    eh_request_respond_text (request, g_error_matches (error, EH_ERROR, EH_ERROR_UNAVAILABLE)
                                          ? SOUP_STATUS_SERVICE_UNAVAILABLE : SOUP_STATUS_FORBIDDEN,
                             error->message);
    return;
  }
  accept = g_new0 (EhCmgAccept, 1);
  accept->cmg = cmg;
  accept->request = request;
  accept->address = g_strdup (address);
  accept->serial = eh_cmg_serial_hex (der);
  accept->certificate = g_steal_pointer (&der);
  eh_cmg_count_address (cmg, address, +1);
  key_accept = eh_websocket_accept_for_key (soup_message_headers_get_one (headers, "Sec-WebSocket-Key"));
  soup_server_message_set_status (msg, SOUP_STATUS_SWITCHING_PROTOCOLS, NULL);
  soup_message_headers_replace (response, "Upgrade", "websocket");
  soup_message_headers_replace (response, "Connection", "Upgrade");
  soup_message_headers_replace (response, "Sec-WebSocket-Accept", key_accept);
  soup_message_headers_replace (response, "Sec-WebSocket-Protocol", EH_CMG_WIRE_SUBPROTOCOL);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (eh_cmg_accept_upgraded), accept);
  g_signal_connect (msg, "finished", G_CALLBACK (eh_cmg_accept_gone), accept);
}

gboolean
eh_cmg_tunnel_register (EhCmg *cmg, GError **error)
{
  const EhEndpoint endpoint = { "GET", EH_CMG_WIRE_PATH, EH_SCHEME_HTTPS, 0, eh_cmg_tunnel_handle };

  return eh_plugin_add_endpoint (cmg->plugin, &endpoint, cmg, error);
}

/* the bundle changed: a connector whose certificate is no longer good goes */
void
eh_cmg_tunnel_recheck (EhCmg *cmg)
{
  for (guint i = 0; i < cmg->tunnels->len; i++) {
    EhCmgTunnel *tunnel = g_ptr_array_index (cmg->tunnels, i);
    g_autoptr (GError) error = NULL;

    if (!tunnel->closing && !eh_cmg_check_connector (cmg, tunnel->certificate, &error)) {
      g_warning ("tunnel from connector %s closed: %s", tunnel->name, error->message);
      eh_cmg_tunnel_close (tunnel, 1008, "certificate no longer accepted");
    }
  }
}

void
eh_cmg_tunnel_close_all (EhCmg *cmg)
{
  g_ptr_array_set_size (cmg->tunnels, 0);
}

/* ── choosing a tunnel ──────────────────────────────────────────────── */

gboolean
eh_cmg_tunnel_lookup_mapping (EhCmgTunnel *tunnel, const char *id, const char **kind, const char **dp_name)
{
  GVariantIter iter;
  const char *mapping, *k, *d;

  if (tunnel->mappings == NULL || tunnel->closing)
    return FALSE;
  g_variant_iter_init (&iter, tunnel->mappings);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &mapping, &k, &d)) {
    if (strcmp (mapping, id) == 0) {
      if (kind != NULL)
        *kind = k;
      if (dp_name != NULL)
        *dp_name = d;
      return TRUE;
    }
  }
  return FALSE;
}

EhCmgTunnel *
eh_cmg_tunnel_pick (EhCmg *cmg, const char *id, EhCmgTunnel *not_this)
{
  guint n = cmg->tunnels->len;

  for (guint i = 0; i < n; i++) {
    EhCmgTunnel *tunnel = g_ptr_array_index (cmg->tunnels, (cmg->next_tunnel + i) % n);

    if (tunnel != not_this && eh_cmg_tunnel_lookup_mapping (tunnel, id, NULL, NULL)) {
      cmg->next_tunnel = (cmg->next_tunnel + i + 1) % n;
      return tunnel;
    }
  }
  return NULL;
}

gboolean
eh_cmg_tunnel_any (EhCmg *cmg)
{
  for (guint i = 0; i < cmg->tunnels->len; i++) {
    EhCmgTunnel *tunnel = g_ptr_array_index (cmg->tunnels, i);

    if (tunnel->name != NULL && !tunnel->closing)
      return TRUE;
  }
  return FALSE;
}

guint32
eh_cmg_tunnel_add_relay (EhCmgTunnel *tunnel, EhCmgRelay *relay)
{
  guint32 stream = tunnel->next_stream++;

  g_hash_table_insert (tunnel->relays, GUINT_TO_POINTER (stream), relay);
  return stream;
}

void
eh_cmg_tunnel_remove_relay (EhCmgTunnel *tunnel, guint32 stream)
{
  g_hash_table_remove (tunnel->relays, GUINT_TO_POINTER (stream));
}

const char *
eh_cmg_tunnel_get_name (EhCmgTunnel *tunnel)
{
  return tunnel->name;
}

void
eh_cmg_tunnel_count_request (EhCmgTunnel *tunnel)
{
  tunnel->requests++;
}

/* ── status ─────────────────────────────────────────────────────────── */

GVariant *
eh_cmg_tunnel_describe_all (EhCmg *cmg)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < cmg->tunnels->len; i++) {
    EhCmgTunnel *tunnel = g_ptr_array_index (cmg->tunnels, i);
    GVariantDict row;

    g_variant_dict_init (&row, NULL);
    g_variant_dict_insert (&row, "connector", "s", tunnel->name != NULL ? tunnel->name : "");
    g_variant_dict_insert (&row, "state", "s", tunnel->closing ? "closing" : tunnel->name != NULL ? "up" : "hello");
    g_variant_dict_insert (&row, "address", "s", tunnel->address);
    g_variant_dict_insert (&row, "serial", "s", tunnel->serial);
    g_variant_dict_insert (&row, "since", "x", tunnel->since);
    g_variant_dict_insert (&row, "last-health", "x", tunnel->last_health);
    g_variant_dict_insert (&row, "requests", "t", tunnel->requests);
    g_variant_dict_insert (&row, "in-flight", "u", g_hash_table_size (tunnel->relays));
    g_variant_builder_add_value (&builder, g_variant_dict_end (&row));
  }
  return g_variant_builder_end (&builder);
}

GVariant *
eh_cmg_tunnel_mappings (EhCmg *cmg)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < cmg->tunnels->len; i++) {
    EhCmgTunnel *tunnel = g_ptr_array_index (cmg->tunnels, i);
    GVariantIter iter;
    const char *id, *kind, *dp_name;

    if (tunnel->mappings == NULL || tunnel->closing)
      continue;
    g_variant_iter_init (&iter, tunnel->mappings);
    while (g_variant_iter_next (&iter, "(&s&s&s)", &id, &kind, &dp_name)) {
      GVariantDict row;

      g_variant_dict_init (&row, NULL);
      g_variant_dict_insert (&row, "id", "s", id);
      g_variant_dict_insert (&row, "kind", "s", kind);
      g_variant_dict_insert (&row, "dp", "s", dp_name);
      g_variant_dict_insert (&row, "connector", "s", tunnel->name);
      g_variant_dict_insert (&row, "url-prefix", "s", EH_CMG_SERVER_PREFIX);
      g_variant_builder_add_value (&builder, g_variant_dict_end (&row));
    }
  }
  return g_variant_builder_end (&builder);
}
