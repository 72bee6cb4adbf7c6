/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "eh-ca.h"
#include "eh-test-util.h"

/*
 * The ca role's logic without the daemon: serials, names, roles, CSRs,
 * issuance into a real store, join tokens, revocation, the CRL and the
 * trust bundle, and the root that is never made twice.
 */

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crq_t, gnutls_x509_crq_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crl_t, gnutls_x509_crl_deinit, NULL)

#define ISSUE_COUNT 10000
#define RACERS 50
#define DAY (24 * 3600)

typedef struct {
  char *dir;
  char *ca_dir;
  char *db_path;
  EhStore *store;
  EhCaRootConfig config;
  EhCaIdentity root;
  EhCaIdentity site_signing;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("eh-ca-XXXXXX", &error);
  g_assert_no_error (error);
  f->ca_dir = g_build_filename (f->dir, "ca", NULL);
  g_assert_no_errno (g_mkdir (f->ca_dir, 0700));
  f->db_path = g_build_filename (f->dir, "host.db", NULL);
  f->store = eh_store_open (f->db_path, &error);
  g_assert_no_error (error);
  g_assert_true (eh_ca_records_migrate (f->store, &error));
  g_assert_no_error (error);
  f->config = (EhCaRootConfig) {
    .dir = f->ca_dir,
    .key_type = EH_KEY_ECDSA_P256,
    .root_days = 3650,
    .site_signing_days = 1825,
    .site_code = "T1",
  };
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  eh_ca_identity_clear (&f->root);
  eh_ca_identity_clear (&f->site_signing);
  g_clear_object (&f->store);
  eh_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->ca_dir);
  g_free (f->db_path);
}

static void
load_root (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (eh_ca_root_load_or_create (f->store, &f->config, &f->root, &error));
  g_assert_no_error (error);
  g_assert_nonnull (f->root.cert);
  g_assert_nonnull (f->root.key);
}

static void
load_site_signing (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (
    eh_ca_site_signing_load_or_create (f->store, &f->config, &f->site_signing, &error));
  g_assert_no_error (error);
}

static gnutls_x509_privkey_t
new_key (EhKeyType type)
{
  g_autoptr (GError) error = NULL;
  gnutls_x509_privkey_t key = eh_crypto_generate_key (type, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);
  return key;
}

/* the public half of @key, as a CSR would carry it */
static gnutls_pubkey_t
public_part (gnutls_x509_privkey_t key)
{
  g_auto (gnutls_privkey_t) priv = NULL;
  g_autoptr (GError) error = NULL;
  gnutls_pubkey_t pub;

  g_assert_cmpint (gnutls_privkey_init (&priv), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (priv, key, GNUTLS_PRIVKEY_IMPORT_COPY), ==, 0);
  pub = eh_crypto_privkey_get_pubkey (priv, &error);
  g_assert_no_error (error);
  return pub;
}

static gnutls_pubkey_t
new_pubkey (void)
{
  g_auto (gnutls_x509_privkey_t) key = new_key (EH_KEY_ECDSA_P256);

  return public_part (key);
}

static const char *const edge_names[] = { "edge.example", NULL };
static const char *const dp_roles[] = { "dp", NULL };

static EhCaSpec
role_spec (gnutls_pubkey_t pubkey, const char *join_token_id)
{
  return (EhCaSpec) {
    .kind = EH_CA_KIND_ROLE,
    .pubkey = pubkey,
    .common_name = "edge.example",
    .names = edge_names,
    .roles = dp_roles,
    .lifetime_seconds = DAY,
    .requester = "test",
    .join_token_id = join_token_id,
  };
}

/* a role certificate from the root; its serial in @serial */
static gnutls_x509_crt_t
issue_role (Fixture *f, gnutls_pubkey_t pubkey, char **serial)
{
  EhCaSpec spec = role_spec (pubkey, NULL);
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t crt = eh_ca_issue (f->store, &spec, f->root.cert, f->root.key, "T1", serial,
                                       &error);

  g_assert_no_error (error);
  g_assert_nonnull (crt);
  return crt;
}

static void
assert_verifies (gnutls_x509_crt_t crt, gnutls_x509_crt_t root)
{
  unsigned int status = ~0u;

  g_assert_cmpint (gnutls_x509_crt_verify (crt, &root, 1, 0, &status), ==, 0);
  g_assert_cmpuint (status, ==, 0);
}

static char *
crt_serial_hex (gnutls_x509_crt_t crt)
{
  guint8 serial[64];
  size_t size = sizeof serial;

  g_assert_cmpint (gnutls_x509_crt_get_serial (crt, serial, &size), ==, 0);
  return eh_ca_serial_to_hex (serial, size);
}

static void
assert_integrity (EhStore *store)
{
  g_autofree char *result = eh_test_query_text (store, "PRAGMA integrity_check");

  g_assert_cmpstr (result, ==, "ok");
}

static void
assert_message_has (const GError *error, const char *word)
{
  g_assert_nonnull (error);
  if (strstr (error->message, word) == NULL)
    g_error ("\"%s\" is not in the message \"%s\"", word, error->message);
}

/* ── 1 serials ────────────────────────────────────────────────────────── */

static void
test_serial_shape (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint set[EH_CA_SERIAL_BYTES * 8] = { 0 };

  for (guint i = 0; i < ISSUE_COUNT; i++) {
    guint8 serial[EH_CA_SERIAL_BYTES + 1];

    /* a guard octet: a draw never writes past 20 */
    serial[EH_CA_SERIAL_BYTES] = 0xa5;
    eh_ca_serial_generate (serial);
    g_assert_cmpuint (serial[EH_CA_SERIAL_BYTES], ==, 0xa5);
    g_assert_cmpuint (serial[0] & 0x80, ==, 0);
    g_assert_cmpuint (serial[0], !=, 0);
    g_assert_true (g_hash_table_add (seen, eh_ca_serial_to_hex (serial, EH_CA_SERIAL_BYTES)));
    for (guint bit = 0; bit < EH_CA_SERIAL_BYTES * 8; bit++)
      set[bit] += (serial[bit / 8] >> (7 - bit % 8)) & 1;
  }
  g_assert_cmpuint (g_hash_table_size (seen), ==, ISSUE_COUNT);
  /* every bit but the sign bit is a coin: 35 % to 65 % is 30 standard deviations */
  for (guint bit = 1; bit < EH_CA_SERIAL_BYTES * 8; bit++) {
    g_assert_cmpuint (set[bit], >=, ISSUE_COUNT * 35 / 100);
    g_assert_cmpuint (set[bit], <=, ISSUE_COUNT * 65 / 100);
  }
  g_assert_cmpuint (set[0], ==, 0);
}

