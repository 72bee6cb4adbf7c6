/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ehttpd.h"

G_BEGIN_DECLS

/*
 * The distribution point: a content library kept as files, so an edge DP
 * needs no database.
 *
 *   <private dir>/store/sha256/<2 hex>/<64 hex>   file bodies, by their SHA-256
 *   <private dir>/store/staging/                  imports in progress (same filesystem)
 *   <private dir>/content/<id>/manifest.jws       the signed manifest of each content
 *   <private dir>/last-id                         the last content number handed out
 *
 * A body enters the store only through a staging file: hashed while it is
 * copied, synced, and renamed into place when complete. Everything that
 * touches the disk runs in a GTask thread, never on the main context.
 */

#define EH_DP_MAX_FILES 10000
#define EH_DP_MAX_DEPTH 32
#define EH_DP_MAX_PATH_BYTES 1024 /* a relative path inside a content */
#define EH_DP_MAX_NAME_BYTES 128  /* a content's name */
#define EH_DP_MAX_VERSION_BYTES 64
#define EH_DP_MAX_MANIFEST_BYTES (16 * 1024 * 1024)
#define EH_DP_MANIFEST_TYP "content-manifest+jwt"
#define EH_DP_SHA256_HEX 64

/* ── the content-addressed store (eh-dp-store.c) ──────────────────────── */

typedef struct _EhDpStore EhDpStore;

/**
 * EhDpImportProgress:
 * @copied: bytes of the current file copied (and hashed) so far
 *
 * Called from the importing thread after each chunk (a later increment
 * reports "in progress" with it; tests change a file mid-import).
 */
typedef void (*EhDpImportProgress) (gsize copied, gpointer user_data);

/* (transfer full) the store under @dir (created, 0700); leftover staging files are removed */
EhDpStore *eh_dp_store_open (const char *dir, GError **error);
void eh_dp_store_free (EhDpStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpStore, eh_dp_store_free)

/* (transfer full) where the body with @sha256_hex lives (whether or not it exists) */
char *eh_dp_store_path (EhDpStore *store, const char *sha256_hex);

/**
 * eh_dp_store_import_fd:
 * @fd: an open regular file, read from its current offset to its end
 * @sha256_hex: (out) (transfer full): the hash of the bytes stored
 * @size: (out): how many bytes were stored
 * @progress: (nullable): called after each chunk
 *
 * Copies @fd into a staging file while hashing it (bounded memory), syncs
 * it, and renames it to its hash's name; a body already in the store is
 * kept (stored once) and the copy dropped. What is recorded is always what
 * was stored, even if the source changes meanwhile. On success the hash is
 * pinned (safe from collection) until eh_dp_store_unpin(): the caller
 * unpins once a manifest on disk uses it, after eh_dp_store_sync_dirs().
 * Blocking: call from a thread.
 */
gboolean eh_dp_store_import_fd (EhDpStore *store, int fd, char **sha256_hex, guint64 *size,
                                EhDpImportProgress progress, gpointer user_data, GError **error);

/* syncs the shard directories that received new bodies since the last call */
gboolean eh_dp_store_sync_dirs (EhDpStore *store, GError **error);

/* pins @sha256_hex (safe from collection) whether or not it is stored yet */
void eh_dp_store_pin (EhDpStore *store, const char *sha256_hex);
/* drops one pin of @sha256_hex (pins keep bodies of imports still without a manifest) */
void eh_dp_store_unpin (EhDpStore *store, const char *sha256_hex);

/* (transfer full) the set of hashes (char * keys) some manifest uses, or NULL + error */
typedef GHashTable *(*EhDpUsedFunc) (gpointer user_data, GError **error);

/**
 * eh_dp_store_collect:
 * @used: asked for the hashes in use while pins cannot change, so a body
 *   whose import finishes meanwhile is either pinned or in a manifest
 * @removed: (out) (optional): how many bodies were deleted
 * @freed: (out) (optional): how many bytes they held
 *
 * Deletes every body neither in use nor pinned. Blocking: call from a thread.
 */
gboolean eh_dp_store_collect (EhDpStore *store, EhDpUsedFunc used, gpointer user_data,
                              guint *removed, guint64 *freed, GError **error);

/* re-hashes one body: %TRUE when it is there, @size bytes long, and hashes to @sha256_hex;
 * otherwise %FALSE and @problem says "missing", "size" or "hash". Blocking. */
gboolean eh_dp_store_check (EhDpStore *store, const char *sha256_hex, guint64 size,
                            const char **problem);

/**
 * eh_dp_store_usage:
 * @pull_staging: (nullable): the directory of pulls in progress, counted with the staging files
 *
 * What the store holds on disk (allocated bytes): its bodies, and the
 * staging files of imports and pulls in progress. Blocking.
 */
