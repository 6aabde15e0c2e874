#!/usr/bin/env python3
"""weftctl stat against a real weft-proxy: a known number of requests, a known share of them
failing (the fault backend answers exactly 30 % with 503), and the numbers weftctl prints,
read straight from the proxy (--proxy) and from a real Prometheus server (--prometheus)."""
import http.client
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import proxy_metrics  # noqa: E402

FAULT_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "fault_backend.py")
WEFTCTL = os.path.join(harness.BIN_DIR, "weftctl")
SERVICE = "reviews.shop.svc.cluster.local"

CONFIG = """
node: {{id: productpage-1.shop, workload_name: productpage-v1, namespace: shop}}
concurrency: 2
status_server: {{address: {{address: 127.0.0.1, port: {status_port}}}}}
static_resources:
  listeners:
    - name: outbound
      direction: OUTBOUND
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: outbound
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: reviews}}
  clusters:
    - name: reviews
      destination_service: reviews.shop.svc.cluster.local
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend}}}}}
                metadata: {{workload: reviews-v1, namespace: shop}}
"""

PROMETHEUS_CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: weft-proxy
    static_configs: [{{targets: ["127.0.0.1:{status_port}"]}}]
"""


def histogram_quantile(q, buckets):
    """PromQL's histogram_quantile() over {upper bound: cumulative count}, written from its
    documentation, independently of weftctl's C++."""
    bounds = sorted(buckets)
    counts = []
    highest = 0
    for bound in bounds:
        highest = max(highest, buckets[bound])
        counts.append(highest)
    total = counts[-1]
    rank = q * total
    for i, bound in enumerate(bounds[:-1]):
        if counts[i] >= rank:
            lower, below = (bounds[i - 1], counts[i - 1]) if i > 0 else (0.0, 0.0)
            return lower + (bound - lower) * (rank - below) / (counts[i] - below)
    return bounds[-2]  # in the +Inf bucket: the highest finite bound


