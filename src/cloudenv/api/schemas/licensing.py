"""License keys and licensing status on the wire (``{key, expiry, valid}`` and the
cluster's ``{cluster:{status, next_expiry}, nodes:{<node_id>:{ok, expiry}}}`` are the
product's; ``status``, ``reason`` and ``features`` are cloudenv's additions)."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp
from cloudenv.enums import LicenseStatus
from cloudenv.services.licensing.keys import KEY_MAX

KEY_EXAMPLE = (
    "cloudenv-license-1.eyJ2IjoxLCJpZCI6ImxpYy1aazN2UTlwTDJtWDh3UjR0WTZ1QjEiLCJraWQiOiI1NjQ3"
    "NWFhNzU0NjM0NzRjIiwibm9kZSI6Im5vZGUtcXRobV9pTHJmbEpfRHRTUzFsNEd4IiwiaWF0IjoxNzY3MjI1Nj"
    "AwLCJleHAiOjE3OTg3NjE2MDAsImZlYXR1cmVzIjpbInN1cHBvcnQiXX0.kCQXZ_0TiKRWaFxHchrwtu6UEjFO2"
    "bVymbZrreQWn45Wshy8jO52FZ3cKlWjq1SZXgi-3OhJFmXE4Vrif8DwBw"
)
PUBLIC_KEY_EXAMPLE = "cloudenv-issuer-1.A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
STATUS_DOC = (
    "valid; expiring (valid, but within 30 days of its expiry); expired; missing (no key, "
    "or one whose issuer is no longer trusted)."
)


class NodeLicense(Schema):
    key: str | None = Field(
        description="The node's key; shortened (its start and end) for callers whose "
        "policies don't allow license.set on the node, as a key entitles whoever holds it. "
        "null when none is set.",
        examples=[KEY_EXAMPLE],
    )
    expiry: Timestamp | None = Field(description="When the key expires; null without a key.")
    valid: bool = Field(description="Valid now: from a trusted issuer, for this node, unexpired.")
    status: LicenseStatus = Field(description=STATUS_DOC)
    reason: str | None = Field(
        description="Why the key is not valid, or that it expires soon; null otherwise.",
        examples=["No license key is set on this node (cloudenv works all the same)."],
    )
    features: list[str] = Field(description="What the key entitles, as its issuer named it.")


class NodeLicenseSet(RequestBody):
    key: str = Field(
        max_length=KEY_MAX,
        description="A license key as its issuer gave it (line breaks and spaces inside "
        "are ignored). Refused with the reason unless it is valid for this node now.",
        examples=[KEY_EXAMPLE],
    )


class ClusterLicensingSummary(Schema):
    status: LicenseStatus = Field(
        description="The worst of its nodes' (expired, then missing, then expiring); "
        "valid for a cluster without nodes. " + STATUS_DOC
    )
    next_expiry: Timestamp | None = Field(
        description="The earliest expiry among the nodes' valid keys; null when none is valid."
    )


class NodeLicensing(Schema):
    ok: bool = Field(description="The node's key is valid now (expiring counts as valid).")
    expiry: Timestamp | None
    status: LicenseStatus = Field(description=STATUS_DOC)


class ClusterLicensing(Schema):
    cluster: ClusterLicensingSummary
    nodes: dict[str, NodeLicensing] = Field(description="By node ID.")


class LicenseIssuer(Schema):
    id: str = Field(examples=["issuer-V8Ue2bQmYc0sLd9XaKf3w"])
    name: str
    public_key: str = Field(examples=[PUBLIC_KEY_EXAMPLE])
    fingerprint: str = Field(
        description="What keys name their issuer by (16 hex digits).", examples=["56475aa75463474c"]
    )
    creation: Timestamp


class LicenseIssuerCreate(RequestBody):
    public_key: str = Field(
        max_length=1024,
        description="The issuer's Ed25519 public key: the line 'cloudenv license keygen' "
        "printed (cloudenv-issuer-1.…) or a PEM PUBLIC KEY.",
        examples=[PUBLIC_KEY_EXAMPLE],
    )
    name: str = Field(
        default="",
        max_length=64,
        description="What to call it (default: its fingerprint).",
        examples=["Vendor A"],
    )
