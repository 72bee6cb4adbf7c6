/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "eh-range.h"

#define SIZE 1000

static EhRangeResult
parse (const char *header, GArray **ranges)
{
  return eh_range_parse (header, SIZE, EH_RANGE_DEFAULT_MAX_RANGES, ranges);
}

static void
assert_single (const char *header, goffset first, goffset last)
{
  g_autoptr (GArray) ranges = NULL;

  g_assert_cmpint (parse (header, &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 1);
  g_assert_cmpint (g_array_index (ranges, EhByteRange, 0).first, ==, first);
  g_assert_cmpint (g_array_index (ranges, EhByteRange, 0).last, ==, last);
}

static void
test_single_ranges (void)
{
  assert_single ("bytes=0-99", 0, 99);
  assert_single ("bytes=900-", 900, 999);
  assert_single ("bytes=-100", 900, 999);
  assert_single ("bytes=-5000", 0, 999);
  assert_single ("bytes=990-5000", 990, 999);
  assert_single ("BYTES=1-1", 1, 1);
  assert_single ("bytes= 5-6 ", 5, 6);
}

static void
test_ignored_ranges_serve_whole (void)
{
  const char *whole[] = { NULL, "", "bytes=", "bytes=5-4", "items=0-1", "bytes=a-b", "bytes=1-2,",
                          "bytes=--1", "bytes=0-1,1-2", "bytes=0-9,10-19", "bytes=99999999999999999999-",
                          "bytes=0-1;2-3", NULL };

  for (guint i = 1; whole[i] != NULL; i++)
    g_assert_cmpint (parse (whole[i], NULL), ==, EH_RANGE_FULL);
  g_assert_cmpint (parse (NULL, NULL), ==, EH_RANGE_FULL);
}

static void
test_unsatisfiable (void)
{
  g_assert_cmpint (parse ("bytes=1000-", NULL), ==, EH_RANGE_UNSATISFIABLE);
  g_assert_cmpint (parse ("bytes=-0", NULL), ==, EH_RANGE_UNSATISFIABLE);
  g_assert_cmpint (parse ("bytes=2000-3000,5000-", NULL), ==, EH_RANGE_UNSATISFIABLE);
  g_assert_cmpint (eh_range_parse ("bytes=0-", 0, 8, NULL), ==, EH_RANGE_UNSATISFIABLE);
}

static void
test_several_ranges (void)
{
  g_autoptr (GArray) ranges = NULL;

  g_assert_cmpint (parse ("bytes=500-599, 0-9, 2000-", &ranges), ==, EH_RANGE_PARTIAL);
  g_assert_cmpuint (ranges->len, ==, 2);
  g_assert_cmpint (g_array_index (ranges, EhByteRange, 0).first, ==, 500);
  g_assert_cmpint (g_array_index (ranges, EhByteRange, 1).last, ==, 9);
  g_assert_cmpint (eh_range_parse ("bytes=0-0,2-2,4-4", SIZE, 2, NULL), ==, EH_RANGE_FULL);
}

static void
test_overlapping_flood_is_bounded (void)
{
  g_autoptr (GString) header = g_string_new ("bytes=");
  g_autoptr (SoupServerMessage) msg = NULL;
  g_autoptr (GBytes) body = NULL;
  guint8 *data = g_malloc0 (1024 * 1024);

  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (header, "%s0-%u", i ? "," : "", 1024 * 1024 - 1 - i);
  g_assert_cmpint (eh_range_parse (header->str, 1024 * 1024, 8, NULL), ==, EH_RANGE_FULL);
  body = g_bytes_new_take (data, 1024 * 1024);
  msg = g_object_new (SOUP_TYPE_SERVER_MESSAGE, NULL);
  eh_range_respond_bytes (msg, header->str, body, "application/octet-stream");
  g_assert_cmpuint (soup_server_message_get_status (msg), ==, 200);
  g_assert_cmpint (soup_server_message_get_response_body (msg)->length, ==, 1024 * 1024);
}

static void
test_respond_partial_and_multipart (void)
{
  g_autoptr (GBytes) body = g_bytes_new_static ("0123456789", 10);
  g_autoptr (SoupServerMessage) one = g_object_new (SOUP_TYPE_SERVER_MESSAGE, NULL);
  g_autoptr (SoupServerMessage) two = g_object_new (SOUP_TYPE_SERVER_MESSAGE, NULL);
  g_autoptr (SoupServerMessage) none = g_object_new (SOUP_TYPE_SERVER_MESSAGE, NULL);
  g_autoptr (GBytes) flat = NULL;
  SoupMessageHeaders *headers;
  const char *type;

  eh_range_respond_bytes (one, "bytes=2-4", body, "text/plain");
  g_assert_cmpuint (soup_server_message_get_status (one), ==, 206);
  headers = soup_server_message_get_response_headers (one);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Content-Range"), ==, "bytes 2-4/10");
  flat = soup_message_body_flatten (soup_server_message_get_response_body (one));
  g_assert_cmpmem (g_bytes_get_data (flat, NULL), g_bytes_get_size (flat), "234", 3);
  g_clear_pointer (&flat, g_bytes_unref);

  eh_range_respond_bytes (two, "bytes=0-1,8-", body, "text/plain");
  g_assert_cmpuint (soup_server_message_get_status (two), ==, 206);
  type = soup_message_headers_get_one (soup_server_message_get_response_headers (two), "Content-Type");
  g_assert_true (g_str_has_prefix (type, "multipart/byteranges; boundary="));
  flat = soup_message_body_flatten (soup_server_message_get_response_body (two));
  {
    g_autofree char *text = g_strndup (g_bytes_get_data (flat, NULL), g_bytes_get_size (flat));
    const char *boundary = strchr (type, '=') + 1;
    g_autofree char *closing = g_strdup_printf ("\r\n--%s--\r\n", boundary);

    g_assert_nonnull (strstr (text, "Content-Range: bytes 0-1/10\r\n\r\n01\r\n"));
    g_assert_nonnull (strstr (text, "Content-Range: bytes 8-9/10\r\n\r\n89"));
    g_assert_true (g_str_has_suffix (text, closing));
  }

  eh_range_respond_bytes (none, "bytes=50-", body, "text/plain");
  g_assert_cmpuint (soup_server_message_get_status (none), ==, 416);
  g_assert_cmpstr (soup_message_headers_get_one (soup_server_message_get_response_headers (none),
                                                 "Content-Range"), ==, "bytes */10");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/range/single-ranges", test_single_ranges);
  g_test_add_func ("/eh/range/ignored-ranges-serve-whole", test_ignored_ranges_serve_whole);
  g_test_add_func ("/eh/range/unsatisfiable", test_unsatisfiable);
  g_test_add_func ("/eh/range/several-ranges", test_several_ranges);
  g_test_add_func ("/eh/range/overlapping-flood-is-bounded", test_overlapping_flood_is_bounded);
  g_test_add_func ("/eh/range/respond-partial-and-multipart", test_respond_partial_and_multipart);
  return g_test_run ();
}
