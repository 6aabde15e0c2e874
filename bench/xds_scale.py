#!/usr/bin/env python3
"""Control-plane scale: how fast weft-controlplane converges a large mesh, and what it costs.

Usage (the full size takes 2-3 minutes on 2 cores; figures and analysis of such runs are in
docs/benchmarks.md, "Control-plane scale"):

    bench/xds_scale.py --bin-dir build/bin                 # 1,000 proxies, 1,000 services,
                                                           # 10,000 endpoints, 50 changes
    bench/xds_scale.py --proxies 50 --services 100 --endpoints 1000 --changes 10   # quick

Needs build/bin/weft-controlplane, weft-xds-sim and weft-proxy (--bin-dir). Everything runs
on 127.0.0.1 with ephemeral ports; every process is stopped at the end, also on failure.
Results: a table, a JSON summary on the last line (also --json FILE), and the command line.
--perf-record FILE samples the control plane with perf during the changes only.

The simulated mesh (written as a directory of manifests the control plane watches):
  * --namespaces namespaces (default: one per 20 services), "ns-00", "ns-01", ...;
  * --services Services "svc-<i>", spread round robin over the namespaces, each selecting
    app=svc-<i> on one HTTP port 8080 (targetPort "http");
  * --endpoints Workloads spread evenly over the services (endpoint j serves service j mod S),
    each with its own address in 127.0.0.0/8 and port "http" 8080: the EDS endpoints;
  * the first --proxies of those Workloads also run a sidecar (inbound 15006, outbound 15001,
    shared by all as in pods; the one the real weft-proxy fronts gets free ports instead),
    one per simulated proxy. With the defaults each service has one proxied Workload, each
    namespace 20 services, 200 endpoints and 20 proxies, and a proxy's scope (its namespace)
    holds 21 clusters, 20 ClusterLoadAssignments, 2 listeners and 2 route configurations.
One file per object: <dir>/<namespace>/{service,workload}-<name>.yaml.

Phases and what is measured:
  1. weft-controlplane starts on the directory; weft-xds-sim opens one stream per proxy
     (--streams-per-channel streams per TCP connection) and each subscribes, follows the
     references and ACKs. Initial sync: from the simulator's start to the last proxy holding
     a response for every subscription. Control-plane CPU (utime+stime from /proc/<pid>/stat)
     over this phase.
  2. --changes endpoint changes, one at a time: a Workload that runs no sidecar gets a new
     address (write a hidden temporary file, then rename it over the Workload's file; the
     clock starts just before the rename). Convergence of one change: from the rename to the
     last ACK of a ClusterLoadAssignment holding the new address:port, among all proxies
     subscribed to that service's endpoints (the simulator watches for it). p50, p99 and max
     over changes; --change-gap seconds between them, more than the debounce, so they do not
     coalesce. Control-plane CPU over the phase, and the control plane's own
     weft_cp_xds_convergence_seconds{type="endpoints"} (from its change detection to the ACK)
     for comparison. Each change is also split where the control plane logs that it has read
     the directory again (needs --cp-log-level info, the default).
  3. Control-plane restart: SIGTERM, then a new process on the same port. Full resync: from
     the new process's start to the last proxy synced again; it includes the proxies'
     reconnect backoff (weft-proxy's: equal jitter, base 0.5 s, cap 30 s).
  4. One real weft-proxy fronting one of the Workloads, through the control plane: its RSS
     once /config_dump shows a version from the control plane.
Control-plane memory: VmHWM (peak) and VmRSS after the initial sync (steady).
"""
import argparse
import datetime
import json
import os
import random
import re
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVICE_PORT = 8080
SIDECAR_INBOUND = 15006
SIDECAR_OUTBOUND = 15001
TARGETS = {"p99_convergence_ms": 200, "cp_rss_mb": 300, "proxy_rss_mb": 10}  # issue 4
MB_PER_MIB = 1.048576  # memory is measured in MiB, the targets are in MB


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def endpoint_address(n):
    """The n-th (from 0) address of the mesh's endpoints: 127.10.0.1, 127.10.0.2, ..."""
    return f"127.{10 + n // 62500}.{(n // 250) % 250}.{1 + n % 250}"


def changed_address(k):
    """The address endpoint change k moves its Workload to, outside the endpoints' range."""
    return f"127.200.{(k // 250) % 250}.{1 + k % 250}"


