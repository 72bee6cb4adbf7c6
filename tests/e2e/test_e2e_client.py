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
import http.server
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

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


class InterruptTest(ClientTestCase):
    """The client itself dies mid-transfer: nothing is trusted before its hash is checked, and the next run
    resumes from the bytes kept, or starts over when they are not what the manifest says."""

    def setUp(self):
        super().setUp()
        site = self.start_site()
        self.approved_client(site)
        self.files = {"image.wim": os.urandom(24 * MIB + 5)}
        self.size = len(self.files["image.wim"])
        self.content_id = self.add_content(site, self.files)
        self.restart(site)
        located = self.located(self.content_id, [SITE_DP])
        self.by_hand = ["--content-token", located["token"], "--dp", located["dps"][0]["url"]]

    def interrupted(self, dest):
        """a download SIGKILLed after its first megabytes: the bytes its partial file holds"""
        partial = dest / ".ehttp-client-partial" / (hashlib.sha256(self.files["image.wim"]).hexdigest() + ".part")
        proc = subprocess.Popen([str(CLIENT), "--state-dir", str(self.state), "--json", "content", "get",
                                 self.content_id, "--dest", str(dest), "--max-rate", "8M", *self.by_hand],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: partial.exists() and partial.stat().st_size >= 3 * MIB, timeout=30,
                 what="the first megabytes")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # nothing but the partial file: no file of the content is in place before its hash is checked
        self.assertEqual([p.relative_to(dest) for p in dest.rglob("*") if p.is_file()],
                         [partial.relative_to(dest)])
        kept = partial.stat().st_size
        self.assertGreater(kept, 0)
        self.assertLess(kept, self.size)
        return partial, kept

    def test_a_killed_download_leaves_no_file_and_the_next_run_resumes_byte_exact(self):
        dest = pathlib.Path(self.workdir) / "dest"
        partial, kept = self.interrupted(dest)
        got = self.client("content", "get", self.content_id, "--dest", str(dest), *self.by_hand).json
        self.assertEqual(got["bytes_transferred"], self.size - kept)  # resumed, not restarted
        self.assertEqual(got["dps"][0]["state"], "used")
        self.assert_tree(dest, self.files)
        self.assertFalse(partial.parent.exists())

    def test_a_corrupt_byte_kept_from_a_killed_run_is_caught_and_the_file_starts_over(self):
        dest = pathlib.Path(self.workdir) / "dest"
        partial, kept = self.interrupted(dest)
        raw = bytearray(partial.read_bytes())
        raw[kept // 2] ^= 0x20
        partial.write_bytes(bytes(raw))
        result = self.client("content", "get", self.content_id, "--dest", str(dest), *self.by_hand, json_out=False)
        self.assertIn("hash mismatch with %d bytes kept from an earlier run: starting it over" % kept, result.stderr)
        self.assert_tree(dest, self.files)
        self.assertFalse(partial.parent.exists())
        # the DP is not blamed for the kept bytes; the MP is not asked
        partial, kept = self.interrupted(pathlib.Path(self.workdir) / "dest2")
        raw = bytearray(partial.read_bytes())
        raw[0] ^= 0x01
        partial.write_bytes(bytes(raw))
        got = self.client("content", "get", self.content_id, "--dest", str(partial.parent.parent), *self.by_hand).json
        self.assertEqual((got["dps"][0]["state"], got["located"], got["failovers"]), ("used", 0, []))
        self.assertEqual(got["bytes_transferred"], self.size - kept + self.size)
        self.assert_tree(partial.parent.parent, self.files)


class ConnectProxy:
    """an HTTP proxy that tunnels CONNECT requests and records where they went"""

    def __init__(self):
        self.targets = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_CONNECT(self):
                host, _, port = self.path.rpartition(":")
                proxy.targets.append(self.path)
                upstream = socket.create_connection((host, int(port)), timeout=30)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                done = threading.Event()

                def pump(src, dst):
                    try:
                        while (data := src.recv(65536)):
                            dst.sendall(data)
                    except OSError:
                        pass
                    done.set()
                threading.Thread(target=pump, args=(upstream, self.connection), daemon=True).start()
                pump(self.connection, upstream)
                done.wait(30)
                upstream.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ProxyTest(ClientTestCase):
    def test_a_proxy_named_in_the_environment_is_used_and_none_otherwise(self):
        site = self.start_site()
        self.approved_client(site)
        proxy = ConnectProxy()
        self.addCleanup(proxy.stop)
        no_proxy = {name: "" for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy",
                                          "ALL_PROXY", "no_proxy", "NO_PROXY")}
        self.client("token", "--renew", env=no_proxy)
        self.assertEqual(proxy.targets, [])
        self.client("token", "--renew", env={**no_proxy, "https_proxy": proxy.url})
        mp = site.url("https").removeprefix("https://")
        self.assertIn(mp, proxy.targets)


