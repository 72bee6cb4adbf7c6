/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-bus-private.h"
#include "eh-error.h"

#define EH_BUS_DEFAULT_TIMEOUT_MS 30000

typedef struct {
  gint ref_count;
  guint id;
  char *owner;
  char *topic;
  gboolean active;
  EhBusEventFunc event_func;
  EhBusRequestFunc request_func;
  gpointer user_data;
  GDestroyNotify destroy;
} EhBusEntry;

struct _EhBusHub {
  GMainContext *context;
  GHashTable *subscriptions; /* id → EhBusEntry */
  GHashTable *responders;    /* topic → EhBusEntry */
  guint next_id;
  const EhBusLinkFuncs *link_funcs;
  gpointer link;
};

struct _EhBus {
  EhBusHub *hub;
  char *owner;
};

struct _EhBusRequest {
  GTask *task;
  const EhBusTopic *topic;
  GSource *timeout;
  gboolean done; /* the task has returned */
  EhBusOrigin *origin; /* NULL: asked on this host */
};

static EhBusEntry *
eh_bus_entry_ref (EhBusEntry *entry)
{
  entry->ref_count++;
  return entry;
}

static void
eh_bus_entry_unref (EhBusEntry *entry)
{
  if (--entry->ref_count > 0)
    return;
  if (entry->destroy != NULL)
    entry->destroy (entry->user_data);
  g_free (entry->owner);
  g_free (entry->topic);
  g_free (entry);
}

/* inactive entries are never called again, even if a delivery is queued */
static void
eh_bus_entry_deactivate (EhBusEntry *entry)
{
  entry->active = FALSE;
  eh_bus_entry_unref (entry);
}

EhBusHub *
eh_bus_hub_new (void)
{
  EhBusHub *hub = g_new0 (EhBusHub, 1);

  hub->context = g_main_context_ref_thread_default ();
  hub->subscriptions = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                              (GDestroyNotify) eh_bus_entry_deactivate);
  hub->responders = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) eh_bus_entry_deactivate);
  return hub;
}

void
eh_bus_hub_free (EhBusHub *hub)
{
  if (hub == NULL)
    return;
  g_hash_table_unref (hub->subscriptions);
  g_hash_table_unref (hub->responders);
  g_main_context_unref (hub->context);
  g_free (hub);
}

EhBus *
eh_bus_hub_connect (EhBusHub *hub, const char *owner)
{
  EhBus *bus = g_new0 (EhBus, 1);

  bus->hub = hub;
  bus->owner = g_strdup (owner);
  return bus;
}

void
eh_bus_free (EhBus *bus)
{
  if (bus == NULL)
    return;
  g_free (bus->owner);
  g_free (bus);
}

static gboolean
eh_bus_entry_is_owned_by (gpointer key, gpointer value, gpointer owner)
{
  return g_strcmp0 (((EhBusEntry *) value)->owner, owner) == 0;
}

void
eh_bus_hub_forget_owner (EhBusHub *hub, const char *owner)
{
  g_hash_table_foreach_remove (hub->subscriptions, eh_bus_entry_is_owned_by, (gpointer) owner);
  g_hash_table_foreach_remove (hub->responders, eh_bus_entry_is_owned_by, (gpointer) owner);
}

void
eh_bus_hub_set_link (EhBusHub *hub, const EhBusLinkFuncs *funcs, gpointer link)
{
  hub->link_funcs = funcs;
  hub->link = link;
}

static const EhBusField *
eh_bus_find_field (const EhBusField *fields, const char *key)
{
  for (guint i = 0; fields != NULL && fields[i].key != NULL; i++) {
    if (g_strcmp0 (fields[i].key, key) == 0)
      return &fields[i];
  }
  return NULL;
}

gboolean
eh_bus_check_payload (const char *topic, const EhBusField *fields, GVariant *payload,
                      GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (payload == NULL || !g_variant_is_of_type (payload, G_VARIANT_TYPE_VARDICT)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: payload is not a{sv}", topic);
    return FALSE;
  }
  g_variant_iter_init (&iter, payload);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value)) {
    const EhBusField *field = eh_bus_find_field (fields, key);

    if (field == NULL) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: undeclared key \"%s\"", topic,
                   key);
      g_variant_unref (value);
      return FALSE;
    }
    if (!g_variant_is_of_type (value, G_VARIANT_TYPE (field->type))) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "%s: key \"%s\" has type %s, expected %s", topic, key,
                   g_variant_get_type_string (value), field->type);
      g_variant_unref (value);
      return FALSE;
    }
  }
  for (guint i = 0; fields != NULL && fields[i].key != NULL; i++) {
    g_autoptr (GVariant) present = NULL;

    if (!fields[i].required)
      continue;
    present = g_variant_lookup_value (payload, fields[i].key, NULL);
    if (present == NULL) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s: required key \"%s\" missing",
                   topic, fields[i].key);
      return FALSE;
    }
  }
  return TRUE;
}

