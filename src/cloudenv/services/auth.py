"""Sign-in: argon2id password hashes, sessions, and who a token belongs to.

A session token is 32 random bytes shown to the client once; the database keeps only its
SHA-256, so a stolen database yields no usable tokens. The same token works as the
``cloudenv_session`` cookie (web UI) and as ``Authorization: Bearer`` (API clients);
so do API tokens (``services.iam.tokens``), told apart by their ``cetok_`` prefix.

Signing in, in order: the source address must not be throttled (``iam.lockouts``,
checked before any hashing); the password is verified in a bounded pool
(``iam.hashing``), against a dummy hash for an unknown user so the timing is the same;
then, and only with the right password, the answer may say why this user can't sign in
or that a one-time code is needed (``iam.mfa``). Until then every refusal is the one
message :data:`WRONG_CREDENTIALS`: for an unknown user, a wrong password, and an account
locked out, whatever its password, so neither which users exist nor whether a guess
against a locked account was right can be learnt from the answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import InvalidInput, NotAuthenticated, TooManyRequests
from cloudenv.services import audit
from cloudenv.services.access import Principal
from cloudenv.services.iam import hashing, lockouts, mfa, tokens
from cloudenv.services.iam.principals import principal_for, principals_for
from cloudenv.store.tables import Organization, Session_, User

#: argon2id with the library's defaults (RFC 9106's second recommendation), pinned by a test.
PRODUCTION_HASHER = PasswordHasher()
_hasher = PRODUCTION_HASHER
# Verifying against this when the user does not exist keeps timing the same either way.
_DUMMY_HASH = _hasher.hash("cloudenv-dummy-password")

#: The one answer to a failed sign-in before the password is proven: whether or not the
#: user exists, and whether or not a locked-out account's password was right.
WRONG_CREDENTIALS = (
    "Wrong user name or password (an account is locked for a while after too many failed sign-ins)."
)
#: A user with a second factor sent the right password but no one-time code.
OTP_NEEDED = (
    "This user signs in with a one-time code: send otp (the code your authenticator app "
    "shows, or one of your recovery codes)."
)
WRONG_OTP = (
    "The one-time code is wrong, expired or already used; send the current code your "
    "authenticator app shows, or an unused recovery code."
)
#: A token no session or API token has (any more): what a request is told, and an open
#: event stream when it ends.
SESSION_INVALID = "Your session has expired or is not valid; sign in again."
SESSION_ENDED = "Your session has ended (signed out or expired); sign in again."


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal
    expires_in: int


def hash_password(password: str) -> str:
    """argon2id of ``password``, computed in the bounded pool (TooManyRequests when full)."""
    hasher = _hasher
    return hashing.run(lambda: hasher.hash(password))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no password, never matches, but
    takes as long), computed in the bounded pool (TooManyRequests when full)."""
    hasher, against = _hasher, stored or _DUMMY_HASH

    def verify() -> bool:
        try:
            return hasher.verify(against, password)
        except (VerificationError, InvalidHashError):
            return False

    return hashing.run(verify) and stored is not None


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
    otp: str | None = None,
    session_hours: int,
    source_address: str | None = None,
    user_agent: str | None = None,
) -> LoginResult:
    """Check the password (and the one-time code of a user with a second factor) and open
    a session. Failures are counted, audited and may lock the account (see module doc)."""
    lockouts.check_address(db, source_address, clock.now())
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    now = clock.now()
    source = source_address
    if user is None:
        wrong = f"{lockouts.WRONG}user name or password for {username!r}"
        _credentials_refused(db, None, source, wrong)
    locked = lockouts.active_lockout(db, user.id, now)
    if not ok:
        _credentials_refused(db, user, source, f"{lockouts.WRONG}password for {username!r}")
    if locked is not None:
        # The right password, yet the same answer as a wrong one: see the module doc.
        until = clock.rfc3339(locked.until)
        _refused(db, user, source, f"right password refused: locked out until {until}")
    # Only now, with the password proven, may the answer say why this user can't sign in:
    # before it, a distinct message would tell anyone which user names exist.
    try:
        _check_usable(user)
    except NotAuthenticated as refused:
        _refused(db, user, source, refused.message, refused.message)
    if user.mfa_enabled:
        if not otp:
            _refused(db, user, source, "one-time code needed", OTP_NEEDED, field="otp")
        if not mfa.check_code(db, user, otp, now):
            wrong = f"{lockouts.WRONG}one-time code for {username!r}"
            _credentials_refused(db, user, source, wrong, WRONG_OTP, "otp")
    _rehash_if_needed(user, password)
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


