#!/usr/bin/env python3
"""Tracing across two sidecars and an application that forwards the trace headers: W3C and B3
propagation, CLIENT and SERVER spans linked parent to child in one trace, export as OTLP/HTTP
JSON (one proxy) and Zipkin v2 JSON (the other) to a test collector, sampling decisions kept
from the caller, and spans dropped and counted, never traffic held, when the collector is
slow."""
import http.client
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import proxy_metrics  # noqa: E402

COLLECTOR = os.path.join(harness.SOURCE_DIR, "tests", "tools", "trace_collector.py")
FORWARDING_APP = os.path.join(harness.SOURCE_DIR, "tests", "tools", "forwarding_app.py")

# productpage's sidecar: its outbound listener sends calls to reviews' sidecar.
PROXY_A = """
node: {{id: productpage-1.shop, workload_name: productpage-v1, namespace: shop}}
concurrency: 2
status_server: {{address: {{address: 127.0.0.1, port: {status_port}}}}}
tracing:
  exporter: OTLP_HTTP_JSON
  collector_cluster: collector
  default_sampling_percentage: {sampling}
  flush_interval: 0.05s
  max_batch_size: {max_batch}
static_resources:
  listeners:
    - name: outbound
      direction: OUTBOUND
      address: {{address: 127.0.0.1, port: {outbound_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: outbound
            tracing: {{tags: {{mesh: test}}}}
            route_config:
              name: outbound
              virtual_hosts:
                - name: reviews
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: reviews}}
  clusters:
    - name: reviews
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {reviews_inbound}}}}}
    - name: collector
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {collector}}}}}
"""

# reviews' sidecar: inbound to the reviews app, which calls details through the outbound side.
PROXY_B = """
node: {{id: reviews-1.shop, workload_name: reviews-v1, namespace: shop}}
concurrency: 2
status_server: {{address: {{address: 127.0.0.1, port: {status_port}}}}}
tracing:
  exporter: ZIPKIN_V2_JSON
  collector_cluster: collector
  default_sampling_percentage: {sampling}
  flush_interval: 0.05s
static_resources:
  listeners:
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
                - name: app
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: app}}
    - name: outbound
      direction: OUTBOUND
      address: {{address: 127.0.0.1, port: {outbound_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: outbound
            route_config:
              name: outbound
              virtual_hosts:
                - name: details
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: details}}
  clusters:
    - name: app
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {app}}}}}
    - name: details
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {details}}}}}
    - name: collector
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {collector}}}}}
"""


class TracingTest(harness.IntegrationTest):
    def start_mesh(self, sampling=100, collector_delay_ms=0, max_batch=512):
        collector = self.start([sys.executable, COLLECTOR, "--delay-ms", str(collector_delay_ms)],
                               "collector")
        self.collector = int(collector.wait_for(r"listening on (\d+)").group(1))
        _, details = self.start_backend("details")
        self.a_status, self.a_outbound = harness.free_port(), harness.free_port()
        self.b_status, self.b_inbound = harness.free_port(), harness.free_port()
        b_outbound = harness.free_port()
        app = self.start([sys.executable, FORWARDING_APP, "--upstream",
                          f"127.0.0.1:{b_outbound}"], "reviews-app")
        app_port = int(app.wait_for(r"listening on (\d+)").group(1))
        self.start_named_proxy("reviews-sidecar", PROXY_B.format(status_port=self.b_status, inbound_port=self.b_inbound,
                                        outbound_port=b_outbound, app=app_port, details=details,
                                        collector=self.collector, sampling=sampling))
        self.start_named_proxy("productpage-sidecar", PROXY_A.format(status_port=self.a_status,
                                        outbound_port=self.a_outbound,
                                        reviews_inbound=self.b_inbound, collector=self.collector,
                                        sampling=sampling, max_batch=max_batch))

    def start_named_proxy(self, name, config_text):
        # Each proxy its own bootstrap file: a proxy reloads when its file changes.
        path = self.write(f"{name}.yaml", self.with_admin(config_text))
        process = self.start([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config", path],
                             name)
        process.wait_for(r"weft-proxy ready")

    def call(self, path, headers=None):
        """GET through productpage's outbound listener; the backend's echo of what it got."""
        connection = http.client.HTTPConnection("127.0.0.1", self.a_outbound, timeout=20)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            self.assertEqual(response.status, 200, body)
            return json.loads(body)["headers"]
        finally:
            connection.close()

    def spans(self, count, timeout=10):
        """The collector's spans once it has at least `count`."""
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.collector}/spans",
                                        timeout=5) as answer:
                spans = json.loads(answer.read())
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def counter(self, status_port, name):
        return proxy_metrics.scrape(status_port, "/metrics").value(name)


