/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-mp.h"

/*
 * Boundary groups: the admin names which DPs are near which clients, by the
 * subnets the clients' addresses fall in (Configuration Manager's boundary
 * groups, with subnets as the one boundary kind). Content location puts the
 * DPs of every group that holds the client's address first, then the rest
 * of the DPs that hold the content, so a client always has somewhere to
 * fall back to. Stored in mp_boundaries (one row a group, subnets and DP
 * names as comma lists of checked text), kept in memory for lookups.
 */

#define EH_MP_BOUNDARY_NAME_MAX 64
#define EH_MP_BOUNDARY_LIST_MAX 64
#define EH_MP_BOUNDARIES_MAX 1024

struct _EhMpBoundary {
  char *name;
  GPtrArray *subnets; /* GInetAddressMask */
  GStrv dps;          /* lower case */
  char *created_by;
  gint64 created_at;
};

void
eh_mp_boundary_free (EhMpBoundary *boundary)
{
  if (boundary == NULL)
    return;
  g_free (boundary->name);
  g_ptr_array_unref (boundary->subnets);
  g_strfreev (boundary->dps);
  g_free (boundary->created_by);
  g_free (boundary);
}

gboolean
eh_mp_boundary_name_is_valid (const char *name)
{
  return eh_text_is_word (name, 1, EH_MP_BOUNDARY_NAME_MAX, "._-");
}

/* a subnet in CIDR form, IPv4 or IPv6; its canonical text in @canonical */
static GInetAddressMask *
eh_mp_boundary_parse_subnet (const char *text, GError **error)
{
  g_autoptr (GError) local = NULL;
  GInetAddressMask *mask;

  if (strlen (text) > 64 || strchr (text, '/') == NULL ||
      (mask = g_inet_address_mask_new_from_string (text, &local)) == NULL) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "\"%.64s\" is not a subnet in CIDR form (10.1.0.0/16, fd00:1::/64)", text);
    return NULL;
  }
  return mask;
}

/* the subnets and DP names of a group: 1 to 64 each, checked */
static EhMpBoundary *
eh_mp_boundary_build (const char *name, const char *const *subnets, const char *const *dps, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  EhMpBoundary *boundary;
  guint n_subnets = subnets != NULL ? g_strv_length ((GStrv) subnets) : 0;
  guint n_dps = dps != NULL ? g_strv_length ((GStrv) dps) : 0;

  if (!eh_mp_boundary_name_is_valid (name)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a boundary group name is 1 to %d of A-Z a-z 0-9 . _ -", EH_MP_BOUNDARY_NAME_MAX);
    return NULL;
  }
  if (n_subnets == 0 || n_subnets > EH_MP_BOUNDARY_LIST_MAX || n_dps == 0 || n_dps > EH_MP_BOUNDARY_LIST_MAX) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a boundary group has 1 to %d subnets and 1 to %d DP names", EH_MP_BOUNDARY_LIST_MAX,
                 EH_MP_BOUNDARY_LIST_MAX);
    return NULL;
  }
  boundary = g_new0 (EhMpBoundary, 1);
  boundary->name = g_strdup (name);
  boundary->subnets = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < n_subnets; i++) {
    GInetAddressMask *mask = eh_mp_boundary_parse_subnet (subnets[i], error);

    if (mask == NULL) {
      eh_mp_boundary_free (boundary);
      return NULL;
    }
    g_ptr_array_add (boundary->subnets, mask);
  }
  for (guint i = 0; i < n_dps; i++) {
    if (!eh_mp_dp_name_is_valid (dps[i])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "\"%.64s\" is not a DP name (a DNS name or an IP address, as the DP reports itself)", dps[i]);
      eh_mp_boundary_free (boundary);
      return NULL;
    }
    g_ptr_array_add (names, g_ascii_strdown (dps[i], -1));
  }
  g_ptr_array_add (names, NULL);
  boundary->dps = (GStrv) g_ptr_array_steal (names, NULL);
  return boundary;
}

static char *
eh_mp_boundary_subnets_text (const EhMpBoundary *boundary)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < boundary->subnets->len; i++) {
    g_autofree char *one = g_inet_address_mask_to_string (g_ptr_array_index (boundary->subnets, i));

    g_string_append_printf (text, "%s%s", i > 0 ? "," : "", one);
  }
  return g_string_free (text, FALSE);
}

static gboolean
eh_mp_boundaries_reload (EhMp *mp, GError **error)
{
  sqlite3_stmt *stmt = eh_store_prepare (
      mp->store, "SELECT name, subnets, dps, created_by, created_at FROM mp_boundaries ORDER BY name", error);
  g_autoptr (GPtrArray) loaded = g_ptr_array_new_with_free_func ((GDestroyNotify) eh_mp_boundary_free);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    g_auto (GStrv) subnets = g_strsplit ((const char *) sqlite3_column_text (stmt, 1), ",", -1);
    g_auto (GStrv) dps = g_strsplit ((const char *) sqlite3_column_text (stmt, 2), ",", -1);
    g_autoptr (GError) local = NULL;
    EhMpBoundary *boundary = eh_mp_boundary_build ((const char *) sqlite3_column_text (stmt, 0),
                                                   (const char *const *) subnets, (const char *const *) dps,
                                                   &local);

    /* rows were checked on the way in; one changed behind our back is skipped, said once */
    if (boundary == NULL) {
      g_warning ("boundary group %s in the store is not valid, ignored: %s",
                 (const char *) sqlite3_column_text (stmt, 0), local->message);
      continue;
    }
    boundary->created_by = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
    boundary->created_at = sqlite3_column_int64 (stmt, 4);
    g_ptr_array_add (loaded, boundary);
  }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE) {
    eh_store_set_error (mp->store, "reading boundary groups", error);
    return FALSE;
  }
  g_clear_pointer (&mp->boundaries, g_ptr_array_unref);
  mp->boundaries = g_steal_pointer (&loaded);
  return TRUE;
}

