# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The mp role end to end: a real site host running ca,mp, ehttpctl, and a
client written here with python3-cryptography and python3-jwt."""
import base64
import json
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from harness import HostTestCase, plugin_dir_with, raw_exchange, status_lines, wait_for

PROOF_TYP = "mp-register+jwt"


def ec_jwk(public_key):
    """A P-256 JWK with full-width coordinates, as RFC 7518 6.2.1.2 requires
    (python3-jwt 2.6's to_jwk drops leading zero bytes, 1 key in 128)."""
    numbers = public_key.public_numbers()

    def coordinate(value):
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    return {"kty": "EC", "crv": "P-256", "x": coordinate(numbers.x), "y": coordinate(numbers.y)}


class Client:
    """A client agent: its own key, a host name and a hardware id."""

    def __init__(self, kind="ec", host_name="pc1.example", hardware_id=None):
        self.kind = kind
        self.host_name = host_name
        self.hardware_id = hardware_id or "hw-" + uuid.uuid4().hex
        if kind == "ec":
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = ec_jwk(self.key.public_key())
        else:
            self.key = ed25519.Ed25519PrivateKey.generate()
            self.alg = "EdDSA"
            self.jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.key.public_key()))

    def proof(self, nonce, host_name=None, key=None, alg=None):
        claims = {"nonce": nonce, "host_name": host_name or self.host_name,
                  "hardware_id": self.hardware_id}
        return jwt.encode(claims, key or self.key, algorithm=alg or self.alg,
                          headers={"typ": PROOF_TYP})

    def body(self, nonce, **overrides):
        body = {"jwk": self.jwk, "host_name": self.host_name, "hardware_id": self.hardware_id,
                "proof": self.proof(nonce)}
        body.update(overrides)
        return body


class MpTestCase(HostTestCase):
    # POST token is a quick answer (core/eh-quick.h) unless a subclass turns them off
    quick_answers = True

    def site(self, mp=None):
        plugins = ("ca", "mp")
        host = self.host(plugins=plugins, with_certificate=False,
                         plugin_dir=plugin_dir_with(self.workdir, *plugins),
                         groups={"mp": mp or {}, "front": {"quick-answers": str(self.quick_answers).lower()}})
        host.start()
        deadline = time.monotonic() + 10
        while not host.ctl_json("status")["certificate"]:
            if time.monotonic() > deadline:
                raise AssertionError("no site-issued certificate\n" + host.read_log())
            time.sleep(0.05)
        self.root_pem = host.state / "plugins" / "ca" / "root.pem"
        return host

    def request(self, host, scheme, path, body=None, raw=None, method=None):
        """(status, parsed JSON or text) of one request"""
        url = host.url(scheme) + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
        if data is not None:
            req.add_header("Content-Type", "application/json")
        context = ssl.create_default_context(cafile=str(self.root_pem)) if scheme == "https" else None
        try:
            with urllib.request.urlopen(req, context=context, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def wait_for_site_info(self, host, scheme="http"):
        deadline = time.monotonic() + 10
        while True:
            status, info = self.request(host, scheme, "/ehttpd/mp/site")
            if status == 200:
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"no site information: {status} {info}\n" + host.read_log())
            time.sleep(0.05)

    def nonce(self, host):
        status, reply = self.request(host, "https", "/ehttpd/mp/nonce")
        self.assertEqual(status, 200, reply)
        return reply["nonce"]

    def register(self, host, client, scheme="https", **overrides):
        return self.request(host, scheme, "/ehttpd/mp/register", client.body(self.nonce(host), **overrides))

    def clients(self, host):
        return host.ctl_json("client", "list")

    def race_one_time_bulk_token(self, host, guid, bodies):
        """Sends the registration @bodies, all bringing the one-time bulk token
        @guid, at once: exactly one is approved, the rest are refused, and the
        token's ledger and the client list show that one"""
        barrier = threading.Barrier(len(bodies))
        results = []
        lock = threading.Lock()

        def register(body):
            context = ssl.create_default_context(cafile=str(self.root_pem))
            request = urllib.request.Request(host.url("https") + "/ehttpd/mp/register", data=body,
                                             headers={"Content-Type": "application/json"})
            barrier.wait()
            try:
                with urllib.request.urlopen(request, context=context, timeout=30) as response:
                    outcome = (response.status, json.loads(response.read())["state"])
            except urllib.error.HTTPError as error:
                outcome = (error.code, json.loads(error.read())["reason"])
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=register, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(results),
                         [(201, "approved")] + [(403, "bulk_token_exhausted")] * (len(bodies) - 1))
        ledger = {t["guid"]: t for t in host.ctl_json("bulk-token", "list")}[guid]
        self.assertEqual((ledger["uses"], len(ledger["clients"])), (1, 1))
        self.assertEqual([c["guid"] for c in self.clients(host)], ledger["clients"])


