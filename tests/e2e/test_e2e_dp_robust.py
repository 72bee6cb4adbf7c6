# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An edge DP when things go wrong, end to end: a site host and an edge host,
separate processes, the edge reaching the site (its bus link and its pulls)
through a TCP relay the test controls. The relay can hold the site's bytes
after a given count (a pull stopped half-way, deterministically) and refuse
connections (the site unreachable).

- kill -9 of the edge mid-pull: the half-pulled content is never served, and
  the next pull resumes the staged file;
- a staged file damaged while the edge was down: refused and pulled again;
- collection (content remove) during a pull keeps every body the pull or an
  installed manifest needs;
- the site killed: the edge keeps serving with its last trust bundle; a
  token signing certificate revoked while the edge cannot reach the site
  reaches it when the link returns, and its tokens get 401.

Range abuse and every traversal spelling are in test_e2e_dp_download."""
import hashlib
import os
import pathlib
import signal
import socket
import threading

from harness import plugin_dir_with, wait_for
import test_e2e_dp_edge as edge_tests

PKG = edge_tests.PKG
SIG = "/CCMTOKENAUTH_SMS_DP_SMSSIG$/"
EDGE = edge_tests.EDGE
MIB = 1024 * 1024


class Relay:
    """TCP relay 127.0.0.1:port → the site. Bytes from the site stop once
    `hold_after` of them have passed (until release()); refuse() closes every
    connection and turns new ones away."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.from_site = 0
        self.hold_after = None
        self.flowing = threading.Event()
        self.flowing.set()
        self.refusing = False
        self.sockets = []
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self.pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, True), daemon=True).start()

    def pump(self, source, sink, from_site):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_site:
                    data = self.count(data, sink)
                    self.flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        source.close()

    def count(self, data, sink):
        """passes what fits under the hold, then holds the rest until release()"""
        with self.lock:
            if self.hold_after is None or not self.flowing.is_set():
                self.from_site += len(data)
                return data
            room = self.hold_after - self.from_site
            self.from_site += len(data)
            if room >= len(data):
                return data
            self.flowing.clear()
        if room > 0:
            sink.sendall(data[:room])
            return data[room:]
        return data

    def hold_after_more(self, count):
        with self.lock:
            self.hold_after = self.from_site + count

    def release(self):
        with self.lock:
            self.hold_after = None
        self.flowing.set()

    def refuse(self):
        self.refusing = True
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def admit(self, target_port=None):
        self.target_port = target_port or self.target_port
        self.refusing = False

    def close(self):
        self.closed = True
        self.release()
        self.refuse()
        self.listener.close()