class TamperingProxy:
    """An HTTPS front for the MP or a DP with a certificate the site's CA
    issued (so a pinned client accepts it) that changes policy on its way
    through, or stands in for a DP that answers 503 or stalls mid-file."""

    def __init__(self, upstream, chain, key, cafile):
        self.mode = None
        proxy = self
        context = ssl.create_default_context(cafile=str(cafile))

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                req = urllib.request.Request(upstream + self.path, data=body, method=self.command)
                for name in ("Authorization", "Content-Type", "Range"):
                    if self.headers.get(name):
                        req.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(req, context=context, timeout=10) as response:
                        status, data, headers = response.status, response.read(), response.headers
                except urllib.error.HTTPError as error:
                    status, data, headers = error.code, error.read(), error.headers
                ctype = headers.get("Content-Type")
                if proxy.mode == "503" and "SMSPKG" in self.path:
                    status, data = 503, b"busy"
                if proxy.mode == "stall" and "SMSPKG" in self.path and status in (200, 206):
                    # the headers and a first part, then nothing: the connection stays open
                    self.send_response(status)
                    for name in ("Content-Type", "Content-Length", "Content-Range", "ETag"):
                        if headers.get(name):
                            self.send_header(name, headers[name])
                    self.end_headers()
                    self.wfile.write(data[:65536])
                    self.wfile.flush()
                    time.sleep(20)
                    return
                data = proxy.tamper(self.path, data)
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = relay
            do_POST = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(str(chain), str(key))
        self.server.socket = server_context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tamper(self, path, data):
        if self.mode == "body" and path.startswith("/ehttpd/mp/policy/"):
            return data.replace(b'"install"', b'"uninstall"')
        if self.mode in ("signature", "payload") and path == "/ehttpd/mp/policy":
            head, payload, signature = data.decode().strip().split(".")
            if self.mode == "signature":
                signature = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
            else:
                claims = json.loads(jwt.utils.base64url_decode(payload))
                claims["assignments"] = claims["assignments"][:0]
                payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
            return f"{head}.{payload}.{signature}".encode()
        return data

    def stop(self):
        self.server.shutdown()


