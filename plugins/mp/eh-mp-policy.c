/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-mp.h"

/*
 * Policy documents. A client gets a JWS (typ policy+jwt) signed with the
 * site signing key whose payload lists its assignments, each with its id
 * and the SHA-256 (hex) of its body; the bodies are fetched one by one. A
 * changed body no longer matches its hash, a changed list no longer
 * verifies: the client detects either.
 */

char *
eh_mp_policy_body (const char *id, const char *content_id, const char *action,
                   const char *collection, gint64 created_at)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "assignment_id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "content_id");
  json_builder_add_string_value (builder, content_id);
  json_builder_set_member_name (builder, "action");
  json_builder_add_string_value (builder, action);
  json_builder_set_member_name (builder, "target");
  if (collection != NULL) {
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "collection");
    json_builder_add_string_value (builder, collection);
    json_builder_end_object (builder);
  } else {
    json_builder_add_string_value (builder, "all");
  }
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, created_at);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

char *
eh_mp_policy_payload (const char *site, const char *client_guid, GPtrArray *deployments, gint64 now)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "iss");
  json_builder_add_string_value (builder, site);
  json_builder_set_member_name (builder, "sub");
  json_builder_add_string_value (builder, client_guid);
  json_builder_set_member_name (builder, "iat");
  json_builder_add_int_value (builder, now);
  json_builder_set_member_name (builder, "assignments");
  json_builder_begin_array (builder);
  for (guint i = 0; deployments != NULL && i < deployments->len; i++) {
    const EhMpDeployment *deployment = g_ptr_array_index (deployments, i);

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "id");
    json_builder_add_string_value (builder, deployment->id);
    json_builder_set_member_name (builder, "sha256");
    json_builder_add_string_value (builder, deployment->body_sha256);
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}
