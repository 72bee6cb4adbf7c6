# Copyright 2026 The ehttpd authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The plugin loader refuses unsafe or foreign modules; the rest keep serving."""
import http.client
import os
import pathlib
import shutil
import unittest

from harness import PLUGIN_DIR, HostTestCase


def plugin_file(directory, name):
    return pathlib.Path(directory) / f"ehttpd-plugin-{name}.so"


class LoaderTest(HostTestCase):
    def make_plugin_dir(self):
        directory = pathlib.Path(self.workdir) / "plugins"
        directory.mkdir()
        for name in ("test-echo", "test-fail", "test-bad-abi", "test-no-symbol"):
            shutil.copy(plugin_file(PLUGIN_DIR, name), plugin_file(directory, name))
        # world-writable copy of a good plugin
        shutil.copy(plugin_file(PLUGIN_DIR, "test-slow"), plugin_file(directory, "test-slow"))
        os.chmod(plugin_file(directory, "test-slow"), 0o666)
        # a symlink and a directory where modules should be
        os.symlink(plugin_file(directory, "test-echo"), plugin_file(directory, "linked"))
        plugin_file(directory, "dir").mkdir()
        # present but not enabled
        shutil.copy(plugin_file(PLUGIN_DIR, "test-echo"), plugin_file(directory, "spare"))
        return directory

    def test_refusals_are_reported_and_others_serve(self):
        directory = self.make_plugin_dir()
        host = self.host(plugin_dir=directory,
                         plugins=("test-echo", "test-fail", "test-bad-abi", "test-no-symbol",
                                  "test-slow", "linked", "dir", "missing", "../escape")).start()
        states = host.plugin_states()
        self.assertEqual(states["test-echo"], ("running", None))
        self.assertEqual(states["test-fail"], ("failed", "test-fail fails on purpose"))
        self.assertEqual(states["test-bad-abi"][0], "failed")
        self.assertIn("built for another plugin ABI", states["test-bad-abi"][1])
        self.assertIn("no eh_plugin_describe symbol", states["test-no-symbol"][1])
        self.assertIn("writable by group or others", states["test-slow"][1])
        self.assertEqual(states["linked"][0], "failed")
        self.assertIn("Too many levels of symbolic links", states["linked"][1])
        self.assertIn("not a regular file", states["dir"][1])
        self.assertIn("No such file", states["missing"][1])
        self.assertIn("lower-case letters", states["../escape"][1])
        self.assertEqual(states["spare"], ("disabled", None))

        h, p = host.address("http")
        conn = http.client.HTTPConnection(h, p, timeout=10)
        conn.request("GET", "/test/fail")
        response = conn.getresponse()
        self.assertEqual(response.status, 503)
        self.assertIn("test-fail role is failed", response.read().decode())
        conn.request("GET", "/test/echo")
        self.assertEqual(conn.getresponse().status, 200)

    def test_test_plugins_need_the_flag(self):
        host = self.host(allow_test=False).start()
        state, error = host.plugin_states()["test-echo"]
        self.assertEqual(state, "failed")
        self.assertIn("--allow-test-plugins", error)

    def test_slow_plugin_does_not_hold_up_others(self):
        host = self.host(plugins=("test-echo", "test-slow"), groups={"test-slow": {"delay-ms": "800"}}).start()
        states = host.plugin_states()
        self.assertEqual(states["test-slow"][0], "running")
        self.assertIn("plugin test-echo is running", host.read_log())

    def test_plugin_start_timeout(self):
        host = self.host(plugins=("test-slow",), core={"plugin-start-timeout": "1"},
                         groups={"test-slow": {"delay-ms": "60000"}}).start()
        self.assertEqual(host.plugin_states()["test-slow"], ("failed", "did not finish starting in time"))

    def test_wrong_plugin_config_type_fails_only_that_plugin(self):
        host = self.host(plugins=("test-echo", "test-slow"), groups={"test-slow": {"delay-ms": "soon"}}).start()
        state, error = host.plugin_states()["test-slow"]
        self.assertEqual(state, "failed")
        self.assertIn("[test-slow] delay-ms", error)
        self.assertEqual(host.plugin_states()["test-echo"][0], "running")

    def test_wrong_core_config_is_a_startup_error(self):
        host = self.host(core={"max-connections": "many"})
        host.start(expect_ready=False)
        self.assertEqual(host.proc.wait(20), 1)
        self.assertIn(f"{host.config}: [core] max-connections", host.read_log())


if __name__ == "__main__":
    unittest.main()
