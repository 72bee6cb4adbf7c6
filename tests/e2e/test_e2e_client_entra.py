# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ehttp-client with Entra ID tokens, end to end: a site host (ca, mp) whose
MP trusts a test tenant (RS256 tokens minted here with python3-jwt, its JWKS
served over HTTPS), discovery imported with ehttpctl, and the real client:
registration approved by a discovered identity, the exchange for a client
token carrying it, and refusals told with their reason and request id."""
import json
import pathlib
import uuid

import jwt

from test_e2e_client import ClientTestCase
from test_e2e_mp_entra import EntraTestCase, TENANT


class ClientEntraCase(EntraTestCase):
    client = ClientTestCase.client
    join = ClientTestCase.join

    def entra_file(self, token):
        path = pathlib.Path(self.workdir) / ("entra-" + uuid.uuid4().hex + ".jwt")
        path.write_text(token + "\n")
        return str(path)

    def joined_site(self):
        site = self.entra_site()
        self.fingerprint = site.ctl_json("ca", "show")["root-fingerprint"]
        self.state = pathlib.Path(self.workdir) / "client-state"
        self.join(site)
        return site


class ClientEntraTest(ClientEntraCase):
    def test_a_discovered_device_registers_and_a_discovered_user_gets_a_user_token(self):
        site = self.joined_site()
        self.assertEqual(self.discover(site, users=[self.user], devices=[self.device]).returncode, 0)

        registered = self.client("register", "--entra-token", self.entra_file(self.device_token())).json
        self.assertEqual(registered["state"], "approved", registered)
        shown = site.ctl_json("client", "show", registered["client_guid"])
        self.assertEqual(shown["approved-by"], f"entra device {TENANT}/{self.device}")

        # a user-centric deployment is listed only with a token exchanged for a user token
        site.ctl_json("deployment", "create", "--content", "PS100001", "--action", "available", "--all")
        self.assertEqual(self.client("policy").json["assignments"], [])
        exchanged = self.client("token", "--entra-token", self.entra_file(self.user_token())).json
        self.assertEqual(exchanged["entra"], {"kind": "user", "tid": TENANT, "id": self.user})
        kept = (self.state / "token.json").read_text()
        claims = jwt.decode(json.loads(kept)["token"], options={"verify_signature": False})
        self.assertEqual(claims["entra"]["id"], self.user)
        self.assertNotIn("ada@example.com", kept)
        self.assertEqual([a["action"] for a in self.client("policy").json["assignments"]], ["available"])
        self.assertIn(f"user {TENANT}/{self.user}", self.client("token", json_out=False).stdout)
        # renewal by proof of possession alone drops the identity: device-centric again
        renewed = self.client("token", "--renew").json
        self.assertNotIn("entra", renewed)
        self.assertEqual(self.client("policy").json["assignments"], [])
        # a device token: device-centric, in the device's name
        exchanged = self.client("token", "--entra-token", self.entra_file(self.device_token())).json
        self.assertEqual(exchanged["entra"]["kind"], "device")

    def test_refusals_say_the_reason_and_request_id_and_register_nothing(self):
        site = self.joined_site()
        self.assertEqual(self.discover(site, devices=[self.device]).returncode, 0)
        stranger = str(uuid.uuid4())

        # registration with an undiscovered user: refused, nothing stored
        result = self.client("register", "--entra-token", self.entra_file(self.user_token(oid=stranger)), check=False)
        self.assertEqual(result.returncode, 5, result.stderr)
        self.assertIn("Un-authorizedrequest (reason user_not_discovered)", result.stderr)
        self.assertEqual(site.ctl_json("client", "list"), [])
        refusal = result.json["refusal"]
        self.assertEqual((refusal["status"], refusal["reason"]), (403, "user_not_discovered"))
        self.assertIn(f"[request id {refusal['request_id']}]", result.stderr)
        self.assertEqual(site.ctl_json("explain", refusal["request_id"])["subject"], f"entra user {TENANT}/{stranger}")

        # a registered client exchanging for an undiscovered user, an expired token, another tenant's audience
        self.assertEqual(self.client("register", "--entra-token", self.entra_file(self.device_token())).json["state"],
                         "approved")
        before = (self.state / "token.json").read_text()
        cases = ((self.user_token(oid=stranger), "user_not_discovered", 403),
                 (self.user_token(exp=1, iat=0, nbf=0), "entra_token_expired", 401),
                 (self.user_token(aud="api://someone-else"), "entra_wrong_audience", 401))
        for token, reason, status in cases:
            result = self.client("token", "--entra-token", self.entra_file(token), check=False)
            self.assertEqual(result.returncode, 5, result.stderr)
            self.assertEqual((result.json["refusal"]["reason"], result.json["refusal"]["status"]),
                             (reason, status), result.stderr)
            self.assertIn("Entra exchange: ", result.stderr)
        # the kept token is untouched by a refused exchange, and still serves
        self.assertEqual((self.state / "token.json").read_text(), before)
        self.assertEqual(self.client("policy").json["assignments"], [])
        # the Entra token itself is never printed nor logged by the client
        token = self.user_token(oid=stranger)
        result = self.client("token", "--entra-token", self.entra_file(token), check=False)
        self.assertNotIn(token.split(".")[2], result.stdout + result.stderr)