void eh_dp_store_usage (EhDpStore *store, const char *pull_staging, guint *bodies, guint64 *body_bytes,
                        guint *staged, guint64 *staged_bytes);

/* is @text 64 lower-case hex digits? */
gboolean eh_dp_sha256_hex_is_valid (const char *text);

/* ── the files of a source path (eh-dp-source.c) ──────────────────────── */

/**
 * EhDpSourceFunc:
 * @path: the file's path inside the content, '/'-separated, never absolute
 * @fd: the file, opened with O_NOFOLLOW and checked to be regular (closed after the call)
 */
typedef gboolean (*EhDpSourceFunc) (const char *path, int fd, gpointer user_data, GError **error);

/**
 * eh_dp_source_walk:
 * @path: an absolute path, a regular file or a directory
 * @func: (nullable): called for every file; NULL only checks the tree
 * @count: (out) (optional): how many files there are
 *
 * Walks @path through directory file descriptors (openat, O_NOFOLLOW), so
 * nothing outside is reached through a symlink swapped in meanwhile.
 * Refuses, naming the entry: a relative path, a `..` component, symlinks,
 * anything but regular files and directories, names that are not UTF-8 or
 * hold a control character or '\', paths longer than EH_DP_MAX_PATH_BYTES,
 * more than EH_DP_MAX_FILES files or EH_DP_MAX_DEPTH levels, and a tree
 * without files. Call it once without @func to refuse a bad tree before any
 * work. Blocking.
 */
gboolean eh_dp_source_walk (const char *path, EhDpSourceFunc func, gpointer user_data, guint *count,
                            GError **error);

/* is @path acceptable as a '/'-separated path inside a content? */
gboolean eh_dp_content_path_is_valid (const char *path);

/* ── manifests (eh-dp-manifest.c) ─────────────────────────────────────── */

typedef struct {
  char *path;
  guint64 size;
  char *sha256;
  char *etag; /* "\"<sha256>\"": the strong ETag of its downloads */
} EhDpManifestFile;

/**
 * EhDpManifest: what a content is.
 * @jws: (nullable): the signed compact form, once signed
 * @etag: (nullable): strong ETag of @jws
 */
typedef struct {
  char *id;
  char *name;
  char *version;
  gint64 created;
  guint64 size;
  GPtrArray *files; /* EhDpManifestFile, sorted by path */
  char *jws;
  char *etag;
  char *last_modified; /* (nullable) @created as an HTTP date: Last-Modified of its downloads */
} EhDpManifest;

EhDpManifest *eh_dp_manifest_new (const char *id, const char *name, const char *version,
                                  gint64 created);
void eh_dp_manifest_free (EhDpManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpManifest, eh_dp_manifest_free)
void eh_dp_manifest_add_file (EhDpManifest *manifest, const char *path, guint64 size,
                              const char *sha256_hex);

/* (transfer full) the payload to sign: compact JSON with id, name, version, created, size, files */
GBytes *eh_dp_manifest_to_json (const EhDpManifest *manifest);
/* parses and checks a payload (strict JSON, every field's grammar); NULL + error */
EhDpManifest *eh_dp_manifest_from_json (const char *data, gsize len, GError **error);
/* reads the payload of a compact JWS (the signature is not checked here) and keeps @jws */
EhDpManifest *eh_dp_manifest_from_jws (const char *jws, GError **error);
/* sets @jws and the ETag derived from it */
void eh_dp_manifest_set_jws (EhDpManifest *manifest, const char *jws);

/* ^[A-Z0-9]{3}[0-9]{5}$ */
gboolean eh_dp_content_id_is_valid (const char *id);
/* ^[A-Z0-9]{3}$ */
gboolean eh_dp_site_code_is_valid (const char *code);
/* 1..128 bytes of UTF-8 without control characters */
gboolean eh_dp_content_name_is_valid (const char *name);
/* 1..64 of [A-Za-z0-9._+-] */
gboolean eh_dp_content_version_is_valid (const char *version);

/* ── the library: manifests on disk and the id counter (eh-dp-library.c) ── */

typedef struct _EhDpLibrary EhDpLibrary;

/* (transfer full) the library under @dir: its store, and every manifest read; blocking */
EhDpLibrary *eh_dp_library_open (const char *dir, const char *site_code, GError **error);
void eh_dp_library_free (EhDpLibrary *library);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpLibrary, eh_dp_library_free)

/* (transfer none) */
EhDpStore *eh_dp_library_get_store (EhDpLibrary *library);

