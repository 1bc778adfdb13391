"""Selectors for users. Sign-in finds users by ID or name across organizations (it is by
user name alone), so ``user_with_organization`` and ``usernames_taken`` take no scope;
everything that shows users to a caller takes the caller's scope, so another
organization's users are simply not found."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Lockout, Organization, Policy, User, UserPolicy


def user_with_organization(db: Session, user_id: str) -> tuple[User, bool] | None:
    """The user and whether their organization is the root organization."""
    row = db.execute(
        select(User, Organization.is_root)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id == user_id)
    ).first()
    return None if row is None else (row[0], bool(row[1]))


def get_user(db: Session, user_id: str, scope: Scope) -> User | None:
    return db.scalar(restrict(select(User).where(User.id == user_id), User.organization_id, scope))


def users(db: Session, scope: Scope, organization_id: str | None = None) -> Sequence[User]:
    """The users the scope sees (of one organization when given), by user name."""
    stmt = select(User).order_by(User.organization_id, User.username)
    if organization_id is not None:
        stmt = stmt.where(User.organization_id == organization_id)
    return db.scalars(restrict(stmt, User.organization_id, scope)).all()


def usernames_taken(db: Session, usernames: Collection[str]) -> set[str]:
    """Which of ``usernames`` (compared lower-cased) some user of any organization has:
    names differing only in case would sign in as look-alikes."""
    lowered = {name.lower() for name in usernames}
    if not lowered:
        return set()
    found = db.scalars(
        select(func.lower(User.username)).where(func.lower(User.username).in_(lowered))
    )
    return set(found)


def locked_out_user_ids(db: Session, user_ids: Collection[str], now: datetime) -> set[str]:
    """Which of ``user_ids`` have a lockout in force (not ended, not cleared)."""
    if not user_ids:
        return set()
    return set(
        db.scalars(
            select(Lockout.user_id)
            .where(Lockout.user_id.in_(list(user_ids)))
            .where(Lockout.until > now)
            .where(Lockout.cleared.is_(None))
        )
    )


def policy_ids_of(db: Session, user_ids: Collection[str]) -> dict[str, list[str]]:
    """Each user's policy IDs, in evaluation order."""
    if not user_ids:
        return {}
    found: dict[str, list[str]] = {}
    rows = db.execute(
        select(UserPolicy.user_id, UserPolicy.policy_id)
        .where(UserPolicy.user_id.in_(list(user_ids)))
        .order_by(UserPolicy.user_id, UserPolicy.position, UserPolicy.policy_id)
    )
    for user_id, policy_id in rows:
        found.setdefault(user_id, []).append(policy_id)
    return found


def organization_policy_ids(
    db: Session, organization_id: str, policy_ids: Collection[str]
) -> set[str]:
    """Which of ``policy_ids`` are policies of ``organization_id`` itself."""
    if not policy_ids:
        return set()
    return set(
        db.scalars(
            select(Policy.id)
            .where(Policy.organization_id == organization_id)
            .where(Policy.id.in_(list(policy_ids)))
        )
    )
