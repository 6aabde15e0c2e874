#!/usr/bin/env python3
"""A controllable HTTP/1.1 backend for the resilience tests: it fails a chosen fraction of
requests, resets connections, delays answers, or dies, and counts what it did.

What each request gets is decided in this order, each rule applying to its own exact share of
the requests (not a random draw: "0.3" fails requests 3, 6, 9, 13, ... so a test can assert
counts rather than probabilities):

  1. per-request headers, for tests that pick one request: x-fault-reset: 1 (close the
     connection without answering, with a TCP RST), x-fault-status: <code>,
     x-fault-delay-ms: <ms>;
  2. reset_fraction: the connection is reset without an answer;
  3. fail_fraction: answered with fail_status (503 by default), with Retry-After when
     retry_after is set;
  4. delay_fraction with delay_ms: answered after that long (the whole of it, or, with
     delay_fraction 1, every request);
  5. everything else: 200 with a small JSON body naming the backend, the path, and the
     length and SHA-256 of the request body received.

die_after N makes the process exit (status 0, without closing connections gracefully) right
after its N-th request has been answered.

The rules can be changed while it runs: POST /_control with a JSON object of the same names
(fail_fraction, fail_status, retry_after, reset_fraction, delay_ms, delay_fraction,
die_after) replaces those settings and restarts the shares; GET /_stats answers
{"requests", "ok", "failed", "reset", "delayed", "health_checks", "mirrored",
"mirrored_bytes"} counted since the start (control, stats and health-check requests are not
counted as requests; "mirrored" counts requests that carried x-weft-mirror: 1, a proxy's
mirror copies, and "mirrored_bytes" their body bytes). Both answer at once,
whatever the rules.

GET /healthz is the health-check endpoint: it answers health_status (200 by default; settable
through /_control like the rest) at once, whatever the other rules, and counts in
"health_checks".

Usage: fault_backend.py [--port 0] [--name NAME] [--fail-fraction F] [--fail-status 503]
       [--retry-after S] [--reset-fraction F] [--delay-ms MS] [--delay-fraction F]
       [--die-after N] [--health-status 200]
Prints "listening on <port>" once ready. Binds 127.0.0.1 only.
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY_BYTES = 1 << 20
SETTINGS = ("fail_fraction", "fail_status", "retry_after", "reset_fraction", "delay_ms",
            "delay_fraction", "die_after", "health_status")


class Share:
    """Picks exactly `fraction` of the calls, spread evenly: call n (from 1) is picked when
    floor(n * fraction) grows, so after N calls exactly floor(N * fraction) were picked."""

    def __init__(self, fraction):
        # Exact arithmetic: with floats, 0.1 * 30 could fall just short of 3 and skip a pick.
        self.fraction = Fraction(str(fraction)).limit_denominator(1_000_000)
        if not 0 <= self.fraction <= 1:
            raise ValueError(f"a fraction is between 0 and 1, not {fraction}")
        self.calls = 0

    def pick(self):
        self.calls += 1
        return (self.calls * self.fraction) // 1 > ((self.calls - 1) * self.fraction) // 1


class Faults:
    """The current rules and the counters; one lock, since requests run on many threads."""

    def __init__(self, settings):
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "ok": 0, "failed": 0, "reset": 0, "delayed": 0,
                       "health_checks": 0, "mirrored": 0, "mirrored_bytes": 0}
        self.apply(settings)

    def apply(self, settings):
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {list(SETTINGS)}")
        merged = dict(getattr(self, "settings", {}), **settings)
        shares = {name: Share(float(merged.get(name) or 0))
                  for name in ("reset_fraction", "fail_fraction", "delay_fraction")}
        status = int(merged.get("fail_status") or 503)
        if not 100 <= status <= 599:
            raise ValueError(f"fail_status must be an HTTP status code, not {status}")
        health = int(merged.get("health_status") or 200)
        if not 200 <= health <= 599:
            raise ValueError(f"health_status must be a final HTTP status code, not {health}")
        with self.lock:
            self.settings, self.shares, self.answered = merged, shares, 0

    def decide(self, headers):
        """(action, status, delay seconds) for one request, counted."""
        with self.lock:
            self.counts["requests"] += 1
            settings = self.settings
            if headers.get("x-fault-reset") == "1" or self.shares["reset_fraction"].pick():
                self.counts["reset"] += 1
                return "reset", 0, 0.0
            forced = headers.get("x-fault-status")
            if forced or self.shares["fail_fraction"].pick():
                self.counts["failed"] += 1
                return "fail", int(forced or settings.get("fail_status") or 503), 0.0
            delay_ms = headers.get("x-fault-delay-ms")
            if delay_ms is None and self.shares["delay_fraction"].pick():
                delay_ms = settings.get("delay_ms") or 0
            if delay_ms:
                self.counts["delayed"] += 1
            self.counts["ok"] += 1
            return "ok", 200, float(delay_ms or 0) / 1000

    def finished_one(self):
        """True when this answer was the last one die_after allows."""
        with self.lock:
            self.answered += 1
            limit = self.settings.get("die_after")
            return bool(limit) and self.answered >= int(limit)


def make_handler(name, faults):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The header and the body leave in separate writes: with Nagle on, the body waits for
        # the peer's delayed ACK (40 ms a response on a keep-alive connection).
        disable_nagle_algorithm = True

        def log_message(self, *args):  # quiet: tests read /_stats instead
            pass

        def _read_body(self):
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                return self._read_chunked_body()
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                raise ValueError("body too large")
            return self.rfile.read(length) if length else b""

        def _read_chunked_body(self):
            body = bytearray()
            while True:
                size = int(self.rfile.readline(128).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer fields, up to the empty line that ends the message.
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY_BYTES:
                    raise ValueError("body too large")
                body += self.rfile.read(size)
                self.rfile.readline(8)  # the CRLF after the chunk

        def _send(self, status, body, extra=()):
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for key, value in extra:
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()

        def _reset(self):
            # SO_LINGER with a zero timeout turns close() into a RST: the proxy sees a reset,
            # not an orderly end of the stream.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _control(self):
            try:
                settings = json.loads(self._read_body() or b"{}")
                if not isinstance(settings, dict):
                    raise ValueError("expected a JSON object")
                faults.apply(settings)
            except ValueError as error:
                self._send(400, {"error": str(error)})
                return
            self._send(200, faults.settings)

        def _serve(self):
            if self.path == "/_control" and self.command == "POST":
                return self._control()
            if self.path == "/_stats":
                with faults.lock:
                    counts = dict(faults.counts)
                return self._send(200, counts)
            if self.path == "/healthz":
                with faults.lock:
                    faults.counts["health_checks"] += 1
                    status = int(faults.settings.get("health_status") or 200)
                return self._send(status, {"backend": name, "health": status})
            try:
                body = self._read_body()
            except ValueError:
                return self._send(413, {"error": "body too large"})
            headers = {k.lower(): v for k, v in self.headers.items()}
            if headers.get("x-weft-mirror") == "1":
                with faults.lock:
                    faults.counts["mirrored"] += 1
                    faults.counts["mirrored_bytes"] += len(body)
            action, status, delay = faults.decide(headers)
            if action == "reset":
                return self._reset()
            if delay:
                time.sleep(delay)
            extra = []
            retry_after = faults.settings.get("retry_after")
            if action == "fail" and retry_after is not None:
                extra.append(("retry-after", str(retry_after)))
            self._send(status, {"backend": name, "path": self.path, "status": status,
                                "body_length": len(body),
                                "body_sha256": hashlib.sha256(body).hexdigest()}, extra)
            if faults.finished_one():
                os._exit(0)  # dies as a crashed process would: no goodbye to open connections

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="fault-backend")
    parser.add_argument("--fail-fraction", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument("--retry-after", type=int)
    parser.add_argument("--reset-fraction", type=float, default=0.0)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--delay-fraction", type=float, default=0.0)
    parser.add_argument("--die-after", type=int)
    parser.add_argument("--health-status", type=int, default=200)
    args = parser.parse_args()
    try:
        faults = Faults({name: getattr(args, name) for name in SETTINGS})
    except ValueError as error:
        parser.error(str(error))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.name, faults))
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
