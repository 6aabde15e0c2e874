#!/usr/bin/env python3
"""Routing features end to end: match conditions, header mutations, rewrites,
redirects, and load balancing with the real weft-proxy, curl over HTTP/1.1 and
HTTP/2 (prior knowledge), and echo backends on loopback."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CONFIG = """
node: {{id: routing-proxy}}
concurrency: 2
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              response_headers:
                set: [{{name: x-mesh, value: weft}}]
              virtual_hosts:
                - name: shop
                  domains: ["shop"]
                  request_headers:
                    remove: [x-internal-token]
                  routes:
                    - name: canary
                      match:
                        prefix: /
                        headers: [{{name: x-canary, exact: "true"}}]
                      route: {{cluster: v2}}
                    - name: writes
                      match: {{prefix: /, methods: [POST, PUT, DELETE]}}
                      route: {{cluster: v2}}
                    - name: beta-query
                      match:
                        prefix: /
                        query_parameters: [{{name: beta, exact: "1"}}]
                      route: {{cluster: v2}}
                    - name: secure
                      match: {{prefix: /account}}
                      redirect: {{scheme_redirect: https, port_redirect: 8443}}
                    - name: moved
                      match: {{prefix: /old/}}
                      redirect: {{prefix_rewrite: /new/, response_code: TEMPORARY_REDIRECT}}
                    - name: internal
                      match: {{prefix: /internal}}
                      route:
                        cluster: v1
                        host_rewrite: internal.shop
                        regex_rewrite: {{pattern: "^/internal/([a-z]+)", substitution: "/\\\\1/v2"}}
                    - name: default
                      match: {{prefix: /}}
                      request_headers:
                        set: [{{name: x-route, value: default}}]
                        append: [{{name: x-trace, value: proxy}}]
                      response_headers:
                        remove: [server]
                        set: [{{name: x-served-by, value: weft}}]
                      route: {{cluster: v1}}
                - name: sticky
                  domains: ["sticky"]
                  routes:
                    - match: {{prefix: /cookie}}
                      route:
                        cluster: ring
                        hash_policy: [{{cookie: {{name: weft-session, ttl: 600s}}}}]
                    - match: {{prefix: /}}
                      route:
                        cluster: ring
                        hash_policy: [{{header: {{name: x-user}}}}]
                - name: once
                  domains: ["once"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: one-request-per-connection}}
                - name: least
                  domains: ["least"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: least, timeout: 10s}}
    - name: strict
      address: {{address: 127.0.0.1, port: {strict_port}}}
      backlog: 16
      tcp_keepalive: {{probes: 3, idle_time: 60s, interval: 10s}}
      filter_chains:
        - name: http
          http:
            stat_prefix: strict
            request_id_in_response: true
            hide_local_reply_reason: true
            max_requests_per_connection: 2
            path_normalization: {{merge_slashes: true, escaped_slashes: REJECT}}
            route_config:
              name: strict
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: v1}}
    - name: h2-only
      address: {{address: 127.0.0.1, port: {h2_port}}}
      protocol_detection: {{disabled: true}}
      filter_chains:
        - name: http
          http:
            stat_prefix: h2
            codec: HTTP2
            route_config:
              name: h2
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: v1}}
  clusters:
    - name: v1
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {a_port}}}}}
    - name: v2
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {b_port}}}}}
    - name: ring
      lb_policy: RING_HASH
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {a_port}}}}}
              - endpoint: {{address: {{address: 127.0.0.1, port: {b_port}}}}}
              - endpoint: {{address: {{address: 127.0.0.1, port: {c_port}}}}}
    - name: one-request-per-connection
      connection_pool: {{max_requests_per_connection: 1}}
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {a_port}}}}}
    - name: least
      lb_policy: LEAST_REQUEST
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {a_port}}}}}
              - endpoint: {{address: {{address: 127.0.0.1, port: {b_port}}}}}
                health_status: UNHEALTHY
              - endpoint: {{address: {{address: 127.0.0.1, port: {c_port}}}}}
                health_status: DRAINING
