/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/pkcs11.h>

#include "eh-crypto.h"
#include "eh-error.h"

#define EH_CRYPTO_MAX_CHAIN       16
#define EH_CRYPTO_SHA256_LEN      32
#define EH_CRYPTO_FINGERPRINT_TAG "sha256:"
#define EH_CRYPTO_MAX_KEY_FILE    (64 * 1024)
#define EH_CRYPTO_PKCS11_SCHEME   "pkcs11:"
#define EH_CRYPTO_PIN_VALUE       "pin-value="

static const struct {
  EhKeyType type;
  const char *name;
  gnutls_pk_algorithm_t algorithm;
  unsigned int bits;
} eh_key_types[] = {
  { EH_KEY_ECDSA_P256, "ecdsa-p256", GNUTLS_PK_ECDSA,
    GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1) },
  { EH_KEY_RSA_2048, "rsa-2048", GNUTLS_PK_RSA, 2048 },
  { EH_KEY_RSA_3072, "rsa-3072", GNUTLS_PK_RSA, 3072 },
  { EH_KEY_ED25519, "ed25519", GNUTLS_PK_EDDSA_ED25519,
    GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519) },
};

gboolean
eh_key_type_from_string (const char *name, EhKeyType *type, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_key_types); i++) {
    if (g_strcmp0 (name, eh_key_types[i].name) == 0) {
      *type = eh_key_types[i].type;
      return TRUE;
    }
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
               "unknown key type \"%s\" (known: ecdsa-p256, rsa-2048, rsa-3072, ed25519)",
               name != NULL ? name : "");
  return FALSE;
}

const char *
eh_key_type_to_string (EhKeyType type)
{
  for (guint i = 0; i < G_N_ELEMENTS (eh_key_types); i++) {
    if (eh_key_types[i].type == type)
      return eh_key_types[i].name;
  }
  return NULL;
}

/* a GnuTLS return code as a GError; TRUE when it is not an error */
static gboolean
eh_crypto_check (int rc, const char *what, GError **error)
{
  if (rc >= 0)
    return TRUE;
  g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "%s: %s", what, gnutls_strerror (rc));
  return FALSE;
}

gnutls_x509_privkey_t
eh_crypto_generate_key (EhKeyType type, GError **error)
{
  g_auto (gnutls_x509_privkey_t) key = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (eh_key_types); i++) {
    if (eh_key_types[i].type != type)
      continue;
    if (!eh_crypto_check (gnutls_x509_privkey_init (&key), "cannot create a key", error) ||
        !eh_crypto_check (gnutls_x509_privkey_generate2 (key, eh_key_types[i].algorithm,
                                                         eh_key_types[i].bits, 0, NULL, 0),
                          "key generation failed", error))
      return NULL;
    return g_steal_pointer (&key);
  }
  g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "unknown key type %d", (int) type);
  return NULL;
}

void
eh_crypto_free_secret (char *secret)
{
  if (secret == NULL)
    return;
  gnutls_memset (secret, 0, strlen (secret));
  g_free (secret);
}

/* a GnuTLS export as a NUL-terminated GLib string; the export is wiped */
static char *
eh_crypto_take_datum (gnutls_datum_t *datum)
{
  char *text = g_strndup ((const char *) datum->data, datum->size);

  gnutls_memset (datum->data, 0, datum->size);
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
  return text;
}

char *
eh_crypto_key_to_pem (gnutls_x509_privkey_t key, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };

  g_return_val_if_fail (key != NULL, NULL);

  if (!eh_crypto_check (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                            GNUTLS_PKCS_PLAIN, &out),
                        "cannot export the private key", error))
    return NULL;
  return eh_crypto_take_datum (&out);
}

gnutls_x509_privkey_t
eh_crypto_key_from_pem (const char *pem, gsize len, GError **error)
{
  g_auto (gnutls_x509_privkey_t) key = NULL;
  gnutls_datum_t in = { (unsigned char *) pem, len };

  if (pem == NULL || len == 0 || len > G_MAXUINT) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "no private key given");
    return NULL;
  }
  if (!eh_crypto_check (gnutls_x509_privkey_init (&key), "cannot create a key", error))
    return NULL;
  /* no password: an encrypted key is refused, not prompted for */
  if (gnutls_x509_privkey_import2 (key, &in, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "no readable unencrypted private key in the PEM text");
    return NULL;
  }
  return g_steal_pointer (&key);
}