static void
assert_serial_refused (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *serial = eh_ca_serial_normalize (text, &error);

  if (serial != NULL)
    g_error ("serial \"%s\" was accepted as %s", text, serial);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_serial_normalize (void)
{
  const char *full = "7F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:02:03";
  g_autofree char *upper = eh_ca_serial_normalize ("AB:cd:EF", NULL);
  g_autofree char *colons = eh_ca_serial_normalize (full, NULL);
  g_autofree char *over = g_strnfill (2 * EH_CA_SERIAL_BYTES + 2, 'a');
  g_autofree char *way_over = g_strnfill (4096, 'f');
  g_autofree char *one_over = g_strnfill (2 * EH_CA_SERIAL_BYTES + 1, 'a');
  const char *refused[] = { "", ":", ":::", "xyz", "0x12", "12 34", "12-34", "ab\ncd", "é1",
                            "%61", "abc", "a", over, one_over, way_over };

  g_assert_cmpstr (upper, ==, "abcdef");
  g_assert_cmpstr (colons, ==, "7f00112233445566778899aabbccddeeff010203");
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_serial_refused (refused[i]);
  assert_serial_refused (NULL);
}

/* ── 2 issuance ───────────────────────────────────────────────────────── */

static void
test_issue_unique (Fixture *f, gconstpointer data)
{
  g_auto (gnutls_pubkey_t) pubkey = new_pubkey ();
  g_autoptr (GHashTable) serials = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start;

  load_root (f);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < ISSUE_COUNT; i++) {
    g_autofree char *serial = NULL;
    g_auto (gnutls_x509_crt_t) crt = issue_role (f, pubkey, &serial);

    g_assert_cmpuint (strlen (serial), ==, 2 * EH_CA_SERIAL_BYTES);
    if (i % 1000 == 0) {
      g_autofree char *in_crt = crt_serial_hex (crt);

      g_assert_cmpstr (in_crt, ==, serial);
      assert_verifies (crt, f->root.cert);
    }
    g_assert_true (g_hash_table_add (serials, g_steal_pointer (&serial)));
  }
  g_test_message ("%u role certificates issued in %.1f s", ISSUE_COUNT,
                  (g_get_monotonic_time () - start) / 1e6);
  rows = eh_ca_records_list (f->store, EH_CA_KIND_ROLE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, ISSUE_COUNT);
  for (guint i = 0; i < rows->len; i++) {
    EhCaRecord *record = g_ptr_array_index (rows, i);

    g_assert_cmpstr (record->state, ==, "issued");
    g_assert_nonnull (record->der);
    g_assert_true (g_hash_table_contains (serials, record->serial));
  }
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(DISTINCT fingerprint) FROM ca_certificates "
                                        "WHERE kind = 'role'"),
                   ==, ISSUE_COUNT);
  assert_integrity (f->store);
}

/* ── 3 names ──────────────────────────────────────────────────────────── */

static void
assert_name (const char *name, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *normalized = eh_ca_name_normalize (name, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, expected);
}

static void
assert_name_refused (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *normalized = eh_ca_name_normalize (name, &error);
  const char *list[] = { "ok.example", name, NULL };
  g_auto (GStrv) all = NULL;

  if (normalized != NULL)
    g_error ("name \"%s\" was accepted as \"%s\"", name, normalized);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* one bad name spoils the list */
  if (name != NULL) {
    all = eh_ca_names_normalize (list, &error);
    g_assert_null (all);
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  }
}

static char *
labels (guint n, guint len, guint last_len)
{
  GString *name = g_string_new (NULL);

  for (guint i = 0; i < n; i++) {
    g_autofree char *label = g_strnfill (i + 1 < n ? len : last_len, 'a' + i);

    g_string_append_printf (name, "%s%s", i > 0 ? "." : "", label);
  }
  return g_string_free (name, FALSE);
}

static void
test_names (void)
{
  g_autofree char *label_63 = labels (2, 63, 7);
  g_autofree char *label_64 = labels (2, 64, 7);
  /* four labels: 63 + 63 + 63 + 61 and dots is 253, one more is 254 */
  g_autofree char *name_253 = labels (4, 63, 61);
  g_autofree char *name_254 = labels (4, 63, 62);
  g_autofree char *huge = g_strnfill (100000, 'a');
  const char *refused[] = { "", "-a", "a-", "a..b", ".a", "a.", "*.example", "a b", "a/b",
                            "a\\b", "..", ".", "a_b.example", "a,b.example", "a:b", "[::1]",
                            "fe80::1%eth0", "\xff\xfe.example", "caf\xc3\xa9.example", "a\nb",
                            "a%2eb", "%2e%2e", "edge.example%00", "edge.example.", label_64,
                            name_254, huge, "127.1", "2130706433", "01.2.3.4", "0x7f.1",
                            "edge.123" };
  const char *const mixed[] = { "Edge.Example", "edge.example", "::FFFF:1.2.3.4", "0:0::1", "::1",
                                "EDGE.EXAMPLE", "::ffff:1.2.3.4", "10.0.0.1", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) normalized = NULL;

  g_assert_cmpuint (strlen (name_253), ==, 253);
  g_assert_cmpuint (strlen (name_254), ==, 254);
  assert_name ("Edge.EXAMPLE", "edge.example");
  assert_name ("::ffff:1.2.3.4", "::ffff:1.2.3.4");
  assert_name ("::FFFF:1.2.3.4", "::ffff:1.2.3.4");
  assert_name ("0:0::1", "::1");
  assert_name ("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
  assert_name ("192.0.2.1", "192.0.2.1");
  assert_name ("localhost", "localhost");
  assert_name ("xn--caf-dma.example", "xn--caf-dma.example");
  assert_name (label_63, label_63);
  assert_name (name_253, name_253);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_name_refused (refused[i]);
  assert_name_refused (NULL);

  normalized = eh_ca_names_normalize (mixed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (normalized), ==, 4);
  g_assert_cmpstr (normalized[0], ==, "edge.example");
  g_assert_cmpstr (normalized[1], ==, "::ffff:1.2.3.4");
  g_assert_cmpstr (normalized[2], ==, "::1");
  g_assert_cmpstr (normalized[3], ==, "10.0.0.1");
  g_clear_pointer (&normalized, g_strfreev);
  normalized = eh_ca_names_normalize (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (normalized), ==, 0);
}

static GStrv
numbered_names (guint n)
{
  GStrv names = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    names[i] = g_strdup_printf ("h%u.example", i);
  return names;
}

static void
test_names_count (void)
{
  g_auto (GStrv) names_32 = numbered_names (EH_CA_MAX_NAMES);
  g_auto (GStrv) names_33 = numbered_names (EH_CA_MAX_NAMES + 1);
  g_auto (GStrv) out = NULL;
  g_autoptr (GError) error = NULL;

  out = eh_ca_names_normalize ((const char *const *) names_32, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (out), ==, EH_CA_MAX_NAMES);
  g_clear_pointer (&out, g_strfreev);
  out = eh_ca_names_normalize ((const char *const *) names_33, &error);
  g_assert_null (out);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, "more than");
}

