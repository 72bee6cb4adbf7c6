/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eh-dp.h"
#include "eh-test-util.h"

/*
 * The dp role's content library without the daemon: the content-addressed
 * store (staging, dedup, pins, collection, a source that changes while it
 * is read), the walk over hostile source trees, manifests (round trip and
 * hostile JSON) and the library on disk.
 */

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
  char *dir;
  char *src;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("eh-dp-XXXXXX", &error);
  g_assert_no_error (error);
  f->src = g_build_filename (f->dir, "src", NULL);
  g_assert_no_errno (g_mkdir (f->src, 0700));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  eh_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->src);
}

static char *
write_file (const char *dir, const char *rel, const void *data, gsize len)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_no_errno (g_mkdir_with_parents (parent, 0700));
  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static guint
count_bodies (const char *dir)
{
  g_autofree char *bodies = g_build_filename (dir, "store", "sha256", NULL);
  g_autoptr (GDir) top = g_dir_open (bodies, 0, NULL);
  const char *shard;
  guint n = 0;

  while (top != NULL && (shard = g_dir_read_name (top)) != NULL) {
    g_autofree char *path = g_build_filename (bodies, shard, NULL);
    g_autoptr (GDir) inner = g_dir_open (path, 0, NULL);

    while (inner != NULL && g_dir_read_name (inner) != NULL)
      n++;
  }
  return n;
}

static char *
import_path (EhDpStore *store, const char *path, guint64 *size)
{
  g_autoptr (GError) error = NULL;
  char *hex = NULL;
  int fd = open (path, O_RDONLY);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (eh_dp_store_import_fd (store, fd, &hex, size, NULL, NULL, &error));
  g_assert_no_error (error);
  close (fd);
  return hex;
}

static GHashTable *
used_none (gpointer user_data, GError **error)
{
  GHashTable *used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (user_data != NULL)
    g_hash_table_add (used, g_strdup (user_data));
  return used;
}

static char *
sha256_of (const void *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

static char *
sha256_of_file (const char *path)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  return sha256_of (text, len);
}

static void
test_store_dedup_and_collect (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpStore) store = eh_dp_store_open (f->dir, &error);
  g_autofree char *a = write_file (f->src, "a", "same bytes", 10);
  g_autofree char *b = write_file (f->src, "b", "same bytes", 10);
  g_autofree char *c = write_file (f->src, "c", "other", 5);
  g_autofree char *empty = write_file (f->src, "empty", "", 0);
  g_autofree char *ha = NULL, *hb = NULL, *hc = NULL, *he = NULL, *expected = sha256_of ("same bytes", 10);
  g_autofree char *body = NULL, *shard = NULL, *body_hash = NULL;
  const char *problem = NULL;
  guint64 size = 99;
  guint removed = 0;
  guint64 freed = 0;

  g_assert_no_error (error);
  ha = import_path (store, a, &size);
  g_assert_cmpuint (size, ==, 10);
  g_assert_cmpstr (ha, ==, expected);
  hb = import_path (store, b, &size);
  g_assert_cmpstr (hb, ==, ha);
  hc = import_path (store, c, &size);
  he = import_path (store, empty, &size);
  g_assert_cmpuint (size, ==, 0);
  g_assert_cmpstr (he, ==, EMPTY_SHA256);
  /* identical files once: three bodies for four files */
  g_assert_cmpuint (count_bodies (f->dir), ==, 3);
  body = eh_dp_store_path (store, ha);
  shard = g_strdup_printf ("/store/sha256/%.2s/%s", ha, ha);
  g_assert_true (g_str_has_suffix (body, shard));
  body_hash = sha256_of_file (body);
  g_assert_cmpstr (body_hash, ==, ha);
  g_assert_true (eh_dp_store_sync_dirs (store, &error));
  g_assert_no_error (error);
  g_assert_true (eh_dp_store_check (store, he, 0, &problem));

  /* pinned bodies survive a collection that nothing else keeps */
  g_assert_true (eh_dp_store_collect (store, used_none, NULL, &removed, &freed, &error));
  g_assert_cmpuint (removed, ==, 0);
  eh_dp_store_unpin (store, ha);
  g_assert_true (eh_dp_store_collect (store, used_none, NULL, &removed, &freed, &error));
  g_assert_cmpuint (removed, ==, 0); /* a was imported twice: pinned twice */
  eh_dp_store_unpin (store, hb);
  eh_dp_store_unpin (store, hc);
  eh_dp_store_unpin (store, he);
  /* a manifest still uses c */
  g_assert_true (eh_dp_store_collect (store, used_none, hc, &removed, &freed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  g_assert_cmpuint (freed, ==, 10);
  g_assert_cmpuint (count_bodies (f->dir), ==, 1);
  g_assert_true (eh_dp_store_check (store, hc, 5, &problem));
  g_assert_false (eh_dp_store_check (store, ha, 10, &problem));
  g_assert_cmpstr (problem, ==, "missing");
}

static void
test_store_check_finds_damage (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpStore) store = eh_dp_store_open (f->dir, &error);
  g_autofree char *a = write_file (f->src, "a", "0123456789", 10);
  g_autofree char *hash = NULL, *body = NULL;
  const char *problem = NULL;
  guint64 size = 0;

  hash = import_path (store, a, &size);
  body = eh_dp_store_path (store, hash);
  g_assert_true (eh_dp_store_check (store, hash, 10, &problem));
  g_assert_true (g_file_set_contents (body, "0123456780", 10, NULL));
  g_assert_false (eh_dp_store_check (store, hash, 10, &problem));
  g_assert_cmpstr (problem, ==, "hash");
  g_assert_true (g_file_set_contents (body, "01234", 5, NULL));
  g_assert_false (eh_dp_store_check (store, hash, 10, &problem));
  g_assert_cmpstr (problem, ==, "size");
  /* a symlink in the store is not followed */
  g_assert_no_errno (g_unlink (body));
  g_assert_no_errno (symlink (a, body));
  g_assert_false (eh_dp_store_check (store, hash, 10, &problem));
  g_assert_cmpstr (problem, ==, "missing");
}

