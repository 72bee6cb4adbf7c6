#!/usr/bin/env python3
# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bring-up time of one server: from exec to the first HTTPS answer that
verifies against a given CA.

usage: bringup.py --cafile PEM (--port N | --port-from-log) --log FILE
                  [--path P] [--body FILE] [--timeout S] [--poll-ms MS]
                  -- COMMAND ARGS...

Starts COMMAND (stdout and stderr to --log), then, every --poll-ms, tries a
TLS connection to 127.0.0.1:PORT that verifies the server's chain against
--cafile (which may not exist yet: it is waited for) and its IP address
127.0.0.1, sends "GET PATH" and reads the answer. The first complete HTTP
answer ends the clock (with --body: only a 200 whose body is that file's).
PORT is --port, or read from COMMAND's log line "https://127.0.0.1:PORT"
(ehttpd with https-listen=127.0.0.1:0). COMMAND is then stopped (SIGTERM,
SIGKILL after 10 s) and one line is printed:
  bringup seconds=S cafile_seconds=S tries=N status=CODE
Exits 1 with a message when COMMAND exits early or --timeout passes.
"""
import argparse
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

PORT_IN_LOG = re.compile(rb"https://127\.0\.0\.1:(\d+)")


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop(f"signal {signum}")


def exchange(port, context, path, attempt_timeout):
    """One verified HTTPS request; returns (status, body) or raises OSError/ssl errors."""
    with socket.create_connection(("127.0.0.1", port), timeout=attempt_timeout) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not match:
        raise OSError("no HTTP answer")
    return int(match.group(1)), body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--port-from-log", action="store_true")
    parser.add_argument("--log", required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--body")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--poll-ms", type=float, default=2.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or (args.port is None) == (not args.port_from_log):
        parser.error("a COMMAND, and one of --port or --port-from-log, are needed")
    expected = open(args.body, "rb").read() if args.body else None
    poll = args.poll_ms / 1000.0
    attempt_timeout = 0.5

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log = open(args.log, "wb")
    port = args.port
    context = None
    cafile_seconds = None
    tries = 0
    proc = None
    try:
        start = time.monotonic()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = start + args.timeout
        while True:
            now = time.monotonic()
            if proc.poll() is not None:
                raise Stop(f"{command[0]} exited with {proc.returncode} before answering")
            if now > deadline:
                raise Stop(f"no verified HTTPS answer within {args.timeout} s")
            if port is None:
                with open(args.log, "rb") as f:
                    match = PORT_IN_LOG.search(f.read())
                if match:
                    port = int(match.group(1))
            if context is None and os.path.exists(args.cafile):
                try:
                    context = ssl.create_default_context(cafile=args.cafile)
                    cafile_seconds = time.monotonic() - start
                except (ssl.SSLError, OSError):
                    context = None  # caught half written: again
            if port is not None and context is not None:
                tries += 1
                try:
                    status, body = exchange(port, context, args.path, attempt_timeout)
                    if expected is None or (status == 200 and body == expected):
                        seconds = time.monotonic() - start
                        break
                except (OSError, ssl.SSLError, ssl.CertificateError):
                    pass
            time.sleep(poll)
        print(f"bringup seconds={seconds:.4f} cafile_seconds={cafile_seconds:.4f} tries={tries} "
              f"status={status}", flush=True)
        return 0
    except Stop as stop:
        print(f"bringup.py: {stop}; log: {args.log}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
