#!/usr/bin/env python3
"""weft-proxy with a static bootstrap, driven by curl and raw sockets on loopback."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CONFIG = """
node: {{id: test-proxy}}
concurrency: 1
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {proxy_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            append_x_forwarded_for: true
            max_request_headers_bytes: 4096
            request_headers_timeout: 1s
            route_config:
              name: local
              virtual_hosts:
                - name: reviews
                  domains: ["reviews", "reviews.*"]
                  routes:
                    - match: {{prefix: /api/}}
                      route:
                        prefix_rewrite: /v1/
                        weighted_clusters:
                          clusters:
                            - {{name: reviews-v1, weight: 3}}
                            - {{name: reviews-v2, weight: 1}}
                    - match: {{path: /healthz}}
                      direct_response: {{status: 200, body: "ok"}}
                    - match: {{prefix: /down}}
                      route: {{cluster: nowhere, timeout: 2s}}
                    - match: {{prefix: /stall}}
                      route: {{cluster: reviews-v1, timeout: 20s, idle_timeout: 500ms}}
                - name: catch-all
                  domains: ["*.example.com"]
                  routes:
                    - match: {{regex: "/items/([0-9]+|close-after)"}}
                      route: {{cluster: reviews-v1}}
  clusters:
    - name: reviews-v1
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {v1_port}}}}}
    - name: reviews-v2
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {v2_port}}}}}
    - name: nowhere
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {dead_port}}}}}
"""


class ProxyHttp1Test(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, self.v1_port = self.start_backend("v1")
        _, self.v2_port = self.start_backend("v2")
        self.port = harness.free_port()
        self.proxy = self.start_proxy(CONFIG.format(
            proxy_port=self.port, v1_port=self.v1_port, v2_port=self.v2_port,
            dead_port=harness.free_port()))
        self.base = f"http://127.0.0.1:{self.port}"

    def test_weighted_split_and_prefix_rewrite(self):
        seen = {"v1": 0, "v2": 0}
        for _ in range(8):
            status, headers, body = self.curl(f"{self.base}/api/reviews?x=1", "-H",
                                              "Host: reviews")
            self.assertEqual(status, 200)
            echoed = json.loads(body)
            self.assertEqual(echoed["path"], "/v1/reviews?x=1")
            seen[echoed["backend"]] += 1
        # One worker, weights 3:1: the split is exact over a multiple of 4.
        self.assertEqual(seen, {"v1": 6, "v2": 2})

    def test_upstream_connections_are_reused(self):
        ports = set()
        for _ in range(4):
            status, _, body = self.curl(f"{self.base}/items/1", "-H", "Host: shop.example.com")
            self.assertEqual(status, 200)
            ports.add(json.loads(body)["peer_port"])
        self.assertEqual(len(ports), 1, ports)  # one upstream connection served all four

    def test_upstream_closing_an_idle_connection_is_retried_on_a_fresh_one(self):
        status, _, body = self.curl(f"{self.base}/items/7", "-H", "Host: shop.example.com")
        self.assertEqual(status, 200)
        first_port = json.loads(body)["peer_port"]
        # The backend closes this connection right after answering, unannounced; the
        # proxy must notice instead of sending the next request into a dead socket.
        status, _, body = self.curl(f"{self.base}/items/close-after", "-H",
                                    "Host: shop.example.com")
        for _ in range(3):
            status, headers, body = self.curl(f"{self.base}/items/8", "-H",
                                              "Host: shop.example.com")
            self.assertEqual(status, 200, headers)
            self.assertNotEqual(json.loads(body)["peer_port"], first_port)

    def test_forwarded_headers(self):
        status, _, body = self.curl(f"{self.base}/api/x", "-H", "Host: reviews.default:80",
                                    "-H", "X-Forwarded-For: 10.1.2.3",
                                    "-H", "Connection: keep-alive, X-Secret",
                                    "-H", "X-Secret: hop")
        self.assertEqual(status, 200)
        headers = json.loads(body)["headers"]
        self.assertEqual(headers["x-forwarded-for"], "10.1.2.3, 127.0.0.1")
        self.assertRegex(headers["x-request-id"], r"^[0-9a-f]{8}-[0-9a-f]{16}$")
        # Headers named in Connection are hop-by-hop and never forwarded.
        self.assertNotIn("x-secret", headers)

    def test_hop_by_hop_fields_stop_at_the_proxy_both_ways(self):
        # RFC 9110 section 7.6.1: Connection, the fields it names, Keep-Alive,
        # Proxy-Connection, TE and Upgrade describe one connection.
        for client in ("--http1.1", "--http2-prior-knowledge"):
            args = [client, "-H", "Host: reviews"]
            if client == "--http1.1":  # fields an HTTP/2 client may not send at all
                args += ["-H", "Keep-Alive: timeout=9", "-H", "Proxy-Connection: keep-alive",
                         "-H", "TE: gzip, trailers", "-H", "Connection: X-Hop", "-H", "X-Hop: 1"]
            status, response_headers, body = self.curl(f"{self.base}/api/hop-by-hop", *args)
            self.assertEqual(status, 200, (client, body))
            forwarded = json.loads(body)["headers"]
            for name in ("keep-alive", "proxy-connection", "x-hop", "upgrade"):
                self.assertNotIn(name, forwarded, (client, name))
            if client == "--http1.1":
                # The client's TE is dropped; the proxy, which relays trailers,
                # says so itself (and asks for no transfer coding).
                self.assertEqual(forwarded.get("te"), "trailers")
            self.assertIn("x-backend", response_headers)  # end-to-end fields pass
            for name in ("keep-alive", "proxy-connection", "x-private", "upgrade"):
                self.assertNotIn(name, response_headers, (client, name))
            if client == "--http1.1":
                self.assertNotEqual(response_headers.get("connection", "").lower(), "x-private")

    def test_head_of_a_chunked_resource_has_no_body_not_even_a_last_chunk(self):
        # The upstream announces chunked framing for HEAD but sends no body; the
        # proxy must not invent a "0" chunk, or the next response on the
        # connection would start with it.
        answer = self.raw_request(
            self.port, b"HEAD /api/trailers HTTP/1.1\r\nHost: reviews\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        head, _, rest = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"\r\nTransfer-Encoding: chunked", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest)
        self.assertTrue(rest.endswith(b"\r\n\r\nok"), rest)

    def test_head_keeps_the_upstream_content_length(self):
        answer = self.raw_request(
            self.port, b"HEAD /api/x HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        head, _, rest = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        # The length of the document a GET would return, not the 0 of the empty HEAD body.
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        self.assertIsNotNone(length, head)
        self.assertGreater(int(length.group(1)), 100)
        self.assertEqual(rest, b"")  # and no body after the headers

    def test_wildcard_host_and_regex_route(self):
        status, _, body = self.curl(f"{self.base}/items/42", "-H", "Host: shop.example.com")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["backend"], "v1")
        status, headers, _ = self.curl(f"{self.base}/items/abc", "-H", "Host: shop.example.com")
        self.assertEqual(status, 404)

    def test_no_route_says_why(self):
        status, headers, body = self.curl(f"{self.base}/api/x", "-H", "Host: unknown.test")
        self.assertEqual(status, 404)
        self.assertEqual(headers["x-weft-reason"], "no_route")
        self.assertIn("unknown.test", body)
        # Said in the log too, with the request it answered.
        self.proxy.wait_for(r"GET /api/x: 404 no_route \(.*unknown\.test")
        # And the upstream failures.
        status, headers, _ = self.curl(f"{self.base}/down", "-H", "Host: reviews")
        self.assertEqual(status, 503)
        self.proxy.wait_for(r"GET /down: cluster \w+: connecting to")

    def test_direct_response(self):
        status, headers, body = self.curl(f"{self.base}/healthz", "-H", "Host: reviews")
        self.assertEqual((status, body), (200, "ok"))
        self.assertNotIn("x-weft-reason", headers)

    def test_upstream_connect_failure_says_why(self):
        status, headers, body = self.curl(f"{self.base}/down", "-H", "Host: reviews")
        self.assertEqual(status, 503)
        self.assertEqual(headers["x-weft-reason"], "upstream_connect_failure")
        self.assertIn("cluster 'nowhere'", body)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        request = (b"GET /healthz HTTP/1.1\r\nHost: reviews\r\n\r\n" * 2 +
                   b"GET /healthz HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        answer = self.raw_request(self.port, request)
        self.assertEqual(answer.count(b"HTTP/1.1 200 OK"), 3)

    def test_malformed_requests_get_400_and_close(self):
        for bad in [b"GET / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 1\r\n"
                    b"Content-Length: 2\r\n\r\nab",
                    b"GET / HTTP/1.1\r\nHost: reviews\r\nBad Header: x\r\n\r\n",
                    b"NOT-HTTP\r\n\r\n"]:
            answer = self.raw_request(self.port, bad)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer)
            self.assertIn(b"x-weft-reason: bad_request", answer)

    def test_ambiguous_framing_is_refused_not_forwarded(self):
        for bad in [
            # Transfer-Encoding not ending in chunked: the body could be read two ways.
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked, gzip\r\n"
            b"\r\nGET /api/smuggled HTTP/1.1\r\nHost: reviews\r\n\r\n",
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: gzip\r\n"
            b"Content-Length: 5\r\n\r\nhello",
            b"POST /api/a HTTP/1.0\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GET /api/a HTTP/1.1\r\n\r\n",  # no Host
            b"GET /api/a HTTP/1.1\r\nHost: reviews\r\nHost: evil\r\n\r\n",
            b"TRACE /api/a HTTP/1.1\r\nHost: reviews\r\nContent-Length: 2\r\n\r\nhi",
            # chunked applied twice
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            # a list of Content-Length values, even equal ones
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nContent-Length: 2, 2\r\n\r\nhi",
            # Transfer-Encoding the relay and Beast's parser could frame differently
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/smuggled HTTP/1.1\r\n\r\n",
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: gzip;q=1, chunked\r\n"
            b"\r\n0\r\n\r\n",
            # two equal Content-Length lines
            b"POST /api/a HTTP/1.1\r\nHost: reviews\r\nContent-Length: 2\r\n"
            b"Content-Length: 2\r\n\r\nhi",
            # obs-fold: a header line continuing the previous one, with SP or HTAB
            b"GET /api/a HTTP/1.1\r\nHost: reviews\r\nX-Folded: a\r\n b\r\n\r\n",
            b"GET /api/a HTTP/1.1\r\nHost: reviews\r\nX-Folded: a\r\n\tb\r\n\r\n",
        ]:
            answer = self.raw_request(self.port, bad)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), (bad, answer[:200]))
            self.assertIn(b"x-weft-reason: bad_request", answer)
            self.assertNotIn(b"BaseHTTP", answer)  # nothing reached a backend

    def test_unknown_transfer_coding_gets_501_not_forwarded(self):
        # RFC 9112 section 6.1: a coding the server does not understand is a 501.
        answer = self.raw_request(
            self.port, b"POST /api/a HTTP/1.1\r\nHost: reviews\r\n"
                       b"Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 501"), answer[:200])
        self.assertIn(b"unknown transfer coding 'foo'", answer)
        self.assertNotIn(b"BaseHTTP", answer)
        # A registered coding before chunked is relayed for the upstream to decode.
        answer = self.raw_request(
            self.port, b"POST /api/a HTTP/1.1\r\nHost: reviews\r\n"
                       b"Transfer-Encoding: gzip , chunked\r\nConnection: close\r\n\r\n"
                       b"2\r\nhi\r\n0\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])

    def test_too_many_headers_get_431(self):
        headers = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
        answer = self.raw_request(self.port, b"GET / HTTP/1.1\r\nHost: reviews\r\n" + headers +
                                  b"\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 431"), answer[:100])

    def test_head_local_reply_has_no_body(self):
        answer = self.raw_request(
            self.port, b"HEAD /nothing HTTP/1.1\r\nHost: unknown\r\n\r\n"
                       b"GET /healthz HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        first, _, rest = answer.partition(b"\r\n\r\n")
        self.assertTrue(first.startswith(b"HTTP/1.1 404"), first)
        # The next bytes are the second response, not a body for the HEAD.
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:100])

    def test_upstream_interim_responses_are_not_taken_as_final(self):
        request = (b"GET /api/interim HTTP/1.1\r\nHost: reviews\r\n\r\n"
                   b"GET /healthz HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        answer = self.raw_request(self.port, request)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertNotIn(b"100 Continue", answer)
        self.assertIn(b'"path": "/v1/interim"', answer)
        self.assertTrue(answer.endswith(b"ok"), answer[-50:])

    @staticmethod
    def parse_chunked(data):
        """(body, trailers dict, rest) of a chunked body at the start of `data`."""
        body = b""
        while True:
            line, _, data = data.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            body += data[:size]
            data = data[size + 2:]
        trailers = {}
        while True:
            line, _, data = data.partition(b"\r\n")
            if not line:
                return body, trailers, data
            name, _, value = line.decode().partition(":")
            trailers[name.strip().lower()] = value.strip()

    def test_chunked_trailers_pass_both_ways(self):
        request = (b"POST /api/trailers HTTP/1.1\r\nHost: reviews\r\nTE: trailers\r\n"
                   b"Transfer-Encoding: chunked\r\nTrailer: x-request-sum\r\n\r\n"
                   b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-request-sum: 42\r\n\r\n"
                   # The connection must still be framed right for the next request.
                   b"GET /healthz HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        answer = self.raw_request(self.port, request)
        head, _, rest = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"transfer-encoding: chunked", head.lower())
        self.assertIn(b"trailer: x-checksum, x-status", head.lower())
        body, trailers, rest = self.parse_chunked(rest)
        self.assertEqual(trailers, {"x-checksum": "abc123", "x-status": "done"})
        echoed = json.loads(body)
        # Request trailers reached the upstream; "TE: trailers" was passed on;
        # the trailers were not sent among the response's header fields.
        self.assertNotIn(b"abc123", head)
        self.assertEqual(echoed["request_trailers"], {"x-request-sum": "42"})
        self.assertEqual(echoed["te"], "trailers")
        self.assertEqual(echoed["body_bytes"], 11)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:100])
        self.assertTrue(rest.endswith(b"ok"), rest[-50:])

    def test_framing_field_in_a_request_trailer_gets_400(self):
        answer = self.raw_request(
            self.port, b"POST /api/trailers HTTP/1.1\r\nHost: reviews\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\ncontent-length: 999\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])
        self.assertIn(b"x-weft-reason: bad_request", answer)

    def test_http10_client_gets_the_body_without_trailers(self):
        answer = self.raw_request(
            self.port, b"GET /api/trailers HTTP/1.0\r\nHost: reviews\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200"), head)
        self.assertNotIn(b"chunked", head.lower())
        self.assertNotIn(b"trailer", head.lower())
        self.assertIn(b'"request_trailers": {}', body)
        self.assertNotIn(b"abc123", body)

    def test_stream_idle_timeout_before_the_response_is_504(self):
        # The route timeout (20 s) is far off: what ends it is 500 ms of silence.
        status, headers, body = self.curl(f"{self.base}/stall-header", "-H", "Host: reviews")
        self.assertEqual(status, 504, body)
        self.assertEqual(headers["x-weft-reason"], "stream_idle_timeout")

    def test_stream_idle_timeout_during_the_response_closes_the_connection(self):
        answer = self.raw_request(self.port, b"GET /stall-body HTTP/1.1\r\nHost: reviews\r\n\r\n",
                                  timeout=15)
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"Content-Length: 1000", head)
        self.assertEqual(body, b"s" * 10)  # cut off: the proxy closed the connection

    def test_stalled_request_body_gets_408(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as s:
            s.sendall(b"POST /stall-header HTTP/1.1\r\nHost: reviews\r\nContent-Length: 100\r\n"
                      b"\r\n" + b"x" * 10)
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 408"), answer[:200])
        self.assertIn(b"x-weft-reason: stream_idle_timeout", answer)

    def test_expect_continue_upload(self):
        body = os.path.join(self.tempdir, "body.bin")
        with open(body, "wb") as f:
            f.write(b"x" * (2 * 1024 * 1024))
        status, _, text = self.curl(f"{self.base}/api/upload", "-H", "Host: reviews",
                                    "-H", "Expect: 100-continue", "--data-binary", f"@{body}",
                                    "--expect100-timeout", "30")
        self.assertEqual(status, 200)
        echoed = json.loads(text)
        self.assertEqual(echoed["body_bytes"], 2 * 1024 * 1024)
        self.assertNotIn("expect", echoed["headers"])

    def assert_peak_rss_below(self, mib):
        if not harness.SANITIZED:
            self.assertLess(self.proxy_peak_rss_kib(), mib * 1024)

    def proxy_peak_rss_kib(self):
        with open(f"/proc/{self.proxy.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def test_100_mib_chunked_upload_streams_with_bounded_memory(self):
        path = os.path.join(self.tempdir, "upload.bin")
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(100):
                f.write(block)
        status, _, body = self.curl(f"{self.base}/api/upload", "-H", "Host: reviews",
                                    "-H", "Transfer-Encoding: chunked", "--data-binary",
                                    f"@{path}", "--max-time", "120")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["body_bytes"], 100 << 20)
        # The body passed through a fixed relay buffer, not proxy memory.
        self.assert_peak_rss_below(48)

    def test_100_mib_download_and_a_slow_reader_stay_bounded(self):
        size = 100 << 20
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as client:
            client.sendall(b"GET /api/download/%d HTTP/1.1\r\nHost: reviews\r\n\r\n" % size)
            # Read a little, then stall: the proxy must stop reading the upstream
            # rather than buffer the rest.
            first = client.recv(65536)
            self.assertTrue(first.startswith(b"HTTP/1.1 200"), first[:100])
            time.sleep(1)
            self.assert_peak_rss_below(48)
            received = len(first.partition(b"\r\n\r\n")[2])
            while received < size:
                chunk = client.recv(1 << 20)
                self.assertTrue(chunk, "connection closed early")
                received += len(chunk)
        self.assertEqual(received, size)
        self.assert_peak_rss_below(48)

    def test_slow_headers_get_408(self):
        # request_headers_timeout is 1s in this config: a client that starts a
        # request and never finishes its headers is answered and closed.
        with socket.create_connection(("127.0.0.1", self.port), timeout=15) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: reviews\r\nX-Slow: ")
            answer = b""
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 408"), answer[:100])
        self.assertIn(b"request headers not received within the timeout", answer)

    def test_oversized_headers_get_431(self):
        big = b"GET / HTTP/1.1\r\nHost: reviews\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n"
        answer = self.raw_request(self.port, big)
        self.assertTrue(answer.startswith(b"HTTP/1.1 431"), answer[:100])
        self.assertIn(b"request_headers_too_large", answer)

    def test_sigterm_drains_and_exits_cleanly(self):
        # An idle keep-alive connection must not hold the drain until its deadline.
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: reviews\r\n\r\n")
            self.assertTrue(idle.recv(4096).startswith(b"HTTP/1.1 200"))
            self.proxy.signal(signal.SIGTERM)
            self.assertEqual(self.proxy.wait(), 0)
            self.assertEqual(idle.recv(4096), b"")  # the proxy closed it
        self.assertIn("weft-proxy stopped", self.proxy.output())
        self.assertNotIn("drain deadline reached", self.proxy.output())


DRAIN_CONFIG = """
node: {{id: drain-test}}
concurrency: 1
drain_timeout: {drain_timeout}
static_resources:
  listeners:
    - name: front
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: front
            route_config:
              name: front
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: backend, timeout: 30s}}
  clusters:
    - name: backend
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}
"""


class ProxyDrainTest(harness.IntegrationTest):
    def start_draining_proxy(self, drain_timeout):
        _, backend_port = self.start_backend("v1")
        self.port = harness.free_port()
        self.proxy = self.start_proxy(DRAIN_CONFIG.format(
            port=self.port, backend_port=backend_port, drain_timeout=drain_timeout))

    def slow_request(self, delay_ms):
        """Sends a keep-alive request that the backend answers after delay_ms,
        and returns the socket once the proxy has it in flight."""
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.addCleanup(conn.close)
        conn.sendall(b"GET /delay/%d HTTP/1.1\r\nHost: x\r\n\r\n" % delay_ms)
        # Until the proxy has it in flight to the backend.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/clusters?format=json")
            if sum(e["active_requests"] for c in json.loads(body)["clusters"]
                   for e in c["endpoints"]) == 1:
                return conn
            time.sleep(0.05)
        self.fail("the slow request never reached the backend")

    @staticmethod
    def read_response(conn):
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data

    def test_request_in_flight_finishes_with_connection_close(self):
        self.start_draining_proxy("10s")
        conn = self.slow_request(1500)
        self.proxy.signal(signal.SIGTERM)
        self.proxy.wait_for(r"draining")
        # The workers close their listeners (just after the log line): a new
        # client is refused while the drain goes on.
        deadline = time.monotonic() + 10
        refused = False
        while not refused and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                time.sleep(0.05)
            except ConnectionRefusedError:
                refused = True
        self.assertTrue(refused, "the listener still accepts during the drain")
        answer = self.read_response(conn)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        head = answer.partition(b"\r\n\r\n")[0].lower()
        self.assertIn(b"connection: close", head)
        self.assertEqual(self.proxy.wait(timeout=15), 0)
        self.assertNotIn("drain deadline reached", self.proxy.output())

    def test_drain_deadline_cuts_a_request_that_outlasts_it(self):
        self.start_draining_proxy("1s")
        conn = self.slow_request(20000)
        self.proxy.signal(signal.SIGTERM)
        # The process ends at the 1 s deadline, not when the backend answers.
        self.assertEqual(self.proxy.wait(timeout=15), 0)
        self.assertIn("drain deadline reached with 1 open connections", self.proxy.output())
        self.assertEqual(self.read_response(conn), b"")  # closed without an answer


class ProxyConfigErrorsTest(harness.IntegrationTest):
    def run_proxy(self, *args):
        return subprocess.run([os.path.join(harness.BIN_DIR, "weft-proxy"), *args],
                              capture_output=True, text=True, timeout=30)

    def test_bad_config_names_file_line_and_field(self):
        path = self.write("bad.yaml", "node: {id: x}\nstatic_resources:\n  clusters:\n"
                                      "    - name: a\n      conect_timeout: 1s\n")
        result = self.run_proxy("--config", path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:5:7: static_resources.clusters[0]: unknown field "
                      "'conect_timeout'", result.stderr)
        self.assertIn("did you mean 'connect_timeout'?", result.stderr)

    def test_reference_to_unknown_cluster_is_rejected(self):
        config = CONFIG.format(proxy_port=1, v1_port=2, v2_port=3, dead_port=4).replace(
            "cluster: nowhere", "cluster: missing")
        result = self.run_proxy("--validate", "--config", self.write("ref.yaml", config))
        self.assertEqual(result.returncode, 1)
        self.assertIn("route.cluster: unknown cluster \"missing\"", result.stderr)

    def test_validate_accepts_a_good_config(self):
        config = CONFIG.format(proxy_port=1, v1_port=2, v2_port=3, dead_port=4)
        result = self.run_proxy("--validate", "--config", self.write("good.yaml", config))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("OK (1 listeners, 3 clusters)", result.stdout)

    def test_duplicate_listener_names_are_rejected(self):
        listener = """
    - name: http
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: http
            route_config:
              name: r
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}},
                                direct_response: {{status: 200}}}}]}}]
"""
        config = ("node: {id: dup}\nstatic_resources:\n  listeners:" +
                  listener.format(port=1) + listener.format(port=2))
        result = self.run_proxy("--validate", "--config", self.write("dup.yaml", config))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("static_resources.listeners[1].name: duplicate listener name \"http\"",
                      result.stderr)

    def test_port_in_use_is_a_clear_error(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            config = self.with_admin(CONFIG.format(proxy_port=port, v1_port=2, v2_port=3,
                                                   dead_port=4))
            result = self.run_proxy("--config", self.write("busy.yaml", config))
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", result.stderr)


if __name__ == "__main__":
    harness.main()
