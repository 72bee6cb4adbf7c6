/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-range.h"

#define SIZE 1000
#define MIB (1024 * 1024)

static EhRangeResult
parse (const char *header, GArray **ranges)
{
  return eh_range_parse (header, SIZE, EH_RANGE_DEFAULT_MAX_RANGES, ranges);
}

static void
assert_range (GArray *ranges, guint index, goffset first, goffset last)
{
  g_assert_cmpuint (index, <, ranges->len);
  g_assert_cmpint (g_array_index (ranges, EhByteRange, index).first, ==, first);
  g_assert_cmpint (g_array_index (ranges, EhByteRange, index).last, ==, last);
}

static void
assert_single (const char *header, goffset first, goffset last)
{
  g_autoptr (GArray) ranges = NULL;

  g_assert_cmpint (parse (header, &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 1);
  assert_range (ranges, 0, first, last);
}

static void
assert_full (const char *header)
{
  GArray *ranges = (GArray *) 0x1;

  g_assert_cmpint (parse (header, &ranges), ==, EH_RANGE_FULL);
  g_assert_null (ranges);
}

static void
assert_unsatisfiable (const char *header, goffset size)
{
  GArray *ranges = (GArray *) 0x1;

  g_assert_cmpint (eh_range_parse (header, size, EH_RANGE_DEFAULT_MAX_RANGES, &ranges), ==,
                   EH_RANGE_UNSATISFIABLE);
  g_assert_null (ranges);
}

/* ---- parsing ---- */

static void
test_first_last (void)
{
  assert_single ("bytes=0-99", 0, 99);
  assert_single ("bytes=0-0", 0, 0);
  assert_single ("bytes=999-999", 999, 999);
  assert_single ("bytes=0-999", 0, 999);
}

static void
test_open_ended (void)
{
  assert_single ("bytes=900-", 900, 999);
  assert_single ("bytes=0-", 0, 999);
  assert_single ("bytes=999-", 999, 999);
}

static void
test_suffix (void)
{
  assert_single ("bytes=-100", 900, 999);
  assert_single ("bytes=-1", 999, 999);
  assert_single ("bytes=-1000", 0, 999);
  /* longer than the representation: all of it */
  assert_single ("bytes=-5000", 0, 999);
}

static void
test_clamped_to_size (void)
{
  assert_single ("bytes=990-5000", 990, 999);
  assert_single ("bytes=0-9223372036854775807", 0, 999);
}

static void
test_unit_and_whitespace (void)
{
  assert_single ("BYTES=1-1", 1, 1);
  assert_single ("Bytes=2-3", 2, 3);
  assert_single ("bytes= 5-6 ", 5, 6);
  assert_single ("bytes=\t5-6\t", 5, 6);
}

static void
test_several_in_request_order (void)
{
  g_autoptr (GArray) ranges = NULL;

  g_assert_cmpint (parse ("bytes=500-599, 0-9 ,\t-100", &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 3);
  assert_range (ranges, 0, 500, 599);
  assert_range (ranges, 1, 0, 9);
  assert_range (ranges, 2, 900, 999);
}

static void
test_empty_list_elements (void)
{
  g_autoptr (GArray) ranges = NULL;

  /* RFC 9110 §5.6.1.2: empty elements are accepted and ignored */
  g_assert_cmpint (parse ("bytes=,0-1,, 5-6,", &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 2);
  assert_range (ranges, 0, 0, 1);
  assert_range (ranges, 1, 5, 6);
  /* but not without limit, and not alone */
  assert_full ("bytes=0-1,,,,,,,,,,");
  assert_full ("bytes=,");
}

static void
test_unsatisfiable_ranges_dropped (void)
{
  g_autoptr (GArray) ranges = NULL;

  g_assert_cmpint (parse ("bytes=5000-6000, 10-19, -0", &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 1);
  assert_range (ranges, 0, 10, 19);
}

static void
test_syntax_errors_serve_whole (void)
{
  const char *whole[] = {
    "", "bytes", "bytes=", "bytes =0-1", "bytes= =0-1", "items=0-1", "bytes=a-b", "bytes=5-4",
    "bytes=--1", "bytes=-", "bytes=1", "bytes=0-1;2-3", "bytes=0 -1", "bytes=0- 1", "bytes=+1-2",
    "bytes=0x10-0x20", "bytes=1-2-3", "bytes=-1-2", "bytes=0-1 2-3", "bytes=\xff-1",
    "bytes=0-1,\n2-3",
  };

  for (guint i = 0; i < G_N_ELEMENTS (whole); i++)
    assert_full (whole[i]);
  assert_full (NULL);
}

static void
test_overflow_serves_whole (void)
{
  assert_full ("bytes=9223372036854775808-");
  assert_full ("bytes=99999999999999999999-");
  assert_full ("bytes=0-99999999999999999999");
  assert_full ("bytes=-99999999999999999999");
  /* the largest number still parses */
  assert_unsatisfiable ("bytes=9223372036854775807-", SIZE);
}

static void
test_overlap_and_adjacency_serve_whole (void)
{
  assert_full ("bytes=0-1,1-2");
  assert_full ("bytes=0-9,10-19");
  assert_full ("bytes=10-19,0-9");
  assert_full ("bytes=0-100,50-60");
  assert_full ("bytes=-100,900-");
  assert_full ("bytes=0-,5-6");
  /* clamping can make them touch too */
  assert_full ("bytes=990-5000,-5");
  /* a gap of one byte is fine */
  g_assert_cmpint (parse ("bytes=0-9,11-19", NULL), ==, EH_RANGE_PARTIAL);
}

static void
test_too_many_ranges_serve_whole (void)
{
  const char *nine = "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16";
  g_autoptr (GArray) ranges = NULL;

  g_assert_cmpint (eh_range_parse (nine, SIZE, 8, NULL), ==, EH_RANGE_FULL);
  g_assert_cmpint (eh_range_parse (nine, SIZE, 9, &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 9);
  g_assert_cmpint (eh_range_parse ("bytes=0-0", SIZE, 0, NULL), ==, EH_RANGE_FULL);
  /* unsatisfiable ones count as well */
  g_assert_cmpint (eh_range_parse ("bytes=0-0,5000-,6000-", SIZE, 2, NULL), ==, EH_RANGE_FULL);
}

static void
test_unsatisfiable (void)
{
  assert_unsatisfiable ("bytes=1000-", SIZE);
  assert_unsatisfiable ("bytes=1000-1000", SIZE);
  assert_unsatisfiable ("bytes=-0", SIZE);
  assert_unsatisfiable ("bytes=2000-3000, 5000-", SIZE);
  assert_unsatisfiable ("bytes=-0,1000-", SIZE);
}

static void
test_empty_representation (void)
{
  /* first-last and first- can never be satisfied: 416 */
  assert_unsatisfiable ("bytes=0-", 0);
  assert_unsatisfiable ("bytes=0-10", 0);
  assert_unsatisfiable ("bytes=-0", 0);
  /* a suffix range is satisfiable but cannot be described: served whole */
  g_assert_cmpint (eh_range_parse ("bytes=-10", 0, 8, NULL), ==, EH_RANGE_FULL);
  g_assert_cmpint (eh_range_parse ("bytes=0-,-10", 0, 8, NULL), ==, EH_RANGE_FULL);
  g_assert_cmpint (eh_range_parse ("bytes=x", 0, 8, NULL), ==, EH_RANGE_FULL);
}

static GString *
overlapping_flood (guint count, gsize size)
{
  GString *header = g_string_new ("bytes=");

  for (guint i = 0; i < count; i++)
    g_string_append_printf (header, "%s0-%" G_GSIZE_FORMAT, i > 0 ? "," : "", size - 1 - i);
  return header;
}

static void
test_overlapping_flood_parses_full (void)
{
  g_autoptr (GString) header = overlapping_flood (2000, MIB);

  /* over the count, and overlapping even when the count is allowed */
  g_assert_cmpint (eh_range_parse (header->str, MIB, EH_RANGE_DEFAULT_MAX_RANGES, NULL), ==,
                   EH_RANGE_FULL);
  g_assert_cmpint (eh_range_parse (header->str, MIB, 5000, NULL), ==, EH_RANGE_FULL);
}

static void
test_many_disjoint_ranges_when_allowed (void)
{
  g_autoptr (GString) header = g_string_new ("bytes=");
  g_autoptr (GArray) ranges = NULL;

  /* listed from the end backwards, so order and overlap checks both work */
  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (header, "%s%u-%u", i > 0 ? "," : "", (1999 - i) * 10,
                            (1999 - i) * 10 + 4);
  g_assert_cmpint (eh_range_parse (header->str, MIB, 2000, &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 2000);
  assert_range (ranges, 0, 19990, 19994);
  assert_range (ranges, 1999, 0, 4);
}

/* ---- responses ---- */

static SoupServerMessage *
respond (const char *range, GBytes *body, const char *content_type)
{
  SoupServerMessage *msg = g_object_new (SOUP_TYPE_SERVER_MESSAGE, NULL);

  eh_range_respond_bytes (msg, range, body, content_type);
  return msg;
}

static const char *
response_header (SoupServerMessage *msg, const char *name)
{
  return soup_message_headers_get_one (soup_server_message_get_response_headers (msg), name);
}

static GBytes *
response_body (SoupServerMessage *msg)
{
  return soup_message_body_flatten (soup_server_message_get_response_body (msg));
}

static void
assert_body (SoupServerMessage *msg, const char *expected, gsize len)
{
  g_autoptr (GBytes) flat = response_body (msg);

  g_assert_cmpmem (g_bytes_get_data (flat, NULL), g_bytes_get_size (flat), expected, len);
  g_assert_cmpint (soup_message_headers_get_content_length (
                     soup_server_message_get_response_headers (msg)), ==, len);
}

static void
test_respond_full_without_range (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) msg = respond (NULL, body, "text/plain");

  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 200);
  g_assert_cmpstr (response_header (msg, "Accept-Ranges"), ==, "bytes");
  g_assert_cmpstr (response_header (msg, "Content-Type"), ==, "text/plain");
  g_assert_null (response_header (msg, "Content-Range"));
  assert_body (msg, "0123456789", 10);
}

static void
test_respond_single_range (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) msg = respond ("bytes=2-4", body, "text/plain");

  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 206);
  g_assert_cmpstr (response_header (msg, "Content-Range"), ==, "bytes 2-4/10");
  g_assert_cmpstr (response_header (msg, "Content-Type"), ==, "text/plain");
  g_assert_cmpstr (response_header (msg, "Accept-Ranges"), ==, "bytes");
  assert_body (msg, "234", 3);
}

static void
test_respond_suffix_range (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) msg = respond ("bytes=-3", body, "text/plain; charset=utf-8");

  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 206);
  g_assert_cmpstr (response_header (msg, "Content-Range"), ==, "bytes 7-9/10");
  g_assert_cmpstr (response_header (msg, "Content-Type"), ==, "text/plain; charset=utf-8");
  assert_body (msg, "789", 3);
}

