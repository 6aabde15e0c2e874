#!/usr/bin/env python3
"""weft-proxy beside HAProxy, nginx and nghttpx, measured side by side in one run.

Topology on a 2-core machine: every proxy runs one worker pinned to core 0; the
load generators and the backend (nginx answering a 64-byte body over HTTP/1.1
keep-alive) share core 1. Every proxy keeps its upstream connections alive.

HTTP/1.1 targets: direct (the backend itself), weft-proxy, HAProxy, nginx.
HTTP/2 targets: weft-proxy and nghttpx, both serving h2c (prior knowledge)
downstream and HTTP/1.1 keep-alive upstream to the same backend: the same work
on both sides, and the upstream protocol a sidecar meets most.

For each target and round the script measures:
  * saturated throughput: wrk (1 thread, --connections) for HTTP/1.1, h2load
    (1 thread, --h2-connections x 10 streams) for HTTP/2, closed loop;
  * proxy CPU per request over that run: the proxy's CPU time (every thread,
    children included, from /proc/<pid>/task/*/schedstat, nanoseconds) divided
    by the requests it served;
  * latency at a fixed rate (--rate, default 1,000 requests/s) with
    build/bin/weft-loadgen, open loop: each latency counts from the request's
    intended send time, so there is no coordinated omission. The proxy's CPU
    per request is measured over these runs too: the cost of a request that
    arrives alone, without the batching a saturated proxy enjoys. HTTP/1.1: 16
    keep-alive connections; h2c: --h2-connections x 10 streams. "Added p99" is
    the target's p99 minus direct's p99 in the same round (direct is the
    HTTP/1.1 backend, which is also the upstream hop of the h2c targets).

Rounds interleave the targets (and rotate their order) so drift on a noisy
machine hits all alike; the table shows medians over rounds, and CPU ratios
against HAProxy (HTTP/1.1) and nghttpx (HTTP/2) as the median of the per-round
ratios. --nice N runs every process
of the benchmark (proxies, backend, load generators) at that niceness, so that
other users' jobs on a shared machine disturb the latency tails less;
--realtime goes further for the fixed-rate runs only: during them the backend,
the proxies and weft-loadgen run SCHED_FIFO (chrt), so a neighbour's compile job
cannot hold the core when a request arrives (the saturated runs stay
SCHED_OTHER, so they cannot starve anyone).

Usage: bench/compare.py [--rounds 3] [--duration 4] [--latency-duration 5] [--nice -10]
                        [--realtime]
Needs: haproxy, nginx (nginx-light), nghttpx (nghttp2-proxy), wrk, h2load
(nghttp2-client), taskset; built build/bin/weft-proxy and build/bin/weft-loadgen.
Traffic stays on 127.0.0.1.
"""
import argparse
import json
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
BIN = os.path.join(ROOT, "build", "bin")
WEFT = os.environ.get("WEFT_PROXY", os.path.join(BIN, "weft-proxy"))
LOADGEN = os.environ.get("WEFT_LOADGEN", os.path.join(BIN, "weft-loadgen"))
PROXY_CORE = "0"
LOAD_CORE = "1"
BODY = "x" * 64
STREAMS = 10  # HTTP/2 streams per connection (h2load -m, weft-loadgen --streams)
NICE = []  # ["nice", "-n", N] with --nice
REALTIME = []  # ["chrt", "-f", "10"] with --realtime, for weft-loadgen


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
    """CPU time of a process's threads and its children (nginx master + worker), from
    schedstat (nanoseconds; /proc/<pid>/stat counts in 10 ms ticks)."""
    def one(p):
        total = 0
        for task in os.listdir(f"/proc/{p}/task"):
            try:
                with open(f"/proc/{p}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except FileNotFoundError:
                pass  # the thread ended meanwhile
        return total / 1e9

    total = one(pid)
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for child in children.split():
        try:
            total += one(int(child))
        except FileNotFoundError:
            pass
    return total


def rss_kib(pid):
    total = 0
    pids = [str(pid)] + subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                       text=True).stdout.split()
    for p in pids:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


class Target:
    def __init__(self, name, protocol, port, proc):
        self.name, self.protocol, self.port, self.proc = name, protocol, port, proc


