"""Per-organization quotas: the most vCPUs, memory, volume storage and instances an
organization's resources may add up to (None: unlimited), and the one check every
service that adds to them calls (``enforce``): deploying (an instance and its new
volumes), editing an instance's CPU or memory, creating or growing a volume
(``services.storage.volumes``). Attaching a device adds nothing: it attaches an existing
volume (already counted) or an image.

Who sets them: the root organization's administrators (``quota.update``), never the
organization itself. A limit that the limited organization's own administrators could
lift would bound nothing; the seed gives the root organization "full administrative
control over all other organizations", and quotas are how it shares the deployment out.
An organization reads its own quotas and usage with ``quota.read``.

Lowering a quota below what is in use is allowed: what exists stays, and only what would
add to the usage is refused until it is back under the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.orm import Session

from cloudenv.errors import Conflict, Forbidden, NotFound
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.store.queries import quotas as q
from cloudenv.store.queries import tenancy as tenancy_queries
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Organization

#: The largest limit (the columns are 32-bit integers on PostgreSQL).
QUOTA_MAX = 2**31 - 1
GIB = 1024**3


class Usage(NamedTuple):
    vcpus: int
    memory_mb: int
    storage_gb: int
    instances: int


@dataclass(frozen=True)
class QuotasView:
    """The limits (None: unlimited) and what the organization uses now."""

    vcpus: int | None
    memory_mb: int | None
    storage_gb: int | None
    instances: int | None
    usage: Usage


@dataclass(frozen=True)
class Demand:
    """What a request would add to its organization's usage."""

    vcpus: int = 0
    memory_mb: int = 0
    storage_gb: int = 0
    instances: int = 0
    #: Storage not in whole GB (a volume of 1.5 GB), added to ``storage_gb``.
    storage_bytes: int = 0

    @property
    def storage_total_bytes(self) -> int:
        return self.storage_gb * GIB + self.storage_bytes


def get_quotas(db: Session, principal: Principal, organization_id: str) -> QuotasView:
    org = _load(db, principal, organization_id)
    authorize(principal, Action.QUOTA_READ, org.id)
    return _view(db, org)


def set_quotas(
    db: Session,
    principal: Principal,
    organization_id: str,
    *,
    vcpus: int | None,
    memory_mb: int | None,
    storage_gb: int | None,
    instances: int | None,
) -> QuotasView:
    """Replace every limit (the API checked each is None or 0..QUOTA_MAX)."""
    org = _load(db, principal, organization_id)
    authorize(principal, Action.QUOTA_UPDATE, org.id)
    if not (principal.is_root_org or principal.unrestricted):
        raise Forbidden(
            "Quotas are set by the root organization's administrators: a limit "
            f"organization {org.name}'s own administrators could lift would bound nothing."
        )
    before = _limits(org)
    org.quota_vcpus = vcpus
    org.quota_memory_mb = memory_mb
    org.quota_storage_gb = storage_gb
    org.quota_instances = instances
    after = _limits(org)
    changes = ", ".join(
        f"{name} {_shown(before[name])} -> {_shown(after[name])}"
        for name in after
        if before[name] != after[name]
    )
    record_change(
        db,
        principal,
        Action.QUOTA_UPDATE,
        event=EventKind.ORGANIZATION_UPDATED,
        target_id=org.id,
        organization_id=org.id,
        message=f"quotas: {changes}" if changes else "quotas unchanged",
    )
    return _view(db, org)


def enforce(
    db: Session,
    organization_id: str,
    demand: Demand,
    *,
    request: str,
    increase: bool = False,
    storage_field: str = "metadata.new_volumes",
) -> None:
    """Refuse (Conflict) a request that would take the organization past a quota; the
    message names the quota, the usage and the request: "… 6 are in use and ``request``
    asks for 4" (``increase``: "4 more", for an edit of something already counted). A
    storage refusal names ``storage_field`` (a deploy's new volumes, a volume's size).

    Called in the transaction that then writes the request's rows, before any of them:
    a refusal leaves nothing behind. An organization with a limit is locked first
    (``store.queries.quotas.lock_organization``), so concurrent requests of one
    organization are checked one after another against each other's committed usage;
    one without any limit is neither read for usage nor locked.
    """
    # The organization owning the node or instance the caller already reached: the quota
    # binds it whoever asks, the node itself and the root user included.
    org = tenancy_queries.get_organization(db, organization_id, UNSCOPED)
    if org is None or all(v is None for v in _limits(org).values()):
        return
    org = q.lock_organization(db, organization_id)
    assert org is not None  # read just above, in this transaction
    used = q.usage(db, organization_id)
    more = " more" if increase else ""
    checks = (
        ("instance", org.quota_instances, used.instances, demand.instances, "", None),
        ("vCPU", org.quota_vcpus, used.vcpus, demand.vcpus, "", "cpu"),
        ("memory", org.quota_memory_mb, used.memory_mb, demand.memory_mb, " MB", "memory"),
    )
    for label, limit, in_use, wanted, unit, field in checks:
        if limit is not None and wanted > 0 and in_use + wanted > limit:
            asked = f"{wanted}{unit}{more}"
            raise Conflict(
                _refusal(org, label, f"{limit}{unit}", f"{in_use}{unit}", asked, request),
                field=field,
            )
    limit_gb, wanted_bytes = org.quota_storage_gb, demand.storage_total_bytes
    if (
        limit_gb is not None
        and wanted_bytes > 0
        and used.storage_bytes + wanted_bytes > limit_gb * GIB
    ):
        raise Conflict(
            _refusal(
                org,
                "storage",
                f"{limit_gb} GB",
                f"{_gb(used.storage_bytes)} GB",
                f"{_gb_text(wanted_bytes)} GB{more}",
                request,
            ),
            field=storage_field,
        )


def _refusal(
    org: Organization, label: str, limit: str, in_use: str, wanted: str, request: str
) -> str:
    verb = "is" if in_use.split()[0] == "1" else "are"
    return (
        f"Organization {org.name}'s {label} quota is {limit}; {in_use} {verb} in use and "
        f"{request} asks for {wanted}. Free some, or ask an administrator of the root "
        "organization to raise the quota."
    )


def _load(db: Session, principal: Principal, organization_id: str) -> Organization:
    org = tenancy_queries.get_organization(db, organization_id, principal.scope)
    if org is None:
        raise NotFound(f"Organization {organization_id} does not exist.", field="id")
    return org


def _view(db: Session, org: Organization) -> QuotasView:
    used = q.usage(db, org.id)
    return QuotasView(
        vcpus=org.quota_vcpus,
        memory_mb=org.quota_memory_mb,
        storage_gb=org.quota_storage_gb,
        instances=org.quota_instances,
        usage=Usage(used.vcpus, used.memory_mb, _gb(used.storage_bytes), used.instances),
    )


def _limits(org: Organization) -> dict[str, int | None]:
    return {
        "vcpus": org.quota_vcpus,
        "memory_mb": org.quota_memory_mb,
        "storage_gb": org.quota_storage_gb,
        "instances": org.quota_instances,
    }


def _gb(size_bytes: int) -> int:
    """Bytes in whole GB, rounded up: a volume of 1.5 GB takes 2 from the quota's view."""
    return -(-size_bytes // GIB)


def _gb_text(size_bytes: int) -> str:
    """A requested size in GB as the user gave it: whole ("4"), else to two places ("1.5")."""
    if size_bytes % GIB == 0:
        return str(size_bytes // GIB)
    return f"{size_bytes / GIB:.2f}".rstrip("0").rstrip(".")


def _shown(limit: int | None) -> str:
    return "unlimited" if limit is None else str(limit)