/* ── 4 roles ──────────────────────────────────────────────────────────── */

static void
assert_roles (const char *const *roles, gboolean accepted)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (eh_ca_roles_check (roles, &error), ==, accepted);
  if (accepted)
    g_assert_no_error (error);
  else
    g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_roles (void)
{
  const char *const all[] = { EH_CA_KNOWN_ROLES, NULL };
  /* a role listed twice would name it twice in the certificate */
  const char *const twice[] = { "dp", "mp", "dp", NULL };
  const char *const nine[] = { "dp", "mp", "ca", "cmg", "cmg-connector",
                               "dp", "mp", "ca", "cmg", NULL };
  const char *const empty[] = { NULL };
  const char *const refused[] = { "", "DP", "admin", "dp,mp", "dp ", "urn:ehttpd:role:dp", "cmg\n",
                                  "\xff" };
  const char *const *sets[] = { all, NULL, empty, (const char *const[]) { "a", "b", NULL } };

  for (guint i = 0; all[i] != NULL; i++)
    assert_roles ((const char *const[]) { all[i], NULL }, TRUE);
  assert_roles (all, TRUE);
  assert_roles (twice, FALSE);
  assert_roles (nine, FALSE);
  assert_roles (empty, FALSE);
  assert_roles (NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    assert_roles ((const char *const[]) { "dp", refused[i], NULL }, FALSE);

  /* the empty set is a subset of anything, even of nothing */
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++) {
    g_assert_true (eh_ca_strv_subset (NULL, sets[i]));
    g_assert_true (eh_ca_strv_subset (empty, sets[i]));
  }
  g_assert_false (eh_ca_strv_subset ((const char *const[]) { "dp", NULL }, NULL));
  g_assert_false (eh_ca_strv_subset ((const char *const[]) { "dp", NULL }, empty));
  g_assert_true (eh_ca_strv_subset ((const char *const[]) { "dp", "dp", NULL }, all));
  g_assert_true (eh_ca_strv_subset (all, all));
  g_assert_false (eh_ca_strv_subset ((const char *const[]) { "dp", "admin", NULL }, all));
  g_assert_false (eh_ca_strv_subset ((const char *const[]) { "", NULL }, all));
  g_assert_false (eh_ca_strv_subset ((const char *const[]) { "DP", NULL }, all));
}

/* ── 5 CSRs ───────────────────────────────────────────────────────────── */

static gnutls_x509_crq_t
make_crq (gnutls_x509_privkey_t key, gboolean ask_ca)
{
  gnutls_digest_algorithm_t digest =
    gnutls_x509_privkey_get_pk_algorithm (key) == GNUTLS_PK_EDDSA_ED25519 ? GNUTLS_DIG_SHA512
                                                                          : GNUTLS_DIG_SHA256;
  gnutls_x509_crq_t crq = NULL;

  g_assert_cmpint (gnutls_x509_crq_init (&crq), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_set_version (crq, 1), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_set_dn_by_oid (crq, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                  "edge.example", strlen ("edge.example")),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crq_set_key (crq, key), ==, 0);
  if (ask_ca)
    g_assert_cmpint (gnutls_x509_crq_set_basic_constraints (crq, 1, -1), ==, 0);
  g_assert_cmpint (gnutls_x509_crq_sign2 (crq, key, digest, 0), ==, 0);
  return crq;
}

static char *
armour (const char *label, const gnutls_datum_t *der)
{
  gnutls_datum_t pem = { NULL, 0 };
  char *text;

  g_assert_cmpint (gnutls_pem_base64_encode2 (label, der, &pem), ==, 0);
  text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  return text;
}

static char *
make_csr (gnutls_x509_privkey_t key, gboolean ask_ca)
{
  g_auto (gnutls_x509_crq_t) crq = make_crq (key, ask_ca);
  gnutls_datum_t der = { NULL, 0 };
  char *pem;

  g_assert_cmpint (gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_DER, &der), ==, 0);
  pem = armour ("CERTIFICATE REQUEST", &der);
  gnutls_free (der.data);
  return pem;
}

/* the same request with the last octet (inside the signature) flipped */
static char *
make_csr_bad_signature (gnutls_x509_privkey_t key)
{
  g_auto (gnutls_x509_crq_t) crq = make_crq (key, FALSE);
  gnutls_datum_t der = { NULL, 0 };
  char *pem;

  g_assert_cmpint (gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_DER, &der), ==, 0);
  der.data[der.size - 1] ^= 0x01;
  pem = armour ("CERTIFICATE REQUEST", &der);
  gnutls_free (der.data);
  return pem;
}

static gnutls_x509_privkey_t
new_rsa_1024 (void)
{
  gnutls_x509_privkey_t key = NULL;

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (key, GNUTLS_PK_RSA, 1024, 0), ==, 0);
  return key;
}

static void
assert_csr_accepted (gnutls_x509_privkey_t key)
{
  g_autofree char *pem = make_csr (key, FALSE);
  g_auto (gnutls_pubkey_t) expected = public_part (key);
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_pubkey_t) got = eh_ca_csr_read (pem, &error);
  guint8 a[64], b[64];
  size_t a_len = sizeof a, b_len = sizeof b;

  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpint (gnutls_pubkey_get_key_id (got, GNUTLS_KEYID_USE_SHA256, a, &a_len), ==, 0);
  g_assert_cmpint (gnutls_pubkey_get_key_id (expected, GNUTLS_KEYID_USE_SHA256, b, &b_len), ==, 0);
  g_assert_cmpmem (a, a_len, b, b_len);
}

static void
assert_csr_refused (const char *pem, const char *word)
{
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_pubkey_t) got = eh_ca_csr_read (pem, &error);

  g_assert_null (got);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
  assert_message_has (error, word);
}

