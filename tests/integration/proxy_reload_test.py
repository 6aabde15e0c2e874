#!/usr/bin/env python3
"""weft-proxy picks up a changed bootstrap (SIGHUP or file change) without
dropping requests, and keeps its running config when the new file is bad."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

LISTENER = """
    - name: {name}
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: {name}
            route_config:
              name: {name}
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {{path: /version}}
                      direct_response: {{status: 200, body: "{version}"}}
                    - match: {{prefix: /}}
                      route: {{cluster: backend}}
"""

CONFIG = """
node: {{id: reload-test}}
concurrency: 2
static_resources:
  listeners:{listeners}
  clusters:
    - name: backend
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {{address: {{address: 127.0.0.1, port: {backend_port}}}}}
"""


class ProxyReloadTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        _, self.backend_port = self.start_backend("b")
        self.port = harness.free_port()
        self.config_path = None
        self.proxy = self.start_proxy(self.config("v1"))
        self.config_path = os.path.join(self.tempdir, "bootstrap.yaml")

    def config(self, version, extra_listener_port=None):
        listeners = LISTENER.format(name="main", port=self.port, version=version)
        if extra_listener_port:
            listeners += LISTENER.format(name="extra", port=extra_listener_port, version=version)
        return CONFIG.format(listeners=listeners, backend_port=self.backend_port)

    def rewrite(self, text):
        # Write then rename, as editors and ConfigMap updates do.
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.config_path)

    def version_on(self, port):
        _, _, body = self.curl(f"http://127.0.0.1:{port}/version")
        return body

    def wait_until(self, predicate, what, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail(f"{what} did not happen within {timeout}s:\n{self.proxy.output()}")

    def test_sighup_applies_a_new_config(self):
        self.assertEqual(self.version_on(self.port), "v1")
        with open(self.config_path, "w") as f:  # in place, then tell the proxy
            f.write(self.config("v2"))
        self.proxy.signal(signal.SIGHUP)
        self.wait_until(lambda: self.version_on(self.port) == "v2", "SIGHUP reload")

    def test_file_change_is_picked_up_without_a_signal(self):
        self.rewrite(self.config("v3"))
        self.wait_until(lambda: self.version_on(self.port) == "v3", "reload on file change")
        self.assertIn("config reloaded (file change)", self.proxy.output())

    def test_rewrite_with_the_same_content_is_not_a_reload(self):
        with open(self.config_path) as f:
            running = f.read()
        self.rewrite(running)  # a new file, but the content that is already running
        time.sleep(0.5)  # several debounce periods: the event is handled on its own
        self.rewrite(self.config("v8"))
        self.wait_until(lambda: self.version_on(self.port) == "v8", "reload on file change")
        self.assertEqual(self.proxy.output().count("config reloaded (file change)"), 1,
                         self.proxy.output())

    def test_open_keep_alive_connection_sees_the_new_routes(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            def ask():
                conn.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while not data.endswith(b"v1") and not data.endswith(b"v4"):
                    chunk = conn.recv(4096)
                    self.assertTrue(chunk)
                    data += chunk
                return data[-2:]
            self.assertEqual(ask(), b"v1")
            self.rewrite(self.config("v4"))
            self.wait_until(lambda: ask() == b"v4", "reload seen on an open connection")

    def test_bad_config_keeps_the_running_one(self):
        self.rewrite(self.config("v5").replace("cluster: backend", "cluster: missing"))
        self.proxy.wait_for(r"reload \(file change\) rejected, keeping the running config")
        self.assertIn('unknown cluster "missing"', self.proxy.output())
        self.assertEqual(self.version_on(self.port), "v1")
        # A later good file is applied.
        self.rewrite(self.config("v6"))
        self.wait_until(lambda: self.version_on(self.port) == "v6", "recovery after a bad file")

    def test_listeners_are_added_and_removed(self):
        extra = harness.free_port()
        self.rewrite(self.config("v7", extra_listener_port=extra))
        self.proxy.wait_for(rf"listener 'extra' listening on 127.0.0.1:{extra}")
        self.wait_until(lambda: self.version_on(extra) == "v7", "new listener serving")
        self.rewrite(self.config("v8"))
        self.wait_until(lambda: self.version_on(self.port) == "v8", "second reload")

        def refused():
            try:
                socket.create_connection(("127.0.0.1", extra), timeout=2).close()
                return False
            except ConnectionRefusedError:
                return True
        self.wait_until(refused, "removed listener closing")

    def test_reloads_under_load_fail_no_request(self):
        harness.require_tool("wrk")
        load = subprocess.Popen(
            ["wrk", "-t1", "-c8", "-d4s", f"http://127.0.0.1:{self.port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for i in range(10):
                time.sleep(0.3)
                self.rewrite(self.config(f"load{i}"))
            output = load.communicate(timeout=30)[0]
        finally:
            if load.poll() is None:
                load.kill()
        requests = int(re.search(r"(\d+) requests in", output).group(1))
        self.assertGreater(requests, 0, output)
        self.assertNotIn("Socket errors", output)
        self.assertNotIn("Non-2xx", output)
        self.assertGreaterEqual(self.proxy.output().count("config reloaded"), 5)

    def test_reloads_under_h2load_fail_no_request(self):
        harness.require_tool("h2load")
        # HTTP/2 (prior knowledge), 4 connections x 10 concurrent streams, to the
        # upstream cluster; reloads land while streams are in flight.
        load = subprocess.Popen(
            ["h2load", "-D", "4", "-c", "4", "-m", "10",
             f"http://127.0.0.1:{self.port}/h2load"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for i in range(10):
                time.sleep(0.3)
                self.rewrite(self.config(f"h2-{i}"))
            output = load.communicate(timeout=60)[0]
        finally:
            if load.poll() is None:
                load.kill()
        done = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, "
                         r"(\d+) failed, (\d+) errored", output)
        self.assertIsNotNone(done, output)
        total, finished, succeeded, failed, errored = map(int, done.groups())
        self.assertGreater(succeeded, 0, output)
        self.assertEqual((failed, errored), (0, 0), output)
        self.assertEqual(succeeded, finished, output)
        status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
        self.assertEqual(status.group(3, 4), ("0", "0"), output)
        self.assertGreaterEqual(self.proxy.output().count("config reloaded"), 5)


if __name__ == "__main__":
    harness.main()
