#!/usr/bin/env python3
"""Idle memory of weft-proxy holding a large static config.

Generates a bootstrap with N clusters of M endpoints each (default 1,000 x 10 =
10,000 endpoints) and one HTTP listener whose routes reach every cluster, starts
weft-proxy on it, waits until it is ready, and reports its resident set size
(VmRSS) and peak (VmHWM). Repeats a few times and prints the median.

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
    lines.append("  clusters:")
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
    path = os.path.join(workdir, "bootstrap.yaml")
    rss, hwm = [], []
    for _ in range(args.runs):
        with open(path, "w") as f:
            f.write(bootstrap(args.clusters, args.endpoints, args.concurrency))
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
            rss.append(status_kib(proc.pid, "VmRSS"))
            hwm.append(status_kib(proc.pid, "VmHWM"))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    size = os.path.getsize(path)
    print(f"{args.clusters} clusters x {args.endpoints} endpoints "
          f"({args.clusters * args.endpoints} endpoints, {size / 1e6:.1f} MB of YAML), "
          f"{args.concurrency} workers, {args.runs} runs")
    print(f"idle RSS median {statistics.median(rss) / 1024:.1f} MiB "
          f"(runs: {', '.join(f'{r / 1024:.1f}' for r in rss)}); "
          f"peak during load median {statistics.median(hwm) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
