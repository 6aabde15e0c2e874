#!/usr/bin/env python3
"""The control plane's certificate authority in local mode: the real weft-controlplane with a
CA directory and a bootstrap token file, called over gRPC with CSRs made by `openssl req`. The
issued chain verifies with `openssl verify` against the returned trust bundle and names the
caller's SPIFFE id in the trust domain of the MeshConfig; a call without a token, or asking for
another identity, gets the status ca.proto prescribes; a restart keeps the root; SIGHUP picks
up an extra root; /metrics counts it all."""
import os
import re
import signal
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN_DIR, IntegrationTest, free_port, main, require_tool  # noqa: E402
from ca_calls import PROTO_DIR, CaCalls, ca_pb2, grpc  # noqa: E402

MESH_CONFIG = """
apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: {name: default, namespace: weft-system}
spec: {trustDomain: example.org}
"""

TOKENS = """# token,user,uid[,groups]
reviews-secret-token,system:serviceaccount:default:reviews,uid-1,"system:serviceaccounts"
operator-token,admin,uid-2
"""

REVIEWS_ID = "spiffe://example.org/ns/default/sa/reviews"


class CaServiceTest(CaCalls, IntegrationTest):
    def setUp(self):
        super().setUp()
        if grpc is None or ca_pb2 is None:
            self.skipTest(f"needs python3-grpcio and the generated ca_pb2 in {PROTO_DIR}")
        require_tool("openssl")
        self.mesh = os.path.join(self.tempdir, "mesh")
        os.mkdir(self.mesh)
        self.write("mesh/meshconfig.yaml", MESH_CONFIG)
        self.ca_dir = os.path.join(self.tempdir, "ca")
        self.token_file = self.write("tokens.csv", TOKENS)
        self.port = free_port()
        self.control_plane = self.start_control_plane()

    def tearDown(self):
        self.close_ca_channel()
        super().tearDown()

    # --- helpers -------------------------------------------------------------------------

    def start_control_plane(self):
        process = self.start([os.path.join(BIN_DIR, "weft-controlplane"),
                              "--config-dir", self.mesh,
                              "--xds-address", f"127.0.0.1:{self.port}",
                              "--metrics-address", "127.0.0.1:0",
                              "--ca-dir", self.ca_dir,
                              "--bootstrap-token-file", self.token_file], "weft-controlplane")
        process.wait_for(r"weft-controlplane \S+ ready")
        self.metrics_port = int(process.wait_for(r"metrics listening on 127\.0\.0\.1:(\d+)")
                                .group(1))
        self.open_ca_channel(self.port)
        return process

    def stop_control_plane(self):
        self.control_plane.signal(signal.SIGTERM)
        self.assertEqual(self.control_plane.wait(), 0, self.control_plane.output())

    # --- tests ---------------------------------------------------------------------------

    def test_issues_a_certificate_that_verifies_and_names_the_caller(self):
        response = self.call(self.make_csr("reviews"), validity_seconds=3600)
        self.assertEqual(len(response.certificate_chain), 1)  # signed by the root itself
        leaf, san = self.verify(response, "reviews")
        # Exactly one name: the caller's, in the MeshConfig's trust domain.
        self.assertEqual(re.findall(r"URI:\S+", san), [f"URI:{REVIEWS_ID}"], san)
        self.assertNotIn("DNS:", san)
        self.assertIn("critical", san)
        text = self.openssl("x509", "-in", leaf, "-noout", "-text")
        self.assertIn("CA:FALSE", text)
        self.assertIn("TLS Web Server Authentication, TLS Web Client Authentication", text)
        self.assertNotIn("whoever-i-claim-to-be", text)
        # The leaf certifies the key the CSR was made for.
        leaf_key = self.openssl("x509", "-in", leaf, "-noout", "-pubkey")
        own_key = self.openssl("pkey", "-in", "reviews.key", "-pubout")
        self.assertEqual(leaf_key, own_key)
        # expiry is the leaf's notAfter: requested 1h, minus nothing.
        end = self.openssl("x509", "-in", leaf, "-noout", "-enddate").strip()
        end_epoch = time.mktime(time.strptime(end.split("=", 1)[1], "%b %d %H:%M:%S %Y GMT"))
        self.assertEqual(response.expiry.seconds, int(end_epoch - time.timezone))

        metrics = self.metrics()
        self.assertEqual(self.metric(metrics, "weft_cp_ca_certificates_issued_total"), 1)
        self.assertGreater(self.metric(
            metrics, "weft_cp_ca_signing_certificate_expiry_timestamp_seconds"), time.time())
        self.assertRegex(self.control_plane.output(),
                         rf"issued {re.escape(REVIEWS_ID)} .*reviews-v1-abc")

    def test_missing_or_unknown_token_is_unauthenticated(self):
        csr = self.make_csr("reviews")
        code, details = self.rejected(csr, token=None)
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("authorization: Bearer", details)
        code, details = self.rejected(csr, token="guessed-token")
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("not in the bootstrap token file", details)
        code, details = self.rejected(csr, token="operator-token")
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("not to a service account", details)

        metrics = self.metrics()
        rejected = "weft_cp_ca_requests_rejected_total"
        self.assertEqual(self.metric(metrics, rejected, '{reason="missing_token"}'), 1)
        self.assertEqual(self.metric(metrics, rejected, '{reason="unknown_token"}'), 1)
        self.assertEqual(self.metric(metrics, rejected, '{reason="not_service_account"}'), 1)
        self.assertEqual(self.metric(metrics, "weft_cp_ca_certificates_issued_total"), 0)
        # Every refusal is in the log, and no token is.
        output = self.control_plane.output()
        self.assertEqual(output.count("CreateCertificate from"), 3, output)
        self.assertNotIn("guessed-token", output)

    def test_csr_for_another_identity_is_permission_denied(self):
        other = "spiffe://example.org/ns/kube-system/sa/admin"
        csr = self.make_csr("greedy", ["-addext", f"subjectAltName=URI:{other}"])
        code, details = self.rejected(csr)
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn(other, details)
        self.assertIn(REVIEWS_ID, details)
        # The caller's own id in the CSR is accepted.
        csr = self.make_csr("honest", ["-addext", f"subjectAltName=URI:{REVIEWS_ID}"])
        self.verify(self.call(csr), "honest")
        # A CSR that is not one.
        code, _ = self.rejected("-----BEGIN CERTIFICATE REQUEST-----\nnope\n"
                                "-----END CERTIFICATE REQUEST-----\n")
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(self.metric(self.metrics(), "weft_cp_ca_requests_rejected_total",
                                     '{reason="identity_mismatch"}'), 1)

    def test_restart_keeps_the_root_and_sighup_adds_an_extra_root(self):
        first = self.call(self.make_csr("before"))
        key_mode = stat.S_IMODE(os.stat(os.path.join(self.ca_dir, "ca-key.pem")).st_mode)
        self.assertEqual(key_mode, 0o600)
        self.assertEqual(sorted(os.listdir(self.ca_dir)), ["ca-cert.pem", "ca-key.pem"])

        self.stop_control_plane()
        self.control_plane = self.start_control_plane()
        second = self.call(self.make_csr("after"))
        self.assertEqual(second.trust_bundle, first.trust_bundle)
        # A certificate from before the restart still verifies against the bundle after it.
        self.write("before-bundle.pem", second.trust_bundle)
        self.verify(first, "before")

        # Root rotation, step 1: a new root joins the bundle on SIGHUP; signing is unchanged.
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", "next-root.key", "-out", "next-root.pem",
                     "-subj", "/O=Weft/CN=next root", "-days", "30",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        with open(os.path.join(self.tempdir, "next-root.pem")) as f:
            next_root = f.read()
        self.write(os.path.join(self.ca_dir, "extra-roots.pem"), next_root)
        self.control_plane.signal(signal.SIGHUP)
        self.control_plane.wait_for(r"2 root\(s\) in the trust bundle")
        third = self.call(self.make_csr("rotating"))
        self.assertTrue(third.trust_bundle.startswith(first.trust_bundle))
        self.assertIn(next_root.strip(), third.trust_bundle)
        self.verify(third, "rotating")
        self.assertEqual(self.metric(self.metrics(), "weft_cp_ca_reloads_total",
                                     '{result="ok"}'), 2)


if __name__ == "__main__":
    main()
