#!/usr/bin/env python3
"""The mesh end to end, on the namespace harness that `weftctl demo` runs
(scripts/demo/netns_mesh.py, scripts/demo/mesh_demo.py): the shop's five meshed pods, each
with `weft-proxy init` rules and a sidecar configured by weft-controlplane from a directory of
manifests, and a client pod outside the mesh. Each test asserts exact outcomes of real
traffic; manifest edits are undone, and waited for, before the next test.

Needs root, ip, iptables, setpriv, curl; skips (77) otherwise, which CI counts as a failure.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness  # noqa: E402

DEMO_DIR = os.path.join(harness.SOURCE_DIR, "scripts", "demo")
sys.path.insert(0, DEMO_DIR)
import mesh_demo  # noqa: E402
import netns_mesh  # noqa: E402

PREFIX = "weft-e2e-mesh"

# Requests made inside a pod, on one connection to wherever the app dials (through the pod's
# sidecar when the pod is meshed). Prints one JSON list: [status, catalog pod or error].
CATALOG_CLIENT = """
import http.client, json, sys
host, count = sys.argv[1], int(sys.argv[2])
out = []
connection = None
for _ in range(count):
    try:
        if connection is None:
            connection = http.client.HTTPConnection(host, 9080, timeout=10)
        connection.request("GET", "/items/1")
        response = connection.getresponse()
        body = response.read()
        out.append([response.status, json.loads(body).get("pod", "") if response.status == 200
                    else body.decode(errors="replace")[:200]])
    except (OSError, http.client.HTTPException) as error:
        out.append([0, type(error).__name__])
        connection = None
