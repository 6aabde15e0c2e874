#!/usr/bin/env python3
"""The control plane's CA in cluster mode, against the Kubernetes API test server
(tests/tools/kube_api_server.py, checked against the real kubectl by kube_api_server_test.py):
the root generated into a Secret on first start and read from it on the next, a root the
operator put in the Secret used as is, two replicas racing to create it ending with one root,
and callers authenticated by TokenReview of their service-account token (with and without an
audience), an API server that fails or cannot be reached refusing calls as UNAVAILABLE rather
than as a bad token."""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from harness import BIN_DIR, IntegrationTest, free_port, main, require_tool  # noqa: E402
from ca_calls import PROTO_DIR, CaCalls, ca_pb2, grpc  # noqa: E402

try:
    import mesh_certs  # python3-cryptography, which only /usr/bin/python3 has
    from kube_api_server import KubeApiServer
except ImportError:
    mesh_certs = None

MESH_CONFIG = """
apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: {name: default, namespace: weft-system}
spec: {trustDomain: example.org}
"""

ADMIN_TOKEN = "control-plane-sa-token"
REVIEWS_TOKEN = "reviews-projected-token"
REVIEWS_ID = "spiffe://example.org/ns/default/sa/reviews"
SECRET = ("weft-system", "weft-ca")