static void
test_csr (void)
{
  g_auto (gnutls_x509_privkey_t) p256 = new_key (EH_KEY_ECDSA_P256);
  g_auto (gnutls_x509_privkey_t) ed25519 = new_key (EH_KEY_ED25519);
  g_auto (gnutls_x509_privkey_t) rsa = new_key (EH_KEY_RSA_2048);
  g_auto (gnutls_x509_privkey_t) rsa_1024 = new_rsa_1024 ();
  g_auto (gnutls_x509_crt_t) cert =
    eh_test_make_certificate (p256, "edge.example", NULL, NULL, FALSE);
  g_autofree char *cert_pem = eh_crypto_cert_to_pem (cert, NULL);
  g_autofree char *good = make_csr (p256, FALSE);
  g_autofree char *oversized = g_strnfill (EH_CA_MAX_CSR_BYTES + 1, 'A');
  g_autofree char *padding = g_strnfill (EH_CA_MAX_CSR_BYTES, '\n');
  g_autofree char *padded = g_strconcat (good, padding, NULL);
  g_autofree char *bad_signature = make_csr_bad_signature (p256);
  g_autofree char *ask_ca = make_csr (p256, TRUE);
  g_autofree char *weak = make_csr (rsa_1024, FALSE);
  const char *garbage = "-----BEGIN CERTIFICATE REQUEST-----\n"
                        "this is not base64 at all !!\n"
                        "-----END CERTIFICATE REQUEST-----\n";
  const char *junk_der = "-----BEGIN CERTIFICATE REQUEST-----\n"
                         "MIIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                         "-----END CERTIFICATE REQUEST-----\n";
  g_autofree char *truncated = g_strndup (good, strlen (good) / 2);

  assert_csr_accepted (p256);
  assert_csr_accepted (ed25519);
  assert_csr_accepted (rsa);

  assert_csr_refused (NULL, "empty");
  assert_csr_refused ("", "empty");
  assert_csr_refused (oversized, "over");
  assert_csr_refused (padded, "over");
  assert_csr_refused (cert_pem, "PKCS#10");
  assert_csr_refused (garbage, "PKCS#10");
  assert_csr_refused (junk_der, "PKCS#10");
  assert_csr_refused (truncated, "PKCS#10");
  assert_csr_refused ("MIIB", "PKCS#10");
  assert_csr_refused (bad_signature, "signature");
  assert_csr_refused (ask_ca, "CA:TRUE");
  assert_csr_refused (weak, "not accepted");
}

/* ── 6 join tokens ────────────────────────────────────────────────────── */

static char *
create_token (Fixture *f, guint64 ttl, char **id)
{
  g_autoptr (GError) error = NULL;
  gint64 expires_at = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  char *token =
    eh_ca_join_token_create (f->store, dp_roles, edge_names, ttl, id, &expires_at, &error);

  g_assert_no_error (error);
  g_assert_nonnull (token);
  g_assert_cmpint (expires_at, >=, now + (gint64) ttl);
  g_assert_cmpint (expires_at, <=, now + (gint64) ttl + 2);
  return token;
}

/* the token's state as the admin lists it */
static char *
token_state (Fixture *f, const char *id, char **used_by)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) list = eh_ca_join_token_list (f->store, &error);
  GVariantIter iter;
  GVariant *token;

  g_assert_no_error (error);
  g_variant_iter_init (&iter, list);
  while ((token = g_variant_iter_next_value (&iter)) != NULL) {
    g_autoptr (GVariant) owned = token;
    const char *token_id = NULL, *state = NULL, *by = NULL;

    g_assert_true (g_variant_lookup (token, "id", "&s", &token_id));
    if (g_strcmp0 (token_id, id) != 0)
      continue;
    g_assert_true (g_variant_lookup (token, "state", "&s", &state));
    g_assert_true (g_variant_lookup (token, "used-by", "&s", &by));
    if (used_by != NULL)
      *used_by = g_strdup (by);
    return g_strdup (state);
  }
  g_error ("join token %s is not listed", id);
  return NULL;
}

/* a refusal: PERMISSION_DENIED; returns the message to compare */
static char *
check_refused (Fixture *f, const char *token, const char *const *roles, const char *const *names)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  g_assert_false (eh_ca_join_token_check (f->store, token, roles, names, &id, &error));
  g_assert_null (id);
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  return g_strdup (error->message);
}

/* unknown, used, revoked, expired, wrong and malformed: one refusal, worded alike */
static void
assert_not_valid (Fixture *f, const char *token, const char *label)
{
  g_autofree char *message = check_refused (f, token, dp_roles, edge_names);

  if (strstr (message, "not valid") == NULL)
    g_error ("%s: unexpected refusal \"%s\"", label, message);
  g_assert_cmpstr (message, ==, "the join token is not valid (unknown, used, revoked or expired)");
}

typedef struct {
  char *db_path;
  char *root_pem;
  char *root_key_path;
  char *subject_pem;
  const char *token_id;
  GMutex *lock;
  GCond *cond;
  gboolean *go;
  /* results */
  gboolean issued;
  char *serial;
  GError *error;
} Racer;

static void
racer_wait (Racer *racer)
{
  g_mutex_lock (racer->lock);
  while (!*racer->go)
    g_cond_wait (racer->cond, racer->lock);
  g_mutex_unlock (racer->lock);
}

/* one client: its own connection, issuer, key and subject key; never asserts */
static gpointer
racer_run (gpointer data)
{
  Racer *racer = data;
  g_autoptr (EhStore) store = eh_store_open (racer->db_path, &racer->error);
  g_auto (gnutls_x509_crt_t) issuer = NULL;
  g_auto (gnutls_privkey_t) signer = NULL;
  g_auto (gnutls_pubkey_t) subject = NULL;
  g_auto (gnutls_x509_crt_t) crt = NULL;
  gnutls_datum_t subject_pem = { (unsigned char *) racer->subject_pem,
                                 strlen (racer->subject_pem) };
  EhCaSpec spec;

  if (store == NULL ||
      (issuer = eh_crypto_cert_from_pem (racer->root_pem, strlen (racer->root_pem),
                                         &racer->error)) == NULL ||
      (signer = eh_crypto_privkey_open (racer->root_key_path, &racer->error)) == NULL ||
      gnutls_pubkey_init (&subject) < 0 ||
      gnutls_pubkey_import (subject, &subject_pem, GNUTLS_X509_FMT_PEM) < 0) {
    if (racer->error == NULL)
      racer->error = g_error_new (EH_ERROR, EH_ERROR_FAILED, "racer setup failed");
    racer_wait (racer);
    return NULL;
  }
  spec = role_spec (subject, racer->token_id);
  racer_wait (racer);
  crt = eh_ca_issue (store, &spec, issuer, signer, "T1", &racer->serial, &racer->error);
  racer->issued = crt != NULL;
  return NULL;
}

static char *
pubkey_pem (gnutls_pubkey_t pubkey)
{
  gnutls_datum_t pem = { NULL, 0 };
  char *text;

  g_assert_cmpint (gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_PEM, &pem), ==, 0);
  text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  return text;
}

