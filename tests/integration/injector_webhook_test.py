#!/usr/bin/env python3
"""The sidecar injector webhook (weft-injector), started for real and called with curl over
HTTPS as the API server calls it: AdmissionReview v1 in, a JSONPatch out (applied here with
python3-jsonpatch, an independent RFC 6902 implementation); skips and refusals answered and
counted on /metrics; malformed requests refused with a reason (400, 404, 405, 413) and a
failed TLS handshake counted, the webhook serving on; the serving certificate, the settings
ConfigMap and the mesh root re-read when their files change (the kubelet's atomic "..data"
swap); /ready; SIGTERM. The injected pods are created in the Kubernetes API test server, whose
pod validation follows kube-apiserver's, and must be accepted."""
import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, IntegrationTest, free_port, main, require_tool  # noqa: E402

try:  # Debian's /usr/bin/python3 has both
    import jsonpatch
    import mesh_certs
    from kube_api_server import KubeApiServer
except ImportError:
    jsonpatch = None

HOST = "weft-injector.weft-system.svc"
ADMIN_TOKEN = "injector-test-admin-token"


def pod(name="web", namespace="shop", annotations=None, labels=None, **spec):
    metadata = {"name": name, "namespace": namespace, "labels": labels or {"app": name}}
    if annotations:
        metadata["annotations"] = annotations
    body = {"containers": [{"name": "app", "image": "registry.example/web:1",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                            "livenessProbe": {"tcpSocket": {"port": 8080}}}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": body}


def review(obj, uid="8f2c6b1e-0d4f-4a53-9d59-5b3f8d1e2a77", operation="CREATE"):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "namespace": obj["metadata"].get("namespace", "shop"),
                        "operation": operation, "object": obj, "dryRun": False}}