class PropagationTest(TracingTest):
    def test_spans_link_client_and_server_across_two_proxies_and_an_app(self):
        self.start_mesh()
        seen = [self.call(f"/reviews/{i}") for i in range(3)]
        spans = self.spans(9)
        self.assertEqual(len(spans), 9, spans)
        traces = {}
        for span in spans:
            traces.setdefault(span["traceId"], []).append(span)
        self.assertEqual(len(traces), 3)
        for trace_id, trace in traces.items():
            self.assertRegex(trace_id, r"^[0-9a-f]{32}$")
            by_parent = {span["parentSpanId"]: span for span in trace}
            root = by_parent[""]  # productpage's outbound call starts the trace
            self.assertEqual((root["service"], root["kind"], root["format"]),
                             ("productpage-v1", "CLIENT", "otlp"))
            inbound = by_parent[root["spanId"]]
            self.assertEqual((inbound["service"], inbound["kind"], inbound["format"]),
                             ("reviews-v1", "SERVER", "zipkin"))
            outbound = by_parent[inbound["spanId"]]
            self.assertEqual((outbound["service"], outbound["kind"]), ("reviews-v1", "CLIENT"))
            for span in trace:
                self.assertEqual(str(span["tags"]["http.status_code"]), "200")
                self.assertEqual(span["tags"]["http.method"], "GET")
                self.assertFalse(span["error"])
                self.assertLessEqual(span["start"], span["end"])
            self.assertEqual(root["tags"]["mesh"], "test")  # the chain's static tag
            # One request id along the whole chain: made by the first proxy, kept after.
            self.assertEqual(len({span["tags"]["request_id"] for span in trace}), 1)
            # The server span lies within its client span.
            self.assertLessEqual(root["start"], inbound["start"])
            # What the last service received names reviews' outbound span as its parent.
            received = [h for h in seen if h["traceparent"].split("-")[1] == trace_id]
            self.assertEqual(len(received), 1)
            self.assertEqual(received[0]["traceparent"],
                             f"00-{trace_id}-{outbound['spanId']}-01")
            # No caller spoke B3: only W3C is written (B3 answers a B3 caller, below).
            self.assertEqual([name for name in received[0] if name.startswith("x-b3-")], [])
        self.assertEqual(self.counter(self.a_status, "weft_proxy_tracing_spans_exported_total"), 3)
        self.assertEqual(self.counter(self.b_status, "weft_proxy_tracing_spans_exported_total"), 6)

    def test_the_callers_sampling_decision_is_kept(self):
        self.start_mesh(sampling=0)
        caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        caller_span = "00f067aa0ba902b7"
        got = self.call("/sampled", {"traceparent": f"00-{caller_trace}-{caller_span}-01",
                                     "tracestate": "vendor=opaque"})
        self.assertEqual(got["tracestate"], "vendor=opaque")
        spans = self.spans(3)
        self.assertEqual(len(spans), 3, spans)
        self.assertEqual({span["traceId"] for span in spans}, {caller_trace})
        root = [span for span in spans if span["service"] == "productpage-v1"][0]
        self.assertEqual(root["parentSpanId"], caller_span)
        # Not sampled by the caller: propagated with the flag off, and no spans.
        got = self.call("/unsampled", {"traceparent": f"00-{'1' * 32}-{caller_span}-00"})
        self.assertTrue(got["traceparent"].startswith(f"00-{'1' * 32}-"))
        self.assertTrue(got["traceparent"].endswith("-00"))
        self.assertNotIn("x-b3-sampled", got)
        # Nothing was sampled at 0 %: a trace the proxy starts is propagated unsampled too.
        got = self.call("/fresh")
        self.assertTrue(got["traceparent"].endswith("-00"))
        time.sleep(0.3)  # a wrongly exported span would have arrived by now (flush: 50 ms)
        self.assertEqual(len(self.spans(0)), 3)

    def test_a_b3_single_header_is_read_and_rewritten(self):
        self.start_mesh(sampling=0)
        trace64 = "80f198ee56343ba8"
        got = self.call("/b3", {"b3": f"{trace64}-e457b5a2e4d86bd1-1",
                                "tracestate": "vendor=of-another-trace"})
        # Continued from B3, the trace is not the tracestate's: it is dropped (W3C).
        self.assertNotIn("tracestate", got)
        spans = self.spans(3)
        self.assertEqual(len(spans), 3, spans)
        zipkin = [span for span in spans if span["format"] == "zipkin"]
        self.assertEqual({span["traceId"] for span in zipkin}, {trace64})
        root = [span for span in spans if span["service"] == "productpage-v1"][0]
        self.assertEqual(root["parentSpanId"], "e457b5a2e4d86bd1")
        outbound = [span for span in zipkin if span["kind"] == "CLIENT"][0]
        # Answered in kind along the chain: the app forwarded what it got, B3 and W3C.
        self.assertEqual(got["x-b3-traceid"], trace64)
        self.assertEqual(got["x-b3-spanid"], outbound["spanId"])
        self.assertEqual(got["x-b3-parentspanid"], outbound["parentSpanId"])
        self.assertEqual(got["x-b3-sampled"], "1")
        self.assertTrue(got["b3"].startswith(f"{trace64}-{outbound['spanId']}-1-"))
        self.assertTrue(got["traceparent"].startswith(f"00-{'0' * 16}{trace64}-"))


class SlowCollectorTest(TracingTest):
    def test_spans_are_dropped_and_counted_while_traffic_flows(self):
        # One span per batch, 8 batches queued at most, and a collector that takes 2 s each.
        self.start_mesh(collector_delay_ms=2000, max_batch=1)
        for i in range(40):
            self.call(f"/busy/{i}")
        dropped = self.counter(self.a_status, "weft_proxy_tracing_spans_dropped_total")
        exported = self.counter(self.a_status, "weft_proxy_tracing_spans_exported_total")
        self.assertGreater(dropped, 0)
        self.assertLessEqual(dropped + exported, 40)


if __name__ == "__main__":
    harness.main()
