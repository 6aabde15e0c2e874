#!/usr/bin/env python3
"""The golden metrics: weft_requests_total, weft_request_duration_seconds and the byte and TCP
counters on the status port's /metrics, checked against the requests sent, with promtool and
a real Prometheus server scraping the proxy."""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import proxy_metrics  # noqa: E402

FAULT_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "fault_backend.py")
GRPC_TOOL = os.path.join(harness.SOURCE_DIR, "tests", "tools", "grpc_echo.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-grpcio

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
                    - match: {{prefix: /limited}}
                      route: {{cluster: reviews}}
                      rate_limit: {{token_bucket: {{max_tokens: 1, fill_interval: 3600s}}}}
                    - match: {{prefix: /api}}
                      route: {{cluster: reviews}}
    - name: inbound
      direction: INBOUND
      address: {{address: 127.0.0.1, port: {inbound_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: inbound
            route_config:
              name: inbound
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /api}}
                      route: {{cluster: reviews}}
    - name: tcp
      direction: OUTBOUND
      address: {{address: 127.0.0.1, port: {tcp_port}}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: tcp, cluster: reviews}}
  clusters:
    - name: reviews
      destination_service: reviews.shop.svc.cluster.local
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend}}}}}
                metadata: {{workload: reviews-v1, namespace: shop}}
