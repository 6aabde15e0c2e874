#!/usr/bin/env python3
"""An application that calls another service for every request it serves, copying the trace
and request-id headers from the request it received onto the call it makes, as instrumented
applications do. Answers with the upstream's status and body. Prints "listening on <port>"."""
import argparse
import http.client
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROPAGATED = ["x-request-id", "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid",
              "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"]


def make_handler(upstream_host, upstream_port, authority):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            headers = {name: self.headers[name] for name in PROPAGATED if name in self.headers}
            headers["Host"] = authority
            connection = http.client.HTTPConnection(upstream_host, upstream_port, timeout=10)
            try:
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
            finally:
                connection.close()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True, help="host:port to call")
    parser.add_argument("--authority", default="details", help="Host of the call it makes")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    server = ThreadingHTTPServer(("127.0.0.1", args.port),
                                 make_handler(host, int(port), args.authority))
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
