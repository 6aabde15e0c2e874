#!/usr/bin/python3
"""What the injected sidecar needs from weft-proxy, run as the injector runs it: the bootstrap
from an environment variable (--config-env), its errors and where /server_info and /config_dump
say it came from; the application's probes on the status port (/app-health/<key>) against small
apps on 127.0.0.1, checked with curl; `weft-proxy wait`, the classic sidecar's postStart hold.
Run with /usr/bin/python3 (python3-grpcio and python3-cryptography)."""
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import harness  # noqa: E402
import mesh_certs  # noqa: E402

GRPC_ECHO = os.path.join(harness.SOURCE_DIR, "tests", "tools", "grpc_echo.py")

PROXY = os.path.join(harness.BIN_DIR, "weft-proxy")

# The bootstrap as the kubelet hands it over once it has expanded $(POD_NAME), $(POD_IPS), ...:
# a flow sequence of addresses without quotes or spaces.
EXPANDED = """
node:
  id: "web-7d9f8-abcde.shop"
  workload_name: "web-7d9f8-abcde"
  namespace: "shop"
  service_account: "web"
  ip_addresses: [10.244.0.5,fd00:10:244::5]
admin: {{address: {{address: 127.0.0.1, port: {admin}}}}}
concurrency: 1
drain_timeout: 5s
"""


class SidecarTest(harness.IntegrationTest):
    def run_proxy(self, args, env_value=None, timeout=30):
        """Runs weft-proxy to its end with WEFT_BOOTSTRAP set to env_value (None: unset)."""
        env = {k: v for k, v in os.environ.items() if k != "WEFT_BOOTSTRAP"}
        if env_value is not None:
            env["WEFT_BOOTSTRAP"] = env_value
        return subprocess.run([PROXY, *args], env=env, capture_output=True, text=True,
                              timeout=timeout)

    def start_env_proxy(self, text, *extra):
        """Starts weft-proxy --config-env WEFT_BOOTSTRAP with `text` in the variable."""
        env = dict(os.environ, WEFT_BOOTSTRAP=text)
        process = harness.Process([PROXY, "--config-env", "WEFT_BOOTSTRAP", *extra], "weft-proxy",
                                  env=env)
        self.processes.append(process)
        process.wait_for(r"weft-proxy ready")
        return process

    def admin_json(self, admin_port, path):
        status, _, body = self.curl(f"http://127.0.0.1:{admin_port}{path}")
        self.assertEqual(status, 200, body)
        return json.loads(body)


class ConfigEnvTest(SidecarTest):
    def test_the_bootstrap_comes_from_the_variable(self):
        admin = harness.free_port()
        proxy = self.start_env_proxy(EXPANDED.format(admin=admin), "--log-format", "json")
        dump = self.admin_json(admin, "/config_dump")
        self.assertEqual(dump["config_source"], "$WEFT_BOOTSTRAP")
        self.assertEqual(dump["bootstrap"]["node"]["id"], "web-7d9f8-abcde.shop")
        # The expanded flow sequence is two addresses, each whole.
        self.assertEqual(dump["bootstrap"]["node"]["ip_addresses"],
                         ["10.244.0.5", "fd00:10:244::5"])
        self.assertEqual(self.admin_json(admin, "/server_info")["config_source"],
                         "$WEFT_BOOTSTRAP")
        # No file, so no watcher: nothing says it could not watch one.
        self.assertNotIn("not watching", proxy.output())
        self.assertIn("bootstrap from the environment variable WEFT_BOOTSTRAP", proxy.output())
        # The JSON log lines the sidecar writes parse as JSON.
        lines = [line for line in proxy.output().splitlines() if line.startswith("{")]
        self.assertTrue(lines)
        for line in lines:
            json.loads(line)

    def test_validate_names_the_variable(self):
        result = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--validate"],
                                EXPANDED.format(admin=harness.free_port()))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("$WEFT_BOOTSTRAP: OK", result.stdout)

    def test_the_documented_injected_bootstrap_validates(self):
        with open(os.path.join(harness.SOURCE_DIR, "docs", "examples", "proxy",
                               "injected-sidecar.yaml")) as f:
            text = f.read()
        result = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--validate"], text)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("$WEFT_BOOTSTRAP: OK", result.stdout)

    def test_errors_name_the_variable_and_the_line(self):
        text = EXPANDED.format(admin=harness.free_port()) + "stats: {disable_request_metric: true}\n"
        result = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP"], text)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"\$WEFT_BOOTSTRAP:11:9: stats: unknown field "
                                        r"'disable_request_metric'")

    def test_an_unset_or_empty_variable_is_an_error(self):
        unset = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP"])
        self.assertEqual(unset.returncode, 1)
        self.assertIn("the environment variable WEFT_BOOTSTRAP (--config-env) is not set",
                      unset.stderr)
        for value in ("", "  \n"):
            empty = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP"], value)
            self.assertEqual(empty.returncode, 1)
            self.assertIn("the environment variable WEFT_BOOTSTRAP (--config-env) is empty",
                          empty.stderr)

    def test_exactly_one_source_is_given(self):
        both = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--config", "/dev/null"],
                              EXPANDED.format(admin=harness.free_port()))
        self.assertEqual(both.returncode, 2)
        self.assertIn("give --config or --config-env, not both", both.stderr)
        neither = self.run_proxy([])
        self.assertEqual(neither.returncode, 2)
        self.assertIn("--config (a bootstrap YAML file) or --config-env", neither.stderr)


