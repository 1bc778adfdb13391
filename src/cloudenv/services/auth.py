"""Sign-in: argon2id password hashes, sessions, and who a token belongs to.

A session token is 32 random bytes shown to the client once; the database keeps only its
SHA-256, so a stolen database yields no usable tokens. The same token works as the
``cloudenv_session`` cookie (web UI) and as ``Authorization: Bearer`` (API clients).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import NotAuthenticated
from cloudenv.services import audit
from cloudenv.services.access import Principal
from cloudenv.services.iam.principals import principal_for, principals_for
from cloudenv.store.tables import Organization, Session_, User

#: argon2id with the library's defaults (RFC 9106's second recommendation), pinned by a test.
PRODUCTION_HASHER = PasswordHasher()
_hasher = PRODUCTION_HASHER
# Verifying against this when the user does not exist keeps timing the same either way.
_DUMMY_HASH = _hasher.hash("cloudenv-dummy-password")

#: The one answer to a wrong password, whether or not the user exists.
WRONG_CREDENTIALS = "Wrong user name or password."


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal
    expires_in: int


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@contextmanager
def hasher_for_tests(hasher: PasswordHasher) -> Iterator[None]:
    """Hash (and verify the dummy) with ``hasher`` inside the block. Only the unit tests use
    this, to trade argon2's deliberate cost for speed; the daemon and the CLI never do, so
    production hashes always use ``PRODUCTION_HASHER``."""
    global _hasher, _DUMMY_HASH
    saved = _hasher, _DUMMY_HASH
    _hasher, _DUMMY_HASH = hasher, hasher.hash("cloudenv-dummy-password")
    try:
        yield
    finally:
        _hasher, _DUMMY_HASH = saved


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(
    db: Session,
    username: str,
    password: str,
    *,
    session_hours: int,
    source_address: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Check the password and open a session. Failures are counted and audited."""
    user = db.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password) and user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    now = clock.now()
    if user is None or not ok:
        if user is not None:
            user.failed_logins += 1
            user.last_failed_login = now
        audit.record(
            db,
            None,
            "auth.login",
            target_id=user.id if user else None,
            organization_id=user.organization_id if user else None,
            outcome="failure",
            status_code=401,
            message=f"wrong user name or password for {username!r}",
            source_address=source_address,
        )
        raise NotAuthenticated(WRONG_CREDENTIALS, keep_changes=True)
    # Only now, with the password proven, may the answer say why this user can't sign in:
    # before it, a distinct message would tell anyone which user names exist.
    try:
        _check_usable(user)
    except NotAuthenticated as refused:
        audit.record(
            db,
            None,
            "auth.login",
            target_id=user.id,
            organization_id=user.organization_id,
            outcome="failure",
            status_code=401,
            message=refused.message,
            source_address=source_address,
        )
        raise NotAuthenticated(refused.message, keep_changes=True) from None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.last_login = now
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=session_hours)
    db.add(
        Session_(
            token_hash=token_hash(token),
            user_id=user.id,
            created=now,
            expires=now + lifetime,
            source_address=source_address,
            user_agent=(user_agent or "")[:255],
        )
    )
    principal = _principal(db, user, source_address)
    audit.record(db, principal, "auth.login", target_id=user.id)
    return LoginResult(token, principal, int(lifetime.total_seconds()))


def authenticate(db: Session, token: str, source_address: str | None = None) -> Principal:
    """The principal a session token belongs to, or NotAuthenticated."""
    row = db.execute(
        select(Session_.expires, User, Organization.is_root)
        .join(User, User.id == Session_.user_id)
        .join(Organization, Organization.id == User.organization_id)
        .where(Session_.token_hash == token_hash(token))
    ).first()
    if row is None or row.expires <= clock.now():
        raise NotAuthenticated("Your session has expired or is not valid; sign in again.")
    user: User = row.User
    _check_usable(user)
    return principal_for(db, user, bool(row.is_root), source_address)


def authenticate_many(db: Session, tokens: Iterable[str]) -> dict[str, Principal | str]:
    """Each token's principal, or why it no longer signs anyone in, in one query: open event
    streams are re-checked together before they are sent anything."""
    by_hash = {token_hash(token): token for token in tokens}
    verdicts: dict[str, Principal | str] = dict.fromkeys(
        by_hash.values(), "Your session has ended (signed out or expired); sign in again."
    )
    if not by_hash:
        return verdicts
    rows = db.execute(
        select(Session_.token_hash, Session_.expires, User, Organization.is_root)
        .join(User, User.id == Session_.user_id)
        .join(Organization, Organization.id == User.organization_id)
        .where(Session_.token_hash.in_(by_hash))
    )
    now = clock.now()
    usable: dict[str, tuple[User, bool]] = {}
    for row in rows:
        if row.expires <= now:
            continue
        user: User = row.User
        try:
            _check_usable(user)
        except NotAuthenticated as exc:
            verdicts[by_hash[row.token_hash]] = exc.message
            continue
        usable[by_hash[row.token_hash]] = (user, bool(row.is_root))
    principals = principals_for(db, list(usable.values()))
    for token, (user, _) in usable.items():
        verdicts[token] = principals[user.id]
    return verdicts


def logout(db: Session, principal: Principal, token: str) -> None:
    db.execute(delete(Session_).where(Session_.token_hash == token_hash(token)))
    audit.record(db, principal, "auth.logout", target_id=principal.user_id)


def purge_expired_sessions(db: Session) -> int:
    result = db.execute(delete(Session_).where(Session_.expires <= clock.now()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _check_usable(user: User) -> None:
    """NotAuthenticated saying why ``user`` may not sign in (or use a session) now."""
    if not user.enabled:
        raise NotAuthenticated(
            f"User {user.username} is disabled; ask an administrator to enable it."
        )
    if user.locked:
        raise NotAuthenticated(
            f"User {user.username} is locked; ask an administrator to unlock it."
        )
    if user.expiry is not None and user.expiry <= clock.now():
        expired = user.expiry.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise NotAuthenticated(
            f"User {user.username} expired on {expired}; ask an administrator to extend it."
        )


def _principal(db: Session, user: User, source_address: str | None) -> Principal:
    org = db.get_one(Organization, user.organization_id)
    return principal_for(db, user, org.is_root, source_address)
