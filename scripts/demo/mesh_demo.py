#!/usr/bin/python3
"""`weftctl demo` as root: the shop (scripts/demo/apps/shop.py) in a mesh of network
namespaces, each pod with `weft-proxy init` rules and a sidecar, configured by
weft-controlplane from the manifests in a directory (local mode). Drives traffic, shows the
golden signals live (`weftctl stat`), and walks through what the mesh does: mutual TLS with
identities, a canary edit, retries, an authorization deny, STRICT mTLS and a circuit breaker.
Everything it made is removed on exit, on Ctrl-C and on failure.

The Shop class is also what tests/e2e/mesh_test.py runs.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_mesh  # noqa: E402

DEMO_DIR = os.path.dirname(os.path.abspath(__file__))
SHOP = os.path.join(DEMO_DIR, "apps", "shop.py")
MANIFESTS = os.path.join(DEMO_DIR, "shop")
SNIFFER = os.path.join(DEMO_DIR, "wire_sniffer.py")

# name, service account, labels, ports, the app's arguments
SHOP_PODS = [
    ("frontend", "frontend", {"app": "frontend", "version": "v1"}, [("http", 8080)],
     ["frontend"]),
    ("catalog-v1-0", "catalog", {"app": "catalog", "version": "v1"}, [("http", 9080)],
     ["catalog", "--version", "v1"]),
    ("catalog-v1-1", "catalog", {"app": "catalog", "version": "v1"}, [("http", 9080)],
     ["catalog", "--version", "v1"]),
    ("catalog-v2", "catalog", {"app": "catalog", "version": "v2"}, [("http", 9080)],
     ["catalog", "--version", "v2"]),
    ("ratings", "ratings", {"app": "ratings", "version": "v1"}, [("grpc", 9090)],
     ["ratings"]),
]

RETRIES = """      retries: {attempts: 3, perTryTimeout: 2s, retryOn: [5xx, connect-failure]}"""


def manifest(name):
    with open(os.path.join(MANIFESTS, name)) as f:
        return f.read()


def catalog_route(v1, v2, retries=False):
    return (manifest("route-catalog.yaml.in").replace("@V1_WEIGHT@", str(v1))
            .replace("@V2_WEIGHT@", str(v2)).replace("@RETRIES@", RETRIES if retries else ""))


class Shop:
    """The sample application in a mesh: five meshed pods and a client pod outside the mesh
    that sends users' requests to the frontend."""

    def __init__(self, bin_dir, workdir, prefix="weft-demo"):
        self.mesh = netns_mesh.Mesh(bin_dir, workdir, prefix=prefix, namespace="demo")
        self.bin_dir = bin_dir
        self.load = None

    @property
    def pods(self):
        return self.mesh.pods

    def start(self, weights=(90, 10), load_rate=20, say=lambda text: None):
        mesh = self.mesh
        mesh.create_node()
        for service in ("frontend", "catalog", "ratings"):
            mesh.add_service(service)
        # The frontend and the client are dual stack: users may come over IPv6 too.
        for name, account, labels, ports, _ in SHOP_PODS:
            mesh.add_pod(name, service_account=account, labels=labels, ports=ports,
                         ipv6=name == "frontend")
        # Users come from outside the mesh and reach the frontend at its pod address.
        mesh.add_pod("client", meshed=False, hosts={"frontend": mesh.pods["frontend"].address},
                     ipv6=True)
        for name in ("services.yaml", "destinationpolicy.yaml", "peerauthentication.yaml"):
            mesh.write_manifest(name, manifest(name))
        mesh.write_manifest("route-catalog.yaml", catalog_route(*weights))
        mesh.write_manifest("workloads.yaml", mesh.workload_manifests())
        say(f"weft-controlplane on {netns_mesh.NODE_ADDRESS}:{netns_mesh.XDS_PORT} "
            f"(xDS and CA over TLS), manifests in {mesh.manifests}")
        mesh.start_controlplane()
        self.capture_rules = {}
        for name, _, _, _, app in SHOP_PODS:
            pod = mesh.pods[name]
            self.capture_rules[name] = mesh.install_capture(pod)
            mesh.start_sidecar(pod)
            if app[0] == "catalog":
                app = [*app, "--pod", name]
            mesh.start_app(pod, [SHOP, *app], ready=None)
        for name, *_ in SHOP_PODS:
            pod = mesh.pods[name]
            mesh.wait_for_sidecar(pod)
            pod.apps[0].wait_for(r"listening on")
        if load_rate:
            self.start_load(load_rate)

    def start_load(self, rate):
        self.load = self.mesh.start_app(self.pods["client"],
                                        [SHOP, "load", "--rate", str(rate)], name="client-load",
                                        ready="sending")

    # --- reading the mesh --------------------------------------------------------------------

    def curl(self, pod, url, *args, timeout=10):
        """curl in a pod: (status, headers dict, body); status 0 when the connection failed."""
        result = self.mesh.exec_in(self.pods[pod].netns, "curl", "-sS", "--max-time",
                                   str(timeout), "-D", "-", *args, url, check=False,
                                   timeout=timeout + 5)
        if result.returncode != 0:
            return 0, {}, result.stderr.strip()
        head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
        while head.startswith("HTTP/1.1 100"):
            head, _, body = body.partition("\n\n")
        lines = head.split("\n")
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers, body

    def admin(self, pod, path):
        status, _, body = self.curl(pod, f"http://127.0.0.1:{netns_mesh.ADMIN_PORT}{path}")
        if status != 200:
            raise RuntimeError(f"{pod} admin {path}: {status} {body}")
        return body

    def stat(self, window="2s", output="table"):
        """`weftctl stat` over every sidecar's status port, from the node."""
        args = [os.path.join(self.bin_dir, "weftctl"), "stat", "--window", window, "-o", output]
        for name, *_ in SHOP_PODS:
            args += ["--proxy", f"{self.pods[name].address}:{netns_mesh.STATUS_PORT}"]
        return self.mesh.exec_in(self.mesh.node, *args, check=False, timeout=30).stdout

    def load_counts(self, seconds):
        """What the client saw over the last `seconds` one-second lines: counts by outcome."""
        lines = [line for line in self.load.output().splitlines() if line.startswith("{")]
        total = {}
        for line in lines[-int(seconds):]:
            for key, count in json.loads(line)["counts"].items():
                total[key] = total.get(key, 0) + count
        return total

    def wait_load_seconds(self, seconds):
        """Waits for `seconds` new one-second lines of the client's output."""
        start = len(self.load.output())
        deadline = time.monotonic() + seconds + 10
        while self.load.output()[start:].count("\n") < seconds:
            if time.monotonic() > deadline or not self.load.alive():
                raise RuntimeError("the client stopped reporting:\n" + self.load.output()[-2000:])
            time.sleep(0.1)
        return self.load_counts(seconds)

    def denied_everywhere(self, caller, attempts=10):
        """Whether `attempts` calls in a row from `caller` to catalog were denied (403): every
        catalog pod's sidecar has the policy, not only the one that answered first."""
        return all(self.curl(caller, "http://catalog:9080/items/1")[0] == 403
                   for _ in range(attempts))

    def endpoint_health(self, pod, endpoint):
        """The health a pod's sidecar gives an endpoint (host:port) in catalog's clusters, from
        its admin /clusters: "ejected" when any of them (the service, a subset) ejected it,
        else the first health given; None when no cluster has it."""
        health = [line.rsplit("::", 1)[1] for line in self.admin(pod, "/clusters").splitlines()
                  if f"::{endpoint}::health_flags::" in line and "catalog" in line]
        return "ejected" if "ejected" in health else (health[0] if health else None)

    def set_catalog_failure(self, pod, percent):
        status, _, body = self.curl(pod, f"http://127.0.0.1:9080/control?fail={percent}")
        if status != 200:
            raise RuntimeError(f"{pod}: /control answered {status}: {body}")

    def sniff(self, pod, seconds, port, markers):
        """What crossed the pod's veth (seen from the node) for `seconds`."""
        result = self.mesh.exec_in(
            self.mesh.node, "/usr/bin/python3", SNIFFER, "--interface", self.pods[pod].veth,
            "--seconds", str(seconds), "--port", str(port),
            *[arg for marker in markers for arg in ("--marker", marker)], timeout=seconds + 20)
        return json.loads(result.stdout.splitlines()[-1])

    def stop(self):
        return self.mesh.cleanup()


