# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile request framing against the real daemon (SECURITY.md, libsoup section).

Each refused request must get 400 (or 413/414/431/505), the connection must
close, and a request smuggled behind it must never run.
"""
import http.client
import socket
import time
import unittest

from harness import HostTestCase, raw_exchange, read_response, status_lines

SMUGGLED = b"GET /test/fail HTTP/1.1\r\nHost: x\r\n\r\n"


class FramingTest(HostTestCase):
    def setUp(self):
        super().setUp()
        self.site = self.host(plugins=("test-echo", "test-fail")).start()
        self.addr = self.site.address("http")

    def assert_refused(self, request, status=b"400", tls=False):
        if tls:
            response = raw_exchange(*self.site.address("https"), request,
                                    tls_context=self.site.ssl_context())
        else:
            response = raw_exchange(*self.addr, request)
        lines = status_lines(response)
        self.assertEqual(len(lines), 1, response[:400])
        self.assertTrue(lines[0].startswith(b"HTTP/1.1 " + status), lines[0])
        self.assertIn(b"Connection: close", response)
        # the smuggled request never ran: /test/fail would answer 503
        self.assertNotIn(b" 503 ", response)

    def test_duplicate_content_length(self):
        self.assert_refused(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            b"Content-Length: 41\r\n\r\nhello" + SMUGGLED)

    def test_content_length_with_transfer_encoding(self):
        self.assert_refused(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)

    def test_unknown_transfer_encoding(self):
        self.assert_refused(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"
                            b"0\r\n\r\n" + SMUGGLED)

    def test_space_before_colon(self):
        self.assert_refused(b"GET /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n" + SMUGGLED)

    def test_duplicate_host(self):
        self.assert_refused(b"GET /test/echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED)

    def test_invalid_content_length(self):
        self.assert_refused(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello")

    def test_over_tls_too(self):
        self.assert_refused(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            b"Content-Length: 5\r\n\r\nhello" + SMUGGLED, tls=True)

    def test_long_uri_is_414(self):
        self.assert_refused(b"GET /test/echo?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414")

    def test_huge_head_is_431(self):
        headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 200) for i in range(200))
        self.assert_refused(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n", b"431")

    def test_http2_preface_is_refused(self):
        self.assert_refused(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"505")

    def test_valid_pipelined_requests_all_run(self):
        request = b"GET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n"
        response = raw_exchange(*self.addr, request * 3 + b"GET /test/echo HTTP/1.1\r\nHost: x\r\n"
                                b"Connection: close\r\n\r\n")
        self.assertEqual(status_lines(response), [b"HTTP/1.1 200 OK"] * 4)

    def test_chunked_request_body_is_served(self):
        response = raw_exchange(*self.addr, b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        self.assertTrue(response.startswith(b"HTTP/1.1 200"), response[:200])
        self.assertTrue(response.endswith(b"hello world"))

    def test_chunked_body_over_cap_is_413(self):
        chunk = b"%x\r\n%s\r\n" % (40000, b"z" * 40000)
        self.assert_refused(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + chunk * 2 + b"0\r\n\r\n", b"413")

    def test_range_is_strict_and_bounded(self):
        h, p = self.addr
        size = 1024 * 1024
        before = self.site.rss_kib()
        overlapping = "bytes=" + ",".join("0-%d" % (size - 1 - i) for i in range(2000))
        conn = http.client.HTTPConnection(h, p, timeout=30)
        conn.request("GET", "/test/blob", headers={"Range": overlapping[:16000]})
        response = conn.getresponse()
        body = response.read()
        self.assertEqual(response.status, 200)
        self.assertEqual(len(body), size)
        # bounded memory: nowhere near the 500 MB libsoup alone would build
        self.assertLess(self.site.rss_kib() - before, 64 * 1024)

        conn.request("GET", "/test/blob", headers={"Range": "bytes=100-199"})
        response = conn.getresponse()
        body = response.read()
        self.assertEqual(response.status, 206)
        self.assertEqual(response.getheader("Content-Range"), "bytes 100-199/%d" % size)
        self.assertEqual(body, bytes(i % 251 for i in range(100, 200)))

        conn.request("GET", "/test/blob", headers={"Range": "bytes=%d-" % (size + 10)})
        response = conn.getresponse()
        response.read()
        self.assertEqual(response.status, 416)
        self.assertEqual(response.getheader("Content-Range"), "bytes */%d" % size)


class DeadlineTest(HostTestCase):
    def test_slow_header_is_cut_off(self):
        site = self.host(core={"header-timeout": "1"}).start()
        h, p = site.address("http")
        sock = socket.create_connection((h, p))
        sock.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(30)
        started = time.monotonic()
        # trickle one header byte per 300 ms: slowloris keeps the socket busy but never finishes
        closed = False
        while time.monotonic() - started < 25:
            try:
                sock.sendall(b"X")
                sock.settimeout(0.3)
                if sock.recv(100) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        self.assertTrue(closed, "the daemon kept a never-ending head open")
        # the daemon still serves others
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/test/echo")
        self.assertEqual(conn.getresponse().status, 200)

    def test_slow_handler_outlives_idle_timeout(self):
        site = self.host(plugins=("test-echo", "test-slow"), core={"idle-timeout": "1"},
                         groups={"test-slow": {"delay-ms": "2500"}}).start()
        h, p = site.address("http")
        conn = http.client.HTTPConnection(h, p, timeout=30)
        conn.request("GET", "/test/slow")
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.read(), b"slow\n")

    def test_idle_deadline_replaces_the_header_deadline(self):
        # one deadline source per connection, moved lazily: the header deadline (1 s) of the first
        # request must not close the connection once it answered; the idle one (5 s) then does
        site = self.host(core={"header-timeout": "1", "idle-timeout": "5"}).start()
        sock = socket.create_connection(site.address("http"))
        sock.settimeout(30)
        for _ in range(2):
            sock.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"200 OK", read_response(sock))
            time.sleep(1.5)
        # silent now: closed by the idle deadline, not left open
        self.assertEqual(sock.recv(100), b"")

    def test_silent_connection_is_closed(self):
        site = self.host(core={"header-timeout": "1", "idle-timeout": "1"}).start()
        sock = socket.create_connection(site.address("https"))
        sock.settimeout(30)
        # no TLS handshake at all: the handshake deadline ends it
        self.assertEqual(sock.recv(100), b"")


if __name__ == "__main__":
    unittest.main()
