"""License keys: what one says, how it is written, and how it is checked, offline.

A key is a statement an issuer signs with Ed25519: "node N (or any node, ``*``) is licensed
until E for features F", issued at I, under its own ID. It is written as one line of
printable ASCII that survives e-mail, web forms and terminals::

    cloudenv-license-1.<payload>.<signature>

- ``payload``: base64url (no padding) of compact JSON ``{"v": 1, "id": "lic-…",
  "kid": <issuer fingerprint>, "node": "node-…" | "*", "iat": <Unix s>, "exp": <Unix s>,
  "features": [...]}``;
- ``signature``: base64url of the Ed25519 signature of the ASCII text before the second
  dot (``cloudenv-license-1.<payload>``). Signing the text as sent needs no canonical JSON,
  and the prefix inside the signed text binds the format's version.

An issuer's public key is written ``cloudenv-issuer-1.<base64url of its 32 bytes>``; a PEM
``PUBLIC KEY`` (what ``openssl pkey -pubout`` writes) is read too. Its fingerprint, the
first 8 bytes of the SHA-256 of those 32 bytes in hex, is the ``kid`` that tells a checker
which trusted key to verify with. Private keys are PKCS#8 PEM (``openssl genpkey
-algorithm ed25519`` makes one too).

Checking needs nothing but the trusted public keys: no network, no database (this module
reads neither). Which issuers are trusted, and who may set a key, is decided elsewhere
(``issuers``, ``nodes``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cloudenv import clock
from cloudenv.errors import InvalidInput
from cloudenv.ids import Prefix, is_id, new_id

KEY_PREFIX = "cloudenv-license-1"
ISSUER_PREFIX = "cloudenv-issuer-1"
FORMAT_VERSION = 1
#: Far longer than any key we write (~350 characters with a few features); a bound so a
#: pasted file is refused before it is decoded.
KEY_MAX = 4096
FEATURES_MAX = 64
#: A feature is a word an issuer chooses: ``support``, ``capacity.vcpus-512``.
FEATURE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
ANY_NODE = "*"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_WHITESPACE = re.compile(r"\s+")


class Problem(StrEnum):
    """Why a key is not valid for a node, in the order they are checked."""

    MALFORMED = "malformed"
    #: The deployment trusts no issuer at all, so nothing can be checked.
    NO_ISSUERS = "no_issuers"
    #: Signed (so it says) by an issuer the deployment does not trust.
    UNTRUSTED = "untrusted"
    #: Names a trusted issuer, but the signature does not verify: altered or forged.
    FORGED = "forged"
    OTHER_NODE = "other_node"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Claims:
    """What a key says (read from its payload; trust it only once ``check`` said valid)."""

    id: str
    #: The issuer's fingerprint (``kid``).
    issuer: str
    #: A node ID, or ``*`` for any node.
    node: str
    issued: datetime
    expiry: datetime
    features: tuple[str, ...]


@dataclass(frozen=True)
class TrustedIssuer:
    """A public key the deployment accepts keys from."""

    fingerprint: str
    name: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a key for a node: its claims when they could be read, and
    what is wrong with it (None: valid) with a message a person can act on."""

    claims: Claims | None
    problem: Problem | None
    message: str = ""

    @property
    def valid(self) -> bool:
        return self.problem is None


class KeyFormatError(ValueError):
    """The text is not a key (or not a public or private key) in our format."""


# Writing ---------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise KeyFormatError(f"its {what} is not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"its {what} is not base64url text") from None


def generate_issuer() -> Ed25519PrivateKey:
    """A new issuer's private key."""
    return Ed25519PrivateKey.generate()