static void
test_respond_unsatisfiable (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) msg = respond ("bytes=50-", body, "text/plain");
  g_autoptr (SoupServerMessage) suffix = respond ("bytes=-0", body, "text/plain");

  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 416);
  g_assert_cmpstr (response_header (msg, "Content-Range"), ==, "bytes */10");
  g_assert_cmpstr (response_header (msg, "Accept-Ranges"), ==, "bytes");
  g_assert_null (response_header (msg, "Content-Type"));
  assert_body (msg, "", 0);
  g_assert_cmpuint (soup_server_message_get_status (suffix), ==, 416);
}

static void
test_respond_empty_representation (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("", 0);
  g_autoptr (SoupServerMessage) first = respond ("bytes=0-", body, "text/plain");
  g_autoptr (SoupServerMessage) suffix = respond ("bytes=-5", body, "text/plain");

  g_assert_cmpuint (soup_server_message_get_status (first), ==, 416);
  g_assert_cmpstr (response_header (first, "Content-Range"), ==, "bytes */0");
  g_assert_cmpuint (soup_server_message_get_status (suffix), ==, 200);
  g_assert_null (response_header (suffix, "Content-Range"));
  assert_body (suffix, "", 0);
}

static void
test_respond_replaces_earlier_answer (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) msg = respond ("bytes=50-", body, "text/plain");

  /* a second answer on the same message leaves nothing of the first */
  eh_range_respond_bytes (msg, "bytes=0-0", body, NULL);
  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 206);
  g_assert_cmpstr (response_header (msg, "Content-Range"), ==, "bytes 0-0/10");
  g_assert_cmpstr (response_header (msg, "Content-Type"), ==, "application/octet-stream");
  assert_body (msg, "0", 1);
  eh_range_respond_bytes (msg, NULL, body, "text/plain");
  g_assert_null (response_header (msg, "Content-Range"));
  assert_body (msg, "0123456789", 10);
}

