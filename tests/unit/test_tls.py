"""The node's CA and server certificate, and the client side of pinning them."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloudenv.tls import (
    CertificateFiles,
    certificate_fingerprint,
    client_ssl_context,
    ensure_node_certificates,
    fetch_server_certificates,
)

pytestmark = pytest.mark.unit

FINGERPRINT = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")


def _files(directory: Path) -> CertificateFiles:
    return CertificateFiles(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
    )


def _all(files: CertificateFiles) -> tuple[Path, ...]:
    return (files.ca_cert, files.ca_key, files.server_cert, files.server_key)


def _load_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


@pytest.fixture
def files(tmp_path: Path) -> CertificateFiles:
    made = _files(tmp_path / "tls")
    assert ensure_node_certificates(made, ["node1.example.org"], ["192.0.2.10", "2001:db8::10"])
    return made


def test_creates_private_directory_and_key_modes(files: CertificateFiles) -> None:
    assert stat.S_IMODE(files.ca_cert.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.ca_cert.stat().st_mode) == 0o644
    assert stat.S_IMODE(files.server_cert.stat().st_mode) == 0o644
    assert sorted(p.name for p in files.ca_cert.parent.iterdir()) == sorted(
        p.name for p in _all(files)
    ), "no temporary files are left behind"


def test_second_run_changes_nothing(files: CertificateFiles) -> None:
    before = {path: path.read_bytes() for path in _all(files)}
    assert ensure_node_certificates(files, ["other.example.org"], ["198.51.100.1"]) is False
    assert {path: path.read_bytes() for path in _all(files)} == before


def test_missing_server_files_are_reissued_by_the_same_ca(files: CertificateFiles) -> None:
    ca_before = files.ca_cert.read_bytes(), files.ca_key.read_bytes()
    old_server = files.server_cert.read_bytes()
    files.server_key.unlink()
    assert ensure_node_certificates(files, ["node1.example.org"], []) is True
    assert (files.ca_cert.read_bytes(), files.ca_key.read_bytes()) == ca_before
    assert files.server_cert.read_bytes() != old_server
    leaf = _load_chain(files.server_cert)[0]
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_before[0]))


def test_server_cert_file_is_leaf_then_ca(files: CertificateFiles) -> None:
    leaf, ca = _load_chain(files.server_cert)
    assert ca == x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_subject_alt_names(tmp_path: Path) -> None:
    made = _files(tmp_path / "tls")
    ensure_node_certificates(
        made,
        ["Node1.Example.org.", "node1.example.org", "10.0.0.9", "bad host"],
        ["10.0.0.5", "not-an-ip", "10.0.0.5", "fe80::1%eth0", "::1", ""],
    )
    leaf = _load_chain(made.server_cert)[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node1.example.org", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address(text)
        for text in ("10.0.0.9", "10.0.0.5", "fe80::1", "::1", "127.0.0.1")
    ]


def test_ca_and_server_extensions(files: CertificateFiles) -> None:
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    leaf = _load_chain(files.server_cert)[0]

    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "cloudenv node CA node1.example.org"
    )
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert (constraints.value.ca, constraints.value.path_length) == (True, 0)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    ca_public = ca.public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey)
    assert isinstance(ca_public.curve, ec.SECP256R1)

    leaf_public = leaf.public_key()
    assert isinstance(leaf_public, ec.EllipticCurvePublicKey)
    assert isinstance(leaf_public.curve, ec.SECP256R1)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).critical
    leaf_usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert leaf_usage.digital_signature
    assert not leaf_usage.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    leaf_aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert leaf_aki.key_identifier == ca_ski.digest
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_fingerprint_format(files: CertificateFiles) -> None:
    ca_pem = files.ca_cert.read_bytes()
    fingerprint = certificate_fingerprint(ca_pem)
    assert FINGERPRINT.match(fingerprint)
    assert certificate_fingerprint(files.server_cert.read_bytes()) != fingerprint


def test_rejects_nonpositive_validity(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid_days"):
        ensure_node_certificates(_files(tmp_path), [], [], valid_days=0)


# End to end over a real TLS socket -----------------------------------------------------------


@contextmanager
def _tls_server(files: CertificateFiles) -> Iterator[int]:
    """A TLS server on 127.0.0.1 that completes handshakes and hangs up; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.server_cert, files.server_key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(2)
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    tls.recv(1)  # wait for the client to hang up
            except OSError:
                pass  # the client refused our certificate, or went away
            finally:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        thread.join(timeout=5)
        listener.close()
        assert not thread.is_alive()


def _handshake(context: ssl.SSLContext, port: int, server_hostname: str) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}


def test_end_to_end_trust_on_first_use(files: CertificateFiles, tmp_path: Path) -> None:
    ca_fingerprint = certificate_fingerprint(files.ca_cert.read_bytes())
    leaf_fingerprint = certificate_fingerprint(files.server_cert.read_bytes())
    stranger = _files(tmp_path / "stranger")
    ensure_node_certificates(stranger, ["stranger"], [])

    with _tls_server(files) as port:
        # (a) first use: what the server presents, unverified.
        peer = fetch_server_certificates("127.0.0.1", port)
        assert certificate_fingerprint(peer.leaf) == leaf_fingerprint
        if sys.version_info >= (3, 13):
            assert peer.issuer is not None
            assert certificate_fingerprint(peer.to_pin) == ca_fingerprint
        else:  # no public API for the peer's chain before 3.13: only the leaf comes back
            assert peer.issuer is None
            assert peer.to_pin == peer.leaf
        fetched = peer.to_pin

        # (b) pinned to the node's CA, by name and by address, with strict X.509 checks.
        pinned = client_ssl_context(files.ca_cert)
        assert pinned.check_hostname
        assert pinned.verify_flags & ssl.VERIFY_X509_STRICT
        _handshake(pinned, port, "localhost")
        _handshake(pinned, port, "127.0.0.1")
        _handshake(pinned, port, "node1.example.org")

        # ...and pinned to whatever fetch_server_certificates says to pin.
        fetched_path = tmp_path / "fetched.pem"
        fetched_path.write_bytes(fetched)
        _handshake(client_ssl_context(fetched_path), port, "localhost")

        # A name the certificate does not carry is a clear verification error.
        with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname mismatch"):
            _handshake(pinned, port, "elsewhere.example.org")

        # (c) a different CA is not trusted.
        with pytest.raises(ssl.SSLCertVerificationError) as refused:
            _handshake(client_ssl_context(stranger.ca_cert), port, "localhost")
        assert "mismatch" not in str(refused.value)
