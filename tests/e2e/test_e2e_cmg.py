# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Internet clients through the cloud management gateway, end to end: a site
host (ca, mp, dp, cmg-connector) and a gateway host (cmg) enrolled with a
join token, each its own process, state and D-Bus. The client talks only to
the gateway; the connector dialed out to it."""
import base64
import glob
import hashlib
import http.server
import json
import os
import pathlib
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization

from harness import make_certificate, plugin_dir_with, raw_exchange, status_lines, wait_for
import test_e2e_ca
from test_e2e_mp import Client
from test_e2e_mp_policy import PKG, SIG, ContentLocationTest, PolicyTestCase

MP_ID = "72057594037927937"
DP_ID = "72057594037927938"
SERVER = "/CCM_Proxy_ServerAuth/"
MUTUAL = "/CCM_Proxy_MutualAuth/"


class Via:
    """The MP as an internet client sees it: through the gateway, under /CCM_Proxy_…/<mp id>."""

    def __init__(self, gateway, prefix=SERVER, mapping=MP_ID):
        self.base = gateway.url("https") + prefix + mapping

    def url(self, scheme):
        return self.base


def fixed_ports(host):
    """Keeps the host's listeners on the ports it got, so a restart comes back where peers dial."""
    text = host.config.read_text()
    text = re.sub(r"^https-listen=.*$", "https-listen=" + host.url("https").split("://")[1], text, flags=re.M)
    text = re.sub(r"^http-listen=.*$", "http-listen=" + host.url("http").split("://")[1], text, flags=re.M)
    host.config.write_text(text)