/* (transfer none) (nullable) the manifest of @id; main context only */
EhDpManifest *eh_dp_library_lookup (EhDpLibrary *library, const char *id);
/* (transfer container) every manifest, by id; main context only */
GPtrArray *eh_dp_library_list (EhDpLibrary *library);

/* the next content id, "<site-code><5 digits>", durable before it is returned; blocking */
char *eh_dp_library_next_id (EhDpLibrary *library, GError **error);

/* writes content/<id>/manifest.jws durably; blocking. Then, on the main context,
 * eh_dp_library_insert() makes it visible. */
gboolean eh_dp_library_write (EhDpLibrary *library, const EhDpManifest *manifest, GError **error);
/* takes @manifest; main context only */
void eh_dp_library_insert (EhDpLibrary *library, EhDpManifest *manifest);

/* (transfer full) the manifest of @id taken out of the index, or NULL + EH_ERROR_NOT_FOUND;
 * main context only */
EhDpManifest *eh_dp_library_take (EhDpLibrary *library, const char *id, GError **error);
/* deletes content/<id>/ durably; blocking */
gboolean eh_dp_library_delete (EhDpLibrary *library, const char *id, GError **error);

/* (transfer full) the hashes the manifests on disk use: the truth for garbage collection; blocking */
GHashTable *eh_dp_library_used_hashes (EhDpLibrary *library, GError **error);
/* deletes the bodies no manifest on disk uses and no import has pinned; blocking */
gboolean eh_dp_library_collect (EhDpLibrary *library, guint *removed, guint64 *freed,
                                GError **error);

/* ── importing a content (eh-dp-import.c) ─────────────────────────────── */

/**
 * eh_dp_import:
 * @path: the absolute source path, as the admin gave it
 *
 * Scans @path, imports every file into the store (pinned), syncs the store
 * and builds the unsigned manifest with a new id. On failure the bodies
 * that only this import brought are collected again. Blocking.
 *
 * Returns: (transfer full): the manifest, its hashes pinned until
 *   eh_dp_import_release(); NULL + error
 */
EhDpManifest *eh_dp_import (EhDpLibrary *library, const char *name, const char *version,
                            const char *path, EhDpImportProgress progress, gpointer user_data,
                            GError **error);
/* unpins @manifest's hashes; when @collect, deletes bodies no manifest on disk uses. Blocking. */
void eh_dp_import_release (EhDpLibrary *library, const EhDpManifest *manifest, gboolean collect);

/* ── the trust bundle (eh-dp-bundle.c) ─────────────────────────────────── */

#define EH_DP_BUNDLE_MAX_BYTES (1024 * 1024)
#define EH_DP_BUNDLE_MAX_DEPTH 8
#define EH_DP_BUNDLE_MAX_KEYS 256
#define EH_DP_BUNDLE_MAX_REVOKED 100000

typedef struct _EhDpBundle EhDpBundle;

/**
 * eh_dp_bundle_parse:
 * @json: the bundle as the ca publishes it (hostile until checked)
 * @now: Unix seconds, for the certificates' validity
 *
 * Strict JSON with caps; the root must be self-signed and match
 * `root.fingerprint`. Each token signing key (`ehttpd_usage`
 * "token-signing") is kept only when its x5c leaf is issued by that root,
 * in date, not revoked, ES256 or EdDSA, and its `kid` is the leaf's
 * `x5t#S256`: the chain is checked here, once per bundle version, never per
 * request. Keys that fail are left out (and logged), not fatal.
 * Returns: (transfer full): the bundle, or NULL + error
 */
EhDpBundle *eh_dp_bundle_parse (const char *json, gsize len, gint64 now, GError **error);
void eh_dp_bundle_free (EhDpBundle *bundle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpBundle, eh_dp_bundle_free)

guint64 eh_dp_bundle_get_version (const EhDpBundle *bundle);
const char *eh_dp_bundle_get_site (const EhDpBundle *bundle);
const char *eh_dp_bundle_get_root_fingerprint (const EhDpBundle *bundle);
/* the text it was parsed from (to keep it on disk) */
const char *eh_dp_bundle_get_json (const EhDpBundle *bundle);
/* how many token signing keys passed the checks */
guint eh_dp_bundle_count_signers (const EhDpBundle *bundle);

/* (transfer full) (nullable) the key of the token signing certificate named by @x5t,
 * while it is in date at @now; NULL + EH_ERROR_INVALID_TOKEN */
/* @len bytes as lower-case hex */
char *eh_dp_hex (const guint8 *bytes, gsize len);

gnutls_pubkey_t eh_dp_bundle_lookup_signer (const EhDpBundle *bundle, const char *x5t, gint64 now,
                                            EhJwsAlg *alg, GError **error);
