# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ca role end to end: a real site host, ehttpctl, openssl, certtool, curl."""
import json
import os
import pathlib
import ssl
import threading
import time
import urllib.request

import jwt

from harness import HostTestCase, fingerprint, make_certificate, plugin_dir_with, run



class CaTestCase(HostTestCase):
    def site(self, plugins=("ca",), ca=None, core=None, start=True):
        host = self.host(plugins=plugins, with_certificate=False,
                         plugin_dir=plugin_dir_with(self.workdir, *plugins),
                         groups={"ca": ca or {}}, core=core)
        if start:
            host.start()
            self.wait_for_certificate(host)
        return host

    def wait_for_certificate(self, host, other_than=None, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = host.ctl_json("status")["certificate"]
            if current and current != other_than:
                return current
            time.sleep(0.05)
        raise AssertionError("no site-issued certificate\n" + host.read_log())

    def root_pem(self, host):
        return host.state / "plugins" / "ca" / "root.pem"

    def served_chain(self, host):
        """the chain the HTTPS listener sends, as PEM files: leaf, rest"""
        _, port = host.address("https")
        out = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"],
                  input="", check=False).stdout
        blocks = [b + "-----END CERTIFICATE-----\n" for b in out.split("-----END CERTIFICATE-----")[:-1]]
        blocks = [b[b.index("-----BEGIN CERTIFICATE-----"):] for b in blocks]
        leaf = host.dir / "served-leaf.pem"
        leaf.write_text(blocks[0])
        chain = host.dir / "served-chain.pem"
        chain.write_text("".join(blocks))
        return leaf, chain

    def csr(self, name="edge.example", extra=()):
        key = pathlib.Path(self.workdir) / f"{name}.key"
        csr = pathlib.Path(self.workdir) / f"{name}.csr"
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", str(key), "-subj", f"/CN={name}", "-out", str(csr), *extra])
        return csr

    def issue(self, host, csr, roles=("dp",), names=("edge.example",), check=True):
        args = ["cert", "issue", "--csr", str(csr)]
        for role in roles:
            args += ["--role", role]
        for name in names:
            args += ["--name", name]
        return host.ctl(*args, check=check)

    def certificates(self, host):
        return host.ctl_json("cert", "list")

    def text(self, pem_path):
        return run(["openssl", "x509", "-in", str(pem_path), "-noout", "-text"]).stdout


