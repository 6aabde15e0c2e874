#!/usr/bin/env python3
"""Rotation under steady load: two proxies with identities from weft-controlplane's CA (a
server-side proxy with STRICT inbound mTLS, a client-side proxy speaking MUTUAL_MESH to it)
carry a steady load while their workload certificates are renewed, and while the CA's root is
replaced by the bundle-overlap procedure of docs/security.md. Not a single request may fail:
rotation is routine, and a mesh that drops requests whenever a certificate turns over would drop
them every few hours in every pod. And a root added by SIGHUP reaches a proxy connected over
xDS at once, as the control plane's trust-bundle Secret, without waiting for its renewal.

Certificates live 60 s (the shortest the CA grants) and are renewed at 10% of that, about every
6 s, so that each test sees several renewals in a few seconds."""
import http.client
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import harness  # noqa: E402
import mesh_certs  # noqa: E402
import proxy_metrics  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from load_generator import LoadGenerator  # noqa: E402
from mesh_identity import CLIENT_ID, MeshIdentityTest  # noqa: E402

ROTATION = {"validity": "60s", "renew_at_percent": 10}
# Long enough for a renewal (about 6 s) plus a retry after a failed attempt, under ASan too.
RENEWAL_WAIT = 40
# Successful requests the load must add after the last change, so the new state is exercised.
REQUESTS_AFTER_CHANGE = 50


def pem_certificates(text):
    """Every certificate in a PEM text, in order (python3-cryptography 38 has no
    load_pem_x509_certificates)."""
    marker = "-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate((block + marker).encode())
            for block in text.split(marker) if "-----BEGIN CERTIFICATE-----" in block]


def fingerprint(certificate):
    return certificate.fingerprint(hashes.SHA256()).hex()


def signed_by(certificate, issuer):
    """Whether `issuer`'s key signed `certificate` (the CA's keys are ECDSA)."""
    if certificate.issuer != issuer.subject:
        return False
    try:
        issuer.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes,
                                   ec.ECDSA(certificate.signature_hash_algorithm))
        return True
    except InvalidSignature:
        return False


# A workload with a sidecar, so the control plane configures mTLS for it.
MESHED_REVIEWS = """
apiVersion: v1
kind: Service
metadata: {{name: reviews, namespace: default}}
spec:
  selector: {{app: reviews}}
  ports: [{{name: http, port: 9080, targetPort: http}}]
---
apiVersion: weft.dev/v1alpha1
kind: Workload
metadata:
  name: reviews-1
  namespace: default
  labels: {{app: reviews}}
spec:
  address: 127.0.0.1
  ports: [{{name: http, port: {app}}}]
  serviceAccount: reviews
  sidecar: {{inboundPort: {inbound}, outboundPort: {outbound}}}
"""

# Its sidecar: configuration from the control plane, the certificate from its CA (1 h).
MESHED_SIDECAR = """
node: {{id: reviews-1, workload_name: reviews-1, namespace: default, service_account: reviews}}
concurrency: 1
dynamic_resources:
  ads:
    server: {{address: {{address: 127.0.0.1, port: {cp}}}, token_file: {token_file}}}
  ca: {{}}
"""


