#!/usr/bin/env python3
"""A minimal WebSocket (RFC 6455) echo server for tests, on raw sockets.

Binds 127.0.0.1 (port 0: any free port) and prints "listening on <port>".
- GET with "Connection: upgrade" and "Upgrade: websocket": answers 101 with the
  Sec-WebSocket-Accept for the client's key, sends a text frame "hello" in the
  same write (so a proxy must relay bytes that arrive with the 101), then echoes
  every text frame back upper-cased. When the client half-closes, sends a last
  text frame "bye" and closes. A close frame is answered with a close frame.
- GET /plain (upgrade asked or not): a normal 200 whose body names the Upgrade and
  Connection values received, on a keep-alive connection.
Frames from clients must be masked (the server refuses unmasked ones).
"""
import base64
import hashlib
import socket
import struct
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_value(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(opcode, payload):
    """A server frame: FIN set, unmasked."""
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 65536:
        head += bytes([126]) + struct.pack(">H", len(payload))
    else:
        head += bytes([127]) + struct.pack(">Q", len(payload))
    return head + payload


class Reader:
    def __init__(self, conn):
        self.conn = conn
        self.buffer = b""

    def fill(self):
        data = self.conn.recv(65536)
        if not data:
            return False
        self.buffer += data
        return True

    def until(self, marker):
        while marker not in self.buffer:
            if not self.fill():
                return None
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def exactly(self, n):
        while len(self.buffer) < n:
            if not self.fill():
                return None
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def read_frame(self):
        """(opcode, payload) of the next client frame, or None at EOF."""
        head = self.exactly(2)
        if head is None:
            return None
        opcode = head[0] & 0x0F
        masked = head[1] & 0x80
        length = head[1] & 0x7F
        if length == 126:
            length = struct.unpack(">H", self.exactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self.exactly(8))[0]
        if not masked:
            raise ValueError("client frame is not masked")
        mask = self.exactly(4)
        payload = bytearray(self.exactly(length))
        for i in range(len(payload)):
            payload[i] ^= mask[i % 4]
        return opcode, bytes(payload)


def serve_websocket(conn, reader):
    while True:
        received = reader.read_frame()
        if received is None:  # the client half-closed
            conn.sendall(frame(0x1, b"bye"))
            return
        opcode, payload = received
        if opcode == 0x8:
            conn.sendall(frame(0x8, payload[:2]))
            return
        if opcode == 0x1:
            conn.sendall(frame(0x1, payload.upper()))


def handle(conn):
    reader = Reader(conn)
    try:
        while True:
            head = reader.until(b"\r\n\r\n")
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split()[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            upgrade = headers.get("upgrade", "")
            connection = headers.get("connection", "")
            if path == "/plain" or "websocket" not in upgrade.lower():
                body = f"upgrade={upgrade};connection={connection}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                continue
            key = headers.get("sec-websocket-key", "")
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept_value(key)}\r\n\r\n").encode() +
                         frame(0x1, b"hello"))
            serve_websocket(conn, reader)
            return
    except (OSError, ValueError, TypeError):
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(f"listening on {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
