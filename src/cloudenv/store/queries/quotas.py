"""Selectors for quotas: what an organization uses now, and its row locked for a check.

Both read one organization by ID and no other, so they take no scope: the quota service
calls them for an organization it has already loaded through a scoped selector (or, for
enforcement, for the organization that owns the node a deploy lands on).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cloudenv.store.tables import Instance, Organization, Volume


@dataclass(frozen=True)
class UsageRow:
    vcpus: int
    memory_mb: int
    instances: int
    storage_bytes: int


def usage(db: Session, organization_id: str) -> UsageRow:
    """Every instance and volume of the organization counts, whatever its state: a stopped
    instance keeps its allocation (it may start again) and a volume kept by a destroy
    still takes its space. Two aggregate queries over the ``organization_id`` indexes."""
    vcpus, memory, count = db.execute(
        select(
            func.coalesce(
                func.sum(Instance.cpu_sockets * Instance.cpu_cores * Instance.cpu_threads), 0
            ),
            func.coalesce(func.sum(Instance.memory_mb), 0),
            func.count(Instance.id),
        ).where(Instance.organization_id == organization_id)
    ).one()
    storage = db.scalar(
        select(func.coalesce(func.sum(Volume.size_bytes), 0)).where(
            Volume.organization_id == organization_id
        )
    )
    return UsageRow(int(vcpus), int(memory), int(count), int(storage or 0))


def lock_organization(db: Session, organization_id: str) -> Organization | None:
    """The organization's row, re-read and locked until the transaction ends, so two
    transactions checking its quota take turns: the second reads the usage only once the
    first has committed (or dropped) what it checked.

    PostgreSQL: ``SELECT … FOR UPDATE``; another transaction's usage read waits at its own
    lock, and under READ COMMITTED its next statement sees what the first committed.
    SQLite has no row locks (SQLAlchemy leaves ``FOR UPDATE`` out), and Python's driver
    only begins a transaction at the first write, so reads before it see no snapshot at
    all. A no-op write to the row takes SQLite's one write lock instead (waiting up to the
    busy timeout for another writer); no other transaction commits until this one ends,
    so the usage read next is current and stays so.
    """
    if db.get_bind().dialect.name == "sqlite":
        db.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(quota_vcpus=Organization.quota_vcpus)
            .execution_options(synchronize_session=False)  # re-read just below
        )
        return db.get(Organization, organization_id, populate_existing=True)
    return db.get(Organization, organization_id, with_for_update=True, populate_existing=True)
