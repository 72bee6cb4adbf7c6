# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The dp role's content library end to end: a real site host running ca and dp,
ehttpctl, curl over HTTPS, and the manifest's signature checked with PyJWT."""
import hashlib
import json
import os
import pathlib
import re
import time
import urllib.request

import jwt
from cryptography import x509

from harness import EHTTPCTL, HostTestCase, plugin_dir_with, run

MIB = 1024 * 1024
MANIFEST_PREFIX = "/CCMTOKENAUTH_SMS_DP_SMSSIG$/"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DpTestCase(HostTestCase):
    def site(self, plugins=("ca", "dp"), dp=None):
        with_ca = "ca" in plugins
        host = self.host(plugins=plugins, with_certificate=not with_ca,
                         plugin_dir=plugin_dir_with(self.workdir, *plugins),
                         groups={"dp": dp or {}})
        host.start()
        if with_ca:
            deadline = time.monotonic() + 10
            while not host.ctl_json("status")["certificate"]:
                if time.monotonic() > deadline:
                    raise AssertionError("no site-issued certificate\n" + host.read_log())
                time.sleep(0.05)
        return host

    def dp_dir(self, host):
        return host.state / "plugins" / "dp"

    def bodies(self, host):
        return sorted(p.name for p in (self.dp_dir(host) / "store" / "sha256").glob("*/*"))

    def staging(self, host):
        return list((self.dp_dir(host) / "store" / "staging").iterdir())

    def source(self, name="src"):
        """a directory: a 20 MiB file, two identical files, an empty file, a nested file"""
        src = pathlib.Path(self.workdir) / name
        (src / "sub" / "deeper").mkdir(parents=True)
        (src / "big.bin").write_bytes(os.urandom(20 * MIB))
        (src / "same-a.txt").write_text("the same bytes\n")
        (src / "sub" / "same-b.txt").write_text("the same bytes\n")
        (src / "empty.dat").write_bytes(b"")
        (src / "sub" / "deeper" / "notes é.txt").write_text("nested, with a non-ASCII name\n")
        return src

    def add(self, host, name, path, *extra, user=None):
        return host.ctl("content", "add", name, str(path), *extra, user=user, check=False)

    def curl(self, host, path, scheme="https"):
        _, port = host.address(scheme)
        root = host.state / "plugins" / "ca" / "root.pem"
        out = run(["curl", "-sS", "--cacert", str(root), "-o", "-", "-w", "\n%{http_code}",
                   "--path-as-is", f"{scheme}://127.0.0.1:{port}{path}"], check=False).stdout
        body, _, code = out.rpartition("\n")
        return int(code), body