/* what eh_dp_bundle_token_lookup() looks a token's signer up in */
typedef struct {
  const EhDpBundle *bundle;
  gint64 now;
} EhDpBundleLookup;
/* an EhJwsKeyLookupFunc (user_data: an EhDpBundleLookup): the bundle's
 * token signing key that the header's x5t#S256 names */
gnutls_pubkey_t eh_dp_bundle_token_lookup (JsonObject *header, EhJwsAlg *alg, gpointer user_data, GError **error);

/* (transfer full) the key of the site signing certificate named by @x5t (a manifest's
 * `x5t#S256`), while in date and not revoked; NULL + EH_ERROR_CRYPTO */
gnutls_pubkey_t eh_dp_bundle_lookup_site_signer (const EhDpBundle *bundle, const char *x5t, gint64 now,
                                                 EhJwsAlg *alg, GError **error);

/**
 * eh_dp_bundle_check_role_cert:
 * @der: a certificate a TLS client presented (hostile)
 * @role: e.g. "dp": the SAN URI urn:ehttpd:role:@role must be there
 *
 * Is @der a role certificate of this site: issued by the bundle's root, in
 * date at @now, not in `revoked`, with the role? %FALSE + EH_ERROR_PERMISSION_DENIED.
 */
gboolean eh_dp_bundle_check_role_cert (const EhDpBundle *bundle, GBytes *der, const char *role, gint64 now,
                                       GError **error);

/* ── content tokens (eh-dp-token.c) ───────────────────────────────────── */

#define EH_DP_TOKEN_TYP "content+jwt"
#define EH_DP_TOKEN_MAX_BYTES (16 * 1024)
#define EH_DP_TOKEN_LEEWAY 60 /* seconds, for exp, nbf and iat */
#define EH_DP_TOKEN_MAX_AUD 64
#define EH_DP_TOKEN_MAX_CONTENTS 1024
#define EH_DP_TOKEN_CACHE_MAX 4096
#define EH_DP_TOKEN_CACHE_MAX_BYTES (4 * 1024 * 1024) /* the token texts the cache holds */

/**
 * EhDpToken: a verified content token.
 * @contents: content id → SHA-256 (hex) of its signed manifest (the compact JWS text)
 */
typedef struct {
  gatomicrefcount ref;
  gint64 exp;
  GHashTable *contents;
} EhDpToken;

EhDpToken *eh_dp_token_ref (EhDpToken *token);
void eh_dp_token_unref (EhDpToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpToken, eh_dp_token_unref)

/**
 * eh_dp_token_verify:
 * @names: the names of this DP (one must be in `aud`)
 *
 * Verifies @text against @bundle only: signature, `typ` content+jwt, alg
 * ES256/EdDSA, signer in the bundle, `iss` the bundle's site, `exp`/`nbf`/
 * `iat` within EH_DP_TOKEN_LEEWAY, every claim's grammar.
 * Returns: (transfer full): the token, or NULL with EH_ERROR_INVALID_TOKEN
 *   (401), or EH_ERROR_PERMISSION_DENIED when it is valid but not for this
 *   DP (403)
 */
EhDpToken *eh_dp_token_verify (const EhDpBundle *bundle, const char *text,
                               const char *const *names, gint64 now, GError **error);

typedef struct _EhDpTokenCache EhDpTokenCache;

/* verified tokens by their text, until exp, at most @max of them and EH_DP_TOKEN_CACHE_MAX_BYTES of text */
EhDpTokenCache *eh_dp_token_cache_new (guint max);
void eh_dp_token_cache_free (EhDpTokenCache *cache);
/* drops everything (the bundle changed) */
void eh_dp_token_cache_clear (EhDpTokenCache *cache);
guint eh_dp_token_cache_size (EhDpTokenCache *cache);

/* (transfer full) the cached token, or verifies it and caches the result; same errors */
EhDpToken *eh_dp_token_cache_check (EhDpTokenCache *cache, const EhDpBundle *bundle,
                                    const char *text, const char *const *names, gint64 now,
                                    GError **error);

/* ── request paths (eh-dp-path.c) ─────────────────────────────────────── */

/**
 * eh_dp_path_decode:
 * @raw: the path after `/<content id>/` as it arrived (percent-encoded or not)
 *
 * Decodes each segment once and refuses: empty segments, `.` and `..`,
 * `\`, NUL and control characters, `%` not followed by two hex digits, a
 * `%` left after decoding (double encoding), invalid UTF-8, over
 * EH_DP_MAX_PATH_BYTES.
 * Returns: (transfer full): the content path, or NULL + EH_ERROR_INVALID_ARGUMENT
 */
