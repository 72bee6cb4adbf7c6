# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ehttp-client end to end: a site host (ca, mp, dp) and edge DP hosts, each
its own ehttpd process, and the real client binary with its own state
directory: join, register, approval, tokens, signed policy, content
downloads with failover."""
import hashlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import jwt

from harness import BUILD, plugin_dir_with, run, wait_for
import test_e2e_ca

CLIENT = BUILD / "client" / "ehttp-client"
MIB = 1024 * 1024
SITE_DP = "dp1.example"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClientTestCase(test_e2e_ca.CaTestCase):
    def start_site(self, mp=None):
        # fixed ports: the site restarts (its DP reports what it holds when it starts) and clients keep its URLs
        plugins = ("ca", "mp", "dp")
        core = {"http-listen": f"127.0.0.1:{free_port()}", "https-listen": f"127.0.0.1:{free_port()}"}
        site = self.host(plugins=plugins, with_certificate=False, plugin_dir=plugin_dir_with(self.workdir, *plugins),
                         groups={"mp": mp or {}, "dp": {"names": SITE_DP}}, core=core)
        site.start()
        self.wait_for_certificate(site)
        self.fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        wait_for(lambda: subprocess.run(["curl", "-sf", "-o", "/dev/null", site.url("http") + "/ehttpd/mp/site"])
                 .returncode == 0, what="site information")
        self.site_host = site
        return site

    def start_edge(self, site, name):
        token = site.ctl_json("join-token", "create", "--role", "dp")["token"]
        groups = {"site": {"upstream": site.url("https"), "root-fingerprint": self.fingerprint, "join-token": token},
                  "dp": {"names": name, "pull-interval": "2"}}
        edge = self.host(plugins=("dp",), with_certificate=False, groups=groups,
                         plugin_dir=plugin_dir_with(self.workdir, "dp"))
        edge.start()
        edge.dp_name = name
        return edge

    def client(self, *args, state=None, env=None, check=True, json_out=True, prefix=()):
        state = state or self.state
        cmd = [*prefix, str(CLIENT), "--state-dir", str(state), *(["--json"] if json_out else []), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, args))}: exit {result.returncode}\n{result.stdout}\n"
                                 f"{result.stderr}")
        result.json = json.loads(result.stdout) if json_out and result.stdout.strip().startswith("{") else None
        return result

    def join(self, site, state=None, **extra):
        args = ["join", "--site", site.url("http"), "--root-fingerprint", self.fingerprint,
                "--host-name", "pc1.example", "--hardware-id", "hw-" + os.urandom(8).hex()]
        for key, value in extra.items():
            args += [f"--{key.replace('_', '-')}", value]
        return self.client(*args, state=state)

    def approved_client(self, site):
        self.state = pathlib.Path(self.workdir) / "client-state"
        self.join(site)
        registered = self.client("register").json
        self.assertEqual(registered["state"], "pending")
        site.ctl("client", "approve", registered["client_guid"])
        wait_for(lambda: self.client("status").json["token_expires_at"] > 0, timeout=15,
                 what="a client token")
        return registered["client_guid"]

    def add_content(self, site, files):
        src = pathlib.Path(self.workdir) / ("src-" + os.urandom(4).hex())
        for path, data in files.items():
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            (src / path).write_bytes(data)
        before = {c["id"] for c in site.ctl_json("content", "list")}
        result = site.ctl("content", "add", "App", str(src), check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        (content_id,) = {c["id"] for c in site.ctl_json("content", "list")} - before
        return content_id

    def restart(self, host):
        host.stop()
        host.start()
        self.wait_for_certificate(host)

    def located(self, content_id, names):
        def check():
            result = self.client("content", "locate", content_id, check=False)
            return result.returncode == 0 and set(names) <= {d["name"] for d in result.json["dps"]} and result.json
        return wait_for(check, timeout=60, what=f"{content_id} located on {names}")

    def assert_tree(self, dest, files):
        found = {str(p.relative_to(dest)): p.read_bytes() for p in pathlib.Path(dest).rglob("*") if p.is_file()}
        self.assertEqual(sorted(found), sorted(files))
        for path, data in files.items():
            self.assertEqual(hashlib.sha256(found[path]).hexdigest(), hashlib.sha256(data).hexdigest(), path)


class ClientFlowTest(ClientTestCase):
    def test_join_register_approve_policy_and_content(self):
        site = self.start_site()
        self.state = pathlib.Path(self.workdir) / "client-state"
        joined = self.join(site).json
        self.assertEqual(joined["root_fingerprint"], self.fingerprint)
        self.assertFalse(joined["trust_on_first_use"])
        self.assertEqual(oct(self.state.stat().st_mode & 0o777), "0o700")
        self.assertEqual(oct((self.state / "key.pem").stat().st_mode & 0o777), "0o600")
        self.assertEqual(self.client("status").json["state"], "unregistered")

        registered = self.client("register").json
        self.assertEqual(registered["state"], "pending")
        guid = registered["client_guid"]
        self.assertEqual([c["guid"] for c in site.ctl_json("client", "list")], [guid])
        # pending: --wait is bounded, and says so
        result = self.client("register", "--wait", "1", check=False)
        self.assertEqual(result.returncode, 5, result.stderr)
        self.assertIn("still pending", result.stderr)
        site.ctl("client", "approve", guid)
        again = self.client("register", "--wait", "10").json
        self.assertEqual((again["client_guid"], again["state"]), (guid, "approved"))
        status = self.client("status").json
        self.assertEqual((status["state"], status["site"]), ("approved", site.ctl_json("ca", "show")["site-code"]))
        self.assertGreater(status["token_expires_at"], time.time() + 7 * 3600)

        files = {"app.msi": os.urandom(3 * MIB + 17), "docs/readme.txt": b"read me\n", "empty.dat": b""}
        content_id = self.add_content(site, files)
        deployment = site.ctl_json("deployment", "create", "--content", content_id, "--action", "install", "--all")
        policy = self.client("policy").json
        self.assertEqual([(a["id"], a["content_id"], a["action"]) for a in policy["assignments"]],
                         [(deployment["id"], content_id, "install")])
        text = self.client("policy", json_out=False).stdout
        self.assertIn(content_id, text)

        site = self.restart(site) or site
        self.located(content_id, [SITE_DP])
        dest = pathlib.Path(self.workdir) / "run-dest"
        ran = self.client("run", "--dest", str(dest)).json
        self.assertEqual(len(ran["contents"]), 1)
        self.assertEqual(ran["contents"][0]["content_id"], content_id)
        self.assert_tree(dest / content_id, files)
        # a second run keeps the files in place and transfers nothing
        again = self.client("run", "--dest", str(dest)).json
        self.assertEqual(again["contents"][0]["bytes_transferred"], 0)
        self.assert_tree(dest / content_id, files)
        # no token, key or PIN in the daemon's log
        token = json.loads((self.state / "token.json").read_text())["token"]
        self.assertNotIn(token, site.read_log())


class FailoverTest(ClientTestCase):
    def corrupt(self, host, data):
        sha = hashlib.sha256(data).hexdigest()
        blob = host.state / "plugins" / "dp" / "store" / "sha256" / sha[:2] / sha
        raw = bytearray(blob.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        blob.write_bytes(bytes(raw))

    def test_failover_resumes_on_the_next_dp_and_never_leaves_a_wrong_file(self):
        site = self.start_site()
        self.approved_client(site)
        files = {"big1.bin": os.urandom(24 * MIB + 5), "mid.bin": os.urandom(4 * MIB + 3), "small.txt": b"small\n"}
        size = sum(len(d) for d in files.values())
        content_id = self.add_content(site, files)
        self.restart(site)
        edges = {name: self.start_edge(site, name) for name in ("edge1.example", "edge2.example")}
        hosts = {SITE_DP: site, **edges}
        order = [d["name"] for d in self.located(content_id, hosts)["dps"]]
        self.assertEqual(order[2], SITE_DP, order)  # the edges reported last: they come first
        first, second, remaining = (hosts[n] for n in order)

        # the second DP serves a corrupted byte of mid.bin; the first dies in the middle of big1.bin
        self.corrupt(second, files["mid.bin"])
        dest = pathlib.Path(self.workdir) / "dest"
        partial = dest / ".ehttp-client-partial" / (hashlib.sha256(files["big1.bin"]).hexdigest() + ".part")
        proc = subprocess.Popen([str(CLIENT), "--state-dir", str(self.state), "--json", "content", "get", content_id,
                                 "--dest", str(dest), "--max-rate", "12M", "--stall-timeout", "5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: partial.exists() and partial.stat().st_size >= 4 * MIB, timeout=30,
                 what="the first megabytes from the first DP")
        first.proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, out + err)
        report = json.loads(out)
        self.assert_tree(dest, files)
        by_name = {d["name"]: d for d in report["dps"]}
        self.assertEqual([by_name[n]["state"] for n in order], ["failed", "failed", "used"], report)
        self.assertIn("hash mismatch for mid.bin", by_name[order[1]]["error"])
        # resumed, not restarted: big1.bin came in two parts, from the first and the second DP
        self.assertEqual(by_name[order[0]]["bytes"] + by_name[order[1]]["bytes"],
                         len(files["big1.bin"]) + len(files["mid.bin"]))
        self.assertLess(report["bytes_transferred"], 1.5 * size)
        self.assertEqual(report["located"], 1)  # the MP was asked once
        self.assertEqual([(f["from"], f["to"]) for f in report["failovers"]],
                         [(order[0], order[1]), (order[1], order[2])])
        print(f"\nfailover after SIGKILL: {report['failovers'][0]['seconds']:.3f} s to the next DP's first byte")

        # every DP fails now: the MP is asked once more, then each DP's failure is told; nothing wrong is left
        self.corrupt(remaining, files["mid.bin"])
        dest2 = pathlib.Path(self.workdir) / "dest2"
        result = self.client("content", "get", content_id, "--dest", str(dest2), "--stall-timeout", "5", check=False)
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertEqual(result.json["located"], 2)
        for name in order:
            self.assertIn(name, result.stderr)
        self.assertIn("hash mismatch", result.stderr)
        leftovers = [p for p in dest2.rglob("*") if p.is_file() and ".ehttp-client-partial" not in p.parts]
        self.assertEqual([str(p.relative_to(dest2)) for p in leftovers], ["big1.bin"])  # only whole, checked files
        self.assertEqual(hashlib.sha256(leftovers[0].read_bytes()).digest(),
                         hashlib.sha256(files["big1.bin"]).digest())
