# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus admin service: status for anyone, admin methods for root only."""
import grp
import pwd
import unittest

from harness import EHTTPCTL, HostTestCase, run

NOBODY = 65534


class DbusTest(HostTestCase):
    def test_status_is_readable_by_anyone(self):
        host = self.host().start()
        result = host.ctl("--json", "status", user=NOBODY)
        self.assertEqual(result.returncode, 0)
        self.assertIn('"test-echo"', result.stdout)
        self.assertIn("called by uid 65534", host.read_log())

    def test_admin_method_refused_for_non_root(self):
        host = self.host().start()
        result = host.ctl("reload", user=NOBODY, check=False)
        self.assertEqual(result.returncode, 4)
        self.assertIn("permission denied", result.stderr)
        self.assertIn("Reload refused for uid 65534", host.read_log())
        self.assertNotIn("configuration reloaded", host.read_log())
        # root may
        self.assertEqual(host.ctl("reload").returncode, 0)

    def test_admin_group_members_may(self):
        group = grp.getgrgid(pwd.getpwuid(NOBODY).pw_gid).gr_name
        host = self.host(core={"admin-group": group}).start()
        self.assertEqual(host.ctl("reload", user=NOBODY, check=False).returncode, 0)

    def test_plugin_interfaces_are_guarded_by_the_core(self):
        host = self.host().start()
        call = ["gdbus", "call", "--session", "--dest", "org.ehttpd", "--object-path",
                "/org/ehttpd/Plugin/test_echo", "--method"]
        nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        result = run(nobody + call + ["org.ehttpd.TestEcho.Echo", "'hi'"], check=False, env=host.env())
        self.assertEqual(result.stdout.strip(), "('hi',)", result.stderr)
        result = run(nobody + call + ["org.ehttpd.TestEcho.CountPings"], check=False, env=host.env())
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("org.ehttpd.Error.PermissionDenied", result.stderr)
        result = run(call + ["org.ehttpd.TestEcho.CountPings"], env=host.env())
        self.assertEqual(result.stdout.strip(), "(uint32 0,)")
        self.assertIn("D-Bus org.ehttpd.TestEcho.CountPings called by uid 0", host.read_log())

    def test_clear_message_when_daemon_is_not_running(self):
        env = {"DBUS_SESSION_BUS_ADDRESS": self.bus.address, "PATH": "/usr/bin:/bin"}
        result = run([str(EHTTPCTL), "--session", "status"], check=False, env=env)
        self.assertEqual(result.returncode, 3)
        self.assertIn("ehttpd is not running", result.stderr)

    def test_unknown_command_is_usage_error(self):
        result = run([str(EHTTPCTL), "frobnicate"], check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("commands:", result.stderr)

    def test_hostile_calls_get_errors_not_crashes(self):
        host = self.host().start()
        env = host.env()
        # wrong signature, unknown method, unknown interface: each refused by the bus layer
        for args in (["org.ehttpd.Daemon.GetStatus", '"extra"'],
                     ["org.ehttpd.Daemon.NoSuchMethod"],
                     ["org.ehttpd.Nope.GetStatus"]):
            result = run(["gdbus", "call", "--session", "--dest", "org.ehttpd", "--object-path",
                          "/org/ehttpd", "--method", *args], check=False, env=env)
            self.assertNotEqual(result.returncode, 0)
        self.assertEqual(host.ctl_json("status")["plugins"][0]["state"], "running")


if __name__ == "__main__":
    unittest.main()