char *
eh_crypto_cert_to_pem (gnutls_x509_crt_t cert, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };

  g_return_val_if_fail (cert != NULL, NULL);

  if (!eh_crypto_check (gnutls_x509_crt_export2 (cert, GNUTLS_X509_FMT_PEM, &out),
                        "cannot export the certificate", error))
    return NULL;
  return eh_crypto_take_datum (&out);
}

GBytes *
eh_crypto_cert_to_der (gnutls_x509_crt_t cert, GError **error)
{
  gnutls_datum_t out = { NULL, 0 };
  GBytes *der;

  g_return_val_if_fail (cert != NULL, NULL);

  if (!eh_crypto_check (gnutls_x509_crt_export2 (cert, GNUTLS_X509_FMT_DER, &out),
                        "cannot export the certificate", error))
    return NULL;
  der = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  return der;
}

static gnutls_x509_crt_t
eh_crypto_cert_import (const void *data, gsize len, gnutls_x509_crt_fmt_t format, GError **error)
{
  g_auto (gnutls_x509_crt_t) cert = NULL;
  gnutls_datum_t in = { (unsigned char *) data, len };

  if (data == NULL || len == 0 || len > G_MAXUINT) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "no certificate given");
    return NULL;
  }
  if (!eh_crypto_check (gnutls_x509_crt_init (&cert), "cannot create a certificate", error))
    return NULL;
  if (gnutls_x509_crt_import (cert, &in, format) < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "not a readable %s certificate",
                 format == GNUTLS_X509_FMT_PEM ? "PEM" : "DER");
    return NULL;
  }
  return g_steal_pointer (&cert);
}

gnutls_x509_crt_t
eh_crypto_cert_from_pem (const char *pem, gsize len, GError **error)
{
  return eh_crypto_cert_import (pem, len, GNUTLS_X509_FMT_PEM, error);
}

gnutls_x509_crt_t
eh_crypto_cert_from_der (GBytes *der, GError **error)
{
  gsize len = 0;
  const void *data = der != NULL ? g_bytes_get_data (der, &len) : NULL;

  return eh_crypto_cert_import (data, len, GNUTLS_X509_FMT_DER, error);
}

gnutls_x509_crt_t *
eh_crypto_chain_from_pem (const char *pem, gsize len, guint *n_certs, GError **error)
{
  /* room for one more than allowed, to tell "too many" from "just enough" */
  g_autofree gnutls_x509_crt_t *chain = g_new0 (gnutls_x509_crt_t, EH_CRYPTO_MAX_CHAIN + 1);
  unsigned int count = EH_CRYPTO_MAX_CHAIN + 1;
  gnutls_datum_t in = { (unsigned char *) pem, len };
  int rc;

  g_return_val_if_fail (n_certs != NULL, NULL);

  *n_certs = 0;
  if (pem == NULL || len == 0 || len > G_MAXUINT) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "no certificate chain given");
    return NULL;
  }
  /* no sorting flag: the order in the file is the order that is sent */
  rc = gnutls_x509_crt_list_import (chain, &count, &in, GNUTLS_X509_FMT_PEM, 0);
  if (rc <= 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "no readable PEM certificate chain");
    return NULL;
  }
  if (rc > EH_CRYPTO_MAX_CHAIN) {
    for (int i = 0; i < rc; i++)
      gnutls_x509_crt_deinit (chain[i]);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "the chain has more than %u certificates", EH_CRYPTO_MAX_CHAIN);
    return NULL;
  }
  *n_certs = rc;
  return g_steal_pointer (&chain);
}

void
eh_crypto_chain_free (gnutls_x509_crt_t *chain, guint n_certs)
{
  if (chain == NULL)
    return;
  for (guint i = 0; i < n_certs; i++)
    gnutls_x509_crt_deinit (chain[i]);
  g_free (chain);
}

