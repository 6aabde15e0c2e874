#!/usr/bin/env python3
"""Idle memory of weft-proxy holding a large static config.

Generates a bootstrap with N clusters of M endpoints each (default 1,000 x 10 =
10,000 endpoints) and one HTTP listener whose routes reach every cluster, starts
weft-proxy on it, waits until it is ready, and reports its resident set size
(VmRSS), split into private anonymous memory (RssAnon: heap, stacks) and
file-backed pages (RssFile: the binary and shared libraries, shared with every
other process that maps them), and the peak (VmHWM). The same is measured for
a config with no clusters, so the cost of the config itself is visible. Repeats
a few times and prints medians.

Usage: bench/idle_rss.py [--clusters 1000] [--endpoints 10] [--runs 3] [--concurrency 2]
Nothing is sent to the endpoints (they are addresses in 127.0.0.0/8 only).
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WEFT = os.environ.get("WEFT_PROXY", os.path.join(ROOT, "build", "bin", "weft-proxy"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bootstrap(clusters, endpoints, concurrency):
    lines = ["node: {id: rss-bench}", f"concurrency: {concurrency}",
             f"admin: {{address: {{address: 127.0.0.1, port: {free_port()}}}}}",
             "static_resources:", "  listeners:", "    - name: http",
             f"      address: {{address: 127.0.0.1, port: {free_port()}}}",
             "      filter_chains:", "        - name: http", "          http:",
             "            stat_prefix: http", "            route_config:",
             "              name: r", "              virtual_hosts:"]
    for c in range(clusters):
        lines += [f"                - name: svc-{c}",
                  f"                  domains: [\"svc-{c}.default.svc.cluster.local\"]",
                  f"                  routes: [{{match: {{prefix: /}}, route: {{cluster: svc-{c}}}}}]"]
    if clusters == 0:
        lines[-1] += " []"
    lines.append("  clusters:" if clusters else "  clusters: []")
    for c in range(clusters):
        lines += [f"    - name: svc-{c}", "      load_assignment:", "        endpoints:",
                  "          - lb_endpoints:"]
        for e in range(endpoints):
            n = c * endpoints + e
            address = f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"
            lines.append(f"              - endpoint: {{address: {{address: {address}, port: 8080}}}}")
    return "\n".join(lines) + "\n"


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="weft-rss-")
    size = 0
    results = {}
    for clusters in (0, args.clusters):
        path = os.path.join(workdir, f"bootstrap-{clusters}.yaml")
        with open(path, "w") as f:
            f.write(bootstrap(clusters, args.endpoints, args.concurrency))
        size = os.path.getsize(path)
        samples = {field: [] for field in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
        for _ in range(args.runs):
            for field, value in measure(path, workdir).items():
                samples[field].append(value)
        results[clusters] = {field: statistics.median(values) / 1024
                             for field, values in samples.items()}
    print(f"{args.clusters} clusters x {args.endpoints} endpoints "
          f"({args.clusters * args.endpoints} endpoints, {size / 1e6:.1f} MB of YAML), "
          f"{args.concurrency} workers, {args.runs} runs, medians in MiB")
    print(f"{'config':<22}{'RSS':>8}{'anon':>8}{'file':>8}{'peak':>8}")
    for clusters, label in ((0, "no clusters"), (args.clusters, f"{args.clusters} clusters")):
        r = results[clusters]
        print(f"{label:<22}{r['VmRSS']:>8.1f}{r['RssAnon']:>8.1f}{r['RssFile']:>8.1f}"
              f"{r['VmHWM']:>8.1f}")


def measure(path, workdir):
    log = open(os.path.join(workdir, "proxy.log"), "w+")
    proc = subprocess.Popen([WEFT, "--config", path, "--log-level", "info"], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            log.seek(0)
            if "weft-proxy ready" in log.read():
                break
            if proc.poll() is not None:
                log.seek(0)
                sys.exit(f"weft-proxy exited:\n{log.read()}")
            time.sleep(0.1)
        time.sleep(2)  # idle
        return {field: status_kib(proc.pid, field)
                for field in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

if __name__ == "__main__":
    main()