"""


class ProxyRoutingTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, a_port = self.start_backend("a")
        _, b_port = self.start_backend("b")
        _, c_port = self.start_backend("c")
        self.backend_by_port = {a_port: "a", b_port: "b", c_port: "c"}
        self.port = harness.free_port()
        self.strict_port = harness.free_port()
        self.h2_port = harness.free_port()
        self.start_proxy(CONFIG.format(proxy_port=self.port, a_port=a_port, b_port=b_port,
                                       c_port=c_port, strict_port=self.strict_port,
                                       h2_port=self.h2_port))
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, path, *args, host="shop", http2=False):
        extra = ["--http2-prior-knowledge"] if http2 else []
        return self.curl(f"{self.base}{path}", "-H", f"Host: {host}", *extra, *args)

    def backend(self, path, *args, **kwargs):
        status, headers, body = self.request(path, *args, **kwargs)
        self.assertEqual(status, 200, (headers, body))
        return json.loads(body)

    def test_header_method_and_query_conditions_pick_the_route(self):
        for http2 in (False, True):
            with self.subTest(http2=http2):
                self.assertEqual(self.backend("/p", http2=http2)["backend"], "a")
                self.assertEqual(
                    self.backend("/p", "-H", "x-canary: true", http2=http2)["backend"], "b")
                self.assertEqual(
                    self.backend("/p", "-H", "x-canary: false", http2=http2)["backend"], "a")
                self.assertEqual(self.backend("/p", "-X", "DELETE", http2=http2)["backend"], "b")
                self.assertEqual(self.backend("/p?x=1&beta=1", http2=http2)["backend"], "b")
                self.assertEqual(self.backend("/p?beta=10", http2=http2)["backend"], "a")

    def test_request_and_response_header_mutations(self):
        for http2 in (False, True):
            with self.subTest(http2=http2):
                status, headers, body = self.request(
                    "/p", "-H", "x-internal-token: secret", "-H", "x-route: client",
                    "-H", "x-trace: client", http2=http2)
                self.assertEqual(status, 200)
                seen = json.loads(body)["headers"]
                self.assertNotIn("x-internal-token", seen)   # removed by the virtual host
                self.assertEqual(seen["x-route"], "default")  # set replaces the client's
                self.assertEqual(seen["x-trace"], "client, proxy")  # append keeps it
                self.assertEqual(headers["x-mesh"], "weft")   # route configuration level
                self.assertEqual(headers["x-served-by"], "weft")
                self.assertNotIn("server", headers)

    def test_local_replies_get_the_response_mutations_too(self):
        status, headers, _ = self.request("/p", host="unknown")
        self.assertEqual(status, 404)
        self.assertEqual(headers["x-weft-reason"], "no_route")
        self.assertEqual(headers["x-mesh"], "weft")

    def test_regex_and_host_rewrite(self):
        for http2 in (False, True):
            with self.subTest(http2=http2):
                seen = self.backend("/internal/orders?id=3", http2=http2)
                self.assertEqual(seen["path"], "/orders/v2?id=3")
                self.assertEqual(seen["headers"]["host"], "internal.shop")
                self.assertEqual(seen["headers"]["x-forwarded-host"], "shop")

    def test_redirects(self):
        for http2 in (False, True):
            with self.subTest(http2=http2):
                status, headers, body = self.request("/account/settings?tab=1", http2=http2)
                self.assertEqual(status, 301)
                self.assertEqual(headers["location"], "https://shop:8443/account/settings?tab=1")
                self.assertNotIn("x-weft-reason", headers)
                self.assertEqual(body, "")
                status, headers, _ = self.request("/old/page", http2=http2)
                self.assertEqual(status, 307)
                self.assertEqual(headers["location"], "http://shop/new/page")

    def test_ring_hash_keeps_each_user_on_one_backend(self):
        spread = set()
        for user in range(12):
            seen = {self.backend("/", "-H", f"x-user: user-{user}", host="sticky")["backend"]
                    for _ in range(4)}
            self.assertEqual(len(seen), 1, f"user-{user} moved between {seen}")
            spread |= seen
        self.assertGreater(len(spread), 1, "every user hashed to one backend")

    def test_generated_affinity_cookie_sticks(self):
        jar = os.path.join(self.tempdir, "cookies.txt")
        status, headers, body = self.request("/cookie", "-c", jar, host="sticky")
        self.assertEqual(status, 200)
        self.assertRegex(headers["set-cookie"], r'^weft-session="[0-9a-f]{16}"; Path=/; '
                                                r"Max-Age=600; HttpOnly$")
        first = json.loads(body)["backend"]
        for _ in range(5):
            status, headers, body = self.request("/cookie", "-b", jar, host="sticky")
            self.assertEqual(json.loads(body)["backend"], first)
            self.assertNotIn("set-cookie", headers)  # the client has one

    def test_max_requests_per_connection(self):
        # HTTP/1.1 clients go through the HTTP/1 exchange, HTTP/2 clients through
        # the relay: both must honour the cluster's pool limit.
        for http2 in (False, True):
            with self.subTest(http2=http2):
                ports = {self.backend("/p", host="once", http2=http2)["peer_port"]
                         for _ in range(3)}
                self.assertEqual(len(ports), 3, "each request should get a new upstream connection")

    def test_unhealthy_and_draining_endpoints_get_no_traffic(self):
        backends = {self.backend("/p", host="least")["backend"] for _ in range(10)}
        self.assertEqual(backends, {"a"})

    def admin_clusters(self):
        status, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/clusters?format=json")
        self.assertEqual(status, 200)
        return {c["name"]: c for c in json.loads(body)["clusters"]}

    def test_admin_clusters_shows_health_and_requests_in_flight(self):
        least = self.admin_clusters()["least"]
        health = {self.backend_by_port[int(e["address"].rsplit(":", 1)[1])]: e["health"]
                  for e in least["endpoints"]}
        self.assertEqual(health, {"a": "healthy", "b": "unhealthy", "c": "draining"})

        # Two slow requests in flight to the only usable endpoint show up as active.
        threads = [threading.Thread(target=self.backend, args=("/delay/3000",),
                                    kwargs={"host": "least"}) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.time() + 10
            active = 0
            while time.time() < deadline:
                endpoints = self.admin_clusters()["least"]["endpoints"]
                active = sum(e["active_requests"] for e in endpoints)
                if active == 2:
                    break
                time.sleep(0.1)
            self.assertEqual(active, 2)
        finally:
            for thread in threads:
                thread.join()
        endpoints = self.admin_clusters()["least"]["endpoints"]
        self.assertEqual(sum(e["active_requests"] for e in endpoints), 0)

    def test_paths_are_normalized_before_routing(self):
        for http2 in (False, True):
            with self.subTest(http2=http2):
                # --path-as-is: curl would otherwise remove the dot segments itself.
                seen = self.backend("/public/../internal/x/%2e%2E/orders", "--path-as-is",
                                    http2=http2)
                self.assertEqual(seen["path"], "/orders/v2")  # took the /internal route
                seen = self.backend("/%70/q?a=%2e%2e", "--path-as-is", http2=http2)
                self.assertEqual(seen["path"], "/p/q?a=%2e%2e")
                status, headers, _ = self.request("/a%zz", http2=http2)
                self.assertEqual(status, 400)
                self.assertEqual(headers["x-weft-reason"], "bad_request")

    def test_listener_options(self):
        strict = f"http://127.0.0.1:{self.strict_port}"
        status, headers, body = self.curl(f"{strict}//a///b", "--path-as-is")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["path"], "/a/b")
        self.assertEqual(headers["x-request-id"], json.loads(body)["headers"]["x-request-id"])
        status, headers, _ = self.curl(f"{strict}/a%2Fb")
        self.assertEqual(status, 400)
        self.assertNotIn("x-weft-reason", headers)  # hidden on this listener
        # Two requests per connection: the second response closes it.
        reply = self.raw_request(self.strict_port, b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                                   b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
                                                   b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(reply.count(b"HTTP/1.1 200"), 2, reply)
        self.assertIn(b"Connection: close", reply.split(b"HTTP/1.1 200")[2])
        # A listener pinned to HTTP/2 without detection serves prior-knowledge clients.
        status, _, body = self.curl(f"http://127.0.0.1:{self.h2_port}/x",
                                    "--http2-prior-knowledge")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["path"], "/x")

    def test_unimplemented_setting_is_refused_with_its_field(self):
        bad = CONFIG.replace("connection_pool: {{max_requests_per_connection: 1}}",
                             "connection_pool: {{max_connection_duration: 60s}}").format(
            proxy_port=harness.free_port(), a_port=1, b_port=2, c_port=3,
            strict_port=harness.free_port(), h2_port=harness.free_port())
        path = self.write("bad.yaml", bad)
        result = subprocess.run([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config", path,
                                 "--validate"], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("connection_pool.max_connection_duration: is not implemented",
                      result.stderr + result.stdout)


LIMIT_CONFIG = """
node: {{id: limit-proxy}}
concurrency: 1
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /short/}}
                      route: {{cluster: limited, timeout: 300ms, prefix_rewrite: /}}
                    - match: {{prefix: /}}
                      route: {{cluster: limited, timeout: 10s}}
  clusters:
    - name: limited
      connection_pool: {{max_connections_per_host: 1}}
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {a_port}}}}}
"""


class ProxyConnectionLimitTest(harness.IntegrationTest):
    """max_connections_per_host: requests beyond the limit wait for a connection
    (one worker, so its share is the whole limit)."""

    def setUp(self):
        super().setUp()
        _, a_port = self.start_backend("a")
        port = harness.free_port()
        self.proxy = self.start_proxy(LIMIT_CONFIG.format(proxy_port=port, a_port=a_port))
        self.base = f"http://127.0.0.1:{port}"

    def active_requests(self):
        _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/clusters?format=json")
        clusters = {c["name"]: c for c in json.loads(body)["clusters"]}
        return sum(e["active_requests"] for e in clusters["limited"]["endpoints"])

    def test_concurrent_requests_share_the_one_connection_allowed(self):
        results = []

        def fetch(http2):
            extra = ["--http2-prior-knowledge"] if http2 else []
            results.append(self.curl(f"{self.base}/delay/200", *extra))

        threads = [threading.Thread(target=fetch, args=(i % 2 == 1,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([status for status, _, _ in results], [200] * 6)
        # Without the limit six concurrent requests open six connections.
        peers = {json.loads(body)["peer_port"] for _, _, body in results}
        self.assertEqual(len(peers), 1, peers)

    def test_waiting_past_the_route_timeout_is_a_504_that_says_why(self):
        slow = []
        thread = threading.Thread(
            target=lambda: slow.append(self.curl(f"{self.base}/delay/1500")))
        thread.start()
        try:
            # Until the slow request holds the only connection.
            deadline = time.monotonic() + 10
            while self.active_requests() != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            status, headers, body = self.curl(f"{self.base}/short/x")
        finally:
            thread.join()
        self.assertEqual(status, 504, body)
        self.assertEqual(headers["x-weft-reason"], "upstream_timeout")
        self.assertIn("max_connections_per_host", body)
        self.assertEqual(slow[0][0], 200)


if __name__ == "__main__":
    harness.main()
