"""API tokens: named, long-lived credentials for scripts and clients.

A token is ``cetok_`` and 32 random bytes (URL-safe base64): the prefix lets a leaked
token be recognised by secret scanners and tells ``services.auth`` which table to look
in. Only its SHA-256 is stored; the secret is shown once, at creation. A token signs in
as its user, with the user's policies, wherever a session does (``Authorization:
Bearer``), until it expires or is deleted.

One's own tokens need no permission; another user's need ``token.list``,
``token.create`` or ``token.delete`` in that user's organization.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import audit
from cloudenv.services.access import Action, Principal
from cloudenv.services.iam.targets import user_for
from cloudenv.store.tables import ApiToken, Organization, User

TOKEN_PREFIX = "cetok_"  # noqa: S105 (a marker, not a secret)
MAX_NAME = 64
#: ``last_used`` is written at most this often per token: not a write per request.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenView:
    id: str
    name: str
    expiry: datetime | None
    last_used: datetime | None
    creation: datetime


@dataclass(frozen=True)
class NewToken:
    id: str
    name: str
    expiry: datetime | None
    token: str


def is_api_token(secret: str) -> bool:
    return secret.startswith(TOKEN_PREFIX)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def list_tokens(db: Session, principal: Principal, user_id: str) -> list[TokenView]:
    user = user_for(db, principal, user_id, Action.TOKEN_LIST)
    rows = db.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.creation)
    )
    return [_view(row) for row in rows]


def create_token(
    db: Session, principal: Principal, user_id: str, *, name: str, expiry: datetime | None
) -> NewToken:
    user = user_for(db, principal, user_id, Action.TOKEN_CREATE)
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        raise InvalidInput(f"A token's name is 1 to {MAX_NAME} printable characters.", field="name")
    now = clock.now()
    if expiry is not None:
        if expiry.tzinfo is None:
            raise InvalidInput(
                "Give the expiry with its time zone (e.g. 2030-01-31T00:00:00Z).", field="expiry"
            )
        if expiry <= now:
            raise InvalidInput("The expiry must be in the future.", field="expiry")
    taken = db.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name))
    if taken is not None:
        raise Conflict(
            f"{user.username} already has a token named {name!r}; choose another name.",
            field="name",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        id=new_id(Prefix.API_TOKEN),
        user_id=user.id,
        name=name,
        token_hash=secret_hash(secret),
        expiry=expiry,
        creation=now,
    )
    db.add(token)
    audit.record(
        db,
        principal,
        Action.TOKEN_CREATE.value,
        target_id=token.id,
        organization_id=user.organization_id,
        message=f"token {name!r} of {user.username}",
    )
    return NewToken(token.id, name, expiry, secret)


def delete_token(db: Session, principal: Principal, user_id: str, token_id: str) -> None:
    user = user_for(db, principal, user_id, Action.TOKEN_DELETE)
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"User {user.username} has no token {token_id}.", field="token_id")
    db.delete(token)
    audit.record(
        db,
        principal,
        Action.TOKEN_DELETE.value,
        target_id=token.id,
        organization_id=user.organization_id,
        message=f"token {token.name!r} of {user.username}",
    )


@dataclass(frozen=True)
class Holder:
    """Whom a token signs in, as ``services.auth`` needs it."""

    token: ApiToken
    user: User
    is_root_org: bool
    require_mfa: bool


def holders(db: Session, secrets_: Collection[str]) -> dict[str, Holder]:
    """The holder of each of ``secrets_`` found (by secret), in one query; ``last_used``
    is brought up to date on the way (at most once per LAST_USED_EVERY)."""
    by_hash = {secret_hash(s): s for s in secrets_}
    if not by_hash:
        return {}
    rows: Any = db.execute(
        select(ApiToken, User, Organization.is_root, Organization.require_mfa)
        .join(User, User.id == ApiToken.user_id)
        .join(Organization, Organization.id == User.organization_id)
        .where(ApiToken.token_hash.in_(by_hash))
    )
    now = clock.now()
    found = {}
    for token, user, is_root, require_mfa in rows:
        stale = token.last_used is None or now - token.last_used >= LAST_USED_EVERY
        if stale and expired_message(token) is None:
            token.last_used = now
        found[by_hash[token.token_hash]] = Holder(token, user, bool(is_root), bool(require_mfa))
    return found


def expired_message(token: ApiToken) -> str | None:
    """Why ``token`` no longer signs in, or None while it does."""
    if token.expiry is not None and token.expiry <= clock.now():
        when = clock.rfc3339(token.expiry)
        return f"The API token {token.name!r} expired at {when}; create a new one."
    return None


def _view(row: ApiToken) -> TokenView:
    return TokenView(row.id, row.name, row.expiry, row.last_used, row.creation)
