# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the MP refuses, end to end: bulk registration tokens under
concurrency and use caps, the RFC 8725 list of hostile tokens presented as
client tokens to every token-authenticated endpoint (signed with the MP's
own token signing key where a signature would otherwise hide the rule
under test), and the reason code, log line and `ehttpctl explain` of
refusals on registration, token and location."""
import base64
import hashlib
import hmac
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from test_e2e_mp import Client, TokenTestCase, thumbprint


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class BulkTokenLimitsTest(TokenTestCase):
    def bulk_body(self, host, bulk_token):
        client = Client()
        return client.body(self.nonce(host), bulk_token=bulk_token)

    def test_default_lifetime_cap_and_max_uses(self):
        host = self.site()
        created = host.ctl_json("bulk-token", "create")
        listed = {t["guid"]: t for t in host.ctl_json("bulk-token", "list")}[created["guid"]]
        # 3 days by default, stored as such
        self.assertEqual(listed["expires-at"] - listed["created-at"], 3 * 86400)
        self.assertEqual(created["expires-at"], listed["expires-at"])
        self.assertEqual(listed["max-uses"], 0)
        self.assertEqual(host.ctl("bulk-token", "create", "--lifetime", "8d", check=False).returncode, 1)
        self.assertEqual(host.ctl("bulk-token", "create", "--lifetime", "169h", check=False).returncode, 1)
        self.assertEqual(len(host.ctl_json("bulk-token", "list")), 1)

        five = host.ctl_json("bulk-token", "create", "--max-uses", "5")
        results = [self.request(host, "https", "/ehttpd/mp/register", self.bulk_body(host, five["token"]))
                   for _ in range(6)]
        self.assertEqual([status for status, _ in results], [201] * 5 + [403])
        self.assertEqual([reply["state"] for _, reply in results[:5]], ["approved"] * 5)
        self.assertEqual(results[5][1]["reason"], "bulk_token_exhausted")
        ledger = {t["guid"]: t for t in host.ctl_json("bulk-token", "list")}[five["guid"]]
        self.assertEqual((ledger["uses"], len(ledger["clients"])), (5, 5))
        self.assertEqual(len(self.clients(host)), 5)

        # blocked by GUID: refused, and its reason explained
        host.ctl("bulk-token", "block", five["guid"])
        status, refused = self.request(host, "https", "/ehttpd/mp/register", self.bulk_body(host, created["token"]))
        self.assertEqual(status, 201)
        host.ctl("bulk-token", "block", created["guid"])
        status, refused = self.request(host, "https", "/ehttpd/mp/register", self.bulk_body(host, created["token"]))
        self.assertEqual((status, refused["reason"]), (403, "bulk_token_blocked"))
        explained = host.ctl_json("explain", refused["request_id"])
        self.assertEqual((explained["code"], explained["path"]), ("bulk_token_blocked", "/ehttpd/mp/register"))
        self.assertEqual(len(explained["subject"]), 43)  # the key thumbprint

    def test_fifty_concurrent_uses_of_a_one_time_token(self):
        host = self.site()
        once = host.ctl_json("bulk-token", "create", "--max-uses", "1")
        bodies = [json.dumps(self.bulk_body(host, once["token"])).encode() for _ in range(50)]
        self.race_one_time_bulk_token(host, once["guid"], bodies)


class HostileClientTokenTest(TokenTestCase):
    ENDPOINTS = ("/ehttpd/mp/whoami", "/ehttpd/mp/policy", "/ehttpd/mp/content/PS100001")

    def get(self, host, path, token):
        request = urllib.request.Request(host.url("https") + path, headers={"Authorization": "Bearer " + token})
        context = ssl.create_default_context(cafile=str(self.root_pem))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, ConnectionError):
            # the front closes a connection whose header is over its cap
            return 0, b""

    def mp_signing_key(self, host):
        """the MP's own token signing key (this test runs as the daemon's user)"""
        found = sorted(host.state.glob("**/token-key-*.pem"))
        self.assertEqual(len(found), 1, found)
        return serialization.load_pem_private_key(found[0].read_bytes(), password=None)

    def sign(self, key, header, payload):
        """a compact ES256 JWS over header and payload exactly as given (text or dict)"""
        head = b64url(header if isinstance(header, str) else json.dumps(header))
        body = b64url(payload if isinstance(payload, str) else json.dumps(payload))
        r, s = decode_dss_signature(key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
        return f"{head}.{body}." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def test_rfc8725_list_is_refused_everywhere(self):
        host = self.site()
        client, guid = self.approved_client(host)
        good = self.token(host, client)["token"]
        header = jwt.get_unverified_header(good)
        claims = jwt.decode(good, options={"verify_signature": False})
        key = self.mp_signing_key(host)
        attacker = ec.generate_private_key(ec.SECP256R1())
        cert_key = None
        for entry in self.bundle(host)["keys"]:
            if entry.get("x5t#S256") == header["x5t#S256"]:
                cert_key = x509.load_der_x509_certificate(base64.b64decode(entry["x5c"][0])).public_key()
        public_pem = cert_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        now = int(time.time())

        # our own signature over our own claims verifies: the control
        self.assertEqual(self.get(host, "/ehttpd/mp/whoami", self.sign(key, header, claims))[0], 200)
        self.assertEqual(self.get(host, "/ehttpd/mp/whoami", self.sign(key, header, dict(claims, exp=now - 30)))[0],
                         200)

        def with_header(**members):
            return self.sign(key, dict(header, **members), claims)

        def with_claims(**members):
            return self.sign(key, header, dict(claims, **members))

        head, payload, signature = good.split(".")
        raw_claims = json.dumps(claims)
        zero = b64url(bytes(64))
        r_zero = b64url(bytes(32) + base64.urlsafe_b64decode(signature + "==")[32:])
        s_zero = b64url(base64.urlsafe_b64decode(signature + "==")[:32] + bytes(32))
        hs_header = b64url(json.dumps(dict(header, alg="HS256")))
        hs_input = f"{hs_header}.{payload}"
        cases = {
            "alg none": f"{b64url(json.dumps(dict(header, alg='none')))}.{payload}.",
            "alg None": f"{b64url(json.dumps(dict(header, alg='None')))}.{payload}.",
            "HS256 with the public key": hs_input + "." + b64url(hmac.new(public_pem, hs_input.encode(),
                                                                          hashlib.sha256).digest()),
            "injected jwk": self.sign(attacker, dict(header, jwk=json.loads(
                jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key()))), claims),
            "jwk with our signature": with_header(jwk={"kty": "EC"}),
            "jku": with_header(jku="https://evil.example/keys"),
            "x5u": with_header(x5u="https://evil.example/cert"),
            "x5c": with_header(x5c=["MIIB"]),
            "kid path": with_header(kid="../../../../etc/passwd"),
            "kid SQL": with_header(kid="' OR 1=1 --"),
            "kid 10 KB": with_header(kid="k" * 10240),
            "unknown crit": with_header(crit=["exp"], exp=1),
            "wrong typ": with_header(typ="JWT"),
            "content typ": with_header(typ="content+jwt"),
            "wrong aud": with_claims(aud="ehttpd:XYZ:mp"),
            "wrong iss": with_claims(iss="XYZ"),
            "expired beyond 60 s": with_claims(exp=now - 120),
            "not valid for 120 s": with_claims(nbf=now + 120),
            "bound to another key": with_claims(cnf={"jkt": thumbprint(Client().jwk)}),
            "attacker's key, our x5t": self.sign(attacker, header, claims),
            "two segments": f"{head}.{payload}",
            "four segments": good + ".x",
            "1 MB": good + "A" * (1024 * 1024),
            "bad base64url (padding)": f"{head}.{payload}=.{signature}",
            "bad base64url (+/)": f"{head}.{payload.replace('-', '+').replace('_', '/')}x+/.{signature}",
            "r = 0 and s = 0": f"{head}.{payload}.{zero}",
            "r = 0": f"{head}.{payload}.{r_zero}",
            "s = 0": f"{head}.{payload}.{s_zero}",
            "duplicate claims": self.sign(key, header, raw_claims[:-1] + f', "sub": "{uuid.uuid4()}"}}'),
            "exp 1e400": self.sign(key, header, json.dumps({k: v for k, v in claims.items() if k != "exp"})[:-1]
                                   + ', "exp": 1e400}'),
            "exp a string": with_claims(exp=str(now + 3600)),
            "exp huge": self.sign(key, header, json.dumps({k: v for k, v in claims.items() if k != "exp"})[:-1]
                                  + ', "exp": 99999999999999999999999}'),
            "NUL in aud": with_claims(aud=claims["aud"] + "\u0000"),
            "payload 3,000 deep": self.sign(key, header, "[" * 3000 + "]" * 3000),
            "header 3,000 deep": self.sign(key, "[" * 3000 + "]" * 3000, claims),
            "payload 100,000 deep": self.sign(key, header, "[" * 100000 + "]" * 100000),
        }
        for name, token in cases.items():
            for path in self.ENDPOINTS:
                with self.subTest(name=name, path=path):
                    status, body = self.get(host, path, token)
                    self.assertNotEqual(status, 200, (name, path))
                    if len(token) < 8192:
                        self.assertEqual(status, 401, (name, path, body[:200]))
                        self.assertEqual(json.loads(body)["reason"], "invalid_token")
        self.assertEqual(self.get(host, "/ehttpd/mp/whoami", good)[0], 200)
        self.assertEqual(host.plugin_states()["mp"][0], "running")
        # the refusals are remembered with their rule
        status, body = self.get(host, "/ehttpd/mp/whoami", cases["kid SQL"])
        explained = host.ctl_json("explain", json.loads(body)["request_id"])
        self.assertEqual((explained["code"], explained["path"]), ("invalid_token", "/ehttpd/mp/whoami"))
        self.assertIn("kid", explained["message"])


class HostileClientTokenThroughLibsoupTest(HostileClientTokenTest):
    """the same hostile token requests with every request through libsoup"""
    quick_answers = False


class ExplainTest(TokenTestCase):
    def test_every_kind_of_refusal_is_explained(self):
        host = self.site()
        client = Client()
        status, reply = self.register(host, client)
        guid = reply["client_guid"]
        refusals = []
        # registration: a proof over someone else's nonce
        status, refused = self.request(host, "https", "/ehttpd/mp/register", client.body("A" * 43))
        self.assertIn(refused["reason"], ("invalid_proof", "invalid_request"))
        refusals.append((refused, 400, refused["reason"], None))
        # token: pending
        status, refused = self.token_request(host, client)
        refusals.append((refused, 403, "client_pending", guid))
        host.ctl_json("client", "approve", guid)
        token = self.token(host, client)["token"]
        # location: a malformed content id, then one no DP holds
        for path, code in (("/ehttpd/mp/content/NOT-AN-ID", "invalid_request"),
                           ("/ehttpd/mp/content/PS100001", "content_not_located")):
            request = urllib.request.Request(host.url("https") + path, headers={"Authorization": "Bearer " + token})
            try:
                urllib.request.urlopen(request, context=ssl.create_default_context(cafile=str(self.root_pem)))
                self.fail("location answered " + path)
            except urllib.error.HTTPError as error:
                refusals.append((json.loads(error.read()), error.code, code, guid))
        # blocked
        host.ctl_json("client", "block", guid)
        status, refused = self.token_request(host, client)
        refusals.append((refused, 403, "client_blocked", guid))
        status, refused = self.register(host, client)
        refusals.append((refused, 403, "client_blocked", guid))

        log = host.read_log()
        for refused, status, code, subject in refusals:
            with self.subTest(code=code):
                self.assertEqual(refused["reason"], code)
                self.assertEqual(refused["error"], code)
                self.assertIn(f"{refused['request_id']}: refused ", log)
                self.assertIn(f"reason {code}, subject {subject or '-'}", log)
                explained = host.ctl_json("explain", refused["request_id"])
                self.assertEqual((explained["code"], explained["status"]), (code, status))
                self.assertEqual(explained["subject"], subject or "")
                self.assertEqual(explained["rule"], host.ctl_json("explain", code)["rule"])
                text = host.ctl("explain", refused["request_id"]).stdout
                self.assertIn(explained["rule"], text)
        # ids are not guessed into something else
        for bad in ("", "x" * 5000, "'; DROP TABLE mp_clients; --"):
            self.assertEqual(host.ctl("explain", bad, check=False).returncode, 1)
        self.assertEqual(len(self.clients(host)), 1)