class ContentLibraryTest(DpTestCase):
    def test_add_list_show_fetch_verify_remove(self):
        host = self.site()
        src = self.source()
        result = self.add(host, "Office 365", src, "--version", "16.0.1")
        self.assertEqual(result.returncode, 0, result.stderr)
        added = host.ctl_json("content", "list")
        self.assertEqual(len(added), 1)
        content_id = added[0]["id"]
        self.assertRegex(content_id, r"^PS1[0-9]{5}$")
        self.assertEqual(content_id, "PS100001")
        self.assertEqual(added[0]["name"], "Office 365")
        self.assertEqual(added[0]["version"], "16.0.1")
        self.assertEqual(added[0]["files"], 5)
        self.assertEqual(added[0]["size"], 20 * MIB + 2 * 15 + 30)

        # show: every file with its size and hash, relative paths with '/'
        shown = host.ctl_json("content", "show", content_id)
        files = {f["path"]: f for f in shown["file-list"]}
        self.assertEqual(sorted(files), ["big.bin", "empty.dat", "same-a.txt", "sub/deeper/notes é.txt",
                                         "sub/same-b.txt"])
        for rel, entry in files.items():
            self.assertEqual(entry["sha256"], sha256(src / rel), rel)
            self.assertEqual(entry["size"], (src / rel).stat().st_size, rel)
        # identical files are stored once: 4 bodies for 5 files
        self.assertEqual(self.bodies(host), sorted({f["sha256"] for f in files.values()}))
        self.assertEqual(len(self.bodies(host)), 4)
        self.assertEqual(self.staging(host), [])
        manifest_file = self.dp_dir(host) / "content" / content_id / "manifest.jws"
        self.assertEqual(manifest_file.read_text().strip(), shown["manifest-jws"])

        # the signed manifest over HTTPS, checked with the site signing certificate
        code, body = self.curl(host, MANIFEST_PREFIX + content_id)
        self.assertEqual(code, 200, body)
        self.assertEqual(body, shown["manifest-jws"])
        _, http_port = host.address("http")
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ehttpd/ca/site-signing.pem") as r:
            signing = x509.load_pem_x509_certificate(r.read())
        header = jwt.get_unverified_header(body)
        self.assertEqual(header["typ"], "content-manifest+jwt")
        payload = jwt.decode(body, signing.public_key(), algorithms=[header["alg"]])
        self.assertEqual(payload["id"], content_id)
        self.assertEqual(payload["version"], "16.0.1")
        self.assertEqual({f["path"]: f["sha256"] for f in payload["files"]},
                         {p: f["sha256"] for p, f in files.items()})
        # a tampered manifest does not verify
        head, claims, signature = body.split(".")
        forged = jwt.utils.base64url_encode(json.dumps(dict(payload, version="666")).encode()).decode()
        with self.assertRaises(jwt.InvalidSignatureError):
            jwt.decode(f"{head}.{forged}.{signature}", signing.public_key(), algorithms=[header["alg"]])

        # verify: everything checks out
        verified = host.ctl_json("content", "verify")
        self.assertTrue(verified["ok"])
        self.assertEqual((verified["contents"], verified["files"]), (1, 5))

        # corrupt one stored file and lose another: verify names both, exit 1
        store = self.dp_dir(host) / "store" / "sha256"
        big = store / files["big.bin"]["sha256"][:2] / files["big.bin"]["sha256"]
        with open(big, "r+b") as f:
            f.seek(10 * MIB)
            byte = f.read(1)
            f.seek(10 * MIB)
            f.write(bytes([byte[0] ^ 0xFF]))
        nested = files["sub/deeper/notes é.txt"]["sha256"]
        (store / nested[:2] / nested).unlink()
        result = host.ctl("--json", "content", "verify", content_id, check=False)
        self.assertEqual(result.returncode, 1)
        report = json.loads(result.stdout)
        self.assertFalse(report["ok"])
        self.assertEqual(sorted((p["path"], p["problem"]) for p in report["problems"]),
                         [("big.bin", "hash"), ("sub/deeper/notes é.txt", "missing")])
        text = host.ctl("content", "verify", check=False)
        self.assertEqual(text.returncode, 1)
        self.assertIn("big.bin: stored file does not match its SHA-256", text.stdout)

        # a second content shares one body with the first
        single = pathlib.Path(self.workdir) / "single.txt"
        single.write_text("the same bytes\n")
        self.assertEqual(self.add(host, "Single", single).returncode, 0)
        second = host.ctl_json("content", "show", "PS100002")
        self.assertEqual([f["path"] for f in second["file-list"]], ["single.txt"])
        self.assertEqual(second["version"], "1")

        # remove the first: its bodies go, the shared one stays
        removed = host.ctl_json("content", "remove", content_id)
        self.assertEqual(removed["id"], content_id)
        self.assertEqual(self.bodies(host), [second["file-list"][0]["sha256"]])
        self.assertFalse((self.dp_dir(host) / "content" / content_id).exists())
        self.assertEqual([c["id"] for c in host.ctl_json("content", "list")], ["PS100002"])
        self.assertEqual(self.curl(host, MANIFEST_PREFIX + content_id)[0], 404)
        self.assertTrue(host.ctl_json("content", "verify")["ok"])
        self.assertNotEqual(host.ctl("content", "show", content_id, check=False).returncode, 0)
        # ids are never reused
        self.assertEqual(self.add(host, "Again", single).returncode, 0)
        self.assertEqual([c["id"] for c in host.ctl_json("content", "list")], ["PS100002", "PS100003"])

    def test_library_survives_a_restart(self):
        host = self.site(dp={"site-code": "XY7"})
        f = pathlib.Path(self.workdir) / "tool.exe"
        f.write_bytes(b"MZ" + os.urandom(4096))
        self.assertEqual(self.add(host, "Tool", f).returncode, 0)
        before = host.ctl_json("content", "show", "XY700001")
        host.stop()
        host.start()
        self.assertEqual(host.ctl_json("content", "show", "XY700001"), before)
        code, body = self.curl(host, MANIFEST_PREFIX + "XY700001")
        self.assertEqual((code, body), (200, before["manifest-jws"]))
        self.assertEqual(self.add(host, "Tool", f, "--version", "2").returncode, 0)
        self.assertEqual(host.ctl_json("content", "show", "XY700002")["version"], "2")

    def test_manifest_endpoint_refusals(self):
        host = self.site()
        f = pathlib.Path(self.workdir) / "a.txt"
        f.write_text("a\n")
        self.assertEqual(self.add(host, "A", f).returncode, 0)
        self.assertEqual(self.curl(host, MANIFEST_PREFIX + "PS100001")[0], 200)
        self.assertEqual(self.curl(host, MANIFEST_PREFIX + "PS199999")[0], 404)
        self.assertEqual(self.curl(host, MANIFEST_PREFIX + "ZZZ00001")[0], 404)
        for bad in ("ps100001", "PS1000011", "PS10001", "PS1-0001", "PS100001/x", "", "..%2fPS100001",
                    "PS100001%00", "%50S100001x", "PS100001%2f..%2f..%2fsecret"):
            code, _ = self.curl(host, MANIFEST_PREFIX + bad)
            self.assertIn(code, (400, 404), bad)
        for bad in ("ps100001", "PS1000011", "PS10001", "PS100001/x", ""):
            self.assertEqual(self.curl(host, MANIFEST_PREFIX + bad)[0], 400, bad)
        # HTTPS only
        self.assertEqual(self.curl(host, MANIFEST_PREFIX + "PS100001", scheme="http")[0], 403)