class TrustTest(ClientTestCase):
    def test_wrong_fingerprint_is_refused_before_any_credential(self):
        site = self.start_site()
        self.state = pathlib.Path(self.workdir) / "client-state"
        wrong = "sha256:" + "ab" * 32
        result = self.client("join", "--site", site.url("http"), "--root-fingerprint", wrong, check=False)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn("not the pinned " + wrong, result.stderr)
        self.assertFalse((self.state / "key.pem").exists())
        self.assertFalse((self.state / "site.json").exists())
        self.assertEqual(site.ctl_json("client", "list"), [])
        for path in ("/ehttpd/mp/nonce", "/ehttpd/mp/register", "/ehttpd/mp/token"):
            self.assertNotIn(path, site.read_log())
        # not joined: every other command says so
        for command in (["status"], ["register"], ["policy"], ["content", "get", "PS100001", "--dest", "x"]):
            self.assertEqual(self.client(*command, check=False).returncode, 3, command)
        # usage errors
        for args in (["--site", site.url("http")],
                     ["--site", site.url("http"), "--root-fingerprint", self.fingerprint, "--trust-on-first-use"],
                     ["--site", site.url("http"), "--root-fingerprint", "sha256:xyz"],
                     ["--site", "ftp://x", "--root-fingerprint", self.fingerprint],
                     ["--site", site.url("http"), "--root-fingerprint", self.fingerprint, "--key-type", "rsa-2048"]):
            self.assertEqual(self.client("join", *args, check=False).returncode, 2, args)
        self.assertEqual(site.ctl_json("client", "list"), [])

    def test_trust_on_first_use_says_so_and_records_it(self):
        site = self.start_site()
        self.state = pathlib.Path(self.workdir) / "tofu-state"
        result = self.client("join", "--site", site.url("http"), "--trust-on-first-use", "--key-type", "ed25519",
                             "--host-name", "pc2.example")
        self.assertIn("WARNING: trusting on first use the root " + self.fingerprint, result.stderr)
        status = self.client("status").json
        self.assertEqual((status["root_fingerprint"], status["trust_on_first_use"]), (self.fingerprint, True))
        self.assertIn("BEGIN PRIVATE KEY", (self.state / "key.pem").read_text())
        registered = self.client("register").json
        show = site.ctl_json("client", "show", registered["client_guid"])
        self.assertEqual(json.loads(show["jwk"])["crv"], "Ed25519")
        # joining the same site again keeps the registration; another site's join forgets it and its token
        self.client("join", "--site", site.url("http"), "--root-fingerprint", self.fingerprint)
        self.assertEqual(self.client("status").json["client_guid"], registered["client_guid"])
        other = self.host(plugins=("ca", "mp"), with_certificate=False,
                          plugin_dir=plugin_dir_with(self.workdir, "ca", "mp"))
        other.start()
        self.wait_for_certificate(other)
        wait_for(lambda: subprocess.run(["curl", "-sf", "-o", "/dev/null", other.url("http") + "/ehttpd/mp/site"])
                 .returncode == 0, what="the other site's information")
        self.client("join", "--site", other.url("http"), "--trust-on-first-use")
        self.assertEqual(self.client("status").json["state"], "unregistered")
        self.assertFalse((self.state / "token.json").exists())
        self.assertEqual(self.client("register").json["state"], "pending")
        self.assertNotIn(registered["client_guid"], other.read_log())

    def test_a_peer_not_chaining_to_the_pinned_root_is_refused(self):
        site = self.start_site()
        other = self.host(plugins=("ca", "mp"), with_certificate=False, plugin_dir=plugin_dir_with(self.workdir, "ca", "mp"))
        other.start()
        self.wait_for_certificate(other)
        self.state = pathlib.Path(self.workdir) / "client-state"
        # the site's root, but "its MP" is another site's host
        result = self.client("join", "--site", site.url("http"), "--root-fingerprint", self.fingerprint,
                             "--mp", other.url("https"), check=False)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn("does not reach the pinned root", result.stderr)
        self.assertFalse((self.state / "site.json").exists())
        self.assertEqual(other.ctl_json("client", "list"), [])

    def test_tampered_policy_is_refused_and_nothing_is_downloaded(self):
        site = self.start_site()
        csr = self.csr("proxy.example")
        chain = pathlib.Path(self.workdir) / "proxy.pem"
        chain.write_text(self.issue(site, csr, roles=("mp",), names=("127.0.0.1",)).stdout)
        proxy = TamperingProxy(site.url("https"), chain, pathlib.Path(self.workdir) / "proxy.example.key",
                               self.root_pem(site))
        self.addCleanup(proxy.stop)
        self.state = pathlib.Path(self.workdir) / "client-state"
        self.join(site, mp=proxy.url)
        bulk = site.ctl_json("bulk-token", "create")["token"]
        self.assertEqual(self.client("register", "--bulk-token", bulk).json["state"], "approved")
        content_id = self.add_content(site, {"a.txt": b"a\n"})
        site.ctl_json("deployment", "create", "--content", content_id, "--action", "install", "--all")
        self.assertEqual(len(self.client("policy").json["assignments"]), 1)
        dest = pathlib.Path(self.workdir) / "dest"
        for mode, words in (("body", "does not match its signed hash"), ("signature", "does not verify"),
                            ("payload", "does not verify")):
            proxy.mode = mode
            for command in (["policy"], ["run", "--dest", str(dest)]):
                result = self.client(*command, check=False)
                self.assertEqual(result.returncode, 6, (mode, result.stderr))
                self.assertIn(words, result.stderr)
                self.assertFalse(result.json["ok"])
        self.assertFalse(dest.exists())
        proxy.mode = None
        self.assertEqual(len(self.client("policy").json["assignments"]), 1)


