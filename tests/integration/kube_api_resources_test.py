#!/usr/bin/env python3
"""The resources of the Kubernetes API test server (tests/tools/kube_api_server.py) that the
control plane's Kubernetes source reads, checked against the real kubectl: the weft.dev CRDs
(deploy/k8s/crds) and the mesh examples (docs/examples/mesh) applied, listed, explained,
refused when invalid, and given a status through the status subresource; pods, services,
EndpointSlices and Leases created and printed. Direct HTTPS requests and the module API pin
what a controller relies on: list pages from one snapshot, watch events in order, bookmarks,
410 Expired after a compaction, watches dropped with and without the terminating chunk,
metadata.generation, status subresource semantics and the Lease's optimistic concurrency.
ConfigMaps, Deployments and MutatingWebhookConfigurations (an install's kinds) are applied with
kubectl, printed, defaulted and refused when invalid."""
import glob
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import SOURCE_DIR, IntegrationTest, main, require_tool  # noqa: E402
import kube_api_server  # noqa: E402  (stdlib only)
from kube_api_server import ApiError, KubeApiServer  # noqa: E402

try:  # python3-cryptography, which /usr/bin/python3 (Debian's) has
    import mesh_certs  # noqa: E402
except ImportError:  # a skip (setUp), which CI counts as a failure (harness.main)
    mesh_certs = None
try:  # python3-yaml (not a dependency), to check the server's own YAML loader against
    import yaml  # noqa: E402
except ImportError:
    yaml = None

SERVER = os.path.join(SOURCE_DIR, "tests", "tools", "kube_api_server.py")
CRDS = os.path.join(SOURCE_DIR, "deploy", "k8s", "crds")
EXAMPLES = os.path.join(SOURCE_DIR, "docs", "examples", "mesh")
ADMIN_TOKEN = "admin-token-for-tests"
WEFT_KINDS = ("authorizationpolicies", "destinationpolicies", "meshconfigs",
              "peerauthentications", "trafficroutes", "workloads")
ROUTES = "/apis/weft.dev/v1alpha1/namespaces/bookinfo/trafficroutes"
PODS = "/api/v1/namespaces/default/pods"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/weft-system/leases"
STALE = ("the object has been modified; please apply your changes to the latest version and "
         "try again")


def write_server_certificate(directory):
    """A root and a serving certificate for IP 127.0.0.1: (root, certificate, key)."""
    authority = mesh_certs.Authority("kube-api-server test root")
    root = os.path.join(directory, "root.pem")
    with open(root, "w") as f:
        f.write(authority.cert_pem())
    pair = authority.issue([], ip_addresses=["127.0.0.1"])
    return (root, *mesh_certs.write_pair(directory, "kube-api-server", pair))


