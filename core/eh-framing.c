/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-error.h"
#include "eh-framing.h"

#define EH_FRAMING_MAX_METHOD 32
#define EH_FRAMING_MAX_CHUNK_EXT 256
#define EH_FRAMING_MAX_CONTENT_LENGTH (G_GUINT64_CONSTANT (1) << 62)

typedef enum {
  EH_CHUNK_SIZE,
  EH_CHUNK_EXT,
  EH_CHUNK_SIZE_LF,
  EH_CHUNK_DATA,
  EH_CHUNK_DATA_CR,
  EH_CHUNK_DATA_LF,
  EH_CHUNK_TRAILER_START,
  EH_CHUNK_TRAILER_NAME,
  EH_CHUNK_TRAILER_VALUE,
  EH_CHUNK_TRAILER_LF,
  EH_CHUNK_FINAL_LF,
} EhChunkState;

struct _EhFraming {
  EhFramingLimits limits;
  EhFramingBodyCapFunc body_cap;
  gpointer user_data;
  EhFramingState state;
  gsize scanned; /* bytes of the current head already searched for its end */
  guint64 body_left;
  guint64 cap;
  guint64 total;
  EhChunkState chunk;
  guint64 chunk_left;
  guint digits;
  gsize ext_len;
  gsize trailer_len;
  guint64 requests;
  guint status;
  char *reason;
};

/* what a parsed head says about the body that follows */
typedef struct {
  gboolean http10;
  gboolean has_host;
  gboolean has_length;
  gboolean chunked;
  guint64 length;
  char *method;
  char *path;
} EhHead;

EhFraming *
eh_framing_new (const EhFramingLimits *limits, EhFramingBodyCapFunc body_cap, gpointer user_data)
{
  EhFraming *framing = g_new0 (EhFraming, 1);

  framing->limits = *limits;
  framing->body_cap = body_cap;
  framing->user_data = user_data;
  framing->state = EH_FRAMING_STATE_IDLE;
  return framing;
}

void
eh_framing_free (EhFraming *framing)
{
  if (framing == NULL)
    return;
  g_free (framing->reason);
  g_free (framing);
}

EhFramingState
eh_framing_get_state (EhFraming *framing)
{
  return framing->state;
}

guint64
eh_framing_get_request_count (EhFraming *framing)
{
  return framing->requests;
}

static gboolean
eh_framing_fail (EhFraming *framing, guint status, char *reason)
{
  framing->state = EH_FRAMING_STATE_FAILED;
  framing->status = status;
  g_free (framing->reason);
  framing->reason = reason;
  return FALSE;
}

static gssize
eh_framing_refuse (EhFraming *framing, guint status, char *reason)
{
  eh_framing_fail (framing, status, reason);
  return -1;
}

