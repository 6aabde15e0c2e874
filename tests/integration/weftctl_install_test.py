#!/usr/bin/env python3
"""`weftctl install` against `kubectl kustomize deploy/k8s`: both are made to normal form by
kustomize itself, and must be the same text but for the two objects only weftctl makes
(decision 69), so the two-line install and `kubectl apply -k` create the same objects. Those
two: the sidecar injector's Secret (a new CA and serving certificate, or --injector-tls-dir's)
and its MutatingWebhookConfiguration, whose caBundle verifies the certificate for the
Service's name (openssl verify); `--injector-webhook-only` prints them alone, and kubectl
applies them to the Kubernetes API test server. Also: deploy/k8s/grafana holds exactly
deploy/grafana's dashboards (kustomize cannot read outside its directory, so they are copies;
`ninja weft-k8s-dashboards` refreshes them), every manifest file in deploy/k8s is named by the
kustomization, and bad options are refused with exit code 2."""
import base64
import filecmp
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, SOURCE_DIR, IntegrationTest, main, require_tool  # noqa: E402
from kube_api_server import load_yaml_documents  # noqa: E402  (stdlib only)

try:  # python3-cryptography, which only /usr/bin/python3 (Debian's) has
    import mesh_certs
    from kube_api_server import KubeApiServer
except ImportError:  # a skip, which CI counts as a failure (harness.main)
    mesh_certs = None