class Mesh:
    """The generated manifests and the names derived from them."""

    def __init__(self, args, real_proxy_ports):
        self.namespaces = [f"ns-{i:02d}" for i in range(args.namespaces)]
        self.services = []  # (name, namespace)
        for i in range(args.services):
            self.services.append((f"svc-{i}", self.namespaces[i % args.namespaces]))
        # Endpoint j serves service j mod S; the first P run a sidecar.
        self.workloads = []  # dicts: name, namespace, service index, address, sidecar
        for j in range(args.endpoints):
            service = j % args.services
            name, namespace = self.services[service]
            sidecar = None
            if j < args.proxies:
                sidecar = (SIDECAR_INBOUND, SIDECAR_OUTBOUND)
                if j == 0:
                    sidecar = real_proxy_ports
            self.workloads.append({"name": f"{name}-{j // args.services}", "namespace": namespace,
                                   "service": service, "address": endpoint_address(j),
                                   "sidecar": sidecar})

    @staticmethod
    def service_yaml(name, namespace):
        return (f"apiVersion: v1\nkind: Service\n"
                f"metadata: {{name: {name}, namespace: {namespace}}}\n"
                f"spec:\n  selector: {{app: {name}}}\n"
                f"  ports: [{{name: http, port: {SERVICE_PORT}, targetPort: http}}]\n")

    def workload_yaml(self, workload, address=None, port=SERVICE_PORT):
        service_name = self.services[workload["service"]][0]
        text = (f"apiVersion: weft.dev/v1alpha1\nkind: Workload\n"
                f"metadata: {{name: {workload['name']}, namespace: {workload['namespace']}, "
                f"labels: {{app: {service_name}}}}}\n"
                f"spec:\n  address: {address or workload['address']}\n"
                f"  ports: [{{name: http, port: {port}}}]\n"
                f"  serviceAccount: {service_name}\n")
        if workload["sidecar"]:
            inbound, outbound = workload["sidecar"]
            text += f"  sidecar: {{inboundPort: {inbound}, outboundPort: {outbound}}}\n"
        return text

    def workload_path(self, directory, workload):
        return os.path.join(directory, workload["namespace"], f"workload-{workload['name']}.yaml")

    def write(self, directory):
        for namespace in self.namespaces:
            os.makedirs(os.path.join(directory, namespace), exist_ok=True)
        for name, namespace in self.services:
            with open(os.path.join(directory, namespace, f"service-{name}.yaml"), "w") as f:
                f.write(self.service_yaml(name, namespace))
        for workload in self.workloads:
            with open(self.workload_path(directory, workload), "w") as f:
                f.write(self.workload_yaml(workload))

    def proxied(self):
        return [w for w in self.workloads if w["sidecar"]]

    def cluster_name(self, service):
        name, namespace = self.services[service]
        return f"outbound/{name}.{namespace}.svc.cluster.local:{SERVICE_PORT}"


# --- processes -------------------------------------------------------------------------------

