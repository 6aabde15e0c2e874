#!/usr/bin/env python3
"""Access logs: JSON lines with the documented fields for HTTP/1.1, HTTP/2 and TCP, a TEXT
template, errors_only and sampling, the line counters on /metrics, and configs that are refused
with the field named."""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import proxy_metrics  # noqa: E402

# The fields docs/observability.md lists, every one a key of every JSON line.
FIELDS = ["start_time", "duration_ms", "upstream_service_time_ms", "protocol", "method",
          "authority", "path", "response_code", "grpc_status", "response_flags",
          "bytes_received", "bytes_sent", "upstream_cluster", "upstream_host", "route_name",
          "request_id", "traceparent", "trace_id", "downstream_peer_address",
          "downstream_principal", "upstream_principal", "user_agent", "retries", "authz"]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

CONFIG = """
node: {{id: productpage-1.shop, workload_name: productpage-v1, namespace: shop}}
concurrency: 2
status_server: {{address: {{address: 127.0.0.1, port: {status_port}}}}}
access_log: {{path: {log_path}}}
static_resources:
  listeners:
    - name: web
      address: {{address: 127.0.0.1, port: {web_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: web
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - name: api
                      match: {{prefix: /api}}
                      route: {{cluster: reviews}}
                    - name: muted
                      match: {{prefix: /muted}}
                      route: {{cluster: reviews}}
                      access_log_sampling_percentage: 0
    - name: errors
      address: {{address: 127.0.0.1, port: {errors_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: errors
            access_log:
              path: {text_path}
              format: TEXT
              text_format: "%METHOD% %PATH% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST% 100%% %ROUTE_METADATA(source)%"
              errors_only: true
            route_config:
              name: errors
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /api}}
                      route: {{cluster: reviews}}
                    - match: {{prefix: /closed}}
                      direct_response: {{status: 503, body: closed}}
                      metadata: {{source: TrafficRoute shop/closed}}
    - name: sampled
      address: {{address: 127.0.0.1, port: {sampled_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: sampled
            access_log: {{path: {sampled_path}, sampling_percentage: 30}}
            route_config:
              name: sampled
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: reviews}}
    - name: quiet
      address: {{address: 127.0.0.1, port: {quiet_port}}}
      filter_chains:
        - name: tcp
          tcp:
            stat_prefix: quiet
            cluster: reviews
            access_log: {{path: {log_path}, sampling_percentage: 0}}
    - name: tcp
      address: {{address: 127.0.0.1, port: {tcp_port}}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: tcp, cluster: reviews}}
  clusters:
    - name: reviews
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend}}}}}
"""


