# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The shipped config shows every default the code has, commented out."""
import os
import pathlib
import re
import unittest

from harness import EHTTPD, run

SHIPPED = pathlib.Path(os.environ.get("EH_SOURCE_ROOT", "../..")) / "data" / "ehttpd.conf"
# these two depend on the install prefix, the rest must match exactly
PREFIX_DEPENDENT = re.compile(r"^#(state-dir|plugin-dir)=.*$", re.M)


class ShippedConfigTest(unittest.TestCase):
    def test_shipped_config_matches_the_code(self):
        generated = run([str(EHTTPD), "--print-default-config"]).stdout
        shipped = SHIPPED.read_text()
        self.assertEqual(PREFIX_DEPENDENT.sub("", shipped), PREFIX_DEPENDENT.sub("", generated),
                         "data/ehttpd.conf is stale: regenerate it with ehttpd --print-default-config")

    def test_every_line_is_a_comment_or_a_group(self):
        for line in SHIPPED.read_text().splitlines():
            self.assertTrue(line == "" or line.startswith("#") or line.startswith("["), line)


if __name__ == "__main__":
    unittest.main()