/* RACERS threads, each on its own connection, spend one token at once */
static char *
race_for_token (Fixture *f, const char *token_id)
{
  g_auto (gnutls_pubkey_t) subject = new_pubkey ();
  g_autofree char *subject_pem = pubkey_pem (subject);
  g_autofree char *key_path = g_build_filename (f->ca_dir, "root-key.pem", NULL);
  Racer racers[RACERS];
  GThread *threads[RACERS];
  GMutex lock;
  GCond cond;
  gboolean go = FALSE;
  char *winner = NULL;
  guint denied = 0;

  g_mutex_init (&lock);
  g_cond_init (&cond);
  for (guint i = 0; i < RACERS; i++) {
    racers[i] = (Racer) { f->db_path, f->root.pem, key_path, subject_pem,
                          token_id,   &lock,       &cond,    &go };
    threads[i] = g_thread_new ("racer", racer_run, &racers[i]);
  }
  g_mutex_lock (&lock);
  go = TRUE;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
  for (guint i = 0; i < RACERS; i++) {
    g_thread_join (threads[i]);
    if (racers[i].issued) {
      g_assert_null (winner);
      g_assert_no_error (racers[i].error);
      winner = g_steal_pointer (&racers[i].serial);
      continue;
    }
    g_assert_error (racers[i].error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
    assert_message_has (racers[i].error, "not valid");
    g_assert_null (racers[i].serial);
    g_clear_error (&racers[i].error);
    denied++;
  }
  g_mutex_clear (&lock);
  g_cond_clear (&cond);
  g_assert_nonnull (winner);
  g_assert_cmpuint (denied, ==, RACERS - 1);
  return winner;
}

static void
test_join_once (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *checked_id = NULL;
  g_autofree char *token = NULL;
  g_autofree char *winner = NULL;
  g_autofree char *state = NULL;
  g_autofree char *used_by = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (gnutls_pubkey_t) pubkey = new_pubkey ();
  EhCaSpec spec = role_spec (pubkey, NULL);
  g_autoptr (EhCaRecord) record = NULL;

  load_root (f);
  token = create_token (f, 3600, &id);
  g_assert_true (g_str_has_prefix (token, "ehjt1."));
  g_assert_cmpuint (strlen (id), ==, 16);
  g_assert_true (
    eh_ca_join_token_check (f->store, token, dp_roles, edge_names, &checked_id, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (checked_id, ==, id);
  state = token_state (f, id, NULL);
  g_assert_cmpstr (state, ==, "active");
  g_clear_pointer (&state, g_free);

  winner = race_for_token (f, id);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE kind = 'role'"),
                   ==, 1);
  record = eh_ca_records_get (f->store, winner, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (record->state, ==, "issued");
  state = token_state (f, id, &used_by);
  g_assert_cmpstr (state, ==, "used");
  g_assert_cmpstr (used_by, ==, winner);

  /* one more, on this connection, after the race */
  spec.join_token_id = id;
  g_assert_null (eh_ca_issue (f->store, &spec, f->root.cert, f->root.key, "T1", NULL, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE kind = 'role'"),
                   ==, 1);
  assert_not_valid (f, token, "used");
  assert_integrity (f->store);
}

/* a batch of eight, two of them bringing the same join token: one of those
 * two wins, the six others are issued, all in two transactions */
static void
test_issue_batch (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *token = NULL;
  gnutls_pubkey_t keys[8];
  EhCaSpec specs[8];
  EhCaIssuance items[8];
  guint issued = 0, denied = 0;

  load_root (f);
  token = create_token (f, 3600, &id);
  for (guint i = 0; i < G_N_ELEMENTS (items); i++) {
    keys[i] = new_pubkey ();
    specs[i] = role_spec (keys[i], i == 2 || i == 5 ? id : NULL);
    items[i] = (EhCaIssuance) { .spec = &specs[i] };
  }
  eh_ca_issue_batch (f->store, items, G_N_ELEMENTS (items), f->root.cert, f->root.key, "T1");
  for (guint i = 0; i < G_N_ELEMENTS (items); i++) {
    if (items[i].certificate != NULL) {
      g_assert_no_error (items[i].error);
      g_assert_nonnull (items[i].serial);
      assert_verifies (items[i].certificate, f->root.cert);
      issued++;
      gnutls_x509_crt_deinit (items[i].certificate);
      g_free (items[i].serial);
    } else {
      g_assert_true (i == 2 || i == 5);
      g_assert_error (items[i].error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
      g_assert_null (items[i].serial);
      g_clear_error (&items[i].error);
      denied++;
    }
    gnutls_pubkey_deinit (keys[i]);
  }
  g_assert_cmpuint (issued, ==, 7);
  g_assert_cmpuint (denied, ==, 1);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE kind = 'role' "
                                        "AND state = 'issued'"), ==, 7);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE kind = 'role'"),
                   ==, 7);
  assert_integrity (f->store);
}

/* "ehjt1.<id>.<secret>" with the secret of @token swapped for a fresh one */
static char *
with_other_secret (const char *token)
{
  guint8 secret[32];
  g_autofree char *text = NULL;
  const char *last_dot = strrchr (token, '.');

  gnutls_rnd (GNUTLS_RND_NONCE, secret, sizeof secret);
  text = eh_base64url_encode (secret, sizeof secret);
  return g_strdup_printf ("%.*s.%s", (int) (last_dot - token), token, text);
}

static void
test_join_refusals (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *token = create_token (f, 3600, &id);
  const char *secret = strrchr (token, '.') + 1;
  g_autofree char *wrong_secret = with_other_secret (token);
  g_autofree char *unknown = g_strdup_printf ("ehjt1.0123456789abcdef.%s", secret);
  g_autofree char *upper = g_ascii_strup (id, -1);
  g_autofree char *upper_token = g_strdup_printf ("ehjt1.%s.%s", upper, secret);
  g_autofree char *short_id = g_strdup_printf ("ehjt1.%.15s.%s", id, secret);
  g_autofree char *long_id = g_strdup_printf ("ehjt1.%s0.%s", id, secret);
  g_autofree char *padded = g_strconcat (token, "=", NULL);
  g_autofree char *filler = g_strnfill (300 - strlen (token), 'A');
  g_autofree char *long_text = g_strconcat (token, filler, NULL);
  g_autofree char *cut = g_strndup (token, strlen (token) - 1);
  g_autofree char *spaced = g_strconcat (" ", token, NULL);
  g_autofree char *trailing = g_strconcat (token, "\n", NULL);
  g_autofree char *other_prefix = g_strconcat ("ehjt2", token + strlen ("ehjt1"), NULL);
  g_autofree char *base64_std = g_strdup (token);
  const char *malformed[] = { "", "ehjt1.", "ehjt1..", "ehjt1", "x", short_id, long_id, padded,
                              long_text, cut, spaced, trailing, other_prefix, unknown,
                              wrong_secret };
  g_autofree char *message = NULL;

  g_assert_cmpuint (strlen (long_text), ==, 300);
  /* standard base64 instead of base64url: '-' and '_' are the only specials */
  for (char *p = base64_std + strlen ("ehjt1.") + 17; *p != '\0'; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    assert_not_valid (f, malformed[i], "malformed");
  assert_not_valid (f, NULL, "null");
  if (strcmp (base64_std, token) != 0)
    assert_not_valid (f, base64_std, "standard base64");
  /* an id of digits only has no upper case (one in two thousand) */
  if (strcmp (upper, id) != 0)
    assert_not_valid (f, upper_token, "upper-case id");

  /* granted: a subset of the token's roles and names */
  message = check_refused (f, token, (const char *const[]) { "mp", NULL }, edge_names);
  g_assert_true (strstr (message, "roles") != NULL);
  g_clear_pointer (&message, g_free);
  message = check_refused (f, token, (const char *const[]) { "dp", "ca", NULL }, edge_names);
  g_assert_true (strstr (message, "roles") != NULL);
  g_clear_pointer (&message, g_free);
  message = check_refused (f, token, dp_roles, (const char *const[]) { "other.example", NULL });
  g_assert_true (strstr (message, "names") != NULL);
  g_clear_pointer (&message, g_free);
  message = check_refused (f, token, dp_roles,
                           (const char *const[]) { "edge.example", "evil.example", NULL });
  g_assert_true (strstr (message, "names") != NULL);

  /* the token is still good after all that */
  {
    g_autofree char *checked = NULL;

    g_assert_true (eh_ca_join_token_check (f->store, token, dp_roles, edge_names, &checked, NULL));
    g_assert_cmpstr (checked, ==, id);
  }
}

static void
expire_token (Fixture *f, const char *id)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = eh_store_prepare (
    f->store, "UPDATE ca_join_tokens SET expires_at = ?2 WHERE id = ?1", &error);

  g_assert_no_error (error);
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC - 1);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  g_assert_cmpint (sqlite3_changes (eh_store_get_db (f->store)), ==, 1);
  sqlite3_reset (stmt);
}

static void
test_join_expired_revoked (Fixture *f, gconstpointer data)
{
  g_autofree char *expired_id = NULL;
  g_autofree char *expired = create_token (f, 60, &expired_id);
  g_autofree char *revoked_id = NULL;
  g_autofree char *revoked = create_token (f, EH_CA_JOIN_TOKEN_MAX_TTL, &revoked_id);
  g_autofree char *state = NULL;
  g_auto (gnutls_pubkey_t) pubkey = new_pubkey ();
  EhCaSpec spec = role_spec (pubkey, expired_id);
  g_autoptr (GError) error = NULL;

  load_root (f);
  expire_token (f, expired_id);
  assert_not_valid (f, expired, "expired");
  state = token_state (f, expired_id, NULL);
  g_assert_cmpstr (state, ==, "expired");
  g_clear_pointer (&state, g_free);
  /* and issuance, which checks again in its transaction, agrees */
  g_assert_null (eh_ca_issue (f->store, &spec, f->root.cert, f->root.key, "T1", NULL, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  g_assert_true (eh_ca_join_token_revoke (f->store, revoked_id, &error));
  g_assert_no_error (error);
  assert_not_valid (f, revoked, "revoked");
  state = token_state (f, revoked_id, NULL);
  g_assert_cmpstr (state, ==, "revoked");
  spec.join_token_id = revoked_id;
  g_assert_null (eh_ca_issue (f->store, &spec, f->root.cert, f->root.key, "T1", NULL, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  /* revoking twice, or an unknown id */
  g_assert_false (eh_ca_join_token_revoke (f->store, revoked_id, &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (eh_ca_join_token_revoke (f->store, "0123456789abcdef", &error));
  g_assert_error (error, EH_ERROR, EH_ERROR_NOT_FOUND);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE kind = 'role'"),
                   ==, 0);
}

static void
assert_create_refused (Fixture *f, const char *const *roles, const char *const *names, guint64 ttl)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  gint64 expires_at = 0;
  g_autofree char *token =
    eh_ca_join_token_create (f->store, roles, names, ttl, &id, &expires_at, &error);

  g_assert_null (token);
  g_assert_null (id);
  g_assert_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT);
}

static void
test_join_create_bounds (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autofree char *token = NULL;
  g_autofree char *second_id = NULL;
  g_autofree char *second = NULL;

  assert_create_refused (f, dp_roles, edge_names, 59);
  assert_create_refused (f, dp_roles, edge_names, 0);
  assert_create_refused (f, dp_roles, edge_names, EH_CA_JOIN_TOKEN_MAX_TTL + 1);
  assert_create_refused (f, dp_roles, edge_names, G_MAXUINT64);
  assert_create_refused (f, (const char *const[]) { "admin", NULL }, edge_names, 3600);
  assert_create_refused (f, NULL, edge_names, 3600);
  assert_create_refused (f, dp_roles, (const char *const[]) { "*.example", NULL }, 3600);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_join_tokens"), ==, 0);
  /* the bounds themselves are fine, and two tokens never share an id or a secret */
  token = create_token (f, 60, &id);
  second = create_token (f, EH_CA_JOIN_TOKEN_MAX_TTL, &second_id);
  g_assert_cmpstr (id, !=, second_id);
  g_assert_true (strcmp (token, second) != 0);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(DISTINCT secret_hash) FROM ca_join_tokens"),
                   ==, 2);
  /* only the secret's hash is stored */
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_join_tokens "
                                        "WHERE length(secret_hash) = 32"), ==, 2);
}

/* ── 7 records ────────────────────────────────────────────────────────── */

static void
insert_reserved (Fixture *f, const char *serial)
{
  g_autoptr (GError) error = NULL;
  sqlite3_stmt *stmt = eh_store_prepare (
    f->store,
    "INSERT INTO ca_certificates (serial, kind, state, subject, names, roles, requester, tbs, "
    "not_before, not_after, created_at) VALUES (?1, 'role', 'reserved', 'edge.example', "
    "'edge.example', 'dp', 'test', '{}', ?2, ?2 + 86400, ?2)",
    &error);

  g_assert_no_error (error);
  sqlite3_bind_text (stmt, 1, serial, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_reset (stmt);
}

static void
assert_revoke_refused (Fixture *f, const char *serial, gint code)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_ca_records_revoke (f->store, serial, "superseded", &error));
  g_assert_error (error, EH_ERROR, code);
}

