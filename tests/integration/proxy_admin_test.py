#!/usr/bin/env python3
"""The admin endpoint of a running weft-proxy, driven with curl."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CONFIG = """
node: {{id: admin-test}}
concurrency: 1
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: r
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}},
                                route: {{cluster: backend}}}}]}}]
  clusters:
    - name: backend
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {backend}}}}},
                                     load_balancing_weight: 7}}]}}]
"""


class ProxyAdminTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, self.backend_port = self.start_backend("b")
        self.proxy = self.start_proxy(CONFIG.format(port=harness.free_port(),
                                                    backend=self.backend_port))
        self.admin = f"http://127.0.0.1:{self.admin_port}"

    def test_ready_and_healthz(self):
        self.assertEqual(self.curl(f"{self.admin}/ready")[0], 200)
        self.assertEqual(self.curl(f"{self.admin}/healthz")[0], 200)

    def test_config_dump_shows_the_running_bootstrap(self):
        status, headers, body = self.curl(f"{self.admin}/config_dump")
        self.assertEqual(status, 200)
        self.assertIn("application/json", headers["content-type"])
        dump = json.loads(body)
        self.assertEqual(dump["bootstrap"]["node"]["id"], "admin-test")
        self.assertEqual(dump["version_info"], "static-0")

    def test_clusters_lists_endpoints(self):
        status, _, body = self.curl(f"{self.admin}/clusters?format=json")
        self.assertEqual(status, 200)
        clusters = json.loads(body)
        text = json.dumps(clusters)
        self.assertIn("backend", text)
        self.assertIn(f"127.0.0.1:{self.backend_port}", text)
        _, _, lines = self.curl(f"{self.admin}/clusters")
        self.assertIn(f"backend::127.0.0.1:{self.backend_port}::weight::7", lines)

    def test_index_lists_the_prometheus_endpoint(self):
        status, _, body = self.curl(f"{self.admin}/")
        self.assertEqual(status, 200)
        self.assertIn("/stats/prometheus", body)

    def test_prometheus_stats_show_the_security_counters(self):
        # The format itself is checked with the Prometheus parser in proxy_mtls_test and
        # proxy_identity_test (Debian's python3-prometheus-client, which only /usr/bin/python3
        # has); here, what a proxy without a CA exposes.
        status, headers, body = self.curl(f"{self.admin}/stats/prometheus")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        for name in ("weft_proxy_tls_handshake_failures_total",
                     "weft_proxy_tls_plaintext_refused_total",
                     "weft_proxy_tls_unavailable_total",
                     "weft_proxy_upstream_tls_failures_total",
                     "weft_proxy_authz_denied_total",
                     "weft_proxy_authz_audit_matches_total",
                     "weft_proxy_authz_dry_run_differences_total"):
            self.assertIn(f"# TYPE {name} counter\n{name} 0\n", body)
        self.assertNotIn("weft_proxy_certificate", body)  # no dynamic_resources.ca
        self.assertEqual(self.curl(f"{self.admin}/stats/prometheus", "-X", "POST")[0], 405)

    def test_log_level_changes_at_run_time(self):
        status, _, _ = self.curl(f"{self.admin}/logging?level=debug", "-X", "POST")
        self.assertEqual(status, 200)
        _, _, body = self.curl(f"{self.admin}/logging")
        self.assertIn("debug", body)
        status, _, body = self.curl(f"{self.admin}/logging?level=loud", "-X", "POST")
        self.assertEqual(status, 400)

    def test_mutations_need_post(self):
        self.assertEqual(self.curl(f"{self.admin}/quitquitquit")[0], 405)
        self.assertIsNone(self.proxy.proc.poll())

    def test_drain_turns_not_ready(self):
        self.assertEqual(self.curl(f"{self.admin}/drain_listeners", "-X", "POST")[0], 200)
        self.assertEqual(self.curl(f"{self.admin}/ready")[0], 503)

    def test_quitquitquit_exits_cleanly(self):
        self.assertEqual(self.curl(f"{self.admin}/quitquitquit", "-X", "POST")[0], 200)
        self.assertEqual(self.proxy.wait(), 0)
        self.assertIn("admin /quitquitquit: draining", self.proxy.output())


if __name__ == "__main__":
    harness.main()
