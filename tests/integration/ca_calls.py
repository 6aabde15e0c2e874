"""CreateCertificate calls for the integration tests of the control plane's CA: CSRs made by
`openssl req`, the call over python3-grpcio with a bearer token, `openssl verify` of what comes
back, and the CA's /metrics. A mixin for IntegrationTest subclasses that set self.create (the
unary callable) and self.metrics_port."""
import os
import re
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BIN_DIR  # noqa: E402

try:
    import grpc  # the Debian package python3-grpcio, for /usr/bin/python3
except ImportError:  # the tests skip in setUp, which CI counts as a failure (harness.main)
    grpc = None

# Message classes generated at build time by protoc --python_out (tests/integration/CMakeLists).
PROTO_DIR = os.environ.get("WEFT_PYTHON_PROTO_DIR",
                           os.path.join(BIN_DIR, "..", "python"))
sys.path.insert(0, PROTO_DIR)
try:
    from weft.v1 import ca_pb2  # noqa: E402
except ImportError:  # generated at build time; missing means a skip, as above
    ca_pb2 = None

METHOD = "/weft.v1.CertificateService/CreateCertificate"
DEFAULT_TOKEN = "reviews-secret-token"


class CaCalls:

    def open_ca_channel(self, port):
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.create = self.channel.unary_unary(
            METHOD, request_serializer=ca_pb2.CreateCertificateRequest.SerializeToString,
            response_deserializer=ca_pb2.CreateCertificateResponse.FromString)

    def close_ca_channel(self):
        if getattr(self, "channel", None) is not None:
            self.channel.close()
            self.channel = None

    def openssl(self, *args):
        result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30,
                                cwd=self.tempdir)
        self.assertEqual(result.returncode, 0, f"openssl {' '.join(args)}:\n{result.stderr}")
        return result.stdout

    def make_csr(self, name, extra=()):
        """An EC P-256 key and a CSR for it, made by the openssl command line."""
        self.openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                     "-subj", "/CN=whoever-i-claim-to-be", *extra)
        with open(os.path.join(self.tempdir, f"{name}.csr")) as f:
            return f.read()

    def call(self, csr, token=DEFAULT_TOKEN, validity_seconds=None):
        """CreateCertificate with `token` as the bearer token (None: no authorization)."""
        request = ca_pb2.CreateCertificateRequest(csr=csr)
        request.metadata.update({"pod": "reviews-v1-abc", "proxy_version": "test"})
        if validity_seconds:
            request.validity.seconds = validity_seconds
        metadata = [("authorization", f"Bearer {token}")] if token else []
        return self.create(request, metadata=metadata, timeout=10)

    def rejected(self, csr, token=DEFAULT_TOKEN):
        """The status code and details of a call that must fail."""
        with self.assertRaises(grpc.RpcError) as caught:
            self.call(csr, token)
        return caught.exception.code(), caught.exception.details()

    def verify(self, response, name):
        """openssl verify of the returned chain against the returned bundle; the leaf's
        subjectAltName."""
        chain = list(response.certificate_chain)
        leaf = self.write(f"{name}-leaf.pem", chain[0])
        bundle = self.write(f"{name}-bundle.pem", response.trust_bundle)
        args = ["verify", "-CAfile", bundle]
        if len(chain) > 1:
            args += ["-untrusted", self.write(f"{name}-chain.pem", "".join(chain[1:]))]
        self.assertEqual(self.openssl(*args, leaf).strip(), f"{leaf}: OK")
        san = self.openssl("x509", "-in", leaf, "-noout", "-ext", "subjectAltName")
        return leaf, san

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as response:
            return response.read().decode()

    def metric(self, text, name, labels=""):
        match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
        self.assertIsNotNone(match, f"{name}{labels} not in\n{text}")
        return float(match.group(1))