static char *
first_serial (Fixture *f, EhCaKind kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = eh_ca_records_list (f->store, kind, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 1);
  return g_strdup (((EhCaRecord *) g_ptr_array_index (rows, 0))->serial);
}

static void
test_records_abandoned (Fixture *f, gconstpointer data)
{
  const char *reserved = "01aa00000000000000000000000000000000000f";
  g_autoptr (GError) error = NULL;
  g_autoptr (EhCaRecord) record = NULL;
  g_autofree char *root_serial = NULL;
  g_autofree char *signing_serial = NULL;
  g_autofree char *serial = NULL;
  g_auto (gnutls_pubkey_t) pubkey = new_pubkey ();
  g_auto (gnutls_x509_crt_t) crt = NULL;
  g_auto (GStrv) revoked = NULL;

  load_root (f);
  load_site_signing (f);
  insert_reserved (f, reserved);
  g_assert_cmpint (eh_ca_records_abandon_reserved (f->store, &error), ==, 1);
  g_assert_no_error (error);
  record = eh_ca_records_get (f->store, reserved, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (record->state, ==, "abandoned");
  g_assert_null (record->der);
  g_assert_cmpint (eh_ca_records_abandon_reserved (f->store, &error), ==, 0);
  g_assert_no_error (error);
  /* an abandoned serial was never signed: nothing to revoke */
  assert_revoke_refused (f, reserved, EH_ERROR_INVALID_ARGUMENT);

  root_serial = first_serial (f, EH_CA_KIND_ROOT);
  signing_serial = first_serial (f, EH_CA_KIND_SITE_SIGNING);
  assert_revoke_refused (f, root_serial, EH_ERROR_INVALID_ARGUMENT);
  assert_revoke_refused (f, signing_serial, EH_ERROR_INVALID_ARGUMENT);
  assert_revoke_refused (f, "0123456789abcdef0123456789abcdef01234567", EH_ERROR_NOT_FOUND);
  assert_revoke_refused (f, "", EH_ERROR_NOT_FOUND);
  assert_revoke_refused (f, "' OR 1=1 --", EH_ERROR_NOT_FOUND);

  crt = issue_role (f, pubkey, &serial);
  g_assert_true (eh_ca_records_revoke (f->store, serial, "key-compromise", &error));
  g_assert_no_error (error);
  assert_revoke_refused (f, serial, EH_ERROR_EXISTS);
  g_clear_pointer (&record, eh_ca_record_free);
  record = eh_ca_records_get (f->store, serial, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (record->state, ==, "revoked");
  g_assert_cmpstr (record->reason, ==, "key-compromise");
  g_assert_cmpint (record->revoked_at, >, 0);
  g_assert_nonnull (record->der);
  revoked = eh_ca_records_revoked_serials (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (revoked), ==, 1);
  g_assert_cmpstr (revoked[0], ==, serial);
  /* the root and the site signing certificate are untouched */
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE "
                                        "state = 'issued' AND kind IN ('root', 'site-signing')"),
                   ==, 2);
}

