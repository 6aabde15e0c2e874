#!/usr/bin/python3
"""What the golden metrics and tracing cost on the request path: CPU per request with the request
metrics on against off, and with tracing at 1 % sampling on top, side by side in one run
(docs/benchmarks.md, "Telemetry").

Two weft-proxy processes (concurrency 1, both pinned to core 0) in front of the same nginx
backend (one worker on core 1, two listen ports answering a 64-byte body over HTTP/1.1
keep-alive); the load generators run on core 1 too. Both have one route to a cluster of the two
nginx ports, with endpoint metadata and a destination_service, so every request's series has
destination labels as a sidecar's would (label values are interned ids on the request path, so
their text does not change the cost):
  * metrics-off: `stats: {disable_request_metrics: true}`;
  * metrics-on: the default (every request counted, timed and its bytes added), with the status
    endpoint, which is scraped once a second during every run as Prometheus would (more often
    than a real scrape interval, so the hand-over cost is included);
  * tracing-1%: metrics-on plus `tracing` (W3C and B3 propagation on every request, 1 % of
    requests sampled, their spans exported as OTLP/HTTP JSON every second to a test collector,
    tests/tools/trace_collector.py, on the load core). Its ratio is also given against
    metrics-on: what tracing adds.
Rounds, runs and the table are those of `bench/resilience.py cost` (the shared helpers live
there): saturated wrk runs and fixed-rate weft-loadgen runs, CPU per request from
/proc/<pid>/task/*/schedstat, medians over rounds and the ratio as the median of per-round
ratios. Any non-2xx answer or socket error stops the run.

Usage: /usr/bin/python3 bench/telemetry.py [--rounds 5] [--duration 4] [--latency-duration 5]
           [--rate 1000] [--connections 32] [--nice N]
Needs: nginx, wrk, taskset; built build/bin/weft-proxy and build/bin/weft-loadgen. Traffic
stays on 127.0.0.1.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import resilience  # noqa: E402  (the cost harness: backend, proxies, rounds, table)

def cluster_lines(ports):
    lines = ["    - name: backend", "      lb_policy: ROUND_ROBIN",
             "      destination_service: reviews.shop.svc.cluster.local",
             "      load_assignment:", "        endpoints:", "          - lb_endpoints:"]
    for port in ports:
        lines += [f"              - endpoint: {{address: {{address: 127.0.0.1, port: {port}}}}}",
                  "                metadata: {workload: reviews-v1, namespace: shop}"]
    return "\n".join(lines)


COLLECTOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools",
                         "trace_collector.py")


def start_collector():
    """The test trace collector on the load core; returns (process, port)."""
    # Its own session, so that resilience.stop (which signals the process group) ends it.
    proc = subprocess.Popen(["taskset", "-c", str(compare.LOAD_CORE), sys.executable, COLLECTOR],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    match = re.search(r"listening on (\d+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError("the trace collector did not start")
    return proc, int(match.group(1))


def collected_spans(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/spans", timeout=10) as answer:
        return len(json.loads(answer.read()))


class Scraper:
    """GETs a proxy's /metrics once a second until stopped, and checks that it counted."""

    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.stopped = threading.Event()
        self.scrapes = 0
        self.last = b""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.wait(1.0):
            with urllib.request.urlopen(self.url, timeout=5) as answer:
                self.last = answer.read()
            self.scrapes += 1

    def stop(self):
        self.stopped.set()
        self.thread.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4)
    parser.add_argument("--latency-duration", type=float, default=5)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--nice", type=int, default=0)
    args = parser.parse_args()
    if args.nice:
        compare.NICE[:] = ["nice", "-n", str(args.nice)]
    resilience.check_cost_tools()

    workdir = tempfile.mkdtemp(prefix="weft-telemetry-cost-")
    processes = []
    scraper = None
    try:
        ports, backend = resilience.start_nginx_backend(workdir)
        processes.append(backend)
        route = resilience.route_yaml("backend", "{}")
        status_port = compare.free_port()
        collector, collector_port = start_collector()
        processes.append(collector)
        tracing = ("tracing: {exporter: OTLP_HTTP_JSON, collector_cluster: collector, "
                   "default_sampling_percentage: 1}\n")
        proxies = []
        for name, extra, clusters in (
                ("metrics-off", "stats: {disable_request_metrics: true}\n", []),
                ("metrics-on",
                 f"status_server: {{address: {{address: 127.0.0.1, port: {status_port}}}}}\n",
                 []),
                ("tracing-1%", tracing,
                 [resilience.cluster_yaml("collector", [collector_port])])):
            proxy = resilience.Proxy(workdir, name, route, [cluster_lines(ports), *clusters],
                                     extra)
            processes.append(proxy.proc)
            proxies.append(proxy)
        scraper = Scraper(status_port)
        results = resilience.measure_configs(proxies, args)
        scraper.stop()
        if b"weft_requests_total{" not in scraper.last:
            raise RuntimeError("the metrics-on proxy's /metrics shows no request series:\n"
                               + scraper.last.decode(errors="replace"))
        resilience.print_cost_table(
            proxies, results, args, "metrics-off",
            "Both: one route to one cluster with endpoint metadata and destination_service. "
            "metrics-off: `stats: {disable_request_metrics: "
            f"true}}`. metrics-on: the default, its /metrics scraped once a second "
            f"({scraper.scrapes} scrapes during the runs). tracing-1%: metrics on, plus "
            "`tracing` with W3C and B3 propagation, 1 % sampled, spans exported as OTLP/HTTP "
            f"JSON once a second ({collected_spans(collector_port):,} spans collected).")
        for field, what in (("cpu_us", "saturated"), ("cpu_us_fixed", f"@{args.rate}")):
            ratio = compare.median([a / b for a, b in zip(results["tracing-1%"][field],
                                                          results["metrics-on"][field])])
            print(f"tracing-1% against metrics-on, CPU per request {what}: {ratio:.3f}x")
    finally:
        if scraper is not None:
            scraper.stop()
        for proc in processes:
            resilience.stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
