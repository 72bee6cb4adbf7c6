# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Connection caps: one address cannot take the service from the others."""
import http.client
import socket
import unittest

from harness import HostTestCase, read_response


def served(host, port, source="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0))
    conn.request("GET", "/test/echo")
    return conn.getresponse().status


class LimitsTest(HostTestCase):
    def test_per_address_cap(self):
        site = self.host(core={"max-connections-per-address": "5", "http-listen": "0.0.0.0:0"}).start()
        port = site.address("http")[1]
        hogs = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        for hog in hogs:
            hog.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"200 OK", read_response(hog))
        extra = socket.create_connection(("127.0.0.1", port))
        extra.settimeout(10)
        extra.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            self.assertEqual(extra.recv(4096), b"")
        except ConnectionResetError:
            pass
        # another address is still served
        self.assertEqual(served("127.0.0.2", port, source="127.0.0.2"), 200)
        for hog in hogs:
            hog.close()

    def test_global_cap_queues(self):
        site = self.host(core={"max-connections": "4"}).start()
        h, p = site.address("http")
        hogs = [socket.create_connection((h, p)) for _ in range(4)]
        for hog in hogs:
            hog.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"200 OK", read_response(hog))
        # the fifth waits in the backlog, unanswered, rather than being served
        waiting = socket.create_connection((h, p))
        waiting.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        waiting.settimeout(1.5)
        with self.assertRaises(socket.timeout):
            waiting.recv(4096)
        hogs[0].close()
        self.assertIn(b"200 OK", read_response(waiting, timeout=15))
        # three hogs remain; the waiting one asked to close after its answer
        hogs[1].sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", read_response(hogs[1]))


if __name__ == "__main__":
    unittest.main()
