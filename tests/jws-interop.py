#!/usr/bin/env python3
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks our JWS against PyJWT, a standard JOSE library.

  jws-interop.py verify TOKEN PUBLIC_KEY_PEM TYP   -> prints the payload, exit 0 if valid
  jws-interop.py sign PRIVATE_KEY_PEM ALG TYP PAYLOAD_JSON -> prints a token
"""
import json
import sys

import jwt

mode = sys.argv[1]
if mode == "verify":
    token, key_path, typ = sys.argv[2:5]
    key = open(key_path).read()
    header = jwt.get_unverified_header(token)
    if header.get("typ") != typ:
        sys.exit(f"typ is {header.get('typ')!r}, not {typ!r}")
    claims = jwt.decode(token, key, algorithms=[header["alg"]], options={"verify_aud": False})
    print(json.dumps(claims, sort_keys=True))
elif mode == "sign":
    key_path, alg, typ, payload = sys.argv[2:6]
    print(jwt.encode(json.loads(payload), open(key_path).read(), algorithm=alg, headers={"typ": typ}))
else:
    sys.exit(f"unknown mode {mode}")
