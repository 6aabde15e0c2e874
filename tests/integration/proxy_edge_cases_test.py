#!/usr/bin/env python3
"""Edge cases of weft-proxy on loopback: HTTP/1.1 pipelining order, the route
timeout, upstreams that reset or cut their answer (HTTP/1 and h2c clients),
request heads that must be refused and never forwarded, HTTP/2 server limits
(advertised MAX_CONCURRENT_STREAMS, the stream over the limit, flow control
against a reader that never opens its window), opaque ports skipping protocol
detection, the --concurrency flag, and the cluster connect timeout against an
endpoint that drops SYNs."""
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

TCP_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "tcp_backend.py")

CONFIG = """
node: {{id: edge-cases}}
concurrency: 1
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {http_port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: edge
            route_config:
              name: edge
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{prefix: /timeout/}}
                      route: {{cluster: backend, timeout: 1s}}
                    - match: {{prefix: /raw/}}
                      route: {{cluster: raw}}
                    - match: {{prefix: /blackhole/}}
                      route: {{cluster: blackhole}}
                    - match: {{prefix: /}}
                      route: {{cluster: backend}}
    - name: opaque
      address: {{address: 127.0.0.1, port: {opaque_port}}}
      # Detection would wait 20 s for a client that never speaks first; the
      # listener's own port is declared opaque, so it must not wait at all.
      # (Non-transparent listener: the destination port is the listener's port.)
      protocol_detection: {{timeout: 20s, opaque_ports: [{opaque_port}]}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: opaque, cluster: banner}}
  clusters:
    - name: backend
      connect_timeout: 1s
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1,
                                                               port: {backend_port}}}}}}}]}}]
    - name: raw
      connect_timeout: 1s
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1,
                                                               port: {raw_port}}}}}}}]}}]
    - name: blackhole
      connect_timeout: 500ms
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1,
                                                               port: {blackhole_port}}}}}}}]}}]
    - name: banner
      connect_timeout: 1s
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1,
                                                               port: {banner_port}}}}}}}]}}]
"""

# A second, minimal bootstrap for the --concurrency test: the flag must win over it.
SMALL_CONFIG = """
node: {{id: concurrency}}
concurrency: 1
static_resources:
  listeners:
    - name: http
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: small
            route_config:
              name: small
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}},
                                direct_response: {{status: 200, body: "ok"}}}}]}}]
"""


class RawUpstream:
    """An HTTP/1 upstream on loopback that misbehaves on purpose, chosen by the
    request path, and records every byte it reads (to prove a request was
    never forwarded):

      /raw/silent  reads the request head, then closes without a byte (FIN)
      /raw/rst     reads the request head, then resets the connection (RST)
      /raw/half    answers half a status line ("HTTP/1.1 20"), then closes
      /raw/hold    never answers; reads until the proxy closes the connection
      anything else: a well-formed 200 "raw ok" and close
    """

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.received = b""
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def accept_loop(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def record(self, data):
        with self.lock:
            self.received += data

    def serve(self, conn):
        conn.settimeout(30)  # bounded: a thread never outlives a stuck test by much
        with conn:
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    self.record(chunk)
                    head += chunk
                target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
                if target.startswith(b"/raw/silent"):
                    return
                if target.startswith(b"/raw/rst"):
                    # SO_LINGER with a zero timeout: close() sends RST, not FIN.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                    return
                if target.startswith(b"/raw/half"):
                    conn.sendall(b"HTTP/1.1 20")
                    return
                if target.startswith(b"/raw/hold"):
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        self.record(chunk)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n"
                             b"\r\nraw ok")
            except OSError:
                return

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()


class Blackhole:
    """A loopback port whose accept queue is full, so the kernel drops every
    further SYN: a connect to it neither succeeds nor fails, it just waits
    (what a firewalled or overloaded host looks like). listen(0) leaves room
    for one queued connection; we fill it ourselves and never accept."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(2):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def drops_syns(self):
        """True when a fresh connect does not complete within 1 s."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return False
        except (socket.timeout, TimeoutError):
            return True

    def close(self):
        for filler in self.fillers:
            filler.close()
        self.listener.close()


# --- a minimal HTTP/2 client: frames by header, HPACK literals only ----------

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
PROTOCOL_ERROR, REFUSED_STREAM = 0x1, 0x7


def frame(kind, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream_id) + payload


