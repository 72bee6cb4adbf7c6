/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "eh-error.h"
#include "eh-framing.h"

/*
 * How bytes are released: everything checked is released at once. A head goes
 * out whole, in the same return as the body bytes behind it (as far as its
 * framing reaches) and as any further complete requests, because the caller
 * only feeds again when new bytes arrive. Only an incomplete head is held
 * back, so what stays pending is never more than max_head_bytes. When a call
 * finds something to refuse, it releases nothing at all, not even valid
 * requests ahead of the refused one: that client gets only the refusal.
 *
 * Every decision is taken byte by byte (or on a line that is complete), so the
 * outcome does not depend on how the input was split into calls.
 */

/* Content-Length and chunk sizes beyond this are refused as malformed */
#define EH_FRAMING_MAX_BODY (G_GUINT64_CONSTANT (1) << 62)
#define EH_FRAMING_MAX_SIZE_DIGITS 16
/* libsoup reads chunk-size and trailer lines through a 128-byte buffer and
 * cuts longer ones into pieces; a piece that is just CRLF would end the body
 * early in its view, so no such line may be longer (CRLF included) */
#define EH_FRAMING_MAX_CHUNK_LINE 128
/* client bytes quoted in a refusal reason */
#define EH_FRAMING_MAX_QUOTE 64

typedef enum {
  EH_CHUNK_SIZE,            /* hex digits of a chunk size */
  EH_CHUNK_EXT_BWS,         /* whitespace that must lead to ';' */
  EH_CHUNK_EXT_NAME_START,  /* after ';' */
  EH_CHUNK_EXT_NAME,        /* inside an extension name */
  EH_CHUNK_EXT_NAME_BWS,    /* whitespace after a name: '=' or ';' must follow */
  EH_CHUNK_EXT_VALUE_START, /* after '=' */
  EH_CHUNK_EXT_TOKEN,       /* inside a token value */
  EH_CHUNK_EXT_QUOTED,      /* inside a quoted-string value */
  EH_CHUNK_EXT_QUOTED_PAIR, /* after a backslash in a quoted-string */
  EH_CHUNK_EXT_QUOTED_END,  /* after the closing quote */
  EH_CHUNK_SIZE_LF,         /* CR seen at the end of a chunk-size line */
  EH_CHUNK_DATA,            /* chunk data */
  EH_CHUNK_DATA_CR,         /* CRLF after the data */
  EH_CHUNK_DATA_LF,
  EH_CHUNK_TRAILER_START,   /* start of a trailer field line or of the final CRLF */
  EH_CHUNK_TRAILER_NAME,
  EH_CHUNK_TRAILER_VALUE,
  EH_CHUNK_TRAILER_LF,
  EH_CHUNK_FINAL_LF,
} EhChunkState;

/* what is known of the head being read; offsets are from its first byte */
typedef struct {
  gsize scanned;      /* bytes examined so far */
  gsize line_start;   /* where the line being read starts */
  gboolean after_cr;  /* the last byte examined was CR */
  gboolean in_fields; /* the request line is complete */
  guint spaces;       /* spaces seen in the request line */
  gsize target_seen;  /* request-target bytes seen in the request line */
  guint fields;       /* header field lines seen */
  gsize method_len;
  gsize target_start;
  gsize target_len;
  gboolean http10;
  gboolean has_host;
  gboolean has_length;
  gboolean chunked;
  guint64 length;
} EhHeadScan;

typedef struct {
  EhChunkState state;
  guint64 size;         /* the chunk size, then its data bytes still to come */
  guint digits;         /* hex digits of the size so far */
  gsize line_len;       /* bytes of the current size or trailer line */
  gsize trailer_bytes;  /* bytes of the trailer section so far */
  guint trailer_fields; /* trailer field lines so far */
} EhChunkScan;

struct _EhFraming {
  EhFramingLimits limits;
  EhFramingBodyCapFunc body_cap;
  gpointer user_data;
  EhFramingState state;
  EhHeadScan head;
  EhChunkScan chunk;
  guint64 body_left;  /* Content-Length bytes still to come */
  guint64 cap;        /* largest body of the current request */
  guint64 total;      /* chunk data announced so far in the current request */
  guint64 requests;
  guint status;
  char *reason;
};

