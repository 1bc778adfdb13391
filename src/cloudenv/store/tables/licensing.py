"""Licensing: the issuers a deployment trusts and each node's license key.

Trust is the deployment's, not a tenant's: issuer rows belong to the root organization
(only its users see or change them), and every node's key is checked against them. A
node's key row carries the node's organization, so reading it is one scoped lookup. What a
key says (node, expiry, features) is read from the key on every check, never copied into
columns: trust can change after a key was set, and a copy could disagree with the key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class LicenseIssuer(Base):
    """An Ed25519 public key whose signatures on license keys the deployment accepts."""

    __tablename__ = "license_issuers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    #: The key's one-line form (``cloudenv-issuer-1.…``), whatever form it was given in.
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: What keys name their issuer by (``kid``): not unique by itself, only a hint.
    fingerprint: Mapped[str] = mapped_column(String(16), index=True)
    creation: Mapped[datetime]


class NodeLicense(Base):
    """The license key last set on a node (at most one: setting another replaces it)."""

    __tablename__ = "node_licenses"

    node_id: Mapped[str] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(Text)
    updated: Mapped[datetime]
