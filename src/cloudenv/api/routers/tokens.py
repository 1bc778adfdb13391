"""A user's credentials besides the password: API tokens, and ending their sessions.
One's own need no permission; another user's are their organization's administrators'."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cloudenv.api.deps import CurrentPrincipal, Db, request_token
from cloudenv.api.schemas.common import Empty
from cloudenv.api.schemas.tokens import NewToken, SessionsInvalidate, Token, TokenCreate
from cloudenv.services import auth
from cloudenv.services.iam import sessions, tokens

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/{user_id}/tokens", response_model=list[Token], name="token.list")
def list_tokens(user_id: str, db: Db, principal: CurrentPrincipal) -> list[Token]:
    return [Token.model_validate(t) for t in tokens.list_tokens(db, principal, user_id)]


@router.post("/{user_id}/tokens", response_model=NewToken, name="token.create")
def create_token(user_id: str, body: TokenCreate, db: Db, principal: CurrentPrincipal) -> NewToken:
    """A new API token; its secret is in this reply only."""
    created = tokens.create_token(db, principal, user_id, name=body.name, expiry=body.expiry)
    return NewToken.model_validate(created)


@router.delete("/{user_id}/tokens/{token_id}", response_model=Empty, name="token.delete")
def delete_token(user_id: str, token_id: str, db: Db, principal: CurrentPrincipal) -> Empty:
    tokens.delete_token(db, principal, user_id, token_id)
    return Empty()


@router.post(
    "/{user_id}/invalidate-sessions", response_model=Empty, name="user.invalidate_sessions"
)
def invalidate_sessions(
    user_id: str,
    request: Request,
    db: Db,
    principal: CurrentPrincipal,
    body: SessionsInvalidate | None = None,
) -> Empty:
    """End the user's sessions (API tokens stay); ``"false"`` keeps the caller's own."""
    current = request_token(request)
    keep = None
    if body is not None and body.invalidate_current == "false" and current is not None:
        keep = auth.token_hash(current)
    sessions.invalidate_sessions(db, principal, user_id, keep_token_hash=keep)
    return Empty()