static void
test_respond_shares_memory (void)
{
  static const char text[] = "abcdefghijklmnopqrstuvwxyz";
  g_autoptr (GBytes) body = g_bytes_new_static (text, 26);
  g_autoptr (SoupServerMessage) whole = respond (NULL, body, "text/plain");
  g_autoptr (SoupServerMessage) part = respond ("bytes=10-19", body, "text/plain");
  g_autoptr (GBytes) whole_chunk = NULL;
  g_autoptr (GBytes) part_chunk = NULL;

  /* the response points into the representation: nothing was copied */
  whole_chunk = soup_message_body_get_chunk (soup_server_message_get_response_body (whole), 0);
  g_assert_true (g_bytes_get_data (whole_chunk, NULL) == (gconstpointer) text);
  g_assert_cmpuint (g_bytes_get_size (whole_chunk), ==, 26);
  part_chunk = soup_message_body_get_chunk (soup_server_message_get_response_body (part), 0);
  g_assert_true (g_bytes_get_data (part_chunk, NULL) == (gconstpointer) (text + 10));
  g_assert_cmpuint (g_bytes_get_size (part_chunk), ==, 10);
}

/* the boundary from a multipart/byteranges Content-Type */
static char *
multipart_boundary (SoupServerMessage *msg)
{
  g_autoptr (GHashTable) params = NULL;
  const char *type = soup_message_headers_get_content_type (
    soup_server_message_get_response_headers (msg), &params);

  g_assert_cmpstr (type, ==, "multipart/byteranges");
  return g_strdup (g_hash_table_lookup (params, "boundary"));
}

