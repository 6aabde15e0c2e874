"""Shared by the tests that give proxies their identity from weft-controlplane's CA: the token
file, the bootstrap fragments of an mTLS pair (a server-side proxy with a STRICT inbound listener
in front of an app, a client-side proxy whose outbound cluster speaks MUTUAL_MESH to it), and a
base class that starts the control plane in local mode and the proxies, and reads their admin
endpoints."""
import json
import os
import re
import time
import urllib.error
import urllib.request

import harness

TOKENS = """# token,user,uid[,groups]
reviews-token,system:serviceaccount:default:reviews,uid-1
client-token,system:serviceaccount:default:client,uid-2
server-token,system:serviceaccount:default:server,uid-3
"""

REVIEWS_ID = "spiffe://cluster.local/ns/default/sa/reviews"
CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client"
SERVER_ID = "spiffe://cluster.local/ns/default/sa/server"

CA_SETTINGS = """
dynamic_resources:
  ca:
    server: {{address: {{address: 127.0.0.1, port: {cp}}}, token_file: {token_file}, timeout: 5s}}
    validity: {validity}
    renew_at_percent: {renew_at_percent}
"""

SERVER = """
node: {{id: server-1.default, namespace: default, service_account: server}}
concurrency: 1
{ca}
static_resources:
  listeners:
    - name: inbound
      address: {{address: 127.0.0.1, port: {inbound}}}
      filter_chains:
        - name: http
          tls: {{mode: STRICT}}
          http:
            stat_prefix: inbound
            route_config:
              name: app
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: app}}}}]}}]
  clusters:
    - name: app
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {app}}}}}}}]}}]}}
"""

CLIENT = """
node: {{id: client-1.default, namespace: default, service_account: client}}
concurrency: 1
{ca}
static_resources:
  listeners:
    - name: outbound
      address: {{address: 127.0.0.1, port: {outbound}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: outbound
            route_config:
              name: mesh
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: server}}}}]}}]
  clusters:
    - name: server
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {inbound}}}}}, identity: "{server_id}"}}]}}]}}
"""


class MeshIdentityTest(harness.IntegrationTest):
    """A control plane with a CA (its directory in self.ca_dir, empty until the control plane
    generates a root) and proxies that get their certificates from it."""

    def setUp(self):
        super().setUp()
        self.mesh = os.path.join(self.tempdir, "mesh")
        os.mkdir(self.mesh)
        self.ca_dir = os.path.join(self.tempdir, "ca")
        self.tokens = self.write("tokens.csv", TOKENS)
        self.cp_port = harness.free_port()

    def start_control_plane(self, *extra):
        """Also sets self.cp_metrics_port (the control plane binds port 0 for its metrics)."""
        process = self.start([os.path.join(harness.BIN_DIR, "weft-controlplane"),
                              "--config-dir", self.mesh,
                              "--xds-address", f"127.0.0.1:{self.cp_port}",
                              "--metrics-address", "127.0.0.1:0",
                              "--ca-dir", self.ca_dir,
                              "--bootstrap-token-file", self.tokens, *extra],
                             "weft-controlplane")
        process.wait_for(r"weft-controlplane \S+ ready")
        self.cp_metrics_port = int(
            process.wait_for(r"metrics listening on 127\.0\.0\.1:(\d+)").group(1))
        return process

    def ca_settings(self, token, validity="1h", renew_at_percent=50):
        token_file = self.write(f"token-{token}", token + "\n")
        return CA_SETTINGS.format(cp=self.cp_port, token_file=token_file, validity=validity,
                                  renew_at_percent=renew_at_percent)

    def start_named_proxy(self, name, config_text):
        """Returns (process, admin port)."""
        admin_port = harness.free_port()
        config_text += f"\nadmin: {{address: {{address: 127.0.0.1, port: {admin_port}}}}}\n"
        path = self.write(f"{name}.yaml", config_text)
        process = self.start([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config", path],
                             f"weft-proxy-{name}")
        process.wait_for(r"weft-proxy ready")
        return process, admin_port

    def admin(self, port, path):
        """(status, body) of a GET on the admin endpoint."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def certs(self, port):
        status, body = self.admin(port, "/certs")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def secrets(self, port):
        """The proxy's secrets by name, from /config_dump: `identity` (chain inline, key
        redacted) and `trust-bundle` (the roots the CA returned)."""
        status, dump = self.admin(port, "/config_dump")
        self.assertEqual(status, 200, dump)
        return {secret["name"]: secret
                for secret in json.loads(dump)["bootstrap"]["static_resources"]["secrets"]}

    def cp_metric(self, name):
        """A label-less metric of the control plane."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.cp_metrics_port}/metrics",
                                    timeout=5) as answer:
            text = answer.read().decode()
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        self.assertIsNotNone(match, f"{name} not in\n{text}")
        return float(match.group(1))

    def wait_until(self, check, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        self.fail(f"not within {timeout}s: {what}")

    def wait_ready(self, port, timeout=20):
        self.wait_until(lambda: self.admin(port, "/ready")[0] == 200, "/ready answers 200",
                        timeout)

    def start_mtls_pair(self, **ca):
        """An app, a server-side proxy (STRICT inbound) and a client-side proxy (plaintext in,
        MUTUAL_MESH out), each with a certificate from the CA. Returns (server, client) as
        (process, admin port) pairs and the client's outbound port."""
        _, app = self.start_backend("app")
        inbound, outbound = harness.free_port(), harness.free_port()
        server = self.start_named_proxy(
            "server", SERVER.format(ca=self.ca_settings("server-token", **ca), inbound=inbound,
                                    app=app))
        client = self.start_named_proxy(
            "client", CLIENT.format(ca=self.ca_settings("client-token", **ca),
                                    outbound=outbound, inbound=inbound, server_id=SERVER_ID))
        self.wait_ready(server[1])
        self.wait_ready(client[1])
        self.assertEqual(self.certs(server[1])["certificate"]["spiffe_id"], SERVER_ID)
        self.assertEqual(self.certs(client[1])["certificate"]["spiffe_id"], CLIENT_ID)
        return server, client, outbound

    def request(self, connection):
        """One GET on a kept-alive connection to the client side; the app's view of it."""
        connection.request("GET", "/hello")
        answer = connection.getresponse()
        body = answer.read().decode()
        self.assertEqual(answer.status, 200, body)
        return json.loads(body)["headers"]