gboolean
eh_mp_boundaries_start (EhMp *mp, GError **error)
{
  return eh_mp_boundaries_reload (mp, error);
}

void
eh_mp_boundaries_stop (EhMp *mp)
{
  g_clear_pointer (&mp->boundaries, g_ptr_array_unref);
}

gboolean
eh_mp_boundary_add (EhMp *mp, const char *name, const char *const *subnets, const char *const *dps,
                    const char *by, GError **error)
{
  g_autoptr (EhMpBoundary) boundary = eh_mp_boundary_build (name, subnets, dps, error);
  g_autofree char *subnets_text = NULL;
  g_autofree char *dps_text = NULL;
  sqlite3_stmt *stmt;

  if (boundary == NULL)
    return FALSE;
  if (mp->boundaries != NULL && mp->boundaries->len >= EH_MP_BOUNDARIES_MAX) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a site has at most %d boundary groups",
                 EH_MP_BOUNDARIES_MAX);
    return FALSE;
  }
  stmt = eh_store_prepare (mp->store,
                           "INSERT INTO mp_boundaries (name, subnets, dps, created_by, created_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           error);
  if (stmt == NULL)
    return FALSE;
  subnets_text = eh_mp_boundary_subnets_text (boundary);
  dps_text = g_strjoinv (",", boundary->dps);
  sqlite3_bind_text (stmt, 1, boundary->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, subnets_text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, dps_text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 5, g_get_real_time () / G_USEC_PER_SEC);
  if (!eh_store_execute (mp->store, stmt, "adding a boundary group", error)) {
    if (sqlite3_extended_errcode (eh_store_get_db (mp->store)) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      g_clear_error (error);
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "boundary group %s exists; remove it first",
                   boundary->name);
    }
    return FALSE;
  }
  return eh_mp_boundaries_reload (mp, error);
}

gboolean
eh_mp_boundary_remove (EhMp *mp, const char *name, GError **error)
{
  sqlite3_stmt *stmt;

  if (!eh_mp_boundary_name_is_valid (name)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "a boundary group name is 1 to %d of A-Z a-z 0-9 . _ -",
                 EH_MP_BOUNDARY_NAME_MAX);
    return FALSE;
  }
  stmt = eh_store_prepare (mp->store, "DELETE FROM mp_boundaries WHERE name = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  if (!eh_store_execute (mp->store, stmt, "removing a boundary group", error))
    return FALSE;
  if (sqlite3_changes (eh_store_get_db (mp->store)) == 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND, "no boundary group %s", name);
    return FALSE;
  }
  return eh_mp_boundaries_reload (mp, error);
}

GVariant *
eh_mp_boundaries_describe (EhMp *mp)
{
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; mp->boundaries != NULL && i < mp->boundaries->len; i++) {
    const EhMpBoundary *boundary = g_ptr_array_index (mp->boundaries, i);
    g_autofree char *subnets = eh_mp_boundary_subnets_text (boundary);
    g_auto (GStrv) subnet_list = g_strsplit (subnets, ",", -1);
    GVariantDict dict;

    g_variant_dict_init (&dict, NULL);
    g_variant_dict_insert (&dict, "name", "s", boundary->name);
    g_variant_dict_insert (&dict, "subnets", "^as", subnet_list);
    g_variant_dict_insert (&dict, "dps", "^as", boundary->dps);
    g_variant_dict_insert (&dict, "created-by", "s", boundary->created_by != NULL ? boundary->created_by : "");
    g_variant_dict_insert (&dict, "created-at", "x", boundary->created_at);
    g_variant_builder_add_value (&list, g_variant_dict_end (&dict));
  }
  return g_variant_builder_end (&list);
}

/* a client on a dual-stack listener shows as ::ffff:10.1.2.3: its IPv4
 * address is what the admin's subnets name */
static GInetAddress *
eh_mp_boundary_address (const char *text)
{
  GInetAddress *address = text != NULL ? g_inet_address_new_from_string (text) : NULL;
  static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const guint8 *bytes;

  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return address;
  bytes = g_inet_address_to_bytes (address);
  if (memcmp (bytes, mapped, sizeof mapped) == 0) {
    GInetAddress *v4 = g_inet_address_new_from_bytes (bytes + sizeof mapped, G_SOCKET_FAMILY_IPV4);

    g_object_unref (address);
    return v4;
  }
  return address;
}

GHashTable *
eh_mp_boundary_dps_near (EhMp *mp, const char *peer_address)
{
  g_autoptr (GInetAddress) address = eh_mp_boundary_address (peer_address);
  GHashTable *near = NULL;

  if (address == NULL || mp->boundaries == NULL)
    return NULL;
  for (guint i = 0; i < mp->boundaries->len; i++) {
    const EhMpBoundary *boundary = g_ptr_array_index (mp->boundaries, i);

    for (guint s = 0; s < boundary->subnets->len; s++) {
      if (!g_inet_address_mask_matches (g_ptr_array_index (boundary->subnets, s), address))
        continue;
      if (near == NULL)
        near = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint d = 0; boundary->dps[d] != NULL; d++)
        g_hash_table_add (near, boundary->dps[d]);
      break;
    }
  }
  return near;
}