class RefusalTest(DpTestCase):
    def assertRefused(self, host, path, message, name="Bad"):
        result = self.add(host, name, path)
        self.assertEqual(result.returncode, 1, (path, result.stdout, result.stderr))
        self.assertIn(message, result.stderr, path)
        self.assertEqual(host.ctl_json("content", "list"), [])
        self.assertEqual(self.bodies(host), [])
        self.assertEqual(self.staging(host), [])

    def test_hostile_sources_are_refused_and_leave_nothing(self):
        host = self.site()
        work = pathlib.Path(self.workdir)
        outside = work / "secret.txt"
        outside.write_text("outside the source\n")

        with_link = work / "with-link"
        with_link.mkdir()
        (with_link / "ok.txt").write_text("ok\n")
        (with_link / "link").symlink_to(outside)
        self.assertRefused(host, with_link, "link: is a symbolic link")

        dir_link = work / "dir-link"
        dir_link.mkdir()
        (dir_link / "ok.txt").write_text("ok\n")
        (dir_link / "up").symlink_to(work)
        self.assertRefused(host, dir_link, "up: is a symbolic link")

        top_link = work / "top-link"
        top_link.symlink_to(outside)
        self.assertRefused(host, top_link, "is a symbolic link")

        with_fifo = work / "with-fifo"
        with_fifo.mkdir()
        (with_fifo / "ok.txt").write_text("ok\n")
        os.mkfifo(with_fifo / "pipe")
        self.assertRefused(host, with_fifo, "pipe: is not a regular file or a directory")
        self.assertRefused(host, "/dev/null", "is not a regular file or a directory")

        self.assertRefused(host, f"{with_fifo}/../secret.txt", "'..' is not allowed")
        self.assertRefused(host, "/", "the root directory cannot be added")
        self.assertRefused(host, work / "no-such-thing", "No such file")

        backslash = work / "backslash"
        backslash.mkdir()
        (backslash / "a\\b.txt").write_text("x\n")
        self.assertRefused(host, backslash, "names must be UTF-8")

        bad_utf8 = work / "bad-utf8"
        bad_utf8.mkdir()
        (bad_utf8 / "ok.txt").write_text("ok\n")
        with open(os.path.join(os.fsencode(bad_utf8), b"bad-\xff.txt"), "wb") as f:
            f.write(b"x")
        self.assertRefused(host, bad_utf8, "names must be UTF-8")

        control = work / "control"
        control.mkdir()
        (control / "a\nb.txt").write_text("x\n")
        self.assertRefused(host, control, "names must be UTF-8")

        empty = work / "empty"
        (empty / "only-dirs").mkdir(parents=True)
        self.assertRefused(host, empty, "there are no files to add")

        deep = work / "deep"
        path = deep
        for i in range(40):
            path = path / "d"
        path.mkdir(parents=True)
        (path / "f.txt").write_text("deep\n")
        self.assertRefused(host, deep, "nest too deeply")

        many = work / "many"
        many.mkdir()
        for i in range(10001):
            (many / f"{i}").write_bytes(b"")
        self.assertRefused(host, many, "more than 10000")

        ok = work / "ok.txt"
        ok.write_text("ok\n")
        self.assertRefused(host, ok, "a content name", name="bad\tname")
        result = host.ctl("content", "add", "Name", str(ok), "--version", "1 0", check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("a version is", result.stderr)
        # relative paths are the caller's, made absolute by ehttpctl; '..' is still refused
        result = run([str(EHTTPCTL), "--session", "content", "add", "Rel", "../secret.txt"], check=False,
                     env=host.env(), cwd=str(with_fifo))
        self.assertEqual(result.returncode, 1)
        self.assertIn("'..' is not allowed", result.stderr)
        # nothing got an id: the next content is the first
        self.assertEqual(self.add(host, "Fine", ok).returncode, 0)
        self.assertEqual([c["id"] for c in host.ctl_json("content", "list")], ["PS100001"])

    def test_without_a_ca_add_fails_and_leaves_nothing(self):
        host = self.site(plugins=("dp",))
        src = self.source()
        result = self.add(host, "Unsigned", src)
        self.assertEqual(result.returncode, 1)
        self.assertIn("could not be signed by the site signing key", result.stderr)
        self.assertEqual(host.ctl_json("content", "list"), [])
        self.assertEqual(self.bodies(host), [])
        self.assertEqual(self.staging(host), [])
        self.assertEqual(list((self.dp_dir(host) / "content").iterdir()), [])

    def test_admin_methods_need_an_admin(self):
        host = self.site()
        f = pathlib.Path(self.workdir) / "a.txt"
        f.write_text("a\n")
        self.assertEqual(self.add(host, "A", f).returncode, 0)
        for args in (("content", "add", "B", str(f)), ("content", "remove", "PS100001")):
            result = host.ctl(*args, user=65534, check=False)
            self.assertEqual(result.returncode, 4, args)
            self.assertIn("permission denied", result.stderr)
        for args in (("content", "list"), ("content", "show", "PS100001"), ("content", "verify")):
            self.assertEqual(host.ctl(*args, user=65534, check=False).returncode, 0, args)
        self.assertEqual([c["id"] for c in host.ctl_json("content", "list")], ["PS100001"])

    def test_usage_and_bad_ids(self):
        host = self.site()
        self.assertEqual(host.ctl("content", "add", "OnlyName", check=False).returncode, 2)
        self.assertEqual(host.ctl("content", "add", "N", "/tmp", "--bogus", "x", check=False).returncode, 2)
        self.assertEqual(host.ctl("content", "show", check=False).returncode, 2)
        for args in (("content", "show", "nonsense"), ("content", "remove", "../x"),
                     ("content", "verify", "PS1"), ("content", "show", "PS199999"),
                     ("content", "remove", "PS199999"), ("content", "verify", "PS199999")):
            result = host.ctl(*args, check=False)
            self.assertEqual(result.returncode, 1, args)
            self.assertTrue(re.search(r"not a content id|no content", result.stderr), result.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