char *eh_dp_path_decode (const char *raw, GError **error);

/* (transfer none) (nullable) the file at @path in @manifest (binary search) */
const EhDpManifestFile *eh_dp_manifest_find (const EhDpManifest *manifest, const char *path);

/* ── assignments: which content goes to which DP (eh-dp-assign.c) ────── */

#define EH_DP_ASSIGN_FILE "assignments.json"
#define EH_DP_ASSIGN_MAX_BYTES (16 * 1024 * 1024)
#define EH_DP_ASSIGN_MAX_DPS 1024 /* per content */
#define EH_DP_NAME_MAX_BYTES 255

typedef struct _EhDpAssignments EhDpAssignments;
typedef struct _EhDp EhDp;

/* a DP name: 1..255 of [A-Za-z0-9._:-] */
gboolean eh_dp_name_is_valid (const char *name);
/* is @name one of @names (ASCII case ignored)? */
gboolean eh_dp_names_contain (const char *const *names, const char *name);

EhDpAssignments *eh_dp_assignments_new (void);
void eh_dp_assignments_free (EhDpAssignments *assignments);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpAssignments, eh_dp_assignments_free)
/* (transfer full) the assignments kept in @dir (none when the file is missing), or NULL + error; blocking */
EhDpAssignments *eh_dp_assignments_load (const char *dir, GError **error);
/* (transfer full) {"PS100001":["dp1.example",…],…} (strict, capped, names checked), or NULL + error */
EhDpAssignments *eh_dp_assignments_parse (const char *data, gsize len, GError **error);
/* (transfer full) the JSON form of @assignments */
GBytes *eh_dp_assignments_to_json (EhDpAssignments *assignments);
/* assigns @id to @name (lower-cased); %FALSE when it was already, or + error at the cap */
gboolean eh_dp_assignments_add (EhDpAssignments *assignments, const char *id, const char *name, GError **error);
/* %TRUE when @id was assigned to @name and no longer is */
gboolean eh_dp_assignments_remove (EhDpAssignments *assignments, const char *id, const char *name);
/* forgets every assignment of @id (its content was removed) */
gboolean eh_dp_assignments_drop (EhDpAssignments *assignments, const char *id);
/* (transfer none) (nullable) the DP names @id is assigned to, sorted, NULL-terminated */
const char *const *eh_dp_assignments_get (EhDpAssignments *assignments, const char *id);

/* writes @dp's assignments durably in a thread (a newer state written meanwhile counts as done) */
void eh_dp_assignments_save (EhDp *dp, GAsyncReadyCallback callback, gpointer user_data);
gboolean eh_dp_assignments_save_finish (GAsyncResult *result, GError **error);

/* ── the plugin (eh-dp-plugin.c, eh-dp-dbus.c, eh-dp-http.c) ──────────── */

struct _EhDp {
  gatomicrefcount ref;
  EhPlugin *plugin; /* NULL once stopped: late thread results only clean up */
  EhBus *bus;
  char *dir;
  char *site_code;
  EhDpLibrary *library;
  GStrv names;               /* this DP's names, for a token's aud */
  gboolean allow_anonymous;  /* plain-HTTP /SMS_DP_SMSPKG$/ without a token */
  EhDpBundle *bundle;        /* (nullable) the last good trust bundle */
  char *pinned_root;         /* (nullable) the root fingerprint first seen */
  EhDpTokenCache *tokens;
  EhTrustFollow *trust;      /* the site's trust bundle */
  /* distribution (eh-dp-edge.c): set when [site] upstream= makes this an edge */
  char *upstream_dp;         /* (nullable) https://HOST:PORT of the DP pulled from */
  char *root_fingerprint;    /* (nullable) [site] root-fingerprint */
  char *host_pem;            /* <state-dir>/tls/host.pem, presented to the upstream DP */
  guint pull_interval;       /* seconds */
  guint pull_timer;
  guint pull_retry;
  gboolean pulling;
  gboolean pull_again;
  guint edge_subscriptions[3];
  GHashTable *statuses;      /* content id → (dp name → GVariant a{sv}): the last status of every DP */
  /* distribution by assignment (eh-dp-assign.c, eh-dp-action.c) */
  gboolean assigned_only;    /* [dp] distribution=assigned: pull only what is assigned to this DP */
  EhDpAssignments *assignments; /* on the site: content id → the DPs it is assigned to */
  guint64 assignments_generation; /* bumped by every change, on the main context */
  guint64 assignments_written;    /* the newest generation on disk (eh-dp-assign.c's lock) */
  GHashTable *force;         /* content ids the next pull fetches anew (redistribute, repair) */
  guint subscriptions_action;
  /* small bodies in memory (eh-dp-cache.c) */
  GHashTable *bodies;        /* (nullable) sha256 → GBytes, verified */
  guint64 bodies_bytes;
  /* the chunks of large downloads in memory, all connections together (eh-dp-download.c) */
  guint64 send_bytes;
  GQueue send_waiting;       /* EhDpSend waiting for room, first come first served */
  /* figures for `ehttpctl dp status` */
  guint active_downloads;    /* client downloads being sent */
  guint active_pulls;        /* bodies being sent to DPs below */
};