class CmgTestCase(PolicyTestCase):
    csr = test_e2e_ca.CaTestCase.csr
    issue = test_e2e_ca.CaTestCase.issue
    certificates = test_e2e_ca.CaTestCase.certificates
    add_content = ContentLocationTest.add_content
    curl = ContentLocationTest.curl

    def bring_up(self, connector=None, contents=None, mp=None):
        plugins = ("ca", "mp", "dp", "cmg-connector")
        site = self.host(plugins=plugins[:3], with_certificate=False, plugin_dir=plugin_dir_with(self.workdir, *plugins),
                         groups={"mp": mp or {}, "dp": {"names": "dp1.example,localhost"}})
        site.start()
        wait_for(lambda: site.ctl_json("status")["certificate"], what="a site-issued certificate")
        self.root_pem = site.state / "plugins" / "ca" / "root.pem"
        self.wait_for_site_info(site)
        # added before the restart below, where the site's DP reports what it holds to the MP
        self.contents = {name: self.add_content(site, name, files) for name, files in (contents or {}).items()}

        token = site.ctl_json("join-token", "create", "--role", "cmg")["token"]
        fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        gateway = self.host(plugins=("cmg",), with_certificate=False, plugin_dir=plugin_dir_with(self.workdir, "cmg"),
                            groups={"site": {"upstream": site.url("https"), "root-fingerprint": fingerprint,
                                             "join-token": token},
                                    "cmg": {"name": "cmg.example"}})
        gateway.start()
        wait_for(lambda: gateway.ctl_json("status")["certificate"] and gateway.ctl_json("cmg", "status")["site"],
                 what="the gateway enrolled and holding the trust bundle\n" + gateway.read_log())
        self.assertEqual(gateway.ctl_json("cmg", "status")["state"], "CMGConnector_NotConnected")

        # the site takes on the connector role: a restart with it, and a certificate naming it
        fixed_ports(site)
        settings = {"gateways": gateway.url("https"), "health-interval": "1", "report-interval": "2"}
        settings.update(connector(site) if callable(connector) else connector or {})
        text = site.config.read_text().replace("plugins=ca,mp,dp\n", "plugins=" + ",".join(plugins) + "\n")
        site.config.write_text(text + "[cmg-connector]\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))
        site.stop()
        site.start()
        site.ctl("cert", "renew")
        self.site_host, self.gateway = site, gateway
        self.wait_connected()
        return site, gateway

    def wait_connected(self):
        wait_for(lambda: self.gateway.ctl_json("cmg", "status")["state"] == "connected", timeout=30,
                 what="the connector's tunnel\n" + self.site_host.read_log()[-3000:])

    def gw(self, path, token=None, method=None, data=None, headers=None):
        """(status, body bytes, headers) of one request to the gateway"""
        req = urllib.request.Request(self.gateway.url("https") + path, data=data, method=method)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        context = ssl.create_default_context(cafile=str(self.root_pem))
        try:
            with urllib.request.urlopen(req, context=context, timeout=15) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def gw_error(self, path, token=None):
        status, body, headers = self.gw(path, token)
        reply = json.loads(body)
        self.assertEqual(reply["correlation_id"], headers["X-Ehttpd-Correlation-Id"])
        return status, reply["error"]

    def gw_curl(self, path, token, *args, out=None):
        cmd = ["curl", "-sS", "--cacert", str(self.root_pem), "--path-as-is", "-o", str(out) if out else "-",
               "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {token}", *args,
               self.gateway.url("https") + path]
        result = subprocess.run(cmd, capture_output=True)
        body, _, code = result.stdout.rpartition(b"\n")
        return int(code or 0), body

    def mp_requests(self, path):
        """how many requests for @path the site's access log shows"""
        return len(re.findall(rf" (GET|POST) {re.escape(path)} ", self.site_host.read_log()))

    def expired_client_token(self, good):
        """a client token signed with the MP's own key, expired an hour ago"""
        claims = jwt.decode(good, options={"verify_signature": False})
        claims["exp"] = int(time.time()) - 3600
        claims["nbf"] = claims["iat"] = claims["exp"] - 7200
        return self.resigned(good, claims)

    def resigned(self, good, claims):
        """@good's header over @claims, signed with the MP's own key"""
        for path in glob.glob(str(self.site_host.state / "plugins" / "mp" / "**" / "*"), recursive=True):
            data = pathlib.Path(path).read_bytes() if os.path.isfile(path) else b""
            if b"PRIVATE KEY" in data:
                key = serialization.load_pem_private_key(data, None)
                header = jwt.get_unverified_header(good)
                token = jwt.encode(claims, key, algorithm="ES256",
                                   headers={"typ": header["typ"], "x5t#S256": header["x5t#S256"]})
                if jwt.get_unverified_header(token)["x5t#S256"] == header["x5t#S256"]:
                    return token
        raise AssertionError("no MP token signing key found")


class GatewayFlowTest(CmgTestCase):
    def test_register_token_policy_and_content_through_the_gateway(self):
        src = {"big.bin": os.urandom(6 * 1024 * 1024 + 123), "small.txt": b"small\n"}
        site, gateway = self.bring_up(contents={"App": src})
        content_id, manifest_sha = self.contents["App"]
        via = Via(gateway)

        # registration with a bulk token, then a client token, all through the gateway
        bulk = site.ctl_json("bulk-token", "create")["token"]
        client = Client()
        status, reply = self.register(via, client, bulk_token=bulk)
        self.assertEqual((status, reply["state"]), (201, "approved"), reply)
        token = self.token(via, client)["token"]
        self.assertEqual(self.verify_with_bundle(site, token)["sub"], reply["client_guid"])
        status, me = self.whoami(via, token)
        self.assertEqual((status, me["client_guid"]), (200, reply["client_guid"]))
        # the MutualAuth form is the same relay
        self.assertEqual(self.whoami(Via(gateway, MUTUAL), token)[0], 200)

        # policy, signed by the site, verified by the client
        site.ctl("deployment", "create", "--content", content_id, "--action", "install")
        status, body, headers = self.gw(SERVER + MP_ID + "/ehttpd/mp/policy", token)
        self.assertEqual((status, headers["Content-Type"]), (200, "application/jose"), body)
        policy = self.verify_policy(site, body.decode())
        self.assertEqual(len(policy["assignments"]), 1)

        # content: located through the gateway, downloaded through the tunnel from the site's DP
        def located():
            status, body, _ = self.gw(SERVER + MP_ID + "/ehttpd/mp/content/" + content_id, token)
            return json.loads(body) if status == 200 else None
        location = wait_for(located, what="the content located")
        content_token = location["token"]
        out = pathlib.Path(self.workdir) / "big.out"
        code, _ = self.gw_curl(SERVER + DP_ID + PKG + content_id + "/big.bin", content_token, out=out)
        self.assertEqual(code, 200)
        self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), hashlib.sha256(src["big.bin"]).hexdigest())
        code, body = self.gw_curl(SERVER + DP_ID + PKG + content_id + "/big.bin", content_token, "-r", "100-199")
        self.assertEqual((code, body), (206, src["big.bin"][100:200]))
        code, head = self.gw_curl(SERVER + DP_ID + PKG + content_id + "/big.bin", content_token, "-I")
        self.assertEqual(code, 200)
        self.assertIn(f"content-length: {len(src['big.bin'])}".encode(), head.lower())
        code, body = self.gw_curl(SERVER + DP_ID + SIG + content_id, content_token)
        self.assertEqual((code, hashlib.sha256(body).hexdigest()), (200, manifest_sha))

        # one correlation id in the gateway's, the connector's and the MP's logs
        status, body, headers = self.gw(SERVER + MP_ID + "/ehttpd/mp/whoami", token)
        correlation = headers["X-Ehttpd-Correlation-Id"]
        self.assertEqual(status, 200)
        self.assertIn(correlation, gateway.read_log())
        wait_for(lambda: f"/ehttpd/mp/whoami 200" in site.read_log() and
                 len(re.findall(re.escape(correlation), site.read_log())) >= 2,
                 what="the correlation id in the connector's and the MP's log lines")

        # admin views; every download's window is given back once it is over
        wait_for(lambda: gateway.ctl_json("cmg", "status")["window-grown"] == 0, what="the windows given back")
        status = gateway.ctl_json("cmg", "status")
        self.assertEqual((status["state"], status["connectors"]), ("connected", 1))
        self.assertGreater(status["relayed"], 8)
        mappings = {m["id"]: m for m in gateway.ctl_json("cmg", "mappings")}
        self.assertEqual((mappings[MP_ID]["kind"], mappings[DP_ID]["dp"]), ("mp", "dp1.example"))
        (connection,) = gateway.ctl_json("cmg", "connections")
        self.assertEqual(connection["state"], "up")
        self.assertIn("up", gateway.ctl("cmg", "connections").stdout)
        connector = site.ctl_json("cmg", "connector")
        traffic = {t["id"]: t for t in connector["traffic"]}
        self.assertGreaterEqual(traffic[DP_ID]["bytes-out"], len(src["big.bin"]))
        self.assertEqual(connector["tunnels"][0]["state"], "up")
        wait_for(lambda: "traffic report: dp " + DP_ID in site.read_log(), what="a traffic report")
        wait_for(lambda: site.ctl_json("cmg", "connector")["tunnels"][0]["last-health"] > connection["since"],
                 what="a health check answered")

        # the site host listens only on its own listeners; the tunnel is its outbound connection
        gw_port = gateway.address("https")[1]
        listening = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True).stdout
        own = [line for line in listening.splitlines() if f"pid={site.proc.pid}," in line]
        self.assertEqual(len(own), 2, listening)
        ports = {site.address("http")[1], site.address("https")[1]}
        self.assertEqual({int(line.split()[3].rsplit(":", 1)[1]) for line in own}, ports)
        # the MP and DP of this host are asked over internal connections: socket pairs, nothing that listens
        self.assertEqual({t["id"]: t["upstream"] for t in connector["traffic"]}, {MP_ID: "internal", DP_ID: "internal"})
        unix = subprocess.run(["ss", "-Hxlp"], capture_output=True, text=True).stdout
        self.assertEqual([line for line in unix.splitlines() if f"pid={site.proc.pid}," in line], [], unix)
        established = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True).stdout
        outbound = [line for line in established.splitlines()
                    if f"pid={site.proc.pid}," in line and line.split()[3].endswith(f":{gw_port}")]
        self.assertEqual(len(outbound), 1, established)

    def test_refusals_at_the_edge_never_reach_the_site(self):
        site, gateway = self.bring_up()
        via = Via(gateway)
        bulk = site.ctl_json("bulk-token", "create")["token"]
        client = Client()
        self.assertEqual(self.register(via, client, bulk_token=bulk)[0], 201)
        token = self.token(via, client)["token"]
        policy = SERVER + MP_ID + "/ehttpd/mp/policy"
        self.assertEqual(self.gw(policy, token)[0], 200)
        seen = self.mp_requests("/ehttpd/mp/policy")

        expired = self.expired_client_token(token)
        forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}),
                            Client().key, algorithm="ES256", headers=jwt.get_unverified_header(token))
        for bad in (expired, forged, token[:-4] + "AAAA", "garbage", None):
            self.assertEqual(self.gw_error(policy, bad), (401, "CMGService_Invalid_Token"), bad)
        # a content token is not a client token, and a client token opens no content
        self.assertEqual(self.gw_error(SERVER + DP_ID + PKG + "PS100001/a.bin", token), (401, "CMGService_Invalid_Token"))
        self.assertEqual(self.mp_requests("/ehttpd/mp/policy"), seen)

        # URLs no connector publishes
        self.assertEqual(self.gw_error(SERVER + "12345/ehttpd/mp/policy", token), (403, "CMGConnector_Forbidden"))
        self.assertEqual(self.gw_error(SERVER + MP_ID + "/ehttpd/ca/trust-bundle.json", token),
                         (403, "CMGConnector_Forbidden"))
        self.assertEqual(self.gw_error(SERVER + DP_ID + "/ehttpd/mp/policy", token), (403, "CMGConnector_Forbidden"))
        # dot segments, however spelled: the front or the gateway refuses them
        self.assertEqual(self.gw(SERVER + MP_ID + "/ehttpd/mp/../ca/x", token)[0], 400)
        self.assertEqual(self.gw(SERVER + MP_ID + "/ehttpd/mp/%2e%2e/ca/x", token)[0], 400)
        self.assertEqual(self.gw(SERVER + MP_ID + "/ehttpd/mp/a%5cb", token)[0], 400)
        self.assertEqual(self.gw_error("/CCM_Proxy_ServerAuth/" + MP_ID, token)[0], 400)
        status = gateway.ctl_json("cmg", "status")
        self.assertGreaterEqual(status["refused-token"], 6)

        # an unreachable upstream: 500 with the documented name
        self.assertEqual(site.ctl_json("cmg", "connector")["state"], "connected")

    def test_upstream_failure_is_a_500(self):
        site, gateway = self.bring_up(connector={"mp-url": "https://127.0.0.1:9"})
        status, error = self.gw_error(SERVER + MP_ID + "/ehttpd/mp/nonce")
        self.assertEqual((status, error), (500, "CMGConnector_InternalServerError"))
        # another host's URL (here: nobody's) is asked over TLS, this host's own listener internally
        upstreams = {t["id"]: t["upstream"] for t in site.ctl_json("cmg", "connector")["traffic"]}
        self.assertEqual(upstreams, {MP_ID: "https", DP_ID: "internal"})