class TokenTest(ClientTestCase):
    def token(self):
        return json.loads((self.state / "token.json").read_text())["token"]

    def test_renewal_in_the_last_third_after_expiry_and_across_a_key_rollover(self):
        site = self.start_site(mp={"client-token-lifetime": "60", "token-key-announce": "1"})
        self.state = pathlib.Path(self.workdir) / "client-state"
        self.join(site)
        bulk = site.ctl_json("bulk-token", "create")["token"]
        self.client("register", "--bulk-token", bulk)
        first = self.token()
        self.assertEqual(jwt.decode(first, options={"verify_signature": False})["exp"]
                         - jwt.decode(first, options={"verify_signature": False})["iat"], 60)

        def nonces():
            return site.read_log().count(" GET /ehttpd/mp/nonce 200 ")
        asked = nonces()
        self.client("status")
        self.assertEqual(self.token(), first)  # in its first two thirds: kept
        self.client("status", prefix=("faketime", "-f", "+45s"))
        second = self.token()
        self.assertNotEqual(second, first)  # in its last third: renewed
        self.assertEqual(nonces(), asked)  # by a self-timed proof: one request, no nonce
        self.client("policy", prefix=("faketime", "-f", "+200s"))
        third = self.token()
        self.assertNotEqual(third, second)  # expired: renewed before the call
        self.assertEqual(nonces(), asked + 1)  # a clock 200 s off: proof_stale, then a nonce
        # a token the MP refuses is replaced once, on the spot
        kept = json.loads((self.state / "token.json").read_text())
        kept["token"] = third[:-6] + "AAAAAA"
        (self.state / "token.json").write_text(json.dumps(kept))
        self.assertEqual(self.client("policy").json["assignments"], [])
        self.assertNotIn("AAAAAA", self.token()[-6:])

        old_x5t = jwt.get_unverified_header(self.token())["x5t#S256"]
        new_x5t = site.ctl_json("mp", "rollover")["x5t#S256"]
        self.assertNotEqual(old_x5t, new_x5t)

        offsets = iter(range(300, 30000, 50))

        def renewed_with_new_key():
            # each call later than the last: the kept token is always in its last third
            self.client("status", prefix=("faketime", "-f", f"+{next(offsets)}s"))
            return jwt.get_unverified_header(self.token())["x5t#S256"] == new_x5t
        wait_for(renewed_with_new_key, timeout=20, what="a token signed by the next key")
        self.assertEqual(self.client("status").json["state"], "approved")
        # content tokens signed by the new key work at the DP
        files = {"f.bin": os.urandom(100000)}
        content_id = self.add_content(site, files)
        self.restart(site)
        self.located(content_id, [SITE_DP])
        dest = pathlib.Path(self.workdir) / "dest"
        wait_for(lambda: self.client("content", "get", content_id, "--dest", str(dest), check=False).returncode == 0,
                 timeout=20, what="a download with a content token of the new key")
        self.assert_tree(dest, files)

    def test_registration_is_one_request_and_a_skewed_clock_costs_one_nonce(self):
        site = self.start_site()

        def count(line):
            return site.read_log().count(line)
        nonce, created, refused = " GET /ehttpd/mp/nonce 200 ", " POST /ehttpd/mp/register 201 ", \
            " POST /ehttpd/mp/register 400 "
        self.state = pathlib.Path(self.workdir) / "client-state"
        self.join(site)
        asked = count(nonce)
        first = self.client("register").json
        self.assertEqual(first["state"], "pending")
        # a self-timed proof: one request, no nonce
        self.assertEqual((count(nonce), count(created), count(refused)), (asked, 1, 0))
        skewed = pathlib.Path(self.workdir) / "skewed-state"
        self.join(site, state=skewed, host_name="pc2.example")
        second = self.client("register", state=skewed, prefix=("faketime", "-f", "+200s")).json
        self.assertEqual(second["state"], "pending")
        self.assertNotEqual(second["client_guid"], first["client_guid"])
        # a clock 200 s off: proof_stale, then exactly one nonce
        self.assertEqual((count(nonce), count(created), count(refused)), (asked + 1, 2, 1))
        self.assertEqual(len(site.ctl_json("client", "list")), 2)

    def test_a_pkcs11_key_registers_and_gets_tokens(self):
        module = "/usr/lib/softhsm/libsofthsm2.so"
        tokens = pathlib.Path(self.workdir) / "tokens"
        tokens.mkdir()
        conf = pathlib.Path(self.workdir) / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        env = {"SOFTHSM2_CONF": str(conf)}
        run(["softhsm2-util", "--init-token", "--free", "--label", "client", "--pin", "pin-Wq7zK", "--so-pin", "87654321"],
            env={**os.environ, **env})
        run(["p11tool", "--provider", module, "--batch", "--login", "--generate-privkey=ecdsa", "--curve=secp256r1",
             "--label=client", "pkcs11:token=client"], env={**os.environ, **env, "GNUTLS_PIN": "pin-Wq7zK"})
        site = self.start_site()
        self.state = pathlib.Path(self.workdir) / "client-state"
        uri = "pkcs11:token=client;object=client;type=private;pin-value=pin-Wq7zK"
        joined = self.client("join", "--site", site.url("http"), "--root-fingerprint", self.fingerprint, "--key", uri,
                             "--pkcs11-module", module, "--host-name", "pc3.example", env=env)
        self.assertNotIn("pin-Wq7zK", joined.stdout + joined.stderr)
        self.assertFalse((self.state / "key.pem").exists())
        bulk = site.ctl_json("bulk-token", "create")["token"]
        registered = self.client("register", "--bulk-token", bulk, env=env).json
        self.assertEqual(registered["state"], "approved")
        status = self.client("status", env=env)
        self.assertEqual((status.json["key"], status.json["state"]), ("pkcs11", "approved"))
        self.assertNotIn("pin-Wq7zK", status.stdout + status.stderr)
        self.assertEqual(self.client("policy", env=env).json["assignments"], [])