static const EhBusTopic *
eh_bus_checked_topic (const char *topic, EhBusTopicKind kind, GError **error)
{
  const EhBusTopic *def = eh_bus_topic_lookup (topic);

  if (def == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "bus topic \"%s\" is not declared",
                 topic);
    return NULL;
  }
  if (def->kind != kind) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "bus topic \"%s\" is not %s", topic,
                 kind == EH_BUS_EVENT ? "an event" : "a request");
    return NULL;
  }
  return def;
}

/* ── events ─────────────────────────────────────────────────────────── */

/* one queued delivery to a subscriber or a responder */
typedef struct {
  EhBusEntry *entry;
  GVariant *payload;
  EhBusRequest *request; /* requests only */
} EhBusDelivery;

static gboolean
eh_bus_deliver_event (gpointer data)
{
  EhBusDelivery *delivery = data;

  if (delivery->entry->active)
    delivery->entry->event_func (delivery->entry->topic, delivery->payload,
                                 delivery->entry->user_data);
  return G_SOURCE_REMOVE;
}

static void
eh_bus_delivery_free (gpointer data)
{
  EhBusDelivery *delivery = data;

  eh_bus_entry_unref (delivery->entry);
  g_variant_unref (delivery->payload);
  g_free (delivery);
}

static void
eh_bus_hub_deliver_local (EhBusHub *hub, const char *topic, GVariant *payload)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, hub->subscriptions);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    EhBusEntry *entry = value;
    EhBusDelivery *delivery;
    g_autoptr (GSource) source = NULL;

    if (g_strcmp0 (entry->topic, topic) != 0)
      continue;
    delivery = g_new0 (EhBusDelivery, 1);
    delivery->entry = eh_bus_entry_ref (entry);
    delivery->payload = g_variant_ref (payload);
    source = g_idle_source_new ();
    g_source_set_callback (source, eh_bus_deliver_event, delivery, eh_bus_delivery_free);
    g_source_attach (source, hub->context);
  }
}

gboolean
eh_bus_publish (EhBus *bus, const char *topic, GVariant *payload, GError **error)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (payload);
  const EhBusTopic *def = eh_bus_checked_topic (topic, EH_BUS_EVENT, error);

  if (def == NULL || !eh_bus_check_payload (topic, def->payload, owned, error))
    return FALSE;
  eh_bus_hub_deliver_local (bus->hub, topic, owned);
  if ((def->scope & EH_BUS_LINKABLE) != 0 && bus->hub->link_funcs != NULL)
    bus->hub->link_funcs->forward_event (bus->hub->link, topic, owned);
  return TRUE;
}

gboolean
eh_bus_hub_deliver_remote_event (EhBusHub *hub, const char *topic, GVariant *payload,
                                 GError **error)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (payload);
  const EhBusTopic *def = eh_bus_checked_topic (topic, EH_BUS_EVENT, error);

  if (def == NULL || !eh_bus_check_payload (topic, def->payload, owned, error))
    return FALSE;
  if ((def->scope & EH_BUS_LINKABLE) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "bus topic \"%s\" may not cross the link", topic);
    return FALSE;
  }
  eh_bus_hub_deliver_local (hub, topic, owned);
  return TRUE;
}

static EhBusEntry *
eh_bus_entry_new (EhBus *bus, const char *topic, gpointer user_data, GDestroyNotify destroy)
{
  EhBusEntry *entry = g_new0 (EhBusEntry, 1);

  entry->ref_count = 1;
  entry->id = ++bus->hub->next_id;
  entry->owner = g_strdup (bus->owner);
  entry->topic = g_strdup (topic);
  entry->active = TRUE;
  entry->user_data = user_data;
  entry->destroy = destroy;
  return entry;
}