class InternalUpstreamTest(CmgTestCase):
    """The site's own MP and DP answer the connector over internal connections (no TLS): checked as any client."""

    def client_and_content_token(self, via, content_id):
        bulk = self.site_host.ctl_json("bulk-token", "create")["token"]
        client = Client()
        self.assertEqual(self.register(via, client, bulk_token=bulk)[0], 201)
        token = self.token(via, client)["token"]

        def located():
            status, body, _ = self.gw(SERVER + MP_ID + "/ehttpd/mp/content/" + content_id, token)
            return json.loads(body) if status == 200 else None
        return token, wait_for(located, what="the content located")["token"]

    def test_the_dp_checks_tokens_on_an_internal_connection_as_for_any_client(self):
        # the connector publishes its DP under a name the DP itself does not answer to
        src = {"a.bin": os.urandom(100 * 1024)}
        site, gateway = self.bring_up(connector={"dp-name": "other.example"}, contents={"App": src})
        content_id, _ = self.contents["App"]
        _, content_token = self.client_and_content_token(Via(gateway), content_id)
        path = PKG + content_id + "/a.bin"
        # a token for the DP's real name: the gateway refuses it at the edge (not the mapping's DP)
        self.assertEqual(self.gw_error(SERVER + DP_ID + path, content_token), (403, "CMGConnector_Forbidden"))
        # one for the published name, validly signed: the gateway lets it through, the DP refuses it
        claims = jwt.decode(content_token, options={"verify_signature": False})
        claims["aud"] = ["other.example"]
        foreign = self.resigned(content_token, claims)
        context = ssl.create_default_context(cafile=str(self.root_pem))
        req = urllib.request.Request(site.url("https") + path, headers={"Authorization": "Bearer " + foreign})
        with self.assertRaises(urllib.error.HTTPError) as direct:
            urllib.request.urlopen(req, context=context, timeout=15)
        status, body, headers = self.gw(SERVER + DP_ID + path, foreign)
        self.assertEqual(status, direct.exception.code)
        self.assertIn(status, (401, 403))
        correlation = headers["X-Ehttpd-Correlation-Id"]
        wait_for(lambda: re.search(rf" GET {re.escape(path)} {status} .*correlation {correlation}", site.read_log()),
                 what="the DP's refusal in the site's access log")
        # and the real token, through a mapping named as the DP is named, downloads byte for byte
        code, body = self.gw_curl(SERVER + DP_ID + path, self.resigned(content_token, dict(claims, aud=[
            "other.example", "dp1.example"])))
        self.assertEqual((code, hashlib.sha256(body).hexdigest()), (200, hashlib.sha256(src["a.bin"]).hexdigest()))

    def test_a_client_leaving_mid_download_frees_the_stream_on_both_sides(self):
        big = os.urandom(16 * 1024 * 1024)
        site, gateway = self.bring_up(contents={"App": {"big.bin": big}})
        content_id, _ = self.contents["App"]
        _, content_token = self.client_and_content_token(Via(gateway), content_id)
        path = SERVER + DP_ID + PKG + content_id + "/big.bin"
        connections = site.ctl_json("status")["connections"]

        # a client that reads 256 KiB of 16 MiB and goes away
        context = ssl.create_default_context(cafile=str(self.root_pem))
        host, port = gateway.address("https")
        with socket.create_connection((host, port), timeout=15) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                             f"Authorization: Bearer {content_token}\r\n\r\n".encode())
                got = b""
                while len(got) < 256 * 1024:
                    chunk = sock.recv(65536)
                    self.assertTrue(chunk)
                    got += chunk
                self.assertTrue(got.startswith(b"HTTP/1.1 200"))
        wait_for(lambda: gateway.ctl_json("cmg", "status")["in-flight"] == 0, what="the gateway's stream freed")
        wait_for(lambda: site.ctl_json("cmg", "connector")["tunnels"][0]["in-flight"] == 0,
                 what="the connector's stream freed")
        # the internal connection to the DP is closed too, and the DP's send ended short
        wait_for(lambda: site.ctl_json("status")["connections"] <= connections,
                 what="the site's internal connection closed")
        line = rf" GET {re.escape(PKG + content_id)}/big.bin \d+ (\d+) "
        wait_for(lambda: re.search(line, site.read_log()), what="the DP's access line")
        sent = int(re.search(line, site.read_log()).group(1))
        self.assertLess(sent, len(big))
        wait_for(lambda: gateway.ctl_json("cmg", "status")["window-grown"] == 0, what="the window given back")

        # the tunnel carries on: whole downloads, byte for byte, and the site's memory does not keep them
        out = pathlib.Path(self.workdir) / "big.out"
        rss = []
        for _ in range(5):
            code, _ = self.gw_curl(path, content_token, out=out)
            self.assertEqual(code, 200)
            self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), hashlib.sha256(big).hexdigest())
            status = pathlib.Path(f"/proc/{site.proc.pid}/status").read_text()
            rss.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)))
        # four more downloads of 16 MiB each: a body kept would be 64 MiB more
        self.assertLess(rss[-1] - rss[0], 16 * 1024, rss)


