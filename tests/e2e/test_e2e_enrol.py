# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Edge enrolment over the bus link: a site host and edge hosts, each its own
ehttpd process with its own state, the edges given only the site URL, a join
token and the root's fingerprint."""
import json
import sqlite3
import time
import urllib.request

from harness import plugin_dir_with, run, wait_for
from test_e2e_ca import CaTestCase

EDGE_PLUGINS = ("test-dp-standin",)


class EnrolTestCase(CaTestCase):
    def edge(self, site, token=None, root_fingerprint=None, start=True, expect_certificate=True):
        fingerprint = root_fingerprint or site.ctl_json("ca", "show")["root-fingerprint"]
        groups = {"site": {"upstream": site.url("https"), "root-fingerprint": fingerprint}}
        if token is not None:
            groups["site"]["join-token"] = token
        host = self.host(plugins=EDGE_PLUGINS, with_certificate=False, groups=groups,
                         plugin_dir=plugin_dir_with(self.workdir, *EDGE_PLUGINS))
        if start:
            host.start()
            if expect_certificate:
                self.wait_for_certificate(host)
        return host

    def token(self, site, *args):
        return site.ctl_json("join-token", "create", "--role", "dp", *args)["token"]

    def wait_for(self, predicate, what, timeout=10):
        return wait_for(predicate, timeout=timeout, what=what)

    def link_authenticated(self, host):
        status = host.ctl_json("status")
        return status.get("link-state") == "up" and status.get("link-authenticated")

    def edge_bundle(self, edge):
        try:
            with urllib.request.urlopen(edge.url("http") + "/test/standin/bundle", timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            return None


class EnrolTest(EnrolTestCase):
    def test_edge_enrols_serves_https_and_authenticates_its_link(self):
        site = self.site()
        edge = self.edge(site, self.token(site))
        root = self.root_pem(site)
        leaf, chain = self.served_chain(edge)
        run(["openssl", "verify", "-x509_strict", "-CAfile", str(root), str(leaf)])
        run(["certtool", "--verify-chain", "--infile", str(chain)])
        self.assertIn("URI:urn:ehttpd:role:dp", self.text(leaf))
        self.wait_for(lambda: self.link_authenticated(edge), "an authenticated link")
        issued = [c for c in site.ctl_json("cert", "list") if c["roles"] == ["dp"]]
        self.assertEqual(len(issued), 1)
        self.assertIn("join token", issued[0]["requester"])
        self.assertEqual(site.ctl_json("join-token", "list")[0]["state"], "used")
        # the edge's key never left it: the site holds no key for the edge's certificate
        self.assertFalse(any(p.name.endswith("key.pem") and "edge" in p.name
                             for p in site.state.rglob("*")))
        # the trust bundle reached the edge
        bundle = self.wait_for(lambda: self.edge_bundle(edge), "the trust bundle on the edge")
        self.assertEqual(bundle["root"]["fingerprint"], site.ctl_json("ca", "show")["root-fingerprint"])
        # and so did its configuration token: no secret in its logs
        self.assertNotIn(self.token_secret_of(edge), edge.read_log())

    def token_secret_of(self, host):
        text = host.config.read_text()
        return text.split("join-token=")[1].split("\n")[0].split(".")[2]

    def test_renewal_over_the_link(self):
        site = self.site()
        edge = self.edge(site, self.token(site))
        self.wait_for(lambda: self.link_authenticated(edge), "an authenticated link")
        first = edge.ctl_json("status")["certificate"]
        renewed = edge.ctl_json("cert", "renew")
        self.assertNotEqual(renewed["fingerprint"], first)
        self.wait_for(lambda: self.link_authenticated(edge), "the link back with the new certificate")
        requesters = [c["requester"] for c in site.ctl_json("cert", "list") if c["roles"] == ["dp"]]
        self.assertEqual(len(requesters), 2)
        self.assertTrue(any("certificate" in r for r in requesters), requesters)

    def test_a_join_token_works_once(self):
        site = self.site()
        token = self.token(site)
        first = self.edge(site, token)
        second = self.edge(site, token, expect_certificate=False)
        self.wait_for(lambda: "join token is not valid" in second.read_log(), "the refusal on the second edge")
        self.assertEqual(second.ctl_json("status")["certificate"], "")
        self.assertTrue(first.ctl_json("status")["certificate"])
        self.assertEqual(len([c for c in site.ctl_json("cert", "list") if c["roles"] == ["dp"]]), 1)

    def refusals(self, site):
        expired = site.ctl_json("join-token", "create", "--role", "dp")
        db = sqlite3.connect(str(site.state / "ehttpd.db"))
        db.execute("UPDATE ca_join_tokens SET expires_at = 1 WHERE id = ?", (expired["id"],))
        db.commit()
        db.close()
        wrong_role = site.ctl_json("join-token", "create", "--role", "mp")["token"]
        pinned_names = site.ctl_json("join-token", "create", "--role", "dp", "--name", "elsewhere.example")["token"]
        forged = expired["token"][:-4] + "AAAA"
        return [(expired["token"], "join token is not valid"), (wrong_role, "does not grant the roles"),
                (pinned_names, "does not grant the names"), (forged, "join token is not valid"),
                ("not-a-token", "join token is not valid"), (None, "a join token is needed")]

    def test_refusals_issue_nothing(self):
        site = self.site()
        cases = self.refusals(site)
        # unenrolled links per address are capped (4): three edges at a time
        for batch in (cases[:3], cases[3:]):
            self.check_refusals(site, batch)

    def check_refusals(self, site, cases):
        edges = [(self.edge(site, token, expect_certificate=False), expected) for token, expected in cases]
        for edge, expected in edges:
            self.wait_for(lambda: expected in edge.read_log(), expected)
            self.assertEqual(edge.ctl_json("status")["certificate"], "")
            edge.stop()
        self.assertEqual([c for c in site.ctl_json("cert", "list") if c["kind"] == "role"
                          and c["roles"] != ["ca"]], [])

    def test_a_wrong_root_fingerprint_is_refused(self):
        site = self.site()
        edge = self.edge(site, self.token(site), root_fingerprint="sha256:" + "ab" * 32,
                         expect_certificate=False)
        self.wait_for(lambda: "sha256:" + "ab" * 32 in edge.read_log(), "the refusal naming the pin")
        time.sleep(0.5)
        self.assertEqual(edge.ctl_json("status")["certificate"], "")
        self.assertEqual(site.ctl_json("join-token", "list")[0]["state"], "active")


class RevocationPushTest(EnrolTestCase):
    def test_revocation_reaches_the_edges_and_drops_the_revoked_link(self):
        site = self.site()
        keep = self.edge(site, self.token(site))
        drop = self.edge(site, self.token(site))
        for edge in (keep, drop):
            self.wait_for(lambda: self.link_authenticated(edge), "authenticated links")
        dropped_serial = next(c["serial"] for c in site.ctl_json("cert", "list")
                              if c["fingerprint"] == drop.ctl_json("status")["certificate"])
        started = time.monotonic()
        site.ctl("cert", "revoke", dropped_serial, "--reason", "key-compromise")
        # pushed, not polled: it arrives; how soon is a figure, printed, not a verdict
        self.wait_for(lambda: dropped_serial in (self.edge_bundle(keep) or {}).get("revoked", []),
                      "the revoked serial in the bundle pushed to the edge", timeout=30)
        print(f"\nrevocation reached the other edge in {time.monotonic() - started:.2f} s", flush=True)
        self.wait_for(lambda: not self.link_authenticated(drop), "the revoked edge losing its link", timeout=30)
        time.sleep(1)
        self.assertFalse(self.link_authenticated(drop))
        self.assertTrue(self.link_authenticated(keep))
