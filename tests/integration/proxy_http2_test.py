#!/usr/bin/env python3
"""weft-proxy serving HTTP/2 (h2c, prior knowledge), driven by curl, nghttp, h2load
and gRPC on loopback. Upstreams: the HTTP/1.1 test backend, the proxy's own second
listener as an HTTP/2 upstream (an HTTP2 cluster), and a gRPC server."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

GRPC_TOOL = os.path.join(harness.SOURCE_DIR, "tests", "tools", "grpc_echo.py")
# grpcio is the Debian package, for Debian's interpreter (the harness may run on pyenv's).
SYSTEM_PYTHON = "/usr/bin/python3"

CONFIG = """
node: {{id: test-proxy}}
concurrency: 1
static_resources:
  listeners:
    - name: front
      address: {{address: 127.0.0.1, port: {front_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: front
            append_x_forwarded_for: true
            max_request_headers_bytes: 8192
            route_config:
              name: front
              virtual_hosts:
                - name: reviews
                  domains: ["reviews"]
                  routes:
                    - match: {{prefix: /api/}}
                      route: {{prefix_rewrite: /v1/, cluster: backend}}
                    - match: {{path: /healthz}}
                      direct_response: {{status: 200, body: "ok"}}
                    - match: {{prefix: /h2/}}
                      route: {{cluster: hop}}
                    - match: {{prefix: /down}}
                      route: {{cluster: nowhere}}
                    - match: {{prefix: /stall}}
                      route: {{cluster: backend, timeout: 20s, idle_timeout: 500ms}}
                    - match: {{prefix: /h2stall}}
                      route: {{cluster: hop, timeout: 20s, idle_timeout: 500ms}}
                    - match: {{prefix: /hcm-idle}}
                      route: {{cluster: hop, timeout: 20s}}
                - name: grpc
                  domains: ["grpc"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: grpc}}
                - name: grpc-capped
                  domains: ["grpc-capped"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: grpc, max_grpc_timeout: 300ms, grpc_timeout_offset: 50ms}}
                - name: grpc-short
                  domains: ["grpc-short"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: grpc, timeout: 300ms}}
                - name: grpc-twice
                  domains: ["grpc-twice"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: grpc-twice}}
                - name: grpc-one
                  domains: ["grpc-one"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: grpc-one}}
                - name: grpc-idle
                  domains: ["grpc-idle"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: grpc-idle}}
    - name: back
      address: {{address: 127.0.0.1, port: {back_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: back
            stream_idle_timeout: 1s
            route_config:
              name: back
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /}}
                      route: {{cluster: backend}}
  clusters:
    - name: backend
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}
    - name: hop
      protocol: HTTP2
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {back_port}}}}}
    - name: grpc
      protocol: HTTP2
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {grpc_port}}}}}
    - name: grpc-twice
      protocol: HTTP2
      connection_pool: {{max_requests_per_connection: 2}}
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {grpc_port}}}}}
    - name: grpc-one
      protocol: HTTP2
      http2: {{max_concurrent_streams: 1}}
      connection_pool: {{max_connections_per_host: 1}}
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {grpc_port}}}}}
    - name: grpc-idle
      protocol: HTTP2
      connection_pool: {{idle_timeout: 300ms}}
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {grpc_port}}}}}
    - name: nowhere
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {dead_port}}}}}
"""


def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream_id) + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class ProxyHttp2Test(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, backend_port = self.start_backend("v1")
        self.grpc_port = harness.free_port()
        self.front_port = harness.free_port()
        self.back_port = harness.free_port()
        self.proxy = self.start_proxy(CONFIG.format(
            front_port=self.front_port, back_port=self.back_port, backend_port=backend_port,
            grpc_port=self.grpc_port, dead_port=harness.free_port()))
        self.base = f"http://127.0.0.1:{self.front_port}"

    def h2(self, path, *args):
        return self.curl(self.base + path, "--http2-prior-knowledge", *args)

    def test_routing_and_forwarded_headers(self):
        status, headers, body = self.h2("/api/items?x=1", "-H", "Host: reviews",
                                        "-H", "X-Forwarded-For: 10.1.2.3",
                                        "-H", "Cookie: a=1", "-H", "Cookie: b=2")
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-backend"], "v1")
        echoed = json.loads(body)
        self.assertEqual(echoed["path"], "/v1/items?x=1")
        self.assertEqual(echoed["headers"]["host"], "reviews")
        self.assertEqual(echoed["headers"]["x-forwarded-for"], "10.1.2.3, 127.0.0.1")
        self.assertRegex(echoed["headers"]["x-request-id"], r"^[0-9a-f]{8}-[0-9a-f]{16}$")

    def test_local_replies(self):
        status, headers, body = self.h2("/nothing", "-H", "Host: reviews")
        self.assertEqual(status, 404)
        self.assertEqual(headers["x-weft-reason"], "no_route")
        self.assertIn("/nothing", body)
        self.proxy.wait_for(r"GET /nothing: 404 no_route \(")  # in the log too
        status, headers, body = self.h2("/healthz", "-H", "Host: reviews")
        self.assertEqual((status, body), (200, "ok"))
        status, headers, body = self.h2("/down", "-H", "Host: reviews")
        self.assertEqual(status, 503)
        self.assertEqual(headers["x-weft-reason"], "upstream_connect_failure")

    def test_request_headers_over_the_limit_get_431(self):
        status, headers, _ = self.h2("/api/x", "-H", "Host: reviews", "-H", "X-Big: " + "b" * 9000)
        self.assertEqual(status, 431)
        self.assertEqual(headers["x-weft-reason"], "request_headers_too_large")
        # The connection serves on: only that stream was refused.
        status, _, _ = self.h2("/healthz", "-H", "Host: reviews")
        self.assertEqual(status, 200)

    def test_post_bodies_with_and_without_length(self):
        path = self.write("upload.bin", "u" * 3_000_000)
        for prefix in ("/api/", "/h2/"):
            status, _, body = self.h2(prefix + "up", "-H", "Host: reviews",
                                      "--data-binary", "@" + path)
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["body_bytes"], 3_000_000)
            # From stdin: no content-length, so the HTTP/1.1 hop is chunked.
            with open(path, "rb") as f:
                result = subprocess.run(
                    ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-T", "-",
                     "-H", "Host: reviews", self.base + prefix + "stdin"],
                    stdin=f, capture_output=True, timeout=20)
            self.assertEqual(result.returncode, 0, result.stderr)
            echoed = json.loads(result.stdout)
            self.assertEqual(echoed["body_bytes"], 3_000_000)
            self.assertEqual(echoed["headers"].get("transfer-encoding"), "chunked")

    def test_body_end_arriving_during_an_upstream_write_is_not_lost(self):
        # The end of a request body (END_STREAM) can arrive while the relay is
        # writing the previous piece upstream; its wakeup then finds nobody
        # waiting. The relay once waited for it anyway and hung until the route
        # timeout (about one upload in 15 here). Repeat the upload to hit it.
        path = self.write("upload.bin", "u" * 3_000_000)
        for attempt in range(20):
            with open(path, "rb") as f:
                result = subprocess.run(
                    ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-T", "-",
                     "-H", "Host: reviews", self.base + "/api/stdin"],
                    stdin=f, capture_output=True, timeout=20)
            self.assertEqual(result.returncode, 0, (attempt, result.stderr))
            self.assertEqual(json.loads(result.stdout)["body_bytes"], 3_000_000)

    def test_large_download_through_both_upstream_protocols(self):
        for prefix in ("/api/", "/h2/"):
            result = subprocess.run(
                ["curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-o", "/dev/null",
                 "-w", "%{http_code} %{size_download}", "-H", "Host: reviews",
                 self.base + prefix + "download/20000000"], capture_output=True, timeout=30)
            self.assertEqual(result.stdout.decode(), "200 20000000", result.stderr)

    def test_http2_upstream_cluster(self):
        status, headers, body = self.h2("/h2/abc", "-H", "Host: reviews")
        self.assertEqual(status, 200)
        echoed = json.loads(body)
        self.assertEqual(echoed["path"], "/h2/abc")
        self.assertEqual(echoed["headers"]["host"], "reviews")

    def test_nghttp_multiplexes(self):
        harness.require_tool("nghttp")
        urls = [f"{self.base}/api/n{i}" for i in range(20)]
        result = subprocess.run(["nghttp", "-n", "-s", "-H", ":authority: reviews", *urls],
                                capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        # -s prints one line per stream: status, sizes, timings, path.
        answered = [line for line in result.stdout.decode().splitlines()
                    if "/api/n" in line and " 200 " in line]
        self.assertEqual(len(answered), 20, result.stdout)

    def test_h2load_without_failures(self):
        harness.require_tool("h2load")
        for path in ("/healthz", "/api/load", "/h2/load"):
            result = subprocess.run(
                ["h2load", "-n", "2000", "-c", "4", "-m", "10", "-H", ":authority: reviews",
                 self.base + path], capture_output=True, timeout=90)
            out = result.stdout.decode()
            self.assertEqual(result.returncode, 0, out)
            self.assertIn("2000 succeeded, 0 failed, 0 errored", out)
            self.assertIn("2000 2xx", out)

    def test_hostile_frames_end_only_that_connection(self):
        # DATA on stream 0 is a connection error: GOAWAY (type 7), then close.
        answer = self.raw_request(self.front_port,
                                  PREFACE + frame(4, 0, 0) + frame(0, 0, 0, b"xx"))
        self.assertIn(bytes([7]), answer[:200])
        # Garbage instead of frames after the preface.
        self.raw_request(self.front_port, PREFACE + b"\xff" * 5000)
        # A HEADERS frame with an undecodable header block.
        self.raw_request(self.front_port,
                         PREFACE + frame(4, 0, 0) + frame(1, 0x5, 1, b"\xff\xff\xff\xff"))
        status, _, _ = self.h2("/healthz", "-H", "Host: reviews")
        self.assertEqual(status, 200)

    def test_grpc_through_an_http2_cluster(self):
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
                [SYSTEM_PYTHON, "-c", "import grpc"], capture_output=True).returncode != 0:
            self.skipTest("python3-grpcio is not installed")
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(self.grpc_port)], "grpc")
        server.wait_for(r"listening on \d+")
        result = subprocess.run(
            [SYSTEM_PYTHON, GRPC_TOOL, "call", f"127.0.0.1:{self.front_port}", "grpc"],
            capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        answer = json.loads(result.stdout)
        self.assertEqual(answer["unary_bytes"], 100000)
        self.assertEqual(answer["unary_trailer"], "unary")  # trailers relayed
        self.assertEqual(answer["stream"], ["A", "BC", "DEF"] * 10)  # bidi streaming
        self.assertEqual(answer["big_bytes"], 4 << 20)  # 4 MiB each way
        self.assertTrue(answer["big_intact"])
        self.assertEqual(answer["server_stream"], [70000] * 5)
        self.assertEqual(answer["client_stream"], "20,1000000")
        self.assertEqual(answer["fail"], "NOT_FOUND")  # grpc-status preserved
        self.assertEqual(answer["fail_details"], "no such thing")

    def grpc_peers(self, authority, pause, count):
        """The upstream connections (as the gRPC server sees their source
        address) that `count` calls through the proxy arrived on."""
        result = subprocess.run(
            [SYSTEM_PYTHON, GRPC_TOOL, "peers", f"127.0.0.1:{self.front_port}", authority,
             str(pause), str(count)], capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_http2_upstream_pool_limits(self):
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
                [SYSTEM_PYTHON, "-c", "import grpc"], capture_output=True).returncode != 0:
            self.skipTest("python3-grpcio is not installed")
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(self.grpc_port)], "grpc")
        server.wait_for(r"listening on \d+")
        # Unlimited, default 60 s idle timeout: one connection carries every call,
        # also across pauses.
        self.assertEqual(len(set(self.grpc_peers("grpc", 0.5, 3))), 1)
        # max_requests_per_connection 2: six calls need three connections.
        peers = self.grpc_peers("grpc-twice", 0, 6)
        self.assertEqual(len(set(peers)), 3, peers)
        self.assertEqual(peers[0], peers[1])
        self.assertEqual(peers[2], peers[3])
        # Idle timeout 300 ms: back-to-back calls share a connection; after a
        # pause longer than the timeout the next call needs a new one.
        peers = self.grpc_peers("grpc-idle", 0, 2)
        self.assertEqual(peers[0], peers[1])
        peers = self.grpc_peers("grpc-idle", 1.0, 3)
        self.assertEqual(len(set(peers)), 3, peers)
        # One stream per connection and one connection allowed: concurrent calls
        # queue on that connection instead of opening more (the proxy has one
        # worker, whose share is the whole limit).
        peers = self.grpc_peers("grpc-one", -0.3, 4)
        self.assertEqual(len(set(peers)), 1, peers)

    def h1(self, path, *args):
        return self.curl(self.base + path, "--http1.1", *args)

    def test_http1_client_to_http2_cluster(self):
        status, headers, body = self.h1("/h2/abc?q=1", "-H", "Host: reviews")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["x-backend"], "v1")
        echoed = json.loads(body)
        self.assertEqual(echoed["path"], "/h2/abc?q=1")
        self.assertEqual(echoed["headers"]["host"], "reviews")
        # Bodies both ways, with and without a length, larger than any buffer.
        path = self.write("upload.bin", "u" * 3_000_000)
        status, _, body = self.h1("/h2/up", "-H", "Host: reviews", "--data-binary", "@" + path)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["body_bytes"], 3_000_000)
        status, _, body = self.h1("/h2/up", "-H", "Host: reviews", "--data-binary", "@" + path,
                                  "-H", "Transfer-Encoding: chunked")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["body_bytes"], 3_000_000)
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "20", "--http1.1", "-o", "/dev/null",
             "-w", "%{http_code} %{size_download}", "-H", "Host: reviews",
             self.base + "/h2/download/20000000"], capture_output=True, timeout=30)
        self.assertEqual(result.stdout.decode(), "200 20000000", result.stderr)

    def test_http1_client_to_http2_cluster_keeps_the_connection(self):
        request = (b"GET /h2/one HTTP/1.1\r\nHost: reviews\r\n\r\n"
                   b"HEAD /h2/two HTTP/1.1\r\nHost: reviews\r\n\r\n"
                   b"GET /h2/three HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n")
        answer = self.raw_request(self.front_port, request)
        self.assertEqual(answer.count(b"HTTP/1.1 200 OK"), 3, answer)
        self.assertIn(b'"path": "/h2/one"', answer)
        self.assertNotIn(b'"path": "/h2/two"', answer)  # HEAD: no body
        self.assertTrue(answer.endswith(b"}"), answer[-100:])
        self.assertIn(b'"path": "/h2/three"', answer)

    def test_http1_client_to_unreachable_http2_cluster_says_why(self):
        # The grpc cluster is HTTP/2 and, with no gRPC server started, unreachable.
        status, headers, body = self.h1("/x", "-H", "Host: grpc")
        self.assertEqual(status, 503, body)
        self.assertEqual(headers["x-weft-reason"], "upstream_connect_failure")

    def grpc_over_http1(self, method, message):
        """A gRPC call as HTTP/1.1 bytes: (head, body, trailers) of the answer."""
        payload = b"\x00" + struct.pack(">I", len(message)) + message
        request = (f"POST /test.Echo/{method} HTTP/1.1\r\nHost: grpc\r\nTE: trailers\r\n"
                   "Content-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n").encode() + \
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
        answer = self.raw_request(self.front_port, request, timeout=10)
        head, _, rest = answer.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body, trailers = b"", {}
        if headers.get("transfer-encoding") == "chunked":
            while True:
                line, _, rest = rest.partition(b"\r\n")
                size = int(line, 16)
                if size == 0:
                    break
                body += rest[:size]
                rest = rest[size + 2:]
            for line in rest.decode().split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    trailers[name.strip().lower()] = value.strip()
        else:
            body = rest
        return head.decode(), headers, body, trailers

    def test_grpc_from_an_http1_client_keeps_trailers_and_status(self):
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
                [SYSTEM_PYTHON, "-c", "import grpc"], capture_output=True).returncode != 0:
            self.skipTest("python3-grpcio is not installed")
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(self.grpc_port)], "grpc")
        server.wait_for(r"listening on \d+")
        head, headers, body, trailers = self.grpc_over_http1("Unary", b"ping")
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertEqual(headers["content-type"], "application/grpc")
        self.assertEqual(body, b"\x00\x00\x00\x00\x04ping")
        # The HTTP/2 trailers arrive as chunked trailers.
        self.assertEqual(trailers.get("grpc-status"), "0", trailers)
        self.assertEqual(trailers.get("x-echo-trailer"), "unary")
        # A trailers-only answer: grpc-status in the header, no body.
        head, headers, body, trailers = self.grpc_over_http1("Fail", b"")
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertEqual(headers["grpc-status"], "5")
        self.assertEqual(headers["grpc-message"], "no such thing")
        self.assertEqual(headers["content-length"], "0")

    def require_grpc(self):
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
                [SYSTEM_PYTHON, "-c", "import grpc"], capture_output=True).returncode != 0:
            self.skipTest("python3-grpcio is not installed")
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(self.grpc_port)], "grpc")
        server.wait_for(r"listening on \d+")

    def grpc_script(self, code, authority="grpc-capped"):
        """Runs a gRPC client snippet (Debian's python3) against the proxy; its JSON output."""
        script = ("import grpc, json\n"
                  f"channel = grpc.insecure_channel('127.0.0.1:{self.front_port}', "
                  f"options=[('grpc.default_authority', '{authority}')])\n" + code)
        result = subprocess.run([SYSTEM_PYTHON, "-c", script], capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    SLOW_CALL = (
        "try:\n"
        "    channel.unary_unary('/test.Echo/Slow')(b'3', timeout=20)\n"
        "    print(json.dumps({'code': 'OK'}))\n"
        "except grpc.RpcError as e:\n"
        "    print(json.dumps({'code': e.code().name, 'details': e.details(),\n"
        "                      'trailers': dict(e.trailing_metadata() or ())}))\n")

    def test_grpc_timeout_is_capped_by_the_route(self):
        self.require_grpc()
        # The client allows 20 s for a 3 s call; the route caps the deadline at
        # 300 ms (the proxy's timer and the forwarded grpc-timeout both), so the
        # call cannot succeed. Without a cap it would (see the grpc route).
        self.assertEqual(self.grpc_script(self.SLOW_CALL)["code"], "DEADLINE_EXCEEDED")
        self.assertEqual(self.grpc_script(self.SLOW_CALL, "grpc")["code"], "OK")

    def test_route_timeout_on_a_grpc_call_is_a_grpc_deadline_exceeded(self):
        self.require_grpc()
        # No max_grpc_timeout: grpc-timeout (20 s) goes on unchanged, and the
        # proxy's own route timeout ends the call with a trailers-only answer.
        answer = self.grpc_script(self.SLOW_CALL, "grpc-short")
        self.assertEqual(answer["code"], "DEADLINE_EXCEEDED", answer)
        self.assertEqual(answer["trailers"].get("x-weft-reason"), "upstream_timeout", answer)
        self.assertIn("route timeout", answer["details"])

    def test_grpc_timeout_forwarded_is_the_time_left(self):
        self.require_grpc()
        answer = self.grpc_script(
            "left = channel.unary_unary('/test.Echo/Remaining')(b'', timeout=20)\n"
            "print(json.dumps({'left': left.decode()}))\n")
        # The server's deadline came from the rewritten grpc-timeout: the 300 ms
        # cap, not the client's 20 s. (gRPC rounds deadlines to its timer tick,
        # so the bounds leave a margin far smaller than what they tell apart.)
        self.assertNotEqual(answer["left"], "none")
        self.assertLess(float(answer["left"]), 1.0)
        self.assertGreater(float(answer["left"]), 0)
        # Under the cap, the client's own deadline less the 50 ms offset is what
        # is left: about 0.15 s, where without the offset it would be about 0.2 s.
        answer = self.grpc_script(
            "left = channel.unary_unary('/test.Echo/Remaining')(b'', timeout=0.2)\n"
            "print(json.dumps({'left': left.decode()}))\n")
        self.assertLess(float(answer["left"]), 0.18)

    def test_local_replies_to_grpc_requests_are_grpc_statuses(self):
        self.require_grpc()
        answer = self.grpc_script(
            "try:\n"
            "    channel.unary_unary('/test.Echo/Unary')(b'x', timeout=10)\n"
            "except grpc.RpcError as e:\n"
            "    print(json.dumps({'code': e.code().name,\n"
            "                      'trailers': dict(e.trailing_metadata() or ())}))\n",
            "nobody")
        self.assertEqual(answer["code"], "UNIMPLEMENTED", answer)  # no virtual host "nobody"
        self.assertEqual(answer["trailers"].get("x-weft-reason"), "no_route")

    def test_stream_idle_timeout_on_every_protocol_pair(self):
        # HTTP/2 -> HTTP/1.1 cluster, HTTP/2 -> HTTP/2 cluster, HTTP/1.1 -> HTTP/2
        # cluster: the upstream stays silent; the route's 500 ms idle timeout ends
        # the request long before its 20 s route timeout.
        for client, path in (("--http2-prior-knowledge", "/stall/stall-header"),
                             ("--http2-prior-knowledge", "/h2stall/stall-header"),
                             ("--http1.1", "/h2stall/stall-header")):
            status, headers, body = self.curl(self.base + path, client, "-H", "Host: reviews")
            self.assertEqual(status, 504, (client, path, body))
            self.assertEqual(headers["x-weft-reason"], "stream_idle_timeout", (client, path))
            self.assertIn("stream idle timeout", body)

    def test_connection_manager_stream_idle_timeout(self):
        # No idle_timeout on the front route (default 5 min): the back listener's
        # stream_idle_timeout (1 s) answers, and the front relays its reply.
        status, headers, _ = self.h2("/hcm-idle/stall-header", "-H", "Host: reviews")
        self.assertEqual(status, 504)
        self.assertEqual(headers["x-weft-reason"], "stream_idle_timeout")

    def test_stream_idle_timeout_after_the_response_started_resets(self):
        for client, path in (("--http2-prior-knowledge", "/stall/stall-body"),
                             ("--http2-prior-knowledge", "/h2stall/stall-body"),
                             ("--http1.1", "/h2stall/stall-body")):
            result = subprocess.run(
                ["curl", "-sS", "--max-time", "15", client, "-o", "/dev/null",
                 "-w", "%{http_code} %{size_download}", "-H", "Host: reviews", self.base + path],
                capture_output=True, timeout=30)
            # The header and the first bytes came; then the stream was cut, which
            # curl reports as an error (not its own --max-time, exit 28).
            self.assertNotIn(result.returncode, (0, 28), (client, path, result))
            self.assertEqual(result.stdout.decode(), "200 10", (client, path, result))

    def test_drain_sends_goaway(self):
        # An upstream HTTP/2 connection is open too: it must not hold the drain.
        status, _, _ = self.h2("/h2/warm", "-H", "Host: reviews")
        self.assertEqual(status, 200)
        with socket.create_connection(("127.0.0.1", self.front_port), timeout=5) as s:
            s.sendall(PREFACE + frame(4, 0, 0))
            data = s.recv(4096)  # the proxy's SETTINGS (kept: frames are parsed from here)
            self.proxy.signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            # Walk the frames: a GOAWAY (type 7) on stream 0 with NO_ERROR.
            goaways = []
            while len(data) >= 9:
                length = int.from_bytes(data[:3], "big")
                kind, stream_id = data[3], struct.unpack(">I", data[5:9])[0] & 0x7FFFFFFF
                payload = data[9:9 + length]
                if kind == 7:
                    goaways.append((stream_id, struct.unpack(">II", payload[:8])))
                data = data[9 + length:]
            self.assertTrue(goaways, "no GOAWAY frame")
            stream_id, (last_stream, error_code) = goaways[-1]
            self.assertEqual((stream_id, error_code), (0, 0))  # connection-level, NO_ERROR
        started = time.monotonic()
        self.assertEqual(self.proxy.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 3)  # well before the 5 s drain deadline

    def test_drain_ends_with_upstream_connections_opened_after_it_began(self):
        # The drain empties the upstream pools when it begins; a request whose head was still
        # arriving then is forwarded afterwards, on a new HTTP/2 connection. Once its client is
        # gone, that idle connection must close too, or it keeps the process alive for good.
        server = self.start([SYSTEM_PYTHON, GRPC_TOOL, "serve", str(self.grpc_port)], "grpc")
        server.wait_for(r"listening on \d+")
        with socket.create_connection(("127.0.0.1", self.front_port), timeout=10) as s:
            s.sendall(b"GET /late HTTP/1.1\r\nHost: grpc\r\n")
            time.sleep(0.3)  # the proxy is reading the head
            self.proxy.signal(signal.SIGTERM)
            self.proxy.wait_for(r"draining")
            time.sleep(0.3)  # the worker has begun its drain
            s.sendall(b"\r\n")
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        # The gRPC server's answer to a request that is not gRPC, whatever it is, came back
        # over that connection (not a local reply), and the client connection was closed.
        self.assertTrue(answer.startswith(b"HTTP/1.1 "), answer[:200])
        self.assertNotIn(b"x-weft-reason", answer.lower(), answer[:300])
        self.assertIn(b"connection: close", answer.lower())
        self.assertEqual(self.proxy.wait(timeout=20), 0, self.proxy.output())
        self.assertNotIn("drain deadline reached", self.proxy.output())


class ProxyHttp2DrainTest(harness.IntegrationTest):
    """Default timeouts, unlike the config above, whose 1 s stream idle timeout
    keeps the worker's idle sweep short enough to hide a sweep holding the drain."""

    def test_sigterm_after_http2_requests_exits_at_once(self):
        _, backend_port = self.start_backend("v1")
        port = harness.free_port()
        proxy = self.start_proxy(f"""
node: {{id: drain-test}}
concurrency: 1
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
                      route: {{cluster: backend}}
  clusters:
    - name: backend
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}
""")
        for _ in range(3):
            status, _, _ = self.curl(f"http://127.0.0.1:{port}/x", "--http2-prior-knowledge")
            self.assertEqual(status, 200)
        proxy.signal(signal.SIGTERM)
        # Nothing is open, so the drain ends at once; the stream idle sweep
        # (a quarter of the default 300 s timeout) must not keep the worker alive.
        self.assertEqual(proxy.wait(timeout=15), 0, proxy.output())
        self.assertNotIn("drain deadline reached", proxy.output())


if __name__ == "__main__":
    harness.main()
