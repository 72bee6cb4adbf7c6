# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus link: two real ehttpd processes, a site host and an edge host.

The edge runs test-relay but not test-echo, so its test.echo requests can
only be answered by the site, over the link. Authenticated links use
certificates made here and test-link-peer standing in for the ca plugin.
"""
import base64
import http.client
import os
import pathlib
import socket
import ssl
import struct
import subprocess
import time

from harness import (EHTTPD, Bus, Host, HostTestCase, fingerprint, install_host_pem, make_certificate,
                     wait_for)

# wire messages (GVariant normal form), as fuzzing/corpus/link-wire holds them
CORPUS = pathlib.Path(os.environ.get("EH_SOURCE_ROOT", "../..")) / "fuzzing" / "corpus" / "link-wire"


def corpus(name):
    return (CORPUS / name).read_bytes()


def get(host, path, scheme="http"):
    h, p = host.address(scheme)
    if scheme == "https":
        conn = http.client.HTTPSConnection(h, p, timeout=15, context=host.ssl_context())
    else:
        conn = http.client.HTTPConnection(h, p, timeout=15)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode().rstrip("\n")
    finally:
        conn.close()



def frame(payload, opcode=0x2, fin=True, mask=True, length=None):
    """One client WebSocket frame."""
    length = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([bit | length])
    elif length <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_frame(sock):
    """(opcode, payload) of one server frame, or None when the connection ended."""
    def read_exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = read_exact(2)
    if head is None:
        return None
    length = head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exact(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(8))[0]
    return head[0] & 0x0F, read_exact(length)


class LinkTestCase(HostTestCase):
    def site(self, plugins=("test-echo", "test-relay"), **kw):
        return self.host(plugins=plugins, **kw).start()

    def edge(self, site, fingerprint_of=None, upstream=None, certificate=None, start=True, **kw):
        groups = {"site": {"upstream": upstream or site.url("https"),
                           "root-fingerprint": fingerprint(fingerprint_of or site.ca[0])}}
        edge = self.host(plugins=("test-relay",), with_certificate=False, groups=groups, **kw)
        if certificate is not None:
            install_host_pem(edge.state, certificate[0], certificate[1])
        return edge.start() if start else edge

    def link_state(self, host):
        return host.ctl_json("status")["link-state"]

    def wait_up(self, edge):
        wait_for(lambda: self.link_state(edge) == "up", what="the link to come up")

    def upgrade(self, site, extra=b"", protocol=b"ehttpd-link.v1", context=None):
        """Opens a raw TLS connection to the site and sends an upgrade request."""
        h, p = site.address("https")
        context = context or site.ssl_context()
        sock = context.wrap_socket(socket.create_connection((h, p), timeout=10),
                                   server_hostname="localhost")
        key = base64.b64encode(os.urandom(16))
        sock.sendall(b"GET /ehttpd/link HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
                     b"\r\n" + (b"Sec-WebSocket-Protocol: " + protocol + b"\r\n" if protocol else b"") +
                     extra + b"\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            if not chunk:
                break
            head += chunk
        return sock, head


class UnenrolledLinkTest(LinkTestCase):
    def test_echo_comes_from_the_site(self):
        site = self.site()
        edge = self.edge(site)
        self.wait_up(edge)
        status = edge.ctl_json("status")
        self.assertEqual(status["link-upstream"], site.url("https"))
        self.assertFalse(status["link-authenticated"])
        self.assertEqual(site.ctl_json("status")["links-unenrolled"], 1)
        self.assertEqual(get(edge, "/test/relay/echo?text=over-the-link"), (200, "over-the-link"))
        # not open to a peer without a role certificate
        code, body = get(edge, "/test/relay/secret?text=x")
        self.assertEqual(code, 502)
        self.assertTrue(body.startswith("error 5:"), body)  # EH_ERROR_PERMISSION_DENIED
        self.assertIn("needs an enrolled link peer", body)
        # the site itself answers it locally
        self.assertEqual(get(site, "/test/relay/secret?text=local"), (200, "local"))
        # events from an unenrolled edge are dropped; none go down to it
        self.assertEqual(get(edge, "/test/relay/ping?sequence=3")[0], 200)
        self.assertEqual(get(site, "/test/relay/ping?sequence=4")[0], 200)
        time.sleep(1)
        self.assertEqual(get(site, "/test/relay/pings")[1], "1 4")
        self.assertEqual(get(edge, "/test/relay/pings")[1], "1 3")

    def test_link_down_fails_at_once(self):
        site = self.site()
        h, p = site.address("https")
        site.stop()
        edge = self.edge(site, upstream=f"https://{h}:{p}")
        start = time.monotonic()
        code, body = get(edge, "/test/relay/echo?text=x")
        # at once, not after the bus's 30 s request timeout
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(code, 502)
        self.assertTrue(body.startswith("error 14:"), body)  # EH_ERROR_UNAVAILABLE

    def test_wrong_root_fingerprint_is_refused(self):
        site = self.site()
        other = make_certificate(self.workdir, "other-root", ca=True)
        edge = self.edge(site, fingerprint_of=other[0])
        wait_for(lambda: "refused the upstream's certificate" in edge.read_log(), what="the refusal")
        log = edge.read_log()
        self.assertIn(fingerprint(site.ca[0]), log)  # names what it got
        self.assertIn(fingerprint(other[0]), log)
        self.assertRegex(log, r"WARNING.*refused the upstream's certificate")
        self.assertNotEqual(self.link_state(edge), "up")
        self.assertEqual(site.ctl_json("status")["links-unenrolled"], 0)

    def test_bad_settings_stop_the_start(self):
        site = self.site()
        cases = [
            ({"upstream": "http://127.0.0.1:1", "root-fingerprint": fingerprint(site.ca[0])}, "https://HOST:PORT"),
            ({"upstream": "https://127.0.0.1", "root-fingerprint": fingerprint(site.ca[0])}, "https://HOST:PORT"),
            ({"upstream": site.url("https")}, "root-fingerprint"),
            ({"upstream": site.url("https"), "root-fingerprint": "sha256:abcd"}, "root-fingerprint"),
        ]
        for keys, message in cases:
            host = self.host(plugins=(), with_certificate=False, groups={"site": keys})
            result = subprocess.run([str(EHTTPD), "--config", str(host.config), "--session",
                                     "--allow-test-plugins"], env=host.env(), capture_output=True,
                                    text=True, timeout=20)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(message, result.stderr)

    def test_link_comes_back_after_the_site_restarts(self):
        site = self.site()
        edge = self.edge(site)
        self.wait_up(edge)
        h, p = site.address("https")
        # an open link does not hold up shutdown (shutdown-timeout is 10 s)
        start = time.monotonic()
        self.assertEqual(site.stop(), 0)
        self.assertLess(time.monotonic() - start, 9)
        wait_for(lambda: self.link_state(edge) != "up", what="the link to go down")
        self.assertTrue(get(edge, "/test/relay/echo?text=x")[1].startswith("error 14:"))
        # the same address again, so the edge's upstream= still points at it
        site.config.write_text(site.config.read_text().replace("https-listen=127.0.0.1:0",
                                                               f"https-listen={h}:{p}"))
        (site.dir / "notify.sock").unlink()
        site.start()
        self.wait_up(edge)
        self.assertEqual(get(edge, "/test/relay/echo?text=back"), (200, "back"))


class AuthenticatedLinkTest(LinkTestCase):
    def site_and_edge(self):
        site = self.host(plugins=("test-echo", "test-relay", "test-link-peer"))
        site.config.write_text(site.config.read_text() +
                               f"[test-link-peer]\nissuer={site.ca[0]}\nroles=dp\n")
        site.start()
        cert = make_certificate(self.workdir, "edge", issuer=site.ca)
        edge = self.edge(site, certificate=([cert[0], site.ca[0]], cert[1]))
        self.wait_up(edge)
        return site, edge, cert

    def test_enrolled_edge_gets_everything(self):
        site, edge, _ = self.site_and_edge()
        self.assertTrue(edge.ctl_json("status")["link-authenticated"])
        self.assertEqual(site.ctl_json("status")["links-authenticated"], 1)
        self.assertEqual(get(edge, "/test/relay/secret?text=enrolled"), (200, "enrolled"))
        self.assertEqual(get(edge, "/test/relay/echo?text=hi"), (200, "hi"))

    def test_events_cross_both_ways(self):
        site, edge, _ = self.site_and_edge()
        self.assertEqual(get(site, "/test/relay/ping?sequence=7")[0], 200)
        wait_for(lambda: get(edge, "/test/relay/pings")[1] == "1 7", what="the event to come down")
        self.assertEqual(get(edge, "/test/relay/ping?sequence=9")[0], 200)
        wait_for(lambda: get(site, "/test/relay/pings")[1] == "2 9", what="the event to go up")
        time.sleep(0.5)
        # nothing echoes back: each host saw each event once
        self.assertEqual(get(edge, "/test/relay/pings")[1], "2 9")
        self.assertEqual(get(site, "/test/relay/pings")[1], "2 9")

    def test_revocation_closes_the_link(self):
        site, edge, cert = self.site_and_edge()
        serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(cert[0])],
                                capture_output=True, text=True, check=True).stdout
        serial = serial.strip().split("=", 1)[1].lower()
        self.assertEqual(get(site, f"/test/link-peer/revoke?serial={serial}")[0], 200)
        wait_for(lambda: "was revoked" in site.read_log(), what="the revocation")
        wait_for(lambda: "bus link to" in edge.read_log() and " down: " in edge.read_log(),
                 what="the edge to see its link closed")

    def test_refused_certificate_means_no_link(self):
        site = self.host(plugins=("test-echo", "test-relay", "test-link-peer"))
        site.config.write_text(site.config.read_text() +
                               f"[test-link-peer]\nissuer={site.ca[0]}\n")
        site.start()
        stranger_root = make_certificate(self.workdir, "stranger-root", ca=True)
        cert = make_certificate(self.workdir, "stranger", issuer=stranger_root)
        edge = self.edge(site, certificate=([cert[0], stranger_root[0]], cert[1]))
        wait_for(lambda: "refused the link: 403" in edge.read_log(), what="the 403")
        self.assertNotEqual(self.link_state(edge), "up")
        self.assertIn("was not accepted", site.read_log())


class HostileLinkTest(LinkTestCase):
    def assert_still_serving(self, site):
        self.assertEqual(get(site, "/test/relay/echo?text=alive"), (200, "alive"))
        wait_for(lambda: site.ctl_json("status")["connections"] == 0, what="connections to close")

    def test_refused_upgrades(self):
        site = self.site()
        # plain HTTP: refused, never upgraded
        code, body = get(site, "/ehttpd/link")
        self.assertEqual(code, 403)
        # HTTPS without an upgrade
        code, body = get(site, "/ehttpd/link", scheme="https")
        self.assertEqual(code, 426)
        # an upgrade without our subprotocol, or with extensions
        sock, head = self.upgrade(site, protocol=None)
        self.assertIn(b" 400 ", head.split(b"\r\n")[0])
        sock.close()
        sock, head = self.upgrade(site, extra=b"Sec-WebSocket-Extensions: permessage-deflate\r\n")
        self.assertIn(b" 400 ", head.split(b"\r\n")[0])
        sock.close()
        self.assert_still_serving(site)

    def test_raw_peer_gets_answers(self):
        site = self.site()
        sock, head = self.upgrade(site)
        self.assertIn(b" 101 ", head.split(b"\r\n")[0])
        self.assertIn(b"ehttpd-link.v1", head)
        sock.sendall(frame(corpus("request-echo")))
        opcode, payload = read_frame(sock)
        self.assertEqual(opcode, 2)
        self.assertEqual(payload[0], 2)  # a reply
        self.assertIn(b"test.echo", payload)
        sock.sendall(frame(corpus("request-secret")))
        opcode, payload = read_frame(sock)
        self.assertEqual(payload[0], 3)  # an error: not open to unenrolled peers
        sock.sendall(frame(corpus("event-ping")))  # dropped
        time.sleep(0.5)
        self.assertEqual(get(site, "/test/relay/pings")[1], "0 0")
        sock.close()
        self.assert_still_serving(site)

    def expect_close(self, sock, code):
        while True:
            got = read_frame(sock)
            self.assertIsNotNone(got, "closed without a close frame")
            if got[0] == 8:
                self.assertEqual(struct.unpack("!H", got[1][:2])[0], code)
                break
        sock.settimeout(10)
        self.assertIn(sock.recv(100), (b"",))

    def test_oversized_message(self):
        site = self.site()
        sock, head = self.upgrade(site)
        sock.sendall(frame(b"", length=2 * 1024 * 1024)[:14])  # only the header of a 2 MiB frame
        self.expect_close(sock, 1009)
        # fragments that add up past the cap
        sock, head = self.upgrade(site)
        chunk = b"x" * (600 * 1024)
        sock.sendall(frame(chunk, fin=False))
        sock.sendall(frame(chunk, opcode=0, fin=False)[:14])
        self.expect_close(sock, 1009)
        self.assert_still_serving(site)

    def test_garbage_frames(self):
        site = self.site()
        cases = [
            (frame(b"hello", mask=False), 1002),    # unmasked client frame
            (frame(b"hello", opcode=0x1), 1003),    # text
            (bytes([0xF2, 0x80]) + b"\0\0\0\0", 1002),  # reserved bits
            (frame(b"x", opcode=0x0), 1002),        # continuation without a start
            (frame(b"p" * 126, opcode=0x9), 1002),  # long ping
            (frame(b"", opcode=0x3), 1002),         # unknown opcode
        ]
        for data, code in cases:
            sock, head = self.upgrade(site)
            sock.sendall(data)
            self.expect_close(sock, code)
        # messages that are well framed but not ours: dropped, then closed
        sock, head = self.upgrade(site)
        for name in ("truncated", "request-unknown-topic", "request-unknown-kind", "request-wrong-type",
                     "event-local-topic", "reply-echo", "bad-offset", "padding-not-zero"):
            sock.sendall(frame(corpus(name)))
        self.expect_close(sock, 1008)
        self.assert_still_serving(site)

    def test_links_per_address_are_capped(self):
        site = self.site()
        socks = []
        for _ in range(4):
            sock, head = self.upgrade(site)
            self.assertIn(b" 101 ", head)
            socks.append(sock)
        sock, head = self.upgrade(site)
        self.assertIn(b" 429 ", head)
        sock.close()
        self.assertEqual(site.ctl_json("status")["links-unenrolled"], 4)
        for sock in socks:
            sock.close()
        wait_for(lambda: site.ctl_json("status")["links-unenrolled"] == 0, what="links to close")
        self.assert_still_serving(site)
