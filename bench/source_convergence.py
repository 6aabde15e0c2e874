#!/usr/bin/python3
"""How fast a route change reaches traffic, local mode against cluster mode, in one run on
loopback: the control plane reads either a directory of manifests (the edit replaces a file)
or the Kubernetes API test server (tests/tools/kube_api_server.py; the edit is a PUT of the
TrafficRoute, as `kubectl apply` sends). Everything else is the same: one sidecar (a Workload
with its own ports), two backends, a route flipped between "all to v1" and "all to v2".

A poller sends requests back to back through the sidecar and timestamps every answer; a round
measures from the edit to the first answer from the new backend, and to the point after which
the old one answers no more. The difference between the modes is what the API path costs
(the server's write and watch event, the reflector, the trimmed re-read) against inotify.

    /usr/bin/python3 bench/source_convergence.py [--rounds 15] [--bin-dir build/bin]
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import mesh_certs  # noqa: E402
from harness import free_port  # noqa: E402
from kube_api_server import KubeApiServer  # noqa: E402

TOKEN = "bench-token"
BOOTSTRAP = """
node: {{id: productpage, workload_name: productpage, namespace: default}}
admin: {{address: {{address: 127.0.0.1, port: {admin}}}}}
dynamic_resources:
  ads:
    server: {{address: {{address: 127.0.0.1, port: {xds}}}}}
    reconnect_backoff: {{base_interval: 0.1s, max_interval: 1s}}
"""


def objects(ports, inbound, outbound):
    """The mesh, as API objects: the reviews Service, its two Workloads, the caller."""
    meta = lambda name, **labels: {"name": name, "namespace": "default", "labels": labels}  # noqa
    out = [("services", {"apiVersion": "v1", "kind": "Service", "metadata": meta("reviews"),
                         "spec": {"selector": {"app": "reviews"},
                                  "ports": [{"name": "http", "port": 9080,
                                             "targetPort": "http"}]}}),
           ("workloads", {"apiVersion": "weft.dev/v1alpha1", "kind": "Workload",
                          "metadata": meta("productpage", app="productpage"),
                          "spec": {"address": "127.0.0.1", "sidecar": {
                              "inboundPort": inbound, "outboundPort": outbound}}}),
           ("destinationpolicies", {"apiVersion": "weft.dev/v1alpha1",
                                    "kind": "DestinationPolicy", "metadata": meta("reviews"),
                                    "spec": {"host": "reviews", "subsets": [
                                        {"name": v, "labels": {"version": v}}
                                        for v in ("v1", "v2")]}})]
    for version, port in ports.items():
        out.append(("workloads", {"apiVersion": "weft.dev/v1alpha1", "kind": "Workload",
                                  "metadata": meta(f"reviews-{version}", app="reviews",
                                                   version=version),
                                  "spec": {"address": "127.0.0.1",
                                           "ports": [{"name": "http", "port": port}]}}))
    return out


def route(version):
    return {"apiVersion": "weft.dev/v1alpha1", "kind": "TrafficRoute",
            "metadata": {"name": "reviews", "namespace": "default"},
            "spec": {"hosts": ["reviews"], "rules": [{"backends": [{"subset": version}]}]}}


class Poller(threading.Thread):
    """Requests back to back through the sidecar; (time, backend) of every answer."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.answers, self.stop = port, [], False

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop:
            try:
                connection.request("GET", "/r", headers={"Host": "reviews:9080"})
                response = connection.getresponse()
                body = response.read()
                who = json.loads(body)["backend"] if response.status == 200 else response.status
            except (OSError, http.client.HTTPException, ValueError):
                who = "error"
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            self.answers.append((time.monotonic(), who))


