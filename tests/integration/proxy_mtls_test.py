#!/usr/bin/env python3
"""Mesh mTLS between two weft-proxy processes on loopback: a client-side proxy
(plaintext in, mTLS out) and a server-side proxy (mTLS in, plaintext to the
app), configured statically with test certificates. Covers the peer identity
the app sees, TLS 1.3 only, the certificates that must be refused, STRICT and
PERMISSIVE, HTTP/1.1, HTTP/2 and TCP inside the tunnel, and a half-close. Each refusal also
shows on the refusing proxy's /stats/prometheus as one more on the matching counter."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import harness  # noqa: E402
import mesh_certs  # noqa: E402
import proxy_metrics  # noqa: E402

TCP_BACKEND = os.path.join(harness.SOURCE_DIR, "tests", "tools", "tcp_backend.py")
CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client"
SERVER_ID = "spiffe://cluster.local/ns/default/sa/server"

SECRETS = """
  secrets:
    - name: identity
      tls_certificate: {{certificate_chain_file: {cert}, private_key_file: {key}}}
    - name: trust-bundle
      validation_context: {{trusted_ca_file: {roots}, trust_domain: cluster.local}}
"""

SERVER = """
node: {{id: server-side}}
concurrency: 1
static_resources:
{secrets}
  listeners:
    - name: strict
      address: {{address: 127.0.0.1, port: {strict}}}
      filter_chains:
        - name: http
          tls: {{mode: STRICT, min_version: TLS_V1_3}}
          http:
            stat_prefix: strict
            route_config:
              name: app
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: app}}}}]}}]
    - name: permissive
      address: {{address: 127.0.0.1, port: {permissive}}}
      filter_chains:
        - name: http
          tls: {{mode: PERMISSIVE, min_version: TLS_V1_3}}
          http:
            stat_prefix: permissive
            route_config:
              name: app2
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: app}}}}]}}]
    - name: tcp
      address: {{address: 127.0.0.1, port: {tcp}}}
      filter_chains:
        - name: tcp
          tls: {{mode: STRICT, min_version: TLS_V1_3}}
          tcp: {{stat_prefix: tcp, cluster: echo}}
    - name: guarded
      address: {{address: 127.0.0.1, port: {guarded}}}
      filter_chains:
        - name: http
          tls: {{mode: PERMISSIVE, min_version: TLS_V1_3}}
          authorization: {{policies: [default/deny-admin, default/allow-client, default/audit-all]}}
          http:
            stat_prefix: guarded
            path_normalization: {{merge_slashes: true, escaped_slashes: REJECT}}
            route_config:
              name: guarded
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: app}}}}]}}]
    - name: guarded-tcp
      address: {{address: 127.0.0.1, port: {guarded_tcp}}}
      filter_chains:
        - name: tcp
          tls: {{mode: STRICT, min_version: TLS_V1_3}}
          authorization: {{policies: [default/only-other]}}
          tcp: {{stat_prefix: guarded_tcp, cluster: echo}}
  authorization_policies:
    - name: default/deny-admin
      action: DENY
      rules: [{{to: [{{paths: ["/admin", "/admin/*"]}}]}}]
    - name: default/allow-client
      action: ALLOW
      rules: [{{from: [{{principals: ["{client_id}"]}}]}}]
    - name: default/audit-all
      action: AUDIT
      rules: [{{to: [{{methods: [DELETE]}}]}}]
    - name: default/only-other
      action: ALLOW
      rules: [{{from: [{{principals: ["spiffe://cluster.local/ns/default/sa/other"]}}]}}]
  clusters:
    - name: app
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {app}}}}}}}]}}]}}
    - name: echo
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {echo}}}}}}}]}}]}}
"""

CLIENT = """
node: {{id: client-side}}
concurrency: 1
static_resources:
{secrets}
  listeners:
{listeners}
  clusters:
    - name: mesh-http1
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {strict}}}}}, identity: "{server_id}"}}]}}]}}
    - name: mesh-http2
      protocol: HTTP2
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {strict}}}}}, identity: "{server_id}"}}]}}]}}
    - name: mesh-fresh
      tls: {{mode: MUTUAL_MESH}}
      connection_pool: {{max_requests_per_connection: 1}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {strict}}}}}, identity: "{server_id}"}}]}}]}}
    - name: mesh-wrong-identity
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {strict}}}}}, identity: "spiffe://cluster.local/ns/default/sa/other"}}]}}]}}
    - name: mesh-not-ready
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {permissive}}}}}, mtls_ready: false}}]}}]}}
    - name: mesh-guarded
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {guarded}}}}}, identity: "{server_id}"}}]}}]}}
    - name: mesh-guarded-h2
      protocol: HTTP2
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {guarded}}}}}, identity: "{server_id}"}}]}}]}}
    - name: mesh-guarded-tcp
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {guarded_tcp}}}}}, identity: "{server_id}"}}]}}]}}
    - name: mesh-tcp
      tls: {{mode: MUTUAL_MESH}}
      load_assignment: {{endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{address: 127.0.0.1, port: {tcp}}}}}, identity: "{server_id}"}}]}}]}}
