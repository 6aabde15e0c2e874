#!/usr/bin/python3
"""What tracing adds to a proxied request, counted in user-space instructions under callgrind
(docs/benchmarks.md, "Telemetry"): a figure that does not move with the machine's noise, to
stand beside the CPU-time ratios of bench/telemetry.py, whose per-round spread on these 2-core
machines is wider than the few per cent being measured.

One weft-proxy at a time runs under `valgrind --tool=callgrind` in front of an nginx backend
(the cost harness's, bench/resilience.py): warmed up with a short wrk run, its counters zeroed
(callgrind_control -z), then a wrk run of --duration seconds, then dumped. Instructions per
request are the dump's total over the requests wrk completed. Two proxies:
  * metrics-on: the default proxy (request metrics on), no tracing;
  * tracing-1%: plus the bootstrap's `tracing` (OTLP/HTTP JSON to a test collector, 1 %
    sampled, W3C and B3 read);
each sent three kinds of request: without trace context, with a `traceparent` (unsampled), and
with x-b3-traceid/spanid/sampled (which tracing answers in B3 and W3C).
Kernel work (the system calls, the bytes) is not in these counts: they measure what the
proxy's own code does per request.

Usage: /usr/bin/python3 bench/tracing_instructions.py [--duration 10] [--connections 8]
Needs: valgrind, nginx, wrk; built build/bin/weft-proxy. Traffic stays on 127.0.0.1.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import resilience  # noqa: E402
import telemetry  # noqa: E402

TRACING = ("tracing: {exporter: OTLP_HTTP_JSON, collector_cluster: collector, "
           "default_sampling_percentage: 1}\n")
W3C_CALLER = ["traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"]
B3_CALLER = ["x-b3-traceid: 4bf92f3577b34da6a3ce929d0e0e4736",
             "x-b3-spanid: 00f067aa0ba902b7", "x-b3-sampled: 0"]


def run_wrk(port, duration, connections, headers):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}/"], capture_output=True,
                         text=True, timeout=duration + 60).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out) or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return int(re.search(r"(\d+) requests in", out).group(1))


def callgrind_total(path):
    """The instruction total of one callgrind dump file."""
    with open(path) as f:
        for line in f:
            match = re.match(r"(?:summary|totals): (\d+)", line)
            if match:
                return int(match.group(1))
    return 0


def measure(workdir, name, config_text, callers, args):
    """Starts the proxy under callgrind; per caller (a label and its headers), the
    instructions per request of one wrk run."""
    port = compare.free_port()
    config = compare.write(workdir, f"{name}.yaml", config_text.replace("{port}", str(port)))
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={workdir}/{name}.out",
         compare.WEFT, "--config", config, "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, f"{name}.valgrind"), "w"),
        start_new_session=True)
    results = []
    try:
        compare.wait_port(port, timeout=120)
        for label, headers in callers:
            run_wrk(port, 3, args.connections, headers)  # warm-up: connections, caches
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True,
                           capture_output=True, timeout=60)
            requests = run_wrk(port, args.duration, args.connections, headers)
            # Each dump is written next to the output file, as <file>.<n>: read, then removed.
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True,
                           capture_output=True, timeout=60)
            dumps = glob.glob(f"{workdir}/{name}.out.*")
            total = sum(callgrind_total(dump) for dump in dumps)
            for dump in dumps:
                os.remove(dump)
            if total == 0:
                raise RuntimeError(f"callgrind counted nothing for {label}")
            results.append((label, requests, total / requests))
    finally:
        resilience.stop(proc, grace=30)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "nginx", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install valgrind nginx-light wrk")
    workdir = tempfile.mkdtemp(prefix="weft-tracing-instructions-")
    processes = []
    try:
        ports, backend = resilience.start_nginx_backend(workdir)
        processes.append(backend)
        collector, collector_port = telemetry.start_collector()
        processes.append(collector)
        route = resilience.route_yaml("backend", "{}")

        def config(name, extra, clusters):
            return resilience.PROXY_CONFIG.format(
                name=name, admin_port=compare.free_port(), port="{port}", route=route,
                clusters="\n".join([telemetry.cluster_lines(ports), *clusters])) + extra

        callers = [("no context", []), ("W3C caller", W3C_CALLER), ("B3 caller", B3_CALLER)]
        plain = measure(workdir, "metrics-on", config("metrics-on", "", []), callers, args)
        traced = measure(workdir, "tracing",
                         config("tracing", TRACING,
                                [resilience.cluster_yaml("collector", [collector_port])]),
                         callers, args)
        print(f"\nUser-space instructions per request under callgrind, wrk -c{args.connections} "
              f"for {args.duration:g} s each, one weft-proxy worker. The same requests go to "
              "both proxies (a caller's trace fields pass the metrics-on proxy unchanged):\n")
        print("| requests | metrics-on | tracing-1% | tracing-1% against metrics-on |")
        print("|---|---|---|---|")
        for (label, _, base), (_, _, per_request) in zip(plain, traced):
            print(f"| {label} | {base:,.0f} | {per_request:,.0f} | {per_request / base:.3f}x |")
    finally:
        for proc in processes:
            resilience.stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
