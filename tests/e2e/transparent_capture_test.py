#!/usr/bin/env python3
"""Transparent capture end to end, as a sidecar runs it: the iptables REDIRECT rules that
`weft-proxy init` writes in the application's network namespace send its outbound TCP to
weft-proxy's transparent listener, which reads the original destination and proxies it.

Topology (both namespaces created by the test, unique names, removed at the end):

  netns "app"                                     netns "peer"
  curl / clients --(nat OUTPUT REDIRECT)-->       10.231.0.2, fd00:77::2
  weft-proxy 127.0.0.1:15001, [::1]:15001   veth  HTTP backend on 8081
  (uid 1337, whose traffic is not captured) ----> banner (server-first) on 2626

The application dials the "service" ports 8080 (HTTP) and 2525 (server-first TCP),
where nothing listens: only the proxy, choosing a filter chain by the original
destination port, reaches the backends on 8081 and 2626 (a Service's port and
targetPort). Port 7070 is passed through to where the app was connecting (an
ORIGINAL_DST cluster; the peer's banner backend listens there). Other ports get the
proxy's local reply. Needs root, ip, iptables,
setpriv and curl; skips (77) otherwise, which CI counts as a failure.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness  # noqa: E402

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "scripts", "demo"))
import netns_mesh  # noqa: E402

PREFIX = "weft-e2e-"
PROXY_UID = 1337  # the uid whose traffic is never captured (Istio's convention)
CAPTURE_PORT = 15001
ADMIN_PORT = 15000
FAMILIES = {
    "ipv4": {"app": "10.231.0.1", "peer": "10.231.0.2", "prefix": 24,
             "loopback": "127.0.0.1", "iptables": "iptables", "url_host": "10.231.0.2"},
    "ipv6": {"app": "fd00:77::1", "peer": "fd00:77::2", "prefix": 64,
             "loopback": "::1", "iptables": "ip6tables", "url_host": "[fd00:77::2]"},
}
TCP_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "tcp_backend.py")

LISTENER = """
    - name: outbound-{family}
      address: {{address: "{loopback}", port: {capture}}}
      transparent: true
      direction: OUTBOUND
      filter_chains:
        - name: "8080"
          match: {{destination_ports: [8080]}}
          http:
            stat_prefix: outbound_8080_{family}
            route_config:
              name: "8080"
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{{match: {{prefix: /}}, route: {{cluster: http-{family}}}}}]
        - name: "2525"
          match: {{destination_ports: [2525]}}
          tcp: {{stat_prefix: outbound_2525_{family}, cluster: banner-{family}}}
        # Port 7070 is passed through to wherever the connection was going (ORIGINAL_DST).
        - name: "7070"
          match: {{destination_ports: [7070]}}
          tcp: {{stat_prefix: passthrough_{family}, cluster: passthrough}}
        # Catch-all: the proxy's local reply.
        - name: passthrough
          http:
            stat_prefix: passthrough_{family}
            route_config:
              name: passthrough
              virtual_hosts:
                - name: none
                  domains: ["no-such-service.invalid"]
                  routes: [{{match: {{prefix: /}}, direct_response: {{status: 200}}}}]
"""
PASSTHROUGH_CLUSTER = """
    - name: passthrough
      type: ORIGINAL_DST
      connect_timeout: 2s
"""
CLUSTERS = """
    - name: http-{family}
      connect_timeout: 2s
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: "{peer}", port: 8081}}}}}}]}}]
    - name: banner-{family}
      connect_timeout: 2s
      load_assignment:
        endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: "{peer}", port: 2626}}}}}}]}}]
"""

# A server-first conversation run inside the app namespace: read the banner, send a
# line, half-close, read the echo and the backend's goodbye. Prints what came back.
BANNER_CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
data = b""
while not data.endswith(b"\\r\\n"):
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
s.sendall(b"hello")
s.shutdown(socket.SHUT_WR)
while True:
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
print(repr(data))
"""

# Connects and reports whether the peer closed without a byte ("closed": end of stream,
# or a reset when the close raced our request) or answered.
CONNECT_CLIENT = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
try:
    s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    print("closed" if s.recv(100) == b"" else "answered")
except (ConnectionResetError, BrokenPipeError):
    print("closed")