class SiteBringUpTest(CaTestCase):
    def test_first_start_serves_https_with_an_issued_certificate(self):
        host = self.site()
        root = self.root_pem(host)
        leaf, chain = self.served_chain(host)
        run(["openssl", "verify", "-x509_strict", "-CAfile", str(root), str(leaf)])
        run(["certtool", "--verify-chain", "--infile", str(chain)])
        run(["certtool", "--verify", "--load-ca-certificate", str(root), "--infile", str(chain)])
        text = self.text(leaf)
        self.assertIn("CA:FALSE", text)
        self.assertIn("TLS Web Server Authentication, TLS Web Client Authentication", text)
        self.assertIn("IP Address:127.0.0.1", text)
        self.assertIn("URI:urn:ehttpd:role:ca", text)
        self.assertIn("Digital Signature", text)
        root_text = self.text(root)
        self.assertIn("CA:TRUE, pathlen:0", root_text)
        self.assertIn("Certificate Sign, CRL Sign", root_text)
        self.assertIn("ASN1 OID: prime256v1", root_text)
        run(["openssl", "verify", "-x509_strict", "-CAfile", str(root), str(root)])
        _, port = host.address("https")
        body = run(["curl", "-sSf", "--cacert", str(root), f"https://127.0.0.1:{port}/ehttpd/ca/root.pem"]).stdout
        self.assertEqual(body, root.read_text())
        # serials: 20 octets, positive
        for cert in self.certificates(host):
            self.assertEqual(len(cert["serial"]), 40)
            self.assertLess(int(cert["serial"][:2], 16), 0x80)
            self.assertNotEqual(cert["serial"][:2], "00")

    def test_restart_keeps_the_root_and_serves_at_once(self):
        host = self.site()
        before = host.ctl_json("ca", "show")["root-fingerprint"]
        self.assertEqual(before, fingerprint(self.root_pem(host)))
        served = host.ctl_json("status")["certificate"]
        host.stop()
        host.start()
        self.assertEqual(host.ctl_json("ca", "show")["root-fingerprint"], before)
        self.assertEqual(host.ctl_json("status")["certificate"], served)

    def test_a_missing_root_key_is_a_refusal_not_a_new_root(self):
        host = self.site()
        before = fingerprint(self.root_pem(host))
        host.stop()
        (host.state / "plugins" / "ca" / "root-key.pem").unlink()
        host.start()
        state, error = host.plugin_states()["ca"]
        self.assertEqual(state, "failed")
        self.assertIn("never made again", error)
        self.assertFalse((host.state / "plugins" / "ca" / "root-key.pem").exists())
        self.assertEqual(fingerprint(self.root_pem(host)), before)

    def test_an_unreadable_root_key_is_a_refusal(self):
        host = self.site()
        host.stop()
        key = host.state / "plugins" / "ca" / "root-key.pem"
        key.chmod(0o644)
        host.start()
        state, error = host.plugin_states()["ca"]
        self.assertEqual(state, "failed")
        self.assertIn("root", error)

    def test_a_configured_pki_certificate_wins(self):
        pki_root = make_certificate(self.workdir, "pki-root", days=30, ca=True)
        pki_leaf = make_certificate(self.workdir, "localhost", issuer=pki_root)
        chain = pathlib.Path(self.workdir) / "pki-chain.pem"
        chain.write_text(pki_leaf[0].read_text() + pki_root[0].read_text())
        host = self.site(core={"tls-certificate": str(chain), "tls-key": str(pki_leaf[1])}, start=False)
        host.start()
        self.assertEqual(host.ctl_json("status")["certificate"], fingerprint(pki_leaf[0]))
        self.assertEqual(host.plugin_states()["ca"][0], "running")
        refused = host.ctl("cert", "renew", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("PKI certificate", refused.stderr)
        self.assertEqual([c for c in self.certificates(host) if c["kind"] == "role"], [])
        self.assertEqual(host.ctl_json("status")["certificate"], fingerprint(pki_leaf[0]))

    def test_a_bad_site_code_fails_the_plugin(self):
        for code in ("P", "PS12", "P,1", "P S"):
            host = self.site(ca={"site-code": code}, start=False)
            host.start()
            state, error = host.plugin_states()["ca"]
            self.assertEqual(state, "failed", code)
            self.assertIn("site-code must be 3 letters or digits", error)
            host.stop()

    def test_rsa_and_ed25519_roots(self):
        for key_type, marker in (("rsa-2048", "Public-Key: (2048 bit)"), ("ed25519", "ED25519")):
            host = self.site(ca={"key-type": key_type})
            root = self.root_pem(host)
            self.assertIn(marker, self.text(root))
            leaf, chain = self.served_chain(host)
            run(["openssl", "verify", "-x509_strict", "-CAfile", str(root), str(leaf)])
            host.stop()

    def test_public_material_over_plain_http(self):
        host = self.site()
        base = host.url("http") + "/ehttpd/ca/"
        with urllib.request.urlopen(base + "trust-bundle.json") as response:
            self.assertEqual(response.headers["Content-Type"], "application/jwk-set+json")
            bundle = json.loads(response.read())
        self.assertEqual(bundle["root"]["fingerprint"], host.ctl_json("ca", "show")["root-fingerprint"])
        self.assertEqual(bundle["site"], "PS1")
        # a standard JOSE library reads the keys
        keys = jwt.PyJWKSet.from_dict({"keys": bundle["keys"]})
        self.assertEqual([k.key_id for k in keys.keys], [k["kid"] for k in bundle["keys"]])
        signing = pathlib.Path(self.workdir) / "site-signing.pem"
        with urllib.request.urlopen(base + "site-signing.pem") as response:
            signing.write_bytes(response.read())
        self.assertIn("CA:FALSE", self.text(signing))
        crl = pathlib.Path(self.workdir) / "crl.der"
        with urllib.request.urlopen(base + "crl.der") as response:
            crl.write_bytes(response.read())
        run(["openssl", "crl", "-inform", "DER", "-in", str(crl), "-noout", "-CAfile",
             str(self.root_pem(host))])
        with self.assertRaises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base + "../../etc/passwd")
        self.assertIn(missing.exception.code, (400, 404))


