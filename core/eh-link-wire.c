/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-bus-private.h"
#include "eh-error.h"
#include "eh-link-wire.h"

void
eh_link_message_free (EhLinkMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->error_message);
  g_clear_pointer (&message->payload, g_variant_unref);
  g_free (message);
}

const char *
eh_link_kind_to_string (EhLinkKind kind)
{
  switch (kind) {
  case EH_LINK_KIND_REQUEST:
    return "request";
  case EH_LINK_KIND_REPLY:
    return "reply";
  case EH_LINK_KIND_ERROR:
    return "error";
  case EH_LINK_KIND_EVENT:
    return "event";
  }
  return "unknown";
}

static gboolean
eh_link_wire_refuse (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
eh_link_wire_refuse (GError **error, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "link message refused: %s", text);
  return FALSE;
}

/* everything that can be checked without the link's state */
static gboolean
eh_link_wire_check (guint8 kind, guint32 id, const char *topic_name, guint32 code,
                    const char *message, GVariant *payload, const EhBusTopic **topic_out,
                    GError **error)
{
  const EhBusTopic *topic = eh_bus_topic_lookup (topic_name);
  g_autoptr (GError) payload_error = NULL;
  const EhBusField *fields = NULL;

  if (kind < EH_LINK_KIND_REQUEST || kind > EH_LINK_KIND_EVENT)
    return eh_link_wire_refuse (error, "unknown kind %u", kind);
  if (topic == NULL)
    return eh_link_wire_refuse (error, "undeclared topic");
  if ((topic->scope & EH_BUS_LINKABLE) == 0)
    return eh_link_wire_refuse (error, "topic \"%s\" may not cross the link", topic->name);
  if ((kind == EH_LINK_KIND_EVENT) != (topic->kind == EH_BUS_EVENT))
    return eh_link_wire_refuse (error, "a %s on %s topic \"%s\"",
                                eh_link_kind_to_string (kind),
                                topic->kind == EH_BUS_EVENT ? "event" : "request", topic->name);
  if ((kind == EH_LINK_KIND_EVENT) != (id == 0))
    return eh_link_wire_refuse (error, "%s with id %u", eh_link_kind_to_string (kind), id);
  if (kind == EH_LINK_KIND_ERROR) {
    if (code >= EH_ERROR_LAST)
      return eh_link_wire_refuse (error, "unknown error code %u", code);
    if (message[0] == '\0' || strlen (message) > EH_LINK_WIRE_MAX_ERROR_BYTES)
      return eh_link_wire_refuse (error, "error message empty or too long");
    if (g_variant_n_children (payload) != 0)
      return eh_link_wire_refuse (error, "an error carries no payload");
    *topic_out = topic;
    return TRUE;
  }
  if (code != 0 || message[0] != '\0')
    return eh_link_wire_refuse (error, "error fields set on a %s", eh_link_kind_to_string (kind));
  if (kind == EH_LINK_KIND_REPLY)
    fields = topic->reply;
  else
    fields = topic->payload;
  if (!eh_bus_check_payload (topic->name, fields, payload, &payload_error))
    return eh_link_wire_refuse (error, "%s", payload_error->message);
  *topic_out = topic;
  return TRUE;
}

GBytes *
eh_link_wire_encode (EhLinkKind kind, guint32 id, const char *topic, guint32 error_code,
                     const char *error_message, GVariant *payload, GError **error)
{
  g_autoptr (GVariant) owned = payload != NULL ? g_variant_ref_sink (payload)
                                               : g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  g_autoptr (GVariant) message = NULL;
  g_autoptr (GVariant) normal = NULL;
  g_autofree char *text = NULL;
  const EhBusTopic *def = NULL;

  /* an over-long error message is cut rather than refused */
  text = g_utf8_make_valid (error_message != NULL ? error_message : "", -1);
  if (strlen (text) > EH_LINK_WIRE_MAX_ERROR_BYTES) {
    const char *end = g_utf8_find_prev_char (text, text + EH_LINK_WIRE_MAX_ERROR_BYTES + 1);

    text[end - text] = '\0';
  }
  if (!g_variant_is_of_type (owned, G_VARIANT_TYPE_VARDICT)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "link payload is not a{sv}");
    return NULL;
  }
  if (!eh_link_wire_check (kind, id, topic, error_code, text, owned, &def, error))
    return NULL;
  message = g_variant_ref_sink (g_variant_new ("(yusus@a{sv})", (guint8) kind, id, topic,
                                               error_code, text, owned));
  normal = g_variant_get_normal_form (message);
  if (g_variant_get_size (normal) > EH_LINK_WIRE_MAX_BYTES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "link message of %" G_GSIZE_FORMAT " bytes is over the cap",
                 g_variant_get_size (normal));
    return NULL;
  }
  return g_variant_get_data_as_bytes (normal);
}

EhLinkMessage *
eh_link_wire_decode (GBytes *bytes, GError **error)
{
  g_autoptr (GVariant) message = NULL;
  g_autoptr (GVariant) payload = NULL;
  g_autoptr (EhLinkMessage) decoded = NULL;
  const char *topic = NULL;
  const char *text = NULL;
  guint8 kind = 0;
  guint32 id = 0, code = 0;

  if (g_bytes_get_size (bytes) > EH_LINK_WIRE_MAX_BYTES) {
    eh_link_wire_refuse (error, "%" G_GSIZE_FORMAT " bytes is over the cap",
                         g_bytes_get_size (bytes));
    return NULL;
  }
  message = g_variant_ref_sink (
      g_variant_new_from_bytes (G_VARIANT_TYPE (EH_LINK_WIRE_TYPE), bytes, FALSE));
  /* only one spelling of each message: anything else is garbage, not data */
  if (!g_variant_is_normal_form (message)) {
    eh_link_wire_refuse (error, "not a %s in normal form", EH_LINK_WIRE_TYPE);
    return NULL;
  }
  g_variant_get (message, "(yu&su&s@a{sv})", &kind, &id, &topic, &code, &text, &payload);
  decoded = g_new0 (EhLinkMessage, 1);
  if (!eh_link_wire_check (kind, id, topic, code, text, payload, &decoded->topic, error))
    return NULL;
  decoded->kind = kind;
  decoded->id = id;
  decoded->error_code = code;
  decoded->error_message = g_strdup (text);
  decoded->payload = g_steal_pointer (&payload);
  return g_steal_pointer (&decoded);
}
