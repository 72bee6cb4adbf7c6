# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registration with a self-timed proof ({"jti", "iat"}, no nonce): one
request, accepted once within [mp] proof-window, under the very replay
guard, limits and reason codes of token requests; nonce proofs beside it."""
import base64
import json
import os
import time

import jwt

from test_e2e_mp import PROOF_TYP, TOKEN_PROOF_TYP, Client, TokenTestCase, thumbprint


def fresh_jti():
    return base64.urlsafe_b64encode(os.urandom(18)).decode()


def timed_body(client, claims=None, key=None, **overrides):
    """a registration body whose proof is self-timed (or over @claims as given)"""
    if claims is None:
        claims = {"jti": fresh_jti(), "iat": int(time.time())}
    payload = dict({"host_name": client.host_name, "hardware_id": client.hardware_id}, **claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    proof = jwt.encode(payload, key or client.key, algorithm=client.alg, headers={"typ": PROOF_TYP})
    body = {"jwk": client.jwk, "host_name": client.host_name, "hardware_id": client.hardware_id, "proof": proof}
    body.update(overrides)
    return body


class SelfTimedRegistrationTest(TokenTestCase):
    def register_timed(self, host, client, claims=None, **overrides):
        return self.request(host, "https", "/ehttpd/mp/register", timed_body(client, claims, **overrides))

    def test_one_request_accepted_once_and_hostile_proofs_refused(self):
        host = self.site(mp={"proof-window": "30"})
        client = Client(kind="ec")
        body = timed_body(client)
        status, reply = self.request(host, "https", "/ehttpd/mp/register", body)
        self.assertEqual((status, reply["state"], reply["new"]), (201, "pending", True), reply)
        # the same proof again: refused, even though the registration itself is idempotent
        status, refused = self.request(host, "https", "/ehttpd/mp/register", body)
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"), refused)
        self.assertIn("used already", refused["message"])
        # the same jti with a fresh iat: refused too
        jti = jwt.decode(body["proof"], options={"verify_signature": False})["jti"]
        status, refused = self.register_timed(host, client, {"jti": jti, "iat": int(time.time())})
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))

        others = [Client(kind="ec", host_name=f"pc{i}.example") for i in range(2)]
        for claims in ({"jti": fresh_jti(), "iat": int(time.time()) - 31},
                       {"jti": fresh_jti(), "iat": int(time.time()) + 31}):
            status, refused = self.register_timed(host, others[0], claims)
            self.assertEqual((status, refused["error"]), (400, "proof_stale"), claims)
            self.assertIn("nonce", refused["message"])
        now = int(time.time())
        hostile = [
            {"jti": fresh_jti(), "iat": float(now)},
            {"jti": fresh_jti(), "iat": str(now)},
            {"jti": fresh_jti(), "iat": True},
            {"jti": fresh_jti(), "iat": 10 ** 30},
            {"jti": fresh_jti(), "iat": None},                     # missing iat
            {"iat": now},                                          # missing jti
            {"jti": 12345678901234567890, "iat": now},             # typed wrong
            {"jti": [fresh_jti()], "iat": now},
            {"jti": "short", "iat": now},
            {"jti": "x" * 65, "iat": now},                         # over the size limit
            {"jti": "../../etc/passwd-aaaaaaaa", "iat": now},
            {"jti": fresh_jti(), "iat": now, "nonce": self.nonce(host)},   # both
            {"jti": fresh_jti(), "iat": now, "extra": 1},
            {"jti": fresh_jti(), "iat": now, "host_name": "other.example"},  # bound to another request
            {"jti": fresh_jti(), "iat": now, "hardware_id": None},
            {"jti": fresh_jti(), "iat": now, "hardware_id": 7},
        ]
        for claims in hostile:
            status, refused = self.register_timed(host, others[0], claims)
            self.assertEqual((status, refused["error"]), (400, "invalid_proof"), claims)
        # a self-timed proof by another key than the body's
        stranger = Client()
        status, refused = self.register_timed(host, others[0], key=stranger.key)
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))
        # duplicate members in the proof's payload: strict JSON refuses them
        raw = ('{"jti":"%s","jti":"%s","iat":%d,"host_name":"%s","hardware_id":"%s"}'
               % (fresh_jti(), fresh_jti(), now, others[0].host_name, others[0].hardware_id)).encode()
        signed = jwt.api_jws.encode(raw, others[0].key, algorithm="ES256", headers={"typ": PROOF_TYP})
        status, refused = self.request(host, "https", "/ehttpd/mp/register",
                                       dict(timed_body(others[0]), proof=signed))
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"), refused)
        # nothing of the refused ones was stored
        self.assertEqual([c["guid"] for c in self.clients(host)], [reply["client_guid"]])
        # a good self-timed proof after all that, and the nonce way beside it
        status, second = self.register_timed(host, others[0])
        self.assertEqual(status, 201, second)
        status, third = self.register(host, others[1])
        self.assertEqual(status, 201, third)
        self.assertEqual(len(self.clients(host)), 3)
        explained = host.ctl_json("explain", refused["request_id"])
        self.assertEqual((explained["code"], explained["path"]), ("invalid_proof", "/ehttpd/mp/register"))

    def test_ed25519_self_timed_registration_then_self_timed_token(self):
        host = self.site()
        client = Client(kind="okp")
        status, reply = self.register_timed(host, client)
        self.assertEqual(status, 201, reply)
        host.ctl_json("client", "approve", reply["client_guid"])
        proof = jwt.encode({"jti": fresh_jti(), "iat": int(time.time())}, client.key, algorithm=client.alg,
                           headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(client.jwk)})
        status, issued = self.request(host, "https", "/ehttpd/mp/token", {"proof": proof})
        self.assertEqual(status, 200, issued)
        self.assertEqual(issued["client_guid"], reply["client_guid"])

    def test_one_replay_guard_for_tokens_and_registrations(self):
        host = self.site()
        client, guid = self.approved_client(host)
        jti = fresh_jti()
        proof = jwt.encode({"jti": jti, "iat": int(time.time())}, client.key, algorithm=client.alg,
                           headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(client.jwk)})
        status, issued = self.request(host, "https", "/ehttpd/mp/token", {"proof": proof})
        self.assertEqual(status, 200, issued)
        # the token's jti, now in a registration: the same guard refuses it
        newcomer = Client()
        status, refused = self.register_timed(host, newcomer, {"jti": jti, "iat": int(time.time())})
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))
        self.assertIn("used already", refused["message"])
        # and the other way round: a registration's jti, then a token's
        jti = fresh_jti()
        status, reply = self.register_timed(host, newcomer, {"jti": jti, "iat": int(time.time())})
        self.assertEqual(status, 201, reply)
        proof = jwt.encode({"jti": jti, "iat": int(time.time())}, client.key, algorithm=client.alg,
                           headers={"typ": TOKEN_PROOF_TYP, "kid": thumbprint(client.jwk)})
        status, refused = self.request(host, "https", "/ehttpd/mp/token", {"proof": proof})
        self.assertEqual((status, refused["error"]), (400, "invalid_proof"))
        self.assertEqual(len(self.clients(host)), 2)

    def test_a_full_replay_guard_is_busy_and_a_nonce_still_works(self):
        host = self.site(mp={"max-self-timed-proofs": "16"})
        for i in range(16):
            status, reply = self.register_timed(host, Client(host_name=f"pc{i}.example"))
            self.assertEqual(status, 201, reply)
        late = Client(host_name="late.example")
        status, refused = self.register_timed(host, late)
        self.assertEqual((status, refused["error"]), (503, "busy"), refused)
        self.assertEqual(len(self.clients(host)), 16)
        status, reply = self.register(host, late)
        self.assertEqual(status, 201, reply)

    def test_fifty_concurrent_self_timed_uses_of_a_one_time_bulk_token(self):
        host = self.site()
        once = host.ctl_json("bulk-token", "create", "--max-uses", "1")
        bodies = [json.dumps(timed_body(Client(), bulk_token=once["token"])).encode() for _ in range(50)]
        self.race_one_time_bulk_token(host, once["guid"], bodies)
