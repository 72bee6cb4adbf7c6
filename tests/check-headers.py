#!/usr/bin/env python3
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A plugin includes the umbrella header ehttpd.h and nothing else of core/.

Core headers are private unless ehttpd.h includes them; a plugin that
reaches past the umbrella (an eh-*-private.h, or a core header directly)
couples itself to core internals, so this check fails the build's tests.
Also checks every source file carries an SPDX identifier.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
core_headers = {p.name for p in (root / "core").glob("*.h")}
include = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
problems = []

for path in sorted((root / "plugins").rglob("*.[ch]")):
    for name in include.findall(path.read_text()):
        base = pathlib.PurePath(name).name
        if base in core_headers and base != "ehttpd.h":
            problems.append(f"{path.relative_to(root)}: includes core header {name}; use ehttpd.h")
        if base.endswith("-private.h") and base in core_headers:
            problems.append(f"{path.relative_to(root)}: includes private {name}")

for pattern in ("core/**/*.[ch]", "plugins/**/*.[ch]", "tests/**/*.[ch]", "fuzzing/*.c", "client/**/*.[ch]"):
    for path in sorted(root.glob(pattern)):
        if "SPDX-License-Identifier" not in path.read_text()[:400]:
            problems.append(f"{path.relative_to(root)}: no SPDX-License-Identifier in its first lines")

for p in problems:
    print(p)
print(f"{len(problems)} problems")
sys.exit(1 if problems else 0)