def read_lines(path, count, timeout=10):
    """The file's lines once it has at least `count` (the writer drains every 100 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = []
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


class AccessLogTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, self.backend = self.start_backend("reviews")
        self.ports = {name: harness.free_port()
                      for name in ("status", "web", "errors", "sampled", "quiet", "tcp")}
        self.log_path = os.path.join(self.tempdir, "access.log")
        self.text_path = os.path.join(self.tempdir, "errors.log")
        self.sampled_path = os.path.join(self.tempdir, "sampled.log")
        self.start_proxy(CONFIG.format(
            log_path=self.log_path, text_path=self.text_path, sampled_path=self.sampled_path,
            backend=self.backend, **{f"{name}_port": port for name, port in self.ports.items()}))

    def test_json_lines_carry_every_documented_field(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["web"], timeout=10)
        for i in range(4):
            connection.request("POST", f"/api/{i}", body=b"x" * 100,
                               headers={"user-agent": "weft-test/1", "x-request-id": f"req-{i}",
                                        "traceparent": TRACEPARENT})
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 200)
        connection.request("GET", "/nowhere")
        response = connection.getresponse()
        response.read()
        self.assertEqual(response.status, 404)
        # A route whose access_log_sampling_percentage is 0: forwarded, not logged.
        connection.request("GET", "/muted/1")
        response = connection.getresponse()
        response.read()
        self.assertEqual(response.status, 200)
        connection.close()
        harness.require_tool("curl")
        for _ in range(2):
            subprocess.run(["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o",
                            "/dev/null", f"http://127.0.0.1:{self.ports['web']}/api/h2"],
                           check=True)
        with socket.create_connection(("127.0.0.1", self.ports["tcp"]), timeout=10) as raw:
            raw.sendall(b"GET /api/tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        self.assertIn(b"200", answer.split(b"\r\n")[0])
        # A connection on the listener whose log is sampled at 0: no line.
        with socket.create_connection(("127.0.0.1", self.ports["quiet"]), timeout=10) as raw:
            raw.sendall(b"GET /api/quiet HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while raw.recv(65536):
                pass

        lines = read_lines(self.log_path, 8)
        entries = [json.loads(line) for line in lines]
        self.assertEqual(len(entries), 8, lines)
        for entry in entries:
            self.assertEqual(sorted(entry), sorted(FIELDS))
            self.assertRegex(entry["start_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertGreaterEqual(entry["duration_ms"], 0)
            self.assertRegex(entry["downstream_peer_address"], r"^127\.0\.0\.1:\d+$")
        http1 = [e for e in entries if e["protocol"] == "HTTP/1.1"]
        http2 = [e for e in entries if e["protocol"] == "HTTP/2"]
        tcp = [e for e in entries if e["protocol"] == "TCP"]
        self.assertEqual((len(http1), len(http2), len(tcp)), (5, 2, 1))
        posts = [e for e in http1 if e["method"] == "POST"]
        self.assertEqual(sorted(e["request_id"] for e in posts), [f"req-{i}" for i in range(4)])
        for entry in posts:
            self.assertEqual(entry["response_code"], 200)
            self.assertEqual(entry["response_flags"], "-")
            self.assertEqual(entry["bytes_received"], 100)
            self.assertGreater(entry["bytes_sent"], 0)
            self.assertEqual(entry["upstream_cluster"], "reviews")
            self.assertEqual(entry["upstream_host"], f"127.0.0.1:{self.backend}")
            self.assertEqual(entry["route_name"], "api")
            self.assertEqual(entry["user_agent"], "weft-test/1")
            self.assertEqual(entry["traceparent"], TRACEPARENT)
            self.assertEqual(entry["trace_id"], "0af7651916cd43dd8448eb211c80319c")
            self.assertLessEqual(entry["upstream_service_time_ms"], entry["duration_ms"])
            self.assertEqual(entry["retries"], 0)
            self.assertIsNone(entry["grpc_status"])
        missing = [e for e in http1 if e["method"] == "GET"]
        self.assertEqual(len(missing), 1)
        self.assertEqual((missing[0]["path"], missing[0]["response_code"],
                          missing[0]["response_flags"]), ("/nowhere", 404, "no_route"))
        self.assertIsNone(missing[0]["upstream_host"])
        self.assertIsNone(missing[0]["upstream_service_time_ms"])
        # Nothing went upstream, so no request id was made for it.
        self.assertIsNone(missing[0]["request_id"])
        for entry in http2:
            self.assertEqual((entry["method"], entry["path"], entry["response_code"]),
                             ("GET", "/api/h2", 200))
            self.assertEqual(entry["upstream_host"], f"127.0.0.1:{self.backend}")
            # The id the proxy generated and forwarded.
            self.assertRegex(entry["request_id"] or "", r"^[0-9a-f]{8}-[0-9a-f]{16}$")
        self.assertEqual(tcp[0]["upstream_host"], f"127.0.0.1:{self.backend}")
        self.assertIsNone(tcp[0]["response_code"])
        self.assertEqual(tcp[0]["bytes_received"],
                         len(b"GET /api/tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        self.assertEqual(tcp[0]["bytes_sent"], len(answer))

        scrape = proxy_metrics.scrape(self.ports["status"], "/metrics")
        self.assertEqual(scrape.value("weft_proxy_access_log_lines_total", path=self.log_path), 8)
        self.assertEqual(
            scrape.value("weft_proxy_access_log_dropped_lines_total", path=self.log_path), 0)

    def test_a_refused_request_is_logged_with_what_it_asked(self):
        # A TRACE with a body is refused once its header is read.
        with socket.create_connection(("127.0.0.1", self.ports["web"]), timeout=10) as raw:
            raw.sendall(b"TRACE /api/probe HTTP/1.1\r\nHost: shop\r\nUser-Agent: probe/1\r\n"
                        b"Content-Length: 3\r\n\r\nabc")
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer)
        lines = read_lines(self.log_path, 1)
        self.assertEqual(len(lines), 1, lines)
        entry = json.loads(lines[0])
        self.assertEqual((entry["method"], entry["path"], entry["authority"], entry["user_agent"],
                          entry["response_code"], entry["response_flags"]),
                         ("TRACE", "/api/probe", "shop", "probe/1", 400, "bad_request"))
        self.assertIsNone(entry["upstream_host"])

    def test_text_template_with_errors_only(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["errors"], timeout=10)
        statuses = []
        for path in ["/api/1", "/other/1", "/api/2", "/other/2", "/api/3", "/closed"]:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.close()
        self.assertEqual(statuses, [200, 404, 200, 404, 200, 503])
        lines = read_lines(self.text_path, 3)
        # Give a wrongly logged success time to arrive before asserting there is none.
        time.sleep(0.3)
        lines = read_lines(self.text_path, 3)
        self.assertEqual(lines, ["GET /other/1 404 no_route - 100% -",
                                 "GET /other/2 404 no_route - 100% -",
                                 "GET /closed 503 - - 100% TrafficRoute shop/closed"])

    def test_sampling_logs_a_share_of_requests(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["sampled"], timeout=10)
        for i in range(400):
            connection.request("GET", f"/api/{i}")
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 200)
        connection.close()
        # Every request is counted before the next is read, so the scrape settles at once.
        deadline = time.monotonic() + 10
        while True:
            scrape = proxy_metrics.scrape(self.ports["status"], "/metrics")
            written = scrape.value("weft_proxy_access_log_lines_total", path=self.sampled_path)
            lines = read_lines(self.sampled_path, int(written), timeout=2)
            if len(lines) == written or time.monotonic() > deadline:
                break
        self.assertEqual(len(lines), written)
        # 120 expected at 30 %; the standard deviation is about 9.
        self.assertGreater(len(lines), 70)
        self.assertLess(len(lines), 170)


class AccessLogConfigErrorTest(harness.IntegrationTest):
    def refused(self, access_log):
        config = self.write("bad.yaml", f"""
node: {{id: x}}
access_log: {access_log}
static_resources: {{}}
""")
        result = subprocess.run([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config", config],
                                capture_output=True, text=True, timeout=20)
        self.assertNotEqual(result.returncode, 0)
        return result.stderr

    def test_an_unknown_template_field_is_named(self):
        stderr = self.refused('{path: /dev/stdout, format: TEXT, text_format: "%CODE%"}')
        self.assertIn("access_log.text_format: unknown field %CODE% at offset 0", stderr)

    def test_an_unwritable_path_is_named(self):
        blocker = self.write("not-a-directory", "x")
        stderr = self.refused(f"{{path: {blocker}/access.log}}")
        self.assertIn(f'access_log.path: "{blocker}/access.log": cannot open for writing', stderr)


if __name__ == "__main__":
    harness.main()
