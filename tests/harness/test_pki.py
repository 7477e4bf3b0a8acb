"""The harness's key material: the serving certificate verifies against the CA for
every name the API server is reached at, and the service-account keys are a pair."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from hack.controlplane.pki import SERVING_DNS_NAMES, SERVING_IPS, PkiFiles, write_pki

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return write_pki(tmp_path_factory.mktemp("pki"), now=NOW)


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def verifier(pki: PkiFiles, subject: x509.verification.Subject) -> x509.verification.ServerVerifier:
    store = Store([certificate(pki.ca_cert)])
    return PolicyBuilder().store(store).time(NOW).build_server_verifier(subject)


@pytest.mark.parametrize("name", SERVING_DNS_NAMES)
def test_serving_certificate_verifies_for_each_dns_name(pki: PkiFiles, name: str) -> None:
    chain = verifier(pki, x509.DNSName(name)).verify(certificate(pki.serving_cert), [])
    assert chain[-1] == certificate(pki.ca_cert)


@pytest.mark.parametrize("address", SERVING_IPS)
def test_serving_certificate_verifies_for_each_address(pki: PkiFiles, address: str) -> None:
    subject = x509.IPAddress(ipaddress.ip_address(address))
    chain = verifier(pki, subject).verify(certificate(pki.serving_cert), [])
    assert len(chain) == 2


def test_serving_certificate_is_refused_for_another_name(pki: PkiFiles) -> None:
    with pytest.raises(VerificationError):
        verifier(pki, x509.DNSName("example.com")).verify(certificate(pki.serving_cert), [])


def test_the_addresses_cover_loopback_and_the_kubernetes_service() -> None:
    assert set(SERVING_IPS) == {"127.0.0.1", "10.96.0.1"}
    assert "kubernetes.default.svc.cluster.local" in SERVING_DNS_NAMES


def test_roles_of_the_certificates(pki: PkiFiles) -> None:
    ca = certificate(pki.ca_cert)
    serving = certificate(pki.serving_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert not serving.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert serving.not_valid_before_utc <= NOW < serving.not_valid_after_utc


def test_another_ca_does_not_verify_the_serving_certificate(pki: PkiFiles, tmp_path: Path) -> None:
    other = write_pki(tmp_path, now=NOW)
    with pytest.raises(VerificationError):
        verifier(other, x509.DNSName("localhost")).verify(certificate(pki.serving_cert), [])


def test_a_tls_client_trusting_the_ca_accepts_the_served_certificate(tmp_path: Path) -> None:
    """What every client of the API server does: OpenSSL verification, hostname included."""
    files = write_pki(tmp_path)  # valid now, for the real handshake
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(files.serving_cert, files.serving_key)
    client_context = ssl.create_default_context(cadata=files.ca_cert.read_text())
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve_one() -> None:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)

        server = threading.Thread(target=serve_one, daemon=True)
        server.start()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            peer = tls.getpeercert()
            tls.sendall(b".")
        server.join(timeout=10)
    assert peer is not None
    assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]


def test_service_account_keys_are_a_pair(pki: PkiFiles) -> None:
    private_key = serialization.load_pem_private_key(
        pki.service_account_key.read_bytes(), password=None
    )
    public_key = serialization.load_pem_public_key(pki.service_account_public_key.read_bytes())
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert private_key.key_size == 2048
    assert public_key.public_numbers() == private_key.public_key().public_numbers()
    token = b"header.payload"
    signature = private_key.sign(token, padding.PKCS1v15(), hashes.SHA256())
    public_key.verify(signature, token, padding.PKCS1v15(), hashes.SHA256())  # raises if not


def test_service_account_key_is_pkcs1_as_kube_apiserver_reads_it(pki: PkiFiles) -> None:
    assert pki.service_account_key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")


def test_private_keys_are_readable_by_the_owner_only(pki: PkiFiles) -> None:
    for path in (pki.serving_key, pki.service_account_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_every_up_makes_new_keys(pki: PkiFiles, tmp_path: Path) -> None:
    other = write_pki(tmp_path, now=NOW)
    assert other.service_account_key.read_bytes() != pki.service_account_key.read_bytes()
    assert other.ca_cert.read_bytes() != pki.ca_cert.read_bytes()
