/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ehttpd.h"

#include "eh-cmg-wire.h"

typedef struct {
  const char *key;
  const char *type;
  gboolean required;
} EhCmgField;

typedef struct {
  const char *name;
  gboolean on_stream; /* stream > 0; otherwise stream 0 */
  gboolean has_data;
  EhCmgField fields[8];
} EhCmgKindInfo;

static const EhCmgKindInfo eh_cmg_kinds[] = {
  [EH_CMG_HELLO] = { "hello", FALSE, FALSE,
                     { { "name", "s", TRUE }, { "site", "s", TRUE }, { "mappings", "a(sss)", TRUE }, { NULL } } },
  [EH_CMG_REQUEST] = { "request", TRUE, TRUE,
                       { { "method", "s", TRUE }, { "path", "s", TRUE }, { "headers", "a(ss)", TRUE },
                         { "correlation", "s", TRUE }, { "client", "s", TRUE }, { "gateway", "s", TRUE },
                         { "mapping", "s", TRUE }, { NULL } } },
  [EH_CMG_HEAD] = { "head", TRUE, TRUE,
                    { { "status", "u", TRUE }, { "headers", "a(ss)", TRUE }, { "complete", "b", FALSE }, { NULL } } },
  [EH_CMG_DATA] = { "data", TRUE, TRUE, { { NULL } } },
  [EH_CMG_END] = { "end", TRUE, FALSE, { { "error", "s", FALSE }, { NULL } } },
  [EH_CMG_CREDIT] = { "credit", TRUE, FALSE, { { "bytes", "u", TRUE }, { NULL } } },
  [EH_CMG_CANCEL] = { "cancel", TRUE, FALSE, { { NULL } } },
  [EH_CMG_HEALTH] = { "health", FALSE, FALSE, { { "sequence", "u", TRUE }, { NULL } } },
  [EH_CMG_HEALTH_OK] = { "health-ok", FALSE, FALSE, { { "sequence", "u", TRUE }, { NULL } } },
};

const char *const eh_cmg_request_headers[] = {
  "Accept", "Authorization", "Content-Type", "If-Modified-Since", "If-None-Match", "If-Range", "Range", NULL,
};

const char *const eh_cmg_response_headers[] = {
  "Accept-Ranges", "Cache-Control", "Content-Length", "Content-Range", "Content-Type", "ETag",
  "Last-Modified", "WWW-Authenticate", NULL,
};

const char *
eh_cmg_kind_to_string (EhCmgKind kind)
{
  if (kind < EH_CMG_HELLO || kind > EH_CMG_HEALTH_OK)
    return "unknown";
  return eh_cmg_kinds[kind].name;
}

void
eh_cmg_message_free (EhCmgMessage *message)
{
  if (message == NULL)
    return;
  g_clear_pointer (&message->fields, g_variant_unref);
  g_clear_pointer (&message->data, g_bytes_unref);
  g_free (message);
}

gboolean
eh_cmg_header_allowed (const char *const *allowed, const char *name, const char *value)
{
  if (strlen (value) > 8192)
    return FALSE;
  for (const char *c = value; *c != '\0'; c++) {
    if (*c < 0x20 || *c > 0x7e)
      return FALSE;
  }
  for (guint i = 0; allowed[i] != NULL; i++) {
    if (g_ascii_strcasecmp (allowed[i], name) == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
eh_cmg_wire_check_headers (GVariant *headers, GError **error)
{
  GVariantIter iter;
  const char *name, *value;

  if (g_variant_n_children (headers) > EH_CMG_WIRE_MAX_HEADERS) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "too many headers");
    return FALSE;
  }
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value)) {
    if (!eh_cmg_header_allowed (eh_cmg_request_headers, name, value) &&
        !eh_cmg_header_allowed (eh_cmg_response_headers, name, value)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "header %s may not cross", name);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
eh_cmg_wire_check (EhCmgKind kind, guint32 stream, GVariant *fields, gsize data_len, GError **error)
{
  const EhCmgKindInfo *info;
  GVariantIter iter;
  const char *key;
  GVariant *value;
  guint seen = 0;

  if (kind < EH_CMG_HELLO || kind > EH_CMG_HEALTH_OK) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown kind %u", kind);
    return FALSE;
  }
  info = &eh_cmg_kinds[kind];
  if (info->on_stream != (stream != 0) || (!info->has_data && data_len > 0)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: wrong stream or data", info->name);
    return FALSE;
  }
  g_variant_iter_init (&iter, fields);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value)) {
    const EhCmgField *field = NULL;
    g_autoptr (GVariant) owned = value;
    guint index = 0;

    for (guint i = 0; info->fields[i].key != NULL; i++) {
      if (strcmp (info->fields[i].key, key) == 0) {
        field = &info->fields[i];
        index = i;
      }
    }
    if (field == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE (field->type))) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: field %s unknown or of the wrong type",
                   info->name, key);
      return FALSE;
    }
    if (seen & (1u << index)) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: field %s twice", info->name, key);
      return FALSE;
    }
    seen |= 1u << index;
    if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a(ss)")) && !eh_cmg_wire_check_headers (value, error))
      return FALSE;
    if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a(sss)")) &&
        g_variant_n_children (value) > EH_CMG_WIRE_MAX_MAPPINGS) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "too many mappings");
      return FALSE;
    }
  }
  for (guint i = 0; info->fields[i].key != NULL; i++) {
    if (info->fields[i].required && !(seen & (1u << i))) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: field %s missing", info->name,
                   info->fields[i].key);
      return FALSE;
    }
  }
  return TRUE;
}

