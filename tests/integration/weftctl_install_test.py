#!/usr/bin/env python3
"""`weftctl install` against `kubectl kustomize deploy/k8s`: both are made to normal form by
kustomize itself, and must be the same text, so the two-line install and `kubectl apply -k`
create the same objects. Also: deploy/k8s/grafana holds exactly deploy/grafana's dashboards
(kustomize cannot read outside its directory, so they are copies; `ninja weft-k8s-dashboards`
refreshes them), every manifest file in deploy/k8s is named by the kustomization, and bad
options are refused with exit code 2."""
import filecmp
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN_DIR, SOURCE_DIR, IntegrationTest, main, require_tool  # noqa: E402

K8S = os.path.join(SOURCE_DIR, "deploy", "k8s")
GRAFANA = os.path.join(SOURCE_DIR, "deploy", "grafana")


class WeftctlInstallTest(IntegrationTest):
    def weftctl_install(self, *args):
        return subprocess.run([os.path.join(BIN_DIR, "weftctl"), "install", *args],
                              capture_output=True, text=True, timeout=30)

    def kustomize(self, directory):
        # HOME in the test's directory: kubectl keeps a cache there.
        result = subprocess.run(["kubectl", "kustomize", directory], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "HOME": self.tempdir})
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_weftctl_install_prints_what_kubectl_kustomize_builds(self):
        require_tool("kubectl")
        installed = self.weftctl_install()
        self.assertEqual(installed.returncode, 0, installed.stderr)
        self.assertEqual(installed.stderr, "")
        wrapped = os.path.join(self.tempdir, "weftctl-install")
        os.mkdir(wrapped)
        with open(os.path.join(wrapped, "install.yaml"), "w") as f:
            f.write(installed.stdout)
        with open(os.path.join(wrapped, "kustomization.yaml"), "w") as f:
            f.write("resources:\n  - install.yaml\n")
        expected = self.kustomize(K8S)
        self.assertIn("kind: Deployment", expected)
        self.assertIn("name: weft-grafana-dashboards", expected)
        self.assertEqual(self.kustomize(wrapped), expected)

    def test_the_dashboard_copies_are_the_dashboards(self):
        originals = sorted(f for f in os.listdir(GRAFANA) if f.endswith(".json"))
        copies = sorted(f for f in os.listdir(os.path.join(K8S, "grafana")))
        self.assertEqual(copies, originals)
        _, mismatch, errors = filecmp.cmpfiles(GRAFANA, os.path.join(K8S, "grafana"), originals,
                                               shallow=False)
        self.assertEqual(mismatch + errors, [], "deploy/k8s/grafana differs from deploy/grafana: "
                                                "run `ninja weft-k8s-dashboards` in the build "
                                                "directory")
        with open(os.path.join(K8S, "kustomization.yaml")) as f:
            kustomization = f.read()
        for name in originals:
            self.assertIn(f"- grafana/{name}\n", kustomization)

    def test_every_manifest_is_in_the_kustomization(self):
        with open(os.path.join(K8S, "kustomization.yaml")) as f:
            kustomization = f.read()
        for name in sorted(os.listdir(K8S)):
            if name.endswith(".yaml") and name != "kustomization.yaml":
                self.assertIn(f"  - {name}\n", kustomization, f"deploy/k8s/{name} is not installed")
        for name in sorted(os.listdir(os.path.join(K8S, "crds"))):
            self.assertIn(f"  - crds/{name}\n", kustomization, f"deploy/k8s/crds/{name} is not "
                          "installed")

    def test_the_webhook_is_left_to_the_injector(self):
        # weft-injector does not serve admission reviews yet, so no webhook is installed.
        self.assertFalse(os.path.exists(os.path.join(K8S, "webhook.yaml")))
        self.assertNotIn("MutatingWebhookConfiguration", self.weftctl_install().stdout)

    def test_trust_domain_warns_about_the_first_apply_on_stderr_only(self):
        installed = self.weftctl_install("--trust-domain", "example.org")
        self.assertEqual(installed.returncode, 0, installed.stderr)
        self.assertIn("kind: MeshConfig", installed.stdout)
        self.assertIn("ensure CRDs are installed first", installed.stderr)
        self.assertNotIn("ensure CRDs", installed.stdout)

    def test_bad_options_are_usage_errors(self):
        for args, message in ((["--replicas", "0"], "--replicas must be at least 1"),
                              (["--ca-mode", "self"], "--ca-mode must be secret or provided"),
                              (["--trust-domain", "Bad_Domain"], "--trust-domain"),
                              (["--namespace-selector", "=x"], "--namespace-selector"),
                              (["extra"], "unknown command or wrong arguments")):
            result = self.weftctl_install(*args)
            self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
            self.assertIn(message, result.stderr)
            self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    main()
