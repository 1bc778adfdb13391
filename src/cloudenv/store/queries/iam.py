"""Selectors for users. Users are found by ID or name across organizations (sign-in is
by user name alone), so these take no scope; what a user may see follows from the
principal built from the row."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.store.tables import Organization, User


def user_with_organization(db: Session, user_id: str) -> tuple[User, bool] | None:
    """The user and whether their organization is the root organization."""
    row = db.execute(
        select(User, Organization.is_root)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id == user_id)
    ).first()
    return None if row is None else (row[0], bool(row[1]))