class Child:
    """A process in its own group, output to a log file; always killed by stop()."""

    def __init__(self, args, name, workdir, stdin=None, stdout=None):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "a")
        self.started = time.monotonic_ns()
        self.proc = subprocess.Popen(args, stdin=stdin or subprocess.DEVNULL,
                                     stdout=stdout or self.log, stderr=self.log,
                                     start_new_session=True, text=True, bufsize=1)

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before "
                                   f"printing {pattern!r}:\n{self.tail()}")
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not print {pattern!r} within {timeout}s:\n"
                           f"{self.tail()}")

    def tail(self, lines=30):
        return "\n".join(self.output().splitlines()[-lines:])

    def terminate(self, timeout=30):
        """SIGTERM and wait; SIGKILL if it does not end in time. Returns the seconds taken."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.stop()
        return time.monotonic() - start

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.log.close()


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[key] = int(value.split()[0]) / 1024  # MiB
    return fields


def rss_by_mapping(pid, top=12):
    """The largest contributors to the resident set: {file name or [heap]/[anon]: MiB}."""
    sizes = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = os.path.basename(fields[5]) if len(fields) > 5 else "[anon]"
            elif fields and fields[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(fields[1]) / 1024
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return {key: round(value, 1) for key, value in largest}


def cpu_seconds(pid):
    """utime + stime of every thread of the process, in seconds (10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        after_name = f.read().rpartition(")")[2].split()
    return (int(after_name[11]) + int(after_name[12])) / CLK_TCK


class Simulator:
    """weft-xds-sim with its control protocol on stdin/stdout (bench/xds_sim/control_commands.h)."""

    def __init__(self, bin_dir, workdir, server, nodes_path, args):
        command = [os.path.join(bin_dir, "weft-xds-sim"), "--server", server, "--nodes",
                   nodes_path, "--mode", args.mode,
                   "--streams-per-channel", str(args.streams_per_channel)]
        self.child = Child(command, "weft-xds-sim", workdir, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
        self.pending = b""

    def ask(self, line, timeout):
        """Sends one command and returns its JSON answer."""
        proc = self.child.proc
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + timeout
        # The raw descriptor, so no answer can sit unseen in a Python buffer while select waits.
        fd = proc.stdout.fileno()
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"weft-xds-sim did not answer {line!r} within {timeout}s:\n"
                                   f"{self.child.tail()}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"weft-xds-sim exited ({proc.poll()}):\n{self.child.tail()}")
            self.pending += chunk
        answer, _, self.pending = self.pending.partition(b"\n")
        result = json.loads(answer)
        if result.get("event") == "error":
            raise RuntimeError(f"weft-xds-sim: {result['message']} (command {line!r})")
        return result

    def quit(self):
        try:
            return self.ask("quit", 30)
        finally:
            self.child.proc.stdin.close()
            try:
                self.child.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass


class ControlPlane:
    def __init__(self, bin_dir, workdir, config_dir, xds_port, args, name):
        command = [os.path.join(bin_dir, "weft-controlplane"), "--config-dir", config_dir,
                   "--xds-address", f"127.0.0.1:{xds_port}",
                   "--metrics-address", "127.0.0.1:0", "--log-level", args.cp_log_level]
        if args.debounce_ms is not None:
            command += ["--debounce-ms", str(args.debounce_ms)]
        if args.max_debounce_ms is not None:
            command += ["--max-debounce-ms", str(args.max_debounce_ms)]
        self.child = Child(command, name, workdir)
        self.pid = self.child.proc.pid
        self.port = int(self.child.wait_for(r"xDS server listening on 127\.0\.0\.1:(\d+)",
                                            args.start_timeout).group(1))
        self.metrics_port = int(self.child.wait_for(r"metrics listening on [\d.]+:(\d+)",
                                                    args.start_timeout).group(1))
        self.child.wait_for(r"weft-controlplane .* ready", args.start_timeout)
        self.ready = time.monotonic_ns()

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=10) as response:
            return response.read().decode()


def histogram(text, name, labels=""):
    """{upper bound: cumulative count} of one Prometheus histogram series."""
    buckets = {}
    pattern = re.compile(re.escape(name) + r"_bucket\{(.*?)\} (\S+)")
    for match in pattern.finditer(text):
        label_text = match.group(1)
        if labels and labels not in label_text:
            continue
        bound = re.search(r'le="([^"]+)"', label_text).group(1)
        buckets[float("inf") if bound == "+Inf" else float(bound)] = float(match.group(2))
    return buckets


def histogram_quantile(before, after, q):
    """The bucket bound below which a fraction q of the observations between two scrapes fall
    (an upper estimate, like PromQL's histogram_quantile without interpolation)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    for bound, count in zip(bounds, counts):
        if count >= q * counts[-1]:
            return bound
    return bounds[-1]


LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z\].*\[source\] read .*"
                      r"the mesh model changed", re.M)


def add_reload_times(changes, cp_log):
    """Splits each change's time where the control plane finished reading the directory: its
    log line "read <dir>: ... the mesh model changed" (millisecond wall-clock stamps, so the
    split is good to about a millisecond). Adds reload_ms (rename -> model read) to each change
    whose line is found."""
    stamps = [datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
              .replace(tzinfo=datetime.timezone.utc).timestamp() for m in LOG_TIME.finditer(cp_log)]
    for change in changes:
        after = [t for t in stamps if t >= change["wall"] - 0.001]
        if after:
            change["reload_ms"] = max(0.0, (after[0] - change["wall"]) * 1000)


def percentile(values, q):
    """Nearest-rank percentile: with 50 values, p99 is the largest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# --- the real proxy --------------------------------------------------------------------------

def proxy_bootstrap(workload, xds_port, admin_port, status_port):
    return (f"node:\n  id: {workload['name']}-real.{workload['namespace']}\n"
            f"  workload_name: {workload['name']}\n  namespace: {workload['namespace']}\n"
            f"admin:\n  address: {{address: 127.0.0.1, port: {admin_port}}}\n"
            f"status_server:\n  address: {{address: 127.0.0.1, port: {status_port}}}\n"
            "concurrency: 2\n"
            "dynamic_resources:\n  ads:\n    server:\n"
            f"      address: {{address: 127.0.0.1, port: {xds_port}}}\n"
            "    mode: STATE_OF_THE_WORLD\n")


def measure_real_proxy(bin_dir, workdir, mesh, xds_port, timeout):
    workload = mesh.workloads[0]
    admin_port = free_port()
    path = os.path.join(workdir, "proxy-bootstrap.yaml")
    with open(path, "w") as f:
        f.write(proxy_bootstrap(workload, xds_port, admin_port, free_port()))
    proxy = Child([os.path.join(bin_dir, "weft-proxy"), "--config", path], "weft-proxy", workdir)
    try:
        deadline = time.monotonic() + timeout
        version = None
        while time.monotonic() < deadline:
            if proxy.proc.poll() is not None:
                raise RuntimeError(f"weft-proxy exited ({proxy.proc.returncode}):\n{proxy.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/config_dump",
                                            timeout=5) as response:
                    dump = json.loads(response.read())
                if not dump.get("version_info", "static-").startswith("static-"):
                    version = dump["version_info"]
                    resources = dump.get("bootstrap", {}).get("static_resources", {})
                    clusters = len(resources.get("clusters", []))
                    listeners = len(resources.get("listeners", []))
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        if version is None:
            raise RuntimeError(f"weft-proxy got no configuration within {timeout}s:\n"
                               f"{proxy.tail()}")
        applied = time.monotonic_ns()
        time.sleep(2)  # idle, as in bench/idle_rss.py
        status = proc_status(proxy.proc.pid)
        return {"workload": f"{workload['namespace']}/{workload['name']}", "version": version,
                "clusters": clusters, "listeners": listeners,
                "apply_seconds": (applied - proxy.started) / 1e9,
                "rss_mb": status["VmRSS"], "anon_mb": status.get("RssAnon"),
                "file_mb": status.get("RssFile"), "peak_mb": status["VmHWM"],
                "rss_by_mapping_mb": rss_by_mapping(proxy.proc.pid)}
    finally:
        proxy.terminate(timeout=15)
        proxy.stop()


# --- the run ---------------------------------------------------------------------------------

def rewrite_atomically(path, text):
    """Writes a hidden temporary file (which the control plane ignores) and renames it into
    place. Returns the CLOCK_MONOTONIC time taken just before the rename."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    before = time.monotonic_ns()
    os.rename(tmp, path)
    return before


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(args, workdir):
    bin_dir = os.path.abspath(args.bin_dir)
    config_dir = os.path.join(workdir, "mesh")
    real_proxy_ports = (free_port(), free_port())
    mesh = Mesh(args, real_proxy_ports)
    mesh.write(config_dir)
    nodes_path = os.path.join(workdir, "nodes.txt")
    with open(nodes_path, "w") as f:
        for workload in mesh.proxied():
            f.write(f"{workload['namespace']} {workload['name']}\n")
    result = {"shape": {"proxies": args.proxies, "services": args.services,
                        "endpoints": args.endpoints, "namespaces": args.namespaces,
                        "changes": args.changes, "mode": args.mode,
                        "streams_per_channel": args.streams_per_channel,
                        "files": args.services + args.endpoints}}
    children = []
    try:
        log(f"control plane: reading {args.services + args.endpoints} manifests")
        cp = ControlPlane(bin_dir, workdir, config_dir, 0, args, "weft-controlplane")
        children.append(cp.child)
        result["cp_start_seconds"] = (cp.ready - cp.child.started) / 1e9
        result["cp_rss_loaded_mb"] = proc_status(cp.pid)["VmRSS"]

        # 1. Initial sync.
        log(f"initial sync: {args.proxies} simulated proxies")
        cpu_before = cpu_seconds(cp.pid)
        sim = Simulator(bin_dir, workdir, f"127.0.0.1:{cp.port}", nodes_path, args)
        children.append(sim.child)
        synced = sim.ask(f"wait-synced {args.sync_timeout}", args.sync_timeout + 30)
        if not synced["ok"]:
            raise RuntimeError(f"initial sync incomplete: {synced}")
        cpu_after = cpu_seconds(cp.pid)
        result["initial_sync"] = {
            "seconds": (synced["last_synced_ns"] - synced["started_ns"]) / 1e9,
            "last_established_seconds":
                (synced["last_established_ns"] - synced["started_ns"]) / 1e9,
            "cp_cpu_seconds": cpu_after - cpu_before, "synced": synced["synced"]}
        time.sleep(args.settle)
        status = proc_status(cp.pid)
        result["cp_rss_synced_mb"] = status["VmRSS"]
        result["cp_rss_synced_anon_mb"] = status.get("RssAnon")
        result["cp_rss_by_mapping_mb"] = rss_by_mapping(cp.pid)

        # 2. Endpoint changes.
        # Workloads without a sidecar, so a change touches endpoints only; shuffled with a fixed
        # seed so the changes spread over services and namespaces the same way in every run.
        candidates = [w for w in mesh.workloads if not w["sidecar"]] or mesh.workloads
        random.Random(1).shuffle(candidates)
        metrics_before = cp.metrics()
        perf = None
        if args.perf_record:
            # Samples of the control plane over the change phase only. DWARF call graphs:
            # the libraries (yaml-cpp, protobuf, libc) have no frame pointers.
            perf = Child(["perf", "record", "-F", "199", "--call-graph", "dwarf,16384", "-p",
                          str(cp.pid), "-o", os.path.abspath(args.perf_record)], "perf", workdir)
            children.append(perf)
            time.sleep(1)
        cpu_before = cpu_seconds(cp.pid)
        changes = []
        for k in range(args.changes):
            workload = candidates[k % len(candidates)]
            address = changed_address(k)
            cluster = mesh.cluster_name(workload["service"])
            watch = sim.ask(f"watch c{k} {cluster} {address}:{SERVICE_PORT}", 30)
            if watch["expected"] == 0:
                raise RuntimeError(f"no simulated proxy subscribes to {cluster}")
            path = mesh.workload_path(config_dir, workload)
            wall = time.time()
            t0 = rewrite_atomically(path, mesh.workload_yaml(workload, address=address))
            workload["address"] = address
            change = sim.ask(f"wait-change c{k} {args.change_timeout}", args.change_timeout + 30)
            if not change["ok"]:
                raise RuntimeError(f"change {k} ({workload['name']} -> {address}) reached "
                                   f"{change['observed']} of {change['expected']} proxies: "
                                   f"{change}")
            changes.append({"workload": f"{workload['namespace']}/{workload['name']}",
                            "proxies": change["expected"],
                            "first_ms": (change["first_received_ns"] - t0) / 1e6,
                            "received_ms": (change["last_received_ns"] - t0) / 1e6,
                            "acked_ms": (change["last_acked_ns"] - t0) / 1e6, "wall": wall})
            log(f"change {k + 1}/{args.changes}: {changes[-1]['acked_ms']:.1f} ms to the last "
                f"of {change['expected']} proxies")
            time.sleep(args.change_gap)
        cpu_after = cpu_seconds(cp.pid)
        if perf:
            perf.proc.send_signal(signal.SIGINT)
            perf.proc.wait(timeout=60)
        metrics_after = cp.metrics()
        add_reload_times(changes, cp.child.output())
        acked = [c["acked_ms"] for c in changes]
        reloads = [c["reload_ms"] for c in changes if "reload_ms" in c]
        result["changes"] = {
            "count": len(changes), "proxies_per_change": statistics.median(
                [c["proxies"] for c in changes]) if changes else 0,
            "p50_ms": percentile(acked, 50) if acked else None,
            "p99_ms": percentile(acked, 99) if acked else None,
            "max_ms": max(acked) if acked else None,
            "first_receipt_p50_ms":
                percentile([c["first_ms"] for c in changes], 50) if changes else None,
            "reload_p50_ms": percentile(reloads, 50) if reloads else None,
            "after_reload_p50_ms": percentile(
                [c["acked_ms"] - c["reload_ms"] for c in changes if "reload_ms" in c], 50)
                if reloads else None,
            "cp_cpu_seconds": cpu_after - cpu_before,
            "cp_cpu_seconds_per_change": (cpu_after - cpu_before) / max(1, len(changes)),
            "all": changes}
        before = histogram(metrics_before, "weft_cp_xds_convergence_seconds", 'type="endpoints"')
        after = histogram(metrics_after, "weft_cp_xds_convergence_seconds", 'type="endpoints"')
        push_before = histogram(metrics_before, "weft_cp_xds_push_seconds")
        push_after = histogram(metrics_after, "weft_cp_xds_push_seconds")
        result["changes"]["cp_reported"] = {
            "convergence_p50_le_s": histogram_quantile(before, after, 0.5),
            "convergence_p99_le_s": histogram_quantile(before, after, 0.99),
            "push_p50_le_s": histogram_quantile(push_before, push_after, 0.5),
            "push_p99_le_s": histogram_quantile(push_before, push_after, 0.99)}
        status = proc_status(cp.pid)
        result["cp_rss_peak_mb"] = status["VmHWM"]
        result["cp_rss_after_changes_mb"] = status["VmRSS"]

        # 3. Restart.
        log("control plane restart")
        stop_seconds = cp.child.terminate()
        cp.child.stop()
        # Every stream must have seen the end of the old process before the new one starts, or
        # the wait below could be answered by the old streams' state.
        deadline = time.monotonic() + 30
        while sim.ask("status", 30)["synced"] > 0:
            if time.monotonic() > deadline:
                raise RuntimeError("simulated proxies still synced 30 s after the control plane "
                                   "exited")
            time.sleep(0.05)
        cp2 = ControlPlane(bin_dir, workdir, config_dir, cp.port, args, "weft-controlplane-2")
        children.append(cp2.child)
        synced = sim.ask(f"wait-synced {args.sync_timeout}", args.sync_timeout + 30)
        if not synced["ok"]:
            raise RuntimeError(f"resync incomplete: {synced}")
        start = cp2.child.started
        result["restart"] = {
            "stop_seconds": stop_seconds,
            "ready_seconds": (cp2.ready - start) / 1e9,
            "first_established_seconds": (synced["first_established_ns"] - start) / 1e9,
            "last_established_seconds": (synced["last_established_ns"] - start) / 1e9,
            "seconds": (synced["last_synced_ns"] - start) / 1e9,
            "cp_cpu_seconds": cpu_seconds(cp2.pid),
            "cp_rss_peak_mb": proc_status(cp2.pid)["VmHWM"]}

        # 4. A real proxy.
        if not args.no_real_proxy:
            log("real weft-proxy")
            result["real_proxy"] = measure_real_proxy(bin_dir, workdir, mesh, cp2.port,
                                                      args.sync_timeout)
        summary = sim.quit()
        result["simulator"] = {"cpu_seconds": summary["cpu_seconds"],
                               "max_rss_mb": summary["max_rss_kib"] / 1024,
                               "nacks": summary["nacks"], "streams": summary["streams"],
                               "responses": summary["responses"]}
        cp2.child.terminate()
        return result
    except Exception:
        for child in children:
            log(f"--- {child.name} (last lines) ---\n{child.tail()}")
        raise
    finally:
        for child in reversed(children):
            child.stop()


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def verdict(value, target, unit):
    return f"<= {target} {unit}: {'met' if value <= target else 'MISSED'}"


def print_table(result):
    shape = result["shape"]
    rows = [("initial sync (all proxies synced)", f"{fmt(result['initial_sync']['seconds'], 2)} s",
             ""),
            ("  control-plane CPU", f"{fmt(result['initial_sync']['cp_cpu_seconds'], 2)} s", "")]
    changes = result["changes"]
    target = TARGETS["p99_convergence_ms"]
    if changes["count"]:
        rows += [(f"endpoint change -> last ACK, p50 ({changes['count']} changes, "
                  f"{fmt(changes['proxies_per_change'], 0)} proxies each)",
                  f"{fmt(changes['p50_ms'])} ms", ""),
                 ("  p99", f"{fmt(changes['p99_ms'])} ms",
                  verdict(changes["p99_ms"], target, "ms")),
                 ("  max", f"{fmt(changes['max_ms'])} ms", ""),
                 ("  p50 of: rename -> directory re-read (control-plane log)",
                  f"{fmt(changes['reload_p50_ms'])} ms", ""),
                 ("  p50 of: re-read -> last ACK (translate, push, ACK)",
                  f"{fmt(changes['after_reload_p50_ms'])} ms", ""),
                 ("  control-plane CPU per change",
                  f"{fmt(changes['cp_cpu_seconds_per_change'], 3)} s", "")]
        cp = changes["cp_reported"]
        if cp["convergence_p99_le_s"] is not None:
            rows.append(("  control plane's own p50 / p99 (histogram bucket)",
                         f"<= {cp['convergence_p50_le_s']} / <= {cp['convergence_p99_le_s']} s",
                         ""))
    restart = result["restart"]
    rows += [("full resync after restart", f"{fmt(restart['seconds'], 2)} s", ""),
             ("  new control plane ready", f"{fmt(restart['ready_seconds'], 2)} s", ""),
             ("  last stream re-established", f"{fmt(restart['last_established_seconds'], 2)} s",
              ""),
             ("  control-plane CPU", f"{fmt(restart['cp_cpu_seconds'], 2)} s", "")]
    target = TARGETS["cp_rss_mb"]
    rows += [("control-plane RSS peak (VmHWM)", f"{fmt(result['cp_rss_peak_mb'])} MiB",
              verdict(result["cp_rss_peak_mb"] * MB_PER_MIB, target, "MB")),
             ("control-plane RSS after sync (steady)", f"{fmt(result['cp_rss_synced_mb'])} MiB",
              ""),
             ("simulator CPU (whole run)", f"{fmt(result['simulator']['cpu_seconds'], 1)} s", "")]
    if "real_proxy" in result:
        proxy = result["real_proxy"]
        target = TARGETS["proxy_rss_mb"]
        rows += [(f"weft-proxy RSS ({proxy['clusters']} clusters from the control plane)",
                  f"{fmt(proxy['rss_mb'])} MiB",
                  verdict(proxy["rss_mb"] * MB_PER_MIB, target, "MB")),
                 ("  private (anon) / file-backed",
                  f"{fmt(proxy['anon_mb'])} / {fmt(proxy['file_mb'])} MiB", "")]
    print(f"{shape['proxies']} proxies, {shape['services']} services, {shape['endpoints']} "
          f"endpoints, {shape['namespaces']} namespaces, mode {shape['mode']}")
    width = max(len(r[0]) for r in rows) + 2
    for name, value, against_target in rows:
        print(f"{name:<{width}}{value:>18}  {against_target}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--proxies", type=int, default=1000)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10000)
    parser.add_argument("--namespaces", type=int, default=None,
                        help="default: one per 20 services")
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--change-gap", type=float, default=0.5,
                        help="seconds between one change's convergence and the next change")
    parser.add_argument("--mode", default="sotw", choices=["sotw"])
    parser.add_argument("--streams-per-channel", type=int, default=100)
    parser.add_argument("--debounce-ms", type=int, default=None,
                        help="passed to weft-controlplane (default: its own)")
    parser.add_argument("--max-debounce-ms", type=int, default=None)
    parser.add_argument("--sync-timeout", type=float, default=600)
    parser.add_argument("--change-timeout", type=float, default=60)
    parser.add_argument("--start-timeout", type=float, default=300,
                        help="seconds for weft-controlplane to read the manifests and listen")
    parser.add_argument("--settle", type=float, default=2,
                        help="seconds of quiet before the steady RSS is read")
    parser.add_argument("--cp-log-level", default="info")
    parser.add_argument("--no-real-proxy", action="store_true")
    parser.add_argument("--perf-record", metavar="FILE",
                        help="record the control plane with perf (-g) during the changes")
    parser.add_argument("--json", help="also write the JSON summary to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args()
    if args.namespaces is None:
        args.namespaces = max(1, args.services // 20)
    if not (1 <= args.proxies <= args.endpoints and 1 <= args.services <= args.endpoints
            and 1 <= args.namespaces <= args.services):
        parser.error("need 1 <= proxies <= endpoints, 1 <= services <= endpoints and "
                     "1 <= namespaces <= services")
    # SIGTERM (a test harness giving up) unwinds like an error, so every process is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="weft-xds-scale-")
    try:
        result = run(args, workdir)
    finally:
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["command"] = " ".join(shlex.quote(a) for a in ["bench/xds_scale.py", *sys.argv[1:]])
    print_table(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(f"command: {result['command']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
