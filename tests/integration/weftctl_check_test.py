#!/usr/bin/env python3
"""`weftctl check` against the Kubernetes API test server (tests/tools/kube_api_server.py):
an empty cluster FAILs the CRDs and the control plane (exit 1); a fully installed one (the
CRDs of deploy/k8s/crds, Ready control plane pods, a freshly renewed Lease, a valid CA Secret,
the mesh root ConfigMap holding its root, the sidecar injector's webhook, Secret, Service and
Ready Deployment as `weftctl install` and deploy/k8s/injector.yaml make them) passes (exit 0),
and so does a cluster set up from `weftctl install`'s own output with a real weft-controlplane
started with the Deployment's arguments, which publishes the mesh root (the test server stores
the kinds it serves; RBAC and budgets it does not serve, and the test stands in for the
Deployment controller and the kubelet); without the webhook, sidecar injection is a WARN; with
it, an injector without Ready replicas, a webhook whose Service is gone or whose caBundle does
not verify the injector's certificate is a FAIL, a mesh root without the CA's root a WARN; a
CA root or injector CA that expires within 30 days is a WARN, an expired one or a stale Lease
a FAIL; an unreachable server is a FAIL with the reason. The connection comes from --server/--token-file/--ca-file,
or from a kubeconfig with inline token, client certificate and CA data; a kubeconfig user with
an exec plugin is refused with a message saying so."""
import base64
import datetime
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, SOURCE_DIR, IntegrationTest, free_port, main  # noqa: E402

try:  # python3-cryptography, which only /usr/bin/python3 (Debian's) has
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import mesh_certs
    from kube_api_server import KubeApiServer, load_yaml_documents
except ImportError:  # a skip (setUp), which CI counts as a failure (harness.main)
    mesh_certs = None

ADMIN_TOKEN = "weftctl-check-admin-token"
CRDS = os.path.join(SOURCE_DIR, "deploy", "k8s", "crds")
INJECTOR = os.path.join(SOURCE_DIR, "deploy", "k8s", "injector.yaml")
NAMESPACE = "weft-system"
LABELS = {"app.kubernetes.io/name": "weft-controlplane", "app.kubernetes.io/part-of": "weft"}
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
HALF_DAY = datetime.timedelta(hours=12)  # keeps "in N days" away from a day's boundary


