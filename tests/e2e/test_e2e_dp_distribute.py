# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Distribution by assignment end to end: a site host (ca, dp,
test-token-minter) and an edge host running only dp with
[dp] distribution=assigned. The site assigns, takes back, redistributes and
validates content; the edge pulls only what is assigned to it, removes what
is taken back, repairs a damaged file, and reports each step in
dp.content.status, which `ehttpctl content status` shows on the site.
`ehttpctl dp status` (and its D-Bus method) gives each DP's figures."""
import hashlib
import json
import os
import pathlib
import subprocess

from harness import wait_for
import test_e2e_dp_edge as edge_tests

PKG = edge_tests.PKG
EDGE = edge_tests.EDGE
MIB = 1024 * 1024


class DistributeTest(edge_tests.EdgeTestCase):
    def start_assigned_edge(self, site):
        token = site.ctl_json("join-token", "create", "--role", "dp")["token"]
        fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        groups = {"site": {"upstream": site.url("https"), "root-fingerprint": fingerprint, "join-token": token},
                  "dp": {"names": EDGE, "pull-interval": "300", "distribution": "assigned"}}
        edge = self.host(plugins=("dp",), with_certificate=False, groups=groups,
                         plugin_dir=edge_tests.plugin_dir_with(self.workdir, "dp"))
        edge.start()
        self.edge_host = edge
        wait_for(lambda: "token signing key" in edge.read_log(), what="the edge's trust bundle")
        return edge

    def add_second(self, site):
        src = pathlib.Path(self.workdir) / "second"
        src.mkdir()
        (src / "other.txt").write_text("other\n")
        self.assertEqual(site.ctl("content", "add", "Other", str(src)).returncode, 0)
        return site.ctl_json("content", "list")[-1]["id"]

    def rows(self, site, cid):
        return {row["dp"]: row for row in site.ctl_json("content", "status", cid)}

    def edge_ids(self):
        return [c["id"] for c in self.edge_host.ctl_json("content", "list")]

    def test_assign_take_back_redistribute_validate(self):
        site = self.start_site()
        src, cid, msha = self.add_content(site)
        other = self.add_second(site)
        edge = self.start_assigned_edge(site)
        token = self.mint(cid, msha, aud=EDGE)

        # nothing is assigned: the edge pulls nothing and serves nothing
        wait_for(lambda: "pulls only the content assigned to" in edge.read_log(), what="the edge's mode")
        self.assertEqual(self.edge_ids(), [])
        self.assertNotIn(EDGE, self.rows(site, cid))
        self.assertEqual(self.edge_get(PKG + cid + "/small.txt", token)[0], 404)

        # assigned: pending on the site until the edge reports, then installed; the other content stays away
        result = site.ctl_json("content", "distribute", cid, "--dp", EDGE.upper())
        self.assertEqual((result["dp"], result["changed"]), (EDGE, True))
        self.assertFalse(site.ctl_json("content", "distribute", cid, "--dp", EDGE)["changed"])
        row = self.rows(site, cid)[EDGE]
        self.assertTrue(row["assigned"])
        self.assertIn(row["state"], ("pending", "in-progress", "installed"))
        self.wait_installed(site, cid)
        self.assertEqual(self.edge_ids(), [cid])
        self.assertEqual(self.edge_get(PKG + cid + "/small.txt", token), (200, b"small file\n"))
        self.assertNotIn(EDGE, self.rows(site, other))
        text = site.ctl("content", "status", cid).stdout
        self.assertRegex(text, EDGE + r"\s+installed\s+\d+\s+yes")

        # redistribute: every file fetched anew, the content served throughout
        installs = edge.read_log().count(f"content {cid} 1 installed")
        site.ctl("content", "redistribute", cid, "--dp", EDGE)
        wait_for(lambda: edge.read_log().count(f"content {cid} 1 installed") == installs + 1,
                 timeout=60, what="the redistribution\n" + edge.read_log())
        self.assertIn("redistribution asked", edge.read_log())
        self.assertEqual(edge.ctl("content", "verify").returncode, 0)

        # validate: a damaged body (same size, one byte changed) is found, dropped, fetched anew
        big_sha = hashlib.sha256((src / "big.bin").read_bytes()).hexdigest()
        body = edge.state / "plugins" / "dp" / "store" / "sha256" / big_sha[:2] / big_sha
        data = bytearray(body.read_bytes())
        data[1000] ^= 0xFF
        body.write_bytes(bytes(data))
        self.assertEqual(edge.ctl("content", "verify", check=False).returncode, 1)
        site.ctl("content", "validate", cid, "--dp", EDGE)
        wait_for(lambda: "damaged file(s): big.bin (hash)" in edge.read_log(), timeout=60, what="the validation")
        wait_for(lambda: edge.ctl("content", "verify", check=False).returncode == 0, timeout=60,
                 what="the repair\n" + edge.read_log())
        self.wait_installed(site, cid)
        out = pathlib.Path(self.workdir) / "validated.out"
        code, _ = self.edge_get(PKG + cid + "/big.bin", token, out=out)
        self.assertEqual((code, hashlib.sha256(out.read_bytes()).hexdigest()), (200, big_sha))
        # validating on the origin reports installed (its files are right)
        site.ctl("content", "validate", cid)
        wait_for(lambda: f"content {cid} validated" in site.read_log(), what="the site's validation")

        # taken back: the edge removes it, its row goes from the site's status, downloads get 404
        result = site.ctl_json("content", "undistribute", cid, "--dp", EDGE)
        self.assertTrue(result["changed"])
        wait_for(lambda: self.edge_ids() == [], timeout=60, what="the removal\n" + edge.read_log())
        wait_for(lambda: EDGE not in self.rows(site, cid), what="the edge's row going")
        self.assertEqual(self.edge_get(PKG + cid + "/small.txt", token)[0], 404)
        wait_for(lambda: edge.ctl_json("dp", "status")["stored-files"] == 0, what="the bodies collected")

        # assignments survive a restart of the site
        site.ctl("content", "distribute", other, "--dp", EDGE)
        site.stop()
        site.start()
        self.assertTrue(self.rows(site, other)[EDGE]["assigned"])

    def test_refusals(self):
        site = self.start_site()
        _, cid, _ = self.add_content(site)
        for args, code, words in (
                (("content", "distribute", cid), 2, "usage"),
                (("content", "distribute", cid, "--dp"), 2, "usage"),
                (("content", "distribute", "--dp", EDGE), 2, "usage"),
                (("content", "distribute", cid, cid, "--dp", EDGE), 2, "usage"),
                (("content", "distribute", cid, "--dp", "../etc"), 1, "not a DP name"),
                (("content", "distribute", cid, "--dp", "a" * 256), 1, "not a DP name"),
                (("content", "distribute", cid, "--dp", "dp\u00e9"), 1, "not a DP name"),
                (("content", "distribute", "PS199999", "--dp", EDGE), 1, "no content"),
                (("content", "distribute", "../x", "--dp", EDGE), 1, "not a content id"),
                (("content", "undistribute", "PS1", "--dp", EDGE), 1, "not a content id"),
                (("content", "redistribute", "PS199999"), 1, "no content"),
                (("content", "validate", cid, "--dp", "a b"), 1, "not a DP name"),
                (("content", "validate", cid, "--bogus"), 2, "usage")):
            result = site.ctl(*args, check=False)
            self.assertEqual(result.returncode, code, (args, result.stderr))
            self.assertIn(words, result.stderr, args)
        for args in (("content", "distribute", cid, "--dp", EDGE), ("content", "undistribute", cid, "--dp", EDGE),
                     ("content", "redistribute", cid), ("content", "validate", cid)):
            result = site.ctl(*args, user=65534, check=False)
            self.assertEqual(result.returncode, 4, args)
            self.assertIn("permission denied", result.stderr)
        self.assertEqual(site.ctl(("dp"), "status", user=65534, check=False).returncode, 0)
        # nothing was assigned by the refused calls
        self.assertFalse((site.state / "plugins" / "dp" / "assignments.json").exists())
        # a damaged assignments file stops the plugin with the reason, not a half-read state
        site.stop()
        (site.state / "plugins" / "dp" / "assignments.json").write_text('{"PS100001": ["../x"]}')
        site.start()
        wait_for(lambda: site.plugin_states()["dp"][0] == "failed", what="the dp failing")
        self.assertIn("assignments.json is damaged", site.plugin_states()["dp"][1])