guint
eh_bus_subscribe (EhBus *bus, const char *topic, EhBusEventFunc func, gpointer user_data,
                  GDestroyNotify destroy)
{
  g_autoptr (GError) error = NULL;
  EhBusEntry *entry;

  if (eh_bus_checked_topic (topic, EH_BUS_EVENT, &error) == NULL) {
    g_critical ("%s: %s", bus->owner, error->message);
    return 0;
  }
  entry = eh_bus_entry_new (bus, topic, user_data, destroy);
  entry->event_func = func;
  g_hash_table_insert (bus->hub->subscriptions, GUINT_TO_POINTER (entry->id), entry);
  return entry->id;
}

void
eh_bus_unsubscribe (EhBus *bus, guint id)
{
  g_hash_table_remove (bus->hub->subscriptions, GUINT_TO_POINTER (id));
}

/* ── requests ───────────────────────────────────────────────────────── */

guint
eh_bus_respond (EhBus *bus, const char *topic, EhBusRequestFunc func, gpointer user_data,
                GDestroyNotify destroy, GError **error)
{
  EhBusEntry *entry;
  EhBusEntry *existing;

  if (eh_bus_checked_topic (topic, EH_BUS_REQUEST, error) == NULL)
    return 0;
  existing = g_hash_table_lookup (bus->hub->responders, topic);
  if (existing != NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_EXISTS, "bus topic \"%s\" already has a responder (%s)",
                 topic, existing->owner);
    return 0;
  }
  entry = eh_bus_entry_new (bus, topic, user_data, destroy);
  entry->request_func = func;
  g_hash_table_insert (bus->hub->responders, entry->topic, entry);
  return entry->id;
}

static gboolean
eh_bus_entry_has_id (gpointer key, gpointer value, gpointer id)
{
  return ((EhBusEntry *) value)->id == GPOINTER_TO_UINT (id);
}

void
eh_bus_unrespond (EhBus *bus, guint id)
{
  g_hash_table_foreach_remove (bus->hub->responders, eh_bus_entry_has_id, GUINT_TO_POINTER (id));
}

static EhBusOrigin *
eh_bus_origin_copy (const EhBusOrigin *origin)
{
  EhBusOrigin *copy = g_new0 (EhBusOrigin, 1);

  copy->authenticated = origin->authenticated;
  copy->peer_address = g_strdup (origin->peer_address);
  copy->serial = g_strdup (origin->serial);
  copy->roles = (const char *const *) g_strdupv ((char **) origin->roles);
  if (copy->roles == NULL)
    copy->roles = (const char *const *) g_new0 (char *, 1);
  return copy;
}

static void
eh_bus_origin_free (EhBusOrigin *origin)
{
  if (origin == NULL)
    return;
  g_free ((char *) origin->peer_address);
  g_free ((char *) origin->serial);
  g_strfreev ((char **) origin->roles);
  g_free (origin);
}

static void
eh_bus_request_free (EhBusRequest *request)
{
  if (request->timeout != NULL) {
    g_source_destroy (request->timeout);
    g_source_unref (request->timeout);
  }
  eh_bus_origin_free (request->origin);
  g_object_unref (request->task);
  g_free (request);
}

/* completes the caller's task once; the request itself lives until answered */
static void
eh_bus_request_complete (EhBusRequest *request, GVariant *reply, const GError *error)
{
  if (request->done)
    return;
  request->done = TRUE;
  if (reply != NULL)
    g_task_return_pointer (request->task, g_variant_ref (reply), (GDestroyNotify) g_variant_unref);
  else
    g_task_return_error (request->task, g_error_copy (error));
}

const EhBusOrigin *
eh_bus_request_get_origin (EhBusRequest *request)
{
  return request->origin;
}

const char *
eh_bus_request_get_topic (EhBusRequest *request)
{
  return request->topic->name;
}

void
eh_bus_request_reply (EhBusRequest *request, GVariant *reply)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (reply);
  g_autoptr (GError) error = NULL;

  if (!eh_bus_check_payload (request->topic->name, request->topic->reply, owned, &error)) {
    g_warning ("bad reply on the bus: %s", error->message);
    eh_bus_request_complete (request, NULL, error);
  } else {
    eh_bus_request_complete (request, owned, NULL);
  }
  eh_bus_request_free (request);
}

void
eh_bus_request_fail (EhBusRequest *request, const GError *error)
{
  eh_bus_request_complete (request, NULL, error);
  eh_bus_request_free (request);
}

static gboolean
eh_bus_request_timed_out (gpointer data)
{
  EhBusRequest *request = data;
  g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_TIMEOUT,
                                          "bus request \"%s\" got no reply in time",
                                          request->topic->name);

  eh_bus_request_complete (request, NULL, error);
  g_clear_pointer (&request->timeout, g_source_unref);
  return G_SOURCE_REMOVE;
}