class HandOverTest(ClientTestCase):
    def test_a_handed_over_content_token_downloads_without_the_mp(self):
        site = self.start_site()
        self.approved_client(site)
        files = {"os.wim": os.urandom(2 * MIB + 1), "unattend.xml": b"<unattend/>\n"}
        content_id = self.add_content(site, files)
        edge = self.start_edge(site, "edge1.example")
        located = self.located(content_id, ["edge1.example"])
        token = located["token"]
        edge_url = next(d["url"] for d in located["dps"] if d["name"] == "edge1.example")
        site.stop()  # no MP from here on
        dest = pathlib.Path(self.workdir) / "osd"
        got = self.client("content", "get", content_id, "--dest", str(dest), "--dp", edge_url,
                          env={"_SMSTSDPAuthToken": token}).json
        self.assertEqual((got["located"], got["dps"][0]["name"]), (0, "127.0.0.1"))
        self.assert_tree(dest, files)
        dest2 = pathlib.Path(self.workdir) / "osd2"
        self.client("content", "get", content_id, "--dest", str(dest2), "--dp", edge_url, "--content-token", token)
        self.assert_tree(dest2, files)
        # hostile or wrong hand-overs: clear refusals, nothing in the destination
        dest3 = pathlib.Path(self.workdir) / "osd3"
        for args, code in ((["--content-token", "x.y.z", "--dp", edge_url], 2),
                           (["--content-token", token, "--dp", "http://127.0.0.1:1"], 1),
                           (["--content-token", token], 2),
                           (["--dp", edge_url], 2),
                           (["--content-token", token[:-8] + "AAAAAAAA", "--dp", edge_url], 7)):
            result = self.client("content", "get", content_id, "--dest", str(dest3), *args, check=False)
            self.assertEqual(result.returncode, code, (args, result.stderr))
        self.assertFalse([p for p in dest3.rglob("*") if p.is_file()] if dest3.exists() else [])
        self.assertIsNone(edge.proc.poll())

    def test_a_dp_that_answers_503_or_stalls_is_left_for_the_next(self):
        site = self.start_site()
        self.approved_client(site)
        files = {"big.bin": os.urandom(3 * MIB + 7)}
        content_id = self.add_content(site, files)
        self.restart(site)
        located = self.located(content_id, [SITE_DP])
        csr = self.csr("faulty.example")
        chain = pathlib.Path(self.workdir) / "faulty.pem"
        chain.write_text(self.issue(site, csr, roles=("dp",), names=("127.0.0.1",)).stdout)
        faulty = TamperingProxy(located["dps"][0]["url"], chain, pathlib.Path(self.workdir) / "faulty.example.key",
                                self.root_pem(site))
        self.addCleanup(faulty.stop)
        for mode, reason in (("503", "HTTP 503"), ("stall", "stalled: no bytes for 1 s")):
            faulty.mode = mode
            dest = pathlib.Path(self.workdir) / ("dest-" + mode)
            got = self.client("content", "get", content_id, "--dest", str(dest), "--stall-timeout", "1",
                              "--content-token", located["token"], "--dp", faulty.url,
                              "--dp", located["dps"][0]["url"]).json
            self.assertEqual([d["state"] for d in got["dps"]], ["failed", "used"], got)
            self.assertIn(reason, got["dps"][0]["error"])
            self.assert_tree(dest, files)
            # a stall keeps what came before it: the next DP resumes after it, nothing is fetched twice
            self.assertEqual(got["dps"][0]["bytes"], 65536 if mode == "stall" else 0)
            self.assertEqual(got["bytes_transferred"], len(files["big.bin"]))


    def test_a_dp_whose_certificate_names_another_role_is_refused(self):
        site = self.start_site()
        self.approved_client(site)
        files = {"app.bin": os.urandom(512 * 1024 + 3)}
        content_id = self.add_content(site, files)
        self.restart(site)
        located = self.located(content_id, [SITE_DP])
        fronts = {}
        for role in ("mp", "dp"):
            csr = self.csr(f"{role}-front.example")
            chain = pathlib.Path(self.workdir) / f"{role}-front.pem"
            chain.write_text(self.issue(site, csr, roles=(role,), names=("127.0.0.1",)).stdout)
            fronts[role] = TamperingProxy(located["dps"][0]["url"], chain,
                                          pathlib.Path(self.workdir) / f"{role}-front.example.key", self.root_pem(site))
            self.addCleanup(fronts[role].stop)
        # a site-issued certificate of the mp role serving content: refused at the handshake, the next DP serves
        dest = pathlib.Path(self.workdir) / "dest-mp"
        got = self.client("content", "get", content_id, "--dest", str(dest), "--content-token", located["token"],
                          "--dp", fronts["mp"].url, "--dp", fronts["dp"].url).json
        self.assertEqual([d["state"] for d in got["dps"]], ["failed", "used"], got)
        self.assertIn("is not a dp of the site", got["dps"][0]["error"])
        self.assertIn("has no dp role", got["dps"][0]["error"])
        self.assertEqual(got["dps"][0]["bytes"], 0)
        self.assert_tree(dest, files)
        # alone, it is a trust failure and nothing lands
        dest = pathlib.Path(self.workdir) / "dest-mp-only"
        result = self.client("content", "get", content_id, "--dest", str(dest), "--content-token", located["token"],
                             "--dp", fronts["mp"].url, check=False)
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertIn("is not a dp of the site", result.stderr)
        self.assertFalse([p for p in dest.rglob("*") if p.is_file()] if dest.exists() else [])
        # a revoked dp certificate is refused the same way (the trust bundle lists it)
        issued = run(["openssl", "x509", "-noout", "-serial", "-in", str(pathlib.Path(self.workdir) / "dp-front.pem")])
        wanted = issued.stdout.strip().split("=")[1].lower().lstrip("0")
        serial = next(c["serial"] for c in self.certificates(site) if c["serial"].lower().lstrip("0") == wanted)
        site.ctl("cert", "revoke", serial)
        (self.state / "trust-bundle.json").unlink()
        dest = pathlib.Path(self.workdir) / "dest-revoked"
        got = self.client("content", "get", content_id, "--dest", str(dest), "--content-token", located["token"],
                          "--dp", fronts["dp"].url, "--dp", located["dps"][0]["url"], check=False)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertIn("is revoked", got.json["dps"][0]["error"])
        self.assert_tree(dest, files)