class ProbedApp(http.server.BaseHTTPRequestHandler):
    """/ok answers 200, /redirect 302 (to a path that would fail), /fail 500; every request's
    User-Agent is kept in the server's `agents`."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.agents.append(self.headers.get("User-Agent"))
        status = {"/ok": 200, "/redirect": 302, "/fail": 500}.get(self.path, 404)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/fail")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class RawApp:
    """A TCP server on 127.0.0.1 that reads a request head and then answers `answer` (None:
    never answers, holding the connection until it is closed)."""

    def __init__(self, answer):
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            if self.answer is not None:
                connection.recv(65536)
                connection.sendall(self.answer)
                connection.close()

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


APP_PROBES = """
status_server:
  address: {{address: 127.0.0.1, port: {status}}}
  app_probes:
    "app/livez": {{http_get: {{port: {http}, path: /ok}}, timeout: 5s}}
    "app/redirect": {{http_get: {{port: {http}, path: /redirect}}}}
    "app/readyz": {{http_get: {{port: {http}, path: /fail}}}}
    "app/tls": {{http_get: {{port: {https}, path: /ok, scheme: HTTPS}}, timeout: 5s}}
    "app/slow": {{http_get: {{port: {silent}, path: /ok}}, timeout: 200ms}}
    "app/garbage": {{http_get: {{port: {garbage}, path: /ok}}}}
    "tcp/open": {{tcp_socket: {{port: {http}}}}}
    "tcp/closed": {{tcp_socket: {{port: {closed}}}}}
    "worker/startupz": {{grpc: {{port: {grpc}, service: ""}}, timeout: 5s}}
    "worker/down": {{grpc: {{port: {grpc}, service: down}}, timeout: 5s}}
    "worker/unknown": {{grpc: {{port: {grpc}, service: nobody}}, timeout: 5s}}