static gboolean
eh_bus_deliver_request (gpointer data)
{
  EhBusDelivery *call = data;
  EhBusRequest *request = g_steal_pointer (&call->request);

  if (call->entry->active) {
    call->entry->request_func (request, call->payload, call->entry->user_data);
  } else {
    g_autoptr (GError) error = g_error_new (EH_ERROR, EH_ERROR_NO_RESPONDER,
                                            "the responder of \"%s\" went away",
                                            request->topic->name);
    eh_bus_request_fail (request, error);
  }
  return G_SOURCE_REMOVE;
}

static void
eh_bus_dispatch_request (EhBusHub *hub, EhBusEntry *entry, EhBusRequest *request,
                         GVariant *payload)
{
  EhBusDelivery *call = g_new0 (EhBusDelivery, 1);
  g_autoptr (GSource) source = g_idle_source_new ();

  call->entry = eh_bus_entry_ref (entry);
  call->request = request;
  call->payload = g_variant_ref (payload);
  g_source_set_callback (source, eh_bus_deliver_request, call, eh_bus_delivery_free);
  g_source_attach (source, hub->context);
}

/* @origin: (nullable): NULL for a request made on this host; otherwise it
 * came over the link and only a local responder may answer it */
static void
eh_bus_hub_request (EhBusHub *hub, const char *topic, GVariant *payload, guint timeout_ms,
                    const EhBusOrigin *origin, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GVariant) owned = payload != NULL ? g_variant_ref_sink (payload) : NULL;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  const EhBusTopic *def = eh_bus_checked_topic (topic, EH_BUS_REQUEST, &error);
  gboolean may_forward;
  EhBusRequest *request;
  EhBusEntry *responder;

  g_task_set_source_tag (task, eh_bus_request);
  g_task_set_check_cancellable (task, FALSE);
  if (def == NULL || !eh_bus_check_payload (topic, def->payload, owned, &error)) {
    g_task_return_error (task, g_steal_pointer (&error));
    return;
  }
  if (origin != NULL && ((def->scope & EH_BUS_LINKABLE) == 0 ||
                         (!origin->authenticated && def->scope != EH_BUS_LINKABLE_OPEN))) {
    g_task_return_new_error (task, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                             "bus topic \"%s\" is not open to %s link peers", topic,
                             (def->scope & EH_BUS_LINKABLE) == 0 ? "any" : "unenrolled");
    return;
  }
  /* a request from the link is never sent further up */
  may_forward = origin == NULL && (def->scope & EH_BUS_LINKABLE) != 0 && hub->link_funcs != NULL;
  responder = g_hash_table_lookup (hub->responders, topic);
  if (responder == NULL && !may_forward) {
    g_task_return_new_error (task, EH_ERROR, EH_ERROR_NO_RESPONDER,
                             "no responder for bus topic \"%s\" on this host%s", topic,
                             (def->scope & EH_BUS_LINKABLE) != 0 && origin == NULL
                                 ? " and no upstream link" : "");
    return;
  }
  request = g_new0 (EhBusRequest, 1);
  request->task = g_object_ref (task);
  request->topic = def;
  request->origin = origin != NULL ? eh_bus_origin_copy (origin) : NULL;
  request->timeout = g_timeout_source_new (timeout_ms > 0 ? timeout_ms : EH_BUS_DEFAULT_TIMEOUT_MS);
  g_source_set_callback (request->timeout, eh_bus_request_timed_out, request, NULL);
  g_source_attach (request->timeout, hub->context);
  if (responder != NULL)
    eh_bus_dispatch_request (hub, responder, request, owned);
  else
    hub->link_funcs->forward_request (hub->link, request, owned);
}

void
eh_bus_request (EhBus *bus, const char *topic, GVariant *payload, guint timeout_ms,
                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  eh_bus_hub_request (bus->hub, topic, payload, timeout_ms, NULL, cancellable, callback, user_data);
}

void
eh_bus_hub_request_from_link (EhBusHub *hub, const char *topic, GVariant *payload,
                              const EhBusOrigin *origin, guint timeout_ms,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (origin != NULL);
  eh_bus_hub_request (hub, topic, payload, timeout_ms, origin, NULL, callback, user_data);
}

GVariant *
eh_bus_request_finish (EhBus *bus, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