class DpStatusTest(edge_tests.EdgeTestCase):
    def test_dp_status_over_ctl_and_dbus(self):
        site = self.start_site()
        src, cid, msha = self.add_content(site)
        status = site.ctl_json("dp", "status")
        self.assertEqual(status["contents"], 1)
        self.assertEqual(status["upstream"], "")
        self.assertIn("dp1.example", status["names"])
        self.assertEqual(status["stored-files"], 4)  # big, small, nested, empty
        self.assertGreaterEqual(status["disk-bytes"], 20 * MIB)
        self.assertEqual(status["content-bytes"], sum(p.stat().st_size for p in src.rglob("*") if p.is_file()))
        self.assertEqual((status["active-downloads"], status["active-pulls"], status["pulling"]), (0, 0, False))
        self.assertGreater(status["bundle-version"], 0)
        text = site.ctl("dp", "status").stdout
        self.assertIn("active downloads: 0", text)
        self.assertIn("contents:         1", text)

        # a slow download is counted while it runs, and no longer once it ends
        token = self.mint(cid, msha)
        _, port = site.address("https")
        slow = subprocess.Popen(["curl", "-sS", "--cacert", str(self.root), "--limit-rate", "100k", "-o",
                                 os.devnull, "-H", f"Authorization: Bearer {token}",
                                 f"https://127.0.0.1:{port}{PKG}{cid}/big.bin"])
        try:
            wait_for(lambda: site.ctl_json("dp", "status")["active-downloads"] == 1, what="the active download")
        finally:
            slow.kill()
            slow.wait()
        wait_for(lambda: site.ctl_json("dp", "status")["active-downloads"] == 0, what="the download ending")

        # the same over D-Bus
        reply = subprocess.run(["gdbus", "call", "--session", "--dest", "org.ehttpd", "--object-path",
                                "/org/ehttpd/Plugin/dp", "--method", "org.ehttpd.Dp.Status"],
                               capture_output=True, text=True, env=site.env(), check=True).stdout
        self.assertIn("'contents': <uint32 1>", reply)
        self.assertIn("'disk-bytes': <uint64 ", reply)

        # an edge: its upstream, its mode, what it pulled
        edge = self.start_edge(site)
        self.wait_installed(site, cid)
        status = edge.ctl_json("dp", "status")
        self.assertEqual((status["upstream"], status["distribution"], status["contents"]),
                         (site.url("https"), "all", 1))
        self.assertEqual(status["staging-files"], 0)
        self.assertEqual(json.loads(edge.ctl("--json", "dp", "status").stdout)["names"], [EDGE])
