"""The license key format on its own (no database): a key signed by a trusted issuer for a
node checks out for that node only, until its expiry; every kind of bad key is told apart
with a message that names what is wrong; public keys are read in both forms."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from cloudenv.errors import InvalidInput
from cloudenv.services.licensing import keys
from cloudenv.services.licensing.keys import Problem

pytestmark = pytest.mark.unit

NODE = "node-qthm_iLrflJ_DtSS1l4Gx"
OTHER = "node-AAAAAAAAAAAAAAAAAAAAA"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
ISSUER = keys.generate_issuer()


def trusted(*privates: keys.Ed25519PrivateKey) -> list[keys.TrustedIssuer]:
    return [
        keys.TrustedIssuer(keys.fingerprint(p.public_key()), f"issuer-{i}", p.public_key())
        for i, p in enumerate(privates or (ISSUER,))
    ]


def make(node: str = NODE, days: float = 365, private: keys.Ed25519PrivateKey = ISSUER) -> str:
    return keys.issue(
        private,
        node=node,
        expiry=NOW + timedelta(days=days),
        features=["support", "capacity.vcpus-512"],
        issued=NOW - timedelta(days=30),
    )


def check(
    key: str, node: str = NODE, issuers: list[keys.TrustedIssuer] | None = None
) -> Problem | None:
    verdict = keys.check(
        key, node_id=node, issuers=trusted() if issuers is None else issuers, now=NOW
    )
    return verdict.problem


def _payload(key: str) -> dict[str, object]:
    part = key.split(".")[1]
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


def _with_payload(key: str, payload: dict[str, object]) -> str:
    prefix, _, signature = key.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{prefix}.{body}.{signature}"


def test_a_key_round_trips_and_says_what_it_was_issued_with() -> None:
    key = make()
    assert key.startswith("cloudenv-license-1.") and key.isascii() and key.isprintable()
    assert " " not in key and len(key) < 500
    verdict = keys.check(key, node_id=NODE, issuers=trusted(), now=NOW)
    assert verdict.valid and verdict.message == ""
    assert verdict.claims is not None
    assert verdict.claims.node == NODE
    assert verdict.claims.expiry == NOW + timedelta(days=365)
    assert verdict.claims.issued == NOW - timedelta(days=30)
    assert verdict.claims.features == ("support", "capacity.vcpus-512")
    assert verdict.claims.issuer == keys.fingerprint(ISSUER.public_key())
    assert verdict.claims.id.startswith("lic-")
    assert keys.read_claims(key) == verdict.claims


def test_line_breaks_and_spaces_pasted_into_a_key_are_ignored() -> None:
    key = make()
    wrapped = "  " + "\n".join(key[i : i + 64] for i in range(0, len(key), 64)) + "\r\n"
    assert check(wrapped) is None


def test_a_key_for_any_node_fits_every_node() -> None:
    key = make(node="*")
    assert check(key, NODE) is None and check(key, OTHER) is None


def test_another_nodes_key_is_refused_naming_both_nodes() -> None:
    verdict = keys.check(make(node=OTHER), node_id=NODE, issuers=trusted(), now=NOW)
    assert verdict.problem is Problem.OTHER_NODE
    assert OTHER in verdict.message and NODE in verdict.message


def test_an_expired_key_is_refused_with_its_expiry() -> None:
    verdict = keys.check(make(days=-1), node_id=NODE, issuers=trusted(), now=NOW)
    assert verdict.problem is Problem.EXPIRED
    assert "expired on 2026-05-31T00:00:00Z" in verdict.message
    assert verdict.claims is not None  # still readable: the status shows its expiry


def test_a_key_is_valid_until_the_second_of_its_expiry() -> None:
    key = make(days=1)
    assert keys.check(key, node_id=NODE, issuers=trusted(), now=NOW + timedelta(hours=23)).valid
    late = keys.check(key, node_id=NODE, issuers=trusted(), now=NOW + timedelta(days=1))
    assert late.problem is Problem.EXPIRED


def test_an_altered_payload_no_longer_verifies() -> None:
    """Moving a key to another node (or extending it) by editing its payload breaks it."""
    key = make(node=OTHER)
    for change in ({"node": NODE}, {"node": "*"}, {"exp": int(NOW.timestamp()) + 10**8}):
        forged = _with_payload(key, {**_payload(key), **change})
        assert check(forged) is Problem.FORGED, change


def test_a_key_signed_by_another_key_under_a_trusted_fingerprint_is_forged() -> None:
    forger = keys.generate_issuer()
    key = make(private=forger)
    claimed = _with_payload(key, {**_payload(key), "kid": keys.fingerprint(ISSUER.public_key())})
    verdict = keys.check(claimed, node_id=NODE, issuers=trusted(), now=NOW)
    assert verdict.problem is Problem.FORGED
    assert "altered or forged" in verdict.message and "issuer-0" in verdict.message


def test_a_key_from_an_untrusted_issuer_is_refused_naming_it() -> None:
    stranger = keys.generate_issuer()
    verdict = keys.check(make(private=stranger), node_id=NODE, issuers=trusted(), now=NOW)
    assert verdict.problem is Problem.UNTRUSTED
    assert keys.fingerprint(stranger.public_key()) in verdict.message
    assert check(make(private=stranger), issuers=trusted(ISSUER, stranger)) is None


def test_no_trusted_issuer_means_no_key_can_be_checked() -> None:
    verdict = keys.check(make(), node_id=NODE, issuers=[], now=NOW)
    assert verdict.problem is Problem.NO_ISSUERS
    assert "trusts no license issuer" in verdict.message


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "hello",
        "cloudenv-license-1.",
        "cloudenv-license-1.abc.def",
        "cloudenv-license-2.eyJ2IjoxfQ.AAAA",
        "cloudenv-license-1.!!!.AAAA",
        "x" * 5000,
        "cloudenv-license-1." + "A" * 10 + "." + "A" * 86,
    ],
)
def test_garbage_is_malformed_and_says_what_a_key_looks_like(garbage: str) -> None:
    verdict = keys.check(garbage, node_id=NODE, issuers=trusted(), now=NOW)
    assert verdict.problem is Problem.MALFORMED and verdict.claims is None
    assert "not a cloudenv license key" in verdict.message
    assert "cloudenv-license-1.<payload>.<signature>" in verdict.message


def test_a_signed_payload_that_is_not_a_license_is_malformed() -> None:
    """Right signature, wrong content: checked fields, not trusted blindly."""
    signed = "cloudenv-license-1." + base64.urlsafe_b64encode(b'{"v":1}').rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(ISSUER.sign(signed.encode())).rstrip(b"=").decode()
    assert check(f"{signed}.{signature}") is Problem.MALFORMED


def test_problems_are_reported_in_order_malformed_trust_signature_node_expiry() -> None:
    """An expired key for another node from an untrusted issuer: untrusted comes first."""
    stranger = keys.generate_issuer()
    key = make(node=OTHER, days=-5, private=stranger)
    assert check(key) is Problem.UNTRUSTED
    assert check(make(node=OTHER, days=-5)) is Problem.OTHER_NODE


def test_issue_refuses_what_no_key_may_say() -> None:
    with pytest.raises(InvalidInput) as bad_node:
        keys.issue(ISSUER, node="web-1", expiry=NOW + timedelta(days=1), issued=NOW)
    assert bad_node.value.field == "node"
    with pytest.raises(InvalidInput) as backwards:
        keys.issue(ISSUER, node=NODE, expiry=NOW, issued=NOW)
    assert backwards.value.field == "expiry"
    with pytest.raises(InvalidInput) as feature:
        keys.issue(
            ISSUER, node=NODE, expiry=NOW + timedelta(days=1), features=["Has Space"], issued=NOW
        )
    assert feature.value.field == "features"


def test_public_keys_are_read_in_one_line_and_pem_forms() -> None:
    public = ISSUER.public_key()
    line = keys.public_key_text(public)
    assert line.startswith("cloudenv-issuer-1.") and "\n" not in line
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    for text in (line, line + "\n", pem):
        assert keys.raw_public_key(keys.parse_public_key(text)) == keys.raw_public_key(public)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cloudenv-issuer-1.short",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI",
        "-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n",
    ],
)
def test_other_text_is_no_public_key(text: str) -> None:
    with pytest.raises(keys.KeyFormatError):
        keys.parse_public_key(text)


def test_private_keys_round_trip_through_pem() -> None:
    loaded = keys.load_private_key(keys.private_key_pem(ISSUER))
    assert keys.fingerprint(loaded.public_key()) == keys.fingerprint(ISSUER.public_key())
    with pytest.raises(keys.KeyFormatError):
        keys.load_private_key(b"not a key")


def test_a_shortened_key_is_not_the_key_but_tells_keys_apart() -> None:
    first, second = make(), make()
    assert keys.shortened(first) != keys.shortened(second)
    assert check(keys.shortened(first)) is Problem.MALFORMED
    assert len(keys.shortened(first)) < 40