char *
eh_crypto_cert_fingerprint (gnutls_x509_crt_t cert, GError **error)
{
  guint8 digest[EH_CRYPTO_SHA256_LEN];
  size_t size = sizeof digest;
  GString *text;

  g_return_val_if_fail (cert != NULL, NULL);

  if (!eh_crypto_check (gnutls_x509_crt_get_fingerprint (cert, GNUTLS_DIG_SHA256, digest, &size),
                        "cannot hash the certificate", error))
    return NULL;
  text = g_string_new (EH_CRYPTO_FINGERPRINT_TAG);
  for (gsize i = 0; i < size; i++)
    g_string_append_printf (text, "%02x", digest[i]);
  return g_string_free (text, FALSE);
}

gboolean
eh_crypto_parse_fingerprint (const char *text, guint8 out[32], GError **error)
{
  const gsize tag_len = strlen (EH_CRYPTO_FINGERPRINT_TAG);
  guint8 digest[EH_CRYPTO_SHA256_LEN];
  const char *hex;
  gsize len;
  gboolean colons;

  if (text == NULL || g_ascii_strncasecmp (text, EH_CRYPTO_FINGERPRINT_TAG, tag_len) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a fingerprint starts with \"sha256:\"");
    return FALSE;
  }
  hex = text + tag_len;
  len = strlen (hex);
  /* either 64 digits, or 32 pairs with one ':' between each two */
  colons = len == 3 * EH_CRYPTO_SHA256_LEN - 1;
  if (len != 2 * EH_CRYPTO_SHA256_LEN && !colons) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "a SHA-256 fingerprint has 64 hex digits");
    return FALSE;
  }
  for (guint i = 0; i < EH_CRYPTO_SHA256_LEN; i++) {
    const char *at = hex + i * (colons ? 3 : 2);

    if ((colons && i > 0 && at[-1] != ':') || !g_ascii_isxdigit (at[0]) ||
        !g_ascii_isxdigit (at[1])) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "a fingerprint has only hex digits, optionally with ':' between bytes");
      return FALSE;
    }
    digest[i] = g_ascii_xdigit_value (at[0]) << 4 | g_ascii_xdigit_value (at[1]);
  }
  memcpy (out, digest, sizeof digest);
  return TRUE;
}

gboolean
eh_crypto_key_matches_cert (gnutls_x509_privkey_t key, gnutls_x509_crt_t cert, GError **error)
{
  guint8 key_id[EH_CRYPTO_SHA256_LEN];
  guint8 cert_id[EH_CRYPTO_SHA256_LEN];
  size_t key_len = sizeof key_id;
  size_t cert_len = sizeof cert_id;

  g_return_val_if_fail (key != NULL && cert != NULL, FALSE);

  if (!eh_crypto_check (gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id,
                                                        &key_len),
                        "cannot read the private key's id", error) ||
      !eh_crypto_check (gnutls_x509_crt_get_key_id (cert, GNUTLS_KEYID_USE_SHA256, cert_id,
                                                    &cert_len),
                        "cannot read the certificate's key id", error))
    return FALSE;
  if (key_len != cert_len || memcmp (key_id, cert_id, key_len) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO,
                 "the private key does not belong to the certificate");
    return FALSE;
  }
  return TRUE;
}

/* PKCS#11 modules registered so far, by path; GnuTLS's provider list is not thread-safe */
static GMutex eh_crypto_pkcs11_lock;
static GHashTable *eh_crypto_pkcs11_modules;

gboolean
eh_crypto_pkcs11_add_module (const char *module_path, GError **error)
{
  g_autoptr (GMutexLocker) locker = NULL;
  int rc;

  if (module_path == NULL || *module_path == '\0') {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "no PKCS#11 module path given");
    return FALSE;
  }
  locker = g_mutex_locker_new (&eh_crypto_pkcs11_lock);
  if (eh_crypto_pkcs11_modules == NULL) {
    /* manual: only the modules named here, never the system's p11-kit list */
    rc = gnutls_pkcs11_init (GNUTLS_PKCS11_FLAG_MANUAL, NULL);
    if (rc < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot initialize PKCS#11 support: %s",
                   gnutls_strerror (rc));
      return FALSE;
    }
    eh_crypto_pkcs11_modules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  }
  if (g_hash_table_contains (eh_crypto_pkcs11_modules, module_path))
    return TRUE;
  /* a bare name is p11-kit's to find in its module directory */
  if (g_path_is_absolute (module_path) && !g_file_test (module_path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "PKCS#11 module %s: no such file",
                 module_path);
    return FALSE;
  }
  rc = gnutls_pkcs11_add_provider (module_path, NULL);
  if (rc < 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot load the PKCS#11 module %s: %s",
                 module_path, gnutls_strerror (rc));
    return FALSE;
  }
  g_hash_table_add (eh_crypto_pkcs11_modules, g_strdup (module_path));
  g_debug ("PKCS#11 module %s loaded", module_path);
  return TRUE;
}