# --- the walkthrough ------------------------------------------------------------------------

class Walkthrough:
    def __init__(self, shop, interactive):
        self.shop = shop
        self.interactive = interactive

    def say(self, text=""):
        print(text, flush=True)

    def step(self, number, title):
        self.say()
        self.say(f"[demo] {number}. {title}")

    def indent(self, text, prefix="    "):
        for line in text.rstrip("\n").splitlines():
            self.say(prefix + line)

    def outcomes(self, seconds):
        counts = self.shop.wait_load_seconds(seconds)
        total = sum(counts.values())
        parts = ", ".join(f"{key}: {counts[key]}" for key in sorted(counts))
        return f"{total} requests in {seconds} s -> {parts}"

    def live(self, seconds, caption):
        """The golden signals, refreshed in place on a terminal; one table otherwise."""
        deadline = time.monotonic() + seconds
        while True:
            table = self.shop.stat("2s")
            if self.interactive:
                sys.stdout.write("\x1b[s")  # so the next refresh overwrites this table
            self.say(f"    {caption} (weftctl stat --window 2s, every sidecar's :15020/metrics)")
            self.indent(table, "      ")
            if time.monotonic() >= deadline or not self.interactive:
                return
            sys.stdout.write("\x1b[u\x1b[J")

    def run(self, hold):
        shop = self.shop
        pods = shop.pods
        self.step(1, "the pods: a network namespace each, joined by a bridge in a \"node\" namespace")
        for name, pod in pods.items():
            identity = pod.spiffe_id or "(outside the mesh: no sidecar)"
            self.say(f"    {name:<13} {pod.address:<12} {identity}")
        self.say("    what `weft-proxy init` wrote in the frontend pod (nat table):")
        for line in shop.capture_rules["frontend"].splitlines():
            if line.startswith("-A") or line.startswith("iptables "):
                self.say("      " + line)

        self.step(2, "traffic: the client (outside the mesh) calls frontend:8080; the frontend "
                     "calls catalog (HTTP) and ratings (gRPC) by name, knowing nothing of the mesh")
        self.live(6, "live")

        self.step(3, "mutual TLS on every hop, with SPIFFE identities from the control plane's CA")
        for name in ("frontend", "catalog-v2", "ratings"):
            certs = json.loads(shop.admin(name, "/certs"))
            self.say(f"    {name:<11} sidecar holds {certs['certificate']['spiffe_id']} "
                     f"(expires {certs['certificate']['not_after']})")
        _, _, body = shop.curl("client", "http://frontend:8080/product/7")
        seen = json.loads(body)
        self.say(f"    catalog-{seen['catalog_version']} saw its caller as: "
                 f"{seen['catalog_saw_caller']}")
        wire = shop.sniff("catalog-v2", 2, 9080, ["GET /items", "catalog_version", "version"])
        self.say(f"    on catalog-v2's veth for 2 s: {wire['segments']} segments to or from "
                 f"port 9080, {wire['tls_records']} begin a TLS record; plaintext "
                 f"'GET /items' seen {wire['plaintext']['GET /items']} times")

        self.step(4, "STRICT mTLS (peerauthentication.yaml): a pod outside the mesh cannot reach "
                     "catalog directly; the frontend is PERMISSIVE for users")
        status, _, error = shop.curl("client", f"http://{pods['catalog-v2'].address}:9080/items/1",
                                     timeout=3)
        self.say(f"    client -> catalog-v2 {pods['catalog-v2'].address}:9080 in plaintext: "
                 f"{'refused: ' + error if status == 0 else status}")
        status, _, _ = shop.curl("client", "http://frontend:8080/product/1")
        self.say(f"    client -> frontend:8080: {status}")
        frontend6 = pods["frontend"].address6
        status, _, _ = shop.curl("client", f"http://[{frontend6}]:8080/product/1")
        self.say(f"    client -> frontend over IPv6 [{frontend6}]:8080: {status} "
                 f"(ip6tables capture, the sidecar's listeners on [::])")

        self.step(5, "canary: editing route-catalog.yaml from 90/10 to 50/50 (v1/v2)")
        self.say(f"    before: {self.outcomes(3)}")
        shop.mesh.write_manifest("route-catalog.yaml", catalog_route(50, 50))
        shop.wait_load_seconds(1)
        self.say(f"    after:  {self.outcomes(4)}")

        self.step(6, "retries: catalog-v1-0 starts failing half its requests")
        shop.set_catalog_failure("catalog-v1-0", 50)
        shop.wait_load_seconds(1)
        self.say(f"    without retries: {self.outcomes(4)}")
        shop.mesh.write_manifest("route-catalog.yaml", catalog_route(50, 50, retries=True))
        shop.wait_load_seconds(1)
        self.say(f"    with `{RETRIES.strip()}`: {self.outcomes(4)}")

        self.step(7, "authorization (authorizationpolicy.yaml): catalog answers service account "
                     "demo/frontend only")
        shop.mesh.write_manifest("authorizationpolicy.yaml", manifest("authorizationpolicy.yaml"))
        denied = wait_until(lambda: shop.denied_everywhere("ratings"))
        status, headers, body = shop.curl("ratings", "http://catalog:9080/items/1")
        self.say(f"    ratings (sa ratings) -> catalog: {status} "
                 f"x-weft-reason: {headers.get('x-weft-reason', '')}  {body.strip()}")
        if not denied:
            self.say("    (the policy had not reached catalog's sidecars yet)")
        self.say(f"    frontend (sa frontend) -> catalog, through the shop: {self.outcomes(3)}")

        self.step(8, "circuit breaker (circuitbreaker.yaml): catalog-v1-0 recovers, catalog-v1-1 "
                     "breaks completely; outlier detection ejects it")
        shop.set_catalog_failure("catalog-v1-0", 0)
        shop.mesh.write_manifest("destinationpolicy.yaml", manifest("circuitbreaker.yaml"))
        wait_until(lambda: "outlier" in shop.admin("frontend", "/config_dump"))
        shop.set_catalog_failure("catalog-v1-1", 100)
        broken = f"{pods['catalog-v1-1'].address}:9080"
        ejected = wait_until(lambda: shop.endpoint_health("frontend", broken) == "ejected", 15)
        self.say(f"    the frontend's sidecar ejected catalog-v1-1: "
                 f"{'yes' if ejected else 'not yet'}; its /clusters:")
        for line in shop.admin("frontend", "/clusters").splitlines():
            if broken in line and "health_flags" in line:
                self.say("      " + line)
        self.say(f"    users meanwhile: {self.outcomes(4)}")
        shop.set_catalog_failure("catalog-v1-1", 0)
        self.live(4, "after the walkthrough")

        self.step(9, "where to look")
        mesh = shop.mesh
        self.say(f"    manifests (edit them: the sidecars follow): {mesh.manifests}")
        self.say(f"    logs: {mesh.workdir}/*.log")
        self.say(f"    a sidecar's admin: ip netns exec {pods['frontend'].netns} "
                 f"curl 127.0.0.1:15000/   (config_dump, clusters, certs, stats)")
        self.say(f"    metrics: ip netns exec {mesh.node} curl "
                 f"{pods['frontend'].address}:15020/metrics")
        if hold:
            self.say("[demo] traffic keeps flowing; Ctrl-C stops everything and cleans up")
            while True:
                self.live(3600, "live")