class RobustTest(edge_tests.EdgeTestCase):
    def setUp(self):
        super().setUp()
        self.relays = []

    def tearDown(self):
        for relay in self.relays:
            relay.close()
        super().tearDown()

    def start_relayed_edge(self, site, relay, restart=None):
        """the edge, reaching the site only through @relay; @restart: the same edge host again"""
        if restart is not None:
            restart.start()
            return restart
        token = site.ctl_json("join-token", "create", "--role", "dp")["token"]
        fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        groups = {"site": {"upstream": relay.url(), "root-fingerprint": fingerprint, "join-token": token},
                  "dp": {"names": EDGE, "pull-interval": "1"}}
        edge = self.host(plugins=("dp",), with_certificate=False, groups=groups,
                         plugin_dir=plugin_dir_with(self.workdir, "dp"))
        edge.start()
        self.edge_host = edge
        return edge

    def relay_for(self, site):
        relay = Relay(site.address("https")[1])
        self.relays.append(relay)
        return relay

    def dp_dir(self, host):
        return host.state / "plugins" / "dp"

    def part(self, host, sha):
        return self.dp_dir(host) / "pull-staging" / (sha + ".part")

    def body(self, host, sha):
        return self.dp_dir(host) / "store" / "sha256" / sha[:2] / sha

    def add_tree(self, site, name, files):
        src = pathlib.Path(self.workdir) / name
        src.mkdir()
        for path, data in files.items():
            (src / path).write_bytes(data)
        result = site.ctl("content", "add", name, str(src), check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        cid = site.ctl_json("content", "list")[-1]["id"]
        code, manifest = self.curl_raw(SIG + cid)
        self.assertEqual(code, 200)
        return cid, hashlib.sha256(manifest).hexdigest()

    def edge_sha(self, path, token, name):
        out = pathlib.Path(self.workdir) / name
        code, _ = self.edge_get(path, token, out=out)
        return code, hashlib.sha256(out.read_bytes()).hexdigest() if out.exists() else None

    def kill_mid_pull(self, site):
        """an edge killed (-9) with the big file half pulled; returns (edge, relay, src, cid, msha, big_sha)"""
        relay = self.relay_for(site)
        relay.hold_after_more(6 * MIB)  # enrolment and the link are far smaller: the pull stops in big.bin
        src, cid, msha = self.add_content(site)
        big_sha = hashlib.sha256((src / "big.bin").read_bytes()).hexdigest()
        edge = self.start_relayed_edge(site, relay)
        part = self.part(edge, big_sha)
        wait_for(lambda: part.exists() and part.stat().st_size >= MIB, timeout=60,
                 what="a half-pulled body\n" + edge.read_log())
        edge.proc.send_signal(signal.SIGKILL)
        edge.proc.wait()
        edge.log.close()
        relay.refuse()
        self.assertFalse((self.dp_dir(edge) / "content" / cid).exists())
        self.assertLess(part.stat().st_size, 20 * MIB + 123)
        relay.release()
        return edge, relay, src, cid, msha, big_sha

    def test_kill_9_mid_pull_is_never_served_and_resumes(self):
        site = self.start_site()
        edge, relay, src, cid, msha, big_sha = self.kill_mid_pull(site)
        staged = self.part(edge, big_sha).stat().st_size
        token = self.mint(cid, msha, aud=EDGE)

        # restarted while the site is still out of reach: it serves, but not the half-pulled content
        self.start_relayed_edge(site, relay, restart=edge)
        for path in ("big.bin", "small.txt"):
            code, body = self.edge_get(PKG + cid + "/" + path, token)
            self.assertIn(code, (404, 503), path)
            self.assertNotIn(b"small file", body)
        self.assertEqual(edge.ctl_json("content", "list"), [])

        # the link returns: the pull resumes the staged file where it stopped, and checks the whole hash
        relay.admit()
        self.wait_installed(site, cid, timeout=90)
        self.assertIn(f"resuming {big_sha} at {staged} bytes", edge.read_log())
        self.assertEqual(self.edge_sha(PKG + cid + "/big.bin", token, "resumed.out"), (200, big_sha))
        self.assertFalse(self.part(edge, big_sha).exists())
        self.assertEqual(edge.ctl("content", "verify").returncode, 0)

    def test_a_staged_file_damaged_while_down_is_refused_and_pulled_again(self):
        site = self.start_site()
        edge, relay, src, cid, msha, big_sha = self.kill_mid_pull(site)
        part = self.part(edge, big_sha)
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
        token = self.mint(cid, msha, aud=EDGE)

        relay.admit()
        self.start_relayed_edge(site, relay, restart=edge)
        wait_for(lambda: "hash mismatch for big.bin" in edge.read_log(), timeout=60, what="the damage found")
        self.wait_installed(site, cid, timeout=90)
        self.assertEqual(self.edge_sha(PKG + cid + "/big.bin", token, "repulled.out"), (200, big_sha))
        self.assertEqual(edge.ctl("content", "verify").returncode, 0)

    def test_collection_keeps_what_a_pull_or_a_manifest_needs(self):
        site = self.start_site()
        relay = self.relay_for(site)
        common = os.urandom(100 * 1024)
        keep_id, _ = self.add_tree(site, "X", {"keep.txt": b"only in X\n", "common.bin": common})
        w_id, w_sha = self.add_tree(site, "W", {"common.bin": common, "w.txt": b"in W\n"})
        edge = self.start_relayed_edge(site, relay)
        self.wait_installed(site, keep_id)
        self.wait_installed(site, w_id)

        # a pull held half-way: a-first.bin is in the store (no manifest yet), b-big.bin is staged
        first, big = os.urandom(MIB), os.urandom(20 * MIB)
        relay.hold_after_more(6 * MIB)
        y_id, y_sha = self.add_tree(site, "Y", {"a-first.bin": first, "b-big.bin": big, "common.bin": common})
        first_sha = hashlib.sha256(first).hexdigest()
        big_part = self.part(edge, hashlib.sha256(big).hexdigest())
        wait_for(lambda: self.body(edge, first_sha).exists() and big_part.exists(), timeout=60,
                 what="the pull held in b-big.bin\n" + edge.read_log())
        self.assertNotIn(y_id, [c["id"] for c in edge.ctl_json("content", "list")])

        # a collection now: X's own body goes; W's (installed) and Y's (pulled, pinned) stay
        removed = edge.ctl_json("content", "remove", keep_id)
        self.assertEqual(removed["removed-files"], 1)
        self.assertFalse(self.body(edge, hashlib.sha256(b"only in X\n").hexdigest()).exists())
        self.assertTrue(self.body(edge, first_sha).exists())
        self.assertTrue(self.body(edge, hashlib.sha256(common).hexdigest()).exists())
        self.assertTrue(big_part.exists())
        token = self.mint(w_id, w_sha, aud=EDGE)
        self.assertEqual(self.edge_get(PKG + w_id + "/common.bin", token), (200, common))

        relay.release()
        self.wait_installed(site, y_id, timeout=90)
        token = self.mint(y_id, y_sha, aud=EDGE)
        self.assertEqual(self.edge_get(PKG + y_id + "/a-first.bin", token), (200, first))
        self.assertEqual(edge.ctl("content", "verify").returncode, 0)

    def test_site_down_then_a_revocation_reaches_the_edge_when_the_link_returns(self):
        site = self.start_site()
        relay = self.relay_for(site)
        src, cid, msha = self.add_content(site)
        edge = self.start_relayed_edge(site, relay)
        self.wait_installed(site, cid)
        token = self.mint(cid, msha, aud=EDGE)
        _, serial = self.curl_raw("/test/mint/serial")
        self.assertEqual(self.edge_get(PKG + cid + "/small.txt", token), (200, b"small file\n"))

        # the site is gone: the edge keeps serving with the bundle it kept
        site.stop(signal.SIGKILL)
        relay.refuse()
        wait_for(lambda: " down: " in edge.read_log() or "trying again" in edge.read_log(),
                 what="the edge seeing the link go")
        self.assertEqual(self.edge_get(PKG + cid + "/small.txt", token), (200, b"small file\n"))
        self.assertEqual(self.edge_sha(PKG + cid + "/big.bin", token, "offline.out")[0], 200)

        # the site returns, still out of the edge's reach, and revokes the token signing certificate
        site.start()
        wait_for(lambda: site.ctl_json("status")["certificate"], what="the site's certificate")
        site.ctl("cert", "revoke", serial.decode().strip())
        self.assertEqual(self.edge_get(PKG + cid + "/small.txt", token), (200, b"small file\n"))

        # the link returns: the new bundle reaches the edge, and the revoked signer's tokens get 401
        relay.admit(site.address("https")[1])
        wait_for(lambda: self.edge_get(PKG + cid + "/small.txt", token)[0] == 401, timeout=90,
                 what="the revocation reaching the edge\n" + edge.read_log())
        code, body = self.edge_get(PKG + cid + "/small.txt", token)
        self.assertNotIn(b"small file", body)
        self.assertIsNone(edge.proc.poll())
