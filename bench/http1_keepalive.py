#!/usr/bin/env python3
"""HTTP/1.1 keep-alive benchmark: weft-proxy beside HAProxy and nginx, one run.

Topology on a 2-core machine: every proxy runs one worker pinned to core 0; the
load generator (wrk) and the backend (nginx answering a small fixed body) share
core 1. Each proxy keeps its upstream connections alive. For each target the
script measures, over a fixed-duration closed-loop run:

  * throughput (requests/s, from wrk),
  * proxy CPU per request: the proxy process's CPU time (user + system, from
    /proc) divided by the requests it served,
  * wrk's latency percentiles (closed loop: a comparison, not an SLO figure).

Rounds interleave the targets so drift on a noisy machine hits all alike; the
table reports medians over rounds and ratios against HAProxy.

Usage: bench/http1_keepalive.py [--rounds 5] [--duration 8] [--connections 32]
Needs: haproxy, nginx (nginx-light), wrk, taskset; a built build/bin/weft-proxy.
Traffic stays on 127.0.0.1.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WEFT = os.environ.get("WEFT_PROXY", os.path.join(ROOT, "build", "bin", "weft-proxy"))
PROXY_CORE = "0"
LOAD_CORE = "1"
BODY = "x" * 64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def children_cpu_seconds(pid):
    """CPU of a process and its children (nginx master + worker)."""
    total = cpu_seconds(pid)
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for child in out.split():
            total += cpu_seconds(int(child))
    except OSError:
        pass
    return total


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Target:
    def __init__(self, name, port, proc, cpu_of=cpu_seconds):
        self.name, self.port, self.proc, self.cpu_of = name, port, proc, cpu_of


def start(args, workdir, name):
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_backend(workdir):
    port = free_port()
    conf = os.path.join(workdir, "backend.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1; daemon off; pid {workdir}/backend.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port} reuseport; location / {{ return 200 "{BODY}"; }} }} }}
""")
    proc = start(["taskset", "-c", LOAD_CORE, "nginx", "-c", conf, "-p", workdir], workdir,
                 "backend")
    wait_port(port)
    return port, proc


def start_weft(workdir, backend_port):
    port = free_port()
    conf = os.path.join(workdir, "weft.yaml")
    with open(conf, "w") as f:
        f.write(f"""
node: {{id: bench}}
concurrency: 1
admin: {{address: {{address: 127.0.0.1, port: {free_port()}}}}}
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            generate_request_id: false
            route_config:
              name: r
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{{match: {{prefix: /}}, route: {{cluster: backend}}}}]
  clusters:
    - name: backend
      load_assignment:
        endpoints:
          - lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}}}]
""")
    proc = start(["taskset", "-c", PROXY_CORE, WEFT, "--config", conf, "--log-level", "warning"],
                 workdir, "weft")
    wait_port(port)
    return Target("weft-proxy", port, proc)


def start_haproxy(workdir, backend_port):
    port = free_port()
    conf = os.path.join(workdir, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:{backend_port}
""")
    proc = start(["taskset", "-c", PROXY_CORE, "haproxy", "-db", "-f", conf], workdir, "haproxy")
    wait_port(port)
    return Target("haproxy", port, proc)


def start_nginx_proxy(workdir, backend_port):
    port = free_port()
    conf = os.path.join(workdir, "nginx-proxy.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1; daemon off; pid {workdir}/proxy.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream be {{ server 127.0.0.1:{backend_port}; keepalive 64; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://be; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }} }} }}
""")
    proc = start(["taskset", "-c", PROXY_CORE, "nginx", "-c", conf, "-p", workdir], workdir,
                 "nginx-proxy")
    wait_port(port)
    return Target("nginx", port, proc, cpu_of=children_cpu_seconds)


def run_wrk(port, duration, connections):
    out = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
         "--latency", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=duration + 30).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")

    def percentile(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]

    return requests, percentile("50"), percentile("99")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for tool in ("haproxy", "nginx", "wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install haproxy nginx-light wrk util-linux")
    workdir = tempfile.mkdtemp(prefix="weft-bench-")
    processes = []
    try:
        backend_port, backend = start_backend(workdir)
        processes.append(backend)
        targets = [Target("direct", backend_port, None)]
        for starter in (start_weft, start_haproxy, start_nginx_proxy):
            target = starter(workdir, backend_port)
            processes.append(target.proc)
            targets.append(target)
        results = {t.name: {"rps": [], "cpu_us": [], "p50": [], "p99": []} for t in targets}
        for t in targets:  # warm-up: connections, caches, page faults
            run_wrk(t.port, 2, args.connections)
        for round_index in range(args.rounds):
            for t in targets:
                cpu_before = t.cpu_of(t.proc.pid) if t.proc else 0
                requests, p50, p99 = run_wrk(t.port, args.duration, args.connections)
                cpu = (t.cpu_of(t.proc.pid) - cpu_before) if t.proc else 0
                r = results[t.name]
                r["rps"].append(requests / args.duration)
                r["cpu_us"].append(cpu / requests * 1e6 if t.proc else 0)
                r["p50"].append(p50)
                r["p99"].append(p99)
            print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)
        rss = {t.name: rss_kib(t.proc.pid) for t in targets if t.proc}
        base = statistics.median(results["haproxy"]["cpu_us"])
        print(f"\nHTTP/1.1 keep-alive, {args.connections} connections, {args.rounds} rounds x "
              f"{args.duration}s, medians; proxies pinned to core {PROXY_CORE}, wrk + nginx "
              f"backend on core {LOAD_CORE}\n")
        print("| target | requests/s | proxy CPU us/request | CPU vs HAProxy | wrk p50 us | "
              "wrk p99 us | RSS MiB |")
        print("|---|---|---|---|---|---|---|")
        for t in targets:
            r = results[t.name]
            cpu = statistics.median(r["cpu_us"])
            print(f"| {t.name} | {statistics.median(r['rps']):,.0f} | "
                  f"{cpu:.1f} | " + (f"{cpu / base:.2f}x" if t.proc else "-") +
                  f" | {statistics.median(r['p50']):.0f} | {statistics.median(r['p99']):.0f} | "
                  + (f"{rss[t.name] / 1024:.1f}" if t.proc else "-") + " |")
    finally:
        for proc in processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