"""

EDGE = {"direction": "outbound", "source_workload": "productpage-v1", "source_namespace": "shop",
        "destination_workload": "reviews-v1", "destination_namespace": "shop",
        "destination_service": "reviews.shop.svc.cluster.local"}
NOWHERE = dict(EDGE, destination_workload="unknown", destination_namespace="unknown",
               destination_service="unknown")


def labels(base, code, flags="-", grpc=""):
    return dict(base, response_code=str(code), grpc_status=grpc, response_flags=flags)


class TelemetryTest(harness.IntegrationTest):
    def start_mesh(self, *backend_args):
        backend_process = self.start([sys.executable, FAULT_BACKEND, "--name", "reviews",
                                      *backend_args], "reviews")
        backend = int(backend_process.wait_for(r"listening on (\d+)").group(1))
        self.status_port = harness.free_port()
        self.proxy_port = harness.free_port()
        self.tcp_port = harness.free_port()
        self.inbound_port = harness.free_port()
        self.start_proxy(CONFIG.format(status_port=self.status_port, proxy_port=self.proxy_port,
                                       tcp_port=self.tcp_port, backend=backend,
                                       inbound_port=self.inbound_port))
        return backend

    def metrics(self):
        return proxy_metrics.scrape(self.status_port, "/metrics")

    def start_http2_cluster_proxy(self, backend, route_prefix="/api"):
        """The proxy with cluster "reviews" speaking HTTP/2 to `backend`; returns its port."""
        self.status_port = harness.free_port()
        proxy_port = harness.free_port()
        self.start_proxy(CONFIG.format(status_port=self.status_port, proxy_port=proxy_port,
                                       tcp_port=harness.free_port(), backend=backend,
                                       inbound_port=harness.free_port())
                         .replace("      destination_service:",
                                  "      protocol: HTTP2\n      destination_service:")
                         .replace("prefix: /api", f"prefix: {route_prefix}"))
        return proxy_port

    def start_grpc_server(self):
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", "0"], "grpc")
        return server, int(server.wait_for(r"listening on (\d+)").group(1))

    def settled(self, expected, timeout=10):
        """Scrapes until every {(name, labels dict): value} in `expected` holds, and returns
        that scrape. A request is counted once its response is out, so a client can read the
        response a moment before the proxy counts it."""
        deadline = time.monotonic() + timeout
        while True:
            scrape = self.metrics()
            seen = {(name, tuple(sorted(labels.items()))): (scrape.value(name, **labels)
                                                             if scrape.has(name, **labels)
                                                             else None)
                    for name, labels, _ in expected}
            if all(seen[(name, tuple(sorted(labels.items())))] == value
                   for name, labels, value in expected):
                return scrape
            if time.monotonic() > deadline:
                self.fail(f"metrics did not settle: {seen}, expected {expected}")
            time.sleep(0.05)

    def post(self, connection, path, body):
        connection.request("POST", path, body=body)
        response = connection.getresponse()
        return response.status, response.read()


class GoldenMetricsTest(TelemetryTest):
    def test_every_request_is_counted_with_its_status_duration_and_bytes(self):
        self.start_mesh("--fail-fraction", "0.3")
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
        statuses = {}
        response_bytes = 0
        try:
            for i in range(100):
                status, body = self.post(connection, f"/api/{i}", b"x" * 50)
                statuses[status] = statuses.get(status, 0) + 1
                response_bytes += len(body)
        finally:
            connection.close()
        self.assertEqual(statuses, {200: 70, 503: 30})  # the backend fails exactly 30 %
        ok, failed = labels(EDGE, 200), labels(EDGE, 503)
        scrape = self.settled([("weft_requests_total", ok, 70),
                               ("weft_requests_total", failed, 30)])
        self.assertEqual(scrape.value("weft_request_duration_seconds_count", **ok), 70)
        self.assertEqual(scrape.value("weft_request_duration_seconds_bucket", le="+Inf", **ok), 70)
        self.assertGreater(scrape.value("weft_request_duration_seconds_sum", **ok), 0)
        # The default buckets, 100 us to 60 s, cumulative: each request falls in one.
        buckets = sorted((float(dict(key)["le"]), value)
                         for (name, key), value in scrape.samples.items()
                         if name == "weft_request_duration_seconds_bucket"
                         and dict(key).items() >= ok.items())
        self.assertEqual([bound for bound, _ in buckets][:3], [0.0001, 0.00025, 0.0005])
        self.assertEqual([bound for bound, _ in buckets][-3:], [30, 60, float("inf")])
        counts = [value for _, value in buckets]
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(counts[-1], 70)
        self.assertIn('le="0.0001"', scrape.text)  # plain decimals, as client libraries write
        self.assertEqual(scrape.value("weft_request_bytes_total", **ok)
                         + scrape.value("weft_request_bytes_total", **failed), 100 * 50)
        self.assertEqual(scrape.value("weft_response_bytes_total", **ok)
                         + scrape.value("weft_response_bytes_total", **failed), response_bytes)
        # Counts move on with every scrape, never backwards, never twice.
        again, _ = self.post(http.client.HTTPConnection("127.0.0.1", self.proxy_port,
                                                        timeout=10), "/api/again", b"")
        self.settled([("weft_requests_total", ok, 70 + (again == 200)),
                      ("weft_requests_total", failed, 30 + (again == 503))])

    def test_http2_clients_are_counted_like_http1_ones(self):
        self.start_mesh()
        result = subprocess.run(["h2load", "-n", "60", "-c", "2", "-m", "2",
                                 f"http://127.0.0.1:{self.proxy_port}/api/h2"],
                                capture_output=True, timeout=60, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("60 succeeded", result.stdout)
        scrape = self.settled([("weft_requests_total", labels(EDGE, 200), 60)])
        self.assertEqual(scrape.value("weft_request_duration_seconds_count", **labels(EDGE, 200)),
                         60)
        # Each answer of the fault backend is a JSON document of a known size per path.
        self.assertGreater(scrape.value("weft_response_bytes_total", **labels(EDGE, 200)), 60 * 50)

    def test_local_replies_say_why_in_response_flags(self):
        self.start_mesh()
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
        try:
            self.assertEqual(self.post(connection, "/nowhere", b"")[0], 404)
            self.assertEqual(self.post(connection, "/limited", b"")[0], 200)
            self.assertEqual(self.post(connection, "/limited", b"")[0], 429)
        finally:
            connection.close()
        self.settled([("weft_requests_total", labels(NOWHERE, 404, "no_route"), 1),
                      ("weft_requests_total", labels(EDGE, 200), 1),
                      ("weft_requests_total", labels(EDGE, 429, "rate_limited"), 1)])

    def test_a_client_that_leaves_mid_request_is_counted_as_a_disconnect(self):
        self.start_mesh()
        # The backend holds the answer for 3 s; the HTTP/2 client gives up after 0.5 s and
        # closes its connection, so the stream never sees its own close. (An HTTP/1.1 client
        # that leaves is noticed only when its response is written: docs/observability.md.)
        result = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "0.5",
                                 "-H", "x-fault-delay-ms: 3000",
                                 f"http://127.0.0.1:{self.proxy_port}/api/slow"],
                                capture_output=True, timeout=20)
        self.assertEqual(result.returncode, 28, result.stderr)  # curl: timed out
        self.settled([("weft_requests_total", labels(EDGE, 0, "downstream_disconnect"), 1)])

    def test_inbound_requests_name_this_workload_as_their_destination(self):
        self.start_mesh()
        connection = http.client.HTTPConnection("127.0.0.1", self.inbound_port, timeout=10)
        try:
            self.assertEqual(self.post(connection, "/api/in", b"")[0], 200)
            self.assertEqual(self.post(connection, "/elsewhere", b"")[0], 404)
        finally:
            connection.close()
        # A plaintext caller is unknown; the destination is this proxy's workload.
        inbound = {"direction": "inbound", "source_workload": "unknown",
                   "source_namespace": "unknown", "destination_workload": "productpage-v1",
                   "destination_namespace": "shop"}
        self.settled([
            ("weft_requests_total",
             labels(dict(inbound, destination_service="reviews.shop.svc.cluster.local"), 200), 1),
            ("weft_requests_total",
             labels(dict(inbound, destination_service="unknown"), 404, "no_route"), 1)])

    def test_tcp_connections_count_and_carry_their_bytes(self):
        self.start_mesh()
        request = b"GET /api/tcp HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n"
        received = 0
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.tcp_port), timeout=10) as client:
                client.sendall(request)
                while chunk := client.recv(65536):
                    received += len(chunk)
        # A connection is counted closed once the proxy has closed both sides.
        scrape = self.settled([("weft_tcp_connections_closed_total", EDGE, 3)])
        self.assertEqual(scrape.value("weft_tcp_connections_opened_total", **EDGE), 3)
        self.assertEqual(scrape.value("weft_tcp_received_bytes_total", **EDGE), 3 * len(request))
        self.assertEqual(scrape.value("weft_tcp_sent_bytes_total", **EDGE), received)

    def test_promtool_accepts_the_exposition(self):
        self.start_mesh("--fail-fraction", "0.5")
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
        try:
            for i in range(10):
                self.post(connection, f"/api/{i}", b"body")
            self.post(connection, "/nowhere", b"")
        finally:
            connection.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/metrics",
                                    timeout=5) as answer:
            text = answer.read()
        result = subprocess.run(["promtool", "check", "metrics"], input=text,
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(b"weft_requests_total{", text)


class DisabledMetricsTest(TelemetryTest):
    def test_disabled_request_metrics_record_nothing(self):
        backend_process = self.start([sys.executable, FAULT_BACKEND, "--name", "reviews"],
                                     "reviews")
        backend = int(backend_process.wait_for(r"listening on (\d+)").group(1))
        self.status_port = harness.free_port()
        self.proxy_port = harness.free_port()
        self.start_proxy(CONFIG.format(status_port=self.status_port, proxy_port=self.proxy_port,
                                       tcp_port=harness.free_port(), backend=backend,
                                       inbound_port=harness.free_port())
                         + "stats: {disable_request_metrics: true}\n")
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
        try:
            for i in range(5):
                self.assertEqual(self.post(connection, f"/api/{i}", b"")[0], 200)
        finally:
            connection.close()
        scrape = self.metrics()
        self.assertIn("weft_requests", scrape.families)  # described, for dashboards
        self.assertEqual([key for key in scrape.samples if key[0].startswith("weft_request")],
                         [])


class ConnectionPoolGaugesTest(TelemetryTest):
    def test_requests_in_flight_and_pooled_connections_are_gauged(self):
        self.start_mesh("--delay-ms", "1500", "--delay-fraction", "1")
        cluster = {"cluster": "reviews"}
        scrape = self.metrics()
        self.assertEqual(scrape.value("weft_proxy_upstream_active_requests", **cluster), 0)
        self.assertEqual(scrape.value("weft_proxy_upstream_connections", **cluster), 0)
        done = threading.Event()

        def slow_request():
            connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
            try:
                connection.request("GET", "/api/slow")
                connection.getresponse().read()
            finally:
                connection.close()
                done.set()

        thread = threading.Thread(target=slow_request)
        thread.start()
        try:
            # The request is active from the moment it is sent for; its connection is
            # counted once it is established, a moment later.
            deadline = time.monotonic() + 5
            while True:
                scrape = self.metrics()
                if (scrape.value("weft_proxy_upstream_active_requests", **cluster) == 1 and
                        scrape.value("weft_proxy_upstream_connections", **cluster) == 1) \
                        or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            self.assertFalse(done.is_set(), "the request ended before it was seen in flight")
            self.assertEqual(scrape.value("weft_proxy_upstream_active_requests", **cluster), 1)
            self.assertEqual(scrape.value("weft_proxy_upstream_connections", **cluster), 1)
            self.assertEqual(scrape.value("weft_proxy_upstream_pending_requests", **cluster), 0)
        finally:
            thread.join(timeout=15)
        # The count drops once the response is out, a moment after the client has read it.
        deadline = time.monotonic() + 5
        while True:
            scrape = self.metrics()
            if scrape.value("weft_proxy_upstream_active_requests", **cluster) == 0 \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(scrape.value("weft_proxy_upstream_active_requests", **cluster), 0)
        # The connection stays open, idle in the worker's pool, for the next request.
        self.assertEqual(scrape.value("weft_proxy_upstream_connections", **cluster), 1)


class GrpcMetricsTest(TelemetryTest):
    def test_grpc_calls_are_labelled_with_their_grpc_status(self):
        _, grpc_port = self.start_grpc_server()
        proxy_port = self.start_http2_cluster_proxy(grpc_port, route_prefix="/test.Echo")

        def calls(count):
            result = subprocess.run([SYSTEM_PYTHON, GRPC_TOOL, "calls", f"127.0.0.1:{proxy_port}",
                                     str(count), "100"], capture_output=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            return json.loads(result.stdout)

        def control(method, text):
            subprocess.run([SYSTEM_PYTHON, GRPC_TOOL, "control", f"127.0.0.1:{grpc_port}",
                            method, text], check=True, capture_output=True, timeout=30)

        self.assertEqual(calls(7), {"OK": 7})
        # One client connection, one worker: one HTTP/2 connection upstream, kept in the pool.
        self.assertEqual(self.metrics().value("weft_proxy_upstream_connections",
                                              cluster="reviews"), 1)
        control("SetUnavailable", "1")
        self.assertEqual(calls(4), {"UNAVAILABLE": 4})
        scrape = self.settled([("weft_requests_total", labels(EDGE, 200, grpc="0"), 7),
                               ("weft_requests_total", labels(EDGE, 200, grpc="14"), 4)])
        # Each call sent one message of 100 bytes, framed in 5 more.
        self.assertEqual(scrape.value("weft_request_bytes_total", **labels(EDGE, 200, grpc="0")),
                         7 * 105)


class Http1ToGrpcMetricsTest(TelemetryTest):
    def test_a_local_reply_relayed_through_the_http2_bridge_keeps_its_flag(self):
        # An HTTP/1.1 client of an HTTP2 cluster whose only endpoint refuses connections.
        proxy_port = self.start_http2_cluster_proxy(harness.free_port())
        for _ in range(3):
            connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
            try:
                self.assertEqual(self.post(connection, "/api/x", b"payload")[0], 503)
            finally:
                connection.close()
        scrape = self.settled([("weft_requests_total",
                                labels(EDGE, 503, "upstream_connect_failure"), 3)])
        # A connection that failed to connect no longer counts as open.
        self.assertEqual(scrape.value("weft_proxy_upstream_connections", cluster="reviews"), 0)


class BridgedHttp2PoolGaugeTest(TelemetryTest):
    def test_an_http2_connection_opened_for_http1_clients_is_gauged_until_it_closes(self):
        server, grpc_port = self.start_grpc_server()
        proxy_port = self.start_http2_cluster_proxy(grpc_port)
        connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
        try:
            status, _ = self.post(connection, "/api/x", b"payload")
        finally:
            connection.close()
        self.assertLess(status, 500)  # the gRPC server answered (not a method it knows)
        cluster = {"cluster": "reviews"}
        self.assertEqual(self.metrics().value("weft_proxy_upstream_connections", **cluster), 1)
        server.stop()  # the upstream closes its side: the connection is gone from the gauge
        deadline = time.monotonic() + 10
        while self.metrics().value("weft_proxy_upstream_connections", **cluster) != 0:
            self.assertLess(time.monotonic(), deadline, "the closed connection is still counted")
            time.sleep(0.05)


class StatusEndpointTest(TelemetryTest):
    def test_it_serves_readiness_and_metrics_and_nothing_else(self):
        self.start_mesh()
        base = f"http://127.0.0.1:{self.status_port}"
        status, _, body = self.curl(base + "/healthz/ready")
        self.assertEqual((status, body.strip()), (200, "LIVE"))
        # Reached by the pod's address under any name (the kubelet, Prometheus).
        status, _, _ = self.curl(base + "/metrics", "-H", "Host: reviews-7d9f.shop.pod")
        self.assertEqual(status, 200)
        for path in ("/config_dump", "/clusters", "/stats/prometheus", "/quitquitquit"):
            status, _, _ = self.curl(base + path)
            self.assertEqual(status, 404, path)
        status, _, _ = self.curl(base + "/metrics", "-X", "POST")
        self.assertEqual(status, 405)
        # The admin port shows the same golden metrics.
        admin = proxy_metrics.scrape(self.admin_port)
        self.assertIn("weft_requests", admin.families)


PROMETHEUS_CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: weft-proxy
    static_configs: [{{targets: ["127.0.0.1:{status_port}"]}}]
"""


