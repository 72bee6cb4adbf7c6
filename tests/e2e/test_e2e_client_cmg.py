# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ehttp-client in internet mode, end to end: a site host (ca, mp, dp,
cmg-connector) and a gateway host (cmg), each its own process, and the real
client, which after join reaches the site only through the gateway (the MP
URL it recorded is made unreachable): registration with a bulk token, tokens,
signed policy, content through the gateway's content path, and Entra
tokens through it."""
import json
import os
import pathlib

from test_e2e_client import ClientTestCase, free_port
from test_e2e_client_entra import ClientEntraCase
from test_e2e_cmg import CmgTestCase, DP_ID, MP_ID
from test_e2e_mp_entra import AUDIENCE, TENANT

MIB = 1024 * 1024


class InternetClientCase(CmgTestCase):
    client = ClientTestCase.client
    assert_tree = ClientTestCase.assert_tree

    def internet_join(self, site, gateway, state="client-state", *extra):
        """joined where the site is reachable, then cut off from the MP: only the gateway is left"""
        self.state = pathlib.Path(self.workdir) / state
        fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        joined = self.client("join", "--site", site.url("http"), "--root-fingerprint", fingerprint,
                             "--host-name", "roamer.example", "--hardware-id", "hw-" + os.urandom(8).hex(),
                             *(["--gateway", gateway.url("https")] if gateway else []), *extra).json
        recorded = json.loads((self.state / "site.json").read_text())
        recorded["management_point"] = f"https://127.0.0.1:{free_port()}"
        (self.state / "site.json").write_text(json.dumps(recorded))
        return joined


class InternetClientTest(InternetClientCase):
    def test_register_token_policy_and_content_only_through_the_gateway(self):
        files = {"setup.msi": os.urandom(5 * MIB + 11), "app.ini": b"[app]\n", "empty.dat": b""}
        site, gateway = self.bring_up(contents={"App": files})
        content_id, manifest_sha = self.contents["App"]
        joined = self.internet_join(site, gateway)
        self.assertEqual(joined["gateway"], gateway.url("https"))
        self.assertIn("internet mode", self.client("status", json_out=False).stdout)
        relayed = gateway.ctl_json("cmg", "status")["relayed"]

        bulk = site.ctl_json("bulk-token", "create")["token"]
        registered = self.client("register", "--bulk-token", bulk).json
        self.assertEqual(registered["state"], "approved", registered)
        self.assertEqual(self.client("token").json["client_guid"], registered["client_guid"])
        site.ctl("deployment", "create", "--content", content_id, "--action", "install")
        policy = self.client("policy").json
        self.assertEqual([(a["content_id"], a["action"]) for a in policy["assignments"]], [(content_id, "install")])

        dest = pathlib.Path(self.workdir) / "dest"
        got = self.client("content", "get", content_id, "--dest", str(dest)).json
        self.assert_tree(dest, files)
        self.assertEqual(got["manifest_sha256"], manifest_sha)
        self.assertEqual([(d["name"], d["state"]) for d in got["dps"]], [("gateway 127.0.0.1", "used")])
        self.assertTrue(got["dps"][0]["url"].endswith("/CCM_Proxy_ServerAuth/" + DP_ID), got)
        self.assertEqual(got["bytes_transferred"], sum(len(d) for d in files.values()))
        # every call crossed the gateway; the connector's upstream requests carry its correlation ids
        self.assertGreaterEqual(gateway.ctl_json("cmg", "status")["relayed"] - relayed, 8)
        traffic = {t["id"]: t for t in site.ctl_json("cmg", "connector")["traffic"]}
        self.assertGreaterEqual(traffic[DP_ID]["bytes-out"], len(files["setup.msi"]))
        self.assertGreaterEqual(traffic[MP_ID]["requests"], 5)

        # run: policy and content through the gateway
        ran = self.client("run", "--dest", str(pathlib.Path(self.workdir) / "run")).json
        self.assertEqual(ran["contents"][0]["content_id"], content_id)

        # without the gateway the cut-off client cannot reach its MP (7)
        recorded = json.loads((self.state / "site.json").read_text())
        recorded["gateway"] = None
        (self.state / "site.json").write_text(json.dumps(recorded))
        self.assertEqual(self.client("token", "--renew", check=False).returncode, 7)
        # … and --gateway makes one command go through it
        self.assertEqual(self.client("--gateway", gateway.url("https"), "token", "--renew").json["client_guid"],
                         registered["client_guid"])
        self.assertEqual(len(self.client("--gateway", gateway.url("https"), "policy").json["assignments"]), 1)

    def test_gateway_trust_public_anchors_and_refusals(self):
        site, gateway = self.bring_up()
        # a public certificate: --gateway-ca anchors it (here the site's root stands in for a public CA)
        self.internet_join(site, gateway, "public-state", "--gateway-ca", str(self.root_pem))
        self.assertTrue((self.state / "gateway-ca.pem").exists())
        bulk = site.ctl_json("bulk-token", "create")["token"]
        self.assertEqual(self.client("register", "--bulk-token", bulk).json["state"], "approved")
        # anchors the gateway does not chain to: a trust failure (4) before anything is sent
        from harness import make_certificate
        stranger = make_certificate(self.workdir, "stranger-ca", ca=True)
        before = gateway.ctl_json("cmg", "status")["relayed"]
        result = self.client("--gateway", gateway.url("https"), "--gateway-ca", str(stranger[0]), "token", "--renew",
                             check=False)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn("does not verify with the gateway's anchors", result.stderr)
        self.assertEqual(gateway.ctl_json("cmg", "status")["relayed"], before)

        # a bad client token is refused at the edge: the client replaces it once and goes on
        kept = json.loads((self.state / "token.json").read_text())
        kept["token"] = kept["token"][:-6] + "AAAAAA"
        (self.state / "token.json").write_text(json.dumps(kept))
        self.assertEqual(self.client("policy").json["assignments"], [])
        # no connector: 503 CMGConnector_NotConnected, said plainly (7), not a hang
        site.stop()
        result = self.client("token", "--renew", check=False)
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertIn("CMGConnector_NotConnected", result.stderr)
        self.assertTrue(result.json["refusal"]["correlation_id"])


class InternetEntraTest(InternetClientCase, ClientEntraCase):
    def test_a_discovered_device_works_and_an_undiscovered_user_gets_the_gateways_403(self):
        mp = {"entra-tenants": TENANT, "entra-audience": AUDIENCE, "entra-jwks": self.jwks.url,
              "entra-jwks-ca": str(self.jwks.ca[0])}
        site, gateway = self.bring_up(mp=mp)
        self.assertEqual(self.discover(site, devices=[self.device]).returncode, 0)
        self.internet_join(site, gateway)

        registered = self.client("register", "--entra-token", self.entra_file(self.device_token())).json
        self.assertEqual(registered["state"], "approved", registered)
        exchanged = self.client("token", "--entra-token", self.entra_file(self.device_token())).json
        self.assertEqual(exchanged["entra"], {"kind": "device", "tid": TENANT, "id": self.device})
        self.assertEqual(self.client("policy").json["assignments"], [])

        stranger = self.user_token(oid="0c5b4c1e-8a39-4f0e-9a4e-5d1e8a6c2b11")
        result = self.client("token", "--entra-token", self.entra_file(stranger), check=False)
        self.assertEqual(result.returncode, 5, result.stderr)
        self.assertIn("403 CMGConnector_Un-authorizedrequest (reason user_not_discovered)", result.stderr)
        self.assertIn("not discovered by the site", result.stderr)
        refusal = result.json["refusal"]
        self.assertEqual((refusal["error"], refusal["reason"]), ("CMGConnector_Un-authorizedrequest",
                                                                 "user_not_discovered"))
        self.assertIn(f"[correlation id {refusal['correlation_id']}]", result.stderr)
        self.assertIn(refusal["correlation_id"], site.read_log())