"""


def run(*args, check=True, timeout=20):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def netns_exec(netns, *args, **kwargs):
    return run("ip", "netns", "exec", netns, *args, **kwargs)


# The namespace harness's own helpers: stop what runs in a namespace and delete it, and sweep
# what a killed run left ("weft-e2e-<pid>-<name>").
remove_namespace = netns_mesh.remove_namespace


def remove_stale_namespaces():
    netns_mesh.remove_stale(PREFIX.rstrip("-"))


def ip6tables_nat_works(netns):
    return netns_exec(netns, "ip6tables", "-t", "nat", "-L", "OUTPUT", "-n",
                      check=False).returncode == 0


class TransparentCaptureTest(harness.IntegrationTest):
    """One topology for the whole class; each test drives one flow through it."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("network namespaces and iptables need root")
        for tool in ("ip", "iptables", "ip6tables", "setpriv", "curl"):
            harness.require_tool(tool)
        remove_stale_namespaces()
        cls.app = f"{PREFIX}{os.getpid()}-app"
        cls.peer = f"{PREFIX}{os.getpid()}-peer"
        cls.processes_ = []
        cls.workdir = tempfile.mkdtemp(prefix="weft-e2e-")
        # Class cleanups run even when setUpClass fails half way.
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.addClassCleanup(remove_namespace, cls.peer)
        cls.addClassCleanup(remove_namespace, cls.app)
        cls.addClassCleanup(cls.stop_processes)

        for name in (cls.app, cls.peer):
            run("ip", "netns", "add", name)
            netns_exec(name, "ip", "link", "set", "lo", "up")
        cls.families = ["ipv4"] + (["ipv6"] if ip6tables_nat_works(cls.app) else [])
        netns_exec(cls.app, "ip", "link", "add", "veth-app", "type", "veth", "peer", "name",
                   "veth-peer", "netns", cls.peer)
        for netns, side in ((cls.app, "app"), (cls.peer, "peer")):
            device = f"veth-{side}"
            for family in cls.families:
                f = FAMILIES[family]
                netns_exec(netns, "ip", "addr", "add", f"{f[side]}/{f['prefix']}", "dev", device,
                           *(["nodad"] if family == "ipv6" else []))
            netns_exec(netns, "ip", "link", "set", device, "up")

        for family in cls.families:
            peer_address = FAMILIES[family]["peer"]
            cls.start_in(cls.peer, [sys.executable, os.path.join(harness.SOURCE_DIR, "tests",
                                                                  "tools", "http_backend.py"),
                                    "--host", peer_address, "--port", "8081",
                                    "--name", f"peer-{family}"], f"http-{family}")
            cls.start_in(cls.peer, [sys.executable, TCP_BACKEND, "--mode", "banner",
                                    "--host", peer_address, "--port", "2626"],
                         f"banner-{family}")
            cls.start_in(cls.peer, [sys.executable, TCP_BACKEND, "--mode", "banner",
                                    "--host", peer_address, "--port", "7070"],
                         f"passthrough-{family}")
        for process in cls.processes_:
            process.wait_for(r"listening on")

        cls.proxy = cls.start_proxy_in_app()
        cls.install_capture()

    @classmethod
    def stop_processes(cls):
        for process in reversed(cls.processes_):
            if process.proc.poll() is not None:  # it ended before we stopped it
                print(f"--- {process.name} exited early:\n{process.output()}", file=sys.stderr)
            process.stop()

    @classmethod
    def start_in(cls, netns, args, name, prefix=()):
        process = harness.Process(["ip", "netns", "exec", netns, *prefix, *args], name)
        cls.processes_.append(process)
        return process

    @classmethod
    def start_proxy_in_app(cls):
        listeners = "".join(LISTENER.format(family=f, capture=CAPTURE_PORT, **FAMILIES[f])
                            for f in cls.families)
        clusters = PASSTHROUGH_CLUSTER + "".join(CLUSTERS.format(family=f, **FAMILIES[f])
                                                 for f in cls.families)
        config = (f"node: {{id: e2e}}\nconcurrency: 1\n"
                  f"admin: {{address: {{address: 127.0.0.1, port: {ADMIN_PORT}}}}}\n"
                  f"static_resources:\n  listeners:{listeners}  clusters:{clusters}")
        # The proxy runs as PROXY_UID, so it must be able to read its config.
        os.chmod(cls.workdir, 0o755)
        path = os.path.join(cls.workdir, "bootstrap.yaml")
        with open(path, "w") as f:
            f.write(config)
        os.chmod(path, 0o644)
        proxy = cls.start_in(cls.app, [os.path.join(harness.BIN_DIR, "weft-proxy"),
                                       "--config", path], "weft-proxy",
                             prefix=("setpriv", f"--reuid={PROXY_UID}", f"--regid={PROXY_UID}",
                                     "--clear-groups"))
        proxy.wait_for(r"weft-proxy ready")
        return proxy

    @classmethod
    def install_capture(cls):
        """The sidecar's capture, written by `weft-proxy init` as the pod's init step would:
        the proxy's own connections (by uid) and loopback destinations go out as they are;
        every other outbound TCP connection is redirected to the capture port."""
        ipv6 = "on" if "ipv6" in cls.families else "off"
        result = netns_exec(cls.app, os.path.join(harness.BIN_DIR, "weft-proxy"), "init",
                            "--proxy-uid", str(PROXY_UID), "--proxy-gid", str(PROXY_UID),
                            "--outbound-port", str(CAPTURE_PORT), "--ipv6", ipv6)
        if "-A OUTPUT -p tcp -j WEFT_OUTPUT" not in result.stdout:
            raise AssertionError(f"weft-proxy init did not say what it did:\n{result.stdout}")

    def setUp(self):
        super().setUp()
        for process in self.processes_:
            if process.proc.poll() is not None:
                self.fail(f"{process.name} exited:\n{process.output()}")

    def families_or_skip(self, family):
        if family not in self.families:
            self.skipTest(f"{FAMILIES[family]['iptables']} nat does not work in a namespace here")
        return FAMILIES[family]

    # --- HTTP: the service port reaches the backend only through the proxy ---------------

    def check_http_through_capture(self, family):
        f = self.families_or_skip(family)
        status, headers, body = self.curl(f"http://{f['url_host']}:8080/orders?id=7",
                                          netns=self.app)
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen["backend"], f"peer-{family}")
        self.assertEqual(seen["path"], "/orders?id=7")
        # The proxy added a request id on the way (curl sends none).
        self.assertIn("x-request-id", seen["headers"])
        self.assertEqual(headers.get("x-backend"), f"peer-{family}")

    def test_ipv4_http_is_captured_and_routed_by_original_port(self):
        self.check_http_through_capture("ipv4")

    def test_ipv6_http_is_captured_and_routed_by_original_port(self):
        self.check_http_through_capture("ipv6")

    # --- a destination the proxy has no chain for: its local reply, not a refusal ---------

    def check_unknown_destination(self, family):
        f = self.families_or_skip(family)
        status, headers, _ = self.curl(f"http://{f['url_host']}:9999/", netns=self.app)
        self.assertEqual(status, 404)
        self.assertEqual(headers.get("x-weft-reason"), "no_route")

    def test_ipv4_unknown_port_gets_the_proxy_local_reply(self):
        self.check_unknown_destination("ipv4")

    def test_ipv6_unknown_port_gets_the_proxy_local_reply(self):
        self.check_unknown_destination("ipv6")

    # --- opaque, server-first TCP through capture ---------------------------------------

    def check_banner_through_capture(self, family):
        f = self.families_or_skip(family)
        out = netns_exec(self.app, sys.executable, "-c", BANNER_CLIENT, f["peer"], "2525",
                         timeout=30).stdout.strip()
        self.assertEqual(out, repr(b"220 ready\r\nhellobye"))

    def test_ipv4_server_first_tcp_is_captured(self):
        self.check_banner_through_capture("ipv4")

    def test_ipv6_server_first_tcp_is_captured(self):
        self.check_banner_through_capture("ipv6")

    # --- passthrough: an ORIGINAL_DST cluster connects where the app was connecting -------

    def check_passthrough(self, family):
        f = self.families_or_skip(family)
        out = netns_exec(self.app, sys.executable, "-c", BANNER_CLIENT, f["peer"], "7070",
                         timeout=30).stdout.strip()
        self.assertEqual(out, repr(b"220 ready\r\nhellobye"))
        # It went through the proxy: the chain's cluster counted the connection.
        _, _, metrics = self.curl(f"http://127.0.0.1:{ADMIN_PORT}/stats/prometheus",
                                  netns=self.app)
        opened = [line for line in metrics.splitlines()
                  if line.startswith("weft_tcp_connections_opened_total{")
                  and 'destination_service="passthrough"' in line]
        self.assertTrue(opened and float(opened[0].rsplit(" ", 1)[1]) >= 1, metrics)

    def test_ipv4_unknown_destination_is_passed_through(self):
        self.check_passthrough("ipv4")

    def test_ipv6_unknown_destination_is_passed_through(self):
        self.check_passthrough("ipv6")

    # --- the loop guard: a connection that was not redirected is closed ------------------

    def test_direct_connection_to_the_capture_port_is_closed(self):
        for family in self.families:
            out = netns_exec(self.app, sys.executable, "-c", CONNECT_CLIENT,
                             FAMILIES[family]["loopback"], str(CAPTURE_PORT)).stdout.strip()
            self.assertEqual(out, "closed", family)
        self.proxy.wait_for(r"was not redirected; closed")

    def test_proxy_traffic_is_not_captured(self):
        # The backend connection left as uid 1337 and was not redirected back into the
        # proxy: the admin endpoint shows the cluster's endpoint and the proxy is alive.
        self.check_http_through_capture("ipv4")
        status, _, body = self.curl(f"http://127.0.0.1:{ADMIN_PORT}/clusters", netns=self.app)
        self.assertEqual(status, 200)
        self.assertIn("http-ipv4::10.231.0.2:8081", body)


def main():
    if os.geteuid() != 0:
        print("skipped: network namespaces and iptables need root", file=sys.stderr)
        sys.exit(77)
    # ctest stops a test that runs too long with SIGTERM: turn it into an exit so the
    # class cleanups remove the namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    harness.main()


if __name__ == "__main__":
    main()
