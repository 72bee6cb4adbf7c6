# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Accepting: a burst of connections far past the backlog is served whole.

Correctness only, never speed: every connection of the burst must get its
TLS handshake and an HTTP answer (no reset, no early close) within a
generous bound; the per-address cap still holds half way through a burst.
"""
import errno
import re
import resource
import selectors
import socket
import ssl
import time
import unittest

from harness import HostTestCase

BURST = 1500
DEADLINE_S = 180.0
# a loaded machine may leave a connection of the burst waiting this long for
# its client to get to it: the handshake deadline is not what is tested here
HEADER_TIMEOUT_S = 150
REQUEST = b"GET /test/1k HTTP/1.1\r\nHost: localhost\r\n\r\n"


def raise_open_files(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise AssertionError(f"open files hard limit {hard} is below the {needed} this test needs")
    if soft != resource.RLIM_INFINITY and soft < needed:
        # ehttpd inherits the raised limit from this process
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Client:
    """One connection driven without blocking: connect, TLS, request, answer."""

    def __init__(self, address, tls_context):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.tls = tls_context
        self.stage = "connect"
        self.data = b""
        self.outcome = None
        rc = self.sock.connect_ex(address)
        if rc not in (0, errno.EINPROGRESS):
            self.finish(f"connect: {errno.errorcode.get(rc, rc)}")

    def finish(self, outcome):
        self.outcome = outcome
        self.stage = "done"

    def events(self):
        if self.stage in ("connect", "send"):
            return selectors.EVENT_WRITE
        return selectors.EVENT_READ

    def step(self):
        try:
            getattr(self, "_" + self.stage)()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLWantWriteError:
            pass
        except (OSError, ssl.SSLError) as error:
            self.finish(f"{self.stage}: {error!r}")

    def _connect(self):
        rc = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc != 0:
            self.finish(f"connect: {errno.errorcode.get(rc, rc)}")
            return
        if self.tls is None:
            self.stage = "send"
            return
        self.sock = self.tls.wrap_socket(self.sock, server_hostname="localhost",
                                         do_handshake_on_connect=False)
        self.stage = "handshake"
        self._handshake()

    def _handshake(self):
        self.sock.do_handshake()
        self.stage = "send"

    def _send(self):
        self.sock.sendall(REQUEST)
        self.stage = "answer"

    def _answer(self):
        # records already decrypted never wake the selector again
        while self.stage == "answer":
            self._read_answer()
            if self.tls is None or self.sock.pending() == 0:
                break

    def _read_answer(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            self.finish("closed before the answer" if not self.data else "closed mid-answer")
            return
        self.data += chunk
        head, sep, body = self.data.partition(b"\r\n\r\n")
        if not sep:
            return
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length is not None and len(body) >= int(length.group(1)):
            self.finish(head.split(b"\r\n", 1)[0].decode())


def burst(address, count, tls_context):
    """Opens @count connections at once; returns each one's outcome, all
    still open until every one has its outcome."""
    clients = [Client(address, tls_context) for _ in range(count)]
    selector = selectors.DefaultSelector()
    registered = {}
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            pending = [c for c in clients if c.outcome is None]
            if not pending:
                break
            for client in pending:
                key = registered.get(client)
                if key is None:
                    registered[client] = selector.register(client.sock, client.events(), client)
                elif key.fileobj is not client.sock or key.events != client.events():
                    selector.unregister(key.fileobj)
                    registered[client] = selector.register(client.sock, client.events(), client)
            for key, _ in selector.select(timeout=1.0):
                client = key.data
                client.step()
                if client.outcome is not None:
                    selector.unregister(registered.pop(client).fileobj)
        return [c.outcome or f"no outcome after {DEADLINE_S:.0f} s (stage {c.stage})"
                for c in clients]
    finally:
        selector.close()
        for client in clients:
            client.sock.close()


def tally(outcomes):
    counts = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


class AcceptTest(HostTestCase):
    def test_https_burst_all_answered(self):
        raise_open_files(2 * BURST + 500)
        site = self.host(core={"max-connections": str(BURST + 500),
                               "max-connections-per-address": str(BURST + 500),
                               "header-timeout": str(HEADER_TIMEOUT_S),
                               "access-log": "false"}).start()
        outcomes = burst(site.address("https"), BURST, site.ssl_context())
        self.assertEqual(tally(outcomes), {"HTTP/1.1 200 OK": BURST})

    def test_http_burst_all_answered(self):
        raise_open_files(2 * BURST + 500)
        site = self.host(core={"max-connections": str(BURST + 500),
                               "max-connections-per-address": str(BURST + 500),
                               "header-timeout": str(HEADER_TIMEOUT_S),
                               "access-log": "false"}).start()
        outcomes = burst(site.address("http"), BURST, None)
        self.assertEqual(tally(outcomes), {"HTTP/1.1 200 OK": BURST})

    def test_per_address_cap_holds_in_a_burst(self):
        # the connections that are answered stay open, so exactly the cap's
        # worth is served and every other one is closed without an answer
        raise_open_files(1000)
        site = self.host(core={"max-connections-per-address": "100",
                               "access-log": "false"}).start()
        outcomes = burst(site.address("http"), 400, None)
        counts = tally(outcomes)
        self.assertEqual(counts.pop("HTTP/1.1 200 OK", 0), 100, outcomes)
        for outcome in counts:
            self.assertTrue(outcome == "closed before the answer" or "ConnectionReset" in outcome
                            or "BrokenPipe" in outcome, counts)


if __name__ == "__main__":
    unittest.main()