class InternalPlacesTest(CmgTestCase):
    client_and_content_token = InternalUpstreamTest.client_and_content_token

    def test_more_downloads_than_internal_places_wait_their_turn(self):
        # two places, five clients that do not read yet (a small receive buffer): each holds its
        # stream, and its internal connection, open
        body = os.urandom(8 * 1024 * 1024)
        site, gateway = self.bring_up(connector={"internal-connections": "2"}, contents={"App": {"m.bin": body}})
        content_id, _ = self.contents["App"]
        _, content_token = self.client_and_content_token(Via(gateway), content_id)
        path = SERVER + DP_ID + PKG + content_id + "/m.bin"
        context = ssl.create_default_context(cafile=str(self.root_pem))
        host, port = gateway.address("https")
        clients = []
        try:
            for _ in range(5):
                raw = socket.socket()
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                raw.settimeout(30)
                raw.connect((host, port))
                sock = context.wrap_socket(raw, server_hostname="localhost")
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                             f"Authorization: Bearer {content_token}\r\n\r\n".encode())
                clients.append(sock)
            status = wait_for(lambda: (lambda s: s if s["internal-waiting"] == 3 else None)(
                site.ctl_json("cmg", "connector")), what="3 requests waiting for an internal connection")
            self.assertEqual(status["internal-open"], 2)
            # in turn, each whole and byte for byte
            for sock in clients:
                data = b""
                while chunk := sock.recv(1 << 20):
                    data += chunk
                head, _, got = data.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
                self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(body).digest())
        finally:
            for sock in clients:
                sock.close()
        wait_for(lambda: (lambda s: (s["internal-open"], s["internal-waiting"]) == (0, 0))(
            site.ctl_json("cmg", "connector")), what="every internal connection closed")


