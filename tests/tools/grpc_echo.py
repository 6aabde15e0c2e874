#!/usr/bin/python3
"""A gRPC echo server and client for tests, with raw-bytes messages (no protos).

serve: binds 127.0.0.1 (port 0: any free port), prints "listening on <port>".
  /test.Echo/Unary echoes the request; /test.Echo/Stream echoes each message;
  /test.Echo/Fail answers NOT_FOUND with a message; /test.Echo/Slow sleeps for the seconds
  in the request (text), or until the call is cancelled, then echoes; /test.Echo/Remaining
  answers with the seconds the server has left under the call's deadline (text; "none");
  /test.Echo/ServerStream answers "<count>,<size>" with count messages of size bytes;
  /test.Echo/ClientStream answers with "<messages>,<bytes>" it received; /test.Echo/Peer
  answers, after sleeping the seconds in the request (text, may be empty), with the caller's
  address as gRPC sees it ("ipv4:127.0.0.1:<port>"), which tells which connection a call
  came on. Messages up to 8 MiB are accepted both ways.
  It also serves the gRPC health checking protocol, /grpc.health.v1.Health/Check: the overall
  server ("") is SERVING, other services are NOT_FOUND until set; /test.Echo/SetHealth with
  "<service>=<status number>" (1 SERVING, 2 NOT_SERVING) sets one, and
  /test.Echo/HealthChecks answers how many checks came for "<service>" (text).
  /test.Echo/SetUnavailable with "1" makes every call but the control ones fail with
  UNAVAILABLE (a trailers-only answer), "0" ends that; /test.Echo/SetDelay with "<seconds>"
  makes every Unary call wait that long (or until it is cancelled) before it answers;
  /test.Echo/Calls answers how many calls (control ones aside) came, as text, and
  /test.Echo/LeastRemaining the fewest seconds any of them had left under its deadline;
  /test.Echo/Mirrored answers "<calls>,<request bytes>" for the calls that carried
  x-weft-mirror: 1 (copies from a proxy's mirroring).
peers <target> <authority> <pause seconds> <count>: makes count calls to Peer on one channel,
  pausing between them, and prints the peers seen as a JSON list. A negative pause makes the
  calls all at once instead, each held open for -pause seconds.
calls <target> <count> <size>: makes count Unary calls of size bytes on one channel and prints
  {"OK": n, ...} by status, counting as OK only calls whose echo came back intact.
control <target> <method> <text>: calls /test.Echo/<method> with the text and prints the
  answer as text.
call <target> [authority]: runs unary (100 kB and 4 MiB), bidi, server- and client-streaming
  and failing calls through <target> (host:port) and prints one JSON line with what came back.
Run with Debian's python3 (python3-grpcio), not a pyenv interpreter.
"""
import json
import sys
import threading
import time
from concurrent import futures

import grpc


# 4 MiB messages need more than gRPC's default 4 MiB limit once framed.
MESSAGE_LIMITS = [("grpc.max_send_message_length", 8 << 20),
                  ("grpc.max_receive_message_length", 8 << 20)]