def kubelet_expand(text, defined):
    """The kubelet's expansion of an env value (k8s.io/kubernetes third_party/forked/golang/
    expansion): $(NAME) becomes NAME's value when NAME is defined, "$$" becomes "$", and any
    other "$" or an unknown reference stays as written."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            if text[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if text[i + 1] == "(":
                end = text.find(")", i + 2)
                if end != -1 and text[i + 2:end] in defined:
                    out.append(defined[text[i + 2:end]])
                    i = end + 1
                    continue
        out.append(text[i])
        i += 1
    return "".join(out)


def proxy_environment(container, pod_name, namespace, service_account, pod_ips):
    """The injected proxy's environment as the kubelet builds it: the downward API values, then
    each variable expanded from the ones before it."""
    downward = {"metadata.name": pod_name, "metadata.namespace": namespace,
                "spec.serviceAccountName": service_account, "status.podIPs": pod_ips}
    env = {}
    for variable in container["env"]:
        if "valueFrom" in variable:
            env[variable["name"]] = downward[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            env[variable["name"]] = kubelet_expand(variable["value"], env)
    return env


def kubelet_volume(directory, files):
    """A Secret or ConfigMap volume as the kubelet writes it: the files in a timestamped
    directory, "..data" pointing at it, each key a symlink through "..data". Called again, it
    swaps "..data" atomically, as an update does."""
    os.makedirs(directory, exist_ok=True)
    version = os.path.join(directory, f"..{time.monotonic_ns()}")
    os.mkdir(version)
    for name, text in files.items():
        with open(os.path.join(version, name), "w") as f:
            f.write(text)
    staging = os.path.join(directory, "..data_tmp")
    os.symlink(os.path.basename(version), staging)
    os.rename(staging, os.path.join(directory, "..data"))
    for name in files:
        link = os.path.join(directory, name)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", name), link)
    for name in os.listdir(directory):
        link = os.path.join(directory, name)
        if not name.startswith("..") and name not in files:
            os.unlink(link)


class InjectorWebhookTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        require_tool("curl")
        if jsonpatch is None:
            self.skipTest("needs python3-jsonpatch and python3-cryptography (/usr/bin/python3)")
        self.webhook_ca = mesh_certs.Authority("weft-injector-test-ca")
        self.ca_file = self.write("webhook-ca.crt", self.webhook_ca.cert_pem())
        self.tls_dir = os.path.join(self.tempdir, "injector-tls")
        self.serve_with(self.webhook_ca)
        self.config_dir = os.path.join(self.tempdir, "config")
        kubelet_volume(self.config_dir, {"proxyImage": "weft-proxy:0.1.0"})
        self.mesh_root_dir = os.path.join(self.tempdir, "mesh-root")
        self.mesh_root = mesh_certs.Authority("weft mesh root").cert_pem()
        kubelet_volume(self.mesh_root_dir, {"root-cert.pem": self.mesh_root})

    def serve_with(self, authority):
        cert, key = authority.issue([], dns_names=[HOST, HOST + ".cluster.local"])
        kubelet_volume(self.tls_dir, {"tls.crt": cert, "tls.key": key})

    def start_injector(self, *extra):
        self.port = free_port()
        self.metrics_port = free_port()
        self.injector = self.start([
            os.path.join(BIN_DIR, "weft-injector"),
            "--webhook-address", f"127.0.0.1:{self.port}",
            "--metrics-address", f"127.0.0.1:{self.metrics_port}",
            "--tls-cert-file", os.path.join(self.tls_dir, "tls.crt"),
            "--tls-key-file", os.path.join(self.tls_dir, "tls.key"),
            "--config-dir", self.config_dir,
            "--mesh-root-file", os.path.join(self.mesh_root_dir, "root-cert.pem"),
            "--reload-interval", "100ms", "--shutdown-delay", "0s", *extra], "weft-injector")
        self.injector.wait_for(r"serving admission reviews")
        return self.injector

    def post(self, body, path="/inject", ca_file=None, extra=()):
        """curl, verifying the webhook's certificate for its Service name as the API server
        does; returns (status, body text)."""
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        request = self.write("request.json", data if isinstance(data, str) else "")
        if isinstance(data, bytes):
            with open(request, "wb") as f:
                f.write(data)
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", ca_file or self.ca_file,
             "--resolve", f"{HOST}:{self.port}:127.0.0.1", "-H", "Content-Type: application/json",
             "--data-binary", f"@{request}", "-w", "\n%{http_code}", *extra,
             f"https://{HOST}:{self.port}{path}"], capture_output=True, text=True, timeout=20)
        if result.returncode != 0:
            return None, result.stderr
        text, _, status = result.stdout.rpartition("\n")
        return int(status), text

    def admit(self, obj):
        status, text = self.post(review(obj))
        self.assertEqual(status, 200, text)
        response = json.loads(text)["response"]
        self.assertEqual(response["uid"], "8f2c6b1e-0d4f-4a53-9d59-5b3f8d1e2a77")
        return response

    def injected(self, obj):
        response = self.admit(obj)
        self.assertTrue(response["allowed"], response)
        self.assertEqual(response["patchType"], "JSONPatch")
        patch = json.loads(base64.b64decode(response["patch"]))
        return jsonpatch.apply_patch(obj, patch)

    def metric(self, name, **labels):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=5).read().decode()
        wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
                         if labels else "")
        for line in text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.split()[-1])
        return 0.0

    def wait_until(self, check, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        self.fail(f"{what} within {timeout}s:\n{self.injector.output()}")

    # --- the mutation over HTTPS ----------------------------------------------------------

    def test_injects_a_native_sidecar_over_https(self):
        self.start_injector()
        patched = self.injected(pod())
        spec = patched["spec"]
        self.assertEqual([c["name"] for c in spec["initContainers"]], ["weft-init", "weft-proxy"])
        proxy = spec["initContainers"][1]
        self.assertEqual(proxy["restartPolicy"], "Always")
        self.assertEqual(proxy["securityContext"]["runAsUser"], 1337)
        bootstrap = next(e["value"] for e in proxy["env"] if e["name"] == "WEFT_BOOTSTRAP")
        self.assertIn(json.dumps(self.mesh_root), bootstrap)
        self.assertIn('"app/readyz": {"http_get":{"port":8080,"path":"/ready"},"timeout":"1s"}',
                      bootstrap)
        app = spec["containers"][0]
        self.assertEqual(app["readinessProbe"]["httpGet"],
                         {"path": "/app-health/app/readyz", "port": 15020, "scheme": "HTTP"})
        self.assertEqual(app["livenessProbe"]["httpGet"]["path"], "/app-health/app/livez")
        init = spec["initContainers"][0]
        self.assertEqual(init["securityContext"]["capabilities"],
                         {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]})
        token = next(v for v in spec["volumes"] if v["name"] == "weft-token")
        self.assertEqual(token["projected"]["sources"][0]["serviceAccountToken"]["audience"],
                         "weft")
        self.assertEqual(patched["metadata"]["annotations"]["prometheus.io/port"], "15020")
        self.assertEqual(self.metric("weft_injector_injections_total", mode="native"), 1)
        # A second pass (reinvocationPolicy: IfNeeded) changes nothing.
        again = self.admit(patched)
        self.assertTrue(again["allowed"])
        self.assertNotIn("patch", again)
        self.assertEqual(self.metric("weft_injector_skips_total", reason="already-injected"), 1)
        self.assertRegex(self.injector.output(), r"shop/web: injected a native sidecar")

    def test_skips_and_refusals_are_answered_and_counted(self):
        self.start_injector()
        for obj, reason in [(pod(namespace="kube-system"), "namespace-excluded"),
                            (pod(annotations={"weft.dev/inject": "false"}), "opted-out"),
                            (pod(hostNetwork=True), "host-network")]:
            response = self.admit(obj)
            self.assertTrue(response["allowed"], reason)
            self.assertNotIn("patch", response, reason)
            self.assertEqual(self.metric("weft_injector_skips_total", reason=reason), 1, reason)
        response = self.admit(pod(annotations={"weft.dev/exclude-outbound-cidrs": "10.0.0.0/40"}))
        self.assertFalse(response["allowed"])
        self.assertEqual(response["status"]["code"], 400)
        self.assertEqual(response["status"]["message"],
                         "weft sidecar injection: annotation weft.dev/exclude-outbound-cidrs: "
                         "'10.0.0.0/40' is not a comma-separated list of IPv4 or IPv6 networks")
        self.assertEqual(self.metric("weft_injector_refusals_total", reason="invalid-annotation"),
                         1)
        self.assertRegex(self.injector.output(), r"shop/web: denied \(invalid-annotation\)")
        self.assertEqual(self.metric("weft_injector_review_duration_seconds_count"), 4)

    def test_malformed_requests_get_a_reason_and_the_webhook_serves_on(self):
        self.start_injector()
        status, text = self.post("{not json")
        self.assertEqual(status, 400)
        self.assertIn("not an AdmissionReview v1 request: the body is not JSON", text)
        status, text = self.post({"apiVersion": "admission.k8s.io/v1beta1",
                                  "kind": "AdmissionReview", "request": {"uid": "x"}})
        self.assertEqual(status, 400)
        self.assertIn("admissionReviewVersions must be [v1]", text)
        status, text = self.post(review(pod()), path="/mutate")
        self.assertEqual(status, 404)
        self.assertIn("POST /inject", text)
        status, text = self.post("", extra=("-X", "GET", "-G"))
        self.assertEqual(status, 405)
        self.assertEqual(self.metric("weft_injector_errors_total", reason="malformed-review"), 2)
        # A body over 8 MiB is refused, not read.
        status, text = self.post(b"[" * (9 * 1024 * 1024))
        self.assertIn(status, (413, None), text)
        # A client that does not speak TLS, then one that distrusts the certificate.
        subprocess.run(["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{self.port}/inject"],
                       capture_output=True, timeout=20)
        other = self.write("other-ca.crt", mesh_certs.Authority("someone else").cert_pem())
        status, text = self.post(review(pod()), ca_file=other)
        self.assertIsNone(status)
        self.assertIn("certificate", text)
        self.wait_until(lambda: self.metric("weft_injector_errors_total",
                                            reason="tls-handshake") >= 2,
                        "two failed handshakes counted")
        self.wait_until(lambda: self.metric("weft_injector_errors_total",
                                            reason="bad-request") >= 3,
                        "the bad requests counted")
        self.assertTrue(self.injected(pod())["spec"]["initContainers"])

    # --- files that change ----------------------------------------------------------------

    def test_a_new_serving_certificate_is_used_for_new_connections(self):
        self.start_injector()
        self.assertTrue(self.injected(pod()))
        rotated = mesh_certs.Authority("weft-injector-test-ca-2")
        rotated_ca = self.write("webhook-ca-2.crt", rotated.cert_pem())
        self.serve_with(rotated)
        self.wait_until(lambda: self.post(review(pod()), ca_file=rotated_ca)[0] == 200,
                        "the rotated certificate served")
        self.assertIsNone(self.post(review(pod()))[0])
        self.assertRegex(self.injector.output(), r"serving certificate .* loaded again")
        # A broken pair (a key of another certificate) keeps the good one, logged and counted.
        cert, _ = rotated.issue([], dns_names=[HOST])
        _, key = rotated.issue([], dns_names=[HOST])
        kubelet_volume(self.tls_dir, {"tls.crt": cert, "tls.key": key})
        self.wait_until(lambda: self.metric("weft_injector_errors_total",
                                            reason="certificate-reload") == 1,
                        "the broken pair counted")
        self.assertEqual(self.post(review(pod()), ca_file=rotated_ca)[0], 200)
        self.assertRegex(self.injector.output(), r"serving certificate not loaded: .* is not the "
                                                 r"key of")

    def test_settings_and_mesh_root_follow_their_config_maps(self):
        os.unlink(os.path.join(self.mesh_root_dir, "root-cert.pem"))
        self.start_injector()
        response = self.admit(pod())
        self.assertFalse(response["allowed"])
        self.assertIn("the mesh root is not known yet", response["status"]["message"])
        self.assertRegex(self.injector.output(), r"no mesh root at .* yet")
        kubelet_volume(self.mesh_root_dir, {"root-cert.pem": self.mesh_root})
        self.wait_until(lambda: self.admit(pod())["allowed"], "the mesh root picked up")

        kubelet_volume(self.config_dir, {"proxyImage": "mirror.example/weft-proxy:0.2.0",
                                         "sidecarMode": "classic"})
        self.wait_until(lambda: "patch" in self.admit(pod()) and self.injected(pod())["spec"][
            "containers"][0]["image"] == "mirror.example/weft-proxy:0.2.0",
            "the new settings applied")
        patched = self.injected(pod())
        self.assertEqual(patched["spec"]["containers"][0]["name"], "weft-proxy")
        self.assertEqual(patched["spec"]["containers"][0]["lifecycle"]["postStart"]["exec"][
            "command"], ["/usr/local/bin/weft-proxy", "wait", "--timeout", "600s"])
        # A typo keeps the last good settings, logged once with the file and counted.
        kubelet_volume(self.config_dir, {"proxyImage": "mirror.example/weft-proxy:0.3.0",
                                         "sidecarmode": "native"})
        self.wait_until(lambda: self.metric("weft_injector_errors_total",
                                            reason="settings-reload") == 1,
                        "the bad settings counted")
        self.assertIn("sidecarmode: unknown key 'sidecarmode'", self.injector.output())
        self.assertEqual(self.injected(pod())["spec"]["containers"][0]["image"],
                         "mirror.example/weft-proxy:0.2.0")

    def test_ready_once_loaded_and_stops_on_sigterm(self):
        self.start_injector()
        ready = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/ready", timeout=5)
        self.assertEqual(ready.status, 200)
        self.injector.signal(signal.SIGTERM)
        self.assertEqual(self.injector.wait(timeout=15), 0)
        self.assertIn("weft-injector stopped", self.injector.output())

    def test_refuses_to_start_without_a_certificate_or_with_a_bad_flag(self):
        result = subprocess.run([os.path.join(BIN_DIR, "weft-injector")], capture_output=True,
                                text=True, timeout=20)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--tls-cert-file and --tls-key-file are required", result.stderr)
        result = subprocess.run([os.path.join(BIN_DIR, "weft-injector"), "--tls-cert-file", "a",
                                 "--tls-key-file", "b", "--reload-interval", "5"],
                                capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--reload-interval", result.stderr)

    # --- the proxy and the API server accept what the webhook makes -------------------------

    def test_the_injected_proxy_accepts_its_bootstrap(self):
        """The bootstrap, expanded as the kubelet does, passes weft-proxy's own checks (schema,
        app probes, control-plane roots) in both modes, with a dual-stack POD_IPS and a probe
        header holding "$(...)", which must reach the proxy as written."""
        self.start_injector()
        for mode in ("native", "classic"):
            obj = pod(annotations={"weft.dev/sidecar-mode": mode})
            obj["spec"]["containers"][0]["readinessProbe"]["httpGet"]["httpHeaders"] = [
                {"name": "X-Probe", "value": "$(NOT_A_VARIABLE)"}]
            patched = self.injected(obj)
            containers = patched["spec"]["initContainers"] + patched["spec"]["containers"]
            proxy = next(c for c in containers if c["name"] == "weft-proxy")
            env = proxy_environment(proxy, "web-7d9f8c6b5-x2x4q", "shop", "web",
                                    "10.244.1.7,fd00:10:244:1::7")
            self.assertIn('"value":"$(NOT_A_VARIABLE)"', env["WEFT_BOOTSTRAP"])
            self.assertIn("ip_addresses: [10.244.1.7,fd00:10:244:1::7]", env["WEFT_BOOTSTRAP"])
            self.assertIn('id: "web-7d9f8c6b5-x2x4q.shop"', env["WEFT_BOOTSTRAP"])
            result = subprocess.run(
                [os.path.join(BIN_DIR, "weft-proxy"), *proxy["args"], "--validate"],
                env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 0,
                             f"{mode}: {result.stdout}{result.stderr}\n{env['WEFT_BOOTSTRAP']}")


    def test_injected_pods_are_accepted_by_the_api_server(self):
        self.start_injector()
        kube_ca = mesh_certs.Authority("kubernetes-test-ca")
        cert, key = mesh_certs.write_pair(self.tempdir, "kube-apiserver",
                                          kube_ca.issue([], ip_addresses=["127.0.0.1"]))
        api = KubeApiServer(cert, key, token=ADMIN_TOKEN)
        api.start()
        self.addCleanup(api.stop)
        context = ssl.create_default_context(cafile=self.write("kube-ca.crt", kube_ca.cert_pem()))
        init_app = {"name": "migrate", "image": "registry.example/migrate:1"}
        cases = {
            "native": pod("native"),
            "classic": pod("classic", annotations={"weft.dev/sidecar-mode": "classic"}),
            "init-and-volumes": pod("init-and-volumes", initContainers=[init_app],
                                    volumes=[{"name": "cache", "emptyDir": {}}]),
            "exclusions": pod("exclusions", annotations={
                "weft.dev/exclude-inbound-ports": "9100",
                "weft.dev/exclude-outbound-cidrs": "169.254.169.254/32"}),
            "grpc-probe": pod("grpc-probe", containers=[{
                "name": "rpc", "image": "registry.example/rpc:1",
                "livenessProbe": {"grpc": {"port": 9090}, "periodSeconds": 5}}]),
        }
        for name, obj in cases.items():
            patched = self.injected(obj)
            request = urllib.request.Request(
                f"{api.url}/api/v1/namespaces/shop/pods", data=json.dumps(patched).encode(),
                method="POST", headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                        "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                    self.assertEqual(answer.status, 201, name)
            except urllib.error.HTTPError as error:
                self.fail(f"{name}: the API server refused the injected pod: "
                          f"{error.code} {error.read().decode()}")


if __name__ == "__main__":
    main()