static gboolean
eh_crypto_pkcs11_have_modules (void)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&eh_crypto_pkcs11_lock);

  return eh_crypto_pkcs11_modules != NULL && g_hash_table_size (eh_crypto_pkcs11_modules) > 0;
}

gboolean
eh_crypto_location_is_pkcs11 (const char *location)
{
  return location != NULL &&
         g_ascii_strncasecmp (location, EH_CRYPTO_PKCS11_SCHEME,
                              strlen (EH_CRYPTO_PKCS11_SCHEME)) == 0;
}

/*
 * @location fit for a message: in a PKCS#11 URI each pin-value attribute
 * loses its value, and so does any stray piece after it without an '=',
 * which can only be more of a PIN with a separator in it
 */
static char *
eh_crypto_location_for_message (const char *location)
{
  const gsize scheme_len = strlen (EH_CRYPTO_PKCS11_SCHEME);
  const gsize tag_len = strlen (EH_CRYPTO_PIN_VALUE);
  gboolean after_pin = FALSE;
  GString *text;
  const char *at;

  if (!eh_crypto_location_is_pkcs11 (location))
    return g_strdup (location);
  text = g_string_new_len (location, scheme_len);
  at = location + scheme_len;
  while (*at != '\0') {
    gsize len = strcspn (at, ";?&");

    if (len >= tag_len && g_ascii_strncasecmp (at, EH_CRYPTO_PIN_VALUE, tag_len) == 0) {
      g_string_append (text, EH_CRYPTO_PIN_VALUE "(hidden)");
      after_pin = TRUE;
    } else if (after_pin && memchr (at, '=', len) == NULL) {
      g_string_append (text, "(hidden)");
    } else {
      g_string_append_len (text, at, len);
      after_pin = FALSE;
    }
    at += len;
    if (*at != '\0')
      g_string_append_c (text, *at++);
  }
  return g_string_free (text, FALSE);
}

/* the text of a secret buffer gone: wiped over its whole allocation, then freed */
static void
eh_crypto_wipe (char *buffer, gsize size)
{
  gnutls_memset (buffer, 0, size);
  g_free (buffer);
}

/* a secret file's whole text, NUL-terminated (so eh_crypto_free_secret() wipes it all) */
static char *
eh_crypto_read_secret (int fd, const char *name, gsize *len_out, GError **error)
{
  const gsize size = EH_CRYPTO_MAX_KEY_FILE + 1;
  char *buffer = g_malloc0 (size + 1);
  gsize len = 0;

  while (len < size) {
    gssize n = read (fd, buffer + len, size - len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;

      eh_crypto_wipe (buffer, size + 1);
      g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "private key file %s: %s", name,
                   g_strerror (saved));
      return NULL;
    }
    if (n == 0)
      break;
    len += n;
  }
  if (len > EH_CRYPTO_MAX_KEY_FILE || memchr (buffer, '\0', len) != NULL) {
    eh_crypto_wipe (buffer, size + 1);
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "private key file %s is not a PEM text of at most %u bytes", name,
                 EH_CRYPTO_MAX_KEY_FILE);
    return NULL;
  }
  *len_out = len;
  return buffer;
}

/* a file a private key may be read from: regular, no access for group or others */
static gboolean
eh_crypto_check_key_file (int fd, const char *name, GError **error)
{
  struct stat st;

  if (fstat (fd, &st) < 0) {
    int saved = errno;

    g_set_error (error, EH_ERROR, EH_ERROR_FAILED, "private key file %s: %s", name,
                 g_strerror (saved));
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "private key file %s is not a regular file", name);
    return FALSE;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                 "private key file %s is accessible by group or others (mode %04o); "
                 "make it 0600 or stricter",
                 name, (unsigned int) (st.st_mode & 07777));
    return FALSE;
  }
  return TRUE;
}