def wait_until(check, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (RuntimeError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--hold", choices=["auto", "yes", "no"], default="auto",
                        help="keep traffic and the live view going after the walkthrough until "
                             "Ctrl-C (auto: when the output is a terminal)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("[demo] network namespaces need root", file=sys.stderr)
        return 77
    interactive = sys.stdout.isatty()
    hold = args.hold == "yes" or (args.hold == "auto" and interactive)
    netns_mesh.remove_stale("weft-demo")
    workdir = netns_mesh.make_workdir("weft-demo")
    shop = Shop(args.bin_dir, workdir)
    # Ctrl-C, a kill and a closed terminal all end in the cleanup below. (SIGINT is set
    # explicitly: a shell starts background jobs with it ignored, and Python keeps that.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _: sys.exit(128 + number))
    status = 0
    try:
        print("[demo] building the mesh: 6 network namespaces (pods), a bridge, "
              "weft-proxy init rules and sidecars", flush=True)
        shop.start(say=lambda text: print("    " + text, flush=True))
        Walkthrough(shop, interactive).run(hold)
    except KeyboardInterrupt:
        print("\n[demo] interrupted", flush=True)
        status = 128 + signal.SIGINT
    except SystemExit as exit_:
        print("\n[demo] stopped by a signal", flush=True)
        status = exit_.code
    except Exception as error:  # say what broke, then clean up
        status = 1
        print(f"[demo] failed: {error}", file=sys.stderr, flush=True)
        for process in shop.mesh.processes:
            if not process.alive():
                print(f"--- {process.name} exited:\n{process.output()[-2000:]}", file=sys.stderr)
    finally:
        # A second Ctrl-C or kill must not stop the cleanup half way.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        left = shop.stop()
        subprocess.run(["rm", "-rf", workdir])
        print(f"[demo] cleaned up: processes stopped, namespaces, veths, bridge and rules "
              f"removed{'; left behind: ' + ', '.join(left) if left else ''}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
