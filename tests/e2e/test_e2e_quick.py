# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Quick answers (core/eh-quick.h) against the real daemon: the same bytes
as the libsoup path for the same requests, pipelines that mix both paths in
order, heads cut across TLS records and reads, clients that leave mid-answer,
many connections, and the deadlines."""
import re
import socket
import ssl
import threading
import time

from harness import HostTestCase, raw_exchange, read_response, status_lines, wait_for

KIB = bytes(i % 251 for i in range(1024))
DATE = re.compile(rb"Date: [^\r\n]*\r\n")
PORT = re.compile(rb"127\.0\.0\.1:\d+")
# ends every exchange below: the connection closes after it on both paths
CLOSER = b"GET /test/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

# (name, request bytes); every one is followed by CLOSER on the same connection
CASES = [
    ("get", b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("head", b"HEAD /test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("query", b"GET /test/1k?a=b&c HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("declined", b"GET /test/1k?via=libsoup HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("encoded path", b"GET /test/%31k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("lower-case escape", b"GET /test/1%6b HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("subpath", b"GET /test/1k/more HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("not a segment", b"GET /test/1kb HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("absolute form", b"GET http://elsewhere:8/test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("absolute https form", b"GET https://x/test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("host with slash", b"GET /test/1k HTTP/1.1\r\nHost: x/y\r\n\r\n"),
    ("host unparsable", b"GET /test/1k HTTP/1.1\r\nHost: [x\r\n\r\n"),
    ("empty host", b"GET /test/1k HTTP/1.1\r\nHost:\r\n\r\n"),
    ("escaped nul", b"GET /test/1k%00 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("bad escape", b"GET /test/1k%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("escaped dot dot", b"GET /test/1k/%2E%2E/x HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("escaped slash dot dot", b"GET /test/1k%2F..%2Fx HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("content-length 0", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    ("get with a body", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
    ("get chunked", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("expect", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"),
    ("duplicate host", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
    ("duplicate content-length", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"),
    ("obs-fold", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
    ("bare lf", b"GET /test/1k HTTP/1.1\nHost: x\n\n"),
    ("no host", b"GET /test/1k HTTP/1.1\r\n\r\n"),
    ("oversized head", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"),
    ("long target", b"GET /test/1k?" + b"q" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("http/2 version", b"GET /test/1k HTTP/2.0\r\nHost: x\r\n\r\n"),
    ("lower-case method", b"get /test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("post to a get endpoint", b"POST /test/1k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    ("options", b"OPTIONS /test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("unrouted", b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("https only endpoint on http", b"GET /test/secure HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("connection close", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    ("connection list with close", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n"),
    ("two connection fields", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nConnection: a\r\nConnection: close\r\n\r\n"),
    ("http/1.0", b"GET /test/1k HTTP/1.0\r\nHost: x\r\n\r\n"),
    ("http/1.0 keep-alive", b"GET /test/1k HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"),
    ("http/1.0 without host", b"GET /test/1k HTTP/1.0\r\n\r\n"),
    ("head http/1.0", b"HEAD /test/1k HTTP/1.0\r\nHost: x\r\n\r\n"),
    ("range header passes", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n"),
    ("upgrade", b"GET /test/1k HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    ("three pipelined", b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n" * 3),
    ("post", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
    ("post empty", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    ("post answered later", b"POST /test/echo?later=50 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
    ("post binary body", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 256\r\n\r\n" + bytes(range(256))),
    ("post body at the cap", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n" + b"c" * 65536),
    # refused on its head: the client is not left writing to a closed connection
    ("post body over the cap", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\nccc"),
    # the declared length takes the next request's first bytes: both paths read them as body
    ("post short body", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nhello"),
    ("post long body", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhello"),
    ("post duplicate content-length", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                      b"Content-Length: 2\r\n\r\nhi"),
    ("post two content-lengths", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                 b"Content-Length: 3\r\n\r\nhi!"),
    ("post content-length list", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nhi"),
    ("post signed content-length", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nhi"),
    ("post leading zeros", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 002\r\n\r\nhi"),
    ("post without content-length", b"POST /test/echo HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("post chunked", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n0\r\n\r\n"),
    ("post chunked and length", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                b"Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("post expect", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"),
    ("post connection close", b"POST /test/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi"),
    ("post http/1.0", b"POST /test/echo HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"),
    ("post https only", b"POST /test/secure HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"),
    ("post unrouted", b"POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"),
    ("post then get", b"POST /test/echo?later=30 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                      b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\nGET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nlast"),
    ("three posts", b"POST /test/echo?later=20 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
                    b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n2"
                    b"POST /test/echo?later=10 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n3"),
    ("mixed pipeline", b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\nGET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n"
                       b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\nGET /test/blob HTTP/1.1\r\nHost: x\r\n"
                       b"Range: bytes=5-9\r\n\r\nHEAD /test/1k HTTP/1.1\r\nHost: x\r\n\r\n"),
]


def split_responses(data):
    """(head, body) of each response to a GET in a byte stream with Content-Length framing."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            out.append((data, b""))
            break
        match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        length = int(match.group(1)) if match else 0
        out.append((head, rest[:length]))
        data = rest[length:]
    return out


