"""Test certificates for mesh mTLS: a P-256 root and workload certificates
(X.509-SVIDs) made to order, including the broken kinds a proxy must refuse
(a second URI SAN, CA=true, expired, signed by another root).

Uses python3-cryptography; every key is ECDSA P-256 unless asked otherwise."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_NOW = datetime.datetime.now(datetime.timezone.utc)
_DAY = datetime.timedelta(days=1)


class Authority:
    """A root CA that signs workload certificates."""

    def __init__(self, name="weft-test-root", key=None):
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - _DAY).not_valid_after(_NOW + 30 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))

    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def key_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def issue(self, uris, is_ca=False, not_before=None, not_after=None, dns_names=(),
              ip_addresses=(), common_name=None, organizations=()):
        """A workload certificate with these URI SANs (and DNS or IP SANs, for a server
        certificate such as the control plane's or a Kubernetes API server's; or a subject,
        for a Kubernetes client certificate: CN the user, O its groups); returns
        (cert_pem, key_pem)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        if common_name:
            subject.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or _NOW - _DAY)
            .not_valid_after(not_after or _NOW + _DAY)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False))
        if uris or dns_names or ip_addresses:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(u) for u in uris] +
                    [x509.DNSName(name) for name in dns_names] +
                    [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]),
                critical=True)
        if is_ca:
            builder = builder.add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                              content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False), critical=True)
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def expired_window():
    """(not_before, not_after) of a certificate that expired an hour ago."""
    return _NOW - 2 * _DAY, _NOW - datetime.timedelta(hours=1)


def write_pair(directory, name, pair):
    """Writes (cert_pem, key_pem) as <name>.pem / <name>-key.pem; returns both paths."""
    cert_path = os.path.join(directory, f"{name}.pem")
    key_path = os.path.join(directory, f"{name}-key.pem")
    with open(cert_path, "w") as f:
        f.write(pair[0])
    with open(key_path, "w") as f:
        f.write(pair[1])
    os.chmod(key_path, 0o600)
    return cert_path, key_path