class PrometheusScrapeTest(TelemetryTest):
    """A real Prometheus server (Debian's prometheus package) scraping the status port."""

    def query(self, prometheus_port, expression):
        url = (f"http://127.0.0.1:{prometheus_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expression}))
        with urllib.request.urlopen(url, timeout=5) as answer:
            result = json.load(answer)
        self.assertEqual(result["status"], "success", result)
        values = result["data"]["result"]
        return float(values[0]["value"][1]) if values else None

    def test_prometheus_scrapes_the_request_counts_and_latency(self):
        self.start_mesh()
        prometheus_port = harness.free_port()
        config = self.write("prometheus.yml", PROMETHEUS_CONFIG.format(status_port=self.status_port))
        server = self.start(["prometheus", f"--config.file={config}",
                             f"--storage.tsdb.path={os.path.join(self.tempdir, 'tsdb')}",
                             f"--web.listen-address=127.0.0.1:{prometheus_port}",
                             "--log.level=warn"], "prometheus")
        del server
        connection = http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=10)
        try:
            for i in range(120):
                self.assertEqual(self.post(connection, f"/api/{i}", b"")[0], 200)
        finally:
            connection.close()
        selector = ('{direction="outbound",source_workload="productpage-v1",'
                    'destination_service="reviews.shop.svc.cluster.local",response_code="200"}')
        deadline = time.monotonic() + 60
        while True:
            try:
                total = self.query(prometheus_port, f"sum(weft_requests_total{selector})")
            except OSError:
                total = None  # not listening yet
            if total == 120:
                break
            self.assertLess(time.monotonic(), deadline, f"Prometheus has {total}")
            time.sleep(0.5)
        count = self.query(prometheus_port,
                           f"sum(weft_request_duration_seconds_count{selector})")
        self.assertEqual(count, 120)
        median = self.query(prometheus_port,
                            "histogram_quantile(0.5, sum by (le) "
                            f"(weft_request_duration_seconds_bucket{selector}))")
        self.assertIsNotNone(median)
        self.assertGreater(median, 0)
        self.assertLess(median, 60)
        up = self.query(prometheus_port, 'up{job="weft-proxy"}')
        self.assertEqual(up, 1)


if __name__ == "__main__":
    harness.main()