class Pkcs11Test(CaTestCase):
    MODULE = "/usr/lib/softhsm/libsofthsm2.so"

    def token(self):
        """a SoftHSM2 token of this test's own, with a P-256 key in it"""
        tokens = pathlib.Path(self.workdir) / "tokens"
        tokens.mkdir()
        conf = pathlib.Path(self.workdir) / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        env = {"SOFTHSM2_CONF": str(conf)}
        run(["softhsm2-util", "--init-token", "--free", "--label", "site-root", "--pin", "pin-Wq7zK",
             "--so-pin", "87654321"], env={**os.environ, **env})
        self.token_pubkey = pathlib.Path(self.workdir) / "token-root.pub"
        run(["p11tool", "--provider", self.MODULE, "--batch", "--login", "--generate-privkey=ecdsa",
             "--curve=secp256r1", "--label=root", f"--outfile={self.token_pubkey}", "pkcs11:token=site-root"],
            env={**os.environ, **env, "GNUTLS_PIN": "pin-Wq7zK"})
        return env

    def test_root_key_in_a_token_issues_certificates_that_verify(self):
        env = self.token()
        uri = "pkcs11:token=site-root;object=root;type=private;pin-value=pin-Wq7zK"
        host = self.site(ca={"root-key": uri, "pkcs11-module": self.MODULE}, start=False)
        host.extra_env = env
        host.start()
        self.wait_for_certificate(host)
        shown = host.ctl_json("ca", "show")
        self.assertEqual(shown["root-key-location"], "pkcs11")
        self.assertFalse((host.state / "plugins" / "ca" / "root-key.pem").exists())
        root = self.root_pem(host)
        leaf, chain = self.served_chain(host)
        run(["openssl", "verify", "-x509_strict", "-CAfile", str(root), str(leaf)])
        run(["certtool", "--verify-chain", "--infile", str(chain)])
        # the root's public key is the token's
        token_key = self.token_pubkey.read_text()
        root_key = run(["openssl", "x509", "-in", str(root), "-noout", "-pubkey"]).stdout
        self.assertEqual(token_key.split("-----BEGIN PUBLIC KEY-----")[1].strip(),
                         root_key.split("-----BEGIN PUBLIC KEY-----")[1].strip())
        # the PIN never reaches the log
        self.assertNotIn("pin-Wq7zK", host.read_log())
        # a restart uses the same root from the token
        host.stop()
        host.start()
        self.assertEqual(host.ctl_json("ca", "show")["root-fingerprint"], shown["root-fingerprint"])

    def test_a_wrong_pin_is_a_refusal(self):
        env = self.token()
        host = self.site(ca={"root-key": "pkcs11:token=site-root;object=root;pin-value=0000",
                             "pkcs11-module": self.MODULE}, start=False)
        host.extra_env = env
        host.start()
        state, error = host.plugin_states()["ca"]
        self.assertEqual(state, "failed")
        self.assertIn("PIN", error)
        self.assertNotIn("0000", error)