GVariant *
eh_cmg_wire_build (EhCmgKind kind, guint32 stream, GVariant *fields, GBytes *data, GError **error)
{
  g_autoptr (GVariant) dict = fields != NULL ? g_variant_ref_sink (fields)
                                             : g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  gsize len = data != NULL ? g_bytes_get_size (data) : 0;
  g_autoptr (GVariant) message = NULL;

  if (!eh_cmg_wire_check (kind, stream, dict, len, error))
    return NULL;
  /* the body is referenced, not copied: it is copied once, when the message
   * is serialized (into its WebSocket frame) */
  message = g_variant_ref_sink (g_variant_new ("(yu@a{sv}@ay)", (guchar) kind, stream, dict,
                                               g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING,
                                                                        len > 0 ? g_bytes_get_data (data, NULL) : "",
                                                                        len, TRUE,
                                                                        data != NULL ? (GDestroyNotify) g_bytes_unref : NULL,
                                                                        data != NULL ? g_bytes_ref (data) : NULL)));
  /* the size is computed from the parts, without serializing */
  if (g_variant_get_size (message) > EH_CMG_WIRE_MAX_BYTES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a message over %u bytes", EH_CMG_WIRE_MAX_BYTES);
    return NULL;
  }
  return g_steal_pointer (&message);
}

GBytes *
eh_cmg_wire_encode (EhCmgKind kind, guint32 stream, GVariant *fields, GBytes *data, GError **error)
{
  g_autoptr (GVariant) message = eh_cmg_wire_build (kind, stream, fields, data, error);

  return message != NULL ? g_variant_get_data_as_bytes (message) : NULL;
}

/* is @message, read from @bytes, in normal form? Its parts are checked
 * without walking the body byte by byte (GLib's check visits every element
 * of an ay): the fields are in normal form, and the whole is exactly what
 * they and the body serialize to — for a long body by where GLib found the
 * parts (their places and the size fix the framing offset and padding), for
 * a short one by serializing it again */
static gboolean
eh_cmg_wire_is_normal (GBytes *bytes, guchar kind, guint32 stream, GVariant *fields, GVariant *data)
{
  g_autoptr (GVariant) canonical = NULL;
  const guint8 *base = g_bytes_get_data (bytes, NULL);
  gsize size = g_bytes_get_size (bytes);
  gsize fields_size = g_variant_get_size (fields);
  gsize data_size = g_variant_get_size (data);

  if (!g_variant_is_normal_form (fields))
    return FALSE;
  canonical = g_variant_ref_sink (g_variant_new ("(yu@a{sv}@ay)", kind, stream, fields, data));
  if (g_variant_get_size (canonical) != size)
    return FALSE;
  if (data_size >= EH_CMG_WIRE_DIRECT_CHECK) {
    guint8 head[8] = { kind, 0, 0, 0 };

    memcpy (head + 4, &stream, 4);
    return size >= 8 && memcmp (base, head, 8) == 0 &&
           (fields_size == 0 || g_variant_get_data (fields) == (gconstpointer) (base + 8)) &&
           g_variant_get_data (data) == (gconstpointer) (base + 8 + fields_size);
  }
  return memcmp (g_variant_get_data (canonical), base, size) == 0;
}

EhCmgMessage *
eh_cmg_wire_decode (GBytes *bytes, GError **error)
{
  g_autoptr (GVariant) message = NULL;
  g_autoptr (GVariant) fields = NULL;
  g_autoptr (GVariant) data = NULL;
  EhCmgMessage *decoded;
  guchar kind = 0;
  guint32 stream = 0;

  if (g_bytes_get_size (bytes) > EH_CMG_WIRE_MAX_BYTES) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "message too large");
    return NULL;
  }
  message = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (EH_CMG_WIRE_TYPE), bytes, FALSE));
  g_variant_get (message, "(yu@a{sv}@ay)", &kind, &stream, &fields, &data);
  if (!eh_cmg_wire_is_normal (bytes, kind, stream, fields, data)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not the normal form of " EH_CMG_WIRE_TYPE);
    return NULL;
  }
  if (!eh_cmg_wire_check (kind, stream, fields, g_variant_get_size (data), error))
    return NULL;
  decoded = g_new0 (EhCmgMessage, 1);
  decoded->kind = kind;
  decoded->stream = stream;
  decoded->fields = g_steal_pointer (&fields);
  decoded->data = g_variant_get_data_as_bytes (data);
  return decoded;
}
