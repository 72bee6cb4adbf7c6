# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kill -9 of the CA while it issues: the record stays whole.

A client issues certificates in a loop; the site host is killed with
SIGKILL at a random moment, restarted, and the loop goes on, 100 times.
Afterwards the database passes PRAGMA integrity_check, no serial appears
twice, and every certificate a client received has its row, issued.
"""
import json
import random
import signal
import sqlite3
import subprocess
import threading
import time

from harness import EHTTPCTL
from test_e2e_ca import CaTestCase

TRIALS = 100


class CrashTest(CaTestCase):
    def issue_until(self, host, csr, stop, received):
        cmd = [str(EHTTPCTL), "--session", "--json", "cert", "issue", "--csr", str(csr),
               "--role", "dp", "--name", "edge.example"]
        while not stop.is_set():
            result = subprocess.run(cmd, capture_output=True, text=True, env=host.env())
            if result.returncode == 0:
                received.append(json.loads(result.stdout))

    def test_kill_9_during_issuance(self):
        host = self.site()
        csr = self.csr()
        received = []
        rng = random.Random(1234)
        for _ in range(TRIALS):
            stop = threading.Event()
            client = threading.Thread(target=self.issue_until, args=(host, csr, stop, received))
            client.start()
            time.sleep(rng.uniform(0.02, 0.25))
            host.stop(signal.SIGKILL)
            stop.set()
            client.join()
            host.start()
        host.stop()
        self.assertGreater(len(received), TRIALS)
        db = sqlite3.connect(str(host.state / "ehttpd.db"))
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
        rows = dict(db.execute("SELECT serial, state FROM ca_certificates").fetchall())
        serials = [r[0] for r in db.execute("SELECT serial FROM ca_certificates")]
        self.assertEqual(len(serials), len(set(serials)))
        self.assertNotIn("reserved", rows.values())
        for certificate in received:
            self.assertEqual(rows.get(certificate["serial"]), "issued", certificate["serial"])
        got = {c["serial"] for c in received}
        self.assertEqual(len(got), len(received))
        db.close()