extern const EhPluginDesc eh_dp_plugin;

EhDp *eh_dp_ref (EhDp *dp);
void eh_dp_unref (EhDp *dp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDp, eh_dp_unref)

/* ── the slow admin operations, each in a thread (eh-dp-jobs.c) ───────── */

/**
 * eh_dp_add_content:
 *
 * The whole `content add`: import in a thread, sign over the bus
 * (ca.site-signing.sign), write the manifest in a thread, make it visible
 * and publish dp.content.available. Any failure leaves nothing behind.
 * @callback runs on the main context; finish with eh_dp_add_content_finish().
 */
void eh_dp_add_content (EhDp *dp, const char *name, const char *version, const char *path,
                        GAsyncReadyCallback callback, gpointer user_data);
/* (transfer full) the new content's id, or NULL + error */
char *eh_dp_add_content_finish (GAsyncResult *result, GError **error);

/* drops the manifest of @id, then collects the bodies nothing uses */
void eh_dp_remove_content (EhDp *dp, const char *id, GAsyncReadyCallback callback,
                           gpointer user_data);
/* (transfer full) a{sv}: id, removed-files (u), freed-bytes (t); or NULL + error */
GVariant *eh_dp_remove_content_finish (GAsyncResult *result, GError **error);

/* re-hashes every file of @id (NULL or "": of every content) */
void eh_dp_verify_content (EhDp *dp, const char *id, GAsyncReadyCallback callback,
                           gpointer user_data);
/* eh_dp_verify_content(), and with @drop_damaged a body of the wrong size or hash is deleted */
void eh_dp_validate_content (EhDp *dp, const char *id, gboolean drop_damaged, GAsyncReadyCallback callback,
                             gpointer user_data);
/* (transfer full) a{sv}: contents (u), files (u), bytes (t), ok (b), problems (aa{sv}:
 * id, path, sha256, problem: missing, size or hash); or NULL + error */
GVariant *eh_dp_verify_content_finish (GAsyncResult *result, GError **error);

gboolean eh_dp_dbus_start (EhDp *dp, GError **error);
/* Distribute/Undistribute/Redistribute/ValidateContent and Status (eh-dp-distribute.c); %FALSE: not one */
gboolean eh_dp_distribute_call (EhDp *dp, const char *method, GVariant *parameters,
                                GDBusMethodInvocation *invocation);
gboolean eh_dp_http_start (EhDp *dp, GError **error);

/* the trust bundle: loads the kept copy, asks ca.trust-bundle.get, follows changes (eh-dp-trust.c) */
void eh_dp_trust_load (EhDp *dp, const char *json, gsize len); /* the kept copy, read in a thread */
char *eh_dp_trust_read_kept (const char *dir, gsize *len);     /* blocking */
void eh_dp_trust_start (EhDp *dp);
void eh_dp_trust_stop (EhDp *dp);

/* small bodies kept in memory, verified by their hash (eh-dp-cache.c) */
#define EH_DP_BODY_CACHE_MAX_BODY (64 * 1024)
#define EH_DP_BODY_CACHE_BYTES (8 * 1024 * 1024)
/* (transfer none) (nullable) the bytes of @file when they are in memory */
GBytes *eh_dp_body_cache_lookup (EhDp *dp, const EhDpManifestFile *file);
/**
 * eh_dp_body_cache_load:
 * @msg: the answer, its head set: paused until the body is read
 *
 * Reads the small @file in a thread and checks its hash: the answer gets
 * bytes @first.. (@length of them) and the body is kept in memory; a body
 * missing or damaged gets 404 instead.
 */
void eh_dp_body_cache_load (EhDp *dp, const EhDpManifestFile *file, SoupServerMessage *msg, goffset first,
                            goffset length);
/* appends bytes @first.. of @body (@length of them) as the whole response body (none for HEAD) */
void eh_dp_download_from_memory (SoupServerMessage *msg, GBytes *body, goffset first, goffset length);
void eh_dp_body_cache_free (EhDp *dp);

