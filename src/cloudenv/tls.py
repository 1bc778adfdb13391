"""TLS material for a cloudenv node: a small private CA, the daemon's server certificate, and
the client side of trusting it.

The daemon serves HTTPS on its own, without a public CA, so every node makes its own trust
root the first time it starts (:func:`ensure_node_certificates`) and clients pin it, either
by copying the CA file out of band or by trust-on-first-use like SSH
(:func:`fetch_server_certificates`, :func:`certificate_fingerprint`, :func:`client_ssl_context`).

Why a two-level CA instead of a single self-signed server certificate: modern verifiers treat
a trust anchor and an end-entity certificate differently. Go's ``crypto/tls`` and Python
3.13+ (whose default context turns on ``VERIFY_X509_STRICT``) accept a pinned CA file that
signs a leaf, but can reject a self-signed leaf used as its own trust anchor (a CA must say
``CA:TRUE`` and ``keyCertSign``; a server certificate must not). So each node gets:

* a CA: EC P-256, ``basicConstraints CA:TRUE, pathlen:0`` (critical),
  ``keyUsage keyCertSign, cRLSign`` (critical), named ``cloudenv node CA <hostname>``;
* a server certificate signed by it: EC P-256, ``CA:FALSE``, ``keyUsage digitalSignature``,
  ``extendedKeyUsage serverAuth``, authority and subject key identifiers, and every name the
  node answers to as a subjectAltName. Go ignores the subject CN entirely, so every hostname
  (as a DNS name), ``localhost``, and every address (as an IP, including ``127.0.0.1`` and
  ``::1``) has to be in the SAN list.

The server certificate file holds the chain, server certificate first and then the CA, so a
server loading it (``uvicorn --ssl-certfile``) sends both; that is what lets a client on
Python 3.13+ pick the CA out of the handshake on first use.

Private keys are written ``0600`` from the moment they exist, certificates ``0644``, and a
directory this module creates for them is ``0700``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertificateFiles",
    "PeerCertificates",
    "certificate_fingerprint",
    "client_ssl_context",
    "ensure_node_certificates",
    "fetch_server_certificates",
]

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_KEY_MODE = 0o600
_CERT_MODE = 0o644
_DIR_MODE = 0o700
# Backdate notBefore a little so a client whose clock runs slightly behind still accepts it.
_CLOCK_SKEW = timedelta(hours=1)
_MAX_CN_LENGTH = 64  # the X.520 upper bound for commonName
_ORGANIZATION = "cloudenv"
_LOOPBACK_NAME = "localhost"
_LOOPBACK_ADDRESSES: tuple[_IPAddress, ...] = (
    ipaddress.IPv4Address("127.0.0.1"),
    ipaddress.IPv6Address("::1"),
)
_DNS_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DNS_NAME = re.compile(rf"^(?:\*\.)?{_DNS_LABEL}(?:\.{_DNS_LABEL})*$")


@dataclass(frozen=True)
class CertificateFiles:
    """Where a node keeps its TLS material.

    ``server_cert`` holds the chain (server certificate, then the CA certificate) and is what
    the HTTPS server loads together with ``server_key``; ``ca_cert`` is what clients pin.
    """

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def ensure_node_certificates(
    files: CertificateFiles,
    hostnames: Sequence[str],
    addresses: Sequence[str],
    *,
    valid_days: int = 3650,
) -> bool:
    """Create the node's CA and a server certificate signed by it, unless they already exist.

    The CA is EC P-256 with ``CA:TRUE`` (critical, ``pathlen:0``), ``keyCertSign`` and
    ``cRLSign``, named ``cloudenv node CA <hostname>`` after the first hostname (or this
    machine's name when none is given). The server certificate is EC P-256, ``CA:FALSE``,
    ``digitalSignature``, ``serverAuth``, with authority and subject key identifiers and a
    subjectAltName holding every hostname as a DNS name plus ``localhost``, and every address
    as an IP plus ``127.0.0.1`` and ``::1``. Entries of ``addresses`` that are not IP
    addresses, and hostnames that are not valid DNS names, are skipped; a hostname that is an
    IP literal is listed as an IP; duplicates are removed.

    Existing files are never rewritten when all four exist, even if the names have changed
    since (delete the server certificate and key to reissue them under the same CA). When the
    CA certificate and key both exist but a server file is missing, a new server certificate
    is issued by the existing CA; when either CA file is missing, a new CA and a new server
    certificate are made. ``files.server_cert`` receives the chain: server certificate, then
    CA certificate.

    Missing parent directories are created ``0700``; keys are created ``0600`` (never
    readable by others, not even briefly) and certificates ``0644``; every file is written
    to a temporary name and renamed into place, so a crash leaves no half-written file.

    Returns True when it created anything, False when everything was already there.
    Raises ValueError when ``valid_days`` is not positive or an existing CA key does not
    belong to the existing CA certificate.
    """
    if valid_days < 1:
        raise ValueError(f"valid_days must be at least 1, got {valid_days}")
    wanted = (files.ca_cert, files.ca_key, files.server_cert, files.server_key)
    if all(path.exists() for path in wanted):
        return False

    dns_names, ip_addresses = _subject_alt_names(hostnames, addresses)
    node_name = _first_usable_name(hostnames) or socket.gethostname() or _LOOPBACK_NAME

    for directory in dict.fromkeys(path.parent for path in wanted):
        _make_private_directory(directory)

    now = datetime.now(UTC)
    if files.ca_cert.exists() and files.ca_key.exists():
        ca_cert, ca_key = _load_ca(files.ca_cert, files.ca_key)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _build_ca(ca_key, node_name, now, valid_days)
        _write_file(files.ca_key, _private_key_pem(ca_key), _KEY_MODE)
        _write_file(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), _CERT_MODE)

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _build_server(
        server_key, ca_cert, ca_key, dns_names, ip_addresses, node_name, now, valid_days
    )
    chain = server_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    # Key before certificate: a present server certificate means the pair is complete.
    _write_file(files.server_key, _private_key_pem(server_key), _KEY_MODE)
    _write_file(files.server_cert, chain, _CERT_MODE)
    return True


def certificate_fingerprint(pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate's DER encoding, as
    ``openssl x509 -fingerprint -sha256`` shows it: uppercase hex pairs joined by ``:``.

    When ``pem`` holds several certificates (a chain file), the first one is used.
    """
    certificate = x509.load_pem_x509_certificate(pem)
    return ":".join(f"{byte:02X}" for byte in certificate.fingerprint(hashes.SHA256()))


@dataclass(frozen=True)
class PeerCertificates:
    """What a server presented: its certificate and, when it sent it, the issuing CA."""

    leaf: bytes
    issuer: bytes | None

    @property
    def to_pin(self) -> bytes:
        """The certificate to trust from now on: the CA when known (it survives reissuing
        the server certificate), else the server certificate itself."""
        return self.issuer or self.leaf


def fetch_server_certificates(host: str, port: int, timeout: float = 10.0) -> PeerCertificates:
    """Read, without verifying them, the certificates ``host:port`` presents (PEM).

    This is trust-on-first-use, as SSH does it: the caller shows the fingerprint of
    ``leaf`` (the server certificate: what ``cloudenv init`` prints and what a browser's
    certificate viewer shows) so a person can compare, then stores ``to_pin`` and uses
    :func:`client_ssl_context` from then on. Nothing about the connection is trusted here.

    The issuer is known only where Python can read the peer's chain
    (``SSLSocket.get_unverified_chain()``, from 3.13); a cloudenv node sends leaf and CA.

    Raises OSError (``ssl.SSLError`` and ``TimeoutError`` included) when the connection or
    handshake fails.
    """
    server_hostname = host.removeprefix("[").removesuffix("]")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((server_hostname, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        chain = _unverified_chain(tls)
        if not chain:
            leaf_der = tls.getpeercert(binary_form=True)
            if not leaf_der:
                raise ssl.SSLError(f"{host}:{port} presented no certificate")
            chain = [leaf_der]
    certificates = [x509.load_der_x509_certificate(der) for der in chain]
    leaf = certificates[0]
    issuer = _issuer_in(leaf, certificates[1:])
    pem = serialization.Encoding.PEM
    return PeerCertificates(leaf.public_bytes(pem), issuer.public_bytes(pem) if issuer else None)


def client_ssl_context(ca_pem_path: Path) -> ssl.SSLContext:
    """A verifying client context that trusts only the certificate(s) in ``ca_pem_path``.

    This pins the node: the system's CA store is not loaded, so nothing else is trusted.
    The file is normally the node's CA certificate; a server certificate pinned on
    Python < 3.13 (see :func:`fetch_server_certificates`) works too, because partial-chain
    verification is on (the pinned certificate is the trust anchor even when it is not
    self-signed). Strict X.509 checks are on as they are by default on Python 3.13+, and
    TLS 1.2 is the minimum.

    Hostname checking stays on: the name or address the caller connects with must be in the
    server certificate's subjectAltName (a node's certificate lists its hostnames,
    ``localhost``, its addresses, ``127.0.0.1`` and ``::1``). Connecting by any other name or
    address fails the handshake with ``ssl.SSLCertVerificationError`` ("Hostname mismatch" /
    "IP address mismatch"); the fix is to connect by a listed name, or to add the name to
    the node's certificate and reissue it, not to turn checking off.

    Raises FileNotFoundError when the file is missing and ``ssl.SSLError`` when it holds no
    certificate.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cafile=os.fspath(ca_pem_path))
    return context


# Names ---------------------------------------------------------------------------------------


def _subject_alt_names(
    hostnames: Iterable[str], addresses: Iterable[str]
) -> tuple[list[str], list[_IPAddress]]:
    """The DNS names and IP addresses for the server certificate, deduplicated, in order,
    with ``localhost`` and the loopback addresses always present."""
    dns_names: dict[str, None] = {}
    ip_addresses: dict[_IPAddress, None] = {}
    for hostname in hostnames:
        address = _parse_address(hostname)
        if address is not None:
            ip_addresses[address] = None
            continue
        name = _normalise_hostname(hostname)
        if name is not None:
            dns_names[name] = None
    dns_names[_LOOPBACK_NAME] = None
    for text in addresses:
        address = _parse_address(text)
        if address is not None:
            ip_addresses[address] = None
    for address in _LOOPBACK_ADDRESSES:
        ip_addresses[address] = None
    return list(dns_names), list(ip_addresses)


def _parse_address(text: str) -> _IPAddress | None:
    """An IP address from ``text`` (brackets and an IPv6 zone are dropped), or None."""
    candidate = text.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _normalise_hostname(text: str) -> str | None:
    """``text`` as a lower-case ASCII DNS name (IDNA-encoded if need be), or None if it is
    not one."""
    name = text.strip().rstrip(".").lower()
    if not name:
        return None
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if len(name) > 253 or not _DNS_NAME.fullmatch(name):
        return None
    return name


def _first_usable_name(hostnames: Iterable[str]) -> str | None:
    for hostname in hostnames:
        if _parse_address(hostname) is not None:
            return hostname.strip()
        name = _normalise_hostname(hostname)
        if name is not None:
            return name
    return None


def _common_name(text: str) -> str:
    return text[:_MAX_CN_LENGTH]


# Certificates --------------------------------------------------------------------------------


def _build_ca(
    key: ec.EllipticCurvePrivateKey, node_name: str, now: datetime, valid_days: int
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, _common_name(f"cloudenv node CA {node_name}")),
        ]
    )
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _build_server(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    dns_names: Sequence[str],
    ip_addresses: Sequence[_IPAddress],
    node_name: str,
    now: datetime,
    valid_days: int,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, _common_name(node_name)),
        ]
    )
    # A certificate must not outlive its issuer.
    not_after = min(now + timedelta(days=valid_days), ca_cert.not_valid_after_utc)
    try:
        ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id)
    except x509.ExtensionNotFound:
        authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    alt_names += [x509.IPAddress(address) for address in ip_addresses]
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(not_after)
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
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_id, critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _load_ca(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path} is not an EC private key")
    if key.public_key() != certificate.public_key():
        raise ValueError(f"{key_path} is not the key of {cert_path}")
    return certificate, key


def _issuer_in(
    leaf: x509.Certificate, candidates: Iterable[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate among ``candidates`` that signed ``leaf``, if any."""
    for candidate in candidates:
        if candidate.subject != leaf.issuer:
            continue
        try:
            leaf.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def _unverified_chain(tls: ssl.SSLSocket) -> list[bytes]:
    """The DER certificates the peer sent, leaf first; empty where Python cannot tell
    (``SSLSocket.get_unverified_chain`` is new in 3.13)."""
    method = getattr(tls, "get_unverified_chain", None)
    if method is None:
        return []
    entries = method()
    if not entries:
        return []
    return [bytes(entry) for entry in entries if isinstance(entry, bytes | bytearray)]


def _private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# Files ---------------------------------------------------------------------------------------


def _make_private_directory(directory: Path) -> None:
    """Create ``directory`` (and missing parents) if need be; the directory itself gets
    ``0700``. An existing directory's mode is left alone."""
    if directory.is_dir():
        return
    directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(directory, _DIR_MODE)  # mkdir's mode is filtered through the umask


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` atomically with permissions ``mode`` from the first byte on."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temporary, flags, mode)
    try:
        try:
            os.fchmod(fd, mode)  # os.open's mode is filtered through the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