static gnutls_privkey_t
eh_crypto_privkey_open_file (const char *path, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_auto (gnutls_x509_privkey_t) x509 = NULL;
  g_auto (gnutls_privkey_t) key = NULL;
  char *pem;
  gsize len = 0;
  int fd;

  /* non-blocking, so a FIFO in the key's place cannot stall the open */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int saved = errno;
    GFileError code = g_file_error_from_errno (saved);

    g_set_error (error, EH_ERROR,
                 code == G_FILE_ERROR_NOENT   ? EH_ERROR_NOT_FOUND
                 : code == G_FILE_ERROR_ACCES ? EH_ERROR_PERMISSION_DENIED
                                              : EH_ERROR_FAILED,
                 "private key file %s: %s", path, g_strerror (saved));
    return NULL;
  }
  pem = eh_crypto_check_key_file (fd, path, error) ? eh_crypto_read_secret (fd, path, &len, error)
                                                   : NULL;
  close (fd);
  if (pem == NULL)
    return NULL;
  x509 = eh_crypto_key_from_pem (pem, len, &local_error);
  eh_crypto_free_secret (pem);
  if (x509 == NULL) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "private key file %s: ",
                                path);
    return NULL;
  }
  if (!eh_crypto_check (gnutls_privkey_init (&key), "cannot create a key", error) ||
      !eh_crypto_check (gnutls_privkey_import_x509 (key, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE),
                        "cannot use the private key", error))
    return NULL;
  x509 = NULL; /* the key owns it now */
  return g_steal_pointer (&key);
}

/* never a prompt: a PIN not in the URI is no PIN at all */
static int
eh_crypto_refuse_pin (void *userdata, int attempt, const char *token_url, const char *token_label,
                      unsigned int flags, char *pin, size_t pin_max)
{
  g_debug ("PKCS#11 token \"%s\" wants a PIN the key URI does not give",
           token_label != NULL ? token_label : "");
  return -1;
}

/* why a PKCS#11 key did not open, in the caller's terms */
static void
eh_crypto_set_pkcs11_error (int rc, const char *location, GError **error)
{
  g_autofree char *shown = eh_crypto_location_for_message (location);

  switch (rc) {
  case GNUTLS_E_PARSING_ERROR:
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "malformed PKCS#11 URI %s (%s)",
                 shown, gnutls_strerror (rc));
    break;
  case GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE:
  case GNUTLS_E_PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE:
    g_set_error (error, EH_ERROR, EH_ERROR_NOT_FOUND,
                 "no private key matches %s in the registered PKCS#11 tokens", shown);
    break;
  case GNUTLS_E_PKCS11_PIN_ERROR:
  case GNUTLS_E_PKCS11_PIN_EXPIRED:
  case GNUTLS_E_PKCS11_PIN_LOCKED:
    /* GnuTLS takes pin-value first, then pin-source */
    if (strstr (location, EH_CRYPTO_PIN_VALUE) != NULL)
      g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                   "the token refused the PIN for %s (%s)", shown, gnutls_strerror (rc));
    else if (strstr (location, "pin-source=") != NULL)
      g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                   "no PIN from pin-source was accepted for %s: the token refused it, or "
                   "the file is unreadable (it holds the PIN alone, without a newline)",
                   shown);
    else
      g_set_error (error, EH_ERROR, EH_ERROR_PERMISSION_DENIED,
                   "the token needs a PIN for %s: add pin-source= or pin-value= to the URI",
                   shown);
    break;
  default:
    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO, "cannot open the PKCS#11 key %s: %s", shown,
                 gnutls_strerror (rc));
  }
}

