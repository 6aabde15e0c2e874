#!/usr/bin/env python3
"""The control plane in cluster mode (--kubernetes) against the Kubernetes API test server
(tests/tools/kube_api_server.py, checked against the real kubectl by kube_api_server_test.py
and kube_api_resources_test.py), with a real sidecar and real traffic on loopback:

- Services, Pods and EndpointSlices decide the endpoints: a pod receives traffic once an
  EndpointSlice lists it ready, and stops when it is listed not ready or deleted;
- TrafficRoutes and DestinationPolicies created, changed and deleted reach the proxy;
- a watch dropped by the server resumes from its resourceVersion and misses nothing, without
  a new list; a resourceVersion compacted meanwhile (410 Gone) leads to a list, and the model
  matches the server; an event lost altogether is repaired by the periodic resync;
- the leader writes status conditions (Accepted True, or False with the field and reason) that
  the real kubectl shows; of two replicas, one holds the Lease and writes; when it stops,
  the other takes over.

The productpage caller is a weft.dev Workload with its own sidecar ports (as a VM would be);
the reviews pods run without sidecars, so the caller's proxy reaches their applications
directly and every answer names the pod that served it."""
import base64
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, SOURCE_DIR, IntegrationTest, free_port, main, require_tool  # noqa: E402

try:
    import mesh_certs  # python3-cryptography, which only /usr/bin/python3 has
    from kube_api_server import KubeApiServer
except ImportError:
    mesh_certs = None

ADMIN_TOKEN = "control-plane-sa-token"
CRDS = os.path.join(SOURCE_DIR, "deploy", "k8s", "crds")

BOOTSTRAP = """
node: {{id: {name}, workload_name: {name}, namespace: default}}
admin: {{address: {{address: 127.0.0.1, port: {admin}}}}}
dynamic_resources:
  ads:
    server: {{address: {{address: 127.0.0.1, port: {xds}}}}}
    reconnect_backoff: {{base_interval: 0.1s, max_interval: 1s}}
"""

CANARY_RULES = [
    {"name": "canary", "matches": [{"headers": [{"name": "x-canary", "exact": "yes"}]}],
     "backends": [{"subset": "v2"}]},
    {"name": "stable", "backends": [{"subset": "v1"}]},
]


def metadata(name, namespace="default", **extra):
    return {"name": name, "namespace": namespace, **extra}


class KubernetesSourceTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        if mesh_certs is None:
            self.skipTest("needs python3-cryptography (/usr/bin/python3)")
        require_tool("curl")
        authority = mesh_certs.Authority("kubernetes-test-ca")
        self.kube_ca = self.write("kube-ca.crt", authority.cert_pem())
        cert, key = mesh_certs.write_pair(
            self.tempdir, "kube-apiserver", authority.issue([], ip_addresses=["127.0.0.1"]))
        self.kube_token = self.write("sa-token", ADMIN_TOKEN + "\n")
        # Client certificates (a kubeconfig user's) chain to their own root, as on a cluster.
        self.client_authority = mesh_certs.Authority("kubernetes-client-ca")
        client_ca = self.write("client-ca.crt", self.client_authority.cert_pem())
        self.api = KubeApiServer(cert, key, token=ADMIN_TOKEN, crds=[CRDS],
                                 bookmark_interval=0.2, client_ca=client_ca)
        self.api.start()
        self.addCleanup(self.api.stop)

        _, self.v1_port = self.start_backend("reviews-v1")
        _, self.v2_port = self.start_backend("reviews-v2")
        self.inbound, self.outbound, self.admin = free_port(), free_port(), free_port()
        self.api.create("services", {"metadata": metadata("reviews"), "spec": {
            "selector": {"app": "reviews"},
            "ports": [{"name": "http", "port": 9080, "targetPort": "http"}]}})
        self.api.create("workloads", {
            "apiVersion": "weft.dev/v1alpha1", "kind": "Workload",
            "metadata": metadata("productpage-v1", labels={"app": "productpage"}),
            "spec": {"address": "127.0.0.1", "serviceAccount": "productpage",
                     "sidecar": {"inboundPort": self.inbound, "outboundPort": self.outbound}}})
        self.add_pod("reviews-v1", "v1", self.v1_port)
        self.set_slice({"reviews-v1": True})
        self.control_planes = []
        self.control_plane = self.start_control_plane()
        self.sidecar = self.start_sidecar()

    # --- the cluster ---------------------------------------------------------------------

    def add_pod(self, name, version, port):
        self.api.create("pods", {"metadata": metadata(
            name, labels={"app": "reviews", "version": version}),
            "spec": {"serviceAccountName": "reviews", "nodeName": "node-1", "containers": [
                {"name": "app", "image": "reviews:1",
                 "ports": [{"name": "http", "containerPort": port}]}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}]}})

    def set_slice(self, ready_by_pod):
        """The reviews EndpointSlice as the endpoint-slice controller would write it."""
        self.api.put("endpointslices", {
            "metadata": metadata("reviews-x7k2p", labels={
                "kubernetes.io/service-name": "reviews",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}),
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": ready},
                           "targetRef": {"kind": "Pod", "namespace": "default", "name": pod},
                           "nodeName": "node-1", "zone": "zone-a"}
                          for pod, ready in sorted(ready_by_pod.items())],
            "ports": [{"name": "http", "port": 9080, "protocol": "TCP"}]})

    def add_subsets(self):
        self.api.create("destinationpolicies", {
            "apiVersion": "weft.dev/v1alpha1", "kind": "DestinationPolicy",
            "metadata": metadata("reviews"),
            "spec": {"host": "reviews", "subsets": [
                {"name": "v1", "labels": {"version": "v1"}},
                {"name": "v2", "labels": {"version": "v2"}}]}})

    def route(self, rules, name="reviews"):
        return {"apiVersion": "weft.dev/v1alpha1", "kind": "TrafficRoute",
                "metadata": metadata(name), "spec": {"hosts": ["reviews"], "rules": rules}}

    # --- processes -----------------------------------------------------------------------

    def start_control_plane(self, name="weft-controlplane", extra=(), kube=None):
        xds_port = free_port()
        kube = kube or ["--kube-api-server", self.api.url, "--kube-token-file", self.kube_token,
                        "--kube-ca-file", self.kube_ca]
        process = self.start([
            os.path.join(BIN_DIR, "weft-controlplane"), "--kubernetes", *kube,
            "--xds-address", f"127.0.0.1:{xds_port}", "--metrics-address", "127.0.0.1:0",
            "--debounce-ms", "20", "--id", name,
            "--kube-watch-timeout", "5s", "--kube-resync-period", "3s",
            "--leader-election-namespace", "weft-system", "--leader-lease-duration", "3s",
            *extra], name)
        process.wait_for(r"weft-controlplane \S+ ready")
        process.xds_port = xds_port
        process.metrics_port = int(
            process.wait_for(r"metrics listening on 127\.0\.0\.1:(\d+)").group(1))
        self.control_planes.append(process)
        return process

    def start_sidecar(self):
        path = self.write("productpage.yaml", BOOTSTRAP.format(
            name="productpage-v1", admin=self.admin, xds=self.control_plane.xds_port))
        process = self.start([os.path.join(BIN_DIR, "weft-proxy"), "--config", path,
                              "--concurrency", "1"], "proxy-productpage")
        process.wait_for(r"weft-proxy ready")
        return process

    def metrics(self, control_plane):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{control_plane.metrics_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values

    def metric(self, control_plane, name, resource=None):
        key = f'{name}{{resource="{resource}"}}' if resource else name
        return self.metrics(control_plane).get(key, 0.0)

    def kubectl(self, *args):
        result = subprocess.run(
            ["kubectl", "--server", self.api.url, "--certificate-authority", self.kube_ca,
             "--token", ADMIN_TOKEN, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    # --- traffic -------------------------------------------------------------------------

    def ask(self, headers=()):
        """A request from productpage to reviews through its sidecar: (status, backend)."""
        args = ["curl", "-s", "--max-time", "5", "-H", "Host: reviews:9080",
                "-o", "-", "-w", "\n%{http_code}", f"http://127.0.0.1:{self.outbound}/r"]
        for header in headers:
            args += ["-H", header]
        result = subprocess.run(args, capture_output=True, text=True, timeout=10)
        body, _, code = result.stdout.rpartition("\n")
        status = int(code or 0)
        return status, json.loads(body)["backend"] if status == 200 else body.strip()

    def backends_seen(self, requests=12, headers=()):
        seen = set()
        for _ in range(requests):
            status, who = self.ask(headers)
            seen.add(who if status == 200 else status)
        return seen

    def wait_until(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.1)
        logs = "".join(f"\n--- {p.name} (last lines) ---\n" +
                       "\n".join(p.output().splitlines()[-25:]) for p in self.processes
                       if p.name.startswith(("weft-controlplane", "proxy-")))
        self.fail(f"{what} did not happen within {timeout}s (last: {last!r}){logs}")

    def wait_backends(self, expected, headers=()):
        self.wait_until(lambda: self.backends_seen(headers=headers) == expected or None,
                        f"traffic reaching exactly {sorted(map(str, expected))}")

    def accepted_condition(self, resource, name):
        obj = self.api.get(resource, "default", name) or {}
        for condition in obj.get("status", {}).get("conditions", []):
            if condition.get("type") == "Accepted":
                return obj, condition
        return obj, None

    # --- tests ---------------------------------------------------------------------------

    def test_endpoint_slices_decide_which_pods_get_traffic(self):
        self.wait_backends({"reviews-v1"})
        # A pod no EndpointSlice lists ready yet (starting) gets nothing.
        self.add_pod("reviews-v2", "v2", self.v2_port)
        time.sleep(0.5)
        self.assertEqual(self.backends_seen(), {"reviews-v1"})
        self.set_slice({"reviews-v1": True, "reviews-v2": True})
        self.wait_backends({"reviews-v1", "reviews-v2"})
        # Not ready (a failing readiness probe, or terminating): out.
        self.set_slice({"reviews-v1": False, "reviews-v2": True})
        self.wait_backends({"reviews-v2"})
        # Deleted pod: out, even while a stale slice still names it.
        self.set_slice({"reviews-v1": True, "reviews-v2": True})
        self.wait_backends({"reviews-v1", "reviews-v2"})
        self.api.delete("pods", "default", "reviews-v2")
        self.wait_backends({"reviews-v1"})
        # Service deleted: no route for the host any more.
        self.api.delete("services", "default", "reviews")
        self.wait_until(lambda: self.ask()[0] == 404 or None, "reviews unknown to the proxy")

    def test_policies_are_created_changed_and_deleted(self):
        self.add_pod("reviews-v2", "v2", self.v2_port)
        self.set_slice({"reviews-v1": True, "reviews-v2": True})
        self.add_subsets()
        self.api.create("trafficroutes", self.route(CANARY_RULES))
        self.wait_backends({"reviews-v2"}, headers=["x-canary: yes"])
        self.wait_backends({"reviews-v1"})
        # Changed: everything to v2.
        self.api.put("trafficroutes", self.route([{"backends": [{"subset": "v2"}]}]))
        self.wait_backends({"reviews-v2"})
        # Deleted: the service's endpoints, all of them.
        self.api.delete("trafficroutes", "default", "reviews")
        self.wait_backends({"reviews-v1", "reviews-v2"})

    def test_dropped_watch_resumes_without_a_list_and_misses_nothing(self):
        self.wait_backends({"reviews-v1"})
        self.assertTrue(self.api.wait_for_watches("pods"))
        self.assertTrue(self.api.wait_for_watches("endpointslices"))
        lists = {kind: self.metric(self.control_plane, "weft_cp_kube_lists_total", kind)
                 for kind in ("Pod", "EndpointSlice")}
        watches = self.metric(self.control_plane, "weft_cp_kube_watches_total", "Pod")
        # Cut every watch the way a load balancer does, and change the cluster at once, while
        # the control plane has no watch open.
        self.assertGreater(self.api.drop_watches(), 0)
        self.add_pod("reviews-v2", "v2", self.v2_port)
        self.set_slice({"reviews-v1": False, "reviews-v2": True})
        self.wait_backends({"reviews-v2"})
        self.wait_until(lambda: self.metric(self.control_plane, "weft_cp_kube_watches_total",
                                            "Pod") > watches or None, "the Pod watch resumed")
        for kind, before in lists.items():
            self.assertEqual(self.metric(self.control_plane, "weft_cp_kube_lists_total", kind),
                             before, f"{kind}: resumed from its resourceVersion, not listed")
        self.assertEqual(self.metric(self.control_plane, "weft_cp_kube_relists_expired_total",
                                     "EndpointSlice"), 0)

    def test_compacted_resource_version_leads_to_a_list_that_matches_the_server(self):
        self.add_pod("reviews-v2", "v2", self.v2_port)
        self.wait_backends({"reviews-v1"})
        self.assertTrue(self.api.wait_for_watches("endpointslices"))
        # The next watch of EndpointSlices waits, the open one is cut, the slice changes, and
        # the change is compacted away: the resumed watch can only get 410 Gone.
        self.api.delay_next(1, 1.5, method="GET", path="/apis/discovery.k8s.io/v1/endpointslices")
        self.api.drop_watches(resource="endpointslices")
        self.set_slice({"reviews-v1": False, "reviews-v2": True})
        self.api.compact()
        self.wait_backends({"reviews-v2"})
        self.assertGreaterEqual(self.metric(
            self.control_plane, "weft_cp_kube_relists_expired_total", "EndpointSlice"), 1)

    def test_a_list_whose_snapshot_expires_between_pages_starts_over(self):
        # Its own control plane, listing two pods a page; the first one stops so that nothing
        # else asks for pods meanwhile.
        self.control_plane.signal(signal.SIGTERM)
        self.assertEqual(self.control_plane.wait(timeout=20), 0)
        self.add_pod("reviews-v2", "v2", self.v2_port)
        self.add_pod("reviews-v3", "v3", self.v2_port)
        self.api.delay_next(2, 2.0, method="GET", path="/api/v1/pods")
        cp = self.start_control_plane("weft-controlplane-paged",
                                      extra=["--kube-list-page-size", "2"])

        def first_page_answered():
            return any(r.method == "GET" and r.path == "/api/v1/pods" and "limit=2" in r.query
                       and "continue=" not in r.query for r in self.api.request_log)

        self.wait_until(first_page_answered, "the first page of pods")
        # The second page is still held back: the snapshot it continues is compacted now.
        self.api.create("secrets", {"metadata": metadata("unrelated"), "data": {}})
        self.api.compact()
        self.wait_until(lambda: self.metric(cp, "weft_cp_kube_relists_expired_total", "Pod")
                        >= 1 or None, "the expired continue token seen")
        self.wait_until(lambda: self.metric(cp, "weft_cp_kube_synced", "Pod") == 1.0 or None,
                        "pods listed again from the first page")
        self.assertEqual(self.metric(cp, "weft_cp_kube_objects", "Pod"), 3)
        self.assertEqual(self.metric(cp, "weft_cp_kube_lists_total", "Pod"), 1)

    def probe(self, control_plane, path):
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{control_plane.metrics_port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def test_ready_only_once_every_resource_is_listed(self):
        # Nothing else may ask for services meanwhile: the first control plane stops.
        self.control_plane.signal(signal.SIGTERM)
        self.assertEqual(self.control_plane.wait(timeout=20), 0)
        self.api.delay_next(1, 3.0, method="GET", path="/api/v1/services")
        cp = self.start_control_plane("weft-controlplane-late")
        status, body = self.probe(cp, "/ready")
        self.assertEqual(status, 503, body)
        self.assertIn("Service", body)
        self.assertEqual(self.probe(cp, "/healthz"), (200, "ok\n"))
        # Every other resource comes in; the held-back one is what it still waits for.
        self.wait_until(lambda: self.probe(cp, "/ready") == (
            503, "not ready: waiting for the first list of Service\n") or None,
            "only Services missing")
        self.wait_until(lambda: self.probe(cp, "/ready")[0] == 200 or None, "ready")

    def test_resync_repairs_an_event_that_never_came(self):
        self.add_pod("reviews-v2", "v2", self.v2_port)
        self.set_slice({"reviews-v1": True, "reviews-v2": True})
        self.wait_backends({"reviews-v1", "reviews-v2"})
        # The pod disappears from the store without a DELETED event (a lost event).
        store = self.api.store
        pods = self.api.resource("pods")
        with store.lock:
            del store.objects[pods.qualified][("default", "reviews-v2")]
            store.rv += 1
        self.wait_backends({"reviews-v1"})
        self.assertGreaterEqual(self.metric(
            self.control_plane, "weft_cp_kube_drift_repairs_total", "Pod"), 1)
        self.assertGreaterEqual(self.metric(self.control_plane, "weft_cp_kube_resyncs_total",
                                            "Pod"), 1)

    def test_status_says_whether_each_resource_is_in_effect(self):
        require_tool("kubectl")
        self.add_subsets()
        self.api.create("trafficroutes", self.route(CANARY_RULES))
        # Valid for the CRD's schema, refused by the control plane: RE2 cannot compile it.
        broken = self.route([{"matches": [{"headers": [{"name": "x-user", "regex": "(alice"}]}],
                              "backends": [{"subset": "v2"}]}], name="broken")
        self.api.create("trafficroutes", broken)

        def condition(name, status):
            obj, found = self.accepted_condition("trafficroutes", name)
            if found and found["status"] == status and \
                    found.get("observedGeneration") == obj["metadata"]["generation"] and \
                    obj["status"].get("observedGeneration") == obj["metadata"]["generation"]:
                return found
            return None

        good = self.wait_until(lambda: condition("reviews", "True"), "reviews Accepted=True")
        self.assertEqual(good["reason"], "Accepted")
        bad = self.wait_until(lambda: condition("broken", "False"), "broken Accepted=False")
        self.assertEqual(bad["reason"], "Invalid")
        self.assertIn("spec.rules[0].matches[0].headers[0].regex", bad["message"])
        self.assertIn("invalid RE2 regular expression", bad["message"])
        policy = self.wait_until(lambda: self.accepted_condition(
            "destinationpolicies", "reviews")[1], "the DestinationPolicy's status")
        self.assertEqual(policy["status"], "True")
        # What users see: the printer column of the CRD.
        table = self.kubectl("get", "trafficroutes", "-n", "default")
        self.assertRegex(table, r"(?m)^broken\s.*\sFalse\s")
        self.assertRegex(table, r"(?m)^reviews\s.*\sTrue\s")
        described = self.kubectl("describe", "trafficroute", "broken", "-n", "default")
        self.assertIn("invalid RE2 regular expression", described)

        # Fixed: a new generation, Accepted again, with a new transition time.
        broken["spec"]["rules"][0]["matches"][0]["headers"][0]["regex"] = "(alice|bob)"
        self.api.put("trafficroutes", broken)
        fixed = self.wait_until(lambda: condition("broken", "True"), "broken fixed")
        self.assertEqual(fixed["observedGeneration"], 2)
        writes = self.metric(self.control_plane, "weft_cp_status_writes_total")
        # A status already right is not written again.
        time.sleep(1)
        self.assertEqual(self.metric(self.control_plane, "weft_cp_status_writes_total"), writes)

    def test_two_replicas_elect_one_status_writer(self):
        second = self.start_control_plane("weft-controlplane-b")
        first = self.control_plane

        def leaders():
            flags = [self.metric(cp, "weft_cp_leader") for cp in (first, second)]
            return flags if sorted(flags) == [0.0, 1.0] else None

        flags = self.wait_until(leaders, "exactly one leader")
        leader, follower = (first, second) if flags[0] == 1.0 else (second, first)
        lease = self.api.get("leases", "weft-system", "weft-controlplane")
        leader_name = "weft-controlplane" if leader is first else "weft-controlplane-b"
        self.assertEqual(lease["spec"]["holderIdentity"], leader_name)
        self.api.create("trafficroutes", self.route([{"backends": [{"service": "reviews"}]}]))
        self.wait_until(lambda: self.accepted_condition("trafficroutes", "reviews")[1],
                        "status from the leader")
        self.assertGreaterEqual(self.metric(leader, "weft_cp_status_writes_total"), 1)
        self.assertEqual(self.metric(follower, "weft_cp_status_writes_total"), 0)

        # The leader stops: it hands the Lease back, and the other replica takes over and
        # writes the status of what changes next.
        transitions = lease["spec"].get("leaseTransitions", 0)
        leader.signal(signal.SIGTERM)
        self.assertEqual(leader.wait(timeout=20), 0)
        self.wait_until(lambda: self.metric(follower, "weft_cp_leader") == 1.0 or None,
                        "the follower leading")
        lease = self.api.get("leases", "weft-system", "weft-controlplane")
        self.assertNotEqual(lease["spec"]["holderIdentity"], leader_name)
        self.assertGreater(lease["spec"]["leaseTransitions"], transitions)
        self.api.create("trafficroutes", self.route([{"backends": [{"service": "reviews"}]}],
                                                    name="later"))
        self.wait_until(lambda: self.accepted_condition("trafficroutes", "later")[1],
                        "status from the new leader")

    def test_kubeconfig_with_a_client_certificate(self):
        # A kubeconfig as `kind` or kubeadm write it: inline CA, client certificate and key.
        cert, key = self.client_authority.issue([], common_name="weft-operator",
                                                organizations=["system:masters"])
        encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
        with open(self.kube_ca) as f:
            ca = f.read()
        kubeconfig = self.write("kubeconfig", json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {
                "server": self.api.url, "certificate-authority-data": encode(ca)}}],
            "users": [{"name": "operator", "user": {
                "client-certificate-data": encode(cert), "client-key-data": encode(key)}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "operator"}}]}))
        # The real client authenticates with it: the server's x509 authenticator is faithful.
        whoami = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "auth", "whoami",
                                 "-o", "json"], capture_output=True, text=True, timeout=30)
        self.assertEqual(whoami.returncode, 0, whoami.stderr)
        self.assertEqual(json.loads(whoami.stdout)["status"]["userInfo"]["username"],
                         "weft-operator")
        def runtime_dirs():
            return set(glob.glob(os.path.join(tempfile.gettempdir(), "weft-kube-*")))

        before = runtime_dirs()
        cp = self.start_control_plane("weft-controlplane-kubeconfig",
                                      kube=["--kubeconfig", kubeconfig])
        self.wait_until(lambda: self.metric(cp, "weft_cp_kube_synced", "Service") == 1.0 or None,
                        "Services listed with the client certificate")
        self.assertEqual(self.metric(cp, "weft_cp_kube_failures_total", "Service"), 0)
        self.assertEqual(self.metric(cp, "weft_cp_kube_served", "TrafficRoute"), 1.0)
        # The inline credentials were written for the clients, privately, and are gone when
        # the control plane exits.
        created = runtime_dirs() - before
        self.assertEqual(len(created), 1, created)
        runtime = created.pop()
        self.assertEqual(os.stat(runtime).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(runtime, "client.key")).st_mode & 0o777, 0o600)
        cp.signal(signal.SIGTERM)
        self.assertEqual(cp.wait(timeout=20), 0)
        self.assertFalse(os.path.exists(runtime))

    def test_mesh_comes_up_with_crds_missing_and_picks_them_up_later(self):
        # A cluster where the CRDs were not installed (yet): services and pods still work.
        for crd in list(self.api.list("customresourcedefinitions")):
            self.api.delete("customresourcedefinitions", None, crd["metadata"]["name"])
        cp = self.start_control_plane("weft-controlplane-nocrd")
        self.wait_until(lambda: self.metric(cp, "weft_cp_kube_served", "TrafficRoute") == 0.0
                        and self.metric(cp, "weft_cp_kube_synced", "TrafficRoute") == 1.0
                        or None, "TrafficRoute known not to be served")
        self.assertEqual(self.metric(cp, "weft_cp_kube_served", "Service"), 1.0)
        self.api.load_crds(CRDS)
        self.wait_until(lambda: self.metric(cp, "weft_cp_kube_served", "TrafficRoute") == 1.0
                        or None, "TrafficRoute served once its CRD is installed", timeout=60)


if __name__ == "__main__":
    main()
