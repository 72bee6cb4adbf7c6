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
