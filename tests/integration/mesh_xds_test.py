#!/usr/bin/env python3
"""The control plane and two sidecars on loopback, configured over xDS from a directory of
manifests (local mode): traffic follows route changes, an update a proxy cannot apply is
rejected while the old configuration keeps serving, traffic survives the control plane going
away, a proxy restarted meanwhile serves its persisted configuration, and a restarted control
plane gets every proxy back in sync. weftctl proxy-status and proxy-config report it all."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN_DIR, IntegrationTest, free_port, main  # noqa: E402

SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080, targetPort: http}]
# Not mesh configuration: ignored, as `kubectl apply` users keep them side by side.
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: default}
spec: {replicas: 1}
"""

WORKLOAD = """
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata:
  name: {name}
  namespace: default
  labels: {{app: {app}, version: {version}}}
spec:
  address: 127.0.0.1
  ports: [{{name: http, port: {app_port}}}]
  serviceAccount: {app}
{sidecar}"""

SUBSETS = """
apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
"""

CANARY = """
apiVersion: weft.dev/v1alpha1
kind: TrafficRoute
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  rules:
    - name: canary
      matches:
        - headers: [{name: x-canary, exact: "yes"}]
      backends: [{subset: v2}]
    - name: stable
      backends: [{subset: v1}]
"""

BOOTSTRAP = """
node: {{id: {name}, workload_name: {name}, namespace: default}}
admin: {{address: {{address: 127.0.0.1, port: {admin}}}}}
dynamic_resources:
  ads:
    server: {{address: {{address: 127.0.0.1, port: {xds}}}}}
    reconnect_backoff: {{base_interval: 0.1s, max_interval: 1s}}
persisted_config: {{path: {persisted}}}
"""


class MeshXdsTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        self.mesh = os.path.join(self.tempdir, "mesh")
        os.mkdir(self.mesh)
        self.xds_port = free_port()
        _, self.v1_port = self.start_backend("reviews-v1")
        _, self.v2_port = self.start_backend("reviews-v2")
        self.ports = {name: (free_port(), free_port(), free_port())  # inbound, outbound, admin
                      for name in ("productpage-v1", "reviews-v1")}
        self.put("services.yaml", SERVICES)
        self.put("productpage.yaml", self.workload("productpage-v1", "productpage", "v1",
                                                   free_port()))
        self.put("reviews-v1.yaml", self.workload("reviews-v1", "reviews", "v1", self.v1_port))
        # reviews-v2 runs without a sidecar: callers reach the application directly.
        self.put("reviews-v2.yaml", self.workload("reviews-v2", "reviews", "v2", self.v2_port,
                                                  sidecar=False))
        self.control_plane = self.start_control_plane()
        self.proxies = {name: self.start_sidecar(name) for name in self.ports}
        self.wait_synced(["productpage-v1", "reviews-v1"])

    # --- helpers -------------------------------------------------------------------------

    def workload(self, name, app, version, app_port, sidecar=True, outbound=None):
        block = ""
        if sidecar:
            inbound, default_outbound, _ = self.ports[name]
            block = (f"  sidecar: {{inboundPort: {inbound}, "
                     f"outboundPort: {outbound or default_outbound}}}\n")
        return WORKLOAD.format(name=name, app=app, version=version, app_port=app_port,
                               sidecar=block)

    def put(self, filename, text):
        """Writes a manifest the way an editor or kubectl cp would: whole, then renamed."""
        path = os.path.join(self.mesh, filename)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)

    def start_control_plane(self):
        process = self.start([os.path.join(BIN_DIR, "weft-controlplane"), "--config-dir",
                              self.mesh, "--xds-address", f"127.0.0.1:{self.xds_port}",
                              "--metrics-address", "127.0.0.1:0"], "weft-controlplane")
        process.wait_for(r"weft-controlplane \S+ ready")
        self.metrics_port = int(process.wait_for(r"metrics listening on 127\.0\.0\.1:(\d+)")
                                .group(1))
        return process

    def start_sidecar(self, name):
        _, _, admin = self.ports[name]
        path = self.write(f"{name}.yaml", BOOTSTRAP.format(
            name=name, admin=admin, xds=self.xds_port,
            persisted=os.path.join(self.tempdir, f"{name}.pb")))
        process = self.start([os.path.join(BIN_DIR, "weft-proxy"), "--config", path,
                              "--concurrency", "1"], f"proxy-{name}")
        process.wait_for(r"weft-proxy ready")
        return process

    def weftctl(self, *args):
        result = subprocess.run([os.path.join(BIN_DIR, "weftctl"), "--control-plane",
                                 f"127.0.0.1:{self.xds_port}", *args],
                                capture_output=True, text=True, timeout=20)
        return result.returncode, result.stdout, result.stderr

    def wait_until(self, predicate, what, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.05)
        self.fail(f"{what} did not happen within {timeout}s (last: {last!r})")

    def status_rows(self):
        code, out, err = self.weftctl("proxy-status")
        if code != 0:
            return {}
        rows = {}
        for line in out.splitlines()[1:]:
            cells = re.split(r"\s{3,}", line.strip())
            if len(cells) >= 9:
                rows[cells[0]] = cells
        return rows

    def wait_synced(self, names):
        def synced():
            rows = self.status_rows()
            return all(name in rows and "STALE" not in rows[name] and "NOT SENT" not in rows[name]
                       and "REJECTED" not in rows[name] for name in names) and rows
        return self.wait_until(synced, f"{names} SYNCED in proxy-status")

    def ask(self, headers=()):
        """A request from the productpage application to reviews, through its sidecar.
        Returns (status, backend name or reason)."""
        _, outbound, _ = self.ports["productpage-v1"]
        args = ["curl", "-s", "--max-time", "5", "-H", "Host: reviews:9080",
                "-o", "-", "-w", "\n%{http_code}", f"http://127.0.0.1:{outbound}/reviews/1"]
        for header in headers:
            args += ["-H", header]
        result = subprocess.run(args, capture_output=True, text=True, timeout=10)
        body, _, code = result.stdout.rpartition("\n")
        status = int(code or 0)
        if status == 200:
            return status, json.loads(body)["backend"]
        return status, body.strip()

    def backend_for(self, headers=()):
        status, who = self.ask(headers)
        return who if status == 200 else None

    def routed(self, stable, canary):
        """True once plain requests reach `stable` and x-canary ones `canary`, ten in a row
        (before a route applies, both versions answer at random)."""
        return all(self.backend_for() == stable and
                   self.backend_for(["x-canary: yes"]) == canary for _ in range(10))

    def route_canary(self):
        self.put("subsets.yaml", SUBSETS)
        self.put("route.yaml", CANARY)
        self.wait_until(lambda: self.routed("reviews-v1", "reviews-v2"), "the canary route")

    # --- tests ---------------------------------------------------------------------------

    def test_traffic_goes_through_both_sidecars(self):
        self.route_canary()
        # The endpoint is reviews-v1's sidecar, not the application: without it, no answer.
        self.proxies["reviews-v1"].stop()
        status, reason = self.ask()
        self.assertEqual(status, 503, reason)

    def test_route_change_is_followed(self):
        answers = [self.ask() for _ in range(40)]
        seen = {who for status, who in answers if status == 200}
        failures = [answer for answer in answers if answer[0] != 200]
        self.assertEqual(failures, [])
        self.assertEqual(seen, {"reviews-v1", "reviews-v2"})  # both endpoints, no route yet
        self.route_canary()
        # Editing the route moves the traffic again.
        self.put("route.yaml", CANARY.replace("subset: v1", "subset: v2"))
        self.wait_until(lambda: self.routed("reviews-v2", "reviews-v2"),
                        "stable traffic moved to v2")

    def test_update_that_cannot_be_applied_is_rejected_and_old_config_serves(self):
        self.route_canary()
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            # The new outbound port is in use: the proxy cannot bind it and NACKs.
            self.put("productpage.yaml", self.workload("productpage-v1", "productpage", "v1",
                                                       free_port(), outbound=taken))

            def rejected():
                rows = self.status_rows()
                return "productpage-v1" in rows and "REJECTED" in rows["productpage-v1"]
            self.wait_until(rejected, "proxy-status showing the rejection")
            code, out, _ = self.weftctl("proxy-status")
            # The listener waits for its new routes, so the update is rejected when the
            # routes arrive and the whole configuration is put in place.
            self.assertRegex(out, r"productpage-v1 rejected \w+ \w+: .*127\.0\.0\.1:"
                             f"{taken}: Address already in use")
            code, detail, _ = self.weftctl("proxy-status", "productpage-v1")
            self.assertEqual(code, 0)
            self.assertRegex(detail, r"last rejection of \w+: .*Address already in use")
            self.proxies["productpage-v1"].wait_for(r"rejected .*Address already in use")
            # The old listener still serves.
            for _ in range(10):
                self.assertEqual(self.backend_for(), "reviews-v1")
        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        self.assertRegex(metrics, r'weft_cp_xds_nacks_total\{code="9",type="\w+"\} [1-9]')

    def test_bad_manifest_is_reported_and_the_rest_keeps_working(self):
        self.route_canary()
        # A typo in the route: reported with file and field; its last good version stays.
        self.put("route.yaml", CANARY.replace("backends: [{subset: v1}]",
                                              "backendz: [{subset: v2}]"))
        self.control_plane.wait_for(r"route\.yaml.*TrafficRoute default/reviews.*backendz")
        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        self.assertRegex(metrics,
                         r'weft_cp_source_documents_total\{kind="TrafficRoute",result="rejected"\} '
                         r'[1-9]')
        for _ in range(10):
            self.assertEqual(self.backend_for(), "reviews-v1")

    def test_traffic_keeps_flowing_without_the_control_plane(self):
        self.route_canary()
        self.control_plane.signal(signal.SIGKILL)
        self.control_plane.wait()
        self.proxies["productpage-v1"].wait_for(r"discovery stream .* closed")
        for _ in range(20):
            self.assertEqual(self.backend_for(), "reviews-v1")
            self.assertEqual(self.backend_for(["x-canary: yes"]), "reviews-v2")

    def test_restarted_proxy_serves_persisted_config_while_control_plane_is_down(self):
        self.route_canary()
        self.control_plane.signal(signal.SIGKILL)
        self.control_plane.wait()
        self.proxies["productpage-v1"].stop()
        self.proxies["productpage-v1"] = self.start_sidecar("productpage-v1")
        self.proxies["productpage-v1"].wait_for(r"serving the persisted configuration")
        self.assertEqual(self.admin_ready("productpage-v1")[0], 200)
        for _ in range(10):
            self.assertEqual(self.backend_for(), "reviews-v1")
            self.assertEqual(self.backend_for(["x-canary: yes"]), "reviews-v2")

    def admin_ready(self, name):
        """(status, body) of the proxy's /ready, what its startup probe and `weft-proxy wait`
        ask through the status port."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[name][2]}/ready",
                                        timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def test_a_proxy_is_not_ready_before_its_first_configuration(self):
        # Without the control plane, a proxy that has never had a configuration has no
        # listener: it must say so, or an injected pod's app would start with its traffic
        # captured to nothing.
        self.control_plane.signal(signal.SIGKILL)
        self.control_plane.wait()
        self.proxies["productpage-v1"].stop()
        os.unlink(os.path.join(self.tempdir, "productpage-v1.pb"))
        self.proxies["productpage-v1"] = self.start_sidecar("productpage-v1")
        status, body = self.admin_ready("productpage-v1")
        self.assertEqual(status, 503, body)
        self.assertIn("waiting for the first configuration from the control plane", body)
        self.control_plane = self.start_control_plane()
        self.wait_until(lambda: self.admin_ready("productpage-v1")[0] == 200,
                        "ready once the configuration arrives")
        self.assertIn(self.backend_for(), ("reviews-v1", "reviews-v2"))

    def test_restarted_control_plane_gets_every_proxy_back_in_sync(self):
        self.control_plane.signal(signal.SIGTERM)
        self.assertEqual(self.control_plane.wait(), 0)
        for proxy in self.proxies.values():
            proxy.wait_for(r"discovery stream .* closed")
        self.control_plane = self.start_control_plane()
        self.wait_synced(["productpage-v1", "reviews-v1"])
        for name, proxy in self.proxies.items():
            proxy.wait_for(r"discovery stream to \S+ established(.|\n)*established")
        # The new control plane's changes reach the proxies.
        self.route_canary()

    def test_proxy_config_shows_what_the_proxy_runs(self):
        self.route_canary()
        code, out, err = self.weftctl("proxy-config", "productpage-v1", "routes")
        self.assertEqual(code, 0, err)
        self.assertIn("reviews.default.svc.cluster.local:9080", out)
        self.assertIn("default/reviews/canary", out)
        self.assertIn("outbound/reviews.default.svc.cluster.local:9080/v2", out)
        _, _, admin = self.ports["reviews-v1"]
        code, out, err = self.weftctl("proxy-config", f"127.0.0.1:{admin}", "clusters")
        self.assertEqual(code, 0, err)
        self.assertIn("inbound/", out)
        code, out, err = self.weftctl("proxy-config", "productpage-v1", "endpoints")
        self.assertEqual(code, 0, err)
        self.assertIn(f"127.0.0.1:{self.v2_port}", out)  # reviews-v2 has no sidecar
        code, out, err = self.weftctl("proxy-config", "productpage-v1", "endpoints", "-o", "json")
        self.assertEqual(code, 0, err)
        clusters = {c["name"]: c for c in json.loads(out)["clusters"]}
        self.assertTrue(clusters["outbound/reviews.default.svc.cluster.local:9080"]
                        ["added_via_api"])
        code, out, err = self.weftctl("proxy-config", "productpage-v1", "listeners", "-o", "json")
        self.assertEqual(code, 0, err)
        names = {listener["name"] for listener in json.loads(out)}
        self.assertEqual(names, {"inbound", "outbound"})
        # Unreachable things are said in plain words.
        code, _, err = self.weftctl("proxy-config", f"127.0.0.1:{free_port()}", "routes")
        self.assertEqual(code, 1)
        self.assertIn("cannot connect to the admin endpoint", err)
        code, _, err = self.weftctl("proxy-config", "no-such-proxy")
        self.assertEqual(code, 1)
        self.assertIn('no proxy named "no-such-proxy"', err)
        self.control_plane.stop()
        code, _, err = self.weftctl("proxy-status")
        self.assertEqual(code, 1)
        self.assertIn("cannot reach the control plane", err)


if __name__ == "__main__":
    main()