/* RFC 9110 tchar */
static gboolean
eh_framing_is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-value octets: HTAB, SP, VCHAR, obs-text; never other controls */
static gboolean
eh_framing_is_value_octet (guchar c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static gboolean
eh_framing_token_is (const guchar *text, gsize len, const char *word)
{
  return len == strlen (word) && g_ascii_strncasecmp ((const char *) text, word, len) == 0;
}

/* an over-long URI is 414 even while the head is still arriving */
static gboolean
eh_framing_check_partial_line (EhFraming *framing, const guchar *data, gsize len)
{
  const guchar *space = memchr (data, ' ', MIN (len, EH_FRAMING_MAX_METHOD + 1));
  const guchar *target, *target_end;

  if (space == NULL) {
    if (len <= EH_FRAMING_MAX_METHOD)
      return TRUE;
    return eh_framing_fail (framing, 400, g_strdup ("request method missing or too long"));
  }
  target = space + 1;
  target_end = memchr (target, ' ', data + len - target);
  if (target_end == NULL)
    target_end = memchr (target, '\r', data + len - target);
  if (target_end == NULL)
    target_end = data + len;
  if ((gsize) (target_end - target) > framing->limits.max_uri_bytes)
    return eh_framing_fail (framing, 414, g_strdup ("request target too long"));
  return TRUE;
}

static char *
eh_framing_path_of (const guchar *target, gsize len)
{
  const guchar *query;
  gsize skip = 0;

  /* absolute-form: the path starts after the authority */
  if (len > 7 && g_ascii_strncasecmp ((const char *) target, "http", 4) == 0) {
    const guchar *authority = memchr (target, ':', len);
    const guchar *slash = authority != NULL && authority + 3 < target + len
                              ? memchr (authority + 3, '/', target + len - authority - 3)
                              : NULL;

    if (slash == NULL)
      return g_strdup ("/");
    skip = slash - target;
  }
  query = memchr (target + skip, '?', len - skip);
  return g_strndup ((const char *) target + skip, (query != NULL ? (gsize) (query - target) : len) - skip);
}

static gboolean
eh_framing_parse_request_line (EhFraming *framing, const guchar *line, gsize len, EhHead *head)
{
  const guchar *sp1 = memchr (line, ' ', len);
  const guchar *sp2 = sp1 != NULL ? memchr (sp1 + 1, ' ', line + len - sp1 - 1) : NULL;
  gsize method_len, target_len, version_len;
  const guchar *target, *version;

  if (sp1 == NULL || sp2 == NULL)
    return eh_framing_fail (framing, 400, g_strdup ("malformed request line"));
  method_len = sp1 - line;
  target = sp1 + 1;
  target_len = sp2 - target;
  version = sp2 + 1;
  version_len = line + len - version;
  /* the version first: the HTTP/2 preface is a version question, not a bad target */
  if (version_len == 8 && memcmp (version, "HTTP/1.1", 8) == 0)
    head->http10 = FALSE;
  else if (version_len == 8 && memcmp (version, "HTTP/1.0", 8) == 0)
    head->http10 = TRUE;
  else if (version_len >= 5 && memcmp (version, "HTTP/", 5) == 0)
    return eh_framing_fail (framing, 505, g_strdup ("only HTTP/1.0 and HTTP/1.1 are served"));
  else
    return eh_framing_fail (framing, 400, g_strdup ("malformed HTTP version"));
  for (gsize i = 0; i < method_len; i++) {
    if (!eh_framing_is_tchar (line[i]))
      return eh_framing_fail (framing, 400, g_strdup ("malformed request method"));
  }
  if (method_len == 0 || method_len > EH_FRAMING_MAX_METHOD)
    return eh_framing_fail (framing, 400, g_strdup ("malformed request method"));
  if (target_len > framing->limits.max_uri_bytes)
    return eh_framing_fail (framing, 414, g_strdup ("request target too long"));
  for (gsize i = 0; i < target_len; i++) {
    if (target[i] <= 0x20 || target[i] >= 0x7f)
      return eh_framing_fail (framing, 400, g_strdup ("request target has a forbidden byte"));
  }
  if (target_len == 0 ||
      !(target[0] == '/' || (target_len == 1 && target[0] == '*' && eh_framing_token_is (line, method_len, "OPTIONS")) ||
        (target_len > 7 && g_ascii_strncasecmp ((const char *) target, "http://", 7) == 0) ||
        (target_len > 8 && g_ascii_strncasecmp ((const char *) target, "https://", 8) == 0)))
    return eh_framing_fail (framing, 400, g_strdup ("malformed request target"));
  head->method = g_strndup ((const char *) line, method_len);
  head->path = eh_framing_path_of (target, target_len);
  return TRUE;
}

static gboolean
eh_framing_parse_content_length (EhFraming *framing, const guchar *value, gsize len, EhHead *head)
{
  guint64 number = 0;

  if (head->has_length)
    return eh_framing_fail (framing, 400, g_strdup ("duplicate Content-Length"));
  if (len == 0 || len > 19)
    return eh_framing_fail (framing, 400, g_strdup ("invalid Content-Length"));
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit (value[i]))
      return eh_framing_fail (framing, 400, g_strdup ("invalid Content-Length"));
    number = number * 10 + (value[i] - '0');
  }
  if (number > EH_FRAMING_MAX_CONTENT_LENGTH)
    return eh_framing_fail (framing, 400, g_strdup ("invalid Content-Length"));
  head->has_length = TRUE;
  head->length = number;
  return TRUE;
}