"""

HTTP_OUTBOUND = """    - name: {name}
      address: {{address: 127.0.0.1, port: {port}}}
      filter_chains:
        - name: http
          http:
            stat_prefix: {name}
            route_config:
              name: {name}
              virtual_hosts: [{{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: {cluster}}}}}]}}]
"""

TCP_OUTBOUND = """    - name: {name}
      address: {{address: 127.0.0.1, port: {port}}}
      protocol_detection: {{disabled: true}}
      filter_chains:
        - name: tcp
          tcp: {{stat_prefix: {name}, cluster: {cluster}}}
"""


class MeshMtlsTest(harness.IntegrationTest):
    def setUp(self):
        super().setUp()
        self.ca = mesh_certs.Authority()
        self.roots = self.write("roots.pem", self.ca.cert_pem())
        self.server_cert = mesh_certs.write_pair(self.tempdir, "server", self.ca.issue([SERVER_ID]))
        self.client_cert = mesh_certs.write_pair(self.tempdir, "client", self.ca.issue([CLIENT_ID]))
        _, app = self.start_backend("app")
        echo = self.start([sys.executable, TCP_BACKEND, "--mode", "echo"], "echo")
        echo_port = int(echo.wait_for(r"listening on (\d+)").group(1))
        self.ports = {name: harness.free_port() for name in
                      ("strict", "permissive", "tcp", "out_http1", "out_http2", "out_fresh",
                       "out_wrong", "out_not_ready", "out_tcp", "guarded", "guarded_tcp",
                       "out_guarded", "out_guarded_h2", "out_guarded_tcp")}
        server_secrets = SECRETS.format(cert=self.server_cert[0], key=self.server_cert[1],
                                        roots=self.roots)
        self.server = self.start_proxy_named(
            "server", SERVER.format(secrets=server_secrets, app=app, echo=echo_port,
                                    client_id=CLIENT_ID, **self.ports))
        listeners = "".join([
            HTTP_OUTBOUND.format(name="out-http1", port=self.ports["out_http1"],
                                 cluster="mesh-http1"),
            HTTP_OUTBOUND.format(name="out-http2", port=self.ports["out_http2"],
                                 cluster="mesh-http2"),
            HTTP_OUTBOUND.format(name="out-fresh", port=self.ports["out_fresh"],
                                 cluster="mesh-fresh"),
            HTTP_OUTBOUND.format(name="out-wrong", port=self.ports["out_wrong"],
                                 cluster="mesh-wrong-identity"),
            HTTP_OUTBOUND.format(name="out-not-ready", port=self.ports["out_not_ready"],
                                 cluster="mesh-not-ready"),
            TCP_OUTBOUND.format(name="out-tcp", port=self.ports["out_tcp"], cluster="mesh-tcp"),
            HTTP_OUTBOUND.format(name="out-guarded", port=self.ports["out_guarded"],
                                 cluster="mesh-guarded"),
            HTTP_OUTBOUND.format(name="out-guarded-h2", port=self.ports["out_guarded_h2"],
                                 cluster="mesh-guarded-h2"),
            TCP_OUTBOUND.format(name="out-guarded-tcp", port=self.ports["out_guarded_tcp"],
                                cluster="mesh-guarded-tcp"),
        ])
        client_secrets = SECRETS.format(cert=self.client_cert[0], key=self.client_cert[1],
                                        roots=self.roots)
        self.client = self.start_proxy_named(
            "client", CLIENT.format(secrets=client_secrets, listeners=listeners,
                                    server_id=SERVER_ID, **self.ports))

    def start_proxy_named(self, name, config_text):
        admin_port = harness.free_port()
        config_text += f"\nadmin: {{address: {{address: 127.0.0.1, port: {admin_port}}}}}\n"
        path = self.write(f"{name}.yaml", config_text)
        process = self.start([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config", path],
                             f"weft-proxy-{name}")
        process.wait_for(r"weft-proxy ready")
        process.admin_port = admin_port
        return process

    def counters_changed(self, proxy, before):
        """{counter: increase} of the security counters on `proxy` since scrape `before`."""
        return proxy_metrics.counter_deltas(before, proxy_metrics.scrape(proxy.admin_port))

    def seen_by_app(self, port, *curl_args):
        status, headers, body = self.curl(f"http://127.0.0.1:{port}/hello", *curl_args)
        self.assertEqual(status, 200, body)
        return json.loads(body)["headers"]

    def tls_request(self, port, pair=None, roots=None, minimum=ssl.TLSVersion.TLSv1_3,
                    alpn=None):
        """One HTTP/1.1 request over TLS straight to a server-side listener.
        Returns the response bytes; raises on a refused handshake."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.load_verify_locations(roots or self.roots)
        context.minimum_version = minimum
        if pair:
            context.load_cert_chain(pair[0], pair[1])
        if alpn:
            context.set_alpn_protocols(alpn)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"GET /direct HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
                chunks = []
                while True:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                return b"".join(chunks)

    def assert_refused(self, port, pair, why):
        try:
            answer = self.tls_request(port, pair)
        except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
            return
        self.assertFalse(answer.startswith(b"HTTP/1.1 200"), f"{why}: served anyway")

    # --- a request through the pair -------------------------------------------------

    def test_http1_request_reaches_the_app_with_the_callers_identity(self):
        headers = self.seen_by_app(self.ports["out_http1"], "-H",
                                   "x-forwarded-client-cert: URI=spiffe://forged")
        self.assertEqual(headers.get("x-forwarded-client-cert"), f"URI={CLIENT_ID}")

    def test_http2_upstream_inside_mtls(self):
        headers = self.seen_by_app(self.ports["out_http2"])
        self.assertEqual(headers.get("x-forwarded-client-cert"), f"URI={CLIENT_ID}")

    def test_http2_client_and_fresh_connections_per_request(self):
        for _ in range(3):
            headers = self.seen_by_app(self.ports["out_fresh"], "--http2-prior-knowledge")
            self.assertEqual(headers.get("x-forwarded-client-cert"), f"URI={CLIENT_ID}")

    def test_wrong_server_identity_is_refused_by_the_client_side(self):
        before = proxy_metrics.scrape(self.client.admin_port)
        status, headers, body = self.curl(f"http://127.0.0.1:{self.ports['out_wrong']}/")
        self.assertEqual(status, 503, body)
        self.assertIn(SERVER_ID, body)
        self.assertIn("expected", body)
        changed = self.counters_changed(self.client, before)
        self.assertEqual(list(changed), ["weft_proxy_upstream_tls_failures_total"], changed)
        self.assertGreaterEqual(changed["weft_proxy_upstream_tls_failures_total"], 1)

    def test_endpoint_without_sidecar_is_reached_in_plaintext(self):
        headers = self.seen_by_app(self.ports["out_not_ready"])
        self.assertNotIn("x-forwarded-client-cert", headers)

    def test_tcp_inside_mtls_passes_bytes_and_half_close(self):
        with socket.create_connection(("127.0.0.1", self.ports["out_tcp"]), timeout=5) as s:
            s.sendall(b"ping over mtls")
            s.shutdown(socket.SHUT_WR)
            received = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        self.assertEqual(received, b"ping over mtlsbye")

    # --- what the server side refuses -----------------------------------------------

    def test_direct_mtls_client_is_served(self):
        answer = self.tls_request(self.ports["strict"], self.client_cert)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertIn(CLIENT_ID.encode(), answer)

    def test_tls12_is_refused(self):
        harness.require_tool("openssl")
        before = proxy_metrics.scrape(self.server.admin_port)
        result = subprocess.run(
            ["openssl", "s_client", "-tls1_2", "-connect", f"127.0.0.1:{self.ports['strict']}",
             "-cert", self.client_cert[0], "-key", self.client_cert[1],
             "-CAfile", self.roots], input=b"", capture_output=True, timeout=20)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"alert protocol version", result.stdout + result.stderr)
        # The alert goes out before the proxy counts: its log line comes after the count.
        self.server.wait_for(r"TLS handshake from 127\.0\.0\.1 failed")
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_tls_handshake_failures_total": 1})
        tls13 = subprocess.run(
            ["openssl", "s_client", "-tls1_3", "-connect", f"127.0.0.1:{self.ports['strict']}",
             "-cert", self.client_cert[0], "-key", self.client_cert[1],
             "-CAfile", self.roots, "-alpn", "http/1.1"],
            input=b"", capture_output=True, timeout=20)
        self.assertIn(b"TLSv1.3", tls13.stdout)
        self.assertIn(b"ALPN protocol: http/1.1", tls13.stdout)

    def test_client_without_certificate_is_refused(self):
        before = proxy_metrics.scrape(self.server.admin_port)
        self.assert_refused(self.ports["strict"], None, "no client certificate")
        self.server.wait_for(r"TLS handshake from 127\.0\.0\.1 failed")
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_tls_handshake_failures_total": 1})

    def test_certificate_from_another_ca_is_refused(self):
        other = mesh_certs.Authority("another-root")
        pair = mesh_certs.write_pair(self.tempdir, "other-ca", other.issue([CLIENT_ID]))
        self.assert_refused(self.ports["strict"], pair, "another CA")

    def test_two_uri_sans_are_refused(self):
        pair = mesh_certs.write_pair(self.tempdir, "two-sans", self.ca.issue(
            [CLIENT_ID, "spiffe://cluster.local/ns/kube-system/sa/admin"]))
        self.assert_refused(self.ports["strict"], pair, "two URI SANs")
        self.server.wait_for(r"more than one URI SAN")

    def test_ca_certificate_as_client_is_refused(self):
        pair = mesh_certs.write_pair(self.tempdir, "ca-true",
                                     self.ca.issue([CLIENT_ID], is_ca=True))
        self.assert_refused(self.ports["strict"], pair, "CA=true")
        self.server.wait_for(r"is a CA certificate")

    def test_expired_certificate_is_refused(self):
        not_before, not_after = mesh_certs.expired_window()
        pair = mesh_certs.write_pair(self.tempdir, "expired", self.ca.issue(
            [CLIENT_ID], not_before=not_before, not_after=not_after))
        self.assert_refused(self.ports["strict"], pair, "expired")
        self.server.wait_for(r"certificate has expired")

    def test_certificate_without_spiffe_id_is_refused(self):
        pair = mesh_certs.write_pair(self.tempdir, "no-san", self.ca.issue([]))
        self.assert_refused(self.ports["strict"], pair, "no URI SAN")
        pair = mesh_certs.write_pair(self.tempdir, "other-domain", self.ca.issue(
            ["spiffe://evil.example/ns/default/sa/client"]))
        self.assert_refused(self.ports["strict"], pair, "foreign trust domain")

    def test_testssl_finds_tls13_only_and_no_vulnerability(self):
        # Debian's testssl.sh (the command is "testssl"); it scans protocols and known
        # vulnerabilities against the inbound port. No DNS lookups, no contact beyond loopback.
        command = shutil.which("testssl") or shutil.which("testssl.sh")
        if command is None:
            raise unittest.SkipTest("testssl is not installed")
        report = os.path.join(self.tempdir, "testssl.json")
        subprocess.run([command, "--quiet", "--color", "0", "--nodns", "none", "--warnings", "off",
                        "--protocols", "--vulnerable", "--jsonfile", report,
                        f"127.0.0.1:{self.ports['strict']}"],
                       capture_output=True, timeout=400)
        with open(report) as f:
            findings = {}
            for finding in json.load(f):
                findings.setdefault(finding["id"], []).append(finding)
        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"):
            self.assertEqual(findings[old][0]["finding"], "not offered", old)
        self.assertTrue(findings["TLS1_3"][0]["finding"].startswith("offered"))
        for check in ("heartbleed", "CCS", "ROBOT", "secure_renego", "secure_client_renego",
                      "POODLE_SSL", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"):
            self.assertIn(check, findings, f"testssl did not run {check}")
        serious = [f for entries in findings.values() for f in entries
                   if f["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL")]
        self.assertEqual(serious, [])

    # --- modes ----------------------------------------------------------------------

    def test_strict_refuses_plaintext(self):
        before = proxy_metrics.scrape(self.server.admin_port)
        result = subprocess.run(["curl", "-sS", "--max-time", "5",
                                 f"http://127.0.0.1:{self.ports['strict']}/"],
                                capture_output=True, timeout=20)
        self.assertNotEqual(result.returncode, 0)
        self.server.wait_for(r"plaintext connection from 127\.0\.0\.1 refused")
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_tls_plaintext_refused_total": 1})

    def test_permissive_accepts_plaintext_and_mtls(self):
        headers = self.seen_by_app(self.ports["permissive"])
        self.assertNotIn("x-forwarded-client-cert", headers)
        answer = self.tls_request(self.ports["permissive"], self.client_cert)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertIn(CLIENT_ID.encode(), answer)


    # --- authorization on the server side -------------------------------------------

    def test_deny_rule_holds_under_every_spelling_of_the_path(self):
        before = proxy_metrics.scrape(self.server.admin_port)
        base = f"http://127.0.0.1:{self.ports['out_guarded']}"
        status, _, body = self.curl(base + "/public")
        self.assertEqual(status, 200, body)
        for spelling in ("/admin", "/%61dmin", "/pub/../admin", "//admin", "/admin/",
                         "/admin/users", "/./admin", "/admin?x=1"):
            status, headers, body = self.curl(base + spelling, "--path-as-is")
            self.assertEqual(status, 403, f"{spelling}: {body}")
            self.assertEqual(headers.get("x-weft-reason"), "authz_denied", spelling)
            self.assertIn("default/deny-admin", body, spelling)
        # An encoded slash is refused before any policy could be fooled by it.
        for spelling in ("/admin%2F", "/%2Fadmin"):
            status, _, body = self.curl(base + spelling, "--path-as-is")
            self.assertEqual(status, 400, f"{spelling}: {body}")
        # Paths are case-sensitive: another resource, allowed.
        status, _, body = self.curl(base + "/ADMIN")
        self.assertEqual(status, 200, body)
        self.server.wait_for(r"denied: default/deny-admin")
        self.server.wait_for(r"GET /admin from 127\.0\.0\.1 \(" + CLIENT_ID)
        # One denial per 403 above; the 400s were refused before any policy ran.
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_authz_denied_total": 8})

    def test_allow_rule_needs_the_callers_identity(self):
        # Plaintext on the PERMISSIVE chain has no identity: the ALLOW policy does not match.
        before = proxy_metrics.scrape(self.server.admin_port)
        status, headers, body = self.curl(f"http://127.0.0.1:{self.ports['guarded']}/public")
        self.assertEqual(status, 403, body)
        self.assertIn("no-allow-match", body)
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_authz_denied_total": 1})
        # The same request over mTLS from the client identity is allowed.
        status, _, body = self.curl(f"http://127.0.0.1:{self.ports['out_guarded']}/public")
        self.assertEqual(status, 200, body)

    def test_grpc_client_gets_permission_denied(self):
        harness.require_tool("curl")
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-D", "-",
             "-H", "content-type: application/grpc", "-X", "POST",
             f"http://127.0.0.1:{self.ports['out_guarded_h2']}/admin"],
            capture_output=True, timeout=20)
        self.assertIn(b"grpc-status: 7", result.stdout)

    def test_audit_policy_records_without_blocking(self):
        before = proxy_metrics.scrape(self.server.admin_port)
        status, _, body = self.curl(f"http://127.0.0.1:{self.ports['out_guarded']}/items",
                                    "-X", "DELETE")
        self.assertEqual(status, 200, body)
        self.server.wait_for(r"audit policy default/audit-all matched DELETE /items")
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_authz_audit_matches_total": 1})

    def test_tcp_connection_denied_is_closed(self):
        before = proxy_metrics.scrape(self.server.admin_port)
        with socket.create_connection(("127.0.0.1", self.ports["out_guarded_tcp"]),
                                      timeout=5) as s:
            s.sendall(b"let me in")
            s.shutdown(socket.SHUT_WR)
            received = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        self.assertEqual(received, b"")
        self.server.wait_for(r"connection from 127\.0\.0\.1 \(" + CLIENT_ID +
                             r"\) to port \d+ denied: no-allow-match; closed")
        self.assertEqual(self.counters_changed(self.server, before),
                         {"weft_proxy_authz_denied_total": 1})


if __name__ == "__main__":
    harness.main()