def private_key_pem(private: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: keep the file readable by its owner only."""
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes, password: bytes | None = None) -> Ed25519PrivateKey:
    """An issuer's private key from PEM (KeyFormatError if it is not an Ed25519 one;
    TypeError from ``cryptography`` when it is encrypted and no password was given)."""
    try:
        private = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFormatError("not a PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFormatError("not an Ed25519 private key")
    return private


def raw_public_key(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(public: Ed25519PublicKey) -> str:
    """The one-line form of a public key: ``cloudenv-issuer-1.<base64url>``."""
    return f"{ISSUER_PREFIX}.{_b64encode(raw_public_key(public))}"


def fingerprint(public: Ed25519PublicKey) -> str:
    """The ``kid`` keys name their issuer by: 16 hex digits."""
    return hashlib.sha256(raw_public_key(public)).hexdigest()[:16]


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its one-line form or from PEM (KeyFormatError otherwise)."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            public = serialization.load_pem_public_key(stripped.encode("ascii", "replace"))
        except (ValueError, UnsupportedAlgorithm):
            raise KeyFormatError("not a PEM public key") from None
        if not isinstance(public, Ed25519PublicKey):
            raise KeyFormatError("a PEM public key, but not an Ed25519 one")
        return public
    prefix, dot, body = _WHITESPACE.sub("", stripped).partition(".")
    if prefix != ISSUER_PREFIX or not dot:
        raise KeyFormatError(
            f"an issuer's public key starts with {ISSUER_PREFIX}. or is a PEM PUBLIC KEY"
        )
    raw = _b64decode(body, "key")
    if len(raw) != 32:
        raise KeyFormatError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def check_features(features: Iterable[str]) -> tuple[str, ...]:
    """Features as a key may carry them: unique, in order, each a short lowercase word."""
    listed = tuple(dict.fromkeys(features))
    if len(listed) > FEATURES_MAX:
        raise InvalidInput(f"A key carries at most {FEATURES_MAX} features.", field="features")
    for feature in listed:
        if not FEATURE.fullmatch(feature):
            raise InvalidInput(
                f"Feature {feature[:70]!r} is not a feature name: 1-64 lowercase letters, "
                "digits, '_', '.', ':' or '-', starting with a letter or digit.",
                field="features",
            )
    return listed


def issue(
    private: Ed25519PrivateKey,
    *,
    node: str,
    expiry: datetime,
    features: Sequence[str] = (),
    issued: datetime | None = None,
    key_id: str | None = None,
) -> str:
    """A signed key for ``node`` (a node ID, or ``*`` for any node) until ``expiry``."""
    if node != ANY_NODE and not is_id(node, Prefix.NODE):
        raise InvalidInput(
            f"{node[:64]!r} is not a node ID (node-…) or * (any node).", field="node"
        )
    issued = issued or clock.now()
    if expiry.tzinfo is None:
        raise ValueError("expiry must be an aware datetime")
    if int(expiry.timestamp()) <= int(issued.timestamp()):
        raise InvalidInput("The expiry must be later than the time of issue.", field="expiry")
    payload = {
        "v": FORMAT_VERSION,
        "id": key_id or new_id(Prefix.LICENSE),
        "kid": fingerprint(private.public_key()),
        "node": node,
        "iat": int(issued.timestamp()),
        "exp": int(expiry.timestamp()),
        "features": list(check_features(features)),
    }
    encoded = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    signed = f"{KEY_PREFIX}.{encoded}"
    return f"{signed}.{_b64encode(private.sign(signed.encode('ascii')))}"


# Reading and checking --------------------------------------------------------------------


def normalize(text: str) -> str:
    """The key without the whitespace a mail client or terminal may have put inside it."""
    return _WHITESPACE.sub("", text)


def _split(text: str) -> tuple[str, bytes, bytes]:
    """(signed text, payload bytes, signature) of a key (KeyFormatError)."""
    if len(text) > KEY_MAX:
        raise KeyFormatError(f"it is longer than {KEY_MAX} characters")
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise KeyFormatError(f"a key has three parts separated by dots, the first {KEY_PREFIX}")
    payload = _b64decode(parts[1], "payload")
    signature = _b64decode(parts[2], "signature")
    if len(signature) != 64:
        raise KeyFormatError("its signature is not 64 bytes long")
    return f"{parts[0]}.{parts[1]}", payload, signature


def _claims(payload: bytes) -> Claims:
    try:
        data: Any = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise KeyFormatError("its payload is not JSON") from None
    if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
        raise KeyFormatError(f"its payload is not a version {FORMAT_VERSION} license")
    key_id, kid, node = data.get("id"), data.get("kid"), data.get("node")
    issued, expiry, features = data.get("iat"), data.get("exp"), data.get("features")
    if not (isinstance(key_id, str) and _KEY_ID.fullmatch(key_id)):
        raise KeyFormatError("its payload has no key ID")
    if not (isinstance(kid, str) and _FINGERPRINT.fullmatch(kid)):
        raise KeyFormatError("its payload names no issuer fingerprint")
    if not (isinstance(node, str) and (node == ANY_NODE or is_id(node, Prefix.NODE))):
        raise KeyFormatError("its payload names no node")
    if not (_seconds(issued) and _seconds(expiry)):
        raise KeyFormatError("its payload's times are not Unix seconds")
    if not (isinstance(features, list) and all(isinstance(f, str) for f in features)):
        raise KeyFormatError("its payload's features are not a list of names")
    return Claims(
        id=key_id,
        issuer=kid,
        node=node,
        issued=datetime.fromtimestamp(issued, UTC),
        expiry=datetime.fromtimestamp(expiry, UTC),
        features=tuple(features),
    )


def _seconds(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40


def read_claims(text: str) -> Claims:
    """What a key says, unverified (KeyFormatError): for showing a key, and for ``init``
    to learn which node ID a key was issued for before the node exists."""
    _, payload, _ = _split(normalize(text))
    return _claims(payload)


def check(text: str, *, node_id: str, issuers: Sequence[TrustedIssuer], now: datetime) -> Verdict:
    """Whether ``text`` is a valid key for ``node_id`` at ``now``, given the trusted
    ``issuers``; the first problem found, in ``Problem``'s order, with its message."""
    try:
        signed, payload, signature = _split(normalize(text))
        claims = _claims(payload)
    except KeyFormatError as exc:
        return Verdict(
            None,
            Problem.MALFORMED,
            f"This is not a cloudenv license key ({exc}): a key is one line, "
            f"{KEY_PREFIX}.<payload>.<signature>; paste the whole key as it was issued.",
        )
    if not issuers:
        return Verdict(
            claims,
            Problem.NO_ISSUERS,
            "This deployment trusts no license issuer yet, so no key can be checked; an "
            "administrator of the root organization trusts the issuer's public key first "
            "(cloudenv license trust).",
        )
    named = [i for i in issuers if i.fingerprint == claims.issuer]
    if not named:
        return Verdict(
            claims,
            Problem.UNTRUSTED,
            f"License key {claims.id} is signed by issuer {claims.issuer}, which this "
            "deployment does not trust; use a key from a trusted issuer, or trust that "
            "issuer's public key first (cloudenv license trust).",
        )
    if not any(_verifies(i.public_key, signature, signed) for i in named):
        return Verdict(
            claims,
            Problem.FORGED,
            f"License key {claims.id}'s signature does not verify against the trusted issuer "
            f"{named[0].name} ({claims.issuer}): the key was altered or forged; paste it "
            "again exactly as it was issued.",
        )
    if claims.node not in (ANY_NODE, node_id):
        return Verdict(
            claims,
            Problem.OTHER_NODE,
            f"License key {claims.id} is for node {claims.node}, not {node_id}; set it on "
            f"{claims.node}, or ask the issuer for a key for {node_id}.",
        )
    if claims.expiry <= now:
        return Verdict(
            claims,
            Problem.EXPIRED,
            f"License key {claims.id} expired on {clock.rfc3339(claims.expiry)}; ask the "
            "issuer for a renewed key.",
        )
    return Verdict(claims, None)


def _verifies(public: Ed25519PublicKey, signature: bytes, signed: str) -> bool:
    try:
        public.verify(signature, signed.encode("ascii"))
    except InvalidSignature:
        return False
    return True


def shortened(text: str) -> str:
    """A key as shown to callers who may not set it: enough to tell two keys apart, not
    enough to use one (a key entitles whoever holds it)."""
    key = normalize(text)
    return f"{key[: len(KEY_PREFIX) + 1]}…{key[-8:]}" if len(key) > 40 else "…"