def converge(poller, since, new, old, timeout=30):
    """(ms to the first answer from `new`, ms to the last answer from `old`) after `since`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = [a for a in poller.answers if a[0] >= since]
        first = next((t for t, who in answers if who == new), None)
        if first is not None:
            last_old = max((t for t, who in answers if who == old), default=since)
            settled = [who for t, who in answers if t > first + 0.2]
            if len(settled) > 20 and old not in settled:
                return (first - since) * 1000, (max(last_old, first) - since) * 1000
        time.sleep(0.02)
    raise RuntimeError("no convergence within 30 s")


def run_mode(mode, args, workdir):
    processes = []
    api = None
    try:
        backends = {}
        for version in ("v1", "v2"):
            process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "tools",
                                                                     "http_backend.py"),
                                        "--name", f"reviews-{version}"],
                                       stdout=subprocess.PIPE, text=True)
            processes.append(process)
            backends[version] = int(process.stdout.readline().split()[-1])
        inbound, outbound, admin, xds = free_port(), free_port(), free_port(), free_port()
        mesh = objects(backends, inbound, outbound)
        if mode == "kubernetes":
            authority = mesh_certs.Authority("bench-kube-ca")
            ca = os.path.join(workdir, "kube-ca.crt")
            with open(ca, "w") as f:
                f.write(authority.cert_pem())
            cert, key = mesh_certs.write_pair(workdir, "api", authority.issue(
                [], ip_addresses=["127.0.0.1"]))
            token = os.path.join(workdir, "token")
            with open(token, "w") as f:
                f.write(TOKEN)
            api = KubeApiServer(cert, key, token=TOKEN,
                                crds=[os.path.join(ROOT, "deploy", "k8s", "crds")]).start()
            for resource, obj in mesh:
                api.create(resource, obj)
            api.create("trafficroutes", route("v1"))
            source = ["--kubernetes", "--kube-api-server", api.url, "--kube-token-file", token,
                      "--kube-ca-file", ca]

            def edit(version):
                api.put("trafficroutes", route(version))
        else:
            directory = os.path.join(workdir, "mesh")
            os.makedirs(directory)
            for index, (_, obj) in enumerate(mesh):
                with open(os.path.join(directory, f"{index}.json"), "w") as f:
                    json.dump(obj, f)

            def edit(version):
                path = os.path.join(directory, "route.json")
                with open(path + ".tmp", "w") as f:
                    json.dump(route(version), f)
                os.rename(path + ".tmp", path)
            edit("v1")
            source = ["--config-dir", directory]
        log = open(os.path.join(workdir, f"controlplane-{mode}.log"), "w")
        processes.append(subprocess.Popen(
            [os.path.join(args.bin_dir, "weft-controlplane"), *source,
             "--xds-address", f"127.0.0.1:{xds}", "--metrics-address", "127.0.0.1:0"],
            stdout=log, stderr=subprocess.STDOUT))
        bootstrap = os.path.join(workdir, f"proxy-{mode}.yaml")
        with open(bootstrap, "w") as f:
            f.write(BOOTSTRAP.format(admin=admin, xds=xds))
        processes.append(subprocess.Popen(
            [os.path.join(args.bin_dir, "weft-proxy"), "--config", bootstrap,
             "--concurrency", "1", "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        poller = Poller(outbound)
        poller.start()
        converge(poller, time.monotonic(), "reviews-v1", "reviews-v2")
        first_times, last_times = [], []
        current = "v1"
        for _ in range(args.rounds):
            new = "v2" if current == "v1" else "v1"
            time.sleep(0.3)
            since = time.monotonic()
            edit(new)
            first, last = converge(poller, since, f"reviews-{new}", f"reviews-{current}")
            first_times.append(first)
            last_times.append(last)
            current = new
        poller.stop = True
        poller.join(timeout=5)
        return first_times, last_times
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait()
        if api is not None:
            api.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="weft-source-convergence-")
    try:
        results = {mode: run_mode(mode, args, workdir) for mode in ("directory", "kubernetes")}
    finally:
        if not os.environ.get("WEFT_KEEP_WORKDIR"):
            shutil.rmtree(workdir, ignore_errors=True)
    summary = {}
    for mode, (first, last) in results.items():
        summary[mode] = {"first_new_ms_median": statistics.median(first),
                         "last_old_ms_median": statistics.median(last),
                         "first_new_ms_max": max(first), "rounds": len(first)}
        print(f"{mode:10}  edit -> first answer from the new backend: median "
              f"{statistics.median(first):6.1f} ms (max {max(first):6.1f});  edit -> last "
              f"answer from the old one: median {statistics.median(last):6.1f} ms")
    ratio = summary["kubernetes"]["first_new_ms_median"] / \
        summary["directory"]["first_new_ms_median"]
    print(f"kubernetes / directory (median, first new answer): {ratio:.2f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
