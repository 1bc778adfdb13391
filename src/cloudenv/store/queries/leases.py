"""Leases for cluster-wide system jobs (``job_leases``): which node runs a job until when.

Taking and renewing are one compare-and-swap ``UPDATE ... WHERE holder = me OR expires <
now``, so of two nodes asking at once exactly one gets the row; the first take of a job
inserts its row inside a savepoint, and a node that loses that insert race simply
doesn't hold the lease this time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloudenv.store.tables import JobLease


def take(db: Session, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Hold lease ``name`` until ``until`` if it is free, expired or already ours."""
    renewed = db.execute(
        update(JobLease)
        .where(JobLease.name == name, or_(JobLease.holder == holder, JobLease.expires < now))
        .values(holder=holder, expires=until)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if db.scalar(select(JobLease.name).where(JobLease.name == name)) is not None:
        return False  # another node holds it
    try:
        with db.begin_nested():
            db.add(JobLease(name=name, holder=holder, expires=until))
    except IntegrityError:
        return False  # another node inserted it first
    return True


def holder(db: Session, name: str) -> tuple[str, datetime] | None:
    row = db.execute(select(JobLease.holder, JobLease.expires).where(JobLease.name == name)).first()
    return None if row is None else (row[0], row[1])


def release(db: Session, name: str, holder: str) -> None:
    """Give the lease up (a node stopping), so another takes over without waiting."""
    db.execute(
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(expires=datetime(1970, 1, 1, tzinfo=UTC))
        .execution_options(synchronize_session=False)
    )