class SiteInfoTest(MpTestCase):
    def test_site_information_over_plain_http(self):
        host = self.site()
        info = self.wait_for_site_info(host, "http")
        ca = host.ctl_json("ca", "show")
        self.assertEqual(info["site"], ca["site-code"])
        self.assertEqual(info["root_fingerprint"], ca["root-fingerprint"])
        self.assertEqual(info["client_communication"], "enhanced-http")
        self.assertEqual(info["management_points"], [host.url("https")])
        self.assertEqual(info["registration"]["register"], [host.url("https") + "/ehttpd/mp/register"])
        status, signing = self.request(host, "http", "/ehttpd/ca/site-signing.pem")
        self.assertEqual(status, 200)
        self.assertEqual(info["site_signing_certificate"], signing)
        for link in ("crl", "trust_bundle", "root"):
            status, _ = self.request(host, "http", info["links"][link])
            self.assertEqual(status, 200, link)
        # the same over HTTPS
        self.assertEqual(self.wait_for_site_info(host, "https")["root_fingerprint"], ca["root-fingerprint"])


class RegistrationTest(MpTestCase):
    def test_pending_approve_idempotent_block(self):
        host = self.site()
        client = Client()
        status, reply = self.register(host, client)
        self.assertEqual(status, 201, reply)
        self.assertEqual(reply["state"], "pending")
        self.assertTrue(reply["new"])
        guid = reply["client_guid"]
        uuid.UUID(guid)
        listed = self.clients(host)
        self.assertEqual([(c["guid"], c["state"]) for c in listed], [(guid, "pending")])
        self.assertEqual(listed[0]["hardware-id"], client.hardware_id)
        self.assertEqual(listed[0]["key-type"], "ecdsa-p256")

        approved = host.ctl_json("client", "approve", guid)
        self.assertEqual(approved["state"], "approved")
        self.assertIn("admin uid", approved["approved-by"])
        self.assertIn("client %s: approve by admin uid" % guid, host.read_log())

        # the same key again: the same client
        status, again = self.register(host, client)
        self.assertEqual(status, 200, again)
        self.assertEqual((again["client_guid"], again["state"], again["new"]), (guid, "approved", False))
        self.assertEqual(again["key_thumbprint"], reply["key_thumbprint"])

        # a new key for the same hardware: a new registration the admin sees
        rekeyed = Client(kind="ed25519", hardware_id=client.hardware_id)
        status, other = self.register(host, rekeyed)
        self.assertEqual(status, 201, other)
        self.assertNotEqual(other["client_guid"], guid)
        self.assertEqual(other["state"], "pending")
        shown = host.ctl_json("client", "show", other["client_guid"])
        self.assertEqual(shown["same-hardware"], 1)
        self.assertEqual(shown["key-type"], "ed25519")
        text = host.ctl("client", "list").stdout
        self.assertIn("has other keys", text)

        # blocked: a clear 403, and nothing else
        self.assertEqual(host.ctl_json("client", "block", guid)["state"], "blocked")
        status, refused = self.register(host, client)
        self.assertEqual(status, 403)
        self.assertEqual(refused["error"], "client_blocked")
        self.assertIn("blocked", refused["message"])
        self.assertEqual(host.ctl_json("client", "unblock", guid)["state"], "approved")
        status, back = self.register(host, client)
        self.assertEqual((status, back["state"]), (200, "approved"))

        # a large site lists in pages, and by state; hostile arguments are refused
        self.assertEqual([c["guid"] for c in host.ctl_json("client", "list", "--state", "pending")],
                         [other["client_guid"]])
        self.assertEqual(len(host.ctl_json("client", "list", "--limit", "1")), 1)
        self.assertEqual(len(host.ctl_json("client", "list", "--offset", "1", "--limit", "5")), 1)
        self.assertIn("of 2;", host.ctl("client", "list", "--limit", "1").stdout)
        self.assertEqual(host.ctl("client", "list", "--state", "x' OR 1=1 --", check=False).returncode, 1)
        for bad in (["--limit", "0"], ["--limit", "10001"], ["--offset", "-1"], ["--bogus"]):
            self.assertEqual(host.ctl("client", "list", *bad, check=False).returncode, 2, bad)

    def test_registration_over_plain_http_names_the_https_url(self):
        host = self.site()
        client = Client()
        status, text = self.request(host, "http", "/ehttpd/mp/register", client.body("x"))
        self.assertEqual(status, 403)
        self.assertIn(host.url("https") + "/ehttpd/mp/register", text)
        status, text = self.request(host, "http", "/ehttpd/mp/nonce")
        self.assertEqual(status, 403)
        self.assertIn("https://", text)
        self.assertEqual(self.clients(host), [])

    def test_hostile_bodies_are_refused_and_nothing_is_stored(self):
        host = self.site()
        client = Client()
        other = Client()
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
        cases = []

        def add(name, raw, reason):
            cases.append((name, raw, reason))

        def body(**overrides):
            return json.dumps(client.body(self.nonce(host), **overrides)).encode()

        add("malformed JSON", b'{"jwk": ', "")
        add("not an object", b"[1, 2]", "JSON object")
        add("non-UTF-8", b'{"host_name": "\xff\xfe"}', "")
        add("duplicate keys", body()[:-1] + b', "host_name": "evil.example"}', "")
        add("missing proof", json.dumps({"jwk": client.jwk, "host_name": "pc1", "hardware_id": "h"}).encode(),
            "\"proof\" is missing")
        add("unknown member", body(admin=True), "unknown member")
        add("overlong host name", body(host_name="a" * 300), "host_name")
        add("host name with a path", body(host_name="../../etc"), "host_name")
        add("hardware id with spaces", body(hardware_id="a b"), "hardware_id")
        add("RSA key", body(jwk=rsa_jwk), "ECDSA P-256 or Ed25519")
        add("wrong crv", body(jwk=dict(client.jwk, crv="P-384")), "")
        add("wrong kty", body(jwk=dict(client.jwk, kty="oct")), "kty")
        add("private key", body(jwk=dict(client.jwk, d=client.jwk["x"])), "private")
        add("proof by another key", body(proof=other.proof(self.nonce(host), key=other.key)), "does not verify")
        none_token = jwt.encode({"nonce": self.nonce(host), "host_name": client.host_name,
                                 "hardware_id": client.hardware_id}, None, algorithm="none",
                                headers={"typ": PROOF_TYP})
        add("alg none", body(proof=none_token), "does not verify")
        add("unknown nonce", body(proof=client.proof("A" * 43)), "nonce")
        for name, raw, reason in cases:
            status, reply = self.request(host, "https", "/ehttpd/mp/register", raw=raw)
            self.assertEqual(status, 400, (name, reply))
            self.assertIn(reply["error"], ("invalid_request", "invalid_proof"), name)
            self.assertIn(reason, reply["message"], name)
            self.assertTrue(reply["message"], name)
        # a body over the cap never reaches the handler
        address, port = host.address("https")
        context = ssl.create_default_context(cafile=str(self.root_pem))
        head = (b"POST /ehttpd/mp/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 17000\r\n\r\n")
        response = raw_exchange(address, port, head, tls_context=context)
        self.assertEqual(status_lines(response)[0].split()[1], b"413")
        self.assertEqual(self.clients(host), [])

        # a replayed nonce: the first use wins, the second is refused
        nonce = self.nonce(host)
        raw = json.dumps(client.body(nonce)).encode()
        status, _ = self.request(host, "https", "/ehttpd/mp/register", raw=raw)
        self.assertEqual(status, 201)
        status, reply = self.request(host, "https", "/ehttpd/mp/register", raw=raw)
        self.assertEqual(status, 400)
        self.assertIn("already used", reply["message"])
        self.assertEqual(len(self.clients(host)), 1)

    def test_only_admins_change_clients(self):
        host = self.site()
        status, reply = self.register(host, Client())
        self.assertEqual(status, 201)
        guid = reply["client_guid"]
        self.assertEqual(host.ctl("client", "list", user=65534, check=False).returncode, 0)
        self.assertEqual(host.ctl("client", "show", guid, user=65534, check=False).returncode, 0)
        for action in ("approve", "block", "unblock"):
            result = host.ctl("client", action, guid, user=65534, check=False)
            self.assertEqual(result.returncode, 4, action)
        self.assertEqual(host.ctl_json("client", "show", guid)["state"], "pending")
        unknown = host.ctl("client", "approve", str(uuid.uuid4()), check=False)
        self.assertEqual(unknown.returncode, 1)
        bad = host.ctl("client", "approve", "x' OR 1=1 --", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("GUID", bad.stderr)

    def test_auto_approve(self):
        host = self.site(mp={"auto-approve": "true"})
        status, reply = self.register(host, Client(kind="ed25519"))
        self.assertEqual((status, reply["state"]), (201, "approved"))


class ModesTest(MpTestCase):
    def test_http_mode_warns_and_accepts_plain_registration(self):
        host = self.site(mp={"client-communication": "http"})
        self.assertIn("client-communication=http is deprecated", host.read_log())
        status, nonce = self.request(host, "http", "/ehttpd/mp/nonce")
        self.assertEqual(status, 200)
        client = Client()
        status, reply = self.request(host, "http", "/ehttpd/mp/register", client.body(nonce["nonce"]))
        self.assertEqual((status, reply["state"]), (201, "pending"))

    def test_https_mode_serves_nothing_over_plain_http(self):
        host = self.site(mp={"client-communication": "https"})
        status, text = self.request(host, "http", "/ehttpd/mp/site")
        self.assertEqual(status, 403)
        self.assertIn("https://", text)
        self.assertEqual(self.wait_for_site_info(host, "https")["client_communication"], "https")

    def test_a_wrong_mode_fails_the_plugin(self):
        host = self.site(mp={"client-communication": "plaintext"})
        state, error = host.plugin_states()["mp"]
        self.assertEqual(state, "failed")
        self.assertIn("client-communication", error)
        self.assertEqual(host.plugin_states()["ca"][0], "running")


TOKEN_PROOF_TYP = "mp-token+jwt"


def thumbprint(jwk):
    """RFC 7638 thumbprint of a public JWK"""
    import base64
    import hashlib
    members = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


class TokenTestCase(MpTestCase):
    def token_request(self, host, client, scheme="https", key=None, kid=None, nonce=None):
        proof = jwt.encode({"nonce": nonce or self.nonce(host)}, key or client.key, algorithm=client.alg,
                           headers={"typ": TOKEN_PROOF_TYP, "kid": kid or thumbprint(client.jwk)})
        return self.request(host, scheme, "/ehttpd/mp/token", {"proof": proof})

    def approved_client(self, host, kind="ec"):
        client = Client(kind=kind)
        status, reply = self.register(host, client)
        self.assertEqual(status, 201, reply)
        host.ctl_json("client", "approve", reply["client_guid"])
        return client, reply["client_guid"]

    def token(self, host, client):
        deadline = time.monotonic() + 10
        while True:
            status, reply = self.token_request(host, client)
            if status != 503 or time.monotonic() > deadline:
                self.assertEqual(status, 200, reply)
                return reply
            time.sleep(0.1)

    def bundle(self, host):
        status, bundle = self.request(host, "http", "/ehttpd/ca/trust-bundle.json")
        self.assertEqual(status, 200)
        return bundle

    def verify_with_bundle(self, host, token):
        """python3-jwt, given only the published trust bundle"""
        from cryptography import x509
        import base64
        header = jwt.get_unverified_header(token)
        keys = [k for k in self.bundle(host)["keys"]
                if k.get("ehttpd_usage") == "token-signing" and k["x5t#S256"] == header["x5t#S256"]]
        self.assertEqual(len(keys), 1, "the signing certificate is not in the bundle")
        cert = x509.load_der_x509_certificate(base64.b64decode(keys[0]["x5c"][0]))
        site = self.bundle(host)["site"]
        return jwt.decode(token, cert.public_key(), algorithms=["ES256"], audience=f"ehttpd:{site}:mp",
                          issuer=site, options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]})

    def whoami(self, host, token, scheme="https"):
        url = host.url(scheme) + "/ehttpd/mp/whoami"
        req = urllib.request.Request(url)
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        context = ssl.create_default_context(cafile=str(self.root_pem)) if scheme == "https" else None
        try:
            with urllib.request.urlopen(req, context=context, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text


class ClientTokenTest(TokenTestCase):
    def test_register_approve_token_verifies_with_the_bundle(self):
        host = self.site()
        info = self.wait_for_site_info(host)
        client = Client()
        status, reply = self.register(host, client)
        guid = reply["client_guid"]
        status, refused = self.token_request(host, client)
        self.assertEqual((status, refused["error"]), (403, "client_pending"))
        host.ctl_json("client", "approve", guid)
        issued = self.token(host, client)
        self.assertEqual((issued["client_guid"], issued["token_type"]), (guid, "client+jwt"))
        header = jwt.get_unverified_header(issued["token"])
        self.assertEqual((header["typ"], header["alg"]), ("client+jwt", "ES256"))
        claims = self.verify_with_bundle(host, issued["token"])
        self.assertEqual((claims["sub"], claims["iss"]), (guid, info["site"]))
        self.assertEqual(claims["cnf"], {"jkt": thumbprint(client.jwk)})
        self.assertEqual(claims["exp"] - claims["iat"], 8 * 3600)
        self.assertEqual(claims["exp"], issued["expires_at"])
        self.assertNotIn(issued["token"], host.read_log())

        # renewal: the same call, a new token
        again = self.token(host, client)
        self.assertNotEqual(jwt.decode(again["token"], options={"verify_signature": False})["jti"], claims["jti"])

        # whoami: good, missing, tampered, forged
        self.assertEqual(self.whoami(host, again["token"]), (200, {"client_guid": guid, "state": "approved",
                                                                   "host_name": client.host_name}))
        status, reply = self.whoami(host, None)
        self.assertEqual((status, reply["error"]), (401, "token_required"))
        head, payload, signature = again["token"].split(".")
        tampered = json.loads(jwt.utils.base64url_decode(payload))
        tampered["sub"] = str(uuid.uuid4())
        forged_payload = jwt.utils.base64url_encode(json.dumps(tampered).encode()).decode()
        for bad in (f"{head}.{forged_payload}.{signature}", "x.y.z", again["token"] + "x",
                    jwt.encode(claims, client.key, algorithm="ES256", headers={"typ": "client+jwt",
                                                                              "x5t#S256": header["x5t#S256"]}),
                    jwt.encode(claims, None, algorithm="none", headers={"typ": "client+jwt"})):
            status, reply = self.whoami(host, bad)
            self.assertEqual((status, reply["error"]), (401, "invalid_token"), bad[:20])

        # blocked: no token, and the old one no longer works
        host.ctl_json("client", "block", guid)
        status, refused = self.token_request(host, client)
        self.assertEqual((status, refused["error"]), (403, "client_blocked"))
        status, reply = self.whoami(host, again["token"])
        self.assertEqual((status, reply["error"]), (403, "client_blocked"))

        # an unknown key, and a proof by another key for this kid
        stranger = Client()
        status, refused = self.token_request(host, stranger)
        self.assertEqual((status, refused["error"]), (403, "client_unknown"))
        host.ctl_json("client", "unblock", guid)
        status, refused = self.token_request(host, client, key=stranger.key)
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))
        # an unblock, like the block, counts from the very next request
        self.assertEqual(self.token(host, client)["client_guid"], guid)
        host.ctl_json("client", "block", guid)
        status, refused = self.token_request(host, client)
        self.assertEqual((status, refused["error"]), (403, "client_blocked"))

    def test_self_timed_proofs_are_one_request_and_accepted_once(self):
        host = self.site(mp={"proof-window": "30"})
        client, guid = self.approved_client(host)

        def timed(claims, key=None, kid=None):
            proof = jwt.encode(claims, key or client.key, algorithm=client.alg,
                               headers={"typ": TOKEN_PROOF_TYP, "kid": kid or thumbprint(client.jwk)})
            return self.request(host, "https", "/ehttpd/mp/token", {"proof": proof})

        jti = base64.urlsafe_b64encode(os.urandom(18)).decode()
        status, issued = timed({"jti": jti, "iat": int(time.time())})
        self.assertEqual(status, 200, issued)
        self.assertEqual(self.verify_with_bundle(host, issued["token"])["sub"], guid)
        # once only, even with a fresh iat
        status, refused = timed({"jti": jti, "iat": int(time.time())})
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))
        self.assertIn("used already", refused["message"])
        # outside the window, and malformed: refused, nothing remembered
        fresh = lambda: base64.urlsafe_b64encode(os.urandom(18)).decode()
        for claims in ({"jti": fresh(), "iat": int(time.time()) - 31},
                       {"jti": fresh(), "iat": int(time.time()) + 31}):
            status, refused = timed(claims)
            self.assertEqual((status, refused["error"]), (400, "proof_stale"), claims)
        for claims in ({"jti": fresh(), "iat": float(int(time.time()))},
                       {"jti": fresh(), "iat": str(int(time.time()))},
                       {"jti": fresh(), "iat": 10 ** 30},
                       {"jti": "short", "iat": int(time.time())},
                       {"jti": "x" * 65, "iat": int(time.time())},
                       {"jti": "../../etc/passwd-aaaaaaaa", "iat": int(time.time())},
                       {"jti": fresh()},
                       {"iat": int(time.time())},
                       {"jti": fresh(), "iat": int(time.time()), "nonce": "x"},
                       {"jti": fresh(), "iat": int(time.time()), "extra": 1}):
            status, refused = timed(claims)
            self.assertEqual((status, refused["error"]), (400, "invalid_proof"), claims)
        # a self-timed proof by another key for this kid
        stranger = Client()
        status, refused = timed({"jti": fresh(), "iat": int(time.time())}, key=stranger.key)
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))
        # the nonce way still works beside it
        self.assertEqual(self.token(host, client)["client_guid"], guid)

    def test_never_over_plain_http(self):
        for mode in ("enhanced-http", "http"):
            with self.subTest(mode=mode):
                host = self.site(mp={"client-communication": mode})
                client, _ = self.approved_client(host)
                token = self.token(host, client)["token"]
                status, text = self.request(host, "http", "/ehttpd/mp/token", {"proof": "x"})
                self.assertEqual(status, 403)
                self.assertIn(host.url("https") + "/ehttpd/mp/token", text)
                status, _ = self.whoami(host, token, scheme="http")
                self.assertEqual(status, 403)
                host.stop()

    def test_rollover_announces_before_signing(self):
        host = self.site(mp={"token-key-announce": "1"})
        client, guid = self.approved_client(host)
        old = self.token(host, client)["token"]
        old_x5t = jwt.get_unverified_header(old)["x5t#S256"]
        result = host.ctl_json("mp", "rollover")
        new_x5t = result["x5t#S256"]
        self.assertNotEqual(new_x5t, old_x5t)
        # in the bundle as soon as the rollover answers, before it signs anything
        published = [k["x5t#S256"] for k in self.bundle(host)["keys"] if k.get("ehttpd_usage") == "token-signing"]
        self.assertIn(new_x5t, published)
        self.assertIn(old_x5t, published)
        self.assertEqual(host.ctl("mp", "rollover", check=False).returncode, 1)  # one at a time
        wait_for(lambda: jwt.get_unverified_header(self.token(host, client)["token"])["x5t#S256"] == new_x5t,
                 timeout=10, what="the new key signing")
        new = self.token(host, client)["token"]
        self.assertEqual(self.verify_with_bundle(host, new)["sub"], guid)
        self.assertEqual(self.verify_with_bundle(host, old)["sub"], guid)
        self.assertEqual(self.whoami(host, old)[0], 200)
        self.assertEqual(self.whoami(host, new)[0], 200)
        states = {k["x5t#S256"]: k["state"] for k in host.ctl_json("mp", "token-keys")}
        self.assertEqual((states[old_x5t], states[new_x5t]), ("retired", "active"))
        self.assertEqual(host.ctl("mp", "rollover", user=65534, check=False).returncode, 4)
        # the active key survives a restart
        host.stop()
        host.start()
        self.assertEqual(jwt.get_unverified_header(self.token(host, client)["token"])["x5t#S256"], new_x5t)
        self.assertEqual(self.whoami(host, old)[0], 200)