/* the source changes while it is read: after the first chunk it is rewritten and truncated */
typedef struct {
  int fd;
  gboolean done;
} Saboteur;

static void
sabotage (gsize copied, gpointer user_data)
{
  Saboteur *saboteur = user_data;
  g_autofree char *junk = g_strnfill (4096, 'X');

  if (saboteur->done)
    return;
  saboteur->done = TRUE;
  g_assert_cmpint (pwrite (saboteur->fd, junk, 4096, 400 * 1024), ==, 4096);
  g_assert_no_errno (ftruncate (saboteur->fd, 500 * 1024));
}

static void
test_store_source_changed_while_importing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpStore) store = eh_dp_store_open (f->dir, &error);
  gsize len = 2 * 1024 * 1024;
  g_autofree char *original = g_malloc (len);
  g_autofree char *path = NULL, *hash = NULL, *body = NULL, *stored_hash = NULL;
  g_autofree char *stored = NULL;
  gsize stored_len = 0;
  guint64 size = 0;
  Saboteur saboteur = { -1, FALSE };
  int fd;

  for (gsize i = 0; i < len; i++)
    original[i] = (char) (i * 7);
  path = write_file (f->src, "moving", original, len);
  saboteur.fd = open (path, O_RDWR);
  fd = open (path, O_RDONLY);
  g_assert_true (eh_dp_store_import_fd (store, fd, &hash, &size, sabotage, &saboteur, &error));
  g_assert_no_error (error);
  close (fd);
  close (saboteur.fd);
  /* what was recorded is what was stored: neither the original nor a mix of both */
  body = eh_dp_store_path (store, hash);
  g_assert_true (g_file_get_contents (body, &stored, &stored_len, NULL));
  stored_hash = sha256_of (stored, stored_len);
  g_assert_cmpstr (stored_hash, ==, hash);
  g_assert_cmpuint (size, ==, stored_len);
  g_assert_cmpuint (stored_len, ==, 500 * 1024);
  g_free (stored_hash);
  stored_hash = sha256_of (original, len);
  g_assert_cmpstr (hash, !=, stored_hash);
  g_assert_true (eh_dp_store_check (store, hash, size, &(const char *) { NULL }));
}

typedef struct {
  GPtrArray *paths;
} Seen;

static gboolean
collect_path (const char *path, int fd, gpointer user_data, GError **error)
{
  struct stat st;

  g_assert_no_errno (fstat (fd, &st));
  g_assert_true (S_ISREG (st.st_mode));
  g_ptr_array_add (((Seen *) user_data)->paths, g_strdup (path));
  return TRUE;
}

