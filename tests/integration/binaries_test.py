#!/usr/bin/env python3
"""Every shipped binary answers --help and --version, and rejects unknown flags."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

BINARIES = ["weft-proxy", "weft-controlplane", "weft-injector", "weftctl"]


class BinariesTest(harness.IntegrationTest):
    def run_binary(self, name, *args):
        return subprocess.run([os.path.join(harness.BIN_DIR, name), *args],
                              capture_output=True, text=True, timeout=30)

    def test_help(self):
        for name in BINARIES:
            result = self.run_binary(name, "--help")
            self.assertEqual(result.returncode, 0, name)
            self.assertIn(f"Usage: {name}", result.stdout)
            self.assertIn("--version", result.stdout)

    def test_version(self):
        for name in BINARIES:
            result = self.run_binary(name, "--version")
            self.assertEqual(result.returncode, 0, name)
            self.assertRegex(result.stdout, rf"^{name} \d+\.\d+\.\d+ \(commit [^,]+, \w+\)\n$")

    def test_unknown_flag_is_a_usage_error(self):
        for name in BINARIES:
            result = self.run_binary(name, "--no-such-flag")
            self.assertEqual(result.returncode, 2, name)
            self.assertIn("--no-such-flag", result.stderr)
            self.assertIn(f"Try '{name} --help'", result.stderr)


if __name__ == "__main__":
    harness.main()