print(json.dumps(out))
"""


class MeshTest(harness.IntegrationTest):
    """One shop for the class; traffic comes from the tests themselves."""

    running = None  # the shop, for the SIGTERM handler

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("network namespaces and iptables need root")
        for tool in ("ip", "iptables", "setpriv", "curl"):
            harness.require_tool(tool)
        netns_mesh.remove_stale(PREFIX)  # what a run killed by ctest's timeout left
        cls.workdir = netns_mesh.make_workdir(PREFIX)
        cls.shop = mesh_demo.Shop(harness.BIN_DIR, cls.workdir, prefix=PREFIX)
        MeshTest.running = cls.shop
        # Class cleanups run even when setUpClass fails half way.
        cls.addClassCleanup(subprocess.run, ["rm", "-rf", cls.workdir])
        cls.addClassCleanup(cls.shop.stop)
        cls.shop.start(weights=(100, 0), load_rate=0)
        cls.mesh = cls.shop.mesh

    def setUp(self):
        super().setUp()
        for process in self.mesh.processes:
            if not process.alive():
                self.fail(f"{process.name} exited:\n{process.output()[-3000:]}")

    # --- helpers ----------------------------------------------------------------------------

    def catalog_calls(self, pod, count, host="catalog"):
        result = self.mesh.exec_in(self.shop.pods[pod].netns, "/usr/bin/python3", "-c",
                                   CATALOG_CLIENT, host, str(count), timeout=120)
        return [tuple(call) for call in json.loads(result.stdout)]

    def pods_answering(self, count=20):
        """Which catalog pods answered the frontend's pod (through its sidecar); None when a
        call failed, so that no check passes on a mesh that does not answer."""
        calls = self.catalog_calls("frontend", count)
        if any(status != 200 for status, _ in calls):
            return None
        return {answer for _, answer in calls}

    def only_v1_answers(self):
        return self.pods_answering() in ({"catalog-v1-0"}, {"catalog-v1-1"},
                                         {"catalog-v1-0", "catalog-v1-1"})

    def converge(self, check, what, timeout=15):
        """Waits for a configuration change to show in traffic; returns the seconds it took."""
        start = time.monotonic()
        last = None
        while time.monotonic() - start < timeout:
            last = check()
            if last is True:
                return time.monotonic() - start
            time.sleep(0.05)
        self.fail(f"{what}: not converged after {timeout} s (last: {last})")

    def route(self, v1, v2, retries=False):
        self.mesh.write_manifest("route-catalog.yaml", mesh_demo.catalog_route(v1, v2, retries))

    def restore_route(self):
        self.route(100, 0)
        self.converge(lambda: self.only_v1_answers() and
                      "HTTP_5XX" not in self.shop.admin("frontend", "/config_dump"),
                      "route back to v1, without retries")

    def frontend_product(self):
        status, _, body = self.shop.curl("client", "http://frontend:8080/product/3")
        return status, json.loads(body) if body.startswith("{") else body

    def counter(self, pod, name, **labels):
        """The sum of a metric's samples on a pod's sidecar, over those with these labels."""
        total = 0.0
        for line in self.shop.admin(pod, "/stats/prometheus").splitlines():
            if not (line.startswith(name + "{") or line.startswith(name + " ")):
                continue
            if all(f'{key}="{value}"' in line for key, value in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    # --- mutual TLS, and what is on the wire --------------------------------------------------

    def test_app_calls_cross_both_sidecars_over_mutual_tls(self):
        sniffers = {
            port: subprocess.Popen(
                ["ip", "netns", "exec", self.mesh.node, "/usr/bin/python3",
                 mesh_demo.SNIFFER, "--interface", self.shop.pods["frontend"].veth,
                 "--seconds", "4", "--port", str(port), "--marker", marker],
                stdout=subprocess.PIPE, text=True)
            for port, marker in ((9080, "/items/3"), (9090, "shop.Ratings"))}
        for sniffer in sniffers.values():
            self.assertEqual(sniffer.stdout.readline().strip(), "capturing")
        for _ in range(10):
            status, product = self.frontend_product()
            self.assertEqual(status, 200, product)
        # catalog's application sees the frontend's identity, which only the mTLS handshake
        # between the two sidecars can have established; ratings answered over gRPC.
        self.assertIn("URI=spiffe://cluster.local/ns/demo/sa/frontend",
                      product["catalog_saw_caller"])
        self.assertEqual(product["catalog_version"], "v1")
        self.assertRegex(product["rating"], r"^3: [0-9.]+ stars$")
        for port, sniffer in sniffers.items():
            out, _ = sniffer.communicate(timeout=30)
            wire = json.loads(out.splitlines()[-1])
            # Ten calls crossed the frontend pod's veth on this port: TLS records, and never
            # the plaintext the applications sent.
            self.assertGreater(wire["tls_records"], 10, (port, wire))
            self.assertGreater(wire["tls_handshakes"] + wire["tls_records"], 0, (port, wire))
            self.assertEqual(sum(wire["plaintext"].values()), 0, (port, wire))

    def test_a_dual_stack_pod_captures_ipv6_too(self):
        # The frontend pod has an IPv6 address: its node says so, the control plane adds
        # capture listeners on [::], and ip6tables sends the client's IPv6 connection to the
        # sidecar. The frontend app listens on 0.0.0.0 only, so an answer over IPv6 can only
        # have come through the sidecar (which reaches the app on 127.0.0.1).
        frontend = self.shop.pods["frontend"]
        status, _, body = self.shop.curl("client", f"http://[{frontend.address6}]:8080/product/4")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["product"], "4")
        listeners = self.shop.admin("frontend", "/config_dump")
        self.assertIn("inbound-ipv6", listeners)
        self.assertIn("outbound-ipv6", listeners)
        # A pod without IPv6 gets no such listeners.
        self.assertNotIn("inbound-ipv6", self.shop.admin("catalog-v2", "/config_dump"))

    def test_each_sidecar_holds_the_identity_of_its_service_account(self):
        for name in ("frontend", "catalog-v1-0", "catalog-v2", "ratings"):
            certs = json.loads(self.shop.admin(name, "/certs"))
            self.assertEqual(certs["certificate"]["spiffe_id"],
                             self.shop.pods[name].spiffe_id)

    # --- peer authentication ---------------------------------------------------------------

    def test_strict_refuses_a_pod_outside_the_mesh_and_permissive_admits_it(self):
        catalog = f"http://{self.shop.pods['catalog-v2'].address}:9080/items/1"
        # A port no service declares: the inbound passthrough, in the workload's mode.
        undeclared = f"http://{self.shop.pods['catalog-v2'].address}:7000/items/1"
        extra = self.mesh.start_app(self.shop.pods["catalog-v2"],
                                    [mesh_demo.SHOP, "catalog", "--port", "7000", "--version",
                                     "undeclared"], name="catalog-v2-undeclared")
        self.addCleanup(self.forget, extra, "catalog-v2")
        for url in (catalog, undeclared):
            status, _, error = self.shop.curl("client", url, timeout=5)
            self.assertEqual(status, 0, f"STRICT: plaintext to {url} must not be answered")
            self.assertRegex(error, r"(reset|Empty reply|closed|refused)")
        self.shop.pods["catalog-v2"].sidecar.wait_for(r"plaintext connection from")
        # The frontend is PERMISSIVE: the same client is served there.
        self.assertEqual(self.frontend_product()[0], 200)

        self.mesh.write_manifest("catalog-permissive.yaml", """