static void
assert_walk_refused (const char *path, const char *message)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_dp_source_walk (path, NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  if (strstr (error->message, message) == NULL)
    g_error ("%s: expected \"%s\" in \"%s\"", path, message, error->message);
}

static void
test_source_walk (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Seen seen = { g_ptr_array_new_with_free_func (g_free) };
  g_autofree char *outside = write_file (f->dir, "secret", "secret", 6);
  g_autofree char *link = g_build_filename (f->src, "z-link", NULL);
  g_autofree char *fifo = NULL, *climb = NULL, *single = NULL, *only_dirs = NULL;
  guint count = 0;

  g_free (write_file (f->src, "b.txt", "b", 1));
  g_free (write_file (f->src, "a/deep/c.txt", "c", 1));
  g_free (write_file (f->src, "a/empty.bin", "", 0));
  g_assert_true (eh_dp_source_walk (f->src, collect_path, &seen, &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, 3);
  g_assert_cmpuint (seen.paths->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (seen.paths, 0), ==, "a/deep/c.txt");
  g_assert_cmpstr (g_ptr_array_index (seen.paths, 1), ==, "a/empty.bin");
  g_assert_cmpstr (g_ptr_array_index (seen.paths, 2), ==, "b.txt");
  g_ptr_array_unref (seen.paths);

  /* one file is a content of one file, by its name */
  single = g_build_filename (f->src, "b.txt", NULL);
  seen.paths = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (eh_dp_source_walk (single, collect_path, &seen, NULL, &error));
  g_assert_cmpstr (g_ptr_array_index (seen.paths, 0), ==, "b.txt");
  g_ptr_array_unref (seen.paths);

  g_assert_no_errno (symlink (outside, link));
  assert_walk_refused (f->src, "z-link: is a symbolic link");
  assert_walk_refused (link, "is a symbolic link");
  g_assert_no_errno (g_unlink (link));

  fifo = g_build_filename (f->src, "a", "pipe", NULL);
  g_assert_no_errno (mkfifo (fifo, 0600));
  assert_walk_refused (f->src, "a/pipe: is not a regular file or a directory");
  assert_walk_refused (fifo, "is not a regular file or a directory");
  g_assert_no_errno (g_unlink (fifo));

  climb = g_build_filename (f->src, "a", "..", "..", "secret", NULL);
  assert_walk_refused (climb, "'..' is not allowed");
  assert_walk_refused ("relative/path", "must be an absolute path");
  assert_walk_refused ("/", "the root directory");
  assert_walk_refused ("/dev/null", "is not a regular file or a directory");

  g_free (write_file (f->src, "back\\slash", "x", 1));
  assert_walk_refused (f->src, "names must be UTF-8");
  eh_test_remove_tree (f->src);
  g_assert_no_errno (g_mkdir (f->src, 0700));
  g_free (write_file (f->src, "bad-\xff", "x", 1));
  assert_walk_refused (f->src, "names must be UTF-8");
  eh_test_remove_tree (f->src);
  g_assert_no_errno (g_mkdir (f->src, 0700));
  g_free (write_file (f->src, "tab\there", "x", 1));
  assert_walk_refused (f->src, "names must be UTF-8");
  eh_test_remove_tree (f->src);
  g_assert_no_errno (g_mkdir_with_parents (f->src, 0700));
  only_dirs = g_build_filename (f->src, "only", "dirs", NULL);
  g_assert_no_errno (g_mkdir_with_parents (only_dirs, 0700));
  assert_walk_refused (f->src, "there are no files");
}

static void
test_content_path_rules (void)
{
  const char *good[] = { "a", "a/b.txt", "x y/é.msi", ".hidden", "a..b", NULL };
  const char *bad[] = { "", "/a", "a/", "a//b", "..", "a/../b", "./a", "a\\b", "a\tb", "a\x7f",
                        "bad\xff", NULL };

  for (guint i = 0; good[i] != NULL; i++)
    g_assert_true (eh_dp_content_path_is_valid (good[i]));
  for (guint i = 0; bad[i] != NULL; i++) {
    if (eh_dp_content_path_is_valid (bad[i]))
      g_error ("accepted %s", bad[i]);
  }
  g_assert_true (eh_dp_content_id_is_valid ("PS100001"));
  g_assert_true (eh_dp_content_id_is_valid ("XY799999"));
  g_assert_false (eh_dp_content_id_is_valid ("ps100001"));
  g_assert_false (eh_dp_content_id_is_valid ("PS10000A"));
  g_assert_false (eh_dp_content_id_is_valid ("PS1000011"));
  g_assert_false (eh_dp_content_id_is_valid ("../00001"));
  g_assert_true (eh_dp_site_code_is_valid ("PS1"));
  g_assert_false (eh_dp_site_code_is_valid ("PS"));
  g_assert_false (eh_dp_site_code_is_valid ("ps1"));
  g_assert_true (eh_dp_content_version_is_valid ("16.0.1+b-2_x"));
  g_assert_false (eh_dp_content_version_is_valid ("1 0"));
  g_assert_false (eh_dp_content_version_is_valid ("../1"));
  g_assert_true (eh_dp_content_name_is_valid ("Office 365 — été"));
  g_assert_false (eh_dp_content_name_is_valid ("a\nb"));
  g_assert_false (eh_dp_content_name_is_valid (""));
}

static void
test_manifest_round_trip_and_hostile (void)
{
  g_autoptr (EhDpManifest) manifest = eh_dp_manifest_new ("PS100001", "Name", "1.0", 1767225600);
  g_autoptr (EhDpManifest) back = NULL;
  g_autoptr (GBytes) json = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *b64 = NULL, *jws = NULL;
  const char *hostile[] = {
    "{}",
    "[]",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":0,\"files\":[]}",
    "{\"id\":\"PS100001\",\"id\":\"PS100002\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"ps100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"../a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"/etc/passwd\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"a\\\\b\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"a\\u0000b\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":2,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":-1,"
    "\"files\":[{\"path\":\"a\",\"size\":-1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":2,"
    "\"files\":[{\"path\":\"b\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"},"
    "{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":2,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"},"
    "{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1,\"extra\":1,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "{\"id\":\"PS100001\",\"name\":\"n\",\"version\":\"1\",\"created\":1,\"size\":1e400,"
    "\"files\":[{\"path\":\"a\",\"size\":1,\"sha256\":\"" EMPTY_SHA256 "\"}]}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    NULL,
  };

  eh_dp_manifest_add_file (manifest, "z/last.bin", 7, EMPTY_SHA256);
  eh_dp_manifest_add_file (manifest, "a first.txt", 0, EMPTY_SHA256);
  json = eh_dp_manifest_to_json (manifest);
  back = eh_dp_manifest_from_json (g_bytes_get_data (json, NULL), g_bytes_get_size (json), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->id, ==, "PS100001");
  g_assert_cmpstr (back->version, ==, "1.0");
  g_assert_cmpint (back->created, ==, 1767225600);
  g_assert_cmpuint (back->size, ==, 7);
  g_assert_cmpuint (back->files->len, ==, 2);
  g_assert_cmpstr (((EhDpManifestFile *) g_ptr_array_index (back->files, 0))->path, ==, "a first.txt");

  for (guint i = 0; hostile[i] != NULL; i++) {
    g_autoptr (GError) local = NULL;
    g_autoptr (EhDpManifest) parsed = eh_dp_manifest_from_json (hostile[i], strlen (hostile[i]), &local);

    if (parsed != NULL)
      g_error ("accepted hostile manifest %u: %s", i, hostile[i]);
    g_assert_error (local, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  }

  /* from a compact JWS: the payload segment, strictly */
  b64 = eh_base64url_encode (g_bytes_get_data (json, NULL), g_bytes_get_size (json));
  jws = g_strconcat ("eyJhbGciOiJFUzI1NiJ9.", b64, ".c2ln", NULL);
  g_clear_pointer (&back, eh_dp_manifest_free);
  back = eh_dp_manifest_from_jws (jws, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->jws, ==, jws);
  g_assert_true (back->etag[0] == '"' && strlen (back->etag) == 66);
  for (guint i = 0; i < 3; i++) {
    const char *bad[] = { "a.b", "a.b.c.d", "a.b=.c" };
    g_autoptr (GError) local = NULL;
    g_autoptr (EhDpManifest) parsed = eh_dp_manifest_from_jws (bad[i], &local);

    g_assert_null (parsed);
    g_assert_nonnull (local);
  }
}

static void
test_library_import_write_remove (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EhDpLibrary) library = eh_dp_library_open (f->dir, "PS1", &error);
  g_autoptr (EhDpManifest) failed = NULL;
  EhDpManifest *manifest;
  g_autoptr (GBytes) json = NULL;
  g_autofree char *b64 = NULL, *jws = NULL, *counter = NULL, *next = NULL;
  guint removed = 0;
  guint64 freed = 0;

  g_assert_no_error (error);
  g_free (write_file (f->src, "one.txt", "dup", 3));
  g_free (write_file (f->src, "sub/two.txt", "dup", 3));
  g_free (write_file (f->src, "zero", "", 0));

  /* an import whose manifest never gets written (the ca did not sign) leaves nothing */
  failed = eh_dp_import (library, "Name", "1", f->src, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (failed->id, ==, "PS100001");
  g_assert_cmpuint (failed->files->len, ==, 3);
  g_assert_cmpuint (count_bodies (f->dir), ==, 2);
  eh_dp_import_release (library, failed, TRUE);
  g_assert_cmpuint (count_bodies (f->dir), ==, 0);

  /* a refused tree copies nothing */
  g_assert_null (eh_dp_import (library, "Name", "1 0", f->src, NULL, NULL, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (eh_dp_import (library, "", "1", f->src, NULL, NULL, &error));
  g_clear_error (&error);

  manifest = eh_dp_import (library, "Name", "2", f->src, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (manifest->id, ==, "PS100002");
  json = eh_dp_manifest_to_json (manifest);
  b64 = eh_base64url_encode (g_bytes_get_data (json, NULL), g_bytes_get_size (json));
  jws = g_strconcat ("eyJhbGciOiJFUzI1NiJ9.", b64, ".c2ln", NULL);
  eh_dp_manifest_set_jws (manifest, jws);
  g_assert_true (eh_dp_library_write (library, manifest, &error));
  g_assert_no_error (error);
  eh_dp_import_release (library, manifest, TRUE);
  eh_dp_library_insert (library, manifest);
  g_assert_cmpuint (count_bodies (f->dir), ==, 2);
  g_assert_true (eh_dp_library_lookup (library, "PS100002") == manifest);

  /* a new library reads it back from the files alone */
  g_clear_pointer (&library, eh_dp_library_free);
  library = eh_dp_library_open (f->dir, "PS1", &error);
  g_assert_no_error (error);
  manifest = eh_dp_library_lookup (library, "PS100002");
  g_assert_nonnull (manifest);
  g_assert_cmpstr (manifest->jws, ==, jws);
  g_assert_cmpuint (manifest->files->len, ==, 3);

  manifest = eh_dp_library_take (library, "PS100002", &error);
  g_assert_no_error (error);
  g_assert_true (eh_dp_library_delete (library, "PS100002", &error));
  g_assert_true (eh_dp_library_collect (library, &removed, &freed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  g_assert_cmpuint (freed, ==, 3);
  eh_dp_manifest_free (manifest);
  g_assert_null (eh_dp_library_take (library, "PS100002", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* ids are never reused; a damaged counter is an error, not a restart at 1 */
  next = eh_dp_library_next_id (library, &error);
  g_assert_cmpstr (next, ==, "PS100003");
  counter = g_build_filename (f->dir, "last-id", NULL);
  g_assert_true (g_file_set_contents (counter, "garbage", -1, NULL));
  g_assert_null (eh_dp_library_next_id (library, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_FAILED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/eh/dp/store/dedup-and-collect", Fixture, NULL, fixture_setup, test_store_dedup_and_collect,
              fixture_teardown);
  g_test_add ("/eh/dp/store/check-finds-damage", Fixture, NULL, fixture_setup,
              test_store_check_finds_damage, fixture_teardown);
  g_test_add ("/eh/dp/store/source-changed-while-importing", Fixture, NULL, fixture_setup,
              test_store_source_changed_while_importing, fixture_teardown);
  g_test_add ("/eh/dp/source/walk", Fixture, NULL, fixture_setup, test_source_walk, fixture_teardown);
  g_test_add_func ("/eh/dp/source/content-path-rules", test_content_path_rules);
  g_test_add_func ("/eh/dp/manifest/round-trip-and-hostile", test_manifest_round_trip_and_hostile);
  g_test_add ("/eh/dp/library/import-write-remove", Fixture, NULL, fixture_setup,
              test_library_import_write_remove, fixture_teardown);
  return g_test_run ();
}
