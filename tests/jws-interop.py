#!/usr/bin/env python3
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks our compact JWS against PyJWT, an independent JOSE implementation.

  jws-interop.py verify TOKEN CERT_PEM TYP
      verifies TOKEN with the public key of the certificate in CERT_PEM,
      requires the header's typ to be TYP, prints the payload; exit 0 if valid
  jws-interop.py sign KEY_PEM ALG TYP PAYLOAD_JSON
      prints a token over PAYLOAD_JSON signed with the PKCS#8 key in KEY_PEM
"""
import json
import sys

try:
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
except ImportError as e:
    sys.exit(f"jws-interop.py needs python3-jwt and python3-cryptography: {e}")


def algorithms_for(key):
    """The algorithms a key may verify: never the token's word alone."""
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return ["ES256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1":
        return ["ES384"]
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ["EdDSA"]
    if isinstance(key, rsa.RSAPublicKey):
        return ["RS256", "PS256"]
    sys.exit(f"no JWS algorithm for {type(key).__name__}")


def verify(token, cert_path, typ):
    with open(cert_path, "rb") as f:
        key = x509.load_pem_x509_certificate(f.read()).public_key()
    header = jwt.get_unverified_header(token)
    if header.get("typ") != typ:
        sys.exit(f"typ is {header.get('typ')!r}, wanted {typ!r}")
    claims = jwt.decode(token, key, algorithms=algorithms_for(key))
    print(json.dumps(claims, sort_keys=True, separators=(",", ":")))


def sign(key_path, alg, typ, payload):
    with open(key_path, "rb") as f:
        key = f.read()
    print(jwt.encode(json.loads(payload), key, algorithm=alg, headers={"typ": typ}))


def main(argv):
    if len(argv) == 5 and argv[1] == "verify":
        verify(*argv[2:])
    elif len(argv) == 6 and argv[1] == "sign":
        sign(*argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except jwt.PyJWTError as e:
        sys.exit(f"PyJWT refused the token: {e}")