class CaKubernetesTest(CaCalls, IntegrationTest):
    def setUp(self):
        super().setUp()
        if grpc is None or ca_pb2 is None or mesh_certs is None:
            self.skipTest(f"needs python3-grpcio, python3-cryptography and ca_pb2 in {PROTO_DIR}")
        require_tool("openssl")
        self.mesh = os.path.join(self.tempdir, "mesh")
        os.mkdir(self.mesh)
        self.write("mesh/meshconfig.yaml", MESH_CONFIG)
        # The API server's own serving certificate, for its IP address, as a cluster's has.
        authority = mesh_certs.Authority("kubernetes-test-ca")
        self.kube_ca = self.write("kube-ca.crt", authority.cert_pem())
        cert, key = mesh_certs.write_pair(
            self.tempdir, "kube-apiserver", authority.issue([], ip_addresses=["127.0.0.1"]))
        self.kube_token = self.write("sa-token", ADMIN_TOKEN + "\n")
        self.api = KubeApiServer(cert, key, token=ADMIN_TOKEN)
        self.api.start()
        self.addCleanup(self.api.stop)
        self.api.add_review_token(REVIEWS_TOKEN, "system:serviceaccount:default:reviews")
        self.api.add_review_token("admin-user-token", "kubernetes-admin")
        self.control_plane = None

    def tearDown(self):
        self.close_ca_channel()
        super().tearDown()

    # --- helpers -------------------------------------------------------------------------

    def control_plane_args(self, port, extra=()):
        return [os.path.join(BIN_DIR, "weft-controlplane"),
                "--config-dir", self.mesh,
                "--xds-address", f"127.0.0.1:{port}",
                "--metrics-address", "127.0.0.1:0",
                "--ca-secret", "/".join(SECRET),
                "--token-review",
                "--kube-api-server", self.api.url,
                "--kube-token-file", self.kube_token,
                "--kube-ca-file", self.kube_ca, *extra]

    def start_control_plane(self, extra=(), name="weft-controlplane"):
        port = free_port()
        process = self.start(self.control_plane_args(port, extra), name)
        process.wait_for(r"weft-controlplane \S+ ready")
        self.metrics_port = int(process.wait_for(r"metrics listening on 127\.0\.0\.1:(\d+)")
                                .group(1))
        self.open_ca_channel(port)
        self.control_plane = process
        return process

    def stop_control_plane(self, process):
        process.signal(signal.SIGTERM)
        self.assertEqual(process.wait(), 0, process.output())

    def stored_secret(self):
        data = self.api.secret_data(*SECRET)
        self.assertIsNotNone(data, f"no Secret {'/'.join(SECRET)} on the API server")
        return {key: value.decode() for key, value in data.items()}

    def issued_root(self, token=REVIEWS_TOKEN):
        """The trust bundle of a certificate issued now, checked with openssl verify."""
        response = self.call(self.make_csr("reviews"), token=token)
        _, san = self.verify(response, "reviews")
        self.assertEqual(re.findall(r"URI:\S+", san), [f"URI:{REVIEWS_ID}"], san)
        return response.trust_bundle

    # --- tests ---------------------------------------------------------------------------

    def test_generates_the_root_into_the_secret_and_keeps_it_across_restarts(self):
        self.assertIsNone(self.api.get_secret(*SECRET))
        first = self.start_control_plane()
        stored = self.stored_secret()
        self.assertIn("BEGIN CERTIFICATE", stored["ca-cert.pem"])
        self.assertIn("PRIVATE KEY", stored["ca-key.pem"])
        self.assertEqual(self.issued_root(), stored["ca-cert.pem"])
        self.assertIn("Secret weft-system/weft-ca", first.output())
        self.stop_control_plane(first)

        creates = "/api/v1/namespaces/weft-system/secrets"
        creates_before = len(self.api.requests_to(creates, "POST"))
        self.assertEqual(creates_before, 1)
        self.start_control_plane(name="weft-controlplane-2")
        self.assertEqual(self.issued_root(), stored["ca-cert.pem"])
        self.assertEqual(self.stored_secret(), stored)
        # The second start only read it.
        self.assertEqual(len(self.api.requests_to(creates, "POST")), creates_before)

    def test_uses_a_root_the_operator_stored(self):
        operator = mesh_certs.Authority("operator-root")
        self.api.put_secret(*SECRET, {
            "ca-cert.pem": operator.cert_pem(),
            "ca-key.pem": operator.key_pem(),
        })
        self.start_control_plane()
        self.assertEqual(self.issued_root(), operator.cert_pem())

    def test_a_replica_that_loses_the_create_race_takes_the_winners_root(self):
        # The other replica's root appears between this one's read (404) and its create (409).
        winner = mesh_certs.Authority("winning-replica-root")
        self.api.put_secret(*SECRET, {"ca-cert.pem": winner.cert_pem(),
                                      "ca-key.pem": winner.key_pem()})
        self.api.fail_next(1, status=404, method="GET")
        process = self.start_control_plane()
        self.assertEqual(self.issued_root(), winner.cert_pem())
        self.assertIn("created by another replica", process.output())

    def test_token_review_decides_who_calls(self):
        self.start_control_plane()
        csr = self.make_csr("reviews")
        code, details = self.rejected(csr, token="forged-token")
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("did not authenticate", details)
        code, details = self.rejected(csr, token="admin-user-token")
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("not to a service account", details)
        # The review went to the API server with the control plane's own token, and carried the
        # caller's token in its spec, never in a log line.
        self.assertEqual([(token, authenticated) for token, _, authenticated in self.api.reviews],
                         [("forged-token", False), ("admin-user-token", True)])
        self.assertNotIn("forged-token", self.control_plane.output())
        # A failing API server is an outage, not a verdict on the token.
        self.api.fail_next(1, status=500, method="POST")
        code, details = self.rejected(csr, token=REVIEWS_TOKEN)
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        self.assertIn("TokenReview", details)
        # And it recovers with the API server.
        self.issued_root()
        metrics = self.metrics()
        rejected = "weft_cp_ca_requests_rejected_total"
        self.assertEqual(self.metric(metrics, rejected, '{reason="unknown_token"}'), 1)
        self.assertEqual(self.metric(metrics, rejected, '{reason="not_service_account"}'), 1)
        self.assertEqual(self.metric(metrics, rejected, '{reason="credentials_unavailable"}'), 1)
        self.assertEqual(self.metric(metrics, "weft_cp_ca_certificates_issued_total"), 1)

    def test_an_audience_refuses_tokens_minted_for_another(self):
        self.api.add_review_token("ca-audience-token", "system:serviceaccount:default:reviews",
                                  audiences=["weft-ca"])
        self.api.add_review_token("api-audience-token", "system:serviceaccount:default:reviews",
                                  audiences=["https://kubernetes.default.svc.cluster.local"])
        self.start_control_plane(extra=["--token-review-audience", "weft-ca"])
        self.issued_root(token="ca-audience-token")
        code, details = self.rejected(self.make_csr("reviews"), token="api-audience-token")
        self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)

    def test_an_unreachable_or_untrusted_api_server_stops_the_start(self):
        # Nothing listens there: the CA cannot read its Secret, so the control plane does not
        # start with a root of its own invention.
        args = self.control_plane_args(free_port())
        args[args.index("--kube-api-server") + 1] = f"https://127.0.0.1:{free_port()}"
        process = self.start(args, "weft-controlplane-unreachable")
        self.assertNotEqual(process.wait(), 0)
        self.assertRegex(process.output(), r"cannot read the Secret: connecting to https://127")
        # A server whose certificate does not chain to --kube-ca-file.
        stranger = self.write("stranger-ca.crt", mesh_certs.Authority("stranger").cert_pem())
        args = self.control_plane_args(free_port())
        args[args.index("--kube-ca-file") + 1] = stranger
        process = self.start(args, "weft-controlplane-untrusted")
        self.assertNotEqual(process.wait(), 0)
        self.assertRegex(process.output(), r"TLS handshake with https://127\.0\.0\.1:\d+: "
                                           r".*certificate verify failed")
        # A certificate from the right CA, but for another address: the name check refuses it.
        authority = mesh_certs.Authority("kubernetes-test-ca-2")
        other_ca = self.write("other-ca.crt", authority.cert_pem())
        cert, key = mesh_certs.write_pair(
            self.tempdir, "elsewhere", authority.issue([], ip_addresses=["127.0.0.2"]))
        elsewhere = KubeApiServer(cert, key, token=ADMIN_TOKEN).start()
        self.addCleanup(elsewhere.stop)
        args = self.control_plane_args(free_port())
        args[args.index("--kube-api-server") + 1] = elsewhere.url
        args[args.index("--kube-ca-file") + 1] = other_ca
        process = self.start(args, "weft-controlplane-wrong-name")
        self.assertNotEqual(process.wait(), 0)
        self.assertRegex(process.output(), r"TLS handshake with https://127\.0\.0\.1:\d+: "
                                           r".*certificate verify failed")
        self.assertEqual(elsewhere.request_log, [])  # the token never reached it
        self.assertIsNone(self.api.get_secret(*SECRET))

    def test_an_empty_secret_stops_the_start_with_what_to_do(self):
        self.api.put_secret(*SECRET, {})
        process = self.start(self.control_plane_args(free_port()), "weft-controlplane-empty")
        self.assertNotEqual(process.wait(), 0)
        self.assertIn("the Secret exists but holds no data.ca-cert.pem and data.ca-key.pem",
                      process.output())
        self.assertEqual(self.api.requests_to("/api/v1/namespaces/weft-system/secrets", "POST"),
                         [])

    def test_incomplete_flag_sets_are_usage_errors(self):
        binary = os.path.join(BIN_DIR, "weft-controlplane")
        base = ["--config-dir", self.mesh, "--xds-address", "127.0.0.1:0"]
        cases = [
            (["--ca-secret", "weft-ca"], "expected <namespace>/<name>"),
            (["--ca-secret", "Weft/ca", "--token-review"], "expected <namespace>/<name>"),
            (["--ca-secret", "a/b", "--ca-dir", self.tempdir, "--token-review"],
             "either --ca-dir or --ca-secret"),
            (["--ca-secret", "a/b"], "go together"),
            (["--ca-dir", self.tempdir, "--token-review", "--bootstrap-token-file", "t"],
             "either --bootstrap-token-file or --token-review"),
            (["--ca-secret", "a/b", "--token-review", "--kube-api-server", self.api.url],
             "--kube-api-server, --kube-token-file and --kube-ca-file go together"),
            (["--kube-token-file", self.kube_token],
             "are for --kubernetes, --ca-secret and --token-review"),
            (["--ca-secret", "a/b", "--bootstrap-token-file", "t", "--token-review-audience", "x"],
             "--token-review-audience needs --token-review"),
            (["--ca-secret", "a/b", "--token-review", "--xds-tls-hosts", "127.0.0.1"],
             "needs --xds-tls-dir"),
            (["--ca-secret", "a/b", "--token-review", "--xds-tls-dir", self.tempdir],
             "it needs --xds-tls-hosts"),
        ]
        for args, reason in cases:
            result = subprocess.run([binary, *base, *args], capture_output=True, text=True,
                                    timeout=10)
            self.assertEqual(result.returncode, 2, (args, result.stderr))
            self.assertIn(reason, result.stderr, args)


if __name__ == "__main__":
    main()