def serve(port):
    def unary(request, context):
        context.set_trailing_metadata((("x-echo-trailer", "unary"),))
        return request

    def stream(requests, context):
        for request in requests:
            yield request.upper()

    def fail(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    def slow(request, context):
        done = threading.Event()
        context.add_callback(done.set)  # the call ended: cancelled or its deadline passed
        done.wait(float(request.decode() or "5"))
        return request

    def server_stream(request, context):
        count, size = (int(part) for part in request.decode().split(","))
        for i in range(count):
            yield bytes([65 + i % 26]) * size

    def client_stream(requests, context):
        messages = 0
        total = 0
        for request in requests:
            messages += 1
            total += len(request)
        return f"{messages},{total}".encode()

    def peer(request, context):
        time.sleep(float(request.decode() or "0"))  # holds the call open that long
        return context.peer().encode()

    def remaining(request, context):
        left = context.time_remaining()
        return b"none" if left is None else repr(left).encode()

    health = {"": 1}
    health_checks = {}
    health_lock = threading.Lock()

    def requested_service(request):
        """The service field (1) of a HealthCheckRequest; names are under 128 bytes here."""
        if not request:
            return ""
        if request[0] != 0x0A or len(request) < 2 or request[1] >= 0x80:
            raise ValueError("not a HealthCheckRequest this server understands")
        return request[2:2 + request[1]].decode()

    def health_check(request, context):
        try:
            service = requested_service(request)
        except ValueError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        with health_lock:
            health_checks[service] = health_checks.get(service, 0) + 1
            status = health.get(service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service!r}")
        return bytes([0x08, status]) if status else b""

    def set_health(request, context):
        service, _, status = request.decode().partition("=")
        with health_lock:
            health[service] = int(status)
        return b""

    def count_health_checks(request, context):
        with health_lock:
            return str(health_checks.get(request.decode(), 0)).encode()

    unavailable = threading.Event()
    calls = {"count": 0, "delay": 0.0, "least_remaining": None, "mirrored": 0,
             "mirrored_bytes": 0}

    def counted(method):
        """Counts the call and the time it has left, fails it with UNAVAILABLE while
        SetUnavailable says so, and holds it for SetDelay's seconds."""
        def handler(request, context):
            left = context.time_remaining()
            mirrored = ("x-weft-mirror", "1") in context.invocation_metadata()
            with health_lock:
                calls["count"] += 1
                if mirrored:
                    calls["mirrored"] += 1
                    calls["mirrored_bytes"] += len(request)
                if left is not None and (calls["least_remaining"] is None
                                         or left < calls["least_remaining"]):
                    calls["least_remaining"] = left
                delay = calls["delay"]
            if unavailable.is_set():
                context.abort(grpc.StatusCode.UNAVAILABLE, "this server is set unavailable")
            if delay:
                done = threading.Event()
                context.add_callback(done.set)  # cancelled: the proxy gave up on this attempt
                done.wait(delay)
            return method(request, context)
        return handler

    def set_delay(request, context):
        with health_lock:
            calls["delay"] = float(request.decode() or "0")
        return b""

    def least_remaining(request, context):
        with health_lock:
            left = calls["least_remaining"]
        return b"none" if left is None else f"{left:.3f}".encode()

    def count_mirrored(request, context):
        with health_lock:
            return f"{calls['mirrored']},{calls['mirrored_bytes']}".encode()

    def set_unavailable(request, context):
        if request == b"1":
            unavailable.set()
        else:
            unavailable.clear()
        return b""

    def count_calls(request, context):
        with health_lock:
            return str(calls["count"]).encode()

    health_handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(health_check),
    })
    handler = grpc.method_handlers_generic_handler("test.Echo", {
        "SetHealth": grpc.unary_unary_rpc_method_handler(set_health),
        "HealthChecks": grpc.unary_unary_rpc_method_handler(count_health_checks),
        "SetUnavailable": grpc.unary_unary_rpc_method_handler(set_unavailable),
        "Calls": grpc.unary_unary_rpc_method_handler(count_calls),
        "SetDelay": grpc.unary_unary_rpc_method_handler(set_delay),
        "LeastRemaining": grpc.unary_unary_rpc_method_handler(least_remaining),
        "Mirrored": grpc.unary_unary_rpc_method_handler(count_mirrored),
        "Unary": grpc.unary_unary_rpc_method_handler(counted(unary)),
        "Stream": grpc.stream_stream_rpc_method_handler(stream),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "Remaining": grpc.unary_unary_rpc_method_handler(remaining),
        "Peer": grpc.unary_unary_rpc_method_handler(peer),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=MESSAGE_LIMITS)
    server.add_generic_rpc_handlers((handler, health_handler))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"listening on {bound}", flush=True)
    server.wait_for_termination()


def call(target, authority=None):
    result = {}
    options = list(MESSAGE_LIMITS)
    if authority:
        options.append(("grpc.default_authority", authority))
    with grpc.insecure_channel(target, options=options) as channel:
        unary = channel.unary_unary("/test.Echo/Unary")
        response, call_info = unary.with_call(b"x" * 100000, timeout=10)
        result["unary_bytes"] = len(response)
        result["unary_trailer"] = dict(call_info.trailing_metadata()).get("x-echo-trailer")
        stream = channel.stream_stream("/test.Echo/Stream")
        result["stream"] = [m.decode() for m in stream(iter([b"a", b"bc", b"def"] * 10),
                                                       timeout=10)]
        big = bytes(range(256)) * (4 << 12)  # 4 MiB, every byte value
        echoed = unary(big, timeout=30)
        result["big_bytes"] = len(echoed)
        result["big_intact"] = echoed == big
        server_stream = channel.unary_stream("/test.Echo/ServerStream")
        result["server_stream"] = [len(m) for m in server_stream(b"5,70000", timeout=10)]
        client_stream = channel.stream_unary("/test.Echo/ClientStream")
        result["client_stream"] = client_stream(iter([b"y" * 50000] * 20), timeout=10).decode()
        try:
            channel.unary_unary("/test.Echo/Fail")(b"", timeout=10)
            result["fail"] = "OK"
        except grpc.RpcError as error:
            result["fail"] = error.code().name
            result["fail_details"] = error.details()
    print(json.dumps(result), flush=True)


def peers(target, authority, pause, count):
    options = [("grpc.default_authority", authority)]
    seen = []
    with grpc.insecure_channel(target, options=options) as channel:
        peer = channel.unary_unary("/test.Echo/Peer")
        if pause < 0:
            calls = [peer.future(str(-pause).encode(), timeout=30) for _ in range(count)]
            seen = [call.result().decode() for call in calls]
        for i in range(count if pause >= 0 else 0):
            if i:
                time.sleep(pause)
            seen.append(peer(b"", timeout=10).decode())
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    elif sys.argv[1] == "calls":
        outcomes = {}
        payload = bytes(range(256)) * (int(sys.argv[4]) // 256 + 1)
        payload = payload[:int(sys.argv[4])]
        with grpc.insecure_channel(sys.argv[2]) as channel:
            unary = channel.unary_unary("/test.Echo/Unary")
            for _ in range(int(sys.argv[3])):
                try:
                    outcome = "OK" if unary(payload, timeout=10) == payload else "CORRUPTED"
                except grpc.RpcError as error:
                    outcome = error.code().name
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        print(json.dumps(outcomes), flush=True)
    elif sys.argv[1] == "control":
        with grpc.insecure_channel(sys.argv[2]) as channel:
            answer = channel.unary_unary(f"/test.Echo/{sys.argv[3]}")(sys.argv[4].encode(),
                                                                      timeout=10)
        print(answer.decode(), flush=True)
    elif sys.argv[1] == "peers":
        peers(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    else:
        call(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