def start(args, workdir, name, core):
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    return subprocess.Popen([*NICE, "taskset", "-c", core, *args], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def write(workdir, name, text):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def start_backend(workdir):
    port = free_port()
    conf = write(workdir, "backend.conf", f"""
worker_processes 1; daemon off; pid {workdir}/backend.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port} reuseport; location / {{ return 200 "{BODY}"; }} }} }}
""")
    proc = start(["nginx", "-c", conf, "-p", workdir], workdir, "backend", LOAD_CORE)
    wait_port(port)
    return port, proc


def start_weft(workdir, backend_port):
    # One listener serves both protocols: detection sends the h2c preface to HTTP/2.
    port = free_port()
    conf = write(workdir, "weft.yaml", f"""
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
    proc = start([WEFT, "--config", conf, "--log-level", "warning"], workdir, "weft",
                 PROXY_CORE)
    wait_port(port)
    return [Target("weft-proxy", "http/1.1", port, proc), Target("weft-proxy", "h2c", port, proc)]


def start_haproxy(workdir, backend_port):
    port = free_port()
    conf = write(workdir, "haproxy.cfg", f"""
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
    proc = start(["haproxy", "-db", "-f", conf], workdir, "haproxy", PROXY_CORE)
    wait_port(port)
    return [Target("haproxy", "http/1.1", port, proc)]


def start_nginx_proxy(workdir, backend_port):
    port = free_port()
    conf = write(workdir, "nginx-proxy.conf", f"""
worker_processes 1; daemon off; pid {workdir}/proxy.pid; error_log stderr error;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream be {{ server 127.0.0.1:{backend_port}; keepalive 64; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://be; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }} }} }}
""")
    proc = start(["nginx", "-c", conf, "-p", workdir], workdir, "nginx-proxy", PROXY_CORE)
    wait_port(port)
    return [Target("nginx", "http/1.1", port, proc)]


def start_nghttpx(workdir, backend_port):
    # One process, one thread (no separate worker process to account for); no Via header,
    # as the other proxies add none.
    port = free_port()
    proc = start(["nghttpx", "--conf=/dev/null", "--single-process", "--single-thread",
                  "--workers=1", f"--frontend=127.0.0.1,{port};no-tls",
                  f"--backend=127.0.0.1,{backend_port}", "--no-via", "--log-level=WARN",
                  f"--pid-file={workdir}/nghttpx.pid"], workdir, "nghttpx", PROXY_CORE)
    wait_port(port)
    return [Target("nghttpx", "h2c", port, proc)]


def run_wrk(port, duration, connections):
    out = subprocess.run(
        [*NICE, "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=duration + 30).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out) or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return int(re.search(r"(\d+) requests in", out).group(1))


def run_h2load(port, duration, connections):
    out = subprocess.run(
        [*NICE, "taskset", "-c", LOAD_CORE, "h2load", "-t1", f"-c{connections}", f"-m{STREAMS}",
         f"-D{duration}", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=duration + 30).stdout
    match = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored", out)
    if not match or int(match.group(3)) or int(match.group(4)) or "status codes: 0 2xx" in out:
        raise RuntimeError(f"h2load saw errors:\n{out}")
    return int(match.group(2))


def run_loadgen(port, rate, duration, h2_connections=None):
    connections = ["--protocol", "h2c", "--connections", str(h2_connections), "--streams",
                   str(STREAMS)] if h2_connections else ["--connections", "16"]
    out = subprocess.run(
        [*NICE, *REALTIME, "taskset", "-c", LOAD_CORE, LOADGEN, "--port", str(port), "--rate", str(rate),
         "--duration", str(duration), *connections],
        capture_output=True, text=True, timeout=duration + 30)
    if out.returncode != 0:
        raise RuntimeError(f"weft-loadgen failed: {out.stderr}")
    result = json.loads(out.stdout)
    if result["errors"]:
        raise RuntimeError(f"weft-loadgen saw errors: {out.stdout}")
    return result


def set_realtime(processes, on):
    """Switches every thread of the processes and their children to SCHED_FIFO or back."""
    for proc in processes:
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        for pid in [str(proc.pid)] + children:
            policy = ["-f", "10"] if on else ["-o", "0"]
            subprocess.run(["chrt", "-a", "-p", policy[0], policy[1], pid], check=True,
                           capture_output=True)


def measure(target, run):
    """Runs `run` against the target; returns (its result, proxy CPU seconds used)."""
    before = cpu_seconds(target.proc.pid) if target.proc else 0
    result = run()
    return result, (cpu_seconds(target.proc.pid) - before) if target.proc else 0


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds per saturated run")
    parser.add_argument("--latency-duration", type=float, default=5,
                        help="seconds per fixed-rate run")
    parser.add_argument("--rate", type=int, default=1000, help="fixed rate, requests/s")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--h2-connections", type=int, default=4,
                        help=f"h2c connections ({STREAMS} streams each)")
    parser.add_argument("--nice", type=int, default=0, help="niceness of every process")
    parser.add_argument("--realtime", action="store_true",
                        help="SCHED_FIFO for every process during the fixed-rate runs")
    args = parser.parse_args()
    if args.nice:
        NICE[:] = ["nice", "-n", str(args.nice)]
    if args.realtime:
        REALTIME[:] = ["chrt", "-f", "10"]
    for tool in ("haproxy", "nginx", "nghttpx", "wrk", "h2load", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install haproxy nginx-light nghttp2-proxy "
                     "nghttp2-client wrk util-linux")
    for binary in (WEFT, LOADGEN):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} is missing: build first (ninja -C build)")
    workdir = tempfile.mkdtemp(prefix="weft-bench-")
    processes = []
    try:
        backend_port, backend = start_backend(workdir)
        processes.append(backend)
        targets = [Target("direct", "http/1.1", backend_port, None)]
        for starter in (start_weft, start_haproxy, start_nginx_proxy, start_nghttpx):
            started = starter(workdir, backend_port)
            processes.append(started[0].proc)
            targets += started
        http1 = [t for t in targets if t.protocol == "http/1.1"]
        h2 = [t for t in targets if t.protocol == "h2c"]
        key = lambda t: (t.protocol, t.name)  # noqa: E731
        results = {key(t): {"rps": [], "cpu_us": [], "cpu_us_fixed": [], "lat": [],
                            "added_p99": []} for t in targets}

        def saturate(t):
            if t.protocol == "h2c":
                return run_h2load(t.port, args.duration, args.h2_connections)
            return run_wrk(t.port, args.duration, args.connections)

        def fixed_rate(t, duration):
            return run_loadgen(t.port, args.rate, duration,
                               args.h2_connections if t.protocol == "h2c" else None)

        for t in targets:  # warm-up: connections, caches, page faults
            if t.protocol == "h2c":
                run_h2load(t.port, 1, args.h2_connections)
            else:
                run_wrk(t.port, 1, args.connections)
            fixed_rate(t, 1)
        for round_index in range(args.rounds):
            shift = round_index % len(targets)
            for t in targets[shift:] + targets[:shift]:
                requests, cpu = measure(t, lambda: saturate(t))
                r = results[key(t)]
                r["rps"].append(requests / args.duration)
                if t.proc:
                    r["cpu_us"].append(cpu / requests * 1e6)
            latencies = {}
            if args.realtime:
                set_realtime(processes, True)
            try:
                for t in targets[shift:] + targets[:shift]:
                    run, cpu = measure(t, lambda: fixed_rate(t, args.latency_duration))
                    latencies[key(t)] = run["latency_us"]
                    results[key(t)]["lat"].append(latencies[key(t)])
                    if t.proc:
                        results[key(t)]["cpu_us_fixed"].append(cpu / run["count"] * 1e6)
            finally:
                if args.realtime:
                    set_realtime(processes, False)
            for t in targets:
                results[key(t)]["added_p99"].append(
                    latencies[key(t)]["p99"] - latencies[("http/1.1", "direct")]["p99"])
            print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr)

        rss = {key(t): rss_kib(t.proc.pid) for t in targets if t.proc}
        base = {"http/1.1": ("http/1.1", "haproxy"), "h2c": ("h2c", "nghttpx")}

        def ratio(t, field):
            """Median over rounds of the target's CPU per request over the baseline's."""
            ours, theirs = results[key(t)][field], results[base[t.protocol]][field]
            return median([a / b for a, b in zip(ours, theirs)])

        print(f"\n{args.rounds} rounds, medians. Saturated: {args.duration} s per run, wrk "
              f"{args.connections} connections (HTTP/1.1), h2load {args.h2_connections} "
              f"connections x {STREAMS} streams (h2c). Fixed rate: weft-loadgen "
              f"{args.rate:,} requests/s open loop, 16 connections (HTTP/1.1) or "
              f"{args.h2_connections} x {STREAMS} streams (h2c), {args.latency_duration:g} s "
              f"per run. Proxies on core {PROXY_CORE}; load and backend on core {LOAD_CORE}"
              + (f"; nice {args.nice}" if args.nice else "")
              + ("; SCHED_FIFO during fixed-rate runs" if args.realtime else "") + ".\n")
        print("| protocol | target | requests/s saturated | CPU us/req saturated | ratio | "
              f"CPU us/req @{args.rate} | ratio | p50 us @{args.rate} | p90 | p99 | p99.9 | "
              "added p99 | RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for t in http1 + h2:
            r = results[key(t)]
            cells = [t.protocol, t.name, f"{median(r['rps']):,.0f}"]
            for field in ("cpu_us", "cpu_us_fixed"):
                cells += ([f"{median(r[field]):.1f}", f"{ratio(t, field):.2f}x"] if t.proc
                          else ["-", "-"])
            for p in ("p50", "p90", "p99", "p99_9"):
                cells.append(f"{median([lat[p] for lat in r['lat']]):,.0f}")
            cells.append(f"{median(r['added_p99']):+,.0f}" if t.proc else "-")
            cells.append(f"{rss[key(t)] / 1024:.1f}" if t.proc else "-")
            print("| " + " | ".join(cells) + " |")
        print("\nratio: CPU per request against haproxy (http/1.1) or nghttpx (h2c), median "
              "of per-round ratios; added p99: p99 minus direct's in the same round, median. "
              "Per-round figures on stderr.")
        print("per-round figures:", file=sys.stderr)
        print(json.dumps({f"{k[0]} {k[1]}": v for k, v in results.items()}), file=sys.stderr)
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