static void
test_respond_multipart_exact_bytes (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) msg = respond ("bytes=8-,0-1", body, "text/plain");
  g_autofree char *boundary = multipart_boundary (msg);
  g_autofree char *expected = NULL;

  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 206);
  g_assert_null (response_header (msg, "Content-Range"));
  g_assert_cmpuint (strlen (boundary), ==, 36);
  expected = g_strdup_printf ("--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes 8-9/10\r\n"
                              "\r\n89\r\n"
                              "--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n"
                              "\r\n01\r\n"
                              "--%s--\r\n",
                              boundary, boundary, boundary);
  assert_body (msg, expected, strlen (expected));
}

static void
test_respond_multipart_parses_back (void)
{
  g_autofree guint8 *data = g_malloc (4096);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (SoupServerMessage) msg = NULL;
  g_autoptr (GBytes) flat = NULL;
  SoupMultipart *multipart;
  const goffset expected[][2] = { { 100, 199 }, { 4000, 4095 }, { 0, 9 } };

  for (guint i = 0; i < 4096; i++)
    data[i] = (guint8) (i * 7 + 3);
  body = g_bytes_new (data, 4096);
  msg = respond ("bytes=100-199, -96, 0-9", body, "application/x-test");
  flat = response_body (msg);
  multipart = soup_multipart_new_from_message (soup_server_message_get_response_headers (msg),
                                               flat);
  g_assert_nonnull (multipart);
  g_assert_cmpint (soup_multipart_get_length (multipart), ==, 3);
  for (guint i = 0; i < 3; i++) {
    SoupMessageHeaders *headers = NULL;
    GBytes *part = NULL;
    goffset start = 0;
    goffset end = 0;
    goffset total = 0;

    g_assert_true (soup_multipart_get_part (multipart, i, &headers, &part));
    g_assert_cmpstr (soup_message_headers_get_content_type (headers, NULL), ==,
                     "application/x-test");
    g_assert_true (soup_message_headers_get_content_range (headers, &start, &end, &total));
    g_assert_cmpint (start, ==, expected[i][0]);
    g_assert_cmpint (end, ==, expected[i][1]);
    g_assert_cmpint (total, ==, 4096);
    g_assert_cmpmem (g_bytes_get_data (part, NULL), g_bytes_get_size (part), data + start,
                     end - start + 1);
  }
  soup_multipart_free (multipart);
}

static void
test_respond_boundary_is_random (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) one = respond ("bytes=0-1,5-6", body, "text/plain");
  g_autoptr (SoupServerMessage) two = respond ("bytes=0-1,5-6", body, "text/plain");
  g_autofree char *first = multipart_boundary (one);
  g_autofree char *second = multipart_boundary (two);

  g_assert_cmpstr (first, !=, second);
}

