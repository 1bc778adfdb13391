"""A node's license key, and a cluster's licensing status taken over its nodes.

A key is checked on every read, not only when it is set: trust can change (an issuer no
longer trusted turns its keys missing) and time passes (a valid key turns expiring 30 days
before its expiry, then expired). Checking is a signature verification per node, well
under a millisecond, so a cluster's status is always computed, never stored.

Refusals say why (``keys.check``'s messages); a refused key changes nothing. Audit rows
name the key by its ID, issuer and expiry, never the key itself: a key entitles whoever
holds it (one for any node, ``*``, works on every node that trusts its issuer), and the
trail is read by auditors and exported. For the same reason only callers who may set a
node's key see it whole; others see it shortened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import LicenseStatus
from cloudenv.errors import InvalidInput, NotFound
from cloudenv.services import paths
from cloudenv.services.access import Action, Principal, allowed, authorize, readable
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.licensing import issuers, keys
from cloudenv.store.queries import licensing as q
from cloudenv.store.queries import tenancy as tenancy_queries
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Node, NodeLicense

#: A valid key this close to its expiry is ``expiring``.
EXPIRING_WITHIN = timedelta(days=30)
#: A cluster's status is its worst node's, in this order (worst first): a key that lapsed,
#: then a node without one, then one about to lapse.
SEVERITY = (
    LicenseStatus.EXPIRED,
    LicenseStatus.MISSING,
    LicenseStatus.EXPIRING,
    LicenseStatus.VALID,
)


@dataclass(frozen=True)
class NodeLicenseView:
    """``GET /v1/nodes/{id}/license``: the key (shortened for callers who may not set it),
    what it says, and whether it is valid now."""

    key: str | None
    expiry: datetime | None
    valid: bool
    status: LicenseStatus
    #: Why it is not valid, or that it expires soon; None when valid for 30 days or more.
    reason: str | None
    features: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSummary:
    status: LicenseStatus
    #: The earliest expiry of the nodes' valid keys (None: no valid key).
    next_expiry: datetime | None


@dataclass(frozen=True)
class NodeEntry:
    ok: bool
    expiry: datetime | None
    status: LicenseStatus


@dataclass(frozen=True)
class ClusterLicensing:
    cluster: ClusterSummary
    nodes: Mapping[str, NodeEntry]


@dataclass(frozen=True)
class _Checked:
    """One node's key checked now (``verdict`` None: no key set)."""

    verdict: keys.Verdict | None
    status: LicenseStatus
    reason: str | None

    @property
    def expiry(self) -> datetime | None:
        claims = self.verdict.claims if self.verdict else None
        return claims.expiry if claims else None


def _check(
    node_id: str, stored: NodeLicense | None, trusted: Sequence[keys.TrustedIssuer], now: datetime
) -> _Checked:
    if stored is None:
        return _judge(None, now)
    return _judge(keys.check(stored.key, node_id=node_id, issuers=trusted, now=now), now)


def _judge(verdict: keys.Verdict | None, now: datetime) -> _Checked:
    """A node's status from its key's verdict (None: no key)."""
    if verdict is None:
        return _Checked(
            None,
            LicenseStatus.MISSING,
            "No license key is set on this node (cloudenv works all the same).",
        )
    if not verdict.valid:
        expired = verdict.problem is keys.Problem.EXPIRED
        status = LicenseStatus.EXPIRED if expired else LicenseStatus.MISSING
        return _Checked(verdict, status, verdict.message)
    assert verdict.claims is not None
    if verdict.claims.expiry - now < EXPIRING_WITHIN:
        return _Checked(
            verdict,
            LicenseStatus.EXPIRING,
            f"License key {verdict.claims.id} expires on "
            f"{clock.rfc3339(verdict.claims.expiry)}, within {EXPIRING_WITHIN.days} days; "
            "ask the issuer for a renewed key.",
        )
    return _Checked(verdict, LicenseStatus.VALID, None)


def worst(statuses: Sequence[LicenseStatus]) -> LicenseStatus:
    """A cluster's status from its nodes'; a cluster without nodes lacks no key: valid."""
    return min(statuses, key=SEVERITY.index, default=LicenseStatus.VALID)