# The objects only weftctl prints, by their documents' top-level kind line.
WEFTCTL_ONLY = re.compile(r"(?m)^kind: (Secret|MutatingWebhookConfiguration)$")
INJECTOR_HOST = "weft-injector.weft-system.svc"

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

    def injector_objects(self, output):
        """(Secret, MutatingWebhookConfiguration) of an install's output."""
        by_kind = {d["kind"]: d for d in load_yaml_documents(output)
                   if d["kind"] in ("Secret", "MutatingWebhookConfiguration")}
        return by_kind["Secret"], by_kind["MutatingWebhookConfiguration"]

    def write_injector_files(self, secret, directory):
        """The Secret's ca.crt, tls.crt and tls.key as files, as --injector-tls-dir takes them
        (and as `kubectl get secret -o jsonpath` gives them back)."""
        os.makedirs(directory, exist_ok=True)
        for key in ("ca.crt", "tls.crt", "tls.key"):
            with open(os.path.join(directory, key), "wb") as f:
                f.write(base64.b64decode(secret["data"][key]))
        return directory

    def test_weftctl_install_prints_what_kubectl_kustomize_builds(self):
        require_tool("kubectl")
        installed = self.weftctl_install()
        self.assertEqual(installed.returncode, 0, installed.stderr)
        self.assertEqual(installed.stderr, "")
        # The injector's Secret and webhook aside, which no file of deploy/k8s holds.
        documents = installed.stdout.split("\n---\n")
        kept = [d for d in documents if not WEFTCTL_ONLY.search(d)]
        self.assertEqual(len(documents) - len(kept), 2)
        wrapped = os.path.join(self.tempdir, "weftctl-install")
        os.mkdir(wrapped)
        with open(os.path.join(wrapped, "install.yaml"), "w") as f:
            f.write("\n---\n".join(kept) + "\n")
        with open(os.path.join(wrapped, "kustomization.yaml"), "w") as f:
            f.write("resources:\n  - install.yaml\n")
        expected = self.kustomize(K8S)
        self.assertIn("kind: Deployment", expected)
        self.assertIn("name: weft-grafana-dashboards", expected)
        self.assertIn("name: weft-injector", expected)
        # `kubectl apply -k deploy/k8s` installs no webhook, so none that cannot work.
        self.assertIsNone(WEFTCTL_ONLY.search(expected))
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

    def test_the_ca_bundle_verifies_the_injector_certificate(self):
        require_tool("openssl")
        installed = self.weftctl_install()
        self.assertEqual(installed.returncode, 0, installed.stderr)
        secret, webhook = self.injector_objects(installed.stdout)
        self.assertEqual(secret["metadata"], {"name": "weft-injector-tls",
                                              "namespace": "weft-system", "labels": {
                                                  "app.kubernetes.io/part-of": "weft",
                                                  "app.kubernetes.io/component":
                                                      "sidecar-injector"}})
        self.assertEqual(secret["type"], "kubernetes.io/tls")
        hook = webhook["webhooks"][0]
        self.assertEqual(hook["clientConfig"]["service"], {
            "namespace": "weft-system", "name": "weft-injector", "path": "/inject", "port": 443})
        files = self.write_injector_files(secret, os.path.join(self.tempdir, "tls"))
        bundle = self.write("ca-bundle.pem",
                            base64.b64decode(hook["clientConfig"]["caBundle"]).decode())
        for host in (INJECTOR_HOST, INJECTOR_HOST + ".cluster.local"):
            verified = subprocess.run(
                ["openssl", "verify", "-CAfile", bundle, "-purpose", "sslserver",
                 "-verify_hostname", host, os.path.join(files, "tls.crt")],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        wrong = subprocess.run(
            ["openssl", "verify", "-CAfile", bundle, "-verify_hostname",
             "weft-injector.default.svc", os.path.join(files, "tls.crt")],
            capture_output=True, text=True, timeout=30)
        self.assertNotEqual(wrong.returncode, 0, wrong.stdout)
        # The key is the certificate's.
        public = [subprocess.run(command, capture_output=True, text=True, timeout=30,
                                 check=True).stdout
                  for command in (["openssl", "pkey", "-in", os.path.join(files, "tls.key"),
                                   "-pubout"],
                                  ["openssl", "x509", "-in", os.path.join(files, "tls.crt"),
                                   "-noout", "-pubkey"])]
        self.assertEqual(public[0], public[1])
        # Every run without --injector-tls-dir makes a new CA.
        _, again = self.injector_objects(self.weftctl_install().stdout)
        self.assertNotEqual(again["webhooks"][0]["clientConfig"]["caBundle"],
                            hook["clientConfig"]["caBundle"])

    def test_injector_tls_dir_is_used_as_given(self):
        first = self.weftctl_install()
        secret, _ = self.injector_objects(first.stdout)
        files = self.write_injector_files(secret, os.path.join(self.tempdir, "kept"))
        reused = self.weftctl_install("--injector-tls-dir", files)
        self.assertEqual(reused.returncode, 0, reused.stderr)
        secret_again, webhook = self.injector_objects(reused.stdout)
        self.assertEqual(secret_again["data"], secret["data"])
        self.assertEqual(webhook["webhooks"][0]["clientConfig"]["caBundle"],
                         secret["data"]["ca.crt"])
        self.assertIn(f"--injector-tls-dir {files}", reused.stdout.splitlines()[0])
        # Another installation's key with this certificate is refused, naming the problem.
        other, _ = self.injector_objects(self.weftctl_install().stdout)
        with open(os.path.join(files, "tls.key"), "wb") as f:
            f.write(base64.b64decode(other["data"]["tls.key"]))
        refused = self.weftctl_install("--injector-tls-dir", files)
        self.assertEqual(refused.returncode, 2, refused.stdout)
        self.assertIn(f"--injector-tls-dir {files}: tls.key is not the key of tls.crt",
                      refused.stderr)
        self.assertEqual(refused.stdout, "")

    def test_webhook_only_output_is_accepted_by_kubectl(self):
        require_tool("kubectl")
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography (/usr/bin/python3)")
        installed = self.weftctl_install("--injector-webhook-only")
        self.assertEqual(installed.returncode, 0, installed.stderr)
        self.assertEqual(len(load_yaml_documents(installed.stdout)), 2)
        secret, webhook = self.injector_objects(installed.stdout)
        authority = mesh_certs.Authority("kubernetes-test-ca")
        kube_ca = self.write("kube-ca.crt", authority.cert_pem())
        cert, key = mesh_certs.write_pair(
            self.tempdir, "kube-apiserver", authority.issue([], ip_addresses=["127.0.0.1"]))
        api = KubeApiServer(cert, key, token="admin-token").start()
        self.addCleanup(api.stop)
        env = dict(os.environ, HOME=self.tempdir)
        env.pop("KUBECONFIG", None)
        applied = subprocess.run(
            ["kubectl", "--server", api.url, "--certificate-authority", kube_ca,
             "--token", "admin-token", "apply", "-f", "-"], input=installed.stdout,
            capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(applied.returncode, 0, applied.stderr)
        self.assertIn("secret/weft-injector-tls created", applied.stdout)
        self.assertIn("mutatingwebhookconfiguration.admissionregistration.k8s.io/"
                      "weft-sidecar-injector created", applied.stdout)
        stored = api.get("mutatingwebhookconfigurations", None, "weft-sidecar-injector")
        self.assertEqual(stored["webhooks"][0]["clientConfig"]["caBundle"],
                         webhook["webhooks"][0]["clientConfig"]["caBundle"])
        self.assertEqual(api.get_secret("weft-system", "weft-injector-tls")["type"],
                         "kubernetes.io/tls")
        self.assertEqual(api.secret_data("weft-system", "weft-injector-tls")["tls.crt"],
                         base64.b64decode(secret["data"]["tls.crt"]))
        # The files back from the cluster as docs/operations.md shows, for the next install.
        kept = os.path.join(self.tempdir, "injector-tls")
        os.mkdir(kept, 0o700)
        script = (f'for f in ca.crt tls.crt tls.key; do kubectl --server {api.url} '
                  f'--certificate-authority {kube_ca} --token admin-token -n weft-system get '
                  f'secret weft-injector-tls -o "jsonpath={{.data.${{f//./\\\\.}}}}" '
                  f'| base64 -d > {kept}/$f; done')
        fetched = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                 timeout=60, env=env)
        self.assertEqual(fetched.returncode, 0, fetched.stderr)
        again = self.weftctl_install("--injector-webhook-only", "--injector-tls-dir", kept)
        self.assertEqual(again.returncode, 0, again.stderr)
        _, same = self.injector_objects(again.stdout)
        self.assertEqual(same["webhooks"][0]["clientConfig"]["caBundle"],
                         webhook["webhooks"][0]["clientConfig"]["caBundle"])

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
                              (["--injector-webhook-only", "--replicas", "3"],
                               "--replicas changes objects that --injector-webhook-only"),
                              (["--injector-tls-dir", "/nonexistent"],
                               "--injector-tls-dir /nonexistent/ca.crt: cannot be read"),
                              (["extra"], "unknown command or wrong arguments")):
            result = self.weftctl_install(*args)
            self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
            self.assertIn(message, result.stderr)
            self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    main()