class QuickTest(HostTestCase):
    def start(self, quick=True, core=None):
        host = self.host(plugins=("test-echo",), core=core,
                         groups={"front": {"quick-answers": "true" if quick else "false"}})
        return host.start()

    def counts(self, host):
        status = host.ctl_json("status")
        return status["requests"], status["quick-answers"]

    def connect(self, host, https, nodelay=False):
        """a connection to @host's listener, each segment sent at once with @nodelay"""
        sock = socket.create_connection(host.address("https" if https else "http"), timeout=10)
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if https:
            sock = host.ssl_context().wrap_socket(sock, server_hostname="localhost")
        return sock

    def exchange_all(self, host, https):
        context = host.ssl_context() if https else None
        addr = host.address("https" if https else "http")
        # the date and the listeners' ports (in a redirect hint) differ between the two hosts
        return {name: PORT.sub(b"PORT", DATE.sub(b"", raw_exchange(*addr, request + CLOSER, read_timeout=10,
                                                                 tls_context=context)))
                for name, request in CASES}

    def test_same_bytes_both_ways(self):
        """every case gives the very same bytes (but Date) with and without quick answers"""
        quick = self.start(quick=True)
        answers_quick = {scheme: self.exchange_all(quick, scheme == "https") for scheme in ("http", "https")}
        requests, quickly = self.counts(quick)
        self.assertGreater(quickly, 20)
        self.assertGreater(requests, quickly)
        plain = self.start(quick=False)
        answers_plain = {scheme: self.exchange_all(plain, scheme == "https") for scheme in ("http", "https")}
        self.assertEqual(self.counts(plain)[1], 0)
        for scheme in ("http", "https"):
            for name, _ in CASES:
                with self.subTest(scheme=scheme, case=name):
                    self.assertEqual(answers_quick[scheme][name], answers_plain[scheme][name])
        # and the answers are the right ones, not merely equal
        get = answers_quick["https"]["get"]
        self.assertTrue(get.startswith(b"HTTP/1.1 200 OK\r\n"), get[:200])
        self.assertIn(b"\r\n\r\n" + KIB + b"HTTP/1.1 200 OK", get)
        self.assertEqual(len(status_lines(answers_quick["http"]["mixed pipeline"])), 6)
        self.assertEqual(len(status_lines(answers_quick["http"]["connection close"])), 1)
        self.assertEqual(len(status_lines(answers_quick["http"]["http/1.0 keep-alive"])), 1)
        self.assertEqual(status_lines(answers_quick["http"]["escaped dot dot"]), [b"HTTP/1.1 400 Bad Request"])
        self.assertEqual(len(status_lines(answers_quick["http"]["oversized head"])), 1)
        self.assertTrue(status_lines(answers_quick["http"]["oversized head"])[0].startswith(b"HTTP/1.1 431 "))
        post = answers_quick["https"]["post"]
        self.assertTrue(post.startswith(b"HTTP/1.1 200 OK\r\n"), post[:200])
        self.assertIn(b"Content-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK", post)
        self.assertEqual([body for _, body in split_responses(answers_quick["http"]["post then get"])],
                         [b"first", KIB, b"hello over http\n", b"last", b"hello over http\n"])
        self.assertEqual([body for _, body in split_responses(answers_quick["https"]["three posts"])],
                         [b"1", b"2", b"3", b"hello over https\n"])
        self.assertTrue(status_lines(answers_quick["http"]["post body over the cap"])[0].startswith(b"HTTP/1.1 413 "))
        self.assertTrue(answers_quick["http"]["post body at the cap"].endswith(b"c" * 65536 + b"HTTP/1.1 200 OK")
                        or b"c" * 65536 in answers_quick["http"]["post body at the cap"])
        self.assertEqual(status_lines(answers_quick["http"]["post duplicate content-length"]),
                         [b"HTTP/1.1 400 Bad Request"])

    def assert_pipeline(self, host, scheme, paths):
        request = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths) + CLOSER
        context = host.ssl_context() if scheme == "https" else None
        data = raw_exchange(*host.address(scheme), request, read_timeout=10, tls_context=context)
        responses = split_responses(data)
        self.assertEqual(len(responses), len(paths) + 1)
        for i, (path, (head, body)) in enumerate(zip(paths, responses)):
            self.assertTrue(head.startswith(b"HTTP/1.1 200 OK"), (i, head))
            if path.startswith("/test/1k"):
                self.assertEqual(body, KIB, (i, path))
            elif path == "/test/echo":
                self.assertEqual(body, f"hello over {scheme}\n".encode(), i)
            else:
                self.assertEqual(len(body), 1024 * 1024, i)

    def test_pipeline_keeps_order(self):
        """quick and libsoup answers in one pipeline come back in request order"""
        host = self.start()
        self.assert_pipeline(host, "https", ["/test/1k", "/test/echo", "/test/1k?via=libsoup", "/test/1k",
                                             "/test/blob", "/test/1k", "/test/1k", "/test/echo", "/test/1k"] * 20)
        self.assertGreater(self.counts(host)[1], 0)
        # more answers than the server keeps waiting at once: the rest go through libsoup, in order
        for scheme in ("http", "https"):
            self.assert_pipeline(host, scheme, (["/test/1k"] * 49 + ["/test/echo"]) * 40)

    def test_head_cut_across_records_and_reads(self):
        """a head sent a few bytes per TLS record, and per TCP segment, is answered quickly once whole"""
        host = self.start()
        request = b"GET /test/1k HTTP/1.1\r\nHost: x\r\nUser-Agent: cut\r\n\r\n"
        for https in (True, False):
            before = self.counts(host)[1]
            sock = self.connect(host, https, nodelay=True)
            try:
                for i in range(0, len(request), 3):
                    sock.sendall(request[i:i + 3])
                    time.sleep(0.002)
                response = read_response(sock)
                self.assertTrue(response.startswith(b"HTTP/1.1 200 OK"), response[:200])
                self.assertTrue(response.endswith(KIB))
                # and the connection stays open for the next one
                sock.sendall(request)
                self.assertTrue(read_response(sock).endswith(KIB))
            finally:
                sock.close()
            self.assertEqual(self.counts(host)[1], before + 2)

    def test_client_leaving_mid_answer(self):
        """clients that close without reading megabytes of pipelined answers cost nothing lasting"""
        host = self.start()
        request = b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n" * 3000
        for https in (True, False, True, False):
            sock = socket.create_connection(host.address("https" if https else "http"), timeout=10)
            if https:
                sock = host.ssl_context().wrap_socket(sock, server_hostname="localhost")
            sock.sendall(request)
            sock.recv(100)
            sock.close()
        wait_for(lambda: host.ctl_json("status")["connections"] == 0, what="every connection closed")
        response = raw_exchange(*host.address("http"), b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n" + CLOSER)
        self.assertEqual(len(status_lines(response)), 2)
        self.assertIsNone(host.proc.poll())

    def test_post_cut_across_records_and_reads(self):
        """a POST whose head and body come in pieces (TLS records, TCP segments) is answered quickly once whole"""
        host = self.start()
        body = bytes(i % 251 for i in range(700))
        request = b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 700\r\n\r\n" + body
        for https in (True, False):
            before = self.counts(host)[1]
            sock = self.connect(host, https, nodelay=True)
            try:
                head_len = request.index(b"\r\n\r\n") + 4
                for cut in (head_len - 2, head_len, head_len + 1, len(request) - 1):
                    sock.sendall(request[:cut])
                    time.sleep(0.05)
                    sock.sendall(request[cut:])
                    response = read_response(sock)
                    self.assertTrue(response.startswith(b"HTTP/1.1 200 OK"), response[:200])
                    self.assertTrue(response.endswith(b"\r\n\r\n" + body))
                # sent whole, the body comes with its head: answered quickly
                sock.sendall(request)
                self.assertTrue(read_response(sock).endswith(b"\r\n\r\n" + body))
            finally:
                sock.close()
            # each cut waits for the rest of the body rather than hand the request to libsoup
            self.assertEqual(self.counts(host)[1], before + 5)

    def test_client_leaving_while_held(self):
        """a client that leaves while its POST's answer is held costs nothing lasting; the answer is dropped"""
        host = self.start()
        held = b"POST /test/echo?later=300 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        for https in (True, False):
            for behind in (b"", b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n" * 50 + CLOSER):
                sock = self.connect(host, https)
                sock.sendall(held + behind)
                sock.close()
        wait_for(lambda: host.ctl_json("status")["connections"] == 0, what="every connection closed")
        response = raw_exchange(*host.address("http"), held + CLOSER)
        self.assertEqual([body for _, body in split_responses(response)], [b"hello", b"hello over http\n"])
        self.assertIsNone(host.proc.poll())

    def test_held_answer_outlasts_the_idle_timeout(self):
        """a held request is in progress, not idle: the idle timeout runs again only after its answer"""
        host = self.start(core={"idle-timeout": "1"})
        sock = socket.create_connection(host.address("http"), timeout=30)
        try:
            sock.sendall(b"POST /test/echo?later=2500 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
            self.assertTrue(read_response(sock, timeout=30).endswith(b"\r\n\r\nhi"))
            sock.settimeout(30)
            self.assertEqual(sock.recv(100), b"")
        finally:
            sock.close()
        self.assertEqual(self.counts(host)[1], 1)

    def test_many_connections(self):
        """200 connections of 25 keep-alive requests each, over HTTPS, all answered right"""
        host = self.start()
        addr = host.address("https")
        context = host.ssl_context()
        failures = []

        def client():
            try:
                with socket.create_connection(addr, timeout=30) as raw:
                    with context.wrap_socket(raw, server_hostname="localhost") as sock:
                        for _ in range(25):
                            sock.sendall(b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n")
                            if not read_response(sock, timeout=30).endswith(KIB):
                                failures.append("short answer")
            except (OSError, ssl.SSLError) as error:
                failures.append(str(error))

        threads = [threading.Thread(target=client) for _ in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(failures, [])
        self.assertGreaterEqual(self.counts(host)[1], 200 * 25)

    def assert_answered_then_ended(self, core, data):
        """@data gets one quick answer, then the server ends the connection"""
        host = self.start(core=core)
        sock = socket.create_connection(host.address("http"), timeout=30)
        try:
            sock.sendall(data)
            self.assertTrue(read_response(sock).endswith(KIB))
            sock.settimeout(30)
            self.assertEqual(sock.recv(100), b"")
        finally:
            sock.close()
        self.assertEqual(self.counts(host)[1], 1)

    def test_idle_deadline_after_quick_answers(self):
        """the idle timeout runs again after a quick answer: the server ends a silent connection"""
        self.assert_answered_then_ended({"idle-timeout": "1"}, b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\n")

    def test_header_deadline_on_a_cut_head(self):
        """a head that never ends after a quick answer meets the header deadline"""
        self.assert_answered_then_ended({"header-timeout": "1"},
                                        b"GET /test/1k HTTP/1.1\r\nHost: x\r\n\r\nGET /test/1k HTTP/1.1\r\nHo")