class StatTest(harness.IntegrationTest):
    def start_mesh(self):
        backend_process = self.start([sys.executable, FAULT_BACKEND, "--name", "reviews",
                                      "--fail-fraction", "0.3"], "reviews")
        backend = int(backend_process.wait_for(r"listening on (\d+)").group(1))
        self.status_port = harness.free_port()
        self.proxy_port = harness.free_port()
        self.start_proxy(CONFIG.format(status_port=self.status_port, proxy_port=self.proxy_port,
                                       backend=backend))

    def send(self, count):
        """`count` requests through the proxy; {status: how many}."""
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
        statuses = {}
        try:
            for i in range(count):
                connection.request("GET", f"/reviews/{i}")
                response = connection.getresponse()
                response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()
        return statuses

    def settled_total(self, expected, timeout=10):
        """Scrapes the proxy until it has counted `expected` requests to the service (a request
        is counted once its response is out, a moment after the client reads it)."""
        deadline = time.monotonic() + timeout
        while True:
            scrape = proxy_metrics.scrape(self.status_port, "/metrics")
            total = sum(value for (name, labels), value in scrape.samples.items()
                        if name == "weft_requests_total"
                        and dict(labels).get("destination_service") == SERVICE)
            if total == expected:
                return scrape
            self.assertLess(time.monotonic(), deadline, f"the proxy counted {total}")
            time.sleep(0.05)

    def buckets(self, scrape):
        """{le: cumulative count} of the service's outbound latency histogram, all series."""
        buckets = {}
        for (name, labels), value in scrape.samples.items():
            labels = dict(labels)
            if (name == "weft_request_duration_seconds_bucket"
                    and labels.get("destination_service") == SERVICE
                    and labels.get("direction") == "outbound"):
                bound = float(labels["le"])
                buckets[bound] = buckets.get(bound, 0) + value
        return buckets

    def assert_quantiles_within_buckets(self, signals, buckets):
        """p50 <= p95 <= p99, each between the lower bound of the lowest bucket that holds a
        request and the upper bound of the highest one."""
        bounds = sorted(buckets)
        occupied = [i for i, bound in enumerate(bounds)
                    if buckets[bound] > (buckets[bounds[i - 1]] if i > 0 else 0)]
        lowest = bounds[occupied[0] - 1] if occupied[0] > 0 else 0.0
        highest = bounds[occupied[-1]]
        if math.isinf(highest):
            highest = bounds[-2]  # a quantile in the +Inf bucket is the highest finite bound
        latency = signals["latency_seconds"]
        self.assertLessEqual(latency["p50"], latency["p95"])
        self.assertLessEqual(latency["p95"], latency["p99"])
        for name in ("p50", "p95", "p99"):
            self.assertGreaterEqual(latency[name], lowest, (name, latency, buckets))
            self.assertLessEqual(latency[name], highest, (name, latency, buckets))

    def weftctl(self, *args, timeout=60):
        result = subprocess.run([WEFTCTL, "stat", *args], capture_output=True, text=True,
                                timeout=timeout)
        return result.returncode, result.stdout, result.stderr

    def stat_during(self, args, traffic):
        """Runs `weftctl stat` (which reads the proxies twice, a window apart) and runs
        `traffic()` once it has taken its first reading; returns (exit code, stdout, stderr,
        what traffic() returned)."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen([WEFTCTL, "stat", *args], stdout=out, stderr=err,
                                       stdin=subprocess.DEVNULL, text=True)
            try:
                deadline = time.monotonic() + 20
                while True:
                    err.seek(0)
                    if "Sampling" in err.read():
                        break
                    self.assertIsNone(process.poll(), "weftctl stat ended before sampling")
                    self.assertLess(time.monotonic(), deadline, "weftctl stat did not sample")
                    time.sleep(0.02)
                sent = traffic()
                # The traffic must have ended within the window, or the numbers would be cut.
                self.assertIsNone(process.poll(), "the traffic took longer than the window")
                code = process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            out.seek(0)
            err.seek(0)
            return code, out.read(), err.read(), sent


class DirectStatTest(StatTest):
    def test_stat_from_the_proxy_counts_exactly_what_was_sent(self):
        self.start_mesh()
        def traffic():
            self.assertEqual(self.send(100), {200: 70, 503: 30})
            return self.settled_total(100)

        code, out, err, scrape = self.stat_during(
            ["--proxy", f"127.0.0.1:{self.status_port}", "--window", "10s", "-o", "json"],
            traffic)
        self.assertEqual(code, 0, err)
        self.assertIn("Sampling 1 proxy for 10s", err)
        stats = json.loads(out)
        self.assertGreaterEqual(stats["window_seconds"], 10)
        self.assertEqual(len(stats["services"]), 1, stats)
        service = stats["services"][0]
        self.assertEqual((service["service"], service["namespace"], service["measured_by"]),
                         (SERVICE, "shop", "callers"))
        self.assertEqual(service["requests"], 100)  # 70 answered 200, 30 answered 503
        self.assertAlmostEqual(service["success_rate"], 0.7, places=12)
        self.assertAlmostEqual(service["requests_per_second"], 100 / stats["window_seconds"],
                               places=9)
        self.assertEqual(len(stats["edges"]), 1, stats)
        edge = stats["edges"][0]
        self.assertEqual((edge["source_namespace"], edge["source_workload"], edge["service"]),
                         ("shop", "productpage-v1", SERVICE))
        self.assertEqual(edge["requests"], 100)
        self.assertAlmostEqual(edge["success_rate"], 0.7, places=12)
        # The proxy was fresh, so the window holds every request it counted: the quantiles
        # are PromQL's over its whole histogram.
        buckets = self.buckets(scrape)
        self.assertEqual(buckets[math.inf], 100)
        for signals in (service, edge):
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
                self.assertAlmostEqual(signals["latency_seconds"][name],
                                       histogram_quantile(q, buckets), places=12)
            self.assert_quantiles_within_buckets(signals, buckets)

    def test_stat_table_from_the_admin_port_filtered_by_namespace(self):
        self.start_mesh()
        self.send(10)  # before the window: not counted
        self.settled_total(10)
        admin = f"127.0.0.1:{self.admin_port}"  # /stats/prometheus rather than /metrics
        def traffic():
            self.send(20)
            self.settled_total(30)

        code, out, err, _ = self.stat_during(["ns/shop", "--proxy", admin, "--window", "10s"],
                                             traffic)
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAMESPACE", "SERVICE", "SUCCESS", "RPS",
                                            "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"])
        # Requests 11 to 30: the backend failed floor(0.3 * 30) - floor(0.3 * 10) = 6 of them.
        row = lines[1].split()
        self.assertEqual(row[:3], ["shop", SERVICE, "70.00%"])
        self.assertTrue(all(cell.endswith("ms") for cell in row[4:]), row)
        edge_header = lines.index(next(line for line in lines if line.startswith("FROM")))
        self.assertEqual(lines[edge_header + 1].split()[:3],
                         ["shop/productpage-v1", SERVICE, "70.00%"])
        # Another namespace has none of it.
        code, out, err = self.weftctl("elsewhere", "--proxy", admin, "--window", "100ms")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"^No service in namespace elsewhere has request metrics "
                              r"\(window [0-9.]+s\)\.\n$")

    def test_stat_says_what_is_wrong_with_an_unreachable_or_foreign_endpoint(self):
        code, _, err = self.weftctl("--proxy", f"127.0.0.1:{harness.free_port()}")
        self.assertEqual(code, 1)
        self.assertIn("cannot connect to the proxy 127.0.0.1:", err)
        # Something that answers 200 with JSON, not the Prometheus text format.
        _, port = self.start_backend("not-a-proxy")
        code, _, err = self.weftctl("--proxy", f"127.0.0.1:{port}")
        self.assertEqual(code, 1)
        self.assertIn("are not in the Prometheus text format: line 1:", err)
        code, _, err = self.weftctl("--prometheus", f"http://127.0.0.1:{port}")
        self.assertEqual(code, 1)
        self.assertIn("is not a Prometheus API document", err)
        code, _, err = self.weftctl("shop")
        self.assertEqual(code, 2)
        self.assertIn("give one of them", err)


class PrometheusStatTest(StatTest):
    def query(self, expression):
        url = (f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expression}))
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                result = json.load(answer)
        except OSError:
            return None  # not listening yet
        values = result["data"]["result"]
        return float(values[0]["value"][1]) if values else None

    def wait_for_query(self, expression, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            value = self.query(expression)
            if value is not None and predicate(value):
                return value
            self.assertLess(time.monotonic(), deadline, f"{expression} is {value}")
            time.sleep(0.25)

    def test_stat_from_prometheus_matches_what_was_sent(self):
        self.start_mesh()
        # 10 requests (7 answered, 3 failed) before Prometheus starts: its first sample of each
        # series then holds the same 7:3 split as the 90 requests after it, so increase()
        # extrapolates both series alike and the success rate comes out exactly 0.7.
        self.assertEqual(self.send(10), {200: 7, 503: 3})
        self.settled_total(10)
        self.prometheus_port = harness.free_port()
        config = self.write("prometheus.yml", PROMETHEUS_CONFIG.format(
            status_port=self.status_port))
        self.start(["prometheus", f"--config.file={config}",
                    f"--storage.tsdb.path={os.path.join(self.tempdir, 'tsdb')}",
                    f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                    "--log.level=warn"], "prometheus")
        selector = f'weft_requests_total{{destination_service="{SERVICE}"}}'
        self.wait_for_query(f"sum({selector})", lambda total: total == 10)
        self.assertEqual(self.send(90), {200: 63, 503: 27})
        self.wait_for_query(f"sum({selector})", lambda total: total == 100)
        # Enough samples that extrapolation adds at most a known share (see below).
        self.wait_for_query(f'count_over_time({selector[:-1]},response_code="200"}}[5m])',
                            lambda samples: samples >= 8)
        scrape = self.settled_total(100)

        code, out, err = self.weftctl("--prometheus", f"http://127.0.0.1:{self.prometheus_port}",
                                      "--window", "5m", "-o", "json")
        self.assertEqual(code, 0, err)
        stats = json.loads(out)
        self.assertEqual(stats["window_seconds"], 300)
        self.assertEqual([s["service"] for s in stats["services"]], [SERVICE], stats)
        service = stats["services"][0]
        self.assertEqual((service["namespace"], service["measured_by"]), ("shop", "callers"))
        self.assertAlmostEqual(service["success_rate"], 0.7, places=9)
        # increase() sees the 90 requests after its first sample and extrapolates: by at most
        # 1/9 towards the start (where the counter would reach zero at this pace) and 1.1
        # scrape intervals at the end, at least 8 samples apart: under 27 % more.
        self.assertGreaterEqual(service["requests"], 90 - 1e-9)
        self.assertLessEqual(service["requests"], 90 * 1.3)
        self.assertAlmostEqual(service["requests_per_second"] * 300, service["requests"],
                               places=6)
        self.assertEqual(len(stats["edges"]), 1, stats)
        edge = stats["edges"][0]
        self.assertEqual((edge["source_namespace"], edge["source_workload"], edge["service"]),
                         ("shop", "productpage-v1", SERVICE))
        self.assertAlmostEqual(edge["success_rate"], 0.7, places=9)
        self.assertEqual(edge["requests"], service["requests"])
        for signals in (service, edge):
            self.assert_quantiles_within_buckets(signals, self.buckets(scrape))

        # The table, narrowed to the service.
        code, out, err = self.weftctl("svc/reviews", "--prometheus",
                                      f"http://127.0.0.1:{self.prometheus_port}/", "--window",
                                      "5m")
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines()[1].split()[:3], ["shop", SERVICE, "70.00%"], out)


if __name__ == "__main__":
    harness.main()