class ProxyRotationTest(MeshIdentityTest):
    def setUp(self):
        super().setUp()
        self.load = None

    def tearDown(self):
        if self.load is not None:
            self.load.stop()  # a test that failed midway leaves it running
        super().tearDown()

    # --- helpers -------------------------------------------------------------------------

    def start_load(self, outbound):
        self.load = LoadGenerator(outbound).start()
        # The first answers prove the path works before anything changes.
        self.wait_until(lambda: self.load.ok_count() >= 20, "the load's first answers")

    def finish_load(self, admin_ports):
        """Lets the load run a little past the last change, stops it and asserts that it made
        many requests of both kinds and that none failed, and that the proxies (admin ports)
        saw no TLS failure either: a handshake that failed and was retried would not reach the
        load's count."""
        target = self.load.ok_count() + REQUESTS_AFTER_CHANGE
        self.wait_until(lambda: self.load.ok_count() >= target,
                        f"{REQUESTS_AFTER_CHANGE} more answers after the last change")
        by_mode = self.load.ok_by_mode()
        ok, failures = self.load.stop()
        self.load = None
        self.assertEqual(failures, [], f"{len(failures)} failed request(s) of "
                         f"{ok + len(failures)}; the first ones:\n" + "\n".join(failures[:10]))
        for mode, count in by_mode.items():
            self.assertGreater(count, 20, f"few {mode} requests: {by_mode}")
        self.assertGreater(ok, 200, by_mode)
        for port in admin_ports:
            counters = proxy_metrics.scrape(port).counters()
            self.assertEqual({name: value for name, value in counters.items() if value}, {},
                             f"security counters on admin port {port}")

    def identity(self, admin_port):
        """(leaf certificate, trust bundle roots) the proxy holds now."""
        secrets = self.secrets(admin_port)
        chain = pem_certificates(secrets["identity"]["tls_certificate"]["certificate_chain"])
        roots = pem_certificates(secrets["trust-bundle"]["validation_context"]["trusted_ca"])
        return chain[0], roots

    def wait_for_identity(self, name, proxy, issuer, bundle):
        """Waits until the proxy holds a certificate signed by `issuer` and exactly the roots
        `bundle` (in any order), i.e. it has renewed since the CA's material changed."""
        process, admin_port = proxy
        wanted = sorted(fingerprint(root) for root in bundle)

        def holds():
            leaf, roots = self.identity(admin_port)
            return signed_by(leaf, issuer) and sorted(map(fingerprint, roots)) == wanted

        what = (f"the {name} proxy renewed with a certificate from "
                f"{issuer.subject.rfc4514_string()} and {len(bundle)} root(s)")
        try:
            self.wait_until(holds, what, timeout=RENEWAL_WAIT)
        except AssertionError as error:
            # Why it did not: the proxy's view of its requests to the CA, and its log.
            log = "\n".join(process.output().splitlines()[-30:])
            self.fail(f"{error}\n/certs: {self.certs(admin_port)}\n{name} log:\n{log}")

    def reload_ca(self, control_plane):
        """SIGHUP, then waits until the control plane has installed the new material."""
        # Every load of the material (start, each SIGHUP) logs one line ending so; a refused
        # reload logs that it keeps the old material instead.
        loaded, refused = "root(s) in the trust bundle", "keeping the material in use"
        before = control_plane.output().count(loaded)
        control_plane.signal(signal.SIGHUP)
        self.wait_until(lambda: control_plane.output().count(loaded) > before
                        or refused in control_plane.output(), "the CA reloaded its directory")
        self.assertNotIn(refused, control_plane.output())

    def write_ca_file(self, name, text, mode=0o644):
        path = os.path.join(self.ca_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    # --- tests ---------------------------------------------------------------------------

    def test_certificate_renewals_under_load_fail_no_request(self):
        self.start_control_plane()
        (_, server_admin), (_, client_admin), outbound = self.start_mtls_pair(**ROTATION)
        self.start_load(outbound)

        # Each proxy renews twice: both the switch to a new certificate and the retirement of
        # the connections made with the previous one happen under load, on both sides.
        for port in (server_admin, client_admin):
            first = self.certs(port)
            serials = {first["certificate"]["serial"]}

            def renewed_twice():
                certs = self.certs(port)
                serials.add(certs["certificate"]["serial"])
                return certs["issued"] >= first["issued"] + 2 and len(serials) >= 3

            self.wait_until(renewed_twice, f"two renewals on admin port {port}",
                            timeout=2 * RENEWAL_WAIT)
        self.finish_load([server_admin, client_admin])

    def test_root_rotation_under_load_fails_no_request(self):
        control_plane = self.start_control_plane()
        with open(os.path.join(self.ca_dir, "ca-cert.pem")) as f:
            old_root_pem = f.read()
        old_root = pem_certificates(old_root_pem)[0]
        # Made by python3-cryptography without a subjectKeyIdentifier, which the CA must sign
        # under all the same (it once refused every signature with such a root).
        new = mesh_certs.Authority("weft-rotation-root-2")
        new_root = new.cert
        server, client, outbound = self.start_mtls_pair(**ROTATION)
        proxies = {"server": server, "client": client}
        for name, proxy in proxies.items():
            self.wait_for_identity(name, proxy, old_root, [old_root])
        self.start_load(outbound)

        # docs/security.md "Root rotation", step 2: the new root joins the bundle; signing is
        # unchanged. Every proxy must trust it before anything is signed with it.
        self.write_ca_file("extra-roots.pem", new.cert_pem())
        self.reload_ca(control_plane)
        self.assertEqual(self.cp_metric("weft_cp_ca_trust_bundle_roots"), 2)
        for name, proxy in proxies.items():
            self.wait_for_identity(name, proxy, old_root, [old_root, new_root])

        # Steps 3 and 4: sign with the new root, the old one stays trusted. The proxies hold
        # certificates from different roots while each reissues.
        self.write_ca_file("extra-roots.pem", old_root_pem)
        self.write_ca_file("ca-cert.pem", new.cert_pem())
        self.write_ca_file("ca-key.pem", new.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode(), mode=0o600)
        self.reload_ca(control_plane)
        for name, proxy in proxies.items():
            self.wait_for_identity(name, proxy, new_root, [old_root, new_root])

        # Step 5: no proxy holds a certificate from the old root any more: drop it from the
        # bundle.
        os.unlink(os.path.join(self.ca_dir, "extra-roots.pem"))
        self.reload_ca(control_plane)
        self.assertEqual(self.cp_metric("weft_cp_ca_trust_bundle_roots"), 1)
        for name, proxy in proxies.items():
            self.wait_for_identity(name, proxy, new_root, [new_root])

        self.finish_load([server[1], client[1]])
        # The identities still hold end to end: the server side verified the client's
        # certificate (from the new root) against a bundle that has only the new root.
        connection = http.client.HTTPConnection("127.0.0.1", outbound, timeout=10)
        self.assertEqual(self.request(connection).get("x-forwarded-client-cert"),
                         f"URI={CLIENT_ID}")
        connection.close()

    def test_a_root_added_on_sighup_reaches_a_connected_proxy_without_a_renewal(self):
        # A meshed workload: its sidecar gets a PERMISSIVE inbound chain over xDS, whose TLS
        # names the default secrets, so the proxy asks the control plane for "trust-bundle".
        with open(os.path.join(self.mesh, "reviews.yaml"), "w") as manifest:
            manifest.write(MESHED_REVIEWS.format(app=harness.free_port(),
                                                 inbound=harness.free_port(),
                                                 outbound=harness.free_port()))
        control_plane = self.start_control_plane()
        token_file = self.write("token-ads", "reviews-token\n")
        proxy, admin = self.start_named_proxy(
            "reviews", MESHED_SIDECAR.format(cp=self.cp_port, token_file=token_file))
        self.wait_ready(admin)
        proxy.wait_for(r"configuration applied")
        with open(os.path.join(self.ca_dir, "ca-cert.pem"), "rb") as generated:
            old_root = x509.load_pem_x509_certificate(generated.read())
        self.assertEqual(len(self.identity(admin)[1]), 1)

        new = mesh_certs.Authority("weft rotation root 2")
        self.write_ca_file("extra-roots.pem", new.cert_pem())
        self.reload_ca(control_plane)
        # The certificate lives an hour: the two roots can only have come over xDS.
        wanted = sorted([fingerprint(old_root), fingerprint(new.cert)])
        self.wait_until(lambda: sorted(map(fingerprint, self.identity(admin)[1])) == wanted,
                        "the control plane's two-root bundle on the proxy")
        self.assertEqual(self.certs(admin)["issued"], 1)


if __name__ == "__main__":
    harness.main()