class ClientTokenThroughLibsoupTest(ClientTokenTest):
    """the same token tests with every request through libsoup"""
    quick_answers = False


# ends each exchange with an answer that is the same on every host
CLOSER = b"GET /ehttpd/mp/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


class QuickTokenTest(TokenTestCase):
    """POST token answered quickly gives the very bytes libsoup gives, for good and hostile requests"""

    def exchange(self, host, request):
        context = ssl.create_default_context(cafile=str(self.root_pem))
        data = raw_exchange(*host.address("https"), request, read_timeout=10, tls_context=context)
        data = re.sub(rb"Date: [^\r\n]*\r\n", b"", data)
        return re.sub(rb'"request_id":"[^"]*"', b'"request_id":"-"', data)

    def cases(self, host, client, stranger):
        def post(body, extra=b"", length=None):
            length = len(body) if length is None else length
            return (b"POST /ehttpd/mp/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + extra + b"Content-Length: %d\r\n\r\n" % length + body)

        def proof(who, **headers):
            return json.dumps({"proof": jwt.encode({"nonce": self.nonce(host)}, who.key, algorithm=who.alg,
                                                   headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(who.jwk),
                                                            **headers})}).encode()
        closer = CLOSER
        return {
            "not json": post(b"{proof"),
            "not an object": post(b'["x"]'),
            "no proof": post(b"{}"),
            "extra member": post(b'{"proof":"a.b.c","more":1}'),
            "proof not a string": post(b'{"proof":1}'),
            "duplicate member": post(b'{"proof":"a.b.c","proof":"d.e.f"}'),
            "deep": post(b'{"proof":' + b"[" * 50 + b"]" * 50 + b"}"),
            "empty body": post(b""),
            "not a jws": post(b'{"proof":"x"}'),
            "bad kid": post(json.dumps({"proof": jwt.encode({"nonce": "n"}, client.key, algorithm=client.alg,
                                                            headers={"typ": TOKEN_PROOF_TYP, "kid": "a/b"})}).encode()),
            "unknown client": post(proof(stranger)),
            "used nonce": post(json.dumps({"proof": jwt.encode({"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
                                                               client.key, algorithm=client.alg,
                                                               headers={"typ": TOKEN_PROOF_TYP,
                                                                        "kid": thumbprint(client.jwk)})}).encode()),
            "over the cap": post(b'{"proof":"', length=9000),
            "short body": post(b'{"proof":"x"}', length=40) + closer,
            "duplicate content-length": post(b"{}", extra=b"Content-Length: 2\r\n"),
            "chunked": (b"POST /ehttpd/mp/token HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"2\r\n{}\r\n0\r\n\r\n"),
            "pipelined": post(b"{}") + post(b'{"proof":"x"}') + closer,
            "plain get": b"GET /ehttpd/mp/token HTTP/1.1\r\nHost: localhost\r\n\r\n",
        }

    def test_same_bytes_both_ways(self):
        answers = {}
        for quick in (True, False):
            self.quick_answers = quick
            host = self.site()
            client, _ = self.approved_client(host)
            stranger = Client()
            answers[quick] = {name: self.exchange(host, request + CLOSER)
                              for name, request in self.cases(host, client, stranger).items()}
            quickly = host.ctl_json("status")["quick-answers"]
            # and a real token, each way, on a pipelined connection
            status, issued = self.token_request(host, client)
            self.assertEqual(status, 200, issued)
            self.assertEqual(host.ctl_json("status")["quick-answers"] - quickly, 1 if quick else 0)
            if quick:
                self.assertGreater(quickly, 8)
            host.stop()
        for name in answers[True]:
            with self.subTest(case=name):
                self.assertEqual(answers[True][name], answers[False][name])
        self.assertIn(b'"reason":"client_unknown"', answers[True]["unknown client"])
        self.assertTrue(answers[True]["over the cap"].startswith(b"HTTP/1.1 413 "))
        self.assertEqual(len(status_lines(answers[True]["pipelined"])), 3)


class BulkTokenTest(TokenTestCase):
    def bulk_register(self, host, bulk_token):
        client = Client()
        return client, self.register(host, client, bulk_token=bulk_token)

    def test_bulk_token_approves_and_is_ledgered(self):
        host = self.site()
        created = host.ctl_json("bulk-token", "create", "--max-uses", "2")
        guid, secret = created["guid"], created["token"]
        self.assertAlmostEqual(created["expires-at"] - time.time(), 3 * 86400, delta=60)
        self.assertNotIn(secret, host.read_log())
        client, (status, reply) = self.bulk_register(host, secret)
        self.assertEqual((status, reply["state"]), (201, "approved"), reply)
        self.token(host, client)
        _, (status, second) = self.bulk_register(host, secret)
        self.assertEqual((status, second["state"]), (201, "approved"))
        ledger = host.ctl_json("bulk-token", "list")
        self.assertEqual(len(ledger), 1)
        self.assertEqual((ledger[0]["guid"], ledger[0]["uses"]), (guid, 2))
        self.assertEqual(ledger[0]["clients"], [reply["client_guid"], second["client_guid"]])
        self.assertGreater(ledger[0]["first-used-at"], 0)
        self.assertIn(guid, host.ctl("bulk-token", "list").stdout)
        shown = host.ctl_json("client", "show", reply["client_guid"])
        self.assertEqual(shown["approved-by"], "bulk token " + guid)
        # stored as a hash only
        db = (host.state / "ehttpd.db")
        if db.exists():
            self.assertNotIn(secret.encode(), db.read_bytes())

        before = len(self.clients(host))
        _, (status, refused) = self.bulk_register(host, secret)
        self.assertEqual((status, refused["error"]), (403, "bulk_token_exhausted"))
        other = host.ctl_json("bulk-token", "create", "--lifetime", "1h")
        self.assertEqual(host.ctl("bulk-token", "block", other["guid"]).returncode, 0)
        _, (status, refused) = self.bulk_register(host, other["token"])
        self.assertEqual((status, refused["error"]), (403, "bulk_token_blocked"))
        self.assertIn("blocked", refused["message"])
        host.ctl("bulk-token", "unblock", other["guid"])
        short = host.ctl_json("bulk-token", "create", "--lifetime", "1s")
        time.sleep(1.5)
        _, (status, refused) = self.bulk_register(host, short["token"])
        self.assertEqual((status, refused["error"]), (403, "bulk_token_expired"))
        forged = "ehbulk." + "A" * 43
        _, (status, refused) = self.bulk_register(host, forged)
        self.assertEqual((status, refused["error"]), (403, "bulk_token_invalid"))
        self.assertEqual(len(self.clients(host)), before)
        uses = {t["guid"]: t["uses"] for t in host.ctl_json("bulk-token", "list")}
        self.assertEqual((uses[guid], uses[other["guid"]], uses[short["guid"]]), (2, 0, 0))

        # lifetimes: 7 days at most; admins only
        self.assertEqual(host.ctl("bulk-token", "create", "--lifetime", "8d", check=False).returncode, 1)
        self.assertEqual(host.ctl("bulk-token", "create", "--lifetime", "7d", check=False).returncode, 0)
        for args in (("create",), ("list",), ("block", guid), ("unblock", guid)):
            self.assertEqual(host.ctl("bulk-token", *args, user=65534, check=False).returncode, 4, args)