def _load(db: Session, principal: Principal, node_id: str, action: Action) -> Node:
    node = tenancy_queries.get_node(db, node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {node_id} does not exist.", field="id")
    authorize(principal, action, node.organization_id, paths.node_path(db, node.id))
    return node


def _view(
    db: Session, principal: Principal, node: Node, stored: NodeLicense | None
) -> NodeLicenseView:
    checked = _check(node.id, stored, issuers.trusted(db), clock.now())
    shown = None
    if stored is not None:
        whole = allowed(
            principal, Action.LICENSE_SET, node.organization_id, paths.node_path(db, node.id)
        )
        shown = keys.normalize(stored.key) if whole else keys.shortened(stored.key)
    claims = checked.verdict.claims if checked.verdict else None
    return NodeLicenseView(
        key=shown,
        expiry=checked.expiry,
        valid=checked.status in (LicenseStatus.VALID, LicenseStatus.EXPIRING),
        status=checked.status,
        reason=checked.reason,
        features=claims.features if claims else (),
    )


def get_node_license(db: Session, principal: Principal, node_id: str) -> NodeLicenseView:
    node = _load(db, principal, node_id, Action.LICENSE_READ)
    return _view(db, principal, node, q.node_license(db, node.id, principal.scope))


def set_node_license(db: Session, principal: Principal, node_id: str, key: str) -> NodeLicenseView:
    """Check ``key`` for the node now and keep it, replacing the one before; a key that is
    not valid for the node (malformed, untrusted, forged, another node's, expired) is
    refused with the reason and changes nothing."""
    node = _load(db, principal, node_id, Action.LICENSE_SET)
    return _view(db, principal, node, store_key(db, principal, node, key))


def store_key(db: Session, principal: Principal, node: Node, key: str) -> NodeLicense:
    """Check and keep ``key`` as ``node``'s, audited; the caller has authorized it (the API
    above, or ``cloudenv init`` setting the deployment up)."""
    text, now = keys.normalize(key), clock.now()
    verdict = keys.check(text, node_id=node.id, issuers=issuers.trusted(db), now=now)
    if not verdict.valid:
        raise InvalidInput(verdict.message, field="key")
    claims = verdict.claims
    assert claims is not None
    stored = q.node_license(db, node.id, UNSCOPED)
    if stored is None:
        stored = NodeLicense(node_id=node.id, organization_id=node.organization_id)
        db.add(stored)
    stored.key, stored.updated = text, now
    db.flush()
    checked = _judge(verdict, now)
    record_change(
        db,
        principal,
        Action.LICENSE_SET,
        event=EventKind.NODE_LICENSE_UPDATED,
        target_id=node.id,
        organization_id=node.organization_id,
        data={"status": checked.status.value, "expiry": clock.rfc3339(claims.expiry)},
        message=(
            f"Set license key {claims.id} from issuer {claims.issuer}, for "
            f"{'any node' if claims.node == keys.ANY_NODE else claims.node}, expiring "
            f"{clock.rfc3339(claims.expiry)}; features: {', '.join(claims.features) or 'none'}."
        ),
    )
    return stored


def cluster_licensing(db: Session, principal: Principal, cluster_id: str) -> ClusterLicensing:
    """Each node's key status (of the nodes whose ``license.read`` the caller's policies
    allow) and the cluster's: its worst node's, with the next expiry among valid keys."""
    cluster = tenancy_queries.get_cluster(db, cluster_id, principal.scope)
    if cluster is None:
        raise NotFound(f"Cluster {cluster_id} does not exist.", field="id")
    place = paths.cluster_path(cluster.datacenter_id, cluster.id)
    authorize(principal, Action.LICENSE_READ, cluster.organization_id, place)
    nodes = readable(
        principal,
        Action.LICENSE_READ,
        tenancy_queries.node_summaries(db, principal.scope, cluster_ids=[cluster.id]),
        lambda n: (*place, n.id),
    )
    stored = q.node_licenses(db, [n.id for n in nodes], principal.scope)
    trusted, now = issuers.trusted(db), clock.now()
    checked = {n.id: _check(n.id, stored.get(n.id), trusted, now) for n in nodes}
    valid = (LicenseStatus.VALID, LicenseStatus.EXPIRING)
    expiries = [c.expiry for c in checked.values() if c.status in valid and c.expiry]
    return ClusterLicensing(
        cluster=ClusterSummary(
            status=worst([c.status for c in checked.values()]),
            next_expiry=min(expiries, default=None),
        ),
        nodes={
            node_id: NodeEntry(ok=c.status in valid, expiry=c.expiry, status=c.status)
            for node_id, c in checked.items()
        },
    )