class CommandLineTest(ClientTestCase):
    def test_help_exit_codes_and_hostile_arguments(self):
        self.state = pathlib.Path(self.workdir) / "client-state"
        commands = (["join"], ["register"], ["status"], ["policy"], ["run"], ["content", "get"], ["content", "locate"])
        for command in commands:
            result = self.client(*command, "--help", json_out=False)
            self.assertIn("exit codes:", result.stdout, command)
            self.assertIn("Usage:", result.stdout, command)
        result = self.client("--help", json_out=False)
        for command in commands:
            self.assertIn(" ".join(command), result.stderr)
        self.assertEqual(self.client(json_out=False, check=False).returncode, 2)
        self.assertEqual(self.client("frobnicate", check=False).returncode, 2)
        self.assertIn(b"ehttp-client", subprocess.run([str(CLIENT), "--version"], capture_output=True).stdout)
        site = self.start_site()
        self.join(site)
        for args in (["content", "get", "../../etc", "--dest", "d"], ["content", "get", "PS1%0001", "--dest", "d"],
                     ["content", "get", "PS100001"], ["content", "get", "PS100001", "--dest", "d", "--max-rate", "x"],
                     ["content", "get", "PS100001", "--dest", "d", "--stall-timeout", "0"],
                     ["content", "locate", "ps100001"], ["register", "--wait", "-5"]):
            self.assertEqual(self.client(*args, check=False).returncode, 2, args)
        # an Entra token at a site without Entra: the MP's reason, exit 5, nothing registered
        entra = pathlib.Path(self.workdir) / "entra.jwt"
        entra.write_text("eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln\n")
        result = self.client("register", "--entra-token", str(entra), check=False)
        self.assertEqual(result.returncode, 5, result.stderr)
        self.assertIn("reason entra_not_configured", result.stderr)
        self.assertEqual(result.json["refusal"]["reason"], "entra_not_configured")
        self.assertTrue(result.json["refusal"]["request_id"])
        for text in ("not a token at all {}", "a.b", "a.b.c.d", "x" * 20000 + ".b.c"):
            entra.write_text(text)
            self.assertEqual(self.client("register", "--entra-token", str(entra), check=False).returncode, 2, text)
        self.assertEqual(self.client("register", "--entra-token", str(entra) + ".missing", check=False).returncode, 2)
        self.assertEqual(self.client("register", "--entra-token", str(entra), "--bulk-token", "ehbulk.x",
                                     check=False).returncode, 2)
        self.assertEqual(self.client("token", "--entra-token", str(entra), check=False).returncode, 2)
        self.assertEqual(site.ctl_json("client", "list"), [])

    def test_a_gateway_is_checked_at_join_and_its_options_are_hostile_input(self):
        site = self.start_site()
        self.state = pathlib.Path(self.workdir) / "client-state"
        base = ["join", "--site", site.url("http"), "--root-fingerprint", self.fingerprint]
        # nothing answers there: unreachable (7), and nothing is recorded
        result = self.client(*base, "--gateway", f"https://127.0.0.1:{free_port()}", check=False)
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertFalse((self.state / "site.json").exists())
        # the site's own MP host is no gateway: its certificate has no cmg role (4)
        result = self.client(*base, "--gateway", site.url("https"), check=False)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn("is not a cmg of the site", result.stderr)
        self.assertFalse((self.state / "site.json").exists())
        for args in (["--gateway", "http://cmg.example.com"], ["--gateway", "https://u@cmg.example.com"],
                     ["--gateway-ca", "/etc/hostname"], ["--gateway", "https://cmg.example", "--gateway-mp-id", "a/b"],
                     ["--gateway", "https://cmg.example", "--gateway-dp-id", "x" * 33],
                     ["--gateway", "https://cmg.example", "--gateway-ca", "/etc/hostname"]):
            self.assertEqual(self.client(*base, *args, check=False).returncode, 2, args)
        self.client(*base)
        for args in (["--gateway", "ftp://x"], ["--gateway-ca", "/etc/hostname"]):
            self.assertEqual(self.client(*args, "status", check=False).returncode, 2, args)