def _credentials_refused(
    db: Session,
    user: User | None,
    source: str | None,
    audited: str,
    message: str = WRONG_CREDENTIALS,
    field: str | None = None,
) -> NoReturn:
    """A wrong password or one-time code: counted against the user and the address (the
    audit row is the count, see ``iam.lockouts``), and maybe the lock it earns."""
    now = clock.now()
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
        message=audited,
        source_address=source,
    )
    if user is not None:
        lockouts.after_failure(db, user, now, source)
    raise NotAuthenticated(message, field=field, keep_changes=True)


def _refused(
    db: Session,
    user: User,
    source: str | None,
    audited: str,
    message: str = WRONG_CREDENTIALS,
    field: str | None = None,
) -> NoReturn:
    """A refusal that is not a wrong guess (it does not count towards a lockout)."""
    audit.record(
        db,
        None,
        "auth.login",
        target_id=user.id,
        organization_id=user.organization_id,
        outcome="failure",
        status_code=401,
        message=audited,
        source_address=source,
    )
    raise NotAuthenticated(message, field=field, keep_changes=True)


def _rehash_if_needed(user: User, password: str) -> None:
    """Bring an old hash up to the current parameters, while the password is at hand."""
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        # With the pool busy, the next sign-in does it.
        with contextlib.suppress(TooManyRequests):
            user.password_hash = hash_password(password)


def disable_mfa(
    db: Session, principal: Principal, *, code: str | None, password: str | None
) -> None:
    """Self-service: turn one's second factor off, proven by a one-time code (or a recovery
    code) or by one's password."""
    if (code is None) == (password is None):
        raise InvalidInput("Send either 'code' or 'password', not both.", field="code")
    user = mfa.own_user(db, principal)
    if password is not None and not verify_password(user.password_hash, password):
        raise InvalidInput("The password is wrong.", field="password")
    mfa.disable(db, principal, user, code=code, password_proven=password is not None)


def authenticate(db: Session, token: str, source_address: str | None = None) -> Principal:
    """The principal a session or API token belongs to, or NotAuthenticated."""
    verdict = authenticate_many(db, [token], source_address, unknown=SESSION_INVALID)[token]
    if isinstance(verdict, str):
        raise NotAuthenticated(verdict)
    return verdict


def authenticate_many(
    db: Session,
    secrets_: Iterable[str],
    source_address: str | None = None,
    *,
    unknown: str = SESSION_ENDED,
) -> dict[str, Principal | str]:
    """Each token's principal, or why it no longer signs anyone in (``unknown`` for a
    token found nowhere): sessions in one query, API tokens in another (open event
    streams are re-checked together before they are sent anything)."""
    given = set(secrets_)
    verdicts: dict[str, Principal | str] = dict.fromkeys(given, unknown)
    api = {s for s in given if tokens.is_api_token(s)}
    # (user, is_root_org, require_mfa) per usable token.
    usable: dict[str, tuple[User, bool, bool]] = {}
    for secret, holder in tokens.holders(db, api).items():
        reason = tokens.expired_message(holder.token)
        if reason is None:
            usable[secret] = (holder.user, holder.is_root_org, holder.require_mfa)
        else:
            verdicts[secret] = reason
    for secret, (user, is_root, require_mfa) in _sessions(db, given - api).items():
        usable[secret] = (user, is_root, require_mfa)
    for secret, (user, _, _) in list(usable.items()):
        try:
            _check_usable(user)
        except NotAuthenticated as exc:
            verdicts[secret] = exc.message
            del usable[secret]
    if not usable:
        return verdicts
    principals = principals_for(
        db,
        [(user, is_root) for user, is_root, _ in usable.values()],
        source_address,
        mfa_orgs={user.organization_id for user, _, required in usable.values() if required},
    )
    for secret, (user, _, _) in usable.items():
        verdicts[secret] = principals[user.id]
    return verdicts


def _sessions(db: Session, secrets_: set[str]) -> dict[str, tuple[User, bool, bool]]:
    """The unexpired sessions among ``secrets_``: (user, is_root_org, require_mfa)."""
    by_hash = {token_hash(s): s for s in secrets_}
    if not by_hash:
        return {}
    rows: Any = db.execute(
        select(
            Session_.token_hash,
            Session_.expires,
            User,
            Organization.is_root,
            Organization.require_mfa,
        )
        .join(User, User.id == Session_.user_id)
        .join(Organization, Organization.id == User.organization_id)
        .where(Session_.token_hash.in_(by_hash))
    )
    now = clock.now()
    return {
        by_hash[hashed]: (user, bool(is_root), bool(require_mfa))
        for hashed, expires, user, is_root, require_mfa in rows
        if expires > now
    }


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
    return principal_for(db, user, org.is_root, source_address, mfa_required=org.require_mfa)