/* ── downloads: what one gets (eh-dp-decide.c), sent by libsoup (eh-dp-download.c)
 *    or as a quick answer (eh-dp-quick.c) ─────────────────────────────────── */

#define EH_DP_DOWNLOAD_PREFIX "/CCMTOKENAUTH_SMS_DP_SMSPKG$"
#define EH_DP_ANONYMOUS_PREFIX "/SMS_DP_SMSPKG$"

/* what a download asks: the request's parts that decide its answer (borrowed) */
typedef struct {
  const char *subpath; /* after the endpoint's prefix */
  gboolean anonymous;  /* the endpoint without a token */
  const char *authorization;
  const char *if_none_match;
  const char *if_modified_since;
  const char *if_range;
  const char *range;
} EhDpAsk;

typedef enum {
  EH_DP_ANSWER_TEXT,         /* @status with @text (a refusal, 416) */
  EH_DP_ANSWER_NOT_MODIFIED, /* 304 */
  EH_DP_ANSWER_BODY,         /* 200/206: bytes @first.. (@length of them) of @file */
} EhDpAnswerKind;

/* the answer to a download; the borrowed parts stay valid until the main loop turns */
typedef struct {
  EhDpAnswerKind kind;
  guint status;
  const char *text;
  gboolean www_authenticate; /* a 401: say Bearer */
  char *refusal;             /* (nullable) why, for the log line */
  const EhDpManifest *manifest;  /* (nullable) */
  const EhDpManifestFile *file;  /* (nullable) set: the answer carries ETag, Last-Modified, Accept-Ranges */
  const char *etag;
  const char *last_modified;
  char *content_range;       /* (nullable) */
  goffset first, length;
  GBytes *cached;            /* (nullable) (transfer none) the body when it is in memory */
} EhDpAnswer;

/* a request header's value (nullable), from either way of answering */
typedef const char *(*EhDpHeaderFunc) (gpointer request, const char *name);
/* fills @ask from a request whose headers @header reads */
void eh_dp_ask_init (EhDpAsk *ask, const char *subpath, gboolean anonymous, const char *range,
                     EhDpHeaderFunc header, gpointer request);
/* adds (replaces) a response header, in either way of answering */
typedef void (*EhDpAddHeaderFunc) (gpointer answer, const char *name, const char *value);
/* the response headers @answer carries (WWW-Authenticate, ETag, Last-Modified, Accept-Ranges, Content-Range) */
void eh_dp_answer_headers (const EhDpAnswer *answer, EhDpAddHeaderFunc add, gpointer target);

/* token → content → manifest path → body, then eh_dp_decide_file() */
void eh_dp_decide_download (EhDp *dp, const EhDpAsk *ask, EhDpAnswer *answer);
/* conditional requests and the strict Range for @file of @manifest (@answer zeroed by the caller) */
void eh_dp_decide_file (EhDp *dp, const EhDpAsk *ask, const EhDpManifest *manifest,
                        const EhDpManifestFile *file, EhDpAnswer *answer);
void eh_dp_answer_clear (EhDpAnswer *answer);
/* logs the refusal, if the answer is one worth a line */
void eh_dp_answer_log (const EhDpAnswer *answer, const char *request_id);

/* GET/HEAD /CCMTOKENAUTH_SMS_DP_SMSPKG$/<id>/<path> (eh-dp-download.c) */
gboolean eh_dp_download_start (EhDp *dp, GError **error);
/* the quick answers of downloads whose body is in memory (eh-dp-quick.c) */
gboolean eh_dp_quick_start (EhDp *dp, GError **error);
/* answers @request with the body of @file (conditional requests, one strict Range, streamed);
 * *@active counts the bodies of this kind being sent */
void eh_dp_download_serve (EhDp *dp, EhRequest *request, const EhDpManifest *manifest,
                           const EhDpManifestFile *file, guint *active);

/* ── distribution between DPs (eh-dp-pull.c, eh-dp-fetch.c, eh-dp-edge.c, eh-dp-status.c) ── */

#define EH_DP_PULL_LIBRARY_PATH "/ehttpd/dp/library"
#define EH_DP_PULL_MANIFEST_PATH "/ehttpd/dp/manifest"
#define EH_DP_PULL_BODY_PATH "/ehttpd/dp/pull"
#define EH_DP_PULL_LIBRARY_MAX_BYTES (8 * 1024 * 1024)
#define EH_DP_PULL_LIBRARY_MAX_CONTENTS 65536
#define EH_DP_PULL_INTERVAL_DEFAULT 300
#define EH_DP_PULL_STAGING "pull-staging" /* in the plugin's directory: bodies being pulled, <sha256>.part */

