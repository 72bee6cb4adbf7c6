# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Signed policy and content location end to end: a site host running ca,
mp, dp (and test-relay, which stands in for DP reports the dp plugin does
not make yet); a client written here with python3-jwt; downloads with curl
using the content token the MP handed out."""
import base64
import hashlib
import json
import pathlib
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
from cryptography import x509

from harness import plugin_dir_with, wait_for
from test_e2e_mp import Client, TokenTestCase, thumbprint

PKG = "/CCMTOKENAUTH_SMS_DP_SMSPKG$/"
SIG = "/CCMTOKENAUTH_SMS_DP_SMSSIG$/"


class PolicyTestCase(TokenTestCase):
    def site(self, mp=None):
        plugins = ("ca", "mp", "dp", "test-relay")
        host = self.host(plugins=plugins, with_certificate=False, plugin_dir=plugin_dir_with(self.workdir, *plugins),
                         groups={"mp": mp or {}, "dp": {"names": "dp1.example,localhost"}})
        host.start()
        wait_for(lambda: host.ctl_json("status")["certificate"], what="a site-issued certificate")
        self.root_pem = host.state / "plugins" / "ca" / "root.pem"
        self.wait_for_site_info(host)
        return host

    def call(self, host, path, token=None, scheme="https"):
        """(status, bytes, content type) of one GET"""
        req = urllib.request.Request(host.url(scheme) + path)
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        context = ssl.create_default_context(cafile=str(self.root_pem)) if scheme == "https" else None
        try:
            with urllib.request.urlopen(req, context=context, timeout=10) as response:
                return response.status, response.read(), response.headers.get("Content-Type")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type")

    def bundle_key(self, host, usage, x5t):
        keys = [k for k in self.bundle(host)["keys"] if k.get("ehttpd_usage") == usage and k["x5t#S256"] == x5t]
        self.assertEqual(len(keys), 1, f"no {usage} certificate {x5t} in the bundle")
        return x509.load_der_x509_certificate(base64.b64decode(keys[0]["x5c"][0])).public_key()

    def verify_policy(self, host, policy):
        """python3-jwt with the site signing certificate from the published trust bundle"""
        header = jwt.get_unverified_header(policy)
        self.assertEqual(header["typ"], "policy+jwt")
        key = self.bundle_key(host, "site-signing", header["x5t#S256"])
        return jwt.decode(policy, key, algorithms=["ES256", "EdDSA"], issuer=self.bundle(host)["site"],
                          options={"require": ["iss", "sub", "iat"]})

    def client_with_token(self, host):
        client, guid = self.approved_client(host)
        return client, guid, self.token(host, client)["token"]


class PolicyTest(PolicyTestCase):
    def test_policy_signed_fetched_and_tampering_detected(self):
        host = self.site()
        a, guid_a, token_a = self.client_with_token(host)
        b, guid_b, token_b = self.client_with_token(host)
        everyone = host.ctl_json("deployment", "create", "--content", "PS100001", "--action", "install", "--all")
        lab = host.ctl_json("deployment", "create", "--content", "PS100002", "--action", "run", "--collection", "lab")
        host.ctl("collection", "add-member", "lab", guid_a)
        self.assertEqual(host.ctl_json("collection", "list", "lab"), [{"collection": "lab", "client-guid": guid_a}])
        self.assertEqual([d["id"] for d in host.ctl_json("deployment", "list")], [everyone["id"], lab["id"]])
        # hostile admin input: refused with exit 1, nothing stored
        for args in (["--content", "../../etc", "--action", "install"],
                     ["--content", "PS100001", "--action", "install; rm -rf /"],
                     ["--content", "PS100001", "--action", "install", "--collection", "x' OR 1=1 --"]):
            self.assertEqual(host.ctl("deployment", "create", *args, check=False).returncode, 1, args)
        self.assertEqual(host.ctl("deployment", "create", "--action", "install", check=False).returncode, 2)
        self.assertEqual(host.ctl("collection", "add-member", "lab", "not-a-guid", check=False).returncode, 1)
        self.assertEqual(host.ctl("deployment", "create", "--content", "PS100003", "--action", "run", "--all",
                                  user=65534, check=False).returncode, 4)
        self.assertEqual(len(host.ctl_json("deployment", "list")), 2)

        # client a: both assignments, signature and body hashes check out
        status, policy, ctype = self.call(host, "/ehttpd/mp/policy", token_a)
        self.assertEqual(status, 200, policy)
        self.assertEqual(ctype, "application/jose")
        policy = policy.decode()
        claims = self.verify_policy(host, policy)
        self.assertEqual(claims["sub"], guid_a)
        self.assertEqual([x["id"] for x in claims["assignments"]], [everyone["id"], lab["id"]])
        bodies = {}
        for assignment in claims["assignments"]:
            status, body, _ = self.call(host, "/ehttpd/mp/policy/" + assignment["id"], token_a)
            self.assertEqual(status, 200)
            self.assertEqual(hashlib.sha256(body).hexdigest(), assignment["sha256"])
            bodies[assignment["id"]] = json.loads(body)
        self.assertEqual(bodies[lab["id"]]["action"], "run")
        self.assertEqual(bodies[everyone["id"]]["content_id"], "PS100001")

        # tampering: a changed body no longer matches its hash
        changed = json.dumps(dict(bodies[everyone["id"]], action="uninstall"), separators=(",", ":")).encode()
        self.assertNotEqual(hashlib.sha256(changed).hexdigest(), claims["assignments"][0]["sha256"])
        # a changed signature, or a changed payload under the old signature, does not verify
        head, payload, signature = policy.split(".")
        flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        with self.assertRaises(jwt.InvalidSignatureError):
            self.verify_policy(host, f"{head}.{payload}.{flipped}")
        forged = dict(claims, assignments=[dict(claims["assignments"][0],
                                               sha256=hashlib.sha256(changed).hexdigest())])
        forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        with self.assertRaises(jwt.InvalidSignatureError):
            self.verify_policy(host, f"{head}.{forged_payload}.{signature}")

        # client b: only the assignment for everyone; a's lab body is not b's
        status, policy_b, _ = self.call(host, "/ehttpd/mp/policy", token_b)
        self.assertEqual(status, 200)
        self.assertEqual([x["id"] for x in self.verify_policy(host, policy_b.decode())["assignments"]],
                         [everyone["id"]])
        for path in (lab["id"], "..%2f..%2fetc%2fpasswd", "x' OR 1=1 --".replace(" ", "%20"), "A" * 4000):
            status, _, _ = self.call(host, "/ehttpd/mp/policy/" + path, token_b)
            self.assertIn(status, (400, 404, 414, 431), path)
            self.assertNotEqual(status, 200)

        # removal shows in the next policy
        host.ctl("collection", "remove-member", "lab", guid_a)
        status, policy, _ = self.call(host, "/ehttpd/mp/policy", token_a)
        self.assertEqual(len(self.verify_policy(host, policy.decode())["assignments"]), 1)
        host.ctl("deployment", "remove", everyone["id"])
        self.assertEqual(host.ctl("deployment", "remove", everyone["id"], check=False).returncode, 1)
        status, policy, _ = self.call(host, "/ehttpd/mp/policy", token_b)
        self.assertEqual(self.verify_policy(host, policy.decode())["assignments"], [])

    def test_refusals_blocked_pending_plain_http_no_token(self):
        host = self.site()
        _, guid, token = self.client_with_token(host)
        deployment = host.ctl_json("deployment", "create", "--content", "PS100001", "--action", "install", "--all")
        paths = ("/ehttpd/mp/policy", "/ehttpd/mp/policy/" + deployment["id"], "/ehttpd/mp/content/PS100001")
        for path in paths:
            # plain HTTP: 403, even with a valid token
            status, _, _ = self.call(host, path, token, scheme="http")
            self.assertEqual(status, 403, path)
            status, body, _ = self.call(host, path, None)
            self.assertEqual(status, 401, path)
            self.assertEqual(json.loads(body)["error"], "token_required")
            status, body, _ = self.call(host, path, token[:-4] + "AAAA")
            self.assertEqual(status, 401, path)
        # a pending client never gets a token
        pending = Client()
        self.assertEqual(self.register(host, pending)[0], 201)
        status, reply = self.token_request(host, pending)
        self.assertEqual((status, reply["error"]), (403, "client_pending"))
        # a blocked client gets 403 everywhere, with the token it still holds
        host.ctl("client", "block", guid)
        for path in paths:
            status, body, _ = self.call(host, path, token)
            self.assertEqual(status, 403, path)
            self.assertEqual(json.loads(body)["error"], "client_blocked")
        self.assertNotIn(token, host.read_log())


class ContentLocationTest(PolicyTestCase):
    def curl(self, host, url_base, path, token=None, out=None):
        cmd = ["curl", "-sS", "--cacert", str(self.root_pem), "--path-as-is", "-o", str(out) if out else "-",
               "-w", "\n%{http_code}"]
        if token:
            cmd += ["-H", f"Authorization: Bearer {token}"]
        result = subprocess.run(cmd + [url_base + path], capture_output=True)
        body, _, code = result.stdout.rpartition(b"\n")
        return int(code or 0), body

    def add_content(self, host, name, files):
        src = pathlib.Path(self.workdir) / name
        src.mkdir()
        for path, data in files.items():
            (src / path).write_bytes(data)
        before = {c["id"] for c in host.ctl_json("content", "list")}
        result = host.ctl("content", "add", name, str(src), check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        (content_id,) = {c["id"] for c in host.ctl_json("content", "list")} - before
        code, manifest = self.curl(host, host.url("https"), SIG + content_id)
        self.assertEqual(code, 200)
        return content_id, hashlib.sha256(manifest).hexdigest()

    def report(self, host, dp, url, content_id, state, sha):
        query = urllib.parse.urlencode({"dp": dp, "url": url, "content": content_id, "state": state,
                                        "sha256": sha, "bytes": 1})
        status, body, _ = self.call(host, "/test/relay/content-status?" + query, scheme="http")
        self.assertEqual(status, 200, body)

    def locate(self, host, token, content_id):
        status, body, _ = self.call(host, "/ehttpd/mp/content/" + content_id, token)
        return status, json.loads(body) if body.startswith(b"{") else body

    def test_locate_and_download_with_the_content_token(self):
        host = self.site(mp={"bind-content-tokens": "true"})
        client, guid, token = self.client_with_token(host)
        app = {"app.bin": bytes(range(256)) * 4096, "readme.txt": b"read me\n"}
        id_a, sha_a = self.add_content(host, "AppA", app)
        id_b, sha_b = self.add_content(host, "AppB", {"b.txt": b"content b\n"})
        dp_url = host.url("https")

        # no DP holds it: 404 until one reports; hostile ids: 400
        status, reply = self.locate(host, token, "PS199999")
        self.assertEqual((status, reply["error"]), (404, "content_not_located"))
        for bad in ("ps100001", "PS1000011", "..%2fPS100001", "PS10000%00"):
            self.assertEqual(self.locate(host, token, bad)[0], 400, bad)

        # the site's own dp reports content as soon as it is added: located at once, no restart
        def located():
            return self.locate(host, token, id_a)[0] == 200 and self.locate(host, token, id_b)[0] == 200
        wait_for(located, timeout=10, what="the dp's own dp.content.status for new content")
        status, reply = self.locate(host, token, id_a)
        self.assertEqual([(d["name"], d["url"]) for d in reply["dps"]], [("dp1.example", dp_url)])
        # a second DP that reported later comes first, until it fails somewhere
        self.report(host, "dp2.example", "https://127.0.0.1:9", id_a, "installed", sha_a)
        status, reply = self.locate(host, token, id_a)
        self.assertEqual(status, 200, reply)
        self.assertEqual([d["name"] for d in reply["dps"]], ["dp2.example", "dp1.example"])
        self.report(host, "dp2.example", "https://127.0.0.1:9", id_b, "failed", "")
        status, reply = self.locate(host, token, id_a)
        self.assertEqual([(d["name"], d["healthy"]) for d in reply["dps"]],
                         [("dp1.example", True), ("dp2.example", False)])
        self.assertEqual(reply["dps"][0]["url"], dp_url)
        self.assertEqual(reply["token_type"], "content+jwt")

        # the content token: any JOSE library verifies it with the bundle
        content_token = reply["token"]
        header = jwt.get_unverified_header(content_token)
        self.assertEqual(header["typ"], "content+jwt")
        claims = jwt.decode(content_token, self.bundle_key(host, "token-signing", header["x5t#S256"]),
                            algorithms=["ES256"], audience="dp1.example", issuer=self.bundle(host)["site"],
                            options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]})
        self.assertEqual(claims["aud"], ["dp1.example", "dp2.example"])
        self.assertEqual(claims["content"], {id_a: sha_a})
        self.assertEqual(claims["sub"], guid)
        self.assertEqual(claims["cnf"], {"jkt": thumbprint(client.jwk)})
        self.assertLessEqual(abs(claims["exp"] - claims["iat"] - 28800), 1)

        # download from the first DP with curl; the hash matches
        out = pathlib.Path(self.workdir) / "app.out"
        deadline = time.monotonic() + 10
        while True:
            code, _ = self.curl(host, reply["dps"][0]["url"], PKG + id_a + "/app.bin", content_token, out=out)
            if code != 401 or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # the dp's trust bundle catches up with the MP's key
        self.assertEqual(code, 200)
        self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), hashlib.sha256(app["app.bin"]).hexdigest())
        # a token for A does not download B
        code, _ = self.curl(host, dp_url, PKG + id_b + "/b.txt", content_token)
        self.assertEqual(code, 403)
        status, reply_b = self.locate(host, token, id_b)
        self.assertEqual(status, 200)
        code, body = self.curl(host, dp_url, PKG + id_b + "/b.txt", reply_b["token"])
        self.assertEqual((code, body), (200, b"content b\n"))

        # a DP that no longer has it installed leaves the list; none left: 404
        self.report(host, "dp2.example", "https://127.0.0.1:9", id_a, "in-progress", "")
        status, reply = self.locate(host, token, id_a)
        self.assertEqual([d["name"] for d in reply["dps"]], ["dp1.example"])
        # hostile reports change nothing
        for dp, url, state, sha in (("dp 3", "https://x", "installed", sha_a),
                                    ("dp3.example", "http://x", "installed", sha_a),
                                    ("dp3.example", "https://x", "installed", "A" * 64),
                                    ("dp3.example", "https://x", "bogus", sha_a)):
            self.report(host, dp, url, id_a, state, sha)
        status, reply = self.locate(host, token, id_a)
        self.assertEqual([d["name"] for d in reply["dps"]], ["dp1.example"])
        self.report(host, "dp1.example", dp_url, id_a, "pending", "")
        self.assertEqual(self.locate(host, token, id_a)[0], 404)
        # content removed from the site's dp is no longer located there
        self.assertEqual(self.locate(host, token, id_b)[0], 200)
        host.ctl("content", "remove", id_b)
        wait_for(lambda: self.locate(host, token, id_b)[0] == 404, timeout=10, what="removal reaching the mp")
        self.assertNotIn(content_token, host.read_log())
        self.assertNotIn(token, host.read_log())

    def test_boundary_groups_put_near_dps_first(self):
        host = self.site()
        _client, _guid, token = self.client_with_token(host)
        content_id, sha = self.add_content(host, "Near", {"n.txt": b"near\n"})
        # dp-near reports first, so without boundaries the later dp-far leads
        self.report(host, "dp-near.example", "https://127.0.0.1:9", content_id, "installed", sha)
        self.report(host, "dp-far.example", "https://127.0.0.1:10", content_id, "installed", sha)

        def order():
            status, reply = self.locate(host, token, content_id)
            self.assertEqual(status, 200, reply)
            return [(d["name"], d["near"]) for d in reply["dps"] if d["name"].startswith("dp-")]
        self.assertEqual(order(), [("dp-far.example", False), ("dp-near.example", False)])

        # hostile groups are refused and nothing is stored
        for args in (["x y", "--subnet", "127.0.0.0/8", "--dp", "dp-near.example"],
                     ["lab", "--subnet", "127.0.0.1", "--dp", "dp-near.example"],
                     ["lab", "--subnet", "300.0.0.0/8", "--dp", "dp-near.example"],
                     ["lab", "--subnet", "127.0.0.0/8", "--dp", "dp near"],
                     ["lab", "--subnet", "127.0.0.0/8", "--dp", "a" * 300],
                     ["lab'; DROP TABLE mp_boundaries; --", "--subnet", "127.0.0.0/8", "--dp", "d"]):
            refused = host.ctl("boundary", "add", *args, check=False)
            self.assertEqual(refused.returncode, 1, args)
        self.assertEqual(host.ctl("boundary", "add", "lab", check=False).returncode, 2)
        self.assertEqual(host.ctl_json("boundary", "list"), [])

        # the client (127.0.0.1) is in lab: its DP comes first, whatever else
        host.ctl("boundary", "add", "lab", "--subnet", "127.0.0.0/8", "--subnet", "fd00:1::/64",
                 "--dp", "DP-Near.example")
        self.assertEqual(host.ctl("boundary", "add", "lab", "--subnet", "10.0.0.0/8", "--dp", "x",
                                  check=False).returncode, 1)
        listed = host.ctl_json("boundary", "list")
        self.assertEqual([(b["name"], b["subnets"], b["dps"]) for b in listed],
                         [("lab", ["127.0.0.0/8", "fd00:1::/64"], ["dp-near.example"])])
        self.assertEqual(order(), [("dp-near.example", True), ("dp-far.example", False)])
        # a group for other subnets changes nothing for this client
        host.ctl("boundary", "add", "branch", "--subnet", "10.9.0.0/16", "--dp", "dp-far.example")
        self.assertEqual(order(), [("dp-near.example", True), ("dp-far.example", False)])

        # only admins change groups; they survive a restart; removal
        self.assertEqual(host.ctl("boundary", "remove", "lab", check=False, user=65534).returncode, 4)
        host.stop()
        host.start()
        self.assertEqual(len(host.ctl_json("boundary", "list")), 2)
        host.ctl("boundary", "remove", "lab")
        self.assertEqual(host.ctl("boundary", "remove", "lab", check=False).returncode, 1)
        self.assertEqual([b["name"] for b in host.ctl_json("boundary", "list")], ["branch"])