EhFraming *
eh_framing_new (const EhFramingLimits *limits, EhFramingBodyCapFunc body_cap, gpointer user_data)
{
  EhFraming *framing = g_new0 (EhFraming, 1);

  /* a zero limit means the default, never "nothing allowed" */
  framing->limits.max_uri_bytes = EH_FRAMING_DEFAULT_MAX_URI_BYTES;
  framing->limits.max_head_bytes = EH_FRAMING_DEFAULT_MAX_HEAD_BYTES;
  framing->limits.max_header_count = EH_FRAMING_DEFAULT_MAX_HEADER_COUNT;
  if (limits != NULL && limits->max_uri_bytes > 0)
    framing->limits.max_uri_bytes = limits->max_uri_bytes;
  if (limits != NULL && limits->max_head_bytes > 0)
    framing->limits.max_head_bytes = limits->max_head_bytes;
  if (limits != NULL && limits->max_header_count > 0)
    framing->limits.max_header_count = limits->max_header_count;
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
  g_return_val_if_fail (framing != NULL, EH_FRAMING_STATE_FAILED);
  return framing->state;
}

guint64
eh_framing_get_request_count (EhFraming *framing)
{
  g_return_val_if_fail (framing != NULL, 0);
  return framing->requests;
}

static gboolean eh_framing_refuse (EhFraming *framing, guint status, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

/* records the refusal; always returns FALSE so callers can return it */
static gboolean
eh_framing_refuse (EhFraming *framing, guint status, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_free (framing->reason);
  framing->reason = g_strdup_vprintf (format, args);
  va_end (args);
  framing->status = status;
  framing->state = EH_FRAMING_STATE_FAILED;
  return FALSE;
}

/* a short, printable copy of client bytes for a refusal reason */
static char *
eh_framing_quote (const guchar *text, gsize len)
{
  g_autofree char *copy = g_strndup ((const char *) text, MIN (len, EH_FRAMING_MAX_QUOTE));

  return g_strescape (copy, NULL);
}

/* RFC 9110 tchar */
static gboolean
eh_framing_is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-value octets: HTAB, SP, VCHAR and obs-text, never another control */
static gboolean
eh_framing_is_value_octet (guchar c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static gboolean
eh_framing_is_ows (guchar c)
{
  return c == ' ' || c == '\t';
}

static gboolean
eh_framing_name_is (const guchar *name, gsize len, const char *expected)
{
  return len == strlen (expected) && g_ascii_strncasecmp ((const char *) name, expected, len) == 0;
}

/* ---- the request line ---- */

static gboolean
eh_framing_check_version (EhFraming *framing, const guchar *version, gsize len)
{
  g_autofree char *quoted = NULL;

  if (len == 8 && memcmp (version, "HTTP/1.", 7) == 0 && (version[7] == '0' || version[7] == '1')) {
    framing->head.http10 = version[7] == '0';
    return TRUE;
  }
  quoted = eh_framing_quote (version, len);
  /* HTTP/2.0, including the h2 preface, lands here */
  if (len > 5 && memcmp (version, "HTTP/", 5) == 0 && g_ascii_isdigit (version[5]))
    return eh_framing_refuse (framing, 505, "HTTP version \"%s\" is not supported", quoted);
  return eh_framing_refuse (framing, 400, "malformed HTTP version \"%s\"", quoted);
}

static gboolean
eh_framing_check_method (EhFraming *framing, const guchar *method, gsize len)
{
  if (len == 0)
    return eh_framing_refuse (framing, 400, "empty request method");
  for (gsize i = 0; i < len; i++) {
    if (!eh_framing_is_tchar (method[i]))
      return eh_framing_refuse (framing, 400, "malformed request method");
  }
  return TRUE;
}

/* length of a leading "http://" or "https://", any case; 0 without one */
static gsize
eh_framing_scheme_length (const guchar *target, gsize len)
{
  if (len >= 7 && g_ascii_strncasecmp ((const char *) target, "http://", 7) == 0)
    return 7;
  if (len >= 8 && g_ascii_strncasecmp ((const char *) target, "https://", 8) == 0)
    return 8;
  return 0;
}

/* the path of an origin-form or absolute-form target, without its query;
 * FALSE for any other form */
static gboolean
eh_framing_target_path (const guchar *target, gsize len, const guchar **path, gsize *path_len)
{
  gsize start = 0;
  gsize end;

  if (target[0] != '/') {
    gsize authority = eh_framing_scheme_length (target, len);

    if (authority == 0 || authority == len || target[authority] == '/' ||
        target[authority] == '?')
      return FALSE;
    for (start = authority; start < len && target[start] != '/' && target[start] != '?'; start++)
      ;
  }
  for (end = start; end < len && target[end] != '?'; end++)
    ;
  if (end == start) {
    *path = (const guchar *) "/";
    *path_len = 1;
  } else {
    *path = target + start;
    *path_len = end - start;
  }
  return TRUE;
}

/* a "." or ".." segment, plain or percent-encoded: libsoup's URI parser
 * removes them, so the path it routes on would not be the path the body cap
 * was chosen for */
static gboolean
eh_framing_has_dot_segment (const guchar *path, gsize len)
{
  gsize i = 0;

  while (i < len) {
    guint dots = 0;
    gboolean other = FALSE;

    for (; i < len && path[i] != '/'; i++) {
      if (path[i] == '.') {
        dots++;
      } else if (path[i] == '%' && i + 2 < len && path[i + 1] == '2' &&
                 (path[i + 2] == 'e' || path[i + 2] == 'E')) {
        dots++;
        i += 2;
      } else {
        other = TRUE;
      }
    }
    if (!other && (dots == 1 || dots == 2))
      return TRUE;
    i++;
  }
  return FALSE;
}

static gboolean
eh_framing_check_target (EhFraming *framing, const guchar *method, gsize method_len,
                         const guchar *target, gsize len)
{
  const guchar *path;
  gsize path_len;

  if (len == 0)
    return eh_framing_refuse (framing, 400, "empty request target");
  for (gsize i = 0; i < len; i++) {
    /* a fragment never belongs in a request */
    if (target[i] <= 0x20 || target[i] >= 0x7f || target[i] == '#')
      return eh_framing_refuse (framing, 400, "byte 0x%02x not allowed in the request target",
                                target[i]);
  }
  if (target[0] == '*') {
    /* methods are case-sensitive */
    if (len == 1 && method_len == 7 && memcmp (method, "OPTIONS", 7) == 0)
      return TRUE;
    return eh_framing_refuse (framing, 400, "asterisk-form target outside OPTIONS");
  }
  if (!eh_framing_target_path (target, len, &path, &path_len))
    return eh_framing_refuse (framing, 400, "request target is neither a path nor an http(s) URI");
  if (eh_framing_has_dot_segment (path, path_len))
    return eh_framing_refuse (framing, 400, "dot segment in the request path");
  return TRUE;
}

static gboolean
eh_framing_check_request_line (EhFraming *framing, const guchar *line, gsize len)
{
  EhHeadScan *scan = &framing->head;
  const guchar *target;
  const guchar *version;

  if (len == 0)
    return eh_framing_refuse (framing, 400, "empty line before the request line");
  if (scan->spaces != 2)
    return eh_framing_refuse (framing, 400, "malformed request line");
  target = (const guchar *) memchr (line, ' ', len) + 1;
  version = (const guchar *) memchr (target, ' ', line + len - target) + 1;
  /* the version first: the h2 preface is a version matter, not a bad target */
  if (!eh_framing_check_version (framing, version, line + len - version) ||
      !eh_framing_check_method (framing, line, target - 1 - line) ||
      !eh_framing_check_target (framing, line, target - 1 - line, target, version - 1 - target))
    return FALSE;
  scan->method_len = target - 1 - line;
  scan->target_start = target - line;
  scan->target_len = version - 1 - target;
  return TRUE;
}

/* ---- header fields ---- */

static gboolean
eh_framing_check_content_length (EhFraming *framing, const guchar *value, gsize len)
{
  EhHeadScan *scan = &framing->head;
  guint64 number = 0;

  if (scan->has_length)
    return eh_framing_refuse (framing, 400, "duplicate Content-Length");
  if (scan->chunked)
    return eh_framing_refuse (framing, 400, "Content-Length together with Transfer-Encoding");
  if (len == 0)
    return eh_framing_refuse (framing, 400, "empty Content-Length");
  for (gsize i = 0; i < len; i++) {
    guint digit = value[i] - '0';

    if (!g_ascii_isdigit (value[i])) {
      g_autofree char *quoted = eh_framing_quote (value, len);

      return eh_framing_refuse (framing, 400, "Content-Length \"%s\" is not a decimal number",
                                quoted);
    }
    if (number > (EH_FRAMING_MAX_BODY - digit) / 10)
      return eh_framing_refuse (framing, 400, "Content-Length over 2^62");
    number = number * 10 + digit;
  }
  scan->has_length = TRUE;
  scan->length = number;
  return TRUE;
}

static gboolean
eh_framing_check_transfer_encoding (EhFraming *framing, const guchar *value, gsize len)
{
  EhHeadScan *scan = &framing->head;

  if (scan->chunked)
    return eh_framing_refuse (framing, 400, "duplicate Transfer-Encoding");
  if (scan->has_length)
    return eh_framing_refuse (framing, 400, "Content-Length together with Transfer-Encoding");
  if (scan->http10)
    return eh_framing_refuse (framing, 400, "Transfer-Encoding in an HTTP/1.0 request");
  /* only plain chunked: a list or another coding is where parsers disagree */
  if (!eh_framing_name_is (value, len, "chunked")) {
    g_autofree char *quoted = eh_framing_quote (value, len);

    return eh_framing_refuse (framing, 400, "Transfer-Encoding \"%s\" is not supported", quoted);
  }
  scan->chunked = TRUE;
  return TRUE;
}

/* the fields that decide where this request ends and which host it is for */
static gboolean
eh_framing_check_special_field (EhFraming *framing, const guchar *name, gsize name_len,
                                const guchar *value, gsize value_len)
{
  if (eh_framing_name_is (name, name_len, "Content-Length"))
    return eh_framing_check_content_length (framing, value, value_len);
  if (eh_framing_name_is (name, name_len, "Transfer-Encoding"))
    return eh_framing_check_transfer_encoding (framing, value, value_len);
  if (eh_framing_name_is (name, name_len, "Host")) {
    if (framing->head.has_host)
      return eh_framing_refuse (framing, 400, "duplicate Host");
    framing->head.has_host = TRUE;
  }
  return TRUE;
}

static gboolean
eh_framing_check_field (EhFraming *framing, const guchar *line, gsize len)
{
  const guchar *colon = memchr (line, ':', len);
  const guchar *value;
  const guchar *end = line + len;
  gsize name_len;

  if (++framing->head.fields > framing->limits.max_header_count)
    return eh_framing_refuse (framing, 431, "more than %u header fields",
                              framing->limits.max_header_count);
  if (eh_framing_is_ows (line[0]))
    return eh_framing_refuse (framing, 400, "obsolete line folding in the request head");
  if (colon == NULL)
    return eh_framing_refuse (framing, 400, "header field line without a colon");
  name_len = colon - line;
  if (name_len == 0)
    return eh_framing_refuse (framing, 400, "empty header field name");
  if (eh_framing_is_ows (line[name_len - 1]))
    return eh_framing_refuse (framing, 400, "whitespace between a header field name and its colon");
  for (gsize i = 0; i < name_len; i++) {
    if (!eh_framing_is_tchar (line[i]))
      return eh_framing_refuse (framing, 400, "malformed header field name");
  }
  for (value = colon + 1; value < end; value++) {
    if (!eh_framing_is_value_octet (*value))
      return eh_framing_refuse (framing, 400, "control character in header field \"%.*s\"",
                                (int) MIN (name_len, EH_FRAMING_MAX_QUOTE), line);
  }
  for (value = colon + 1; value < end && eh_framing_is_ows (*value); value++)
    ;
  while (end > value && eh_framing_is_ows (end[-1]))
    end--;
  return eh_framing_check_special_field (framing, line, name_len, value, end - value);
}

/* ---- the end of a head ---- */

static void
eh_framing_start_body (EhFraming *framing, guint64 cap)
{
  EhHeadScan *scan = &framing->head;

  framing->requests++;
  framing->cap = cap;
  framing->total = 0;
  if (scan->chunked) {
    memset (&framing->chunk, 0, sizeof framing->chunk);
    framing->state = EH_FRAMING_STATE_CHUNKED;
  } else if (scan->has_length && scan->length > 0) {
    framing->body_left = scan->length;
    framing->state = EH_FRAMING_STATE_BODY;
  } else {
    /* a request without either field has no body (RFC 9112 §6.3) */
    framing->state = EH_FRAMING_STATE_IDLE;
  }
  memset (scan, 0, sizeof *scan);
}

static gboolean
eh_framing_finish_head (EhFraming *framing, const guchar *head)
{
  EhHeadScan *scan = &framing->head;
  const guchar *target = head + scan->target_start;
  const guchar *path = target;
  gsize path_len = 1;
  g_autofree char *names = NULL;
  guint64 cap = 0;

  if (!scan->http10 && !scan->has_host)
    return eh_framing_refuse (framing, 400, "HTTP/1.1 request without Host");
  if (target[0] != '*')
    eh_framing_target_path (target, scan->target_len, &path, &path_len);
  /* method and path side by side, both NUL-terminated: one allocation */
  names = g_malloc (scan->method_len + path_len + 2);
  memcpy (names, head, scan->method_len);
  names[scan->method_len] = '\0';
  memcpy (names + scan->method_len + 1, path, path_len);
  names[scan->method_len + 1 + path_len] = '\0';
  /* without a cap function no request may carry a body */
  if (framing->body_cap != NULL)
    cap = framing->body_cap (names, names + scan->method_len + 1, framing->user_data);
  if (scan->has_length && scan->length > cap)
    return eh_framing_refuse (framing, 413,
                              "request body of %" G_GUINT64_FORMAT " bytes is over the limit of %"
                              G_GUINT64_FORMAT " bytes", scan->length, cap);
  eh_framing_start_body (framing, cap);
  return TRUE;
}

/* ---- scanning a head ---- */

static gboolean
eh_framing_request_line_byte (EhFraming *framing, guchar c)
{
  EhHeadScan *scan = &framing->head;

  /* an over-long target is refused before its line is complete */
  if (c == ' ')
    scan->spaces++;
  else if (scan->spaces == 1 && ++scan->target_seen > framing->limits.max_uri_bytes)
    return eh_framing_refuse (framing, 414, "request target longer than %zu bytes",
                              framing->limits.max_uri_bytes);
  return TRUE;
}

/* a line of the head ended with the CRLF just before @end */
static gboolean
eh_framing_end_line (EhFraming *framing, const guchar *head, gsize end)
{
  EhHeadScan *scan = &framing->head;
  const guchar *line = head + scan->line_start;
  gsize len = end - 2 - scan->line_start;

  scan->line_start = end;
  if (!scan->in_fields) {
    scan->in_fields = TRUE;
    return eh_framing_check_request_line (framing, line, len);
  }
  if (len == 0)
    return eh_framing_finish_head (framing, head);
  return eh_framing_check_field (framing, line, len);
}

/* examines the head at @head from where the last call stopped; *head_len is
 * its length once complete and valid, 0 while more is needed */
static gboolean
eh_framing_scan_head (EhFraming *framing, const guchar *head, gsize len, gsize *head_len)
{
  EhHeadScan *scan = &framing->head;

  *head_len = 0;
  framing->state = EH_FRAMING_STATE_HEAD;
  for (gsize i = scan->scanned; i < len; i++) {
    guchar c;

    if (i >= framing->limits.max_head_bytes)
      return eh_framing_refuse (framing, 431, "request head larger than %zu bytes",
                                framing->limits.max_head_bytes);
    if (scan->in_fields && !scan->after_cr) {
      /* inside a field line only its end matters here (the line is checked whole at its
       * end): jump to the next CR, refusing a bare LF before it */
      gsize end = MIN (len, framing->limits.max_head_bytes);
      const guchar *cr = memchr (head + i, '\r', end - i);
      gsize stop = cr != NULL ? (gsize) (cr - head) : end;

      if (memchr (head + i, '\n', stop - i) != NULL)
        return eh_framing_refuse (framing, 400, "bare LF in the request head");
      if (cr == NULL) {
        i = end - 1;
        continue;
      }
      i = stop;
    }
    c = head[i];
    if (scan->after_cr) {
      if (c != '\n')
        return eh_framing_refuse (framing, 400, "bare CR in the request head");
      scan->after_cr = FALSE;
      if (!eh_framing_end_line (framing, head, i + 1))
        return FALSE;
      if (framing->state != EH_FRAMING_STATE_HEAD) {
        *head_len = i + 1;
        return TRUE;
      }
    } else if (c == '\r') {
      scan->after_cr = TRUE;
    } else if (c == '\n') {
      return eh_framing_refuse (framing, 400, "bare LF in the request head");
    } else if (!scan->in_fields && !eh_framing_request_line_byte (framing, c)) {
      return FALSE;
    }
  }
  scan->scanned = len;
  return TRUE;
}

/* ---- chunked bodies ---- */

static gboolean
eh_framing_chunk_size_digit (EhFraming *framing, guchar c)
{
  EhChunkScan *chunk = &framing->chunk;
  guint digit = g_ascii_xdigit_value (c);

  if (++chunk->digits > EH_FRAMING_MAX_SIZE_DIGITS)
    return eh_framing_refuse (framing, 400, "chunk size with more than %d hex digits",
                              EH_FRAMING_MAX_SIZE_DIGITS);
  if (chunk->size > (EH_FRAMING_MAX_BODY - digit) / 16)
    return eh_framing_refuse (framing, 400, "chunk size over 2^62");
  chunk->size = chunk->size * 16 + digit;
  if (chunk->size > framing->cap - framing->total)
    return eh_framing_refuse (framing, 413, "chunked request body over the limit of %"
                              G_GUINT64_FORMAT " bytes", framing->cap);
  return TRUE;
}

/* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
static gboolean
eh_framing_chunk_ext_byte (EhFraming *framing, guchar c)
{
  EhChunkState *state = &framing->chunk.state;
  gboolean tchar = eh_framing_is_tchar (c);
  gboolean ows = eh_framing_is_ows (c);

  switch (*state) {
  case EH_CHUNK_EXT_TOKEN:
    if (tchar)
      return TRUE;
    G_GNUC_FALLTHROUGH;
  case EH_CHUNK_SIZE:
  case EH_CHUNK_EXT_BWS:
  case EH_CHUNK_EXT_QUOTED_END:
    if (ows)
      *state = EH_CHUNK_EXT_BWS;
    else if (c == ';')
      *state = EH_CHUNK_EXT_NAME_START;
    else
      break;
    return TRUE;
  case EH_CHUNK_EXT_NAME_START:
    if (tchar)
      *state = EH_CHUNK_EXT_NAME;
    else if (!ows)
      break;
    return TRUE;
  case EH_CHUNK_EXT_NAME:
    if (tchar)
      return TRUE;
    G_GNUC_FALLTHROUGH;
  case EH_CHUNK_EXT_NAME_BWS:
    if (ows)
      *state = EH_CHUNK_EXT_NAME_BWS;
    else if (c == ';')
      *state = EH_CHUNK_EXT_NAME_START;
    else if (c == '=')
      *state = EH_CHUNK_EXT_VALUE_START;
    else
      break;
    return TRUE;
  case EH_CHUNK_EXT_VALUE_START:
    if (c == '"')
      *state = EH_CHUNK_EXT_QUOTED;
    else if (tchar)
      *state = EH_CHUNK_EXT_TOKEN;
    else if (!ows)
      break;
    return TRUE;
  case EH_CHUNK_EXT_QUOTED:
    if (c == '"')
      *state = EH_CHUNK_EXT_QUOTED_END;
    else if (c == '\\')
      *state = EH_CHUNK_EXT_QUOTED_PAIR;
    else if (!eh_framing_is_value_octet (c))
      break;
    return TRUE;
  case EH_CHUNK_EXT_QUOTED_PAIR:
    if (!eh_framing_is_value_octet (c))
      break;
    *state = EH_CHUNK_EXT_QUOTED;
    return TRUE;
  default:
    break;
  }
  if (*state == EH_CHUNK_SIZE)
    return eh_framing_refuse (framing, 400, "malformed chunk size");
  return eh_framing_refuse (framing, 400, "malformed chunk extension");
}

/* a byte of a chunk-size line: size, extensions, CRLF */
static gboolean
eh_framing_chunk_line_byte (EhFraming *framing, guchar c)
{
  EhChunkScan *chunk = &framing->chunk;

  if (++chunk->line_len > EH_FRAMING_MAX_CHUNK_LINE)
    return eh_framing_refuse (framing, 400, "chunk size line longer than %d bytes",
                              EH_FRAMING_MAX_CHUNK_LINE);
  if (chunk->state == EH_CHUNK_SIZE_LF) {
    if (c != '\n')
      return eh_framing_refuse (framing, 400, "bare CR in a chunk size line");
    chunk->line_len = 0;
    chunk->digits = 0;
    framing->total += chunk->size;
    chunk->state = chunk->size > 0 ? EH_CHUNK_DATA : EH_CHUNK_TRAILER_START;
    return TRUE;
  }
  if (chunk->state == EH_CHUNK_SIZE && g_ascii_isxdigit (c))
    return eh_framing_chunk_size_digit (framing, c);
  if (chunk->state == EH_CHUNK_SIZE && chunk->digits == 0)
    return eh_framing_refuse (framing, 400, "chunk size is not a hex number");
  if (c == '\r' && (chunk->state == EH_CHUNK_SIZE || chunk->state == EH_CHUNK_EXT_NAME ||
                    chunk->state == EH_CHUNK_EXT_TOKEN ||
                    chunk->state == EH_CHUNK_EXT_QUOTED_END)) {
    chunk->state = EH_CHUNK_SIZE_LF;
    return TRUE;
  }
  return eh_framing_chunk_ext_byte (framing, c);
}

static gboolean
eh_framing_trailer_field_byte (EhFraming *framing, guchar c)
{
  EhChunkScan *chunk = &framing->chunk;

  if (chunk->state == EH_CHUNK_TRAILER_NAME) {
    if (c == ':')
      chunk->state = EH_CHUNK_TRAILER_VALUE;
    else if (eh_framing_is_ows (c))
      return eh_framing_refuse (framing, 400,
                                "whitespace between a trailer field name and its colon");
    else if (!eh_framing_is_tchar (c))
      return eh_framing_refuse (framing, 400, "malformed trailer field name");
    return TRUE;
  }
  if (c == '\r')
    chunk->state = EH_CHUNK_TRAILER_LF;
  else if (!eh_framing_is_value_octet (c))
    return eh_framing_refuse (framing, 400, "control character in a trailer field");
  return TRUE;
}

/* a byte of the trailer section: the same rules as header fields */
static gboolean
eh_framing_trailer_byte (EhFraming *framing, guchar c)
{
  EhChunkScan *chunk = &framing->chunk;

  if (++chunk->trailer_bytes > framing->limits.max_head_bytes)
    return eh_framing_refuse (framing, 431, "trailer section larger than %zu bytes",
                              framing->limits.max_head_bytes);
  if (++chunk->line_len > EH_FRAMING_MAX_CHUNK_LINE)
    return eh_framing_refuse (framing, 431, "trailer field line longer than %d bytes",
                              EH_FRAMING_MAX_CHUNK_LINE);
  switch (chunk->state) {
  case EH_CHUNK_TRAILER_START:
    if (c == '\r') {
      chunk->state = EH_CHUNK_FINAL_LF;
      return TRUE;
    }
    if (eh_framing_is_ows (c))
      return eh_framing_refuse (framing, 400, "obsolete line folding in the trailer section");
    if (!eh_framing_is_tchar (c))
      return eh_framing_refuse (framing, 400, "malformed trailer field name");
    if (++chunk->trailer_fields > framing->limits.max_header_count)
      return eh_framing_refuse (framing, 431, "more than %u trailer fields",
                                framing->limits.max_header_count);
    chunk->state = EH_CHUNK_TRAILER_NAME;
    return TRUE;
  case EH_CHUNK_TRAILER_LF:
  case EH_CHUNK_FINAL_LF:
    if (c != '\n')
      return eh_framing_refuse (framing, 400, "bare CR in the trailer section");
    chunk->line_len = 0;
    if (chunk->state == EH_CHUNK_FINAL_LF)
      framing->state = EH_FRAMING_STATE_IDLE;
    chunk->state = EH_CHUNK_TRAILER_START;
    return TRUE;
  default:
    return eh_framing_trailer_field_byte (framing, c);
  }
}

/* checks the chunked body at @data; *used is how much of it may go on */
static gboolean
eh_framing_scan_chunked (EhFraming *framing, const guchar *data, gsize len, gsize *used)
{
  EhChunkScan *chunk = &framing->chunk;

  *used = 1;
  switch (chunk->state) {
  case EH_CHUNK_DATA:
    *used = MIN (chunk->size, len);
    chunk->size -= *used;
    if (chunk->size == 0)
      chunk->state = EH_CHUNK_DATA_CR;
    return TRUE;
  case EH_CHUNK_DATA_CR:
  case EH_CHUNK_DATA_LF:
    if (data[0] != (chunk->state == EH_CHUNK_DATA_CR ? '\r' : '\n'))
      return eh_framing_refuse (framing, 400, "chunk data not followed by CRLF");
    chunk->state = chunk->state == EH_CHUNK_DATA_CR ? EH_CHUNK_DATA_LF : EH_CHUNK_SIZE;
    return TRUE;
  case EH_CHUNK_TRAILER_START:
  case EH_CHUNK_TRAILER_NAME:
  case EH_CHUNK_TRAILER_VALUE:
  case EH_CHUNK_TRAILER_LF:
  case EH_CHUNK_FINAL_LF:
    return eh_framing_trailer_byte (framing, data[0]);
  default:
    return eh_framing_chunk_line_byte (framing, data[0]);
  }
}

/* ---- feeding ---- */

/* checks what follows at @data in the current state; *used is how much of it
 * may go on, 0 when a head is still incomplete */
static gboolean
eh_framing_step (EhFraming *framing, const guchar *data, gsize len, gsize *used)
{
  switch (framing->state) {
  case EH_FRAMING_STATE_IDLE:
  case EH_FRAMING_STATE_HEAD:
    return eh_framing_scan_head (framing, data, len, used);
  case EH_FRAMING_STATE_BODY:
    *used = MIN (framing->body_left, len);
    framing->body_left -= *used;
    if (framing->body_left == 0)
      framing->state = EH_FRAMING_STATE_IDLE;
    return TRUE;
  case EH_FRAMING_STATE_CHUNKED:
    return eh_framing_scan_chunked (framing, data, len, used);
  case EH_FRAMING_STATE_FAILED:
  default:
    return FALSE;
  }
}

gssize
eh_framing_feed (EhFraming *framing, const guint8 *pending, gsize len, guint *status,
                 GError **error)
{
  gsize released = 0;

  g_return_val_if_fail (framing != NULL, -1);
  g_return_val_if_fail (pending != NULL || len == 0, -1);
  /* a held-back head is still at the front of what the caller passes */
  g_return_val_if_fail (framing->state != EH_FRAMING_STATE_HEAD || len >= framing->head.scanned,
                        -1);

  while (framing->state != EH_FRAMING_STATE_FAILED && released < len) {
    gsize used = 0;

    if (!eh_framing_step (framing, pending + released, len - released, &used) || used == 0)
      break;
    released += used;
  }
  if (framing->state == EH_FRAMING_STATE_FAILED) {
    if (status != NULL)
      *status = framing->status;
    g_set_error_literal (error, EH_ERROR, EH_ERROR_INVALID_ARGUMENT, framing->reason);
    return -1;
  }
  return released;
}
