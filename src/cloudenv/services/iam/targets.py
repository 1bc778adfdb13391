"""The user a self-service route acts on: one's own, or another's with a permission.

One's own sessions, tokens and second factor need no permission (a signed-in user may
always manage their own credentials); another user's need ``action`` in that user's
organization. A user outside the caller's scope is reported missing, as every other
tenant's object is.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cloudenv.errors import NotFound
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.store.queries.iam import user_with_organization
from cloudenv.store.tables import User


def user_for(
    db: Session, principal: Principal, user_id: str, action: Action, *, self_allowed: bool = True
) -> User:
    """``user_id``'s row once the caller may do ``action`` to it (always, to itself, when
    ``self_allowed``)."""
    found = user_with_organization(db, user_id)
    if found is None or not principal.sees(found[0].organization_id):
        raise NotFound(f"User {user_id} does not exist.", field="id")
    user = found[0]
    if user.id != principal.user_id or not self_allowed:
        authorize(principal, action, user.organization_id, (user.id,))
    return user
