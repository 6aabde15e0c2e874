#!/usr/bin/env python3
"""bench/xds_scale.py and weft-xds-sim keep working: a tiny mesh (5 proxies, 5 services, 10
endpoints, 2 changes) goes through every phase of the benchmark against the real control plane
and a real weft-proxy. Behaviour only: every proxy syncs, every change reaches every proxy
that subscribes to it, the restart is survived. No timing is asserted."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SCRIPT = os.path.join(harness.SOURCE_DIR, "bench", "xds_scale.py")
TIMEOUT = 150  # below ctest's 180, so the driver can still clean up after a hang


class XdsSimTest(harness.IntegrationTest):
    def run_benchmark(self, *args):
        summary = os.path.join(self.tempdir, "summary.json")
        log_path = os.path.join(self.tempdir, "xds_scale.log")
        with open(log_path, "w") as log:
            driver = subprocess.Popen(
                [sys.executable, SCRIPT, "--bin-dir", harness.BIN_DIR, "--json", summary, *args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                driver.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                # SIGTERM lets the driver stop the processes it started.
                driver.send_signal(signal.SIGTERM)
                driver.wait(timeout=30)
        with open(log_path) as f:
            output = f.read()
        self.assertEqual(driver.returncode, 0, output)
        with open(summary) as f:
            return json.load(f), output

    def test_tiny_mesh_syncs_sees_every_change_and_resyncs(self):
        result, output = self.run_benchmark(
            "--proxies", "5", "--services", "5", "--endpoints", "10", "--changes", "2",
            "--change-gap", "0.2", "--settle", "0.2", "--sync-timeout", "60",
            "--change-timeout", "30")
        self.assertEqual(result["shape"]["proxies"], 5)
        self.assertEqual(result["initial_sync"]["synced"], 5, output)
        changes = result["changes"]
        self.assertEqual(changes["count"], 2, output)
        for change in changes["all"]:
            # One namespace: every proxy subscribes to every service's endpoints.
            self.assertEqual(change["proxies"], 5, output)
            self.assertGreaterEqual(change["acked_ms"], change["first_ms"])
        self.assertIn("seconds", result["restart"])
        self.assertEqual(result["simulator"]["nacks"], 0, output)
        self.assertGreaterEqual(result["simulator"]["streams"], 10, output)  # before and after
        proxy = result["real_proxy"]
        self.assertFalse(proxy["version"].startswith("static-"), proxy)
        self.assertGreater(proxy["clusters"], 0, proxy)
        self.assertIn("command: bench/xds_scale.py", output)


if __name__ == "__main__":
    harness.main()