class RefusingMp(http.server.BaseHTTPRequestHandler):
    """An MP whose Entra exchange refuses an identity that is not discovered."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"error": "user_not_discovered", "message": "AAD user with ID 26800541 and SID "
                           "S-1-5-21-1106 is not completely discovered"}).encode()
        self.server.seen.append((self.path, self.headers.get("X-Ehttpd-Correlation-Id"),
                                 self.headers.get("X-Ehttpd-Cmg-Gateway")))
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class EntraRefusalTest(CmgTestCase):
    def test_an_undiscovered_identity_is_a_403_with_the_mps_reason(self):
        def refusing_mp(site):
            # a site-issued certificate, as the connector checks every upstream against the root
            csr = self.csr("mp-standin")
            chain = pathlib.Path(self.workdir) / "mp-standin.pem"
            chain.write_text(self.issue(site, csr, roles=("mp",), names=("127.0.0.1",)).stdout)
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusingMp)
            server.seen = []
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(chain), str(pathlib.Path(self.workdir) / "mp-standin.key"))
            server.socket = context.wrap_socket(server.socket, server_side=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.addCleanup(server.shutdown)
            self.mp_standin = server
            return {"mp-url": f"https://127.0.0.1:{server.server_address[1]}"}

        site, gateway = self.bring_up(connector=refusing_mp)
        entra = jwt.encode({"oid": "26800541", "tid": "t"}, "k" * 32, algorithm="HS256")
        status, body, headers = self.gw(SERVER + MP_ID + "/ehttpd/mp/sts", method="POST",
                                        data=json.dumps({"entra_token": entra}).encode(),
                                        headers={"Content-Type": "application/json"})
        reply = json.loads(body)
        self.assertEqual((status, reply["error"], reply["reason"]),
                         (403, "CMGConnector_Un-authorizedrequest", "user_not_discovered"))
        self.assertIn("not completely discovered", reply["message"])
        self.assertEqual(reply["correlation_id"], headers["X-Ehttpd-Correlation-Id"])
        self.assertEqual(self.mp_standin.seen, [("/ehttpd/mp/sts", reply["correlation_id"], "cmg.example")])


class TunnelLifeTest(CmgTestCase):
    def test_gateway_restart_reconnects_and_connector_loss_is_a_503(self):
        site, gateway = self.bring_up()
        nonce = SERVER + MP_ID + "/ehttpd/mp/nonce"
        self.assertEqual(self.gw(nonce)[0], 200)

        fixed_ports(gateway)
        gateway.stop()
        gateway.start()
        self.wait_connected()
        self.assertEqual(self.gw(nonce)[0], 200)
        self.assertGreaterEqual(site.ctl_json("cmg", "connector")["tunnels"][0]["reconnects"], 1)

        site.stop(sig=signal.SIGKILL)
        wait_for(lambda: gateway.ctl_json("cmg", "status")["state"] == "CMGConnector_NotConnected",
                 what="the gateway noticing the connector is gone")
        self.assertEqual(self.gw_error(nonce), (503, "CMGConnector_NotConnected"))
        self.assertIn("CMGConnector_NotConnected", gateway.ctl("cmg", "status").stdout)


class HostileGatewayTest(CmgTestCase):
    def open_tunnel(self, cert):
        """a TLS socket past a 101, as a connector would have it"""
        context = ssl.create_default_context(cafile=str(self.root_pem))
        context.load_cert_chain(*cert)
        sock = context.wrap_socket(socket.create_connection(self.gateway.address("https"), timeout=10),
                                   server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ehttpd/cmg/tunnel HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Sec-WebSocket-Protocol: ehttpd-cmg.v1\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        self.assertIn(b" 101 ", head)
        return sock

    @staticmethod
    def frame(payload, opcode=0x2, fin=True):
        mask = os.urandom(4)
        words = len(payload) // 4 + 1
        key = int.from_bytes(mask * words, "big")
        masked = (int.from_bytes(payload.ljust(words * 4, b"\0"), "big") ^ key).to_bytes(words * 4, "big")
        length = len(payload)
        header = bytes([(0x80 if fin else 0) | opcode]) + (
            bytes([0x80 | length]) if length < 126 else
            bytes([0x80 | 126]) + struct.pack("!H", length) if length <= 0xffff else
            bytes([0x80 | 127]) + struct.pack("!Q", length))
        return header + mask + masked[:length]

    def upgrade(self, cert=None, path="/ehttpd/cmg/tunnel", protocol="ehttpd-cmg.v1"):
        context = ssl.create_default_context(cafile=str(self.root_pem))
        if cert is not None:
            context.load_cert_chain(*cert)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n").encode()
        response = raw_exchange(*self.gateway.address("https"), request, tls_context=context, read_timeout=3)
        return status_lines(response)[0] if status_lines(response) else response[:100]

    def test_forged_connectors_and_hostile_requests(self):
        data = os.urandom(256 * 1024)
        site, gateway = self.bring_up(contents={"R": {"r.bin": data}})
        content_id, _ = self.contents["R"]

        # connectors: without a certificate, with a role certificate lacking the role, from another root
        def issued(name, roles):
            csr = self.csr(name)
            chain = pathlib.Path(self.workdir) / f"{name}.pem"
            chain.write_text(self.issue(site, csr, roles=roles, names=(name,)).stdout)
            return str(chain), str(pathlib.Path(self.workdir) / f"{name}.key")

        self.assertIn(b" 403 ", self.upgrade())
        self.assertIn(b" 403 ", self.upgrade(issued("dp.example", ("dp",))))
        stranger_root = make_certificate(self.workdir, "stranger-root", ca=True)
        stranger = make_certificate(self.workdir, "stranger", issuer=stranger_root)
        self.assertIn(b" 403 ", self.upgrade(stranger))
        self.assertIn(b" 400 ", self.upgrade(issued("c2.example", ("cmg-connector",)), protocol="other"))
        self.assertIn("has no cmg-connector role", gateway.read_log())
        self.assertIn("not issued by this site's root", gateway.read_log())
        # a real connector certificate is let in; garbage on the tunnel closes it (1008)
        sock = self.open_tunnel(issued("c3.example", ("cmg-connector",)))
        garbage = (b"\x00" * 7, b"not a gvariant at all", os.urandom(300), b"\x63" + b"\x00" * 16)
        for i in range(6):
            sock.sendall(self.frame(garbage[i % len(garbage)]))
        # a long message in small pieces, and one in two fragments: each is one
        # bad message (a frame boundary lost on the way would be a 1002)
        long = self.frame(os.urandom(300 * 1024))
        for offset in range(0, len(long), 5000):
            sock.sendall(long[offset:offset + 5000])
        sock.sendall(self.frame(os.urandom(20000), fin=False) + self.frame(b"tail", opcode=0x0))
        received = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
        sock.close()
        self.assertIn(b"\x88", received[:2])
        self.assertEqual(struct.unpack("!H", received[2:4])[0], 1008)
        wait_for(lambda: "too many bad messages" in gateway.read_log(), what="the tunnel closed for garbage")
        # a tunnel that has not said hello never counts as connected; revoking its
        # certificate closes it (the bundle reaches the gateway over its link)
        sock = self.open_tunnel(issued("c4.example", ("cmg-connector",)))
        self.assertEqual(gateway.ctl_json("cmg", "status")["connectors"], 1)
        serial = next(c["serial"] for c in self.certificates(site) if "c4.example" in c["names"])
        site.ctl("cert", "revoke", serial)
        wait_for(lambda: f"the certificate {serial} is revoked" in gateway.read_log(), timeout=8,
                 what="the revoked connector's tunnel closed")
        sock.close()

        # the front's framing rules hold on the relay paths
        context = ssl.create_default_context(cafile=str(self.root_pem))
        smuggled = b"GET /CCM_Proxy_ServerAuth/" + MP_ID.encode() + b"/ehttpd/mp/nonce HTTP/1.1\r\nHost: x\r\n\r\n"
        path = ("/CCM_Proxy_ServerAuth/" + MP_ID + "/ehttpd/mp/register").encode()
        for request in (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 41\r\n\r\nhello",
                        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                        b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"):
            lines = status_lines(raw_exchange(*gateway.address("https"), request + smuggled, tls_context=context))
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(lines[0].startswith(b"HTTP/1.1 400"), lines)
        # a body over the cap: 413 before anything is relayed
        lines = status_lines(raw_exchange(*gateway.address("https"), b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                          b"Content-Length: 65537\r\n\r\n" + b"x" * 1000, tls_context=context))
        self.assertEqual([line[:12] for line in lines], [b"HTTP/1.1 413"])
        # a long URI
        self.assertIn(self.gw(SERVER + MP_ID + "/ehttpd/mp/" + "a" * 20000)[0], (400, 414))

        # Range: a hostile header never makes a response larger than the file
        via = Via(gateway)
        bulk = site.ctl_json("bulk-token", "create")["token"]
        client = Client()
        self.assertEqual(self.register(via, client, bulk_token=bulk)[0], 201)
        token = self.token(via, client)["token"]
        location = wait_for(lambda: (lambda r: json.loads(r[1]) if r[0] == 200 else None)(
            self.gw(SERVER + MP_ID + "/ehttpd/mp/content/" + content_id, token)), what="located")
        ranges = "bytes=" + ",".join(f"{i}-{i + 100000}" for i in range(0, 2000, 7))[:2000]
        code, body = self.gw_curl(SERVER + DP_ID + PKG + content_id + "/r.bin", location["token"], "-H",
                                  "Range: " + ranges)
        self.assertIn(code, (200, 206, 416))
        self.assertLessEqual(len(body), len(data))
        code, body = self.gw_curl(SERVER + DP_ID + PKG + content_id + "/r.bin", location["token"], "-r", "999999-")
        self.assertEqual(code, 416)
        self.assertIsNone(gateway.proc.poll())
        self.assertIsNone(site.proc.poll())