/* ── 8 publishing ─────────────────────────────────────────────────────── */

static void
publish (Fixture *f, EhCaPublished *published)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (
    eh_ca_publish_build (f->store, &f->root, &f->site_signing, "T1", 7, published, &error));
  g_assert_no_error (error);
  g_assert_nonnull (published->json);
  g_assert_nonnull (published->crl_der);
}

static void
assert_crl (Fixture *f, GBytes *der, const char *serial)
{
  g_auto (gnutls_x509_crl_t) crl = NULL;
  gnutls_datum_t data = { (unsigned char *) g_bytes_get_data (der, NULL), g_bytes_get_size (der) };
  unsigned int status = ~0u;
  guint8 raw[64];
  size_t raw_len = sizeof raw;
  time_t when = 0;
  g_autofree char *listed = NULL;
  /* the root as a relying party has it: GnuTLS finds a CRL's issuer only
   * in a certificate that was imported, not in one it has just signed */
  g_auto (gnutls_x509_crt_t) published_root =
    eh_crypto_cert_from_pem (f->root.pem, strlen (f->root.pem), NULL);

  g_assert_nonnull (published_root);
  g_assert_cmpint (gnutls_x509_crl_init (&crl), ==, 0);
  g_assert_cmpint (gnutls_x509_crl_import (crl, &data, GNUTLS_X509_FMT_DER), ==, 0);
  g_assert_cmpint (gnutls_x509_crl_verify (crl, &published_root, 1, 0, &status), ==, 0);
  g_assert_cmpuint (status, ==, 0);
  g_assert_cmpint (gnutls_x509_crl_get_crt_count (crl), ==, 1);
  g_assert_cmpint (gnutls_x509_crl_get_crt_serial (crl, 0, raw, &raw_len, &when), ==, 0);
  listed = eh_ca_serial_to_hex (raw, raw_len);
  g_assert_cmpstr (listed, ==, serial);
  g_assert_cmpint (when, >, 0);
  g_assert_cmpint (gnutls_x509_crl_get_next_update (crl), >, time (NULL));
}

static JsonObject *
parse_bundle (const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = eh_json_parse_strict (json, strlen (json), 1024 * 1024, 16, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static gboolean
array_has_string (JsonArray *array, const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++) {
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  }
  return FALSE;
}

/* every key has kid, x5t#S256 and an x5c chain; returns the kids used for @usage */
static GStrv
bundle_kids (JsonObject *bundle, const char *usage)
{
  JsonArray *keys = json_object_get_array_member (bundle, "keys");
  g_autoptr (GStrvBuilder) kids = g_strv_builder_new ();

  g_assert_nonnull (keys);
  for (guint i = 0; i < json_array_get_length (keys); i++) {
    JsonObject *key = json_array_get_object_element (keys, i);
    const char *kid = json_object_get_string_member_with_default (key, "kid", NULL);
    const char *x5t = json_object_get_string_member_with_default (key, "x5t#S256", NULL);
    const char *key_usage = json_object_get_string_member_with_default (key, "ehttpd_usage", NULL);
    JsonArray *x5c = json_object_get_array_member (key, "x5c");

    g_assert_nonnull (kid);
    g_assert_cmpstr (x5t, ==, kid);
    g_assert_nonnull (x5c);
    g_assert_cmpuint (json_array_get_length (x5c), >=, 1);
    if (g_strcmp0 (key_usage, usage) == 0)
      g_strv_builder_add (kids, kid);
  }
  return g_strv_builder_end (kids);
}

static void
run_tool (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  gint status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], out);
}

/* what other verifiers say: openssl -x509_strict and certtool, leaf then root */
static void
assert_tools_verify (Fixture *f, gnutls_x509_crt_t crt)
{
  g_autofree char *leaf = eh_crypto_cert_to_pem (crt, NULL);
  g_autofree char *chain = g_strconcat (leaf, f->root.pem, NULL);
  g_autofree char *root_path = g_build_filename (f->dir, "tools-root.pem", NULL);
  g_autofree char *leaf_path = g_build_filename (f->dir, "tools-leaf.pem", NULL);
  g_autofree char *chain_path = g_build_filename (f->dir, "tools-chain.pem", NULL);
  const char *openssl[] = { "openssl", "verify", "-x509_strict", "-CAfile", root_path, leaf_path, NULL };
  const char *certtool[] = { "certtool", "--verify-chain", "--infile", chain_path, NULL };

  g_assert_true (g_file_set_contents (root_path, f->root.pem, -1, NULL));
  g_assert_true (g_file_set_contents (leaf_path, leaf, -1, NULL));
  g_assert_true (g_file_set_contents (chain_path, chain, -1, NULL));
  run_tool (openssl);
  run_tool (certtool);
}

