# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End-to-end harness: real ehttpd processes, a private D-Bus, real clients.

Each Host is its own ehttpd process with its own state directory. The bus
is a private dbus-daemon that any local uid may connect to, so tests can
call the daemon as an unprivileged user. Readiness comes from the daemon's
own sd_notify message. Logs are printed only when a test fails.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

BUILD = pathlib.Path(os.environ.get("EH_BUILD_ROOT", "../../build")).resolve()
EHTTPD = BUILD / "core" / "ehttpd"
EHTTPCTL = BUILD / "core" / "ctl" / "ehttpctl"
PLUGIN_DIR = pathlib.Path(os.environ.get("EH_TEST_PLUGIN_DIR", BUILD / "plugins" / "test"))
START_TIMEOUT = 20


def plugin_dir_with(workdir, *names):
    """A plugin directory holding the named modules of the build tree, with the
    modes the loader accepts (role plugins and test plugins side by side)."""
    directory = pathlib.Path(workdir) / ("plugins-" + "-".join(names))
    if directory.exists():
        return directory
    directory.mkdir()
    for name in names:
        found = sorted((BUILD / "plugins").glob(f"**/ehttpd-plugin-{name}.so"))
        if not found:
            raise AssertionError(f"no module ehttpd-plugin-{name}.so in {BUILD / 'plugins'}")
        shutil.copyfile(found[0], directory / found[0].name)
        os.chmod(directory / found[0].name, 0o644)
    return directory


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls until predicate() returns something true, and returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Bus:
    """A private message bus that every local uid may use."""

    def __init__(self, workdir):
        self.dir = pathlib.Path(workdir) / "bus"
        self.dir.mkdir(mode=0o755)
        os.chmod(workdir, 0o755)
        self.socket = self.dir / "bus.sock"
        config = self.dir / "bus.conf"
        config.write_text(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={self.socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
        self.proc = subprocess.Popen(["dbus-daemon", "--nofork", f"--config-file={config}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("private dbus-daemon did not start")
            time.sleep(0.02)
        os.chmod(self.socket, 0o777)
        self.address = f"unix:path={self.socket}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def make_certificate(directory, name, days=2, issuer=None, ca=False, key_type="ec"):
    """Writes NAME.key and NAME.crt (self-signed, or signed by issuer=(crt, key))."""
    directory = pathlib.Path(directory)
    key = directory / f"{name}.key"
    crt = directory / f"{name}.crt"
    if key_type == "ec":
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)])
    else:
        run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", str(key)])
    ext = directory / f"{name}.ext"
    if ca:
        ext.write_text("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
    else:
        ext.write_text("basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                       "extendedKeyUsage=serverAuth,clientAuth\n")
    csr = directory / f"{name}.csr"
    run(["openssl", "req", "-new", "-key", str(key), "-subj", f"/CN={name}", "-out", str(csr)])
    cmd = ["openssl", "x509", "-req", "-in", str(csr), "-days", str(days), "-extfile", str(ext), "-out", str(crt)]
    if issuer:
        cmd += ["-CA", str(issuer[0]), "-CAkey", str(issuer[1]), "-CAcreateserial"]
    else:
        cmd += ["-signkey", str(key)]
    run(cmd)
    os.chmod(key, 0o600)
    return crt, key


def fingerprint(crt_path):
    out = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(crt_path)]).stdout
    return "sha256:" + out.strip().split("=", 1)[1].replace(":", "").lower()


def install_host_pem(state_dir, chain_paths, key_path):
    tls = pathlib.Path(state_dir) / "tls"
    tls.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = "".join(pathlib.Path(p).read_text() for p in chain_paths) + pathlib.Path(key_path).read_text()
    tmp = tls / "host.pem.new"
    tmp.write_text(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, tls / "host.pem")


class Host:
    """One ehttpd process with its own state directory and config."""

    def __init__(self, workdir, bus, name="site", plugins=("test-echo",), core=None, groups=None,
                 plugin_dir=None, with_certificate=True, allow_test=True):
        self.dir = pathlib.Path(workdir) / name
        self.dir.mkdir()
        self.state = self.dir / "state"
        self.bus = bus
        self.log_path = self.dir / "ehttpd.log"
        self.ca = None
        if with_certificate:
            self.ca = make_certificate(self.dir, "test-root", days=30, ca=True)
            self.leaf = make_certificate(self.dir, "localhost", issuer=self.ca)
            install_host_pem(self.state, [self.leaf[0], self.ca[0]], self.leaf[1])
        settings = {
            "state-dir": str(self.state),
            "plugin-dir": str(plugin_dir or PLUGIN_DIR),
            "plugins": ",".join(plugins),
            "http-listen": "127.0.0.1:0",
            "https-listen": "127.0.0.1:0",
        }
        settings.update(core or {})
        text = "[core]\n" + "".join(f"{k}={v}\n" for k, v in settings.items())
        for group, keys in (groups or {}).items():
            text += f"[{group}]\n" + "".join(f"{k}={v}\n" for k, v in keys.items())
        self.config = self.dir / "ehttpd.conf"
        self.config.write_text(text)
        self.allow_test = allow_test
        self.extra_env = {}
        self.proc = None

    def env(self):
        env = dict(os.environ)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
        env.pop("NOTIFY_SOCKET", None)
        env.update(self.extra_env)
        return env

    def start(self, expect_ready=True):
        notify_path = self.dir / "notify.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path.unlink(missing_ok=True)
        notify.bind(str(notify_path))
        env = self.env()
        env["NOTIFY_SOCKET"] = str(notify_path)
        cmd = [str(EHTTPD), "--config", str(self.config), "--session", "--verbose"]
        if self.allow_test:
            cmd.append("--allow-test-plugins")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if not expect_ready:
            notify.close()
            return self
        notify.settimeout(START_TIMEOUT)
        try:
            while True:
                message = notify.recv(4096).decode()
                if "READY=1" in message:
                    break
        except socket.timeout:
            raise AssertionError("ehttpd did not report READY=1\n" + self.read_log())
        finally:
            notify.close()
        self.status = self.ctl_json("status")
        self.urls = self.status["listeners"]
        return self

    def url(self, scheme):
        return next(u for u in self.urls if u.startswith(scheme + "://"))

    def address(self, scheme):
        hostport = self.url(scheme).split("://", 1)[1]
        host, port = hostport.rsplit(":", 1)
        return host.strip("[]"), int(port)

    def ctl(self, *args, user=None, check=True):
        cmd = [str(EHTTPCTL), "--session", *args]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        return run(cmd, check=check, env=self.env())

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def plugin_states(self):
        return {p["name"]: (p["state"], p["error"]) for p in self.ctl_json("plugins")}

    def ssl_context(self):
        context = ssl.create_default_context(cafile=str(self.ca[0]))
        return context

    def read_log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def rss_kib(self):
        for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def raw_exchange(host, port, data, read_timeout=5.0, tls_context=None):
    """Sends raw bytes; returns everything read until the server closes or the timeout."""
    sock = socket.create_connection((host, port), timeout=read_timeout)
    if tls_context is not None:
        sock = tls_context.wrap_socket(sock, server_hostname="localhost")
    try:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def status_lines(response):
    """The status lines of every HTTP response found in a byte stream."""
    return re.findall(rb"HTTP/1\.[01] \d{3} [^\r\n]*", response)


def read_response(sock, timeout=10.0):
    """Reads one complete response with a Content-Length from a socket."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class HostTestCase(unittest.TestCase):
    """Creates a work directory and a bus per host (as separate machines have);
    prints host logs when a test fails."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="eh-e2e-")
        self.bus = Bus(self.workdir)
        self.buses = [self.bus]
        self.hosts = []

    def host(self, **kw):
        # the first host uses self.bus; each further host owns org.ehttpd on a bus
        # of its own, so ehttpctl reaches the right daemon
        bus = self.bus
        if self.hosts:
            directory = pathlib.Path(self.workdir) / f"bus{len(self.hosts)}"
            directory.mkdir()
            bus = Bus(directory)
            self.buses.append(bus)
        host = Host(self.workdir, bus, name=f"host{len(self.hosts)}", **kw)
        self.hosts.append(host)
        return host

    def tearDown(self):
        failed = any(test is self for test, _ in
                     self._outcome.result.errors + self._outcome.result.failures)
        for host in self.hosts:
            host.stop(signal.SIGKILL if failed else signal.SIGTERM)
            if failed:
                print(f"\n--- log of {host.dir.name} ---\n{host.read_log()}")
        for bus in self.buses:
            bus.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