apiVersion: weft.dev/v1alpha1
kind: PeerAuthentication
metadata: {name: catalog, namespace: demo}
spec:
  selector: {matchLabels: {app: catalog}}
  mode: PERMISSIVE
""")
        self.addCleanup(self.converge,
                        lambda: self.shop.curl("client", catalog, timeout=3)[0] == 0,
                        "STRICT again")
        self.addCleanup(self.mesh.remove_manifest, "catalog-permissive.yaml")
        self.converge(lambda: self.shop.curl("client", catalog, timeout=3)[0] == 200,
                      "PERMISSIVE")
        status, _, body = self.shop.curl("client", catalog)
        seen = json.loads(body)
        self.assertEqual(seen["pod"], "catalog-v2")
        self.assertEqual(seen["caller"], "", "a plaintext caller has no identity")
        status, _, body = self.shop.curl("client", undeclared)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["version"], "undeclared")
        # It went through the sidecar's passthrough chain, not around it.
        self.converge(lambda: self.counter("catalog-v2", "weft_tcp_connections_opened_total",
                                           destination_service="inbound-passthrough") >= 1,
                      "the passthrough connection counted")

    # --- authorization -----------------------------------------------------------------------

    def test_authorization_denies_and_allows_by_identity(self):
        self.assertEqual(self.catalog_calls("ratings", 1)[0][0], 200)
        self.mesh.write_manifest("authorizationpolicy.yaml",
                                 mesh_demo.manifest("authorizationpolicy.yaml"))
        self.addCleanup(self.converge, lambda: self.catalog_calls("ratings", 1)[0][0] == 200,
                        "policy removed")
        self.addCleanup(self.mesh.remove_manifest, "authorizationpolicy.yaml")
        # Denied by every catalog pod's sidecar, not only the first to have the policy.
        self.converge(lambda: self.shop.denied_everywhere("ratings"), "policy applied")
        status, headers, body = self.shop.curl("ratings", "http://catalog:9080/items/1")
        self.assertEqual(status, 403)
        self.assertEqual(headers.get("x-weft-reason"), "authz_denied", headers)
        # demo/frontend is allowed: every call the shop makes succeeds.
        calls = self.catalog_calls("frontend", 20)
        self.assertEqual({status for status, _ in calls}, {200}, calls)
        self.assertEqual(self.frontend_product()[0], 200)

    # --- canary ------------------------------------------------------------------------------

    def test_canary_split_follows_a_manifest_edit(self):
        self.addCleanup(self.restore_route)
        self.assertTrue(self.only_v1_answers())
        self.route(0, 100)
        seconds = self.converge(lambda: self.pods_answering() == {"catalog-v2"}, "all to v2")
        print(f"route edit seen in traffic after {seconds:.2f} s", file=sys.stderr)
        self.route(80, 20)
        self.converge(lambda: "catalog-v1-0" in self.pods_answering(), "80/20")
        calls = self.catalog_calls("frontend", 400)
        self.assertEqual({status for status, _ in calls}, {200})
        share = sum(1 for _, pod in calls if pod == "catalog-v2") / len(calls)
        # 400 draws at 20 %: the standard deviation is 2 points; 4 of them either side.
        self.assertGreater(share, 0.12)
        self.assertLess(share, 0.28)

    # --- retries and outlier detection -------------------------------------------------------

    def set_failure(self, pod, percent):
        self.shop.set_catalog_failure(pod, percent)

    def served(self, pod):
        return json.loads(self.shop.curl(pod, "http://127.0.0.1:9080/control")[2])["served"]

    def test_retries_hide_a_flaky_pod_and_outlier_detection_ejects_a_broken_one(self):
        self.addCleanup(self.restore_route)
        self.addCleanup(self.converge, lambda: "outlier" not in self.shop.admin(
            "frontend", "/config_dump"), "outlier detection removed")
        self.addCleanup(self.mesh.write_manifest, "destinationpolicy.yaml",
                        mesh_demo.manifest("destinationpolicy.yaml"))
        self.addCleanup(self.set_failure, "catalog-v1-0", 0)
        self.addCleanup(self.set_failure, "catalog-v1-1", 0)
        # Without retries a pod failing half its requests shows through (the mesh default
        # retries connection failures only).
        self.set_failure("catalog-v1-0", 50)
        calls = self.catalog_calls("frontend", 100)
        failed = [call for call in calls if call[0] == 503]
        self.assertGreater(len(failed), 0)
        self.assertEqual(len(failed) + sum(1 for c in calls if c[0] == 200), len(calls))
        # With retries on 5xx each failure is retried on another pod: nothing shows.
        self.route(100, 0, retries=True)
        self.converge(lambda: all(status == 200 for status, _ in
                                  self.catalog_calls("frontend", 30)), "retries")
        calls = self.catalog_calls("frontend", 100)
        self.assertEqual({status for status, _ in calls}, {200}, calls)

        # A pod that fails everything is ejected by outlier detection: the caller stops
        # sending to it.
        self.set_failure("catalog-v1-0", 0)
        self.mesh.write_manifest("destinationpolicy.yaml", mesh_demo.manifest("circuitbreaker.yaml"))
        broken = f"{self.shop.pods['catalog-v1-1'].address}:9080"
        self.converge(lambda: self.shop.endpoint_health("frontend", broken) is not None and
                      "outlier" in self.shop.admin("frontend", "/config_dump"),
                      "outlier detection configured")
        self.set_failure("catalog-v1-1", 100)
        self.converge(lambda: (self.catalog_calls("frontend", 5) and
                               self.shop.endpoint_health("frontend", broken) == "ejected"),
                      "catalog-v1-1 ejected")
        self.converge(lambda: self.counter("frontend", "weft_proxy_outlier_ejections_total") >= 1,
                      "the ejection counted")
        before = self.served("catalog-v1-1"), self.served("catalog-v1-0")
        calls = self.catalog_calls("frontend", 50)
        self.assertEqual({status for status, _ in calls}, {200}, calls)
        self.assertEqual({pod for _, pod in calls}, {"catalog-v1-0"})
        # The ejected pod was not even tried: its application saw none of the 50.
        self.assertEqual(self.served("catalog-v1-1"), before[0])
        self.assertEqual(self.served("catalog-v1-0"), before[1] + 50)

    # --- the control plane goes away ---------------------------------------------------------

    def test_traffic_flows_without_the_control_plane_and_converges_after_its_restart(self):
        self.addCleanup(self.restore_route)
        self.addCleanup(self.ensure_controlplane)
        self.mesh.controlplane.stop(signal.SIGKILL)
        # The sidecars keep their configuration and certificates: the shop keeps working.
        for _ in range(10):
            self.assertEqual(self.frontend_product()[0], 200)
        self.assertTrue(self.only_v1_answers())
        # An edit made while it is down is picked up when it comes back.
        self.route(0, 100)
        self.mesh.restart_controlplane()
        self.converge(lambda: self.pods_answering() == {"catalog-v2"}, "after the restart",
                      timeout=30)
        self.assertEqual(self.frontend_product()[0], 200)

    def ensure_controlplane(self):
        if not self.mesh.controlplane.alive():
            self.mesh.restart_controlplane()

    # --- a sidecar restarts under load -------------------------------------------------------

    def ensure_sidecar(self, pod):
        """Whatever failed, the next test finds the pod with a running sidecar."""
        if pod.sidecar not in self.mesh.processes or not pod.sidecar.alive():
            if pod.sidecar in self.mesh.processes:
                self.mesh.processes.remove(pod.sidecar)
            self.mesh.start_sidecar(pod)
            self.mesh.wait_for_sidecar(pod)

    def forget(self, process, pod="client"):
        """Stops a process a test started, and drops it from the ones setUp checks."""
        process.stop()
        self.mesh.processes.remove(process)
        self.shop.pods[pod].apps.remove(process)

    def test_requests_during_a_sidecar_restart_complete_or_fail_clearly(self):
        load = self.mesh.start_app(self.shop.pods["client"],
                                   [mesh_demo.SHOP, "load", "--rate", "40", "--timeout", "8"],
                                   name="restart-load", ready="sending")
        self.addCleanup(self.forget, load)
        load.wait_for(r'"200 v1": [1-9]')
        pod = self.shop.pods["frontend"]
        self.addCleanup(self.ensure_sidecar, pod)
        old = pod.sidecar
        old.stop(signal.SIGTERM, timeout=30)
        self.mesh.processes.remove(old)
        # It drained and exited by itself (not killed when the wait ran out).
        self.assertEqual(old.proc.returncode, 0, old.output()[-3000:])
        self.mesh.start_sidecar(pod)
        self.mesh.wait_for_sidecar(pod)
        # Let the load run on, then stop it: every request got an answer or an error.
        mark = len(load.output())
        self.converge(lambda: '"200 v1"' in load.output()[mark:], "served again")
        time.sleep(2)
        load.stop()
        outcomes = {}
        for line in load.output().splitlines():
            if line.startswith("{"):
                for key, count in json.loads(line)["counts"].items():
                    outcomes[key] = outcomes.get(key, 0) + count
        self.assertNotIn("timeout", outcomes, outcomes)
        self.assertGreater(outcomes.get("200 v1", 0), 0, outcomes)
        for key in outcomes:
            self.assertRegex(key, r"^(200 v1|502|503|refused|closed \(.*\))$", outcomes)


class HarnessCleanupTest(unittest.TestCase):
    """The harness leaves nothing behind: not after a failure half way, and not after a run
    that was killed outright (the next run removes what it left)."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("network namespaces need root")

    def leftovers(self, owner):
        netns = netns_mesh.namespaces_of(PREFIX + "-clean", owner)
        etc = [name for name in os.listdir("/etc/netns") if name.startswith(
            f"{PREFIX}-clean-{owner}-")] if os.path.isdir("/etc/netns") else []
        return netns + etc

    def test_cleanup_after_a_failure_half_way(self):
        workdir = tempfile.mkdtemp(prefix="weft-e2e-clean-")
        self.addCleanup(subprocess.run, ["rm", "-rf", workdir])
        mesh = netns_mesh.Mesh(harness.BIN_DIR, workdir, prefix=PREFIX + "-clean")
        try:
            mesh.create_node()
            pod = mesh.add_pod("a", labels={"app": "a"}, ports=[("http", 80)])
            mesh.install_capture(pod)
            mesh.start(pod.netns, "sleeper", ["sleep", "600"])
            self.assertEqual(len(self.leftovers(os.getpid())), 3)
            raise RuntimeError("a test failing half way")
        except RuntimeError:
            pass
        finally:
            left = mesh.cleanup()
        self.assertEqual(left, [])
        self.assertEqual(self.leftovers(os.getpid()), [])
        self.assertFalse(mesh.processes[0].alive())

    def test_a_killed_run_is_cleaned_up_by_the_next(self):
        workdir = tempfile.mkdtemp(prefix="weft-e2e-clean-")
        self.addCleanup(subprocess.run, ["rm", "-rf", workdir])
        child = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path.insert(0, {DEMO_DIR!r})
