#!/usr/bin/env python3
"""The mesh root published for the sidecar injector, against the Kubernetes API test server
(tests/tools/kube_api_server.py): with --ca-secret the control plane writes its trust bundle to
ConfigMap weft-system/weft-mesh-root (key root-cert.pem, labelled part-of=weft), creating it
when missing; a root rotation (extra-roots.pem added to the CA Secret, then SIGHUP) reaches it;
a ConfigMap with other content is replaced whole, and one edited by hand is repaired at the
next SIGHUP; API errors (403 for a missing grant, 500) are logged, counted and retried with
backoff until the write succeeds; --mesh-root-configmap chooses another ConfigMap, an empty
value publishes nothing, and a malformed one or one without --ca-secret is a usage error."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, IntegrationTest, free_port, main  # noqa: E402

try:
    import mesh_certs  # python3-cryptography, which only /usr/bin/python3 has
    from kube_api_server import KubeApiServer
except ImportError:
    mesh_certs = None

ADMIN_TOKEN = "control-plane-sa-token"
SECRET = ("weft-system", "weft-ca")
CONFIG_MAP = ("weft-system", "weft-mesh-root")
CONFIG_MAPS = "/api/v1/namespaces/weft-system/configmaps"


class MeshRootTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography (/usr/bin/python3)")
        self.mesh = os.path.join(self.tempdir, "mesh")
        os.mkdir(self.mesh)
        authority = mesh_certs.Authority("kubernetes-test-ca")
        self.kube_ca = self.write("kube-ca.crt", authority.cert_pem())
        cert, key = mesh_certs.write_pair(
            self.tempdir, "kube-apiserver", authority.issue([], ip_addresses=["127.0.0.1"]))
        self.kube_token = self.write("sa-token", ADMIN_TOKEN + "\n")
        self.api = KubeApiServer(cert, key, token=ADMIN_TOKEN)
        self.api.start()
        self.addCleanup(self.api.stop)
        self.root = mesh_certs.Authority("weft mesh root")
        self.api.put_secret(*SECRET, {"ca-cert.pem": self.root.cert_pem(),
                                      "ca-key.pem": self.root.key_pem()})

    # --- helpers -------------------------------------------------------------------------

    def args(self, extra=()):
        return [os.path.join(BIN_DIR, "weft-controlplane"), "--config-dir", self.mesh,
                "--xds-address", f"127.0.0.1:{free_port()}", "--metrics-address", "127.0.0.1:0",
                "--ca-secret", "/".join(SECRET), "--token-review",
                "--kube-api-server", self.api.url, "--kube-token-file", self.kube_token,
                "--kube-ca-file", self.kube_ca, *extra]

    def start_control_plane(self, extra=()):
        process = self.start(self.args(extra), "weft-controlplane")
        process.wait_for(r"weft-controlplane \S+ ready")
        process.metrics_port = int(
            process.wait_for(r"metrics listening on 127\.0\.0\.1:(\d+)").group(1))
        return process

    def metrics(self, process):
        url = f"http://127.0.0.1:{process.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
        return {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
                for line in text.splitlines() if line and not line.startswith("#")}

    def wait_for_config_map(self, expected_data, where=CONFIG_MAP, timeout=20):
        """The ConfigMap once its data is `expected_data` (a generous deadline, not a
        threshold: the publisher retries with backoff)."""
        deadline = time.monotonic() + timeout
        found = None
        while time.monotonic() < deadline:
            found = self.api.get("configmaps", *where)
            if found is not None and found.get("data") == expected_data:
                return found
            time.sleep(0.05)
        self.fail(f"ConfigMap {'/'.join(where)} never held {expected_data}: {found}")

    def wait_for_metric(self, process, name, value, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metrics(process).get(name) == value:
                return
            time.sleep(0.05)
        self.fail(f"{name} never reached {value}: {self.metrics(process).get(name)}")

    # --- tests ---------------------------------------------------------------------------

    def test_publishes_the_root_and_follows_a_rotation(self):
        self.assertIsNone(self.api.get("configmaps", *CONFIG_MAP))
        process = self.start_control_plane()
        published = self.wait_for_config_map({"root-cert.pem": self.root.cert_pem()})
        self.assertEqual(published["metadata"]["labels"]["app.kubernetes.io/part-of"], "weft")
        process.wait_for(r"published the mesh root to ConfigMap weft-system/weft-mesh-root")
        self.wait_for_metric(process, "weft_cp_ca_mesh_root_published", 1)
        self.assertEqual(self.metrics(process)["weft_cp_ca_mesh_root_writes_total"], 1)

        # Step 2 of a root rotation: the next root joins the bundle; the ConfigMap follows.
        next_root = mesh_certs.Authority("weft mesh root 2")
        self.api.put_secret(*SECRET, {"ca-cert.pem": self.root.cert_pem(),
                                      "ca-key.pem": self.root.key_pem(),
                                      "extra-roots.pem": next_root.cert_pem()})
        process.signal(signal.SIGHUP)
        self.wait_for_config_map({"root-cert.pem": self.root.cert_pem() + next_root.cert_pem()})
        self.wait_for_metric(process, "weft_cp_ca_mesh_root_writes_total", 2)

    def test_replaces_a_config_map_with_other_content_and_repairs_an_edit(self):
        self.api.create("configmaps", {
            "metadata": {"name": CONFIG_MAP[1], "namespace": CONFIG_MAP[0],
                         "labels": {"team": "platform"}},
            "data": {"root-cert.pem": "stale", "notes": "left by someone"},
            "binaryData": {"blob": "AAAA"}})
        process = self.start_control_plane()
        expected = {"root-cert.pem": self.root.cert_pem()}
        replaced = self.wait_for_config_map(expected)
        self.assertNotIn("binaryData", replaced)
        self.assertEqual(replaced["metadata"]["labels"],
                         {"team": "platform", "app.kubernetes.io/part-of": "weft",
                          "app.kubernetes.io/component": "ca"})
        self.assertEqual(len(self.api.requests_to(CONFIG_MAPS, "POST")), 0)

        # Edited by hand: SIGHUP reads it again and puts the bundle back.
        self.api.put("configmaps", dict(replaced, data={"root-cert.pem": "edited"}))
        process.signal(signal.SIGHUP)
        self.wait_for_config_map(expected)
        # Unchanged: a SIGHUP reads it and writes nothing.
        writes = len(self.api.requests_to(f"{CONFIG_MAPS}/{CONFIG_MAP[1]}", "PUT"))
        reads = len(self.api.requests_to(f"{CONFIG_MAPS}/{CONFIG_MAP[1]}", "GET"))
        process.signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while len(self.api.requests_to(f"{CONFIG_MAPS}/{CONFIG_MAP[1]}", "GET")) == reads:
            self.assertLess(time.monotonic(), deadline, "no read after SIGHUP")
            time.sleep(0.05)
        self.wait_for_metric(process, "weft_cp_ca_mesh_root_published", 1)
        self.assertEqual(len(self.api.requests_to(f"{CONFIG_MAPS}/{CONFIG_MAP[1]}", "PUT")),
                         writes)

    def test_api_errors_are_logged_counted_and_retried(self):
        # The Role without the ConfigMap grant (403), then an API server in trouble (500).
        self.api.fail_next(1, status=403, path=CONFIG_MAPS)
        self.api.fail_next(1, status=500, path=CONFIG_MAPS)
        process = self.start_control_plane()
        self.wait_for_config_map({"root-cert.pem": self.root.cert_pem()})
        output = process.output()
        self.assertIn("publishing the mesh root to ConfigMap weft-system/weft-mesh-root failed: "
                      "reading it: 403", output)
        self.assertIn("reading it: 500", output)
        self.assertRegex(output, r"retrying in \d+ ms")
        metrics = self.metrics(process)
        self.assertEqual(metrics["weft_cp_ca_mesh_root_publish_failures_total"], 2)
        self.wait_for_metric(process, "weft_cp_ca_mesh_root_published", 1)

    def test_another_config_map_or_none(self):
        process = self.start_control_plane(["--mesh-root-configmap", "mesh/roots"])
        self.wait_for_config_map({"root-cert.pem": self.root.cert_pem()}, ("mesh", "roots"))
        process.signal(signal.SIGTERM)
        self.assertEqual(process.wait(), 0, process.output())

        # An empty value: no publisher, so none of its metrics (registered before "ready").
        process = self.start_control_plane(["--mesh-root-configmap", ""])
        self.assertNotIn("weft_cp_ca_mesh_root_published", self.metrics(process))
        self.assertIsNone(self.api.get("configmaps", *CONFIG_MAP))

    def test_bad_flags_are_usage_errors(self):
        for extra, message in (
                (["--mesh-root-configmap", "weft-mesh-root"], "expected <namespace>/<name>"),
                (["--mesh-root-configmap", "weft-system/Bad_Name"], "expected <namespace>/<name>")):
            result = subprocess.run(self.args(extra), capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn(message, result.stderr)
        result = subprocess.run(
            [os.path.join(BIN_DIR, "weft-controlplane"), "--config-dir", self.mesh,
             "--mesh-root-configmap", "weft-system/weft-mesh-root"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("it needs --ca-secret", result.stderr)


if __name__ == "__main__":
    main()
