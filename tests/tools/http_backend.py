#!/usr/bin/env python3
"""A small HTTP/1.1 backend for tests and the demo.

Answers every request with a JSON document describing what it received (the
backend's name, method, path, headers and body length), so a test can check
what the proxy forwarded. Binds --host (default 127.0.0.1; an IPv6 literal
works too) on the given port (0: any free port) and prints "listening on
<port>" once ready.
"""
import argparse
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(name):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _joined_headers(self):
            # Repeated fields joined with ", ", as RFC 9110 section 5.3 reads them.
            joined = {}
            for key, value in self.headers.items():
                key = key.lower()
                joined[key] = f"{joined[key]}, {value}" if key in joined else value
            return joined

        def _answer(self):
            if "/delay/" in self.path:
                # /delay/<ms>: answer after that long (a request in flight for a test).
                time.sleep(int(self.path.rsplit("/delay/", 1)[1].split("?")[0]) / 1000)
            if self.path.endswith("/interim"):
                # Interim responses before the final one, as Go and others send them.
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n"
                                 b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
            if "/download/" in self.path:
                return self._download(int(self.path.rsplit("/", 1)[1]))
            if "/stall-header" in self.path:
                return self._stall(header=False)
            if "/stall-body" in self.path:
                return self._stall(header=True)
            self.request_trailers = {}
            if self.path.endswith("/trailers"):
                return self._trailers()
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body_bytes = self._read_chunked()
                body = b""
            else:
                length = int(self.headers.get("Content-Length") or 0)
                body_bytes = 0
                body = b""
                while body_bytes < length:  # read in pieces: uploads can be large
                    piece = self.rfile.read(min(1 << 20, length - body_bytes))
                    if not piece:
                        break
                    body_bytes += len(piece)
                    if len(body) < 64:
                        body += piece[:64]
            payload = json.dumps({
                "backend": name,
                "method": self.command,
                "path": self.path,
                "headers": self._joined_headers(),
                "body_bytes": body_bytes,
                "peer_port": self.client_address[1],
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Backend", name)
            if self.path.endswith("/hop-by-hop"):
                # Fields that describe this connection only: a proxy must drop them.
                self.send_header("Keep-Alive", "timeout=5")
                self.send_header("Proxy-Connection", "keep-alive")
                self.send_header("Connection", "X-Private")
                self.send_header("X-Private", "for this hop only")
                self.send_header("Upgrade", "h2c")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            if self.path.endswith("/close-after"):
                # Close without announcing it, as a server does when its
                # keep-alive timer fires between requests.
                self.close_connection = True

        def _read_chunked(self):
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while True:
                        line = self.rfile.readline()
                        if line in (b"\r\n", b""):
                            return total
                        name, _, value = line.decode("latin-1").partition(":")
                        self.request_trailers[name.strip().lower()] = value.strip()
                remaining = size
                while remaining:
                    remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
                self.rfile.readline()
                total += size

        def _stall(self, header):
            """Goes silent (for stream idle timeouts): before the response, or
            after its header and the first 10 of 1000 body bytes. Ends when the
            proxy gives up on it, or after 30 s."""
            if header:
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"s" * 10)
                self.wfile.flush()
            self.connection.settimeout(30)
            try:
                self.connection.recv(1)  # returns when the proxy closes the connection
            except OSError:
                pass
            self.close_connection = True

        def _trailers(self):
            """A chunked response with trailers, whose body reports the request's
            trailers and TE header: for relaying trailers end to end."""
            body_bytes = self._read_chunked() if "chunked" in (
                self.headers.get("Transfer-Encoding") or "").lower() else 0
            payload = json.dumps({"request_trailers": self.request_trailers,
                                  "te": self.headers.get("TE"),
                                  "body_bytes": body_bytes}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "x-checksum, x-status")
            self.end_headers()
            if self.command == "HEAD":
                return  # the head a GET would get, and no body at all
            half = len(payload) // 2
            for piece in (payload[:half], payload[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nx-checksum: abc123\r\nx-status: done\r\n\r\n")

        def _download(self, size):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            block = b"d" * 65536
            sent = 0
            try:
                while sent < size:
                    n = min(len(block), size - sent)
                    self.wfile.write(block[:n])
                    sent += n
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="backend")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    # A deep accept queue: a multiplexing client makes the proxy open many
    # upstream connections at once (the default of 5 drops SYNs under load).
    ThreadingHTTPServer.request_queue_size = 128
    if ":" in args.host:
        ThreadingHTTPServer.address_family = socket.AF_INET6
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.name))
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
