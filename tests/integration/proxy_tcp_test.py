#!/usr/bin/env python3
"""Opaque TCP proxying, protocol detection and filter chain selection in
weft-proxy, driven with raw sockets on loopback."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CONFIG = """
node: {{id: tcp-test}}
concurrency: 1
static_resources:
  listeners:
    - name: mixed
      address: {{address: 127.0.0.1, port: {mixed_port}}}
      filter_chains:
        - name: http
          match: {{application_protocols: ["http/1.1"]}}
          http:
            stat_prefix: mixed_http
            route_config:
              name: mixed
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{{match: {{prefix: /}}, direct_response: {{status: 200, body: "http chain"}}}}]
        - name: opaque
          tcp: {{stat_prefix: mixed_tcp, cluster: echo, idle_timeout: 1s}}
    - name: server-first
      address: {{address: 127.0.0.1, port: {banner_port}}}
      protocol_detection: {{timeout: 50ms}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: banner, cluster: banner}}
    - name: http-only
      address: {{address: 127.0.0.1, port: {http_only_port}}}
      filter_chains:
        - name: http
          match: {{application_protocols: ["http/1.1"]}}
          http:
            stat_prefix: http_only
            route_config:
              name: http-only
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}},
                                direct_response: {{status: 204}}}}]}}]
    - name: dead-upstream
      address: {{address: 127.0.0.1, port: {dead_port}}}
      protocol_detection: {{disabled: true}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: dead, cluster: nowhere}}
    - name: second-chance
      address: {{address: 127.0.0.1, port: {retry_port}}}
      protocol_detection: {{disabled: true}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: retry, cluster: half-dead, max_connect_attempts: 2}}
  clusters:
    - name: half-dead
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {nowhere}}}}}
              - endpoint: {{address: {{address: 127.0.0.1, port: {echo}}}}}
    - name: echo
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {echo}}}}}}}]}}]
    - name: banner
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {banner}}}}}}}]}}]
    - name: nowhere
      connect_timeout: 1s
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {nowhere}}}}}}}]}}]
"""

TCP_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "tcp_backend.py")


def read_all(conn):
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk


class ProxyTcpTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        echo = self.start([sys.executable, TCP_BACKEND, "--mode", "echo"], "echo")
        banner = self.start([sys.executable, TCP_BACKEND, "--mode", "banner"], "banner")
        self.ports = {name: harness.free_port()
                      for name in ("mixed", "banner", "http_only", "dead", "retry")}
        self.proxy = self.start_proxy(CONFIG.format(
            mixed_port=self.ports["mixed"], banner_port=self.ports["banner"],
            http_only_port=self.ports["http_only"], dead_port=self.ports["dead"],
            retry_port=self.ports["retry"],
            echo=int(echo.wait_for(r"listening on (\d+)").group(1)),
            banner=int(banner.wait_for(r"listening on (\d+)").group(1)),
            nowhere=harness.free_port()))

    def connect(self, name):
        return socket.create_connection(("127.0.0.1", self.ports[name]), timeout=10)

    def test_http_bytes_take_the_http_chain(self):
        status, _, body = self.curl(f"http://127.0.0.1:{self.ports['mixed']}/x")
        self.assertEqual((status, body), (200, "http chain"))

    def test_opaque_bytes_take_the_tcp_chain_with_half_close(self):
        with self.connect("mixed") as conn:
            conn.sendall(b"\x00\x01binary-protocol")
            conn.shutdown(socket.SHUT_WR)  # half-close: the reply must still arrive
            self.assertEqual(read_all(conn), b"\x00\x01binary-protocolbye")

    def test_large_payload_round_trips_intact(self):
        payload = os.urandom(4 << 20)
        with self.connect("mixed") as conn:
            conn.sendall(b"\xff")  # opaque first byte
            sender = threading.Thread(target=lambda: (conn.sendall(payload),
                                                      conn.shutdown(socket.SHUT_WR)))
            sender.start()
            received = read_all(conn)
            sender.join()
        self.assertEqual(received, b"\xff" + payload + b"bye")

    def test_server_first_protocol_does_not_stall(self):
        with self.connect("banner") as conn:
            # The client says nothing: detection times out and the proxy connects.
            self.assertEqual(conn.recv(64), b"220 ready\r\n")
            conn.sendall(b"EHLO x\r\n")
            self.assertEqual(conn.recv(64), b"EHLO x\r\n")

    def test_idle_tcp_connection_is_closed(self):
        with self.connect("mixed") as conn:
            conn.sendall(b"\x00ping")
            self.assertEqual(conn.recv(64), b"\x00ping")
            self.assertEqual(conn.recv(64), b"")  # closed after the 1s idle timeout

    def test_connection_fitting_no_chain_is_closed_and_logged(self):
        with self.connect("http_only") as conn:
            conn.sendall(b"\x00\x00not http at all")
            self.assertEqual(read_all(conn), b"")
        self.proxy.wait_for(r"listener 'http-only': no filter chain fits")

    def test_a_failed_connect_is_retried_on_another_endpoint(self):
        # Round robin alternates between the dead and the live endpoint; with two
        # attempts every connection reaches the live one.
        for i in range(4):
            with self.connect("retry") as conn:
                conn.sendall(b"\x00try%d" % i)
                conn.shutdown(socket.SHUT_WR)
                self.assertEqual(read_all(conn), b"\x00try%dbye" % i)
        self.proxy.wait_for(r"cluster 'half-dead': connecting to 127\.0\.0\.1:\d+ failed: .*; "
                            r"trying another endpoint")

    def test_tcp_upstream_connect_failure_closes_the_connection(self):
        self.assertEqual(self.tcp_upstream_failures(), 0)
        with self.connect("dead") as conn:
            self.assertEqual(read_all(conn), b"")
        self.proxy.wait_for(r"cluster 'nowhere': connecting to 127\.0\.0\.1:\d+ failed")
        # Logged and counted, never dropped silently.
        self.assertEqual(self.tcp_upstream_failures(), 1)

    def tcp_upstream_failures(self):
        _, _, body = self.curl(f"http://127.0.0.1:{self.admin_port}/stats/prometheus")
        for line in body.splitlines():
            if line.startswith("weft_proxy_tcp_upstream_failures_total "):
                return float(line.split()[1])
        self.fail("weft_proxy_tcp_upstream_failures_total is missing:\n" + body)


if __name__ == "__main__":
    harness.main()