/* the library, pull and manifest endpoints, for a client with a dp role certificate of this site */
gboolean eh_dp_pull_start (EhDp *dp, GError **error);
/* (transfer full) {"contents":[{"id","manifest-sha256","dps"?}]} of @manifests; "dps" lists the DPs
 * a content is assigned to, when it is assigned to any (@assignments nullable) */
GBytes *eh_dp_pull_library_to_json (GPtrArray *manifests, EhDpAssignments *assignments);
/* (transfer full) content id → manifest sha256 of a library answer (hostile: strict, capped,
 * every id, hash and DP name checked, duplicates refused), or NULL + error. With @names, only the
 * contents whose "dps" name one of them (ASCII case ignored); with NULL, every content. */
GHashTable *eh_dp_pull_library_parse (const char *data, gsize len, const char *const *names, GError **error);
/* "bytes FIRST-LAST/TOTAL" with FIRST <= LAST < TOTAL, digits only; %FALSE otherwise */
gboolean eh_dp_pull_parse_content_range (const char *value, goffset *first, goffset *last, goffset *total);

/* what a pull reports to the main context, one content at a time */
typedef struct {
  char *id;
  char *state; /* pending, in-progress, installed, failed, removed (no longer wanted here) */
  guint64 bytes;
  char *manifest_sha256;
  char *reason;           /* (nullable) */
  EhDpManifest *manifest; /* (nullable) installed: written to disk, to insert */
} EhDpFetchEvent;

typedef void (*EhDpFetchReport) (EhDpFetchEvent *event, EhDp *dp);
typedef struct _EhDpFetch EhDpFetch;

/**
 * eh_dp_fetch_new:
 * @have: content id → manifest sha256 of what is installed here (ref taken)
 * @report: called on the main context for each change
 *
 * One pull from the upstream DP, to run with eh_dp_fetch_start().
 */
EhDpFetch *eh_dp_fetch_new (const char *upstream, const char *root_fingerprint, const char *host_pem,
                            const char *dir, const char *bundle_json, GHashTable *have, EhDpLibrary *library,
                            EhDpFetchReport report, EhDp *dp, GError **error);
void eh_dp_fetch_free (EhDpFetch *fetch);
/* @names (nullable): pull only the contents assigned to one of them; @force (nullable, ref taken):
 * content ids whose every file is fetched anew, even when held */
void eh_dp_fetch_set_scope (EhDpFetch *fetch, const char *const *names, GHashTable *force);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EhDpFetch, eh_dp_fetch_free)
/* runs the pull in a thread; takes @fetch */
void eh_dp_fetch_start (EhDpFetch *fetch, GAsyncReadyCallback callback, gpointer user_data);
gboolean eh_dp_fetch_finish (GAsyncResult *result, GError **error);
/* (transfer full) the manifest in @jws when its text hashes to @sha256, it is signed by a site signing
 * key of @bundle and it is the manifest of @id; NULL + error */
EhDpManifest *eh_dp_fetch_verify_manifest (const EhDpBundle *bundle, const char *jws, const char *id,
                                           const char *sha256, GError **error);

/* edge pulls: at start, link up, dp.content.available, every [dp] pull-interval */
void eh_dp_edge_start (EhDp *dp);
void eh_dp_edge_stop (EhDp *dp);
void eh_dp_edge_pull (EhDp *dp);
/* pulls @id again, every file fetched anew (redistribute, repair after a failed validation) */
void eh_dp_edge_pull_anew (EhDp *dp, const char *id);

/* dp.content.status: publishing this DP's, and keeping every DP's */
void eh_dp_status_start (EhDp *dp);
void eh_dp_status_stop (EhDp *dp);
void eh_dp_status_publish (EhDp *dp, const char *id, const char *state, guint64 bytes, const char *sha256,
                           const char *reason);
/* "installed" for every content held */
void eh_dp_status_publish_installed (EhDp *dp);
/* "installed" for one content of this DP's library */
void eh_dp_status_publish_manifest (EhDp *dp, const EhDpManifest *manifest);
/* (transfer full) aa{sv}: the last status of @id from every DP (sorted by name, each with "assigned"),
 * and "pending" for each DP it is assigned to that has not reported yet */
GVariant *eh_dp_status_list (EhDp *dp, const char *id);

/* dp.content.action: redistribute and validate on demand (eh-dp-action.c) */
void eh_dp_action_start (EhDp *dp);
void eh_dp_action_stop (EhDp *dp);
/* publishes dp.content.action for @id, to the DP named @dp_name or to every DP (NULL or "") */
gboolean eh_dp_action_ask (EhDp *dp, const char *id, const char *action, const char *dp_name, GError **error);

G_END_DECLS