def self_signed_root(not_before, not_after):
    """A CA root as the control plane generates one (ECDSA P-256, CA:TRUE), valid as asked;
    returns (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Weft"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Weft mesh root CA test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def micro_time(moment):
    """metav1.MicroTime: RFC 3339 with exactly six fractional digits."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WeftctlCheckTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography (/usr/bin/python3)")
        authority = mesh_certs.Authority("kubernetes-test-ca")
        self.kube_ca = self.write("kube-ca.crt", authority.cert_pem())
        cert, key = mesh_certs.write_pair(
            self.tempdir, "kube-apiserver", authority.issue([], ip_addresses=["127.0.0.1"]))
        self.token = self.write("token", ADMIN_TOKEN + "\n")
        self.api = KubeApiServer(cert, key, token=ADMIN_TOKEN)
        self.api.start()
        self.addCleanup(self.api.stop)

    # --- helpers ---------------------------------------------------------------------------

    def check(self, *args, connection=None):
        """Runs weftctl check; returns (exit code, {check name: (status, line)}, output)."""
        if connection is None:
            connection = ["--server", self.api.url, "--token-file", self.token,
                          "--ca-file", self.kube_ca]
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        env["HOME"] = self.tempdir  # no ~/.kube/config of the machine's
        result = subprocess.run([os.path.join(BIN_DIR, "weftctl"), "check", *connection, *args],
                                capture_output=True, text=True, timeout=60, env=env)
        lines = {}
        for line in result.stdout.splitlines():
            status, _, rest = line.partition("  ")
            if status.strip() in ("OK", "WARN", "FAIL"):
                lines[rest.strip().split(":", 1)[0]] = (status.strip(), line)
        return result.returncode, lines, result.stdout + result.stderr

    def assert_status(self, lines, name, status, *fragments):
        self.assertIn(name, lines, lines)
        self.assertEqual(lines[name][0], status, lines[name][1])
        for fragment in fragments:
            self.assertIn(fragment, lines[name][1])

    def install_crds(self):
        names = self.api.load_crds(CRDS)
        self.assertEqual(len(names), 6, names)

    def add_pod(self, name, ready=True):
        self.api.create("pods", {
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "controlplane", "image": "weft-controlplane:0.1.0"}]},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": [] if ready else [
                    {"name": "controlplane", "ready": False, "restartCount": 3,
                     "image": "weft-controlplane:0.1.0", "imageID": "",
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}})

    def put_lease(self, renewed, holder="weft-controlplane-0", duration=600):
        """A Lease renewed at `renewed`; the long default duration keeps a fresh one fresh
        however slowly the machine runs the check."""
        self.api.put("leases", {
            "metadata": {"name": "weft-controlplane", "namespace": NAMESPACE},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration,
                     "acquireTime": micro_time(renewed), "renewTime": micro_time(renewed),
                     "leaseTransitions": 0}})

    def put_ca(self, not_before=NOW - DAY, not_after=NOW + 3650 * DAY):
        cert, key = self_signed_root(not_before, not_after)
        self.api.put_secret(NAMESPACE, "weft-ca", {"ca-cert.pem": cert, "ca-key.pem": key},
                            labels={"app.kubernetes.io/part-of": "weft"})
        return cert

    def put_mesh_root(self, pem):
        self.api.put("configmaps", {"metadata": {"name": "weft-mesh-root",
                                                 "namespace": NAMESPACE},
                                    "data": {"root-cert.pem": pem}})

    def install_injector(self, ready=2):
        """What `weftctl install --injector-webhook-only` prints and deploy/k8s/injector.yaml
        holds, with the Deployment's status as its controller would write it."""
        printed = subprocess.run([os.path.join(BIN_DIR, "weftctl"), "install",
                                  "--injector-webhook-only"], capture_output=True, text=True,
                                 timeout=30)
        self.assertEqual(printed.returncode, 0, printed.stderr)
        with open(INJECTOR) as f:
            documents = load_yaml_documents(printed.stdout) + load_yaml_documents(f.read())
        for document in documents:
            if document["kind"] in ("Secret", "MutatingWebhookConfiguration", "Service",
                                    "Deployment"):
                self.api.put(document["kind"], document)
        self.set_injector_ready(ready)
        return documents

    def set_injector_ready(self, ready):
        deployment = self.api.get("deployments", NAMESPACE, "weft-injector")
        self.api.update_status("deployments", dict(deployment, status={
            "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
            "readyReplicas": ready, "availableReplicas": ready}))

    def install_everything(self, injector=True):
        self.api.create("namespaces", {"metadata": {"name": NAMESPACE}})
        self.install_crds()
        self.add_pod("weft-controlplane-0")
        self.add_pod("weft-controlplane-1")
        self.put_lease(datetime.datetime.now(datetime.timezone.utc))
        self.put_mesh_root(self.put_ca())
        if injector:
            self.install_injector()

    # --- tests -----------------------------------------------------------------------------

    def test_empty_cluster_fails_crds_and_control_plane(self):
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "Kubernetes API", "OK", self.api.url, "v1.32")
        self.assert_status(lines, "CRDs", "FAIL", "6 of 6 missing", "trafficroutes.weft.dev",
                           "weftctl install | kubectl apply -f -")
        self.assert_status(lines, "control plane pods", "FAIL", "no pod labelled "
                           "app.kubernetes.io/name=weft-controlplane in weft-system")
        self.assert_status(lines, "leader Lease", "FAIL", "no Lease weft-system/weft-controlplane")
        self.assert_status(lines, "CA Secret", "FAIL", "weft-system/weft-ca does not exist")
        self.assert_status(lines, "mesh root", "WARN", "weft-system/weft-mesh-root does not exist")
        self.assert_status(lines, "sidecar injection", "WARN", "sidecar injection not installed")
        self.assert_status(lines, "sidecar injector", "WARN",
                           "no Deployment weft-system/weft-injector")
        self.assertEqual(len(lines), 8, output)
        self.assertIn("4 checks failed, 3 warnings", output)

    def test_fully_installed_cluster_passes(self):
        self.install_everything()
        self.api.request_log.clear()
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "CRDs", "OK", "all 6 weft.dev CRDs")
        self.assert_status(lines, "control plane pods", "OK", "2 of 2 Ready")
        self.assert_status(lines, "leader Lease", "OK", "held by weft-controlplane-0")
        self.assert_status(lines, "CA Secret", "OK", "root certificate (ca-cert.pem) valid until")
        self.assert_status(lines, "mesh root", "OK", "1 root certificate, the CA's among them")
        self.assert_status(lines, "sidecar injection", "OK",
                           "calls Service weft-system/weft-injector:443/inject",
                           "the injector's certificate (Secret weft-system/weft-injector-tls) "
                           "valid until")
        self.assert_status(lines, "sidecar injector", "OK", "2 of 2 replicas Ready")
        self.assertIn("all 8 checks passed", output)
        # Read-only: nothing but GETs reached the server.
        self.assertEqual({request.method for request in self.api.request_log}, {"GET"})

    def test_without_the_webhook_injection_is_a_warning(self):
        self.install_everything(injector=False)
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "sidecar injection", "WARN", "not installed",
                           "weftctl install --injector-webhook-only | kubectl apply -f -")
        self.assert_status(lines, "sidecar injector", "WARN", "no Deployment")
        self.assert_status(lines, "mesh root", "OK")
        self.assertIn("no check failed; 2 warnings", output)

    def test_an_injector_that_cannot_answer_fails(self):
        self.install_everything()
        # No replica Ready: with failurePolicy Fail, pods of injected namespaces are refused.
        self.set_injector_ready(0)
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "sidecar injector", "FAIL", "0 of 2 replicas Ready",
                           "pods of injected namespaces are refused",
                           "describe pods -l app.kubernetes.io/name=weft-injector")
        self.set_injector_ready(2)
        # The Service the webhook calls is gone.
        self.api.delete("services", NAMESPACE, "weft-injector")
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "sidecar injection", "FAIL",
                           "calls Service weft-system/weft-injector, which does not exist")
        # A Secret from another install: the caBundle does not verify its certificate.
        self.install_injector()
        printed = subprocess.run([os.path.join(BIN_DIR, "weftctl"), "install",
                                  "--injector-webhook-only"], capture_output=True, text=True,
                                 timeout=30)
        other = [d for d in load_yaml_documents(printed.stdout) if d["kind"] == "Secret"][0]
        self.api.put("secrets", other)
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "sidecar injection", "FAIL", "fails the webhook's caBundle",
                           "the API server refuses to call it")

    def test_the_mesh_root_must_hold_the_cas_root(self):
        self.install_everything()
        other, _ = self_signed_root(NOW - DAY, NOW + 3650 * DAY)
        self.put_mesh_root(other)
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "mesh root", "WARN",
                           "does not hold the root of Secret weft-system/weft-ca")
        self.api.delete("configmaps", NAMESPACE, "weft-mesh-root")
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "mesh root", "FAIL", "does not exist",
                           "the injector stays unready", "--mesh-root-configmap")

    def test_an_injector_ca_expiring_within_30_days_is_a_warning(self):
        self.install_everything()
        webhook = self.api.get("mutatingwebhookconfigurations", None, "weft-sidecar-injector")
        expiring, _ = self_signed_root(NOW - DAY, NOW + 10 * DAY + HALF_DAY)
        webhook["webhooks"][0]["clientConfig"]["caBundle"] = \
            base64.b64encode(expiring.encode()).decode()
        self.api.put("mutatingwebhookconfigurations", webhook)
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "sidecar injection", "WARN", "the injector's CA", "in 10 days",
                           "weftctl install")

    def test_a_cluster_installed_from_weftctl_install_with_a_real_control_plane(self):
        result = subprocess.run([os.path.join(BIN_DIR, "weftctl"), "install", "--trust-domain",
                                 "example.org"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        documents = load_yaml_documents(result.stdout)
        by_kind = {}
        for document in documents:
            by_kind.setdefault(document["kind"], []).append(document)
        # What the test server serves goes through its decoding and validation: the CRDs
        # first (the MeshConfig needs its own), as `kubectl apply` would create them.
        for kind in ("Namespace", "CustomResourceDefinition", "Service", "MeshConfig",
                     "ConfigMap", "Deployment", "Secret", "MutatingWebhookConfiguration"):
            for document in by_kind.pop(kind):
                self.api.put(kind, document)
        self.assertEqual(sorted(by_kind), ["ClusterRole", "ClusterRoleBinding",
                                           "PodDisruptionBudget", "Role", "RoleBinding",
                                           "ServiceAccount"])
        # The injector's pods are not run here; its Deployment's controller would say this.
        self.set_injector_ready(2)
        deployment = [d for d in documents if d["kind"] == "Deployment"][0]
        self.assertEqual(deployment["metadata"]["name"], "weft-controlplane")
        template = deployment["spec"]["template"]
        # The Deployment's pods, as its controller and a kubelet would make and start them.
        replicas = deployment["spec"]["replicas"]
        for index in range(replicas):
            self.api.create("pods", {
                "metadata": {"name": f"weft-controlplane-{index}", "namespace": NAMESPACE,
                             "labels": template["metadata"]["labels"],
                             "annotations": template["metadata"]["annotations"]},
                "spec": {**template["spec"], "nodeName": f"node-{index}"},
                "status": {"phase": "Running",
                           "conditions": [{"type": "Ready", "status": "True"}]}})
        # weft-controlplane with the container's arguments, where only what a pod provides is
        # replaced: the pod name, addresses bound in the pod's own network namespace, the
        # emptyDir, and the API server with the service account's token and CA.
        container = template["spec"]["containers"][0]
        os.mkdir(os.path.join(self.tempdir, "xds-serving"))
        replaced = {"$(POD_NAME)": "weft-controlplane-0", "0.0.0.0:15012": "127.0.0.1:0",
                    "0.0.0.0:15014": "127.0.0.1:0",
                    "/var/run/weft/xds-serving": os.path.join(self.tempdir, "xds-serving")}
        args = [replaced.get(arg, arg) for arg in container["args"]]
        control_plane = self.start([os.path.join(BIN_DIR, "weft-controlplane"), *args,
                                    "--kube-api-server", self.api.url,
                                    "--kube-token-file", self.token,
                                    "--kube-ca-file", self.kube_ca], "weft-controlplane")
        control_plane.wait_for(r"weft-controlplane-0 is the leader now")
        control_plane.wait_for(r'CA issues identities in trust domain \\"example.org\\"')
        control_plane.wait_for(r"published the mesh root to ConfigMap weft-system/weft-mesh-root")
        code, lines, output = self.check()
        self.assertEqual(code, 0, output + control_plane.output())
        self.assert_status(lines, "CRDs", "OK")
        self.assert_status(lines, "control plane pods", "OK", f"{replicas} of {replicas} Ready")
        self.assert_status(lines, "leader Lease", "OK", "held by weft-controlplane-0")
        self.assert_status(lines, "CA Secret", "OK", "root certificate (ca-cert.pem)")
        self.assert_status(lines, "mesh root", "OK", "the CA's among them")
        self.assert_status(lines, "sidecar injection", "OK")
        self.assert_status(lines, "sidecar injector", "OK", "2 of 2 replicas Ready")
        self.assertIn("all 8 checks passed", output)

    def test_a_root_expiring_within_30_days_is_a_warning(self):
        self.install_everything()
        self.put_ca(not_after=NOW + 10 * DAY + HALF_DAY)
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "CA Secret", "WARN", "expires on", "in 10 days",
                           "Root rotation")

    def test_an_expired_root_fails(self):
        self.install_everything()
        self.put_ca(not_before=NOW - 20 * DAY, not_after=NOW - DAY)
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "CA Secret", "FAIL", "expired on")

    def test_an_intermediate_is_judged_with_its_root(self):
        self.install_everything()
        root_cert, _ = self_signed_root(NOW - DAY, NOW + 3650 * DAY)
        signing, key = self_signed_root(NOW - DAY, NOW + 5 * DAY + HALF_DAY)
        self.api.put_secret(NAMESPACE, "weft-ca", {"ca-cert.pem": signing, "ca-key.pem": key,
                                                   "root-cert.pem": root_cert})
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "CA Secret", "WARN", "signing certificate (ca-cert.pem)",
                           "in 5 days")

    def test_pods_not_ready_and_a_stale_lease(self):
        self.install_everything()
        self.api.delete("pods", NAMESPACE, "weft-controlplane-1")
        self.add_pod("weft-controlplane-2", ready=False)
        code, lines, output = self.check()
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "control plane pods", "WARN", "1 of 2 Ready",
                           "weft-controlplane-2 (CrashLoopBackOff)")

        self.api.delete("pods", NAMESPACE, "weft-controlplane-0")
        # Renewed an hour ago with a 15 s lease: nobody has led since.
        self.put_lease(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1),
                       duration=15)
        code, lines, output = self.check()
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "control plane pods", "FAIL", "0 of 1 Ready")
        self.assert_status(lines, "leader Lease", "FAIL", "held by weft-controlplane-0")
        # An hour, give or take the seconds this test took to get here.
        self.assertRegex(lines["leader Lease"][1], r"last renewed 36\d\d seconds ago")

    def test_unreachable_server_fails_with_the_reason(self):
        port = free_port()  # claimed, nothing listens
        code, lines, output = self.check(connection=[
            "--server", f"https://127.0.0.1:{port}", "--token-file", self.token,
            "--ca-file", self.kube_ca])
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "Kubernetes API", "FAIL", f"https://127.0.0.1:{port}",
                           "onnection refused")
        self.assertEqual(len(lines), 1, output)

    def test_a_refused_token_fails(self):
        wrong = self.write("wrong-token", "not-the-token\n")
        code, lines, output = self.check(connection=[
            "--server", self.api.url, "--token-file", wrong, "--ca-file", self.kube_ca])
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "Kubernetes API", "FAIL", "refuses the credentials", "401")

    def test_a_server_whose_certificate_does_not_verify_fails(self):
        other = self.write("other-ca.crt", mesh_certs.Authority("another root").cert_pem())
        code, lines, output = self.check(connection=[
            "--server", self.api.url, "--token-file", self.token, "--ca-file", other])
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "Kubernetes API", "FAIL", "certificate verify failed")

    def kubeconfig(self, user):
        with open(self.kube_ca, "rb") as f:
            ca_data = base64.b64encode(f.read()).decode()
        # JSON is YAML: no YAML library needed to write it.
        return self.write("kubeconfig", f"""{{
  "apiVersion": "v1", "kind": "Config", "current-context": "test",
  "clusters": [{{"name": "test-cluster",
                 "cluster": {{"server": "{self.api.url}",
                              "certificate-authority-data": "{ca_data}"}}}}],
  "contexts": [{{"name": "test", "context": {{"cluster": "test-cluster", "user": "u"}}}}],
  "users": [{{"name": "u", "user": {user}}}]
}}
""")

    def test_kubeconfig_with_inline_token_and_ca(self):
        self.install_everything()
        path = self.kubeconfig(f'{{"token": "{ADMIN_TOKEN}"}}')
        code, lines, output = self.check(connection=["--kubeconfig", path])
        self.assertEqual(code, 0, output)
        self.assert_status(lines, "Kubernetes API", "OK", f"kubeconfig {path}")
        # $KUBECONFIG finds it too, and the private copies of the inline data are gone after.
        env_output = subprocess.run(
            [os.path.join(BIN_DIR, "weftctl"), "check"], capture_output=True, text=True,
            timeout=60, env={**os.environ, "KUBECONFIG": path, "TMPDIR": self.tempdir,
                             "HOME": self.tempdir})
        self.assertEqual(env_output.returncode, 0, env_output.stdout + env_output.stderr)
        self.assertEqual([f for f in os.listdir(self.tempdir) if f.startswith("weftctl-")], [])

    def test_kubeconfig_with_a_client_certificate(self):
        # The test server authenticates by token only, so the token is what lets it in; the
        # client certificate is loaded and offered all the same.
        self.install_everything()
        cert, key = mesh_certs.Authority("client-ca").issue([])
        encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
        path = self.kubeconfig(f'{{"client-certificate-data": "{encode(cert)}", '
                               f'"client-key-data": "{encode(key)}", "token": "{ADMIN_TOKEN}"}}')
        code, lines, output = self.check(connection=["--kubeconfig", path])
        self.assertEqual(code, 0, output)
        # A client certificate that is not one is a FAIL that names it.
        path = self.kubeconfig('{"client-certificate-data": "eA==", "client-key-data": "eA=="}')
        code, lines, output = self.check(connection=["--kubeconfig", path])
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "Kubernetes API", "FAIL", "client certificate")

    def test_kubeconfig_with_an_exec_plugin_is_refused(self):
        path = self.kubeconfig('{"exec": {"apiVersion": "client.authentication.k8s.io/v1", '
                               '"command": "cloud-login"}}')
        code, lines, output = self.check(connection=["--kubeconfig", path])
        self.assertEqual(code, 1, output)
        self.assert_status(lines, "Kubernetes API", "FAIL", "cannot connect", "plugin")
        self.assertEqual(len(lines), 1, output)

    def test_usage_errors(self):
        for args in (["--server", "https://127.0.0.1:1"],  # no --ca-file
                     ["--server", "http://127.0.0.1:1", "--ca-file", "x"],
                     ["--token-file", "x"]):
            result = subprocess.run([os.path.join(BIN_DIR, "weftctl"), "check", *args],
                                    capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
            self.assertIn("weftctl check:", result.stderr)


if __name__ == "__main__":
    main()