static gnutls_privkey_t
eh_crypto_privkey_open_pkcs11 (const char *uri, GError **error)
{
  g_auto (gnutls_privkey_t) key = NULL;
  char *lower;
  int rc;

  if (!eh_crypto_pkcs11_have_modules ()) {
    g_autofree char *shown = eh_crypto_location_for_message (uri);

    g_set_error (error, EH_ERROR, EH_ERROR_CRYPTO,
                 "cannot open %s: no PKCS#11 module is registered", shown);
    return NULL;
  }
  if (!eh_crypto_check (gnutls_privkey_init (&key), "cannot create a key", error))
    return NULL;
  /* set before the import: the key keeps it for every later login */
  gnutls_privkey_set_pin_function (key, eh_crypto_refuse_pin, NULL);
  /* p11-kit wants the scheme in lower case, RFC 3986 allows any; the copy may hold the PIN */
  lower = g_strconcat (EH_CRYPTO_PKCS11_SCHEME, uri + strlen (EH_CRYPTO_PKCS11_SCHEME), NULL);
  rc = gnutls_privkey_import_url (key, lower, 0);
  eh_crypto_free_secret (lower);
  if (rc < 0) {
    eh_crypto_set_pkcs11_error (rc, uri, error);
    return NULL;
  }
  return g_steal_pointer (&key);
}

gnutls_privkey_t
eh_crypto_privkey_open (const char *location, GError **error)
{
  if (location == NULL || *location == '\0') {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "no private key location given");
    return NULL;
  }
  if (eh_crypto_location_is_pkcs11 (location))
    return eh_crypto_privkey_open_pkcs11 (location, error);
  return eh_crypto_privkey_open_file (location, error);
}

gnutls_pubkey_t
eh_crypto_privkey_get_pubkey (gnutls_privkey_t key, GError **error)
{
  g_auto (gnutls_pubkey_t) pubkey = NULL;

  g_return_val_if_fail (key != NULL, NULL);

  if (!eh_crypto_check (gnutls_pubkey_init (&pubkey), "cannot create a public key", error) ||
      !eh_crypto_check (gnutls_pubkey_import_privkey (pubkey, key, 0, 0),
                        "cannot read the public key of the private key", error))
    return NULL;
  return g_steal_pointer (&pubkey);
}

void
eh_crypto_sha256 (const void *data, gsize len, guint8 out[32])
{
  g_autoptr (GChecksum) checksum = NULL;
  gsize size = EH_CRYPTO_SHA256_LEN;

  /* nettle's SHA-256 (SHA-NI where the CPU has it) is several times GLib's: this hash runs on
   * every content token a DP receives */
  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, data, len, out) == 0)
    return;
  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, data, len);
  g_checksum_get_digest (checksum, out, &size);
}

static const char eh_base64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
eh_base64url_encode (const void *data, gsize len)
{
  const guint8 *in = data;
  GString *out = g_string_sized_new (len / 3 * 4 + 4);

  for (gsize i = 0; i < len; i += 3) {
    gsize left = len - i;
    guint32 group = (guint32) in[i] << 16;

    if (left > 1)
      group |= (guint32) in[i + 1] << 8;
    if (left > 2)
      group |= in[i + 2];
    /* n input bytes give n + 1 characters; no padding */
    for (gsize c = 0; c < MIN (left, 3) + 1; c++)
      g_string_append_c (out, eh_base64url_alphabet[(group >> (18 - 6 * c)) & 0x3f]);
  }
  return g_string_free (out, FALSE);
}

static int
eh_base64url_value (guchar c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

GBytes *
eh_base64url_decode (const char *text, gsize text_len, gsize max_len, GError **error)
{
  g_autoptr (GByteArray) out = NULL;
  guint32 group = 0;
  guint bits = 0;

  if (text_len > max_len) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "base64url text longer than %" G_GSIZE_FORMAT " characters", max_len);
    return NULL;
  }
  /* one character alone cannot hold a byte */
  if (text_len % 4 == 1) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "base64url text has a bad length");
    return NULL;
  }
  out = g_byte_array_sized_new (text_len / 4 * 3 + 2);
  for (gsize i = 0; i < text_len; i++) {
    int value = eh_base64url_value (text[i]);
    guint8 byte;

    if (value < 0) {
      g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                   "base64url text has a character outside [A-Za-z0-9_-]");
      return NULL;
    }
    group = (group << 6 | value) & 0xffffff;
    bits += 6;
    if (bits < 8)
      continue;
    bits -= 8;
    byte = group >> bits;
    g_byte_array_append (out, &byte, 1);
  }
  /* canonical only: the bits the last character carries beyond the data are zero */
  if ((group & ((1u << bits) - 1)) != 0) {
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT,
                 "base64url text is not canonical (non-zero trailing bits)");
    return NULL;
  }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