"""


class AppProbesTest(SidecarTest):
    def setUp(self):
        super().setUp()
        self.http = self.serve_http(ProbedApp)
        self.https = self.serve_http(ProbedApp, tls=True)
        self.silent = RawApp(None)
        self.garbage = RawApp(b"garbage\r\n\r\n")
        self.addCleanup(self.silent.close)
        self.addCleanup(self.garbage.close)
        grpc = self.start([sys.executable, GRPC_ECHO, "serve"], "grpc-echo")
        self.grpc_port = int(grpc.wait_for(r"listening on (\d+)").group(1))
        control = subprocess.run([sys.executable, GRPC_ECHO, "control",
                                  f"127.0.0.1:{self.grpc_port}", "SetHealth", "down=2"],
                                 capture_output=True, text=True, timeout=30)
        self.assertEqual(control.returncode, 0, control.stderr)
        self.status = harness.free_port()
        self.admin = harness.free_port()
        text = EXPANDED.format(admin=self.admin) + APP_PROBES.format(
            status=self.status, http=self.http.server_port, https=self.https.server_port,
            silent=self.silent.port, garbage=self.garbage.port, closed=harness.free_port(),
            grpc=self.grpc_port)
        self.proxy = self.start_env_proxy(text)

    def serve_http(self, handler, tls=False):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.agents = []
        if tls:
            # Self-signed for a name the probe does not dial: the kubelet would not verify it,
            # and neither does the proxy.
            authority = mesh_certs.Authority("app's own root")
            chain, key = mesh_certs.write_pair(
                self.tempdir, "app", authority.issue([], dns_names=["app.example"]))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(chain, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server

    def probe(self, key):
        return self.curl(f"http://127.0.0.1:{self.status}/app-health/{key}")

    def test_a_passing_http_probe_answers_200(self):
        status, _, body = self.probe("app/livez")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, "app/livez: OK\n")
        # The application saw a kubelet-like probe.
        self.assertEqual(self.http.agents, ["kube-probe/weft"])

    def test_a_redirect_passes_and_is_not_followed(self):
        status, _, body = self.probe("app/redirect")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.http.agents), 1)  # /fail was not asked for

    def test_an_error_status_answers_503_naming_it(self):
        status, _, body = self.probe("app/readyz")
        self.assertEqual(status, 503)
        self.assertEqual(body, "app/readyz: GET /fail answered 500\n")

    def test_https_does_not_verify_the_certificate(self):
        status, _, body = self.probe("app/tls")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.https.agents, ["kube-probe/weft"])

    def test_an_application_that_does_not_answer_fails_at_the_timeout(self):
        status, _, body = self.probe("app/slow")
        self.assertEqual(status, 503)
        self.assertEqual(body, "app/slow: GET /ok timed out after 200 ms\n")

    def test_an_answer_that_is_not_http_fails(self):
        status, _, body = self.probe("app/garbage")
        self.assertEqual(status, 503)
        self.assertIn("app/garbage: GET /ok got no response", body)

    def test_tcp_probes(self):
        self.assertEqual(self.probe("tcp/open")[0], 200)
        status, _, body = self.probe("tcp/closed")
        self.assertEqual(status, 503)
        self.assertIn("failed: Connection refused", body)

    def test_grpc_probes(self):
        status, _, body = self.probe("worker/startupz")
        self.assertEqual(status, 200, body)
        status, _, body = self.probe("worker/down")
        self.assertEqual(status, 503)
        self.assertEqual(body, "worker/down: grpc.health.v1.Health/Check answered NOT_SERVING\n")
        status, _, body = self.probe("worker/unknown")
        self.assertEqual(status, 503)
        self.assertIn("answered grpc-status 5", body)

    def test_an_unknown_key_is_404_and_the_admin_port_has_no_probes(self):
        status, _, body = self.probe("app/nothing")
        self.assertEqual(status, 404)
        self.assertIn("no application probe named 'app/nothing'", body)
        self.assertEqual(self.curl(f"http://127.0.0.1:{self.admin}/app-health/app/livez")[0], 404)
        self.assertEqual(self.http.agents, [])

    def test_probes_run_side_by_side_and_the_proxy_stays_up(self):
        # Slow and fast probes at once: each answers on its own; the proxy keeps serving.
        results = {}

        def ask(key):
            results[key] = self.probe(key)[0]
        threads = [threading.Thread(target=ask, args=(key,))
                   for key in ("app/slow", "app/livez", "tcp/open", "worker/startupz") * 3]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(results, {"app/slow": 503, "app/livez": 200, "tcp/open": 200,
                                   "worker/startupz": 200})
        self.assertEqual(self.curl(f"http://127.0.0.1:{self.status}/healthz/ready")[0], 200)
        self.assertIsNone(self.proxy.proc.poll())


class AppProbeConfigTest(SidecarTest):
    def test_a_bad_probe_stops_the_proxy_naming_the_field(self):
        text = EXPANDED.format(admin=harness.free_port()) + """
