#!/usr/bin/python3
"""How long the sidecar injector takes to answer an AdmissionReview, against nginx answering
a fixed response of the same size over the same kind of connection, in one run on loopback.

Both servers are called by one client over one kept-alive HTTPS connection (TLS 1.3, ECDSA
P-256 certificates from one test CA), POSTing the same AdmissionReview of a real-shaped pod
(a Deployment's pod with two containers, probes, ports, volumes, an existing init
container). weft-injector parses it, decides, rewrites the probes, builds and base64-encodes
the patch; nginx returns a stored body of the injector's response size. The difference is
what the injection costs over TLS and HTTP; the injector's own histogram
(weft_injector_review_duration_seconds, body in to response body out) gives it directly.

    /usr/bin/python3 bench/injector_latency.py [--requests 3000] [--rounds 5] [--bin-dir build/bin]
"""
import argparse
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import mesh_certs  # noqa: E402
from harness import free_port  # noqa: E402

HOST = "weft-injector.weft-system.svc"

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"generateName": "checkout-6f7d9c8b4-", "namespace": "shop",
                 "labels": {"app": "checkout", "version": "v3", "pod-template-hash": "6f7d9c8b4"},
                 "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-28T10:00:00Z"}},
    "spec": {
        "serviceAccountName": "checkout",
        "initContainers": [{"name": "migrate", "image": "registry.example/checkout-migrate:3",
                            "args": ["--wait-for-db"]}],
        "containers": [
            {"name": "checkout", "image": "registry.example/checkout:3.2.1",
             "ports": [{"name": "http", "containerPort": 8080},
                       {"name": "grpc", "containerPort": 9090}],
             "env": [{"name": "DB_HOST", "value": "postgres.shop.svc"}],
             "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                           "limits": {"memory": "512Mi"}},
             "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                                "periodSeconds": 5},
             "livenessProbe": {"grpc": {"port": 9090}, "periodSeconds": 10},
             "volumeMounts": [{"name": "config", "mountPath": "/etc/checkout"}]},
            {"name": "log-shipper", "image": "registry.example/shipper:1.9",
             "volumeMounts": [{"name": "logs", "mountPath": "/var/log/app"}]}],
        "volumes": [{"name": "config", "configMap": {"name": "checkout"}},
                    {"name": "logs", "emptyDir": {}}]}}


def review_body():
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "0b7a2c3e-5d1f-4e8a-9c6b-2f4d8e1a3b5c",
                    "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": "shop", "operation": "CREATE", "object": POD,
                    "dryRun": False}}).encode()


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_port(port, timeout=10):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


def timed_posts(port, context, body, count):
    """Round trips (seconds) of `count` POSTs on one kept-alive connection; the first 50 are
    warm-up and not returned."""
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    connection._tunnel_host = None
    times = []
    for i in range(count + 50):
        started = time.perf_counter()
        connection.request("POST", "/inject", body=body,
                           headers={"Content-Type": "application/json", "Host": HOST})
        response = connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"status {response.status}: {payload[:200]!r}")
        if i >= 50:
            times.append(elapsed)
    connection.close()
    return times, payload


def histogram(metrics_port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        for name in ("weft_injector_review_duration_seconds_sum",
                     "weft_injector_review_duration_seconds_count"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[-1])
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        raise SystemExit("needs nginx")
    work = tempfile.mkdtemp(prefix="weft-bench-injector-")
    processes = []
    try:
        authority = mesh_certs.Authority("bench webhook CA")
        ca_file = write(work, "ca.crt", authority.cert_pem())
        cert, key = authority.issue([], dns_names=[HOST])
        cert_file, key_file = write(work, "tls.crt", cert), write(work, "tls.key", key)
        root = write(work, "root.pem", mesh_certs.Authority("bench mesh root").cert_pem())
        context = ssl.create_default_context(cafile=ca_file)
        context.check_hostname = False  # connected by address; the CA is still verified

        port, metrics_port = free_port(), free_port()
        injector = subprocess.Popen(
            [os.path.join(args.bin_dir, "weft-injector"), "--webhook-address",
             f"127.0.0.1:{port}", "--metrics-address", f"127.0.0.1:{metrics_port}",
             "--tls-cert-file", cert_file, "--tls-key-file", key_file,
             "--mesh-root-file", root, "--log-level", "warning", "--shutdown-delay", "0s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        processes.append(injector)
        wait_port(port)
        body = review_body()
        _, answer = timed_posts(port, context, body, 1)
        if b'"patch"' not in answer:
            raise SystemExit("the injector did not inject: " + answer[:300].decode())

        nginx_port = free_port()
        write(work, "answer.json", answer.decode())
        # nginx's worker runs as another user; mkdtemp's directory is private.
        os.chmod(work, 0o755)
        os.chmod(os.path.join(work, "answer.json"), 0o644)
        conf = write(work, "nginx.conf", f"""
worker_processes 1; daemon off; pid {work}/nginx.pid; error_log stderr error;
events {{ worker_connections 64; }}
http {{ access_log off; keepalive_requests 1000000; client_max_body_size 8m;
  server {{ listen 127.0.0.1:{nginx_port} ssl; ssl_certificate {cert_file};
    ssl_certificate_key {key_file}; ssl_protocols TLSv1.2 TLSv1.3;
    location /inject {{ client_body_buffer_size 64k; default_type application/json;
      alias {work}/answer.json; error_page 405 =200 /inject; }} }} }}
""")
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", work], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        processes.append(nginx)
        wait_port(nginx_port)

        injector_medians, nginx_medians, server_means = [], [], []
        for round_number in range(args.rounds):
            before = histogram(metrics_port)
            times, _ = timed_posts(port, context, body, args.requests)
            after = histogram(metrics_port)
            server = ((after["weft_injector_review_duration_seconds_sum"] -
                       before["weft_injector_review_duration_seconds_sum"]) /
                      (after["weft_injector_review_duration_seconds_count"] -
                       before["weft_injector_review_duration_seconds_count"]))
            baseline, _ = timed_posts(nginx_port, context, body, args.requests)
            injector_medians.append(statistics.median(times))
            nginx_medians.append(statistics.median(baseline))
            server_means.append(server)
            print(f"round {round_number + 1}: weft-injector median {statistics.median(times) * 1e6:.0f} us"
                  f" (server side {server * 1e6:.0f} us), nginx median "
                  f"{statistics.median(baseline) * 1e6:.0f} us", flush=True)
        ratios = [a / b for a, b in zip(injector_medians, nginx_medians)]
        print(f"\nreview: {len(body)} bytes in, {len(answer)} bytes out; "
              f"{args.rounds} rounds x {args.requests} requests on one connection")
        print(f"median of round medians: weft-injector {statistics.median(injector_medians) * 1e6:.0f} us,"
              f" nginx {statistics.median(nginx_medians) * 1e6:.0f} us, ratio "
              f"{statistics.median(ratios):.2f}")
        print(f"weft-injector's own time per review (histogram mean, median of rounds): "
              f"{statistics.median(server_means) * 1e6:.0f} us")
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
