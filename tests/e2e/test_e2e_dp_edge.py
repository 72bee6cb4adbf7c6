# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Distribution to an edge DP end to end: a site host (ca, dp,
test-token-minter) and an edge host running only dp, enrolled with a join
token, each its own process, state and D-Bus. The edge pulls the content
over HTTPS with its role certificate, verifies it, serves it with content
tokens, and keeps serving it when the site is gone."""
import hashlib
import pathlib
import subprocess

from harness import make_certificate, plugin_dir_with, wait_for
import test_e2e_ca
import test_e2e_dp_download as download

PKG = download.PKG

EDGE = "edge1.example"


class EdgeTestCase(test_e2e_ca.CaTestCase):
    # the site helpers of the download tests (not their tests)
    start_site = download.DownloadTest.start_site
    curl_raw = download.DownloadTest.curl_raw
    mint = download.DownloadTest.mint
    add_content = download.DownloadTest.add_content

    def start_edge(self, site, staging=None, pull_interval=2):
        token = site.ctl_json("join-token", "create", "--role", "dp")["token"]
        fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        groups = {"site": {"upstream": site.url("https"), "root-fingerprint": fingerprint, "join-token": token},
                  "dp": {"names": EDGE, "pull-interval": str(pull_interval)}}
        edge = self.host(plugins=("dp",), with_certificate=False, groups=groups,
                         plugin_dir=plugin_dir_with(self.workdir, "dp"))
        for name, data in (staging or {}).items():
            directory = edge.state / "plugins" / "dp" / "pull-staging"
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            (directory / name).write_bytes(data)
        edge.start()
        self.edge_host = edge
        return edge

    def edge_status(self, site, content_id):
        return {s["dp"]: s for s in site.ctl_json("content", "status", content_id)}.get(EDGE)

    def wait_installed(self, site, content_id, timeout=60):
        return wait_for(lambda: (self.edge_status(site, content_id) or {}).get("state") == "installed",
                        timeout=timeout, what="the edge installed the content\n" + self.edge_host.read_log())

    def edge_get(self, path, token, *args, out=None):
        _, port = self.edge_host.address("https")
        extra = ["-H", f"Authorization: Bearer {token}"] if token else []
        cmd = ["curl", "-sS", "--cacert", str(self.root), "-o", str(out) if out else "-", "-w", "\n%{http_code}",
               *extra, *args, f"https://127.0.0.1:{port}{path}"]
        result = subprocess.run(cmd, capture_output=True)
        body, _, code = result.stdout.rpartition(b"\n")
        return int(code or 0), body

    def site_pull(self, path, *args, scheme="https"):
        return self.curl_raw(path, *args, scheme=scheme)[0]


class EdgeDistributionTest(EdgeTestCase):
    def test_edge_pulls_serves_resumes_and_outlives_the_site(self):
        site = self.start_site()
        src, cid, msha = self.add_content(site)
        edge = self.start_edge(site)
        status = self.wait_installed(site, cid) and self.edge_status(site, cid)
        self.assertEqual(status["manifest-sha256"], msha)
        self.assertTrue(status["dp-url"].startswith("https://"))
        self.assertEqual(edge.ctl_json("content", "list")[0]["id"], cid)

        token = self.mint(cid, msha, aud=EDGE)
        big_sha = hashlib.sha256((src / "big.bin").read_bytes()).hexdigest()
        out = pathlib.Path(self.workdir) / "edge-big.out"
        code, _ = self.edge_get(PKG + cid + "/big.bin", token, out=out)
        self.assertEqual(code, 200)
        self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), big_sha)
        code, body = self.edge_get(PKG + cid + "/sub/nested.txt", token)
        self.assertEqual((code, body), (200, b"nested\n"))

        # a resumed download: the first 5 MiB, then the rest with a Range
        part = pathlib.Path(self.workdir) / "edge-big.part"
        code, _ = self.edge_get(PKG + cid + "/big.bin", token, "-r", "0-5242879", out=part)
        self.assertEqual(code, 206)
        rest = pathlib.Path(self.workdir) / "edge-big.rest"
        code, _ = self.edge_get(PKG + cid + "/big.bin", token, "-r", "5242880-", out=rest)
        self.assertEqual(code, 206)
        self.assertEqual(hashlib.sha256(part.read_bytes() + rest.read_bytes()).hexdigest(), big_sha)

        # a token for the site's DP only is refused on the edge
        code, _ = self.edge_get(PKG + cid + "/small.txt", self.mint(cid, msha))
        self.assertEqual(code, 403)

        # the site goes away: the edge keeps serving with the bundle it kept
        site.stop()
        code, body = self.edge_get(PKG + cid + "/small.txt", token)
        self.assertEqual((code, body), (200, b"small file\n"))
        self.assertIsNone(edge.proc.poll())

    def test_a_corrupt_staged_file_is_never_served_and_is_repaired(self):
        site = self.start_site()
        src, cid, msha = self.add_content(site)
        big_sha = hashlib.sha256((src / "big.bin").read_bytes()).hexdigest()
        # what a pull killed mid-file left behind, damaged: the edge resumes it, finds the hash wrong
        edge = self.start_edge(site, staging={big_sha + ".part": b"\0" * (1024 * 1024)})
        wait_for(lambda: "hash mismatch" in edge.read_log(), timeout=60, what="the hash mismatch")
        self.wait_installed(site, cid)
        token = self.mint(cid, msha, aud=EDGE)
        out = pathlib.Path(self.workdir) / "repaired.out"
        code, _ = self.edge_get(PKG + cid + "/big.bin", token, out=out)
        self.assertEqual(code, 200)
        self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), big_sha)
        self.assertEqual(edge.ctl("content", "verify").returncode, 0)


class PullEndpointTest(EdgeTestCase):
    def test_the_pull_endpoint_wants_a_dp_role_certificate_of_this_site(self):
        site = self.start_site()
        _, cid, _ = self.add_content(site)
        body = hashlib.sha256(b"small file\n").hexdigest()
        paths = ("/ehttpd/dp/library", "/ehttpd/dp/manifest/" + cid, "/ehttpd/dp/pull/" + body)

        def pem(name, roles):
            csr = self.csr(name)
            chain = pathlib.Path(self.workdir) / f"{name}.pem"
            chain.write_text(self.issue(site, csr, roles=roles, names=(name,)).stdout)
            return ["--cert", str(chain), "--key", str(pathlib.Path(self.workdir) / f"{name}.key")]

        dp_cert = pem("dp.example", ("dp",))
        mp_cert = pem("mp.example", ("mp",))
        other_root = make_certificate(self.workdir, "other-root", ca=True)
        other = make_certificate(self.workdir, "other-leaf", issuer=other_root)
        for path in paths:
            self.assertEqual(self.site_pull(path), 403, path)
            self.assertEqual(self.site_pull(path, *mp_cert), 403, path)
            self.assertEqual(self.site_pull(path, "--cert", str(other[0]), "--key", str(other[1])), 403, path)
            self.assertEqual(self.site_pull(path, *dp_cert), 200, path)
            self.assertEqual(self.site_pull(path, "--http1.1", "-H", "Range: bytes=2-4", *dp_cert),
                             206 if "/pull/" in path else 200, path)
        self.assertEqual(self.site_pull("/ehttpd/dp/pull/" + "0" * 64, *dp_cert), 404)
        self.assertEqual(self.site_pull("/ehttpd/dp/pull/../../etc", *dp_cert), 400)
        self.assertEqual(self.site_pull("/ehttpd/dp/library", "--cert", str(other[0]), "--key", str(other[1]),
                                        scheme="http"), 403)
        serial = next(c["serial"] for c in self.certificates(site) if "dp.example" in c["names"])
        site.ctl("cert", "revoke", serial)
        wait_for(lambda: self.site_pull(paths[0], *dp_cert) == 403, what="the revocation reaching the dp")