class IssuanceTest(CaTestCase):
    def test_certificate_from_a_csr_verifies(self):
        host = self.site()
        chain = pathlib.Path(self.workdir) / "chain.pem"
        chain.write_text(self.issue(host, self.csr(), names=("edge.example", "10.1.2.3")).stdout)
        leaf = pathlib.Path(self.workdir) / "leaf.pem"
        leaf.write_text(chain.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
        run(["openssl", "verify", "-x509_strict", "-CAfile", str(self.root_pem(host)), str(leaf)])
        run(["certtool", "--verify-chain", "--infile", str(chain)])
        text = self.text(leaf)
        self.assertIn("DNS:edge.example, IP Address:10.1.2.3, URI:urn:ehttpd:role:dp", text)
        self.assertIn("Not After", text)
        role_certs = [c for c in self.certificates(host) if c["kind"] == "role"]
        self.assertEqual(sorted(c["roles"] for c in role_certs), [["ca"], ["dp"]])

    def test_hostile_requests_are_refused_and_nothing_is_issued(self):
        host = self.site()
        before = self.certificates(host)
        good = self.csr()
        bad_signature = pathlib.Path(self.workdir) / "bad-signature.csr"
        body = good.read_text().splitlines()
        # flip a character inside the signature (the last base64 line before the footer)
        line = body[-2]
        body[-2] = line[:-3] + ("A" if line[-3] != "A" else "B") + line[-2:]
        bad_signature.write_text("\n".join(body) + "\n")
        oversized = pathlib.Path(self.workdir) / "oversized.csr"
        oversized.write_text(good.read_text() * 100)
        ca_true = self.csr("ca-true", extra=("-addext", "basicConstraints=critical,CA:TRUE"))
        garbage = pathlib.Path(self.workdir) / "garbage.csr"
        garbage.write_bytes(b"-----BEGIN CERTIFICATE REQUEST-----\n\xff\xfe\n-----END CERTIFICATE REQUEST-----\n")
        armoured_garbage = pathlib.Path(self.workdir) / "armoured-garbage.csr"
        armoured_garbage.write_text("-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all\n"
                                    "-----END CERTIFICATE REQUEST-----\n")
        cases = [
            (bad_signature, {}, ("signature", "not a PEM")),
            (oversized, {}, ("over",)),
            (ca_true, {}, ("CA:TRUE",)),
            (garbage, {}, ("not a PEM",)),
            (armoured_garbage, {}, ("not a PEM",)),
            (good, {"names": ("../etc",)}, ("neither an IP",)),
            (good, {"names": ("*.example.com",)}, ("neither an IP",)),
            (good, {"names": ("a b",)}, ("neither an IP",)),
            (good, {"names": tuple(f"h{i}.example" for i in range(40))}, ("more than",)),
            (good, {"names": ()}, ("needs a name",)),
            (good, {"roles": ("root",)}, ("unknown role",)),
            (good, {"roles": ()}, ("roles",)),
        ]
        for csr, kw, expected in cases:
            with self.subTest(csr=csr.name, **{k: str(v)[:40] for k, v in kw.items()}):
                result = self.issue(host, csr, check=False, **kw)
                self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
                self.assertTrue(any(e in result.stderr for e in expected), result.stderr)
                self.assertNotIn("BEGIN CERTIFICATE-----", result.stdout)
        self.assertEqual(self.certificates(host), before)
        self.assertEqual(host.proc.poll(), None)

    def test_admin_methods_need_an_admin(self):
        host = self.site()
        self.assertEqual(host.ctl("ca", "show", user=65534, check=False).returncode, 0)
        self.assertEqual(host.ctl("cert", "list", user=65534, check=False).returncode, 0)
        for args in (("cert", "revoke", "01"), ("join-token", "create", "--role", "dp"),
                     ("cert", "renew"), ("join-token", "revoke", "00")):
            result = host.ctl(*args, user=65534, check=False)
            self.assertEqual(result.returncode, 4, args)

    def test_usage_errors(self):
        host = self.site()
        for args in (("cert", "show"), ("cert", "revoke"), ("join-token", "create"), ("ca", "show", "x"),
                     ("join-token", "create", "--role", "dp", "--ttl", "soon"),
                     ("cert", "issue", "--role", "dp"), ("cert", "list", "--colour", "red")):
            self.assertEqual(host.ctl(*args, check=False).returncode, 2, args)


class DbusHostileTest(CaTestCase):
    """org.ehttpd.Ca called directly, with what ehttpctl would never send."""

    def call(self, host, method, *args):
        cmd = ["gdbus", "call", "--session", "--dest", "org.ehttpd", "--object-path",
               "/org/ehttpd/Plugin/ca", "--method", f"org.ehttpd.Ca.{method}", *args]
        return run(cmd, check=False, env=host.env())

    def test_hostile_calls_get_clear_errors_and_change_nothing(self):
        host = self.site()
        before = self.certificates(host)
        csr = self.csr().read_text()
        many_names = "[" + ",".join(f"'h{i}.example'" for i in range(5000)) + "]"
        cases = [
            (("IssueCertificate", "'" + "A" * 100000 + "'", "['edge.example']", "['dp']"), "over"),
            (("IssueCertificate", f"'{csr}'", many_names, "['dp']"), "more than"),
            (("IssueCertificate", f"'{csr}'", "['edge.example']", "['dp','dp']"), "listed twice"),
            (("IssueCertificate", f"'{csr}'", "['edge.example']", "@as []"), "roles"),
            (("IssueCertificate", "'x'"), "InvalidArgs"),
            (("CreateJoinToken", "['dp']", "@as []", "18446744073709551615"), "between"),
            (("CreateJoinToken", "['dp']", "['" + "a" * 300 + "']", "3600"), "over 253"),
            (("ShowCertificate", "''"), "whole octets"),
            (("ShowCertificate", "'" + "0" * 10000 + "'"), "hexadecimal"),
            (("ListCertificates", "'bogus'"), "kind is one of"),
            (("RevokeCertificate", "'01'", "'" + "r" * 5000 + "'"), "reason is one of"),
            (("RevokeJoinToken", "'../../etc'"), "no unused join token"),
            (("NoSuchMethod",), "UnknownMethod"),
        ]
        for args, expected in cases:
            with self.subTest(method=args[0], expected=expected):
                result = self.call(host, *args)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(expected, result.stderr)
        self.assertEqual(self.certificates(host), before)
        self.assertEqual(host.ctl_json("join-token", "list"), [])
        self.assertIsNone(host.proc.poll())


class RevocationTest(CaTestCase):
    def test_revoked_serial_in_crl_and_bundle(self):
        host = self.site()
        self.issue(host, self.csr())
        serial = next(c["serial"] for c in self.certificates(host) if c["roles"] == ["dp"])
        host.ctl("cert", "revoke", serial, "--reason", "key-compromise")
        shown = host.ctl_json("cert", "show", serial)
        self.assertEqual((shown["state"], shown["reason"]), ("revoked", "key-compromise"))
        crl = pathlib.Path(self.workdir) / "crl.der"
        with urllib.request.urlopen(host.url("http") + "/ehttpd/ca/crl.der") as response:
            crl.write_bytes(response.read())
        text = run(["openssl", "crl", "-inform", "DER", "-in", str(crl), "-noout", "-text", "-CAfile",
                    str(self.root_pem(host))]).stdout
        self.assertIn(serial.upper(), text.replace(":", ""))
        with urllib.request.urlopen(host.url("http") + "/ehttpd/ca/trust-bundle.json") as response:
            self.assertIn(serial, json.loads(response.read())["revoked"])

    def test_refusals(self):
        host = self.site()
        root_serial = next(c["serial"] for c in self.certificates(host) if c["kind"] == "root")
        for args, expected in ((("cert", "revoke", root_serial), "replaced, not revoked"),
                               (("cert", "revoke", "0102"), "no certificate"),
                               (("cert", "revoke", "zz"), "hexadecimal"),
                               (("cert", "revoke", "01" * 30), "hexadecimal"),
                               (("cert", "revoke", "0102", "--reason", "because"), "reason is one of")):
            result = host.ctl(*args, check=False)
            self.assertEqual(result.returncode, 1, args)
            self.assertIn(expected, result.stderr)
        self.issue(host, self.csr())
        serial = next(c["serial"] for c in self.certificates(host) if c["roles"] == ["dp"])
        host.ctl("cert", "revoke", serial)
        again = host.ctl("cert", "revoke", serial, check=False)
        self.assertIn("revoked, not issued", again.stderr)


class JoinTokenTest(CaTestCase):
    def test_create_list_revoke(self):
        host = self.site()
        created = host.ctl_json("join-token", "create", "--role", "dp", "--name", "Edge.Example", "--ttl", "2h")
        self.assertTrue(created["token"].startswith("ehjt1." + created["id"] + "."))
        self.assertEqual(created["root-fingerprint"], host.ctl_json("ca", "show")["root-fingerprint"])
        listed = host.ctl_json("join-token", "list")
        self.assertEqual([(t["id"], t["state"], t["roles"], t["names"]) for t in listed],
                         [(created["id"], "active", ["dp"], ["edge.example"])])
        self.assertNotIn(created["token"].split(".")[2], json.dumps(listed))
        self.assertNotIn(created["token"].split(".")[2], host.read_log())
        host.ctl("join-token", "revoke", created["id"])
        self.assertEqual(host.ctl_json("join-token", "list")[0]["state"], "revoked")
        self.assertEqual(host.ctl("join-token", "revoke", created["id"], check=False).returncode, 1)

    def test_refusals(self):
        host = self.site()
        for args, expected in ((("--role", "dp", "--ttl", "8d"), "between"),
                               (("--role", "dp", "--ttl", "10s"), "between"),
                               (("--role", "king"), "unknown role"),
                               (("--role", "dp", "--name", "bad name"), "neither")):
            result = host.ctl("join-token", "create", *args, check=False)
            self.assertEqual(result.returncode, 1, args)
            self.assertIn(expected, result.stderr)


class HotSwapTest(CaTestCase):
    def test_renewal_under_load_fails_no_request(self):
        host = self.site(plugins=("ca", "test-echo"))
        context = ssl.create_default_context(cafile=str(self.root_pem(host)))
        url = host.url("https").replace("127.0.0.1", "localhost") + "/test/1k"
        stop = threading.Event()
        results = {"ok": 0, "failed": []}

        def client():
            while not stop.is_set():
                try:
                    with urllib.request.urlopen(url, context=context, timeout=10) as response:
                        if len(response.read()) == 1024:
                            results["ok"] += 1
                        else:
                            results["failed"].append("short body")
                except Exception as error:  # noqa: BLE001 - every failure counts
                    results["failed"].append(repr(error))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        seen = {host.ctl_json("status")["certificate"]}
        try:
            for _ in range(5):
                time.sleep(0.3)
                renewed = host.ctl_json("cert", "renew")
                seen.add(renewed["fingerprint"])
            time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.assertEqual(results["failed"], [])
        self.assertGreater(results["ok"], 0)
        self.assertEqual(len(seen), 6)
        self.assertEqual(host.ctl_json("status")["certificate"], renewed["fingerprint"])

    def test_automatic_renewal_at_two_thirds(self):
        host = self.site(ca={"role-certificate-seconds": "6"})
        first = host.ctl_json("status")["certificate"]
        # a 6 s certificate renews at 4 s less up to 0.2 s of jitter; allow for slow machines
        second = self.wait_for_certificate(host, other_than=first, timeout=15)
        self.assertNotEqual(first, second)
        self.assertIn("role certificate renewal in", host.read_log())
