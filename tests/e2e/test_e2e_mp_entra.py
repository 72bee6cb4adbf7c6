# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Entra ID exchange end to end: RS256 tokens minted here with
python3-jwt from a test RSA key, its JWKS served by a small HTTPS server
(a certificate made here) that counts fetches, a real site host running
ca,mp, discovery imported with ehttpctl, and explainable denials."""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import make_certificate
from test_e2e_mp import Client, TokenTestCase, thumbprint

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
AUDIENCE = "api://ehttpd-ps1"
TOKEN_PROOF_TYP = "mp-token+jwt"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class JwksServer:
    """Serves a JWKS document over HTTPS and counts the fetches."""

    def __init__(self, directory):
        self.ca = make_certificate(directory, "jwks-ca", days=2, ca=True)
        crt, key = make_certificate(directory, "jwks", issuer=self.ca)
        self.document = b'{"keys": []}'
        self.fetches = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                body = server.document
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(crt), str(key))
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/discovery/v2.0/keys"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, keys):
        self.document = json.dumps({"keys": keys}).encode()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class EntraKey:
    """A tenant signing key and its JWKS entry."""

    def __init__(self, kid, bits=2048):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self.jwk = dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key())),
                        kid=kid, use="sig", alg="RS256")

    def token(self, claims=None, headers=None, **overrides):
        now = int(time.time())
        body = {"aud": AUDIENCE, "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "tid": TENANT,
                "iat": now, "nbf": now, "exp": now + 3600}
        body.update(claims or {})
        body.update(overrides)
        return jwt.encode(body, self.key, algorithm="RS256", headers=dict({"kid": self.kid}, **(headers or {})))


def user_claims(oid, sid=None):
    claims = {"oid": oid, "upn": "ada@example.com", "email": "ada@example.com", "name": "Ada"}
    if sid:
        claims["onprem_sid"] = sid
    return claims


class EntraTestCase(TokenTestCase):
    def setUp(self):
        super().setUp()
        self.jwks = JwksServer(self.workdir)
        self.key = EntraKey("k1")
        self.jwks.serve([self.key.jwk])
        self.user = str(uuid.uuid4())
        self.user_sid = "S-1-5-21-1004336348-1177238915-682003330-1001"
        self.device = str(uuid.uuid4())

    def tearDown(self):
        self.jwks.stop()
        super().tearDown()

    def entra_site(self, **mp):
        config = {"entra-tenants": TENANT, "entra-audience": AUDIENCE, "entra-jwks": self.jwks.url,
                  "entra-jwks-ca": str(self.jwks.ca[0])}
        config.update(mp)
        host = self.site(mp=config)
        self.wait_for_site_info(host)
        return host

    def discover(self, host, users=(), devices=()):
        path = f"{self.workdir}/discovery-{uuid.uuid4().hex}.json"
        with open(path, "w") as f:
            json.dump({"users": [{"tenant_id": TENANT, "object_id": u, "sid": self.user_sid, "name": "Ada"}
                                 for u in users],
                       "devices": [{"tenant_id": TENANT, "device_id": d, "name": "PC1"} for d in devices]}, f)
        return host.ctl("discovery", "import", path, check=False)

    def sts(self, host, client, entra_token, path="/ehttpd/mp/sts"):
        """(status, reply) of one exchange; retried while a restarted MP loads its signing key"""
        deadline = time.monotonic() + 10
        while True:
            proof = jwt.encode({"nonce": self.nonce(host)}, client.key, algorithm=client.alg,
                               headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(client.jwk)})
            status, reply = self.request(host, "https", path, {"entra_token": entra_token, "proof": proof})
            if status != 503 or time.monotonic() > deadline:
                return status, reply
            time.sleep(0.1)

    def device_token(self, **overrides):
        return self.key.token({"deviceid": self.device, "oid": str(uuid.uuid4())}, **overrides)

    def user_token(self, oid=None, **overrides):
        return self.key.token(user_claims(oid or self.user, self.user_sid), **overrides)


class ExchangeTest(EntraTestCase):
    def test_discovered_device_and_user_get_tokens(self):
        host = self.entra_site()
        self.assertEqual(self.discover(host, users=[self.user], devices=[self.device]).returncode, 0)
        listed = host.ctl_json("discovery", "list")
        self.assertEqual(sorted((e["kind"], e["id"]) for e in listed),
                         sorted([("user", self.user), ("device", self.device)]))

        # registration with a device token: approved at once, in the device's name
        client = Client()
        status, reply = self.register(host, client, entra_token=self.device_token())
        self.assertEqual((status, reply["state"]), (201, "approved"), reply)
        shown = host.ctl_json("client", "show", reply["client_guid"])
        self.assertEqual(shown["approved-by"], f"entra device {TENANT}/{self.device}")

        # the exchange: a device token, then a user token (also on ConfigMgr's path)
        status, issued = self.sts(host, client, self.device_token())
        self.assertEqual(status, 200, issued)
        claims = self.verify_with_bundle(host, issued["token"])
        self.assertEqual(claims["entra"], {"kind": "device", "tid": TENANT, "id": self.device})
        self.assertEqual(claims["cnf"], {"jkt": thumbprint(client.jwk)})
        status, issued = self.sts(host, client, self.user_token(), path="/CCM_STS")
        self.assertEqual(status, 200, issued)
        claims = self.verify_with_bundle(host, issued["token"])
        self.assertEqual(claims["entra"], {"kind": "user", "tid": TENANT, "id": self.user})
        self.assertNotIn("ada@example.com", json.dumps(claims))
        status, who = self.whoami(host, issued["token"])
        self.assertEqual((status, who["entra"]["kind"]), (200, "user"))
        # v1 issuer of the same tenant
        status, _ = self.sts(host, client, self.user_token(iss=f"https://sts.windows.net/{TENANT}/"))
        self.assertEqual(status, 200)

    def test_undiscovered_user_is_refused_with_reason_log_line_and_explanation(self):
        host = self.entra_site()
        client, guid = self.approved_client(host)
        stranger = str(uuid.uuid4())
        status, refused = self.sts(host, client, self.user_token(oid=stranger))
        self.assertEqual(status, 403, refused)
        self.assertEqual((refused["error"], refused["reason"]), ("Un-authorizedrequest", "user_not_discovered"))
        self.assertIn(f"AAD user with ID {stranger} and SID {self.user_sid} is not completely discovered",
                      host.read_log())
        self.assertIn(f"{refused['request_id']}: refused /ehttpd/mp/sts: reason user_not_discovered",
                      host.read_log())
        explained = host.ctl_json("explain", refused["request_id"])
        self.assertEqual(explained["code"], "user_not_discovered")
        self.assertEqual(explained["subject"], f"entra user {TENANT}/{stranger}")
        self.assertIn("discovered", explained["rule"])
        self.assertGreater(explained["time"], 0)
        text = host.ctl("explain", refused["request_id"]).stdout
        self.assertIn("ehttpctl discovery import", text)
        self.assertEqual(host.ctl_json("explain", "user_not_discovered")["status"], 403)
        self.assertEqual(host.ctl("explain", "no-such-thing", check=False).returncode, 1)
        self.assertEqual(host.ctl("explain", refused["request_id"], user=65534, check=False).returncode, 4)
        # an undiscovered device; and a registration with it stores nothing
        status, refused = self.sts(host, client, self.device_token())
        self.assertEqual((status, refused["reason"]), (403, "device_not_discovered"))
        before = len(self.clients(host))
        status, refused = self.register(host, Client(), entra_token=self.user_token(oid=stranger))
        self.assertEqual((status, refused["reason"]), (403, "user_not_discovered"))
        self.assertEqual(len(self.clients(host)), before)
        # after discovery the same user gets a token; after removal, no longer
        self.assertEqual(self.discover(host, users=[stranger]).returncode, 0)
        status, _ = self.sts(host, client, self.user_token(oid=stranger))
        self.assertEqual(status, 200)
        self.assertEqual(host.ctl_json("discovery", "remove", stranger)["removed"], 1)
        status, refused = self.sts(host, client, self.user_token(oid=stranger))
        self.assertEqual((status, refused["reason"]), (403, "user_not_discovered"))

    def test_hostile_entra_tokens_are_refused(self):
        host = self.entra_site()
        self.discover(host, users=[self.user], devices=[self.device])
        client, _ = self.approved_client(host)
        now = int(time.time())
        public_pem = self.key.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        good = self.user_token()
        head, payload, _ = good.split(".")

        def hs256(secret):
            header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
            signing_input = f"{header}.{payload}".encode()
            return f"{header}.{payload}." + b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())

        def unsigned(alg):
            header = b64url(json.dumps({"alg": alg, "kid": "k1"}).encode())
            return f"{header}.{payload}."

        other_key = EntraKey("k1")
        cases = [
            ("other tenant", self.user_token(tid=OTHER_TENANT,
                                             iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"),
             "entra_wrong_tenant"),
            ("issuer of another tenant", self.user_token(iss=f"https://sts.windows.net/{OTHER_TENANT}/"),
             "entra_wrong_tenant"),
            ("issuer elsewhere", self.user_token(iss="https://evil.example/" + TENANT + "/v2.0"),
             "entra_wrong_tenant"),
            ("wrong audience", self.user_token(aud="api://someone-else"), "entra_wrong_audience"),
            ("audience with NUL", self.user_token(aud=AUDIENCE + "\u0000x"), "entra_token_invalid"),
            ("expired beyond the leeway", self.user_token(exp=now - 120, nbf=now - 3600), "entra_token_expired"),
            ("not yet valid beyond the leeway", self.user_token(nbf=now + 120), "entra_token_expired"),
            ("exp as a string", self.user_token(exp=str(now + 3600)), "entra_token_invalid"),
            ("HS256 with the RSA public key", hs256(public_pem), "entra_token_invalid"),
            ("alg none", unsigned("none"), "entra_token_invalid"),
            ("alg None", unsigned("None"), "entra_token_invalid"),
            ("signed by another key with our kid", other_key.token(user_claims(self.user)), "entra_token_invalid"),
            ("injected jwk", self.key.token(user_claims(self.user), headers={"jwk": other_key.jwk}),
             "entra_token_invalid"),
            ("no oid", self.key.token({"upn": "ada@example.com"}), "entra_token_invalid"),
            ("two segments", f"{head}.{payload}", "entra_token_invalid"),
        ]
        for name, token, reason in cases:
            with self.subTest(name):
                status, refused = self.sts(host, client, token)
                self.assertEqual((status, refused["reason"]), (401, reason), (name, refused))
                self.assertEqual(refused["error"], "Un-authorizedrequest")
        # within the leeway: accepted
        now = int(time.time())
        status, _ = self.sts(host, client, self.user_token(exp=now - 30, nbf=now - 3600))
        self.assertEqual(status, 200)
        # the exchange needs the client's proof: an Entra token alone gets nothing
        status, refused = self.request(host, "https", "/ehttpd/mp/sts", {"entra_token": good})
        self.assertEqual((status, refused["reason"]), (400, "invalid_request"))
        status, refused = self.request(host, "http", "/ehttpd/mp/sts", {"entra_token": good, "proof": "x"})
        self.assertEqual(status, 403)

    def test_unknown_kid_flood_refreshes_at_most_once(self):
        host = self.entra_site()
        self.discover(host, users=[self.user])
        client, _ = self.approved_client(host)
        self.assertEqual(self.sts(host, client, self.user_token())[0], 200)
        before = self.jwks.fetches
        # a new key the tenant published after our start: one refresh finds it
        rotated = EntraKey("k2")
        self.jwks.serve([self.key.jwk, rotated.jwk])
        status, issued = self.sts(host, client, rotated.token(user_claims(self.user)))
        self.assertEqual(status, 200, issued)
        self.assertEqual(self.jwks.fetches, before + 1)

        # 1,000 made-up kids from 10 connections at once: no further fetch in the interval
        tokens = [rotated.token(user_claims(self.user), headers={"kid": f"made-up-{i}"}) for i in range(1000)]
        address, port = host.address("https")
        context = ssl.create_default_context(cafile=str(self.root_pem))
        reasons = {}
        lock = threading.Lock()

        def worker(chunk):
            connection = http.client.HTTPSConnection(address, port, context=context, timeout=30)
            for token in chunk:
                connection.request("GET", "/ehttpd/mp/nonce")
                nonce = json.loads(connection.getresponse().read())["nonce"]
                proof = jwt.encode({"nonce": nonce}, client.key, algorithm=client.alg,
                                   headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(client.jwk)})
                connection.request("POST", "/ehttpd/mp/sts", json.dumps({"entra_token": token, "proof": proof}),
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                reply = json.loads(response.read())
                with lock:
                    key = (response.status, reply.get("reason"))
                    reasons[key] = reasons.get(key, 0) + 1
            connection.close()

        threads = [threading.Thread(target=worker, args=(tokens[i::10],)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(reasons, {(401, "entra_key_unknown"): 1000})
        self.assertEqual(self.jwks.fetches, before + 1)
        self.assertEqual(host.plugin_states()["mp"][0], "running")

    def test_first_unknown_kid_after_start_refreshes_once(self):
        host = self.entra_site()
        self.discover(host, users=[self.user])
        client, _ = self.approved_client(host)
        before = self.jwks.fetches
        tokens = [self.key.token(user_claims(self.user), headers={"kid": f"unknown-{i}"}) for i in range(20)]
        for token in tokens:
            status, refused = self.sts(host, client, token)
            self.assertEqual((status, refused["reason"]), (401, "entra_key_unknown"))
        self.assertEqual(self.jwks.fetches, before + 1)


class UserCentricTest(EntraTestCase):
    def get(self, host, path, token):
        request = urllib.request.Request(host.url("https") + path, headers={"Authorization": "Bearer " + token})
        context = ssl.create_default_context(cafile=str(self.root_pem))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_available_assignments_need_a_user_token(self):
        host = self.entra_site()
        self.discover(host, users=[self.user], devices=[self.device])
        client, _ = self.approved_client(host)
        required = host.ctl_json("deployment", "create", "--content", "PS100001", "--action", "install")
        offered = host.ctl_json("deployment", "create", "--content", "PS100002", "--action", "available")
        plain = self.token(host, client)["token"]
        device = self.sts(host, client, self.device_token())[1]["token"]
        user = self.sts(host, client, self.user_token())[1]["token"]
        for name, token, expected in (("no Entra", plain, [required["id"]]),
                                      ("device", device, [required["id"]]),
                                      ("user", user, [required["id"], offered["id"]])):
            status, policy = self.get(host, "/ehttpd/mp/policy", token)
            self.assertEqual(status, 200, (name, policy))
            listed = [a["id"] for a in jwt.decode(policy, options={"verify_signature": False})["assignments"]]
            self.assertEqual(listed, expected, name)
        status, refused = self.get(host, "/ehttpd/mp/policy/" + offered["id"], device)
        self.assertEqual((status, refused["reason"]), (403, "user_token_required"))
        self.assertEqual(host.ctl_json("explain", refused["request_id"])["code"], "user_token_required")
        status, body = self.get(host, "/ehttpd/mp/policy/" + offered["id"], user)
        self.assertEqual((status, json.loads(body)["action"]), (200, "available"))


class HostileJwksTest(EntraTestCase):
    def test_hostile_key_sets_are_refused_without_a_crash(self):
        small = EntraKey("small", bits=1024)
        even = dict(self.key.jwk, kid="even", e=b64url((65536).to_bytes(3, "big")))
        documents = {
            "tiny RSA key": json.dumps({"keys": [small.jwk]}),
            "even exponent": json.dumps({"keys": [even]}),
            "n as a number": json.dumps({"keys": [dict(self.key.jwk, n=12345)]}),
            "keys as an object": json.dumps({"keys": {"k1": self.key.jwk}}),
            "duplicate kid": json.dumps({"keys": [self.key.jwk, self.key.jwk]}),
            "deep": "[" * 100000 + "]" * 100000,
            "huge": json.dumps({"keys": [self.key.jwk], "pad": "A" * (300 * 1024)}),
            "private key": json.dumps({"keys": [dict(self.key.jwk, d="AQAB")]}),
        }
        host = None
        for name, document in documents.items():
            with self.subTest(name):
                self.jwks.document = document.encode()
                if host is None:
                    host = self.entra_site(**{"entra-jwks-refresh": "10"})
                    self.discover(host, users=[self.user])
                    client, _ = self.approved_client(host)
                else:
                    # an unknown kid asks for the set again
                    host.stop()
                    host.start()
                fetches = self.jwks.fetches
                status, refused = self.sts(host, client, self.user_token())
                self.assertEqual((status, refused["reason"]), (401, "entra_key_unknown"), name)
                self.assertGreaterEqual(self.jwks.fetches, fetches)
                self.assertIn("was refused", host.read_log())
                self.assertEqual(host.plugin_states()["mp"][0], "running")
        # the good set again: the same token now passes
        self.jwks.serve([self.key.jwk])
        host.stop()
        host.start()
        self.assertEqual(self.sts(host, client, self.user_token())[0], 200)

    def test_a_jwks_file_and_config_errors(self):
        path = f"{self.workdir}/jwks.json"
        with open(path, "w") as f:
            json.dump({"keys": [self.key.jwk]}, f)
        host = self.site(mp={"entra-tenants": TENANT, "entra-audience": AUDIENCE, "entra-jwks": path})
        self.wait_for_site_info(host)
        self.discover(host, devices=[self.device])
        client, _ = self.approved_client(host)
        status, issued = self.sts(host, client, self.device_token())
        self.assertEqual(status, 200, issued)
        host.stop()
        # half a configuration fails the plugin with the reason; ca keeps running
        other = self.site(mp={"entra-tenants": TENANT})
        state, error = other.plugin_states()["mp"]
        self.assertEqual(state, "failed")
        self.assertIn("entra-audience", error)


class DiscoveryTest(EntraTestCase):
    def test_import_is_checked_whole_and_admin_only(self):
        host = self.entra_site()
        path = f"{self.workdir}/d.json"

        def attempt(document, user=None):
            with open(path, "w") as f:
                f.write(document if isinstance(document, str) else json.dumps(document))
            return host.ctl("discovery", "import", path, user=user, check=False)

        good = {"tenant_id": TENANT, "object_id": self.user}
        hostile = [
            {"users": [good, {"tenant_id": TENANT, "object_id": "x' OR 1=1 --"}]},
            {"users": [dict(good, sid="S-1-5-21; rm -rf /")]},
            {"users": [dict(good, upn="ada@example.com")]},
            {"users": [dict(good, name="a\u0007b")]},
            {"devices": [{"tenant_id": TENANT, "object_id": self.device}]},
            {"users": good},
            {"groups": []},
            {},
            "[" * 100000,
            '{"users": [], "users": []}',
        ]
        for document in hostile:
            result = attempt(document)
            self.assertEqual(result.returncode, 1, (document if len(str(document)) < 200 else "deep", result.stderr))
        self.assertEqual(host.ctl_json("discovery", "list"), [])
        self.assertEqual(attempt({"users": [good]}, user=65534).returncode, 4)
        self.assertEqual(host.ctl("discovery", "list", user=65534, check=False).returncode, 4)
        self.assertEqual(attempt({"users": [good], "devices": [{"tenant_id": TENANT, "device_id": self.device}]})
                         .returncode, 0)
        # again: an update, not a second row
        self.assertEqual(attempt({"users": [dict(good, name="Ada L.")]}).returncode, 0)
        listed = host.ctl_json("discovery", "list")
        self.assertEqual(len(listed), 2)
        self.assertEqual([e["name"] for e in listed if e["kind"] == "user"], ["Ada L."])
        self.assertEqual(host.ctl("discovery", "remove", str(uuid.uuid4()), check=False).returncode, 1)
        self.assertEqual(host.ctl("discovery", "remove", "not-a-guid", check=False).returncode, 1)
        self.assertEqual(host.ctl("discovery", "remove", self.device, user=65534, check=False).returncode, 4)
