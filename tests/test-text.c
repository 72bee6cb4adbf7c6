/*
 * Copyright 2026 The ehttpd authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "eh-text.h"

/* names, ids and versions: only what they say, and nothing at the edges */
static void
test_words (void)
{
  const struct {
    const char *text;
    gsize min, max;
    const char *also;
    gboolean ok;
  } cases[] = {
    { "PS1", 3, 3, NULL, TRUE },
    { "PS", 3, 3, NULL, FALSE },
    { "PS12", 3, 3, NULL, FALSE },
    { "dp1.example:8443", 1, 253, "-.:", TRUE },
    { "dp1/../x", 1, 253, "-.:", FALSE },
    { "a b", 1, 64, "._-", FALSE },
    { "", 1, 64, "._-", FALSE },
    { "", 0, 64, NULL, FALSE },
    { "x", 0, 64, NULL, TRUE },
    { "caf\xc3\xa9", 1, 64, NULL, FALSE },
    { "tab\there", 1, 64, NULL, FALSE },
    { "x' OR 1=1 --", 1, 64, "-", FALSE },
    { "1.0+build-7", 1, 64, "._+-", TRUE },
    { "aaaaa", 1, 4, NULL, FALSE },
    { NULL, 1, 4, NULL, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_true (eh_text_is_word (cases[i].text, cases[i].min, cases[i].max, cases[i].also) == cases[i].ok);
}

/* a huge text is refused without reading past its limit */
static void
test_long_text (void)
{
  g_autofree char *huge = g_strnfill (1 << 20, 'a');

  g_assert_false (eh_text_is_word (huge, 1, 64, NULL));
  g_assert_true (eh_text_is_word (huge, 1, 1 << 20, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/eh/text/words", test_words);
  g_test_add_func ("/eh/text/long-text", test_long_text);
  return g_test_run ();
}