def hpack_int(value, prefix_bits, flags=0):
    """RFC 7541 section 5.1 integer with an N-bit prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([flags | value])
    out = [flags | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    return (b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value)


def request_headers(method, path, authority=b"edge"):
    return b"".join(hpack_literal(name, value) for name, value in (
        (b":method", method), (b":scheme", b"http"), (b":path", path),
        (b":authority", authority)))


class H2Connection:
    """A raw h2c connection to the proxy: send frames, read them one by one."""

    def __init__(self, port, ack_settings=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        try:
            self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))  # ours: all defaults
            kind, flags, _, payload = self.read_frame()
        except BaseException:
            self.sock.close()
            raise
        # RFC 9113 3.4: the server's preface is a SETTINGS frame, first.
        if kind != SETTINGS or flags & ACK:
            self.sock.close()
            raise AssertionError(f"first frame: type {kind} flags {flags}, not SETTINGS")
        self.server_settings = dict(struct.unpack(">HI", payload[i:i + 6])
                                    for i in range(0, len(payload), 6))
        if ack_settings:
            self.sock.sendall(frame(SETTINGS, ACK, 0))

    def read_frame(self, timeout=10):
        """(type, flags, stream id, payload); raises socket.timeout when none came."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) >= 9 + length:
                    kind, flags = self.buffer[3], self.buffer[4]
                    stream_id = struct.unpack(">I", self.buffer[5:9])[0] & 0x7FFFFFFF
                    payload = self.buffer[9:9 + length]
                    self.buffer = self.buffer[9 + length:]
                    return kind, flags, stream_id, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the proxy closed the connection")
            self.buffer += chunk

    def close(self):
        self.sock.close()


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def parse_responses(data):
    """Splits back-to-back HTTP/1.1 responses with Content-Length bodies into
    [(status, headers, body)]; whatever cannot be parsed is returned as rest."""
    responses = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            break
        responses.append((int(lines[0].split()[1]), headers, rest[:length]))
        data = rest[length:]
    return responses, data


class ProxyEdgeCasesTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, backend_port = self.start_backend("edge")
        banner = self.start([sys.executable, TCP_BACKEND, "--mode", "banner"], "banner")
        self.raw = RawUpstream()
        self.addCleanup(self.raw.stop)
        self.blackhole = Blackhole()
        self.addCleanup(self.blackhole.close)
        self.port = harness.free_port()
        self.opaque_port = harness.free_port()
        self.proxy = self.start_proxy(CONFIG.format(
            http_port=self.port, opaque_port=self.opaque_port, backend_port=backend_port,
            raw_port=self.raw.port, blackhole_port=self.blackhole.port,
            banner_port=int(banner.wait_for(r"listening on (\d+)").group(1))))
        self.base = f"http://127.0.0.1:{self.port}"

    # --- HTTP/1.1 --------------------------------------------------------------

    def test_pipelined_responses_come_back_in_request_order(self):
        # The first request is the slow one: a proxy that served pipelined
        # requests in parallel and wrote answers as they completed would put
        # /pipe/one and /pipe/two first. RFC 9112 9.3.2: same order as requested.
        request = (b"GET /pipe/delay/1500 HTTP/1.1\r\nHost: edge\r\n\r\n"
                   b"GET /pipe/one HTTP/1.1\r\nHost: edge\r\n\r\n"
                   b"GET /pipe/two HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n")
        answer = self.raw_request(self.port, request, timeout=15)
        responses, rest = parse_responses(answer)
        self.assertEqual([status for status, _, _ in responses], [200, 200, 200], answer[:500])
        self.assertEqual([json.loads(body)["path"] for _, _, body in responses],
                         ["/pipe/delay/1500", "/pipe/one", "/pipe/two"])
        self.assertEqual(rest, b"")  # nothing after the third response

    def test_route_timeout_gives_504_upstream_timeout(self):
        # The route allows 1 s; the backend answers after 3 s.
        status, headers, body = self.curl(f"{self.base}/timeout/delay/3000")
        self.assertEqual(status, 504, body)
        self.assertEqual(headers["x-weft-reason"], "upstream_timeout")

    def test_upstream_reset_before_a_response_is_502_for_http1_and_h2c(self):
        for client in ("--http1.1", "--http2-prior-knowledge"):
            for path in ("/raw/silent", "/raw/rst", "/raw/half"):
                status, headers, body = self.curl(self.base + path, client)
                self.assertEqual(status, 502, (client, path, body))
                self.assertEqual(headers.get("x-weft-reason"), "upstream_reset",
                                 (client, path, headers))
        # Each of the six requests reached the upstream exactly once: the
        # failure came from it, not from the proxy refusing to connect.
        self.assertEqual(self.raw.connections, 6)

    def test_control_bytes_and_bare_lf_are_refused_and_never_forwarded(self):
        # Control check: a well-formed request to the recording upstream arrives.
        answer = self.raw_request(self.port, b"GET /raw/ok HTTP/1.1\r\nHost: edge\r\n"
                                             b"Connection: close\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertTrue(answer.endswith(b"raw ok"), answer[-50:])
        self.assertEqual(self.raw.connections, 1)
        before = self.raw.received
        for bad in [
            # RFC 9110 5.5: NUL, and other controls but HTAB, are invalid in a
            # field value; a proxy passing them on lets the upstream read the
            # header differently (truncated at the NUL, say).
            b"GET /raw/nul HTTP/1.1\r\nHost: edge\r\nX-Bad: a\x00b\r\n\r\n",
            b"GET /raw/ctl HTTP/1.1\r\nHost: edge\r\nX-Bad: a\x01b\r\n\r\n",
            # RFC 9112 2.2 lets a recipient accept a bare LF, but a proxy that
            # does must not then forward a head another parser splits elsewhere;
            # refusing it is the safe reading, and the one asserted here.
            b"GET /raw/lf HTTP/1.1\nHost: edge\n\n",
            b"GET /raw/lf2 HTTP/1.1\r\nHost: edge\nX-Smuggle: 1\r\n\r\n",
        ]:
            answer = self.raw_request(self.port, bad)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), (bad, answer[:200]))
            self.assertIn(b"x-weft-reason: bad_request", answer, bad)
        self.assertEqual(self.raw.connections, 1)  # no new upstream connection at all
        self.assertEqual(self.raw.received, before)

    def test_connect_timeout_against_an_endpoint_dropping_syns_is_503(self):
        if not self.blackhole.drops_syns():
            self.skipTest("this kernel accepts connections beyond a full backlog")
        status, headers, body = self.curl(f"{self.base}/blackhole/x")
        # The 500 ms connect timeout ended it, not the route's 15 s default
        # (which would be a 504 upstream_timeout), and not a refusal: the SYN
        # was never answered.
        self.assertEqual(status, 503, body)
        self.assertEqual(headers["x-weft-reason"], "upstream_connect_failure")
        self.assertIn("timeout", body)

    # --- HTTP/2 server limits ----------------------------------------------------

    def test_http2_settings_advertise_100_concurrent_streams(self):
        h2 = H2Connection(self.port)
        self.addCleanup(h2.close)
        self.assertEqual(h2.server_settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), 100,
                         h2.server_settings)

    def open_101_streams(self, ack_settings):
        """Opens 101 POST streams that never end (no END_STREAM; the upstream
        never answers), so all stay open: ids 1, 3, ..., 201. Returns the
        connection, the ids, the resets seen {stream: code} and the GOAWAY seen
        (last stream, code, debug data), once stream 201 was reset or a GOAWAY came."""
        h2 = H2Connection(self.port, ack_settings=ack_settings)
        self.addCleanup(h2.close)
        streams = [1 + 2 * i for i in range(101)]
        h2.sock.sendall(b"".join(
            frame(HEADERS, END_HEADERS, sid, request_headers(b"POST", b"/raw/hold/%d" % sid))
            for sid in streams))
        resets = {}
        goaway = None
        deadline = time.monotonic() + 10
        while streams[-1] not in resets and goaway is None and time.monotonic() < deadline:
            try:
                kind, _, stream_id, payload = h2.read_frame(timeout=1)
            except socket.timeout:
                continue
            if kind == RST_STREAM:
                resets[stream_id] = struct.unpack(">I", payload)[0]
            elif kind == GOAWAY:
                goaway = (*struct.unpack(">II", payload[:8]), payload[8:])
        return h2, streams, resets, goaway

    def test_http2_stream_over_the_concurrency_limit_is_refused(self):
        # RFC 9113 5.1.2: a HEADERS frame exceeding the advertised limit is a
        # stream error (PROTOCOL_ERROR or REFUSED_STREAM), which section 5.4 lets
        # an endpoint treat as a connection error. nghttp2 resets the stream
        # while the limit is unacknowledged and ends the connection after
        # (decision 27). Either way stream 201 must never be processed.
        _, streams, resets, goaway = self.open_101_streams(ack_settings=True)
        if goaway is not None:
            last_stream, error_code, debug = goaway
            self.assertEqual(error_code, PROTOCOL_ERROR, goaway)
            self.assertEqual(last_stream, streams[-2], goaway)  # the first 100 were accepted
            self.assertIn(b"max concurrent streams", debug)
        else:
            self.assertIn(resets.get(streams[-1]), (REFUSED_STREAM, PROTOCOL_ERROR), resets)
            self.assertEqual(set(resets), {streams[-1]}, resets)  # the first 100 untouched

    def test_http2_stream_over_an_unacknowledged_limit_is_reset_alone(self):
        # Before the client acknowledges SETTINGS, the excess stream alone is
        # refused and the connection goes on.
        h2, streams, resets, goaway = self.open_101_streams(ack_settings=False)
        self.assertIsNone(goaway)
        self.assertEqual(resets, {streams[-1]: REFUSED_STREAM})
        # The connection still works: a PING is answered.
        h2.sock.sendall(frame(PING, 0, 0, b"edgecase"))
        deadline = time.monotonic() + 10
        while True:
            kind, flags, stream_id, payload = h2.read_frame()
            self.assertNotEqual(kind, GOAWAY, payload)
            if kind == PING and flags & ACK:
                self.assertEqual(payload, b"edgecase")
                break
            self.assertLess(time.monotonic(), deadline, "no PING ACK")

    def test_http2_slow_reader_is_held_to_its_window_with_bounded_memory(self):
        size = 64 << 20
        h2 = H2Connection(self.port)
        self.addCleanup(h2.close)
        # The client keeps the default 65,535-byte stream and connection windows
        # and never sends WINDOW_UPDATE: the proxy may send that many DATA bytes,
        # no more, and must stop reading the upstream instead of buffering the
        # other 64 MiB.
        h2.sock.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                              request_headers(b"GET", b"/dl/download/%d" % size)))
        window = 65535
        data_bytes = 0
        status_block = None
        # Wait (generously) until the window is used up: the body is flowing.
        deadline = time.monotonic() + 20
        while data_bytes < window and time.monotonic() < deadline:
            try:
                kind, flags, stream_id, payload = h2.read_frame(timeout=1)
            except socket.timeout:
                continue
            self.assertNotIn(kind, (RST_STREAM, GOAWAY), payload)
            if kind == HEADERS and stream_id == 1:
                status_block = payload
            elif kind == DATA and stream_id == 1:
                data_bytes += len(payload)  # padding counts against the window too
        # 0x88 is the indexed static entry 8, ":status: 200" (RFC 7541 appendix A).
        self.assertIsNotNone(status_block, "no response HEADERS")
        self.assertEqual(status_block[:1], b"\x88", status_block[:20])
        self.assertEqual(data_bytes, window)
        # Give the upstream a few seconds to push what it can; the proxy must not
        # send past the window, nor take the body into memory.
        settle = time.monotonic() + 3
        while time.monotonic() < settle:
            try:
                kind, _, stream_id, payload = h2.read_frame(timeout=0.5)
            except socket.timeout:
                continue
            if kind == DATA:
                data_bytes += len(payload)
        self.assertEqual(data_bytes, window)
        if not harness.SANITIZED:
            # ASan's shadow memory and quarantine make RSS meaningless there.
            # The idle proxy takes about 11 MiB; 32 MiB leaves room for buffers
            # but not for the body (the kernel's socket buffers hold a few MiB
            # of it, the rest would land in the proxy). The peak (VmHWM) too:
            # buffering the body and freeing it again is no better.
            for field in ("VmRSS", "VmHWM"):
                kib = vm_kib(self.proxy.proc.pid, field)
                self.assertLess(kib, 32 * 1024, f"proxy {field} {kib} KiB, 64 MiB body pending")

    # --- listeners and process ---------------------------------------------------

    def test_opaque_port_skips_detection_for_a_server_first_protocol(self):
        with socket.create_connection(("127.0.0.1", self.opaque_port), timeout=10) as conn:
            # The client says nothing. Were the port sniffed, the banner could not
            # come before the 20 s detection timeout; 10 s is half of it.
            self.assertEqual(conn.recv(64), b"220 ready\r\n")
            conn.sendall(b"\x00hello")  # and the connection is a plain tunnel
            self.assertEqual(conn.recv(64), b"\x00hello")

    def test_concurrency_flag_overrides_the_bootstrap(self):
        # The bootstrap says 1 worker; the flag says 3, and the flag wins.
        port = harness.free_port()
        proxy = self.start([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config",
                            self.write("small.yaml", self.with_admin(
                                SMALL_CONFIG.format(port=port))),
                            "--concurrency", "3"], "weft-proxy-small")
        proxy.wait_for(r"weft-proxy ready: 3 workers")
        status, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/server_info")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["concurrency"], 3)
        # The listener serves: the workers are real.
        status, _, body = self.curl(f"http://127.0.0.1:{port}/")
        self.assertEqual((status, body), (200, "ok"))
        # And the main proxy, started from its bootstrap alone, has 1.
        self.assertRegex(self.proxy.output(), r"weft-proxy ready: 1 workers")


if __name__ == "__main__":
    harness.main()
