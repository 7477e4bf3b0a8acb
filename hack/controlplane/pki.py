"""The control plane's key material, made fresh at every `up`.

- a CA (ECDSA P-256) that the kubeconfigs trust;
- kube-apiserver's serving certificate, signed by that CA, for every name and
  address it is reached at: loopback, `localhost`, and the `kubernetes` Service;
- the service-account key pair (RSA 2048): kube-apiserver signs tokens with the
  private key and verifies them with the public key, as kubeadm sets it up.

Components authenticate with bearer tokens, so no client certificates are needed.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hack.controlplane.settings import CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP

CA_NAME = "kaudit-controlplane-ca"
SERVING_NAME = "kube-apiserver"
SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
)
SERVING_IPS = ("127.0.0.1", KUBERNETES_SERVICE_IP)
# The state is thrown away at every `up`; a year outlives any session.
VALIDITY = datetime.timedelta(days=365)
# Tolerates a clock that runs a little behind the one that signed.
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class PkiFiles:
    """Where `write_pki` put each file (PEM)."""

    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    service_account_key: Path
    service_account_public_key: Path


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def new_ca(now: datetime.datetime) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_NAME))
        .issuer_name(_name(CA_NAME))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


def issue_serving_certificate(
    authority: Authority, now: datetime.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server-auth certificate for kube-apiserver, signed by `authority`."""
    key = ec.generate_private_key(ec.SECP256R1())
    public_key = key.public_key()
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in SERVING_DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(SERVING_NAME))
        .issuer_name(authority.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    return key, certificate


def new_service_account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    # PKCS#1 for RSA and SEC1 for EC: the forms kube-apiserver's keyutil and openssl read.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_secret(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    path.chmod(0o600)


def write_pki(directory: Path, now: datetime.datetime | None = None) -> PkiFiles:
    """Create the CA, the serving certificate and the service-account keys in `directory`."""
    now = now or datetime.datetime.now(datetime.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    files = PkiFiles(
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        service_account_key=directory / "sa.key",
        service_account_public_key=directory / "sa.pub",
    )
    authority = new_ca(now)
    serving_key, serving_cert = issue_serving_certificate(authority, now)
    account_key = new_service_account_key()
    files.ca_cert.write_bytes(certificate_pem(authority.certificate))
    files.serving_cert.write_bytes(certificate_pem(serving_cert))
    _write_secret(files.serving_key, private_key_pem(serving_key))
    _write_secret(files.service_account_key, private_key_pem(account_key))
    files.service_account_public_key.write_bytes(public_key_pem(account_key))
    return files