import netns_mesh
mesh = netns_mesh.Mesh({harness.BIN_DIR!r}, {workdir!r}, prefix={PREFIX + '-clean'!r})
mesh.create_node()
mesh.add_pod("a")
print("built", flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.kill)
        self.assertEqual(child.stdout.readline().strip(), "built")
        self.assertEqual(len(self.leftovers(child.pid)), 3)
        child.kill()
        child.wait()
        removed = netns_mesh.remove_stale(PREFIX + "-clean")
        # (It may also remove what an earlier killed run of this test left.)
        self.assertLessEqual({f"{PREFIX}-clean-{child.pid}-a", f"{PREFIX}-clean-{child.pid}-node"},
                             set(removed))
        self.assertEqual(self.leftovers(child.pid), [])


def main():
    if os.geteuid() != 0:
        print("skipped: network namespaces and iptables need root", file=sys.stderr)
        sys.exit(77)
    # A SIGTERM (a user's kill; ctest's timeout sends SIGKILL, whose leftovers the next run
    # removes) cleans up at once: unittest would catch a SystemExit and run on.
    def stop(*_):
        if MeshTest.running is not None:
            MeshTest.running.stop()
        os._exit(1)
    signal.signal(signal.SIGTERM, stop)
    harness.main()


if __name__ == "__main__":
    main()
