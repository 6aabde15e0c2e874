#!/usr/bin/env python3
"""The README's main command, as a new user runs it: `weftctl demo`. As root, the namespace
demo must finish every step of its walkthrough with the outcome it announces and leave no
namespace behind; without root it must say so and run the loopback variant to the end.

Needs root (the namespace demo; the check without root drops to uid 65534 with setpriv);
skips (77) otherwise.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "scripts", "demo"))
import netns_mesh  # noqa: E402

WEFTCTL = os.path.join(harness.BIN_DIR, "weftctl")


def weftctl_demo(*args, prefix=(), timeout=300):
    return subprocess.run([*prefix, WEFTCTL, "demo", *args], capture_output=True, text=True,
                          timeout=timeout,
                          env={**os.environ, "WEFT_DEMO_DIR": os.path.join(
                              harness.SOURCE_DIR, "scripts", "demo")})


class DemoTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("the namespace demo needs root")

    def test_the_namespace_demo_walks_through_every_step_and_cleans_up(self):
        result = weftctl_demo("--hold", "no")
        out = result.stdout
        self.assertEqual(result.returncode, 0, out + result.stderr)
        # Its pid, which names its namespaces, is the interpreter weftctl handed over to.
        pid = re.search(r"weft-demo-(\d+)-frontend", out)
        self.assertIsNotNone(pid, out)
        self.assertEqual(netns_mesh.namespaces_of("weft-demo", pid.group(1)), [])
        self.assertIn("removed", out.splitlines()[-1])
        for step in range(1, 10):
            self.assertIn(f"[demo] {step}. ", out)
        # The identities and the capture rules.
        self.assertIn("spiffe://cluster.local/ns/demo/sa/catalog", out)
        self.assertIn("-t nat -A OUTPUT -p tcp -j WEFT_OUTPUT", out)
        # The live view lists the services.
        self.assertRegex(out, r"catalog\.demo")
        # mTLS: catalog saw the frontend's identity; the wire held TLS and no plaintext.
        self.assertRegex(out, r"saw its caller as: .*URI=spiffe://cluster.local/ns/demo/sa/frontend")
        wire = re.search(r"(\d+) begin a TLS record; plaintext 'GET /items' seen (\d+) times", out)
        self.assertIsNotNone(wire, out)
        self.assertGreater(int(wire.group(1)), 0)
        self.assertEqual(wire.group(2), "0")
        # STRICT refused the client; PERMISSIVE frontend answered it.
        self.assertRegex(out, r"client -> catalog-v2 \S+ in plaintext: refused")
        self.assertIn("client -> frontend:8080: 200", out)
        self.assertRegex(out, r"client -> frontend over IPv6 \[fd00:233::a\]:8080: 200")
        # The canary edit: v2 answers more after it.
        self.assertRegex(out, r"after: .*200 v2")
        # Retries: with them, nothing but 200s.
        with_retries = re.search(r"with `retries: .*`: \d+ requests in \d+ s -> (.*)", out)
        self.assertIsNotNone(with_retries, out)
        self.assertNotRegex(with_retries.group(1), r"\b50[23]\b")
        # Authorization denied ratings by identity.
        self.assertRegex(out, r"ratings \(sa ratings\) -> catalog: 403 x-weft-reason: authz_denied")
        # The circuit breaker ejected the broken pod.
        self.assertIn("ejected catalog-v1-1: yes", out)
        self.assertRegex(out, r"health_flags::ejected")

    def test_without_root_it_says_so_and_hands_over_to_the_loopback_variant(self):
        # weftctl and stand-ins for the rest, in a directory any user can reach (the checkout
        # may not be), run as nobody: the loopback script says what it was given.
        root = tempfile.mkdtemp(prefix="weft-demo-test-")
        self.addCleanup(shutil.rmtree, root, True)
        os.chmod(root, 0o755)
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "demo"))
        shutil.copy(WEFTCTL, os.path.join(root, "bin", "weftctl"))
        for name in ("weft-proxy", "weft-controlplane"):
            open(os.path.join(root, "bin", name), "w").close()
        with open(os.path.join(root, "demo", "loopback.sh"), "w") as f:
            f.write('echo "loopback variant as uid $(id -u), binaries in $WEFT_DEMO_BIN_DIR"\n')
        for path in ("bin", "demo"):
            os.chmod(os.path.join(root, path), 0o755)
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             os.path.join(root, "bin", "weftctl"), "demo", "--demo-dir",
             os.path.join(root, "demo")], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("needs root; running the loopback variant instead", result.stdout)
        self.assertIn(f"loopback variant as uid 65534, binaries in {root}/bin", result.stdout)

    def test_the_loopback_variant_runs_to_the_end(self):
        result = weftctl_demo("--loopback")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("[demo] --loopback", result.stdout)
        self.assertIn("[demo] done", result.stdout)

    def test_a_missing_demo_directory_is_named(self):
        result = weftctl_demo("--demo-dir", "/nonexistent/demo")
        self.assertEqual(result.returncode, 2)
        self.assertIn("/nonexistent/demo/mesh_demo.py does not exist", result.stderr)
        bad = weftctl_demo("--hold", "maybe")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--hold must be auto, yes or no", bad.stderr)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: the namespace demo needs root", file=sys.stderr)
        sys.exit(77)
    unittest.main()
