# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon as a whole: serving, status, reload, graceful shutdown."""
import http.client
import signal
import socket
import threading
import time
import unittest

from harness import HostTestCase, fingerprint


class DaemonTest(HostTestCase):
    def test_serves_http_and_https_with_status(self):
        host = self.host(plugins=("test-echo",)).start()
        status = host.status
        self.assertEqual(status["plugins"][0]["name"], "test-echo")
        self.assertEqual(status["plugins"][0]["state"], "running")
        self.assertEqual(status["certificate"], fingerprint(host.leaf[0]))
        self.assertEqual(len(status["listeners"]), 2)

        h, p = host.address("http")
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/test/echo")
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.read(), b"hello over http\n")

        h, p = host.address("https")
        conn = http.client.HTTPSConnection(h, p, timeout=10, context=host.ssl_context())
        conn.request("GET", "/test/echo")
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.read(), b"hello over https\n")

    def test_keep_alive_reuses_the_connection(self):
        host = self.host().start()
        h, p = host.address("https")
        conn = http.client.HTTPSConnection(h, p, timeout=10, context=host.ssl_context())
        conn.request("GET", "/test/echo")
        conn.getresponse().read()
        first = conn.sock
        conn.request("GET", "/test/1k")
        response = conn.getresponse()
        self.assertEqual(len(response.read()), 1024)
        self.assertIs(conn.sock, first)
        self.assertEqual(host.ctl_json("status")["connections"], 1)

    def test_connection_close_is_answered_in_kind(self):
        host = self.host().start()
        h, p = host.address("https")
        conn = http.client.HTTPSConnection(h, p, timeout=10, context=host.ssl_context())
        conn.request("GET", "/test/echo", headers={"Connection": "close"})
        response = conn.getresponse()
        self.assertEqual(response.getheader("Connection"), "close")
        self.assertEqual(response.read(), b"hello over https\n")

    def test_routing_refusals(self):
        host = self.host().start()
        h, p = host.address("http")
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/no/such/path")
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("DELETE", "/test/blob")
        response = conn.getresponse()
        self.assertEqual(response.status, 405)
        self.assertEqual(response.getheader("Allow"), "GET")
        conn.close()
        # an HTTPS-only endpoint over plain HTTP names the HTTPS URL
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/test/secure")
        response = conn.getresponse()
        self.assertEqual(response.status, 403)
        self.assertIn(host.url("https") + "/test/secure", response.read().decode())
        # segment-wise prefixes: /test/echoes is not /test/echo
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/test/echoes")
        self.assertEqual(conn.getresponse().status, 404)

    def test_body_cap_is_413_before_the_handler(self):
        host = self.host().start()
        h, p = host.address("http")
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("POST", "/test/echo", body=b"x" * 1000)
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.read(), b"x" * 1000)
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("POST", "/test/echo", body=b"x" * (64 * 1024 + 1))
        self.assertEqual(conn.getresponse().status, 413)

    def test_access_log_never_has_secrets(self):
        host = self.host().start()
        h, p = host.address("http")
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/test/echo?token=QUERYSECRET", headers={"Authorization": "Bearer HEADERSECRET"})
        self.assertEqual(conn.getresponse().status, 200)
        host.stop()
        log = host.read_log()
        self.assertRegex(log, r"GET /test/echo 200 \d+ [\d.]+ms 127\.0\.0\.1")
        self.assertNotIn("HEADERSECRET", log)
        self.assertNotIn("QUERYSECRET", log)

    def test_sighup_reloads(self):
        host = self.host().start()
        host.proc.send_signal(signal.SIGHUP)
        self.assertEqual(host.ctl("reload").returncode, 0)
        self.assertIn("configuration reloaded", host.read_log())
        # a broken config is refused and the daemon keeps its old one
        host.config.write_text(host.config.read_text() + "max-connections=lots\n")
        result = host.ctl("reload", check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("[core] max-connections", result.stderr)
        self.assertEqual(host.ctl_json("status")["plugins"][0]["state"], "running")

    def test_graceful_shutdown_finishes_requests_in_flight(self):
        host = self.host(plugins=("test-echo", "test-slow"), groups={"test-slow": {"delay-ms": "1500"}}).start()
        h, p = host.address("http")
        result = {}

        def slow_request():
            conn = http.client.HTTPConnection(h, p, timeout=30)
            conn.request("GET", "/test/slow")
            response = conn.getresponse()
            result["status"] = response.status
            result["body"] = response.read()

        idle = socket.create_connection((h, p))
        worker = threading.Thread(target=slow_request)
        worker.start()
        # wait until the slow request is in the daemon (bounded, so a hang fails rather than stalls)
        deadline = time.monotonic() + 20
        while host.ctl_json("status")["connections"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(host.ctl_json("status")["connections"], 2)
        host.proc.send_signal(signal.SIGTERM)
        worker.join(30)
        self.assertEqual(result.get("status"), 200)
        self.assertEqual(result.get("body"), b"slow\n")
        self.assertEqual(host.proc.wait(30), 0)
        # the idle connection was closed, not left hanging
        idle.settimeout(5)
        self.assertEqual(idle.recv(10), b"")
        self.assertIn("stopped", host.read_log())


if __name__ == "__main__":
    unittest.main()
