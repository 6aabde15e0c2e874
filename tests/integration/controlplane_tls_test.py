#!/usr/bin/env python3
"""TLS between the proxies and the control plane: weft-controlplane serves its gRPC port (xDS,
CA, proxy status) with a certificate its own CA issued for the names it is reached by
(--xds-tls-hosts), and weft-proxy verifies it with the mesh root before it sends its token or
its certificate request. A proxy gets its identity and configuration over TLS; openssl s_client
sees TLS with ALPN h2 and a certificate for the address; a proxy that expects another name,
holds another root or speaks plaintext gets nothing and says why; weftctl proxy-status reads the
control plane over TLS; and the operator's own certificate files work too (--xds-tls-cert-file)."""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import harness  # noqa: E402
import mesh_certs  # noqa: E402
from mesh_identity import REVIEWS_ID, MeshIdentityTest  # noqa: E402

WITH_ADS = """
node: {{id: reviews-1.default, namespace: default, service_account: reviews}}
concurrency: 1
dynamic_resources:
  ads:
    server:
      address: {{address: 127.0.0.1, port: {cp}}}
      token_file: {token_file}
{tls}
  ca: {{}}
"""


class ControlPlaneTlsTest(MeshIdentityTest):
    def mesh_root(self):
        return os.path.join(self.ca_dir, "ca-cert.pem")

    def start_tls_control_plane(self, hosts="localhost,127.0.0.1"):
        process = self.start_control_plane("--xds-tls-hosts", hosts)
        process.wait_for(rf"xDS server listening on 127\.0\.0\.1:{self.cp_port} \(TLS\)")
        return process

    def start_ads_proxy(self, tls):
        token_file = self.write("token-reviews", "reviews-token\n")
        return self.start_named_proxy(
            "reviews", WITH_ADS.format(cp=self.cp_port, token_file=token_file, tls=tls))

    def s_client(self, *extra):
        return subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{self.cp_port}", "-alpn", "h2",
             "-CAfile", self.mesh_root(), "-verify_return_error", *extra],
            input="", capture_output=True, text=True, errors="replace", timeout=30)

    # --- tests ---------------------------------------------------------------------------

    def test_a_proxy_gets_its_identity_and_configuration_over_tls(self):
        self.start_tls_control_plane()
        proxy, admin = self.start_ads_proxy(f"      tls: {{ca_file: {self.mesh_root()}}}")
        self.wait_ready(admin)
        proxy.wait_for(r"discovery stream to \S+ established")
        proxy.wait_for(r"configuration applied")
        self.assertEqual(self.certs(admin)["certificate"]["spiffe_id"], REVIEWS_ID)

    def test_a_proxy_with_inline_roots_gets_its_identity_and_configuration_over_tls(self):
        # ca_pem, as the injected sidecar's bootstrap carries the mesh root: a JSON string is
        # a YAML double-quoted scalar, newlines escaped. The root exists once the control plane
        # has started.
        self.start_tls_control_plane()
        with open(self.mesh_root()) as f:
            roots = f.read()
        proxy, admin = self.start_ads_proxy(f"      tls: {{ca_pem: {json.dumps(roots)}}}")
        self.wait_ready(admin)
        proxy.wait_for(r"discovery stream to \S+ established")
        self.assertEqual(self.certs(admin)["certificate"]["spiffe_id"], REVIEWS_ID)

    def test_a_proxy_with_inline_roots_of_another_ca_gets_nothing_and_says_why(self):
        other = mesh_certs.Authority("another root")
        self.start_tls_control_plane()
        proxy, admin = self.start_ads_proxy(
            f"      tls: {{ca_pem: {json.dumps(other.cert_pem())}}}")
        proxy.wait_for(r"the control plane's certificate was refused: unable to get local "
                       r"issuer certificate \(expected 127\.0\.0\.1, roots from the inline "
                       r"ca_pem\)")
        self.assertNotIn("established", proxy.output())
        self.assertNotEqual(self.admin(admin, "/ready")[0], 200)

    def test_inline_roots_without_a_certificate_stop_the_proxy(self):
        token_file = self.write("token-reviews", "reviews-token\n")
        path = self.write("bootstrap-bad-roots.yaml", WITH_ADS.format(
            cp=self.cp_port, token_file=token_file,
            tls='      tls: {ca_pem: "not a certificate"}'))
        process = self.start([os.path.join(harness.BIN_DIR, "weft-proxy"), "--config", path],
                             "weft-proxy")
        self.assertEqual(process.wait(), 1)
        self.assertIn("dynamic_resources.ads.server.tls.ca_pem: no usable root certificates",
                      process.output())

    def test_openssl_sees_tls_with_h2_and_a_certificate_for_the_address(self):
        self.start_tls_control_plane()
        answer = self.s_client("-verify_ip", "127.0.0.1")
        self.assertIn("Verification: OK", answer.stdout, answer.stdout + answer.stderr)
        self.assertIn("ALPN protocol: h2", answer.stdout)
        self.assertIn("New, TLSv1.3", answer.stdout)
        # The certificate is for the names given, and no other.
        wrong = self.s_client("-verify_hostname", "weft-controlplane.weft-system.svc")
        self.assertNotIn("Verification: OK", wrong.stdout)
        self.assertIn("hostname mismatch", wrong.stdout + wrong.stderr)

    def test_a_reissued_certificate_is_served_without_a_restart(self):
        process = self.start_tls_control_plane()
        proxy, admin = self.start_ads_proxy(f"      tls: {{ca_file: {self.mesh_root()}}}")
        self.wait_ready(admin)

        def served_certificate():
            """The PEM the port serves, when it verifies; None otherwise (polled: a failed
            handshake while the files change would show here, and fail the wait)."""
            answer = self.s_client("-verify_ip", "127.0.0.1")
            found = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                              answer.stdout, re.DOTALL)
            return found.group(0) if found and "Verification: OK" in answer.stdout else None
        first = served_certificate()
        self.assertIsNotNone(first)
        # SIGHUP reloads the CA, which reissues the serving certificate; gRPC picks the new
        # files up at its next look (every 10 s).
        process.signal(signal.SIGHUP)
        self.wait_until(lambda: served_certificate() not in (first, None),
                        "a new serving certificate", timeout=40)
        # Only the new pair and the one before it are kept.
        generations = [name for name in os.listdir(os.path.join(self.ca_dir, "xds-serving"))
                       if name.startswith("gen-")]
        self.assertEqual(len(generations), 2, generations)
        # The proxy's stream, opened with the old certificate, carries on.
        self.assertEqual(self.admin(admin, "/ready")[0], 200)
        self.assertEqual(proxy.output().count("established"), 1)

    def test_a_proxy_expecting_another_name_gets_nothing_and_says_why(self):
        self.start_tls_control_plane()
        proxy, admin = self.start_ads_proxy(
            f"      tls: {{ca_file: {self.mesh_root()}, server_name: istiod.istio-system.svc}}")
        proxy.wait_for(r"the control plane's certificate was refused: \S.* \(expected "
                       r"istiod\.istio-system\.svc")
        self.assertNotIn("established", proxy.output())
        self.assertNotEqual(self.admin(admin, "/ready")[0], 200)

    def test_a_proxy_holding_another_root_gets_nothing_and_says_why(self):
        self.start_tls_control_plane()
        other = mesh_certs.Authority("another root")
        roots = self.write("other-roots.pem", other.cert_pem())
        proxy, admin = self.start_ads_proxy(f"      tls: {{ca_file: {roots}}}")
        proxy.wait_for(r"the control plane's certificate was refused: unable to get local "
                       r"issuer certificate")
        self.assertNotIn("established", proxy.output())
        self.assertNotEqual(self.admin(admin, "/ready")[0], 200)

    def test_a_plaintext_proxy_is_not_served(self):
        self.start_tls_control_plane()
        proxy, admin = self.start_ads_proxy("")
        proxy.wait_for(r"discovery stream to \S+ closed \(14: the control plane closed the "
                       r"connection\)")
        self.assertNotIn("established", proxy.output())
        self.assertNotEqual(self.admin(admin, "/ready")[0], 200)

    def test_weftctl_reads_proxy_status_over_tls(self):
        self.start_tls_control_plane()
        proxy, admin = self.start_ads_proxy(f"      tls: {{ca_file: {self.mesh_root()}}}")
        self.wait_ready(admin)
        weftctl = os.path.join(harness.BIN_DIR, "weftctl")
        # Dialed by address (no DNS lookup: gRPC's c-ares resolver leaks a few bytes per
        # lookup, which the sanitizer build reports), checked as the name "localhost".
        base = [weftctl, "--control-plane", f"127.0.0.1:{self.cp_port}"]

        def run(*extra):
            return subprocess.run([*base, *extra, "proxy-status"], capture_output=True, text=True,
                                  timeout=30)
        answer = run("--control-plane-ca-file", self.mesh_root(),
                     "--control-plane-server-name", "localhost")
        self.assertEqual(answer.returncode, 0, answer.stderr)
        self.assertIn("reviews-1.default", answer.stdout)
        # Plaintext, or a name the certificate does not carry: refused.
        self.assertNotEqual(run().returncode, 0)
        refused = run("--control-plane-ca-file", self.mesh_root(),
                      "--control-plane-server-name", "istiod.istio-system.svc")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("cannot reach the control plane", refused.stderr)

    def test_the_operators_certificate_files_work_too(self):
        operator = mesh_certs.Authority("operator root")
        chain, key = mesh_certs.write_pair(
            self.tempdir, "serving", operator.issue([], dns_names=["cp.example.internal"]))
        roots = self.write("operator-roots.pem", operator.cert_pem())
        process = self.start_control_plane("--xds-tls-cert-file", chain, "--xds-tls-key-file", key)
        process.wait_for(rf"xDS server listening on 127\.0\.0\.1:{self.cp_port} \(TLS\)")
        proxy, admin = self.start_ads_proxy(
            f"      tls: {{ca_file: {roots}, server_name: cp.example.internal}}")
        self.wait_ready(admin)
        proxy.wait_for(r"discovery stream to \S+ established")

    def test_an_empty_name_in_the_hosts_is_refused(self):
        for hosts in ("", "localhost,,127.0.0.1", "localhost, "):
            process = self.start([os.path.join(harness.BIN_DIR, "weft-controlplane"),
                                  "--config-dir", self.mesh, "--ca-dir", self.ca_dir,
                                  "--bootstrap-token-file", self.tokens,
                                  "--xds-tls-hosts", hosts], "weft-controlplane")
            self.assertEqual(process.wait(), 2, hosts)
            self.assertIn("--xds-tls-hosts: an empty name", process.output())

    def test_a_key_that_is_not_the_certificates_stops_the_control_plane(self):
        operator = mesh_certs.Authority("operator root")
        chain, _ = mesh_certs.write_pair(
            self.tempdir, "serving", operator.issue([], dns_names=["cp.example.internal"]))
        _, other_key = mesh_certs.write_pair(
            self.tempdir, "other", operator.issue([], dns_names=["cp.example.internal"]))
        process = self.start([os.path.join(harness.BIN_DIR, "weft-controlplane"),
                              "--config-dir", self.mesh,
                              "--xds-address", f"127.0.0.1:{self.cp_port}",
                              "--metrics-address", "127.0.0.1:0",
                              "--xds-tls-cert-file", chain, "--xds-tls-key-file", other_key],
                             "weft-controlplane")
        self.assertEqual(process.wait(), 1)
        self.assertIn(f"--xds-tls-key-file {other_key} is not the key of the first certificate",
                      process.output())


if __name__ == "__main__":
    harness.main()
