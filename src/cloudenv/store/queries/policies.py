"""Selectors for organizations' own IAM policies and who holds them. The built-in
policies are not rows (``services.iam.builtin``); assignments name them by ID all the
same, so the holder counts here work for both."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Policy, User, UserPolicy


def get_policy(db: Session, policy_id: str, scope: Scope) -> Policy | None:
    stmt = restrict(select(Policy).where(Policy.id == policy_id), Policy.organization_id, scope)
    found: Policy | None = db.scalar(stmt)
    return found


def policies(db: Session, organization_id: str) -> Sequence[Policy]:
    """The organization's own policies, by name (the caller checked it sees it)."""
    stmt = select(Policy).where(Policy.organization_id == organization_id)
    return db.scalars(stmt.order_by(Policy.name, Policy.id)).all()


def name_taken(db: Session, organization_id: str, name: str, but: str = "") -> bool:
    """Whether another policy of the organization has this name, in any case (two
    policies told apart by case alone would be chosen wrongly in a list)."""
    stmt = select(
        exists().where(
            Policy.organization_id == organization_id,
            func.lower(Policy.name) == name.lower(),
            Policy.id != but,
        )
    )
    return bool(db.scalar(stmt))


def holder_counts(
    db: Session, policy_ids: Collection[str], scope: Scope, organization_id: str | None = None
) -> dict[str, int]:
    """How many users the scope sees hold each policy (of one organization when given)."""
    if not policy_ids:
        return {}
    stmt = (
        select(UserPolicy.policy_id, func.count())
        .join(User, User.id == UserPolicy.user_id)
        .where(UserPolicy.policy_id.in_(policy_ids))
        .group_by(UserPolicy.policy_id)
    )
    if organization_id is not None:
        stmt = stmt.where(User.organization_id == organization_id)
    rows = db.execute(restrict(stmt, User.organization_id, scope)).all()
    return {policy_id: int(count) for policy_id, count in rows}


def holder_names(db: Session, policy_id: str, limit: int) -> Sequence[str]:
    """The user names of the first ``limit`` holders of a policy, by name (every
    holder's, whatever the scope: an organization's own policy has only its own users)."""
    stmt = (
        select(User.username)
        .join(UserPolicy, UserPolicy.user_id == User.id)
        .where(UserPolicy.policy_id == policy_id)
        .order_by(User.username)
        .limit(limit)
    )
    return db.scalars(stmt).all()
