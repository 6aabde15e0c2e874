#!/usr/bin/python3
"""The demo's sample application: three services that know nothing of the mesh. They listen
on all addresses and call each other by name, in plain HTTP and plain gRPC, as any app would.

  frontend  HTTP :8080  GET /product/<id> calls catalog (HTTP) and ratings (gRPC) and answers
                        JSON: which catalog version answered, what identity catalog saw, and
                        the rating. A failed call gives 502 naming the call and its error.
  catalog   HTTP :9080  GET /items/<id> answers JSON with its --version and the caller
                        identity its sidecar passed on (x-forwarded-client-cert). Runs in two
                        versions. /control?fail=<percent> (from the pod's own loopback in the
                        demo) makes that share of answers 503, to play a flaky or broken pod;
                        /control alone answers that share and how many items it served.
  ratings   gRPC :9090  /shop.Ratings/Get answers "<stars> stars" for an item id (raw bytes,
                        no protobuf needed: the mesh treats messages as opaque).
  load      a client outside the mesh: GETs <url> at --rate requests a second and writes one
            JSON line a second: counts by status and catalog version, or by failure ("refused",
            "closed (...)", "timeout" after --timeout seconds without an answer).

Run with Debian's python3 (python3-grpcio), not a pyenv interpreter.
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

RATINGS_METHOD = "/shop.Ratings/Get"


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body leave in one write. Unbuffered, the body's small second write waits
    # (Nagle) for the ACK of the head, which the peer delays: 40 ms on a kept-alive connection.
    wbufsize = 65536

    def log_message(self, *args):  # one line per request would drown the demo's output
        pass

    def reply(self, status, document):
        body = (json.dumps(document) + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_http(port, handler):
    server = ThreadingHTTPServer(("0.0.0.0", port), handler)
    server.daemon_threads = True
    print(f"listening on {port}", flush=True)
    server.serve_forever()


# --- catalog -------------------------------------------------------------------------------

def run_catalog(args):
    state = {"fail_percent": 0, "served": 0}

    class Catalog(QuietHandler):
        def do_GET(self):
            path = urllib.parse.urlsplit(self.path)
            if path.path == "/control":
                query = urllib.parse.parse_qs(path.query)
                if "fail" in query:
                    state["fail_percent"] = int(query["fail"][0])
                    print(f"failing {state['fail_percent']}% of requests", flush=True)
                self.reply(200, state)
                return
            state["served"] += 1
            if not path.path.startswith("/items/"):
                self.reply(404, {"error": f"no such path {path.path}"})
                return
            if random.uniform(0, 100) < state["fail_percent"]:
                self.reply(503, {"error": "catalog is flaky", "version": args.version})
                return
            self.reply(200, {"item": path.path[len("/items/"):], "version": args.version,
                             "pod": args.pod,
                             "caller": self.headers.get("x-forwarded-client-cert", "")})

    serve_http(args.port, Catalog)


# --- ratings (gRPC) --------------------------------------------------------------------------

def run_ratings(args):
    def get(request, context):
        item = request.decode(errors="replace")
        stars = 3 + (sum(request) % 5) / 2  # a stable rating per item
        return f"{item}: {stars} stars".encode()

    handler = grpc.method_handlers_generic_handler("shop.Ratings", {
        "Get": grpc.unary_unary_rpc_method_handler(get),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"0.0.0.0:{args.port}")
    server.start()
    print(f"listening on {args.port}", flush=True)
    server.wait_for_termination()


# --- frontend --------------------------------------------------------------------------------

def run_frontend(args):
    local = threading.local()

    def ratings_stub():
        if not hasattr(local, "ratings"):
            channel = grpc.insecure_channel(args.ratings)
            local.ratings = channel.unary_unary(RATINGS_METHOD)
        return local.ratings

    def catalog_get(path):
        host, port = args.catalog.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    class Frontend(QuietHandler):
        def do_GET(self):
            if not self.path.startswith("/product/"):
                self.reply(404, {"error": f"no such path {self.path}"})
                return
            item = self.path[len("/product/"):]
            try:
                status, body = catalog_get(f"/items/{item}")
            except OSError as error:
                self.reply(502, {"error": f"catalog: {error}"})
                return
            if status != 200:
                self.reply(502, {"error": f"catalog answered {status}: {body.decode().strip()}"})
                return
            catalog = json.loads(body)
            try:
                rating = ratings_stub()(item.encode(), timeout=5).decode()
            except grpc.RpcError as error:
                self.reply(502, {"error": f"ratings: {error.code().name} {error.details()}"})
                return
            self.reply(200, {"product": item, "catalog_version": catalog["version"],
                             "catalog_saw_caller": catalog["caller"], "rating": rating})

    serve_http(args.port, Frontend)


# --- load ------------------------------------------------------------------------------------

def run_load(args):
    """Paced requests from a few threads; one summary line a second on stdout."""
    lock = threading.Lock()
    counts = {}
    url = urllib.parse.urlsplit(args.url)
    interval = args.threads / args.rate

    def worker(offset):
        next_at = time.monotonic() + offset
        connection = None
        while True:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(url.hostname, url.port,
                                                            timeout=args.timeout)
                connection.request("GET", f"{url.path}{random.randint(1, 50)}")
                response = connection.getresponse()
                body = response.read()
                key = str(response.status)
                if response.status == 200:
                    key += " " + json.loads(body)["catalog_version"]
            except TimeoutError:  # the one outcome a mesh must never cause: a hang
                key, connection = "timeout", None
            except ConnectionRefusedError:
                key, connection = "refused", None
            except (ConnectionError, http.client.HTTPException) as error:
                key, connection = f"closed ({type(error).__name__})", None
            except (OSError, ValueError, KeyError) as error:
                key, connection = f"error ({type(error).__name__})", None
            with lock:
                counts[key] = counts.get(key, 0) + 1

    for index in range(args.threads):
        threading.Thread(target=worker, args=(index * interval / args.threads,),
                         daemon=True).start()
    print("sending", flush=True)
    while True:
        time.sleep(1)
        with lock:
            line, counts = dict(counts), {}
        print(json.dumps({"t": round(time.time(), 1), "counts": line}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = parser.add_subparsers(dest="role", required=True)
    frontend = roles.add_parser("frontend")
    frontend.add_argument("--port", type=int, default=8080)
    frontend.add_argument("--catalog", default="catalog:9080")
    frontend.add_argument("--ratings", default="ratings:9090")
    catalog = roles.add_parser("catalog")
    catalog.add_argument("--port", type=int, default=9080)
    catalog.add_argument("--version", required=True)
    catalog.add_argument("--pod", default="")
    ratings = roles.add_parser("ratings")
    ratings.add_argument("--port", type=int, default=9090)
    load = roles.add_parser("load")
    load.add_argument("--url", default="http://frontend:8080/product/")
    load.add_argument("--rate", type=float, default=20)
    load.add_argument("--threads", type=int, default=4)
    load.add_argument("--timeout", type=float, default=5)
    args = parser.parse_args()
    {"frontend": run_frontend, "catalog": run_catalog, "ratings": run_ratings,
     "load": run_load}[args.role](args)


if __name__ == "__main__":
    sys.exit(main())
