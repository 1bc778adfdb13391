"""Selectors for licensing: trusted issuers and nodes' keys, through the caller's scope."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import LicenseIssuer, NodeLicense


def issuers(db: Session, scope: Scope) -> Sequence[LicenseIssuer]:
    stmt = restrict(select(LicenseIssuer), LicenseIssuer.organization_id, scope)
    return db.scalars(stmt.order_by(LicenseIssuer.creation, LicenseIssuer.id)).all()


def get_issuer(db: Session, issuer_id: str, scope: Scope) -> LicenseIssuer | None:
    stmt = select(LicenseIssuer).where(LicenseIssuer.id == issuer_id)
    found: LicenseIssuer | None = db.scalar(restrict(stmt, LicenseIssuer.organization_id, scope))
    return found


def issuer_by_public_key(db: Session, public_key: str) -> LicenseIssuer | None:
    """The issuer row of a key, whoever asks: for refusing to trust one key twice."""
    found: LicenseIssuer | None = db.scalar(
        select(LicenseIssuer).where(LicenseIssuer.public_key == public_key)
    )
    return found


def node_license(db: Session, node_id: str, scope: Scope) -> NodeLicense | None:
    stmt = select(NodeLicense).where(NodeLicense.node_id == node_id)
    found: NodeLicense | None = db.scalar(restrict(stmt, NodeLicense.organization_id, scope))
    return found


def node_licenses(db: Session, node_ids: Collection[str], scope: Scope) -> dict[str, NodeLicense]:
    """The keys of ``node_ids`` that have one, by node ID."""
    if not node_ids:
        return {}
    stmt = select(NodeLicense).where(NodeLicense.node_id.in_(list(node_ids)))
    return {
        row.node_id: row for row in db.scalars(restrict(stmt, NodeLicense.organization_id, scope))
    }