status_server:
  app_probes:
    "app/livez": {http_get: {port: 8080, path: healthz}}
    "app live": {tcp_socket: {port: 70000}}
"""
        result = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--validate"], text)
        self.assertEqual(result.returncode, 1)
        self.assertIn('status_server.app_probes["app/livez"].http_get.path: "healthz" does not '
                      'match the pattern', result.stderr)
        self.assertIn('status_server.app_probes["app live"]: the key "app live" does not match',
                      result.stderr)
        self.assertIn('status_server.app_probes["app live"].tcp_socket.port: must be at most '
                      '65535', result.stderr)
        header = self.run_proxy(["--config-env", "WEFT_BOOTSTRAP", "--validate"],
                                EXPANDED.format(admin=harness.free_port()) + """
status_server:
  app_probes:
    "app/livez": {http_get: {port: 8080, headers: [{name: Host, value: app}]}}
""")
        self.assertEqual(header.returncode, 1)
        self.assertIn('$WEFT_BOOTSTRAP: status_server.app_probes["app/livez"].http_get.headers[0]: '
                      'set the Host header with http_get.host', header.stderr)



WAITING = """
status_server:
  address: {{address: 127.0.0.1, port: {status}}}
dynamic_resources:
  ads:
    server:
      address: {{address: 127.0.0.1, port: {control_plane}}}
  ca: {{}}
"""


class WaitCommandTest(SidecarTest):
    def start_wait(self, *args):
        process = harness.Process([PROXY, "wait", *args], "weft-proxy-wait")
        self.processes.append(process)
        return process

    def test_wait_returns_once_the_proxy_is_ready(self):
        status = harness.free_port()
        waiting = self.start_wait("--url", f"http://127.0.0.1:{status}/healthz/ready",
                                  "--timeout", "60s", "--interval", "100ms")
        # No proxy yet: it has polled and been refused, and keeps polling.
        waiting.wait_for(r"connecting failed: Connection refused")
        self.assertIsNone(waiting.proc.poll())
        self.start_env_proxy(EXPANDED.format(admin=harness.free_port()) + f"""
status_server:
  address: {{address: 127.0.0.1, port: {status}}}
""")
        self.assertEqual(waiting.wait(timeout=60), 0, waiting.output())
        self.assertRegex(waiting.output(), rf"http://127\.0\.0\.1:{status}/healthz/ready "
                                           r"answered 200 after \d+ ms")

    def test_wait_gives_up_at_the_timeout_saying_what_it_last_saw(self):
        # A proxy whose CA never answers has no certificate and stays INITIALIZING: 503, never
        # 200.
        status = harness.free_port()
        self.start_env_proxy(EXPANDED.format(admin=harness.free_port()) + WAITING.format(
            status=status, control_plane=harness.free_port()))
        waiting = self.start_wait("--url", f"http://127.0.0.1:{status}/healthz/ready",
                                  "--timeout", "1s", "--interval", "100ms")
        self.assertEqual(waiting.wait(timeout=60), 1, waiting.output())
        self.assertIn(f"http://127.0.0.1:{status}/healthz/ready did not answer 200 within 1s "
                      "(last: 503 INITIALIZING: ", waiting.output())

    def test_a_port_that_never_answers_is_a_timeout_too(self):
        waiting = self.start_wait("--url", f"http://127.0.0.1:{harness.free_port()}/",
                                  "--timeout", "300ms", "--interval", "100ms")
        self.assertEqual(waiting.wait(timeout=60), 1, waiting.output())
        self.assertIn("did not answer 200 within 300ms (last: connecting failed: Connection "
                      "refused)", waiting.output())

    def test_usage_errors(self):
        for args, message in (
                (["--url", "https://127.0.0.1:15020/healthz/ready"], "must start with http://"),
                (["--timeout", "soon"], "--timeout: invalid duration"),
                (["--interval", "0s"], "--interval must be at least 1ms"),
                (["--retries", "3"], "retries")):
            result = subprocess.run([PROXY, "wait", *args], capture_output=True, text=True,
                                    timeout=30)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn(message, result.stderr, args)


if __name__ == "__main__":
    harness.main()