def pod(name, ip, node="node-1", phase="Running", labels=None, namespace="default"):
    """A pod as a kubelet would have reported it: scheduled, with its IP and conditions."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": labels or {"app": "reviews"}},
            "spec": {"nodeName": node, "containers": [
                {"name": "app", "image": "example/reviews:1.0",
                 "ports": [{"name": "http", "containerPort": 9080}]}]},
            "status": {"phase": phase, "podIP": ip, "conditions": [
                {"type": "Ready", "status": "True",
                 "lastTransitionTime": "2024-05-01T10:00:00Z"}]}}


def route(name="reviews", weight=90, **extra):
    spec = {"hosts": ["reviews"], "rules": [{"name": "canary", "backends": [
        {"subset": "v1", "weight": weight}, {"subset": "v2", "weight": 100 - weight}]}]}
    return dict({"apiVersion": "weft.dev/v1alpha1", "kind": "TrafficRoute",
                 "metadata": {"name": name, "namespace": "bookinfo"}, "spec": spec}, **extra)


class Watch:
    """A watch over HTTPS, read chunk by chunk (one event per chunk, as kube-apiserver sends
    them); records how the stream ended: "clean" (the terminating chunk) or "abrupt" (the
    connection closed without it)."""

    def __init__(self, port, context, path, timeout=10):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.socket = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.file = self.socket.makefile("rb")
        self.ended = None
        self.status = self.send("GET", path)

    def send(self, method, path):
        """Sends a request on the connection; returns the answer's status code, with the
        headers read (and a body of known length skipped)."""
        self.socket.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode())
        status = int(self.file.readline().split()[1])
        length = 0
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        self.file.read(length)
        return status

    def next(self):
        """The next event, or None once the stream has ended."""
        if self.ended:
            return None
        try:
            line = self.file.readline()
        except (ConnectionError, ssl.SSLError):
            line = b""
        if not line.strip():
            self.ended = "abrupt"
            return None
        size = int(line.strip(), 16)
        if size == 0:
            self.file.readline()
            self.ended = "clean"
            return None
        data = self.file.read(size)
        self.file.read(2)
        return json.loads(data)

    def until(self, predicate, limit=50):
        """Events up to and including the first that satisfies predicate."""
        seen = []
        for _ in range(limit):
            event = self.next()
            if event is None:
                raise AssertionError(f"watch ended ({self.ended}) after {seen}")
            seen.append(event)
            if predicate(event):
                return seen
        raise AssertionError(f"no matching event in {seen}")

    def close(self):
        self.file.close()
        self.socket.close()


class KubeApiResourcesTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        require_tool("kubectl")
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography")
        self.root, self.cert, self.key = write_server_certificate(self.tempdir)
        self.tls = ssl.create_default_context(cafile=self.root)

    # --- helpers -------------------------------------------------------------------------

    def start_program(self, *extra):
        port_file = os.path.join(self.tempdir, "port")
        process = self.start([sys.executable, SERVER, "--port", "0", "--cert", self.cert,
                              "--key", self.key, "--token", ADMIN_TOKEN,
                              "--port-file", port_file, *extra], "kube-api-server")
        return process, int(process.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))

    def start_module(self, **options):
        server = KubeApiServer(self.cert, self.key, token=ADMIN_TOKEN, **options).start()
        self.addCleanup(server.stop)
        return server

    def kubectl(self, port, *args):
        # HOME in the test's directory: kubectl's discovery cache must not outlive the server.
        env = dict(os.environ, HOME=self.tempdir)
        env.pop("KUBECONFIG", None)
        return subprocess.run(["kubectl", "--server", f"https://127.0.0.1:{port}",
                               "--certificate-authority", self.root, "--token", ADMIN_TOKEN,
                               *args], capture_output=True, text=True, timeout=60, env=env,
                              stdin=subprocess.DEVNULL)

    def kubectl_ok(self, port, *args):
        result = self.kubectl(port, *args)
        self.assertEqual(result.returncode, 0, f"kubectl {' '.join(args)}:\n{result.stderr}")
        return result.stdout

    def kubectl_fails(self, port, *args):
        result = self.kubectl(port, *args)
        self.assertNotEqual(result.returncode, 0, f"kubectl {' '.join(args)} succeeded:\n"
                                                  f"{result.stdout}")
        return result.stderr

    def request(self, port, method, path, body=None, content_type="application/json"):
        """One HTTPS request; returns (status, body as JSON)."""
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=self.tls,
                                                 timeout=10)
        try:
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            if body is not None:
                body = json.dumps(body)
                headers["Content-Type"] = content_type
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def ok(self, port, method, path, body=None, content_type="application/json"):
        status, answer = self.request(port, method, path, body, content_type)
        self.assertIn(status, (200, 201), answer)
        return answer

    def watch(self, port, path):
        stream = Watch(port, self.tls, path)
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        return stream

    # --- kubectl -------------------------------------------------------------------------

    def test_kubectl_applies_the_crds_and_the_mesh_examples(self):
        _, port = self.start_program()

        # The directory as users apply it, and again (unchanged the second time).
        applied = self.kubectl_ok(port, "apply", "-f", CRDS)
        for kind in WEFT_KINDS:
            self.assertIn(f"customresourcedefinition.apiextensions.k8s.io/{kind}.weft.dev "
                          f"created", applied)
        self.assertEqual(self.kubectl_ok(port, "apply", "-f", CRDS).count("unchanged"), 6)
        listing = self.kubectl_ok(port, "get", "crd")
        self.assertRegex(listing, r"^NAME\s+CREATED AT\n")
        self.assertEqual(sorted(re.findall(r"(?m)^(\S+)\.weft\.dev\s", listing)),
                         list(WEFT_KINDS))
        crd = json.loads(self.kubectl_ok(port, "get", "crd", "trafficroutes.weft.dev",
                                         "-o", "json"))
        self.assertEqual({c["type"]: c["status"] for c in crd["status"]["conditions"]},
                         {"NamesAccepted": "True", "Established": "True"})
        self.assertEqual(crd["status"]["acceptedNames"]["shortNames"], ["tr"])
        self.assertEqual(crd["status"]["storedVersions"], ["v1alpha1"])
        self.assertEqual(crd["metadata"]["generation"], 1)

        # The examples: Services and every weft.dev kind, in namespaces made on the way.
        applied = self.kubectl_ok(port, "apply", "-f", EXAMPLES)
        self.assertIn("service/reviews created", applied)
        self.assertIn("trafficroute.weft.dev/reviews created", applied)
        self.assertIn("meshconfig.weft.dev/default created", applied)
        listing = self.kubectl_ok(port, "get", "trafficroutes", "-A")
        self.assertRegex(listing, r"^NAMESPACE\s+NAME\s+HOSTS\s+ACCEPTED\s+AGE\n")
        self.assertRegex(listing, r'(?m)^bookinfo\s+reviews\s+\["reviews"\]\s+\d+s$')
        self.assertEqual(self.kubectl_ok(port, "get", "tr", "-n", "bookinfo", "-o",
                                         "name").split(),
                         ["trafficroute.weft.dev/productpage-api",
                          "trafficroute.weft.dev/ratings-chaos",
                          "trafficroute.weft.dev/reviews"])
        wide = self.kubectl_ok(port, "get", "tr", "-n", "bookinfo", "-o", "wide")
        self.assertRegex(wide, r'(?m)^ratings-chaos\s+\["ratings"\]\s+9080\s')
        reviews = json.loads(self.kubectl_ok(port, "get", "trafficroute", "reviews", "-n",
                                             "bookinfo", "-o", "json"))
        self.assertEqual((reviews["apiVersion"], reviews["kind"]),
                         ("weft.dev/v1alpha1", "TrafficRoute"))
        self.assertEqual(reviews["spec"]["hosts"], ["reviews"])
        self.assertEqual(reviews["metadata"]["generation"], 1)
        self.assertNotIn("status", reviews)
        self.assertRegex(self.kubectl_ok(port, "get", "svc", "-n", "bookinfo"),
                         r"(?m)^ratings\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+9080/TCP\s")

        explained = self.kubectl_ok(port, "explain", "trafficroute.spec")
        self.assertIn("KIND:       TrafficRoute", explained)
        self.assertRegex(explained, r"hosts\s+<\[\]string> -required-")
        self.assertIn("The service port the rules apply to.", explained)

        # Refused by the schema: kubectl prints the 422's causes.
        bad = self.write("bad.json", json.dumps(route("bad", weight=2000000) | {
            "spec": {"rules": [{"backends": [{"subset": "v1", "weight": 2000000}]}]}}))
        stderr = self.kubectl_fails(port, "apply", "-f", bad)
        self.assertIn('The TrafficRoute "bad" is invalid', stderr)
        self.assertIn("spec.rules[0].backends[0].weight: Invalid value: 2000000: "
                      "spec.rules[0].backends[0].weight in body should be less than or equal "
                      "to 1000000", stderr)
        self.assertIn("spec.hosts: Required value", stderr)
        typo = route("typo")
        typo["spec"]["colour"] = "blue"
        stderr = self.kubectl_fails(port, "apply", "-f", self.write("typo.json",
                                                                    json.dumps(typo)))
        self.assertIn('strict decoding error: unknown field "spec.colour"', stderr)
        self.kubectl_fails(port, "get", "tr", "bad", "-n", "bookinfo")

        # The status subresource: a patch there sets it; a plain apply leaves it alone.
        condition = {"type": "Accepted", "status": "True", "reason": "Valid",
                     "message": "in effect", "lastTransitionTime": "2024-05-01T10:00:00Z",
                     "observedGeneration": 1}
        self.kubectl_ok(port, "patch", "trafficroute", "reviews", "-n", "bookinfo",
                        "--subresource=status", "--type=merge", "-p",
                        json.dumps({"status": {"conditions": [condition],
                                               "observedGeneration": 1}}))
        jsonpath = "-o=jsonpath={.status.conditions[0].type} {.metadata.generation}"
        self.assertEqual(self.kubectl_ok(port, "get", "tr", "reviews", "-n", "bookinfo",
                                         jsonpath), "Accepted 1")
        self.assertRegex(self.kubectl_ok(port, "get", "tr", "reviews", "-n", "bookinfo"),
                         r"(?m)^reviews\s+\[\"reviews\"\]\s+True\s")
        canary = os.path.join(EXAMPLES, "trafficroute-canary.yaml")
        self.assertIn("trafficroute.weft.dev/reviews unchanged",
                      self.kubectl_ok(port, "apply", "-f", canary))
        with open(canary) as f:
            changed = self.write("canary.yaml", f.read().replace("weight: 90", "weight: 80"))
        self.assertIn("trafficroute.weft.dev/reviews configured",
                      self.kubectl_ok(port, "apply", "-f", changed))
        self.assertEqual(self.kubectl_ok(port, "get", "tr", "reviews", "-n", "bookinfo",
                                         jsonpath), "Accepted 2")
        # The main resource ignores status changes (and they do not move the generation).
        self.assertIn("patched (no change)", self.kubectl_ok(
            port, "patch", "tr", "reviews", "-n", "bookinfo", "--type=merge", "-p",
            '{"status":{"observedGeneration":7}}'))
        self.assertEqual(self.kubectl_ok(port, "get", "tr", "reviews", "-n", "bookinfo",
                                         "-o=jsonpath={.status.observedGeneration}"), "1")

    def test_kubectl_creates_pods_services_endpointslices_and_leases(self):
        _, port = self.start_program()
        manifest = [
            pod("reviews-v1-5d8f", "10.244.1.5", labels={"app": "reviews", "version": "v1"}),
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "reviews", "namespace": "default"},
             "spec": {"selector": {"app": "reviews"},
                      "ports": [{"name": "http", "port": 9080, "targetPort": "http"}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "reviews-x7k2p", "namespace": "default",
                          "labels": {"kubernetes.io/service-name": "reviews"}},
             "addressType": "IPv4",
             "endpoints": [{"addresses": ["10.244.1.5"], "nodeName": "node-1", "zone": "z1",
                            "conditions": {"ready": True, "serving": True,
                                           "terminating": False},
                            "targetRef": {"kind": "Pod", "namespace": "default",
                                          "name": "reviews-v1-5d8f"}}],
             "ports": [{"name": "http", "port": 9080, "appProtocol": "http"}]},
            {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "weft-controlplane", "namespace": "weft-system"},
             "spec": {"holderIdentity": "controlplane-0", "leaseDurationSeconds": 15,
                      "acquireTime": "2024-05-01T10:00:00.000000Z",
                      "renewTime": "2024-05-01T10:00:05.250000Z", "leaseTransitions": 0}}]
        path = self.write("objects.json", json.dumps({"apiVersion": "v1", "kind": "List",
                                                      "items": manifest}))
        self.assertEqual(self.kubectl_ok(port, "create", "-f", path).split("\n")[:4], [
            "pod/reviews-v1-5d8f created", "service/reviews created",
            "endpointslice.discovery.k8s.io/reviews-x7k2p created",
            "lease.coordination.k8s.io/weft-controlplane created"])

        listing = self.kubectl_ok(port, "get", "pods,services,endpointslices,leases", "-A")
        self.assertRegex(listing, r"(?m)^default\s+pod/reviews-v1-5d8f\s+0/1\s+Running\s+0\s")
        self.assertRegex(listing, r"(?m)^default\s+service/reviews\s+ClusterIP\s+"
                                  r"10\.\d+\.\d+\.\d+\s+<none>\s+9080/TCP\s")
        # A real cluster's kubernetes Service and its EndpointSlice are there too.
        self.assertRegex(listing, r"(?m)^default\s+service/kubernetes\s+ClusterIP\s+10\.96\.0\.1"
                                  r"\s+<none>\s+443/TCP\s")
        self.assertRegex(listing, r"(?m)^default\s+endpointslice\.discovery\.k8s\.io/"
                                  r"reviews-x7k2p\s+IPv4\s+9080\s+10\.244\.1\.5\s")
        self.assertRegex(listing, r"(?m)^weft-system\s+lease\.coordination\.k8s\.io/"
                                  r"weft-controlplane\s+controlplane-0\s")
        wide = self.kubectl_ok(port, "get", "pods", "-o", "wide")
        self.assertRegex(wide, r"(?m)^reviews-v1-5d8f\s.*\s10\.244\.1\.5\s+node-1\s")

        # The status given on create is kept (this server's tests stand in for the kubelet).
        created = json.loads(self.kubectl_ok(port, "get", "pod", "reviews-v1-5d8f", "-o",
                                             "json"))
        self.assertEqual(created["status"]["podIP"], "10.244.1.5")
        self.assertEqual(created["status"]["podIPs"], [{"ip": "10.244.1.5"}])
        self.assertEqual(created["status"]["conditions"][0]["type"], "Ready")
        self.assertEqual(created["spec"]["restartPolicy"], "Always")  # defaulted
        service = json.loads(self.kubectl_ok(port, "get", "svc", "reviews", "-o", "json"))
        self.assertIn(ipaddress.ip_address(service["spec"]["clusterIP"]),
                      ipaddress.ip_network("10.96.0.0/12"))
        self.assertEqual(service["spec"]["clusterIPs"], [service["spec"]["clusterIP"]])
        self.assertEqual(service["spec"]["ports"][0]["protocol"], "TCP")
        lease = json.loads(self.kubectl_ok(port, "get", "lease", "-n", "weft-system",
                                           "weft-controlplane", "-o", "json"))
        self.assertEqual(lease["spec"]["renewTime"], "2024-05-01T10:00:05.250000Z")

        # A replace with a stale resourceVersion is the Conflict kube-apiserver words.
        stale = self.write("lease.json", json.dumps(lease))
        lease["spec"]["holderIdentity"] = "controlplane-1"
        self.assertIn("replaced", self.kubectl_ok(port, "replace", "-f", self.write(
            "lease-new.json", json.dumps(lease))))
        stderr = self.kubectl_fails(port, "replace", "-f", stale)
        self.assertIn('Error from server (Conflict): error when replacing', stderr)
        self.assertIn('Operation cannot be fulfilled on leases.coordination.k8s.io '
                      f'"weft-controlplane": {STALE}', stderr)

        # Light validation, as the real registry's.
        broken = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"},
                  "spec": {"containers": []}}
        stderr = self.kubectl_fails(port, "create", "-f", self.write("pod.json",
                                                                     json.dumps(broken)))
        self.assertIn('The Pod "empty" is invalid: spec.containers: Required value', stderr)
        portless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "portless"},
                    "spec": {"selector": {"app": "x"}}}
        stderr = self.kubectl_fails(port, "create", "-f", self.write("svc.json",
                                                                     json.dumps(portless)))
        self.assertIn('The Service "portless" is invalid: spec.ports: Required value', stderr)

        self.assertIn('pod "reviews-v1-5d8f" deleted',
                      self.kubectl_ok(port, "delete", "pod", "reviews-v1-5d8f"))
        self.assertNotIn("reviews-v1-5d8f", self.kubectl_ok(port, "get", "pods", "-A"))

    def test_kubectl_applies_configmaps_deployments_and_webhooks(self):
        # What `weftctl install` prints and `weftctl check` reads, beyond the mesh's kinds.
        server = self.start_module()
        port = server.port
        with open(os.path.join(SOURCE_DIR, "deploy", "k8s", "controlplane.yaml")) as f:
            deployment = kube_api_server.load_yaml_documents(f.read())[0]
        config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "settings", "namespace": "weft-system"},
                      "data": {"proxyImage": "weft-proxy:0.1.0"}}
        webhook = {"apiVersion": "admissionregistration.k8s.io/v1",
                   "kind": "MutatingWebhookConfiguration",
                   "metadata": {"name": "weft-sidecar-injector"},
                   "webhooks": [{"name": "sidecar.weft.dev", "clientConfig": {
                       "service": {"namespace": "weft-system", "name": "weft-injector",
                                   "path": "/inject"},
                       "caBundle": "LS0tLS1CRUdJTg=="},
                       "rules": [{"operations": ["CREATE"], "apiGroups": [""],
                                  "apiVersions": ["v1"], "resources": ["pods"]}],
                       "sideEffects": "None", "admissionReviewVersions": ["v1"]}]}
        applied = self.kubectl_ok(port, "apply", "-f", self.write("install.json", json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": [deployment, config_map, webhook]})))
        self.assertIn("deployment.apps/weft-controlplane created", applied)
        self.assertIn("configmap/settings created", applied)
        self.assertIn("mutatingwebhookconfiguration.admissionregistration.k8s.io/"
                      "weft-sidecar-injector created", applied)
        self.assertRegex(self.kubectl_ok(port, "get", "deploy", "-n", "weft-system"),
                         r"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n"
                         r"weft-controlplane\s+0/2\s+0\s+0\s")
        server.update_status("deployments", dict(deployment, status={
            "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}))
        self.assertRegex(self.kubectl_ok(port, "get", "deploy", "-n", "weft-system"),
                         r"weft-controlplane\s+2/2\s+2\s+2\s")
        self.assertRegex(self.kubectl_ok(port, "get", "cm", "-n", "weft-system"),
                         r"NAME\s+DATA\s+AGE\nsettings\s+1\s")
        stored = json.loads(self.kubectl_ok(port, "get", "mutatingwebhookconfiguration",
                                            "weft-sidecar-injector", "-o", "json"))
        hook = stored["webhooks"][0]
        # The v1 defaults.
        self.assertEqual((hook["failurePolicy"], hook["matchPolicy"], hook["timeoutSeconds"],
                          hook["reinvocationPolicy"], hook["clientConfig"]["service"]["port"]),
                         ("Fail", "Equivalent", 10, "Never", 443))
        # A second apply changes nothing (kubectl still sends the rules, whose defaulted
        # scope it cannot merge, as against a real server); an invalid one is refused with the
        # field.
        self.kubectl_ok(port, "apply", "-f", self.write("webhook.json", json.dumps(webhook)))
        again = server.get("mutatingwebhookconfigurations", None, "weft-sidecar-injector")
        self.assertEqual(again["metadata"]["resourceVersion"],
                         stored["metadata"]["resourceVersion"])
        webhook["webhooks"][0]["sideEffects"] = "Some"
        webhook["metadata"]["name"] = "broken"
        stderr = self.kubectl_fails(port, "apply", "-f", self.write("broken.json",
                                                                    json.dumps(webhook)))
        self.assertIn('webhooks[0].sideEffects: Unsupported value: "Some"', stderr)
        deployment["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
        deployment["metadata"]["name"] = "mismatched"
        stderr = self.kubectl_fails(port, "apply", "-f", self.write("mismatched.json",
                                                                    json.dumps(deployment)))
        self.assertIn("`selector` does not match template `labels`", stderr)

    def test_program_preinstalls_crds_and_sends_bookmarks(self):
        _, port = self.start_program("--crd-file", CRDS, "--bookmark-interval", "0.2",
                                     "--crd-file", os.path.join(CRDS, "workloads.weft.dev.yaml"))
        self.assertEqual(len(re.findall(r"(?m)^\S+\.weft\.dev\s",
                                        self.kubectl_ok(port, "get", "crd"))), 6)
        self.kubectl_ok(port, "apply", "-f", os.path.join(EXAMPLES, "workload.yaml"))
        listing = self.ok(port, "GET", "/apis/weft.dev/v1alpha1/workloads")
        stream = self.watch(port, f"/apis/weft.dev/v1alpha1/workloads?watch=true&"
                                  f"allowWatchBookmarks=true&resourceVersion="
                                  f"{listing['metadata']['resourceVersion']}")
        started = time.monotonic()
        event = stream.next()
        self.assertLess(time.monotonic() - started, 2)
        self.assertEqual(event, {"type": "BOOKMARK", "object": {
            "kind": "Workload", "apiVersion": "weft.dev/v1alpha1",
            "metadata": {"resourceVersion": listing["metadata"]["resourceVersion"]}}})

    # --- the module API and the wire -----------------------------------------------------

    def test_lists_come_in_pages_from_one_snapshot(self):
        server = self.start_module()
        for index in range(5):
            server.create("pods", pod(f"reviews-{index}", f"10.244.0.{10 + index}",
                                      node=f"node-{index % 2}"))
        first = self.ok(server.port, "GET", f"{PODS}?limit=2")
        self.assertEqual((first["kind"], first["apiVersion"]), ("PodList", "v1"))
        self.assertEqual(first["metadata"]["remainingItemCount"], 3)
        snapshot = first["metadata"]["resourceVersion"]
        # Items of a built-in kind carry no kind or apiVersion in a JSON list.
        self.assertNotIn("kind", first["items"][0])
        self.assertNotIn("apiVersion", first["items"][0])
        # Changes after the first page do not show in the next ones.
        server.create("pods", pod("reviews-9", "10.244.0.99"))
        server.delete("pods", "default", "reviews-0")
        names = [item["metadata"]["name"] for item in first["items"]]
        token = first["metadata"]["continue"]
        while token:
            page = self.ok(server.port, "GET", f"{PODS}?limit=2&continue={token}")
            self.assertEqual(page["metadata"]["resourceVersion"], snapshot)
            names += [item["metadata"]["name"] for item in page["items"]]
            token = page["metadata"].get("continue")
        self.assertEqual(names, [f"reviews-{i}" for i in range(5)])
        fresh = self.ok(server.port, "GET", PODS)
        self.assertGreater(int(fresh["metadata"]["resourceVersion"]), int(snapshot))
        self.assertEqual([i["metadata"]["name"] for i in fresh["items"]],
                         [f"reviews-{i}" for i in (1, 2, 3, 4, 9)])

        # Field selectors of pods.
        def select(selector):
            answer = self.ok(server.port, "GET", f"{PODS}?fieldSelector={selector}")
            return [i["metadata"]["name"] for i in answer["items"]]

        self.assertEqual(select("status.podIP=10.244.0.12"), ["reviews-2"])
        self.assertEqual(select("spec.nodeName=node-0"), ["reviews-2", "reviews-4"])
        self.assertEqual(select("status.phase=Running,metadata.name!=reviews-9"),
                         ["reviews-1", "reviews-2", "reviews-3", "reviews-4"])
        status, answer = self.request(server.port, "GET", f"{PODS}?fieldSelector=spec.image=x")
        self.assertEqual((status, answer["message"]),
                         (400, "field label not supported: spec.image"))

        # Custom resources are unstructured: their list items keep kind and apiVersion.
        server.load_crds(CRDS)
        server.create("trafficroutes", route())
        routes = self.ok(server.port, "GET", ROUTES)
        self.assertEqual((routes["kind"], routes["apiVersion"]),
                         ("TrafficRouteList", "weft.dev/v1alpha1"))
        self.assertEqual((routes["items"][0]["kind"], routes["items"][0]["apiVersion"]),
                         ("TrafficRoute", "weft.dev/v1alpha1"))

    def test_watch_sends_changes_in_order_and_bookmarks(self):
        server = self.start_module(bookmark_interval=0.2)
        start = server.resource_version
        stream = self.watch(server.port, f"{PODS}?watch=true&resourceVersion={start}"
                                         f"&allowWatchBookmarks=true&timeoutSeconds=2")
        self.assertTrue(server.wait_for_watches("pods", 1, timeout=5))
        server.create("pods", pod("reviews-0", "10.244.0.10"))
        changed = pod("reviews-0", "10.244.0.10", phase="Failed")
        server.update_status("pods", changed)
        server.delete("pods", "default", "reviews-0")
        events = stream.until(lambda e: e["type"] == "DELETED")
        events = [e for e in events if e["type"] != "BOOKMARK"]
        self.assertEqual([e["type"] for e in events], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(events[1]["object"]["status"]["phase"], "Failed")
        versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        self.assertEqual(versions, sorted(versions))
        self.assertGreater(versions[0], int(start))
        # Idle: bookmarks at the current resourceVersion, then one as the timeout ends it.
        bookmark = stream.until(lambda e: e["type"] == "BOOKMARK")[-1]
        self.assertEqual(bookmark["object"], {
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {"resourceVersion": server.resource_version,
                         "creationTimestamp": None}})
        while stream.next() is not None:
            pass
        self.assertEqual(stream.ended, "clean")
        self.assertEqual(server.watch_count("pods"), 0)

        # A watch that does not ask for bookmarks gets none.
        quiet = self.watch(server.port, f"{PODS}?watch=true&resourceVersion="
                                        f"{server.resource_version}&timeoutSeconds=1")
        self.assertIsNone(quiet.next())
        self.assertEqual(quiet.ended, "clean")

    def test_compaction_expires_old_resource_versions(self):
        server = self.start_module()
        for index in range(3):
            server.create("pods", pod(f"reviews-{index}", f"10.244.0.{10 + index}"))
        old = server.resource_version
        page = self.ok(server.port, "GET", f"{PODS}?limit=1")
        server.create("pods", pod("reviews-3", "10.244.0.13"))
        # Before the compaction the past is still there: a list at an exact version.
        past = self.ok(server.port, "GET", f"{PODS}?resourceVersion={old}"
                                           f"&resourceVersionMatch=Exact")
        self.assertEqual(len(past["items"]), 3)
        self.assertEqual(past["metadata"]["resourceVersion"], old)

        server.compact()
        stream = self.watch(server.port, f"{PODS}?watch=true&resourceVersion={old}")
        event = stream.next()
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual((event["object"]["code"], event["object"]["reason"]), (410, "Expired"))
        self.assertRegex(event["object"]["message"], rf"^too old resource version: {old} \(\d+\)$")
        self.assertIsNone(stream.next())
        status, answer = self.request(server.port, "GET", f"{PODS}?resourceVersion={old}"
                                                          f"&resourceVersionMatch=Exact")
        self.assertEqual((status, answer["reason"], answer["message"]), (
            410, "Expired", "The resourceVersion for the provided list is too old."))
        status, answer = self.request(server.port, "GET",
                                      f"{PODS}?limit=1&continue={page['metadata']['continue']}")
        self.assertEqual((status, answer["reason"]), (410, "Expired"))
        self.assertIn("The provided continue parameter is too old", answer["message"])
        # The answer's token continues at the latest version, as kube-apiserver's does.
        rest = self.ok(server.port, "GET", f"{PODS}?continue={answer['metadata']['continue']}")
        self.assertEqual([i["metadata"]["name"] for i in rest["items"]],
                         ["reviews-1", "reviews-2", "reviews-3"])
        # From the current version, watching works again.
        current = self.watch(server.port, f"{PODS}?watch=true&resourceVersion="
                                          f"{server.resource_version}")
        self.assertTrue(server.wait_for_watches("pods", 1, timeout=5))
        server.delete("pods", "default", "reviews-3")
        self.assertEqual(current.next()["type"], "DELETED")
        # A version newer than the store's is a 504 client-go retries.
        status, answer = self.request(server.port, "GET", f"{PODS}?resourceVersion=999999"
                                                          f"&resourceVersionMatch=NotOlderThan")
        self.assertEqual((status, answer["reason"], answer["details"]["retryAfterSeconds"]),
                         (504, "Timeout", 1))

    def test_dropped_watches_end_with_or_without_the_last_chunk(self):
        server = self.start_module()
        server.load_crds(CRDS)
        stream = self.watch(server.port, f"{PODS}?watch=true")
        routes = self.watch(server.port, f"{ROUTES}?watch=true")
        self.assertTrue(server.wait_for_watches(count=2, timeout=5))
        self.assertEqual((server.watch_count("pods"), server.watch_count("tr")), (1, 1))

        # Abruptly, only the pods: the connection closes without the terminating chunk.
        self.assertEqual(server.drop_watches(resource="pods"), 1)
        self.assertIsNone(stream.next())
        self.assertEqual(stream.ended, "abrupt")
        self.assertEqual(server.watch_count("pods"), 0)
        self.assertEqual(server.watch_count("trafficroutes.weft.dev"), 1)

        # A client re-establishes its watch; tests wait for that.
        again = self.watch(server.port, f"{PODS}?watch=true")
        self.assertTrue(server.wait_for_watches("pods", 1, timeout=5))
        # Gracefully: the terminating chunk, and the connection stays usable.
        self.assertEqual(server.drop_watches(graceful=True), 2)
        self.assertIsNone(again.next())
        self.assertEqual(again.ended, "clean")
        self.assertIsNone(routes.next())
        self.assertEqual(routes.ended, "clean")
        self.assertEqual(again.send("GET", "/version"), 200)
        self.assertEqual(server.watch_count(), 0)

    def test_generation_and_the_status_subresource(self):
        server = self.start_module()
        server.load_crds(CRDS)
        port = server.port
        # On create, the status of a kind with a status subresource is dropped.
        created = self.ok(port, "POST", ROUTES, route(status={"observedGeneration": 5}))
        self.assertEqual(created["metadata"]["generation"], 1)
        self.assertNotIn("status", created)
        # Status through the main resource: ignored, so nothing changes at all.
        body = dict(created, status={"observedGeneration": 5})
        same = self.ok(port, "PUT", f"{ROUTES}/reviews", body)
        self.assertEqual(same["metadata"]["resourceVersion"],
                         created["metadata"]["resourceVersion"])
        self.assertNotIn("status", same)
        # The status subresource changes only the status (the spec sent along is ignored).
        body = route(weight=10, status={"observedGeneration": 1, "conditions": [
            {"type": "Accepted", "status": "True", "reason": "Valid", "message": "",
             "lastTransitionTime": "2024-05-01T10:00:00Z"}]})
        body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
        status = self.ok(port, "PUT", f"{ROUTES}/reviews/status", body)
        self.assertEqual(status["status"]["conditions"][0]["type"], "Accepted")
        self.assertEqual(status["spec"], created["spec"])
        self.assertEqual(status["metadata"]["generation"], 1)
        # A stale resourceVersion on the status subresource is a Conflict too.
        code, answer = self.request(port, "PUT", f"{ROUTES}/reviews/status", body)
        self.assertEqual((code, answer["details"]),
                         (409, {"name": "reviews", "group": "weft.dev",
                                "kind": "trafficroutes"}))
        self.assertEqual(self.ok(port, "GET", f"{ROUTES}/reviews/status")["status"],
                         status["status"])
        # Labels do not move the generation; the spec does; the status stays.
        labelled = self.ok(port, "PATCH", f"{ROUTES}/reviews",
                           {"metadata": {"labels": {"team": "a"}}},
                           "application/merge-patch+json")
        self.assertEqual(labelled["metadata"]["generation"], 1)
        respec = self.ok(port, "PATCH", f"{ROUTES}/reviews",
                         [{"op": "replace", "path": "/spec/rules/0/backends/0/weight",
                           "value": 70}], "application/json-patch+json")
        self.assertEqual(respec["metadata"]["generation"], 2)
        self.assertEqual(respec["status"], status["status"])
        merged = self.ok(port, "PATCH", f"{ROUTES}/reviews/status",
                         {"status": {"observedGeneration": 2}}, "application/merge-patch+json")
        self.assertEqual((merged["status"]["observedGeneration"],
                          merged["metadata"]["generation"]), (2, 2))
        # Strategic merge patches are for built-in kinds only.
        code, answer = self.request(port, "PATCH", f"{ROUTES}/reviews", {"spec": {}},
                                    "application/strategic-merge-patch+json")
        self.assertEqual((code, answer["reason"]), (415, "UnsupportedMediaType"))

        # The schema's errors, worded as kube-apiserver words them.
        bad = route("bad", weight=50)
        bad["spec"]["rules"][0]["backends"][0]["weight"] = -1
        del bad["spec"]["hosts"]
        code, answer = self.request(port, "POST", ROUTES, bad)
        self.assertEqual((code, answer["reason"]), (422, "Invalid"))
        self.assertEqual(answer["message"], 'TrafficRoute.weft.dev "bad" is invalid: ['
                         'spec.rules[0].backends[0].weight: Invalid value: -1: '
                         'spec.rules[0].backends[0].weight in body should be greater than or '
                         'equal to 0, spec.hosts: Required value]')
        self.assertEqual(answer["details"]["group"], "weft.dev")
        self.assertEqual(answer["details"]["causes"][1], {
            "reason": "FieldValueRequired", "message": "Required value",
            "field": "spec.hosts"})
        bad = route("bad2", status=None)
        bad["spec"]["hosts"] = ["reviews", "reviews"]
        bad["spec"]["rules"][0]["timeout"] = "soon"
        code, answer = self.request(port, "POST", ROUTES, bad)
        self.assertEqual(answer["details"]["causes"], [
            {"reason": "FieldValueInvalid", "field": "spec.rules[0].timeout",
             "message": 'Invalid value: "soon": spec.rules[0].timeout in body should match '
                        "'^\\+?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$'"},
            {"reason": "FieldValueDuplicate", "field": "spec.hosts[1]",
             "message": 'Duplicate value: "reviews"'}])
        # fieldValidation: Strict refuses unknown fields, Warn (the default) drops them.
        bad = route("typo")
        bad["spec"]["rules"][0]["colour"] = "blue"
        code, answer = self.request(port, "POST", f"{ROUTES}?fieldValidation=Strict", bad)
        self.assertEqual((code, answer["message"]), (
            400, 'strict decoding error: unknown field "spec.rules[0].colour"'))
        self.assertNotIn("colour", self.ok(port, "POST", ROUTES, bad)["spec"]["rules"][0])

        # Built-in kinds: EndpointSlices count generations (labels included), pods do not.
        server.create("endpointslices", {
            "metadata": {"name": "reviews-1", "labels": {"kubernetes.io/service-name": "r"}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.10"]}]})
        updated = server.patch("endpointslices", "default", "reviews-1",
                               {"metadata": {"labels": {"extra": "x"}}})
        self.assertEqual(updated["metadata"]["generation"], 2)
        self.assertEqual(updated["ports"] if "ports" in updated else None, None)
        created = server.create("pods", pod("reviews-0", "10.244.0.10"))
        self.assertNotIn("generation", created["metadata"])
        # pods/status changes the status only; a pod's main resource ignores status.
        changed = pod("reviews-0", "10.244.0.11", phase="Failed")
        changed["spec"]["nodeName"] = "node-9"
        written = server.update_status("pods", changed)
        self.assertEqual((written["status"]["podIP"], written["spec"]["nodeName"]),
                         ("10.244.0.11", "node-1"))
        again = server.patch("pods", "default", "reviews-0", {"status": {"phase": "Pending"}})
        self.assertEqual(again["status"]["phase"], "Failed")

    def test_leases_conflict_on_a_stale_resource_version(self):
        server = self.start_module()
        port = server.port
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "weft-controlplane", "namespace": "weft-system"},
                 "spec": {"holderIdentity": "controlplane-0", "leaseDurationSeconds": 15,
                          "acquireTime": "2024-05-01T12:00:00.000000+02:00",
                          "renewTime": "2024-05-01T10:00:00.000000Z",
                          "leaseTransitions": 0}}
        created = self.ok(port, "POST", LEASES, lease)
        # MicroTime: UTC, six fractional digits.
        self.assertEqual(created["spec"]["acquireTime"], "2024-05-01T10:00:00.000000Z")
        self.assertNotIn("generation", created["metadata"])
        renewed = json.loads(json.dumps(created))
        renewed["spec"]["renewTime"] = "2024-05-01T10:00:05.500000Z"
        updated = self.ok(port, "PUT", f"{LEASES}/weft-controlplane", renewed)
        self.assertGreater(int(updated["metadata"]["resourceVersion"]),
                           int(created["metadata"]["resourceVersion"]))
        # Another candidate, acting on what it read before the renewal, loses.
        taken = json.loads(json.dumps(created))
        taken["spec"].update(holderIdentity="controlplane-1", leaseTransitions=1)
        code, answer = self.request(port, "PUT", f"{LEASES}/weft-controlplane", taken)
        self.assertEqual((code, answer), (409, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'Operation cannot be fulfilled on leases.coordination.k8s.io '
                       f'"weft-controlplane": {STALE}',
            "reason": "Conflict",
            "details": {"name": "weft-controlplane", "group": "coordination.k8s.io",
                        "kind": "leases"},
            "code": 409}))
        with self.assertRaises(ApiError) as raised:
            server.update("leases", taken)
        self.assertEqual(raised.exception.code, 409)
        self.assertEqual(server.get("lease", "weft-system", "weft-controlplane")["spec"]
                         ["holderIdentity"], "controlplane-0")
        # A MicroTime without its six digits does not decode.
        renewed = dict(updated, spec=dict(updated["spec"], renewTime="2024-05-01T10:00:06Z"))
        code, answer = self.request(port, "PUT", f"{LEASES}/weft-controlplane", renewed)
        self.assertEqual(code, 400)
        self.assertIn('parsing time "2024-05-01T10:00:06Z" as '
                      '"2006-01-02T15:04:05.000000Z07:00"', answer["message"])
        code, answer = self.request(port, "PUT", f"{LEASES}/weft-controlplane", dict(
            updated, spec=dict(updated["spec"], leaseDurationSeconds=0)))
        self.assertEqual((code, answer["message"]), (
            422, 'Lease.coordination.k8s.io "weft-controlplane" is invalid: '
                 'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'))

    def test_discovery_and_openapi_describe_the_custom_resources(self):
        server = self.start_module()
        server.load_crds(os.path.join(CRDS, "trafficroutes.weft.dev.yaml"))
        groups = self.ok(server.port, "GET", "/apis")
        self.assertEqual([g["name"] for g in groups["groups"]], [
            "apps", "authentication.k8s.io", "batch", "admissionregistration.k8s.io",
            "apiextensions.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "weft.dev"])
        resources = self.ok(server.port, "GET", "/apis/weft.dev/v1alpha1")["resources"]
        self.assertEqual(resources, [
            {"name": "trafficroutes", "singularName": "trafficroute", "namespaced": True,
             "kind": "TrafficRoute", "verbs": ["delete", "deletecollection", "get", "list",
                                               "patch", "create", "update", "watch"],
             "shortNames": ["tr"], "categories": ["weft"]},
            {"name": "trafficroutes/status", "singularName": "", "namespaced": True,
             "kind": "TrafficRoute", "verbs": ["get", "patch", "update"]}])
        core = {r["name"] for r in self.ok(server.port, "GET", "/api/v1")["resources"]}
        self.assertTrue({"pods", "pods/status", "services", "services/status", "secrets",
                         "namespaces"} <= core, core)
        index = self.ok(server.port, "GET", "/openapi/v3")["paths"]
        self.assertIn("apis/weft.dev/v1alpha1", index)
        document = self.ok(server.port, "GET", index["apis/weft.dev/v1alpha1"]
                           ["serverRelativeURL"])
        schema = document["components"]["schemas"]["dev.weft.v1alpha1.TrafficRoute"]
        self.assertEqual(schema["x-kubernetes-group-version-kind"],
                         [{"group": "weft.dev", "kind": "TrafficRoute", "version": "v1alpha1"}])
        self.assertEqual(schema["properties"]["spec"]["required"], ["hosts", "rules"])
        patch = document["paths"]["/apis/weft.dev/v1alpha1/namespaces/{namespace}/"
                                  "trafficroutes/{name}"]["patch"]
        self.assertIn("fieldValidation", [p["name"] for p in patch["parameters"]])
        # Deleting the CRD deletes its objects and stops serving it.
        server.create("tr", route())
        server.delete("customresourcedefinitions", None, "trafficroutes.weft.dev")
        self.assertEqual(self.request(server.port, "GET", ROUTES)[0], 404)
        self.assertNotIn("apis/weft.dev/v1alpha1", self.ok(server.port, "GET",
                                                           "/openapi/v3")["paths"])

    def test_yaml_loader_reads_the_manifests_as_kubectl_does(self):
        # The program's --crd-file reads YAML without PyYAML: the CRDs it loads must be those
        # kubectl sends for the same files.
        by_kubectl = self.start_module()
        self.kubectl_ok(by_kubectl.port, "apply", "-f", CRDS)
        by_loader = self.start_module()
        self.assertEqual(sorted(by_loader.load_crds(CRDS)),
                         [f"{kind}.weft.dev" for kind in WEFT_KINDS])
        for kind in WEFT_KINDS:
            sent = by_kubectl.get("crd", None, f"{kind}.weft.dev")
            loaded = by_loader.get("crd", None, f"{kind}.weft.dev")
            self.assertEqual(loaded["spec"], sent["spec"], kind)
            self.assertEqual(loaded["metadata"]["labels"], sent["metadata"]["labels"])
        if yaml is None:
            return  # python3-yaml is not a dependency; without it the check above suffices
        files = sorted(glob.glob(os.path.join(CRDS, "*.yaml")) +
                       glob.glob(os.path.join(EXAMPLES, "*.yaml")))
        self.assertGreater(len(files), 10)
        for path in files:
            with open(path) as f:
                text = f.read()
            expected = [d for d in yaml.safe_load_all(text) if d is not None]
            self.assertEqual(kube_api_server.load_yaml_documents(text), expected, path)

if __name__ == "__main__":
    main()
