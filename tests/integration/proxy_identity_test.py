#!/usr/bin/env python3
"""The proxy's workload certificate from the control plane's CA: the real weft-controlplane in
local mode (--ca-dir, --bootstrap-token-file) and weft-proxy processes whose bootstrap sets
dynamic_resources.ca. A proxy is ready only once it holds a certificate; /certs shows its
SPIFFE id and no key; a short validity makes it renew without a restart; a wrong token leaves
it unready with UNAUTHENTICATED in its log; two proxies with CA-issued identities carry requests
over mTLS across renewals, on a connection kept open; and once a certificate expires with the CA
gone, it is withdrawn: the proxy is unready and mTLS is refused (fail closed)."""
import datetime
import http.client
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import proxy_metrics  # noqa: E402
from mesh_identity import CLIENT_ID, REVIEWS_ID, MeshIdentityTest  # noqa: E402

WITH_ADS = """
node: {{id: reviews-1.default, namespace: default, service_account: reviews}}
concurrency: 1
dynamic_resources:
  ads:
    server: {{address: {{address: 127.0.0.1, port: {cp}}}, token_file: {token_file}}}
  ca: {{}}
"""

PLAIN = """
node: {{id: {sa}-1.default, namespace: default, service_account: {sa}}}
concurrency: 1
{ca}
"""