static gboolean
eh_framing_parse_field (EhFraming *framing, const guchar *line, gsize len, EhHead *head)
{
  const guchar *colon = memchr (line, ':', len);
  const guchar *value, *end;
  gsize name_len;

  if (line[0] == ' ' || line[0] == '\t')
    return eh_framing_fail (framing, 400, g_strdup ("obsolete line folding"));
  if (colon == NULL)
    return eh_framing_fail (framing, 400, g_strdup ("header line without a colon"));
  name_len = colon - line;
  if (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
    return eh_framing_fail (framing, 400, g_strdup ("whitespace before a header colon"));
  for (gsize i = 0; i < name_len; i++) {
    if (!eh_framing_is_tchar (line[i]))
      return eh_framing_fail (framing, 400, g_strdup ("malformed header name"));
  }
  if (name_len == 0)
    return eh_framing_fail (framing, 400, g_strdup ("empty header name"));
  value = colon + 1;
  end = line + len;
  for (const guchar *p = value; p < end; p++) {
    if (!eh_framing_is_value_octet (*p))
      return eh_framing_fail (framing, 400, g_strdup ("control character in a header value"));
  }
  while (value < end && (*value == ' ' || *value == '\t'))
    value++;
  while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  if (eh_framing_token_is (line, name_len, "Content-Length"))
    return eh_framing_parse_content_length (framing, value, end - value, head);
  if (eh_framing_token_is (line, name_len, "Transfer-Encoding")) {
    if (head->chunked)
      return eh_framing_fail (framing, 400, g_strdup ("duplicate Transfer-Encoding"));
    if (!eh_framing_token_is (value, end - value, "chunked"))
      return eh_framing_fail (framing, 400, g_strdup_printf ("Transfer-Encoding \"%.*s\" is not supported",
                                                             (int) MIN (end - value, 64), value));
    head->chunked = TRUE;
  } else if (eh_framing_token_is (line, name_len, "Host")) {
    if (head->has_host)
      return eh_framing_fail (framing, 400, g_strdup ("duplicate Host"));
    head->has_host = TRUE;
  }
  return TRUE;
}

static void
eh_head_clear (EhHead *head)
{
  g_free (head->method);
  g_free (head->path);
}

/* checks the whole head (ending in CRLF CRLF) and sets up the body's framing */
static gboolean
eh_framing_parse_head (EhFraming *framing, const guchar *data, gsize len)
{
  EhHead head = { 0 };
  const guchar *line = data;
  const guchar *end = data + len - 2; /* the final empty line */
  guint fields = 0;
  gboolean ok = TRUE;

  for (gsize i = 0; i < len; i++) {
    if ((data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) ||
        (data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n')))
      return eh_framing_fail (framing, 400, g_strdup ("bare CR or LF in the request head"));
  }
  while (ok && line < end) {
    const guchar *eol = memchr (line, '\r', end - line);

    if (line == data)
      ok = eh_framing_parse_request_line (framing, line, eol - line, &head);
    else if (++fields > framing->limits.max_header_count)
      ok = eh_framing_fail (framing, 431, g_strdup ("too many header fields"));
    else
      ok = eh_framing_parse_field (framing, line, eol - line, &head);
    line = eol + 2;
  }
  if (ok && !head.http10 && !head.has_host)
    ok = eh_framing_fail (framing, 400, g_strdup ("HTTP/1.1 request without Host"));
  if (ok && head.has_length && head.chunked)
    ok = eh_framing_fail (framing, 400, g_strdup ("Content-Length together with Transfer-Encoding"));
  if (ok && head.http10 && head.chunked)
    ok = eh_framing_fail (framing, 400, g_strdup ("Transfer-Encoding in an HTTP/1.0 request"));
  if (ok) {
    framing->cap = framing->body_cap != NULL
                       ? framing->body_cap (head.method, head.path, framing->user_data)
                       : 0;
    if (head.has_length && head.length > framing->cap)
      ok = eh_framing_fail (framing, 413, g_strdup ("request body too large"));
  }
  if (ok) {
    framing->requests++;
    framing->total = 0;
    if (head.chunked) {
      framing->state = EH_FRAMING_STATE_CHUNKED;
      framing->chunk = EH_CHUNK_SIZE;
      framing->chunk_left = 0;
      framing->digits = 0;
    } else if (head.has_length && head.length > 0) {
      framing->state = EH_FRAMING_STATE_BODY;
      framing->body_left = head.length;
    } else {
      framing->state = EH_FRAMING_STATE_IDLE;
    }
  }
  eh_head_clear (&head);
  return ok;
}

/* the end of the head (after CRLF CRLF), or NULL; *bare_lf when a LF
 * without its CR shows up first, so such a head is refused at once */
static const guchar *
eh_framing_find_head_end (const guchar *data, gsize len, gsize from, gboolean *bare_lf)
{
  *bare_lf = FALSE;
  for (gsize i = from > 3 ? from - 3 : 0; i < len; i++) {
    if (data[i] != '\n')
      continue;
    if (i == 0 || data[i - 1] != '\r') {
      *bare_lf = TRUE;
      return NULL;
    }
    if (i >= 3 && data[i - 3] == '\r' && data[i - 2] == '\n')
      return data + i + 1;
  }
  return NULL;
}

/* consumes the head at @data if complete; returns bytes used, 0 when more is needed, -1 on refusal */
static gssize
eh_framing_feed_head (EhFraming *framing, const guchar *data, gsize len)
{
  gboolean bare_lf = FALSE;
  const guchar *end = eh_framing_find_head_end (data, len, framing->scanned, &bare_lf);

  framing->state = EH_FRAMING_STATE_HEAD;
  if (bare_lf)
    return eh_framing_refuse (framing, 400, g_strdup ("bare CR or LF in the request head"));
  if (!eh_framing_check_partial_line (framing, data, end != NULL ? (gsize) (end - data) : len))
    return -1;
  if (end == NULL) {
    if (len > framing->limits.max_head_bytes) {
      eh_framing_fail (framing, 431, g_strdup ("request head too large"));
      return -1;
    }
    framing->scanned = len;
    return 0;
  }
  framing->scanned = 0;
  if ((gsize) (end - data) > framing->limits.max_head_bytes) {
    eh_framing_fail (framing, 431, g_strdup ("request head too large"));
    return -1;
  }
  if (!eh_framing_parse_head (framing, data, end - data))
    return -1;
  return end - data;
}

static int
eh_framing_hex (guchar c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

/* one step of the chunked decoder over data[0..len); returns bytes used or -1 */
static gssize
eh_framing_feed_chunked (EhFraming *framing, const guchar *data, gsize len)
{
  guchar c = data[0];

  switch (framing->chunk) {
  case EH_CHUNK_SIZE:
    if (eh_framing_hex (c) >= 0) {
      if (++framing->digits > 16)
        return eh_framing_refuse (framing, 400, g_strdup ("chunk size too large"));
      framing->chunk_left = framing->chunk_left * 16 + eh_framing_hex (c);
    } else if (framing->digits > 0 && (c == ';' || c == '\r')) {
      framing->ext_len = 0;
      framing->chunk = c == ';' ? EH_CHUNK_EXT : EH_CHUNK_SIZE_LF;
    } else {
      return eh_framing_refuse (framing, 400, g_strdup ("malformed chunk size"));
    }
    return 1;
  case EH_CHUNK_EXT:
    if (c == '\r')
      framing->chunk = EH_CHUNK_SIZE_LF;
    else if (!eh_framing_is_value_octet (c) || ++framing->ext_len > EH_FRAMING_MAX_CHUNK_EXT)
      return eh_framing_refuse (framing, 400, g_strdup ("malformed chunk extension"));
    return 1;
  case EH_CHUNK_SIZE_LF:
    if (c != '\n')
      return eh_framing_refuse (framing, 400, g_strdup ("bare CR in chunked body"));
    if (framing->chunk_left > framing->cap - framing->total)
      return eh_framing_refuse (framing, 413, g_strdup ("request body too large"));
    framing->total += framing->chunk_left;
    framing->digits = 0;
    framing->trailer_len = 0;
    framing->chunk = framing->chunk_left == 0 ? EH_CHUNK_TRAILER_START : EH_CHUNK_DATA;
    return 1;
  case EH_CHUNK_DATA: {
    gsize n = MIN (framing->chunk_left, len);

    framing->chunk_left -= n;
    if (framing->chunk_left == 0)
      framing->chunk = EH_CHUNK_DATA_CR;
    return n;
  }
  case EH_CHUNK_DATA_CR:
    if (c != '\r')
      return eh_framing_refuse (framing, 400, g_strdup ("chunk data longer than its size"));
    framing->chunk = EH_CHUNK_DATA_LF;
    return 1;
  case EH_CHUNK_DATA_LF:
    if (c != '\n')
      return eh_framing_refuse (framing, 400, g_strdup ("bare CR in chunked body"));
    framing->chunk = EH_CHUNK_SIZE;
    return 1;
  case EH_CHUNK_TRAILER_START:
    if (c == '\r') {
      framing->chunk = EH_CHUNK_FINAL_LF;
      return 1;
    }
    if (!eh_framing_is_tchar (c))
      return eh_framing_refuse (framing, 400, g_strdup ("malformed trailer field"));
    framing->chunk = EH_CHUNK_TRAILER_NAME;
    break;
  case EH_CHUNK_TRAILER_NAME:
    if (c == ':')
      framing->chunk = EH_CHUNK_TRAILER_VALUE;
    else if (!eh_framing_is_tchar (c))
      return eh_framing_refuse (framing, 400, g_strdup ("malformed trailer field"));
    break;
  case EH_CHUNK_TRAILER_VALUE:
    if (c == '\r')
      framing->chunk = EH_CHUNK_TRAILER_LF;
    else if (!eh_framing_is_value_octet (c))
      return eh_framing_refuse (framing, 400, g_strdup ("control character in a trailer"));
    break;
  case EH_CHUNK_TRAILER_LF:
    if (c != '\n')
      return eh_framing_refuse (framing, 400, g_strdup ("bare CR in trailers"));
    framing->chunk = EH_CHUNK_TRAILER_START;
    break;
  case EH_CHUNK_FINAL_LF:
  default:
    if (c != '\n')
      return eh_framing_refuse (framing, 400, g_strdup ("bare CR after trailers"));
    framing->state = EH_FRAMING_STATE_IDLE;
    return 1;
  }
  /* trailer bytes count against the head limit */
  if (++framing->trailer_len > framing->limits.max_head_bytes)
    return eh_framing_refuse (framing, 431, g_strdup ("trailers too large"));
  return 1;
}

gssize
eh_framing_feed (EhFraming *framing, const guint8 *pending, gsize len, guint *status,
                 GError **error)
{
  gsize released = 0;

  while (framing->state != EH_FRAMING_STATE_FAILED && released < len) {
    gssize used;

    switch (framing->state) {
    case EH_FRAMING_STATE_IDLE:
    case EH_FRAMING_STATE_HEAD:
      used = eh_framing_feed_head (framing, pending + released, len - released);
      if (used == 0)
        return released;
      break;
    case EH_FRAMING_STATE_BODY:
      used = MIN (framing->body_left, len - released);
      framing->body_left -= used;
      if (framing->body_left == 0)
        framing->state = EH_FRAMING_STATE_IDLE;
      break;
    case EH_FRAMING_STATE_CHUNKED:
    default:
      used = eh_framing_feed_chunked (framing, pending + released, len - released);
      break;
    }
    if (used < 0)
      break;
    released += used;
  }
  if (framing->state == EH_FRAMING_STATE_FAILED) {
    if (status != NULL)
      *status = framing->status;
    g_set_error (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, "%s", framing->reason);
    return -1;
  }
  return released;
}
