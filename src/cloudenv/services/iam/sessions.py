"""Ending a user's sign-in sessions: all of them, or all but the caller's current one.

One's own sessions need no permission (signing oneself out everywhere else is the usual
answer to a lost laptop); another user's need ``user.invalidate_sessions`` in that
user's organization. API tokens are not sessions and stay valid (delete them apart).
Open event streams of an ended session stop within seconds: the event feed re-checks
every stream's credentials (``services.auth.authenticate_many``).
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cloudenv.services import audit
from cloudenv.services.access import Action, Principal
from cloudenv.services.iam.targets import user_for
from cloudenv.store.tables import Session_


def invalidate_sessions(
    db: Session, principal: Principal, user_id: str, *, keep_token_hash: str | None
) -> int:
    """End ``user_id``'s sessions but the one whose token hash is ``keep_token_hash`` (the
    caller's current session, when they asked to keep it); how many ended."""
    user = user_for(db, principal, user_id, Action.USER_INVALIDATE_SESSIONS)
    statement = delete(Session_).where(Session_.user_id == user.id)
    if keep_token_hash is not None:
        statement = statement.where(Session_.token_hash != keep_token_hash)
    ended = int(db.execute(statement).rowcount)  # type: ignore[attr-defined]
    kept = " (the current one kept)" if keep_token_hash is not None else ""
    audit.record(
        db,
        principal,
        Action.USER_INVALIDATE_SESSIONS.value,
        target_id=user.id,
        organization_id=user.organization_id,
        message=f"{ended} session(s) of {user.username} ended{kept}",
    )
    return ended