static void
test_respond_overlapping_flood_is_bounded (void)
{
  g_autoptr (GString) header = overlapping_flood (2000, MIB);
  g_autoptr (GBytes) body = g_bytes_new_take (g_malloc0 (MIB), MIB);
  g_autoptr (SoupServerMessage) msg = respond (header->str, body, "application/octet-stream");

  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 200);
  g_assert_null (response_header (msg, "Content-Range"));
  g_assert_cmpint (soup_server_message_get_response_body (msg)->length, ==, MIB);
  g_assert_cmpint (soup_message_headers_get_content_length (
                     soup_server_message_get_response_headers (msg)), ==, MIB);
}

static void
test_respond_largest_multipart_is_bounded (void)
{
  g_autoptr (GBytes) body = g_bytes_new_take (g_malloc0 (MIB), MIB);
  g_autoptr (GString) header = g_string_new ("bytes=");
  g_autoptr (SoupServerMessage) msg = NULL;
  goffset length;

  /* the most ranges allowed, covering nearly everything */
  for (guint i = 0; i < EH_RANGE_DEFAULT_MAX_RANGES; i++)
    g_string_append_printf (header, "%s%u-%u", i > 0 ? "," : "", i * (MIB / 8),
                            (i + 1) * (MIB / 8) - 2);
  msg = respond (header->str, body, "application/octet-stream");
  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 206);
  length = soup_server_message_get_response_body (msg)->length;
  g_assert_cmpint (length, >, MIB - 8);
  /* framing adds at most a few hundred bytes per part */
  g_assert_cmpint (length, <, MIB + EH_RANGE_DEFAULT_MAX_RANGES * 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/range/first-last", test_first_last);
  g_test_add_func ("/eh/range/open-ended", test_open_ended);
  g_test_add_func ("/eh/range/suffix", test_suffix);
  g_test_add_func ("/eh/range/clamped-to-size", test_clamped_to_size);
  g_test_add_func ("/eh/range/unit-and-whitespace", test_unit_and_whitespace);
  g_test_add_func ("/eh/range/several-in-request-order", test_several_in_request_order);
  g_test_add_func ("/eh/range/empty-list-elements", test_empty_list_elements);
  g_test_add_func ("/eh/range/unsatisfiable-ranges-dropped", test_unsatisfiable_ranges_dropped);
  g_test_add_func ("/eh/range/syntax-errors-serve-whole", test_syntax_errors_serve_whole);
  g_test_add_func ("/eh/range/overflow-serves-whole", test_overflow_serves_whole);
  g_test_add_func ("/eh/range/overlap-and-adjacency-serve-whole",
                   test_overlap_and_adjacency_serve_whole);
  g_test_add_func ("/eh/range/too-many-ranges-serve-whole", test_too_many_ranges_serve_whole);
  g_test_add_func ("/eh/range/unsatisfiable", test_unsatisfiable);
  g_test_add_func ("/eh/range/empty-representation", test_empty_representation);
  g_test_add_func ("/eh/range/overlapping-flood-parses-full", test_overlapping_flood_parses_full);
  g_test_add_func ("/eh/range/many-disjoint-ranges-when-allowed",
                   test_many_disjoint_ranges_when_allowed);
  g_test_add_func ("/eh/range/respond-full-without-range", test_respond_full_without_range);
  g_test_add_func ("/eh/range/respond-single-range", test_respond_single_range);
  g_test_add_func ("/eh/range/respond-suffix-range", test_respond_suffix_range);
  g_test_add_func ("/eh/range/respond-unsatisfiable", test_respond_unsatisfiable);
  g_test_add_func ("/eh/range/respond-empty-representation", test_respond_empty_representation);
  g_test_add_func ("/eh/range/respond-replaces-earlier-answer",
                   test_respond_replaces_earlier_answer);
  g_test_add_func ("/eh/range/respond-shares-memory", test_respond_shares_memory);
  g_test_add_func ("/eh/range/respond-multipart-exact-bytes", test_respond_multipart_exact_bytes);
  g_test_add_func ("/eh/range/respond-multipart-parses-back", test_respond_multipart_parses_back);
  g_test_add_func ("/eh/range/respond-boundary-is-random", test_respond_boundary_is_random);
  g_test_add_func ("/eh/range/respond-overlapping-flood-is-bounded",
                   test_respond_overlapping_flood_is_bounded);
  g_test_add_func ("/eh/range/respond-largest-multipart-is-bounded",
                   test_respond_largest_multipart_is_bounded);
  return g_test_run ();
}