static gnutls_x509_crt_t
issue_token_signing (Fixture *f, const char *host)
{
  g_auto (gnutls_pubkey_t) pubkey = new_pubkey ();
  EhCaSpec spec = {
    .kind = EH_CA_KIND_TOKEN_SIGNING,
    .pubkey = pubkey,
    .common_name = host,
    .host = host,
    .lifetime_seconds = 365 * (guint64) DAY,
    .requester = "test",
  };
  g_autoptr (GError) error = NULL;
  gnutls_x509_crt_t crt =
    eh_ca_issue (f->store, &spec, f->root.cert, f->root.key, "T1", NULL, &error);

  g_assert_no_error (error);
  assert_verifies (crt, f->root.cert);
  assert_tools_verify (f, crt);
  return crt;
}

static void
test_publish (Fixture *f, gconstpointer data)
{
  EhCaPublished published = { 0 };
  g_auto (gnutls_pubkey_t) pubkey = new_pubkey ();
  g_autofree char *serial = NULL;
  g_auto (gnutls_x509_crt_t) role = NULL;
  g_auto (gnutls_x509_crt_t) first = NULL;
  g_auto (gnutls_x509_crt_t) second = NULL;
  g_autofree char *first_kid = NULL;
  g_autofree char *second_kid = NULL;
  g_autoptr (JsonObject) bundle = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) kids = NULL;
  guint64 version;

  load_root (f);
  load_site_signing (f);
  role = issue_role (f, pubkey, &serial);
  g_assert_true (eh_ca_records_revoke (f->store, serial, "superseded", &error));
  g_assert_no_error (error);
  publish (f, &published);
  assert_crl (f, published.crl_der, serial);
  g_assert_true (g_str_has_prefix (published.crl_pem, "-----BEGIN X509 CRL-----"));
  bundle = parse_bundle (published.json);
  g_assert_true (array_has_string (json_object_get_array_member (bundle, "revoked"), serial));
  g_assert_cmpint (json_object_get_int_member (bundle, "version"), ==, published.version);
  kids = bundle_kids (bundle, "site-signing");
  g_assert_cmpuint (g_strv_length (kids), ==, 1);
  g_clear_pointer (&kids, g_strfreev);
  kids = bundle_kids (bundle, "token-signing");
  g_assert_cmpuint (g_strv_length (kids), ==, 0);
  g_clear_pointer (&kids, g_strfreev);
  version = published.version;

  /* overlapping rollover: two token signing certificates of one host */
  first = issue_token_signing (f, "mp1.example");
  second = issue_token_signing (f, "mp1.example");
  first_kid = eh_jws_cert_thumbprint (first, NULL);
  second_kid = eh_jws_cert_thumbprint (second, NULL);
  publish (f, &published);
  g_assert_cmpuint (published.version, >, version);
  g_clear_pointer (&bundle, json_object_unref);
  bundle = parse_bundle (published.json);
  kids = bundle_kids (bundle, "token-signing");
  g_assert_cmpuint (g_strv_length (kids), ==, 2);
  g_assert_true (g_strv_contains ((const char *const *) kids, first_kid));
  g_assert_true (g_strv_contains ((const char *const *) kids, second_kid));
  g_assert_true (strstr (published.json, "\"ehttpd_host\":\"mp1.example\"") != NULL);
  g_assert_true (array_has_string (json_object_get_array_member (bundle, "revoked"), serial));
  assert_crl (f, published.crl_der, serial);
  version = published.version;
  publish (f, &published);
  g_assert_cmpuint (published.version, >, version);
  eh_ca_published_clear (&published);
}

/* ── 9 the root is never made twice ───────────────────────────────────── */

static void
assert_root_refused (Fixture *f, const char *word)
{
  EhCaIdentity root = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_false (eh_ca_root_load_or_create (f->store, &f->config, &root, &error));
  g_assert_nonnull (error);
  assert_message_has (error, word);
  eh_ca_identity_clear (&root);
  g_assert_cmpint (eh_test_query_int (f->store, "SELECT count(*) FROM ca_certificates WHERE kind = 'root'"),
                   ==, 1);
}

static void
write_key (const char *path, const char *pem, int mode)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (eh_file_replace (path, pem, strlen (pem), mode, &error));
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (path, mode));
}

static void
test_root_refuses_new_root (Fixture *f, gconstpointer data)
{
  g_autofree char *key_path = g_build_filename (f->ca_dir, "root-key.pem", NULL);
  g_autofree char *key_pem = NULL;
  g_autofree char *fingerprint = NULL;
  g_auto (gnutls_x509_privkey_t) other = new_key (EH_KEY_ECDSA_P256);
  char *other_pem;

  load_root (f);
  fingerprint = g_strdup (f->root.fingerprint);
  g_assert_true (g_file_get_contents (key_path, &key_pem, NULL, NULL));
  eh_ca_identity_clear (&f->root);

  g_assert_no_errno (g_unlink (key_path));
  assert_root_refused (f, "never made again");
  g_assert_false (g_file_test (key_path, G_FILE_TEST_EXISTS));

  write_key (key_path, key_pem, 0644);
  assert_root_refused (f, "never made again");

  other_pem = eh_crypto_key_to_pem (other, NULL);
  write_key (key_path, other_pem, 0600);
  eh_crypto_free_secret (other_pem);
  assert_root_refused (f, "does not belong");

  /* the right key again: the same root */
  write_key (key_path, key_pem, 0600);
  load_root (f);
  g_assert_cmpstr (f->root.fingerprint, ==, fingerprint);
  gnutls_memset (key_pem, 0, strlen (key_pem));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/ca/serial/shape", test_serial_shape);
  g_test_add_func ("/eh/ca/serial/normalize", test_serial_normalize);
  g_test_add_func ("/eh/ca/names", test_names);
  g_test_add_func ("/eh/ca/names/count", test_names_count);
  g_test_add_func ("/eh/ca/roles", test_roles);
  g_test_add_func ("/eh/ca/csr", test_csr);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/eh/ca/issue/unique-10000", test_issue_unique);
  ADD ("/eh/ca/issue/batch", test_issue_batch);
  ADD ("/eh/ca/join/once", test_join_once);
  ADD ("/eh/ca/join/refusals", test_join_refusals);
  ADD ("/eh/ca/join/expired-revoked", test_join_expired_revoked);
  ADD ("/eh/ca/join/create-bounds", test_join_create_bounds);
  ADD ("/eh/ca/records/abandoned", test_records_abandoned);
  ADD ("/eh/ca/publish", test_publish);
  ADD ("/eh/ca/root/refuses-new-root", test_root_refuses_new_root);
#undef ADD
  return g_test_run ();
}
