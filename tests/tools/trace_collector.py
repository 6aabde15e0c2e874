#!/usr/bin/env python3
"""A trace collector for tests: accepts OTLP/HTTP JSON (POST /v1/traces) and Zipkin v2 JSON
(POST /api/v2/spans), keeps every span, and serves them at GET /spans as one JSON list in a
common shape: {format, service, traceId, spanId, parentSpanId, name, kind, tags}. Prints
"listening on <port>" once ready. --delay-ms holds every POST that long (a slow collector)."""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPANS = []
LOCK = threading.Lock()


def otlp_spans(document):
    out = []
    for resource_spans in document["resourceSpans"]:
        service = ""
        for attribute in resource_spans["resource"]["attributes"]:
            if attribute["key"] == "service.name":
                service = attribute["value"]["stringValue"]
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                tags = {}
                for attribute in span["attributes"]:
                    value = attribute["value"]
                    tags[attribute["key"]] = value.get("stringValue", value.get("intValue"))
                out.append({"format": "otlp", "service": service, "traceId": span["traceId"],
                            "spanId": span["spanId"],
                            "parentSpanId": span.get("parentSpanId", ""),
                            "name": span["name"],
                            "kind": {2: "SERVER", 3: "CLIENT"}[span["kind"]],
                            "start": int(span["startTimeUnixNano"]),
                            "end": int(span["endTimeUnixNano"]),
                            "error": span["status"]["code"] == 2, "tags": tags})
    return out


def zipkin_spans(document):
    return [{"format": "zipkin", "service": span["localEndpoint"]["serviceName"],
             "traceId": span["traceId"], "spanId": span["id"],
             "parentSpanId": span.get("parentId", ""), "name": span["name"],
             "kind": span["kind"], "start": span["timestamp"] * 1000,
             "end": (span["timestamp"] + span["duration"]) * 1000,
             "error": span["tags"].get("error") == "true", "tags": span["tags"]}
            for span in document]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(self.delay)
        try:
            document = json.loads(body)
            if self.path == "/v1/traces":
                spans = otlp_spans(document)
            elif self.path == "/api/v2/spans":
                spans = zipkin_spans(document)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        except (ValueError, KeyError, TypeError) as error:
            print(f"bad {self.path} body: {error!r}", flush=True)
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with LOCK:
            SPANS.extend(spans)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        with LOCK:
            body = json.dumps(SPANS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    Handler.delay = args.delay_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
