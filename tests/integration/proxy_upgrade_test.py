#!/usr/bin/env python3
"""HTTP/1.1 Upgrade (WebSocket) through weft-proxy: the handshake is forwarded with
Upgrade and Connection kept, a 101 turns the connection into a byte tunnel (with
half-close passed on), and any other answer leaves it a normal HTTP connection.
Backend: tests/tools/websocket_echo.py; client: raw sockets."""
import base64
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

ECHO_TOOL = os.path.join(harness.SOURCE_DIR, "tests", "tools", "websocket_echo.py")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONFIG = """
node: {{id: upgrade-test}}
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
                    - match: {{prefix: /}}
                      route: {{cluster: echo, timeout: 2s}}
  clusters:
    - name: echo
      connect_timeout: 1s
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {echo_port}}}}}
"""


def client_frame(text, mask=b"\x11\x22\x33\x44"):
    """A masked text frame, as a client must send it."""
    payload = text.encode()
    assert len(payload) < 126
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


class Connection:
    """A raw client connection that reads HTTP heads and WebSocket frames."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buffer += data

    def read_head(self):
        while b"\r\n\r\n" not in self.buffer:
            self.fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def read_body(self, length):
        while len(self.buffer) < length:
            self.fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return body

    def read_frame(self):
        while len(self.buffer) < 2:
            self.fill()
        opcode = self.buffer[0] & 0x0F
        length = self.buffer[1] & 0x7F
        assert length < 126 and not self.buffer[1] & 0x80, "server frames are short and unmasked"
        payload = self.read_body(2 + length)[2:]
        return opcode, payload.decode("latin-1")

    def read_to_eof(self):
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            self.buffer += data


class ProxyUpgradeTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        echo = self.start([sys.executable, ECHO_TOOL], "websocket-echo")
        echo_port = int(echo.wait_for(r"listening on (\d+)").group(1))
        self.port = harness.free_port()
        self.proxy = self.start_proxy(CONFIG.format(proxy_port=self.port, echo_port=echo_port))

    def connect(self):
        connection = Connection(self.port)
        self.addCleanup(connection.close)
        return connection

    def handshake(self, key=b"dGhlIHNhbXBsZSBub25jZQ==", extra=b""):
        return (b"GET /chat HTTP/1.1\r\nHost: chat\r\nConnection: keep-alive, Upgrade\r\n"
                b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Key: " + key + b"\r\n\r\n" + extra)

    def test_websocket_handshake_and_echo_through_the_tunnel(self):
        connection = self.connect()
        key = base64.b64encode(os.urandom(16))
        # The first frame travels in the same packet as the handshake: the proxy
        # has it in its buffer when the 101 arrives and must forward it first.
        connection.sock.sendall(self.handshake(key, client_frame("first")))
        status, headers = connection.read_head()
        self.assertEqual(status, 101)
        self.assertEqual(headers["upgrade"].lower(), "websocket")
        self.assertEqual(headers["connection"].lower(), "upgrade")
        import hashlib
        self.assertEqual(headers["sec-websocket-accept"],
                         base64.b64encode(hashlib.sha1(key + GUID).digest()).decode())
        # "hello" came in the server's write of the 101.
        self.assertEqual(connection.read_frame(), (1, "hello"))
        self.assertEqual(connection.read_frame(), (1, "FIRST"))
        connection.sock.sendall(client_frame("second") + client_frame("third"))
        self.assertEqual(connection.read_frame(), (1, "SECOND"))
        self.assertEqual(connection.read_frame(), (1, "THIRD"))
        # A close frame goes through and is answered.
        connection.sock.sendall(bytes([0x88, 0x82]) + b"\x01\x02\x03\x04" +
                                bytes(b ^ m for b, m in zip(b"\x03\xe8", b"\x01\x02")))
        opcode, _ = connection.read_frame()
        self.assertEqual(opcode, 8)
        connection.read_to_eof()  # the server closed; the proxy closes the client side

    def test_half_close_reaches_the_server_and_its_last_words_the_client(self):
        connection = self.connect()
        connection.sock.sendall(self.handshake())
        status, _ = connection.read_head()
        self.assertEqual(status, 101)
        self.assertEqual(connection.read_frame(), (1, "hello"))
        connection.sock.sendall(client_frame("last"))
        connection.sock.shutdown(socket.SHUT_WR)
        # The server sees EOF only if the proxy passed the half-close on; it then
        # still answers on the open direction.
        self.assertEqual(connection.read_frame(), (1, "LAST"))
        self.assertEqual(connection.read_frame(), (1, "bye"))
        connection.read_to_eof()
        self.assertEqual(connection.buffer, b"")

    def test_upgrade_answered_with_200_stays_http(self):
        connection = self.connect()
        connection.sock.sendall(b"GET /plain HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\n"
                                b"Upgrade: websocket\r\n\r\n")
        status, headers = connection.read_head()
        self.assertEqual(status, 200)
        body = connection.read_body(int(headers["content-length"])).decode()
        # The upstream was asked to upgrade...
        self.assertEqual(body, "upgrade=websocket;connection=Upgrade")
        self.assertNotIn("upgrade", headers)
        # ...and, having declined, the connection carries the next request.
        connection.sock.sendall(b"GET /plain HTTP/1.1\r\nHost: chat\r\n\r\n")
        status, headers = connection.read_head()
        self.assertEqual(status, 200)
        self.assertEqual(connection.read_body(int(headers["content-length"])).decode(),
                         "upgrade=;connection=")

    def test_upgrade_to_a_protocol_not_allowed_goes_as_a_plain_request(self):
        connection = self.connect()
        connection.sock.sendall(b"GET /x HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\n"
                                b"Upgrade: h2c, foo/2\r\n\r\n")
        status, headers = connection.read_head()
        self.assertEqual(status, 200)
        self.assertEqual(connection.read_body(int(headers["content-length"])).decode(),
                         "upgrade=;connection=")

    def test_upgrade_offering_several_forwards_only_the_allowed_ones(self):
        connection = self.connect()
        connection.sock.sendall(b"GET /plain HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\n"
                                b"Upgrade: foo/2, WebSocket\r\n\r\n")
        status, headers = connection.read_head()
        self.assertEqual(status, 200)
        self.assertEqual(connection.read_body(int(headers["content-length"])).decode(),
                         "upgrade=WebSocket;connection=Upgrade")


if __name__ == "__main__":
    harness.main()
