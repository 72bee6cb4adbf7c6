# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""TLS policy and the certificate life cycle, checked with gnutls-cli and openssl."""
import http.client
import os
import socket
import ssl
import subprocess
import unittest

from harness import HostTestCase, fingerprint, install_host_pem, make_certificate, run


def gnutls_handshake(host, port, priority, cafile):
    result = subprocess.run(["gnutls-cli", "--priority", priority, "--x509cafile", str(cafile),
                             "--port", str(port), "localhost"],
                            input="", capture_output=True, text=True, timeout=30)
    return result.returncode == 0, result.stdout + result.stderr


class TlsPolicyTest(HostTestCase):
    def setUp(self):
        super().setUp()
        self.site = self.host().start()
        self.port = self.site.address("https")[1]

    def handshake(self, priority):
        return gnutls_handshake("127.0.0.1", self.port, priority, self.site.ca[0])

    def test_old_versions_refused(self):
        for version in ("TLS1.0", "TLS1.1"):
            ok, out = self.handshake(f"NORMAL:-VERS-ALL:+VERS-{version}:%VERIFY_ALLOW_BROKEN")
            self.assertFalse(ok, f"{version} handshake succeeded:\n{out}")

    def test_modern_versions_accepted(self):
        ok, out = self.handshake("NORMAL:-VERS-ALL:+VERS-TLS1.3")
        self.assertTrue(ok, out)
        self.assertIn("TLS1.3", out)
        ok, out = self.handshake("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM")
        self.assertTrue(ok, out)
        self.assertIn("TLS1.2", out)

    def test_cbc_suites_refused(self):
        ok, out = self.handshake("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1:+SHA256")
        self.assertFalse(ok, out)

    def test_no_http2(self):
        result = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}",
                                 "-alpn", "h2,http/1.1", "-CAfile", str(self.site.ca[0])],
                                input="", capture_output=True, text=True, timeout=30)
        self.assertIn("ALPN protocol: http/1.1", result.stdout)
        self.assertNotIn("ALPN protocol: h2", result.stdout)

    def s_client(self, *args, stdin=""):
        return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}",
                               "-CAfile", str(self.site.ca[0]), *args],
                              input=stdin, capture_output=True, text=True, timeout=30).stdout

    def test_session_resumption(self):
        session = os.path.join(self.workdir, "session.pem")
        # the listener asks for a client certificate (for the bus link), so a
        # TLS 1.3 ticket can only follow the client's Finished: stay for an
        # answer instead of hanging up at once, or the ticket may be missed
        request = "GET /test/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        for version in ("-tls1_3", "-tls1_2"):
            self.assertIn("New, TLSv1.", self.s_client(version, "-sess_out", session, "-ign_eof",
                                                       stdin=request))
            self.assertIn("Reused, TLSv1.", self.s_client(version, "-sess_in", session))

    def test_renegotiation_refused(self):
        script = "(sleep 1; echo R; sleep 1; printf 'GET /test/echo HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'; sleep 1)"
        result = subprocess.run(["sh", "-c", f"{script} | openssl s_client -connect 127.0.0.1:{self.port} "
                                 f"-CAfile {self.site.ca[0]} -tls1_2"],
                                capture_output=True, text=True, timeout=30)
        self.assertIn("RENEGOTIATING", result.stdout + result.stderr)
        self.assertNotIn("hello over https", result.stdout)

    def test_key_updates_keep_the_connection(self):
        # TLS 1.3 key updates from the client, one asking for ours back: the answers before and
        # after, on the same connection, decrypt (openssl s_client: k and K)
        request = "GET /test/echo HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
        script = (f"(printf '{request}'; sleep 1; echo k; sleep 1; printf '{request}'; sleep 1; echo K; sleep 1; "
                  f"printf '{request}'; sleep 1)")
        result = subprocess.run(["sh", "-c", f"{script} | openssl s_client -connect 127.0.0.1:{self.port} "
                                 f"-CAfile {self.site.ca[0]} -tls1_3"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual((result.stdout + result.stderr).count("KEYUPDATE"), 2, result.stderr[-2000:])
        self.assertEqual(result.stdout.count("hello over https"), 3, result.stdout[-2000:])
        self.assertNotIn("alert", (result.stdout + result.stderr).lower())

    def test_curl_over_tls13(self):
        result = run(["curl", "-sS", "--tlsv1.3", "--cacert", str(self.site.ca[0]),
                      self.site.url("https").replace("127.0.0.1", "localhost") + "/test/echo",
                      "--resolve", f"localhost:{self.port}:127.0.0.1"])
        self.assertEqual(result.stdout, "hello over https\n")


def peer_fingerprint(sock):
    import hashlib
    return "sha256:" + hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


class CertificateTest(HostTestCase):
    def test_hot_swap_keeps_open_connections(self):
        site = self.host().start()
        h, p = site.address("https")
        context = site.ssl_context()
        old = http.client.HTTPSConnection(h, p, timeout=10, context=context)
        old.request("GET", "/test/echo")
        old.getresponse().read()
        self.assertEqual(peer_fingerprint(old.sock), fingerprint(site.leaf[0]))

        new_leaf = make_certificate(site.dir, "localhost-2", issuer=site.ca)
        install_host_pem(site.state, [new_leaf[0], site.ca[0]], new_leaf[1])
        self.assertEqual(site.ctl("reload").returncode, 0)
        self.assertEqual(site.ctl_json("status")["certificate"], fingerprint(new_leaf[0]))

        fresh = http.client.HTTPSConnection(h, p, timeout=10, context=context)
        fresh.request("GET", "/test/echo")
        self.assertEqual(fresh.getresponse().read(), b"hello over https\n")
        self.assertEqual(peer_fingerprint(fresh.sock), fingerprint(new_leaf[0]))
        # the connection opened before the swap still works, with its old certificate
        old.request("GET", "/test/echo")
        self.assertEqual(old.getresponse().read(), b"hello over https\n")
        self.assertEqual(peer_fingerprint(old.sock), fingerprint(site.leaf[0]))

    def test_mismatched_key_is_refused_and_old_kept(self):
        site = self.host().start()
        other = make_certificate(site.dir, "other", issuer=site.ca)
        install_host_pem(site.state, [site.leaf[0], site.ca[0]], other[1])
        site.ctl("reload")
        self.assertIn("TLS certificate not reloaded", site.read_log())
        self.assertEqual(site.ctl_json("status")["certificate"], fingerprint(site.leaf[0]))

    def test_bad_chains_stop_the_start_with_a_clear_error(self):
        site = self.host(with_certificate=True)
        wrong_order = [site.ca[0], site.leaf[0]]
        install_host_pem(site.state, wrong_order, site.leaf[1])
        site.start(expect_ready=False)
        self.assertEqual(site.proc.wait(20), 1)
        self.assertIn("host.pem", site.read_log())

        expired_host = self.host(with_certificate=True)
        expired = make_certificate(expired_host.dir, "expired", days=-1, issuer=expired_host.ca)
        install_host_pem(expired_host.state, [expired[0], expired_host.ca[0]], expired[1])
        expired_host.start(expect_ready=False)
        self.assertEqual(expired_host.proc.wait(20), 1)
        self.assertIn("expired", expired_host.read_log())

    def test_https_waits_for_a_certificate(self):
        site = self.host(with_certificate=False).start()
        self.assertEqual(site.status["certificate"], "")
        h, p = site.address("https")
        # the listener exists but does not accept yet: the TCP connect queues
        sock = socket.create_connection((h, p), timeout=10)
        ca = make_certificate(site.dir, "late-root", days=30, ca=True)
        leaf = make_certificate(site.dir, "late-leaf", issuer=ca)
        install_host_pem(site.state, [leaf[0], ca[0]], leaf[1])
        site.ctl("reload")
        context = ssl.create_default_context(cafile=str(ca[0]))
        tls = context.wrap_socket(sock, server_hostname="localhost")
        tls.sendall(b"GET /test/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertIn(b"hello over https", tls.recv(4096) + tls.recv(4096))


if __name__ == "__main__":
    unittest.main()