class ProxyIdentityTest(MeshIdentityTest):
    # --- tests ---------------------------------------------------------------------------

    def test_ready_only_once_the_certificate_is_in_place(self):
        # The proxy starts first: the CA is not there yet, so it is not ready and retries.
        proxy, admin = self.start_named_proxy(
            "reviews", PLAIN.format(sa="reviews", ca=self.ca_settings("reviews-token")))
        proxy.wait_for(r"cannot obtain the workload certificate from 127\.0\.0\.1:\d+: "
                       r"UNAVAILABLE")
        status, body = self.admin(admin, "/ready")
        self.assertEqual(status, 503, body)
        self.assertIn("waiting for the workload certificate", body)
        self.assertEqual(self.certs(admin)["state"], "AWAITING_FIRST")

        self.start_control_plane()
        self.wait_ready(admin, timeout=30)
        certs = self.certs(admin)
        self.assertEqual(certs["state"], "VALID", certs)
        self.assertEqual(certs["certificate"]["spiffe_id"], REVIEWS_ID)
        self.assertEqual(certs["certificate"]["key_type"], "EC P-256")
        self.assertRegex(certs["certificate"]["serial"], r"^[0-9A-F]+$")
        self.assertIsNotNone(certs["next_request"])
        proxy.wait_for(rf"workload certificate {re.escape(REVIEWS_ID)} installed")

        # The key is nowhere to be seen: not on /certs, not in the configuration dump, not in
        # the log.
        status, dump = self.admin(admin, "/config_dump")
        self.assertEqual(status, 200, dump)
        self.assertNotIn("PRIVATE KEY", dump)
        self.assertIn("[redacted]", dump)
        self.assertIn("BEGIN CERTIFICATE", dump)
        self.assertNotIn("PRIVATE KEY", json.dumps(certs))
        self.assertNotIn("PRIVATE KEY", proxy.output())

    def test_renews_with_a_new_serial_without_restarting(self):
        self.start_control_plane()
        # 120 s of validity, renewed at 10% of it: about every 12 s.
        proxy, admin = self.start_named_proxy(
            "reviews", PLAIN.format(sa="reviews", ca=self.ca_settings(
                "reviews-token", validity="120s", renew_at_percent=10)))
        self.wait_ready(admin)
        first = self.certs(admin)["certificate"]
        self.assertEqual(first["spiffe_id"], REVIEWS_ID)
        renewed = self.wait_until(
            lambda: (lambda c: c if c["certificate"]["serial"] != first["serial"] else None)(
                self.certs(admin)),
            "a second certificate", timeout=40)
        self.assertEqual(renewed["certificate"]["spiffe_id"], REVIEWS_ID)
        self.assertEqual(renewed["issued"], 2)
        self.assertGreater(renewed["certificate"]["not_after"], first["not_after"])
        self.assertIsNone(proxy.proc.poll())  # the same process
        self.assertEqual(self.admin(admin, "/ready")[0], 200)
        self.assertEqual(len(re.findall(r"workload certificate \S+ installed", proxy.output())),
                         2, proxy.output())
        self.assertIn("config reloaded (workload certificate)", proxy.output())

    def test_a_wrong_token_leaves_the_proxy_unready(self):
        self.start_control_plane()
        proxy, admin = self.start_named_proxy(
            "reviews", PLAIN.format(sa="reviews", ca=self.ca_settings("not-a-known-token")))
        proxy.wait_for(r"cannot obtain the workload certificate from 127\.0\.0\.1:\d+: "
                       r"UNAUTHENTICATED")
        status, body = self.admin(admin, "/ready")
        self.assertEqual(status, 503, body)
        self.assertIn("UNAUTHENTICATED", body)
        certs = self.certs(admin)
        self.assertEqual(certs["state"], "AWAITING_FIRST")
        self.assertIsNone(certs["certificate"])
        self.assertIn("UNAUTHENTICATED", certs["last_error"])
        self.assertGreaterEqual(certs["consecutive_failures"], 1)

    def test_with_a_control_plane_the_ca_is_the_ads_server(self):
        self.start_control_plane()
        token_file = self.write("token-ads", "reviews-token\n")
        proxy, admin = self.start_named_proxy(
            "reviews", WITH_ADS.format(cp=self.cp_port, token_file=token_file))
        self.wait_ready(admin)
        proxy.wait_for(r"discovery stream to \S+ established")
        proxy.wait_for(r"configuration applied")
        certs = self.certs(admin)
        self.assertEqual(certs["certificate"]["spiffe_id"], REVIEWS_ID)
        self.assertEqual(certs["ca"], f"127.0.0.1:{self.cp_port}")
        # The secret outlives the configurations the control plane sends.
        status, dump = self.admin(admin, "/config_dump")
        self.assertEqual(status, 200, dump)
        secrets = json.loads(dump)["bootstrap"]["static_resources"]["secrets"]
        identity = [secret for secret in secrets if secret["name"] == "identity"]
        self.assertEqual(len(identity), 1, secrets)
        self.assertEqual(identity[0]["tls_certificate"]["private_key"], "[redacted]")

    def test_two_proxies_speak_mtls_and_keep_serving_across_renewals(self):
        self.start_control_plane()
        (_, server_admin), (_, client_admin), outbound = self.start_mtls_pair(
            validity="120s", renew_at_percent=10)
        connection = http.client.HTTPConnection("127.0.0.1", outbound, timeout=10)
        # The server side verified the client's CA-issued certificate and names it.
        self.assertEqual(self.request(connection).get("x-forwarded-client-cert"),
                         f"URI={CLIENT_ID}")
        serials = {port: self.certs(port)["certificate"]["serial"]
                   for port in (server_admin, client_admin)}
        # Both renew (about 12 s in); the open connection stays and the next request on it goes
        # out with the new identities.
        for port, serial in serials.items():
            self.wait_until(lambda: self.certs(port)["certificate"]["serial"] != serial,
                            f"a renewed certificate on admin port {port}", timeout=40)
        self.assertEqual(self.request(connection).get("x-forwarded-client-cert"),
                         f"URI={CLIENT_ID}")
        connection.close()
        status, _, body = self.curl(f"http://127.0.0.1:{outbound}/hello")
        self.assertEqual(status, 200, body)

    def test_an_expired_certificate_is_withdrawn_and_mtls_refused(self):
        control_plane = self.start_control_plane("--ca-max-validity", "1m")
        (server, server_admin), (client, client_admin), outbound = self.start_mtls_pair(
            validity="60s", renew_at_percent=50)
        status, _, body = self.curl(f"http://127.0.0.1:{outbound}/hello")
        self.assertEqual(status, 200, body)
        metrics = proxy_metrics.scrape(client_admin)
        self.assertEqual(metrics.certificate_state(), "VALID")
        self.assertGreaterEqual(metrics.value("weft_proxy_certificate_issued_total"), 1)
        not_after = datetime.datetime.strptime(
            self.certs(client_admin)["certificate"]["not_after"], "%Y-%m-%dT%H:%M:%SZ")
        expiry = not_after.replace(tzinfo=datetime.timezone.utc).timestamp()
        self.assertEqual(metrics.value("weft_proxy_certificate_expiry_timestamp_seconds"), expiry)
        # The CA goes away: renewals fail, the proxies warn, then the certificates run out.
        control_plane.stop()
        client.wait_for(r"has not been renewed .*mTLS stops at expiry", timeout=60)
        self.assertEqual(self.certs(client_admin)["state"], "EXPIRING")
        # The warning is a metric too, before expiry.
        metrics = proxy_metrics.scrape(client_admin)
        self.assertEqual(metrics.certificate_state(), "EXPIRING")
        self.assertEqual(metrics.value("weft_proxy_certificate_state", state="VALID"), 0)
        self.assertGreaterEqual(metrics.value("weft_proxy_certificate_consecutive_failures"), 1)
        self.assertEqual(metrics.value("weft_proxy_certificate_expiry_timestamp_seconds"), expiry)
        self.assertEqual(self.admin(client_admin, "/ready")[0], 200)  # still serving
        client.wait_for(r"expired at .*the identity secret is withdrawn", timeout=30)
        server.wait_for(r"expired at .*the identity secret is withdrawn", timeout=30)
        self.assertEqual(self.certs(client_admin)["state"], "EXPIRED")
        for admin_port in (client_admin, server_admin):
            metrics = proxy_metrics.scrape(admin_port)
            self.assertEqual(metrics.certificate_state(), "EXPIRED")
            self.assertEqual(metrics.value("weft_proxy_certificate_state", state="EXPIRING"), 0)
        status, body = self.admin(client_admin, "/ready")
        self.assertEqual(status, 503, body)
        self.assertIn("expired", body)
        # Fail closed: no mTLS without a certificate, so the request does not reach the app.
        status, _, body = self.curl(f"http://127.0.0.1:{outbound}/hello")
        self.assertNotEqual(status, 200, body)

if __name__ == "__main__":
    harness.main()
